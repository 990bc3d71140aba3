//! The Product Manager's objects that several parts of Keel refer to: goals (with their key
//! results) and initiatives. Stored as records; each feature module keeps its own rules.

use crate::time::Date;
use crate::{ItemId, RecordId, UserId};
use serde::{Deserialize, Serialize};

/// A goal (objective) of a product, with the key results that measure it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Goal {
    /// What the product wants to achieve ("Make checkout effortless").
    pub title: String,
    /// Why, in Markdown.
    #[serde(default)]
    pub description: String,
    /// When it should be reached.
    #[serde(default)]
    pub due: Option<Date>,
    /// Who owns it (a member of the product).
    #[serde(default)]
    pub owner: Option<UserId>,
    /// The key results.
    #[serde(default)]
    pub key_results: Vec<KeyResult>,
}

/// A key result of a goal: one measurable outcome, tracked by a KPI.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyResult {
    /// Stable within its goal.
    pub id: i64,
    /// What is measured ("Checkout conversion above 45 %").
    pub title: String,
    /// The KPI record it tracks.
    #[serde(default)]
    pub kpi_id: Option<RecordId>,
}

/// Where an initiative stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitiativeStatus {
    /// Suggested, not decided.
    #[default]
    Proposed,
    /// Decided and scheduled.
    Planned,
    /// Being delivered.
    InProgress,
    /// Delivered.
    Done,
    /// Given up.
    Dropped,
}

impl InitiativeStatus {
    /// Every status, in order.
    pub const ALL: [InitiativeStatus; 5] = [
        InitiativeStatus::Proposed,
        InitiativeStatus::Planned,
        InitiativeStatus::InProgress,
        InitiativeStatus::Done,
        InitiativeStatus::Dropped,
    ];

    /// Wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            InitiativeStatus::Proposed => "proposed",
            InitiativeStatus::Planned => "planned",
            InitiativeStatus::InProgress => "in_progress",
            InitiativeStatus::Done => "done",
            InitiativeStatus::Dropped => "dropped",
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> crate::Invalid<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| {
            crate::ValidationError::new(field, "must be one of proposed, planned, in_progress, done, dropped")
        })
    }
}

/// A roadmap lane.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    /// Being worked on now.
    Now,
    /// Up next.
    Next,
    /// Later.
    #[default]
    Later,
}

impl Lane {
    /// Every lane, in order.
    pub const ALL: [Lane; 3] = [Lane::Now, Lane::Next, Lane::Later];

    /// Wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Now => "now",
            Lane::Next => "next",
            Lane::Later => "later",
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> crate::Invalid<Self> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| crate::ValidationError::new(field, "must be one of now, next, later"))
    }
}

/// An initiative: a bet or theme on the roadmap, serving goals, delivered by epics. Its status
/// is kept in the record's state column.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Initiative {
    /// Its name.
    pub title: String,
    /// What and why, in Markdown.
    #[serde(default)]
    pub description: String,
    /// Who owns it.
    #[serde(default)]
    pub owner: Option<UserId>,
    /// Its roadmap lane.
    #[serde(default)]
    pub lane: Lane,
    /// First day of its timeframe.
    #[serde(default)]
    pub start: Option<Date>,
    /// Last day of its timeframe.
    #[serde(default)]
    pub end: Option<Date>,
    /// The goal records it serves.
    #[serde(default)]
    pub goals: Vec<RecordId>,
    /// The epics that deliver it.
    #[serde(default)]
    pub epics: Vec<ItemId>,
    /// Budget, confidence and public wording.
    #[serde(default, flatten)]
    pub plan: InitiativePlan,
}

/// The roadmap fields of an initiative added for the roadmap: budget, confidence and its public
/// wording. Kept in [`Initiative`] (flattened there) so older records read as defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InitiativePlan {
    /// Planned budget (in the product's currency units).
    #[serde(default)]
    pub budget_planned: Option<f64>,
    /// Budget spent so far.
    #[serde(default)]
    pub budget_spent: Option<f64>,
    /// How sure the PM is that it delivers, 0 to 100.
    #[serde(default)]
    pub confidence: Option<u8>,
    /// Shown on the published roadmap.
    #[serde(default)]
    pub public: bool,
    /// Its title on the published roadmap (the title when empty).
    #[serde(default)]
    pub public_title: String,
    /// Its description on the published roadmap, in Markdown.
    #[serde(default)]
    pub public_description: String,
}

/// The most a budget may be.
pub const BUDGET_MAX: f64 = 1e12;

/// Checks a budget: finite, 0 to [`BUDGET_MAX`].
pub fn check_budget(field: &str, v: f64) -> crate::Invalid<f64> {
    if !v.is_finite() || !(0.0..=BUDGET_MAX).contains(&v) {
        return Err(crate::ValidationError::new(field, "must be a number from 0 to 1000000000000"));
    }
    Ok(v)
}

/// Checks a confidence: 0 to 100.
pub fn check_confidence(field: &str, v: i64) -> crate::Invalid<u8> {
    if !(0..=100).contains(&v) {
        return Err(crate::ValidationError::new(field, "must be a whole number from 0 to 100"));
    }
    Ok(v as u8)
}

/// A calendar quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    /// The year.
    pub year: i64,
    /// 1 to 4.
    pub q: u8,
}

impl Quarter {
    /// The quarter a date falls in.
    pub fn of(d: Date) -> Quarter {
        let (y, m, _) = d.ymd();
        Quarter { year: y, q: ((m - 1) / 3 + 1) as u8 }
    }

    /// Its first day.
    pub fn start(self) -> Date {
        let m = (i64::from(self.q) - 1) * 3 + 1;
        Date::parse("quarter", &format!("{:04}-{:02}-01", self.year, m)).unwrap_or(Date(0))
    }

