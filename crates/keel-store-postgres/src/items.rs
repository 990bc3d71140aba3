//! Backlog items and their links: creation with gapless numbers, edits with version checks,
//! moves by fractional rank keys, deletion, filtered lists and full-text search.
//!
//! Every write that touches numbering or ranks locks the product row first, so concurrent
//! creations and moves in one product serialise there: numbers cannot repeat or skip, and two
//! moves cannot compute the same key from the same neighbours.

use crate::db::{accept_proposal, all, col, exec, one, opt, DbResult, Events, Param};
use crate::products::load_workflow;
use crate::rows::{self, ITEM_SELECT};
use crate::PgStore;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use keel_domain::event::ObjectKind;
use keel_domain::item::{
    check_parent, number_criteria, Acceptance, Criterion, Item, ItemKind, ItemLink, ItemPatch, LinkKind,
    NewItem,
};
use keel_domain::proposal::Position;
use keel_domain::rank::{self, RankKey};
use keel_domain::{ItemId, LinkId, ProductId, RecordId, UserId};
use keel_store::{Blocker, BulkItem, ItemFilter, ItemStore, Page, StoreError, StoreResult, WriteCtx};
use serde_json::{json, Value};

/// An item by id, read on `c`; `lock` takes its row lock for the rest of the transaction.
pub async fn load_item<C: GenericClient>(c: &C, id: ItemId, lock: bool) -> StoreResult<Option<Item>> {
    let sql = if lock {
        format!("{ITEM_SELECT} WHERE i.id = $1 FOR UPDATE OF i")
    } else {
        format!("{ITEM_SELECT} WHERE i.id = $1")
    };
    match opt(c, &sql, &[&id.0]).await? {
        Some(row) => Ok(Some(rows::item(&row)?)),
        None => Ok(None),
    }
}

/// The parent named for an item of `kind` in `product`, checked against the hierarchy.
pub async fn checked_parent<C: GenericClient>(
    c: &C,
    parent: ItemId,
    kind: ItemKind,
    product: ProductId,
) -> StoreResult<Item> {
    let p =
        load_item(c, parent, false).await?.ok_or_else(|| StoreError::invalid("parent", "does not exist"))?;
    check_parent(kind, product, &p).map_err(StoreError::Invalid)?;
    Ok(p)
}

/// Refuses an assignee who is not a member of the product.
pub async fn check_assignee<C: GenericClient>(c: &C, product: ProductId, user: UserId) -> StoreResult<()> {
    let m =
        opt(c, "SELECT 1 FROM memberships WHERE product_id = $1 AND user_id = $2", &[&product.0, &user.0])
            .await?;
    if m.is_none() {
        return Err(StoreError::invalid("assignee", "must be a member of the product"));
    }
    Ok(())
}

/// Labels without repeats, in their first order (the label table's key forbids repeats).
pub fn dedup_labels(labels: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(labels.len());
    for l in labels {
        if !out.contains(l) {
            out.push(l.clone());
        }
    }
    out
}

/// Criteria with ids assigned to those that came without one.
pub fn numbered(criteria: Vec<Criterion>) -> StoreResult<Vec<Criterion>> {
    if criteria.iter().any(|c| c.id <= 0) {
        number_criteria("criteria", criteria).map_err(StoreError::Invalid)
    } else {
        Ok(criteria)
    }
}

/// Criteria as stored: JSON text.
pub fn criteria_json(v: &[Criterion]) -> StoreResult<String> {
    serde_json::to_string(v).map_err(StoreError::other)
}

/// Labels as stored: JSON text.
pub fn labels_json(v: &[String]) -> StoreResult<String> {
    serde_json::to_string(v).map_err(StoreError::other)
}

async fn neighbour<C: GenericClient>(
    c: &C,
    product: ProductId,
    bound: Option<&str>,
    below: bool,
    exclude: i64,
) -> StoreResult<Option<RankKey>> {
    // Four fixed statements, so each one's plan is cached and walks the (product_id, rank) key.
    let row = match (bound, below) {
        (Some(b), true) => {
            opt(
                c,
                "SELECT rank FROM items WHERE product_id = $1 AND rank < $2 AND id <> $3 ORDER BY rank DESC LIMIT 1",
                &[&product.0, &b, &exclude],
            )
            .await?
        }
        (Some(b), false) => {
            opt(
                c,
                "SELECT rank FROM items WHERE product_id = $1 AND rank > $2 AND id <> $3 ORDER BY rank LIMIT 1",
                &[&product.0, &b, &exclude],
            )
            .await?
        }
        (None, true) => {
            opt(
                c,
                "SELECT rank FROM items WHERE product_id = $1 AND id <> $2 ORDER BY rank DESC LIMIT 1",
                &[&product.0, &exclude],
            )
            .await?
        }
        (None, false) => {
            opt(c, "SELECT rank FROM items WHERE product_id = $1 AND id <> $2 ORDER BY rank LIMIT 1", &[&product.0, &exclude])
                .await?
        }
    };
    match row {
        Some(r) => Ok(Some(RankKey::from_trusted(col(&r, 0)?))),
        None => Ok(None),
    }
}

