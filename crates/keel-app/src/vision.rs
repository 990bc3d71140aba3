//! Vision board, goals, key results and KPIs.

use crate::records::{new_record, RecordKind};
use crate::{App, AppError, AppResult, Outcome, ProductAccess};
use keel_domain::event::ObjectKind;
use keel_domain::proposal::Change;
use keel_domain::rights::{Action, Decision};
use keel_domain::vision::{Vision, VisionFields, VisionVersion};
use keel_domain::ProductId;
use keel_store::{RecordFilter, StoreError, WriteCtx, WriteOp};

/// Each saved version of a vision board is a record of its own (kept, never changed), so a save
/// records one event with that version rather than the whole history.
impl RecordKind for VisionVersion {
    const KIND: ObjectKind = ObjectKind::Vision;
}

/// The unique key of version `n` of a product's vision: two saves from the same version clash
/// on it, and the second gets a 409.
pub fn vision_key(product: ProductId, n: i64) -> String {
    format!("vision:{}:{n}", product.0)
}

impl App {
    /// A product's vision board with all its versions, oldest first (empty when never saved).
    pub async fn vision(&self, access: &ProductAccess) -> AppResult<Vision> {
        let filter = RecordFilter::of(ObjectKind::Vision).product(access.product.id);
        let mut versions: Vec<VisionVersion> =
            self.list_records::<VisionVersion>(filter).await?.into_iter().map(|s| s.data).collect();
        versions.sort_by_key(|v| v.number);
        Ok(Vision { versions })
    }

