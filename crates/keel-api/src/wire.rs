//! Request and response bodies of the JSON API.

use crate::rfc3339;
use keel_domain::event::Event;
use keel_domain::item::{Item, ItemLink};
use keel_domain::product::{Product, Roles};
use keel_domain::proposal::Proposal;
use keel_domain::user::{ApiToken, User};
use keel_domain::workflow::{Workflow, WorkflowState};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// Deserialises a present field (even `null`) as `Some(..)`, so an absent field (`None`) can be
/// told apart from an explicit `null` (`Some(None)`, "clear it").
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Sign-in credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionIn {
    /// E-mail address.
    pub email: String,
    /// Password.
    pub password: String,
}

/// A user as others see them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserOut {
    /// Id.
    pub id: i64,
    /// E-mail.
    pub email: String,
    /// Name.
    pub name: String,
    /// Administrator.
    pub is_admin: bool,
    /// Active.
    pub is_active: bool,
    /// Created (RFC 3339).
    pub created_at: String,
}

impl From<&User> for UserOut {
    fn from(u: &User) -> Self {
        UserOut {
            id: u.id.0,
            email: u.email.to_string(),
            name: u.name.clone(),
            is_admin: u.is_admin,
            is_active: u.is_active,
            created_at: rfc3339(u.created_at),
        }
    }
}

/// The signed-in user and, for a browser session, the CSRF token to send as `X-CSRF-Token`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MeOut {
    /// The user.
    pub user: UserOut,
    /// CSRF token of the session (absent with a bearer token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    /// E-mail.
    pub email: String,
    /// Name; defaults to the e-mail's local part.
    #[serde(default)]
    pub name: Option<String>,
    /// Password, 10 to 200 characters.
    pub password: String,
    /// Administrator.
    #[serde(default)]
    pub is_admin: bool,
}

/// A change to a user (administrators).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchIn {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// Grant or remove administration.
    #[serde(default)]
    pub is_admin: Option<bool>,
    /// Activate or deactivate.
    #[serde(default)]
    pub is_active: Option<bool>,
    /// New password (administrators set it without the old one).
    #[serde(default)]
    pub password: Option<String>,
}

/// A new API token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIn {
    /// A label for the token.
    pub name: String,
}

/// A token as listed (the secret is never shown again).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenOut {
    /// Id.
    pub id: i64,
    /// Label.
    pub name: String,
    /// Created.
    pub created_at: String,
    /// Last used.
    pub last_used_at: Option<String>,
    /// Revoked.
    pub revoked_at: Option<String>,
}

impl From<&ApiToken> for TokenOut {
    fn from(t: &ApiToken) -> Self {
        TokenOut {
            id: t.id.0,
            name: t.name.clone(),
            created_at: rfc3339(t.created_at),
            last_used_at: t.last_used_at.map(rfc3339),
            revoked_at: t.revoked_at.map(rfc3339),
        }
    }
}

/// A token just created: `token` is shown this once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenCreatedOut {
    /// The token, for `Authorization: Bearer …`.
    pub token: String,
    /// The stored record.
    #[serde(flatten)]
    pub record: TokenOut,
}

/// A product.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductOut {
    /// Id.
    pub id: i64,
    /// Key, e.g. `SHOP`.
    pub key: String,
    /// Name.
    pub name: String,
    /// Markdown description.
    pub description: String,
    /// Created.
    pub created_at: String,
    /// Version for optimistic concurrency.
    pub version: i64,
    /// The caller's roles in it.
    pub roles: Vec<String>,
}

impl ProductOut {
    /// From a product and the caller's roles.
    pub fn new(p: &Product, roles: Roles) -> Self {
        ProductOut {
            id: p.id.0,
            key: p.key.to_string(),
            name: p.name.clone(),
            description: p.description.clone(),
            created_at: rfc3339(p.created_at),
            version: p.version,
            roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
        }
    }
}

/// A new product.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductIn {
    /// Key: 2-10 capitals or digits, starting with a letter.
    pub key: String,
    /// Name.
    pub name: String,
    /// Markdown description.
    #[serde(default)]
    pub description: String,
}

