//! JSON API: teams, capacity, sprints: planning, start, close.

use super::outcome;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::extract::{parse_json, ApiUser, Json as JsonIn};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use keel_api::sprints::{
    CapacityTableIn, CloseIn, FiguresOut, SprintIn, SprintItemIn, SprintOut, StartIn, TeamIn, TeamMembersIn,
    TeamOut, TeamPatchIn, TeamProductOut,
};
use keel_api::wire::{ItemOut, ProposalOut};
use keel_api::Problem;
use keel_app::items::PositionInput;
use keel_app::records::Stored;
use keel_app::sprints::{CapacityInput, CloseInput, MemberInput, SprintInput, SprintScope};
use keel_app::App;
use keel_domain::sprint::{Sprint, Team};
use keel_domain::user::User;
use keel_domain::RecordId;
use serde::de::DeserializeOwned;
use utoipa::OpenApi;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/products/{product}/teams", get(list_teams).post(create_team))
        .route("/api/v1/teams/{id}", get(get_team).patch(patch_team).delete(delete_team))
        .route("/api/v1/teams/{id}/members", get(get_members).put(put_members))
        .route("/api/v1/teams/{id}/sprints", get(list_sprints).post(create_sprint))
        .route("/api/v1/sprints/{id}", get(get_sprint).patch(patch_sprint).delete(delete_sprint))
        .route("/api/v1/sprints/{id}/capacity", put(put_capacity))
        .route("/api/v1/sprints/{id}/items", get(list_sprint_items).post(add_sprint_item))
        .route("/api/v1/sprints/{id}/items/{key}", delete(remove_sprint_item))
        .route("/api/v1/sprints/{id}/start", post(start_sprint))
        .route("/api/v1/sprints/{id}/close", post(close_sprint))
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(
        list_teams, create_team, get_team, patch_team, delete_team, get_members, put_members,
        list_sprints, create_sprint, get_sprint, patch_sprint, delete_sprint, put_capacity,
        list_sprint_items, add_sprint_item, remove_sprint_item, start_sprint, close_sprint,
    ),
    tags((name = "sprints", description = "Teams, their members' capacity, and sprints: planning, start, close"))
)]
pub struct Doc;

/// A body that may be empty (then the default).
fn optional_body<T: DeserializeOwned + Default>(b: &Bytes) -> ApiResult<T> {
    if b.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        parse_json(b)
    }
}

/// A team as JSON.
pub async fn team_json(app: &App, t: &Stored<Team>) -> ApiResult<TeamOut> {
    let mut products = Vec::new();
    for p in &t.data.products {
        if let Ok(p) = app.store().product(*p).await {
            products.push(TeamProductOut { id: p.id.0, key: p.key.to_string(), name: p.name });
        }
    }
    let users = app.team_users(&t.data).await?;
    Ok(TeamOut::new(
        t.id,
        t.product_id.map_or(0, |p| p.0),
        &t.data,
        products,
        &users,
        t.version,
        t.created_at,
    ))
}

/// A sprint as JSON, with the users of its team for names.
pub fn sprint_json(s: &Stored<Sprint>, users: &[User]) -> SprintOut {
    SprintOut::new(
        s.id,
        s.parent_id.unwrap_or(0),
        s.product_id.map_or(0, |p| p.0),
        &s.state,
        &s.data,
        users,
        s.version,
        s.created_at,
    )
}

async fn sprint_with_users(app: &App, s: &Stored<Sprint>) -> ApiResult<SprintOut> {
    let team_id = s.parent_id.ok_or_else(ApiError::not_found)?;
    let team = app.get_record::<Team>(RecordId(team_id)).await?;
    let users = app.team_users(&team.data).await?;
    Ok(sprint_json(s, &users))
}

/// The figures of a sprint scope as JSON.
pub async fn figures_json(app: &App, s: &SprintScope) -> ApiResult<FiguresOut> {
    let items = app.sprint_items(s).await?;
    let f = app.sprint_figures(s, &items).await?;
    Ok(FiguresOut::new(
        f.planned,
        f.items,
        f.unestimated,
        f.committed,
        f.completed,
        &f.scope,
        &f.capacity,
        &f.velocity,
    ))
}

