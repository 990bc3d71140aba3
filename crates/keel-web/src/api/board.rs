//! JSON API: boards (scrum and kanban), WIP limits, workflow editing.
//!
//! Rights: reading a board needs read access to the team's home product; changing a board's
//! layout or a product's workflow needs the Product Owner's right (`edit_workflow`) or an
//! administrator; moving a card needs the right to move items through the workflow (the team and
//! the Product Owner), or to accept for done states (a team member's move then is a proposal).

use crate::api::outcome;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::extract::{ApiUser, Json as JsonIn, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use keel_api::board::{
    BoardConfigIn, BoardMoveIn, BoardMoveOut, BoardOut, BoardQueryIn, BoardSprintOut, BoardTeamOut,
    BreachOut, CardEpicOut, CardOut, CardUserOut, ColumnOut, LaneOut, WorkflowIn,
};
use keel_api::wire::{ProposalOut, StateOut};
use keel_api::Problem;
use keel_app::board::{Board, BoardQuery, ColumnInput, MoveInput, StateInput};
use keel_app::records::Stored;
use keel_app::AppError;
use keel_domain::board::BreachRecord;
use utoipa::OpenApi;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/teams/{id}/board", get(get_board).put(put_board))
        .route("/api/v1/teams/{id}/board/moves", post(move_card))
        .route("/api/v1/teams/{id}/board/breaches", get(breaches))
        .route("/api/v1/products/{product}/workflow", put(put_workflow))
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(get_board, put_board, move_card, breaches, put_workflow),
    tags((name = "board", description = "Team boards (scrum and kanban), WIP limits, workflow editing"))
)]
pub struct Doc;

/// The JSON of a board.
pub fn board_out(b: &Board) -> BoardOut {
    let mut lane_of = vec![0usize; b.cards.len()];
    for (li, l) in b.lanes.iter().enumerate() {
        for cell in &l.cells {
            for ci in cell {
                lane_of[*ci] = li;
            }
        }
    }
    BoardOut {
        team: BoardTeamOut {
            id: b.team.id.0,
            name: b.team.data.name.clone(),
            product: b.access.product.key.to_string(),
            version: b.team.version,
        },
        mode: b.mode.as_str().to_string(),
        scope: b.scope.clone(),
        sprint: b.sprint.as_ref().map(|s| BoardSprintOut {
            id: s.id.0,
            name: s.data.name.clone(),
            goal: s.data.goal.clone(),
            start: s.data.start.to_string(),
            end: s.data.end.to_string(),
        }),
        swimlanes: b.swimlanes.as_str().to_string(),
        filter: b.filter.map(|f| f.as_str().to_string()),
        label: b.label.clone(),
        columns: b
            .columns
            .iter()
            .map(|c| ColumnOut {
                name: c.column.name.clone(),
                states: c.states.iter().map(StateOut::from).collect(),
                wip: c.column.wip,
                count: c.count,
                over_limit: c.over_limit(),
                full: c.full(),
            })
            .collect(),
        lanes: b
            .lanes
            .iter()
            .map(|l| LaneOut {
                key: l.key.clone(),
                title: l.title.clone(),
                columns: l
                    .cells
                    .iter()
                    .map(|cell| cell.iter().map(|i| b.cards[*i].item.key.clone()).collect())
                    .collect(),
            })
            .collect(),
        cards: b
            .cards
            .iter()
            .enumerate()
            .map(|(i, c)| CardOut {
                key: c.item.key.clone(),
                title: c.item.title.clone(),
                kind: c.item.kind.as_str().to_string(),
                estimate: c.item.estimate.map(|p| p.value()),
                assignee: c
                    .item
                    .assignee_id
                    .map(|u| CardUserOut { id: u.0, name: c.assignee.clone().unwrap_or_default() }),
                epic: c.epic.as_ref().map(|e| CardEpicOut { key: e.1.clone(), title: e.2.clone() }),
                blocked: !c.blockers.is_empty(),
                blocked_by: c.blockers.clone(),
                labels: c.item.labels.clone(),
                status: c.status.clone(),
                column: c.column,
                lane: lane_of[i],
                version: c.item.version,
            })
            .collect(),
    }
}

/// The JSON of a recorded breach.
pub fn breach_out(r: &Stored<BreachRecord>) -> BreachOut {
    BreachOut::new(r.id.0, &r.data, r.created_by.map(|u| u.0), r.created_at)
}

