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

// ---------------------------------------------------------------------------------------------
// Rules over teams and sprints.
// ---------------------------------------------------------------------------------------------

/// Longest team or sprint name, in characters.
pub const NAME_MAX: usize = 80;
/// Longest sprint goal, in characters.
pub const GOAL_MAX: usize = 2_000;
/// Longest sprint, in days.
pub const SPRINT_DAYS_MAX: i32 = 366;
/// Most points or days a member may have in a sprint.
pub const CAPACITY_MAX: f64 = 1_000.0;
/// How many closed sprints the average velocity looks back on.
pub const VELOCITY_WINDOW: usize = 3;

/// A team's name: 1 to [`NAME_MAX`] characters on one line.
pub fn parse_team_name(field: &str, s: &str) -> crate::Invalid<String> {
    crate::error::text(field, s, 1, NAME_MAX, false)
}

/// A sprint's name: 1 to [`NAME_MAX`] characters on one line.
pub fn parse_sprint_name(field: &str, s: &str) -> crate::Invalid<String> {
    crate::error::text(field, s, 1, NAME_MAX, false)
}

/// A sprint goal: up to [`GOAL_MAX`] characters, several lines allowed.
pub fn parse_goal(field: &str, s: &str) -> crate::Invalid<String> {
    crate::error::text(field, s, 0, GOAL_MAX, true)
}

/// The unique key of a team's record: its name is unique within its home product, whatever
/// the case.
pub fn team_key(home: ProductId, name: &str) -> String {
    format!("team:{}:{}", home.0, name.trim().to_lowercase())
}

/// Checks a sprint's dates: the end on or after the start (the error names `end`), and at most
/// [`SPRINT_DAYS_MAX`] days long.
pub fn check_dates(start: Date, end: Date) -> crate::Invalid<()> {
    if end < start {
        return Err(crate::ValidationError::new("end", "must not be before the start"));
    }
    if end.0 - start.0 + 1 > SPRINT_DAYS_MAX {
        return Err(crate::ValidationError::new(
            "end",
            format!("a sprint lasts at most {SPRINT_DAYS_MAX} days"),
        ));
    }
    Ok(())
}

