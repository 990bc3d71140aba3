//! One typed configuration: defaults in code, then `keel.toml`, then `KEEL_*` variables, then
//! flags. Unknown keys and unknown `KEEL_*` variables are reported, secrets never printed.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The commented example configuration, embedded so `keel config` can print it.
pub const EXAMPLE: &str = include_str!("../keel.example.toml");

/// How long a browser session lasts by default: 14 days.
pub const DEFAULT_SESSION_MINUTES: i64 = 14 * 24 * 60;
/// The longest session lifetime accepted: 90 days.
const MAX_SESSION_MINUTES: i64 = 90 * 24 * 60;
/// PostgreSQL's statement timeout by default, seconds.
pub const DEFAULT_STATEMENT_TIMEOUT_SECS: u64 = 30;
/// PostgreSQL's idle-in-transaction session timeout by default, seconds.
pub const DEFAULT_IDLE_IN_TRANSACTION_SECS: u64 = 60;
/// The longest of either accepted: one hour.
const MAX_DB_TIMEOUT_SECS: u64 = 3600;

/// The file's shape; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    bind: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    secure_cookies: Option<bool>,
    admin_email: Option<String>,
    admin_password: Option<String>,
    log: Option<String>,
    log_format: Option<String>,
    metrics_token: Option<String>,
    webhook_allow_private: Option<bool>,
    session_lifetime_minutes: Option<i64>,
    webhook_extra_ca: Option<PathBuf>,
    statement_timeout_secs: Option<u64>,
    idle_in_transaction_timeout_secs: Option<u64>,
}

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// The embedded SQLite file in this directory.
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

/// The validated configuration.
#[derive(Clone)]
pub struct Config {
    /// Address to serve on.
    pub bind: SocketAddr,
    /// The database.
    pub database: Database,
    /// Secure cookies.
    pub secure_cookies: bool,
    /// First admin's e-mail.
    pub admin_email: Option<String>,
    /// First admin's password.
    pub admin_password: Option<String>,
    /// Log filter.
    pub log: String,
    /// Log lines as text or JSON.
    pub log_format: LogFormat,
    /// Bearer token that opens `/metrics` beyond loopback.
    pub metrics_token: Option<String>,
    /// Let webhooks target loopback, link-local and private addresses.
    pub webhook_allow_private: bool,
    /// How long a browser session lasts from sign-in, in minutes.
    pub session_lifetime_minutes: i64,
    /// Certificates (PEM text, read from the file `KEEL_WEBHOOK_EXTRA_CA` names) that https
    /// webhook targets may chain to beside the public roots.
    pub webhook_extra_ca: Option<String>,
    /// PostgreSQL: the statement timeout in seconds; a connection whose server says nothing for
    /// this long (plus half a second) in the middle of a statement is given up as unavailable.
    pub statement_timeout_secs: u64,
    /// PostgreSQL: the server ends a session idle inside a transaction this long, in seconds.
    pub idle_in_transaction_timeout_secs: u64,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field(
                "database",
                &match &self.database {
                    Database::Sqlite(p) => format!("sqlite in {}", p.display()),
                    Database::Postgres(_) => "postgres (url hidden)".to_string(),
                },
            )
            .field("secure_cookies", &self.secure_cookies)
            .field("admin_email", &self.admin_email)
            .field("admin_password", &self.admin_password.as_ref().map(|_| "<set>"))
            .field("log", &self.log)
            .field("log_format", &self.log_format)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "<set>"))
            .field("webhook_allow_private", &self.webhook_allow_private)
            .field("session_lifetime_minutes", &self.session_lifetime_minutes)
            .field("webhook_extra_ca", &self.webhook_extra_ca.as_ref().map(|_| "<set>"))
            .field("statement_timeout_secs", &self.statement_timeout_secs)
            .field("idle_in_transaction_timeout_secs", &self.idle_in_transaction_timeout_secs)
            .finish()
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Values given as flags (or `None`).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--bind`.
    pub bind: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--statement-timeout`, seconds.
    pub statement_timeout: Option<String>,
    /// `--idle-in-transaction-timeout`, seconds.
    pub idle_in_transaction_timeout: Option<String>,
}

const KNOWN_VARS: [&str; 14] = [
    "KEEL_LOG_FORMAT",
    "KEEL_METRICS_TOKEN",
    "KEEL_CONFIG",
    "KEEL_BIND",
    "KEEL_DATA_DIR",
    "KEEL_SECURE_COOKIES",
    "KEEL_ADMIN_EMAIL",
    "KEEL_ADMIN_PASSWORD",
    "KEEL_LOG",
    "KEEL_WEBHOOK_ALLOW_PRIVATE",
    "KEEL_SESSION_LIFETIME",
    "KEEL_WEBHOOK_EXTRA_CA",
    "KEEL_STATEMENT_TIMEOUT",
    "KEEL_IDLE_IN_TRANSACTION_TIMEOUT",
];

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn parse_bool(name: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => bail!("{name} must be true or false, not {v:?}"),
    }
}

