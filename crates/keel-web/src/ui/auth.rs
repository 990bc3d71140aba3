//! Signing in and out with the form; the session lives in an HttpOnly cookie.

use super::form::FormData;
use super::{is_local_path, message, render_status, UiResult};
use crate::extract::{session_cookie, ClientAddr};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use keel_app::AppError;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "signin.html")]
struct SignIn {
    css: &'static str,
    icon: &'static str,
    next: String,
    email: String,
    error: Option<String>,
    notice: Option<String>,
}

/// Query of the sign-in page.
#[derive(Deserialize)]
pub(crate) struct SignInQuery {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    notice: Option<String>,
}

fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) => n.to_string(),
        _ => "/".to_string(),
    }
}

fn page_with(
    status: StatusCode,
    next: String,
    email: String,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let t =
        SignIn { css: super::assets::css_url(), icon: super::assets::icon_url(), next, email, error, notice };
    match render_status(status, &t) {
        Ok(r) => r,
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "error").into_response(),
    }
}

/// GET /signin
pub(crate) async fn page(axum::extract::Query(q): axum::extract::Query<SignInQuery>) -> Response {
    page_with(
        StatusCode::OK,
        safe_next(q.next.as_deref()),
        String::new(),
        None,
        q.notice.filter(|n| !n.is_empty()),
    )
}

/// POST /signin
pub(crate) async fn submit(
    State(st): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    form: FormData,
) -> Response {
    let next = safe_next(form.opt("next"));
    let email = form.get("email").trim().to_string();
    match st.app.sign_in(&email, form.get("password"), &addr.0).await {
        Ok(s) => {
            // A new session at every sign-in; the one the browser held before ends.
            if let Some(old) = super::session_cookie_of(&headers) {
                if let Err(e) = st.app.sign_out(&old).await {
                    tracing::warn!(error = %e, "could not end the previous session");
                }
            }
            let mut res = Redirect::to(&next).into_response();
            let c =
                session_cookie(Some(&s.cookie), st.app.settings().session_ttl_secs, st.config.secure_cookies);
            if let Ok(v) = HeaderValue::from_str(&c) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Err(e @ AppError::BadCredentials) => {
            page_with(StatusCode::UNAUTHORIZED, next, email, Some(message(&e)), None)
        }
        Err(e @ AppError::Throttled { retry_after_secs }) => {
            let mut r = page_with(StatusCode::TOO_MANY_REQUESTS, next, email, Some(message(&e)), None);
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "sign-in failed");
            page_with(
                StatusCode::INTERNAL_SERVER_ERROR,
                next,
                email,
                Some("Signing in failed on the server; please try again.".into()),
                None,
            )
        }
    }
}

/// POST /signout: ends the session and removes the cookie. The CSRF token is checked so another
/// site cannot sign the user out.
pub(crate) async fn sign_out(State(st): State<AppState>, headers: HeaderMap, form: FormData) -> Response {
    let r: UiResult = async {
        if let Some(c) = super::session_cookie_of(&headers) {
            if let Ok((session, _)) = st.app.session_user(&c).await {
                if !crate::extract::constant_eq(form.get("csrf"), &session.csrf_token) {
                    return Ok((StatusCode::FORBIDDEN, "The form has expired; reload and try again.")
                        .into_response());
                }
                st.app.sign_out(&c).await?;
            }
        }
        let mut res = Redirect::to("/signin?notice=You%20are%20signed%20out.").into_response();
        let c = session_cookie(None, 0, st.config.secure_cookies);
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().insert(header::SET_COOKIE, v);
        }
        Ok(res)
    }
    .await;
    r.unwrap_or_else(|_| {
        (StatusCode::INTERNAL_SERVER_ERROR, "Signing out failed; please try again.").into_response()
    })
}
