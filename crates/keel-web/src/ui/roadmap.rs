//! Pages: initiatives and the roadmap (now / next / later lanes and a timeline by quarter),
//! published roadmaps. Initiatives move by drag and drop (`roadmap.js`, a PATCH of the JSON
//! API) or by each card's small forms, which work without the script and from the keyboard.

use super::form::FormData;
use super::view::grouped as money;
use super::{finish, message, proposed_notice, redirect_with, render, Flash, Layout, UiResult};
use crate::api::roadmap::public_only;
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use keel_app::roadmap::{status_of, InitiativeInput, InitiativeView, Roadmap};
use keel_app::{App, AppError, Outcome};
use keel_domain::pm::{InitiativeStatus, Lane, Quarter};
use keel_domain::rights::{Action, Decision};
use keel_domain::RecordId;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/products/{key}/roadmap", get(lanes_page))
        .route("/products/{key}/roadmap/timeline", get(timeline_page))
        .route("/products/{key}/roadmap/initiatives", post(create))
        .route("/products/{key}/roadmap/initiatives/{id}", get(edit_page).post(edit_save))
        .route("/products/{key}/roadmap/initiatives/{id}/move", post(move_initiative))
        .route("/products/{key}/roadmap/publish", post(publish))
        .route("/products/{key}/roadmap/unpublish", post(unpublish))
        .route("/roadmaps/{token}", get(published_page))
}

/// An initiative card.
struct Card {
    id: i64,
    version: i64,
    title: String,
    description_html: String,
    lane: &'static str,
    status: &'static str,
    status_label: &'static str,
    when: String,
    start: String,
    end: String,
    percent: u8,
    points: String,
    confidence: String,
    budget: String,
    epics: Vec<String>,
    warnings: Vec<String>,
    public: bool,
    /// Timeline: first and last column (1-based, inclusive) among the quarters shown.
    col_from: usize,
    col_to: usize,
}

fn status_label(s: InitiativeStatus) -> &'static str {
    match s {
        InitiativeStatus::Proposed => "Proposed",
        InitiativeStatus::Planned => "Planned",
        InitiativeStatus::InProgress => "In progress",
        InitiativeStatus::Done => "Done",
        InitiativeStatus::Dropped => "Dropped",
    }
}

fn card(v: &InitiativeView, quarters: &[Quarter], public: bool) -> Card {
    let i = &v.stored.data;
    let when = match (i.start, i.end) {
        (Some(s), Some(e)) => {
            let (a, b) = (Quarter::of(s), Quarter::of(e));
            if s == a.start() && e == b.end() {
                if a == b {
                    a.label()
                } else {
                    format!("{} – {}", a.label(), b.label())
                }
            } else {
                format!("{s} – {e}")
            }
        }
        (Some(s), None) => format!("from {s}"),
        (None, Some(e)) => format!("until {e}"),
        (None, None) => String::new(),
    };
    let pos = |d: Option<keel_domain::time::Date>| {
        d.and_then(|d| quarters.iter().position(|q| *q == Quarter::of(d)))
    };
    let (from, to) = match (pos(i.start).or(pos(i.end)), pos(i.end).or(pos(i.start))) {
        (Some(a), Some(b)) => (a + 1, b + 1),
        _ => (0, 0),
    };
    let (title, description) = if public {
        let t =
            if i.plan.public_title.trim().is_empty() { i.title.clone() } else { i.plan.public_title.clone() };
        (t, i.plan.public_description.clone())
    } else {
        (i.title.clone(), i.description.clone())
    };
    let budget = match (i.plan.budget_planned, i.plan.budget_spent) {
        (Some(p), Some(s)) => format!("{} of {} spent", money(s), money(p)),
        (Some(p), None) => format!("{} planned", money(p)),
        (None, Some(s)) => format!("{} spent", money(s)),
        (None, None) => String::new(),
    };
    Card {
        id: v.stored.id.0,
        version: v.stored.version,
        title,
        description_html: crate::markdown::render(&description),
        lane: i.lane.as_str(),
        status: v.status.as_str(),
        status_label: status_label(v.status),
        when,
        start: i.start.map(|d| d.to_string()).unwrap_or_default(),
        end: i.end.map(|d| d.to_string()).unwrap_or_default(),
        percent: v.progress.percent(),
        points: if v.progress.total_points > 0.0 {
            format!(
                "{} of {} points",
                super::view::points(v.progress.done_points),
                super::view::points(v.progress.total_points)
            )
        } else {
            String::new()
        },
        confidence: i.plan.confidence.map(|c| format!("{c} %")).unwrap_or_default(),
        budget: if public { String::new() } else { budget },
        epics: if public { Vec::new() } else { v.epic_keys.clone() },
        warnings: if public { Vec::new() } else { v.warnings.clone() },
        public: i.plan.public,
        col_from: from,
        col_to: to,
    }
}

