//! The outgoing webhooks and their outbox (migration 0007).

use crate::{StoreResult, WriteCtx};
use async_trait::async_trait;
use keel_domain::{ProductId, Timestamp, UserId};
use serde_json::Value;

/// A webhook as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Id.
    pub id: i64,
    /// Its product.
    pub product_id: ProductId,
    /// Where deliveries go.
    pub url: String,
    /// The signing secret.
    pub secret: String,
    /// Subscribed event types, sorted.
    pub events: Vec<String>,
    /// Whether it receives new deliveries.
    pub active: bool,
    /// Who created it.
    pub created_by: Option<UserId>,
    /// When.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// A new webhook.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// Its product.
    pub product_id: ProductId,
    /// Where deliveries go.
    pub url: String,
    /// The signing secret.
    pub secret: String,
    /// Event types.
    pub events: Vec<String>,
    /// Active from the start.
    pub active: bool,
}

/// Changes to a webhook; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    /// New URL.
    pub url: Option<String>,
    /// New event types.
    pub events: Option<Vec<String>>,
    /// Active or paused.
    pub active: Option<bool>,
    /// A new secret.
    pub secret: Option<String>,
}

/// One delivery in the outbox and its log.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Id (sent as `Keel-Delivery`).
    pub id: i64,
    /// Its webhook.
    pub webhook_id: i64,
    /// The event announced.
    pub event_id: i64,
    /// Its type (sent as `Keel-Event`).
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// When it is due next (while pending).
    pub next_attempt_at: Timestamp,
    /// Status code of the last response, if one came.
    pub response_code: Option<i32>,
    /// What went wrong last.
    pub last_error: Option<String>,
    /// When it was written.
    pub created_at: Timestamp,
    /// When it was delivered.
    pub delivered_at: Option<Timestamp>,
}

/// A delivery claimed for sending, with what the worker needs.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    /// The delivery.
    pub delivery: Delivery,
    /// Start of its retry window.
    pub retry_from: Timestamp,
    /// Target URL.
    pub url: String,
    /// Signing secret.
    pub secret: String,
    /// The product's key.
    pub product_key: String,
    /// The event: `object`, `object_id`, `field`, `old`, `new`, `actor_id`, `at`.
    pub event: Value,
}

/// The result of one attempt.
#[derive(Debug, Clone)]
pub enum AttemptResult {
    /// A 2xx response.
    Delivered { code: i32 },
    /// Failed; try again at `retry_at`, or give up when `None`.
    Failed { code: Option<i32>, error: String, retry_at: Option<Timestamp> },
}

/// Webhooks and the outbox.
#[async_trait]
pub trait WebhookStore {
    /// Deliveries waiting to be sent (pending, due or not): the outbox backlog.
    async fn outbox_pending(&self) -> StoreResult<i64>;
    /// Creates a webhook (and records it in the history, without its secret).
    async fn create_webhook(&self, hook: NewWebhook, ctx: &WriteCtx) -> StoreResult<Webhook>;
    /// One webhook.
    async fn webhook(&self, id: i64) -> StoreResult<Webhook>;
    /// A product's webhooks by id.
    async fn webhooks_of(&self, product: ProductId) -> StoreResult<Vec<Webhook>>;
    /// Changes a webhook.
    async fn update_webhook(&self, id: i64, patch: WebhookPatch, ctx: &WriteCtx) -> StoreResult<Webhook>;
    /// Deletes a webhook and its deliveries.
    async fn delete_webhook(&self, id: i64, ctx: &WriteCtx) -> StoreResult<()>;
    /// A webhook's latest deliveries, newest first.
    async fn deliveries(&self, webhook: i64, limit: u32) -> StoreResult<Vec<Delivery>>;
    /// One delivery.
    async fn delivery(&self, id: i64) -> StoreResult<Delivery>;
    /// Claims up to `limit` pending deliveries due at `now` for `lease_ms`, so that no other
    /// worker (process) sends them meanwhile.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryJob>>;
    /// Records an attempt's result and releases the claim.
    async fn finish_delivery(&self, id: i64, at: Timestamp, result: AttemptResult) -> StoreResult<()>;
    /// Makes a delivery due now again, with a fresh retry window.
    async fn retry_delivery(&self, id: i64, now: Timestamp) -> StoreResult<Delivery>;
    /// Pending deliveries (the backlog).
    async fn pending_deliveries(&self) -> StoreResult<i64>;
}

/// Stored form of an event-type list.
pub fn events_column(events: &[String]) -> String {
    format!(",{},", events.join(","))
}

/// An event-type list from its stored form.
pub fn events_from_column(s: &str) -> Vec<String> {
    s.split(',').filter(|e| !e.is_empty()).map(str::to_string).collect()
}
