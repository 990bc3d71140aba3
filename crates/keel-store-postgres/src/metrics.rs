//! The derived flow table and sprint memberships (migration 0005): reads, and the rebuild.

use crate::db::{all, col, exec, one, DbResult};
use crate::rows::{self, EVENT_COLS};
use crate::PgStore;
use async_trait::async_trait;
use keel_domain::event::Event;
use keel_domain::ids::StateId;
use keel_domain::item::ItemKind;
use keel_domain::metrics::{FlowRow, WipRow};
use keel_domain::{ProductId, Timestamp};
use keel_store::{MetricsStore, StoreResult, METRIC_FIELDS};
use tokio_postgres::Row;

const FLOW_COLS: &str = "item_id, key, kind, created_at, started_at, done_at, deleted_at, wip_since";

fn flow_row(r: &Row) -> StoreResult<FlowRow> {
    let kind: &str = col(r, 2)?;
    Ok(FlowRow {
        item_id: col(r, 0)?,
        key: col(r, 1)?,
        kind: ItemKind::parse("kind", kind).unwrap_or(ItemKind::Story),
        created_at: Timestamp(col(r, 3)?),
        started_at: col::<Option<i64>>(r, 4)?.map(Timestamp),
        done_at: col::<Option<i64>>(r, 5)?.map(Timestamp),
        deleted_at: col::<Option<i64>>(r, 6)?.map(Timestamp),
        wip_since: col::<Option<i64>>(r, 7)?.map(Timestamp),
    })
}

