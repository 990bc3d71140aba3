//! Pages of go-to-market and PRDs: the Launch section of a release's page (checklist, decision
//! form, decision log) and its forms, the product's launch template editor, and the PRD page of
//! an initiative or an epic with per-section editing. Plain forms, no JavaScript needed.

use super::form::FormData;
use super::view::date_time;
use super::{finish, message, redirect_with, render, Flash, Layout, UiResult};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use keel_app::launch::LaunchItemInput;
use keel_app::prd::PrdSubject;
use keel_app::records::Stored;
use keel_app::{AppError, ProductAccess};
use keel_domain::launch::{GoNoGo, LaunchTemplate, TemplateItem};
use keel_domain::product::Role;
use keel_domain::rights::{Action, Decision};
use keel_domain::sprint::Release;
use keel_domain::{RecordId, UserId};
use std::collections::{BTreeMap, HashMap};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/releases/{id}/launch/items", post(add_item))
        .route("/releases/{id}/launch/items/{n}", post(item_update))
        .route("/releases/{id}/launch/decision", post(decide))
        .route("/products/{key}/launch-template", get(template_page).post(template_save))
        .route("/initiatives/{id}/prd", get(initiative_prd).post(initiative_prd_save))
        .route("/items/{key}/prd", get(epic_prd).post(epic_prd_save))
}

/// One checklist row.
pub(crate) struct LaunchRow {
    pub id: i64,
    pub title: String,
    pub owner: Option<i64>,
    pub owner_name: String,
    pub due: String,
    pub done: bool,
    pub overdue: bool,
    pub note: String,
    pub done_line: String,
    /// The signed-in user may tick it (the PM, or its owner).
    pub may_tick: bool,
}

impl LaunchRow {
    /// Whether `id` owns it (for the owner select).
    pub fn owned_by<T: std::borrow::Borrow<i64>>(&self, id: T) -> bool {
        self.owner == Some(*id.borrow())
    }
}

/// One decision of the log.
pub(crate) struct DecisionRow {
    pub label: &'static str,
    pub go: bool,
    pub note: String,
    pub by: String,
    pub at: String,
    pub proposed: bool,
    pub open_items: String,
}

/// The Launch section of a release's page.
pub(crate) struct LaunchSection {
    pub release_id: i64,
    pub items: Vec<LaunchRow>,
    pub open: usize,
    pub overdue: usize,
    /// The current decision: label and whether it is a go.
    pub current: Option<(&'static str, bool)>,
    pub decisions: Vec<DecisionRow>,
    /// The PM: may change the checklist and decide.
    pub can_edit: bool,
    /// `allow`, `propose` or empty, for the decision form.
    pub decide: &'static str,
    pub members: Vec<(i64, String)>,
    pub version: i64,
    pub from_template: bool,
    pub product_key: String,
}

/// The Launch section for `rel`, as `a` sees it.
pub(crate) async fn launch_section(
    st: &AppState,
    a: &ProductAccess,
    rel: &Stored<Release>,
) -> Result<LaunchSection, AppError> {
    let l = st.app.launch(a, rel).await?;
    let mut members: Vec<(i64, String)> =
        st.app.members(a).await?.into_iter().map(|(u, _)| (u.id.0, u.name)).collect();
    members.sort_by_key(|x| x.1.to_lowercase());
    let names: HashMap<i64, String> = members.iter().cloned().collect();
    let name = |u: UserId| names.get(&u.0).cloned().unwrap_or_else(|| format!("user {}", u.0));
    let decide = st.app.decide(a, Action::ReleaseGoNoGo);
    let can_edit = decide == Decision::Allow;
    let me = a.user.id;
    let items: Vec<LaunchRow> = l
        .checklist
        .items
        .iter()
        .map(|i| LaunchRow {
            id: i.id,
            title: i.title.clone(),
            owner: i.owner.map(|u| u.0),
            owner_name: i.owner.map(name).unwrap_or_default(),
            due: i.due.map(|d| d.to_string()).unwrap_or_default(),
            done: i.done,
            overdue: i.overdue(l.today),
            note: i.note.clone(),
            done_line: match (i.done_by, i.done_at) {
                (Some(u), Some(t)) => format!("{} · {}", name(u), date_time(t)),
                _ => String::new(),
            },
            may_tick: can_edit || i.owner == Some(me),
        })
        .collect();
    Ok(LaunchSection {
        release_id: rel.id.0,
        open: items.iter().filter(|i| !i.done).count(),
        overdue: items.iter().filter(|i| i.overdue).count(),
        items,
        current: l.current().map(|d| (d.decision.label(), d.decision == GoNoGo::Go)),
        decisions: l
            .checklist
            .decisions
            .iter()
            .rev()
            .map(|d| DecisionRow {
                label: d.decision.label(),
                go: d.decision == GoNoGo::Go,
                note: d.note.clone(),
                by: name(d.by),
                at: date_time(d.at),
                proposed: d.proposed,
                open_items: d.open_items.join(", "),
            })
            .collect(),
        can_edit,
        decide: match decide {
            Decision::Allow => "allow",
            Decision::Propose => "propose",
            Decision::Deny => "",
        },
        members,
        version: l.version,
        from_template: l.version == 0,
        product_key: a.product.key.to_string(),
    })
}

fn back(id: i64) -> String {
    format!("/releases/{id}#launch")
}

fn answer(to: &str, r: Result<String, AppError>) -> UiResult {
    match r {
        Ok(msg) => Ok(redirect_with(to, "notice", &msg)),
        Err(e @ AppError::Internal(_)) => Err(e.into()),
        Err(AppError::StaleVersion { .. }) => Ok(redirect_with(
            to,
            "error",
            "Someone changed this meanwhile; here it is now. Nothing was saved.",
        )),
        Err(e) => Ok(redirect_with(to, "error", &message(&e))),
    }
}

fn owner_field(form: &FormData) -> Result<Option<Option<i64>>, AppError> {
    match form.opt("owner").map(str::trim) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(v) => {
            v.parse::<i64>().map(|n| Some(Some(n))).map_err(|_| AppError::invalid("owner", "is not a member"))
        }
    }
}

