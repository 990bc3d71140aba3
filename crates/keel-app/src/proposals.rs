//! Deciding proposals: the decider accepts (the change is applied as the decider, with the
//! proposal recorded on its events) or declines with a reason.

use crate::{App, AppError, AppResult, ProductAccess};
use keel_domain::proposal::{Change, Proposal, ProposalState};
use keel_domain::rights::Decision;
use keel_domain::{ItemId, ProposalId};
use keel_store::{Page, StoreError};

/// What accepting a proposal did.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The proposal, now accepted.
    pub proposal: Proposal,
    /// The item the change created or changed, if any (gone when it was deleted).
    pub item: Option<keel_domain::item::Item>,
}

impl App {
    /// A product's proposals, newest first.
    pub async fn proposals(
        &self,
        access: &ProductAccess,
        state: Option<&str>,
        item: Option<ItemId>,
        cursor: Option<&str>,
        limit: u32,
    ) -> AppResult<(Vec<Proposal>, Option<String>)> {
        let state = match state.filter(|s| !s.is_empty()) {
            Some(s) => Some(ProposalState::parse(s).ok_or_else(|| {
                AppError::invalid("state", "must be one of pending, accepted, declined, stale")
            })?),
            None => None,
        };
        let after = match cursor.filter(|c| !c.is_empty()) {
            Some(c) => Some(
                c.parse::<i64>().map_err(|_| AppError::invalid("cursor", "is not a cursor"))?.to_string(),
            ),
            None => None,
        };
        let limit = limit.clamp(1, 500);
        let list = self.store.proposals(access.product.id, state, item, &Page { after, limit }).await?;
        let next = if list.len() as u32 == limit { list.last().map(|p| p.id.0.to_string()) } else { None };
        Ok((list, next))
    }

    /// A proposal of the product of `access`.
    pub async fn proposal(&self, access: &ProductAccess, id: ProposalId) -> AppResult<Proposal> {
        let p = self.store.proposal(id).await?;
        if p.product_id != access.product.id {
            return Err(AppError::NotFound);
        }
        Ok(p)
    }

    /// The product a proposal belongs to, for routing `/proposals/{id}` to an access check.
    pub async fn proposal_product_key(&self, id: ProposalId) -> AppResult<String> {
        let p = self.store.proposal(id).await?;
        Ok(self.store.product(p.product_id).await?.key.to_string())
    }

    /// Whether the user of `access` may decide `p` (holds `allow` for all the change needs).
    pub async fn may_decide(&self, access: &ProductAccess, p: &Proposal) -> AppResult<bool> {
        if p.state != ProposalState::Pending {
            return Ok(false);
        }
        let actions = match self.actions_of_change(access, &p.change).await {
            Ok(a) => a,
            Err(AppError::NotFound) => vec![p.action],
            Err(e) => return Err(e),
        };
        Ok(actions.iter().all(|a| self.decide(access, *a) == Decision::Allow))
    }

