//! Keel's web layer: the JSON API under `/api/v1` (with its OpenAPI document) and the
//! server-rendered UI, over one [`keel_app::App`].
//!
//! Each feature module owns its routes; [`router`] lists them all and applies the layers
//! (security headers, body limit). Health checks sit outside authentication.
#![forbid(unsafe_code)]

pub mod api;
pub mod error;
pub mod extract;
pub mod markdown;
pub mod pdf;
pub mod security;
pub mod telemetry;
pub mod ui;

use axum::Router;
use keel_app::App;
use std::net::SocketAddr;
use std::sync::Arc;

/// Web settings.
#[derive(Clone, Default)]
pub struct WebConfig {
    /// Mark cookies `Secure` (when Keel is served over TLS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// Bearer token that opens `/metrics` to callers beyond the loopback interface.
    pub metrics_token: Option<String>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("secure_cookies", &self.secure_cookies)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// What every handler receives.
#[derive(Clone)]
pub struct AppState {
    /// The application.
    pub app: App,
    /// Web settings.
    pub config: Arc<WebConfig>,
    /// Request counters for `/metrics`.
    pub telemetry: Arc<telemetry::Telemetry>,
}

/// Largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The whole application's routes with their layers.
pub fn router(app: App, config: WebConfig) -> Router {
    let state = AppState { app, config: Arc::new(config), telemetry: Arc::default() };
    Router::new()
        .merge(api::routes())
        .merge(ui::routes())
        .route("/metrics", axum::routing::get(telemetry::metrics))
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), telemetry::track))
        .layer(axum::middleware::from_fn(security::headers))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Serves the application on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    config: WebConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = router(app, config).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}
