//! Records (objects without a table of their own) and atomic batches of writes.

use crate::db::{accept_proposal, all, col, corrupt, exec, one, opt, DbResult, Events};
use crate::items::{add_link_tx, create_item_tx, move_item_tx, update_item_tx};
use crate::rows::{self, EVENT_COLS};
use crate::PgStore;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use keel_domain::event::{Event, ObjectKind};
use keel_domain::proposal::Position;
use keel_domain::rank::{self, RankKey};
use keel_domain::{ItemId, ProductId, RecordId, Timestamp, UserId};
use keel_store::record_rules::{
    apply_refs, check_record_data, check_record_version, record_changes, resolve_ref,
};
use keel_store::{
    NewRecord, Page, Record, RecordFilter, RecordStore, StoreError, StoreResult, WriteCtx, WriteOp, Written,
};
use serde_json::{json, Value};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

const RECORD_COLS: &str =
    "id, kind, product_id, parent_id, state, unique_key, data, version, created_by, created_at, updated_at";

fn record(r: &Row) -> StoreResult<Record> {
    let kind: &str = col(r, 1)?;
    let data: &str = col(r, 6)?;
    Ok(Record {
        id: RecordId(col(r, 0)?),
        kind: ObjectKind::parse(kind).ok_or_else(|| corrupt(format!("record kind {kind}")))?,
        product_id: col::<Option<i64>>(r, 2)?.map(ProductId),
        parent_id: col(r, 3)?,
        state: col(r, 4)?,
        unique_key: col(r, 5)?,
        data: serde_json::from_str(data).map_err(corrupt)?,
        version: col(r, 7)?,
        created_by: col::<Option<i64>>(r, 8)?.map(UserId),
        created_at: Timestamp(col(r, 9)?),
        updated_at: Timestamp(col(r, 10)?),
    })
}

async fn load_record<C: GenericClient>(c: &C, id: RecordId, lock: bool) -> StoreResult<Record> {
    let sql = if lock {
        format!("SELECT {RECORD_COLS} FROM records WHERE id = $1 FOR UPDATE")
    } else {
        format!("SELECT {RECORD_COLS} FROM records WHERE id = $1")
    };
    record(&opt(c, &sql, &[&id.0]).await?.ok_or(StoreError::NotFound)?)
}

pub(crate) async fn create_record_tx<C: GenericClient>(
    c: &C,
    ctx: &WriteCtx,
    ev: &mut Events,
    r: NewRecord,
) -> StoreResult<Record> {
    check_record_data(&r.data)?;
    let row = one(
        c,
        "INSERT INTO records (kind, product_id, parent_id, state, unique_key, data, version, created_by,
             created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $8) RETURNING id",
        &[
            &r.kind.as_str(),
            &r.product_id.map(|p| p.0),
            &r.parent_id,
            &r.state,
            &r.unique_key,
            &r.data.to_string(),
            &ctx.actor.map(|u| u.0),
            &ctx.at.0,
        ],
    )
    .await?;
    let rec = Record {
        id: RecordId(col(&row, 0)?),
        kind: r.kind,
        product_id: r.product_id,
        parent_id: r.parent_id,
        state: r.state,
        unique_key: r.unique_key,
        data: r.data,
        version: 1,
        created_by: ctx.actor,
        created_at: ctx.at,
        updated_at: ctx.at,
    };
    let created = json!({ "state": rec.state, "parent_id": rec.parent_id, "data": rec.data });
    ev.push(rec.product_id, rec.kind, rec.id.0, "created", &Value::Null, &created);
    Ok(rec)
}

async fn update_record_tx<C: GenericClient>(
    c: &C,
    ctx: &WriteCtx,
    ev: &mut Events,
    id: RecordId,
    expected: Option<i64>,
    state: Option<String>,
    data: Value,
) -> StoreResult<Record> {
    check_record_data(&data)?;
    let mut rec = load_record(c, id, true).await?;
    check_record_version(&rec, expected)?;
    let new_state = state.unwrap_or_else(|| rec.state.clone());
    let changes = record_changes(&rec, &new_state, &data);
    if changes.is_empty() {
        return Ok(rec);
    }
    rec.version += 1;
    rec.updated_at = ctx.at;
    exec(
        c,
        "UPDATE records SET state = $2, data = $3, version = $4, updated_at = $5 WHERE id = $1",
        &[&id.0, &new_state, &data.to_string(), &rec.version, &ctx.at.0],
    )
    .await?;
    for (field, o, n) in &changes {
        ev.push(rec.product_id, rec.kind, id.0, field, o, n);
    }
    rec.state = new_state;
    rec.data = data;
    Ok(rec)
}

