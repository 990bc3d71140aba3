//! API tests of the embeddable feedback widget and of merging duplicate feedback: the Product
//! Manager's settings and key rotation, public posts with CORS from customers' pages, the rate
//! limit kept in the database, bad input, markup kept as text, decision rights; on SQLite and
//! (when `KEEL_TEST_DATABASE_URL` is set) on PostgreSQL.

use keel_domain::event::ObjectKind;
use keel_domain::product::Role;
use keel_domain::Timestamp;
use keel_testkit::{spawn_app, TestApp, TestDb};
use reqwest::header::HeaderMap;
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
    widget_post_records_feedback,
    unknown_rotated_and_disabled_keys,
    cors_preflight_and_origins,
    flood_is_rate_limited,
    rate_limit_windows_in_the_store,
    rate_limit_is_shared_between_processes,
    bad_input_is_refused,
    markup_is_stored_as_text_and_shown_escaped,
    widget_rights,
    feedback_merge_keeps_links_and_words,
    bad_feedback_merges,
);

/// A request with a bearer token; returns status and JSON body (a string when not JSON).
async fn call(
    t: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = Client::new().request(method, t.url(path)).bearer_auth(token);
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

async fn put(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(t, token, Method::PUT, path, Some(body)).await
}

/// Turns SHOP's widget on with `origins`; answers its public key.
async fn enable(t: &TestApp, origins: Value) -> String {
    let (s, v) =
        put(t, &t.admin_token, "/api/v1/products/SHOP/widget", json!({"enabled": true, "origins": origins}))
            .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["key"].as_str().expect("key").to_string()
}

/// A public post (no token, no cookies) from a page at `origin`; status, headers, body.
async fn widget_post(
    t: &TestApp,
    key: &str,
    origin: Option<&str>,
    body: Value,
) -> (StatusCode, HeaderMap, Value) {
    let mut r = Client::new().post(t.url(&format!("/api/v1/widget/{key}/feedback"))).json(&body);
    if let Some(o) = origin {
        r = r.header("Origin", o);
    }
    let res = r.send().await.expect("post");
    let (s, h) = (res.status(), res.headers().clone());
    let text = res.text().await.expect("body");
    (s, h, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn inbox(t: &TestApp) -> Vec<Value> {
    let (s, v) = get(t, &t.admin_token, "/api/v1/products/SHOP/feedback").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v.as_array().unwrap().clone()
}

async fn widget_post_records_feedback(db: TestDb) {
    let t = spawn_app(db).await;
    t.product("SHOP").await;
    let (s, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/widget").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (v["configured"].as_bool(), v["key"].clone(), v["enabled"].as_bool()),
        (Some(false), Value::Null, Some(false))
    );
    let key = enable(&t, json!([])).await;
    assert!(
        key.len() >= 22 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{key}"
    );
    let (_, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/widget").await;
    assert_eq!(v["key"], key.as_str());
    let snippet = v["snippet"].as_str().unwrap();
    assert!(
        snippet.contains(&format!("data-keel-key=\"{key}\"")) && snippet.contains("/widget.js"),
        "{snippet}"
    );

    let (s, h, v) = widget_post(
        &t,
        &key,
        Some("https://shop.example.com"),
        json!({"text": "  The export button is hard to find ", "name": "Ann", "email": "ann@example.com",
               "company": "Acme", "page_url": "https://shop.example.com/cart"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h.get("access-control-allow-credentials").is_none());
    let id = v["id"].as_i64().unwrap();
    let list = inbox(&t).await;
    assert_eq!(list.len(), 1);
    let f = &list[0];
    assert_eq!(f["id"].as_i64(), Some(id));
    assert_eq!(
        (
            f["source"].as_str(),
            f["text"].as_str(),
            f["person"].as_str(),
            f["email"].as_str(),
            f["company"].as_str(),
            f["page_url"].as_str()
        ),
        (
            Some("widget"),
            Some("The export button is hard to find"),
            Some("Ann"),
            Some("ann@example.com"),
            Some("Acme"),
            Some("https://shop.example.com/cart")
        )
    );
    // The inbox filters by the widget source; no signed-in user made it.
    let (_, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/feedback?source=widget").await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    let events = t.app.store().history(ObjectKind::Feedback, id, None, 10).await.unwrap();
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| e.actor_id.is_none()), "{events:?}");
    // A simple (text/plain) post needs no preflight and is taken as well.
    let r = Client::new()
        .post(t.url(&format!("/api/v1/widget/{key}/feedback")))
        .header("Content-Type", "text/plain")
        .body(r#"{"text":"Plain post"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(inbox(&t).await.len(), 2);
    // The script is served publicly, cacheable, as JavaScript.
    let r = Client::new().get(t.url("/widget.js")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(r.headers()["cache-control"].to_str().unwrap().contains("max-age="));
    let js = r.text().await.unwrap();
    assert!(
        js.contains("data-keel-key") && js.contains("credentials: 'omit'") && js.contains("attachShadow")
    );
    // The endpoints are in the OpenAPI document.
    let doc: Value =
        Client::new().get(t.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    for path in [
        "/api/v1/products/{product}/widget",
        "/api/v1/products/{product}/widget/rotate",
        "/api/v1/widget/{public_key}/feedback",
        "/api/v1/feedback/{id}/merge",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    assert!(doc["paths"]["/api/v1/widget/{public_key}/feedback"]["options"].is_object());
}

async fn unknown_rotated_and_disabled_keys(db: TestDb) {
    let t = spawn_app(db).await;
    t.product("SHOP").await;
    let body = json!({"text": "hello"});
    for bad in ["nope", "A".repeat(30).as_str(), "../../etc"] {
        let (s, _, v) = widget_post(&t, bad, None, body.clone()).await;
        assert_eq!(
            (s, v["type"].as_str().map(|x| x.ends_with("not-found"))),
            (StatusCode::NOT_FOUND, Some(true)),
            "{bad}: {v}"
        );
    }
    let old = enable(&t, json!([])).await;
    let (s, _, _) = widget_post(&t, &old, None, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = post(&t, &t.admin_token, "/api/v1/products/SHOP/widget/rotate", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let new = v["key"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(v["enabled"], true, "rotation keeps the switch");
    let (s, h, v) = widget_post(&t, &old, None, body.clone()).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(h["content-type"], "application/problem+json");
    let (s, _, _) = widget_post(&t, &new, None, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED);
    // Turned off: refused with a problem the page may read; nothing recorded.
    let (s, _) = put(&t, &t.admin_token, "/api/v1/products/SHOP/widget", json!({"enabled": false})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, h, v) = widget_post(&t, &new, Some("https://a.example"), body.clone()).await;
    assert_eq!(
        (s, v["type"].as_str().map(|x| x.ends_with("widget-off"))),
        (StatusCode::FORBIDDEN, Some(true)),
        "{v}"
    );
    assert_eq!(h["access-control-allow-origin"], "*");
    assert_eq!(inbox(&t).await.len(), 2);
}

async fn cors_preflight_and_origins(db: TestDb) {
    let t = spawn_app(db).await;
    t.product("SHOP").await;
    let key = enable(&t, json!(["https://shop.example.com", "HTTP://LOCALHOST:8080/"])).await;
    let (_, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/widget").await;
    assert_eq!(v["origins"], json!(["https://shop.example.com", "http://localhost:8080"]));
    let path = format!("/api/v1/widget/{key}/feedback");
    let preflight = |origin: &'static str| {
        Client::new()
            .request(Method::OPTIONS, t.url(&path))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let r = preflight("https://shop.example.com").await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "https://shop.example.com");
    assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    assert!(h["access-control-allow-headers"].to_str().unwrap().to_lowercase().contains("content-type"));
    assert_eq!(h["vary"], "Origin");
    assert!(h.get("access-control-allow-credentials").is_none());
    let r = preflight("http://localhost:8080").await.unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "http://localhost:8080");
    // Another site: 403, without CORS headers, and its posts are refused.
    let r = preflight("https://evil.example").await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let (s, h, v) = widget_post(&t, &key, Some("https://evil.example"), json!({"text": "spam"})).await;
    assert_eq!(
        (s, v["type"].as_str().map(|x| x.ends_with("origin-not-allowed"))),
        (StatusCode::FORBIDDEN, Some(true)),
        "{v}"
    );
    assert!(h.get("access-control-allow-origin").is_none());
    // Without an Origin (not a browser page) when origins are listed: refused too.
    let (s, _, _) = widget_post(&t, &key, None, json!({"text": "curl"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, h, v) = widget_post(&t, &key, Some("https://shop.example.com"), json!({"text": "ok"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(h["access-control-allow-origin"], "https://shop.example.com");
    assert_eq!(h["vary"], "Origin");
    assert_eq!(inbox(&t).await.len(), 1);
    // Unknown key preflight: 404.
    let r = Client::new()
        .request(Method::OPTIONS, t.url("/api/v1/widget/AAAAAAAAAAAAAAAAAAAAAAAAAAAA/feedback"))
        .header("Origin", "https://shop.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn flood_is_rate_limited(db: TestDb) {
    let t = spawn_app(db).await;
    t.product("SHOP").await;
    t.product("BLOG").await;
    let key = enable(&t, json!([])).await;
    for i in 0..10 {
        let (s, _, v) =
            widget_post(&t, &key, Some("https://a.example"), json!({"text": format!("post {i}")})).await;
        assert_eq!(s, StatusCode::CREATED, "post {i}: {v}");
    }
    let (s, h, v) = widget_post(&t, &key, Some("https://a.example"), json!({"text": "one too many"})).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    let wait: i64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(h["content-type"], "application/problem+json");
    assert_eq!(h["access-control-allow-origin"], "*", "the page may read why");
    assert!(
        v["type"].as_str().unwrap().ends_with("rate-limited")
            && v["detail"].as_str().unwrap().contains("try again")
    );
    // Bad posts count as well, and nothing more was recorded.
    let (s, _, _) = widget_post(&t, &key, None, json!({"nope": 1})).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(inbox(&t).await.len(), 10);
    // Another product's widget has its own count.
    let (s, v) = put(&t, &t.admin_token, "/api/v1/products/BLOG/widget", json!({"enabled": true})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _, _) = widget_post(&t, v["key"].as_str().unwrap(), None, json!({"text": "blog"})).await;
    assert_eq!(s, StatusCode::CREATED);
}

async fn rate_limit_windows_in_the_store(db: TestDb) {
    let t = spawn_app(db).await;
    let store = t.app.store();
    let limits = [(60_000, 10), (86_400_000, 200)];
    let start = 1_000_000_000_000i64;
    // One post every 7 minutes: never the minute limit, but the 201st within a day is refused
    // until the first leaves the day's window.
    for i in 0..200 {
        let at = Timestamp(start + i * 420_000);
        assert_eq!(store.widget_hit("1:10.0.0.1", at, &limits).await.unwrap(), None, "post {i}");
    }
    let at = start + 200 * 420_000;
    let wait = store.widget_hit("1:10.0.0.1", Timestamp(at), &limits).await.unwrap().expect("refused");
    assert_eq!(wait, start + 86_400_000 - at);
    assert_eq!(store.widget_hit("1:10.0.0.2", Timestamp(at), &limits).await.unwrap(), None, "per address");
    // A day after the first, it is taken again (the oldest rows are dropped).
    assert_eq!(store.widget_hit("1:10.0.0.1", Timestamp(start + 86_400_001), &limits).await.unwrap(), None);
    // Eleven within a minute: the eleventh waits until the first is a minute old.
    for i in 0..10 {
        assert_eq!(store.widget_hit("2:10.0.0.1", Timestamp(start + i * 1000), &limits).await.unwrap(), None);
    }
    let wait = store.widget_hit("2:10.0.0.1", Timestamp(start + 10_000), &limits).await.unwrap();
    assert_eq!(wait, Some(50_000));
    assert!(store.purge_expired(Timestamp(start + 3 * 86_400_000)).await.unwrap() >= 10);
}

/// Two stores on one database, as two `keel serve` processes would have, counting posts from
/// one address at once: exactly the limit gets through.
async fn rate_limit_is_shared_between_processes(db: TestDb) {
    let t = spawn_app(db).await;
    let other: std::sync::Arc<dyn keel_store::Store> = match t.db.url.strip_prefix("sqlite:") {
        Some(path) => std::sync::Arc::new(
            keel_store_sqlite::SqliteStore::open(std::path::Path::new(path)).await.unwrap(),
        ),
        None => std::sync::Arc::new(keel_store_postgres::PgStore::connect(&t.db.url).await.unwrap()),
    };
    let limits = [(60_000, 10), (86_400_000, 200)];
    let at = keel_app::now();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = if i % 2 == 0 { t.app.store().clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move {
            store.widget_hit("7:10.0.0.7", Timestamp(at.0 + i), &limits).await.unwrap()
        }));
    }
    let mut taken = 0;
    for task in tasks {
        if task.await.unwrap().is_none() {
            taken += 1;
        }
    }
    assert_eq!(taken, 10);
}

async fn bad_input_is_refused(db: TestDb) {
    let t = spawn_app(db).await;
    t.product("SHOP").await;
    let key = enable(&t, json!([])).await;
    let cases = [
        (json!({}), "text"),
        (json!({"text": ""}), "text"),
        (json!({"text": "   "}), "text"),
        (json!({"text": "x".repeat(4001)}), "text"),
        (json!({"text": 5}), "text"),
        (json!({"text": "hi", "email": "not-an-address"}), "email"),
        (json!({"text": "hi", "name": "n".repeat(201)}), "name"),
        (json!({"text": "hi", "company": "bad\u{0007}"}), "company"),
        (json!({"text": "hi", "page_url": "javascript:alert(1)"}), "page_url"),
        (json!({"text": "hi", "admin": true}), "admin"),
    ];
    for (body, field) in cases {
        let (s, h, v) = widget_post(&t, &key, None, body.clone()).await;
        assert!(s.is_client_error(), "{body}: {s} {v}");
        assert_eq!(h["content-type"], "application/problem+json");
        assert!(
            v["field"].as_str().is_some_and(|f| f.contains(field))
                || v["detail"].as_str().is_some_and(|d| d.contains(field)),
            "{body}: {v}"
        );
        assert_eq!(h["access-control-allow-origin"], "*");
    }
    assert!(inbox(&t).await.is_empty());
    // Bad posts count against the limit too, so the rest go to another product's widget.
    t.product("BLOG").await;
    let (_, v) = put(&t, &t.admin_token, "/api/v1/products/BLOG/widget", json!({"enabled": true})).await;
    let blog = v["key"].as_str().unwrap().to_string();
    let r = Client::new()
        .post(t.url(&format!("/api/v1/widget/{blog}/feedback")))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = Client::new()
        .post(t.url(&format!("/api/v1/widget/{blog}/feedback")))
        .json(&json!({"text": "x".repeat(40_000)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    // Exactly the longest text is taken.
    let (s, _, _) = widget_post(&t, &blog, None, json!({"text": "x".repeat(4000)})).await;
    assert_eq!(s, StatusCode::CREATED);
    // Bad settings: 422 naming the origin.
    let (s, v) = put(
        &t,
        &t.admin_token,
        "/api/v1/products/SHOP/widget",
        json!({"origins": ["https://ok.example", "ftp://x"]}),
    )
    .await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("origins[1]")), "{v}");
    let (s, v) = put(&t, &t.admin_token, "/api/v1/products/SHOP/widget", json!({"enabled": "yes"})).await;
    assert!(s.is_client_error() && v["field"].as_str() == Some("enabled"), "{s} {v}");
    let (_, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/widget").await;
    assert_eq!(v["origins"], json!([]));
}

async fn markup_is_stored_as_text_and_shown_escaped(db: TestDb) {
    let t = spawn_app(db).await;
    t.product("SHOP").await;
    let key = enable(&t, json!([])).await;
    let evil = "<script>window.pwned=1</script><img src=x onerror=alert(1)>";
    let (s, _, _) = widget_post(
        &t,
        &key,
        None,
        json!({"text": evil, "name": "<b>Bob</b>", "page_url": "https://x.example/?q=<i>"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(inbox(&t).await[0]["text"], evil, "kept as the customer wrote it");
    // Signed in, the inbox shows it as text.
    let c = t.client();
    let r = c
        .post(t.url("/api/v1/session"))
        .json(
            &json!({"email": keel_testkit::app::ADMIN_EMAIL, "password": keel_testkit::app::ADMIN_PASSWORD}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    for path in ["/products/SHOP/feedback", "/products/SHOP/feedback?source=widget&widget=1"] {
        let html = c.get(t.url(path)).send().await.unwrap().text().await.unwrap();
        assert!(
            html.contains(
                "<p class=\"fb-text\">&#60;script&#62;window.pwned=1&#60;/script&#62;&#60;img src=x"
            ),
            "{path}"
        );
        assert!(
            !html.contains("<script>window.pwned")
                && !html.contains("<img src=x")
                && !html.contains("<b>Bob"),
            "{path}"
        );
        assert!(html.contains("&#60;b&#62;Bob&#60;/b&#62;"));
        assert!(html.contains(&key), "the widget panel shows the key");
    }
}

async fn widget_rights(db: TestDb) {
    let t = spawn_app(db).await;
    let p = t.product("SHOP").await;
    let other = t.product("OTHER").await;
    let (_, po) = t.member(&p, "po@example.com", &[Role::Po]).await;
    let (_, team) = t.member(&p, "dev@example.com", &[Role::Team]).await;
    let (_, sh) = t.member(&p, "sh@example.com", &[Role::Stakeholder]).await;
    let (_, outsider) = t.member(&other, "out@example.com", &[Role::Pm]).await;
    let key = enable(&t, json!([])).await;
    let w = "/api/v1/products/SHOP/widget";
    for token in [&po, &team, &sh] {
        let (s, v) = get(&t, token, w).await;
        assert_eq!((s, v["key"].as_str()), (StatusCode::OK, Some(key.as_str())));
        let (s, v) = put(&t, token, w, json!({"enabled": false})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (s, _) = post(&t, token, &format!("{w}/rotate"), json!({})).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let (s, _) = get(&t, &outsider, w).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = put(&t, &outsider, w, json!({"enabled": false})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let r = Client::new().get(t.url(w)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Nothing changed: the key still works.
    let (s, _, _) = widget_post(&t, &key, None, json!({"text": "still on"})).await;
    assert_eq!(s, StatusCode::CREATED);
}

async fn feedback(t: &TestApp, product: &str, body: Value) -> i64 {
    let (s, v) = post(t, &t.admin_token, &format!("/api/v1/products/{product}/feedback"), body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_i64().unwrap()
}

async fn opportunity(t: &TestApp, title: &str) -> i64 {
    let (s, v) =
        post(t, &t.admin_token, "/api/v1/products/SHOP/opportunities", json!({"title": title})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_i64().unwrap()
}

async fn feedback_merge_keeps_links_and_words(db: TestDb) {
    let t = spawn_app(db).await;
    t.product("SHOP").await;
    let (a, b, c) =
        (opportunity(&t, "Export").await, opportunity(&t, "Reports").await, opportunity(&t, "Speed").await);
    let keep = feedback(
        &t,
        "SHOP",
        json!({"text": "Exports are slow", "company": "Acme", "revenue": 10, "opportunities": [a, b]}),
    )
    .await;
    let key = enable(&t, json!([])).await;
    let (_, _, v) = widget_post(
        &t,
        &key,
        None,
        json!({"text": "Export takes ages\nplease fix", "name": "Bo", "email": "bo@example.com"}),
    )
    .await;
    let dup = v["id"].as_i64().unwrap();
    let (s, _) =
        call(&t, &t.admin_token, Method::PUT, &format!("/api/v1/feedback/{dup}/opportunities/{b}"), None)
            .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) =
        call(&t, &t.admin_token, Method::PUT, &format!("/api/v1/feedback/{dup}/opportunities/{c}"), None)
            .await;
    assert_eq!(s, StatusCode::OK);

    let (s, v) =
        post(&t, &t.admin_token, &format!("/api/v1/feedback/{dup}/merge"), json!({"into": keep})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["id"].as_i64(), Some(keep));
    assert_eq!(v["opportunities"], json!([a, b, c]), "a union, each once");
    assert_eq!(
        v["text"],
        format!("Exports are slow\n\n— Merged from feedback #{dup} (widget, Bo, bo@example.com):\n> Export takes ages\n> please fix")
    );
    assert_eq!(
        (v["company"].as_str(), v["person"].as_str(), v["email"].as_str()),
        (Some("Acme"), Some("Bo"), Some("bo@example.com"))
    );
    let (s, _) = get(&t, &t.admin_token, &format!("/api/v1/feedback/{dup}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(inbox(&t).await.len(), 1);
    // Demand: each opportunity counts the merged feedback once.
    let (_, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/opportunities").await;
    for o in v["opportunities"].as_array().unwrap() {
        assert_eq!(o["demand"]["feedback"], 1, "{o}");
    }
    // Both changes are in the history, by the PM.
    let kept = t.app.store().history(ObjectKind::Feedback, keep, None, 20).await.unwrap();
    let gone = t.app.store().history(ObjectKind::Feedback, dup, None, 20).await.unwrap();
    assert!(kept.len() >= 2 && gone.len() >= 2, "{kept:?} {gone:?}");
    assert_eq!(kept[0].actor_id, Some(t.admin.id));
    assert_eq!(gone[0].actor_id, Some(t.admin.id));
    assert_eq!(kept[0].at, gone[0].at, "one batch");
}

async fn bad_feedback_merges(db: TestDb) {
    let t = spawn_app(db).await;
    let p = t.product("SHOP").await;
    t.product("OTHER").await;
    let (_, po) = t.member(&p, "po@example.com", &[Role::Po]).await;
    let (_, team) = t.member(&p, "dev@example.com", &[Role::Team]).await;
    let a = feedback(&t, "SHOP", json!({"text": "One"})).await;
    let b = feedback(&t, "SHOP", json!({"text": "Two"})).await;
    let long = feedback(&t, "SHOP", json!({"text": "x".repeat(9_990)})).await;
    let elsewhere = feedback(&t, "OTHER", json!({"text": "Other product"})).await;
    let merge = format!("/api/v1/feedback/{a}/merge");
    for token in [&po, &team] {
        let (s, v) = post(&t, token, &merge, json!({"into": b})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    }
    for into in [json!(a), json!(elsewhere), json!(999_999), json!(long)] {
        let (s, v) = post(&t, &t.admin_token, &merge, json!({"into": into})).await;
        assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("into")), "{into}: {v}");
    }
    for body in [json!({}), json!({"into": "b"}), json!({"into": b, "x": 1})] {
        let (s, _) = post(&t, &t.admin_token, &merge, body.clone()).await;
        assert!(s.is_client_error(), "{body}");
    }
    let (s, _) = post(&t, &t.admin_token, "/api/v1/feedback/999999/merge", json!({"into": b})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Nothing changed.
    let (_, v) = get(&t, &t.admin_token, &format!("/api/v1/feedback/{b}")).await;
    assert_eq!(v["text"], "Two");
    assert_eq!(inbox(&t).await.len(), 3);
}
