//! API tests of Monte-Carlo forecasts: answers from the history of done items (on days set
//! through the store, as a past history would be), their agreement with the domain's own
//! computation on both databases, thin-history refusal and bad input; on SQLite and (when
//! `KEEL_TEST_DATABASE_URL` is set) on PostgreSQL.

use keel_domain::event::ObjectKind;
use keel_domain::forecast::{self, Mode, Options, METHOD};
use keel_domain::item::ItemPatch;
use keel_domain::product::Role;
use keel_domain::workflow::Category;
use keel_domain::{Date, Timestamp};
use keel_store::{NewRecord, Ref, WriteCtx, WriteOp};
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
    forecasts_from_the_done_history,
    points_forecast_from_closed_sprints,
    thin_history_is_refused,
    bad_input_is_refused
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
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn post(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(t, token, Method::POST, path, Some(body)).await
}

/// Creates stories SHOP-n with these estimates, in a release when given; returns their ids.
async fn stories(t: &TestApp, dev: &str, n: usize, release: Option<i64>) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let body = json!({"title": format!("Story {i}"), "release": release, "estimate": 3});
        let (s, v) = post(t, dev, "/api/v1/products/SHOP/items", body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        ids.push(v["id"].as_i64().unwrap());
    }
    ids
}

/// Moves the item to the Done state at noon UTC of `day`, as a change made then.
async fn done_on(t: &TestApp, id: i64, day: &str) {
    let access = t.app.access(&t.admin, "SHOP").await.unwrap();
    let wf = t.app.workflow(&access).await.unwrap();
    let done = wf.states.iter().find(|s| s.category == Category::Done).unwrap();
    let at = Timestamp(Date::parse("day", day).unwrap().start().0 + 12 * 3_600_000);
    let op = WriteOp::UpdateItem {
        id: Ref::Id(id),
        expected_version: None,
        patch: ItemPatch { status: Some((done.id, Category::Done)), ..Default::default() },
    };
    let ctx = WriteCtx { actor: Some(t.admin.id), at, proposal: None };
    t.app.store().write_batch(vec![op], &ctx).await.unwrap();
}

fn day(base: &str, plus: i32) -> String {
    Date::parse("d", base).unwrap().plus_days(plus).to_string()
}

fn today_plus(days: i32) -> String {
    Date::of(keel_app::now()).plus_days(days).to_string()
}

fn periods(v: &Value) -> Vec<Option<u64>> {
    v["answers"].as_array().unwrap().iter().map(|a| a["periods"].as_u64()).collect()
}

