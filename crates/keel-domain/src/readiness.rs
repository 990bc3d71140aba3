//! Definition of Ready and Definition of Done: per-product checklists. The Definition of Ready
//! is checked mostly by rules over an item's fields (plus hand-ticked text checks); the
//! Definition of Done is a checklist ticked per item before the Product Owner may accept it.

use crate::error::{text, Invalid, ValidationError};
use crate::item::{Item, ItemKind};
use serde::{Deserialize, Serialize};

/// Most checks in one definition.
pub const CHECKS_MAX: usize = 30;

/// What one Definition-of-Ready check looks at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum ReadyRule {
    /// Has at least one acceptance criterion.
    HasCriteria,
    /// Has an estimate.
    Estimated,
    /// Estimate at most this many points.
    MaxPoints {
        /// The limit.
        points: f64,
    },
    /// No open item blocks it.
    NotBlocked,
    /// Has a parent epic.
    HasEpic,
    /// A statement someone ticks by hand on each item ("UX reviewed").
    Manual {
        /// The statement.
        text: String,
    },
}

/// One check of the Definition of Ready.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadyCheck {
    /// Stable id (items store the ids of the manual checks ticked).
    pub id: i64,
    /// The rule.
    #[serde(flatten)]
    pub rule: ReadyRule,
}

/// A product's Definition of Ready.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefinitionOfReady {
    /// The checks, in order.
    pub checks: Vec<ReadyCheck>,
}

impl Default for DefinitionOfReady {
    /// What a new product starts with: criteria, an estimate of at most 13 points, not blocked.
    fn default() -> Self {
        DefinitionOfReady {
            checks: vec![
                ReadyCheck { id: 1, rule: ReadyRule::HasCriteria },
                ReadyCheck { id: 2, rule: ReadyRule::Estimated },
                ReadyCheck { id: 3, rule: ReadyRule::MaxPoints { points: 13.0 } },
                ReadyCheck { id: 4, rule: ReadyRule::NotBlocked },
            ],
        }
    }
}

impl ReadyRule {
    /// The check as a person reads it.
    pub fn describe(&self) -> String {
        match self {
            ReadyRule::HasCriteria => "Has acceptance criteria".into(),
            ReadyRule::Estimated => "Is estimated".into(),
            ReadyRule::MaxPoints { points } => format!("Estimate at most {points} points"),
            ReadyRule::NotBlocked => "Not blocked by an open item".into(),
            ReadyRule::HasEpic => "Belongs to an epic".into(),
            ReadyRule::Manual { text } => text.clone(),
        }
    }
}

/// Why an item is not ready: one entry per failed check, in the definition's order.
pub type NotReady = Vec<String>;

impl DefinitionOfReady {
    /// Validates a definition given from outside: ids unique and positive (0 = assign one),
    /// texts 1-200 characters, point limits 0.5-1000, at most [`CHECKS_MAX`] checks.
    pub fn parse(field: &str, mut checks: Vec<ReadyCheck>) -> Invalid<Self> {
        if checks.len() > CHECKS_MAX {
            return Err(ValidationError::new(field, format!("must have at most {CHECKS_MAX} checks")));
        }
        let mut next = checks.iter().map(|c| c.id).max().unwrap_or(0).max(0) + 1;
        let mut seen = std::collections::HashSet::new();
        for (i, c) in checks.iter_mut().enumerate() {
            let f = format!("{field}[{i}]");
            match &mut c.rule {
                ReadyRule::Manual { text: t } => *t = text(&format!("{f}.text"), t, 1, 200, false)?,
                ReadyRule::MaxPoints { points }
                    if !points.is_finite() || *points < 0.5 || *points > 1000.0 =>
                {
                    return Err(ValidationError::new(format!("{f}.points"), "must be from 0.5 to 1000"));
                }
                _ => {}
            }
            if c.id <= 0 {
                c.id = next;
                next += 1;
            }
            if !seen.insert(c.id) {
                return Err(ValidationError::new(format!("{f}.id"), "is used twice"));
            }
        }
        Ok(DefinitionOfReady { checks })
    }

    /// Whether the definition applies to items of this kind: stories, bugs and spikes (epics are
    /// split before they are planned; tasks belong to their story).
    pub fn applies_to(kind: ItemKind) -> bool {
        matches!(kind, ItemKind::Story | ItemKind::Bug | ItemKind::Spike)
    }

    /// The failed checks of `item`, given whether an open item blocks it. Empty when ready.
    pub fn evaluate(&self, item: &Item, blocked: bool) -> NotReady {
        if !Self::applies_to(item.kind) {
            return Vec::new();
        }
        let parent_is_epic = item.parent_id.is_some();
        self.checks
            .iter()
            .filter(|c| match &c.rule {
                ReadyRule::HasCriteria => item.criteria.is_empty(),
                ReadyRule::Estimated => item.estimate.is_none(),
                ReadyRule::MaxPoints { points } => item.estimate.is_some_and(|e| e.value() > *points),
                ReadyRule::NotBlocked => blocked,
                // Stories, bugs and spikes can only have an epic as parent (see ItemKind::level).
                ReadyRule::HasEpic => !parent_is_epic,
                ReadyRule::Manual { .. } => !item.dor.contains(&c.id),
            })
            .map(|c| c.rule.describe())
            .collect()
    }

    /// The ids of the hand-ticked checks.
    pub fn manual_ids(&self) -> Vec<i64> {
        self.checks.iter().filter(|c| matches!(c.rule, ReadyRule::Manual { .. })).map(|c| c.id).collect()
    }
}

