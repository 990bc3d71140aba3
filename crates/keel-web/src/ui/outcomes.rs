//! Pages: an initiative's outcomes (its KPIs with delivery events on the timeline and the
//! before/after table), a goal's page ("what is being done for this goal"), the alignment
//! report, and the "Why" panel of the item page.

use super::vision::{chart_in, num, Chart, Frame};
use super::{finish, render, Flash, Layout};
use crate::api::outcomes::{comparison_note, scope_of, team_label, window_of};
use crate::api::roadmap::public_only;
use crate::extract::UiSession;
use crate::markdown;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use keel_app::outcomes::{DeliveryKind, EpicProgress};
use keel_app::{AppError, ProductAccess};
use keel_domain::item::Item;
use keel_domain::pm::Progress;
use keel_domain::RecordId;
use serde::Deserialize;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/initiatives/{id}/outcomes", get(initiative_page))
        .route("/goals/{id}", get(goal_page))
        .route("/products/{key}/alignment", get(alignment_page))
}

/// Delivery progress for display.
struct ProgressView {
    done: String,
    total: String,
    percent: u8,
    unestimated: u32,
}

fn progress_view(p: Progress) -> ProgressView {
    ProgressView {
        done: num(p.done_points),
        total: num(p.total_points),
        percent: p.percent(),
        unestimated: p.unestimated,
    }
}

/// An item in lists.
struct ItemRow {
    key: String,
    kind: &'static str,
    title: String,
    cat: &'static str,
    /// The category as read.
    state: &'static str,
    points: String,
}

fn item_row(i: &Item) -> ItemRow {
    ItemRow {
        key: i.key.clone(),
        kind: i.kind.as_str(),
        title: i.title.clone(),
        cat: super::view::category_class(i.category),
        state: match i.category {
            keel_domain::workflow::Category::Todo => "to do",
            keel_domain::workflow::Category::InProgress => "in progress",
            keel_domain::workflow::Category::Done => "done",
        },
        points: i.estimate.map(|p| num(p.value())).unwrap_or_default(),
    }
}

/// An epic with its progress and items.
struct EpicView {
    epic: ItemRow,
    progress: ProgressView,
    items: Vec<ItemRow>,
}

fn epic_view(e: &EpicProgress) -> EpicView {
    EpicView {
        epic: item_row(&e.epic),
        progress: progress_view(e.progress),
        items: e.children.iter().map(item_row).collect(),
    }
}

/// A row of the before/after table.
struct ComparisonRow {
    release: String,
    date: String,
    before: String,
    before_n: usize,
    before_span: String,
    after: String,
    after_n: usize,
    after_span: String,
    change: String,
    /// `better`, `worse` or empty.
    tone: &'static str,
    note: &'static str,
}

/// A key result's KPI, charted.
struct SeriesView {
    goal: String,
    key_result: String,
    kpi: Option<KpiView>,
    comparisons: Vec<ComparisonRow>,
}

struct KpiView {
    id: i64,
    name: String,
    unit: &'static str,
    baseline: String,
    target: String,
    chart: Chart,
    rows: Vec<(String, String)>,
}

/// A delivery event for the table.
struct EventRow {
    date: String,
    kind: &'static str,
    label: String,
    href: String,
}

#[derive(Template)]
#[template(path = "outcomes_initiative.html")]
struct InitiativePage {
    l: Layout,
    comments_panel: String,
    key: String,
    id: i64,
    title: String,
    status: &'static str,
    window_days: i32,
    goals: Vec<(i64, String, Option<i64>)>,
    series: Vec<SeriesView>,
    events: Vec<EventRow>,
    epics: Vec<EpicView>,
    progress: ProgressView,
}

/// `?window_days=`.
#[derive(Debug, Deserialize)]
struct WindowQuery {
    #[serde(default)]
    window_days: Option<String>,
}

/// An initiative's status as read.
fn status_label(s: keel_domain::pm::InitiativeStatus) -> &'static str {
    use keel_domain::pm::InitiativeStatus as S;
    match s {
        S::Proposed => "proposed",
        S::Planned => "planned",
        S::InProgress => "in progress",
        S::Done => "done",
        S::Dropped => "dropped",
    }
}

