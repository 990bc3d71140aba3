//! Backlog items: create, read, list, change, move, delete, link; every change checked against
//! decision rights and either applied or turned into a proposal.

use crate::{App, AppError, AppResult, Outcome, ProductAccess};
use keel_domain::event::{Event, FieldChange, ObjectKind};
use keel_domain::item::{
    number_criteria, parse_description, parse_labels, parse_story_field, parse_title, Criterion, Item,
    ItemKey, ItemKind, ItemLink, ItemPatch, LinkKind, NewItem, Points, StoryFields,
};
use keel_domain::proposal::{Change, NewItemSpec, Position};
use keel_domain::rights::{Action, Decision};
use keel_domain::sprint::{Release, Sprint, SprintState, Team};
use keel_domain::user::Email;
use keel_domain::workflow::{Category, Workflow};
use keel_domain::{ItemId, LinkId, RecordId, UserId};
use keel_store::{ItemFilter, NewProposal, Page, StoreError, WriteOp};

/// Longest full-text query, in characters.
pub const QUERY_MAX: usize = 200;
/// Longest proposal reason, in characters.
pub const REASON_MAX: usize = 2_000;

/// A criterion as given by a caller: an id to keep an existing one, none for a new one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CriterionInput {
    /// Existing id, or `None` for a new criterion.
    pub id: Option<i64>,
    /// Its text.
    pub text: String,
    /// Checked.
    pub checked: bool,
}

/// Item fields as a caller gives them, not yet validated. For a create, absent fields take
/// defaults; for a change, absent fields stay as they are and `Some(None)` clears.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemInput {
    /// `epic`, `story`, `task`, `bug` or `spike`.
    pub kind: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Markdown description.
    pub description: Option<String>,
    /// Story: as a …
    pub as_a: Option<String>,
    /// Story: I want …
    pub i_want: Option<String>,
    /// Story: so that …
    pub so_that: Option<String>,
    /// The whole criteria list.
    pub criteria: Option<Vec<CriterionInput>>,
    /// Story points.
    pub estimate: Option<Option<f64>>,
    /// Labels.
    pub labels: Option<Vec<String>>,
    /// Assignee by e-mail or numeric user id.
    pub assignee: Option<Option<String>>,
    /// Workflow state by name (or id).
    pub status: Option<String>,
    /// Parent by key.
    pub parent: Option<Option<String>>,
    /// Sprint by id.
    pub sprint: Option<Option<i64>>,
    /// Release by id.
    pub release: Option<Option<i64>>,
}

/// A backlog position as a caller gives it: exactly one of the four.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PositionInput {
    /// Before the item with this key.
    pub before: Option<String>,
    /// After the item with this key.
    pub after: Option<String>,
    /// At the top.
    pub top: bool,
    /// At the bottom.
    pub bottom: bool,
}

/// List filters as a caller gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterInput {
    /// State name (or id).
    pub status: Option<String>,
    /// State category.
    pub category: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Assignee e-mail or id, or `none` for unassigned.
    pub assignee: Option<String>,
    /// Label.
    pub label: Option<String>,
    /// Parent key.
    pub parent: Option<String>,
    /// Full-text query.
    pub q: Option<String>,
    /// Only items not done.
    pub open_only: bool,
    /// Sprint id, or `none` for items in no sprint.
    pub sprint: Option<String>,
    /// Release id, or `none` for items in no release.
    pub release: Option<String>,
}

/// Whether a command is applied when the caller has the right, or always put to the decider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Apply when allowed, propose when only proposing is allowed.
    Auto,
    /// Store as a proposal even when the caller could apply it (an explicit proposal).
    Propose,
}

/// One page of items and the cursor of the next, if there is one.
#[derive(Debug, Clone)]
pub struct ItemPage {
    /// The items, in backlog order.
    pub items: Vec<Item>,
    /// Pass as `cursor` to get the next page.
    pub next_cursor: Option<String>,
}

/// Refuses a change based on a version of `item` other than its current one.
pub(crate) fn check_version(item: &Item, expected: Option<i64>) -> AppResult<()> {
    match expected {
        Some(v) if v != item.version => Err(AppError::StaleVersion { current: item.version }),
        _ => Ok(()),
    }
}

fn opt_text(
    v: &Option<String>,
    f: impl Fn(&str) -> keel_domain::Invalid<String>,
) -> AppResult<Option<String>> {
    Ok(v.as_deref().map(f).transpose()?)
}

fn parse_reason(reason: Option<&str>) -> AppResult<String> {
    Ok(keel_domain::error::text("reason", reason.unwrap_or(""), 0, REASON_MAX, true)?)
}