    /// Its last day.
    pub fn end(self) -> Date {
        self.next().start().plus_days(-1)
    }

    /// The quarter after.
    pub fn next(self) -> Quarter {
        if self.q == 4 {
            Quarter { year: self.year + 1, q: 1 }
        } else {
            Quarter { year: self.year, q: self.q + 1 }
        }
    }

    /// "2026-Q3".
    pub fn label(self) -> String {
        format!("{}-Q{}", self.year, self.q)
    }

    /// Parses "2026-Q3".
    pub fn parse(field: &str, s: &str) -> crate::Invalid<Quarter> {
        let err = || crate::ValidationError::new(field, "must be a quarter such as 2026-Q3");
        let (y, q) = s.trim().split_once("-Q").ok_or_else(err)?;
        let year: i64 = y.parse().map_err(|_| err())?;
        let q: u8 = q.parse().map_err(|_| err())?;
        if !(1970..=9998).contains(&year) || !(1..=4).contains(&q) {
            return Err(err());
        }
        Ok(Quarter { year, q })
    }

    /// The quarters from `from`'s to `to`'s, both included (at most 40).
    pub fn span(from: Date, to: Date) -> Vec<Quarter> {
        let (mut q, last) = (Quarter::of(from.min(to)), Quarter::of(from.max(to)));
        let mut out = vec![q];
        while q < last && out.len() < 40 {
            q = q.next();
            out.push(q);
        }
        out
    }
}

/// Delivery progress: done points of all points.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Progress {
    /// Points of stories in a done state.
    pub done_points: f64,
    /// Points of all its stories.
    pub total_points: f64,
    /// Stories without an estimate (not counted).
    pub unestimated: u32,
}

impl Progress {
    /// Rolls up stories given as (estimate, done).
    pub fn of(stories: &[(Option<f64>, bool)]) -> Progress {
        let mut p = Progress::default();
        for (points, done) in stories {
            match points {
                Some(v) => {
                    p.total_points += v;
                    if *done {
                        p.done_points += v;
                    }
                }
                None => p.unestimated += 1,
            }
        }
        p
    }

    /// Done share in whole percent (0 when nothing is estimated).
    pub fn percent(self) -> u8 {
        if self.total_points <= 0.0 {
            0
        } else {
            (self.done_points / self.total_points * 100.0).round().clamp(0.0, 100.0) as u8
        }
    }
}

/// Warnings for an initiative's timeframe: each linked goal (title, due) that its end passes.
pub fn timeline_warnings(end: Option<Date>, goals: &[(String, Option<Date>)]) -> Vec<String> {
    let Some(end) = end else { return Vec::new() };
    goals
        .iter()
        .filter_map(|(title, due)| {
            let due = (*due)?;
            (end > due)
                .then(|| format!("ends on {end}, after the goal \u{201c}{title}\u{201d} is due on {due}"))
        })
        .collect()
}

#[cfg(test)]
mod roadmap_tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse("d", s).unwrap()
    }

    #[test]
    fn quarters() {
        assert_eq!(Quarter::of(d("2026-01-01")), Quarter { year: 2026, q: 1 });
        assert_eq!(Quarter::of(d("2026-03-31")), Quarter { year: 2026, q: 1 });
        assert_eq!(Quarter::of(d("2026-04-01")), Quarter { year: 2026, q: 2 });
        assert_eq!(Quarter::of(d("2026-12-31")).label(), "2026-Q4");
        let q4 = Quarter::parse("q", "2026-Q4").unwrap();
        assert_eq!((q4.start(), q4.end()), (d("2026-10-01"), d("2026-12-31")));
        assert_eq!(q4.next(), Quarter { year: 2027, q: 1 });
        assert_eq!(Quarter::parse("q", "2027-Q1").unwrap().end(), d("2027-03-31"));
        assert_eq!(Quarter::parse("q", "2028-Q1").unwrap().end(), d("2028-03-31"));
        assert!(Quarter::parse("q", "2026-Q5").is_err());
        assert!(Quarter::parse("q", "Q1").is_err());
        let span: Vec<String> =
            Quarter::span(d("2026-11-15"), d("2027-04-02")).into_iter().map(Quarter::label).collect();
        assert_eq!(span, ["2026-Q4", "2027-Q1", "2027-Q2"]);
    }

    #[test]
    fn progress_rolls_up_points() {
        // 3 + 5 done of 3 + 5 + 8 = 16; the unestimated one is counted apart.
        let p = Progress::of(&[(Some(3.0), true), (Some(5.0), true), (Some(8.0), false), (None, true)]);
        assert_eq!((p.done_points, p.total_points, p.unestimated), (8.0, 16.0, 1));
        assert_eq!(p.percent(), 50);
        assert_eq!(Progress::of(&[(Some(2.0), true), (Some(1.0), false)]).percent(), 67);
        assert_eq!(Progress::of(&[]).percent(), 0);
    }

    #[test]
    fn warnings_past_a_goal() {
        let goals = vec![("Fast".to_string(), Some(d("2026-06-30"))), ("Any".to_string(), None)];
        assert!(timeline_warnings(Some(d("2026-06-30")), &goals).is_empty());
        assert!(timeline_warnings(None, &goals).is_empty());
        let w = timeline_warnings(Some(d("2026-07-01")), &goals);
        assert_eq!(w, ["ends on 2026-07-01, after the goal \u{201c}Fast\u{201d} is due on 2026-06-30"]);
    }

    #[test]
    fn checks() {
        assert!(check_confidence("c", 101).is_err());
        assert_eq!(check_confidence("c", 100).unwrap(), 100);
        assert!(check_budget("b", -1.0).is_err());
        assert!(check_budget("b", f64::NAN).is_err());
    }
}
