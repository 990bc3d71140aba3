//! Outcomes in a real browser (headless Chromium through chromedriver), on each backend: an
//! initiative's outcomes page with its KPI chart, delivery markers and before/after table; the
//! goal page's "what is being done"; the item page's "Why" panel; the alignment page. Skipped
//! without chromedriver (a failure under `KEEL_TEST_STRICT=1`).

use keel_domain::product::Role;
use keel_domain::Date;
use keel_testkit::app::MEMBER_PASSWORD;
use keel_testkit::{TestApp, TestDb};
use reqwest::Method;
use serde_json::{json, Value};

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_outcomes_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_outcomes_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

async fn api(t: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut r = reqwest::Client::new().request(method, t.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let res = r.send().await.expect("api");
    let s = res.status();
    let v = res.json().await.unwrap_or(Value::Null);
    assert!(s.is_success(), "{path}: {s} {v}");
    v
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, pm) = t.member(&shop, "pm@keel.test", &[Role::Pm]).await;
    let (_, team) = t.member(&shop, "team@keel.test", &[Role::Team]).await;
    let admin = t.admin_token.clone();
    let post = |tok: String, path: String, body: Value| {
        let t = &t;
        async move { api(t, &tok, Method::POST, &path, Some(body)).await }
    };
    api(
        &t,
        &pm,
        Method::PUT,
        "/api/v1/products/SHOP/vision",
        Some(json!({"version": 0, "statement": "Checkout in one tap"})),
    )
    .await;
    let kpi = post(
        pm.clone(),
        "/api/v1/products/SHOP/kpis".into(),
        json!({"name": "Checkout conversion",
        "unit": "percent", "direction": "up", "baseline": 40, "target": 50}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let goal =
        post(pm.clone(), "/api/v1/products/SHOP/goals".into(), json!({"title": "Effortless checkout"})).await
            ["id"]
            .as_i64()
            .unwrap();
    post(
        pm.clone(),
        format!("/api/v1/goals/{goal}/key-results"),
        json!({"title": "Conversion to 50 %", "kpi_id": kpi}),
    )
    .await;
    post(
        admin.clone(),
        "/api/v1/products/SHOP/items".into(),
        json!({"title": "One-tap checkout", "kind": "epic"}),
    )
    .await;
    for (title, parent, pts) in
        [("Guest checkout", Some("SHOP-1"), 5), ("Saved cards", Some("SHOP-1"), 3), ("Dark mode", None, 2)]
    {
        let k = post(
            admin.clone(),
            "/api/v1/products/SHOP/items".into(),
            json!({"title": title, "parent": parent}),
        )
        .await["key"]
            .as_str()
            .unwrap()
            .to_string();
        api(&t, &team, Method::PATCH, &format!("/api/v1/items/{k}"), Some(json!({"estimate": pts}))).await;
    }
    let ini = post(
        pm.clone(),
        "/api/v1/products/SHOP/initiatives".into(),
        json!({"title": "Checkout revamp", "goals": [goal], "epics": ["SHOP-1"], "status": "in_progress"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let rel = post(admin.clone(), "/api/v1/products/SHOP/releases".into(), json!({"name": "2.0"})).await
        ["id"]
        .as_i64()
        .unwrap();
    api(&t, &admin, Method::PATCH, "/api/v1/items/SHOP-2", Some(json!({"release": rel}))).await;
    api(&t, &admin, Method::PUT, "/api/v1/items/SHOP-2/checks", Some(json!({"dod": [1, 2, 3]}))).await;
    api(&t, &admin, Method::PATCH, "/api/v1/items/SHOP-2", Some(json!({"status": "Done"}))).await;
    post(pm.clone(), format!("/api/v1/releases/{rel}/release"), json!({})).await;
    let shipped = api(&t, &pm, Method::GET, &format!("/api/v1/releases/{rel}"), None).await;
    let d = Date::parse("d", &shipped["released_at"].as_str().unwrap()[..10]).unwrap();
    // Weekly measurements: 41-43 before the release, 45-47 after.
    let values = [
        (-49, 41.0),
        (-42, 41.5),
        (-35, 42.0),
        (-28, 41.8),
        (-21, 42.4),
        (-14, 42.9),
        (-7, 43.1),
        (0, 44.6),
        (7, 45.2),
        (14, 46.0),
        (21, 46.4),
    ];
    let ms: Vec<Value> =
        values.iter().map(|(n, v)| json!({"date": d.plus_days(*n).to_string(), "value": v})).collect();
    post(pm.clone(), format!("/api/v1/kpis/{kpi}/measurements"), json!({"measurements": ms})).await;

    let b = driver.session().await;
    let shots = Shots::new(&format!("outcomes-{backend}"));
    b.goto(&t.url(&format!("/signin?next=/initiatives/{ini}/outcomes"))).await;
    sign_in(&b, "pm@keel.test", MEMBER_PASSWORD).await;
    b.wait_url_ends(&format!("/initiatives/{ini}/outcomes")).await;
    b.wait_css(".oc-svg").await;
    // One marker for the release on the chart; the table compares 28 days each side: before
    // -28, -21, -14, -7 → 42.55; after 0, 7, 14, 21 → 45.55; +3.
    let marks = b.js("return document.querySelectorAll('.oc-svg .oc-mark-release').length", json!([])).await;
    assert_eq!(marks, json!(1));
    let row = b.text(&b.wait_css(".oc-compare tbody tr").await).await;
    assert!(
        row.contains("2.0") && row.contains("42.55") && row.contains("45.55") && row.contains("+3"),
        "{row}"
    );
    assert!(b.text(&b.wait_css("#oc-progress").await).await.contains("63 %"));
    let title = b.js("return document.querySelector('.oc-svg title').textContent", json!([])).await;
    assert!(title.as_str().unwrap().contains("Checkout conversion"), "{title}");
    shots.take(&b, "initiative").await;
    b.js("document.getElementById('oc-events').scrollIntoView()", json!([])).await;
    let events = b.text(&b.wait_css("#oc-event-table").await).await;
    assert!(events.contains("Release shipped") && events.contains("2.0"), "{events}");
    shots.take(&b, "initiative-delivery").await;

    b.goto(&t.url(&format!("/goals/{goal}"))).await;
    let doing = b.text(&b.wait_css("#goal-doing-panel").await).await;
    assert!(
        doing.contains("Checkout revamp") && doing.contains("SHOP-1") && doing.contains("Guest checkout"),
        "{doing}"
    );
    shots.take(&b, "goal").await;

    b.goto(&t.url("/items/SHOP-2")).await;
    let why = b.text(&b.wait_css("#why").await).await;
    assert!(
        why.contains("Checkout in one tap")
            && why.contains("Effortless checkout")
            && why.contains("Checkout revamp"),
        "{why}"
    );
    shots.take(&b, "why").await;
    b.goto(&t.url("/items/SHOP-4")).await;
    let why = b.text(&b.wait_css("#why").await).await;
    assert!(why.contains("no epic"), "{why}");

    b.goto(&t.url("/products/SHOP/alignment")).await;
    let share = b.text(&b.wait_css("#al-share").await).await;
    // Open: SHOP-3 (3, aligned) and SHOP-4 (2, no epic): 2 of 5 points.
    assert_eq!(share, "40 %");
    let list = b.text(&b.wait_css("#al-unaligned").await).await;
    assert!(list.contains("SHOP-4") && !list.contains("SHOP-3"), "{list}");
    shots.take(&b, "alignment").await;
    b.close().await;
}
