//! Go-to-market: the product's launch checklist template, each release's checklist and the go /
//! no-go decision log.
//!
//! The template is one record per product (kind `launch_template`, key `launch-template:{product}`);
//! a release's checklist is one record per release (kind `launch_checklist`, key
//! `launch:{release}`), made from the template by the first change and rewritten whole under its
//! version after that. Changing either is the release go / no-go right: the Product Manager
//! decides, everyone else gets a 403, except that an item's owner may tick it and note on it. A
//! go / no-go from someone who may only propose it (the Product Owner) is logged as a
//! recommendation and decides nothing.

use crate::records::{new_record, to_data, RecordKind, Stored};
use crate::{now, App, AppError, AppResult, ProductAccess};
use keel_domain::event::ObjectKind;
use keel_domain::launch::{
    parse_note, parse_title, Checklist, ChecklistItem, GoNoGo, LaunchDecision, LaunchTemplate, ITEMS_MAX,
};
use keel_domain::product::Role;
use keel_domain::rights::{Action, Decision};
use keel_domain::sprint::Release;
use keel_domain::{Date, ProductId, RecordId, UserId};
use keel_store::{StoreError, WriteOp, Written};

impl RecordKind for LaunchTemplate {
    const KIND: ObjectKind = ObjectKind::LaunchTemplate;
}

impl RecordKind for Checklist {
    const KIND: ObjectKind = ObjectKind::LaunchChecklist;
}

fn template_key(product: ProductId) -> String {
    format!("launch-template:{}", product.0)
}

fn checklist_key(release: RecordId) -> String {
    format!("launch:{}", release.0)
}

/// A checklist item's fields as given; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct LaunchItemInput {
    /// What has to happen.
    pub title: Option<String>,
    /// Its owner: `Some(None)` clears it.
    pub owner: Option<Option<i64>>,
    /// Its due date (`YYYY-MM-DD`; empty clears it).
    pub due: Option<String>,
    /// Done or not.
    pub done: Option<bool>,
    /// A note.
    pub note: Option<String>,
}

/// A release's launch section as read.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The checklist and decision log.
    pub checklist: Checklist,
    /// The record's version (0 while it is still shown from the template).
    pub version: i64,
    /// Today, for overdue flags.
    pub today: Date,
}

impl Launch {
    /// The latest binding decision.
    pub fn current(&self) -> Option<&LaunchDecision> {
        self.checklist.current_decision()
    }
}

