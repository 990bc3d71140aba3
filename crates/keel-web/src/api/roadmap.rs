//! JSON API: initiatives and the roadmap, published roadmaps.

use super::outcome;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::extract::{ApiUser, Json as JsonIn};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use keel_api::roadmap::{
    InitiativeIn, InitiativeOut, LaneOut, ProgressOut, PublicInitiativeOut, PublicLaneOut, PublicationOut,
    PublishedRoadmapOut, QuarterOut, RoadmapOut,
};
use keel_api::wire::ProposalOut;
use keel_api::Problem;
use keel_app::roadmap::{InitiativeInput, InitiativeView, Roadmap};
use keel_app::{App, ProductAccess};
use keel_domain::pm::{Lane, Quarter};
use keel_domain::product::Role;
use keel_domain::RecordId;
use utoipa::OpenApi;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/products/{product}/initiatives", get(list_initiatives).post(create_initiative))
        .route(
            "/api/v1/initiatives/{id}",
            get(get_initiative).patch(patch_initiative).delete(delete_initiative),
        )
        .route("/api/v1/products/{product}/roadmap", get(get_roadmap))
        .route("/api/v1/products/{product}/roadmap/publish", post(publish).delete(unpublish))
        .route("/api/v1/roadmaps/published/{token}", get(get_published))
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(
        list_initiatives, create_initiative, get_initiative, patch_initiative, delete_initiative, get_roadmap,
        publish, unpublish, get_published,
    ),
    tags((name = "roadmap", description = "Initiatives, the roadmap (lanes and timeline), published roadmaps"))
)]
pub struct Doc;

/// Whether the caller sees only the public roadmap (a stakeholder and nothing more).
pub fn public_only(a: &ProductAccess) -> bool {
    !a.user.is_admin
        && a.roles.has(Role::Stakeholder)
        && !a.roles.has(Role::Pm)
        && !a.roles.has(Role::Po)
        && !a.roles.has(Role::Team)
}

/// The input of a wire body.
pub fn input_of(b: InitiativeIn) -> InitiativeInput {
    InitiativeInput {
        title: b.title,
        description: b.description,
        owner: b.owner,
        lane: b.lane,
        status: b.status,
        start: b.start,
        end: b.end,
        quarter: b.quarter,
        goals: b.goals,
        epics: b.epics,
        budget_planned: b.budget_planned,
        budget_spent: b.budget_spent,
        confidence: b.confidence,
        public: b.public,
        public_title: b.public_title,
        public_description: b.public_description,
    }
}

fn quarters_of(v: &InitiativeView) -> Vec<Quarter> {
    match (v.stored.data.start, v.stored.data.end) {
        (Some(s), Some(e)) => Quarter::span(s, e),
        (Some(d), None) | (None, Some(d)) => vec![Quarter::of(d)],
        (None, None) => Vec::new(),
    }
}

/// An initiative as JSON.
pub fn initiative_json(v: &InitiativeView) -> InitiativeOut {
    let i = &v.stored.data;
    InitiativeOut {
        id: v.stored.id.0,
        product_id: v.stored.product_id.map_or(0, |p| p.0),
        title: i.title.clone(),
        description: i.description.clone(),
        owner: i.owner.map(|u| u.0),
        lane: i.lane.as_str().to_string(),
        status: v.status.as_str().to_string(),
        start: i.start.map(|d| d.to_string()),
        end: i.end.map(|d| d.to_string()),
        quarters: quarters_of(v).into_iter().map(Quarter::label).collect(),
        goals: i.goals.iter().map(|g| g.0).collect(),
        epics: v.epic_keys.clone(),
        budget_planned: i.plan.budget_planned,
        budget_spent: i.plan.budget_spent,
        confidence: i.plan.confidence,
        public: i.plan.public,
        public_title: i.plan.public_title.clone(),
        public_description: i.plan.public_description.clone(),
        progress: ProgressOut {
            done_points: v.progress.done_points,
            total_points: v.progress.total_points,
            unestimated: v.progress.unestimated,
            percent: v.progress.percent(),
        },
        warnings: v.warnings.clone(),
        version: v.stored.version,
    }
}