struct LaneView {
    lane: &'static str,
    title: &'static str,
    hint: &'static str,
    cards: Vec<Card>,
}

fn lanes_of(r: &Roadmap, public: bool) -> Vec<LaneView> {
    Lane::ALL
        .iter()
        .map(|l| LaneView {
            lane: l.as_str(),
            title: match l {
                Lane::Now => "Now",
                Lane::Next => "Next",
                Lane::Later => "Later",
            },
            hint: match l {
                Lane::Now => "Being delivered",
                Lane::Next => "Up next",
                Lane::Later => "Further out",
            },
            cards: r
                .initiatives
                .iter()
                .filter(|v| v.stored.data.lane == *l)
                .map(|v| card(v, &r.quarters, public))
                .collect(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "roadmap_lanes.html")]
struct LanesPage {
    l: Layout,
    js: &'static str,
    key: String,
    lanes: Vec<LaneView>,
    can_edit: bool,
    proposes: bool,
    public_view: bool,
    is_pm: bool,
    link: Option<String>,
    warnings: Vec<String>,
    total: usize,
}

async fn roadmap_for(st: &AppState, a: &keel_app::ProductAccess) -> Result<(Roadmap, bool), AppError> {
    let r = st.app.roadmap(a).await?;
    if public_only(a) {
        Ok((App::public_roadmap(r), true))
    } else {
        Ok((r, false))
    }
}

fn all_warnings(r: &Roadmap) -> Vec<String> {
    r.initiatives
        .iter()
        .flat_map(|v| v.warnings.iter().map(move |w| format!("{} {w}", v.stored.data.title)))
        .collect()
}

/// GET /products/{key}/roadmap
async fn lanes_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let (r, public_view) = roadmap_for(&st, &a).await?;
        let decision = st.app.decide(&a, Action::EditRoadmap);
        let is_pm = decision == Decision::Allow;
        let link = if is_pm {
            st.app.publication(&a).await?.map(|p| format!("/roadmaps/{}", p.data.token))
        } else {
            None
        };
        let l = Layout::new(&st, &s, "Roadmap", "roadmap", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .flash(&f);
        render(&LanesPage {
            l,
            js: super::assets::roadmap_js_url(),
            key: a.product.key.to_string(),
            lanes: lanes_of(&r, public_view),
            can_edit: decision != Decision::Deny && !public_view,
            proposes: decision == Decision::Propose,
            public_view,
            is_pm,
            link,
            warnings: if public_view { Vec::new() } else { all_warnings(&r) },
            total: r.initiatives.len(),
        })
    }
    .await;
    finish(&st, &s, r).await
}

#[derive(Template)]
#[template(path = "roadmap_timeline.html")]
struct TimelinePage {
    l: Layout,
    js: &'static str,
    key: String,
    quarters: Vec<String>,
    ncols: usize,
    cards: Vec<Card>,
    undated: Vec<Card>,
    can_edit: bool,
    public_view: bool,
    warnings: Vec<String>,
}

/// GET /products/{key}/roadmap/timeline
async fn timeline_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let (r, public_view) = roadmap_for(&st, &a).await?;
        let decision = st.app.decide(&a, Action::EditRoadmap);
        let (cards, undated): (Vec<Card>, Vec<Card>) =
            r.initiatives.iter().map(|v| card(v, &r.quarters, public_view)).partition(|c| c.col_from > 0);
        let l = Layout::new(&st, &s, "Roadmap timeline", "roadmap", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .crumb(format!("/products/{}/roadmap", a.product.key), "Roadmap")
            .flash(&f);
        render(&TimelinePage {
            l,
            js: super::assets::roadmap_js_url(),
            key: a.product.key.to_string(),
            ncols: r.quarters.len(),
            quarters: r.quarters.iter().map(|q| q.label()).collect(),
            cards,
            undated,
            can_edit: decision != Decision::Deny && !public_view,
            public_view,
            warnings: if public_view { Vec::new() } else { all_warnings(&r) },
        })
    }
    .await;
    finish(&st, &s, r).await
}

