//! Comments in a real browser (headless Chromium through WebDriver), on each backend: a team
//! member comments with a mention on an item page in one session; the mentioned Product Owner,
//! in another session, sees the unread count in the header, the notification in the Inbox, and
//! opens it. The API confirms each step. Then the same on the pages of an opportunity and of a
//! piece of feedback, reached from their lists.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_threads_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    discovery(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_threads_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    discovery(&driver, db, "postgres").await;
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

async fn post_json(t: &keel_testkit::TestApp, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new().post(t.url(path)).bearer_auth(&t.admin_token).json(&body).send().await;
    let r = r.expect("post");
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.expect("json")
}

/// Comments with a mention on an opportunity's page and on a piece of feedback's page, each
/// opened from its list; the mentioned member's inbox links back to both pages.
async fn discovery(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, dev_token) = t.member(&shop, "dev@keel.test", &[Role::Team]).await;
    let (_, po_token) = t.member(&shop, "olivia@keel.test", &[Role::Po]).await;
    let shots = Shots::new(&format!("discovery-comments-{backend}"));
    let opp =
        post_json(&t, "/api/v1/products/SHOP/opportunities", json!({"title": "Buyers abandon at sign-up"}))
            .await["id"]
            .as_i64()
            .expect("opportunity");
    let fb = post_json(
        &t,
        "/api/v1/products/SHOP/feedback",
        json!({"text": "Sign-up wants my phone number", "person": "Dana", "opportunities": [opp]}),
    )
    .await["id"]
        .as_i64()
        .expect("feedback");

    // The opportunity's page, from the ranked list: its feedback, then a comment with a mention.
    let dev = driver.session().await;
    dev.goto(&t.url("/signin?next=/products/SHOP/opportunities")).await;
    sign_in(&dev, "dev@keel.test", MEMBER_PASSWORD).await;
    dev.wait_url_ends("/products/SHOP/opportunities").await;
    dev.click(&dev.wait_css(&format!("#opp-{opp} .dc-title a")).await).await;
    dev.wait_url_ends(&format!("/opportunities/{opp}")).await;
    let h1 = dev.text(&dev.wait_css("h1").await).await;
    assert_eq!(h1, "Buyers abandon at sign-up");
    let linked = dev.text(&dev.wait_css("#opp-feedback").await).await;
    assert!(linked.contains("Sign-up wants my phone number"), "{linked}");
    let area = dev.wait_css("#comment-body").await;
    dev.type_text(&area, "@olivia worth a _spike_?").await;
    dev.click(&dev.wait_css("#comment-submit").await).await;
    dev.wait_url_contains(&format!("/opportunities/{opp}")).await;
    dev.wait_url_contains("#comment-").await;
    assert_eq!(dev.text(&dev.wait_css(".comment-body em").await).await, "spike");
    shots.take(&dev, "opportunity").await;

    // The feedback's page, from the opportunity's list of feedback.
    dev.click(&dev.wait_css("#opp-feedback a").await).await;
    dev.wait_url_ends(&format!("/feedback/{fb}")).await;
    let text = dev.text(&dev.wait_css("#fb-text").await).await;
    assert_eq!(text, "Sign-up wants my phone number");
    let opps = dev.text(&dev.wait_css("#fb-opportunities").await).await;
    assert!(opps.contains("Buyers abandon at sign-up"), "{opps}");
    let area = dev.wait_css("#comment-body").await;
    dev.type_text(&area, "Asked @olivia about **phone** numbers").await;
    dev.click(&dev.wait_css("#comment-submit").await).await;
    dev.wait_url_contains(&format!("/feedback/{fb}")).await;
    dev.wait_url_contains("#comment-").await;
    assert_eq!(dev.text(&dev.wait_css(".comment-body strong").await).await, "phone");
    shots.take(&dev, "feedback").await;

    // The mentioned PO's inbox points at both pages; opening one lands on its thread.
    let v = api(&t, &po_token, "/api/v1/notifications?unread=true").await;
    let links: Vec<&str> =
        v["notifications"].as_array().unwrap().iter().filter_map(|n| n["link"].as_str()).collect();
    assert_eq!(links, vec![format!("/feedback/{fb}"), format!("/opportunities/{opp}")], "{v}");
    let po = driver.session().await;
    po.goto(&t.url("/signin?next=/inbox")).await;
    sign_in(&po, "olivia@keel.test", MEMBER_PASSWORD).await;
    po.wait_url_ends("/inbox").await;
    po.click(&po.wait_css("#inbox-list .inbox-btn").await).await;
    po.wait_url_ends(&format!("/feedback/{fb}")).await;
    let body = po.text(&po.wait_css(".comment-body").await).await;
    assert!(body.contains("Asked @olivia about phone numbers"), "{body}");

    // A proposal waits in the PO's inbox and opens on its row of the proposals page, where the
    // PO accepts it; the proposer's inbox then holds the decision.
    for title in ["One", "Two"] {
        post_json(&t, "/api/v1/products/SHOP/items", json!({"title": title})).await;
    }
    let r = reqwest::Client::new()
        .post(t.url("/api/v1/items/SHOP-2/move"))
        .bearer_auth(&dev_token)
        .json(&json!({"top": true, "reason": "customers first"}))
        .send()
        .await
        .expect("move");
    assert_eq!(r.status(), reqwest::StatusCode::ACCEPTED);
    let id = r.json::<Value>().await.expect("json")["id"].as_i64().expect("a proposal");
    po.goto(&t.url("/inbox")).await;
    let row = po.text(&po.wait_css("#inbox-list .inbox-row.unread").await).await;
    assert!(
        row.contains("asks for your decision") && row.contains("dev proposes: Move SHOP-2 to the top"),
        "{row}"
    );
    let count = po.text(&po.wait_css("#inbox-count").await).await;
    assert!(count.starts_with('2'), "the opportunity's mention and the proposal: {count}");
    po.click(&po.wait_css("#inbox-list .inbox-btn").await).await;
    po.wait_url_contains(&format!("/products/SHOP/proposals#proposal-{id}")).await;
    shots.take(&po, "proposal").await;
    po.click(&po.wait_css(&format!("#proposal-{id} .decide button[type=submit]")).await).await;
    po.wait_url_contains("notice=").await;
    dev.goto(&t.url("/inbox")).await;
    let row = dev.text(&dev.wait_css("#inbox-list .inbox-row.unread").await).await;
    assert!(row.contains("olivia accepted your proposal: Move SHOP-2 to the top"), "{row}");
    dev.close().await;
    po.close().await;
}
