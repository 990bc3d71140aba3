//! JSON API: vision board, goals, key results and KPIs.

use super::outcome;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiUser, Json as JsonIn, Query};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use keel_api::vision::{VisionCompareOut, VisionIn, VisionOut, VisionVersionOut, VisionVersionsOut};
use keel_api::wire::ProposalOut;
use keel_api::Problem;
use keel_domain::vision::{card_markdown, changed_fields};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/products/{product}/vision", get(get_vision).put(put_vision))
        .route("/api/v1/products/{product}/vision/versions", get(list_versions))
        .route("/api/v1/products/{product}/vision/versions/{n}", get(get_version))
        .route("/api/v1/products/{product}/vision/compare", get(compare))
        .route("/api/v1/products/{product}/vision-card", get(card))
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(get_vision, put_vision, list_versions, get_version, compare, card),
    tags((name = "vision", description = "The product's vision board, its versions and the vision card"))
)]
pub struct Doc;

/// The current vision board of a product (`version` 0 and no `current` until first saved).
#[utoipa::path(get, path = "/api/v1/products/{product}/vision", tag = "vision",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = VisionOut), (status = 404, body = Problem)))]
pub async fn get_vision(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<VisionOut>> {
    let a = s.app.access(&u.user, &key).await?;
    let v = s.app.vision(&a).await?;
    Ok(Json(VisionOut::new(&v)))
}

/// Saves a new version of the vision board (the Product Manager; the Product Owner's save is
/// stored as a proposal, 202). Send the `version` read: a stale one answers 409.
#[utoipa::path(put, path = "/api/v1/products/{product}/vision", tag = "vision",
    params(("product" = String, Path, description = "Product key")), request_body = VisionIn,
    responses((status = 200, body = VisionOut), (status = 202, body = ProposalOut), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn put_vision(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<VisionIn>,
) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    let o = s.app.save_vision(&a, b.fields(), b.version, b.reason.as_deref()).await?;
    Ok(outcome(o, StatusCode::OK, |v| Json(VisionOut::new(&v)).into_response()))
}

/// Every kept version of the vision board, newest first.
#[utoipa::path(get, path = "/api/v1/products/{product}/vision/versions", tag = "vision",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = VisionVersionsOut), (status = 404, body = Problem)))]
pub async fn list_versions(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<VisionVersionsOut>> {
    let a = s.app.access(&u.user, &key).await?;
    let v = s.app.vision(&a).await?;
    Ok(Json(VisionVersionsOut { versions: v.versions.iter().rev().map(VisionVersionOut::new).collect() }))
}

/// One kept version of the vision board.
#[utoipa::path(get, path = "/api/v1/products/{product}/vision/versions/{n}", tag = "vision",
    params(("product" = String, Path, description = "Product key"), ("n" = i64, Path, description = "Version number")),
    responses((status = 200, body = VisionVersionOut), (status = 404, body = Problem)))]
pub async fn get_version(
    State(s): State<AppState>,
    u: ApiUser,
    Path((key, n)): Path<(String, String)>,
) -> ApiResult<Json<VisionVersionOut>> {
    let a = s.app.access(&u.user, &key).await?;
    let n: i64 = n.parse().map_err(|_| ApiError::not_found())?;
    let v = s.app.vision(&a).await?;
    v.version(n).map(|x| Json(VisionVersionOut::new(x))).ok_or_else(ApiError::not_found)
}

/// Which two versions to compare.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CompareQuery {
    /// One version number.
    pub a: i64,
    /// The other version number.
    pub b: i64,
}

/// Two versions of the vision board side by side, with the fields that differ.
#[utoipa::path(get, path = "/api/v1/products/{product}/vision/compare", tag = "vision",
    params(("product" = String, Path, description = "Product key"), CompareQuery),
    responses((status = 200, body = VisionCompareOut), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn compare(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    Query(q): Query<CompareQuery>,
) -> ApiResult<Json<VisionCompareOut>> {
    let a = s.app.access(&u.user, &key).await?;
    let v = s.app.vision(&a).await?;
    let va = v.version(q.a).ok_or_else(|| ApiError::invalid("a", "is no version of this vision"))?;
    let vb = v.version(q.b).ok_or_else(|| ApiError::invalid("b", "is no version of this vision"))?;
    Ok(Json(VisionCompareOut {
        a: VisionVersionOut::new(va),
        b: VisionVersionOut::new(vb),
        changed: changed_fields(&va.fields, &vb.fields).into_iter().map(String::from).collect(),
    }))
}

/// The card's format.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CardQuery {
    /// `markdown` (the default) or `html`.
    #[serde(default)]
    pub format: Option<String>,
}

/// The one-page vision card of the current version, as Markdown (`text/markdown`) or as a
/// printable HTML page (`?format=html`). 404 until the vision is first saved.
#[utoipa::path(get, path = "/api/v1/products/{product}/vision-card", tag = "vision",
    params(("product" = String, Path, description = "Product key"), CardQuery),
    responses((status = 200, description = "The card", content_type = "text/markdown"), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn card(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    Query(q): Query<CardQuery>,
) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    let v = s.app.vision(&a).await?;
    let cur = v.current().ok_or_else(ApiError::not_found)?;
    let md = card_markdown(&a.product.name, cur);
    match q.format.as_deref().unwrap_or("markdown") {
        "markdown" | "md" => {
            Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], md).into_response())
        }
        "html" => {
            let body = crate::markdown::render(&md);
            let html = format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — vision card</title></head><body>{}</body></html>",
                askama_escape(&a.product.name),
                body
            );
            Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
        }
        _ => Err(ApiError::invalid("format", "must be one of markdown, html")),
    }
}

fn askama_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
