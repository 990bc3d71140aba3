//! The board over HTTP, on SQLite and (when `KEEL_TEST_DATABASE_URL` is set) PostgreSQL: a sprint
//! board's columns, cards, swimlanes and quick filters; the kanban board; board layouts and their
//! validation; WIP limits (409 without a reason, the move and a recorded breach with one); and
//! workflow editing with items of removed states moved, bad edits refused with nothing changed.

use keel_domain::event::ObjectKind;
use keel_domain::product::Role;
use keel_store::{NewRecord, WriteOp, Written};
use keel_testkit::{spawn_app, TestApp, TestDb};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

macro_rules! api_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(keel_testkit::TestDb::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = keel_testkit::TestDb::postgres().await else { return };
                    super::$name(db).await;
                }
            )*
        }
    };
}

api_tests!(
    sprint_board_columns_cards_lanes_and_filters,
    kanban_board_shows_flow_outside_sprints,
    board_layouts_are_validated,
    wip_limits_ask_for_a_reason_and_record_it,
    workflow_edit_moves_items_of_removed_states,
    workflow_edit_bad_input_changes_nothing,
    pages_and_forms_work_without_script,
    moves_and_criteria_refuse_a_stale_version,
);

/// A request with a bearer token; returns status and JSON body (Null when empty).
async fn call(
    t: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let c = Client::new();
    let mut r = c.request(method, t.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let res = r.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, v)
}

async fn get(t: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    call(t, token, Method::GET, path, None).await
}

async fn post(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(t, token, Method::POST, path, Some(body)).await
}

async fn put(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(t, token, Method::PUT, path, Some(body)).await
}

async fn patch(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(t, token, Method::PATCH, path, Some(body)).await
}

/// Creates an item as the administrator (PM and PO); returns its key.
async fn item(t: &TestApp, body: Value) -> String {
    let (s, v) = post(t, &t.admin_token, "/api/v1/products/SHOP/items", body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{body} -> {v}");
    v["key"].as_str().expect("key").to_string()
}

/// A team serving `product` and, when `sprint`, its active sprint; returns (team id, sprint id).
async fn team_with_sprint(
    t: &TestApp,
    product: &keel_domain::product::Product,
    sprint: bool,
) -> (i64, Option<i64>) {
    let team = NewRecord {
        kind: ObjectKind::Team,
        product_id: Some(product.id),
        parent_id: None,
        state: String::new(),
        unique_key: Some(format!("team:{}:core", product.id)),
        data: json!({ "name": "Core", "products": [product.id.0], "members": [] }),
    };
    let ctx = t.app.system_ctx();
    let w = t.app.store().write_batch(vec![WriteOp::CreateRecord(team)], &ctx).await.expect("team");
    let Some(Written::Record(team)) = w.into_iter().next() else { panic!("no team") };
    if !sprint {
        return (team.id.0, None);
    }
    let s = NewRecord {
        kind: ObjectKind::Sprint,
        product_id: Some(product.id),
        parent_id: Some(team.id.0),
        state: "active".into(),
        unique_key: None,
        data: json!({ "name": "Sprint 1", "goal": "Checkout", "start": "2026-11-16", "end": "2026-11-27" }),
    };
    let w = t.app.store().write_batch(vec![WriteOp::CreateRecord(s)], &ctx).await.expect("sprint");
    let Some(Written::Record(s)) = w.into_iter().next() else { panic!("no sprint") };
    (team.id.0, Some(s.id.0))
}

fn keys(cards: &Value) -> Vec<String> {
    cards.as_array().expect("cards").iter().map(|c| c["key"].as_str().unwrap().to_string()).collect()
}

fn card<'a>(b: &'a Value, key: &str) -> &'a Value {
    b["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == key)
        .unwrap_or_else(|| panic!("no card {key} in {b}"))
}

async fn status_of(t: &TestApp, key: &str) -> String {
    let (s, v) = get(t, &t.admin_token, &format!("/api/v1/items/{key}")).await;
    assert_eq!(s, StatusCode::OK);
    v["status"].as_str().unwrap_or_default().to_string()
}

