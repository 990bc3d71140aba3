//! JSON API: Monte-Carlo forecasts of a release, an epic or any items.

use crate::error::ApiResult;
use crate::extract::{ApiUser, Json as JsonIn, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use keel_api::forecast::{BarOut, ForecastIn, ForecastOut, HistoryOut, LevelOut, RemainingOut};
use keel_api::Problem;
use keel_app::forecast::{Answer, Forecast, ForecastInput, Question};
use serde::Deserialize;
use utoipa::OpenApi;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/forecasts", post(create_forecast))
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(create_forecast),
    tags((name = "forecasts", description = "Monte-Carlo forecasts: when will it be done, how much by a date"))
)]
pub struct Doc;

/// `?format=csv`.
#[derive(Debug, Deserialize)]
pub struct FormatQuery {
    /// `json` (default) or `csv` (the distribution).
    pub format: Option<String>,
}

/// The request as the application takes it.
pub fn input_of(b: &ForecastIn) -> ForecastInput {
    let w = b.window.clone().unwrap_or_default();
    ForecastInput {
        team: b.team,
        release: b.selection.release,
        epic: b.selection.epic.clone(),
        items: b.selection.items.clone(),
        mode: b.mode.clone(),
        window_from: w.from,
        window_to: w.to,
        window_last: w.last,
        question: b.question.clone(),
        date: b.date.clone(),
        trials: b.trials,
        seed: b.seed,
    }
}

/// The answer on the wire.
pub fn forecast_out(f: &Forecast) -> ForecastOut {
    let (status, message, have, need, answers, distribution, beyond) = match &f.answer {
        Answer::NotEnoughHistory(t) => {
            ("not_enough_history", Some(t.message()), Some(t.have), Some(t.need), vec![], vec![], 0)
        }
        Answer::Forecast { levels, bars, beyond } => (
            "forecast",
            None,
            None,
            None,
            levels
                .iter()
                .map(|l| LevelOut {
                    confidence: l.level,
                    date: l.date.map(|d| d.to_string()),
                    periods: l.periods,
                    amount: l.amount,
                })
                .collect(),
            bars.iter()
                .map(|b| BarOut {
                    from: b.bucket.from,
                    to: b.bucket.to,
                    from_date: b.dates.map(|d| d.0.to_string()),
                    to_date: b.dates.map(|d| d.1.to_string()),
                    trials: b.bucket.trials,
                })
                .collect(),
            *beyond,
        ),
    };
    ForecastOut {
        mode: f.mode.as_str().into(),
        question: match f.question {
            Question::When => "when".into(),
            Question::HowMuch(_) => "how_much".into(),
        },
        status: status.into(),
        message,
        have,
        need,
        start: f.start.to_string(),
        period_days: f.period_days,
        remaining: RemainingOut {
            total_items: f.remaining.total_items,
            done_items: f.remaining.done_items,
            items: f.remaining.items,
            points: f.remaining.points,
            unestimated: f.remaining.unestimated,
        },
        history: HistoryOut {
            period: f.mode.period().into(),
            from: f.history.from.to_string(),
            to: f.history.to.to_string(),
            periods: f.history.sample.len() as u32,
            sample: f.history.sample.clone(),
            sprints: f.history.sprints.clone(),
            team: f.history.team.as_ref().map(|t| t.0 .0),
            done: f.history.done,
        },
        trials: f.trials,
        seed: f.seed,
        method: f.method.clone(),
        answers,
        distribution,
        beyond_horizon: beyond,
    }
}

/// The distribution as CSV: one line per bar.
pub fn forecast_csv(o: &ForecastOut) -> String {
    let mut s = String::from("from,to,from_date,to_date,trials\n");
    for b in &o.distribution {
        s.push_str(&format!(
            "{},{},{},{},{}\n",
            b.from,
            b.to,
            b.from_date.as_deref().unwrap_or(""),
            b.to_date.as_deref().unwrap_or(""),
            b.trials
        ));
    }
    s
}

/// Forecasts when a selection will be done, or how much will be done by a date, by running
/// trials over the team's history; anyone who can read the product may ask. With too little
/// history the answer says so (`status: not_enough_history`) instead of forecasting.
/// `?format=csv` gives the distribution.
#[utoipa::path(post, path = "/api/v1/forecasts", tag = "forecasts", request_body = ForecastIn,
    params(("format" = Option<String>, Query, description = "`csv` for the distribution")),
    responses((status = 200, body = ForecastOut), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_forecast(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<FormatQuery>,
    JsonIn(b): JsonIn<ForecastIn>,
) -> ApiResult<Response> {
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(keel_app::AppError::invalid("format", "must be json or csv").into()),
    };
    let a = s.app.access(&u.user, &b.product).await?;
    let today = keel_domain::Date::of(keel_app::now());
    let f = s.app.forecast(&a, &input_of(&b), today).await?;
    let out = forecast_out(&f);
    if csv {
        let mut r = forecast_csv(&out).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
        return Ok(r);
    }
    Ok(Json(out).into_response())
}
