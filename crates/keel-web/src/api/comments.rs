//! JSON API: comments on items, initiatives, opportunities, feedback and releases; watching;
//! the caller's notifications.

use crate::error::ApiResult;
use crate::extract::Path;
use crate::extract::{ApiUser, Json as JsonIn, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use keel_api::comments::{CommentIn, CommentOut, NotificationOut, NotificationsOut, ReadAllOut, WatchOut};
use keel_api::{rfc3339, Problem};
use keel_app::comments::{CommentView, Target};
use keel_app::records::Stored;
use keel_app::App;
use keel_domain::comment::{Notification, Subject};
use keel_domain::user::User;
use keel_domain::RecordId;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

/// A comment's wire form.
pub fn comment_json(v: &CommentView) -> CommentOut {
    let c = &v.comment;
    CommentOut {
        id: c.id.0,
        subject: c.data.subject.as_str().to_string(),
        object_id: c.data.object_id,
        author_id: c.created_by.map(|u| u.0),
        author: v.author.clone(),
        body: c.data.body.clone(),
        html: if c.data.deleted { String::new() } else { crate::markdown::render(&c.data.body) },
        mentions: c.data.mentions.iter().map(|u| u.0).collect(),
        edited: c.data.edited,
        deleted: c.data.deleted,
        version: c.version,
        created_at: rfc3339(c.created_at),
        updated_at: rfc3339(c.updated_at),
    }
}

/// A notification's wire form.
pub fn notification_json(n: &Stored<Notification>, product: &str) -> NotificationOut {
    NotificationOut {
        id: n.id.0,
        product: product.to_string(),
        reason: n.data.reason.as_str().to_string(),
        actor_id: n.data.actor.map(|u| u.0),
        actor: n.data.actor_name.clone(),
        subject: n.data.subject.as_str().to_string(),
        object_id: n.data.object_id,
        label: n.data.label.clone(),
        link: n.data.link.clone(),
        text: n.data.text.clone(),
        read: n.state == "read",
        created_at: rfc3339(n.created_at),
    }
}

/// The routes.
pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for (seg, subject) in [
        ("items", Subject::Item),
        ("initiatives", Subject::Initiative),
        ("opportunities", Subject::Opportunity),
        ("feedback", Subject::Feedback),
        ("releases", Subject::Release),
    ] {
        r = r
            .route(
                &format!("/api/v1/{seg}/{{id}}/comments"),
                get(move |s: State<AppState>, u: ApiUser, p: Path<String>| list(s, u, p, subject)).post(
                    move |s: State<AppState>, u: ApiUser, p: Path<String>, b: JsonIn<CommentIn>| {
                        create(s, u, p, b, subject)
                    },
                ),
            )
            .route(
                &format!("/api/v1/{seg}/{{id}}/watch"),
                get(move |s: State<AppState>, u: ApiUser, p: Path<String>| watching(s, u, p, subject, None))
                    .put(move |s: State<AppState>, u: ApiUser, p: Path<String>| {
                        watching(s, u, p, subject, Some(true))
                    })
                    .delete(move |s: State<AppState>, u: ApiUser, p: Path<String>| {
                        watching(s, u, p, subject, Some(false))
                    }),
            );
    }
    r.route("/api/v1/comments/{id}", patch(edit_comment).delete(delete_comment))
        .route("/api/v1/notifications", get(list_notifications))
        .route("/api/v1/notifications/{id}/read", post(read_notification))
        .route("/api/v1/notifications/read-all", post(read_all))
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(list_comments_doc, create_comment_doc, watch_doc, unwatch_doc, edit_comment, delete_comment,
        list_notifications, read_notification, read_all),
    tags((name = "comments", description = "Comments, watching and the inbox of notifications"))
)]
pub struct Doc;

async fn target(app: &App, user: &User, subject: Subject, reference: &str) -> ApiResult<Target> {
    Ok(app.comment_target(user, subject, reference).await?)
}

async fn list(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    subject: Subject,
) -> ApiResult<Json<Vec<CommentOut>>> {
    let t = target(&s.app, &u.user, subject, &id).await?;
    Ok(Json(s.app.comments(&t).await?.iter().map(comment_json).collect()))
}

async fn create(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    JsonIn(b): JsonIn<CommentIn>,
    subject: Subject,
) -> ApiResult<Response> {
    let t = target(&s.app, &u.user, subject, &id).await?;
    if b.version.is_some() {
        return Err(crate::error::ApiError::invalid("version", "is only for edits"));
    }
    let c = s.app.add_comment(&t, &b.body).await?;
    let v = CommentView { comment: c, author: u.user.name.clone() };
    Ok((StatusCode::CREATED, Json(comment_json(&v))).into_response())
}

async fn watching(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    subject: Subject,
    set: Option<bool>,
) -> ApiResult<Json<WatchOut>> {
    let t = target(&s.app, &u.user, subject, &id).await?;
    let watching = match set {
        Some(w) => s.app.set_watching(&t, w).await?,
        None => s.app.is_watching(&t).await?,
    };
    Ok(Json(WatchOut { watching }))
}

