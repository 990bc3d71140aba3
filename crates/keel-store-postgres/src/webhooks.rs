//! Outgoing webhooks and their outbox (migration 0007). Workers in several processes claim due
//! deliveries with `FOR UPDATE SKIP LOCKED` and a lease, so each is sent by one at a time.

use crate::db::{all, col, exec, one, DbResult, Events};
use crate::PgStore;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use keel_domain::event::ObjectKind;
use keel_domain::{ProductId, Timestamp, UserId};
use keel_store::webhooks::{
    events_column, events_from_column, AttemptResult, Delivery, DeliveryJob, NewWebhook, Webhook,
    WebhookPatch, WebhookStore,
};
use keel_store::{StoreError, StoreResult, WriteCtx};
use serde_json::{json, Value};
use tokio_postgres::Row;

const HOOK_COLS: &str = "id, product_id, url, secret, events, active, created_by, created_at, updated_at";
const DELIVERY_COLS: &str = "d.id, d.webhook_id, d.event_id, d.event_type, d.status, d.attempts, \
     d.next_attempt_at, d.response_code, d.last_error, d.created_at, d.delivered_at";

fn hook_row(r: &Row) -> StoreResult<Webhook> {
    Ok(Webhook {
        id: col(r, 0)?,
        product_id: ProductId(col(r, 1)?),
        url: col(r, 2)?,
        secret: col(r, 3)?,
        events: events_from_column(col(r, 4)?),
        active: col(r, 5)?,
        created_by: col::<Option<i64>>(r, 6)?.map(UserId),
        created_at: Timestamp(col(r, 7)?),
        updated_at: Timestamp(col(r, 8)?),
    })
}

fn delivery_row(r: &Row) -> StoreResult<Delivery> {
    Ok(Delivery {
        id: col(r, 0)?,
        webhook_id: col(r, 1)?,
        event_id: col(r, 2)?,
        event_type: col(r, 3)?,
        status: col(r, 4)?,
        attempts: col(r, 5)?,
        next_attempt_at: Timestamp(col(r, 6)?),
        response_code: col(r, 7)?,
        last_error: col(r, 8)?,
        created_at: Timestamp(col(r, 9)?),
        delivered_at: col::<Option<i64>>(r, 10)?.map(Timestamp),
    })
}

async fn load_hook<C: GenericClient>(c: &C, id: i64) -> StoreResult<Webhook> {
    hook_row(&one(c, &format!("SELECT {HOOK_COLS} FROM webhooks WHERE id = $1"), &[&id]).await?)
}

async fn load_delivery<C: GenericClient>(c: &C, id: i64) -> StoreResult<Delivery> {
    delivery_row(
        &one(c, &format!("SELECT {DELIVERY_COLS} FROM webhook_deliveries d WHERE d.id = $1"), &[&id]).await?,
    )
}

/// What the history keeps of a webhook: everything but its secret.
fn public(h: &Webhook) -> Value {
    json!({ "url": h.url, "events": h.events, "active": h.active })
}

