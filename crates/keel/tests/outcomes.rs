//! API tests of outcomes: an initiative's KPIs before and after a release shipped, a goal's
//! outcomes, the chain from an item to the vision, and the alignment report; on SQLite and
//! (when `KEEL_TEST_DATABASE_URL` is set) on PostgreSQL.

use keel_domain::product::Role;
use keel_domain::{Date, Timestamp};
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

api_tests!(outcomes_chain_and_alignment, bad_input_and_rights);

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

async fn get(t: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    call(t, token, Method::GET, path, None).await
}

async fn post(t: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (s, v) = call(t, token, Method::POST, path, Some(body)).await;
    assert!(s.is_success(), "{path}: {s} {v}");
    v
}

/// The text of a GET, asserting 200 and a CSV content type.
async fn csv(t: &TestApp, token: &str, path: &str) -> String {
    let res = Client::new().get(t.url(path)).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    res.text().await.unwrap()
}

async fn item(t: &TestApp, token: &str, body: Value) -> String {
    let v = post(t, token, "/api/v1/products/SHOP/items", body).await;
    v["key"].as_str().unwrap().to_string()
}

/// A story made by the administrator and estimated by the team.
async fn story(t: &TestApp, team: &str, title: &str, parent: Option<&str>, points: f64) -> String {
    let key = item(t, &t.admin_token, json!({"title": title, "parent": parent})).await;
    let (s, v) =
        call(t, team, Method::PATCH, &format!("/api/v1/items/{key}"), Some(json!({"estimate": points})))
            .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    key
}

