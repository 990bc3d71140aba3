//! Competitors, stakeholders and their updates, go-to-market, PRDs, the portfolio.
//!
//! The competitor matrix is one record per product (kind `competitor_matrix`, unique key
//! `competitors:{product}`); every change rewrites it under its version, so two concurrent edits
//! cannot both land (the second is a 409). Writes need the right to edit the roadmap: the Product
//! Manager decides; everyone else (the Product Owner included) gets a 403.

use crate::records::{new_record, to_data, RecordKind, Stored};
use crate::{App, AppError, AppResult, ProductAccess};
use keel_domain::error::text;
use keel_domain::event::ObjectKind;
use keel_domain::market::{
    goal_progress, kr_progress, score, site_url, Capability, Cell, Competitor, Contact, Mark, Matrix,
    Stakeholder, StakeholderRole, StakeholderUpdate,
};
use keel_domain::pm::{Goal, Initiative};
use keel_domain::rights::Action;
use keel_domain::sprint::Release;
use keel_domain::{ProductId, RecordId, ValidationError};
use keel_store::{StoreError, WriteOp, Written};

impl RecordKind for Matrix {
    const KIND: ObjectKind = ObjectKind::CompetitorMatrix;
}

/// The right that guards every change to the market data.
pub const MARKET_RIGHT: Action = Action::EditRoadmap;

/// A competitor's fields as given.
#[derive(Debug, Clone, Default)]
pub struct CompetitorInput {
    /// Its name.
    pub name: Option<String>,
    /// Its web site.
    pub site: Option<String>,
    /// Pricing notes.
    pub pricing: Option<String>,
    /// Positioning.
    pub positioning: Option<String>,
}

/// A capability's fields as given.
#[derive(Debug, Clone, Default)]
pub struct CapabilityInput {
    /// Its name.
    pub name: Option<String>,
    /// Linked opportunity record ids.
    pub opportunities: Option<Vec<i64>>,
}

/// One change to a matrix.
#[derive(Debug, Clone)]
pub enum MatrixChange {
    /// Adds a competitor.
    AddCompetitor(CompetitorInput),
    /// Changes a competitor.
    EditCompetitor(i64, CompetitorInput),
    /// Removes a competitor and its cells.
    RemoveCompetitor(i64),
    /// Adds a capability.
    AddCapability(CapabilityInput),
    /// Changes a capability.
    EditCapability(i64, CapabilityInput),
    /// Removes a capability and its cells.
    RemoveCapability(i64),
    /// Sets a cell: competitor (or [`OURS`]), capability, mark (wire name), notes.
    SetCell(i64, i64, String, String),
}

fn matrix_key(product: ProductId) -> String {
    format!("competitors:{}", product.0)
}

fn apply_competitor(c: &mut Competitor, i: &CompetitorInput) -> Result<(), ValidationError> {
    if let Some(n) = &i.name {
        c.name = text("name", n, 1, 120, false)?;
    }
    if let Some(s) = &i.site {
        c.site = site_url("site", s)?;
    }
    if let Some(p) = &i.pricing {
        c.pricing = text("pricing", p, 0, 2000, true)?;
    }
    if let Some(p) = &i.positioning {
        c.positioning = text("positioning", p, 0, 2000, true)?;
    }
    Ok(())
}

impl App {
    /// A product's competitor matrix and its version (0 before the first change).
    pub async fn competitor_matrix(&self, access: &ProductAccess) -> AppResult<(Matrix, i64)> {
        match self.store.record_by_key(ObjectKind::CompetitorMatrix, &matrix_key(access.product.id)).await {
            Ok(r) => {
                let s = Stored::<Matrix>::from_record(r)?;
                Ok((s.data, s.version))
            }
            Err(StoreError::NotFound) => Ok((Matrix::default(), 0)),
            Err(e) => Err(e.into()),
        }
    }

