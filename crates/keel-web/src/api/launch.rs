//! JSON API: go-to-market (launch templates, release checklists, go / no-go decisions) and PRDs.

use super::item_access;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::extract::{ApiUser, Json as JsonIn, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use keel_api::launch::{
    LaunchDecisionIn, LaunchDecisionOut, LaunchDecisionResult, LaunchItemIn, LaunchOut, LaunchTemplateIn,
    LaunchTemplateOut, PrdIn, PrdOut,
};
use keel_api::Problem;
use keel_app::launch::{Launch, LaunchItemInput};
use keel_app::prd::{Prd, PrdSubject};
use keel_app::records::Stored;
use keel_app::{App, ProductAccess};
use keel_domain::sprint::Release;
use keel_domain::{RecordId, UserId};
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::{IntoParams, OpenApi};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/products/{product}/launch-template", get(get_template).put(put_template))
        .route("/api/v1/releases/{id}/launch", get(get_launch))
        .route("/api/v1/releases/{id}/launch/items", post(add_item))
        .route("/api/v1/releases/{id}/launch/items/{n}", put(put_item).delete(delete_item))
        .route("/api/v1/releases/{id}/launch/decision", post(post_decision))
        .route("/api/v1/initiatives/{id}/prd", get(get_initiative_prd).put(put_initiative_prd))
        .route("/api/v1/initiatives/{id}/prd/regenerate", post(regenerate_initiative_prd))
        .route("/api/v1/items/{key}/prd", get(get_epic_prd).put(put_epic_prd))
        .route("/api/v1/items/{key}/prd/regenerate", post(regenerate_epic_prd))
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(
        get_template, put_template, get_launch, add_item, put_item, delete_item, post_decision,
        get_initiative_prd, put_initiative_prd, regenerate_initiative_prd, get_epic_prd, put_epic_prd,
        regenerate_epic_prd,
    ),
    tags(
        (name = "launch", description = "Go-to-market: launch checklists and go / no-go decisions"),
        (name = "prd", description = "Product requirements documents per initiative or epic"),
    )
)]
pub struct Doc;

/// The names of a product's members, by user id.
pub async fn member_names(app: &App, a: &ProductAccess) -> ApiResult<HashMap<UserId, String>> {
    Ok(app.members(a).await?.into_iter().map(|(u, _)| (u.id, u.name)).collect())
}

/// A release's launch as JSON.
pub async fn launch_json(
    app: &App,
    a: &ProductAccess,
    r: &Stored<Release>,
    l: &Launch,
) -> ApiResult<LaunchOut> {
    let names = member_names(app, a).await?;
    let name = |u: UserId| names.get(&u).cloned();
    Ok(LaunchOut::new((r.id.0, &r.data.name, r.data.target_date), &l.checklist, l.version, l.today, &name))
}

