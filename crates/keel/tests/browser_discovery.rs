//! Discovery in a real browser (headless Chromium through WebDriver), on each backend: the
//! Product Manager ranks opportunities by another framework, scores one on its page, and
//! promotes it to an epic; the API confirms each step.
//!
//! Without chromedriver the test is skipped (a failure under `KEEL_TEST_STRICT=1`).

use keel_testkit::app::{ADMIN_EMAIL, ADMIN_PASSWORD};
use keel_testkit::{TestApp, TestDb};
use serde_json::{json, Value};

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opportunities_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opportunities_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

async fn opportunity(t: &TestApp, body: Value) -> i64 {
    let r = reqwest::Client::new()
        .post(t.url("/api/v1/products/SHOP/opportunities"))
        .bearer_auth(&t.admin_token)
        .json(&body)
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    r.json::<Value>().await.expect("json")["id"].as_i64().expect("id")
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    t.product("SHOP").await;
    let shots = Shots::new(&format!("discovery-{backend}"));
    let big = opportunity(
        &t,
        json!({"title": "Saved carts", "scores": {"rice": {"reach": 500, "impact": 3, "confidence": 100, "effort": 1}}}),
    )
    .await;
    let small = opportunity(
        &t,
        json!({"title": "Guest checkout <script>window.pwned=1</script>", "description": "Buyers **leave** at sign-up"}),
    )
    .await;

    let b = driver.session().await;
    b.goto(&t.url("/signin?next=/products/SHOP/opportunities")).await;
    sign_in(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.wait_url_ends("/products/SHOP/opportunities").await;
    b.wait_css(&format!("#opp-{big}")).await;
    // Ranked by RICE: the scored one first, 1500 with its parts; the title's markup is text.
    let first = b.text(&b.wait_css("#opportunities tbody tr:first-child .dc-score-val").await).await;
    assert_eq!(first, "1,500");
    let parts = b.text(&b.wait_css(&format!("#opp-{big} .dc-parts")).await).await;
    assert!(parts.contains("impact 3") && parts.contains("confidence 100 %"), "{parts}");
    assert_eq!(b.js("return window.pwned === undefined", json!([])).await, json!(true));
    let strong = b.text(&b.wait_css(&format!("#opp-{small} .prose strong")).await).await;
    assert_eq!(strong, "leave");
    shots.take(&b, "ranked").await;

    // Score the other one under RICE on its row: 2000 × 2 × 50 % ÷ 0.5 = 4000, now first.
    b.click(&b.wait_css(&format!("#opp-{small} summary")).await).await;
    for (name, v) in [("rice_reach", "2000"), ("rice_confidence", "50"), ("rice_effort", "0.5")] {
        b.type_text(&b.wait_css(&format!("#opp-{small} input[name='{name}']")).await, v).await;
    }
    b.js(
        "document.querySelector(arguments[0]).value = '2'",
        json!([format!("#opp-{small} select[name='rice_impact']")]),
    )
    .await;
    b.click(&b.wait_css(&format!("#opp-{small} .dc-score button[type='submit']")).await).await;
    b.wait_url_contains("notice=").await;
    let first = b.text(&b.wait_css("#opportunities tbody tr:first-child .dc-score-val").await).await;
    assert_eq!(first, "4,000");
    let o = api_get(&t, &format!("/api/v1/opportunities/{small}")).await;
    assert_eq!((o["score"].clone(), o["rank"].clone()), (json!(4000.0), json!(1)), "{o}");

    // Switch to WSJF: nobody is scored there; make it the product's ranking.
    b.click(&b.wait_css("a.dc-tab[data-framework='wsjf']").await).await;
    b.wait_css("a.dc-tab.current[data-framework='wsjf']").await;
    b.click(&b.wait_css("#dc-choose button").await).await;
    b.wait_url_contains("notice=").await;
    let r = api_get(&t, "/api/v1/products/SHOP/ranking").await;
    assert_eq!(r["framework"], "wsjf");

    // Promote the first one to an epic.
    b.click(&b.wait_css(&format!("#opp-{small} summary")).await).await;
    b.click(&b.wait_css(&format!("#opp-{small} .dc-promote button")).await).await;
    b.wait_url_contains("notice=").await;
    let epic = b.text(&b.wait_css(&format!("#opp-{small} a.dc-epic")).await).await;
    assert!(epic.starts_with("SHOP-"), "{epic}");
    shots.take(&b, "promoted").await;
    let o = api_get(&t, &format!("/api/v1/opportunities/{small}")).await;
    assert_eq!((o["state"].as_str(), o["epic"].as_str()), (Some("promoted"), Some(epic.as_str())));
    let item = api_get(&t, &format!("/api/v1/items/{epic}")).await;
    assert_eq!(item["kind"], "epic");

    // The feedback inbox: record a sales-call note, link it, see the demand.
    b.goto(&t.url("/products/SHOP/feedback")).await;
    b.wait_css("#fb-add").await;
    b.type_text(
        &b.wait_css("#fb-add textarea[name='text']").await,
        "Wants carts <img src=x onerror=window.pwned=2>",
    )
    .await;
    b.type_text(&b.wait_css("#fb-add input[name='company']").await, "Acme").await;
    b.type_text(&b.wait_css("#fb-add input[name='revenue']").await, "120").await;
    b.click(&b.wait_css("#fb-add button[type='submit']").await).await;
    b.wait_url_contains("notice=").await;
    let text = b.text(&b.wait_css("#feedback .fb-text").await).await;
    assert_eq!(text, "Wants carts <img src=x onerror=window.pwned=2>");
    assert_eq!(b.js("return window.pwned === undefined", json!([])).await, json!(true));
    b.js(
        "document.querySelector('#feedback .fb-link select').value = arguments[0]",
        json!([big.to_string()]),
    )
    .await;
    b.click(&b.wait_css("#feedback .fb-link button").await).await;
    b.wait_url_contains("notice=").await;
    let chip = b.text(&b.wait_css("#feedback .fb-chip a").await).await;
    assert_eq!(chip, "Saved carts");
    shots.take(&b, "inbox").await;
    let o = api_get(&t, &format!("/api/v1/opportunities/{big}")).await;
    assert_eq!(o["demand"], json!({"feedback": 1, "revenue": 120.0}), "{o}");
    b.goto(&t.url("/products/SHOP/opportunities")).await;
    let demand = b.text(&b.wait_css(&format!("#opp-{big} .dc-demand")).await).await;
    assert!(demand.contains("1 fb") && demand.contains("120"), "{demand}");

    // Merge a duplicate carrying its own feedback into it: the link moves along.
    let dup = opportunity(&t, json!({"title": "Keep carts for later"})).await;
    let r = reqwest::Client::new()
        .post(t.url("/api/v1/products/SHOP/feedback"))
        .bearer_auth(&t.admin_token)
        .json(&json!({"text": "Lost my cart", "company": "Globex", "revenue": 30, "opportunities": [dup]}))
        .send()
        .await
        .expect("feedback");
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    b.refresh().await;
    b.click(&b.wait_css(&format!("#opp-{dup} summary")).await).await;
    b.js(
        "document.querySelector(arguments[0]).value = arguments[1]",
        json!([format!("#opp-{dup} .dc-merge select"), big.to_string()]),
    )
    .await;
    b.click(&b.wait_css(&format!("#opp-{dup} .dc-merge button")).await).await;
    b.wait_url_contains("notice=").await;
    let demand = b.text(&b.wait_css(&format!("#opp-{big} .dc-demand")).await).await;
    assert!(demand.contains("2 fb") && demand.contains("150"), "{demand}");
    assert_eq!(
        b.js("return document.getElementById(arguments[0])", json!([format!("opp-{dup}")])).await,
        json!(null)
    );
    b.close().await;
}