    async fn capability_opportunities(
        &self,
        access: &ProductAccess,
        ids: &[i64],
    ) -> AppResult<Vec<RecordId>> {
        let mut out = Vec::new();
        for (n, id) in ids.iter().enumerate() {
            let ok = match self.store.record(RecordId(*id)).await {
                Ok(r) => r.kind == ObjectKind::Opportunity && r.product_id == Some(access.product.id),
                Err(StoreError::NotFound) => false,
                Err(e) => return Err(e.into()),
            };
            if !ok {
                return Err(ValidationError::new(
                    format!("opportunities[{n}]"),
                    format!("{id} is no opportunity of this product"),
                )
                .into());
            }
            if !out.contains(&RecordId(*id)) {
                out.push(RecordId(*id));
            }
        }
        Ok(out)
    }

    /// Applies `change` to the product's matrix under `expected_version` (when given; 409 when
    /// stale) and returns the matrix and its new version. Only those who decide the roadmap may.
    pub async fn change_matrix(
        &self,
        access: &ProductAccess,
        change: MatrixChange,
        expected_version: Option<i64>,
    ) -> AppResult<(Matrix, i64)> {
        self.require(access, MARKET_RIGHT)?;
        let pid = access.product.id;
        let stored = match self.store.record_by_key(ObjectKind::CompetitorMatrix, &matrix_key(pid)).await {
            Ok(r) => Some(Stored::<Matrix>::from_record(r)?),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let current = stored.as_ref().map_or(0, |s| s.version);
        if expected_version.is_some_and(|v| v != current) {
            return Err(AppError::StaleVersion { current });
        }
        let mut m = stored.as_ref().map(|s| s.data.clone()).unwrap_or_default();
        match change {
            MatrixChange::AddCompetitor(i) => {
                if i.name.is_none() {
                    return Err(ValidationError::new("name", "is required").into());
                }
                let mut c = Competitor::default();
                apply_competitor(&mut c, &i)?;
                if m.competitors.len() >= 50 {
                    return Err(ValidationError::new("name", "a matrix holds at most 50 competitors").into());
                }
                c.id = m.next_id();
                m.competitors.push(c);
            }
            MatrixChange::EditCompetitor(id, i) => {
                let c = m.competitors.iter_mut().find(|c| c.id == id).ok_or(AppError::NotFound)?;
                apply_competitor(c, &i)?;
            }
            MatrixChange::RemoveCompetitor(id) => {
                if !m.remove_competitor(id) {
                    return Err(AppError::NotFound);
                }
            }
            MatrixChange::AddCapability(i) => {
                let name = text("name", i.name.as_deref().unwrap_or(""), 1, 120, false)?;
                let opportunities =
                    self.capability_opportunities(access, i.opportunities.as_deref().unwrap_or(&[])).await?;
                if m.capabilities.len() >= 200 {
                    return Err(
                        ValidationError::new("name", "a matrix holds at most 200 capabilities").into()
                    );
                }
                let id = m.next_id();
                m.capabilities.push(Capability { id, name, opportunities });
            }
            MatrixChange::EditCapability(id, i) => {
                let opportunities = match &i.opportunities {
                    Some(o) => Some(self.capability_opportunities(access, o).await?),
                    None => None,
                };
                let c = m.capabilities.iter_mut().find(|c| c.id == id).ok_or(AppError::NotFound)?;
                if let Some(n) = &i.name {
                    c.name = text("name", n, 1, 120, false)?;
                }
                if let Some(o) = opportunities {
                    c.opportunities = o;
                }
            }
            MatrixChange::RemoveCapability(id) => {
                if !m.remove_capability(id) {
                    return Err(AppError::NotFound);
                }
            }
            MatrixChange::SetCell(competitor, capability, mark, notes) => {
                if !m.has_competitor(competitor) || !m.capabilities.iter().any(|c| c.id == capability) {
                    return Err(AppError::NotFound);
                }
                let mark = Mark::parse("mark", &mark)?;
                let notes = text("notes", &notes, 0, 1000, true)?;
                m.set_cell(Cell { competitor, capability, mark, notes });
            }
        }
        let op = match &stored {
            Some(s) => WriteOp::UpdateRecord {
                id: s.id,
                expected_version: Some(s.version),
                state: None,
                data: to_data(&m)?,
                refs: vec![],
            },
            None => WriteOp::CreateRecord(new_record(Some(pid), None, "", Some(matrix_key(pid)), &m)?),
        };
        match self.store.write_batch(vec![op], &self.ctx(&access.user)).await?.pop() {
            Some(Written::Record(r)) => {
                let s = Stored::<Matrix>::from_record(r)?;
                Ok((s.data, s.version))
            }
            _ => Err(AppError::Conflict("the matrix was not saved".into())),
        }
    }
}

impl RecordKind for keel_domain::market::Stakeholder {
    const KIND: ObjectKind = ObjectKind::Stakeholder;
}

/// A stakeholder's fields as given (absent ones stay; all but the initiatives are needed to create).
#[derive(Debug, Clone, Default)]
pub struct StakeholderInput {
    /// The person.
    pub person: Option<String>,
    /// Their organisation.
    pub organisation: Option<String>,
    /// Their role (wire name).
    pub role: Option<String>,
    /// Power, 1–5.
    pub power: Option<i64>,
    /// Interest, 1–5.
    pub interest: Option<i64>,
    /// Initiative record ids of the product.
    pub initiatives: Option<Vec<i64>>,
}

/// A contact log entry as given.
#[derive(Debug, Clone, Default)]
pub struct ContactInput {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Call, e-mail, meeting…
    pub channel: String,
    /// Notes.
    pub notes: String,
}

impl App {
    /// The stakeholders of a product, by person.
    pub async fn stakeholders(&self, access: &ProductAccess) -> AppResult<Vec<Stored<Stakeholder>>> {
        let f = keel_store::RecordFilter::of(ObjectKind::Stakeholder).product(access.product.id);
        let mut v = self.list_records::<Stakeholder>(f).await?;
        v.sort_by(|a, b| {
            a.data.person.to_lowercase().cmp(&b.data.person.to_lowercase()).then(a.id.0.cmp(&b.id.0))
        });
        Ok(v)
    }

