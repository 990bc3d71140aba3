//! Pages: planning poker, questions to the Product Owner, and the decision log.
//!
//! The poker room (`/items/{key}/poker`) works with plain forms; `assets/poker.js` makes it live:
//! it listens to the room's Server-Sent Events and, when the round changes, replaces the live
//! part of the page with `/items/{key}/poker/live`, the same fragment the page was built with.
//! The item page embeds [`item_panel`]: the running round and the item's questions.

use super::form::FormData;
use super::view::{ago, date_time, initials, points};
use super::{finish, message, redirect_with, render, Flash, Layout, UiResult};
use crate::api::poker::{decision_out, namer, room};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use keel_api::poker::PokerOut;
use keel_app::poker::{decision_kinds, DecisionQuery};
use keel_app::{AppError, Outcome, ProductAccess};
use keel_domain::item::Item;
use keel_domain::product::Role;
use keel_domain::rights::{Action, Decision};
use keel_domain::RecordId;
use serde::Deserialize;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/items/{key}/poker", get(page).post(open))
        .route("/items/{key}/poker/live", get(live))
        .route("/items/{key}/poker/vote", post(vote))
        .route("/items/{key}/poker/reveal", post(reveal))
        .route("/items/{key}/poker/revote", post(revote))
        .route("/items/{key}/poker/estimate", post(estimate))
        .route("/items/{key}/poker/close", post(close))
        .route("/items/{key}/questions", post(ask))
        .route("/items/{key}/questions/{id}/answer", post(answer))
        .route("/products/{key}/decisions", get(decisions))
}

async fn load(st: &AppState, s: &UiSession, key: &str) -> Result<(ProductAccess, Item), AppError> {
    let pk = super::product_of(key).ok_or(AppError::NotFound)?;
    let a = st.app.access(&s.user, pk).await?;
    let item = st.app.item(&a, key).await?;
    Ok((a, item))
}

/// A card of the deck as a button.
struct DeckCard {
    value: String,
    label: String,
    mine: bool,
}

/// A place at the table: a team member (or anyone who voted).
struct Seat {
    name: String,
    initials: String,
    voted: bool,
    card: Option<String>,
}

/// An earlier round.
struct Past {
    round: u32,
    cards: String,
    summary: String,
}

/// The live part of the room, rendered alone for `poker.js` and inside the page.
#[derive(Template)]
#[template(path = "poker_live.html")]
struct Live {
    key: String,
    csrf: String,
    state: String,
    round: u32,
    version: i64,
    deck: Vec<DeckCard>,
    seats: Vec<Seat>,
    voted: usize,
    /// The summary's figures as (label, value).
    figures: Vec<(&'static str, String)>,
    consensus: bool,
    suggestion: String,
    estimate: String,
    past: Vec<Past>,
    can_vote: bool,
    can_run: bool,
    can_estimate: bool,
}

impl Live {
    fn revealed(&self) -> bool {
        self.state == "revealed" || self.state == "closed"
    }

    fn state_label(&self) -> &'static str {
        match self.state.as_str() {
            "open" => "voting",
            "revealed" => "revealed",
            "closed" => "closed",
            _ => "not started",
        }
    }
}

fn card_label(v: &str) -> String {
    if v == "coffee" {
        "☕".to_string()
    } else {
        v.to_string()
    }
}

fn summary_text(s: &keel_api::poker::SummaryOut) -> String {
    let mut parts = Vec::new();
    if let (Some(a), Some(b)) = (s.min, s.max) {
        parts.push(if a == b { format!("all {a}") } else { format!("{a}–{b}") });
    }
    if let Some(m) = s.median {
        parts.push(format!("median {}", points(m)));
    }
    if s.unsure > 0 {
        parts.push(format!("{} ?", s.unsure));
    }
    if s.coffee > 0 {
        parts.push(format!("{} ☕", s.coffee));
    }
    parts.join(" · ")
}

