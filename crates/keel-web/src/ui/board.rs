//! Pages: boards (scrum and kanban), WIP limits, workflow editing.

use crate::AppState;
use axum::Router;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
