//! `keel-bench run`: a closed-loop HTTP load driver for the five benchmark requests.
//!
//! `concurrency` tasks each send one request, wait for its answer, and send the next, for a
//! warm-up period (not measured) and then the measured period. Every measured request's latency
//! is kept, so percentiles are exact (a sorted vector rather than a histogram).

use crate::generate::BENCH_KEY;
use crate::rng::SplitMix64;
use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The requests the driver can send (the reference server's a50, b, c, d and e).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    /// GET /api/v1/products/BENCH/backlog?limit=50
    Backlog,
    /// GET /api/v1/items/BENCH-{random}
    Get,
    /// POST /api/v1/products/BENCH/items
    Create,
    /// POST /api/v1/items/BENCH-{a}/move {"before":"BENCH-{b}"}
    Move,
    /// GET /api/v1/products/BENCH/items?q=zebra&limit=100
    Search,
}

/// Options of `run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Base URL, e.g. `http://127.0.0.1:7878`.
    pub url: String,
    /// API token.
    pub token: String,
    /// Which request.
    pub endpoint: Endpoint,
    /// Requests in flight.
    pub concurrency: usize,
    /// Warm-up seconds.
    pub warmup: f64,
    /// Measured seconds.
    pub duration: f64,
    /// Items of BENCH to pick keys from (1..=items).
    pub items: u64,
    /// Seed of the key choices.
    pub seed: u64,
    /// Print JSON instead of a table.
    pub json: bool,
}

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The request.
    pub endpoint: Endpoint,
    /// Requests in flight.
    pub concurrency: usize,
    /// Measured seconds.
    pub seconds: f64,
    /// Requests completed in the measured period.
    pub requests: u64,
    /// Of which answered 2xx.
    pub ok: u64,
    /// Transport errors and non-2xx answers.
    pub errors: u64,
    /// Completed requests per second.
    pub requests_per_sec: f64,
    /// Share of 2xx answers, in percent.
    pub success_pct: f64,
    /// Latency percentiles, in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
    /// The first failing status or error seen, if any.
    pub first_error: Option<String>,
    /// The seed of the key choices (to replay a run).
    pub seed: u64,
}

