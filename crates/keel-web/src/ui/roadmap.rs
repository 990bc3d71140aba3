//! Pages: initiatives and the roadmap, published roadmaps.

use crate::AppState;
use axum::Router;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
