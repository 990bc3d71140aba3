//! Pages: stand-up, sprint review, retrospective.
//!
//! The stand-up is the meeting's screen: one card per person, large type, the day in the URL with
//! previous and next links. The review shows the sprint's done work split by acceptance and the
//! summary the Product Owner publishes. The retrospective is a three-column board whose forms
//! work without JavaScript; `assets/ceremonies.js` votes in place.

use super::assets::ceremonies_js_url;
use super::form::FormData;
use super::view::{category_class, date_time, initials, points};
use super::{finish, message, proposed_notice, redirect_with, render, see_other, Flash, Layout, UiResult};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use keel_app::ceremonies::{CardPatch, StateNames};
use keel_app::{AppError, Outcome};
use keel_domain::item::Item;
use keel_domain::proposal::ProposalState;
use keel_domain::retro::{RetroCard, RetroColumn};
use keel_domain::rights::Decision;
use keel_domain::time::Date;
use keel_domain::RecordId;
use serde::Deserialize;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/teams/{id}/standup", get(standup))
        .route("/sprints/{id}/review", get(review).post(review_save))
        .route("/sprints/{id}/retro", get(retro))
        .route("/sprints/{id}/retro/cards", post(add_card))
        .route("/retro-cards/{id}/vote", post(vote))
        .route("/retro-cards/{id}/edit", post(edit_card))
        .route("/retro-cards/{id}/delete", post(delete_card))
        .route("/retro-cards/{id}/to-item", post(to_item))
}

fn id_of(s: &str) -> Result<RecordId, AppError> {
    s.parse::<i64>().ok().filter(|i| *i > 0).map(RecordId).ok_or(AppError::NotFound)
}

/// An item line of a ceremony page.
struct ItemLine {
    key: String,
    title: String,
    kind: &'static str,
    status: String,
    cat: &'static str,
    estimate: String,
}

fn line(i: &Item, states: &StateNames) -> ItemLine {
    ItemLine {
        key: i.key.clone(),
        title: i.title.clone(),
        kind: i.kind.as_str(),
        status: states.name(i.status_id).to_string(),
        cat: category_class(i.category),
        estimate: i.estimate.map(|p| points(p.value())).unwrap_or_default(),
    }
}

// ---- Stand-up ---------------------------------------------------------------------------------

struct MovedLine {
    item: ItemLine,
    from: String,
    to: String,
    to_cat: &'static str,
    when: String,
    /// Who moved it, when not the person themselves.
    by: Option<String>,
    moves: usize,
}

struct BlockedLine {
    item: ItemLine,
    blockers: Vec<(String, String)>,
}

struct Person {
    name: String,
    initials: String,
    moved: Vec<MovedLine>,
    held: Vec<ItemLine>,
    blocked: Vec<BlockedLine>,
}

#[derive(Template)]
#[template(path = "ceremony_standup.html")]
struct StandupPage {
    l: Layout,
    js: &'static str,
    team_id: i64,
    team_name: String,
    date: String,
    weekday: &'static str,
    since: String,
    since_weekday: &'static str,
    prev: String,
    next: String,
    is_today: bool,
    sprint: Option<(i64, String)>,
    people: Vec<Person>,
}

const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

fn weekday(d: Date) -> &'static str {
    WEEKDAYS[usize::from(d.weekday()).min(6)]
}

/// The stand-up's query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct StandupQuery {
    #[serde(default)]
    date: Option<String>,
}

/// GET /teams/{id}/standup?date=YYYY-MM-DD
async fn standup(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    Query(q): Query<StandupQuery>,
) -> Response {
    let r: UiResult = async {
        let id = id_of(&id)?;
        let date = crate::api::ceremonies::standup_date(q.date.as_deref()).map_err(AppError::from)?;
        let su = st.app.standup(&s.user, id, date).await?;
        let states = &su.states;
        let today = Date::of(keel_app::now());
        let people = su
            .people
            .iter()
            .map(|p| Person {
                name: p.name.clone(),
                initials: initials(&p.name),
                moved: p
                    .moved
                    .iter()
                    .map(|m| MovedLine {
                        item: line(&m.item, states),
                        from: states.name(m.from).to_string(),
                        to: states.name(m.to).to_string(),
                        to_cat: category_class(states.category(m.to)),
                        when: date_time(m.at),
                        by: m
                            .by
                            .filter(|u| *u != p.user_id)
                            .map(|u| su.names.get(&u).cloned().unwrap_or_else(|| format!("User {u}"))),
                        moves: m.moves,
                    })
                    .collect(),
                held: p.in_progress.iter().map(|i| line(i, states)).collect(),
                blocked: p
                    .blocked
                    .iter()
                    .map(|(i, b)| BlockedLine {
                        item: line(i, states),
                        blockers: b.iter().map(|b| (b.key.clone(), b.title.clone())).collect(),
                    })
                    .collect(),
            })
            .collect();
        let l = Layout::new(
            &st,
            &s,
            format!("Stand-up · {}", su.team.data.name),
            "standup",
            Some(&su.access.product),
        )
        .await
        .crumb(format!("/products/{}/backlog", su.access.product.key), su.access.product.name.clone());
        render(&StandupPage {
            l,
            js: ceremonies_js_url(),
            team_id: su.team.id.0,
            team_name: su.team.data.name.clone(),
            date: su.date.to_string(),
            weekday: weekday(su.date),
            since: su.since.to_string(),
            since_weekday: weekday(su.since),
            prev: su.date.plus_days(-1).to_string(),
            next: su.date.plus_days(1).to_string(),
            is_today: su.date == today,
            sprint: su.sprint.as_ref().map(|s| (s.id.0, s.data.name.clone())),
            people,
        })
    }
    .await;
    finish(&st, &s, r).await
}