/// The public wording of an initiative.
pub fn public_json(v: &InitiativeView) -> PublicInitiativeOut {
    let i = &v.stored.data;
    let title =
        if i.plan.public_title.trim().is_empty() { i.title.clone() } else { i.plan.public_title.clone() };
    PublicInitiativeOut {
        id: v.stored.id.0,
        title,
        description: i.plan.public_description.clone(),
        lane: i.lane.as_str().to_string(),
        status: v.status.as_str().to_string(),
        start: i.start.map(|d| d.to_string()),
        end: i.end.map(|d| d.to_string()),
        quarters: quarters_of(v).into_iter().map(Quarter::label).collect(),
    }
}

/// A roadmap as JSON.
pub fn roadmap_json(key: &str, r: &Roadmap) -> RoadmapOut {
    let lanes = Lane::ALL
        .iter()
        .map(|l| LaneOut {
            lane: l.as_str().to_string(),
            initiatives: r
                .initiatives
                .iter()
                .filter(|v| v.stored.data.lane == *l)
                .map(initiative_json)
                .collect(),
        })
        .collect();
    let timeline = r
        .quarters
        .iter()
        .map(|q| QuarterOut {
            quarter: q.label(),
            start: q.start().to_string(),
            end: q.end().to_string(),
            initiatives: r
                .initiatives
                .iter()
                .filter(|v| quarters_of(v).contains(q))
                .map(|v| v.stored.id.0)
                .collect(),
        })
        .collect();
    let warnings = r
        .initiatives
        .iter()
        .flat_map(|v| v.warnings.iter().map(move |w| format!("{} {w}", v.stored.data.title)))
        .collect();
    RoadmapOut { product: key.to_string(), lanes, timeline, warnings }
}

/// A published roadmap as JSON.
pub fn published_json(product: &str, r: &Roadmap) -> PublishedRoadmapOut {
    let lanes = Lane::ALL
        .iter()
        .map(|l| PublicLaneOut {
            lane: l.as_str().to_string(),
            initiatives: r.initiatives.iter().filter(|v| v.stored.data.lane == *l).map(public_json).collect(),
        })
        .collect();
    PublishedRoadmapOut { product: product.to_string(), lanes }
}

async fn view(
    app: &App,
    a: &ProductAccess,
    s: keel_app::records::Stored<keel_domain::pm::Initiative>,
) -> ApiResult<InitiativeOut> {
    Ok(initiative_json(&app.initiative_view(a.product.id, s).await?))
}

/// A product's initiatives (a stakeholder sees only the public ones).
#[utoipa::path(get, path = "/api/v1/products/{product}/initiatives", tag = "roadmap",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = [InitiativeOut]), (status = 404, body = Problem)))]
pub async fn list_initiatives(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<InitiativeOut>>> {
    let a = s.app.access(&u.user, &key).await?;
    let mut r = s.app.roadmap(&a).await?;
    if public_only(&a) {
        r = App::public_roadmap(r);
    }
    r.initiatives.sort_by_key(|v| v.stored.id);
    Ok(Json(r.initiatives.iter().map(initiative_json).collect()))
}

/// Creates an initiative. The Product Manager decides; the Product Owner's becomes a proposal
/// (202).
#[utoipa::path(post, path = "/api/v1/products/{product}/initiatives", tag = "roadmap",
    params(("product" = String, Path, description = "Product key")), request_body = InitiativeIn,
    responses((status = 201, body = InitiativeOut), (status = 202, body = ProposalOut), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_initiative(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<InitiativeIn>,
) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    if b.version.is_some() {
        return Err(keel_app::AppError::invalid("version", "is only for changes").into());
    }
    let reason = b.reason.clone();
    let o = s.app.create_initiative(&a, &input_of(b), reason.as_deref()).await?;
    let o = match o {
        keel_app::Outcome::Done(st) => keel_app::Outcome::Done(view(&s.app, &a, st).await?),
        keel_app::Outcome::Proposed(p) => keel_app::Outcome::Proposed(p),
    };
    Ok(outcome(o, StatusCode::CREATED, |v| Json(v).into_response()))
}

async fn scoped(
    s: &AppState,
    u: &ApiUser,
    id: i64,
) -> ApiResult<(ProductAccess, keel_app::records::Stored<keel_domain::pm::Initiative>)> {
    let (a, st) = s.app.initiative(&u.user, RecordId(id)).await?;
    if public_only(&a) && !st.data.plan.public {
        return Err(ApiError::not_found());
    }
    Ok((a, st))
}

/// An initiative with its progress and warnings.
#[utoipa::path(get, path = "/api/v1/initiatives/{id}", tag = "roadmap",
    params(("id" = i64, Path, description = "Initiative id")),
    responses((status = 200, body = InitiativeOut), (status = 404, body = Problem)))]