/// A team's board: columns with their WIP limits and counts, swimlanes, cards.
#[utoipa::path(get, path = "/api/v1/teams/{id}/board", tag = "board",
    params(("id" = i64, Path, description = "Team id"), BoardQueryIn),
    responses((status = 200, body = BoardOut), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn get_board(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    Query(q): Query<BoardQueryIn>,
) -> ApiResult<Json<BoardOut>> {
    let q = BoardQuery { mode: q.mode, swimlanes: q.swimlanes, filter: q.filter, label: q.label };
    let b = s.app.board(&u.user, id, &q).await?;
    Ok(Json(board_out(&b)))
}

/// Sets the board's layout: columns of workflow states with optional WIP limits (the Product
/// Owner or an administrator). No columns: one column per state.
#[utoipa::path(put, path = "/api/v1/teams/{id}/board", tag = "board",
    params(("id" = i64, Path, description = "Team id")), request_body = BoardConfigIn,
    responses((status = 200, body = BoardOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_board(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<BoardConfigIn>,
) -> ApiResult<Json<BoardOut>> {
    let cols: Vec<ColumnInput> =
        b.columns.into_iter().map(|c| ColumnInput { name: c.name, states: c.states, wip: c.wip }).collect();
    s.app.set_board_config(&u.user, id, &cols, b.version).await?;
    let board = s.app.board(&u.user, id, &BoardQuery::default()).await?;
    Ok(Json(board_out(&board)))
}

/// Moves a card to a column (its item goes to the column's first state). Into a column at its
/// WIP limit only with a `reason`: without one the answer is 409 naming field `reason`; with one
/// the move is made and the reason recorded as a WIP breach in the product's history. Send the
/// item's version you read as `If-Match` or `version`: when someone changed the item meanwhile
/// the answer is 409 `stale-version` with the current version, and nothing moves.
#[utoipa::path(post, path = "/api/v1/teams/{id}/board/moves", tag = "board",
    params(("id" = i64, Path, description = "Team id"),
        ("If-Match" = Option<String>, Header, description = "The item's version the move is based on")),
    request_body = BoardMoveIn,
    responses((status = 200, body = BoardMoveOut), (status = 202, body = ProposalOut), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn move_card(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    JsonIn(b): JsonIn<BoardMoveIn>,
) -> ApiResult<Response> {
    let version = crate::api::items::based_on(&headers, b.version)?;
    let m = MoveInput { key: b.key, column: b.column, before: b.before, reason: b.reason, version };
    let o = match s.app.move_card(&u.user, id, &m).await {
        Ok(o) => o,
        Err(AppError::Invalid(v)) if v.field == "reason" && v.message.contains("WIP limit") => {
            return Err(ApiError::problem(
                Problem::new("wip-limit", "The column is at its WIP limit", 409)
                    .detail(v.message)
                    .field("reason"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let w = match &o {
        keel_app::Outcome::Done(d) => {
            let a = crate::api::item_access(&s.app, &u.user, &d.item.key).await?;
            Some(s.app.workflow(&a).await?)
        }
        keel_app::Outcome::Proposed(_) => None,
    };
    Ok(outcome(o, StatusCode::OK, |d| {
        let status =
            w.as_ref().and_then(|w| w.state(d.item.status_id)).map(|st| st.name.clone()).unwrap_or_default();
        Json(BoardMoveOut {
            key: d.item.key.clone(),
            status,
            version: d.item.version,
            breach: d.breach.as_ref().map(breach_out),
        })
        .into_response()
    }))
}

/// The WIP-limit breaches recorded on the team's board, newest first.
#[utoipa::path(get, path = "/api/v1/teams/{id}/board/breaches", tag = "board",
    params(("id" = i64, Path, description = "Team id")),
    responses((status = 200, body = [BreachOut]), (status = 404, body = Problem)))]
pub async fn breaches(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<BreachOut>>> {
    let v = s.app.wip_breaches(&u.user, id).await?;
    Ok(Json(v.iter().map(breach_out).collect()))
}

/// Replaces the product's workflow (the Product Owner or an administrator): the states in their
/// new order (`id` keeps a state, renamed or recategorised; no `id` adds one), and for each
/// state left out the kept state its items move to (`remap`). At least one `todo` and one
/// `done` state must remain.
#[utoipa::path(put, path = "/api/v1/products/{product}/workflow", tag = "products",
    params(("product" = String, Path, description = "Product key")), request_body = WorkflowIn,
    responses((status = 200, body = [StateOut]), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_workflow(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<WorkflowIn>,
) -> ApiResult<Json<Vec<StateOut>>> {
    let a = s.app.access(&u.user, &key).await?;
    let states: Vec<StateInput> = b
        .states
        .into_iter()
        .map(|st| StateInput { id: st.id, name: st.name, category: st.category })
        .collect();
    let remap: Vec<(String, String)> = b.remap.into_iter().map(|r| (r.from, r.to)).collect();
    let w = s.app.replace_workflow(&a, &states, &remap, b.version).await?;
    Ok(Json(w.states.iter().map(StateOut::from).collect()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn routes_merge_with_the_products_workflow_route() {
        // GET /products/{product}/workflow lives in the products module, PUT here: the two
        // method routers must merge without a panic.
        let _ = crate::api::routes();
    }
}
