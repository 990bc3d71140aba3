//! JSON API: outcomes of initiatives and goals, the chain from an item up to the vision, and
//! the alignment report; each also as CSV (`?format=csv`).

use super::item_access;
use super::roadmap::public_only;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::extract::{ApiUser, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use keel_api::outcomes::{
    AlignmentOut, AlignmentSumsOut, ChainOut, ComparisonOut, DeliveryEventOut, EpicProgressOut,
    GoalOutcomesOut, GoalRefOut, InitiativeOutcomesOut, InitiativeRefOut, ItemRefOut, KeyResultProgressOut,
    KeyResultSeriesOut, KpiSeriesOut, PointOut, ServingInitiativeOut, WindowOut,
};
use keel_api::Problem;
use keel_app::outcomes::{
    AlignmentReport, Chain, EpicProgress, GoalOutcomes, InitiativeOutcomes, ReleaseComparison,
};
use keel_app::records::Stored;
use keel_app::vision::GoalProgress;
use keel_domain::item::Item;
use keel_domain::kpi::Kpi;
use keel_domain::outcomes::{check_window, AlignmentSums, Window, WINDOW_DAYS_DEFAULT};
use keel_domain::RecordId;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/initiatives/{id}/outcomes", get(initiative_outcomes))
        .route("/api/v1/goals/{id}/outcomes", get(goal_outcomes))
        .route("/api/v1/items/{key}/chain", get(item_chain))
        .route("/api/v1/products/{product}/alignment", get(product_alignment))
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(initiative_outcomes, goal_outcomes, item_chain, product_alignment),
    tags((name = "outcomes", description = "Did the work move the needle: KPIs around delivery, what serves a goal, why an item is built, unaligned work"))
)]
pub struct Doc;

/// What the before/after figures are.
pub const METHOD: &str = "before/after comparison of the KPI's mean measurement in a window before and after each release shipped; not a claim of causation";
/// The note of a comparison one side of which has no measurements.
pub const NOT_ENOUGH: &str = "not enough measurements";

/// `?format=` of the outcome reports.
fn csv_wanted(format: Option<&str>) -> ApiResult<bool> {
    match format.unwrap_or("json") {
        "json" => Ok(false),
        "csv" => Ok(true),
        _ => Err(ApiError::invalid("format", "must be json or csv")),
    }
}

pub use keel_api::metrics::csv_field;

fn csv_row(fields: &[String]) -> String {
    let mut line = fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
    line.push('\n');
    line
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn csv_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response()
}

fn parse_id(field: &str, v: Option<&str>) -> ApiResult<Option<RecordId>> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(|n| Some(RecordId(n)))
            .ok_or_else(|| ApiError::invalid(field, "must be a positive whole number (an id)")),
    }
}

/// The window asked for (`?window_days=`, default 28).
pub fn window_of(v: Option<&str>) -> ApiResult<i32> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(WINDOW_DAYS_DEFAULT),
        Some(s) => {
            let n: i64 = s.parse().map_err(|_| {
                ApiError::invalid("window_days", "must be a whole number of days from 1 to 366")
            })?;
            Ok(check_window("window_days", n).map_err(keel_app::AppError::from)?)
        }
    }
}

fn item_ref(i: &Item) -> ItemRefOut {
    ItemRefOut {
        key: i.key.clone(),
        kind: i.kind.as_str().to_string(),
        title: i.title.clone(),
        category: i.category.as_str().to_string(),
        points: i.estimate.map(|p| p.value()),
    }
}

fn goal_ref(g: &GoalProgress) -> GoalRefOut {
    GoalRefOut { id: g.goal.id.0, title: g.goal.data.title.clone(), progress: g.progress }
}

fn epic_out(e: &EpicProgress) -> EpicProgressOut {
    EpicProgressOut {
        epic: item_ref(&e.epic),
        progress: e.progress.into(),
        items: e.children.iter().map(item_ref).collect(),
    }
}

fn kpi_series(k: &Stored<Kpi>) -> KpiSeriesOut {
    KpiSeriesOut {
        id: k.id.0,
        name: k.data.name.clone(),
        unit: k.data.unit.as_str().to_string(),
        direction: k.data.direction.as_str().to_string(),
        baseline: k.data.baseline,
        target: k.data.target,
        progress: k.data.progress(),
        measurements: k
            .data
            .measurements
            .iter()
            .map(|m| PointOut { date: m.date.to_string(), value: m.value })
            .collect(),
    }
}

fn window_out(w: &Window) -> WindowOut {
    WindowOut { from: w.from.to_string(), to: w.to.to_string(), count: w.count, mean: w.mean }
}

