//! The JSON API under `/api/v1`, and its OpenAPI 3.1 document generated from these handlers.

pub mod board;
pub mod ceremonies;
pub mod comments;
pub mod discovery;
pub mod forecast;
pub mod health;
pub mod imports;
pub mod items;
pub mod launch;
pub mod live;
pub mod market;
pub mod metrics;
pub mod outcomes;
pub mod poker;
pub mod portfolio;
pub mod products;
pub mod proposals;
pub mod readiness;
pub mod roadmap;
pub mod search;
pub mod session;
pub mod sprints;
pub mod users;
pub mod vision;
pub mod webhooks;
pub mod widget;

use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use keel_api::wire::ProposalOut;
use keel_app::{App, Outcome, ProductAccess};
use keel_domain::user::User;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The API's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(health::routes())
        .merge(session::routes())
        .merge(users::routes())
        .merge(products::routes())
        .merge(items::routes())
        .merge(proposals::routes())
        .merge(sprints::routes())
        .merge(board::routes())
        .merge(poker::routes())
        .merge(readiness::routes())
        .merge(ceremonies::routes())
        .merge(vision::routes())
        .merge(roadmap::routes())
        .merge(discovery::routes())
        .merge(market::routes())
        .merge(widget::routes())
        .merge(launch::routes())
        .merge(outcomes::routes())
        .merge(portfolio::routes())
        .merge(metrics::routes())
        .merge(forecast::routes())
        .merge(search::routes())
        .merge(webhooks::routes())
        .merge(imports::routes())
        .merge(comments::routes())
        .merge(live::routes())
        .route("/api/v1/openapi.json", get(openapi_json))
}

/// The answer to an unknown path: a problem under `/api/`, the UI's 404 page elsewhere.
pub async fn not_found(
    state: axum::extract::State<AppState>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::not_found().into_response()
    } else {
        crate::ui::not_found_page(state, headers).await
    }
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("keel_session"))),
        );
    }
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Keel API", description = "Keel's JSON API: products, backlog items, proposals, users and tokens. \
        Authenticate with `Authorization: Bearer <token>` (create one with POST /api/v1/tokens or `keel token create`), \
        or with the session cookie from POST /api/v1/session plus the `X-CSRF-Token` header on writes. \
        Errors are `application/problem+json` (RFC 9457). A change the caller may only propose answers 202 with the proposal."),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
    paths(
        health::healthz, health::readyz, crate::telemetry::metrics,
        session::sign_in, session::sign_out, session::me,
        session::create_token, session::list_tokens, session::revoke_token,
        users::list_users, users::create_user, users::get_user, users::patch_user,
        products::list_products, products::create_product, products::get_product, products::patch_product,
        products::list_members, products::put_member, products::delete_member, products::workflow,
        items::create_item, items::list_items, items::backlog, items::get_item, items::patch_item,
        items::delete_item, items::move_item, items::history, items::list_links, items::add_link,
        items::remove_link, items::list_criteria, items::add_criterion, items::patch_criterion,
        items::delete_criterion,
        proposals::list_proposals, proposals::create_proposal, proposals::get_proposal,
        proposals::accept_proposal, proposals::decline_proposal,
    ),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "session", description = "Signing in, the current user, API tokens"),
        (name = "users", description = "User administration"),
        (name = "products", description = "Products and memberships"),
        (name = "items", description = "Backlog items"),
        (name = "proposals", description = "Proposed changes and their decisions"),
    )
)]
pub struct ApiDoc;

/// The whole OpenAPI document: the core paths and each feature module's.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for part in feature_docs() {
        doc.merge(part);
    }
    complete_problems(&mut doc);
    doc
}

/// Each feature module's part of the document.
fn feature_docs() -> [utoipa::openapi::OpenApi; 20] {
    [
        sprints::Doc::openapi(),
        board::Doc::openapi(),
        poker::Doc::openapi(),
        readiness::Doc::openapi(),
        ceremonies::Doc::openapi(),
        vision::Doc::openapi(),
        roadmap::Doc::openapi(),
        discovery::Doc::openapi(),
        market::Doc::openapi(),
        widget::Doc::openapi(),
        launch::Doc::openapi(),
        outcomes::Doc::openapi(),
        portfolio::Doc::openapi(),
        metrics::Doc::openapi(),
        forecast::Doc::openapi(),
        search::Doc::openapi(),
        webhooks::Doc::openapi(),
        imports::Doc::openapi(),
        comments::Doc::openapi(),
        live::Doc::openapi(),
    ]
}

