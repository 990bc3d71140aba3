//! In-place changes in a real browser: a retrospective vote, an acceptance criterion ticked,
//! watching an item, taking an item out of a sprint (on the sprint's page and on its plan) and
//! reading notifications all change the page without loading another one (a marker set on
//! `window` survives each), and the server holds each change. A vote the server refuses (the
//! voter was made a stakeholder after the page was drawn: 403) is put back, with the server's
//! own reason shown.
//!
//! Without chromedriver the test is skipped (a failure under `KEEL_TEST_STRICT=1`).

use keel_app::records::new_record;
use keel_domain::product::Role;
use keel_domain::sprint::{Sprint, Team, TeamMember};
use keel_domain::time::Date;
use keel_store::{WriteCtx, WriteOp, Written};
use keel_testkit::app::MEMBER_PASSWORD;
use keel_testkit::{TestApp, TestDb};
use reqwest::Method;
use serde_json::{json, Value};

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inplace_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inplace_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

async fn record(t: &TestApp, op: keel_store::NewRecord) -> i64 {
    let ctx = WriteCtx { actor: Some(t.admin.id), at: keel_app::now(), proposal: None };
    match t.app.store().write_batch(vec![WriteOp::CreateRecord(op)], &ctx).await.expect("record").remove(0) {
        Written::Record(r) => r.id.0,
        other => panic!("not a record: {other:?}"),
    }
}

