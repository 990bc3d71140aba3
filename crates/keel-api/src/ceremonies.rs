//! Wire types: stand-up, sprint review, retrospective.

use keel_domain::item::Item;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An item as the ceremonies list it: enough to name it and tell where it stands.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CeremonyItemOut {
    /// Key, e.g. `SHOP-42`.
    pub key: String,
    /// Title.
    pub title: String,
    /// `epic`, `story`, `task`, `bug` or `spike`.
    pub kind: String,
    /// Workflow state's name.
    pub status: String,
    /// The state's category: `todo`, `in_progress` or `done`.
    pub status_category: String,
    /// Story points.
    pub estimate: Option<f64>,
    /// Assignee's user id.
    pub assignee_id: Option<i64>,
    /// Acceptance: `none`, `ready`, `accepted` or `rejected`.
    pub acceptance: String,
}

impl CeremonyItemOut {
    /// From an item and its state's name.
    pub fn new(i: &Item, status: &str) -> Self {
        CeremonyItemOut {
            key: i.key.clone(),
            title: i.title.clone(),
            kind: i.kind.as_str().to_string(),
            status: status.to_string(),
            status_category: i.category.as_str().to_string(),
            estimate: i.estimate.map(|p| p.value()),
            assignee_id: i.assignee_id.map(|u| u.0),
            acceptance: i.acceptance.state.as_str().to_string(),
        }
    }
}

/// A team or sprint named by id.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NamedOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// An item that moved in the stand-up's stretch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MovedOut {
    /// The item as it is now.
    pub item: CeremonyItemOut,
    /// The state it was in at the start of the stretch.
    pub from: String,
    /// The state it moved to last.
    pub to: String,
    /// The category of `to`.
    pub to_category: String,
    /// When it last moved (RFC 3339).
    pub at: String,
    /// Who moved it last (user id).
    pub by: Option<i64>,
    /// Their name.
    pub by_name: Option<String>,
    /// How many moves in the stretch.
    pub moves: usize,
}

/// The item blocking another.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockerOut {
    /// Its key.
    pub key: String,
    /// Its title.
    pub title: String,
}

/// A blocked item and what blocks it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockedOut {
    /// The blocked item.
    pub item: CeremonyItemOut,
    /// The open items blocking it.
    pub blockers: Vec<BlockerOut>,
}

/// One team member's part of the stand-up.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StandupPersonOut {
    /// User id.
    pub user_id: i64,
    /// Name.
    pub name: String,
    /// What moved since the previous working day: status changes they made or of items assigned
    /// to them, one entry per item, most recent first.
    pub moved: Vec<MovedOut>,
    /// What they hold in progress (in the active sprint if there is one).
    pub in_progress: Vec<CeremonyItemOut>,
    /// Their items that open items block.
    pub blocked: Vec<BlockedOut>,
}

/// A team's daily stand-up.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StandupOut {
    /// The team.
    pub team: NamedOut,
    /// The day (`YYYY-MM-DD`).
    pub date: String,
    /// The previous working day, where "since yesterday" starts (Monday looks back to Friday).
    pub since: String,
    /// The day before `date`, for paging.
    pub previous: String,
    /// The day after `date`, for paging.
    pub next: String,
    /// The active sprint, if any.
    pub sprint: Option<NamedOut>,
    /// One entry per team member.
    pub people: Vec<StandupPersonOut>,
}

/// The published or drafted review summary.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReviewSummaryOut {
    /// The draft (Markdown); absent for readers who only see what is published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draft: Option<String>,
    /// What stakeholders see (Markdown), once published.
    pub published: Option<String>,
    /// When it was last published (RFC 3339).
    pub published_at: Option<String>,
    /// Who last published it (user id).
    pub published_by: Option<i64>,
    /// The record's version (send it back as `version`).
    pub version: i64,
}

/// A sprint's review: its done items split by acceptance, the unfinished ones, the points and
/// the summary.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReviewOut {
    /// The sprint.
    pub sprint: NamedOut,
    /// Its state: `planned`, `active` or `closed`.
    pub state: String,
    /// Its goal.
    pub goal: String,
    /// The team.
    pub team: NamedOut,
    /// Done and accepted by the Product Owner.
    pub accepted: Vec<CeremonyItemOut>,
    /// Done, waiting for acceptance.
    pub waiting: Vec<CeremonyItemOut>,
    /// Not done.
    pub unfinished: Vec<CeremonyItemOut>,
    /// Points of done items.
    pub points_done: f64,
    /// Points of accepted items.
    pub points_accepted: f64,
    /// Points committed: the commitment frozen at the start, else the sprint's current scope.
    pub points_committed: f64,
    /// `commitment` when `points_committed` is the frozen commitment, `scope` otherwise.
    pub committed_from: String,
    /// The summary, if one was written (and, for stakeholders, published).
    pub summary: Option<ReviewSummaryOut>,
    /// Whether the caller may write and publish the summary.
    pub can_write: bool,
}

/// Saves a sprint review's summary; `publish` makes it visible to stakeholders.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewIn {
    /// The summary (Markdown, up to 20,000 characters).
    pub summary: String,
    /// Publish it to stakeholders now (default: save as a draft).
    #[serde(default)]
    pub publish: bool,
    /// The version read, to refuse a stale write.
    #[serde(default)]
    pub version: Option<i64>,
}

/// A retrospective card.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RetroCardOut {
    /// Id.
    pub id: i64,
    /// `went_well`, `to_improve` or `actions`.
    pub column: String,
    /// Text.
    pub text: String,
    /// Author's user id.
    pub author_id: i64,
    /// Author's name.
    pub author_name: String,
    /// How many votes.
    pub votes: usize,
    /// Whether the caller voted for it.
    pub voted: bool,
    /// The backlog item made from it (its key).
    pub item: Option<String>,
    /// The proposal to make an item from it, if one was made.
    pub proposal_id: Option<i64>,
    /// Where that proposal stands: `pending`, `accepted`, `declined` or `stale`.
    pub proposal_state: Option<String>,
    /// Version.
    pub version: i64,
    /// Created (RFC 3339).
    pub created_at: String,
}

/// One column of the retrospective board.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RetroColumnOut {
    /// `went_well`, `to_improve` or `actions`.
    pub column: String,
    /// Heading.
    pub label: String,
    /// Cards, most votes first.
    pub cards: Vec<RetroCardOut>,
}

/// A sprint's retrospective board.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RetroOut {
    /// The sprint.
    pub sprint: NamedOut,
    /// The three columns, left to right.
    pub columns: Vec<RetroColumnOut>,
    /// Whether the caller may add cards and vote.
    pub can_write: bool,
}

/// A new card.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetroCardIn {
    /// `went_well`, `to_improve` or `actions`.
    pub column: String,
    /// Text, 1 to 1000 characters.
    pub text: String,
}

/// A change to a card.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetroCardPatchIn {
    /// New text.
    #[serde(default)]
    pub text: Option<String>,
    /// New column.
    #[serde(default)]
    pub column: Option<String>,
    /// The version read.
    #[serde(default)]
    pub version: Option<i64>,
}

/// Making a backlog item from a card.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToItemIn {
    /// `task` (default) or `story`.
    #[serde(default)]
    pub kind: Option<String>,
}

/// The item made from a card, and the card.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ToItemOut {
    /// The new item.
    pub item: CeremonyItemOut,
    /// The card, now naming the item.
    pub card: RetroCardOut,
}
