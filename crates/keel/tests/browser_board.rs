//! The team board in a real browser (headless Chromium through chromedriver), on each backend:
//! a card dragged with pointer actions into another column, then into a column at its WIP limit,
//! where the reason dialog asks why; a card moved with the keyboard; every move confirmed through
//! the JSON API. Skipped without chromedriver (a failure under `KEEL_TEST_STRICT=1`).

use keel_app::records::Stored;
use keel_domain::event::ObjectKind;
use keel_domain::sprint::Team;
use keel_store::RecordFilter;
use keel_testkit::app::{ADMIN_EMAIL, ADMIN_PASSWORD};
use keel_testkit::{TestApp, TestDb};
use serde_json::{json, Value};

mod support;
use support::browser::*;

const SHIFT: &str = "\u{E008}";
const ARROW_RIGHT: &str = "\u{E014}";
const ARROW_LEFT: &str = "\u{E012}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_board_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_board_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

async fn api(t: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = reqwest::Client::new().request(method, t.url(path)).bearer_auth(&t.admin_token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let res = r.send().await.expect("api");
    let s = res.status().as_u16();
    (s, res.json().await.unwrap_or(Value::Null))
}

/// Drags the card `key` by pointer actions into the first lane's cell of column `col`.
async fn drag_card(b: &Browser, key: &str, col: usize) {
    let card = b.wait_css(&format!(".bd-card[data-key='{key}'] .bd-card-top")).await;
    let cell = b.wait_css(&format!(".bd-lane .bd-cell[data-col='{col}']")).await;
    let origin = |e: &str| json!({ ELEMENT: e });
    let actions = json!({ "actions": [{
        "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" },
        "actions": [
            { "type": "pointerMove", "duration": 0, "origin": origin(&card), "x": 0, "y": 0 },
            { "type": "pointerDown", "button": 0 },
            { "type": "pointerMove", "duration": 100, "origin": "pointer", "x": 12, "y": 4 },
            { "type": "pointerMove", "duration": 200, "origin": origin(&cell), "x": 0, "y": 0 },
            { "type": "pointerMove", "duration": 100, "origin": origin(&cell), "x": 2, "y": 6 },
            { "type": "pause", "duration": 100 },
            { "type": "pointerUp", "button": 0 }
        ]
    }]});
    b.post("/actions", actions).await;
    b.delete("/actions").await;
}

async fn status_of(t: &TestApp, key: &str) -> String {
    let v = api_get(t, &format!("/api/v1/items/{key}")).await;
    v["status"].as_str().unwrap_or_default().to_string()
}

