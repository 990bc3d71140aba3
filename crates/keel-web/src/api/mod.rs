//! The JSON API under `/api/v1`, and its OpenAPI 3.1 document generated from these handlers.

pub mod board;
pub mod ceremonies;
pub mod comments;
pub mod discovery;
pub mod forecast;
pub mod health;
pub mod imports;
pub mod items;
pub mod launch;
pub mod live;
pub mod market;
pub mod metrics;
pub mod outcomes;
pub mod poker;
pub mod portfolio;
pub mod products;
pub mod proposals;
pub mod readiness;
pub mod roadmap;
pub mod search;
pub mod session;
pub mod sprints;
pub mod users;
pub mod vision;
pub mod webhooks;
pub mod widget;

use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use keel_api::wire::ProposalOut;
use keel_app::{App, Outcome, ProductAccess};
use keel_domain::user::User;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The API's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(health::routes())
        .merge(session::routes())
        .merge(users::routes())
        .merge(products::routes())
        .merge(items::routes())
        .merge(proposals::routes())
        .merge(sprints::routes())
        .merge(board::routes())
        .merge(poker::routes())
        .merge(readiness::routes())
        .merge(ceremonies::routes())
        .merge(vision::routes())
        .merge(roadmap::routes())
        .merge(discovery::routes())
        .merge(market::routes())
        .merge(widget::routes())
        .merge(launch::routes())
        .merge(outcomes::routes())
        .merge(portfolio::routes())
        .merge(metrics::routes())
        .merge(forecast::routes())
        .merge(search::routes())
        .merge(webhooks::routes())
        .merge(imports::routes())
        .merge(comments::routes())
        .merge(live::routes())
        .route("/api/v1/openapi.json", get(openapi_json))
}

/// The answer to an unknown path: a problem under `/api/`, the UI's 404 page elsewhere.
pub async fn not_found(
    state: axum::extract::State<AppState>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::not_found().into_response()
    } else {
        crate::ui::not_found_page(state, headers).await
    }
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("keel_session"))),
        );
    }
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Keel API", description = "Keel's JSON API: products, backlog items, proposals, users and tokens. \
        Authenticate with `Authorization: Bearer <token>` (create one with POST /api/v1/tokens or `keel token create`), \
        or with the session cookie from POST /api/v1/session plus the `X-CSRF-Token` header on writes. \
        Errors are `application/problem+json` (RFC 9457). A change the caller may only propose answers 202 with the proposal."),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
    paths(
        health::healthz, health::readyz, crate::telemetry::metrics,
        session::sign_in, session::sign_out, session::me,
        session::create_token, session::list_tokens, session::revoke_token,
        users::list_users, users::create_user, users::get_user, users::patch_user,
        products::list_products, products::create_product, products::get_product, products::patch_product,
        products::list_members, products::put_member, products::delete_member, products::workflow,
        items::create_item, items::list_items, items::backlog, items::get_item, items::patch_item,
        items::delete_item, items::move_item, items::history, items::list_links, items::add_link,
        items::remove_link, items::list_criteria, items::add_criterion, items::patch_criterion,
        items::delete_criterion,
        proposals::list_proposals, proposals::create_proposal, proposals::get_proposal,
        proposals::accept_proposal, proposals::decline_proposal,
    ),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "session", description = "Signing in, the current user, API tokens"),
        (name = "users", description = "User administration"),
        (name = "products", description = "Products and memberships"),
        (name = "items", description = "Backlog items"),
        (name = "proposals", description = "Proposed changes and their decisions"),
    )
)]
pub struct ApiDoc;

/// The whole OpenAPI document: the core paths and each feature module's.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for part in [
        sprints::Doc::openapi(),
        board::Doc::openapi(),
        poker::Doc::openapi(),
        readiness::Doc::openapi(),
        ceremonies::Doc::openapi(),
        vision::Doc::openapi(),
        roadmap::Doc::openapi(),
        discovery::Doc::openapi(),
        market::Doc::openapi(),
        widget::Doc::openapi(),
        launch::Doc::openapi(),
        outcomes::Doc::openapi(),
        portfolio::Doc::openapi(),
        metrics::Doc::openapi(),
        forecast::Doc::openapi(),
        search::Doc::openapi(),
        webhooks::Doc::openapi(),
        imports::Doc::openapi(),
        comments::Doc::openapi(),
        live::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    doc
}

async fn openapi_json() -> Response {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOC.get_or_init(|| document().to_json().unwrap_or_default());
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body.clone()).into_response()
}

/// The product key of an item key (`SHOP-42` → `SHOP`).
pub fn product_of(item_key: &str) -> &str {
    item_key.rsplit_once('-').map_or(item_key, |(p, _)| p)
}

/// The caller's access to the product of item `key`.
pub async fn item_access(app: &App, user: &User, key: &str) -> ApiResult<ProductAccess> {
    Ok(app.access(user, product_of(key)).await?)
}

/// 200/201 with `ok`'s body when done, 202 with the proposal when proposed.
pub fn outcome<T>(o: Outcome<T>, done: StatusCode, ok: impl FnOnce(T) -> Response) -> Response {
    match o {
        Outcome::Done(t) => {
            let mut r = ok(t);
            if r.status() == StatusCode::OK {
                *r.status_mut() = done;
            }
            r
        }
        Outcome::Proposed(p) => (StatusCode::ACCEPTED, Json(ProposalOut::from(&*p))).into_response(),
    }
}

/// A `limit` query parameter clamped to 1..=500 (default 50).
pub fn limit(l: Option<u32>) -> u32 {
    l.unwrap_or(50).clamp(1, 500)
}
