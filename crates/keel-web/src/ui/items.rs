//! The item page (fields, story, description, acceptance criteria, links, children, history,
//! pending proposals) and the edit form, with the small forms that change one thing at a time.

use super::form::FormData;
use super::view::{ago, category_class, date_time, points};
use super::{
    finish, message, proposed_notice, redirect_with, render, render_status, Flash, Layout, UiResult,
};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use keel_app::items::ItemInput;
use keel_app::{AppError, Outcome, ProductAccess};
use keel_domain::event::Event;
use keel_domain::item::{Item, ItemKind};
use keel_domain::readiness::{DefinitionOfDone, DefinitionOfReady, ReadyRule};
use keel_domain::rights::{Action, Decision};
use keel_domain::sprint::{Release, Sprint};
use keel_domain::workflow::{Category, Workflow};
use keel_domain::LinkId;
use serde_json::Value;
use std::collections::HashMap;

/// The access to the product of item `key` and the item.
async fn load(st: &AppState, s: &UiSession, key: &str) -> Result<(ProductAccess, Item), AppError> {
    let pk = super::product_of(key).ok_or(AppError::NotFound)?;
    let a = st.app.access(&s.user, pk).await?;
    let item = st.app.item(&a, key).await?;
    Ok((a, item))
}

struct Crit {
    id: i64,
    text: String,
    checked: bool,
}

struct Child {
    key: String,
    title: String,
    kind: &'static str,
    status: String,
    cat: &'static str,
}

struct LinkRow {
    id: i64,
    label: &'static str,
    key: String,
    title: String,
}

struct HistRow {
    who: String,
    what: String,
    old: String,
    new: String,
    when: String,
    when_full: String,
    proposal: Option<i64>,
}

struct Tick {
    id: i64,
    text: String,
    ticked: bool,
}

struct DorRow {
    id: i64,
    text: String,
    ok: bool,
    manual: bool,
}

struct PropRow {
    id: i64,
    summary: String,
    proposer: String,
    reason: String,
    when: String,
    may_decide: bool,
}

#[derive(Template)]
#[template(path = "item.html")]
struct ItemPage {
    l: Layout,
    /// The version shown (changes in place send it as `If-Match`).
    version: i64,
    /// The workflow's states: (name, current), for the in-place status control.
    states: Vec<(String, bool)>,
    comments_panel: String,
    pkey: String,
    key: String,
    title: String,
    kind: &'static str,
    status: String,
    cat: &'static str,
    estimate: String,
    assignee: String,
    parent: Option<String>,
    labels: Vec<String>,
    as_a: String,
    i_want: String,
    so_that: String,
    description_html: String,
    created: String,
    updated: String,
    criteria: Vec<Crit>,
    done_count: usize,
    children: Vec<Child>,
    links: Vec<LinkRow>,
    history: Vec<HistRow>,
    proposals: Vec<PropRow>,
    here: String,
    can_edit_criteria: bool,
    can_check: bool,
    can_link: bool,
    /// `none`, `ready`, `accepted` or `rejected`.
    acceptance: &'static str,
    acceptance_note: String,
    is_done: bool,
    /// Whether the Definitions of Ready and Done apply (stories, bugs, spikes).
    refinable: bool,
    dor: Vec<DorRow>,
    ready: bool,
    dod: Vec<Tick>,
    dod_done: usize,
    /// Unticked criteria and Definition-of-Done checks.
    blockers: Vec<String>,
    can_ready: bool,
    /// `allow` or `propose`; empty when the user may not accept.
    accept: &'static str,
    can_tick_dor: bool,
    sprint: Option<(i64, String)>,
    release: Option<(i64, String)>,
    /// What splitting makes (`stories`, `tasks`), if the item can be split and the user may.
    split_into: Option<&'static str>,
    /// The planning-poker round and the questions to the Product Owner (rendered HTML).
    poker_panel: String,
    /// The "Why" panel: the chain up to the vision (rendered HTML).
    why_panel: String,
}

fn names_of(members: &[(keel_domain::user::User, keel_domain::product::Roles)]) -> HashMap<i64, String> {
    members.iter().map(|(u, _)| (u.id.0, u.name.clone())).collect()
}

