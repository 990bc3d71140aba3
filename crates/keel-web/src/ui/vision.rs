//! Pages: the vision board (edit form and kept versions), comparing two versions, the printable
//! vision card, and the product's home page.

use super::form::FormData;
use super::{
    finish, message, proposed_notice, redirect_with, render, render_status, Flash, Layout, UiResult,
};
use crate::extract::UiSession;
use crate::markdown;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use keel_app::records::Stored;
use keel_app::{AppError, Outcome};
use keel_domain::kpi::{Direction, Kpi, KpiKind, Measurement, Unit};
use keel_domain::rights::{Action, Decision};
use keel_domain::vision::{card_markdown, changed_fields, VisionFields, VisionVersion, FIELDS};
use serde::Deserialize;
use std::collections::HashMap;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/products/{key}/vision", get(board).post(save))
        .route("/products/{key}/vision/compare", get(compare))
        .route("/products/{key}/vision/card", get(card))
        .route("/products/{key}/kpis", get(kpi_list).post(kpi_create))
        .route("/kpis/{id}", get(kpi_page))
        .route("/kpis/{id}/measurements", axum::routing::post(kpi_measure))
        .route("/kpis/{id}/import", axum::routing::post(kpi_import))
        .route("/kpis/{id}/delete", axum::routing::post(kpi_delete))
        .route("/kpis/{id}/edit", axum::routing::post(kpi_edit))
        .route("/products/{key}/goals", get(goals_page).post(goal_create))
        .route("/goals/{id}/key-results", axum::routing::post(kr_create))
        .route("/goals/{id}/key-results/{kr}/delete", axum::routing::post(kr_delete))
        .route("/goals/{id}/key-results/{kr}/edit", axum::routing::post(kr_edit))
        .route("/goals/{id}/edit", axum::routing::post(goal_edit))
        .route("/goals/{id}/delete", axum::routing::post(goal_delete))
}

/// One field of a version, for display.
struct FieldView {
    name: &'static str,
    label: &'static str,
    raw: String,
    html: String,
}

fn field_views(f: &VisionFields) -> Vec<FieldView> {
    FIELDS
        .iter()
        .map(|(name, label)| FieldView {
            name,
            label,
            raw: f.get(name).to_string(),
            html: markdown::render(f.get(name)),
        })
        .collect()
}

/// A version in the history list.
struct VersionRow {
    number: i64,
    saved_by: String,
    saved_at: String,
    statement: String,
}

#[derive(Template)]
#[template(path = "vision_board.html")]
struct BoardPage {
    l: Layout,
    key: String,
    version: i64,
    fields: Vec<FieldView>,
    saved: bool,
    can_edit: bool,
    proposes: bool,
    history: Vec<VersionRow>,
}

async fn user_name(st: &AppState, v: &VisionVersion) -> String {
    match v.saved_by {
        Some(id) => st.app.user(None, id).await.map(|u| u.name).unwrap_or_else(|_| "someone".into()),
        None => "Keel".into(),
    }
}