    /// A stakeholder and the caller's access to its product (404 for non-members).
    pub async fn stakeholder(
        &self,
        user: &keel_domain::user::User,
        id: RecordId,
    ) -> AppResult<(Stored<Stakeholder>, ProductAccess)> {
        let s = self.get_record::<Stakeholder>(id).await?;
        let a = self.access_by_id(user, s.product_id.ok_or(AppError::NotFound)?).await?;
        Ok((s, a))
    }

    async fn check_initiatives(&self, access: &ProductAccess, ids: &[i64]) -> AppResult<Vec<RecordId>> {
        let mut out = Vec::new();
        for (n, id) in ids.iter().enumerate() {
            let ok = match self.store.record(RecordId(*id)).await {
                Ok(r) => r.kind == ObjectKind::Initiative && r.product_id == Some(access.product.id),
                Err(StoreError::NotFound) => false,
                Err(e) => return Err(e.into()),
            };
            if !ok {
                return Err(ValidationError::new(
                    format!("initiatives[{n}]"),
                    format!("{id} is no initiative of this product"),
                )
                .into());
            }
            if !out.contains(&RecordId(*id)) {
                out.push(RecordId(*id));
            }
        }
        Ok(out)
    }

    async fn apply_stakeholder(
        &self,
        access: &ProductAccess,
        s: &mut Stakeholder,
        i: &StakeholderInput,
    ) -> AppResult<()> {
        if let Some(p) = &i.person {
            s.person = text("person", p, 1, 120, false)?;
        }
        if let Some(o) = &i.organisation {
            s.organisation = text("organisation", o, 0, 120, false)?;
        }
        if let Some(r) = &i.role {
            s.role = StakeholderRole::parse("role", r)?;
        }
        if let Some(p) = i.power {
            s.power = score("power", p)?;
        }
        if let Some(v) = i.interest {
            s.interest = score("interest", v)?;
        }
        if let Some(ids) = &i.initiatives {
            s.initiatives = self.check_initiatives(access, ids).await?;
        }
        Ok(())
    }

