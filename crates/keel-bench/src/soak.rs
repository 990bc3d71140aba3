//! `keel-bench soak`: a steady mixed load (reads and writes) for a long time, sampled per minute.
//!
//! `concurrency` tasks each send one request at a time, drawn from a fixed mix (see [`MIX`]),
//! against one product (`BENCH` of a `keel-bench generate` dataset, or the demo's `SHOP`). Every minute the driver closes a
//! sample: requests, errors, p50/p99 latency of that minute, and the server's resident memory
//! (VmRSS of `/proc/PID/status`, when `--pid` names the server process). At the end it prints
//! the samples (a table, or JSON) and a verdict on memory: the least-squares slope of RSS over
//! the second half of the run, in MB per minute. A server that leaks keeps a positive slope
//! after its caches have filled; one that does not levels off.

use crate::rng::SplitMix64;
use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The requests of the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// GET /api/v1/items/BENCH-{random}
    Get,
    /// GET /api/v1/products/BENCH/backlog?limit=50
    Backlog,
    /// GET /api/v1/products/BENCH/items?q=…&limit=100
    Search,
    /// POST /api/v1/products/BENCH/items
    Create,
    /// POST /api/v1/items/BENCH-{a}/move {"before":"BENCH-{b}"}
    Move,
    /// POST /api/v1/items/BENCH-{a}/comments
    Comment,
}

/// The mixed load, in percent of requests: 70 % reads, 30 % writes.
const MIX: &[(Op, u64)] =
    &[(Op::Get, 40), (Op::Backlog, 20), (Op::Search, 10), (Op::Create, 12), (Op::Move, 12), (Op::Comment, 6)];

/// Reads only, in the same proportions: the data does not grow, so memory that still climbs is
/// not the database's pages filling a cache.
const READS: &[(Op, u64)] = &[(Op::Get, 57), (Op::Backlog, 29), (Op::Search, 14)];

/// Which mix a run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mix {
    /// 70 % reads, 30 % writes ([`MIX`]).
    Mixed,
    /// Reads only ([`READS`]).
    Reads,
}

impl Mix {
    fn table(self) -> &'static [(Op, u64)] {
        match self {
            Mix::Mixed => MIX,
            Mix::Reads => READS,
        }
    }
}

/// Words the searches look for (the generator's titles are made of such words).
const WORDS: &[&str] = &["zebra", "checkout", "login", "report", "export", "search", "invoice", "mobile"];

fn pick_op(mix: &[(Op, u64)], r: &mut SplitMix64) -> Op {
    let mut x = r.below(100);
    for &(op, pct) in mix {
        if x < pct {
            return op;
        }
        x -= pct;
    }
    Op::Get
}

/// Options of `soak`.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// Base URL, e.g. `http://127.0.0.1:7878`.
    pub url: String,
    /// API token.
    pub token: String,
    /// Requests in flight.
    pub concurrency: usize,
    /// Requests per second over all tasks; `None` sends each next request as soon as the last
    /// one is answered (as fast as the server goes).
    pub rate: Option<f64>,
    /// The mix of requests.
    pub mix: Mix,
    /// Minutes of load.
    pub minutes: u64,
    /// Seconds per sample (60 for "per minute"; shorter for a quick check).
    pub sample_secs: u64,
    /// The product whose items are read and written (`BENCH` of `keel-bench generate`, or `SHOP`
    /// of `keel serve --demo`).
    pub product: String,
    /// Items of the product to pick keys from (1..=items).
    pub items: u64,
    /// The server's process id, for its RSS.
    pub pid: Option<u32>,
    /// Seed of the choices.
    pub seed: u64,
    /// Print JSON instead of a table.
    pub json: bool,
}