/// Ticks the default Definition of Done and moves the item to Done.
async fn finish(t: &TestApp, key: &str) {
    let tok = &t.admin_token;
    let (s, v) =
        call(t, tok, Method::PUT, &format!("/api/v1/items/{key}/checks"), Some(json!({"dod": [1, 2, 3]})))
            .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) =
        call(t, tok, Method::PATCH, &format!("/api/v1/items/{key}"), Some(json!({"status": "Done"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

fn day(d: Date, n: i32) -> String {
    d.plus_days(n).to_string()
}

/// The product the tests share: a goal with two key results (conversion up, checkout time
/// down), an initiative "Checkout" serving it with the epic SHOP-1 (stories SHOP-2, 5 points,
/// and SHOP-3, 3 points), a story with no epic (SHOP-4, 2), an epic in no initiative (SHOP-5,
/// story SHOP-6, 1), an epic of an initiative with no goal (SHOP-7, story SHOP-8, 4).
struct World {
    pm: String,
    po: String,
    team: String,
    sh: String,
    goal: i64,
    checkout: i64,
    conv: i64,
    time: i64,
    r1: i64,
}

async fn world(t: &TestApp) -> World {
    let product = t.product("SHOP").await;
    let (_, pm) = t.member(&product, "pm@keel.test", &[Role::Pm]).await;
    let (_, po) = t.member(&product, "po@keel.test", &[Role::Po]).await;
    let (_, team) = t.member(&product, "team@keel.test", &[Role::Team]).await;
    let (_, sh) = t.member(&product, "sh@keel.test", &[Role::Stakeholder]).await;
    let (s, v) = call(
        t,
        &pm,
        Method::PUT,
        "/api/v1/products/SHOP/vision",
        Some(json!({"version": 0, "statement": "Checkout in one tap"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let conv = post(
        t,
        &pm,
        "/api/v1/products/SHOP/kpis",
        json!({"name": "Conversion", "unit": "percent",
        "direction": "up", "baseline": 40, "target": 50}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let time = post(
        t,
        &pm,
        "/api/v1/products/SHOP/kpis",
        json!({"name": "Checkout time", "unit": "count",
        "direction": "down", "baseline": 60, "target": 30}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let goal = post(t, &pm, "/api/v1/products/SHOP/goals", json!({"title": "Effortless checkout"})).await
        ["id"]
        .as_i64()
        .unwrap();
    let krs = format!("/api/v1/goals/{goal}/key-results");
    post(t, &pm, &krs, json!({"title": "Conversion to 50 %", "kpi_id": conv})).await;
    post(t, &pm, &krs, json!({"title": "Checkout under 30 s", "kpi_id": time})).await;
    let admin = t.admin_token.clone();
    assert_eq!(item(t, &admin, json!({"title": "Checkout", "kind": "epic"})).await, "SHOP-1");
    story(t, &team, "Guest checkout", Some("SHOP-1"), 5.0).await; // SHOP-2
    story(t, &team, "Wallets", Some("SHOP-1"), 3.0).await; // SHOP-3
    story(t, &team, "Faster pages", None, 2.0).await; // SHOP-4
    item(t, &admin, json!({"title": "Loose", "kind": "epic"})).await; // SHOP-5
    story(t, &team, "Dark mode", Some("SHOP-5"), 1.0).await; // SHOP-6
    item(t, &admin, json!({"title": "Platform", "kind": "epic"})).await; // SHOP-7
    assert_eq!(story(t, &team, "Upgrade", Some("SHOP-7"), 4.0).await, "SHOP-8");
    let inits = "/api/v1/products/SHOP/initiatives";
    let checkout = post(t, &pm, inits, json!({"title": "Checkout", "goals": [goal], "epics": ["SHOP-1"]}))
        .await["id"]
        .as_i64()
        .unwrap();
    post(t, &pm, inits, json!({"title": "Platform", "epics": ["SHOP-7"]})).await;
    // Release 2.0 holds SHOP-2 (done) and ships; 2.1 holds SHOP-3 and does not.
    let r1 =
        post(t, &po, "/api/v1/products/SHOP/releases", json!({"name": "2.0"})).await["id"].as_i64().unwrap();
    let r2 =
        post(t, &po, "/api/v1/products/SHOP/releases", json!({"name": "2.1"})).await["id"].as_i64().unwrap();
    for (k, r) in [("SHOP-2", r1), ("SHOP-3", r2)] {
        let (s, v) =
            call(t, &admin, Method::PATCH, &format!("/api/v1/items/{k}"), Some(json!({"release": r}))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    finish(t, "SHOP-2").await;
    post(t, &pm, &format!("/api/v1/releases/{r1}/release"), json!({})).await;
    World { pm, po, team, sh, goal, checkout, conv, time, r1 }
}

async fn outcomes_chain_and_alignment(db: TestDb) {
    let t = spawn_app(db).await;
    let w = world(&t).await;
    // The day 2.0 shipped (UTC), from the release itself.
    let (_, r) = get(&t, &w.pm, &format!("/api/v1/releases/{}", w.r1)).await;
    let at = r["released_at"].as_str().unwrap();
    let d = Date::parse("d", &at[..10]).unwrap();
    assert!(Date::of(Timestamp(0)) < d);
    // Conversion: one day outside each 28-day window, both boundary days inside it.
    let ms = json!({"measurements": [
        {"date": day(d, -29), "value": 10}, {"date": day(d, -28), "value": 40}, {"date": day(d, -1), "value": 42},
        {"date": day(d, 0), "value": 45}, {"date": day(d, 27), "value": 47}, {"date": day(d, 28), "value": 48}]});
    post(&t, &w.po, &format!("/api/v1/kpis/{}/measurements", w.conv), ms).await;
    // Checkout time: nothing after the release.
    let ms = json!({"measurements": [{"date": day(d, -3), "value": 54}]});
    post(&t, &w.po, &format!("/api/v1/kpis/{}/measurements", w.time), ms).await;

    let path = format!("/api/v1/initiatives/{}/outcomes", w.checkout);
    let (s, o) = get(&t, &w.team, &path).await;
    assert_eq!(s, StatusCode::OK, "{o}");
    assert_eq!((&o["title"], &o["window_days"]), (&json!("Checkout"), &json!(28)));
    assert!(o["method"].as_str().unwrap().contains("not a claim of causation"));
    assert_eq!(o["goals"], json!([{"id": w.goal, "title": "Effortless checkout", "progress": 50.0}]));
    // Done 5 of 5 + 3 points.
    assert_eq!(
        o["progress"],
        json!({"done_points": 5.0, "total_points": 8.0, "unestimated": 0, "percent": 63})
    );
    assert_eq!(o["events"].as_array().unwrap().len(), 1, "{o}");
    assert_eq!(
        (&o["events"][0]["kind"], &o["events"][0]["label"], &o["events"][0]["date"]),
        (&json!("release_shipped"), &json!("2.0"), &json!(d.to_string()))
    );
    let kr = &o["key_results"][0];
    assert_eq!((&kr["key_result"], &kr["kpi"]["name"]), (&json!("Conversion to 50 %"), &json!("Conversion")));
    assert_eq!(kr["kpi"]["measurements"].as_array().unwrap().len(), 6);
    assert_eq!((&kr["kpi"]["baseline"], &kr["kpi"]["target"]), (&json!(40.0), &json!(50.0)));
    let c = &kr["comparisons"][0];
    assert_eq!(
        c,
        &json!({"release_id": w.r1, "release": "2.0", "date": d.to_string(),
            "before": {"from": day(d, -28), "to": day(d, -1), "count": 2, "mean": 41.0},
            "after": {"from": day(d, 0), "to": day(d, 27), "count": 2, "mean": 46.0},
            "change": 5.0, "note": "before/after comparison, not causation"})
    );
    let c = &o["key_results"][1]["comparisons"][0];
    assert_eq!((&c["before"]["mean"], &c["after"]["count"]), (&json!(54.0), &json!(0)));
    assert_eq!((&c["change"], &c["note"]), (&Value::Null, &json!("not enough measurements")));
    // A one-day window: the day before against the day itself.
    let (_, o1) = get(&t, &w.team, &format!("{path}?window_days=1")).await;
    let c = &o1["key_results"][0]["comparisons"][0];
    assert_eq!(
        (&c["before"]["mean"], &c["after"]["mean"], &c["change"]),
        (&json!(42.0), &json!(45.0), &json!(3.0))
    );
    // The same as CSV.
    let text = csv(&t, &w.team, &format!("{path}?format=csv")).await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0], "goal,key_result,kpi,release,shipped,window_days,before_from,before_to,before_count,before_mean,after_from,after_to,after_count,after_mean,change,note");
    assert_eq!(
        lines[1],
        format!(
            "Effortless checkout,Conversion to 50 %,Conversion,2.0,{},28,{},{},2,41,{},{},2,46,5,\"before/after comparison, not causation\"",
            d,
            day(d, -28),
            day(d, -1),
            day(d, 0),
            day(d, 27)
        )
    );
    assert!(lines[2].ends_with(",0,,,not enough measurements"), "{}", lines[2]);

    // The goal: 80 % (48 of 40 → 50) and 20 % (54 of 60 → 30), mean 50; what serves it.
    let (s, g) = get(&t, &w.team, &format!("/api/v1/goals/{}/outcomes", w.goal)).await;
    assert_eq!(s, StatusCode::OK, "{g}");
    assert_eq!(g["progress"], 50.0);
    assert_eq!(
        (&g["key_results"][0]["progress"], &g["key_results"][1]["progress"], &g["key_results"][1]["kpi"]),
        (&json!(80.0), &json!(20.0), &json!("Checkout time"))
    );
    assert_eq!(g["initiatives"].as_array().unwrap().len(), 1);
    let i = &g["initiatives"][0];
    assert_eq!((&i["title"], &i["progress"]["percent"]), (&json!("Checkout"), &json!(63)));
    assert_eq!(i["epics"][0]["epic"]["key"], "SHOP-1");
    let keys: Vec<&str> =
        i["epics"][0]["items"].as_array().unwrap().iter().map(|x| x["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["SHOP-2", "SHOP-3"]);
    let text = csv(&t, &w.team, &format!("/api/v1/goals/{}/outcomes?format=csv", w.goal)).await;
    assert_eq!(
        text,
        "initiative,status,epic,epic_title,done_points,total_points,unestimated,percent\n\
         Checkout,proposed,,,5,8,0,63\nCheckout,proposed,SHOP-1,Checkout,5,8,0,63\n"
    );

    // The chain, from a story up to the vision; a story with no epic; an initiative with no goal.
    let (s, c) = get(&t, &w.team, "/api/v1/items/SHOP-2/chain").await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(
        (&c["epic"], &c["aligned"], &c["vision"]),
        (&json!("SHOP-1"), &json!(true), &json!("Checkout in one tap"))
    );
    assert_eq!(c["parents"][0]["key"], "SHOP-1");
    assert_eq!(c["initiatives"], json!([{"id": w.checkout, "title": "Checkout", "status": "proposed"}]));
    assert_eq!(c["goals"][0]["title"], "Effortless checkout");
    let (_, c) = get(&t, &w.team, "/api/v1/items/SHOP-4/chain").await;
    assert_eq!((&c["epic"], &c["aligned"], &c["initiatives"]), (&Value::Null, &json!(false), &json!([])));
    let (_, c) = get(&t, &w.team, "/api/v1/items/SHOP-8/chain").await;
    assert_eq!((&c["epic"], &c["aligned"], &c["goals"]), (&json!("SHOP-7"), &json!(false), &json!([])));
    assert_eq!(c["initiatives"][0]["title"], "Platform");
    let (_, c) = get(&t, &w.team, "/api/v1/items/SHOP-1/chain").await;
    assert_eq!((&c["epic"], &c["aligned"]), (&json!("SHOP-1"), &json!(true)));

    // Alignment: the backlog is SHOP-3 (3, aligned), SHOP-4 (2, no epic), SHOP-6 (1, epic in no
    // initiative), SHOP-8 (4, initiative with no goal); SHOP-2 is done and in no active sprint.
    let (s, a) = get(&t, &w.team, "/api/v1/products/SHOP/alignment").await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(
        a["total"],
        json!({"team_id": null, "team": "Product", "items": 4, "points": 10.0, "unaligned_items": 3,
            "unaligned_points": 7.0, "unaligned_points_share": 0.7, "unaligned_items_share": 0.75,
            "unestimated": 0, "unaligned": ["SHOP-4", "SHOP-6", "SHOP-8"]})
    );
    // A team plans SHOP-3 and SHOP-8 into a sprint.
    let team_id = post(&t, &t.admin_token, "/api/v1/products/SHOP/teams", json!({"name": "Core"})).await
        ["id"]
        .as_i64()
        .unwrap();
    let sprint = post(
        &t,
        &t.admin_token,
        &format!("/api/v1/teams/{team_id}/sprints"),
        json!({"name": "S1", "start": day(d, 0), "end": day(d, 13)}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    for k in ["SHOP-3", "SHOP-8"] {
        post(&t, &t.admin_token, &format!("/api/v1/sprints/{sprint}/items"), json!({"key": k})).await;
    }
    let (_, a) = get(&t, &w.sh, "/api/v1/products/SHOP/alignment").await;
    assert_eq!(a["teams"].as_array().unwrap().len(), 2, "{a}");
    let core = &a["teams"][0];
    assert_eq!(
        (
            &core["team_id"],
            &core["team"],
            &core["items"],
            &core["points"],
            &core["unaligned_points"],
            &core["unaligned"]
        ),
        (&json!(team_id), &json!("Core"), &json!(2), &json!(7.0), &json!(4.0), &json!(["SHOP-8"]))
    );
    let rest = &a["teams"][1];
    assert_eq!(
        (&rest["team_id"], &rest["team"], &rest["points"], &rest["unaligned_points_share"]),
        (&Value::Null, &json!("No sprint"), &json!(3.0), &json!(1.0))
    );
    for q in
        [format!("team={team_id}"), format!("sprint={sprint}"), format!("team={team_id}&sprint={sprint}")]
    {
        let (s, a) = get(&t, &w.team, &format!("/api/v1/products/SHOP/alignment?{q}")).await;
        assert_eq!(s, StatusCode::OK, "{a}");
        assert_eq!((&a["total"]["items"], &a["total"]["unaligned"]), (&json!(2), &json!(["SHOP-8"])), "{q}");
    }
    let text = csv(&t, &w.team, &format!("/api/v1/products/SHOP/alignment?sprint={sprint}&format=csv")).await;
    assert_eq!(text, "key,kind,title,team,points,aligned\nSHOP-3,story,Wallets,Core,3,true\nSHOP-8,story,Upgrade,Core,4,false\n");

    // Done epic: finishing SHOP-3 and then the epic puts an epic-done event on the timeline.
    finish(&t, "SHOP-3").await;
    finish(&t, "SHOP-1").await;
    let (_, o) = get(&t, &w.team, &path).await;
    let kinds: Vec<&str> =
        o["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["release_shipped", "epic_done"], "{o}");
    assert_eq!((&o["events"][1]["label"], &o["progress"]["percent"]), (&json!("SHOP-1"), &json!(100)));

    // A task under a finished story traces to the goal through the story's epic.
    let task =
        item(&t, &t.admin_token, json!({"title": "Copy tweaks", "kind": "task", "parent": "SHOP-2"})).await;
    let (s, v) =
        call(&t, &w.team, Method::PATCH, &format!("/api/v1/items/{task}"), Some(json!({"estimate": 2})))
            .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, c) = get(&t, &w.team, &format!("/api/v1/items/{task}/chain")).await;
    let parents: Vec<&str> =
        c["parents"].as_array().unwrap().iter().map(|p| p["key"].as_str().unwrap()).collect();
    assert_eq!((parents, &c["aligned"]), (vec!["SHOP-2", "SHOP-1"], &json!(true)));
    // Open now: SHOP-4, SHOP-6, SHOP-8 (unaligned, 7 points) and the task (aligned, 2).
    let (_, a) = get(&t, &w.team, "/api/v1/products/SHOP/alignment").await;
    assert_eq!(
        (
            &a["total"]["items"],
            &a["total"]["points"],
            &a["total"]["unaligned_points"],
            &a["total"]["unaligned"]
        ),
        (&json!(4), &json!(9.0), &json!(7.0), &json!(["SHOP-4", "SHOP-6", "SHOP-8"])),
        "{a}"
    );
}

async fn bad_input_and_rights(db: TestDb) {
    let t = spawn_app(db).await;
    let w = world(&t).await;
    let path = format!("/api/v1/initiatives/{}/outcomes", w.checkout);
    for (q, field) in [
        ("window_days=0", "window_days"),
        ("window_days=367", "window_days"),
        ("window_days=abc", "window_days"),
        ("format=xml", "format"),
    ] {
        let (s, v) = get(&t, &w.pm, &format!("{path}?{q}")).await;
        assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{q}: {v}");
    }
    for q in ["team=abc", "team=-3", "team=999999", "sprint=999999", "format=pdf"] {
        let (s, v) = get(&t, &w.pm, &format!("/api/v1/products/SHOP/alignment?{q}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {v}");
        assert!(["team", "sprint", "format"].contains(&v["field"].as_str().unwrap()), "{v}");
    }
    for p in [
        "/api/v1/initiatives/999999/outcomes",
        "/api/v1/initiatives/x/outcomes",
        "/api/v1/goals/999999/outcomes",
        "/api/v1/goals/x/outcomes",
        "/api/v1/items/SHOP-999/chain",
        "/api/v1/items/NOPE-1/chain",
        "/api/v1/products/NOPE/alignment",
    ] {
        assert_eq!(get(&t, &w.pm, p).await.0, StatusCode::NOT_FOUND, "{p}");
    }
    // Someone of another product sees none of it.
    let other = t.product("OTHER").await;
    let (_, stranger) = t.member(&other, "x@keel.test", &[Role::Pm]).await;
    assert_eq!(get(&t, &stranger, &path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        get(&t, &stranger, &format!("/api/v1/goals/{}/outcomes", w.goal)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(&t, &stranger, "/api/v1/items/SHOP-2/chain").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&t, &stranger, "/api/v1/products/SHOP/alignment").await.0, StatusCode::NOT_FOUND);
    // A stakeholder reads, but sees only public initiatives.
    assert_eq!(get(&t, &w.sh, &path).await.0, StatusCode::NOT_FOUND);
    let (_, g) = get(&t, &w.sh, &format!("/api/v1/goals/{}/outcomes", w.goal)).await;
    assert_eq!(g["initiatives"], json!([]));
    let (_, c) = get(&t, &w.sh, "/api/v1/items/SHOP-2/chain").await;
    assert_eq!(c["initiatives"], json!([]));
    let (s, v) = call(
        &t,
        &w.pm,
        Method::PATCH,
        &format!("/api/v1/initiatives/{}", w.checkout),
        Some(json!({"public": true})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, o) = get(&t, &w.sh, &path).await;
    assert_eq!((s, &o["title"]), (StatusCode::OK, &json!("Checkout")), "{o}");
    let (_, g) = get(&t, &w.sh, &format!("/api/v1/goals/{}/outcomes", w.goal)).await;
    assert_eq!(g["initiatives"][0]["title"], "Checkout");
    assert_eq!(get(&t, &w.sh, "/api/v1/products/SHOP/alignment").await.0, StatusCode::OK);
    // Reading changes nothing: the PO and the team read too.
    for tok in [&w.po, &w.team] {
        assert_eq!(get(&t, tok, &path).await.0, StatusCode::OK);
    }
}
