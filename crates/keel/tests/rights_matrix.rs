//! The decision-rights matrix: every operation of the OpenAPI document the server serves, asked
//! by every kind of caller (pm, po, team, stakeholder, an administrator holding no role, a member
//! of another product, a signed-in non-member, signed out), against seeded objects. The expected
//! answer comes from the rights table of `keel-domain` (`RightsTable::decide`) through the action
//! each operation needs, kept in `case` below: allow (2xx), propose (202), deny (403),
//! non-member (404), signed out (401). An operation without an entry fails the test, so a new
//! endpoint must be added here. A denied or proposed request must change nothing in the database
//! but the proposal it stores (SQLite: every table dumped before and after).

use keel_app::Settings;
use keel_domain::product::{Role, Roles};
use keel_domain::rights::{Action, Decision, RightsTable};
use keel_testkit::app::MEMBER_PASSWORD;
use keel_testkit::{spawn_app_with, TestApp, TestDb};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Pm,
    Po,
    Team,
    Stakeholder,
    /// An administrator who holds no role in the product.
    Admin,
    /// A member (po) of another product only.
    OtherMember,
    /// Signed in, member of nothing.
    NonMember,
    SignedOut,
}

const CALLERS: [Caller; 8] = [
    Caller::Pm,
    Caller::Po,
    Caller::Team,
    Caller::Stakeholder,
    Caller::Admin,
    Caller::OtherMember,
    Caller::NonMember,
    Caller::SignedOut,
];

/// What a caller should get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Ok,
    Proposed,
    Denied,
    NotFound,
    Unauthorised,
}

/// How an operation is decided.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// The rights table's answer for this action; non-members 404, signed out 401.
    Act(Action),
    /// Anyone may, signed in or not.
    Public,
    /// Any signed-in user, about themselves (their tokens, inbox, products).
    SignedIn,
    /// Administrators only (403 for everyone else signed in).
    AdminOnly,
    /// Like `Act`, but the administrator may too (workflow and board layouts).
    ActOrAdmin(Action),
    /// Only the author of the object (none of the callers is): members 403.
    AuthorOnly,
    /// The caller's own object in the product (members 2xx, others 404).
    OwnInProduct,
    /// Like `Act`, but a role that would propose is refused instead (no proposals for it).
    ActNoPropose(Action),
    /// Like `Act`, but a "propose" is written as a recommendation (202) rather than a proposal.
    ActRecommend(Action),
    /// Like `Act`, but a role that would propose may do it directly (linking feedback, creating
    /// opportunities, recording KPI measurements: see docs/DECISION-RIGHTS.md).
    ActProposeAllows(Action),
    /// Like `ActNoPropose`, but callers who may not are not shown the object at all (404):
    /// drafts of stakeholder updates.
    Hidden(Action),
    /// Administrators only; anyone else is not shown the object (404).
    AdminOnlyHidden,
    /// The author (none of the callers) or an administrator.
    AuthorOrAdmin,
}

fn want(rule: Rule, caller: Caller) -> Want {
    let table = RightsTable::default();
    let role = match caller {
        Caller::Pm => Some(Role::Pm),
        Caller::Po => Some(Role::Po),
        Caller::Team => Some(Role::Team),
        Caller::Stakeholder => Some(Role::Stakeholder),
        _ => None,
    };
    let from = |d: Decision| match d {
        Decision::Allow => Want::Ok,
        Decision::Propose => Want::Proposed,
        Decision::Deny => Want::Denied,
    };
    if caller == Caller::SignedOut && !matches!(rule, Rule::Public) {
        return Want::Unauthorised;
    }
    match rule {
        Rule::Public | Rule::SignedIn => Want::Ok,
        Rule::AdminOnly => {
            if caller == Caller::Admin {
                Want::Ok
            } else {
                Want::Denied
            }
        }
        Rule::AdminOnlyHidden => {
            if caller == Caller::Admin {
                Want::Ok
            } else {
                Want::NotFound
            }
        }
        Rule::AuthorOrAdmin => match (caller, role) {
            (Caller::Admin, _) => Want::Ok,
            (_, Some(_)) => Want::Denied,
            _ => Want::NotFound,
        },
        Rule::Hidden(a) => match role {
            Some(r) if table.decide(Roles::of(&[r]), false, a) == Decision::Allow => Want::Ok,
            _ => Want::NotFound,
        },
        Rule::Act(a)
        | Rule::ActOrAdmin(a)
        | Rule::ActNoPropose(a)
        | Rule::ActRecommend(a)
        | Rule::ActProposeAllows(a) => match (caller, role) {
            (Caller::Admin, _) if matches!(rule, Rule::ActOrAdmin(_)) => Want::Ok,
            (Caller::Admin, _) => from(table.decide(Roles::NONE, true, a)),
            (_, Some(r)) => {
                let w = from(table.decide(Roles::of(&[r]), false, a));
                match (w, rule) {
                    (Want::Proposed, Rule::ActNoPropose(_)) => Want::Denied,
                    (Want::Proposed, Rule::ActProposeAllows(_)) => Want::Ok,
                    _ => w,
                }
            }
            _ => Want::NotFound,
        },
        Rule::AuthorOnly => match (caller, role) {
            (_, Some(_)) => Want::Denied,
            (Caller::Admin, _) => Want::Denied,
            _ => Want::NotFound,
        },
        Rule::OwnInProduct => match role {
            Some(_) => Want::Ok,
            None => Want::NotFound,
        },
    }
}

/// One request of the matrix.
struct Case {
    rule: Rule,
    path: String,
    body: Option<Value>,
    /// Sent after every non-late request (it deletes, closes or otherwise ends something).
    late: u8,
    /// Further statuses an allowed caller may get because of the object's state (for example a
    /// poker round already revealed): the rights were granted, the step itself did not apply.
    tolerate: &'static [u16],
    /// A `text/csv` body instead of JSON.
    csv: Option<String>,
    /// Rows a proposal may touch besides the proposal (the retrospective card that remembers
    /// the proposal made from it), by a text the row contains.
    also_writes: &'static [&'static str],
}

/// The seeded objects of one product.
#[derive(Default, Debug)]
struct Fx {
    epic: String,
    story: String,
    story2: String,
    doomed: String,
    split: String,
    criterion: i64,
    criterion_del: i64,
    link: i64,
    team: i64,
    team_spare: i64,
    sprint: i64,
    sprint_spare: i64,
    card: i64,
    card_del: i64,
    release: i64,
    release_del: i64,
    release_ship: i64,
    launch_item: i64,
    goal: i64,
    key_result: i64,
    kpi: i64,
    kpi_del: i64,
    initiative: i64,
    initiative_del: i64,
    opportunity: i64,
    opp_del: i64,
    opp_merge: i64,
    opp_promote: i64,
    feedback: i64,
    feedback_into: i64,
    feedback_merge: i64,
    feedback_del: i64,
    competitor: i64,
    competitor_del: i64,
    capability: i64,
    capability_del: i64,
    stakeholder: i64,
    stakeholder_del: i64,
    update: i64,
    update_pub: i64,
    webhook: i64,
    webhook_del: i64,
    delivery: i64,
    question: i64,
    proposal_accept: i64,
    proposal_decline: i64,
    comment: i64,
    roadmap_token: String,
    widget_key: String,
    workflow_states: Vec<Value>,
    state_names: Vec<String>,
    outsider_id: i64,
    pm_id: i64,
    creator_id: i64,
    dod_check: i64,
    card_action: i64,
}

/// The caller's own things: their spare token and a notification of theirs.
#[derive(Default, Clone, Debug)]
struct Own {
    email: String,
    token: String,
    spare_token: i64,
    notification: i64,
}

