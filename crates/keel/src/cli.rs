//! The command line, parsed in two stages: clap arguments, then a validated configuration the
//! subcommands receive.

use crate::config::{self, Config, Database, Overrides};
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use keel_app::users::UserInput;
use keel_app::{App, AppError, Settings};
use keel_domain::product::Roles;
use keel_domain::TokenId;
use keel_store::{Page, Store};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// Keel: product management, from vision to shipped story.
#[derive(Debug, Parser)]
#[command(name = "keel", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Global {
    /// Configuration file (default: ./keel.toml when present) [env: KEEL_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory of the embedded SQLite database [env: KEEL_DATA_DIR] [default: ./keel-data]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL; without it Keel uses SQLite [env: DATABASE_URL]
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// PostgreSQL statement timeout, seconds [env: KEEL_STATEMENT_TIMEOUT] [default: 30]
    #[arg(long, global = true, value_name = "SECS")]
    statement_timeout: Option<String>,
    /// PostgreSQL idle-in-transaction session timeout, seconds [env: KEEL_IDLE_IN_TRANSACTION_TIMEOUT] [default: 60]
    #[arg(long, global = true, value_name = "SECS")]
    idle_in_transaction_timeout: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web application and API (migrates first; creates the first admin on an empty database)
    Serve(ServeArgs),
    /// Run pending database migrations and exit
    Migrate,
    /// Manage users
    #[command(subcommand)]
    User(UserCmd),
    /// Manage API tokens
    #[command(subcommand)]
    Token(TokenCmd),
    /// Manage products
    #[command(subcommand)]
    Product(ProductCmd),
    /// Manage product memberships
    #[command(subcommand)]
    Member(MemberCmd),
    /// Delivery metrics' derived tables
    #[command(subcommand)]
    Metrics(MetricsCmd),
    /// Write a product (or all) to Keel's own JSON document, or its items to CSV
    Export(ExportArgs),
    /// Read data into this database: a Keel export, or other tools' exports (safe while the server runs)
    #[command(subcommand)]
    Import(crate::import::ImportCmd),
    /// Write a consistent copy of the SQLite database to FILE while Keel runs (PostgreSQL: use pg_dump)
    Backup {
        /// The backup file to create (must not exist)
        file: PathBuf,
    },
    /// Replace the SQLite database with a backup (checked first); refused while a server uses it
    Restore {
        /// The backup file
        file: PathBuf,
    },
    /// Print the commented example configuration file
    Config,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// Only this product (its key); default: every product
    #[arg(long)]
    product: Option<String>,
    /// The file to write
    #[arg(long, short, value_name = "FILE")]
    output: PathBuf,
    /// json (everything, for `keel import keel`) or csv (items only)
    #[arg(long, value_enum, default_value = "json")]
    format: crate::transfer::Format,
    /// Keep users' password hashes and webhook signing secrets in the file (keep it safe)
    #[arg(long)]
    with_secrets: bool,
}

