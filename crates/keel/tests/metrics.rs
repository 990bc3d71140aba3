//! API tests of the delivery metrics: a sprint built through the API (scope change, an item
//! moved out, a reopened bug) and a history imported with past dates, whose figures are checked
//! exactly, as JSON and CSV; bad parameters; and the flow table's rebuild from the history
//! matching what the database kept as it went. On SQLite and (when `KEEL_TEST_DATABASE_URL` is
//! set) on PostgreSQL, with the same expected figures on both.

use keel_domain::item::{ItemKind, NewItem, Points, StoryFields};
use keel_domain::product::Role;
use keel_domain::time::Date;
use keel_domain::{ProductId, StateId, Timestamp};
use keel_store::{BulkEvent, BulkItem, WriteCtx};
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
    a_sprint_through_the_api,
    a_past_history_gives_exact_figures,
    bad_parameters_name_the_field,
    an_upgrade_rebuilds_the_flow_before_serving,
    a_recategorised_state_rebuilds_the_flow,
    narrow_reads_give_the_figures_of_the_whole_history,
    bounded_reads_give_the_figures_of_the_whole_history,
);

async fn call(
    t: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = Client::new().request(method, t.url(path)).bearer_auth(token);
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

async fn get(t: &TestApp, path: &str) -> Value {
    let (s, v) = call(t, &t.admin_token, Method::GET, path, None).await;
    assert_eq!(s, StatusCode::OK, "{path}: {v}");
    v
}

async fn ok(t: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    let (s, v) = call(t, token, method, path, body).await;
    assert!(s.is_success(), "{path}: {s} {v}");
    v
}

/// The CSV answer of `path`: content type checked, lines split.
async fn csv(t: &TestApp, path: &str) -> Vec<String> {
    let res = Client::new().get(t.url(path)).bearer_auth(&t.admin_token).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/csv"), "{ct}");
    res.text().await.unwrap().lines().map(str::to_string).collect()
}

fn keys(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_string()).collect()
}

/// The flow table and memberships as kept, then as rebuilt from the history: they must match.
async fn rebuild_matches(t: &TestApp, product: ProductId) {
    let store = t.db.store();
    let (rows, members) =
        (store.all_flow_rows(product).await.unwrap(), store.sprint_memberships(product).await.unwrap());
    assert!(!rows.is_empty());
    let n = t.app.rebuild_metrics(product).await.unwrap();
    assert_eq!(n, rows.len());
    assert_eq!(store.all_flow_rows(product).await.unwrap(), rows);
    assert_eq!(store.sprint_memberships(product).await.unwrap(), members);
}

