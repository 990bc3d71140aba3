//! JSON API: customer feedback, the feedback widget, opportunities and their scores.

use super::outcome;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::extract::{ApiUser, Json as JsonIn, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use keel_api::discovery::{
    FeedbackIn, FeedbackOut, ImportOut, MergeIn, OpportunitiesOut, OpportunityIn, OpportunityOut, PromoteIn,
    PromotedOut, RankingIo,
};
use keel_api::wire::{ItemOut, ProposalOut};
use keel_api::Problem;
use keel_app::discovery::{FeedbackFilter, OpportunityInput, Ranked};
use keel_app::records::Stored;
use keel_app::{App, AppError, ProductAccess};
use keel_domain::discovery::{Feedback, Framework, Opportunity, Source};
use keel_domain::RecordId;
use serde::Deserialize;
use utoipa::OpenApi;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/products/{product}/opportunities", get(list_opportunities).post(create_opportunity))
        .route("/api/v1/products/{product}/ranking", get(get_ranking).put(put_ranking))
        .route(
            "/api/v1/opportunities/{id}",
            get(get_opportunity).patch(patch_opportunity).delete(delete_opportunity),
        )
        .route("/api/v1/opportunities/{id}/promote", post(promote_opportunity))
        .route("/api/v1/opportunities/{id}/merge", post(merge_opportunity))
        .route("/api/v1/products/{product}/feedback", get(list_feedback).post(create_feedback))
        .route("/api/v1/products/{product}/feedback/import", post(import_feedback))
        .route("/api/v1/feedback/{id}", get(get_feedback).delete(delete_feedback))
        .route(
            "/api/v1/feedback/{id}/opportunities/{opportunity}",
            put(link_feedback).delete(unlink_feedback),
        )
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(
        list_opportunities, create_opportunity, get_ranking, put_ranking, get_opportunity,
        patch_opportunity, delete_opportunity, promote_opportunity, merge_opportunity, list_feedback, create_feedback,
        import_feedback, get_feedback, delete_feedback, link_feedback, unlink_feedback,
    ),
    tags((name = "discovery", description = "Opportunities, their scores under RICE, WSJF, ICE, value ÷ effort, MoSCoW and Kano, ranking, and promotion to epics"))
)]
pub struct Doc;

/// The key of an epic, if it still exists.
async fn epic_key(app: &App, o: &Stored<Opportunity>) -> Option<String> {
    match o.data.epic {
        Some(id) => app.store().item(id).await.ok().map(|i| i.key),
        None => None,
    }
}

/// An opportunity as JSON, ranked under `f` at `rank`.
pub async fn opportunity_json(
    app: &App,
    a: &ProductAccess,
    o: &Stored<Opportunity>,
    f: Framework,
    rank: usize,
    demand: keel_domain::discovery::Demand,
) -> OpportunityOut {
    OpportunityOut::new(
        o.id.0,
        a.product.key.as_str(),
        &o.data,
        &o.state,
        f,
        rank,
        epic_key(app, o).await,
        demand,
        o.version,
        o.created_at,
    )
}

/// One opportunity as JSON with its place in the product's ranking.
async fn ranked_json(app: &App, a: &ProductAccess, id: RecordId) -> ApiResult<OpportunityOut> {
    let (f, list) = app.opportunities(a, None).await?;
    let r: &Ranked = list.iter().find(|r| r.opportunity.id == id).ok_or_else(ApiError::not_found)?;
    Ok(opportunity_json(app, a, &r.opportunity, f, r.rank, r.demand).await)
}

fn input(b: &OpportunityIn) -> ApiResult<OpportunityInput> {
    Ok(OpportunityInput {
        title: b.title.clone(),
        description: b.description.clone(),
        scores: b.scores.as_ref().map(|s| s.to_scores()).transpose().map_err(AppError::from)?,
    })
}

/// Ranking query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RankQuery {
    /// Rank by this framework instead of the product's choice.
    framework: Option<String>,
}

