//! Proposals: a change someone may suggest but not make, waiting for the person who decides.

use crate::item::{ItemPatch, NewItem};
use crate::rights::Action;
use crate::{ItemId, ProductId, ProposalId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// Where to move an item in the backlog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// Just before this item.
    Before(ItemId),
    /// Just after this item.
    After(ItemId),
    /// First in the backlog.
    Top,
    /// Last in the backlog.
    Bottom,
}

/// The change a proposal would make when accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// Create an item.
    CreateItem {
        /// The item.
        item: NewItemSpec,
    },
    /// Change fields of an item.
    UpdateItem {
        /// Which item.
        item_id: ItemId,
        /// The change.
        patch: ItemPatch,
    },
    /// Move an item in the backlog.
    MoveItem {
        /// Which item.
        item_id: ItemId,
        /// Where to.
        position: Position,
    },
    /// Delete an item.
    DeleteItem {
        /// Which item.
        item_id: ItemId,
    },
    /// Link two items.
    AddLink {
        /// The source item.
        from: ItemId,
        /// The target item.
        to: ItemId,
        /// The kind of link.
        kind: crate::item::LinkKind,
    },
    /// Remove a link of an item.
    RemoveLink {
        /// The item the link was removed from.
        item_id: ItemId,
        /// The link.
        link_id: crate::LinkId,
    },
    /// Start a sprint (freezing its commitment).
    StartSprint {
        /// The sprint.
        sprint_id: crate::RecordId,
    },
    /// Close a sprint, sending its unfinished items to the backlog or the next sprint.
    CloseSprint {
        /// The sprint.
        sprint_id: crate::RecordId,
        /// Where unfinished items go: `backlog` or `next`.
        destination: crate::sprint::Destination,
        /// Choices per item key, overriding `destination`.
        #[serde(default)]
        items: Vec<(String, crate::sprint::Destination)>,
    },
    /// Replace the product's Definition of Ready.
    SetDefinitionOfReady {
        /// The new definition.
        definition: crate::readiness::DefinitionOfReady,
    },
    /// Replace the product's Definition of Done.
    SetDefinitionOfDone {
        /// The new definition.
        definition: crate::readiness::DefinitionOfDone,
    },
    /// Release a release (the go / no-go), doing `open_items` with its open items.
    ShipRelease {
        /// The release.
        release_id: crate::RecordId,
        /// What to do with its open items, if any.
        open_items: Option<crate::readiness::OpenItems>,
    },
    /// Create an initiative (no id) or replace one's fields and status.
    SetInitiative {
        /// The initiative, or none to create one.
        initiative_id: Option<crate::RecordId>,
        /// Its fields.
        initiative: Box<crate::pm::Initiative>,
        /// Its status.
        status: crate::pm::InitiativeStatus,
    },
    /// Replace an opportunity's scores.
    ScoreOpportunity {
        /// The opportunity.
        opportunity_id: crate::RecordId,
        /// The new scores.
        scores: crate::discovery::Scores,
    },
    /// Promote an opportunity to an epic, adding it to an initiative when given.
    PromoteOpportunity {
        /// The opportunity.
        opportunity_id: crate::RecordId,
        /// The initiative the epic joins.
        initiative_id: Option<crate::RecordId>,
    },
    /// Save a new version of the product's vision board.
    SetVision {
        /// What the new version says.
        fields: crate::vision::VisionFields,
    },
}

/// A [`NewItem`] in a form that can be stored inside a proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewItemSpec {
    /// The item's fields.
    #[serde(flatten)]
    pub fields: NewItemFields,
    /// Where in the backlog.
    pub position: Position,
}