/// The rank key for `position` in `product`, leaving out the item being moved (`moving`).
/// The caller holds the product row lock.
pub async fn rank_for<C: GenericClient>(
    c: &C,
    product: ProductId,
    position: &Position,
    moving: Option<ItemId>,
) -> StoreResult<RankKey> {
    let exclude = moving.map_or(0, |m| m.0);
    match position {
        Position::Top => Ok(rank::between(None, neighbour(c, product, None, false, exclude).await?.as_ref())),
        Position::Bottom => {
            Ok(rank::between(neighbour(c, product, None, true, exclude).await?.as_ref(), None))
        }
        Position::Before(x) | Position::After(x) => {
            let field = if matches!(position, Position::Before(_)) { "before" } else { "after" };
            if Some(*x) == moving {
                return Err(StoreError::invalid(field, "cannot be the item itself"));
            }
            let row = opt(c, "SELECT product_id, rank FROM items WHERE id = $1", &[&x.0]).await?;
            let Some(row) = row else { return Err(StoreError::invalid(field, "does not exist")) };
            if col::<i64>(&row, 0)? != product.0 {
                return Err(StoreError::invalid(field, "must be an item of the same product"));
            }
            let anchor = RankKey::from_trusted(col(&row, 1)?);
            if field == "before" {
                let prev = neighbour(c, product, Some(anchor.as_str()), true, exclude).await?;
                Ok(rank::between(prev.as_ref(), Some(&anchor)))
            } else {
                let next = neighbour(c, product, Some(anchor.as_str()), false, exclude).await?;
                Ok(rank::between(Some(&anchor), next.as_ref()))
            }
        }
    }
}

/// Rewrites every rank key of `product` evenly spaced, keeping the order, and records one
/// `rank_rebalanced` event. The caller holds the product row lock.
pub async fn rebalance<C: GenericClient>(c: &C, product: ProductId, events: &mut Events) -> StoreResult<()> {
    let rows = all(c, "SELECT id FROM items WHERE product_id = $1 ORDER BY rank", &[&product.0]).await?;
    let ids = rows.iter().map(|r| col::<i64>(r, 0)).collect::<StoreResult<Vec<_>>>()?;
    let keys: Vec<String> = rank::spread(ids.len()).into_iter().map(|k| k.as_str().to_string()).collect();
    // New keys may equal old keys of other items until every row is rewritten.
    c.batch_execute("SET CONSTRAINTS items_rank DEFERRED").await.db()?;
    exec(
        c,
        "UPDATE items SET rank = v.r FROM unnest($1::bigint[], $2::text[]) AS v(id, r) WHERE items.id = v.id",
        &[&ids, &keys],
    )
    .await?;
    c.batch_execute("SET CONSTRAINTS items_rank IMMEDIATE").await.db()?;
    events.push(
        Some(product),
        ObjectKind::Product,
        product.0,
        "rank_rebalanced",
        &Value::Null,
        &json!({ "items": ids.len() }),
    );
    Ok(())
}

/// Locks the product row (the serialisation point of numbering and ranking); NotFound if none.
async fn lock_product<C: GenericClient>(c: &C, product: ProductId) -> StoreResult<()> {
    one(c, "SELECT 1 FROM products WHERE id = $1 FOR UPDATE", &[&product.0]).await?;
    Ok(())
}

