//! The bulk path: many items with their past history appended in one transaction through
//! binary `COPY`, the fastest way rows enter PostgreSQL.
//!
//! Validation is done in a handful of set-wise queries (every parent, every assignee, the
//! workflow) before any row is written; ids come from the items' identity sequence in one
//! round trip so labels and events can name their items inside the same `COPY` streams.

use crate::db::{accept_proposal, all, col, exec, one, opt, DbResult};
use crate::items::{criteria_json, dedup_labels, labels_json, numbered};
use crate::products::load_workflow;
use crate::rows::{self, ITEM_SELECT};
use deadpool_postgres::{Object, Transaction};
use keel_domain::event::ObjectKind;
use keel_domain::item::{check_parent, Item};
use keel_domain::metrics::flow_rows;
use keel_domain::rank::{self, RankKey};
use keel_domain::{ItemId, ProductId};
use keel_store::{bulk_item_history, BulkItem, StoreError, StoreResult, WriteCtx};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::pin::pin;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

/// Column types of the items `COPY`, in its column order.
const ITEM_TYPES: &[Type] = &[
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::FLOAT8,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::INT4,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::INT8,
];

/// Streams rows into `COPY table (columns) FROM STDIN BINARY`.
async fn copy_rows<'a>(
    tx: &Transaction<'_>,
    sql: &str,
    types: &[Type],
    rows: impl Iterator<Item = Vec<&'a (dyn ToSql + Sync)>>,
) -> StoreResult<u64> {
    let sink = tx.copy_in(sql).await.db()?;
    let mut writer = pin!(BinaryCopyInWriter::new(sink, types));
    for row in rows {
        writer.as_mut().write(&row).await.db()?;
    }
    writer.finish().await.db()
}

