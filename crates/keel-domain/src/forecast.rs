//! Monte-Carlo forecasts: "when will this be done?" and "how much by a date?", from a team's
//! own history (items done per calendar day, or points done per sprint).
//!
//! Each trial draws future periods (days or sprints) from the history until the remaining work
//! is done (or sums a fixed number of periods); the answers are the 50 / 85 / 95 % points of the
//! trials. A forecast is deterministic given its seed: the generator is the crate's own
//! xoshiro256++ seeded through splitmix64, so answers agree on every machine and database.
//!
//! Days are calendar days (UTC). Non-working days are not skipped: the history holds the
//! weekends with their usual (often zero) counts, and the future is drawn from that same
//! history, so weekends are accounted for in proportion without a calendar of working days.
//!
//! The sampling method ([`METHOD`]) was chosen by backtesting on real sprint histories (see
//! `docs/BENCHMARKS.md`): the points done in the next sprints fell inside the 85 % band about as
//! often as 85 % of the time.

use crate::{Date, ValidationError};
use serde::{Deserialize, Serialize};

/// Fewest sprints of history a points forecast needs.
pub const MIN_SPRINTS: usize = 5;
/// Fewest done items in the window a throughput forecast needs.
pub const MIN_DONE_ITEMS: u64 = 10;
/// Trials run when none are asked for.
pub const TRIALS_DEFAULT: u32 = 10_000;
/// Fewest trials accepted.
pub const TRIALS_MIN: u32 = 1_000;
/// Most trials accepted.
pub const TRIALS_MAX: u32 = 100_000;
/// Longest horizon simulated, in periods: trials not done by then are reported as "beyond".
pub const HORIZON_DAYS: u32 = 3 * 366;
/// Longest horizon in sprints.
pub const HORIZON_SPRINTS: u32 = 156;
/// Most histogram buckets in an answer.
pub const BUCKETS_MAX: u32 = 24;
/// Confidence levels answered.
pub const LEVELS: [u32; 3] = [50, 85, 95];

/// What one period of history counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Items done per calendar day.
    Throughput,
    /// Story points done per sprint.
    Points,
}

impl Mode {
    /// Parses `throughput` or `points`.
    pub fn parse(field: &str, s: &str) -> Result<Mode, ValidationError> {
        match s.trim() {
            "throughput" => Ok(Mode::Throughput),
            "points" => Ok(Mode::Points),
            _ => Err(ValidationError::new(field, "must be throughput or points")),
        }
    }

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Throughput => "throughput",
            Mode::Points => "points",
        }
    }

    /// The period's name, for people.
    pub fn period(self) -> &'static str {
        match self {
            Mode::Throughput => "day",
            Mode::Points => "sprint",
        }
    }

    /// The longest horizon simulated.
    pub fn horizon(self) -> u32 {
        match self {
            Mode::Throughput => HORIZON_DAYS,
            Mode::Points => HORIZON_SPRINTS,
        }
    }
}

/// How future periods are drawn from the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// Every period of the window equally likely, drawn independently.
    Bootstrap,
    /// Recent periods more likely: a period `age` periods old has weight 2^(-age / half_life).
    Recent {
        /// Periods after which a period counts half.
        half_life: u32,
    },
    /// Runs of `len` consecutive periods from a random start (keeps good and bad streaks).
    Block {
        /// Periods per run.
        len: u32,
    },
}

/// The forecasting method: how much history, sampled how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Method {
    /// The most recent sprints used, when the caller gives no window.
    pub window: u32,
    /// How periods are drawn.
    pub sampling: Sampling,
    /// Level uncertainty: each trial scales its whole future by a factor exp(σ·z), z standard
    /// normal, σ = `level` × (coefficient of variation of the history) / √(periods). 0 = none.
    /// Plain resampling treats the history's average as known; real teams drift, so without
    /// this the bands of longer horizons are too narrow.
    pub level: f64,
}

/// The method used in production, tuned by the backtest.
pub const METHOD: Method = Method { window: 12, sampling: Sampling::Bootstrap, level: 1.5 };

/// Default window of a throughput forecast, in days.
pub const THROUGHPUT_WINDOW_DAYS: u32 = 90;

