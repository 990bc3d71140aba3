//! Wire types: outcomes of initiatives and goals, the chain from an item to the vision, and the
//! alignment report.

use serde::Serialize;
use utoipa::ToSchema;

/// Delivery progress: done points of all points of the stories.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = OutcomeProgressOut)]
pub struct ProgressOut {
    /// Points of stories in a done state.
    pub done_points: f64,
    /// Points of all the stories.
    pub total_points: f64,
    /// Stories without an estimate (not in the points).
    pub unestimated: u32,
    /// Done share in whole percent.
    pub percent: u8,
}

impl From<keel_domain::pm::Progress> for ProgressOut {
    fn from(p: keel_domain::pm::Progress) -> Self {
        ProgressOut {
            done_points: p.done_points,
            total_points: p.total_points,
            unestimated: p.unestimated,
            percent: p.percent(),
        }
    }
}

/// One measurement of a KPI series.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PointOut {
    /// The day.
    pub date: String,
    /// The value.
    pub value: f64,
}

/// A KPI's series.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KpiSeriesOut {
    /// The KPI's id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its unit.
    pub unit: String,
    /// `up` or `down`: which way is good.
    pub direction: String,
    /// Where it started.
    pub baseline: f64,
    /// Where it should get to.
    pub target: f64,
    /// Progress of the latest measurement, 0-100.
    pub progress: Option<f64>,
    /// The measurements, by date.
    pub measurements: Vec<PointOut>,
}

/// One side of a before/after comparison.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WindowOut {
    /// First day included.
    pub from: String,
    /// Last day included.
    pub to: String,
    /// Measurements in it.
    pub count: usize,
    /// Their mean (`null`: none).
    pub mean: Option<f64>,
}

/// A KPI's mean before and after a release shipped: a before/after comparison, not a claim
/// that the release caused the change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComparisonOut {
    /// The release's id.
    pub release_id: i64,
    /// Its name.
    pub release: String,
    /// The day it shipped (UTC); it counts as after.
    pub date: String,
    /// The `window_days` days before.
    pub before: WindowOut,
    /// The shipping day and the `window_days − 1` days after.
    pub after: WindowOut,
    /// after − before (`null` when a side has no measurements).
    pub change: Option<f64>,
    /// "not enough measurements" when a side is empty, else "before/after comparison, not causation".
    pub note: String,
}

/// A key result of one of the initiative's goals.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyResultSeriesOut {
    /// The goal's id.
    pub goal_id: i64,
    /// The goal's title.
    pub goal: String,
    /// The key result's id within its goal.
    pub key_result_id: i64,
    /// Its title.
    pub key_result: String,
    /// Its KPI (`null`: it tracks none).
    pub kpi: Option<KpiSeriesOut>,
    /// The KPI before and after each shipped release.
    pub comparisons: Vec<ComparisonOut>,
}

/// A delivery event drawn on the KPI timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryEventOut {
    /// `epic_done` or `release_shipped`.
    pub kind: String,
    /// When (RFC 3339).
    pub at: String,
    /// The day (UTC).
    pub date: String,
    /// The epic's key or the release's name.
    pub label: String,
    /// The epic item's or release record's id.
    pub id: i64,
}

/// A goal with its progress.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GoalRefOut {
    /// Its id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its progress from its key results, 0-100 (`null`: no data).
    pub progress: Option<f64>,
}

/// An item in a chain or a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemRefOut {
    /// Its key.
    pub key: String,
    /// Its kind.
    pub kind: String,
    /// Its title.
    pub title: String,
    /// `todo`, `in_progress` or `done`.
    pub category: String,
    /// Its estimate.
    pub points: Option<f64>,
}

/// An epic with its delivery progress and its stories.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EpicProgressOut {
    /// The epic.
    pub epic: ItemRefOut,
    /// Done points of its stories' points.
    pub progress: ProgressOut,
    /// Its child items.
    pub items: Vec<ItemRefOut>,
}

/// An initiative's outcomes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InitiativeOutcomesOut {
    /// Its id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its status.
    pub status: String,
    /// Days compared on each side of a release.
    pub window_days: i32,
    /// What the comparisons are: a before/after comparison, not causation.
    pub method: String,
    /// Its goals.
    pub goals: Vec<GoalRefOut>,
    /// Its goals' key results with their KPI series and comparisons.
    pub key_results: Vec<KeyResultSeriesOut>,
    /// Epics done and releases shipped, oldest first.
    pub events: Vec<DeliveryEventOut>,
    /// Its epics with their progress.
    pub epics: Vec<EpicProgressOut>,
    /// Its delivery progress over all its epics' stories.
    pub progress: ProgressOut,
}

/// A key result of a goal with its progress.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyResultProgressOut {
    /// Its id within the goal.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its KPI's id.
    pub kpi_id: Option<i64>,
    /// Its KPI's name.
    pub kpi: Option<String>,
    /// Its progress, 0-100.
    pub progress: Option<f64>,
}

/// An initiative serving a goal.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServingInitiativeOut {
    /// Its id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its status.
    pub status: String,
    /// Its delivery progress.
    pub progress: ProgressOut,
    /// Its epics, each with progress and stories.
    pub epics: Vec<EpicProgressOut>,
}

/// A goal's outcomes: what is being done for it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GoalOutcomesOut {
    /// Its id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its due date.
    pub due: Option<String>,
    /// The mean of its key results' progress.
    pub progress: Option<f64>,
    /// Its key results.
    pub key_results: Vec<KeyResultProgressOut>,
    /// The initiatives serving it, with their epics and stories.
    pub initiatives: Vec<ServingInitiativeOut>,
}

/// An initiative in a chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InitiativeRefOut {
    /// Its id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its status.
    pub status: String,
}

/// Why an item is being built.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChainOut {
    /// The item.
    pub item: ItemRefOut,
    /// Its parents, nearest first.
    pub parents: Vec<ItemRefOut>,
    /// The epic it belongs to (itself when an epic).
    pub epic: Option<String>,
    /// The initiatives delivering that epic.
    pub initiatives: Vec<InitiativeRefOut>,
    /// The goals they serve.
    pub goals: Vec<GoalRefOut>,
    /// The product's vision statement.
    pub vision: Option<String>,
    /// Whether it traces to a goal.
    pub aligned: bool,
}

/// Alignment sums.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlignmentSumsOut {
    /// The team's id (`null`: overall, or work in no team's sprint).
    pub team_id: Option<i64>,
    /// The team's name ("No sprint" for work in none, "Product" overall).
    pub team: String,
    /// Items counted.
    pub items: usize,
    /// Their points.
    pub points: f64,
    /// Items tracing to no goal.
    pub unaligned_items: usize,
    /// Their points.
    pub unaligned_points: f64,
    /// Unaligned share of the points, 0-1 (`null`: no points).
    pub unaligned_points_share: Option<f64>,
    /// Unaligned share of the items, 0-1.
    pub unaligned_items_share: Option<f64>,
    /// Items without an estimate.
    pub unestimated: usize,
    /// Keys of the unaligned items.
    pub unaligned: Vec<String>,
}

/// The alignment report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlignmentOut {
    /// What was counted.
    pub scope: String,
    /// The whole product (or the team or sprint asked for).
    pub total: AlignmentSumsOut,
    /// Per team; work in no team's sprint last.
    pub teams: Vec<AlignmentSumsOut>,
}
