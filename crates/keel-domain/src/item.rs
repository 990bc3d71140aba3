//! Backlog items: epics, stories, tasks, bugs and spikes, with their fields and the rules that
//! keep them consistent.

use crate::error::{text, Invalid, ValidationError};
use crate::event::FieldChange;
use crate::product::ProductKey;
use crate::rank::RankKey;
use crate::workflow::Category;
use crate::{ItemId, LinkId, ProductId, RecordId, StateId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt;

/// Longest title, in characters.
pub const TITLE_MAX: usize = 255;
/// Longest Markdown description, in characters.
pub const DESCRIPTION_MAX: usize = 100_000;
/// Longest story field (as a / I want / so that), in characters.
pub const STORY_FIELD_MAX: usize = 1_000;
/// Most acceptance criteria on one item.
pub const CRITERIA_MAX: usize = 100;
/// Longest criterion, in characters.
pub const CRITERION_MAX: usize = 2_000;
/// Most labels on one item.
pub const LABELS_MAX: usize = 20;
/// Largest estimate, in story points.
pub const POINTS_MAX: f64 = 1_000.0;

/// The kind of an item, which fixes where it may sit in the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A large body of work made of stories.
    Epic,
    /// A user story.
    Story,
    /// A piece of technical work.
    Task,
    /// A defect.
    Bug,
    /// Time-boxed research.
    Spike,
}

impl ItemKind {
    /// Every kind, in display order.
    pub const ALL: [ItemKind; 5] =
        [ItemKind::Epic, ItemKind::Story, ItemKind::Task, ItemKind::Bug, ItemKind::Spike];

    /// Wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Epic => "epic",
            ItemKind::Story => "story",
            ItemKind::Task => "task",
            ItemKind::Bug => "bug",
            ItemKind::Spike => "spike",
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> Invalid<Self> {
        ItemKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ValidationError::new(field, "must be one of epic, story, task, bug, spike"))
    }

    /// Level in the hierarchy epic → story → task: a parent's level must be lower than its
    /// child's, which also makes parent cycles impossible.
    pub fn level(self) -> u8 {
        match self {
            ItemKind::Epic => 0,
            ItemKind::Story | ItemKind::Bug | ItemKind::Spike => 1,
            ItemKind::Task => 2,
        }
    }
}

/// A human item key such as `SHOP-42`: the product key, a dash, a positive number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ItemKey {
    /// The product's key.
    pub product: ProductKey,
    /// The item's number within the product, from 1, without gaps.
    pub number: i64,
}

impl ItemKey {
    /// Parses `SHOP-42`.
    pub fn parse(field: &str, s: &str) -> Invalid<Self> {
        let err = || ValidationError::new(field, "must be an item key such as SHOP-42");
        let (p, n) = s.rsplit_once('-').ok_or_else(err)?;
        let product = ProductKey::parse(field, p).map_err(|_| err())?;
        if n.is_empty() || n.len() > 12 || !n.bytes().all(|b| b.is_ascii_digit()) || n.starts_with('0') {
            return Err(err());
        }
        let number = n.parse::<i64>().map_err(|_| err())?;
        Ok(ItemKey { product, number })
    }
}

impl fmt::Display for ItemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.product, self.number)
    }
}

/// An estimate in story points: zero or more, at most [`POINTS_MAX`], in halves.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Points(f64);

impl Points {
    /// Parses an estimate; halves are allowed (0.5 is a common planning-poker card).
    pub fn parse(field: &str, v: f64) -> Invalid<Self> {
        if !v.is_finite() || !(0.0..=POINTS_MAX).contains(&v) || (v * 2.0).fract() != 0.0 {
            return Err(ValidationError::new(field, "must be a number of points from 0 to 1000, in halves"));
        }
        Ok(Points(v))
    }

    /// The value.
    pub fn value(self) -> f64 {
        self.0
    }

    /// Wraps a value read back from the store.
    pub fn from_trusted(v: f64) -> Self {
        Points(v)
    }
}

