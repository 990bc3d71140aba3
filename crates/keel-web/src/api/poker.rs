//! JSON API: planning poker, questions to the Product Owner, and the decision log.

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