impl App {
    /// A product's launch template and its version (0 while it is the default).
    pub async fn launch_template(&self, access: &ProductAccess) -> AppResult<(LaunchTemplate, i64)> {
        match self.store.record_by_key(ObjectKind::LaunchTemplate, &template_key(access.product.id)).await {
            Ok(r) => {
                let s = Stored::<LaunchTemplate>::from_record(r)?;
                Ok((s.data, s.version))
            }
            Err(StoreError::NotFound) => Ok((LaunchTemplate::default(), 0)),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces the product's launch template (the Product Manager's). Checklists already made
    /// keep their items.
    pub async fn save_launch_template(
        &self,
        access: &ProductAccess,
        template: LaunchTemplate,
        expected_version: Option<i64>,
    ) -> AppResult<(LaunchTemplate, i64)> {
        self.require(access, Action::ReleaseGoNoGo)?;
        let template = template.validate()?;
        let pid = access.product.id;
        let stored = match self.store.record_by_key(ObjectKind::LaunchTemplate, &template_key(pid)).await {
            Ok(r) => Some(Stored::<LaunchTemplate>::from_record(r)?),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let current = stored.as_ref().map_or(0, |s| s.version);
        if expected_version.is_some_and(|v| v != current) {
            return Err(AppError::StaleVersion { current });
        }
        let op = match stored {
            Some(s) => WriteOp::UpdateRecord {
                id: s.id,
                expected_version: Some(s.version),
                state: None,
                data: to_data(&template)?,
                refs: vec![],
            },
            None => {
                WriteOp::CreateRecord(new_record(Some(pid), None, "", Some(template_key(pid)), &template)?)
            }
        };
        match self.store.write_batch(vec![op], &self.ctx(&access.user)).await?.pop() {
            Some(Written::Record(r)) => {
                let s = Stored::<LaunchTemplate>::from_record(r)?;
                Ok((s.data, s.version))
            }
            _ => Err(AppError::Conflict("the template was not saved".into())),
        }
    }

    async fn stored_checklist(&self, release: &Stored<Release>) -> AppResult<Option<Stored<Checklist>>> {
        match self.store.record_by_key(ObjectKind::LaunchChecklist, &checklist_key(release.id)).await {
            Ok(r) => Ok(Some(Stored::from_record(r)?)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The operation deleting `release`'s checklist, if any (for deleting the release in the
    /// same batch).
    pub(crate) async fn launch_cleanup(&self, release: &Stored<Release>) -> AppResult<Option<WriteOp>> {
        Ok(self
            .stored_checklist(release)
            .await?
            .map(|s| WriteOp::DeleteRecord { id: s.id, expected_version: Some(s.version) }))
    }

    async fn checklist_from_template(
        &self,
        access: &ProductAccess,
        release: &Stored<Release>,
    ) -> AppResult<Checklist> {
        let (template, _) = self.launch_template(access).await?;
        let mut members = self.members(access).await?;
        members.sort_by_key(|(u, _)| u.id.0);
        Ok(Checklist::from_template(&template, release.data.target_date, |role: Role| {
            members.iter().find(|(_, r)| r.has(role)).map(|(u, _)| u.id)
        }))
    }

    /// A release's checklist and decision log (from the template until first changed).
    pub async fn launch(&self, access: &ProductAccess, release: &Stored<Release>) -> AppResult<Launch> {
        let today = Date::of(now());
        match self.stored_checklist(release).await? {
            Some(s) => Ok(Launch { checklist: s.data, version: s.version, today }),
            None => Ok(Launch {
                checklist: self.checklist_from_template(access, release).await?,
                version: 0,
                today,
            }),
        }
    }

    async fn write_checklist(
        &self,
        access: &ProductAccess,
        release: &Stored<Release>,
        stored: Option<Stored<Checklist>>,
        checklist: &Checklist,
    ) -> AppResult<Launch> {
        let op = match stored {
            Some(s) => WriteOp::UpdateRecord {
                id: s.id,
                expected_version: Some(s.version),
                state: None,
                data: to_data(checklist)?,
                refs: vec![],
            },
            None => WriteOp::CreateRecord(new_record(
                Some(access.product.id),
                Some(release.id.0),
                "",
                Some(checklist_key(release.id)),
                checklist,
            )?),
        };
        match self.store.write_batch(vec![op], &self.ctx(&access.user)).await {
            Ok(mut w) => match w.pop() {
                Some(Written::Record(r)) => {
                    let s = Stored::<Checklist>::from_record(r)?;
                    Ok(Launch { checklist: s.data, version: s.version, today: Date::of(now()) })
                }
                _ => Err(AppError::Conflict("the checklist was not saved".into())),
            },
            // Two first changes at once both try to make the record: the second is stale.
            Err(StoreError::Conflict(_)) => Err(AppError::StaleVersion { current: 1 }),
            Err(e) => Err(e.into()),
        }
    }

    async fn load_for_change(
        &self,
        access: &ProductAccess,
        release: &Stored<Release>,
        expected_version: Option<i64>,
    ) -> AppResult<(Option<Stored<Checklist>>, Checklist)> {
        let stored = self.stored_checklist(release).await?;
        let current = stored.as_ref().map_or(0, |s| s.version);
        if expected_version.is_some_and(|v| v != current) {
            return Err(AppError::StaleVersion { current });
        }
        let list = match &stored {
            Some(s) => s.data.clone(),
            None => self.checklist_from_template(access, release).await?,
        };
        Ok((stored, list))
    }

    async fn check_owner(&self, access: &ProductAccess, owner: Option<i64>) -> AppResult<Option<UserId>> {
        let Some(id) = owner else { return Ok(None) };
        let members = self.members(access).await?;
        match members.iter().find(|(u, _)| u.id.0 == id) {
            Some((u, _)) => Ok(Some(u.id)),
            None => Err(AppError::invalid("owner", format!("user {id} is no member of this product"))),
        }
    }

    fn parse_due(due: &str) -> AppResult<Option<Date>> {
        if due.trim().is_empty() {
            Ok(None)
        } else {
            Ok(Some(Date::parse("due", due)?))
        }
    }

    /// Adds an item to a release's checklist (the Product Manager's).
    pub async fn add_launch_item(
        &self,
        access: &ProductAccess,
        release: &Stored<Release>,
        input: &LaunchItemInput,
        expected_version: Option<i64>,
    ) -> AppResult<(Launch, i64)> {
        self.require(access, Action::ReleaseGoNoGo)?;
        let title = parse_title("title", input.title.as_deref().unwrap_or(""))?;
        let owner = self.check_owner(access, input.owner.flatten()).await?;
        let due = Self::parse_due(input.due.as_deref().unwrap_or(""))?;
        let note = parse_note("note", input.note.as_deref().unwrap_or(""))?;
        let (stored, mut list) = self.load_for_change(access, release, expected_version).await?;
        if list.items.len() >= ITEMS_MAX {
            return Err(AppError::invalid("title", format!("a checklist holds at most {ITEMS_MAX} items")));
        }
        let id = list.next_id();
        let done = input.done.unwrap_or(false);
        list.items.push(ChecklistItem {
            id,
            title,
            owner,
            due,
            done,
            done_by: done.then_some(access.user.id),
            done_at: done.then(now),
            note,
        });
        Ok((self.write_checklist(access, release, stored, &list).await?, id))
    }

    /// Changes a checklist item. The Product Manager may change anything; the item's owner may
    /// tick it and note on it; everyone else gets a 403.
    pub async fn edit_launch_item(
        &self,
        access: &ProductAccess,
        release: &Stored<Release>,
        id: i64,
        input: &LaunchItemInput,
        expected_version: Option<i64>,
    ) -> AppResult<Launch> {
        let may_decide = self.decide(access, Action::ReleaseGoNoGo) == Decision::Allow;
        let content = input.title.is_some() || input.owner.is_some() || input.due.is_some();
        if !may_decide && content {
            return Err(self.forbidden(Action::ReleaseGoNoGo));
        }
        let (stored, mut list) = self.load_for_change(access, release, expected_version).await?;
        let owner_change = match input.owner {
            Some(o) => Some(self.check_owner(access, o).await?),
            None => None,
        };
        let item = list.items.iter_mut().find(|i| i.id == id).ok_or(AppError::NotFound)?;
        if !may_decide && item.owner != Some(access.user.id) {
            return Err(self.forbidden(Action::ReleaseGoNoGo));
        }
        if let Some(t) = &input.title {
            item.title = parse_title("title", t)?;
        }
        if let Some(o) = owner_change {
            item.owner = o;
        }
        if let Some(d) = &input.due {
            item.due = Self::parse_due(d)?;
        }
        if let Some(n) = &input.note {
            item.note = parse_note("note", n)?;
        }
        if let Some(done) = input.done {
            if done != item.done {
                item.done = done;
                item.done_by = done.then_some(access.user.id);
                item.done_at = done.then(now);
            }
        }
        self.write_checklist(access, release, stored, &list).await
    }

    /// Removes a checklist item (the Product Manager's).
    pub async fn remove_launch_item(
        &self,
        access: &ProductAccess,
        release: &Stored<Release>,
        id: i64,
        expected_version: Option<i64>,
    ) -> AppResult<Launch> {
        self.require(access, Action::ReleaseGoNoGo)?;
        let (stored, mut list) = self.load_for_change(access, release, expected_version).await?;
        let before = list.items.len();
        list.items.retain(|i| i.id != id);
        if list.items.len() == before {
            return Err(AppError::NotFound);
        }
        self.write_checklist(access, release, stored, &list).await
    }

    /// Records a go / no-go. The Product Manager decides; one who may only propose it has it
    /// logged as a recommendation (`proposed`); others get a 403. A "go" while checklist items
    /// are open needs `acknowledge_open`.
    pub async fn launch_decision(
        &self,
        access: &ProductAccess,
        release: &Stored<Release>,
        decision: &str,
        note: &str,
        acknowledge_open: bool,
        expected_version: Option<i64>,
    ) -> AppResult<(Launch, LaunchDecision)> {
        let right = self.decide(access, Action::ReleaseGoNoGo);
        if right == Decision::Deny {
            return Err(self.forbidden(Action::ReleaseGoNoGo));
        }
        let decision = GoNoGo::parse("decision", decision)?;
        let note = parse_note("note", note)?;
        let (stored, mut list) = self.load_for_change(access, release, expected_version).await?;
        let made = list
            .decide(decision, note, access.user.id, now(), right == Decision::Propose, acknowledge_open)?
            .clone();
        Ok((self.write_checklist(access, release, stored, &list).await?, made))
    }
}

/// Seeds the demo product's go-to-market: the planned release's checklist under way (pricing
/// decided, sales enablement done) and a "no go" until the docs are ready, as its Product
/// Manager `pm`.
pub(crate) async fn seed_demo(
    app: &App,
    product: &keel_domain::product::Product,
    pm: &keel_domain::user::User,
) -> AppResult<()> {
    let access = ProductAccess {
        user: pm.clone(),
        product: product.clone(),
        roles: keel_domain::product::Roles::of(&[Role::Pm]),
    };
    let planned = app.releases(&access).await?.into_iter().find(|r| r.data.released_at.is_none());
    let Some(release) = planned else { return Ok(()) };
    let tick =
        |note: &str| LaunchItemInput { done: Some(true), note: Some(note.into()), ..Default::default() };
    app.edit_launch_item(&access, &release, 1, &tick("Same price; free returns stay."), None).await?;
    app.edit_launch_item(&access, &release, 3, &tick("Deck and FAQ shared with sales."), None).await?;
    app.launch_decision(
        &access,
        &release,
        "no_go",
        "Not until the checkout docs are published.",
        false,
        None,
    )
    .await?;
    Ok(())
}
