//! Outcomes: did the work move the needle? A KPI's mean in a window before and after a delivery
//! event (a plain before/after comparison, not a claim of causation), and alignment: which work
//! traces to no goal through epic → initiative → goal.

use crate::item::ItemKind;
use crate::kpi::Measurement;
use crate::{Date, ItemId, RecordId};
use std::collections::{HashMap, HashSet};

/// The default window, in days, on each side of a delivery event.
pub const WINDOW_DAYS_DEFAULT: i32 = 28;
/// The longest window allowed.
pub const WINDOW_DAYS_MAX: i32 = 366;

/// Checks a window length: 1 to [`WINDOW_DAYS_MAX`] days.
pub fn check_window(field: &str, days: i64) -> crate::Invalid<i32> {
    if !(1..=i64::from(WINDOW_DAYS_MAX)).contains(&days) {
        return Err(crate::ValidationError::new(field, "must be a whole number of days from 1 to 366"));
    }
    Ok(days as i32)
}

/// The measurements of one side of an event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// First day included.
    pub from: Date,
    /// Last day included.
    pub to: Date,
    /// How many measurements fall in it.
    pub count: usize,
    /// Their mean (`None` when there are none).
    pub mean: Option<f64>,
}

/// A KPI before and after an event day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeforeAfter {
    /// The `days` days before the event day (the event day not included).
    pub before: Window,
    /// The event day and the `days - 1` days after it.
    pub after: Window,
    /// after − before, when both sides have measurements.
    pub change: Option<f64>,
}

impl BeforeAfter {
    /// Whether both sides had measurements to compare.
    pub fn comparable(&self) -> bool {
        self.change.is_some()
    }
}

/// Rounds to 6 decimals: sums of decimal measurements carry binary noise (36.199999999999996)
/// that no one measured.
fn tidy(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn window(ms: &[Measurement], from: Date, to: Date) -> Window {
    let vals: Vec<f64> = ms.iter().filter(|m| m.date >= from && m.date <= to).map(|m| m.value).collect();
    let mean = (!vals.is_empty()).then(|| tidy(vals.iter().sum::<f64>() / vals.len() as f64));
    Window { from, to, count: vals.len(), mean }
}

/// Compares the mean of the measurements in the `days` days before `day` (day − days to
/// day − 1) with the mean of those from `day` to day + days − 1: the event's own day counts as
/// after, since what shipped that day was live for it.
pub fn before_after(ms: &[Measurement], day: Date, days: i32) -> BeforeAfter {
    let days = days.max(1);
    let before = window(ms, day.plus_days(-days), day.plus_days(-1));
    let after = window(ms, day, day.plus_days(days - 1));
    let change = match (before.mean, after.mean) {
        (Some(b), Some(a)) => Some(tidy(a - b)),
        _ => None,
    };
    BeforeAfter { before, after, change }
}

/// The epic an item belongs to: itself when an epic, else the nearest epic up its parents
/// (a task's story's epic). `parents` maps an item to its kind and parent.
pub fn epic_of(item: ItemId, parents: &HashMap<ItemId, (ItemKind, Option<ItemId>)>) -> Option<ItemId> {
    let mut cur = item;
    // The hierarchy is at most epic → story → task; the bound guards bad data.
    for _ in 0..4 {
        let (kind, parent) = parents.get(&cur)?;
        if *kind == ItemKind::Epic {
            return Some(cur);
        }
        cur = (*parent)?;
    }
    None
}

/// The epics that trace to a goal: those of initiatives linking at least one goal that exists.
/// `initiatives` are (goal ids, epic ids).
pub fn aligned_epics(
    initiatives: &[(Vec<RecordId>, Vec<ItemId>)],
    goals: &HashSet<RecordId>,
) -> HashSet<ItemId> {
    initiatives
        .iter()
        .filter(|(gs, _)| gs.iter().any(|g| goals.contains(g)))
        .flat_map(|(_, es)| es.iter().copied())
        .collect()
}

/// One piece of work for the alignment report.
#[derive(Debug, Clone, PartialEq)]
pub struct Work {
    /// Its key.
    pub key: String,
    /// Its estimate, if any.
    pub points: Option<f64>,
    /// The team whose sprint holds it (`None`: in no team's sprint).
    pub team: Option<RecordId>,
    /// Whether it traces to a goal.
    pub aligned: bool,
}

/// Sums of work, aligned or not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlignmentSums {
    /// Items counted.
    pub items: usize,
    /// Their points.
    pub points: f64,
    /// Items that trace to no goal.
    pub unaligned_items: usize,
    /// Their points.
    pub unaligned_points: f64,
    /// Items without an estimate (in the counts, not in the points).
    pub unestimated: usize,
    /// Keys of the unaligned items, in the order given.
    pub unaligned: Vec<String>,
}