/// One sample (normally one minute).
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Number of the sample, from 1.
    pub minute: u64,
    /// Requests completed in the sample.
    pub requests: u64,
    /// Of which failed (transport error or non-2xx).
    pub errors: u64,
    /// errors / requests, in percent.
    pub error_pct: f64,
    /// Requests per second.
    pub requests_per_sec: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// The server's resident memory at the end of the sample, MB.
    pub rss_mb: Option<f64>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    /// Requests in flight.
    pub concurrency: usize,
    /// The paced rate, requests per second (`None`: unpaced).
    pub rate: Option<f64>,
    /// Seconds per sample.
    pub sample_secs: u64,
    /// The mix, in percent.
    pub mix: Vec<(Op, u64)>,
    /// The samples.
    pub samples: Vec<Sample>,
    /// All requests.
    pub requests: u64,
    /// All errors.
    pub errors: u64,
    /// The first error seen, if any.
    pub first_error: Option<String>,
    /// RSS slope over the first half, MB per sample.
    pub rss_slope_first_half_mb: Option<f64>,
    /// RSS slope over the second half, MB per sample.
    pub rss_slope_second_half_mb: Option<f64>,
    /// "bounded", "growing" or "unknown" (no RSS, or fewer than 4 samples).
    pub memory_verdict: String,
    /// The seed.
    pub seed: u64,
}

#[derive(Default)]
struct Bucket {
    lat_us: Vec<u32>,
    errors: u64,
}

struct Shared {
    client: reqwest::Client,
    base: String,
    auth: String,
    product: String,
    items: u64,
    mix: &'static [(Op, u64)],
    /// Time between two requests of one task, when paced.
    pace: Option<Duration>,
    bucket: Mutex<Bucket>,
    first_error: Mutex<Option<String>>,
}

