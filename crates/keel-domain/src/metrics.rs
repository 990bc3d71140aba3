//! Delivery metrics computed from the history: velocity, sprint burndown and burnup, release
//! burnup, cumulative flow, cycle and lead time, throughput, bug trend and work in progress.
//!
//! The input is each item's history as timelines (state, sprint, release, estimate, kind), built
//! from its events by [`histories`]; nothing here reads counters kept on the side, so every
//! figure can be recomputed for any past date and explained item by item.
//!
//! Decisions, kept in one place:
//! - States are followed by id and mapped to their category through the product's workflow
//!   as it is now, so renaming a state after the fact changes no figure.
//! - An item *starts* the first time it leaves a `todo` state (into `in_progress`, or straight
//!   into `done`, which gives a cycle time of zero), and is *done* at the last time it entered a
//!   `done` state, provided it is still done at the end of the period looked at. A reopened item
//!   (done → in progress → done) therefore ends its cycle at its last done, and its start stays
//!   the first start: the whole time it took.
//! - A value "at" a time is the one set by the last change at or before it; a sprint's start
//!   counts changes made at its start instant, its close counts only changes before the close
//!   instant (the close itself moves unfinished items out).
//! - Days are calendar days in the given UTC offset ([`Tz`]); a day's figure is the state at the
//!   end of that day.
//! - Percentiles use the nearest-rank method: the p-th percentile of n sorted values is the
//!   value at rank ⌈p·n/100⌉.

use crate::event::{Event, ObjectKind};
use crate::ids::StateId;
use crate::item::ItemKind;
use crate::time::{Date, Timestamp};
use crate::workflow::{Category, Workflow};
use crate::{Invalid, ValidationError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

const DAY_MS: i64 = 86_400_000;

/// A fixed offset from UTC in minutes, in which days begin and end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tz {
    /// Minutes east of UTC.
    pub minutes: i32,
}

impl Tz {
    /// UTC.
    pub const UTC: Tz = Tz { minutes: 0 };

    /// Parses `+02:00`, `-05:30`, `+0200`, `Z` or `UTC` (offsets up to ±14:00).
    pub fn parse(field: &str, s: &str) -> Invalid<Tz> {
        let err = || ValidationError::new(field, "must be a UTC offset such as +02:00, -05:30 or Z");
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") {
            return Ok(Tz::UTC);
        }
        let (sign, rest) = match s.as_bytes()[0] {
            b'+' => (1, &s[1..]),
            b'-' => (-1, &s[1..]),
            _ => return Err(err()),
        };
        let digits: String = rest.chars().filter(|c| *c != ':').collect();
        let colon_ok = !rest.contains(':') || (rest.len() == 5 && rest.as_bytes()[2] == b':');
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) || !colon_ok {
            return Err(err());
        }
        let h: i32 = digits[..2].parse().map_err(|_| err())?;
        let m: i32 = digits[2..].parse().map_err(|_| err())?;
        if m >= 60 || h * 60 + m > 14 * 60 {
            return Err(err());
        }
        Ok(Tz { minutes: sign * (h * 60 + m) })
    }

    fn offset_ms(self) -> i64 {
        i64::from(self.minutes) * 60_000
    }

    /// The local date a moment falls on.
    pub fn date_of(self, t: Timestamp) -> Date {
        Date((t.0 + self.offset_ms()).div_euclid(DAY_MS) as i32)
    }

    /// The moment a local date begins.
    pub fn start_of(self, d: Date) -> Timestamp {
        Timestamp(i64::from(d.0) * DAY_MS - self.offset_ms())
    }

    /// The last millisecond of a local date.
    pub fn last_of(self, d: Date) -> Timestamp {
        Timestamp(self.start_of(d.plus_days(1)).0 - 1)
    }
}

impl std::fmt::Display for Tz {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.minutes < 0 { '-' } else { '+' };
        let m = self.minutes.abs();
        write!(f, "{sign}{:02}:{:02}", m / 60, m % 60)
    }
}

/// A timeline of one field: (when, value from then on), in commit order.
pub type Timeline<T> = Vec<(Timestamp, T)>;

fn value_at<T: Clone>(line: &Timeline<T>, t: Timestamp) -> Option<T> {
    // Commit order is time order; equal times keep the last change.
    let n = line.partition_point(|(at, _)| *at <= t);
    if n == 0 {
        None
    } else {
        Some(line[n - 1].1.clone())
    }
}