impl AlignmentSums {
    fn add(&mut self, w: &Work) {
        self.items += 1;
        let p = w.points.unwrap_or(0.0);
        self.points += p;
        if w.points.is_none() {
            self.unestimated += 1;
        }
        if !w.aligned {
            self.unaligned_items += 1;
            self.unaligned_points += p;
            self.unaligned.push(w.key.clone());
        }
    }

    /// Unaligned share of the points, 0-1 (`None` when there are no points).
    pub fn points_share(&self) -> Option<f64> {
        (self.points > 0.0).then(|| self.unaligned_points / self.points)
    }

    /// Unaligned share of the items, 0-1 (`None` when there are none).
    pub fn items_share(&self) -> Option<f64> {
        (self.items > 0).then(|| self.unaligned_items as f64 / self.items as f64)
    }
}

/// The alignment of a set of work: for all of it and per team (teams in first-seen order, the
/// work in no team's sprint last as `None`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Alignment {
    /// All of it.
    pub total: AlignmentSums,
    /// Per team.
    pub teams: Vec<(Option<RecordId>, AlignmentSums)>,
}

/// Sums the work.
pub fn alignment(work: &[Work]) -> Alignment {
    let mut a = Alignment::default();
    for w in work {
        a.total.add(w);
        match a.teams.iter_mut().find(|(t, _)| *t == w.team) {
            Some((_, s)) => s.add(w),
            None => {
                let mut s = AlignmentSums::default();
                s.add(w);
                a.teams.push((w.team, s));
            }
        }
    }
    a.teams.sort_by_key(|(t, _)| t.is_none());
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse("d", s).unwrap()
    }

    fn m(date: &str, value: f64) -> Measurement {
        Measurement { date: d(date), value, note: String::new() }
    }

    #[test]
    fn before_after_means_with_boundaries() {
        // Release on 2026-03-10, window 7: before is 03-03..03-09, after is 03-10..03-16.
        let ms = vec![
            m("2026-03-02", 100.0), // one day too early: left out
            m("2026-03-03", 40.0),  // first day of before
            m("2026-03-09", 44.0),  // last day of before
            m("2026-03-10", 50.0),  // the release day counts as after
            m("2026-03-16", 54.0),  // last day of after
            m("2026-03-17", 900.0), // one day too late: left out
        ];
        let ba = before_after(&ms, d("2026-03-10"), 7);
        assert_eq!((ba.before.from, ba.before.to), (d("2026-03-03"), d("2026-03-09")));
        assert_eq!((ba.after.from, ba.after.to), (d("2026-03-10"), d("2026-03-16")));
        assert_eq!((ba.before.count, ba.before.mean), (2, Some(42.0)));
        assert_eq!((ba.after.count, ba.after.mean), (2, Some(52.0)));
        assert_eq!(ba.change, Some(10.0));
        assert!(ba.comparable());
    }

    #[test]
    fn nothing_after_a_release_is_not_compared() {
        let ms = vec![m("2026-03-01", 40.0), m("2026-03-05", 41.0)];
        let ba = before_after(&ms, d("2026-03-10"), 28);
        assert_eq!((ba.before.count, ba.before.mean), (2, Some(40.5)));
        assert_eq!((ba.after.count, ba.after.mean), (0, None));
        assert_eq!(ba.change, None);
        assert!(!ba.comparable());
        // Nothing at all.
        let ba = before_after(&[], d("2026-03-10"), 28);
        assert_eq!((ba.before.mean, ba.after.mean, ba.change), (None, None, None));
    }

    #[test]
    fn a_one_day_window_is_the_day_before_and_the_day() {
        let ms = vec![m("2026-03-09", 8.0), m("2026-03-10", 6.0), m("2026-03-10", 5.0)];
        let ba = before_after(&ms, d("2026-03-10"), 1);
        assert_eq!((ba.before.mean, ba.after.mean, ba.change), (Some(8.0), Some(5.5), Some(-2.5)));
    }

    #[test]
    fn means_carry_no_binary_noise() {
        // 36.1 + 36.3 + 36.2 summed in binary is 108.60000000000001.
        let ms =
            vec![m("2026-03-01", 33.1), m("2026-03-10", 36.1), m("2026-03-11", 36.3), m("2026-03-12", 36.2)];
        let ba = before_after(&ms, d("2026-03-10"), 28);
        assert_eq!((ba.before.mean, ba.after.mean, ba.change), (Some(33.1), Some(36.2), Some(3.1)));
    }

    #[test]
    fn windows_are_checked() {
        assert_eq!(check_window("window_days", 28).unwrap(), 28);
        assert_eq!(check_window("window_days", 0).unwrap_err().field, "window_days");
        assert!(check_window("window_days", 367).is_err());
        assert!(check_window("window_days", 366).is_ok());
    }

    #[test]
    fn epics_are_found_up_the_parents() {
        let (e, s, t, loose, orphan_task) = (ItemId(1), ItemId(2), ItemId(3), ItemId(4), ItemId(5));
        let parents = HashMap::from([
            (e, (ItemKind::Epic, None)),
            (s, (ItemKind::Story, Some(e))),
            (t, (ItemKind::Task, Some(s))),
            (loose, (ItemKind::Story, None)),
            (orphan_task, (ItemKind::Task, Some(ItemId(99)))), // parent not known
        ]);
        assert_eq!(epic_of(e, &parents), Some(e));
        assert_eq!(epic_of(s, &parents), Some(e));
        assert_eq!(epic_of(t, &parents), Some(e));
        assert_eq!(epic_of(loose, &parents), None);
        assert_eq!(epic_of(orphan_task, &parents), None);
        assert_eq!(epic_of(ItemId(42), &parents), None);
    }

    #[test]
    fn only_initiatives_with_a_goal_align_their_epics() {
        let goals = HashSet::from([RecordId(10)]);
        let inits = vec![
            (vec![RecordId(10)], vec![ItemId(1)]),
            (vec![], vec![ItemId(2)]),                  // an initiative with no goal
            (vec![RecordId(11)], vec![ItemId(3)]),      // its goal is gone
            (vec![RecordId(11), RecordId(10)], vec![]), // no epics
        ];
        assert_eq!(aligned_epics(&inits, &goals), HashSet::from([ItemId(1)]));
    }

    #[test]
    fn alignment_sums_per_team_and_product() {
        let w = |key: &str, points: Option<f64>, team: Option<i64>, aligned: bool| Work {
            key: key.into(),
            points,
            team: team.map(RecordId),
            aligned,
        };
        let work = vec![
            w("A-1", Some(5.0), None, true),
            w("A-2", Some(3.0), None, false), // no epic
            w("A-3", Some(8.0), Some(7), false),
            w("A-4", None, Some(7), false), // unestimated: counted, no points
            w("A-5", Some(2.0), Some(7), true),
        ];
        let a = alignment(&work);
        assert_eq!((a.total.items, a.total.points), (5, 18.0));
        assert_eq!((a.total.unaligned_items, a.total.unaligned_points, a.total.unestimated), (3, 11.0, 1));
        assert_eq!(a.total.unaligned, ["A-2", "A-3", "A-4"]);
        assert_eq!(a.total.points_share(), Some(11.0 / 18.0));
        assert_eq!(a.total.items_share(), Some(0.6));
        // The team first, the work in no sprint last.
        assert_eq!(a.teams.len(), 2);
        let (t, s) = &a.teams[0];
        assert_eq!(*t, Some(RecordId(7)));
        assert_eq!((s.items, s.points, s.unaligned_points), (3, 10.0, 8.0));
        assert_eq!(s.points_share(), Some(0.8));
        let (t, s) = &a.teams[1];
        assert_eq!(*t, None);
        assert_eq!((s.items, s.unaligned_items, s.unaligned.clone()), (2, 1, vec!["A-2".to_string()]));
        assert_eq!(alignment(&[]).total.points_share(), None);
        assert_eq!(alignment(&[]).total.items_share(), None);
    }
}
