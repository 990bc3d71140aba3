//! Initiatives and the roadmap, published roadmaps.

use crate::records::{new_record, to_data, Stored};
use crate::{App, AppError, AppResult, Outcome, ProductAccess};
use keel_domain::event::ObjectKind;
use keel_domain::item::ItemKind;
use keel_domain::pm::{
    check_budget, check_confidence, timeline_warnings, Goal, Initiative, InitiativeStatus, Lane, Progress,
    Quarter,
};
use keel_domain::proposal::{Change, Proposal};
use keel_domain::rights::{Action, Decision};
use keel_domain::time::Date;
use keel_domain::user::User;
use keel_domain::workflow::Category;
use keel_domain::{ItemId, ProductId, RecordId, UserId};
use keel_store::{ItemFilter, Page, RecordFilter, WriteOp, Written};

/// The most goals or epics one initiative links.
pub const LINKS_MAX: usize = 100;

/// A change of an initiative's fields; `None` leaves a field as it is (a create starts from
/// the defaults). Double options clear with `Some(None)`.
#[derive(Debug, Clone, Default)]
pub struct InitiativeInput {
    /// Title.
    pub title: Option<String>,
    /// Description (Markdown).
    pub description: Option<String>,
    /// Owner (a user id).
    pub owner: Option<Option<i64>>,
    /// Lane: now, next, later.
    pub lane: Option<String>,
    /// Status: proposed, planned, in_progress, done, dropped.
    pub status: Option<String>,
    /// First day.
    pub start: Option<Option<String>>,
    /// Last day.
    pub end: Option<Option<String>>,
    /// A quarter ("2026-Q3") setting start and end.
    pub quarter: Option<String>,
    /// Goal record ids.
    pub goals: Option<Vec<i64>>,
    /// Epic item keys.
    pub epics: Option<Vec<String>>,
    /// Planned budget.
    pub budget_planned: Option<Option<f64>>,
    /// Spent budget.
    pub budget_spent: Option<Option<f64>>,
    /// Confidence 0-100.
    pub confidence: Option<Option<i64>>,
    /// Shown on the published roadmap.
    pub public: Option<bool>,
    /// Public title.
    pub public_title: Option<String>,
    /// Public description.
    pub public_description: Option<String>,
}

/// An initiative with what is derived from it.
#[derive(Debug, Clone)]
pub struct InitiativeView {
    /// The record.
    pub stored: Stored<Initiative>,
    /// Its status.
    pub status: InitiativeStatus,
    /// The keys of its epics.
    pub epic_keys: Vec<String>,
    /// Delivery progress from its epics' stories.
    pub progress: Progress,
    /// Timeline warnings (its end past a linked goal's due date).
    pub warnings: Vec<String>,
}

/// The roadmap of a product.
#[derive(Debug, Clone)]
pub struct Roadmap {
    /// Every initiative (dropped ones included), by lane then start then id.
    pub initiatives: Vec<InitiativeView>,
    /// The quarters its timeframes span (from today's when none has dates).
    pub quarters: Vec<Quarter>,
}

/// A change to the roadmap: applied, or proposed.
pub type InitiativeOutcome = Outcome<Stored<Initiative>>;

/// The status of a stored initiative.
pub fn status_of(s: &Stored<Initiative>) -> InitiativeStatus {
    InitiativeStatus::parse("status", &s.state).unwrap_or_default()
}

impl App {
    /// A product's initiatives, by id.
    pub async fn initiatives(&self, access: &ProductAccess) -> AppResult<Vec<Stored<Initiative>>> {
        self.list_records::<Initiative>(RecordFilter::of(ObjectKind::Initiative).product(access.product.id))
            .await
    }

    /// An initiative and the caller's access to its product (404 for non-members).
    pub async fn initiative(
        &self,
        user: &User,
        id: RecordId,
    ) -> AppResult<(ProductAccess, Stored<Initiative>)> {
        let s = self.get_record::<Initiative>(id).await?;
        let product = s.product_id.ok_or(AppError::NotFound)?;
        let a = self.access_by_id(user, product).await?;
        Ok((a, s))
    }

