//! The Forecast page of a product (pick a release, an epic or items, a mode, a window and a
//! question; see the answers and the distribution as a chart) and the small forecast panel of a
//! release's page. Read-only: a plain GET form, no JavaScript.

use super::chart::{Chart, Series};
use super::{finish, message, render, Layout};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use keel_app::forecast::{Answer, Forecast, ForecastInput, Question};
use keel_app::{AppError, ProductAccess};
use keel_domain::forecast::Mode;
use keel_domain::item::ItemKind;
use keel_domain::Date;
use keel_store::ItemFilter;
use serde::Deserialize;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/products/{key}/forecast", get(forecast_page))
}

/// The form, as submitted (everything optional: a first visit shows the form alone).
#[derive(Debug, Default, Deserialize)]
pub struct FormQuery {
    team: Option<String>,
    release: Option<String>,
    epic: Option<String>,
    items: Option<String>,
    mode: Option<String>,
    last: Option<String>,
    from: Option<String>,
    to: Option<String>,
    question: Option<String>,
    date: Option<String>,
    seed: Option<String>,
}

/// One confidence level, ready to show.
pub struct AnswerRow {
    pub level: u32,
    pub text: String,
    pub detail: String,
}

/// A forecast, ready to show.
pub struct View {
    pub heading: String,
    pub thin: String,
    pub answers: Vec<AnswerRow>,
    pub chart: String,
    pub remaining: String,
    pub history: String,
    pub method: String,
}

#[derive(Template)]
#[template(path = "forecast_page.html")]
struct ForecastPage {
    l: Layout,
    key: String,
    releases: Vec<(i64, String)>,
    epics: Vec<(String, String)>,
    teams: Vec<(i64, String)>,
    q: FormView,
    error: String,
    view: Option<View>,
}