/// The comments on an object, oldest first. `{kind}` is `items` (with an item key such as
/// `SHOP-42`), `initiatives`, `opportunities`, `feedback` or `releases` (with a record id).
#[utoipa::path(get, path = "/api/v1/{kind}/{id}/comments", tag = "comments",
    params(("kind" = String, Path, description = "items, initiatives, opportunities, feedback or releases"),
        ("id" = String, Path, description = "Item key or record id")),
    responses((status = 200, body = [CommentOut]), (status = 404, body = Problem)))]
pub async fn list_comments_doc() {}

/// Posts a comment (Markdown; `@handle` mentions a member, who is notified, as are the object's
/// watchers). Any member who may read the product may comment.
#[utoipa::path(post, path = "/api/v1/{kind}/{id}/comments", tag = "comments",
    params(("kind" = String, Path, description = "items, initiatives, opportunities, feedback or releases"),
        ("id" = String, Path, description = "Item key or record id")),
    request_body = CommentIn,
    responses((status = 201, body = CommentOut), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_comment_doc() {}

/// Starts watching an object (`GET` on the same path tells whether the caller watches it).
#[utoipa::path(put, path = "/api/v1/{kind}/{id}/watch", tag = "comments",
    params(("kind" = String, Path, description = "items, initiatives, opportunities, feedback or releases"),
        ("id" = String, Path, description = "Item key or record id")),
    responses((status = 200, body = WatchOut), (status = 404, body = Problem)))]
pub async fn watch_doc() {}

/// Stops watching an object, even one the caller created, is assigned or was mentioned on.
#[utoipa::path(delete, path = "/api/v1/{kind}/{id}/watch", tag = "comments",
    params(("kind" = String, Path, description = "items, initiatives, opportunities, feedback or releases"),
        ("id" = String, Path, description = "Item key or record id")),
    responses((status = 200, body = WatchOut), (status = 404, body = Problem)))]
pub async fn unwatch_doc() {}

/// Edits one's own comment. The history keeps the old text; the comment shows as edited.
#[utoipa::path(patch, path = "/api/v1/comments/{id}", tag = "comments",
    params(("id" = i64, Path, description = "Comment id")), request_body = CommentIn,
    responses((status = 200, body = CommentOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn edit_comment(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<CommentIn>,
) -> ApiResult<Json<CommentOut>> {
    let c = s.app.edit_comment(&u.user, RecordId(id), &b.body, b.version).await?;
    Ok(Json(comment_json(&CommentView { comment: c, author: u.user.name.clone() })))
}

/// Deletes a comment (softly: it shows as deleted). Its author or an administrator may.
#[utoipa::path(delete, path = "/api/v1/comments/{id}", tag = "comments",
    params(("id" = i64, Path, description = "Comment id")),
    responses((status = 200, body = CommentOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_comment(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<CommentOut>> {
    let c = s.app.delete_comment(&u.user, RecordId(id)).await?;
    let author = match c.created_by {
        Some(a) if a == u.user.id => u.user.name.clone(),
        Some(a) => s.app.store().user(a).await.map(|x| x.name).unwrap_or_default(),
        None => String::new(),
    };
    Ok(Json(comment_json(&CommentView { comment: c, author })))
}

/// Which notifications to list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct NotificationQuery {
    /// Only unread ones.
    #[serde(default)]
    pub unread: bool,
}

/// The caller's notifications, newest first, from the products they are a member of.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "comments", params(NotificationQuery),
    responses((status = 200, body = NotificationsOut), (status = 400, body = Problem)))]
pub async fn list_notifications(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<NotificationQuery>,
) -> ApiResult<Json<NotificationsOut>> {
    Ok(Json(notifications_json(&s.app, &u.user, q.unread).await?))
}

/// The caller's notifications as sent by the API.
pub async fn notifications_json(app: &App, user: &User, unread_only: bool) -> ApiResult<NotificationsOut> {
    let list = app.notifications(user, unread_only, 200).await?;
    let products = app.store().products_of(user.id).await.map_err(keel_app::AppError::from)?;
    let key = |n: &Stored<Notification>| {
        products
            .iter()
            .find(|(p, _)| Some(p.id) == n.product_id)
            .map(|(p, _)| p.key.as_str().to_string())
            .unwrap_or_default()
    };
    let unread = app.unread_count(user).await? as i64;
    Ok(NotificationsOut {
        notifications: list.iter().map(|n| notification_json(n, &key(n))).collect(),
        unread,
    })
}

/// Marks one of the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "comments",
    params(("id" = i64, Path, description = "Notification id")),
    responses((status = 200, body = NotificationOut), (status = 404, body = Problem)))]
pub async fn read_notification(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<NotificationOut>> {
    let n = s.app.mark_read(&u.user, RecordId(id)).await?;
    let key = match n.product_id {
        Some(p) => s.app.store().product(p).await.map(|p| p.key.as_str().to_string()).unwrap_or_default(),
        None => String::new(),
    };
    Ok(Json(notification_json(&n, &key)))
}

/// Marks all the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "comments",
    responses((status = 200, body = ReadAllOut)))]
pub async fn read_all(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<ReadAllOut>> {
    Ok(Json(ReadAllOut { marked: s.app.mark_all_read(&u.user).await? as i64 }))
}
