//! Wire types: comments, watching, notifications.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A comment to post or the new text of one.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentIn {
    /// Markdown text; `@handle` mentions a member (the part of their e-mail address before `@`).
    pub body: String,
    /// For an edit: the version read (409 when stale).
    #[serde(default)]
    pub version: Option<i64>,
}

/// A comment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommentOut {
    /// Its id.
    pub id: i64,
    /// The kind of object it is on: `item`, `initiative`, `opportunity`, `feedback` or `release`.
    pub subject: String,
    /// The object's id.
    pub object_id: i64,
    /// The author's user id.
    pub author_id: Option<i64>,
    /// The author's name.
    pub author: String,
    /// Markdown text (empty once deleted).
    pub body: String,
    /// The text rendered to sanitised HTML.
    pub html: String,
    /// User ids of the members mentioned.
    pub mentions: Vec<i64>,
    /// Whether it was edited after posting.
    pub edited: bool,
    /// Whether it was deleted.
    pub deleted: bool,
    /// Version, to send back with an edit.
    pub version: i64,
    /// When it was posted (RFC 3339).
    pub created_at: String,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
}

/// Whether the caller watches an object.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WatchOut {
    /// Watching or not.
    pub watching: bool,
}

/// A notification in the caller's inbox.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NotificationOut {
    /// Its id.
    pub id: i64,
    /// The product's key.
    pub product: String,
    /// Why: `mention`, `comment`, `assigned`, `status`, `proposal` or `decision`.
    pub reason: String,
    /// Who caused it (user id).
    pub actor_id: Option<i64>,
    /// Their name.
    pub actor: String,
    /// The kind of object it is about: `item`, `initiative`, `opportunity`, `feedback`, `release`,
    /// or `proposal` (for `proposal` and `decision`).
    pub subject: String,
    /// The object's id.
    pub object_id: i64,
    /// The object's label.
    pub label: String,
    /// The page of the object.
    pub link: String,
    /// One line of detail.
    pub text: String,
    /// Whether it was read.
    pub read: bool,
    /// When (RFC 3339).
    pub created_at: String,
}

/// The caller's notifications.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NotificationsOut {
    /// Newest first (at most 200).
    pub notifications: Vec<NotificationOut>,
    /// How many are unread in all.
    pub unread: i64,
}

/// How many notifications were marked read.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReadAllOut {
    /// Count.
    pub marked: i64,
}
