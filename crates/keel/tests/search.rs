//! API tests of the command palette's search: items by key and by words, pages of a product,
//! products, what a caller may not see, and bad input; on SQLite and (when
//! `KEEL_TEST_DATABASE_URL` is set) on PostgreSQL.

use keel_testkit::{spawn_app, TestApp, TestDb};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use std::time::Instant;

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

api_tests!(finds_items_pages_and_products, bad_input_is_refused, latency_at_a_small_scale);

async fn call(
    t: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = Client::new().request(method, t.url(path));
    if let Some(tok) = token {
        r = r.bearer_auth(tok);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let res = r.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn setup(t: &TestApp, key: &str, name: &str) {
    let (s, v) = call(
        t,
        Some(&t.admin_token),
        Method::POST,
        "/api/v1/products",
        Some(json!({ "key": key, "name": name, "description": "" })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

async fn item(t: &TestApp, product: &str, title: &str) -> String {
    let (s, v) = call(
        t,
        Some(&t.admin_token),
        Method::POST,
        &format!("/api/v1/products/{product}/items"),
        Some(json!({ "kind": "story", "title": title })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["key"].as_str().expect("key").to_string()
}

#[track_caller]
fn keys(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items in {v}"))
        .iter()
        .map(|i| i["key"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn finds_items_pages_and_products(db: TestDb) {
    let t = spawn_app(db).await;
    setup(&t, "SHOP", "Web shop").await;
    setup(&t, "OPS", "Operations").await;
    let checkout = item(&t, "SHOP", "Checkout with saved cards").await;
    let login = item(&t, "SHOP", "Login with a passkey").await;
    let ops = item(&t, "OPS", "Checkout monitoring dashboard").await;
    let tok = Some(t.admin_token.as_str());

    // By words (the last as a prefix), within the product only.
    let (s, v) = call(&t, tok, Method::GET, "/api/v1/search?q=checkout%20sav&product=SHOP", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(keys(&v), vec![checkout.clone()]);
    assert_eq!(v["items"][0]["title"], "Checkout with saved cards");

    // By key, in any product of the caller's, in any case; a bare number within the product.
    let (_, v) = call(&t, tok, Method::GET, &format!("/api/v1/search?q={}", ops.to_lowercase()), None).await;
    assert_eq!(keys(&v), vec![ops.clone()]);
    let n = login.rsplit_once('-').unwrap().1;
    let (_, v) = call(&t, tok, Method::GET, &format!("/api/v1/search?q={n}&product=SHOP"), None).await;
    assert_eq!(keys(&v)[0], login);
    let (_, v) = call(&t, tok, Method::GET, "/api/v1/search?q=SHOP-99999", None).await;
    assert!(keys(&v).is_empty());

    // Pages of the product by label or related word; products by key or name.
    let (_, v) = call(&t, tok, Method::GET, "/api/v1/search?q=board&product=SHOP", None).await;
    let pages: Vec<&str> =
        v["pages"].as_array().unwrap().iter().map(|p| p["url"].as_str().unwrap()).collect();
    assert!(pages.contains(&"/products/SHOP/board"), "{v}");
    assert!(!pages.contains(&"/products/SHOP/backlog"), "{v}");
    let (_, v) = call(&t, tok, Method::GET, "/api/v1/search?q=opera", None).await;
    assert_eq!(v["products"], json!([{ "key": "OPS", "name": "Operations", "url": "/products/OPS" }]));
    assert_eq!(v["pages"], json!([]), "no product, no pages");
    // Nothing typed: every page and product, no items.
    let (_, v) = call(&t, tok, Method::GET, "/api/v1/search?product=SHOP", None).await;
    assert!(keys(&v).is_empty());
    assert!(v["pages"].as_array().unwrap().len() >= 15);
    assert_eq!(v["products"].as_array().unwrap().len(), 2);

    // Another user sees neither the products nor their items, even by key.
    let (s, v) = call(
        &t,
        tok,
        Method::POST,
        "/api/v1/users",
        Some(json!({ "email": "eve@example.com", "name": "Eve", "password": "correct horse battery" })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let eve = eve_token(&t).await;
    let (s, v) = call(&t, Some(&eve), Method::GET, &format!("/api/v1/search?q={checkout}"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(keys(&v).is_empty(), "{v}");
    assert_eq!(v["products"], json!([]));
    let (s, _) = call(&t, Some(&eve), Method::GET, "/api/v1/search?q=checkout&product=SHOP", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// A token of Eve's, made through her session (cookie plus CSRF header).
async fn eve_token(t: &TestApp) -> String {
    let c = Client::builder().cookie_store(true).build().unwrap();
    let r = c
        .post(t.url("/api/v1/session"))
        .json(&json!({ "email": "eve@example.com", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let csrf = v["csrf_token"].as_str().expect("csrf token").to_string();
    let r = c
        .post(t.url("/api/v1/tokens"))
        .header("X-CSRF-Token", csrf)
        .json(&json!({ "name": "eve" }))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v["token"].as_str().unwrap_or_else(|| panic!("token in {v}")).to_string()
}

async fn bad_input_is_refused(db: TestDb) {
    let t = spawn_app(db).await;
    setup(&t, "SHOP", "Web shop").await;
    let tok = Some(t.admin_token.as_str());
    let long = "a".repeat(201);
    for (path, status, field) in [
        (format!("/api/v1/search?q={long}"), StatusCode::UNPROCESSABLE_ENTITY, "q"),
        ("/api/v1/search?q=%07".to_string(), StatusCode::UNPROCESSABLE_ENTITY, "q"),
        ("/api/v1/search?q=x&limit=0".to_string(), StatusCode::UNPROCESSABLE_ENTITY, "limit"),
        ("/api/v1/search?q=x&limit=51".to_string(), StatusCode::UNPROCESSABLE_ENTITY, "limit"),
    ] {
        let (s, v) = call(&t, tok, Method::GET, &path, None).await;
        assert_eq!(s, status, "{path}: {v}");
        assert_eq!(v["field"], field, "{path}: {v}");
    }
    let (s, _) = call(&t, tok, Method::GET, "/api/v1/search?q=x&limit=many", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call(&t, tok, Method::GET, "/api/v1/search?q=x&sort=title", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call(&t, tok, Method::GET, "/api/v1/search?q=x&product=NOPE", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&t, None, Method::GET, "/api/v1/search?q=x", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The endpoint is in the OpenAPI document.
    let (_, doc) = call(&t, None, Method::GET, "/api/v1/openapi.json", None).await;
    assert!(doc["paths"]["/api/v1/search"]["get"].is_object());
}

/// Times the search over a few hundred items; the figure is printed for the record.
async fn latency_at_a_small_scale(db: TestDb) {
    let t = spawn_app(db).await;
    setup(&t, "SHOP", "Web shop").await;
    let words = ["checkout", "login", "search", "cart", "invoice", "profile", "export", "import"];
    for i in 0..300 {
        item(&t, "SHOP", &format!("{} flow step {i}", words[i % words.len()])).await;
    }
    let c = Client::new();
    let mut times = Vec::new();
    for q in ["checkout", "login fl", "SHOP-150", "invoice step 1", "board", "zzz"].iter().cycle().take(30) {
        let started = Instant::now();
        let r = c
            .get(t.url(&format!("/api/v1/search?q={}&product=SHOP", q.replace(' ', "%20"))))
            .bearer_auth(&t.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.bytes().await.unwrap();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = times[times.len() / 2];
    eprintln!("search over 300 items: median {median:.1} ms, max {:.1} ms", times[times.len() - 1]);
    assert!(median < 1000.0, "a search takes {median} ms");
}