async fn a_sprint_through_the_api(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, dev) = t.member(&shop, "dev@keel.test", &[Role::Team]).await;
    let (_, team) =
        call(&t, &t.admin_token, Method::POST, "/api/v1/products/SHOP/teams", Some(json!({"name": "Core"})))
            .await;
    let team = team["id"].as_i64().unwrap();
    let members = json!({"members": [{"user": "admin@keel.test", "points": 8}, {"user": "dev@keel.test", "points": 5}]});
    ok(&t, &t.admin_token, Method::PUT, &format!("/api/v1/teams/{team}/members"), Some(members)).await;
    let today = Date::of(keel_app::now());
    let body = json!({"name": "S1", "start": today.to_string(), "end": today.plus_days(4).to_string()});
    let s1 = ok(&t, &t.admin_token, Method::POST, &format!("/api/v1/teams/{team}/sprints"), Some(body)).await;
    let s1 = s1["id"].as_i64().unwrap();
    let item = |kind: &'static str, title: &'static str, points: f64| {
        let (t, dev) = (&t, dev.clone());
        async move {
            let v = ok(
                t,
                &t.admin_token,
                Method::POST,
                "/api/v1/products/SHOP/items",
                Some(json!({"title": title, "kind": kind})),
            )
            .await;
            let key = v["key"].as_str().unwrap().to_string();
            ok(t, &dev, Method::PATCH, &format!("/api/v1/items/{key}"), Some(json!({"estimate": points})))
                .await;
            key
        }
    };
    let a = item("task", "A", 3.0).await;
    let b = item("task", "B", 5.0).await;
    let d = item("task", "D", 8.0).await;
    let e = item("bug", "E", 1.0).await;
    for k in [&a, &b, &d, &e] {
        ok(&t, &t.admin_token, Method::POST, &format!("/api/v1/sprints/{s1}/items"), Some(json!({"key": k})))
            .await;
    }
    ok(&t, &t.admin_token, Method::POST, &format!("/api/v1/sprints/{s1}/start"), Some(json!({}))).await;
    // After the start: C added (2 points, re-estimated to 3 later), D taken out.
    let c = item("task", "C", 2.0).await;
    ok(&t, &t.admin_token, Method::POST, &format!("/api/v1/sprints/{s1}/items"), Some(json!({"key": c})))
        .await;
    ok(&t, &t.admin_token, Method::DELETE, &format!("/api/v1/sprints/{s1}/items/{d}"), None).await;
    ok(&t, &dev, Method::PATCH, &format!("/api/v1/items/{c}"), Some(json!({"estimate": 3}))).await;
    let status = |k: String, s: &'static str| {
        let t = &t;
        async move {
            ok(t, &t.admin_token, Method::PATCH, &format!("/api/v1/items/{k}"), Some(json!({"status": s})))
                .await;
        }
    };
    status(a.clone(), "In Progress").await;
    status(a.clone(), "Done").await;
    status(b.clone(), "In Progress").await;
    status(c.clone(), "Done").await;
    // The bug is done, reopened, and done again.
    status(e.clone(), "Done").await;
    status(e.clone(), "In Review").await;
    status(e.clone(), "Done").await;

    // While the sprint runs: today's burndown.
    let burn = get(&t, &format!("/api/v1/sprints/{s1}/burndown")).await;
    assert_eq!(burn["days"].as_array().unwrap().len(), 5);
    let d0 = &burn["days"][0];
    assert_eq!(
        (d0["remaining"].as_f64(), d0["done"].as_f64(), d0["scope"].as_f64()),
        (Some(5.0), Some(7.0), Some(12.0))
    );
    assert_eq!(
        (d0["added"].as_f64(), d0["removed"].as_f64(), d0["ideal"].as_f64()),
        (Some(2.0), Some(8.0), Some(17.0))
    );
    assert!(burn["days"][1]["remaining"].is_null());
    assert_eq!(burn["days"][2]["ideal"].as_f64(), Some(8.5));
    assert_eq!(get(&t, &format!("/api/v1/sprints/{s1}/burnup")).await["days"], burn["days"]);

    ok(&t, &t.admin_token, Method::POST, &format!("/api/v1/sprints/{s1}/close"), Some(json!({}))).await;
    let v = get(&t, &format!("/api/v1/teams/{team}/velocity")).await;
    assert_eq!(
        (v["sprint_count"].as_u64(), v["average"].as_f64(), v["spread"].as_f64()),
        (Some(1), Some(7.0), Some(0.0))
    );
    let s = &v["sprints"][0];
    assert_eq!(s["name"], "S1");
    assert_eq!(
        (s["committed"].as_f64(), s["completed"].as_f64(), s["added"].as_f64(), s["removed"].as_f64()),
        (Some(17.0), Some(7.0), Some(2.0), Some(8.0))
    );
    assert_eq!(s["completion_rate"].as_f64(), Some(0.4118));
    assert_eq!(keys(&s["committed_items"]), [a.clone(), b.clone(), d.clone(), e.clone()]);
    assert_eq!(keys(&s["completed_items"]), [a.clone(), e.clone(), c.clone()]);
    assert_eq!((keys(&s["added_items"]), keys(&s["removed_items"])), (vec![c.clone()], vec![d.clone()]));
    assert_eq!((keys(&s["carried_over"]), keys(&s["bugs"])), (vec![b.clone()], vec![e.clone()]));
    // After the close the burndown still reads the sprint as it was just before it.
    let after = get(&t, &format!("/api/v1/sprints/{s1}/burndown")).await;
    assert_eq!(after["days"][0]["remaining"].as_f64(), Some(5.0));
    let lines = csv(&t, &format!("/api/v1/teams/{team}/velocity?format=csv")).await;
    assert_eq!(
        lines[0],
        "sprint_id,sprint,start,end,committed,completed,added,removed,reestimated,completion_rate,carried_over"
    );
    // C went up a point after it was added: 17 + 2 − 8 + 1 = 12 = 7 completed + B's 5 carried.
    assert_eq!(lines[1], format!("{s1},S1,{today},{},17,7,2,8,1,0.4118,{b}", today.plus_days(4)));
    let lines = csv(&t, &format!("/api/v1/sprints/{s1}/burndown?format=csv")).await;
    assert_eq!((lines.len(), lines[1].as_str()), (6, format!("{today},5,7,12,2,8,17").as_str()));

    // The product's figures for today.
    let q = format!("from={today}&to={today}");
    let ct = get(&t, &format!("/api/v1/products/SHOP/cycle-time?{q}")).await;
    assert_eq!(ct["count"].as_u64(), Some(3));
    let done: Vec<&str> =
        ct["items"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(done, [a.as_str(), c.as_str(), e.as_str()]);
    assert!(ct["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| (0.0..0.01).contains(&i["cycle_days"].as_f64().unwrap())));
    assert_eq!(get(&t, &format!("/api/v1/products/SHOP/throughput?{q}")).await["total"].as_u64(), Some(3));
    let cfd = get(&t, &format!("/api/v1/products/SHOP/cumulative-flow?{q}")).await;
    assert_eq!(cfd["states"].as_array().unwrap().len(), 4);
    assert_eq!(cfd["days"][0]["counts"], json!([1, 1, 0, 3]));
    let bugs = get(&t, &format!("/api/v1/products/SHOP/bug-trend?{q}")).await;
    assert_eq!(
        bugs["days"][0],
        json!({"date": today.to_string(), "opened": 1, "closed": 2, "reopened": 1, "open": 0})
    );
    // Bugs per sprint: sprints that end within the period.
    assert_eq!(bugs["sprints"], json!([]));
    let bugs =
        get(&t, &format!("/api/v1/products/SHOP/bug-trend?from={today}&to={}", today.plus_days(4))).await;
    assert_eq!(
        bugs["sprints"],
        json!([{"sprint": "Core · S1", "end": today.plus_days(4).to_string(), "count": 1, "bugs": [e]}])
    );
    // The team filter keeps the sprint's items only: D left the sprint but was in it.
    let cfd = get(&t, &format!("/api/v1/products/SHOP/cumulative-flow?{q}&team={team}")).await;
    assert_eq!(cfd["days"][0]["counts"], json!([1, 1, 0, 3]));
    // With a team, bugs and work in progress read the histories of its sprints' items only.
    let team_bugs = get(
        &t,
        &format!("/api/v1/products/SHOP/bug-trend?from={today}&to={}&team={team}", today.plus_days(4)),
    )
    .await;
    assert_eq!(team_bugs["sprints"], bugs["sprints"]);
    let team_wip = get(&t, &format!("/api/v1/products/SHOP/work-in-progress?team={team}")).await;
    assert_eq!(team_wip["items"][0]["key"].as_str(), Some(b.as_str()));
    let wip = get(&t, "/api/v1/products/SHOP/work-in-progress").await;
    assert_eq!(team_wip["items"], wip["items"]);
    assert_eq!(wip["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        (wip["items"][0]["key"].as_str(), wip["items"][0]["state"].as_str()),
        (Some(b.as_str()), Some("In Progress"))
    );
    assert!(wip["limit_days"].as_f64().is_some());
    let lines = csv(&t, "/api/v1/products/SHOP/work-in-progress?format=csv").await;
    assert_eq!((lines[0].as_str(), lines.len()), ("key,kind,state,since,age_days,over_p85", 2));

    // A release: two items, one done.
    let r =
        ok(&t, &t.admin_token, Method::POST, "/api/v1/products/SHOP/releases", Some(json!({"name": "1.0"})))
            .await;
    let rid = r["id"].as_i64().unwrap();
    for k in [&a, &b] {
        ok(&t, &t.admin_token, Method::PATCH, &format!("/api/v1/items/{k}"), Some(json!({"release": rid})))
            .await;
    }
    let rb = get(&t, &format!("/api/v1/releases/{rid}/burnup")).await;
    let last = rb["days"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["scope"].as_f64(), last["done"].as_f64(), last["items"].as_u64()),
        (Some(8.0), Some(3.0), Some(2))
    );

    rebuild_matches(&t, shop.id).await;
}

/// d0 is a Monday; `t(d, h)` is hour `h` (UTC) of day `d`.
const D0: &str = "2026-01-05";

fn t_(day: i32, hour: i64) -> Timestamp {
    let d0 = Date::parse("d", D0).unwrap();
    Timestamp(d0.plus_days(day).start().0 + hour * 3_600_000)
}

fn bulk(
    kind: ItemKind,
    title: &str,
    created: Timestamp,
    states: &[StateId],
    moves: &[(Timestamp, usize)],
) -> BulkItem {
    let mut history = Vec::new();
    let mut cur = 0;
    for (at, to) in moves {
        history.push(BulkEvent {
            at: *at,
            actor: None,
            field: "status".into(),
            old: json!(states[cur]),
            new: json!(states[*to]),
        });
        cur = *to;
    }
    BulkItem {
        item: NewItem {
            kind,
            parent_id: None,
            title: title.into(),
            description: String::new(),
            story: StoryFields::default(),
            criteria: vec![],
            estimate: Some(Points::parse("estimate", 1.0).unwrap()),
            labels: vec![],
            assignee_id: None,
            status_id: Some(states[cur]),
            sprint_id: None,
            release_id: None,
        },
        created_at: created,
        created_by: None,
        history,
    }
}

/// Product HIST with four items imported with their past: A (task) to do d0, in progress d1,
/// done d3; B (task) done d2, reopened d4, in review d5, done d6; C (task) straight to done on
/// d3; D (bug) in progress since d2 21:00.
async fn past_history(t: &TestApp) -> keel_domain::product::Product {
    let p = t.product("HIST").await;
    let store = t.db.store();
    let states: Vec<StateId> = store.workflow(p.id).await.unwrap().states.iter().map(|s| s.id).collect();
    assert_eq!(Date::parse("d", D0).unwrap().weekday(), 0);
    let items = vec![
        bulk(ItemKind::Task, "A", t_(0, 9), &states, &[(t_(1, 9), 1), (t_(3, 9), 3)]),
        bulk(
            ItemKind::Task,
            "B",
            t_(0, 9),
            &states,
            &[(t_(1, 9), 1), (t_(2, 9), 3), (t_(4, 9), 1), (t_(5, 9), 2), (t_(6, 9), 3)],
        ),
        bulk(ItemKind::Task, "C", t_(1, 9), &states, &[(t_(3, 9), 3)]),
        bulk(ItemKind::Bug, "D", t_(2, 9), &states, &[(t_(2, 21), 1)]),
    ];
    let ctx = WriteCtx { actor: None, at: t_(9, 0), proposal: None };
    store.bulk_create_items(p.id, items, &ctx).await.unwrap();
    p
}

async fn a_past_history_gives_exact_figures(db: TestDb) {
    let t = spawn_app(db).await;
    let p = past_history(&t).await;
    let ct = get(&t, "/api/v1/products/HIST/cycle-time?from=2026-01-05&to=2026-01-11").await;
    let items = ct["items"].as_array().unwrap();
    let got: Vec<(&str, f64, f64)> = items
        .iter()
        .map(|i| {
            (i["key"].as_str().unwrap(), i["cycle_days"].as_f64().unwrap(), i["lead_days"].as_f64().unwrap())
        })
        .collect();
    assert_eq!(got, [("HIST-1", 2.0, 3.0), ("HIST-3", 0.0, 2.0), ("HIST-2", 5.0, 6.0)]);
    assert_eq!(ct["cycle"], json!({"p50": 2.0, "p85": 5.0, "p95": 5.0}));
    assert_eq!(ct["lead"], json!({"p50": 3.0, "p85": 6.0, "p95": 6.0}));
    assert_eq!(items[2]["done_at"], "2026-01-11T09:00:00.000Z");
    let lines = csv(&t, "/api/v1/products/HIST/cycle-time?from=2026-01-05&to=2026-01-11&format=csv").await;
    assert_eq!(lines[0], "key,kind,created_at,started_at,done_at,cycle_days,lead_days");
    assert_eq!(
        lines[3],
        "HIST-2,task,2026-01-05T09:00:00.000Z,2026-01-06T09:00:00.000Z,2026-01-11T09:00:00.000Z,5,6"
    );

    let th = get(&t, "/api/v1/products/HIST/throughput?from=2026-01-05&to=2026-01-12").await;
    let daily: Vec<u64> =
        th["daily"].as_array().unwrap().iter().map(|d| d["count"].as_u64().unwrap()).collect();
    assert_eq!(daily, [0, 0, 0, 2, 0, 0, 1, 0]);
    assert_eq!(th["weekly"], json!([{"date": "2026-01-05", "count": 3}, {"date": "2026-01-12", "count": 0}]));
    // Ten hours west, 09:00 UTC is still the evening before.
    let th = get(&t, "/api/v1/products/HIST/throughput?from=2026-01-05&to=2026-01-12&tz=-10:00").await;
    let daily: Vec<u64> =
        th["daily"].as_array().unwrap().iter().map(|d| d["count"].as_u64().unwrap()).collect();
    assert_eq!(daily, [0, 0, 2, 0, 0, 1, 0, 0]);
    assert_eq!(
        csv(&t, "/api/v1/products/HIST/throughput?from=2026-01-05&to=2026-01-12&format=csv").await.len(),
        9
    );

    let cfd = get(&t, "/api/v1/products/HIST/cumulative-flow?from=2026-01-05&to=2026-01-08").await;
    let rows: Vec<Value> = cfd["days"].as_array().unwrap().iter().map(|d| d["counts"].clone()).collect();
    assert_eq!(rows, [json!([2, 0, 0, 0]), json!([1, 2, 0, 0]), json!([1, 2, 0, 1]), json!([0, 1, 0, 3])]);
    let cfd =
        get(&t, "/api/v1/products/HIST/cumulative-flow?from=2026-01-07&to=2026-01-07&tz=%2B04:00").await;
    assert_eq!(cfd["days"][0]["counts"], json!([2, 1, 0, 1]));
    let lines =
        csv(&t, "/api/v1/products/HIST/cumulative-flow?from=2026-01-05&to=2026-01-08&format=csv").await;
    assert_eq!(lines[0], "date,To Do,In Progress,In Review,Done");
    assert_eq!(lines[4], "2026-01-08,0,1,0,3");

    let bugs = get(&t, "/api/v1/products/HIST/bug-trend?from=2026-01-06&to=2026-01-08").await;
    let open: Vec<(u64, u64)> = bugs["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["opened"].as_u64().unwrap(), d["open"].as_u64().unwrap()))
        .collect();
    assert_eq!(open, [(0, 0), (1, 1), (0, 1)]);

    let wip = get(&t, "/api/v1/products/HIST/work-in-progress").await;
    assert_eq!(wip["items"][0]["key"], "HIST-4");
    assert_eq!(wip["items"][0]["since"], "2026-01-07T21:00:00.000Z");

    rebuild_matches(&t, p.id).await;
}

async fn bad_parameters_name_the_field(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, team) =
        call(&t, &t.admin_token, Method::POST, "/api/v1/products/SHOP/teams", Some(json!({"name": "Core"})))
            .await;
    let team = team["id"].as_i64().unwrap();
    let other = t.product("OTHER").await;
    let (_, foreign) =
        call(&t, &t.admin_token, Method::POST, "/api/v1/products/OTHER/teams", Some(json!({"name": "Else"})))
            .await;
    let foreign = foreign["id"].as_i64().unwrap();
    let _ = (shop, other);
    for (path, field) in [
        ("/api/v1/products/SHOP/cycle-time?from=2026-13-01".to_string(), "from"),
        ("/api/v1/products/SHOP/throughput?to=yesterday".to_string(), "to"),
        ("/api/v1/products/SHOP/cumulative-flow?from=2026-03-02&to=2026-03-01".to_string(), "from"),
        ("/api/v1/products/SHOP/cumulative-flow?from=2020-01-01&to=2026-03-01".to_string(), "from"),
        ("/api/v1/products/SHOP/bug-trend?tz=Mars".to_string(), "tz"),
        ("/api/v1/products/SHOP/work-in-progress?team=abc".to_string(), "team"),
        ("/api/v1/products/SHOP/work-in-progress?team=999999".to_string(), "team"),
        (format!("/api/v1/products/SHOP/cycle-time?team={foreign}"), "team"),
        ("/api/v1/products/SHOP/throughput?format=xml".to_string(), "format"),
        (format!("/api/v1/teams/{team}/velocity?last=0"), "last"),
        (format!("/api/v1/teams/{team}/velocity?from=2026-02-01&to=2026-01-01"), "from"),
    ] {
        let (s, v) = call(&t, &t.admin_token, Method::GET, &path, None).await;
        assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{path}: {v}");
    }
    for path in
        ["/api/v1/sprints/999999/burndown", "/api/v1/releases/999999/burnup", "/api/v1/teams/999999/velocity"]
    {
        assert_eq!(
            call(&t, &t.admin_token, Method::GET, path, None).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // A team with no closed sprint: an empty velocity, not an error.
    let v = get(&t, &format!("/api/v1/teams/{team}/velocity")).await;
    assert_eq!((v["sprint_count"].as_u64(), v["average"].is_null()), (Some(0), true));
    // The paths are in the API's document.
    let doc = get(&t, "/api/v1/openapi.json").await;
    for p in [
        "/api/v1/teams/{id}/velocity",
        "/api/v1/products/{product}/cycle-time",
        "/api/v1/releases/{id}/burnup",
    ] {
        assert!(doc["paths"][p].is_object(), "{p}");
    }
}

const HIST_WEEK: &str = "/api/v1/products/HIST/cycle-time?from=2026-01-05&to=2026-01-11";

/// (key, cycle days, lead days) of the items finished in HIST's first week.
async fn finished_week(t: &TestApp) -> Vec<(String, f64, f64)> {
    let ct = get(t, HIST_WEEK).await;
    ct["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let (k, c, l) = (&i["key"], &i["cycle_days"], &i["lead_days"]);
            (k.as_str().unwrap().to_string(), c.as_f64().unwrap(), l.as_f64().unwrap())
        })
        .collect()
}

/// A database upgraded from before the flow table holds items but no flow rows: migration 0006
/// marks its products, and the start rebuilds them before serving, with the same figures as a
/// database that kept them all along.
async fn an_upgrade_rebuilds_the_flow_before_serving(db: TestDb) {
    let t = spawn_app(db).await;
    let p = past_history(&t).await;
    let store = t.db.store();
    let kept = (store.all_flow_rows(p.id).await.unwrap(), store.sprint_memberships(p.id).await.unwrap());
    let before = finished_week(&t).await;
    assert_eq!(before.len(), 3);
    assert!(store.pending_flow_rebuilds().await.unwrap().is_empty(), "a new database has nothing to redo");
    // The upgrade: the flow rows are missing and the migration marked the product.
    let seen = store.flow_watermark(p.id).await.unwrap();
    assert!(store.replace_flow(p.id, &[], &[], seen).await.unwrap());
    store.request_flow_rebuild(p.id, "upgrade").await.unwrap();
    assert!(finished_week(&t).await.is_empty(), "without its rows the flow shows nothing");
    assert_eq!(store.pending_flow_rebuilds().await.unwrap(), [p.id]);
    // The start.
    assert_eq!(t.app.rebuild_pending_metrics().await.unwrap(), [(p.id, 4)]);
    assert!(store.pending_flow_rebuilds().await.unwrap().is_empty());
    assert_eq!(finished_week(&t).await, before);
    assert_eq!(
        (store.all_flow_rows(p.id).await.unwrap(), store.sprint_memberships(p.id).await.unwrap()),
        kept
    );
    // A rebuild computed before a newer event is refused, not written over it.
    let stale = store.flow_watermark(p.id).await.unwrap() - 1;
    assert!(!store.replace_flow(p.id, &[], &[], stale).await.unwrap());
    assert_eq!(finished_week(&t).await, before);
}

/// Flow rows follow today's categories: making "In Review" a done state moves B's finish back
/// to when it entered review, in the rows the database keeps exactly as in a rebuild.
async fn a_recategorised_state_rebuilds_the_flow(db: TestDb) {
    let t = spawn_app(db).await;
    let p = past_history(&t).await;
    let path = "/api/v1/products/HIST/workflow";
    let wf = get(&t, path).await;
    let mut states: Vec<Value> = wf
        .as_array()
        .unwrap()
        .iter()
        .map(|s| json!({"id": s["id"], "name": s["name"], "category": s["category"]}))
        .collect();
    assert_eq!(states[2]["name"], "In Review");
    states[2]["category"] = json!("done");
    ok(&t, &t.admin_token, Method::PUT, path, Some(json!({"states": states}))).await;
    assert!(t.db.store().pending_flow_rebuilds().await.unwrap().is_empty());
    let got = finished_week(&t).await;
    let want = [("HIST-1", 2.0, 3.0), ("HIST-3", 0.0, 2.0), ("HIST-2", 4.0, 5.0)];
    assert_eq!(got, want.map(|(k, c, l)| (k.to_string(), c, l)));
    rebuild_matches(&t, p.id).await;
    // And back: the rows follow again.
    states[2]["category"] = json!("in_progress");
    ok(&t, &t.admin_token, Method::PUT, path, Some(json!({"states": states}))).await;
    assert_eq!(finished_week(&t).await[2], ("HIST-2".to_string(), 5.0, 6.0));
    rebuild_matches(&t, p.id).await;
}

/// Cumulative flow, bugs, work in progress and a release burnup read only the fields they need
/// (and work in progress only the items in progress): the same figures as the domain computes
/// from every event of the product.
async fn narrow_reads_give_the_figures_of_the_whole_history(db: TestDb) {
    use keel_domain::metrics::{bug_trend, cumulative_flow, histories, work_in_progress, Tz};
    let t = spawn_app(db).await;
    let p = past_history(&t).await;
    let store = t.db.store();
    let all = store
        .product_events_of(p.id, &[keel_domain::event::ObjectKind::Item], &[], Timestamp(i64::MIN), 1_000_000)
        .await
        .unwrap();
    let full = histories(&all);
    assert_eq!(full.len(), 4);
    let wf = store.workflow(p.id).await.unwrap();
    let access = t.app.access(&t.admin, "HIST").await.unwrap();
    let (from, to) = (Date::parse("d", "2026-01-04").unwrap(), Date::parse("d", "2026-01-13").unwrap());
    let period = keel_app::metrics::Period { from, to, tz: Tz::UTC };
    let now = keel_app::now();
    let (_, days) = t.app.cumulative_flow(&access, None, period).await.unwrap();
    assert_eq!(days, cumulative_flow(&full, &wf, Tz::UTC, from, to, now));
    let (bugs, _) = t.app.bug_trend(&access, None, period).await.unwrap();
    assert_eq!(bugs, bug_trend(&full, &wf, Tz::UTC, from, to, now));
    let wip = t.app.work_in_progress(&access, None, Tz::UTC, 50, 0).await.unwrap();
    let mut want = work_in_progress(&full, &wf, keel_app::now(), wip.limit_days);
    let mut got = wip.items;
    // Ages run with the clock: compare what does not.
    for w in want.iter_mut().chain(got.iter_mut()) {
        w.age_days = w.age_days.round();
    }
    assert_eq!(got, want);
    assert_eq!(got.len(), 1);

    // A release burnup reads only the items that may have been in the release: one in it, one
    // moved out, one deleted while in it, all still in its past.
    let r =
        ok(&t, &t.admin_token, Method::POST, "/api/v1/products/HIST/releases", Some(json!({"name": "1.0"})))
            .await;
    let rid = r["id"].as_i64().unwrap();
    for k in ["HIST-1", "HIST-2", "HIST-3"] {
        ok(&t, &t.admin_token, Method::PATCH, &format!("/api/v1/items/{k}"), Some(json!({"release": rid})))
            .await;
    }
    ok(&t, &t.admin_token, Method::PATCH, "/api/v1/items/HIST-2", Some(json!({"release": null}))).await;
    ok(&t, &t.admin_token, Method::DELETE, "/api/v1/items/HIST-3", None).await;
    let all = store
        .product_events_of(p.id, &[keel_domain::event::ObjectKind::Item], &[], Timestamp(i64::MIN), 1_000_000)
        .await
        .unwrap();
    let full = histories(&all);
    let today = Date::of(keel_app::now());
    let (_, _, days) =
        t.app.release_burnup(&t.admin, rid, Some(today.plus_days(-1)), Some(today), Tz::UTC).await.unwrap();
    let want = keel_domain::metrics::release_burnup(
        rid,
        &full,
        &wf,
        Tz::UTC,
        today.plus_days(-1),
        today,
        keel_app::now(),
    );
    assert_eq!(days, want);
    assert_eq!(days.last().unwrap().items, 1);
}

/// Cumulative flow and the bug trend read the counts per state now and the histories of the
/// items changed since the period began; work in progress reads its counts and its page from
/// the flow table's `wip_since`. On a history with a reopen, a delete, kind changes, changes
/// today and long ago, a team, several offsets and a recategorised state, every figure equals
/// the one computed from every item's whole history.
async fn bounded_reads_give_the_figures_of_the_whole_history(db: TestDb) {
    use keel_app::metrics::Period;
    use keel_domain::metrics::{bug_trend, cumulative_flow, histories, wip_summary, Tz};
    let t = spawn_app(db).await;
    let p = past_history(&t).await;
    let store = t.db.store();
    let states: Vec<StateId> = store.workflow(p.id).await.unwrap().states.iter().map(|s| s.id).collect();
    let today = Date::of(keel_app::now());
    let at = |day: i32, hour: i64| Timestamp(today.plus_days(day).start().0 + hour * 3_600_000);
    // Recent past: E (bug) in progress 10 days ago, done 5 days ago; F (story) in progress since
    // 2 days ago; G (bug) in review since 40 days ago.
    let recent = vec![
        bulk(ItemKind::Bug, "E", at(-20, 8), &states, &[(at(-10, 8), 1), (at(-5, 23), 3)]),
        bulk(ItemKind::Story, "F", at(-3, 8), &states, &[(at(-2, 1), 1)]),
        bulk(ItemKind::Bug, "G", at(-60, 8), &states, &[(at(-50, 8), 1), (at(-40, 8), 2)]),
    ];
    let ctx = WriteCtx { actor: None, at: at(-1, 0), proposal: None };
    store.bulk_create_items(p.id, recent, &ctx).await.unwrap();
    // A team whose sprint holds D and F.
    let (_, team) =
        call(&t, &t.admin_token, Method::POST, "/api/v1/products/HIST/teams", Some(json!({"name": "Core"})))
            .await;
    let team = team["id"].as_i64().unwrap();
    let body = json!({"name": "S1", "start": today.plus_days(-1).to_string(), "end": today.plus_days(6).to_string()});
    let s1 = ok(&t, &t.admin_token, Method::POST, &format!("/api/v1/teams/{team}/sprints"), Some(body)).await;
    let s1 = s1["id"].as_i64().unwrap();
    for k in ["HIST-4", "HIST-6"] {
        ok(&t, &t.admin_token, Method::POST, &format!("/api/v1/sprints/{s1}/items"), Some(json!({"key": k})))
            .await;
    }
    // Today: A becomes a bug, B (done) is reopened, C is deleted, D (bug) is done, a new bug H
    // goes straight into progress, E turns into a task.
    let patch = |k: &'static str, body: Value| {
        let t = &t;
        async move {
            ok(t, &t.admin_token, Method::PATCH, &format!("/api/v1/items/{k}"), Some(body)).await;
        }
    };
    patch("HIST-1", json!({"kind": "bug"})).await;
    patch("HIST-2", json!({"status": "In Progress"})).await;
    ok(&t, &t.admin_token, Method::DELETE, "/api/v1/items/HIST-3", None).await;
    patch("HIST-4", json!({"status": "Done"})).await;
    let h = ok(
        &t,
        &t.admin_token,
        Method::POST,
        "/api/v1/products/HIST/items",
        Some(json!({"title": "H", "kind": "bug"})),
    )
    .await;
    assert_eq!(h["key"], "HIST-8");
    patch("HIST-8", json!({"status": "In Progress"})).await;
    patch("HIST-5", json!({"kind": "task"})).await;
    // Imported today with its past: I, a bug now, was created a story 50 days ago, went into
    // progress 30 days ago, done 12 days ago and became a bug 3 days ago. Its in-period events
    // alone must tell its state and kind at each period's start.
    let mut i = bulk(ItemKind::Bug, "I", at(-50, 8), &states, &[(at(-30, 8), 1), (at(-12, 8), 3)]);
    i.history.push(BulkEvent {
        at: at(-3, 8),
        actor: None,
        field: "kind".into(),
        old: json!("story"),
        new: json!("bug"),
    });
    store
        .bulk_create_items(p.id, vec![i], &WriteCtx { actor: None, at: at(0, 0), proposal: None })
        .await
        .unwrap();

    let access = t.app.access(&t.admin, "HIST").await.unwrap();
    let check = |label: &'static str| {
        let (t, access, store) = (&t, &access, &store);
        async move {
            let all = store
                .product_events_of(
                    p.id,
                    &[keel_domain::event::ObjectKind::Item],
                    &[],
                    Timestamp(i64::MIN),
                    1_000_000,
                )
                .await
                .unwrap();
            let full = histories(&all);
            let wf = store.workflow(p.id).await.unwrap();
            let periods = [
                ("2026-01-04", "2026-01-13", "Z"),
                ("2026-01-07", "2026-01-07", "+04:00"),
                (&*today.plus_days(-45).to_string(), &*today.to_string(), "Z"),
                (&*today.plus_days(-6).to_string(), &*today.plus_days(2).to_string(), "-10:00"),
                (&*today.to_string(), &*today.to_string(), "+14:00"),
                (&*today.to_string(), &*today.to_string(), "-12:00"),
            ]
            .map(|(f, to, tz)| (f.to_string(), to.to_string(), tz));
            for (from, to, tz) in &periods {
                let tz = Tz::parse("tz", tz).unwrap();
                let period = Period {
                    from: Date::parse("from", from).unwrap(),
                    to: Date::parse("to", to).unwrap(),
                    tz,
                };
                let what = format!("{label}: {from}..{to} {tz}");
                for team in [None, Some(team)] {
                    let (_, got) = t.app.cumulative_flow(access, team, period).await.unwrap();
                    let (_, want) = t.app.cumulative_flow_from_history(access, team, period).await.unwrap();
                    assert_eq!(got, want, "cumulative flow, {what}, team {team:?}");
                    let (got, got_sprints) = t.app.bug_trend(access, team, period).await.unwrap();
                    let (want, want_sprints) =
                        t.app.bug_trend_from_history(access, team, period).await.unwrap();
                    assert_eq!(got, want, "bug trend, {what}, team {team:?}");
                    assert_eq!(got_sprints, want_sprints, "bugs per sprint, {what}, team {team:?}");
                }
                // And both equal the domain's answer over every event of the product.
                let now = keel_app::now();
                let (_, got) = t.app.cumulative_flow(access, None, period).await.unwrap();
                assert_eq!(got, cumulative_flow(&full, &wf, tz, period.from, period.to, now), "{what}");
                let (got, _) = t.app.bug_trend(access, None, period).await.unwrap();
                assert_eq!(got, bug_trend(&full, &wf, tz, period.from, period.to, now), "{what}");
            }
            for team in [None, Some(team)] {
                let every = t.app.work_in_progress_from_history(access, team, Tz::UTC).await.unwrap();
                assert!(!every.is_empty());
                for (limit, offset) in [(50, 0), (2, 0), (2, 1), (1, 3), (5, 99)] {
                    let r = t.app.work_in_progress(access, team, Tz::UTC, limit, offset).await.unwrap();
                    let want = wip_summary(&every, &wf, keel_app::now(), r.limit_days);
                    assert_eq!(r.summary, want, "{label}: team {team:?}");
                    // Ages run with the clock: compare what does not.
                    let strip =
                        |w: &keel_domain::metrics::WipItem| (w.key.clone(), w.kind, w.state, w.since, w.over);
                    let got: Vec<_> = r.items.iter().map(strip).collect();
                    let want: Vec<_> = every.iter().skip(offset).take(limit).map(strip).collect();
                    assert_eq!(got, want, "{label}: team {team:?} {limit}+{offset}");
                }
            }
        }
    };
    check("as written").await;
    let wip = get(&t, "/api/v1/products/HIST/work-in-progress?limit=2&offset=1").await;
    assert_eq!(
        (wip["total"].as_u64(), wip["limit"].as_u64(), wip["offset"].as_u64()),
        (Some(4), Some(2), Some(1))
    );
    assert_eq!(
        keys(&json!(wip["items"].as_array().unwrap().iter().map(|i| i["key"].clone()).collect::<Vec<_>>())),
        ["HIST-6", "HIST-2"]
    );
    let states_out: Vec<(String, u64)> = wip["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["state"].as_str().unwrap().to_string(), s["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(states_out, [("In Progress".to_string(), 3), ("In Review".to_string(), 1)]);
    rebuild_matches(&t, p.id).await;

    // In Review becomes a done state: G is no longer in progress, its bug no longer open.
    let path = "/api/v1/products/HIST/workflow";
    let wf = get(&t, path).await;
    let mut ws: Vec<Value> = wf
        .as_array()
        .unwrap()
        .iter()
        .map(|s| json!({"id": s["id"], "name": s["name"], "category": s["category"]}))
        .collect();
    ws[2]["category"] = json!("done");
    ok(&t, &t.admin_token, Method::PUT, path, Some(json!({"states": ws}))).await;
    check("In Review done").await;
    rebuild_matches(&t, p.id).await;
}
