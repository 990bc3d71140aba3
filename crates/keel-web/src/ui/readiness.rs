//! Pages of refinement and acceptance: the Definitions of Ready and Done (settings), the
//! refinement view of the backlog, releases and a release's page; and the small forms of the
//! item and backlog pages (acceptance, ticking checks, splitting, bulk edit). Everything works as
//! plain forms, without JavaScript.

use super::form::FormData;
use super::view::{category_class, date, points};
use super::{finish, message, proposed_notice, redirect_with, render, see_other, Flash, Layout, UiResult};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use keel_app::readiness::{AcceptanceAction, BulkInput, BulkOutcome, ReleaseInput, ShipOutcome};
use keel_app::records::Stored;
use keel_app::{AppError, Outcome, ProductAccess};
use keel_domain::item::Item;
use keel_domain::readiness::{
    DefinitionOfDone, DefinitionOfReady, DoneCheck, OpenItems, ReadyCheck, ReadyRule, ReleaseProgress,
};
use keel_domain::rights::{Action, Decision};
use keel_domain::sprint::{Release, ReleaseState};
use keel_domain::workflow::{Category, Workflow};
use serde::Deserialize;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/products/{key}/settings/definitions", get(definitions).post(definitions_update))
        .route("/products/{key}/refinement", get(refinement))
        .route("/products/{key}/bulk", post(bulk))
        .route("/products/{key}/releases", get(releases).post(release_create))
        .route("/releases/{id}", get(release_page).post(release_update))
        .route("/items/{key}/acceptance", post(acceptance))
        .route("/items/{key}/checks", post(toggle_check))
        .route("/items/{key}/split", post(split))
}

/// The rule kinds a check may have: (value, label).
const RULES: [(&str, &str); 6] = [
    ("has_criteria", "Has acceptance criteria"),
    ("estimated", "Is estimated"),
    ("max_points", "Estimate at most … points"),
    ("not_blocked", "Not blocked by an open item"),
    ("has_epic", "Belongs to an epic"),
    ("manual", "Ticked by hand: …"),
];

struct CheckRow {
    id: i64,
    text: String,
    manual: bool,
}

#[derive(Template)]
#[template(path = "readiness_definitions.html")]
struct DefinitionsPage {
    l: Layout,
    key: String,
    dor: Vec<CheckRow>,
    dod: Vec<CheckRow>,
    dor_version: i64,
    dod_version: i64,
    can_edit: bool,
    /// Whether changes become proposals.
    proposes: bool,
    rules: Vec<(&'static str, &'static str)>,
}