fn json_text(s: Option<&str>) -> Value {
    s.and_then(|s| serde_json::from_str(s).ok()).unwrap_or(Value::Null)
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn outbox_pending(&self) -> StoreResult<i64> {
        let c = self.conn().await?;
        let r = one(&c, "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'", &[]).await?;
        Ok(r.get(0))
    }

    async fn create_webhook(&self, hook: NewWebhook, ctx: &WriteCtx) -> StoreResult<Webhook> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        let row = one(
            &tx,
            &format!(
                "INSERT INTO webhooks (product_id, url, secret, events, active, created_by, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {HOOK_COLS}"
            ),
            &[
                &hook.product_id.0,
                &hook.url,
                &hook.secret,
                &events_column(&hook.events),
                &hook.active,
                &ctx.actor.map(|u| u.0),
                &ctx.at.0,
            ],
        )
        .await?;
        let h = hook_row(&row)?;
        let mut ev = Events::new();
        ev.push(Some(h.product_id), ObjectKind::Webhook, h.id, "created", &Value::Null, &public(&h));
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        Ok(h)
    }

    async fn webhook(&self, id: i64) -> StoreResult<Webhook> {
        let c = self.conn().await?;
        load_hook(&c, id).await
    }

    async fn webhooks_of(&self, product: ProductId) -> StoreResult<Vec<Webhook>> {
        let c = self.conn().await?;
        let sql = format!("SELECT {HOOK_COLS} FROM webhooks WHERE product_id = $1 ORDER BY id");
        all(&c, &sql, &[&product.0]).await?.iter().map(hook_row).collect()
    }

    async fn update_webhook(&self, id: i64, patch: WebhookPatch, ctx: &WriteCtx) -> StoreResult<Webhook> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        let old = hook_row(
            &one(&tx, &format!("SELECT {HOOK_COLS} FROM webhooks WHERE id = $1 FOR UPDATE"), &[&id]).await?,
        )?;
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
        exec(
            &tx,
            "UPDATE webhooks SET url = $2, secret = $3, events = $4, active = $5, updated_at = $6 WHERE id = $1",
            &[&id, &h.url, &h.secret, &events_column(&h.events), &h.active, &ctx.at.0],
        )
        .await?;
        let (o, n) = (public(&old), public(&h));
        let mut ev = Events::new();
        for f in ["url", "events", "active"] {
            if o[f] != n[f] {
                ev.push(Some(h.product_id), ObjectKind::Webhook, id, f, &o[f], &n[f]);
            }
        }
        if rotated {
            ev.push(Some(h.product_id), ObjectKind::Webhook, id, "secret", &Value::Null, &json!("rotated"));
        }
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        Ok(h)
    }

    async fn delete_webhook(&self, id: i64, ctx: &WriteCtx) -> StoreResult<()> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        let h = load_hook(&tx, id).await?;
        exec(&tx, "DELETE FROM webhook_deliveries WHERE webhook_id = $1", &[&id]).await?;
        exec(&tx, "DELETE FROM webhooks WHERE id = $1", &[&id]).await?;
        let mut ev = Events::new();
        ev.push(Some(h.product_id), ObjectKind::Webhook, id, "deleted", &public(&h), &Value::Null);
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn deliveries(&self, webhook: i64, limit: u32) -> StoreResult<Vec<Delivery>> {
        let c = self.conn().await?;
        let sql = format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries d WHERE d.webhook_id = $1 ORDER BY d.id DESC LIMIT $2"
        );
        all(&c, &sql, &[&webhook, &i64::from(limit)]).await?.iter().map(delivery_row).collect()
    }

    async fn delivery(&self, id: i64) -> StoreResult<Delivery> {
        let c = self.conn().await?;
        load_delivery(&c, id).await
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryJob>> {
        let c = self.conn().await?;
        let sql = format!(
            "WITH due AS (
                 SELECT id FROM webhook_deliveries
                 WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1)
                 ORDER BY next_attempt_at, id LIMIT $3
                 FOR UPDATE SKIP LOCKED),
             claimed AS (
                 UPDATE webhook_deliveries d SET lease_until = $1 + $2 FROM due WHERE d.id = due.id
                 RETURNING d.*)
             SELECT {DELIVERY_COLS}, d.retry_from, w.url, w.secret, p.key,
                    e.object, e.object_id, e.field, e.old, e.new, e.actor_id, e.at
             FROM claimed d JOIN webhooks w ON w.id = d.webhook_id
             JOIN products p ON p.id = w.product_id
             LEFT JOIN events e ON e.id = d.event_id
             ORDER BY d.id"
        );
        let rows = all(&c, &sql, &[&now.0, &lease_ms, &i64::from(limit)]).await?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryJob {
                    delivery: delivery_row(r)?,
                    retry_from: Timestamp(col(r, 11)?),
                    url: col(r, 12)?,
                    secret: col(r, 13)?,
                    product_key: col(r, 14)?,
                    event: json!({
                        "object": col::<Option<String>>(r, 15)?,
                        "object_id": col::<Option<i64>>(r, 16)?,
                        "field": col::<Option<String>>(r, 17)?,
                        "old": json_text(col(r, 18)?),
                        "new": json_text(col(r, 19)?),
                        "actor_id": col::<Option<i64>>(r, 20)?,
                        "at": col::<Option<i64>>(r, 21)?,
                    }),
                })
            })
            .collect()
    }

    async fn finish_delivery(&self, id: i64, at: Timestamp, result: AttemptResult) -> StoreResult<()> {
        let c = self.conn().await?;
        match result {
            AttemptResult::Delivered { code } => {
                exec(
                    &c,
                    "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, response_code = $2,
                     last_error = NULL, lease_until = NULL, delivered_at = $3 WHERE id = $1",
                    &[&id, &code, &at.0],
                )
                .await?
            }
            AttemptResult::Failed { code, error, retry_at } => {
                let status = if retry_at.is_some() { "pending" } else { "failed" };
                exec(
                    &c,
                    "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, response_code = $3,
                     last_error = $4, lease_until = NULL, next_attempt_at = COALESCE($5, next_attempt_at)
                     WHERE id = $1",
                    &[&id, &status, &code, &error, &retry_at.map(|t| t.0)],
                )
                .await?
            }
        };
        Ok(())
    }

    async fn retry_delivery(&self, id: i64, now: Timestamp) -> StoreResult<Delivery> {
        let c = self.conn().await?;
        let n = exec(
            &c,
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $2, retry_from = $2,
             lease_until = NULL WHERE id = $1 AND status <> 'pending'",
            &[&id, &now.0],
        )
        .await?;
        let d = load_delivery(&c, id).await?;
        if n == 0 {
            return Err(StoreError::Conflict("the delivery is already waiting to be sent".into()));
        }
        Ok(d)
    }

    async fn pending_deliveries(&self) -> StoreResult<i64> {
        let c = self.conn().await?;
        col(&one(&c, "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'", &[]).await?, 0)
    }
}
