//! Products, their members and workflows.

use crate::error::ApiResult;
use crate::extract::Path;
use crate::extract::{ApiUser, Json as JsonIn};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use keel_api::wire::{MemberIn, MemberOut, ProductIn, ProductOut, ProductPatchIn, StateOut};
use keel_api::Problem;
use keel_app::AppError;
use keel_domain::product::Roles;
use keel_domain::UserId;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/products", get(list_products).post(create_product))
        .route("/api/v1/products/{product}", get(get_product).patch(patch_product))
        .route("/api/v1/products/{product}/members", get(list_members))
        .route("/api/v1/products/{product}/members/{user_id}", put(put_member).delete(delete_member))
        .route("/api/v1/products/{product}/workflow", get(workflow))
}

/// The products the caller belongs to (every product, for an administrator), with the caller's roles.
#[utoipa::path(get, path = "/api/v1/products", tag = "products",
    responses((status = 200, body = [ProductOut]), (status = 401, body = Problem)))]
pub async fn list_products(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Vec<ProductOut>>> {
    let list = s.app.products_for(&u.user).await?;
    Ok(Json(list.iter().map(|(p, r)| ProductOut::new(p, *r)).collect()))
}

/// Creates a product (administrators); the creator becomes its Product Manager and Product Owner.
#[utoipa::path(post, path = "/api/v1/products", tag = "products", request_body = ProductIn,
    responses((status = 201, body = ProductOut), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_product(
    State(s): State<AppState>,
    u: ApiUser,
    JsonIn(b): JsonIn<ProductIn>,
) -> ApiResult<(StatusCode, Json<ProductOut>)> {
    let p = s.app.create_product(Some(&u.user), &b.key, &b.name, &b.description).await?;
    let roles = s.app.store().roles(p.id, u.user.id).await.map_err(AppError::from)?;
    Ok((StatusCode::CREATED, Json(ProductOut::new(&p, roles))))
}

/// A product.
#[utoipa::path(get, path = "/api/v1/products/{product}", tag = "products",
    params(("product" = String, Path, description = "Product key, e.g. SHOP")),
    responses((status = 200, body = ProductOut), (status = 404, body = Problem)))]
pub async fn get_product(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<ProductOut>> {
    let a = s.app.access(&u.user, &key).await?;
    Ok(Json(ProductOut::new(&a.product, a.roles)))
}

/// Changes a product's name or description (the Product Manager decides).
#[utoipa::path(patch, path = "/api/v1/products/{product}", tag = "products",
    params(("product" = String, Path, description = "Product key")), request_body = ProductPatchIn,
    responses((status = 200, body = ProductOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_product(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<ProductPatchIn>,
) -> ApiResult<Json<ProductOut>> {
    let a = s.app.access(&u.user, &key).await?;
    let p = s.app.update_product(&a, b.name.as_deref(), b.description.as_deref(), b.version).await?;
    Ok(Json(ProductOut::new(&p, a.roles)))
}

/// The product's members with their roles.
#[utoipa::path(get, path = "/api/v1/products/{product}/members", tag = "products",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = [MemberOut]), (status = 404, body = Problem)))]
pub async fn list_members(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<MemberOut>>> {
    let a = s.app.access(&u.user, &key).await?;
    let m = s.app.members(&a).await?;
    Ok(Json(m.iter().map(|(u, r)| MemberOut::new(u, *r)).collect()))
}

/// Sets a user's roles in the product (administrators).
#[utoipa::path(put, path = "/api/v1/products/{product}/members/{user_id}", tag = "products",
    params(("product" = String, Path, description = "Product key"), ("user_id" = i64, Path, description = "User id")),
    request_body = MemberIn,
    responses((status = 200, body = MemberOut), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn put_member(
    State(s): State<AppState>,
    u: ApiUser,
    Path((key, user_id)): Path<(String, i64)>,
    JsonIn(b): JsonIn<MemberIn>,
) -> ApiResult<Json<MemberOut>> {
    let a = s.app.access(&u.user, &key).await?;
    if !u.user.is_admin {
        return Err(AppError::AdminOnly.into());
    }
    let roles = Roles::parse_list("roles", &b.roles).map_err(AppError::from)?;
    s.app.set_member(Some(&u.user), &a.product, UserId(user_id), roles).await?;
    let target = s.app.user(Some(&u.user), UserId(user_id)).await?;
    Ok(Json(MemberOut::new(&target, roles)))
}

/// Removes a member (administrators).
#[utoipa::path(delete, path = "/api/v1/products/{product}/members/{user_id}", tag = "products",
    params(("product" = String, Path, description = "Product key"), ("user_id" = i64, Path, description = "User id")),
    responses((status = 204, description = "Removed"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_member(
    State(s): State<AppState>,
    u: ApiUser,
    Path((key, user_id)): Path<(String, i64)>,
) -> ApiResult<StatusCode> {
    let a = s.app.access(&u.user, &key).await?;
    s.app.remove_member(Some(&u.user), &a.product, UserId(user_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The product's workflow states, in order.
#[utoipa::path(get, path = "/api/v1/products/{product}/workflow", tag = "products",
    params(("product" = String, Path, description = "Product key")),
    responses((status = 200, body = [StateOut]), (status = 404, body = Problem)))]
pub async fn workflow(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
) -> ApiResult<Json<Vec<StateOut>>> {
    let a = s.app.access(&u.user, &key).await?;
    let w = s.app.workflow(&a).await?;
    Ok(Json(w.states.iter().map(StateOut::from).collect()))
}
