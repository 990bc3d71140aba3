//! Pages: customer feedback, the feedback widget, opportunities and their scores.
//!
//! `/products/{key}/opportunities` lists the product's opportunities ranked by its framework
//! (or another one, `?framework=`), with each score's parts, and forms to add, score, promote
//! and delete them. `/opportunities/{id}` and `/feedback/{id}` are the pages of one opportunity
//! and one piece of feedback: their fields, what they are linked to, and their comments.

use super::form::FormData;
use super::{finish, message, proposed_notice, redirect_with, render, Flash, Layout, UiResult};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use keel_app::discovery::{FeedbackFilter, OpportunityInput};
use keel_app::records::Stored;
use keel_app::{AppError, Outcome};
use keel_domain::comment::Subject;
use keel_domain::discovery::{
    num, Feedback, Framework, Ice, Kano, Moscow, Opportunity, Rice, Scores, Source, ValueEffort, Wsjf,
    RICE_IMPACTS,
};
use keel_domain::event::ObjectKind;
use keel_domain::pm::Initiative;
use keel_domain::rights::{Action, Decision};
use keel_domain::RecordId;
use keel_store::RecordFilter;
use serde::Deserialize;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/products/{key}/opportunities", get(page).post(create))
        .route("/products/{key}/ranking", post(set_ranking))
        .route("/opportunities/{id}", get(opportunity_page).post(update))
        .route("/products/{key}/feedback", get(inbox).post(feedback_create))
        .route("/products/{key}/feedback/import", post(feedback_import))
        .route("/feedback/{id}", get(feedback_page).post(feedback_update))
        .route("/products/{key}/widget", post(widget_update))
}

/// The page's query: messages and a one-off framework.
#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    #[serde(default)]
    notice: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    framework: Option<String>,
}

/// A framework tab.
struct Tab {
    name: &'static str,
    label: &'static str,
    current: bool,
    chosen: bool,
}

/// The score form's current values, as text.
#[derive(Default)]
struct ScoreForm {
    rice_reach: String,
    rice_impact: String,
    rice_confidence: String,
    rice_effort: String,
    wsjf_business_value: String,
    wsjf_time_criticality: String,
    wsjf_risk_reduction: String,
    wsjf_job_size: String,
    ice_impact: String,
    ice_confidence: String,
    ice_ease: String,
    ve_value: String,
    ve_effort: String,
    moscow: String,
    kano: String,
}

impl ScoreForm {
    fn of(s: &Scores) -> Self {
        let mut f = ScoreForm::default();
        if let Some(r) = s.rice {
            f.rice_reach = num(r.reach);
            f.rice_impact = num(r.impact);
            f.rice_confidence = num(r.confidence);
            f.rice_effort = num(r.effort);
        }
        if let Some(w) = s.wsjf {
            f.wsjf_business_value = num(w.business_value);
            f.wsjf_time_criticality = num(w.time_criticality);
            f.wsjf_risk_reduction = num(w.risk_reduction);
            f.wsjf_job_size = num(w.job_size);
        }
        if let Some(i) = s.ice {
            f.ice_impact = num(i.impact);
            f.ice_confidence = num(i.confidence);
            f.ice_ease = num(i.ease);
        }
        if let Some(v) = s.value_effort {
            f.ve_value = num(v.value);
            f.ve_effort = num(v.effort);
        }
        f.moscow = s.moscow.map(|m| m.as_str().to_string()).unwrap_or_default();
        f.kano = s.kano.map(|k| k.as_str().to_string()).unwrap_or_default();
        f
    }
}