/// A deterministic pseudo-random generator (xoshiro256++), seeded through splitmix64.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator from a seed (any value, zero included).
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng { s: [next(), next(), next(), next()] }
    }

    /// The next 64 random bits.
    #[inline(always)]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A number in `0..n` (`n` ≥ 1) by multiply-shift of 32 random bits; the bias is below
    /// n / 2^32, far under the Monte-Carlo noise for the history lengths used here.
    #[inline(always)]
    pub fn below(&mut self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * u64::from(n)) >> 32) as u32
    }
}

/// Not enough history to forecast: what there is and what is needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThinHistory {
    /// The mode asked for.
    pub mode: Mode,
    /// Sprints (points mode) or done items (throughput mode) in the window.
    pub have: u64,
    /// The least needed.
    pub need: u64,
}

impl ThinHistory {
    /// The answer in words.
    pub fn message(&self) -> String {
        match self.mode {
            Mode::Points => format!(
                "Not enough history to forecast: {} closed sprint(s) in the window, at least {} are needed.",
                self.have, self.need
            ),
            Mode::Throughput => format!(
                "Not enough history to forecast: {} item(s) done in the window, at least {} are needed.",
                self.have, self.need
            ),
        }
    }
}

/// Whether a history is long enough for `mode`.
pub fn check_history(mode: Mode, samples: &[u32]) -> Result<(), ThinHistory> {
    match mode {
        Mode::Points if samples.len() < MIN_SPRINTS => {
            Err(ThinHistory { mode, have: samples.len() as u64, need: MIN_SPRINTS as u64 })
        }
        Mode::Throughput => {
            let done: u64 = samples.iter().map(|&v| u64::from(v)).sum();
            if done < MIN_DONE_ITEMS {
                Err(ThinHistory { mode, have: done, need: MIN_DONE_ITEMS })
            } else {
                Ok(())
            }
        }
        Mode::Points => Ok(()),
    }
}

/// Options of one forecast run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Trials to run.
    pub trials: u32,
    /// Seed of the generator.
    pub seed: u64,
    /// How periods are drawn.
    pub sampling: Sampling,
    /// Level uncertainty factor (see [`Method::level`]).
    pub level: f64,
    /// Periods simulated at most (a "when" trial not done by then is "beyond").
    pub horizon: u32,
}

/// A range of outcomes and how many trials fell in it (both ends included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Lowest value in the bucket.
    pub from: u64,
    /// Highest value in the bucket.
    pub to: u64,
    /// Trials in it.
    pub trials: u32,
}

/// The answer to "when will it be done?", in periods from the start (1 = during the first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhenForecast {
    /// Periods needed at 50 / 85 / 95 % confidence; `None` beyond the horizon.
    pub periods: [Option<u32>; 3],
    /// The distribution of the periods needed (trials done within the horizon).
    pub buckets: Vec<Bucket>,
    /// Trials not done within the horizon.
    pub beyond: u32,
    /// Trials run.
    pub trials: u32,
}

/// The answer to "how much by then?": amounts done at 50 / 85 / 95 % confidence (at least
/// that much in that share of the trials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HowMuchForecast {
    /// Amount done at 50 / 85 / 95 % confidence.
    pub amounts: [u64; 3],
    /// The distribution of the amounts done.
    pub buckets: Vec<Bucket>,
    /// Trials run.
    pub trials: u32,
}

/// A draw table: values to pick uniformly from. For the bootstrap it is the window itself; for
/// recent-weighted sampling each value is repeated in proportion to its weight, so that the
/// inner loop is one multiply-shift and one load for both.
fn table(samples: &[u32], sampling: Sampling) -> Vec<u32> {
    match sampling {
        Sampling::Bootstrap | Sampling::Block { .. } => samples.to_vec(),
        Sampling::Recent { half_life } => {
            const SLOTS: f64 = 4096.0;
            let n = samples.len();
            let hl = f64::from(half_life.max(1));
            let weights: Vec<f64> = (0..n).map(|i| (-((n - 1 - i) as f64) / hl).exp2()).collect();
            let total: f64 = weights.iter().sum();
            let mut out = Vec::with_capacity(SLOTS as usize + n);
            for (v, w) in samples.iter().zip(&weights) {
                let k = ((w / total) * SLOTS).round().max(1.0) as usize;
                out.extend(std::iter::repeat_n(*v, k));
            }
            out
        }
    }
}

/// Draws the next period's value for a trial; block sampling keeps a position within its run.
struct Drawer<'a> {
    table: &'a [u32],
    len: u32,
    block: u32,
    pos: u32,
    left: u32,
}

