//! Proposals waiting for a decider, and reading the history of events.

use crate::records::create_record_tx;
use crate::{accept_proposal, conv, event, event_cols, event_row, Res, SqliteStore};
use async_trait::async_trait;
use keel_domain::comment::{decision_notification, proposal_notification};
use keel_domain::event::{Event, ObjectKind};
use keel_domain::proposal::{Proposal, ProposalState};
use keel_domain::rights::Action;
use keel_domain::{ItemId, ProductId, ProposalId, Timestamp, UserId};
use keel_store::{
    notification_record, HistoryStore, NewProposal, Page, ProposalStore, StoreError, StoreResult, WriteCtx,
};
use rusqlite::{params, Connection, Row};
use serde_json::{json, Value};

macro_rules! proposal_cols {
    () => {
        "id, product_id, action, change, proposed_by, reason, created_at, state, decided_by, decided_at,
         decision_reason, summary"
    };
}

fn proposal_row(r: &Row<'_>) -> rusqlite::Result<Proposal> {
    // Actions are stored by their wire name, which is also their serde name.
    let action: Action = serde_json::from_value(Value::String(r.get(2)?)).map_err(|e| conv(2, e))?;
    let change = serde_json::from_str(r.get_ref(3)?.as_str()?).map_err(|e| conv(3, e))?;
    let state: String = r.get(7)?;
    let state = ProposalState::parse(&state)
        .ok_or_else(|| conv(7, StoreError::Conflict(format!("unknown proposal state {state}"))))?;
    Ok(Proposal {
        id: ProposalId(r.get(0)?),
        product_id: ProductId(r.get(1)?),
        action,
        change,
        proposed_by: UserId(r.get(4)?),
        reason: r.get(5)?,
        created_at: Timestamp(r.get(6)?),
        state,
        decided_by: r.get::<_, Option<i64>>(8)?.map(UserId),
        decided_at: r.get::<_, Option<i64>>(9)?.map(Timestamp),
        decision_reason: r.get(10)?,
        summary: r.get(11)?,
    })
}

fn load_proposal(c: &Connection, id: ProposalId) -> Res<Proposal> {
    Ok(c.prepare_cached(concat!("SELECT ", proposal_cols!(), " FROM proposals WHERE id = ?1"))?
        .query_row([id.0], proposal_row)?)
}