/// Cuts `s` to `n` characters with an ellipsis.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    } else {
        s.to_string()
    }
}

/// A history value as a person reads it.
fn show_value(field: &str, v: &Value, wf: &Workflow, names: &HashMap<i64, String>) -> String {
    match (field, v) {
        (_, Value::Null) => "—".to_string(),
        ("status", Value::Number(n)) => n
            .as_i64()
            .and_then(|id| wf.state(keel_domain::StateId(id)))
            .map_or_else(|| n.to_string(), |s| s.name.clone()),
        ("assignee", Value::Number(n)) => {
            n.as_i64().and_then(|id| names.get(&id)).cloned().unwrap_or_else(|| "a former member".to_string())
        }
        ("parent", Value::Number(_)) => "an item".to_string(),
        ("sprint", Value::Number(n)) => format!("sprint #{n}"),
        ("release", Value::Number(n)) => format!("release #{n}"),
        ("acceptance", Value::Object(o)) => {
            let state = match o.get("state").and_then(Value::as_str).unwrap_or("none") {
                "ready" => "ready for acceptance",
                "accepted" => "accepted",
                "rejected" => "rejected",
                _ => "not put forward",
            };
            match o.get("note").and_then(Value::as_str).filter(|n| !n.is_empty()) {
                Some(n) => format!("{state} (“{}”)", cut(n, 60)),
                None => state.to_string(),
            }
        }
        ("dod" | "dor", Value::Array(a)) => format!("{} ticked", a.len()),
        ("criteria", Value::Array(a)) => {
            let checked =
                a.iter().filter(|c| c.get("checked").and_then(Value::as_bool) == Some(true)).count();
            format!("{} criteria, {checked} checked", a.len())
        }
        ("story", Value::Object(o)) => {
            let part = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let s = [part("as_a"), part("i_want"), part("so_that")]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>();
            if s.is_empty() {
                "—".to_string()
            } else {
                cut(&s.join(" · "), 80)
            }
        }
        ("labels", Value::Array(a)) => {
            let l: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
            if l.is_empty() {
                "—".to_string()
            } else {
                l.join(", ")
            }
        }
        (_, Value::String(s)) if s.is_empty() => "—".to_string(),
        (_, Value::String(s)) => cut(s, 80),
        (_, Value::Number(n)) => n.as_f64().map_or_else(|| n.to_string(), points),
        (_, Value::Bool(b)) => if *b { "yes" } else { "no" }.to_string(),
        (_, other) => cut(&other.to_string(), 80),
    }
}

fn hist_row(e: &Event, wf: &Workflow, names: &HashMap<i64, String>) -> HistRow {
    let who = match e.actor_id {
        None => "Keel".to_string(),
        Some(id) => names.get(&id.0).cloned().unwrap_or_else(|| "a former member".to_string()),
    };
    let (what, old, new) = match e.field.as_str() {
        "created" => ("created the item".to_string(), String::new(), String::new()),
        "rank" => ("moved it in the backlog".to_string(), String::new(), String::new()),
        "deleted" => ("deleted the item".to_string(), String::new(), String::new()),
        f => {
            let label = match f {
                "dod" => "Definition of Done".to_string(),
                "dor" => "Definition of Ready (by hand)".to_string(),
                _ => super::view::field_label(f),
            };
            (label, show_value(f, &e.old, wf, names), show_value(f, &e.new, wf, names))
        }
    };
    HistRow {
        who,
        what,
        old,
        new,
        when: ago(e.at),
        when_full: date_time(e.at),
        proposal: e.proposal_id.map(|p| p.0),
    }
}

