//! The store port on embedded SQLite.
//!
//! One writer connection sits behind a mutex: SQLite allows a single writer, so serialising
//! writes in-process is cheaper and fairer than letting connections busy-wait on the file lock.
//! Every write runs on the blocking pool inside a `BEGIN IMMEDIATE` transaction and appends its
//! history events in that transaction. Reads use a small pool of read-only connections (WAL lets
//! them run beside the writer). The reads of the authentication path (token, session, product
//! access, workflow) run inline on the async thread: they take microseconds and the application
//! caches most of them. Item reads, lists, searches and history go through the blocking pool:
//! measured at 1,000,000 items, running item reads inline on the two async workers tripled the
//! 99th-percentile latency of `GET /items/{key}` (one descheduled worker stalls every request
//! queued behind it), for 15 % more throughput.
#![forbid(unsafe_code)]

pub mod backup;
mod items;
mod metrics;
mod products;
mod proposals;
mod records;
mod search;
mod transfer;
mod users;
mod webhooks;

use async_trait::async_trait;
use keel_domain::event::{Event, ObjectKind};
use keel_domain::{ProductId, ProposalId, Timestamp, UserId, ValidationError};
use keel_store::{EventSink, Store, StoreError, StoreResult, WriteCtx};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The migrations, in order. Append new files; never edit an applied one.
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

/// Reader connections opened up front.
const READERS: usize = 6;
/// Most idle reader connections kept: a burst beyond this opens connections that close after,
/// below it they stay for the next burst instead of being reopened.
const MAX_IDLE_READERS: usize = 16;

/// The SQLite store: one serialised writer and a pool of readers over one database file.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Reader connections lent out now (for `/metrics`).
    busy_readers: std::sync::atomic::AtomicUsize,
    /// Live updates (see `watch_events`): whom to tell, and the newest event id told.
    sink: std::sync::OnceLock<EventSink>,
    told: std::sync::atomic::AtomicI64,
    /// The thread that checkpoints the WAL (see [`Checkpointer`]).
    checkpointer: Checkpointer,
}

/// Copies the WAL into the database file on a thread of its own. SQLite's automatic checkpoint
/// runs inside the commit that crosses its threshold, on the writer; here each commit wakes
/// this thread instead, so the copying overlaps the next transaction (a bulk import spent about
/// a sixth of its time checkpointing inside its commits). A checkpoint is `PASSIVE`: it copies
/// what no reader still needs and never waits for anyone. Once everything is copied, the
/// writer's next transaction starts the WAL over, so it stays about one transaction long. The
/// writer's own automatic checkpoint stays, at 8,192 pages instead of 1,000, as the backstop
/// for when this thread falls behind.
struct Checkpointer {
    thread: std::thread::Thread,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

/// The least time between two checkpoints: many small commits share one.
const CHECKPOINT_GAP: std::time::Duration = std::time::Duration::from_millis(100);

impl Checkpointer {
    fn spawn(path: &Path) -> Res<Checkpointer> {
        let conn = open_conn(path, false)?;
        conn.execute_batch("PRAGMA cache_size = -1024;")?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let handle = std::thread::Builder::new()
            .name("keel-sqlite-checkpoint".into())
            .spawn(move || {
                use std::sync::atomic::Ordering::Relaxed;
                while !stopped.load(Relaxed) {
                    std::thread::park_timeout(std::time::Duration::from_secs(1));
                    if stopped.load(Relaxed) {
                        break;
                    }
                    // A failure (the disk is full, say) is tried again after the next commit.
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(error = %e, "SQLite checkpoint failed");
                    }
                    std::thread::sleep(CHECKPOINT_GAP);
                }
            })
            .map_err(StoreError::other)?;
        Ok(Checkpointer { thread: handle.thread().clone(), stop })
    }

    /// After a commit: there is something to copy.
    fn wake(&self) {
        self.thread.unpark();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.unpark();
    }
}

/// How often a process looks for events other processes (an import, a second server) wrote.
const LIVE_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// The newest event id (0 when there is none).
fn newest_event(c: &Connection) -> Res<i64> {
    Ok(c.prepare_cached("SELECT coalesce(max(id), 0) FROM events")?.query_row([], |r| r.get(0))?)
}

/// Tells the sink, if any, when `newest` is beyond what it was told already.
fn tell(inner: &Inner, newest: i64) {
    if let Some(sink) = inner.sink.get() {
        let before = inner.told.fetch_max(newest, std::sync::atomic::Ordering::SeqCst);
        if newest > before {
            sink(None, newest);
        }
    }
}

