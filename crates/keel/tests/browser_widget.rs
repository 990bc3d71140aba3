//! The feedback widget in a real browser (headless Chromium through WebDriver), on each
//! backend: a customer's page on another origin includes Keel's widget.js, a visitor sends
//! feedback through it (markup and all), and the Product Manager signs in to Keel, finds it in
//! the inbox as text, merges a duplicate, and makes a new key, after which the page's old key
//! is refused with a message the widget shows; so is a flood over the rate limit.
//!
//! Without chromedriver the test is skipped (a failure under `KEEL_TEST_STRICT=1`).

use keel_testkit::app::{ADMIN_EMAIL, ADMIN_PASSWORD};
use keel_testkit::{TestApp, TestDb};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

/// The customer's page, changed when the shop pastes a new snippet.
type Page = std::sync::Arc<std::sync::Mutex<String>>;

/// Serves `page` at every path of a new loopback port: the customer's site, on an origin of
/// its own. Answers its origin.
async fn customer_site(page: Page) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let page = page.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let page = page.lock().expect("page").clone();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    page.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(page.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    origin
}

/// The page of a shop whose own styles would clash with the widget's if they could reach it.
fn shop_page(keel: &str, key: &str) -> String {
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Acme Shop</title>
<style>body{{font-family:Georgia,serif;margin:40px;background:#fbf7ef;color:#333}}
button,input,textarea{{background:#e11 !important;font-size:28px !important;border:4px dashed #000 !important}}
.hero{{max-width:640px}}</style></head>
<body><div class="hero"><h1>Acme Shop</h1><p>Hand-made goods, shipped daily. Tell us how we are doing with the button in the corner.</p>
<button type="button">Add to cart</button></div>
<script src="{keel}/widget.js" data-keel-key="{key}" async></script>
</body></html>"#
    )
}

/// The element a script returns (from inside the widget's shadow root).
async fn shadow(b: &Browser, css: &str) -> String {
    let script = "return document.querySelector('[data-keel-widget]').shadowRoot.querySelector(arguments[0])";
    b.wait_js(&format!(
        "var h = document.querySelector('[data-keel-widget]'); return !!(h && h.shadowRoot && h.shadowRoot.querySelector({css:?}))"
    ))
    .await;
    let v = b.js(script, json!([css])).await;
    v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {v}")).to_string()
}

async fn shadow_text(b: &Browser, css: &str) -> String {
    let script = "return document.querySelector('[data-keel-widget]').shadowRoot.querySelector(arguments[0]).textContent";
    b.js(script, json!([css])).await.as_str().unwrap_or("").to_string()
}

async fn api(t: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut r = reqwest::Client::new().request(method, t.url(path)).bearer_auth(&t.admin_token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.expect("api");
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.expect("json")
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    t.product("SHOP").await;
    let shots = Shots::new(&format!("widget-{backend}"));
    let keel = t.url("");
    let keel = keel.trim_end_matches('/');
    let w =
        api(&t, reqwest::Method::PUT, "/api/v1/products/SHOP/widget", Some(json!({"enabled": true}))).await;
    let key = w["key"].as_str().unwrap().to_string();
    let page: Page = std::sync::Arc::new(std::sync::Mutex::new(shop_page(keel, &key)));
    let site = customer_site(page.clone()).await;
    assert_ne!(site, keel, "another origin");
    let w =
        api(&t, reqwest::Method::PUT, "/api/v1/products/SHOP/widget", Some(json!({"origins": [site]}))).await;
    assert_eq!(w["origins"], json!([site.clone()]));

    let b = driver.session().await;
    b.goto(&format!("{site}/products/mugs")).await;
    let button = shadow(&b, ".btn").await;
    // The shop's clashing styles stop at the shadow root.
    let bg = b
        .js(
            "return getComputedStyle(document.querySelector('[data-keel-widget]').shadowRoot.querySelector('.btn')).backgroundColor",
            json!([]),
        )
        .await;
    assert_eq!(bg, "rgb(31, 79, 138)");
    shots.take(&b, "1-shop-page").await;
    b.click(&button).await;
    let text = shadow(&b, "textarea").await;
    b.type_text(&text, "Checkout crashes on Safari <script>window.pwned=1</script>").await;
    b.type_text(&shadow(&b, "#k-name").await, "Ann Example").await;
    b.type_text(&shadow(&b, "#k-email").await, "ann@example.com").await;
    shots.take(&b, "2-widget-form").await;
    b.click(&shadow(&b, ".send").await).await;
    b.wait_js(
        "return document.querySelector('[data-keel-widget]').shadowRoot.querySelector('.msg').textContent.indexOf('Thank you') >= 0",
    )
    .await;
    shots.take(&b, "3-widget-thanks").await;
    assert_eq!(b.js("return window.pwned === undefined", json!([])).await, json!(true));

    let list = api(&t, reqwest::Method::GET, "/api/v1/products/SHOP/feedback", None).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    let f = &list[0];
    assert_eq!(f["source"], "widget");
    assert_eq!(f["text"], "Checkout crashes on Safari <script>window.pwned=1</script>");
    assert_eq!((f["person"].as_str(), f["email"].as_str()), (Some("Ann Example"), Some("ann@example.com")));
    assert_eq!(f["page_url"], format!("{site}/products/mugs"));
    let first = f["id"].as_i64().unwrap();

    // A duplicate arrives through the API; the PM signs in to Keel and sees both in the inbox.
    let dup = api(
        &t,
        reqwest::Method::POST,
        "/api/v1/products/SHOP/feedback",
        Some(json!({"text": "Safari checkout is broken", "company": "Globex", "source": "sales_call"})),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    b.goto(&t.url("/signin?next=/products/SHOP/feedback")).await;
    sign_in(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.wait_url_ends("/products/SHOP/feedback").await;
    let item = b.wait_css(&format!("#fb-{first} .fb-text")).await;
    assert_eq!(b.text(&item).await, "Checkout crashes on Safari <script>window.pwned=1</script>");
    assert_eq!(b.text(&b.wait_css(&format!("#fb-{first} .fb-source")).await).await, "widget");
    assert!(b.text(&b.wait_css(&format!("#fb-{first} .fb-meta")).await).await.contains("ann@example.com"));
    assert_eq!(b.js("return window.pwned === undefined", json!([])).await, json!(true));
    shots.take(&b, "4-inbox").await;

    // Merge the duplicate into the widget's feedback.
    b.type_text(&b.wait_css(&format!("#fb-merge-{dup}")).await, &first.to_string()).await;
    b.click(&b.wait_css(&format!("#fb-{dup} .fb-merge button")).await).await;
    b.wait_url_contains("notice=").await;
    let merged = b.text(&b.wait_css(&format!("#fb-{first} .fb-text")).await).await;
    assert!(merged.contains(&format!("Merged from feedback #{dup} (sales_call, Globex)")), "{merged}");
    assert!(merged.contains("> Safari checkout is broken"), "{merged}");
    assert_eq!(
        b.js(&format!("return document.getElementById('fb-{dup}') === null"), json!([])).await,
        json!(true)
    );

    // The widget panel: key, status, the allowed site, the snippet; then a new key.
    b.goto(&t.url("/products/SHOP/feedback?widget=1")).await;
    assert_eq!(b.text(&b.wait_css("#wg-key").await).await, key);
    let snippet = b.js("return document.getElementById('wg-snippet').value", json!([])).await;
    assert!(snippet.as_str().unwrap().contains(&format!("data-keel-key=\"{key}\"")), "{snippet}");
    let origins = b.js("return document.getElementById('wg-origins').value", json!([])).await;
    assert_eq!(origins, json!(site.clone()));
    shots.take(&b, "5-widget-panel").await;
    b.click(&b.wait_css("#wg-rotate button").await).await;
    b.wait_url_contains("notice=").await;
    let new_key = b.text(&b.wait_css("#wg-key").await).await;
    assert_ne!(new_key, key);
    let w = api(&t, reqwest::Method::GET, "/api/v1/products/SHOP/widget", None).await;
    assert_eq!(w["key"], new_key.as_str());

    // The shop still embeds the old key: the widget says why it could not send.
    b.goto(&format!("{site}/")).await;
    b.click(&shadow(&b, ".btn").await).await;
    b.type_text(&shadow(&b, "textarea").await, "Hello again").await;
    b.click(&shadow(&b, ".send").await).await;
    b.wait_js(
        "return document.querySelector('[data-keel-widget]').shadowRoot.querySelector('.msg').textContent.indexOf('Sorry') >= 0",
    )
    .await;
    let msg = shadow_text(&b, ".msg").await;
    assert!(msg.contains("no feedback widget has this key"), "{msg}");
    shots.take(&b, "6-widget-old-key").await;
    let list = api(&t, reqwest::Method::GET, "/api/v1/products/SHOP/feedback", None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    // The shop pastes the new snippet; a flood from this address (the browser's too) fills
    // the minute's allowance, and the widget says when to try again.
    *page.lock().unwrap() = shop_page(keel, &new_key);
    // The first post through the widget counted already: nine more fill the allowance of ten.
    for i in 0..9 {
        let r = reqwest::Client::new()
            .post(t.url(&format!("/api/v1/widget/{new_key}/feedback")))
            .header("Origin", site.as_str())
            .json(&json!({"text": format!("flood {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::CREATED, "post {i}");
    }
    b.goto(&format!("{site}/")).await;
    b.click(&shadow(&b, ".btn").await).await;
    b.type_text(&shadow(&b, "textarea").await, "One more thing").await;
    b.click(&shadow(&b, ".send").await).await;
    b.wait_js(
        "return document.querySelector('[data-keel-widget]').shadowRoot.querySelector('.msg').textContent.indexOf('Sorry') >= 0",
    )
    .await;
    let msg = shadow_text(&b, ".msg").await;
    assert!(msg.contains("too many messages") && msg.contains("try again in 1 minute"), "{msg}");
    shots.take(&b, "7-widget-rate-limited").await;
    let list = api(&t, reqwest::Method::GET, "/api/v1/products/SHOP/feedback", None).await;
    assert_eq!(list.as_array().unwrap().len(), 10);
    b.close().await;
}