/// GET /items/{key}
pub(crate) async fn page(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let (a, item) = load(&st, &s, &key).await?;
        let wf = st.app.workflow(&a).await?;
        let members = st.app.members(&a).await?;
        let names = names_of(&members);
        let links = st.app.links(&a, &item).await?;
        let children = st.app.children(&a, &item).await?;
        let history = st.app.history(&item, None, 100).await?;
        let (pending, _) = st.app.proposals(&a, Some("pending"), Some(item.id), None, 50).await?;
        let mut proposals = Vec::with_capacity(pending.len());
        for p in pending {
            let may_decide = st.app.may_decide(&a, &p).await?;
            proposals.push(PropRow {
                id: p.id.0,
                summary: p.summary,
                proposer: names.get(&p.proposed_by.0).cloned().unwrap_or_else(|| "a former member".into()),
                reason: p.reason,
                when: ago(p.created_at),
                may_decide,
            });
        }
        let status = wf.state(item.status_id).map_or_else(String::new, |s| s.name.clone());
        let decide = |act| st.app.decide(&a, act) != Decision::Deny;
        let (dor_def, _) = st.app.setting::<DefinitionOfReady>(a.product.id).await?;
        let (dod_def, _) = st.app.setting::<DefinitionOfDone>(a.product.id).await?;
        let failed = st.app.readiness(&a, std::slice::from_ref(&item)).await?.pop().unwrap_or_default();
        let blockers = st.app.acceptance_blockers(&a, &item).await?;
        let sprint = match item.sprint_id {
            Some(id) => st.app.get_record::<Sprint>(id).await.ok().map(|r| (id.0, r.data.name)),
            None => None,
        };
        let release = match item.release_id {
            Some(id) => st.app.get_record::<Release>(id).await.ok().map(|r| (id.0, r.data.name)),
            None => None,
        };
        let split_into = match item.kind {
            ItemKind::Epic => Some("stories"),
            ItemKind::Story | ItemKind::Bug | ItemKind::Spike => Some("tasks"),
            ItemKind::Task => None,
        }
        .filter(|_| decide(Action::CreateItem));
        let accept = match st.app.decide(&a, Action::Accept) {
            Decision::Allow => "allow",
            Decision::Propose => "propose",
            Decision::Deny => "",
        };
        let l = Layout::new(&st, &s, item.key.clone(), "backlog", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .crumb(format!("/products/{}/backlog", a.product.key), "Backlog")
            .flash(&f);
        let poker_panel = super::poker::item_panel(&st, &s, &a, &item).await?;
        let why_panel = super::outcomes::why_panel(&st, &a, &item).await?;
        let target = st.app.item_target(a.clone(), &item);
        let comments_panel = super::comments::thread(&st, &s, &target, &item.key).await?;
        let page = ItemPage {
            version: item.version,
            states: wf.states.iter().map(|w| (w.name.clone(), w.id == item.status_id)).collect(),
            comments_panel,
            why_panel,
            poker_panel,
            l,
            pkey: a.product.key.to_string(),
            here: format!("/items/{}", item.key),
            title: item.title.clone(),
            kind: item.kind.as_str(),
            status,
            cat: category_class(item.category),
            estimate: item.estimate.map(|p| points(p.value())).unwrap_or_default(),
            assignee: item.assignee_id.and_then(|u| names.get(&u.0).cloned()).unwrap_or_default(),
            parent: item.parent_key.clone(),
            labels: item.labels.clone(),
            as_a: item.story.as_a.clone(),
            i_want: item.story.i_want.clone(),
            so_that: item.story.so_that.clone(),
            description_html: crate::markdown::render(&item.description),
            created: date_time(item.created_at),
            updated: ago(item.updated_at),
            done_count: item.criteria.iter().filter(|c| c.checked).count(),
            criteria: item
                .criteria
                .iter()
                .map(|c| Crit { id: c.id, text: c.text.clone(), checked: c.checked })
                .collect(),
            children: children
                .into_iter()
                .map(|c| Child {
                    status: wf.state(c.status_id).map_or_else(String::new, |s| s.name.clone()),
                    cat: category_class(c.category),
                    kind: c.kind.as_str(),
                    key: c.key,
                    title: c.title,
                })
                .collect(),
            links: links
                .into_iter()
                .map(|k| {
                    let outgoing = k.from_id == item.id;
                    LinkRow {
                        id: k.id.0,
                        label: if outgoing { k.kind.label() } else { k.kind.inverse_label() },
                        key: if outgoing { k.to_key } else { k.from_key },
                        title: k.other_title,
                    }
                })
                .collect(),
            history: history.iter().map(|e| hist_row(e, &wf, &names)).collect(),
            proposals,
            can_edit_criteria: decide(Action::EditCriteria),
            can_check: decide(Action::CheckCriterion),
            can_link: decide(Action::EditItem),
            acceptance: item.acceptance.state.as_str(),
            acceptance_note: item.acceptance.note.clone(),
            is_done: item.category == Category::Done,
            refinable: DefinitionOfReady::applies_to(item.kind),
            ready: failed.is_empty(),
            dor: dor_def
                .checks
                .iter()
                .map(|c| {
                    let text = c.rule.describe();
                    DorRow {
                        id: c.id,
                        ok: !failed.contains(&text),
                        manual: matches!(c.rule, ReadyRule::Manual { .. }),
                        text,
                    }
                })
                .collect(),
            dod_done: dod_def.checks.iter().filter(|c| item.dod.contains(&c.id)).count(),
            dod: dod_def
                .checks
                .iter()
                .map(|c| Tick { id: c.id, text: c.text.clone(), ticked: item.dod.contains(&c.id) })
                .collect(),
            blockers,
            can_ready: st.app.decide(&a, Action::Transition) == Decision::Allow,
            accept,
            can_tick_dor: decide(Action::EditItem),
            sprint,
            release,
            split_into,
            key: item.key,
        };
        render(&page)
    }
    .await;
    finish(&st, &s, r).await
}

