//! Backlog items and their links: numbering, ranking, hierarchy rules, filters and search.
//!
//! Item reads are one query each: the product's key and the parent's number are joined in, so
//! an item comes back with its key and its parent's key without further round trips.

use crate::products::load_workflow;
use crate::users::is_member;
use crate::{accept_proposal, conv, event, Error, Res, SqliteStore};
use async_trait::async_trait;
use keel_domain::event::ObjectKind;
use keel_domain::item::{
    check_parent, number_criteria, Acceptance, AcceptanceState, Item, ItemKind, ItemLink, ItemPatch,
    LinkKind, NewItem, Points, StoryFields,
};
use keel_domain::metrics::flow_rows;
use keel_domain::proposal::Position;
use keel_domain::rank::{self, RankKey};
use keel_domain::workflow::Category;
use keel_domain::{ItemId, LinkId, ProductId, RecordId, StateId, Timestamp, UserId, ValidationError};
use keel_store::{
    bulk_item_history, Blocker, BulkItem, ItemFilter, ItemStore, Page, StoreError, StoreResult, WriteCtx,
};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use serde_json::{json, Value};
use std::collections::HashSet;

/// The writer's page cache (32 MB).
pub(crate) const WRITER_CACHE: &str = "PRAGMA cache_size = -32768;";
/// The writer's page cache during a bulk write: 1 GB, grown only as a large import needs it (at
/// 1,000,000 imported items the write took 17 % less time than with 256 MB; the random index
/// inserts outgrow a smaller one). Back to [`WRITER_CACHE`], which frees the pages, after it.
const BULK_CACHE: &str = "PRAGMA cache_size = -1048576;";

/// The triggers a bulk write stands in for. Dropped at the start of its transaction and created
/// again from their own text before it commits (DDL is transactional in SQLite: a failure or a
/// crash rolls back to the triggers as they were), so the batch's rows are written without a
/// trigger program and a statement journal per row, and the same effects are written set-wise:
/// the flow rows from the items' histories (`keel_domain::metrics::flow_rows`, what a rebuild
/// writes), the webhook outbox with one `INSERT … SELECT`, and the list of items the full-text
/// indexer is to add after the commit (`search_pending`) with another.
/// A change to one of these triggers must be mirrored in `bulk_create_items`.
const BULK_TRIGGERS: [&str; 7] = [
    "item_flow_created",
    "item_flow_status",
    "item_flow_kind",
    "item_flow_deleted",
    "item_flow_sprint",
    "webhook_outbox",
    "items_fts_insert",
];

/// How many ancestors a parent chain may have before the walk gives up (the hierarchy has
/// three levels, so a real chain is never near this).
const MAX_DEPTH: usize = 1_000;

macro_rules! item_select {
    () => {
        "SELECT i.id, i.product_id, p.key, i.number, i.kind, i.parent_id, pp.number, i.title, i.description,
                i.as_a, i.i_want, i.so_that, i.criteria, i.estimate, i.labels, i.assignee_id, i.status_id,
                i.category, i.rank, i.created_by, i.created_at, i.updated_at, i.version, i.sprint_id, i.release_id,
                i.acceptance, i.acceptance_note, i.dod, i.dor
         FROM items i JOIN products p ON p.id = i.product_id LEFT JOIN items pp ON pp.id = i.parent_id"
    };
}

fn item_row(r: &Row<'_>) -> rusqlite::Result<Item> {
    let pkey = r.get_ref(2)?.as_str()?;
    let number: i64 = r.get(3)?;
    let kind = ItemKind::parse("kind", r.get_ref(4)?.as_str()?).map_err(|e| conv(4, e))?;
    let parent_number: Option<i64> = r.get(6)?;
    let criteria = serde_json::from_str(r.get_ref(12)?.as_str()?).map_err(|e| conv(12, e))?;
    let labels = serde_json::from_str(r.get_ref(14)?.as_str()?).map_err(|e| conv(14, e))?;
    Ok(Item {
        key: format!("{pkey}-{number}"),
        parent_key: parent_number.map(|n| format!("{pkey}-{n}")),
        id: ItemId(r.get(0)?),
        product_id: ProductId(r.get(1)?),
        number,
        kind,
        parent_id: r.get::<_, Option<i64>>(5)?.map(ItemId),
        title: r.get(7)?,
        description: r.get(8)?,
        story: StoryFields { as_a: r.get(9)?, i_want: r.get(10)?, so_that: r.get(11)? },
        criteria,
        estimate: r.get::<_, Option<f64>>(13)?.map(Points::from_trusted),
        labels,
        assignee_id: r.get::<_, Option<i64>>(15)?.map(UserId),
        status_id: StateId(r.get(16)?),
        category: Category::from_code(r.get(17)?),
        rank: RankKey::from_trusted(r.get(18)?),
        created_by: r.get::<_, Option<i64>>(19)?.map(UserId),
        created_at: Timestamp(r.get(20)?),
        updated_at: Timestamp(r.get(21)?),
        version: r.get(22)?,
        sprint_id: r.get::<_, Option<i64>>(23)?.map(RecordId),
        release_id: r.get::<_, Option<i64>>(24)?.map(RecordId),
        acceptance: Acceptance {
            state: AcceptanceState::parse("acceptance", r.get_ref(25)?.as_str()?).map_err(|e| conv(25, e))?,
            note: r.get(26)?,
        },
        dod: serde_json::from_str(r.get_ref(27)?.as_str()?).map_err(|e| conv(27, e))?,
        dor: serde_json::from_str(r.get_ref(28)?.as_str()?).map_err(|e| conv(28, e))?,
    })
}

fn load_item(c: &Connection, id: ItemId) -> Res<Item> {
    Ok(c.prepare_cached(concat!(item_select!(), " WHERE i.id = ?1"))?.query_row([id.0], item_row)?)
}

/// An item's current version.
pub(crate) fn item_version(c: &Connection, id: ItemId) -> Res<i64> {
    Ok(c.prepare_cached("SELECT version FROM items WHERE id = ?1")?.query_row([id.0], |r| r.get(0))?)
}

fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error(StoreError::invalid(field, message))
}

/// The item named as a parent; a missing one is the caller's input error, not a 404.
fn parent_item(c: &Connection, id: ItemId) -> Res<Item> {
    match load_item(c, id) {
        Err(Error(StoreError::NotFound)) => Err(invalid("parent", "does not exist")),
        r => r,
    }
}

fn state_category(c: &Connection, product: ProductId, state: StateId) -> Res<Category> {
    c.prepare_cached("SELECT category FROM workflow_states WHERE id = ?1 AND product_id = ?2")?
        .query_row([state.0, product.0], |r| r.get::<_, i64>(0))
        .optional()?
        .map(Category::from_code)
        .ok_or_else(|| invalid("status", "is not a state of this product's workflow"))
}

/// The first `todo` state, else the first state: [`keel_domain::workflow::Workflow::initial`].
fn initial_state(c: &Connection, product: ProductId) -> Res<(StateId, Category)> {
    Ok(c.prepare_cached(
        "SELECT id, category FROM workflow_states WHERE product_id = ?1 ORDER BY category <> 0, position, id LIMIT 1",
    )?
    .query_row([product.0], |r| Ok((StateId(r.get(0)?), Category::from_code(r.get(1)?))))?)
}

fn check_assignee(c: &Connection, product: ProductId, user: Option<UserId>) -> Res<()> {
    match user {
        Some(u) if !is_member(c, product.0, u.0)? => {
            Err(invalid("assignee", "must be a member of the product"))
        }
        _ => Ok(()),
    }
}

/// Checks that an item may be put into `sprint`: a sprint record that is not closed.
fn check_sprint(c: &Connection, sprint: Option<RecordId>) -> Res<()> {
    let Some(id) = sprint else { return Ok(()) };
    let state: Option<String> = c
        .prepare_cached("SELECT state FROM records WHERE id = ?1 AND kind = 'sprint'")?
        .query_row([id.0], |r| r.get(0))
        .optional()?;
    match state.as_deref() {
        None => Err(invalid("sprint", "does not exist")),
        Some("closed") => Err(invalid("sprint", "is closed")),
        Some(_) => Ok(()),
    }
}

/// Checks that an item of `product` may ship in `release`: a release record of that product.
fn check_release(c: &Connection, product: ProductId, release: Option<RecordId>) -> Res<()> {
    let Some(id) = release else { return Ok(()) };
    let p: Option<Option<i64>> = c
        .prepare_cached("SELECT product_id FROM records WHERE id = ?1 AND kind = 'release'")?
        .query_row([id.0], |r| r.get(0))
        .optional()?;
    match p {
        None => Err(invalid("release", "does not exist")),
        Some(p) if p != Some(product.0) => Err(invalid("release", "must be a release of the same product")),
        Some(_) => Ok(()),
    }
}

fn numbered_criteria(list: Vec<keel_domain::item::Criterion>) -> Res<Vec<keel_domain::item::Criterion>> {
    if list.iter().any(|c| c.id <= 0) {
        Ok(number_criteria("criteria", list)?)
    } else {
        Ok(list)
    }
}

fn insert_labels(c: &Connection, item: i64, product: ProductId, labels: &[String]) -> Res<()> {
    if labels.is_empty() {
        return Ok(());
    }
    let mut st = c.prepare_cached(
        "INSERT OR IGNORE INTO item_labels (item_id, product_id, label) VALUES (?1, ?2, ?3)",
    )?;
    for l in labels {
        st.execute(params![item, product.0, l])?;
    }
    Ok(())
}

