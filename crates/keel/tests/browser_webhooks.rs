//! Settings → Webhooks in a real browser (headless Chromium through WebDriver), on each backend:
//! the Product Manager adds a webhook through the form, a change is delivered to a receiver on a
//! loopback port that refuses it until the retries give up, the delivery log shows the failure,
//! the retry button sends it again once the receiver recovers, and the webhook is paused and
//! deleted.
//!
//! Without chromedriver the test is skipped (a failure under `KEEL_TEST_STRICT=1`).

use axum::http::StatusCode;
use keel_testkit::app::{ADMIN_EMAIL, ADMIN_PASSWORD};
use keel_testkit::TestDb;
use serde_json::json;
use std::sync::{Arc, Mutex};

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

/// A loopback receiver answering `code`; counts requests.
async fn receiver(code: Arc<Mutex<u16>>, hits: Arc<Mutex<usize>>) -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let (code, hits) = (code.clone(), hits.clone());
            async move {
                *hits.lock().unwrap() += 1;
                StatusCode::from_u16(*code.lock().unwrap()).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let mut settings = keel_app::Settings::default();
    settings.webhooks.allow_private = true;
    settings.webhooks.base_backoff_ms = 100;
    settings.webhooks.retry_window_ms = 250;
    settings.webhooks.poll_ms = 30;
    let t = keel_testkit::spawn_app_with(db, settings).await;
    let worker = tokio::spawn(t.app.clone().run_webhook_worker());
    t.product("SHOP").await;
    let (code, hits) = (Arc::new(Mutex::new(500u16)), Arc::new(Mutex::new(0usize)));
    let url = receiver(code.clone(), hits.clone()).await;
    let shots = Shots::new(&format!("webhooks-{backend}"));
    let b = driver.session().await;
    b.goto(&t.url("/signin?next=/products/SHOP/settings")).await;
    sign_in(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.wait_url_contains("/products/SHOP/settings").await;
    b.click(&b.wait_css("a[href='/products/SHOP/settings/webhooks']").await).await;
    b.wait_css("#wh-empty").await;

    // Add one through the form: items are ticked by default; add sprint.started too.
    let field = b.wait_css("#wh-url").await;
    b.type_text(&field, &url).await;
    b.js("document.querySelector('input[name=events][value=\"sprint.started\"]').click()", json!([])).await;
    b.js("document.getElementById('add-webhook').submit()", json!([])).await;
    b.wait_css("#webhooks tbody tr").await;
    let hooks = api_get(&t, "/api/v1/products/SHOP/webhooks").await;
    let id = hooks[0]["id"].as_i64().unwrap();
    assert_eq!(hooks[0]["url"], url.as_str());
    assert_eq!(
        hooks[0]["events"],
        json!(["item.created", "item.deleted", "item.moved", "item.updated", "sprint.started"])
    );
    shots.take(&b, "list").await;

    // A change is delivered, refused until the retries give up.
    let res = reqwest::Client::new()
        .post(t.url("/api/v1/products/SHOP/items"))
        .bearer_auth(&t.admin_token)
        .json(&json!({"title": "Pay by card"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    for _ in 0..200 {
        let d = api_get(&t, &format!("/api/v1/webhooks/{id}/deliveries")).await;
        if d[0]["status"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    b.goto(&t.url(&format!("/webhooks/{id}"))).await;
    b.wait_css("#deliveries tr.wh-failed").await;
    let cells = b.js("return document.querySelector('#deliveries tbody tr').innerText", json!([])).await;
    let text = cells.as_str().unwrap();
    assert!(text.contains("item.created") && text.contains("failed") && text.contains("500"), "{text}");
    shots.take(&b, "log-failed").await;

    // The receiver recovers; the retry button sends it again.
    *code.lock().unwrap() = 200;
    let before = *hits.lock().unwrap();
    b.click(&b.wait_css("#deliveries tr.wh-failed button[type=submit]").await).await;
    b.wait_css(".flash").await;
    for _ in 0..200 {
        let d = api_get(&t, &format!("/api/v1/webhooks/{id}/deliveries")).await;
        if d[0]["status"] == "delivered" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(*hits.lock().unwrap(), before + 1);
    b.refresh().await;
    b.wait_css("#deliveries tr.wh-delivered").await;
    shots.take(&b, "log-delivered").await;

    // Pause, then delete.
    b.goto(&t.url("/products/SHOP/settings/webhooks")).await;
    b.click(&b.wait_css(&format!("#webhooks tr[data-id='{id}'] form[action$='/toggle'] button")).await).await;
    b.wait_css(".flash").await;
    assert_eq!(api_get(&t, &format!("/api/v1/webhooks/{id}")).await["active"], false);
    shots.take(&b, "paused").await;
    b.click(&b.wait_css(&format!("#webhooks tr[data-id='{id}'] form[action$='/delete'] button")).await).await;
    b.wait_css("#wh-empty").await;
    assert_eq!(api_get(&t, "/api/v1/products/SHOP/webhooks").await, json!([]));
    b.close().await;
    worker.abort();
}
