//! Proposals and the history of events.

use crate::db::{accept_proposal, all, col, one, opt, DbResult, Events};
use crate::records::create_record_tx;
use crate::rows::{self, EVENT_COLS, PROPOSAL_COLS};
use crate::PgStore;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use keel_domain::comment::{decision_notification, proposal_notification};
use keel_domain::event::{Event, ObjectKind};
use keel_domain::proposal::{Proposal, ProposalState};
use keel_domain::{ItemId, ProductId, ProposalId, UserId};
use keel_store::{
    notification_record, HistoryStore, NewProposal, Page, ProposalStore, StoreError, StoreResult, WriteCtx,
};
use serde_json::{json, Value};

/// A product's key and a user's name (empty when there is none), as notifications show them.
async fn key_and_name<C: GenericClient>(
    c: &C,
    product: ProductId,
    user: Option<UserId>,
) -> StoreResult<(String, String)> {
    let row = one(
        c,
        "SELECT p.key, COALESCE((SELECT u.name FROM users u WHERE u.id = $2), '') FROM products p WHERE p.id = $1",
        &[&product.0, &user.map(|u| u.0)],
    )
    .await?;
    Ok((col(&row, 0)?, col(&row, 1)?))
}

/// Writes the `decision` notification of the proposal `id` just decided, in the deciding
/// transaction: to its proposer while they are an active member, unless they decided it.
pub(crate) async fn notify_decision<C: GenericClient>(
    c: &C,
    ctx: &WriteCtx,
    ev: &mut Events,
    id: ProposalId,
) -> StoreResult<()> {
    let row = one(c, &format!("SELECT {PROPOSAL_COLS} FROM proposals r WHERE r.id = $1"), &[&id.0]).await?;
    let p = rows::proposal(&row)?;
    let member = one(
        c,
        "SELECT EXISTS(SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
                       WHERE m.product_id = $1 AND m.user_id = $2 AND u.is_active)",
        &[&p.product_id.0, &p.proposed_by.0],
    )
    .await?;
    if !col::<bool>(&member, 0)? {
        return Ok(());
    }
    let (key, name) = key_and_name(c, p.product_id, p.decided_by).await?;
    if let Some(n) = decision_notification(&p, &name, &key) {
        create_record_tx(c, ctx, ev, notification_record(p.product_id, &n)?).await?;
    }
    Ok(())
}

#[async_trait]
impl ProposalStore for PgStore {
    async fn create_proposal(&self, proposal: NewProposal, ctx: &WriteCtx) -> StoreResult<Proposal> {
        let Some(by) = ctx.actor else {
            return Err(StoreError::invalid("proposed_by", "a proposal needs a proposer"));
        };
        let change = serde_json::to_string(&proposal.change).map_err(StoreError::other)?;
        let item = proposal.change.item_id().map(|i| i.0);
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        let mut ev = accept_proposal(&tx, ctx).await?;
        let row = one(
            &tx,
            "INSERT INTO proposals (product_id, item_id, action, change, proposed_by, reason, created_at, state, summary)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) RETURNING id",
            &[
                &proposal.product_id.0,
                &item,
                &proposal.action.as_str(),
                &change,
                &by.0,
                &proposal.reason,
                &ctx.at.0,
                &proposal.summary,
            ],
        )
        .await?;
        let created = Proposal {
            id: ProposalId(col(&row, 0)?),
            product_id: proposal.product_id,
            action: proposal.action,
            change: proposal.change,
            proposed_by: by,
            reason: proposal.reason,
            created_at: ctx.at,
            state: ProposalState::Pending,
            decided_by: None,
            decided_at: None,
            decision_reason: None,
            summary: proposal.summary,
        };
        ev.push(
            Some(created.product_id),
            ObjectKind::Proposal,
            created.id.0,
            "created",
            &Value::Null,
            &json!(created),
        );
        if !proposal.notify.is_empty() {
            let (key, name) = key_and_name(&tx, created.product_id, Some(by)).await?;
            for to in proposal.notify.iter().filter(|u| **u != by) {
                let n = proposal_notification(&created, *to, &name, &key);
                create_record_tx(&tx, ctx, &mut ev, notification_record(created.product_id, &n)?).await?;
            }
        }
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        Ok(created)
    }