/// The product's opportunities, ranked by its framework (or `framework`), best first.
#[utoipa::path(get, path = "/api/v1/products/{product}/opportunities", tag = "discovery",
    params(("product" = String, Path, description = "Product key"), RankQuery),
    responses((status = 200, body = OpportunitiesOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_opportunities(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    Query(q): Query<RankQuery>,
) -> ApiResult<Json<OpportunitiesOut>> {
    let a = s.app.access(&u.user, &key).await?;
    let f = q
        .framework
        .as_deref()
        .map(|f| Framework::parse("framework", f))
        .transpose()
        .map_err(AppError::from)?;
    let (f, list) = s.app.opportunities(&a, f).await?;
    let mut out = Vec::new();
    for r in &list {
        out.push(opportunity_json(&s.app, &a, &r.opportunity, f, r.rank, r.demand).await);
    }
    Ok(Json(OpportunitiesOut { framework: f.as_str().to_string(), opportunities: out }))
}

/// Creates an opportunity (the Product Manager; the Product Owner's scores become a proposal,
/// 202, and the opportunity is created unscored). Scores outside their scale are a 422 naming
/// the field (`scores.rice.impact`).
#[utoipa::path(post, path = "/api/v1/products/{product}/opportunities", tag = "discovery",
    params(("product" = String, Path, description = "Product key")), request_body = OpportunityIn,
    responses((status = 201, body = OpportunityOut), (status = 202, body = ProposalOut), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_opportunity(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<OpportunityIn>,
) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    if b.version.is_some() {
        return Err(ApiError::invalid("version", "is only for changes"));
    }
    let o = s.app.create_opportunity(&a, &input(&b)?, b.reason.as_deref()).await?;
    let o = match o {
        keel_app::Outcome::Done(o) => keel_app::Outcome::Done(ranked_json(&s.app, &a, o.id).await?),
        keel_app::Outcome::Proposed(p) => keel_app::Outcome::Proposed(p),
    };
    Ok(outcome(o, StatusCode::CREATED, |o| Json(o).into_response()))
}

/// The product's ranking framework (RICE until chosen).
#[utoipa::path(get, path = "/api/v1/products/{product}/ranking", tag = "discovery",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = RankingIo), (status = 404, body = Problem)))]
pub async fn get_ranking(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<RankingIo>> {
    let a = s.app.access(&u.user, &key).await?;
    let (r, _) = s.app.ranking(a.product.id).await?;
    Ok(Json(RankingIo { framework: r.framework.as_str().to_string() }))
}

/// Chooses the product's ranking framework (the Product Manager).
#[utoipa::path(put, path = "/api/v1/products/{product}/ranking", tag = "discovery",
    params(("product" = String, Path, description = "Product key")), request_body = RankingIo,
    responses((status = 200, body = RankingIo), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn put_ranking(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<RankingIo>,
) -> ApiResult<Json<RankingIo>> {
    let a = s.app.access(&u.user, &key).await?;
    let f = Framework::parse("framework", &b.framework).map_err(AppError::from)?;
    let r = s.app.set_ranking(&a, f).await?;
    Ok(Json(RankingIo { framework: r.framework.as_str().to_string() }))
}

/// An opportunity with its place in the product's ranking.
#[utoipa::path(get, path = "/api/v1/opportunities/{id}", tag = "discovery",
    params(("id" = i64, Path, description = "Opportunity id")),
    responses((status = 200, body = OpportunityOut), (status = 404, body = Problem)))]
pub async fn get_opportunity(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<OpportunityOut>> {
    let (a, o) = s.app.opportunity_access(&u.user, id).await?;
    Ok(Json(ranked_json(&s.app, &a, o.id).await?))
}

/// Changes an opportunity's title, description or scores (the Product Manager; the Product
/// Owner's new scores become a proposal, 202). Send the `version` read: a stale one is a 409.
#[utoipa::path(patch, path = "/api/v1/opportunities/{id}", tag = "discovery",
    params(("id" = i64, Path, description = "Opportunity id")), request_body = OpportunityIn,
    responses((status = 200, body = OpportunityOut), (status = 202, body = ProposalOut), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_opportunity(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<OpportunityIn>,
) -> ApiResult<Response> {
    let (a, o) = s.app.opportunity_access(&u.user, id).await?;
    let r = s.app.update_opportunity(&a, &o, &input(&b)?, b.version, b.reason.as_deref()).await?;
    let r = match r {
        keel_app::Outcome::Done(o) => keel_app::Outcome::Done(ranked_json(&s.app, &a, o.id).await?),
        keel_app::Outcome::Proposed(p) => keel_app::Outcome::Proposed(p),
    };
    Ok(outcome(r, StatusCode::OK, |o| Json(o).into_response()))
}

/// Deletes an opportunity (the Product Manager).
#[utoipa::path(delete, path = "/api/v1/opportunities/{id}", tag = "discovery",
    params(("id" = i64, Path, description = "Opportunity id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_opportunity(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let (a, o) = s.app.opportunity_access(&u.user, id).await?;
    s.app.delete_opportunity(&a, &o).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Promotes an opportunity to a new epic linked to it, adding the epic to `initiative` when
/// given, in one transaction (the Product Manager; the Product Owner's becomes a proposal, 202).
/// Promoting twice is a 409.
#[utoipa::path(post, path = "/api/v1/opportunities/{id}/promote", tag = "discovery",
    params(("id" = i64, Path, description = "Opportunity id")), request_body = PromoteIn,
    responses((status = 201, body = PromotedOut), (status = 202, body = ProposalOut), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn promote_opportunity(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<PromoteIn>,
) -> ApiResult<Response> {
    let (a, o) = s.app.opportunity_access(&u.user, id).await?;
    let r = s.app.promote_opportunity(&a, &o, b.initiative.map(RecordId), b.reason.as_deref()).await?;
    let r = match r {
        keel_app::Outcome::Done(p) => {
            let w = s.app.workflow(&a).await?;
            let opportunity = ranked_json(&s.app, &a, p.opportunity.id).await?;
            keel_app::Outcome::Done(PromotedOut { opportunity, epic: ItemOut::new(&p.epic, &w) })
        }
        keel_app::Outcome::Proposed(p) => keel_app::Outcome::Proposed(p),
    };
    Ok(outcome(r, StatusCode::CREATED, |o| Json(o).into_response()))
}

/// A piece of feedback as JSON.
pub fn feedback_json(a: &ProductAccess, f: &Stored<Feedback>) -> FeedbackOut {
    FeedbackOut::new(f.id.0, a.product.key.as_str(), &f.data, f.version, f.created_at)
}

/// Inbox filters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedbackQuery {
    /// Only from this source (`widget`, `api`, `import`, `sales_call`, `manual`).
    source: Option<String>,
    /// Only linked to this opportunity id.
    opportunity: Option<i64>,
    /// `true`: only feedback linked to no opportunity.
    unlinked: Option<bool>,
    /// Text to look for in the text, person, company or segment.
    q: Option<String>,
}

/// The product's feedback inbox, newest first.
#[utoipa::path(get, path = "/api/v1/products/{product}/feedback", tag = "discovery",
    params(("product" = String, Path, description = "Product key"), FeedbackQuery),
    responses((status = 200, body = [FeedbackOut]), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_feedback(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    Query(q): Query<FeedbackQuery>,
) -> ApiResult<Json<Vec<FeedbackOut>>> {
    let a = s.app.access(&u.user, &key).await?;
    let filter = FeedbackFilter {
        source: q
            .source
            .as_deref()
            .map(|x| Source::parse("source", x))
            .transpose()
            .map_err(AppError::from)?,
        opportunity: q.opportunity.map(RecordId),
        unlinked: q.unlinked.unwrap_or(false),
        q: q.q,
    };
    let list = s.app.feedback_list(&a, &filter).await?;
    Ok(Json(list.iter().map(|f| feedback_json(&a, f)).collect()))
}

/// Records a piece of feedback: a PM's notes, or automation with a token (every member may).
#[utoipa::path(post, path = "/api/v1/products/{product}/feedback", tag = "discovery",
    params(("product" = String, Path, description = "Product key")), request_body = FeedbackIn,
    responses((status = 201, body = FeedbackOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_feedback(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<FeedbackIn>,
) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    let source = match b.source.as_deref() {
        Some(x) => Source::parse("source", x).map_err(AppError::from)?,
        None => Source::Api,
    };
    let fb = Feedback {
        person: b.person.unwrap_or_default(),
        company: b.company.unwrap_or_default(),
        segment: b.segment.unwrap_or_default(),
        revenue: b.revenue.unwrap_or(0.0),
        source,
        text: b.text,
        opportunities: b.opportunities.into_iter().map(RecordId).collect(),
        ..Default::default()
    };
    let f = s.app.create_feedback(&a, fb).await?;
    Ok((StatusCode::CREATED, Json(feedback_json(&a, &f))).into_response())
}

/// Imports feedback from a CSV body (`text/csv`) whose header names its columns: `text`
/// (required), `person`, `company`, `segment`, `revenue`. Any bad row answers 422 on `csv`
/// listing each problem by row number (the header is row 1), and nothing is recorded.
#[utoipa::path(post, path = "/api/v1/products/{product}/feedback/import", tag = "discovery",
    params(("product" = String, Path, description = "Product key")),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 201, body = ImportOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn import_feedback(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::invalid("csv", "must be UTF-8 text"))?;
    let list = s.app.import_feedback(&a, text).await?;
    let out =
        ImportOut { imported: list.len(), feedback: list.iter().map(|f| feedback_json(&a, f)).collect() };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// A piece of feedback.
#[utoipa::path(get, path = "/api/v1/feedback/{id}", tag = "discovery",
    params(("id" = i64, Path, description = "Feedback id")),
    responses((status = 200, body = FeedbackOut), (status = 404, body = Problem)))]
pub async fn get_feedback(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<FeedbackOut>> {
    let (a, f) = s.app.feedback_access(&u.user, id).await?;
    Ok(Json(feedback_json(&a, &f)))
}

/// Deletes a piece of feedback (the Product Manager).
#[utoipa::path(delete, path = "/api/v1/feedback/{id}", tag = "discovery",
    params(("id" = i64, Path, description = "Feedback id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_feedback(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let (a, f) = s.app.feedback_access(&u.user, id).await?;
    s.app.delete_feedback(&a, &f).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Links a piece of feedback to an opportunity of its product (the Product Manager or Owner).
#[utoipa::path(put, path = "/api/v1/feedback/{id}/opportunities/{opportunity}", tag = "discovery",
    params(("id" = i64, Path, description = "Feedback id"), ("opportunity" = i64, Path, description = "Opportunity id")),
    responses((status = 200, body = FeedbackOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn link_feedback(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, opp)): Path<(i64, i64)>,
) -> ApiResult<Json<FeedbackOut>> {
    let (a, f) = s.app.feedback_access(&u.user, id).await?;
    let f = s.app.link_feedback(&a, &f, RecordId(opp), true).await?;
    Ok(Json(feedback_json(&a, &f)))
}

/// Unlinks a piece of feedback from an opportunity.
#[utoipa::path(delete, path = "/api/v1/feedback/{id}/opportunities/{opportunity}", tag = "discovery",
    params(("id" = i64, Path, description = "Feedback id"), ("opportunity" = i64, Path, description = "Opportunity id")),
    responses((status = 200, body = FeedbackOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn unlink_feedback(
    State(s): State<AppState>,
    u: ApiUser,
    Path((id, opp)): Path<(i64, i64)>,
) -> ApiResult<Json<FeedbackOut>> {
    let (a, f) = s.app.feedback_access(&u.user, id).await?;
    let f = s.app.link_feedback(&a, &f, RecordId(opp), false).await?;
    Ok(Json(feedback_json(&a, &f)))
}

/// Merges a duplicate opportunity into `into` (the Product Manager): its feedback links move to
/// `into` and the duplicate is deleted, in one transaction; answers the opportunity that stays.
#[utoipa::path(post, path = "/api/v1/opportunities/{id}/merge", tag = "discovery",
    params(("id" = i64, Path, description = "Id of the duplicate")), request_body = MergeIn,
    responses((status = 200, body = OpportunityOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn merge_opportunity(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<MergeIn>,
) -> ApiResult<Json<OpportunityOut>> {
    let (a, o) = s.app.opportunity_access(&u.user, id).await?;
    let kept = s.app.merge_opportunity(&a, &o, RecordId(b.into)).await?;
    Ok(Json(ranked_json(&s.app, &a, kept.id).await?))
}
