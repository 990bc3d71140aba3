//! JSON API: a product's outgoing webhooks and their delivery log.

use crate::error::ApiResult;
use crate::extract::Path;
use crate::extract::{ApiUser, Json as JsonIn};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use keel_api::webhooks::{DeliveryCounts, DeliveryOut, EventTypesOut, WebhookIn, WebhookOut};
use keel_api::{rfc3339, Problem};
use keel_app::webhooks::{WebhookInput, DELIVERY_LOG};
use keel_app::App;
use keel_store::webhooks::{Delivery, Webhook};
use utoipa::OpenApi;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/webhook-events", get(event_types))
        .route("/api/v1/products/{product}/webhooks", get(list_webhooks).post(create_webhook))
        .route("/api/v1/webhooks/{id}", get(get_webhook).patch(patch_webhook).delete(delete_webhook))
        .route("/api/v1/webhooks/{id}/deliveries", get(list_deliveries))
        .route("/api/v1/deliveries/{id}/retry", post(retry_delivery))
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(event_types, list_webhooks, create_webhook, get_webhook, patch_webhook, delete_webhook,
        list_deliveries, retry_delivery),
    tags((name = "webhooks", description = "Outgoing webhooks: signed JSON POSTs of a product's changes"))
)]
pub struct Doc;

/// Wire form of a delivery.
pub fn delivery_out(d: &Delivery) -> DeliveryOut {
    DeliveryOut {
        id: d.id,
        webhook_id: d.webhook_id,
        event_id: d.event_id,
        event_type: d.event_type.clone(),
        status: d.status.clone(),
        attempts: d.attempts,
        next_attempt_at: (d.status == "pending").then(|| rfc3339(d.next_attempt_at)),
        response_code: d.response_code,
        last_error: d.last_error.clone(),
        created_at: rfc3339(d.created_at),
        delivered_at: d.delivered_at.map(rfc3339),
    }
}

/// Wire form of a webhook, with counts over its latest deliveries.
pub async fn webhook_out(app: &App, h: &Webhook, product: &str) -> ApiResult<WebhookOut> {
    let mut recent = DeliveryCounts::default();
    for d in app.store().deliveries(h.id, DELIVERY_LOG).await.map_err(keel_app::AppError::from)? {
        match d.status.as_str() {
            "pending" => recent.pending += 1,
            "delivered" => recent.delivered += 1,
            _ => recent.failed += 1,
        }
    }
    Ok(WebhookOut {
        id: h.id,
        product: product.to_string(),
        url: h.url.clone(),
        secret: h.secret.clone(),
        events: h.events.clone(),
        active: h.active,
        created_at: rfc3339(h.created_at),
        updated_at: rfc3339(h.updated_at),
        recent,
    })
}

fn input(b: WebhookIn) -> WebhookInput {
    WebhookInput {
        url: b.url,
        events: b.events,
        active: b.active,
        rotate_secret: b.rotate_secret.unwrap_or(false),
    }
}

/// The event types a webhook may subscribe to.
#[utoipa::path(get, path = "/api/v1/webhook-events", tag = "webhooks",
    responses((status = 200, body = EventTypesOut)))]
pub async fn event_types(_u: ApiUser) -> Json<EventTypesOut> {
    Json(EventTypesOut { events: keel_domain::webhook::EVENT_TYPES.iter().map(|e| e.to_string()).collect() })
}

/// The product's webhooks. PM and PO (and administrators) only.
#[utoipa::path(get, path = "/api/v1/products/{product}/webhooks", tag = "webhooks",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = [WebhookOut]), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_webhooks(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<WebhookOut>>> {
    let a = s.app.access(&u.user, &key).await?;
    let mut out = Vec::new();
    for h in s.app.webhooks(&a).await? {
        out.push(webhook_out(&s.app, &h, a.product.key.as_str()).await?);
    }
    Ok(Json(out))
}

/// Creates a webhook with a new random secret (returned in the answer).
#[utoipa::path(post, path = "/api/v1/products/{product}/webhooks", tag = "webhooks",
    params(("product" = String, Path, description = "Product key")), request_body = WebhookIn,
    responses((status = 201, body = WebhookOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_webhook(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<WebhookIn>,
) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    let h = s.app.create_webhook(&a, input(b)).await?;
    Ok((StatusCode::CREATED, Json(webhook_out(&s.app, &h, a.product.key.as_str()).await?)).into_response())
}

/// One webhook.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "Webhook id")),
    responses((status = 200, body = WebhookOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_webhook(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<WebhookOut>> {
    let (h, a) = s.app.webhook(&u.user, id).await?;
    Ok(Json(webhook_out(&s.app, &h, a.product.key.as_str()).await?))
}

/// Changes a webhook: URL, events, active, or a new secret.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "Webhook id")), request_body = WebhookIn,
    responses((status = 200, body = WebhookOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn patch_webhook(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<WebhookIn>,
) -> ApiResult<Json<WebhookOut>> {
    let h = s.app.update_webhook(&u.user, id, input(b)).await?;
    let (_, a) = s.app.webhook(&u.user, id).await?;
    Ok(Json(webhook_out(&s.app, &h, a.product.key.as_str()).await?))
}

/// Deletes a webhook and its delivery log.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "Webhook id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_webhook(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.app.delete_webhook(&u.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The webhook's latest 100 deliveries, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = i64, Path, description = "Webhook id")),
    responses((status = 200, body = [DeliveryOut]), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_deliveries(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<DeliveryOut>>> {
    Ok(Json(s.app.deliveries(&u.user, id).await?.iter().map(delivery_out).collect()))
}

/// Sends a delivered or failed delivery again now, with a fresh retry window (409 while it is
/// still waiting).
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/retry", tag = "webhooks",
    params(("id" = i64, Path, description = "Delivery id")),
    responses((status = 200, body = DeliveryOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn retry_delivery(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<DeliveryOut>> {
    Ok(Json(delivery_out(&s.app.retry_delivery(&u.user, id).await?)))
}