/// A label: 1 to 50 characters without spaces or commas, compared as given.
pub fn parse_label(field: &str, s: &str) -> Invalid<String> {
    let v = text(field, s, 1, 50, false)?;
    if v.chars().any(|c| c.is_whitespace() || c == ',') {
        return Err(ValidationError::new(field, "must not contain spaces or commas"));
    }
    Ok(v)
}

/// Parses a label list: each valid, duplicates dropped, order kept, at most [`LABELS_MAX`].
pub fn parse_labels(field: &str, labels: &[String]) -> Invalid<Vec<String>> {
    if labels.len() > LABELS_MAX {
        return Err(ValidationError::new(field, format!("must have at most {LABELS_MAX} labels")));
    }
    let mut out: Vec<String> = Vec::with_capacity(labels.len());
    for (i, l) in labels.iter().enumerate() {
        let l = parse_label(&format!("{field}[{i}]"), l)?;
        if !out.contains(&l) {
            out.push(l);
        }
    }
    Ok(out)
}

/// An item's title: 1 to 255 characters on one line.
pub fn parse_title(field: &str, s: &str) -> Invalid<String> {
    text(field, s, 1, TITLE_MAX, false)
}

/// A Markdown description.
pub fn parse_description(field: &str, s: &str) -> Invalid<String> {
    text(field, s, 0, DESCRIPTION_MAX, true)
}

/// The three parts of a user story: "As a …, I want …, so that …". Empty parts are empty strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoryFields {
    /// Who wants it.
    pub as_a: String,
    /// What they want.
    pub i_want: String,
    /// Why.
    pub so_that: String,
}

impl StoryFields {
    /// Whether all three parts are empty.
    pub fn is_empty(&self) -> bool {
        self.as_a.is_empty() && self.i_want.is_empty() && self.so_that.is_empty()
    }
}

/// Parses one story part.
pub fn parse_story_field(field: &str, s: &str) -> Invalid<String> {
    text(field, s, 0, STORY_FIELD_MAX, true)
}

/// One acceptance criterion: free text or Given/When/Then, and whether it is met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    /// Stable within its item, so a check box can name it.
    pub id: i64,
    /// The criterion (Markdown, often "Given … When … Then …").
    pub text: String,
    /// Whether it has been checked as met.
    pub checked: bool,
}

/// Parses a criterion's text.
pub fn parse_criterion_text(field: &str, s: &str) -> Invalid<String> {
    text(field, s, 1, CRITERION_MAX, true)
}

/// Where a story stands in acceptance: the team marks it ready, the Product Owner accepts or
/// rejects it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcceptanceState {
    /// Not put forward yet.
    #[default]
    None,
    /// The team says it is finished and asks the Product Owner to accept it.
    Ready,
    /// Accepted as done.
    Accepted,
    /// Rejected, with a reason; back to the team.
    Rejected,
}

impl AcceptanceState {
    /// Every state.
    pub const ALL: [AcceptanceState; 4] =
        [AcceptanceState::None, AcceptanceState::Ready, AcceptanceState::Accepted, AcceptanceState::Rejected];

    /// Wire and storage name (`none` is stored as the empty string).
    pub fn as_str(self) -> &'static str {
        match self {
            AcceptanceState::None => "none",
            AcceptanceState::Ready => "ready",
            AcceptanceState::Accepted => "accepted",
            AcceptanceState::Rejected => "rejected",
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> Invalid<Self> {
        AcceptanceState::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| ValidationError::new(field, "must be one of none, ready, accepted, rejected"))
    }
}

/// An item's acceptance: its state and the note that came with the last decision (the reason
/// of a rejection, a remark on acceptance).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    /// The state.
    pub state: AcceptanceState,
    /// The note, empty when none was given.
    #[serde(default)]
    pub note: String,
}

/// Longest acceptance note, in characters.
pub const NOTE_MAX: usize = 2_000;

/// Kinds of links between items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// The source blocks the target.
    Blocks,
    /// The two are related.
    RelatesTo,
    /// The source duplicates the target.
    Duplicates,
}