/// One row of the ranked list.
struct Row {
    id: i64,
    rank: usize,
    title: String,
    description_html: String,
    score: String,
    parts: Vec<(&'static str, String)>,
    promoted: bool,
    epic: Option<String>,
    version: i64,
    form: ScoreForm,
    demand_count: usize,
    demand_revenue: String,
}

#[derive(Template)]
#[template(path = "discovery_opportunities.html")]
struct OpportunitiesPage {
    l: Layout,
    key: String,
    framework: &'static str,
    framework_label: &'static str,
    is_chosen: bool,
    tabs: Vec<Tab>,
    rows: Vec<Row>,
    initiatives: Vec<(i64, String)>,
    impacts: Vec<String>,
    moscows: Vec<&'static str>,
    kanos: Vec<&'static str>,
    may_add: bool,
    may_score: bool,
    may_choose: bool,
    may_promote: bool,
}

/// GET /products/{key}/opportunities
async fn page(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let one_off = q.framework.as_deref().and_then(|f| Framework::parse("framework", f).ok());
        let chosen = st.app.ranking(a.product.id).await?.0.framework;
        let (f, list) = st.app.opportunities(&a, one_off).await?;
        let mut rows = Vec::new();
        for r in list {
            let o = &r.opportunity;
            let epic = match o.data.epic {
                Some(id) => st.app.store().item(id).await.ok().map(|i| i.key),
                None => None,
            };
            rows.push(Row {
                id: o.id.0,
                rank: r.rank,
                title: o.data.title.clone(),
                description_html: crate::markdown::render(&o.data.description),
                score: r.score.map(score_text).unwrap_or_default(),
                parts: r.parts.clone(),
                promoted: o.state == "promoted" || o.data.epic.is_some(),
                epic,
                version: o.version,
                form: ScoreForm::of(&o.data.scores),
                demand_count: r.demand.count,
                demand_revenue: score_text(r.demand.revenue),
            });
        }
        let initiatives = st
            .app
            .list_records::<Initiative>(RecordFilter::of(ObjectKind::Initiative).product(a.product.id))
            .await?
            .into_iter()
            .map(|i| (i.id.0, i.data.title))
            .collect();
        let score = st.app.decide(&a, Action::ScoreOpportunity);
        let l = Layout::new(&st, &s, "Opportunities", "opportunities", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .flash(&Flash { notice: q.notice.clone(), error: q.error.clone() });
        render(&OpportunitiesPage {
            l,
            key: a.product.key.to_string(),
            framework: f.as_str(),
            framework_label: f.label(),
            is_chosen: f == chosen,
            tabs: Framework::ALL
                .into_iter()
                .map(|x| Tab { name: x.as_str(), label: x.label(), current: x == f, chosen: x == chosen })
                .collect(),
            rows,
            initiatives,
            impacts: RICE_IMPACTS.iter().map(|i| num(*i)).collect(),
            moscows: Moscow::ALL.iter().map(|m| m.as_str()).collect(),
            kanos: Kano::ALL.iter().map(|k| k.as_str()).collect(),
            may_add: score != Decision::Deny,
            may_score: score != Decision::Deny,
            may_choose: score == Decision::Allow,
            may_promote: st.app.decide(&a, Action::PromoteOpportunity) != Decision::Deny,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// A number field of the score form: empty is `None`.
/// A score or a revenue weight as people read one: whole above 100 with thousands grouped
/// ("2,133"), one decimal above 10, two below ("0.45").
fn score_text(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    if v.abs() < 100.0 {
        let r = if v.abs() >= 10.0 { (v * 10.0).round() / 10.0 } else { v };
        return num(r);
    }
    super::view::grouped(v)
}

fn number(form: &FormData, name: &str, field: &str) -> Result<Option<f64>, AppError> {
    let v = form.get(name).trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<f64>().map(Some).map_err(|_| AppError::invalid(field, "must be a number"))
}

/// A framework's group: all empty is `None`; partly filled names the first missing part.
fn group<const N: usize>(
    form: &FormData,
    prefix: &str,
    parts: [(&str, &str); N],
) -> Result<Option<[f64; N]>, AppError> {
    let mut vals = [0.0; N];
    let mut given = 0;
    let mut missing = None;
    for (i, (name, field)) in parts.iter().enumerate() {
        let field = format!("scores.{prefix}.{field}");
        match number(form, name, &field)? {
            Some(v) => {
                vals[i] = v;
                given += 1;
            }
            None => {
                missing.get_or_insert(field);
            }
        }
    }
    match (given, missing) {
        (0, _) => Ok(None),
        (_, Some(f)) => Err(AppError::invalid(&f, "is required with the other parts")),
        (_, None) => Ok(Some(vals)),
    }
}

/// The scores of a score form.
fn scores_of(form: &FormData) -> Result<Scores, AppError> {
    let rice = group(
        form,
        "rice",
        [
            ("rice_reach", "reach"),
            ("rice_impact", "impact"),
            ("rice_confidence", "confidence"),
            ("rice_effort", "effort"),
        ],
    )?
    .map(|[reach, impact, confidence, effort]| Rice { reach, impact, confidence, effort });
    let wsjf = group(
        form,
        "wsjf",
        [
            ("wsjf_business_value", "business_value"),
            ("wsjf_time_criticality", "time_criticality"),
            ("wsjf_risk_reduction", "risk_reduction"),
            ("wsjf_job_size", "job_size"),
        ],
    )?
    .map(|[business_value, time_criticality, risk_reduction, job_size]| Wsjf {
        business_value,
        time_criticality,
        risk_reduction,
        job_size,
    });
    let ice = group(
        form,
        "ice",
        [("ice_impact", "impact"), ("ice_confidence", "confidence"), ("ice_ease", "ease")],
    )?
    .map(|[impact, confidence, ease]| Ice { impact, confidence, ease });
    let value_effort = group(form, "value_effort", [("ve_value", "value"), ("ve_effort", "effort")])?
        .map(|[value, effort]| ValueEffort { value, effort });
    let moscow = Some(form.get("moscow"))
        .filter(|s| !s.is_empty())
        .map(|m| Moscow::parse("scores.moscow", m))
        .transpose()?;
    let kano = Some(form.get("kano"))
        .filter(|s| !s.is_empty())
        .map(|k| Kano::parse("scores.kano", k))
        .transpose()?;
    Ok(Scores { rice, wsjf, ice, value_effort, moscow, kano })
}

/// POST /products/{key}/opportunities: adds an opportunity (`title`, `description`).
async fn create(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/opportunities", a.product.key);
        let input = OpportunityInput {
            title: Some(form.get("title").to_string()),
            description: Some(form.get("description").replace("\r\n", "\n")),
            scores: None,
        };
        match st.app.create_opportunity(&a, &input, None).await {
            Ok(Outcome::Done(_)) => Ok(redirect_with(&back, "notice", "Opportunity added.")),
            Ok(Outcome::Proposed(p)) => Ok(redirect_with(&back, "notice", &proposed_notice(&st, &p))),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products/{key}/ranking: chooses the product's ranking framework (`framework`).
async fn set_ranking(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/opportunities", a.product.key);
        let result = match Framework::parse("framework", form.get("framework")) {
            Ok(f) => st.app.set_ranking(&a, f).await,
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(r) => Ok(redirect_with(
                &back,
                "notice",
                &format!("Opportunities are now ranked by {}.", r.framework.label()),
            )),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /opportunities/{id}: `op` = `score` (the score form), `edit` (title, description),
/// `promote` (initiative) or `delete`; `version` guards against concurrent changes.
async fn update(State(st): State<AppState>, s: UiSession, Path(id): Path<i64>, form: FormData) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (a, o): (_, Stored<Opportunity>) = st.app.opportunity_access(&s.user, id).await?;
        let list = format!("/products/{}/opportunities", a.product.key);
        let back = list.clone();
        let version = form.version()?;
        let result: Result<String, AppError> = match form.get("op") {
            "score" => match scores_of(&form) {
                Ok(scores) => {
                    let input = OpportunityInput { scores: Some(scores), ..Default::default() };
                    match st.app.update_opportunity(&a, &o, &input, version, None).await {
                        Ok(Outcome::Done(_)) => Ok("Scores saved.".into()),
                        Ok(Outcome::Proposed(p)) => Ok(proposed_notice(&st, &p)),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            },
            "edit" => {
                let input = OpportunityInput {
                    title: Some(form.get("title").to_string()),
                    description: Some(form.get("description").replace("\r\n", "\n")),
                    scores: None,
                };
                st.app
                    .update_opportunity(&a, &o, &input, version, None)
                    .await
                    .map(|_| "Opportunity saved.".into())
            }
            "promote" => {
                let initiative = form.get("initiative").parse::<i64>().ok().map(RecordId);
                match st.app.promote_opportunity(&a, &o, initiative, None).await {
                    Ok(Outcome::Done(p)) => Ok(format!("Promoted to the epic {}.", p.epic.key)),
                    Ok(Outcome::Proposed(p)) => Ok(proposed_notice(&st, &p)),
                    Err(e) => Err(e),
                }
            }
            "delete" => st.app.delete_opportunity(&a, &o).await.map(|_| "Opportunity deleted.".into()),
            "merge" => match form.get("into").parse::<i64>() {
                Ok(into) => st
                    .app
                    .merge_opportunity(&a, &o, RecordId(into))
                    .await
                    .map(|k| format!("Merged into {}; its feedback came along.", k.data.title)),
                Err(_) => Err(AppError::invalid("into", "choose the opportunity to keep")),
            },
            _ => Err(AppError::invalid("op", "must be score, edit, promote, merge or delete")),
        };
        match result {
            Ok(msg) if matches!(form.get("op"), "delete" | "merge") => {
                Ok(redirect_with(&list, "notice", &msg))
            }
            Ok(msg) => Ok(redirect_with(&back, "notice", &msg)),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// The inbox's query: filters and messages.
#[derive(Debug, Default, Deserialize)]
struct InboxQuery {
    #[serde(default)]
    notice: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    opportunity: Option<String>,
    #[serde(default)]
    unlinked: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    widget: Option<String>,
}

/// One piece of feedback as the inbox shows it (text escaped by the template).
struct FbRow {
    id: i64,
    text: String,
    person: String,
    company: String,
    segment: String,
    revenue: String,
    source: &'static str,
    when: String,
    linked: Vec<(i64, String)>,
    email: String,
    page_url: String,
}

/// The widget panel: the product's public key, switch, origins and snippet.
struct WidgetView {
    key: String,
    enabled: bool,
    origins: String,
    snippet: String,
}

/// A short one-line excerpt of feedback text, for the merge picker.
fn excerpt(t: &str) -> String {
    let line = t.lines().next().unwrap_or("").trim();
    let mut out: String = line.chars().take(60).collect();
    if line.chars().count() > 60 || t.lines().nth(1).is_some() {
        out.push('…');
    }
    out
}

#[derive(Template)]
#[template(path = "discovery_feedback.html")]
struct InboxPage {
    l: Layout,
    key: String,
    rows: Vec<FbRow>,
    opportunities: Vec<(i64, String)>,
    sources: Vec<&'static str>,
    f_source: String,
    f_opportunity: i64,
    f_unlinked: bool,
    f_q: String,
    filtered: bool,
    may_link: bool,
    may_delete: bool,
    widget: Option<WidgetView>,
    may_widget: bool,
    widget_open: bool,
    picks: Vec<(i64, String)>,
}

/// GET /products/{key}/feedback: the inbox.
async fn inbox(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(q): Query<InboxQuery>,
    headers: axum::http::HeaderMap,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let source =
            q.source.as_deref().filter(|x| !x.is_empty()).and_then(|x| Source::parse("source", x).ok());
        let opportunity = q.opportunity.as_deref().and_then(|x| x.parse::<i64>().ok());
        let filter = FeedbackFilter {
            source,
            opportunity: opportunity.map(RecordId),
            unlinked: q.unlinked.as_deref().is_some_and(|u| !u.is_empty()),
            q: q.q.clone().filter(|x| !x.trim().is_empty()),
        };
        let list = st.app.feedback_list(&a, &filter).await?;
        let opps: Vec<(i64, String)> = st
            .app
            .list_records::<Opportunity>(RecordFilter::of(ObjectKind::Opportunity).product(a.product.id))
            .await?
            .into_iter()
            .map(|o| (o.id.0, o.data.title))
            .collect();
        let title_of = |id: RecordId| opps.iter().find(|o| o.0 == id.0).map(|o| o.1.clone());
        let rows = list
            .iter()
            .map(|f| FbRow {
                id: f.id.0,
                text: f.data.text.clone(),
                person: f.data.person.clone(),
                company: f.data.company.clone(),
                segment: f.data.segment.clone(),
                revenue: if f.data.revenue > 0.0 { num(f.data.revenue) } else { String::new() },
                source: f.data.source.as_str(),
                when: super::view::ago(f.created_at),
                linked: f.data.opportunities.iter().filter_map(|o| title_of(*o).map(|t| (o.0, t))).collect(),
                email: f.data.email.clone(),
                page_url: f.data.page_url.clone(),
            })
            .collect();
        let picks = if filter.source.is_some()
            || filter.opportunity.is_some()
            || filter.unlinked
            || filter.q.is_some()
        {
            st.app.feedback_list(&a, &FeedbackFilter::default()).await?
        } else {
            list.clone()
        }
        .iter()
        .map(|f| (f.id.0, excerpt(&f.data.text)))
        .collect();
        let widget = st.app.widget(&a).await?.map(|w| WidgetView {
            snippet: crate::api::widget::snippet(&crate::api::widget::keel_origin(&headers), &w.data.key),
            key: w.data.key,
            enabled: w.data.enabled,
            origins: w.data.origins.join("\n"),
        });
        let l = Layout::new(&st, &s, "Feedback", "feedback", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .flash(&Flash { notice: q.notice.clone(), error: q.error.clone() });
        render(&InboxPage {
            l,
            key: a.product.key.to_string(),
            rows,
            opportunities: opps,
            sources: Source::ALL.iter().map(|s| s.as_str()).collect(),
            f_source: source.map(|s| s.as_str().to_string()).unwrap_or_default(),
            f_opportunity: opportunity.unwrap_or(0),
            f_unlinked: filter.unlinked,
            f_q: q.q.clone().unwrap_or_default(),
            filtered: filter.source.is_some()
                || filter.opportunity.is_some()
                || filter.unlinked
                || filter.q.is_some(),
            may_link: st.app.decide(&a, Action::ScoreOpportunity) != Decision::Deny,
            may_delete: st.app.decide(&a, Action::ScoreOpportunity) == Decision::Allow,
            widget,
            may_widget: st.app.decide(&a, Action::EditProduct) == Decision::Allow,
            widget_open: q.widget.is_some(),
            picks,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products/{key}/feedback: records notes (`text`, `person`, `company`, `segment`,
/// `revenue`, `source` = manual or sales_call, `opportunity`).
async fn feedback_create(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/feedback", a.product.key);
        let result = async {
            let revenue = match form.get("revenue").trim() {
                "" => 0.0,
                v => v.parse::<f64>().map_err(|_| AppError::invalid("revenue", "must be a number"))?,
            };
            let source = match form.get("source") {
                "sales_call" => Source::SalesCall,
                _ => Source::Manual,
            };
            let fb = Feedback {
                person: form.get("person").to_string(),
                company: form.get("company").to_string(),
                segment: form.get("segment").to_string(),
                revenue,
                source,
                text: form.get("text").replace("\r\n", "\n"),
                opportunities: form
                    .get("opportunity")
                    .parse::<i64>()
                    .ok()
                    .map(RecordId)
                    .into_iter()
                    .collect(),
                ..Default::default()
            };
            st.app.create_feedback(&a, fb).await
        }
        .await;
        match result {
            Ok(_) => Ok(redirect_with(&back, "notice", "Feedback recorded.")),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products/{key}/feedback/import: imports pasted CSV (`csv`).
async fn feedback_import(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/feedback", a.product.key);
        match st.app.import_feedback(&a, form.get("csv")).await {
            Ok(list) => {
                Ok(redirect_with(&back, "notice", &format!("Imported {} pieces of feedback.", list.len())))
            }
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /feedback/{id}: `op` = `link` or `unlink` (`opportunity`), or `delete`.
async fn feedback_update(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (a, f) = st.app.feedback_access(&s.user, id).await?;
        let own_page = format!("/feedback/{id}");
        let back = match form
            .opt("back")
            .filter(|b| b.starts_with(&format!("/products/{}/feedback", a.product.key)) || *b == own_page)
        {
            Some(b) => b.to_string(),
            None => format!("/products/{}/feedback", a.product.key),
        };
        let opp = form.get("opportunity").parse::<i64>().map(RecordId);
        let result: Result<&str, AppError> = match (form.get("op"), opp) {
            ("link", Ok(o)) => st.app.link_feedback(&a, &f, o, true).await.map(|_| "Linked."),
            ("unlink", Ok(o)) => st.app.link_feedback(&a, &f, o, false).await.map(|_| "Unlinked."),
            ("link" | "unlink", Err(_)) => Err(AppError::invalid("opportunity", "choose an opportunity")),
            ("delete", _) => st.app.delete_feedback(&a, &f).await.map(|_| "Feedback deleted."),
            ("merge", _) => match form.get("into").trim().trim_start_matches('#').parse::<i64>() {
                Ok(into) => st.app.merge_feedback(&a, &f, RecordId(into)).await.map(|_| "Feedback merged."),
                Err(_) => Err(AppError::invalid("into", "give the number of the feedback to merge into")),
            },
            _ => Err(AppError::invalid("op", "must be link, unlink, merge or delete")),
        };
        match result {
            Ok(msg) => Ok(redirect_with(&back, "notice", msg)),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products/{key}/widget: `op` = `save` (`enabled`, `origins` one per line) or `rotate`.
async fn widget_update(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/feedback?widget=1", a.product.key);
        let result: Result<&str, AppError> =
            match form.get("op") {
                "save" => {
                    let origins: Vec<String> = form
                        .get("origins")
                        .split(['\n', ',', ' '])
                        .map(|o| o.trim().to_string())
                        .filter(|o| !o.is_empty())
                        .collect();
                    let input = keel_app::widget::WidgetInput {
                        enabled: Some(form.opt("enabled").is_some()),
                        origins: Some(origins),
                    };
                    st.app.set_widget(&a, &input).await.map(|_| "Widget saved.")
                }
                "rotate" => st.app.rotate_widget(&a).await.map(|_| {
                    "New key made: the old one no longer works, so update the snippet on your pages."
                }),
                _ => Err(AppError::invalid("op", "must be save or rotate")),
            };
        match result {
            Ok(msg) => Ok(redirect_with(&back, "notice", msg)),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// A piece of feedback linked to the opportunity, as its page lists it.
struct LinkedFeedback {
    id: i64,
    text: String,
    who: String,
    revenue: String,
    when: String,
}

#[derive(Template)]
#[template(path = "discovery_opportunity.html")]
struct OpportunityPage {
    l: Layout,
    key: String,
    id: i64,
    title: String,
    description_html: String,
    promoted: bool,
    epic: Option<(String, String)>,
    rank: usize,
    of: usize,
    framework_label: &'static str,
    score: String,
    parts: Vec<(&'static str, String)>,
    demand_count: usize,
    demand_revenue: String,
    feedback: Vec<LinkedFeedback>,
    created: String,
    updated: String,
    comments_panel: String,
}

/// GET /opportunities/{id}: one opportunity, its score, the feedback behind it, the epic it led
/// to, and its comments.
async fn opportunity_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
) -> Response {
    let r = async {
        let (a, o): (_, Stored<Opportunity>) = st.app.opportunity_access(&s.user, id).await?;
        let (f, ranked) = st.app.opportunities(&a, None).await?;
        let of = ranked.len();
        let me = ranked.into_iter().find(|r| r.opportunity.id == o.id).ok_or(AppError::NotFound)?;
        let epic = match o.data.epic {
            Some(e) => st.app.store().item(e).await.ok().map(|i| (i.key, i.title)),
            None => None,
        };
        let filter = FeedbackFilter { opportunity: Some(o.id), ..Default::default() };
        let feedback = st
            .app
            .feedback_list(&a, &filter)
            .await?
            .into_iter()
            .map(|f| LinkedFeedback {
                id: f.id.0,
                text: excerpt(&f.data.text),
                who: [f.data.person.as_str(), f.data.company.as_str()]
                    .into_iter()
                    .filter(|x| !x.is_empty())
                    .collect::<Vec<_>>()
                    .join(", "),
                revenue: if f.data.revenue > 0.0 { num(f.data.revenue) } else { String::new() },
                when: super::view::ago(f.created_at),
            })
            .collect();
        let target = st.app.comment_target(&s.user, Subject::Opportunity, &id.to_string()).await?;
        let comments_panel = super::comments::thread(&st, &s, &target, &id.to_string()).await?;
        let title = o.data.title.clone();
        let l = Layout::new(&st, &s, title.clone(), "opportunities", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .crumb(format!("/products/{}/opportunities", a.product.key), "Opportunities")
            .flash(&flash);
        render(&OpportunityPage {
            l,
            key: a.product.key.to_string(),
            id,
            title,
            description_html: crate::markdown::render(&o.data.description),
            promoted: o.state == "promoted" || o.data.epic.is_some(),
            epic,
            rank: me.rank,
            of,
            framework_label: f.label(),
            score: me.score.map(score_text).unwrap_or_default(),
            parts: me.parts.clone(),
            demand_count: me.demand.count,
            demand_revenue: score_text(me.demand.revenue),
            feedback,
            created: super::view::date_time(o.created_at),
            updated: super::view::date_time(o.updated_at),
            comments_panel,
        })
    }
    .await;
    finish(&st, &s, r).await
}

#[derive(Template)]
#[template(path = "discovery_feedback_entry.html")]
struct FeedbackPage {
    l: Layout,
    key: String,
    id: i64,
    text: String,
    person: String,
    email: String,
    company: String,
    segment: String,
    revenue: String,
    source: &'static str,
    page_url: String,
    created: String,
    linked: Vec<(i64, String)>,
    unlinked: Vec<(i64, String)>,
    may_link: bool,
    comments_panel: String,
}

/// GET /feedback/{id}: one piece of feedback, who gave it, the opportunities it is linked to,
/// and its comments.
async fn feedback_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
) -> Response {
    let r = async {
        let (a, f): (_, Stored<Feedback>) = st.app.feedback_access(&s.user, id).await?;
        let opps: Vec<(i64, String)> = st
            .app
            .list_records::<Opportunity>(RecordFilter::of(ObjectKind::Opportunity).product(a.product.id))
            .await?
            .into_iter()
            .map(|o| (o.id.0, o.data.title))
            .collect();
        let (linked, unlinked): (Vec<_>, Vec<_>) =
            opps.into_iter().partition(|o| f.data.opportunities.contains(&RecordId(o.0)));
        let target = st.app.comment_target(&s.user, Subject::Feedback, &id.to_string()).await?;
        let comments_panel = super::comments::thread(&st, &s, &target, &id.to_string()).await?;
        let l = Layout::new(&st, &s, format!("Feedback #{id}"), "feedback", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .crumb(format!("/products/{}/feedback", a.product.key), "Feedback")
            .flash(&flash);
        render(&FeedbackPage {
            l,
            key: a.product.key.to_string(),
            id,
            text: f.data.text.clone(),
            person: f.data.person.clone(),
            email: f.data.email.clone(),
            company: f.data.company.clone(),
            segment: f.data.segment.clone(),
            revenue: if f.data.revenue > 0.0 { num(f.data.revenue) } else { String::new() },
            source: f.data.source.as_str(),
            page_url: f.data.page_url.clone(),
            created: super::view::date_time(f.created_at),
            linked,
            unlinked,
            may_link: st.app.decide(&a, Action::ScoreOpportunity) != Decision::Deny,
            comments_panel,
        })
    }
    .await;
    finish(&st, &s, r).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn scores_read_as_people_write_them() {
        use super::score_text as t;
        assert_eq!(
            (t(2133.333), t(1_234_567.0), t(-4500.0)),
            ("2,133".into(), "1,234,567".into(), "-4,500".into())
        );
        assert_eq!(
            (t(42.26), t(4.5678), t(0.0), t(100.0)),
            ("42.3".into(), "4.57".into(), "0".into(), "100".into())
        );
    }
}