async fn live_view(st: &AppState, s: &UiSession, a: &ProductAccess, item: &Item) -> Result<Live, AppError> {
    let r: PokerOut = room(&st.app, a, item).await?;
    let members = st.app.members(a).await?;
    let mut seats: Vec<Seat> = members
        .iter()
        .filter(|(u, roles)| roles.has(Role::Team) && u.is_active)
        .map(|(u, _)| Seat { name: u.name.clone(), initials: initials(&u.name), voted: false, card: None })
        .collect();
    for v in &r.voters {
        match seats.iter_mut().find(|x| x.name == v.name) {
            Some(x) => x.voted = true,
            None => seats.push(Seat {
                name: v.name.clone(),
                initials: initials(&v.name),
                voted: true,
                card: None,
            }),
        }
    }
    if let Some(votes) = &r.votes {
        for v in votes {
            match seats.iter_mut().find(|x| x.name == v.user.name) {
                Some(x) => {
                    x.voted = true;
                    x.card = Some(card_label(&v.card));
                }
                None => seats.push(Seat {
                    name: v.user.name.clone(),
                    initials: initials(&v.user.name),
                    voted: true,
                    card: Some(card_label(&v.card)),
                }),
            }
        }
    }
    seats.sort_by(|x, y| x.name.cmp(&y.name));
    let mut figures = Vec::new();
    let mut consensus = false;
    let mut suggestion = String::new();
    if let Some(s) = &r.summary {
        let opt = |v: Option<u16>| v.map_or_else(|| "—".to_string(), |n| n.to_string());
        figures.push(("Votes", s.votes.to_string()));
        figures.push(("Lowest", opt(s.min)));
        figures.push(("Highest", opt(s.max)));
        figures.push(("Median", s.median.map_or_else(|| "—".to_string(), points)));
        figures.push(("Most common", opt(s.most_common)));
        if s.unsure + s.coffee > 0 {
            figures.push(("? / ☕", format!("{} / {}", s.unsure, s.coffee)));
        }
        consensus = s.consensus;
        suggestion = s.most_common.map(|n| n.to_string()).unwrap_or_default();
    }
    Ok(Live {
        key: item.key.clone(),
        csrf: s.csrf.clone(),
        deck: r
            .deck
            .iter()
            .map(|c| DeckCard {
                value: c.clone(),
                label: card_label(c),
                mine: r.my_vote.as_deref() == Some(c),
            })
            .collect(),
        voted: r.voters.len(),
        seats,
        figures,
        consensus,
        suggestion,
        estimate: r.estimate.map(points).unwrap_or_default(),
        past: r
            .history
            .iter()
            .map(|h| Past {
                round: h.round,
                cards: h
                    .votes
                    .iter()
                    .map(|v| format!("{} {}", v.user.name, card_label(&v.card)))
                    .collect::<Vec<_>>()
                    .join(", "),
                summary: summary_text(&h.summary),
            })
            .collect(),
        can_vote: r.can.vote,
        can_run: r.can.run,
        can_estimate: r.can.estimate,
        state: r.state,
        round: r.round,
        version: r.version,
    })
}

#[derive(Template)]
#[template(path = "poker_room.html")]
struct RoomPage {
    l: Layout,
    key: String,
    title: String,
    kind: &'static str,
    as_a: String,
    i_want: String,
    so_that: String,
    criteria: Vec<(String, bool)>,
    description_html: String,
    estimate: String,
    script: &'static str,
    /// The live part, rendered by its own template (the script swaps it in place).
    live_html: String,
    /// The item's questions to the Product Owner.
    questions_html: String,
}

