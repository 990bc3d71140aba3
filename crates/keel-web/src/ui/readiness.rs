//! Pages: definition of Ready and Done, acceptance, bulk edit, releases.

use crate::AppState;
use axum::Router;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