/// The form's values, echoed back.
#[derive(Default)]
struct FormView {
    team: String,
    release: String,
    epic: String,
    items: String,
    mode: String,
    last: String,
    from: String,
    to: String,
    question: String,
    date: String,
    seed: String,
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn input_of(q: &FormQuery) -> Result<Option<ForecastInput>, AppError> {
    let (release, epic, items) = (nonempty(&q.release), nonempty(&q.epic), nonempty(&q.items));
    if release.is_none() && epic.is_none() && items.is_none() {
        return Ok(None);
    }
    let release = match release {
        Some(r) => {
            Some(r.parse::<i64>().map_err(|_| AppError::invalid("selection.release", "no such release"))?)
        }
        None => None,
    };
    let num = |field: &str, v: &Option<String>| -> Result<Option<i64>, AppError> {
        nonempty(v)
            .map(|s| s.parse::<i64>().map_err(|_| AppError::invalid(field, "must be a whole number")))
            .transpose()
    };
    let question = nonempty(&q.question).unwrap_or_else(|| "when".into());
    Ok(Some(ForecastInput {
        team: num("team", &q.team)?,
        release,
        // One selection at a time: the release wins, then the epic, then the items.
        epic: if release.is_none() { epic } else { None },
        items: if release.is_none() && nonempty(&q.epic).is_none() {
            items.map(|s| s.split([',', ' ', '\n']).filter(|k| !k.is_empty()).map(str::to_string).collect())
        } else {
            None
        },
        mode: nonempty(&q.mode).unwrap_or_else(|| "throughput".into()),
        window_from: nonempty(&q.from),
        window_to: nonempty(&q.to),
        window_last: num("window.last", &q.last)?,
        date: if question == "how_much" { nonempty(&q.date) } else { None },
        question,
        trials: None,
        seed: num("seed", &q.seed)?.map(|s| s as u64),
    }))
}

fn pct(n: u32, of: u32) -> String {
    format!("{:.1} %", 100.0 * f64::from(n) / f64::from(of.max(1)))
}

/// A forecast as shown on the pages; `id` keeps chart ids unique on a page.
pub fn view_of(f: &Forecast, what: &str, id: &str) -> View {
    let unit = match f.mode {
        Mode::Throughput => "items",
        Mode::Points => "points",
    };
    let period = f.mode.period();
    let heading = match f.question {
        Question::When => format!("When will {what} be done?"),
        Question::HowMuch(d) => format!("How much of {what} by {d}?"),
    };
    let r = &f.remaining;
    let remaining = match f.mode {
        Mode::Throughput => format!("{} open items ({} of {} done)", r.items, r.done_items, r.total_items),
        Mode::Points => {
            let un = if r.unestimated > 0 {
                format!("; {} open items have no estimate", r.unestimated)
            } else {
                String::new()
            };
            format!("{} points in {} open items{un}", r.points, r.items)
        }
    };
    let h = &f.history;
    let team = h.team.as_ref().map(|t| format!(" of team {}", t.1)).unwrap_or_default();
    let history =
        format!("{} {period}s{team} from {} to {}: {} {unit} done", h.sample.len(), h.from, h.to, h.done);
    let mut v = View {
        heading,
        thin: String::new(),
        answers: Vec::new(),
        chart: String::new(),
        remaining,
        history,
        method: format!("{} trials, seed {}; {}", f.trials, f.seed, f.method),
    };
    match &f.answer {
        Answer::NotEnoughHistory(t) => v.thin = t.message(),
        Answer::Forecast { levels, bars, beyond } => {
            for l in levels {
                let (text, detail) = match f.question {
                    Question::When => match (l.date, l.periods) {
                        (Some(d), Some(0)) => (d.to_string(), "already done".to_string()),
                        (Some(d), Some(p)) => (d.to_string(), format!("within {p} {period}s")),
                        _ => {
                            ("beyond the horizon".into(), format!("more than {} {period}s", f.mode.horizon()))
                        }
                    },
                    Question::HowMuch(_) => (
                        format!("at least {} {unit}", l.amount.unwrap_or(0)),
                        format!("in {} {period}s", l.periods.unwrap_or(0)),
                    ),
                };
                v.answers.push(AnswerRow { level: l.level, text, detail });
            }
            let trials = f.trials;
            let labels: Vec<String> = bars
                .iter()
                .map(|b| match b.dates {
                    Some((a, z)) if a == z => a.to_string(),
                    Some((a, z)) => format!("{a} – {z}"),
                    None if b.bucket.from == b.bucket.to => b.bucket.from.to_string(),
                    None => format!("{}–{}", b.bucket.from, b.bucket.to),
                })
                .collect();
            let (title, x) = match f.question {
                Question::When => {
                    (format!("Finish dates over {trials} trials"), "Finished by (last day)".to_string())
                }
                Question::HowMuch(_) => {
                    (format!("{} done over {trials} trials", cap(unit)), format!("{} done", cap(unit)))
                }
            };
            let desc = format!(
                "Share of trials per range. 50 %: {}; 85 %: {}; 95 %: {}.{}",
                v.answers.first().map_or("", |a| a.text.as_str()),
                v.answers.get(1).map_or("", |a| a.text.as_str()),
                v.answers.get(2).map_or("", |a| a.text.as_str()),
                if *beyond > 0 {
                    format!(" {} of trials beyond the horizon.", pct(*beyond, trials))
                } else {
                    String::new()
                }
            );
            let shares = bars.iter().map(|b| 100.0 * f64::from(b.bucket.trials) / f64::from(trials.max(1)));
            v.chart = Chart::grouped_bars(id, title)
                .desc(desc)
                .x_label(x)
                .y_label("Share of trials (%)")
                .categories(labels)
                .series(Series::new("Trials (%)", shares))
                .to_string();
        }
    }
    v
}

fn cap(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

async fn choices(
    st: &AppState,
    a: &ProductAccess,
) -> Result<(Vec<(i64, String)>, Vec<(String, String)>), AppError> {
    let releases = st.app.releases(a).await?.into_iter().map(|r| (r.id.0, r.data.name)).collect();
    let f = ItemFilter { kind: Some(ItemKind::Epic), open_only: true, ..Default::default() };
    let epics =
        st.app.list_items(a, &f, None, 200).await?.items.into_iter().map(|i| (i.key, i.title)).collect();
    Ok((releases, epics))
}

/// GET /products/{key}/forecast
async fn forecast_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(q): Query<FormQuery>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let (releases, epics) = choices(&st, &a).await?;
        let mut teams: Vec<(i64, String)> =
            st.app.teams(&a).await?.into_iter().map(|t| (t.id.0, t.data.name)).collect();
        teams.sort_by_key(|t| t.1.to_lowercase());
        let today = Date::of(keel_app::now());
        let mut error = String::new();
        let mut view = None;
        match input_of(&q) {
            Err(e) => error = message(&e),
            Ok(None) => {}
            Ok(Some(input)) => {
                let what = if let Some(id) = input.release {
                    releases
                        .iter()
                        .find(|r| r.0 == id)
                        .map_or("the selection".to_string(), |r| format!("release {}", r.1))
                } else if let Some(e) = &input.epic {
                    format!("epic {e}")
                } else {
                    "these items".to_string()
                };
                match st.app.forecast(&a, &input, today).await {
                    Ok(f) => view = Some(view_of(&f, &what, "forecast")),
                    Err(e @ AppError::Invalid(_)) => error = message(&e),
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let l = Layout::new(&st, &s, "Forecast", "forecast", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone());
        let get = |v: &Option<String>| v.clone().unwrap_or_default();
        render(&ForecastPage {
            l,
            key: a.product.key.to_string(),
            releases,
            epics,
            teams,
            q: FormView {
                team: get(&q.team),
                release: get(&q.release),
                epic: get(&q.epic),
                items: get(&q.items),
                mode: q.mode.clone().unwrap_or_else(|| "throughput".into()),
                last: get(&q.last),
                from: get(&q.from),
                to: get(&q.to),
                question: q.question.clone().unwrap_or_else(|| "when".into()),
                date: get(&q.date),
                seed: get(&q.seed),
            },
            error,
            view,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// The release page's panel: when will it be done, from the product's throughput with the
/// default window. `None` when the release has nothing open.
pub async fn release_panel(
    st: &AppState,
    a: &ProductAccess,
    id: i64,
    name: &str,
) -> Result<Option<View>, AppError> {
    let input = ForecastInput {
        release: Some(id),
        mode: "throughput".into(),
        question: "when".into(),
        ..Default::default()
    };
    let f = st.app.forecast(a, &input, Date::of(keel_app::now())).await?;
    if f.remaining.items == 0 {
        return Ok(None);
    }
    Ok(Some(view_of(&f, name, "release-forecast")))
}
