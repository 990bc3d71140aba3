//! Wire types: boards (scrum and kanban), WIP limits, workflow editing.

use crate::rfc3339;
use crate::wire::StateOut;
use keel_domain::board::BreachRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The query of `GET /teams/{id}/board`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BoardQueryIn {
    /// `scrum` (the active sprint, the default) or `kanban`.
    #[serde(default)]
    pub mode: Option<String>,
    /// `assignee`, `epic` or `none` (the default).
    #[serde(default)]
    pub swimlanes: Option<String>,
    /// `mine`, `blocked` or `bugs`.
    #[serde(default)]
    pub filter: Option<String>,
    /// Only cards with this label.
    #[serde(default)]
    pub label: Option<String>,
}

/// A team, as a board names it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BoardTeamOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Its home product's key (the workflow the board is laid out over).
    pub product: String,
    /// Version of the team record (send with `PUT /teams/{id}/board`).
    pub version: i64,
}

/// The sprint a scrum board shows.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BoardSprintOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Goal.
    pub goal: String,
    /// First day.
    pub start: String,
    /// Last day.
    pub end: String,
}

/// One column of a board.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ColumnOut {
    /// Its name (moves name it).
    pub name: String,
    /// The workflow states it shows; a card moved here goes to the first.
    pub states: Vec<StateOut>,
    /// Most cards allowed, if limited.
    pub wip: Option<u32>,
    /// Cards in it (before quick filters: what the limit counts).
    pub count: u32,
    /// More cards than its limit.
    pub over_limit: bool,
    /// At or over its limit: a card moved in needs a reason.
    pub full: bool,
}

/// Someone on a card.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CardUserOut {
    /// User id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// An epic on a card.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CardEpicOut {
    /// Key.
    pub key: String,
    /// Title.
    pub title: String,
}

/// One card.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CardOut {
    /// Item key.
    pub key: String,
    /// Title.
    pub title: String,
    /// Kind.
    pub kind: String,
    /// Story points.
    pub estimate: Option<f64>,
    /// Assignee.
    pub assignee: Option<CardUserOut>,
    /// Epic.
    pub epic: Option<CardEpicOut>,
    /// Blocked by an open item.
    pub blocked: bool,
    /// The keys of the open items blocking it.
    pub blocked_by: Vec<String>,
    /// Labels.
    pub labels: Vec<String>,
    /// Its workflow state's name.
    pub status: String,
    /// Index of its column.
    pub column: usize,
    /// Index of its lane.
    pub lane: usize,
    /// Item version.
    pub version: i64,
}

/// One swimlane.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LaneOut {
    /// `assignee:<id>`, `epic:<key>` or `none`.
    pub key: String,
    /// Heading (empty without swimlanes).
    pub title: String,
    /// For each column, the keys of its cards in order.
    pub columns: Vec<Vec<String>>,
}

/// A team's board.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BoardOut {
    /// The team.
    pub team: BoardTeamOut,
    /// `scrum` or `kanban`.
    pub mode: String,
    /// What the board shows.
    pub scope: String,
    /// The sprint shown (scrum).
    pub sprint: Option<BoardSprintOut>,
    /// `assignee`, `epic` or `none`.
    pub swimlanes: String,
    /// Quick filter applied.
    pub filter: Option<String>,
    /// Label filter applied.
    pub label: Option<String>,
    /// Columns left to right.
    pub columns: Vec<ColumnOut>,
    /// Lanes top to bottom.
    pub lanes: Vec<LaneOut>,
    /// Cards after filters, in backlog order.
    pub cards: Vec<CardOut>,
}

/// One column of a board layout.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnIn {
    /// Name, 1 to 40 characters, unique on the board.
    pub name: String,
    /// Workflow states by name or id; each state in at most one column.
    pub states: Vec<String>,
    /// Most cards allowed (at least 1); absent for no limit.
    #[serde(default)]
    pub wip: Option<i64>,
}

/// A board layout.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BoardConfigIn {
    /// Columns left to right; empty for one column per workflow state.
    pub columns: Vec<ColumnIn>,
    /// The team record's version read (refuses a stale write).
    #[serde(default)]
    pub version: Option<i64>,
}

/// A card move.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BoardMoveIn {
    /// Item key.
    pub key: String,
    /// Target column's name.
    pub column: String,
    /// Place it before this item (when the caller may reorder the backlog).
    #[serde(default)]
    pub before: Option<String>,
    /// Why a column at its WIP limit takes the card (required then).
    #[serde(default)]
    pub reason: Option<String>,
    /// The item's version the move is based on (or send `If-Match`): when someone changed the
    /// item meanwhile the move is refused with 409 `stale-version` and its `current_version`.
    #[serde(default)]
    pub version: Option<i64>,
}

/// A recorded WIP-limit breach.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BreachOut {
    /// Record id.
    pub id: i64,
    /// Item key.
    pub item: String,
    /// State left.
    pub from: String,
    /// State entered.
    pub to: String,
    /// Column.
    pub column: String,
    /// Its limit.
    pub limit: u32,
    /// Cards in it before the move.
    pub count: u32,
    /// The reason given.
    pub reason: String,
    /// Who moved the card (user id).
    pub by: Option<i64>,
    /// When (RFC 3339).
    pub at: String,
}

impl BreachOut {
    /// From the stored record's id, fields, author and time.
    pub fn new(id: i64, r: &BreachRecord, by: Option<i64>, at: keel_domain::Timestamp) -> Self {
        BreachOut {
            id,
            item: r.item_key.clone(),
            from: r.from.clone(),
            to: r.to.clone(),
            column: r.breach.column.clone(),
            limit: r.breach.limit,
            count: r.breach.count,
            reason: r.breach.reason.clone(),
            by,
            at: rfc3339(at),
        }
    }
}

/// The answer to a move that was applied.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BoardMoveOut {
    /// Item key.
    pub key: String,
    /// Its state now.
    pub status: String,
    /// Its version now.
    pub version: i64,
    /// The WIP breach recorded, when the column was full.
    pub breach: Option<BreachOut>,
}

/// One state of an edited workflow.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowStateIn {
    /// The existing state's id; absent for a new state.
    #[serde(default)]
    pub id: Option<i64>,
    /// Name, 1 to 40 characters, unique in the product.
    pub name: String,
    /// `todo`, `in_progress` or `done`.
    pub category: String,
}

/// Where the items of a removed state go.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemapIn {
    /// The removed state, by name or id.
    pub from: String,
    /// A kept state, by its new or old name, or id.
    pub to: String,
}

/// A whole workflow: its states in order, and targets for the removed ones.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowIn {
    /// States left to right; at least one `todo` and one `done`.
    pub states: Vec<WorkflowStateIn>,
    /// For every state left out: where its items go.
    #[serde(default)]
    pub remap: Vec<RemapIn>,
    /// The product's version read (refuses a stale write).
    #[serde(default)]
    pub version: Option<i64>,
}