/// The rank key for `position` in `product`, leaving `moving` (the item being moved) out of
/// the neighbours.
fn rank_for(c: &Connection, product: ProductId, position: &Position, moving: Option<ItemId>) -> Res<RankKey> {
    let me = moving.map_or(0, |i| i.0);
    let one = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> Res<Option<RankKey>> {
        Ok(c.prepare_cached(sql)?
            .query_row(args, |r| r.get::<_, String>(0))
            .optional()?
            .map(RankKey::from_trusted))
    };
    match position {
        Position::Top => {
            let first = one(
                "SELECT rank FROM items WHERE product_id = ?1 AND id <> ?2 ORDER BY rank LIMIT 1",
                &[&product.0, &me],
            )?;
            Ok(rank::between(None, first.as_ref()))
        }
        Position::Bottom => {
            let last = one(
                "SELECT rank FROM items WHERE product_id = ?1 AND id <> ?2 ORDER BY rank DESC LIMIT 1",
                &[&product.0, &me],
            )?;
            Ok(rank::between(last.as_ref(), None))
        }
        Position::Before(x) | Position::After(x) => {
            let before = matches!(position, Position::Before(_));
            let field = if before { "before" } else { "after" };
            if moving == Some(*x) {
                return Err(invalid(field, "must be another item than the one moved"));
            }
            let (p, xr): (i64, String) = c
                .prepare_cached("SELECT product_id, rank FROM items WHERE id = ?1")?
                .query_row([x.0], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
                .ok_or_else(|| invalid(field, "does not exist"))?;
            if p != product.0 {
                return Err(invalid(field, "must be an item of the same product"));
            }
            let xr = RankKey::from_trusted(xr);
            if before {
                let prev = one(
                    "SELECT rank FROM items WHERE product_id = ?1 AND rank < ?2 AND id <> ?3 ORDER BY rank DESC LIMIT 1",
                    &[&product.0, &xr.as_str(), &me],
                )?;
                Ok(rank::between(prev.as_ref(), Some(&xr)))
            } else {
                let next = one(
                    "SELECT rank FROM items WHERE product_id = ?1 AND rank > ?2 AND id <> ?3 ORDER BY rank LIMIT 1",
                    &[&product.0, &xr.as_str(), &me],
                )?;
                Ok(rank::between(Some(&xr), next.as_ref()))
            }
        }
    }
}

/// Gives every item of the product a fresh, short key in the current order.
fn rebalance(c: &Connection, ctx: &WriteCtx, product: ProductId) -> Res<()> {
    let ids = c
        .prepare_cached("SELECT id FROM items WHERE product_id = ?1 ORDER BY rank")?
        .query_map([product.0], |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    // Park every key under a prefix outside the base-62 alphabet first, so that no new key can
    // collide with an old one under UNIQUE(product_id, rank) while they are rewritten.
    c.prepare_cached("UPDATE items SET rank = '~' || rank WHERE product_id = ?1")?.execute([product.0])?;
    let mut st = c.prepare_cached("UPDATE items SET rank = ?2 WHERE id = ?1")?;
    for (id, key) in ids.iter().zip(rank::spread(ids.len())) {
        st.execute(params![id, key.as_str()])?;
    }
    event(
        c,
        ctx,
        Some(product),
        (ObjectKind::Product, product.0),
        "rank_rebalanced",
        &Value::Null,
        &json!({ "items": ids.len() }),
    )
}

fn item_event(c: &Connection, ctx: &WriteCtx, item: &Item, field: &str, old: &Value, new: &Value) -> Res<()> {
    event(c, ctx, Some(item.product_id), (ObjectKind::Item, item.id.0), field, old, new)
}

/// The words of a search, quoted for FTS5, the last one a prefix: `"w1" "w2"*`. Only letters
/// and digits survive, so no query syntax from the user reaches FTS5.
fn fts_query(q: &str) -> Option<String> {
    let mut out = String::with_capacity(q.len() + 8);
    for w in q.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push('"');
        out.push_str(w);
        out.push('"');
    }
    if out.is_empty() {
        return None;
    }
    out.push('*');
    Some(out)
}

/// A search that matches at most this many items (in any product) is driven from its hits.
const SEARCH_DRIVE_MAX: usize = 1000;

/// The ids a search matches, when they are few: `Some(ids)` (empty for no words or no hit), or
/// `None` when there are more than [`SEARCH_DRIVE_MAX`]. A rare word would otherwise make the
/// query walk the whole product in rank order looking for its few hits (at 1,000,000 items a
/// search with no hit took 171 ms that way); a common word finds its first page of hits early in
/// that walk, so it keeps it.
fn search_hits(c: &Connection, q: &str) -> Res<Option<Vec<i64>>> {
    let Some(m) = fts_query(q) else { return Ok(Some(Vec::new())) };
    let mut st = c.prepare_cached("SELECT rowid FROM items_fts WHERE items_fts MATCH ?1 LIMIT ?2")?;
    let mut ids = st
        .query_map(rusqlite::params![m, SEARCH_DRIVE_MAX as i64 + 1], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    if ids.len() <= SEARCH_DRIVE_MAX {
        // Items a bulk write listed for the indexer, matched by their text until it gets there.
        let mut st = c.prepare_cached(
            "SELECT i.id FROM search_pending s JOIN items i ON i.id = s.item_id
             WHERE keel_match(i.title, i.description, ?1) LIMIT ?2",
        )?;
        let more = SEARCH_DRIVE_MAX as i64 + 1 - ids.len() as i64;
        let tail = st.query_map(rusqlite::params![q, more], |r| r.get(0))?;
        for id in tail {
            ids.push(id?);
        }
    }
    Ok((ids.len() <= SEARCH_DRIVE_MAX).then_some(ids))
}

/// Appends the WHERE clause of `filter` to `sql` and its arguments to `args`; `None` when the
/// filter can match nothing (a search without words or without hits).
fn where_clause(
    c: &Connection,
    product: ProductId,
    filter: &ItemFilter,
    sql: &mut String,
    args: &mut Vec<SqlValue>,
) -> Res<Option<()>> {
    let hits = match &filter.q {
        Some(q) => search_hits(c, q)?,
        None => None,
    };
    match &hits {
        Some(ids) if ids.is_empty() => return Ok(None),
        // `+` keeps the product's indexes out of the plan, so SQLite looks the few hits up by
        // id instead of walking the product.
        Some(_) => sql.push_str(" WHERE +i.product_id = ?"),
        None => sql.push_str(" WHERE i.product_id = ?"),
    }
    args.push(SqlValue::Integer(product.0));
    if let Some(s) = filter.status {
        sql.push_str(" AND i.status_id = ?");
        args.push(SqlValue::Integer(s.0));
    }
    if let Some(c) = filter.category {
        sql.push_str(" AND i.category = ?");
        args.push(SqlValue::Integer(c.code()));
    }
    if filter.open_only {
        // Exactly this expression, so that the planner picks the partial index items_backlog.
        sql.push_str(" AND i.category < 2");
    }
    if let Some(k) = filter.kind {
        sql.push_str(" AND i.kind = ?");
        args.push(SqlValue::Text(k.as_str().to_string()));
    }
    match filter.assignee {
        Some(Some(u)) => {
            sql.push_str(" AND i.assignee_id = ?");
            args.push(SqlValue::Integer(u.0));
        }
        Some(None) => sql.push_str(" AND i.assignee_id IS NULL"),
        None => {}
    }
    if let Some(p) = filter.parent {
        sql.push_str(" AND i.parent_id = ?");
        args.push(SqlValue::Integer(p.0));
    }
    match filter.sprint {
        Some(Some(sp)) => {
            sql.push_str(" AND i.sprint_id = ?");
            args.push(SqlValue::Integer(sp.0));
        }
        Some(None) => sql.push_str(" AND i.sprint_id IS NULL"),
        None => {}
    }
    match filter.release {
        Some(Some(r)) => {
            sql.push_str(" AND i.release_id = ?");
            args.push(SqlValue::Integer(r.0));
        }
        Some(None) => sql.push_str(" AND i.release_id IS NULL"),
        None => {}
    }
    if let Some(l) = &filter.label {
        sql.push_str(" AND i.id IN (SELECT item_id FROM item_labels WHERE product_id = ? AND label = ?)");
        args.push(SqlValue::Integer(product.0));
        args.push(SqlValue::Text(l.clone()));
    }
    match (&filter.q, hits) {
        (Some(_), Some(ids)) => {
            sql.push_str(" AND i.id IN (SELECT value FROM json_each(?))");
            args.push(SqlValue::Text(serde_json::to_string(&ids)?));
        }
        (Some(q), None) => {
            sql.push_str(
                " AND (i.id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)
                       OR i.id IN (SELECT s.item_id FROM search_pending s JOIN items si ON si.id = s.item_id
                                   WHERE keel_match(si.title, si.description, ?)))",
            );
            // `search_hits` saw words, or it would have answered `Some`.
            args.push(SqlValue::Text(fts_query(q).unwrap_or_default()));
            args.push(SqlValue::Text(q.clone()));
        }
        (None, _) => {}
    }
    Ok(Some(()))
}

/// What a link event records.
fn link_json(id: i64, kind: LinkKind, from_key: &str, to_key: &str) -> Value {
    json!({ "id": id, "kind": kind, "from": from_key, "to": to_key })
}

/// Product, key and title of an item.
fn item_brief(c: &Connection, id: ItemId) -> Res<(i64, String, String)> {
    Ok(c.prepare_cached(
        "SELECT i.product_id, p.key || '-' || i.number, i.title FROM items i JOIN products p ON p.id = i.product_id
         WHERE i.id = ?1",
    )?
    .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?)
}

/// Creates an item inside the caller's transaction (see [`ItemStore::create_item`]).
pub(crate) fn create_item_tx(
    tx: &Connection,
    ctx: &WriteCtx,
    product: ProductId,
    item: NewItem,
    position: &Position,
) -> Res<Item> {
    // Taking the number first holds it under the write lock: gapless, since a failure
    // below rolls the increment back with everything else.
    let (number, pkey): (i64, String) = tx
        .prepare_cached(
            "UPDATE products SET next_item_number = next_item_number + 1 WHERE id = ?1
                 RETURNING next_item_number, key",
        )?
        .query_row([product.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let parent_key = match item.parent_id {
        Some(pid) => {
            let parent = parent_item(tx, pid)?;
            check_parent(item.kind, product, &parent)?;
            Some(parent.key)
        }
        None => None,
    };
    check_assignee(tx, product, item.assignee_id)?;
    check_sprint(tx, item.sprint_id)?;
    check_release(tx, product, item.release_id)?;
    let (status_id, category) = match item.status_id {
        Some(s) => (s, state_category(tx, product, s)?),
        None => initial_state(tx, product)?,
    };
    let rank = rank_for(tx, product, position, None)?;
    let criteria = numbered_criteria(item.criteria)?;
    let id: i64 = tx
            .prepare_cached(
                "INSERT INTO items (product_id, number, kind, parent_id, title, description, as_a, i_want, so_that,
                    criteria, estimate, labels, assignee_id, status_id, category, rank, created_by, created_at,
                    updated_at, version, sprint_id, release_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18, 1, ?19, ?20)
                 RETURNING id",
            )?
            .query_row(
                params![
                    product.0,
                    number,
                    item.kind.as_str(),
                    item.parent_id.map(|p| p.0),
                    item.title,
                    item.description,
                    item.story.as_a,
                    item.story.i_want,
                    item.story.so_that,
                    serde_json::to_string(&criteria)?,
                    item.estimate.map(|e| e.value()),
                    serde_json::to_string(&item.labels)?,
                    item.assignee_id.map(|u| u.0),
                    status_id.0,
                    category.code(),
                    rank.as_str(),
                    ctx.actor.map(|u| u.0),
                    ctx.at.0,
                    item.sprint_id.map(|s| s.0),
                    item.release_id.map(|r| r.0),
                ],
                |r| r.get(0),
            )?;
    insert_labels(tx, id, product, &item.labels)?;
    let mut it = Item {
        id: ItemId(id),
        product_id: product,
        key: format!("{pkey}-{number}"),
        number,
        kind: item.kind,
        parent_id: item.parent_id,
        parent_key,
        title: item.title,
        description: item.description,
        story: item.story,
        criteria,
        estimate: item.estimate,
        labels: item.labels,
        assignee_id: item.assignee_id,
        status_id,
        category,
        rank,
        sprint_id: item.sprint_id,
        release_id: item.release_id,
        acceptance: Acceptance::default(),
        dod: vec![],
        dor: vec![],
        created_by: ctx.actor,
        created_at: ctx.at,
        updated_at: ctx.at,
        version: 1,
    };
    item_event(tx, ctx, &it, "created", &Value::Null, &serde_json::to_value(&it)?)?;
    if it.rank.is_long() {
        rebalance(tx, ctx, product)?;
        it = load_item(tx, it.id)?;
    }
    Ok(it)
}

/// Changes an item inside the caller's transaction (see [`ItemStore::update_item`]);
/// `expected_version: None` applies the patch to whatever version is current.
pub(crate) fn update_item_tx(
    tx: &Connection,
    ctx: &WriteCtx,
    id: ItemId,
    expected_version: Option<i64>,
    mut patch: ItemPatch,
) -> Res<Item> {
    let old = load_item(tx, id)?;
    if expected_version.is_some_and(|v| v != old.version) {
        return Err(StoreError::StaleVersion { current: old.version }.into());
    }
    if let Some(list) = patch.criteria.take() {
        patch.criteria = Some(numbered_criteria(list)?);
    }
    let (mut new, changes) = patch.apply(&old);
    if changes.is_empty() {
        return Ok(old);
    }
    let changed = |f: &str| changes.iter().any(|c| c.field == f);
    if changed("kind") || changed("parent") {
        if let Some(pid) = new.parent_id {
            let parent = parent_item(tx, pid)?;
            check_parent(new.kind, new.product_id, &parent)?;
            // Levels already forbid cycles between kinds; this walk keeps the guarantee
            // even for data written before a rule changed.
            let mut cur = Some(pid);
            let mut depth = 0;
            let mut up = tx.prepare_cached("SELECT parent_id FROM items WHERE id = ?1")?;
            while let Some(a) = cur {
                if a == id || depth > MAX_DEPTH {
                    return Err(invalid("parent", "would create a cycle"));
                }
                cur = up.query_row([a.0], |r| r.get::<_, Option<i64>>(0)).optional()?.flatten().map(ItemId);
                depth += 1;
            }
            new.parent_key = Some(parent.key);
        } else {
            new.parent_key = None;
        }
        if changed("kind") {
            let kinds = tx
                .prepare_cached("SELECT DISTINCT kind FROM items WHERE parent_id = ?1")?
                .query_map([id.0], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for k in kinds {
                let k = ItemKind::parse("kind", &k)?;
                if k.level() <= new.kind.level() {
                    return Err(invalid(
                        "kind",
                        format!(
                            "a {} cannot be the parent of its {} children",
                            new.kind.as_str(),
                            k.as_str()
                        ),
                    ));
                }
            }
        }
    }
    if changed("assignee") {
        check_assignee(tx, new.product_id, new.assignee_id)?;
    }
    if changed("sprint") {
        check_sprint(tx, new.sprint_id)?;
    }
    if changed("release") {
        check_release(tx, new.product_id, new.release_id)?;
    }
    if changed("status") {
        // The category comes from the workflow, whatever the caller resolved.
        new.category = state_category(tx, new.product_id, new.status_id)?;
    }
    if changed("labels") {
        tx.prepare_cached("DELETE FROM item_labels WHERE item_id = ?1")?.execute([id.0])?;
        insert_labels(tx, id.0, new.product_id, &new.labels)?;
    }
    new.version = old.version + 1;
    new.updated_at = ctx.at;
    tx.prepare_cached(
            "UPDATE items SET kind = ?2, parent_id = ?3, as_a = ?4, i_want = ?5, so_that = ?6, criteria = ?7,
                estimate = ?8, labels = ?9, assignee_id = ?10, status_id = ?11, category = ?12, updated_at = ?13,
                version = ?14, sprint_id = ?15, release_id = ?16, acceptance = ?17, acceptance_note = ?18, dod = ?19,
                dor = ?20 WHERE id = ?1",
        )?
        .execute(params![
            id.0,
            new.kind.as_str(),
            new.parent_id.map(|p| p.0),
            new.story.as_a,
            new.story.i_want,
            new.story.so_that,
            serde_json::to_string(&new.criteria)?,
            new.estimate.map(|e| e.value()),
            serde_json::to_string(&new.labels)?,
            new.assignee_id.map(|u| u.0),
            new.status_id.0,
            new.category.code(),
            new.updated_at.0,
            new.version,
            new.sprint_id.map(|s| s.0),
            new.release_id.map(|r| r.0),
            new.acceptance.state.as_str(),
            new.acceptance.note,
            serde_json::to_string(&new.dod)?,
            serde_json::to_string(&new.dor)?,
        ])?;
    // A separate statement for the text, so the full-text trigger (UPDATE OF title,
    // description) only reindexes when the text really changed.
    if changed("title") || changed("description") {
        tx.prepare_cached("UPDATE items SET title = ?2, description = ?3 WHERE id = ?1")?
            .execute(params![id.0, new.title, new.description])?;
    }
    for c in &changes {
        item_event(tx, ctx, &new, c.field, &c.old, &c.new)?;
    }
    Ok(new)
}

/// Moves an item inside the caller's transaction (see [`ItemStore::move_item`]).
pub(crate) fn move_item_tx(
    tx: &Connection,
    ctx: &WriteCtx,
    id: ItemId,
    expected_version: Option<i64>,
    position: &Position,
) -> Res<Item> {
    let mut item = load_item(tx, id)?;
    if expected_version.is_some_and(|v| v != item.version) {
        return Err(StoreError::StaleVersion { current: item.version }.into());
    }
    let key = rank_for(tx, item.product_id, position, Some(id))?;
    if key == item.rank {
        return Ok(item);
    }
    tx.prepare_cached("UPDATE items SET rank = ?2, version = version + 1, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id.0, key.as_str(), ctx.at.0])?;
    item_event(tx, ctx, &item, "rank", &json!({ "rank": item.rank }), &json!({ "rank": key }))?;
    item.rank = key;
    item.version += 1;
    item.updated_at = ctx.at;
    if item.rank.is_long() {
        rebalance(tx, ctx, item.product_id)?;
        item = load_item(tx, id)?;
    }
    Ok(item)
}

/// Links two items inside the caller's transaction (see [`ItemStore::add_link`]).
pub(crate) fn add_link_tx(
    tx: &Connection,
    ctx: &WriteCtx,
    from: ItemId,
    to: ItemId,
    kind: LinkKind,
) -> Res<ItemLink> {
    if from == to {
        return Err(invalid("to", "must be another item"));
    }
    let (fp, fkey, _) = item_brief(tx, from)?;
    let (tp, tkey, ttitle) = match item_brief(tx, to) {
        Err(Error(StoreError::NotFound)) => return Err(invalid("to", "does not exist")),
        r => r?,
    };
    if fp != tp {
        return Err(invalid("to", "must be an item of the same product"));
    }
    let id: i64 = tx
        .prepare_cached(
            "INSERT INTO item_links (product_id, from_id, to_id, kind) VALUES (?1, ?2, ?3, ?4) RETURNING id",
        )?
        .query_row(params![fp, from.0, to.0, kind.as_str()], |r| r.get(0))?;
    let j = link_json(id, kind, &fkey, &tkey);
    let product = Some(ProductId(fp));
    event(tx, ctx, product, (ObjectKind::Item, from.0), "links", &Value::Null, &j)?;
    event(tx, ctx, product, (ObjectKind::Item, to.0), "links", &Value::Null, &j)?;
    Ok(ItemLink {
        id: LinkId(id),
        kind,
        from_id: from,
        from_key: fkey,
        to_id: to,
        to_key: tkey,
        other_title: ttitle,
    })
}

#[async_trait]
impl ItemStore for SqliteStore {
    async fn create_item(
        &self,
        product: ProductId,
        item: NewItem,
        position: &Position,
        ctx: &WriteCtx,
    ) -> StoreResult<Item> {
        let (ctx, position) = (*ctx, position.clone());
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            create_item_tx(tx, &ctx, product, item, &position)
        })
        .await
    }

    async fn bulk_create_items(
        &self,
        product: ProductId,
        items: Vec<BulkItem>,
        ctx: &WriteCtx,
    ) -> StoreResult<u64> {
        let ctx = *ctx;
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            let n = items.len() as i64;
            let (first, pkey): (i64, String) = tx
                .prepare_cached(
                    "UPDATE products SET next_item_number = next_item_number + ?2 WHERE id = ?1
                     RETURNING next_item_number - ?2 + 1, key",
                )?
                .query_row([product.0, n], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let workflow = load_workflow(tx, product)?;
            let initial = workflow.initial().map(|s| (s.id, s.category)).ok_or(StoreError::NotFound)?;
            let members = tx
                .prepare_cached("SELECT user_id FROM memberships WHERE product_id = ?1")?
                .query_map([product.0], |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<HashSet<_>>>()?;
            let mut last: Option<RankKey> = tx
                .prepare_cached("SELECT rank FROM items WHERE product_id = ?1 ORDER BY rank DESC LIMIT 1")?
                .query_row([product.0], |r| r.get::<_, String>(0))
                .optional()?
                .map(RankKey::from_trusted);
            let mut parent_st = tx.prepare_cached("SELECT product_id, kind, number FROM items WHERE id = ?1")?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO items (product_id, number, kind, parent_id, title, description, as_a, i_want, so_that,
                    criteria, estimate, labels, assignee_id, status_id, category, rank, created_by, created_at,
                    updated_at, version, sprint_id, release_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
            )?;
            let mut label_st =
                tx.prepare_cached("INSERT OR IGNORE INTO item_labels (item_id, product_id, label) VALUES (?1, ?2, ?3)")?;
            let mut event_st = tx.prepare_cached(
                "INSERT INTO events (product_id, object, object_id, actor_id, at, field, old, new, proposal_id)
                 VALUES (?1, 'item', ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let proposal = ctx.proposal.map(|p| p.0);
            // A large page cache for the batch: its index entries (events by time, items by
            // status, labels) land all over trees far larger than the usual cache.
            tx.execute_batch(BULK_CACHE)?;
            let names = BULK_TRIGGERS.map(|n| format!("'{n}'")).join(",");
            let triggers = tx
                .prepare(&format!("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN ({names})"))?
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for (name, _) in &triggers {
                tx.execute_batch(&format!("DROP TRIGGER {name}"))?;
            }
            let mut histories = Vec::with_capacity(items.len());
            let mut first_id: Option<i64> = None;
            let mut first_event: Option<i64> = None;
            for (k, b) in items.into_iter().enumerate() {
                let at_k = |e: ValidationError| Error(StoreError::Invalid(e.within(&format!("items[{k}]"))));
                let it = b.item;
                let number = first + k as i64;
                let parent_key = match it.parent_id {
                    Some(pid) => {
                        let (pp, pk, pn): (i64, String, i64) = parent_st
                            .query_row([pid.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                            .optional()?
                            .ok_or_else(|| at_k(ValidationError::new("parent", "does not exist")))?;
                        let pkind = ItemKind::parse("parent", &pk).map_err(at_k)?;
                        if pp != product.0 {
                            return Err(at_k(ValidationError::new("parent", "must be an item of the same product")));
                        }
                        if pkind.level() >= it.kind.level() {
                            return Err(at_k(ValidationError::new(
                                "parent",
                                format!("a {} cannot be the parent of a {}", pkind.as_str(), it.kind.as_str()),
                            )));
                        }
                        Some(format!("{pkey}-{pn}"))
                    }
                    None => None,
                };
                if it.assignee_id.is_some_and(|u| !members.contains(&u.0)) {
                    return Err(at_k(ValidationError::new("assignee", "must be a member of the product")));
                }
                let (status_id, category) = match it.status_id {
                    Some(s) => match workflow.state(s) {
                        Some(st) => (s, st.category),
                        None => {
                            return Err(at_k(ValidationError::new("status", "is not a state of this product's workflow")))
                        }
                    },
                    None => initial,
                };
                let criteria = if it.criteria.iter().any(|c| c.id <= 0) {
                    number_criteria("criteria", it.criteria).map_err(at_k)?
                } else {
                    it.criteria
                };
                let rank = rank::between(last.as_ref(), None);
                let updated_at = b.history.last().map_or(b.created_at, |e| e.at);
                let version = 1 + b.history.len() as i64;
                insert.execute(params![
                    product.0,
                    number,
                    it.kind.as_str(),
                    it.parent_id.map(|p| p.0),
                    it.title,
                    it.description,
                    it.story.as_a,
                    it.story.i_want,
                    it.story.so_that,
                    serde_json::to_string(&criteria)?,
                    it.estimate.map(|e| e.value()),
                    serde_json::to_string(&it.labels)?,
                    it.assignee_id.map(|u| u.0),
                    status_id.0,
                    category.code(),
                    rank.as_str(),
                    b.created_by.map(|u| u.0),
                    b.created_at.0,
                    updated_at.0,
                    version,
                    it.sprint_id.map(|s| s.0),
                    it.release_id.map(|r| r.0),
                ])?;
                let id = tx.last_insert_rowid();
                first_id.get_or_insert(id);
                for l in &it.labels {
                    label_st.execute(params![id, product.0, l])?;
                }
                let item = Item {
                    id: ItemId(id),
                    product_id: product,
                    key: format!("{pkey}-{number}"),
                    number,
                    kind: it.kind,
                    parent_id: it.parent_id,
                    parent_key,
                    title: it.title,
                    description: it.description,
                    story: it.story,
                    criteria,
                    estimate: it.estimate,
                    labels: it.labels,
                    assignee_id: it.assignee_id,
                    status_id,
                    category,
                    rank,
                    sprint_id: it.sprint_id,
                    release_id: it.release_id,
                    acceptance: Acceptance::default(),
                    dod: vec![],
                    dor: vec![],
                    created_by: b.created_by,
                    created_at: b.created_at,
                    updated_at,
                    version,
                };
                event_st.execute(params![
                    product.0,
                    id,
                    b.created_by.map(|u| u.0),
                    b.created_at.0,
                    "created",
                    "null",
                    serde_json::to_string(&item)?,
                    proposal,
                ])?;
                first_event.get_or_insert_with(|| tx.last_insert_rowid());
                histories.push(bulk_item_history(&item, b.created_at, &b.history));
                for e in &b.history {
                    event_st.execute(params![
                        product.0,
                        id,
                        e.actor.map(|u| u.0),
                        e.at.0,
                        e.field,
                        e.old.to_string(),
                        e.new.to_string(),
                        proposal,
                    ])?;
                }
                last = Some(item.rank);
            }
            let (flows, sprints) = flow_rows(&histories, &workflow);
            let mut flow_st = tx.prepare_cached(
                "INSERT OR REPLACE INTO item_flow
                    (item_id, product_id, key, kind, created_at, started_at, done_at, deleted_at, wip_since)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for f in &flows {
                flow_st.execute(params![
                    f.item_id,
                    product.0,
                    f.key,
                    f.kind.as_str(),
                    f.created_at.0,
                    f.started_at.map(|t| t.0),
                    f.done_at.map(|t| t.0),
                    f.deleted_at.map(|t| t.0),
                    f.wip_since.map(|t| t.0),
                ])?;
            }
            let mut sprint_st =
                tx.prepare_cached("INSERT OR IGNORE INTO sprint_items (sprint_id, item_id) VALUES (?1, ?2)")?;
            for (sprint, item) in &sprints {
                sprint_st.execute([sprint, item])?;
            }
            if let Some(first_event) = first_event {
                // The outbox trigger's effect for the batch's events (migration 0010).
                tx.prepare_cached(
                    "WITH t AS (
                        SELECT id, at, CASE WHEN field = 'status' THEN 'item.moved'
                                            WHEN field IN ('created', 'deleted') THEN 'item.' || field
                                            ELSE 'item.updated' END AS type
                        FROM events WHERE id >= ?2 AND product_id = ?1)
                     INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, status, attempts,
                                                     next_attempt_at, retry_from, created_at)
                     SELECT w.id, t.id, t.type, 'pending', 0, t.at, t.at, t.at
                     FROM webhooks w JOIN t ON instr(w.events, ',' || t.type || ',') > 0
                     WHERE w.product_id = ?1 AND w.active = 1
                     ORDER BY t.id, w.id",
                )?
                .execute([product.0, first_event])?;
            }
            if let Some(first_id) = first_id {
                // Indexed after the commit (migration 0012): tokenizing real descriptions costs
                // more than writing everything else of an item.
                tx.prepare_cached(
                    "INSERT INTO search_pending (item_id)
                     SELECT id FROM items WHERE product_id = ?1 AND id >= ?2",
                )?
                .execute([product.0, first_id])?;
            }
            for (_, sql) in &triggers {
                tx.execute_batch(sql)?;
            }
            tx.execute_batch(WRITER_CACHE)?;
            Ok(n as u64)
        })
        .await
    }

    async fn item(&self, id: ItemId) -> StoreResult<Item> {
        self.read_blocking(move |c| load_item(c, id)).await
    }

    async fn labels_with_prefix(
        &self,
        product: ProductId,
        prefix: &str,
    ) -> StoreResult<Vec<(String, ItemId)>> {
        let prefix = prefix.to_string();
        // Labels compare byte-wise here: the prefix's range in the (product, label) index, up to
        // the prefix with its last character raised by one.
        let mut end: Vec<char> = prefix.chars().collect();
        let bump = end.pop().and_then(|c| char::from_u32(c as u32 + 1));
        let end = bump.map(|b| end.into_iter().chain([b]).collect::<String>());
        self.read_blocking(move |c| {
            let mut st = c.prepare_cached(
                "SELECT label, item_id FROM item_labels
                 WHERE product_id = ?1 AND label >= ?2 AND (?3 IS NULL OR label < ?3)
                   AND substr(label, 1, length(?2)) = ?2
                 ORDER BY label",
            )?;
            let rows =
                st.query_map(params![product.0, prefix, end], |r| Ok((r.get(0)?, ItemId(r.get(1)?))))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn item_by_number(&self, product: ProductId, number: i64) -> StoreResult<Item> {
        self.read_blocking(move |c| {
            Ok(c.prepare_cached(concat!(item_select!(), " WHERE i.product_id = ?1 AND i.number = ?2"))?
                .query_row([product.0, number], item_row)?)
        })
        .await
    }

    async fn update_item(
        &self,
        id: ItemId,
        expected_version: i64,
        patch: &ItemPatch,
        ctx: &WriteCtx,
    ) -> StoreResult<Item> {
        let (ctx, patch) = (*ctx, patch.clone());
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            update_item_tx(tx, &ctx, id, Some(expected_version), patch)
        })
        .await
    }

    async fn move_item_checked(
        &self,
        id: ItemId,
        expected_version: Option<i64>,
        position: &Position,
        ctx: &WriteCtx,
    ) -> StoreResult<Item> {
        let (ctx, position) = (*ctx, position.clone());
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            move_item_tx(tx, &ctx, id, expected_version, &position)
        })
        .await
    }

    async fn delete_item(&self, id: ItemId, ctx: &WriteCtx) -> StoreResult<()> {
        let ctx = *ctx;
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            let old = load_item(tx, id)?;
            let product = Some(old.product_id);
            let children = tx
                .prepare_cached("SELECT id FROM items WHERE parent_id = ?1")?
                .query_map([id.0], |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut orphan = tx.prepare_cached(
                "UPDATE items SET parent_id = NULL, version = version + 1, updated_at = ?2 WHERE id = ?1",
            )?;
            for child in children {
                orphan.execute([child, ctx.at.0])?;
                event(tx, &ctx, product, (ObjectKind::Item, child), "parent", &json!(id), &Value::Null)?;
            }
            let links = tx
                .prepare_cached(
                    "SELECT l.id, l.kind, l.from_id, l.to_id, p.key || '-' || f.number, p.key || '-' || t.number
                     FROM item_links l JOIN items f ON f.id = l.from_id JOIN items t ON t.id = l.to_id
                     JOIN products p ON p.id = l.product_id WHERE l.from_id = ?1 OR l.to_id = ?1",
                )?
                .query_map([id.0], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for (lid, kind, from, to, fk, tk) in links {
                let kind = LinkKind::parse("kind", &kind)?;
                let other = if from == id.0 { to } else { from };
                let old_link = link_json(lid, kind, &fk, &tk);
                event(tx, &ctx, product, (ObjectKind::Item, other), "links", &old_link, &Value::Null)?;
            }
            tx.prepare_cached("DELETE FROM item_links WHERE from_id = ?1 OR to_id = ?1")?.execute([id.0])?;
            tx.prepare_cached("DELETE FROM item_labels WHERE item_id = ?1")?.execute([id.0])?;
            tx.prepare_cached("DELETE FROM items WHERE id = ?1")?.execute([id.0])?;
            item_event(tx, &ctx, &old, "deleted", &serde_json::to_value(&old)?, &Value::Null)
        })
        .await
    }

    async fn list_items(
        &self,
        product: ProductId,
        filter: &ItemFilter,
        page: &Page,
    ) -> StoreResult<Vec<Item>> {
        let (filter, page) = (filter.clone(), page.clone());
        self.read_blocking(move |c| {
            let mut sql = String::with_capacity(1024);
            sql.push_str(item_select!());
            let mut args = Vec::with_capacity(8);
            if where_clause(c, product, &filter, &mut sql, &mut args)?.is_none() {
                return Ok(Vec::new());
            }
            if let Some(after) = page.after {
                sql.push_str(" AND i.rank > ?");
                args.push(SqlValue::Text(after));
            }
            sql.push_str(" ORDER BY i.rank LIMIT ?");
            args.push(SqlValue::Integer(i64::from(page.limit)));
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map(params_from_iter(args), item_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn count_items(&self, product: ProductId, filter: &ItemFilter) -> StoreResult<i64> {
        let filter = filter.clone();
        self.read_blocking(move |c| {
            let mut sql = String::with_capacity(512);
            sql.push_str("SELECT COUNT(*) FROM items i");
            let mut args = Vec::with_capacity(8);
            if where_clause(c, product, &filter, &mut sql, &mut args)?.is_none() {
                return Ok(0);
            }
            Ok(c.prepare_cached(&sql)?.query_row(params_from_iter(args), |r| r.get(0))?)
        })
        .await
    }

    async fn add_link(
        &self,
        from: ItemId,
        to: ItemId,
        kind: LinkKind,
        ctx: &WriteCtx,
    ) -> StoreResult<ItemLink> {
        let ctx = *ctx;
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            add_link_tx(tx, &ctx, from, to, kind)
        })
        .await
    }

    async fn remove_link(&self, item: ItemId, link: LinkId, ctx: &WriteCtx) -> StoreResult<()> {
        let ctx = *ctx;
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            let (product, kind, from, to, fk, tk): (i64, String, i64, i64, String, String) = tx
                .prepare_cached(
                    "SELECT l.product_id, l.kind, l.from_id, l.to_id, p.key || '-' || f.number, p.key || '-' || t.number
                     FROM item_links l JOIN items f ON f.id = l.from_id JOIN items t ON t.id = l.to_id
                     JOIN products p ON p.id = l.product_id
                     WHERE l.id = ?1 AND (l.from_id = ?2 OR l.to_id = ?2)",
                )?
                .query_row([link.0, item.0], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
                })?;
            let kind = LinkKind::parse("kind", &kind)?;
            tx.prepare_cached("DELETE FROM item_links WHERE id = ?1")?.execute([link.0])?;
            let j = link_json(link.0, kind, &fk, &tk);
            let product = Some(ProductId(product));
            event(tx, &ctx, product, (ObjectKind::Item, from), "links", &j, &Value::Null)?;
            event(tx, &ctx, product, (ObjectKind::Item, to), "links", &j, &Value::Null)?;
            Ok(())
        })
        .await
    }

    async fn links(&self, item: ItemId) -> StoreResult<Vec<ItemLink>> {
        self.read_blocking(move |c| {
            let mut st = c.prepare_cached(
                "SELECT l.id, l.kind, l.from_id, p.key || '-' || f.number, l.to_id, p.key || '-' || t.number,
                        CASE WHEN l.from_id = ?1 THEN t.title ELSE f.title END
                 FROM item_links l JOIN items f ON f.id = l.from_id JOIN items t ON t.id = l.to_id
                 JOIN products p ON p.id = l.product_id
                 WHERE l.from_id = ?1 OR l.to_id = ?1 ORDER BY l.id",
            )?;
            let rows = st.query_map([item.0], |r| {
                Ok(ItemLink {
                    id: LinkId(r.get(0)?),
                    kind: LinkKind::parse("kind", r.get_ref(1)?.as_str()?).map_err(|e| conv(1, e))?,
                    from_id: ItemId(r.get(2)?),
                    from_key: r.get(3)?,
                    to_id: ItemId(r.get(4)?),
                    to_key: r.get(5)?,
                    other_title: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn open_blockers(&self, items: &[ItemId]) -> StoreResult<Vec<(ItemId, Blocker)>> {
        let ids: Vec<i64> = items.iter().map(|i| i.0).collect();
        self.read_blocking(move |c| {
            let mut out = Vec::new();
            for chunk in ids.chunks(500) {
                let marks = vec!["?"; chunk.len()].join(",");
                let sql = format!(
                    "SELECT l.to_id, f.id, p.key || '-' || f.number, f.title
                     FROM item_links l JOIN items f ON f.id = l.from_id JOIN products p ON p.id = f.product_id
                     WHERE l.kind = 'blocks' AND f.category < 2 AND l.to_id IN ({marks}) ORDER BY l.id"
                );
                let mut st = c.prepare_cached(&sql)?;
                let rows = st.query_map(params_from_iter(chunk.iter()), |r| {
                    Ok((
                        ItemId(r.get(0)?),
                        Blocker { id: ItemId(r.get(1)?), key: r.get(2)?, title: r.get(3)? },
                    ))
                })?;
                for row in rows {
                    out.push(row?);
                }
            }
            Ok(out)
        })
        .await
    }
}
