//! Pages: teams, capacity, sprints: planning, start, close.

use crate::AppState;
use axum::Router;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
