//! Products are isolated: a member of product AA only (its Product Manager and Product Owner,
//! the strongest roles) tries B's objects directly by id and key, and through AA's own objects
//! with B's ids and keys crafted into bodies (links, parents, sprints, releases, merges, key
//! results, forecasts, bulk edits, proposals, board moves, teams), through search, lists,
//! notifications and CSV exports. Every crafted request is refused without naming anything of
//! B, nothing of B shows up anywhere, and (SQLite) the database is byte-for-byte what it was.
//! On SQLite and (when `KEEL_TEST_DATABASE_URL` is set) PostgreSQL.

use keel_app::Settings;
use keel_domain::product::Role;
use keel_testkit::{spawn_app_with, TestApp, TestDb};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;

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

api_tests!(a_member_of_one_product_never_sees_or_changes_another);

/// A word only B's objects carry: it must never come back to the member of AA.
const SECRET: &str = "Zanzibar";

async fn call(
    t: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, String) {
    let mut r = Client::new().request(method, t.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let res = r.send().await.expect("request");
    (res.status(), res.text().await.expect("body"))
}

async fn mk(t: &TestApp, path: &str, body: Value) -> Value {
    let (s, text) = call(t, &t.admin_token, Method::POST, path, Some(body)).await;
    assert!(s.is_success(), "seed {path}: {s} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

fn key(v: &Value) -> String {
    v["key"].as_str().unwrap_or_else(|| panic!("no key in {v}")).to_string()
}

/// One product's objects.
struct Objects {
    epic: String,
    story: String,
    team: i64,
    sprint: i64,
    release: i64,
    goal: i64,
    kpi: i64,
    initiative: i64,
    opportunity: i64,
    feedback: i64,
    comment: i64,
    webhook: i64,
}

async fn objects(t: &TestApp, p: &str, word: &str) -> Objects {
    let pp = format!("/api/v1/products/{p}");
    let epic =
        key(&mk(t, &format!("{pp}/items"), json!({"kind": "epic", "title": format!("{word} epic")})).await);
    let story =
        key(&mk(t, &format!("{pp}/items"), json!({"title": format!("{word} story"), "parent": epic})).await);
    let team = id(&mk(t, &format!("{pp}/teams"), json!({"name": format!("{word} team")})).await);
    let sprint = id(&mk(
        t,
        &format!("/api/v1/teams/{team}/sprints"),
        json!({"name": format!("{word} sprint"), "start": "2026-01-05", "end": "2026-01-16"}),
    )
    .await);
    let release = id(&mk(t, &format!("{pp}/releases"), json!({"name": format!("{word} release")})).await);
    let goal = id(&mk(t, &format!("{pp}/goals"), json!({"title": format!("{word} goal")})).await);
    let kpi =
        id(&mk(t, &format!("{pp}/kpis"), json!({"name": format!("{word} kpi"), "baseline": 1, "target": 2}))
            .await);
    let initiative =
        id(&mk(t, &format!("{pp}/initiatives"), json!({"title": format!("{word} initiative")})).await);
    let opportunity =
        id(&mk(t, &format!("{pp}/opportunities"), json!({"title": format!("{word} opportunity")})).await);
    let feedback = id(&mk(t, &format!("{pp}/feedback"), json!({"text": format!("{word} feedback")})).await);
    let comment =
        id(&mk(t, &format!("/api/v1/items/{story}/comments"), json!({"body": format!("{word} @amy")})).await);
    let webhook = id(&mk(
        t,
        &format!("{pp}/webhooks"),
        json!({"url": "http://127.0.0.1:9/h", "events": ["item.created"]}),
    )
    .await);
    Objects {
        epic,
        story,
        team,
        sprint,
        release,
        goal,
        kpi,
        initiative,
        opportunity,
        feedback,
        comment,
        webhook,
    }
}

/// Every table's rows (SQLite), but API tokens (their last use is recorded on every request).
fn dump(url: &str) -> Option<BTreeMap<String, Vec<String>>> {
    let path = url.strip_prefix("sqlite:")?;
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .filter(|t: &String| !t.contains("token") && !t.contains("fts") && !t.starts_with("webhook_"))
        .collect();
    let mut out = BTreeMap::new();
    for t in tables {
        let mut st = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = st.column_count();
        let mut rows: Vec<String> = st
            .query_map([], |r| {
                let mut s = String::new();
                for i in 0..n {
                    let v: rusqlite::types::Value = r.get(i)?;
                    s.push_str(&format!("{v:?}|"));
                }
                Ok(s)
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.sort();
        out.insert(t, rows);
    }
    Some(out)
}

async fn a_member_of_one_product_never_sees_or_changes_another(db: TestDb) {
    let mut settings = Settings::default();
    settings.webhooks.allow_private = true;
    let t = spawn_app_with(db, settings).await;
    let aa = t.product("AA").await;
    t.product("BB").await;
    let (_, amy) = t.member(&aa, "amy@keel.test", &[Role::Pm, Role::Po]).await;
    let a = objects(&t, "AA", "Alpha").await;
    let b = objects(&t, "BB", SECRET).await;
    let release_a = a.release;

    // B's objects by id and key: 404, the same answer as for an id that does not exist.
    let direct = [
        "/api/v1/products/BB".to_string(),
        "/api/v1/products/BB/items".to_string(),
        "/api/v1/products/BB/backlog".to_string(),
        "/api/v1/products/BB/cycle-time?format=csv".to_string(),
        "/api/v1/products/BB/webhooks".to_string(),
        format!("/api/v1/items/{}", b.story),
        format!("/api/v1/items/{}/history", b.story),
        format!("/api/v1/items/{}/comments", b.story),
        format!("/api/v1/teams/{}", b.team),
        format!("/api/v1/teams/{}/velocity", b.team),
        format!("/api/v1/sprints/{}", b.sprint),
        format!("/api/v1/sprints/{}/burndown", b.sprint),
        format!("/api/v1/releases/{}", b.release),
        format!("/api/v1/releases/{}/notes", b.release),
        format!("/api/v1/goals/{}", b.goal),
        format!("/api/v1/kpis/{}", b.kpi),
        format!("/api/v1/kpis/{}/measurements", b.kpi),
        format!("/api/v1/initiatives/{}", b.initiative),
        format!("/api/v1/opportunities/{}", b.opportunity),
        format!("/api/v1/feedback/{}", b.feedback),
        format!("/api/v1/webhooks/{}", b.webhook),
        format!("/api/v1/webhooks/{}/deliveries", b.webhook),
        format!("/api/v1/search?q={SECRET}&product=BB"),
    ];
    let before = dump(&t.db.url);
    let mut failures = vec![];
    let mut n = 0;
    for path in &direct {
        let (s, text) = call(&t, &amy, Method::GET, path, None).await;
        n += 1;
        if s != StatusCode::NOT_FOUND || text.contains(SECRET) {
            failures.push(format!("GET {path}: {s} {text}"));
        }
    }
    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::PATCH, format!("/api/v1/items/{}", b.story), Some(json!({"title": "mine"}))),
        (Method::DELETE, format!("/api/v1/items/{}", b.story), None),
        (Method::PATCH, format!("/api/v1/comments/{}", b.comment), Some(json!({"body": "mine"}))),
        (Method::DELETE, format!("/api/v1/comments/{}", b.comment), None),
        (Method::POST, format!("/api/v1/items/{}/comments", b.story), Some(json!({"body": "hello"}))),
        (Method::PUT, format!("/api/v1/items/{}/watch", b.story), None),
        (Method::PATCH, format!("/api/v1/webhooks/{}", b.webhook), Some(json!({"active": false}))),
        (
            Method::POST,
            format!("/api/v1/kpis/{}/measurements", b.kpi),
            Some(json!({"date": "2026-01-02", "value": 1})),
        ),
        (Method::PATCH, "/api/v1/products/BB".to_string(), Some(json!({"name": "Mine"}))),
        // B's ids and keys inside AA's own objects.
        (
            Method::POST,
            format!("/api/v1/items/{}/links", a.story),
            Some(json!({"kind": "blocks", "to": b.story})),
        ),
        (Method::PATCH, format!("/api/v1/items/{}", a.story), Some(json!({"parent": b.epic}))),
        (Method::PATCH, format!("/api/v1/items/{}", a.story), Some(json!({"sprint": b.sprint}))),
        (Method::PATCH, format!("/api/v1/items/{}", a.story), Some(json!({"release": b.release}))),
        (
            Method::POST,
            "/api/v1/products/AA/items".to_string(),
            Some(json!({"title": "x", "parent": b.epic})),
        ),
        (Method::POST, format!("/api/v1/sprints/{}/items", a.sprint), Some(json!({"key": b.story}))),
        (Method::POST, format!("/api/v1/items/{}/move", a.story), Some(json!({"before": b.story}))),
        (
            Method::POST,
            "/api/v1/products/AA/items/bulk".to_string(),
            Some(json!({"keys": [b.story], "set": {"labels_add": ["x"]}})),
        ),
        (
            Method::POST,
            "/api/v1/products/AA/items/bulk".to_string(),
            Some(json!({"keys": [a.story], "set": {"sprint": b.sprint}})),
        ),
        (
            Method::POST,
            "/api/v1/products/AA/items/bulk".to_string(),
            Some(json!({"keys": [a.story], "set": {"epic": b.epic}})),
        ),
        (
            Method::POST,
            "/api/v1/products/AA/proposals".to_string(),
            Some(json!({"type": "update_item", "item": b.story, "fields": {"title": "x"}})),
        ),
        (Method::PUT, format!("/api/v1/feedback/{}/opportunities/{}", a.feedback, b.opportunity), None),
        (Method::POST, format!("/api/v1/feedback/{}/merge", a.feedback), Some(json!({"into": b.feedback}))),
        (
            Method::POST,
            format!("/api/v1/opportunities/{}/merge", a.opportunity),
            Some(json!({"into": b.opportunity})),
        ),
        (
            Method::POST,
            format!("/api/v1/opportunities/{}/promote", a.opportunity),
            Some(json!({"initiative": b.initiative})),
        ),
        (
            Method::POST,
            "/api/v1/products/AA/feedback".to_string(),
            Some(json!({"text": "x", "opportunities": [b.opportunity]})),
        ),
        (Method::PATCH, format!("/api/v1/initiatives/{}", a.initiative), Some(json!({"goals": [b.goal]}))),
        (Method::PATCH, format!("/api/v1/initiatives/{}", a.initiative), Some(json!({"epics": [b.epic]}))),
        (
            Method::POST,
            format!("/api/v1/goals/{}/key-results", a.goal),
            Some(json!({"title": "x", "kpi_id": b.kpi})),
        ),
        (
            Method::POST,
            format!("/api/v1/releases/{release_a}/release"),
            Some(json!({"open_items": "move_to", "move_to": b.release})),
        ),
        (
            Method::POST,
            "/api/v1/forecasts".to_string(),
            Some(
                json!({"product": "AA", "selection": {"release": b.release}, "mode": "throughput", "question": "when"}),
            ),
        ),
        (
            Method::POST,
            "/api/v1/forecasts".to_string(),
            Some(
                json!({"product": "AA", "selection": {"items": [b.story]}, "mode": "throughput", "question": "when"}),
            ),
        ),
        (
            Method::POST,
            "/api/v1/forecasts".to_string(),
            Some(
                json!({"product": "AA", "team": b.team, "selection": {"epic": b.epic}, "mode": "points", "question": "when"}),
            ),
        ),
        (
            Method::POST,
            format!("/api/v1/teams/{}/board/moves", a.team),
            Some(json!({"key": b.story, "column": "In Progress"})),
        ),
        (Method::PATCH, format!("/api/v1/teams/{}", a.team), Some(json!({"products": ["AA", "BB"]}))),
        (
            Method::PUT,
            format!("/api/v1/teams/{}/members", b.team),
            Some(json!({"members": [{"user": "amy@keel.test", "points": 5}]})),
        ),
    ];
    for (m, path, body) in writes {
        let (s, text) = call(&t, &amy, m.clone(), &path, body.clone()).await;
        n += 1;
        if !s.is_client_error() || text.contains(SECRET) {
            failures.push(format!("{m} {path} {body:?}: {s} {text}"));
        }
    }
    // Nothing of B in lists, search, the inbox or AA's exports.
    for path in [
        "/api/v1/products".to_string(),
        "/api/v1/portfolio".to_string(),
        format!("/api/v1/search?q={SECRET}"),
        format!("/api/v1/search?q={SECRET}&product=AA"),
        format!("/api/v1/search?q={}", b.story),
        "/api/v1/notifications".to_string(),
        "/api/v1/products/AA/items".to_string(),
        "/api/v1/products/AA/decisions".to_string(),
        "/api/v1/products/AA/cycle-time?format=csv".to_string(),
        "/api/v1/products/AA/throughput?format=csv".to_string(),
        format!("/api/v1/teams/{}/velocity?format=csv", a.team),
        format!("/api/v1/items/{}/history", a.story),
        format!("/api/v1/items/{}/links", a.story),
        format!("/api/v1/items/{}/chain", a.story),
    ] {
        let (s, text) = call(&t, &amy, Method::GET, &path, None).await;
        n += 1;
        if s.is_server_error() || text.contains(SECRET) || text.contains("\"BB\"") {
            failures.push(format!("GET {path}: {s} {text}"));
        }
    }
    // Positive controls: the same lists do show AA's own objects, so an empty answer above is
    // not why nothing of B was seen.
    for (path, want) in [
        ("/api/v1/notifications".to_string(), "Alpha"),
        ("/api/v1/search?q=Alpha&product=AA".to_string(), a.story.as_str()),
        ("/api/v1/products".to_string(), "\"AA\""),
    ] {
        let (s, text) = call(&t, &amy, Method::GET, &path, None).await;
        assert!(s.is_success() && text.contains(want), "GET {path} should show {want}: {s} {text}");
    }
    assert!(before.is_some() == t.db.url.starts_with("sqlite:"), "the SQLite run compares the database");
    if let (Some(before), Some(after)) = (before, dump(&t.db.url)) {
        for (table, rows) in &after {
            if before.get(table) != Some(rows) {
                failures.push(format!("table {table} changed"));
            }
        }
    }
    println!("isolation: {n} requests by a member of AA with B's ids and keys");
    assert!(failures.is_empty(), "{} leaks or changes:\n{}", failures.len(), failures.join("\n"));
}