/// The edit form's values, as strings: from the item, or as the user sent them.
struct Values {
    title: String,
    kind: String,
    status: String,
    estimate: String,
    assignee: String,
    parent: String,
    labels: String,
    as_a: String,
    i_want: String,
    so_that: String,
    description: String,
    reason: String,
    sprint: String,
    release: String,
}

impl Values {
    fn of(item: &Item, wf: &Workflow) -> Self {
        Values {
            title: item.title.clone(),
            kind: item.kind.as_str().to_string(),
            status: wf.state(item.status_id).map_or_else(String::new, |s| s.name.clone()),
            estimate: item.estimate.map(|p| points(p.value())).unwrap_or_default(),
            assignee: item.assignee_id.map(|u| u.0.to_string()).unwrap_or_default(),
            parent: item.parent_key.clone().unwrap_or_default(),
            labels: item.labels.join(", "),
            as_a: item.story.as_a.clone(),
            i_want: item.story.i_want.clone(),
            so_that: item.story.so_that.clone(),
            description: item.description.clone(),
            reason: String::new(),
            sprint: item.sprint_id.map(|s| s.0.to_string()).unwrap_or_default(),
            release: item.release_id.map(|r| r.0.to_string()).unwrap_or_default(),
        }
    }

    fn from_form(f: &FormData) -> Self {
        let g = |n: &str| f.get(n).to_string();
        Values {
            title: g("title"),
            kind: g("kind"),
            status: g("status"),
            estimate: g("estimate"),
            assignee: g("assignee"),
            parent: g("parent"),
            labels: g("labels"),
            as_a: g("as_a"),
            i_want: g("i_want"),
            so_that: g("so_that"),
            // Browsers send CRLF from a textarea; the stored text has LF.
            description: f.get("description").replace("\r\n", "\n"),
            reason: g("reason"),
            sprint: g("sprint"),
            release: g("release"),
        }
    }

    /// The input for the form's values; `item` is the item edited, whose sprint and release are
    /// only sent when they change (a closed sprint would refuse the whole save otherwise).
    fn input_for(&self, item: &Item) -> Result<ItemInput, AppError> {
        let mut input = self.input()?;
        let id = |s: &str, f: &str| -> Result<Option<i64>, AppError> {
            match s.trim() {
                "" => Ok(None),
                v => v.parse::<i64>().map(Some).map_err(|_| AppError::invalid(f, "choose one of the list")),
            }
        };
        let sprint = id(&self.sprint, "sprint")?;
        if sprint != item.sprint_id.map(|s| s.0) {
            input.sprint = Some(sprint);
        }
        let release = id(&self.release, "release")?;
        if release != item.release_id.map(|r| r.0) {
            input.release = Some(release);
        }
        Ok(input)
    }

