//! Plumbing shared by every part of the store: mapping database errors onto [`StoreError`],
//! running cached prepared statements on a pooled connection or a transaction, appending
//! history events, and marking the proposal a write carries out as accepted.

use deadpool_postgres::GenericClient;
use keel_domain::event::{FieldChange, ObjectKind};
use keel_domain::{ProductId, ProposalId};
use keel_store::{StoreError, StoreResult, WriteCtx};
use serde_json::Value;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// One query parameter.
pub type Param<'a> = &'a (dyn ToSql + Sync);

/// Runs a write transaction again when PostgreSQL cancelled it for a deadlock or a serialization
/// failure (two writers locking the same rows in opposite orders, say two cards moved before
/// each other): nothing of it was written, so trying again is safe, and the version checks inside
/// decide the outcome. After four more tries the caller hears of the conflict (409).
pub(crate) async fn retrying<T, F, Fut>(mut f: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StoreResult<T>>,
{
    let mut attempt = 0u64;
    loop {
        match f().await {
            Err(StoreError::Contention) if attempt < 4 => {
                attempt += 1;
                // A short pause, spread a little so the two writers do not meet again at once.
                let spread = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| u64::from(d.subsec_micros() % 4_000));
                tokio::time::sleep(std::time::Duration::from_micros(attempt * 2_000 + spread)).await;
            }
            r => return r,
        }
    }
}

/// Maps a driver error: unique violations are conflicts the caller can report, a missing
/// referenced row means the object named does not exist, a cancelled transaction is contention,
/// everything else is a storage failure.
pub fn map_pg(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == SqlState::UNIQUE_VIOLATION {
            let what = match db.constraint() {
                Some("users_email_key") => "that e-mail address is taken".to_string(),
                Some("products_key_key") => "that product key is taken".to_string(),
                Some("item_links_unique") => "the items are already linked so".to_string(),
                Some(c) => format!("already exists ({c})"),
                None => "already exists".to_string(),
            };
            return StoreError::Conflict(what);
        }
        if *db.code() == SqlState::FOREIGN_KEY_VIOLATION {
            return StoreError::NotFound;
        }
        // Two transactions locking the same rows in opposite orders: one is cancelled and may
        // simply be tried again.
        if *db.code() == SqlState::T_R_DEADLOCK_DETECTED || *db.code() == SqlState::T_R_SERIALIZATION_FAILURE
        {
            return StoreError::Contention;
        }
        if *db.code() == SqlState::DISK_FULL {
            return StoreError::StorageFull(db.message().to_string());
        }
        let code = db.code().code();
        // Connection exceptions (class 08), the server shutting down or starting (57P01-57P03),
        // too many connections, a read-only server (a standby), a statement cancelled by the
        // statement timeout (57014), a session ended by the idle-in-transaction or idle-session
        // timeout (25P03, 57P05): the database is unavailable, and the request may be retried.
        if code.starts_with("08")
            || matches!(code, "57P01" | "57P02" | "57P03" | "57P05" | "53300" | "25006" | "57014" | "25P03")
        {
            return StoreError::Unavailable(format!("{code}: {}", db.message()));
        }
        return StoreError::other(e);
    }
    // No answer from the server at all: the connection was refused, broke or closed.
    let io = std::error::Error::source(&e).is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some());
    if e.is_closed() || io {
        return StoreError::Unavailable(e.to_string());
    }
    StoreError::other(e)
}

/// Maps a pool error: no connection to be had in time, or none can be opened, means the
/// database is unavailable.
pub fn map_pool(e: deadpool_postgres::PoolError) -> StoreError {
    use deadpool_postgres::PoolError;
    match e {
        PoolError::Backend(e) => map_pg(e),
        PoolError::Timeout(t) => StoreError::Unavailable(format!("no database connection in time ({t:?})")),
        PoolError::Closed => StoreError::Unavailable("the connection pool is closed".to_string()),
        other => StoreError::other(other),
    }
}

/// `.db()` on driver and pool results, turning their errors into [`StoreError`]s.
pub trait DbResult<T> {
    /// The result with a [`StoreError`].
    fn db(self) -> StoreResult<T>;
}

impl<T> DbResult<T> for Result<T, tokio_postgres::Error> {
    fn db(self) -> StoreResult<T> {
        self.map_err(map_pg)
    }
}

impl<T> DbResult<T> for Result<T, deadpool_postgres::PoolError> {
    fn db(self) -> StoreResult<T> {
        self.map_err(map_pool)
    }
}

/// A storage error for a stored value that cannot be read back.
pub fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("unreadable stored value: {what}").into())
}

