//! Monte-Carlo forecasts of a release, an epic or any items: the remaining work, the history
//! it is forecast from (items done per day, from the events; or points done per closed sprint
//! of a team), and the answer of `keel_domain::forecast`.

use crate::error::{AppError, AppResult};
use crate::records::Stored;
use crate::{App, ProductAccess};
use keel_domain::event::ObjectKind;
use keel_domain::forecast::{
    self, Bucket, HowMuchForecast, Mode, Options, ThinHistory, WhenForecast, METHOD, THROUGHPUT_WINDOW_DAYS,
};
use keel_domain::item::Item;
use keel_domain::readiness::in_scope;
use keel_domain::sprint::{Release, Sprint, Team};
use keel_domain::workflow::Category;
use keel_domain::{Date, RecordId, Timestamp};
use keel_store::ItemFilter;
use std::collections::{HashMap, HashSet};

/// Most items named in a selection.
pub const ITEMS_MAX: usize = 1_000;
/// Longest throughput window, in days.
pub const WINDOW_DAYS_MAX: u32 = 730;
/// Most sprints in a points window.
pub const WINDOW_SPRINTS_MAX: u32 = 100;
/// The seed when none is given: the same request gives the same answer.
pub const SEED_DEFAULT: u64 = 1;
/// Status events read per page while building the throughput history.
const EVENTS_PAGE: u32 = 5_000;

/// What to forecast.
#[derive(Debug, Clone, Default)]
pub struct ForecastInput {
    /// The team whose sprints give the points history (points mode).
    pub team: Option<i64>,
    /// A release of the product.
    pub release: Option<i64>,
    /// An epic of the product, by key: its children.
    pub epic: Option<String>,
    /// Items by key.
    pub items: Option<Vec<String>>,
    /// `throughput` or `points`.
    pub mode: String,
    /// Window start (`YYYY-MM-DD`).
    pub window_from: Option<String>,
    /// Window end (`YYYY-MM-DD`).
    pub window_to: Option<String>,
    /// The last N days (throughput) or closed sprints (points).
    pub window_last: Option<i64>,
    /// `when` or `how_much`.
    pub question: String,
    /// The date of a `how_much` question.
    pub date: Option<String>,
    /// Trials to run.
    pub trials: Option<i64>,
    /// Seed of the generator.
    pub seed: Option<u64>,
}

/// The question asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    /// When will the selection be done?
    When,
    /// How much will be done by a date?
    HowMuch(Date),
}

/// The work left in the selection.
#[derive(Debug, Clone, PartialEq)]
pub struct Remaining {
    /// Items in the selection (stories, bugs and spikes).
    pub total_items: u32,
    /// Of which done.
    pub done_items: u32,
    /// Open items.
    pub items: u32,
    /// Points of the open items (rounded up).
    pub points: u64,
    /// Open items without an estimate (count as 0 points in points mode).
    pub unestimated: u32,
    /// The open items' keys, in backlog order.
    pub keys: Vec<String>,
}

/// The history a forecast drew from.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryUsed {
    /// First day of the window.
    pub from: Date,
    /// Last day of the window.
    pub to: Date,
    /// Per period (day or sprint), oldest first: items or points done.
    pub sample: Vec<u32>,
    /// In points mode, the sprints' names, in the same order.
    pub sprints: Vec<String>,
    /// The team, in points mode.
    pub team: Option<(RecordId, String)>,
    /// Items done in the window (throughput) or points done (points).
    pub done: u64,
}

/// One confidence level's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// 50, 85 or 95.
    pub level: u32,
    /// `when`: periods needed (`None` beyond the horizon); `how_much`: periods until the date.
    pub periods: Option<u32>,
    /// `when`: the last day; `how_much`: the date asked about.
    pub date: Option<Date>,
    /// `how_much`: items or points done at least.
    pub amount: Option<u64>,
}