async fn sprint_board_columns_cards_lanes_and_filters(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (dev, dev_token) = t.member(&shop, "dev@keel.test", &[Role::Team]).await;
    let (team, sprint) = team_with_sprint(&t, &shop, true).await;
    let sprint = sprint.unwrap();
    let epic = item(&t, json!({ "title": "Checkout", "kind": "epic" })).await;
    let a =
        item(&t, json!({ "title": "Pay by card", "parent": epic, "sprint": sprint, "labels": ["ux"] })).await;
    let b = item(&t, json!({ "title": "Receipt", "sprint": sprint, "assignee": dev.email.as_str(), "status": "In Progress" })).await;
    let c =
        item(&t, json!({ "title": "Crash on pay", "kind": "bug", "sprint": sprint, "status": "In Review" }))
            .await;
    let d =
        item(&t, json!({ "title": "Task under card", "kind": "task", "parent": a, "sprint": sprint })).await;
    let _outside = item(&t, json!({ "title": "Not in the sprint" })).await;
    let (s, _) = patch(&t, &dev_token, &format!("/api/v1/items/{a}"), json!({ "estimate": 5 })).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) =
        post(&t, &t.admin_token, &format!("/api/v1/items/{c}/links"), json!({ "kind": "blocks", "to": b }))
            .await;
    assert_eq!(s, StatusCode::CREATED);

    let (s, v) = get(&t, &t.admin_token, &format!("/api/v1/teams/{team}/board")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["mode"], "scrum");
    assert_eq!(v["sprint"]["name"], "Sprint 1");
    assert_eq!(v["team"]["name"], "Core");
    let cols: Vec<&str> =
        v["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(cols, ["To Do", "In Progress", "In Review", "Done"], "one column per state by default");
    let counts: Vec<i64> =
        v["columns"].as_array().unwrap().iter().map(|c| c["count"].as_i64().unwrap()).collect();
    assert_eq!(counts, [2, 1, 1, 0]);
    assert_eq!(v["columns"][1]["states"][0]["name"], "In Progress");
    assert_eq!(keys(&v["cards"]).len(), 4, "only the sprint's items: {v}");
    let ca = card(&v, &a);
    assert_eq!(
        (ca["title"].clone(), ca["kind"].clone(), ca["estimate"].clone()),
        (json!("Pay by card"), json!("story"), json!(5.0))
    );
    assert_eq!(ca["epic"]["key"], epic.as_str());
    assert_eq!(ca["labels"], json!(["ux"]));
    assert_eq!(card(&v, &d)["epic"]["key"], epic.as_str(), "a task's epic is its story's");
    let cb = card(&v, &b);
    assert_eq!(cb["assignee"]["name"], dev.name.as_str());
    assert_eq!((cb["blocked"].clone(), cb["blocked_by"].clone()), (json!(true), json!([c.clone()])));
    assert_eq!(cb["column"], 1);
    assert_eq!(card(&v, &c)["blocked"], false);
    assert_eq!(v["lanes"].as_array().unwrap().len(), 1);
    assert_eq!(v["lanes"][0]["columns"][0], json!([a.clone(), d.clone()]));
    // Within a column, `before` orders the cards (the backlog order, for those who may reorder).
    let moves = format!("/api/v1/teams/{team}/board/moves");
    let (s, v) = post(&t, &t.admin_token, &moves, json!({ "key": d, "column": "To Do", "before": a })).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = get(&t, &t.admin_token, &format!("/api/v1/teams/{team}/board")).await;
    assert_eq!(v["lanes"][0]["columns"][0], json!([d.clone(), a.clone()]));
    let (s, v) =
        post(&t, &t.admin_token, &moves, json!({ "key": d, "column": "To Do", "before": "SHOP-999" })).await;
    assert_eq!((s, v["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("before")), "{v}");

    // Swimlanes by assignee: the developer's lane first, unassigned last.
    let (_, v) = get(&t, &t.admin_token, &format!("/api/v1/teams/{team}/board?swimlanes=assignee")).await;
    let lanes = v["lanes"].as_array().unwrap();
    assert_eq!(lanes.len(), 2);
    assert_eq!(lanes[0]["key"], format!("assignee:{}", dev.id.0));
    assert_eq!(lanes[0]["title"], dev.name.as_str());
    assert_eq!(lanes[0]["columns"][1], json!([b.clone()]));
    assert_eq!(lanes[1]["title"], "Unassigned");
    assert_eq!(card(&v, &b)["lane"], 0);
    // By epic.
    let (_, v) = get(&t, &t.admin_token, &format!("/api/v1/teams/{team}/board?swimlanes=epic")).await;
    let lanes = v["lanes"].as_array().unwrap();
    assert_eq!(lanes[0]["key"], format!("epic:{epic}"));
    assert_eq!(lanes[0]["columns"][0], json!([d.clone(), a.clone()]));
    assert_eq!(lanes[1]["title"], "No epic");

    // Quick filters: counts stay what the WIP limit counts.
    let f = |q: &str| format!("/api/v1/teams/{team}/board?{q}");
    let (_, v) = get(&t, &dev_token, &f("filter=mine")).await;
    assert_eq!(keys(&v["cards"]), vec![b.clone()]);
    assert_eq!(v["columns"][0]["count"], 2);
    let (_, v) = get(&t, &t.admin_token, &f("filter=blocked")).await;
    assert_eq!(keys(&v["cards"]), vec![b.clone()]);
    let (_, v) = get(&t, &t.admin_token, &f("filter=bugs")).await;
    assert_eq!(keys(&v["cards"]), vec![c.clone()]);
    let (_, v) = get(&t, &t.admin_token, &f("label=UX")).await;
    assert_eq!(keys(&v["cards"]), vec![a.clone()]);

    // Bad queries name the parameter; strangers see nothing.
    let (s, v) = get(&t, &t.admin_token, &f("mode=waterfall")).await;
    assert_eq!((s, v["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("mode")));
    let (s, v) = get(&t, &t.admin_token, &f("swimlanes=team")).await;
    assert_eq!((s, v["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("swimlanes")));
    let (s, v) = get(&t, &t.admin_token, &f("filter=all")).await;
    assert_eq!((s, v["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("filter")));
    let (s, v) = get(&t, &t.admin_token, &f("colour=red")).await;
    assert_eq!((s, v["field"].clone()), (StatusCode::BAD_REQUEST, json!("colour")));
    let (s, _) = get(&t, &t.admin_token, "/api/v1/teams/999999/board").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let other = t.product("OPS").await;
    let (_, stranger) = t.member(&other, "ops@keel.test", &[Role::Team]).await;
    let (s, _) = get(&t, &stranger, &format!("/api/v1/teams/{team}/board")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The board page renders for a member.
    let (s, _) = get(&t, &dev_token, &format!("/api/v1/teams/{team}/board/breaches")).await;
    assert_eq!(s, StatusCode::OK);
}

async fn kanban_board_shows_flow_outside_sprints(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (team, sprint) = team_with_sprint(&t, &shop, true).await;
    let in_sprint =
        item(&t, json!({ "title": "Sprint work", "sprint": sprint.unwrap(), "status": "In Progress" })).await;
    let doing = item(&t, json!({ "title": "Flowing", "status": "In Review" })).await;
    let todo = item(&t, json!({ "title": "Next up" })).await;
    let done = item(&t, json!({ "title": "Shipped", "kind": "task" })).await;
    let (s, _) =
        patch(&t, &t.admin_token, &format!("/api/v1/items/{done}"), json!({ "status": "Done" })).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = get(&t, &t.admin_token, &format!("/api/v1/teams/{team}/board?mode=kanban")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["mode"], "kanban");
    assert!(v["scope"].as_str().unwrap().contains("14 days"), "{}", v["scope"]);
    let k = keys(&v["cards"]);
    assert!(k.contains(&doing) && k.contains(&todo) && k.contains(&done), "{k:?}");
    assert!(!k.contains(&in_sprint), "sprint items stay on the sprint board");
    assert_eq!(card(&v, &done)["column"], 3);
    // A team without an active sprint has an empty scrum board that says so.
    let (team2, _) = {
        let other = t.product("OPS").await;
        team_with_sprint(&t, &other, false).await
    };
    let (s, v) = get(&t, &t.admin_token, &format!("/api/v1/teams/{team2}/board")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["cards"], json!([]));
    assert!(v["scope"].as_str().unwrap().contains("no active sprint"));
}

async fn board_layouts_are_validated(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, dev_token) = t.member(&shop, "dev@keel.test", &[Role::Team]).await;
    let (team, _) = team_with_sprint(&t, &shop, true).await;
    let path = format!("/api/v1/teams/{team}/board");
    let good = json!({ "columns": [
        { "name": "Todo", "states": ["To Do"] },
        { "name": "Doing", "states": ["In Progress", "In Review"], "wip": 2 },
        { "name": "Done", "states": ["Done"] }
    ]});
    let (s, v) = put(&t, &dev_token, &path, good.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the team does not lay out the board: {v}");
    let bad = [
        (json!({ "columns": [{ "name": "X", "states": ["Nope"] }] }), "columns[0].states[0]"),
        (
            json!({ "columns": [{ "name": "X", "states": ["To Do"] }, { "name": "Y", "states": ["Done", "To Do"] }] }),
            "columns[1].states[1]",
        ),
        (json!({ "columns": [{ "name": "", "states": ["To Do"] }] }), "columns[0].name"),
        (json!({ "columns": [{ "name": "X", "states": ["To Do"], "wip": 0 }] }), "columns[0].wip"),
        (json!({ "columns": [{ "name": "X", "states": [] }] }), "columns[0].states"),
    ];
    for (body, field) in bad {
        let (s, v) = put(&t, &t.admin_token, &path, body.clone()).await;
        assert_eq!((s, v["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!(field)), "{body}: {v}");
    }
    let (s, v) = put(&t, &t.admin_token, &path, json!({ "columns": [], "extra": 1 })).await;
    assert_eq!((s, v["field"].clone()), (StatusCode::BAD_REQUEST, json!("extra")));
    let (_, v) = get(&t, &t.admin_token, &path).await;
    assert_eq!(v["columns"].as_array().unwrap().len(), 4, "nothing changed");
    let version = v["team"]["version"].as_i64().unwrap();

    let (s, v) = put(&t, &t.admin_token, &path, good.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let names: Vec<&str> =
        v["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Todo", "Doing", "Done"]);
    assert_eq!(v["columns"][1]["wip"], 2);
    assert_eq!(v["columns"][1]["states"].as_array().unwrap().len(), 2);
    // A stale version is a conflict.
    let mut stale = good.clone();
    stale["version"] = json!(version);
    let (s, _) = put(&t, &t.admin_token, &path, stale).await;
    assert_eq!(s, StatusCode::CONFLICT);
    // No columns: back to one per state.
    let (s, v) = put(&t, &t.admin_token, &path, json!({ "columns": [] })).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["columns"].as_array().unwrap().len(), 4);
}

async fn wip_limits_ask_for_a_reason_and_record_it(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (dev, dev_token) = t.member(&shop, "dev@keel.test", &[Role::Team]).await;
    let (team, sprint) = team_with_sprint(&t, &shop, true).await;
    let sprint = sprint.unwrap();
    let path = format!("/api/v1/teams/{team}/board");
    let layout = json!({ "columns": [
        { "name": "Todo", "states": ["To Do"] },
        { "name": "Doing", "states": ["In Progress", "In Review"], "wip": 1 },
        { "name": "Done", "states": ["Done"] }
    ]});
    assert_eq!(put(&t, &t.admin_token, &path, layout).await.0, StatusCode::OK);
    let a = item(&t, json!({ "title": "A", "kind": "task", "sprint": sprint })).await;
    let b = item(&t, json!({ "title": "B", "kind": "task", "sprint": sprint })).await;
    let story = item(&t, json!({ "title": "Story", "sprint": sprint })).await;
    let moves = format!("{path}/moves");

    // Into an empty limited column: fine, by a team member.
    let (s, v) = post(&t, &dev_token, &moves, json!({ "key": a, "column": "Doing" })).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["status"].clone(), v["breach"].clone()), (json!("In Progress"), Value::Null));
    let (_, v) = get(&t, &t.admin_token, &path).await;
    assert_eq!((v["columns"][1]["count"].clone(), v["columns"][1]["full"].clone()), (json!(1), json!(true)));

    // Full: 409 naming `reason`, nothing changed.
    let (s, v) = post(&t, &dev_token, &moves, json!({ "key": b, "column": "Doing" })).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["field"], "reason");
    assert!(v["detail"].as_str().unwrap().contains("1 of 1"), "{v}");
    assert_eq!(status_of(&t, &b).await, "To Do");
    let (s, v) = post(&t, &dev_token, &moves, json!({ "key": b, "column": "Doing", "reason": "   " })).await;
    assert_eq!((s, v["field"].clone()), (StatusCode::CONFLICT, json!("reason")));
    let (_, v) = get(&t, &t.admin_token, &format!("{path}/breaches")).await;
    assert_eq!(v, json!([]));

    // With a reason: moved, and the breach is recorded with who and why.
    let (s, v) =
        post(&t, &dev_token, &moves, json!({ "key": b, "column": "Doing", "reason": "Production hotfix" }))
            .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["breach"]["reason"], "Production hotfix");
    assert_eq!((v["breach"]["limit"].clone(), v["breach"]["count"].clone()), (json!(1), json!(1)));
    assert_eq!(status_of(&t, &b).await, "In Progress");
    let (_, v) = get(&t, &t.admin_token, &format!("{path}/breaches")).await;
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0]["item"].clone(), list[0]["column"].clone()), (json!(b.clone()), json!("Doing")));
    assert_eq!((list[0]["from"].clone(), list[0]["to"].clone()), (json!("To Do"), json!("In Progress")));
    assert_eq!(list[0]["by"], dev.id.0);
    let (_, h) = get(&t, &t.admin_token, &format!("/api/v1/items/{b}/history")).await;
    assert!(h.to_string().contains("\"status\""), "the move is in the item's history: {h}");
    let events = t
        .app
        .store()
        .product_events_of(shop.id, &[ObjectKind::WipBreach], &["created"], keel_domain::Timestamp(0), 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert!(events[0].new.to_string().contains("Production hotfix"), "{:?}", events[0].new);
    assert_eq!(events[0].actor_id, Some(dev.id));
    let (s, log) = get(&t, &t.admin_token, "/api/v1/products/SHOP/decisions?kind=wip").await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let d = &log["decisions"][0];
    assert_eq!(
        (d["why"].clone(), d["item"].clone()),
        (json!("Production hotfix"), json!(b.clone())),
        "{log}"
    );
    let (_, v) = get(&t, &t.admin_token, &path).await;
    assert_eq!(
        (v["columns"][1]["count"].clone(), v["columns"][1]["over_limit"].clone()),
        (json!(2), json!(true))
    );

    // Moving within the column needs no reason; moving into Done is the PO's call.
    let (s, _) = post(&t, &dev_token, &moves, json!({ "key": b, "column": "doing" })).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = post(&t, &dev_token, &moves, json!({ "key": a, "column": "Done" })).await;
    assert_eq!(s, StatusCode::ACCEPTED, "a team member proposes acceptance: {v}");
    assert_eq!(status_of(&t, &a).await, "In Progress");
    let (s, v) = post(&t, &t.admin_token, &moves, json!({ "key": a, "column": "Done" })).await;
    assert_eq!((s, v["status"].clone()), (StatusCode::OK, json!("Done")));

    // A story reaches done only with its Definition of Done ticked, on the board as anywhere.
    let (s, v) = post(&t, &t.admin_token, &moves, json!({ "key": story, "column": "Done" })).await;
    assert_eq!((s, v["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("acceptance")), "{v}");
    assert_eq!(status_of(&t, &story).await, "To Do");

    // Bad moves.
    for (body, status, field) in [
        (json!({ "key": b, "column": "Nowhere" }), StatusCode::UNPROCESSABLE_ENTITY, "column"),
        (json!({ "key": "SHOP-9999", "column": "Done" }), StatusCode::UNPROCESSABLE_ENTITY, "key"),
        (json!({ "key": "not a key", "column": "Done" }), StatusCode::UNPROCESSABLE_ENTITY, "key"),
        (json!({ "key": b, "column": "Done", "why": "x" }), StatusCode::BAD_REQUEST, "why"),
    ] {
        let (s, v) = post(&t, &t.admin_token, &moves, body.clone()).await;
        assert_eq!((s, v["field"].clone()), (status, json!(field)), "{body}: {v}");
    }
    assert_eq!(status_of(&t, &b).await, "In Progress");

    // Between two columns of states of one category: a real move each way.
    assert_eq!(put(&t, &t.admin_token, &path, json!({ "columns": [] })).await.0, StatusCode::OK);
    let (s, v) = post(&t, &t.admin_token, &moves, json!({ "key": b, "column": "In Review" })).await;
    assert_eq!((s, v["status"].clone()), (StatusCode::OK, json!("In Review")), "{v}");
    let (s, v) = post(&t, &t.admin_token, &moves, json!({ "key": b, "column": "In Progress" })).await;
    assert_eq!((s, v["status"].clone()), (StatusCode::OK, json!("In Progress")), "{v}");
}

async fn workflow_edit_moves_items_of_removed_states(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let a = item(&t, json!({ "title": "Under review", "status": "In Review" })).await;
    let b = item(&t, json!({ "title": "Started", "status": "In Progress" })).await;
    let (_, wf) = get(&t, &t.admin_token, "/api/v1/products/SHOP/workflow").await;
    let id = |n: &str| wf.as_array().unwrap().iter().find(|s| s["name"] == n).unwrap()["id"].clone();
    let path = "/api/v1/products/SHOP/workflow";
    let body = json!({
        "states": [
            { "id": id("To Do"), "name": "Backlog", "category": "todo" },
            { "name": "Ready", "category": "todo" },
            { "id": id("In Progress"), "name": "Doing", "category": "in_progress" },
            { "id": id("Done"), "name": "Done", "category": "done" }
        ],
        "remap": [{ "from": "In Review", "to": "Doing" }]
    });
    let (s, v) = put(&t, &t.admin_token, path, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let names: Vec<&str> = v.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Backlog", "Ready", "Doing", "Done"]);
    let (_, wf2) = get(&t, &t.admin_token, path).await;
    assert_eq!(wf2, v, "GET shows the new workflow at once (the cache follows the product version)");
    assert_eq!(status_of(&t, &a).await, "Doing");
    assert_eq!(status_of(&t, &b).await, "Doing");
    let (_, h) = get(&t, &t.admin_token, &format!("/api/v1/items/{a}/history")).await;
    assert!(h.to_string().contains("\"status\""), "{h}");
    let events = t
        .app
        .store()
        .product_events_of(shop.id, &[ObjectKind::Product], &["workflow"], keel_domain::Timestamp(0), 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor_id, Some(t.admin.id));
    // Items may use the new states by name; the old name is gone.
    let (s, _) = patch(&t, &t.admin_token, &format!("/api/v1/items/{a}"), json!({ "status": "Ready" })).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) =
        patch(&t, &t.admin_token, &format!("/api/v1/items/{a}"), json!({ "status": "In Review" })).await;
    assert_eq!((s, v["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("status")));
}

async fn workflow_edit_bad_input_changes_nothing(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, dev_token) = t.member(&shop, "dev@keel.test", &[Role::Team]).await;
    let a = item(&t, json!({ "title": "Under review", "status": "In Review" })).await;
    let path = "/api/v1/products/SHOP/workflow";
    let (_, wf) = get(&t, &t.admin_token, path).await;
    let id = |n: &str| wf.as_array().unwrap().iter().find(|s| s["name"] == n).unwrap()["id"].clone();
    let keep3 = json!([
        { "id": id("To Do"), "name": "To Do", "category": "todo" },
        { "id": id("In Progress"), "name": "In Progress", "category": "in_progress" },
        { "id": id("Done"), "name": "Done", "category": "done" }
    ]);
    let cases = [
        (json!({ "states": keep3 }), StatusCode::UNPROCESSABLE_ENTITY, "remap"),
        (
            json!({ "states": keep3, "remap": [{ "from": "Nope", "to": "Done" }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "remap[0].from",
        ),
        (
            json!({ "states": keep3, "remap": [{ "from": "In Review", "to": "Gone" }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "remap[0].to",
        ),
        (
            json!({ "states": [
            { "id": id("To Do"), "name": "To Do", "category": "todo" },
            { "id": id("In Progress"), "name": "In Progress", "category": "in_progress" },
            { "id": id("In Review"), "name": "In Review", "category": "in_progress" }
          ], "remap": [{ "from": "Done", "to": "To Do" }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "states",
        ),
        (
            json!({ "states": [
            { "id": id("To Do"), "name": "To Do", "category": "todo" },
            { "id": id("In Progress"), "name": "to do", "category": "in_progress" },
            { "id": id("In Review"), "name": "In Review", "category": "in_progress" },
            { "id": id("Done"), "name": "Done", "category": "done" }
          ] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "states[1].name",
        ),
        (
            json!({ "states": [
            { "id": id("To Do"), "name": "To Do", "category": "later" },
            { "id": id("In Progress"), "name": "In Progress", "category": "in_progress" },
            { "id": id("In Review"), "name": "In Review", "category": "in_progress" },
            { "id": id("Done"), "name": "Done", "category": "done" }
          ] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "states[0].category",
        ),
        (
            json!({ "states": [
            { "id": 999999, "name": "To Do", "category": "todo" },
            { "id": id("Done"), "name": "Done", "category": "done" }
          ], "remap": [{ "from": "In Progress", "to": "Done" }, { "from": "In Review", "to": "Done" }] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "states[0].id",
        ),
        (
            json!({ "states": keep3, "remap": [{ "from": "In Review", "to": "Done" }], "version": 0 }),
            StatusCode::CONFLICT,
            "version",
        ),
        (json!({ "states": "all" }), StatusCode::BAD_REQUEST, "states"),
    ];
    for (body, status, field) in cases {
        let (s, v) = put(&t, &t.admin_token, path, body.clone()).await;
        assert_eq!((s, v["field"].clone()), (status, json!(field)), "{body}: {v}");
    }
    let (s, _) = put(
        &t,
        &dev_token,
        path,
        json!({ "states": keep3, "remap": [{ "from": "In Review", "to": "Done" }] }),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the team does not edit the workflow");
    let (_, after) = get(&t, &t.admin_token, path).await;
    assert_eq!(after, wf, "nothing changed");
    assert_eq!(status_of(&t, &a).await, "In Review");
}

/// A browser-like client signed in as the administrator: cookies kept, redirects not followed.
async fn browser_client(t: &TestApp) -> (Client, String) {
    let c = Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let body =
        json!({ "email": keel_testkit::app::ADMIN_EMAIL, "password": keel_testkit::app::ADMIN_PASSWORD });
    let me: Value = c.post(t.url("/api/v1/session")).json(&body).send().await.unwrap().json().await.unwrap();
    (c, me["csrf_token"].as_str().unwrap().to_string())
}

async fn form(c: &Client, t: &TestApp, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let r = c.post(t.url(path)).form(fields).send().await.unwrap();
    let loc = r.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (r.status(), loc)
}

async fn pages_and_forms_work_without_script(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (team, sprint) = team_with_sprint(&t, &shop, true).await;
    let sprint = sprint.unwrap();
    let a = item(&t, json!({ "title": "Alpha card", "sprint": sprint, "status": "In Progress" })).await;
    let b = item(&t, json!({ "title": "Beta card", "sprint": sprint })).await;
    let (c, csrf) = browser_client(&t).await;

    // The board page shows the cards, the controls and the reason dialog.
    let page = c.get(t.url(&format!("/teams/{team}/board?swimlanes=assignee"))).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    for needle in ["Alpha card", &a, "bd-card", "id=\"bd-reason\"", "Unassigned", "/assets/board."] {
        assert!(html.contains(needle), "the board page lacks {needle}");
    }
    let r = c.get(t.url(&format!("/teams/{team}/board?mode=nope"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Settings: a WIP limit of 1 on a Doing column.
    let settings = format!("/teams/{team}/board/settings");
    assert_eq!(c.get(t.url(&settings)).send().await.unwrap().status(), StatusCode::OK);
    let (_, wf) = get(&t, &t.admin_token, "/api/v1/products/SHOP/workflow").await;
    let sid = |n: &str| wf.as_array().unwrap().iter().find(|s| s["name"] == n).unwrap()["id"].to_string();
    let (todo, prog, review, done) = (sid("To Do"), sid("In Progress"), sid("In Review"), sid("Done"));
    let fields = [
        ("csrf", csrf.as_str()),
        ("name0", "Todo"),
        ("states0", todo.as_str()),
        ("name1", "Doing"),
        ("states1", prog.as_str()),
        ("states1", review.as_str()),
        ("wip1", "1"),
        ("name2", "Done"),
        ("states2", done.as_str()),
    ];
    let (s, loc) = form(&c, &t, &settings, &fields).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.starts_with(&format!("/teams/{team}/board?notice=")), "{loc}");
    let (_, v) = get(&t, &t.admin_token, &format!("/api/v1/teams/{team}/board")).await;
    assert_eq!(v["columns"][1]["wip"], 1);
    let (s, loc) =
        form(&c, &t, &settings, &[("csrf", csrf.as_str()), ("name0", "X"), ("wip0", "many")]).await;
    assert!(s == StatusCode::SEE_OTHER && loc.contains("error="), "{loc}");
    let (s, _) = form(&c, &t, &settings, &[("name0", "X")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no CSRF token, no change");

    // The move form: a full column without a reason says why; with one the move is made.
    let mv = format!("/teams/{team}/board/move");
    let (s, loc) =
        form(&c, &t, &mv, &[("csrf", csrf.as_str()), ("key", b.as_str()), ("column", "Doing")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.contains("error=") && loc.contains("WIP"), "{loc}");
    assert_eq!(status_of(&t, &b).await, "To Do");
    let fields =
        [("csrf", csrf.as_str()), ("key", b.as_str()), ("column", "Doing"), ("reason", "Pairing on it")];
    let (s, loc) = form(&c, &t, &mv, &fields).await;
    assert!(s == StatusCode::SEE_OTHER && loc.contains("notice="), "{loc}");
    assert_eq!(status_of(&t, &b).await, "In Progress");
    let (_, v) = get(&t, &t.admin_token, &format!("/api/v1/teams/{team}/board/breaches")).await;
    assert_eq!(v[0]["reason"], "Pairing on it");

    // The workflow page: rename a state; removing one that holds items needs a target.
    let wpath = "/products/SHOP/workflow";
    assert_eq!(c.get(t.url(wpath)).send().await.unwrap().status(), StatusCode::OK);
    let base = |name1: &'static str| {
        vec![
            ("id0", todo.clone()),
            ("name0", "To Do".to_string()),
            ("cat0", "todo".to_string()),
            ("pos0", "1".to_string()),
            ("id1", prog.clone()),
            ("name1", name1.to_string()),
            ("cat1", "in_progress".to_string()),
            ("pos1", "2".to_string()),
            ("id2", review.clone()),
            ("name2", "In Review".to_string()),
            ("cat2", "in_progress".to_string()),
            ("pos2", "3".to_string()),
            ("id3", done.clone()),
            ("name3", "Done".to_string()),
            ("cat3", "done".to_string()),
            ("pos3", "4".to_string()),
        ]
    };
    let mut f = base("Doing it");
    f.push(("remove1", "1".to_string()));
    f.push(("csrf", csrf.clone()));
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, loc) = form(&c, &t, wpath, &refs).await;
    assert!(s == StatusCode::SEE_OTHER && loc.contains("error="), "{loc}");
    assert_eq!(status_of(&t, &a).await, "In Progress", "nothing changed");
    let mut f = base("Doing it");
    f.push(("name4", "Ready".to_string()));
    f.push(("cat4", "todo".to_string()));
    f.push(("pos4", "1.5".to_string()));
    f.push(("csrf", csrf.clone()));
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, loc) = form(&c, &t, wpath, &refs).await;
    assert!(s == StatusCode::SEE_OTHER && loc.contains("notice="), "{loc}");
    assert_eq!(status_of(&t, &a).await, "Doing it");
    let (_, wf) = get(&t, &t.admin_token, "/api/v1/products/SHOP/workflow").await;
    let names: Vec<&str> = wf.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["To Do", "Ready", "Doing it", "In Review", "Done"]);
    // Removing with a target moves the items.
    let mut f = base("Doing it");
    f.retain(|(k, _)| !k.ends_with('4'));
    f.push(("remove1", "1".to_string()));
    f.push(("to1", review.clone()));
    f.push(("csrf", csrf.clone()));
    let ready = wf.as_array().unwrap().iter().find(|s| s["name"] == "Ready").unwrap()["id"].to_string();
    f.push(("id4", ready));
    f.push(("name4", "Ready".to_string()));
    f.push(("cat4", "todo".to_string()));
    f.push(("pos4", "2".to_string()));
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, loc) = form(&c, &t, wpath, &refs).await;
    assert!(s == StatusCode::SEE_OTHER && loc.contains("notice="), "{loc}");
    assert_eq!(status_of(&t, &a).await, "In Review");
    assert_eq!(status_of(&t, &b).await, "In Review");
}

/// A request with a bearer token and an `If-Match` header; returns status, ETag and JSON body.
async fn call_if_match(
    t: &TestApp,
    method: Method,
    path: &str,
    if_match: &str,
    body: Option<Value>,
) -> (StatusCode, String, Value) {
    let mut r =
        Client::new().request(method, t.url(path)).bearer_auth(&t.admin_token).header("If-Match", if_match);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let res = r.send().await.expect("request");
    let status = res.status();
    let etag = res.headers().get("etag").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let text = res.text().await.expect("body");
    (status, etag, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn version_of(t: &TestApp, key: &str) -> i64 {
    let (_, v) = get(t, &t.admin_token, &format!("/api/v1/items/{key}")).await;
    v["version"].as_i64().expect("version")
}

async fn events_of(t: &TestApp, key: &str) -> usize {
    let (_, v) = get(t, &t.admin_token, &format!("/api/v1/items/{key}/history?limit=500")).await;
    v["events"].as_array().map(Vec::len).unwrap_or_else(|| panic!("no events in {v}"))
}

fn assert_stale(s: StatusCode, v: &Value, current: i64) {
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["type"].as_str().unwrap_or("").ends_with("/stale-version"), "{v}");
    assert_eq!(v["current_version"], current, "{v}");
}

/// Board moves and criterion edits carry the version they were based on (`version` or
/// `If-Match`): a stale one is 409 `stale-version` with the current version and changes nothing;
/// the current one lands; none at all still lands (older clients). The no-script forms too.
async fn moves_and_criteria_refuse_a_stale_version(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (team, sprint) = team_with_sprint(&t, &shop, true).await;
    let sprint = sprint.unwrap();
    let a = item(&t, json!({ "title": "Alpha", "sprint": sprint })).await;
    let b = item(
        &t,
        json!({ "title": "Beta", "sprint": sprint, "criteria": [{ "text": "one" }, { "text": "two" }] }),
    )
    .await;
    let moves = format!("/api/v1/teams/{team}/board/moves");
    let (_, board) = get(&t, &t.admin_token, &format!("/api/v1/teams/{team}/board")).await;
    let seen = card(&board, &b)["version"].as_i64().unwrap();
    // Someone else changes the item after the board was read.
    let (s, v) = patch(&t, &t.admin_token, &format!("/api/v1/items/{b}"), json!({ "title": "Beta 2" })).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let now = seen + 1;
    let events = events_of(&t, &b).await;

    // A move based on the board as read: refused, in the body or in If-Match, with nothing moved.
    let body = json!({ "key": b, "column": "In Progress", "before": a, "version": seen });
    let (s, v) = post(&t, &t.admin_token, &moves, body).await;
    assert_stale(s, &v, now);
    let body = json!({ "key": b, "column": "In Progress" });
    let (s, _, v) = call_if_match(&t, Method::POST, &moves, &format!("\"{seen}\""), Some(body.clone())).await;
    assert_stale(s, &v, now);
    assert_eq!(status_of(&t, &b).await, "To Do");
    assert_eq!((version_of(&t, &b).await, events_of(&t, &b).await), (now, events));
    let (_, board) = get(&t, &t.admin_token, &format!("/api/v1/teams/{team}/board")).await;
    assert_eq!(board["lanes"][0]["columns"][0], json!([a.clone(), b.clone()]), "the order is as it was");
    // The header and the body must agree; a header that is no version is named.
    let (s, _, v) = call_if_match(
        &t,
        Method::POST,
        &moves,
        &format!("\"{now}\""),
        Some(json!({ "key": b, "column": "In Progress", "version": seen })),
    )
    .await;
    assert_eq!((s.is_client_error(), v["field"].clone()), (true, json!("version")), "{v}");
    let (s, _, v) = call_if_match(&t, Method::POST, &moves, "soon", Some(body.clone())).await;
    assert_eq!((s.is_client_error(), v["field"].clone()), (true, json!("If-Match")), "{v}");
    // The current version: the status and the place change together.
    let body = json!({ "key": b, "column": "In Progress", "before": a, "version": now });
    let (s, v) = post(&t, &t.admin_token, &moves, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "In Progress");
    let moved = v["version"].as_i64().unwrap();
    assert_eq!(moved, version_of(&t, &b).await);
    assert!(moved > now, "{moved}");
    // Replaying the same move (its version is spent) is refused; without a version it lands.
    let body = json!({ "key": b, "column": "In Review", "version": now });
    let (s, v) = post(&t, &t.admin_token, &moves, body).await;
    assert_stale(s, &v, moved);
    assert_eq!(status_of(&t, &b).await, "In Progress");
    let (s, v) = post(&t, &t.admin_token, &moves, json!({ "key": b, "column": "In Review" })).await;
    assert_eq!((s, v["status"].clone()), (StatusCode::OK, json!("In Review")), "{v}");
    // A reorder within the column (no status change) checks the version too.
    let v0 = version_of(&t, &a).await;
    let body = json!({ "key": a, "column": "To Do", "version": v0 - 1 });
    let (s, v) = post(&t, &t.admin_token, &moves, body).await;
    assert_stale(s, &v, v0);

    // Criteria: a stale tick is refused and changes nothing; the current one lands with the new
    // version as ETag, which the next change can use.
    let crit = format!("/api/v1/items/{b}/criteria/1");
    let cur = version_of(&t, &b).await;
    let events = events_of(&t, &b).await;
    let (s, v) = patch(&t, &t.admin_token, &crit, json!({ "checked": true, "version": cur - 1 })).await;
    assert_stale(s, &v, cur);
    let (s, _, v) = call_if_match(
        &t,
        Method::PATCH,
        &crit,
        &format!("\"{}\"", cur - 1),
        Some(json!({ "checked": true })),
    )
    .await;
    assert_stale(s, &v, cur);
    let (s, _, v) =
        call_if_match(&t, Method::DELETE, &format!("/api/v1/items/{b}/criteria/2"), "1", None).await;
    assert_stale(s, &v, cur);
    // An If-Match that is no version is a problem naming it (as the OpenAPI document says).
    let (s, _, v) =
        call_if_match(&t, Method::DELETE, &format!("/api/v1/items/{b}/criteria/2"), "null", None).await;
    assert_eq!((s, v["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("If-Match")), "{v}");
    let (_, v) = get(&t, &t.admin_token, &format!("/api/v1/items/{b}")).await;
    assert_eq!(v["criteria"].as_array().unwrap().len(), 2);
    assert!(v["criteria"].as_array().unwrap().iter().all(|c| c["checked"] == false), "{v}");
    assert_eq!((v["version"].as_i64().unwrap(), events_of(&t, &b).await), (cur, events));
    let (s, etag, v) =
        call_if_match(&t, Method::PATCH, &crit, &format!("\"{cur}\""), Some(json!({ "checked": true })))
            .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v[0]["checked"], true);
    assert_eq!(etag, format!("\"{}\"", cur + 1));
    let (s, etag, v) =
        call_if_match(&t, Method::DELETE, &format!("/api/v1/items/{b}/criteria/2"), &etag, None).await;
    assert_eq!((s, v.as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{v}");
    assert_eq!(etag, format!("\"{}\"", cur + 2));
    let (s, v) = patch(&t, &t.admin_token, &crit, json!({ "text": "one, reworded" })).await;
    assert_eq!(s, StatusCode::OK, "without a version the change lands: {v}");

    // The no-script forms send the version the page was drawn with.
    let (c, csrf) = browser_client(&t).await;
    let cur = version_of(&t, &b).await;
    let stale = (cur - 1).to_string();
    let (s, loc) = form(
        &c,
        &t,
        &format!("/items/{b}/criteria/1"),
        &[("csrf", csrf.as_str()), ("checked", "0"), ("version", stale.as_str())],
    )
    .await;
    assert!(s == StatusCode::SEE_OTHER && loc.contains("error="), "{s} {loc}");
    let (_, v) = get(&t, &t.admin_token, &format!("/api/v1/items/{b}")).await;
    assert_eq!((v["criteria"][0]["checked"].clone(), v["version"].as_i64()), (json!(true), Some(cur)));
    // A version that is no number is refused by name, not taken for "no version".
    let (s, loc) = form(
        &c,
        &t,
        &format!("/items/{b}/criteria/1"),
        &[("csrf", csrf.as_str()), ("checked", "0"), ("version", "3x")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{loc}");
    assert_eq!(version_of(&t, &b).await, cur);
    let now = cur.to_string();
    let (s, loc) = form(
        &c,
        &t,
        &format!("/items/{b}/criteria/1"),
        &[("csrf", csrf.as_str()), ("checked", "0"), ("version", now.as_str())],
    )
    .await;
    assert!(s == StatusCode::SEE_OTHER && !loc.contains("error="), "{s} {loc}");
    assert_eq!(version_of(&t, &b).await, cur + 1);
    let mv = format!("/teams/{team}/board/move");
    let (s, loc) = form(
        &c,
        &t,
        &mv,
        &[("csrf", csrf.as_str()), ("key", b.as_str()), ("column", "In Progress"), ("version", now.as_str())],
    )
    .await;
    assert!(s == StatusCode::SEE_OTHER && loc.contains("error="), "{s} {loc}");
    assert_eq!(status_of(&t, &b).await, "In Review");
    // The board page carries each card's version for the script and the form.
    let html = c.get(t.url(&format!("/teams/{team}/board"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("data-version=\"{}\"", cur + 1)), "no card version on the page");
    assert!(html.contains(&format!("name=\"version\" value=\"{}\"", cur + 1)), "no version in the form");
}