/// A database time limit in seconds from a flag, `KEEL_*` variable or the file (in that order),
/// 1 to an hour.
fn db_timeout(flag: Option<&str>, var: &str, key: &str, file: Option<u64>, default: u64) -> Result<u64> {
    let (text, from) = match (flag, env(var)) {
        (Some(f), _) => (f.to_string(), format!("--{}", key.trim_end_matches("_secs").replace('_', "-"))),
        (None, Some(v)) => (v, var.to_string()),
        (None, None) => match file {
            Some(n) if (1..=MAX_DB_TIMEOUT_SECS).contains(&n) => return Ok(n),
            Some(n) => bail!("{key} must be seconds from 1 to {MAX_DB_TIMEOUT_SECS}, not {n}"),
            None => return Ok(default),
        },
    };
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (1..=MAX_DB_TIMEOUT_SECS).contains(n))
        .with_context(|| format!("{from} must be seconds from 1 to {MAX_DB_TIMEOUT_SECS}, not {text:?}"))
}

/// `KEEL_*` variables Keel does not know (test-harness ones aside), to warn about typos.
pub fn unknown_vars() -> Vec<String> {
    std::env::vars()
        .map(|(k, _)| k)
        .filter(|k| {
            k.starts_with("KEEL_") && !k.starts_with("KEEL_TEST_") && !KNOWN_VARS.contains(&k.as_str())
        })
        .filter(|k| k != "KEEL_SCREENSHOTS")
        .collect()
}

impl Config {
    /// Loads the configuration from its four layers.
    pub fn load(o: &Overrides) -> Result<Config> {
        let path = o.config.clone().or_else(|| env("KEEL_CONFIG").map(PathBuf::from));
        let file = match &path {
            Some(p) => read_file(p)?,
            None if Path::new("keel.toml").exists() => read_file(Path::new("keel.toml"))?,
            None => FileConfig::default(),
        };
        let bind = o
            .bind
            .clone()
            .or_else(|| env("KEEL_BIND"))
            .or(file.bind)
            .unwrap_or_else(|| "127.0.0.1:7878".into());
        let bind: SocketAddr = bind
            .parse()
            .with_context(|| format!("bind must be an address such as 127.0.0.1:7878, not {bind:?}"))?;
        let url = o.database_url.clone().or_else(|| env("DATABASE_URL")).or(file.database_url);
        let database = match url {
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                Database::Postgres(u)
            }
            Some(u) => bail!(
                "DATABASE_URL must start with postgres:// (SQLite needs no URL; use --data-dir), not {:?}",
                u.split(':').next().unwrap_or("")
            ),
            None => Database::Sqlite(
                o.data_dir
                    .clone()
                    .or_else(|| env("KEEL_DATA_DIR").map(PathBuf::from))
                    .or(file.data_dir)
                    .unwrap_or_else(|| PathBuf::from("keel-data")),
            ),
        };
        let secure_cookies = match env("KEEL_SECURE_COOKIES") {
            Some(v) => parse_bool("KEEL_SECURE_COOKIES", &v)?,
            None => file.secure_cookies.unwrap_or(false),
        };
        let webhook_allow_private = match env("KEEL_WEBHOOK_ALLOW_PRIVATE") {
            Some(v) => parse_bool("KEEL_WEBHOOK_ALLOW_PRIVATE", &v)?,
            None => file.webhook_allow_private.unwrap_or(false),
        };
        let webhook_extra_ca = match env("KEEL_WEBHOOK_EXTRA_CA").map(PathBuf::from).or(file.webhook_extra_ca)
        {
            None => None,
            Some(path) => {
                let pem = std::fs::read_to_string(&path).map_err(|e| {
                    anyhow::anyhow!(
                        "KEEL_WEBHOOK_EXTRA_CA (webhook_extra_ca): cannot read {}: {e}",
                        path.display()
                    )
                })?;
                if let Err(e) = keel_app::webhooks::parse_ca_pem(&pem) {
                    bail!("KEEL_WEBHOOK_EXTRA_CA (webhook_extra_ca): {} {e}", path.display());
                }
                Some(pem)
            }
        };
        let (log, from) = match env("KEEL_LOG") {
            Some(v) => (v, "KEEL_LOG"),
            None => (file.log.unwrap_or_else(|| "info".into()), "log (keel.toml)"),
        };
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log) {
            bail!("{from} must be a log filter such as info or keel=debug,info, not {log:?} ({e})");
        }
        let (format, from) = match env("KEEL_LOG_FORMAT") {
            Some(v) => (v, "KEEL_LOG_FORMAT"),
            None => (file.log_format.unwrap_or_else(|| "text".into()), "log_format (keel.toml)"),
        };
        let log_format = match format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => bail!("{from} must be text or json, not {other:?}"),
        };
        let metrics_token = env("KEEL_METRICS_TOKEN").or(file.metrics_token);
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16 || t.chars().any(char::is_whitespace)) {
            bail!("KEEL_METRICS_TOKEN (metrics_token) must be at least 16 characters without spaces");
        }
        let session_lifetime_minutes = match env("KEEL_SESSION_LIFETIME") {
            Some(v) => {
                v.trim().parse::<i64>().ok().filter(|m| (1..=MAX_SESSION_MINUTES).contains(m)).with_context(
                    || {
                        format!(
                        "KEEL_SESSION_LIFETIME must be minutes from 1 to {MAX_SESSION_MINUTES}, not {v:?}"
                    )
                    },
                )?
            }
            None => match file.session_lifetime_minutes {
                Some(m) if !(1..=MAX_SESSION_MINUTES).contains(&m) => {
                    bail!("session_lifetime_minutes must be from 1 to {MAX_SESSION_MINUTES}, not {m}")
                }
                Some(m) => m,
                None => DEFAULT_SESSION_MINUTES,
            },
        };
        let statement_timeout_secs = db_timeout(
            o.statement_timeout.as_deref(),
            "KEEL_STATEMENT_TIMEOUT",
            "statement_timeout_secs",
            file.statement_timeout_secs,
            DEFAULT_STATEMENT_TIMEOUT_SECS,
        )?;
        let idle_in_transaction_timeout_secs = db_timeout(
            o.idle_in_transaction_timeout.as_deref(),
            "KEEL_IDLE_IN_TRANSACTION_TIMEOUT",
            "idle_in_transaction_timeout_secs",
            file.idle_in_transaction_timeout_secs,
            DEFAULT_IDLE_IN_TRANSACTION_SECS,
        )?;
        Ok(Config {
            bind,
            database,
            secure_cookies,
            admin_email: env("KEEL_ADMIN_EMAIL").or(file.admin_email),
            admin_password: env("KEEL_ADMIN_PASSWORD").or(file.admin_password),
            log,
            log_format,
            metrics_token,
            webhook_allow_private,
            session_lifetime_minutes,
            webhook_extra_ca,
            statement_timeout_secs,
            idle_in_transaction_timeout_secs,
        })
    }
}

