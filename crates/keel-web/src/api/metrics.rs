//! JSON API: delivery metrics (velocity, burndown and burnup, release burnup, cumulative flow,
//! cycle time, throughput, bug trend, work in progress), each also as CSV with `?format=csv`.

use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::extract::{ApiUser, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use keel_api::metrics::{
    counts, BugDayOut, BugTrendOut, CumulativeFlowOut, CycleTimeOut, FlowItemOut, ReleaseBurnupOut,
    SprintBugsOut, SprintBurnOut, ThroughputOut, VelocityOut, WipOut,
};
use keel_api::Problem;
use keel_app::metrics::{Period, PERIOD_DEFAULT_DAYS, VELOCITY_SPRINTS, WIP_PAGE, WIP_PAGE_MAX};
use keel_domain::metrics::Tz;
use keel_domain::time::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/teams/{id}/velocity", get(velocity))
        .route("/api/v1/sprints/{id}/burndown", get(burndown))
        .route("/api/v1/sprints/{id}/burnup", get(burnup))
        .route("/api/v1/releases/{id}/burnup", get(release_burnup))
        .route("/api/v1/products/{product}/cumulative-flow", get(cumulative_flow))
        .route("/api/v1/products/{product}/cycle-time", get(cycle_time))
        .route("/api/v1/products/{product}/throughput", get(throughput))
        .route("/api/v1/products/{product}/bug-trend", get(bug_trend))
        .route("/api/v1/products/{product}/work-in-progress", get(work_in_progress))
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(velocity, burndown, burnup, release_burnup, cumulative_flow, cycle_time, throughput, bug_trend, work_in_progress),
    tags((name = "metrics", description = "Delivery metrics computed from the history, as JSON or CSV"))
)]
pub struct Doc;

/// What every report accepts.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct MetricsQuery {
    /// First date, `YYYY-MM-DD` (default: 90 days before `to`).
    pub from: Option<String>,
    /// Last date, `YYYY-MM-DD` (default: today).
    pub to: Option<String>,
    /// UTC offset days are counted in, e.g. `+02:00` (default UTC).
    pub tz: Option<String>,
    /// Only items that were in a sprint of this team (product reports).
    pub team: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
    /// How many closed sprints the velocity covers (1 to 50, default 10).
    pub last: Option<String>,
    /// Work in progress: how many items to list, oldest first (1 to 1000, default 50).
    pub limit: Option<String>,
    /// Work in progress: how many of the oldest items to skip before the list (default 0).
    pub offset: Option<String>,
}

/// The query, parsed and checked.
#[derive(Debug, Clone, Copy)]
pub struct Parsed {
    /// First date given.
    pub from: Option<Date>,
    /// Last date given.
    pub to: Option<Date>,
    /// The offset.
    pub tz: Tz,
    /// The team filter.
    pub team: Option<i64>,
    /// Whether CSV was asked for.
    pub csv: bool,
    /// Sprints for the velocity.
    pub last: usize,
}

impl MetricsQuery {
    /// The page of work in progress asked for: (limit, offset).
    pub fn page(&self) -> ApiResult<(usize, usize)> {
        let num =
            |field: &str, v: &Option<String>, default: usize, lo: usize, hi: usize| -> ApiResult<usize> {
                match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                    None => Ok(default),
                    Some(s) => s.parse::<usize>().ok().filter(|n| (lo..=hi).contains(n)).ok_or_else(|| {
                        ApiError::invalid(field, format!("must be a whole number from {lo} to {hi}"))
                    }),
                }
            };
        Ok((
            num("limit", &self.limit, WIP_PAGE, 1, WIP_PAGE_MAX)?,
            num("offset", &self.offset, 0, 0, usize::MAX)?,
        ))
    }

    /// Parses every parameter, naming the first bad one.
    pub fn parse(&self) -> ApiResult<Parsed> {
        let date = |field: &str, v: &Option<String>| -> ApiResult<Option<Date>> {
            match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => Date::parse(field, s).map(Some).map_err(|e| ApiError::invalid(field, e.message)),
            }
        };
        let from = date("from", &self.from)?;
        let to = date("to", &self.to)?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(ApiError::invalid("from", "must not be after to"));
            }
        }
        let tz = Tz::parse("tz", self.tz.as_deref().unwrap_or(""))
            .map_err(|e| ApiError::invalid("tz", e.message))?;
        let team = match self.team.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(s.parse::<i64>().map_err(|_| ApiError::invalid("team", "must be a team id"))?),
        };
        let csv = match self.format.as_deref().unwrap_or("json") {
            "json" | "" => false,
            "csv" => true,
            _ => return Err(ApiError::invalid("format", "must be json or csv")),
        };
        let last = match self.last.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => VELOCITY_SPRINTS,
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (1..=50).contains(&n) => n,
                _ => return Err(ApiError::invalid("last", "must be a number from 1 to 50")),
            },
        };
        Ok(Parsed { from, to, tz, team, csv, last })
    }
}