#[async_trait]
impl MetricsStore for PgStore {
    async fn flow_rows(
        &self,
        product: ProductId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<FlowRow>> {
        let c = self.conn().await?;
        let sql = format!(
            "SELECT {FLOW_COLS} FROM item_flow WHERE product_id = $1 AND done_at BETWEEN $2 AND $3
             AND deleted_at IS NULL ORDER BY done_at, item_id"
        );
        all(&c, &sql, &[&product.0, &from.0, &to.0]).await?.iter().map(flow_row).collect()
    }

    async fn flow_rows_of(&self, items: &[i64]) -> StoreResult<Vec<FlowRow>> {
        let c = self.conn().await?;
        let items = items.to_vec();
        let sql = format!("SELECT {FLOW_COLS} FROM item_flow WHERE item_id = ANY($1) ORDER BY item_id");
        all(&c, &sql, &[&items]).await?.iter().map(flow_row).collect()
    }

    async fn all_flow_rows(&self, product: ProductId) -> StoreResult<Vec<FlowRow>> {
        let c = self.conn().await?;
        let sql = format!("SELECT {FLOW_COLS} FROM item_flow WHERE product_id = $1 ORDER BY item_id");
        all(&c, &sql, &[&product.0]).await?.iter().map(flow_row).collect()
    }

    async fn sprint_memberships(&self, product: ProductId) -> StoreResult<Vec<(i64, i64)>> {
        let c = self.conn().await?;
        let rows = all(
            &c,
            "SELECT s.sprint_id, s.item_id FROM sprint_items s JOIN item_flow f ON f.item_id = s.item_id
             WHERE f.product_id = $1 ORDER BY s.sprint_id, s.item_id",
            &[&product.0],
        )
        .await?;
        rows.iter().map(|r| Ok((col(r, 0)?, col(r, 1)?))).collect()
    }

    async fn sprint_members(&self, sprints: &[i64]) -> StoreResult<Vec<i64>> {
        let c = self.conn().await?;
        let sprints = sprints.to_vec();
        let rows = all(
            &c,
            "SELECT DISTINCT item_id FROM sprint_items WHERE sprint_id = ANY($1) ORDER BY item_id",
            &[&sprints],
        )
        .await?;
        rows.iter().map(|r| col(r, 0)).collect()
    }

    async fn item_events(&self, items: &[i64]) -> StoreResult<Vec<Event>> {
        let c = self.conn().await?;
        let items = items.to_vec();
        let fields: Vec<&str> = METRIC_FIELDS.to_vec();
        let sql = format!(
            "SELECT {EVENT_COLS} FROM events WHERE object = 'item' AND object_id = ANY($1) AND field = ANY($2)
             ORDER BY id"
        );
        all(&c, &sql, &[&items, &fields]).await?.iter().map(rows::event).collect()
    }

    async fn replace_flow(
        &self,
        product: ProductId,
        rows: &[FlowRow],
        members: &[(i64, i64)],
        seen: i64,
    ) -> StoreResult<bool> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        // Writers of item events touch these tables from their triggers: the lock waits for
        // those in flight (whose events the check below then sees) and holds back the next ones
        // until the new rows are in, so they apply on top of them.
        tx.batch_execute("LOCK TABLE item_flow, sprint_items IN SHARE ROW EXCLUSIVE MODE").await.db()?;
        let newest: i64 = col(
            &one(&tx, "SELECT COALESCE(MAX(id), 0) FROM events WHERE product_id = $1", &[&product.0]).await?,
            0,
        )?;
        if newest > seen {
            tx.rollback().await.db()?;
            return Ok(false);
        }
        exec(
            &tx,
            "DELETE FROM sprint_items WHERE item_id IN (SELECT item_id FROM item_flow WHERE product_id = $1)",
            &[&product.0],
        )
        .await?;
        exec(&tx, "DELETE FROM item_flow WHERE product_id = $1", &[&product.0]).await?;
        // Column arrays, one statement for all the rows.
        let ids: Vec<i64> = rows.iter().map(|r| r.item_id).collect();
        let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
        let created: Vec<i64> = rows.iter().map(|r| r.created_at.0).collect();
        let started: Vec<Option<i64>> = rows.iter().map(|r| r.started_at.map(|t| t.0)).collect();
        let done: Vec<Option<i64>> = rows.iter().map(|r| r.done_at.map(|t| t.0)).collect();
        let deleted: Vec<Option<i64>> = rows.iter().map(|r| r.deleted_at.map(|t| t.0)).collect();
        let wip: Vec<Option<i64>> = rows.iter().map(|r| r.wip_since.map(|t| t.0)).collect();
        exec(
            &tx,
            "INSERT INTO item_flow (item_id, product_id, key, kind, created_at, started_at, done_at, deleted_at, wip_since)
             SELECT i, $1, k, kd, c, s, d, x, w
             FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[],
                         $9::bigint[])
                  AS r(i, k, kd, c, s, d, x, w)",
            &[&product.0, &ids, &keys, &kinds, &created, &started, &done, &deleted, &wip],
        )
        .await?;
        let sprint: Vec<i64> = members.iter().map(|m| m.0).collect();
        let item: Vec<i64> = members.iter().map(|m| m.1).collect();
        exec(
            &tx,
            "INSERT INTO sprint_items (sprint_id, item_id) SELECT s, i FROM unnest($1::bigint[], $2::bigint[]) AS m(s, i)
             ON CONFLICT DO NOTHING",
            &[&sprint, &item],
        )
        .await?;
        exec(&tx, "DELETE FROM flow_rebuilds WHERE product_id = $1", &[&product.0]).await?;
        tx.commit().await.db()?;
        Ok(true)
    }

    async fn product_item_events(
        &self,
        product: ProductId,
        fields: &[&str],
        since: Timestamp,
    ) -> StoreResult<Vec<Event>> {
        let c = self.conn().await?;
        let fields: Vec<&str> = fields.to_vec();
        // A created item's text stays in the database.
        let sql = "SELECT id, product_id, object, object_id, actor_id, at, field, old,
                    CASE WHEN field = 'created' THEN (SELECT jsonb_build_object(
                        'key', d -> 'key', 'kind', d -> 'kind', 'status_id', d -> 'status_id',
                        'sprint_id', d -> 'sprint_id', 'release_id', d -> 'release_id',
                        'estimate', d -> 'estimate')::text FROM (SELECT new::jsonb AS d) j) ELSE new END,
                    proposal_id
             FROM events WHERE product_id = $1 AND field = ANY($2) AND at >= $3 AND object = 'item'
             ORDER BY id";
        all(&c, sql, &[&product.0, &fields, &since.0]).await?.iter().map(rows::event).collect()
    }

    async fn release_candidates(&self, product: ProductId, release: i64) -> StoreResult<Vec<i64>> {
        let c = self.conn().await?;
        let text = release.to_string();
        let rows = all(
            &c,
            "SELECT id FROM items WHERE release_id = $1 AND product_id = $2
             UNION SELECT object_id FROM events
               WHERE product_id = $2 AND field = 'release' AND object = 'item' AND (new = $3 OR old = $3)
             UNION SELECT item_id FROM item_flow WHERE product_id = $2 AND deleted_at IS NOT NULL
             ORDER BY 1",
            &[&release, &product.0, &text],
        )
        .await?;
        rows.iter().map(|r| col(r, 0)).collect()
    }

    async fn state_counts(
        &self,
        product: ProductId,
        kind: Option<ItemKind>,
    ) -> StoreResult<Vec<(i64, usize)>> {
        let c = self.conn().await?;
        let rows = match kind {
            None => {
                all(
                    &c,
                    "SELECT status_id, COUNT(*) FROM items WHERE product_id = $1 GROUP BY status_id ORDER BY status_id",
                    &[&product.0],
                )
                .await?
            }
            Some(k) => {
                all(
                    &c,
                    "SELECT status_id, COUNT(*) FROM items WHERE product_id = $1 AND kind = $2
                     GROUP BY status_id ORDER BY status_id",
                    &[&product.0, &k.as_str()],
                )
                .await?
            }
        };
        rows.iter().map(|r| Ok((col(r, 0)?, col::<i64>(r, 1)? as usize))).collect()
    }

    async fn items_now(&self, items: &[i64]) -> StoreResult<Vec<(i64, String, i64)>> {
        let c = self.conn().await?;
        let items = items.to_vec();
        let rows = all(&c, "SELECT id, kind, status_id FROM items WHERE id = ANY($1) ORDER BY id", &[&items])
            .await?;
        rows.iter().map(|r| Ok((col(r, 0)?, col(r, 1)?, col(r, 2)?))).collect()
    }

    async fn wip_cuts(&self, product: ProductId, cuts: &[Timestamp]) -> StoreResult<Vec<usize>> {
        let c = self.conn().await?;
        let mut out = Vec::with_capacity(cuts.len());
        for t in cuts {
            let r = one(
                &c,
                "SELECT COUNT(*) FROM item_flow WHERE product_id = $1 AND wip_since IS NOT NULL AND wip_since <= $2",
                &[&product.0, &t.0],
            )
            .await?;
            out.push(col::<i64>(&r, 0)? as usize);
        }
        Ok(out)
    }

    async fn wip_page(&self, product: ProductId, limit: usize, offset: usize) -> StoreResult<Vec<WipRow>> {
        let c = self.conn().await?;
        // Keys compare byte by byte, as the domain sorts them.
        let rows = all(
            &c,
            "SELECT f.item_id, f.key, f.kind, i.status_id, f.wip_since
             FROM item_flow f JOIN items i ON i.id = f.item_id
             WHERE f.product_id = $1 AND f.wip_since IS NOT NULL
             ORDER BY f.wip_since, f.key COLLATE \"C\" LIMIT $2 OFFSET $3",
            &[&product.0, &(limit as i64), &(offset as i64)],
        )
        .await?;
        rows.iter()
            .map(|r| {
                let kind: &str = col(r, 2)?;
                Ok(WipRow {
                    item_id: col(r, 0)?,
                    key: col(r, 1)?,
                    kind: ItemKind::parse("kind", kind).unwrap_or(ItemKind::Story),
                    state: StateId(col(r, 3)?),
                    since: Timestamp(col(r, 4)?),
                })
            })
            .collect()
    }

    async fn items_in_states(&self, product: ProductId, states: &[i64]) -> StoreResult<Vec<i64>> {
        let c = self.conn().await?;
        let states = states.to_vec();
        let rows = all(
            &c,
            "SELECT id FROM items WHERE product_id = $1 AND status_id = ANY($2) ORDER BY id",
            &[&product.0, &states],
        )
        .await?;
        rows.iter().map(|r| col(r, 0)).collect()
    }

    async fn flow_watermark(&self, product: ProductId) -> StoreResult<i64> {
        let c = self.conn().await?;
        col(
            &one(&c, "SELECT COALESCE(MAX(id), 0) FROM events WHERE product_id = $1", &[&product.0]).await?,
            0,
        )
    }

    async fn pending_flow_rebuilds(&self) -> StoreResult<Vec<ProductId>> {
        let c = self.conn().await?;
        let rows = all(&c, "SELECT product_id FROM flow_rebuilds ORDER BY product_id", &[]).await?;
        rows.iter().map(|r| Ok(ProductId(col(r, 0)?))).collect()
    }

    async fn request_flow_rebuild(&self, product: ProductId, reason: &str) -> StoreResult<()> {
        let c = self.conn().await?;
        exec(
            &c,
            "INSERT INTO flow_rebuilds (product_id, reason) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&product.0, &reason],
        )
        .await?;
        Ok(())
    }
}
