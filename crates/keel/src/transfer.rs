//! `keel export` and `keel import keel`: a product (or all of them) to Keel's own JSON document
//! and back, and items to CSV.

use crate::config::{Config, Database};
use anyhow::{anyhow, bail, Context, Result};
use keel_app::App;
use keel_domain::Timestamp;
use keel_store::transfer::{self, ProductDump};
use keel_store::Store;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// What `keel export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Keel's own JSON: everything, readable by `keel import keel`.
    Json,
    /// The items only, one row each, for spreadsheets.
    Csv,
}

/// Marks a password hash left out of an export; it matches no password.
const NO_PASSWORD: &str = "!exported-without-password";

/// Reads the products (one, or all) in full.
pub async fn dump(store: &Arc<dyn Store>, app: &App, product: Option<&str>) -> Result<Vec<ProductDump>> {
    let products = match product {
        Some(k) => vec![app.product_by_key(k).await.map_err(|_| anyhow!("product: no product {k}"))?],
        None => store.products().await.map_err(|e| anyhow!("{e}"))?,
    };
    let mut out = Vec::with_capacity(products.len());
    for p in products {
        let d = store
            .dump_product(p.id)
            .await
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("while reading {}", p.key))?;
        out.push(d);
    }
    Ok(out)
}

/// Blanks the secrets of a dump: password hashes and webhook signing secrets become null.
pub fn strip_secrets(d: &mut ProductDump) {
    for (t, col) in [("users", "password_hash"), ("webhooks", "secret")] {
        let i = transfer::TABLES.iter().position(|x| x.name == t).unwrap_or(0);
        let c = transfer::TABLES[i].columns.iter().position(|x| x.0 == col).unwrap_or(0);
        for row in &mut d.tables[i] {
            row[c] = Value::Null;
        }
    }
}

/// Writes `bytes` to `path` through a temporary file beside it, so a failed export leaves no
/// half-written file.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("partial");
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("while creating {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("while writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("while writing {}", path.display()))
}

/// `keel export`.
pub async fn export(
    store: Arc<dyn Store>,
    app: &App,
    product: Option<&str>,
    output: &Path,
    format: Format,
    with_secrets: bool,
) -> Result<String> {
    let mut dumps = dump(&store, app, product).await?;
    if !with_secrets {
        dumps.iter_mut().for_each(strip_secrets);
    }
    let bytes = match format {
        Format::Json => {
            let mut b = serde_json::to_vec_pretty(&transfer::to_document(&dumps))?;
            b.push(b'\n');
            b
        }
        Format::Csv => items_csv(&dumps).into_bytes(),
    };
    write_file(output, &bytes)?;
    let items: usize = dumps.iter().map(|d| d.rows("items").len()).sum();
    let events: usize = dumps.iter().map(|d| d.rows("events").len()).sum();
    let keys: Vec<&str> = dumps.iter().map(ProductDump::key).collect();
    Ok(format!(
        "exported {} ({} items, {} events) to {}{}",
        if keys.is_empty() { "no products".to_string() } else { keys.join(", ") },
        items,
        events,
        output.display(),
        if with_secrets || format == Format::Csv {
            String::new()
        } else {
            " (without password hashes and webhook secrets: add --with-secrets to keep them)".to_string()
        }
    ))
}

fn time(v: &Value) -> String {
    v.as_i64().map(|t| keel_api::rfc3339(Timestamp(t))).unwrap_or_default()
}

