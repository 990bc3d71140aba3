//! The forecaster's own benchmarks: its speed (`forecast-bench`) and its calibration on real
//! sprint histories (`backtest`).
//!
//! The backtest reads a folder laid out as `<folder>/<organisation>/<organisation>_iteration_80.csv`
//! (one row per sprint: `boardid, sprintid, …, vel_done, …`), orders each board's sprints by
//! sprint id, and for every board with at least [`MIN_BOARD_SPRINTS`] sprints and every cut k
//! from [`FIRST_CUT`] to n − [`HORIZON`] forecasts, from sprints 1..k, the points done in
//! sprints k+1..k+h, cumulatively for each horizon h = 1..6. A hit is an actual total inside
//! the central 85 % band of the trials (from the 7.5th to the 92.5th percentile).

use anyhow::{bail, Context, Result};
use keel_domain::forecast::{self, Method, Mode, Options, Sampling, METHOD};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// Boards with fewer sprints are left out.
pub const MIN_BOARD_SPRINTS: usize = 12;
/// The first cut: sprints of history before the first forecast.
pub const FIRST_CUT: usize = 6;
/// Sprints forecast after each cut.
pub const HORIZON: usize = 6;
/// Trials per backtest forecast.
const BACKTEST_TRIALS: u32 = 2_000;