/// A histogram bar, with its dates in `when` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bar {
    /// The range and its trials.
    pub bucket: Bucket,
    /// `when`: the dates of the range's ends.
    pub dates: Option<(Date, Date)>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Too little history: no forecast.
    NotEnoughHistory(ThinHistory),
    /// A forecast.
    Forecast {
        /// 50 / 85 / 95 %.
        levels: Vec<Level>,
        /// The distribution.
        bars: Vec<Bar>,
        /// `when`: trials not done within the horizon.
        beyond: u32,
    },
}

/// A forecast and what it was made from.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// The mode.
    pub mode: Mode,
    /// The question.
    pub question: Question,
    /// The first simulated day.
    pub start: Date,
    /// Days per period (1, or the team's sprint length).
    pub period_days: u32,
    /// The work left.
    pub remaining: Remaining,
    /// The history drawn from.
    pub history: HistoryUsed,
    /// Trials run.
    pub trials: u32,
    /// Seed used.
    pub seed: u64,
    /// The method, in words.
    pub method: String,
    /// The answer.
    pub answer: Answer,
}

/// The production method in words.
pub fn method_text() -> String {
    let forecast::Method { window, level, .. } = METHOD;
    format!(
        "bootstrap of the window's periods with per-trial level uncertainty (×{level}); default window: \
         the last {window} closed sprints, or the last {THROUGHPUT_WINDOW_DAYS} days"
    )
}

impl App {
    /// A forecast for `access`'s product; anyone who can read the product may ask. `today` is
    /// the first simulated day.
    pub async fn forecast(
        &self,
        access: &ProductAccess,
        input: &ForecastInput,
        today: Date,
    ) -> AppResult<Forecast> {
        let mode = Mode::parse("mode", &input.mode)?;
        let question = match input.question.trim() {
            "when" => Question::When,
            "how_much" => {
                let Some(d) = input.date.as_deref() else {
                    return Err(AppError::invalid("date", "is required for the question how_much"));
                };
                Question::HowMuch(Date::parse("date", d)?)
            }
            _ => return Err(AppError::invalid("question", "must be when or how_much")),
        };
        let trials = match input.trials {
            None => forecast::TRIALS_DEFAULT,
            Some(t) if (i64::from(forecast::TRIALS_MIN)..=i64::from(forecast::TRIALS_MAX)).contains(&t) => {
                t as u32
            }
            Some(_) => {
                return Err(AppError::invalid(
                    "trials",
                    format!("must be between {} and {}", forecast::TRIALS_MIN, forecast::TRIALS_MAX),
                ))
            }
        };
        let seed = input.seed.unwrap_or(SEED_DEFAULT);
        let window = self.window(mode, input)?;
        let items = self.selection(access, input).await?;
        let remaining = remaining_of(&items);

        let (history, period_days, start) = match mode {
            Mode::Throughput => {
                let (from, to) = match window {
                    Window::Dates(f, t) => (f, t),
                    Window::Last(n) => (today.plus_days(-(n as i32)), today.plus_days(-1)),
                };
                let mut h = self.throughput_history(access, from, to).await?;
                if let Window::Last(_) = window {
                    // A default window starts at the first item done in it: a young product's
                    // days before any work was done are not days of zero throughput.
                    if let Some(first) = h.sample.iter().position(|&v| v > 0) {
                        h.sample.drain(..first);
                        h.from = h.from.plus_days(first as i32);
                    }
                }
                (h, 1, today)
            }
            Mode::Points => {
                let team = self.forecast_team(access, input.team).await?;
                let sprints = self.team_sprints(&team).await?;
                let (h, len, next) = points_history(&team, &sprints, window, today);
                (h, len, next)
            }
        };

        let o =
            Options { trials, seed, sampling: METHOD.sampling, level: METHOD.level, horizon: mode.horizon() };
        let date_of = |periods: u32| start.plus_days((periods.max(1) * period_days) as i32 - 1);
        let answer = match question {
            Question::When => {
                let work = match mode {
                    Mode::Throughput => u64::from(remaining.items),
                    Mode::Points => remaining.points,
                };
                match forecast::when(mode, &history.sample, work, &o) {
                    Err(thin) => Answer::NotEnoughHistory(thin),
                    Ok(WhenForecast { periods, buckets, beyond, .. }) => Answer::Forecast {
                        levels: forecast::LEVELS
                            .iter()
                            .zip(periods)
                            .map(|(&level, p)| Level {
                                level,
                                periods: p,
                                date: p.map(|p| if p == 0 { today } else { date_of(p) }),
                                amount: None,
                            })
                            .collect(),
                        bars: buckets
                            .into_iter()
                            .map(|b| Bar {
                                bucket: b,
                                dates: Some((date_of(b.from as u32), date_of(b.to as u32))),
                            })
                            .collect(),
                        beyond,
                    },
                }
            }
            Question::HowMuch(date) => {
                if date < start {
                    return Err(AppError::invalid(
                        "date",
                        format!("must be on or after {}", fmt_date(start)),
                    ));
                }
                let periods = ((date.0 - start.0 + 1) as u32) / period_days;
                if periods > mode.horizon() {
                    return Err(AppError::invalid("date", "is too far ahead to forecast"));
                }
                match forecast::how_much(mode, &history.sample, periods, &o) {
                    Err(thin) => Answer::NotEnoughHistory(thin),
                    Ok(HowMuchForecast { amounts, buckets, .. }) => Answer::Forecast {
                        levels: forecast::LEVELS
                            .iter()
                            .zip(amounts)
                            .map(|(&level, a)| Level {
                                level,
                                periods: Some(periods),
                                date: Some(date),
                                amount: Some(a),
                            })
                            .collect(),
                        bars: buckets.into_iter().map(|b| Bar { bucket: b, dates: None }).collect(),
                        beyond: 0,
                    },
                }
            }
        };
        Ok(Forecast {
            mode,
            question,
            start,
            period_days,
            remaining,
            history,
            trials,
            seed,
            method: method_text(),
            answer,
        })
    }

