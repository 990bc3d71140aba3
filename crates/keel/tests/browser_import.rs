//! Settings → Import in a real browser (headless Chromium through WebDriver), on each backend:
//! the Product Owner uploads a Linear export with a status mapping, sees the dry run's report,
//! confirms, and the items are there; a CSV without its column map is refused with a message on
//! the page; a team member is not shown the page.
//!
//! Without chromedriver the test is skipped (a failure under `KEEL_TEST_STRICT=1`).

use keel_domain::product::Role;
use keel_testkit::app::{ADMIN_EMAIL, ADMIN_PASSWORD, MEMBER_PASSWORD};
use keel_testkit::TestDb;
use serde_json::json;
use std::path::Path;

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

fn fixture(dir: &str, name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(dir).join(name).display().to_string()
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    let product = t.product("SHOP").await;
    t.member(&product, "team@keel.test", &[Role::Team]).await;
    let shots = Shots::new(&format!("import-{backend}"));
    let b = driver.session().await;
    b.goto(&t.url("/signin?next=/products/SHOP/settings")).await;
    sign_in(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.wait_url_contains("/products/SHOP/settings").await;
    b.click(&b.wait_css("a[href='/products/SHOP/settings/import']").await).await;
    b.wait_css("#import-upload").await;

    // A CSV without a column map: refused, the message on the page, nothing written.
    b.js("document.getElementById('import-format').value = 'csv'", json!([])).await;
    b.type_text(&b.wait_css("#import-files").await, &fixture("csv", "items.csv")).await;
    b.click(&b.wait_css("#import-upload button[type=submit]").await).await;
    let e = b.wait_css("#import-error").await;
    assert!(b.text(&e).await.contains("column map"), "{}", b.text(&e).await);
    assert_eq!(api_get(&t, "/api/v1/products/SHOP/items").await["items"], json!([]));

    // Linear with the mapping: the dry run's report, then the import.
    b.js("document.getElementById('import-format').value = 'linear'", json!([])).await;
    let mapping = std::fs::read_to_string(fixture("linear", "mapping.toml")).unwrap();
    b.js("document.getElementById('import-mapping').value = arguments[0]", json!([mapping])).await;
    b.type_text(&b.wait_css("#import-files").await, &fixture("linear", "export.csv")).await;
    b.click(&b.wait_css("#import-upload button[type=submit]").await).await;
    let report = b.wait_css("#import-confirm").await;
    let _ = report;
    let items = b.text(&b.wait_css("#report-items").await).await;
    assert!(items.contains("would create 5 items") && items.contains("1 sprints"), "{items}");
    assert_eq!(
        api_get(&t, "/api/v1/products/SHOP/items").await["items"],
        json!([]),
        "a dry run writes nothing"
    );
    shots.take(&b, "report").await;
    b.click(&b.wait_css("#import-confirm button[type=submit]").await).await;
    b.wait_js("return document.getElementById('import-report-h')?.textContent === 'Imported'").await;
    let items = b.text(&b.wait_css("#report-items").await).await;
    assert!(items.contains("created 5 items"), "{items}");
    shots.take(&b, "imported").await;
    let list = api_get(&t, "/api/v1/products/SHOP/items?limit=50").await;
    let list = list["items"].as_array().unwrap();
    assert_eq!(list.len(), 5);
    assert!(list.iter().any(|i| i["labels"][0] == "linear:ENG-1" && i["status"] == "Done"), "{list:?}");
    b.close().await;

    // A team member may not import: the page is refused.
    let b = driver.session().await;
    b.goto(&t.url("/signin?next=/products/SHOP/settings/import")).await;
    sign_in(&b, "team@keel.test", MEMBER_PASSWORD).await;
    b.wait_js("return document.body.innerText.includes('Not allowed') || document.body.innerText.includes('not allowed')").await;
    assert!(b.js("return document.getElementById('import-upload')", json!([])).await.is_null());
    b.close().await;
}