impl Parsed {
    /// The period asked for, checked.
    pub fn period(&self) -> ApiResult<Period> {
        Ok(Period::resolve(self.from, self.to, self.tz, PERIOD_DEFAULT_DAYS)?)
    }
}

/// Answers with the body as JSON, or as CSV (`text/csv`, a download named `name.csv`).
fn answer<T: Serialize>(csv: bool, name: &str, body: T, to_csv: impl FnOnce(&T) -> String) -> Response {
    if csv {
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")),
            ],
            to_csv(&body),
        )
            .into_response()
    } else {
        Json(body).into_response()
    }
}

/// A team's velocity: per closed sprint, committed points at the start, completed points,
/// scope added and removed after the start, completion rate and carried-over items; the average
/// and spread of the last `last` sprints (ending within `from`..`to` when given).
#[utoipa::path(get, path = "/api/v1/teams/{id}/velocity", tag = "metrics",
    params(("id" = i64, Path, description = "Team id"), MetricsQuery),
    responses((status = 200, body = VelocityOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn velocity(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    Query(q): Query<MetricsQuery>,
) -> ApiResult<Response> {
    let p = q.parse()?;
    let r = s.app.velocity_report(&u.user, id, p.from, p.to, p.last, p.tz).await?;
    let out = VelocityOut::new(r.team.id.0, &r.team.data.name, &r.sprints, &r.summary);
    Ok(answer(p.csv, "velocity", out, VelocityOut::csv))
}

async fn burn(s: &AppState, u: &ApiUser, id: i64, q: &MetricsQuery, name: &str) -> ApiResult<Response> {
    let p = q.parse()?;
    let r = s.app.sprint_burn(&u.user, id, p.tz).await?;
    let out = SprintBurnOut::new(&r.sprint, &r.result, &r.days, p.tz.to_string());
    Ok(answer(p.csv, name, out, SprintBurnOut::csv))
}

/// A sprint's burndown: remaining points at the end of each day against the ideal line, with
/// the points added and removed each day.
#[utoipa::path(get, path = "/api/v1/sprints/{id}/burndown", tag = "metrics",
    params(("id" = i64, Path, description = "Sprint id"), MetricsQuery),
    responses((status = 200, body = SprintBurnOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn burndown(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    Query(q): Query<MetricsQuery>,
) -> ApiResult<Response> {
    burn(&s, &u, id, &q, "burndown").await
}

/// A sprint's burnup: done points and scope at the end of each day (the same days as the
/// burndown).
#[utoipa::path(get, path = "/api/v1/sprints/{id}/burnup", tag = "metrics",
    params(("id" = i64, Path, description = "Sprint id"), MetricsQuery),
    responses((status = 200, body = SprintBurnOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn burnup(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    Query(q): Query<MetricsQuery>,
) -> ApiResult<Response> {
    burn(&s, &u, id, &q, "burnup").await
}

/// A release's burnup: its scope and done work (points and items) at the end of each day.
#[utoipa::path(get, path = "/api/v1/releases/{id}/burnup", tag = "metrics",
    params(("id" = i64, Path, description = "Release id"), MetricsQuery),
    responses((status = 200, body = ReleaseBurnupOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn release_burnup(
    State(s): State<AppState>,
    u: ApiUser,
    Path(id): Path<i64>,
    Query(q): Query<MetricsQuery>,
) -> ApiResult<Response> {
    let p = q.parse()?;
    let (r, period, days) = s.app.release_burnup(&u.user, id, p.from, p.to, p.tz).await?;
    let out = ReleaseBurnupOut::new(r.id.0, &r.data.name, period.from, period.to, p.tz.to_string(), &days);
    Ok(answer(p.csv, "release-burnup", out, ReleaseBurnupOut::csv))
}

/// Items in each workflow state at the end of each day.
#[utoipa::path(get, path = "/api/v1/products/{product}/cumulative-flow", tag = "metrics",
    params(("product" = String, Path, description = "Product key"), MetricsQuery),
    responses((status = 200, body = CumulativeFlowOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn cumulative_flow(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    Query(q): Query<MetricsQuery>,
) -> ApiResult<Response> {
    let p = q.parse()?;
    let a = s.app.access(&u.user, &key).await?;
    let period = p.period()?;
    let (wf, days) = s.app.cumulative_flow(&a, p.team, period).await?;
    let out = CumulativeFlowOut::new(period.from, period.to, p.tz.to_string(), &wf, &days);
    Ok(answer(p.csv, "cumulative-flow", out, CumulativeFlowOut::csv))
}

/// Cycle time (first start → done) and lead time (created → done) of the items finished in
/// the period, with their 50/85/95th percentiles and each item.
#[utoipa::path(get, path = "/api/v1/products/{product}/cycle-time", tag = "metrics",
    params(("product" = String, Path, description = "Product key"), MetricsQuery),
    responses((status = 200, body = CycleTimeOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn cycle_time(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    Query(q): Query<MetricsQuery>,
) -> ApiResult<Response> {
    let p = q.parse()?;
    let a = s.app.access(&u.user, &key).await?;
    let r = s.app.cycle_time(&a, p.team, p.period()?).await?;
    let out = CycleTimeOut {
        from: r.period.from,
        to: r.period.to,
        tz: p.tz.to_string(),
        count: r.items.len(),
        cycle: r.cycle.into(),
        lead: r.lead.into(),
        items: r.items.iter().map(|f| FlowItemOut::new(f, p.tz.date_of(f.done_at))).collect(),
    };
    Ok(answer(p.csv, "cycle-time", out, CycleTimeOut::csv))
}

/// Items finished per day and per week.
#[utoipa::path(get, path = "/api/v1/products/{product}/throughput", tag = "metrics",
    params(("product" = String, Path, description = "Product key"), MetricsQuery),
    responses((status = 200, body = ThroughputOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn throughput(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    Query(q): Query<MetricsQuery>,
) -> ApiResult<Response> {
    let p = q.parse()?;
    let a = s.app.access(&u.user, &key).await?;
    let period = p.period()?;
    let (daily, weekly, items) = s.app.throughput(&a, p.team, period).await?;
    let out = ThroughputOut {
        from: period.from,
        to: period.to,
        tz: p.tz.to_string(),
        total: items.len(),
        daily: counts(&daily),
        weekly: counts(&weekly),
        items: items.iter().map(|f| FlowItemOut::new(f, p.tz.date_of(f.done_at))).collect(),
    };
    Ok(answer(p.csv, "throughput", out, ThroughputOut::csv))
}

/// Bugs opened, closed, reopened and open per day, and the bugs of each sprint that ended in
/// the period.
#[utoipa::path(get, path = "/api/v1/products/{product}/bug-trend", tag = "metrics",
    params(("product" = String, Path, description = "Product key"), MetricsQuery),
    responses((status = 200, body = BugTrendOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn bug_trend(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    Query(q): Query<MetricsQuery>,
) -> ApiResult<Response> {
    let p = q.parse()?;
    let a = s.app.access(&u.user, &key).await?;
    let period = p.period()?;
    let (days, sprints) = s.app.bug_trend(&a, p.team, period).await?;
    let out = BugTrendOut {
        from: period.from,
        to: period.to,
        tz: p.tz.to_string(),
        days: days.iter().map(BugDayOut::from).collect(),
        sprints: sprints
            .into_iter()
            .map(|b| SprintBugsOut { sprint: b.name, end: b.end, count: b.bugs.len(), bugs: b.bugs })
            .collect(),
    };
    Ok(answer(p.csv, "bug-trend", out, BugTrendOut::csv))
}

/// Items in progress now: how many per state and per age range, how many are older than the
/// 85th percentile cycle time of the last 90 days, and a page of the items, oldest first
/// (`limit`, `offset`), each with its age and that flag.
#[utoipa::path(get, path = "/api/v1/products/{product}/work-in-progress", tag = "metrics",
    params(("product" = String, Path, description = "Product key"), MetricsQuery),
    responses((status = 200, body = WipOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn work_in_progress(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    Query(q): Query<MetricsQuery>,
) -> ApiResult<Response> {
    let p = q.parse()?;
    let a = s.app.access(&u.user, &key).await?;
    let (limit, offset) = q.page()?;
    let r = s.app.work_in_progress(&a, p.team, p.tz, limit, offset).await?;
    let out = WipOut::new(&r.summary, &r.items, r.limit, r.offset, r.limit_days, &r.workflow);
    Ok(answer(p.csv, "work-in-progress", out, WipOut::csv))
}