    fn window(&self, mode: Mode, input: &ForecastInput) -> AppResult<Window> {
        match (&input.window_from, &input.window_to, input.window_last) {
            (None, None, None) => Ok(Window::Last(match mode {
                Mode::Throughput => THROUGHPUT_WINDOW_DAYS,
                Mode::Points => METHOD.window,
            })),
            (None, None, Some(n)) => {
                let max = match mode {
                    Mode::Throughput => WINDOW_DAYS_MAX,
                    Mode::Points => WINDOW_SPRINTS_MAX,
                };
                if n < 1 || n > i64::from(max) {
                    return Err(AppError::invalid("window.last", format!("must be between 1 and {max}")));
                }
                Ok(Window::Last(n as u32))
            }
            (Some(f), Some(t), None) => {
                let (f, t) = (Date::parse("window.from", f)?, Date::parse("window.to", t)?);
                if t < f {
                    return Err(AppError::invalid("window.to", "must not be before window.from"));
                }
                if (t.0 - f.0) as u32 >= WINDOW_DAYS_MAX {
                    return Err(AppError::invalid(
                        "window.to",
                        format!("the window may span {WINDOW_DAYS_MAX} days at most"),
                    ));
                }
                Ok(Window::Dates(f, t))
            }
            (_, _, Some(_)) => Err(AppError::invalid("window", "give either from and to, or last")),
            (None, Some(_), None) => Err(AppError::invalid("window.from", "is required with window.to")),
            (Some(_), None, None) => Err(AppError::invalid("window.to", "is required with window.from")),
        }
    }