/// The words of a full-text query as a `to_tsquery` expression: letters and digits only, every
/// word required, the last one as a prefix. `None` when there is no word at all.
pub fn ts_query(q: &str) -> Option<String> {
    let words: Vec<String> =
        q.split(|ch: char| !ch.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    // PostgreSQL indexes no word longer than 2047 bytes (and refuses such a query word), so a
    // query holding one can match nothing.
    if words.is_empty() || words.iter().any(|w| w.len() > 2047) {
        return None;
    }
    Some(format!("{}:*", words.join(" & ")))
}

/// The WHERE clause and parameters of a filtered item query (items `i`, product is `$1`).
struct Filter {
    sql: String,
    ints: Vec<i64>,
    texts: Vec<String>,
    /// Parameter slots in order: `true` for the next of `texts`, `false` for the next of `ints`.
    order: Vec<bool>,
}

/// Whether any item waits for the search indexer: searches then also read those items' text,
/// and otherwise only the index.
async fn search_pending<C: GenericClient>(c: &C) -> StoreResult<bool> {
    Ok(opt(c, "SELECT 1 FROM search_pending LIMIT 1", &[]).await?.is_some())
}

impl Filter {
    /// Builds the conditions; `None` when the filter can match nothing (a query without words).
    /// `pending`: some items wait for the search indexer ([`search_pending`]).
    fn new(product: ProductId, f: &ItemFilter, pending: bool) -> Option<Filter> {
        let mut w = Filter {
            sql: "i.product_id = $1".into(),
            ints: vec![product.0],
            texts: Vec::new(),
            order: vec![false],
        };
        if let Some(s) = f.status {
            w.int("i.status_id = ", s.0);
        }
        if let Some(cat) = f.category {
            w.int("i.category::bigint = ", cat.code());
        }
        if f.open_only {
            // Exactly the predicate of the items_backlog partial index.
            w.sql.push_str(" AND i.category < 2");
        }
        if let Some(k) = f.kind {
            w.text("i.kind = ", k.as_str().to_string());
        }
        match f.assignee {
            Some(Some(u)) => w.int("i.assignee_id = ", u.0),
            Some(None) => w.sql.push_str(" AND i.assignee_id IS NULL"),
            None => {}
        }
        if let Some(l) = &f.label {
            w.text(
                "i.id IN (SELECT l.item_id FROM item_labels l WHERE l.product_id = $1 AND l.label = ",
                l.clone(),
            );
            w.sql.push(')');
        }
        if let Some(p) = f.parent {
            w.int("i.parent_id = ", p.0);
        }
        match f.sprint {
            Some(Some(sp)) => w.int("i.sprint_id = ", sp.0),
            Some(None) => w.sql.push_str(" AND i.sprint_id IS NULL"),
            None => {}
        }
        match f.release {
            Some(Some(r)) => w.int("i.release_id = ", r.0),
            Some(None) => w.sql.push_str(" AND i.release_id IS NULL"),
            None => {}
        }
        if let Some(q) = &f.q {
            let tsq = ts_query(q)?;
            w.text(
                "(i.id IN (SELECT s.item_id FROM item_search s WHERE s.search @@ to_tsquery('simple', ",
                tsq,
            );
            w.sql.push_str("))");
            if pending {
                // Items a bulk write left for the indexer have no vector yet: computed from their text.
                let n = w.order.len();
                w.sql.push_str(&format!(
                    " OR i.id IN (SELECT p.item_id FROM search_pending p JOIN items x ON x.id = p.item_id
                                  WHERE to_tsvector('simple', x.title || ' ' || x.description) @@ to_tsquery('simple', ${n}))"
                ));
            }
            w.sql.push(')');
        }
        Some(w)
    }

    fn next(&self) -> usize {
        self.order.len() + 1
    }

    fn int(&mut self, cond: &str, v: i64) {
        self.sql.push_str(&format!(" AND {cond}${}", self.next()));
        self.ints.push(v);
        self.order.push(false);
    }

    fn text(&mut self, cond: &str, v: String) {
        self.sql.push_str(&format!(" AND {cond}${}", self.next()));
        self.texts.push(v);
        self.order.push(true);
    }

    fn params(&self) -> Vec<Param<'_>> {
        let (mut i, mut t) = (self.ints.iter(), self.texts.iter());
        self.order
            .iter()
            .filter_map(
                |&is_text| if is_text { t.next().map(|v| v as Param) } else { i.next().map(|v| v as Param) },
            )
            .collect()
    }
}

fn link_json(id: i64, kind: LinkKind, from_key: &str, to_key: &str) -> Value {
    json!({ "id": id, "kind": kind, "from": from_key, "to": to_key })
}

/// Checks that an item may be put into `sprint`: a sprint record that is not closed.
pub(crate) async fn check_sprint<C: GenericClient>(c: &C, sprint: Option<RecordId>) -> StoreResult<()> {
    let Some(id) = sprint else { return Ok(()) };
    let row = opt(c, "SELECT state FROM records WHERE id = $1 AND kind = 'sprint'", &[&id.0]).await?;
    match row {
        None => Err(StoreError::invalid("sprint", "does not exist")),
        Some(r) if col::<&str>(&r, 0)? == "closed" => Err(StoreError::invalid("sprint", "is closed")),
        Some(_) => Ok(()),
    }
}

/// Checks that an item of `product` may ship in `release`: a release record of that product.
async fn check_release<C: GenericClient>(
    c: &C,
    product: ProductId,
    release: Option<RecordId>,
) -> StoreResult<()> {
    let Some(id) = release else { return Ok(()) };
    let row = opt(c, "SELECT product_id FROM records WHERE id = $1 AND kind = 'release'", &[&id.0]).await?;
    match row {
        None => Err(StoreError::invalid("release", "does not exist")),
        Some(r) if col::<Option<i64>>(&r, 0)? != Some(product.0) => {
            Err(StoreError::invalid("release", "must be a release of the same product"))
        }
        Some(_) => Ok(()),
    }
}