/// One item's history, as far as the metrics need it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemHistory {
    /// Its id.
    pub id: i64,
    /// Its key, `SHOP-42`.
    pub key: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was deleted, if it was.
    pub deleted_at: Option<Timestamp>,
    /// Its kind over time.
    pub kind: Timeline<ItemKind>,
    /// Its workflow state over time.
    pub status: Timeline<StateId>,
    /// Its sprint over time.
    pub sprint: Timeline<Option<i64>>,
    /// Its release over time.
    pub release: Timeline<Option<i64>>,
    /// Its estimate over time.
    pub points: Timeline<Option<f64>>,
}

impl ItemHistory {
    /// A new item as created at `at`; add later changes to its timelines.
    pub fn new(id: i64, key: &str, at: Timestamp, kind: ItemKind, status: StateId) -> Self {
        ItemHistory {
            id,
            key: key.into(),
            created_at: at,
            deleted_at: None,
            kind: vec![(at, kind)],
            status: vec![(at, status)],
            sprint: vec![(at, None)],
            release: vec![(at, None)],
            points: vec![(at, None)],
        }
    }

    /// Whether it existed at `t`.
    pub fn exists_at(&self, t: Timestamp) -> bool {
        self.created_at <= t && self.deleted_at.is_none_or(|d| d > t)
    }

    /// Its kind at `t` (its first kind before it existed).
    pub fn kind_at(&self, t: Timestamp) -> ItemKind {
        value_at(&self.kind, t).unwrap_or(self.kind[0].1)
    }

    /// Its state at `t`.
    pub fn state_at(&self, t: Timestamp) -> Option<StateId> {
        value_at(&self.status, t)
    }

    /// Its sprint at `t`.
    pub fn sprint_at(&self, t: Timestamp) -> Option<i64> {
        value_at(&self.sprint, t).flatten()
    }

    /// Its release at `t`.
    pub fn release_at(&self, t: Timestamp) -> Option<i64> {
        value_at(&self.release, t).flatten()
    }

    /// Its points at `t` (unestimated counts 0).
    pub fn points_at(&self, t: Timestamp) -> f64 {
        value_at(&self.points, t).flatten().unwrap_or(0.0)
    }

    /// Its state's category at `t`.
    pub fn category_at(&self, wf: &Workflow, t: Timestamp) -> Category {
        self.state_at(t).map_or(Category::Todo, |s| category(wf, s))
    }

    /// When it started and when it was done, as seen at `until` (see the module's decisions).
    pub fn cycle(&self, wf: &Workflow, until: Timestamp) -> (Option<Timestamp>, Option<Timestamp>) {
        let mut started = None;
        let mut done = None;
        let mut prev: Option<Category> = None;
        for (at, s) in self.status.iter().take_while(|(at, _)| *at <= until) {
            let c = category(wf, *s);
            if c != Category::Todo && started.is_none() {
                started = Some(*at);
            }
            if c == Category::Done && prev != Some(Category::Done) {
                done = Some(*at);
            }
            prev = Some(c);
        }
        if prev != Some(Category::Done) {
            done = None;
        }
        (started, done)
    }

    /// Since when it has been in progress without a break at `now` (its last entry into the
    /// `in_progress` category), if it exists and is in progress then.
    pub fn in_progress_since(&self, wf: &Workflow, now: Timestamp) -> Option<Timestamp> {
        if !self.exists_at(now) || self.category_at(wf, now) != Category::InProgress {
            return None;
        }
        let mut since = self.created_at;
        let mut prev = None;
        for (at, s) in self.status.iter().take_while(|(at, _)| *at <= now) {
            let c = category(wf, *s);
            if c == Category::InProgress && prev != Some(Category::InProgress) {
                since = *at;
            }
            prev = Some(c);
        }
        Some(since)
    }

    /// Adds one later change of `field` (`status`, `sprint`, `release`, `estimate`, `kind`,
    /// `deleted`; others are ignored), in commit order. A bulk import records the item as it is
    /// now, then its past changes: the first change of a field names the value the item was
    /// created with.
    pub fn apply(&mut self, at: Timestamp, field: &str, old: &Value, new: &Value) {
        fn first<T>(line: &mut Timeline<T>, old: Option<T>) {
            if line.len() == 1 {
                if let Some(v) = old {
                    line[0].1 = v;
                }
            }
        }
        match field {
            "status" => {
                first(&mut self.status, as_id(old).map(StateId));
                if let Some(s) = as_id(new) {
                    self.status.push((at, StateId(s)));
                }
            }
            "sprint" => {
                first(&mut self.sprint, Some(as_id(old)));
                self.sprint.push((at, as_id(new)));
            }
            "release" => {
                first(&mut self.release, Some(as_id(old)));
                self.release.push((at, as_id(new)));
            }
            "estimate" => {
                first(&mut self.points, Some(old.as_f64()));
                self.points.push((at, new.as_f64()));
            }
            "kind" => {
                let parse = |v: &Value| v.as_str().and_then(|k| ItemKind::parse("kind", k).ok());
                first(&mut self.kind, parse(old));
                if let Some(k) = parse(new) {
                    self.kind.push((at, k));
                }
            }
            "deleted" => self.deleted_at = Some(at),
            _ => {}
        }
    }

