//! Wire types of the live-update streams (Server-Sent Events).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One change in a product (the `data` of a `change` event; the event's `id` is the same
/// history event id, so a reconnecting client resumes with `Last-Event-ID`). It says what
/// changed and who changed it, never the values: read the object for those.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LiveChangeOut {
    /// The history event id.
    pub id: i64,
    /// The product's key.
    pub product: String,
    /// The kind of object: `item`, `sprint`, `release`, `comment`, `team`, …
    pub object: String,
    /// The object's id.
    pub object_id: i64,
    /// The item's key (items only).
    pub key: Option<String>,
    /// The field changed: `created`, `title`, `status`, `rank`, `sprint`, `deleted`, …
    pub field: String,
    /// Who made the change (absent: the system, e.g. an import).
    pub actor_id: Option<i64>,
    /// Their display name.
    pub actor: Option<String>,
}

/// The caller's inbox (the `data` of an `inbox` event): sent on connect and whenever it changes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InboxStateOut {
    /// Unread notifications.
    pub unread: usize,
    /// The newest notification's id (0: none).
    pub newest: i64,
}
