//! Outgoing webhooks and their outbox (migration 0007). The single writer serialises claims,
//! so a delivery is never sent twice at once from one database file.

use crate::{event, Error, Res, SqliteStore};
use async_trait::async_trait;
use keel_domain::event::ObjectKind;
use keel_domain::{ProductId, Timestamp, UserId};
use keel_store::webhooks::{
    events_column, events_from_column, AttemptResult, Delivery, DeliveryJob, NewWebhook, Webhook,
    WebhookPatch, WebhookStore,
};
use keel_store::{StoreError, StoreResult, WriteCtx};
use rusqlite::{params, Connection, Row};
use serde_json::{json, Value};

const HOOK_COLS: &str = "id, product_id, url, secret, events, active, created_by, created_at, updated_at";
const DELIVERY_COLS: &str = "d.id, d.webhook_id, d.event_id, d.event_type, d.status, d.attempts, \
     d.next_attempt_at, d.response_code, d.last_error, d.created_at, d.delivered_at";

fn hook_row(r: &Row<'_>) -> rusqlite::Result<Webhook> {
    Ok(Webhook {
        id: r.get(0)?,
        product_id: ProductId(r.get(1)?),
        url: r.get(2)?,
        secret: r.get(3)?,
        events: events_from_column(&r.get::<_, String>(4)?),
        active: r.get(5)?,
        created_by: r.get::<_, Option<i64>>(6)?.map(UserId),
        created_at: Timestamp(r.get(7)?),
        updated_at: Timestamp(r.get(8)?),
    })
}

fn delivery_row(r: &Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        webhook_id: r.get(1)?,
        event_id: r.get(2)?,
        event_type: r.get(3)?,
        status: r.get(4)?,
        attempts: r.get(5)?,
        next_attempt_at: Timestamp(r.get(6)?),
        response_code: r.get(7)?,
        last_error: r.get(8)?,
        created_at: Timestamp(r.get(9)?),
        delivered_at: r.get::<_, Option<i64>>(10)?.map(Timestamp),
    })
}

fn load_hook(c: &Connection, id: i64) -> Res<Webhook> {
    Ok(c.prepare_cached(&format!("SELECT {HOOK_COLS} FROM webhooks WHERE id = ?1"))?
        .query_row([id], hook_row)?)
}

fn load_delivery(c: &Connection, id: i64) -> Res<Delivery> {
    Ok(c.prepare_cached(&format!("SELECT {DELIVERY_COLS} FROM webhook_deliveries d WHERE d.id = ?1"))?
        .query_row([id], delivery_row)?)
}

/// What the history keeps of a webhook: everything but its secret.
fn public(h: &Webhook) -> Value {
    json!({ "url": h.url, "events": h.events, "active": h.active })
}