    /// Whether it was ever in one of `sprints`.
    pub fn ever_in(&self, sprints: &[i64]) -> bool {
        self.sprint.iter().any(|(_, s)| s.is_some_and(|s| sprints.contains(&s)))
    }
}

fn category(wf: &Workflow, s: StateId) -> Category {
    // A state no longer in the workflow counts as not started.
    wf.state(s).map_or(Category::Todo, |st| st.category)
}

fn as_id(v: &Value) -> Option<i64> {
    v.as_i64()
}

/// Builds item histories from item events in commit order (`created`, `status`, `sprint`,
/// `release`, `estimate`, `kind`, `deleted`; others are ignored). A field's value at creation
/// is the `old` of its first change when it has one, else the value in the `created` event.
/// Items whose creation is not among the events are left out. The result is ordered by item id.
pub fn histories(events: &[Event]) -> Vec<ItemHistory> {
    let mut by_id: HashMap<i64, ItemHistory> = HashMap::new();
    for e in events.iter().filter(|e| e.object == ObjectKind::Item) {
        if e.field == "created" {
            let n = &e.new;
            let kind = n.get("kind").and_then(Value::as_str).and_then(|k| ItemKind::parse("kind", k).ok());
            let status = n.get("status_id").and_then(as_id);
            let (Some(kind), Some(status)) = (kind, status) else { continue };
            let key = n.get("key").and_then(Value::as_str).unwrap_or_default();
            let mut h = ItemHistory::new(e.object_id, key, e.at, kind, StateId(status));
            h.sprint[0].1 = n.get("sprint_id").and_then(as_id);
            h.release[0].1 = n.get("release_id").and_then(as_id);
            h.points[0].1 = n.get("estimate").and_then(Value::as_f64);
            by_id.insert(e.object_id, h);
            continue;
        }
        if let Some(h) = by_id.get_mut(&e.object_id) {
            h.apply(e.at, &e.field, &e.old, &e.new);
        }
    }
    let mut out: Vec<ItemHistory> = by_id.into_values().collect();
    out.sort_by_key(|h| h.id);
    out
}

// ----- percentiles ---------------------------------------------------------------------------

/// The p-th percentile (0 < p ≤ 100) of `values` by nearest rank; `None` when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    Some(v[rank.min(v.len()) - 1])
}

/// The 50th, 85th and 95th percentiles of a distribution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Half the values are at most this.
    pub p50: Option<f64>,
    /// 85 % are at most this.
    pub p85: Option<f64>,
    /// 95 % are at most this.
    pub p95: Option<f64>,
}

impl Percentiles {
    /// The percentiles of `values`.
    pub fn of(values: &[f64]) -> Self {
        Percentiles {
            p50: percentile(values, 50.0),
            p85: percentile(values, 85.0),
            p95: percentile(values, 95.0),
        }
    }
}

fn days(from: Timestamp, to: Timestamp) -> f64 {
    (to.0 - from.0) as f64 / DAY_MS as f64
}

// ----- cycle time, lead time, throughput ------------------------------------------------------

/// One finished item's flow figures.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowItem {
    /// The item's id.
    pub id: i64,
    /// Its key.
    pub key: String,
    /// Its kind when done.
    pub kind: ItemKind,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it first started.
    pub started_at: Timestamp,
    /// When it was (last) done.
    pub done_at: Timestamp,
    /// Started → done, in days.
    pub cycle_days: f64,
    /// Created → done, in days.
    pub lead_days: f64,
}