fn case(op: &str, f: &Fx, own: &Own) -> Option<Case> {
    use Action as A;
    use Rule::*;
    let s = &f.story;
    let c = |rule: Rule, path: String, body: Option<Value>| Case {
        rule,
        path,
        body,
        late: 0,
        tolerate: &[],
        csv: None,
        also_writes: &[],
    };
    let late = |rule: Rule, path: String, body: Option<Value>| Case { late: 1, ..c(rule, path, body) };
    let read = |path: String| c(Act(A::ReadProduct), path, None);
    let p = "/api/v1/products/MX";
    Some(match op {
        "DELETE /api/v1/comments/{id}" => {
            late(AuthorOrAdmin, format!("/api/v1/comments/{}", f.comment), None)
        }
        "PATCH /api/v1/comments/{id}" => {
            c(AuthorOnly, format!("/api/v1/comments/{}", f.comment), Some(json!({"body": "edited"})))
        }
        "POST /api/v1/deliveries/{id}/retry" => Case {
            tolerate: &[409],
            ..c(Act(A::ManageWebhooks), format!("/api/v1/deliveries/{}/retry", f.delivery), None)
        },
        "GET /api/v1/feedback/{id}" => read(format!("/api/v1/feedback/{}", f.feedback)),
        "DELETE /api/v1/feedback/{id}" => {
            late(ActNoPropose(A::ScoreOpportunity), format!("/api/v1/feedback/{}", f.feedback_del), None)
        }
        "POST /api/v1/feedback/{id}/merge" => late(
            ActNoPropose(A::ScoreOpportunity),
            format!("/api/v1/feedback/{}/merge", f.feedback_merge),
            Some(json!({"into": f.feedback_into})),
        ),
        "PUT /api/v1/feedback/{id}/opportunities/{opportunity}" => c(
            ActProposeAllows(A::ScoreOpportunity),
            format!("/api/v1/feedback/{}/opportunities/{}", f.feedback, f.opportunity),
            None,
        ),
        "DELETE /api/v1/feedback/{id}/opportunities/{opportunity}" => late(
            ActProposeAllows(A::ScoreOpportunity),
            format!("/api/v1/feedback/{}/opportunities/{}", f.feedback, f.opportunity),
            None,
        ),
        "POST /api/v1/forecasts" => Case {
            tolerate: &[422],
            ..c(
                Act(A::ReadProduct),
                "/api/v1/forecasts".into(),
                Some(
                    json!({"product": "MX", "selection": {"items": [s]}, "mode": "throughput", "question": "when"}),
                ),
            )
        },
        "GET /api/v1/goals/{id}" => read(format!("/api/v1/goals/{}", f.goal)),
        // After its key results are removed.
        "DELETE /api/v1/goals/{id}" => {
            Case { late: 2, ..c(ActNoPropose(A::EditVision), format!("/api/v1/goals/{}", f.goal), None) }
        }
        "PATCH /api/v1/goals/{id}" => c(
            ActNoPropose(A::EditVision),
            format!("/api/v1/goals/{}", f.goal),
            Some(json!({"title": "Grow more"})),
        ),
        "GET /api/v1/goals/{id}/key-results" => read(format!("/api/v1/goals/{}/key-results", f.goal)),
        "POST /api/v1/goals/{id}/key-results" => c(
            ActNoPropose(A::EditVision),
            format!("/api/v1/goals/{}/key-results", f.goal),
            Some(json!({"title": "Another"})),
        ),
        "DELETE /api/v1/goals/{id}/key-results/{kr}" => late(
            ActNoPropose(A::EditVision),
            format!("/api/v1/goals/{}/key-results/{}", f.goal, f.key_result),
            None,
        ),
        "PATCH /api/v1/goals/{id}/key-results/{kr}" => c(
            ActNoPropose(A::EditVision),
            format!("/api/v1/goals/{}/key-results/{}", f.goal, f.key_result),
            Some(json!({"title": "Renamed"})),
        ),
        "GET /api/v1/goals/{id}/outcomes" => read(format!("/api/v1/goals/{}/outcomes", f.goal)),
        "GET /api/v1/initiatives/{id}" => read(format!("/api/v1/initiatives/{}", f.initiative)),
        "DELETE /api/v1/initiatives/{id}" => {
            late(ActNoPropose(A::EditRoadmap), format!("/api/v1/initiatives/{}", f.initiative_del), None)
        }
        "PATCH /api/v1/initiatives/{id}" => c(
            Act(A::EditRoadmap),
            format!("/api/v1/initiatives/{}", f.initiative),
            Some(json!({"title": "Renamed initiative"})),
        ),
        "GET /api/v1/initiatives/{id}/outcomes" => {
            read(format!("/api/v1/initiatives/{}/outcomes", f.initiative))
        }
        "GET /api/v1/initiatives/{id}/prd" => read(format!("/api/v1/initiatives/{}/prd", f.initiative)),
        "PUT /api/v1/initiatives/{id}/prd" => c(
            Act(A::EditPrd),
            format!("/api/v1/initiatives/{}/prd", f.initiative),
            Some(json!({"sections": {}, "reset": []})),
        ),
        "POST /api/v1/initiatives/{id}/prd/regenerate" => {
            // Renders the generated text; stores nothing.
            read(format!("/api/v1/initiatives/{}/prd/regenerate", f.initiative))
        }
        "GET /api/v1/items/{key}" => read(format!("/api/v1/items/{s}")),
        "DELETE /api/v1/items/{key}" => late(Act(A::DeleteItem), format!("/api/v1/items/{}", f.doomed), None),
        "PATCH /api/v1/items/{key}" => {
            c(Act(A::EditItem), format!("/api/v1/items/{s}"), Some(json!({"title": "Retitled"})))
        }
        "POST /api/v1/items/{key}/acceptance" => Case {
            tolerate: &[409, 422],
            ..c(Act(A::Transition), format!("/api/v1/items/{s}/acceptance"), Some(json!({"action": "ready"})))
        },
        "GET /api/v1/items/{key}/chain" => read(format!("/api/v1/items/{s}/chain")),
        "PUT /api/v1/items/{key}/checks" => c(
            Act(A::CheckCriterion),
            format!("/api/v1/items/{s}/checks"),
            Some(json!({"dod": [f.dod_check]})),
        ),
        "GET /api/v1/items/{key}/criteria" => read(format!("/api/v1/items/{s}/criteria")),
        "POST /api/v1/items/{key}/criteria" => c(
            Act(A::EditCriteria),
            format!("/api/v1/items/{s}/criteria"),
            Some(json!({"text": "It is fast"})),
        ),
        "DELETE /api/v1/items/{key}/criteria/{id}" => {
            late(Act(A::EditCriteria), format!("/api/v1/items/{s}/criteria/{}", f.criterion_del), None)
        }
        "PATCH /api/v1/items/{key}/criteria/{id}" => c(
            Act(A::CheckCriterion),
            format!("/api/v1/items/{s}/criteria/{}", f.criterion),
            Some(json!({"checked": true})),
        ),
        "GET /api/v1/items/{key}/history" => read(format!("/api/v1/items/{s}/history")),
        "GET /api/v1/items/{key}/links" => read(format!("/api/v1/items/{s}/links")),
        "POST /api/v1/items/{key}/links" => c(
            Act(A::EditItem),
            format!("/api/v1/items/{s}/links"),
            Some(json!({"kind": "relates_to", "to": f.story2})),
        ),
        "DELETE /api/v1/items/{key}/links/{id}" => {
            late(Act(A::EditItem), format!("/api/v1/items/{s}/links/{}", f.link), None)
        }
        "POST /api/v1/items/{key}/move" => {
            c(Act(A::Reorder), format!("/api/v1/items/{}/move", f.story2), Some(json!({"top": true})))
        }
        "GET /api/v1/items/{key}/poker" => read(format!("/api/v1/items/{s}/poker")),
        "POST /api/v1/items/{key}/poker" => Case {
            tolerate: &[409],
            ..c(ActNoPropose(A::RunPoker), format!("/api/v1/items/{}/poker", f.story2), None)
        },
        "POST /api/v1/items/{key}/poker/close" => Case {
            tolerate: &[409],
            ..late(ActNoPropose(A::RunPoker), format!("/api/v1/items/{s}/poker/close"), None)
        },
        "POST /api/v1/items/{key}/poker/estimate" => Case {
            tolerate: &[409],
            ..late(
                Act(A::Estimate),
                format!("/api/v1/items/{s}/poker/estimate"),
                Some(json!({"estimate": 3})),
            )
        },
        "GET /api/v1/items/{key}/poker/events" => read(format!("/api/v1/items/{s}/poker/events")),
        "POST /api/v1/items/{key}/poker/reveal" => Case {
            tolerate: &[409],
            ..c(ActNoPropose(A::RunPoker), format!("/api/v1/items/{s}/poker/reveal"), None)
        },
        "POST /api/v1/items/{key}/poker/revote" => Case {
            tolerate: &[409],
            ..c(ActNoPropose(A::RunPoker), format!("/api/v1/items/{s}/poker/revote"), None)
        },
        "POST /api/v1/items/{key}/poker/vote" => Case {
            tolerate: &[409],
            ..c(Act(A::Estimate), format!("/api/v1/items/{s}/poker/vote"), Some(json!({"card": "3"})))
        },
        "GET /api/v1/items/{key}/prd" => read(format!("/api/v1/items/{}/prd", f.epic)),
        "PUT /api/v1/items/{key}/prd" => c(
            Act(A::EditPrd),
            format!("/api/v1/items/{}/prd", f.epic),
            Some(json!({"sections": {}, "reset": []})),
        ),
        "POST /api/v1/items/{key}/prd/regenerate" => read(format!("/api/v1/items/{}/prd/regenerate", f.epic)),
        "GET /api/v1/items/{key}/questions" => read(format!("/api/v1/items/{s}/questions")),
        "POST /api/v1/items/{key}/questions" => {
            c(Act(A::ReadProduct), format!("/api/v1/items/{s}/questions"), Some(json!({"text": "Why?"})))
        }
        "POST /api/v1/items/{key}/questions/{id}/answer" => c(
            ActNoPropose(A::EditItem),
            format!("/api/v1/items/{s}/questions/{}/answer", f.question),
            Some(json!({"text": "Because"})),
        ),
        "POST /api/v1/items/{key}/split" => late(
            Act(A::CreateItem),
            format!("/api/v1/items/{}/split", f.split),
            Some(json!({"titles": ["One", "Two"]})),
        ),
        "GET /api/v1/kpis/{id}" => read(format!("/api/v1/kpis/{}", f.kpi)),
        "DELETE /api/v1/kpis/{id}" => {
            late(ActNoPropose(A::EditVision), format!("/api/v1/kpis/{}", f.kpi_del), None)
        }
        "PATCH /api/v1/kpis/{id}" => c(
            ActNoPropose(A::EditVision),
            format!("/api/v1/kpis/{}", f.kpi),
            Some(json!({"name": "NPS score"})),
        ),
        "GET /api/v1/kpis/{id}/measurements" => read(format!("/api/v1/kpis/{}/measurements", f.kpi)),
        "POST /api/v1/kpis/{id}/measurements" => c(
            ActProposeAllows(A::EditVision),
            format!("/api/v1/kpis/{}/measurements", f.kpi),
            Some(json!({"date": "2026-01-02", "value": 5})),
        ),
        "POST /api/v1/kpis/{id}/measurements/import" => Case {
            csv: Some("date,value,note\n2026-01-03,6,csv\n".into()),
            ..c(ActProposeAllows(A::EditVision), format!("/api/v1/kpis/{}/measurements/import", f.kpi), None)
        },
        "GET /api/v1/me" => c(SignedIn, "/api/v1/me".into(), None),
        "GET /api/v1/notifications" => c(SignedIn, "/api/v1/notifications".into(), None),
        "POST /api/v1/notifications/read-all" => c(SignedIn, "/api/v1/notifications/read-all".into(), None),
        "POST /api/v1/notifications/{id}/read" => {
            c(OwnInProduct, format!("/api/v1/notifications/{}/read", own.notification), None)
        }
        "GET /api/v1/opportunities/{id}" => read(format!("/api/v1/opportunities/{}", f.opportunity)),
        "DELETE /api/v1/opportunities/{id}" => {
            late(ActNoPropose(A::ScoreOpportunity), format!("/api/v1/opportunities/{}", f.opp_del), None)
        }
        "PATCH /api/v1/opportunities/{id}" => c(
            Act(A::ScoreOpportunity),
            format!("/api/v1/opportunities/{}", f.opportunity),
            Some(json!({"scores": {"ice": {"impact": 5, "confidence": 5, "ease": 5}}})),
        ),
        "POST /api/v1/opportunities/{id}/merge" => late(
            ActNoPropose(A::ScoreOpportunity),
            format!("/api/v1/opportunities/{}/merge", f.opp_merge),
            Some(json!({"into": f.opportunity})),
        ),
        "POST /api/v1/opportunities/{id}/promote" => late(
            Act(A::PromoteOpportunity),
            format!("/api/v1/opportunities/{}/promote", f.opp_promote),
            Some(json!({})),
        ),
        "GET /api/v1/portfolio" => c(SignedIn, "/api/v1/portfolio".into(), None),
        "GET /api/v1/products" => c(SignedIn, "/api/v1/products".into(), None),
        "POST /api/v1/products" => c(
            AdminOnly,
            "/api/v1/products".into(),
            Some(json!({"key": "NEWP", "name": "New", "description": ""})),
        ),
        "GET /api/v1/products/{product}" => read(p.into()),
        "PATCH /api/v1/products/{product}" => {
            c(ActNoPropose(A::EditProduct), p.into(), Some(json!({"description": "Changed"})))
        }
        "GET /api/v1/products/{product}/alignment" => read(format!("{p}/alignment")),
        "GET /api/v1/products/{product}/backlog" => read(format!("{p}/backlog")),
        "GET /api/v1/products/{product}/bug-trend" => read(format!("{p}/bug-trend")),
        "POST /api/v1/products/{product}/capabilities" => {
            c(ActNoPropose(A::EditRoadmap), format!("{p}/capabilities"), Some(json!({"name": "Offline"})))
        }
        "DELETE /api/v1/products/{product}/capabilities/{id}" => {
            late(ActNoPropose(A::EditRoadmap), format!("{p}/capabilities/{}", f.capability_del), None)
        }
        "PATCH /api/v1/products/{product}/capabilities/{id}" => c(
            ActNoPropose(A::EditRoadmap),
            format!("{p}/capabilities/{}", f.capability),
            Some(json!({"name": "Speedy"})),
        ),
        "GET /api/v1/products/{product}/competitors" => read(format!("{p}/competitors")),
        "POST /api/v1/products/{product}/competitors" => {
            c(ActNoPropose(A::EditRoadmap), format!("{p}/competitors"), Some(json!({"name": "Upstart"})))
        }
        "PUT /api/v1/products/{product}/competitors/{competitor}/cells/{capability}" => c(
            ActNoPropose(A::EditRoadmap),
            format!("{p}/competitors/{}/cells/{}", f.competitor, f.capability),
            Some(json!({"mark": "has", "notes": ""})),
        ),
        "DELETE /api/v1/products/{product}/competitors/{id}" => {
            late(ActNoPropose(A::EditRoadmap), format!("{p}/competitors/{}", f.competitor_del), None)
        }
        "PATCH /api/v1/products/{product}/competitors/{id}" => c(
            ActNoPropose(A::EditRoadmap),
            format!("{p}/competitors/{}", f.competitor),
            Some(json!({"pricing": "Free"})),
        ),
        "GET /api/v1/products/{product}/cumulative-flow" => read(format!("{p}/cumulative-flow")),
        "GET /api/v1/products/{product}/cycle-time" => read(format!("{p}/cycle-time")),
        "GET /api/v1/products/{product}/decisions" => read(format!("{p}/decisions")),
        "GET /api/v1/products/{product}/definition-of-done" => read(format!("{p}/definition-of-done")),
        "PUT /api/v1/products/{product}/definition-of-done" => c(
            Act(A::EditItem),
            format!("{p}/definition-of-done"),
            Some(json!({"checks": [{"text": "Tested"}]})),
        ),
        "GET /api/v1/products/{product}/definition-of-ready" => read(format!("{p}/definition-of-ready")),
        "PUT /api/v1/products/{product}/definition-of-ready" => c(
            Act(A::EditItem),
            format!("{p}/definition-of-ready"),
            Some(json!({"checks": [{"rule": "estimated"}]})),
        ),
        "GET /api/v1/products/{product}/feedback" => read(format!("{p}/feedback")),
        "POST /api/v1/products/{product}/feedback" => {
            c(Act(A::SendFeedback), format!("{p}/feedback"), Some(json!({"text": "Love it"})))
        }
        "POST /api/v1/products/{product}/feedback/import" => Case {
            csv: Some("person,company,text\nAnn,Acme,Too slow\n".into()),
            ..c(Act(A::SendFeedback), format!("{p}/feedback/import"), None)
        },
        "GET /api/v1/products/{product}/goals" => read(format!("{p}/goals")),
        "POST /api/v1/products/{product}/goals" => {
            c(ActNoPropose(A::EditVision), format!("{p}/goals"), Some(json!({"title": "Retain"})))
        }
        "GET /api/v1/products/{product}/initiatives" => read(format!("{p}/initiatives")),
        "POST /api/v1/products/{product}/initiatives" => {
            c(Act(A::EditRoadmap), format!("{p}/initiatives"), Some(json!({"title": "Mobile"})))
        }
        "GET /api/v1/products/{product}/items" => read(format!("{p}/items")),
        "POST /api/v1/products/{product}/items" => {
            c(Act(A::CreateItem), format!("{p}/items"), Some(json!({"title": "A new story"})))
        }
        "POST /api/v1/products/{product}/items/bulk" => c(
            ActNoPropose(A::EditItem),
            format!("{p}/items/bulk"),
            Some(json!({"keys": [f.story2], "set": {"labels_add": ["bulk"]}})),
        ),
        "GET /api/v1/products/{product}/kpis" => read(format!("{p}/kpis")),
        "POST /api/v1/products/{product}/kpis" => c(
            ActNoPropose(A::EditVision),
            format!("{p}/kpis"),
            Some(json!({"name": "Churn", "baseline": 3, "target": 5})),
        ),
        "GET /api/v1/products/{product}/launch-template" => read(format!("{p}/launch-template")),
        "PUT /api/v1/products/{product}/launch-template" => c(
            ActNoPropose(A::ReleaseGoNoGo),
            format!("{p}/launch-template"),
            Some(json!({"items": [{"title": "Docs", "due_offset_days": 0}]})),
        ),
        "GET /api/v1/products/{product}/members" => read(format!("{p}/members")),
        "PUT /api/v1/products/{product}/members/{user_id}" => c(
            Act(A::ManageMembers),
            format!("{p}/members/{}", f.outsider_id),
            Some(json!({"roles": ["stakeholder"]})),
        ),
        "DELETE /api/v1/products/{product}/members/{user_id}" => {
            late(Act(A::ManageMembers), format!("{p}/members/{}", f.pm_id), None)
        }
        "GET /api/v1/products/{product}/opportunities" => read(format!("{p}/opportunities")),
        "POST /api/v1/products/{product}/opportunities" => c(
            ActProposeAllows(A::ScoreOpportunity),
            format!("{p}/opportunities"),
            Some(json!({"title": "Dark mode"})),
        ),
        "GET /api/v1/products/{product}/proposals" => read(format!("{p}/proposals")),
        "POST /api/v1/products/{product}/proposals" => c(
            Act(A::EditItem),
            format!("{p}/proposals"),
            Some(json!({"type": "update_item", "item": f.story2, "fields": {"title": "Proposed title"}})),
        ),
        "GET /api/v1/products/{product}/ranking" => read(format!("{p}/ranking")),
        "PUT /api/v1/products/{product}/ranking" => {
            c(ActNoPropose(A::ScoreOpportunity), format!("{p}/ranking"), Some(json!({"framework": "ice"})))
        }
        "GET /api/v1/products/{product}/readiness" => read(format!("{p}/readiness")),
        "GET /api/v1/products/{product}/releases" => read(format!("{p}/releases")),
        "POST /api/v1/products/{product}/releases" => {
            c(ActNoPropose(A::EditItem), format!("{p}/releases"), Some(json!({"name": "Autumn"})))
        }
        "GET /api/v1/products/{product}/roadmap" => read(format!("{p}/roadmap")),
        "POST /api/v1/products/{product}/roadmap/publish" => {
            // Publishing again makes a new link: after the published roadmap is read.
            late(ActNoPropose(A::EditRoadmap), format!("{p}/roadmap/publish"), None)
        }
        "DELETE /api/v1/products/{product}/roadmap/publish" => {
            late(ActNoPropose(A::EditRoadmap), format!("{p}/roadmap/publish"), None)
        }
        "GET /api/v1/products/{product}/stakeholder-updates" => read(format!("{p}/stakeholder-updates")),
        "POST /api/v1/products/{product}/stakeholder-updates" => {
            c(ActNoPropose(A::EditRoadmap), format!("{p}/stakeholder-updates"), None)
        }
        "GET /api/v1/products/{product}/stakeholders" => read(format!("{p}/stakeholders")),
        "POST /api/v1/products/{product}/stakeholders" => c(
            ActNoPropose(A::EditRoadmap),
            format!("{p}/stakeholders"),
            Some(json!({"person": "Bob", "power": 3, "interest": 4})),
        ),
        "GET /api/v1/products/{product}/teams" => read(format!("{p}/teams")),
        "POST /api/v1/products/{product}/teams" => {
            c(ActNoPropose(A::ManageSprint), format!("{p}/teams"), Some(json!({"name": "Second"})))
        }
        "GET /api/v1/products/{product}/throughput" => read(format!("{p}/throughput")),
        "GET /api/v1/products/{product}/vision" => read(format!("{p}/vision")),
        "PUT /api/v1/products/{product}/vision" => c(
            Act(A::EditVision),
            format!("{p}/vision"),
            Some(
                json!({"statement": "Better", "target_group": "Teams", "needs": "Focus", "product": "Keel", "business_goals": "Grow"}),
            ),
        ),
        "GET /api/v1/products/{product}/vision-card" => read(format!("{p}/vision-card")),
        "GET /api/v1/products/{product}/vision/compare" => read(format!("{p}/vision/compare?a=1&b=1")),
        "GET /api/v1/products/{product}/vision/versions" => read(format!("{p}/vision/versions")),
        "GET /api/v1/products/{product}/vision/versions/{n}" => read(format!("{p}/vision/versions/1")),
        "GET /api/v1/products/{product}/webhooks" => c(Act(A::ManageWebhooks), format!("{p}/webhooks"), None),
        "POST /api/v1/products/{product}/webhooks" => c(
            Act(A::ManageWebhooks),
            format!("{p}/webhooks"),
            Some(json!({"url": "http://127.0.0.1:9/hook", "events": ["item.created"]})),
        ),
        // A dry run: the import's rights (all four actions allowed outright), nothing written.
        "POST /api/v1/products/{product}/import" => c(
            ActNoPropose(A::EditItem),
            format!("{p}/import"),
            Some(json!({"format": "jira", "dry_run": true,
                "files": [{"name": "issues.csv", "content_base64": "U3VtbWFyeSxJc3N1ZSBrZXksSXNzdWUgVHlwZSxTdGF0dXMKQSxNWC0xLFN0b3J5LFRvIERvCg=="}]})),
        ),
        "GET /api/v1/products/{product}/widget" => read(format!("{p}/widget")),
        "PUT /api/v1/products/{product}/widget" => c(
            ActNoPropose(A::EditProduct),
            format!("{p}/widget"),
            Some(json!({"enabled": true, "origins": ["https://example.com"]})),
        ),
        "POST /api/v1/products/{product}/widget/rotate" => {
            late(ActNoPropose(A::EditProduct), format!("{p}/widget/rotate"), None)
        }
        "GET /api/v1/products/{product}/work-in-progress" => read(format!("{p}/work-in-progress")),
        "GET /api/v1/products/{product}/workflow" => read(format!("{p}/workflow")),
        "PUT /api/v1/products/{product}/workflow" => {
            let mut states = f.workflow_states.clone();
            states.push(json!({"name": "Review", "category": "in_progress"}));
            late(
                ActOrAdmin(A::EditWorkflow),
                format!("{p}/workflow"),
                Some(json!({"states": states, "remap": []})),
            )
        }
        "GET /api/v1/proposals/{id}" => read(format!("/api/v1/proposals/{}", f.proposal_accept)),
        "POST /api/v1/proposals/{id}/accept" => {
            late(ActNoPropose(A::EditItem), format!("/api/v1/proposals/{}/accept", f.proposal_accept), None)
        }
        "POST /api/v1/proposals/{id}/decline" => late(
            ActNoPropose(A::EditItem),
            format!("/api/v1/proposals/{}/decline", f.proposal_decline),
            Some(json!({"reason": "Not now"})),
        ),
        "GET /api/v1/releases/{id}" => read(format!("/api/v1/releases/{}", f.release)),
        "DELETE /api/v1/releases/{id}" => {
            late(ActNoPropose(A::EditItem), format!("/api/v1/releases/{}", f.release_del), None)
        }
        "PATCH /api/v1/releases/{id}" => c(
            ActNoPropose(A::EditItem),
            format!("/api/v1/releases/{}", f.release),
            Some(json!({"description": "Big one"})),
        ),
        "GET /api/v1/releases/{id}/burnup" => read(format!("/api/v1/releases/{}/burnup", f.release)),
        "GET /api/v1/releases/{id}/launch" => read(format!("/api/v1/releases/{}/launch", f.release)),
        "POST /api/v1/releases/{id}/launch/decision" => c(
            ActRecommend(A::ReleaseGoNoGo),
            format!("/api/v1/releases/{}/launch/decision", f.release),
            Some(json!({"decision": "no_go", "note": "Not yet", "acknowledge_open": false})),
        ),
        "POST /api/v1/releases/{id}/launch/items" => c(
            ActNoPropose(A::ReleaseGoNoGo),
            format!("/api/v1/releases/{}/launch/items", f.release),
            Some(json!({"title": "Press kit"})),
        ),
        "PUT /api/v1/releases/{id}/launch/items/{n}" => c(
            ActNoPropose(A::ReleaseGoNoGo),
            format!("/api/v1/releases/{}/launch/items/{}", f.release, f.launch_item),
            Some(json!({"note": "On it"})),
        ),
        "DELETE /api/v1/releases/{id}/launch/items/{n}" => late(
            ActNoPropose(A::ReleaseGoNoGo),
            format!("/api/v1/releases/{}/launch/items/{}", f.release, f.launch_item),
            None,
        ),
        "GET /api/v1/releases/{id}/notes" => read(format!("/api/v1/releases/{}/notes", f.release)),
        "POST /api/v1/releases/{id}/release" => late(
            Act(A::ReleaseGoNoGo),
            format!("/api/v1/releases/{}/release", f.release_ship),
            Some(json!({"open_items": "keep"})),
        ),
        "DELETE /api/v1/retro-cards/{id}" => {
            late(ActNoPropose(A::ManageSprint), format!("/api/v1/retro-cards/{}", f.card_del), None)
        }
        "PATCH /api/v1/retro-cards/{id}" => c(
            ActNoPropose(A::ManageSprint),
            format!("/api/v1/retro-cards/{}", f.card),
            Some(json!({"text": "Changed"})),
        ),
        "POST /api/v1/retro-cards/{id}/to-item" => Case {
            also_writes: &["retro_card"],
            ..late(
                Act(A::CreateItem),
                format!("/api/v1/retro-cards/{}/to-item", f.card_action),
                Some(json!({})),
            )
        },
        "POST /api/v1/retro-cards/{id}/vote" => {
            c(Act(A::Retrospective), format!("/api/v1/retro-cards/{}/vote", f.card), None)
        }
        "GET /api/v1/roadmaps/published/{token}" => {
            c(Public, format!("/api/v1/roadmaps/published/{}", f.roadmap_token), None)
        }
        "GET /api/v1/search" => c(SignedIn, "/api/v1/search?q=story".into(), None),
        "POST /api/v1/session" => c(
            Public,
            "/api/v1/session".into(),
            Some(
                json!({"email": if own.email.is_empty() { "pm@keel.test" } else { &own.email }, "password": MEMBER_PASSWORD}),
            ),
        ),
        "DELETE /api/v1/session" => late(Public, "/api/v1/session".into(), None),
        "GET /api/v1/sprints/{id}" => read(format!("/api/v1/sprints/{}", f.sprint)),
        "DELETE /api/v1/sprints/{id}" => {
            late(ActNoPropose(A::ManageSprint), format!("/api/v1/sprints/{}", f.sprint_spare), None)
        }
        "PATCH /api/v1/sprints/{id}" => c(
            ActNoPropose(A::ManageSprint),
            format!("/api/v1/sprints/{}", f.sprint),
            Some(json!({"goal": "Ship search"})),
        ),
        "GET /api/v1/sprints/{id}/burndown" => read(format!("/api/v1/sprints/{}/burndown", f.sprint)),
        "GET /api/v1/sprints/{id}/burnup" => read(format!("/api/v1/sprints/{}/burnup", f.sprint)),
        "PUT /api/v1/sprints/{id}/capacity" => c(
            ActNoPropose(A::ManageSprint),
            format!("/api/v1/sprints/{}/capacity", f.sprint),
            Some(json!({"capacity": [{"user": "team@keel.test", "points": 3}]})),
        ),
        // After the sprint's items are removed: closing moves them out.
        "POST /api/v1/sprints/{id}/close" => Case {
            late: 2,
            ..c(
                Act(A::ManageSprint),
                format!("/api/v1/sprints/{}/close", f.sprint),
                Some(json!({"destination": "backlog"})),
            )
        },
        "GET /api/v1/sprints/{id}/items" => read(format!("/api/v1/sprints/{}/items", f.sprint)),
        "POST /api/v1/sprints/{id}/items" => c(
            Act(A::ManageSprint),
            format!("/api/v1/sprints/{}/items", f.sprint),
            Some(json!({"key": f.story2})),
        ),
        "DELETE /api/v1/sprints/{id}/items/{key}" => {
            late(Act(A::ManageSprint), format!("/api/v1/sprints/{}/items/{s}", f.sprint), None)
        }
        "GET /api/v1/sprints/{id}/retro" => read(format!("/api/v1/sprints/{}/retro", f.sprint)),
        "POST /api/v1/sprints/{id}/retro/cards" => c(
            Act(A::Retrospective),
            format!("/api/v1/sprints/{}/retro/cards", f.sprint),
            Some(json!({"column": "went_well", "text": "Pairing"})),
        ),
        "GET /api/v1/sprints/{id}/review" => read(format!("/api/v1/sprints/{}/review", f.sprint)),
        "PUT /api/v1/sprints/{id}/review" => c(
            ActNoPropose(A::ManageSprint),
            format!("/api/v1/sprints/{}/review", f.sprint),
            Some(json!({"summary": "Went fine", "publish": false})),
        ),
        "POST /api/v1/sprints/{id}/start" => {
            // The seeded sprint runs already (so that a close can be proposed).
            Case {
                tolerate: &[409],
                ..c(Act(A::ManageSprint), format!("/api/v1/sprints/{}/start", f.sprint), Some(json!({})))
            }
        }
        "GET /api/v1/stakeholder-updates/{id}" => {
            c(Hidden(A::EditRoadmap), format!("/api/v1/stakeholder-updates/{}", f.update), None)
        }
        "PATCH /api/v1/stakeholder-updates/{id}" => c(
            Hidden(A::EditRoadmap),
            format!("/api/v1/stakeholder-updates/{}", f.update),
            Some(json!({"title": "March"})),
        ),
        "POST /api/v1/stakeholder-updates/{id}/publish" => late(
            Hidden(A::EditRoadmap),
            format!("/api/v1/stakeholder-updates/{}/publish", f.update_pub),
            None,
        ),
        "GET /api/v1/stakeholders/{id}" => read(format!("/api/v1/stakeholders/{}", f.stakeholder)),
        "DELETE /api/v1/stakeholders/{id}" => {
            late(ActNoPropose(A::EditRoadmap), format!("/api/v1/stakeholders/{}", f.stakeholder_del), None)
        }
        "PATCH /api/v1/stakeholders/{id}" => c(
            ActNoPropose(A::EditRoadmap),
            format!("/api/v1/stakeholders/{}", f.stakeholder),
            Some(json!({"role": "executive"})),
        ),
        "POST /api/v1/stakeholders/{id}/contacts" => c(
            ActNoPropose(A::EditRoadmap),
            format!("/api/v1/stakeholders/{}/contacts", f.stakeholder),
            Some(json!({"date": "2026-01-05", "channel": "call", "notes": ""})),
        ),
        "GET /api/v1/teams/{id}" => read(format!("/api/v1/teams/{}", f.team)),
        "DELETE /api/v1/teams/{id}" => {
            late(ActNoPropose(A::ManageSprint), format!("/api/v1/teams/{}", f.team_spare), None)
        }
        "PATCH /api/v1/teams/{id}" => c(
            ActNoPropose(A::ManageSprint),
            format!("/api/v1/teams/{}", f.team),
            Some(json!({"name": "Core two"})),
        ),
        "GET /api/v1/teams/{id}/board" => read(format!("/api/v1/teams/{}/board", f.team)),
        "PUT /api/v1/teams/{id}/board" => late(
            ActOrAdmin(A::EditWorkflow),
            format!("/api/v1/teams/{}/board", f.team),
            Some(
                json!({"columns": f.state_names.iter().map(|n| json!({"name": n, "states": [n]})).collect::<Vec<_>>()}),
            ),
        ),
        "GET /api/v1/teams/{id}/board/breaches" => read(format!("/api/v1/teams/{}/board/breaches", f.team)),
        "POST /api/v1/teams/{id}/board/moves" => c(
            Act(A::Transition),
            format!("/api/v1/teams/{}/board/moves", f.team),
            Some(json!({"key": s, "column": f.state_names[1]})),
        ),
        "GET /api/v1/teams/{id}/members" => read(format!("/api/v1/teams/{}/members", f.team)),
        "PUT /api/v1/teams/{id}/members" => c(
            ActNoPropose(A::ManageSprint),
            format!("/api/v1/teams/{}/members", f.team),
            Some(json!({"members": [{"user": "team@keel.test", "points": 8}]})),
        ),
        "GET /api/v1/teams/{id}/sprints" => read(format!("/api/v1/teams/{}/sprints", f.team)),
        "POST /api/v1/teams/{id}/sprints" => c(
            ActNoPropose(A::ManageSprint),
            format!("/api/v1/teams/{}/sprints", f.team),
            Some(json!({"name": "Later", "start": "2026-03-02", "end": "2026-03-13"})),
        ),
        "GET /api/v1/teams/{id}/standup" => read(format!("/api/v1/teams/{}/standup", f.team)),
        "GET /api/v1/teams/{id}/velocity" => read(format!("/api/v1/teams/{}/velocity", f.team)),
        "GET /api/v1/tokens" => c(SignedIn, "/api/v1/tokens".into(), None),
        "POST /api/v1/tokens" => c(SignedIn, "/api/v1/tokens".into(), Some(json!({"name": "ci"}))),
        "DELETE /api/v1/tokens/{id}" => late(SignedIn, format!("/api/v1/tokens/{}", own.spare_token), None),
        "GET /api/v1/users" => c(AdminOnly, "/api/v1/users".into(), None),
        "POST /api/v1/users" => c(
            AdminOnly,
            "/api/v1/users".into(),
            Some(json!({"email": "new@keel.test", "password": "new-password-1", "is_admin": false})),
        ),
        "GET /api/v1/users/{id}" => c(AdminOnlyHidden, format!("/api/v1/users/{}", f.creator_id), None),
        "PATCH /api/v1/users/{id}" => {
            c(AdminOnly, format!("/api/v1/users/{}", f.creator_id), Some(json!({"name": "First admin"})))
        }
        "GET /api/v1/webhook-events" => c(SignedIn, "/api/v1/webhook-events".into(), None),
        "GET /api/v1/webhooks/{id}" => {
            c(Act(A::ManageWebhooks), format!("/api/v1/webhooks/{}", f.webhook), None)
        }
        "DELETE /api/v1/webhooks/{id}" => {
            late(Act(A::ManageWebhooks), format!("/api/v1/webhooks/{}", f.webhook_del), None)
        }
        "PATCH /api/v1/webhooks/{id}" => c(
            Act(A::ManageWebhooks),
            format!("/api/v1/webhooks/{}", f.webhook),
            Some(json!({"active": false})),
        ),
        "GET /api/v1/webhooks/{id}/deliveries" => {
            c(Act(A::ManageWebhooks), format!("/api/v1/webhooks/{}/deliveries", f.webhook), None)
        }
        "POST /api/v1/widget/{public_key}/feedback" => c(
            Public,
            format!("/api/v1/widget/{}/feedback", f.widget_key),
            Some(json!({"text": "From the widget"})),
        ),
        "GET /api/v1/{kind}/{id}/comments" => read(format!("/api/v1/items/{s}/comments")),
        "POST /api/v1/{kind}/{id}/comments" => {
            c(Act(A::ReadProduct), format!("/api/v1/items/{s}/comments"), Some(json!({"body": "A thought"})))
        }
        "PUT /api/v1/{kind}/{id}/watch" => c(Act(A::ReadProduct), format!("/api/v1/items/{s}/watch"), None),
        "DELETE /api/v1/{kind}/{id}/watch" => {
            late(Act(A::ReadProduct), format!("/api/v1/items/{s}/watch"), None)
        }
        "GET /api/v1/products/{product}/stream" => read(format!("{p}/stream")),
        "GET /api/v1/notifications/stream" => c(SignedIn, "/api/v1/notifications/stream".into(), None),
        // Loopback callers without a configured token (the test's case): anyone.
        "GET /metrics" => c(Public, "/metrics".into(), None),
        "GET /healthz" => c(Public, "/healthz".into(), None),
        "GET /readyz" => c(Public, "/readyz".into(), None),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// HTTP

struct Res {
    status: StatusCode,
    body: Value,
}

async fn send(
    t: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<&Value>,
    csv: Option<&str>,
) -> Res {
    let client = Client::builder().timeout(Duration::from_secs(20)).build().expect("client");
    let mut r = client.request(method, t.url(path)).header("Origin", "https://example.com");
    if let Some(tok) = token {
        r = r.bearer_auth(tok);
    }
    if let Some(b) = body {
        r = r.json(b);
    }
    if let Some(c) = csv {
        r = r.header("Content-Type", "text/csv").body(c.to_string());
    }
    let res = r.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = res.status();
    let streaming = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if streaming {
        return Res { status, body: Value::Null };
    }
    let text = res.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Res { status, body }
}

/// A seeding request as the product's creator (PM and PO); it must succeed.
async fn mk(t: &TestApp, method: Method, path: &str, body: Value) -> Value {
    let body = if body.is_null() { None } else { Some(body) };
    let r = send(t, Some(&t.admin_token), method.clone(), path, body.as_ref(), None).await;
    assert!(r.status.is_success(), "seed {method} {path}: {} {}", r.status, r.body);
    r.body
}

async fn post(t: &TestApp, path: &str, body: Value) -> Value {
    mk(t, Method::POST, path, body).await
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

/// The id of the entry called `name` in the list `list` of a whole-matrix answer.
fn named(v: &Value, list: &str, name: &str) -> i64 {
    v[list]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == name))
        .and_then(|x| x["id"].as_i64())
        .unwrap_or_else(|| panic!("no {name} in {v}"))
}

fn key(v: &Value) -> String {
    v["key"].as_str().unwrap_or_else(|| panic!("no key in {v}")).to_string()
}

// ---------------------------------------------------------------------------------------------
// Seeding

struct World {
    t: TestApp,
    fx: Fx,
    tokens: BTreeMap<&'static str, Own>,
}

fn caller_name(c: Caller) -> &'static str {
    match c {
        Caller::Pm => "pm",
        Caller::Po => "po",
        Caller::Team => "team",
        Caller::Stakeholder => "sh",
        Caller::Admin => "admin2",
        Caller::OtherMember => "other",
        Caller::NonMember => "outsider",
        Caller::SignedOut => "anon",
    }
}

async fn seed(db: TestDb) -> World {
    let mut settings = Settings::default();
    settings.webhooks.allow_private = true;
    let t = spawn_app_with(db, settings).await;
    let mx = t.product("MX").await;
    let ot = t.product("OT").await;
    let mut users = BTreeMap::new();
    for (name, roles) in [
        ("pm", vec![Role::Pm]),
        ("po", vec![Role::Po]),
        ("team", vec![Role::Team]),
        ("sh", vec![Role::Stakeholder]),
        ("outsider", vec![]),
    ] {
        let (u, tok) = t.member(&mx, &format!("{name}@keel.test"), &roles).await;
        users.insert(name, (u.id.0, tok));
    }
    let (u, tok) = t.member(&ot, "other@keel.test", &[Role::Po]).await;
    users.insert("other", (u.id.0, tok));
    let admin2 = t
        .app
        .create_user(
            None,
            keel_app::users::UserInput {
                email: "admin2@keel.test".into(),
                name: None,
                password: MEMBER_PASSWORD.into(),
                is_admin: true,
            },
        )
        .await
        .expect("admin2");
    let tok = t.app.create_token(&admin2, "tests").await.expect("token").token;
    users.insert("admin2", (admin2.id.0, tok));

    let mut f = Fx {
        outsider_id: users["outsider"].0,
        pm_id: users["pm"].0,
        creator_id: t.admin.id.0,
        ..Fx::default()
    };
    let p = "/api/v1/products/MX";
    f.epic = key(&post(&t, &format!("{p}/items"), json!({"kind": "epic", "title": "Checkout"})).await);
    f.story = key(&post(&t, &format!("{p}/items"), json!({"title": "Pay by card", "parent": f.epic})).await);
    f.story2 = key(&post(&t, &format!("{p}/items"), json!({"title": "Pay by invoice"})).await);
    f.doomed = key(&post(&t, &format!("{p}/items"), json!({"title": "Doomed"})).await);
    f.split = key(&post(&t, &format!("{p}/items"), json!({"title": "Too big"})).await);
    let s = f.story.clone();
    let c1 = post(&t, &format!("/api/v1/items/{s}/criteria"), json!({"text": "Card accepted"})).await;
    let c2 = post(&t, &format!("/api/v1/items/{s}/criteria"), json!({"text": "Receipt sent"})).await;
    f.criterion = criterion_id(&c1, "Card accepted");
    f.criterion_del = criterion_id(&c2, "Receipt sent");
    f.link =
        id(&post(&t, &format!("/api/v1/items/{s}/links"), json!({"kind": "blocks", "to": f.story2})).await);
    let wf = mk(&t, Method::GET, &format!("{p}/workflow"), Value::Null).await;
    f.workflow_states = wf
        .as_array()
        .expect("states")
        .iter()
        .map(|s| json!({"id": s["id"], "name": s["name"], "category": s["category"]}))
        .collect();
    f.state_names = wf.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_string()).collect();

    f.team = id(&post(&t, &format!("{p}/teams"), json!({"name": "Core"})).await);
    f.team_spare = id(&post(&t, &format!("{p}/teams"), json!({"name": "Spare"})).await);
    mk(
        &t,
        Method::PUT,
        &format!("/api/v1/teams/{}/members", f.team),
        json!({"members": [{"user": "team@keel.test", "points": 5}]}),
    )
    .await;
    let sp = format!("/api/v1/teams/{}/sprints", f.team);
    f.sprint = id(&post(&t, &sp, json!({"name": "S1", "start": "2026-01-05", "end": "2026-01-16"})).await);
    f.sprint_spare =
        id(&post(&t, &sp, json!({"name": "S2", "start": "2026-01-19", "end": "2026-01-30"})).await);
    post(&t, &format!("/api/v1/sprints/{}/items", f.sprint), json!({"key": s})).await;
    post(&t, &format!("/api/v1/sprints/{}/start", f.sprint), json!({})).await;
    let rc = format!("/api/v1/sprints/{}/retro/cards", f.sprint);
    f.card = id(&post(&t, &rc, json!({"column": "went_well", "text": "Pairing helped"})).await);
    f.card_del = id(&post(&t, &rc, json!({"column": "to_improve", "text": "Flaky CI"})).await);
    f.card_action = id(&post(&t, &rc, json!({"column": "actions", "text": "Fix CI"})).await);
    let dod = mk(&t, Method::GET, &format!("{p}/definition-of-done"), Value::Null).await;
    f.dod_check = dod["checks"][0]["id"].as_i64().unwrap_or_else(|| panic!("no DoD check in {dod}"));

    f.release = id(&post(&t, &format!("{p}/releases"), json!({"name": "Spring"})).await);
    f.release_del = id(&post(&t, &format!("{p}/releases"), json!({"name": "Never"})).await);
    f.release_ship = id(&post(&t, &format!("{p}/releases"), json!({"name": "Now"})).await);
    let li = post(&t, &format!("/api/v1/releases/{}/launch/items", f.release), json!({"title": "Blog post"}))
        .await;
    f.launch_item = launch_item_n(&li);

    f.goal = id(&post(&t, &format!("{p}/goals"), json!({"title": "Grow"})).await);
    let kr = post(&t, &format!("/api/v1/goals/{}/key-results", f.goal), json!({"title": "Double"})).await;
    f.key_result = kr["key_results"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["title"] == "Double"))
        .and_then(|x| x["id"].as_i64())
        .unwrap_or_else(|| panic!("no key result in {kr}"));
    f.kpi = id(&post(&t, &format!("{p}/kpis"), json!({"name": "NPS", "baseline": 10, "target": 40})).await);
    f.kpi_del = id(&post(&t, &format!("{p}/kpis"), json!({"name": "Old", "baseline": 1, "target": 2})).await);
    // Public, so that stakeholders see them (they see public initiatives only).
    let public = |title: &str| json!({"title": title, "public": true, "public_title": title});
    f.initiative = id(&post(&t, &format!("{p}/initiatives"), public("Payments")).await);
    f.initiative_del = id(&post(&t, &format!("{p}/initiatives"), public("Dropped")).await);
    let o = format!("{p}/opportunities");
    f.opportunity = id(&post(&t, &o, json!({"title": "Faster pay"})).await);
    f.opp_del = id(&post(&t, &o, json!({"title": "Gone"})).await);
    f.opp_merge = id(&post(&t, &o, json!({"title": "Same thing"})).await);
    f.opp_promote = id(&post(&t, &o, json!({"title": "Promote me"})).await);
    let fb = format!("{p}/feedback");
    f.feedback = id(&post(&t, &fb, json!({"text": "Too slow"})).await);
    f.feedback_into = id(&post(&t, &fb, json!({"text": "Slow"})).await);
    f.feedback_merge = id(&post(&t, &fb, json!({"text": "So slow"})).await);
    f.feedback_del = id(&post(&t, &fb, json!({"text": "Spam"})).await);
    f.competitor =
        named(&post(&t, &format!("{p}/competitors"), json!({"name": "Rival"})).await, "competitors", "Rival");
    f.competitor_del =
        named(&post(&t, &format!("{p}/competitors"), json!({"name": "Gone"})).await, "competitors", "Gone");
    f.capability =
        named(&post(&t, &format!("{p}/capabilities"), json!({"name": "Fast"})).await, "capabilities", "Fast");
    f.capability_del = named(
        &post(&t, &format!("{p}/capabilities"), json!({"name": "Cheap"})).await,
        "capabilities",
        "Cheap",
    );
    f.stakeholder =
        id(&post(&t, &format!("{p}/stakeholders"), json!({"person": "Ann", "power": 3, "interest": 4}))
            .await);
    f.stakeholder_del =
        id(&post(&t, &format!("{p}/stakeholders"), json!({"person": "Cy", "power": 3, "interest": 4})).await);
    f.update = id(&post(&t, &format!("{p}/stakeholder-updates"), Value::Null).await);
    f.update_pub = id(&post(&t, &format!("{p}/stakeholder-updates"), Value::Null).await);
    let wh = format!("{p}/webhooks");
    f.webhook = id(&post(&t, &wh, json!({"url": "http://127.0.0.1:9/a", "events": ["item.created"]})).await);
    f.webhook_del =
        id(&post(&t, &wh, json!({"url": "http://127.0.0.1:9/b", "events": ["item.created"]})).await);
    post(&t, &format!("{p}/items"), json!({"title": "Triggers a delivery"})).await;
    let dl = mk(&t, Method::GET, &format!("/api/v1/webhooks/{}/deliveries", f.webhook), Value::Null).await;
    let first =
        dl.as_array().and_then(|a| a.first()).or_else(|| dl["deliveries"].as_array().and_then(|a| a.first()));
    f.delivery = first.map(id).unwrap_or_else(|| panic!("no delivery in {dl}"));
    f.question =
        id(&post(&t, &format!("/api/v1/items/{s}/questions"), json!({"text": "Which cards?"})).await);
    post(&t, &format!("/api/v1/items/{s}/poker"), Value::Null).await;
    mk(
        &t,
        Method::PUT,
        &format!("{p}/vision"),
        json!({"statement": "Pay", "target_group": "Shops", "needs": "Cash", "product": "Keel", "business_goals": "Grow"}),
    )
    .await;
    let pubr = post(&t, &format!("{p}/roadmap/publish"), Value::Null).await;
    f.roadmap_token = pubr["token"].as_str().unwrap_or_else(|| panic!("no token in {pubr}")).to_string();
    mk(&t, Method::PUT, &format!("{p}/widget"), json!({"enabled": true, "origins": ["https://example.com"]}))
        .await;
    let w = mk(&t, Method::GET, &format!("{p}/widget"), Value::Null).await;
    f.widget_key = w["key"].as_str().unwrap_or_else(|| panic!("no key in {w}")).to_string();
    // Proposals from the team, for the decider to accept or decline.
    let team_tok = users["team"].1.clone();
    for slot in 0..2 {
        let r = send(
            &t,
            Some(&team_tok),
            Method::PATCH,
            &format!("/api/v1/items/{}", f.story2),
            Some(&json!({"title": format!("Proposed {slot}")})),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        let pid = r.body["proposal"]["id"].as_i64().or_else(|| r.body["id"].as_i64());
        let pid = pid.unwrap_or_else(|| panic!("no proposal id in {}", r.body));
        if slot == 0 {
            f.proposal_accept = pid;
        } else {
            f.proposal_decline = pid;
        }
    }
    // A comment that mentions every member, so each has a notification of their own.
    f.comment =
        id(&post(&t, &format!("/api/v1/items/{s}/comments"), json!({"body": "@pm @po @team @sh look"}))
            .await);

    let mut tokens = BTreeMap::new();
    for c in CALLERS {
        let name = caller_name(c);
        let Some((uid, tok)) = users.get(name).cloned() else {
            tokens.insert(name, Own::default());
            continue;
        };
        let _ = uid;
        let spare =
            send(&t, Some(&tok), Method::POST, "/api/v1/tokens", Some(&json!({"name": "spare"})), None).await;
        assert!(spare.status.is_success(), "{}", spare.body);
        let n = send(&t, Some(&tok), Method::GET, "/api/v1/notifications", None, None).await;
        let list = n
            .body
            .as_array()
            .cloned()
            .or_else(|| n.body["notifications"].as_array().cloned())
            .unwrap_or_default();
        let notification = list.first().and_then(|x| x["id"].as_i64()).unwrap_or(0);
        tokens.insert(
            name,
            Own {
                email: format!("{name}@keel.test"),
                token: tok,
                spare_token: id(&spare.body),
                notification,
            },
        );
    }
    // Callers without a notification of their own ask for the PM's.
    let pm_note = tokens["pm"].notification;
    assert!(pm_note > 0, "the mention gave the PM no notification");
    for name in ["admin2", "other", "outsider", "anon"] {
        if let Some(o) = tokens.get_mut(name) {
            o.notification = pm_note;
        }
    }
    World { t, fx: f, tokens }
}

