//! JSON API: planning poker, questions to the Product Owner, and the decision log.
//!
//! The poker room is live: `GET /api/v1/items/{key}/poker/events` is a Server-Sent Events
//! stream that sends the room (as the caller sees it) whenever the round's record changes. The
//! state lives in the database, so the stream polls the record's version (one indexed read
//! every 300 ms) rather than listening to this process: several server processes work alike.

use super::{item_access, outcome};
use crate::error::ApiResult;
use crate::extract::Path;
use crate::extract::{ApiUser, Json as JsonIn, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::Stream;
use keel_api::poker::{
    DecisionOut, DecisionPageOut, EstimateIn, PersonOut, PokerOut, PokerRightsOut, QuestionIn,
    QuestionListOut, QuestionOut, VoteIn,
};
use keel_api::wire::ProposalOut;
use keel_api::{rfc3339, Problem};
use keel_app::poker::{DecisionQuery, LogEntry};
use keel_app::{App, AppResult, ProductAccess};
use keel_domain::item::Item;
use keel_domain::rights::{Action, Decision};
use keel_domain::{RecordId, UserId};
use serde::Deserialize;
use std::collections::HashMap;
use std::convert::Infallible;
use std::time::{Duration, Instant};
use utoipa::OpenApi;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/items/{key}/poker", get(get_poker).post(open_poker))
        .route("/api/v1/items/{key}/poker/vote", post(vote))
        .route("/api/v1/items/{key}/poker/reveal", post(reveal))
        .route("/api/v1/items/{key}/poker/revote", post(revote))
        .route("/api/v1/items/{key}/poker/estimate", post(estimate))
        .route("/api/v1/items/{key}/poker/close", post(close))
        .route("/api/v1/items/{key}/poker/events", get(events))
        .route("/api/v1/items/{key}/questions", get(list_questions).post(ask))
        .route("/api/v1/items/{key}/questions/{id}/answer", post(answer))
        .route("/api/v1/products/{product}/decisions", get(decisions))
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(get_poker, open_poker, vote, reveal, revote, estimate, close, events, list_questions, ask, answer, decisions),
    tags(
        (name = "poker", description = "Planning poker on an item, live over Server-Sent Events"),
        (name = "questions", description = "Questions to the Product Owner; the answer is the decision"),
        (name = "decisions", description = "The product's decision log"),
    )
)]
pub struct Doc;

/// How often the event stream looks at the round's version.
const POLL: Duration = Duration::from_millis(300);
/// How long one event stream lasts before the browser reconnects (so a server shutting down
/// gracefully never waits long on open streams).
const STREAM_LIFETIME: Duration = Duration::from_secs(30);

/// A function naming the members of a product (a former member for anyone else).
pub(crate) async fn namer(app: &App, a: &ProductAccess) -> AppResult<impl Fn(UserId) -> String> {
    let names: HashMap<UserId, String> =
        app.members(a).await?.into_iter().map(|(u, _)| (u.id, u.name)).collect();
    Ok(move |u: UserId| names.get(&u).cloned().unwrap_or_else(|| "a former member".to_string()))
}

/// The rights the room shows buttons for.
pub(crate) fn rights(app: &App, a: &ProductAccess) -> PokerRightsOut {
    PokerRightsOut {
        vote: app.decide(a, Action::Estimate) == Decision::Allow,
        run: app.decide(a, Action::RunPoker) == Decision::Allow,
        estimate: app.decide(a, Action::Estimate) != Decision::Deny,
    }
}

/// The poker room of `item` as the user of `a` sees it.
pub(crate) async fn room(app: &App, a: &ProductAccess, item: &Item) -> AppResult<PokerOut> {
    let p = app.poker(a, item).await?;
    let names = namer(app, a).await?;
    Ok(PokerOut::new(&item.key, p.as_ref().map(|s| (&s.data, s.version)), a.user.id, &names, rights(app, a)))
}

async fn load(s: &AppState, u: &ApiUser, key: &str) -> ApiResult<(ProductAccess, Item)> {
    let a = item_access(&s.app, &u.user, key).await?;
    let i = s.app.item(&a, key).await?;
    Ok((a, i))
}

async fn answer_room(s: &AppState, u: &ApiUser, key: &str) -> ApiResult<Json<PokerOut>> {
    let (a, i) = load(s, u, key).await?;
    Ok(Json(room(&s.app, &a, &i).await?))
}

/// The item's poker room: the round, who has voted, and every card once revealed.
#[utoipa::path(get, path = "/api/v1/items/{key}/poker", tag = "poker",
    params(("key" = String, Path, description = "Item key")),
    responses((status = 200, body = PokerOut), (status = 404, body = Problem)))]
