//! Pages: a product's outgoing webhooks (Settings → Webhooks) and each one's delivery log.
//! Plain forms, without JavaScript.

use super::form::FormData;
use super::{finish, message, redirect_with, render, Flash, Layout, UiResult};
use crate::api::webhooks::delivery_out;
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use keel_api::webhooks::DeliveryOut;
use keel_app::webhooks::WebhookInput;
use keel_app::AppError;
use keel_domain::webhook::EVENT_TYPES;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/products/{key}/settings/webhooks", get(page).post(create))
        .route("/webhooks/{id}", get(log_page))
        .route("/webhooks/{id}/toggle", post(toggle))
        .route("/webhooks/{id}/rotate", post(rotate))
        .route("/webhooks/{id}/delete", post(delete))
        .route("/deliveries/{id}/retry", post(retry))
}

/// One webhook as listed.
struct Row {
    id: i64,
    url: String,
    secret: String,
    events: Vec<String>,
    active: bool,
    pending: usize,
    delivered: usize,
    failed: usize,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct Page {
    l: Layout,
    key: String,
    hooks: Vec<Row>,
    events: Vec<&'static str>,
}

/// GET /products/{key}/settings/webhooks
async fn page(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let list = st.app.webhooks(&a).await?;
        let mut hooks = Vec::with_capacity(list.len());
        for h in list {
            let ds = st.app.deliveries(&s.user, h.id).await?;
            let count = |st: &str| ds.iter().filter(|d| d.status == st).count();
            hooks.push(Row {
                id: h.id,
                pending: count("pending"),
                delivered: count("delivered"),
                failed: count("failed"),
                url: h.url,
                secret: h.secret,
                events: h.events,
                active: h.active,
            });
        }
        let l = Layout::new(&st, &s, "Webhooks", "settings", Some(&a.product))
            .await
            .crumb(format!("/products/{}/settings", a.product.key), "Settings")
            .flash(&f);
        render(&Page { l, key: a.product.key.to_string(), hooks, events: EVENT_TYPES.to_vec() })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products/{key}/settings/webhooks: adds a webhook.
async fn create(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/settings/webhooks", a.product.key);
        let input = WebhookInput {
            url: Some(form.get("url").to_string()),
            events: Some(form.all("events").into_iter().map(str::to_string).collect()),
            active: Some(true),
            rotate_secret: false,
        };
        match st.app.create_webhook(&a, input).await {
            Ok(_) => Ok(redirect_with(&back, "notice", "Webhook added. Its secret signs every delivery.")),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// Applies a change to webhook `id` and goes back to the list with a notice.
async fn change(
    st: &AppState,
    s: &UiSession,
    id: i64,
    form: &FormData,
    input: WebhookInput,
    done: &str,
) -> UiResult {
    s.check_csrf(form.get("csrf"))?;
    let (_, a) = st.app.webhook(&s.user, id).await?;
    let back = format!("/products/{}/settings/webhooks", a.product.key);
    match st.app.update_webhook(&s.user, id, input).await {
        Ok(_) => Ok(redirect_with(&back, "notice", done)),
        Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
        Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
    }
}

/// POST /webhooks/{id}/toggle: pauses or resumes.
async fn toggle(State(st): State<AppState>, s: UiSession, Path(id): Path<i64>, form: FormData) -> Response {
    let r = async {
        let active = form.get("active") == "true";
        let input = WebhookInput { active: Some(active), ..Default::default() };
        change(&st, &s, id, &form, input, if active { "Webhook resumed." } else { "Webhook paused." }).await
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /webhooks/{id}/rotate: a new secret.
async fn rotate(State(st): State<AppState>, s: UiSession, Path(id): Path<i64>, form: FormData) -> Response {
    let r = async {
        let input = WebhookInput { rotate_secret: true, ..Default::default() };
        change(&st, &s, id, &form, input, "New secret made; update the receiver.").await
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /webhooks/{id}/delete
async fn delete(State(st): State<AppState>, s: UiSession, Path(id): Path<i64>, form: FormData) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (_, a) = st.app.webhook(&s.user, id).await?;
        st.app.delete_webhook(&s.user, id).await?;
        Ok(redirect_with(
            &format!("/products/{}/settings/webhooks", a.product.key),
            "notice",
            "Webhook deleted.",
        ))
    }
    .await;
    finish(&st, &s, r).await
}

#[derive(Template)]
#[template(path = "webhook_log.html")]
struct LogPage {
    l: Layout,
    id: i64,
    url: String,
    active: bool,
    deliveries: Vec<DeliveryOut>,
}

/// GET /webhooks/{id}: the delivery log.
async fn log_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let (h, a) = st.app.webhook(&s.user, id).await?;
        let deliveries = st.app.deliveries(&s.user, id).await?.iter().map(delivery_out).collect();
        let l = Layout::new(&st, &s, "Deliveries", "settings", Some(&a.product))
            .await
            .crumb(format!("/products/{}/settings", a.product.key), "Settings")
            .crumb(format!("/products/{}/settings/webhooks", a.product.key), "Webhooks")
            .flash(&f);
        render(&LogPage { l, id, url: h.url, active: h.active, deliveries })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /deliveries/{id}/retry
async fn retry(State(st): State<AppState>, s: UiSession, Path(id): Path<i64>, form: FormData) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let d = st.app.store().delivery(id).await.map_err(AppError::from)?;
        let back = format!("/webhooks/{}", d.webhook_id);
        match st.app.retry_delivery(&s.user, id).await {
            Ok(_) => Ok(redirect_with(&back, "notice", "Delivery queued to be sent again.")),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}
