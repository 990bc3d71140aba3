//! JSON API: the embeddable feedback widget (its settings, the public post endpoint with CORS
//! and rate limiting, and the script customers' pages include) and merging duplicate feedback.

use super::discovery::feedback_json;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::extract::{parse_json, ApiUser, ClientAddr, Json as JsonIn};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use keel_api::discovery::{FeedbackMergeIn, FeedbackOut, WidgetIn, WidgetOut, WidgetPostIn, WidgetPostOut};
use keel_api::Problem;
use keel_app::records::Stored;
use keel_app::widget::WidgetInput;
use keel_app::{AppError, ProductAccess};
use keel_domain::widget::{Widget, WidgetPost};
use keel_domain::RecordId;
use utoipa::OpenApi;

/// The script customers' pages include.
const WIDGET_JS: &str = include_str!("../../assets/widget.js");

/// Largest body a page may post: the longest text, in any script, and the other fields.
const POST_BODY_MAX: usize = 32 * 1024;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/products/{product}/widget", get(get_widget).put(put_widget))
        .route("/api/v1/products/{product}/widget/rotate", post(rotate_widget))
        .route("/api/v1/widget/{public_key}/feedback", post(widget_post).options(widget_preflight))
        .route("/api/v1/feedback/{id}/merge", post(merge_feedback))
        .route("/widget.js", get(widget_js))
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(get_widget, put_widget, rotate_widget, widget_post, widget_preflight, merge_feedback),
    tags((name = "widget", description = "The embeddable feedback widget: settings, public posts, and merging duplicate feedback"))
)]
pub struct Doc;

/// Keel's own origin as the caller reached it, for the snippet (behind a proxy that terminates
/// TLS, `X-Forwarded-Proto: https` makes it https).
pub fn keel_origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
        .unwrap_or("localhost");
    let https = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()) == Some("https");
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// The HTML a customer pastes into their pages.
pub fn snippet(origin: &str, key: &str) -> String {
    format!("<script src=\"{origin}/widget.js\" data-keel-key=\"{key}\" async></script>")
}

/// A product's widget settings as JSON.
pub fn widget_json(a: &ProductAccess, w: Option<&Stored<Widget>>, headers: &HeaderMap) -> WidgetOut {
    match w {
        Some(w) => WidgetOut {
            product: a.product.key.as_str().to_string(),
            configured: true,
            key: Some(w.data.key.clone()),
            enabled: w.data.enabled,
            origins: w.data.origins.clone(),
            post_path: Some(format!("/api/v1/widget/{}/feedback", w.data.key)),
            snippet: Some(snippet(&keel_origin(headers), &w.data.key)),
            version: Some(w.version),
        },
        None => WidgetOut {
            product: a.product.key.as_str().to_string(),
            configured: false,
            key: None,
            enabled: false,
            origins: vec![],
            post_path: None,
            snippet: None,
            version: None,
        },
    }
}

