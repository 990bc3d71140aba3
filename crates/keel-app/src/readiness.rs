//! Definition of Ready and Done, acceptance, bulk edit, releases.

use crate::items::{ItemInput, Mode, PositionInput};
use crate::records::{new_record, to_data, RecordKind, Stored};
use crate::{App, AppError, AppResult, Outcome, ProductAccess};
use keel_domain::event::ObjectKind;
use keel_domain::item::{parse_labels, Acceptance, AcceptanceState, Item, ItemKind, ItemPatch, NOTE_MAX};
use keel_domain::proposal::Change;
use keel_domain::readiness::{
    acceptance_blockers, bulk_labels, check_bulk_keys, notes_markdown, notes_sections, parse_release_name,
    parse_ticks, release_key, DefinitionOfDone, DefinitionOfReady, NotReady, NotesSection, OpenItems,
};
use keel_domain::rights::{Action, Decision};
use keel_domain::sprint::{Release, ReleaseState, Sprint, SprintState, Team};
use keel_domain::user::User;
use keel_domain::workflow::{Category, Workflow};
use keel_domain::{ItemId, ProductId, RecordId, StateId};
use keel_store::{Blocker, ItemFilter, RecordFilter, Ref, StoreError, WriteOp, Written};
use std::collections::HashMap;

/// A product setting stored as a record with a unique key per product.
pub trait ProductSetting: RecordKind + Default {
    /// The key prefix (`dor`, `dod`).
    const PREFIX: &'static str;
    /// What it is called in a proposal's summary.
    const NAME: &'static str;

    /// The proposal's change that sets it to `self`.
    fn change(self) -> Change;

    /// The unique key of the product's record.
    fn key_for(product: ProductId) -> String {
        format!("{}:{}", Self::PREFIX, product.0)
    }
}

impl RecordKind for DefinitionOfReady {
    const KIND: ObjectKind = ObjectKind::Setting;
}

impl ProductSetting for DefinitionOfReady {
    const PREFIX: &'static str = "dor";
    const NAME: &'static str = "Definition of Ready";

    fn change(self) -> Change {
        Change::SetDefinitionOfReady { definition: self }
    }
}

impl RecordKind for DefinitionOfDone {
    const KIND: ObjectKind = ObjectKind::Setting;
}

impl ProductSetting for DefinitionOfDone {
    const PREFIX: &'static str = "dod";
    const NAME: &'static str = "Definition of Done";

    fn change(self) -> Change {
        Change::SetDefinitionOfDone { definition: self }
    }
}

impl App {
    /// A product's setting `T` and its record, or the default (and `None`) when never saved.
    pub async fn setting<T: ProductSetting>(&self, product: ProductId) -> AppResult<(T, Option<Stored<T>>)> {
        match self.store.record_by_key(T::KIND, &T::key_for(product)).await {
            Ok(r) => {
                let s = Stored::<T>::from_record(r)?;
                Ok((s.data.clone(), Some(s)))
            }
            Err(StoreError::NotFound) => Ok((T::default(), None)),
            Err(e) => Err(AppError::from(e)),
        }
    }

    /// The open items blocking each of `items`.
    pub async fn blockers(&self, items: &[ItemId]) -> AppResult<HashMap<ItemId, Vec<Blocker>>> {
        let mut out: HashMap<ItemId, Vec<Blocker>> = HashMap::new();
        for (item, b) in self.store.open_blockers(items).await? {
            out.entry(item).or_default().push(b);
        }
        Ok(out)
    }

    /// For each of `items` (all of `access`'s product), the Definition-of-Ready checks it fails,
    /// in order; empty when ready (or when the definition does not apply to its kind).
    pub async fn readiness(&self, access: &ProductAccess, items: &[Item]) -> AppResult<Vec<NotReady>> {
        let (dor, _) = self.setting::<DefinitionOfReady>(access.product.id).await?;
        let ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
        let blocked = self.blockers(&ids).await?;
        Ok(items.iter().map(|i| dor.evaluate(i, blocked.contains_key(&i.id))).collect())
    }
}

/// What a caller asks of a story's acceptance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptanceAction {
    /// The team marks it ready for acceptance.
    Ready,
    /// The Product Owner accepts it.
    Accept,
    /// The Product Owner rejects it, with a reason.
    Reject,
}

