//! The server-rendered web UI: askama templates in one shared layout, plain links and forms
//! that work without JavaScript, and a small script (`assets/app.js`) that adds drag and drop,
//! keyboard reordering and in-place updates on top.
//!
//! Every state-changing form is a POST carrying the session's CSRF token and answers with a
//! 303 redirect back (Post/Redirect/Get); messages travel in the query string (`?notice=`,
//! `?error=`) and are escaped like any other text when shown.

mod admin;
mod assets;
mod auth;
mod backlog;
mod board;
mod ceremonies;
pub(crate) mod chart;
mod comments;
mod discovery;
mod forecast;
mod form;
mod imports;
mod items;
mod launch;
mod market;
mod minify;
mod outcomes;
mod poker;
mod portfolio;
mod products;
mod proposals;
mod readiness;
mod reports;
mod roadmap;
mod sprints;
mod tokens;
mod view;
mod vision;
mod webhooks;

use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use keel_app::AppError;
use keel_domain::product::Product;
use serde::Deserialize;

/// The UI's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/{file}", get(assets::serve))
        .route("/signin", get(auth::page).post(auth::submit))
        .route("/signout", post(auth::sign_out))
        .route("/", get(products::home))
        .route("/products", post(products::create))
        .route("/products/{key}", get(products::show))
        .route("/products/{key}/backlog", get(backlog::page))
        .route("/products/{key}/items", post(backlog::quick_add))
        .route("/products/{key}/proposals", get(proposals::page))
        .route("/products/{key}/proposals/{id}/accept", post(proposals::accept))
        .route("/products/{key}/proposals/{id}/decline", post(proposals::decline))
        .route("/products/{key}/members", get(products::members).post(products::members_update))
        .route("/products/{key}/settings", get(products::settings))
        .route("/products/{key}/board", get(products::team_board))
        .route("/products/{key}/standup", get(products::team_standup))
        .route("/items/{key}", get(items::page))
        .route("/items/{key}/edit", get(items::edit_page).post(items::edit_submit))
        .route("/items/{key}/move", post(backlog::move_item))
        .route("/items/{key}/criteria", post(items::add_criterion))
        .route("/items/{key}/criteria/{id}", post(items::toggle_criterion))
        .route("/items/{key}/links", post(items::add_link))
        .route("/items/{key}/links/{id}/remove", post(items::remove_link))
        .route("/admin/users", get(admin::users).post(admin::users_update))
        .route("/settings/tokens", get(tokens::page).post(tokens::update))
        .merge(sprints::routes())
        .merge(board::routes())
        .merge(poker::routes())
        .merge(readiness::routes())
        .merge(ceremonies::routes())
        .merge(vision::routes())
        .merge(roadmap::routes())
        .merge(discovery::routes())
        .merge(market::routes())
        .merge(launch::routes())
        .merge(outcomes::routes())
        .merge(portfolio::routes())
        .merge(reports::routes())
        .merge(forecast::routes())
        .merge(webhooks::routes())
        .merge(imports::routes())
        .merge(comments::routes())
}

/// The 404 page for any path no route answers, for the application's fallback: in the layout
/// for a signed-in user, plain otherwise.
pub async fn not_found_page(State(st): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let cookie = session_cookie_of(&headers);
    if let Some(c) = cookie {
        if let Ok((session, user)) = st.app.session_user(&c).await {
            let s = UiSession { user, csrf: session.csrf_token };
            return error_page(&st, &s, UiError::App(AppError::NotFound)).await;
        }
    }
    (StatusCode::NOT_FOUND, Html(view::plain_not_found())).into_response()
}

/// The session cookie's value sent with a request, if any.
pub(crate) fn session_cookie_of(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == crate::extract::SESSION_COOKIE)
        .map(|(_, v)| v.to_string())
}

/// Messages carried in the query string after a redirect.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Flash {
    /// A success message.
    #[serde(default)]
    pub notice: Option<String>,
    /// An error message.
    #[serde(default)]
    pub error: Option<String>,
}

/// One link of the sidebar's product list.
pub(crate) struct NavProduct {
    pub key: String,
    pub name: String,
}

