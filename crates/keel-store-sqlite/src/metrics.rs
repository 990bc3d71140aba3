//! The derived flow table and sprint memberships (migration 0005): reads, and the rebuild.

use crate::{event_cols, event_row, Res, SqliteStore};
use async_trait::async_trait;
use keel_domain::event::Event;
use keel_domain::ids::StateId;
use keel_domain::item::ItemKind;
use keel_domain::metrics::{FlowRow, WipRow};
use keel_domain::{ProductId, Timestamp};
use keel_store::{MetricsStore, StoreResult, METRIC_FIELDS};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Row};

/// Most ids bound in one `IN (…)` list.
const CHUNK: usize = 500;

const FLOW_COLS: &str = "item_id, key, kind, created_at, started_at, done_at, deleted_at, wip_since";

fn flow_row(r: &Row<'_>) -> rusqlite::Result<FlowRow> {
    let kind: String = r.get(2)?;
    Ok(FlowRow {
        item_id: r.get(0)?,
        key: r.get(1)?,
        kind: ItemKind::parse("kind", &kind).unwrap_or(ItemKind::Story),
        created_at: Timestamp(r.get(3)?),
        started_at: r.get::<_, Option<i64>>(4)?.map(Timestamp),
        done_at: r.get::<_, Option<i64>>(5)?.map(Timestamp),
        deleted_at: r.get::<_, Option<i64>>(6)?.map(Timestamp),
        wip_since: r.get::<_, Option<i64>>(7)?.map(Timestamp),
    })
}