    async fn proposal(&self, id: ProposalId) -> StoreResult<Proposal> {
        let c = self.conn().await?;
        let row =
            one(&c, &format!("SELECT {PROPOSAL_COLS} FROM proposals r WHERE r.id = $1"), &[&id.0]).await?;
        rows::proposal(&row)
    }

    async fn proposals(
        &self,
        product: ProductId,
        state: Option<ProposalState>,
        item: Option<ItemId>,
        page: &Page,
    ) -> StoreResult<Vec<Proposal>> {
        let before = match &page.after {
            Some(s) => {
                Some(s.parse::<i64>().map_err(|_| StoreError::invalid("after", "must be a proposal id"))?)
            }
            None => None,
        };
        let state = state.map(|s| s.as_str());
        let item = item.map(|i| i.0);
        let limit = i64::from(page.limit);
        let c = self.conn().await?;
        let rows = all(
            &c,
            &format!(
                "SELECT {PROPOSAL_COLS} FROM proposals r
                 WHERE r.product_id = $1 AND ($2::text IS NULL OR r.state = $2)
                   AND ($3::bigint IS NULL OR r.item_id = $3) AND ($4::bigint IS NULL OR r.id < $4)
                 ORDER BY r.id DESC LIMIT $5"
            ),
            &[&product.0, &state, &item, &before, &limit],
        )
        .await?;
        rows.iter().map(rows::proposal).collect()
    }

    async fn close_proposal(
        &self,
        id: ProposalId,
        state: ProposalState,
        reason: &str,
        ctx: &WriteCtx,
    ) -> StoreResult<Proposal> {
        if !matches!(state, ProposalState::Declined | ProposalState::Stale) {
            return Err(StoreError::invalid("state", "a proposal is closed as declined or stale"));
        }
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        let mut ev = accept_proposal(&tx, ctx).await?;
        let row = opt(
            &tx,
            &format!(
                "UPDATE proposals r SET state = $2, decided_by = $3, decided_at = $4, decision_reason = $5
                 WHERE r.id = $1 AND r.state = 'pending' RETURNING {PROPOSAL_COLS}"
            ),
            &[&id.0, &state.as_str(), &ctx.actor.map(|u| u.0), &ctx.at.0, &reason],
        )
        .await?;
        let Some(row) = row else {
            // Either decided already, or there is no such proposal.
            one(&tx, "SELECT 1 FROM proposals WHERE id = $1", &[&id.0]).await?;
            return Err(StoreError::Conflict("the proposal is no longer pending".into()));
        };
        let closed = rows::proposal(&row)?;
        ev.push(
            Some(closed.product_id),
            ObjectKind::Proposal,
            id.0,
            "state",
            &json!("pending"),
            &json!(state),
        );
        notify_decision(&tx, ctx, &mut ev, id).await?;
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        Ok(closed)
    }
}

#[async_trait]
impl HistoryStore for PgStore {
    async fn history(
        &self,
        object: ObjectKind,
        id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<Event>> {
        let c = self.conn().await?;
        let limit = i64::from(limit);
        // Two statements rather than an `OR $3 IS NULL`, so the cached plan keeps its index bound.
        let rows = match before {
            Some(b) => {
                all(
                    &c,
                    &format!(
                        "SELECT {EVENT_COLS} FROM events WHERE object = $1 AND object_id = $2 AND id < $3
                         ORDER BY id DESC LIMIT $4"
                    ),
                    &[&object.as_str(), &id, &b, &limit],
                )
                .await?
            }
            None => {
                all(
                    &c,
                    &format!(
                        "SELECT {EVENT_COLS} FROM events WHERE object = $1 AND object_id = $2 ORDER BY id DESC LIMIT $3"
                    ),
                    &[&object.as_str(), &id, &limit],
                )
                .await?
            }
        };
        rows.iter().map(rows::event).collect()
    }

    async fn product_events(
        &self,
        product: ProductId,
        after: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<Event>> {
        let c = self.conn().await?;
        let limit = i64::from(limit);
        let after = after.unwrap_or(0);
        let rows = all(
            &c,
            &format!(
                "SELECT {EVENT_COLS} FROM events WHERE product_id = $1 AND id > $2 ORDER BY id LIMIT $3"
            ),
            &[&product.0, &after, &limit],
        )
        .await?;
        rows.iter().map(rows::event).collect()
    }
}
