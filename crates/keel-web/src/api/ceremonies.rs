//! JSON API: stand-up, sprint review, retrospective.

use super::outcome;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::extract::{parse_json, ApiUser, Json as JsonIn, Query};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use keel_api::ceremonies::{
    BlockedOut, BlockerOut, CeremonyItemOut, MovedOut, NamedOut, RetroCardIn, RetroCardOut, RetroCardPatchIn,
    RetroColumnOut, RetroOut, ReviewIn, ReviewOut, ReviewSummaryOut, StandupOut, StandupPersonOut, ToItemIn,
    ToItemOut,
};
use keel_api::wire::ProposalOut;
use keel_api::{rfc3339, Problem};
use keel_app::ceremonies::{CardPatch, CardView, RetroBoard, Review, Standup, StateNames};
use keel_app::records::Stored;
use keel_domain::item::Item;
use keel_domain::retro::{RetroCard, RetroColumn, SprintReview};
use keel_domain::time::Date;
use keel_domain::RecordId;
use serde::Deserialize;
use utoipa::OpenApi;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/teams/{id}/standup", get(standup))
        .route("/api/v1/sprints/{id}/review", get(review).put(put_review))
        .route("/api/v1/sprints/{id}/retro", get(retro))
        .route("/api/v1/sprints/{id}/retro/cards", post(add_card))
        .route("/api/v1/retro-cards/{id}", patch(patch_card).delete(delete_card))
        .route("/api/v1/retro-cards/{id}/vote", post(vote))
        .route("/api/v1/retro-cards/{id}/to-item", post(to_item))
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(standup, review, put_review, retro, add_card, patch_card, delete_card, vote, to_item),
    tags((name = "ceremonies", description = "Daily stand-up, sprint review, retrospective"))
)]
pub struct Doc;

/// A record id from the path; anything else is not found.
pub(crate) fn record_id(s: &str) -> ApiResult<RecordId> {
    s.parse::<i64>().ok().filter(|i| *i > 0).map(RecordId).ok_or_else(ApiError::not_found)
}

fn item_out(i: &Item, states: &StateNames) -> CeremonyItemOut {
    CeremonyItemOut::new(i, states.name(i.status_id))
}

fn named<T>(s: &Stored<T>, name: &str) -> NamedOut {
    NamedOut { id: s.id.0, name: name.to_string() }
}

