//! Wire types: definition of Ready and Done, acceptance, bulk edit, releases.

use crate::wire::{ItemOut, ProposalOut};
use crate::{rfc3339, Problem};
use keel_domain::readiness::{
    DefinitionOfDone, DefinitionOfReady, DoneCheck, NotesSection, ReadyCheck, ReadyRule, ReleaseProgress,
};
use keel_domain::sprint::Release;
use keel_domain::{Timestamp, ValidationError};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// One Definition-of-Ready check.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReadyCheckOut {
    /// Stable id (items list the hand-ticked ones they have ticked in `dor`).
    pub id: i64,
    /// `has_criteria`, `estimated`, `max_points`, `not_blocked`, `has_epic` or `manual`.
    pub rule: String,
    /// For `max_points`: the limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<f64>,
    /// For `manual`: the statement ticked by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The check as a person reads it.
    pub description: String,
}

/// A product's Definition of Ready.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DorOut {
    /// The checks in order.
    pub checks: Vec<ReadyCheckOut>,
    /// Version to send back with a change (0 while the product uses the default).
    pub version: i64,
}

impl DorOut {
    /// From the definition and its record's version.
    pub fn new(d: &DefinitionOfReady, version: i64) -> Self {
        let checks = d
            .checks
            .iter()
            .map(|c| {
                let (rule, points, text) = match &c.rule {
                    ReadyRule::HasCriteria => ("has_criteria", None, None),
                    ReadyRule::Estimated => ("estimated", None, None),
                    ReadyRule::MaxPoints { points } => ("max_points", Some(*points), None),
                    ReadyRule::NotBlocked => ("not_blocked", None, None),
                    ReadyRule::HasEpic => ("has_epic", None, None),
                    ReadyRule::Manual { text } => ("manual", None, Some(text.clone())),
                };
                ReadyCheckOut { id: c.id, rule: rule.into(), points, text, description: c.rule.describe() }
            })
            .collect();
        DorOut { checks, version }
    }
}

/// One Definition-of-Ready check as sent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadyCheckIn {
    /// Id of an existing check to keep; absent for a new one.
    #[serde(default)]
    pub id: Option<i64>,
    /// `has_criteria`, `estimated`, `max_points`, `not_blocked`, `has_epic` or `manual`.
    pub rule: String,
    /// For `max_points`: the limit (0.5-1000).
    #[serde(default)]
    pub points: Option<f64>,
    /// For `manual`: the statement.
    #[serde(default)]
    pub text: Option<String>,
}

/// A whole Definition of Ready, replacing the product's.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DorIn {
    /// The checks in order.
    pub checks: Vec<ReadyCheckIn>,
    /// The version read (0 for the default); a stale one answers 409.
    #[serde(default)]
    pub version: Option<i64>,
    /// Why, when the change becomes a proposal.
    #[serde(default)]
    pub reason: Option<String>,
}

impl DorIn {
    /// Parses into the domain definition, naming the field at fault.
    pub fn parse(&self) -> Result<DefinitionOfReady, ValidationError> {
        let mut checks = Vec::with_capacity(self.checks.len());
        for (i, c) in self.checks.iter().enumerate() {
            let f = format!("checks[{i}]");
            let rule =
                match c.rule.as_str() {
                    "has_criteria" => ReadyRule::HasCriteria,
                    "estimated" => ReadyRule::Estimated,
                    "max_points" => ReadyRule::MaxPoints {
                        points: c
                            .points
                            .ok_or_else(|| ValidationError::new(format!("{f}.points"), "is required"))?,
                    },
                    "not_blocked" => ReadyRule::NotBlocked,
                    "has_epic" => ReadyRule::HasEpic,
                    "manual" => ReadyRule::Manual { text: c.text.clone().unwrap_or_default() },
                    _ => return Err(ValidationError::new(
                        format!("{f}.rule"),
                        "must be one of has_criteria, estimated, max_points, not_blocked, has_epic, manual",
                    )),
                };
            checks.push(ReadyCheck { id: c.id.unwrap_or(0), rule });
        }
        DefinitionOfReady::parse("checks", checks)
    }
}

/// One Definition-of-Done check.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DoneCheckOut {
    /// Stable id (items list the ones ticked in `dod`).
    pub id: i64,
    /// The statement.
    pub text: String,
}

