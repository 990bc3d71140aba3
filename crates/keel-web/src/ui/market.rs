//! Pages: competitors, stakeholders and their updates, go-to-market, PRDs, the portfolio.
//! Everything works as plain forms, without JavaScript.

use super::form::FormData;
use super::{finish, message, redirect_with, render, Flash, Layout, UiResult};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use keel_api::market::{MatrixOut, StakeholderOut};
use keel_app::market::{
    CapabilityInput, CompetitorInput, ContactInput, MatrixChange, StakeholderInput, MARKET_RIGHT,
};
use keel_app::AppError;
use keel_domain::market::{Quadrant, StakeholderRole};
use keel_domain::rights::Decision;
use keel_domain::RecordId;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/products/{key}/competitors", get(competitors).post(competitors_update))
        .route("/products/{key}/stakeholders", get(stakeholders).post(stakeholder_create))
        .route("/stakeholders/{id}", get(stakeholder_page).post(stakeholder_update))
        .route("/products/{key}/stakeholder-updates", get(updates_page).post(updates_post))
}

#[derive(Template)]
#[template(path = "market_competitors.html")]
struct CompetitorsPage {
    l: Layout,
    key: String,
    m: MatrixOut,
    can_edit: bool,
    /// (has, partial, lacks) per column, in the order of `m.competitors`.
    tallies: Vec<(usize, usize, usize)>,
}

impl CompetitorsPage {
    /// The label of a mark.
    fn mark_label(&self, mark: &str) -> &'static str {
        mark_label(mark)
    }

    /// The symbol of a mark.
    fn mark_symbol(&self, mark: &str) -> &'static str {
        mark_symbol(mark)
    }
}

/// The label of a mark.
fn mark_label(mark: &str) -> &'static str {
    match mark {
        "has" => "Has",
        "partial" => "Partial",
        "lacks" => "Lacks",
        _ => "Unknown",
    }
}

/// The symbol of a mark.
fn mark_symbol(mark: &str) -> &'static str {
    match mark {
        "has" => "●",
        "partial" => "◐",
        "lacks" => "○",
        _ => "·",
    }
}

/// GET /products/{key}/competitors
async fn competitors(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let (m, v) = st.app.competitor_matrix(&a).await?;
        let out = MatrixOut::new(&m, &a.product.name, v);
        let tallies = out.competitors.iter().map(|c| m.tally(c.id)).collect();
        let l = Layout::new(&st, &s, "Competitors", "competitors", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .flash(&f);
        render(&CompetitorsPage {
            l,
            key: a.product.key.to_string(),
            m: out,
            can_edit: st.app.decide(&a, MARKET_RIGHT) == Decision::Allow,
            tallies,
        })
    }
    .await;
    finish(&st, &s, r).await
}

fn opt(form: &FormData, name: &str) -> Option<String> {
    form.opt(name).map(|v| v.replace("\r\n", "\n"))
}

/// The ids in a comma- or space-separated list; a bad one is reported as the field's error.
fn id_list(s: &str) -> Result<Vec<i64>, AppError> {
    s.split([',', ' '])
        .filter(|x| !x.trim().is_empty())
        .map(|x| {
            x.trim().trim_start_matches('#').parse::<i64>().map_err(|_| {
                AppError::Invalid(keel_domain::ValidationError::new(
                    "opportunities",
                    "must be opportunity ids separated by commas",
                ))
            })
        })
        .collect()
}