/// The stand-up as JSON.
pub(crate) fn standup_out(st: &Standup) -> StandupOut {
    let states = &st.states;
    StandupOut {
        team: named(&st.team, &st.team.data.name),
        date: st.date.to_string(),
        since: st.since.to_string(),
        previous: st.date.plus_days(-1).to_string(),
        next: st.date.plus_days(1).to_string(),
        sprint: st.sprint.as_ref().map(|s| named(s, &s.data.name)),
        people: st
            .people
            .iter()
            .map(|p| StandupPersonOut {
                user_id: p.user_id.0,
                name: p.name.clone(),
                moved: p
                    .moved
                    .iter()
                    .map(|m| MovedOut {
                        item: item_out(&m.item, states),
                        from: states.name(m.from).to_string(),
                        to: states.name(m.to).to_string(),
                        to_category: states.category(m.to).as_str().to_string(),
                        at: rfc3339(m.at),
                        by: m.by.map(|u| u.0),
                        by_name: m.by.and_then(|u| st.names.get(&u).cloned()),
                        moves: m.moves,
                    })
                    .collect(),
                in_progress: p.in_progress.iter().map(|i| item_out(i, states)).collect(),
                blocked: p
                    .blocked
                    .iter()
                    .map(|(i, b)| BlockedOut {
                        item: item_out(i, states),
                        blockers: b
                            .iter()
                            .map(|b| BlockerOut { key: b.key.clone(), title: b.title.clone() })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The stand-up's query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StandupQuery {
    /// The day, `YYYY-MM-DD` (default: today, UTC).
    date: Option<String>,
}

/// Parses the stand-up's day (today when absent or empty).
pub(crate) fn standup_date(d: Option<&str>) -> Result<Date, keel_domain::ValidationError> {
    match d.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => Date::parse("date", d),
        None => Ok(Date::of(keel_app::now())),
    }
}

/// A team's daily stand-up: for each member, what moved since the previous working day (Monday
/// looks back to Friday), what they hold in progress, and what of theirs is blocked and by what.
#[utoipa::path(get, path = "/api/v1/teams/{id}/standup", tag = "ceremonies",
    params(("id" = i64, Path, description = "Team id"), StandupQuery),
    responses((status = 200, body = StandupOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn standup(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    Query(q): Query<StandupQuery>,
) -> ApiResult<Json<StandupOut>> {
    let id = record_id(&id)?;
    let date = standup_date(q.date.as_deref()).map_err(keel_app::AppError::from)?;
    let st = s.app.standup(&u.user, id, date).await?;
    Ok(Json(standup_out(&st)))
}

fn summary_out(r: &Stored<SprintReview>, with_draft: bool) -> Option<ReviewSummaryOut> {
    if !with_draft && r.data.published.is_none() {
        return None;
    }
    Some(ReviewSummaryOut {
        draft: with_draft.then(|| r.data.draft.clone()),
        published: r.data.published.clone(),
        published_at: r.data.published_at.map(rfc3339),
        published_by: r.data.published_by.map(|u| u.0),
        version: r.version,
    })
}

fn review_out(r: &Review) -> ReviewOut {
    let items = |v: &[Item]| v.iter().map(|i| item_out(i, &r.states)).collect();
    ReviewOut {
        sprint: named(&r.sprint, &r.sprint.data.name),
        state: r.sprint.state.clone(),
        goal: r.sprint.data.goal.clone(),
        team: named(&r.team, &r.team.data.name),
        accepted: items(&r.accepted),
        waiting: items(&r.waiting),
        unfinished: items(&r.unfinished),
        points_done: r.points_done,
        points_accepted: r.points_accepted,
        points_committed: r.points_committed,
        committed_from: if r.committed_frozen { "commitment" } else { "scope" }.to_string(),
        summary: r.summary.as_ref().and_then(|x| summary_out(x, r.can_read_draft)),
        can_write: r.can_write,
    }
}

/// A sprint's review: its done items split into accepted and waiting for acceptance, the
/// unfinished ones, points done against committed, and the summary (stakeholders see only what
/// is published).
#[utoipa::path(get, path = "/api/v1/sprints/{id}/review", tag = "ceremonies",
    params(("id" = i64, Path, description = "Sprint id")),
    responses((status = 200, body = ReviewOut), (status = 404, body = Problem)))]
pub async fn review(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ReviewOut>> {
    let r = s.app.review(&u.user, record_id(&id)?).await?;
    Ok(Json(review_out(&r)))
}

/// Saves the review's summary (Markdown) and, with `publish`, publishes it to stakeholders. The
/// Product Owner's decision (the right to manage sprints).
#[utoipa::path(put, path = "/api/v1/sprints/{id}/review", tag = "ceremonies",
    params(("id" = i64, Path, description = "Sprint id")), request_body = ReviewIn,
    responses((status = 200, body = ReviewOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_review(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    JsonIn(b): JsonIn<ReviewIn>,
) -> ApiResult<Json<ReviewOut>> {
    let id = record_id(&id)?;
    s.app.save_review(&u.user, id, &b.summary, b.publish, b.version).await?;
    let r = s.app.review(&u.user, id).await?;
    Ok(Json(review_out(&r)))
}

/// A card as JSON, for `viewer`.
pub(crate) fn card_out(v: &CardView) -> RetroCardOut {
    RetroCardOut {
        id: v.card.id.0,
        column: v.column.as_str().to_string(),
        text: v.card.data.text.clone(),
        author_id: v.card.data.author.0,
        author_name: v.author_name.clone(),
        votes: v.card.data.votes.len(),
        voted: v.voted,
        item: v.item_key.clone(),
        proposal_id: v.card.data.proposal.map(|p| p.0),
        proposal_state: v.proposal_state.map(|s| s.as_str().to_string()),
        version: v.card.version,
        created_at: rfc3339(v.card.created_at),
    }
}

fn plain_card(c: &Stored<RetroCard>, viewer: &ApiUser, item_key: Option<String>) -> RetroCardOut {
    let column = RetroColumn::parse("column", &c.state).unwrap_or(RetroColumn::WentWell);
    card_out(&CardView {
        card: c.clone(),
        column,
        author_name: String::new(),
        item_key,
        proposal_state: None,
        voted: c.data.voted_by(viewer.user.id),
        can_edit: false,
    })
}

fn retro_out(b: &RetroBoard) -> RetroOut {
    RetroOut {
        sprint: named(&b.sprint, &b.sprint.data.name),
        columns: b
            .columns
            .iter()
            .map(|(c, cards)| RetroColumnOut {
                column: c.as_str().to_string(),
                label: c.label().to_string(),
                cards: cards.iter().map(card_out).collect(),
            })
            .collect(),
        can_write: b.can_write,
    }
}

/// A sprint's retrospective board: went-well, to-improve and actions, each column's cards with
/// their votes, most votes first.
#[utoipa::path(get, path = "/api/v1/sprints/{id}/retro", tag = "ceremonies",
    params(("id" = i64, Path, description = "Sprint id")),
    responses((status = 200, body = RetroOut), (status = 404, body = Problem)))]
pub async fn retro(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<RetroOut>> {
    let b = s.app.retro(&u.user, record_id(&id)?).await?;
    Ok(Json(retro_out(&b)))
}

/// Adds a card to the retrospective (any member of the product but stakeholders).
#[utoipa::path(post, path = "/api/v1/sprints/{id}/retro/cards", tag = "ceremonies",
    params(("id" = i64, Path, description = "Sprint id")), request_body = RetroCardIn,
    responses((status = 201, body = RetroCardOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_card(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    JsonIn(b): JsonIn<RetroCardIn>,
) -> ApiResult<Response> {
    let c = s.app.add_card(&u.user, record_id(&id)?, &b.column, &b.text).await?;
    let mut out = plain_card(&c, &u, None);
    out.author_name = u.user.name.clone();
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

async fn card_key(s: &AppState, c: &Stored<RetroCard>) -> Option<String> {
    match c.data.item {
        Some(i) => s.app.store().item(i).await.ok().map(|i| i.key),
        None => None,
    }
}

/// Changes a card's text or column (its author, or the Product Owner).
#[utoipa::path(patch, path = "/api/v1/retro-cards/{id}", tag = "ceremonies",
    params(("id" = i64, Path, description = "Card id")), request_body = RetroCardPatchIn,
    responses((status = 200, body = RetroCardOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_card(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    JsonIn(b): JsonIn<RetroCardPatchIn>,
) -> ApiResult<Json<RetroCardOut>> {
    let p = CardPatch { text: b.text, column: b.column, version: b.version };
    let c = s.app.update_card(&u.user, record_id(&id)?, &p).await?;
    let key = card_key(&s, &c).await;
    Ok(Json(plain_card(&c, &u, key)))
}

/// Deletes a card (its author, or the Product Owner).
#[utoipa::path(delete, path = "/api/v1/retro-cards/{id}", tag = "ceremonies",
    params(("id" = i64, Path, description = "Card id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_card(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.app.delete_card(&u.user, record_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Toggles the caller's vote on a card: one vote per person per card; voting again takes it
/// back. Concurrent votes of different people all count.
#[utoipa::path(post, path = "/api/v1/retro-cards/{id}/vote", tag = "ceremonies",
    params(("id" = i64, Path, description = "Card id")),
    responses((status = 200, body = RetroCardOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn vote(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<RetroCardOut>> {
    let c = s.app.vote(&u.user, record_id(&id)?).await?;
    let key = card_key(&s, &c).await;
    Ok(Json(plain_card(&c, &u, key)))
}

/// Makes a backlog item (a task by default, or a story) at the top of the backlog from an action
/// card, its description linking back to the retrospective, and records it on the card in the
/// same transaction. Answers 202 with a proposal when the caller may only propose creating items;
/// 409 when the card already has an item or a pending proposal.
#[utoipa::path(post, path = "/api/v1/retro-cards/{id}/to-item", tag = "ceremonies",
    params(("id" = i64, Path, description = "Card id")), request_body(content = Option<ToItemIn>),
    responses((status = 201, body = ToItemOut), (status = 202, body = ProposalOut), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn to_item(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let b: ToItemIn =
        if body.iter().all(u8::is_ascii_whitespace) { ToItemIn::default() } else { parse_json(&body)? };
    let id = record_id(&id)?;
    let (_, _, access) = s.app.card_access(&u.user, id).await?;
    let o = s.app.card_to_item(&u.user, id, b.kind.as_deref()).await?;
    let w = s.app.workflow(&access).await?;
    Ok(outcome(o, StatusCode::CREATED, |(c, i)| {
        let status = w.state(i.status_id).map_or("", |st| st.name.as_str());
        let out = ToItemOut {
            item: CeremonyItemOut::new(&i, status),
            card: plain_card(&c, &u, Some(i.key.clone())),
        };
        Json(out).into_response()
    }))
}