/// The serialisable fields of a [`NewItem`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewItemFields {
    /// Kind.
    pub kind: crate::item::ItemKind,
    /// Parent.
    pub parent_id: Option<ItemId>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Story parts.
    pub story: crate::item::StoryFields,
    /// Criteria.
    pub criteria: Vec<crate::item::Criterion>,
    /// Estimate.
    pub estimate: Option<crate::item::Points>,
    /// Labels.
    pub labels: Vec<String>,
    /// Assignee.
    pub assignee_id: Option<UserId>,
    /// Initial state.
    pub status_id: Option<crate::StateId>,
    /// Sprint.
    #[serde(default)]
    pub sprint_id: Option<crate::RecordId>,
    /// Release.
    #[serde(default)]
    pub release_id: Option<crate::RecordId>,
}

impl From<NewItemFields> for NewItem {
    fn from(f: NewItemFields) -> Self {
        NewItem {
            kind: f.kind,
            parent_id: f.parent_id,
            title: f.title,
            description: f.description,
            story: f.story,
            criteria: f.criteria,
            estimate: f.estimate,
            labels: f.labels,
            assignee_id: f.assignee_id,
            status_id: f.status_id,
            sprint_id: f.sprint_id,
            release_id: f.release_id,
        }
    }
}

impl From<NewItem> for NewItemFields {
    fn from(f: NewItem) -> Self {
        NewItemFields {
            kind: f.kind,
            parent_id: f.parent_id,
            title: f.title,
            description: f.description,
            story: f.story,
            criteria: f.criteria,
            estimate: f.estimate,
            labels: f.labels,
            assignee_id: f.assignee_id,
            status_id: f.status_id,
            sprint_id: f.sprint_id,
            release_id: f.release_id,
        }
    }
}

impl Change {
    /// The item the change concerns, if it concerns an existing one.
    pub fn item_id(&self) -> Option<ItemId> {
        match self {
            Change::CreateItem { .. }
            | Change::StartSprint { .. }
            | Change::CloseSprint { .. }
            | Change::ShipRelease { .. }
            | Change::SetInitiative { .. }
            | Change::SetDefinitionOfReady { .. }
            | Change::SetDefinitionOfDone { .. }
            | Change::ScoreOpportunity { .. }
            | Change::PromoteOpportunity { .. }
            | Change::SetVision { .. } => None,
            Change::UpdateItem { item_id, .. }
            | Change::MoveItem { item_id, .. }
            | Change::DeleteItem { item_id }
            | Change::RemoveLink { item_id, .. }
            | Change::AddLink { from: item_id, .. } => Some(*item_id),
        }
    }
}

/// The life of a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalState {
    /// Waiting for a decision.
    Pending,
    /// Accepted: the change was applied by the decider.
    Accepted,
    /// Declined, with a reason.
    Declined,
    /// Could no longer be applied (the item changed or went away).
    Stale,
}

impl ProposalState {
    /// Wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalState::Pending => "pending",
            ProposalState::Accepted => "accepted",
            ProposalState::Declined => "declined",
            ProposalState::Stale => "stale",
        }
    }

    /// From the storage name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => ProposalState::Pending,
            "accepted" => ProposalState::Accepted,
            "declined" => ProposalState::Declined,
            "stale" => ProposalState::Stale,
            _ => return None,
        })
    }
}

/// A proposal as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// Its id.
    pub id: ProposalId,
    /// The product it belongs to.
    pub product_id: ProductId,
    /// The action whose right the proposer lacked; its decider decides.
    pub action: Action,
    /// The change that accepting applies.
    pub change: Change,
    /// Who proposed.
    pub proposed_by: UserId,
    /// Why, in the proposer's words.
    pub reason: String,
    /// When.
    pub created_at: Timestamp,
    /// Where it stands.
    pub state: ProposalState,
    /// Who decided.
    pub decided_by: Option<UserId>,
    /// When.
    pub decided_at: Option<Timestamp>,
    /// The decider's reason (required to decline).
    pub decision_reason: Option<String>,
    /// A one-line summary for lists ("Move SHOP-7 before SHOP-3").
    pub summary: String,
}
