//! Liveness and readiness, outside authentication.

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use keel_api::wire::HealthOut;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", security(()), responses((status = 200, body = HealthOut)))]
pub async fn healthz() -> Json<HealthOut> {
    Json(HealthOut { status: "ok".into(), database: None })
}

/// The database answers.
#[utoipa::path(get, path = "/readyz", tag = "health", security(()),
    responses((status = 200, body = HealthOut), (status = 503, body = HealthOut)))]
pub async fn readyz(State(s): State<AppState>) -> Response {
    let db = s.app.store().backend().to_string();
    match s.app.store().ping().await {
        Ok(()) => Json(HealthOut { status: "ok".into(), database: Some(db) }).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(HealthOut { status: "unavailable".into(), database: Some(db) }),
            )
                .into_response()
        }
    }
}