fn opt(form: &FormData, name: &str) -> Option<String> {
    let v = form.get(name).trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// What a change did, as a message for the redirect.
fn done_message(
    st: &AppState,
    o: &Outcome<keel_app::records::Stored<keel_domain::pm::Initiative>>,
    what: &str,
) -> (&'static str, String) {
    match o {
        Outcome::Proposed(p) => ("notice", proposed_notice(st, p)),
        Outcome::Done(_) => ("notice", what.to_string()),
    }
}

/// POST /products/{key}/roadmap/initiatives (title, lane, quarter, public, public_title)
async fn create(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/roadmap", a.product.key);
        let input = InitiativeInput {
            title: Some(form.get("title").to_string()),
            description: opt(&form, "description"),
            lane: opt(&form, "lane"),
            quarter: opt(&form, "quarter"),
            public: Some(form.get("public") == "on"),
            public_title: opt(&form, "public_title"),
            ..Default::default()
        };
        match st.app.create_initiative(&a, &input, opt(&form, "reason").as_deref()).await {
            Ok(o) => {
                let (k, m) = done_message(&st, &o, "Initiative added.");
                Ok(redirect_with(&back, k, &m))
            }
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products/{key}/roadmap/initiatives/{id}/move (lane=…, or shift=±n quarters; back=…)
async fn move_initiative(
    State(st): State<AppState>,
    s: UiSession,
    Path((key, id)): Path<(String, String)>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = super::back_to(&form, &format!("/products/{}/roadmap", a.product.key));
        let id = id.parse::<i64>().map_err(|_| AppError::NotFound)?;
        let (ia, cur) = st.app.initiative(&s.user, RecordId(id)).await?;
        if ia.product.id != a.product.id {
            return Err(AppError::NotFound.into());
        }
        let mut input =
            InitiativeInput { lane: opt(&form, "lane"), status: opt(&form, "status"), ..Default::default() };
        if let Some(shift) = opt(&form, "shift") {
            let n: i32 = match shift.parse() {
                Ok(n) if (-40..=40).contains(&n) => n,
                _ => return Ok(redirect_with(&back, "error", "Shift: must be a whole number of quarters.")),
            };
            let (Some(start), Some(end)) = (cur.data.start, cur.data.end) else {
                return Ok(redirect_with(
                    &back,
                    "error",
                    "Give the initiative a timeframe before moving it in time.",
                ));
            };
            input.start = Some(Some(shift_quarters(start, n).to_string()));
            input.end = Some(Some(shift_quarters_end(end, n).to_string()));
        }
        let version = form.version()?;
        match st.app.update_initiative(&a, &cur, &input, version, None).await {
            Ok(Outcome::Done(new)) => {
                let warnings = st.app.initiative_warnings(&new.data).await?;
                let place = match (cur.data.lane != new.data.lane, new.data.start, new.data.end) {
                    (true, _, _) => format!("to {}", lane_title(new.data.lane)),
                    (false, Some(s), Some(e)) => format!("to {s} – {e}"),
                    _ => format!("({})", status_label(status_of(&new))),
                };
                if warnings.is_empty() {
                    Ok(redirect_with(&back, "notice", &format!("Moved {} {place}.", new.data.title)))
                } else {
                    let msg = format!("Moved, but {} {}.", new.data.title, warnings.join("; "));
                    Ok(redirect_with(&back, "error", &msg))
                }
            }
            Ok(o) => {
                let (k, m) = done_message(&st, &o, "");
                Ok(redirect_with(&back, k, &m))
            }
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// A date moved by `n` quarters, keeping its day within the quarter (clamped to its end).
pub(crate) fn shift_quarters(d: keel_domain::time::Date, n: i32) -> keel_domain::time::Date {
    let q = Quarter::of(d);
    let offset = d.0 - q.start().0;
    let t = nth_quarter(q, n);
    keel_domain::time::Date((t.start().0 + offset).min(t.end().0))
}

/// An end date moved by `n` quarters: a quarter's last day stays a quarter's last day.
pub(crate) fn shift_quarters_end(d: keel_domain::time::Date, n: i32) -> keel_domain::time::Date {
    let q = Quarter::of(d);
    if d == q.end() {
        nth_quarter(q, n).end()
    } else {
        shift_quarters(d, n)
    }
}

fn nth_quarter(q: Quarter, n: i32) -> Quarter {
    let idx = q.year * 4 + i64::from(q.q) - 1 + i64::from(n);
    Quarter { year: idx.div_euclid(4), q: (idx.rem_euclid(4) + 1) as u8 }
}

/// POST /products/{key}/roadmap/publish
async fn publish(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/roadmap", a.product.key);
        match st.app.publish_roadmap(&a).await {
            Ok(_) => Ok(redirect_with(
                &back,
                "notice",
                "Published at a new link; any earlier link no longer works.",
            )),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products/{key}/roadmap/unpublish
async fn unpublish(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/roadmap", a.product.key);
        match st.app.unpublish_roadmap(&a).await {
            Ok(()) => Ok(redirect_with(&back, "notice", "The published link no longer works.")),
            Err(e @ AppError::Internal(_)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

#[derive(Template)]
#[template(path = "roadmap_edit.html")]
struct EditPage {
    l: Layout,
    key: String,
    id: i64,
    version: i64,
    title: String,
    description: String,
    lane: &'static str,
    status: &'static str,
    start: String,
    end: String,
    budget_planned: String,
    budget_spent: String,
    confidence: String,
    public: bool,
    public_title: String,
    public_description: String,
    epics: String,
    goals: Vec<(i64, String, bool)>,
    owner: String,
    members: Vec<(i64, String)>,
    lanes: Vec<(&'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    can_edit: bool,
    proposes: bool,
    progress: String,
    warnings: Vec<String>,
}

fn num(v: Option<f64>) -> String {
    v.map(|x| if x.fract() == 0.0 { format!("{x:.0}") } else { x.to_string() }).unwrap_or_default()
}

/// GET /products/{key}/roadmap/initiatives/{id}: an initiative's details, editable.
async fn edit_page(
    State(st): State<AppState>,
    s: UiSession,
    Path((key, id)): Path<(String, String)>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let id = id.parse::<i64>().map_err(|_| AppError::NotFound)?;
        let (ia, cur) = st.app.initiative(&s.user, RecordId(id)).await?;
        if ia.product.id != a.product.id || public_only(&a) {
            return Err(AppError::NotFound.into());
        }
        let decision = st.app.decide(&a, Action::EditRoadmap);
        let goals = st
            .app
            .list_records::<keel_domain::pm::Goal>(
                keel_store::RecordFilter::of(keel_domain::event::ObjectKind::Goal).product(a.product.id),
            )
            .await?;
        let members = st.app.members(&a).await?;
        let v = st.app.initiative_view(a.product.id, cur).await?;
        let i = &v.stored.data;
        let l = Layout::new(&st, &s, i.title.clone(), "roadmap", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .crumb(format!("/products/{}/roadmap", a.product.key), "Roadmap")
            .flash(&f);
        render(&EditPage {
            key: a.product.key.to_string(),
            id,
            version: v.stored.version,
            title: i.title.clone(),
            description: i.description.clone(),
            lane: i.lane.as_str(),
            status: v.status.as_str(),
            start: i.start.map(|d| d.to_string()).unwrap_or_default(),
            end: i.end.map(|d| d.to_string()).unwrap_or_default(),
            budget_planned: num(i.plan.budget_planned),
            budget_spent: num(i.plan.budget_spent),
            confidence: i.plan.confidence.map(|c| c.to_string()).unwrap_or_default(),
            public: i.plan.public,
            public_title: i.plan.public_title.clone(),
            public_description: i.plan.public_description.clone(),
            epics: v.epic_keys.join(", "),
            goals: goals.iter().map(|g| (g.id.0, g.data.title.clone(), i.goals.contains(&g.id))).collect(),
            owner: i.owner.map(|o| o.0.to_string()).unwrap_or_default(),
            members: members.iter().map(|(u, _)| (u.id.0, u.name.clone())).collect(),
            lanes: Lane::ALL.iter().map(|x| (x.as_str(), lane_title(*x))).collect(),
            statuses: InitiativeStatus::ALL.iter().map(|x| (x.as_str(), status_label(*x))).collect(),
            can_edit: decision != Decision::Deny,
            proposes: decision == Decision::Propose,
            progress: if v.progress.total_points > 0.0 {
                format!(
                    "{} % delivered: {} of {} points done",
                    v.progress.percent(),
                    super::view::points(v.progress.done_points),
                    super::view::points(v.progress.total_points)
                )
            } else {
                "No estimated stories in its epics yet.".to_string()
            },
            warnings: v.warnings.clone(),
            l,
        })
    }
    .await;
    finish(&st, &s, r).await
}

fn lane_title(l: Lane) -> &'static str {
    match l {
        Lane::Now => "Now",
        Lane::Next => "Next",
        Lane::Later => "Later",
    }
}

/// A number field: empty clears it; anything else must be a number.
fn num_field(form: &FormData, name: &str) -> Result<Option<f64>, AppError> {
    let v = form.get(name).trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<f64>().map(Some).map_err(|_| AppError::invalid(name, "must be a number"))
}

/// POST /products/{key}/roadmap/initiatives/{id}: saves the details form.
async fn edit_save(
    State(st): State<AppState>,
    s: UiSession,
    Path((key, id)): Path<(String, String)>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let id = id.parse::<i64>().map_err(|_| AppError::NotFound)?;
        let back = format!("/products/{}/roadmap/initiatives/{id}", a.product.key);
        let (ia, cur) = st.app.initiative(&s.user, RecordId(id)).await?;
        if ia.product.id != a.product.id {
            return Err(AppError::NotFound.into());
        }
        let parsed = (|| -> Result<InitiativeInput, AppError> {
            let confidence = match num_field(&form, "confidence")? {
                Some(c) if c.fract() == 0.0 => Some(c as i64),
                Some(_) => {
                    return Err(AppError::invalid("confidence", "must be a whole number from 0 to 100"))
                }
                None => None,
            };
            let owner = match form.get("owner").trim() {
                "" => None,
                o => Some(o.parse::<i64>().map_err(|_| AppError::invalid("owner", "is not a user"))?),
            };
            Ok(InitiativeInput {
                title: Some(form.get("title").to_string()),
                description: Some(form.get("description").to_string()),
                owner: Some(owner),
                lane: Some(form.get("lane").to_string()),
                status: Some(form.get("status").to_string()),
                start: Some(opt(&form, "start")),
                end: Some(opt(&form, "end")),
                goals: Some(form.all("goal").iter().filter_map(|g| g.parse().ok()).collect()),
                epics: Some(
                    form.get("epics")
                        .split([',', ' ', '\n'])
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                        .map(str::to_string)
                        .collect(),
                ),
                budget_planned: Some(num_field(&form, "budget_planned")?),
                budget_spent: Some(num_field(&form, "budget_spent")?),
                confidence: Some(confidence),
                public: Some(form.get("public") == "on"),
                public_title: Some(form.get("public_title").to_string()),
                public_description: Some(form.get("public_description").to_string()),
                quarter: None,
            })
        })();
        let input = match parsed {
            Ok(i) => i,
            Err(e) => return Ok(redirect_with(&back, "error", &message(&e))),
        };
        let version = form.version()?;
        match st.app.update_initiative(&a, &cur, &input, version, opt(&form, "reason").as_deref()).await {
            Ok(Outcome::Done(new)) => {
                let w = st.app.initiative_warnings(&new.data).await?;
                if w.is_empty() {
                    Ok(redirect_with(&back, "notice", "Saved."))
                } else {
                    Ok(redirect_with(&back, "error", &format!("Saved, but it {}.", w.join("; "))))
                }
            }
            Ok(o) => {
                let (k, m) = done_message(&st, &o, "");
                Ok(redirect_with(&back, k, &m))
            }
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

#[derive(Template)]
#[template(path = "roadmap_published.html")]
struct PublishedPage {
    css: &'static str,
    product: String,
    lanes: Vec<LaneView>,
}

/// GET /roadmaps/{token}: the published roadmap, for anyone with the link.
async fn published_page(State(st): State<AppState>, Path(token): Path<String>) -> Response {
    match st.app.published_roadmap(&token).await {
        Ok(p) => {
            let page = PublishedPage {
                css: super::assets::css_url_for("roadmap"),
                product: p.product.name.clone(),
                lanes: lanes_of(&p.roadmap, true),
            };
            match page.render() {
                Ok(body) => Html(body).into_response(),
                Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "error").into_response(),
            }
        }
        Err(AppError::NotFound) => {
            (StatusCode::NOT_FOUND, Html(super::view::plain_not_found())).into_response()
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on the server.").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_domain::time::Date;

    fn d(s: &str) -> Date {
        Date::parse("d", s).unwrap()
    }

    #[test]
    fn shifting_by_quarters() {
        assert_eq!(shift_quarters(d("2026-07-01"), 1), d("2026-10-01"));
        assert_eq!(shift_quarters_end(d("2026-09-30"), 1), d("2026-12-31"));
        assert_eq!(shift_quarters_end(d("2026-09-30"), 2), d("2027-03-31"));
        assert_eq!(shift_quarters(d("2026-01-15"), -1), d("2025-10-15"));
        // Day 92 of Q3 does not exist in Q1 (90 days): clamped to its end.
        assert_eq!(shift_quarters(d("2026-09-30"), 2), d("2027-03-31"));
        assert_eq!(money(1234567.4), "1,234,567");
        assert_eq!(money(999.0), "999");
    }
}
