//! Ceremonies over HTTP on both databases: the daily stand-up, the sprint review and the
//! retrospective board (cards, votes, actions that become backlog items).
//!
//! Teams and sprints are arranged directly as records, so these tests do not depend on the
//! sprint endpoints.

use keel_app::records::new_record;
use keel_domain::item::{Acceptance, AcceptanceState, ItemPatch};
use keel_domain::product::{Product, Role};
use keel_domain::sprint::{Commitment, Sprint, SprintSummary, Team, TeamMember};
use keel_domain::time::Date;
use keel_domain::user::User;
use keel_domain::ItemId;
use keel_store::{WriteCtx, WriteOp, Written};
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
    standup_lists_moves_work_in_progress_and_blockers,
    review_splits_accepted_and_waiting_and_publishes,
    retro_cards_and_their_validation,
    retro_votes_toggle_and_concurrent_votes_count,
    retro_actions_become_backlog_items_once,
    pages_and_forms_work_without_script,
    members_of_any_product_the_team_serves_take_part,
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

async fn patch(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(t, token, Method::PATCH, path, Some(body)).await
}

fn ctx(t: &TestApp) -> WriteCtx {
    WriteCtx { actor: Some(t.admin.id), at: keel_app::now(), proposal: None }
}

async fn record(t: &TestApp, op: keel_store::NewRecord) -> i64 {
    let w = t.app.store().write_batch(vec![WriteOp::CreateRecord(op)], &ctx(t)).await.expect("record");
    match &w[0] {
        Written::Record(r) => r.id.0,
        other => panic!("not a record: {other:?}"),
    }
}

/// A team of `members` on `product` and one sprint of it in `state`; returns (team, sprint).
async fn team_and_sprint(t: &TestApp, product: &Product, members: &[&User], state: &str) -> (i64, i64) {
    let team = Team {
        name: "Core".into(),
        products: vec![product.id],
        members: members.iter().map(|u| TeamMember { user_id: u.id, points: None, days: None }).collect(),
        board: Default::default(),
    };
    let team_id = record(t, new_record(Some(product.id), None, "", None, &team).expect("team")).await;
    let today = Date::of(keel_app::now());
    let sprint = Sprint {
        name: "Sprint 1".into(),
        goal: "Checkout works".into(),
        start: today.plus_days(-3),
        end: today.plus_days(10),
        capacity: Vec::new(),
        commitment: None,
        summary: None,
    };
    let sprint_id =
        record(t, new_record(Some(product.id), Some(team_id), state, None, &sprint).expect("sprint")).await;
    (team_id, sprint_id)
}

