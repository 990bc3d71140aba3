//! Wire types: initiatives and the roadmap, published roadmaps.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Creates or changes an initiative; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InitiativeIn {
    /// Its name (required to create).
    pub title: Option<String>,
    /// What and why, in Markdown.
    pub description: Option<String>,
    /// Owner's user id (`null` clears).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub owner: Option<Option<i64>>,
    /// `now`, `next` or `later`.
    pub lane: Option<String>,
    /// `proposed`, `planned`, `in_progress`, `done` or `dropped`.
    pub status: Option<String>,
    /// First day, `YYYY-MM-DD` (`null` clears).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub start: Option<Option<String>>,
    /// Last day, `YYYY-MM-DD` (`null` clears).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub end: Option<Option<String>>,
    /// A quarter such as `2026-Q3`, setting start and end.
    pub quarter: Option<String>,
    /// Goal ids (goals of the same product).
    pub goals: Option<Vec<i64>>,
    /// Epic keys (epics of the same product).
    pub epics: Option<Vec<String>>,
    /// Planned budget (`null` clears).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>)]
    pub budget_planned: Option<Option<f64>>,
    /// Spent budget (`null` clears).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>)]
    pub budget_spent: Option<Option<f64>>,
    /// Confidence, 0 to 100 (`null` clears).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub confidence: Option<Option<i64>>,
    /// Shown on the published roadmap.
    pub public: Option<bool>,
    /// Title on the published roadmap.
    pub public_title: Option<String>,
    /// Description on the published roadmap (Markdown).
    pub public_description: Option<String>,
    /// The version read (a stale one is a 409); changes only.
    pub version: Option<i64>,
    /// Why (kept on a proposal).
    pub reason: Option<String>,
}

/// Delivery progress from the epics' stories.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = InitiativeProgressOut)]
pub struct ProgressOut {
    /// Points of done stories.
    pub done_points: f64,
    /// Points of all stories.
    pub total_points: f64,
    /// Stories without an estimate.
    pub unestimated: u32,
    /// Done share, whole percent.
    pub percent: u8,
}

/// An initiative.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InitiativeOut {
    /// Id.
    pub id: i64,
    /// Product id.
    pub product_id: i64,
    /// Title.
    pub title: String,
    /// Description (Markdown).
    pub description: String,
    /// Owner's user id.
    pub owner: Option<i64>,
    /// Lane.
    pub lane: String,
    /// Status.
    pub status: String,
    /// First day.
    pub start: Option<String>,
    /// Last day.
    pub end: Option<String>,
    /// Quarters its timeframe spans (`2026-Q3`).
    pub quarters: Vec<String>,
    /// Goal ids.
    pub goals: Vec<i64>,
    /// Epic keys.
    pub epics: Vec<String>,
    /// Planned budget.
    pub budget_planned: Option<f64>,
    /// Spent budget.
    pub budget_spent: Option<f64>,
    /// Confidence 0-100.
    pub confidence: Option<u8>,
    /// Shown on the published roadmap.
    pub public: bool,
    /// Public title.
    pub public_title: String,
    /// Public description.
    pub public_description: String,
    /// Delivery progress.
    pub progress: ProgressOut,
    /// Timeline warnings (its end past a linked goal's due date).
    pub warnings: Vec<String>,
    /// Version.
    pub version: i64,
}

/// A roadmap lane.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = RoadmapLaneOut)]
pub struct LaneOut {
    /// `now`, `next` or `later`.
    pub lane: String,
    /// Its initiatives.
    pub initiatives: Vec<InitiativeOut>,
}

/// One quarter of the timeline.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QuarterOut {
    /// `2026-Q3`.
    pub quarter: String,
    /// First day.
    pub start: String,
    /// Last day.
    pub end: String,
    /// Ids of the initiatives whose timeframe overlaps it.
    pub initiatives: Vec<i64>,
}

/// A product's roadmap.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoadmapOut {
    /// Product key.
    pub product: String,
    /// Lanes now, next, later.
    pub lanes: Vec<LaneOut>,
    /// The timeline by quarter.
    pub timeline: Vec<QuarterOut>,
    /// Every warning of its initiatives, prefixed with their titles.
    pub warnings: Vec<String>,
}

/// A public initiative on a published roadmap: only its public wording.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicInitiativeOut {
    /// Id.
    pub id: i64,
    /// Public title.
    pub title: String,
    /// Public description (Markdown).
    pub description: String,
    /// Lane.
    pub lane: String,
    /// Status.
    pub status: String,
    /// First day.
    pub start: Option<String>,
    /// Last day.
    pub end: Option<String>,
    /// Quarters spanned.
    pub quarters: Vec<String>,
}

/// A published roadmap.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublishedRoadmapOut {
    /// Product name.
    pub product: String,
    /// Its public initiatives by lane.
    pub lanes: Vec<PublicLaneOut>,
}

/// A lane of a published roadmap.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicLaneOut {
    /// `now`, `next` or `later`.
    pub lane: String,
    /// Its initiatives.
    pub initiatives: Vec<PublicInitiativeOut>,
}

/// A published link.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicationOut {
    /// The token.
    pub token: String,
    /// The JSON at `/api/v1/roadmaps/published/{token}`.
    pub api_url: String,
    /// The page at `/roadmaps/{token}`.
    pub page_url: String,
}