    /// Applies an input to an initiative's fields, validating every field and link.
    async fn initiative_apply(
        &self,
        access: &ProductAccess,
        mut i: Initiative,
        mut status: InitiativeStatus,
        input: &InitiativeInput,
    ) -> AppResult<(Initiative, InitiativeStatus)> {
        use keel_domain::error::text;
        if let Some(t) = &input.title {
            i.title = text("title", t, 1, 200, false)?;
        }
        if let Some(t) = &input.description {
            i.description = text("description", t, 0, 20_000, true)?;
        }
        if let Some(o) = input.owner {
            i.owner = match o {
                Some(id) => {
                    let members = self.members(access).await?;
                    let u = members
                        .iter()
                        .find(|(u, _)| u.id == UserId(id))
                        .ok_or_else(|| AppError::invalid("owner", "is not a member of this product"))?;
                    Some(u.0.id)
                }
                None => None,
            };
        }
        if let Some(l) = &input.lane {
            i.lane = Lane::parse("lane", l)?;
        }
        if let Some(s) = &input.status {
            status = InitiativeStatus::parse("status", s)?;
        }
        if let Some(q) = &input.quarter {
            let q = Quarter::parse("quarter", q)?;
            i.start = Some(q.start());
            i.end = Some(q.end());
        }
        if let Some(s) = &input.start {
            i.start = s.as_deref().filter(|s| !s.is_empty()).map(|s| Date::parse("start", s)).transpose()?;
        }
        if let Some(e) = &input.end {
            i.end = e.as_deref().filter(|s| !s.is_empty()).map(|s| Date::parse("end", s)).transpose()?;
        }
        if let (Some(s), Some(e)) = (i.start, i.end) {
            if e < s {
                return Err(AppError::invalid("end", "must not be before start"));
            }
        }
        if let Some(goals) = &input.goals {
            if goals.len() > LINKS_MAX {
                return Err(AppError::invalid("goals", "at most 100 goals"));
            }
            let mut out = Vec::new();
            for g in goals {
                let ok = match self.get_record::<Goal>(RecordId(*g)).await {
                    Ok(r) => r.product_id == Some(access.product.id),
                    Err(AppError::NotFound) => false,
                    Err(e) => return Err(e),
                };
                if !ok {
                    return Err(AppError::invalid("goals", format!("{g} is not a goal of this product")));
                }
                if !out.contains(&RecordId(*g)) {
                    out.push(RecordId(*g));
                }
            }
            i.goals = out;
        }
        if let Some(epics) = &input.epics {
            if epics.len() > LINKS_MAX {
                return Err(AppError::invalid("epics", "at most 100 epics"));
            }
            let mut out: Vec<ItemId> = Vec::new();
            for k in epics {
                let item = match self.item(access, k).await {
                    Ok(it) => Some(it),
                    Err(AppError::NotFound | AppError::Invalid(_)) => None,
                    Err(e) => return Err(e),
                };
                match item {
                    Some(it) if it.kind == ItemKind::Epic && it.product_id == access.product.id => {
                        if !out.contains(&it.id) {
                            out.push(it.id);
                        }
                    }
                    _ => {
                        return Err(AppError::invalid("epics", format!("{k} is not an epic of this product")))
                    }
                }
            }
            i.epics = out;
        }
        if let Some(b) = input.budget_planned {
            i.plan.budget_planned = b.map(|v| check_budget("budget_planned", v)).transpose()?;
        }
        if let Some(b) = input.budget_spent {
            i.plan.budget_spent = b.map(|v| check_budget("budget_spent", v)).transpose()?;
        }
        if let Some(c) = input.confidence {
            i.plan.confidence = c.map(|v| check_confidence("confidence", v)).transpose()?;
        }
        if let Some(p) = input.public {
            i.plan.public = p;
        }
        if let Some(t) = &input.public_title {
            i.plan.public_title = text("public_title", t, 0, 200, false)?;
        }
        if let Some(t) = &input.public_description {
            i.plan.public_description = text("public_description", t, 0, 20_000, true)?;
        }
        Ok((i, status))
    }

