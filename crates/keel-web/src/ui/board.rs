//! Pages: boards (scrum and kanban), WIP limits, workflow editing.
//!
//! `/teams/{id}/board` shows a team's board; its mode, swimlanes and quick filters are links whose
//! state lives in the query string. Cards move by drag and drop or the keyboard (`board.js`,
//! through the JSON API, with a small dialog asking for a reason when the column is full), or
//! without JavaScript through the small form on each card. `/teams/{id}/board/settings` edits the
//! columns; `/products/{key}/workflow` edits the workflow's states.

use super::form::FormData;
use super::view::{initials, points, url_encode};
use super::{finish, message, proposed_notice, redirect_with, render, Flash, Layout, UiResult};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use keel_app::board::{Board, BoardQuery, ColumnInput, MoveInput, StateInput};
use keel_app::records::Stored;
use keel_app::{AppError, Outcome};
use keel_domain::board;
use keel_domain::event::ObjectKind;
use keel_domain::sprint::Team;
use keel_store::RecordFilter;
use serde::Deserialize;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/teams/{id}/board", get(page))
        .route("/teams/{id}/board/move", post(move_card))
        .route("/teams/{id}/board/settings", get(settings).post(settings_save))
        .route("/products/{key}/workflow", get(workflow_page).post(workflow_save))
}

/// The board's query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct BoardParams {
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    swimlanes: Option<String>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    label: Option<String>,
}

