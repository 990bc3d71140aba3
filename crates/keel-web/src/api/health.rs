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

/// How long the readiness check waits for the database: a database that hangs makes `/readyz`
/// answer 503 in this time, not never.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// The database answers (within two seconds).
#[utoipa::path(get, path = "/readyz", tag = "health", security(()),
    responses((status = 200, body = HealthOut), (status = 503, body = HealthOut)))]
pub async fn readyz(State(s): State<AppState>) -> Response {
    let db = s.app.store().backend().to_string();
    let ping = tokio::time::timeout(READY_WITHIN, s.app.store().ping()).await.unwrap_or_else(|_| {
        Err(keel_store::StoreError::Unavailable(format!("no answer within {} ms", READY_WITHIN.as_millis())))
    });
    match ping {
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
