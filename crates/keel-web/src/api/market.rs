//! JSON API: competitors, stakeholders and their updates, go-to-market, PRDs, the portfolio.

use crate::error::ApiResult;
use crate::extract::Path;
use crate::extract::{ApiUser, Json as JsonIn, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, put};
use axum::{Json, Router};
use keel_api::market::{
    CapabilityIn, CellIn, CompetitorIn, ContactIn, MatrixOut, StakeholderIn, StakeholderOut,
    StakeholderUpdateIn, StakeholderUpdateOut,
};
use keel_api::Problem;
use keel_app::market::{CapabilityInput, CompetitorInput, ContactInput, MatrixChange, StakeholderInput};
use keel_app::records::Stored;
use keel_app::{App, ProductAccess};
use keel_domain::market::{Stakeholder, StakeholderUpdate};
use keel_domain::RecordId;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/products/{product}/competitors", get(get_matrix).post(create_competitor))
        .route(
            "/api/v1/products/{product}/competitors/{id}",
            patch(patch_competitor).delete(delete_competitor),
        )
        .route("/api/v1/products/{product}/capabilities", axum::routing::post(create_capability))
        .route(
            "/api/v1/products/{product}/capabilities/{id}",
            patch(patch_capability).delete(delete_capability),
        )
        .route("/api/v1/products/{product}/competitors/{competitor}/cells/{capability}", put(put_cell))
        .route("/api/v1/products/{product}/stakeholders", get(list_stakeholders).post(create_stakeholder))
        .route(
            "/api/v1/stakeholders/{id}",
            get(get_stakeholder).patch(patch_stakeholder).delete(delete_stakeholder),
        )
        .route("/api/v1/stakeholders/{id}/contacts", axum::routing::post(add_contact))
        .route("/api/v1/products/{product}/stakeholder-updates", get(list_updates).post(compose_update))
        .route("/api/v1/stakeholder-updates/{id}", get(get_update).patch(patch_update))
        .route("/api/v1/stakeholder-updates/{id}/publish", axum::routing::post(publish_update))
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(
        get_matrix, create_competitor, patch_competitor, delete_competitor, create_capability,
        patch_capability, delete_capability, put_cell, list_stakeholders, create_stakeholder,
        get_stakeholder, patch_stakeholder, delete_stakeholder, add_contact, list_updates,
        compose_update, get_update, patch_update, publish_update,
    ),
    tags((name = "market", description = "The competitor matrix, stakeholders and their updates"))
)]
pub struct Doc;

/// The version a deletion is based on.
#[derive(Debug, Deserialize, IntoParams)]
pub struct VersionQuery {
    /// The matrix version the change is based on (409 when stale).
    pub version: Option<i64>,
}

async fn matrix_json(app: &App, a: &ProductAccess) -> ApiResult<MatrixOut> {
    let (m, v) = app.competitor_matrix(a).await?;
    Ok(MatrixOut::new(&m, &a.product.name, v))
}

async fn change(
    s: &AppState,
    u: &ApiUser,
    key: &str,
    c: MatrixChange,
    version: Option<i64>,
) -> ApiResult<MatrixOut> {
    let a = s.app.access(&u.user, key).await?;
    let (m, v) = s.app.change_matrix(&a, c, version).await?;
    Ok(MatrixOut::new(&m, &a.product.name, v))
}

fn competitor_input(b: CompetitorIn) -> CompetitorInput {
    CompetitorInput { name: b.name, site: b.site, pricing: b.pricing, positioning: b.positioning }
}