    async fn write_stakeholder(&self, access: &ProductAccess, op: WriteOp) -> AppResult<Stored<Stakeholder>> {
        match self.store.write_batch(vec![op], &self.ctx(&access.user)).await?.pop() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::Conflict("the stakeholder was not saved".into())),
        }
    }

    /// Adds a stakeholder. The Product Manager decides; others get a 403.
    pub async fn create_stakeholder(
        &self,
        access: &ProductAccess,
        input: &StakeholderInput,
    ) -> AppResult<Stored<Stakeholder>> {
        self.require(access, MARKET_RIGHT)?;
        for (field, missing) in [
            ("person", input.person.is_none()),
            ("power", input.power.is_none()),
            ("interest", input.interest.is_none()),
        ] {
            if missing {
                return Err(ValidationError::new(field, "is required").into());
            }
        }
        let mut s = Stakeholder::default();
        self.apply_stakeholder(access, &mut s, input).await?;
        let op = WriteOp::CreateRecord(new_record(Some(access.product.id), None, "", None, &s)?);
        self.write_stakeholder(access, op).await
    }

    /// Changes a stakeholder under `expected_version` (when given; 409 when stale).
    pub async fn update_stakeholder(
        &self,
        user: &keel_domain::user::User,
        id: RecordId,
        input: &StakeholderInput,
        expected_version: Option<i64>,
    ) -> AppResult<Stored<Stakeholder>> {
        let (s, a) = self.stakeholder(user, id).await?;
        self.require(&a, MARKET_RIGHT)?;
        let mut data = s.data.clone();
        self.apply_stakeholder(&a, &mut data, input).await?;
        let op = WriteOp::UpdateRecord {
            id,
            expected_version: Some(expected_version.unwrap_or(s.version)),
            state: None,
            data: to_data(&data)?,
            refs: vec![],
        };
        self.write_stakeholder(&a, op).await
    }

    /// Deletes a stakeholder and its contact log.
    pub async fn delete_stakeholder(&self, user: &keel_domain::user::User, id: RecordId) -> AppResult<()> {
        let (s, a) = self.stakeholder(user, id).await?;
        self.require(&a, MARKET_RIGHT)?;
        self.store
            .write_batch(
                vec![WriteOp::DeleteRecord { id, expected_version: Some(s.version) }],
                &self.ctx(user),
            )
            .await?;
        Ok(())
    }

    /// Adds an entry to a stakeholder's contact log.
    pub async fn add_contact(
        &self,
        user: &keel_domain::user::User,
        id: RecordId,
        input: &ContactInput,
    ) -> AppResult<Stored<Stakeholder>> {
        let (s, a) = self.stakeholder(user, id).await?;
        self.require(&a, MARKET_RIGHT)?;
        let date = keel_domain::Date::parse("date", &input.date)?;
        let channel = text("channel", &input.channel, 1, 40, false)?;
        let notes = text("notes", &input.notes, 0, 4000, true)?;
        let mut data = s.data.clone();
        if data.contacts.len() >= 1000 {
            return Err(ValidationError::new("notes", "the contact log holds at most 1000 entries").into());
        }
        let next = data.contacts.iter().map(|c| c.id).max().unwrap_or(0) + 1;
        data.contacts.push(Contact { id: next, date, channel, notes });
        let op = WriteOp::UpdateRecord {
            id,
            expected_version: Some(s.version),
            state: None,
            data: to_data(&data)?,
            refs: vec![],
        };
        self.write_stakeholder(&a, op).await
    }
}

impl RecordKind for StakeholderUpdate {
    const KIND: ObjectKind = ObjectKind::StakeholderUpdate;
}

fn pct(p: Option<f64>) -> String {
    p.map_or_else(|| "no measurement yet".to_string(), |p| format!("{:.0} %", p * 100.0))
}

