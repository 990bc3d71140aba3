//! User administration (administrators only).

use crate::error::ApiResult;
use crate::extract::Path;
use crate::extract::{ApiUser, Json as JsonIn, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use keel_api::wire::{UserIn, UserOut, UserPatchIn};
use keel_api::Problem;
use keel_app::users::UserInput;
use keel_domain::UserId;
use keel_store::Page;
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{id}", get(get_user).patch(patch_user))
}

/// Paging of the user list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserListQuery {
    /// The last e-mail of the previous page.
    cursor: Option<String>,
    /// Page size (1-500, default 50).
    limit: Option<u32>,
}

/// All users, by e-mail.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserListQuery),
    responses((status = 200, body = [UserOut]), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_users(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<UserListQuery>,
) -> ApiResult<Json<Vec<UserOut>>> {
    let page = Page { after: q.cursor, limit: super::limit(q.limit) };
    let list = s.app.list_users(Some(&u.user), &page).await?;
    Ok(Json(list.iter().map(UserOut::from).collect()))
}

/// Creates a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = UserIn,
    responses((status = 201, body = UserOut), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_user(
    State(s): State<AppState>,
    u: ApiUser,
    JsonIn(b): JsonIn<UserIn>,
) -> ApiResult<(StatusCode, Json<UserOut>)> {
    let input = UserInput { email: b.email, name: b.name, password: b.password, is_admin: b.is_admin };
    let created = s.app.create_user(Some(&u.user), input).await?;
    Ok((StatusCode::CREATED, Json((&created).into())))
}

/// A user (administrators, or oneself).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = UserOut), (status = 404, body = Problem)))]
pub async fn get_user(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<UserOut>> {
    Ok(Json((&s.app.user(Some(&u.user), UserId(id)).await?).into()))
}

/// Changes a user's name, administration, activity or password.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path, description = "User id")),
    request_body = UserPatchIn,
    responses((status = 200, body = UserOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn patch_user(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    JsonIn(b): JsonIn<UserPatchIn>,
) -> ApiResult<Json<UserOut>> {
    let id = UserId(id);
    if let Some(pw) = &b.password {
        s.app.change_password(&u.user, id, None, pw).await?;
    }
    let out = if b.name.is_some() || b.is_admin.is_some() || b.is_active.is_some() {
        s.app.update_user(Some(&u.user), id, b.name.as_deref(), b.is_admin, b.is_active).await?
    } else {
        s.app.user(Some(&u.user), id).await?
    };
    Ok(Json((&out).into()))
}