/// What the shared layout needs: who is signed in, where they are, and the messages to show.
pub(crate) struct Layout {
    pub title: String,
    pub user_name: String,
    pub user_email: String,
    pub is_admin: bool,
    pub csrf: String,
    pub products: Vec<NavProduct>,
    /// The product the page belongs to: (key, name).
    pub current: Option<(String, String)>,
    /// Which navigation entry is active: `home`, `backlog`, `proposals`, `members`, `admin`,
    /// `tokens`.
    pub section: &'static str,
    /// Breadcrumbs before the title: (href, label).
    pub crumbs: Vec<(String, String)>,
    pub notice: Option<String>,
    pub error: Option<String>,
    pub css: &'static str,
    pub js: &'static str,
    pub icon: &'static str,
    /// The theme script (blocking, in `<head>`), the shortcuts script, and the command palette
    /// (fetched by the shortcuts script on first use).
    pub theme_js: &'static str,
    pub keys_js: &'static str,
    pub palette_js: &'static str,
    /// The live-updates script, which a page with live regions loads itself.
    pub live_js: &'static str,
    /// The user's id (live updates skip the user's own changes, already shown in place).
    pub user_id: i64,
    /// How many unread notifications the user has (shown in the header).
    pub unread: usize,
    /// The current product's active sprints and next release, one click away in the sidebar:
    /// (href, label, which section it belongs to).
    pub now: Vec<(String, String, &'static str)>,
}

impl Layout {
    /// The layout for a page of `s`'s, with the sidebar's product list fetched in one call.
    pub(crate) async fn new(
        st: &AppState,
        s: &UiSession,
        title: impl Into<String>,
        section: &'static str,
        product: Option<&Product>,
    ) -> Layout {
        // The sidebar is a convenience: a failure to list products must not hide the page.
        let products = st
            .app
            .products_for(&s.user)
            .await
            .map(|v| {
                v.into_iter().map(|(p, _)| NavProduct { key: p.key.to_string(), name: p.name }).collect()
            })
            .unwrap_or_default();
        Layout {
            title: title.into(),
            user_name: s.user.name.clone(),
            user_email: s.user.email.as_str().to_string(),
            is_admin: s.user.is_admin,
            csrf: s.csrf.clone(),
            products,
            current: product.map(|p| (p.key.to_string(), p.name.clone())),
            section,
            crumbs: Vec::new(),
            notice: None,
            error: None,
            css: assets::css_url_for(section),
            js: assets::js_url(),
            icon: assets::icon_url(),
            theme_js: assets::theme_js_url(),
            keys_js: assets::keys_js_url(),
            palette_js: assets::palette_js_url(),
            live_js: assets::live_js_url(),
            user_id: s.user.id.0,
            // Like the sidebar, the count must not hide the page when it cannot be read.
            unread: st.app.unread_count(&s.user).await.unwrap_or(0),
            now: match product {
                Some(p) => now_links(st, p).await,
                None => Vec::new(),
            },
        }
    }

    /// Adds a breadcrumb.
    pub(crate) fn crumb(mut self, href: impl Into<String>, label: impl Into<String>) -> Self {
        self.crumbs.push((href.into(), label.into()));
        self
    }

    /// Shows the messages of a redirect.
    pub(crate) fn flash(mut self, f: &Flash) -> Self {
        self.notice = f.notice.clone().filter(|s| !s.is_empty());
        self.error = f.error.clone().filter(|s| !s.is_empty());
        self
    }

    /// Whether the navigation entry `s` is the active one (for `aria-current`).
    pub(crate) fn is(&self, s: &str) -> bool {
        self.section == s
    }

    /// Whether the sidebar entry for product `key` is the current product.
    pub(crate) fn is_current(&self, key: &str) -> bool {
        self.current.as_ref().is_some_and(|(k, _)| k == key)
    }

