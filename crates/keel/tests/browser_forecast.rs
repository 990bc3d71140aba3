//! Forecasts in a real browser (headless Chromium through WebDriver), on each backend: a product
//! with six weeks of done items (on past days, set through the store) and a release with open
//! work; the release page's panel and the Forecast page show the 50 / 85 / 95 % dates and the
//! distribution chart with its data table, matching the API's answer.
//!
//! Without chromedriver the test is skipped (a failure under `KEEL_TEST_STRICT=1`).

use keel_domain::item::ItemPatch;
use keel_domain::product::Role;
use keel_domain::workflow::Category;
use keel_domain::{Date, Timestamp};
use keel_store::{Ref, WriteCtx, WriteOp};
use keel_testkit::app::{ADMIN_EMAIL, ADMIN_PASSWORD};
use keel_testkit::{TestApp, TestDb};
use serde_json::{json, Value};

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forecast_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forecast_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

async fn post(t: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let r =
        reqwest::Client::new().post(t.url(path)).bearer_auth(token).json(&body).send().await.expect("post");
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.expect("json")
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    let product = t.product("SHOP").await;
    let (_, dev) = t.member(&product, "dev@keel.test", &[Role::Po, Role::Team]).await;
    let rel = post(&t, &dev, "/api/v1/products/SHOP/releases", json!({"name": "2.4"})).await["id"]
        .as_i64()
        .unwrap();
    // Six weeks ending yesterday: 0–3 items done on working days, none at weekends.
    let access = t.app.access(&t.admin, "SHOP").await.unwrap();
    let wf = t.app.workflow(&access).await.unwrap();
    let done = wf.states.iter().find(|s| s.category == Category::Done).unwrap().clone();
    let today = Date::of(keel_app::now());
    for d in 1..=42 {
        let day = today.plus_days(-d);
        let n = if day.is_weekend() { 0 } else { (d * 7 % 4) as usize };
        for _ in 0..n {
            let id = post(&t, &dev, "/api/v1/products/SHOP/items", json!({"title": format!("Done {d}")}))
                .await["id"]
                .as_i64()
                .unwrap();
            let op = WriteOp::UpdateItem {
                id: Ref::Id(id),
                expected_version: None,
                patch: ItemPatch { status: Some((done.id, Category::Done)), ..Default::default() },
            };
            let ctx = WriteCtx {
                actor: Some(t.admin.id),
                at: Timestamp(day.start().0 + 36_000_000),
                proposal: None,
            };
            t.app.store().write_batch(vec![op], &ctx).await.unwrap();
        }
    }
    for i in 0..24 {
        post(&t, &dev, "/api/v1/products/SHOP/items", json!({"title": format!("Open {i}"), "release": rel}))
            .await;
    }
    let api = post(
        &t,
        &t.admin_token,
        "/api/v1/forecasts",
        json!({"product": "SHOP", "selection": {"release": rel}, "mode": "throughput", "question": "when"}),
    )
    .await;
    assert_eq!(api["status"], "forecast", "{api}");
    let p85 = api["answers"][1]["date"].as_str().unwrap().to_string();

    let shots = Shots::new(&format!("forecast-{backend}"));
    let b = driver.session().await;
    b.goto(&t.url(&format!("/signin?next=/releases/{rel}"))).await;
    sign_in(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.wait_url_ends(&format!("/releases/{rel}")).await;
    let panel = b.text(&b.wait_css("#release-forecast").await).await;
    assert!(panel.contains("When will release 2.4 be done?"), "{panel}");
    assert!(panel.contains(&p85), "{panel} lacks {p85}");
    shots.take(&b, "release").await;

    b.goto(&t.url(&format!("/products/SHOP/forecast?release={rel}&mode=throughput&question=when"))).await;
    let answers = b.text(&b.wait_css("#forecast-answers").await).await;
    assert!(answers.contains(&p85), "{answers}");
    // The chart: an accessible SVG whose data table holds a row per bar of the API's distribution.
    b.wait_css("#chart-forecast svg[role='img'] title").await;
    let rows =
        b.js("return document.querySelectorAll('#chart-forecast table tbody tr').length", json!([])).await;
    assert_eq!(rows.as_u64(), Some(api["distribution"].as_array().unwrap().len() as u64));
    shots.take(&b, "page").await;

    // Thin history over a window with nothing done.
    b.goto(&t.url(&format!("/products/SHOP/forecast?release={rel}&from=2020-01-01&to=2020-01-31"))).await;
    let thin = b.text(&b.wait_css("#forecast-thin").await).await;
    assert!(thin.contains("Not enough history"), "{thin}");
    // A bad date is shown as an error on the page, not a failure.
    b.goto(&t.url(&format!("/products/SHOP/forecast?release={rel}&question=how_much&date=2020-01-01"))).await;
    let err = b.text(&b.wait_css("#forecast-error").await).await;
    assert!(err.to_lowercase().contains("date"), "{err}");
    b.close().await;
}
