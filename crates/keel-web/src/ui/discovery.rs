//! Pages: customer feedback, the feedback widget, opportunities and their scores.

use crate::AppState;
use axum::Router;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
