//! Signing in and out, the current user, and the caller's API tokens.

use crate::error::ApiResult;
use crate::extract::Path;
use crate::extract::{cookie, session_cookie, ApiUser, ClientAddr, Json as JsonIn, SESSION_COOKIE};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, request::Parts, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use keel_api::wire::{MeOut, SessionIn, TokenCreatedOut, TokenIn, TokenOut};
use keel_api::Problem;
use keel_domain::TokenId;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/session", post(sign_in).delete(sign_out))
        .route("/api/v1/me", get(me))
        .route("/api/v1/tokens", post(create_token).get(list_tokens))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
}

/// Signs in with e-mail and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", security(()), request_body = SessionIn,
    responses((status = 200, body = MeOut, description = "Signed in; the session cookie is set"),
        (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn sign_in(
    State(s): State<AppState>,
    addr: ClientAddr,
    headers: axum::http::HeaderMap,
    JsonIn(b): JsonIn<SessionIn>,
) -> ApiResult<Response> {
    let ns = s.app.sign_in(&b.email, &b.password, &addr.0).await?;
    // A new session at every sign-in; the one the browser held before ends, so a cookie planted
    // or seen before signing in is worth nothing after.
    if let Some(old) = crate::ui::session_cookie_of(&headers) {
        s.app.sign_out(&old).await?;
    }
    let c = session_cookie(Some(&ns.cookie), s.app.settings().session_ttl_secs, s.config.secure_cookies);
    let body = MeOut { user: (&ns.user).into(), csrf_token: Some(ns.session.csrf_token) };
    Ok(([(header::SET_COOKIE, c)], Json(body)).into_response())
}

/// Signs out: ends the session and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", security(()),
    responses((status = 204, description = "Signed out")))]
pub async fn sign_out(State(s): State<AppState>, parts: Parts) -> ApiResult<Response> {
    if let Some(c) = cookie(&parts, SESSION_COOKIE) {
        s.app.sign_out(c).await?;
    }
    let c = session_cookie(None, 0, s.config.secure_cookies);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, c)]).into_response())
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    responses((status = 200, body = MeOut), (status = 401, body = Problem)))]
pub async fn me(u: ApiUser) -> Json<MeOut> {
    Json(MeOut { user: (&u.user).into(), csrf_token: u.csrf })
}

/// Creates an API token for the caller; the token is shown only in this answer.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "session", request_body = TokenIn,
    responses((status = 201, body = TokenCreatedOut), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn create_token(
    State(s): State<AppState>,
    u: ApiUser,
    JsonIn(b): JsonIn<TokenIn>,
) -> ApiResult<(StatusCode, Json<TokenCreatedOut>)> {
    let t = s.app.create_token(&u.user, &b.name).await?;
    Ok((StatusCode::CREATED, Json(TokenCreatedOut { token: t.token, record: (&t.record).into() })))
}

/// The caller's tokens, newest first.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "session",
    responses((status = 200, body = [TokenOut]), (status = 401, body = Problem)))]
pub async fn list_tokens(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Vec<TokenOut>>> {
    let list = s.app.tokens_of(&u.user, u.user.id).await?;
    Ok(Json(list.iter().map(TokenOut::from).collect()))
}

/// Revokes one of the caller's tokens (any token, for an administrator).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "session", params(("id" = i64, Path, description = "Token id")),
    responses((status = 200, body = TokenOut), (status = 404, body = Problem)))]
pub async fn revoke_token(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<TokenOut>> {
    let t = s.app.revoke_token(&u.user, TokenId(id)).await?;
    Ok(Json((&t).into()))
}
