//! Backlog items: create, list, the backlog, read, change, move, delete, history, links and
//! acceptance criteria.

use super::{item_access, limit, outcome};
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::extract::{ApiUser, Json as JsonIn, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use keel_api::wire::{
    CriterionAddIn, CriterionOut, CriterionPatchIn, EventOut, HistoryOut, ItemIn, ItemOut, ItemPageOut,
    LinkIn, LinkOut, MoveIn, ProposalOut,
};
use keel_api::Problem;
use keel_app::items::{CriterionInput, FilterInput, ItemInput, PositionInput};
use keel_app::{AppError, ProductAccess};
use keel_domain::LinkId;
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/products/{product}/items", post(create_item).get(list_items))
        .route("/api/v1/products/{product}/backlog", get(backlog))
        .route("/api/v1/items/{key}", get(get_item).patch(patch_item).delete(delete_item))
        .route("/api/v1/items/{key}/move", post(move_item))
        .route("/api/v1/items/{key}/history", get(history))
        .route("/api/v1/items/{key}/links", get(list_links).post(add_link))
        .route("/api/v1/items/{key}/links/{id}", delete(remove_link))
        .route("/api/v1/items/{key}/criteria", get(list_criteria).post(add_criterion))
        .route("/api/v1/items/{key}/criteria/{id}", patch(patch_criterion).delete(delete_criterion))
}

/// Splits a wire body into the application's item fields and position.
pub fn item_input(b: ItemIn) -> (ItemInput, PositionInput, Option<i64>, Option<String>) {
    let input = ItemInput {
        kind: b.kind,
        title: b.title,
        description: b.description,
        as_a: b.as_a,
        i_want: b.i_want,
        so_that: b.so_that,
        criteria: b.criteria.map(|l| {
            l.into_iter().map(|c| CriterionInput { id: c.id, text: c.text, checked: c.checked }).collect()
        }),
        estimate: b.estimate,
        labels: b.labels,
        assignee: b.assignee,
        status: b.status,
        parent: b.parent,
        sprint: b.sprint,
        release: b.release,
    };
    let pos = position(b.before, b.after, b.top, b.bottom);
    (input, pos, b.version, b.reason)
}

/// The position of a move body.
pub fn move_input(b: &MoveIn) -> PositionInput {
    position(b.before.clone(), b.after.clone(), b.top, b.bottom)
}

/// A backlog position from the four wire fields that name one (create and move bodies alike;
/// serde cannot share the fields themselves while refusing unknown ones).
fn position(
    before: Option<String>,
    after: Option<String>,
    top: Option<bool>,
    bottom: Option<bool>,
) -> PositionInput {
    PositionInput { before, after, top: top.unwrap_or(false), bottom: bottom.unwrap_or(false) }
}

async fn item_json(s: &AppState, a: &ProductAccess, item: &keel_domain::item::Item) -> ApiResult<ItemOut> {
    let w = s.app.workflow(a).await?;
    Ok(ItemOut::new(item, &w))
}

/// Creates an item (at the bottom unless `before`, `after` or `top` is given). Answers 202 with a
/// proposal when the caller may only propose.
#[utoipa::path(post, path = "/api/v1/products/{product}/items", tag = "items",
    params(("product" = String, Path, description = "Product key")), request_body = ItemIn,
    responses((status = 201, body = ItemOut), (status = 202, body = ProposalOut), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_item(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<ItemIn>,
) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    if b.version.is_some() {
        return Err(ApiError::invalid("version", "is only for changes"));
    }
    let (input, pos, _, reason) = item_input(b);
    let o = s.app.create_item(&a, &input, &pos, reason.as_deref()).await?;
    let w = s.app.workflow(&a).await?;
    Ok(outcome(o, StatusCode::CREATED, |i| Json(ItemOut::new(&i, &w)).into_response()))
}

/// List filters and paging.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Workflow state name.
    status: Option<String>,
    /// State category: todo, in_progress, done.
    category: Option<String>,
    /// Kind: epic, story, task, bug, spike.
    kind: Option<String>,
    /// Assignee e-mail or id; `none` for unassigned.
    assignee: Option<String>,
    /// Label.
    label: Option<String>,
    /// Parent key.
    parent: Option<String>,
    /// Full-text search over title and description (all words; the last as a prefix).
    q: Option<String>,
    /// Sprint id; `none` for items in no sprint.
    sprint: Option<String>,
    /// Release id; `none` for items in no release.
    release: Option<String>,
    /// Page size, 1-500 (default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