/// The product's launch checklist template (the default until the Product Manager saves one).
#[utoipa::path(get, path = "/api/v1/products/{product}/launch-template", tag = "launch",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = LaunchTemplateOut), (status = 404, body = Problem)))]
pub async fn get_template(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<LaunchTemplateOut>> {
    let a = s.app.access(&u.user, &key).await?;
    let (t, v) = s.app.launch_template(&a).await?;
    Ok(Json(LaunchTemplateOut::new(&t, v)))
}

/// Replaces the launch checklist template. The Product Manager decides; others get a 403.
/// Checklists already made keep their items.
#[utoipa::path(put, path = "/api/v1/products/{product}/launch-template", tag = "launch",
    params(("product" = String, Path, description = "Product key")), request_body = LaunchTemplateIn,
    responses((status = 200, body = LaunchTemplateOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_template(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<LaunchTemplateIn>,
) -> ApiResult<Json<LaunchTemplateOut>> {
    let a = s.app.access(&u.user, &key).await?;
    s.app.require(&a, keel_domain::rights::Action::ReleaseGoNoGo)?;
    let t = b.template().map_err(keel_app::AppError::from)?;
    let (t, v) = s.app.save_launch_template(&a, t, b.version).await?;
    Ok(Json(LaunchTemplateOut::new(&t, v)))
}

/// A release's launch checklist (shown from the template until first changed), overdue flags
/// and the go / no-go decision log.
#[utoipa::path(get, path = "/api/v1/releases/{id}/launch", tag = "launch",
    params(("id" = i64, Path, description = "Release id")),
    responses((status = 200, body = LaunchOut), (status = 404, body = Problem)))]
pub async fn get_launch(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<LaunchOut>> {
    let (a, r) = s.app.release_access(&u.user, id).await?;
    let l = s.app.launch(&a, &r).await?;
    Ok(Json(launch_json(&s.app, &a, &r, &l).await?))
}

fn item_input(b: &LaunchItemIn) -> LaunchItemInput {
    LaunchItemInput {
        title: b.title.clone(),
        owner: b.owner,
        due: b.due.clone(),
        done: b.done,
        note: b.note.clone(),
    }
}

/// Adds a checklist item (the Product Manager's).
#[utoipa::path(post, path = "/api/v1/releases/{id}/launch/items", tag = "launch",
    params(("id" = i64, Path, description = "Release id")), request_body = LaunchItemIn,
    responses((status = 201, body = LaunchOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_item(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<LaunchItemIn>,
) -> ApiResult<Response> {
    let (a, r) = s.app.release_access(&u.user, id).await?;
    let (l, _) = s.app.add_launch_item(&a, &r, &item_input(&b), b.version).await?;
    Ok((StatusCode::CREATED, Json(launch_json(&s.app, &a, &r, &l).await?)).into_response())
}

/// Changes or ticks a checklist item. The Product Manager may change anything; the item's owner
/// may tick it and note on it.
#[utoipa::path(put, path = "/api/v1/releases/{id}/launch/items/{n}", tag = "launch",
    params(("id" = i64, Path, description = "Release id"), ("n" = i64, Path, description = "Checklist item id")),
    request_body = LaunchItemIn,
    responses((status = 200, body = LaunchOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_item(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, n)): Path<(i64, i64)>,
    JsonIn(b): JsonIn<LaunchItemIn>,
) -> ApiResult<Json<LaunchOut>> {
    let (a, r) = s.app.release_access(&u.user, id).await?;
    let l = s.app.edit_launch_item(&a, &r, n, &item_input(&b), b.version).await?;
    Ok(Json(launch_json(&s.app, &a, &r, &l).await?))
}

/// The checklist version a removal is based on.
#[derive(Debug, Deserialize, IntoParams)]
pub struct VersionQuery {
    /// The checklist version read (409 when stale).
    pub version: Option<i64>,
}

/// Removes a checklist item (the Product Manager's).
#[utoipa::path(delete, path = "/api/v1/releases/{id}/launch/items/{n}", tag = "launch",
    params(("id" = i64, Path, description = "Release id"), ("n" = i64, Path, description = "Checklist item id"),
        VersionQuery),
    responses((status = 200, body = LaunchOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn delete_item(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, n)): Path<(i64, i64)>,
    Query(q): Query<VersionQuery>,
) -> ApiResult<Json<LaunchOut>> {
    let (a, r) = s.app.release_access(&u.user, id).await?;
    let l = s.app.remove_launch_item(&a, &r, n, q.version).await?;
    Ok(Json(launch_json(&s.app, &a, &r, &l).await?))
}

/// Records a go / no-go. The Product Manager decides (201); the Product Owner's call is logged as
/// a recommendation (202, `proposed: true`); others get a 403. A "go" while checklist items are
/// open needs `acknowledge_open: true` (otherwise a 422 naming that field and the open items);
/// the open items are recorded with it.
#[utoipa::path(post, path = "/api/v1/releases/{id}/launch/decision", tag = "launch",
    params(("id" = i64, Path, description = "Release id")), request_body = LaunchDecisionIn,
    responses((status = 201, body = LaunchDecisionResult), (status = 202, body = LaunchDecisionResult),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn post_decision(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<LaunchDecisionIn>,
) -> ApiResult<Response> {
    let (a, r) = s.app.release_access(&u.user, id).await?;
    let (l, d) = s.app.launch_decision(&a, &r, &b.decision, &b.note, b.acknowledge_open, b.version).await?;
    let names = member_names(&s.app, &a).await?;
    let name = |u: UserId| names.get(&u).cloned();
    let body = LaunchDecisionResult {
        recorded: LaunchDecisionOut::new(&d, &name),
        launch: launch_json(&s.app, &a, &r, &l).await?,
    };
    let status = if d.proposed { StatusCode::ACCEPTED } else { StatusCode::CREATED };
    Ok((status, Json(body)).into_response())
}

// ---------------------------------------------------------------------------------------------
// PRDs
// ---------------------------------------------------------------------------------------------

/// PRD format.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PrdQuery {
    /// `json` (default) or `md` for the Markdown file (also chosen by `Accept: text/markdown`).
    pub format: Option<String>,
}

fn wants_markdown(q: &PrdQuery, headers: &HeaderMap) -> ApiResult<bool> {
    match q.format.as_deref() {
        Some("md" | "markdown") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(ApiError::invalid("format", "must be json or md")),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| h.contains("text/markdown"))),
    }
}

/// A file name from a title: letters, digits and dashes.
pub fn file_name(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').chars().take(60).collect::<String>();
    format!("prd-{}.md", if out.is_empty() { "document" } else { &out })
}

fn prd_response(subject: &PrdSubject, p: &Prd, markdown: bool) -> Response {
    if markdown {
        let disposition = format!("attachment; filename=\"{}\"", file_name(&p.title));
        return (
            [
                (header::CONTENT_TYPE, "text/markdown; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            p.markdown.clone(),
        )
            .into_response();
    }
    let (kind, id) = match subject {
        PrdSubject::Initiative(i) => ("initiative", i.id.0.to_string()),
        PrdSubject::Epic(e) => ("epic", e.key.clone()),
    };
    Json(PrdOut::new(kind, id, &p.title, &p.sections, &p.markdown, p.version)).into_response()
}

async fn initiative_subject(s: &AppState, u: &ApiUser, id: i64) -> ApiResult<(ProductAccess, PrdSubject)> {
    let (a, i) = s.app.initiative(&u.user, RecordId(id)).await?;
    Ok((a, PrdSubject::Initiative(i)))
}

async fn epic_subject(s: &AppState, u: &ApiUser, key: &str) -> ApiResult<(ProductAccess, PrdSubject)> {
    let a = item_access(&s.app, &u.user, key).await?;
    let e = s.app.prd_epic(&a, key).await?;
    Ok((a, PrdSubject::Epic(e)))
}

/// An initiative's PRD, generated from the data where the PM has not edited it: JSON, or the
/// Markdown file with `?format=md` or `Accept: text/markdown`.
#[utoipa::path(get, path = "/api/v1/initiatives/{id}/prd", tag = "prd",
    params(("id" = i64, Path, description = "Initiative id"), PrdQuery),
    responses((status = 200, body = PrdOut, description = "JSON, or text/markdown as an attachment"),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_initiative_prd(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    Query(q): Query<PrdQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let md = wants_markdown(&q, &headers)?;
    let (a, subject) = initiative_subject(&s, &u, id).await?;
    let p = s.app.prd(&a, &subject).await?;
    Ok(prd_response(&subject, &p, md))
}

/// Regenerates an initiative's PRD: the sections the PM has not edited follow the data; edited
/// ones stay (flagged `outdated` when the data under them changed). Writes nothing.
#[utoipa::path(post, path = "/api/v1/initiatives/{id}/prd/regenerate", tag = "prd",
    params(("id" = i64, Path, description = "Initiative id")),
    responses((status = 200, body = PrdOut), (status = 404, body = Problem)))]
pub async fn regenerate_initiative_prd(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let (a, subject) = initiative_subject(&s, &u, id).await?;
    let p = s.app.prd(&a, &subject).await?;
    Ok(prd_response(&subject, &p, false))
}

/// Stores the PM's edited sections (`sections`: id → Markdown) and resets `reset` to generated.
/// The Product Manager decides; others get a 403.
#[utoipa::path(put, path = "/api/v1/initiatives/{id}/prd", tag = "prd",
    params(("id" = i64, Path, description = "Initiative id")), request_body = PrdIn,
    responses((status = 200, body = PrdOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_initiative_prd(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<PrdIn>,
) -> ApiResult<Response> {
    let (a, subject) = initiative_subject(&s, &u, id).await?;
    let p = s.app.save_prd(&a, &subject, &b.sections, &b.reset, b.version).await?;
    Ok(prd_response(&subject, &p, false))
}

/// An epic's PRD (404 for items that are not epics); formats as for initiatives.
#[utoipa::path(get, path = "/api/v1/items/{key}/prd", tag = "prd",
    params(("key" = String, Path, description = "Epic key"), PrdQuery),
    responses((status = 200, body = PrdOut, description = "JSON, or text/markdown as an attachment"),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_epic_prd(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    Query(q): Query<PrdQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let md = wants_markdown(&q, &headers)?;
    let (a, subject) = epic_subject(&s, &u, &key).await?;
    let p = s.app.prd(&a, &subject).await?;
    Ok(prd_response(&subject, &p, md))
}

/// Regenerates an epic's PRD (see the initiative's).
#[utoipa::path(post, path = "/api/v1/items/{key}/prd/regenerate", tag = "prd",
    params(("key" = String, Path, description = "Epic key")),
    responses((status = 200, body = PrdOut), (status = 404, body = Problem)))]
pub async fn regenerate_epic_prd(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    let (a, subject) = epic_subject(&s, &u, &key).await?;
    let p = s.app.prd(&a, &subject).await?;
    Ok(prd_response(&subject, &p, false))
}

/// Edits an epic's PRD (see the initiative's).
#[utoipa::path(put, path = "/api/v1/items/{key}/prd", tag = "prd",
    params(("key" = String, Path, description = "Epic key")), request_body = PrdIn,
    responses((status = 200, body = PrdOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_epic_prd(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<PrdIn>,
) -> ApiResult<Response> {
    let (a, subject) = epic_subject(&s, &u, &key).await?;
    let p = s.app.save_prd(&a, &subject, &b.sections, &b.reset, b.version).await?;
    Ok(prd_response(&subject, &p, false))
}