/// Whether two inclusive date ranges share a day.
pub fn overlaps(a: (Date, Date), b: (Date, Date)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

/// The first of `others` (name, start, end) whose dates overlap `start..=end`: two sprints of
/// one team may not run on the same day.
pub fn find_overlap<'a, I>(start: Date, end: Date, others: I) -> Option<&'a str>
where
    I: IntoIterator<Item = (&'a str, Date, Date)>,
{
    others.into_iter().find(|(_, s, e)| overlaps((start, end), (*s, *e))).map(|(n, _, _)| n)
}

fn check_amount(field: &str, v: f64) -> crate::Invalid<f64> {
    if !v.is_finite() || v < 0.0 {
        return Err(crate::ValidationError::new(field, "must be zero or more"));
    }
    if v > CAPACITY_MAX {
        return Err(crate::ValidationError::new(field, format!("must be at most {CAPACITY_MAX}")));
    }
    Ok(v)
}

/// Checks one member's capacity: points, days and days off each zero or more, and no more days
/// off than days. `field` prefixes the names in errors (`capacity[2]` → `capacity[2].days_off`).
pub fn check_capacity(
    field: &str,
    points: Option<f64>,
    days: Option<f64>,
    days_off: f64,
) -> crate::Invalid<()> {
    let f = |name: &str| if field.is_empty() { name.to_string() } else { format!("{field}.{name}") };
    if let Some(p) = points {
        check_amount(&f("points"), p)?;
    }
    if let Some(d) = days {
        check_amount(&f("days"), d)?;
    }
    check_amount(&f("days_off"), days_off)?;
    if days_off > days.unwrap_or(0.0) {
        return Err(crate::ValidationError::new(f("days_off"), "must not be more than the days"));
    }
    Ok(())
}

impl TeamMember {
    /// Checks the member's default capacity.
    pub fn check(&self, field: &str) -> crate::Invalid<()> {
        check_capacity(field, self.points, self.days, 0.0)
    }
}

impl SprintCapacity {
    /// Checks the capacity.
    pub fn check(&self, field: &str) -> crate::Invalid<()> {
        check_capacity(field, self.points, self.days, self.days_off)
    }

    /// Working days left after days off, if the member plans in days.
    pub fn available_days(&self) -> Option<f64> {
        self.days.map(|d| (d - self.days_off).max(0.0))
    }
}

impl Team {
    /// The capacity a new sprint starts with: each member's defaults, no days off.
    pub fn default_capacity(&self) -> Vec<SprintCapacity> {
        self.members
            .iter()
            .map(|m| SprintCapacity { user_id: m.user_id, points: m.points, days: m.days, days_off: 0.0 })
            .collect()
    }

    /// Whether `user` is a member.
    pub fn has_member(&self, user: UserId) -> bool {
        self.members.iter().any(|m| m.user_id == user)
    }
}

/// A sprint's capacity in all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CapacityTotals {
    /// Points of the members who plan in points.
    pub points: f64,
    /// Days of the members who plan in days, less their days off.
    pub days: f64,
    /// Days off in all.
    pub days_off: f64,
    /// Whether any member gave points.
    pub has_points: bool,
    /// Whether any member gave days.
    pub has_days: bool,
}

/// Adds up a sprint's capacity: the points, and the days less days off.
pub fn capacity_totals(capacity: &[SprintCapacity]) -> CapacityTotals {
    let mut t = CapacityTotals::default();
    for c in capacity {
        if let Some(p) = c.points {
            t.points += p;
            t.has_points = true;
        }
        if let Some(d) = c.available_days() {
            t.days += d;
            t.days_off += c.days_off;
            t.has_days = true;
        }
    }
    t
}

/// A team's velocity: the points it completed in its last closed sprints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Velocity {
    /// Average completed points of the last [`VELOCITY_WINDOW`] closed sprints; `None` before
    /// the first close.
    pub average: Option<f64>,
    /// The fewest points completed among them.
    pub min: f64,
    /// The most.
    pub max: f64,
    /// Standard deviation of the completed points (0 for one sprint).
    pub spread: f64,
    /// How many sprints the average is over (at most [`VELOCITY_WINDOW`]).
    pub sprints: usize,
}

/// The velocity from closed sprints given as (end date, completed points): the average, range
/// and standard deviation over the [`VELOCITY_WINDOW`] that ended last.
pub fn velocity(closed: &[(Date, f64)]) -> Velocity {
    let mut v: Vec<(Date, f64)> = closed.to_vec();
    v.sort_by_key(|x| std::cmp::Reverse(x.0));
    v.truncate(VELOCITY_WINDOW);
    if v.is_empty() {
        return Velocity::default();
    }
    let n = v.len() as f64;
    let pts: Vec<f64> = v.iter().map(|(_, p)| *p).collect();
    let avg = pts.iter().sum::<f64>() / n;
    let var = pts.iter().map(|p| (p - avg).powi(2)).sum::<f64>() / n;
    Velocity {
        average: Some(avg),
        min: pts.iter().copied().fold(f64::INFINITY, f64::min),
        max: pts.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        spread: var.sqrt(),
        sprints: v.len(),
    }
}

impl Commitment {
    /// Freezes the commitment of a sprint starting `at` with `items` (and their estimates,
    /// unestimated counting 0).
    pub fn freeze(at: Timestamp, items: Vec<(ItemId, f64)>) -> Commitment {
        let points = items.iter().map(|(_, p)| *p).fold(0.0, |a, b| a + b);
        Commitment { at, items, points }
    }

    /// Whether `item` was committed.
    pub fn contains(&self, item: ItemId) -> bool {
        self.items.iter().any(|(i, _)| *i == item)
    }
}

/// Items added to and removed from a sprint after its start, with their points.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScopeChange {
    /// Points added (each at its estimate when added).
    pub added: f64,
    /// Points removed (each at its estimate when removed).
    pub removed: f64,
    /// The items added, in order (an item added twice appears twice).
    pub added_items: Vec<ItemId>,
    /// The items removed, in order.
    pub removed_items: Vec<ItemId>,
}