/// Declares on every operation the problems the shared layers can answer before a handler runs,
/// and gives every problem its real media type:
/// * 401 on every operation that needs a caller (the bearer token or session is checked first);
/// * 404 on every operation with path parameters (no such object, or one the caller may not see);
/// * 400 on every operation with parameters or a body (a path or query parameter that does not
///   parse, a malformed body);
/// * 413 and 415 on every operation with a JSON body (too large; not `application/json`);
/// * `application/problem+json` instead of `application/json` for every `Problem` body.
fn complete_problems(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    const PROBLEM_REF: &str = "#/components/schemas/Problem";
    let problem = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new().schema(Some(Ref::new(PROBLEM_REF))).build(),
                )
                .build(),
        )
    };
    let global_security = doc.security.clone().unwrap_or_default();
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ];
        for op in ops.into_iter().flatten() {
            let security = op.security.as_ref().unwrap_or(&global_security);
            // An empty requirement among the alternatives makes authentication optional.
            let public = security.is_empty()
                || security.iter().any(|r| {
                    serde_json::to_value(r).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
                });
            let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let has_path_params = op.parameters.as_ref().is_some_and(|ps| {
                ps.iter().any(|p| matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Path))
            });
            let has_body = op.request_body.is_some();
            let r = &mut op.responses.responses;
            for (code, description, applies) in [
                (
                    "400",
                    "The request is malformed: a parameter or the body, named in `field`",
                    has_params || has_body,
                ),
                ("401", "Authentication required", !public),
                ("404", "Not found, or not visible to the caller", has_path_params),
                ("413", "The body is too large", has_body),
                ("415", "The body is not JSON", has_body),
            ] {
                if applies && !r.contains_key(code) {
                    r.insert(code.to_string(), problem(description));
                }
            }
            for resp in r.values_mut() {
                let RefOr::T(resp) = resp else { continue };
                // `Problem` and the problems that extend it (`ListProblem`, …).
                let is_problem = resp.content.get("application/json").is_some_and(
                    |c| matches!(&c.schema, Some(RefOr::Ref(rf)) if rf.ref_location.ends_with("Problem")),
                );
                if is_problem {
                    if let Some(c) = resp.content.shift_remove("application/json") {
                        resp.content.insert("application/problem+json".to_string(), c);
                    }
                }
            }
        }
    }
}

async fn openapi_json() -> Response {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOC.get_or_init(|| document().to_json().unwrap_or_default());
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body.clone()).into_response()
}

/// The product key of an item key (`SHOP-42` → `SHOP`).
pub fn product_of(item_key: &str) -> &str {
    item_key.rsplit_once('-').map_or(item_key, |(p, _)| p)
}

/// The caller's access to the product of item `key`.
pub async fn item_access(app: &App, user: &User, key: &str) -> ApiResult<ProductAccess> {
    Ok(app.access(user, product_of(key)).await?)
}

/// 200/201 with `ok`'s body when done, 202 with the proposal when proposed.
pub fn outcome<T>(o: Outcome<T>, done: StatusCode, ok: impl FnOnce(T) -> Response) -> Response {
    match o {
        Outcome::Done(t) => {
            let mut r = ok(t);
            if r.status() == StatusCode::OK {
                *r.status_mut() = done;
            }
            r
        }
        Outcome::Proposed(p) => (StatusCode::ACCEPTED, Json(ProposalOut::from(&*p))).into_response(),
    }
}

/// A `limit` query parameter clamped to 1..=500 (default 50).
pub fn limit(l: Option<u32>) -> u32 {
    l.unwrap_or(50).clamp(1, 500)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Merging keeps the first schema of a name: two wire types with one name would leave one of
    /// them described by the other's schema (it happened to three pairs).
    #[test]
    fn no_two_schemas_share_a_name() {
        let mut seen = std::collections::HashMap::new();
        for part in std::iter::once(ApiDoc::openapi()).chain(feature_docs()) {
            for (name, schema) in part.components.map(|c| c.schemas).unwrap_or_default() {
                let v = serde_json::to_value(&schema).unwrap();
                if let Some(prev) = seen.insert(name.clone(), v.clone()) {
                    assert_eq!(prev, v, "two different schemas are named {name}");
                }
            }
        }
    }

    #[test]
    fn problems_are_declared_where_the_shared_layers_answer_them() {
        let doc = serde_json::to_value(document()).unwrap();
        let mut ops = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                ops += 1;
                let r = op["responses"].as_object().unwrap();
                let public = op
                    .get("security")
                    .is_some_and(|s| s.as_array().unwrap().iter().any(|x| x == &serde_json::json!({})));
                assert!(public || r.contains_key("401"), "{method} {path}: no 401");
                if path.contains('{') {
                    assert!(r.contains_key("404"), "{method} {path}: no 404");
                    assert!(r.contains_key("400"), "{method} {path}: no 400");
                }
                if op.get("requestBody").is_some() {
                    for code in ["400", "413", "415"] {
                        assert!(r.contains_key(code), "{method} {path}: no {code}");
                    }
                }
                for (code, resp) in r {
                    let content = resp.get("content").and_then(|c| c.as_object());
                    for (media, c) in content.into_iter().flatten() {
                        let schema = c["schema"]["$ref"].as_str().unwrap_or("");
                        if schema.ends_with("Problem") {
                            assert_eq!(media, "application/problem+json", "{method} {path} {code}");
                        }
                    }
                }
            }
        }
        assert!(ops > 200, "{ops}");
    }
}