/// The teams serving a product, by name.
#[utoipa::path(get, path = "/api/v1/products/{product}/teams", tag = "sprints",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = [TeamOut]), (status = 404, body = Problem)))]
pub async fn list_teams(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<TeamOut>>> {
    let a = s.app.access(&u.user, &key).await?;
    let mut out = Vec::new();
    for t in s.app.teams(&a).await? {
        out.push(team_json(&s.app, &t).await?);
    }
    Ok(Json(out))
}

/// Creates a team in a product (its home product). The Product Owner decides.
#[utoipa::path(post, path = "/api/v1/products/{product}/teams", tag = "sprints",
    params(("product" = String, Path, description = "Product key")), request_body = TeamIn,
    responses((status = 201, body = TeamOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_team(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<TeamIn>,
) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    let t = s.app.create_team(&a, &b.name).await?;
    Ok((StatusCode::CREATED, Json(team_json(&s.app, &t).await?)).into_response())
}

/// A team, for members of a product it serves.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "sprints",
    params(("id" = i64, Path, description = "Team id")),
    responses((status = 200, body = TeamOut), (status = 404, body = Problem)))]
pub async fn get_team(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<TeamOut>> {
    let t = s.app.team_scope(&u.user, RecordId(id)).await?;
    Ok(Json(team_json(&s.app, &t.team).await?))
}

/// Renames a team or sets the products it serves besides its home.
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "sprints",
    params(("id" = i64, Path, description = "Team id")), request_body = TeamPatchIn,
    responses((status = 200, body = TeamOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_team(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<TeamPatchIn>,
) -> ApiResult<Json<TeamOut>> {
    let t =
        s.app.update_team(&u.user, RecordId(id), b.name.as_deref(), b.products.as_deref(), b.version).await?;
    Ok(Json(team_json(&s.app, &t).await?))
}

/// Deletes a team without sprints.
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "sprints",
    params(("id" = i64, Path, description = "Team id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn delete_team(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.app.delete_team(&u.user, RecordId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A team's members and their default capacity.
#[utoipa::path(get, path = "/api/v1/teams/{id}/members", tag = "sprints",
    params(("id" = i64, Path, description = "Team id")),
    responses((status = 200, body = [keel_api::sprints::TeamMemberOut]), (status = 404, body = Problem)))]
pub async fn get_members(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Response> {
    let t = s.app.team_scope(&u.user, RecordId(id)).await?;
    Ok(Json(team_json(&s.app, &t.team).await?.members).into_response())
}

/// Replaces a team's members (each a member of the team's home product) and their default
/// points and/or days per sprint.
#[utoipa::path(put, path = "/api/v1/teams/{id}/members", tag = "sprints",
    params(("id" = i64, Path, description = "Team id")), request_body = TeamMembersIn,
    responses((status = 200, body = [keel_api::sprints::TeamMemberOut]), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn put_members(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<TeamMembersIn>,
) -> ApiResult<Response> {
    let list: Vec<MemberInput> = b
        .members
        .into_iter()
        .map(|m| MemberInput { user: m.user.to_string(), points: m.points, days: m.days })
        .collect();
    let t = s.app.set_team_members(&u.user, RecordId(id), &list).await?;
    Ok(Json(team_json(&s.app, &t).await?.members).into_response())
}

/// A team's sprints, by start date.
#[utoipa::path(get, path = "/api/v1/teams/{id}/sprints", tag = "sprints",
    params(("id" = i64, Path, description = "Team id")),
    responses((status = 200, body = [SprintOut]), (status = 404, body = Problem)))]
pub async fn list_sprints(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<SprintOut>>> {
    let t = s.app.team_scope(&u.user, RecordId(id)).await?;
    let users = s.app.team_users(&t.team.data).await?;
    let list = s.app.team_sprints(&t.team).await?;
    Ok(Json(list.iter().map(|x| sprint_json(x, &users)).collect()))
}

fn sprint_input(b: SprintIn) -> SprintInput {
    SprintInput { name: b.name, goal: b.goal, start: b.start, end: b.end }
}

/// Plans a sprint of a team: dates may not overlap its other sprints (409); the capacity starts
/// from the members' defaults.
#[utoipa::path(post, path = "/api/v1/teams/{id}/sprints", tag = "sprints",
    params(("id" = i64, Path, description = "Team id")), request_body = SprintIn,
    responses((status = 201, body = SprintOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_sprint(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<SprintIn>,
) -> ApiResult<Response> {
    if b.version.is_some() {
        return Err(ApiError::invalid("version", "is only for changes"));
    }
    let sp = s.app.create_sprint(&u.user, RecordId(id), &sprint_input(b)).await?;
    Ok((StatusCode::CREATED, Json(sprint_with_users(&s.app, &sp).await?)).into_response())
}

/// A sprint with its figures now: planned, committed, done, scope change, capacity, velocity.
#[utoipa::path(get, path = "/api/v1/sprints/{id}", tag = "sprints",
    params(("id" = i64, Path, description = "Sprint id")),
    responses((status = 200, body = SprintOut), (status = 404, body = Problem)))]
pub async fn get_sprint(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<SprintOut>> {
    let sc = s.app.sprint_scope(&u.user, RecordId(id)).await?;
    let users = s.app.team_users(&sc.team.data).await?;
    let mut out = sprint_json(&sc.sprint, &users);
    out.figures = Some(figures_json(&s.app, &sc).await?);
    Ok(Json(out))
}

/// Changes a sprint's name, goal or dates (not once closed).
#[utoipa::path(patch, path = "/api/v1/sprints/{id}", tag = "sprints",
    params(("id" = i64, Path, description = "Sprint id")), request_body = SprintIn,
    responses((status = 200, body = SprintOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_sprint(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<SprintIn>,
) -> ApiResult<Json<SprintOut>> {
    let v = b.version;
    let sp = s.app.update_sprint(&u.user, RecordId(id), &sprint_input(b), v).await?;
    Ok(Json(sprint_with_users(&s.app, &sp).await?))
}

/// Deletes a planned sprint; its items go back to the backlog.
#[utoipa::path(delete, path = "/api/v1/sprints/{id}", tag = "sprints",
    params(("id" = i64, Path, description = "Sprint id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn delete_sprint(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.app.delete_sprint(&u.user, RecordId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces a sprint's capacity table: per member points, days and days off (each zero or
/// more; days off at most the days).
#[utoipa::path(put, path = "/api/v1/sprints/{id}/capacity", tag = "sprints",
    params(("id" = i64, Path, description = "Sprint id")), request_body = CapacityTableIn,
    responses((status = 200, body = SprintOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_capacity(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<CapacityTableIn>,
) -> ApiResult<Json<SprintOut>> {
    let list: Vec<CapacityInput> = b
        .capacity
        .into_iter()
        .map(|c| CapacityInput {
            user: c.user.to_string(),
            points: c.points,
            days: c.days,
            days_off: c.days_off,
        })
        .collect();
    let sp = s.app.set_capacity(&u.user, RecordId(id), &list, b.version).await?;
    Ok(Json(sprint_with_users(&s.app, &sp).await?))
}

/// The items of a sprint, each product's in backlog order.
#[utoipa::path(get, path = "/api/v1/sprints/{id}/items", tag = "sprints",
    params(("id" = i64, Path, description = "Sprint id")),
    responses((status = 200, body = [ItemOut]), (status = 404, body = Problem)))]
pub async fn list_sprint_items(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<ItemOut>>> {
    let sc = s.app.sprint_scope(&u.user, RecordId(id)).await?;
    let items = s.app.sprint_items(&sc).await?;
    let mut out = Vec::with_capacity(items.len());
    let mut flows: Vec<(keel_domain::ProductId, keel_domain::workflow::Workflow)> = Vec::new();
    for i in &items {
        if !flows.iter().any(|(p, _)| *p == i.product_id) {
            let p = s.app.store().product(i.product_id).await.map_err(keel_app::AppError::from)?;
            let a = s.app.access(&u.user, p.key.as_str()).await?;
            flows.push((i.product_id, s.app.workflow(&a).await?));
        }
        let w = &flows.iter().find(|(p, _)| *p == i.product_id).ok_or_else(ApiError::not_found)?.1;
        out.push(ItemOut::new(i, w));
    }
    Ok(Json(out))
}

/// Puts an item into the sprint (a change of the item's `sprint`: the Product Owner does it, a
/// team member's becomes a proposal, 202), optionally just before or after another item. A
/// closed sprint refuses (422 on `sprint`).
#[utoipa::path(post, path = "/api/v1/sprints/{id}/items", tag = "sprints",
    params(("id" = i64, Path, description = "Sprint id")), request_body = SprintItemIn,
    responses((status = 200, body = ItemOut), (status = 202, body = ProposalOut), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_sprint_item(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<SprintItemIn>,
) -> ApiResult<Response> {
    // The sprint must be visible to the caller; the item change checks the rest.
    s.app.sprint_scope(&u.user, RecordId(id)).await?;
    let pos = PositionInput { before: b.before, after: b.after, ..Default::default() };
    if pos.before.is_some() && pos.after.is_some() {
        return Err(ApiError::invalid("before", "give before or after, not both"));
    }
    let o = s.app.add_to_sprint(&u.user, RecordId(id), &b.key, &pos, b.reason.as_deref()).await?;
    item_outcome(&s, &u, o).await
}

async fn item_outcome(
    s: &AppState,
    u: &ApiUser,
    o: keel_app::Outcome<keel_domain::item::Item>,
) -> ApiResult<Response> {
    let w = match &o {
        keel_app::Outcome::Done(i) => {
            let p = s.app.store().product(i.product_id).await.map_err(keel_app::AppError::from)?;
            let a = s.app.access(&u.user, p.key.as_str()).await?;
            Some(s.app.workflow(&a).await?)
        }
        keel_app::Outcome::Proposed(_) => None,
    };
    Ok(outcome(o, StatusCode::OK, |i| match &w {
        Some(w) => Json(ItemOut::new(&i, w)).into_response(),
        None => StatusCode::OK.into_response(),
    }))
}

/// Takes an item out of the sprint, back to the backlog (through decision rights, as adding).
#[utoipa::path(delete, path = "/api/v1/sprints/{id}/items/{key}", tag = "sprints",
    params(("id" = i64, Path, description = "Sprint id"), ("key" = String, Path, description = "Item key")),
    responses((status = 200, body = ItemOut), (status = 202, body = ProposalOut), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn remove_sprint_item(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, key)): Path<(i64, String)>,
) -> ApiResult<Response> {
    s.app.sprint_scope(&u.user, RecordId(id)).await?;
    let o = s.app.remove_from_sprint(&u.user, RecordId(id), &key, None).await?;
    item_outcome(&s, &u, o).await
}

/// Starts a planned sprint: freezes its items and their estimates as the commitment. One active
/// sprint per team; two starts at once: one 409. A team member's start is a proposal (202).
#[utoipa::path(post, path = "/api/v1/sprints/{id}/start", tag = "sprints",
    params(("id" = i64, Path, description = "Sprint id")), request_body(content = StartIn, description = "Optional"),
    responses((status = 200, body = SprintOut), (status = 202, body = ProposalOut), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn start_sprint(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<Response> {
    let b: StartIn = optional_body(&body)?;
    let o = s.app.start_sprint(&u.user, RecordId(id), b.reason.as_deref()).await?;
    sprint_outcome(&s, o).await
}

async fn sprint_outcome(s: &AppState, o: keel_app::Outcome<Stored<Sprint>>) -> ApiResult<Response> {
    let body = match &o {
        keel_app::Outcome::Done(sp) => Some(sprint_with_users(&s.app, sp).await?),
        keel_app::Outcome::Proposed(_) => None,
    };
    Ok(outcome(o, StatusCode::OK, |_| match body {
        Some(b) => Json(b).into_response(),
        None => StatusCode::OK.into_response(),
    }))
}

/// Closes an active sprint in one step: done items stay as completed; unfinished ones go to the
/// top of the backlog or into the team's next planned sprint (`destination`, or per item in
/// `items`); the committed / completed / added / removed points are kept in `summary`. 409 when
/// already closed or closed at the same time; 422 when `next` is asked without a planned next
/// sprint. A team member's close is a proposal (202).
#[utoipa::path(post, path = "/api/v1/sprints/{id}/close", tag = "sprints",
    params(("id" = i64, Path, description = "Sprint id")), request_body(content = CloseIn, description = "Optional"),
    responses((status = 200, body = SprintOut), (status = 202, body = ProposalOut), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn close_sprint(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<Response> {
    let b: CloseIn = optional_body(&body)?;
    let input = CloseInput { destination: b.destination, items: b.items.into_iter().collect() };
    let o = s.app.close_sprint(&u.user, RecordId(id), &input, b.reason.as_deref()).await?;
    sprint_outcome(&s, o).await
}