impl<'a> Drawer<'a> {
    fn new(table: &'a [u32], sampling: Sampling) -> Self {
        let block = match sampling {
            Sampling::Block { len } => len.clamp(1, table.len() as u32),
            _ => 1,
        };
        Drawer { table, len: table.len() as u32, block, pos: 0, left: 0 }
    }

    #[inline(always)]
    fn draw(&mut self, rng: &mut Rng) -> u32 {
        if self.block == 1 {
            return self.table[rng.below(self.len) as usize];
        }
        if self.left == 0 {
            self.pos = rng.below(self.len - self.block + 1);
            self.left = self.block;
        }
        let v = self.table[self.pos as usize];
        self.pos += 1;
        self.left -= 1;
        v
    }

    fn restart(&mut self) {
        self.left = 0;
    }
}

/// A trial's level factor: the whole simulated future scaled by exp(σ·z).
#[derive(Clone, Copy)]
struct Level {
    sigma: f64,
}

impl Level {
    fn new(samples: &[u32], level: f64) -> Level {
        let n = samples.len() as f64;
        if level <= 0.0 || samples.len() < 2 {
            return Level { sigma: 0.0 };
        }
        let mean = samples.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        if mean <= 0.0 {
            return Level { sigma: 0.0 };
        }
        let var = samples.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / (n - 1.0);
        Level { sigma: level * var.sqrt() / mean / n.sqrt() }
    }

    /// This trial's factor (1 without level uncertainty; no random bits used then). Box–Muller
    /// gives two normal values per 64 random bits: the second is kept in `spare` for the next
    /// trial.
    #[inline(always)]
    fn draw(self, rng: &mut Rng, spare: &mut Option<f64>) -> f64 {
        if self.sigma == 0.0 {
            return 1.0;
        }
        let z = match spare.take() {
            Some(z) => z,
            None => {
                let r = rng.next_u64();
                // u1 in (0, 1] so that its logarithm is finite.
                let u1 = ((r >> 32) + 1) as f64 / 4_294_967_296.0;
                let u2 = (r & 0xFFFF_FFFF) as f64 / 4_294_967_296.0;
                let radius = (-2.0 * u1.ln()).sqrt();
                let (sin, cos) = (std::f64::consts::TAU * u2).sin_cos();
                *spare = Some(radius * sin);
                radius * cos
            }
        };
        (self.sigma * z).exp()
    }

    /// The work a trial must do, in unscaled units, to finish `remaining` at `factor`.
    #[inline(always)]
    fn target(remaining: u64, factor: f64) -> u64 {
        if factor == 1.0 {
            remaining
        } else {
            ((remaining as f64 / factor).ceil() as u64).max(1)
        }
    }
}

/// Longest draw table for which "when" draws two periods at a time.
const PAIRS_MAX: usize = 128;

/// Every ordered pair of table values as (first, first + second): drawing one entry is drawing
/// two independent periods, which halves the work of the inner loop.
fn pairs(t: &[u32]) -> Vec<[u32; 2]> {
    let mut out = Vec::with_capacity(t.len() * t.len());
    for &a in t {
        for &b in t {
            out.push([a, a + b]);
        }
    }
    out
}

/// The "when" trials, two periods per draw and two draws per 64 random bits; a trial that
/// finishes within a pair is credited with the first period when that alone sufficed.
fn count_with_pairs(
    pairs: &[[u32; 2]],
    level: Level,
    total: u64,
    horizon: u32,
    trials: u32,
    seed: u64,
    counts: &mut [u32],
) {
    let mut rng = Rng::new(seed);
    let mut spare = None;
    let n = pairs.len() as u64;
    let beyond = horizon as usize + 1;
    for _ in 0..trials {
        let remaining = Level::target(total, level.draw(&mut rng, &mut spare));
        let mut done = 0u64;
        let mut p = 0u32;
        let slot = 'trial: loop {
            if p >= horizon {
                break beyond;
            }
            let r = rng.next_u64();
            for bits in [r >> 32, r & 0xFFFF_FFFF] {
                let [a, s] = pairs[((bits * n) >> 32) as usize];
                if done + u64::from(s) >= remaining {
                    let end = p + if done + u64::from(a) >= remaining { 1 } else { 2 };
                    break 'trial if end <= horizon { end as usize } else { beyond };
                }
                done += u64::from(s);
                p += 2;
            }
        };
        counts[slot] += 1;
    }
}

