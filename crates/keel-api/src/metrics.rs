//! Delivery metrics on the wire: JSON bodies with their OpenAPI schemas, and the same figures
//! as CSV (a header row, then one row per day, sprint or item).

use crate::rfc3339;
use keel_domain::metrics::{
    BugDay, BurnDay, FlowItem, Percentiles, ReleaseDay, SprintResult, SprintWindow, VelocitySummary, WipItem,
    WipSummary, WIP_AGE_DAYS,
};
use keel_domain::time::Date;
use keel_domain::workflow::Workflow;
use serde::Serialize;
use utoipa::ToSchema;

/// A CSV document being written: fields quoted when needed, and text that a spreadsheet would
/// take for a formula defused with a leading `'`.
#[derive(Debug, Default)]
pub struct Csv(String);

impl Csv {
    /// A document with this header row.
    pub fn new(header: &[&str]) -> Self {
        let mut c = Csv(String::new());
        c.row(header.iter().map(|h| h.to_string()));
        c
    }

    /// Appends a row.
    pub fn row(&mut self, cells: impl IntoIterator<Item = String>) {
        let cells: Vec<String> = cells.into_iter().map(|c| csv_field(&c)).collect();
        self.0.push_str(&cells.join(","));
        self.0.push_str("\r\n");
    }

    /// The text.
    pub fn finish(self) -> String {
        self.0
    }
}

/// One CSV field: quoted when needed, and a leading formula character (`=`, `+`, `-`, `@` on
/// anything but a number) defused with a `'`, so a spreadsheet never runs a cell as a formula.
pub fn csv_field(s: &str) -> String {
    let numeric = s.parse::<f64>().is_ok();
    let s = if !numeric && s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// A number with at most four decimals, as CSV and JSON write it.
pub fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

fn opt(v: Option<f64>) -> String {
    v.map(|v| round4(v).to_string()).unwrap_or_default()
}

fn num(v: f64) -> String {
    round4(v).to_string()
}

/// The 50th, 85th and 95th percentiles, in days.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PercentilesOut {
    /// Half of the items took at most this.
    pub p50: Option<f64>,
    /// 85 % took at most this.
    pub p85: Option<f64>,
    /// 95 % took at most this.
    pub p95: Option<f64>,
}

impl From<Percentiles> for PercentilesOut {
    fn from(p: Percentiles) -> Self {
        PercentilesOut { p50: p.p50.map(round4), p85: p.p85.map(round4), p95: p.p95.map(round4) }
    }
}

/// One sprint's velocity figures and the items behind them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SprintVelocityOut {
    /// Sprint id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// First day.
    #[schema(value_type = String, format = Date)]
    pub start: Date,
    /// Last day.
    #[schema(value_type = String, format = Date)]
    pub end: Date,
    /// Points in the sprint at its start.
    pub committed: f64,
    /// Points done at its close.
    pub completed: f64,
    /// Points added after the start.
    pub added: f64,
    /// Points removed (or deleted) after the start.
    pub removed: f64,
    /// Net points by which items in the sprint were re-estimated after the start:
    /// committed + added − removed + reestimated = completed + the points carried over.
    pub reestimated: f64,
    /// completed ÷ committed (`null` when nothing was committed).
    pub completion_rate: Option<f64>,
    /// Keys of the committed items.
    pub committed_items: Vec<String>,
    /// Keys of the completed items.
    pub completed_items: Vec<String>,
    /// Keys of the items added after the start.
    pub added_items: Vec<String>,
    /// Keys of the items removed after the start.
    pub removed_items: Vec<String>,
    /// Keys of the items carried over (in the sprint, not done, at its close).
    pub carried_over: Vec<String>,
    /// Keys of the bugs in the sprint.
    pub bugs: Vec<String>,
}