// ---- Review -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "ceremony_review.html")]
struct ReviewPage {
    l: Layout,
    team_id: i64,
    sprint_id: i64,
    sprint_name: String,
    state: String,
    goal: String,
    team_name: String,
    accepted: Vec<ItemLine>,
    waiting: Vec<ItemLine>,
    unfinished: Vec<ItemLine>,
    points_done: String,
    points_accepted: String,
    points_committed: String,
    committed_frozen: bool,
    /// Done points as a share of committed, 0-100, for the bar.
    pct: u32,
    published_html: Option<String>,
    published_when: String,
    draft: String,
    has_unpublished: bool,
    version: i64,
    can_write: bool,
    can_read_draft: bool,
}

/// GET /sprints/{id}/review
async fn review(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let r: UiResult = async {
        let rv = st.app.review(&s.user, id_of(&id)?).await?;
        let l = Layout::new(
            &st,
            &s,
            format!("Review · {}", rv.sprint.data.name),
            "sprints",
            Some(&rv.access.product),
        )
        .await
        .crumb(format!("/products/{}/backlog", rv.access.product.key), rv.access.product.name.clone())
        .crumb(format!("/products/{}/sprints", rv.access.product.key), "Sprints")
        .flash(&flash);
        let summary = rv.summary.as_ref();
        let published = summary.and_then(|x| x.data.published.as_deref());
        let pct = if rv.points_committed > 0.0 {
            ((rv.points_done / rv.points_committed) * 100.0).round().clamp(0.0, 100.0) as u32
        } else {
            0
        };
        let lines = |v: &[Item]| v.iter().map(|i| line(i, &rv.states)).collect();
        render(&ReviewPage {
            l,
            team_id: rv.team.id.0,
            sprint_id: rv.sprint.id.0,
            sprint_name: rv.sprint.data.name.clone(),
            state: rv.sprint.state.clone(),
            goal: rv.sprint.data.goal.clone(),
            team_name: rv.team.data.name.clone(),
            accepted: lines(&rv.accepted),
            waiting: lines(&rv.waiting),
            unfinished: lines(&rv.unfinished),
            points_done: points(rv.points_done),
            points_accepted: points(rv.points_accepted),
            points_committed: points(rv.points_committed),
            committed_frozen: rv.committed_frozen,
            pct,
            published_html: published.map(crate::markdown::render),
            published_when: summary.and_then(|x| x.data.published_at).map(date_time).unwrap_or_default(),
            draft: if rv.can_read_draft {
                summary.map(|x| x.data.draft.clone()).unwrap_or_default()
            } else {
                String::new()
            },
            has_unpublished: rv.can_read_draft && summary.is_some_and(|x| x.data.has_unpublished_changes()),
            version: summary.map_or(0, |x| x.version),
            can_write: rv.can_write,
            can_read_draft: rv.can_read_draft,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /sprints/{id}/review: saves the summary; the `publish` button publishes it.
async fn review_save(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let id = id_of(&id)?;
        let back = format!("/sprints/{}/review", id.0);
        let publish = form.get("publish") == "1";
        let version = form.version()?.filter(|v| *v > 0);
        match st.app.save_review(&s.user, id, form.get("summary"), publish, version).await {
            Ok(_) if publish => Ok(redirect_with(&back, "notice", "Published to stakeholders.")),
            Ok(_) => Ok(redirect_with(&back, "notice", "Draft saved.")),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

// ---- Retrospective ----------------------------------------------------------------------------

struct CardUi {
    id: i64,
    text: String,
    author: String,
    votes: usize,
    voted: bool,
    item_key: Option<String>,
    /// A pending proposal to make an item from it.
    proposal: Option<i64>,
    can_edit: bool,
}

struct ColumnUi {
    id: &'static str,
    label: &'static str,
    hint: &'static str,
    placeholder: &'static str,
    is_actions: bool,
    cards: Vec<CardUi>,
}

#[derive(Template)]
#[template(path = "ceremony_retro.html")]
struct RetroPage {
    l: Layout,
    js: &'static str,
    product_key: String,
    team_id: i64,
    sprint_id: i64,
    sprint_name: String,
    team_name: String,
    columns: Vec<ColumnUi>,
    can_write: bool,
    /// `allow`, `propose` or `deny`: what "Create backlog item" does for the caller.
    make_items: &'static str,
    total: usize,
}

fn column_texts(c: RetroColumn) -> (&'static str, &'static str) {
    match c {
        RetroColumn::WentWell => ("Keep doing these.", "What went well?"),
        RetroColumn::ToImprove => ("What slowed us down or hurt.", "What should improve?"),
        RetroColumn::Actions => ("Concrete steps; each can become a backlog item.", "What will we do?"),
    }
}

/// GET /sprints/{id}/retro
async fn retro(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let r: UiResult = async {
        let b = st.app.retro(&s.user, id_of(&id)?).await?;
        let l = Layout::new(
            &st,
            &s,
            format!("Retrospective · {}", b.sprint.data.name),
            "sprints",
            Some(&b.access.product),
        )
        .await
        .crumb(format!("/products/{}/backlog", b.access.product.key), b.access.product.name.clone())
        .crumb(format!("/products/{}/sprints", b.access.product.key), "Sprints")
        .flash(&flash);
        let total = b.columns.iter().map(|(_, c)| c.len()).sum();
        let columns = b
            .columns
            .iter()
            .map(|(c, cards)| {
                let (hint, placeholder) = column_texts(*c);
                ColumnUi {
                    id: c.as_str(),
                    label: c.label(),
                    hint,
                    placeholder,
                    is_actions: *c == RetroColumn::Actions,
                    cards: cards
                        .iter()
                        .map(|v| CardUi {
                            id: v.card.id.0,
                            text: v.card.data.text.clone(),
                            author: v.author_name.clone(),
                            votes: v.card.data.votes.len(),
                            voted: v.voted,
                            item_key: v.item_key.clone(),
                            proposal: v
                                .card
                                .data
                                .proposal
                                .filter(|_| v.proposal_state == Some(ProposalState::Pending))
                                .map(|p| p.0),
                            can_edit: v.can_edit,
                        })
                        .collect(),
                }
            })
            .collect();
        render(&RetroPage {
            l,
            js: ceremonies_js_url(),
            product_key: b.access.product.key.to_string(),
            team_id: b.team.id.0,
            sprint_id: b.sprint.id.0,
            sprint_name: b.sprint.data.name.clone(),
            team_name: b.team.data.name.clone(),
            columns,
            can_write: b.can_write,
            make_items: match b.make_items {
                Decision::Allow => "allow",
                Decision::Propose => "propose",
                Decision::Deny => "deny",
            },
            total,
        })
    }
    .await;
    finish(&st, &s, r).await
}

fn retro_url(sprint: i64) -> String {
    format!("/sprints/{sprint}/retro")
}

/// POST /sprints/{id}/retro/cards: adds a card (`column`, `text`).
async fn add_card(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let id = id_of(&id)?;
        let back = retro_url(id.0);
        match st.app.add_card(&s.user, id, form.get("column"), form.get("text")).await {
            Ok(c) => Ok(see_other(&format!("{back}#card-{}", c.id.0))),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// The retrospective page a card belongs to.
async fn card_back(st: &AppState, id: RecordId) -> Result<String, AppError> {
    let c = st.app.get_record::<RetroCard>(id).await?;
    Ok(retro_url(c.parent_id.ok_or(AppError::NotFound)?))
}

fn back_after<T>(back: &str, anchor: &str, r: Result<T, AppError>, done: Option<&str>) -> UiResult {
    match r {
        Ok(_) => Ok(match done {
            Some(m) => redirect_with(back, "notice", m),
            None => see_other(&format!("{back}{anchor}")),
        }),
        Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
        Err(e) => Ok(redirect_with(back, "error", &message(&e))),
    }
}

/// POST /retro-cards/{id}/vote: toggles the caller's vote.
async fn vote(State(st): State<AppState>, s: UiSession, Path(id): Path<String>, form: FormData) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let id = id_of(&id)?;
        let back = card_back(&st, id).await?;
        let res = st.app.vote(&s.user, id).await;
        back_after(&back, &format!("#card-{}", id.0), res, None)
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /retro-cards/{id}/edit: changes a card's text.
async fn edit_card(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let id = id_of(&id)?;
        let back = card_back(&st, id).await?;
        let patch = CardPatch {
            text: form.opt("text").map(str::to_string),
            column: form.opt("column").filter(|c| !c.is_empty()).map(str::to_string),
            version: None,
        };
        let res = st.app.update_card(&s.user, id, &patch).await;
        back_after(&back, &format!("#card-{}", id.0), res, None)
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /retro-cards/{id}/delete: deletes a card.
async fn delete_card(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let id = id_of(&id)?;
        let back = card_back(&st, id).await?;
        let res = st.app.delete_card(&s.user, id).await;
        back_after(&back, "", res, Some("Card deleted."))
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /retro-cards/{id}/to-item: makes a backlog item from an action card (`kind`).
async fn to_item(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let id = id_of(&id)?;
        let back = card_back(&st, id).await?;
        match st.app.card_to_item(&s.user, id, form.opt("kind")).await {
            Ok(Outcome::Done((_, item))) => Ok(redirect_with(
                &back,
                "notice",
                &format!("Created {} at the top of the backlog.", item.key),
            )),
            Ok(Outcome::Proposed(p)) => Ok(redirect_with(&back, "notice", &proposed_notice(&st, &p))),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}
