//! Pages: teams, capacity, sprints: planning, start, close.
//!
//! `/products/{key}/sprints` lists the product's teams and their sprints; `/teams/{id}` is a
//! team's settings (name, products served, members and their default capacity); `/sprints/{id}`
//! a sprint (goal, dates, figures, items, capacity table, start and close); `/sprints/{id}/plan`
//! the sprint planning view: the backlog beside the sprint, with drag and drop in
//! `assets/sprints.js` and plain buttons that work without it.

use super::form::FormData;
use super::view::{category_class, points, url_encode};
use super::{finish, message, proposed_notice, redirect_with, render, Flash, Layout, UiResult};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use keel_app::items::PositionInput;
use keel_app::records::Stored;
use keel_app::sprints::{CapacityInput, CloseInput, MemberInput, SprintInput, SprintScope};
use keel_app::{AppError, Outcome, ProductAccess};
use keel_domain::item::Item;
use keel_domain::product::Role;
use keel_domain::rights::{Action, Decision};
use keel_domain::sprint::{Sprint, SprintState};
use keel_domain::user::User;
use keel_domain::workflow::Category;
use keel_domain::{Date, RecordId};
use serde::Deserialize;
use std::collections::HashMap;

/// Backlog rows per page in the planning view.
const PLAN_PAGE: u32 = 100;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/products/{key}/sprints", get(index))
        .route("/products/{key}/teams", post(create_team))
        .route("/teams/{id}", get(team_page).post(team_update))
        .route("/teams/{id}/members", post(team_members))
        .route("/teams/{id}/sprints", post(create_sprint))
        .route("/sprints/{id}", get(sprint_page).post(sprint_update))
        .route("/sprints/{id}/plan", get(plan_page))
        .route("/sprints/{id}/capacity", post(capacity_update))
        .route("/sprints/{id}/items", post(add_item))
        .route("/sprints/{id}/items/{key}/remove", post(remove_item))
        .route("/sprints/{id}/start", post(start))
        .route("/sprints/{id}/close", post(close))
        .route("/sprints/{id}/delete", post(delete))
}

fn js() -> &'static str {
    super::assets::sprints_js_url()
}

fn pts(v: f64) -> String {
    // `+ 0.0` turns the -0 of an empty sum into 0.
    points((v * 10.0).round() / 10.0 + 0.0)
}

fn state_class(state: &str) -> &'static str {
    match state {
        "active" => "progress",
        "closed" => "done",
        _ => "todo",
    }
}

/// A date as "Mon 5 Jan".
fn short_date(d: Date) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (_, m, day) = d.ymd();
    format!("{} {} {}", DAYS[d.weekday() as usize], day, MONTHS[(m - 1).clamp(0, 11) as usize])
}

fn dates(s: &Sprint) -> String {
    format!("{} – {}", short_date(s.start), short_date(s.end))
}

fn or_dash(v: Option<f64>) -> String {
    v.map(pts).unwrap_or_else(|| "—".to_string())
}

/// Turns a form handler's application error into a message on the page it came from.
fn back_with(back: &str, r: Result<Response, AppError>) -> UiResult {
    match r {
        Ok(res) => Ok(res),
        Err(e @ AppError::Internal(_)) => Err(e.into()),
        Err(e) => Ok(redirect_with(back, "error", &message(&e))),
    }
}

// ----- /products/{key}/sprints ---------------------------------------------------------------

struct SprintRow {
    id: i64,
    name: String,
    dates: String,
    days: i32,
    state: String,
    cls: &'static str,
    committed: String,
    completed: String,
    change: String,
}

struct TeamBlock {
    id: i64,
    name: String,
    members: usize,
    capacity: String,
    velocity: String,
    spread: String,
    home: bool,
    sprints: Vec<SprintRow>,
    next_name: String,
    next_start: String,
    next_end: String,
}

#[derive(Template)]
#[template(path = "sprints_index.html")]
struct Index {
    l: Layout,
    key: String,
    teams: Vec<TeamBlock>,
    can_manage: bool,
}