/// GET /products/{key}/vision
async fn board(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let v = st.app.vision(&a).await?;
        let mut history = Vec::new();
        for x in v.versions.iter().rev() {
            history.push(VersionRow {
                number: x.number,
                saved_by: user_name(&st, x).await,
                saved_at: super::view::date_time(x.saved_at),
                statement: x.fields.statement.clone(),
            });
        }
        let cur = v.current().map(|c| c.fields.clone()).unwrap_or_default();
        let decision = st.app.decide(&a, Action::EditVision);
        let l = Layout::new(&st, &s, "Vision", "vision", Some(&a.product))
            .await
            .crumb(format!("/products/{}", a.product.key), a.product.name.clone())
            .flash(&f);
        render(&BoardPage {
            l,
            key: a.product.key.to_string(),
            version: v.number(),
            fields: field_views(&cur),
            saved: v.current().is_some(),
            can_edit: decision != Decision::Deny,
            proposes: decision == Decision::Propose,
            history,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products/{key}/vision: the five fields, `version` (read) and `reason`.
async fn save(State(st): State<AppState>, s: UiSession, Path(key): Path<String>, form: FormData) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/vision", a.product.key);
        let fields = VisionFields {
            statement: form.get("statement").to_string(),
            target_group: form.get("target_group").to_string(),
            needs: form.get("needs").to_string(),
            product: form.get("product").to_string(),
            business_goals: form.get("business_goals").to_string(),
        };
        let version = form.version()?;
        let reason = form.opt("reason").filter(|r| !r.trim().is_empty());
        match st.app.save_vision(&a, fields, version, reason).await {
            Ok(Outcome::Done(v)) => {
                Ok(redirect_with(&back, "notice", &format!("Saved as version {}.", v.number())))
            }
            Ok(Outcome::Proposed(p)) => Ok(redirect_with(&back, "notice", &proposed_notice(&st, &p))),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(AppError::StaleVersion { .. }) => Ok(redirect_with(
                &back,
                "error",
                "Someone saved the vision meanwhile; here it is now. Your text was not saved.",
            )),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// One row of the comparison.
struct CompareRow {
    label: &'static str,
    a: String,
    b: String,
    changed: bool,
}

#[derive(Template)]
#[template(path = "vision_compare.html")]
struct ComparePage {
    l: Layout,
    key: String,
    numbers: Vec<i64>,
    a: i64,
    b: i64,
    a_meta: String,
    b_meta: String,
    rows: Vec<CompareRow>,
    changed: usize,
}

/// Which versions to compare.
#[derive(Debug, Deserialize)]
struct CompareQuery {
    #[serde(default)]
    a: Option<String>,
    #[serde(default)]
    b: Option<String>,
}

/// GET /products/{key}/vision/compare?a=N&b=M
async fn compare(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(q): Query<CompareQuery>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let v = st.app.vision(&a).await?;
        let back = format!("/products/{}/vision", a.product.key);
        if v.versions.len() < 2 {
            return Ok(redirect_with(
                &back,
                "error",
                "There is nothing to compare until the vision has two versions.",
            ));
        }
        let n = v.number();
        let pick = |s: Option<&String>, d: i64| s.and_then(|x| x.parse::<i64>().ok()).unwrap_or(d);
        let na = pick(q.a.as_ref(), n - 1);
        let nb = pick(q.b.as_ref(), n);
        let (Some(va), Some(vb)) = (v.version(na), v.version(nb)) else {
            return Ok(redirect_with(&back, "error", "Choose two versions that exist."));
        };
        let changed = changed_fields(&va.fields, &vb.fields);
        let rows = FIELDS
            .iter()
            .map(|(name, label)| CompareRow {
                label,
                a: markdown::render(va.fields.get(name)),
                b: markdown::render(vb.fields.get(name)),
                changed: changed.contains(name),
            })
            .collect();
        let meta = |x: &VisionVersion, who: String| format!("{who}, {}", super::view::date_time(x.saved_at));
        let a_meta = meta(va, user_name(&st, va).await);
        let b_meta = meta(vb, user_name(&st, vb).await);
        let l = Layout::new(&st, &s, "Compare vision versions", "vision", Some(&a.product))
            .await
            .crumb(format!("/products/{}", a.product.key), a.product.name.clone())
            .crumb(back, "Vision");
        render(&ComparePage {
            l,
            key: a.product.key.to_string(),
            numbers: v.versions.iter().rev().map(|x| x.number).collect(),
            a: na,
            b: nb,
            a_meta,
            b_meta,
            rows,
            changed: changed.len(),
        })
    }
    .await;
    finish(&st, &s, r).await
}

#[derive(Template)]
#[template(path = "vision_card.html")]
struct CardPage {
    css: &'static str,
    key: String,
    name: String,
    html: String,
    saved_at: String,
}

/// GET /products/{key}/vision/card: the one-page card, styled for printing.
async fn card(State(st): State<AppState>, s: UiSession, Path(key): Path<String>) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let v = st.app.vision(&a).await?;
        let Some(cur) = v.current() else {
            return Ok(redirect_with(
                &format!("/products/{}/vision", a.product.key),
                "error",
                "Write the vision first; the card is made from it.",
            ));
        };
        let md = card_markdown(&a.product.name, cur);
        let l = Layout::new(&st, &s, "Vision card", "vision", Some(&a.product)).await;
        render(&CardPage {
            css: l.css,
            key: a.product.key.to_string(),
            name: a.product.name.clone(),
            html: markdown::render(&md),

            saved_at: super::view::date(cur.saved_at),
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// A goal on the product's home page.
struct GoalRow {
    title: String,
    due: String,
    key_results: usize,
    progress: Option<i64>,
}

#[derive(Template)]
#[template(path = "vision_home.html")]
struct HomePage {
    l: Layout,
    key: String,
    name: String,
    description: String,
    statement_html: String,
    version: i64,
    goals: Vec<GoalRow>,
}

/// GET /products/{key}: the product's home page with its vision statement and goals.
pub(crate) async fn home(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let v = st.app.vision(&a).await?;
        let goals = st
            .app
            .goals(&a)
            .await?
            .into_iter()
            .map(|g| GoalRow {
                title: g.goal.data.title.clone(),
                due: g.goal.data.due.map(|d| d.to_string()).unwrap_or_default(),
                key_results: g.goal.data.key_results.len(),
                progress: g.progress.map(|p| p.round() as i64),
            })
            .collect();
        let l = Layout::new(&st, &s, a.product.name.clone(), "product", Some(&a.product)).await.flash(&f);
        render(&HomePage {
            l,
            key: a.product.key.to_string(),
            name: a.product.name.clone(),
            description: a.product.description.clone(),
            statement_html: v.current().map(|c| markdown::render(&c.fields.statement)).unwrap_or_default(),
            version: v.number(),
            goals,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// A KPI in lists.
struct KpiRow {
    id: i64,
    name: String,
    kind: &'static str,
    unit: &'static str,
    direction: &'static str,
    baseline: String,
    target: String,
    latest: String,
    due: String,
    progress: Option<i64>,
    spark: String,
}

pub(crate) fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn kpi_row(id: i64, k: &Kpi) -> KpiRow {
    KpiRow {
        id,
        name: k.name.clone(),
        kind: k.kind.as_str(),
        unit: k.unit.as_str(),
        direction: k.direction.as_str(),
        baseline: num(k.baseline),
        target: num(k.target),
        latest: k.latest().map(|m| num(m.value)).unwrap_or_default(),
        due: k.due.map(|d| d.to_string()).unwrap_or_default(),
        progress: k.progress().map(|p| p.round() as i64),
        spark: chart(k, 120.0, 28.0, 2.0).series,
    }
}

/// An SVG chart's parts, in a `0 0 w h` box.
pub(crate) struct Chart {
    pub series: String,
    pub dots: Vec<(String, String, String)>,
    pub target_y: String,
    pub baseline_y: String,
    /// Vertical lines for events on the timeline.
    pub markers: Vec<ChartMarker>,
    /// Labels of the x axis: (x, date).
    pub x_ticks: Vec<(String, String)>,
    /// Labels of the y axis: (y, value).
    pub y_ticks: Vec<(String, String)>,
}

/// An event drawn on a chart's timeline as a labelled vertical line.
pub(crate) struct ChartMarker {
    pub x: String,
    /// Where its label sits, staggered so that close markers stay readable.
    pub label_y: String,
    pub label: String,
    /// A CSS class suffix: `release`, `epic`.
    pub kind: &'static str,
    pub date: String,
}

/// The plotting area inside a chart's box.
#[derive(Clone, Copy)]
pub(crate) struct Frame {
    pub w: f64,
    pub h: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

/// The polyline points of `k`'s series (x by date), and the y of its target and baseline lines.
fn chart(k: &Kpi, w: f64, h: f64, pad: f64) -> Chart {
    chart_in(k, Frame { w, h, left: pad, right: pad, top: pad, bottom: pad }, &[])
}

/// The chart of `k` in `f`, with `marks` (date, label, kind) as vertical lines; the time axis
/// spans the measurements and the marks.
pub(crate) fn chart_in(k: &Kpi, f: Frame, marks: &[(keel_domain::Date, String, &'static str)]) -> Chart {
    let ms = &k.measurements;
    let mut lo = k.baseline.min(k.target);
    let mut hi = k.baseline.max(k.target);
    for m in ms {
        lo = lo.min(m.value);
        hi = hi.max(m.value);
    }
    let span = if hi > lo { hi - lo } else { 1.0 };
    let y = |v: f64| f.h - f.bottom - (v - lo) / span * (f.h - f.top - f.bottom);
    let dates = ms.iter().map(|m| m.date.0).chain(marks.iter().map(|(d, _, _)| d.0));
    let d0 = dates.clone().min().unwrap_or(0);
    let d1 = dates.max().unwrap_or(0);
    let x = |d: i32| {
        if d1 > d0 {
            f.left + f64::from(d - d0) / f64::from(d1 - d0) * (f.w - f.left - f.right)
        } else {
            (f.left + f.w - f.right) / 2.0
        }
    };
    let pts: Vec<(f64, f64)> = ms.iter().map(|m| (x(m.date.0), y(m.value))).collect();
    let mut x_ticks = Vec::new();
    if d1 >= d0 && (!ms.is_empty() || !marks.is_empty()) {
        x_ticks.push((format!("{:.1}", x(d0)), keel_domain::Date(d0).to_string()));
        if d1 > d0 {
            x_ticks.push((format!("{:.1}", x(d1)), keel_domain::Date(d1).to_string()));
        }
    }
    Chart {
        series: pts.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect::<Vec<_>>().join(" "),
        dots: pts
            .iter()
            .zip(ms)
            .map(|((a, b), m)| {
                (format!("{a:.1}"), format!("{b:.1}"), format!("{}: {}", m.date, num(m.value)))
            })
            .collect(),
        target_y: format!("{:.1}", y(k.target)),
        baseline_y: format!("{:.1}", y(k.baseline)),
        markers: marks
            .iter()
            .enumerate()
            .map(|(i, (d, label, kind))| ChartMarker {
                x: format!("{:.1}", x(d.0)),
                label_y: format!("{:.1}", f.top - 4.0 + (i % 3) as f64 * 12.0),
                label: label.clone(),
                kind,
                date: d.to_string(),
            })
            .collect(),
        x_ticks,
        y_ticks: vec![(format!("{:.1}", y(lo)), num(lo)), (format!("{:.1}", y(hi)), num(hi))],
    }
}

/// A form sent back to its page after a refused save: the values as typed and the error shown
/// next to its field (an error on no field of the form is shown above it).
#[derive(Debug, Default)]
pub(crate) struct Sent {
    /// Which form of the page: `kpi-new`, `kpi-edit`, `measure`, `import`, `goal-new`,
    /// `goal-{id}`, `kr-new-{goal}`, `kr-{goal}-{kr}`; empty when nothing was sent back.
    form: String,
    values: HashMap<String, String>,
    field: String,
    message: String,
}

impl Sent {
    /// The form `form` of `fields` as sent, refused with `e`.
    fn new(form: impl Into<String>, data: &FormData, fields: &[&str], e: &AppError) -> Sent {
        let (field, message) = match e {
            AppError::Invalid(v) => {
                // `measurements[0].value` is the form's `value`.
                let f = v.field.rsplit('.').next().unwrap_or(&v.field).to_string();
                let mut m = v.message.clone();
                if let Some(c) = m.get(..1) {
                    m = format!("{}{}", c.to_uppercase(), &m[1..]);
                }
                if fields.contains(&f.as_str()) {
                    (f, m)
                } else {
                    (String::new(), format!("{}: {}", v.field, v.message))
                }
            }
            e => (String::new(), message(e)),
        };
        let values = fields.iter().map(|f| (f.to_string(), data.get(f).to_string())).collect();
        Sent { form: form.into(), values, field, message }
    }

    /// Whether `form` is the one sent back.
    pub(crate) fn is(&self, form: &str) -> bool {
        !self.form.is_empty() && self.form == form
    }

    /// The value of `field` as sent in `form`, or `default` when `form` was not sent.
    pub(crate) fn val<'a>(&'a self, form: &str, field: &str, default: &'a str) -> &'a str {
        if self.is(form) {
            self.values.get(field).map_or("", |v| v.as_str())
        } else {
            default
        }
    }

    /// The error on `field` of `form`.
    pub(crate) fn err(&self, form: &str, field: &str) -> Option<&str> {
        (self.is(form) && self.field == field).then_some(self.message.as_str())
    }

    /// An error of `form` on none of its fields.
    pub(crate) fn general(&self, form: &str) -> Option<&str> {
        (self.is(form) && self.field.is_empty()).then_some(self.message.as_str())
    }
}

/// A refused form: validation errors (and a stale version) go back to the page with the values;
/// anything else is the error page or a message on the page.
fn refused(e: &AppError) -> bool {
    matches!(e, AppError::Invalid(_))
}

#[derive(Template)]
#[template(path = "vision_kpis.html")]
struct KpiListPage {
    l: Layout,
    key: String,
    kpis: Vec<KpiRow>,
    can_define: bool,
    kinds: Vec<&'static str>,
    units: Vec<&'static str>,
    sent: Sent,
}

/// The fields of the KPI forms.
const KPI_FIELDS: [&str; 7] = ["name", "kind", "unit", "direction", "baseline", "target", "due"];

async fn kpi_list_page(
    st: &AppState,
    s: &UiSession,
    a: &keel_app::ProductAccess,
    f: &Flash,
    sent: Sent,
) -> UiResult {
    let kpis = st.app.kpis(a).await?.iter().map(|k| kpi_row(k.id.0, &k.data)).collect();
    let l = Layout::new(st, s, "KPIs", "kpis", Some(&a.product))
        .await
        .crumb(format!("/products/{}", a.product.key), a.product.name.clone())
        .flash(f);
    let status = if sent.form.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    render_status(
        status,
        &KpiListPage {
            l,
            key: a.product.key.to_string(),
            kpis,
            can_define: st.app.decide(a, Action::EditVision) == Decision::Allow,
            kinds: KpiKind::ALL.iter().map(|k| k.as_str()).collect(),
            units: Unit::ALL.iter().map(|k| k.as_str()).collect(),
            sent,
        },
    )
}

/// GET /products/{key}/kpis
async fn kpi_list(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        kpi_list_page(&st, &s, &a, &f, Sent::default()).await
    }
    .await;
    finish(&st, &s, r).await
}

/// A number field of a form.
fn number(form: &FormData, f: &str) -> Result<f64, keel_domain::ValidationError> {
    let v = form.get(f).trim();
    if v.is_empty() {
        return Err(keel_domain::ValidationError::new(f, "is required"));
    }
    v.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| keel_domain::ValidationError::new(f, "must be a number"))
}

/// The KPI definition in a form.
fn kpi_form(form: &FormData) -> Result<Kpi, keel_domain::ValidationError> {
    Ok(Kpi {
        name: form.get("name").to_string(),
        kind: KpiKind::parse("kind", form.get("kind"))?,
        unit: Unit::parse("unit", form.get("unit"))?,
        direction: Direction::parse("direction", form.get("direction"))?,
        baseline: number(form, "baseline")?,
        target: number(form, "target")?,
        due: form
            .opt("due")
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| keel_domain::Date::parse("due", d))
            .transpose()?,
        measurements: vec![],
    })
}

/// POST /products/{key}/kpis: a refused KPI comes back with the values and the error beside its
/// field (422); nothing is written.
async fn kpi_create(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/kpis", a.product.key);
        let res = match kpi_form(&form) {
            Ok(k) => st.app.create_kpi(&a, k).await,
            Err(e) => Err(e.into()),
        };
        match res {
            Ok(k) => Ok(redirect_with(&format!("/kpis/{}", k.id.0), "notice", "KPI created.")),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) if refused(&e) => {
                let sent = Sent::new("kpi-new", &form, &KPI_FIELDS, &e);
                kpi_list_page(&st, &s, &a, &Flash::default(), sent).await
            }
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

#[derive(Template)]
#[template(path = "vision_kpi.html")]
struct KpiPage {
    l: Layout,
    key: String,
    k: KpiRow,
    chart: Chart,
    rows: Vec<(String, String, String)>,
    can_define: bool,
    can_measure: bool,
    version: i64,
    kinds: Vec<&'static str>,
    units: Vec<&'static str>,
    sent: Sent,
}

async fn kpi_of(
    st: &AppState,
    s: &UiSession,
    id: &str,
) -> Result<(Stored<Kpi>, keel_app::ProductAccess), AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    st.app.kpi_access(&s.user, keel_domain::RecordId(id)).await
}

async fn kpi_page_render(
    st: &AppState,
    s: &UiSession,
    k: &Stored<Kpi>,
    a: &keel_app::ProductAccess,
    f: &Flash,
    sent: Sent,
) -> UiResult {
    let decision = st.app.decide(a, Action::EditVision);
    let l = Layout::new(st, s, k.data.name.clone(), "kpis", Some(&a.product))
        .await
        .crumb(format!("/products/{}", a.product.key), a.product.name.clone())
        .crumb(format!("/products/{}/kpis", a.product.key), "KPIs")
        .flash(f);
    let status = if sent.form.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    render_status(
        status,
        &KpiPage {
            l,
            key: a.product.key.to_string(),
            k: kpi_row(k.id.0, &k.data),
            chart: chart(&k.data, 640.0, 220.0, 16.0),
            rows: k
                .data
                .measurements
                .iter()
                .rev()
                .map(|m| (m.date.to_string(), num(m.value), m.note.clone()))
                .collect(),
            can_define: decision == Decision::Allow,
            can_measure: decision != Decision::Deny,
            version: k.version,
            kinds: KpiKind::ALL.iter().map(|k| k.as_str()).collect(),
            units: Unit::ALL.iter().map(|k| k.as_str()).collect(),
            sent,
        },
    )
}

/// GET /kpis/{id}
async fn kpi_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let (k, a) = kpi_of(&st, &s, &id).await?;
        kpi_page_render(&st, &s, &k, &a, &f, Sent::default()).await
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /kpis/{id}/edit: the definition (name, kind, unit, direction, baseline, target, due)
/// and `version` read. A refused change comes back with the values (422).
async fn kpi_edit(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (k, a) = kpi_of(&st, &s, &id).await?;
        let back = format!("/kpis/{}", k.id.0);
        let res = match kpi_form(&form) {
            Ok(d) => {
                let patch = keel_app::vision::KpiPatch {
                    name: Some(d.name),
                    kind: Some(d.kind),
                    unit: Some(d.unit),
                    direction: Some(d.direction),
                    baseline: Some(d.baseline),
                    target: Some(d.target),
                    due: Some(d.due.map(|x| x.to_string()).unwrap_or_default()),
                };
                let version = form.version()?;
                st.app.update_kpi(&a, &k, patch, version).await
            }
            Err(e) => Err(e.into()),
        };
        match res {
            Ok(_) => Ok(redirect_with(&back, "notice", "KPI saved.")),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(AppError::StaleVersion { .. }) => Ok(redirect_with(
                &back,
                "error",
                "Someone changed this KPI meanwhile; here it is now. Your changes were not saved.",
            )),
            Err(e) if refused(&e) => {
                let sent = Sent::new("kpi-edit", &form, &KPI_FIELDS, &e);
                kpi_page_render(&st, &s, &k, &a, &Flash::default(), sent).await
            }
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /kpis/{id}/measurements: `date`, `value`, `note`.
async fn kpi_measure(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (k, a) = kpi_of(&st, &s, &id).await?;
        let back = format!("/kpis/{}", k.id.0);
        let m = (|| -> Result<Measurement, keel_domain::ValidationError> {
            let date = form.get("date").trim();
            if date.is_empty() {
                return Err(keel_domain::ValidationError::new("date", "is required"));
            }
            Ok(Measurement {
                date: keel_domain::Date::parse("date", date)?,
                value: number(&form, "value")?,
                note: form.get("note").trim().to_string(),
            })
        })();
        let res = match m {
            Ok(m) => st.app.add_measurements(&a, k.id, vec![m]).await,
            Err(e) => Err(e.into()),
        };
        match res {
            Ok(_) => Ok(redirect_with(&back, "notice", "Measurement recorded.")),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) if refused(&e) => {
                let sent = Sent::new("measure", &form, &["date", "value", "note"], &e);
                kpi_page_render(&st, &s, &k, &a, &Flash::default(), sent).await
            }
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /kpis/{id}/import: `csv` (typed or pasted) or `file` (an uploaded CSV file, read in the
/// browser into `csv`). With any bad row nothing is imported and the rows come back.
async fn kpi_import(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (k, a) = kpi_of(&st, &s, &id).await?;
        let back = format!("/kpis/{}", k.id.0);
        let before = k.data.measurements.len();
        match st.app.import_measurements(&a, &k, form.get("csv")).await {
            Ok(n) => Ok(redirect_with(
                &back,
                "notice",
                &format!("Imported {} measurements.", n.data.measurements.len() - before),
            )),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) if refused(&e) => {
                let sent = Sent::new("import", &form, &["csv"], &e);
                kpi_page_render(&st, &s, &k, &a, &Flash::default(), sent).await
            }
            Err(e) => Ok(redirect_with(&back, "error", &format!("Nothing imported. {}", message(&e)))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /kpis/{id}/delete
async fn kpi_delete(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (k, a) = kpi_of(&st, &s, &id).await?;
        match st.app.delete_kpi(&a, &k).await {
            Ok(()) => {
                Ok(redirect_with(&format!("/products/{}/kpis", a.product.key), "notice", "KPI deleted."))
            }
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&format!("/kpis/{}", k.id.0), "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// A key result on the goals page.
struct KrView {
    id: i64,
    title: String,
    kpi_id: String,
    progress: Option<i64>,
    kpi: Option<KpiRow>,
}

/// A goal on the goals page.
struct GoalView {
    id: i64,
    title: String,
    description: String,
    description_html: String,
    due: String,
    owner: String,
    owner_name: String,
    version: i64,
    progress: Option<i64>,
    key_results: Vec<KrView>,
}

#[derive(Template)]
#[template(path = "vision_goals.html")]
struct GoalsPage {
    l: Layout,
    key: String,
    goals: Vec<GoalView>,
    kpis: Vec<(String, String)>,
    members: Vec<(String, String)>,
    can_define: bool,
    sent: Sent,
}

impl GoalsPage {
    /// The form name of goal `id`'s edit form (askama cannot format in a call).
    fn goal_form(&self, id: &i64) -> String {
        format!("goal-{id}")
    }

    fn kr_new_form(&self, id: &i64) -> String {
        format!("kr-new-{id}")
    }

    fn kr_form(&self, goal: &i64, kr: &i64) -> String {
        format!("kr-{goal}-{kr}")
    }
}

async fn goals_page_render(
    st: &AppState,
    s: &UiSession,
    a: &keel_app::ProductAccess,
    f: &Flash,
    sent: Sent,
) -> UiResult {
    let kpis = st.app.kpis(a).await?;
    let members = st.app.members(a).await?;
    let goals = st
        .app
        .goals(a)
        .await?
        .into_iter()
        .map(|g| GoalView {
            id: g.goal.id.0,
            title: g.goal.data.title.clone(),
            description: g.goal.data.description.clone(),
            description_html: markdown::render(&g.goal.data.description),
            due: g.goal.data.due.map(|d| d.to_string()).unwrap_or_default(),
            owner: g.goal.data.owner.map(|u| u.0.to_string()).unwrap_or_default(),
            owner_name: g
                .goal
                .data
                .owner
                .and_then(|o| members.iter().find(|(u, _)| u.id == o))
                .map(|(u, _)| u.name.clone())
                .unwrap_or_default(),
            version: g.goal.version,
            progress: g.progress.map(|p| p.round() as i64),
            key_results: g
                .goal
                .data
                .key_results
                .iter()
                .zip(&g.key_results)
                .map(|(kr, p)| KrView {
                    id: kr.id,
                    title: kr.title.clone(),
                    kpi_id: kr.kpi_id.map(|k| k.0.to_string()).unwrap_or_default(),
                    progress: p.map(|p| p.round() as i64),
                    kpi: kr
                        .kpi_id
                        .and_then(|id| kpis.iter().find(|k| k.id == id))
                        .map(|k| kpi_row(k.id.0, &k.data)),
                })
                .collect(),
        })
        .collect();
    let l = Layout::new(st, s, "Goals", "goals", Some(&a.product))
        .await
        .crumb(format!("/products/{}", a.product.key), a.product.name.clone())
        .flash(f);
    let status = if sent.form.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    render_status(
        status,
        &GoalsPage {
            l,
            key: a.product.key.to_string(),
            goals,
            kpis: kpis.iter().map(|k| (k.id.0.to_string(), k.data.name.clone())).collect(),
            members: members.iter().map(|(u, _)| (u.id.0.to_string(), u.name.clone())).collect(),
            can_define: st.app.decide(a, Action::EditVision) == Decision::Allow,
            sent,
        },
    )
}

/// GET /products/{key}/goals
async fn goals_page(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        goals_page_render(&st, &s, &a, &f, Sent::default()).await
    }
    .await;
    finish(&st, &s, r).await
}

/// The end of a goal form: back to the goals page, or the page again with the form as sent.
async fn goal_result<T>(
    st: &AppState,
    s: &UiSession,
    a: &keel_app::ProductAccess,
    res: Result<T, AppError>,
    done: &str,
    sent: impl FnOnce(&AppError) -> Sent,
) -> UiResult {
    let back = format!("/products/{}/goals", a.product.key);
    match res {
        Ok(_) => Ok(redirect_with(&back, "notice", done)),
        Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
        Err(AppError::StaleVersion { .. }) => Ok(redirect_with(
            &back,
            "error",
            "Someone changed this goal meanwhile; here it is now. Your changes were not saved.",
        )),
        Err(e) if refused(&e) => goals_page_render(st, s, a, &Flash::default(), sent(&e)).await,
        Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
    }
}

/// The fields of the goal forms.
const GOAL_FIELDS: [&str; 4] = ["title", "description", "due", "owner"];

/// The owner field: empty is nobody; anything else must be a user id.
fn owner_field(form: &FormData) -> Result<Option<i64>, AppError> {
    let v = form.get("owner").trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<i64>().map(Some).map_err(|_| AppError::invalid("owner", "is not a member of this product"))
}

/// POST /products/{key}/goals: `title`, `description`, `due`, `owner`.
async fn goal_create(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let res = match owner_field(&form) {
            Ok(owner) => {
                st.app
                    .create_goal(&a, form.get("title"), form.get("description"), form.opt("due"), owner)
                    .await
            }
            Err(e) => Err(e),
        };
        goal_result(&st, &s, &a, res, "Goal created.", |e| Sent::new("goal-new", &form, &GOAL_FIELDS, e))
            .await
    }
    .await;
    finish(&st, &s, r).await
}

async fn goal_of(
    st: &AppState,
    s: &UiSession,
    id: &str,
) -> Result<(keel_app::vision::GoalProgress, keel_app::ProductAccess), AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    st.app.goal_access(&s.user, keel_domain::RecordId(id)).await
}

/// POST /goals/{id}/edit: `title`, `description`, `due`, `owner` and `version` read.
async fn goal_edit(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (g, a) = goal_of(&st, &s, &id).await?;
        let res = match owner_field(&form) {
            Ok(owner) => {
                st.app
                    .update_goal(
                        &a,
                        g.goal.id,
                        Some(form.get("title")),
                        Some(form.get("description")),
                        Some(form.get("due")),
                        Some(owner),
                        form.version()?,
                    )
                    .await
            }
            Err(e) => Err(e),
        };
        let name = format!("goal-{}", g.goal.id.0);
        goal_result(&st, &s, &a, res, "Goal saved.", |e| Sent::new(name, &form, &GOAL_FIELDS, e)).await
    }
    .await;
    finish(&st, &s, r).await
}

/// The KPI field of a key-result form: empty is none.
fn kpi_field(form: &FormData) -> Result<Option<i64>, AppError> {
    let v = form.get("kpi_id").trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<i64>().map(Some).map_err(|_| AppError::invalid("kpi_id", "is no KPI of this product"))
}

/// POST /goals/{id}/key-results: `title`, `kpi_id`.
async fn kr_create(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (g, a) = goal_of(&st, &s, &id).await?;
        let res = match kpi_field(&form) {
            Ok(kpi) => st.app.add_key_result(&a, g.goal.id, form.get("title"), kpi).await,
            Err(e) => Err(e),
        };
        let name = format!("kr-new-{}", g.goal.id.0);
        goal_result(&st, &s, &a, res, "Key result added.", |e| {
            Sent::new(name, &form, &["title", "kpi_id"], e)
        })
        .await
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /goals/{id}/key-results/{kr}/edit: `title`, `kpi_id` (empty unlinks the KPI).
async fn kr_edit(
    State(st): State<AppState>,
    s: UiSession,
    Path((id, kr)): Path<(String, String)>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (g, a) = goal_of(&st, &s, &id).await?;
        let kr = kr.parse::<i64>().map_err(|_| AppError::NotFound)?;
        let res = match kpi_field(&form) {
            Ok(kpi) => st.app.update_key_result(&a, g.goal.id, kr, Some(form.get("title")), Some(kpi)).await,
            Err(e) => Err(e),
        };
        let name = format!("kr-{}-{kr}", g.goal.id.0);
        goal_result(&st, &s, &a, res, "Key result saved.", |e| {
            Sent::new(name, &form, &["title", "kpi_id"], e)
        })
        .await
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /goals/{id}/key-results/{kr}/delete
async fn kr_delete(
    State(st): State<AppState>,
    s: UiSession,
    Path((id, kr)): Path<(String, String)>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (g, a) = goal_of(&st, &s, &id).await?;
        let kr = kr.parse::<i64>().map_err(|_| AppError::NotFound)?;
        let res = st.app.delete_key_result(&a, g.goal.id, kr).await;
        goal_result(&st, &s, &a, res, "Key result removed.", |_| Sent::default()).await
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /goals/{id}/delete
async fn goal_delete(
    State(st): State<AppState>,
    s: UiSession,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let (g, a) = goal_of(&st, &s, &id).await?;
        let res = st.app.delete_goal(&a, g.goal.id).await;
        goal_result(&st, &s, &a, res, "Goal deleted.", |_| Sent::default()).await
    }
    .await;
    finish(&st, &s, r).await
}