/// A product's key and a user's name (empty when there is none), as notifications show them.
fn key_and_name(c: &Connection, product: ProductId, user: Option<UserId>) -> Res<(String, String)> {
    Ok(c.prepare_cached(
        "SELECT p.key, COALESCE((SELECT u.name FROM users u WHERE u.id = ?2), '') FROM products p WHERE p.id = ?1",
    )?
    .query_row(params![product.0, user.map(|u| u.0)], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// Writes the `decision` notification of the proposal `id` just decided, in the deciding
/// transaction: to its proposer while they are an active member, unless they decided it.
pub(crate) fn notify_decision(c: &Connection, ctx: &WriteCtx, id: ProposalId) -> Res<()> {
    let p = load_proposal(c, id)?;
    let member: bool = c
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
                           WHERE m.product_id = ?1 AND m.user_id = ?2 AND u.is_active)",
        )?
        .query_row(params![p.product_id.0, p.proposed_by.0], |r| r.get(0))?;
    if !member {
        return Ok(());
    }
    let (key, name) = key_and_name(c, p.product_id, p.decided_by)?;
    if let Some(n) = decision_notification(&p, &name, &key) {
        create_record_tx(c, ctx, notification_record(p.product_id, &n)?)?;
    }
    Ok(())
}

#[async_trait]
impl ProposalStore for SqliteStore {
    async fn create_proposal(&self, proposal: NewProposal, ctx: &WriteCtx) -> StoreResult<Proposal> {
        let Some(proposer) = ctx.actor else {
            return Err(StoreError::invalid("proposed_by", "a proposal needs a proposer"));
        };
        let ctx = *ctx;
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            let item: Option<ItemId> = proposal.change.item_id();
            let id: i64 = tx
                .prepare_cached(
                    "INSERT INTO proposals (product_id, item_id, action, change, proposed_by, reason, created_at, state,
                        summary)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8) RETURNING id",
                )?
                .query_row(
                    params![
                        proposal.product_id.0,
                        item.map(|i| i.0),
                        proposal.action.as_str(),
                        serde_json::to_string(&proposal.change)?,
                        proposer.0,
                        proposal.reason,
                        ctx.at.0,
                        proposal.summary,
                    ],
                    |r| r.get(0),
                )?;
            let p = Proposal {
                id: ProposalId(id),
                product_id: proposal.product_id,
                action: proposal.action,
                change: proposal.change,
                proposed_by: proposer,
                reason: proposal.reason,
                created_at: ctx.at,
                state: ProposalState::Pending,
                decided_by: None,
                decided_at: None,
                decision_reason: None,
                summary: proposal.summary,
            };
            event(tx, &ctx, Some(p.product_id), (ObjectKind::Proposal, id), "created", &Value::Null, &json!(p))?;
            if !proposal.notify.is_empty() {
                let (key, name) = key_and_name(tx, p.product_id, Some(proposer))?;
                for to in proposal.notify.iter().filter(|u| **u != proposer) {
                    let n = proposal_notification(&p, *to, &name, &key);
                    create_record_tx(tx, &ctx, notification_record(p.product_id, &n)?)?;
                }
            }
            Ok(p)
        })
        .await
    }

    async fn proposal(&self, id: ProposalId) -> StoreResult<Proposal> {
        self.read(|c| load_proposal(c, id))
    }

    async fn proposals(
        &self,
        product: ProductId,
        state: Option<ProposalState>,
        item: Option<ItemId>,
        page: &Page,
    ) -> StoreResult<Vec<Proposal>> {
        let before = match &page.after {
            Some(s) => s.parse::<i64>().map_err(|_| StoreError::invalid("after", "must be a proposal id"))?,
            None => i64::MAX,
        };
        let limit = page.limit;
        self.read_blocking(move |c| {
            let mut st = c.prepare_cached(concat!(
                "SELECT ",
                proposal_cols!(),
                " FROM proposals WHERE product_id = ?1 AND (?2 IS NULL OR state = ?2) AND (?3 IS NULL OR item_id = ?3)
                  AND id < ?4 ORDER BY id DESC LIMIT ?5"
            ))?;
            let rows = st.query_map(
                params![product.0, state.map(|s| s.as_str()), item.map(|i| i.0), before, limit],
                proposal_row,
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn close_proposal(
        &self,
        id: ProposalId,
        state: ProposalState,
        reason: &str,
        ctx: &WriteCtx,
    ) -> StoreResult<Proposal> {
        if !matches!(state, ProposalState::Declined | ProposalState::Stale) {
            return Err(StoreError::invalid("state", "a proposal closes as declined or stale"));
        }
        let (ctx, reason) = (*ctx, reason.to_string());
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            let mut p = load_proposal(tx, id)?;
            if p.state != ProposalState::Pending {
                return Err(StoreError::Conflict(format!("proposal {id} is no longer pending")).into());
            }
            tx.prepare_cached(
                "UPDATE proposals SET state = ?2, decided_by = ?3, decided_at = ?4, decision_reason = ?5 WHERE id = ?1",
            )?
            .execute(params![id.0, state.as_str(), ctx.actor.map(|u| u.0), ctx.at.0, reason])?;
            p.state = state;
            p.decided_by = ctx.actor;
            p.decided_at = Some(ctx.at);
            p.decision_reason = Some(reason);
            event(
                tx,
                &ctx,
                Some(p.product_id),
                (ObjectKind::Proposal, id.0),
                "state",
                &json!(ProposalState::Pending),
                &json!(state),
            )?;
            notify_decision(tx, &ctx, id)?;
            Ok(p)
        })
        .await
    }
}

#[async_trait]
impl HistoryStore for SqliteStore {
    async fn history(
        &self,
        object: ObjectKind,
        id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<Event>> {
        self.read_blocking(move |c| {
            let mut st = c.prepare_cached(concat!(
                "SELECT ",
                event_cols!(),
                " FROM events WHERE object = ?1 AND object_id = ?2 AND id < ?3 ORDER BY id DESC LIMIT ?4"
            ))?;
            let rows =
                st.query_map(params![object.as_str(), id, before.unwrap_or(i64::MAX), limit], event_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn product_events(
        &self,
        product: ProductId,
        after: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<Event>> {
        self.read_blocking(move |c| {
            let mut st = c.prepare_cached(concat!(
                "SELECT ",
                event_cols!(),
                " FROM events WHERE product_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
            ))?;
            let rows = st.query_map(params![product.0, after.unwrap_or(0), limit], event_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}