/// A change to a product.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatchIn {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New description.
    #[serde(default)]
    pub description: Option<String>,
    /// The version the change is based on (refused with 409 when stale).
    #[serde(default)]
    pub version: Option<i64>,
}

/// A member's roles.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberIn {
    /// One or more of `pm`, `po`, `team`, `stakeholder`.
    pub roles: Vec<String>,
}

/// A member of a product.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MemberOut {
    /// The user.
    pub user: UserOut,
    /// Roles held.
    pub roles: Vec<String>,
}

impl MemberOut {
    /// From a user and roles.
    pub fn new(u: &User, roles: Roles) -> Self {
        MemberOut { user: u.into(), roles: roles.iter().map(|r| r.as_str().to_string()).collect() }
    }
}

/// A workflow state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StateOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// `todo`, `in_progress` or `done`.
    pub category: String,
}

impl From<&WorkflowState> for StateOut {
    fn from(s: &WorkflowState) -> Self {
        StateOut { id: s.id.0, name: s.name.clone(), category: s.category.as_str().to_string() }
    }
}

/// An acceptance criterion.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CriterionOut {
    /// Id, stable within the item.
    pub id: i64,
    /// Text.
    pub text: String,
    /// Met.
    pub checked: bool,
}

/// A criterion in a request: with `id` to keep an existing one, without for a new one.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CriterionIn {
    /// Existing id.
    #[serde(default)]
    pub id: Option<i64>,
    /// Text.
    pub text: String,
    /// Met.
    #[serde(default)]
    pub checked: bool,
}

/// A new criterion appended to an item.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CriterionAddIn {
    /// Text.
    pub text: String,
    /// Why, when the change becomes a proposal.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A change to one criterion.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CriterionPatchIn {
    /// New text.
    #[serde(default)]
    pub text: Option<String>,
    /// Checked or not.
    #[serde(default)]
    pub checked: Option<bool>,
    /// Why, when the change becomes a proposal.
    #[serde(default)]
    pub reason: Option<String>,
    /// The item's version the change is based on (or send `If-Match`): when someone changed the
    /// item meanwhile the change is refused with 409 `stale-version` and its `current_version`.
    #[serde(default)]
    pub version: Option<i64>,
}

/// The user-story parts.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StoryOut {
    /// As a …
    pub as_a: String,
    /// I want …
    pub i_want: String,
    /// So that …
    pub so_that: String,
}

/// A backlog item.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ItemOut {
    /// Key, e.g. `SHOP-42`.
    pub key: String,
    /// Id.
    pub id: i64,
    /// `epic`, `story`, `task`, `bug` or `spike`.
    pub kind: String,
    /// Parent's key.
    pub parent: Option<String>,
    /// Title.
    pub title: String,
    /// Markdown description.
    pub description: String,
    /// Story parts.
    pub story: StoryOut,
    /// Acceptance criteria in order.
    pub criteria: Vec<CriterionOut>,
    /// Story points.
    pub estimate: Option<f64>,
    /// Labels.
    pub labels: Vec<String>,
    /// Assignee's user id.
    pub assignee_id: Option<i64>,
    /// Workflow state's name.
    pub status: String,
    /// The state's category.
    pub status_category: String,
    /// Backlog rank key (orders the backlog; opaque).
    pub rank: String,
    /// The sprint's id.
    pub sprint_id: Option<i64>,
    /// The release's id.
    pub release_id: Option<i64>,
    /// Acceptance: `none`, `ready`, `accepted` or `rejected`.
    pub acceptance: String,
    /// The note of the last acceptance decision (a rejection's reason).
    pub acceptance_note: String,
    /// Ids of the Definition-of-Done checks ticked.
    pub dod: Vec<i64>,
    /// Ids of the hand-ticked Definition-of-Ready checks ticked.
    pub dor: Vec<i64>,
    /// Creator's user id.
    pub created_by: Option<i64>,
    /// Created.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
    /// Version for optimistic concurrency (`If-Match` or `version`).
    pub version: i64,
}