/// Takes the product row locks a batch's moves and creations will need before any of its item
/// locks, in id order: single moves and creations lock the product, then the item, and a batch
/// that changed an item (a board move's new state) before placing it would otherwise hold the
/// item while waiting for the product, which a concurrent move holds while waiting for the item
/// (a deadlock, answered 409 "a concurrent change got in the way").
async fn lock_batch_products<C: GenericClient>(c: &C, ops: &[WriteOp]) -> StoreResult<()> {
    let mut items: Vec<i64> = Vec::new();
    let mut products: Vec<i64> = Vec::new();
    for op in ops {
        match op {
            WriteOp::MoveItem { id, .. } => items.push(id.0),
            WriteOp::MoveItems { ids, .. } => items.extend(ids.iter().map(|i| i.0)),
            WriteOp::CreateItem { product, .. } => products.push(product.0),
            _ => {}
        }
    }
    if ops.len() < 2 || (items.is_empty() && products.is_empty()) {
        return Ok(());
    }
    if !items.is_empty() {
        for r in all(c, "SELECT DISTINCT product_id FROM items WHERE id = ANY($1)", &[&items]).await? {
            products.push(col(&r, 0)?);
        }
    }
    products.sort_unstable();
    products.dedup();
    all(c, "SELECT id FROM products WHERE id = ANY($1) ORDER BY id FOR UPDATE", &[&products]).await?;
    Ok(())
}

async fn apply_op<C: GenericClient>(
    c: &C,
    ctx: &WriteCtx,
    ev: &mut Events,
    out: &[Written],
    op: WriteOp,
) -> StoreResult<Written> {
    Ok(match op {
        WriteOp::CreateRecord(r) => Written::Record(create_record_tx(c, ctx, ev, r).await?),
        WriteOp::UpdateRecord { id, expected_version, state, mut data, refs } => {
            apply_refs(&mut data, refs, out)?;
            Written::Record(update_record_tx(c, ctx, ev, id, expected_version, state, data).await?)
        }
        WriteOp::Guard { id, expected_version } => {
            let mut rec = load_record(c, id, true).await?;
            check_record_version(&rec, Some(expected_version))?;
            rec.version += 1;
            exec(c, "UPDATE records SET version = $2 WHERE id = $1", &[&id.0, &rec.version]).await?;
            Written::Record(rec)
        }
        WriteOp::DeleteRecord { id, expected_version } => {
            let rec = load_record(c, id, true).await?;
            check_record_version(&rec, expected_version)?;
            exec(c, "DELETE FROM records WHERE id = $1", &[&id.0]).await?;
            let old = json!({ "state": rec.state, "parent_id": rec.parent_id, "data": rec.data });
            ev.push(rec.product_id, rec.kind, id.0, "deleted", &old, &Value::Null);
            Written::Deleted
        }
        WriteOp::CreateItem { product, item, position } => {
            Written::Item(Box::new(create_item_tx(c, ctx, ev, product, item, &position).await?))
        }
        WriteOp::UpdateItem { id, expected_version, patch } => {
            let id = ItemId(resolve_ref(out, id)?);
            Written::Item(Box::new(update_item_tx(c, ctx, ev, id, expected_version, patch).await?))
        }
        WriteOp::MoveItem { id, position } => {
            Written::Item(Box::new(move_item_tx(c, ctx, ev, id, None, &position).await?))
        }
        WriteOp::AddLink { from, to, kind } => {
            let from = ItemId(resolve_ref(out, from)?);
            Written::Link(add_link_tx(c, ev, from, to, kind).await?)
        }
        WriteOp::SetSprint { ids, sprint } => Written::Count(set_sprint_tx(c, ctx, ev, &ids, sprint).await?),
        WriteOp::MoveItems { ids, position } => {
            Written::Count(move_items_tx(c, ctx, ev, &ids, &position).await?)
        }
    })
}