/// GET /items/{key}/poker: the poker room.
pub(crate) async fn page(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let (a, item) = load(&st, &s, &key).await?;
        let live = live_view(&st, &s, &a, &item).await?;
        let l = Layout::new(&st, &s, format!("Planning poker · {}", item.key), "backlog", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .crumb(format!("/items/{}", item.key), item.key.clone())
            .flash(&f);
        let page = RoomPage {
            l,
            key: item.key.clone(),
            title: item.title.clone(),
            kind: item.kind.as_str(),
            as_a: item.story.as_a.clone(),
            i_want: item.story.i_want.clone(),
            so_that: item.story.so_that.clone(),
            criteria: item.criteria.iter().map(|c| (c.text.clone(), c.checked)).collect(),
            description_html: crate::markdown::render(&item.description),
            estimate: item.estimate.map(|p| points(p.value())).unwrap_or_default(),
            script: super::assets::poker_js_url(),
            live_html: live.render().map_err(|e| AppError::Internal(keel_store::StoreError::other(e)))?,
            questions_html: panel(&st, &s, &a, &item, false, &format!("/items/{}/poker", item.key)).await?,
        };
        render(&page)
    }
    .await;
    finish(&st, &s, r).await
}

/// GET /items/{key}/poker/live: the live part of the room, for the script to swap in.
pub(crate) async fn live(State(st): State<AppState>, s: UiSession, Path(key): Path<String>) -> Response {
    let r = async {
        let (a, item) = load(&st, &s, &key).await?;
        let live = live_view(&st, &s, &a, &item).await?;
        let body = live.render().map_err(|e| AppError::Internal(keel_store::StoreError::other(e)))?;
        let mut res = axum::response::Html(body).into_response();
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(res)
    }
    .await;
    finish(&st, &s, r).await
}

/// Answers a form of the room: back to the room, with the error if there was one. `f` may
/// return a notice of its own (a proposal made instead of the change).
async fn room_form(
    st: &AppState,
    s: &UiSession,
    key: &str,
    form: &FormData,
    f: impl AsyncFnOnce(&ProductAccess) -> Result<Option<String>, AppError>,
    done: &str,
) -> UiResult {
    s.check_csrf(form.get("csrf"))?;
    let (a, item) = load(st, s, key).await?;
    let back = format!("/items/{}/poker", item.key);
    match f(&a).await {
        Ok(Some(notice)) => Ok(redirect_with(&back, "notice", &notice)),
        Ok(None) if done.is_empty() => Ok(super::see_other(&back)),
        Ok(None) => Ok(redirect_with(&back, "notice", done)),
        Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
        Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
    }
}

/// POST /items/{key}/poker: opens a round.
pub(crate) async fn open(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let k = key.clone();
    let r = room_form(&st, &s, &key, &form, async |a| st.app.open_poker(a, &k).await.map(|_| None), "").await;
    finish(&st, &s, r).await
}

/// POST /items/{key}/poker/vote: plays the card `card`.
pub(crate) async fn vote(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let (k, card) = (key.clone(), form.get("card").to_string());
    let r =
        room_form(&st, &s, &key, &form, async |a| st.app.poker_vote(a, &k, &card).await.map(|_| None), "")
            .await;
    finish(&st, &s, r).await
}

/// POST /items/{key}/poker/reveal
pub(crate) async fn reveal(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let k = key.clone();
    let r =
        room_form(&st, &s, &key, &form, async |a| st.app.poker_reveal(a, &k).await.map(|_| None), "").await;
    finish(&st, &s, r).await
}

/// POST /items/{key}/poker/revote
pub(crate) async fn revote(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let k = key.clone();
    let r =
        room_form(&st, &s, &key, &form, async |a| st.app.poker_revote(a, &k).await.map(|_| None), "").await;
    finish(&st, &s, r).await
}

/// POST /items/{key}/poker/close: closes without an estimate.
pub(crate) async fn close(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let k = key.clone();
    let r = room_form(
        &st,
        &s,
        &key,
        &form,
        async |a| st.app.poker_close(a, &k).await.map(|_| None),
        "Round closed.",
    )
    .await;
    finish(&st, &s, r).await
}