fn json_text(s: Option<String>) -> Value {
    s.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or(Value::Null)
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn outbox_pending(&self) -> StoreResult<i64> {
        self.read_blocking(|c| {
            Ok(c.prepare_cached("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")?
                .query_row([], |r| r.get(0))?)
        })
        .await
    }

    async fn create_webhook(&self, hook: NewWebhook, ctx: &WriteCtx) -> StoreResult<Webhook> {
        let ctx = *ctx;
        self.write(move |tx| {
            let id: i64 = tx.query_row(
                "INSERT INTO webhooks (product_id, url, secret, events, active, created_by, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) RETURNING id",
                params![
                    hook.product_id.0,
                    hook.url,
                    hook.secret,
                    events_column(&hook.events),
                    hook.active,
                    ctx.actor.map(|u| u.0),
                    ctx.at.0
                ],
                |r| r.get(0),
            )?;
            let h = load_hook(tx, id)?;
            event(tx, &ctx, Some(h.product_id), (ObjectKind::Webhook, id), "created", &Value::Null, &public(&h))?;
            Ok(h)
        })
        .await
    }

    async fn webhook(&self, id: i64) -> StoreResult<Webhook> {
        self.read(|c| load_hook(c, id))
    }

    async fn webhooks_of(&self, product: ProductId) -> StoreResult<Vec<Webhook>> {
        self.read_blocking(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {HOOK_COLS} FROM webhooks WHERE product_id = ?1 ORDER BY id"
            ))?;
            let rows = st.query_map([product.0], hook_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn update_webhook(&self, id: i64, patch: WebhookPatch, ctx: &WriteCtx) -> StoreResult<Webhook> {
        let ctx = *ctx;
        self.write(move |tx| {
            let old = load_hook(tx, id)?;
            let mut h = old.clone();
            if let Some(u) = patch.url {
                h.url = u;
            }
            if let Some(e) = patch.events {
                h.events = e;
            }
            if let Some(a) = patch.active {
                h.active = a;
            }
            let rotated = patch.secret.is_some();
            if let Some(s) = patch.secret {
                h.secret = s;
            }
            if h == old {
                return Ok(h);
            }
            h.updated_at = ctx.at;
            tx.prepare_cached(
                "UPDATE webhooks SET url = ?2, secret = ?3, events = ?4, active = ?5, updated_at = ?6 WHERE id = ?1",
            )?
            .execute(params![id, h.url, h.secret, events_column(&h.events), h.active, ctx.at.0])?;
            let (o, n) = (public(&old), public(&h));
            for f in ["url", "events", "active"] {
                if o[f] != n[f] {
                    event(tx, &ctx, Some(h.product_id), (ObjectKind::Webhook, id), f, &o[f], &n[f])?;
                }
            }
            if rotated {
                event(tx, &ctx, Some(h.product_id), (ObjectKind::Webhook, id), "secret", &Value::Null, &json!("rotated"))?;
            }
            Ok(h)
        })
        .await
    }

    async fn delete_webhook(&self, id: i64, ctx: &WriteCtx) -> StoreResult<()> {
        let ctx = *ctx;
        self.write(move |tx| {
            let h = load_hook(tx, id)?;
            tx.execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?1", [id])?;
            tx.execute("DELETE FROM webhooks WHERE id = ?1", [id])?;
            event(
                tx,
                &ctx,
                Some(h.product_id),
                (ObjectKind::Webhook, id),
                "deleted",
                &public(&h),
                &Value::Null,
            )?;
            Ok(())
        })
        .await
    }

    async fn deliveries(&self, webhook: i64, limit: u32) -> StoreResult<Vec<Delivery>> {
        self.read_blocking(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {DELIVERY_COLS} FROM webhook_deliveries d WHERE d.webhook_id = ?1 ORDER BY d.id DESC LIMIT ?2"
            ))?;
            let rows = st.query_map(params![webhook, limit], delivery_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn delivery(&self, id: i64) -> StoreResult<Delivery> {
        self.read(|c| load_delivery(c, id))
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryJob>> {
        self.write(move |tx| {
            let ids: Vec<i64> = {
                let mut st = tx.prepare_cached(
                    "UPDATE webhook_deliveries SET lease_until = ?1 + ?2
                     WHERE id IN (SELECT id FROM webhook_deliveries
                                  WHERE status = 'pending' AND next_attempt_at <= ?1
                                    AND (lease_until IS NULL OR lease_until < ?1)
                                  ORDER BY next_attempt_at, id LIMIT ?3)
                     RETURNING id",
                )?;
                let rows = st.query_map(params![now.0, lease_ms, limit], |r| r.get(0))?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            };
            let mut out = Vec::with_capacity(ids.len());
            let mut st = tx.prepare_cached(&format!(
                "SELECT {DELIVERY_COLS}, d.retry_from, w.url, w.secret, p.key,
                        e.object, e.object_id, e.field, e.old, e.new, e.actor_id, e.at
                 FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                 JOIN products p ON p.id = w.product_id
                 LEFT JOIN events e ON e.id = d.event_id
                 WHERE d.id = ?1"
            ))?;
            for id in ids {
                let job = st.query_row([id], |r| {
                    Ok(DeliveryJob {
                        delivery: delivery_row(r)?,
                        retry_from: Timestamp(r.get(11)?),
                        url: r.get(12)?,
                        secret: r.get(13)?,
                        product_key: r.get(14)?,
                        event: json!({
                            "object": r.get::<_, Option<String>>(15)?,
                            "object_id": r.get::<_, Option<i64>>(16)?,
                            "field": r.get::<_, Option<String>>(17)?,
                            "old": json_text(r.get(18)?),
                            "new": json_text(r.get(19)?),
                            "actor_id": r.get::<_, Option<i64>>(20)?,
                            "at": r.get::<_, Option<i64>>(21)?,
                        }),
                    })
                })?;
                out.push(job);
            }
            Ok(out)
        })
        .await
    }

    async fn finish_delivery(&self, id: i64, at: Timestamp, result: AttemptResult) -> StoreResult<()> {
        self.write(move |tx| {
            match result {
                AttemptResult::Delivered { code } => tx.execute(
                    "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, response_code = ?2,
                     last_error = NULL, lease_until = NULL, delivered_at = ?3 WHERE id = ?1",
                    params![id, code, at.0],
                )?,
                AttemptResult::Failed { code, error, retry_at } => tx.execute(
                    "UPDATE webhook_deliveries SET status = ?2, attempts = attempts + 1, response_code = ?3,
                     last_error = ?4, lease_until = NULL, next_attempt_at = COALESCE(?5, next_attempt_at)
                     WHERE id = ?1",
                    params![
                        id,
                        if retry_at.is_some() { "pending" } else { "failed" },
                        code,
                        error,
                        retry_at.map(|t| t.0)
                    ],
                )?,
            };
            Ok(())
        })
        .await
    }

    async fn retry_delivery(&self, id: i64, now: Timestamp) -> StoreResult<Delivery> {
        self.write(move |tx| {
            let d = load_delivery(tx, id)?;
            if d.status == "pending" {
                return Err(Error(StoreError::Conflict("the delivery is already waiting to be sent".into())));
            }
            tx.execute(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?2, retry_from = ?2,
                 lease_until = NULL WHERE id = ?1",
                params![id, now.0],
            )?;
            load_delivery(tx, id)
        })
        .await
    }

    async fn pending_deliveries(&self) -> StoreResult<i64> {
        self.read(|c| {
            Ok(c.query_row("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'", [], |r| {
                r.get(0)
            })?)
        })
    }
}