/// [`WriteOp::SetSprint`] in three statements whatever the number of items.
async fn set_sprint_tx<C: GenericClient>(
    c: &C,
    ctx: &WriteCtx,
    ev: &mut Events,
    ids: &[ItemId],
    sprint: Option<RecordId>,
) -> StoreResult<u64> {
    crate::items::check_sprint(c, sprint).await?;
    let ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
    let rows = all(
        c,
        "SELECT id, product_id, sprint_id FROM items WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        &[&ids],
    )
    .await?;
    let mut found = std::collections::HashSet::new();
    let mut changed = Vec::new();
    let new = sprint.map(|s| s.0);
    for r in &rows {
        let (id, product, old): (i64, i64, Option<i64>) = (col(r, 0)?, col(r, 1)?, col(r, 2)?);
        found.insert(id);
        if old != new {
            changed.push(id);
            ev.push(Some(ProductId(product)), ObjectKind::Item, id, "sprint", &json!(old), &json!(new));
        }
    }
    if found.len() != ids.iter().collect::<std::collections::HashSet<_>>().len() {
        return Err(StoreError::NotFound);
    }
    if !changed.is_empty() {
        exec(
            c,
            "UPDATE items SET sprint_id = $2, version = version + 1, updated_at = $3 WHERE id = ANY($1)",
            &[&changed, &new, &ctx.at.0],
        )
        .await?;
    }
    Ok(changed.len() as u64)
}

/// [`WriteOp::MoveItems`]: new keys for all the items at one end of the backlog, written with
/// one statement.
async fn move_items_tx<C: GenericClient>(
    c: &C,
    ctx: &WriteCtx,
    ev: &mut Events,
    ids: &[ItemId],
    position: &Position,
) -> StoreResult<u64> {
    let top = match position {
        Position::Top => true,
        Position::Bottom => false,
        _ => return Err(StoreError::invalid("position", "must be top or bottom")),
    };
    if ids.is_empty() {
        return Ok(0);
    }
    let id_list: Vec<i64> = ids.iter().map(|i| i.0).collect();
    let products = all(c, "SELECT DISTINCT product_id FROM items WHERE id = ANY($1)", &[&id_list]).await?;
    let product = match products.as_slice() {
        [one] => ProductId(col(one, 0)?),
        [] => return Err(StoreError::NotFound),
        _ => return Err(StoreError::invalid("ids", "must be items of one product")),
    };
    // The product row lock serialises ranking, as for single moves.
    one(c, "SELECT 1 FROM products WHERE id = $1 FOR UPDATE", &[&product.0]).await?;
    let old = all(c, "SELECT id, rank FROM items WHERE id = ANY($1) FOR UPDATE", &[&id_list]).await?;
    if old.len() != id_list.iter().collect::<std::collections::HashSet<_>>().len() {
        return Err(StoreError::NotFound);
    }
    let mut old_rank = std::collections::HashMap::new();
    for r in &old {
        old_rank.insert(col::<i64>(r, 0)?, col::<String>(r, 1)?);
    }
    let bound_sql = if top {
        "SELECT rank FROM items WHERE product_id = $1 AND id <> ALL($2) ORDER BY rank LIMIT 1"
    } else {
        "SELECT rank FROM items WHERE product_id = $1 AND id <> ALL($2) ORDER BY rank DESC LIMIT 1"
    };
    let bound = match opt(c, bound_sql, &[&product.0, &id_list]).await? {
        Some(r) => Some(RankKey::from_trusted(col(&r, 0)?)),
        None => None,
    };
    // Keys from the far end inwards: before the first remaining item (top), or after the last.
    let mut keys: Vec<RankKey> = Vec::with_capacity(ids.len());
    let mut edge = bound;
    for _ in 0..ids.len() {
        let k = if top { rank::between(None, edge.as_ref()) } else { rank::between(edge.as_ref(), None) };
        keys.push(k.clone());
        edge = Some(k);
    }
    if top {
        keys.reverse();
    }
    let key_text: Vec<String> = keys.iter().map(|k| k.as_str().to_string()).collect();
    c.batch_execute("SET CONSTRAINTS items_rank DEFERRED").await.db()?;
    exec(
        c,
        "UPDATE items SET rank = v.r, version = version + 1, updated_at = $3
         FROM unnest($1::bigint[], $2::text[]) AS v(id, r) WHERE items.id = v.id",
        &[&id_list, &key_text, &ctx.at.0],
    )
    .await?;
    c.batch_execute("SET CONSTRAINTS items_rank IMMEDIATE").await.db()?;
    for (id, k) in id_list.iter().zip(&keys) {
        let was = old_rank.get(id).cloned().unwrap_or_default();
        ev.push(Some(product), ObjectKind::Item, *id, "rank", &json!({ "rank": was }), &json!({ "rank": k }));
    }
    if keys.iter().any(RankKey::is_long) {
        crate::items::rebalance(c, product, ev).await?;
    }
    Ok(ids.len() as u64)
}

#[async_trait]
impl RecordStore for PgStore {
    async fn record(&self, id: RecordId) -> StoreResult<Record> {
        let c = self.conn().await?;
        load_record(&c, id, false).await
    }