impl LinkKind {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Blocks => "blocks",
            LinkKind::RelatesTo => "relates_to",
            LinkKind::Duplicates => "duplicates",
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> Invalid<Self> {
        match s {
            "blocks" => Ok(LinkKind::Blocks),
            "relates_to" => Ok(LinkKind::RelatesTo),
            "duplicates" => Ok(LinkKind::Duplicates),
            _ => Err(ValidationError::new(field, "must be one of blocks, relates_to, duplicates")),
        }
    }

    /// How the link reads from its target's side.
    pub fn inverse_label(self) -> &'static str {
        match self {
            LinkKind::Blocks => "is blocked by",
            LinkKind::RelatesTo => "relates to",
            LinkKind::Duplicates => "is duplicated by",
        }
    }

    /// How the link reads from its source's side.
    pub fn label(self) -> &'static str {
        match self {
            LinkKind::Blocks => "blocks",
            LinkKind::RelatesTo => "relates to",
            LinkKind::Duplicates => "duplicates",
        }
    }
}

/// A link between two items of the same product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemLink {
    /// Its id.
    pub id: LinkId,
    /// The kind.
    pub kind: LinkKind,
    /// The source item.
    pub from_id: ItemId,
    /// The source's key.
    pub from_key: String,
    /// The target item.
    pub to_id: ItemId,
    /// The target's key.
    pub to_key: String,
    /// The other item's title, as seen from the item the links were listed for.
    pub other_title: String,
}

/// An item as stored, with the few joined values every reader needs (its key, its parent's key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Its id.
    pub id: ItemId,
    /// Its product.
    pub product_id: ProductId,
    /// Its key, `SHOP-42`.
    pub key: String,
    /// Its number within the product.
    pub number: i64,
    /// Its kind.
    pub kind: ItemKind,
    /// Its parent, if any.
    pub parent_id: Option<ItemId>,
    /// The parent's key.
    pub parent_key: Option<String>,
    /// Title.
    pub title: String,
    /// Markdown description.
    pub description: String,
    /// The user-story parts.
    pub story: StoryFields,
    /// Acceptance criteria in order.
    pub criteria: Vec<Criterion>,
    /// Estimate.
    pub estimate: Option<Points>,
    /// Labels.
    pub labels: Vec<String>,
    /// Assignee.
    pub assignee_id: Option<UserId>,
    /// Workflow state.
    pub status_id: StateId,
    /// The state's category, kept on the item so the backlog index can leave done items out.
    pub category: Category,
    /// Position in the backlog.
    pub rank: RankKey,
    /// The sprint it is planned into.
    pub sprint_id: Option<RecordId>,
    /// The release it ships in.
    pub release_id: Option<RecordId>,
    /// Acceptance by the Product Owner.
    pub acceptance: Acceptance,
    /// Ids of the product's Definition-of-Done checks ticked for this item.
    pub dod: Vec<i64>,
    /// Ids of the product's hand-ticked Definition-of-Ready checks ticked for this item.
    pub dor: Vec<i64>,
    /// Who made it.
    pub created_by: Option<UserId>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Bumped on every change; a write naming an older version is refused.
    pub version: i64,
}

/// What is needed to create an item; the store assigns id, number, rank and times.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    /// Kind.
    pub kind: ItemKind,
    /// Parent.
    pub parent_id: Option<ItemId>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Story parts.
    pub story: StoryFields,
    /// Criterion texts; ids are assigned from 1.
    pub criteria: Vec<Criterion>,
    /// Estimate.
    pub estimate: Option<Points>,
    /// Labels.
    pub labels: Vec<String>,
    /// Assignee.
    pub assignee_id: Option<UserId>,
    /// Initial state; `None` means the workflow's first to-do state.
    pub status_id: Option<StateId>,
    /// Sprint to plan it into.
    pub sprint_id: Option<RecordId>,
    /// Release it ships in.
    pub release_id: Option<RecordId>,
}

