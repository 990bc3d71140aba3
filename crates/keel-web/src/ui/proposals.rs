//! A product's proposals: pending ones with Accept / Decline for those who decide, and the
//! recently decided ones with the decision and its reason.

use super::form::FormData;
use super::view::{ago, date_time};
use super::{finish, message, redirect_with, render, Flash, Layout, UiResult};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use keel_app::AppError;
use keel_domain::proposal::ProposalState;
use keel_domain::ProposalId;
use std::collections::HashMap;

struct Row {
    id: i64,
    summary: String,
    item: Option<String>,
    proposer: String,
    reason: String,
    when: String,
    when_full: String,
    state: &'static str,
    decider: String,
    decision_reason: String,
    may_decide: bool,
    deciders: String,
}

#[derive(Template)]
#[template(path = "proposals.html")]
struct Proposals {
    l: Layout,
    key: String,
    here: String,
    pending: Vec<Row>,
    decided: Vec<Row>,
}

/// GET /products/{key}/proposals
pub(crate) async fn page(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let members = st.app.members(&a).await?;
        let names: HashMap<i64, String> = members.iter().map(|(u, _)| (u.id.0, u.name.clone())).collect();
        let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| "a former member".to_string());
        let (list, _) = st.app.proposals(&a, None, None, None, 100).await?;
        // Keys of the items concerned, from one listing rather than one lookup per proposal.
        let mut keys: HashMap<i64, String> = HashMap::new();
        let ids: Vec<_> = list.iter().filter_map(|p| p.change.item_id()).collect();
        for id in ids {
            if let std::collections::hash_map::Entry::Vacant(e) = keys.entry(id.0) {
                if let Ok(i) = st.app.item_by_id(&a, id).await {
                    e.insert(i.key);
                }
            }
        }
        let (mut pending, mut decided) = (Vec::new(), Vec::new());
        for p in list {
            let may_decide = st.app.may_decide(&a, &p).await?;
            let deciders: Vec<&str> = st.app.rights().deciders(p.action).iter().map(|r| r.label()).collect();
            let row = Row {
                id: p.id.0,
                item: p.change.item_id().and_then(|i| keys.get(&i.0).cloned()),
                proposer: name(p.proposed_by.0),
                reason: p.reason.clone(),
                when: ago(p.created_at),
                when_full: date_time(p.created_at),
                state: p.state.as_str(),
                decider: p.decided_by.map(|d| name(d.0)).unwrap_or_default(),
                decision_reason: p.decision_reason.clone().unwrap_or_default(),
                may_decide,
                deciders: deciders.join(" or "),
                summary: p.summary,
            };
            if p.state == ProposalState::Pending {
                pending.push(row);
            } else {
                decided.push(row);
            }
        }
        let l = Layout::new(&st, &s, "Proposals", "proposals", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .flash(&f);
        render(&Proposals {
            l,
            here: format!("/products/{}/proposals", a.product.key),
            key: a.product.key.to_string(),
            pending,
            decided,
        })
    }
    .await;
    finish(&st, &s, r).await
}

fn proposal_id(id: &str) -> Result<ProposalId, AppError> {
    id.parse::<i64>().map(ProposalId).map_err(|_| AppError::NotFound)
}

/// POST /products/{key}/proposals/{id}/accept
pub(crate) async fn accept(
    State(st): State<AppState>,
    s: UiSession,
    Path((key, id)): Path<(String, String)>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = super::back_to(&form, &format!("/products/{}/proposals", a.product.key));
        match st.app.accept_proposal(&a, proposal_id(&id)?).await {
            Ok(acc) => Ok(redirect_with(&back, "notice", &format!("Accepted: {}.", acc.proposal.summary))),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products/{key}/proposals/{id}/decline (with a `reason`)
pub(crate) async fn decline(
    State(st): State<AppState>,
    s: UiSession,
    Path((key, id)): Path<(String, String)>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = super::back_to(&form, &format!("/products/{}/proposals", a.product.key));
        match st.app.decline_proposal(&a, proposal_id(&id)?, form.get("reason")).await {
            Ok(p) => Ok(redirect_with(&back, "notice", &format!("Declined: {}.", p.summary))),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}