/// The "when" trials one period at a time (block sampling, long tables).
#[allow(clippy::too_many_arguments)]
fn count_one_by_one(
    t: &[u32],
    sampling: Sampling,
    level: Level,
    total: u64,
    horizon: u32,
    trials: u32,
    seed: u64,
    counts: &mut [u32],
) {
    let mut rng = Rng::new(seed);
    let mut spare = None;
    let mut d = Drawer::new(t, sampling);
    for _ in 0..trials {
        let remaining = Level::target(total, level.draw(&mut rng, &mut spare));
        d.restart();
        let mut done = 0u64;
        let mut p = 0u32;
        while done < remaining && p < horizon {
            done += u64::from(d.draw(&mut rng));
            p += 1;
        }
        let slot = if done >= remaining { p } else { horizon + 1 };
        counts[slot as usize] += 1;
    }
}

/// "When will it be done?": the periods needed to finish `remaining` (items or points), drawing
/// from `samples` (oldest first). Refuses a thin history.
pub fn when(mode: Mode, samples: &[u32], remaining: u64, o: &Options) -> Result<WhenForecast, ThinHistory> {
    check_history(mode, samples)?;
    let trials = o.trials.max(1);
    let horizon = o.horizon.max(1);
    // counts[p]: trials done after exactly p periods; counts[horizon + 1]: not done by then.
    let mut counts = vec![0u32; horizon as usize + 2];
    let t = table(samples, o.sampling);
    if remaining == 0 {
        counts[0] = trials;
    } else if t.iter().all(|&v| v == 0) {
        counts[horizon as usize + 1] = trials;
    } else {
        let level = Level::new(samples, o.level);
        let fast = !matches!(o.sampling, Sampling::Block { .. }) && t.len() <= PAIRS_MAX;
        if fast {
            count_with_pairs(&pairs(&t), level, remaining, horizon, trials, o.seed, &mut counts);
        } else {
            count_one_by_one(&t, o.sampling, level, remaining, horizon, trials, o.seed, &mut counts);
        }
    }
    let beyond = counts[horizon as usize + 1];
    let periods = LEVELS.map(|l| {
        let need = (u64::from(trials) * u64::from(l)).div_ceil(100);
        let mut acc = 0u64;
        for (p, &c) in counts[..=horizon as usize].iter().enumerate() {
            acc += u64::from(c);
            if acc >= need {
                return Some(p as u32);
            }
        }
        None
    });
    let buckets = bucketise(counts[..=horizon as usize].iter().enumerate().map(|(p, &c)| (p as u64, c)));
    Ok(WhenForecast { periods, buckets, beyond, trials })
}

/// "How much by then?": the amount done in `periods` future periods (days or sprints), drawing
/// from `samples`. Refuses a thin history.
pub fn how_much(
    mode: Mode,
    samples: &[u32],
    periods: u32,
    o: &Options,
) -> Result<HowMuchForecast, ThinHistory> {
    let totals = how_much_totals(mode, samples, periods, o)?;
    Ok(HowMuchForecast {
        amounts: LEVELS.map(|l| at_least(&totals, l)),
        buckets: bucket_sorted(&totals),
        trials: totals.len() as u32,
    })
}

/// Every trial's amount done in `periods` periods, sorted ascending (what [`how_much`]
/// summarises; the backtest reads its bands from it).
pub fn how_much_totals(
    mode: Mode,
    samples: &[u32],
    periods: u32,
    o: &Options,
) -> Result<Vec<u64>, ThinHistory> {
    check_history(mode, samples)?;
    let trials = o.trials.max(1);
    let t = table(samples, o.sampling);
    let mut totals = vec![0u64; trials as usize];
    if !t.is_empty() {
        let mut rng = Rng::new(o.seed);
        let mut d = Drawer::new(&t, o.sampling);
        let level = Level::new(samples, o.level);
        let mut spare = None;
        for total in totals.iter_mut() {
            let factor = level.draw(&mut rng, &mut spare);
            d.restart();
            let mut sum = 0u64;
            for _ in 0..periods {
                sum += u64::from(d.draw(&mut rng));
            }
            *total = if factor == 1.0 { sum } else { (sum as f64 * factor).round() as u64 };
        }
    }
    totals.sort_unstable();
    Ok(totals)
}

