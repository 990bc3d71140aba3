//! `/metrics`: requests by route template and status, latency histograms per route, the
//! database pool, the webhook outbox and the process, in Prometheus' text format (written by
//! hand: a few counters do not need a metrics crate).
//!
//! Counters live in this process (each `keel serve` process is scraped on its own); the outbox
//! backlog is read from the database at scrape time. Only callers on the loopback interface, or
//! callers presenting the configured `KEEL_METRICS_TOKEN`, may read it.

use crate::AppState;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 13] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    /// Non-cumulative counts per bucket; the last one is +Inf.
    buckets: [u64; BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

/// The process's request counters.
pub struct Telemetry {
    started: Instant,
    started_unix: f64,
    routes: Mutex<BTreeMap<(&'static str, String), RouteStats>>,
}

impl Default for Telemetry {
    fn default() -> Self {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        Telemetry { started: Instant::now(), started_unix: unix, routes: Mutex::default() }
    }
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Telemetry {
    fn record(&self, method: &'static str, route: String, status: u16, secs: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let r = routes.entry((method, route)).or_default();
        *r.by_status.entry(status).or_default() += 1;
        let i = BUCKETS.iter().position(|b| secs <= *b).unwrap_or(BUCKETS.len());
        r.buckets[i] += 1;
        r.sum += secs;
        r.count += 1;
    }
}

/// Counts every request under its route template (`/api/v1/items/{key}`; `unmatched` for the
/// fallback), so the number of series stays bounded whatever the URLs asked for.
pub async fn track(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = method_label(req.method());
    let t0 = Instant::now();
    let res = next.run(req).await;
    s.telemetry.record(method, route, res.status().as_u16(), t0.elapsed().as_secs_f64());
    res
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn allowed(s: &AppState, peer: Option<SocketAddr>, headers: &HeaderMap) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = &s.config.metrics_token {
        // Constant-time enough for a fixed-length comparison of hashes.
        use sha2::{Digest, Sha256};
        return bearer.is_some_and(|b| Sha256::digest(b.as_bytes()) == Sha256::digest(token.as_bytes()));
    }
    // Without a token only this machine may look, and not through a reverse proxy on it.
    let proxied = headers.contains_key("x-forwarded-for") || headers.contains_key(header::FORWARDED);
    peer.is_some_and(|p| p.ip().is_loopback()) && !proxied
}

/// The Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "health", security(()),
    responses((status = 200, description = "Prometheus text format (version 0.0.4)", content_type = "text/plain"),
              (status = 403, description = "Not from the loopback interface and no valid KEEL_METRICS_TOKEN bearer token")))]
pub async fn metrics(State(s): State<AppState>, req: Request) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    if !allowed(&s, peer, req.headers()) {
        return (StatusCode::FORBIDDEN, "metrics are served to loopback callers or with the metrics token\n")
            .into_response();
    }
    let mut o = String::with_capacity(16 * 1024);
    let store = s.app.store();
    let _ = writeln!(o, "# HELP keel_build_info Keel's version and database.\n# TYPE keel_build_info gauge");
    let _ = writeln!(
        o,
        "keel_build_info{{version=\"{}\",database=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION"),
        store.backend()
    );
    {
        let routes = s.telemetry.routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = writeln!(
            o,
            "# HELP keel_http_requests_total HTTP requests by method, route template and status.\n\
             # TYPE keel_http_requests_total counter"
        );
        for ((m, route), r) in routes.iter() {
            for (status, n) in &r.by_status {
                let _ = writeln!(
                    o,
                    "keel_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        let _ = writeln!(
            o,
            "# HELP keel_http_request_duration_seconds Time to answer, by method and route template.\n\
             # TYPE keel_http_request_duration_seconds histogram"
        );
        for ((m, route), r) in routes.iter() {
            let labels = format!("method=\"{m}\",route=\"{}\"", escape(route));
            let mut acc = 0;
            for (i, n) in r.buckets.iter().enumerate() {
                acc += n;
                let le = BUCKETS.get(i).map_or_else(|| "+Inf".to_string(), |b| b.to_string());
                let _ =
                    writeln!(o, "keel_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {acc}");
            }
            let _ = writeln!(o, "keel_http_request_duration_seconds_sum{{{labels}}} {}", r.sum);
            let _ = writeln!(o, "keel_http_request_duration_seconds_count{{{labels}}} {}", r.count);
        }
    }
    let pool = store.pool_status();
    let _ = writeln!(
        o,
        "# HELP keel_db_connections Database connections by state.\n# TYPE keel_db_connections gauge\n\
         keel_db_connections{{state=\"in_use\"}} {}\nkeel_db_connections{{state=\"idle\"}} {}\n\
         # HELP keel_db_connections_max Most connections the pool keeps.\n# TYPE keel_db_connections_max gauge\n\
         keel_db_connections_max {}",
        pool.in_use, pool.idle, pool.max
    );
    match store.outbox_pending().await {
        Ok(n) => {
            let _ = writeln!(
                o,
                "# HELP keel_webhook_outbox_pending Webhook deliveries waiting to be sent.\n\
                 # TYPE keel_webhook_outbox_pending gauge\nkeel_webhook_outbox_pending {n}"
            );
        }
        Err(e) => tracing::warn!(error = %e, "metrics: could not count the webhook outbox"),
    }
    match store.search_backlog().await {
        Ok(n) => {
            let _ = writeln!(
                o,
                "# HELP keel_search_index_pending Items written in bulk whose text waits for the search index.\n\
                 # TYPE keel_search_index_pending gauge\nkeel_search_index_pending {n}"
            );
        }
        Err(e) => tracing::warn!(error = %e, "metrics: could not count the search backlog"),
    }
    if let Some(rss) = resident_bytes() {
        let _ = writeln!(
            o,
            "# HELP keel_process_resident_memory_bytes Resident memory.\n\
             # TYPE keel_process_resident_memory_bytes gauge\nkeel_process_resident_memory_bytes {rss}"
        );
    }
    let _ = writeln!(
        o,
        "# HELP keel_process_start_time_seconds Start time, seconds since the epoch.\n\
         # TYPE keel_process_start_time_seconds gauge\nkeel_process_start_time_seconds {}\n\
         # HELP keel_process_uptime_seconds Seconds since the process started serving.\n\
         # TYPE keel_process_uptime_seconds gauge\nkeel_process_uptime_seconds {}",
        s.telemetry.started_unix,
        s.telemetry.started.elapsed().as_secs_f64()
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], o).into_response()
}

/// Resident set size from `/proc/self/status` (Linux); `None` elsewhere.
fn resident_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