impl App {
    /// The stakeholder updates of a product, newest first; drafts only for those who may edit.
    pub async fn stakeholder_updates(
        &self,
        access: &ProductAccess,
    ) -> AppResult<Vec<Stored<StakeholderUpdate>>> {
        let f = keel_store::RecordFilter::of(ObjectKind::StakeholderUpdate).product(access.product.id);
        let editor = self.decide(access, MARKET_RIGHT) == keel_domain::rights::Decision::Allow;
        let mut v: Vec<_> = self
            .list_records::<StakeholderUpdate>(f)
            .await?
            .into_iter()
            .filter(|u| editor || u.state == "published")
            .collect();
        v.sort_by(|a, b| b.data.published_at.cmp(&a.data.published_at).then(b.id.0.cmp(&a.id.0)));
        Ok(v)
    }

    /// A stakeholder update and the caller's access (404 for non-members, and for drafts when
    /// the caller may not edit).
    pub async fn stakeholder_update(
        &self,
        user: &keel_domain::user::User,
        id: RecordId,
    ) -> AppResult<(Stored<StakeholderUpdate>, ProductAccess)> {
        let u = self.get_record::<StakeholderUpdate>(id).await?;
        let a = self.access_by_id(user, u.product_id.ok_or(AppError::NotFound)?).await?;
        if u.state != "published" && self.decide(&a, MARKET_RIGHT) != keel_domain::rights::Decision::Allow {
            return Err(AppError::NotFound);
        }
        Ok((u, a))
    }

