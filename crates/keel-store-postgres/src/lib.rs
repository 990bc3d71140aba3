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
mod watch;
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
/// How long a request may wait for a free connection before it is answered 503 (at most the
/// statement bound, when that is shorter).
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);
/// What a connection adds to the statement timeout before it stops waiting for the server:
/// long enough for the server's own cancellation to arrive first.
const CLIENT_GRACE: Duration = Duration::from_millis(500);

/// Time limits of the connections, set by the operator (`statement_timeout_secs` and
/// `idle_in_transaction_timeout_secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgLimits {
    /// PostgreSQL's `statement_timeout` on every pooled connection; the connection itself gives
    /// up on a server that has sent nothing for this long plus [`CLIENT_GRACE`] while a
    /// statement is open.
    pub statement_timeout: Duration,
    /// PostgreSQL's `idle_in_transaction_session_timeout`: the server ends a session left inside
    /// a transaction, so its locks are released, when the client has gone quiet this long.
    pub idle_in_transaction_timeout: Duration,
}

impl Default for PgLimits {
    fn default() -> Self {
        PgLimits {
            statement_timeout: Duration::from_secs(30),
            idle_in_transaction_timeout: Duration::from_secs(60),
        }
    }
}

impl PgLimits {
    /// How long a connection waits for a server that has gone silent in the middle of a
    /// statement.
    pub fn client_bound(&self) -> Duration {
        self.statement_timeout + CLIENT_GRACE
    }
}

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Where to open the dedicated `LISTEN` connection of live updates and the migrations'
    /// connection (neither bound by the statement timeout).
    config: tokio_postgres::Config,
    /// How long a connection waits for a server gone silent in the middle of a statement.
    limit: Duration,
}

impl PgStore {
    /// Connects a pool to `url` (a `postgres://` URL or a key=value string) with the default
    /// [`PgLimits`] and runs pending migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, PgLimits::default()).await
    }

    /// Connects a pool to `url` with the given time limits and runs pending migrations.
    pub async fn connect_with(url: &str, limits: PgLimits) -> StoreResult<Self> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::invalid("url", format!("is not a PostgreSQL URL: {e}")))?;
        if limits.statement_timeout.is_zero() || limits.idle_in_transaction_timeout.is_zero() {
            return Err(StoreError::invalid("statement_timeout", "must be at least one millisecond"));
        }
        let mut pooled = config.clone();
        // Session settings travel in the start-up packet: no round trip per connection.
        let mut options = config.get_options().map(|o| format!("{o} ")).unwrap_or_default();
        options.push_str(&format!(
            "-c statement_timeout={} -c idle_in_transaction_session_timeout={}",
            limits.statement_timeout.as_millis(),
            limits.idle_in_transaction_timeout.as_millis()
        ));
        pooled.options(options);
        if pooled.get_connect_timeout().is_none() {
            pooled.connect_timeout(CONNECT_TIMEOUT);
        }
        let manager = Manager::from_connect(
            pooled,
            watch::WatchedConnect { limit: limits.client_bound() },
            // Fast recycling skips a round trip per checkout; a broken connection (one a silent
            // server made the socket give up on, too) is noticed by the driver (closed flag)
            // and dropped all the same.
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            // A database that does not answer fails requests instead of hanging them.
            .create_timeout(Some(CONNECT_TIMEOUT.min(limits.client_bound())))
            .wait_timeout(Some(WAIT_TIMEOUT.min(limits.client_bound())))
            .build()
            .map_err(StoreError::other)?;
        let store = PgStore { pool, config, limit: limits.client_bound() };
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
        // A connection of its own, outside the statement timeout: building an index on a large
        // table may take longer than any request should.
        let manager = Manager::from_config(
            self.config.clone(),
            tokio_postgres::NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(1)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(StoreError::other)?;
        let mut c = pool.get().await.db()?;
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

    async fn index_search(&self, max: u64) -> StoreResult<u64> {
        let c = self.conn().await?;
        // SKIP LOCKED: indexers in several processes take different items.
        let n = db::exec(
            &c,
            "WITH batch AS (
                DELETE FROM search_pending WHERE item_id IN (
                    SELECT item_id FROM search_pending ORDER BY item_id LIMIT $1 FOR UPDATE SKIP LOCKED)
                RETURNING item_id)
             INSERT INTO item_search (item_id, search)
             SELECT i.id, to_tsvector('simple', i.title || ' ' || i.description)
             FROM batch JOIN items i ON i.id = batch.item_id
             ON CONFLICT (item_id) DO UPDATE SET search = EXCLUDED.search",
            &[&(max as i64)],
        )
        .await?;
        Ok(n)
    }

    async fn search_backlog(&self) -> StoreResult<u64> {
        let c = self.conn().await?;
        let row = db::one(&c, "SELECT count(*) FROM search_pending", &[]).await?;
        Ok(db::col::<i64>(&row, 0)? as u64)
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
        listen::spawn(self.config.clone(), self.limit, sink);
        Ok(())
    }
}
