//! Live updates and in-place changes in a real browser (headless Chromium through chromedriver),
//! on each backend: a product owner has the board, the backlog and an item open while the
//! administrator changes things through the API; the pages follow without a reload (a marker
//! set on `window` survives). An optimistic status change that the server refuses (the page's
//! version went stale) is rolled back with the server's reason shown, then succeeds once the page
//! has caught up. Skipped without chromedriver (a failure under `KEEL_TEST_STRICT=1`).

use keel_app::records::Stored;
use keel_domain::event::ObjectKind;
use keel_domain::product::Role;
use keel_domain::sprint::Team;
use keel_store::RecordFilter;
use keel_testkit::app::MEMBER_PASSWORD;
use keel_testkit::{TestApp, TestDb};
use serde_json::{json, Value};

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_live_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_live_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

async fn api(t: &TestApp, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let res = reqwest::Client::new()
        .request(method, t.url(path))
        .bearer_auth(&t.admin_token)
        .json(&body)
        .send()
        .await
        .expect("api");
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

async fn status_of(t: &TestApp, key: &str) -> String {
    api_get(t, &format!("/api/v1/items/{key}")).await["status"].as_str().unwrap_or_default().to_string()
}

/// Marks the page; a reload would lose the mark.
async fn mark(b: &Browser) {
    b.js("window.__keelMark = 'still here'; return true", json!([])).await;
}

async fn not_reloaded(b: &Browser) {
    let m = b.js("return window.__keelMark || null", json!([])).await;
    assert_eq!(m, json!("still here"), "the page was reloaded");
}

async fn wait_live(b: &Browser) {
    b.wait_js("return document.body.dataset.live === 'open'").await;
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    keel_app::demo::seed(&t.app, Some(&t.admin)).await.expect("demo").expect("fresh database");
    let shop = t.app.product_by_key("SHOP").await.expect("SHOP");
    let (_, _) = t.member(&shop, "live.po@keel.test", &[Role::Po, Role::Team]).await;
    let teams: Vec<Stored<Team>> =
        t.app.list_records::<Team>(RecordFilter::of(ObjectKind::Team).product(shop.id)).await.expect("teams");
    let team = teams.first().expect("the demo has a team").id.0;
    let board = api_get(&t, &format!("/api/v1/teams/{team}/board")).await;
    let card = board["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["column"] == 0)
        .and_then(|c| c["key"].as_str())
        .expect("a card to do")
        .to_string();

    let b = driver.session().await;
    let shots = Shots::new(&format!("live-{backend}"));
    b.goto(&t.url(&format!("/signin?next=/teams/{team}/board"))).await;
    sign_in(&b, "live.po@keel.test", MEMBER_PASSWORD).await;
    b.wait_url_ends(&format!("/teams/{team}/board")).await;
    b.wait_css("#board .bd-card").await;
    wait_live(&b).await;
    mark(&b).await;

    // The board: a card moved by someone else moves on the open page.
    let review_col = 1;
    let column = board["columns"][review_col]["name"].as_str().expect("a second column").to_string();
    let body = json!({ "key": card, "column": column, "reason": "Testing live updates" });
    let (s, v) = api(&t, reqwest::Method::POST, &format!("/api/v1/teams/{team}/board/moves"), body).await;
    assert_eq!(s, 200, "{v}");
    b.wait_js(&format!(
        "return !!document.querySelector(\".bd-cell[data-col='{review_col}'] .bd-card[data-key='{card}']\")"
    ))
    .await;
    b.wait_js(&format!(
        "var n = document.getElementById('live-note'); return !!n && n.textContent.indexOf('{}') >= 0 && n.textContent.indexOf('{card}') >= 0",
        t.admin.name
    ))
    .await;
    not_reloaded(&b).await;
    shots.take(&b, "board-updated").await;

    // The backlog: a new item appears.
    b.goto(&t.url("/products/SHOP/backlog")).await;
    b.wait_css("#backlog-rows tr[data-key]").await;
    wait_live(&b).await;
    mark(&b).await;
    let (s, v) =
        api(&t, reqwest::Method::POST, "/api/v1/products/SHOP/items", json!({"title": "Arrived live"})).await;
    assert_eq!(s, 201, "{v}");
    let new_key = v["key"].as_str().unwrap().to_string();
    // On the first page of the backlog, where the open page shows it.
    let (s, v) =
        api(&t, reqwest::Method::POST, &format!("/api/v1/items/{new_key}/move"), json!({"top": true})).await;
    assert_eq!(s, 200, "{v}");
    b.wait_js(&format!("return !!document.querySelector(\"#backlog-rows tr[data-key='{new_key}']\")")).await;
    not_reloaded(&b).await;

    // The item page: an optimistic status change on a stale page is rolled back with the reason.
    b.goto(&t.url(&format!("/items/{new_key}"))).await;
    b.wait_css("#status-select").await;
    wait_live(&b).await;
    mark(&b).await;
    let before = status_of(&t, &new_key).await;
    let pill_before = b.js("return document.getElementById('status-pill').textContent", json!([])).await;
    // Working in the status control holds live swaps back, so the page's version goes stale.
    b.js("document.getElementById('status-select').focus(); return true", json!([])).await;
    let (s, v) = api(
        &t,
        reqwest::Method::PATCH,
        &format!("/api/v1/items/{new_key}"),
        json!({"title": "Renamed meanwhile"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    b.wait_js("var n = document.getElementById('live-note'); return !!n && n.textContent.indexOf('changed title') >= 0").await;
    let target = if before == "In Progress" { "To Do" } else { "In Progress" };
    b.js(
        "var s = document.getElementById('status-select'); s.value = arguments[0]; s.dispatchEvent(new Event('change', {bubbles: true})); return true",
        json!([target]),
    )
    .await;
    b.wait_js("var t = document.getElementById('toast'); return !t.hidden && t.classList.contains('error')")
        .await;
    let toast = b.js("return document.getElementById('toast').textContent", json!([])).await;
    assert!(
        toast.as_str().unwrap().to_lowercase().contains("version"),
        "the server's reason is shown: {toast}"
    );
    b.wait_js("return !document.getElementById('status-select').hasAttribute('aria-busy')").await;
    let pill = b.js("return document.getElementById('status-pill').textContent", json!([])).await;
    assert_eq!(pill, pill_before, "the pill is rolled back");
    let sel = b.js("return document.getElementById('status-select').value", json!([])).await;
    assert_eq!(sel, json!(before), "the control is rolled back");
    assert_eq!(status_of(&t, &new_key).await, before, "nothing changed on the server");
    shots.take(&b, "item-rolled-back").await;

    // Leaving the control lets the page catch up; the same change then goes through in place.
    b.js("document.getElementById('status-select').blur(); return true", json!([])).await;
    b.wait_js("return document.querySelector('h1.item-title').textContent.indexOf('Renamed meanwhile') >= 0")
        .await;
    b.js(
        "var s = document.getElementById('status-select'); s.value = arguments[0]; s.dispatchEvent(new Event('change', {bubbles: true})); return true",
        json!([target]),
    )
    .await;
    b.wait_js(&format!("return document.getElementById('status-pill').textContent === '{target}' && document.getElementById('toast').textContent.indexOf('is now') >= 0")).await;
    assert_eq!(status_of(&t, &new_key).await, target, "the server stored it");
    not_reloaded(&b).await;
    shots.take(&b, "item-changed").await;

    // The inbox: a mention arrives on the open page, and the header's count with it.
    b.goto(&t.url("/inbox")).await;
    b.wait_css("#inbox-page").await;
    b.wait_js("return document.body.dataset.inbox === 'open'").await;
    mark(&b).await;
    let (s, v) = api(
        &t,
        reqwest::Method::POST,
        &format!("/api/v1/items/{new_key}/comments"),
        json!({"body": "@live.po have a look"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    b.wait_js("var l = document.getElementById('inbox-list'); return !!l && l.textContent.indexOf('have a look') >= 0").await;
    b.wait_js(
        "var c = document.getElementById('inbox-count'); return !!c && c.textContent.indexOf('1') === 0",
    )
    .await;
    not_reloaded(&b).await;
    shots.take(&b, "inbox-updated").await;
    b.close().await;
}