/// The internal error type, so `?` works on rusqlite, JSON and validation errors alike
/// (`StoreError` and `rusqlite::Error` are both foreign, so no `From` can join them directly).
pub(crate) struct Error(pub(crate) StoreError);

/// Result of the internal functions.
pub(crate) type Res<T> = Result<T, Error>;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error(e)
    }
}

impl From<ValidationError> for Error {
    fn from(e: ValidationError) -> Self {
        Error(StoreError::Invalid(e))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error(StoreError::other(e))
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        Error(match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
            rusqlite::Error::SqliteFailure(f, msg)
                if f.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                StoreError::Conflict(msg.unwrap_or_else(|| "already exists".to_string()))
            }
            // A reference to a row that does not exist (a user or product id out of thin air).
            rusqlite::Error::SqliteFailure(f, _) if f.extended_code == ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                StoreError::NotFound
            }
            // The disk or the file size limit is full: nothing of the transaction was written.
            rusqlite::Error::SqliteFailure(f, msg) if f.code == rusqlite::ErrorCode::DiskFull => {
                StoreError::StorageFull(msg.unwrap_or_else(|| "database or disk is full".to_string()))
            }
            // The file or its directory turned read-only, or the disk stopped answering.
            rusqlite::Error::SqliteFailure(f, msg)
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::ReadOnly
                        | rusqlite::ErrorCode::CannotOpen
                        | rusqlite::ErrorCode::SystemIoFailure
                        | rusqlite::ErrorCode::DatabaseBusy
                ) =>
            {
                StoreError::Unavailable(msg.unwrap_or_else(|| f.to_string()))
            }
            e => StoreError::other(e),
        })
    }
}

/// Wraps a decoding failure inside a row mapper as a rusqlite error.
pub(crate) fn conv(i: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
}

/// Reads a JSON text column (NULL reads as JSON null).
pub(crate) fn json_col(r: &Row<'_>, i: usize) -> rusqlite::Result<Value> {
    match r.get::<_, Option<String>>(i)? {
        None => Ok(Value::Null),
        Some(s) => serde_json::from_str(&s).map_err(|e| conv(i, e)),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a transaction open (it rolls back on drop),
    // so the connection inside is still fine to use.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn open_conn(path: &Path, reader: bool) -> Res<Connection> {
    let flags =
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error(StoreError::Other(format!("SQLite refused WAL mode (got {mode})").into())));
    }
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA temp_store = MEMORY;
         PRAGMA mmap_size = 0;",
    )?;
    // No memory map, and a small page cache on readers: in WAL mode a reader that starts a read
    // transaction after any commit discards its whole cache (and unmaps its map), so under writes a
    // big per-reader cache buys nothing and costs time proportional to its size, while each map
    // counts against the process's resident memory again. The kernel's page cache serves re-reads.
    // The writer is never invalidated by its own commits and keeps a larger cache.
    if reader {
        conn.execute_batch("PRAGMA query_only = ON; PRAGMA cache_size = -4096;")?;
    } else {
        conn.execute_batch(items::WRITER_CACHE)?;
    }
    search::register(&conn)?;
    // Filters build a bounded number of distinct statements; keep all of them prepared.
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

fn run_migrations(conn: &mut Connection) -> Res<Vec<String>> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    let mut applied = Vec::new();
    for (name, sql) in MIGRATIONS {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Early development builds recorded names without the `.sql`; either spelling counts.
        let stem = name.trim_end_matches(".sql");
        let done: bool = tx.query_row(
            "SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE name IN (?1, ?2))",
            [name, stem],
            |r| r.get(0),
        )?;
        if !done {
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?1, ?2)",
                params![name, now_ms()],
            )?;
            applied.push((*name).to_string());
        }
        tx.commit()?;
    }
    Ok(applied)
}

