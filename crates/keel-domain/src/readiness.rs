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

/// Longest release name, in characters.
pub const RELEASE_NAME_MAX: usize = 60;
/// Most items one bulk edit may change.
pub const BULK_MAX: usize = 200;

/// A release name: 1-60 characters on one line.
pub fn parse_release_name(field: &str, s: &str) -> Invalid<String> {
    text(field, s, 1, RELEASE_NAME_MAX, false)
}

/// The unique key of a release record: its name is unique within the product, ignoring case.
pub fn release_key(product: crate::ProductId, name: &str) -> String {
    format!("release:{}:{}", product.0, name.to_lowercase())
}

/// What to do with a release's open items when it ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenItems {
    /// Move them into another release.
    MoveTo(crate::RecordId),
    /// Take them out of any release (back to the backlog).
    Backlog,
    /// Leave them in the shipped release.
    Keep,
}

impl OpenItems {
    /// Parses `backlog`, `keep` or a release id.
    pub fn parse(field: &str, s: &str) -> Invalid<Self> {
        match s.trim() {
            "backlog" => Ok(OpenItems::Backlog),
            "keep" => Ok(OpenItems::Keep),
            n => n
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .map(|n| OpenItems::MoveTo(crate::RecordId(n)))
                .ok_or_else(|| ValidationError::new(field, "must be a release id, backlog or keep")),
        }
    }
}

/// How far a release is: done and total items and points (epics and tasks are not counted: the
/// stories, bugs and spikes are the scope).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ReleaseProgress {
    /// Items done.
    pub done_items: u32,
    /// Items in scope.
    pub total_items: u32,
    /// Points of the items done.
    pub done_points: f64,
    /// Points of the items in scope.
    pub total_points: f64,
}

impl ReleaseProgress {
    /// The progress of a release holding `items`.
    pub fn of(items: &[Item]) -> Self {
        let mut p = ReleaseProgress::default();
        for i in items.iter().filter(|i| in_scope(i.kind)) {
            let pts = i.estimate.map_or(0.0, |e| e.value());
            p.total_items += 1;
            p.total_points += pts;
            if i.category == crate::workflow::Category::Done {
                p.done_items += 1;
                p.done_points += pts;
            }
        }
        p
    }

    /// Done share of the points (of the items when nothing is estimated), 0-100.
    pub fn percent(&self) -> u32 {
        let share = if self.total_points > 0.0 {
            self.done_points / self.total_points
        } else if self.total_items > 0 {
            f64::from(self.done_items) / f64::from(self.total_items)
        } else {
            0.0
        };
        (share * 100.0).round().clamp(0.0, 100.0) as u32
    }
}

/// Whether items of `kind` count as a release's scope.
pub fn in_scope(kind: ItemKind) -> bool {
    matches!(kind, ItemKind::Story | ItemKind::Bug | ItemKind::Spike)
}

/// One section of the release notes: an epic (or none) and its done items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotesSection {
    /// The epic's key, `None` for items without one.
    pub epic_key: Option<String>,
    /// The epic's title ("Other changes" without one).
    pub title: String,
    /// The done items: (key, kind, title), in the order given.
    pub items: Vec<NoteLine>,
}

/// One line of the release notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteLine {
    /// Key.
    pub key: String,
    /// Kind.
    pub kind: ItemKind,
    /// Title.
    pub title: String,
}

/// Groups a release's done items by epic: epics in the order their first item appears, items
/// without an epic last under "Other changes". `epics` gives each epic's id its (key, title).
pub fn notes_sections(
    items: &[Item],
    epics: &std::collections::HashMap<crate::ItemId, (String, String)>,
) -> Vec<NotesSection> {
    let mut out: Vec<NotesSection> = Vec::new();
    let mut other = Vec::new();
    for i in items.iter().filter(|i| in_scope(i.kind) && i.category == crate::workflow::Category::Done) {
        let line = NoteLine { key: i.key.clone(), kind: i.kind, title: i.title.clone() };
        match i.parent_id.and_then(|p| epics.get(&p)) {
            Some((key, title)) => match out.iter_mut().find(|s| s.epic_key.as_deref() == Some(key)) {
                Some(s) => s.items.push(line),
                None => out.push(NotesSection {
                    epic_key: Some(key.clone()),
                    title: title.clone(),
                    items: vec![line],
                }),
            },
            None => other.push(line),
        }
    }
    if !other.is_empty() {
        out.push(NotesSection { epic_key: None, title: "Other changes".into(), items: other });
    }
    out
}