impl AcceptanceAction {
    /// Parses `ready`, `accept` or `reject`.
    pub fn parse(field: &str, s: &str) -> AppResult<Self> {
        match s {
            "ready" => Ok(AcceptanceAction::Ready),
            "accept" => Ok(AcceptanceAction::Accept),
            "reject" => Ok(AcceptanceAction::Reject),
            _ => Err(AppError::invalid(field, "must be one of ready, accept, reject")),
        }
    }
}

/// A bulk edit as a caller gives it: the items and the fields to set on each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkInput {
    /// The items' keys.
    pub keys: Vec<String>,
    /// Workflow state by name.
    pub status: Option<String>,
    /// Assignee by e-mail or id (`Some(None)` unassigns).
    pub assignee: Option<Option<String>>,
    /// Labels to add.
    pub labels_add: Vec<String>,
    /// Labels to remove.
    pub labels_remove: Vec<String>,
    /// Sprint id (`Some(None)` takes the items out of their sprint).
    pub sprint: Option<Option<i64>>,
    /// Epic key (`Some(None)` takes the items out of their epic).
    pub epic: Option<Option<String>>,
}

/// What a bulk edit did: all items changed, or nothing, with the reason for each item refused.
#[derive(Debug, Clone)]
pub enum BulkOutcome {
    /// Every item changed (or already as asked).
    Done(Vec<Item>),
    /// Nothing written: these items could not be changed as asked.
    Refused {
        /// Whether a missing right is among the reasons (HTTP 403 rather than 422).
        forbidden: bool,
        /// (key, reason) for each item refused.
        items: Vec<(String, String)>,
    },
}

/// A release's fields as a caller gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseInput {
    /// Name, unique within the product.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Target date `YYYY-MM-DD` (`Some(None)` or empty clears it).
    pub target_date: Option<Option<String>>,
}

/// What shipping a release did.
#[derive(Debug, Clone)]
pub enum ShipOutcome {
    /// Released.
    Released(Stored<Release>),
    /// Proposed to the decider (the Product Owner proposes the go / no-go).
    Proposed(Box<keel_domain::proposal::Proposal>),
    /// Not released: these items are still open and the caller did not say what to do.
    OpenItems(Vec<Item>),
}

/// Release notes: the release, its sections and the Markdown.
#[derive(Debug, Clone)]
pub struct Notes {
    /// The release.
    pub release: Stored<Release>,
    /// Done items grouped by epic.
    pub sections: Vec<NotesSection>,
    /// The notes as Markdown.
    pub markdown: String,
}

/// The blocker list as one 422 on `acceptance`.
pub(crate) fn blocked(b: &[String]) -> AppError {
    AppError::invalid("acceptance", format!("cannot be accepted while these remain: {}", b.join("; ")))
}

fn first_state(w: &Workflow, cat: Category) -> AppResult<(StateId, Category)> {
    w.states
        .iter()
        .find(|s| s.category == cat)
        .map(|s| (s.id, s.category))
        .ok_or_else(|| AppError::Conflict(format!("the workflow has no {} state", cat.as_str())))
}