/// Appends `items` at the bottom of `product`'s backlog with their history; see
/// [`keel_store::ItemStore::bulk_create_items`].
pub async fn create(
    c: &mut Object,
    product: ProductId,
    items: Vec<BulkItem>,
    ctx: &WriteCtx,
) -> StoreResult<u64> {
    let tx = c.transaction().await.db()?;
    let ev = accept_proposal(&tx, ctx).await?;
    let n = items.len() as i64;
    // Locks the product like any creation: numbers stay consecutive and the bottom stays put.
    let row = one(
        &tx,
        "UPDATE products SET next_item_number = next_item_number + $2 WHERE id = $1
         RETURNING next_item_number, key",
        &[&product.0, &n],
    )
    .await?;
    if items.is_empty() {
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        return Ok(0);
    }
    let first_number = col::<i64>(&row, 0)? - n + 1;
    let pkey: String = col(&row, 1)?;

    // Validation, set-wise.
    let wf = load_workflow(&tx, product).await?;
    let initial = wf.initial().ok_or_else(|| StoreError::invalid("status", "the product has no workflow"))?;
    let parent_ids: Vec<i64> = items
        .iter()
        .filter_map(|b| b.item.parent_id.map(|p| p.0))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let parents: HashMap<i64, Item> = if parent_ids.is_empty() {
        HashMap::new()
    } else {
        all(&tx, &format!("{ITEM_SELECT} WHERE i.id = ANY($1)"), &[&parent_ids])
            .await?
            .iter()
            .map(|r| rows::item(r).map(|i| (i.id.0, i)))
            .collect::<StoreResult<_>>()?
    };
    let assignees: Vec<i64> = items
        .iter()
        .filter_map(|b| b.item.assignee_id.map(|u| u.0))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if !assignees.is_empty() {
        let members = all(
            &tx,
            "SELECT user_id FROM memberships WHERE product_id = $1 AND user_id = ANY($2)",
            &[&product.0, &assignees],
        )
        .await?;
        if members.len() != assignees.len() {
            return Err(StoreError::invalid("assignee", "must be a member of the product"));
        }
    }

    let ids_rows = all(
        &tx,
        "SELECT nextval(pg_get_serial_sequence('items', 'id')) FROM generate_series(1, $1::bigint)",
        &[&n],
    )
    .await?;
    let mut ids = ids_rows.iter().map(|r| col::<i64>(r, 0)).collect::<StoreResult<Vec<_>>>()?;
    ids.sort_unstable();

    let bottom =
        opt(&tx, "SELECT rank FROM items WHERE product_id = $1 ORDER BY rank DESC LIMIT 1", &[&product.0])
            .await?;
    let mut last: Option<RankKey> = match bottom {
        Some(r) => Some(RankKey::from_trusted(col(&r, 0)?)),
        None => None,
    };

    // Each item is built and streamed at once, so the server indexes the rows already sent
    // while the next ones are encoded; what the later streams need is kept. Their text is
    // indexed after the commit (migration 0012): the items are listed for the indexer.
    tx.batch_execute("SET LOCAL keel.bulk_search = 'on'").await.db()?;
    exec(&tx, "INSERT INTO search_pending (item_id) SELECT unnest($1::bigint[])", &[&ids]).await?;
    let sink = tx
        .copy_in(
            "COPY items (id, product_id, number, kind, parent_id, title, description, as_a, i_want, so_that,
                 criteria, estimate, labels, assignee_id, status_id, category, rank, created_by, created_at,
                 updated_at, version, sprint_id, release_id)
             FROM STDIN BINARY",
        )
        .await
        .db()?;
    let mut writer = pin!(BinaryCopyInWriter::new(sink, ITEM_TYPES));
    let mut built: Vec<(Item, Vec<keel_store::BulkEvent>, String)> = Vec::with_capacity(items.len());
    for ((b, id), number) in items.into_iter().zip(ids).zip(first_number..) {
        let it = b.item;
        let parent_key = match it.parent_id {
            Some(p) => {
                let parent =
                    parents.get(&p.0).ok_or_else(|| StoreError::invalid("parent", "does not exist"))?;
                check_parent(it.kind, product, parent).map_err(StoreError::Invalid)?;
                Some(parent.key.clone())
            }
            None => None,
        };
        let state = match it.status_id {
            Some(s) => wf
                .state(s)
                .ok_or_else(|| StoreError::invalid("status", "is not a state of this product's workflow"))?,
            None => initial,
        };
        let key = rank::between(last.as_ref(), None);
        last = Some(key.clone());
        let updated_at = b.history.iter().map(|e| e.at).max().unwrap_or(b.created_at).max(b.created_at);
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
            criteria: numbered(it.criteria)?,
            estimate: it.estimate,
            labels: dedup_labels(&it.labels),
            assignee_id: it.assignee_id,
            status_id: state.id,
            category: state.category,
            rank: key,
            sprint_id: it.sprint_id,
            release_id: it.release_id,
            acceptance: keel_domain::item::Acceptance::default(),
            dod: vec![],
            dor: vec![],
            created_by: b.created_by,
            created_at: b.created_at,
            updated_at,
            version: 1 + b.history.len() as i64,
        };
        let (criteria, labels) = (criteria_json(&item.criteria)?, labels_json(&item.labels)?);
        let (sprint, release) = (item.sprint_id.map(|s| s.0), item.release_id.map(|r| r.0));
        let row: [&(dyn ToSql + Sync); 23] = [
            &item.id.0,
            &item.product_id.0,
            &item.number,
            &item.kind.as_str(),
            &item.parent_id.map(|p| p.0),
            &item.title,
            &item.description,
            &item.story.as_a,
            &item.story.i_want,
            &item.story.so_that,
            &criteria,
            &item.estimate.map(|e| e.value()),
            &labels,
            &item.assignee_id.map(|u| u.0),
            &item.status_id.0,
            &(item.category.code() as i32),
            &item.rank.as_str(),
            &item.created_by.map(|u| u.0),
            &item.created_at.0,
            &item.updated_at.0,
            &item.version,
            &sprint,
            &release,
        ];
        writer.as_mut().write(&row).await.db()?;
        let created = json!(item).to_string();
        built.push((item, b.history, created));
    }
    writer.finish().await.db()?;
    tx.batch_execute("SET LOCAL keel.bulk_search = 'off'").await.db()?;

    let mut labelled: Vec<[&(dyn ToSql + Sync); 3]> = Vec::new();
    for (i, _, _) in &built {
        for l in &i.labels {
            labelled.push([&i.id.0, &i.product_id.0, l]);
        }
    }
    copy_rows(
        &tx,
        "COPY item_labels (item_id, product_id, label) FROM STDIN BINARY",
        &[Type::INT8, Type::INT8, Type::TEXT],
        labelled.iter().map(|r| r.to_vec()),
    )
    .await?;

    // Events: each item's `created`, then its past changes in order.
    struct Ev<'a> {
        object_id: &'a i64,
        actor: Option<i64>,
        at: &'a i64,
        field: &'a str,
        old: String,
        new: String,
    }
    let null = "null".to_string();
    let mut evs: Vec<Ev<'_>> = Vec::with_capacity(built.len() * 2);
    for (i, history, created) in &built {
        evs.push(Ev {
            object_id: &i.id.0,
            actor: i.created_by.map(|u| u.0),
            at: &i.created_at.0,
            field: "created",
            old: null.clone(),
            new: created.clone(),
        });
        for h in history {
            evs.push(Ev {
                object_id: &i.id.0,
                actor: h.actor.map(|u| u.0),
                at: &h.at.0,
                field: &h.field,
                old: h.old.to_string(),
                new: h.new.to_string(),
            });
        }
    }
    // The flow rows, from the histories being written (what a rebuild computes); the flow
    // trigger stands aside for the events' COPY (migration 0011).
    let histories: Vec<_> = built.iter().map(|(i, h, _)| bulk_item_history(i, i.created_at, h)).collect();
    let (flows, sprints) = flow_rows(&histories, &wf);
    crate::db::lock_feed(&tx, product).await?;
    tx.batch_execute("SET LOCAL keel.bulk_flow = 'on'").await.db()?;
    let product_id = Some(product.0);
    let object = ObjectKind::Item.as_str();
    let proposal = ctx.proposal.map(|p| p.0);
    copy_rows(
        &tx,
        "COPY events (product_id, object, object_id, actor_id, at, field, old, new, proposal_id) FROM STDIN BINARY",
        &[Type::INT8, Type::TEXT, Type::INT8, Type::INT8, Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT, Type::INT8],
        evs.iter().map(|e| {
            vec![
                &product_id as &(dyn ToSql + Sync),
                &object,
                e.object_id,
                &e.actor,
                e.at,
                &e.field,
                &e.old,
                &e.new,
                &proposal,
            ]
        }),
    )
    .await?;
    tx.batch_execute("SET LOCAL keel.bulk_flow = 'off'").await.db()?;
    let kinds: Vec<&str> = flows.iter().map(|f| f.kind.as_str()).collect();
    let times: Vec<[Option<i64>; 4]> = flows
        .iter()
        .map(|f| {
            [
                f.started_at.map(|t| t.0),
                f.done_at.map(|t| t.0),
                f.deleted_at.map(|t| t.0),
                f.wip_since.map(|t| t.0),
            ]
        })
        .collect();
    copy_rows(
        &tx,
        "COPY item_flow (item_id, product_id, key, kind, created_at, started_at, done_at, deleted_at, wip_since)
         FROM STDIN BINARY",
        &[Type::INT8, Type::INT8, Type::TEXT, Type::TEXT, Type::INT8, Type::INT8, Type::INT8, Type::INT8, Type::INT8],
        flows.iter().zip(&kinds).zip(&times).map(|((f, k), t)| {
            vec![
                &f.item_id as &(dyn ToSql + Sync),
                &product.0,
                &f.key,
                k,
                &f.created_at.0,
                &t[0],
                &t[1],
                &t[2],
                &t[3],
            ]
        }),
    )
    .await?;
    copy_rows(
        &tx,
        "COPY sprint_items (sprint_id, item_id) FROM STDIN BINARY",
        &[Type::INT8, Type::INT8],
        sprints.iter().map(|(s, i)| vec![s as &(dyn ToSql + Sync), i]),
    )
    .await?;
    ev.write(&tx, ctx).await?;
    tx.commit().await.db()?;
    Ok(n as u64)
}