    async fn record_by_key(&self, kind: ObjectKind, unique_key: &str) -> StoreResult<Record> {
        let c = self.conn().await?;
        let row = opt(
            &c,
            &format!("SELECT {RECORD_COLS} FROM records WHERE kind = $1 AND unique_key = $2"),
            &[&kind.as_str(), &unique_key],
        )
        .await?;
        record(&row.ok_or(StoreError::NotFound)?)
    }

    async fn records(&self, filter: &RecordFilter, page: &Page) -> StoreResult<Vec<Record>> {
        let after: i64 = match &page.after {
            Some(a) => {
                a.parse().map_err(|_| StoreError::invalid("cursor", "is not a cursor of this list"))?
            }
            None => 0,
        };
        let kind = filter.kind.as_str();
        let product = filter.product.map(|p| p.0);
        let limit = i64::from(page.limit);
        let mut sql = format!("SELECT {RECORD_COLS} FROM records WHERE kind = $1 AND id > $2");
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&kind, &after];
        if let Some(p) = &product {
            params.push(p);
            sql.push_str(&format!(" AND product_id = ${}", params.len()));
        }
        if let Some(p) = &filter.parent {
            params.push(p);
            sql.push_str(&format!(" AND parent_id = ${}", params.len()));
        }
        if !filter.states.is_empty() {
            params.push(&filter.states);
            sql.push_str(&format!(" AND state = ANY(${})", params.len()));
        }
        params.push(&limit);
        sql.push_str(&format!(" ORDER BY id LIMIT ${}", params.len()));
        let c = self.conn().await?;
        all(&c, &sql, &params).await?.iter().map(record).collect()
    }

    async fn write_batch(&self, ops: Vec<WriteOp>, ctx: &WriteCtx) -> StoreResult<Vec<Written>> {
        let ops = &ops;
        crate::db::retrying(|| async move {
            let mut c = self.conn().await?;
            let tx = c.transaction().await.db()?;
            let mut ev = accept_proposal(&tx, ctx).await?;
            lock_batch_products(&tx, ops).await?;
            let mut out = Vec::with_capacity(ops.len());
            for op in ops.iter().cloned() {
                let w = apply_op(&tx, ctx, &mut ev, &out, op).await?;
                out.push(w);
            }
            ev.write(&tx, ctx).await?;
            tx.commit().await.db()?;
            Ok(out)
        })
        .await
    }

    async fn write_batches(&self, batches: Vec<(Vec<WriteOp>, WriteCtx)>) -> StoreResult<Vec<Vec<Written>>> {
        if batches.iter().any(|(_, c)| c.proposal.is_some()) {
            return Err(StoreError::invalid("proposal", "batches written together cannot accept a proposal"));
        }
        let batches = &batches;
        let every: Vec<WriteOp> = batches.iter().flat_map(|(ops, _)| ops.iter().cloned()).collect();
        let every = &every;
        crate::db::retrying(|| async move {
            let mut c = self.conn().await?;
            let tx = c.transaction().await.db()?;
            // The same lock order as single batches: every product concerned first, by id.
            lock_batch_products(&tx, every).await?;
            let mut all = Vec::with_capacity(batches.len());
            for (ops, ctx) in batches {
                let mut ev = accept_proposal(&tx, ctx).await?;
                let mut out = Vec::with_capacity(ops.len());
                for op in ops.iter().cloned() {
                    let w = apply_op(&tx, ctx, &mut ev, &out, op).await?;
                    out.push(w);
                }
                ev.write(&tx, ctx).await?;
                all.push(out);
            }
            tx.commit().await.db()?;
            Ok(all)
        })
        .await
    }

    async fn product_events_of(
        &self,
        product: ProductId,
        objects: &[ObjectKind],
        fields: &[&str],
        since: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Event>> {
        let objects: Vec<&str> = objects.iter().map(|o| o.as_str()).collect();
        let fields: Vec<&str> = fields.to_vec();
        let limit = i64::from(limit);
        // Conditions only for what is named, so the planner can use the (product, field, time)
        // index with the fields' values.
        let mut sql = format!("SELECT {EVENT_COLS} FROM events WHERE product_id = $1 AND at >= $2");
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&product.0, &since.0];
        if !fields.is_empty() {
            params.push(&fields);
            sql.push_str(&format!(" AND field = ANY(${})", params.len()));
        }
        if !objects.is_empty() {
            params.push(&objects);
            sql.push_str(&format!(" AND object = ANY(${})", params.len()));
        }
        params.push(&limit);
        sql.push_str(&format!(" ORDER BY id LIMIT ${}", params.len()));
        let c = self.conn().await?;
        let rows = all(&c, &sql, &params).await?;
        rows.iter().map(rows::event).collect()
    }
}