/// Creates an item inside the caller's transaction, adding its events to `ev` (see
/// [`ItemStore::create_item`]).
pub async fn create_item_tx<C: GenericClient>(
    tx: &C,
    ctx: &WriteCtx,
    ev: &mut Events,
    product: ProductId,
    item: NewItem,
    position: &Position,
) -> StoreResult<Item> {
    // The row lock on the product serialises numbering and ranking within the product.
    let row = one(
        tx,
        "UPDATE products SET next_item_number = next_item_number + 1 WHERE id = $1 RETURNING next_item_number, key",
        &[&product.0],
    )
    .await?;
    let number: i64 = col(&row, 0)?;
    let pkey: String = col(&row, 1)?;
    let parent = match item.parent_id {
        Some(p) => Some(checked_parent(tx, p, item.kind, product).await?),
        None => None,
    };
    if let Some(u) = item.assignee_id {
        check_assignee(tx, product, u).await?;
    }
    check_sprint(tx, item.sprint_id).await?;
    check_release(tx, product, item.release_id).await?;
    let wf = load_workflow(tx, product).await?;
    let state = match item.status_id {
        Some(s) => wf
            .state(s)
            .ok_or_else(|| StoreError::invalid("status", "is not a state of this product's workflow"))?,
        None => wf.initial().ok_or_else(|| StoreError::invalid("status", "the product has no workflow"))?,
    };
    let criteria = numbered(item.criteria)?;
    let labels = dedup_labels(&item.labels);
    let rank = rank_for(tx, product, position, None).await?;
    let mut created = Item {
        id: ItemId(0),
        product_id: product,
        key: format!("{pkey}-{number}"),
        number,
        kind: item.kind,
        parent_id: item.parent_id,
        parent_key: parent.map(|p| p.key),
        title: item.title,
        description: item.description,
        story: item.story,
        criteria,
        estimate: item.estimate,
        labels,
        assignee_id: item.assignee_id,
        status_id: state.id,
        category: state.category,
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
    let row = one(
        tx,
        "INSERT INTO items (product_id, number, kind, parent_id, title, description, as_a, i_want, so_that,
             criteria, estimate, labels, assignee_id, status_id, category, rank, created_by, created_at,
             updated_at, version, sprint_id, release_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, 1, $19, $20)
         RETURNING id",
        &[
            &product.0,
            &number,
            &created.kind.as_str(),
            &created.parent_id.map(|p| p.0),
            &created.title,
            &created.description,
            &created.story.as_a,
            &created.story.i_want,
            &created.story.so_that,
            &criteria_json(&created.criteria)?,
            &created.estimate.map(|e| e.value()),
            &labels_json(&created.labels)?,
            &created.assignee_id.map(|u| u.0),
            &created.status_id.0,
            &(created.category.code() as i32),
            &created.rank.as_str(),
            &ctx.actor.map(|u| u.0),
            &ctx.at.0,
            &created.sprint_id.map(|s| s.0),
            &created.release_id.map(|r| r.0),
        ],
    )
    .await?;
    created.id = ItemId(col(&row, 0)?);
    if !created.labels.is_empty() {
        exec(
            tx,
            "INSERT INTO item_labels (item_id, product_id, label) SELECT $1, $2, unnest($3::text[])",
            &[&created.id.0, &product.0, &created.labels],
        )
        .await?;
    }
    if created.rank.is_long() {
        rebalance(tx, product, ev).await?;
        let r = one(tx, "SELECT rank FROM items WHERE id = $1", &[&created.id.0]).await?;
        created.rank = RankKey::from_trusted(col(&r, 0)?);
    }
    ev.push(Some(product), ObjectKind::Item, created.id.0, "created", &Value::Null, &json!(created));
    Ok(created)
}