/// Items finished on the local dates `from..=to`, ordered by done time then key. Whether and
/// when an item finished is judged at `until` (now), so an item done, reopened and done again
/// counts once, on its last done date, whatever the range.
pub fn finished(
    items: &[ItemHistory],
    wf: &Workflow,
    tz: Tz,
    from: Date,
    to: Date,
    until: Timestamp,
) -> Vec<FlowItem> {
    let (lo, hi) = (tz.start_of(from), tz.last_of(to).min(until));
    let mut out: Vec<FlowItem> = items
        .iter()
        .filter(|h| h.exists_at(until))
        .filter_map(|h| {
            let (started, done) = h.cycle(wf, until);
            let done = done.filter(|d| *d >= lo && *d <= hi)?;
            let started = started.unwrap_or(done);
            Some(FlowItem {
                id: h.id,
                key: h.key.clone(),
                kind: h.kind_at(done),
                created_at: h.created_at,
                started_at: started,
                done_at: done,
                cycle_days: days(started, done),
                lead_days: days(h.created_at, done),
            })
        })
        .collect();
    out.sort_by(|a, b| a.done_at.cmp(&b.done_at).then_with(|| a.key.cmp(&b.key)));
    out
}

/// Items done per local date `from..=to` (each finished item counted on its done date).
pub fn throughput_daily(done: &[FlowItem], tz: Tz, from: Date, to: Date) -> Vec<(Date, usize)> {
    let mut out: Vec<(Date, usize)> = (from.0..=to.0).map(|d| (Date(d), 0)).collect();
    for f in done {
        let d = tz.date_of(f.done_at);
        if d >= from && d <= to {
            out[(d.0 - from.0) as usize].1 += 1;
        }
    }
    out
}

/// Daily counts summed into weeks beginning on Monday (the first and last may be partial),
/// each labelled by its Monday.
pub fn by_week(daily: &[(Date, usize)]) -> Vec<(Date, usize)> {
    let mut out: Vec<(Date, usize)> = Vec::new();
    for (d, n) in daily {
        let monday = d.plus_days(-i32::from(d.weekday()));
        match out.last_mut() {
            Some((m, total)) if *m == monday => *total += n,
            _ => out.push((monday, *n)),
        }
    }
    out
}

// ----- cumulative flow -----------------------------------------------------------------------

/// How many items were in each workflow state at the end of each local date `from..=to`
/// (states in workflow order; states no longer in the workflow are left out).
pub fn cumulative_flow(
    items: &[ItemHistory],
    wf: &Workflow,
    tz: Tz,
    from: Date,
    to: Date,
    until: Timestamp,
) -> Vec<(Date, Vec<usize>)> {
    let index: HashMap<StateId, usize> = wf.states.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    (from.0..=to.0)
        .map(|d| {
            let d = Date(d);
            let t = tz.last_of(d).min(until);
            let mut counts = vec![0; wf.states.len()];
            if tz.start_of(d) <= until {
                for h in items.iter().filter(|h| h.exists_at(t)) {
                    if let Some(i) = h.state_at(t).and_then(|s| index.get(&s)) {
                        counts[*i] += 1;
                    }
                }
            }
            (d, counts)
        })
        .collect()
}

// ----- bugs ----------------------------------------------------------------------------------

/// Bugs on one local date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BugDay {
    /// The date.
    pub date: Date,
    /// Bugs created that day.
    pub opened: usize,
    /// Moves of bugs into a done state that day.
    pub closed: usize,
    /// Moves of bugs out of a done state that day.
    pub reopened: usize,
    /// Bugs not done at the end of the day.
    pub open: usize,
}

/// The bug trend over local dates `from..=to`: an item counts as a bug while its kind is `bug`.
pub fn bug_trend(
    items: &[ItemHistory],
    wf: &Workflow,
    tz: Tz,
    from: Date,
    to: Date,
    until: Timestamp,
) -> Vec<BugDay> {
    let mut out: Vec<BugDay> = (from.0..=to.0)
        .map(|d| BugDay { date: Date(d), opened: 0, closed: 0, reopened: 0, open: 0 })
        .collect();
    let slot = |t: Timestamp| -> Option<usize> {
        let d = tz.date_of(t);
        (d >= from && d <= to && t <= until).then(|| (d.0 - from.0) as usize)
    };
    for h in items {
        if h.kind_at(h.created_at) == ItemKind::Bug {
            if let Some(i) = slot(h.created_at) {
                out[i].opened += 1;
            }
        }
        let mut prev = Category::Todo;
        for (at, s) in &h.status {
            let c = category(wf, *s);
            if h.kind_at(*at) == ItemKind::Bug && h.exists_at(*at) {
                if let Some(i) = slot(*at) {
                    if c == Category::Done && prev != Category::Done {
                        out[i].closed += 1;
                    } else if c != Category::Done && prev == Category::Done {
                        out[i].reopened += 1;
                    }
                }
            }
            prev = c;
        }
    }
    for day in &mut out {
        let t = tz.last_of(day.date).min(until);
        if tz.start_of(day.date) > until {
            continue;
        }
        day.open = items
            .iter()
            .filter(|h| {
                h.exists_at(t) && h.kind_at(t) == ItemKind::Bug && h.category_at(wf, t) != Category::Done
            })
            .count();
    }
    out
}