impl SprintVelocityOut {
    /// From a sprint and its figures.
    pub fn new(w: &SprintWindow, r: &SprintResult) -> Self {
        SprintVelocityOut {
            id: w.id,
            name: w.name.clone(),
            start: w.start,
            end: w.end,
            committed: round4(r.committed),
            completed: round4(r.completed),
            added: round4(r.added),
            removed: round4(r.removed),
            reestimated: round4(r.reestimated),
            completion_rate: r.completion_rate.map(round4),
            committed_items: r.committed_items.clone(),
            completed_items: r.completed_items.clone(),
            added_items: r.added_items.clone(),
            removed_items: r.removed_items.clone(),
            carried_over: r.carried_over.clone(),
            bugs: r.bugs.clone(),
        }
    }
}

/// A team's velocity over its last closed sprints.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VelocityOut {
    /// Team id.
    pub team_id: i64,
    /// Team name.
    pub team: String,
    /// How many sprints the figures cover.
    pub sprint_count: usize,
    /// Mean completed points.
    pub average: Option<f64>,
    /// Standard deviation of completed points.
    pub spread: f64,
    /// Fewest completed points.
    pub min: Option<f64>,
    /// Most completed points.
    pub max: Option<f64>,
    /// Mean completion rate.
    pub completion_rate: Option<f64>,
    /// The sprints, oldest first.
    pub sprints: Vec<SprintVelocityOut>,
}

impl VelocityOut {
    /// From the report's parts.
    pub fn new(
        team_id: i64,
        team: &str,
        sprints: &[(SprintWindow, SprintResult)],
        s: &VelocitySummary,
    ) -> Self {
        VelocityOut {
            team_id,
            team: team.into(),
            sprint_count: s.sprints,
            average: s.average.map(round4),
            spread: round4(s.spread),
            min: s.min.map(round4),
            max: s.max.map(round4),
            completion_rate: s.completion_rate.map(round4),
            sprints: sprints.iter().map(|(w, r)| SprintVelocityOut::new(w, r)).collect(),
        }
    }

    /// As CSV: one row per sprint.
    pub fn csv(&self) -> String {
        let mut c = Csv::new(&[
            "sprint_id",
            "sprint",
            "start",
            "end",
            "committed",
            "completed",
            "added",
            "removed",
            "reestimated",
            "completion_rate",
            "carried_over",
        ]);
        for s in &self.sprints {
            c.row([
                s.id.to_string(),
                s.name.clone(),
                s.start.to_string(),
                s.end.to_string(),
                num(s.committed),
                num(s.completed),
                num(s.added),
                num(s.removed),
                num(s.reestimated),
                opt(s.completion_rate),
                s.carried_over.join(" "),
            ]);
        }
        c.finish()
    }
}

/// One day of a sprint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BurnDayOut {
    /// The date.
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    /// Points not done at the end of the day (`null` for days to come).
    pub remaining: Option<f64>,
    /// Points done at the end of the day.
    pub done: Option<f64>,
    /// Points in the sprint at the end of the day.
    pub scope: Option<f64>,
    /// Points added that day.
    pub added: f64,
    /// Points removed that day.
    pub removed: f64,
    /// The ideal remaining points.
    pub ideal: f64,
}

/// A sprint day by day: burndown (remaining against ideal) and burnup (done against scope).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SprintBurnOut {
    /// The sprint's figures and items.
    pub sprint: SprintVelocityOut,
    /// The offset days are counted in.
    pub tz: String,
    /// Its days.
    pub days: Vec<BurnDayOut>,
}

impl SprintBurnOut {
    /// From the report's parts.
    pub fn new(w: &SprintWindow, r: &SprintResult, days: &[BurnDay], tz: String) -> Self {
        SprintBurnOut {
            sprint: SprintVelocityOut::new(w, r),
            tz,
            days: days
                .iter()
                .map(|d| BurnDayOut {
                    date: d.date,
                    remaining: d.remaining.map(round4),
                    done: d.done.map(round4),
                    scope: d.scope.map(round4),
                    added: round4(d.added),
                    removed: round4(d.removed),
                    ideal: round4(d.ideal),
                })
                .collect(),
        }
    }