    fn input(&self) -> Result<ItemInput, AppError> {
        let opt = |s: &str| if s.trim().is_empty() { None } else { Some(s.trim().to_string()) };
        let estimate = match self.estimate.trim() {
            "" => None,
            e => Some(
                e.replace(',', ".")
                    .parse::<f64>()
                    .map_err(|_| AppError::invalid("estimate", "must be a number"))?,
            ),
        };
        Ok(ItemInput {
            kind: Some(self.kind.clone()),
            title: Some(self.title.clone()),
            description: Some(self.description.clone()),
            as_a: Some(self.as_a.clone()),
            i_want: Some(self.i_want.clone()),
            so_that: Some(self.so_that.clone()),
            criteria: None,
            estimate: Some(estimate),
            labels: Some(
                self.labels.split(',').map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect(),
            ),
            assignee: Some(opt(&self.assignee)),
            status: Some(self.status.clone()),
            parent: Some(opt(&self.parent)),
            ..Default::default()
        })
    }
}

#[derive(Template)]
#[template(path = "edit.html")]
struct EditPage {
    l: Layout,
    key: String,
    version: i64,
    v: Values,
    kinds: Vec<&'static str>,
    statuses: Vec<(String, &'static str)>,
    people: Vec<(String, String)>,
    /// Fields the user may only propose changes to, for the hint above the form.
    proposes: bool,
    sprints: Vec<(String, String)>,
    releases: Vec<(String, String)>,
}

async fn edit_form(
    st: &AppState,
    s: &UiSession,
    a: &ProductAccess,
    item: &Item,
    values: Option<Values>,
    error: Option<String>,
    status: StatusCode,
) -> UiResult {
    let wf = st.app.workflow(a).await?;
    let members = st.app.members(a).await?;
    let mut people: Vec<(String, String)> =
        members.iter().map(|(u, _)| (u.id.0.to_string(), u.name.clone())).collect();
    people.sort_by(|x, y| x.1.cmp(&y.1));
    let mut l = Layout::new(st, s, "Edit", "backlog", Some(&a.product))
        .await
        .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
        .crumb(format!("/items/{}", item.key), item.key.clone());
    l.error = error;
    let proposes = [Action::EditItem, Action::EditCriteria, Action::Accept]
        .iter()
        .any(|act| st.app.decide(a, *act) == Decision::Propose);
    let page = EditPage {
        l,
        key: item.key.clone(),
        version: item.version,
        v: values.unwrap_or_else(|| Values::of(item, &wf)),
        kinds: ItemKind::ALL.iter().map(|k| k.as_str()).collect(),
        statuses: wf.states.iter().map(|s| (s.name.clone(), category_class(s.category))).collect(),
        people,
        proposes,
        sprints: st
            .app
            .sprint_choices(a, item.sprint_id)
            .await?
            .into_iter()
            .map(|(id, n)| (id.to_string(), n))
            .collect(),
        releases: st
            .app
            .release_choices(a, item.release_id)
            .await?
            .into_iter()
            .map(|(id, n)| (id.to_string(), n))
            .collect(),
    };
    render_status(status, &page)
}

/// GET /items/{key}/edit
pub(crate) async fn edit_page(State(st): State<AppState>, s: UiSession, Path(key): Path<String>) -> Response {
    let r = async {
        let (a, item) = load(&st, &s, &key).await?;
        edit_form(&st, &s, &a, &item, None, None, StatusCode::OK).await
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /items/{key}/edit: every field at once, refused when `version` is stale.
pub(crate) async fn edit_submit(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r = async {
        s.check_csrf(form.get("csrf"))?;
        let (a, item) = load(&st, &s, &key).await?;
        let values = Values::from_form(&form);
        let version = form.version()?;
        let reason = Some(values.reason.as_str()).filter(|r| !r.trim().is_empty());
        let result = match values.input_for(&item) {
            Ok(input) => st.app.update_item(&a, &key, &input, version, reason).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(Outcome::Done(i)) => Ok(redirect_with(&format!("/items/{}", i.key), "notice", "Saved.")),
            Ok(Outcome::Proposed(p)) => {
                Ok(redirect_with(&format!("/items/{}", item.key), "notice", &proposed_notice(&st, &p)))
            }
            Err(e @ AppError::StaleVersion { .. }) => {
                // Show the latest version; what the user typed would overwrite someone's work.
                let fresh = st.app.item(&a, &key).await?;
                edit_form(&st, &s, &a, &fresh, None, Some(message(&e)), StatusCode::CONFLICT).await
            }
            Err(e @ (AppError::Invalid(_) | AppError::Forbidden { .. } | AppError::Conflict(_))) => {
                let status = match e {
                    AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
                    AppError::Conflict(_) => StatusCode::CONFLICT,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                edit_form(&st, &s, &a, &item, Some(values), Some(message(&e)), status).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// Answers a one-field change of the item page: back to the item with a message.
fn outcome_back<T>(st: &AppState, key: &str, r: Result<Outcome<T>, AppError>, done: &str) -> UiResult {
    let back = format!("/items/{key}");
    match r {
        Ok(Outcome::Done(_)) if done.is_empty() => Ok(super::see_other(&back)),
        Ok(Outcome::Done(_)) => Ok(redirect_with(&back, "notice", done)),
        Ok(Outcome::Proposed(p)) => Ok(redirect_with(&back, "notice", &proposed_notice(st, &p))),
        Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
        Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
    }
}

/// POST /items/{key}/criteria: adds a criterion.
pub(crate) async fn add_criterion(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r = async {
        s.check_csrf(form.get("csrf"))?;
        let (a, item) = load(&st, &s, &key).await?;
        let res = st.app.add_criterion(&a, &item.key, form.get("text"), None).await;
        outcome_back(&st, &item.key, res, "")
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /items/{key}/criteria/{id}: sets `checked` (a checkbox: sent as `1` when ticked).
pub(crate) async fn toggle_criterion(
    State(st): State<AppState>,
    s: UiSession,
    Path((key, id)): Path<(String, i64)>,
    form: FormData,
) -> Response {
    let r = async {
        s.check_csrf(form.get("csrf"))?;
        let (a, item) = load(&st, &s, &key).await?;
        let checked = form.get("checked") == "1";
        // The version the page was drawn with: a tick on a page someone changed since is refused
        // and the page shown again as it now is.
        let version = form.version()?;
        let res = st.app.update_criterion(&a, &item.key, id, None, Some(checked), version, None).await;
        outcome_back(&st, &item.key, res, "")
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /items/{key}/links: links this item to `to` with `kind`.
pub(crate) async fn add_link(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r = async {
        s.check_csrf(form.get("csrf"))?;
        let (a, item) = load(&st, &s, &key).await?;
        let to = form.get("to").trim().to_uppercase();
        let res = st.app.add_link(&a, &item.key, form.get("kind"), &to, None).await;
        outcome_back(&st, &item.key, res, "Link added.")
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /items/{key}/links/{id}/remove
pub(crate) async fn remove_link(
    State(st): State<AppState>,
    s: UiSession,
    Path((key, id)): Path<(String, i64)>,
    form: FormData,
) -> Response {
    let r = async {
        s.check_csrf(form.get("csrf"))?;
        let (a, item) = load(&st, &s, &key).await?;
        let res = st.app.remove_link(&a, &item.key, LinkId(id), None).await;
        outcome_back(&st, &item.key, res, "Link removed.")
    }
    .await;
    finish(&st, &s, r).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cut_and_show() {
        assert_eq!(cut("abcdef", 3), "abc…");
        let wf = Workflow { states: vec![] };
        let names = HashMap::new();
        assert_eq!(show_value("title", &Value::String("x".into()), &wf, &names), "x");
        assert_eq!(show_value("estimate", &serde_json::json!(3.0), &wf, &names), "3");
        assert_eq!(show_value("labels", &serde_json::json!(["a", "b"]), &wf, &names), "a, b");
        assert_eq!(show_value("assignee", &Value::Null, &wf, &names), "—");
        let acc = serde_json::json!({"state": "rejected", "note": "No refund mail"});
        assert_eq!(show_value("acceptance", &acc, &wf, &names), "rejected (“No refund mail”)");
        assert_eq!(show_value("dod", &serde_json::json!([1, 2]), &wf, &names), "2 ticked");
    }
}