#[async_trait]
impl MetricsStore for SqliteStore {
    async fn flow_rows(
        &self,
        product: ProductId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<FlowRow>> {
        self.read_blocking(move |c| {
            let sql = format!(
                "SELECT {FLOW_COLS} FROM item_flow WHERE product_id = ?1 AND done_at BETWEEN ?2 AND ?3
                 AND deleted_at IS NULL ORDER BY done_at, item_id"
            );
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map(params![product.0, from.0, to.0], flow_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn flow_rows_of(&self, items: &[i64]) -> StoreResult<Vec<FlowRow>> {
        let items = items.to_vec();
        self.read_blocking(move |c| {
            let mut out = Vec::new();
            for chunk in items.chunks(CHUNK) {
                let sql = format!(
                    "SELECT {FLOW_COLS} FROM item_flow WHERE item_id IN ({})",
                    vec!["?"; chunk.len()].join(",")
                );
                let mut st = c.prepare(&sql)?;
                let rows = st.query_map(params_from_iter(chunk.iter()), flow_row)?;
                out.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
            }
            out.sort_by_key(|r| r.item_id);
            Ok(out)
        })
        .await
    }

    async fn all_flow_rows(&self, product: ProductId) -> StoreResult<Vec<FlowRow>> {
        self.read_blocking(move |c| {
            let sql = format!("SELECT {FLOW_COLS} FROM item_flow WHERE product_id = ?1 ORDER BY item_id");
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map([product.0], flow_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn sprint_memberships(&self, product: ProductId) -> StoreResult<Vec<(i64, i64)>> {
        self.read_blocking(move |c| {
            let mut st = c.prepare_cached(
                "SELECT s.sprint_id, s.item_id FROM sprint_items s JOIN item_flow f ON f.item_id = s.item_id
                 WHERE f.product_id = ?1 ORDER BY s.sprint_id, s.item_id",
            )?;
            let rows = st.query_map([product.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn sprint_members(&self, sprints: &[i64]) -> StoreResult<Vec<i64>> {
        let sprints = sprints.to_vec();
        self.read_blocking(move |c| {
            let mut out = Vec::new();
            for chunk in sprints.chunks(CHUNK) {
                let sql = format!(
                    "SELECT DISTINCT item_id FROM sprint_items WHERE sprint_id IN ({})",
                    vec!["?"; chunk.len()].join(",")
                );
                let mut st = c.prepare(&sql)?;
                let rows = st.query_map(params_from_iter(chunk.iter()), |r| r.get::<_, i64>(0))?;
                out.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
            }
            out.sort_unstable();
            out.dedup();
            Ok(out)
        })
        .await
    }

    async fn item_events(&self, items: &[i64]) -> StoreResult<Vec<Event>> {
        let items = items.to_vec();
        self.read_blocking(move |c| {
            let mut out = Vec::new();
            for chunk in items.chunks(CHUNK) {
                let sql = format!(
                    "SELECT {} FROM events INDEXED BY events_object WHERE object = 'item' AND object_id IN ({})
                     AND field IN ({})",
                    event_cols!(),
                    vec!["?"; chunk.len()].join(","),
                    vec!["?"; METRIC_FIELDS.len()].join(",")
                );
                let args = chunk
                    .iter()
                    .map(|i| SqlValue::Integer(*i))
                    .chain(METRIC_FIELDS.iter().map(|f| SqlValue::Text(f.to_string())));
                let mut st = c.prepare(&sql)?;
                let rows = st.query_map(params_from_iter(args), event_row)?;
                out.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
            }
            out.sort_by_key(|e| e.id);
            Ok(out)
        })
        .await
    }

    async fn replace_flow(
        &self,
        product: ProductId,
        rows: &[FlowRow],
        members: &[(i64, i64)],
        seen: i64,
    ) -> StoreResult<bool> {
        let rows = rows.to_vec();
        let members = members.to_vec();
        // One writer at a time: anything committed after `seen` shows here, anything later
        // applies on top of the new rows.
        self.write(move |tx| -> Res<bool> {
            let newest: i64 = tx
                .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM events WHERE product_id = ?1")?
                .query_row([product.0], |r| r.get(0))?;
            if newest > seen {
                return Ok(false);
            }
            tx.prepare_cached(
                "DELETE FROM sprint_items WHERE item_id IN (SELECT item_id FROM item_flow WHERE product_id = ?1)",
            )?
            .execute([product.0])?;
            tx.prepare_cached("DELETE FROM item_flow WHERE product_id = ?1")?.execute([product.0])?;
            let mut ins = tx.prepare_cached(
                "INSERT INTO item_flow (item_id, product_id, key, kind, created_at, started_at, done_at, deleted_at, wip_since)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for r in &rows {
                ins.execute(params![
                    r.item_id,
                    product.0,
                    r.key,
                    r.kind.as_str(),
                    r.created_at.0,
                    r.started_at.map(|t| t.0),
                    r.done_at.map(|t| t.0),
                    r.deleted_at.map(|t| t.0),
                    r.wip_since.map(|t| t.0),
                ])?;
            }
            let mut ins = tx.prepare_cached("INSERT OR IGNORE INTO sprint_items (sprint_id, item_id) VALUES (?1, ?2)")?;
            for (s, i) in &members {
                ins.execute([s, i])?;
            }
            tx.prepare_cached("DELETE FROM flow_rebuilds WHERE product_id = ?1")?.execute([product.0])?;
            Ok(true)
        })
        .await
    }

    async fn product_item_events(
        &self,
        product: ProductId,
        fields: &[&str],
        since: Timestamp,
    ) -> StoreResult<Vec<Event>> {
        let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        self.read_blocking(move |c| {
            // The (product, field, time) index reads only the fields asked for; a created item's
            // text stays in the database.
            let sql = format!(
                "SELECT id, product_id, object, object_id, actor_id, at, field, old,
                        CASE WHEN field = 'created' THEN json_object(
                            'key', json_extract(new, '$.key'), 'kind', json_extract(new, '$.kind'),
                            'status_id', json_extract(new, '$.status_id'),
                            'sprint_id', json_extract(new, '$.sprint_id'),
                            'release_id', json_extract(new, '$.release_id'),
                            'estimate', json_extract(new, '$.estimate')) ELSE new END,
                        proposal_id
                 FROM events INDEXED BY events_product_field
                 WHERE product_id = ? AND field IN ({}) AND at >= ? AND object = 'item' ORDER BY id",
                vec!["?"; fields.len()].join(",")
            );
            let args = std::iter::once(SqlValue::Integer(product.0))
                .chain(fields.into_iter().map(SqlValue::Text))
                .chain(std::iter::once(SqlValue::Integer(since.0)));
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map(params_from_iter(args), event_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn release_candidates(&self, product: ProductId, release: i64) -> StoreResult<Vec<i64>> {
        self.read_blocking(move |c| {
            let mut st = c.prepare_cached(
                "SELECT id FROM items WHERE release_id = ?1 AND product_id = ?2
                 UNION SELECT object_id FROM events INDEXED BY events_product_field
                   WHERE product_id = ?2 AND field = 'release' AND object = 'item' AND (new = ?3 OR old = ?3)
                 UNION SELECT item_id FROM item_flow WHERE product_id = ?2 AND deleted_at IS NOT NULL
                 ORDER BY 1",
            )?;
            let rows =
                st.query_map(params![release, product.0, release.to_string()], |r| r.get::<_, i64>(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn state_counts(
        &self,
        product: ProductId,
        kind: Option<ItemKind>,
    ) -> StoreResult<Vec<(i64, usize)>> {
        self.read_blocking(move |c| {
            // Index-only counts: (product, status) or (product, kind, status).
            let rows = match kind {
                None => {
                    let mut st = c.prepare_cached(
                        "SELECT status_id, COUNT(*) FROM items INDEXED BY items_status WHERE product_id = ?1
                         GROUP BY status_id ORDER BY status_id",
                    )?;
                    let rows =
                        st.query_map([product.0], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))?;
                    rows.collect::<rusqlite::Result<Vec<_>>>()?
                }
                Some(k) => {
                    let mut st = c.prepare_cached(
                        "SELECT status_id, COUNT(*) FROM items INDEXED BY items_kind_status
                         WHERE product_id = ?1 AND kind = ?2 GROUP BY status_id ORDER BY status_id",
                    )?;
                    let rows = st.query_map(params![product.0, k.as_str()], |r| {
                        Ok((r.get(0)?, r.get::<_, i64>(1)? as usize))
                    })?;
                    rows.collect::<rusqlite::Result<Vec<_>>>()?
                }
            };
            Ok(rows)
        })
        .await
    }

    async fn items_now(&self, items: &[i64]) -> StoreResult<Vec<(i64, String, i64)>> {
        let items = items.to_vec();
        self.read_blocking(move |c| {
            let mut out = Vec::new();
            for chunk in items.chunks(CHUNK) {
                let sql = format!(
                    "SELECT id, kind, status_id FROM items WHERE id IN ({})",
                    vec!["?"; chunk.len()].join(",")
                );
                let mut st = c.prepare(&sql)?;
                let rows =
                    st.query_map(params_from_iter(chunk.iter()), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                out.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
            }
            out.sort_by_key(|r: &(i64, String, i64)| r.0);
            Ok(out)
        })
        .await
    }

    async fn wip_cuts(&self, product: ProductId, cuts: &[Timestamp]) -> StoreResult<Vec<usize>> {
        let cuts = cuts.to_vec();
        self.read_blocking(move |c| {
            let mut st = c.prepare_cached(
                "SELECT COUNT(*) FROM item_flow INDEXED BY item_flow_wip
                 WHERE product_id = ?1 AND wip_since IS NOT NULL AND wip_since <= ?2",
            )?;
            let mut out = Vec::with_capacity(cuts.len());
            for t in cuts {
                out.push(st.query_row(params![product.0, t.0], |r| r.get::<_, i64>(0))? as usize);
            }
            Ok(out)
        })
        .await
    }

    async fn wip_page(&self, product: ProductId, limit: usize, offset: usize) -> StoreResult<Vec<WipRow>> {
        self.read_blocking(move |c| {
            let mut st = c.prepare_cached(
                "SELECT f.item_id, f.key, f.kind, i.status_id, f.wip_since
                 FROM item_flow f INDEXED BY item_flow_wip JOIN items i ON i.id = f.item_id
                 WHERE f.product_id = ?1 AND f.wip_since IS NOT NULL
                 ORDER BY f.wip_since, f.key LIMIT ?2 OFFSET ?3",
            )?;
            let rows = st.query_map(params![product.0, limit as i64, offset as i64], |r| {
                let kind: String = r.get(2)?;
                Ok(WipRow {
                    item_id: r.get(0)?,
                    key: r.get(1)?,
                    kind: ItemKind::parse("kind", &kind).unwrap_or(ItemKind::Story),
                    state: StateId(r.get(3)?),
                    since: Timestamp(r.get(4)?),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn items_in_states(&self, product: ProductId, states: &[i64]) -> StoreResult<Vec<i64>> {
        let states = states.to_vec();
        self.read_blocking(move |c| {
            let mut st = c.prepare_cached(
                "SELECT id FROM items WHERE product_id = ?1 AND status_id = ?2 ORDER BY id",
            )?;
            let mut out = Vec::new();
            for s in states {
                let rows = st.query_map([product.0, s], |r| r.get::<_, i64>(0))?;
                out.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
            }
            out.sort_unstable();
            Ok(out)
        })
        .await
    }

    async fn flow_watermark(&self, product: ProductId) -> StoreResult<i64> {
        self.read_blocking(move |c| {
            Ok(c.prepare_cached("SELECT COALESCE(MAX(id), 0) FROM events WHERE product_id = ?1")?
                .query_row([product.0], |r| r.get(0))?)
        })
        .await
    }

    async fn pending_flow_rebuilds(&self) -> StoreResult<Vec<ProductId>> {
        self.read_blocking(move |c| {
            let mut st = c.prepare_cached("SELECT product_id FROM flow_rebuilds ORDER BY product_id")?;
            let rows = st.query_map([], |r| Ok(ProductId(r.get(0)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn request_flow_rebuild(&self, product: ProductId, reason: &str) -> StoreResult<()> {
        let reason = reason.to_string();
        self.write(move |tx| -> Res<()> {
            tx.prepare_cached("INSERT OR IGNORE INTO flow_rebuilds (product_id, reason) VALUES (?1, ?2)")?
                .execute(params![product.0, reason])?;
            Ok(())
        })
        .await
    }
}