    /// As CSV: one row per day.
    pub fn csv(&self) -> String {
        let mut c = Csv::new(&["date", "remaining", "done", "scope", "added", "removed", "ideal"]);
        for d in &self.days {
            c.row([
                d.date.to_string(),
                opt(d.remaining),
                opt(d.done),
                opt(d.scope),
                num(d.added),
                num(d.removed),
                num(d.ideal),
            ]);
        }
        c.finish()
    }
}

/// One day of a release.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReleaseDayOut {
    /// The date.
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    /// Points in the release.
    pub scope: f64,
    /// Points done.
    pub done: f64,
    /// Items in the release.
    pub items: usize,
    /// Items done.
    pub done_items: usize,
}

/// A release's burnup.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReleaseBurnupOut {
    /// Release id.
    pub release_id: i64,
    /// Its name.
    pub name: String,
    /// First day.
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// Last day.
    #[schema(value_type = String, format = Date)]
    pub to: Date,
    /// The offset days are counted in.
    pub tz: String,
    /// The days.
    pub days: Vec<ReleaseDayOut>,
}

impl ReleaseBurnupOut {
    /// From the report's parts.
    pub fn new(id: i64, name: &str, from: Date, to: Date, tz: String, days: &[ReleaseDay]) -> Self {
        ReleaseBurnupOut {
            release_id: id,
            name: name.into(),
            from,
            to,
            tz,
            days: days
                .iter()
                .map(|d| ReleaseDayOut {
                    date: d.date,
                    scope: round4(d.scope),
                    done: round4(d.done),
                    items: d.items,
                    done_items: d.done_items,
                })
                .collect(),
        }
    }

    /// As CSV.
    pub fn csv(&self) -> String {
        let mut c = Csv::new(&["date", "scope", "done", "items", "done_items"]);
        for d in &self.days {
            c.row([
                d.date.to_string(),
                num(d.scope),
                num(d.done),
                d.items.to_string(),
                d.done_items.to_string(),
            ]);
        }
        c.finish()
    }
}

/// A workflow state, as a report names it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ReportStateOut)]
pub struct StateOut {
    /// State id.
    pub id: i64,
    /// Its name now.
    pub name: String,
    /// Its category.
    pub category: String,
}

/// One day of the cumulative flow.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlowDayOut {
    /// The date.
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    /// Items in each state at the end of the day, in the order of `states`.
    pub counts: Vec<usize>,
}

/// Items per workflow state over time.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CumulativeFlowOut {
    /// First day.
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// Last day.
    #[schema(value_type = String, format = Date)]
    pub to: Date,
    /// The offset days are counted in.
    pub tz: String,
    /// The states, in workflow order.
    pub states: Vec<StateOut>,
    /// The days.
    pub days: Vec<FlowDayOut>,
}

impl CumulativeFlowOut {
    /// From the report's parts.
    pub fn new(from: Date, to: Date, tz: String, wf: &Workflow, days: &[(Date, Vec<usize>)]) -> Self {
        CumulativeFlowOut {
            from,
            to,
            tz,
            states: wf
                .states
                .iter()
                .map(|s| StateOut { id: s.id.0, name: s.name.clone(), category: s.category.as_str().into() })
                .collect(),
            days: days.iter().map(|(d, c)| FlowDayOut { date: *d, counts: c.clone() }).collect(),
        }
    }

    /// As CSV: a column per state.
    pub fn csv(&self) -> String {
        let names: Vec<&str> =
            std::iter::once("date").chain(self.states.iter().map(|s| s.name.as_str())).collect();
        let mut c = Csv::new(&names);
        for d in &self.days {
            c.row(std::iter::once(d.date.to_string()).chain(d.counts.iter().map(|n| n.to_string())));
        }
        c.finish()
    }
}

/// One finished item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlowItemOut {
    /// Its key.
    pub key: String,
    /// Its kind.
    pub kind: String,
    /// Created (RFC 3339).
    pub created_at: String,
    /// First started.
    pub started_at: String,
    /// Done.
    pub done_at: String,
    /// The local date it was done.
    #[schema(value_type = String, format = Date)]
    pub done_on: Date,
    /// Started → done, in days.
    pub cycle_days: f64,
    /// Created → done, in days.
    pub lead_days: f64,
}