async fn list(
    s: &AppState,
    u: &ApiUser,
    key: &str,
    q: ListQuery,
    open_only: bool,
) -> ApiResult<Json<ItemPageOut>> {
    let a = s.app.access(&u.user, key).await?;
    let f = FilterInput {
        status: q.status,
        category: q.category,
        kind: q.kind,
        assignee: q.assignee,
        label: q.label,
        parent: q.parent,
        q: q.q,
        open_only,
        sprint: q.sprint,
        release: q.release,
    };
    let filter = s.app.filter(&a, &f).await?;
    let page = s.app.list_items(&a, &filter, q.cursor.as_deref(), limit(q.limit)).await?;
    let w = s.app.workflow(&a).await?;
    Ok(Json(ItemPageOut {
        items: page.items.iter().map(|i| ItemOut::new(i, &w)).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Items of a product matching the filters, in backlog order, with cursor paging.
#[utoipa::path(get, path = "/api/v1/products/{product}/items", tag = "items",
    params(("product" = String, Path, description = "Product key"), ListQuery),
    responses((status = 200, body = ItemPageOut), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn list_items(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<ItemPageOut>> {
    list(&s, &u, &key, q, false).await
}

/// The ordered backlog: items not done, by rank (the same filters apply).
#[utoipa::path(get, path = "/api/v1/products/{product}/backlog", tag = "items",
    params(("product" = String, Path, description = "Product key"), ListQuery),
    responses((status = 200, body = ItemPageOut), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn backlog(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<ItemPageOut>> {
    list(&s, &u, &key, q, true).await
}

/// An item by key.
#[utoipa::path(get, path = "/api/v1/items/{key}", tag = "items",
    params(("key" = String, Path, description = "Item key, e.g. SHOP-42")),
    responses((status = 200, body = ItemOut), (status = 404, body = Problem)))]
pub async fn get_item(State(s): State<AppState>, u: ApiUser, Path(key): Path<String>) -> ApiResult<Response> {
    let a = item_access(&s.app, &u.user, &key).await?;
    let i = s.app.item(&a, &key).await?;
    let mut r = Json(item_json(&s, &a, &i).await?).into_response();
    if let Ok(v) = format!("\"{}\"", i.version).parse() {
        r.headers_mut().insert(axum::http::header::ETAG, v);
    }
    Ok(r)
}

/// The version a change is based on: `If-Match` or the body's `version` (which must agree when
/// both are sent), if any.
pub(crate) fn based_on(h: &HeaderMap, body: Option<i64>) -> ApiResult<Option<i64>> {
    match (if_match(h)?, body) {
        (Some(h), Some(v)) if h != v => Err(ApiError::invalid("version", "differs from If-Match")),
        (h, v) => Ok(h.or(v)),
    }
}

/// The version named by `If-Match` (`"3"`, `W/"3"` or `3`), if sent.
fn if_match(h: &HeaderMap) -> ApiResult<Option<i64>> {
    let Some(v) = h.get(axum::http::header::IF_MATCH) else { return Ok(None) };
    let s = v.to_str().unwrap_or("").trim().trim_start_matches("W/").trim_matches('"');
    s.parse::<i64>()
        .map(Some)
        .map_err(|_| ApiError::invalid("If-Match", "must be the item's version, e.g. \"3\""))
}

/// Changes an item. Send the version you read as `If-Match` or `version`: a stale one answers
/// 409 with the current version. Answers 202 with a proposal when the caller may only propose.
#[utoipa::path(patch, path = "/api/v1/items/{key}", tag = "items",
    params(("key" = String, Path, description = "Item key"),
        ("If-Match" = Option<String>, Header, description = "The version the change is based on")),
    request_body = ItemIn,
    responses((status = 200, body = ItemOut), (status = 202, body = ProposalOut), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn patch_item(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    headers: HeaderMap,
    JsonIn(b): JsonIn<ItemIn>,
) -> ApiResult<Response> {
    let a = item_access(&s.app, &u.user, &key).await?;
    if b.before.is_some() || b.after.is_some() || b.top.is_some() || b.bottom.is_some() {
        return Err(ApiError::invalid("before", "use POST /api/v1/items/{key}/move to move an item"));
    }
    let (input, _, body_version, reason) = item_input(b);
    let version = based_on(&headers, body_version)?;
    let o = s.app.update_item(&a, &key, &input, version, reason.as_deref()).await?;
    let w = s.app.workflow(&a).await?;
    Ok(outcome(o, StatusCode::OK, |i| Json(ItemOut::new(&i, &w)).into_response()))
}

/// Deletes an item; its children lose their parent and its history stays.
#[utoipa::path(delete, path = "/api/v1/items/{key}", tag = "items",
    params(("key" = String, Path, description = "Item key")),
    responses((status = 204, description = "Deleted"), (status = 202, body = ProposalOut),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_item(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    let a = item_access(&s.app, &u.user, &key).await?;
    let o = s.app.delete_item(&a, &key, None).await?;
    Ok(outcome(o, StatusCode::NO_CONTENT, |()| StatusCode::NO_CONTENT.into_response()))
}

/// Moves an item in the backlog: exactly one of `before`, `after`, `top`, `bottom`. Send the
/// version you read as `If-Match` or `version` to refuse the move (409 with the current version)
/// when someone changed the item meanwhile.
#[utoipa::path(post, path = "/api/v1/items/{key}/move", tag = "items",
    params(("key" = String, Path, description = "Item key"),
        ("If-Match" = Option<String>, Header, description = "The version the move is based on")),
    request_body = MoveIn,
    responses((status = 200, body = ItemOut), (status = 202, body = ProposalOut), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn move_item(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    headers: HeaderMap,
    JsonIn(b): JsonIn<MoveIn>,
) -> ApiResult<Response> {
    let a = item_access(&s.app, &u.user, &key).await?;
    let version = based_on(&headers, b.version)?;
    let o = s.app.move_item_at(&a, &key, &move_input(&b), version, b.reason.as_deref()).await?;
    let w = s.app.workflow(&a).await?;
    Ok(outcome(o, StatusCode::OK, |i| Json(ItemOut::new(&i, &w)).into_response()))
}

/// History paging.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Only events older than this event id.
    before: Option<i64>,
    /// Page size, 1-500 (default 50).
    limit: Option<u32>,
}

/// The item's history of changes, newest first.
#[utoipa::path(get, path = "/api/v1/items/{key}/history", tag = "items",
    params(("key" = String, Path, description = "Item key"), HistoryQuery),
    responses((status = 200, body = HistoryOut), (status = 404, body = Problem)))]
pub async fn history(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<HistoryOut>> {
    let a = item_access(&s.app, &u.user, &key).await?;
    let i = s.app.item(&a, &key).await?;
    let lim = limit(q.limit);
    let ev = s.app.history(&i, q.before, lim).await?;
    let next_before = if ev.len() as u32 == lim { ev.last().map(|e| e.id) } else { None };
    Ok(Json(HistoryOut { events: ev.iter().map(EventOut::from).collect(), next_before }))
}

/// The item's links, from either end.
#[utoipa::path(get, path = "/api/v1/items/{key}/links", tag = "items",
    params(("key" = String, Path, description = "Item key")),
    responses((status = 200, body = [LinkOut]), (status = 404, body = Problem)))]
pub async fn list_links(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<LinkOut>>> {
    let a = item_access(&s.app, &u.user, &key).await?;
    let i = s.app.item(&a, &key).await?;
    Ok(Json(s.app.links(&a, &i).await?.iter().map(LinkOut::from).collect()))
}

/// Links this item to another of the same product.
#[utoipa::path(post, path = "/api/v1/items/{key}/links", tag = "items",
    params(("key" = String, Path, description = "Item key")), request_body = LinkIn,
    responses((status = 201, body = LinkOut), (status = 202, body = ProposalOut), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_link(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<LinkIn>,
) -> ApiResult<Response> {
    let a = item_access(&s.app, &u.user, &key).await?;
    let o = s.app.add_link(&a, &key, &b.kind, &b.to, b.reason.as_deref()).await?;
    Ok(outcome(o, StatusCode::CREATED, |l| Json(LinkOut::from(&l)).into_response()))
}

/// Removes a link of this item.
#[utoipa::path(delete, path = "/api/v1/items/{key}/links/{id}", tag = "items",
    params(("key" = String, Path, description = "Item key"), ("id" = i64, Path, description = "Link id")),
    responses((status = 204, description = "Removed"), (status = 202, body = ProposalOut),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn remove_link(
    State(s): State<AppState>,
    u: ApiUser,
    Path((key, id)): Path<(String, i64)>,
) -> ApiResult<Response> {
    let a = item_access(&s.app, &u.user, &key).await?;
    let o = s.app.remove_link(&a, &key, LinkId(id), None).await?;
    Ok(outcome(o, StatusCode::NO_CONTENT, |()| StatusCode::NO_CONTENT.into_response()))
}

fn criteria_of(i: &keel_domain::item::Item) -> Vec<CriterionOut> {
    i.criteria.iter().map(|c| CriterionOut { id: c.id, text: c.text.clone(), checked: c.checked }).collect()
}

/// The item's acceptance criteria in order.
#[utoipa::path(get, path = "/api/v1/items/{key}/criteria", tag = "items",
    params(("key" = String, Path, description = "Item key")),
    responses((status = 200, body = [CriterionOut]), (status = 404, body = Problem)))]
pub async fn list_criteria(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<CriterionOut>>> {
    let a = item_access(&s.app, &u.user, &key).await?;
    Ok(Json(criteria_of(&s.app.item(&a, &key).await?)))
}

/// Appends an acceptance criterion; answers the whole list.
#[utoipa::path(post, path = "/api/v1/items/{key}/criteria", tag = "items",
    params(("key" = String, Path, description = "Item key")), request_body = CriterionAddIn,
    responses((status = 201, body = [CriterionOut]), (status = 202, body = ProposalOut),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_criterion(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<CriterionAddIn>,
) -> ApiResult<Response> {
    let a = item_access(&s.app, &u.user, &key).await?;
    let o = s.app.add_criterion(&a, &key, &b.text, b.reason.as_deref()).await?;
    Ok(outcome(o, StatusCode::CREATED, |i| Json(criteria_of(&i)).into_response()))
}

/// Changes a criterion's text or checks it; answers the whole list, with the item's new version
/// as `ETag`. Send the item's version you read as `If-Match` or `version`: a stale one answers
/// 409 `stale-version` with the current version.
#[utoipa::path(patch, path = "/api/v1/items/{key}/criteria/{id}", tag = "items",
    params(("key" = String, Path, description = "Item key"), ("id" = i64, Path, description = "Criterion id"),
        ("If-Match" = Option<String>, Header, description = "The item's version the change is based on")),
    request_body = CriterionPatchIn,
    responses((status = 200, body = [CriterionOut],
            headers(("ETag" = String, description = "The item's version after the change"))),
        (status = 202, body = ProposalOut), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn patch_criterion(
    State(s): State<AppState>,
    u: ApiUser,
    Path((key, id)): Path<(String, i64)>,
    headers: HeaderMap,
    JsonIn(b): JsonIn<CriterionPatchIn>,
) -> ApiResult<Response> {
    let a = item_access(&s.app, &u.user, &key).await?;
    if b.text.is_none() && b.checked.is_none() {
        return Err(AppError::invalid("checked", "give text or checked").into());
    }
    let version = based_on(&headers, b.version)?;
    let o = s
        .app
        .update_criterion(&a, &key, id, b.text.as_deref(), b.checked, version, b.reason.as_deref())
        .await?;
    Ok(outcome(o, StatusCode::OK, criteria_response))
}

/// Removes a criterion; answers the remaining list, with the item's new version as `ETag`. An
/// `If-Match` with a stale version answers 409 `stale-version`.
#[utoipa::path(delete, path = "/api/v1/items/{key}/criteria/{id}", tag = "items",
    params(("key" = String, Path, description = "Item key"), ("id" = i64, Path, description = "Criterion id"),
        ("If-Match" = Option<String>, Header, description = "The item's version the change is based on")),
    responses((status = 200, body = [CriterionOut],
            headers(("ETag" = String, description = "The item's version after the change"))),
        (status = 202, body = ProposalOut), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn delete_criterion(
    State(s): State<AppState>,
    u: ApiUser,
    Path((key, id)): Path<(String, i64)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let a = item_access(&s.app, &u.user, &key).await?;
    let version = based_on(&headers, None)?;
    let o = s.app.delete_criterion(&a, &key, id, version, None).await?;
    Ok(outcome(o, StatusCode::OK, criteria_response))
}

/// The criteria list, with the item's version as `ETag` (for the next change's `If-Match`).
fn criteria_response(i: keel_domain::item::Item) -> Response {
    let mut r = Json(criteria_of(&i)).into_response();
    if let Ok(v) = format!("\"{}\"", i.version).parse() {
        r.headers_mut().insert(axum::http::header::ETAG, v);
    }
    r
}
