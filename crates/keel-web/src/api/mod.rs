//! The JSON API under `/api/v1`.

use crate::AppState;
use axum::Router;

/// The API's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
