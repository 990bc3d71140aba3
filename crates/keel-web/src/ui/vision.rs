//! Pages: vision board, goals, key results and KPIs.

use crate::AppState;
use axum::Router;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
