//! Wire types of outgoing webhooks and their delivery log.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new webhook, or changes to one (absent fields stay; `url` and `events` are required to
/// create).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// Where deliveries are POSTed: an http or https URL that does not resolve to a loopback,
    /// link-local or private address (unless the server allows such targets).
    #[serde(default)]
    pub url: Option<String>,
    /// Event types, e.g. `item.created`, `item.moved`, `sprint.started`, `release.shipped`.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Whether it receives deliveries (default true).
    #[serde(default)]
    pub active: Option<bool>,
    /// Replace the signing secret with a new random one (changes only).
    #[serde(default)]
    pub rotate_secret: Option<bool>,
}

/// A webhook. Only the product's PM and PO (and administrators) see webhooks, secret included.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookOut {
    /// Id.
    pub id: i64,
    /// Product key.
    pub product: String,
    /// Target URL.
    pub url: String,
    /// The signing secret: `Keel-Signature` is `t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`.
    pub secret: String,
    /// Subscribed event types.
    pub events: Vec<String>,
    /// Whether it receives deliveries.
    pub active: bool,
    /// When it was created.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Deliveries waiting to be sent, delivered, and given up, among the latest 100.
    pub recent: DeliveryCounts,
}

/// Delivery counts by status.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct DeliveryCounts {
    /// Waiting (first attempt or a retry).
    pub pending: i64,
    /// Delivered.
    pub delivered: i64,
    /// Given up.
    pub failed: i64,
}

/// One delivery and its log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryOut {
    /// Id (the `Keel-Delivery` header).
    pub id: i64,
    /// Its webhook.
    pub webhook_id: i64,
    /// The history event announced.
    pub event_id: i64,
    /// Event type (the `Keel-Event` header).
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<String>,
    /// Status code of the last answer, if one came.
    pub response_code: Option<i32>,
    /// What went wrong last.
    pub last_error: Option<String>,
    /// When it was written (with the change).
    pub created_at: String,
    /// When it was delivered.
    pub delivered_at: Option<String>,
}

/// The event types a webhook may subscribe to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventTypesOut {
    /// Event types.
    pub events: Vec<String>,
}