/// Changes an item inside the caller's transaction, adding its events to `ev` (see
/// [`ItemStore::update_item`]); `expected_version: None` takes whatever version is current.
pub async fn update_item_tx<C: GenericClient>(
    tx: &C,
    ctx: &WriteCtx,
    ev: &mut Events,
    id: ItemId,
    expected_version: Option<i64>,
    mut patch: ItemPatch,
) -> StoreResult<Item> {
    let old = load_item(tx, id, true).await?.ok_or(StoreError::NotFound)?;
    if expected_version.is_some_and(|v| v != old.version) {
        return Err(StoreError::StaleVersion { current: old.version });
    }
    // Normalise first, so the recorded changes hold what is stored.
    if let Some(cr) = patch.criteria.take() {
        patch.criteria = Some(numbered(cr)?);
    }
    if let Some(l) = patch.labels.take() {
        patch.labels = Some(dedup_labels(&l));
    }
    let (mut new, changes) = patch.apply(&old);
    if changes.is_empty() {
        return Ok(old);
    }
    let product = old.product_id;
    if new.kind != old.kind || new.parent_id != old.parent_id {
        if let Some(p) = new.parent_id {
            if p == id {
                return Err(StoreError::invalid("parent", "cannot be the item itself"));
            }
            let parent = checked_parent(tx, p, new.kind, product).await?;
            // Levels already forbid cycles in valid data; the walk guards against any that
            // slipped in, so a write can never close a loop.
            let cycle = opt(
                tx,
                "WITH RECURSIVE anc(id, parent_id) AS (
                     SELECT id, parent_id FROM items WHERE id = $1
                     UNION SELECT i.id, i.parent_id FROM items i JOIN anc ON i.id = anc.parent_id)
                 SELECT 1 FROM anc WHERE id = $2 LIMIT 1",
                &[&p.0, &id.0],
            )
            .await?;
            if cycle.is_some() {
                return Err(StoreError::invalid("parent", "would make the item its own ancestor"));
            }
            new.parent_key = Some(parent.key);
        } else {
            new.parent_key = None;
        }
        if new.kind != old.kind {
            let kids = all(tx, "SELECT kind FROM items WHERE parent_id = $1", &[&id.0]).await?;
            for k in &kids {
                let kind: &str = col(k, 0)?;
                let kind = ItemKind::parse("kind", kind).map_err(crate::db::corrupt)?;
                if kind.level() <= new.kind.level() {
                    return Err(StoreError::invalid(
                        "kind",
                        format!(
                            "a {} cannot be the parent of its {} children",
                            new.kind.as_str(),
                            kind.as_str()
                        ),
                    ));
                }
            }
        }
    }
    if new.assignee_id != old.assignee_id {
        if let Some(u) = new.assignee_id {
            check_assignee(tx, product, u).await?;
        }
    }
    if new.status_id != old.status_id {
        let st = opt(
            tx,
            "SELECT category FROM workflow_states WHERE id = $1 AND product_id = $2",
            &[&new.status_id.0, &product.0],
        )
        .await?;
        let Some(st) = st else {
            return Err(StoreError::invalid("status", "is not a state of this product's workflow"));
        };
        new.category = keel_domain::workflow::Category::from_code(i64::from(col::<i32>(&st, 0)?));
    }
    if new.sprint_id != old.sprint_id {
        check_sprint(tx, new.sprint_id).await?;
    }
    if new.release_id != old.release_id {
        check_release(tx, product, new.release_id).await?;
    }
    new.version = old.version + 1;
    new.updated_at = ctx.at;
    exec(
        tx,
        "UPDATE items SET kind = $2, parent_id = $3, title = $4, description = $5, as_a = $6, i_want = $7,
             so_that = $8, criteria = $9, estimate = $10, labels = $11, assignee_id = $12, status_id = $13,
             category = $14, updated_at = $15, version = $16, sprint_id = $17, release_id = $18,
             acceptance = $19, acceptance_note = $20, dod = $21, dor = $22
         WHERE id = $1",
        &[
            &id.0,
            &new.kind.as_str(),
            &new.parent_id.map(|p| p.0),
            &new.title,
            &new.description,
            &new.story.as_a,
            &new.story.i_want,
            &new.story.so_that,
            &criteria_json(&new.criteria)?,
            &new.estimate.map(|e| e.value()),
            &labels_json(&new.labels)?,
            &new.assignee_id.map(|u| u.0),
            &new.status_id.0,
            &(new.category.code() as i32),
            &ctx.at.0,
            &new.version,
            &new.sprint_id.map(|s| s.0),
            &new.release_id.map(|r| r.0),
            &new.acceptance.state.as_str(),
            &new.acceptance.note,
            &serde_json::to_string(&new.dod).map_err(StoreError::other)?,
            &serde_json::to_string(&new.dor).map_err(StoreError::other)?,
        ],
    )
    .await?;
    if new.labels != old.labels {
        exec(tx, "DELETE FROM item_labels WHERE item_id = $1", &[&id.0]).await?;
        if !new.labels.is_empty() {
            exec(
                tx,
                "INSERT INTO item_labels (item_id, product_id, label) SELECT $1, $2, unnest($3::text[])",
                &[&id.0, &product.0, &new.labels],
            )
            .await?;
        }
    }
    ev.changes(Some(product), ObjectKind::Item, id.0, &changes);
    Ok(new)
}