    /// Creates an initiative: the Product Manager's (EditRoadmap); the Product Owner's becomes a
    /// proposal.
    pub async fn create_initiative(
        &self,
        access: &ProductAccess,
        input: &InitiativeInput,
        reason: Option<&str>,
    ) -> AppResult<InitiativeOutcome> {
        let decision = self.decide(access, Action::EditRoadmap);
        if decision == Decision::Deny {
            return Err(self.forbidden(Action::EditRoadmap));
        }
        if input.title.is_none() {
            return Err(AppError::invalid("title", "is required"));
        }
        let (i, status) =
            self.initiative_apply(access, Initiative::default(), InitiativeStatus::default(), input).await?;
        if decision == Decision::Propose {
            let summary = format!("Add the initiative {}", i.title);
            let change = Change::SetInitiative { initiative_id: None, initiative: Box::new(i), status };
            return self.propose(access, Action::EditRoadmap, change, summary, reason).await;
        }
        self.write_initiative(access, None, &i, status, None, &self.ctx(&access.user))
            .await
            .map(Outcome::Done)
    }

    /// Changes an initiative (the same rights as creating one); a stale `expected_version` is a
    /// 409.
    pub async fn update_initiative(
        &self,
        access: &ProductAccess,
        cur: &Stored<Initiative>,
        input: &InitiativeInput,
        expected_version: Option<i64>,
        reason: Option<&str>,
    ) -> AppResult<InitiativeOutcome> {
        let decision = self.decide(access, Action::EditRoadmap);
        if decision == Decision::Deny {
            return Err(self.forbidden(Action::EditRoadmap));
        }
        if expected_version.is_some_and(|v| v != cur.version) {
            return Err(AppError::StaleVersion { current: cur.version });
        }
        let (i, status) = self.initiative_apply(access, cur.data.clone(), status_of(cur), input).await?;
        if decision == Decision::Propose {
            let summary = format!("Change the initiative {}", cur.data.title);
            let change =
                Change::SetInitiative { initiative_id: Some(cur.id), initiative: Box::new(i), status };
            return self.propose(access, Action::EditRoadmap, change, summary, reason).await;
        }
        self.write_initiative(access, Some(cur.id), &i, status, Some(cur.version), &self.ctx(&access.user))
            .await
            .map(Outcome::Done)
    }

    /// Deletes an initiative: the Product Manager's only.
    pub async fn delete_initiative(&self, access: &ProductAccess, cur: &Stored<Initiative>) -> AppResult<()> {
        self.require(access, Action::EditRoadmap)?;
        let mut ops = vec![WriteOp::DeleteRecord { id: cur.id, expected_version: Some(cur.version) }];
        // Its PRD goes with it.
        ops.extend(self.prd_cleanup(&crate::prd::PrdSubject::Initiative(cur.clone())).await?);
        self.store.write_batch(ops, &self.ctx(&access.user)).await?;
        Ok(())
    }

