//! Pages: the vision board (edit form and kept versions), comparing two versions, the printable
//! vision card, and the product's home page.

use super::form::FormData;
use super::{finish, message, proposed_notice, redirect_with, render, Flash, Layout, UiResult};
use crate::extract::UiSession;
use crate::markdown;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use keel_app::{AppError, Outcome};
use keel_domain::pm::Goal;
use keel_domain::rights::{Action, Decision};
use keel_domain::vision::{card_markdown, changed_fields, VisionFields, VisionVersion, FIELDS};
use keel_store::RecordFilter;
use serde::Deserialize;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/products/{key}/vision", get(board).post(save))
        .route("/products/{key}/vision/compare", get(compare))
        .route("/products/{key}/vision/card", get(card))
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
        let version = form.get("version").parse::<i64>().ok();
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
            .list_records::<Goal>(
                RecordFilter::of(keel_domain::event::ObjectKind::Goal).product(a.product.id),
            )
            .await?
            .into_iter()
            .map(|g| GoalRow {
                title: g.data.title.clone(),
                due: g.data.due.map(|d| d.to_string()).unwrap_or_default(),
                key_results: g.data.key_results.len(),
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
