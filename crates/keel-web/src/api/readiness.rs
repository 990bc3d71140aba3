//! JSON API: definition of Ready and Done, readiness of items, acceptance, ticked checks,
//! splitting, bulk edit, releases and their notes.

use super::{item_access, outcome};
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::extract::{ApiUser, Json as JsonIn, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use keel_api::readiness::{
    AcceptanceIn, BulkIn, BulkOut, ChecksIn, DodIn, DodOut, DorIn, DorOut, ItemReadinessOut, ListProblem,
    NotesOut, NotesSectionOut, OpenItemOut, ReadinessOut, RefusedItem, ReleaseIn, ReleaseOut, ShipIn,
    SplitIn, SplitOut,
};
use keel_api::wire::{ItemOut, ProposalOut};
use keel_api::Problem;
use keel_app::readiness::{AcceptanceAction, BulkInput, BulkOutcome, ReleaseInput, ShipOutcome};
use keel_app::records::Stored;
use keel_app::{App, Outcome, ProductAccess};
use keel_domain::item::Item;
use keel_domain::readiness::{DefinitionOfDone, DefinitionOfReady, OpenItems, ReleaseProgress};
use keel_domain::sprint::Release;
use keel_domain::workflow::Workflow;
use serde::Deserialize;
use utoipa::OpenApi;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/products/{product}/definition-of-ready", get(get_dor).put(put_dor))
        .route("/api/v1/products/{product}/definition-of-done", get(get_dod).put(put_dod))
        .route("/api/v1/products/{product}/readiness", get(readiness))
        .route("/api/v1/products/{product}/items/bulk", post(bulk_edit))
        .route("/api/v1/products/{product}/releases", get(list_releases).post(create_release))
        .route("/api/v1/releases/{id}", get(get_release).patch(patch_release).delete(delete_release))
        .route("/api/v1/releases/{id}/release", post(ship_release))
        .route("/api/v1/releases/{id}/notes", get(notes))
        .route("/api/v1/items/{key}/acceptance", post(acceptance))
        .route("/api/v1/items/{key}/checks", put(put_checks))
        .route("/api/v1/items/{key}/split", post(split))
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(get_dor, put_dor, get_dod, put_dod, readiness, bulk_edit, list_releases, create_release,
        get_release, patch_release, delete_release, ship_release, notes, acceptance, put_checks, split),
    tags((name = "readiness", description = "Definition of Ready and Done, acceptance, bulk edit, splitting"),
        (name = "releases", description = "Releases, their progress and notes"))
)]
pub struct Doc;

/// A problem answer with a list of what stands in the way.
fn list_problem(
    status: u16,
    kind: &str,
    title: &str,
    detail: String,
    f: impl FnOnce(&mut ListProblem),
) -> Response {
    let mut p = ListProblem {
        problem: Problem::new(kind, title, status).detail(detail),
        blockers: None,
        refused: None,
        open_items: None,
    };
    f(&mut p);
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    let mut r = (code, Json(p)).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    r
}