fn read_file(p: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(p).with_context(|| format!("while reading {}", p.display()))?;
    toml::from_str(&text).with_context(|| format!("in {}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses() {
        let f: FileConfig = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(f.bind.as_deref(), Some("127.0.0.1:7878"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<FileConfig>("bnid = \"x\"").is_err());
    }

    #[test]
    fn flags_win() {
        let o = Overrides {
            bind: Some("127.0.0.1:9000".into()),
            data_dir: Some("/tmp/x".into()),
            ..Default::default()
        };
        let c = Config::load(&o).unwrap();
        assert_eq!(c.bind.port(), 9000);
        assert_eq!(c.database, Database::Sqlite("/tmp/x".into()));
        let o = Overrides { bind: Some("nonsense".into()), ..Default::default() };
        assert!(Config::load(&o).is_err());
        let o = Overrides { database_url: Some("mysql://x".into()), ..Default::default() };
        assert!(Config::load(&o).is_err());
        let o = Overrides { statement_timeout: Some("5".into()), ..Default::default() };
        let c = Config::load(&o).unwrap();
        assert_eq!((c.statement_timeout_secs, c.idle_in_transaction_timeout_secs), (5, 60));
        let o = Overrides { idle_in_transaction_timeout: Some("soon".into()), ..Default::default() };
        let e = Config::load(&o).map(|_| ()).unwrap_err().to_string();
        assert!(
            e.contains("--idle-in-transaction-timeout must be seconds from 1 to 3600, not \"soon\""),
            "{e}"
        );
    }

    fn file_error(toml: &str) -> String {
        let dir = std::env::temp_dir().join(format!("keel-config-{}-{}", std::process::id(), toml.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("keel.toml");
        std::fs::write(&p, toml).unwrap();
        let e = Config::load(&Overrides { config: Some(p), ..Default::default() }).map(|_| ()).unwrap_err();
        let _ = std::fs::remove_dir_all(&dir);
        e.chain().map(ToString::to_string).collect::<Vec<_>>().join(": ")
    }

    #[test]
    fn bad_values_are_named() {
        let e = file_error("log_format = \"xml\"\n");
        assert!(e.contains("log_format") && e.contains("\"xml\""), "{e}");
        let e = file_error("metrics_token = \"short\"\n");
        assert!(e.contains("metrics_token"), "{e}");
        let e = file_error("log = \"keel=loud\"\n");
        assert!(e.contains("log (keel.toml)") && e.contains("keel=loud"), "{e}");
        let e = file_error("bind = \"here\"\n");
        assert!(e.contains("bind") && e.contains("\"here\""), "{e}");
        let e = file_error("secure_cookies = \"yes\"\n");
        assert!(e.contains("secure_cookies"), "{e}");
        let e = file_error("statement_timeout_secs = 0\n");
        assert!(e.contains("statement_timeout_secs must be seconds from 1 to 3600, not 0"), "{e}");
        let e = file_error("idle_in_transaction_timeout_secs = 7200\n");
        assert!(e.contains("idle_in_transaction_timeout_secs") && e.contains("7200"), "{e}");
        let e = file_error("statement_timeout_secs = \"fast\"\n");
        assert!(e.contains("statement_timeout_secs"), "{e}");
        let e = file_error("colour = 1\n");
        assert!(e.contains("unknown field `colour`"), "{e}");
    }
}
