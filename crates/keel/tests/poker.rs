//! Planning poker, questions to the Product Owner and the decision log over HTTP, on SQLite and
//! (when `KEEL_TEST_DATABASE_URL` is set) on PostgreSQL.

use keel_domain::product::Role;
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
    a_full_round,
    bad_votes_and_rights_change_nothing,
    concurrent_votes_all_count_and_one_open_wins,
    the_room_is_live_over_server_sent_events,
    questions_and_the_decision_log,
    the_pages_work_without_javascript,
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

async fn post_empty(t: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    call(t, token, Method::POST, path, None).await
}

struct Team {
    t: TestApp,
    po: String,
    a: String,
    b: String,
    sh: String,
}

/// SHOP with two stories; the administrator is PM and PO; two team members and a stakeholder.
async fn setup(db: TestDb) -> Team {
    let t = spawn_app(db).await;
    let p = t.product("SHOP").await;
    let (_, a) = t.member(&p, "ann@keel.test", &[Role::Team]).await;
    let (_, b) = t.member(&p, "bob@keel.test", &[Role::Team]).await;
    let (_, sh) = t.member(&p, "sam@keel.test", &[Role::Stakeholder]).await;
    let po = t.admin_token.clone();
    for title in ["Pay by card", "Refunds"] {
        let (s, v) = post(&t, &po, "/api/v1/products/SHOP/items", json!({ "title": title })).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    Team { t, po, a, b, sh }
}

fn cards(room: &Value) -> Vec<String> {
    let mut v: Vec<String> = room["votes"]
        .as_array()
        .expect("votes")
        .iter()
        .map(|v| v["card"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

async fn a_full_round(db: TestDb) {
    let Team { t, po, a, b, .. } = setup(db).await;
    let room = "/api/v1/items/SHOP-1/poker";
    let (s, v) = get(&t, &a, room).await;
    assert_eq!((s, v["state"].as_str()), (StatusCode::OK, Some("none")), "{v}");
    assert_eq!(v["deck"], json!(["0", "1", "2", "3", "5", "8", "13", "20", "40", "100", "?", "coffee"]));

    // The PO opens round 1; a second open while it runs is a conflict.
    let (s, v) = post_empty(&t, &po, room).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!((v["state"].as_str(), v["round"].as_i64()), (Some("open"), Some(1)));
    assert_eq!(post_empty(&t, &po, room).await.0, StatusCode::CONFLICT);

    // Two team members vote; one changes their mind before the reveal.
    let vote = format!("{room}/vote");
    assert_eq!(post(&t, &a, &vote, json!({"card": "5"})).await.0, StatusCode::OK);
    let (s, v) = post(&t, &b, &vote, json!({"card": 8})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = post(&t, &a, &vote, json!({"card": "3"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Hidden until the reveal: who voted shows, the cards do not (only one's own).
    assert_eq!(v["voters"].as_array().unwrap().len(), 2);
    assert!(v["votes"].is_null() && v["summary"].is_null(), "{v}");
    assert_eq!(v["my_vote"], "3");
    let (_, v) = get(&t, &po, room).await;
    assert!(v["votes"].is_null(), "the PO does not see the cards either: {v}");
    assert!(!v.to_string().contains("\"card\""), "{v}");
    assert!(v["my_vote"].is_null());

    // The PO reveals: both cards and the figures show.
    let (s, v) = post_empty(&t, &po, &format!("{room}/reveal")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(cards(&v), ["3", "8"]);
    assert_eq!((v["summary"]["min"].as_i64(), v["summary"]["max"].as_i64()), (Some(3), Some(8)));
    assert_eq!(v["summary"]["consensus"], false);

    // A vote after the reveal is a conflict and changes nothing.
    let (s, e) = post(&t, &a, &vote, json!({"card": "13"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    let (_, v) = get(&t, &a, room).await;
    assert_eq!(cards(&v), ["3", "8"]);

    // Re-vote: round 2 opens empty, round 1 is kept.
    let (s, v) = post_empty(&t, &po, &format!("{room}/revote")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["state"].as_str(), v["round"].as_i64()), (Some("open"), Some(2)));
    assert_eq!(v["voters"], json!([]));
    assert_eq!(v["history"][0]["round"], 1);
    assert_eq!(v["history"][0]["votes"].as_array().unwrap().len(), 2);
    post(&t, &a, &vote, json!({"card": "5"})).await;
    post(&t, &b, &vote, json!({"card": "5"})).await;
    let (_, v) = post_empty(&t, &po, &format!("{room}/reveal")).await;
    assert_eq!(v["summary"]["consensus"], true, "{v}");

    // The estimate is the team's: the PO may not set it; nothing changes.
    let est = format!("{room}/estimate");
    let (s, e) = post(&t, &po, &est, json!({"estimate": 5})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let (_, item) = get(&t, &po, "/api/v1/items/SHOP-1").await;
    assert!(item["estimate"].is_null(), "{item}");
    assert_eq!(get(&t, &po, room).await.1["state"], "revealed");

    // A team member sets it: the item changes and the round closes, together.
    let (s, v) = post(&t, &a, &est, json!({"estimate": 5})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["state"].as_str(), v["estimate"].as_f64()), (Some("closed"), Some(5.0)));
    let (_, item) = get(&t, &po, "/api/v1/items/SHOP-1").await;
    assert_eq!(item["estimate"].as_f64(), Some(5.0), "{item}");
    let (_, h) = get(&t, &po, "/api/v1/items/SHOP-1/history").await;
    assert_eq!(h["events"][0]["field"], "estimate", "{h}");
    assert_eq!(post(&t, &a, &vote, json!({"card": "1"})).await.0, StatusCode::CONFLICT);
    assert_eq!(post(&t, &a, &est, json!({"estimate": 8})).await.0, StatusCode::CONFLICT);

    // The estimate is a decision in the product's log: who, when, which item.
    let (_, log) = get(&t, &po, "/api/v1/products/SHOP/decisions?kind=estimate").await;
    let d = &log["decisions"];
    assert_eq!(d.as_array().map(Vec::len), Some(1), "{log}");
    assert_eq!((d[0]["item"].as_str(), d[0]["who"]["name"].as_str()), (Some("SHOP-1"), Some("ann")));
    assert!(d[0]["what"].as_str().unwrap().ends_with(": 5"), "{log}");

    // A later session continues the numbering.
    let (s, v) = post_empty(&t, &a, room).await;
    assert_eq!((s, v["round"].as_i64()), (StatusCode::CREATED, Some(3)), "{v}");
    let (s, v) = post_empty(&t, &po, &format!("{room}/close")).await;
    assert_eq!((s, v["state"].as_str()), (StatusCode::OK, Some("closed")), "{v}");
    assert!(v["estimate"].is_null());
    let (_, item) = get(&t, &po, "/api/v1/items/SHOP-1").await;
    assert_eq!(item["estimate"].as_f64(), Some(5.0), "abandoning keeps the estimate");
    let (_, log) = get(&t, &po, "/api/v1/products/SHOP/decisions?kind=estimate").await;
    assert_eq!(
        log["decisions"].as_array().map(Vec::len),
        Some(1),
        "an abandoned round decides nothing: {log}"
    );
}

async fn bad_votes_and_rights_change_nothing(db: TestDb) {
    let Team { t, po, a, sh, .. } = setup(db).await;
    let room = "/api/v1/items/SHOP-2/poker";
    let vote = format!("{room}/vote");
    // Nothing to vote in yet, nothing to reveal.
    assert_eq!(post(&t, &a, &vote, json!({"card": "5"})).await.0, StatusCode::CONFLICT);
    assert_eq!(post_empty(&t, &po, &format!("{room}/reveal")).await.0, StatusCode::CONFLICT);
    // A stakeholder may neither open nor vote.
    let (s, e) = post_empty(&t, &sh, room).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(get(&t, &po, room).await.1["state"], "none");
    post_empty(&t, &po, room).await;
    let (s, e) = post(&t, &sh, &vote, json!({"card": "5"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["deciders"], json!(["team"]));
    // The PO does not vote either (estimating is the team's).
    assert_eq!(post(&t, &po, &vote, json!({"card": "5"})).await.0, StatusCode::FORBIDDEN);
    // Cards not in the deck are named.
    for bad in [json!("4"), json!(4), json!("tea"), json!(null), json!({"n": 1}), json!(-1)] {
        let (s, e) = post(&t, &a, &vote, json!({ "card": bad })).await;
        assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("card")), "{bad}: {e}");
    }
    let (s, e) = post(&t, &a, &vote, json!({"card": "5", "extra": 1})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, e) = post(&t, &a, &vote, json!({})).await;
    assert_eq!((s, e["field"].as_str()), (StatusCode::BAD_REQUEST, Some("card")), "{e}");
    let (_, v) = get(&t, &a, room).await;
    assert_eq!(v["voters"], json!([]), "no bad vote was stored: {v}");
    // Reveal with nobody voted is refused; so is an estimate before the reveal.
    assert_eq!(post_empty(&t, &po, &format!("{room}/reveal")).await.0, StatusCode::CONFLICT);
    post(&t, &a, &vote, json!({"card": "?"})).await;
    let est = format!("{room}/estimate");
    assert_eq!(post(&t, &a, &est, json!({"estimate": 3})).await.0, StatusCode::CONFLICT);
    post_empty(&t, &po, &format!("{room}/reveal")).await;
    // Estimates that are not a number of points.
    let (s, e) = post(&t, &a, &est, json!({"estimate": "three"})).await;
    assert_eq!((s, e["field"].as_str()), (StatusCode::BAD_REQUEST, Some("estimate")), "{e}");
    let (s, e) = post(&t, &a, &est, json!({"estimate": 0.3})).await;
    assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("estimate")), "{e}");
    let (s, e) = post(&t, &a, &est, json!({"estimate": -2})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(get(&t, &po, room).await.1["state"], "revealed");
    assert!(get(&t, &po, "/api/v1/items/SHOP-2").await.1["estimate"].is_null());
    // Another product's members see nothing.
    let other = t.product("OTHER").await;
    let (_, stranger) = t.member(&other, "x@keel.test", &[Role::Team]).await;
    assert_eq!(get(&t, &stranger, room).await.0, StatusCode::NOT_FOUND);
    assert_eq!(post(&t, &stranger, &vote, json!({"card": "5"})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&t, &po, "/api/v1/items/SHOP-99/poker").await.0, StatusCode::NOT_FOUND);
}

async fn concurrent_votes_all_count_and_one_open_wins(db: TestDb) {
    let Team { t, po, .. } = setup(db).await;
    let p = t.app.product_by_key("SHOP").await.unwrap();
    let room = "/api/v1/items/SHOP-1/poker";
    // Two openers at once: exactly one round.
    let (x, y) = tokio::join!(post_empty(&t, &po, room), post_empty(&t, &po, room));
    let mut got = [x.0, y.0];
    got.sort();
    assert_eq!(got, [StatusCode::CREATED, StatusCode::CONFLICT]);
    // Eight voters at once: every card counts.
    let mut tokens = Vec::new();
    for i in 0..8 {
        tokens.push(t.member(&p, &format!("v{i}@keel.test"), &[Role::Team]).await.1);
    }
    let vote = format!("{room}/vote");
    let calls = tokens.iter().map(|tok| post(&t, tok, &vote, json!({"card": "8"})));
    let results = futures_join_all(calls).await;
    for (s, v) in &results {
        assert_eq!(*s, StatusCode::OK, "{v}");
    }
    let (_, v) = get(&t, &po, room).await;
    assert_eq!(v["voters"].as_array().unwrap().len(), 8, "{v}");
}

/// Runs futures concurrently on the runtime and collects their outputs in order.
async fn futures_join_all<F>(fs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future,
{
    // Each future borrows the test's state, so they run on this task, interleaved.
    let fs: Vec<_> = fs.map(Box::pin).collect();
    let mut outs: Vec<Option<F::Output>> = fs.iter().map(|_| None).collect();
    let mut fs: Vec<Option<_>> = fs.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, slot) in fs.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        outs[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outs.into_iter().map(|o| o.expect("done")).collect()
}

/// Reads the event stream until an event whose data satisfies `ok`, within five seconds.
async fn next_round(res: &mut reqwest::Response, buf: &mut String, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if !block.lines().any(|l| l == "event: round") {
                continue;
            }
            let data: String =
                block.lines().filter_map(|l| l.strip_prefix("data: ").or(l.strip_prefix("data:"))).collect();
            let v: Value = serde_json::from_str(&data).expect("event data");
            if ok(&v) {
                return v;
            }
        }
        let chunk = tokio::time::timeout_at(deadline, res.chunk()).await.expect("an event in time");
        let chunk = chunk.expect("stream").expect("stream still open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn the_room_is_live_over_server_sent_events(db: TestDb) {
    let Team { t, po, a, b, .. } = setup(db).await;
    let room = "/api/v1/items/SHOP-1/poker";
    let mut res =
        Client::new().get(t.url(&format!("{room}/events"))).bearer_auth(&a).send().await.expect("stream");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut buf = String::new();
    let v = next_round(&mut res, &mut buf, |_| true).await;
    assert_eq!(v["state"], "none", "the first event is the room as it is");
    post_empty(&t, &po, room).await;
    next_round(&mut res, &mut buf, |v| v["state"] == "open").await;
    post(&t, &b, &format!("{room}/vote"), json!({"card": "13"})).await;
    let v = next_round(&mut res, &mut buf, |v| v["voters"].as_array().is_some_and(|x| x.len() == 1)).await;
    assert!(v["votes"].is_null(), "the stream hides the cards too: {v}");
    post(&t, &a, &format!("{room}/vote"), json!({"card": "8"})).await;
    post_empty(&t, &po, &format!("{room}/reveal")).await;
    let v = next_round(&mut res, &mut buf, |v| v["state"] == "revealed").await;
    assert_eq!(cards(&v), ["13", "8"]);
    assert_eq!(v["my_vote"], "8", "each viewer gets their own view");
    // Without credentials there is no stream.
    let r = Client::new().get(t.url(&format!("{room}/events"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn questions_and_the_decision_log(db: TestDb) {
    let Team { t, po, a, sh, .. } = setup(db).await;
    let qs = "/api/v1/items/SHOP-1/questions";
    let (s, q) = post(&t, &a, qs, json!({"text": "Which cards do we accept?"})).await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    assert_eq!((q["state"].as_str(), q["asked_by"]["name"].as_str()), (Some("open"), Some("ann")));
    let id = q["id"].as_i64().unwrap();
    // Bad questions are named; nothing is stored.
    for bad in [json!({"text": "  "}), json!({"text": "x".repeat(2001)})] {
        let (s, e) = post(&t, &a, qs, bad).await;
        assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("text")), "{e}");
    }
    assert_eq!(post(&t, &a, qs, json!({"question": "x"})).await.0, StatusCode::BAD_REQUEST);
    // A stakeholder may ask too.
    let (s, _) = post(&t, &sh, qs, json!({"text": "When does it ship?"})).await;
    assert_eq!(s, StatusCode::CREATED);
    // A team member cannot answer; the question stays open.
    let ans = format!("{qs}/{id}/answer");
    let (s, e) = post(&t, &a, &ans, json!({"text": "Visa only"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(get(&t, &a, qs).await.1["questions"][0]["state"], "open");
    let (s, e) = post(&t, &po, &ans, json!({"text": ""})).await;
    assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("text")));
    // The PO answers: the decision.
    let (s, v) = post(&t, &po, &ans, json!({"text": "Visa and Mastercard; no Amex yet."})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "answered");
    assert_eq!(v["answer"]["by"]["id"], t.admin.id.0);
    assert_eq!(post(&t, &po, &ans, json!({"text": "Again"})).await.0, StatusCode::CONFLICT);
    assert_eq!(
        post(&t, &po, &format!("{qs}/999999/answer"), json!({"text": "x"})).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, list) = get(&t, &sh, qs).await;
    assert_eq!(list["questions"].as_array().unwrap().len(), 2);
    assert_eq!(list["questions"][0]["answer"]["text"], "Visa and Mastercard; no Amex yet.");

    // A proposal decided by the PO.
    let (s, p) = call(
        &t,
        &a,
        Method::PATCH,
        "/api/v1/items/SHOP-2",
        Some(json!({"title": "Refunds to the card", "reason": "clearer for support"})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{p}");
    let pid = p["id"].as_i64().unwrap();
    let (s, v) = post(&t, &po, &format!("/api/v1/proposals/{pid}/accept"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let log = "/api/v1/products/SHOP/decisions";
    let (s, v) = get(&t, &sh, log).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let d = v["decisions"].as_array().unwrap();
    assert_eq!(d.len(), 2, "{v}");
    // Newest first: the accepted proposal, then the answer.
    assert_eq!((d[0]["kind"].as_str(), d[0]["state"].as_str()), (Some("proposal"), Some("accepted")));
    assert_eq!(d[0]["who"]["id"], t.admin.id.0);
    assert_eq!(d[0]["raised_by"]["name"], "ann");
    assert_eq!(d[0]["why"], "clearer for support");
    assert_eq!(d[0]["item"], "SHOP-2");
    assert!(d[0]["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(d[1]["kind"], "answer");
    assert_eq!(d[1]["what"], "Which cards do we accept?");
    assert_eq!(d[1]["decision"], "Visa and Mastercard; no Amex yet.");
    assert_eq!(d[1]["who"]["id"], t.admin.id.0);
    assert_eq!(d[1]["raised_by"]["name"], "ann");
    assert_eq!(d[1]["item"], "SHOP-1");

    // Filters.
    let n = |v: &Value| v["decisions"].as_array().map_or(usize::MAX, Vec::len);
    let kinds = |v: &Value| -> Vec<String> {
        v["decisions"].as_array().unwrap().iter().map(|d| d["kind"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(kinds(&get(&t, &po, &format!("{log}?kind=answer")).await.1), ["answer"]);
    assert_eq!(kinds(&get(&t, &po, &format!("{log}?kind=proposal,acceptance")).await.1), ["proposal"]);
    assert_eq!(n(&get(&t, &po, &format!("{log}?kind=sprint")).await.1), 0);
    assert_eq!(n(&get(&t, &po, &format!("{log}?person=ann@keel.test")).await.1), 2);
    assert_eq!(n(&get(&t, &po, &format!("{log}?person=sam@keel.test")).await.1), 0);
    assert_eq!(n(&get(&t, &po, &format!("{log}?person={}", t.admin.id.0)).await.1), 2);
    assert_eq!(kinds(&get(&t, &po, &format!("{log}?item=SHOP-1")).await.1), ["answer"]);
    assert_eq!(n(&get(&t, &po, &format!("{log}?from=2000-01-01&to=2000-12-31")).await.1), 0);
    assert_eq!(n(&get(&t, &po, &format!("{log}?from=2000-01-01")).await.1), 2);
    // Paging.
    let (_, p1) = get(&t, &po, &format!("{log}?limit=1")).await;
    assert_eq!(kinds(&p1), ["proposal"]);
    let cur = p1["next_cursor"].as_str().expect("a next page").to_string();
    let (_, p2) = get(&t, &po, &format!("{log}?limit=1&cursor={cur}")).await;
    assert_eq!(kinds(&p2), ["answer"]);
    assert!(p2["next_cursor"].is_null(), "{p2}");
    // Bad filters are named.
    for (q, field, status) in [
        ("kind=gossip", "kind", StatusCode::UNPROCESSABLE_ENTITY),
        ("from=yesterday", "from", StatusCode::UNPROCESSABLE_ENTITY),
        ("from=2026-02-02&to=2026-01-01", "to", StatusCode::UNPROCESSABLE_ENTITY),
        ("person=nobody@keel.test", "person", StatusCode::UNPROCESSABLE_ENTITY),
        ("item=SHOP-404", "item", StatusCode::UNPROCESSABLE_ENTITY),
        ("cursor=zzz", "cursor", StatusCode::UNPROCESSABLE_ENTITY),
        ("colour=red", "colour", StatusCode::BAD_REQUEST),
    ] {
        let (s, e) = get(&t, &po, &format!("{log}?{q}")).await;
        assert_eq!((s, e["field"].as_str()), (status, Some(field)), "{q}: {e}");
    }
    // The OpenAPI document lists the paths.
    let (_, doc) = get(&t, &po, "/api/v1/openapi.json").await;
    for p in [
        "/api/v1/items/{key}/poker",
        "/api/v1/items/{key}/poker/vote",
        "/api/v1/items/{key}/poker/events",
        "/api/v1/items/{key}/questions",
        "/api/v1/items/{key}/questions/{id}/answer",
        "/api/v1/products/{product}/decisions",
    ] {
        assert!(doc["paths"].get(p).is_some(), "OpenAPI lacks {p}");
    }
}

/// A browser-like client signed in as `email`; returns it and the session's CSRF token.
async fn browser(t: &TestApp, email: &str, password: &str) -> (Client, String) {
    let c = t.client();
    let res = c
        .post(t.url("/api/v1/session"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().await.unwrap();
    (c, me["csrf_token"].as_str().unwrap().to_string())
}

/// Posts a form; returns the final status, URL and page after redirects.
async fn form(t: &TestApp, c: &Client, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
    let res = c.post(t.url(path)).form(fields).send().await.unwrap();
    let (s, url) = (res.status(), res.url().to_string());
    (s, url, res.text().await.unwrap())
}

async fn page(t: &TestApp, c: &Client, path: &str) -> (StatusCode, String) {
    let res = c.get(t.url(path)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn the_pages_work_without_javascript(db: TestDb) {
    let Team { t, .. } = setup(db).await;
    let (po, po_csrf) = browser(&t, keel_testkit::app::ADMIN_EMAIL, keel_testkit::app::ADMIN_PASSWORD).await;
    let (ann, ann_csrf) = browser(&t, "ann@keel.test", keel_testkit::app::MEMBER_PASSWORD).await;
    let (s, html) = page(&t, &po, "/items/SHOP-1/poker").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("No poker round on this item yet") && html.contains("Pay by card"), "{html}");
    assert!(html.contains("/assets/poker."), "the room loads its script");
    // Forms without the session's token are refused.
    let (s, _, _) = form(&t, &po, "/items/SHOP-1/poker", &[("csrf", "forged")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, url, html) = form(&t, &po, "/items/SHOP-1/poker", &[("csrf", &po_csrf)]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(url.ends_with("/items/SHOP-1/poker"), "{url}");
    assert!(html.contains("Reveal cards"), "the PO runs the round");
    // Ann votes with the deck's buttons; a card not in the deck comes back as an error.
    let (_, url, _) = form(&t, &ann, "/items/SHOP-1/poker/vote", &[("csrf", &ann_csrf), ("card", "4")]).await;
    assert!(url.contains("error=Card"), "{url}");
    form(&t, &ann, "/items/SHOP-1/poker/vote", &[("csrf", &ann_csrf), ("card", "13")]).await;
    let (s, live) = page(&t, &po, "/items/SHOP-1/poker/live").await;
    assert_eq!(s, StatusCode::OK);
    assert!(live.trim_start().starts_with("<div id=\"poker-live\""), "{live}");
    assert!(live.contains("data-voted=\"1\"") && !live.contains("played 13"), "{live}");
    let (_, mine) = page(&t, &ann, "/items/SHOP-1/poker/live").await;
    assert!(
        mine.contains("aria-pressed=\"true\" title") || mine.contains("deck-card mine"),
        "Ann sees her card picked"
    );
    form(&t, &po, "/items/SHOP-1/poker/reveal", &[("csrf", &po_csrf)]).await;
    let (_, live) = page(&t, &po, "/items/SHOP-1/poker/live").await;
    assert!(live.contains("ann played 13"), "{live}");
    let (_, url, _) =
        form(&t, &ann, "/items/SHOP-1/poker/estimate", &[("csrf", &ann_csrf), ("estimate", "lots")]).await;
    assert!(url.contains("error=Estimate"), "{url}");
    let (_, url, _) =
        form(&t, &ann, "/items/SHOP-1/poker/estimate", &[("csrf", &ann_csrf), ("estimate", "13")]).await;
    assert!(url.contains("notice="), "{url}");
    assert_eq!(get(&t, &t.admin_token, "/api/v1/items/SHOP-1").await.1["estimate"].as_f64(), Some(13.0));
    // Questions: asked from the room, answered by the PO, back where they came from.
    let (_, url, _) = form(
        &t,
        &ann,
        "/items/SHOP-1/questions",
        &[("csrf", &ann_csrf), ("text", "Is PayPal in scope?"), ("back", "/items/SHOP-1/poker")],
    )
    .await;
    assert!(url.contains("/items/SHOP-1/poker?notice="), "{url}");
    let (_, url, _) = form(&t, &ann, "/items/SHOP-1/questions", &[("csrf", &ann_csrf), ("text", " ")]).await;
    assert!(url.contains("/items/SHOP-1?error=Text"), "{url}");
    let (_, list) = get(&t, &t.admin_token, "/api/v1/items/SHOP-1/questions").await;
    let qid = list["questions"][0]["id"].as_i64().unwrap();
    let path = format!("/items/SHOP-1/questions/{qid}/answer");
    let (_, url, _) = form(&t, &ann, &path, &[("csrf", &ann_csrf), ("text", "Yes")]).await;
    assert!(url.contains("error="), "a team member cannot answer: {url}");
    form(
        &t,
        &po,
        &path,
        &[("csrf", &po_csrf), ("text", "Not this quarter."), ("back", "/items/SHOP-1/poker")],
    )
    .await;
    let (_, room) = page(&t, &ann, "/items/SHOP-1/poker").await;
    assert!(room.contains("Not this quarter."), "the answer shows in the room");
    // The decision log page, filtered, and with a bad filter named.
    let (s, log) = page(&t, &ann, "/products/SHOP/decisions?kind=answer&item=SHOP-1").await;
    assert_eq!(s, StatusCode::OK);
    assert!(log.contains("Is PayPal in scope?") && log.contains("Not this quarter."), "{log}");
    let (s, log) = page(&t, &ann, "/products/SHOP/decisions?from=soon").await;
    assert_eq!(s, StatusCode::OK);
    assert!(log.contains("From: must be a date"), "{log}");
}
