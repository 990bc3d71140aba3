//! Black-box API tests: the real server on a loopback port, spoken to over HTTP, on SQLite and
//! (when `KEEL_TEST_DATABASE_URL` is set) on PostgreSQL.

use keel_domain::product::Role;
use keel_testkit::{spawn_app, TestApp, TestDb};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

macro_rules! api_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(keel_testkit::TestDb::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = keel_testkit::TestDb::postgres().await else { return };
                    super::$name(db).await;
                }
            )*
        }
    };
}

api_tests!(
    health_and_openapi,
    sessions_cookies_and_csrf,
    sign_in_is_throttled,
    tokens_authenticate_until_revoked,
    products_and_members,
    items_are_created_read_and_changed,
    bad_input_is_a_problem_naming_the_field,
    backlog_order_moves_and_paging,
    decision_rights_and_proposals,
    criteria_and_links,
    concurrent_creates_number_without_gaps,
    products_are_isolated,
);

/// A request with a bearer token; returns status and JSON body (Null when empty).
async fn call(
    t: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let c = Client::new();
    let mut r = c.request(method, t.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let res = r.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, v)
}

async fn get(t: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    call(t, token, Method::GET, path, None).await
}

async fn post(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(t, token, Method::POST, path, Some(body)).await
}

async fn create(t: &TestApp, token: &str, product: &str, title: &str) -> Value {
    let (s, v) =
        post(t, token, &format!("/api/v1/products/{product}/items"), json!({ "title": title })).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

async fn backlog_keys(t: &TestApp, product: &str) -> Vec<String> {
    let (s, v) = get(t, &t.admin_token, &format!("/api/v1/products/{product}/backlog?limit=500")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap().to_string()).collect()
}

async fn health_and_openapi(db: TestDb) {
    let t = spawn_app(db).await;
    let c = Client::new();
    let h: Value = c.get(t.url("/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(h["status"], "ok");
    let r: Value = c.get(t.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert!(r["database"] == "sqlite" || r["database"] == "postgres", "{r}");
    let res = c.get(t.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/session",
        "/api/v1/tokens",
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/products",
        "/api/v1/products/{product}",
        "/api/v1/products/{product}/members/{user_id}",
        "/api/v1/products/{product}/items",
        "/api/v1/products/{product}/backlog",
        "/api/v1/items/{key}",
        "/api/v1/items/{key}/move",
        "/api/v1/items/{key}/history",
        "/api/v1/items/{key}/links",
        "/api/v1/items/{key}/criteria",
        "/api/v1/products/{product}/proposals",
        "/api/v1/proposals/{id}/accept",
        "/api/v1/proposals/{id}/decline",
    ] {
        assert!(paths.contains_key(p), "OpenAPI lacks {p}");
    }
    // Unknown API paths are problems too.
    let res = c.get(t.url("/api/v1/nope")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

async fn sessions_cookies_and_csrf(db: TestDb) {
    let t = spawn_app(db).await;
    let c = t.client();
    let bad = c
        .post(t.url("/api/v1/session"))
        .json(&json!({"email": keel_testkit::app::ADMIN_EMAIL, "password": "wrong password!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    let ok = c
        .post(t.url("/api/v1/session"))
        .json(
            &json!({"email": keel_testkit::app::ADMIN_EMAIL, "password": keel_testkit::app::ADMIN_PASSWORD}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let me: Value = ok.json().await.unwrap();
    let csrf = me["csrf_token"].as_str().unwrap().to_string();
    let me2: Value = c.get(t.url("/api/v1/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me2["user"]["email"], keel_testkit::app::ADMIN_EMAIL);
    // A cookie-authenticated write without the CSRF header is refused, and changes nothing.
    let r =
        c.post(t.url("/api/v1/products")).json(&json!({"key": "CSRF", "name": "x"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c
        .post(t.url("/api/v1/products"))
        .header("x-csrf-token", "wrong")
        .json(&json!({"key": "CSRF", "name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, list) = get(&t, &t.admin_token, "/api/v1/products").await;
    assert_eq!(list.as_array().unwrap().len(), 0);
    let r = c
        .post(t.url("/api/v1/products"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"key": "CSRF", "name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = c.delete(t.url("/api/v1/session")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = c.get(t.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn sign_in_is_throttled(db: TestDb) {
    let t = spawn_app(db).await;
    let c = Client::new();
    let body = json!({"email": keel_testkit::app::ADMIN_EMAIL, "password": "wrong password!"});
    for _ in 0..5 {
        let r = c.post(t.url("/api/v1/session")).json(&body).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // Locked now, even with the right password.
    let good =
        json!({"email": keel_testkit::app::ADMIN_EMAIL, "password": keel_testkit::app::ADMIN_PASSWORD});
    let r = c.post(t.url("/api/v1/session")).json(&good).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn tokens_authenticate_until_revoked(db: TestDb) {
    let t = spawn_app(db).await;
    let (s, v) = post(&t, &t.admin_token, "/api/v1/tokens", json!({"name": "ci"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("keel_"));
    let (s, me) = get(&t, &token, "/api/v1/me").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["user"]["is_admin"], true);
    let (_, list) = get(&t, &token, "/api/v1/tokens").await;
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t.get("token").is_none() && t.get("secret_hash").is_none()));
    let id = v["id"].as_i64().unwrap();
    let (s, _) = call(&t, &t.admin_token, Method::DELETE, &format!("/api/v1/tokens/{id}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(get(&t, &token, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    // Deactivating a user stops their token at once, though it was just used (and cached).
    let product = t.product("SHOP").await;
    let (user, tok) = t.member(&product, "gone@keel.test", &[Role::Team]).await;
    assert_eq!(get(&t, &tok, "/api/v1/products/SHOP").await.0, StatusCode::OK);
    let path = format!("/api/v1/users/{}", user.id);
    let (s, _) = call(&t, &t.admin_token, Method::PATCH, &path, Some(json!({"is_active": false}))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(get(&t, &tok, "/api/v1/products/SHOP").await.0, StatusCode::UNAUTHORIZED);
    // A token with the right id but a wrong secret, and garbage, are refused alike.
    let forged = format!("keel_{id}_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(get(&t, &forged, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&t, "garbage", "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
}

async fn products_and_members(db: TestDb) {
    let t = spawn_app(db).await;
    let (s, p) = post(&t, &t.admin_token, "/api/v1/products", json!({"key": "SHOP", "name": "Shop"})).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["roles"], json!(["pm", "po"]));
    let (s, v) = post(&t, &t.admin_token, "/api/v1/products", json!({"key": "SHOP", "name": "Again"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = post(&t, &t.admin_token, "/api/v1/products", json!({"key": "shop", "name": "x"})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("key")));
    let product = t.app.product_by_key("SHOP").await.unwrap();
    let (user, token) = t.member(&product, "dana@keel.test", &[]).await;
    // Not a member yet: the product does not exist for them.
    assert_eq!(get(&t, &token, "/api/v1/products/SHOP").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        post(&t, &token, "/api/v1/products", json!({"key": "MINE", "name": "m"})).await.0,
        StatusCode::FORBIDDEN
    );
    let path = format!("/api/v1/products/SHOP/members/{}", user.id);
    let (s, v) = call(&t, &t.admin_token, Method::PUT, &path, Some(json!({"roles": ["team", "boss"]}))).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("roles[1]")));
    let (s, v) = call(&t, &t.admin_token, Method::PUT, &path, Some(json!({"roles": ["team"]}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = get(&t, &token, "/api/v1/products/SHOP").await;
    assert_eq!((s, &v["roles"]), (StatusCode::OK, &json!(["team"])));
    // Members cannot manage members.
    let (s, _) = call(&t, &token, Method::PUT, &path, Some(json!({"roles": ["pm"]}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, members) = get(&t, &token, "/api/v1/products/SHOP/members").await;
    assert_eq!(members.as_array().unwrap().len(), 2);
    assert_eq!(call(&t, &t.admin_token, Method::DELETE, &path, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(get(&t, &token, "/api/v1/products/SHOP").await.0, StatusCode::NOT_FOUND);
    assert_eq!(call(&t, &t.admin_token, Method::DELETE, &path, None).await.0, StatusCode::NOT_FOUND);
    let (s, w) = get(&t, &t.admin_token, "/api/v1/products/SHOP/workflow").await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = w.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["To Do", "In Progress", "In Review", "Done"]);
}

async fn items_are_created_read_and_changed(db: TestDb) {
    let t = spawn_app(db).await;
    t.product("SHOP").await;
    let tok = &t.admin_token;
    let (s, epic) =
        post(&t, tok, "/api/v1/products/SHOP/items", json!({"title": "Checkout", "kind": "epic"})).await;
    assert_eq!(s, StatusCode::CREATED, "{epic}");
    assert_eq!(epic["key"], "SHOP-1");
    let body = json!({
        "title": "Pay by card", "parent": "SHOP-1", "as_a": "shopper", "i_want": "to pay by card",
        "so_that": "I can buy", "criteria": [{"text": "Given a card When I pay Then it is charged"}],
        "labels": ["payments", "payments", "checkout"], "description": "Uses **3-D Secure**."
    });
    let (s, item) = post(&t, tok, "/api/v1/products/SHOP/items", body).await;
    assert_eq!(s, StatusCode::CREATED, "{item}");
    assert_eq!(item["key"], "SHOP-2");
    assert_eq!(item["parent"], "SHOP-1");
    assert_eq!(item["status"], "To Do");
    assert_eq!(item["labels"], json!(["payments", "checkout"]));
    assert_eq!(item["criteria"][0]["id"], 1);
    assert_eq!(item["version"], 1);
    let (s, got) = get(&t, tok, "/api/v1/items/SHOP-2").await;
    assert_eq!((s, &got["title"]), (StatusCode::OK, &json!("Pay by card")));
    // A change with the current version applies; the same stale version is refused with 409.
    let (s, v) = call(
        &t,
        tok,
        Method::PATCH,
        "/api/v1/items/SHOP-2",
        Some(json!({"title": "Pay by card or wallet", "version": 1, "status": "In Progress"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["version"].as_i64(), v["status"].as_str()), (Some(2), Some("In Progress")));
    let (s, v) = call(
        &t,
        tok,
        Method::PATCH,
        "/api/v1/items/SHOP-2",
        Some(json!({"title": "Lost update", "version": 1})),
    )
    .await;
    assert_eq!((s, v["current_version"].as_i64()), (StatusCode::CONFLICT, Some(2)));
    let r = Client::new()
        .patch(t.url("/api/v1/items/SHOP-2"))
        .bearer_auth(tok)
        .header("If-Match", "\"1\"")
        .json(&json!({"title": "Lost update"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // Clearing the parent with null.
    let (s, v) = call(&t, tok, Method::PATCH, "/api/v1/items/SHOP-2", Some(json!({"parent": null}))).await;
    assert_eq!((s, &v["parent"]), (StatusCode::OK, &Value::Null));
    // History: newest first, with the actor and field values.
    let (s, h) = get(&t, tok, "/api/v1/items/SHOP-2/history").await;
    assert_eq!(s, StatusCode::OK);
    let fields: Vec<&str> =
        h["events"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["parent", "status", "title", "created"], "{h}");
    assert_eq!(h["events"][2]["old"], "Pay by card");
    assert_eq!(h["events"][2]["actor_id"], t.admin.id.0);
    // Full-text search and filters.
    create(&t, tok, "SHOP", "Zebra stripes on the cart page").await;
    let (_, v) = get(&t, tok, "/api/v1/products/SHOP/items?q=zeb").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let (_, v) = get(&t, tok, "/api/v1/products/SHOP/items?kind=epic").await;
    assert_eq!(v["items"][0]["key"], "SHOP-1");
    let (_, v) = get(&t, tok, "/api/v1/products/SHOP/items?label=payments").await;
    assert_eq!(v["items"][0]["key"], "SHOP-2");
    let (_, v) = get(&t, tok, "/api/v1/products/SHOP/items?status=In%20Progress").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    // Done items leave the backlog (a story is done once its Definition of Done is ticked).
    let dod = json!({"dod": [1, 2, 3]});
    assert_eq!(call(&t, tok, Method::PUT, "/api/v1/items/SHOP-3/checks", Some(dod)).await.0, StatusCode::OK);
    let (s, v) = call(&t, tok, Method::PATCH, "/api/v1/items/SHOP-3", Some(json!({"status": "Done"}))).await;
    assert_eq!((s, v["acceptance"].as_str()), (StatusCode::OK, Some("accepted")), "{v}");
    assert_eq!(backlog_keys(&t, "SHOP").await, ["SHOP-1", "SHOP-2"]);
    assert_eq!(call(&t, tok, Method::DELETE, "/api/v1/items/SHOP-1", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(get(&t, tok, "/api/v1/items/SHOP-1").await.0, StatusCode::NOT_FOUND);
}

async fn bad_input_is_a_problem_naming_the_field(db: TestDb) {
    let t = spawn_app(db).await;
    t.product("SHOP").await;
    let tok = &t.admin_token;
    create(&t, tok, "SHOP", "A story").await;
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (json!({"title": ""}), StatusCode::UNPROCESSABLE_ENTITY, "title"),
        (json!({"title": "x".repeat(256)}), StatusCode::UNPROCESSABLE_ENTITY, "title"),
        (json!({"title": "t", "estimate": 0.3}), StatusCode::UNPROCESSABLE_ENTITY, "estimate"),
        (json!({"title": "t", "estimate": "five"}), StatusCode::BAD_REQUEST, "estimate"),
        (json!({"title": "t", "kind": "saga"}), StatusCode::UNPROCESSABLE_ENTITY, "kind"),
        (json!({"title": "t", "colour": "red"}), StatusCode::BAD_REQUEST, "colour"),
        (json!({"title": "t", "parent": "SHOP-999"}), StatusCode::UNPROCESSABLE_ENTITY, "parent"),
        (json!({"title": "t", "parent": "nonsense"}), StatusCode::UNPROCESSABLE_ENTITY, "parent"),
        (json!({"title": "t", "status": "Nowhere"}), StatusCode::UNPROCESSABLE_ENTITY, "status"),
        (json!({"title": "t", "assignee": "nobody@keel.test"}), StatusCode::UNPROCESSABLE_ENTITY, "assignee"),
        (json!({"title": "t", "labels": ["a b"]}), StatusCode::UNPROCESSABLE_ENTITY, "labels[0]"),
        (
            json!({"title": "t", "criteria": [{"text": " "}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "criteria[0].text",
        ),
        (
            json!({"title": "t", "before": "SHOP-1", "top": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "position",
        ),
    ];
    for (body, status, field) in cases {
        let (s, v) = post(&t, tok, "/api/v1/products/SHOP/items", body.clone()).await;
        assert_eq!(s, status, "{body} -> {v}");
        assert_eq!(v["field"].as_str(), Some(field), "{body} -> {v}");
        assert!(v["type"].as_str().unwrap().starts_with("https://keel.dev/problems/"), "{v}");
    }
    // Nothing was half-written: still one item.
    let (_, v) = get(&t, tok, "/api/v1/products/SHOP/items").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    // A path parameter that does not parse is a problem naming it, not plain text.
    let r = Client::new()
        .delete(t.url("/api/v1/comments/9223372036854775808"))
        .bearer_auth(tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "https://keel.dev/problems/malformed-request", "{v}");
    let (s, v) = call(&t, tok, Method::DELETE, "/api/v1/feedback/1/opportunities/x", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("`x`"), "{v}");
    // Malformed JSON, wrong content type, parent cycles.
    let r = Client::new()
        .post(t.url("/api/v1/products/SHOP/items"))
        .bearer_auth(tok)
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = Client::new()
        .post(t.url("/api/v1/products/SHOP/items"))
        .bearer_auth(tok)
        .body("title=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (s, _) = post(&t, tok, "/api/v1/products/SHOP/items", json!({"title": "E", "kind": "epic"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) =
        call(&t, tok, Method::PATCH, "/api/v1/items/SHOP-1", Some(json!({"parent": "SHOP-1"}))).await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("parent")),
        "its own parent: {v}"
    );
    let (s, v) =
        call(&t, tok, Method::PATCH, "/api/v1/items/SHOP-2", Some(json!({"parent": "SHOP-1"}))).await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("parent")),
        "an epic under a story: {v}"
    );
    for (path, status) in [
        ("/api/v1/items/SHOP-99", StatusCode::NOT_FOUND),
        ("/api/v1/items/garbage", StatusCode::NOT_FOUND),
        ("/api/v1/products/NOPE/items", StatusCode::NOT_FOUND),
        ("/api/v1/products/SHOP/items?limit=abc", StatusCode::BAD_REQUEST),
        ("/api/v1/products/SHOP/items?bogus=1", StatusCode::BAD_REQUEST),
        ("/api/v1/products/SHOP/items?cursor=!!", StatusCode::UNPROCESSABLE_ENTITY),
        ("/api/v1/products/SHOP/items?q=%22%27%29%28*%3A", StatusCode::OK),
    ] {
        let (s, v) = get(&t, tok, path).await;
        assert_eq!(s, status, "{path}: {v}");
    }
}

async fn backlog_order_moves_and_paging(db: TestDb) {
    let t = spawn_app(db).await;
    t.product("SHOP").await;
    t.product("OTHER").await;
    let tok = &t.admin_token;
    for i in 1..=5 {
        create(&t, tok, "SHOP", &format!("Story {i}")).await;
    }
    create(&t, tok, "OTHER", "Elsewhere").await;
    let mv = |k: &str, b: Value| (format!("/api/v1/items/{k}/move"), b);
    for (path, body) in [
        mv("SHOP-5", json!({"before": "SHOP-1"})),
        mv("SHOP-1", json!({"after": "SHOP-3"})),
        mv("SHOP-4", json!({"top": true})),
        mv("SHOP-2", json!({"bottom": true})),
    ] {
        let (s, v) = post(&t, tok, &path, body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    assert_eq!(backlog_keys(&t, "SHOP").await, ["SHOP-4", "SHOP-5", "SHOP-3", "SHOP-1", "SHOP-2"]);
    let (s, v) = post(&t, tok, "/api/v1/items/SHOP-1/move", json!({"before": "OTHER-1"})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("before")), "{v}");
    let (s, v) = post(&t, tok, "/api/v1/items/SHOP-1/move", json!({"after": "SHOP-1"})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("after")), "{v}");
    let (s, _) = post(&t, tok, "/api/v1/items/SHOP-1/move", json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Created at the top, and cursor paging walks the whole backlog once.
    let (s, _) = post(&t, tok, "/api/v1/products/SHOP/items", json!({"title": "Urgent", "top": true})).await;
    assert_eq!(s, StatusCode::CREATED);
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (_, v) = get(&t, tok, &format!("/api/v1/products/SHOP/backlog?limit=2&cursor={cursor}")).await;
        seen.extend(v["items"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap().to_string()));
        match v["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, ["SHOP-6", "SHOP-4", "SHOP-5", "SHOP-3", "SHOP-1", "SHOP-2"]);
    // Every move is in the history.
    let (_, h) = get(&t, tok, "/api/v1/items/SHOP-4/history").await;
    assert_eq!(h["events"][0]["field"], "rank");
}

async fn decision_rights_and_proposals(db: TestDb) {
    let t = spawn_app(db).await;
    let product = t.product("SHOP").await;
    let (_, team) = t.member(&product, "team@keel.test", &[Role::Team]).await;
    let (_, po) = t.member(&product, "po@keel.test", &[Role::Po]).await;
    let (_, pm) = t.member(&product, "pm@keel.test", &[Role::Pm]).await;
    let (_, sh) = t.member(&product, "sh@keel.test", &[Role::Stakeholder]).await;
    for i in 1..=3 {
        create(&t, &po, "SHOP", &format!("Story {i}")).await;
    }
    // The team proposes a reorder: 202, the order is unchanged.
    let (s, p) =
        post(&t, &team, "/api/v1/items/SHOP-3/move", json!({"before": "SHOP-1", "reason": "blocks release"}))
            .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{p}");
    assert_eq!(p["state"], "pending");
    assert_eq!(p["summary"], "Move SHOP-3 before SHOP-1");
    assert_eq!(backlog_keys(&t, "SHOP").await, ["SHOP-1", "SHOP-2", "SHOP-3"]);
    // Stakeholders and the PM may not reorder; the answer names the decider.
    let (s, v) = post(&t, &sh, "/api/v1/items/SHOP-3/move", json!({"top": true})).await;
    assert_eq!((s, &v["deciders"]), (StatusCode::FORBIDDEN, &json!(["po"])), "{v}");
    assert_eq!(
        post(&t, &pm, "/api/v1/items/SHOP-3/move", json!({"top": true})).await.0,
        StatusCode::FORBIDDEN
    );
    // Only a decider may decide; the team cannot accept its own proposal.
    let id = p["id"].as_i64().unwrap();
    assert_eq!(
        post(&t, &team, &format!("/api/v1/proposals/{id}/accept"), json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, v) = get(&t, &po, "/api/v1/products/SHOP/proposals?state=pending").await;
    assert_eq!((s, v["proposals"].as_array().unwrap().len()), (StatusCode::OK, 1));
    let (s, v) = post(&t, &po, &format!("/api/v1/proposals/{id}/accept"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["proposal"]["state"], "accepted");
    assert_eq!(backlog_keys(&t, "SHOP").await, ["SHOP-3", "SHOP-1", "SHOP-2"]);
    let (_, h) = get(&t, &po, "/api/v1/items/SHOP-3/history").await;
    assert_eq!(h["events"][0]["field"], "rank");
    assert_eq!(h["events"][0]["proposal_id"], id);
    assert_eq!(
        post(&t, &po, &format!("/api/v1/proposals/{id}/accept"), json!({})).await.0,
        StatusCode::CONFLICT
    );
    // Estimates: the team decides; the PO may not.
    let (s, v) = call(&t, &team, Method::PATCH, "/api/v1/items/SHOP-1", Some(json!({"estimate": 5}))).await;
    assert_eq!((s, v["estimate"].as_f64()), (StatusCode::OK, Some(5.0)), "{v}");
    let (s, v) = call(&t, &po, Method::PATCH, "/api/v1/items/SHOP-1", Some(json!({"estimate": 8}))).await;
    assert_eq!((s, &v["deciders"]), (StatusCode::FORBIDDEN, &json!(["team"])), "{v}");
    // The team edits descriptions directly but proposes title changes; declining needs a reason.
    let (s, _) =
        call(&t, &team, Method::PATCH, "/api/v1/items/SHOP-1", Some(json!({"description": "Notes"}))).await;
    assert_eq!(s, StatusCode::OK);
    let (s, p) =
        call(&t, &team, Method::PATCH, "/api/v1/items/SHOP-1", Some(json!({"title": "Renamed"}))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{p}");
    let id = p["id"].as_i64().unwrap();
    let (s, v) = post(&t, &po, &format!("/api/v1/proposals/{id}/decline"), json!({})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")));
    let (s, v) =
        post(&t, &po, &format!("/api/v1/proposals/{id}/decline"), json!({"reason": "Keep it"})).await;
    assert_eq!((s, &v["state"]), (StatusCode::OK, &json!("declined")));
    assert_eq!(get(&t, &po, "/api/v1/items/SHOP-1").await.1["title"], "Story 1");
    // Accepting into done: the team proposes, the PO decides (once the Definition of Done is ticked).
    let dod = json!({"dod": [1, 2, 3]});
    assert_eq!(
        call(&t, &team, Method::PUT, "/api/v1/items/SHOP-2/checks", Some(dod)).await.0,
        StatusCode::OK
    );
    let (s, _) =
        call(&t, &team, Method::PATCH, "/api/v1/items/SHOP-2", Some(json!({"status": "In Review"}))).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) =
        call(&t, &team, Method::PATCH, "/api/v1/items/SHOP-2", Some(json!({"status": "Done"}))).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    // An explicit proposal by the PO (who could apply it) is stored, not applied.
    let body = json!({"type": "move_item", "item": "SHOP-2", "move": {"top": true}, "reason": "ask PM"});
    let (s, v) = post(&t, &po, "/api/v1/products/SHOP/proposals", body).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(backlog_keys(&t, "SHOP").await, ["SHOP-3", "SHOP-1", "SHOP-2"]);
    // Stakeholders read but may not propose a story change.
    assert_eq!(get(&t, &sh, "/api/v1/items/SHOP-1").await.0, StatusCode::OK);
    let (s, _) = call(&t, &sh, Method::PATCH, "/api/v1/items/SHOP-1", Some(json!({"title": "x"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn criteria_and_links(db: TestDb) {
    let t = spawn_app(db).await;
    let product = t.product("SHOP").await;
    let (_, team) = t.member(&product, "team@keel.test", &[Role::Team]).await;
    let tok = &t.admin_token;
    create(&t, tok, "SHOP", "One").await;
    create(&t, tok, "SHOP", "Two").await;
    let (s, v) =
        post(&t, tok, "/api/v1/items/SHOP-1/criteria", json!({"text": "Given x When y Then z"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = post(&t, tok, "/api/v1/items/SHOP-1/criteria", json!({"text": "Second"})).await;
    assert_eq!((s, v.as_array().unwrap().len()), (StatusCode::CREATED, 2));
    // The team checks criteria directly.
    let (s, v) =
        call(&t, &team, Method::PATCH, "/api/v1/items/SHOP-1/criteria/1", Some(json!({"checked": true})))
            .await;
    assert_eq!((s, &v[0]["checked"]), (StatusCode::OK, &json!(true)), "{v}");
    // …but proposes new wording.
    let (s, _) =
        call(&t, &team, Method::PATCH, "/api/v1/items/SHOP-1/criteria/1", Some(json!({"text": "New"}))).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(
        call(&t, tok, Method::PATCH, "/api/v1/items/SHOP-1/criteria/9", Some(json!({"checked": true})))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (s, v) = call(&t, tok, Method::DELETE, "/api/v1/items/SHOP-1/criteria/2", None).await;
    assert_eq!((s, v.as_array().unwrap().len()), (StatusCode::OK, 1));
    let (s, l) = post(&t, tok, "/api/v1/items/SHOP-1/links", json!({"kind": "blocks", "to": "SHOP-2"})).await;
    assert_eq!(s, StatusCode::CREATED, "{l}");
    assert_eq!(
        post(&t, tok, "/api/v1/items/SHOP-1/links", json!({"kind": "blocks", "to": "SHOP-2"})).await.0,
        StatusCode::CONFLICT
    );
    let (s, v) = post(&t, tok, "/api/v1/items/SHOP-1/links", json!({"kind": "blocks", "to": "SHOP-1"})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("to")));
    let (s, v) = post(&t, tok, "/api/v1/items/SHOP-1/links", json!({"kind": "loves", "to": "SHOP-2"})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("kind")));
    let (_, from_two) = get(&t, tok, "/api/v1/items/SHOP-2/links").await;
    assert_eq!(from_two[0]["from"], "SHOP-1");
    assert_eq!(from_two[0]["other_title"], "One");
    let id = l["id"].as_i64().unwrap();
    assert_eq!(
        call(&t, tok, Method::DELETE, &format!("/api/v1/items/SHOP-2/links/{id}"), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(get(&t, tok, "/api/v1/items/SHOP-1/links").await.1, json!([]));
}

async fn concurrent_creates_number_without_gaps(db: TestDb) {
    let t = spawn_app(db).await;
    t.product("SHOP").await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (url, tok) = (t.url("/api/v1/products/SHOP/items"), t.admin_token.clone());
        tasks.push(tokio::spawn(async move {
            let r = Client::new()
                .post(url)
                .bearer_auth(tok)
                .json(&json!({"title": format!("Item {i}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_string()
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        let k = task.await.unwrap();
        numbers.push(k.trim_start_matches("SHOP-").parse::<i64>().unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=20).collect::<Vec<_>>());
}

async fn products_are_isolated(db: TestDb) {
    let t = spawn_app(db).await;
    let a = t.product("AAA").await;
    let b = t.product("BBB").await;
    let (_, ta) = t.member(&a, "a@keel.test", &[Role::Po]).await;
    t.member(&b, "b@keel.test", &[Role::Po]).await;
    create(&t, &t.admin_token, "BBB", "Secret plan").await;
    create(&t, &ta, "AAA", "Mine").await;
    for path in [
        "/api/v1/items/BBB-1",
        "/api/v1/products/BBB",
        "/api/v1/products/BBB/items?q=secret",
        "/api/v1/products/BBB/backlog",
        "/api/v1/items/BBB-1/history",
        "/api/v1/products/BBB/proposals",
        "/api/v1/products/BBB/members",
    ] {
        assert_eq!(get(&t, &ta, path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    let (_, mine) = get(&t, &ta, "/api/v1/products").await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let (s, _) = post(&t, &ta, "/api/v1/items/BBB-1/move", json!({"top": true})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = post(&t, &ta, "/api/v1/products/AAA/items", json!({"title": "x", "parent": "BBB-1"})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("parent")));
    let (s, _) = post(&t, &ta, "/api/v1/items/AAA-1/links", json!({"kind": "blocks", "to": "BBB-1"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}