fn version(form: &FormData) -> Result<Option<i64>, AppError> {
    form.version()
}

/// POST /releases/{id}/launch/items: title, owner, due, note.
async fn add_item(State(st): State<AppState>, s: UiSession, Path(id): Path<i64>, form: FormData) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (a, rel) = st.app.release_access(&s.user, id).await?;
        let res = async {
            let input = LaunchItemInput {
                title: Some(form.get("title").to_string()),
                owner: owner_field(&form)?,
                due: Some(form.get("due").to_string()),
                done: None,
                note: Some(form.get("note").replace("\r\n", "\n")),
            };
            st.app.add_launch_item(&a, &rel, &input, version(&form)?).await.map(|_| "Item added.".to_string())
        }
        .await;
        answer(&back(id), res)
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /releases/{id}/launch/items/{n}: `op` = `tick` (done = 1 or absent), `edit` (title,
/// owner, due, note) or `remove`.
async fn item_update(
    State(st): State<AppState>,
    s: UiSession,
    Path((id, n)): Path<(i64, i64)>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (a, rel) = st.app.release_access(&s.user, id).await?;
        let res = async {
            match form.opt("op").unwrap_or("tick") {
                "tick" => {
                    let done = form.get("done") == "1";
                    let input = LaunchItemInput { done: Some(done), ..Default::default() };
                    st.app.edit_launch_item(&a, &rel, n, &input, None).await.map(|_| {
                        if done {
                            "Ticked.".to_string()
                        } else {
                            "Reopened.".to_string()
                        }
                    })
                }
                "edit" => {
                    let input = LaunchItemInput {
                        title: form.opt("title").map(str::to_string),
                        owner: owner_field(&form)?,
                        due: form.opt("due").map(str::to_string),
                        done: None,
                        note: form.opt("note").map(|n| n.replace("\r\n", "\n")),
                    };
                    st.app
                        .edit_launch_item(&a, &rel, n, &input, version(&form)?)
                        .await
                        .map(|_| "Saved.".to_string())
                }
                "remove" => st
                    .app
                    .remove_launch_item(&a, &rel, n, version(&form)?)
                    .await
                    .map(|_| "Item removed.".to_string()),
                _ => Err(AppError::invalid("op", "unknown action")),
            }
        }
        .await;
        answer(&back(id), res)
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /releases/{id}/launch/decision: decision, note, acknowledge_open.
async fn decide(State(st): State<AppState>, s: UiSession, Path(id): Path<i64>, form: FormData) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (a, rel) = st.app.release_access(&s.user, id).await?;
        let ack = form.get("acknowledge_open") == "1";
        let res = st
            .app
            .launch_decision(
                &a,
                &rel,
                form.get("decision"),
                &form.get("note").replace("\r\n", "\n"),
                ack,
                None,
            )
            .await
            .map(|(_, d)| {
                if d.proposed {
                    format!("Your recommendation ({}) is logged for the Product Manager.", d.decision.label())
                } else {
                    format!("Decision recorded: {}.", d.decision.label())
                }
            });
        answer(&back(id), res)
    }
    .await;
    finish(&st, &s, r).await
}