/// A link of the board's controls: (href, label, active).
type Link = (String, &'static str, bool);

struct ColView {
    name: String,
    states: String,
    wip: Option<u32>,
    count: u32,
    full: bool,
    over: bool,
}

struct CardView {
    key: String,
    title: String,
    kind: &'static str,
    status: String,
    version: i64,
    estimate: String,
    assignee: String,
    initials: String,
    blocked_by: String,
    epic: Option<(String, String)>,
    labels: Vec<String>,
}

struct CellView {
    col: usize,
    name: String,
    cards: Vec<CardView>,
}

struct LaneView {
    title: String,
    cells: Vec<CellView>,
}

#[derive(Template)]
#[template(path = "board_page.html")]
struct BoardPage {
    l: Layout,
    js: &'static str,
    team_id: i64,
    team_name: String,
    product: String,
    mode: &'static str,
    scope: String,
    label: String,
    columns: Vec<ColView>,
    lanes: Vec<LaneView>,
    lane_heads: bool,
    modes: Vec<Link>,
    lane_links: Vec<Link>,
    filters: Vec<Link>,
    here: String,
    can_configure: bool,
    total: usize,
    filtered: bool,
    hidden_query: Vec<(&'static str, String)>,
}

fn href(team: i64, mode: &str, lanes: &str, filter: &str, label: &str) -> String {
    let mut q = Vec::new();
    if mode != "scrum" {
        q.push(format!("mode={mode}"));
    }
    if lanes != "none" {
        q.push(format!("swimlanes={lanes}"));
    }
    if !filter.is_empty() {
        q.push(format!("filter={filter}"));
    }
    if !label.is_empty() {
        q.push(format!("label={}", url_encode(label)));
    }
    if q.is_empty() {
        format!("/teams/{team}/board")
    } else {
        format!("/teams/{team}/board?{}", q.join("&"))
    }
}

fn card_view(b: &Board, i: usize) -> CardView {
    let c = &b.cards[i];
    let assignee = c.assignee.clone().unwrap_or_default();
    CardView {
        key: c.item.key.clone(),
        title: c.item.title.clone(),
        kind: c.item.kind.as_str(),
        status: c.status.clone(),
        version: c.item.version,
        estimate: c.item.estimate.map(|p| points(p.value())).unwrap_or_default(),
        initials: initials(&assignee),
        assignee,
        blocked_by: c.blockers.join(", "),
        epic: c.epic.as_ref().map(|e| (e.1.clone(), e.2.clone())),
        labels: c.item.labels.clone(),
    }
}

/// GET /teams/{id}/board
pub(crate) async fn page(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    Query(q): Query<BoardParams>,
    Query(flash): Query<Flash>,
) -> Response {
    let r = async {
        let query = BoardQuery {
            mode: q.mode.clone(),
            swimlanes: q.swimlanes.clone(),
            filter: q.filter.clone(),
            label: q.label.clone(),
        };
        let b = st.app.board(&s.user, id, &query).await?;
        let mode = b.mode.as_str();
        let lanes_s = b.swimlanes.as_str();
        let filter = b.filter.map_or("", |f| f.as_str());
        let label = b.label.clone().unwrap_or_default();
        let l = Layout::new(&st, &s, format!("{} board", b.team.data.name), "board", Some(&b.access.product))
            .await
            .crumb(format!("/products/{}/backlog", b.access.product.key), b.access.product.name.clone())
            .flash(&flash);
        let columns = b
            .columns
            .iter()
            .map(|c| ColView {
                name: c.column.name.clone(),
                states: c.states.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", "),
                wip: c.column.wip,
                count: c.count,
                full: c.full(),
                over: c.over_limit(),
            })
            .collect();
        let lanes = b
            .lanes
            .iter()
            .map(|ln| LaneView {
                title: ln.title.clone(),
                cells: ln
                    .cells
                    .iter()
                    .enumerate()
                    .map(|(ci, cell)| CellView {
                        col: ci,
                        name: b.columns[ci].column.name.clone(),
                        cards: cell.iter().map(|i| card_view(&b, *i)).collect(),
                    })
                    .collect(),
            })
            .collect();
        let modes = [("scrum", "Sprint"), ("kanban", "Kanban")]
            .into_iter()
            .map(|(m, n)| (href(id, m, lanes_s, filter, &label), n, m == mode))
            .collect();
        let lane_links = [("none", "None"), ("assignee", "Assignee"), ("epic", "Epic")]
            .into_iter()
            .map(|(v, n)| (href(id, mode, v, filter, &label), n, v == lanes_s))
            .collect();
        let filters = [("", "All"), ("mine", "Mine"), ("blocked", "Blocked"), ("bugs", "Bugs")]
            .into_iter()
            .map(|(v, n)| (href(id, mode, lanes_s, v, &label), n, v == filter))
            .collect();
        let here = href(id, mode, lanes_s, filter, &label);
        let mut hidden_query = Vec::new();
        if mode != "scrum" {
            hidden_query.push(("mode", mode.to_string()));
        }
        if lanes_s != "none" {
            hidden_query.push(("swimlanes", lanes_s.to_string()));
        }
        if !filter.is_empty() {
            hidden_query.push(("filter", filter.to_string()));
        }
        render(&BoardPage {
            l,
            js: super::assets::board_js_url(),
            team_id: id,
            team_name: b.team.data.name.clone(),
            product: b.access.product.key.to_string(),
            mode,
            scope: b.scope.clone(),
            filtered: !filter.is_empty() || !label.is_empty(),
            label,
            columns,
            lane_heads: b.swimlanes != board::Swimlanes::None,
            lanes,
            modes,
            lane_links,
            filters,
            here,
            can_configure: st.app.may_edit_workflow(&b.access),
            total: b.cards.len(),
            hidden_query,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /teams/{id}/board/move: the no-script move form (`key`, `column`, `reason`).
pub(crate) async fn move_card(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let back = super::back_to(&form, &format!("/teams/{id}/board"));
        let m = MoveInput {
            key: form.get("key").to_string(),
            column: form.get("column").to_string(),
            before: None,
            reason: form.opt("reason").filter(|r| !r.trim().is_empty()).map(str::to_string),
            version: form.version()?,
        };
        match st.app.move_card(&s.user, id, &m).await {
            Ok(Outcome::Done(d)) => {
                let note = match d.breach {
                    Some(b) => format!(
                        "Moved {} to {}; the WIP limit breach was recorded: {}",
                        d.item.key, b.data.breach.column, b.data.breach.reason
                    ),
                    None => format!("Moved {} to {}.", d.item.key, m.column),
                };
                Ok(redirect_with(&back, "notice", &note))
            }
            Ok(Outcome::Proposed(p)) => Ok(redirect_with(&back, "notice", &proposed_notice(&st, &p))),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

struct SettingsRow {
    idx: usize,
    name: String,
    wip: String,
    states: Vec<(i64, String, bool)>,
}

#[derive(Template)]
#[template(path = "board_settings.html")]
struct SettingsPage {
    l: Layout,
    team_id: i64,
    team_name: String,
    product: String,
    version: i64,
    rows: Vec<SettingsRow>,
    configured: bool,
}

/// Blank rows offered under the existing columns.
const BLANK_ROWS: usize = 2;

/// GET /teams/{id}/board/settings
pub(crate) async fn settings(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
) -> Response {
    let r = async {
        let (t, a) = st.app.team_access(&s.user, keel_domain::RecordId(id)).await?;
        if !st.app.may_edit_workflow(&a) {
            return Err(st.app.forbidden(keel_domain::rights::Action::EditWorkflow).into());
        }
        let wf = st.app.workflow(&a).await?;
        let cols = board::columns(&t.data.board, &wf);
        let mut rows: Vec<SettingsRow> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| SettingsRow {
                idx: i,
                name: c.name.clone(),
                wip: c.wip.map(|w| w.to_string()).unwrap_or_default(),
                states: wf
                    .states
                    .iter()
                    .map(|s| (s.id.0, s.name.clone(), c.states.contains(&s.id)))
                    .collect(),
            })
            .collect();
        for k in 0..BLANK_ROWS {
            rows.push(SettingsRow {
                idx: cols.len() + k,
                name: String::new(),
                wip: String::new(),
                states: wf.states.iter().map(|s| (s.id.0, s.name.clone(), false)).collect(),
            });
        }
        let l = Layout::new(&st, &s, "Board settings", "board", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .crumb(format!("/teams/{id}/board"), format!("{} board", t.data.name))
            .flash(&flash);
        render(&SettingsPage {
            l,
            team_id: id,
            team_name: t.data.name.clone(),
            product: a.product.key.to_string(),
            version: t.version,
            rows,
            configured: !t.data.board.columns.is_empty(),
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /teams/{id}/board/settings: `name{i}`, `states{i}` (several), `wip{i}`; or `reset`.
pub(crate) async fn settings_save(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let back = format!("/teams/{id}/board/settings");
        let mut cols = Vec::new();
        if form.get("reset") != "1" {
            for i in 0..(board::COLUMNS_MAX + BLANK_ROWS) {
                let name = form.get(&format!("name{i}")).trim().to_string();
                let states: Vec<String> =
                    form.all(&format!("states{i}")).into_iter().map(str::to_string).collect();
                let wip = form.get(&format!("wip{i}")).trim();
                if name.is_empty() && states.is_empty() && wip.is_empty() {
                    continue;
                }
                let wip = if wip.is_empty() {
                    None
                } else {
                    match wip.parse::<i64>() {
                        Ok(w) => Some(w),
                        Err(_) => {
                            let e = AppError::invalid(
                                &format!("columns[{}].wip", cols.len()),
                                "must be a whole number",
                            );
                            return Ok(redirect_with(&back, "error", &message(&e)));
                        }
                    }
                };
                cols.push(ColumnInput { name, states, wip });
            }
        }
        let version = form.version()?;
        match st.app.set_board_config(&s.user, id, &cols, version).await {
            Ok(_) => Ok(redirect_with(&format!("/teams/{id}/board"), "notice", "Board layout saved.")),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

struct WfRow {
    idx: usize,
    id: String,
    name: String,
    category: &'static str,
    position: usize,
    items_hint: bool,
}

#[derive(Template)]
#[template(path = "workflow_edit.html")]
struct WorkflowPage {
    l: Layout,
    key: String,
    version: i64,
    rows: Vec<WfRow>,
    kept: Vec<(i64, String)>,
    categories: Vec<(&'static str, &'static str)>,
    teams: Vec<(i64, String)>,
    can_edit: bool,
}

/// GET /products/{key}/workflow
pub(crate) async fn workflow_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let wf = st.app.workflow(&a).await?;
        let teams: Vec<Stored<Team>> =
            st.app.list_records::<Team>(RecordFilter::of(ObjectKind::Team).product(a.product.id)).await?;
        let mut rows: Vec<WfRow> = wf
            .states
            .iter()
            .enumerate()
            .map(|(i, s)| WfRow {
                idx: i,
                id: s.id.0.to_string(),
                name: s.name.clone(),
                category: s.category.as_str(),
                position: i + 1,
                items_hint: true,
            })
            .collect();
        for k in 0..BLANK_ROWS {
            let n = wf.states.len() + k;
            rows.push(WfRow {
                idx: n,
                id: String::new(),
                name: String::new(),
                category: "in_progress",
                position: n + 1,
                items_hint: false,
            });
        }
        let l = Layout::new(&st, &s, "Workflow", "settings", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .flash(&flash);
        render(&WorkflowPage {
            l,
            key: a.product.key.to_string(),
            version: a.product.version,
            rows,
            kept: wf.states.iter().map(|s| (s.id.0, s.name.clone())).collect(),
            categories: vec![("todo", "To do"), ("in_progress", "In progress"), ("done", "Done")],
            teams: teams.into_iter().map(|t| (t.id.0, t.data.name)).collect(),
            can_edit: st.app.may_edit_workflow(&a),
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products/{key}/workflow: per row `id{i}`, `name{i}`, `cat{i}`, `pos{i}`, `remove{i}`,
/// `to{i}`; rows are ordered by `pos`.
pub(crate) async fn workflow_save(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/workflow", a.product.key);
        let mut rows: Vec<(f64, usize, StateInput)> = Vec::new();
        let mut remap = Vec::new();
        for i in 0..(board::STATES_MAX + BLANK_ROWS) {
            let id = form.get(&format!("id{i}")).trim().parse::<i64>().ok();
            let name = form.get(&format!("name{i}")).to_string();
            if id.is_none() && name.trim().is_empty() {
                continue;
            }
            if let (Some(id), "1") = (id, form.get(&format!("remove{i}"))) {
                remap.push((id.to_string(), form.get(&format!("to{i}")).to_string()));
                continue;
            }
            let pos = form.get(&format!("pos{i}")).trim().parse::<f64>().unwrap_or(i as f64 + 1.0);
            let category = form.get(&format!("cat{i}")).to_string();
            rows.push((pos, i, StateInput { id, name, category }));
        }
        rows.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        let states: Vec<StateInput> = rows.into_iter().map(|r| r.2).collect();
        let version = form.version()?;
        match st.app.replace_workflow(&a, &states, &remap, version).await {
            Ok(_) => Ok(redirect_with(&back, "notice", "Workflow saved.")),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

#[cfg(test)]
mod tests {
    use super::href;

    #[test]
    fn links_keep_only_what_differs_from_the_defaults() {
        assert_eq!(href(3, "scrum", "none", "", ""), "/teams/3/board");
        assert_eq!(
            href(3, "kanban", "epic", "mine", "ux & ui"),
            "/teams/3/board?mode=kanban&swimlanes=epic&filter=mine&label=ux%20%26%20ui"
        );
    }
}
