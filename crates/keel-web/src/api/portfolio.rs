//! JSON API: the portfolio, every product of the caller side by side.

use crate::error::ApiResult;
use crate::extract::ApiUser;
use crate::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use keel_api::portfolio::{
    PortfolioGoalOut, PortfolioInitiativeOut, PortfolioLaneOut, PortfolioOut, PortfolioProductOut,
    PortfolioReleaseOut, PortfolioSprintOut,
};
use keel_api::rfc3339;
use keel_api::Problem;
use keel_app::portfolio::PortfolioProduct;
use utoipa::OpenApi;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/portfolio", get(get_portfolio))
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(get_portfolio),
    tags((name = "portfolio", description = "Every product of the caller side by side"))
)]
pub struct Doc;

/// The caller's portfolio: for every product they are a member of (an administrator: every
/// product), the vision line, goals with progress and due dates, the roadmap lanes (the
/// published roadmap for a stakeholder), releases and the teams' active sprints.
#[utoipa::path(get, path = "/api/v1/portfolio", tag = "portfolio",
    responses((status = 200, body = PortfolioOut), (status = 401, body = Problem)))]
pub async fn get_portfolio(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<PortfolioOut>> {
    let list = s.app.portfolio(&u.user).await?;
    Ok(Json(PortfolioOut { products: list.iter().map(product_json).collect() }))
}

/// The wire form of one product of the portfolio.
pub fn product_json(p: &PortfolioProduct) -> PortfolioProductOut {
    PortfolioProductOut {
        key: p.product.key.to_string(),
        name: p.product.name.clone(),
        roles: p.roles.iter().map(|r| r.as_str().to_string()).collect(),
        vision: p.vision.as_ref().map(|v| v.fields.statement.clone()),
        vision_version: p.vision.as_ref().map_or(0, |v| v.number),
        goals: p
            .goals
            .iter()
            .map(|g| PortfolioGoalOut {
                id: g.goal.id.0,
                title: g.goal.data.title.clone(),
                due: g.goal.data.due.map(|d| d.to_string()),
                progress: g.progress,
                key_results: g.goal.data.key_results.len(),
            })
            .collect(),
        public_roadmap: p.public_only,
        lanes: p
            .lanes
            .iter()
            .map(|l| PortfolioLaneOut {
                lane: l.lane.as_str().to_string(),
                initiatives: l
                    .initiatives
                    .iter()
                    .map(|i| PortfolioInitiativeOut {
                        id: i.id.0,
                        title: i.title.clone(),
                        status: i.status.as_str().to_string(),
                        start: i.start.map(|d| d.to_string()),
                        end: i.end.map(|d| d.to_string()),
                    })
                    .collect(),
            })
            .collect(),
        releases: p
            .releases
            .iter()
            .map(|r| PortfolioReleaseOut {
                id: r.id.0,
                name: r.data.name.clone(),
                target_date: r.data.target_date.map(|d| d.to_string()),
                released_at: r.data.released_at.map(rfc3339),
            })
            .collect(),
        sprints: p
            .sprints
            .iter()
            .map(|s| PortfolioSprintOut {
                id: s.sprint.id.0,
                team: s.team.clone(),
                name: s.sprint.data.name.clone(),
                start: s.sprint.data.start.to_string(),
                end: s.sprint.data.end.to_string(),
            })
            .collect(),
    }
}