// ---------------------------------------------------------------------------------------------
// The template editor
// ---------------------------------------------------------------------------------------------

struct TemplateRow {
    title: String,
    role: String,
    offset: i32,
}

#[derive(Template)]
#[template(path = "launch_template.html")]
struct TemplatePage {
    l: Layout,
    key: String,
    rows: Vec<TemplateRow>,
    roles: Vec<(&'static str, &'static str)>,
    can_edit: bool,
    is_default: bool,
    version: i64,
}

/// GET /products/{key}/launch-template
async fn template_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let (t, version) = st.app.launch_template(&a).await?;
        let can_edit = st.app.decide(&a, Action::ReleaseGoNoGo) == Decision::Allow;
        let mut rows: Vec<TemplateRow> = t
            .items
            .iter()
            .map(|i| TemplateRow {
                title: i.title.clone(),
                role: i.owner_role.map(|r| r.as_str().to_string()).unwrap_or_default(),
                offset: i.due_offset_days,
            })
            .collect();
        if can_edit {
            for _ in 0..3 {
                rows.push(TemplateRow { title: String::new(), role: String::new(), offset: 0 });
            }
        }
        let l = Layout::new(&st, &s, "Launch checklist template", "releases", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .crumb(format!("/products/{}/releases", a.product.key), "Releases")
            .flash(&f);
        render(&TemplatePage {
            l,
            key: a.product.key.to_string(),
            rows,
            roles: Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect(),
            can_edit,
            is_default: version == 0,
            version,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products/{key}/launch-template: rows `title`, `role`, `offset` (repeated, in order);
/// rows without a title are dropped.
async fn template_save(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let to = format!("/products/{}/launch-template", a.product.key);
        let titles = form.all("title");
        let roles = form.all("role");
        let offsets = form.all("offset");
        let res = async {
            let mut items = Vec::new();
            for (n, title) in titles.iter().enumerate() {
                if title.trim().is_empty() {
                    continue;
                }
                let k = items.len();
                let role = match roles.get(n).map(|r| r.trim()).filter(|r| !r.is_empty()) {
                    Some(r) => Some(Role::parse(&format!("items[{k}].owner_role"), r)?),
                    None => None,
                };
                let raw = offsets.get(n).map(|o| o.trim()).unwrap_or("");
                let offset = if raw.is_empty() {
                    0
                } else {
                    raw.parse::<i64>().map_err(|_| {
                        AppError::invalid(
                            &format!("items[{k}].due_offset_days"),
                            "must be a whole number of days",
                        )
                    })?
                };
                let offset =
                    keel_domain::launch::check_offset(&format!("items[{k}].due_offset_days"), offset)?;
                items.push(TemplateItem {
                    title: title.to_string(),
                    owner_role: role,
                    due_offset_days: offset,
                });
            }
            st.app.save_launch_template(&a, LaunchTemplate { items }, version(&form)?).await.map(|_| {
                "Template saved. New checklists follow it; existing ones keep their items.".to_string()
            })
        }
        .await;
        answer(&to, res)
    }
    .await;
    finish(&st, &s, r).await
}

// ---------------------------------------------------------------------------------------------
// PRDs
// ---------------------------------------------------------------------------------------------

struct SectionView {
    id: &'static str,
    title: &'static str,
    html: String,
    markdown: String,
    edited: bool,
    outdated: bool,
}

#[derive(Template)]
#[template(path = "prd_page.html")]
struct PrdPage {
    l: Layout,
    title: String,
    /// Where the forms post and the export lives.
    base: String,
    api: String,
    back: (String, String),
    sections: Vec<SectionView>,
    can_edit: bool,
    version: i64,
    edited: usize,
}

async fn prd_page(
    st: &AppState,
    s: &UiSession,
    a: &ProductAccess,
    subject: PrdSubject,
    f: &Flash,
) -> UiResult {
    let p = st.app.prd(a, &subject).await?;
    let (base, api, back) = match &subject {
        PrdSubject::Initiative(i) => (
            format!("/initiatives/{}/prd", i.id.0),
            format!("/api/v1/initiatives/{}/prd", i.id.0),
            (format!("/products/{}/roadmap/initiatives/{}", a.product.key, i.id.0), i.data.title.clone()),
        ),
        PrdSubject::Epic(e) => (
            format!("/items/{}/prd", e.key),
            format!("/api/v1/items/{}/prd", e.key),
            (format!("/items/{}", e.key), e.key.clone()),
        ),
    };
    let l = Layout::new(st, s, format!("PRD: {}", p.title), "roadmap", Some(&a.product))
        .await
        .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
        .crumb(format!("/products/{}/roadmap", a.product.key), "Roadmap")
        .crumb(back.0.clone(), back.1.clone())
        .flash(f);
    render(&PrdPage {
        l,
        title: p.title.clone(),
        base,
        api,
        back,
        edited: p.sections.iter().filter(|x| x.edited).count(),
        sections: p
            .sections
            .iter()
            .map(|x| SectionView {
                id: x.id,
                title: x.title,
                html: crate::markdown::render(&x.markdown),
                markdown: x.markdown.clone(),
                edited: x.edited,
                outdated: x.outdated,
            })
            .collect(),
        can_edit: st.app.decide(a, Action::EditPrd) == Decision::Allow,
        version: p.version,
    })
}

async fn save_prd(
    st: &AppState,
    a: &ProductAccess,
    subject: PrdSubject,
    form: &FormData,
    to: &str,
) -> UiResult {
    let section = form.get("section").to_string();
    let res = match form.get("op") {
        "save" => {
            let set: BTreeMap<String, String> =
                [(section.clone(), form.get("markdown").replace("\r\n", "\n"))].into_iter().collect();
            st.app
                .save_prd(a, &subject, &set, &[], version(form)?)
                .await
                .map(|_| "Section saved.".to_string())
        }
        "reset" => st
            .app
            .save_prd(a, &subject, &BTreeMap::new(), std::slice::from_ref(&section), version(form)?)
            .await
            .map(|_| "Section reset to the generated text.".to_string()),
        _ => Err(AppError::invalid("op", "unknown action")),
    };
    answer(&format!("{to}#s-{}", super::view::url_encode(&section)), res)
}

/// GET /initiatives/{id}/prd
async fn initiative_prd(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let (a, i) = st.app.initiative(&s.user, RecordId(id)).await?;
        prd_page(&st, &s, &a, PrdSubject::Initiative(i), &f).await
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /initiatives/{id}/prd: `op` = `save` (section, markdown) or `reset` (section).
async fn initiative_prd_save(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (a, i) = st.app.initiative(&s.user, RecordId(id)).await?;
        save_prd(&st, &a, PrdSubject::Initiative(i), &form, &format!("/initiatives/{id}/prd")).await
    }
    .await;
    finish(&st, &s, r).await
}

async fn epic_access(
    st: &AppState,
    s: &UiSession,
    key: &str,
) -> Result<(ProductAccess, PrdSubject), AppError> {
    let pk = super::product_of(key).ok_or(AppError::NotFound)?;
    let a = st.app.access(&s.user, pk).await?;
    let e = st.app.prd_epic(&a, key).await?;
    Ok((a, PrdSubject::Epic(e)))
}

/// GET /items/{key}/prd (epics only)
async fn epic_prd(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let (a, subject) = epic_access(&st, &s, &key).await?;
        prd_page(&st, &s, &a, subject, &f).await
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /items/{key}/prd: as for initiatives.
async fn epic_prd_save(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (a, subject) = epic_access(&st, &s, &key).await?;
        let to = format!("/items/{key}/prd");
        save_prd(&st, &a, subject, &form, &to).await
    }
    .await;
    finish(&st, &s, r).await
}
