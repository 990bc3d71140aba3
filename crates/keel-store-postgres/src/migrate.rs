//! Schema migrations: SQL files embedded in the binary, named as the SQLite store's are, applied
//! in order, each in its own transaction, and recorded in `schema_migrations`.
//!
//! Several `keel serve` processes may start at once on one database, so each step first takes a
//! transaction-scoped advisory lock: the others wait, then find the migration recorded and skip it.

use crate::db::{exec, opt, DbResult};
use deadpool_postgres::Object;
use keel_store::StoreResult;

/// The migrations, in the order they apply. Append only: a released file never changes.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init.sql", include_str!("../migrations/0001_init.sql")),
    ("0002_fts_bulk.sql", include_str!("../migrations/0002_fts_bulk.sql")),
    ("0003_records_sprints.sql", include_str!("../migrations/0003_records_sprints.sql")),
    ("0004_widget.sql", include_str!("../migrations/0004_widget.sql")),
    ("0005_item_flow.sql", include_str!("../migrations/0005_item_flow.sql")),
    ("0006_flow_rebuilds.sql", include_str!("../migrations/0006_flow_rebuilds.sql")),
    ("0007_webhooks.sql", include_str!("../migrations/0007_webhooks.sql")),
    ("0008_live_events.sql", include_str!("../migrations/0008_live_events.sql")),
    ("0009_wip_since.sql", include_str!("../migrations/0009_wip_since.sql")),
    ("0010_statement_triggers.sql", include_str!("../migrations/0010_statement_triggers.sql")),
    ("0011_bulk_flow.sql", include_str!("../migrations/0011_bulk_flow.sql")),
    ("0012_search_after_commit.sql", include_str!("../migrations/0012_search_after_commit.sql")),
];

/// Advisory lock key for migrations ("keel" in ASCII, so it is recognisable in `pg_locks`).
const LOCK_KEY: i64 = 0x6b65_656c;

fn now_millis() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Applies the pending migrations; returns the names of those applied now.
pub async fn run(c: &mut Object) -> StoreResult<Vec<String>> {
    {
        let tx = c.transaction().await.db()?;
        exec(&tx, "SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY]).await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)")
            .await
            .db()?;
        tx.commit().await.db()?;
    }
    let mut applied = Vec::new();
    for (name, sql) in MIGRATIONS {
        let tx = c.transaction().await.db()?;
        exec(&tx, "SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY]).await?;
        let done = opt(&tx, "SELECT 1 FROM schema_migrations WHERE name = $1", &[name]).await?;
        if done.is_some() {
            tx.rollback().await.db()?; // releases the lock
            continue;
        }
        tx.batch_execute(sql).await.db()?;
        exec(&tx, "INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)", &[name, &now_millis()])
            .await?;
        tx.commit().await.db()?;
        applied.push((*name).to_string());
    }
    Ok(applied)
}