fn json_id(v: &serde_json::Value) -> Option<i64> {
    v.as_i64()
}

fn json_points(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// The scope change of `sprint` since it started with `commitment`, from item events in commit
/// order: `sprint` events that put an item into it (added) or took one out (removed), each
/// counted at the item's estimate at that moment — read from the first later `estimate` event of
/// the item (its old value), else `current` (the item's estimate now; missing counts 0).
/// Membership is followed from the commitment, so an event that changes nothing for the sprint
/// (a committed item "added" at the very moment of the start, a removal of an item not in it) is
/// not counted. An item deleted while in the sprint counts as removed, at the estimate its
/// `deleted` event recorded. Events before the start and of other fields are ignored.
pub fn scope_change(
    sprint: crate::RecordId,
    commitment: &Commitment,
    events: &[crate::event::Event],
    current: &std::collections::HashMap<ItemId, f64>,
) -> ScopeChange {
    use std::collections::{HashMap, HashSet};
    let is_item =
        |e: &crate::event::Event| e.object == crate::event::ObjectKind::Item && e.at >= commitment.at;
    // For each item, the indexes of its estimate events, in order.
    let mut estimates: HashMap<i64, Vec<usize>> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        if is_item(e) && e.field == "estimate" {
            estimates.entry(e.object_id).or_default().push(i);
        }
    }
    let estimate_at = |idx: usize, item: i64| -> f64 {
        let later = estimates.get(&item).and_then(|v| v.get(v.partition_point(|&j| j <= idx)).copied());
        match later {
            Some(j) => json_points(&events[j].old),
            None => current.get(&ItemId(item)).copied().unwrap_or(0.0),
        }
    };
    let mut members: HashSet<ItemId> = commitment.items.iter().map(|(i, _)| *i).collect();
    let mut out = ScopeChange::default();
    for (i, e) in events.iter().enumerate() {
        if e.field == "deleted" && is_item(e) {
            let item = ItemId(e.object_id);
            if members.remove(&item) {
                out.removed += match e.old.get("estimate") {
                    Some(v) => json_points(v),
                    None => estimate_at(i, e.object_id),
                };
                out.removed_items.push(item);
            }
            continue;
        }
        if e.field != "sprint" || !is_item(e) {
            continue;
        }
        let (old, new) = (json_id(&e.old), json_id(&e.new));
        let item = ItemId(e.object_id);
        if new == Some(sprint.0) && old != new && members.insert(item) {
            out.added += estimate_at(i, e.object_id);
            out.added_items.push(item);
        } else if old == Some(sprint.0) && old != new && members.remove(&item) {
            out.removed += estimate_at(i, e.object_id);
            out.removed_items.push(item);
        }
    }
    out
}

/// Where an unfinished item goes when its sprint closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// Back to the top of the product backlog.
    Backlog,
    /// Into the team's next planned sprint.
    Next,
}

impl Destination {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Destination::Backlog => "backlog",
            Destination::Next => "next",
        }
    }

    /// From the wire name.
    pub fn parse(field: &str, s: &str) -> crate::Invalid<Self> {
        match s.trim() {
            "backlog" => Ok(Destination::Backlog),
            "next" => Ok(Destination::Next),
            _ => Err(crate::ValidationError::new(field, "must be backlog or next")),
        }
    }
}

/// An item of a sprint being closed.
#[derive(Debug, Clone, PartialEq)]
pub struct CloseItem {
    /// The item.
    pub id: ItemId,
    /// Its key, for errors.
    pub key: String,
    /// Its estimate now (0 when none).
    pub estimate: f64,
    /// Whether it is done.
    pub done: bool,
}

/// What closing a sprint does: which items count as completed, where the others go, and the
/// figures kept.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosePlan {
    /// Done items: they stay in the sprint.
    pub completed: Vec<ItemId>,
    /// Unfinished items going back to the backlog top, in their sprint order.
    pub to_backlog: Vec<ItemId>,
    /// Unfinished items going into the next sprint, in their sprint order.
    pub to_next: Vec<ItemId>,
    /// The figures.
    pub summary: SprintSummary,
}

