//! JSON API: vision board, goals, key results and KPIs.

use super::outcome;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::extract::{ApiUser, Json as JsonIn, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use keel_api::vision::{
    GoalIn, GoalListOut, GoalOut, GoalPatchIn, KeyResultIn, KeyResultOut, KeyResultPatchIn, KpiIn,
    KpiListOut, KpiOut, KpiPatchIn, MeasurementOut, MeasurementsIn, VisionCompareOut, VisionIn, VisionOut,
    VisionVersionOut, VisionVersionsOut,
};
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
        .route("/api/v1/products/{product}/kpis", get(list_kpis).post(create_kpi))
        .route("/api/v1/kpis/{id}", get(get_kpi).patch(patch_kpi).delete(delete_kpi))
        .route("/api/v1/kpis/{id}/measurements", get(get_measurements).post(post_measurements))
        .route("/api/v1/kpis/{id}/measurements/import", axum::routing::post(import_measurements))
        .route("/api/v1/products/{product}/goals", get(list_goals).post(create_goal))
        .route("/api/v1/goals/{id}", get(get_goal).patch(patch_goal).delete(delete_goal))
        .route("/api/v1/goals/{id}/key-results", get(list_key_results).post(add_key_result))
        .route(
            "/api/v1/goals/{id}/key-results/{kr}",
            axum::routing::patch(patch_key_result).delete(delete_key_result),
        )
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(get_vision, put_vision, list_versions, get_version, compare, card, list_kpis, create_kpi, get_kpi,
        delete_kpi, get_measurements, post_measurements, import_measurements, list_goals, create_goal, get_goal,
        delete_goal, list_key_results, add_key_result, delete_key_result, patch_kpi, patch_goal, patch_key_result),
    tags((name = "vision", description = "The product's vision board, its versions and the vision card"),
        (name = "kpis", description = "KPIs: baseline, target, measurements and progress"),
        (name = "goals", description = "Goals and their key results, with progress from the KPIs"))
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
    /// `markdown` (the default), `html` or `pdf`.
    #[serde(default)]
    pub format: Option<String>,
}

/// The one-page vision card of the current version, as Markdown (`text/markdown`) or as a
/// printable HTML page (`?format=html`) or a one-page A4 PDF (`?format=pdf`). 404 until the
/// vision is first saved.
#[utoipa::path(get, path = "/api/v1/products/{product}/vision-card", tag = "vision",
    params(("product" = String, Path, description = "Product key"), CardQuery),
    responses((status = 200, description = "The card (text/markdown, text/html or application/pdf)", content_type = "text/markdown"), (status = 404, body = Problem),
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
        "pdf" => {
            let pdf = vision_card_pdf(&a.product.name, cur);
            let name = format!("attachment; filename=\"{}-vision-card.pdf\"", a.product.key);
            Ok((
                [(header::CONTENT_TYPE, "application/pdf".to_string()), (header::CONTENT_DISPOSITION, name)],
                pdf,
            )
                .into_response())
        }
        _ => Err(ApiError::invalid("format", "must be one of markdown, html, pdf")),
    }
}

/// The vision card of `v` as a one-page A4 PDF.
pub fn vision_card_pdf(product: &str, v: &keel_domain::vision::VisionVersion) -> Vec<u8> {
    use crate::pdf::Section;
    let f = &v.fields;
    let version = format!("version {}, saved {}", v.number, keel_domain::Date::of(v.saved_at));
    let sections = [
        Section { label: "Target group", body: &f.target_group },
        Section { label: "Needs", body: &f.needs },
        Section { label: "Product", body: &f.product },
        Section { label: "Business goals", body: &f.business_goals },
    ];
    crate::pdf::vision_card(product, &version, &f.statement, &sections)
}

fn askama_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn kpi_out(k: &keel_app::records::Stored<keel_domain::kpi::Kpi>) -> KpiOut {
    KpiOut::new(k.id.0, k.version, &k.data)
}

async fn kpi_of(
    s: &AppState,
    u: &ApiUser,
    id: &str,
) -> ApiResult<(keel_app::records::Stored<keel_domain::kpi::Kpi>, keel_app::ProductAccess)> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    Ok(s.app.kpi_access(&u.user, keel_domain::RecordId(id)).await?)
}

/// A product's KPIs with their progress.
#[utoipa::path(get, path = "/api/v1/products/{product}/kpis", tag = "kpis",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = KpiListOut), (status = 404, body = Problem)))]
pub async fn list_kpis(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<KpiListOut>> {
    let a = s.app.access(&u.user, &key).await?;
    Ok(Json(KpiListOut { kpis: s.app.kpis(&a).await?.iter().map(kpi_out).collect() }))
}

/// Defines a KPI (the Product Manager; the Product Owner gets 403). The target must differ
/// from the baseline and lie in the good direction; a percentage is 0-100.
#[utoipa::path(post, path = "/api/v1/products/{product}/kpis", tag = "kpis",
    params(("product" = String, Path, description = "Product key")), request_body = KpiIn,
    responses((status = 201, body = KpiOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_kpi(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<KpiIn>,
) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    let k = b.parse().map_err(keel_app::AppError::from)?;
    let k = s.app.create_kpi(&a, k).await?;
    Ok((StatusCode::CREATED, Json(kpi_out(&k))).into_response())
}

/// A KPI with its series and progress.
#[utoipa::path(get, path = "/api/v1/kpis/{id}", tag = "kpis", params(("id" = i64, Path, description = "KPI id")),
    responses((status = 200, body = KpiOut), (status = 404, body = Problem)))]