// ----- sprints -------------------------------------------------------------------------------

/// What the metrics need to know of a sprint.
#[derive(Debug, Clone, PartialEq)]
pub struct SprintWindow {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// First day.
    pub start: Date,
    /// Last day (included).
    pub end: Date,
    /// When it was started, if it was.
    pub started_at: Option<Timestamp>,
    /// When it was closed, if it was.
    pub closed_at: Option<Timestamp>,
}

impl SprintWindow {
    /// The moment its commitment is taken: its start, or the beginning of its first day.
    pub fn commit_time(&self, tz: Tz) -> Timestamp {
        self.started_at.unwrap_or_else(|| tz.start_of(self.start))
    }

    /// The last moment its own figures count: just before its close, or `until`.
    pub fn final_time(&self, until: Timestamp) -> Timestamp {
        self.closed_at.map_or(until, |c| Timestamp(c.0 - 1).min(until))
    }
}

/// One sprint's delivery figures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SprintResult {
    /// The sprint's id.
    pub sprint_id: i64,
    /// Its name.
    pub name: String,
    /// Points in the sprint at its start.
    pub committed: f64,
    /// Points of items in the sprint and done at its close (or now).
    pub completed: f64,
    /// Points added after the start (each at its estimate when added).
    pub added: f64,
    /// Points removed after the start (each at the estimate it had in the sprint; an item
    /// deleted while in the sprint counts as removed).
    pub removed: f64,
    /// Net points by which items in the sprint were re-estimated after the start (negative when
    /// they shrank), so that committed + added − removed + reestimated = completed + the points
    /// carried over.
    pub reestimated: f64,
    /// completed ÷ committed; `None` when nothing was committed.
    pub completion_rate: Option<f64>,
    /// Keys of the committed items.
    pub committed_items: Vec<String>,
    /// Keys of the completed items.
    pub completed_items: Vec<String>,
    /// Keys of items added after the start (in order; twice if added twice).
    pub added_items: Vec<String>,
    /// Keys of items removed (or deleted) after the start.
    pub removed_items: Vec<String>,
    /// Keys of items still in the sprint and not done at its close: carried over.
    pub carried_over: Vec<String>,
    /// Keys of bugs in the sprint at any time between its start and its close.
    pub bugs: Vec<String>,
}

/// The figures of `sprint` from the history, as of `until` (for a closed sprint: its close).
pub fn sprint_result(
    sprint: &SprintWindow,
    items: &[ItemHistory],
    wf: &Workflow,
    tz: Tz,
    until: Timestamp,
) -> SprintResult {
    let t0 = sprint.commit_time(tz);
    let t1 = sprint.final_time(until);
    let mut r = SprintResult { sprint_id: sprint.id, name: sprint.name.clone(), ..Default::default() };
    for h in items {
        if !h.ever_in(&[sprint.id]) {
            continue;
        }
        let in_at_start = h.sprint_at(t0) == Some(sprint.id) && h.exists_at(t0);
        if in_at_start {
            r.committed += h.points_at(t0);
            r.committed_items.push(h.key.clone());
        }
        // Each moment after the start is taken whole (the events of one transaction share it,
        // in no particular order): membership and estimate before it, and after it.
        let mut member = in_at_start;
        let mut points = h.points_at(t0);
        let mut bug = in_at_start && h.kind_at(t0) == ItemKind::Bug;
        let mut moments: Vec<Timestamp> = h
            .sprint
            .iter()
            .map(|(at, _)| *at)
            .chain(h.points.iter().map(|(at, _)| *at))
            .chain(h.kind.iter().map(|(at, _)| *at))
            .chain(h.deleted_at)
            .filter(|at| *at > t0 && *at <= t1)
            .collect();
        moments.sort_unstable();
        moments.dedup();
        for at in moments {
            let now_in = h.sprint_at(at) == Some(sprint.id) && h.exists_at(at);
            let now_points = h.points_at(at);
            match (member, now_in) {
                (false, true) => {
                    r.added += now_points;
                    r.added_items.push(h.key.clone());
                }
                (true, false) => {
                    r.removed += points;
                    r.removed_items.push(h.key.clone());
                }
                (true, true) => r.reestimated += now_points - points,
                (false, false) => {}
            }
            member = now_in;
            points = now_points;
            bug |= member && h.kind_at(at) == ItemKind::Bug;
        }
        if h.sprint_at(t1) == Some(sprint.id) && h.exists_at(t1) {
            bug |= h.kind_at(t1) == ItemKind::Bug;
            if h.category_at(wf, t1) == Category::Done {
                r.completed += h.points_at(t1);
                r.completed_items.push(h.key.clone());
            } else {
                r.carried_over.push(h.key.clone());
            }
        }
        if bug {
            r.bugs.push(h.key.clone());
        }
    }
    r.completion_rate = (r.committed > 0.0).then(|| r.completed / r.committed);
    r
}

