//! The vision board in a real browser (headless Chromium through WebDriver), on each backend:
//! the Product Manager writes the vision, edits it into a second version, compares the two
//! side by side (the changed field highlighted), and sees the statement on the product's home
//! page and the printable card.
//!
//! Without chromedriver the test is skipped (a failure under `KEEL_TEST_STRICT=1`).

use keel_testkit::app::{ADMIN_EMAIL, ADMIN_PASSWORD};
use keel_testkit::TestDb;
use serde_json::json;

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vision_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vision_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

async fn fill(b: &Browser, id: &str, text: &str) {
    let el = b.wait_css(&format!("#{id}")).await;
    b.clear(&el).await;
    b.type_text(&el, text).await;
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    let _ = t.product("SHOP").await;
    let shots = Shots::new(&format!("vision-{backend}"));
    let b = driver.session().await;
    b.goto(&t.url("/signin?next=/products/SHOP/vision")).await;
    sign_in(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.wait_url_ends("/products/SHOP/vision").await;
    b.wait_css(".empty-state").await;
    shots.take(&b, "empty").await;

    // Write the first version.
    fill(&b, "vf-statement", "Checkout in one tap").await;
    fill(&b, "vf-target_group", "Busy shoppers").await;
    fill(&b, "vf-needs", "Pay fast").await;
    fill(&b, "vf-business_goals", "Grow revenue").await;
    b.click(&b.wait_css("#vision-save").await).await;
    b.wait_css("#vision-board").await;
    b.wait_js("return document.body.innerText.includes('Saved as version 1.')").await;

    // Edit it: version 2 changes the needs only.
    fill(&b, "vf-needs", "Pay fast and **safely**").await;
    b.click(&b.wait_css("#vision-save").await).await;
    b.wait_js("return document.body.innerText.includes('Saved as version 2.')").await;
    let rows = b.js("return document.querySelectorAll('.vision-versions tbody tr').length", json!([])).await;
    assert_eq!(rows, json!(2));
    shots.take(&b, "board").await;
    let v = api_get(&t, "/api/v1/products/SHOP/vision").await;
    assert_eq!(
        (&v["version"], &v["current"]["needs"]),
        (&json!(2), &json!("Pay fast and **safely**")),
        "{v}"
    );

    // Compare the two versions: one row highlighted, the needs, each side as saved.
    b.click(&b.wait_css("#cmp-go").await).await;
    b.wait_url_contains("/products/SHOP/vision/compare?a=1&b=2").await;
    b.wait_css("#vision-compare tr.vc-changed").await;
    let changed = b
        .js(
            "return Array.from(document.querySelectorAll('#vision-compare tr.vc-changed th')).map(e => e.innerText)",
            json!([]),
        )
        .await;
    assert_eq!(changed.as_array().map(|a| a.len()), Some(1), "{changed}");
    assert!(changed[0].as_str().unwrap().starts_with("Needs"), "{changed}");
    let cells = b
        .js(
            "return Array.from(document.querySelectorAll('#vision-compare tr.vc-changed td')).map(e => e.innerHTML.trim())",
            json!([]),
        )
        .await;
    assert!(
        cells[0].as_str().unwrap().contains("Pay fast") && !cells[0].as_str().unwrap().contains("safely")
    );
    assert!(cells[1].as_str().unwrap().contains("<strong>safely</strong>"), "{cells}");
    shots.take(&b, "compare").await;

    // The home page shows the current statement; the card prints the whole board.
    b.goto(&t.url("/products/SHOP")).await;
    let stmt = b.text(&b.wait_css("#vision-statement").await).await;
    assert_eq!(stmt, "Checkout in one tap");
    shots.take(&b, "home").await;
    b.goto(&t.url("/products/SHOP/vision/card")).await;
    let card = b.text(&b.wait_css("#vision-card").await).await;
    assert!(card.contains("Business goals") && card.contains("Grow revenue"), "{card}");
    shots.take(&b, "card").await;

    // A KPI: created in the form, one measurement typed in, two imported from CSV; the chart
    // draws the series and the page shows the progress ((46 - 40) / (50 - 40) = 60 %).
    b.goto(&t.url("/products/SHOP/kpis")).await;
    b.wait_css(".empty-state").await;
    fill(&b, "kpi-name", "Checkout conversion").await;
    b.js("document.getElementById('kpi-unit').value = 'percent'", json!([])).await;
    fill(&b, "kpi-baseline", "40").await;
    fill(&b, "kpi-target", "50").await;
    b.click(&b.wait_css("#kpi-create").await).await;
    b.wait_css("#kpi-chart").await;
    assert_eq!(b.text(&b.wait_css("#kpi-progress").await).await, "—");
    b.js("document.getElementById('m-date').value = '2026-01-31'", json!([])).await;
    fill(&b, "m-value", "42").await;
    b.click(&b.wait_css("#measure-form button").await).await;
    b.wait_js("return document.body.innerText.includes('Measurement recorded.')").await;
    fill(&b, "m-csv", "date,value,note\n2026-02-28,44\n2026-03-31,46,launch").await;
    b.click(&b.wait_css("#import-form button").await).await;
    b.wait_js("return document.body.innerText.includes('Imported 2 measurements.')").await;
    assert_eq!(b.text(&b.wait_css("#kpi-progress").await).await, "60 %");
    let dots = b.js("return document.querySelectorAll('#kpi-chart circle').length", json!([])).await;
    assert_eq!(dots, json!(3));
    shots.take(&b, "kpi").await;
    b.goto(&t.url("/products/SHOP/kpis")).await;
    b.wait_css("#kpi-table .kpi-spark").await;
    shots.take(&b, "kpis").await;

    // A goal with a key result tracking the KPI: 60 % on the goals page and the home page.
    b.goto(&t.url("/products/SHOP/goals")).await;
    fill(&b, "goal-title", "Make checkout effortless").await;
    b.click(&b.wait_css("#goal-create").await).await;
    b.wait_css("#goals .goal").await;
    let form = b.wait_css("#goals .goal .kr-add input[name='title']").await;
    b.type_text(&form, "Conversion to 50 %").await;
    b.js("document.querySelector('#goals .goal .kr-add select').selectedIndex = 1", json!([])).await;
    b.click(&b.wait_css("#goals .goal .kr-add button").await).await;
    b.wait_css("#goals .goal-krs tbody tr").await;
    let p = b.text(&b.wait_css("#goals .goal-progress b").await).await;
    assert_eq!(p, "60 %");
    shots.take(&b, "goals").await;
    b.goto(&t.url("/products/SHOP")).await;
    b.wait_js("return document.querySelector('.vision-goal-list').innerText.includes('60 %')").await;
    b.close().await;
}
