//! The portfolio and the KPI and goal forms in a real browser (headless Chromium through
//! WebDriver), on each backend: the Product Manager edits a KPI's target in its form and sees the
//! chart and the progress follow, is shown a refused target beside its field, edits a goal, and
//! sees every product side by side on the portfolio page (stacked on a narrow window).
//!
//! Without chromedriver the test is skipped (a failure under `KEEL_TEST_STRICT=1`).

use keel_testkit::app::{ADMIN_EMAIL, ADMIN_PASSWORD};
use keel_testkit::{TestApp, TestDb};
use serde_json::{json, Value};

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portfolio_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portfolio_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

async fn send(t: &TestApp, method: reqwest::Method, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .request(method, t.url(path))
        .bearer_auth(&t.admin_token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let s = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(s.is_success(), "{path}: {s} {v}");
    v
}

async fn post(t: &TestApp, path: &str, body: Value) -> Value {
    send(t, reqwest::Method::POST, path, body).await
}

/// Two products with a vision, KPIs, goals, initiatives and releases; returns the conversion
/// KPI's id.
async fn setup(t: &TestApp) -> i64 {
    let _ = t.product("SHOP").await;
    let _ = t.product("CRM").await;
    for (p, statement) in [
        ("SHOP", "For busy shoppers who want to buy in seconds: checkout in one tap."),
        ("CRM", "Every sales team knows its next best call."),
    ] {
        send(
            t,
            reqwest::Method::PUT,
            &format!("/api/v1/products/{p}/vision"),
            json!({"version": 0, "statement": statement, "target_group": "", "needs": "", "product": "",
                "business_goals": ""}),
        )
        .await;
    }
    let conv = post(
        t,
        "/api/v1/products/SHOP/kpis",
        json!({"name": "Checkout conversion", "kind": "adoption", "unit": "percent", "baseline": 40, "target": 50}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    post(
        t,
        &format!("/api/v1/kpis/{conv}/measurements"),
        json!({"measurements": [{"date": "2026-01-31", "value": 41}, {"date": "2026-02-28", "value": 43},
            {"date": "2026-03-31", "value": 44}]}),
    )
    .await;
    let csat = post(
        t,
        "/api/v1/products/CRM/kpis",
        json!({"name": "CSAT", "kind": "csat", "unit": "score", "baseline": 3.5, "target": 4.5}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    post(t, &format!("/api/v1/kpis/{csat}/measurements"), json!({"date": "2026-03-01", "value": 4.2})).await;
    for (p, title, due, kpi) in [
        ("SHOP", "Make checkout effortless", "2026-09-30", Some(conv)),
        ("SHOP", "Open two new markets", "2026-12-31", None),
        ("CRM", "Delight the sales teams", "2026-06-30", Some(csat)),
    ] {
        let g = post(t, &format!("/api/v1/products/{p}/goals"), json!({"title": title, "due": due})).await;
        if let Some(k) = kpi {
            post(
                t,
                &format!("/api/v1/goals/{}/key-results", g["id"]),
                json!({"title": "Tracked", "kpi_id": k}),
            )
            .await;
        }
    }
    for (p, title, lane, status) in [
        ("SHOP", "One-tap checkout", "now", "in_progress"),
        ("SHOP", "Saved wallets", "next", "planned"),
        ("SHOP", "Loyalty points", "later", "proposed"),
        ("CRM", "Call planner", "now", "in_progress"),
        ("CRM", "Mobile app", "later", "proposed"),
    ] {
        post(
            t,
            &format!("/api/v1/products/{p}/initiatives"),
            json!({"title": title, "lane": lane, "status": status}),
        )
        .await;
    }
    post(t, "/api/v1/products/SHOP/releases", json!({"name": "2.4", "target_date": "2026-04-30"})).await;
    post(t, "/api/v1/products/CRM/releases", json!({"name": "1.0", "target_date": "2026-05-15"})).await;
    conv
}

async fn fill(b: &Browser, id: &str, text: &str) {
    let el = b.wait_css(&format!("#{id}")).await;
    b.clear(&el).await;
    b.type_text(&el, text).await;
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    let conv = setup(&t).await;
    let shots = Shots::new(&format!("portfolio-{backend}"));
    let b = driver.session().await;
    b.goto(&t.url(&format!("/signin?next=/kpis/{conv}"))).await;
    sign_in(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.wait_url_ends(&format!("/kpis/{conv}")).await;

    // 44 between 40 and 50 is 40 %; the chart spans baseline to target.
    assert_eq!(b.text(&b.wait_css("#kpi-progress").await).await, "40 %");
    let series = "return document.querySelector('#kpi-chart .kpi-series').getAttribute('points')";
    let before = b.js(series, json!([])).await;

    // A target equal to the baseline is refused beside the field; the form stays open.
    b.click(&b.wait_css("#kpi-edit > summary").await).await;
    fill(&b, "kpi-edit-target", "40").await;
    b.click(&b.wait_css("#kpi-save").await).await;
    let err = b.text(&b.wait_css("#kpi-edit-target-err").await).await;
    assert!(err.contains("Must differ from the baseline"), "{err}");
    let kept = b.js("return document.getElementById('kpi-edit-target').value", json!([])).await;
    assert_eq!(kept, json!("40"));
    shots.take(&b, "kpi-error").await;

    // Target 46: (44 - 40) / (46 - 40) = 67 %; the chart is drawn to the new scale (the
    // series climbs nearer the target line).
    fill(&b, "kpi-edit-target", "46").await;
    b.click(&b.wait_css("#kpi-save").await).await;
    b.wait_js("return document.body.innerText.includes('KPI saved.')").await;
    assert_eq!(b.text(&b.wait_css("#kpi-progress").await).await, "67 %");
    let after = b.js(series, json!([])).await;
    assert_ne!(before, after, "the series is drawn to the new target");
    let label = b.js("return document.querySelector('#kpi-chart .kpi-lbl').textContent", json!([])).await;
    assert_eq!(label, json!("target 46"));
    let k = api_get(&t, &format!("/api/v1/kpis/{conv}")).await;
    assert_eq!(k["target"], json!(46.0), "{k}");
    assert!((k["progress"].as_f64().unwrap() - 200.0 / 3.0).abs() < 1e-9, "{k}");
    shots.take(&b, "kpi").await;

    // A CSV file chosen in the import form is read into the text area and imported: 45 is
    // (45 - 40) / (46 - 40) = 83 %.
    let file = std::env::temp_dir().join(format!("keel-import-{backend}-{}.csv", std::process::id()));
    std::fs::write(&file, "date,value,note\n2026-04-30,45,April\n").expect("csv file");
    b.type_text(&b.wait_css("#m-file").await, &file.display().to_string()).await;
    b.wait_js("return document.getElementById('m-csv').value.includes('2026-04-30,45,April')").await;
    b.click(&b.wait_css("#import-form button").await).await;
    b.wait_js("return document.body.innerText.includes('Imported 1 measurements.')").await;
    let _ = std::fs::remove_file(&file);
    assert_eq!(b.text(&b.wait_css("#kpi-progress").await).await, "83 %");

    // A goal edited in place: new title and an owner.
    b.goto(&t.url("/products/SHOP/goals")).await;
    b.click(&b.wait_css("#goals .goal details.goal-edit > summary").await).await;
    let gid = b.js("return document.querySelector('#goals .goal').dataset.goal", json!([])).await;
    let gid = gid.as_str().unwrap().to_string();
    fill(&b, &format!("goal-{gid}-title"), "Make checkout effortless everywhere").await;
    b.js(&format!("document.getElementById('goal-{gid}-owner').selectedIndex = 1"), json!([])).await;
    shots.take(&b, "goal-edit").await;
    b.click(&b.wait_css("#goals .goal details.goal-edit button[type=submit]").await).await;
    b.wait_js("return document.body.innerText.includes('Goal saved.')").await;
    let g = api_get(&t, &format!("/api/v1/goals/{gid}")).await;
    assert_eq!(
        (&g["title"], &g["owner"]),
        (&json!("Make checkout effortless everywhere"), &json!(t.admin.id.0)),
        "{g}"
    );
    assert!(b.text(&b.wait_css("#goals .goal .goal-head").await).await.contains("owner"));
    shots.take(&b, "goals").await;

    // The portfolio: both products side by side, each with its vision, goals and lanes.
    b.goto(&t.url("/")).await;
    b.click(&b.wait_css("#portfolio-link").await).await;
    b.wait_url_ends("/portfolio").await;
    b.wait_css("#portfolio .pf-col").await;
    let cols = b
        .js(
            "return Array.from(document.querySelectorAll('#portfolio .pf-col')).map(c => [c.dataset.product, Math.round(c.getBoundingClientRect().top)])",
            json!([]),
        )
        .await;
    let cols = cols.as_array().unwrap().clone();
    assert_eq!(cols.iter().map(|c| c[0].clone()).collect::<Vec<_>>(), vec![json!("CRM"), json!("SHOP")]);
    assert_eq!(cols[0][1], cols[1][1], "side by side on a wide window: {cols:?}");
    let shop = b.text(&b.wait_css("#portfolio .pf-col[data-product=SHOP]").await).await;
    assert!(
        shop.contains("checkout in one tap") && shop.contains("83 %") && shop.contains("Saved wallets"),
        "{shop}"
    );
    assert!(shop.contains("2.4") && shop.contains("target 2026-04-30"), "{shop}");
    let crm = b.text(&b.wait_css("#portfolio .pf-col[data-product=CRM]").await).await;
    // CSAT 3.5 → 4.5 at 4.2: 70 %.
    assert!(crm.contains("70 %") && crm.contains("Call planner") && crm.contains("Mobile app"), "{crm}");
    shots.take(&b, "wide").await;

    // On a narrow window the columns stack.
    b.post("/window/rect", json!({"width": 560, "height": 1000})).await;
    b.refresh().await;
    b.wait_css("#portfolio .pf-col").await;
    let tops = b
        .js(
            "return Array.from(document.querySelectorAll('#portfolio .pf-col')).map(c => Math.round(c.getBoundingClientRect().top))",
            json!([]),
        )
        .await;
    assert!(tops[1].as_i64().unwrap() > tops[0].as_i64().unwrap(), "stacked: {tops}");
    shots.take(&b, "narrow").await;
    b.close().await;
}