impl ItemOut {
    /// From an item, naming its state from the workflow.
    pub fn new(i: &Item, workflow: &Workflow) -> Self {
        let status = workflow.state(i.status_id).map_or_else(String::new, |s| s.name.clone());
        ItemOut {
            key: i.key.clone(),
            id: i.id.0,
            kind: i.kind.as_str().to_string(),
            parent: i.parent_key.clone(),
            title: i.title.clone(),
            description: i.description.clone(),
            story: StoryOut {
                as_a: i.story.as_a.clone(),
                i_want: i.story.i_want.clone(),
                so_that: i.story.so_that.clone(),
            },
            criteria: i
                .criteria
                .iter()
                .map(|c| CriterionOut { id: c.id, text: c.text.clone(), checked: c.checked })
                .collect(),
            estimate: i.estimate.map(|p| p.value()),
            labels: i.labels.clone(),
            assignee_id: i.assignee_id.map(|u| u.0),
            status,
            status_category: i.category.as_str().to_string(),
            rank: i.rank.to_string(),
            sprint_id: i.sprint_id.map(|s| s.0),
            release_id: i.release_id.map(|r| r.0),
            acceptance: i.acceptance.state.as_str().to_string(),
            acceptance_note: i.acceptance.note.clone(),
            dod: i.dod.clone(),
            dor: i.dor.clone(),
            created_by: i.created_by.map(|u| u.0),
            created_at: rfc3339(i.created_at),
            updated_at: rfc3339(i.updated_at),
            version: i.version,
        }
    }
}

/// Item fields in a create or change request. In a change, an absent field stays as it is and
/// `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemIn {
    /// `epic`, `story` (default), `task`, `bug` or `spike`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Title (required to create).
    #[serde(default)]
    pub title: Option<String>,
    /// Markdown description.
    #[serde(default)]
    pub description: Option<String>,
    /// As a …
    #[serde(default)]
    pub as_a: Option<String>,
    /// I want …
    #[serde(default)]
    pub i_want: Option<String>,
    /// So that …
    #[serde(default)]
    pub so_that: Option<String>,
    /// The whole list of acceptance criteria.
    #[serde(default)]
    pub criteria: Option<Vec<CriterionIn>>,
    /// Story points (`null` clears).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>)]
    pub estimate: Option<Option<f64>>,
    /// Labels.
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// Assignee by e-mail or user id (`null` clears).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub assignee: Option<Option<String>>,
    /// Workflow state by name.
    #[serde(default)]
    pub status: Option<String>,
    /// Parent's key (`null` clears).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub parent: Option<Option<String>>,
    /// Sprint id (`null` takes the item out of its sprint).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub sprint: Option<Option<i64>>,
    /// Release id (`null` takes the item out of its release).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub release: Option<Option<i64>>,
    /// Create before this item (create only).
    #[serde(default)]
    pub before: Option<String>,
    /// Create after this item (create only).
    #[serde(default)]
    pub after: Option<String>,
    /// Create at the top (create only).
    #[serde(default)]
    pub top: Option<bool>,
    /// Create at the bottom (create only; the default).
    #[serde(default)]
    pub bottom: Option<bool>,
    /// Version the change is based on (change only; or send `If-Match`).
    #[serde(default)]
    pub version: Option<i64>,
    /// Why, when the change becomes a proposal.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Where to move an item: exactly one of `before`, `after`, `top`, `bottom`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveIn {
    /// Just before this item's key.
    #[serde(default)]
    pub before: Option<String>,
    /// Just after this item's key.
    #[serde(default)]
    pub after: Option<String>,
    /// To the top.
    #[serde(default)]
    pub top: Option<bool>,
    /// To the bottom.
    #[serde(default)]
    pub bottom: Option<bool>,
    /// Version the move is based on (or send `If-Match`); a stale one answers 409. Ignored in a
    /// proposal's body.
    #[serde(default)]
    pub version: Option<i64>,
    /// Why, when the move becomes a proposal.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A page of items.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ItemPageOut {
    /// Items in backlog order.
    pub items: Vec<ItemOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A link between items.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LinkOut {
    /// Id.
    pub id: i64,
    /// `blocks`, `relates_to` or `duplicates`.
    pub kind: String,
    /// Source key.
    pub from: String,
    /// Target key.
    pub to: String,
    /// The other item's title.
    pub other_title: String,
}