fn criterion_id(v: &Value, text: &str) -> i64 {
    if let Some(i) = v["id"].as_i64() {
        return i;
    }
    let list = v.as_array().cloned().or_else(|| v["criteria"].as_array().cloned()).unwrap_or_default();
    list.iter()
        .find(|c| c["text"] == text)
        .and_then(|c| c["id"].as_i64())
        .unwrap_or_else(|| panic!("no criterion {text} in {v}"))
}

fn launch_item_n(v: &Value) -> i64 {
    if let Some(i) = v["n"].as_i64().or_else(|| v["id"].as_i64()) {
        return i;
    }
    let items = v["items"].as_array().unwrap_or_else(|| panic!("no launch items in {v}"));
    let last = items.last().expect("an item");
    last["n"].as_i64().or_else(|| last["id"].as_i64()).unwrap_or_else(|| panic!("no n in {last}"))
}

// ---------------------------------------------------------------------------------------------
// The database before and after

/// Every table's rows (SQLite), but the tables a read may touch by design.
fn dump(url: &str) -> BTreeMap<String, Vec<String>> {
    let path = url.strip_prefix("sqlite:").expect("sqlite url");
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open");
    let mut tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    tables.retain(|t| !IGNORED_TABLES.contains(&t.as_str()) && !t.contains("fts"));
    let mut out = BTreeMap::new();
    for t in tables {
        let mut st = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = st.column_count();
        let mut rows: Vec<String> = st
            .query_map([], |r| {
                let mut s = String::new();
                for i in 0..n {
                    let v: rusqlite::types::Value = r.get(i)?;
                    s.push_str(&format!("{v:?}|"));
                }
                Ok(s)
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.sort();
        out.insert(t, rows);
    }
    out
}

/// Tables a refused request may still write by design: the proposal it stores (and its event),
/// the token's last use, the webhook worker's progress.
const IGNORED_TABLES: &[&str] =
    &["proposals", "api_tokens", "tokens", "webhook_deliveries", "webhook_outbox"];

fn diff(
    before: &BTreeMap<String, Vec<String>>,
    after: &BTreeMap<String, Vec<String>>,
    also: &[&str],
) -> Vec<String> {
    let mut out = vec![];
    for (t, rows) in after {
        let old = before.get(t).cloned().unwrap_or_default();
        let added: Vec<_> = rows.iter().filter(|r| !old.contains(r)).collect();
        let removed: Vec<_> = old.iter().filter(|r| !rows.contains(r)).collect();
        // A proposal's own event, and the notifications telling its deciders (with their
        // events), are part of storing it.
        let added: Vec<_> = added
            .into_iter()
            .filter(|r| {
                let proposal_event = t == "events" && r.contains("proposal");
                let proposal_notice = t == "records"
                    && r.contains(r#"Text("notification")"#)
                    && r.contains(r#"\"reason\":\"proposal\""#);
                let allowed = also.iter().any(|a| r.contains(a));
                !proposal_event && !proposal_notice && !allowed
            })
            .collect();
        let removed: Vec<_> = removed.into_iter().filter(|r| !also.iter().any(|a| r.contains(a))).collect();
        if !added.is_empty() || !removed.is_empty() {
            out.push(format!("{t}: +{added:?} -{removed:?}"));
        }
    }
    out
}

fn matches(w: Want, status: StatusCode, tolerate: &[u16]) -> bool {
    match w {
        Want::Ok => status.is_success() || tolerate.contains(&status.as_u16()),
        Want::Proposed => status == StatusCode::ACCEPTED || tolerate.contains(&status.as_u16()),
        Want::Denied => status == StatusCode::FORBIDDEN,
        Want::NotFound => status == StatusCode::NOT_FOUND,
        Want::Unauthorised => status == StatusCode::UNAUTHORIZED,
    }
}

async fn operations(t: &TestApp) -> Vec<(Method, String)> {
    let doc = send(t, None, Method::GET, "/api/v1/openapi.json", None, None).await.body;
    let mut ops = vec![];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (m, _) in item.as_object().expect("path item") {
            let method = match m.as_str() {
                "get" => Method::GET,
                "post" => Method::POST,
                "put" => Method::PUT,
                "patch" => Method::PATCH,
                "delete" => Method::DELETE,
                _ => continue,
            };
            ops.push((method, path.clone()));
        }
    }
    ops
}

async fn matrix(make_db: impl AsyncFn() -> Option<TestDb>, compare_db: bool) {
    let mut failures = vec![];
    let mut missing = vec![];
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut total = 0usize;
    let mut n_ops = 0usize;
    // The positive control: allowed writes must show in the comparison, or a comparison that
    // saw nothing would prove nothing.
    let (mut controls, mut controls_seen) = (0usize, 0usize);
    for caller in CALLERS {
        let Some(db) = make_db().await else { return };
        let w = seed(db).await;
        let t = &w.t;
        let own = w.tokens[caller_name(caller)].clone();
        let token = (caller != Caller::SignedOut).then_some(own.token.as_str());
        let ops = operations(t).await;
        n_ops = ops.len();
        let mut cases = vec![];
        for (m, path) in ops {
            let op = format!("{m} {path}");
            match case(&op, &w.fx, &own) {
                Some(c) => cases.push((m, op, c)),
                None => {
                    if caller == Caller::Pm {
                        missing.push(op);
                    }
                }
            }
        }
        cases.sort_by_key(|(_, _, c)| c.late);
        for (m, op, c) in cases {
            let expect = want(c.rule, caller);
            // A go / no-go recommendation is written to the release's decision log by design.
            let recommend = matches!(c.rule, Rule::ActRecommend(_)) && expect == Want::Proposed;
            let control =
                compare_db && caller == Caller::Po && expect == Want::Ok && m != Method::GET && controls < 12;
            let before = ((compare_db && !recommend && matches!(expect, Want::Denied | Want::Proposed))
                || control)
                .then(|| dump(&w.t.db.url));
            let r = send(t, token, m, &c.path, c.body.as_ref(), c.csv.as_deref()).await;
            total += 1;
            *counts
                .entry(match expect {
                    Want::Ok => "allow",
                    Want::Proposed => "propose",
                    Want::Denied => "deny",
                    Want::NotFound => "not found",
                    Want::Unauthorised => "signed out",
                })
                .or_default() += 1;
            if !matches(expect, r.status, c.tolerate) {
                let body = r.body.to_string();
                failures.push(format!(
                    "{:?} {op} ({}): want {expect:?}, got {} {}",
                    caller,
                    c.path,
                    r.status,
                    &body[..body.len().min(160)]
                ));
                continue;
            }
            if control {
                let after = dump(&w.t.db.url);
                controls += 1;
                if !diff(before.as_ref().expect("dumped"), &after, &[]).is_empty() {
                    controls_seen += 1;
                }
                continue;
            }
            if let Some(before) = before {
                let after = dump(&w.t.db.url);
                let d = diff(&before, &after, c.also_writes);
                if !d.is_empty() {
                    failures.push(format!("{caller:?} {op}: {expect:?} but the database changed: {d:?}"));
                }
            }
        }
    }
    println!("rights matrix: {n_ops} operations x {} callers = {total} requests; {counts:?}", CALLERS.len());
    if compare_db {
        println!("positive control: {controls_seen} of {controls} allowed writes showed in the comparison");
        assert!(
            controls >= 10 && controls_seen * 2 > controls,
            "the database comparison missed allowed writes: {controls_seen} of {controls} seen"
        );
    }
    assert!(missing.is_empty(), "operations without a matrix entry (add them to `case`): {missing:#?}");
    assert!(
        failures.is_empty(),
        "{} of {total} answers differ from the rights table:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_every_operation_answers_as_the_rights_table_says() {
    matrix(async || Some(TestDb::sqlite().await), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_every_operation_answers_as_the_rights_table_says() {
    if std::env::var("KEEL_MATRIX_POSTGRES").is_err() {
        eprintln!("not run: the PostgreSQL matrix runs with KEEL_MATRIX_POSTGRES=1 (it takes minutes)");
        return;
    }
    matrix(TestDb::postgres, false).await;
}