pub async fn get_kpi(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<KpiOut>> {
    let (k, _) = kpi_of(&s, &u, &id).await?;
    Ok(Json(kpi_out(&k)))
}

/// Deletes a KPI (the Product Manager).
#[utoipa::path(delete, path = "/api/v1/kpis/{id}", tag = "kpis", params(("id" = i64, Path, description = "KPI id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_kpi(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let (k, a) = kpi_of(&s, &u, &id).await?;
    s.app.delete_kpi(&a, &k).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A KPI's measurements, by date.
#[utoipa::path(get, path = "/api/v1/kpis/{id}/measurements", tag = "kpis",
    params(("id" = i64, Path, description = "KPI id")),
    responses((status = 200, body = [MeasurementOut]), (status = 404, body = Problem)))]
pub async fn get_measurements(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<MeasurementOut>>> {
    let (k, _) = kpi_of(&s, &u, &id).await?;
    Ok(Json(kpi_out(&k).measurements))
}

/// Records one measurement (`{"date", "value", "note"}`) or several (`{"measurements": [...]}`),
/// all or nothing: the Product Manager, the Product Owner, or automation with their API token.
#[utoipa::path(post, path = "/api/v1/kpis/{id}/measurements", tag = "kpis",
    params(("id" = i64, Path, description = "KPI id")), request_body = MeasurementsIn,
    responses((status = 201, body = KpiOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn post_measurements(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    JsonIn(b): JsonIn<MeasurementsIn>,
) -> ApiResult<Response> {
    let (k, a) = kpi_of(&s, &u, &id).await?;
    let ms = b.parse(k.data.unit).map_err(keel_app::AppError::from)?;
    let k = s.app.add_measurements(&a, k.id, ms).await?;
    Ok((StatusCode::CREATED, Json(kpi_out(&k))).into_response())
}

/// Imports measurements from a CSV body `date,value[,note]` (header row optional). Every row is
/// checked first: with a bad row nothing is written and the 422 names each bad row.
#[utoipa::path(post, path = "/api/v1/kpis/{id}/measurements/import", tag = "kpis",
    params(("id" = i64, Path, description = "KPI id")), request_body(content = String, content_type = "text/csv"),
    responses((status = 201, body = KpiOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn import_measurements(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    body: String,
) -> ApiResult<Response> {
    let (k, a) = kpi_of(&s, &u, &id).await?;
    let k = s.app.import_measurements(&a, &k, &body).await?;
    Ok((StatusCode::CREATED, Json(kpi_out(&k))).into_response())
}

fn goal_out(g: &keel_app::vision::GoalProgress) -> GoalOut {
    GoalOut::new(g.goal.id.0, &g.goal.data, &g.key_results, g.progress)
}

async fn goal_of(
    s: &AppState,
    u: &ApiUser,
    id: &str,
) -> ApiResult<(keel_app::vision::GoalProgress, keel_app::ProductAccess)> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    Ok(s.app.goal_access(&u.user, keel_domain::RecordId(id)).await?)
}

/// A product's goals with their key results and progress.
#[utoipa::path(get, path = "/api/v1/products/{product}/goals", tag = "goals",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = GoalListOut), (status = 404, body = Problem)))]
pub async fn list_goals(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<GoalListOut>> {
    let a = s.app.access(&u.user, &key).await?;
    Ok(Json(GoalListOut { goals: s.app.goals(&a).await?.iter().map(goal_out).collect() }))
}

/// Creates a goal (the Product Manager; the Product Owner gets 403).
#[utoipa::path(post, path = "/api/v1/products/{product}/goals", tag = "goals",
    params(("product" = String, Path, description = "Product key")), request_body = GoalIn,
    responses((status = 201, body = GoalOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_goal(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<GoalIn>,
) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    let g = s.app.create_goal(&a, &b.title, &b.description, b.due.as_deref(), b.owner).await?;
    Ok((StatusCode::CREATED, Json(GoalOut::new(g.id.0, &g.data, &[], None))).into_response())
}

/// A goal with its key results and progress.
#[utoipa::path(get, path = "/api/v1/goals/{id}", tag = "goals", params(("id" = i64, Path, description = "Goal id")),
    responses((status = 200, body = GoalOut), (status = 404, body = Problem)))]
pub async fn get_goal(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<GoalOut>> {
    let (g, _) = goal_of(&s, &u, &id).await?;
    Ok(Json(goal_out(&g)))
}

/// Deletes a goal (the Product Manager).
#[utoipa::path(delete, path = "/api/v1/goals/{id}", tag = "goals", params(("id" = i64, Path, description = "Goal id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_goal(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let (g, a) = goal_of(&s, &u, &id).await?;
    s.app.delete_goal(&a, g.goal.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A goal's key results with their progress.
#[utoipa::path(get, path = "/api/v1/goals/{id}/key-results", tag = "goals",
    params(("id" = i64, Path, description = "Goal id")),
    responses((status = 200, body = [KeyResultOut]), (status = 404, body = Problem)))]
pub async fn list_key_results(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<KeyResultOut>>> {
    let (g, _) = goal_of(&s, &u, &id).await?;
    Ok(Json(goal_out(&g).key_results))
}

/// Adds a key result tracking a KPI of the same product (the Product Manager).
#[utoipa::path(post, path = "/api/v1/goals/{id}/key-results", tag = "goals",
    params(("id" = i64, Path, description = "Goal id")), request_body = KeyResultIn,
    responses((status = 201, body = GoalOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn add_key_result(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    JsonIn(b): JsonIn<KeyResultIn>,
) -> ApiResult<Response> {
    let (g, a) = goal_of(&s, &u, &id).await?;
    s.app.add_key_result(&a, g.goal.id, &b.title, b.kpi_id).await?;
    let (g, _) = goal_of(&s, &u, &id).await?;
    Ok((StatusCode::CREATED, Json(goal_out(&g))).into_response())
}

/// Removes a key result (the Product Manager).
#[utoipa::path(delete, path = "/api/v1/goals/{id}/key-results/{kr}", tag = "goals",
    params(("id" = i64, Path, description = "Goal id"), ("kr" = i64, Path, description = "Key result id")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_key_result(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, kr)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (g, a) = goal_of(&s, &u, &id).await?;
    let kr: i64 = kr.parse().map_err(|_| ApiError::not_found())?;
    s.app.delete_key_result(&a, g.goal.id, kr).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes a KPI's definition (the Product Manager): the rules of creation apply again.
#[utoipa::path(patch, path = "/api/v1/kpis/{id}", tag = "kpis", params(("id" = i64, Path, description = "KPI id")),
    request_body = KpiPatchIn,
    responses((status = 200, body = KpiOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_kpi(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    JsonIn(b): JsonIn<KpiPatchIn>,
) -> ApiResult<Json<KpiOut>> {
    use keel_domain::kpi::{Direction, KpiKind, Unit};
    let (k, a) = kpi_of(&s, &u, &id).await?;
    let e = keel_app::AppError::from;
    let p = keel_app::vision::KpiPatch {
        name: b.name,
        kind: b.kind.as_deref().map(|x| KpiKind::parse("kind", x)).transpose().map_err(e)?,
        unit: b.unit.as_deref().map(|x| Unit::parse("unit", x)).transpose().map_err(e)?,
        direction: b.direction.as_deref().map(|x| Direction::parse("direction", x)).transpose().map_err(e)?,
        baseline: b.baseline,
        target: b.target,
        due: b.due,
    };
    let k = s.app.update_kpi(&a, &k, p, b.version).await?;
    Ok(Json(kpi_out(&k)))
}

/// Changes a goal (the Product Manager).
#[utoipa::path(patch, path = "/api/v1/goals/{id}", tag = "goals", params(("id" = i64, Path, description = "Goal id")),
    request_body = GoalPatchIn,
    responses((status = 200, body = GoalOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_goal(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    JsonIn(b): JsonIn<GoalPatchIn>,
) -> ApiResult<Json<GoalOut>> {
    let (g, a) = goal_of(&s, &u, &id).await?;
    s.app
        .update_goal(
            &a,
            g.goal.id,
            b.title.as_deref(),
            b.description.as_deref(),
            b.due.as_deref(),
            b.owner,
            b.version,
        )
        .await?;
    let (g, _) = goal_of(&s, &u, &id).await?;
    Ok(Json(goal_out(&g)))
}

/// Changes a key result (the Product Manager).
#[utoipa::path(patch, path = "/api/v1/goals/{id}/key-results/{kr}", tag = "goals",
    params(("id" = i64, Path, description = "Goal id"), ("kr" = i64, Path, description = "Key result id")),
    request_body = KeyResultPatchIn,
    responses((status = 200, body = GoalOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn patch_key_result(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, kr)): Path<(String, String)>,
    JsonIn(b): JsonIn<KeyResultPatchIn>,
) -> ApiResult<Json<GoalOut>> {
    let (g, a) = goal_of(&s, &u, &id).await?;
    let kr: i64 = kr.parse().map_err(|_| ApiError::not_found())?;
    s.app.update_key_result(&a, g.goal.id, kr, b.title.as_deref(), b.kpi_id).await?;
    let (g, _) = goal_of(&s, &u, &id).await?;
    Ok(Json(goal_out(&g)))
}