/// A product's Definition of Done.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DodOut {
    /// The checks in order.
    pub checks: Vec<DoneCheckOut>,
    /// Version to send back with a change (0 while the product uses the default).
    pub version: i64,
}

impl DodOut {
    /// From the definition and its record's version.
    pub fn new(d: &DefinitionOfDone, version: i64) -> Self {
        DodOut {
            checks: d.checks.iter().map(|c| DoneCheckOut { id: c.id, text: c.text.clone() }).collect(),
            version,
        }
    }
}

/// One Definition-of-Done check as sent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DoneCheckIn {
    /// Id of an existing check to keep; absent for a new one.
    #[serde(default)]
    pub id: Option<i64>,
    /// The statement.
    pub text: String,
}

/// A whole Definition of Done, replacing the product's.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DodIn {
    /// The checks in order.
    pub checks: Vec<DoneCheckIn>,
    /// The version read (0 for the default); a stale one answers 409.
    #[serde(default)]
    pub version: Option<i64>,
    /// Why, when the change becomes a proposal.
    #[serde(default)]
    pub reason: Option<String>,
}

impl DodIn {
    /// Parses into the domain definition.
    pub fn parse(&self) -> Result<DefinitionOfDone, ValidationError> {
        let checks =
            self.checks.iter().map(|c| DoneCheck { id: c.id.unwrap_or(0), text: c.text.clone() }).collect();
        DefinitionOfDone::parse("checks", checks)
    }
}

/// Whether one item meets the Definition of Ready.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ItemReadinessOut {
    /// Key.
    pub key: String,
    /// Whether the definition applies to its kind (stories, bugs, spikes).
    pub applies: bool,
    /// Whether it is ready (always true when the definition does not apply).
    pub ready: bool,
    /// The checks it fails, in the definition's order.
    pub failed: Vec<String>,
}

/// Readiness of several items.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReadinessOut {
    /// One entry per item, in the order asked (backlog order without `keys`).
    pub items: Vec<ItemReadinessOut>,
}

/// An acceptance step.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptanceIn {
    /// `ready` (the team asks for acceptance), `accept` or `reject` (the Product Owner).
    pub action: String,
    /// A remark; the reason of a rejection (required to reject).
    #[serde(default)]
    pub note: Option<String>,
    /// Why, when the step becomes a proposal.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Ticked checks of an item; each list given replaces the item's.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecksIn {
    /// Ids of the Definition-of-Done checks ticked.
    #[serde(default)]
    pub dod: Option<Vec<i64>>,
    /// Ids of the hand-ticked Definition-of-Ready checks ticked.
    #[serde(default)]
    pub dor: Option<Vec<i64>>,
    /// Version the change is based on.
    #[serde(default)]
    pub version: Option<i64>,
}

/// Titles of the children to split an item into.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitIn {
    /// One title per child (1-20): stories for an epic, tasks for a story.
    pub titles: Vec<String>,
}

/// What a split made.
#[derive(Debug, Serialize, ToSchema)]
pub struct SplitOut {
    /// The children created.
    pub created: Vec<ItemOut>,
    /// The children proposed (when the caller may only propose).
    pub proposals: Vec<ProposalOut>,
}

/// The fields a bulk edit sets on every item.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkSetIn {
    /// Workflow state by name.
    #[serde(default)]
    pub status: Option<String>,
    /// Assignee by e-mail or id (`null` unassigns).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub assignee: Option<Option<String>>,
    /// Labels to add.
    #[serde(default)]
    pub labels_add: Option<Vec<String>>,
    /// Labels to remove.
    #[serde(default)]
    pub labels_remove: Option<Vec<String>>,
    /// Sprint id (`null` takes the items out of their sprint).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub sprint: Option<Option<i64>>,
    /// Epic key (`null` takes the items out of their epic).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub epic: Option<Option<String>>,
}

/// A bulk edit: the same change on several items, all or nothing.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkIn {
    /// The items' keys (1-200).
    pub keys: Vec<String>,
    /// What to set.
    pub set: BulkSetIn,
}

/// The items after a bulk edit.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkOut {
    /// Every item named, as it is now.
    pub items: Vec<ItemOut>,
}

/// An item a bulk edit could not change, and why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefusedItem {
    /// Key.
    pub key: String,
    /// Why.
    pub reason: String,
}