/// Moves an item inside the caller's transaction, adding its events to `ev` (see
/// [`ItemStore::move_item`]).
pub async fn move_item_tx<C: GenericClient>(
    tx: &C,
    ctx: &WriteCtx,
    ev: &mut Events,
    id: ItemId,
    expected_version: Option<i64>,
    position: &Position,
) -> StoreResult<Item> {
    let row = one(tx, "SELECT product_id FROM items WHERE id = $1", &[&id.0]).await?;
    let product = ProductId(col(&row, 0)?);
    // Product first, then item: the same lock order as creation, so no deadlock.
    lock_product(tx, product).await?;
    let mut item = load_item(tx, id, true).await?.ok_or(StoreError::NotFound)?;
    if expected_version.is_some_and(|v| v != item.version) {
        return Err(StoreError::StaleVersion { current: item.version });
    }
    let key = rank_for(tx, product, position, Some(id)).await?;
    let old_rank = item.rank.clone();
    exec(
        tx,
        "UPDATE items SET rank = $2, version = version + 1, updated_at = $3 WHERE id = $1",
        &[&id.0, &key.as_str(), &ctx.at.0],
    )
    .await?;
    item.version += 1;
    item.updated_at = ctx.at;
    item.rank = key;
    ev.push(
        Some(product),
        ObjectKind::Item,
        id.0,
        "rank",
        &json!({ "rank": old_rank }),
        &json!({ "rank": item.rank }),
    );
    if item.rank.is_long() {
        rebalance(tx, product, ev).await?;
        let r = one(tx, "SELECT rank FROM items WHERE id = $1", &[&id.0]).await?;
        item.rank = RankKey::from_trusted(col(&r, 0)?);
    }
    Ok(item)
}

/// Links two items inside the caller's transaction, adding its events to `ev` (see
/// [`ItemStore::add_link`]).
pub async fn add_link_tx<C: GenericClient>(
    tx: &C,
    ev: &mut Events,
    from: ItemId,
    to: ItemId,
    kind: LinkKind,
) -> StoreResult<ItemLink> {
    if from == to {
        return Err(StoreError::invalid("to", "cannot link an item to itself"));
    }
    let ends = all(
        tx,
        "SELECT i.id, i.product_id, p.key || '-' || i.number, i.title FROM items i
         JOIN products p ON p.id = i.product_id WHERE i.id = ANY($1)",
        &[&vec![from.0, to.0]],
    )
    .await?;
    let find = |id: ItemId| -> StoreResult<Option<(i64, String, String)>> {
        for r in &ends {
            if col::<i64>(r, 0)? == id.0 {
                return Ok(Some((col(r, 1)?, col(r, 2)?, col(r, 3)?)));
            }
        }
        Ok(None)
    };
    let (product, from_key, _) = find(from)?.ok_or(StoreError::NotFound)?;
    let (to_product, to_key, to_title) =
        find(to)?.ok_or_else(|| StoreError::invalid("to", "does not exist"))?;
    if product != to_product {
        return Err(StoreError::invalid("to", "must be an item of the same product"));
    }
    let row = one(
        tx,
        "INSERT INTO item_links (product_id, from_id, to_id, kind) VALUES ($1, $2, $3, $4) RETURNING id",
        &[&product, &from.0, &to.0, &kind.as_str()],
    )
    .await?;
    let id: i64 = col(&row, 0)?;
    let link = link_json(id, kind, &from_key, &to_key);
    ev.push(Some(ProductId(product)), ObjectKind::Item, from.0, "links", &Value::Null, &link);
    ev.push(Some(ProductId(product)), ObjectKind::Item, to.0, "links", &Value::Null, &link);
    Ok(ItemLink { id: LinkId(id), kind, from_id: from, from_key, to_id: to, to_key, other_title: to_title })
}

#[async_trait]
impl ItemStore for PgStore {
    async fn create_item(
        &self,
        product: ProductId,
        item: NewItem,
        position: &Position,
        ctx: &WriteCtx,
    ) -> StoreResult<Item> {
        let item = &item;
        crate::db::retrying(|| async move {
            let mut c = self.conn().await?;
            let tx = c.transaction().await.db()?;
            let mut ev = accept_proposal(&tx, ctx).await?;
            let created = create_item_tx(&tx, ctx, &mut ev, product, item.clone(), position).await?;
            ev.write(&tx, ctx).await?;
            tx.commit().await.db()?;
            Ok(created)
        })
        .await
    }

    async fn bulk_create_items(
        &self,
        product: ProductId,
        items: Vec<BulkItem>,
        ctx: &WriteCtx,
    ) -> StoreResult<u64> {
        let mut c = self.conn().await?;
        crate::bulk::create(&mut c, product, items, ctx).await
    }

