//! The Reports page and the sprint page's burndown in a real browser (headless Chromium through
//! WebDriver), on each backend, over the demo: every chart is an accessible SVG with its data
//! table, the filters apply, and the figures behind a chart match the API's.
//!
//! Without chromedriver the test is skipped (a failure under `KEEL_TEST_STRICT=1`).

use keel_testkit::app::{ADMIN_EMAIL, ADMIN_PASSWORD};
use keel_testkit::TestDb;
use serde_json::json;

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    keel_app::demo::seed(&t.app, Some(&t.admin)).await.expect("demo").expect("fresh database");
    let shots = Shots::new(&format!("metrics-{backend}"));
    let b = driver.session().await;
    b.goto(&t.url("/signin?next=/products/SHOP/reports")).await;
    sign_in(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.wait_url_contains("/products/SHOP/reports").await;
    b.wait_css("#chart-cfd svg[role='img']").await;
    // Every chart: an SVG with a title and description, and a data table behind it.
    for id in ["velocity", "throughput", "cfd", "cycle-time", "cycle-distribution", "bug-trend"] {
        let ok = b
            .js(
                "const f = document.getElementById('chart-' + arguments[0]);
                 return !!f && !!f.querySelector('svg[role=img] > title') && !!f.querySelector('svg > desc')
                     && !!f.querySelector('details.chart-data table thead th');",
                json!([id]),
            )
            .await;
        assert_eq!(ok, json!(true), "chart {id}");
    }
    assert_eq!(
        b.js("return !!document.querySelector('nav a[aria-current=page][href$=\"/reports\"]')", json!([]))
            .await,
        json!(true)
    );
    // The cycle-time table lists the same items as the API for the same period.
    let from = b.js("return document.querySelector('input[name=from]').value", json!([])).await;
    let to = b.js("return document.querySelector('input[name=to]').value", json!([])).await;
    let api = api_get(
        &t,
        &format!(
            "/api/v1/products/SHOP/cycle-time?from={}&to={}",
            from.as_str().unwrap(),
            to.as_str().unwrap()
        ),
    )
    .await;
    let rows = b.js("return document.querySelectorAll('#chart-cycle-time tbody tr').length", json!([])).await;
    assert_eq!(rows.as_u64(), api["count"].as_u64());
    assert!(api["count"].as_u64().unwrap() > 0, "the demo has finished items");
    shots.take(&b, "reports").await;
    b.js("document.getElementById('chart-cfd').scrollIntoView()", json!([])).await;
    shots.take(&b, "reports-flow").await;
    b.js("document.getElementById('chart-bug-trend').scrollIntoView()", json!([])).await;
    shots.take(&b, "reports-bugs").await;
    b.js("window.scrollTo(0, 0)", json!([])).await;

    // Open a data table: its rows are there to read.
    b.js("document.querySelector('#chart-velocity details').open = true", json!([])).await;
    let sprints =
        b.js("return document.querySelectorAll('#chart-velocity tbody tr').length", json!([])).await;
    assert!(sprints.as_u64().unwrap() >= 1);

    // The team filter applies through the form.
    let team = api_get(&t, "/api/v1/products/SHOP/teams").await[0]["id"].as_i64().unwrap();
    b.js("document.querySelector('select[name=team]').value = String(arguments[0]); document.querySelector('.rp-filters').submit()", json!([team])).await;
    b.wait_url_contains(&format!("team={team}")).await;
    b.wait_css("#chart-cfd svg").await;

    // The active sprint's page: burndown and burnup.
    let sprints = api_get(&t, &format!("/api/v1/teams/{team}/sprints")).await;
    let active =
        sprints.as_array().unwrap().iter().find(|s| s["state"] == "active").expect("an active sprint")["id"]
            .as_i64()
            .unwrap();
    b.goto(&t.url(&format!("/sprints/{active}"))).await;
    b.wait_css("#chart-burndown svg[role='img']").await;
    b.wait_css("#chart-burnup details.chart-data table").await;
    shots.take(&b, "sprint").await;
    b.close().await;
}