impl App {
    /// Saves a product setting (Definition of Ready or Done): the Product Owner's
    /// (Action::EditItem); a team member's change becomes a proposal. `expected_version` is the
    /// version read (0 when never saved); a stale one is a 409.
    pub async fn save_setting<T: ProductSetting>(
        &self,
        access: &ProductAccess,
        value: T,
        expected_version: Option<i64>,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Stored<T>>> {
        let decision = self.decide(access, Action::EditItem);
        if decision == Decision::Deny {
            return Err(self.forbidden(Action::EditItem));
        }
        let (_, stored) = self.setting::<T>(access.product.id).await?;
        let current = stored.as_ref().map_or(0, |s| s.version);
        if expected_version.is_some_and(|v| v != current) {
            return Err(AppError::StaleVersion { current });
        }
        if decision == Decision::Propose {
            let summary = format!("Change the {}", T::NAME);
            return self.propose(access, Action::EditItem, value.change(), summary, reason).await;
        }
        let r = self.write_setting(access, value, stored, expected_version, &self.ctx(&access.user)).await?;
        Ok(Outcome::Done(r))
    }

    async fn write_setting<T: ProductSetting>(
        &self,
        access: &ProductAccess,
        value: T,
        stored: Option<Stored<T>>,
        expected_version: Option<i64>,
        ctx: &keel_store::WriteCtx,
    ) -> AppResult<Stored<T>> {
        let pid = access.product.id;
        let op = match stored {
            Some(s) => WriteOp::UpdateRecord {
                id: s.id,
                expected_version: Some(expected_version.unwrap_or(s.version)),
                state: None,
                data: to_data(&value)?,
                refs: vec![],
            },
            None => WriteOp::CreateRecord(new_record(Some(pid), None, "", Some(T::key_for(pid)), &value)?),
        };
        match self.store.write_batch(vec![op], ctx).await?.pop() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::Conflict("the setting was not saved".into())),
        }
    }

    /// Accepts a proposal to replace a definition, as the decider, in one transaction with the
    /// proposal marked accepted.
    pub(crate) async fn accept_setting_proposal<T: ProductSetting>(
        &self,
        access: &ProductAccess,
        p: &keel_domain::proposal::Proposal,
        value: T,
    ) -> AppResult<crate::proposals::Accepted> {
        let (_, stored) = self.setting::<T>(access.product.id).await?;
        let ctx = self.ctx_for_proposal(&access.user, p.id);
        self.write_setting(access, value, stored, None, &ctx).await?;
        Ok(crate::proposals::Accepted { proposal: self.store.proposal(p.id).await?, item: None })
    }

    /// Why `item` cannot be accepted yet (unticked criteria and Definition-of-Done checks).
    pub async fn acceptance_blockers(&self, access: &ProductAccess, item: &Item) -> AppResult<Vec<String>> {
        let (dod, _) = self.setting::<DefinitionOfDone>(access.product.id).await?;
        Ok(acceptance_blockers(item, &dod))
    }

    /// The rule every change of status obeys: a story moved into a done state must have every
    /// criterion and Definition-of-Done check ticked, and the move records its acceptance;
    /// moving it out of done again clears that acceptance.
    pub(crate) async fn acceptance_rule(
        &self,
        access: &ProductAccess,
        old: &Item,
        mut patch: ItemPatch,
    ) -> AppResult<ItemPatch> {
        let Some((_, cat)) = patch.status else { return Ok(patch) };
        let kind = patch.kind.unwrap_or(old.kind);
        if kind != ItemKind::Story {
            return Ok(patch);
        }
        if cat == Category::Done && old.category != Category::Done {
            let (new, _) = patch.apply(old);
            let b = self.acceptance_blockers(access, &new).await?;
            if !b.is_empty() {
                return Err(blocked(&b));
            }
            if patch.acceptance.is_none() {
                patch.acceptance = Some(Acceptance { state: AcceptanceState::Accepted, note: String::new() });
            }
        } else if cat != Category::Done
            && old.category == Category::Done
            && patch.acceptance.is_none()
            && old.acceptance.state == AcceptanceState::Accepted
        {
            patch.acceptance = Some(Acceptance::default());
        }
        Ok(patch)
    }

    /// Marks a story ready for acceptance (the team), accepts it (the Product Owner; a team
    /// member's acceptance becomes a proposal) or rejects it with a reason. Accepting moves it to
    /// the first done state and rejecting back to the first in-progress state, in one change.
    pub async fn acceptance(
        &self,
        access: &ProductAccess,
        key: &str,
        action: AcceptanceAction,
        note: &str,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Item>> {
        let item = self.item(access, key).await?;
        let note = keel_domain::error::text("note", note, 0, NOTE_MAX, true)?;
        let workflow = self.workflow(access).await?;
        let patch = match action {
            AcceptanceAction::Ready => {
                if item.category == Category::Done {
                    return Err(AppError::Conflict(format!("{} is already done", item.key)));
                }
                ItemPatch {
                    acceptance: Some(Acceptance { state: AcceptanceState::Ready, note }),
                    ..Default::default()
                }
            }
            AcceptanceAction::Accept => {
                let b = self.acceptance_blockers(access, &item).await?;
                if !b.is_empty() {
                    return Err(blocked(&b));
                }
                ItemPatch {
                    acceptance: Some(Acceptance { state: AcceptanceState::Accepted, note }),
                    status: if item.category == Category::Done {
                        None
                    } else {
                        Some(first_state(&workflow, Category::Done)?)
                    },
                    ..Default::default()
                }
            }
            AcceptanceAction::Reject => {
                if note.is_empty() {
                    return Err(AppError::invalid("note", "say why the story is rejected"));
                }
                ItemPatch {
                    acceptance: Some(Acceptance { state: AcceptanceState::Rejected, note }),
                    status: Some(first_state(&workflow, Category::InProgress)?),
                    ..Default::default()
                }
            }
        };
        self.apply_patch_as(access, item, patch, reason, Mode::Auto).await
    }

    /// Ticks Definition-of-Done (`dod`) and hand-ticked Definition-of-Ready (`dor`) checks of an
    /// item: each list replaces the item's; ids must be checks of the product's definitions.
    pub async fn set_checks(
        &self,
        access: &ProductAccess,
        key: &str,
        dod: Option<&[i64]>,
        dor: Option<&[i64]>,
        expected_version: Option<i64>,
    ) -> AppResult<Outcome<Item>> {
        let item = self.item(access, key).await?;
        if let Some(v) = expected_version {
            if v != item.version {
                return Err(AppError::StaleVersion { current: item.version });
            }
        }
        let mut patch = ItemPatch::default();
        if let Some(d) = dod {
            let (def, _) = self.setting::<DefinitionOfDone>(access.product.id).await?;
            let known: Vec<i64> = def.checks.iter().map(|c| c.id).collect();
            patch.dod = Some(parse_ticks("dod", d, &known)?);
        }
        if let Some(d) = dor {
            let (def, _) = self.setting::<DefinitionOfReady>(access.product.id).await?;
            patch.dor = Some(parse_ticks("dor", d, &def.manual_ids())?);
        }
        self.apply_patch_as(access, item, patch, None, Mode::Auto).await
    }

    /// Splits an item: an epic into stories, a story (bug, spike) into tasks, one per title, each
    /// with the item as parent. Each creation is decided like a single one.
    pub async fn split(
        &self,
        access: &ProductAccess,
        key: &str,
        titles: &[String],
    ) -> AppResult<Vec<Outcome<Item>>> {
        let item = self.item(access, key).await?;
        let kind = match item.kind {
            ItemKind::Epic => ItemKind::Story,
            ItemKind::Story | ItemKind::Bug | ItemKind::Spike => ItemKind::Task,
            ItemKind::Task => return Err(AppError::invalid("titles", "a task cannot be split")),
        };
        let titles: Vec<&str> = titles.iter().map(|t| t.trim()).filter(|t| !t.is_empty()).collect();
        if titles.is_empty() || titles.len() > 20 {
            return Err(AppError::invalid("titles", "give 1 to 20 titles"));
        }
        for (i, t) in titles.iter().enumerate() {
            keel_domain::item::parse_title(&format!("titles[{i}]"), t)?;
        }
        let mut out = Vec::with_capacity(titles.len());
        for t in titles {
            let input = ItemInput {
                kind: Some(kind.as_str().to_string()),
                title: Some(t.to_string()),
                parent: Some(Some(item.key.clone())),
                ..Default::default()
            };
            out.push(self.create_item(access, &input, &PositionInput::default(), None).await?);
        }
        Ok(out)
    }

    /// Changes several items at once, in one transaction: everything or nothing. Each item's
    /// change is decided like a single edit; if any would be refused or only proposed, nothing
    /// is written and the refused items are named.
    pub async fn bulk_edit(&self, access: &ProductAccess, input: &BulkInput) -> AppResult<BulkOutcome> {
        check_bulk_keys("keys", &input.keys)?;
        let set_nothing = input.status.is_none()
            && input.assignee.is_none()
            && input.labels_add.is_empty()
            && input.labels_remove.is_empty()
            && input.sprint.is_none()
            && input.epic.is_none();
        if set_nothing {
            return Err(AppError::invalid("set", "say what to change"));
        }
        let workflow = self.workflow(access).await?;
        let status = match input.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(workflow.resolve("status", s).map(|st| (st.id, st.category))?),
            None => None,
        };
        let assignee = match &input.assignee {
            None => None,
            Some(None) => Some(None),
            Some(Some(s)) if s.trim().is_empty() || s == "none" => Some(None),
            Some(Some(s)) => Some(Some(self.resolve_user("assignee", s.trim()).await?)),
        };
        let add = parse_labels("labels_add", &input.labels_add)?;
        let remove = parse_labels("labels_remove", &input.labels_remove)?;
        let sprint = match input.sprint {
            Some(Some(id)) => Some(Some(self.check_sprint_for(access, "sprint", id).await?)),
            Some(None) => Some(None),
            None => None,
        };
        let epic = match &input.epic {
            None => None,
            Some(None) => Some(None),
            Some(Some(k)) if k.trim().is_empty() || k == "none" => Some(None),
            Some(Some(k)) => {
                let e = self.resolve_key(access, "epic", k.trim()).await?;
                if e.kind != ItemKind::Epic {
                    return Err(AppError::invalid("epic", format!("{} is not an epic", e.key)));
                }
                Some(Some(e))
            }
        };
        let mut items = Vec::with_capacity(input.keys.len());
        for (i, k) in input.keys.iter().enumerate() {
            items.push(self.resolve_key(access, &format!("keys[{i}]"), k.trim()).await?);
        }
        let mut refused = Vec::new();
        let mut forbidden = false;
        let mut ops = Vec::new();
        let mut unchanged = Vec::new();
        for item in items {
            let mut patch =
                ItemPatch { status, assignee_id: assignee, sprint_id: sprint, ..Default::default() };
            if !add.is_empty() || !remove.is_empty() {
                patch.labels = Some(bulk_labels(&item.labels, &add, &remove));
            }
            if let Some(e) = &epic {
                if let Some(e) = e {
                    if let Err(v) = keel_domain::item::check_parent(item.kind, access.product.id, e) {
                        refused.push((item.key.clone(), v.message));
                        continue;
                    }
                }
                patch.parent_id = Some(e.as_ref().map(|e| e.id));
            }
            let patch = match self.acceptance_rule(access, &item, patch).await {
                Ok(p) => p,
                Err(AppError::Invalid(v)) => {
                    refused.push((item.key.clone(), v.message));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let (new, changes) = patch.apply(&item);
            if changes.is_empty() {
                unchanged.push(item);
                continue;
            }
            let actions = crate::items::actions_for(&item, &new, &changes);
            match self.decide_all(access, &actions) {
                (Decision::Allow, _) => ops.push(WriteOp::UpdateItem {
                    id: Ref::Id(item.id.0),
                    expected_version: Some(item.version),
                    patch,
                }),
                (_, a) => {
                    forbidden = true;
                    let what = a.map_or("change it", |a| a.describe());
                    refused
                        .push((item.key.clone(), format!("you may not {what} (a proposal would be needed)")));
                }
            }
        }
        if !refused.is_empty() {
            return Ok(BulkOutcome::Refused { forbidden, items: refused });
        }
        let mut out = unchanged;
        if !ops.is_empty() {
            for w in self.store.write_batch(ops, &self.ctx(&access.user)).await? {
                if let Written::Item(i) = w {
                    out.push(*i);
                }
            }
        }
        Ok(BulkOutcome::Done(out))
    }

    /// What a product is working on now, for the navigation: its active sprints (one per team
    /// at most) and its next release (the planned one with the earliest target date; one without
    /// a date comes after dated ones). Two small reads of the records' state index.
    pub async fn now_links(
        &self,
        product: ProductId,
    ) -> AppResult<(Vec<Stored<Sprint>>, Option<Stored<Release>>)> {
        let sprints = self
            .list_records::<Sprint>(
                RecordFilter::of(ObjectKind::Sprint).product(product).states(&[SprintState::Active.as_str()]),
            )
            .await?;
        let next = self
            .list_records::<Release>(
                RecordFilter::of(ObjectKind::Release)
                    .product(product)
                    .states(&[ReleaseState::Planned.as_str()]),
            )
            .await?
            .into_iter()
            .min_by_key(|r| (r.data.target_date.is_none(), r.data.target_date, r.id.0));
        Ok((sprints, next))
    }

    /// The releases of a product, by id.
    pub async fn releases(&self, access: &ProductAccess) -> AppResult<Vec<Stored<Release>>> {
        self.list_records::<Release>(RecordFilter::of(ObjectKind::Release).product(access.product.id)).await
    }

    /// A release and the caller's access to its product (404 for non-members).
    pub async fn release_access(&self, user: &User, id: i64) -> AppResult<(ProductAccess, Stored<Release>)> {
        let r = self.get_record::<Release>(RecordId(id)).await?;
        let pid = r.product_id.ok_or(AppError::NotFound)?;
        Ok((self.access_by_id(user, pid).await?, r))
    }

    /// Every item of a release, in backlog order.
    pub async fn release_items(&self, access: &ProductAccess, id: RecordId) -> AppResult<Vec<Item>> {
        let filter = ItemFilter { release: Some(Some(id)), ..Default::default() };
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.list_items(access, &filter, cursor.as_deref(), 500).await?;
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    async fn check_release_name(
        &self,
        access: &ProductAccess,
        name: &str,
        except: Option<RecordId>,
    ) -> AppResult<()> {
        let taken = self
            .releases(access)
            .await?
            .iter()
            .any(|r| Some(r.id) != except && r.data.name.to_lowercase() == name.to_lowercase());
        if taken {
            return Err(AppError::Conflict(format!("a release named “{name}” exists")));
        }
        Ok(())
    }

    /// Creates a release (the Product Owner's).
    pub async fn create_release(
        &self,
        access: &ProductAccess,
        input: &ReleaseInput,
    ) -> AppResult<Stored<Release>> {
        self.require(access, Action::EditItem)?;
        let name = parse_release_name("name", input.name.as_deref().unwrap_or(""))?;
        let release = Release {
            name: name.clone(),
            description: release_description(input.description.as_deref().unwrap_or(""))?,
            target_date: parse_date(&input.target_date)?.flatten(),
            released_at: None,
        };
        self.check_release_name(access, &name, None).await?;
        let pid = access.product.id;
        let rec = new_record(
            Some(pid),
            None,
            ReleaseState::Planned.as_str(),
            Some(release_key(pid, &name)),
            &release,
        )?;
        match self.store.write_batch(vec![WriteOp::CreateRecord(rec)], &self.ctx(&access.user)).await {
            Ok(mut w) => match w.pop() {
                Some(Written::Record(r)) => Stored::from_record(r),
                _ => Err(AppError::Conflict("the release was not created".into())),
            },
            // A concurrent create, or a release renamed since (record keys keep the first name).
            Err(StoreError::Conflict(_)) => Err(AppError::Conflict(format!(
                "a release named “{name}” exists or existed; choose another name"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Changes a release's name, description or target date (the Product Owner's).
    pub async fn update_release(
        &self,
        access: &ProductAccess,
        release: &Stored<Release>,
        input: &ReleaseInput,
        expected_version: Option<i64>,
    ) -> AppResult<Stored<Release>> {
        self.require(access, Action::EditItem)?;
        let v = expected_version.unwrap_or(release.version);
        if v != release.version {
            return Err(AppError::StaleVersion { current: release.version });
        }
        let mut data = release.data.clone();
        if let Some(n) = &input.name {
            data.name = parse_release_name("name", n)?;
            self.check_release_name(access, &data.name, Some(release.id)).await?;
        }
        if let Some(d) = &input.description {
            data.description = release_description(d)?;
        }
        if let Some(d) = parse_date(&input.target_date)? {
            data.target_date = d;
        }
        let op = WriteOp::UpdateRecord {
            id: release.id,
            expected_version: Some(v),
            state: None,
            data: to_data(&data)?,
            refs: vec![],
        };
        match self.store.write_batch(vec![op], &self.ctx(&access.user)).await?.pop() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::Conflict("the release was not changed".into())),
        }
    }

    /// Deletes a release; its items leave it in the same transaction.
    pub async fn delete_release(&self, access: &ProductAccess, release: &Stored<Release>) -> AppResult<()> {
        self.require(access, Action::EditItem)?;
        let mut ops: Vec<WriteOp> = self
            .release_items(access, release.id)
            .await?
            .into_iter()
            .map(|i| WriteOp::UpdateItem {
                id: Ref::Id(i.id.0),
                expected_version: None,
                patch: ItemPatch { release_id: Some(None), ..Default::default() },
            })
            .collect();
        ops.push(WriteOp::DeleteRecord { id: release.id, expected_version: Some(release.version) });
        // Its launch checklist goes with it.
        ops.extend(self.launch_cleanup(release).await?);
        self.store.write_batch(ops, &self.ctx(&access.user)).await?;
        Ok(())
    }

    /// Ships a release: the release go / no-go, the Product Manager's (the Product Owner's
    /// attempt becomes a proposal). Open items need a choice: without one, nothing happens and
    /// they are listed.
    pub async fn ship_release(
        &self,
        access: &ProductAccess,
        release: &Stored<Release>,
        open_items: Option<OpenItems>,
        expected_version: Option<i64>,
        reason: Option<&str>,
    ) -> AppResult<ShipOutcome> {
        let decision = self.decide(access, Action::ReleaseGoNoGo);
        if decision == Decision::Deny {
            return Err(self.forbidden(Action::ReleaseGoNoGo));
        }
        let ops = match self.ship_plan(access, release, open_items, expected_version).await? {
            Ok(ops) => ops,
            Err(open) => return Ok(ShipOutcome::OpenItems(open)),
        };
        if decision == Decision::Propose {
            let summary = format!("Release {}", release.data.name);
            let change = Change::ShipRelease { release_id: release.id, open_items };
            return match self.propose::<()>(access, Action::ReleaseGoNoGo, change, summary, reason).await? {
                Outcome::Proposed(p) => Ok(ShipOutcome::Proposed(p)),
                Outcome::Done(()) => Err(AppError::Conflict("the release was not proposed".into())),
            };
        }
        self.ship_write(ops, &self.ctx(&access.user)).await.map(ShipOutcome::Released)
    }

    /// Accepts a proposal to release: ships it as the decider, marking the proposal accepted in
    /// the same transaction; a release that can no longer ship as proposed makes it stale.
    pub(crate) async fn accept_ship_proposal(
        &self,
        access: &ProductAccess,
        p: &keel_domain::proposal::Proposal,
        release_id: RecordId,
        open_items: Option<OpenItems>,
    ) -> AppResult<crate::proposals::Accepted> {
        let release = match self.get_record::<Release>(release_id).await {
            Ok(r) if r.product_id == Some(access.product.id) => r,
            Ok(_) | Err(AppError::NotFound) => {
                return Err(self.stale(access, p, "the release no longer exists").await)
            }
            Err(e) => return Err(e),
        };
        let ops = match self.ship_plan(access, &release, open_items, None).await {
            Ok(Ok(ops)) => ops,
            Ok(Err(open)) => {
                let why =
                    format!("{} items are open now; propose again saying what to do with them", open.len());
                return Err(self.stale(access, p, &why).await);
            }
            Err(AppError::Conflict(m)) => return Err(self.stale(access, p, &m).await),
            Err(AppError::Invalid(v)) => return Err(self.stale(access, p, &v.message).await),
            Err(e) => return Err(e),
        };
        self.ship_write(ops, &self.ctx_for_proposal(&access.user, p.id)).await?;
        Ok(crate::proposals::Accepted { proposal: self.store.proposal(p.id).await?, item: None })
    }

    async fn ship_write(&self, ops: Vec<WriteOp>, ctx: &keel_store::WriteCtx) -> AppResult<Stored<Release>> {
        match self.store.write_batch(ops, ctx).await?.pop() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::Conflict("the release was not released".into())),
        }
    }

    /// The writes that ship `release`, or its open items when no choice was made for them.
    async fn ship_plan(
        &self,
        access: &ProductAccess,
        release: &Stored<Release>,
        open_items: Option<OpenItems>,
        expected_version: Option<i64>,
    ) -> AppResult<Result<Vec<WriteOp>, Vec<Item>>> {
        if release.state == ReleaseState::Released.as_str() {
            return Err(AppError::Conflict(format!("release {} is already released", release.data.name)));
        }
        let v = expected_version.unwrap_or(release.version);
        if v != release.version {
            return Err(AppError::StaleVersion { current: release.version });
        }
        let open: Vec<Item> = self
            .release_items(access, release.id)
            .await?
            .into_iter()
            .filter(|i| i.category != Category::Done)
            .collect();
        let target = match (open.is_empty(), open_items) {
            (false, None) => return Ok(Err(open)),
            (_, Some(OpenItems::MoveTo(id))) => {
                if id == release.id {
                    return Err(AppError::invalid("move_to", "must be another release"));
                }
                let t = match self.get_record::<Release>(id).await {
                    Ok(t) if t.product_id == Some(access.product.id) => t,
                    Ok(_) | Err(AppError::NotFound) => {
                        return Err(AppError::invalid("move_to", "is not a release of this product"))
                    }
                    Err(e) => return Err(e),
                };
                if t.state == ReleaseState::Released.as_str() {
                    return Err(AppError::invalid("move_to", "is already released"));
                }
                Some((Some(t.id), t.version))
            }
            (_, Some(OpenItems::Backlog)) => Some((None, 0)),
            (_, Some(OpenItems::Keep)) | (true, None) => None,
        };
        let mut ops = Vec::new();
        if let Some((to, version)) = target {
            if let Some(id) = to {
                ops.push(WriteOp::Guard { id, expected_version: version });
            }
            for i in &open {
                ops.push(WriteOp::UpdateItem {
                    id: Ref::Id(i.id.0),
                    expected_version: Some(i.version),
                    patch: ItemPatch { release_id: Some(to), ..Default::default() },
                });
            }
        }
        let mut data = release.data.clone();
        data.released_at = Some(crate::now());
        ops.push(WriteOp::UpdateRecord {
            id: release.id,
            expected_version: Some(v),
            state: Some(ReleaseState::Released.as_str().to_string()),
            data: to_data(&data)?,
            refs: vec![],
        });
        Ok(Ok(ops))
    }

    /// The release notes: the release's done stories, bugs and spikes grouped by epic.
    pub async fn release_notes(&self, access: &ProductAccess, release: Stored<Release>) -> AppResult<Notes> {
        let items = self.release_items(access, release.id).await?;
        let sections = self.notes_of(access, &items).await?;
        let date = release.data.released_at.map(keel_domain::Date::of).or(release.data.target_date);
        let markdown = notes_markdown(&release.data.name, date, &sections);
        Ok(Notes { release, sections, markdown })
    }

    /// Groups `items` into notes sections by their epics.
    pub async fn notes_of(&self, access: &ProductAccess, items: &[Item]) -> AppResult<Vec<NotesSection>> {
        let mut epics = HashMap::new();
        for pid in items.iter().filter_map(|i| i.parent_id) {
            if let std::collections::hash_map::Entry::Vacant(e) = epics.entry(pid) {
                if let Ok(p) = self.item_by_id(access, pid).await {
                    e.insert((p.key, p.title));
                }
            }
        }
        Ok(notes_sections(items, &epics))
    }
}

fn release_description(s: &str) -> AppResult<String> {
    Ok(keel_domain::error::text("description", s, 0, 10_000, true)?)
}

fn parse_date(d: &Option<Option<String>>) -> AppResult<Option<Option<keel_domain::Date>>> {
    Ok(match d {
        None => None,
        Some(None) => Some(None),
        Some(Some(s)) if s.trim().is_empty() => Some(None),
        Some(Some(s)) => Some(Some(keel_domain::Date::parse("target_date", s)?)),
    })
}

/// A sprint or release an item may be put in, for a form's select: (id, label).
pub type Choice = (i64, String);

impl App {
    /// The sprints of the teams serving `access`'s product that may take items (not closed),
    /// by start date, plus `current` whatever its state (so a form shows it).
    pub async fn sprint_choices(
        &self,
        access: &ProductAccess,
        current: Option<RecordId>,
    ) -> AppResult<Vec<Choice>> {
        let teams = self.list_records::<Team>(RecordFilter::of(ObjectKind::Team)).await?;
        let mut out: Vec<(keel_domain::Date, Choice)> = Vec::new();
        for t in teams.iter().filter(|t| t.data.products.contains(&access.product.id)) {
            let filter = RecordFilter::of(ObjectKind::Sprint).parent(t.id.0);
            for s in self.list_records::<Sprint>(filter).await? {
                if s.state != SprintState::Closed.as_str() || Some(s.id) == current {
                    out.push((s.data.start, (s.id.0, format!("{} · {}", s.data.name, t.data.name))));
                }
            }
        }
        out.sort_by_key(|(d, _)| *d);
        Ok(out.into_iter().map(|(_, c)| c).collect())
    }

    /// The planned releases of `access`'s product, plus `current` whatever its state.
    pub async fn release_choices(
        &self,
        access: &ProductAccess,
        current: Option<RecordId>,
    ) -> AppResult<Vec<Choice>> {
        Ok(self
            .releases(access)
            .await?
            .into_iter()
            .filter(|r| r.state != ReleaseState::Released.as_str() || Some(r.id) == current)
            .map(|r| (r.id.0, r.data.name))
            .collect())
    }
}
