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