impl Shared {
    fn request(&self, r: &mut SplitMix64, n: u64) -> reqwest::RequestBuilder {
        let (b, c, p) = (&self.base, &self.client, &self.product);
        let json = |rb: reqwest::RequestBuilder, body: String| {
            rb.header("content-type", "application/json").body(body)
        };
        let rb = match pick_op(self.mix, r) {
            Op::Get => c.get(format!("{b}/api/v1/items/{p}-{}", r.range(1, self.items))),
            Op::Backlog => c.get(format!("{b}/api/v1/products/{p}/backlog?limit=50")),
            Op::Search => c.get(format!("{b}/api/v1/products/{p}/items?q={}&limit=100", r.pick(WORDS))),
            Op::Create => json(
                c.post(format!("{b}/api/v1/products/{p}/items")),
                format!(
                    r#"{{"title":"Soak story {n} {}","description":"made by the soak run"}}"#,
                    r.pick(WORDS)
                ),
            ),
            Op::Move => {
                let a = r.range(1, self.items);
                let mut other = r.range(1, self.items);
                while other == a && self.items > 1 {
                    other = r.range(1, self.items);
                }
                json(
                    c.post(format!("{b}/api/v1/items/{p}-{a}/move")),
                    format!(r#"{{"before":"{p}-{other}"}}"#),
                )
            }
            Op::Comment => json(
                c.post(format!("{b}/api/v1/items/{p}-{}/comments", r.range(1, self.items))),
                format!(r#"{{"body":"Soak comment {n}"}}"#),
            ),
        };
        rb.header("authorization", &self.auth)
    }
}

async fn worker(s: Arc<Shared>, seed: u64, until: Instant) {
    let mut r = SplitMix64::new(seed);
    let mut n = 0u64;
    let mut next = Instant::now();
    while Instant::now() < until {
        if let Some(pace) = s.pace {
            // A steady rate: wait for this request's slot; a task that fell behind starts again
            // from now rather than bursting to catch up.
            let now = Instant::now();
            if next > now {
                tokio::time::sleep_until(next.into()).await;
            } else {
                next = now;
            }
            next += pace;
        }
        n += 1;
        let start = Instant::now();
        let outcome = match s.request(&mut r, n).send().await {
            Ok(resp) => {
                let status = resp.status();
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
        let us = start.elapsed().as_micros().min(u32::MAX as u128) as u32;
        {
            let mut b = s.bucket.lock().unwrap_or_else(|p| p.into_inner());
            b.lat_us.push(us);
            if outcome.is_err() {
                b.errors += 1;
            }
        }
        if let Err(e) = outcome {
            s.first_error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
        }
    }
}

/// Resident memory of a process in MB (VmRSS of /proc/PID/status).
fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

/// Least-squares slope of `ys` against 0, 1, 2, … (`None` for fewer than two points).
fn slope(ys: &[f64]) -> Option<f64> {
    let n = ys.len();
    if n < 2 {
        return None;
    }
    let mx = (n - 1) as f64 / 2.0;
    let my = ys.iter().sum::<f64>() / n as f64;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        let dx = i as f64 - mx;
        num += dx * (y - my);
        den += dx * dx;
    }
    Some(num / den)
}

/// The verdict on memory from the RSS samples: "growing" when the second half still climbs by
/// more than 0.5 MB and 0.2 % of its mean per sample, "bounded" otherwise.
fn verdict(rss: &[f64]) -> (Option<f64>, Option<f64>, &'static str) {
    if rss.len() < 4 {
        return (None, None, "unknown");
    }
    let half = rss.len() / 2;
    let (first, second) = (&rss[..half], &rss[half..]);
    let (s1, s2) = (slope(first), slope(second));
    let mean2 = second.iter().sum::<f64>() / second.len() as f64;
    let growing = s2.is_some_and(|s| s > 0.5_f64.max(0.002 * mean2));
    (s1, s2, if growing { "growing" } else { "bounded" })
}

/// Runs the soak and returns what it measured.
pub async fn measure(o: &SoakOptions) -> Result<SoakReport> {
    if o.concurrency == 0 || o.minutes == 0 || o.sample_secs == 0 || o.items == 0 {
        bail!("concurrency, minutes, sample seconds and items must be positive");
    }
    if o.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        bail!("--rate must be a positive number of requests per second");
    }
    if let Some(pid) = o.pid {
        rss_mb(pid).ok_or_else(|| anyhow!("cannot read the memory of process {pid} in /proc"))?;
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
        product: o.product.clone(),
        items: o.items,
        mix: o.mix.table(),
        pace: o.rate.map(|r| Duration::from_secs_f64(o.concurrency as f64 / r)),
        bucket: Mutex::new(Bucket::default()),
        first_error: Mutex::new(None),
    });
    // A first read, so a wrong URL or token fails loudly instead of as 100 % errors.
    let probe = shared
        .client
        .get(format!("{}/api/v1/items/{}-1", shared.base, shared.product))
        .header("authorization", &shared.auth)
        .send()
        .await
        .context("while sending a first request")?;
    if !probe.status().is_success() {
        let st = probe.status();
        let body = probe.text().await.unwrap_or_default();
        return Err(anyhow!("the first request answered {st}: {}", &body[..body.len().min(300)]));
    }
    let start = Instant::now();
    let sample = Duration::from_secs(o.sample_secs);
    let until = start + sample * o.minutes as u32;
    let mut tasks = Vec::with_capacity(o.concurrency);
    for i in 0..o.concurrency {
        let seed = o.seed.wrapping_add((i as u64 + 1).wrapping_mul(0x9E37_79B9));
        tasks.push(tokio::spawn(worker(shared.clone(), seed, until)));
    }
    let mut samples = Vec::with_capacity(o.minutes as usize);
    for m in 1..=o.minutes {
        tokio::time::sleep_until((start + sample * m as u32).into()).await;
        let mut b = std::mem::take(&mut *shared.bucket.lock().unwrap_or_else(|p| p.into_inner()));
        b.lat_us.sort_unstable();
        let requests = b.lat_us.len() as u64;
        let s = Sample {
            minute: m,
            requests,
            errors: b.errors,
            error_pct: if requests == 0 { 0.0 } else { 100.0 * b.errors as f64 / requests as f64 },
            requests_per_sec: requests as f64 / o.sample_secs as f64,
            p50_ms: percentile(&b.lat_us, 50.0),
            p99_ms: percentile(&b.lat_us, 99.0),
            rss_mb: o.pid.and_then(rss_mb),
        };
        if !o.json {
            eprintln!("{}", row(&s));
        }
        samples.push(s);
    }
    for t in tasks {
        t.await.context("a load task failed")?;
    }
    // Requests that ended after the last sample closed belong to no sample.
    let rss: Vec<f64> = samples.iter().filter_map(|s| s.rss_mb).collect();
    let (s1, s2, v) = if rss.len() == samples.len() { verdict(&rss) } else { (None, None, "unknown") };
    let first_error = shared.first_error.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(SoakReport {
        concurrency: o.concurrency,
        rate: o.rate,
        sample_secs: o.sample_secs,
        mix: o.mix.table().to_vec(),
        requests: samples.iter().map(|s| s.requests).sum(),
        errors: samples.iter().map(|s| s.errors).sum(),
        samples,
        first_error,
        rss_slope_first_half_mb: s1,
        rss_slope_second_half_mb: s2,
        memory_verdict: v.to_string(),
        seed: o.seed,
    })
}

const HEADER: &str = "minute  requests    req/s  errors  err %   p50 ms   p99 ms   RSS MB";

fn row(s: &Sample) -> String {
    format!(
        "{:>6} {:>9} {:>8.1} {:>7} {:>6.2} {:>8.2} {:>8.2} {:>8}",
        s.minute,
        s.requests,
        s.requests_per_sec,
        s.errors,
        s.error_pct,
        s.p50_ms,
        s.p99_ms,
        s.rss_mb.map_or("-".to_string(), |v| format!("{v:.1}"))
    )
}

/// Runs `soak` and prints its report; fails when a request failed or memory keeps growing.
pub async fn run(o: SoakOptions) -> Result<()> {
    if !o.json {
        eprintln!("{HEADER}");
    }
    let r = measure(&o).await?;
    if o.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!("{HEADER}");
        for s in &r.samples {
            println!("{}", row(s));
        }
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:+.2}"));
        println!(
            "{} requests, {} errors; RSS slope MB/sample: first half {}, second half {}; memory: {}",
            r.requests,
            r.errors,
            f(r.rss_slope_first_half_mb),
            f(r.rss_slope_second_half_mb),
            r.memory_verdict
        );
        println!("seed {}", r.seed);
        if let Some(e) = &r.first_error {
            println!("first error: {e}");
        }
    }
    if r.errors > 0 {
        bail!("{} of {} requests failed", r.errors, r.requests);
    }
    if r.memory_verdict == "growing" {
        bail!("the server's memory kept growing over the second half of the run");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_adds_up_to_a_hundred() {
        assert_eq!(MIX.iter().map(|&(_, p)| p).sum::<u64>(), 100);
        assert_eq!(READS.iter().map(|&(_, p)| p).sum::<u64>(), 100);
        let mut r = SplitMix64::new(7);
        let is_write = |op| matches!(op, Op::Create | Op::Move | Op::Comment);
        let writes = (0..10_000).filter(|_| is_write(pick_op(MIX, &mut r))).count();
        assert!((2_700..3_300).contains(&writes), "{writes}");
        assert_eq!((0..10_000).filter(|_| is_write(pick_op(READS, &mut r))).count(), 0);
    }

    #[test]
    fn slope_is_least_squares() {
        assert_eq!(slope(&[1.0, 3.0, 5.0, 7.0]), Some(2.0));
        assert_eq!(slope(&[4.0, 4.0, 4.0]), Some(0.0));
        assert_eq!(slope(&[1.0]), None);
    }

    #[test]
    fn verdict_tells_a_plateau_from_a_climb() {
        // Warm-up growth, then flat: bounded.
        let plateau = [40.0, 60.0, 75.0, 80.0, 81.0, 80.5, 81.0, 80.8];
        assert_eq!(verdict(&plateau).2, "bounded");
        // Still climbing 2 MB a minute in the second half: growing.
        let climb: Vec<f64> = (0..10).map(|i| 50.0 + 2.0 * i as f64).collect();
        assert_eq!(verdict(&climb).2, "growing");
        assert_eq!(verdict(&[1.0, 2.0]).2, "unknown");
    }
}