/// The competitor matrix: our product and the competitors as columns, capabilities as rows.
#[utoipa::path(get, path = "/api/v1/products/{product}/competitors", tag = "market",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = MatrixOut), (status = 404, body = Problem)))]
pub async fn get_matrix(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<MatrixOut>> {
    let a = s.app.access(&u.user, &key).await?;
    Ok(Json(matrix_json(&s.app, &a).await?))
}

/// Adds a competitor. The Product Manager decides; others get a 403.
#[utoipa::path(post, path = "/api/v1/products/{product}/competitors", tag = "market",
    params(("product" = String, Path, description = "Product key")), request_body = CompetitorIn,
    responses((status = 201, body = MatrixOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_competitor(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<CompetitorIn>,
) -> ApiResult<Response> {
    let v = b.version;
    let m = change(&s, &u, &key, MatrixChange::AddCompetitor(competitor_input(b)), v).await?;
    Ok((StatusCode::CREATED, Json(m)).into_response())
}

/// Changes a competitor.
#[utoipa::path(patch, path = "/api/v1/products/{product}/competitors/{id}", tag = "market",
    params(("product" = String, Path, description = "Product key"), ("id" = i64, Path, description = "Competitor id")),
    request_body = CompetitorIn,
    responses((status = 200, body = MatrixOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_competitor(
    State(s): State<AppState>,
    u: ApiUser,
    Path((key, id)): Path<(String, i64)>,
    JsonIn(b): JsonIn<CompetitorIn>,
) -> ApiResult<Json<MatrixOut>> {
    let v = b.version;
    Ok(Json(change(&s, &u, &key, MatrixChange::EditCompetitor(id, competitor_input(b)), v).await?))
}

/// Removes a competitor and its cells.
#[utoipa::path(delete, path = "/api/v1/products/{product}/competitors/{id}", tag = "market",
    params(("product" = String, Path, description = "Product key"), ("id" = i64, Path, description = "Competitor id"),
        VersionQuery),
    responses((status = 200, body = MatrixOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn delete_competitor(
    State(s): State<AppState>,
    u: ApiUser,
    Path((key, id)): Path<(String, i64)>,
    Query(q): Query<VersionQuery>,
) -> ApiResult<Json<MatrixOut>> {
    Ok(Json(change(&s, &u, &key, MatrixChange::RemoveCompetitor(id), q.version).await?))
}

/// Adds a capability (a row).
#[utoipa::path(post, path = "/api/v1/products/{product}/capabilities", tag = "market",
    params(("product" = String, Path, description = "Product key")), request_body = CapabilityIn,
    responses((status = 201, body = MatrixOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_capability(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<CapabilityIn>,
) -> ApiResult<Response> {
    let c = MatrixChange::AddCapability(CapabilityInput { name: b.name, opportunities: b.opportunities });
    let m = change(&s, &u, &key, c, b.version).await?;
    Ok((StatusCode::CREATED, Json(m)).into_response())
}

/// Changes a capability.
#[utoipa::path(patch, path = "/api/v1/products/{product}/capabilities/{id}", tag = "market",
    params(("product" = String, Path, description = "Product key"), ("id" = i64, Path, description = "Capability id")),
    request_body = CapabilityIn,
    responses((status = 200, body = MatrixOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_capability(
    State(s): State<AppState>,
    u: ApiUser,
    Path((key, id)): Path<(String, i64)>,
    JsonIn(b): JsonIn<CapabilityIn>,
) -> ApiResult<Json<MatrixOut>> {
    let c =
        MatrixChange::EditCapability(id, CapabilityInput { name: b.name, opportunities: b.opportunities });
    Ok(Json(change(&s, &u, &key, c, b.version).await?))
}

/// Removes a capability and its cells.
#[utoipa::path(delete, path = "/api/v1/products/{product}/capabilities/{id}", tag = "market",
    params(("product" = String, Path, description = "Product key"), ("id" = i64, Path, description = "Capability id"),
        VersionQuery),
    responses((status = 200, body = MatrixOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn delete_capability(
    State(s): State<AppState>,
    u: ApiUser,
    Path((key, id)): Path<(String, i64)>,
    Query(q): Query<VersionQuery>,
) -> ApiResult<Json<MatrixOut>> {
    Ok(Json(change(&s, &u, &key, MatrixChange::RemoveCapability(id), q.version).await?))
}

/// Sets a cell: how a competitor (0: our product) stands on a capability.
#[utoipa::path(put, path = "/api/v1/products/{product}/competitors/{competitor}/cells/{capability}", tag = "market",
    params(("product" = String, Path, description = "Product key"),
        ("competitor" = i64, Path, description = "Competitor id; 0 is our product"),
        ("capability" = i64, Path, description = "Capability id")),
    request_body = CellIn,
    responses((status = 200, body = MatrixOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_cell(
    State(s): State<AppState>,
    u: ApiUser,
    Path((key, competitor, capability)): Path<(String, i64, i64)>,
    JsonIn(b): JsonIn<CellIn>,
) -> ApiResult<Json<MatrixOut>> {
    let c = MatrixChange::SetCell(competitor, capability, b.mark, b.notes);
    Ok(Json(change(&s, &u, &key, c, b.version).await?))
}

/// A stakeholder as JSON.
pub fn stakeholder_json(s: &Stored<Stakeholder>) -> StakeholderOut {
    StakeholderOut::new(s.id, s.product_id.map_or(0, |p| p.0), &s.data, s.version, s.created_at)
}

fn stakeholder_input(b: StakeholderIn) -> StakeholderInput {
    StakeholderInput {
        person: b.person,
        organisation: b.organisation,
        role: b.role,
        power: b.power,
        interest: b.interest,
        initiatives: b.initiatives,
    }
}

/// The stakeholder register of a product, by person.
#[utoipa::path(get, path = "/api/v1/products/{product}/stakeholders", tag = "market",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = [StakeholderOut]), (status = 404, body = Problem)))]
pub async fn list_stakeholders(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<StakeholderOut>>> {
    let a = s.app.access(&u.user, &key).await?;
    Ok(Json(s.app.stakeholders(&a).await?.iter().map(stakeholder_json).collect()))
}

/// Adds a stakeholder. The Product Manager decides; others get a 403.
#[utoipa::path(post, path = "/api/v1/products/{product}/stakeholders", tag = "market",
    params(("product" = String, Path, description = "Product key")), request_body = StakeholderIn,
    responses((status = 201, body = StakeholderOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_stakeholder(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<StakeholderIn>,
) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    let st = s.app.create_stakeholder(&a, &stakeholder_input(b)).await?;
    Ok((StatusCode::CREATED, Json(stakeholder_json(&st))).into_response())
}

/// A stakeholder with the contact log.
#[utoipa::path(get, path = "/api/v1/stakeholders/{id}", tag = "market",
    params(("id" = i64, Path, description = "Stakeholder id")),
    responses((status = 200, body = StakeholderOut), (status = 404, body = Problem)))]
pub async fn get_stakeholder(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<StakeholderOut>> {
    let (st, _) = s.app.stakeholder(&u.user, RecordId(id)).await?;
    Ok(Json(stakeholder_json(&st)))
}

/// Changes a stakeholder.
#[utoipa::path(patch, path = "/api/v1/stakeholders/{id}", tag = "market",
    params(("id" = i64, Path, description = "Stakeholder id")), request_body = StakeholderIn,
    responses((status = 200, body = StakeholderOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_stakeholder(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<StakeholderIn>,
) -> ApiResult<Json<StakeholderOut>> {
    let v = b.version;
    let st = s.app.update_stakeholder(&u.user, RecordId(id), &stakeholder_input(b), v).await?;
    Ok(Json(stakeholder_json(&st)))
}

/// Deletes a stakeholder and the contact log.
#[utoipa::path(delete, path = "/api/v1/stakeholders/{id}", tag = "market",
    params(("id" = i64, Path, description = "Stakeholder id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn delete_stakeholder(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.app.delete_stakeholder(&u.user, RecordId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds an entry to a stakeholder's contact log.
#[utoipa::path(post, path = "/api/v1/stakeholders/{id}/contacts", tag = "market",
    params(("id" = i64, Path, description = "Stakeholder id")), request_body = ContactIn,
    responses((status = 201, body = StakeholderOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_contact(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<ContactIn>,
) -> ApiResult<Response> {
    let input = ContactInput { date: b.date, channel: b.channel, notes: b.notes };
    let st = s.app.add_contact(&u.user, RecordId(id), &input).await?;
    Ok((StatusCode::CREATED, Json(stakeholder_json(&st))).into_response())
}

/// A stakeholder update as JSON.
pub fn update_json(u: &Stored<StakeholderUpdate>) -> StakeholderUpdateOut {
    StakeholderUpdateOut::new(
        u.id,
        u.product_id.map_or(0, |p| p.0),
        &u.state,
        &u.data,
        u.version,
        u.created_at,
    )
}

/// The stakeholder updates of a product, newest first (drafts only for the Product Manager).
#[utoipa::path(get, path = "/api/v1/products/{product}/stakeholder-updates", tag = "market",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = [StakeholderUpdateOut]), (status = 404, body = Problem)))]
pub async fn list_updates(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<StakeholderUpdateOut>>> {
    let a = s.app.access(&u.user, &key).await?;
    Ok(Json(s.app.stakeholder_updates(&a).await?.iter().map(update_json).collect()))
}

/// Composes a draft update from the data: goal progress, initiatives changed and releases shipped
/// since the last published update, blocked items.
#[utoipa::path(post, path = "/api/v1/products/{product}/stakeholder-updates", tag = "market",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 201, body = StakeholderUpdateOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn compose_update(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    let d = s.app.compose_stakeholder_update(&a).await?;
    Ok((StatusCode::CREATED, Json(update_json(&d))).into_response())
}

/// A stakeholder update.
#[utoipa::path(get, path = "/api/v1/stakeholder-updates/{id}", tag = "market",
    params(("id" = i64, Path, description = "Update id")),
    responses((status = 200, body = StakeholderUpdateOut), (status = 404, body = Problem)))]
pub async fn get_update(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<StakeholderUpdateOut>> {
    let (d, _) = s.app.stakeholder_update(&u.user, RecordId(id)).await?;
    Ok(Json(update_json(&d)))
}

/// Edits a draft update; a published one is a 409.
#[utoipa::path(patch, path = "/api/v1/stakeholder-updates/{id}", tag = "market",
    params(("id" = i64, Path, description = "Update id")), request_body = StakeholderUpdateIn,
    responses((status = 200, body = StakeholderUpdateOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_update(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<StakeholderUpdateIn>,
) -> ApiResult<Json<StakeholderUpdateOut>> {
    let d = s
        .app
        .edit_stakeholder_update(
            &u.user,
            RecordId(id),
            b.title.as_deref(),
            b.body.as_deref(),
            false,
            b.version,
        )
        .await?;
    Ok(Json(update_json(&d)))
}

/// Publishes a draft update; it is kept as it is from then on.
#[utoipa::path(post, path = "/api/v1/stakeholder-updates/{id}/publish", tag = "market",
    params(("id" = i64, Path, description = "Update id"), VersionQuery),
    responses((status = 200, body = StakeholderUpdateOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn publish_update(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    Query(q): Query<VersionQuery>,
) -> ApiResult<Json<StakeholderUpdateOut>> {
    let d = s.app.edit_stakeholder_update(&u.user, RecordId(id), None, None, true, q.version).await?;
    Ok(Json(update_json(&d)))
}
