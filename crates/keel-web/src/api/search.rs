//! One search for the command palette: items by key or by words, the pages of a product, and
//! the caller's products, in a single round trip.

use super::item_access;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiUser, Query};
use crate::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use keel_api::wire::ItemOut;
use keel_api::Problem;
use keel_app::items::FilterInput;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/search", get(search))
}

#[derive(OpenApi)]
#[openapi(
    paths(search),
    components(schemas(SearchOut, SearchPageOut, SearchProductOut)),
    tags((name = "search", description = "Items, pages and products for the command palette"))
)]
pub struct Doc;

/// The places of a product: (path after `/products/{key}`, label, words that also find it).
pub const PAGES: [(&str, &str, &str); 20] = [
    ("", "Home", "product overview"),
    ("/vision", "Vision", "vision board"),
    ("/goals", "Goals and KPIs", "okr objectives"),
    ("/roadmap", "Roadmap", "timeline lanes"),
    ("/alignment", "Alignment", "strategy"),
    ("/opportunities", "Opportunities", "discovery"),
    ("/feedback", "Feedback", "requests customers"),
    ("/competitors", "Competitors", "market"),
    ("/stakeholders", "Stakeholders", "updates"),
    ("/backlog", "Backlog", "items stories"),
    ("/refinement", "Refinement", "ready readiness"),
    ("/sprints", "Sprints", "planning iterations"),
    ("/board", "Board", "sprint board kanban"),
    ("/standup", "Stand-up", "daily standup"),
    ("/releases", "Releases", "release launch"),
    ("/reports", "Reports", "metrics charts velocity burndown"),
    ("/forecast", "Forecast", "monte carlo when"),
    ("/decisions", "Decisions", "log"),
    ("/proposals", "Proposals", "pending"),
    ("/settings", "Settings", "workflow configuration"),
];

/// `?q=&product=&limit=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// What was typed: an item key (`SHOP-42`, or `42` within `product`), or words searched in
    /// titles and descriptions (all words; the last as a prefix). Up to 200 characters.
    #[serde(default)]
    q: String,
    /// The product whose items and pages to search (its key).
    product: Option<String>,
    /// Most items to return, 1-50 (default 8).
    limit: Option<u32>,
}

/// A page of a product.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchPageOut {
    /// Its label, e.g. `Backlog`.
    pub label: String,
    /// Its URL.
    pub url: String,
}

/// A product of the caller's.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchProductOut {
    /// Key, e.g. `SHOP`.
    pub key: String,
    /// Name.
    pub name: String,
    /// Its home page.
    pub url: String,
}

/// What matched.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchOut {
    /// Items: the one named by key first, then full-text matches in backlog order.
    pub items: Vec<ItemOut>,
    /// Pages of `product` whose label (or a related word) contains every typed word.
    pub pages: Vec<SearchPageOut>,
    /// The caller's products whose key or name contains every typed word.
    pub products: Vec<SearchProductOut>,
}

/// Whether every word of `q` occurs in `hay` (both lower-cased; no words matches everything).
fn all_words(q: &str, hay: &str) -> bool {
    let hay = hay.to_lowercase();
    q.to_lowercase().split_whitespace().all(|w| hay.contains(w))
}

/// The item key `q` names, if it looks like one: `SHOP-42`, or `42` inside a product.
fn as_key(q: &str, product: Option<&str>) -> Option<String> {
    let q = q.trim();
    if let Some((p, n)) = q.rsplit_once('-') {
        let ok = !p.is_empty()
            && p.chars().all(|c| c.is_ascii_alphanumeric())
            && !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit());
        return ok.then(|| format!("{}-{n}", p.to_ascii_uppercase()));
    }
    let n = q.strip_prefix('#').unwrap_or(q);
    match product {
        Some(p) if !n.is_empty() && n.len() <= 18 && n.chars().all(|c| c.is_ascii_digit()) => {
            Some(format!("{}-{n}", p.to_ascii_uppercase()))
        }
        _ => None,
    }
}

/// Items by key or words, pages of a product and products, for the command palette.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchQuery),
    responses((status = 200, body = SearchOut), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn search(
    State(s): State<AppState>,
    u: ApiUser,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<SearchOut>> {
    if q.q.chars().count() > 200 {
        return Err(ApiError::invalid("q", "must be at most 200 characters"));
    }
    if q.q.chars().any(char::is_control) {
        return Err(ApiError::invalid("q", "must not contain control characters"));
    }
    let limit = match q.limit {
        None => 8,
        Some(l @ 1..=50) => l as usize,
        Some(_) => return Err(ApiError::invalid("limit", "must be between 1 and 50")),
    };
    let text = q.q.trim();
    // The product first: an unknown one is a 404 rather than an empty answer.
    let access = match q.product.as_deref() {
        Some(p) => Some(s.app.access(&u.user, p).await?),
        None => None,
    };
    let pkey = access.as_ref().map(|a| a.product.key.to_string());

    let mut items = Vec::new();
    if let Some(key) = as_key(text, pkey.as_deref()) {
        // A key of a product the caller cannot see is simply no match.
        if let Ok(a) = item_access(&s.app, &u.user, &key).await {
            if let Ok(i) = s.app.item(&a, &key).await {
                let w = s.app.workflow(&a).await?;
                items.push(ItemOut::new(&i, &w));
            }
        }
    }
    if let Some(a) = &access {
        if !text.is_empty() {
            let f = FilterInput { q: Some(text.to_string()), ..FilterInput::default() };
            let filter = s.app.filter(a, &f).await?;
            let page = s.app.list_items(a, &filter, None, limit as u32).await?;
            let w = s.app.workflow(a).await?;
            for i in &page.items {
                if items.len() >= limit {
                    break;
                }
                if !items.iter().any(|x: &ItemOut| x.key == i.key) {
                    items.push(ItemOut::new(i, &w));
                }
            }
        }
    }

    let pages = match &pkey {
        Some(p) => PAGES
            .iter()
            .filter(|(_, label, words)| all_words(text, &format!("{label} {words}")))
            .map(|(path, label, _)| SearchPageOut {
                label: (*label).to_string(),
                url: format!("/products/{p}{path}"),
            })
            .collect(),
        None => Vec::new(),
    };
    let products = s
        .app
        .products_for(&u.user)
        .await?
        .into_iter()
        .filter(|(p, _)| all_words(text, &format!("{} {}", p.key, p.name)))
        .map(|(p, _)| SearchProductOut {
            url: format!("/products/{}", p.key),
            key: p.key.to_string(),
            name: p.name,
        })
        .collect();
    Ok(Json(SearchOut { items, pages, products }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_recognised() {
        assert_eq!(as_key("shop-42", None).as_deref(), Some("SHOP-42"));
        assert_eq!(as_key(" SHOP-7 ", Some("X")).as_deref(), Some("SHOP-7"));
        assert_eq!(as_key("42", Some("shop")).as_deref(), Some("SHOP-42"));
        assert_eq!(as_key("#42", Some("SHOP")).as_deref(), Some("SHOP-42"));
        assert_eq!(as_key("42", None), None);
        assert_eq!(as_key("check-out", None), None);
        assert_eq!(as_key("login page", Some("SHOP")), None);
    }

    #[test]
    fn words_all_match() {
        assert!(all_words("sprint bo", "Board sprint board kanban"));
        assert!(all_words("", "anything"));
        assert!(!all_words("roadmap x", "Roadmap timeline"));
    }
}