    /// The user's initials for the avatar.
    pub(crate) fn initials(&self) -> String {
        view::initials(&self.user_name)
    }
}

/// The sidebar's links to the product's active sprints and next release (none when they cannot
/// be read: the navigation must not hide the page).
async fn now_links(st: &AppState, p: &Product) -> Vec<(String, String, &'static str)> {
    let Ok((sprints, release)) = st.app.now_links(p.id).await else { return Vec::new() };
    let mut out: Vec<_> =
        sprints.into_iter().map(|s| (format!("/sprints/{}", s.id.0), s.data.name, "sprints")).collect();
    if let Some(r) = release {
        out.push((format!("/releases/{}", r.id.0), r.data.name, "releases"));
    }
    out
}

/// Why a page could not be shown.
pub(crate) enum UiError {
    /// An answer of the application.
    App(AppError),
    /// A form without the session's CSRF token (expired page, or another site's form).
    Csrf,
}

impl From<crate::extract::CsrfRejected> for UiError {
    fn from(_: crate::extract::CsrfRejected) -> Self {
        UiError::Csrf
    }
}

impl From<AppError> for UiError {
    fn from(e: AppError) -> Self {
        UiError::App(e)
    }
}

/// Result of a page or form handler.
pub(crate) type UiResult = Result<Response, UiError>;

/// Renders a template into a 200 answer.
pub(crate) fn render<T: Template>(t: &T) -> UiResult {
    render_status(StatusCode::OK, t)
}

/// Renders a template with a status.
pub(crate) fn render_status<T: Template>(status: StatusCode, t: &T) -> UiResult {
    match t.render() {
        Ok(body) => {
            let mut res = (status, Html(body)).into_response();
            // Pages carry the CSRF token and personal data: never from a shared cache.
            res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(res)
        }
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            Err(UiError::App(AppError::Internal(keel_store::StoreError::other(e))))
        }
    }
}

/// The error page in the layout.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    l: Layout,
    status: u16,
    heading: String,
    detail: String,
}

/// Turns a handler's result into the answer: errors become a page in the layout.
pub(crate) async fn finish(st: &AppState, s: &UiSession, r: UiResult) -> Response {
    match r {
        Ok(res) => res,
        Err(e) => error_page(st, s, e).await,
    }
}

/// The page for an error.
async fn error_page(st: &AppState, s: &UiSession, e: UiError) -> Response {
    let e = match e {
        UiError::App(e) => e,
        UiError::Csrf => {
            let l = Layout::new(st, s, "Form expired", "", None).await;
            let page = ErrorPage {
                l,
                status: 403,
                heading: "This form has expired".to_string(),
                detail:
                    "The form was not sent from a current Keel page. Go back, reload the page and try again."
                        .to_string(),
            };
            return render_status(StatusCode::FORBIDDEN, &page)
                .unwrap_or_else(|_| (StatusCode::FORBIDDEN, "form expired").into_response());
        }
    };
    let (status, heading, detail) = match &e {
        AppError::NotFound => (
            StatusCode::NOT_FOUND,
            "Not found".to_string(),
            "This page does not exist, or you are not a member of the product it belongs to.".to_string(),
        ),
        AppError::Forbidden { .. } | AppError::AdminOnly | AppError::NotYours(_) => {
            (StatusCode::FORBIDDEN, "Not allowed".to_string(), message(&e))
        }
        AppError::Unauthenticated => return Redirect::to("/signin").into_response(),
        AppError::Internal(keel_store::StoreError::Unavailable(reason)) => {
            tracing::warn!(reason = %reason, "database unavailable");
            let detail =
                "The database cannot be reached right now; nothing was changed. Please try again in a \
                          moment.";
            let mut r = (StatusCode::SERVICE_UNAVAILABLE, detail).into_response();
            r.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(crate::error::UNAVAILABLE_RETRY_SECS),
            );
            return r;
        }
        AppError::Internal(keel_store::StoreError::StorageFull(reason)) => {
            tracing::error!(reason = %reason, "database out of space");
            let detail = "The server has no room to store this change; nothing was changed.";
            return (StatusCode::INSUFFICIENT_STORAGE, detail).into_response();
        }
        AppError::Internal(_) => {
            tracing::error!(error = %e, "internal error in the UI");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong".to_string(),
                "The server could not complete this request. The error was logged; please try again."
                    .to_string(),
            )
        }
        AppError::StaleVersion { .. } | AppError::Conflict(_) => {
            (StatusCode::CONFLICT, "Conflict".to_string(), message(&e))
        }
        _ => (StatusCode::UNPROCESSABLE_ENTITY, "That did not work".to_string(), message(&e)),
    };
    let l = Layout::new(st, s, heading.clone(), "", None).await;
    let page = ErrorPage { l, status: status.as_u16(), heading, detail };
    match render_status(status, &page) {
        Ok(r) => r,
        Err(_) => (status, "error").into_response(),
    }
}