/// A change to an item; `None` leaves a field as it is, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemPatch {
    /// New kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ItemKind>,
    /// New parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Option<ItemId>>,
    /// New title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New story parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub story: Option<StoryFields>,
    /// New criteria list (whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criteria: Option<Vec<Criterion>>,
    /// New estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Option<Points>>,
    /// New labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    /// New assignee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<Option<UserId>>,
    /// New state (with its category, resolved against the workflow by the caller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<(StateId, Category)>,
    /// New sprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sprint_id: Option<Option<RecordId>>,
    /// New release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_id: Option<Option<RecordId>>,
    /// New acceptance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<Acceptance>,
    /// New set of ticked Definition-of-Done checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dod: Option<Vec<i64>>,
    /// New set of hand-ticked Definition-of-Ready checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dor: Option<Vec<i64>>,
}

impl ItemPatch {
    /// Whether the patch changes nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == ItemPatch::default()
    }

    /// Applies the patch to `old`, giving the new item and one change per field that really
    /// changed (setting a field to its current value records nothing). Version and times are
    /// left to the store.
    pub fn apply(&self, old: &Item) -> (Item, Vec<FieldChange>) {
        let mut new = old.clone();
        let mut ch = Vec::new();
        fn diff<T: PartialEq + Clone + Serialize>(
            ch: &mut Vec<FieldChange>,
            field: &'static str,
            slot: &mut T,
            value: &Option<T>,
        ) {
            if let Some(v) = value {
                if v != slot {
                    ch.push(FieldChange::new(field, json!(slot), json!(v)));
                    *slot = v.clone();
                }
            }
        }
        diff(&mut ch, "kind", &mut new.kind, &self.kind);
        diff(&mut ch, "parent", &mut new.parent_id, &self.parent_id);
        diff(&mut ch, "title", &mut new.title, &self.title);
        diff(&mut ch, "description", &mut new.description, &self.description);
        diff(&mut ch, "story", &mut new.story, &self.story);
        diff(&mut ch, "criteria", &mut new.criteria, &self.criteria);
        diff(&mut ch, "estimate", &mut new.estimate, &self.estimate);
        diff(&mut ch, "labels", &mut new.labels, &self.labels);
        diff(&mut ch, "assignee", &mut new.assignee_id, &self.assignee_id);
        diff(&mut ch, "sprint", &mut new.sprint_id, &self.sprint_id);
        diff(&mut ch, "release", &mut new.release_id, &self.release_id);
        diff(&mut ch, "acceptance", &mut new.acceptance, &self.acceptance);
        diff(&mut ch, "dod", &mut new.dod, &self.dod);
        diff(&mut ch, "dor", &mut new.dor, &self.dor);
        if let Some((state, cat)) = self.status {
            if state != new.status_id {
                ch.push(FieldChange::new("status", json!(new.status_id), json!(state)));
                new.status_id = state;
                new.category = cat;
            }
        }
        if new.parent_id != old.parent_id {
            new.parent_key = None; // the store fills it in again
        }
        (new, ch)
    }
}

/// Checks that `parent` may be the parent of an item of kind `child`: same product, a lower
/// level in epic → story → task. Returns the field error to report otherwise.
pub fn check_parent(child_kind: ItemKind, child_product: ProductId, parent: &Item) -> Invalid<()> {
    if parent.product_id != child_product {
        return Err(ValidationError::new("parent", "must be an item of the same product"));
    }
    if parent.kind.level() >= child_kind.level() {
        return Err(ValidationError::new(
            "parent",
            format!("a {} cannot be the parent of a {}", parent.kind.as_str(), child_kind.as_str()),
        ));
    }
    Ok(())
}

