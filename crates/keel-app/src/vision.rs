//! Vision board, goals, key results and KPIs.

use crate::records::{new_record, to_data, RecordKind, Stored};
use crate::{App, AppError, AppResult, Outcome, ProductAccess};
use keel_domain::event::ObjectKind;
use keel_domain::proposal::Change;
use keel_domain::rights::{Action, Decision};
use keel_domain::vision::{Vision, VisionFields};
use keel_domain::ProductId;
use keel_store::{StoreError, WriteCtx, WriteOp, Written};

impl RecordKind for Vision {
    const KIND: ObjectKind = ObjectKind::Vision;
}

/// The unique key of a product's vision record.
pub fn vision_key(product: ProductId) -> String {
    format!("vision:{}", product.0)
}

impl App {
    /// A product's vision board with all its versions (empty when never saved) and its record.
    pub async fn vision(&self, access: &ProductAccess) -> AppResult<(Vision, Option<Stored<Vision>>)> {
        match self.store.record_by_key(ObjectKind::Vision, &vision_key(access.product.id)).await {
            Ok(r) => {
                let s = Stored::<Vision>::from_record(r)?;
                Ok((s.data.clone(), Some(s)))
            }
            Err(StoreError::NotFound) => Ok((Vision::default(), None)),
            Err(e) => Err(e.into()),
        }
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
        let (vision, _) = self.vision(access).await?;
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
        let (mut vision, stored) = self.vision(access).await?;
        if expected.is_some_and(|v| v != vision.number()) {
            return Err(AppError::StaleVersion { current: vision.number() });
        }
        vision.save(fields, ctx.actor, ctx.at);
        let op = match &stored {
            Some(s) => WriteOp::UpdateRecord {
                id: s.id,
                expected_version: Some(s.version),
                state: None,
                data: to_data(&vision)?,
                refs: vec![],
            },
            None => WriteOp::CreateRecord(new_record(Some(pid), None, "", Some(vision_key(pid)), &vision)?),
        };
        let written = match self.store.write_batch(vec![op], ctx).await {
            Ok(w) => w,
            Err(StoreError::StaleVersion { .. }) | Err(StoreError::Conflict(_)) => {
                let (now, _) = self.vision(access).await?;
                return Err(AppError::StaleVersion { current: now.number() });
            }
            Err(e) => return Err(e.into()),
        };
        match written.into_iter().next() {
            Some(Written::Record(r)) => Ok(Stored::<Vision>::from_record(r)?.data),
            _ => Err(AppError::Conflict("the vision was not saved".into())),
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
