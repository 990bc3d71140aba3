//! Pages: planning poker, questions to the Product Owner, and the decision log.

use crate::AppState;
use axum::Router;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
