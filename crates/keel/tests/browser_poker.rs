//! A planning-poker round in two real browsers at once: a team member and the Product Owner sit
//! in the same room; the team member's vote shows on the PO's page live, and the PO's reveal
//! turns the cards over on both pages, without a reload. Headless Chromium through WebDriver,
//! on each backend; skipped without chromedriver (a failure under `KEEL_TEST_STRICT=1`).

use keel_domain::product::Role;
use keel_testkit::app::{ADMIN_EMAIL, ADMIN_PASSWORD, MEMBER_PASSWORD};
use keel_testkit::TestDb;
use serde_json::json;

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_poker_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_poker_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

/// Marks the page so a reload would be noticed (the mark would be gone).
async fn mark(b: &Browser) {
    b.js("window.__keelNoReload = 'kept'", json!([])).await;
}

async fn still_marked(b: &Browser) -> bool {
    b.js("return window.__keelNoReload === 'kept'", json!([])).await == json!(true)
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    let shop = t.app.create_product(Some(&t.admin), "SHOP", "Shop", "").await.expect("product");
    t.member(&shop, "ann@keel.test", &[Role::Team]).await;
    t.member(&shop, "bob@keel.test", &[Role::Team]).await;
    let item = reqwest::Client::new()
        .post(t.url("/api/v1/products/SHOP/items"))
        .bearer_auth(&t.admin_token)
        .json(&json!({"title": "Pay by card", "as_a": "shopper", "i_want": "to pay by card",
            "so_that": "I need no cash", "criteria": [{"text": "Visa and Mastercard work"}]}))
        .send()
        .await
        .expect("item");
    assert!(item.status().is_success());
    let shots = Shots::new(&format!("{backend}-poker"));

    // The PO (the administrator) opens the room; no round yet, so they open one.
    let po = driver.session().await;
    po.goto(&t.url("/signin?next=/items/SHOP-1/poker")).await;
    sign_in(&po, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    po.wait_url_ends("/items/SHOP-1/poker").await;
    po.click(&po.wait_css("#poker-open").await).await;
    po.wait_js("return document.getElementById('poker-live').dataset.state === 'open'").await;

    // Ann, a team member, joins in her own browser.
    let ann = driver.session().await;
    ann.goto(&t.url("/signin?next=/items/SHOP-1/poker")).await;
    sign_in(&ann, "ann@keel.test", MEMBER_PASSWORD).await;
    ann.wait_url_ends("/items/SHOP-1/poker").await;
    ann.wait_css(".deck [data-card='5']").await;
    for b in [&po, &ann] {
        b.wait_js("return document.getElementById('poker-room').dataset.connected === '1'").await;
        mark(b).await;
    }
    shots.take(&po, "room-open").await;
    let count = "return document.getElementById('poker-live').dataset.voted";
    assert_eq!(po.js(count, json!([])).await, json!("0"));

    // Ann votes: the PO's page shows one vote, live, without the card.
    ann.click(&ann.wait_css(".deck [data-card='5']").await).await;
    ann.wait_js("return !!document.querySelector(\".deck [data-card='5'].mine\")").await;
    shots.take(&ann, "ann-voted").await;
    po.wait_js("return document.getElementById('poker-live').dataset.voted === '1'").await;
    let count_text = po.text(&po.wait_css("#poker-count").await).await;
    assert!(count_text.starts_with("1 of 2"), "{count_text}");
    assert!(
        po.js("return document.querySelectorAll('#poker-seats .pcard.face').length", json!([])).await
            == json!(0),
        "no card shows before the reveal"
    );
    assert!(po.js("return document.body.textContent.includes('played 5')", json!([])).await == json!(false));
    shots.take(&po, "po-sees-a-vote").await;

    // Bob votes through the API; both pages count two.
    let bob_token =
        t.app.create_token(&t.app.user_by_email("bob@keel.test").await.unwrap(), "t").await.unwrap().token;
    let r = reqwest::Client::new()
        .post(t.url("/api/v1/items/SHOP-1/poker/vote"))
        .bearer_auth(&bob_token)
        .json(&json!({"card": "8"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    for b in [&po, &ann] {
        b.wait_js("return document.getElementById('poker-live').dataset.voted === '2'").await;
    }

    // The PO reveals: both pages turn the cards over.
    po.click(&po.wait_css("#poker-reveal").await).await;
    for b in [&po, &ann] {
        b.wait_js("return document.getElementById('poker-live').dataset.state === 'revealed'").await;
        b.wait_js("return document.querySelectorAll('#poker-seats .pcard.face').length === 2").await;
        let faces = b
            .js("return Array.from(document.querySelectorAll('#poker-seats .pcard.face')).map(c => c.textContent.trim()).sort()", json!([]))
            .await;
        assert_eq!(faces, json!(["5", "8"]));
        assert!(still_marked(b).await, "the page was not reloaded");
    }
    assert!(ann.js("return !!document.querySelector('.poker-result')", json!([])).await == json!(true));
    shots.take(&ann, "ann-sees-the-reveal").await;

    // Ann sets the estimate; the PO's page shows the round closed, and the item has it.
    let input = ann.wait_css("#poker-estimate").await;
    ann.clear(&input).await;
    ann.type_text(&input, "8").await;
    ann.click(&ann.wait_css(".estimate-form button[type=submit]").await).await;
    po.wait_js("return document.getElementById('poker-live').dataset.state === 'closed'").await;
    assert!(still_marked(&po).await);
    let item = api_get(&t, "/api/v1/items/SHOP-1").await;
    assert_eq!(item["estimate"].as_f64(), Some(8.0), "{item}");
    shots.take(&po, "closed").await;

    // Ann asks the PO a question from the room; the PO answers it; the log shows the decision.
    ann.type_text(&ann.wait_css("#new-question").await, "Do we take American Express?").await;
    ann.click(&ann.wait_css(".questions-panel form[action='/items/SHOP-1/questions'] button").await).await;
    ann.wait_url_contains("/items/SHOP-1/poker?notice=").await;
    assert!(
        ann.js(
            "return document.querySelector('.questions').textContent.includes('American Express')",
            json!([])
        )
        .await
            == json!(true)
    );
    assert!(
        ann.js("return !!document.querySelector('.q-answer-form')", json!([])).await == json!(false),
        "a team member gets no answer form"
    );
    po.refresh().await;
    let answer = po.wait_css(".q-answer-form input[name=text]").await;
    po.type_text(&answer, "Not in this release.").await;
    po.click(&po.wait_css(".q-answer-form button").await).await;
    po.wait_js("return !!document.querySelector('.question.answered .a-text')").await;
    shots.take(&po, "answered").await;
    po.goto(&t.url("/products/SHOP/decisions?kind=answer")).await;
    let row = po.text(&po.wait_css("#decisions tbody tr").await).await;
    assert!(row.contains("Do we take American Express?") && row.contains("Not in this release."), "{row}");
    assert!(row.contains("SHOP-1"), "{row}");
    shots.take(&po, "decisions").await;

    ann.close().await;
    po.close().await;
}