/// Plans the close of a sprint at `at`: `items` in sprint order; unfinished ones go to
/// `default` unless `per_item` (by key) says otherwise. Asking for `next` without a `next`
/// sprint is an error on `destination` (or `items.KEY`); a per-item choice for an item not in
/// the sprint is an error on `items.KEY`.
pub fn plan_close(
    at: Timestamp,
    commitment: Option<&Commitment>,
    scope: &ScopeChange,
    items: &[CloseItem],
    default: Destination,
    per_item: &[(String, Destination)],
    next: Option<crate::RecordId>,
) -> crate::Invalid<ClosePlan> {
    for (key, _) in per_item {
        if !items.iter().any(|i| &i.key == key) {
            return Err(crate::ValidationError::new(format!("items.{key}"), "is not an item of this sprint"));
        }
    }
    let mut plan = ClosePlan {
        completed: Vec::new(),
        to_backlog: Vec::new(),
        to_next: Vec::new(),
        summary: SprintSummary {
            at,
            committed: commitment.map_or(0.0, |c| c.points),
            completed: 0.0,
            added: scope.added,
            removed: scope.removed,
            completed_items: Vec::new(),
            carried_over: Vec::new(),
        },
    };
    for i in items {
        if i.done {
            plan.completed.push(i.id);
            plan.summary.completed += i.estimate;
            plan.summary.completed_items.push(i.id);
            continue;
        }
        let (field, dest) = match per_item.iter().find(|(k, _)| *k == i.key) {
            Some((k, d)) => (format!("items.{k}"), *d),
            None => ("destination".to_string(), default),
        };
        match (dest, next) {
            (Destination::Backlog, _) => {
                plan.to_backlog.push(i.id);
                plan.summary.carried_over.push((i.id, "backlog".to_string()));
            }
            (Destination::Next, Some(n)) => {
                plan.to_next.push(i.id);
                plan.summary.carried_over.push((i.id, n.0.to_string()));
            }
            (Destination::Next, None) => {
                return Err(crate::ValidationError::new(field, "the team has no planned next sprint"));
            }
        }
    }
    Ok(plan)
}

