//! Wire types: teams, capacity, sprints: planning, start, close.

use crate::rfc3339;
use keel_domain::sprint::{
    CapacityTotals, ScopeChange, Sprint, SprintCapacity, SprintSummary, Team, Velocity,
};
use keel_domain::user::User;
use keel_domain::{RecordId, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A product a team serves.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeamProductOut {
    /// Id.
    pub id: i64,
    /// Key.
    pub key: String,
    /// Name.
    pub name: String,
}

/// A member of a team and their default capacity per sprint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeamMemberOut {
    /// User id.
    pub user_id: i64,
    /// E-mail.
    pub email: String,
    /// Name.
    pub name: String,
    /// Points per sprint.
    pub points: Option<f64>,
    /// Working days per sprint.
    pub days: Option<f64>,
}

/// A team.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeamOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The home product's id (the product it was created in).
    pub product_id: i64,
    /// The products it serves, its home first.
    pub products: Vec<TeamProductOut>,
    /// Members.
    pub members: Vec<TeamMemberOut>,
    /// Version for optimistic concurrency.
    pub version: i64,
    /// Created.
    pub created_at: String,
}

impl TeamOut {
    /// From a team record, its served products and its members' users.
    pub fn new(
        id: RecordId,
        home: i64,
        t: &Team,
        products: Vec<TeamProductOut>,
        users: &[User],
        version: i64,
        created_at: Timestamp,
    ) -> Self {
        let members = t
            .members
            .iter()
            .map(|m| {
                let u = users.iter().find(|u| u.id == m.user_id);
                TeamMemberOut {
                    user_id: m.user_id.0,
                    email: u.map(|u| u.email.to_string()).unwrap_or_default(),
                    name: u.map(|u| u.name.clone()).unwrap_or_default(),
                    points: m.points,
                    days: m.days,
                }
            })
            .collect();
        TeamOut {
            id: id.0,
            name: t.name.clone(),
            product_id: home,
            products,
            members,
            version,
            created_at: rfc3339(created_at),
        }
    }
}

/// A new team.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamIn {
    /// Name, unique within the product.
    pub name: String,
}

/// A change to a team.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamPatchIn {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// The product keys it serves besides its home (the whole list; only products where you are
    /// the Product Owner may be added).
    #[serde(default)]
    pub products: Option<Vec<String>>,
    /// The version the change is based on.
    #[serde(default)]
    pub version: Option<i64>,
}

/// One member in a members list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamMemberIn {
    /// User id or e-mail (a member of the team's home product).
    #[schema(value_type = String)]
    pub user: UserRef,
    /// Default points per sprint.
    #[serde(default)]
    pub points: Option<f64>,
    /// Default working days per sprint.
    #[serde(default)]
    pub days: Option<f64>,
}

/// A user named by id or e-mail.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum UserRef {
    /// By id.
    Id(i64),
    /// By e-mail (or id as text).
    Text(String),
}

impl std::fmt::Display for UserRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserRef::Id(i) => write!(f, "{i}"),
            UserRef::Text(s) => f.write_str(s),
        }
    }
}

/// The whole members list of a team.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamMembersIn {
    /// Members with their default capacity.
    pub members: Vec<TeamMemberIn>,
}

/// A member's capacity in a sprint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CapacityOut {
    /// User id.
    pub user_id: i64,
    /// Name.
    pub name: String,
    /// Points.
    pub points: Option<f64>,
    /// Working days before days off.
    pub days: Option<f64>,
    /// Days off.
    pub days_off: f64,
}

impl CapacityOut {
    /// From a capacity entry and the users.
    pub fn new(c: &SprintCapacity, users: &[User]) -> Self {
        CapacityOut {
            user_id: c.user_id.0,
            name: users.iter().find(|u| u.id == c.user_id).map(|u| u.name.clone()).unwrap_or_default(),
            points: c.points,
            days: c.days,
            days_off: c.days_off,
        }
    }
}

/// One member's capacity in a capacity table.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacityIn {
    /// User id or e-mail (a member of the team).
    #[schema(value_type = String)]
    pub user: UserRef,
    /// Points (zero or more).
    #[serde(default)]
    pub points: Option<f64>,
    /// Working days (zero or more).
    #[serde(default)]
    pub days: Option<f64>,
    /// Days off (zero or more, at most `days`).
    #[serde(default)]
    pub days_off: Option<f64>,
}

/// A sprint's whole capacity table.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacityTableIn {
    /// One entry per member.
    pub capacity: Vec<CapacityIn>,
    /// The version the change is based on.
    #[serde(default)]
    pub version: Option<i64>,
}

/// The frozen commitment of a started sprint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CommitmentOut {
    /// When the sprint started.
    pub at: String,
    /// Points committed.
    pub points: f64,
    /// The committed items' ids and estimates at the start.
    pub items: Vec<CommittedItemOut>,
}

/// One committed item.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CommittedItemOut {
    /// Item id.
    pub id: i64,
    /// Its estimate at the start (0 when unestimated).
    pub estimate: f64,
}

/// The figures kept when a sprint closed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = SprintSummaryOut)]
pub struct SummaryOut {
    /// When it closed.
    pub at: String,
    /// Points committed at the start.
    pub committed: f64,
    /// Points of items done at the close.
    pub completed: f64,
    /// Points added after the start.
    pub added: f64,
    /// Points removed after the start.
    pub removed: f64,
    /// Ids of the items done.
    pub completed_items: Vec<i64>,
    /// Unfinished items and where they went: `backlog` or the next sprint's id.
    pub carried_over: Vec<CarriedOut>,
}

