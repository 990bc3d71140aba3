//! The Product Manager's objects that several parts of Keel refer to: goals (with their key
//! results) and initiatives. Stored as records; each feature module keeps its own rules.

use crate::time::Date;
use crate::{ItemId, RecordId, UserId};
use serde::{Deserialize, Serialize};

/// A goal (objective) of a product, with the key results that measure it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Goal {
    /// What the product wants to achieve ("Make checkout effortless").
    pub title: String,
    /// Why, in Markdown.
    #[serde(default)]
    pub description: String,
    /// When it should be reached.
    #[serde(default)]
    pub due: Option<Date>,
    /// The key results.
    #[serde(default)]
    pub key_results: Vec<KeyResult>,
}

/// A key result of a goal: one measurable outcome, tracked by a KPI.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyResult {
    /// Stable within its goal.
    pub id: i64,
    /// What is measured ("Checkout conversion above 45 %").
    pub title: String,
    /// The KPI record it tracks.
    #[serde(default)]
    pub kpi_id: Option<RecordId>,
}

/// Where an initiative stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitiativeStatus {
    /// Suggested, not decided.
    #[default]
    Proposed,
    /// Decided and scheduled.
    Planned,
    /// Being delivered.
    InProgress,
    /// Delivered.
    Done,
    /// Given up.
    Dropped,
}

impl InitiativeStatus {
    /// Every status, in order.
    pub const ALL: [InitiativeStatus; 5] = [
        InitiativeStatus::Proposed,
        InitiativeStatus::Planned,
        InitiativeStatus::InProgress,
        InitiativeStatus::Done,
        InitiativeStatus::Dropped,
    ];

    /// Wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            InitiativeStatus::Proposed => "proposed",
            InitiativeStatus::Planned => "planned",
            InitiativeStatus::InProgress => "in_progress",
            InitiativeStatus::Done => "done",
            InitiativeStatus::Dropped => "dropped",
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> crate::Invalid<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| {
            crate::ValidationError::new(field, "must be one of proposed, planned, in_progress, done, dropped")
        })
    }
}

/// A roadmap lane.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    /// Being worked on now.
    Now,
    /// Up next.
    Next,
    /// Later.
    #[default]
    Later,
}

impl Lane {
    /// Every lane, in order.
    pub const ALL: [Lane; 3] = [Lane::Now, Lane::Next, Lane::Later];

    /// Wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Now => "now",
            Lane::Next => "next",
            Lane::Later => "later",
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> crate::Invalid<Self> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| crate::ValidationError::new(field, "must be one of now, next, later"))
    }
}

/// An initiative: a bet or theme on the roadmap, serving goals, delivered by epics. Its status
/// is kept in the record's state column.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Initiative {
    /// Its name.
    pub title: String,
    /// What and why, in Markdown.
    #[serde(default)]
    pub description: String,
    /// Who owns it.
    #[serde(default)]
    pub owner: Option<UserId>,
    /// Its roadmap lane.
    #[serde(default)]
    pub lane: Lane,
    /// First day of its timeframe.
    #[serde(default)]
    pub start: Option<Date>,
    /// Last day of its timeframe.
    #[serde(default)]
    pub end: Option<Date>,
    /// The goal records it serves.
    #[serde(default)]
    pub goals: Vec<RecordId>,
    /// The epics that deliver it.
    #[serde(default)]
    pub epics: Vec<ItemId>,
}