/// Average and spread of completed points over sprints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct VelocitySummary {
    /// How many sprints.
    pub sprints: usize,
    /// Mean completed points; `None` with no sprint.
    pub average: Option<f64>,
    /// Population standard deviation of completed points.
    pub spread: f64,
    /// Fewest completed points.
    pub min: Option<f64>,
    /// Most completed points.
    pub max: Option<f64>,
    /// Mean completion rate over the sprints that had a commitment.
    pub completion_rate: Option<f64>,
}

/// The summary of `results` (already the last N sprints).
pub fn velocity_summary(results: &[SprintResult]) -> VelocitySummary {
    let pts: Vec<f64> = results.iter().map(|r| r.completed).collect();
    if pts.is_empty() {
        return VelocitySummary::default();
    }
    let n = pts.len() as f64;
    let avg = pts.iter().sum::<f64>() / n;
    let var = pts.iter().map(|p| (p - avg).powi(2)).sum::<f64>() / n;
    let rates: Vec<f64> = results.iter().filter_map(|r| r.completion_rate).collect();
    VelocitySummary {
        sprints: pts.len(),
        average: Some(avg),
        spread: var.sqrt(),
        min: pts.iter().copied().reduce(f64::min),
        max: pts.iter().copied().reduce(f64::max),
        completion_rate: (!rates.is_empty()).then(|| rates.iter().sum::<f64>() / rates.len() as f64),
    }
}

/// One day of a sprint's burndown and burnup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BurnDay {
    /// The date.
    pub date: Date,
    /// Points in the sprint not done at the end of the day (`None` for days still to come).
    pub remaining: Option<f64>,
    /// Points in the sprint and done at the end of the day.
    pub done: Option<f64>,
    /// Points in the sprint at the end of the day (done or not).
    pub scope: Option<f64>,
    /// Points added that day after the start.
    pub added: f64,
    /// Points removed that day after the start.
    pub removed: f64,
    /// The ideal remaining points: the commitment falling evenly to zero on the last day.
    pub ideal: f64,
}

/// A sprint day by day from its first to its last date, as of `until`.
pub fn sprint_burn(
    sprint: &SprintWindow,
    items: &[ItemHistory],
    wf: &Workflow,
    tz: Tz,
    until: Timestamp,
) -> (SprintResult, Vec<BurnDay>) {
    let result = sprint_result(sprint, items, wf, tz, until);
    let t0 = sprint.commit_time(tz);
    let t_end = sprint.final_time(until);
    let members: Vec<&ItemHistory> = items.iter().filter(|h| h.ever_in(&[sprint.id])).collect();
    let n = (sprint.end.0 - sprint.start.0 + 1).max(1);
    let mut out = Vec::new();
    for i in 0..n {
        let date = sprint.start.plus_days(i);
        let ideal = if n == 1 { 0.0 } else { result.committed * f64::from(n - 1 - i) / f64::from(n - 1) };
        let mut day =
            BurnDay { date, remaining: None, done: None, scope: None, added: 0.0, removed: 0.0, ideal };
        let (lo, hi) = (tz.start_of(date), tz.last_of(date));
        if lo <= t_end && lo <= until {
            let t = hi.min(t_end).max(t0.min(hi));
            let (mut done, mut open) = (0.0, 0.0);
            for h in &members {
                if h.sprint_at(t) == Some(sprint.id) && h.exists_at(t) {
                    if h.category_at(wf, t) == Category::Done {
                        done += h.points_at(t);
                    } else {
                        open += h.points_at(t);
                    }
                }
                let mut member = h.sprint_at(t0) == Some(sprint.id) && h.exists_at(t0);
                for (at, s) in h.sprint.iter().filter(|(at, _)| *at > t0 && *at <= t_end) {
                    let now_in = *s == Some(sprint.id);
                    if *at >= lo && *at <= hi && now_in != member {
                        if now_in {
                            day.added += h.points_at(*at);
                        } else {
                            day.removed += h.points_at(*at);
                        }
                    }
                    member = now_in;
                }
            }
            day.remaining = Some(open);
            day.done = Some(done);
            day.scope = Some(open + done);
        }
        out.push(day);
    }
    (result, out)
}

