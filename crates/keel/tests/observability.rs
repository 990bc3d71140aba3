//! `/metrics` (counters by route template and status, latency histograms, the pool, the webhook
//! outbox, the process) and who may read it; JSON logs from `keel serve`. On SQLite and
//! (when `KEEL_TEST_DATABASE_URL` is set) PostgreSQL.

use keel_app::{App, Settings};
use keel_testkit::{spawn_app_with, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

macro_rules! db_tests {
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

db_tests!(metrics_count_routes_pool_outbox_and_process, metrics_token_guards_the_endpoint);

/// The value of the series `name` (its whole label set included) in an exposition.
fn series(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

async fn metrics_count_routes_pool_outbox_and_process(db: TestDb) {
    let mut settings = Settings::default();
    settings.webhooks.allow_private = true;
    let t = spawn_app_with(db, settings).await;
    t.product("SHOP").await;
    let c = reqwest::Client::new();
    let tok = &t.admin_token;
    // A webhook whose deliveries nobody sends here (no worker runs in tests): the backlog grows.
    let r = c
        .post(t.url("/api/v1/products/SHOP/webhooks"))
        .bearer_auth(tok)
        .json(&json!({"url": "http://127.0.0.1:9/hook", "events": ["item.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
    for i in 0..3 {
        let r = c
            .post(t.url("/api/v1/products/SHOP/items"))
            .bearer_auth(tok)
            .json(&json!({"title": format!("Story {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    for key in ["SHOP-1", "SHOP-2", "SHOP-99"] {
        c.get(t.url(&format!("/api/v1/items/{key}"))).bearer_auth(tok).send().await.unwrap();
    }
    c.get(t.url("/no/such/page")).send().await.unwrap();

    let r = c.get(t.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let m = r.text().await.unwrap();
    let get = |s: &str| series(&m, s).unwrap_or_else(|| panic!("no series {s} in\n{m}"));
    assert_eq!(
        get(r#"keel_http_requests_total{method="GET",route="/api/v1/items/{key}",status="200"}"#),
        2.0
    );
    assert_eq!(
        get(r#"keel_http_requests_total{method="GET",route="/api/v1/items/{key}",status="404"}"#),
        1.0
    );
    assert_eq!(
        get(
            r#"keel_http_requests_total{method="POST",route="/api/v1/products/{product}/items",status="201"}"#
        ),
        3.0
    );
    assert_eq!(get(r#"keel_http_requests_total{method="GET",route="unmatched",status="404"}"#), 1.0);
    // The histogram is cumulative and ends with every request.
    let l = r#"method="GET",route="/api/v1/items/{key}""#;
    assert_eq!(get(&format!("keel_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}}")), 3.0);
    assert_eq!(get(&format!("keel_http_request_duration_seconds_count{{{l}}}")), 3.0);
    let buckets: Vec<f64> = m
        .lines()
        .filter(|x| x.starts_with(&format!("keel_http_request_duration_seconds_bucket{{{l}")))
        .filter_map(|x| x.rsplit(' ').next()?.parse().ok())
        .collect();
    assert_eq!(buckets.len(), 14);
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert!(get(&format!("keel_http_request_duration_seconds_sum{{{l}}}")) > 0.0);
    assert_eq!(get("keel_webhook_outbox_pending"), 3.0);
    assert_eq!(get("keel_search_index_pending"), 0.0, "items made one by one are indexed at once");
    assert!(get("keel_db_connections_max") >= 1.0);
    assert!(get(r#"keel_db_connections{state="idle"}"#) >= 0.0);
    assert!(series(&m, r#"keel_db_connections{state="in_use"}"#).is_some());
    assert!(get("keel_process_uptime_seconds") > 0.0);
    assert!(get("keel_process_resident_memory_bytes") > 1_000_000.0);
    assert!(m.contains("# TYPE keel_http_request_duration_seconds histogram"));
    // Every sample line is `name{labels} value` or `name value`.
    for line in m.lines().filter(|l| !l.starts_with('#')) {
        let (_, v) = line.rsplit_once(' ').unwrap();
        assert!(v.parse::<f64>().is_ok(), "bad sample line {line}");
    }

    let doc: Value = c.get(t.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["paths"]["/metrics"]["get"].is_object(), "/metrics is documented");

    // Through a reverse proxy on the same machine (a forwarded header) and without a token: refused.
    let r = c.get(t.url("/metrics")).header("X-Forwarded-For", "203.0.113.9").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn metrics_token_guards_the_endpoint(db: TestDb) {
    let app = App::new(db.store(), Settings::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let web =
        keel_web::WebConfig { metrics_token: Some("s3cret-metrics-token".into()), ..Default::default() };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(keel_web::serve(listener, app, web, async {
        let _ = rx.await;
    }));
    let c = reqwest::Client::new();
    let url = format!("http://{addr}/metrics");
    // With a token configured, even loopback callers must present it.
    assert_eq!(c.get(&url).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(
        c.get(&url).bearer_auth("wrong-token-wrong-token").send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let r = c
        .get(&url)
        .bearer_auth("s3cret-metrics-token")
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("keel_build_info{"));
    let _ = tx.send(());
}

#[test]
fn serve_writes_json_logs_and_refuses_a_bad_format() {
    let d = std::env::temp_dir().join(format!("keel-obs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(&d)
        .env_remove("DATABASE_URL")
        .env_remove("KEEL_CONFIG")
        .env("KEEL_LOG", "info")
        .env("KEEL_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let done = line.contains("serving http://");
        lines.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(lines.last().is_some_and(|l| l.contains("serving http://")), "{lines:?}");
    for l in &lines {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v["timestamp"].is_string() && v["level"].is_string() && v["message"].is_string(), "{l}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["migrate", "--data-dir"])
        .arg(&d)
        .env("KEEL_LOG_FORMAT", "xml")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("KEEL_LOG_FORMAT must be text or json, not \"xml\""), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}
