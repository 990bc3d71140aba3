//! Request extractors: JSON bodies and queries whose errors name the field, the API caller
//! (bearer token, or session cookie with a CSRF header), the UI session, and the client address.

use crate::error::ApiError;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Redirect, Response};
use keel_app::AppError;
use keel_domain::user::User;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "keel_session";
/// Header carrying the CSRF token for cookie-authenticated API calls.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A JSON body; a malformed one is a 400 problem naming the field at fault.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !(mime == "application/json" || mime.ends_with("+json")) {
            return Err(ApiError::problem(
                keel_api::Problem::new("unsupported-media-type", "Expected a JSON body", 415)
                    .detail("send Content-Type: application/json"),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::problem(
                keel_api::Problem::new("payload-too-large", "The body is too large", 413)
                    .detail(e.body_text()),
            )
        })?;
        parse_json(&bytes).map(Json)
    }
}

/// Parses a JSON body, naming the path of the first bad field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." || path.is_empty() { None } else { Some(path) };
        let inner = e.into_inner();
        // serde names an unknown or missing field in its message, not its path.
        let field = field.or_else(|| {
            let m = inner.to_string();
            m.split('`').nth(1).map(str::to_string)
        });
        ApiError::bad_request(inner.to_string(), field)
    })
}

/// A query string; a malformed one is a 400 problem naming the parameter.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded_de(q);
        de.map(Query)
    }
}

fn serde_urlencoded_de<T: DeserializeOwned>(q: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{q}").parse().map_err(|_| ApiError::bad_request("bad query", None))?,
    )
    .map(|axum::extract::Query(v)| v)
    .map_err(|e| {
        let m = e.body_text();
        let field = m.split('`').nth(1).map(str::to_string);
        ApiError::bad_request(m, field)
    })
}

/// Path parameters; one that does not parse (a number too large for an id, say) is a 400
/// problem naming the parameter instead of axum's plain-text answer.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) if e.status().is_client_error() => {
                let field = match e.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::DeserializeError { key, .. } => Some(key.clone()),
                    _ => None,
                };
                Err(ApiError::bad_request(e.kind().to_string(), field))
            }
            Err(e) => {
                // A route whose parameters do not fit its handler: a bug, not the caller's fault.
                tracing::error!(error = %e.body_text(), "path parameters do not fit the handler");
                Err(ApiError::problem(keel_api::Problem::new("internal", "Internal error", 500)))
            }
        }
    }
}

/// The value of cookie `name`, if sent.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` value for a session cookie (or its removal with `None`).
pub fn session_cookie(value: Option<&str>, max_age_secs: i64, secure: bool) -> String {
    let (v, age) = match value {
        Some(v) => (v, max_age_secs),
        None => ("", 0),
    };
    format!(
        "{SESSION_COOKIE}={v}; Path=/; HttpOnly; SameSite=Lax; Max-Age={age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The authenticated caller of an API request.
pub struct ApiUser {
    /// The user.
    pub user: User,
    /// The session's CSRF token when authenticated by cookie.
    pub csrf: Option<String>,
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let v = auth.to_str().map_err(|_| ApiError::from(AppError::Unauthenticated))?;
            let token = v.strip_prefix("Bearer ").ok_or(ApiError::from(AppError::Unauthenticated))?;
            let user = state.app.token_user(token.trim()).await?;
            return Ok(ApiUser { user, csrf: None });
        }
        let Some(c) = cookie(parts, SESSION_COOKIE) else {
            return Err(AppError::Unauthenticated.into());
        };
        let (session, user) = state.app.session_user(c).await?;
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !constant_eq(sent, &session.csrf_token) {
                return Err(ApiError::problem(
                    keel_api::Problem::new("csrf", "Missing or wrong CSRF token", 403)
                        .detail("cookie-authenticated writes must send the session's X-CSRF-Token header")
                        .field(CSRF_HEADER),
                ));
            }
        }
        Ok(ApiUser { user, csrf: Some(session.csrf_token) })
    }
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A form whose CSRF token is missing or wrong: answered with 403.
#[derive(Debug, Clone, Copy)]
pub struct CsrfRejected;

impl IntoResponse for CsrfRejected {
    fn into_response(self) -> Response {
        (
            axum::http::StatusCode::FORBIDDEN,
            "The form has expired or was not sent by Keel; reload and try again.",
        )
            .into_response()
    }
}

impl From<CsrfRejected> for Response {
    fn from(c: CsrfRejected) -> Self {
        c.into_response()
    }
}

/// A signed-in browser user of the UI; redirects to the sign-in page otherwise.
pub struct UiSession {
    /// The user.
    pub user: User,
    /// The session's CSRF token, to embed in forms.
    pub csrf: String,
}

impl UiSession {
    /// Checks a form's CSRF token.
    pub fn check_csrf(&self, sent: &str) -> Result<(), CsrfRejected> {
        if constant_eq(sent, &self.csrf) {
            Ok(())
        } else {
            Err(CsrfRejected)
        }
    }
}

impl FromRequestParts<AppState> for UiSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let back = || {
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let next: String = path
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            Redirect::to(&format!("/signin?next={next}")).into_response()
        };
        let Some(c) = cookie(parts, SESSION_COOKIE) else { return Err(back()) };
        match state.app.session_user(c).await {
            Ok((s, user)) => Ok(UiSession { user, csrf: s.csrf_token }),
            Err(AppError::Unauthenticated) => Err(back()),
            Err(e) => Err(ApiError::from(e).into_response()),
        }
    }
}

/// The client's address, for sign-in throttling.
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string());
        Ok(ClientAddr(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::{constant_eq, session_cookie};

    #[test]
    fn secrets_compare_whole() {
        assert!(constant_eq("abc123", "abc123"));
        for other in ["abc124", "xbc123", "abc12", "abc1234", ""] {
            assert!(!constant_eq("abc123", other), "{other}");
        }
    }

    #[test]
    fn the_session_cookie_is_http_only_and_same_site() {
        let c = session_cookie(Some("v"), 60, false);
        assert_eq!(c, "keel_session=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=60");
        assert!(session_cookie(Some("v"), 60, true).ends_with("; Secure"));
        assert!(session_cookie(None, 60, true)
            .starts_with("keel_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"));
    }
}