pub async fn get_poker(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<PokerOut>> {
    answer_room(&s, &u, &key).await
}

/// Opens a round: the first on the item, or the next after a closed one (409 while one runs).
#[utoipa::path(post, path = "/api/v1/items/{key}/poker", tag = "poker",
    params(("key" = String, Path, description = "Item key")),
    responses((status = 201, body = PokerOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn open_poker(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<(StatusCode, Json<PokerOut>)> {
    let a = item_access(&s.app, &u.user, &key).await?;
    s.app.open_poker(&a, &key).await?;
    Ok((StatusCode::CREATED, answer_room(&s, &u, &key).await?))
}

/// Plays a card in the open round (again to change it). 409 once the cards are revealed.
#[utoipa::path(post, path = "/api/v1/items/{key}/poker/vote", tag = "poker",
    params(("key" = String, Path, description = "Item key")), request_body = VoteIn,
    responses((status = 200, body = PokerOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn vote(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<VoteIn>,
) -> ApiResult<Json<PokerOut>> {
    let a = item_access(&s.app, &u.user, &key).await?;
    s.app.poker_vote(&a, &key, &b.card_text()).await?;
    answer_room(&s, &u, &key).await
}

/// Reveals every card of the open round.
#[utoipa::path(post, path = "/api/v1/items/{key}/poker/reveal", tag = "poker",
    params(("key" = String, Path, description = "Item key")),
    responses((status = 200, body = PokerOut), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn reveal(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<PokerOut>> {
    let a = item_access(&s.app, &u.user, &key).await?;
    s.app.poker_reveal(&a, &key).await?;
    answer_room(&s, &u, &key).await
}

/// Keeps the revealed round and opens the next one for a re-vote.
#[utoipa::path(post, path = "/api/v1/items/{key}/poker/revote", tag = "poker",
    params(("key" = String, Path, description = "Item key")),
    responses((status = 200, body = PokerOut), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn revote(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<PokerOut>> {
    let a = item_access(&s.app, &u.user, &key).await?;
    s.app.poker_revote(&a, &key).await?;
    answer_room(&s, &u, &key).await
}

/// Closes the round without an estimate.
#[utoipa::path(post, path = "/api/v1/items/{key}/poker/close", tag = "poker",
    params(("key" = String, Path, description = "Item key")),
    responses((status = 200, body = PokerOut), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn close(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<PokerOut>> {
    let a = item_access(&s.app, &u.user, &key).await?;
    s.app.poker_close(&a, &key).await?;
    answer_room(&s, &u, &key).await
}

/// Sets the item's estimate from the revealed round and closes the round, together. Estimating
/// is the team's decision: others get 403 (or 202 with a proposal where the rights say so).
#[utoipa::path(post, path = "/api/v1/items/{key}/poker/estimate", tag = "poker",
    params(("key" = String, Path, description = "Item key")), request_body = EstimateIn,
    responses((status = 200, body = PokerOut), (status = 202, body = ProposalOut), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn estimate(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<EstimateIn>,
) -> ApiResult<Response> {
    let a = item_access(&s.app, &u.user, &key).await?;
    let o = s.app.poker_estimate(&a, &key, b.estimate, b.reason.as_deref()).await?;
    let (a, i) = load(&s, &u, &key).await?;
    let r = room(&s.app, &a, &i).await?;
    Ok(outcome(o, StatusCode::OK, |_| Json(r).into_response()))
}

/// The room as a Server-Sent Events stream: an event `round` (data: the room as JSON) at once
/// and whenever it changes, a keep-alive comment every 15 s. The stream ends after 30 s; the
/// browser's `EventSource` reconnects by itself and gets the room again.
#[utoipa::path(get, path = "/api/v1/items/{key}/poker/events", tag = "poker",
    params(("key" = String, Path, description = "Item key")),
    responses((status = 200, description = "text/event-stream of `round` events carrying PokerOut", content_type = "text/event-stream"),
        (status = 404, body = Problem)))]
pub async fn events(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let (a, item) = load(&s, &u, &key).await?;
    let product = a.product.key.to_string();
    struct St {
        last: i64,
        first: bool,
        started: Instant,
    }
    let user = u.user;
    let init = St { last: -1, first: true, started: Instant::now() };
    let stream = futures_util::stream::unfold(init, move |mut st| {
        let (s, user, item, product) = (s.clone(), user.clone(), item.clone(), product.clone());
        async move {
            loop {
                if !st.first {
                    tokio::time::sleep(POLL).await;
                }
                st.first = false;
                if st.started.elapsed() > STREAM_LIFETIME {
                    return None;
                }
                let Ok(v) = s.app.poker_version(item.id).await else { continue };
                if v == st.last {
                    continue;
                }
                // Access is checked again on each change: a member removed meanwhile stops here.
                let Ok(a) = s.app.access(&user, &product).await else { return None };
                let Ok(r) = room(&s.app, &a, &item).await else { continue };
                st.last = v;
                let ev = Event::default()
                    .event("round")
                    .id(v.to_string())
                    .retry(Duration::from_millis(1000))
                    .json_data(&r)
                    .unwrap_or_default();
                return Some((Ok(ev), st));
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The questions on the item, oldest first, with their answers.
#[utoipa::path(get, path = "/api/v1/items/{key}/questions", tag = "questions",
    params(("key" = String, Path, description = "Item key")),
    responses((status = 200, body = QuestionListOut), (status = 404, body = Problem)))]
pub async fn list_questions(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<QuestionListOut>> {
    let (a, i) = load(&s, &u, &key).await?;
    let qs = s.app.questions(&a, &i).await?;
    let names = namer(&s.app, &a).await?;
    Ok(Json(QuestionListOut {
        questions: qs.iter().map(|q| QuestionOut::new(q.id.0, &i.key, &q.data, &names)).collect(),
    }))
}

/// Asks the Product Owner a question on the item (any member).
#[utoipa::path(post, path = "/api/v1/items/{key}/questions", tag = "questions",
    params(("key" = String, Path, description = "Item key")), request_body = QuestionIn,
    responses((status = 201, body = QuestionOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn ask(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<QuestionIn>,
) -> ApiResult<(StatusCode, Json<QuestionOut>)> {
    let (a, i) = load(&s, &u, &key).await?;
    let q = s.app.ask_question(&a, &key, &b.text).await?;
    let names = namer(&s.app, &a).await?;
    Ok((StatusCode::CREATED, Json(QuestionOut::new(q.id.0, &i.key, &q.data, &names))))
}

/// Answers a question: the Product Owner's decision (others 403; 409 when already answered).
#[utoipa::path(post, path = "/api/v1/items/{key}/questions/{id}/answer", tag = "questions",
    params(("key" = String, Path, description = "Item key"), ("id" = i64, Path, description = "Question id")),
    request_body = QuestionIn,
    responses((status = 200, body = QuestionOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn answer(
    State(s): State<AppState>,
    u: ApiUser,
    Path((key, id)): Path<(String, i64)>,
    JsonIn(b): JsonIn<QuestionIn>,
) -> ApiResult<Json<QuestionOut>> {
    let (a, i) = load(&s, &u, &key).await?;
    let q = s.app.answer_question(&a, &key, RecordId(id), &b.text).await?;
    let names = namer(&s.app, &a).await?;
    Ok(Json(QuestionOut::new(q.id.0, &i.key, &q.data, &names)))
}

/// Decision-log filters and paging.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DecisionQueryIn {
    /// Kinds, comma-separated: proposal, answer, acceptance, estimate, sprint, wip.
    pub kind: Option<String>,
    /// A person (user id or e-mail) who decided, proposed or asked.
    pub person: Option<String>,
    /// From this date, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// To this date, inclusive.
    pub to: Option<String>,
    /// About this item key.
    pub item: Option<String>,
    /// Page size, 1-200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl DecisionQueryIn {
    /// The application's query.
    pub fn into_query(self) -> DecisionQuery {
        DecisionQuery {
            kind: self.kind,
            person: self.person,
            from: self.from,
            to: self.to,
            item: self.item,
            cursor: self.cursor,
            limit: self.limit.unwrap_or(50),
        }
    }
}

/// One log entry on the wire.
pub(crate) fn decision_out(e: &LogEntry, names: &dyn Fn(UserId) -> String) -> DecisionOut {
    let p = |u: UserId| PersonOut { id: u.0, name: names(u) };
    DecisionOut {
        kind: e.kind.to_string(),
        id: e.id.clone(),
        at: rfc3339(e.at),
        who: e.who.map(p),
        raised_by: e.raised_by.map(p),
        raised_at: e.raised_at.map(rfc3339),
        state: e.state.clone(),
        what: e.what.clone(),
        why: e.why.clone(),
        decision: e.decision.clone(),
        item: e.item_key.clone(),
    }
}

/// The product's decision log: proposals of every state, answered questions, acceptances and
/// other recorded decisions, with who, when, what and why; newest first.
#[utoipa::path(get, path = "/api/v1/products/{product}/decisions", tag = "decisions",
    params(("product" = String, Path, description = "Product key"), DecisionQueryIn),
    responses((status = 200, body = DecisionPageOut), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn decisions(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    Query(q): Query<DecisionQueryIn>,
) -> ApiResult<Json<DecisionPageOut>> {
    let a = s.app.access(&u.user, &key).await?;
    let page = s.app.decision_log(&a, &q.into_query()).await?;
    let names = namer(&s.app, &a).await?;
    Ok(Json(DecisionPageOut {
        decisions: page.entries.iter().map(|e| decision_out(e, &names)).collect(),
        next_cursor: page.next_cursor,
    }))
}
