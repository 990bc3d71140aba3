//! The web UI in a real browser: headless Chromium driven through WebDriver (chromedriver),
//! against the real server on a fresh database of each backend.
//!
//! It signs in through the form, reorders the backlog by dragging with pointer actions and with
//! the keyboard, edits an item through its form, checks an acceptance criterion, and confirms
//! every change against the JSON API after a reload; then a team member's drag must turn into a
//! proposal and leave the order alone. With `KEEL_SCREENSHOTS=<dir>` it saves a screenshot of
//! each main page there.
//!
//! Without chromedriver the test is skipped (a failure under `KEEL_TEST_STRICT=1`).

use keel_domain::product::Role;
use keel_testkit::app::{ADMIN_EMAIL, ADMIN_PASSWORD, MEMBER_PASSWORD};
use keel_testkit::TestDb;
use serde_json::json;

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    keel_app::demo::seed(&t.app, Some(&t.admin)).await.expect("demo").expect("fresh database");
    let shop = t.app.product_by_key("SHOP").await.expect("SHOP");
    t.member(&shop, "team@keel.test", &[Role::Team]).await;
    let b = driver.session().await;
    let shots = Shots::new(backend);

    // Sign in through the form: a wrong password first, then the right one.
    b.goto(&t.url("/signin?next=/products/SHOP/backlog")).await;
    shots.take(&b, "signin").await;
    sign_in(&b, ADMIN_EMAIL, "not-the-password").await;
    let err = b.text(&b.wait_css("#signin-error").await).await;
    assert!(err.contains("Wrong e-mail or password"), "{err}");
    sign_in(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.wait_url_ends("/products/SHOP/backlog").await;
    b.wait_css("#backlog tbody tr[data-key]").await;
    shots.take(&b, "backlog").await;

    // Drag the third row above the first with pointer actions.
    let before = dom_order(&b).await;
    assert!(before.len() >= 6, "the demo backlog has rows: {before:?}");
    drag(&b, &before[2], &before[0]).await;
    b.wait_js("return document.getElementById('backlog').dataset.moves === '1'").await;
    let mut expected = before.clone();
    let moved = expected.remove(2);
    expected.insert(0, moved);
    assert_eq!(dom_order(&b).await[..6], expected[..6], "the page shows the drop");
    assert_eq!(api_order(&t).await[..6], expected[..6], "the server stored the drop");

    // Keyboard: select the fifth row and move it up with Alt+ArrowUp.
    b.js(
        "document.querySelector('#backlog tr[data-key=\"' + arguments[0] + '\"]').focus()",
        json!([expected[4]]),
    )
    .await;
    b.keys(&[ALT, ARROW_UP], &[ARROW_UP, ALT]).await;
    b.wait_js("return document.getElementById('backlog').dataset.moves === '2'").await;
    expected.swap(3, 4);
    assert_eq!(api_order(&t).await[..6], expected[..6], "the keyboard move was stored");
    let opened = expected[3].clone();

    // Enter opens the selected item; edit its title through the form.
    b.keys(&[ENTER], &[ENTER]).await;
    b.wait_url_ends(&format!("/items/{opened}")).await;
    shots.take(&b, "item").await;
    b.click(&b.wait_css("#edit-link").await).await;
    b.wait_url_ends(&format!("/items/{opened}/edit")).await;
    shots.take(&b, "edit").await;
    let title = b.wait_css("#f-title").await;
    b.clear(&title).await;
    b.type_text(&title, "Renamed in the browser test").await;
    b.click(&b.wait_css(".edit-form button[type=submit]").await).await;
    b.wait_url_contains(&format!("/items/{opened}?notice=")).await;

    // Add an acceptance criterion, then tick it (the checkbox submits itself).
    let crit = b.wait_css("#new-crit").await;
    b.type_text(&crit, "Given the browser When the box is ticked Then it stays ticked").await;
    b.click(&b.wait_css("#new-crit + button").await).await;
    b.wait_js("return !!document.querySelector('.criteria li:last-child') && document.querySelector('.criteria li:last-child').textContent.includes('stays ticked')").await;
    let box_ = b.wait_css(".criteria li:last-child input[type=checkbox]").await;
    b.click(&box_).await;
    b.wait_js("return !!document.querySelector('.criteria li:last-child.checked')").await;

    // Reload: the title and the tick are stored, and so is the order.
    b.refresh().await;
    let h1 = b.text(&b.wait_css(".item-title").await).await;
    assert_eq!(h1, "Renamed in the browser test");
    assert!(
        b.js("return !!document.querySelector('.criteria li:last-child.checked input:checked')", json!([]))
            .await
            == json!(true)
    );
    let item = api_get(&t, &format!("/api/v1/items/{opened}")).await;
    assert_eq!(item["title"], "Renamed in the browser test");
    b.goto(&t.url("/products/SHOP/backlog")).await;
    b.wait_css("#backlog tbody tr[data-key]").await;
    assert_eq!(dom_order(&b).await[..6], expected[..6], "the order survives a reload");

    // The other main pages, for the record.
    for (name, path) in [
        ("home", "/"),
        ("proposals", "/products/SHOP/proposals"),
        ("members", "/products/SHOP/members"),
        ("users", "/admin/users"),
        ("tokens", "/settings/tokens"),
    ] {
        b.goto(&t.url(path)).await;
        b.wait_css("main h1").await;
        shots.take(&b, name).await;
    }
    b.goto(&t.url("/items/SHOP-99999")).await;
    assert_eq!(b.text(&b.wait_css("main h1").await).await, "Not found");
    shots.take(&b, "not-found").await;

    // A team member may only propose a new order: the row goes back and a notice says so.
    b.click(&b.wait_css("form[action='/signout'] button").await).await;
    b.wait_url_contains("/signin").await;
    b.goto(&t.url("/signin?next=/products/SHOP/backlog")).await;
    sign_in(&b, "team@keel.test", MEMBER_PASSWORD).await;
    b.wait_url_ends("/products/SHOP/backlog").await;
    let before = dom_order(&b).await;
    drag(&b, &before[2], &before[0]).await;
    b.wait_js("return document.getElementById('backlog').dataset.moves === '1'").await;
    let toast = b.text(&b.wait_css("#toast:not([hidden])").await).await;
    assert!(toast.contains("Proposed"), "{toast}");
    shots.take(&b, "team-proposed").await;
    assert_eq!(dom_order(&b).await, before, "the row went back");
    assert_eq!(api_order(&t).await[..6], before[..6], "the order is unchanged");
    let proposals = api_get(&t, "/api/v1/products/SHOP/proposals?state=pending").await;
    assert!(proposals.to_string().contains(&format!("Move {}", before[2])), "{proposals}");

    b.close().await;
}