/// The team's next sprint after one that closes: its planned sprint starting first (given as
/// (id, state, start)), other than `closing`.
pub fn next_sprint(
    closing: crate::RecordId,
    sprints: &[(crate::RecordId, SprintState, Date)],
) -> Option<crate::RecordId> {
    sprints
        .iter()
        .filter(|(id, st, _)| *id != closing && *st == SprintState::Planned)
        .min_by_key(|(id, _, start)| (*start, *id))
        .map(|(id, _, _)| *id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, ObjectKind};
    use crate::RecordId;
    use serde_json::{json, Value};
    use std::collections::HashMap;

    fn d(s: &str) -> Date {
        Date::parse("d", s).unwrap()
    }

    fn ev(id: i64, item: i64, at: i64, field: &str, old: Value, new: Value) -> Event {
        Event {
            id,
            product_id: Some(ProductId(1)),
            object: ObjectKind::Item,
            object_id: item,
            actor_id: None,
            at: Timestamp(at),
            field: field.into(),
            old,
            new,
            proposal_id: None,
        }
    }

    #[test]
    fn names_and_keys() {
        assert!(parse_team_name("name", "  ").is_err());
        assert_eq!(parse_team_name("name", " Core ").unwrap(), "Core");
        assert!(parse_sprint_name("name", &"x".repeat(NAME_MAX + 1)).is_err());
        assert!(parse_goal("goal", "").is_ok());
        assert_eq!(team_key(ProductId(3), " Core Team "), "team:3:core team");
    }

    #[test]
    fn end_before_start_is_an_error_on_end() {
        assert!(check_dates(d("2026-01-05"), d("2026-01-16")).is_ok());
        assert!(check_dates(d("2026-01-05"), d("2026-01-05")).is_ok());
        let e = check_dates(d("2026-01-16"), d("2026-01-05")).unwrap_err();
        assert_eq!(e.field, "end");
        assert_eq!(check_dates(d("2026-01-01"), d("2027-06-01")).unwrap_err().field, "end");
    }

    #[test]
    fn sprints_of_a_team_may_not_overlap() {
        let others = [("S1", d("2026-01-05"), d("2026-01-16")), ("S2", d("2026-01-19"), d("2026-01-30"))];
        let f = |s, e| find_overlap(d(s), d(e), others.iter().map(|(n, a, b)| (*n, *a, *b)));
        assert_eq!(f("2026-01-17", "2026-01-18"), None);
        assert_eq!(f("2026-01-16", "2026-01-18"), Some("S1"), "sharing the last day overlaps");
        assert_eq!(f("2026-01-18", "2026-01-19"), Some("S2"));
        assert_eq!(f("2026-01-01", "2026-02-28"), Some("S1"));
        assert_eq!(f("2026-02-02", "2026-02-13"), None);
    }

    #[test]
    fn capacity_must_not_be_negative() {
        assert!(check_capacity("", Some(10.0), Some(8.0), 2.0).is_ok());
        assert!(check_capacity("", None, None, 0.0).is_ok());
        assert_eq!(
            check_capacity("capacity[0]", Some(-1.0), None, 0.0).unwrap_err().field,
            "capacity[0].points"
        );
        assert_eq!(check_capacity("", None, Some(-0.5), 0.0).unwrap_err().field, "days");
        assert_eq!(check_capacity("", None, Some(5.0), -1.0).unwrap_err().field, "days_off");
        assert_eq!(check_capacity("", None, Some(5.0), 6.0).unwrap_err().field, "days_off");
        assert_eq!(check_capacity("", None, None, 1.0).unwrap_err().field, "days_off");
        assert!(check_capacity("", Some(f64::NAN), None, 0.0).is_err());
        assert!(check_capacity("", Some(1e9), None, 0.0).is_err());
        let m = TeamMember { user_id: UserId(1), points: Some(-3.0), days: None };
        assert_eq!(m.check("members[0]").unwrap_err().field, "members[0].points");
    }

    #[test]
    fn capacity_adds_points_and_days_less_days_off() {
        let cap = vec![
            SprintCapacity { user_id: UserId(1), points: Some(8.0), days: Some(10.0), days_off: 2.0 },
            SprintCapacity { user_id: UserId(2), points: Some(5.0), days: None, days_off: 0.0 },
            SprintCapacity { user_id: UserId(3), points: None, days: Some(9.0), days_off: 0.5 },
        ];
        let t = capacity_totals(&cap);
        assert_eq!(t.points, 13.0);
        assert_eq!(t.days, 16.5);
        assert_eq!(t.days_off, 2.5);
        assert!(t.has_points && t.has_days);
        assert_eq!(capacity_totals(&[]), CapacityTotals::default());
        let team = Team {
            name: "T".into(),
            products: vec![ProductId(1)],
            members: vec![TeamMember { user_id: UserId(4), points: Some(6.0), days: Some(10.0) }],
            board: BoardConfig::default(),
        };
        assert_eq!(
            team.default_capacity(),
            vec![SprintCapacity { user_id: UserId(4), points: Some(6.0), days: Some(10.0), days_off: 0.0 }]
        );
        assert!(team.has_member(UserId(4)) && !team.has_member(UserId(5)));
    }

    #[test]
    fn velocity_of_the_last_three_closed_sprints() {
        assert_eq!(velocity(&[]).average, None);
        let closed = [
            (d("2026-01-16"), 100.0), // oldest: left out
            (d("2026-03-13"), 24.0),
            (d("2026-01-30"), 18.0),
            (d("2026-02-27"), 21.0),
        ];
        let v = velocity(&closed);
        assert_eq!(v.sprints, 3);
        assert_eq!(v.average, Some(21.0));
        assert_eq!((v.min, v.max), (18.0, 24.0));
        // Deviations -3, 0, 3: variance 6.
        assert!((v.spread - 6f64.sqrt()).abs() < 1e-9);
        let one = velocity(&[(d("2026-01-16"), 7.0)]);
        assert_eq!((one.average, one.spread, one.sprints), (Some(7.0), 0.0, 1));
    }

    #[test]
    fn commitment_freezes_points() {
        let c = Commitment::freeze(Timestamp(5), vec![(ItemId(1), 3.0), (ItemId(2), 0.0), (ItemId(3), 5.0)]);
        assert_eq!(c.points, 8.0);
        assert!(c.contains(ItemId(2)) && !c.contains(ItemId(4)));
        // An empty commitment is 0 points, not -0 (which JSON would show as -0.0).
        assert!(Commitment::freeze(Timestamp(5), vec![]).points.is_sign_positive());
    }

    #[test]
    fn scope_change_counts_items_moved_after_the_start() {
        let s = RecordId(7);
        // Committed at the start (t = 100): items 10 (3 points) and 14 (2 points).
        let c = Commitment::freeze(Timestamp(100), vec![(ItemId(10), 3.0), (ItemId(14), 2.0)]);
        let events = vec![
            // Before the start: planning, not scope change.
            ev(1, 10, 50, "sprint", Value::Null, json!(7)),
            // Item 14's assignment recorded at the very moment of the start: already committed.
            ev(2, 14, 100, "sprint", Value::Null, json!(7)),
            // Added after the start at 5 points, re-estimated to 8 later.
            ev(3, 11, 150, "sprint", Value::Null, json!(7)),
            ev(4, 11, 160, "estimate", json!(5.0), json!(8.0)),
            // Added, estimate unchanged since: its current estimate (2).
            ev(5, 12, 170, "sprint", json!(3), json!(7)),
            // A committed item removed at 3 points.
            ev(6, 10, 180, "sprint", json!(7), Value::Null),
            // Removing an item that was not in the sprint counts nothing.
            ev(7, 15, 185, "sprint", json!(7), Value::Null),
            // Another sprint and another field: ignored.
            ev(8, 13, 190, "sprint", Value::Null, json!(8)),
            ev(9, 13, 200, "title", json!("a"), json!("b")),
        ];
        let current = HashMap::from([(ItemId(10), 3.0), (ItemId(11), 8.0), (ItemId(12), 2.0)]);
        let sc = scope_change(s, &c, &events, &current);
        assert_eq!(sc.added, 7.0);
        assert_eq!(sc.removed, 3.0);
        assert_eq!(sc.added_items, vec![ItemId(11), ItemId(12)]);
        assert_eq!(sc.removed_items, vec![ItemId(10)]);
        // Added, removed and added again: counted each time it really moved.
        let back = vec![
            ev(1, 11, 150, "sprint", Value::Null, json!(7)),
            ev(2, 11, 160, "sprint", json!(7), Value::Null),
            ev(3, 11, 170, "sprint", Value::Null, json!(7)),
        ];
        let sc = scope_change(s, &c, &back, &current);
        assert_eq!((sc.added, sc.removed), (16.0, 8.0));
        // Deleted while in the sprint (at 8, as its deletion recorded): removed; a deletion of an
        // item not in the sprint counts nothing.
        let deleted = vec![
            ev(1, 11, 150, "sprint", Value::Null, json!(7)),
            ev(2, 11, 160, "deleted", json!({"id": 11, "estimate": 8.0}), Value::Null),
            ev(3, 14, 170, "deleted", json!({"id": 14, "estimate": 2.0}), Value::Null),
            ev(4, 13, 180, "deleted", json!({"id": 13, "estimate": 1.0}), Value::Null),
        ];
        let sc = scope_change(s, &c, &deleted, &current);
        assert_eq!((sc.added, sc.removed), (8.0, 10.0));
        assert_eq!(sc.removed_items, vec![ItemId(11), ItemId(14)]);
        // Nothing after the start: no change.
        let later = Commitment::freeze(Timestamp(1_000), vec![]);
        assert_eq!(scope_change(s, &later, &events, &current), ScopeChange::default());
    }

    fn items() -> Vec<CloseItem> {
        vec![
            CloseItem { id: ItemId(1), key: "S-1".into(), estimate: 5.0, done: true },
            CloseItem { id: ItemId(2), key: "S-2".into(), estimate: 3.0, done: false },
            CloseItem { id: ItemId(3), key: "S-3".into(), estimate: 2.0, done: true },
            CloseItem { id: ItemId(4), key: "S-4".into(), estimate: 8.0, done: false },
        ]
    }

    #[test]
    fn closing_keeps_the_figures_and_sends_unfinished_items_back() {
        let c = Commitment::freeze(Timestamp(1), vec![(ItemId(1), 5.0), (ItemId(2), 3.0), (ItemId(4), 8.0)]);
        let sc = ScopeChange { added: 2.0, removed: 1.0, ..Default::default() };
        let p = plan_close(Timestamp(9), Some(&c), &sc, &items(), Destination::Backlog, &[], None).unwrap();
        assert_eq!(p.completed, vec![ItemId(1), ItemId(3)]);
        assert_eq!(p.to_backlog, vec![ItemId(2), ItemId(4)]);
        assert!(p.to_next.is_empty());
        let s = &p.summary;
        assert_eq!((s.committed, s.completed, s.added, s.removed), (16.0, 7.0, 2.0, 1.0));
        assert_eq!(s.carried_over, vec![(ItemId(2), "backlog".into()), (ItemId(4), "backlog".into())]);
        assert_eq!(s.at, Timestamp(9));
    }

    #[test]
    fn closing_into_the_next_sprint_per_item_or_all() {
        let next = Some(RecordId(42));
        let all =
            plan_close(Timestamp(9), None, &ScopeChange::default(), &items(), Destination::Next, &[], next)
                .unwrap();
        assert_eq!(all.to_next, vec![ItemId(2), ItemId(4)]);
        assert_eq!(all.summary.committed, 0.0);
        assert_eq!(all.summary.carried_over[0], (ItemId(2), "42".into()));
        let per = [("S-4".to_string(), Destination::Next)];
        let mixed = plan_close(
            Timestamp(9),
            None,
            &ScopeChange::default(),
            &items(),
            Destination::Backlog,
            &per,
            next,
        )
        .unwrap();
        assert_eq!((mixed.to_backlog, mixed.to_next), (vec![ItemId(2)], vec![ItemId(4)]));
        // No next sprint: an error naming what asked for it.
        let e =
            plan_close(Timestamp(9), None, &ScopeChange::default(), &items(), Destination::Next, &[], None)
                .unwrap_err();
        assert_eq!(e.field, "destination");
        let e = plan_close(
            Timestamp(9),
            None,
            &ScopeChange::default(),
            &items(),
            Destination::Backlog,
            &per,
            None,
        )
        .unwrap_err();
        assert_eq!(e.field, "items.S-4");
        // A per-item choice for a stranger.
        let bad = [("S-99".to_string(), Destination::Backlog)];
        let e = plan_close(
            Timestamp(9),
            None,
            &ScopeChange::default(),
            &items(),
            Destination::Backlog,
            &bad,
            next,
        )
        .unwrap_err();
        assert_eq!(e.field, "items.S-99");
        // A done item's choice is ignored: it stays, completed.
        let done = [("S-1".to_string(), Destination::Next)];
        let p = plan_close(
            Timestamp(9),
            None,
            &ScopeChange::default(),
            &items(),
            Destination::Backlog,
            &done,
            next,
        )
        .unwrap();
        assert_eq!(p.completed, vec![ItemId(1), ItemId(3)]);
        assert_eq!(Destination::parse("d", "next").unwrap(), Destination::Next);
        assert_eq!(Destination::parse("destination", "later").unwrap_err().field, "destination");
    }

    #[test]
    fn the_next_sprint_is_the_planned_one_starting_first() {
        let list = [
            (RecordId(1), SprintState::Closed, d("2026-01-05")),
            (RecordId(2), SprintState::Active, d("2026-01-19")),
            (RecordId(4), SprintState::Planned, d("2026-02-16")),
            (RecordId(3), SprintState::Planned, d("2026-02-02")),
        ];
        assert_eq!(next_sprint(RecordId(2), &list), Some(RecordId(3)));
        assert_eq!(next_sprint(RecordId(3), &list), Some(RecordId(4)));
        assert_eq!(next_sprint(RecordId(2), &list[..2]), None);
    }
}