impl SqliteStore {
    /// Opens (creating the file and its directory if needed) the database at `path` and runs
    /// pending migrations.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || -> Res<SqliteStore> {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(StoreError::other)?;
            }
            let mut writer = open_conn(&path, false)?;
            let applied = run_migrations(&mut writer)?;
            // Checkpoints happen on the checkpointer's thread, the writer's only when that one
            // falls behind; the WAL file is cut back to 64 MB when it starts over.
            writer
                .execute_batch("PRAGMA wal_autocheckpoint = 8192; PRAGMA journal_size_limit = 67108864;")?;
            let checkpointer = Checkpointer::spawn(&path)?;
            if !applied.is_empty() {
                tracing::info!(?applied, "applied SQLite migrations");
            }
            let mut readers = Vec::with_capacity(READERS);
            for _ in 0..READERS {
                readers.push(open_conn(&path, true)?);
            }
            Ok(SqliteStore {
                inner: Arc::new(Inner {
                    path,
                    writer: Mutex::new(writer),
                    readers: Mutex::new(readers),
                    busy_readers: Default::default(),
                    sink: std::sync::OnceLock::new(),
                    told: std::sync::atomic::AtomicI64::new(0),
                    checkpointer,
                }),
            })
        })
        .await
        .map_err(StoreError::other)?
        .map_err(|e| e.0)
    }

    /// Runs `f` on a pooled reader connection, on the calling thread: for the authentication
    /// path's single-row reads.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Res<T>) -> StoreResult<T> {
        with_reader(&self.inner, f).map_err(|e| e.0)
    }

    /// Runs `f` on a pooled reader connection on the blocking pool: for lists and searches.
    pub(crate) async fn read_blocking<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Res<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || with_reader(&inner, f))
            .await
            .map_err(StoreError::other)?
            .map_err(|e| e.0)
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the writer, on the blocking pool;
    /// commits when it succeeds, rolls back otherwise.
    pub(crate) async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Res<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || -> Res<T> {
            let mut conn = lock(&inner.writer);
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            inner.checkpointer.wake();
            if inner.sink.get().is_some() {
                // A failed read here only delays the news until the next poll.
                if let Ok(newest) = newest_event(&conn) {
                    tell(&inner, newest);
                }
            }
            Ok(out)
        })
        .await
        .map_err(StoreError::other)?
        .map_err(|e| e.0)
    }

    /// Runs `f` on the writer without a transaction wrapper of ours (single statements that
    /// are bookkeeping, not history: sessions, throttling, token use).
    pub(crate) async fn write_plain<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Res<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let out = f(&lock(&inner.writer));
            inner.checkpointer.wake();
            out
        })
        .await
        .map_err(StoreError::other)?
        .map_err(|e| e.0)
    }
}

fn with_reader<T>(inner: &Inner, f: impl FnOnce(&Connection) -> Res<T>) -> Res<T> {
    let idle = lock(&inner.readers).pop();
    let conn = match idle {
        Some(c) => c,
        None => open_conn(&inner.path, true)?,
    };
    inner.busy_readers.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = f(&conn);
    inner.busy_readers.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    let mut pool = lock(&inner.readers);
    if pool.len() < MAX_IDLE_READERS {
        pool.push(conn);
    }
    out
}

/// Appends one history event for the write described by `ctx`, tagged with its proposal.
pub(crate) fn event(
    c: &Connection,
    ctx: &WriteCtx,
    product: Option<ProductId>,
    object: (ObjectKind, i64),
    field: &str,
    old: &Value,
    new: &Value,
) -> Res<()> {
    let mut st = c.prepare_cached(
        "INSERT INTO events (product_id, object, object_id, actor_id, at, field, old, new, proposal_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    st.execute(params![
        product.map(|p| p.0),
        object.0.as_str(),
        object.1,
        ctx.actor.map(|u| u.0),
        ctx.at.0,
        field,
        old.to_string(),
        new.to_string(),
        ctx.proposal.map(|p| p.0),
    ])?;
    Ok(())
}

/// Carries out the proposal half of a write: when `ctx` names a proposal, marks it accepted (by
/// the actor, at the write's time) in the write's own transaction, or refuses with a conflict
/// when it is no longer pending; writes its proposer's `decision` notification. Every write
/// method calls this first.
pub(crate) fn accept_proposal(c: &Connection, ctx: &WriteCtx) -> Res<()> {
    let Some(id) = ctx.proposal else { return Ok(()) };
    let product: Option<i64> = c
        .prepare_cached(
            "UPDATE proposals SET state = 'accepted', decided_by = ?2, decided_at = ?3
             WHERE id = ?1 AND state = 'pending' RETURNING product_id",
        )?
        .query_row(params![id.0, ctx.actor.map(|u| u.0), ctx.at.0], |r| r.get(0))
        .optional()?;
    let Some(product) = product else {
        let exists: bool = c
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM proposals WHERE id = ?1)")?
            .query_row([id.0], |r| r.get(0))?;
        return Err(Error(if exists {
            StoreError::Conflict(format!("proposal {id} is no longer pending"))
        } else {
            StoreError::NotFound
        }));
    };
    event(
        c,
        ctx,
        Some(ProductId(product)),
        (ObjectKind::Proposal, id.0),
        "state",
        &Value::from("pending"),
        &Value::from("accepted"),
    )?;
    proposals::notify_decision(c, ctx, id)
}