/// GET /products/{key}/settings/definitions
async fn definitions(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let (dor, dor_rec) = st.app.setting::<DefinitionOfReady>(a.product.id).await?;
        let (dod, dod_rec) = st.app.setting::<DefinitionOfDone>(a.product.id).await?;
        let l = Layout::new(&st, &s, "Definitions of Ready and Done", "settings", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .crumb(format!("/products/{}/settings", a.product.key), "Settings")
            .flash(&f);
        render(&DefinitionsPage {
            l,
            key: a.product.key.to_string(),
            dor: dor
                .checks
                .iter()
                .map(|c| CheckRow {
                    id: c.id,
                    text: c.rule.describe(),
                    manual: matches!(c.rule, ReadyRule::Manual { .. }),
                })
                .collect(),
            dod: dod
                .checks
                .iter()
                .map(|c| CheckRow { id: c.id, text: c.text.clone(), manual: true })
                .collect(),
            dor_version: dor_rec.map_or(0, |r| r.version),
            dod_version: dod_rec.map_or(0, |r| r.version),
            can_edit: st.app.decide(&a, Action::EditItem) != Decision::Deny,
            proposes: st.app.decide(&a, Action::EditItem) == Decision::Propose,
            rules: RULES.to_vec(),
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// The outcome without its value.
fn unit<T>(o: Outcome<T>) -> Outcome<()> {
    match o {
        Outcome::Done(_) => Outcome::Done(()),
        Outcome::Proposed(p) => Outcome::Proposed(p),
    }
}

/// Moves the entry with `id` one place up or down, or removes it.
fn rearrange<T>(list: &mut Vec<T>, pos: usize, op: &str) {
    match op {
        "up" if pos > 0 => list.swap(pos, pos - 1),
        "down" if pos + 1 < list.len() => list.swap(pos, pos + 1),
        "remove" => {
            list.remove(pos);
        }
        _ => {}
    }
}

/// POST /products/{key}/settings/definitions: `which` (dor, dod), `op` (add, up, down, remove),
/// `id`, and for add `rule`, `points`, `text`; `version` guards against a concurrent change.
async fn definitions_update(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/settings/definitions", a.product.key);
        let version = form.version()?;
        let op = form.get("op");
        let id = form.get("id").parse::<i64>().unwrap_or(0);
        let res = if form.get("which") == "dod" {
            let (mut d, _) = st.app.setting::<DefinitionOfDone>(a.product.id).await?;
            if op == "add" {
                d.checks.push(DoneCheck { id: 0, text: form.get("text").to_string() });
            } else if let Some(pos) = d.checks.iter().position(|c| c.id == id) {
                rearrange(&mut d.checks, pos, op);
            }
            match DefinitionOfDone::parse("text", d.checks) {
                Ok(d) => st.app.save_setting(&a, d, version, None).await.map(unit),
                Err(e) => Err(e.into()),
            }
        } else {
            let (d, _) = st.app.setting::<DefinitionOfReady>(a.product.id).await?;
            match changed_dor(d, &form, op, id) {
                Ok(d) => st.app.save_setting(&a, d, version, None).await.map(unit),
                Err(e) => Err(e),
            }
        };
        match res {
            Ok(Outcome::Done(())) => Ok(redirect_with(&back, "notice", "Saved.")),
            Ok(Outcome::Proposed(p)) => Ok(redirect_with(&back, "notice", &proposed_notice(&st, &p))),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(AppError::StaleVersion { .. }) => Ok(redirect_with(
                &back,
                "error",
                "Someone changed the definitions meanwhile; here they are now.",
            )),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// The Definition of Ready after the form's `op` on check `id` (or the new check of `add`).
fn changed_dor(
    mut d: DefinitionOfReady,
    form: &FormData,
    op: &str,
    id: i64,
) -> Result<DefinitionOfReady, AppError> {
    if op == "add" {
        let rule = match form.get("rule") {
            "has_criteria" => ReadyRule::HasCriteria,
            "estimated" => ReadyRule::Estimated,
            "max_points" => ReadyRule::MaxPoints {
                points: form
                    .get("points")
                    .trim()
                    .replace(',', ".")
                    .parse::<f64>()
                    .map_err(|_| AppError::invalid("points", "must be a number"))?,
            },
            "not_blocked" => ReadyRule::NotBlocked,
            "has_epic" => ReadyRule::HasEpic,
            "manual" => ReadyRule::Manual { text: form.get("text").to_string() },
            _ => return Err(AppError::invalid("rule", "choose a kind of check")),
        };
        d.checks.push(ReadyCheck { id: 0, rule });
    } else if let Some(pos) = d.checks.iter().position(|c| c.id == id) {
        rearrange(&mut d.checks, pos, op);
    }
    DefinitionOfReady::parse("checks", d.checks).map_err(|e| {
        let f = if e.field.ends_with(".points") { "points" } else { "text" };
        AppError::invalid(f, e.message)
    })
}

/// The refinement view's query string.
#[derive(Debug, Default, Deserialize)]
struct RefinementQuery {
    #[serde(default)]
    not_ready: Option<String>,
}

struct RefRow {
    key: String,
    title: String,
    kind: &'static str,
    status: String,
    cat: &'static str,
    estimate: String,
    parent: Option<String>,
    failed: Vec<String>,
}

#[derive(Template)]
#[template(path = "readiness_refinement.html")]
struct RefinementPage {
    l: Layout,
    key: String,
    rows: Vec<RefRow>,
    not_ready_only: bool,
    ready: usize,
    total: usize,
    more: bool,
}

/// How many backlog items the refinement view judges.
const REFINE: u32 = 200;

/// GET /products/{key}/refinement: the backlog's stories, bugs and spikes in order, each with
/// the Definition-of-Ready checks it fails.
async fn refinement(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(q): Query<RefinementQuery>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let wf = st.app.workflow(&a).await?;
        let filter = keel_store::ItemFilter { open_only: true, ..Default::default() };
        let page = st.app.list_items(&a, &filter, None, REFINE).await?;
        let more = page.next_cursor.is_some();
        let items: Vec<Item> =
            page.items.into_iter().filter(|i| DefinitionOfReady::applies_to(i.kind)).collect();
        let failed = st.app.readiness(&a, &items).await?;
        let total = items.len();
        let ready = failed.iter().filter(|f| f.is_empty()).count();
        let not_ready_only = q.not_ready.as_deref().is_some_and(|v| !v.is_empty() && v != "0");
        let rows = items
            .into_iter()
            .zip(failed)
            .filter(|(_, f)| !not_ready_only || !f.is_empty())
            .map(|(i, f)| RefRow {
                status: wf.state(i.status_id).map_or_else(String::new, |s| s.name.clone()),
                cat: category_class(i.category),
                kind: i.kind.as_str(),
                estimate: i.estimate.map(|p| points(p.value())).unwrap_or_default(),
                parent: i.parent_key,
                key: i.key,
                title: i.title,
                failed: f,
            })
            .collect();
        let l = Layout::new(&st, &s, "Refinement", "refinement", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .flash(&f);
        render(&RefinementPage {
            l,
            key: a.product.key.to_string(),
            rows,
            not_ready_only,
            ready,
            total,
            more,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products/{key}/bulk: the backlog's bulk bar. `keys` (checked rows), and the fields to
/// set: `status`, `assignee` (`none` unassigns), `labels_add`, `labels_remove` (comma-separated),
/// `sprint` (`none`), `epic` (`none`); empty fields are left alone.
async fn bulk(State(st): State<AppState>, s: UiSession, Path(key): Path<String>, form: FormData) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = super::back_to(&form, &format!("/products/{}/backlog", a.product.key));
        let opt = |n: &str| form.opt(n).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        let list = |n: &str| -> Vec<String> {
            form.get(n).split(',').map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
        };
        let sprint = match opt("sprint").as_deref() {
            None => None,
            Some("none") => Some(None),
            Some(v) => match v.parse::<i64>() {
                Ok(n) => Some(Some(n)),
                Err(_) => return Ok(redirect_with(&back, "error", "Sprint: choose a sprint.")),
            },
        };
        let input = BulkInput {
            keys: form.all("keys").into_iter().map(str::to_string).collect(),
            status: opt("status"),
            assignee: opt("assignee").map(|v| if v == "none" { None } else { Some(v) }),
            labels_add: list("labels_add"),
            labels_remove: list("labels_remove"),
            sprint,
            epic: opt("epic").map(|v| if v == "none" { None } else { Some(v.to_uppercase()) }),
        };
        match st.app.bulk_edit(&a, &input).await {
            Ok(BulkOutcome::Done(items)) => {
                Ok(redirect_with(&back, "notice", &format!("Changed {} items.", items.len())))
            }
            Ok(BulkOutcome::Refused { items, .. }) => {
                let list: Vec<String> = items.iter().map(|(k, why)| format!("{k}: {why}")).collect();
                let msg = format!("Nothing was changed. {}", list.join("; "));
                Ok(redirect_with(&back, "error", &msg))
            }
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(AppError::Invalid(v)) if v.field == "keys" => {
                Ok(redirect_with(&back, "error", "Select at least one item with its check box."))
            }
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// A release as its rows and pages show it.
struct RelRow {
    id: i64,
    name: String,
    target: String,
    released: String,
    is_released: bool,
    p: ReleaseProgress,
    done_points: String,
    total_points: String,
    percent: u32,
}

fn rel_row(r: &Stored<Release>, items: &[Item]) -> RelRow {
    let p = ReleaseProgress::of(items);
    RelRow {
        id: r.id.0,
        name: r.data.name.clone(),
        target: r.data.target_date.map(|d| d.to_string()).unwrap_or_default(),
        released: r.data.released_at.map(date).unwrap_or_default(),
        is_released: r.state == ReleaseState::Released.as_str(),
        done_points: points(p.done_points),
        total_points: points(p.total_points),
        percent: p.percent(),
        p,
    }
}

#[derive(Template)]
#[template(path = "release_list.html")]
struct ReleasesPage {
    l: Layout,
    key: String,
    releases: Vec<RelRow>,
    can_edit: bool,
}

/// GET /products/{key}/releases
async fn releases(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let mut rows = Vec::new();
        for r in st.app.releases(&a).await? {
            let items = st.app.release_items(&a, r.id).await?;
            rows.push(rel_row(&r, &items));
        }
        // Planned ones first, by target date; then the released ones, newest first.
        rows.sort_by(|x, y| {
            x.is_released.cmp(&y.is_released).then_with(|| {
                if x.is_released {
                    y.released.cmp(&x.released)
                } else {
                    x.target.cmp(&y.target)
                }
            })
        });
        let l = Layout::new(&st, &s, "Releases", "releases", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .flash(&f);
        render(&ReleasesPage {
            l,
            key: a.product.key.to_string(),
            releases: rows,
            can_edit: st.app.decide(&a, Action::EditItem) == Decision::Allow,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products/{key}/releases: creates a release (`name`, `target_date`, `description`).
async fn release_create(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/releases", a.product.key);
        let input = ReleaseInput {
            name: Some(form.get("name").to_string()),
            description: Some(form.get("description").replace("\r\n", "\n")),
            target_date: Some(Some(form.get("target_date").to_string())),
        };
        match st.app.create_release(&a, &input).await {
            Ok(r) => Ok(redirect_with(&format!("/releases/{}", r.id.0), "notice", "Release created.")),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

struct ScopeRow {
    key: String,
    title: String,
    kind: &'static str,
    status: String,
    cat: &'static str,
    estimate: String,
}

fn scope_row(i: &Item, wf: &Workflow) -> ScopeRow {
    ScopeRow {
        key: i.key.clone(),
        title: i.title.clone(),
        kind: i.kind.as_str(),
        status: wf.state(i.status_id).map_or_else(String::new, |s| s.name.clone()),
        cat: category_class(i.category),
        estimate: i.estimate.map(|p| points(p.value())).unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "release_page.html")]
struct ReleasePage {
    l: Layout,
    comments_panel: String,
    r: RelRow,
    description: String,
    version: i64,
    done: Vec<ScopeRow>,
    open: Vec<ScopeRow>,
    notes: String,
    others: Vec<(i64, String)>,
    can_edit: bool,
    /// `allow` or `propose` for the go / no-go; empty when the user may not.
    ship: &'static str,
    /// The go-to-market checklist and decision log.
    launch: super::launch::LaunchSection,
    /// When the open items will be done, from the product's throughput.
    forecast: Option<super::forecast::View>,
    product_key: String,
}

/// GET /releases/{id}
async fn release_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let (a, rel) = st.app.release_access(&s.user, id).await?;
        let wf = st.app.workflow(&a).await?;
        let items = st.app.release_items(&a, rel.id).await?;
        let row = rel_row(&rel, &items);
        let (done, open): (Vec<&Item>, Vec<&Item>) = items.iter().partition(|i| i.category == Category::Done);
        let others = st
            .app
            .releases(&a)
            .await?
            .into_iter()
            .filter(|o| o.id != rel.id && o.state != ReleaseState::Released.as_str())
            .map(|o| (o.id.0, o.data.name))
            .collect();
        let l = Layout::new(&st, &s, format!("Release {}", rel.data.name), "releases", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .crumb(format!("/products/{}/releases", a.product.key), "Releases")
            .flash(&f);
        let description = rel.data.description.clone();
        let version = rel.version;
        let launch = super::launch::launch_section(&st, &a, &rel).await?;
        let forecast = if row.is_released {
            None
        } else {
            super::forecast::release_panel(&st, &a, rel.id.0, &format!("release {}", rel.data.name)).await?
        };
        let product_key = a.product.key.to_string();
        let target = st
            .app
            .comment_target(&s.user, keel_domain::comment::Subject::Release, &rel.id.0.to_string())
            .await?;
        let comments_panel = super::comments::thread(&st, &s, &target, &rel.id.0.to_string()).await?;
        let notes = st.app.release_notes(&a, rel).await?.markdown;
        render(&ReleasePage {
            comments_panel,
            forecast,
            product_key,
            l,
            r: row,
            description,
            version,
            done: done.into_iter().map(|i| scope_row(i, &wf)).collect(),
            open: open.into_iter().map(|i| scope_row(i, &wf)).collect(),
            notes,
            others,
            can_edit: st.app.decide(&a, Action::EditItem) == Decision::Allow,
            ship: match st.app.decide(&a, Action::ReleaseGoNoGo) {
                Decision::Allow => "allow",
                Decision::Propose => "propose",
                Decision::Deny => "",
            },
            launch,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /releases/{id}: `op` = `edit` (name, target_date, description), `release` (open_items:
/// a release id, `backlog` or `keep`) or `delete`; `version` guards against concurrent changes.
async fn release_update(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (a, rel) = st.app.release_access(&s.user, id).await?;
        let back = format!("/releases/{id}");
        let version = form.version()?;
        let res: Result<(String, String), AppError> = match form.get("op") {
            "edit" => {
                let input = ReleaseInput {
                    name: Some(form.get("name").to_string()),
                    description: Some(form.get("description").replace("\r\n", "\n")),
                    target_date: Some(Some(form.get("target_date").to_string())),
                };
                st.app
                    .update_release(&a, &rel, &input, version)
                    .await
                    .map(|_| (back.clone(), "Saved.".into()))
            }
            "release" => {
                let choice = form
                    .opt("open_items")
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| OpenItems::parse("open_items", v).map_err(AppError::from))
                    .transpose();
                match choice {
                    Ok(choice) => match st.app.ship_release(&a, &rel, choice, version, None).await {
                        Ok(ShipOutcome::Released(r)) => {
                            Ok((back.clone(), format!("Released {}.", r.data.name)))
                        }
                        Ok(ShipOutcome::Proposed(p)) => Ok((back.clone(), proposed_notice(&st, &p))),
                        Ok(ShipOutcome::OpenItems(items)) => Err(AppError::invalid(
                            "open_items",
                            format!("{} items are still open: say what to do with them", items.len()),
                        )),
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                }
            }
            "delete" => st
                .app
                .delete_release(&a, &rel)
                .await
                .map(|()| (format!("/products/{}/releases", a.product.key), "Release deleted.".into())),
            _ => Err(AppError::invalid("op", "unknown action")),
        };
        match res {
            Ok((to, msg)) => Ok(redirect_with(&to, "notice", &msg)),
            Err(e @ AppError::Internal(_)) => Err(e.into()),
            Err(AppError::StaleVersion { .. }) => {
                Ok(redirect_with(&back, "error", "Someone changed this release meanwhile; here it is now."))
            }
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

async fn item_access(st: &AppState, s: &UiSession, key: &str) -> Result<ProductAccess, AppError> {
    let pk = super::product_of(key).ok_or(AppError::NotFound)?;
    st.app.access(&s.user, pk).await
}

/// Answers a form of the item page: back to the item with a message.
fn back_to_item<T>(st: &AppState, key: &str, r: Result<Outcome<T>, AppError>, done: &str) -> UiResult {
    let back = format!("/items/{key}");
    match r {
        Ok(Outcome::Done(_)) if done.is_empty() => Ok(see_other(&back)),
        Ok(Outcome::Done(_)) => Ok(redirect_with(&back, "notice", done)),
        Ok(Outcome::Proposed(p)) => Ok(redirect_with(&back, "notice", &proposed_notice(st, &p))),
        Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
        Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
    }
}

/// POST /items/{key}/acceptance: `action` (ready, accept, reject) and `note`.
async fn acceptance(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = item_access(&st, &s, &key).await?;
        let res = match AcceptanceAction::parse("action", form.get("action")) {
            Ok(act) => st.app.acceptance(&a, &key, act, form.get("note"), None).await,
            Err(e) => Err(e),
        };
        let done = match form.get("action") {
            "accept" => "Accepted.",
            "reject" => "Rejected; the story is back with the team.",
            _ => "Marked ready for acceptance.",
        };
        back_to_item(&st, &key, res, done)
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /items/{key}/checks: ticks (`checked=1`) or unticks check `id` of `which` (dod, dor).
async fn toggle_check(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = item_access(&st, &s, &key).await?;
        let item = st.app.item(&a, &key).await?;
        let id = form.get("id").parse::<i64>().unwrap_or(0);
        let on = form.get("checked") == "1";
        let toggle = |list: &[i64]| -> Vec<i64> {
            let mut v: Vec<i64> = list.iter().copied().filter(|x| *x != id).collect();
            if on {
                v.push(id);
            }
            v
        };
        let version = form.version()?;
        let res = if form.get("which") == "dor" {
            st.app.set_checks(&a, &key, None, Some(&toggle(&item.dor)), version).await
        } else {
            st.app.set_checks(&a, &key, Some(&toggle(&item.dod)), None, version).await
        };
        back_to_item(&st, &key, res, "")
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /items/{key}/split: `titles`, one per line.
async fn split(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = item_access(&st, &s, &key).await?;
        let titles: Vec<String> = form.get("titles").lines().map(str::to_string).collect();
        let back = format!("/items/{key}");
        match st.app.split(&a, &key, &titles).await {
            Ok(outs) => {
                let made = outs.iter().filter(|o| matches!(o, Outcome::Done(_))).count();
                let proposed = outs.len() - made;
                let msg = match (made, proposed) {
                    (m, 0) => format!("Created {m} children."),
                    (0, p) => format!("Proposed {p} children for the Product Owner to accept."),
                    (m, p) => format!("Created {m} children; proposed {p}."),
                };
                Ok(redirect_with(&back, "notice", &msg))
            }
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}
