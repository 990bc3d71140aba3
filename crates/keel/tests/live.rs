//! Live updates: the Server-Sent Events streams of a product and of the inbox; on SQLite and
//! (when `KEEL_TEST_DATABASE_URL` is set) PostgreSQL. A second `keel serve` process on the same
//! database serves changes made through the first (PostgreSQL: LISTEN/NOTIFY; SQLite: polling).

use keel_domain::product::Role;
use keel_testkit::{TestApp, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

macro_rules! live_tests {
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

live_tests!(
    a_change_reaches_an_open_stream,
    streams_keep_products_apart,
    last_event_id_resumes_without_a_gap,
    the_inbox_stream_follows_notifications,
    a_second_server_process_serves_the_change,
);

/// Longest wait for an event that must come (a hang guard, not a speed check).
const PATIENCE: Duration = Duration::from_secs(20);

/// One server-sent event.
#[derive(Debug, Clone)]
struct Ev {
    event: String,
    id: String,
    data: Value,
}

/// A reader of a `text/event-stream` response.
struct Stream {
    res: reqwest::Response,
    buf: String,
}

impl Stream {
    async fn open(base: &str, path: &str, token: &str, last: Option<&str>) -> Stream {
        let mut r = reqwest::Client::new().get(format!("{base}{path}")).bearer_auth(token);
        if let Some(l) = last {
            r = r.header("Last-Event-ID", l);
        }
        let res = r.send().await.expect("stream");
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let ct = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        assert_eq!(res.headers()["x-accel-buffering"], "no");
        Stream { res, buf: String::new() }
    }

    /// The next event with data, or `None` when none came in time.
    async fn next(&mut self, within: Duration) -> Option<Ev> {
        let until = tokio::time::Instant::now() + within;
        loop {
            while let Some(pos) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..pos + 2).collect();
                let mut ev = Ev { event: "message".into(), id: String::new(), data: Value::Null };
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        ev.event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        ev.id = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if !data.is_empty() {
                    ev.data = serde_json::from_str(&data).expect("event data is JSON");
                    return Some(ev);
                }
            }
            let chunk = tokio::time::timeout_at(until, self.res.chunk()).await.ok()?.expect("read")?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Reads events until one satisfies `f`; panics with what was seen if none does in time.
    async fn until(&mut self, what: &str, f: impl Fn(&Ev) -> bool) -> (Ev, Vec<Ev>) {
        let mut seen = Vec::new();
        loop {
            match self.next(PATIENCE).await {
                Some(e) if f(&e) => return (e, seen),
                Some(e) => seen.push(e),
                None => panic!("no event {what}; seen: {seen:#?}"),
            }
        }
    }
}

async fn send(t: &TestApp, token: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
    let res = reqwest::Client::new()
        .request(method, t.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = res.status();
    let v: Value = res.json().await.unwrap_or(Value::Null);
    assert!(s.is_success(), "{path}: {s} {v}");
    v
}

async fn item(t: &TestApp, token: &str, product: &str, title: &str) -> String {
    let v = send(
        t,
        token,
        reqwest::Method::POST,
        &format!("/api/v1/products/{product}/items"),
        json!({"title": title}),
    )
    .await;
    v["key"].as_str().unwrap().to_string()
}

fn is_change(e: &Ev, key: &str, field: &str) -> bool {
    e.event == "change" && e.data["key"] == key && e.data["field"] == field
}

async fn a_change_reaches_an_open_stream(db: TestDb) {
    let t = keel_testkit::spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, dev) = t.member(&shop, "dev@keel.test", &[Role::Team]).await;
    let before = item(&t, &t.admin_token, "SHOP", "Before the stream").await;
    let mut s = Stream::open(&t.base, "/api/v1/products/SHOP/stream", &dev, None).await;
    let key = item(&t, &t.admin_token, "SHOP", "Checkout").await;
    let (e, seen) = s.until("for the new item", |e| is_change(e, &key, "created")).await;
    assert!(seen.iter().all(|e| e.data["key"] != before), "a stream starts with the next change: {seen:?}");
    assert_eq!(e.data["product"], "SHOP");
    assert_eq!(e.data["object"], "item");
    assert_eq!(e.data["actor_id"], t.admin.id.0);
    assert_eq!(e.data["actor"], t.admin.name.as_str());
    assert_eq!(e.id, e.data["id"].to_string());
    // What changed, not the values: no title travels.
    assert!(!e.data.to_string().contains("Checkout"), "{}", e.data);
    send(
        &t,
        &t.admin_token,
        reqwest::Method::PATCH,
        &format!("/api/v1/items/{key}"),
        json!({"title": "Pay"}),
    )
    .await;
    let (e, _) = s.until("for the title", |e| is_change(e, &key, "title")).await;
    assert!(!e.data.to_string().contains("Pay"), "{}", e.data);
    // Bad input is a problem naming the field; no stream without credentials.
    let c = reqwest::Client::new();
    let r = c
        .get(t.url("/api/v1/products/SHOP/stream"))
        .bearer_auth(&dev)
        .header("Last-Event-ID", "x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("Last-Event-ID"));
    let r = c.get(t.url("/api/v1/products/SHOP/stream?after=-3")).bearer_auth(&dev).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("after"));
    let r = c.get(t.url("/api/v1/products/SHOP/stream")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let doc: Value = c.get(t.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    for p in ["/api/v1/products/{product}/stream", "/api/v1/notifications/stream"] {
        assert!(doc["paths"].get(p).is_some(), "{p} is documented");
    }
}

async fn streams_keep_products_apart(db: TestDb) {
    let t = keel_testkit::spawn_app(db).await;
    let x = t.product("XRAY").await;
    t.product("YANK").await;
    let (_, dev) = t.member(&x, "dev@keel.test", &[Role::Team]).await;
    // Not a member of YANK: its stream does not exist for them.
    let r = reqwest::Client::new()
        .get(t.url("/api/v1/products/YANK/stream"))
        .bearer_auth(&dev)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = reqwest::Client::new()
        .get(t.url("/api/v1/products/NOPE/stream"))
        .bearer_auth(&dev)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let mut s = Stream::open(&t.base, "/api/v1/products/XRAY/stream", &dev, None).await;
    let secret = item(&t, &t.admin_token, "YANK", "Secret plan").await;
    send(
        &t,
        &t.admin_token,
        reqwest::Method::PATCH,
        &format!("/api/v1/items/{secret}"),
        json!({"title": "Still secret"}),
    )
    .await;
    let key = item(&t, &t.admin_token, "XRAY", "Open plan").await;
    let (_, seen) = s.until("of XRAY", |e| is_change(e, &key, "created")).await;
    assert!(seen.iter().all(|e| e.data["product"] == "XRAY"), "{seen:?}");
    // Nothing of YANK arrives afterwards either.
    send(
        &t,
        &t.admin_token,
        reqwest::Method::PATCH,
        &format!("/api/v1/items/{secret}"),
        json!({"title": "Third"}),
    )
    .await;
    let last = item(&t, &t.admin_token, "XRAY", "Marker").await;
    let (_, seen) = s.until("of the marker", |e| is_change(e, &last, "created")).await;
    assert!(seen.iter().all(|e| e.data["product"] == "XRAY" && e.data["key"] != secret), "{seen:?}");
}

async fn last_event_id_resumes_without_a_gap(db: TestDb) {
    let t = keel_testkit::spawn_app(db).await;
    t.product("SHOP").await;
    let k1 = item(&t, &t.admin_token, "SHOP", "One").await;
    let mut s = Stream::open(&t.base, "/api/v1/products/SHOP/stream?after=0", &t.admin_token, None).await;
    let (first, _) = s.until("for the first item", |e| is_change(e, &k1, "created")).await;
    drop(s);
    // Changes made while nobody listens.
    let k2 = item(&t, &t.admin_token, "SHOP", "Two").await;
    let k3 = item(&t, &t.admin_token, "SHOP", "Three").await;
    let mut s = Stream::open(&t.base, "/api/v1/products/SHOP/stream", &t.admin_token, Some(&first.id)).await;
    let (e3, seen) = s.until("for the third item", |e| is_change(e, &k3, "created")).await;
    let mut all = seen;
    all.push(e3);
    let ids: Vec<i64> = all.iter().map(|e| e.id.parse().unwrap()).collect();
    assert!(ids.iter().all(|&i| i > first.id.parse::<i64>().unwrap()), "{ids:?}");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order: {ids:?}");
    assert!(all.iter().any(|e| is_change(e, &k2, "created")), "the second item is not missed: {all:?}");
    assert!(all.iter().all(|e| e.data["key"] != k1), "nothing before the id again: {all:?}");
}

async fn the_inbox_stream_follows_notifications(db: TestDb) {
    let t = keel_testkit::spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, dev) = t.member(&shop, "dev@keel.test", &[Role::Team]).await;
    let (_, ann) = t.member(&shop, "ann.lee@keel.test", &[Role::Team]).await;
    let key = item(&t, &t.admin_token, "SHOP", "Search").await;
    let mut s = Stream::open(&t.base, "/api/v1/notifications/stream", &ann, None).await;
    let e = s.next(PATIENCE).await.expect("the state at once");
    assert_eq!((e.event.as_str(), &e.data["unread"]), ("inbox", &json!(0)));
    send(
        &t,
        &dev,
        reqwest::Method::POST,
        &format!("/api/v1/items/{key}/comments"),
        json!({"body": "@Ann.Lee look"}),
    )
    .await;
    let (e, _) = s.until("with one unread", |e| e.data["unread"] == 1).await;
    assert!(e.data["newest"].as_i64().unwrap() > 0);

    // A proposal reaches the open inbox of the member who decides it, and the decision the
    // proposer's.
    let (_, po) = t.member(&shop, "po@keel.test", &[Role::Po]).await;
    let second = item(&t, &t.admin_token, "SHOP", "Filters").await;
    let mut decider = Stream::open(&t.base, "/api/v1/notifications/stream", &po, None).await;
    let e = decider.next(PATIENCE).await.expect("the state at once");
    assert_eq!(e.data["unread"], json!(0));
    let mut proposer = Stream::open(&t.base, "/api/v1/notifications/stream", &dev, None).await;
    let e = proposer.next(PATIENCE).await.expect("the state at once");
    assert_eq!(e.data["unread"], json!(0));
    let p = send(
        &t,
        &dev,
        reqwest::Method::POST,
        &format!("/api/v1/items/{second}/move"),
        json!({"before": key, "reason": "users ask"}),
    )
    .await;
    assert_eq!(p["state"], "pending", "{p}");
    decider.until("the proposal", |e| e.data["unread"] == 1).await;
    let id = p["id"].as_i64().unwrap();
    send(&t, &po, reqwest::Method::POST, &format!("/api/v1/proposals/{id}/accept"), json!({})).await;
    proposer.until("the decision", |e| e.data["unread"] == 1).await;
}

/// Starts `keel serve` on `url` (a `sqlite:` file or a `postgres://` URL) at a free loopback
/// port; returns the process and its base URL.
fn serve(url: &str) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keel"));
    cmd.args(["serve", "--bind", "127.0.0.1:0"]).env_remove("DATABASE_URL").env_remove("KEEL_CONFIG");
    match url.strip_prefix("sqlite:") {
        // The data directory holds `keel.db`, the file the test app has open.
        Some(file) => cmd.arg("--data-dir").arg(std::path::Path::new(file).parent().unwrap()),
        None => cmd.env("DATABASE_URL", url),
    };
    let mut child = cmd
        .env("KEEL_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run keel serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut addr = None;
    for line in lines.by_ref().map_while(Result::ok) {
        if let Some(rest) = line.split("serving http://").nth(1) {
            addr = rest.split_whitespace().next().map(str::to_string);
            break;
        }
    }
    // Keep draining the log so the process never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    let addr = addr.expect("serving line");
    (child, format!("http://{addr}"))
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn a_second_server_process_serves_the_change(db: TestDb) {
    let url = db.url.clone();
    let t = keel_testkit::spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, dev) = t.member(&shop, "dev@keel.test", &[Role::Team]).await;
    let (child, b) = serve(&url);
    let _b = Kill(child);
    // A client of process B…
    let mut s = Stream::open(&b, "/api/v1/products/SHOP/stream", &dev, None).await;
    // …sees a change made through process A (this test's server).
    let key = item(&t, &t.admin_token, "SHOP", "Made on A").await;
    let (e, _) = s.until("from the other process", |e| is_change(e, &key, "created")).await;
    assert_eq!(e.data["actor_id"], t.admin.id.0);
    send(
        &t,
        &t.admin_token,
        reqwest::Method::PATCH,
        &format!("/api/v1/items/{key}"),
        json!({"title": "Changed on A"}),
    )
    .await;
    s.until("for the change", |e| is_change(e, &key, "title")).await;
}

/// PostgreSQL hands out event ids before commit: a transaction that took a lower id and commits
/// after a higher one was sent still reaches the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_late_commit_with_a_lower_id_is_sent() {
    let Some(db) = TestDb::postgres().await else { return };
    let url = db.url.clone();
    let t = keel_testkit::spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let key = item(&t, &t.admin_token, "SHOP", "Slow writer").await;
    let id = api_item_id(&t, &key).await;
    let mut s = Stream::open(&t.base, "/api/v1/products/SHOP/stream", &t.admin_token, None).await;
    let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    let tx = client.transaction().await.unwrap();
    // Takes an id now, commits later.
    let late: i64 = tx
        .query_one(
            "INSERT INTO events (product_id, object, object_id, actor_id, at, field, old, new)
             VALUES ($1, 'item', $2, $3, 0, 'late', '\"\"', '\"\"') RETURNING id",
            &[&shop.id.0, &id, &t.admin.id.0],
        )
        .await
        .unwrap()
        .get(0);
    let fast = item(&t, &t.admin_token, "SHOP", "Fast writer").await;
    let (e, _) = s.until("for the fast writer", |e| is_change(e, &fast, "created")).await;
    assert!(e.data["id"].as_i64().unwrap() > late, "the later id is sent first");
    tx.commit().await.unwrap();
    let (e, _) = s.until("for the late commit", |e| is_change(e, &key, "late")).await;
    assert_eq!(e.data["id"], late);
}

async fn api_item_id(t: &TestApp, key: &str) -> i64 {
    let v = reqwest::Client::new()
        .get(t.url(&format!("/api/v1/items/{key}")))
        .bearer_auth(&t.admin_token)
        .send()
        .await
        .unwrap();
    let v: Value = v.json().await.unwrap();
    v["id"].as_i64().expect("item id")
}
