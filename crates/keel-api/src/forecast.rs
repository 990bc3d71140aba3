//! Wire types: Monte-Carlo forecasts.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What to forecast: exactly one of a release, an epic (its children) or a list of items.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectionIn {
    /// A release id.
    pub release: Option<i64>,
    /// An epic's key.
    pub epic: Option<String>,
    /// Item keys.
    pub items: Option<Vec<String>>,
}

/// The history window: `from` and `to` (dates), or the `last` N days (throughput) or closed
/// sprints (points). Default: the last 90 days, or the last 12 closed sprints.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowIn {
    /// First day (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Last day (`YYYY-MM-DD`).
    pub to: Option<String>,
    /// The last N days or sprints.
    pub last: Option<i64>,
}

/// A forecast request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ForecastIn {
    /// Product key.
    pub product: String,
    /// Team id (points mode; optional when the product has one team).
    pub team: Option<i64>,
    /// What to forecast.
    pub selection: SelectionIn,
    /// `throughput` (items per day) or `points` (points per sprint).
    pub mode: String,
    /// The history window.
    pub window: Option<WindowIn>,
    /// `when` or `how_much`.
    pub question: String,
    /// The date of a `how_much` question.
    pub date: Option<String>,
    /// Trials (1,000 to 100,000; default 10,000).
    pub trials: Option<i64>,
    /// Seed of the generator (default 1): the same request and seed give the same answer.
    pub seed: Option<u64>,
}

/// The work left in the selection.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RemainingOut {
    /// Items in the selection (stories, bugs, spikes).
    pub total_items: u32,
    /// Of which done.
    pub done_items: u32,
    /// Open items.
    pub items: u32,
    /// Points of the open items, rounded up.
    pub points: u64,
    /// Open items without an estimate (0 points in points mode).
    pub unestimated: u32,
}

/// The history a forecast drew from.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = ForecastHistoryOut)]
pub struct HistoryOut {
    /// `day` or `sprint`.
    pub period: String,
    /// First day of the window.
    pub from: String,
    /// Last day of the window.
    pub to: String,
    /// Periods in the window (the sample size).
    pub periods: u32,
    /// Items (throughput) or points (points) done per period, oldest first.
    pub sample: Vec<u32>,
    /// Points mode: the sprints, in the same order.
    pub sprints: Vec<String>,
    /// Points mode: the team.
    pub team: Option<i64>,
    /// Items or points done in the window.
    pub done: u64,
}

/// One confidence level.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LevelOut {
    /// 50, 85 or 95.
    pub confidence: u32,
    /// `when`: the last day of the work (null beyond the horizon); `how_much`: the date asked.
    pub date: Option<String>,
    /// `when`: days or sprints needed; `how_much`: days or sprints until the date.
    pub periods: Option<u32>,
    /// `how_much`: items or points done at least.
    pub amount: Option<u64>,
}

/// A bar of the distribution.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BarOut {
    /// Lowest value (periods for `when`, amount for `how_much`).
    pub from: u64,
    /// Highest value.
    pub to: u64,
    /// `when`: the date of `from`.
    pub from_date: Option<String>,
    /// `when`: the date of `to`.
    pub to_date: Option<String>,
    /// Trials in the bar.
    pub trials: u32,
}

/// A forecast.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ForecastOut {
    /// `throughput` or `points`.
    pub mode: String,
    /// `when` or `how_much`.
    pub question: String,
    /// `forecast`, or `not_enough_history` (then no answers, and `message` says why).
    pub status: String,
    /// Why there is no forecast, with the counts.
    pub message: Option<String>,
    /// `not_enough_history`: sprints or done items in the window.
    pub have: Option<u64>,
    /// `not_enough_history`: the least needed.
    pub need: Option<u64>,
    /// The first simulated day.
    pub start: String,
    /// Days per period.
    pub period_days: u32,
    /// The work left.
    pub remaining: RemainingOut,
    /// The history drawn from.
    pub history: HistoryOut,
    /// Trials run.
    pub trials: u32,
    /// Seed used.
    pub seed: u64,
    /// The method, in words.
    pub method: String,
    /// 50 / 85 / 95 % answers.
    pub answers: Vec<LevelOut>,
    /// The distribution.
    pub distribution: Vec<BarOut>,
    /// `when`: trials not done within the horizon.
    pub beyond_horizon: u32,
}