/// Runs a cached statement returning at most one row.
pub async fn opt<C: GenericClient>(c: &C, sql: &str, params: &[Param<'_>]) -> StoreResult<Option<Row>> {
    let st = c.prepare_cached(sql).await.db()?;
    c.query_opt(&st, params).await.db()
}

/// Runs a cached statement returning exactly one row; none is [`StoreError::NotFound`].
pub async fn one<C: GenericClient>(c: &C, sql: &str, params: &[Param<'_>]) -> StoreResult<Row> {
    opt(c, sql, params).await?.ok_or(StoreError::NotFound)
}

/// Runs a cached statement returning rows.
pub async fn all<C: GenericClient>(c: &C, sql: &str, params: &[Param<'_>]) -> StoreResult<Vec<Row>> {
    let st = c.prepare_cached(sql).await.db()?;
    c.query(&st, params).await.db()
}

/// Runs a cached statement returning the number of rows changed.
pub async fn exec<C: GenericClient>(c: &C, sql: &str, params: &[Param<'_>]) -> StoreResult<u64> {
    let st = c.prepare_cached(sql).await.db()?;
    c.execute(&st, params).await.db()
}

/// Reads column `idx` of `row`.
pub fn col<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, idx: usize) -> StoreResult<T> {
    row.try_get(idx).map_err(StoreError::other)
}

/// Parses a JSON text column.
pub fn json_col(row: &Row, idx: usize) -> StoreResult<Value> {
    let s: &str = col(row, idx)?;
    serde_json::from_str(s).map_err(corrupt)
}

/// Events of one write, collected and then appended with one statement.
pub struct Events {
    product_id: Vec<Option<i64>>,
    object: Vec<&'static str>,
    object_id: Vec<i64>,
    field: Vec<String>,
    old: Vec<String>,
    new: Vec<String>,
}

impl Events {
    /// No events yet.
    pub fn new() -> Self {
        Events {
            product_id: Vec::new(),
            object: Vec::new(),
            object_id: Vec::new(),
            field: Vec::new(),
            old: Vec::new(),
            new: Vec::new(),
        }
    }

    /// Adds one event.
    pub fn push(
        &mut self,
        product: Option<ProductId>,
        object: ObjectKind,
        object_id: i64,
        field: &str,
        old: &Value,
        new: &Value,
    ) {
        self.product_id.push(product.map(|p| p.0));
        self.object.push(object.as_str());
        self.object_id.push(object_id);
        self.field.push(field.to_string());
        self.old.push(old.to_string());
        self.new.push(new.to_string());
    }

    /// Adds one event per field change.
    pub fn changes(
        &mut self,
        product: Option<ProductId>,
        object: ObjectKind,
        object_id: i64,
        ch: &[FieldChange],
    ) {
        for c in ch {
            self.push(product, object, object_id, c.field, &c.old, &c.new);
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.object.is_empty()
    }

    /// Appends the events with the write's actor, time and proposal, in one round trip.
    pub async fn write<C: GenericClient>(&self, c: &C, ctx: &WriteCtx) -> StoreResult<()> {
        if self.is_empty() {
            return Ok(());
        }
        if let Some(p) = self.product_id.iter().flatten().next() {
            lock_feed(c, ProductId(*p)).await?;
        }
        let actor = ctx.actor.map(|u| u.0);
        let proposal = ctx.proposal.map(|p| p.0);
        let at = ctx.at.0;
        exec(
            c,
            "INSERT INTO events (product_id, object, object_id, actor_id, at, field, old, new, proposal_id)
             SELECT p, o, oid, $4, $5, f, od, nw, $9
             FROM unnest($1::bigint[], $2::text[], $3::bigint[], $6::text[], $7::text[], $8::text[])
                  AS e(p, o, oid, f, od, nw)",
            &[
                &self.product_id,
                &self.object,
                &self.object_id,
                &actor,
                &at,
                &self.field,
                &self.old,
                &self.new,
                &proposal,
            ],
        )
        .await?;
        Ok(())
    }
}

/// Advisory lock class of product feeds (two-key form, so it never meets the migration lock).
const FEED_LOCK_CLASS: i32 = 0x6b65;

/// Serialises the appending of a product's events until the transaction ends.
///
/// Event ids come from a sequence when rows are inserted, not when they commit: without this,
/// a reader of `product_events(after)` could see id 11 committed, move its cursor past it, and
/// never see id 10 committed a moment later. Holding the lock from the first event insert to
/// the commit makes a product's ids become visible in order. Distinct products rarely share a
/// key (ids are folded into 31 bits), and when they do they merely wait for each other.
pub async fn lock_feed<C: GenericClient>(c: &C, product: ProductId) -> StoreResult<()> {
    let key = (product.0 % i64::from(i32::MAX)) as i32;
    exec(c, "SELECT pg_advisory_xact_lock($1, $2)", &[&FEED_LOCK_CLASS, &key]).await?;
    Ok(())
}

/// Marks the proposal a write carries out (if any) as accepted by the writer, in the write's
/// transaction, and returns the write's event list holding that acceptance; the caller adds its
/// own events and appends them all just before committing. The proposer's `decision`
/// notification is written here too. A proposal that is no longer pending makes the whole
/// write fail with [`StoreError::Conflict`].
pub async fn accept_proposal<C: GenericClient>(c: &C, ctx: &WriteCtx) -> StoreResult<Events> {
    let mut ev = Events::new();
    let Some(ProposalId(id)) = ctx.proposal else { return Ok(ev) };
    let actor = ctx.actor.map(|u| u.0);
    let row = opt(
        c,
        "UPDATE proposals SET state = 'accepted', decided_by = $2, decided_at = $3
         WHERE id = $1 AND state = 'pending' RETURNING product_id",
        &[&id, &actor, &ctx.at.0],
    )
    .await?;
    let Some(row) = row else {
        // Decided already (a conflict), or no such proposal at all.
        one(c, "SELECT 1 FROM proposals WHERE id = $1", &[&id]).await?;
        return Err(StoreError::Conflict(format!("proposal {id} is no longer pending")));
    };
    let product: i64 = col(&row, 0)?;
    ev.push(
        Some(ProductId(product)),
        ObjectKind::Proposal,
        id,
        "state",
        &Value::from("pending"),
        &Value::from("accepted"),
    );
    crate::proposals::notify_decision(c, ctx, &mut ev, ProposalId(id)).await?;
    Ok(ev)
}