/// Release notes in Markdown: a heading with the name (and date), a section per epic.
pub fn notes_markdown(name: &str, date: Option<crate::Date>, sections: &[NotesSection]) -> String {
    let esc = |s: &str| {
        let mut o = String::with_capacity(s.len());
        for c in s.chars() {
            if matches!(c, '\\' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '#') {
                o.push('\\');
            }
            o.push(c);
        }
        o
    };
    let mut md = format!("# Release {}", esc(name));
    if let Some(d) = date {
        md.push_str(&format!(" ({d})"));
    }
    md.push_str("\n\n");
    if sections.is_empty() {
        md.push_str("No finished stories yet.\n");
    }
    for s in sections {
        md.push_str(&format!("## {}\n\n", esc(&s.title)));
        for l in &s.items {
            let tag = match l.kind {
                ItemKind::Bug => "Fixed: ",
                _ => "",
            };
            md.push_str(&format!("- {tag}{} ({})\n", esc(&l.title), l.key));
        }
        md.push('\n');
    }
    md
}

/// Labels after a bulk edit adds `add` and removes `remove` (order kept, added ones at the end).
pub fn bulk_labels(current: &[String], add: &[String], remove: &[String]) -> Vec<String> {
    let mut out: Vec<String> = current.iter().filter(|l| !remove.contains(l)).cloned().collect();
    for l in add {
        if !out.contains(l) && !remove.contains(l) {
            out.push(l.clone());
        }
    }
    out
}

/// Checks the keys of a bulk edit: 1 to [`BULK_MAX`], none twice.
pub fn check_bulk_keys(field: &str, keys: &[String]) -> Invalid<()> {
    if keys.is_empty() {
        return Err(ValidationError::new(field, "select at least one item"));
    }
    if keys.len() > BULK_MAX {
        return Err(ValidationError::new(field, format!("must name at most {BULK_MAX} items")));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, k) in keys.iter().enumerate() {
        if !seen.insert(k.as_str()) {
            return Err(ValidationError::new(format!("{field}[{i}]"), "is named twice"));
        }
    }
    Ok(())
}

