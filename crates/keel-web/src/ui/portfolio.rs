//! Page: the portfolio, every product of the signed-in person side by side.

use super::{finish, render, Layout};
use crate::extract::UiSession;
use crate::markdown;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use keel_app::portfolio::PortfolioProduct;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/portfolio", get(page))
}

/// A goal in a product's column.
struct GoalCell {
    title: String,
    due: String,
    progress: Option<i64>,
    key_results: usize,
}

/// An initiative on a lane.
struct InitiativeCell {
    title: String,
    status: &'static str,
    status_label: String,
    when: String,
}

/// A lane in a product's column.
struct LaneCell {
    name: &'static str,
    initiatives: Vec<InitiativeCell>,
}

/// A release in a product's column.
struct ReleaseCell {
    name: String,
    date: String,
    shipped: bool,
}

/// One product's column.
struct Column {
    key: String,
    name: String,
    roles: Vec<&'static str>,
    is_pm: bool,
    is_po: bool,
    vision_html: String,
    goals: Vec<GoalCell>,
    lanes: Vec<LaneCell>,
    roadmap_empty: bool,
    public_roadmap: bool,
    releases: Vec<ReleaseCell>,
    sprints: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "portfolio.html")]
struct PortfolioPage {
    l: Layout,
    columns: Vec<Column>,
}

/// The most unshipped releases a column lists (then the last shipped one).
const RELEASES_SHOWN: usize = 3;

fn when(i: &keel_app::portfolio::PortfolioInitiative) -> String {
    match (i.start, i.end) {
        (Some(s), Some(e)) => format!("{s} – {e}"),
        (Some(s), None) => format!("from {s}"),
        (None, Some(e)) => format!("until {e}"),
        (None, None) => String::new(),
    }
}

fn column(p: &PortfolioProduct) -> Column {
    let mut releases: Vec<ReleaseCell> = p
        .releases
        .iter()
        .filter(|r| r.data.released_at.is_none())
        .take(RELEASES_SHOWN)
        .map(|r| ReleaseCell {
            name: r.data.name.clone(),
            date: r.data.target_date.map(|d| format!("target {d}")).unwrap_or_else(|| "no date".into()),
            shipped: false,
        })
        .collect();
    if let Some(r) = p.releases.iter().find(|r| r.data.released_at.is_some()) {
        releases.push(ReleaseCell {
            name: r.data.name.clone(),
            date: r.data.released_at.map(|t| format!("shipped {}", super::view::date(t))).unwrap_or_default(),
            shipped: true,
        });
    }
    let lanes: Vec<LaneCell> = p
        .lanes
        .iter()
        .map(|l| LaneCell {
            name: l.lane.as_str(),
            initiatives: l
                .initiatives
                .iter()
                .map(|i| InitiativeCell {
                    title: i.title.clone(),
                    status: i.status.as_str(),
                    status_label: i.status.as_str().replace('_', " "),
                    when: when(i),
                })
                .collect(),
        })
        .collect();
    Column {
        key: p.product.key.to_string(),
        name: p.product.name.clone(),
        roles: p.roles.iter().map(|r| r.as_str()).collect(),
        is_pm: p.roles.has(keel_domain::product::Role::Pm),
        is_po: p.roles.has(keel_domain::product::Role::Po),
        vision_html: p.vision.as_ref().map(|v| markdown::render(&v.fields.statement)).unwrap_or_default(),
        goals: p
            .goals
            .iter()
            .map(|g| GoalCell {
                title: g.goal.data.title.clone(),
                due: g.goal.data.due.map(|d| d.to_string()).unwrap_or_default(),
                progress: g.progress.map(|x| x.round() as i64),
                key_results: g.goal.data.key_results.len(),
            })
            .collect(),
        roadmap_empty: lanes.iter().all(|l| l.initiatives.is_empty()),
        lanes,
        public_roadmap: p.public_only,
        releases,
        sprints: p
            .sprints
            .iter()
            .map(|s| {
                (
                    s.team.clone(),
                    s.sprint.data.name.clone(),
                    format!("{} – {}", s.sprint.data.start, s.sprint.data.end),
                )
            })
            .collect(),
    }
}

/// GET /portfolio
async fn page(State(st): State<AppState>, s: UiSession) -> Response {
    let r = async {
        let list = st.app.portfolio(&s.user).await?;
        let l = Layout::new(&st, &s, "Portfolio", "portfolio", None).await;
        render(&PortfolioPage { l, columns: list.iter().map(column).collect() })
    }
    .await;
    finish(&st, &s, r).await
}