/// An unfinished item at a close.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CarriedOut {
    /// Item id.
    pub id: i64,
    /// `backlog` or the next sprint's id.
    pub to: String,
}

impl From<&SprintSummary> for SummaryOut {
    fn from(s: &SprintSummary) -> Self {
        SummaryOut {
            at: rfc3339(s.at),
            committed: s.committed,
            completed: s.completed,
            added: s.added,
            removed: s.removed,
            completed_items: s.completed_items.iter().map(|i| i.0).collect(),
            carried_over: s
                .carried_over
                .iter()
                .map(|(i, to)| CarriedOut { id: i.0, to: to.clone() })
                .collect(),
        }
    }
}

/// A sprint's figures now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FiguresOut {
    /// Points in the sprint now.
    pub planned: f64,
    /// Items in the sprint now.
    pub items: usize,
    /// Unestimated items in it.
    pub unestimated: usize,
    /// Points committed (before the start: the planned points).
    pub committed: f64,
    /// Points done.
    pub completed: f64,
    /// Points added after the start.
    pub added: f64,
    /// Points removed after the start.
    pub removed: f64,
    /// Capacity in points.
    pub capacity_points: f64,
    /// Capacity in days (less days off).
    pub capacity_days: f64,
    /// Average completed points of the team's last 3 closed sprints.
    pub velocity: Option<f64>,
    /// Fewest points among them.
    pub velocity_min: f64,
    /// Most points among them.
    pub velocity_max: f64,
    /// Standard deviation among them.
    pub velocity_spread: f64,
    /// How many closed sprints the velocity is over.
    pub velocity_sprints: usize,
}

impl FiguresOut {
    /// From the parts.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        planned: f64,
        items: usize,
        unestimated: usize,
        committed: f64,
        completed: f64,
        scope: &ScopeChange,
        capacity: &CapacityTotals,
        v: &Velocity,
    ) -> Self {
        FiguresOut {
            planned,
            items,
            unestimated,
            committed,
            completed,
            added: scope.added,
            removed: scope.removed,
            capacity_points: capacity.points,
            capacity_days: capacity.days,
            velocity: v.average,
            velocity_min: v.min,
            velocity_max: v.max,
            velocity_spread: v.spread,
            velocity_sprints: v.sprints,
        }
    }
}

/// A sprint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SprintOut {
    /// Id.
    pub id: i64,
    /// Its team's id.
    pub team_id: i64,
    /// Its team's home product id.
    pub product_id: i64,
    /// Name.
    pub name: String,
    /// Goal.
    pub goal: String,
    /// First day (YYYY-MM-DD).
    pub start: String,
    /// Last day, included (YYYY-MM-DD).
    pub end: String,
    /// `planned`, `active` or `closed`.
    pub state: String,
    /// Each member's capacity.
    pub capacity: Vec<CapacityOut>,
    /// The commitment frozen at the start.
    pub commitment: Option<CommitmentOut>,
    /// The figures kept at the close.
    pub summary: Option<SummaryOut>,
    /// The figures now (on reads of one sprint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figures: Option<FiguresOut>,
    /// Version for optimistic concurrency.
    pub version: i64,
    /// Created.
    pub created_at: String,
}

impl SprintOut {
    /// From a sprint record's parts.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: RecordId,
        team_id: i64,
        product_id: i64,
        state: &str,
        s: &Sprint,
        users: &[User],
        version: i64,
        created_at: Timestamp,
    ) -> Self {
        SprintOut {
            id: id.0,
            team_id,
            product_id,
            name: s.name.clone(),
            goal: s.goal.clone(),
            start: s.start.to_string(),
            end: s.end.to_string(),
            state: state.to_string(),
            capacity: s.capacity.iter().map(|c| CapacityOut::new(c, users)).collect(),
            commitment: s.commitment.as_ref().map(|c| CommitmentOut {
                at: rfc3339(c.at),
                points: c.points,
                items: c.items.iter().map(|(i, e)| CommittedItemOut { id: i.0, estimate: *e }).collect(),
            }),
            summary: s.summary.as_ref().map(SummaryOut::from),
            figures: None,
            version,
            created_at: rfc3339(created_at),
        }
    }
}

/// A new sprint, or a change to one (absent fields stay).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SprintIn {
    /// Name ("Sprint 14"); required to create.
    #[serde(default)]
    pub name: Option<String>,
    /// Goal.
    #[serde(default)]
    pub goal: Option<String>,
    /// First day, YYYY-MM-DD; required to create.
    #[serde(default)]
    pub start: Option<String>,
    /// Last day (included), YYYY-MM-DD, not before `start`; required to create.
    #[serde(default)]
    pub end: Option<String>,
    /// The version the change is based on (changes only).
    #[serde(default)]
    pub version: Option<i64>,
}

/// An item to put into a sprint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SprintItemIn {
    /// The item's key.
    pub key: String,
    /// Place it just before this item.
    #[serde(default)]
    pub before: Option<String>,
    /// Place it just after this item.
    #[serde(default)]
    pub after: Option<String>,
    /// Why, when the change becomes a proposal.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Starting a sprint.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartIn {
    /// Why, when the start becomes a proposal.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Closing a sprint.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseIn {
    /// Where unfinished items go: `backlog` (the top of the backlog; the default) or `next` (the
    /// team's next planned sprint).
    #[serde(default)]
    pub destination: Option<String>,
    /// Per item key, `backlog` or `next`, overriding `destination`.
    #[serde(default)]
    pub items: std::collections::BTreeMap<String, String>,
    /// Why, when the close becomes a proposal.
    #[serde(default)]
    pub reason: Option<String>,
}