/// An open item named in a refusal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpenItemOut {
    /// Key.
    pub key: String,
    /// Title.
    pub title: String,
    /// State's name.
    pub status: String,
}

/// A problem body that lists what stands in the way: unticked checks (`blockers`), items a bulk
/// edit refused (`refused`), open items of a release (`open_items`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListProblem {
    /// The problem.
    #[serde(flatten)]
    pub problem: Problem,
    /// Criteria and Definition-of-Done checks not ticked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blockers: Option<Vec<String>>,
    /// Items refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<Vec<RefusedItem>>,
    /// Items still open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_items: Option<Vec<OpenItemOut>>,
}

/// A release's fields as sent.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseIn {
    /// Name, unique within the product (required to create).
    #[serde(default)]
    pub name: Option<String>,
    /// What it is about.
    #[serde(default)]
    pub description: Option<String>,
    /// Target date, `YYYY-MM-DD` (`null` clears).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub target_date: Option<Option<String>>,
    /// Version the change is based on (changes only).
    #[serde(default)]
    pub version: Option<i64>,
}

/// How far a release is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = ReleaseProgressOut)]
pub struct ProgressOut {
    /// Items done.
    pub done_items: u32,
    /// Items in scope (stories, bugs, spikes).
    pub total_items: u32,
    /// Points done.
    pub done_points: f64,
    /// Points in scope.
    pub total_points: f64,
    /// Done share, 0-100 (of points; of items when nothing is estimated).
    pub percent: u32,
}

impl From<ReleaseProgress> for ProgressOut {
    fn from(p: ReleaseProgress) -> Self {
        ProgressOut {
            done_items: p.done_items,
            total_items: p.total_items,
            done_points: p.done_points,
            total_points: p.total_points,
            percent: p.percent(),
        }
    }
}

/// A release.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReleaseOut {
    /// Id.
    pub id: i64,
    /// Product key.
    pub product: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Target date.
    pub target_date: Option<String>,
    /// `planned` or `released`.
    pub state: String,
    /// When it was released.
    pub released_at: Option<String>,
    /// Progress.
    pub progress: ProgressOut,
    /// Version for changes.
    pub version: i64,
    /// Created.
    pub created_at: String,
}

impl ReleaseOut {
    /// From a release's fields.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: i64,
        product: &str,
        r: &Release,
        state: &str,
        version: i64,
        created_at: Timestamp,
        progress: ReleaseProgress,
    ) -> Self {
        ReleaseOut {
            id,
            product: product.to_string(),
            name: r.name.clone(),
            description: r.description.clone(),
            target_date: r.target_date.map(|d| d.to_string()),
            state: state.to_string(),
            released_at: r.released_at.map(rfc3339),
            progress: progress.into(),
            version,
            created_at: rfc3339(created_at),
        }
    }
}

/// Releasing: what to do with the items still open.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipIn {
    /// `move_to` (into the release `move_to`), `backlog` (out of any release) or `keep`.
    /// Required when items are open.
    #[serde(default)]
    pub open_items: Option<String>,
    /// The release to move open items into.
    #[serde(default)]
    pub move_to: Option<i64>,
    /// Version the decision is based on.
    #[serde(default)]
    pub version: Option<i64>,
    /// Why, when the decision becomes a proposal.
    #[serde(default)]
    pub reason: Option<String>,
}

/// One line of release notes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NoteLineOut {
    /// Key.
    pub key: String,
    /// Kind.
    pub kind: String,
    /// Title.
    pub title: String,
}

/// One epic's part of the release notes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NotesSectionOut {
    /// The epic's key (absent for "Other changes").
    pub epic: Option<String>,
    /// Heading.
    pub title: String,
    /// Done items.
    pub items: Vec<NoteLineOut>,
}

impl From<&NotesSection> for NotesSectionOut {
    fn from(s: &NotesSection) -> Self {
        NotesSectionOut {
            epic: s.epic_key.clone(),
            title: s.title.clone(),
            items: s
                .items
                .iter()
                .map(|l| NoteLineOut {
                    key: l.key.clone(),
                    kind: l.kind.as_str().into(),
                    title: l.title.clone(),
                })
                .collect(),
        }
    }
}

/// Release notes as JSON.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NotesOut {
    /// The release's name.
    pub release: String,
    /// Sections by epic.
    pub sections: Vec<NotesSectionOut>,
    /// The same notes in Markdown.
    pub markdown: String,
}