/// A sentence for a person about an application error.
pub(crate) fn message(e: &AppError) -> String {
    match e {
        AppError::Forbidden { action, deciders } => {
            let who: Vec<&str> = deciders.iter().map(|r| r.label()).collect();
            if who.is_empty() {
                format!("You may not {}.", action.describe())
            } else {
                format!("You may not {}: this is decided by the {}.", action.describe(), who.join(" or "))
            }
        }
        AppError::AdminOnly => "Only administrators may do this.".to_string(),
        AppError::NotYours(m) => view::capitalise(m),
        AppError::StaleVersion { .. } => {
            "This item was changed by someone else while you were editing it. Your changes were not saved; \
             the form now shows the latest version."
                .to_string()
        }
        AppError::Invalid(v) => format!("{}: {}", view::field_label(&v.field), v.message),
        AppError::Conflict(m) => view::capitalise(m),
        AppError::NotFound => "Not found.".to_string(),
        AppError::BadCredentials => "Wrong e-mail or password.".to_string(),
        AppError::Throttled { retry_after_secs } => format!(
            "Too many failed sign-ins. For your safety, signing in is paused; try again in {} minutes.",
            (retry_after_secs + 59) / 60
        ),
        AppError::Unauthenticated => "Please sign in.".to_string(),
        AppError::Internal(_) => "Something went wrong on the server; the error was logged.".to_string(),
    }
}

/// The message for a change that became a proposal.
pub(crate) fn proposed_notice(st: &AppState, p: &keel_domain::proposal::Proposal) -> String {
    let who: Vec<&str> = st.app.rights().deciders(p.action).iter().map(|r| r.label()).collect();
    let who = if who.is_empty() { "a decider".to_string() } else { format!("the {}", who.join(" or ")) };
    format!("Proposed: waiting for {who}. Proposal #{}: {}.", p.id, p.summary)
}

/// A 303 redirect to `to` with a message in the query string.
pub(crate) fn redirect_with(to: &str, kind: &str, msg: &str) -> Response {
    // Drop an earlier message so they do not pile up in the URL.
    let base = strip_flash(to);
    let sep = if base.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{base}{sep}{kind}={}", view::url_encode(msg))).into_response()
}

/// A 303 redirect to `to`.
pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(&strip_flash(to)).into_response()
}

/// `to` without `notice=` and `error=` parameters.
fn strip_flash(to: &str) -> String {
    match to.split_once('?') {
        None => to.to_string(),
        Some((path, q)) => {
            let rest: Vec<&str> = q
                .split('&')
                .filter(|p| !p.starts_with("notice=") && !p.starts_with("error=") && !p.is_empty())
                .collect();
            if rest.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", rest.join("&"))
            }
        }
    }
}

/// Whether `next` is a path on this site (not `//host` or a scheme), so redirecting to it
/// cannot send the user elsewhere.
pub(crate) fn is_local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
}

/// The local path a form asks to return to, or `fallback`.
pub(crate) fn back_to(form: &form::FormData, fallback: &str) -> String {
    let b = form.get("back");
    if is_local_path(b) {
        b.to_string()
    } else {
        fallback.to_string()
    }
}

/// The product key of an item key: the part before the last `-`.
pub(crate) fn product_of(item_key: &str) -> Option<&str> {
    item_key.rsplit_once('-').map(|(p, _)| p).filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_only() {
        assert!(is_local_path("/products/SHOP/backlog?q=a"));
        assert!(!is_local_path("//evil.example/"));
        assert!(!is_local_path("/\\evil.example"));
        assert!(!is_local_path("https://evil.example/"));
        assert!(!is_local_path(""));
    }

    #[test]
    fn flash_messages_replace_each_other() {
        let r = redirect_with("/x?q=a&error=old", "notice", "new & done");
        let loc = r.headers().get(header::LOCATION).unwrap().to_str().unwrap();
        assert_eq!(loc, "/x?q=a&notice=new%20%26%20done");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }

    #[test]
    fn product_keys_of_item_keys() {
        assert_eq!(product_of("SHOP-12"), Some("SHOP"));
        assert_eq!(product_of("MY-APP-3"), Some("MY-APP"));
        assert_eq!(product_of("nokey"), None);
    }
}