/// The note of a comparison.
pub fn comparison_note(c: &ReleaseComparison) -> &'static str {
    if c.windows.comparable() {
        "before/after comparison, not causation"
    } else {
        NOT_ENOUGH
    }
}

fn comparison_out(c: &ReleaseComparison) -> ComparisonOut {
    ComparisonOut {
        release_id: c.release_id.0,
        release: c.release.clone(),
        date: c.date.to_string(),
        before: window_out(&c.windows.before),
        after: window_out(&c.windows.after),
        change: c.windows.change,
        note: comparison_note(c).to_string(),
    }
}

/// The wire form of an initiative's outcomes.
pub fn initiative_outcomes_out(o: &InitiativeOutcomes) -> InitiativeOutcomesOut {
    InitiativeOutcomesOut {
        id: o.initiative.id.0,
        title: o.initiative.data.title.clone(),
        status: o.status.as_str().to_string(),
        window_days: o.window_days,
        method: METHOD.to_string(),
        goals: o.goals.iter().map(goal_ref).collect(),
        key_results: o
            .series
            .iter()
            .map(|s| KeyResultSeriesOut {
                goal_id: s.goal_id.0,
                goal: s.goal.clone(),
                key_result_id: s.key_result_id,
                key_result: s.key_result.clone(),
                kpi: s.kpi.as_ref().map(kpi_series),
                comparisons: s.comparisons.iter().map(comparison_out).collect(),
            })
            .collect(),
        events: o
            .events
            .iter()
            .map(|e| DeliveryEventOut {
                kind: e.kind.as_str().to_string(),
                at: keel_api::rfc3339(e.at),
                date: e.date.to_string(),
                label: e.label.clone(),
                id: e.id,
            })
            .collect(),
        epics: o.epics.iter().map(epic_out).collect(),
        progress: o.progress.into(),
    }
}

/// The CSV of an initiative's outcomes: one row per key result and release compared.
pub fn initiative_outcomes_csv(o: &InitiativeOutcomes) -> String {
    let mut out = csv_row(
        &[
            "goal",
            "key_result",
            "kpi",
            "release",
            "shipped",
            "window_days",
            "before_from",
            "before_to",
            "before_count",
            "before_mean",
            "after_from",
            "after_to",
            "after_count",
            "after_mean",
            "change",
            "note",
        ]
        .map(String::from),
    );
    for s in &o.series {
        let Some(k) = &s.kpi else { continue };
        for c in &s.comparisons {
            let (b, a) = (&c.windows.before, &c.windows.after);
            out.push_str(&csv_row(&[
                s.goal.clone(),
                s.key_result.clone(),
                k.data.name.clone(),
                c.release.clone(),
                c.date.to_string(),
                o.window_days.to_string(),
                b.from.to_string(),
                b.to.to_string(),
                b.count.to_string(),
                opt(b.mean),
                a.from.to_string(),
                a.to.to_string(),
                a.count.to_string(),
                opt(a.mean),
                opt(c.windows.change),
                comparison_note(c).to_string(),
            ]));
        }
    }
    out
}