/// Per-task results of the measured period.
#[derive(Default)]
struct Tally {
    lat_us: Vec<u32>,
    ok: u64,
    errors: u64,
    first_error: Option<String>,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

struct Shared {
    client: reqwest::Client,
    base: String,
    auth: String,
    endpoint: Endpoint,
    items: u64,
}

impl Shared {
    fn request(&self, r: &mut SplitMix64, n: u64) -> reqwest::RequestBuilder {
        let b = &self.base;
        let c = &self.client;
        let rb = match self.endpoint {
            Endpoint::Backlog => c.get(format!("{b}/api/v1/products/{BENCH_KEY}/backlog?limit=50")),
            Endpoint::Get => c.get(format!("{b}/api/v1/items/{BENCH_KEY}-{}", r.range(1, self.items))),
            Endpoint::Search => c.get(format!("{b}/api/v1/products/{BENCH_KEY}/items?q=zebra&limit=100")),
            Endpoint::Create => c
                .post(format!("{b}/api/v1/products/{BENCH_KEY}/items"))
                .header("content-type", "application/json")
                .body(format!(
                    r#"{{"title":"Bench created story {n} checkout flow","description":"{}dolor sit amet"}}"#,
                    "lorem ipsum ".repeat(16)
                )),
            Endpoint::Move => {
                let a = r.range(1, self.items);
                let mut bb = r.range(1, self.items);
                while bb == a && self.items > 1 {
                    bb = r.range(1, self.items);
                }
                c.post(format!("{b}/api/v1/items/{BENCH_KEY}-{a}/move"))
                    .header("content-type", "application/json")
                    .body(format!(r#"{{"before":"{BENCH_KEY}-{bb}"}}"#))
            }
        };
        rb.header("authorization", &self.auth)
    }
}

async fn worker(s: Arc<Shared>, seed: u64, measure_from: Instant, measure_to: Instant) -> Tally {
    let mut r = SplitMix64::new(seed);
    let mut t = Tally { lat_us: Vec::with_capacity(1 << 16), ..Tally::default() };
    let mut n = 0u64;
    loop {
        let start = Instant::now();
        if start >= measure_to {
            break;
        }
        n += 1;
        let res = s.request(&mut r, n).send().await;
        let outcome = match res {
            Ok(resp) => {
                let status = resp.status();
                // Read the whole body, as a client would.
                match resp.bytes().await {
                    Ok(_) if status.is_success() => Ok(()),
                    Ok(body) => Err(format!(
                        "HTTP {status}: {}",
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    )),
                    Err(e) => Err(format!("reading the body: {e}")),
                }
            }
            Err(e) => Err(format!("{e}")),
        };
        let end = Instant::now();
        if start >= measure_from && end <= measure_to {
            t.lat_us.push((end - start).as_micros().min(u32::MAX as u128) as u32);
            match outcome {
                Ok(()) => t.ok += 1,
                Err(e) => {
                    t.errors += 1;
                    t.first_error.get_or_insert(e);
                }
            }
        }
    }
    t
}

/// Runs the load and returns what it measured.
pub async fn measure(o: &RunOptions) -> Result<Report> {
    if o.concurrency == 0 || o.duration <= 0.0 || o.items == 0 {
        bail!("concurrency, duration and items must be positive");
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.concurrency)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .context("while building the HTTP client")?;
    let shared = Arc::new(Shared {
        client,
        base: o.url.trim_end_matches('/').to_string(),
        auth: format!("Bearer {}", o.token.trim()),
        endpoint: o.endpoint,
        items: o.items,
    });
    // One request first, so a wrong URL or token fails loudly instead of as 100 % errors.
    let probe = shared
        .request(&mut SplitMix64::new(o.seed), 0)
        .send()
        .await
        .context("while sending a first request")?;
    if !probe.status().is_success() {
        let st = probe.status();
        let body = probe.text().await.unwrap_or_default();
        return Err(anyhow!("the first request answered {st}: {}", &body[..body.len().min(300)]));
    }
    let now = Instant::now();
    let from = now + Duration::from_secs_f64(o.warmup.max(0.0));
    let to = from + Duration::from_secs_f64(o.duration);
    let mut tasks = Vec::with_capacity(o.concurrency);
    for i in 0..o.concurrency {
        let seed = o.seed.wrapping_add((i as u64 + 1).wrapping_mul(0x9E37_79B9));
        tasks.push(tokio::spawn(worker(shared.clone(), seed, from, to)));
    }
    let mut all = Tally::default();
    for t in tasks {
        let t = t.await.context("a load task failed")?;
        all.lat_us.extend_from_slice(&t.lat_us);
        all.ok += t.ok;
        all.errors += t.errors;
        if all.first_error.is_none() {
            all.first_error = t.first_error;
        }
    }
    all.lat_us.sort_unstable();
    let n = all.lat_us.len() as u64;
    let mean =
        if n == 0 { 0.0 } else { all.lat_us.iter().map(|&v| v as f64).sum::<f64>() / n as f64 / 1000.0 };
    Ok(Report {
        endpoint: o.endpoint,
        concurrency: o.concurrency,
        seconds: o.duration,
        requests: n,
        ok: all.ok,
        errors: all.errors,
        requests_per_sec: n as f64 / o.duration,
        success_pct: if n == 0 { 0.0 } else { 100.0 * all.ok as f64 / n as f64 },
        p50_ms: percentile(&all.lat_us, 50.0),
        p95_ms: percentile(&all.lat_us, 95.0),
        p99_ms: percentile(&all.lat_us, 99.0),
        max_ms: all.lat_us.last().map_or(0.0, |&v| v as f64 / 1000.0),
        mean_ms: mean,
        first_error: all.first_error,
        seed: o.seed,
    })
}

/// Runs `run` and prints its report.
pub async fn run(o: RunOptions) -> Result<()> {
    let r = measure(&o).await?;
    if o.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "{:<8} {:>4} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8}",
            "endpoint", "conc", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "ok %"
        );
        println!(
            "{:<8} {:>4} {:>9} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>8.2}",
            serde_json::to_value(r.endpoint)?.as_str().unwrap_or("?"),
            r.concurrency,
            r.requests,
            r.requests_per_sec,
            r.p50_ms,
            r.p95_ms,
            r.p99_ms,
            r.max_ms,
            r.success_pct
        );
        println!("seed {}", r.seed);
        if let Some(e) = &r.first_error {
            println!("first error: {e}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