    async fn item(&self, id: ItemId) -> StoreResult<Item> {
        let c = self.conn().await?;
        load_item(&c, id, false).await?.ok_or(StoreError::NotFound)
    }

    async fn labels_with_prefix(
        &self,
        product: ProductId,
        prefix: &str,
    ) -> StoreResult<Vec<(String, ItemId)>> {
        let c = self.conn().await?;
        // `starts_with`, not a range: under a linguistic collation a range would not be a prefix.
        let rows = all(
            &c,
            "SELECT label, item_id FROM item_labels WHERE product_id = $1 AND starts_with(label, $2) ORDER BY label",
            &[&product.0, &prefix],
        )
        .await?;
        rows.iter().map(|r| Ok((col(r, 0)?, ItemId(col(r, 1)?)))).collect()
    }

    async fn item_by_number(&self, product: ProductId, number: i64) -> StoreResult<Item> {
        let c = self.conn().await?;
        let row = one(
            &c,
            &format!("{ITEM_SELECT} WHERE i.product_id = $1 AND i.number = $2"),
            &[&product.0, &number],
        )
        .await?;
        rows::item(&row)
    }

    async fn update_item(
        &self,
        id: ItemId,
        expected_version: i64,
        patch: &ItemPatch,
        ctx: &WriteCtx,
    ) -> StoreResult<Item> {
        crate::db::retrying(|| async move {
            let mut c = self.conn().await?;
            let tx = c.transaction().await.db()?;
            let mut ev = accept_proposal(&tx, ctx).await?;
            let new = update_item_tx(&tx, ctx, &mut ev, id, Some(expected_version), patch.clone()).await?;
            ev.write(&tx, ctx).await?;
            tx.commit().await.db()?;
            Ok(new)
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
        crate::db::retrying(|| async move {
            let mut c = self.conn().await?;
            let tx = c.transaction().await.db()?;
            let mut ev = accept_proposal(&tx, ctx).await?;
            let item = move_item_tx(&tx, ctx, &mut ev, id, expected_version, position).await?;
            ev.write(&tx, ctx).await?;
            tx.commit().await.db()?;
            Ok(item)
        })
        .await
    }

    async fn delete_item(&self, id: ItemId, ctx: &WriteCtx) -> StoreResult<()> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        let mut ev = accept_proposal(&tx, ctx).await?;
        let item = load_item(&tx, id, true).await?.ok_or(StoreError::NotFound)?;
        let product = item.product_id;
        let kids = all(
            &tx,
            "UPDATE items SET parent_id = NULL, version = version + 1, updated_at = $2 WHERE parent_id = $1 RETURNING id",
            &[&id.0, &ctx.at.0],
        )
        .await?;
        for k in &kids {
            ev.push(Some(product), ObjectKind::Item, col(k, 0)?, "parent", &json!(id), &Value::Null);
        }
        // The links go with the item; the items at their other ends record losing them.
        let links = all(
            &tx,
            "DELETE FROM item_links l USING items f, items t, products p
             WHERE (l.from_id = $1 OR l.to_id = $1) AND f.id = l.from_id AND t.id = l.to_id AND p.id = l.product_id
             RETURNING l.id, l.kind, l.from_id, l.to_id, p.key || '-' || f.number, p.key || '-' || t.number",
            &[&id.0],
        )
        .await?;
        for l in &links {
            let kind = LinkKind::parse("kind", col(l, 1)?).map_err(crate::db::corrupt)?;
            let (from, to): (i64, i64) = (col(l, 2)?, col(l, 3)?);
            let other = if from == id.0 { to } else { from };
            let json = link_json(col(l, 0)?, kind, col(l, 4)?, col(l, 5)?);
            ev.push(Some(product), ObjectKind::Item, other, "links", &json, &Value::Null);
        }
        exec(&tx, "DELETE FROM item_labels WHERE item_id = $1", &[&id.0]).await?;
        exec(&tx, "DELETE FROM items WHERE id = $1", &[&id.0]).await?;
        // Off the search indexer's list, if a bulk write put it there (as SQLite's trigger does).
        exec(&tx, "DELETE FROM search_pending WHERE item_id = $1", &[&id.0]).await?;
        ev.push(Some(product), ObjectKind::Item, id.0, "deleted", &json!(item), &Value::Null);
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn list_items(
        &self,
        product: ProductId,
        filter: &ItemFilter,
        page: &Page,
    ) -> StoreResult<Vec<Item>> {
        let c = self.conn().await?;
        let pending = filter.q.is_some() && search_pending(&c).await?;
        let Some(mut w) = Filter::new(product, filter, pending) else { return Ok(Vec::new()) };
        if let Some(after) = &page.after {
            w.text("i.rank > ", after.clone());
        }
        let limit = i64::from(page.limit);
        let sql = format!("{ITEM_SELECT} WHERE {} ORDER BY i.rank LIMIT ${}", w.sql, w.next());
        let mut params = w.params();
        params.push(&limit);
        let rows = all(&c, &sql, &params).await?;
        rows.iter().map(rows::item).collect()
    }

    async fn count_items(&self, product: ProductId, filter: &ItemFilter) -> StoreResult<i64> {
        let c = self.conn().await?;
        let pending = filter.q.is_some() && search_pending(&c).await?;
        let Some(w) = Filter::new(product, filter, pending) else { return Ok(0) };
        let sql = format!("SELECT count(*) FROM items i WHERE {}", w.sql);
        let row = one(&c, &sql, &w.params()).await?;
        col(&row, 0)
    }

    async fn add_link(
        &self,
        from: ItemId,
        to: ItemId,
        kind: LinkKind,
        ctx: &WriteCtx,
    ) -> StoreResult<ItemLink> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        let mut ev = accept_proposal(&tx, ctx).await?;
        let link = add_link_tx(&tx, &mut ev, from, to, kind).await?;
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        Ok(link)
    }

    async fn remove_link(&self, item: ItemId, link: LinkId, ctx: &WriteCtx) -> StoreResult<()> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        let mut ev = accept_proposal(&tx, ctx).await?;
        let row = one(
            &tx,
            "DELETE FROM item_links l USING items f, items t, products p
             WHERE l.id = $1 AND ($2 IN (l.from_id, l.to_id))
               AND f.id = l.from_id AND t.id = l.to_id AND p.id = l.product_id
             RETURNING l.product_id, l.kind, l.from_id, l.to_id, p.key || '-' || f.number, p.key || '-' || t.number",
            &[&link.0, &item.0],
        )
        .await?;
        let product: i64 = col(&row, 0)?;
        let kind = LinkKind::parse("kind", col(&row, 1)?).map_err(crate::db::corrupt)?;
        let (from, to): (i64, i64) = (col(&row, 2)?, col(&row, 3)?);
        let json = link_json(link.0, kind, col(&row, 4)?, col(&row, 5)?);
        ev.push(Some(ProductId(product)), ObjectKind::Item, from, "links", &json, &Value::Null);
        ev.push(Some(ProductId(product)), ObjectKind::Item, to, "links", &json, &Value::Null);
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn links(&self, item: ItemId) -> StoreResult<Vec<ItemLink>> {
        let c = self.conn().await?;
        let rows = all(
            &c,
            "SELECT l.id, l.kind, l.from_id, p.key || '-' || f.number, l.to_id, p.key || '-' || t.number,
                    CASE WHEN l.from_id = $1 THEN t.title ELSE f.title END
             FROM item_links l JOIN items f ON f.id = l.from_id JOIN items t ON t.id = l.to_id
             JOIN products p ON p.id = l.product_id
             WHERE l.from_id = $1 OR l.to_id = $1 ORDER BY l.id",
            &[&item.0],
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ItemLink {
                    id: LinkId(col(r, 0)?),
                    kind: LinkKind::parse("kind", col(r, 1)?).map_err(crate::db::corrupt)?,
                    from_id: ItemId(col(r, 2)?),
                    from_key: col(r, 3)?,
                    to_id: ItemId(col(r, 4)?),
                    to_key: col(r, 5)?,
                    other_title: col(r, 6)?,
                })
            })
            .collect()
    }

    async fn open_blockers(&self, items: &[ItemId]) -> StoreResult<Vec<(ItemId, Blocker)>> {
        let ids: Vec<i64> = items.iter().map(|i| i.0).collect();
        let c = self.conn().await?;
        let rows = all(
            &c,
            "SELECT l.to_id, f.id, p.key || '-' || f.number, f.title
             FROM item_links l JOIN items f ON f.id = l.from_id JOIN products p ON p.id = f.product_id
             WHERE l.kind = 'blocks' AND f.category < 2 AND l.to_id = ANY($1) ORDER BY l.id",
            &[&ids],
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    ItemId(col(r, 0)?),
                    Blocker { id: ItemId(col(r, 1)?), key: col(r, 2)?, title: col(r, 3)? },
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::ts_query;

    #[test]
    fn query_words_are_sanitised() {
        assert_eq!(ts_query("Pay by card").as_deref(), Some("pay & by & card:*"));
        assert_eq!(ts_query("a&b|!c:*'(d)").as_deref(), Some("a & b & c & d:*"));
        assert_eq!(ts_query(" -- ;' "), None);
        assert_eq!(ts_query(&"x".repeat(3000)), None);
        assert_eq!(ts_query("Über 42").as_deref(), Some("über & 42:*"));
    }
}
