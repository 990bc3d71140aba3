//! Go-to-market and PRDs in a real browser (headless Chromium through chromedriver), on each
//! backend: the Product Manager ticks a launch checklist item from the keyboard, records a "go"
//! over the open items (confirmed through the JSON API), then edits a section of an initiative's
//! PRD. Skipped without chromedriver (a failure under `KEEL_TEST_STRICT=1`).

use keel_domain::product::Role;
use keel_testkit::app::MEMBER_PASSWORD;
use keel_testkit::{TestApp, TestDb};
use serde_json::{json, Value};

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_launch_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_launch_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

async fn api(t: &TestApp, method: reqwest::Method, path: &str, body: Value) -> Value {
    let res = reqwest::Client::new()
        .request(method, t.url(path))
        .bearer_auth(&t.admin_token)
        .json(&body)
        .send()
        .await
        .expect("api");
    let s = res.status();
    let v = res.json().await.unwrap_or(Value::Null);
    assert!(s.is_success(), "{path}: {s} {v}");
    v
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    use reqwest::Method;
    let t = keel_testkit::spawn_app(db).await;
    let shop = t.product("SHOP").await;
    t.member(&shop, "pm@keel.test", &[Role::Pm]).await;
    let (_, team) = t.member(&shop, "team@keel.test", &[Role::Team]).await;
    let rel = api(
        &t,
        Method::POST,
        "/api/v1/products/SHOP/releases",
        json!({"name": "2.0", "target_date": "2026-01-20", "description": "One-tap checkout"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/releases/{rel}/launch");
    api(&t, Method::PUT, &format!("{path}/items/1"), json!({"done": true, "note": "Flat fee, no tiers"}))
        .await;
    api(&t, Method::POST, &format!("{path}/items"), json!({"title": "Partner webinar", "due": "2099-03-01"}))
        .await;
    api(
        &t,
        Method::POST,
        &format!("{path}/decision"),
        json!({"decision": "no_go", "note": "Docs are not ready"}),
    )
    .await;
    // An initiative with a goal, an opportunity with feedback promoted into its epic, a story.
    let goal =
        api(&t, Method::POST, "/api/v1/products/SHOP/goals", json!({"title": "Make checkout effortless"}))
            .await["id"]
            .clone();
    let ini = api(
        &t,
        Method::POST,
        "/api/v1/products/SHOP/initiatives",
        json!({"title": "One-tap checkout", "goals": [goal], "start": "2026-01-01", "end": "2026-03-31"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let opp = api(
        &t,
        Method::POST,
        "/api/v1/products/SHOP/opportunities",
        json!({"title": "Paying takes too long", "description": "Buyers drop out at the payment form."}),
    )
    .await["id"]
        .clone();
    api(
        &t,
        Method::POST,
        "/api/v1/products/SHOP/feedback",
        json!({"text": "I typed my card number three times", "person": "Ann", "company": "Acme",
            "revenue": 250000, "opportunities": [opp]}),
    )
    .await;
    api(&t, Method::POST, &format!("/api/v1/opportunities/{opp}/promote"), json!({"initiative": ini})).await;
    api(
        &t,
        Method::POST,
        "/api/v1/products/SHOP/items",
        json!({"title": "Save the card", "parent": "SHOP-1", "release": rel}),
    )
    .await;
    api(&t, Method::POST, "/api/v1/items/SHOP-2/criteria", json!({"text": "A saved card pays in one tap"}))
        .await;
    let res = reqwest::Client::new()
        .patch(t.url("/api/v1/items/SHOP-2"))
        .bearer_auth(&team)
        .json(&json!({"estimate": 5}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());

    let b = driver.session().await;
    let shots = Shots::new(&format!("launch-{backend}"));
    b.goto(&t.url(&format!("/signin?next=/releases/{rel}"))).await;
    sign_in(&b, "pm@keel.test", MEMBER_PASSWORD).await;
    b.wait_url_contains(&format!("/releases/{rel}")).await;
    b.wait_css("#launch #launch-items").await;
    b.js("document.getElementById('launch').scrollIntoView(); return true", json!([])).await;
    shots.take(&b, "release-launch").await;

    // Tick "Documentation ready" from the keyboard: focus its box, press Enter.
    let tick = b.wait_css("#launch-item-2 button.lx-box").await;
    b.js("arguments[0].focus(); return true", json!([{ ELEMENT: tick }])).await;
    b.keys(&[ENTER], &[ENTER]).await;
    b.wait_url_contains("notice=").await;
    let l = api_get(&t, &path).await;
    assert_eq!(l["items"][1]["done"], true, "{l}");
    b.wait_css("#launch-item-2 button.lx-box.on").await;

    // A "go" over the open items, acknowledged.
    b.click(&b.wait_css("#launch-decide input[value='go']").await).await;
    b.type_text(&b.wait_css("#launch-decide input[name='note']").await, "Support briefs on launch day").await;
    b.click(&b.wait_css("#launch-decide input[name='acknowledge_open']").await).await;
    b.click(&b.wait_css("#launch-decide button[type=submit]").await).await;
    // The page already carries the tick's notice: wait for the decision's own.
    b.wait_url_contains("notice=Decision").await;
    let l = api_get(&t, &path).await;
    assert_eq!(l["decision"], "go", "{l}");
    assert_eq!(l["decisions"][1]["note"], "Support briefs on launch day");
    let log = b.text(&b.wait_css("#launch-log").await).await;
    assert!(log.contains("Support briefs on launch day") && log.contains("Docs are not ready"), "{log}");
    b.js("document.getElementById('launch').scrollIntoView(); return true", json!([])).await;
    shots.take(&b, "release-launch-decided").await;

    b.goto(&t.url("/products/SHOP/launch-template")).await;
    b.wait_css("#template-form").await;
    shots.take(&b, "template").await;

    // The initiative's PRD: edit the Non-goals section.
    b.goto(&t.url(&format!("/initiatives/{ini}/prd"))).await;
    b.wait_css("#s-problem").await;
    let prd = b.text(&b.wait_css("#prd").await).await;
    assert!(prd.contains("I typed my card number three times"), "{prd}");
    assert!(prd.contains("A saved card pays in one tap"), "{prd}");
    shots.take(&b, "prd").await;
    b.click(&b.wait_css("#s-non_goals summary").await).await;
    let area = b.wait_css("#md-non_goals").await;
    b.clear(&area).await;
    b.type_text(&area, "- No wallets in this release").await;
    b.click(&b.wait_css("#s-non_goals button[value='save']").await).await;
    b.wait_url_contains("notice=").await;
    b.wait_css("#s-non_goals .prd-edited").await;
    let v = api_get(&t, &format!("/api/v1/initiatives/{ini}/prd")).await;
    let ng = v["sections"].as_array().unwrap().iter().find(|s| s["id"] == "non_goals").unwrap().clone();
    assert_eq!(
        (ng["markdown"].as_str(), ng["edited"].as_bool()),
        (Some("- No wallets in this release"), Some(true))
    );
    b.js("document.getElementById('s-non_goals').scrollIntoView(); return true", json!([])).await;
    shots.take(&b, "prd-edited").await;
    b.close().await;
}