/// One day of a release's burnup.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReleaseDay {
    /// The date.
    pub date: Date,
    /// Points of the items in the release at the end of the day.
    pub scope: f64,
    /// Points of those that were done.
    pub done: f64,
    /// Items in the release.
    pub items: usize,
    /// Items in the release and done.
    pub done_items: usize,
}

/// A release's scope and done work at the end of each local date `from..=to`.
pub fn release_burnup(
    release: i64,
    items: &[ItemHistory],
    wf: &Workflow,
    tz: Tz,
    from: Date,
    to: Date,
    until: Timestamp,
) -> Vec<ReleaseDay> {
    let members: Vec<&ItemHistory> =
        items.iter().filter(|h| h.release.iter().any(|(_, r)| *r == Some(release))).collect();
    (from.0..=to.0)
        .filter(|d| tz.start_of(Date(*d)) <= until)
        .map(|d| {
            let date = Date(d);
            let t = tz.last_of(date).min(until);
            let mut day = ReleaseDay { date, scope: 0.0, done: 0.0, items: 0, done_items: 0 };
            for h in members.iter().filter(|h| h.exists_at(t) && h.release_at(t) == Some(release)) {
                let p = h.points_at(t);
                day.scope += p;
                day.items += 1;
                if h.category_at(wf, t) == Category::Done {
                    day.done += p;
                    day.done_items += 1;
                }
            }
            day
        })
        .collect()
}

// ----- work in progress ----------------------------------------------------------------------

/// An item in progress and how long it has been.
#[derive(Debug, Clone, PartialEq)]
pub struct WipItem {
    /// The item's id.
    pub id: i64,
    /// Its key.
    pub key: String,
    /// Its kind.
    pub kind: ItemKind,
    /// Its state now.
    pub state: StateId,
    /// Since when it has been in progress without a break.
    pub since: Timestamp,
    /// How many days that is.
    pub age_days: f64,
    /// Whether it is older than the given limit (the 85th percentile cycle time).
    pub over: bool,
}

/// Items in an `in_progress` state at `now`, oldest first, flagged when older than `limit_days`.
pub fn work_in_progress(
    items: &[ItemHistory],
    wf: &Workflow,
    now: Timestamp,
    limit_days: Option<f64>,
) -> Vec<WipItem> {
    let mut out: Vec<WipItem> = items
        .iter()
        .filter_map(|h| {
            let since = h.in_progress_since(wf, now)?;
            let row = WipRow {
                item_id: h.id,
                key: h.key.clone(),
                kind: h.kind_at(now),
                state: h.state_at(now)?,
                since,
            };
            Some(wip_item(&row, now, limit_days))
        })
        .collect();
    out.sort_by(|a, b| a.since.cmp(&b.since).then_with(|| a.key.cmp(&b.key)));
    out
}

/// An item in progress as the flow table and the items table tell it (see [`FlowRow::wip_since`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WipRow {
    /// The item's id.
    pub item_id: i64,
    /// Its key.
    pub key: String,
    /// Its kind now.
    pub kind: ItemKind,
    /// Its state now.
    pub state: StateId,
    /// Since when it has been in progress without a break.
    pub since: Timestamp,
}

/// A row in progress with its age at `now`, flagged when older than `limit_days`.
pub fn wip_item(row: &WipRow, now: Timestamp, limit_days: Option<f64>) -> WipItem {
    let age_days = days(row.since, now);
    WipItem {
        id: row.item_id,
        key: row.key.clone(),
        kind: row.kind,
        state: row.state,
        since: row.since,
        age_days,
        over: limit_days.is_some_and(|l| age_days > l),
    }
}

/// The lower bounds, in whole days, of the age buckets work in progress is counted in after
/// the first (`[0, 1)`): `[1, 3)`, `[3, 7)`, `[7, 14)`, `[14, 30)`, `[30, ∞)`.
pub const WIP_AGE_DAYS: [i64; 5] = [1, 3, 7, 14, 30];

/// The latest start of a stretch in progress that is at least `days` old at `now`: an item is
/// in that bucket or an older one exactly when its `since` is at or before this moment.
pub fn wip_age_cut(now: Timestamp, days: i64) -> Timestamp {
    Timestamp(now.0 - days * DAY_MS)
}