/// The product's feedback widget: its public key, whether it is on, the origins allowed, and
/// the snippet to paste (every member reads it; `configured: false` until first set up).
#[utoipa::path(get, path = "/api/v1/products/{product}/widget", tag = "widget",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = WidgetOut), (status = 404, body = Problem)))]
pub async fn get_widget(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<WidgetOut>> {
    let a = s.app.access(&u.user, &key).await?;
    let w = s.app.widget(&a).await?;
    Ok(Json(widget_json(&a, w.as_ref(), &headers)))
}

/// Turns the widget on or off and sets the origins whose pages may post (the Product
/// Manager); the first change sets it up with a new public key. A bad origin is a 422 naming
/// it (`origins[1]`).
#[utoipa::path(put, path = "/api/v1/products/{product}/widget", tag = "widget",
    params(("product" = String, Path, description = "Product key")), request_body = WidgetIn,
    responses((status = 200, body = WidgetOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_widget(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    headers: HeaderMap,
    JsonIn(b): JsonIn<WidgetIn>,
) -> ApiResult<Json<WidgetOut>> {
    let a = s.app.access(&u.user, &key).await?;
    let w = s.app.set_widget(&a, &WidgetInput { enabled: b.enabled, origins: b.origins }).await?;
    Ok(Json(widget_json(&a, Some(&w), &headers)))
}

/// Gives the widget a new public key (the Product Manager); the old key stops working at once
/// (posts with it answer 404). Pages must then embed the new snippet.
#[utoipa::path(post, path = "/api/v1/products/{product}/widget/rotate", tag = "widget",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = WidgetOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn rotate_widget(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<WidgetOut>> {
    let a = s.app.access(&u.user, &key).await?;
    let w = s.app.rotate_widget(&a).await?;
    Ok(Json(widget_json(&a, Some(&w), &headers)))
}

/// The CORS headers of an answer to a page from `origin`: the origin itself when the widget
/// lists origins (it was checked), `*` when any page may post. Credentials are never allowed.
fn cors(res: &mut Response, allow: &str) {
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(allow) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, OPTIONS"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Content-Type"));
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// What a public widget request may do.
enum Gate {
    /// Go ahead: the product, and the Access-Control-Allow-Origin value to answer with.
    Open(keel_domain::ProductId, String),
    /// Refused with this answer.
    Shut(Response),
}

/// Checks the key, that the widget is on, and the page's origin.
async fn gate(s: &AppState, key: &str, headers: &HeaderMap) -> Gate {
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    let (pid, w) = match s.app.widget_by_public_key(key).await {
        Ok(x) => x,
        Err(AppError::NotFound) => {
            let p = Problem::new("not-found", "Not found", 404)
                .detail("no feedback widget has this key (it may have been replaced)");
            let mut r = ApiError::problem(p).into_response();
            cors(&mut r, "*");
            return Gate::Shut(r);
        }
        Err(e) => return Gate::Shut(ApiError::from(e).into_response()),
    };
    if !w.allows(origin) {
        // No CORS headers: the browser keeps the answer from the page.
        let p = Problem::new("origin-not-allowed", "This site may not post feedback", 403)
            .detail("the page's origin is not among the widget's allowed origins");
        let mut r = ApiError::problem(p).into_response();
        r.headers_mut().insert(header::VARY, HeaderValue::from_static("Origin"));
        return Gate::Shut(r);
    }
    let allow = if w.origins.is_empty() { "*".to_string() } else { origin.unwrap_or("*").to_string() };
    if !w.enabled {
        let p = Problem::new("widget-off", "Feedback is turned off", 403)
            .detail("this product does not take feedback through its widget at the moment");
        let mut r = ApiError::problem(p).into_response();
        cors(&mut r, &allow);
        return Gate::Shut(r);
    }
    Gate::Open(pid, allow)
}

/// The CORS preflight of a widget post: 204 with the allowed origin, methods and headers when
/// the key is live and the page's origin allowed; 404 or 403 otherwise.
#[utoipa::path(options, path = "/api/v1/widget/{public_key}/feedback", tag = "widget", security(()),
    params(("public_key" = String, Path, description = "The widget's public key")),
    responses((status = 204, description = "Allowed"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn widget_preflight(
    State(s): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    match gate(&s, &key, &headers).await {
        Gate::Shut(r) => r,
        Gate::Open(_, allow) => {
            let mut r = StatusCode::NO_CONTENT.into_response();
            cors(&mut r, &allow);
            r.headers_mut().insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
            r
        }
    }
}

/// Records feedback from a customer's page: public, no authentication, no cookies. The body
/// is JSON (sent as `application/json` or `text/plain`): `text` (1–4000 characters), and
/// optional `name`, `email`, `company`, `page_url`; a bad field is a 422 naming it. Posts are
/// limited per client address and product (10 a minute, 200 a day): over that, 429 with
/// `Retry-After`. An unknown or replaced key is a 404; a widget turned off, or a page whose
/// origin is not allowed, a 403.
#[utoipa::path(post, path = "/api/v1/widget/{public_key}/feedback", tag = "widget", security(()),
    params(("public_key" = String, Path, description = "The widget's public key")), request_body = WidgetPostIn,
    responses((status = 201, body = WidgetPostOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn widget_post(
    State(s): State<AppState>,
    Path(key): Path<String>,
    addr: ClientAddr,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let (pid, allow) = match gate(&s, &key, &headers).await {
        Gate::Shut(r) => return r,
        Gate::Open(pid, allow) => (pid, allow),
    };
    let mut res = match post_feedback(&s, pid, &addr.0, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    cors(&mut res, &allow);
    res
}

async fn post_feedback(
    s: &AppState,
    pid: keel_domain::ProductId,
    addr: &str,
    body: axum::body::Body,
) -> ApiResult<Response> {
    // Counted before the body is checked: a flood of bad posts is a flood too.
    if let Some(wait) = s.app.widget_rate(pid, addr).await? {
        let minutes = (wait + 59) / 60;
        let p = Problem::new("rate-limited", "Too many messages", 429).detail(format!(
            "too many messages from this address; try again in {} minute{}",
            minutes,
            if minutes == 1 { "" } else { "s" }
        ));
        let mut r = ApiError::problem(p).into_response();
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(r);
    }
    let body = axum::body::to_bytes(body, POST_BODY_MAX).await.map_err(|_| {
        ApiError::problem(
            Problem::new("payload-too-large", "The body is too large", 413)
                .detail(format!("send at most {POST_BODY_MAX} bytes")),
        )
    })?;
    let b: WidgetPostIn = parse_json(&body)?;
    let post =
        WidgetPost { text: b.text, name: b.name, email: b.email, company: b.company, page_url: b.page_url };
    let f = s.app.widget_feedback(pid, post).await?;
    let out = WidgetPostOut { id: f.id.0, message: "Thank you! Your feedback was sent.".into() };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// The widget's script, for `<script src=".../widget.js" data-keel-key="KEY" async>`.
pub async fn widget_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::HeaderName::from_static("cross-origin-resource-policy"), "cross-origin"),
        ],
        WIDGET_JS,
    )
        .into_response()
}

/// Merges a duplicate piece of feedback into `into` of the same product (the Product Manager):
/// its opportunity links join the target's, its text is appended to the target's as a quoted
/// note naming its source and author, and the duplicate is removed, in one transaction. Answers
/// the feedback that stays.
#[utoipa::path(post, path = "/api/v1/feedback/{id}/merge", tag = "widget",
    params(("id" = i64, Path, description = "Id of the duplicate")), request_body = FeedbackMergeIn,
    responses((status = 200, body = FeedbackOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn merge_feedback(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<FeedbackMergeIn>,
) -> ApiResult<Json<FeedbackOut>> {
    let (a, f) = s.app.feedback_access(&u.user, id).await?;
    let kept = s.app.merge_feedback(&a, &f, RecordId(b.into)).await?;
    Ok(Json(feedback_json(&a, &kept)))
}
