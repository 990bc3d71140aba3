//! Acceptance in a real browser (headless Chromium through WebDriver), on each backend: the
//! Product Owner ticks a story's Definition of Done on its page, accepts it, sees the state, and
//! the API confirms it; then the refinement, definitions and release pages render on the demo.
//!
//! Without chromedriver the test is skipped (a failure under `KEEL_TEST_STRICT=1`).

use keel_testkit::app::{ADMIN_EMAIL, ADMIN_PASSWORD};
use keel_testkit::TestDb;
use serde_json::json;

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    keel_app::demo::seed(&t.app, Some(&t.admin)).await.expect("demo").expect("fresh database");
    let shots = Shots::new(&format!("readiness-{backend}"));
    // A story in progress whose one criterion is met; its Definition of Done is not ticked yet.
    let body = json!({"title": "Accept me in the browser", "criteria": [{"text": "It works", "checked": true}],
        "status": "In Progress"});
    let r = reqwest::Client::new()
        .post(t.url("/api/v1/products/SHOP/items"))
        .bearer_auth(&t.admin_token)
        .json(&body)
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let key = r.json::<serde_json::Value>().await.expect("json")["key"].as_str().expect("key").to_string();

    let b = driver.session().await;
    b.goto(&t.url(&format!("/signin?next=/items/{key}"))).await;
    sign_in(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.wait_url_ends(&format!("/items/{key}")).await;
    b.wait_css("#acceptance-state[data-state='none']").await;
    assert_eq!(b.js("return document.getElementById('accept-btn').disabled", json!([])).await, json!(true));
    let blockers = b.text(&b.wait_css("#acceptance-blockers").await).await;
    assert!(blockers.contains("Definition of Done: Code reviewed"), "{blockers}");
    shots.take(&b, "item-before").await;

    // Tick the three Definition-of-Done checks: each box submits itself and the page comes back.
    for id in 1..=3 {
        b.click(&b.wait_css(&format!("input[data-dod='{id}']")).await).await;
        b.wait_js(&format!("return !!document.querySelector(\"li.checked input[data-dod='{id}']:checked\")"))
            .await;
    }
    b.wait_js("return !document.getElementById('acceptance-blockers')").await;

    // Accept: the state shows on the page, and the story is done.
    b.click(&b.wait_css("#accept-btn:not([disabled])").await).await;
    b.wait_css("#acceptance-state[data-state='accepted']").await;
    let state = b.text(&b.wait_css("#acceptance-state").await).await;
    assert_eq!(state, "Accepted");
    shots.take(&b, "item-accepted").await;
    let item = api_get(&t, &format!("/api/v1/items/{key}")).await;
    assert_eq!(item["acceptance"], "accepted", "{item}");
    assert_eq!(item["status"], "Done");
    assert_eq!(item["dod"], json!([1, 2, 3]));

    // Reject it with a reason: back in progress, the reason shown.
    b.type_text(&b.wait_css("#reject-note").await, "The refund e-mail is missing").await;
    b.click(&b.wait_css("#reject-btn").await).await;
    b.wait_css("#acceptance-state[data-state='rejected']").await;
    let note = b.text(&b.wait_css(".acc-note").await).await;
    assert!(note.contains("The refund e-mail is missing"), "{note}");
    let item = api_get(&t, &format!("/api/v1/items/{key}")).await;
    assert_eq!(
        (item["acceptance"].as_str(), item["status"].as_str()),
        (Some("rejected"), Some("In Progress"))
    );

    // The pages of refinement and releases render on the demo product.
    for (name, path, css) in [
        ("definitions", "/products/SHOP/settings/definitions".to_string(), "#dor-list li"),
        ("refinement", "/products/SHOP/refinement".to_string(), "#refinement tbody tr"),
        ("backlog", "/products/SHOP/backlog".to_string(), "#bulk-form"),
        ("releases", "/products/SHOP/releases".to_string(), "#releases tbody tr"),
    ] {
        b.goto(&t.url(&path)).await;
        b.wait_css(css).await;
        shots.take(&b, name).await;
    }
    let release =
        b.js("return document.querySelector('#releases a.rel-name').getAttribute('href')", json!([])).await;
    b.goto(&t.url(release.as_str().expect("release link"))).await;
    b.wait_css("#notes").await;
    shots.take(&b, "release").await;
    b.close().await;
}