/// Items as CSV: one row per item, names instead of ids.
pub fn items_csv(dumps: &[ProductDump]) -> String {
    let mut out = String::from(
        "product,key,kind,title,state,estimate,assignee,parent,sprint,release,labels,created_at,updated_at\n",
    );
    let g = ProductDump::get;
    for d in dumps {
        let key = d.key();
        let by_id = |t: &str, col: &str| -> HashMap<i64, String> {
            d.rows(t)
                .iter()
                .filter_map(|r| Some((g(t, r, "id").as_i64()?, g(t, r, col).as_str()?.to_string())))
                .collect()
        };
        let states = by_id("workflow_states", "name");
        let users = by_id("users", "email");
        let mut records: HashMap<i64, String> = HashMap::new();
        for r in d.rows("records") {
            let data: Value = g("records", r, "data")
                .as_str()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default();
            if let (Some(id), Some(name)) =
                (g("records", r, "id").as_i64(), data.get("name").and_then(Value::as_str))
            {
                records.insert(id, name.to_string());
            }
        }
        let numbers: HashMap<i64, i64> = d
            .rows("items")
            .iter()
            .filter_map(|r| Some((g("items", r, "id").as_i64()?, g("items", r, "number").as_i64()?)))
            .collect();
        let name = |m: &HashMap<i64, String>, v: &Value| {
            v.as_i64().and_then(|i| m.get(&i).cloned()).unwrap_or_default()
        };
        for r in d.rows("items") {
            let it = |c: &str| g("items", r, c);
            let labels: Vec<String> =
                it("labels").as_str().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
            let parent = it("parent_id")
                .as_i64()
                .and_then(|p| numbers.get(&p))
                .map(|n| format!("{key}-{n}"))
                .unwrap_or_default();
            let cells = [
                key.to_string(),
                format!("{key}-{}", it("number")),
                it("kind").as_str().unwrap_or("").to_string(),
                it("title").as_str().unwrap_or("").to_string(),
                name(&states, it("status_id")),
                it("estimate").as_f64().map(|e| e.to_string()).unwrap_or_default(),
                name(&users, it("assignee_id")),
                parent,
                name(&records, it("sprint_id")),
                name(&records, it("release_id")),
                labels.join(", "),
                time(it("created_at")),
                time(it("updated_at")),
            ];
            let cells: Vec<String> = cells.iter().map(|c| keel_api::metrics::csv_field(c)).collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
    }
    out
}

/// `keel import keel FILE`: validates the whole document, then writes each product in one
/// transaction.
pub async fn import(store: Arc<dyn Store>, app: &App, file: &Path) -> Result<Vec<String>> {
    let text = std::fs::read(file).with_context(|| format!("while reading {}", file.display()))?;
    let doc: Value =
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    let mut dumps = transfer::from_document(&doc).with_context(|| format!("in {}", file.display()))?;
    // Every product must be new here before anything is written.
    for (i, d) in dumps.iter().enumerate() {
        if app.product_by_key(d.key()).await.is_ok() {
            bail!(
                "in {}: products[{i}].products[0].key: product {} is already in this database",
                file.display(),
                d.key()
            );
        }
    }
    // Users are matched by id and e-mail; a clash with someone else here is refused up front.
    for (i, d) in dumps.iter().enumerate() {
        for (j, u) in d.rows("users").iter().enumerate() {
            let (id, email) = (ProductDump::get("users", u, "id"), ProductDump::get("users", u, "email"));
            let (id, email) = (id.as_i64().unwrap_or(0), email.as_str().unwrap_or(""));
            let by_email = app.user_by_email(email).await.ok().map(|u| u.id.0);
            let by_id = store.user(keel_domain::UserId(id)).await.ok().map(|u| u.email.to_string());
            if by_email.is_some_and(|e| e != id)
                || by_id.as_deref().is_some_and(|e| !e.eq_ignore_ascii_case(email))
            {
                bail!(
                    "in {}: products[{i}].users[{j}]: user {id} ({email}) clashes with a different user in this \
                     database; import into an empty database",
                    file.display()
                );
            }
        }
    }
    let mut done = Vec::new();
    for d in &mut dumps {
        fill_secrets(d);
        let key = d.key().to_string();
        store.load_product(d).await.map_err(|e| anyhow!(transfer::load_error(&key, e)))?;
        done.push(format!("{key}: {} items, {} events", d.rows("items").len(), d.rows("events").len()));
    }
    // Flow rows follow the history just written; rebuilt as after an upgrade.
    app.rebuild_pending_metrics().await.map_err(|e| anyhow!("{e}"))?;
    Ok(done)
}

/// An export without secrets comes back with unusable password hashes (an administrator sets
/// passwords with `keel user passwd`) and new webhook secrets.
fn fill_secrets(d: &mut ProductDump) {
    for (t, col) in [("users", "password_hash"), ("webhooks", "secret")] {
        let i = transfer::TABLES.iter().position(|x| x.name == t).unwrap_or(0);
        let c = transfer::TABLES[i].columns.iter().position(|x| x.0 == col).unwrap_or(0);
        for row in &mut d.tables[i] {
            if row[c].is_null() {
                row[c] = Value::from(if t == "users" {
                    NO_PASSWORD.to_string()
                } else {
                    keel_app::auth::random_secret()
                });
            }
        }
    }
}

const PG_BACKUP: &str =
    "this database is PostgreSQL: back it up with pg_dump (pg_dump -Fc -f keel.dump \"$DATABASE_URL\") \
     and restore with pg_restore; see docs/OPERATIONS.md";

/// `keel backup FILE`: SQLite's `VACUUM INTO`, safe while servers run.
pub fn backup(cfg: &Config, file: &Path) -> Result<()> {
    let Database::Sqlite(dir) = &cfg.database else { bail!(PG_BACKUP) };
    let db = dir.join("keel.db");
    keel_store_sqlite::backup::backup(&db, file).map_err(store_msg)?;
    let n = keel_store_sqlite::backup::verify(file).map_err(store_msg)?;
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    println!("backed up {} to {} ({size} bytes, {n} migrations, integrity ok)", db.display(), file.display());
    Ok(())
}

/// `keel restore FILE`: checks the backup, refuses while a process has the database open, keeps
/// the database it replaces beside it.
pub fn restore(cfg: &Config, file: &Path) -> Result<()> {
    let Database::Sqlite(dir) = &cfg.database else { bail!(PG_BACKUP) };
    keel_store_sqlite::backup::verify(file).map_err(store_msg)?;
    std::fs::create_dir_all(dir).with_context(|| format!("while creating {}", dir.display()))?;
    let db = dir.join("keel.db");
    if keel_store_sqlite::backup::in_use(&db).map_err(store_msg)? {
        bail!("{} is in use by a running Keel (or another program): stop it, then restore", db.display());
    }
    let tmp = dir.join("keel.db.restoring");
    std::fs::copy(file, &tmp).with_context(|| format!("while copying {}", file.display()))?;
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).context("while syncing the copy")?;
    let mut kept = None;
    if db.exists() {
        let secs =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let old = dir.join(format!("keel.db.before-restore-{secs}"));
        std::fs::rename(&db, &old).with_context(|| format!("while moving {} aside", db.display()))?;
        kept = Some(old);
    }
    // Nobody has the database open, so a WAL left here belongs to the file moved aside (a clean
    // close removes it); it must not be applied to the restored one.
    for ext in ["keel.db-wal", "keel.db-shm"] {
        let _ = std::fs::remove_file(dir.join(ext));
    }
    std::fs::rename(&tmp, &db).with_context(|| format!("while moving the copy to {}", db.display()))?;
    println!(
        "restored {} from {}{}",
        db.display(),
        file.display(),
        kept.map(|k| format!("; the previous database is kept as {}", k.display())).unwrap_or_default()
    );
    Ok(())
}

fn store_msg(e: keel_store::StoreError) -> anyhow::Error {
    match e {
        keel_store::StoreError::Invalid(v) => anyhow!("{}", v.message),
        e => anyhow!("{e}"),
    }
}