fn column_keys(board: &Value, col: usize) -> Vec<String> {
    board["cards"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["column"] == col)
        .map(|c| c["key"].as_str().unwrap().to_string())
        .collect()
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    keel_app::demo::seed(&t.app, Some(&t.admin)).await.expect("demo").expect("fresh database");
    let shop = t.app.product_by_key("SHOP").await.expect("SHOP");
    let teams: Vec<Stored<Team>> =
        t.app.list_records::<Team>(RecordFilter::of(ObjectKind::Team).product(shop.id)).await.expect("teams");
    let team = teams.first().expect("the demo has a team").id.0;
    let board_path = format!("/api/v1/teams/{team}/board");

    // Lay the board out with a WIP limit on "Doing" that its cards already fill.
    let mut board = api_get(&t, &board_path).await;
    let in_progress = column_keys(&board, 1);
    let todo = column_keys(&board, 0);
    assert!(todo.len() >= 3, "the demo sprint has cards to do: {board}");
    let limit = in_progress.len().max(1);
    let layout = json!({ "columns": [
        { "name": "To Do", "states": ["To Do"] },
        { "name": "Doing", "states": ["In Progress"], "wip": limit },
        { "name": "Review", "states": ["In Review"] },
        { "name": "Done", "states": ["Done"] }
    ]});
    let (s, v) = api(&t, reqwest::Method::PUT, &board_path, Some(layout)).await;
    assert_eq!(s, 200, "{v}");
    if in_progress.is_empty() {
        let body = json!({ "key": todo[2], "column": "Doing" });
        let (s, v) = api(&t, reqwest::Method::POST, &format!("{board_path}/moves"), Some(body)).await;
        assert_eq!(s, 200, "{v}");
    }
    board = api_get(&t, &board_path).await;
    assert_eq!(board["columns"][1]["full"], true, "{board}");

    let b = driver.session().await;
    let shots = Shots::new(&format!("board-{backend}"));
    b.goto(&t.url(&format!("/signin?next=/teams/{team}/board"))).await;
    sign_in(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.wait_url_ends(&format!("/teams/{team}/board")).await;
    b.wait_css("#board .bd-card").await;
    b.wait_css(".bd-head.full").await;
    shots.take(&b, "board").await;

    // Drag a card to Review (no limit): moved at once.
    let first = todo[0].clone();
    drag_card(&b, &first, 2).await;
    b.wait_js("return document.getElementById('board').dataset.moves === '1'").await;
    assert_eq!(status_of(&t, &first).await, "In Review", "the server stored the drop");
    assert!(
        b.js(
            &format!(
                "return !!document.querySelector(\".bd-cell[data-col='2'] .bd-card[data-key='{first}']\")"
            ),
            json!([])
        )
        .await
            == json!(true),
        "the page shows the card in its new column"
    );

    // Drag another into the full column: the dialog asks for a reason, which is recorded.
    let second = todo[1].clone();
    drag_card(&b, &second, 1).await;
    b.wait_css("#bd-reason[open]").await;
    shots.take(&b, "wip-reason").await;
    assert_eq!(status_of(&t, &second).await, "To Do", "nothing moves before the reason is given");
    let text = b.wait_css("#bd-reason-text").await;
    b.type_text(&text, "Customer escalation").await;
    b.click(&b.wait_css("#bd-reason-ok").await).await;
    b.wait_js("return document.getElementById('board').dataset.moves === '2'").await;
    assert_eq!(status_of(&t, &second).await, "In Progress");
    let breaches = api_get(&t, &format!("{board_path}/breaches")).await;
    assert_eq!(breaches[0]["item"], second.as_str(), "{breaches}");
    assert_eq!(breaches[0]["reason"], "Customer escalation");
    b.wait_css(".bd-head.over").await;
    shots.take(&b, "over-limit").await;

    // Keyboard: Shift+ArrowLeft moves the focused card to the previous column, full as well.
    b.js(&format!("document.getElementById('card-{first}').focus()"), json!([])).await;
    b.keys(&[SHIFT, ARROW_LEFT], &[ARROW_LEFT, SHIFT]).await;
    b.wait_css("#bd-reason[open]").await;
    b.type_text(&b.wait_css("#bd-reason-text").await, "Back for a fix").await;
    b.keys(&[ENTER], &[ENTER]).await;
    b.wait_js("return document.getElementById('board').dataset.moves === '3'").await;
    let toast = b.js("return document.getElementById('toast').textContent", json!([])).await;
    assert_eq!(status_of(&t, &first).await, "In Progress", "{toast}");
    // Plain arrows move the focus between cards, Shift+ArrowRight moves a card on.
    b.js(&format!("document.getElementById('card-{first}').focus()"), json!([])).await;
    b.keys(&[SHIFT, ARROW_RIGHT], &[ARROW_RIGHT, SHIFT]).await;
    b.wait_js("return document.getElementById('board').dataset.moves === '4'").await;
    assert_eq!(status_of(&t, &first).await, "In Review");

    // After a reload the page shows what the server holds.
    b.refresh().await;
    b.wait_css("#board .bd-card").await;
    let in_doing = b
        .js("return Array.from(document.querySelectorAll(\".bd-cell[data-col='1'] .bd-card\")).map(c => c.dataset.key)", json!([]))
        .await;
    assert!(in_doing.to_string().contains(&second), "{in_doing}");
    assert!(!in_doing.to_string().contains(&first), "{in_doing}");

    // The settings and workflow pages render.
    for (name, path) in [
        ("lanes", format!("/teams/{team}/board?swimlanes=assignee")),
        ("kanban", format!("/teams/{team}/board?mode=kanban&swimlanes=epic")),
        ("settings", format!("/teams/{team}/board/settings")),
        ("workflow", "/products/SHOP/workflow".to_string()),
    ] {
        b.goto(&t.url(&path)).await;
        b.wait_css("main h1").await;
        shots.take(&b, name).await;
    }
    b.close().await;
}
