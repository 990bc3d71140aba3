//! The ceremonies in a real browser: a team member adds a retrospective card through the page's
//! form and votes on it (in place, through the page's script), both confirmed against the JSON
//! API; the vote survives a reload. The stand-up and review pages render, and the stand-up fits
//! a phone's width. With `KEEL_SCREENSHOTS=<dir>` it saves screenshots of the three pages.
//!
//! Without chromedriver the test is skipped (a failure under `KEEL_TEST_STRICT=1`).

use keel_app::records::new_record;
use keel_domain::product::Role;
use keel_domain::sprint::{Sprint, Team, TeamMember};
use keel_domain::time::Date;
use keel_store::{WriteCtx, WriteOp, Written};
use keel_testkit::app::MEMBER_PASSWORD;
use keel_testkit::{TestApp, TestDb};
use serde_json::json;

mod support;
use support::browser::*;

/// WebDriver's key code for the right arrow.
const ARROW_RIGHT: &str = "\u{E014}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ceremonies_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ceremonies_postgres() {
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

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (alice, _) = t.member(&shop, "alice@keel.test", &[Role::Team]).await;
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
        start: today.plus_days(-10),
        end: today.plus_days(3),
        capacity: Vec::new(),
        commitment: None,
        summary: None,
    };
    let sprint_id =
        record(&t, new_record(Some(shop.id), Some(team_id), "active", None, &sprint).expect("sprint")).await;

    // Alice holds one item in progress and waits on another.
    let api = |method: reqwest::Method, path: &str, body: serde_json::Value| {
        reqwest::Client::new().request(method, t.url(path)).bearer_auth(&t.admin_token).json(&body).send()
    };
    let mut keys = Vec::new();
    for title in ["Card payment form", "Wallet checkout", "Payment provider contract"] {
        let body = if title.starts_with("Payment") {
            json!({"title": title})
        } else {
            json!({"title": title, "assignee": "alice@keel.test", "sprint": sprint_id})
        };
        let r = api(reqwest::Method::POST, "/api/v1/products/SHOP/items", body).await.expect("create");
        assert_eq!(r.status(), reqwest::StatusCode::CREATED);
        keys.push(
            r.json::<serde_json::Value>().await.expect("item")["key"].as_str().expect("key").to_string(),
        );
    }
    let r =
        api(reqwest::Method::PATCH, &format!("/api/v1/items/{}", keys[0]), json!({"status": "In Progress"}))
            .await
            .expect("move");
    assert!(r.status().is_success());
    let r = api(
        reqwest::Method::POST,
        &format!("/api/v1/items/{}/links", keys[2]),
        json!({"kind": "blocks", "to": keys[1]}),
    )
    .await
    .expect("link");
    assert!(r.status().is_success());

    let b = driver.session().await;
    let shots = Shots::new(&format!("{backend}-ceremonies"));

    // Sign in as a team member, straight to the retrospective.
    let retro = format!("/sprints/{sprint_id}/retro");
    b.goto(&t.url(&format!("/signin?next={retro}"))).await;
    sign_in(&b, "alice@keel.test", MEMBER_PASSWORD).await;
    b.wait_url_ends(&retro).await;
    b.wait_css("#retro-board").await;

    // Add a card in the "went well" column through its form.
    let area = b.wait_css("#add-went_well").await;
    b.type_text(&area, "Pairing on the payment form").await;
    b.click(&b.wait_css("section[data-column='went_well'] form.retro-add button[type=submit]").await).await;
    let card_el = b.wait_css("#cards-went_well li[data-card]").await;
    assert!(b.text(&card_el).await.contains("Pairing on the payment form"));
    let board = api_get(&t, &format!("/api/v1/sprints/{sprint_id}/retro")).await;
    let cards = board["columns"][0]["cards"].as_array().expect("cards").clone();
    assert_eq!(cards.len(), 1, "{board}");
    assert_eq!(cards[0]["text"], "Pairing on the payment form");
    assert_eq!(cards[0]["author_id"], alice.id.0);
    let card = cards[0]["id"].as_i64().expect("id");

    // Vote on it: the script votes in place, without leaving the page.
    let vote = format!("#card-{card} form[data-vote] button");
    b.click(&b.wait_css(&vote).await).await;
    b.wait_js("return document.getElementById('retro-board').dataset.votes === '1'").await;
    assert_eq!(b.text(&b.wait_css(&format!("{vote} [data-count]")).await).await, "1");
    b.wait_url_ends(&retro).await;
    shots.take(&b, "retro").await;
    let board = api_get(&t, &format!("/api/v1/sprints/{sprint_id}/retro")).await;
    assert_eq!(board["columns"][0]["cards"][0]["votes"], 1, "{board}");
    let (s, mine) = {
        let r = reqwest::Client::new()
            .get(t.url(&format!("/api/v1/sprints/{sprint_id}/retro")))
            .bearer_auth(t.app.create_token(&alice, "check").await.expect("token").token)
            .send()
            .await
            .expect("api");
        (r.status(), r.json::<serde_json::Value>().await.expect("json"))
    };
    assert!(s.is_success());
    assert_eq!(mine["columns"][0]["cards"][0]["voted"], true);

    // After a reload the page shows the stored vote.
    b.refresh().await;
    let pressed = b
        .js(
            "var e = document.querySelector(arguments[0]); return e && e.getAttribute('aria-pressed')",
            json!([vote]),
        )
        .await;
    assert_eq!(pressed, json!("true"));

    // The stand-up and the review render; the stand-up fits a phone.
    b.goto(&t.url(&format!("/teams/{team_id}/standup"))).await;
    b.wait_css("#standup section.person").await;
    let moved = b.text(&b.wait_css("[data-section=moved]").await).await;
    assert!(moved.contains(&keys[0]) && moved.contains("In Progress"), "{moved}");
    let held = b.text(&b.wait_css("[data-section=in-progress]").await).await;
    assert!(held.contains(&keys[0]), "{held}");
    let blocked = b.text(&b.wait_css("[data-section=blocked]").await).await;
    assert!(blocked.contains(&keys[1]) && blocked.contains(&keys[2]), "{blocked}");
    shots.take(&b, "standup").await;
    b.click(&b.wait_css("#standup-prev").await).await;
    b.wait_url_contains(&format!("date={}", today.plus_days(-1))).await;
    b.wait_css("#standup section.person").await;
    // The right arrow key pages to the next day.
    b.keys(&[ARROW_RIGHT], &[ARROW_RIGHT]).await;
    b.wait_url_contains(&format!("date={today}")).await;
    b.wait_css("#standup section.person").await;
    b.goto(&t.url(&format!("/teams/{team_id}/standup"))).await;
    b.post("/window/rect", json!({"width": 390, "height": 844})).await;
    b.refresh().await;
    b.wait_css("#standup section.person").await;
    let fits = b.js("return document.documentElement.scrollWidth <= window.innerWidth + 1", json!([])).await;
    assert_eq!(fits, json!(true), "the stand-up fits a phone's width");
    shots.take(&b, "standup-phone").await;
    b.post("/window/rect", json!({"width": 1400, "height": 900})).await;
    let summary = json!({"summary": "We can **take card payments**.\n\n- wallet next", "publish": true});
    let r = api(reqwest::Method::PUT, &format!("/api/v1/sprints/{sprint_id}/review"), summary)
        .await
        .expect("review");
    assert!(r.status().is_success());
    b.goto(&t.url(&format!("/sprints/{sprint_id}/review"))).await;
    let published = b.text(&b.wait_css("#review-published").await).await;
    assert!(published.contains("take card payments"), "{published}");
    assert!(b.text(&b.wait_css("#review-unfinished").await).await.contains(&keys[1]));
    shots.take(&b, "review").await;
    b.close().await;
}