async fn call(t: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = reqwest::Client::new().request(method, t.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.expect("api");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Marks the page; a navigation or reload would lose the mark.
async fn mark(b: &Browser) {
    b.js("window.__inplace = 'same page'; return true", json!([])).await;
}

async fn still_marked(b: &Browser, what: &str) {
    let m = b.js("return window.__inplace || null", json!([])).await;
    assert_eq!(m, json!("same page"), "{what} loaded another page");
}

/// The unread count in the header (0 when it shows none).
async fn header_count(b: &Browser) -> Value {
    b.js(
        "var c = document.getElementById('inbox-count'); return c ? parseInt(c.textContent, 10) : 0",
        json!([]),
    )
    .await
}

/// Waits until every in-place change of the page has had the server's answer.
async fn settled(b: &Browser, done: u32) {
    b.wait_js(&format!(
        "var d = document.documentElement.dataset; return d.inplacePending === '0' && d.inplaceDone === '{done}'"
    ))
    .await;
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (alice, alice_token) = t.member(&shop, "alice@keel.test", &[Role::Team, Role::Po]).await;
    let team = Team {
        name: "Core".into(),
        products: vec![shop.id],
        members: vec![TeamMember { user_id: alice.id, points: None, days: None }],
        board: Default::default(),
    };
    let team_id = record(&t, new_record(Some(shop.id), None, "", None, &team).expect("team")).await;
    let today = Date::of(keel_app::now());
    let sprint = Sprint {
        name: "Sprint 7".into(),
        goal: "Pay by card".into(),
        start: today.plus_days(-3),
        end: today.plus_days(10),
        capacity: Vec::new(),
        commitment: None,
        summary: None,
    };
    let sprint_id =
        record(&t, new_record(Some(shop.id), Some(team_id), "active", None, &sprint).expect("sprint")).await;
    let admin = t.admin_token.clone();
    let mut keys = Vec::new();
    for title in ["Card payment form", "Wallet checkout", "Refund e-mail"] {
        let (s, v) = call(
            &t,
            &admin,
            Method::POST,
            "/api/v1/products/SHOP/items",
            Some(json!({"title": title, "sprint": sprint_id})),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        keys.push(v["key"].as_str().expect("key").to_string());
    }
    let (s, v) = call(
        &t,
        &admin,
        Method::POST,
        &format!("/api/v1/items/{}/criteria", keys[0]),
        Some(json!({"text": "Given a saved card, when I pay, then no card form shows"})),
    )
    .await;
    assert!(s == 200 || s == 201, "{v}");
    let (s, v) = call(
        &t,
        &alice_token,
        Method::POST,
        &format!("/api/v1/sprints/{sprint_id}/retro/cards"),
        Some(json!({"column": "went_well", "text": "Pairing on the payment form"})),
    )
    .await;
    assert!(s == 200 || s == 201, "{v}");
    let card = v["id"].as_i64().expect("card id");

    let b = driver.session().await;
    let shots = Shots::new(&format!("{backend}-inplace"));
    let retro = format!("/sprints/{sprint_id}/retro");
    b.goto(&t.url(&format!("/signin?next={retro}"))).await;
    sign_in(&b, "alice@keel.test", MEMBER_PASSWORD).await;
    b.wait_url_ends(&retro).await;

    // ---- A retrospective vote, in place --------------------------------------------------
    let vote = format!("#card-{card} form[data-vote] button");
    mark(&b).await;
    b.click(&b.wait_css(&vote).await).await;
    b.wait_js("return document.getElementById('retro-board').dataset.votes === '1'").await;
    assert_eq!(b.text(&b.wait_css(&format!("{vote} [data-count]")).await).await, "1");
    still_marked(&b, "a retrospective vote").await;
    let board = api_get(&t, &format!("/api/v1/sprints/{sprint_id}/retro")).await;
    assert_eq!(board["columns"][0]["cards"][0]["votes"], 1, "{board}");

    // ---- Refused: Alice is made a stakeholder while her page is open ---------------------
    let (s, v) = call(
        &t,
        &admin,
        Method::PUT,
        &format!("/api/v1/products/SHOP/members/{}", alice.id.0),
        Some(json!({"roles": ["stakeholder"]})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // The server's reason for the same request, to compare with what the page shows.
    let (s, problem) =
        call(&t, &alice_token, Method::POST, &format!("/api/v1/retro-cards/{card}/vote"), None).await;
    assert_eq!(s, 403, "{problem}");
    let reason = problem["detail"].as_str().or(problem["title"].as_str()).expect("a reason").to_string();
    b.click(&b.wait_css(&vote).await).await;
    b.wait_js("return document.getElementById('retro-board').dataset.refused === '1'").await;
    // Rolled back: still one vote, still hers.
    assert_eq!(b.text(&b.wait_css(&format!("{vote} [data-count]")).await).await, "1");
    let pressed =
        b.js("return document.querySelector(arguments[0]).getAttribute('aria-pressed')", json!([vote])).await;
    assert_eq!(pressed, json!("true"), "the refused vote is put back");
    let toast = b.text(&b.wait_css("#toast.error:not([hidden])").await).await;
    assert_eq!(toast, reason, "the page shows the server's reason");
    shots.take(&b, "retro-refused").await;
    still_marked(&b, "a refused vote").await;
    let board = api_get(&t, &format!("/api/v1/sprints/{sprint_id}/retro")).await;
    assert_eq!(board["columns"][0]["cards"][0]["votes"], 1, "{board}");
    let (s, v) = call(
        &t,
        &admin,
        Method::PUT,
        &format!("/api/v1/products/SHOP/members/{}", alice.id.0),
        Some(json!({"roles": ["team", "po"]})),
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // ---- The item page: tick a criterion, watch the item ---------------------------------
    b.goto(&t.url(&format!("/items/{}", keys[0]))).await;
    b.wait_css("#edit-link").await;
    mark(&b).await;
    b.click(&b.wait_css("input[data-criterion]").await).await;
    b.wait_js("return !!document.querySelector('li.checked input[data-criterion]:checked')").await;
    settled(&b, 1).await;
    assert_eq!(b.text(&b.wait_css("#ac-count").await).await, "1 of 1 checked");
    let item = api_get(&t, &format!("/api/v1/items/{}", keys[0])).await;
    let crit = api_get(&t, &format!("/api/v1/items/{}/criteria", keys[0])).await;
    assert_eq!(crit[0]["checked"], true, "{crit} {item}");

    let watch = b.wait_css("#watch-btn[aria-pressed='false']").await;
    b.click(&watch).await;
    b.wait_css("#watch-btn[aria-pressed='true']").await;
    settled(&b, 2).await;
    let (s, w) = call(&t, &alice_token, Method::GET, &format!("/api/v1/items/{}/watch", keys[0]), None).await;
    assert_eq!((s, w["watching"].clone()), (200, json!(true)), "{w}");
    shots.take(&b, "item").await;
    still_marked(&b, "a tick and a watch").await;
    // The tick's answer carried the item's new version to every form of the page.
    let item = api_get(&t, &format!("/api/v1/items/{}", keys[0])).await;
    let page_version = b
        .js("return parseInt(document.querySelector('input[data-item-version]').value, 10)", json!([]))
        .await;
    assert_eq!(page_version, item["version"], "the page builds on the item's version");

    // ---- A tick based on a version someone else has since changed: refused, rolled back ------
    let (s, v) = call(
        &t,
        &admin,
        Method::POST,
        &format!("/api/v1/items/{}/criteria", keys[0]),
        Some(json!({"text": "A declined card says why"})),
    )
    .await;
    assert!(s == 200 || s == 201, "{v}");
    // The live update draws the new criterion (and the version that came with it).
    b.wait_js("return document.querySelectorAll('input[data-criterion]').length === 2").await;
    let item = api_get(&t, &format!("/api/v1/items/{}", keys[0])).await;
    let now = item["version"].as_i64().expect("version");
    b.wait_js(&format!("return document.querySelector('input[data-item-version]').value === '{now}'")).await;
    // As if the page had been drawn before that change.
    b.js(
        &format!(
            "document.querySelectorAll('input[data-item-version]').forEach(function (i) {{ i.value = '{}'; }}); return true",
            now - 1
        ),
        json!([]),
    )
    .await;
    b.click(&b.wait_css("li:not(.checked) input[data-criterion]").await).await;
    settled(&b, 3).await;
    assert_eq!(b.js("return document.documentElement.dataset.inplaceLast", json!([])).await, json!("refused"));
    b.wait_js("var t = document.getElementById('toast'); return !!t && !t.hidden && /changed/i.test(t.textContent)")
        .await;
    // The page is drawn again as it now is; the box is back, unticked, and nothing was stored.
    b.wait_js(&format!("return document.querySelector('input[data-item-version]').value === '{now}'")).await;
    assert_eq!(b.text(&b.wait_css("#ac-count").await).await, "1 of 2 checked");
    let crit = api_get(&t, &format!("/api/v1/items/{}/criteria", keys[0])).await;
    assert_eq!(crit.as_array().map(|c| c.iter().filter(|c| c["checked"] == true).count()), Some(1), "{crit}");
    // The same tick again, now on the current version, lands.
    b.click(&b.wait_css("li:not(.checked) input[data-criterion]").await).await;
    settled(&b, 4).await;
    assert_eq!(b.js("return document.documentElement.dataset.inplaceLast", json!([])).await, json!("ok"));
    let crit = api_get(&t, &format!("/api/v1/items/{}/criteria", keys[0])).await;
    assert_eq!(crit.as_array().map(|c| c.iter().filter(|c| c["checked"] == true).count()), Some(2), "{crit}");
    still_marked(&b, "a refused tick and its retry").await;

    // ---- A sprint's page: take an item out ------------------------------------------------
    b.goto(&t.url(&format!("/sprints/{sprint_id}"))).await;
    b.wait_css(&format!("tr[data-row-key='{}']", keys[2])).await;
    mark(&b).await;
    b.click(&b.wait_css(&format!("tr[data-row-key='{}'] form[data-inplace] button", keys[2])).await).await;
    b.wait_js(&format!("return !document.querySelector(\"tr[data-row-key='{}']\")", keys[2])).await;
    settled(&b, 1).await;
    assert_eq!(b.text(&b.wait_css("#sp-item-count").await).await, "2");
    let item = api_get(&t, &format!("/api/v1/items/{}", keys[2])).await;
    assert!(item["sprint_id"].is_null(), "{item}");
    still_marked(&b, "a removal on the sprint's page").await;

    // ---- The sprint plan: "← Back" ---------------------------------------------------------
    b.goto(&t.url(&format!("/sprints/{sprint_id}/plan"))).await;
    let row = format!("#plan-sprint tr[data-key='{}']", keys[1]);
    b.wait_css(&row).await;
    mark(&b).await;
    b.click(&b.wait_css(&format!("{row} form[data-plan-form] button")).await).await;
    b.wait_css(&format!("#plan-backlog tr[data-key='{}']", keys[1])).await;
    b.wait_js("var p = document.getElementById('plan'); return p.dataset.moves === '1' && !p.hasAttribute('aria-busy')")
        .await;
    let item = api_get(&t, &format!("/api/v1/items/{}", keys[1])).await;
    assert!(item["sprint_id"].is_null(), "{item}");
    still_marked(&b, "a removal on the sprint plan").await;

    // ---- The inbox: read one, then the rest; the header's count follows -------------------
    for text in ["@alice the card form needs a look", "@alice and the wallet flow too", "@alice one more"] {
        let (s, v) = call(
            &t,
            &admin,
            Method::POST,
            &format!("/api/v1/items/{}/comments", keys[1]),
            Some(json!({ "body": text })),
        )
        .await;
        assert_eq!(s, 201, "{v}");
    }
    b.goto(&t.url("/inbox")).await;
    b.wait_css("#inbox-list li.unread").await;
    assert_eq!(header_count(&b).await, json!(3));
    mark(&b).await;
    b.click(&b.wait_css("#inbox-list li.unread form[data-inplace=read] button").await).await;
    b.wait_js(
        "var c = document.getElementById('inbox-count'); return !!c && parseInt(c.textContent, 10) === 2",
    )
    .await;
    settled(&b, 1).await;
    let (s, list) = call(&t, &alice_token, Method::GET, "/api/v1/notifications", None).await;
    assert_eq!((s, list["unread"].clone()), (200, json!(2)), "{list}");
    b.click(&b.wait_css("#read-all").await).await;
    b.wait_js("return !document.getElementById('inbox-count')").await;
    settled(&b, 2).await;
    let (_, list) = call(&t, &alice_token, Method::GET, "/api/v1/notifications", None).await;
    assert_eq!(list["unread"], 0, "{list}");
    shots.take(&b, "inbox-read").await;
    still_marked(&b, "reading the inbox").await;
    b.close().await;
}