/// Times `runs` forecasts of 10,000 trials over `remaining` items and prints the time per run.
pub fn bench(runs: u32, remaining: u64, trials: u32, like_reference: bool) -> Result<()> {
    let mut rng = forecast::Rng::new(2024);
    let samples: Vec<u32> = if like_reference {
        // The reference server's bench: 30 days of 0..=15 items a day (mean about 7.5).
        (0..30).map(|_| rng.below(16)).collect()
    } else {
        // A plausible team: 90 days of throughput between 0 and 6 items a day (mean about 2).
        (0..forecast::THROUGHPUT_WINDOW_DAYS).map(|d| if d % 7 >= 5 { 0 } else { rng.below(6) }).collect()
    };
    let mean = samples.iter().sum::<u32>() as f64 / samples.len() as f64;
    let o = |seed| Options {
        trials,
        seed,
        sampling: METHOD.sampling,
        level: METHOD.level,
        horizon: forecast::HORIZON_DAYS,
    };
    for s in 0..3 {
        forecast::when(Mode::Throughput, &samples, remaining, &o(s))
            .map_err(|e| anyhow::anyhow!(e.message()))?;
    }
    let mut times = Vec::with_capacity(runs as usize);
    let mut last = None;
    for s in 0..u64::from(runs) {
        let t = Instant::now();
        let f = forecast::when(Mode::Throughput, &samples, remaining, &o(s))
            .map_err(|e| anyhow::anyhow!(e.message()))?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        last = Some(f);
    }
    times.sort_by(f64::total_cmp);
    let q = |p: f64| times[((p * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
    let f = last.expect("at least one run");
    println!(
        "forecast \"when\": {remaining} items left, {trials} trials, history {} days (mean {mean:.2} items/day), {runs} runs",
        samples.len()
    );
    println!(
        "per run: min {:.3} ms, median {:.3} ms, p95 {:.3} ms, max {:.3} ms",
        times[0],
        q(0.5),
        q(0.95),
        times[times.len() - 1]
    );
    println!("last answer (days): 50 % {:?}, 85 % {:?}, 95 % {:?}", f.periods[0], f.periods[1], f.periods[2]);
    let t = Instant::now();
    let n = 200;
    for s in 0..n {
        forecast::how_much(Mode::Throughput, &samples, 60, &o(s))
            .map_err(|e| anyhow::anyhow!(e.message()))?;
    }
    println!(
        "forecast \"how much\" over 60 days: {:.3} ms per run",
        t.elapsed().as_secs_f64() * 1e3 / n as f64
    );
    Ok(())
}

/// One board's points done per sprint, in sprint order.
struct Board {
    org: String,
    points: Vec<u32>,
}

fn read_boards(folder: &Path) -> Result<Vec<Board>> {
    let mut orgs: Vec<_> = std::fs::read_dir(folder)
        .with_context(|| format!("while reading {}", folder.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .collect();
    orgs.sort_by_key(|e| e.file_name());
    let mut boards = Vec::new();
    for e in orgs {
        let org = e.file_name().to_string_lossy().into_owned();
        let file = e.path().join(format!("{org}_iteration_80.csv"));
        if !file.exists() {
            continue;
        }
        let text =
            std::fs::read_to_string(&file).with_context(|| format!("while reading {}", file.display()))?;
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
        let col = |name: &str| header.iter().position(|h| h.trim() == name);
        let (Some(b), Some(s), Some(v)) = (col("boardid"), col("sprintid"), col("vel_done")) else {
            bail!("{}: needs the columns boardid, sprintid and vel_done", file.display());
        };
        let mut by_board: BTreeMap<i64, Vec<(i64, u32)>> = BTreeMap::new();
        for line in lines {
            // Sprint names may hold commas; the numeric columns are read from both ends.
            let f: Vec<&str> = line.split(',').collect();
            if f.len() < header.len() {
                continue;
            }
            let extra = f.len() - header.len();
            let at = |i: usize| if i <= 1 { f[i] } else { f[i + extra] };
            let (Ok(board), Ok(sprint), Ok(done)) =
                (at(b).trim().parse::<i64>(), at(s).trim().parse::<i64>(), at(v).trim().parse::<f64>())
            else {
                continue;
            };
            by_board.entry(board).or_default().push((sprint, done.max(0.0).round() as u32));
        }
        for (_, mut sprints) in by_board {
            sprints.sort_by_key(|&(id, _)| id);
            boards.push(Board { org: org.clone(), points: sprints.into_iter().map(|(_, p)| p).collect() });
        }
    }
    Ok(boards)
}

/// Hits and forecasts, overall and per horizon.
#[derive(Default, Clone)]
struct Tally {
    hits: u64,
    at_least_hits: u64,
    n: u64,
    by_h: [(u64, u64); HORIZON],
}

impl Tally {
    fn pct(a: u64, n: u64) -> f64 {
        if n == 0 {
            0.0
        } else {
            100.0 * a as f64 / n as f64
        }
    }
}

fn backtest_board(points: &[u32], method: &Method, t: &mut Tally) {
    let n = points.len();
    if n < MIN_BOARD_SPRINTS {
        return;
    }
    for k in FIRST_CUT..=n - HORIZON {
        let from = k.saturating_sub(method.window as usize);
        let history = &points[from..k];
        for h in 1..=HORIZON {
            let o = Options {
                trials: BACKTEST_TRIALS,
                seed: (k * 31 + h) as u64,
                sampling: method.sampling,
                level: method.level,
                horizon: forecast::HORIZON_SPRINTS,
            };
            let Ok(f) = forecast::how_much_totals(Mode::Points, history, h as u32, &o) else { continue };
            let actual: u64 = points[k..k + h].iter().map(|&p| u64::from(p)).sum();
            let (lo, hi) = (forecast::quantile(&f, 0.075), forecast::quantile(&f, 0.925));
            let hit = lo <= actual && actual <= hi;
            t.n += 1;
            t.hits += u64::from(hit);
            t.at_least_hits += u64::from(actual >= forecast::at_least(&f, 85));
            t.by_h[h - 1].0 += u64::from(hit);
            t.by_h[h - 1].1 += 1;
        }
    }
}

/// The methods compared by `backtest --compare`.
fn candidates() -> Vec<Method> {
    let mut v = Vec::new();
    for window in [6, 8, 12, 16, 24, 1000] {
        for level in [0.0, 1.0, 1.5, 2.0] {
            v.push(Method { window, sampling: Sampling::Bootstrap, level });
            v.push(Method { window, sampling: Sampling::Recent { half_life: 6 }, level });
            v.push(Method { window, sampling: Sampling::Block { len: 2 }, level });
        }
    }
    v
}

fn describe(m: &Method) -> String {
    let s = match m.sampling {
        Sampling::Bootstrap => "bootstrap".to_string(),
        Sampling::Recent { half_life } => format!("recent-weighted (half-life {half_life})"),
        Sampling::Block { len } => format!("block bootstrap (runs of {len})"),
    };
    let w = if m.window >= 1000 { "all sprints".to_string() } else { format!("last {} sprints", m.window) };
    if m.level > 0.0 {
        format!("{w}, {s}, level x{}", m.level)
    } else {
        format!("{w}, {s}")
    }
}

/// Runs the backtest on `folder` with the production method (and, with `compare`, every
/// candidate method) and prints the 85 % band coverage per organisation and overall.
pub fn backtest(folder: &Path, compare: bool) -> Result<()> {
    let boards = read_boards(folder)?;
    let usable: Vec<&Board> = boards.iter().filter(|b| b.points.len() >= MIN_BOARD_SPRINTS).collect();
    if usable.is_empty() {
        bail!("no board with at least {MIN_BOARD_SPRINTS} sprints under {}", folder.display());
    }
    if compare {
        println!("{:<64} {:>9} {:>9}", "method", "coverage", "at-least");
        for m in candidates() {
            let mut t = Tally::default();
            for b in &usable {
                backtest_board(&b.points, &m, &mut t);
            }
            println!(
                "{:<64} {:>8.1}% {:>8.1}%",
                describe(&m),
                Tally::pct(t.hits, t.n),
                Tally::pct(t.at_least_hits, t.n)
            );
        }
        println!();
    }
    println!("method: {}", describe(&METHOD));
    println!(
        "85 % band = 7.5th..92.5th percentile of {BACKTEST_TRIALS} trials; horizons 1..{HORIZON} sprints (cumulative points); cuts k = {FIRST_CUT}..n-{HORIZON}"
    );
    println!(
        "{:<12} {:>7} {:>8} {:>10} {:>9} {:>9}   per horizon 1..{HORIZON}",
        "organisation", "boards", "sprints", "forecasts", "coverage", "at-least"
    );
    let mut orgs: BTreeMap<&str, (usize, usize, Tally)> = BTreeMap::new();
    let mut all = Tally::default();
    for b in &usable {
        let e = orgs.entry(b.org.as_str()).or_default();
        e.0 += 1;
        e.1 += b.points.len();
        backtest_board(&b.points, &METHOD, &mut e.2);
        backtest_board(&b.points, &METHOD, &mut all);
    }
    let line = |name: &str, boards: usize, sprints: usize, t: &Tally| {
        let hs: Vec<String> = t.by_h.iter().map(|&(h, n)| format!("{:.0}", Tally::pct(h, n))).collect();
        println!(
            "{:<12} {:>7} {:>8} {:>10} {:>8.1}% {:>8.1}%   {}",
            name,
            boards,
            sprints,
            t.n,
            Tally::pct(t.hits, t.n),
            Tally::pct(t.at_least_hits, t.n),
            hs.join(" / ")
        );
    };
    for (org, (boards, sprints, t)) in &orgs {
        line(org, *boards, *sprints, t);
    }
    let (nb, ns) = orgs.values().fold((0, 0), |(a, b), (x, y, _)| (a + x, b + y));
    line("overall", nb, ns, &all);
    println!(
        "(boards with fewer than {MIN_BOARD_SPRINTS} sprints left out: {})",
        boards.len() - usable.len()
    );
    Ok(())
}