fn sprint_row(s: &Stored<Sprint>, planned: Option<f64>) -> SprintRow {
    let (committed, completed, change) = match (&s.data.summary, &s.data.commitment) {
        (Some(sum), _) => {
            (pts(sum.committed), pts(sum.completed), format!("+{} / −{}", pts(sum.added), pts(sum.removed)))
        }
        (None, Some(c)) => (pts(c.points), "—".into(), "—".into()),
        (None, None) => (planned.map(pts).unwrap_or_else(|| "—".into()), "—".into(), "—".into()),
    };
    SprintRow {
        id: s.id.0,
        name: s.data.name.clone(),
        dates: dates(&s.data),
        days: s.data.start.working_days_to(s.data.end),
        state: s.state.clone(),
        cls: state_class(&s.state),
        committed,
        completed,
        change,
    }
}

/// GET /products/{key}/sprints
async fn index(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let l = Layout::new(&st, &s, "Sprints", "sprints", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .flash(&flash);
        let mut teams = Vec::new();
        for t in st.app.teams(&a).await? {
            let sprints = st.app.team_sprints(&t).await?;
            let v = st.app.team_velocity(&t).await?;
            let mut rows = Vec::new();
            for sp in &sprints {
                let planned = if sp.state == "planned" {
                    let items = st.app.all_sprint_items(&t.data, sp.id).await?;
                    Some(items.iter().map(|i| i.estimate.map_or(0.0, |p| p.value())).fold(0.0, |a, b| a + b))
                } else {
                    None
                };
                rows.push(sprint_row(sp, planned));
            }
            let cap_pts: f64 = t.data.members.iter().filter_map(|m| m.points).sum();
            let cap_days: f64 = t.data.members.iter().filter_map(|m| m.days).sum();
            let capacity = match (cap_pts > 0.0, cap_days > 0.0) {
                (true, true) => format!("{} pts · {} days", pts(cap_pts), pts(cap_days)),
                (true, false) => format!("{} pts", pts(cap_pts)),
                (false, true) => format!("{} days", pts(cap_days)),
                _ => "not set".into(),
            };
            let last = sprints.last();
            let next_start = match last {
                Some(x) => {
                    // The Monday after the last sprint's end.
                    let mut d = x.data.end.plus_days(1);
                    while d.weekday() != 0 {
                        d = d.plus_days(1);
                    }
                    d
                }
                None => {
                    let mut d = Date::of(keel_app::now());
                    while d.weekday() != 0 {
                        d = d.plus_days(1);
                    }
                    d
                }
            };
            let len = last.map_or(13, |x| (x.data.end.0 - x.data.start.0).max(0));
            teams.push(TeamBlock {
                id: t.id.0,
                home: t.product_id == Some(a.product.id),
                name: t.data.name.clone(),
                members: t.data.members.len(),
                capacity,
                velocity: or_dash(v.average),
                spread: if v.sprints > 1 {
                    format!("{}–{}", pts(v.min), pts(v.max))
                } else {
                    String::new()
                },
                sprints: rows,
                next_name: format!("Sprint {}", sprints.len() + 1),
                next_start: next_start.to_string(),
                next_end: next_start.plus_days(len).to_string(),
            });
        }
        render(&Index {
            l,
            key: a.product.key.to_string(),
            teams,
            can_manage: st.app.decide(&a, Action::ManageSprint) == Decision::Allow,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products/{key}/teams
async fn create_team(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/sprints", a.product.key);
        back_with(
            &back,
            st.app.create_team(&a, form.get("name")).await.map(|t| {
                redirect_with(&format!("/teams/{}", t.id), "notice", "Team created. Add its members below.")
            }),
        )
    }
    .await;
    finish(&st, &s, r).await
}

// ----- /teams/{id} ---------------------------------------------------------------------------

struct MemberRow {
    id: i64,
    name: String,
    email: String,
    points: String,
    days: String,
}

struct ProductChoice {
    key: String,
    name: String,
    on: bool,
    home: bool,
}

#[derive(Template)]
#[template(path = "team_settings.html")]
struct TeamPage {
    l: Layout,
    id: i64,
    name: String,
    home_key: String,
    members: Vec<MemberRow>,
    candidates: Vec<(i64, String)>,
    products: Vec<ProductChoice>,
    total_points: String,
    total_days: String,
    can_manage: bool,
}

/// GET /teams/{id}
async fn team_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
) -> Response {
    let r = async {
        let sc = st.app.team_scope(&s.user, RecordId(id)).await?;
        let team = &sc.team;
        let home = st
            .app
            .store()
            .product(team.product_id.ok_or(AppError::NotFound)?)
            .await
            .map_err(AppError::from)?;
        let home_access = st.app.access(&s.user, home.key.as_str()).await.ok();
        let can_manage =
            home_access.as_ref().is_some_and(|a| st.app.decide(a, Action::ManageSprint) == Decision::Allow);
        let l = Layout::new(&st, &s, team.data.name.clone(), "sprints", Some(&sc.access.product))
            .await
            .crumb(format!("/products/{}/sprints", sc.access.product.key), "Sprints")
            .flash(&flash);
        let users = st.app.team_users(&team.data).await?;
        let members: Vec<MemberRow> = team
            .data
            .members
            .iter()
            .map(|m| {
                let u = users.iter().find(|u| u.id == m.user_id);
                MemberRow {
                    id: m.user_id.0,
                    name: u.map(|u| u.name.clone()).unwrap_or_else(|| format!("User {}", m.user_id)),
                    email: u.map(|u| u.email.to_string()).unwrap_or_default(),
                    points: m.points.map(points).unwrap_or_default(),
                    days: m.days.map(points).unwrap_or_default(),
                }
            })
            .collect();
        let candidates = match &home_access {
            Some(ha) => st
                .app
                .members(ha)
                .await?
                .into_iter()
                .filter(|(u, _)| !team.data.has_member(u.id))
                .map(|(u, _)| (u.id.0, format!("{} ({})", u.name, u.email)))
                .collect(),
            None => Vec::new(),
        };
        // Products: those served, and those where the user is PO (they may add them).
        let mut products = Vec::new();
        for (p, roles) in st.app.products_for(&s.user).await? {
            let on = team.data.products.contains(&p.id);
            if on || roles.has(Role::Po) {
                products.push(ProductChoice {
                    home: p.id == home.id,
                    key: p.key.to_string(),
                    name: p.name.clone(),
                    on,
                });
            }
        }
        render(&TeamPage {
            l,
            id,
            name: team.data.name.clone(),
            home_key: home.key.to_string(),
            total_points: pts(team.data.members.iter().filter_map(|m| m.points).sum()),
            total_days: pts(team.data.members.iter().filter_map(|m| m.days).sum()),
            members,
            candidates,
            products,
            can_manage,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /teams/{id}: rename and products served.
async fn team_update(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let back = format!("/teams/{id}");
        let products: Vec<String> = form.all("product").iter().map(|p| p.to_string()).collect();
        back_with(
            &back,
            st.app
                .update_team(&s.user, RecordId(id), Some(form.get("name")), Some(&products), None)
                .await
                .map(|_| redirect_with(&back, "notice", "Team saved.")),
        )
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /teams/{id}/members: the whole table (`user`, `points`, `days` per row; rows with
/// `remove` ticked leave), plus an optional new member.
async fn team_members(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let back = format!("/teams/{id}");
        let res = async {
            let users = form.all("user");
            let pts_list = form.all("points");
            let days_list = form.all("days");
            let removed = form.all("remove");
            let mut list = Vec::new();
            for (i, u) in users.iter().enumerate() {
                if removed.contains(u) || u.trim().is_empty() {
                    continue;
                }
                let parse = |v: Option<&&str>, f: &str| -> Result<Option<f64>, AppError> {
                    let v = v.map(|s| s.trim()).unwrap_or("");
                    if v.is_empty() {
                        return Ok(None);
                    }
                    v.replace(',', ".")
                        .parse::<f64>()
                        .map(Some)
                        .map_err(|_| AppError::invalid(&format!("members[{i}].{f}"), "must be a number"))
                };
                list.push(MemberInput {
                    user: u.to_string(),
                    points: parse(pts_list.get(i), "points")?,
                    days: parse(days_list.get(i), "days")?,
                });
            }
            st.app.set_team_members(&s.user, RecordId(id), &list).await?;
            Ok(redirect_with(&back, "notice", "Members saved."))
        }
        .await;
        back_with(&back, res)
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /teams/{id}/sprints
async fn create_sprint(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let back = super::back_to(&form, "/");
        let input = SprintInput {
            name: Some(form.get("name").to_string()),
            goal: Some(form.get("goal").to_string()),
            start: Some(form.get("start").to_string()),
            end: Some(form.get("end").to_string()),
        };
        back_with(
            &back,
            st.app.create_sprint(&s.user, RecordId(id), &input).await.map(|sp| {
                redirect_with(&format!("/sprints/{}/plan", sp.id), "notice", "Sprint created. Plan it here.")
            }),
        )
    }
    .await;
    finish(&st, &s, r).await
}

// ----- /sprints/{id} -------------------------------------------------------------------------

struct ItemRow {
    key: String,
    title: String,
    kind: &'static str,
    status: String,
    cat: &'static str,
    estimate: String,
    points: f64,
    assignee: String,
    done: bool,
    added: bool,
    warnings: Vec<String>,
}

struct CapRow {
    id: i64,
    name: String,
    email: String,
    points: String,
    days: String,
    days_off: String,
    available: String,
}

struct Figure {
    label: &'static str,
    value: String,
    hint: String,
}

#[derive(Template)]
#[template(path = "sprints_sprint.html")]
struct SprintPage {
    l: Layout,
    id: i64,
    team_id: i64,
    team: String,
    name: String,
    goal: String,
    start: String,
    end: String,
    dates: String,
    days: i32,
    state: String,
    cls: &'static str,
    figures: Vec<Figure>,
    items: Vec<ItemRow>,
    open_items: usize,
    capacity: Vec<CapRow>,
    cap_points: String,
    cap_days: String,
    manage: &'static str,
    has_next: bool,
    next_name: String,
    summary: Option<(String, String, String, String)>,
    /// Items a closed sprint sent on: (key, title, points, where, link).
    carried: Vec<(String, String, String, String, String)>,
    here: String,
    /// The burndown and burnup charts, once the sprint has started.
    burn: Option<(super::chart::Chart, super::chart::Chart)>,
}

fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "allow",
        Decision::Propose => "propose",
        Decision::Deny => "deny",
    }
}

async fn item_rows(
    st: &AppState,
    a: &ProductAccess,
    items: Vec<Item>,
    committed: Option<&keel_domain::sprint::Commitment>,
    readiness: bool,
) -> Result<Vec<ItemRow>, AppError> {
    let workflow = st.app.workflow(a).await?;
    let members = st.app.members(a).await?;
    let names: HashMap<i64, &str> = members.iter().map(|(u, _)| (u.id.0, u.name.as_str())).collect();
    // Readiness of the items of the access's product (others are shown without warnings).
    let own: Vec<Item> = items.iter().filter(|i| i.product_id == a.product.id).cloned().collect();
    let warnings: HashMap<i64, Vec<String>> = if readiness && !own.is_empty() {
        let r = st.app.readiness(a, &own).await?;
        own.iter().zip(r).map(|(i, w)| (i.id.0, w)).collect()
    } else {
        HashMap::new()
    };
    Ok(items
        .into_iter()
        .map(|i| ItemRow {
            status: workflow.state(i.status_id).map_or_else(String::new, |s| s.name.clone()),
            cat: category_class(i.category),
            kind: i.kind.as_str(),
            estimate: i.estimate.map(|p| points(p.value())).unwrap_or_default(),
            points: i.estimate.map_or(0.0, |p| p.value()),
            assignee: i.assignee_id.and_then(|u| names.get(&u.0)).map(|n| n.to_string()).unwrap_or_default(),
            done: i.category == Category::Done,
            added: committed.is_some_and(|c| !c.contains(i.id)),
            warnings: warnings.get(&i.id.0).cloned().unwrap_or_default(),
            key: i.key,
            title: i.title,
        })
        .collect())
}

fn cap_rows(sp: &Sprint, users: &[User]) -> Vec<CapRow> {
    sp.capacity
        .iter()
        .map(|c| {
            let u = users.iter().find(|u| u.id == c.user_id);
            CapRow {
                id: c.user_id.0,
                name: u.map(|u| u.name.clone()).unwrap_or_else(|| format!("User {}", c.user_id)),
                email: u.map(|u| u.email.to_string()).unwrap_or_default(),
                points: c.points.map(points).unwrap_or_default(),
                days: c.days.map(points).unwrap_or_default(),
                days_off: if c.days_off > 0.0 { points(c.days_off) } else { String::new() },
                available: c.available_days().map(pts).unwrap_or_else(|| "—".into()),
            }
        })
        .collect()
}

/// GET /sprints/{id}
async fn sprint_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
) -> Response {
    let r = async {
        let sc = st.app.sprint_scope(&s.user, RecordId(id)).await?;
        let sp = &sc.sprint.data;
        let a = &sc.access;
        let l = Layout::new(&st, &s, sp.name.clone(), "sprints", Some(&a.product))
            .await
            .crumb(format!("/products/{}/sprints", a.product.key), "Sprints")
            .crumb(format!("/teams/{}", sc.team.id), sc.team.data.name.clone())
            .flash(&flash);
        let items = st.app.sprint_items(&sc).await?;
        let f = st.app.sprint_figures(&sc, &items).await?;
        let users = st.app.team_users(&sc.team.data).await?;
        let sprints = st.app.team_sprints(&sc.team).await?;
        let next = sprints
            .iter()
            .filter(|x| x.id != sc.sprint.id && x.state == "planned")
            .min_by_key(|x| (x.data.start, x.id));
        let mut figures = vec![
            Figure {
                label: if sc.state == SprintState::Planned { "Planned" } else { "Committed" },
                value: pts(f.committed),
                hint: match sc.state {
                    SprintState::Planned => format!("{} items", f.items),
                    _ => "frozen at the start".into(),
                },
            },
            Figure {
                label: "Completed",
                value: pts(f.completed),
                hint: if f.committed > 0.0 {
                    format!("{:.0}% of the commitment", f.completed / f.committed * 100.0)
                } else {
                    String::new()
                },
            },
        ];
        if sc.state != SprintState::Planned {
            figures.push(Figure {
                label: "Scope change",
                value: format!("+{} / −{}", pts(f.scope.added), pts(f.scope.removed)),
                hint: "points added / removed after the start".into(),
            });
        }
        figures.push(Figure {
            label: "Capacity",
            value: if f.capacity.has_points {
                format!("{} pts", pts(f.capacity.points))
            } else {
                "—".into()
            },
            hint: if f.capacity.has_days {
                format!("{} days available", pts(f.capacity.days))
            } else {
                String::new()
            },
        });
        figures.push(Figure {
            label: "Velocity",
            value: or_dash(f.velocity.average),
            // The velocity the sprint was planned with: the team's sprints closed before it.
            hint: match f.velocity.sprints {
                0 => "no earlier closed sprint".into(),
                1 => "over 1 earlier sprint".into(),
                n => format!("last {n} sprints, {}–{}", pts(f.velocity.min), pts(f.velocity.max)),
            },
        });
        let open_items = items.iter().filter(|i| i.category != Category::Done).count();
        let rows = item_rows(&st, a, items, sp.commitment.as_ref(), false).await?;
        let mut carried = Vec::new();
        if let Some(sum) = &sp.summary {
            for (item, to) in sum.carried_over.iter().take(300) {
                let Ok(i) = st.app.store().item(*item).await else { continue };
                if st.app.access_by_id(&s.user, i.product_id).await.is_err() {
                    continue;
                }
                let (label, link) = match to.parse::<i64>() {
                    Ok(n) => (
                        sprints
                            .iter()
                            .find(|x| x.id.0 == n)
                            .map_or("next sprint".into(), |x| x.data.name.clone()),
                        format!("/sprints/{n}"),
                    ),
                    Err(_) => ("backlog".to_string(), format!("/products/{}/backlog", a.product.key)),
                };
                carried.push((
                    i.key.clone(),
                    i.title.clone(),
                    or_dash(i.estimate.map(|p| p.value())),
                    label,
                    link,
                ));
            }
        }
        let summary =
            sp.summary.as_ref().map(|x| (pts(x.committed), pts(x.completed), pts(x.added), pts(x.removed)));
        let burn = match sp.commitment {
            Some(_) => {
                Some(super::reports::burn_charts(&st.app.sprint_burn(&s.user, id, Default::default()).await?))
            }
            None => None,
        };
        render(&SprintPage {
            burn,
            id,
            team_id: sc.team.id.0,
            team: sc.team.data.name.clone(),
            name: sp.name.clone(),
            goal: sp.goal.clone(),
            start: sp.start.to_string(),
            end: sp.end.to_string(),
            dates: dates(sp),
            days: sp.start.working_days_to(sp.end),
            state: sc.sprint.state.clone(),
            cls: state_class(&sc.sprint.state),
            figures,
            items: rows,
            open_items,
            capacity: cap_rows(sp, &users),
            cap_points: if f.capacity.has_points { pts(f.capacity.points) } else { "—".into() },
            cap_days: if f.capacity.has_days { pts(f.capacity.days) } else { "—".into() },
            manage: decision_name(st.app.decide(a, Action::ManageSprint)),
            has_next: next.is_some(),
            next_name: next.map(|n| n.data.name.clone()).unwrap_or_default(),
            summary,
            carried,
            here: format!("/sprints/{id}"),
            l,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /sprints/{id}: name, goal and dates.
async fn sprint_update(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let back = format!("/sprints/{id}");
        let input = SprintInput {
            name: form.opt("name").map(str::to_string),
            goal: form.opt("goal").map(str::to_string),
            start: form.opt("start").map(str::to_string),
            end: form.opt("end").map(str::to_string),
        };
        back_with(
            &back,
            st.app
                .update_sprint(&s.user, RecordId(id), &input, None)
                .await
                .map(|_| redirect_with(&back, "notice", "Sprint saved.")),
        )
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /sprints/{id}/capacity: `user`, `points`, `days`, `days_off` per row.
async fn capacity_update(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let back = format!("/sprints/{id}");
        let res = async {
            let users = form.all("user");
            let (p, d, o) = (form.all("points"), form.all("days"), form.all("days_off"));
            let mut list = Vec::new();
            for (i, u) in users.iter().enumerate() {
                let one = |v: Option<&&str>, f: &str| -> Result<Option<f64>, AppError> {
                    let v = v.map(|s| s.trim()).unwrap_or("");
                    if v.is_empty() {
                        return Ok(None);
                    }
                    v.replace(',', ".")
                        .parse::<f64>()
                        .map(Some)
                        .map_err(|_| AppError::invalid(&format!("capacity[{i}].{f}"), "must be a number"))
                };
                list.push(CapacityInput {
                    user: u.to_string(),
                    points: one(p.get(i), "points")?,
                    days: one(d.get(i), "days")?,
                    days_off: one(o.get(i), "days_off")?,
                });
            }
            st.app.set_capacity(&s.user, RecordId(id), &list, None).await?;
            Ok(redirect_with(&back, "notice", "Capacity saved."))
        }
        .await;
        back_with(&back, res)
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /sprints/{id}/items: `key` (and `before`/`after`), back to `back`.
async fn add_item(State(st): State<AppState>, s: UiSession, Path(id): Path<i64>, form: FormData) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let back = super::back_to(&form, &format!("/sprints/{id}/plan"));
        let key = form.get("key").trim().to_string();
        let nonempty = |n: &str| form.opt(n).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        let pos =
            PositionInput { before: nonempty("before"), after: nonempty("after"), ..Default::default() };
        let res = st.app.add_to_sprint(&s.user, RecordId(id), &key, &pos, None).await.map(|o| match o {
            Outcome::Done(i) => redirect_with(&back, "notice", &format!("{} is in the sprint.", i.key)),
            Outcome::Proposed(p) => redirect_with(&back, "notice", &proposed_notice(&st, &p)),
        });
        back_with(&back, res)
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /sprints/{id}/items/{key}/remove
async fn remove_item(
    State(st): State<AppState>,
    s: UiSession,
    Path((id, key)): Path<(i64, String)>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let back = super::back_to(&form, &format!("/sprints/{id}/plan"));
        let res = st.app.remove_from_sprint(&s.user, RecordId(id), &key, None).await.map(|o| match o {
            Outcome::Done(i) => redirect_with(&back, "notice", &format!("{} is back in the backlog.", i.key)),
            Outcome::Proposed(p) => redirect_with(&back, "notice", &proposed_notice(&st, &p)),
        });
        back_with(&back, res)
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /sprints/{id}/start
async fn start(State(st): State<AppState>, s: UiSession, Path(id): Path<i64>, form: FormData) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let back = format!("/sprints/{id}");
        let reason = form.opt("reason").filter(|r| !r.trim().is_empty());
        let res = st.app.start_sprint(&s.user, RecordId(id), reason).await.map(|o| match o {
            Outcome::Done(_) => redirect_with(&back, "notice", "Sprint started: the commitment is frozen."),
            Outcome::Proposed(p) => redirect_with(&back, "notice", &proposed_notice(&st, &p)),
        });
        back_with(&back, res)
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /sprints/{id}/close: `destination` for all, `item:KEY` per item (empty: as all).
async fn close(State(st): State<AppState>, s: UiSession, Path(id): Path<i64>, form: FormData) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let back = format!("/sprints/{id}");
        let keys = form.all("keys");
        let mut items = Vec::new();
        for k in keys {
            let v = form.get(&format!("item:{k}")).trim();
            if !v.is_empty() {
                items.push((k.to_string(), v.to_string()));
            }
        }
        let input = CloseInput { destination: form.opt("destination").map(str::to_string), items };
        let reason = form.opt("reason").filter(|r| !r.trim().is_empty());
        let res = st.app.close_sprint(&s.user, RecordId(id), &input, reason).await.map(|o| match o {
            Outcome::Done(_) => redirect_with(&back, "notice", "Sprint closed. Its figures are kept below."),
            Outcome::Proposed(p) => redirect_with(&back, "notice", &proposed_notice(&st, &p)),
        });
        back_with(&back, res)
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /sprints/{id}/delete
async fn delete(State(st): State<AppState>, s: UiSession, Path(id): Path<i64>, form: FormData) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let sc = st.app.sprint_scope(&s.user, RecordId(id)).await?;
        let list = format!("/products/{}/sprints", sc.access.product.key);
        let back = format!("/sprints/{id}");
        back_with(
            &back,
            st.app.delete_sprint(&s.user, RecordId(id)).await.map(|_| {
                redirect_with(&list, "notice", "Sprint deleted; its items are back in the backlog.")
            }),
        )
    }
    .await;
    finish(&st, &s, r).await
}

// ----- /sprints/{id}/plan --------------------------------------------------------------------

/// The planning view's query string.
#[derive(Debug, Default, Deserialize)]
struct PlanQuery {
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    product: Option<String>,
}

#[derive(Template)]
#[template(path = "sprints_plan.html")]
struct PlanPage {
    l: Layout,
    id: i64,
    name: String,
    team: String,
    team_id: i64,
    dates: String,
    state: String,
    cls: &'static str,
    goal: String,
    backlog: Vec<ItemRow>,
    sprint: Vec<ItemRow>,
    backlog_count: i64,
    committed: String,
    committed_value: f64,
    capacity: String,
    capacity_value: f64,
    days: String,
    velocity: String,
    velocity_hint: String,
    more: Option<String>,
    paged: bool,
    here: String,
    manage: &'static str,
    product_key: String,
    products: Vec<(String, bool)>,
    js: &'static str,
}

/// GET /sprints/{id}/plan
async fn plan_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    Query(q): Query<PlanQuery>,
    Query(flash): Query<Flash>,
) -> Response {
    let r = async {
        let sc: SprintScope = st.app.sprint_scope(&s.user, RecordId(id)).await?;
        // The backlog of one product the team serves: the one asked for, else the caller's.
        let a = match q.product.as_deref().filter(|p| !p.is_empty()) {
            Some(k) => {
                let a = st.app.access(&s.user, k).await?;
                if !sc.team.data.products.contains(&a.product.id) {
                    return Err(AppError::NotFound.into());
                }
                a
            }
            None => sc.access.clone(),
        };
        let sp = &sc.sprint.data;
        let l = Layout::new(&st, &s, format!("Plan {}", sp.name), "sprints", Some(&a.product))
            .await
            .crumb(format!("/products/{}/sprints", a.product.key), "Sprints")
            .crumb(format!("/sprints/{id}"), sp.name.clone())
            .flash(&flash);
        let cursor = q.cursor.as_deref().filter(|c| !c.is_empty());
        let page = match st.app.planning_backlog(&a, cursor, PLAN_PAGE).await {
            Ok(p) => p,
            Err(AppError::Invalid(_)) => st.app.planning_backlog(&a, None, PLAN_PAGE).await?,
            Err(e) => return Err(e.into()),
        };
        let filter = keel_store::ItemFilter { open_only: true, sprint: Some(None), ..Default::default() };
        let backlog_count = st.app.count_items(&a, &filter).await?;
        let items = st.app.sprint_items(&sc).await?;
        let f = st.app.sprint_figures(&sc, &items).await?;
        let sprint_rows = item_rows(&st, &a, items, sp.commitment.as_ref(), true).await?;
        let backlog_rows = item_rows(&st, &a, page.items, None, true).await?;
        let base = format!("/sprints/{id}/plan");
        let pq = if a.product.id == sc.access.product.id {
            String::new()
        } else {
            format!("product={}", url_encode(a.product.key.as_str()))
        };
        let with = |extra: Option<&str>| -> String {
            let mut parts: Vec<String> = Vec::new();
            if !pq.is_empty() {
                parts.push(pq.clone());
            }
            if let Some(c) = extra {
                parts.push(format!("cursor={}", url_encode(c)));
            }
            if parts.is_empty() {
                base.clone()
            } else {
                format!("{base}?{}", parts.join("&"))
            }
        };
        let here = with(cursor);
        let more = page.next_cursor.as_deref().map(|c| with(Some(c)));
        let mut products = Vec::new();
        if sc.team.data.products.len() > 1 {
            for p in &sc.team.data.products {
                if let Ok(p) = st.app.store().product(*p).await {
                    if st.app.access(&s.user, p.key.as_str()).await.is_ok() {
                        products.push((p.key.to_string(), p.id == a.product.id));
                    }
                }
            }
        }
        render(&PlanPage {
            id,
            name: sp.name.clone(),
            team: sc.team.data.name.clone(),
            team_id: sc.team.id.0,
            dates: dates(sp),
            state: sc.sprint.state.clone(),
            cls: state_class(&sc.sprint.state),
            goal: sp.goal.clone(),
            backlog: backlog_rows,
            sprint: sprint_rows,
            backlog_count,
            committed: pts(f.planned),
            committed_value: f.planned,
            capacity: if f.capacity.has_points { pts(f.capacity.points) } else { "—".into() },
            capacity_value: f.capacity.points,
            days: if f.capacity.has_days { format!("{} days", pts(f.capacity.days)) } else { String::new() },
            velocity: or_dash(f.velocity.average),
            velocity_hint: match f.velocity.sprints {
                0 => "no closed sprint yet".into(),
                n => format!("avg of last {n}, {}–{}", pts(f.velocity.min), pts(f.velocity.max)),
            },
            more,
            paged: cursor.is_some(),
            here,
            manage: decision_name(st.app.decide(&sc.access, Action::ManageSprint)),
            product_key: a.product.key.to_string(),
            products,
            js: js(),
            l,
        })
    }
    .await;
    finish(&st, &s, r).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_dates() {
        assert_eq!(short_date(Date::parse("d", "2026-01-05").unwrap()), "Mon 5 Jan");
        assert_eq!(pts(2.25), "2.3");
        assert_eq!(or_dash(None), "—");
        assert_eq!(state_class("active"), "progress");
    }
}