    /// Saves a new version of the vision board (the Product Manager's, Action::EditVision; the
    /// Product Owner's save becomes a proposal). `expected_version` is the version number read
    /// (0 when never saved); a stale one is a 409.
    pub async fn save_vision(
        &self,
        access: &ProductAccess,
        fields: VisionFields,
        expected_version: Option<i64>,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Vision>> {
        let decision = self.decide(access, Action::EditVision);
        if decision == Decision::Deny {
            return Err(self.forbidden(Action::EditVision));
        }
        let fields = fields.parse()?;
        let vision = self.vision(access).await?;
        if expected_version.is_some_and(|v| v != vision.number()) {
            return Err(AppError::StaleVersion { current: vision.number() });
        }
        if decision == Decision::Propose {
            let summary = "Change the vision".to_string();
            return self
                .propose(access, Action::EditVision, Change::SetVision { fields }, summary, reason)
                .await;
        }
        let v = self.write_vision(access, fields, expected_version, &self.ctx(&access.user)).await?;
        Ok(Outcome::Done(v))
    }

    /// Writes a new version as `ctx`'s actor; with `expected` (a version number) the write fails
    /// with 409 when someone saved in between.
    async fn write_vision(
        &self,
        access: &ProductAccess,
        fields: VisionFields,
        expected: Option<i64>,
        ctx: &WriteCtx,
    ) -> AppResult<Vision> {
        let pid = access.product.id;
        let mut vision = self.vision(access).await?;
        if expected.is_some_and(|v| v != vision.number()) {
            return Err(AppError::StaleVersion { current: vision.number() });
        }
        let n = vision.save(fields, ctx.actor, ctx.at);
        let Some(version) = vision.current() else {
            return Err(AppError::Conflict("the vision was not saved".into()));
        };
        let op = WriteOp::CreateRecord(new_record(Some(pid), None, "", Some(vision_key(pid, n)), version)?);
        match self.store.write_batch(vec![op], ctx).await {
            Ok(_) => Ok(vision),
            Err(StoreError::StaleVersion { .. }) | Err(StoreError::Conflict(_)) => {
                let now = self.vision(access).await?;
                Err(AppError::StaleVersion { current: now.number() })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Accepts a proposal to change the vision, as the decider.
    pub(crate) async fn accept_vision_proposal(
        &self,
        access: &ProductAccess,
        p: &keel_domain::proposal::Proposal,
        fields: VisionFields,
    ) -> AppResult<crate::proposals::Accepted> {
        let ctx = self.ctx_for_proposal(&access.user, p.id);
        self.write_vision(access, fields, None, &ctx).await?;
        Ok(crate::proposals::Accepted { proposal: self.store.proposal(p.id).await?, item: None })
    }
}

use crate::records::{to_data, Stored};
use keel_domain::kpi::{parse_csv, Kpi, Measurement, Unit};
use keel_domain::user::User;
use keel_domain::RecordId;
use keel_store::Written;

impl RecordKind for Kpi {
    const KIND: ObjectKind = ObjectKind::Kpi;
}

impl App {
    /// The KPIs of a product, by id.
    pub async fn kpis(&self, access: &ProductAccess) -> AppResult<Vec<Stored<Kpi>>> {
        self.list_records::<Kpi>(RecordFilter::of(ObjectKind::Kpi).product(access.product.id)).await
    }

    /// A KPI and the caller's access to its product (404 for non-members).
    pub async fn kpi_access(&self, user: &User, id: RecordId) -> AppResult<(Stored<Kpi>, ProductAccess)> {
        let k = self.get_record::<Kpi>(id).await?;
        let access = self.access_by_id(user, k.product_id.ok_or(AppError::NotFound)?).await?;
        Ok((k, access))
    }

    /// Defining KPIs and their targets is the Product Manager's (Action::EditVision). The
    /// Product Owner, who may only propose vision changes, gets a 403 here: KPI definitions are
    /// not proposable yet.
    fn require_vision_decider(&self, access: &ProductAccess) -> AppResult<()> {
        if self.decide(access, Action::EditVision) == Decision::Allow {
            Ok(())
        } else {
            Err(self.forbidden(Action::EditVision))
        }
    }

    /// Creates a KPI (checked: name, values in the unit, target ≠ baseline, in the good direction).
    pub async fn create_kpi(&self, access: &ProductAccess, kpi: Kpi) -> AppResult<Stored<Kpi>> {
        self.require_vision_decider(access)?;
        let kpi = kpi.validate()?;
        let op = WriteOp::CreateRecord(new_record(Some(access.product.id), None, "", None, &kpi)?);
        self.write_kpi(op, access).await
    }

    /// Deletes a KPI.
    pub async fn delete_kpi(&self, access: &ProductAccess, k: &Stored<Kpi>) -> AppResult<()> {
        self.require_vision_decider(access)?;
        self.store
            .write_batch(
                vec![WriteOp::DeleteRecord { id: k.id, expected_version: None }],
                &self.ctx(&access.user),
            )
            .await?;
        Ok(())
    }

    /// Records measurements (the Product Manager and the Product Owner, or automation with
    /// their API token). All or nothing.
    pub async fn add_measurements(
        &self,
        access: &ProductAccess,
        id: RecordId,
        ms: Vec<Measurement>,
    ) -> AppResult<Stored<Kpi>> {
        if self.decide(access, Action::EditVision) == Decision::Deny {
            return Err(self.forbidden(Action::EditVision));
        }
        if ms.is_empty() {
            return Err(AppError::invalid("measurements", "give at least one measurement"));
        }
        // A concurrent writer (another automation run) makes the write stale: read again.
        for _ in 0..3 {
            let k = self.get_record::<Kpi>(id).await?;
            let mut data = k.data.clone();
            data.add(ms.clone())?;
            let op = WriteOp::UpdateRecord {
                id: k.id,
                expected_version: Some(k.version),
                state: None,
                data: to_data(&data)?,
                refs: vec![],
            };
            match self.write_kpi(op, access).await {
                Err(AppError::StaleVersion { .. }) => continue,
                r => return r,
            }
        }
        Err(AppError::Conflict("the KPI kept changing; try again".into()))
    }

    /// Imports measurements from CSV `date,value[,note]`: every row is checked first; with any
    /// bad row nothing is written and the 422 names each row.
    pub async fn import_measurements(
        &self,
        access: &ProductAccess,
        k: &Stored<Kpi>,
        csv: &str,
    ) -> AppResult<Stored<Kpi>> {
        let unit: Unit = k.data.unit;
        match parse_csv(csv, unit) {
            Ok(ms) if ms.is_empty() => Err(AppError::invalid("csv", "has no rows")),
            Ok(ms) => self.add_measurements(access, k.id, ms).await,
            Err(rows) => {
                let list: Vec<String> = rows.iter().take(20).map(|(r, m)| format!("row {r}: {m}")).collect();
                Err(AppError::invalid("csv", list.join("; ")))
            }
        }
    }

    async fn write_kpi(&self, op: WriteOp, access: &ProductAccess) -> AppResult<Stored<Kpi>> {
        match self.store.write_batch(vec![op], &self.ctx(&access.user)).await?.pop() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::Conflict("the KPI was not saved".into())),
        }
    }
}

use keel_domain::kpi::mean_progress;
use keel_domain::pm::{Goal, KeyResult};
use std::collections::HashMap;

/// A goal with the progress of each key result (from its KPI) and its own (their mean).
#[derive(Debug, Clone)]
pub struct GoalProgress {
    /// The goal.
    pub goal: Stored<Goal>,
    /// Per key result, in order: its progress (`None` without a KPI or measurements).
    pub key_results: Vec<Option<f64>>,
    /// The mean of the known key-result progress.
    pub progress: Option<f64>,
}

impl App {
    /// A product's goals with their progress, by id.
    pub async fn goals(&self, access: &ProductAccess) -> AppResult<Vec<GoalProgress>> {
        let kpis: HashMap<RecordId, Kpi> =
            self.kpis(access).await?.into_iter().map(|k| (k.id, k.data)).collect();
        let goals =
            self.list_records::<Goal>(RecordFilter::of(ObjectKind::Goal).product(access.product.id)).await?;
        Ok(goals.into_iter().map(|g| goal_progress(g, &kpis)).collect())
    }

    /// A goal with its progress, and the caller's access to its product.
    pub async fn goal_access(&self, user: &User, id: RecordId) -> AppResult<(GoalProgress, ProductAccess)> {
        let g = self.get_record::<Goal>(id).await?;
        let access = self.access_by_id(user, g.product_id.ok_or(AppError::NotFound)?).await?;
        let kpis: HashMap<RecordId, Kpi> =
            self.kpis(&access).await?.into_iter().map(|k| (k.id, k.data)).collect();
        Ok((goal_progress(g, &kpis), access))
    }

    /// The owner of a goal: a member of the product (a 422 on `owner` otherwise).
    async fn goal_owner(&self, access: &ProductAccess, id: i64) -> AppResult<keel_domain::UserId> {
        let members = self.members(access).await?;
        members
            .iter()
            .find(|(u, _)| u.id.0 == id)
            .map(|(u, _)| u.id)
            .ok_or_else(|| AppError::invalid("owner", "is not a member of this product"))
    }

    /// Creates a goal (the Product Manager), owned by a member of the product or nobody.
    pub async fn create_goal(
        &self,
        access: &ProductAccess,
        title: &str,
        description: &str,
        due: Option<&str>,
        owner: Option<i64>,
    ) -> AppResult<Stored<Goal>> {
        self.require_vision_decider(access)?;
        let owner = match owner {
            Some(id) => Some(self.goal_owner(access, id).await?),
            None => None,
        };
        let goal = Goal {
            title: keel_domain::error::text("title", title, 1, 200, false)?,
            description: keel_domain::error::text("description", description, 0, 10_000, true)?,
            due: due
                .filter(|d| !d.trim().is_empty())
                .map(|d| keel_domain::Date::parse("due", d))
                .transpose()?,
            owner,
            key_results: vec![],
        };
        let op = WriteOp::CreateRecord(new_record(Some(access.product.id), None, "", None, &goal)?);
        self.write_goal(op, access).await
    }

    /// Deletes a goal (the Product Manager).
    pub async fn delete_goal(&self, access: &ProductAccess, id: RecordId) -> AppResult<()> {
        self.require_vision_decider(access)?;
        let op = WriteOp::DeleteRecord { id, expected_version: None };
        self.store.write_batch(vec![op], &self.ctx(&access.user)).await?;
        Ok(())
    }

    /// Adds a key result to a goal, tracking a KPI of the same product (the Product Manager).
    pub async fn add_key_result(
        &self,
        access: &ProductAccess,
        goal: RecordId,
        title: &str,
        kpi: Option<i64>,
    ) -> AppResult<Stored<Goal>> {
        self.require_vision_decider(access)?;
        let title = keel_domain::error::text("title", title, 1, 200, false)?;
        let kpi_id = match kpi {
            Some(id) => match self.get_record::<Kpi>(RecordId(id)).await {
                Ok(k) if k.product_id == Some(access.product.id) => Some(k.id),
                Ok(_) | Err(AppError::NotFound) => {
                    return Err(AppError::invalid("kpi_id", "is no KPI of this product"))
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        let g = self.get_record::<Goal>(goal).await?;
        let mut data = g.data.clone();
        let id = data.key_results.iter().map(|k| k.id).max().unwrap_or(0) + 1;
        data.key_results.push(KeyResult { id, title, kpi_id });
        let op = WriteOp::UpdateRecord {
            id: g.id,
            expected_version: Some(g.version),
            state: None,
            data: to_data(&data)?,
            refs: vec![],
        };
        self.write_goal(op, access).await
    }

    /// Removes a key result from a goal (the Product Manager).
    pub async fn delete_key_result(
        &self,
        access: &ProductAccess,
        goal: RecordId,
        kr: i64,
    ) -> AppResult<Stored<Goal>> {
        self.require_vision_decider(access)?;
        let g = self.get_record::<Goal>(goal).await?;
        let mut data = g.data.clone();
        let before = data.key_results.len();
        data.key_results.retain(|k| k.id != kr);
        if data.key_results.len() == before {
            return Err(AppError::NotFound);
        }
        let op = WriteOp::UpdateRecord {
            id: g.id,
            expected_version: Some(g.version),
            state: None,
            data: to_data(&data)?,
            refs: vec![],
        };
        self.write_goal(op, access).await
    }

    async fn write_goal(&self, op: WriteOp, access: &ProductAccess) -> AppResult<Stored<Goal>> {
        match self.store.write_batch(vec![op], &self.ctx(&access.user)).await?.pop() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::Conflict("the goal was not saved".into())),
        }
    }
}

/// A goal's progress from the KPIs its key results track.
pub fn goal_progress(goal: Stored<Goal>, kpis: &HashMap<RecordId, Kpi>) -> GoalProgress {
    let key_results: Vec<Option<f64>> = goal
        .data
        .key_results
        .iter()
        .map(|kr| kr.kpi_id.and_then(|id| kpis.get(&id)).and_then(|k| k.progress()))
        .collect();
    let progress = mean_progress(&key_results);
    GoalProgress { goal, key_results, progress }
}

/// Changes to a KPI's definition (absent fields stay; an empty `due` clears it).
#[derive(Debug, Clone, Default)]
pub struct KpiPatch {
    /// Name.
    pub name: Option<String>,
    /// Kind.
    pub kind: Option<keel_domain::kpi::KpiKind>,
    /// Unit.
    pub unit: Option<Unit>,
    /// Direction.
    pub direction: Option<keel_domain::kpi::Direction>,
    /// Baseline.
    pub baseline: Option<f64>,
    /// Target.
    pub target: Option<f64>,
    /// Due date, `YYYY-MM-DD` or empty.
    pub due: Option<String>,
}

impl App {
    /// Changes a KPI's definition (the Product Manager); `expected_version` guards (409).
    pub async fn update_kpi(
        &self,
        access: &ProductAccess,
        k: &Stored<Kpi>,
        p: KpiPatch,
        expected_version: Option<i64>,
    ) -> AppResult<Stored<Kpi>> {
        self.require_vision_decider(access)?;
        let mut d = k.data.clone();
        if let Some(v) = p.name {
            d.name = v;
        }
        if let Some(v) = p.kind {
            d.kind = v;
        }
        if let Some(v) = p.unit {
            d.unit = v;
        }
        if let Some(v) = p.direction {
            d.direction = v;
        }
        if let Some(v) = p.baseline {
            d.baseline = v;
        }
        if let Some(v) = p.target {
            d.target = v;
        }
        if let Some(v) = p.due {
            d.due = if v.trim().is_empty() { None } else { Some(keel_domain::Date::parse("due", &v)?) };
        }
        let d = d.validate()?;
        let op = WriteOp::UpdateRecord {
            id: k.id,
            expected_version: Some(expected_version.unwrap_or(k.version)),
            state: None,
            data: to_data(&d)?,
            refs: vec![],
        };
        self.write_kpi(op, access).await
    }

    /// Changes a goal's title, description, due date or owner (the Product Manager; empty `due`
    /// clears, `Some(None)` leaves it without owner).
    #[allow(clippy::too_many_arguments)]
    pub async fn update_goal(
        &self,
        access: &ProductAccess,
        goal: RecordId,
        title: Option<&str>,
        description: Option<&str>,
        due: Option<&str>,
        owner: Option<Option<i64>>,
        expected_version: Option<i64>,
    ) -> AppResult<Stored<Goal>> {
        self.require_vision_decider(access)?;
        let owner = match owner {
            Some(Some(id)) => Some(Some(self.goal_owner(access, id).await?)),
            Some(None) => Some(None),
            None => None,
        };
        let g = self.get_record::<Goal>(goal).await?;
        let mut d = g.data.clone();
        if let Some(t) = title {
            d.title = keel_domain::error::text("title", t, 1, 200, false)?;
        }
        if let Some(t) = description {
            d.description = keel_domain::error::text("description", t, 0, 10_000, true)?;
        }
        if let Some(t) = due {
            d.due = if t.trim().is_empty() { None } else { Some(keel_domain::Date::parse("due", t)?) };
        }
        if let Some(o) = owner {
            d.owner = o;
        }
        let op = WriteOp::UpdateRecord {
            id: g.id,
            expected_version: Some(expected_version.unwrap_or(g.version)),
            state: None,
            data: to_data(&d)?,
            refs: vec![],
        };
        self.write_goal(op, access).await
    }

    /// Changes a key result's title or KPI (the Product Manager; `Some(None)` unlinks the KPI).
    pub async fn update_key_result(
        &self,
        access: &ProductAccess,
        goal: RecordId,
        kr: i64,
        title: Option<&str>,
        kpi: Option<Option<i64>>,
    ) -> AppResult<Stored<Goal>> {
        self.require_vision_decider(access)?;
        let kpi_id = match kpi {
            Some(Some(id)) => match self.get_record::<Kpi>(RecordId(id)).await {
                Ok(k) if k.product_id == Some(access.product.id) => Some(Some(k.id)),
                Ok(_) | Err(AppError::NotFound) => {
                    return Err(AppError::invalid("kpi_id", "is no KPI of this product"))
                }
                Err(e) => return Err(e),
            },
            Some(None) => Some(None),
            None => None,
        };
        let g = self.get_record::<Goal>(goal).await?;
        let mut d = g.data.clone();
        let k = d.key_results.iter_mut().find(|k| k.id == kr).ok_or(AppError::NotFound)?;
        if let Some(t) = title {
            k.title = keel_domain::error::text("title", t, 1, 200, false)?;
        }
        if let Some(v) = kpi_id {
            k.kpi_id = v;
        }
        let op = WriteOp::UpdateRecord {
            id: g.id,
            expected_version: Some(g.version),
            state: None,
            data: to_data(&d)?,
            refs: vec![],
        };
        self.write_goal(op, access).await
    }
}
