//! Pages: a product's delivery reports (velocity, cumulative flow, cycle time, throughput, bug
//! trend, work in progress) with team and date filters and CSV links; and the charts of a
//! sprint's burndown and burnup for the sprint page.

use super::chart::{Chart, Point, Series};
use super::{finish, render, Layout};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use keel_app::metrics::{Period, SprintBurn, PERIOD_DEFAULT_DAYS, VELOCITY_SPRINTS};
use keel_app::AppError;
use keel_domain::item::ItemKind;
use keel_domain::metrics::Tz;
use keel_domain::time::Date;
use keel_domain::ValidationError;
use serde::Deserialize;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/products/{key}/reports", get(page))
}

/// The filters, as the form sends them.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Filters {
    from: Option<String>,
    to: Option<String>,
    tz: Option<String>,
    team: Option<String>,
    /// Items in progress skipped before the table's page.
    wip_offset: Option<String>,
}

/// Items in progress the page lists at a time.
const WIP_PAGE: usize = 50;
/// Above this many finished items, the cycle-time scatter draws one point per day and quarter
/// day of cycle time (naming its first item and how many more), so the page stays small.
const SCATTER_ITEMS: usize = 1000;

fn date(field: &str, v: &Option<String>) -> Result<Option<Date>, AppError> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Ok(Some(Date::parse(field, s)?)),
    }
}

/// One row of the work-in-progress table.
struct WipRow {
    key: String,
    kind: &'static str,
    state: String,
    since: String,
    age: String,
    over: bool,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    l: Layout,
    key: String,
    teams: Vec<(i64, String)>,
    /// The chosen team's id, 0 for all.
    team_id: i64,
    team_name: String,
    from: String,
    to: String,
    tz: String,
    /// The query string of the filters, for the CSV links.
    q: String,
    figures: Vec<(&'static str, String, String)>,
    /// The chart, the summary, and the team it is of.
    velocity: Option<(Chart, keel_domain::metrics::VelocitySummary, i64)>,
    cfd: Chart,
    cycle: Chart,
    distribution: Chart,
    throughput: Chart,
    bugs: Chart,
    wip: Vec<WipRow>,
    wip_limit: String,
    /// Items in progress in all, and the page shown (first item's number, last's).
    wip_total: usize,
    wip_first: usize,
    wip_last: usize,
    /// The offsets of the previous and next pages, if there are such.
    wip_prev: Option<usize>,
    wip_next: Option<usize>,
}

fn kind_name(k: ItemKind) -> &'static str {
    match k {
        ItemKind::Epic => "Epics",
        ItemKind::Story => "Stories",
        ItemKind::Task => "Tasks",
        ItemKind::Bug => "Bugs",
        ItemKind::Spike => "Spikes",
    }
}

/// About six dates spread over a period, both ends included, as scatter ticks.
fn date_ticks(from: Date, to: Date) -> Vec<(f64, String)> {
    let span = (to.0 - from.0).max(1);
    let step = (span / 5).max(1);
    let mut out: Vec<(f64, String)> = (0..)
        .map(|i| from.0 + i * step)
        .take_while(|d| *d < to.0 - step / 2)
        .map(|d| (f64::from(d), Date(d).to_string()))
        .collect();
    out.push((f64::from(to.0), to.to_string()));
    out
}

fn days_label(v: Option<f64>) -> String {
    v.map_or("—".into(), |d| format!("{} d", super::chart::num(d)))
}