/// The columns [`event_row`] reads, in order.
macro_rules! event_cols {
    () => {
        "id, product_id, object, object_id, actor_id, at, field, old, new, proposal_id"
    };
}
pub(crate) use event_cols;

/// Maps a row of `event_cols!` to an event.
pub(crate) fn event_row(r: &Row<'_>) -> rusqlite::Result<Event> {
    let object: String = r.get(2)?;
    let object = ObjectKind::parse(&object)
        .ok_or_else(|| conv(2, StoreError::Conflict(format!("object {object}"))))?;
    Ok(Event {
        id: r.get(0)?,
        product_id: r.get::<_, Option<i64>>(1)?.map(ProductId),
        object,
        object_id: r.get(3)?,
        actor_id: r.get::<_, Option<i64>>(4)?.map(UserId),
        at: Timestamp(r.get(5)?),
        field: r.get(6)?,
        old: json_col(r, 7)?,
        new: json_col(r, 8)?,
        proposal_id: r.get::<_, Option<i64>>(9)?.map(ProposalId),
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> StoreResult<Vec<String>> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || run_migrations(&mut lock(&inner.writer)))
            .await
            .map_err(StoreError::other)?
            .map_err(|e| e.0)
    }

    async fn refresh_statistics(&self) -> StoreResult<()> {
        // Nothing to do: SQLite plans from the schema here (no ANALYZE statistics are kept), and
        // the queries that need a particular index name it, so a bulk load cannot mislead it.
        Ok(())
    }

    async fn index_search(&self, max: u64) -> StoreResult<u64> {
        self.write(move |tx| {
            let Some(hi) = tx
                .prepare_cached("SELECT item_id FROM search_pending ORDER BY item_id LIMIT 1 OFFSET ?1")?
                .query_row([max.saturating_sub(1) as i64], |r| r.get::<_, i64>(0))
                .optional()?
                .or(tx
                    .prepare_cached("SELECT max(item_id) FROM search_pending")?
                    .query_row([], |r| r.get(0))?)
            else {
                return Ok(0);
            };
            tx.prepare_cached(
                "INSERT INTO items_fts (rowid, title, description)
                 SELECT i.id, i.title, i.description FROM search_pending s JOIN items i ON i.id = s.item_id
                 WHERE s.item_id <= ?1 ORDER BY s.item_id",
            )?
            .execute([hi])?;
            Ok(tx.prepare_cached("DELETE FROM search_pending WHERE item_id <= ?1")?.execute([hi])? as u64)
        })
        .await
    }

    async fn search_backlog(&self) -> StoreResult<u64> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT count(*) FROM search_pending")?
                .query_row([], |r| r.get::<_, i64>(0))? as u64)
        })
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read(|c| Ok(c.prepare_cached("SELECT 1")?.query_row([], |r| r.get::<_, i64>(0)).map(|_| ())?))
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn pool_status(&self) -> keel_store::PoolStatus {
        let busy = self.inner.busy_readers.load(std::sync::atomic::Ordering::Relaxed);
        let writer_busy = usize::from(self.inner.writer.try_lock().is_err());
        keel_store::PoolStatus {
            in_use: busy + writer_busy,
            idle: lock(&self.inner.readers).len() + 1 - writer_busy,
            max: MAX_IDLE_READERS + 1,
        }
    }

    async fn watch_events(&self, sink: EventSink) -> StoreResult<()> {
        let newest = self.read(newest_event)?;
        self.inner.told.store(newest, std::sync::atomic::Ordering::SeqCst);
        if self.inner.sink.set(sink).is_err() {
            return Err(StoreError::invalid("watch_events", "is already watched"));
        }
        let store = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(LIVE_POLL);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                // Ends with the last handle on the store (besides this task's own).
                if Arc::strong_count(&store.inner) <= 1 {
                    return;
                }
                if let Ok(newest) = store.read(newest_event) {
                    tell(&store.inner, newest);
                }
            }
        });
        Ok(())
    }
}