fn parse_criteria(list: &[CriterionInput]) -> AppResult<Vec<Criterion>> {
    let v = list
        .iter()
        .map(|c| Criterion { id: c.id.unwrap_or(0), text: c.text.clone(), checked: c.checked })
        .collect();
    Ok(number_criteria("criteria", v)?)
}

/// The actions creating an item needs: creating it, and setting what else it comes with.
fn create_actions(kind: ItemKind, estimated: bool, assigned: bool, done: bool) -> Vec<Action> {
    let mut a = vec![if kind == ItemKind::Epic { Action::CreateEpic } else { Action::CreateItem }];
    for (given, action) in [(estimated, Action::Estimate), (assigned, Action::Assign), (done, Action::Accept)]
    {
        if given {
            a.push(action);
        }
    }
    a
}

/// The actions a change needs, from the fields that really change.
pub(crate) fn actions_for(old: &Item, new: &Item, changes: &[FieldChange]) -> Vec<Action> {
    let mut out = Vec::new();
    for c in changes {
        let a = match c.field {
            "kind" | "parent" | "title" | "story" | "labels" => Action::EditItem,
            "description" => Action::EditDescription,
            "criteria" => {
                let same_texts = old.criteria.len() == new.criteria.len()
                    && old.criteria.iter().zip(&new.criteria).all(|(a, b)| a.id == b.id && a.text == b.text);
                if same_texts {
                    Action::CheckCriterion
                } else {
                    Action::EditCriteria
                }
            }
            "estimate" => Action::Estimate,
            "assignee" => Action::Assign,
            "sprint" => Action::ManageSprint,
            "release" | "dor" => Action::EditItem,
            "dod" => Action::CheckCriterion,
            "acceptance" => {
                use keel_domain::item::AcceptanceState as S;
                if matches!(new.acceptance.state, S::Accepted | S::Rejected)
                    || old.acceptance.state == S::Accepted
                {
                    Action::Accept
                } else {
                    Action::Transition
                }
            }
            "status" => {
                if old.category == Category::Done || new.category == Category::Done {
                    Action::Accept
                } else {
                    Action::Transition
                }
            }
            _ => Action::EditItem,
        };
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

impl App {
    /// The decision over several actions: the weakest wins. Returns the action that limited it.
    pub(crate) fn decide_all(
        &self,
        access: &ProductAccess,
        actions: &[Action],
    ) -> (Decision, Option<Action>) {
        let mut worst = (Decision::Allow, None);
        for a in actions {
            let d = self.decide(access, *a);
            if d < worst.0 {
                worst = (d, Some(*a));
            }
        }
        worst
    }

    fn gate(&self, access: &ProductAccess, actions: &[Action], mode: Mode) -> (Decision, Option<Action>) {
        let (d, a) = self.decide_all(access, actions);
        if d == Decision::Allow && mode == Mode::Propose {
            (Decision::Propose, a.or(actions.first().copied()))
        } else {
            (d, a)
        }
    }

    /// Resolves an item key within the product of `access`; a key of another product or an
    /// unknown one is an error on `field`.
    pub(crate) async fn resolve_key(
        &self,
        access: &ProductAccess,
        field: &str,
        key: &str,
    ) -> AppResult<Item> {
        let k = ItemKey::parse(field, key)?;
        if k.product != access.product.key {
            return Err(AppError::invalid(field, "must be an item of the same product"));
        }
        match self.store.item_by_number(access.product.id, k.number).await {
            Ok(i) => Ok(i),
            Err(StoreError::NotFound) => Err(AppError::invalid(field, format!("no item {key}"))),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn resolve_user(&self, field: &str, s: &str) -> AppResult<UserId> {
        let r = if let Ok(id) = s.parse::<i64>() {
            self.store.user(UserId(id)).await
        } else {
            self.store.user_by_email(&Email::parse(field, s)?).await
        };
        match r {
            Ok(u) => Ok(u.id),
            Err(StoreError::NotFound) => Err(AppError::invalid(field, "no such user")),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) async fn resolve_position(
        &self,
        access: &ProductAccess,
        p: &PositionInput,
    ) -> AppResult<Position> {
        let given = [p.before.is_some(), p.after.is_some(), p.top, p.bottom].iter().filter(|x| **x).count();
        if given != 1 {
            return Err(AppError::invalid("position", "give exactly one of before, after, top, bottom"));
        }
        Ok(if let Some(k) = &p.before {
            Position::Before(self.resolve_key(access, "before", k).await?.id)
        } else if let Some(k) = &p.after {
            Position::After(self.resolve_key(access, "after", k).await?.id)
        } else if p.top {
            Position::Top
        } else {
            Position::Bottom
        })
    }

    /// An item by key, for a reader of its product.
    pub async fn item(&self, access: &ProductAccess, key: &str) -> AppResult<Item> {
        let k = ItemKey::parse("key", key).map_err(|_| AppError::NotFound)?;
        if k.product != access.product.key {
            return Err(AppError::NotFound);
        }
        Ok(self.store.item_by_number(access.product.id, k.number).await?)
    }

    /// Builds the patch for `input` against `old`, resolving names against the workflow.
    async fn build_patch(
        &self,
        access: &ProductAccess,
        workflow: &Workflow,
        old: Option<&Item>,
        input: &ItemInput,
    ) -> AppResult<ItemPatch> {
        let story = if input.as_a.is_some() || input.i_want.is_some() || input.so_that.is_some() {
            let base = old.map(|o| o.story.clone()).unwrap_or_default();
            Some(StoryFields {
                as_a: opt_text(&input.as_a, |s| parse_story_field("as_a", s))?.unwrap_or(base.as_a),
                i_want: opt_text(&input.i_want, |s| parse_story_field("i_want", s))?.unwrap_or(base.i_want),
                so_that: opt_text(&input.so_that, |s| parse_story_field("so_that", s))?
                    .unwrap_or(base.so_that),
            })
        } else {
            None
        };
        let parent_id = match &input.parent {
            None => None,
            Some(None) => Some(None),
            Some(Some(k)) if k.is_empty() => Some(None),
            Some(Some(k)) => Some(Some(self.resolve_key(access, "parent", k).await?.id)),
        };
        let assignee_id = match &input.assignee {
            None => None,
            Some(None) => Some(None),
            Some(Some(s)) if s.is_empty() => Some(None),
            Some(Some(s)) => Some(Some(self.resolve_user("assignee", s).await?)),
        };
        let status = match &input.status {
            None => None,
            Some(s) => {
                let st = workflow.resolve("status", s)?;
                Some((st.id, st.category))
            }
        };
        Ok(ItemPatch {
            kind: input.kind.as_deref().map(|k| ItemKind::parse("kind", k)).transpose()?,
            parent_id,
            title: opt_text(&input.title, |s| parse_title("title", s))?,
            description: opt_text(&input.description, |s| parse_description("description", s))?,
            story,
            criteria: input.criteria.as_deref().map(parse_criteria).transpose()?,
            estimate: input
                .estimate
                .map(|e| e.map(|v| Points::parse("estimate", v)).transpose())
                .transpose()?,
            labels: input.labels.as_deref().map(|l| parse_labels("labels", l)).transpose()?,
            assignee_id,
            status,
            sprint_id: match input.sprint {
                Some(Some(id)) => Some(Some(self.check_sprint_for(access, "sprint", id).await?)),
                Some(None) => Some(None),
                None => None,
            },
            release_id: match input.release {
                Some(Some(id)) => Some(Some(self.check_release_for(access, "release", id).await?)),
                Some(None) => Some(None),
                None => None,
            },
            ..ItemPatch::default()
        })
    }

    /// Checks that sprint `id` may take items of `access`'s product: it exists, its team serves
    /// the product, and it is not closed.
    pub async fn check_sprint_for(
        &self,
        access: &ProductAccess,
        field: &str,
        id: i64,
    ) -> AppResult<RecordId> {
        let sprint = match self.get_record::<Sprint>(RecordId(id)).await {
            Ok(s) => s,
            Err(AppError::NotFound) => return Err(AppError::invalid(field, "is not a sprint")),
            Err(e) => return Err(e),
        };
        let team = match sprint.parent_id {
            Some(t) => self.get_record::<Team>(RecordId(t)).await.ok(),
            None => None,
        };
        if !team.is_some_and(|t| t.data.products.contains(&access.product.id)) {
            return Err(AppError::invalid(field, "is not a sprint of a team of this product"));
        }
        if sprint.state == SprintState::Closed.as_str() {
            return Err(AppError::invalid(field, "is closed"));
        }
        Ok(sprint.id)
    }

    /// Checks that release `id` is a release of `access`'s product.
    pub async fn check_release_for(
        &self,
        access: &ProductAccess,
        field: &str,
        id: i64,
    ) -> AppResult<RecordId> {
        match self.get_record::<Release>(RecordId(id)).await {
            Ok(r) if r.product_id == Some(access.product.id) => Ok(r.id),
            Ok(_) | Err(AppError::NotFound) => {
                Err(AppError::invalid(field, "is not a release of this product"))
            }
            Err(e) => Err(e),
        }
    }

    /// Creates an item at `position` (the bottom by default).
    pub async fn create_item(
        &self,
        access: &ProductAccess,
        input: &ItemInput,
        position: &PositionInput,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Item>> {
        self.create_item_as(access, input, position, reason, Mode::Auto).await
    }

    /// [`App::create_item`], or an explicit proposal of it.
    pub async fn create_item_as(
        &self,
        access: &ProductAccess,
        input: &ItemInput,
        position: &PositionInput,
        reason: Option<&str>,
        mode: Mode,
    ) -> AppResult<Outcome<Item>> {
        let workflow = self.workflow(access).await?;
        let p = self.build_patch(access, &workflow, None, input).await?;
        let title = p.title.clone().ok_or_else(|| AppError::invalid("title", "is required"))?;
        let kind = p.kind.unwrap_or(ItemKind::Story);
        let new = NewItem {
            kind,
            parent_id: p.parent_id.flatten(),
            title,
            description: p.description.clone().unwrap_or_default(),
            story: p.story.clone().unwrap_or_default(),
            criteria: p.criteria.clone().unwrap_or_default(),
            estimate: p.estimate.flatten(),
            labels: p.labels.clone().unwrap_or_default(),
            assignee_id: p.assignee_id.flatten(),
            status_id: p.status.map(|(s, _)| s),
            sprint_id: p.sprint_id.flatten(),
            release_id: p.release_id.flatten(),
        };
        let position = if *position == PositionInput::default() {
            Position::Bottom
        } else {
            self.resolve_position(access, position).await?
        };
        let done = p.status.is_some_and(|(_, c)| c == Category::Done);
        if done && kind == ItemKind::Story {
            // A story that starts done is accepted at once, so the acceptance rule holds here too:
            // every criterion met and, as nothing is ticked yet, an empty Definition of Done.
            let (dod, _) =
                self.setting::<keel_domain::readiness::DefinitionOfDone>(access.product.id).await?;
            let mut b: Vec<String> = new
                .criteria
                .iter()
                .filter(|c| !c.checked)
                .map(|c| format!("Criterion not met: {}", c.text))
                .collect();
            b.extend(dod.checks.iter().map(|c| format!("Definition of Done: {}", c.text)));
            if !b.is_empty() {
                return Err(crate::readiness::blocked(&b));
            }
        }
        let actions = create_actions(kind, new.estimate.is_some(), new.assignee_id.is_some(), done);
        match self.gate(access, &actions, mode) {
            (Decision::Allow, _) => {
                let ctx = self.ctx(&access.user);
                Ok(Outcome::Done(self.store.create_item(access.product.id, new, &position, &ctx).await?))
            }
            (Decision::Propose, Some(action)) => {
                let summary = format!("Create {} “{}”", kind.as_str(), new.title);
                let change = Change::CreateItem { item: NewItemSpec { fields: new.into(), position } };
                self.propose(access, action, change, summary, reason).await
            }
            (_, action) => Err(self.forbidden(action.unwrap_or(Action::CreateItem))),
        }
    }

    /// Changes an item. With `expected_version`, refuses a stale one (409).
    pub async fn update_item(
        &self,
        access: &ProductAccess,
        key: &str,
        input: &ItemInput,
        expected_version: Option<i64>,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Item>> {
        self.update_item_as(access, key, input, expected_version, reason, Mode::Auto).await
    }

    /// [`App::update_item`], or an explicit proposal of it.
    pub async fn update_item_as(
        &self,
        access: &ProductAccess,
        key: &str,
        input: &ItemInput,
        expected_version: Option<i64>,
        reason: Option<&str>,
        mode: Mode,
    ) -> AppResult<Outcome<Item>> {
        let old = self.item(access, key).await?;
        if let Some(v) = expected_version {
            if v != old.version {
                return Err(AppError::StaleVersion { current: old.version });
            }
        }
        let workflow = self.workflow(access).await?;
        let patch = self.build_patch(access, &workflow, Some(&old), input).await?;
        self.apply_patch_as(access, old, patch, reason, mode).await
    }

    async fn apply_patch(
        &self,
        access: &ProductAccess,
        old: Item,
        patch: ItemPatch,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Item>> {
        self.apply_patch_as(access, old, patch, reason, Mode::Auto).await
    }

    pub(crate) async fn apply_patch_as(
        &self,
        access: &ProductAccess,
        old: Item,
        patch: ItemPatch,
        reason: Option<&str>,
        mode: Mode,
    ) -> AppResult<Outcome<Item>> {
        let patch = self.acceptance_rule(access, &old, patch).await?;
        let (new, changes) = patch.apply(&old);
        if changes.is_empty() {
            return Ok(Outcome::Done(old));
        }
        let actions = actions_for(&old, &new, &changes);
        match self.gate(access, &actions, mode) {
            (Decision::Allow, _) => {
                let ctx = self.ctx(&access.user);
                // The assignee and the watchers hear of the change in the change's own batch.
                let status_name = self.workflow(access).await?.state(new.status_id).map(|s| s.name.clone());
                let mut ops = vec![WriteOp::UpdateItem {
                    id: keel_store::Ref::Id(old.id.0),
                    expected_version: Some(old.version),
                    patch: patch.clone(),
                }];
                ops.extend(self.item_change_notifications(access, &old, &new, status_name).await?);
                match self.store.write_batch(ops, &ctx).await?.into_iter().next() {
                    Some(keel_store::Written::Item(i)) => Ok(Outcome::Done(*i)),
                    _ => Err(AppError::Internal(keel_store::StoreError::invalid("ops", "no item written"))),
                }
            }
            (Decision::Propose, Some(action)) => {
                let fields: Vec<&str> = changes.iter().map(|c| c.field).collect();
                let summary = format!("Change {} of {}", fields.join(", "), old.key);
                let change = Change::UpdateItem { item_id: old.id, patch };
                self.propose(access, action, change, summary, reason).await
            }
            (_, action) => Err(self.forbidden(action.unwrap_or(Action::EditItem))),
        }
    }

    /// Adds an acceptance criterion at the end.
    pub async fn add_criterion(
        &self,
        access: &ProductAccess,
        key: &str,
        text: &str,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Item>> {
        let old = self.item(access, key).await?;
        let mut list = old.criteria.clone();
        list.push(Criterion { id: 0, text: text.to_string(), checked: false });
        let list = number_criteria("criteria", list).map_err(|e| match e.field.as_str() {
            f if f.ends_with(".text") => keel_domain::ValidationError::new("text", e.message),
            _ => e,
        })?;
        let patch = ItemPatch { criteria: Some(list), ..Default::default() };
        self.apply_patch(access, old, patch, reason).await
    }

    /// Changes one criterion's text or checked flag. With `expected_version` (the item's version
    /// as the caller read it) a stale one is [`AppError::StaleVersion`]; the write itself is
    /// checked against the version read here inside its transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_criterion(
        &self,
        access: &ProductAccess,
        key: &str,
        id: i64,
        text: Option<&str>,
        checked: Option<bool>,
        expected_version: Option<i64>,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Item>> {
        let old = self.item(access, key).await?;
        check_version(&old, expected_version)?;
        let mut list = old.criteria.clone();
        let c = list.iter_mut().find(|c| c.id == id).ok_or(AppError::NotFound)?;
        if let Some(t) = text {
            c.text = keel_domain::item::parse_criterion_text("text", t)?;
        }
        if let Some(ch) = checked {
            c.checked = ch;
        }
        let patch = ItemPatch { criteria: Some(list), ..Default::default() };
        self.apply_patch(access, old, patch, reason).await
    }

    /// Removes one criterion ([`App::update_criterion`] for `expected_version`).
    pub async fn delete_criterion(
        &self,
        access: &ProductAccess,
        key: &str,
        id: i64,
        expected_version: Option<i64>,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Item>> {
        let old = self.item(access, key).await?;
        check_version(&old, expected_version)?;
        if !old.criteria.iter().any(|c| c.id == id) {
            return Err(AppError::NotFound);
        }
        let list: Vec<Criterion> = old.criteria.iter().filter(|c| c.id != id).cloned().collect();
        let patch = ItemPatch { criteria: Some(list), ..Default::default() };
        self.apply_patch(access, old, patch, reason).await
    }

    /// Moves an item in the backlog.
    pub async fn move_item(
        &self,
        access: &ProductAccess,
        key: &str,
        position: &PositionInput,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Item>> {
        self.move_item_as(access, key, position, None, reason, Mode::Auto).await
    }

    /// [`App::move_item`] based on the item's `version` as the caller read it: a stale one is
    /// [`AppError::StaleVersion`], checked in the moving transaction.
    pub async fn move_item_at(
        &self,
        access: &ProductAccess,
        key: &str,
        position: &PositionInput,
        version: Option<i64>,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Item>> {
        self.move_item_as(access, key, position, version, reason, Mode::Auto).await
    }

    /// [`App::move_item_at`], or an explicit proposal of it.
    pub async fn move_item_as(
        &self,
        access: &ProductAccess,
        key: &str,
        position: &PositionInput,
        version: Option<i64>,
        reason: Option<&str>,
        mode: Mode,
    ) -> AppResult<Outcome<Item>> {
        let item = self.item(access, key).await?;
        if let Some(v) = version {
            if v != item.version {
                return Err(AppError::StaleVersion { current: item.version });
            }
        }
        let pos = self.resolve_position(access, position).await?;
        if matches!(pos, Position::Before(id) | Position::After(id) if id == item.id) {
            let f = if position.before.is_some() { "before" } else { "after" };
            return Err(AppError::invalid(f, "cannot move an item relative to itself"));
        }
        match self.gate(access, &[Action::Reorder], mode).0 {
            Decision::Allow => {
                let ctx = self.ctx(&access.user);
                Ok(Outcome::Done(self.store.move_item_checked(item.id, version, &pos, &ctx).await?))
            }
            Decision::Propose => {
                let target = position.before.as_deref().or(position.after.as_deref());
                let summary = match (&pos, target) {
                    (Position::Before(_), Some(t)) => format!("Move {} before {t}", item.key),
                    (Position::After(_), Some(t)) => format!("Move {} after {t}", item.key),
                    (Position::Top, _) => format!("Move {} to the top", item.key),
                    _ => format!("Move {} to the bottom", item.key),
                };
                let change = Change::MoveItem { item_id: item.id, position: pos };
                self.propose(access, Action::Reorder, change, summary, reason).await
            }
            Decision::Deny => Err(self.forbidden(Action::Reorder)),
        }
    }

    /// Deletes an item.
    pub async fn delete_item(
        &self,
        access: &ProductAccess,
        key: &str,
        reason: Option<&str>,
    ) -> AppResult<Outcome<()>> {
        self.delete_item_as(access, key, reason, Mode::Auto).await
    }

    /// [`App::delete_item`], or an explicit proposal of it.
    pub async fn delete_item_as(
        &self,
        access: &ProductAccess,
        key: &str,
        reason: Option<&str>,
        mode: Mode,
    ) -> AppResult<Outcome<()>> {
        let item = self.item(access, key).await?;
        match self.gate(access, &[Action::DeleteItem], mode).0 {
            Decision::Allow => {
                self.store.delete_item(item.id, &self.ctx(&access.user)).await?;
                Ok(Outcome::Done(()))
            }
            Decision::Propose => {
                let summary = format!("Delete {} “{}”", item.key, item.title);
                let change = Change::DeleteItem { item_id: item.id };
                self.propose(access, Action::DeleteItem, change, summary, reason).await
            }
            Decision::Deny => Err(self.forbidden(Action::DeleteItem)),
        }
    }

    /// Links item `key` to item `target`.
    pub async fn add_link(
        &self,
        access: &ProductAccess,
        key: &str,
        kind: &str,
        target: &str,
        reason: Option<&str>,
    ) -> AppResult<Outcome<ItemLink>> {
        let kind = LinkKind::parse("kind", kind)?;
        let from = self.item(access, key).await?;
        let to = self.resolve_key(access, "to", target).await?;
        if to.id == from.id {
            return Err(AppError::invalid("to", "cannot link an item to itself"));
        }
        match self.decide(access, Action::EditItem) {
            Decision::Allow => {
                Ok(Outcome::Done(self.store.add_link(from.id, to.id, kind, &self.ctx(&access.user)).await?))
            }
            Decision::Propose => {
                let summary = format!("Link {} {} {}", from.key, kind.label(), to.key);
                let change = Change::AddLink { from: from.id, to: to.id, kind };
                self.propose(access, Action::EditItem, change, summary, reason).await
            }
            Decision::Deny => Err(self.forbidden(Action::EditItem)),
        }
    }

    /// Removes a link of item `key`.
    pub async fn remove_link(
        &self,
        access: &ProductAccess,
        key: &str,
        link: LinkId,
        reason: Option<&str>,
    ) -> AppResult<Outcome<()>> {
        let item = self.item(access, key).await?;
        let links = self.store.links(item.id).await?;
        let l = links.iter().find(|l| l.id == link).ok_or(AppError::NotFound)?;
        match self.decide(access, Action::EditItem) {
            Decision::Allow => {
                self.store.remove_link(item.id, link, &self.ctx(&access.user)).await?;
                Ok(Outcome::Done(()))
            }
            Decision::Propose => {
                let summary = format!("Remove link {} {} {}", l.from_key, l.kind.label(), l.to_key);
                let change = Change::RemoveLink { item_id: item.id, link_id: link };
                self.propose(access, Action::EditItem, change, summary, reason).await
            }
            Decision::Deny => Err(self.forbidden(Action::EditItem)),
        }
    }

    /// The links of an item.
    pub async fn links(&self, access: &ProductAccess, item: &Item) -> AppResult<Vec<ItemLink>> {
        debug_assert_eq!(item.product_id, access.product.id);
        Ok(self.store.links(item.id).await?)
    }

    /// The children of an item, in rank order (at most 500).
    pub async fn children(&self, access: &ProductAccess, item: &Item) -> AppResult<Vec<Item>> {
        let f = ItemFilter { parent: Some(item.id), ..Default::default() };
        Ok(self.store.list_items(access.product.id, &f, &Page::first(500)).await?)
    }

    /// An item's history, newest first.
    pub async fn history(&self, item: &Item, before: Option<i64>, limit: u32) -> AppResult<Vec<Event>> {
        Ok(self.store.history(ObjectKind::Item, item.id.0, before, limit.clamp(1, 500)).await?)
    }

    /// Parses list filters against the product's workflow.
    pub async fn filter(&self, access: &ProductAccess, f: &FilterInput) -> AppResult<ItemFilter> {
        let nonempty =
            |o: &Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let status = match nonempty(&f.status) {
            Some(s) => Some(self.workflow(access).await?.resolve("status", &s)?.id),
            None => None,
        };
        let assignee = match nonempty(&f.assignee) {
            Some(s) if s == "none" => Some(None),
            Some(s) => Some(Some(self.resolve_user("assignee", &s).await?)),
            None => None,
        };
        let parent = match nonempty(&f.parent) {
            Some(k) => Some(self.resolve_key(access, "parent", &k).await?.id),
            None => None,
        };
        let q = nonempty(&f.q);
        if q.as_ref().is_some_and(|q| q.chars().count() > QUERY_MAX) {
            return Err(AppError::invalid("q", format!("must be at most {QUERY_MAX} characters")));
        }
        Ok(ItemFilter {
            status,
            category: nonempty(&f.category).map(|c| Category::parse("category", &c)).transpose()?,
            open_only: f.open_only,
            kind: nonempty(&f.kind).map(|k| ItemKind::parse("kind", &k)).transpose()?,
            assignee,
            label: nonempty(&f.label).map(|l| keel_domain::item::parse_label("label", &l)).transpose()?,
            parent,
            q,
            sprint: match nonempty(&f.sprint).as_deref() {
                None => None,
                Some("none") => Some(None),
                Some(s) => Some(Some(RecordId(
                    s.parse().map_err(|_| AppError::invalid("sprint", "must be a sprint id or none"))?,
                ))),
            },
            release: match nonempty(&f.release).as_deref() {
                None => None,
                Some("none") => Some(None),
                Some(s) => Some(Some(RecordId(
                    s.parse().map_err(|_| AppError::invalid("release", "must be a release id or none"))?,
                ))),
            },
        })
    }

    /// A page of items matching `filter`, in backlog order.
    pub async fn list_items(
        &self,
        access: &ProductAccess,
        filter: &ItemFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> AppResult<ItemPage> {
        let after = match cursor {
            Some(c) if !c.is_empty() => {
                Some(keel_domain::rank::RankKey::parse("cursor", c)?.as_str().to_string())
            }
            _ => None,
        };
        let limit = limit.clamp(1, 500);
        let items = self.store.list_items(access.product.id, filter, &Page { after, limit }).await?;
        let next_cursor =
            if items.len() as u32 == limit { items.last().map(|i| i.rank.to_string()) } else { None };
        Ok(ItemPage { items, next_cursor })
    }

    /// How many items match `filter`.
    pub async fn count_items(&self, access: &ProductAccess, filter: &ItemFilter) -> AppResult<i64> {
        Ok(self.store.count_items(access.product.id, filter).await?)
    }

    /// The active members, other than the caller, who may decide a proposal of `change`: they
    /// hold `allow` for every action it needs (judged as accepting would judge it).
    pub(crate) async fn deciders_of(
        &self,
        access: &ProductAccess,
        action: Action,
        change: &Change,
    ) -> AppResult<Vec<UserId>> {
        let needs = match self.actions_of_change(access, change).await {
            Ok(a) if !a.is_empty() => a,
            Ok(_) | Err(AppError::NotFound) => vec![action],
            Err(e) => return Err(e),
        };
        Ok(self
            .store
            .members(access.product.id)
            .await?
            .into_iter()
            .filter(|(u, roles)| {
                u.is_active
                    && u.id != access.user.id
                    && needs.iter().all(|a| self.rights.decide(*roles, u.is_admin, *a) == Decision::Allow)
            })
            .map(|(u, _)| u.id)
            .collect())
    }

    /// Stores a proposal for `change`; the members who may decide it are notified in the same
    /// transaction.
    pub(crate) async fn propose<T>(
        &self,
        access: &ProductAccess,
        action: Action,
        change: Change,
        summary: String,
        reason: Option<&str>,
    ) -> AppResult<Outcome<T>> {
        let reason = parse_reason(reason)?;
        let notify = self.deciders_of(access, action, &change).await?;
        let p = NewProposal { product_id: access.product.id, action, change, reason, summary, notify };
        Ok(Outcome::Proposed(Box::new(self.store.create_proposal(p, &self.ctx(&access.user)).await?)))
    }

    /// The item with `id` in the product of `access`, or 404.
    pub async fn item_by_id(&self, access: &ProductAccess, id: ItemId) -> AppResult<Item> {
        let i = self.store.item(id).await?;
        if i.product_id != access.product.id {
            return Err(AppError::NotFound);
        }
        Ok(i)
    }

    /// The actions the change needs, judged against the current state (for accepting).
    pub(crate) async fn actions_of_change(
        &self,
        access: &ProductAccess,
        change: &Change,
    ) -> AppResult<Vec<Action>> {
        Ok(match change {
            Change::CreateItem { item } => {
                let f = &item.fields;
                let workflow = self.workflow(access).await?;
                let done =
                    f.status_id.and_then(|s| workflow.state(s)).is_some_and(|s| s.category == Category::Done);
                create_actions(f.kind, f.estimate.is_some(), f.assignee_id.is_some(), done)
            }
            Change::UpdateItem { item_id, patch } => {
                let old = self.item_by_id(access, *item_id).await?;
                let (new, changes) = patch.apply(&old);
                actions_for(&old, &new, &changes)
            }
            Change::MoveItem { .. } => vec![Action::Reorder],
            Change::DeleteItem { .. } => vec![Action::DeleteItem],
            Change::AddLink { .. } | Change::RemoveLink { .. } => vec![Action::EditItem],
            Change::StartSprint { .. } | Change::CloseSprint { .. } => vec![Action::ManageSprint],
            Change::ShipRelease { .. } => vec![Action::ReleaseGoNoGo],
            Change::SetInitiative { .. } => vec![Action::EditRoadmap],
            Change::ScoreOpportunity { .. } => vec![Action::ScoreOpportunity],
            Change::PromoteOpportunity { .. } => vec![Action::PromoteOpportunity],
            Change::SetVision { .. } => vec![Action::EditVision],
            Change::SetDefinitionOfReady { .. } | Change::SetDefinitionOfDone { .. } => {
                vec![Action::EditItem]
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_domain::{ProductId, StateId, Timestamp};

    fn item() -> Item {
        Item {
            id: ItemId(1),
            product_id: ProductId(1),
            key: "SHOP-1".into(),
            number: 1,
            kind: ItemKind::Story,
            parent_id: None,
            parent_key: None,
            title: "t".into(),
            description: String::new(),
            story: StoryFields::default(),
            criteria: vec![Criterion { id: 1, text: "a".into(), checked: false }],
            estimate: None,
            labels: vec![],
            assignee_id: None,
            status_id: StateId(1),
            category: Category::Todo,
            rank: keel_domain::rank::spread(1).remove(0),
            sprint_id: None,
            release_id: None,
            acceptance: Default::default(),
            dod: vec![],
            dor: vec![],
            created_by: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            version: 1,
        }
    }

    #[test]
    fn checking_a_criterion_is_not_editing_it() {
        let old = item();
        let mut list = old.criteria.clone();
        list[0].checked = true;
        let p = ItemPatch { criteria: Some(list), ..Default::default() };
        let (new, ch) = p.apply(&old);
        assert_eq!(actions_for(&old, &new, &ch), vec![Action::CheckCriterion]);
        let mut list = old.criteria.clone();
        list[0].text = "b".into();
        let p = ItemPatch { criteria: Some(list), ..Default::default() };
        let (new, ch) = p.apply(&old);
        assert_eq!(actions_for(&old, &new, &ch), vec![Action::EditCriteria]);
    }

    #[test]
    fn moving_into_done_is_accepting() {
        let old = item();
        let p = ItemPatch {
            status: Some((StateId(4), Category::Done)),
            title: Some("x".into()),
            ..Default::default()
        };
        let (new, ch) = p.apply(&old);
        assert_eq!(actions_for(&old, &new, &ch), vec![Action::EditItem, Action::Accept]);
        let p = ItemPatch { status: Some((StateId(2), Category::InProgress)), ..Default::default() };
        let (new, ch) = p.apply(&old);
        assert_eq!(actions_for(&old, &new, &ch), vec![Action::Transition]);
    }
}
