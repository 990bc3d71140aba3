//! Teams and their sprints: who works together, how much they can take on, and the sprints
//! they commit to. Stored as records; the rules over them live here.

use crate::time::Date;
use crate::{ItemId, ProductId, StateId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// A team: people who plan and deliver together. It belongs to the product it was created in
/// and may serve further products (several teams on one product is a release train).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Team {
    /// Its name, unique within its home product.
    pub name: String,
    /// The products it serves, its home product first.
    pub products: Vec<ProductId>,
    /// Its members.
    #[serde(default)]
    pub members: Vec<TeamMember>,
    /// How its board is laid out.
    #[serde(default)]
    pub board: BoardConfig,
}

/// A member of a team and what they can usually take on in a sprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamMember {
    /// The user.
    pub user_id: UserId,
    /// Story points per sprint, if the team plans in points.
    #[serde(default)]
    pub points: Option<f64>,
    /// Working days per sprint, if the team plans in days.
    #[serde(default)]
    pub days: Option<f64>,
}

/// The layout of a team's board: its columns, each showing one or more workflow states.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BoardConfig {
    /// Columns left to right; empty means one column per workflow state.
    #[serde(default)]
    pub columns: Vec<BoardColumn>,
}

/// One board column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardColumn {
    /// Its heading.
    pub name: String,
    /// The workflow states it shows (a card moved here goes to the first).
    pub states: Vec<StateId>,
    /// Most cards allowed, if limited.
    #[serde(default)]
    pub wip: Option<u32>,
}

/// Where a sprint stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SprintState {
    /// Being planned.
    Planned,
    /// Started: its commitment is frozen, later changes are scope change.
    Active,
    /// Finished.
    Closed,
}

impl SprintState {
    /// Storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SprintState::Planned => "planned",
            SprintState::Active => "active",
            SprintState::Closed => "closed",
        }
    }

    /// From the storage name.
    pub fn parse(field: &str, s: &str) -> crate::Invalid<Self> {
        match s {
            "planned" => Ok(SprintState::Planned),
            "active" => Ok(SprintState::Active),
            "closed" => Ok(SprintState::Closed),
            _ => Err(crate::ValidationError::new(field, "must be one of planned, active, closed")),
        }
    }
}

/// A sprint of a team. Its state is kept in the record's state column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sprint {
    /// Its name ("Sprint 14").
    pub name: String,
    /// What the sprint is for.
    #[serde(default)]
    pub goal: String,
    /// First day.
    pub start: Date,
    /// Last day (included).
    pub end: Date,
    /// Each member's capacity in this sprint.
    #[serde(default)]
    pub capacity: Vec<SprintCapacity>,
    /// What was committed when the sprint started.
    #[serde(default)]
    pub commitment: Option<Commitment>,
    /// The figures kept when the sprint closed.
    #[serde(default)]
    pub summary: Option<SprintSummary>,
}

/// A member's capacity in one sprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SprintCapacity {
    /// The user.
    pub user_id: UserId,
    /// Story points they can take on.
    #[serde(default)]
    pub points: Option<f64>,
    /// Working days available before days off.
    #[serde(default)]
    pub days: Option<f64>,
    /// Days off within the sprint.
    #[serde(default)]
    pub days_off: f64,
}

/// The frozen commitment of a started sprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commitment {
    /// When the sprint started.
    pub at: Timestamp,
    /// The items and their estimates at that moment.
    pub items: Vec<(ItemId, f64)>,
    /// Their points in all.
    pub points: f64,
}

/// The figures of a closed sprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SprintSummary {
    /// When it closed.
    pub at: Timestamp,
    /// Points committed at the start.
    pub committed: f64,
    /// Points of items done at the close.
    pub completed: f64,
    /// Points of items added after the start (at their estimate when added).
    pub added: f64,
    /// Points of items removed after the start.
    pub removed: f64,
    /// Items done at the close.
    pub completed_items: Vec<ItemId>,
    /// Unfinished items and where they went (`backlog` or the next sprint's id).
    pub carried_over: Vec<(ItemId, String)>,
}

/// Where a release stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseState {
    /// Planned.
    Planned,
    /// Shipped.
    Released,
}

impl ReleaseState {
    /// Storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseState::Planned => "planned",
            ReleaseState::Released => "released",
        }
    }

    /// From the storage name.
    pub fn parse(field: &str, s: &str) -> crate::Invalid<Self> {
        match s {
            "planned" => Ok(ReleaseState::Planned),
            "released" => Ok(ReleaseState::Released),
            _ => Err(crate::ValidationError::new(field, "must be planned or released")),
        }
    }
}

/// A release (version) of a product. Its state is kept in the record's state column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    /// Its name ("2.4"), unique within the product.
    pub name: String,
    /// What it is about.
    #[serde(default)]
    pub description: String,
    /// The date it is meant to ship.
    #[serde(default)]
    pub target_date: Option<Date>,
    /// When it shipped.
    #[serde(default)]
    pub released_at: Option<Timestamp>,
}
