//! The roadmap in a real browser (headless Chromium through chromedriver), on each backend: the
//! Product Manager drags an initiative from one lane to another (confirmed through the JSON
//! API), moves another with its keyboard-reachable "Move to" button, and the published roadmap
//! is viewed signed out. Skipped without chromedriver (a failure under `KEEL_TEST_STRICT=1`).

use keel_domain::product::Role;
use keel_testkit::app::MEMBER_PASSWORD;
use keel_testkit::{TestApp, TestDb};
use serde_json::{json, Value};

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_roadmap_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_roadmap_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

async fn api(
    t: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = reqwest::Client::new().request(method, t.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let res = r.send().await.expect("api");
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, pm) = t.member(&shop, "pm@keel.test", &[Role::Pm]).await;
    let list = "/api/v1/products/SHOP/initiatives";
    let (s, a) =
        api(&t, &pm, reqwest::Method::POST, list, Some(json!({"title": "Wallets", "lane": "later"}))).await;
    assert_eq!(s, 201, "{a}");
    let body = json!({"title": "Internal codename", "lane": "next", "public": true, "public_title": "Faster checkout"});
    let (s, b2) = api(&t, &pm, reqwest::Method::POST, list, Some(body)).await;
    assert_eq!(s, 201, "{b2}");
    let (wallets, faster) = (a["id"].as_i64().unwrap(), b2["id"].as_i64().unwrap());

    let b = driver.session().await;
    let shots = Shots::new(&format!("roadmap-{backend}"));
    b.goto(&t.url("/signin?next=/products/SHOP/roadmap")).await;
    sign_in(&b, "pm@keel.test", MEMBER_PASSWORD).await;
    b.wait_url_ends("/products/SHOP/roadmap").await;
    let card = b.wait_css(&format!("#initiative-{wallets} .rm-card-head")).await;
    let lane = b.wait_css(".rm-lane[data-lane-drop='now']").await;
    shots.take(&b, "lanes").await;

    // Drag "Wallets" from Later into Now.
    let origin = |e: &str| json!({ ELEMENT: e });
    let actions = json!({ "actions": [{
        "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" },
        "actions": [
            { "type": "pointerMove", "duration": 0, "origin": origin(&card), "x": 0, "y": 0 },
            { "type": "pointerDown", "button": 0 },
            { "type": "pointerMove", "duration": 100, "origin": "pointer", "x": -12, "y": 4 },
            { "type": "pointerMove", "duration": 200, "origin": origin(&lane), "x": 0, "y": 0 },
            { "type": "pointerMove", "duration": 100, "origin": origin(&lane), "x": 2, "y": 6 },
            { "type": "pause", "duration": 100 },
            { "type": "pointerUp", "button": 0 }
        ]
    }]});
    b.post("/actions", actions).await;
    b.delete("/actions").await;
    // The move happens in place: no page load, the card shows in its new lane at once.
    b.wait_js("return document.getElementById('roadmap').dataset.moves === '1'").await;
    b.wait_url_ends("/products/SHOP/roadmap").await;
    let v = api_get(&t, &format!("/api/v1/initiatives/{wallets}")).await;
    assert_eq!(v["lane"], "now", "the server stored the drop");
    b.wait_css(&format!(".rm-lane[data-lane-drop='now'] #initiative-{wallets}")).await;

    // The keyboard and no-script way: the card's "Move to Later" button.
    let button = b.wait_css(&format!("#initiative-{faster} button[value='later']")).await;
    b.js("arguments[0].focus(); return true", json!([{ ELEMENT: button }])).await;
    b.keys(&[ENTER], &[ENTER]).await;
    b.wait_css(&format!(".rm-lane[data-lane-drop='later'] #initiative-{faster}")).await;
    b.wait_js("return document.getElementById('roadmap').dataset.moves === '2'").await;
    let v = api_get(&t, &format!("/api/v1/initiatives/{faster}")).await;
    assert_eq!(v["lane"], "later");
    shots.take(&b, "moved").await;

    // The timeline: a quarter later with the bar's ▶ button, confirmed through the API.
    let (s, v) = api(
        &t,
        &pm,
        reqwest::Method::PATCH,
        &format!("/api/v1/initiatives/{wallets}"),
        Some(json!({"quarter": "2026-Q3"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    b.goto(&t.url("/products/SHOP/roadmap/timeline")).await;
    b.wait_css(&format!(".rm-tbar[data-id='{wallets}']")).await;
    shots.take(&b, "timeline").await;
    b.click(&b.wait_css(&format!(".rm-tbar[data-id='{wallets}'] button[value='1']")).await).await;
    b.wait_url_contains("notice=").await;
    let v = api_get(&t, &format!("/api/v1/initiatives/{wallets}")).await;
    assert_eq!((v["start"].as_str(), v["end"].as_str()), (Some("2026-10-01"), Some("2026-12-31")), "{v}");

    // The details page: confidence and public wording saved from the form.
    b.goto(&t.url(&format!("/products/SHOP/roadmap/initiatives/{wallets}"))).await;
    let conf = b.wait_css("input[name=confidence]").await;
    b.clear(&conf).await;
    b.type_text(&conf, "80").await;
    b.click(&b.wait_css("form.rm-edit button[type=submit]").await).await;
    b.wait_url_contains("notice=").await;
    let v = api_get(&t, &format!("/api/v1/initiatives/{wallets}")).await;
    assert_eq!(v["confidence"], 80, "{v}");
    b.goto(&t.url("/products/SHOP/roadmap")).await;

    // Publish (the button on the page), then view the link signed out.
    b.click(&b.wait_css("form[action='/products/SHOP/roadmap/publish'] button").await).await;
    let link = b.wait_css(".rm-publish a.mono").await;
    let href = b.js("return arguments[0].getAttribute('href')", json!([{ ELEMENT: link }])).await;
    let href = href.as_str().expect("link").to_string();
    assert!(href.starts_with("/roadmaps/"), "{href}");
    b.close().await;

    let anon = driver.session().await;
    anon.goto(&t.url(&href)).await;
    anon.wait_css(".rm-published .rm-card").await;
    let text = anon.js("return document.body.innerText", json!([])).await;
    let text = text.as_str().unwrap_or_default();
    assert!(text.contains("Faster checkout"), "{text}");
    assert!(!text.contains("Wallets") && !text.contains("Internal codename"), "{text}");
    shots.take(&anon, "published").await;
    anon.goto(&t.url("/roadmaps/not-a-token")).await;
    let text = anon.js("return document.body.innerText", json!([])).await;
    assert!(text.as_str().unwrap_or_default().contains("Not found"), "{text}");
    anon.close().await;
}