    /// Accepts a pending proposal: applies its change as the decider.
    pub async fn accept_proposal(&self, access: &ProductAccess, id: ProposalId) -> AppResult<Accepted> {
        let p = self.proposal(access, id).await?;
        if p.state != ProposalState::Pending {
            return Err(AppError::Conflict(format!("the proposal is already {}", p.state.as_str())));
        }
        let actions = match self.actions_of_change(access, &p.change).await {
            Ok(a) => a,
            Err(AppError::NotFound) => return Err(self.stale(access, &p, "the item no longer exists").await),
            Err(e) => return Err(e),
        };
        if let Some(a) = actions.iter().find(|a| self.decide(access, **a) != Decision::Allow) {
            return Err(self.forbidden(*a));
        }
        match &p.change {
            Change::ShipRelease { release_id, open_items } => {
                return self.accept_ship_proposal(access, &p, *release_id, *open_items).await;
            }
            Change::SetInitiative { initiative_id, initiative, status } => {
                return self
                    .accept_initiative_proposal(access, &p, *initiative_id, initiative, *status)
                    .await;
            }
            Change::SetDefinitionOfReady { definition } => {
                return self.accept_setting_proposal(access, &p, definition.clone()).await;
            }
            Change::SetDefinitionOfDone { definition } => {
                return self.accept_setting_proposal(access, &p, definition.clone()).await;
            }
            Change::ScoreOpportunity { opportunity_id, scores } => {
                return self.accept_score_proposal(access, &p, *opportunity_id, scores.clone()).await;
            }
            Change::PromoteOpportunity { opportunity_id, initiative_id } => {
                return self.accept_promote_proposal(access, &p, *opportunity_id, *initiative_id).await;
            }
            Change::SetVision { fields } => {
                return self.accept_vision_proposal(access, &p, fields.clone()).await;
            }
            _ => {}
        }
        let ctx = self.ctx_for_proposal(&access.user, p.id);
        if let Some(r) = self.accept_sprint_change(access, &p.change, &ctx).await {
            return match r {
                Ok(()) => Ok(Accepted { proposal: self.store.proposal(p.id).await?, item: None }),
                Err(
                    AppError::Conflict(why)
                    | AppError::Invalid(keel_domain::ValidationError { message: why, .. }),
                ) => Err(self.stale(access, &p, &why).await),
                Err(AppError::NotFound) => Err(self.stale(access, &p, "the sprint no longer exists").await),
                Err(e) => Err(e),
            };
        }
        let s = &self.store;
        let result = match &p.change {
            Change::CreateItem { item } => s
                .create_item(access.product.id, item.fields.clone().into(), &item.position, &ctx)
                .await
                .map(Some),
            Change::UpdateItem { item_id, patch } => match s.item(*item_id).await {
                Ok(cur) => s.update_item(*item_id, cur.version, patch, &ctx).await.map(Some),
                Err(e) => Err(e),
            },
            Change::MoveItem { item_id, position } => s.move_item(*item_id, position, &ctx).await.map(Some),
            Change::DeleteItem { item_id } => s.delete_item(*item_id, &ctx).await.map(|_| None),
            Change::AddLink { from, to, kind } => s.add_link(*from, *to, *kind, &ctx).await.map(|_| None),
            Change::RemoveLink { item_id, link_id } => {
                s.remove_link(*item_id, *link_id, &ctx).await.map(|_| None)
            }
            // Carried out above.
            Change::StartSprint { .. } | Change::CloseSprint { .. } => Err(StoreError::NotFound),
            Change::ShipRelease { .. }
            | Change::SetInitiative { .. }
            | Change::SetDefinitionOfReady { .. }
            | Change::SetDefinitionOfDone { .. }
            | Change::ScoreOpportunity { .. }
            | Change::PromoteOpportunity { .. }
            | Change::SetVision { .. } => Ok(None),
        };
        match result {
            Ok(item) => Ok(Accepted { proposal: self.store.proposal(p.id).await?, item }),
            Err(StoreError::Invalid(v)) => Err(self.stale(access, &p, &v.to_string()).await),
            Err(StoreError::NotFound) => Err(self.stale(access, &p, "the item no longer exists").await),
            Err(e) => Err(e.into()),
        }
    }

    /// Marks a proposal that can no longer be applied as stale; returns the 409 to answer.
    pub(crate) async fn stale(&self, access: &ProductAccess, p: &Proposal, why: &str) -> AppError {
        let reason = format!("could not be applied: {why}");
        match self.store.close_proposal(p.id, ProposalState::Stale, &reason, &self.ctx(&access.user)).await {
            Ok(_) => AppError::Conflict(format!("the proposal {reason}")),
            Err(e) => e.into(),
        }
    }

    /// Declines a pending proposal with a reason (required, so the proposer learns why).
    pub async fn decline_proposal(
        &self,
        access: &ProductAccess,
        id: ProposalId,
        reason: &str,
    ) -> AppResult<Proposal> {
        let reason = keel_domain::error::text("reason", reason, 1, crate::items::REASON_MAX, true)?;
        let p = self.proposal(access, id).await?;
        if p.state != ProposalState::Pending {
            return Err(AppError::Conflict(format!("the proposal is already {}", p.state.as_str())));
        }
        if !self.may_decide(access, &p).await? {
            return Err(self.forbidden(p.action));
        }
        Ok(self.store.close_proposal(p.id, ProposalState::Declined, &reason, &self.ctx(&access.user)).await?)
    }
}
