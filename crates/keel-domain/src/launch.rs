//! Go-to-market: a product's launch checklist template, a release's checklist made from it, and
//! the Product Manager's go / no-go decisions.
//!
//! A template item says what has to happen, which role usually owns it and how many days before
//! the release's target date it is due. A release's checklist is made from the template the
//! first time it is changed (until then it is shown as the template would make it); from then on
//! it is the release's own.

use crate::error::text;
use crate::product::Role;
use crate::{Date, Invalid, Timestamp, UserId, ValidationError};
use serde::{Deserialize, Serialize};

/// Longest checklist item title.
pub const TITLE_MAX: usize = 200;
/// Longest note on an item or a decision.
pub const NOTE_MAX: usize = 2_000;
/// Most items in a template or a checklist.
pub const ITEMS_MAX: usize = 100;
/// Largest due offset, in days before the target date.
pub const OFFSET_MAX: i32 = 365;

/// One item of a product's launch template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateItem {
    /// What has to happen.
    pub title: String,
    /// The role that usually owns it.
    #[serde(default)]
    pub owner_role: Option<Role>,
    /// Due this many days before the release's target date (negative: after it).
    #[serde(default)]
    pub due_offset_days: i32,
}

/// A product's launch checklist template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchTemplate {
    /// Its items, in order.
    pub items: Vec<TemplateItem>,
}

impl Default for LaunchTemplate {
    /// The usual go-to-market work of a release.
    fn default() -> Self {
        let item = |title: &str, role: Option<Role>, days: i32| TemplateItem {
            title: title.to_string(),
            owner_role: role,
            due_offset_days: days,
        };
        LaunchTemplate {
            items: vec![
                item("Pricing decided", Some(Role::Pm), 21),
                item("Documentation ready", Some(Role::Po), 7),
                item("Sales enablement", Some(Role::Pm), 7),
                item("Marketing announcement", Some(Role::Pm), 3),
                item("Support briefed", Some(Role::Po), 2),
            ],
        }
    }
}

/// A template item's title.
pub fn parse_title(field: &str, s: &str) -> Invalid<String> {
    text(field, s, 1, TITLE_MAX, false)
}

/// A note.
pub fn parse_note(field: &str, s: &str) -> Invalid<String> {
    text(field, s, 0, NOTE_MAX, true)
}

/// A due offset in days.
pub fn check_offset(field: &str, days: i64) -> Invalid<i32> {
    if !(-(OFFSET_MAX as i64)..=OFFSET_MAX as i64).contains(&days) {
        return Err(ValidationError::new(
            field,
            format!("must be between -{OFFSET_MAX} and {OFFSET_MAX} days"),
        ));
    }
    Ok(days as i32)
}

impl LaunchTemplate {
    /// Validates every item (fields named `items[n].…`).
    pub fn validate(self) -> Invalid<Self> {
        if self.items.len() > ITEMS_MAX {
            return Err(ValidationError::new("items", format!("must hold at most {ITEMS_MAX} items")));
        }
        let mut items = Vec::with_capacity(self.items.len());
        for (n, i) in self.items.into_iter().enumerate() {
            items.push(TemplateItem {
                title: parse_title(&format!("items[{n}].title"), &i.title)?,
                owner_role: i.owner_role,
                due_offset_days: check_offset(
                    &format!("items[{n}].due_offset_days"),
                    i.due_offset_days as i64,
                )?,
            });
        }
        Ok(LaunchTemplate { items })
    }
}

/// One item of a release's checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistItem {
    /// Its id within the checklist.
    pub id: i64,
    /// What has to happen.
    pub title: String,
    /// Who owns it (a member of the product).
    #[serde(default)]
    pub owner: Option<UserId>,
    /// When it is due.
    #[serde(default)]
    pub due: Option<Date>,
    /// Whether it is done.
    #[serde(default)]
    pub done: bool,
    /// Who ticked it.
    #[serde(default)]
    pub done_by: Option<UserId>,
    /// When.
    #[serde(default)]
    pub done_at: Option<Timestamp>,
    /// A note.
    #[serde(default)]
    pub note: String,
}

impl ChecklistItem {
    /// Whether it is open and its due date has passed by `today`.
    pub fn overdue(&self, today: Date) -> bool {
        !self.done && self.due.is_some_and(|d| d < today)
    }
}

/// A go / no-go call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoNoGo {
    /// Ship it.
    Go,
    /// Do not ship it yet.
    NoGo,
}

impl GoNoGo {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            GoNoGo::Go => "go",
            GoNoGo::NoGo => "no_go",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            GoNoGo::Go => "Go",
            GoNoGo::NoGo => "No go",
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> Invalid<Self> {
        match s.trim() {
            "go" => Ok(GoNoGo::Go),
            "no_go" => Ok(GoNoGo::NoGo),
            _ => Err(ValidationError::new(field, "must be go or no_go")),
        }
    }
}

/// A recorded go / no-go decision (or a recommendation from someone who may only propose).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchDecision {
    /// Its id within the checklist.
    pub id: i64,
    /// The call.
    pub decision: GoNoGo,
    /// Why.
    #[serde(default)]
    pub note: String,
    /// Who.
    pub by: UserId,
    /// When.
    pub at: Timestamp,
    /// A recommendation for the decider rather than the decision itself.
    #[serde(default)]
    pub proposed: bool,
    /// The checklist items still open when it was made (a "go" over open items needs them
    /// acknowledged).
    #[serde(default)]
    pub open_items: Vec<String>,
}