/// The latest `since` flagged as older than `limit_days` at `now` (age > limit).
pub fn wip_over_cut(now: Timestamp, limit_days: f64) -> Timestamp {
    Timestamp(now.0 - (limit_days * DAY_MS as f64).floor() as i64 - 1)
}

/// Work in progress in numbers: how many items, per state, per age bucket, and how many are
/// older than the limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WipSummary {
    /// Items in progress.
    pub total: usize,
    /// Per `in_progress` state of the workflow, in workflow order.
    pub states: Vec<(StateId, usize)>,
    /// Per age bucket: `[0, 1)` days, then from each of [`WIP_AGE_DAYS`].
    pub ages: Vec<usize>,
    /// Older than the 85th percentile cycle time (0 when there is none).
    pub over: usize,
}

/// The summary of a whole list of items in progress (the same numbers a store counts).
pub fn wip_summary(items: &[WipItem], wf: &Workflow, now: Timestamp, limit_days: Option<f64>) -> WipSummary {
    let states = wf
        .states
        .iter()
        .filter(|s| s.category == Category::InProgress)
        .map(|s| (s.id, items.iter().filter(|w| w.state == s.id).count()))
        .collect();
    let mut ages = vec![0; WIP_AGE_DAYS.len() + 1];
    for w in items {
        ages[WIP_AGE_DAYS.iter().filter(|d| w.since <= wip_age_cut(now, **d)).count()] += 1;
    }
    let over = limit_days.map_or(0, |l| items.iter().filter(|w| w.since <= wip_over_cut(now, l)).count());
    WipSummary { total: items.len(), states, ages, over }
}

// ----- the derived flow table ----------------------------------------------------------------

/// One item's flow facts as the derived table keeps them (see `ARCHITECTURE.md`): enough to
/// answer cycle time, lead time and throughput without reading the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowRow {
    /// The item's id.
    pub item_id: i64,
    /// Its key.
    pub key: String,
    /// Its kind now.
    pub kind: ItemKind,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it first left a `todo` state.
    pub started_at: Option<Timestamp>,
    /// When it last entered a `done` state, if it is done now.
    pub done_at: Option<Timestamp>,
    /// When it was deleted.
    pub deleted_at: Option<Timestamp>,
    /// Since when it has been in progress without a break, while it is (not deleted) in an
    /// `in_progress` state: the age work in progress reports.
    pub wip_since: Option<Timestamp>,
}

/// The flow rows and sprint memberships (sprint, item) of `items`, as a rebuild writes them.
pub fn flow_rows(items: &[ItemHistory], wf: &Workflow) -> (Vec<FlowRow>, Vec<(i64, i64)>) {
    let end = Timestamp(i64::MAX);
    let mut rows = Vec::with_capacity(items.len());
    let mut members = Vec::new();
    for h in items {
        let (started_at, done_at) = h.cycle(wf, end);
        rows.push(FlowRow {
            item_id: h.id,
            key: h.key.clone(),
            kind: h.kind_at(end),
            created_at: h.created_at,
            started_at,
            done_at,
            deleted_at: h.deleted_at,
            wip_since: h.in_progress_since(wf, end),
        });
        let mut seen: Vec<i64> = h.sprint.iter().filter_map(|(_, s)| *s).collect();
        seen.sort_unstable();
        seen.dedup();
        members.extend(seen.into_iter().map(|s| (s, h.id)));
    }
    (rows, members)
}

/// Finished items from flow rows: those done on local dates `from..=to` and not deleted,
/// ordered like [`finished`] (which gives the same answer from the history).
pub fn finished_rows(rows: &[FlowRow], tz: Tz, from: Date, to: Date) -> Vec<FlowItem> {
    let (lo, hi) = (tz.start_of(from), tz.last_of(to));
    let mut out: Vec<FlowItem> = rows
        .iter()
        .filter(|r| r.deleted_at.is_none())
        .filter_map(|r| {
            let done = r.done_at.filter(|d| *d >= lo && *d <= hi)?;
            let started = r.started_at.unwrap_or(done);
            Some(FlowItem {
                id: r.item_id,
                key: r.key.clone(),
                kind: r.kind,
                created_at: r.created_at,
                started_at: started,
                done_at: done,
                cycle_days: days(started, done),
                lead_days: days(r.created_at, done),
            })
        })
        .collect();
    out.sort_by(|a, b| a.done_at.cmp(&b.done_at).then_with(|| a.key.cmp(&b.key)));
    out
}

#[cfg(test)]
mod tests;
