//! JSON API: customer feedback, the feedback widget, opportunities and their scores.

use crate::AppState;
use axum::Router;
use utoipa::OpenApi;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi()]
pub struct Doc;
