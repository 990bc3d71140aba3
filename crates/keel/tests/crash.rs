//! Crash safety: the real `keel serve` binary under a write load (creates, title edits, moves)
//! is killed with SIGKILL at seeded random moments and started again, five times. Afterwards
//! every write the client saw acknowledged is there (an edit in flight at a kill may or may not
//! have landed, nothing else), SQLite passes `PRAGMA integrity_check`, and each item's history
//! replays to its current title. On SQLite and (when `KEEL_TEST_DATABASE_URL` is set) PostgreSQL.
//! `KEEL_CRASH_KILLS` sets the number of kills (default 5), `KEEL_CRASH_SEED` the seed.

use keel_testkit::TestDb;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const EMAIL: &str = "crash@keel.test";
const PASSWORD: &str = "crash-password-1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_acknowledged_writes_survive_sigkill() {
    run(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_acknowledged_writes_survive_sigkill() {
    let Some(db) = TestDb::postgres().await else { return };
    run(db).await;
}

/// A small deterministic generator (xorshift), so a failing run can be repeated by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Where the server keeps its data: `--data-dir` for SQLite, `--database-url` for PostgreSQL.
fn store_args(url: &str) -> Vec<String> {
    match url.strip_prefix("sqlite:") {
        Some(path) => {
            let dir = std::path::Path::new(path).parent().expect("data dir");
            vec!["--data-dir".into(), dir.display().to_string()]
        }
        None => vec!["--database-url".into(), url.to_string()],
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port()
}

/// Starts `keel serve` and waits until it is ready; the caller kills and reaps it.
#[allow(clippy::zombie_processes)]
async fn start(url: &str, port: u16) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(store_args(url))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("KEEL_ADMIN_EMAIL", EMAIL)
        .env("KEEL_ADMIN_PASSWORD", PASSWORD)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start keel serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = Client::new().get(format!("http://127.0.0.1:{port}/readyz")).send().await {
            if r.status().is_success() {
                return child;
            }
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("keel serve did not become ready");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn token(url: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(store_args(url))
        .args(["token", "create", "--email", EMAIL, "--name", "crash"])
        .env_remove("DATABASE_URL")
        .output()
        .expect("keel token create");
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    text.split_whitespace()
        .find(|w| w.starts_with("keel_"))
        .unwrap_or_else(|| panic!("no token in: {text}"))
        .to_string()
}

/// The running server; killed and reaped when dropped, so a failing test leaves none behind.
struct Server(Child);

impl Server {
    fn sigkill(&mut self) {
        self.0.kill().expect("SIGKILL");
        self.0.wait().expect("reap");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the client knows of an item: the title last acknowledged, and titles sent since whose
/// answer never came (a kill cut the request: each may or may not have landed).
#[derive(Default)]
struct Known {
    acked: String,
    in_flight: Vec<String>,
}

async fn run(db: TestDb) {
    let kills: usize = std::env::var("KEEL_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let seed: u64 = std::env::var("KEEL_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed_cafe);
    let mut rng = Rng(seed | 1);
    let url = db.url.clone();
    let port = free_port();
    let mut server = Server(start(&url, port).await);
    let base = format!("http://127.0.0.1:{port}");
    let token = token(&url);
    let client = Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    let r = client
        .post(format!("{base}/api/v1/products"))
        .bearer_auth(&token)
        .json(&json!({"key": "CR", "name": "Crash", "description": ""}))
        .send()
        .await
        .expect("product");
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap_or_default());

    let mut known: BTreeMap<String, Known> = BTreeMap::new();
    let (mut acked, mut failed) = (0usize, 0usize);
    let mut n = 0u64;
    for round in 0..=kills {
        // Write for a random while, then kill the server in the middle of whatever it does.
        let until = Instant::now() + Duration::from_millis(300 + rng.below(1200));
        let killer_at = until;
        let mut killed = false;
        while !killed {
            n += 1;
            let keys: Vec<String> = known.keys().cloned().collect();
            let op = if keys.is_empty() { 0 } else { rng.below(3) };
            let req = match op {
                0 => client
                    .post(format!("{base}/api/v1/products/CR/items"))
                    .json(&json!({"title": format!("Item {n}")})),
                1 => {
                    let k = &keys[rng.below(keys.len() as u64) as usize];
                    let title = format!("Edit {n}");
                    known.get_mut(k).expect("known").in_flight.push(title.clone());
                    client.patch(format!("{base}/api/v1/items/{k}")).json(&json!({"title": title}))
                }
                _ => {
                    let k = &keys[rng.below(keys.len() as u64) as usize];
                    client.post(format!("{base}/api/v1/items/{k}/move")).json(&json!({"top": true}))
                }
            };
            let fut = req.bearer_auth(&token).send();
            tokio::pin!(fut);
            let res = if round < kills && Instant::now() >= killer_at {
                // Kill while this request is in flight.
                tokio::time::sleep(Duration::from_millis(rng.below(3))).await;
                server.sigkill();
                killed = true;
                fut.await
            } else {
                fut.await
            };
            match res {
                Ok(r) if r.status().is_success() => {
                    let v: Value = r.json().await.unwrap_or(Value::Null);
                    acked += 1;
                    match op {
                        0 => {
                            let key = v["key"].as_str().expect("key").to_string();
                            known.insert(
                                key,
                                Known {
                                    acked: v["title"].as_str().unwrap_or("").to_string(),
                                    in_flight: vec![],
                                },
                            );
                        }
                        1 => {
                            let key = v["key"].as_str().expect("key").to_string();
                            let k = known.get_mut(&key).expect("known");
                            k.acked = v["title"].as_str().expect("title").to_string();
                            k.in_flight.clear();
                        }
                        _ => {}
                    }
                }
                Ok(r) if r.status().is_server_error() && !killed => {
                    panic!(
                        "round {round}: a 5xx without a kill: {} {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    )
                }
                _ => failed += 1,
            }
            if round == kills && Instant::now() >= until {
                break;
            }
        }
        if round < kills {
            server = Server(start(&url, port).await);
        }
    }

    // Every acknowledged item is there, with its acknowledged title or one sent after it whose
    // answer the kill cut off; its history replays to that title.
    let mut checked = 0;
    for (key, k) in &known {
        let r =
            client.get(format!("{base}/api/v1/items/{key}")).bearer_auth(&token).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::OK, "acknowledged item {key} is missing");
        let item: Value = r.json().await.expect("item");
        let title = item["title"].as_str().expect("title").to_string();
        assert!(
            title == k.acked || k.in_flight.contains(&title),
            "{key}: title {title:?}, acknowledged {:?}, in flight {:?}",
            k.acked,
            k.in_flight
        );
        // The whole history, page by page (newest first), then replayed oldest first.
        let mut events: Vec<Value> = vec![];
        let mut before: Option<i64> = None;
        loop {
            let page = match before {
                Some(b) => format!("{base}/api/v1/items/{key}/history?limit=500&before={b}"),
                None => format!("{base}/api/v1/items/{key}/history?limit=500"),
            };
            let h: Value = client
                .get(page)
                .bearer_auth(&token)
                .send()
                .await
                .expect("history")
                .json()
                .await
                .expect("history json");
            events.extend(h["events"].as_array().cloned().expect("events"));
            match h["next_before"].as_i64() {
                Some(b) => before = Some(b),
                None => break,
            }
        }
        events.sort_by_key(|e| e["id"].as_i64());
        assert_eq!(events.first().and_then(|e| e["field"].as_str()), Some("created"), "{key}: no creation");
        let mut replayed: Option<String> = None;
        for e in &events {
            match e["field"].as_str() {
                Some("created") => replayed = e["new"]["title"].as_str().map(str::to_string),
                Some("title") => replayed = e["new"].as_str().map(str::to_string),
                _ => {}
            }
        }
        assert_eq!(replayed.as_deref(), Some(title.as_str()), "{key}: history {events:?}");
        checked += 1;
    }
    server.sigkill();
    if let Some(path) = url.strip_prefix("sqlite:") {
        let conn = rusqlite::Connection::open(path).expect("open");
        let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity_check");
        assert_eq!(ok, "ok");
        let fk: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0))
            .expect("foreign_key_check");
        assert_eq!(fk, 0, "foreign keys broken");
    }
    println!(
        "crash ({}): {kills} kills, {n} requests, {acked} acknowledged, {failed} cut off or refused, {checked} items checked",
        if url.starts_with("sqlite:") { "sqlite" } else { "postgres" }
    );
}