/// The Definition of Ready of a product (the default until the Product Owner saves one).
#[utoipa::path(get, path = "/api/v1/products/{product}/definition-of-ready", tag = "readiness",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = DorOut), (status = 404, body = Problem)))]
pub async fn get_dor(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<DorOut>> {
    let a = s.app.access(&u.user, &key).await?;
    let (d, rec) = s.app.setting::<DefinitionOfReady>(a.product.id).await?;
    Ok(Json(DorOut::new(&d, rec.map_or(0, |r| r.version))))
}

/// Replaces the Definition of Ready (the Product Owner; a team member's change is stored as a
/// proposal, 202). Send the `version` read: a stale one answers 409.
#[utoipa::path(put, path = "/api/v1/products/{product}/definition-of-ready", tag = "readiness",
    params(("product" = String, Path, description = "Product key")), request_body = DorIn,
    responses((status = 200, body = DorOut), (status = 202, body = ProposalOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_dor(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<DorIn>,
) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    let d = b.parse().map_err(keel_app::AppError::from)?;
    let o = s.app.save_setting(&a, d, b.version, b.reason.as_deref()).await?;
    Ok(outcome(o, StatusCode::OK, |r| Json(DorOut::new(&r.data, r.version)).into_response()))
}

/// The Definition of Done of a product.
#[utoipa::path(get, path = "/api/v1/products/{product}/definition-of-done", tag = "readiness",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = DodOut), (status = 404, body = Problem)))]
pub async fn get_dod(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<DodOut>> {
    let a = s.app.access(&u.user, &key).await?;
    let (d, rec) = s.app.setting::<DefinitionOfDone>(a.product.id).await?;
    Ok(Json(DodOut::new(&d, rec.map_or(0, |r| r.version))))
}

/// Replaces the Definition of Done (the Product Owner; a team member proposes, 202).
#[utoipa::path(put, path = "/api/v1/products/{product}/definition-of-done", tag = "readiness",
    params(("product" = String, Path, description = "Product key")), request_body = DodIn,
    responses((status = 200, body = DodOut), (status = 202, body = ProposalOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_dod(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<DodIn>,
) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    let d = b.parse().map_err(keel_app::AppError::from)?;
    let o = s.app.save_setting(&a, d, b.version, b.reason.as_deref()).await?;
    Ok(outcome(o, StatusCode::OK, |r| Json(DodOut::new(&r.data, r.version)).into_response()))
}

/// Which items to judge.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReadinessQuery {
    /// Comma-separated item keys; without it, the first `limit` items of the backlog.
    keys: Option<String>,
    /// Backlog items to judge without `keys`, 1-500 (default 50).
    limit: Option<u32>,
}

/// Whether items meet the Definition of Ready, and the checks each fails.
#[utoipa::path(get, path = "/api/v1/products/{product}/readiness", tag = "readiness",
    params(("product" = String, Path, description = "Product key"), ReadinessQuery),
    responses((status = 200, body = ReadinessOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn readiness(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    Query(q): Query<ReadinessQuery>,
) -> ApiResult<Json<ReadinessOut>> {
    let a = s.app.access(&u.user, &key).await?;
    let items = match q.keys.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        Some(keys) => {
            let keys: Vec<&str> = keys.split(',').map(str::trim).filter(|k| !k.is_empty()).collect();
            if keys.len() > 500 {
                return Err(ApiError::invalid("keys", "name at most 500 items"));
            }
            let mut items = Vec::with_capacity(keys.len());
            for k in keys {
                items.push(
                    s.app.item(&a, k).await.map_err(|_| ApiError::invalid("keys", format!("no item {k}")))?,
                );
            }
            items
        }
        None => {
            let filter = keel_store::ItemFilter { open_only: true, ..Default::default() };
            s.app.list_items(&a, &filter, None, super::limit(q.limit)).await?.items
        }
    };
    let failed = s.app.readiness(&a, &items).await?;
    Ok(Json(ReadinessOut {
        items: items
            .iter()
            .zip(failed)
            .map(|(i, f)| ItemReadinessOut {
                key: i.key.clone(),
                applies: DefinitionOfReady::applies_to(i.kind),
                ready: f.is_empty(),
                failed: f,
            })
            .collect(),
    }))
}

/// An acceptance step on a story: `ready` (the team asks for acceptance), `accept` (the Product
/// Owner; refused with 422 listing the unticked criteria and Definition-of-Done checks; a team
/// member's acceptance becomes a proposal, 202), `reject` (needs a `note`). Accepting moves the
/// story to the first done state, rejecting back to the first in-progress state.
#[utoipa::path(post, path = "/api/v1/items/{key}/acceptance", tag = "readiness",
    params(("key" = String, Path, description = "Item key")), request_body = AcceptanceIn,
    responses((status = 200, body = ItemOut), (status = 202, body = ProposalOut), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = ListProblem)))]
pub async fn acceptance(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<AcceptanceIn>,
) -> ApiResult<Response> {
    let a = item_access(&s.app, &u.user, &key).await?;
    let action = AcceptanceAction::parse("action", &b.action)?;
    if action == AcceptanceAction::Accept {
        let item = s.app.item(&a, &key).await?;
        let blockers = s.app.acceptance_blockers(&a, &item).await?;
        if !blockers.is_empty() {
            let detail = format!(
                "{} cannot be accepted until every criterion and Definition-of-Done check is ticked",
                item.key
            );
            return Ok(list_problem(422, "acceptance-blocked", "Not ready to accept", detail, |p| {
                p.problem.field = Some("acceptance".into());
                p.blockers = Some(blockers);
            }));
        }
    }
    let o = s.app.acceptance(&a, &key, action, b.note.as_deref().unwrap_or(""), b.reason.as_deref()).await?;
    let w = s.app.workflow(&a).await?;
    Ok(outcome(o, StatusCode::OK, |i| Json(ItemOut::new(&i, &w)).into_response()))
}

/// Ticks Definition-of-Done (`dod`) and hand-ticked Definition-of-Ready (`dor`) checks of an
/// item; each list given replaces the item's.
#[utoipa::path(put, path = "/api/v1/items/{key}/checks", tag = "readiness",
    params(("key" = String, Path, description = "Item key")), request_body = ChecksIn,
    responses((status = 200, body = ItemOut), (status = 202, body = ProposalOut), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_checks(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<ChecksIn>,
) -> ApiResult<Response> {
    let a = item_access(&s.app, &u.user, &key).await?;
    if b.dod.is_none() && b.dor.is_none() {
        return Err(ApiError::invalid("dod", "give dod or dor"));
    }
    let o = s.app.set_checks(&a, &key, b.dod.as_deref(), b.dor.as_deref(), b.version).await?;
    let w = s.app.workflow(&a).await?;
    Ok(outcome(o, StatusCode::OK, |i| Json(ItemOut::new(&i, &w)).into_response()))
}

/// Splits an item: an epic into stories, a story into tasks (one per title, parent set).
#[utoipa::path(post, path = "/api/v1/items/{key}/split", tag = "readiness",
    params(("key" = String, Path, description = "Item key")), request_body = SplitIn,
    responses((status = 201, body = SplitOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn split(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<SplitIn>,
) -> ApiResult<Response> {
    let a = item_access(&s.app, &u.user, &key).await?;
    let outs = s.app.split(&a, &key, &b.titles).await?;
    let w = s.app.workflow(&a).await?;
    let mut out = SplitOut { created: vec![], proposals: vec![] };
    for o in outs {
        match o {
            Outcome::Done(i) => out.created.push(ItemOut::new(&i, &w)),
            Outcome::Proposed(p) => out.proposals.push(ProposalOut::from(&*p)),
        }
    }
    let status = if out.created.is_empty() { StatusCode::ACCEPTED } else { StatusCode::CREATED };
    Ok((status, Json(out)).into_response())
}

/// Sets the same fields on several items in one transaction: all change or none. Each item's
/// change is decided like a single edit; when any would be refused or only proposed, nothing is
/// written and the answer (403, or 422 for other reasons) lists the items in `refused`.
#[utoipa::path(post, path = "/api/v1/products/{product}/items/bulk", tag = "readiness",
    params(("product" = String, Path, description = "Product key")), request_body = BulkIn,
    responses((status = 200, body = BulkOut), (status = 400, body = Problem), (status = 403, body = ListProblem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = ListProblem)))]
pub async fn bulk_edit(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<BulkIn>,
) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    let input = BulkInput {
        keys: b.keys,
        status: b.set.status,
        assignee: b.set.assignee,
        labels_add: b.set.labels_add.unwrap_or_default(),
        labels_remove: b.set.labels_remove.unwrap_or_default(),
        sprint: b.set.sprint,
        epic: b.set.epic,
    };
    match s.app.bulk_edit(&a, &input).await? {
        BulkOutcome::Done(items) => {
            let w = s.app.workflow(&a).await?;
            Ok(Json(BulkOut { items: items.iter().map(|i| ItemOut::new(i, &w)).collect() }).into_response())
        }
        BulkOutcome::Refused { forbidden, items } => {
            let (status, kind, title) = if forbidden {
                (403, "forbidden", "Not allowed")
            } else {
                (422, "bulk-refused", "Some items cannot be changed so")
            };
            let detail =
                format!("nothing was changed: {} of the items cannot be changed as asked", items.len());
            Ok(list_problem(status, kind, title, detail, |p| {
                p.problem.field = Some("keys".into());
                p.refused =
                    Some(items.into_iter().map(|(key, reason)| RefusedItem { key, reason }).collect());
            }))
        }
    }
}

async fn release_json(app: &App, a: &ProductAccess, r: &Stored<Release>) -> ApiResult<ReleaseOut> {
    let items = app.release_items(a, r.id).await?;
    Ok(release_out(a, r, &items))
}

fn release_out(a: &ProductAccess, r: &Stored<Release>, items: &[Item]) -> ReleaseOut {
    ReleaseOut::new(
        r.id.0,
        a.product.key.as_str(),
        &r.data,
        &r.state,
        r.version,
        r.created_at,
        ReleaseProgress::of(items),
    )
}

fn release_input(b: &ReleaseIn) -> ReleaseInput {
    ReleaseInput {
        name: b.name.clone(),
        description: b.description.clone(),
        target_date: b.target_date.clone(),
    }
}

/// The releases of a product with their progress.
#[utoipa::path(get, path = "/api/v1/products/{product}/releases", tag = "releases",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = [ReleaseOut]), (status = 404, body = Problem)))]
pub async fn list_releases(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<ReleaseOut>>> {
    let a = s.app.access(&u.user, &key).await?;
    let mut out = Vec::new();
    for r in s.app.releases(&a).await? {
        out.push(release_json(&s.app, &a, &r).await?);
    }
    Ok(Json(out))
}

/// Creates a release (the Product Owner); names are unique within the product (409).
#[utoipa::path(post, path = "/api/v1/products/{product}/releases", tag = "releases",
    params(("product" = String, Path, description = "Product key")), request_body = ReleaseIn,
    responses((status = 201, body = ReleaseOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_release(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<ReleaseIn>,
) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    if b.version.is_some() {
        return Err(ApiError::invalid("version", "is only for changes"));
    }
    let r = s.app.create_release(&a, &release_input(&b)).await?;
    Ok((StatusCode::CREATED, Json(release_out(&a, &r, &[]))).into_response())
}

/// A release with its progress.
#[utoipa::path(get, path = "/api/v1/releases/{id}", tag = "releases",
    params(("id" = i64, Path, description = "Release id")),
    responses((status = 200, body = ReleaseOut), (status = 404, body = Problem)))]
pub async fn get_release(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<ReleaseOut>> {
    let (a, r) = s.app.release_access(&u.user, id).await?;
    Ok(Json(release_json(&s.app, &a, &r).await?))
}

/// Changes a release's name, description or target date (the Product Owner).
#[utoipa::path(patch, path = "/api/v1/releases/{id}", tag = "releases",
    params(("id" = i64, Path, description = "Release id")), request_body = ReleaseIn,
    responses((status = 200, body = ReleaseOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_release(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<ReleaseIn>,
) -> ApiResult<Json<ReleaseOut>> {
    let (a, r) = s.app.release_access(&u.user, id).await?;
    let r = s.app.update_release(&a, &r, &release_input(&b), b.version).await?;
    Ok(Json(release_json(&s.app, &a, &r).await?))
}

/// Deletes a release; its items leave it.
#[utoipa::path(delete, path = "/api/v1/releases/{id}", tag = "releases",
    params(("id" = i64, Path, description = "Release id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_release(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let (a, r) = s.app.release_access(&u.user, id).await?;
    s.app.delete_release(&a, &r).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Releases it (the release go/no-go: the Product Manager; the Product Owner's attempt is stored
/// as a proposal, 202). With open items, say what to do with them in `open_items`; without, the
/// answer is 409 listing them and nothing changes.
#[utoipa::path(post, path = "/api/v1/releases/{id}/release", tag = "releases",
    params(("id" = i64, Path, description = "Release id")), request_body = ShipIn,
    responses((status = 200, body = ReleaseOut), (status = 202, body = ProposalOut), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = ListProblem), (status = 422, body = Problem)))]
pub async fn ship_release(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<ShipIn>,
) -> ApiResult<Response> {
    let (a, r) = s.app.release_access(&u.user, id).await?;
    let choice = match (b.open_items.as_deref(), b.move_to) {
        (None, None) => None,
        (Some("move_to") | None, Some(to)) => Some(OpenItems::MoveTo(keel_domain::RecordId(to))),
        (Some("move_to"), None) => {
            return Err(ApiError::invalid("move_to", "name the release to move them to"))
        }
        (Some(o @ ("backlog" | "keep")), None) => {
            Some(OpenItems::parse("open_items", o).map_err(keel_app::AppError::from)?)
        }
        (Some(_), _) => {
            return Err(ApiError::invalid("open_items", "must be move_to (with move_to), backlog or keep"))
        }
    };
    match s.app.ship_release(&a, &r, choice, b.version, b.reason.as_deref()).await? {
        ShipOutcome::Released(r) => Ok(Json(release_json(&s.app, &a, &r).await?).into_response()),
        ShipOutcome::Proposed(p) => Ok((StatusCode::ACCEPTED, Json(ProposalOut::from(&*p))).into_response()),
        ShipOutcome::OpenItems(items) => {
            let w = s.app.workflow(&a).await?;
            let detail = format!(
                "{} items are still open; say what to do with them: open_items = move_to, backlog or keep",
                items.len()
            );
            Ok(list_problem(409, "open-items", "The release has open items", detail, |p| {
                p.problem.field = Some("open_items".into());
                p.open_items = Some(open_items(&items, &w));
            }))
        }
    }
}

fn open_items(items: &[Item], w: &Workflow) -> Vec<OpenItemOut> {
    items
        .iter()
        .map(|i| OpenItemOut {
            key: i.key.clone(),
            title: i.title.clone(),
            status: w.state(i.status_id).map_or_else(String::new, |s| s.name.clone()),
        })
        .collect()
}

/// Notes format.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NotesQuery {
    /// `markdown` (default, `text/markdown`) or `json`.
    format: Option<String>,
}

/// Release notes from the release's done stories, grouped by epic: Markdown, or JSON with
/// `?format=json`.
#[utoipa::path(get, path = "/api/v1/releases/{id}/notes", tag = "releases",
    params(("id" = i64, Path, description = "Release id"), NotesQuery),
    responses((status = 200, description = "JSON with ?format=json; text/markdown otherwise",
            content((NotesOut = "application/json"), (String = "text/markdown"))),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn notes(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    Query(q): Query<NotesQuery>,
) -> ApiResult<Response> {
    let (a, r) = s.app.release_access(&u.user, id).await?;
    let n = s.app.release_notes(&a, r).await?;
    match q.format.as_deref().unwrap_or("markdown") {
        "json" => Ok(Json(NotesOut {
            release: n.release.data.name.clone(),
            sections: n.sections.iter().map(NotesSectionOut::from).collect(),
            markdown: n.markdown,
        })
        .into_response()),
        "markdown" | "md" => {
            Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], n.markdown).into_response())
        }
        _ => Err(ApiError::invalid("format", "must be markdown or json")),
    }
}