impl FlowItemOut {
    /// From a finished item, its done date in the report's offset.
    pub fn new(f: &FlowItem, done_on: Date) -> Self {
        FlowItemOut {
            key: f.key.clone(),
            kind: f.kind.as_str().into(),
            created_at: rfc3339(f.created_at),
            started_at: rfc3339(f.started_at),
            done_at: rfc3339(f.done_at),
            done_on,
            cycle_days: round4(f.cycle_days),
            lead_days: round4(f.lead_days),
        }
    }
}

/// Cycle and lead time of the items finished in a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CycleTimeOut {
    /// First day.
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// Last day.
    #[schema(value_type = String, format = Date)]
    pub to: Date,
    /// The offset days are counted in.
    pub tz: String,
    /// Items finished.
    pub count: usize,
    /// Cycle time (first start → done) percentiles, in days.
    pub cycle: PercentilesOut,
    /// Lead time (created → done) percentiles, in days.
    pub lead: PercentilesOut,
    /// The items, by done time.
    pub items: Vec<FlowItemOut>,
}

impl CycleTimeOut {
    /// As CSV: one row per item.
    pub fn csv(&self) -> String {
        let mut c =
            Csv::new(&["key", "kind", "created_at", "started_at", "done_at", "cycle_days", "lead_days"]);
        for i in &self.items {
            c.row([
                i.key.clone(),
                i.kind.clone(),
                i.created_at.clone(),
                i.started_at.clone(),
                i.done_at.clone(),
                num(i.cycle_days),
                num(i.lead_days),
            ]);
        }
        c.finish()
    }
}

/// A count on a date (a day, or the Monday of a week).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountOut {
    /// The date.
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    /// The count.
    pub count: usize,
}

/// Items finished per day and per week.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ThroughputOut {
    /// First day.
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// Last day.
    #[schema(value_type = String, format = Date)]
    pub to: Date,
    /// The offset days are counted in.
    pub tz: String,
    /// Items finished in all.
    pub total: usize,
    /// Per day.
    pub daily: Vec<CountOut>,
    /// Per week (labelled by its Monday; the first and last may be partial).
    pub weekly: Vec<CountOut>,
    /// The items, by done time.
    pub items: Vec<FlowItemOut>,
}

impl ThroughputOut {
    /// As CSV: one row per day.
    pub fn csv(&self) -> String {
        let mut c = Csv::new(&["date", "done"]);
        for d in &self.daily {
            c.row([d.date.to_string(), d.count.to_string()]);
        }
        c.finish()
    }
}

/// Counts as wire rows.
pub fn counts(v: &[(Date, usize)]) -> Vec<CountOut> {
    v.iter().map(|(d, n)| CountOut { date: *d, count: *n }).collect()
}

/// One day of bugs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BugDayOut {
    /// The date.
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    /// Bugs created.
    pub opened: usize,
    /// Bugs moved to done.
    pub closed: usize,
    /// Bugs moved out of done.
    pub reopened: usize,
    /// Bugs not done at the end of the day.
    pub open: usize,
}

impl From<&BugDay> for BugDayOut {
    fn from(b: &BugDay) -> Self {
        BugDayOut { date: b.date, opened: b.opened, closed: b.closed, reopened: b.reopened, open: b.open }
    }
}

/// The bugs of one sprint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SprintBugsOut {
    /// Team · sprint.
    pub sprint: String,
    /// Its last day.
    #[schema(value_type = String, format = Date)]
    pub end: Date,
    /// How many bugs.
    pub count: usize,
    /// Their keys.
    pub bugs: Vec<String>,
}

/// Bugs over time and per sprint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BugTrendOut {
    /// First day.
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// Last day.
    #[schema(value_type = String, format = Date)]
    pub to: Date,
    /// The offset days are counted in.
    pub tz: String,
    /// The days.
    pub days: Vec<BugDayOut>,
    /// Sprints that ended in the period.
    pub sprints: Vec<SprintBugsOut>,
}

