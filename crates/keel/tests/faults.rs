//! Faults: what the real `keel serve` does when several processes write at once, when the
//! database goes away, and when the data directory is read-only or full.
//!
//! - **No lost updates.** Two server processes on one database; clients edit the same items
//!   through both (title, estimate, status, backlog moves), each edit based on the version it
//!   read. Every edit lands or is refused with 409; no two acknowledged edits of an item share a
//!   resulting version; each item's history replays to its current state and holds every
//!   acknowledged value; the last acknowledged value of each field is the current one. Items
//!   created at once through both processes get unique, gap-free keys. On SQLite (two
//!   processes on one file) and PostgreSQL.
//! - **Database gone.** A private PostgreSQL server is stopped under load and started again:
//!   requests fail fast with 503 and a problem body, `/readyz` answers 503, nothing panics, and
//!   service resumes by itself.
//! - **Database hangs.** A proxy between the server and PostgreSQL stops carrying bytes without
//!   closing anything: requests answer 503 within the statement bound, `/readyz` 503 within two
//!   seconds, and service resumes by itself once bytes flow again. A write blocked by a lock is
//!   cancelled by PostgreSQL's statement timeout and answered 503.
//! - **Disk full, read-only data directory** (SQLite, on a small tmpfs: needs root to mount).
//!
//! `KEEL_FAULTS_SECS` sets the length of the load phases (default 3 s).

mod support;

use keel_testkit::TestDb;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::server::{cli, token, PrivatePg, Server, SmallFs, ADMIN_EMAIL};

