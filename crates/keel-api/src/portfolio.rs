//! Wire types: the portfolio, every product of the caller side by side.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The caller's portfolio.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PortfolioOut {
    /// Every product the caller is a member of (an administrator: every product), by key.
    pub products: Vec<PortfolioProductOut>,
}

/// One product in the portfolio.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PortfolioProductOut {
    /// Product key.
    pub key: String,
    /// Product name.
    pub name: String,
    /// The caller's roles there (`pm`, `po`, `team`, `stakeholder`; empty for an administrator
    /// who is no member).
    pub roles: Vec<String>,
    /// The current vision statement (Markdown); `null` until the vision is saved.
    pub vision: Option<String>,
    /// The vision's version number (0 until saved).
    pub vision_version: i64,
    /// Goals, due date first (undated last).
    pub goals: Vec<PortfolioGoalOut>,
    /// Whether `lanes` is the published roadmap (the caller is a stakeholder only).
    pub public_roadmap: bool,
    /// The roadmap lanes now, next, later (dropped initiatives left out).
    pub lanes: Vec<PortfolioLaneOut>,
    /// Releases: unshipped by target date (undated last), then shipped, latest first.
    pub releases: Vec<PortfolioReleaseOut>,
    /// The active sprint of each team serving the product (empty for stakeholders).
    pub sprints: Vec<PortfolioSprintOut>,
}

/// A goal with its progress.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PortfolioGoalOut {
    /// Goal id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Due date `YYYY-MM-DD`.
    pub due: Option<String>,
    /// Mean progress of its key results with data, 0-100 %.
    pub progress: Option<f64>,
    /// How many key results it has.
    pub key_results: usize,
}

/// A roadmap lane.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PortfolioLaneOut {
    /// `now`, `next` or `later`.
    pub lane: String,
    /// Its initiatives.
    pub initiatives: Vec<PortfolioInitiativeOut>,
}

/// An initiative on a lane.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PortfolioInitiativeOut {
    /// Initiative id.
    pub id: i64,
    /// Title (the public title on a published roadmap).
    pub title: String,
    /// `proposed`, `planned`, `in_progress` or `done`.
    pub status: String,
    /// First day.
    pub start: Option<String>,
    /// Last day.
    pub end: Option<String>,
}

/// A release.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PortfolioReleaseOut {
    /// Release id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Target date.
    pub target_date: Option<String>,
    /// When it shipped (RFC 3339).
    pub released_at: Option<String>,
}

/// A team's active sprint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PortfolioSprintOut {
    /// Sprint id.
    pub id: i64,
    /// The team's name.
    pub team: String,
    /// The sprint's name.
    pub name: String,
    /// First day.
    pub start: String,
    /// Last day.
    pub end: String,
}
