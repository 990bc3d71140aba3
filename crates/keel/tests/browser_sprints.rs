//! Sprint planning in a real browser (headless Chromium through WebDriver), on each backend:
//! a backlog item dragged into the sprint with pointer actions, another moved with the keyboard
//! and one sent back with its button, each confirmed against the JSON API; the sprint pages
//! render. With `KEEL_SCREENSHOTS=<dir>` it saves a screenshot of each page there.
//!
//! Without chromedriver the test is skipped (a failure under `KEEL_TEST_STRICT=1`).

use keel_testkit::app::{ADMIN_EMAIL, ADMIN_PASSWORD};
use keel_testkit::{TestApp, TestDb};
use serde_json::{json, Value};

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sprints_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sprints_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

async fn api(t: &TestApp, method: reqwest::Method, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .request(method.clone(), t.url(path))
        .bearer_auth(&t.admin_token)
        .json(&body)
        .send()
        .await
        .expect("api");
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{method} {path}: {status} {v}");
    v
}

async fn sprint_keys(t: &TestApp, sprint: i64) -> Vec<String> {
    let v = api_get(t, &format!("/api/v1/sprints/{sprint}/items")).await;
    v.as_array().expect("items").iter().map(|i| i["key"].as_str().unwrap_or("").to_string()).collect()
}

async fn list(b: &Browser, table: &str) -> Vec<String> {
    let v = b
        .js(
            "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr[data-key]')).map(r => r.dataset.key)",
            json!([table]),
        )
        .await;
    serde_json::from_value(v).expect("keys")
}