/// POST /products/{key}/competitors: `op` is one of add_competitor, edit_competitor,
/// remove_competitor, add_capability, edit_capability, remove_capability, set_cell; `id`,
/// `competitor`, `capability` name the target; `version` guards against a concurrent change.
async fn competitors_update(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/competitors", a.product.key);
        let id = form.get("id").parse::<i64>().unwrap_or(-1);
        let competitor = || CompetitorInput {
            name: opt(&form, "name"),
            site: opt(&form, "site"),
            pricing: opt(&form, "pricing"),
            positioning: opt(&form, "positioning"),
        };
        let parsed: Result<(MatrixChange, &str), AppError> = match form.get("op") {
            "add_competitor" => Ok((MatrixChange::AddCompetitor(competitor()), "Competitor added.")),
            "edit_competitor" => Ok((MatrixChange::EditCompetitor(id, competitor()), "Competitor saved.")),
            "remove_competitor" => Ok((MatrixChange::RemoveCompetitor(id), "Competitor removed.")),
            "add_capability" | "edit_capability" => match id_list(form.get("opportunities")) {
                Ok(o) => {
                    let i = CapabilityInput { name: opt(&form, "name"), opportunities: Some(o) };
                    if form.get("op") == "add_capability" {
                        Ok((MatrixChange::AddCapability(i), "Capability added."))
                    } else {
                        Ok((MatrixChange::EditCapability(id, i), "Capability saved."))
                    }
                }
                Err(e) => Err(e),
            },
            "remove_capability" => Ok((MatrixChange::RemoveCapability(id), "Capability removed.")),
            "set_cell" => Ok((
                MatrixChange::SetCell(
                    form.get("competitor").parse::<i64>().unwrap_or(-1),
                    form.get("capability").parse::<i64>().unwrap_or(-1),
                    form.get("mark").to_string(),
                    form.get("notes").replace("\r\n", "\n"),
                ),
                "Cell saved.",
            )),
            _ => Err(AppError::Invalid(keel_domain::ValidationError::new("op", "is not a known change"))),
        };
        let version = form.version()?;
        let res = match parsed {
            Ok((c, done)) => st.app.change_matrix(&a, c, version).await.map(|_| done),
            Err(e) => Err(e),
        };
        match res {
            Ok(done) => Ok(redirect_with(&back, "notice", done)),
            Err(e @ AppError::Internal(_)) => Err(e.into()),
            Err(AppError::NotFound) => {
                Ok(redirect_with(&back, "error", "That competitor or capability no longer exists."))
            }
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// One stakeholder placed on the power/interest grid.
struct GridPoint {
    id: i64,
    x: i64,
    y: i64,
    label: String,
    title: String,
    quadrant: &'static str,
}

/// The grid's geometry: a margin for the axes, then 5 × 5 cells.
const GRID_MARGIN: i64 = 36;
const GRID_CELL: i64 = 64;

/// Places stakeholders on the grid: interest to the right, power upwards; several on the same
/// scores are spread around the cell's centre.
fn grid_points(list: &[StakeholderOut]) -> Vec<GridPoint> {
    let mut seen: std::collections::HashMap<(u8, u8), i64> = std::collections::HashMap::new();
    list.iter()
        .map(|s| {
            let k = seen.entry((s.power, s.interest)).or_insert(0);
            let n = *k;
            *k += 1;
            let (dx, dy) =
                [(0, 0), (-16, -14), (16, -14), (-16, 14), (16, 14), (0, -24), (0, 24)][(n % 7) as usize];
            let cx = GRID_MARGIN + (i64::from(s.interest) - 1) * GRID_CELL + GRID_CELL / 2 + dx;
            let cy = GRID_MARGIN / 2 + (5 - i64::from(s.power)) * GRID_CELL + GRID_CELL / 2 + dy;
            let first: String = s.person.split_whitespace().next().unwrap_or("").chars().take(10).collect();
            GridPoint {
                id: s.id,
                x: cx,
                y: cy,
                label: first,
                title: format!("{} — power {}, interest {}: {}", s.person, s.power, s.interest, s.strategy),
                quadrant: Quadrant::ALL
                    .into_iter()
                    .find(|q| q.as_str() == s.quadrant)
                    .map_or("monitor", |q| q.as_str()),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "market_stakeholders.html")]
struct StakeholdersPage {
    l: Layout,
    key: String,
    list: Vec<StakeholderOut>,
    points: Vec<GridPoint>,
    can_edit: bool,
    roles: Vec<&'static str>,
    /// (quadrant, strategy, count).
    quadrants: Vec<(&'static str, &'static str, usize)>,
}

/// GET /products/{key}/stakeholders
async fn stakeholders(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let list: Vec<StakeholderOut> =
            st.app.stakeholders(&a).await?.iter().map(crate::api::market::stakeholder_json).collect();
        let quadrants = Quadrant::ALL
            .into_iter()
            .map(|q| (q.as_str(), q.strategy(), list.iter().filter(|s| s.quadrant == q.as_str()).count()))
            .collect();
        let l = Layout::new(&st, &s, "Stakeholders", "stakeholders", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .flash(&f);
        render(&StakeholdersPage {
            l,
            key: a.product.key.to_string(),
            points: grid_points(&list),
            list,
            can_edit: st.app.decide(&a, MARKET_RIGHT) == Decision::Allow,
            roles: StakeholderRole::ALL.iter().map(|r| r.as_str()).collect(),
            quadrants,
        })
    }
    .await;
    finish(&st, &s, r).await
}

fn number(form: &FormData, name: &str) -> Option<i64> {
    form.opt(name).map(|v| v.trim().parse::<i64>().unwrap_or(0))
}

fn stakeholder_form(form: &FormData) -> Result<StakeholderInput, AppError> {
    let initiatives = match form.opt("initiatives") {
        Some(v) => Some(
            v.split([',', ' '])
                .filter(|x| !x.trim().is_empty())
                .map(|x| {
                    x.trim().trim_start_matches('#').parse::<i64>().map_err(|_| {
                        AppError::Invalid(keel_domain::ValidationError::new(
                            "initiatives",
                            "must be initiative ids separated by commas",
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    Ok(StakeholderInput {
        person: opt(form, "person"),
        organisation: opt(form, "organisation"),
        role: opt(form, "role"),
        power: number(form, "power"),
        interest: number(form, "interest"),
        initiatives,
    })
}

/// POST /products/{key}/stakeholders: adds a stakeholder.
async fn stakeholder_create(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/stakeholders", a.product.key);
        let res = match stakeholder_form(&form) {
            Ok(i) => st.app.create_stakeholder(&a, &i).await,
            Err(e) => Err(e),
        };
        match res {
            Ok(_) => Ok(redirect_with(&back, "notice", "Stakeholder added.")),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

#[derive(Template)]
#[template(path = "market_stakeholder.html")]
struct StakeholderPage {
    l: Layout,
    key: String,
    s: StakeholderOut,
    can_edit: bool,
    roles: Vec<&'static str>,
    today: String,
    /// (id, title) of the initiatives they care about that still exist.
    initiatives: Vec<(i64, String)>,
}

/// GET /stakeholders/{id}
async fn stakeholder_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let (rec, a) = st.app.stakeholder(&s.user, RecordId(id)).await?;
        let out = crate::api::market::stakeholder_json(&rec);
        let mut initiatives = Vec::new();
        for i in &rec.data.initiatives {
            if let Ok(r) = st.app.get_record::<keel_domain::pm::Initiative>(*i).await {
                initiatives.push((i.0, r.data.title));
            }
        }
        let l = Layout::new(&st, &s, out.person.clone(), "stakeholders", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .crumb(format!("/products/{}/stakeholders", a.product.key), "Stakeholders")
            .flash(&f);
        render(&StakeholderPage {
            l,
            key: a.product.key.to_string(),
            s: out,
            can_edit: st.app.decide(&a, MARKET_RIGHT) == Decision::Allow,
            roles: StakeholderRole::ALL.iter().map(|r| r.as_str()).collect(),
            today: keel_domain::Date::of(keel_app::now()).to_string(),
            initiatives,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /stakeholders/{id}: `op` is edit, contact or delete.
async fn stakeholder_update(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (_, a) = st.app.stakeholder(&s.user, RecordId(id)).await?;
        let back = format!("/stakeholders/{id}");
        let res = match form.get("op") {
            "delete" => match st.app.delete_stakeholder(&s.user, RecordId(id)).await {
                Ok(()) => {
                    let to = format!("/products/{}/stakeholders", a.product.key);
                    return Ok(redirect_with(&to, "notice", "Stakeholder deleted."));
                }
                Err(e) => Err(e),
            },
            "contact" => {
                let input = ContactInput {
                    date: form.get("date").to_string(),
                    channel: form.get("channel").to_string(),
                    notes: form.get("notes").replace("\r\n", "\n"),
                };
                st.app.add_contact(&s.user, RecordId(id), &input).await.map(|_| "Contact logged.")
            }
            _ => match stakeholder_form(&form) {
                Ok(i) => {
                    let v = form.version()?;
                    st.app.update_stakeholder(&s.user, RecordId(id), &i, v).await.map(|_| "Saved.")
                }
                Err(e) => Err(e),
            },
        };
        match res {
            Ok(done) => Ok(redirect_with(&back, "notice", done)),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

struct UpdateView {
    id: i64,
    title: String,
    body: String,
    html: String,
    published: String,
    version: i64,
}

#[derive(Template)]
#[template(path = "market_updates.html")]
struct UpdatesPage {
    l: Layout,
    key: String,
    drafts: Vec<UpdateView>,
    published: Vec<UpdateView>,
    can_edit: bool,
}

/// GET /products/{key}/stakeholder-updates
async fn updates_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let (mut drafts, mut published) = (Vec::new(), Vec::new());
        for u in st.app.stakeholder_updates(&a).await? {
            let v = UpdateView {
                id: u.id.0,
                title: u.data.title.clone(),
                html: crate::markdown::render(&u.data.body),
                body: u.data.body.clone(),
                published: u.data.published_at.map(super::view::date_time).unwrap_or_default(),
                version: u.version,
            };
            if u.state == "published" {
                published.push(v);
            } else {
                drafts.push(v);
            }
        }
        let l = Layout::new(&st, &s, "Stakeholder updates", "stakeholder-updates", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .crumb(format!("/products/{}/stakeholders", a.product.key), "Stakeholders")
            .flash(&f);
        render(&UpdatesPage {
            l,
            key: a.product.key.to_string(),
            drafts,
            published,
            can_edit: st.app.decide(&a, MARKET_RIGHT) == Decision::Allow,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products/{key}/stakeholder-updates: `op` compose, save or publish (`id`, `title`,
/// `body`, `version`).
async fn updates_post(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/stakeholder-updates", a.product.key);
        let id = RecordId(form.get("id").parse::<i64>().unwrap_or(0));
        let version = form.version()?;
        let body = opt(&form, "body");
        let res = match form.get("op") {
            "compose" => st
                .app
                .compose_stakeholder_update(&a)
                .await
                .map(|_| "Draft composed from the data; edit it, then publish."),
            op @ ("save" | "publish") => st
                .app
                .edit_stakeholder_update(
                    &s.user,
                    id,
                    form.opt("title"),
                    body.as_deref(),
                    op == "publish",
                    version,
                )
                .await
                .map(|_| if op == "publish" { "Update published." } else { "Draft saved." }),
            _ => Err(AppError::Invalid(keel_domain::ValidationError::new("op", "is not a known change"))),
        };
        match res {
            Ok(done) => Ok(redirect_with(&back, "notice", done)),
            Err(e @ AppError::Internal(_)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}