impl From<&ItemLink> for LinkOut {
    fn from(l: &ItemLink) -> Self {
        LinkOut {
            id: l.id.0,
            kind: l.kind.as_str().to_string(),
            from: l.from_key.clone(),
            to: l.to_key.clone(),
            other_title: l.other_title.clone(),
        }
    }
}

/// A new link from the item in the path.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkIn {
    /// `blocks`, `relates_to` or `duplicates`.
    pub kind: String,
    /// Target item's key.
    pub to: String,
    /// Why, when the change becomes a proposal.
    #[serde(default)]
    pub reason: Option<String>,
}

/// One event of the history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventOut {
    /// Sequence number.
    pub id: i64,
    /// When.
    pub at: String,
    /// Who (user id; absent for the system).
    pub actor_id: Option<i64>,
    /// Object kind.
    pub object: String,
    /// Object id.
    pub object_id: i64,
    /// Field, or `created` / `deleted` / `rank`.
    pub field: String,
    /// Value before (any JSON value: a string, a number, an object, or null).
    pub old: serde_json::Value,
    /// Value after (any JSON value).
    pub new: serde_json::Value,
    /// The proposal this change carried out.
    pub proposal_id: Option<i64>,
}

impl From<&Event> for EventOut {
    fn from(e: &Event) -> Self {
        EventOut {
            id: e.id,
            at: rfc3339(e.at),
            actor_id: e.actor_id.map(|u| u.0),
            object: e.object.as_str().to_string(),
            object_id: e.object_id,
            field: e.field.clone(),
            old: e.old.clone(),
            new: e.new.clone(),
            proposal_id: e.proposal_id.map(|p| p.0),
        }
    }
}

/// A page of history, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryOut {
    /// Events.
    pub events: Vec<EventOut>,
    /// Pass as `before` for older events.
    pub next_before: Option<i64>,
}

/// A proposal.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProposalOut {
    /// Id.
    pub id: i64,
    /// The action whose right the proposer lacked.
    pub action: String,
    /// One-line summary.
    pub summary: String,
    /// The change accepting applies.
    #[schema(value_type = Object)]
    pub change: serde_json::Value,
    /// Proposer's user id.
    pub proposed_by: i64,
    /// The proposer's reason.
    pub reason: String,
    /// When.
    pub created_at: String,
    /// `pending`, `accepted`, `declined` or `stale`.
    pub state: String,
    /// Decider's user id.
    pub decided_by: Option<i64>,
    /// When decided.
    pub decided_at: Option<String>,
    /// The decider's reason.
    pub decision_reason: Option<String>,
}

impl From<&Proposal> for ProposalOut {
    fn from(p: &Proposal) -> Self {
        ProposalOut {
            id: p.id.0,
            action: p.action.as_str().to_string(),
            summary: p.summary.clone(),
            change: serde_json::to_value(&p.change).unwrap_or_default(),
            proposed_by: p.proposed_by.0,
            reason: p.reason.clone(),
            created_at: rfc3339(p.created_at),
            state: p.state.as_str().to_string(),
            decided_by: p.decided_by.map(|u| u.0),
            decided_at: p.decided_at.map(rfc3339),
            decision_reason: p.decision_reason.clone(),
        }
    }
}

/// A page of proposals.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProposalPageOut {
    /// Newest first.
    pub proposals: Vec<ProposalOut>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// An explicit proposal: a change put to the decider even by someone who could make it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalIn {
    /// `create_item`, `update_item`, `move_item` or `delete_item`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The item (all but `create_item`).
    #[serde(default)]
    pub item: Option<String>,
    /// Fields to create or change (`create_item`, `update_item`).
    #[serde(default)]
    pub fields: Option<ItemIn>,
    /// Move target (`move_item`).
    #[serde(default, rename = "move")]
    pub move_: Option<MoveIn>,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A decision's reason.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    /// Why (required to decline).
    #[serde(default)]
    pub reason: Option<String>,
}

/// The result of accepting a proposal.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AcceptedOut {
    /// The proposal, now accepted.
    pub proposal: ProposalOut,
    /// The item created or changed, when there is one.
    pub item: Option<ItemOut>,
}

/// Health answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HealthOut {
    /// `ok`.
    pub status: String,
    /// `sqlite` or `postgres` (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}