/// Checks a list of ticked check ids against the definition's ids: each known; sorted, once.
pub fn parse_ticks(field: &str, ticked: &[i64], known: &[i64]) -> Invalid<Vec<i64>> {
    let mut out = Vec::with_capacity(ticked.len());
    for (i, id) in ticked.iter().enumerate() {
        if !known.contains(id) {
            return Err(ValidationError::new(format!("{field}[{i}]"), format!("no check {id}")));
        }
        if !out.contains(id) {
            out.push(*id);
        }
    }
    out.sort_unstable();
    Ok(out)
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

    fn done(mut i: Item, pts: f64) -> Item {
        i.category = crate::workflow::Category::Done;
        i.estimate = Some(Points::parse("e", pts).unwrap());
        i
    }

    #[test]
    fn release_progress_counts_scope_only() {
        let mut open = story();
        open.estimate = Some(Points::parse("e", 5.0).unwrap());
        let finished = done(story(), 3.0);
        let mut epic = done(story(), 8.0);
        epic.kind = ItemKind::Epic;
        let mut task = story();
        task.kind = ItemKind::Task;
        let p = ReleaseProgress::of(&[open, finished, epic, task]);
        assert_eq!((p.done_items, p.total_items), (1, 2));
        assert_eq!((p.done_points, p.total_points), (3.0, 8.0));
        assert_eq!(p.percent(), 38);
        assert_eq!(ReleaseProgress::default().percent(), 0);
        let mut unestimated = story();
        unestimated.category = crate::workflow::Category::Done;
        assert_eq!(ReleaseProgress::of(&[unestimated, story()]).percent(), 50);
    }

    #[test]
    fn notes_group_by_epic() {
        let mut epics = std::collections::HashMap::new();
        epics.insert(crate::ItemId(10), ("SHOP-10".to_string(), "Checkout".to_string()));
        epics.insert(crate::ItemId(20), ("SHOP-20".to_string(), "Search".to_string()));
        let mk = |key: &str, parent: Option<i64>, kind: ItemKind, is_done: bool| {
            let mut i = story();
            i.key = key.into();
            i.title = format!("Title {key}");
            i.kind = kind;
            i.parent_id = parent.map(crate::ItemId);
            if is_done {
                i.category = crate::workflow::Category::Done;
            }
            i
        };
        let items = vec![
            mk("SHOP-1", Some(20), ItemKind::Story, true),
            mk("SHOP-2", Some(10), ItemKind::Bug, true),
            mk("SHOP-3", None, ItemKind::Story, true),
            mk("SHOP-4", Some(20), ItemKind::Story, true),
            mk("SHOP-5", Some(20), ItemKind::Story, false),
            mk("SHOP-6", Some(10), ItemKind::Task, true),
        ];
        let s = notes_sections(&items, &epics);
        assert_eq!(
            s.iter().map(|s| s.title.as_str()).collect::<Vec<_>>(),
            ["Search", "Checkout", "Other changes"]
        );
        assert_eq!(s[0].items.iter().map(|l| l.key.as_str()).collect::<Vec<_>>(), ["SHOP-1", "SHOP-4"]);
        let md = notes_markdown("2.4", crate::Date::parse("d", "2026-03-31").ok(), &s);
        assert!(
            md.starts_with("# Release 2.4 (2026-03-31)\n\n## Search\n\n- Title SHOP-1 (SHOP-1)\n"),
            "{md}"
        );
        assert!(md.contains("## Checkout\n\n- Fixed: Title SHOP-2 (SHOP-2)\n"));
        assert!(!md.contains("SHOP-5") && !md.contains("SHOP-6"));
        assert!(notes_markdown("x_y", None, &[]).contains("x\\_y"));
    }

    #[test]
    fn bulk_validation() {
        let k = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(check_bulk_keys("keys", &[]).unwrap_err().field, "keys");
        assert_eq!(check_bulk_keys("keys", &k(&["A-1", "A-2", "A-1"])).unwrap_err().field, "keys[2]");
        assert!(check_bulk_keys("keys", &k(&["A-1", "A-2"])).is_ok());
        let many: Vec<String> = (1..=BULK_MAX + 1).map(|n| format!("A-{n}")).collect();
        assert!(check_bulk_keys("keys", &many).is_err());
        assert_eq!(bulk_labels(&k(&["a", "b"]), &k(&["c", "a"]), &k(&["b"])), k(&["a", "c"]));
        assert_eq!(bulk_labels(&k(&["a"]), &k(&["x"]), &k(&["x"])), k(&["a"]));
    }

    #[test]
    fn ticks_and_choices() {
        assert_eq!(parse_ticks("dod", &[3, 1, 3], &[1, 2, 3]).unwrap(), vec![1, 3]);
        assert_eq!(parse_ticks("dod", &[1, 9], &[1, 2]).unwrap_err().field, "dod[1]");
        assert_eq!(OpenItems::parse("move_to", "7").unwrap(), OpenItems::MoveTo(crate::RecordId(7)));
        assert_eq!(OpenItems::parse("move_to", "backlog").unwrap(), OpenItems::Backlog);
        assert!(OpenItems::parse("move_to", "-1").is_err());
        assert_eq!(release_key(crate::ProductId(3), "V2.0 Beta"), "release:3:v2.0 beta");
        assert!(parse_release_name("name", " ").is_err());
    }
}