/// Assigns fresh ids (from 1, after the highest id kept) to criteria that came without one
/// (id 0), and refuses duplicates and over-long lists.
pub fn number_criteria(field: &str, mut list: Vec<Criterion>) -> Invalid<Vec<Criterion>> {
    if list.len() > CRITERIA_MAX {
        return Err(ValidationError::new(field, format!("must have at most {CRITERIA_MAX} criteria")));
    }
    let mut next = list.iter().map(|c| c.id).max().unwrap_or(0).max(0) + 1;
    let mut seen = std::collections::HashSet::new();
    for (i, c) in list.iter_mut().enumerate() {
        c.text = parse_criterion_text(&format!("{field}[{i}].text"), &c.text)?;
        if c.id <= 0 {
            c.id = next;
            next += 1;
        }
        if !seen.insert(c.id) {
            return Err(ValidationError::new(format!("{field}[{i}].id"), "is used twice"));
        }
    }
    Ok(list)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn item() -> Item {
        Item {
            id: ItemId(1),
            product_id: ProductId(1),
            key: "SHOP-1".into(),
            number: 1,
            kind: ItemKind::Story,
            parent_id: None,
            parent_key: None,
            title: "Pay by card".into(),
            description: String::new(),
            story: StoryFields::default(),
            criteria: vec![],
            estimate: None,
            labels: vec![],
            assignee_id: None,
            status_id: StateId(1),
            category: Category::Todo,
            rank: crate::rank::spread(1).remove(0),
            sprint_id: None,
            release_id: None,
            acceptance: Acceptance::default(),
            dod: vec![],
            dor: vec![],
            created_by: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            version: 1,
        }
    }

    #[test]
    fn keys() {
        let k = ItemKey::parse("key", "SHOP-42").unwrap();
        assert_eq!((k.product.as_str(), k.number), ("SHOP", 42));
        assert_eq!(k.to_string(), "SHOP-42");
        for bad in ["SHOP", "SHOP-", "SHOP-0", "SHOP-07", "shop-1", "SHOP-1a", "-1", "SHOP-99999999999999"] {
            assert!(ItemKey::parse("key", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn points() {
        assert!(Points::parse("e", 0.5).is_ok());
        assert!(Points::parse("e", 13.0).is_ok());
        for bad in [-1.0, 0.3, 1001.0, f64::NAN, f64::INFINITY] {
            assert!(Points::parse("estimate", bad).is_err());
        }
    }

    #[test]
    fn patch_records_only_real_changes() {
        let old = item();
        let p = ItemPatch {
            title: Some("Pay by card".into()),
            estimate: Some(Some(Points::parse("e", 3.0).unwrap())),
            status: Some((StateId(4), Category::Done)),
            ..Default::default()
        };
        let (new, ch) = p.apply(&old);
        assert_eq!(ch.iter().map(|c| c.field).collect::<Vec<_>>(), vec!["estimate", "status"]);
        assert_eq!(new.category, Category::Done);
        assert_eq!(ch[0].old, serde_json::Value::Null);
        assert_eq!(ch[0].new, json!(3.0));
    }

    #[test]
    fn hierarchy() {
        let mut epic = item();
        epic.kind = ItemKind::Epic;
        assert!(check_parent(ItemKind::Story, ProductId(1), &epic).is_ok());
        assert!(check_parent(ItemKind::Task, ProductId(1), &epic).is_ok());
        assert!(check_parent(ItemKind::Epic, ProductId(1), &epic).is_err());
        assert!(check_parent(ItemKind::Story, ProductId(2), &epic).is_err());
        let story = item();
        assert!(check_parent(ItemKind::Bug, ProductId(1), &story).is_err());
    }

    #[test]
    fn criteria_numbering() {
        let c = |id, t: &str| Criterion { id, text: t.into(), checked: false };
        let l = number_criteria("criteria", vec![c(3, "a"), c(0, "b"), c(0, "c")]).unwrap();
        assert_eq!(l.iter().map(|c| c.id).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(
            number_criteria("criteria", vec![c(1, "a"), c(1, "b")]).unwrap_err().field,
            "criteria[1].id"
        );
        assert_eq!(number_criteria("criteria", vec![c(0, " ")]).unwrap_err().field, "criteria[0].text");
    }

    #[test]
    fn labels() {
        assert_eq!(parse_labels("labels", &["a".into(), "a".into(), "b".into()]).unwrap(), vec!["a", "b"]);
        assert_eq!(parse_labels("labels", &["a b".into()]).unwrap_err().field, "labels[0]");
    }
}