    /// Composes a draft update from the data: goal progress, initiatives changed and releases
    /// shipped since the last published update, and blocked items as risks.
    pub async fn compose_stakeholder_update(
        &self,
        access: &ProductAccess,
    ) -> AppResult<Stored<StakeholderUpdate>> {
        self.require(access, MARKET_RIGHT)?;
        let pid = access.product.id;
        let since = self
            .stakeholder_updates(access)
            .await?
            .iter()
            .filter_map(|u| u.data.published_at)
            .max()
            .unwrap_or(keel_domain::Timestamp(0));
        let today = keel_domain::Date::of(crate::now());
        let mut md = String::new();
        let period = if since.0 == 0 {
            "so far".to_string()
        } else {
            format!("since {}", keel_domain::Date::of(since))
        };
        md.push_str(&format!("Where {} stands {period}.\n\n## Goals\n\n", access.product.name));
        let goals =
            self.list_records::<Goal>(keel_store::RecordFilter::of(ObjectKind::Goal).product(pid)).await?;
        if goals.is_empty() {
            md.push_str("No goals set.\n");
        }
        for g in &goals {
            let mut krs = Vec::new();
            let mut lines = String::new();
            for kr in &g.data.key_results {
                let p = match kr.kpi_id {
                    Some(k) => match self.store.record(k).await {
                        Ok(r) => {
                            let num = |f: &str| r.data.get(f).and_then(serde_json::Value::as_f64);
                            let latest = r
                                .data
                                .get("measurements")
                                .and_then(|m| m.as_array())
                                .and_then(|m| m.last())
                                .and_then(|m| m.get("value"))
                                .and_then(serde_json::Value::as_f64);
                            match (num("baseline"), num("target"), latest) {
                                (Some(b), Some(t), Some(l)) => kr_progress(b, t, l),
                                _ => None,
                            }
                        }
                        Err(StoreError::NotFound) => None,
                        Err(e) => return Err(e.into()),
                    },
                    None => None,
                };
                krs.push(p);
                lines.push_str(&format!("  - {}: {}\n", kr.title, pct(p)));
            }
            let due = g.data.due.map(|d| format!(", due {d}")).unwrap_or_default();
            md.push_str(&format!("- **{}**: {}{due}\n{lines}", g.data.title, pct(goal_progress(&krs))));
        }
        md.push_str("\n## Roadmap changes\n\n");
        let fields = ["created", "state", "lane", "start", "end", "title", "deleted"];
        let events =
            self.store.product_events_of(pid, &[ObjectKind::Initiative], &fields, since, 1000).await?;
        let mut changed: Vec<(i64, Vec<String>)> = Vec::new();
        for e in events.iter().filter(|e| e.at.0 > since.0) {
            let f = e.field.clone();
            match changed.iter_mut().find(|(id, _)| *id == e.object_id) {
                Some((_, fs)) if !fs.contains(&f) => fs.push(f),
                Some(_) => {}
                None => changed.push((e.object_id, vec![f])),
            }
        }
        if changed.is_empty() {
            md.push_str("No initiative changed.\n");
        }
        for (id, fs) in &changed {
            let (title, status) = match self.get_record::<Initiative>(RecordId(*id)).await {
                Ok(i) => (i.data.title, format!("{}, {}", i.state.replace('_', " "), i.data.lane.as_str())),
                Err(_) => (format!("Initiative #{id}"), "removed".to_string()),
            };
            md.push_str(&format!("- **{title}** ({status}): {} changed\n", fs.join(", ")));
        }
        md.push_str("\n## Releases shipped\n\n");
        let shipped: Vec<_> = self
            .list_records::<Release>(keel_store::RecordFilter::of(ObjectKind::Release).product(pid))
            .await?
            .into_iter()
            .filter(|r| r.data.released_at.is_some_and(|t| t.0 > since.0))
            .collect();
        if shipped.is_empty() {
            md.push_str("None.\n");
        }
        for r in &shipped {
            let on = r.data.released_at.map(keel_domain::Date::of).map(|d| d.to_string()).unwrap_or_default();
            md.push_str(&format!("- **{}**, released {on}\n", r.data.name));
        }
        md.push_str("\n## Risks\n\n");
        let open = keel_store::ItemFilter { open_only: true, ..Default::default() };
        let items = self.store.list_items(pid, &open, &keel_store::Page::first(500)).await?;
        let ids: Vec<keel_domain::ItemId> = items.iter().map(|i| i.id).collect();
        let blocked = self.blockers(&ids).await?.len();
        md.push_str(&match blocked {
            0 => "No open item is blocked.\n".to_string(),
            1 => "1 open item is blocked by another open item.\n".to_string(),
            n => format!("{n} open items are blocked by other open items.\n"),
        });
        let u = StakeholderUpdate {
            title: format!("{} update, {today}", access.product.name),
            body: md,
            since: (since.0 > 0).then_some(since),
            published_at: None,
        };
        let op = WriteOp::CreateRecord(new_record(Some(pid), None, "draft", None, &u)?);
        match self.store.write_batch(vec![op], &self.ctx(&access.user)).await?.pop() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::Conflict("the update was not saved".into())),
        }
    }

    /// Edits a draft update (`publish` also publishes it); a published one is a 409.
    pub async fn edit_stakeholder_update(
        &self,
        user: &keel_domain::user::User,
        id: RecordId,
        title: Option<&str>,
        body: Option<&str>,
        publish: bool,
        expected_version: Option<i64>,
    ) -> AppResult<Stored<StakeholderUpdate>> {
        let (u, a) = self.stakeholder_update(user, id).await?;
        self.require(&a, MARKET_RIGHT)?;
        if u.state == "published" {
            return Err(AppError::Conflict("a published update is kept as it was".into()));
        }
        let mut data = u.data.clone();
        if let Some(t) = title {
            data.title = text("title", t, 1, 200, false)?;
        }
        if let Some(b) = body {
            data.body = text("body", b, 1, 50_000, true)?;
        }
        let state = if publish {
            data.published_at = Some(crate::now());
            Some("published".to_string())
        } else {
            None
        };
        let op = WriteOp::UpdateRecord {
            id,
            expected_version: Some(expected_version.unwrap_or(u.version)),
            state,
            data: to_data(&data)?,
            refs: vec![],
        };
        match self.store.write_batch(vec![op], &self.ctx(user)).await?.pop() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::Conflict("the update was not saved".into())),
        }
    }
}