pub async fn get_initiative(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<InitiativeOut>> {
    let (a, st) = scoped(&s, &u, id).await?;
    Ok(Json(view(&s.app, &a, st).await?))
}

/// Changes an initiative (moving it between lanes or in time too). The Product Manager
/// decides; the Product Owner's change becomes a proposal (202). An end past a linked goal's
/// due date is allowed and answered with `warnings`.
#[utoipa::path(patch, path = "/api/v1/initiatives/{id}", tag = "roadmap",
    params(("id" = i64, Path, description = "Initiative id")), request_body = InitiativeIn,
    responses((status = 200, body = InitiativeOut), (status = 202, body = ProposalOut), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn patch_initiative(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<InitiativeIn>,
) -> ApiResult<Response> {
    let (a, st) = scoped(&s, &u, id).await?;
    let (version, reason) = (b.version, b.reason.clone());
    let o = s.app.update_initiative(&a, &st, &input_of(b), version, reason.as_deref()).await?;
    let o = match o {
        keel_app::Outcome::Done(st) => keel_app::Outcome::Done(view(&s.app, &a, st).await?),
        keel_app::Outcome::Proposed(p) => keel_app::Outcome::Proposed(p),
    };
    Ok(outcome(o, StatusCode::OK, |v| Json(v).into_response()))
}

/// Deletes an initiative (the Product Manager's).
#[utoipa::path(delete, path = "/api/v1/initiatives/{id}", tag = "roadmap",
    params(("id" = i64, Path, description = "Initiative id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn delete_initiative(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let (a, st) = scoped(&s, &u, id).await?;
    s.app.delete_initiative(&a, &st).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The roadmap: lanes now / next / later and a timeline by quarter (a stakeholder sees only
/// the public initiatives).
#[utoipa::path(get, path = "/api/v1/products/{product}/roadmap", tag = "roadmap",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = RoadmapOut), (status = 404, body = Problem)))]
pub async fn get_roadmap(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<RoadmapOut>> {
    let a = s.app.access(&u.user, &key).await?;
    let mut r = s.app.roadmap(&a).await?;
    if public_only(&a) {
        r = App::public_roadmap(r);
    }
    Ok(Json(roadmap_json(a.product.key.as_str(), &r)))
}

/// Publishes the roadmap at a new unguessable link, revoking the previous one (the Product
/// Manager's).
#[utoipa::path(post, path = "/api/v1/products/{product}/roadmap/publish", tag = "roadmap",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 201, body = PublicationOut), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn publish(State(s): State<AppState>, u: ApiUser, Path(key): Path<String>) -> ApiResult<Response> {
    let a = s.app.access(&u.user, &key).await?;
    let token = s.app.publish_roadmap(&a).await?;
    let out = PublicationOut {
        api_url: format!("/api/v1/roadmaps/published/{token}"),
        page_url: format!("/roadmaps/{token}"),
        token,
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Revokes the published link (the Product Manager's).
#[utoipa::path(delete, path = "/api/v1/products/{product}/roadmap/publish", tag = "roadmap",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 204, description = "Revoked"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn unpublish(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<StatusCode> {
    let a = s.app.access(&u.user, &key).await?;
    s.app.unpublish_roadmap(&a).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A published roadmap: public initiatives with their public wording; no sign-in needed.
#[utoipa::path(get, path = "/api/v1/roadmaps/published/{token}", tag = "roadmap",
    params(("token" = String, Path, description = "The published link's token")),
    responses((status = 200, body = PublishedRoadmapOut), (status = 404, body = Problem)))]
pub async fn get_published(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Json<PublishedRoadmapOut>> {
    let p = s.app.published_roadmap(&token).await?;
    Ok(Json(published_json(&p.product.name, &p.roadmap)))
}
