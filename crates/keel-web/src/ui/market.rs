//! Pages: competitors, stakeholders and their updates, go-to-market, PRDs, the portfolio.

use crate::AppState;
use axum::Router;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