/// The amount reached or passed by `level` % of the sorted `totals`.
pub fn at_least(totals: &[u64], level: u32) -> u64 {
    if totals.is_empty() {
        return 0;
    }
    let n = totals.len() as u64;
    // The largest x with #(totals ≥ x) ≥ level % of n: the value at index n - ceil(level·n/100).
    let k = (n * u64::from(level)).div_ceil(100).max(1);
    totals[(n - k) as usize]
}

/// The value below which `q` (0–1) of the sorted `totals` lie (nearest rank).
pub fn quantile(totals: &[u64], q: f64) -> u64 {
    if totals.is_empty() {
        return 0;
    }
    let n = totals.len();
    let i = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
    totals[i]
}

/// Groups (value, trials) pairs, values ascending, into at most [`BUCKETS_MAX`] buckets of equal
/// width spanning the values that occurred.
fn bucketise(pairs: impl Iterator<Item = (u64, u32)> + Clone) -> Vec<Bucket> {
    let mut lo = None;
    let mut hi = 0;
    for (v, c) in pairs.clone() {
        if c > 0 {
            lo.get_or_insert(v);
            hi = v;
        }
    }
    let Some(lo) = lo else { return Vec::new() };
    let width = (hi - lo + 1).div_ceil(u64::from(BUCKETS_MAX)).max(1);
    let n = ((hi - lo) / width + 1) as usize;
    let mut out: Vec<Bucket> = (0..n as u64)
        .map(|i| Bucket { from: lo + i * width, to: lo + (i + 1) * width - 1, trials: 0 })
        .collect();
    for (v, c) in pairs {
        if c > 0 {
            out[((v - lo) / width) as usize].trials += c;
        }
    }
    out
}

fn bucket_sorted(totals: &[u64]) -> Vec<Bucket> {
    let mut pairs: Vec<(u64, u32)> = Vec::new();
    for &t in totals {
        match pairs.last_mut() {
            Some((v, c)) if *v == t => *c += 1,
            _ => pairs.push((t, 1)),
        }
    }
    bucketise(pairs.into_iter())
}

/// The last day of a throughput forecast that needs `periods` days starting on `start` (the
/// first simulated day): one day → `start` itself.
pub fn finish_date(start: Date, periods: u32) -> Date {
    start.plus_days(periods.max(1) as i32 - 1)
}