    async fn write_initiative(
        &self,
        access: &ProductAccess,
        id: Option<RecordId>,
        i: &Initiative,
        status: InitiativeStatus,
        expected_version: Option<i64>,
        ctx: &keel_store::WriteCtx,
    ) -> AppResult<Stored<Initiative>> {
        let op = match id {
            None => {
                WriteOp::CreateRecord(new_record(Some(access.product.id), None, status.as_str(), None, i)?)
            }
            Some(id) => WriteOp::UpdateRecord {
                id,
                expected_version,
                state: Some(status.as_str().to_string()),
                data: to_data(i)?,
                refs: Vec::new(),
            },
        };
        let mut w = self.store.write_batch(vec![op], ctx).await?;
        match w.pop() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::NotFound),
        }
    }

    /// Accepts a proposal to create or change an initiative, as the decider; links that no
    /// longer hold make it stale.
    pub(crate) async fn accept_initiative_proposal(
        &self,
        access: &ProductAccess,
        p: &Proposal,
        id: Option<RecordId>,
        i: &Initiative,
        status: InitiativeStatus,
    ) -> AppResult<crate::proposals::Accepted> {
        let ctx = self.ctx_for_proposal(&access.user, p.id);
        if let Some(id) = id {
            match self.get_record::<Initiative>(id).await {
                Ok(cur) if cur.product_id == Some(access.product.id) => {}
                Ok(_) | Err(AppError::NotFound) => {
                    return Err(self.stale(access, p, "the initiative no longer exists").await)
                }
                Err(e) => return Err(e),
            }
        }
        // The links are checked again: a goal or epic may have gone since.
        let input =
            InitiativeInput { goals: Some(i.goals.iter().map(|g| g.0).collect()), ..Default::default() };
        if let Err(AppError::Invalid(v)) = self.initiative_apply(access, i.clone(), status, &input).await {
            return Err(self.stale(access, p, &v.to_string()).await);
        }
        self.write_initiative(access, id, i, status, None, &ctx).await?;
        Ok(crate::proposals::Accepted { proposal: self.store.proposal(p.id).await?, item: None })
    }

    /// Delivery progress of an initiative: done points of all points of its epics' stories.
    pub async fn initiative_progress(&self, product: ProductId, i: &Initiative) -> AppResult<Progress> {
        let mut stories = Vec::new();
        for epic in &i.epics {
            let filter = ItemFilter { parent: Some(*epic), ..Default::default() };
            let mut page = Page::first(500);
            loop {
                let batch = self.store.list_items(product, &filter, &page).await?;
                let n = batch.len();
                page.after = batch.last().map(|x| x.rank.to_string());
                for it in batch {
                    if it.kind == ItemKind::Story {
                        stories.push((it.estimate.map(|p| p.value()), it.category == Category::Done));
                    }
                }
                if n < 500 {
                    break;
                }
            }
        }
        Ok(Progress::of(&stories))
    }

    /// Timeline warnings of an initiative: its end past a linked goal's due date.
    pub async fn initiative_warnings(&self, i: &Initiative) -> AppResult<Vec<String>> {
        let mut goals = Vec::new();
        for g in &i.goals {
            match self.get_record::<Goal>(*g).await {
                Ok(g) => goals.push((g.data.title, g.data.due)),
                Err(AppError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(timeline_warnings(i.end, &goals))
    }

    /// An initiative with its progress, warnings and epic keys.
    pub async fn initiative_view(
        &self,
        product: ProductId,
        stored: Stored<Initiative>,
    ) -> AppResult<InitiativeView> {
        let progress = self.initiative_progress(product, &stored.data).await?;
        let warnings = self.initiative_warnings(&stored.data).await?;
        let mut epic_keys = Vec::new();
        for e in &stored.data.epics {
            if let Ok(it) = self.store.item(*e).await {
                epic_keys.push(it.key);
            }
        }
        Ok(InitiativeView { status: status_of(&stored), stored, epic_keys, progress, warnings })
    }

    /// The roadmap: every initiative with its progress, by lane, and the quarters spanned.
    pub async fn roadmap(&self, access: &ProductAccess) -> AppResult<Roadmap> {
        self.roadmap_of(access.product.id).await
    }

    /// The roadmap of a product by id (no access check: callers check).
    async fn roadmap_of(&self, product: ProductId) -> AppResult<Roadmap> {
        let mut list = Vec::new();
        let filter = RecordFilter::of(ObjectKind::Initiative).product(product);
        for s in self.list_records::<Initiative>(filter).await? {
            list.push(self.initiative_view(product, s).await?);
        }
        list.sort_by_key(|v| {
            (Lane::ALL.iter().position(|l| *l == v.stored.data.lane), v.stored.data.start, v.stored.id)
        });
        let today = Date::of(crate::now());
        let dates: Vec<Date> =
            list.iter().flat_map(|v| [v.stored.data.start, v.stored.data.end]).flatten().collect();
        let from = dates.iter().min().copied().unwrap_or(today).min(today);
        let to = dates.iter().max().copied().unwrap_or(today).max(Quarter::of(today).next().next().start());
        Ok(Roadmap { initiatives: list, quarters: Quarter::span(from, to) })
    }
}

/// A product's published roadmap link: a setting record whose unique key holds the token.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RoadmapPublication {
    /// The unguessable token of the link.
    pub token: String,
}

impl crate::records::RecordKind for RoadmapPublication {
    const KIND: ObjectKind = ObjectKind::Setting;
}

const PUBLICATION_PREFIX: &str = "roadmap-link:";

/// A published roadmap as read through its link.
#[derive(Debug, Clone)]
pub struct PublishedRoadmap {
    /// The product.
    pub product: keel_domain::product::Product,
    /// Its public initiatives (not dropped), by lane then start.
    pub roadmap: Roadmap,
}

impl App {
    /// The product's current published link token, if any.
    pub async fn publication(&self, access: &ProductAccess) -> AppResult<Option<Stored<RoadmapPublication>>> {
        // A product's setting records are of several shapes (the widget's too): find the
        // publication by its key first and decode only that one.
        let filter = RecordFilter::of(ObjectKind::Setting).product(access.product.id);
        let mut page = Page::first(500);
        loop {
            let batch = self.store.records(&filter, &page).await?;
            let n = batch.len();
            page.after = batch.last().map(|r| r.id.0.to_string());
            if let Some(r) = batch
                .into_iter()
                .find(|r| r.unique_key.as_deref().is_some_and(|k| k.starts_with(PUBLICATION_PREFIX)))
            {
                return Ok(Some(Stored::from_record(r)?));
            }
            if n < 500 {
                return Ok(None);
            }
        }
    }

    /// Publishes the roadmap at a new unguessable link, revoking the old one (the Product
    /// Manager's, EditRoadmap with no proposing).
    pub async fn publish_roadmap(&self, access: &ProductAccess) -> AppResult<String> {
        self.require(access, Action::EditRoadmap)?;
        let token = crate::auth::random_secret();
        let mut ops = Vec::new();
        if let Some(old) = self.publication(access).await? {
            ops.push(WriteOp::DeleteRecord { id: old.id, expected_version: Some(old.version) });
        }
        let data = RoadmapPublication { token: token.clone() };
        let key = format!("{PUBLICATION_PREFIX}{token}");
        ops.push(WriteOp::CreateRecord(new_record(Some(access.product.id), None, "", Some(key), &data)?));
        self.store.write_batch(ops, &self.ctx(&access.user)).await?;
        Ok(token)
    }

    /// Revokes the published link (the Product Manager's); nothing published is a 404.
    pub async fn unpublish_roadmap(&self, access: &ProductAccess) -> AppResult<()> {
        self.require(access, Action::EditRoadmap)?;
        let old = self.publication(access).await?.ok_or(AppError::NotFound)?;
        let op = WriteOp::DeleteRecord { id: old.id, expected_version: Some(old.version) };
        self.store.write_batch(vec![op], &self.ctx(&access.user)).await?;
        Ok(())
    }

    /// The roadmap trimmed to what the public may see: initiatives marked public and not
    /// dropped.
    pub fn public_roadmap(r: Roadmap) -> Roadmap {
        let initiatives = r
            .initiatives
            .into_iter()
            .filter(|v| v.stored.data.plan.public && v.status != InitiativeStatus::Dropped)
            .collect();
        Roadmap { initiatives, quarters: r.quarters }
    }

    /// The roadmap published at `token`, with no sign-in; an unknown token is a 404.
    pub async fn published_roadmap(&self, token: &str) -> AppResult<PublishedRoadmap> {
        if token.is_empty() || token.len() > 100 {
            return Err(AppError::NotFound);
        }
        let rec =
            self.store.record_by_key(ObjectKind::Setting, &format!("{PUBLICATION_PREFIX}{token}")).await?;
        let product = self.store.product(rec.product_id.ok_or(AppError::NotFound)?).await?;
        let roadmap = Self::public_roadmap(self.roadmap_of(product.id).await?);
        Ok(PublishedRoadmap { product, roadmap })
    }
}
