//! Pages: competitors, stakeholders and their updates, go-to-market, PRDs, the portfolio.
//! Everything works as plain forms, without JavaScript.

use super::form::FormData;
use super::{finish, message, redirect_with, render, Flash, Layout, UiResult};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use keel_api::market::MatrixOut;
use keel_app::market::{CapabilityInput, CompetitorInput, MatrixChange, MARKET_RIGHT};
use keel_app::AppError;
use keel_domain::rights::Decision;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/products/{key}/competitors", get(competitors).post(competitors_update))
}

#[derive(Template)]
#[template(path = "market_competitors.html")]
struct CompetitorsPage {
    l: Layout,
    key: String,
    m: MatrixOut,
    can_edit: bool,
    /// (has, partial, lacks) per column, in the order of `m.competitors`.
    tallies: Vec<(usize, usize, usize)>,
}

impl CompetitorsPage {
    /// The label of a mark.
    fn mark_label(&self, mark: &str) -> &'static str {
        mark_label(mark)
    }

    /// The symbol of a mark.
    fn mark_symbol(&self, mark: &str) -> &'static str {
        mark_symbol(mark)
    }
}

/// The label of a mark.
fn mark_label(mark: &str) -> &'static str {
    match mark {
        "has" => "Has",
        "partial" => "Partial",
        "lacks" => "Lacks",
        _ => "Unknown",
    }
}

/// The symbol of a mark.
fn mark_symbol(mark: &str) -> &'static str {
    match mark {
        "has" => "●",
        "partial" => "◐",
        "lacks" => "○",
        _ => "·",
    }
}

/// GET /products/{key}/competitors
async fn competitors(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let (m, v) = st.app.competitor_matrix(&a).await?;
        let out = MatrixOut::new(&m, &a.product.name, v);
        let tallies = out.competitors.iter().map(|c| m.tally(c.id)).collect();
        let l = Layout::new(&st, &s, "Competitors", "competitors", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .flash(&f);
        render(&CompetitorsPage {
            l,
            key: a.product.key.to_string(),
            m: out,
            can_edit: st.app.decide(&a, MARKET_RIGHT) == Decision::Allow,
            tallies,
        })
    }
    .await;
    finish(&st, &s, r).await
}

fn opt(form: &FormData, name: &str) -> Option<String> {
    form.opt(name).map(|v| v.replace("\r\n", "\n"))
}

/// The ids in a comma- or space-separated list; a bad one is reported as the field's error.
fn id_list(s: &str) -> Result<Vec<i64>, AppError> {
    s.split([',', ' '])
        .filter(|x| !x.trim().is_empty())
        .map(|x| {
            x.trim().trim_start_matches('#').parse::<i64>().map_err(|_| {
                AppError::Invalid(keel_domain::ValidationError::new(
                    "opportunities",
                    "must be opportunity ids separated by commas",
                ))
            })
        })
        .collect()
}

/// POST /products/{key}/competitors: `op` is one of add_competitor, edit_competitor,
/// remove_competitor, add_capability, edit_capability, remove_capability, set_cell; `id`,
/// `competitor`, `capability` name the target; `version` guards against a concurrent change.
async fn competitors_update(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/competitors", a.product.key);
        let id = form.get("id").parse::<i64>().unwrap_or(-1);
        let competitor = || CompetitorInput {
            name: opt(&form, "name"),
            site: opt(&form, "site"),
            pricing: opt(&form, "pricing"),
            positioning: opt(&form, "positioning"),
        };
        let parsed: Result<(MatrixChange, &str), AppError> = match form.get("op") {
            "add_competitor" => Ok((MatrixChange::AddCompetitor(competitor()), "Competitor added.")),
            "edit_competitor" => Ok((MatrixChange::EditCompetitor(id, competitor()), "Competitor saved.")),
            "remove_competitor" => Ok((MatrixChange::RemoveCompetitor(id), "Competitor removed.")),
            "add_capability" | "edit_capability" => match id_list(form.get("opportunities")) {
                Ok(o) => {
                    let i = CapabilityInput { name: opt(&form, "name"), opportunities: Some(o) };
                    if form.get("op") == "add_capability" {
                        Ok((MatrixChange::AddCapability(i), "Capability added."))
                    } else {
                        Ok((MatrixChange::EditCapability(id, i), "Capability saved."))
                    }
                }
                Err(e) => Err(e),
            },
            "remove_capability" => Ok((MatrixChange::RemoveCapability(id), "Capability removed.")),
            "set_cell" => Ok((
                MatrixChange::SetCell(
                    form.get("competitor").parse::<i64>().unwrap_or(-1),
                    form.get("capability").parse::<i64>().unwrap_or(-1),
                    form.get("mark").to_string(),
                    form.get("notes").replace("\r\n", "\n"),
                ),
                "Cell saved.",
            )),
            _ => Err(AppError::Invalid(keel_domain::ValidationError::new("op", "is not a known change"))),
        };
        let version = form.get("version").parse::<i64>().ok();
        let res = match parsed {
            Ok((c, done)) => st.app.change_matrix(&a, c, version).await.map(|_| done),
            Err(e) => Err(e),
        };
        match res {
            Ok(done) => Ok(redirect_with(&back, "notice", done)),
            Err(e @ AppError::Internal(_)) => Err(e.into()),
            Err(AppError::NotFound) => {
                Ok(redirect_with(&back, "error", "That competitor or capability no longer exists."))
            }
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}