impl BugTrendOut {
    /// As CSV: one row per day.
    pub fn csv(&self) -> String {
        let mut c = Csv::new(&["date", "opened", "closed", "reopened", "open"]);
        for d in &self.days {
            c.row([
                d.date.to_string(),
                d.opened.to_string(),
                d.closed.to_string(),
                d.reopened.to_string(),
                d.open.to_string(),
            ]);
        }
        c.finish()
    }
}

/// An item in progress.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WipItemOut {
    /// Its key.
    pub key: String,
    /// Its kind.
    pub kind: String,
    /// Its state's name.
    pub state: String,
    /// In progress since (RFC 3339).
    pub since: String,
    /// Days in progress.
    pub age_days: f64,
    /// Older than the 85th percentile cycle time.
    pub over: bool,
}

/// Items in progress in one state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WipStateOut {
    /// The state's name.
    pub state: String,
    /// Items in it now.
    pub count: usize,
}

/// Items in progress for an age range, in whole days: `from_days` ≤ age < `to_days`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WipAgeOut {
    /// Lower bound (included), days.
    pub from_days: i64,
    /// Upper bound (excluded), days; none for the last bucket.
    pub to_days: Option<i64>,
    /// Items in progress that long.
    pub count: usize,
}

/// Work in progress now: the numbers, and one page of the items, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WipOut {
    /// The 85th percentile cycle time of the last 90 days that ages are compared with.
    pub limit_days: Option<f64>,
    /// Items in progress now.
    pub total: usize,
    /// Of them, older than `limit_days`.
    pub over: usize,
    /// Per in-progress state, in workflow order.
    pub states: Vec<WipStateOut>,
    /// Per age range, youngest first.
    pub ages: Vec<WipAgeOut>,
    /// Items skipped before this page (`offset`).
    pub offset: usize,
    /// The most items on this page (`limit`).
    pub limit: usize,
    /// The page of items, oldest first.
    pub items: Vec<WipItemOut>,
}

impl WipOut {
    /// From the report's parts.
    pub fn new(
        summary: &WipSummary,
        items: &[WipItem],
        limit: usize,
        offset: usize,
        limit_days: Option<f64>,
        wf: &Workflow,
    ) -> Self {
        let bounds: Vec<i64> = std::iter::once(0).chain(WIP_AGE_DAYS).collect();
        WipOut {
            limit_days: limit_days.map(round4),
            total: summary.total,
            over: summary.over,
            states: summary
                .states
                .iter()
                .map(|(s, n)| WipStateOut {
                    state: wf.state(*s).map(|s| s.name.clone()).unwrap_or_default(),
                    count: *n,
                })
                .collect(),
            ages: summary
                .ages
                .iter()
                .enumerate()
                .map(|(i, n)| WipAgeOut {
                    from_days: bounds[i],
                    to_days: bounds.get(i + 1).copied(),
                    count: *n,
                })
                .collect(),
            offset,
            limit,
            items: items
                .iter()
                .map(|w| WipItemOut {
                    key: w.key.clone(),
                    kind: w.kind.as_str().into(),
                    state: wf.state(w.state).map(|s| s.name.clone()).unwrap_or_default(),
                    since: rfc3339(w.since),
                    age_days: round4(w.age_days),
                    over: w.over,
                })
                .collect(),
        }
    }

    /// As CSV: one row per item of the page.
    pub fn csv(&self) -> String {
        let mut c = Csv::new(&["key", "kind", "state", "since", "age_days", "over_p85"]);
        for i in &self.items {
            c.row([
                i.key.clone(),
                i.kind.clone(),
                i.state.clone(),
                i.since.clone(),
                num(i.age_days),
                i.over.to_string(),
            ]);
        }
        c.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses() {
        let mut c = Csv::new(&["a", "b"]);
        c.row(["x,y".to_string(), "=SUM(A1)".to_string()]);
        c.row(["say \"hi\"".to_string(), "-3.5".to_string()]);
        assert_eq!(c.finish(), "a,b\r\n\"x,y\",'=SUM(A1)\r\n\"say \"\"hi\"\"\",-3.5\r\n");
    }
}