/// GET /products/{key}/reports
async fn page(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Filters>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let tz = Tz::parse("tz", f.tz.as_deref().unwrap_or("")).map_err(AppError::from)?;
        let period = Period::resolve(date("from", &f.from)?, date("to", &f.to)?, tz, PERIOD_DEFAULT_DAYS)?;
        let teams: Vec<(i64, String)> =
            st.app.teams(&a).await?.into_iter().map(|t| (t.id.0, t.data.name.clone())).collect();
        let team = match f.team.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => {
                let bad = ValidationError::new("team", "is not a team of this product");
                Some(s.parse::<i64>().map_err(|_| AppError::from(bad))?)
            }
        };
        st.app.report_team(&a, team).await?;
        let team_name = team.and_then(|id| teams.iter().find(|t| t.0 == id)).map(|t| t.1.clone()).unwrap_or_default();

        // Velocity is a team's: the chosen one, or the first.
        let velocity = match team.or(teams.first().map(|t| t.0)) {
            Some(id) => {
                let v = st.app.velocity_report(&s.user, id, None, None, VELOCITY_SPRINTS, tz).await?;
                let names: Vec<String> = v.sprints.iter().map(|(w, _)| w.name.clone()).collect();
                let col = |f: fn(&keel_domain::metrics::SprintResult) -> f64| -> Vec<f64> {
                    v.sprints.iter().map(|(_, r)| f(r)).collect()
                };
                let mut c = Chart::grouped_bars("velocity", format!("Velocity · {}", v.team.data.name))
                    .desc("Points committed at each sprint's start, completed, added or removed after the start, and the change of estimates of the items in it, for the last closed sprints")
                    .x_label("Sprint")
                    .y_label("Points")
                    .categories(names)
                    .series(Series::new("Committed", col(|r| r.committed)))
                    .series(Series::new("Completed", col(|r| r.completed)))
                    .series(Series::new("Added", col(|r| r.added)))
                    .series(Series::new("Removed", col(|r| r.removed)))
                    .series(Series::new("Re-estimated", col(|r| r.reestimated)));
                if let Some(avg) = v.summary.average {
                    c = c.hline("Average completed", avg);
                }
                Some((c, v.summary, id))
            }
            None => None,
        };

        let (wf, flow) = st.app.cumulative_flow(&a, team, period).await?;
        let dates: Vec<String> = flow.iter().map(|(d, _)| d.to_string()).collect();
        // Done at the bottom, as cumulative flow diagrams are read.
        let mut cfd = Chart::stacked_area("cfd", "Cumulative flow")
            .desc("Items in each workflow state at the end of each day")
            .x_label("Day")
            .y_label("Items")
            .categories(dates.clone());
        for (i, state) in wf.states.iter().enumerate().rev() {
            cfd = cfd.series(Series::new(state.name.clone(), flow.iter().map(|(_, c)| c[i] as f64)));
        }

        let ct = st.app.cycle_time(&a, team, period).await?;
        let points: Vec<Point> = if ct.items.len() <= SCATTER_ITEMS {
            ct.items
                .iter()
                .map(|f| Point {
                    label: f.key.clone(),
                    x: f64::from(tz.date_of(f.done_at).0),
                    y: (f.cycle_days * 100.0).round() / 100.0,
                })
                .collect()
        } else {
            // One point per (day, quarter day of cycle time): bounded by the period, not the
            // product; the CSV still lists every item.
            let mut groups: std::collections::BTreeMap<(i32, i64), (String, usize)> = Default::default();
            for f in &ct.items {
                let g = groups
                    .entry((tz.date_of(f.done_at).0, (f.cycle_days * 4.0).round() as i64))
                    .or_insert_with(|| (f.key.clone(), 0));
                g.1 += 1;
            }
            groups
                .into_iter()
                .map(|((d, q), (key, n))| Point {
                    label: if n > 1 { format!("{key} and {} more", n - 1) } else { key },
                    x: f64::from(d),
                    y: q as f64 / 4.0,
                })
                .collect()
        };
        let desc = if ct.items.len() <= SCATTER_ITEMS {
            "Each finished item: the day it was done and the days from its first start to done, with the 50th, 85th and 95th percentiles"
        } else {
            "Finished items by the day they were done and the days from first start to done (to the quarter day; items alike share a point), with the 50th, 85th and 95th percentiles"
        };
        let mut cycle = Chart::scatter("cycle-time", "Cycle time")
            .desc(desc)
            .x_label("Done")
            .y_label("Days")
            .x_format(|x| Date(x as i32).to_string())
            .x_ticks(date_ticks(period.from, period.to))
            .points(points);
        for (name, v) in [("50th", ct.cycle.p50), ("85th", ct.cycle.p85), ("95th", ct.cycle.p95)] {
            if let Some(v) = v {
                cycle = cycle.hline(name, v);
            }
        }

        let distribution = Chart::histogram(
            "cycle-distribution",
            "Cycle time distribution",
            &ct.items.iter().map(|f| f.cycle_days).collect::<Vec<_>>(),
            1.0,
        )
        .desc("How many finished items took each number of days from first start to done")
        .x_label("Days");

        let (_, weekly, done) = st.app.throughput(&a, team, period).await?;
        // Per week and kind, stacked.
        let mut throughput = Chart::stacked_bars("throughput", "Throughput")
            .desc("Items finished per week by kind (weeks begin on Monday)")
            .x_label("Week of")
            .y_label("Items")
            .categories(weekly.iter().map(|(d, _)| d.to_string()));
        for kind in [ItemKind::Story, ItemKind::Task, ItemKind::Bug, ItemKind::Spike, ItemKind::Epic] {
            let per_week: Vec<f64> = weekly
                .iter()
                .map(|(monday, _)| {
                    done.iter()
                        .filter(|f| f.kind == kind)
                        .filter(|f| {
                            let d = tz.date_of(f.done_at);
                            d >= *monday && d < monday.plus_days(7)
                        })
                        .count() as f64
                })
                .collect();
            if per_week.iter().any(|n| *n > 0.0) {
                throughput = throughput.series(Series::new(kind_name(kind), per_week));
            }
        }

        let (bug_days, _) = st.app.bug_trend(&a, team, period).await?;
        let bugs = Chart::lines("bug-trend", "Bugs")
            .desc("Bugs opened and closed each day, and bugs open at the end of each day")
            .x_label("Day")
            .y_label("Bugs")
            .categories(dates)
            .series(Series::new("Open", bug_days.iter().map(|b| b.open as f64)).step())
            .series(Series::new("Opened", bug_days.iter().map(|b| b.opened as f64)))
            .series(Series::new("Closed", bug_days.iter().map(|b| b.closed as f64)));

        let wip_offset = match f.wip_offset.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => 0,
            Some(s) => s.parse::<usize>().map_err(|_| {
                AppError::from(ValidationError::new("wip_offset", "must be a whole number of items"))
            })?,
        };
        let w = st.app.work_in_progress(&a, team, tz, WIP_PAGE, wip_offset).await?;
        let wip = w
            .items
            .iter()
            .map(|i| WipRow {
                key: i.key.clone(),
                kind: i.kind.as_str(),
                state: w.workflow.state(i.state).map(|s| s.name.clone()).unwrap_or_default(),
                since: tz.date_of(i.since).to_string(),
                age: format!("{} d", super::chart::num(i.age_days)),
                over: i.over,
            })
            .collect::<Vec<WipRow>>();

        let wip_len = wip.len();
        let open_bugs = bug_days.last().map_or(0, |b| b.open);
        let mut figures = Vec::new();
        if let Some((_, v, _)) = &velocity {
            figures.push((
                "Velocity",
                v.average.map_or("—".into(), super::chart::num),
                match v.completion_rate {
                    Some(r) => format!("{} % of commitment done", (r * 100.0).round()),
                    None => "no closed sprint yet".into(),
                },
            ));
        }
        figures.extend([
            ("Done", done.len().to_string(), format!("{} days", period.to.0 - period.from.0 + 1)),
            ("Cycle time p50", days_label(ct.cycle.p50), format!("p85 {}", days_label(ct.cycle.p85))),
            ("Lead time p50", days_label(ct.lead.p50), format!("p85 {}", days_label(ct.lead.p85))),
            ("In progress", w.summary.total.to_string(), format!("{} over p85", w.summary.over)),
            ("Open bugs", open_bugs.to_string(), format!("on {}", period.to)),
        ]);
        let mut q = format!("from={}&to={}&tz={}", period.from, period.to, tz.to_string().replace('+', "%2B"));
        if let Some(t) = team {
            q.push_str(&format!("&team={t}"));
        }
        let l = Layout::new(&st, &s, "Reports", "reports", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone());
        render(&ReportsPage {
            l,
            key: a.product.key.to_string(),
            teams,
            team_id: team.unwrap_or(0),
            team_name,
            from: period.from.to_string(),
            to: period.to.to_string(),
            tz: tz.to_string(),
            q,
            figures,
            velocity,
            cfd,
            cycle,
            distribution,
            throughput,
            bugs,
            wip,
            wip_limit: days_label(w.limit_days),
            wip_total: w.summary.total,
            wip_first: wip_offset + 1,
            wip_last: wip_offset + wip_len,
            wip_prev: (wip_offset > 0).then(|| wip_offset.saturating_sub(WIP_PAGE)),
            wip_next: (wip_offset + WIP_PAGE < w.summary.total).then_some(wip_offset + WIP_PAGE),
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// The burndown and burnup charts of a sprint.
pub(crate) fn burn_charts(b: &SprintBurn) -> (Chart, Chart) {
    let dates: Vec<String> = b.days.iter().map(|d| d.date.to_string()).collect();
    let down = Chart::lines("burndown", "Burndown")
        .desc("Points not done at the end of each day, against the ideal line from the commitment to zero")
        .x_label("Day")
        .y_label("Points")
        .categories(dates.clone())
        .series(Series::sparse("Remaining", b.days.iter().map(|d| d.remaining)).step())
        .series(Series::new("Ideal", b.days.iter().map(|d| d.ideal)).class("ideal"));
    // Scope change as lines of its own, when there was any.
    let down = if b.days.iter().any(|d| d.added != 0.0 || d.removed != 0.0) {
        down.series(Series::new("Added", b.days.iter().map(|d| d.added)).class("dashed"))
            .series(Series::new("Removed", b.days.iter().map(|d| d.removed)).class("dashed"))
    } else {
        down
    };
    let up = Chart::lines("burnup", "Burnup")
        .desc("Points done and points in the sprint (its scope) at the end of each day")
        .x_label("Day")
        .y_label("Points")
        .categories(dates)
        .series(Series::sparse("Done", b.days.iter().map(|d| d.done)).step())
        .series(Series::sparse("Scope", b.days.iter().map(|d| d.scope)).step());
    (down, up)
}
