//! The history: every change to every object, appended in the same transaction as the change.
//! Metrics are computed from it, so it records facts (who, when, what, before, after), never
//! derived figures.

use crate::{ProductId, ProposalId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kinds of object whose changes are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A user account.
    User,
    /// A product (and its workflow).
    Product,
    /// A membership (object id = user id).
    Member,
    /// A backlog item.
    Item,
    /// A link between items.
    Link,
    /// A proposal.
    Proposal,
    /// An API token.
    Token,
    /// A product's vision board (one record, versions as events and data).
    Vision,
    /// A goal of a product.
    Goal,
    /// A KPI and its measurements.
    Kpi,
    /// An initiative on the roadmap.
    Initiative,
    /// A piece of customer feedback.
    Feedback,
    /// An opportunity: a problem worth solving.
    Opportunity,
    /// A team.
    Team,
    /// A sprint of a team.
    Sprint,
    /// A release (version) of a product.
    Release,
    /// A card on a sprint's retrospective board.
    RetroCard,
    /// A planning-poker round on an item.
    Poker,
    /// A question to the Product Owner on an item.
    Question,
    /// A product setting kept as a record (Definition of Ready, Definition of Done).
    Setting,
    /// The review of a sprint: the summary published to stakeholders.
    Review,
    /// A card moved into a board column at its WIP limit, with the reason given.
    WipBreach,
    /// A product's competitor matrix (one record per product).
    CompetitorMatrix,
    /// A stakeholder of a product, with their contact log.
    Stakeholder,
    /// An update for a product's stakeholders (draft or published).
    StakeholderUpdate,
    /// A product's launch checklist template (one record per product).
    LaunchTemplate,
    /// A release's launch checklist and go / no-go decisions (one record per release).
    LaunchChecklist,
    /// The Product Manager's edited sections of a PRD (one record per initiative or epic).
    Prd,
    /// An outgoing webhook of a product (its secret is never recorded).
    Webhook,
    /// A comment on an item, initiative, opportunity, feedback or release.
    Comment,
    /// A notification in someone's inbox.
    Notification,
    /// Someone watching (or having stopped watching) an object.
    Watch,
}

impl ObjectKind {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::User => "user",
            ObjectKind::Product => "product",
            ObjectKind::Member => "member",
            ObjectKind::Item => "item",
            ObjectKind::Link => "link",
            ObjectKind::Proposal => "proposal",
            ObjectKind::Token => "token",
            ObjectKind::Vision => "vision",
            ObjectKind::Goal => "goal",
            ObjectKind::Kpi => "kpi",
            ObjectKind::Initiative => "initiative",
            ObjectKind::Feedback => "feedback",
            ObjectKind::Opportunity => "opportunity",
            ObjectKind::Team => "team",
            ObjectKind::Sprint => "sprint",
            ObjectKind::Release => "release",
            ObjectKind::RetroCard => "retro_card",
            ObjectKind::Poker => "poker",
            ObjectKind::Question => "question",
            ObjectKind::Setting => "setting",
            ObjectKind::Review => "review",
            ObjectKind::WipBreach => "wip_breach",
            ObjectKind::CompetitorMatrix => "competitor_matrix",
            ObjectKind::Stakeholder => "stakeholder",
            ObjectKind::StakeholderUpdate => "stakeholder_update",
            ObjectKind::LaunchTemplate => "launch_template",
            ObjectKind::LaunchChecklist => "launch_checklist",
            ObjectKind::Prd => "prd",
            ObjectKind::Webhook => "webhook",
            ObjectKind::Comment => "comment",
            ObjectKind::Notification => "notification",
            ObjectKind::Watch => "watch",
        }
    }

    /// From the storage name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "user" => ObjectKind::User,
            "product" => ObjectKind::Product,
            "member" => ObjectKind::Member,
            "item" => ObjectKind::Item,
            "link" => ObjectKind::Link,
            "proposal" => ObjectKind::Proposal,
            "token" => ObjectKind::Token,
            "vision" => ObjectKind::Vision,
            "goal" => ObjectKind::Goal,
            "kpi" => ObjectKind::Kpi,
            "initiative" => ObjectKind::Initiative,
            "feedback" => ObjectKind::Feedback,
            "opportunity" => ObjectKind::Opportunity,
            "team" => ObjectKind::Team,
            "sprint" => ObjectKind::Sprint,
            "release" => ObjectKind::Release,
            "retro_card" => ObjectKind::RetroCard,
            "poker" => ObjectKind::Poker,
            "question" => ObjectKind::Question,
            "setting" => ObjectKind::Setting,
            "review" => ObjectKind::Review,
            "wip_breach" => ObjectKind::WipBreach,
            "competitor_matrix" => ObjectKind::CompetitorMatrix,
            "stakeholder" => ObjectKind::Stakeholder,
            "stakeholder_update" => ObjectKind::StakeholderUpdate,
            "launch_template" => ObjectKind::LaunchTemplate,
            "launch_checklist" => ObjectKind::LaunchChecklist,
            "prd" => ObjectKind::Prd,
            "webhook" => ObjectKind::Webhook,
            "comment" => ObjectKind::Comment,
            "notification" => ObjectKind::Notification,
            "watch" => ObjectKind::Watch,
            _ => return None,
        })
    }
}

/// One field's change: its name, the value before and the value after (JSON; `null` when absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field, or a pseudo-field for whole-object events: `created`, `deleted`, `rank`.
    pub field: &'static str,
    /// Value before.
    pub old: Value,
    /// Value after.
    pub new: Value,
}

impl FieldChange {
    /// A change of `field` from `old` to `new`.
    pub fn new(field: &'static str, old: Value, new: Value) -> Self {
        FieldChange { field, old, new }
    }
}

/// An event as stored and read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Its sequence number, increasing in commit order within a database.
    pub id: i64,
    /// The product it belongs to, if any (user and token events have none).
    pub product_id: Option<ProductId>,
    /// The kind of object changed.
    pub object: ObjectKind,
    /// The object's id.
    pub object_id: i64,
    /// Who made the change (`None`: the system itself, e.g. start-up or import).
    pub actor_id: Option<UserId>,
    /// When.
    pub at: Timestamp,
    /// What changed.
    pub field: String,
    /// Value before.
    pub old: Value,
    /// Value after.
    pub new: Value,
    /// The proposal this change carried out, when it was proposed by someone else.
    pub proposal_id: Option<ProposalId>,
}
