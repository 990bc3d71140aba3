//! The store port on PostgreSQL: a pool of connections (tokio-postgres under deadpool), each
//! caching its prepared statements, and embedded SQL migrations applied at connect time.
//!
//! Every write is one transaction that also appends its history events and, when it carries out
//! a proposal, marks that proposal accepted. Reads are one query each where the data allows.
#![forbid(unsafe_code)]

mod bulk;
mod db;
mod items;
mod listen;
mod metrics;
mod migrate;
mod products;
mod proposals;
mod records;
mod rows;
mod transfer;
mod users;
mod webhooks;

use async_trait::async_trait;
use db::DbResult;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use keel_store::{EventSink, Store, StoreError, StoreResult};
use std::time::Duration;

/// Connections kept open at most.
const POOL_SIZE: usize = 16;
/// How long opening one connection may take: a database that does not answer in this time
/// is unavailable (503), not a request left hanging.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a request may wait for a free connection before it is answered 503.
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Where to open the dedicated `LISTEN` connection of live updates.
    config: tokio_postgres::Config,
}

impl PgStore {
    /// Connects a pool to `url` (a `postgres://` URL or a key=value string) and runs pending
    /// migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::invalid("url", format!("is not a PostgreSQL URL: {e}")))?;
        let manager = Manager::from_config(
            config.clone(),
            tokio_postgres::NoTls,
            // Fast recycling skips a round trip per checkout; a broken connection is noticed
            // by the driver (closed flag) and dropped all the same.
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            // A database that does not answer fails requests instead of hanging them.
            .create_timeout(Some(CONNECT_TIMEOUT))
            .wait_timeout(Some(WAIT_TIMEOUT))
            .build()
            .map_err(StoreError::other)?;
        let store = PgStore { pool, config };
        store.migrate().await?;
        Ok(store)
    }

    /// A pooled connection.
    async fn conn(&self) -> StoreResult<Object> {
        self.pool.get().await.db()
    }
}

#[async_trait]
impl Store for PgStore {
    async fn migrate(&self) -> StoreResult<Vec<String>> {
        let mut c = self.conn().await?;
        migrate::run(&mut c).await
    }

    async fn refresh_statistics(&self) -> StoreResult<()> {
        // Autovacuum would get there within minutes; until then a freshly loaded table is planned
        // as if nearly empty (measured: a 500-card board read the whole product index, 60 ms
        // instead of 0.4 ms).
        let c = self.conn().await?;
        c.batch_execute("ANALYZE items; ANALYZE events; ANALYZE records; ANALYZE item_labels").await.db()?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        let c = self.conn().await?;
        db::one(&c, "SELECT 1", &[]).await?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn pool_status(&self) -> keel_store::PoolStatus {
        let s = self.pool.status();
        keel_store::PoolStatus {
            in_use: s.size.saturating_sub(s.available),
            idle: s.available,
            max: s.max_size,
        }
    }

    async fn watch_events(&self, sink: EventSink) -> StoreResult<()> {
        listen::spawn(self.config.clone(), sink);
        Ok(())
    }
}