/// A release's launch checklist and decision log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checklist {
    /// The items, in order.
    pub items: Vec<ChecklistItem>,
    /// The decisions, oldest first.
    #[serde(default)]
    pub decisions: Vec<LaunchDecision>,
    /// The last id handed out (items and decisions share the counter).
    #[serde(default)]
    pub last_id: i64,
}

impl Checklist {
    /// The checklist `template` makes for a release due on `target`; each item's owner is the
    /// first member holding its role (`owner_for`).
    pub fn from_template(
        template: &LaunchTemplate,
        target: Option<Date>,
        owner_for: impl Fn(Role) -> Option<UserId>,
    ) -> Checklist {
        let mut c = Checklist::default();
        for t in &template.items {
            let id = c.next_id();
            c.items.push(ChecklistItem {
                id,
                title: t.title.clone(),
                owner: t.owner_role.and_then(&owner_for),
                due: target.map(|d| d.plus_days(-t.due_offset_days)),
                done: false,
                done_by: None,
                done_at: None,
                note: String::new(),
            });
        }
        c
    }

    /// A fresh id.
    pub fn next_id(&mut self) -> i64 {
        self.last_id += 1;
        self.last_id
    }

    /// The titles of the open items.
    pub fn open_titles(&self) -> Vec<String> {
        self.items.iter().filter(|i| !i.done).map(|i| i.title.clone()).collect()
    }

    /// The latest binding decision (recommendations aside).
    pub fn current_decision(&self) -> Option<&LaunchDecision> {
        self.decisions.iter().rev().find(|d| !d.proposed)
    }

    /// Records a decision. A "go" while items are open needs `acknowledge_open` (otherwise the
    /// error names that field and lists the open items); the open items are kept with it.
    pub fn decide(
        &mut self,
        decision: GoNoGo,
        note: String,
        by: UserId,
        at: Timestamp,
        proposed: bool,
        acknowledge_open: bool,
    ) -> Invalid<&LaunchDecision> {
        let open = self.open_titles();
        if decision == GoNoGo::Go && !open.is_empty() && !acknowledge_open {
            return Err(ValidationError::new(
                "acknowledge_open",
                format!(
                    "{} checklist item(s) are open ({}); set acknowledge_open to go anyway",
                    open.len(),
                    open.join(", ")
                ),
            ));
        }
        let id = self.next_id();
        self.decisions.push(LaunchDecision { id, decision, note, by, at, proposed, open_items: open });
        Ok(self.decisions.last().expect("just pushed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse("d", s).unwrap()
    }

    #[test]
    fn template_makes_dated_owned_items() {
        let pm = UserId(7);
        let c = Checklist::from_template(&LaunchTemplate::default(), Some(d("2026-06-30")), |r| {
            (r == Role::Pm).then_some(pm)
        });
        assert_eq!(c.items.len(), 5);
        assert_eq!(c.items[0].title, "Pricing decided");
        assert_eq!(c.items[0].due, Some(d("2026-06-09")));
        assert_eq!(c.items[0].owner, Some(pm));
        assert_eq!(c.items[1].owner, None, "no member holds the PO role");
        assert_eq!(c.items.iter().map(|i| i.id).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
        assert_eq!(c.last_id, 5);
        let undated = Checklist::from_template(&LaunchTemplate::default(), None, |_| None);
        assert!(undated.items.iter().all(|i| i.due.is_none()));
    }

    #[test]
    fn overdue_only_when_open_and_past() {
        let mut i = ChecklistItem {
            id: 1,
            title: "Docs".into(),
            owner: None,
            due: Some(d("2026-03-10")),
            done: false,
            done_by: None,
            done_at: None,
            note: String::new(),
        };
        assert!(!i.overdue(d("2026-03-10")));
        assert!(i.overdue(d("2026-03-11")));
        i.done = true;
        assert!(!i.overdue(d("2026-03-11")));
        i.done = false;
        i.due = None;
        assert!(!i.overdue(d("2030-01-01")));
    }

    #[test]
    fn go_over_open_items_needs_acknowledging() {
        let mut c = Checklist::from_template(&LaunchTemplate::default(), None, |_| None);
        let e = c.decide(GoNoGo::Go, String::new(), UserId(1), Timestamp(5), false, false).unwrap_err();
        assert_eq!(e.field, "acknowledge_open");
        assert!(e.message.contains("Pricing decided"));
        assert!(c.decisions.is_empty());
        c.decide(GoNoGo::NoGo, "docs missing".into(), UserId(1), Timestamp(6), false, false).unwrap();
        let go = c.decide(GoNoGo::Go, String::new(), UserId(1), Timestamp(7), false, true).unwrap();
        assert_eq!(go.open_items.len(), 5);
        assert_eq!(go.id, 7, "ids follow the items'");
        for i in &mut c.items {
            i.done = true;
        }
        c.decide(GoNoGo::Go, String::new(), UserId(2), Timestamp(8), true, false).unwrap();
        assert_eq!(c.current_decision().unwrap().at, Timestamp(7), "a recommendation binds nothing");
    }

    #[test]
    fn template_validation_names_the_field() {
        let t = LaunchTemplate {
            items: vec![TemplateItem { title: "  ".into(), owner_role: None, due_offset_days: 3 }],
        };
        assert_eq!(t.validate().unwrap_err().field, "items[0].title");
        let t = LaunchTemplate {
            items: vec![TemplateItem { title: "Docs".into(), owner_role: None, due_offset_days: 999 }],
        };
        assert_eq!(t.validate().unwrap_err().field, "items[0].due_offset_days");
        assert_eq!(check_offset("x", -365).unwrap(), -365);
    }
}