fn signed(v: f64) -> String {
    if v > 0.0 {
        format!("+{}", num(v))
    } else {
        num(v)
    }
}

/// The frame of the outcomes chart: room on the left for the values, below for the dates.
const FRAME: Frame = Frame { w: 720.0, h: 240.0, left: 44.0, right: 76.0, top: 30.0, bottom: 26.0 };

/// GET /initiatives/{id}/outcomes
async fn initiative_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    Query(q): Query<WindowQuery>,
) -> Response {
    let r = async {
        let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
        let window = window_of(q.window_days.as_deref())
            .map_err(|_| AppError::invalid("window_days", "must be a whole number of days from 1 to 366"))?;
        let (a, ini) = st.app.initiative(&s.user, RecordId(id)).await?;
        if public_only(&a) && !ini.data.plan.public {
            return Err(AppError::NotFound.into());
        }
        let o = st.app.initiative_outcomes(&a, ini, window).await?;
        let marks: Vec<(keel_domain::Date, String, &'static str)> = o
            .events
            .iter()
            .map(|e| match e.kind {
                DeliveryKind::ReleaseShipped => (e.date, format!("Release {}", e.label), "release"),
                DeliveryKind::EpicDone => (e.date, format!("{} done", e.label), "epic"),
            })
            .collect();
        let series = o
            .series
            .iter()
            .map(|sr| SeriesView {
                goal: sr.goal.clone(),
                key_result: sr.key_result.clone(),
                kpi: sr.kpi.as_ref().map(|k| KpiView {
                    id: k.id.0,
                    name: k.data.name.clone(),
                    unit: k.data.unit.as_str(),
                    baseline: num(k.data.baseline),
                    target: num(k.data.target),
                    chart: chart_in(&k.data, FRAME, &marks),
                    rows: k.data.measurements.iter().map(|m| (m.date.to_string(), num(m.value))).collect(),
                }),
                comparisons: sr
                    .comparisons
                    .iter()
                    .map(|c| {
                        let (b, af) = (&c.windows.before, &c.windows.after);
                        let up = sr
                            .kpi
                            .as_ref()
                            .is_some_and(|k| k.data.direction == keel_domain::kpi::Direction::Up);
                        let tone = match c.windows.change {
                            Some(v) if v != 0.0 && (v > 0.0) == up => "better",
                            Some(v) if v != 0.0 => "worse",
                            _ => "",
                        };
                        ComparisonRow {
                            release: c.release.clone(),
                            date: c.date.to_string(),
                            before: b.mean.map(num).unwrap_or_else(|| "—".into()),
                            before_n: b.count,
                            before_span: format!("{} – {}", b.from, b.to),
                            after: af.mean.map(num).unwrap_or_else(|| "—".into()),
                            after_n: af.count,
                            after_span: format!("{} – {}", af.from, af.to),
                            change: c.windows.change.map(signed).unwrap_or_default(),
                            tone,
                            note: comparison_note(c),
                        }
                    })
                    .collect(),
            })
            .collect();
        let events = o
            .events
            .iter()
            .map(|e| EventRow {
                date: e.date.to_string(),
                kind: match e.kind {
                    DeliveryKind::ReleaseShipped => "Release shipped",
                    DeliveryKind::EpicDone => "Epic done",
                },
                label: e.label.clone(),
                href: match e.kind {
                    DeliveryKind::ReleaseShipped => format!("/releases/{}", e.id),
                    DeliveryKind::EpicDone => format!("/items/{}", e.label),
                },
            })
            .collect();
        let title = o.initiative.data.title.clone();
        let l = Layout::new(&st, &s, format!("Outcomes: {title}"), "roadmap", Some(&a.product))
            .await
            .crumb(format!("/products/{}", a.product.key), a.product.name.clone())
            .crumb(format!("/products/{}/roadmap", a.product.key), "Roadmap");
        let target = st
            .app
            .comment_target(&s.user, keel_domain::comment::Subject::Initiative, &id.to_string())
            .await?;
        let comments_panel = super::comments::thread(&st, &s, &target, &id.to_string()).await?;
        render(&InitiativePage {
            comments_panel,
            l,
            key: a.product.key.to_string(),
            id: o.initiative.id.0,
            title,
            status: status_label(o.status),
            window_days: o.window_days,
            goals: o
                .goals
                .iter()
                .map(|g| (g.goal.id.0, g.goal.data.title.clone(), g.progress.map(|p| p.round() as i64)))
                .collect(),
            series,
            events,
            epics: o.epics.iter().map(epic_view).collect(),
            progress: progress_view(o.progress),
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// An initiative serving the goal.
struct ServingView {
    id: i64,
    title: String,
    status: &'static str,
    progress: ProgressView,
    epics: Vec<EpicView>,
}

/// A key result on the goal page.
struct KrRow {
    title: String,
    kpi: Option<(i64, String, String, String)>,
    progress: Option<i64>,
}

#[derive(Template)]
#[template(path = "outcomes_goal.html")]
struct GoalPage {
    l: Layout,
    key: String,
    id: i64,
    title: String,
    description_html: String,
    due: String,
    progress: Option<i64>,
    key_results: Vec<KrRow>,
    initiatives: Vec<ServingView>,
}

/// GET /goals/{id}
async fn goal_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
        let (g, a) = st.app.goal_access(&s.user, RecordId(id)).await?;
        let mut o = st.app.goal_outcomes(&a, g).await?;
        if public_only(&a) {
            o.initiatives.retain(|i| i.initiative.data.plan.public);
        }
        let goal = &o.goal.goal;
        let key_results = goal
            .data
            .key_results
            .iter()
            .zip(&o.goal.key_results)
            .map(|(kr, p)| KrRow {
                title: kr.title.clone(),
                kpi: kr.kpi_id.and_then(|k| o.kpis.get(&k)).map(|k| {
                    (
                        k.id.0,
                        k.data.name.clone(),
                        k.data.latest().map(|m| num(m.value)).unwrap_or_else(|| "—".into()),
                        num(k.data.target),
                    )
                }),
                progress: p.map(|p| p.round() as i64),
            })
            .collect();
        let l = Layout::new(&st, &s, goal.data.title.clone(), "goals", Some(&a.product))
            .await
            .crumb(format!("/products/{}", a.product.key), a.product.name.clone())
            .crumb(format!("/products/{}/goals", a.product.key), "Goals")
            .flash(&f);
        render(&GoalPage {
            l,
            key: a.product.key.to_string(),
            id: goal.id.0,
            title: goal.data.title.clone(),
            description_html: markdown::render(&goal.data.description),
            due: goal.data.due.map(|d| d.to_string()).unwrap_or_default(),
            progress: o.goal.progress.map(|p| p.round() as i64),
            key_results,
            initiatives: o
                .initiatives
                .iter()
                .map(|i| ServingView {
                    id: i.initiative.id.0,
                    title: i.initiative.data.title.clone(),
                    status: status_label(i.status),
                    progress: progress_view(i.progress),
                    epics: i.epics.iter().map(epic_view).collect(),
                })
                .collect(),
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// Alignment sums for display.
struct SumsView {
    team: String,
    team_id: Option<i64>,
    items: usize,
    points: String,
    unaligned_items: usize,
    unaligned_points: String,
    share: String,
    share_pct: u8,
    items_share: String,
    unestimated: usize,
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.0} %", x * 100.0)).unwrap_or_else(|| "—".into())
}

fn sums_view(team: String, team_id: Option<i64>, s: &keel_domain::outcomes::AlignmentSums) -> SumsView {
    SumsView {
        team,
        team_id,
        items: s.items,
        points: num(s.points),
        unaligned_items: s.unaligned_items,
        unaligned_points: num(s.unaligned_points),
        share: pct(s.points_share()),
        share_pct: s.points_share().map_or(0, |x| (x * 100.0).round().clamp(0.0, 100.0) as u8),
        items_share: pct(s.items_share()),
        unestimated: s.unestimated,
    }
}

#[derive(Template)]
#[template(path = "outcomes_alignment.html")]
struct AlignmentPage {
    l: Layout,
    key: String,
    scope: String,
    total: SumsView,
    teams: Vec<SumsView>,
    unaligned: Vec<(ItemRow, String)>,
    team_choices: Vec<(i64, String, bool)>,
    csv_href: String,
}

/// `?team=`.
#[derive(Debug, Deserialize)]
struct AlignmentQuery {
    #[serde(default)]
    team: Option<String>,
}

/// GET /products/{key}/alignment
async fn alignment_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(q): Query<AlignmentQuery>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let team = match q.team.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => Some(RecordId(
                t.parse().map_err(|_| AppError::invalid("team", "is no team of this product"))?,
            )),
        };
        let r = st.app.alignment(&a, team, None).await?;
        let mut team_choices: Vec<(i64, String, bool)> =
            r.teams.iter().map(|(id, n)| (id.0, n.clone(), Some(*id) == team)).collect();
        team_choices.sort_by_key(|x| x.1.to_lowercase());
        let l = Layout::new(&st, &s, "Alignment", "alignment", Some(&a.product))
            .await
            .crumb(format!("/products/{}", a.product.key), a.product.name.clone());
        render(&AlignmentPage {
            l,
            key: a.product.key.to_string(),
            scope: scope_of(&r),
            total: sums_view(
                team.map_or_else(|| "Product".to_string(), |t| team_label(&r, Some(t))),
                None,
                &r.alignment.total,
            ),
            teams: r
                .alignment
                .teams
                .iter()
                .map(|(t, s)| sums_view(team_label(&r, *t), t.map(|x| x.0), s))
                .collect(),
            unaligned: r
                .items
                .iter()
                .filter(|(_, ok, _)| !ok)
                .map(|(i, _, t)| (item_row(i), team_label(&r, *t)))
                .collect(),
            team_choices,
            csv_href: format!(
                "/api/v1/products/{}/alignment?format=csv{}",
                a.product.key,
                team.map(|t| format!("&team={}", t.0)).unwrap_or_default()
            ),
        })
    }
    .await;
    finish(&st, &s, r).await
}

#[derive(Template)]
#[template(path = "outcomes_why.html")]
struct WhyPanel {
    parents: Vec<ItemRow>,
    initiatives: Vec<(i64, String, &'static str)>,
    goals: Vec<(i64, String, Option<i64>)>,
    vision: Option<String>,
    pkey: String,
    /// Why it traces to no goal (empty when it does).
    reason: &'static str,
}

/// The item page's "Why" panel: the chain from the item up to the vision.
pub(crate) async fn why_panel(st: &AppState, a: &ProductAccess, item: &Item) -> Result<String, AppError> {
    let mut c = st.app.chain(a, item.clone()).await?;
    if public_only(a) {
        c.initiatives.retain(|i| i.data.plan.public);
    }
    let p = WhyPanel {
        parents: c.parents.iter().rev().map(item_row).collect(),
        initiatives: c
            .initiatives
            .iter()
            .map(|i| (i.id.0, i.data.title.clone(), status_label(keel_app::roadmap::status_of(i))))
            .collect(),
        goals: c
            .goals
            .iter()
            .map(|g| (g.goal.id.0, g.goal.data.title.clone(), g.progress.map(|p| p.round() as i64)))
            .collect(),
        vision: c.vision.clone(),
        pkey: a.product.key.to_string(),
        reason: match (&c.epic, c.initiatives.is_empty(), c.goals.is_empty()) {
            (_, _, false) => "",
            (None, _, _) => "It belongs to no epic, so it traces to no goal.",
            (Some(_), true, _) => "Its epic is in no initiative, so it traces to no goal.",
            (Some(_), false, _) => "Its epic's initiatives serve no goal, so it traces to no goal.",
        },
    };
    p.render().map_err(|e| AppError::Internal(keel_store::StoreError::other(e)))
}