async fn create(t: &TestApp, token: &str, product: &str, body: Value) -> Value {
    let (s, v) = post(t, token, &format!("/api/v1/products/{product}/items"), body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

async fn set_status(t: &TestApp, token: &str, item: &Value, status: &str) -> Value {
    let key = item["key"].as_str().unwrap();
    if status == "Done" {
        // A story is done once accepted: its Definition of Done ticked first (criteria too).
        let (s, v) = call(
            t,
            token,
            Method::PUT,
            &format!("/api/v1/items/{key}/checks"),
            Some(json!({"dod": [1, 2, 3]})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (_, cur) = get(t, token, &format!("/api/v1/items/{key}")).await;
    let (s, v) = patch(
        t,
        token,
        &format!("/api/v1/items/{key}"),
        json!({"status": status, "version": cur["version"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

fn person<'a>(standup: &'a Value, user: &User) -> &'a Value {
    standup["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == user.id.0)
        .unwrap_or_else(|| panic!("{} in {standup}", user.name))
}

fn keys(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let i = if x.get("item").is_some() { &x["item"] } else { x };
            i["key"].as_str().unwrap().to_string()
        })
        .collect()
}

async fn standup_lists_moves_work_in_progress_and_blockers(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (alice, _) = t.member(&shop, "alice@keel.test", &[Role::Team]).await;
    let (bob, bob_token) = t.member(&shop, "bob@keel.test", &[Role::Team]).await;
    let (team, sprint) = team_and_sprint(&t, &shop, &[&alice, &bob], "active").await;
    let a = &t.admin_token;

    // Alice's item moves today (moved by the Product Owner, for her); another of hers is in
    // progress in the sprint; Bob's is blocked by an open item.
    let moved = create(
        &t,
        a,
        "SHOP",
        json!({"title": "Moved today", "assignee": "alice@keel.test", "sprint": sprint}),
    )
    .await;
    let held = create(&t, a, "SHOP", json!({"title": "Held by Alice", "assignee": "alice@keel.test"})).await;
    let (s, v) = patch(
        &t,
        a,
        &format!("/api/v1/items/{}", held["key"].as_str().unwrap()),
        json!({"sprint": sprint, "version": held["version"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let blocked = create(
        &t,
        a,
        "SHOP",
        json!({"title": "Waiting on the API", "assignee": "bob@keel.test", "sprint": sprint}),
    )
    .await;
    let blocker = create(&t, a, "SHOP", json!({"title": "Payment API contract"})).await;
    let (s, v) = post(
        &t,
        a,
        &format!("/api/v1/items/{}/links", blocker["key"].as_str().unwrap()),
        json!({"kind": "blocks", "to": blocked["key"]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    set_status(&t, a, &moved, "In Progress").await;
    set_status(&t, a, &moved, "In Review").await;
    set_status(&t, a, &held, "In Progress").await;
    // Bob moves nothing of Alice's; a move by Bob of his own item shows under Bob.
    set_status(&t, &bob_token, &blocked, "In Progress").await;

    let (s, su) = get(&t, a, &format!("/api/v1/teams/{team}/standup")).await;
    assert_eq!(s, StatusCode::OK, "{su}");
    assert_eq!(su["team"]["name"], "Core");
    assert_eq!(su["sprint"]["id"], sprint);
    assert_eq!(su["date"], Date::of(keel_app::now()).to_string());
    let pa = person(&su, &alice);
    let moved_keys = keys(&pa["moved"]);
    assert!(moved_keys.contains(&moved["key"].as_str().unwrap().to_string()), "{pa}");
    let m = pa["moved"].as_array().unwrap().iter().find(|m| m["item"]["key"] == moved["key"]).unwrap();
    assert_eq!(
        (m["from"].as_str(), m["to"].as_str(), m["moves"].as_u64()),
        (Some("To Do"), Some("In Review"), Some(2)),
        "{m}"
    );
    assert_eq!(m["by"], t.admin.id.0);
    let held_keys = keys(&pa["in_progress"]);
    assert!(held_keys.contains(&held["key"].as_str().unwrap().to_string()), "{pa}");
    assert!(
        held_keys.contains(&moved["key"].as_str().unwrap().to_string()),
        "In Review is in progress: {pa}"
    );
    assert!(pa["blocked"].as_array().unwrap().is_empty(), "{pa}");
    let pb = person(&su, &bob);
    assert!(!keys(&pb["moved"]).contains(&moved["key"].as_str().unwrap().to_string()), "{pb}");
    assert_eq!(keys(&pb["moved"]), vec![blocked["key"].as_str().unwrap().to_string()]);
    assert_eq!(keys(&pb["blocked"]), vec![blocked["key"].as_str().unwrap().to_string()], "{pb}");
    let b = &pb["blocked"][0]["blockers"];
    assert_eq!(b.as_array().unwrap().len(), 1);
    assert_eq!(b[0]["key"], blocker["key"]);
    assert_eq!(b[0]["title"], "Payment API contract");

    // A past day does not see today's moves; its paging links are the neighbouring days.
    let (s, old) = get(&t, a, &format!("/api/v1/teams/{team}/standup?date=2026-01-05")).await;
    assert_eq!(s, StatusCode::OK, "{old}");
    assert_eq!(old["since"], "2026-01-02", "Monday looks back to Friday");
    assert_eq!((old["previous"].as_str(), old["next"].as_str()), (Some("2026-01-04"), Some("2026-01-06")));
    assert!(person(&old, &alice)["moved"].as_array().unwrap().is_empty(), "{old}");

    // Bad input: a malformed date names the field; unknown teams and outsiders get 404.
    let (s, v) = get(&t, a, &format!("/api/v1/teams/{team}/standup?date=2026-02-30")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "date");
    let (s, _) = get(&t, a, "/api/v1/teams/999999/standup").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = get(&t, a, &format!("/api/v1/teams/{sprint}/standup")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a sprint is not a team");
    let other = t.product("OTHER").await;
    let (_, outsider) = t.member(&other, "out@keel.test", &[Role::Team]).await;
    let (s, _) = get(&t, &outsider, &format!("/api/v1/teams/{team}/standup")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn accept(t: &TestApp, item: &Value) {
    let id = ItemId(item["id"].as_i64().unwrap());
    let cur = t.app.store().item(id).await.unwrap();
    let p = ItemPatch {
        acceptance: Some(Acceptance { state: AcceptanceState::Accepted, note: String::new() }),
        ..Default::default()
    };
    t.app.store().update_item(id, cur.version, &p, &ctx(t)).await.expect("accept");
}

async fn review_splits_accepted_and_waiting_and_publishes(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (alice, alice_token) = t.member(&shop, "alice@keel.test", &[Role::Team]).await;
    let (_, sh_token) = t.member(&shop, "stake@keel.test", &[Role::Stakeholder]).await;
    let (_, sprint) = team_and_sprint(&t, &shop, &[&alice], "active").await;
    let a = &t.admin_token;
    let acc = create(&t, a, "SHOP", json!({"title": "Accepted story", "sprint": sprint})).await;
    let wait = create(&t, a, "SHOP", json!({"title": "Waiting story", "sprint": sprint})).await;
    let open = create(&t, a, "SHOP", json!({"title": "Unfinished story", "sprint": sprint})).await;
    let outside = create(&t, a, "SHOP", json!({"title": "Not in the sprint"})).await;
    // The team estimates.
    for (item, pts) in [(&acc, 5), (&wait, 3), (&open, 2), (&outside, 8)] {
        let (s, v) = patch(
            &t,
            &alice_token,
            &format!("/api/v1/items/{}", item["key"].as_str().unwrap()),
            json!({"estimate": pts}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    set_status(&t, a, &acc, "Done").await;
    accept(&t, &acc).await;
    // The team puts the second story forward; it waits for the Product Owner.
    set_status(&t, a, &wait, "In Review").await;
    let (s, v) = post(
        &t,
        &alice_token,
        &format!("/api/v1/items/{}/acceptance", wait["key"].as_str().unwrap()),
        json!({"action": "ready"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let (s, r) = get(&t, a, &format!("/api/v1/sprints/{sprint}/review")).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(keys(&r["accepted"]), vec![acc["key"].as_str().unwrap()]);
    assert_eq!(keys(&r["waiting"]), vec![wait["key"].as_str().unwrap()]);
    assert_eq!(keys(&r["unfinished"]), vec![open["key"].as_str().unwrap()]);
    assert_eq!((r["points_done"].as_f64(), r["points_accepted"].as_f64()), (Some(5.0), Some(5.0)));
    assert_eq!((r["points_committed"].as_f64(), r["committed_from"].as_str()), (Some(10.0), Some("scope")));
    assert!(r["summary"].is_null());
    assert_eq!(r["can_write"], true);

    // Only the Product Owner writes the summary; a team member's attempt is refused.
    let path = format!("/api/v1/sprints/{sprint}/review");
    let (s, v) =
        call(&t, &alice_token, Method::PUT, &path, Some(json!({"summary": "x", "publish": true}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = call(&t, a, Method::PUT, &path, Some(json!({"summary": "", "publish": true}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "summary");
    let (s, v) = call(&t, a, Method::PUT, &path, Some(json!({"summary": "x", "publish": "yes"}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // A draft is invisible to stakeholders; a published summary is visible.
    let (s, v) = call(&t, a, Method::PUT, &path, Some(json!({"summary": "Draft *one*"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["summary"]["draft"], "Draft *one*");
    assert!(v["summary"]["published"].is_null());
    let (_, v) = get(&t, &sh_token, &path).await;
    assert!(v["summary"].is_null(), "stakeholders see no draft: {v}");
    assert_eq!(v["can_write"], false);
    let version = {
        let (_, v) = get(&t, a, &path).await;
        v["summary"]["version"].as_i64().unwrap()
    };
    let body = json!({"summary": "We shipped **checkout**.", "publish": true, "version": version});
    let (s, v) = call(&t, a, Method::PUT, &path, Some(body.clone())).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["summary"]["published"], "We shipped **checkout**.");
    // The same stale version again is a conflict.
    let (s, v) = call(&t, a, Method::PUT, &path, Some(body)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    call(&t, a, Method::PUT, &path, Some(json!({"summary": "Next draft"}))).await;
    let (_, v) = get(&t, &sh_token, &path).await;
    assert_eq!(v["summary"]["published"], "We shipped **checkout**.", "{v}");
    assert!(v["summary"].get("draft").is_none(), "{v}");
    let (_, v) = get(&t, &alice_token, &path).await;
    assert_eq!(v["summary"]["draft"], "Next draft");

    // A closed sprint: its unfinished items have moved on, its summary names them, and the
    // commitment frozen at its start is what it is measured against.
    let team_id = t.app.store().record(keel_domain::RecordId(sprint)).await.unwrap().parent_id;
    let today = Date::of(keel_app::now());
    let closed = Sprint {
        name: "Sprint 0".into(),
        goal: String::new(),
        start: today.plus_days(-20),
        end: today.plus_days(-7),
        capacity: Vec::new(),
        commitment: Some(Commitment { at: keel_app::now(), items: Vec::new(), points: 12.0 }),
        summary: Some(SprintSummary {
            at: keel_app::now(),
            committed: 12.0,
            completed: 0.0,
            added: 0.0,
            removed: 0.0,
            completed_items: Vec::new(),
            carried_over: vec![(ItemId(open["id"].as_i64().unwrap()), "backlog".into())],
        }),
    };
    let old = record(&t, new_record(Some(shop.id), team_id, "closed", None, &closed).unwrap()).await;
    let (s, r) = get(&t, &sh_token, &format!("/api/v1/sprints/{old}/review")).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(keys(&r["unfinished"]), vec![open["key"].as_str().unwrap()]);
    assert_eq!(
        (r["points_committed"].as_f64(), r["committed_from"].as_str()),
        (Some(12.0), Some("commitment"))
    );
    assert_eq!(r["points_done"].as_f64(), Some(0.0));

    let (s, _) = get(&t, a, "/api/v1/sprints/999999/review").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = get(&t, a, "/api/v1/sprints/abc/review").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn card_count(t: &TestApp, sprint: i64) -> usize {
    let (s, v) = get(t, &t.admin_token, &format!("/api/v1/sprints/{sprint}/retro")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["columns"].as_array().unwrap().iter().map(|c| c["cards"].as_array().unwrap().len()).sum()
}

async fn retro_cards_and_their_validation(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (alice, alice_token) = t.member(&shop, "alice@keel.test", &[Role::Team]).await;
    let (_, bob_token) = t.member(&shop, "bob@keel.test", &[Role::Team]).await;
    let (_, sh_token) = t.member(&shop, "stake@keel.test", &[Role::Stakeholder]).await;
    let (_, sprint) = team_and_sprint(&t, &shop, &[&alice], "closed").await;
    let cards = format!("/api/v1/sprints/{sprint}/retro/cards");
    let doc: Value =
        Client::new().get(t.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    for p in [
        "/api/v1/teams/{id}/standup",
        "/api/v1/sprints/{id}/review",
        "/api/v1/sprints/{id}/retro",
        "/api/v1/sprints/{id}/retro/cards",
        "/api/v1/retro-cards/{id}",
        "/api/v1/retro-cards/{id}/vote",
        "/api/v1/retro-cards/{id}/to-item",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} is documented");
    }

    let (s, c) =
        post(&t, &alice_token, &cards, json!({"column": "went_well", "text": "  Pairing on checkout  "}))
            .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(
        (c["column"].as_str(), c["text"].as_str(), c["votes"].as_u64()),
        (Some("went_well"), Some("Pairing on checkout"), Some(0))
    );
    assert_eq!(c["author_id"], alice.id.0);
    let card = c["id"].as_i64().unwrap();

    // Bad input changes nothing.
    for (body, field, status) in [
        (json!({"column": "done", "text": "x"}), "column", StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"column": "actions", "text": "   "}), "text", StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"column": "actions", "text": "é".repeat(1001)}), "text", StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"column": "actions"}), "text", StatusCode::BAD_REQUEST),
        (json!({"column": "actions", "text": "x", "votes": 3}), "votes", StatusCode::BAD_REQUEST),
    ] {
        let (s, v) = post(&t, &alice_token, &cards, body).await;
        assert_eq!(s, status, "{v}");
        assert_eq!(v["field"], field, "{v}");
    }
    let (s, _) = post(&t, &alice_token, &cards, json!({"column": "actions", "text": "é".repeat(1000)})).await;
    assert_eq!(s, StatusCode::CREATED, "1000 characters fit");
    assert_eq!(card_count(&t, sprint).await, 2);

    // Stakeholders read the board but may not add cards.
    let (s, v) = post(&t, &sh_token, &cards, json!({"column": "to_improve", "text": "More demos"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = get(&t, &sh_token, &format!("/api/v1/sprints/{sprint}/retro")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["can_write"], false);
    assert_eq!(
        v["columns"].as_array().unwrap().iter().map(|c| c["column"].as_str().unwrap()).collect::<Vec<_>>(),
        ["went_well", "to_improve", "actions"]
    );
    let (s, _) = post(&t, &sh_token, &format!("/api/v1/retro-cards/{card}/vote"), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(card_count(&t, sprint).await, 2);

    // The author or the Product Owner changes a card; another team member may not.
    let path = format!("/api/v1/retro-cards/{card}");
    let (s, v) = patch(&t, &bob_token, &path, json!({"text": "Mine now"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) =
        patch(&t, &alice_token, &path, json!({"text": "Pairing helped", "column": "to_improve"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["text"].as_str(), v["column"].as_str()), (Some("Pairing helped"), Some("to_improve")));
    let (s, v) = patch(&t, &t.admin_token, &path, json!({"column": "sideways"})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("column")), "{v}");
    let (s, v) = patch(&t, &t.admin_token, &path, json!({"column": "went_well", "version": 1})).await;
    assert_eq!(s, StatusCode::CONFLICT, "a stale version: {v}");
    let (s, v) = patch(&t, &t.admin_token, &path, json!({"column": "went_well"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = call(&t, &bob_token, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(&t, &alice_token, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(card_count(&t, sprint).await, 1);
    let (s, _) = patch(&t, &alice_token, &path, json!({"text": "gone"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Outsiders see nothing.
    let other = t.product("OTHER").await;
    let (_, outsider) = t.member(&other, "out@keel.test", &[Role::Team]).await;
    let (s, _) = get(&t, &outsider, &format!("/api/v1/sprints/{sprint}/retro")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = post(&t, &outsider, &cards, json!({"column": "actions", "text": "x"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn retro_votes_toggle_and_concurrent_votes_count(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let mut tokens = Vec::new();
    let mut users = Vec::new();
    for n in 0..5 {
        let (u, tok) = t.member(&shop, &format!("dev{n}@keel.test"), &[Role::Team]).await;
        users.push(u);
        tokens.push(tok);
    }
    let refs: Vec<&User> = users.iter().collect();
    let (_, sprint) = team_and_sprint(&t, &shop, &refs, "active").await;
    let cards = format!("/api/v1/sprints/{sprint}/retro/cards");
    let (_, low) = post(&t, &tokens[0], &cards, json!({"column": "to_improve", "text": "Flaky tests"})).await;
    let (_, high) =
        post(&t, &tokens[0], &cards, json!({"column": "to_improve", "text": "Long reviews"})).await;
    let (low, high) = (low["id"].as_i64().unwrap(), high["id"].as_i64().unwrap());

    // Voting twice takes the vote back.
    let vote = |c: i64| format!("/api/v1/retro-cards/{c}/vote");
    let (s, v) = post(&t, &tokens[1], &vote(low), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["votes"].as_u64(), v["voted"].as_bool()), (Some(1), Some(true)));
    let (_, v) = call(&t, &tokens[1], Method::POST, &vote(low), None).await;
    assert_eq!((v["votes"].as_u64(), v["voted"].as_bool()), (Some(0), Some(false)), "{v}");

    // Five people voting at the same moment: every vote counts.
    let mut handles = Vec::new();
    for tok in &tokens {
        let url = t.url(&vote(high));
        let tok = tok.clone();
        handles.push(tokio::spawn(async move {
            Client::new().post(url).bearer_auth(tok).send().await.expect("vote").status()
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), StatusCode::OK);
    }
    let (_, v) = post(&t, &tokens[2], &vote(low), json!({})).await;
    assert_eq!(v["votes"], 1);
    let (_, board) = get(&t, &tokens[3], &format!("/api/v1/sprints/{sprint}/retro")).await;
    let col = board["columns"].as_array().unwrap().iter().find(|c| c["column"] == "to_improve").unwrap();
    let order: Vec<(i64, u64)> = col["cards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_i64().unwrap(), c["votes"].as_u64().unwrap()))
        .collect();
    assert_eq!(order, vec![(high, 5), (low, 1)], "sorted by votes: {col}");
    assert_eq!(col["cards"][0]["voted"], true);
    assert_eq!(col["cards"][1]["voted"], false, "dev3 did not vote for the low card");
    let (s, _) = post(&t, &tokens[0], "/api/v1/retro-cards/999999/vote", json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn retro_actions_become_backlog_items_once(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (alice, alice_token) = t.member(&shop, "alice@keel.test", &[Role::Team]).await;
    let (_, sprint) = team_and_sprint(&t, &shop, &[&alice], "closed").await;
    let a = &t.admin_token;
    create(&t, a, "SHOP", json!({"title": "Existing work"})).await;
    let cards = format!("/api/v1/sprints/{sprint}/retro/cards");
    let (_, c) = post(
        &t,
        &alice_token,
        &cards,
        json!({"column": "actions", "text": "Automate release notes\nThey take an hour each time"}),
    )
    .await;
    let card = c["id"].as_i64().unwrap();
    let to_item = format!("/api/v1/retro-cards/{card}/to-item");

    // Bad kind: 422 naming it, nothing created.
    let (s, v) = post(&t, a, &to_item, json!({"kind": "epic"})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("kind")), "{v}");

    // The Product Owner makes the item: at the top of the backlog, linking back to the retro.
    let (s, v) = call(&t, a, Method::POST, &to_item, None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let key = v["item"]["key"].as_str().unwrap().to_string();
    assert_eq!(v["item"]["kind"], "task");
    assert_eq!(v["item"]["title"], "Automate release notes");
    assert_eq!(v["card"]["item"], key.as_str());
    let (_, item) = get(&t, a, &format!("/api/v1/items/{key}")).await;
    let d = item["description"].as_str().unwrap();
    assert!(d.starts_with("From the retrospective of Sprint 1"), "{d}");
    assert!(d.contains(&format!("/sprints/{sprint}/retro")), "{d}");
    assert!(d.contains("They take an hour"), "{d}");
    let (_, backlog) = get(&t, a, "/api/v1/products/SHOP/backlog").await;
    assert_eq!(backlog["items"][0]["key"], key.as_str(), "at the top");
    let (_, board) = get(&t, &alice_token, &format!("/api/v1/sprints/{sprint}/retro")).await;
    let actions = board["columns"].as_array().unwrap().iter().find(|c| c["column"] == "actions").unwrap();
    assert_eq!(actions["cards"][0]["item"], key.as_str());

    // A second time is a conflict, and no second item appears.
    let (s, v) = post(&t, a, &to_item, json!({"kind": "story"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (_, after) = get(&t, a, "/api/v1/products/SHOP/items?limit=500").await;
    assert_eq!(after["items"].as_array().unwrap().len(), 2);

    // A team member may only propose creating items: 202, noted on the card, then 409.
    let (_, c2) =
        post(&t, &alice_token, &cards, json!({"column": "actions", "text": "Write a deployment checklist"}))
            .await;
    let path2 = format!("/api/v1/retro-cards/{}/to-item", c2["id"]);
    let (s, p) = post(&t, &alice_token, &path2, json!({"kind": "story"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{p}");
    assert!(p["summary"].as_str().unwrap().contains("Write a deployment checklist"), "{p}");
    let (_, board) = get(&t, &alice_token, &format!("/api/v1/sprints/{sprint}/retro")).await;
    let actions = board["columns"].as_array().unwrap().iter().find(|c| c["column"] == "actions").unwrap();
    let noted = actions["cards"].as_array().unwrap().iter().find(|c| c["id"] == c2["id"]).unwrap();
    assert_eq!(noted["proposal_id"], p["id"]);
    let (s, _) = post(&t, &alice_token, &path2, json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, after) = get(&t, a, "/api/v1/products/SHOP/items?limit=500").await;
    assert_eq!(after["items"].as_array().unwrap().len(), 2, "a proposal creates nothing yet");
    // Once the Product Owner accepts it, the board names the item it created.
    let (s, v) = call(&t, a, Method::POST, &format!("/api/v1/proposals/{}/accept", p["id"]), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, board) = get(&t, &alice_token, &format!("/api/v1/sprints/{sprint}/retro")).await;
    let actions = board["columns"].as_array().unwrap().iter().find(|c| c["column"] == "actions").unwrap();
    let noted = actions["cards"].as_array().unwrap().iter().find(|c| c["id"] == c2["id"]).unwrap();
    assert_eq!(
        (noted["proposal_state"].as_str(), noted["item"].as_str()),
        (Some("accepted"), Some("SHOP-3")),
        "{noted}"
    );
    let (s, _) = post(&t, a, &path2, json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // A declined proposal may be made again.
    let (_, c4) =
        post(&t, &alice_token, &cards, json!({"column": "actions", "text": "Rotate the on-call"})).await;
    let path4 = format!("/api/v1/retro-cards/{}/to-item", c4["id"]);
    let (s, p4) = post(&t, &alice_token, &path4, json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{p4}");
    let (s, v) =
        post(&t, a, &format!("/api/v1/proposals/{}/decline", p4["id"]), json!({"reason": "Not now"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = post(&t, a, &path4, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["card"]["item"], "SHOP-4");

    // Two people making an item of one card at the same moment: one item, one conflict; the
    // loser's item is rolled back with its batch.
    let (_, c5) =
        post(&t, &alice_token, &cards, json!({"column": "actions", "text": "Pair on reviews"})).await;
    let (_, before) = get(&t, a, "/api/v1/products/SHOP/items?limit=500").await;
    let mut handles = Vec::new();
    for _ in 0..2 {
        let url = t.url(&format!("/api/v1/retro-cards/{}/to-item", c5["id"]));
        let tok = t.admin_token.clone();
        handles.push(tokio::spawn(async move {
            Client::new().post(url).bearer_auth(tok).send().await.expect("to-item").status()
        }));
    }
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap().as_u16());
    }
    statuses.sort();
    assert_eq!(statuses, vec![201, 409]);
    let (_, after) = get(&t, a, "/api/v1/products/SHOP/items?limit=500").await;
    assert_eq!(after["items"].as_array().unwrap().len(), before["items"].as_array().unwrap().len() + 1);

    // Cards outside the actions column do not become items.
    let (_, c3) =
        post(&t, &alice_token, &cards, json!({"column": "went_well", "text": "Demo went well"})).await;
    let (s, _) = post(&t, a, &format!("/api/v1/retro-cards/{}/to-item", c3["id"]), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);
}

/// A browser-like client signed in as `email`, not following redirects, and its CSRF token.
async fn session(t: &TestApp, email: &str, password: &str) -> (Client, String) {
    let c = Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = c
        .post(t.url("/api/v1/session"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = r.json().await.unwrap();
    (c, me["csrf_token"].as_str().unwrap().to_string())
}

async fn form(c: &Client, t: &TestApp, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let r = c.post(t.url(path)).form(fields).send().await.unwrap();
    let loc = r.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (r.status(), loc)
}

async fn page(c: &Client, t: &TestApp, path: &str) -> (StatusCode, String) {
    let r = c.get(t.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn pages_and_forms_work_without_script(db: TestDb) {
    use keel_testkit::app::{ADMIN_EMAIL, ADMIN_PASSWORD, MEMBER_PASSWORD};
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (alice, _) = t.member(&shop, "alice@keel.test", &[Role::Team]).await;
    t.member(&shop, "stake@keel.test", &[Role::Stakeholder]).await;
    let (team, sprint) = team_and_sprint(&t, &shop, &[&alice], "active").await;
    let (c, csrf) = session(&t, "alice@keel.test", MEMBER_PASSWORD).await;
    let retro = format!("/sprints/{sprint}/retro");

    let (s, html) = page(&c, &t, &retro).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"retro-board\"") && html.contains("id=\"add-actions\""), "{html}");
    assert!(html.contains("/assets/ceremonies."), "the page loads its script");

    // Adding a card: a 303 back to the card; a bad column comes back with the error, and a form
    // without the CSRF token is refused; neither creates anything.
    let cards = format!("{retro}/cards");
    let (s, loc) =
        form(&c, &t, &cards, &[("csrf", &csrf), ("column", "actions"), ("text", "Automate <b>notes</b>")])
            .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.starts_with(&format!("{retro}#card-")), "{loc}");
    let card: i64 = loc.rsplit('-').next().unwrap().parse().unwrap();
    let (s, loc) = form(&c, &t, &cards, &[("csrf", &csrf), ("column", "later"), ("text", "x")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.contains("error=Column"), "{loc}");
    let (s, _) = form(&c, &t, &cards, &[("column", "actions"), ("text", "x")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(card_count(&t, sprint).await, 1);
    let (_, html) = page(&c, &t, &retro).await;
    assert!(html.contains("notes") && !html.contains("<b>notes</b>"), "card text is escaped");

    // Voting through the form.
    let (s, loc) = form(&c, &t, &format!("/retro-cards/{card}/vote"), &[("csrf", &csrf)]).await;
    assert_eq!((s, loc), (StatusCode::SEE_OTHER, format!("{retro}#card-{card}")));
    let (_, board) = get(&t, &t.admin_token, &format!("/api/v1{retro}")).await;
    assert_eq!(board["columns"][2]["cards"][0]["votes"], 1, "{board}");

    // The Product Owner makes the action a backlog item; the page then shows its key.
    let (po, po_csrf) = session(&t, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (s, loc) =
        form(&po, &t, &format!("/retro-cards/{card}/to-item"), &[("csrf", &po_csrf), ("kind", "story")])
            .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.contains("notice=Created%20SHOP-1"), "{loc}");
    let (_, html) = page(&c, &t, &retro).await;
    assert!(html.contains("data-item=\"SHOP-1\""), "{html}");
    let (_, item) = get(&t, &t.admin_token, "/api/v1/items/SHOP-1").await;
    assert_eq!(item["kind"], "story");

    // The stand-up page, its day in the URL; a bad day is a 422 page.
    let (s, html) = page(&c, &t, &format!("/teams/{team}/standup?date=2026-11-23")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("moves since Friday 2026-11-20"), "{html}");
    assert!(html.contains("date=2026-11-22") && html.contains("date=2026-11-24"), "previous and next links");
    let (s, _) = page(&c, &t, &format!("/teams/{team}/standup?date=someday")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // The review: the Product Owner publishes through the form; Markdown is rendered and
    // sanitised; stakeholders read it without a form.
    let review = format!("/sprints/{sprint}/review");
    let summary = "Shipped **checkout**. <script>alert(1)</script>";
    let (s, loc) =
        form(&po, &t, &review, &[("csrf", &po_csrf), ("summary", summary), ("publish", "1")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.contains("notice=Published"), "{loc}");
    let (sh, _) = session(&t, "stake@keel.test", MEMBER_PASSWORD).await;
    let (s, html) = page(&sh, &t, &review).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<strong>checkout</strong>"), "{html}");
    assert!(!html.contains("<script>alert"), "sanitised");
    assert!(!html.contains("name=\"summary\""), "stakeholders get no form");
    let (s, loc) = form(&c, &t, &review, &[("csrf", &csrf), ("summary", "mine"), ("publish", "1")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.contains("error="), "a team member may not publish: {loc}");
    let (_, html) = page(&sh, &t, &retro).await;
    assert!(!html.contains("retro-add"), "stakeholders read the board only");
}

async fn members_of_any_product_the_team_serves_take_part(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let two = t.product("TWO").await;
    let (carol, carol_token) = t.member(&two, "carol@keel.test", &[Role::Team]).await;
    let team = Team {
        name: "Shared".into(),
        products: vec![shop.id, two.id],
        members: vec![TeamMember { user_id: carol.id, points: None, days: None }],
        board: Default::default(),
    };
    let team_id = record(&t, new_record(Some(shop.id), None, "", None, &team).unwrap()).await;
    let today = Date::of(keel_app::now());
    let sprint = Sprint {
        name: "Shared 1".into(),
        goal: String::new(),
        start: today,
        end: today.plus_days(9),
        capacity: Vec::new(),
        commitment: None,
        summary: None,
    };
    let sprint_id =
        record(&t, new_record(Some(shop.id), Some(team_id), "active", None, &sprint).unwrap()).await;
    // Carol is a member of TWO only: she still holds the team's stand-up, review and retro.
    let (s, v) = get(&t, &carol_token, &format!("/api/v1/teams/{team_id}/standup")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = get(&t, &carol_token, &format!("/api/v1/sprints/{sprint_id}/review")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, c) = post(
        &t,
        &carol_token,
        &format!("/api/v1/sprints/{sprint_id}/retro/cards"),
        json!({"column": "actions", "text": "Share fixtures"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (s, v) = post(&t, &carol_token, &format!("/api/v1/retro-cards/{}/vote", c["id"]), json!({})).await;
    assert_eq!((s, v["votes"].as_u64()), (StatusCode::OK, Some(1)), "{v}");
    let other = t.product("OTHER").await;
    let (_, outsider) = t.member(&other, "out@keel.test", &[Role::Team]).await;
    let (s, _) = get(&t, &outsider, &format!("/api/v1/sprints/{sprint_id}/retro")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