#[derive(Debug, Subcommand)]
enum MetricsCmd {
    /// Recompute the flow table and sprint memberships from the history (all products, or one);
    /// needed once after upgrading a database that held items before they existed
    Rebuild {
        /// Only this product (its key)
        #[arg(long)]
        product: Option<String>,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on [env: KEEL_BIND] [default: 127.0.0.1:7878]
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
    /// Fill an empty database with a demo product (epics, ~60 stories, two members per role)
    #[arg(long)]
    demo: bool,
}

#[derive(Debug, Subcommand)]
enum UserCmd {
    /// Create a user (prints a generated password unless --password-stdin is given)
    Add {
        /// E-mail address (used to sign in)
        #[arg(long)]
        email: String,
        /// Display name (default: the e-mail's local part)
        #[arg(long)]
        name: Option<String>,
        /// Read the password from standard input instead of generating one
        #[arg(long)]
        password_stdin: bool,
        /// Make the user an administrator
        #[arg(long)]
        admin: bool,
    },
    /// List users
    List,
    /// Set a user's password (prints a generated one unless --password-stdin is given); ends their sessions
    Passwd {
        /// The user's e-mail
        #[arg(long)]
        email: String,
        /// Read the new password from standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// Deactivate a user: no more sign-in or tokens; history is kept
    Deactivate {
        /// The user's e-mail
        #[arg(long)]
        email: String,
    },
    /// Reactivate a deactivated user
    Activate {
        /// The user's e-mail
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCmd {
    /// Create an API token for a user; the token is printed once
    Create {
        /// The user's e-mail
        #[arg(long)]
        email: String,
        /// A label for the token
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List a user's tokens
    List {
        /// The user's e-mail
        #[arg(long)]
        email: String,
    },
    /// Revoke a token by id
    Revoke {
        /// The token's id (the number after keel_)
        #[arg(long)]
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
enum ProductCmd {
    /// Create a product
    Add {
        /// Key: 2-10 capitals or digits, starting with a letter (e.g. SHOP)
        #[arg(long)]
        key: String,
        /// Name
        #[arg(long)]
        name: String,
        /// Description (Markdown)
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List products
    List,
}

#[derive(Debug, Subcommand)]
enum MemberCmd {
    /// Set a user's roles in a product (adds the membership if needed)
    Set {
        /// Product key
        #[arg(long)]
        product: String,
        /// The user's e-mail
        #[arg(long)]
        email: String,
        /// Comma-separated roles: pm, po, team, stakeholder
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<String>,
    },
    /// Remove a user from a product
    Remove {
        /// Product key
        #[arg(long)]
        product: String,
        /// The user's e-mail
        #[arg(long)]
        email: String,
    },
    /// List a product's members
    List {
        /// Product key
        #[arg(long)]
        product: String,
    },
}

/// Parses the command line and runs it.
pub fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    if let Command::Config = cli.command {
        print!("{}", config::EXAMPLE);
        return Ok(ExitCode::SUCCESS);
    }
    let bind = match &cli.command {
        Command::Serve(a) => a.bind.clone(),
        _ => None,
    };
    let overrides = Overrides {
        config: cli.global.config.clone(),
        bind,
        data_dir: cli.global.data_dir.clone(),
        database_url: cli.global.database_url.clone(),
        statement_timeout: cli.global.statement_timeout.clone(),
        idle_in_transaction_timeout: cli.global.idle_in_transaction_timeout.clone(),
    };
    let cfg = Config::load(&overrides)?;
    init_tracing(&cfg.log, cfg.log_format, matches!(cli.command, Command::Serve(_) | Command::Migrate));
    for v in config::unknown_vars() {
        tracing::warn!("unknown environment variable {v} is ignored");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("while starting the runtime")?;
    rt.block_on(async move {
        match cli.command {
            Command::Serve(a) => serve(cfg, a.demo).await,
            Command::Migrate => {
                // Opening the store applies pending migrations (logged as they are applied).
                open_store(&cfg).await?;
                println!("the database schema is up to date");
                Ok(())
            }
            Command::User(c) => user(&cfg, c).await,
            Command::Token(c) => token(&cfg, c).await,
            Command::Product(c) => product(&cfg, c).await,
            Command::Member(c) => member(&cfg, c).await,
            Command::Metrics(c) => metrics(&cfg, c).await,
            Command::Backup { file } => crate::transfer::backup(&cfg, &file),
            Command::Restore { file } => crate::transfer::restore(&cfg, &file),
            Command::Export(a) => {
                let (store, _) = open_store(&cfg).await?;
                let app = App::new(store.clone(), Settings::default());
                let msg = crate::transfer::export(
                    store,
                    &app,
                    a.product.as_deref(),
                    &a.output,
                    a.format,
                    a.with_secrets,
                )
                .await?;
                println!("{msg}");
                Ok(())
            }
            Command::Import(crate::import::ImportCmd::Keel { file }) => {
                let (store, _) = open_store(&cfg).await?;
                let app = App::new(store.clone(), Settings::default());
                for line in crate::transfer::import(store, &app, &file).await? {
                    println!("imported {line}");
                }
                Ok(())
            }
            Command::Import(c) => crate::import::run(&cfg, c).await,
            Command::Config => Ok(()),
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

fn init_tracing(filter: &str, format: config::LogFormat, verbose: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = if verbose { filter.to_string() } else { format!("warn,{filter}").replace(",info", "") };
    let f = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let b = tracing_subscriber::fmt().with_env_filter(f).with_target(false).with_writer(std::io::stderr);
    let _ = match format {
        config::LogFormat::Text => b.try_init(),
        // One object per line: timestamp, level, message and the event's fields, no colours.
        config::LogFormat::Json => b.json().flatten_event(true).with_ansi(false).try_init(),
    };
}

/// Opens the configured store, which runs pending migrations.
pub(crate) async fn open_store(cfg: &Config) -> Result<(Arc<dyn Store>, Vec<String>)> {
    let store: Arc<dyn Store> = match &cfg.database {
        Database::Sqlite(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("while creating {}", dir.display()))?;
            writable(dir)?;
            let path = dir.join("keel.db");
            Arc::new(
                keel_store_sqlite::SqliteStore::open(&path)
                    .await
                    .map_err(|e| anyhow!("{e}"))
                    .with_context(|| format!("while opening {}", path.display()))?,
            )
        }
        Database::Postgres(url) => Arc::new(
            keel_store_postgres::PgStore::connect_with(
                url,
                keel_store_postgres::PgLimits {
                    statement_timeout: std::time::Duration::from_secs(cfg.statement_timeout_secs),
                    idle_in_transaction_timeout: std::time::Duration::from_secs(
                        cfg.idle_in_transaction_timeout_secs,
                    ),
                },
            )
            .await
            .map_err(|e| anyhow!("{e}"))
            .context("while connecting to PostgreSQL")?,
        ),
    };
    // open/connect already migrated; asking again reports nothing new but proves the table is there.
    let applied = store.migrate().await.map_err(|e| anyhow!("{e}")).context("while migrating")?;
    Ok((store, applied))
}

/// Refuses a data directory Keel cannot write in (read-only file system or permissions): SQLite
/// would open the database and then fail on the first write, or when creating its journal.
fn writable(dir: &std::path::Path) -> Result<()> {
    let probe = dir.join(format!(".keel-write-check-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => bail!(
            "the data directory {} is not writable ({e}); Keel keeps its database and journal there: make it \
             writable, or choose another with --data-dir or KEEL_DATA_DIR",
            dir.display()
        ),
    }
}

pub(crate) fn app_err(e: AppError) -> anyhow::Error {
    match e {
        AppError::Invalid(v) => anyhow!("{}: {}", v.field.replace('_', "-"), v.message),
        other => anyhow!("{other}"),
    }
}

async fn serve(cfg: Config, demo: bool) -> Result<()> {
    let t0 = Instant::now();
    let (store, _) = open_store(&cfg).await?;
    let mut settings = Settings::default();
    settings.webhooks.allow_private = cfg.webhook_allow_private;
    settings.session_ttl_secs = cfg.session_lifetime_minutes * 60;
    settings.webhooks.extra_ca_pem = cfg.webhook_extra_ca.clone();
    let app = App::new(store.clone(), settings);
    // Flow rows marked stale (an upgrade from a database without them, a workflow change cut
    // short) are rebuilt from the history before the first report is served.
    for (p, n) in app.rebuild_pending_metrics().await.map_err(app_err)? {
        tracing::info!(product = p.0, items = n, "rebuilt the delivery metrics from the history");
    }
    if let Some(first) = app
        .ensure_first_admin(cfg.admin_email.as_deref(), cfg.admin_password.as_deref())
        .await
        .map_err(app_err)?
    {
        match &first.generated_password {
            Some(pw) => tracing::warn!(
                "created the first administrator {} with password {pw} (shown only now: sign in and change it, \
                 or set KEEL_ADMIN_EMAIL and KEEL_ADMIN_PASSWORD before the first start)",
                first.user.email
            ),
            None => tracing::info!("created the first administrator {}", first.user.email),
        }
    }
    if demo {
        let admin = match (&cfg.admin_email, app.user_by_email("admin@localhost").await) {
            (Some(e), _) => app.user_by_email(e).await.ok(),
            (None, Ok(u)) => Some(u),
            (None, Err(_)) => None,
        };
        match keel_app::demo::seed(&app, admin.as_ref()).await.map_err(app_err)? {
            Some(d) => tracing::warn!(
                "created the demo product {} with {} items; its members ({}) sign in with password {}",
                d.product_key,
                d.items,
                d.members.join(", "),
                d.password
            ),
            None => tracing::info!("--demo: the database already has products; nothing added"),
        }
    }
    let listener = tokio::net::TcpListener::bind(cfg.bind)
        .await
        .with_context(|| format!("while binding {}", cfg.bind))?;
    tracing::info!(
        "Keel is serving http://{} on {} (ready in {} ms)",
        listener.local_addr()?,
        store.backend(),
        t0.elapsed().as_millis()
    );
    let purger = tokio::spawn({
        let store = store.clone();
        async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                tick.tick().await;
                if let Err(e) = store.purge_expired(keel_app::now()).await {
                    tracing::warn!(error = %e, "could not purge expired sessions");
                }
            }
        }
    });
    // Sends the webhook outbox; with several processes on one PostgreSQL each claims its own rows.
    let webhooks = tokio::spawn(app.clone().run_webhook_worker());
    // Indexes the text of what bulk writes (imports) left for after their commit.
    let indexer = tokio::spawn(app.clone().run_search_indexer());
    let web =
        keel_web::WebConfig { secure_cookies: cfg.secure_cookies, metrics_token: cfg.metrics_token.clone() };
    keel_web::serve(listener, app, web, shutdown_signal()).await.context("while serving")?;
    purger.abort();
    webhooks.abort();
    indexer.abort();
    tracing::info!("Keel stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

fn read_password(from_stdin: bool) -> Result<(String, bool)> {
    if from_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("while reading the password from standard input")?;
        let s = s.trim_end_matches(['\n', '\r']).to_string();
        if s.is_empty() {
            bail!("password: standard input was empty");
        }
        Ok((s, false))
    } else {
        Ok((keel_app::auth::random_password(), true))
    }
}

async fn user(cfg: &Config, c: UserCmd) -> Result<()> {
    let (store, _) = open_store(cfg).await?;
    let app = App::new(store, Settings::default());
    match c {
        UserCmd::Add { email, name, password_stdin, admin } => {
            let (password, generated) = read_password(password_stdin)?;
            let u = app
                .create_user(None, UserInput { email, name, password: password.clone(), is_admin: admin })
                .await
                .map_err(app_err)?;
            println!(
                "created user {} ({}){}",
                u.email,
                u.id,
                if u.is_admin { ", administrator" } else { "" }
            );
            if generated {
                println!("password: {password}");
            }
        }
        UserCmd::List => {
            let mut after = None;
            println!("{:<6} {:<36} {:<28} {:<6} ACTIVE", "ID", "EMAIL", "NAME", "ADMIN");
            loop {
                let page = app
                    .list_users(None, &Page { after: after.clone(), limit: 500 })
                    .await
                    .map_err(app_err)?;
                for u in &page {
                    println!("{:<6} {:<36} {:<28} {:<6} {}", u.id, u.email, u.name, u.is_admin, u.is_active);
                }
                match page.last() {
                    Some(u) if page.len() == 500 => after = Some(u.email.to_string()),
                    _ => break,
                }
            }
        }
        UserCmd::Passwd { email, password_stdin } => {
            let u = app.user_by_email(&email).await.map_err(|_| anyhow!("email: no user {email}"))?;
            let (password, generated) = read_password(password_stdin)?;
            app.reset_password(u.id, &password).await.map_err(app_err)?;
            println!("password of {} changed; their sessions were ended", u.email);
            if generated {
                println!("password: {password}");
            }
        }
        UserCmd::Deactivate { email } => {
            let u = app.user_by_email(&email).await.map_err(|_| anyhow!("email: no user {email}"))?;
            app.update_user(None, u.id, None, None, Some(false)).await.map_err(app_err)?;
            println!("deactivated {}", u.email);
        }
        UserCmd::Activate { email } => {
            let u = app.user_by_email(&email).await.map_err(|_| anyhow!("email: no user {email}"))?;
            app.update_user(None, u.id, None, None, Some(true)).await.map_err(app_err)?;
            println!("activated {}", u.email);
        }
    }
    Ok(())
}

async fn token(cfg: &Config, c: TokenCmd) -> Result<()> {
    let (store, _) = open_store(cfg).await?;
    let app = App::new(store.clone(), Settings::default());
    match c {
        TokenCmd::Create { email, name } => {
            let u = app.user_by_email(&email).await.map_err(|_| anyhow!("email: no user {email}"))?;
            let t = app.create_token(&u, &name).await.map_err(app_err)?;
            println!("{}", t.token);
        }
        TokenCmd::List { email } => {
            let u = app.user_by_email(&email).await.map_err(|_| anyhow!("email: no user {email}"))?;
            println!("{:<6} {:<24} {:<26} {:<26} REVOKED", "ID", "NAME", "CREATED", "LAST USED");
            for t in app.tokens_of(&u, u.id).await.map_err(app_err)? {
                let f = |t: Option<keel_domain::Timestamp>| t.map_or_else(|| "-".into(), keel_api_time);
                println!(
                    "{:<6} {:<24} {:<26} {:<26} {}",
                    t.id,
                    t.name,
                    keel_api_time(t.created_at),
                    f(t.last_used_at),
                    f(t.revoked_at)
                );
            }
        }
        TokenCmd::Revoke { id } => {
            let t = store.token(TokenId(id)).await.map_err(|_| anyhow!("id: no token {id}"))?;
            let owner = store.user(t.user_id).await.map_err(|e| anyhow!("{e}"))?;
            app.revoke_token(&owner, t.id).await.map_err(app_err)?;
            println!("revoked token {id} ({}) of {}", t.name, owner.email);
        }
    }
    Ok(())
}

fn keel_api_time(t: keel_domain::Timestamp) -> String {
    keel_api::rfc3339(t)
}

async fn product(cfg: &Config, c: ProductCmd) -> Result<()> {
    let (store, _) = open_store(cfg).await?;
    let app = App::new(store.clone(), Settings::default());
    match c {
        ProductCmd::Add { key, name, description } => {
            let p = app.create_product(None, &key, &name, &description).await.map_err(app_err)?;
            println!("created product {} ({})", p.key, p.name);
        }
        ProductCmd::List => {
            println!("{:<10} NAME", "KEY");
            for p in store.products().await.map_err(|e| anyhow!("{e}"))? {
                println!("{:<10} {}", p.key, p.name);
            }
        }
    }
    Ok(())
}

async fn metrics(cfg: &Config, c: MetricsCmd) -> Result<()> {
    let (store, _) = open_store(cfg).await?;
    let app = App::new(store.clone(), Settings::default());
    match c {
        MetricsCmd::Rebuild { product } => {
            let products = match product {
                Some(k) => {
                    vec![app.product_by_key(&k).await.map_err(|_| anyhow!("product: no product {k}"))?]
                }
                None => store.products().await.map_err(|e| anyhow!("{e}"))?,
            };
            for p in products {
                let n = app.rebuild_metrics(p.id).await.map_err(app_err)?;
                println!("{}: rebuilt the flow of {n} items from the history", p.key);
            }
        }
    }
    Ok(())
}

async fn member(cfg: &Config, c: MemberCmd) -> Result<()> {
    let (store, _) = open_store(cfg).await?;
    let app = App::new(store.clone(), Settings::default());
    let product = |k: String| {
        let app = app.clone();
        async move { app.product_by_key(&k).await.map_err(|_| anyhow!("product: no product {k}")) }
    };
    match c {
        MemberCmd::Set { product: k, email, roles } => {
            let p = product(k).await?;
            let u = app.user_by_email(&email).await.map_err(|_| anyhow!("email: no user {email}"))?;
            let roles: Vec<String> = roles.into_iter().map(|r| r.trim().to_string()).collect();
            let r = Roles::parse_list("roles", &roles).map_err(|e| anyhow!("{e}"))?;
            app.set_member(None, &p, u.id, r).await.map_err(app_err)?;
            let names: Vec<&str> = r.iter().map(|r| r.as_str()).collect();
            println!("{} is {} in {}", u.email, names.join(", "), p.key);
        }
        MemberCmd::Remove { product: k, email } => {
            let p = product(k).await?;
            let u = app.user_by_email(&email).await.map_err(|_| anyhow!("email: no user {email}"))?;
            app.remove_member(None, &p, u.id).await.map_err(|e| match e {
                AppError::NotFound => anyhow!("email: {email} is not a member of {}", p.key),
                e => app_err(e),
            })?;
            println!("removed {} from {}", u.email, p.key);
        }
        MemberCmd::List { product: k } => {
            let p = product(k).await?;
            println!("{:<36} {:<28} ROLES", "EMAIL", "NAME");
            for (u, r) in store.members(p.id).await.map_err(|e| anyhow!("{e}"))? {
                let names: Vec<&str> = r.iter().map(|r| r.as_str()).collect();
                println!("{:<36} {:<28} {}", u.email, u.name, names.join(","));
            }
        }
    }
    Ok(())
}