/// One check of the Definition of Done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoneCheck {
    /// Stable id (items store the ids ticked).
    pub id: i64,
    /// The statement ("Code reviewed", "Documentation updated").
    pub text: String,
}

/// A product's Definition of Done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefinitionOfDone {
    /// The checks, in order.
    pub checks: Vec<DoneCheck>,
}

impl Default for DefinitionOfDone {
    /// What a new product starts with.
    fn default() -> Self {
        let texts = ["Code reviewed", "Automated tests pass", "Documentation updated"];
        DefinitionOfDone {
            checks: texts
                .iter()
                .enumerate()
                .map(|(i, t)| DoneCheck { id: i as i64 + 1, text: (*t).to_string() })
                .collect(),
        }
    }
}

impl DefinitionOfDone {
    /// Validates a definition given from outside (as [`DefinitionOfReady::parse`]).
    pub fn parse(field: &str, mut checks: Vec<DoneCheck>) -> Invalid<Self> {
        if checks.len() > CHECKS_MAX {
            return Err(ValidationError::new(field, format!("must have at most {CHECKS_MAX} checks")));
        }
        let mut next = checks.iter().map(|c| c.id).max().unwrap_or(0).max(0) + 1;
        let mut seen = std::collections::HashSet::new();
        for (i, c) in checks.iter_mut().enumerate() {
            c.text = text(&format!("{field}[{i}].text"), &c.text, 1, 200, false)?;
            if c.id <= 0 {
                c.id = next;
                next += 1;
            }
            if !seen.insert(c.id) {
                return Err(ValidationError::new(format!("{field}[{i}].id"), "is used twice"));
            }
        }
        Ok(DefinitionOfDone { checks })
    }

    /// The checks `item` has not ticked yet.
    pub fn missing<'a>(&'a self, item: &Item) -> Vec<&'a DoneCheck> {
        self.checks.iter().filter(|c| !item.dod.contains(&c.id)).collect()
    }
}

/// Why a story cannot be accepted yet: unticked acceptance criteria and Definition-of-Done
/// checks. Empty when it can.
pub fn acceptance_blockers(item: &Item, dod: &DefinitionOfDone) -> Vec<String> {
    let mut out: Vec<String> = item
        .criteria
        .iter()
        .filter(|c| !c.checked)
        .map(|c| format!("Criterion not met: {}", c.text))
        .collect();
    out.extend(dod.missing(item).into_iter().map(|c| format!("Definition of Done: {}", c.text)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{Criterion, Points};

    fn story() -> Item {
        let mut i = crate::item::tests::item();
        i.kind = ItemKind::Story;
        i
    }

    #[test]
    fn default_ready_checks() {
        let dor = DefinitionOfReady::default();
        let mut i = story();
        assert_eq!(dor.evaluate(&i, false), vec!["Has acceptance criteria", "Is estimated"]);
        i.criteria.push(Criterion { id: 1, text: "Given a cart".into(), checked: false });
        i.estimate = Some(Points::parse("e", 20.0).unwrap());
        assert_eq!(dor.evaluate(&i, true), vec!["Estimate at most 13 points", "Not blocked by an open item"]);
        i.estimate = Some(Points::parse("e", 13.0).unwrap());
        assert!(dor.evaluate(&i, false).is_empty());
        i.kind = ItemKind::Epic;
        assert!(dor.evaluate(&i, true).is_empty(), "epics are not held to it");
    }

    #[test]
    fn manual_and_epic_checks() {
        let dor = DefinitionOfReady::parse(
            "checks",
            vec![
                ReadyCheck { id: 0, rule: ReadyRule::HasEpic },
                ReadyCheck { id: 0, rule: ReadyRule::Manual { text: " UX reviewed ".into() } },
            ],
        )
        .unwrap();
        assert_eq!(dor.checks[1].id, 2);
        let mut i = story();
        assert_eq!(dor.evaluate(&i, false), vec!["Belongs to an epic", "UX reviewed"]);
        i.parent_id = Some(crate::ItemId(9));
        i.dor = vec![2];
        assert!(dor.evaluate(&i, false).is_empty());
        assert_eq!(dor.manual_ids(), vec![2]);
    }

    #[test]
    fn bad_definitions() {
        let dup = vec![
            ReadyCheck { id: 1, rule: ReadyRule::HasCriteria },
            ReadyCheck { id: 1, rule: ReadyRule::Estimated },
        ];
        assert_eq!(DefinitionOfReady::parse("checks", dup).unwrap_err().field, "checks[1].id");
        let bad = vec![ReadyCheck { id: 0, rule: ReadyRule::MaxPoints { points: 0.0 } }];
        assert_eq!(DefinitionOfReady::parse("checks", bad).unwrap_err().field, "checks[0].points");
        let empty = vec![DoneCheck { id: 0, text: "  ".into() }];
        assert_eq!(DefinitionOfDone::parse("checks", empty).unwrap_err().field, "checks[0].text");
    }

    #[test]
    fn acceptance_needs_criteria_and_done_checks() {
        let dod = DefinitionOfDone::default();
        let mut i = story();
        i.criteria.push(Criterion { id: 1, text: "Pays".into(), checked: false });
        assert_eq!(acceptance_blockers(&i, &dod).len(), 4);
        i.criteria[0].checked = true;
        i.dod = vec![1, 2, 3];
        assert!(acceptance_blockers(&i, &dod).is_empty());
    }
}