fn load_secs() -> f64 {
    std::env::var("KEEL_FAULTS_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0)
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn client() -> Client {
    Client::builder().timeout(Duration::from_secs(20)).build().expect("client")
}

async fn call(
    c: &Client,
    tok: &str,
    m: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = c.request(m, url).bearer_auth(tok);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let res = r.send().await.expect("request");
    let st = res.status();
    (st, res.json().await.unwrap_or(Value::Null))
}

// ---------------------------------------------------------------------------------------------
// 1. No lost updates

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_processes_lose_no_update() {
    no_lost_updates(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_processes_lose_no_update() {
    let Some(db) = TestDb::postgres().await else { return };
    no_lost_updates(db).await;
}

/// One acknowledged edit: the field, the value the server answered, the version it was based
/// on and the version it produced.
#[derive(Debug, Clone)]
struct Ack {
    field: &'static str,
    value: Value,
    based: i64,
    version: i64,
}

const STATES: [&str; 3] = ["To Do", "In Progress", "In Review"];
const ITEMS: usize = 6;
const CLIENTS: u64 = 6;

async fn no_lost_updates(db: TestDb) {
    let began = Instant::now();
    let a = Server::start(&db.url, &[]).await;
    let b = Server::start(&db.url, &[]).await;
    let tok = token(&db.url, ADMIN_EMAIL);
    let c = client();
    let (st, _) = call(
        &c,
        &tok,
        reqwest::Method::POST,
        a.url("/api/v1/products"),
        Some(json!({"key": "RACE", "name": "Race"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    // The administrator is the product's PM and PO; estimating is the team's.
    let (_, me) = call(&c, &tok, reqwest::Method::GET, a.url("/api/v1/me"), None).await;
    let me = me["user"]["id"].as_i64().expect("my id");
    let (st, v) = call(
        &c,
        &tok,
        reqwest::Method::PUT,
        a.url(&format!("/api/v1/products/RACE/members/{me}")),
        Some(json!({"roles": ["pm", "po", "team"]})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let mut keys = Vec::new();
    for i in 0..ITEMS {
        let (st, v) = call(
            &c,
            &tok,
            reqwest::Method::POST,
            a.url("/api/v1/products/RACE/items"),
            Some(json!({"title": format!("Item {i}")})),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        keys.push(v["key"].as_str().unwrap().to_string());
    }
    // A team serving the product: its board's columns are the workflow's states.
    let (st, team) = call(
        &c,
        &tok,
        reqwest::Method::POST,
        a.url("/api/v1/products/RACE/teams"),
        Some(json!({"name": "Racers"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{team}");
    let team = team["id"].as_i64().expect("team id");
    let keys = Arc::new(keys);
    let bases = Arc::new([a.base.clone(), b.base.clone()]);
    let acks: Arc<Mutex<BTreeMap<String, Vec<Ack>>>> = Arc::default();
    let stop = Instant::now() + Duration::from_secs_f64(load_secs());
    let mut tasks = Vec::new();
    for n in 0..CLIENTS {
        let (keys, bases, acks, tok, c) = (keys.clone(), bases.clone(), acks.clone(), tok.clone(), c.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (n + 1));
            let (mut sent, mut conflicts, mut seq) = (0u64, 0u64, 0u64);
            let (mut board_sent, mut board_acked) = (0u64, 0u64);
            while Instant::now() < stop {
                let key = &keys[rng.below(keys.len() as u64) as usize];
                // Read through one process, write through the other half of the time.
                let read = &bases[rng.below(2) as usize];
                let write = &bases[rng.below(2) as usize];
                let (st, item) =
                    call(&c, &tok, reqwest::Method::GET, format!("{read}/api/v1/items/{key}"), None).await;
                assert_eq!(st, StatusCode::OK, "{item}");
                let based = item["version"].as_i64().unwrap();
                seq += 1;
                let (field, method, path, body) = match rng.below(5) {
                    0 => (
                        "title",
                        reqwest::Method::PATCH,
                        format!("/api/v1/items/{key}"),
                        json!({"title": format!("c{n} edit {seq}"), "version": based}),
                    ),
                    1 => {
                        let now = item["estimate"].as_f64().unwrap_or(-1.0);
                        let mut e = (rng.below(13) + 1) as f64;
                        if e == now {
                            e += 0.5;
                        }
                        (
                            "estimate",
                            reqwest::Method::PATCH,
                            format!("/api/v1/items/{key}"),
                            json!({"estimate": e, "version": based}),
                        )
                    }
                    2 => {
                        let now = item["status"].as_str().unwrap_or("");
                        let next = STATES.iter().filter(|s| **s != now).nth(rng.below(2) as usize).unwrap();
                        (
                            "status",
                            reqwest::Method::PATCH,
                            format!("/api/v1/items/{key}"),
                            json!({"status": next, "version": based}),
                        )
                    }
                    3 => {
                        // A board move: into another column (its state), half the time placed
                        // before another card as well, in the same transaction.
                        let now = item["status"].as_str().unwrap_or("");
                        let next = STATES.iter().filter(|s| **s != now).nth(rng.below(2) as usize).unwrap();
                        let mut body = json!({"key": key, "column": next, "version": based});
                        if rng.below(2) == 0 {
                            let other = keys
                                .iter()
                                .filter(|k| *k != key)
                                .nth(rng.below(keys.len() as u64 - 1) as usize)
                                .unwrap();
                            body["before"] = json!(other);
                        }
                        ("board", reqwest::Method::POST, format!("/api/v1/teams/{team}/board/moves"), body)
                    }
                    _ => {
                        let other = keys
                            .iter()
                            .filter(|k| *k != key)
                            .nth(rng.below(keys.len() as u64 - 1) as usize)
                            .unwrap();
                        let body = match rng.below(3) {
                            0 => json!({"top": true, "version": based}),
                            1 => json!({"before": other, "version": based}),
                            _ => json!({"after": other, "version": based}),
                        };
                        ("rank", reqwest::Method::POST, format!("/api/v1/items/{key}/move"), body)
                    }
                };
                sent += 1;
                if field == "board" {
                    board_sent += 1;
                }
                let (st, out) = call(&c, &tok, method, format!("{write}{path}"), Some(body)).await;
                match st {
                    StatusCode::OK => {
                        let version = out["version"].as_i64().unwrap();
                        let value = match field {
                            "title" => out["title"].clone(),
                            "estimate" => out["estimate"].clone(),
                            "status" | "board" => out["status"].clone(),
                            _ => out["rank"].clone(),
                        };
                        if field == "board" {
                            board_acked += 1;
                        }
                        let ack = Ack { field, value, based, version };
                        acks.lock().unwrap().entry(key.clone()).or_default().push(ack);
                    }
                    // PostgreSQL may cancel one of two writers that lock the same rows in
                    // opposite orders; the store runs it again, and only after several tries
                    // answers 409 `conflict`: refused, nothing written, like a stale version.
                    StatusCode::CONFLICT if out["type"] == "https://keel.dev/problems/conflict" => {
                        conflicts += 1;
                    }
                    StatusCode::CONFLICT => {
                        assert_eq!(out["type"], "https://keel.dev/problems/stale-version", "{out}");
                        assert!(out["current_version"].as_i64().unwrap() > based, "{out}");
                        conflicts += 1;
                    }
                    other => panic!("{field} edit of {key}: {other} {out}"),
                }
            }
            (sent, conflicts, board_sent, board_acked)
        }));
    }
    let (mut sent, mut conflicts, mut board_sent, mut board_acked) = (0, 0, 0, 0);
    for t in tasks {
        let (s, c, bs, ba) = t.await.expect("client task");
        sent += s;
        conflicts += c;
        board_sent += bs;
        board_acked += ba;
    }
    assert!(
        board_acked > 0 && board_acked < board_sent,
        "board moves: {board_acked} of {board_sent} acknowledged; the load must land some and refuse some"
    );
    let acks = acks.lock().unwrap().clone();
    let acked: usize = acks.values().map(Vec::len).sum();
    assert_eq!(acked as u64 + conflicts, sent);
    assert!(
        acked > 0 && conflicts > 0,
        "the load made no conflicts: {acked} acknowledged, {conflicts} refused"
    );

    // The workflow's state names by id, to read status events.
    let (_, wf) = call(&c, &tok, reqwest::Method::GET, a.url("/api/v1/products/RACE/workflow"), None).await;
    let state_name: BTreeMap<i64, String> = wf
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_i64().unwrap(), s["name"].as_str().unwrap().into()))
        .collect();
    let mut events_read = 0;
    for key in keys.iter() {
        let (_, now) =
            call(&c, &tok, reqwest::Method::GET, b.url(&format!("/api/v1/items/{key}")), None).await;
        let history = history(&c, &tok, &b.base, key).await;
        events_read += history.len();
        // Replay the history from the creation.
        assert_eq!(history[0]["field"], "created", "{key}");
        let created = &history[0]["new"];
        let mut title = created["title"].clone();
        let mut estimate = created["estimate"].clone();
        let mut status = created["status_id"].clone();
        let mut rank = created["rank"].clone();
        let mut seen: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for e in &history[1..] {
            let new = e["new"].clone();
            match e["field"].as_str().unwrap() {
                "title" => {
                    title = new.clone();
                    seen.entry("title").or_default().push(new);
                }
                "estimate" => {
                    estimate = new.clone();
                    seen.entry("estimate").or_default().push(new);
                }
                "status" => {
                    status = new.clone();
                    let name = state_name[&new.as_i64().unwrap()].clone();
                    seen.entry("status").or_default().push(json!(name));
                }
                "rank" => {
                    rank = new["rank"].clone();
                    seen.entry("rank").or_default().push(rank.clone());
                }
                f => panic!("{key}: unexpected event {f}"),
            }
        }
        assert_eq!(title, now["title"], "{key}: replayed title");
        assert_eq!(estimate.as_f64(), now["estimate"].as_f64(), "{key}: replayed estimate");
        assert_eq!(json!(state_name[&status.as_i64().unwrap()]), now["status"], "{key}: replayed status");
        assert_eq!(rank, now["rank"], "{key}: replayed rank");
        let mine = acks.get(key).cloned().unwrap_or_default();
        // No two acknowledged changes produced the same version: none was based on a version
        // another had already replaced.
        let mut versions = BTreeSet::new();
        for ack in &mine {
            if ack.version == ack.based {
                assert_eq!(ack.field, "rank", "{key}: only a move can change nothing: {ack:?}");
                continue;
            }
            // A board move placed before another card changes the status and the place in one
            // transaction: two versions (one when the place was already right).
            let most = if ack.field == "board" { 2 } else { 1 };
            assert!(ack.version > ack.based && ack.version <= ack.based + most, "{key}: {ack:?}");
            for v in ack.based + 1..=ack.version {
                assert!(versions.insert(v), "{key}: two acknowledged edits made version {v}");
            }
            // Every acknowledged value is in the history.
            let field = if ack.field == "board" { "status" } else { ack.field };
            let vals = seen.get(field).cloned().unwrap_or_default();
            let found = match ack.field {
                "estimate" => vals.iter().any(|v| v.as_f64() == ack.value.as_f64()),
                _ => vals.contains(&ack.value),
            };
            assert!(found, "{key}: acknowledged {ack:?} is not in the history");
        }
        // The item's version counts exactly the acknowledged changes (their versions, all taken).
        assert_eq!(
            now["version"].as_i64().unwrap(),
            1 + versions.len() as i64,
            "{key}: version vs acknowledged edits"
        );
        // The last acknowledged value of each field is the current one.
        for field in ["title", "estimate", "status"] {
            let of_field = |a: &&Ack| a.field == field || (field == "status" && a.field == "board");
            if let Some(last) = mine.iter().filter(of_field).max_by_key(|a| a.version) {
                let cur = &now[field];
                assert!(
                    cur == &last.value || cur.as_f64().is_some_and(|x| Some(x) == last.value.as_f64()),
                    "{key}: {field} is {cur}, last acknowledged {last:?}"
                );
            }
        }
    }

    // Items created at once through both processes: unique, gap-free keys.
    let (st, _) = call(
        &c,
        &tok,
        reqwest::Method::POST,
        a.url("/api/v1/products"),
        Some(json!({"key": "KEYS", "name": "Keys"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let mut tasks = Vec::new();
    for n in 0..CLIENTS {
        let (bases, tok, c) = (bases.clone(), tok.clone(), c.clone());
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for i in 0..10 {
                let base = &bases[((n + i) % 2) as usize];
                let (st, v) = call(
                    &c,
                    &tok,
                    reqwest::Method::POST,
                    format!("{base}/api/v1/products/KEYS/items"),
                    Some(json!({"title": format!("c{n} new {i}")})),
                )
                .await;
                assert_eq!(st, StatusCode::CREATED, "{v}");
                got.push(v["key"].as_str().unwrap().to_string());
            }
            got
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        for k in t.await.expect("creating task") {
            numbers.push(k.strip_prefix("KEYS-").expect("key of KEYS").parse::<u64>().expect("number"));
        }
    }
    numbers.sort_unstable();
    let created = numbers.len() as u64;
    assert_eq!(numbers, (1..=created).collect::<Vec<_>>(), "keys unique and without gaps");
    println!(
        "no lost updates ({}): {sent} edits through 2 processes by {CLIENTS} clients on {ITEMS} items: {acked} acknowledged, {conflicts} refused with 409 (board moves: {board_sent}, {board_acked} acknowledged); {events_read} history events replayed; {created} items created at once, keys 1..{created}; {:.1} s",
        if db.url.starts_with("sqlite:") { "sqlite" } else { "postgres" },
        began.elapsed().as_secs_f64()
    );
}

/// An item's whole history, oldest first.
async fn history(c: &Client, tok: &str, base: &str, key: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut before: Option<i64> = None;
    loop {
        let q = before.map_or(String::new(), |b| format!("&before={b}"));
        let (st, page) = call(
            c,
            tok,
            reqwest::Method::GET,
            format!("{base}/api/v1/items/{key}/history?limit=500{q}"),
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{page}");
        all.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["next_before"].as_i64() {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    all.reverse();
    all
}

// ---------------------------------------------------------------------------------------------
// 2. The database goes away

/// One answer under load: when it was sent (since the start), how long it took, and what it was.
#[derive(Debug, Clone)]
struct Answer {
    at: Duration,
    took: Duration,
    status: u16,
    problem: Option<String>,
    retry_after: bool,
}

/// Makes the product `key` with one item in it, through the API; the item's key.
async fn product_with_item(c: &Client, tok: &str, base: &str, key: &str, name: &str) -> String {
    let (st, _) = call(
        c,
        tok,
        reqwest::Method::POST,
        format!("{base}/api/v1/products"),
        Some(json!({"key": key, "name": name})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, v) = call(
        c,
        tok,
        reqwest::Method::POST,
        format!("{base}/api/v1/products/{key}/items"),
        Some(json!({"title": "Still here"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v["key"].as_str().unwrap().to_string()
}

/// Answers that a [`load`] collects, the flag that stops it, and its clients.
type Load = (Arc<Mutex<Vec<Answer>>>, Arc<std::sync::atomic::AtomicBool>, Vec<tokio::task::JoinHandle<()>>);

/// Four clients that read and edit `key` and read `product`'s backlog, every 10 ms each, until
/// told to stop; each answer is kept (when asked, how long it took, status, problem type,
/// Retry-After). A client gives up on an answer after 8 s, which panics its task.
fn load(t0: Instant, tok: &str, base: &str, key: &str, product: &str) -> Load {
    let answers: Arc<Mutex<Vec<Answer>>> = Arc::default();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for n in 0..4u64 {
        let (answers, done) = (answers.clone(), done.clone());
        let (tok, base, key, product) =
            (tok.to_string(), base.to_string(), key.to_string(), product.to_string());
        tasks.push(tokio::spawn(async move {
            let c = Client::builder().timeout(Duration::from_secs(8)).build().unwrap();
            let mut i = 0u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let req = match (n + i) % 3 {
                    0 => c.get(format!("{base}/api/v1/items/{key}")),
                    1 => c
                        .patch(format!("{base}/api/v1/items/{key}"))
                        .json(&json!({"title": format!("c{n} {i}")})),
                    _ => c.get(format!("{base}/api/v1/products/{product}/backlog")),
                };
                let at = t0.elapsed();
                let res = req.bearer_auth(&tok).send().await.unwrap_or_else(|e| panic!("no answer: {e}"));
                let status = res.status().as_u16();
                let retry_after = res.headers().contains_key("retry-after");
                let ctype =
                    res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let body: Value = res.json().await.unwrap_or(Value::Null);
                let problem = (ctype == "application/problem+json")
                    .then(|| body["type"].as_str().unwrap_or("").to_string());
                answers.lock().unwrap().push(Answer {
                    at,
                    took: t0.elapsed() - at,
                    status,
                    problem,
                    retry_after,
                });
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }
    (answers, done, tasks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_under_load_answers_503_and_recovers() {
    let Some(pg) = PrivatePg::start() else { return };
    let url = pg.url();
    let server = Server::start(&url, &[]).await;
    let tok = token(&url, ADMIN_EMAIL);
    let c = client();
    let key = product_with_item(&c, &tok, &server.base, "GONE", "Gone").await;

    let t0 = Instant::now();
    // A short client timeout: an answer that does not come within it fails the test.
    let (answers, done, tasks) = load(t0, &tok, &server.base, &key, "GONE");
    let phase = Duration::from_secs_f64(load_secs() / 2.0);
    tokio::time::sleep(phase).await;
    let down_at = t0.elapsed();
    pg.down();
    let stopped_at = t0.elapsed();
    // Past the caches (two seconds), everything needs the database.
    tokio::time::sleep(Duration::from_millis(2500).max(phase)).await;
    let ready = c.get(server.url("/readyz")).send().await.expect("readyz");
    let ready_status = ready.status();
    let health = c.get(server.url("/healthz")).send().await.expect("healthz").status();
    let up_at = t0.elapsed();
    pg.up();
    let restarted = t0.elapsed();
    // Wait for service to resume by itself.
    let deadline = Instant::now() + Duration::from_secs(30);
    let resumed = loop {
        let r = c
            .get(server.url(&format!("/api/v1/items/{key}")))
            .bearer_auth(&tok)
            .send()
            .await
            .expect("answer");
        if r.status() == StatusCode::OK {
            break t0.elapsed();
        }
        assert!(Instant::now() < deadline, "service did not resume within 30 s: {}", r.status());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(phase).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in tasks {
        t.await.expect("load task");
    }
    let ready_after = c.get(server.url("/readyz")).send().await.expect("readyz").status();
    let mut server = server;
    server.assert_alive_without_panic();

    assert_eq!(ready_status, StatusCode::SERVICE_UNAVAILABLE, "/readyz while the database is down");
    assert_eq!(health, StatusCode::OK, "/healthz while the database is down: the process is up");
    assert_eq!(ready_after, StatusCode::OK);
    let answers = answers.lock().unwrap().clone();
    let mut n503 = 0;
    let mut max503 = Duration::ZERO;
    let mut sum503 = Duration::ZERO;
    for a in &answers {
        // 409: two clients' title edits crossed (the server checks the version it read).
        assert!(matches!(a.status, 200 | 409 | 503), "only 200, 409 or 503 under the outage: {a:?}");
        assert!(a.took < Duration::from_secs(5), "an answer took too long: {a:?}");
        if a.status == 503 {
            assert_eq!(a.problem.as_deref(), Some("https://keel.dev/problems/unavailable"), "{a:?}");
            assert!(a.retry_after, "503 without Retry-After: {a:?}");
            assert!(a.at + a.took >= down_at, "503 before the database went down: {a:?}");
            n503 += 1;
            max503 = max503.max(a.took);
            sum503 += a.took;
        }
        // Sent after the database was down and past the caches, answered before it was back.
        if a.at > stopped_at + Duration::from_millis(2100) && a.at + a.took < up_at {
            assert_eq!(a.status, 503, "{a:?}");
        }
        if a.at > resumed + Duration::from_millis(200) {
            assert!(matches!(a.status, 200 | 409), "after resuming: {a:?}");
        }
    }
    assert!(n503 > 0, "no 503 during the outage");
    let ok_after = answers.iter().filter(|a| a.at > resumed && a.status == 200).count();
    assert!(ok_after > 0, "no answer after resuming");
    println!(
        "database gone: {} requests, {n503} answered 503 (mean {:.1} ms, max {:.1} ms), stop took {:.2} s, down for {:.2} s; \
         service resumed {:.2} s after PostgreSQL was back ({:.2} s after its start began); {ok_after} answered 200 since",
        answers.len(),
        sum503.as_secs_f64() * 1000.0 / n503 as f64,
        max503.as_secs_f64() * 1000.0,
        (stopped_at - down_at).as_secs_f64(),
        (restarted - down_at).as_secs_f64(),
        (resumed - restarted).as_secs_f64(),
        (resumed - up_at).as_secs_f64(),
    );
}

// ---------------------------------------------------------------------------------------------
// 2b. The database hangs: a network that stops carrying bytes without closing anything

/// A TCP proxy in front of PostgreSQL that can be cut: while cut, it reads and drops every byte
/// in both directions and holds every socket open, new ones too (accepted, never forwarded),
/// as a network partition does to a client that has nothing to tell it so. Healed, it forwards
/// again; the sockets accepted while cut are closed then (their start-up went nowhere).
struct Blackhole {
    addr: std::net::SocketAddr,
    cut: tokio::sync::watch::Sender<bool>,
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl Blackhole {
    async fn start(upstream: std::net::SocketAddr) -> Blackhole {
        use std::sync::atomic::Ordering::Relaxed;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let addr = listener.local_addr().expect("proxy addr");
        let (cut, _) = tokio::sync::watch::channel(false);
        let dropped = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (cut_tx, dropped_c) = (cut.clone(), dropped.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                let mut state = cut_tx.subscribe();
                let dropped = dropped_c.clone();
                if *state.borrow() {
                    // Accepted during the cut: swallow what comes, close it once healed.
                    tokio::spawn(async move {
                        let (mut r, _w) = client.into_split();
                        let mut buf = vec![0u8; 16 * 1024];
                        tokio::select! {
                            _ = async {
                                use tokio::io::AsyncReadExt;
                                while let Ok(n) = r.read(&mut buf).await {
                                    if n == 0 { std::future::pending::<()>().await }
                                    dropped.fetch_add(n as u64, Relaxed);
                                }
                            } => {}
                            _ = state.wait_for(|c| !*c) => {}
                        }
                    });
                    continue;
                }
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else { continue };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, cut_tx.subscribe(), dropped.clone()));
                tokio::spawn(pump(sr, cw, cut_tx.subscribe(), dropped));
            }
        });
        Blackhole { addr, cut, dropped }
    }

    fn set_cut(&self, cut: bool) {
        self.cut.send_replace(cut);
    }
}

/// Copies `from` into `to`, dropping what is read while the link is cut; an end of stream
/// while cut is passed on only once healed.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut cut: tokio::sync::watch::Receiver<bool>,
    dropped: Arc<std::sync::atomic::AtomicU64>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // An error ends the stream like a close.
        let n: usize = from.read(&mut buf).await.unwrap_or_default();
        if *cut.borrow() {
            if n == 0 {
                let _ = cut.wait_for(|c| !*c).await;
                break;
            }
            dropped.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
            continue;
        }
        if n == 0 || to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// `url` with its host and port replaced by `addr`.
fn via(url: &str, addr: std::net::SocketAddr) -> (String, String) {
    let start = url.find("://").map_or(0, |i| i + 3);
    let start = url[start..].find('@').map_or(start, |i| start + i + 1);
    let end = url[start..].find(['/', '?']).map_or(url.len(), |i| start + i);
    let upstream = url[start..end].to_string();
    (format!("{}{addr}{}", &url[..start], &url[end..]), upstream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_that_hangs_answers_503_within_the_bound_and_recovers() {
    let Some(db) = TestDb::postgres().await else { return };
    let (_, upstream) = via(&db.url, "127.0.0.1:1".parse().unwrap());
    let upstream = tokio::net::lookup_host(&upstream).await.expect("resolve").next().expect("address");
    let proxy = Blackhole::start(upstream).await;
    let (url, _) = via(&db.url, proxy.addr);
    // A one-second statement timeout: a connection gives up 1.5 s into a silence.
    let server = Server::start(&url, &[("KEEL_STATEMENT_TIMEOUT", "1")]).await;
    let bound = Duration::from_millis(1500);
    let tok = token(&db.url, ADMIN_EMAIL);
    let c = client();
    let key = product_with_item(&c, &tok, &server.base, "HANG", "Hang").await;

    let t0 = Instant::now();
    // Without the bound these would wait for ever; the client gives up at 8 s, which fails the
    // test.
    let (answers, done, tasks) = load(t0, &tok, &server.base, &key, "HANG");
    let phase = Duration::from_secs_f64(load_secs() / 2.0);
    tokio::time::sleep(phase).await;
    let cut_at = t0.elapsed();
    proxy.set_cut(true);
    // Past the caches (two seconds) and a bound or two, everything needs the database.
    tokio::time::sleep(Duration::from_millis(3500).max(phase)).await;
    let r0 = Instant::now();
    let ready = c.get(server.url("/readyz")).send().await.expect("readyz");
    let ready_took = r0.elapsed();
    let ready_status = ready.status();
    let health = c.get(server.url("/healthz")).send().await.expect("healthz").status();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let healed_at = t0.elapsed();
    proxy.set_cut(false);
    let deadline = Instant::now() + Duration::from_secs(30);
    let resumed = loop {
        let r = c
            .get(server.url(&format!("/api/v1/items/{key}")))
            .bearer_auth(&tok)
            .send()
            .await
            .expect("answer");
        if r.status() == StatusCode::OK {
            break t0.elapsed();
        }
        assert!(Instant::now() < deadline, "service did not resume within 30 s: {}", r.status());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(phase).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in tasks {
        t.await.expect("load task");
    }
    let ready_after = c.get(server.url("/readyz")).send().await.expect("readyz").status();
    let mut server = server;
    server.assert_alive_without_panic();

    assert_eq!(ready_status, StatusCode::SERVICE_UNAVAILABLE, "/readyz while the database hangs");
    assert!(ready_took < Duration::from_millis(2200), "/readyz took {ready_took:?}");
    assert_eq!(health, StatusCode::OK, "/healthz while the database hangs: the process is up");
    assert_eq!(ready_after, StatusCode::OK);
    let answers = answers.lock().unwrap().clone();
    let (mut n503, mut max503, mut max_all) = (0, Duration::ZERO, Duration::ZERO);
    for a in &answers {
        assert!(matches!(a.status, 200 | 409 | 503), "only 200, 409 or 503 while the database hangs: {a:?}");
        // The bound, plus a second for a request that had a statement in flight when the link
        // was cut after others had gone through, and the machine's own delays.
        assert!(a.took < bound + Duration::from_secs(1), "an answer took too long: {a:?}");
        max_all = max_all.max(a.took);
        if a.status == 503 {
            assert_eq!(a.problem.as_deref(), Some("https://keel.dev/problems/unavailable"), "{a:?}");
            assert!(a.retry_after, "503 without Retry-After: {a:?}");
            assert!(a.at + a.took >= cut_at, "503 before the link was cut: {a:?}");
            n503 += 1;
            max503 = max503.max(a.took);
        }
        // Sent past the caches after the cut, answered before the heal.
        if a.at > cut_at + Duration::from_millis(2100) && a.at + a.took < healed_at {
            assert_eq!(a.status, 503, "{a:?}");
        }
        if a.at > resumed + Duration::from_millis(200) {
            assert!(matches!(a.status, 200 | 409), "after resuming: {a:?}");
        }
    }
    assert!(n503 > 0, "no 503 while the database hung");
    let ok_after = answers.iter().filter(|a| a.at > resumed && a.status == 200).count();
    assert!(ok_after > 0, "no answer after resuming");
    println!(
        "database hangs: {} requests, {n503} answered 503 (max {:.0} ms; slowest answer of all {:.0} ms), \
         /readyz 503 in {:.0} ms, cut for {:.2} s, {} bytes dropped; service resumed {:.2} s after the heal; \
         {ok_after} answered 200 since",
        answers.len(),
        max503.as_secs_f64() * 1000.0,
        max_all.as_secs_f64() * 1000.0,
        ready_took.as_secs_f64() * 1000.0,
        (healed_at - cut_at).as_secs_f64(),
        proxy.dropped.load(std::sync::atomic::Ordering::Relaxed),
        (resumed - healed_at).as_secs_f64(),
    );
}

/// The statement timeout is PostgreSQL's own too: an edit waiting on a row another session
/// holds is cancelled by the server after a second and answered 503, and goes through once the
/// lock is gone. Neither that nor an import's COPY makes a connection be given up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_statement_timeout_cancels_a_blocked_write_with_503() {
    let Some(db) = TestDb::postgres().await else { return };
    let server = Server::start(&db.url, &[("KEEL_STATEMENT_TIMEOUT", "1")]).await;
    let tok = token(&db.url, ADMIN_EMAIL);
    let c = client();
    let (st, _) = call(
        &c,
        &tok,
        reqwest::Method::POST,
        server.url("/api/v1/products"),
        Some(json!({"key": "LOCK", "name": "Lock"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, v) = call(
        &c,
        &tok,
        reqwest::Method::POST,
        server.url("/api/v1/products/LOCK/items"),
        Some(json!({"title": "Locked"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let key = v["key"].as_str().unwrap().to_string();
    // An import writes with COPY, whose exchange differs from the others (a Sync the server
    // ignores): the connection must not be taken for one the server owes an answer.
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/csv/");
    let csv = std::fs::read(format!("{fixtures}items.csv")).unwrap();
    let columns = std::fs::read_to_string(format!("{fixtures}columns.toml")).unwrap();
    use base64::Engine as _;
    let (st, v) = call(
        &c,
        &tok,
        reqwest::Method::POST,
        server.url("/api/v1/products/LOCK/import"),
        Some(json!({"format": "csv", "dry_run": false, "columns": columns,
            "files": [{"name": "items.csv", "content_base64": base64::engine::general_purpose::STANDARD.encode(csv)}]})),
    )
    .await;
    assert_eq!((st, v["written"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
    let (mut holder, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    let tx = holder.transaction().await.expect("begin");
    tx.execute("SELECT 1 FROM items FOR UPDATE", &[]).await.expect("lock");
    let t = Instant::now();
    let res = c
        .patch(server.url(&format!("/api/v1/items/{key}")))
        .bearer_auth(&tok)
        .json(&json!({"title": "Blocked"}))
        .send()
        .await
        .expect("answer");
    let took = t.elapsed();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "https://keel.dev/problems/unavailable", "{body}");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_millis(2500), "{took:?}");
    // Reads go on meanwhile, and the server is ready.
    let (st, v) =
        call(&c, &tok, reqwest::Method::GET, server.url(&format!("/api/v1/items/{key}")), None).await;
    assert_eq!((st, v["title"].as_str()), (StatusCode::OK, Some("Locked")));
    assert_eq!(c.get(server.url("/readyz")).send().await.unwrap().status(), StatusCode::OK);
    tx.rollback().await.expect("rollback");
    let (st, v) = call(
        &c,
        &tok,
        reqwest::Method::PATCH,
        server.url(&format!("/api/v1/items/{key}")),
        Some(json!({"title": "Free"})),
    )
    .await;
    assert_eq!((st, v["title"].as_str()), (StatusCode::OK, Some("Free")), "{v}");
    // Idle for longer than the bound (1.5 s): no connection was given up, as a cancelled
    // statement leaves its connection usable and a COPY leaves nothing owed.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (st, _) =
        call(&c, &tok, reqwest::Method::GET, server.url("/api/v1/products/LOCK/backlog"), None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!server.log().contains("a database connection closed"), "{}", server.log());
    let mut server = server;
    server.assert_alive_without_panic();
    println!(
        "statement timeout: a write blocked by a lock answered 503 after {:.0} ms",
        took.as_secs_f64() * 1000.0
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Read-only data directory, disk full (SQLite)

/// A data directory that cannot be written: root mounts a read-only tmpfs (root ignores file
/// modes), anyone else gets a directory without write permission.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_read_only_data_dir_is_refused_at_start() {
    let fs;
    let dir = if support::server::is_root() {
        let Some(m) = SmallFs::mount("1m") else {
            keel_testkit::skip("read-only data directory: running as root but cannot mount a tmpfs");
            return;
        };
        std::fs::create_dir(m.dir.join("data")).expect("data dir");
        m.set_read_only(true);
        fs = Some(m);
        fs.as_ref().unwrap().dir.join("data")
    } else {
        fs = None;
        let d = std::env::temp_dir().join(format!("keel_ro_{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o500)).unwrap();
        d
    };
    let url = format!("sqlite:{}", dir.join("keel.db").display());
    let t = Instant::now();
    let out = cli(&url, &["serve", "--bind", "127.0.0.1:0"], &[("KEEL_LOG", "warn")]);
    let took = t.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "keel serve started on a read-only data directory");
    assert!(err.contains("not writable") && err.contains(&dir.display().to_string()), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    println!(
        "read-only data directory: exit {:?} after {:.2} s: {}",
        out.status.code(),
        took.as_secs_f64(),
        err.trim()
    );
    if fs.is_none() {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A data directory on a tmpfs that fills up under writes: 507 with a problem body, nothing
/// acknowledged lost, `PRAGMA integrity_check` ok, and writes land again once there is room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_disk_full_answers_507_and_loses_nothing() {
    let Some(fs) = SmallFs::mount("6m") else {
        keel_testkit::skip("disk full: cannot mount a small tmpfs (needs root)");
        return;
    };
    let dir = fs.dir.join("data");
    let url = format!("sqlite:{}", dir.join("keel.db").display());
    let mut server = Server::start(&url, &[]).await;
    let tok = token(&url, ADMIN_EMAIL);
    let c = client();
    let (st, _) = call(
        &c,
        &tok,
        reqwest::Method::POST,
        server.url("/api/v1/products"),
        Some(json!({"key": "FULL", "name": "Full"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(300);
    let mut acked = Vec::new();
    let (mut sent, mut full, mut full_streak) = (0, 0, 0);
    let t = Instant::now();
    let mut first_full = None;
    while full_streak < 20 {
        assert!(t.elapsed() < Duration::from_secs(60), "the disk never filled: {sent} sent");
        sent += 1;
        let at = Instant::now();
        let res = c
            .post(server.url("/api/v1/products/FULL/items"))
            .bearer_auth(&tok)
            .json(&json!({"title": format!("Item {sent}"), "description": format!("{sent} {text}")}))
            .send()
            .await
            .expect("an answer");
        let took = at.elapsed();
        let status = res.status();
        let ctype = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        match status {
            StatusCode::CREATED => {
                acked.push(body["key"].as_str().unwrap().to_string());
                full_streak = 0;
            }
            StatusCode::INSUFFICIENT_STORAGE => {
                assert_eq!(ctype, "application/problem+json");
                assert_eq!(body["type"], "https://keel.dev/problems/storage-full", "{body}");
                assert!(took < Duration::from_secs(5), "{took:?}");
                first_full.get_or_insert(sent);
                full += 1;
                full_streak += 1;
            }
            other => panic!("write {sent}: {other} {body}"),
        }
    }
    // Reads still work on a full disk.
    let (st, v) =
        call(&c, &tok, reqwest::Method::GET, server.url(&format!("/api/v1/items/{}", acked[0])), None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    server.assert_alive_without_panic();
    // Room again: writes land without a restart.
    fs.resize("64m");
    let (st, v) = call(
        &c,
        &tok,
        reqwest::Method::POST,
        server.url("/api/v1/products/FULL/items"),
        Some(json!({"title": "After the disk was freed"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    acked.push(v["key"].as_str().unwrap().to_string());
    for k in &acked {
        let (st, v) =
            call(&c, &tok, reqwest::Method::GET, server.url(&format!("/api/v1/items/{k}")), None).await;
        assert_eq!(st, StatusCode::OK, "acknowledged {k} is gone: {v}");
    }
    let (_, list) =
        call(&c, &tok, reqwest::Method::GET, server.url("/api/v1/products/FULL/items?limit=500"), None).await;
    let listed = list["items"].as_array().map_or(0, Vec::len);
    drop(server);
    let conn = rusqlite::Connection::open(dir.join("keel.db")).expect("open");
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity_check");
    assert_eq!(ok, "ok");
    let rows: i64 = conn
        .query_row(
            "SELECT count(*) FROM items i JOIN products p ON p.id = i.product_id WHERE p.key = 'FULL'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(rows as usize, acked.len(), "exactly the acknowledged items are stored");
    println!(
        "disk full (6 MB tmpfs): {sent} writes, {} acknowledged before the disk filled at write {}, {full} answered 507; \
         all {} acknowledged present (listed {listed}), integrity ok, writes resumed after resizing",
        acked.len() - 1,
        first_full.unwrap_or(0),
        acked.len()
    );
}
