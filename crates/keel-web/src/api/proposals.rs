//! Proposals: listing, explicit proposals, and the decider's accept or decline.

use super::items::{item_input, move_input};
use super::limit;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::extract::{parse_json, ApiUser, Json as JsonIn, Query};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use keel_api::wire::{AcceptedOut, DecisionIn, ItemOut, ProposalIn, ProposalOut, ProposalPageOut};
use keel_api::Problem;
use keel_app::items::Mode;
use keel_app::{AppError, Outcome};
use keel_domain::ProposalId;
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/products/{product}/proposals", get(list_proposals).post(create_proposal))
        .route("/api/v1/proposals/{id}", get(get_proposal))
        .route("/api/v1/proposals/{id}/accept", post(accept_proposal))
        .route("/api/v1/proposals/{id}/decline", post(decline_proposal))
}

/// Proposal filters and paging.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProposalQuery {
    /// pending, accepted, declined or stale.
    state: Option<String>,
    /// Only proposals about this item key.
    item: Option<String>,
    /// Page size, 1-500 (default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The product's proposals, newest first.
#[utoipa::path(get, path = "/api/v1/products/{product}/proposals", tag = "proposals",
    params(("product" = String, Path, description = "Product key"), ProposalQuery),
    responses((status = 200, body = ProposalPageOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_proposals(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    Query(q): Query<ProposalQuery>,
) -> ApiResult<Json<ProposalPageOut>> {
    let a = s.app.access(&u.user, &key).await?;
    let item = match q.item.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => Some(s.app.item(&a, k).await.map_err(|_| ApiError::invalid("item", "no such item"))?.id),
        None => None,
    };
    let (list, next) =
        s.app.proposals(&a, q.state.as_deref(), item, q.cursor.as_deref(), limit(q.limit)).await?;
    Ok(Json(ProposalPageOut { proposals: list.iter().map(ProposalOut::from).collect(), next_cursor: next }))
}

fn proposed(o: Outcome<impl Sized>) -> ApiResult<(StatusCode, Json<ProposalOut>)> {
    match o {
        Outcome::Proposed(p) => Ok((StatusCode::ACCEPTED, Json(ProposalOut::from(&*p)))),
        Outcome::Done(_) => Err(ApiError::invalid("fields", "the change is empty: nothing to propose")),
    }
}

/// Puts a change to its decider as a proposal, even when the caller could make it.
#[utoipa::path(post, path = "/api/v1/products/{product}/proposals", tag = "proposals",
    params(("product" = String, Path, description = "Product key")), request_body = ProposalIn,
    responses((status = 202, body = ProposalOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_proposal(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<ProposalIn>,
) -> ApiResult<(StatusCode, Json<ProposalOut>)> {
    let a = s.app.access(&u.user, &key).await?;
    let need_item = || b.item.clone().ok_or_else(|| ApiError::invalid("item", "is required"));
    let reason = b.reason.as_deref();
    match b.type_.as_str() {
        "create_item" => {
            let fields = b.fields.ok_or_else(|| ApiError::invalid("fields", "is required"))?;
            let (input, pos, _, _) = item_input(fields);
            proposed(s.app.create_item_as(&a, &input, &pos, reason, Mode::Propose).await?)
        }
        "update_item" => {
            let item = need_item()?;
            let fields = b.fields.ok_or_else(|| ApiError::invalid("fields", "is required"))?;
            let (input, _, version, _) = item_input(fields);
            proposed(s.app.update_item_as(&a, &item, &input, version, reason, Mode::Propose).await?)
        }
        "move_item" => {
            let item = need_item()?;
            let m = b.move_.ok_or_else(|| ApiError::invalid("move", "is required"))?;
            proposed(s.app.move_item_as(&a, &item, &move_input(&m), None, reason, Mode::Propose).await?)
        }
        "delete_item" => {
            let item = need_item()?;
            proposed(s.app.delete_item_as(&a, &item, reason, Mode::Propose).await?)
        }
        _ => {
            Err(ApiError::invalid("type", "must be one of create_item, update_item, move_item, delete_item"))
        }
    }
}

async fn access_of(s: &AppState, u: &ApiUser, id: i64) -> ApiResult<keel_app::ProductAccess> {
    let key = s.app.proposal_product_key(ProposalId(id)).await?;
    Ok(s.app.access(&u.user, &key).await?)
}

/// A proposal.
#[utoipa::path(get, path = "/api/v1/proposals/{id}", tag = "proposals",
    params(("id" = i64, Path, description = "Proposal id")),
    responses((status = 200, body = ProposalOut), (status = 404, body = Problem)))]
pub async fn get_proposal(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<ProposalOut>> {
    let a = access_of(&s, &u, id).await?;
    Ok(Json((&s.app.proposal(&a, ProposalId(id)).await?).into()))
}

/// Accepts a pending proposal: its change is applied as the decider, with the proposal recorded
/// in the history.
#[utoipa::path(post, path = "/api/v1/proposals/{id}/accept", tag = "proposals",
    params(("id" = i64, Path, description = "Proposal id")),
    responses((status = 200, body = AcceptedOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn accept_proposal(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<Json<AcceptedOut>> {
    if !body.is_empty() {
        let _: DecisionIn = parse_json(&body)?;
    }
    let a = access_of(&s, &u, id).await?;
    let acc = s.app.accept_proposal(&a, ProposalId(id)).await?;
    let item = match &acc.item {
        Some(i) => Some(ItemOut::new(i, &s.app.workflow(&a).await?)),
        None => None,
    };
    Ok(Json(AcceptedOut { proposal: (&acc.proposal).into(), item }))
}

/// Declines a pending proposal; a reason is required.
#[utoipa::path(post, path = "/api/v1/proposals/{id}/decline", tag = "proposals",
    params(("id" = i64, Path, description = "Proposal id")), request_body = DecisionIn,
    responses((status = 200, body = ProposalOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn decline_proposal(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<DecisionIn>,
) -> ApiResult<Json<ProposalOut>> {
    let a = access_of(&s, &u, id).await?;
    let reason =
        b.reason.ok_or_else(|| ApiError::from(AppError::invalid("reason", "is required to decline")))?;
    Ok(Json((&s.app.decline_proposal(&a, ProposalId(id), &reason).await?).into()))
}