/// Drags backlog row `key` by its handle into the sprint's list, in small steps.
async fn drag_into_sprint(b: &Browser, key: &str) {
    let handle = b.wait_css(&format!("#plan-backlog tr[data-key='{key}'] .handle")).await;
    let target = b.wait_css("#plan-sprint").await;
    let origin = |e: &str| json!({ ELEMENT: e });
    let actions = json!({ "actions": [{
        "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" },
        "actions": [
            { "type": "pointerMove", "duration": 0, "origin": origin(&handle), "x": 0, "y": 0 },
            { "type": "pointerDown", "button": 0 },
            { "type": "pointerMove", "duration": 100, "origin": "pointer", "x": 10, "y": 0 },
            { "type": "pointerMove", "duration": 200, "origin": origin(&target), "x": 0, "y": 0 },
            { "type": "pointerMove", "duration": 100, "origin": origin(&target), "x": 4, "y": 6 },
            { "type": "pause", "duration": 100 },
            { "type": "pointerUp", "button": 0 }
        ]
    }]});
    b.post("/actions", actions).await;
    b.delete("/actions").await;
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    keel_app::demo::seed(&t.app, Some(&t.admin)).await.expect("demo").expect("fresh database");
    let team =
        api(&t, reqwest::Method::POST, "/api/v1/products/SHOP/teams", json!({"name": "Checkout"})).await;
    let team_id = team["id"].as_i64().expect("team id");
    api(
        &t,
        reqwest::Method::PUT,
        &format!("/api/v1/teams/{team_id}/members"),
        json!({"members": [{"user": ADMIN_EMAIL, "points": 13, "days": 10}]}),
    )
    .await;
    let sprint = api(
        &t,
        reqwest::Method::POST,
        &format!("/api/v1/teams/{team_id}/sprints"),
        json!({"name": "Sprint 1", "start": "2026-01-05", "end": "2026-01-16", "goal": "Pay by card"}),
    )
    .await;
    let sprint_id = sprint["id"].as_i64().expect("sprint id");
    // A story that is not ready (no criteria, no estimate) at the top of the backlog.
    let raw = api(
        &t,
        reqwest::Method::POST,
        "/api/v1/products/SHOP/items",
        json!({"title": "Raw idea", "top": true}),
    )
    .await;
    let raw_key = raw["key"].as_str().expect("key").to_string();
    let b = driver.session().await;
    let shots = Shots::new(&format!("{backend}-sprints"));

    b.goto(&t.url(&format!("/signin?next=/sprints/{sprint_id}/plan"))).await;
    sign_in(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.wait_url_ends(&format!("/sprints/{sprint_id}/plan")).await;
    b.wait_css("#plan-backlog tbody tr[data-key]").await;
    shots.take(&b, "plan-empty").await;
    let backlog = list(&b, "plan-backlog").await;
    assert!(backlog.len() >= 3, "the demo backlog has rows: {backlog:?}");
    assert!(list(&b, "plan-sprint").await.is_empty());
    // Each story shows why it is not ready.
    assert_eq!(backlog[0], raw_key);
    let dor = b.wait_css(&format!("#plan-backlog tr[data-key='{raw_key}'] .sp-dor")).await;
    assert!(b.text(&dor).await.contains("not ready"));
    let why = b
        .js(
            "return document.querySelector('#plan-backlog tr[data-key=\"' + arguments[0] + '\"] .sp-dor').title",
            json!([raw_key]),
        )
        .await;
    assert!(why.as_str().unwrap_or("").contains("estimate"), "{why}");

    // Drag the first backlog item into the sprint.
    drag_into_sprint(&b, &backlog[0]).await;
    b.wait_js("return document.getElementById('plan').dataset.moves === '1'").await;
    assert_eq!(list(&b, "plan-sprint").await, vec![backlog[0].clone()], "the page shows the drop");
    assert_eq!(sprint_keys(&t, sprint_id).await, vec![backlog[0].clone()], "the server stored the drop");

    // Keyboard: focus the (new) first backlog row, Alt+→ moves it into the sprint.
    let second = list(&b, "plan-backlog").await[0].clone();
    b.js(
        "document.querySelector('#plan-backlog tr[data-key=\"' + arguments[0] + '\"]').focus()",
        json!([second]),
    )
    .await;
    b.keys(&[ALT, "\u{E014}"], &["\u{E014}", ALT]).await;
    b.wait_js("return document.getElementById('plan').dataset.moves === '2'").await;
    let mut in_sprint = sprint_keys(&t, sprint_id).await;
    in_sprint.sort();
    let mut expected = vec![backlog[0].clone(), second.clone()];
    expected.sort();
    assert_eq!(in_sprint, expected, "the keyboard move was stored");
    shots.take(&b, "plan").await;

    // The "← Back" button sends one back (without a page load, through the API).
    b.click(&b.wait_css(&format!("#plan-sprint tr[data-key='{second}'] form button")).await).await;
    b.wait_js("return document.getElementById('plan').dataset.moves === '3'").await;
    assert_eq!(sprint_keys(&t, sprint_id).await, vec![backlog[0].clone()]);

    // After a reload the page shows what the server holds.
    b.refresh().await;
    b.wait_css("#plan-sprint tbody tr[data-key]").await;
    assert_eq!(list(&b, "plan-sprint").await, vec![backlog[0].clone()]);

    // The other sprint pages render.
    for (name, path) in [
        ("sprints", "/products/SHOP/sprints".to_string()),
        ("team", format!("/teams/{team_id}")),
        ("sprint", format!("/sprints/{sprint_id}")),
    ] {
        b.goto(&t.url(&path)).await;
        b.wait_css("main h1").await;
        shots.take(&b, name).await;
    }
    // Start the sprint from its page.
    b.click(&b.wait_css("#start-sprint").await).await;
    b.wait_url_contains("notice=Sprint%20started").await;
    let v = api_get(&t, &format!("/api/v1/sprints/{sprint_id}")).await;
    assert_eq!(v["state"], "active");
    b.wait_css("#close-form").await;
    shots.take(&b, "sprint-active").await;
    // Close it from its page: the unfinished item goes back to the top of the backlog.
    b.click(&b.wait_css("#close-sprint").await).await;
    b.wait_url_contains("notice=Sprint%20closed").await;
    let v = api_get(&t, &format!("/api/v1/sprints/{sprint_id}")).await;
    assert_eq!(v["state"], "closed");
    assert_eq!(v["summary"]["carried_over"].as_array().map(Vec::len), Some(1));
    assert!(sprint_keys(&t, sprint_id).await.is_empty());
    shots.take(&b, "sprint-closed").await;
    b.close().await;
}