/// Query of the initiative outcomes.
#[derive(Debug, Deserialize, IntoParams)]
pub struct InitiativeOutcomesQuery {
    /// Days compared on each side of a release, 1 to 366 (default 28).
    pub window_days: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// An initiative's outcomes: its goals' key results with their KPI series, its delivery events
/// (epics done, releases shipped) for the KPI timeline, each KPI's mean in `window_days` before
/// and after each release shipped (a before/after comparison, not causation; `note` says "not
/// enough measurements" when a side is empty), and its delivery progress. `?format=csv` gives
/// the comparisons as CSV.
#[utoipa::path(get, path = "/api/v1/initiatives/{id}/outcomes", tag = "outcomes",
    params(("id" = i64, Path, description = "Initiative id"), InitiativeOutcomesQuery),
    responses((status = 200, body = InitiativeOutcomesOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn initiative_outcomes(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    Query(q): Query<InitiativeOutcomesQuery>,
) -> ApiResult<Response> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    let window = window_of(q.window_days.as_deref())?;
    let csv = csv_wanted(q.format.as_deref())?;
    let (a, st) = s.app.initiative(&u.user, RecordId(id)).await?;
    if public_only(&a) && !st.data.plan.public {
        return Err(ApiError::not_found());
    }
    let o = s.app.initiative_outcomes(&a, st, window).await?;
    if csv {
        return Ok(csv_response(initiative_outcomes_csv(&o)));
    }
    Ok(Json(initiative_outcomes_out(&o)).into_response())
}

/// The wire form of a goal's outcomes.
pub fn goal_outcomes_out(o: &GoalOutcomes) -> GoalOutcomesOut {
    let g = &o.goal;
    GoalOutcomesOut {
        id: g.goal.id.0,
        title: g.goal.data.title.clone(),
        due: g.goal.data.due.map(|d| d.to_string()),
        progress: g.progress,
        key_results: g
            .goal
            .data
            .key_results
            .iter()
            .zip(&g.key_results)
            .map(|(kr, p)| KeyResultProgressOut {
                id: kr.id,
                title: kr.title.clone(),
                kpi_id: kr.kpi_id.map(|k| k.0),
                kpi: kr.kpi_id.and_then(|k| o.kpis.get(&k)).map(|k| k.data.name.clone()),
                progress: *p,
            })
            .collect(),
        initiatives: o
            .initiatives
            .iter()
            .map(|i| ServingInitiativeOut {
                id: i.initiative.id.0,
                title: i.initiative.data.title.clone(),
                status: i.status.as_str().to_string(),
                progress: i.progress.into(),
                epics: i.epics.iter().map(epic_out).collect(),
            })
            .collect(),
    }
}

/// The CSV of a goal's outcomes: one row per initiative and epic.
pub fn goal_outcomes_csv(o: &GoalOutcomes) -> String {
    let mut out = csv_row(
        &[
            "initiative",
            "status",
            "epic",
            "epic_title",
            "done_points",
            "total_points",
            "unestimated",
            "percent",
        ]
        .map(String::from),
    );
    for i in &o.initiatives {
        let p = i.progress;
        out.push_str(&csv_row(&[
            i.initiative.data.title.clone(),
            i.status.as_str().to_string(),
            String::new(),
            String::new(),
            p.done_points.to_string(),
            p.total_points.to_string(),
            p.unestimated.to_string(),
            p.percent().to_string(),
        ]));
        for e in &i.epics {
            let p = e.progress;
            out.push_str(&csv_row(&[
                i.initiative.data.title.clone(),
                i.status.as_str().to_string(),
                e.epic.key.clone(),
                e.epic.title.clone(),
                p.done_points.to_string(),
                p.total_points.to_string(),
                p.unestimated.to_string(),
                p.percent().to_string(),
            ]));
        }
    }
    out
}

/// `?format=`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct FormatQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// A goal's outcomes: its progress rolled up from its key results, and the initiatives serving
/// it with their epics, the epics' stories and delivery progress ("what is being done for this
/// goal"). `?format=csv` gives one row per initiative and epic.
#[utoipa::path(get, path = "/api/v1/goals/{id}/outcomes", tag = "outcomes",
    params(("id" = i64, Path, description = "Goal id"), FormatQuery),
    responses((status = 200, body = GoalOutcomesOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn goal_outcomes(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<String>,
    Query(q): Query<FormatQuery>,
) -> ApiResult<Response> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
    let csv = csv_wanted(q.format.as_deref())?;
    let (g, a) = s.app.goal_access(&u.user, RecordId(id)).await?;
    let mut o = s.app.goal_outcomes(&a, g).await?;
    if public_only(&a) {
        o.initiatives.retain(|i| i.initiative.data.plan.public);
    }
    if csv {
        return Ok(csv_response(goal_outcomes_csv(&o)));
    }
    Ok(Json(goal_outcomes_out(&o)).into_response())
}

/// The wire form of a chain.
pub fn chain_out(c: &Chain) -> ChainOut {
    ChainOut {
        item: item_ref(&c.item),
        parents: c.parents.iter().map(item_ref).collect(),
        epic: c.epic.as_ref().map(|e| e.key.clone()),
        initiatives: c
            .initiatives
            .iter()
            .map(|i| InitiativeRefOut {
                id: i.id.0,
                title: i.data.title.clone(),
                status: keel_app::roadmap::status_of(i).as_str().to_string(),
            })
            .collect(),
        goals: c.goals.iter().map(goal_ref).collect(),
        vision: c.vision.clone(),
        aligned: c.aligned(),
    }
}

/// Why an item is being built: the chain item → its parents → its epic's initiatives → their
/// goals → the product's vision. `aligned` is false when it traces to no goal.
#[utoipa::path(get, path = "/api/v1/items/{key}/chain", tag = "outcomes",
    params(("key" = String, Path, description = "Item key, e.g. SHOP-42")),
    responses((status = 200, body = ChainOut), (status = 404, body = Problem)))]
pub async fn item_chain(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<ChainOut>> {
    let a = item_access(&s.app, &u.user, &key).await?;
    let item = s.app.item(&a, &key).await?;
    let mut c = s.app.chain(&a, item).await?;
    if public_only(&a) {
        c.initiatives.retain(|i| i.data.plan.public);
    }
    Ok(Json(chain_out(&c)))
}

/// Query of the alignment report.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AlignmentQuery {
    /// Only the items in this team's active and planned sprints.
    pub team: Option<String>,
    /// Only the items in this sprint.
    pub sprint: Option<String>,
    /// `json` (default) or `csv` (one row per item).
    pub format: Option<String>,
}

fn sums_out(team_id: Option<RecordId>, team: String, s: &AlignmentSums) -> AlignmentSumsOut {
    AlignmentSumsOut {
        team_id: team_id.map(|t| t.0),
        team,
        items: s.items,
        points: s.points,
        unaligned_items: s.unaligned_items,
        unaligned_points: s.unaligned_points,
        unaligned_points_share: s.points_share(),
        unaligned_items_share: s.items_share(),
        unestimated: s.unestimated,
        unaligned: s.unaligned.clone(),
    }
}

/// The name of a team bucket of the report.
pub fn team_label(r: &AlignmentReport, t: Option<RecordId>) -> String {
    match t {
        Some(t) => r.teams.get(&t).cloned().unwrap_or_else(|| format!("Team {}", t.0)),
        None => "No sprint".to_string(),
    }
}

/// What the report counted.
pub fn scope_of(r: &AlignmentReport) -> String {
    match (r.sprint, r.team) {
        (Some(s), _) => format!("the items in sprint {}", s.0),
        (None, Some(t)) => {
            format!("the items in the active and planned sprints of {}", team_label(r, Some(t)))
        }
        (None, None) => {
            "the backlog (every item not done) and the work done in active sprints; epics not counted".into()
        }
    }
}

/// The wire form of the report.
pub fn alignment_out(r: &AlignmentReport) -> AlignmentOut {
    AlignmentOut {
        scope: scope_of(r),
        total: sums_out(None, "Product".into(), &r.alignment.total),
        teams: r.alignment.teams.iter().map(|(t, s)| sums_out(*t, team_label(r, *t), s)).collect(),
    }
}

/// The alignment report: the work that traces to no goal (no epic, an epic in no initiative,
/// or an initiative with no goal), in points, share of points and item counts, per team and
/// for the product, with the unaligned items' keys. `?team=` or `?sprint=` narrow it;
/// `?format=csv` lists every item counted.
#[utoipa::path(get, path = "/api/v1/products/{product}/alignment", tag = "outcomes",
    params(("product" = String, Path, description = "Product key"), AlignmentQuery),
    responses((status = 200, body = AlignmentOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn product_alignment(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    Query(q): Query<AlignmentQuery>,
) -> ApiResult<Response> {
    let team = parse_id("team", q.team.as_deref())?;
    let sprint = parse_id("sprint", q.sprint.as_deref())?;
    let csv = csv_wanted(q.format.as_deref())?;
    let a = s.app.access(&u.user, &key).await?;
    let r = s.app.alignment(&a, team, sprint).await?;
    if csv {
        return Ok(csv_response(alignment_csv(&r)));
    }
    Ok(Json(alignment_out(&r)).into_response())
}

/// The CSV of the report: one row per item counted.
pub fn alignment_csv(r: &AlignmentReport) -> String {
    let mut out = csv_row(&["key", "kind", "title", "team", "points", "aligned"].map(String::from));
    for (i, aligned, team) in &r.items {
        out.push_str(&csv_row(&[
            i.key.clone(),
            i.kind.as_str().to_string(),
            i.title.clone(),
            team_label(r, *team),
            opt(i.estimate.map(|p| p.value())),
            aligned.to_string(),
        ]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("-2.5"), "-2.5");
        assert_eq!(csv_row(&["x".into(), String::new(), "1".into()]), "x,,1\n");
    }

    #[test]
    fn windows_and_ids_are_checked() {
        assert_eq!(window_of(None).unwrap(), 28);
        assert_eq!(window_of(Some(" 7 ")).unwrap(), 7);
        assert!(window_of(Some("0")).is_err());
        assert!(window_of(Some("1.5")).is_err());
        assert_eq!(parse_id("team", Some("")).unwrap(), None);
        assert_eq!(parse_id("team", Some("12")).unwrap(), Some(RecordId(12)));
        assert!(parse_id("team", Some("0")).is_err());
        assert!(csv_wanted(Some("csv")).unwrap());
        assert!(csv_wanted(Some("xml")).is_err());
    }
}