/// POST /items/{key}/poker/estimate: sets the estimate and closes the round.
pub(crate) async fn estimate(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let k = key.clone();
    let raw = form.get("estimate").trim().replace(',', ".");
    let r = room_form(
        &st,
        &s,
        &key,
        &form,
        async |a| {
            let v = raw.parse::<f64>().map_err(|_| AppError::invalid("estimate", "must be a number"))?;
            match st.app.poker_estimate(a, &k, v, None).await? {
                Outcome::Done(_) => Ok(None),
                Outcome::Proposed(p) => Ok(Some(super::proposed_notice(&st, &p))),
            }
        },
        "Estimate set; the round is closed.",
    )
    .await;
    finish(&st, &s, r).await
}

/// POST /items/{key}/questions: asks a question; back to `back` (the item by default).
pub(crate) async fn ask(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r = async {
        s.check_csrf(form.get("csrf"))?;
        let (a, item) = load(&st, &s, &key).await?;
        let back = super::back_to(&form, &format!("/items/{}", item.key));
        match st.app.ask_question(&a, &item.key, form.get("text")).await {
            Ok(_) => Ok(redirect_with(&back, "notice", "Question sent to the Product Owner.")),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /items/{key}/questions/{id}/answer: the Product Owner's answer, the decision.
pub(crate) async fn answer(
    State(st): State<AppState>,
    s: UiSession,
    Path((key, id)): Path<(String, i64)>,
    form: FormData,
) -> Response {
    let r = async {
        s.check_csrf(form.get("csrf"))?;
        let (a, item) = load(&st, &s, &key).await?;
        let back = super::back_to(&form, &format!("/items/{}", item.key));
        match st.app.answer_question(&a, &item.key, RecordId(id), form.get("text")).await {
            Ok(_) => Ok(redirect_with(&back, "notice", "Answered: the decision is recorded.")),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

// ---- The panel on the item page -----------------------------------------------------------

struct QuestionRow {
    id: i64,
    text: String,
    asked_by: String,
    asked_when: String,
    asked_full: String,
    answer: Option<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "poker_panel.html")]
struct Panel {
    key: String,
    pkey: String,
    csrf: String,
    here: String,
    state: String,
    round: u32,
    voted: usize,
    estimate: String,
    can_run: bool,
    /// The estimation line (the item page); the room itself shows only the questions.
    show_poker: bool,
    questions: Vec<QuestionRow>,
    open_count: usize,
    can_answer: bool,
}

/// The item page's panel: the poker round running on `item` (with a link to the room) and the
/// item's questions to the Product Owner with their answers, and the forms to ask and answer.
pub(crate) async fn item_panel(
    st: &AppState,
    s: &UiSession,
    a: &ProductAccess,
    item: &Item,
) -> Result<String, AppError> {
    panel(st, s, a, item, true, &format!("/items/{}", item.key)).await
}

/// The panel, with or without the estimation line; forms return to `here`.
async fn panel(
    st: &AppState,
    s: &UiSession,
    a: &ProductAccess,
    item: &Item,
    show_poker: bool,
    here: &str,
) -> Result<String, AppError> {
    let r = room(&st.app, a, item).await?;
    let names = namer(&st.app, a).await?;
    let qs = st.app.questions(a, item).await?;
    let questions: Vec<QuestionRow> = qs
        .iter()
        .map(|q| QuestionRow {
            id: q.id.0,
            text: q.data.text.clone(),
            asked_by: names(q.data.asked_by),
            asked_when: ago(q.data.asked_at),
            asked_full: date_time(q.data.asked_at),
            answer: q.data.answer.as_ref().map(|x| (x.text.clone(), names(x.by), ago(x.at))),
        })
        .collect();
    let panel = Panel {
        key: item.key.clone(),
        pkey: a.product.key.to_string(),
        csrf: s.csrf.clone(),
        here: here.to_string(),
        state: r.state,
        round: r.round,
        voted: r.voters.len(),
        estimate: r.estimate.map(points).unwrap_or_default(),
        can_run: r.can.run,
        show_poker,
        open_count: questions.iter().filter(|q| q.answer.is_none()).count(),
        questions,
        can_answer: st.app.decide(a, Action::EditItem) == Decision::Allow,
    };
    panel.render().map_err(|e| AppError::Internal(keel_store::StoreError::other(e)))
}

// ---- The decision log ---------------------------------------------------------------------

/// The log's filters as the page's form sends them.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LogForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    item: String,
    #[serde(default)]
    cursor: String,
    #[serde(default)]
    notice: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

struct LogRow {
    kind: String,
    state: String,
    when: String,
    when_full: String,
    who: String,
    raised: String,
    what: String,
    why: String,
    decision: String,
    item: Option<String>,
    link: Option<String>,
}

#[derive(Template)]
#[template(path = "decisions_log.html")]
struct LogPage {
    l: Layout,
    key: String,
    kinds: Vec<&'static str>,
    people: Vec<(String, String)>,
    f: LogForm,
    filtered: bool,
    rows: Vec<LogRow>,
    more: Option<String>,
}

fn kind_label(k: &str) -> &'static str {
    match k {
        "proposal" => "Proposal",
        "answer" => "Answer",
        "acceptance" => "Acceptance",
        "estimate" => "Estimate",
        "sprint" => "Sprint",
        "wip" => "WIP limit",
        _ => "Decision",
    }
}

/// GET /products/{key}/decisions: the decision log, filterable, newest first.
pub(crate) async fn decisions(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<LogForm>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let members = st.app.members(&a).await?;
        let mut people: Vec<(String, String)> =
            members.iter().map(|(u, _)| (u.id.0.to_string(), u.name.clone())).collect();
        people.sort_by(|x, y| x.1.cmp(&y.1));
        let opt = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
        let q = DecisionQuery {
            kind: opt(&f.kind),
            person: opt(&f.person),
            from: opt(&f.from),
            to: opt(&f.to),
            item: opt(&f.item),
            cursor: opt(&f.cursor),
            limit: 50,
        };
        let flash = Flash { notice: f.notice.clone(), error: f.error.clone() };
        let mut l = Layout::new(&st, &s, "Decision log", "decisions", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .flash(&flash);
        let (rows, more) = match st.app.decision_log(&a, &q).await {
            Ok(page) => {
                let names = namer(&st.app, &a).await?;
                let rows = page
                    .entries
                    .iter()
                    .map(|e| {
                        let d = decision_out(e, &names);
                        let link = match e.kind {
                            "proposal" => Some(format!("/products/{}/proposals", a.product.key)),
                            _ => d.item.as_ref().map(|k| format!("/items/{k}")),
                        };
                        LogRow {
                            kind: kind_label(e.kind).to_string(),
                            state: d.state.clone(),
                            when: ago(e.at),
                            when_full: date_time(e.at),
                            who: d.who.as_ref().map(|p| p.name.clone()).unwrap_or_else(|| "Keel".to_string()),
                            raised: match (&d.raised_by, &d.who) {
                                (Some(r), Some(w)) if r.id != w.id => r.name.clone(),
                                _ => String::new(),
                            },
                            what: d.what,
                            why: d.why,
                            decision: d.decision,
                            item: d.item,
                            link,
                        }
                    })
                    .collect();
                let more = page.next_cursor.map(|c| {
                    let enc = super::view::url_encode;
                    format!(
                        "/products/{}/decisions?kind={}&person={}&from={}&to={}&item={}&cursor={}",
                        a.product.key,
                        enc(&f.kind),
                        enc(&f.person),
                        enc(&f.from),
                        enc(&f.to),
                        enc(&f.item),
                        enc(&c)
                    )
                });
                (rows, more)
            }
            Err(e @ AppError::Invalid(_)) => {
                l.error = Some(message(&e));
                (Vec::new(), None)
            }
            Err(e) => return Err(e.into()),
        };
        let filtered = [&f.kind, &f.person, &f.from, &f.to, &f.item].iter().any(|v| !v.trim().is_empty());
        let page = LogPage {
            l,
            key: a.product.key.to_string(),
            kinds: decision_kinds(),
            people,
            f,
            filtered,
            rows,
            more,
        };
        render(&page)
    }
    .await;
    finish(&st, &s, r).await
}