async fn forecasts_from_the_done_history(db: TestDb) {
    let t = spawn_app(db).await;
    let product = t.product("SHOP").await;
    let (_, reader) = t.member(&product, "team@keel.test", &[Role::Team]).await;
    let (_, dev) = t.member(&product, "dev@keel.test", &[Role::Po, Role::Team]).await;
    let tok = &t.admin_token;
    let (s, rel) = post(&t, tok, "/api/v1/products/SHOP/releases", json!({"name": "2.4"})).await;
    assert_eq!(s, StatusCode::CREATED, "{rel}");
    let rel = rel["id"].as_i64().unwrap();

    // January: one item done a day for ten days. February: twelve items on uneven days.
    let jan = stories(&t, &dev, 10, None).await;
    for (i, id) in jan.iter().enumerate() {
        done_on(&t, *id, &day("2026-01-05", i as i32)).await;
    }
    let feb_counts = [3u32, 0, 0, 2, 1, 0, 0, 4, 0, 0, 1, 0, 1, 0];
    let feb = stories(&t, &dev, 12, None).await;
    let mut next = feb.iter();
    for (d, &c) in feb_counts.iter().enumerate() {
        for _ in 0..c {
            done_on(&t, *next.next().unwrap(), &day("2026-02-01", d as i32)).await;
        }
    }
    // The release: four open stories and one done.
    let scope = stories(&t, &dev, 5, Some(rel)).await;
    done_on(&t, scope[0], "2026-03-02").await;
    // An epic and a task done in January: not kinds the remaining work counts, so not in the
    // pace either (the sample below stays one a day).
    for kind in ["epic", "task"] {
        let body = json!({"title": format!("A {kind}"), "kind": kind});
        let (s, v) = post(&t, tok, "/api/v1/products/SHOP/items", body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        done_on(&t, v["id"].as_i64().unwrap(), "2026-01-06").await;
    }

    // Constant throughput: four items at one a day take exactly four days.
    let req = json!({"product": "SHOP", "selection": {"release": rel}, "mode": "throughput",
        "window": {"from": "2026-01-05", "to": "2026-01-14"}, "question": "when", "seed": 3});
    let (s, v) = post(&t, &reader, "/api/v1/forecasts", req.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "forecast", "{v}");
    assert_eq!(
        v["remaining"],
        json!({"total_items": 5, "done_items": 1, "items": 4, "points": 12, "unestimated": 0})
    );
    assert_eq!(v["history"]["sample"], json!([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]));
    assert_eq!(
        (v["history"]["from"].as_str(), v["history"]["to"].as_str()),
        (Some("2026-01-05"), Some("2026-01-14"))
    );
    assert_eq!(periods(&v), vec![Some(4), Some(4), Some(4)]);
    let dates: Vec<&str> =
        v["answers"].as_array().unwrap().iter().map(|a| a["date"].as_str().unwrap()).collect();
    assert_eq!(dates, vec![today_plus(3); 3]);
    assert_eq!(v["distribution"].as_array().unwrap().len(), 1);
    assert_eq!(v["trials"], 10_000);

    // Uneven history: the answer is the domain's, for this seed, on either database.
    let feb_window = json!({"from": "2026-02-01", "to": "2026-02-14"});
    let req = json!({"product": "SHOP", "selection": {"release": rel}, "mode": "throughput",
        "window": feb_window, "question": "when", "seed": 7});
    let (s, v) = post(&t, &reader, "/api/v1/forecasts", req.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["history"]["sample"], json!(feb_counts));
    assert_eq!(v["history"]["done"], 12);
    let o = Options {
        trials: 10_000,
        seed: 7,
        sampling: METHOD.sampling,
        level: METHOD.level,
        horizon: forecast::HORIZON_DAYS,
    };
    let want = forecast::when(Mode::Throughput, &feb_counts, 4, &o).unwrap();
    let got = periods(&v);
    assert_eq!(got, want.periods.iter().map(|p| p.map(u64::from)).collect::<Vec<_>>());
    // Sensible: 0.86 items a day, four items: a few days at 50 %, more at 95 %.
    let [p50, p85, p95] = [got[0].unwrap(), got[1].unwrap(), got[2].unwrap()];
    assert!((3..=8).contains(&p50) && p50 <= p85 && p85 <= p95, "{got:?}");
    let total: u64 =
        v["distribution"].as_array().unwrap().iter().map(|b| b["trials"].as_u64().unwrap()).sum();
    assert_eq!(total, 10_000);
    // The same request again gives the same answer.
    let (_, again) = post(&t, &reader, "/api/v1/forecasts", req.clone()).await;
    assert_eq!(again["answers"], v["answers"]);

    // How much by a date two weeks out (fourteen days from today).
    let req = json!({"product": "SHOP", "selection": {"release": rel}, "mode": "throughput",
        "window": feb_window, "question": "how_much", "date": today_plus(13), "seed": 7});
    let (s, v) = post(&t, &reader, "/api/v1/forecasts", req.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let want = forecast::how_much(Mode::Throughput, &feb_counts, 14, &o).unwrap();
    let amounts: Vec<u64> =
        v["answers"].as_array().unwrap().iter().map(|a| a["amount"].as_u64().unwrap()).collect();
    assert_eq!(amounts, want.amounts.to_vec());
    assert!(amounts[0] >= amounts[1] && amounts[1] >= amounts[2], "{amounts:?}");

    // The distribution as CSV.
    let res = Client::new()
        .post(t.url("/api/v1/forecasts?format=csv"))
        .bearer_auth(&reader)
        .json(&req)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("from,to,from_date,to_date,trials"));
    let trials: u64 = lines.map(|l| l.rsplit(',').next().unwrap().parse::<u64>().unwrap()).sum();
    assert_eq!(trials, 10_000);

    // Selections by epic and by items.
    let (s, epic) =
        post(&t, tok, "/api/v1/products/SHOP/items", json!({"title": "Epic", "kind": "epic"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let ek = epic["key"].as_str().unwrap().to_string();
    for i in 0..2 {
        let (s, _) = post(
            &t,
            tok,
            "/api/v1/products/SHOP/items",
            json!({"title": format!("Child {i}"), "parent": ek}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let req = json!({"product": "SHOP", "selection": {"epic": ek}, "mode": "throughput",
        "window": {"from": "2026-01-05", "to": "2026-01-14"}, "question": "when"});
    let (s, v) = post(&t, &reader, "/api/v1/forecasts", req).await;
    assert_eq!((s, v["remaining"]["items"].as_u64()), (StatusCode::OK, Some(2)), "{v}");
    assert_eq!(periods(&v), vec![Some(2); 3]);
    let req = json!({"product": "SHOP", "selection": {"items": ["SHOP-1", "SHOP-24", "SHOP-25"]},
        "mode": "throughput", "window": {"from": "2026-01-05", "to": "2026-01-14"}, "question": "when"});
    let (s, v) = post(&t, &reader, "/api/v1/forecasts", req).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["remaining"]["done_items"], 1, "{v}");
    assert_eq!(periods(&v), vec![Some(2); 3]);
}

async fn thin_history_is_refused(db: TestDb) {
    let t = spawn_app(db).await;
    let product = t.product("SHOP").await;
    let (_, dev) = t.member(&product, "dev@keel.test", &[Role::Po, Role::Team]).await;
    let tok = &t.admin_token;
    let ids = stories(&t, &dev, 12, None).await;
    for (i, id) in ids.iter().take(9).enumerate() {
        done_on(&t, *id, &day("2026-01-05", i as i32)).await;
    }
    let req = json!({"product": "SHOP", "selection": {"items": ["SHOP-10", "SHOP-11"]}, "mode": "throughput",
        "window": {"from": "2026-01-01", "to": "2026-01-31"}, "question": "when"});
    let (s, v) = post(&t, tok, "/api/v1/forecasts", req).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "not_enough_history");
    assert_eq!((v["have"].as_u64(), v["need"].as_u64()), (Some(9), Some(10)));
    assert!(v["message"].as_str().unwrap().contains("9 item(s) done"), "{v}");
    assert_eq!(v["answers"], json!([]));
    assert_eq!(v["history"]["from"], "2026-01-01");
    // The tenth makes a forecast.
    done_on(&t, ids[9], "2026-01-20").await;
    let req = json!({"product": "SHOP", "selection": {"items": ["SHOP-11", "SHOP-12"]}, "mode": "throughput",
        "window": {"from": "2026-01-01", "to": "2026-01-31"}, "question": "when"});
    let (_, v) = post(&t, tok, "/api/v1/forecasts", req).await;
    assert_eq!(v["status"], "forecast", "{v}");

    // Points: a team without closed sprints has no history.
    let (s, team) = post(&t, tok, "/api/v1/products/SHOP/teams", json!({"name": "Core"})).await;
    assert_eq!(s, StatusCode::CREATED, "{team}");
    let req =
        json!({"product": "SHOP", "selection": {"items": ["SHOP-11"]}, "mode": "points", "question": "when"});
    let (s, v) = post(&t, tok, "/api/v1/forecasts", req).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["have"].as_u64(), v["need"].as_u64()),
        (Some("not_enough_history"), Some(0), Some(5))
    );
    assert!(v["message"].as_str().unwrap().contains("0 closed sprint(s)"), "{v}");
}

async fn bad_input_is_refused(db: TestDb) {
    let t = spawn_app(db).await;
    let product = t.product("SHOP").await;
    t.product("OTHER").await;
    let (_, outsider) = t.member(&product, "x@keel.test", &[Role::Team]).await;
    let (_, dev) = t.member(&product, "dev@keel.test", &[Role::Po, Role::Team]).await;
    let tok = &t.admin_token;
    stories(&t, &dev, 2, None).await;
    let base = json!({"product": "SHOP", "selection": {"items": ["SHOP-1"]}, "mode": "throughput", "question": "when"});
    let with = |patch: Value| {
        let mut b = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for (body, field) in [
        (with(json!({"selection": {"release": 99999}})), "selection.release"),
        (with(json!({"selection": {"items": []}})), "selection.items"),
        (with(json!({"selection": {"items": ["SHOP-1", "SHOP-99"]}})), "selection.items[1]"),
        (with(json!({"selection": {"epic": "SHOP-77"}})), "selection.epic"),
        (with(json!({"selection": {"release": 1, "epic": "SHOP-1"}})), "selection"),
        (with(json!({"selection": {}})), "selection"),
        (with(json!({"mode": "velocity"})), "mode"),
        (with(json!({"question": "why"})), "question"),
        (with(json!({"question": "how_much"})), "date"),
        (with(json!({"question": "how_much", "date": "2020-01-01"})), "date"),
        (with(json!({"question": "how_much", "date": "2026-02-30"})), "date"),
        (with(json!({"trials": 10})), "trials"),
        (with(json!({"trials": 1_000_000})), "trials"),
        (with(json!({"window": {"last": 0}})), "window.last"),
        (with(json!({"window": {"from": "2026-01-10", "to": "2026-01-01"}})), "window.to"),
        (with(json!({"window": {"from": "2026-01-10"}})), "window.to"),
        (with(json!({"mode": "points"})), "team"),
        (with(json!({"mode": "points", "team": 424242})), "team"),
    ] {
        let (s, v) = post(&t, tok, "/api/v1/forecasts", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {v}");
        assert_eq!(v["field"].as_str(), Some(field), "{body} → {v}");
    }
    // An item of another product is not in this one.
    let (s, v) = post(&t, tok, "/api/v1/forecasts", with(json!({"selection": {"items": ["OTHER-1"]}}))).await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("selection.items[0]")),
        "{v}"
    );
    // Unknown product, and a product the caller is not a member of: 404.
    let (s, _) = post(&t, tok, "/api/v1/forecasts", with(json!({"product": "NOPE"}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = post(&t, &outsider, "/api/v1/forecasts", with(json!({"product": "OTHER"}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A bad format.
    let res = Client::new()
        .post(t.url("/api/v1/forecasts?format=xml"))
        .bearer_auth(tok)
        .json(&base)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Malformed JSON (a string for trials) is a 4xx, not a 500.
    let (s, _) = post(&t, tok, "/api/v1/forecasts", with(json!({"trials": "many"}))).await;
    assert!(s.is_client_error(), "{s}");
}

/// A closed two-week sprint of `team` starting on `start`, with `completed` points, written as
/// the close would have left it.
async fn closed_sprint(t: &TestApp, team: i64, n: usize, start: Date, completed: f64) {
    let access = t.app.access(&t.admin, "SHOP").await.unwrap();
    let end = start.plus_days(13);
    let data = json!({"name": format!("Sprint {n}"), "start": start.to_string(), "end": end.to_string(),
        "summary": {"at": end.end().0, "committed": completed, "completed": completed, "added": 0.0,
            "removed": 0.0, "completed_items": [], "carried_over": []}});
    let op = WriteOp::CreateRecord(NewRecord {
        kind: ObjectKind::Sprint,
        product_id: Some(access.product.id),
        parent_id: Some(team),
        state: "closed".into(),
        unique_key: None,
        data,
    });
    let ctx = WriteCtx { actor: Some(t.admin.id), at: end.end(), proposal: None };
    t.app.store().write_batch(vec![op], &ctx).await.unwrap();
}

async fn points_forecast_from_closed_sprints(db: TestDb) {
    let t = spawn_app(db).await;
    let product = t.product("SHOP").await;
    let (_, reader) = t.member(&product, "team@keel.test", &[Role::Team]).await;
    let (_, dev) = t.member(&product, "dev@keel.test", &[Role::Po, Role::Team]).await;
    let (s, team) = post(&t, &t.admin_token, "/api/v1/products/SHOP/teams", json!({"name": "Core"})).await;
    assert_eq!(s, StatusCode::CREATED, "{team}");
    let team = team["id"].as_i64().unwrap();
    let first = Date::parse("d", "2026-01-05").unwrap();
    for n in 0..6 {
        closed_sprint(&t, team, n + 1, first.plus_days(14 * n as i32), 8.0).await;
    }
    // Four open stories of 3 points: 12 points at 8 a sprint take two sprints of 14 days.
    stories(&t, &dev, 4, None).await;
    let req = json!({"product": "SHOP", "selection": {"items": ["SHOP-1", "SHOP-2", "SHOP-3", "SHOP-4"]},
        "mode": "points", "question": "when"});
    let (s, v) = post(&t, &reader, "/api/v1/forecasts", req).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "forecast", "{v}");
    assert_eq!(v["remaining"]["points"], 12);
    assert_eq!(v["history"]["sample"], json!([8, 8, 8, 8, 8, 8]));
    assert_eq!(v["history"]["period"], "sprint");
    assert_eq!(v["history"]["team"], team);
    assert_eq!(v["period_days"], 14);
    assert_eq!(periods(&v), vec![Some(2); 3]);
    assert_eq!(v["answers"][0]["date"].as_str(), Some(today_plus(27).as_str()));
    // How much in the next 28 days: two sprints of 8.
    let req = json!({"product": "SHOP", "team": team, "selection": {"items": ["SHOP-1"]},
        "mode": "points", "question": "how_much", "date": today_plus(27)});
    let (s, v) = post(&t, &reader, "/api/v1/forecasts", req).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let amounts: Vec<u64> =
        v["answers"].as_array().unwrap().iter().map(|a| a["amount"].as_u64().unwrap()).collect();
    assert_eq!(amounts, vec![16, 16, 16]);
    // The last three sprints only: too few.
    let req = json!({"product": "SHOP", "selection": {"items": ["SHOP-1"]}, "mode": "points",
        "window": {"last": 3}, "question": "when"});
    let (_, v) = post(&t, &reader, "/api/v1/forecasts", req).await;
    assert_eq!((v["status"].as_str(), v["have"].as_u64()), (Some("not_enough_history"), Some(3)), "{v}");
    assert_eq!(v["history"]["sprints"], json!(["Sprint 4", "Sprint 5", "Sprint 6"]));
}