    /// The items selected: exactly one of a release, an epic's children or a list of keys.
    async fn selection(&self, access: &ProductAccess, input: &ForecastInput) -> AppResult<Vec<Item>> {
        let given = [input.release.is_some(), input.epic.is_some(), input.items.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(AppError::invalid("selection", "give exactly one of release, epic or items"));
        }
        let filter = if let Some(id) = input.release {
            let r = match self.get_record::<Release>(RecordId(id)).await {
                Ok(r) if r.product_id == Some(access.product.id) => r,
                Ok(_) | Err(AppError::NotFound) => {
                    return Err(AppError::invalid("selection.release", "no such release in this product"))
                }
                Err(e) => return Err(e),
            };
            ItemFilter { release: Some(Some(r.id)), ..Default::default() }
        } else if let Some(key) = &input.epic {
            let epic = match self.item(access, key.trim()).await {
                Ok(i) => i,
                Err(AppError::NotFound) => {
                    return Err(AppError::invalid("selection.epic", "no such item in this product"))
                }
                Err(e) => return Err(e),
            };
            ItemFilter { parent: Some(epic.id), ..Default::default() }
        } else {
            let keys = input.items.as_deref().unwrap_or_default();
            if keys.is_empty() {
                return Err(AppError::invalid("selection.items", "must name at least one item"));
            }
            if keys.len() > ITEMS_MAX {
                return Err(AppError::invalid("selection.items", format!("at most {ITEMS_MAX} items")));
            }
            let mut out: Vec<Item> = Vec::with_capacity(keys.len());
            for (i, k) in keys.iter().enumerate() {
                match self.item(access, k.trim()).await {
                    Ok(it) => {
                        if !out.iter().any(|o| o.id == it.id) {
                            out.push(it);
                        }
                    }
                    Err(AppError::NotFound) => {
                        return Err(AppError::invalid(
                            &format!("selection.items[{i}]"),
                            "no such item in this product",
                        ))
                    }
                    Err(e) => return Err(e),
                }
            }
            return Ok(out);
        };
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.list_items(access, &filter, cursor.as_deref(), 500).await?;
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// Items done per day of `from..=to`, from the history: each item counts once, on the last
    /// day in the window it moved into a done state (a reopened and re-done item is not counted
    /// twice). States are judged by the current workflow, so renaming a state changes nothing.
    /// Only the kinds the remaining work counts (stories, bugs, spikes; by their kind now) are
    /// counted, so that the pace and the work left are measured in the same items.
    pub async fn throughput_history(
        &self,
        access: &ProductAccess,
        from: Date,
        to: Date,
    ) -> AppResult<HistoryUsed> {
        let wf = self.workflow(access).await?;
        let done_state = |v: &serde_json::Value| {
            v.as_i64()
                .and_then(|id| wf.state(keel_domain::StateId(id)))
                .is_some_and(|s| s.category == Category::Done)
        };
        let mut last_done: HashMap<i64, Date> = HashMap::new();
        let (mut since, end) = (from.start(), to.end());
        let mut seen_max = i64::MIN;
        loop {
            let events = self
                .store
                .product_events_of(access.product.id, &[ObjectKind::Item], &["status"], since, EVENTS_PAGE)
                .await?;
            let full = events.len() as u32 == EVENTS_PAGE;
            let mut last_at: Option<Timestamp> = None;
            for e in &events {
                last_at = Some(e.at);
                // Pages overlap at their boundary instant: skip events already counted.
                if e.id <= seen_max {
                    continue;
                }
                if e.at >= end {
                    continue;
                }
                if done_state(&e.new) && !done_state(&e.old) {
                    last_done.insert(e.object_id, Date::of(e.at));
                }
            }
            seen_max = seen_max.max(events.iter().map(|e| e.id).max().unwrap_or(i64::MIN));
            match last_at {
                Some(at) if full && at < end && at > since => since = at,
                _ => break,
            }
        }
        let ids: Vec<i64> = last_done.keys().copied().collect();
        let counted: HashSet<i64> = self
            .store
            .flow_rows_of(&ids)
            .await?
            .into_iter()
            .filter(|r| in_scope(r.kind))
            .map(|r| r.item_id)
            .collect();
        let days: Vec<Date> =
            last_done.iter().filter(|(id, _)| counted.contains(id)).map(|(_, d)| *d).collect();
        let sample = forecast::daily_throughput(from, to, &days);
        let done = sample.iter().map(|&v| u64::from(v)).sum();
        Ok(HistoryUsed { from, to, sample, sprints: Vec::new(), team: None, done })
    }

    /// The team of a points forecast: the one named, or the product's only team.
    async fn forecast_team(&self, access: &ProductAccess, team: Option<i64>) -> AppResult<Stored<Team>> {
        let teams = self.teams_serving(access.product.id).await?;
        match team {
            Some(id) => teams
                .into_iter()
                .find(|t| t.id.0 == id)
                .ok_or_else(|| AppError::invalid("team", "no such team serving this product")),
            None if teams.len() == 1 => Ok(teams.into_iter().next().expect("one team")),
            None if teams.is_empty() => {
                Err(AppError::invalid("team", "this product has no team with sprints"))
            }
            None => Err(AppError::invalid("team", "this product has several teams: name one")),
        }
    }
}

/// The history window asked for.
#[derive(Debug, Clone, Copy)]
enum Window {
    Dates(Date, Date),
    Last(u32),
}

fn remaining_of(items: &[Item]) -> Remaining {
    let mut r =
        Remaining { total_items: 0, done_items: 0, items: 0, points: 0, unestimated: 0, keys: Vec::new() };
    let mut points = 0.0;
    for i in items.iter().filter(|i| in_scope(i.kind)) {
        r.total_items += 1;
        if i.category == Category::Done {
            r.done_items += 1;
            continue;
        }
        r.items += 1;
        r.keys.push(i.key.clone());
        match i.estimate {
            Some(e) => points += e.value(),
            None => r.unestimated += 1,
        }
    }
    r.points = points.ceil() as u64;
    r
}

/// Points done per closed sprint of the team (as recorded when each closed) in the window, the
/// sprint length in days, and the first day of the next sprint to simulate.
fn points_history(
    team: &Stored<Team>,
    sprints: &[Stored<Sprint>],
    window: Window,
    today: Date,
) -> (HistoryUsed, u32, Date) {
    let closed: Vec<&Stored<Sprint>> = sprints.iter().filter(|s| s.data.summary.is_some()).collect();
    let chosen: Vec<&Stored<Sprint>> = match window {
        Window::Last(n) => closed[closed.len().saturating_sub(n as usize)..].to_vec(),
        Window::Dates(f, t) => closed.into_iter().filter(|s| s.data.end >= f && s.data.end <= t).collect(),
    };
    let sample: Vec<u32> = chosen
        .iter()
        .map(|s| s.data.summary.as_ref().map_or(0.0, |x| x.completed).max(0.0).round() as u32)
        .collect();
    let (from, to) = match window {
        Window::Dates(f, t) => (f, t),
        Window::Last(_) => {
            (chosen.first().map_or(today, |s| s.data.start), chosen.last().map_or(today, |s| s.data.end))
        }
    };
    // Sprint length: the latest sprint's; the future starts after the latest sprint still running.
    let len = sprints.last().map_or(14, |s| (s.data.end.0 - s.data.start.0 + 1).max(1) as u32);
    let next = sprints
        .iter()
        .filter(|s| s.data.summary.is_none() && s.data.end >= today)
        .map(|s| s.data.end.plus_days(1))
        .max()
        .unwrap_or(today);
    let next = if next < today { today } else { next };
    let done = sample.iter().map(|&v| u64::from(v)).sum();
    let history = HistoryUsed {
        from,
        to,
        sample,
        sprints: chosen.iter().map(|s| s.data.name.clone()).collect(),
        team: Some((team.id, team.data.name.clone())),
        done,
    };
    (history, len, next)
}

/// `YYYY-MM-DD`.
pub fn fmt_date(d: Date) -> String {
    let (y, m, day) = d.ymd();
    format!("{y:04}-{m:02}-{day:02}")
}
