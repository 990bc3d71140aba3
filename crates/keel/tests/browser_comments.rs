//! Comments in a real browser (headless Chromium through WebDriver), on each backend: a team
//! member comments with a mention on an item page in one session; the mentioned Product Owner,
//! in another session, sees the unread count in the header, the notification in the Inbox, and
//! opens it. The API confirms each step.
//!
//! Without chromedriver the test is skipped (a failure under `KEEL_TEST_STRICT=1`).

use keel_domain::product::Role;
use keel_testkit::app::MEMBER_PASSWORD;
use keel_testkit::TestDb;
use serde_json::{json, Value};

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    let shop = t.product("SHOP").await;
    t.member(&shop, "dev@keel.test", &[Role::Team]).await;
    let (_, po_token) = t.member(&shop, "olivia@keel.test", &[Role::Po]).await;
    let shots = Shots::new(&format!("comments-{backend}"));
    let r = reqwest::Client::new()
        .post(t.url("/api/v1/products/SHOP/items"))
        .bearer_auth(&t.admin_token)
        .json(&json!({"title": "Saved carts"}))
        .send()
        .await
        .expect("create");
    let key = r.json::<Value>().await.expect("json")["key"].as_str().expect("key").to_string();

    // The developer comments with a mention and some Markdown.
    let dev = driver.session().await;
    dev.goto(&t.url(&format!("/signin?next=/items/{key}"))).await;
    sign_in(&dev, "dev@keel.test", MEMBER_PASSWORD).await;
    dev.wait_url_ends(&format!("/items/{key}")).await;
    let area = dev.wait_css("#comment-body").await;
    dev.type_text(&area, "@olivia can we ship **this** week? <script>window.pwned=1</script>").await;
    dev.click(&dev.wait_css("#comment-submit").await).await;
    dev.wait_url_contains("#comment-").await;
    let strong = dev.text(&dev.wait_css(".comment-body strong").await).await;
    assert_eq!(strong, "this");
    assert_eq!(dev.js("return window.pwned === undefined", json!([])).await, json!(true));
    let watch = dev.text(&dev.wait_css("#watch-btn").await).await;
    assert!(watch.contains("Watching"), "{watch}");
    shots.take(&dev, "thread").await;

    // The Product Owner, elsewhere, sees one unread notification in the header and the Inbox.
    let po = driver.session().await;
    po.goto(&t.url("/signin?next=/")).await;
    sign_in(&po, "olivia@keel.test", MEMBER_PASSWORD).await;
    let count = po.text(&po.wait_css("#inbox-count").await).await;
    assert!(count.starts_with('1'), "{count}");
    po.click(&po.wait_css(".inbox-link").await).await;
    po.wait_url_ends("/inbox").await;
    let row = po.text(&po.wait_css("#inbox-list .inbox-row.unread").await).await;
    assert!(row.contains("mentioned you") && row.contains(&key), "{row}");
    shots.take(&po, "inbox").await;
    let v = api(&t, &po_token, "/api/v1/notifications?unread=true").await;
    assert_eq!(v["unread"], 1);

    // Opening it marks it read and lands on the item's comments.
    po.click(&po.wait_css("#inbox-list .inbox-btn").await).await;
    po.wait_url_ends(&format!("/items/{key}")).await;
    po.wait_css(".comment-body").await;
    assert_eq!(api(&t, &po_token, "/api/v1/notifications?unread=true").await["unread"], 0);
    po.goto(&t.url("/inbox?show=all")).await;
    po.wait_css("#inbox-list .inbox-row:not(.unread)").await;
    dev.close().await;
    po.close().await;
}

async fn api(t: &keel_testkit::TestApp, token: &str, path: &str) -> Value {
    let r = reqwest::Client::new().get(t.url(path)).bearer_auth(token).send().await.expect("get");
    r.json().await.expect("json")
}