/// Items done on each day of `from..=to`, from the dates items reached a done state (dates
/// outside the window ignored): the throughput history, oldest day first.
pub fn daily_throughput(from: Date, to: Date, done_on: &[Date]) -> Vec<u32> {
    if to < from {
        return Vec::new();
    }
    let mut v = vec![0u32; (to.0 - from.0 + 1) as usize];
    for d in done_on {
        if *d >= from && *d <= to {
            v[(d.0 - from.0) as usize] += 1;
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(seed: u64) -> Options {
        Options { trials: TRIALS_DEFAULT, seed, sampling: METHOD.sampling, level: 0.0, horizon: HORIZON_DAYS }
    }

    #[test]
    fn rng_is_deterministic_and_spread() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
        let mut r = Rng::new(3);
        let mut seen = [0u32; 10];
        for _ in 0..100_000 {
            seen[r.below(10) as usize] += 1;
        }
        for s in seen {
            assert!((9_500..10_500).contains(&s), "{seen:?}");
        }
    }

    #[test]
    fn constant_throughput_gives_an_exact_date() {
        // 5 items every day, 50 to go: done on the tenth day at every confidence.
        let samples = vec![5; 30];
        let f = when(Mode::Throughput, &samples, 50, &opts(1)).unwrap();
        assert_eq!(f.periods, [Some(10), Some(10), Some(10)]);
        assert_eq!(f.beyond, 0);
        assert_eq!(f.buckets, vec![Bucket { from: 10, to: 10, trials: TRIALS_DEFAULT }]);
        let start = Date::parse("d", "2026-03-02").unwrap();
        assert_eq!(finish_date(start, 10), Date::parse("d", "2026-03-11").unwrap());
        // 51 to go needs an eleventh day.
        let f = when(Mode::Throughput, &samples, 51, &opts(1)).unwrap();
        assert_eq!(f.periods, [Some(11); 3]);
        let h = how_much(Mode::Throughput, &samples, 7, &opts(1)).unwrap();
        assert_eq!(h.amounts, [35, 35, 35]);
    }

    #[test]
    fn weekends_in_the_history_slow_the_forecast_in_proportion() {
        // Five working days of 7 items, two weekend days of none: 35 items a week. 70 items
        // take two weeks on average; the answer is never under 10 days (all draws 7).
        let week = [7, 7, 7, 7, 7, 0, 0];
        let samples: Vec<u32> = week.iter().copied().cycle().take(8 * 7).collect();
        let f = when(Mode::Throughput, &samples, 70, &opts(5)).unwrap();
        let [p50, p85, p95] = f.periods.map(Option::unwrap);
        assert!((13..=15).contains(&p50), "{p50}");
        assert!(p50 <= p85 && p85 <= p95);
        assert!(f.buckets.first().unwrap().from >= 10);
    }

    #[test]
    fn percentiles_are_ordered_and_deterministic() {
        let samples = vec![0, 3, 1, 0, 2, 5, 0, 1, 4, 2, 0, 0, 3, 1];
        let a = when(Mode::Throughput, &samples, 40, &opts(42)).unwrap();
        let b = when(Mode::Throughput, &samples, 40, &opts(42)).unwrap();
        assert_eq!(a, b);
        let [p50, p85, p95] = a.periods.map(Option::unwrap);
        assert!(p50 < p85 && p85 <= p95, "{:?}", a.periods);
        // Mean 1.57 a day: about 25 days for 40 items.
        assert!((22..=28).contains(&p50), "{p50}");
        assert_eq!(a.buckets.iter().map(|b| b.trials).sum::<u32>(), TRIALS_DEFAULT);
        assert!(a.buckets.len() <= BUCKETS_MAX as usize);
        let c = when(Mode::Throughput, &samples, 40, &opts(43)).unwrap();
        assert_ne!(a.buckets, c.buckets);
        let h = how_much(Mode::Throughput, &samples, 20, &opts(42)).unwrap();
        let [h50, h85, h95] = h.amounts;
        assert!(h50 > h85 && h85 >= h95, "{:?}", h.amounts);
        assert_eq!(h.buckets.iter().map(|b| b.trials).sum::<u32>(), TRIALS_DEFAULT);
    }

    #[test]
    fn thin_history_is_refused_with_the_counts() {
        let e = when(Mode::Points, &[8, 13, 5, 8], 40, &opts(1)).unwrap_err();
        assert_eq!(e, ThinHistory { mode: Mode::Points, have: 4, need: 5 });
        assert!(e.message().contains("4 closed sprint(s)"));
        assert!(when(Mode::Points, &[8, 13, 5, 8, 0], 40, &opts(1)).is_ok());
        let e = how_much(Mode::Throughput, &[0, 3, 0, 2, 4, 0], 10, &opts(1)).unwrap_err();
        assert_eq!(e, ThinHistory { mode: Mode::Throughput, have: 9, need: 10 });
        assert!(how_much(Mode::Throughput, &[0, 3, 0, 2, 5], 10, &opts(1)).is_ok());
    }

    #[test]
    fn nothing_left_and_nothing_done() {
        let f = when(Mode::Points, &[5, 5, 5, 5, 5], 0, &opts(1)).unwrap();
        assert_eq!(f.periods, [Some(0); 3]);
        let o = Options { horizon: 20, ..opts(1) };
        let f = when(Mode::Points, &[0, 0, 0, 0, 0], 10, &o).unwrap();
        assert_eq!(f.periods, [None; 3]);
        assert_eq!(f.beyond, TRIALS_DEFAULT);
        // Half the sprints deliver nothing: 50 % are done by the horizon, 85 % are not.
        let o = Options { horizon: 1, ..opts(9) };
        let f = when(Mode::Points, &[0, 10, 0, 10, 0, 10], 10, &o).unwrap();
        assert_eq!(f.periods[1], None);
        assert!(f.beyond > 4_000 && f.beyond < 6_000, "{}", f.beyond);
    }

    #[test]
    fn at_least_and_quantile_by_hand() {
        let v: Vec<u64> = (1..=20).collect();
        // 85 % of 20 = 17 trials reach at least 4 (4..=20).
        assert_eq!(at_least(&v, 85), 4);
        assert_eq!(at_least(&v, 50), 11);
        assert_eq!(at_least(&v, 95), 2);
        assert_eq!(quantile(&v, 0.5), 10);
        assert_eq!(quantile(&v, 0.925), 19);
        assert_eq!(quantile(&v, 0.075), 2);
    }

    #[test]
    fn recent_and_block_sampling() {
        // Old sprints delivered 0, recent ones 10: recent weighting leans to 10.
        let samples = [0, 0, 0, 0, 0, 0, 10, 10, 10, 10];
        let o = Options { sampling: Sampling::Recent { half_life: 2 }, ..opts(3) };
        let h = how_much(Mode::Points, &samples, 1, &o).unwrap();
        assert_eq!(h.amounts[0], 10);
        let o = Options { sampling: Sampling::Bootstrap, ..opts(3) };
        let h = how_much(Mode::Points, &samples, 1, &o).unwrap();
        assert_eq!(h.amounts[0], 0);
        // Runs of 3 from an increasing history: every three-sprint total is a consecutive sum.
        let samples = [1, 2, 3, 4, 5, 6];
        let o = Options { sampling: Sampling::Block { len: 3 }, ..opts(3) };
        let h = how_much(Mode::Points, &samples, 3, &o).unwrap();
        let sums = [6, 9, 12, 15];
        for b in &h.buckets {
            if b.trials > 0 {
                assert!(sums.iter().any(|s| (b.from..=b.to).contains(s)), "{b:?}");
            }
        }
    }

    #[test]
    fn drawing_in_pairs_gives_the_same_distribution() {
        let samples = [0, 3, 1, 0, 2, 5, 0, 1, 4, 2, 0, 0, 3, 1];
        let (mut a, mut b) = (vec![0u32; 202], vec![0u32; 202]);
        let none = Level { sigma: 0.0 };
        count_with_pairs(&pairs(&samples), none, 40, 200, 20_000, 1, &mut a);
        count_one_by_one(&samples, Sampling::Bootstrap, none, 40, 200, 20_000, 2, &mut b);
        let median = |c: &[u32]| {
            let mut acc = 0;
            c.iter().position(|&x| {
                acc += x;
                acc >= 10_000
            })
        };
        let mean =
            |c: &[u32]| c.iter().enumerate().map(|(i, &x)| i as f64 * f64::from(x)).sum::<f64>() / 20_000.0;
        assert!(median(&a).unwrap().abs_diff(median(&b).unwrap()) <= 1);
        assert!((mean(&a) - mean(&b)).abs() < 0.3, "{} {}", mean(&a), mean(&b));
        // Odd finishing periods occur (the first of a pair was enough).
        assert!(a.iter().skip(1).step_by(2).any(|&x| x > 0));
    }

    #[test]
    fn level_uncertainty_widens_the_bands_but_not_a_constant_history() {
        let samples = [5, 9, 3, 8, 6, 2, 7, 10, 4, 6, 5, 8];
        let plain =
            Options { sampling: Sampling::Bootstrap, level: 0.0, horizon: HORIZON_SPRINTS, ..opts(11) };
        let tuned = Options { level: METHOD.level, ..plain };
        let spread = |o: &Options| {
            let t = how_much_totals(Mode::Points, &samples, 6, o).unwrap();
            quantile(&t, 0.925) - quantile(&t, 0.075)
        };
        assert!(spread(&tuned) > spread(&plain), "{} vs {}", spread(&tuned), spread(&plain));
        // The median stays where it was (the factor is median-preserving): 6 × 6.08 ≈ 36.
        let t = how_much_totals(Mode::Points, &samples, 6, &tuned).unwrap();
        assert!((34..=38).contains(&quantile(&t, 0.5)), "{}", quantile(&t, 0.5));
        let w = when(Mode::Points, &[8; 6], 12, &tuned).unwrap();
        assert_eq!(w.periods, [Some(2); 3]);
    }

    #[test]
    fn daily_throughput_counts_each_day_of_the_window() {
        let d = |s| Date::parse("d", s).unwrap();
        let done = [d("2026-03-01"), d("2026-03-03"), d("2026-03-03"), d("2026-03-05"), d("2026-02-28")];
        assert_eq!(daily_throughput(d("2026-03-01"), d("2026-03-04"), &done), vec![1, 0, 2, 0]);
        assert!(daily_throughput(d("2026-03-04"), d("2026-03-01"), &done).is_empty());
    }

    #[test]
    fn mode_parses() {
        assert_eq!(Mode::parse("mode", "points").unwrap(), Mode::Points);
        assert_eq!(Mode::parse("mode", "bogus").unwrap_err().field, "mode");
    }
}
