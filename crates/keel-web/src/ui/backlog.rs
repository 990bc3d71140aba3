//! The ordered backlog: filters in the query string, 50 rows a page, quick-add at the top and
//! the bottom, and reordering by drag and drop or keyboard (in `app.js`, through the JSON API)
//! or by the plain "move up / move down" forms below, which work without JavaScript.

use super::form::FormData;
use super::view::{category_class, points, url_encode};
use super::{finish, message, proposed_notice, redirect_with, render, see_other, Flash, Layout, UiResult};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use keel_app::items::{FilterInput, ItemInput, PositionInput};
use keel_app::{AppError, Outcome};
use keel_domain::item::ItemKind;
use keel_domain::readiness::DefinitionOfReady;
use keel_domain::rights::{Action, Decision};
use serde::Deserialize;
use std::collections::HashMap;

/// Rows per page.
const PAGE: u32 = 50;

/// The backlog's query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct BacklogQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

impl BacklogQuery {
    fn get(v: &Option<String>) -> &str {
        v.as_deref().map(str::trim).unwrap_or("")
    }

    /// The filters as a query string (without the cursor), to rebuild links.
    fn query_string(&self) -> String {
        let pairs = [
            ("q", Self::get(&self.q)),
            ("status", Self::get(&self.status)),
            ("kind", Self::get(&self.kind)),
            ("assignee", Self::get(&self.assignee)),
            ("label", Self::get(&self.label)),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", url_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn any(&self) -> bool {
        !self.query_string().is_empty()
    }
}

/// One backlog row.
pub(crate) struct Row {
    key: String,
    title: String,
    kind: &'static str,
    status: String,
    cat: &'static str,
    estimate: String,
    assignee: String,
    labels: Vec<String>,
    parent: Option<String>,
    /// The key of the row above (for "move up"), if on this page.
    prev: Option<String>,
    /// The key of the row below (for "move down"), if on this page.
    next: Option<String>,
    /// Whether it meets the Definition of Ready (`None`: the definition does not apply).
    ready: Option<bool>,
    /// The checks it fails, for the marker's title.
    failed: String,
}

/// A select option: (value, label).
type Opt = (String, String);

#[derive(Template)]
#[template(path = "backlog.html")]
struct Backlog {
    l: Layout,
    key: String,
    rows: Vec<Row>,
    count: i64,
    /// The current URL (path and query), for forms to come back to.
    here: String,
    /// The next page's URL.
    more: Option<String>,
    /// Whether this is a later page.
    paged: bool,
    f_q: String,
    f_status: String,
    f_kind: String,
    f_assignee: String,
    f_label: String,
    filtered: bool,
    statuses: Vec<Opt>,
    kinds: Vec<&'static str>,
    people: Vec<Opt>,
    /// `allow`, `propose` or `deny`: what reordering does for this user.
    reorder: &'static str,
    /// Whether the user may add items (directly or as a proposal).
    can_add: bool,
    /// Every workflow state, for the bulk bar.
    all_statuses: Vec<Opt>,
    /// Sprints that take items, for the bulk bar.
    sprints: Vec<Opt>,
    /// The bulk bar's script.
    bulk_js: &'static str,
}

fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "allow",
        Decision::Propose => "propose",
        Decision::Deny => "deny",
    }
}

/// GET /products/{key}/backlog
pub(crate) async fn page(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(q): Query<BacklogQuery>,
    Query(flash): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let input = FilterInput {
            status: q.status.clone(),
            kind: q.kind.clone(),
            assignee: q.assignee.clone(),
            label: q.label.clone(),
            q: q.q.clone(),
            open_only: true,
            ..Default::default()
        };
        let workflow = st.app.workflow(&a).await?;
        let members = st.app.members(&a).await?;
        let mut l = Layout::new(&st, &s, "Backlog", "backlog", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .flash(&flash);
        // A bad filter value is the user's typo, not a failure: say so and show nothing.
        let (items, next, count) = match st.app.filter(&a, &input).await {
            Ok(filter) => {
                let page = match st.app.list_items(&a, &filter, q.cursor.as_deref(), PAGE).await {
                    Ok(p) => p,
                    Err(AppError::Invalid(_)) => st.app.list_items(&a, &filter, None, PAGE).await?,
                    Err(e) => return Err(e.into()),
                };
                let count = st.app.count_items(&a, &filter).await?;
                (page.items, page.next_cursor, count)
            }
            Err(AppError::Invalid(v)) => {
                l.error = Some(message(&AppError::Invalid(v)));
                (Vec::new(), None, 0)
            }
            Err(e) => return Err(e.into()),
        };
        let names: HashMap<i64, &str> = members.iter().map(|(u, _)| (u.id.0, u.name.as_str())).collect();
        let keys: Vec<String> = items.iter().map(|i| i.key.clone()).collect();
        let readiness = st.app.readiness(&a, &items).await?;
        let rows = items
            .into_iter()
            .zip(readiness)
            .enumerate()
            .map(|(n, (i, failed))| Row {
                ready: DefinitionOfReady::applies_to(i.kind).then_some(failed.is_empty()),
                failed: failed.join("; "),
                status: workflow.state(i.status_id).map_or_else(String::new, |s| s.name.clone()),
                cat: category_class(i.category),
                kind: i.kind.as_str(),
                estimate: i.estimate.map(|p| points(p.value())).unwrap_or_default(),
                assignee: i
                    .assignee_id
                    .and_then(|u| names.get(&u.0))
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
                labels: i.labels,
                parent: i.parent_key,
                prev: n.checked_sub(1).and_then(|p| keys.get(p)).cloned(),
                next: keys.get(n + 1).cloned(),
                key: i.key,
                title: i.title,
            })
            .collect();
        let base = format!("/products/{}/backlog", a.product.key);
        let qs = q.query_string();
        let here = match (qs.is_empty(), q.cursor.as_deref().filter(|c| !c.is_empty())) {
            (true, None) => base.clone(),
            (false, None) => format!("{base}?{qs}"),
            (true, Some(c)) => format!("{base}?cursor={}", url_encode(c)),
            (false, Some(c)) => format!("{base}?{qs}&cursor={}", url_encode(c)),
        };
        let more = next.map(|c| {
            if qs.is_empty() {
                format!("{base}?cursor={}", url_encode(&c))
            } else {
                format!("{base}?{qs}&cursor={}", url_encode(&c))
            }
        });
        let reorder = decision_name(st.app.decide(&a, Action::Reorder));
        let can_add = st.app.decide(&a, Action::CreateItem) != Decision::Deny;
        let mut people: Vec<Opt> =
            members.iter().map(|(u, _)| (u.id.0.to_string(), u.name.clone())).collect();
        people.sort_by(|x, y| x.1.cmp(&y.1));
        render(&Backlog {
            l,
            key: a.product.key.to_string(),
            rows,
            count,
            here,
            more,
            paged: q.cursor.as_deref().is_some_and(|c| !c.is_empty()),
            f_q: BacklogQuery::get(&q.q).to_string(),
            f_status: BacklogQuery::get(&q.status).to_string(),
            f_kind: BacklogQuery::get(&q.kind).to_string(),
            f_assignee: BacklogQuery::get(&q.assignee).to_string(),
            f_label: BacklogQuery::get(&q.label).to_string(),
            filtered: q.any(),
            statuses: workflow
                .states
                .iter()
                .filter(|s| s.category != keel_domain::workflow::Category::Done)
                .map(|s| (s.name.clone(), s.name.clone()))
                .collect(),
            kinds: ItemKind::ALL.iter().map(|k| k.as_str()).collect(),
            all_statuses: workflow.states.iter().map(|s| (s.name.clone(), s.name.clone())).collect(),
            sprints: st
                .app
                .sprint_choices(&a, None)
                .await?
                .into_iter()
                .map(|(id, n)| (id.to_string(), n))
                .collect(),
            bulk_js: super::assets::readiness_js_url(),
            people,
            reorder,
            can_add,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products/{key}/items: the quick-add line (title, kind, `position` top or bottom).
pub(crate) async fn quick_add(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = super::back_to(&form, &format!("/products/{}/backlog", a.product.key));
        let input = ItemInput {
            title: Some(form.get("title").to_string()),
            kind: Some(form.opt("kind").filter(|k| !k.is_empty()).unwrap_or("story").to_string()),
            ..Default::default()
        };
        let top = form.get("position") == "top";
        let pos = PositionInput { top, bottom: !top, ..Default::default() };
        match st.app.create_item(&a, &input, &pos, None).await {
            Ok(Outcome::Done(i)) => {
                Ok(redirect_with(&back, "notice", &format!("Created {} “{}”.", i.key, i.title)))
            }
            Ok(Outcome::Proposed(p)) => Ok(redirect_with(&back, "notice", &proposed_notice(&st, &p))),
            Err(e @ AppError::Internal(_)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /items/{key}/move: one of `before`, `after`, `top`, `bottom`; back to `back`.
pub(crate) async fn move_item(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let pk = super::product_of(&key).ok_or(AppError::NotFound)?;
        let a = st.app.access(&s.user, pk).await?;
        let back = super::back_to(&form, &format!("/products/{}/backlog", a.product.key));
        let nonempty = |n: &str| form.opt(n).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        let pos = PositionInput {
            before: nonempty("before"),
            after: nonempty("after"),
            top: form.get("top") == "1",
            bottom: form.get("bottom") == "1",
        };
        match st.app.move_item(&a, &key, &pos, None).await {
            Ok(Outcome::Done(_)) => Ok(see_other(&back)),
            Ok(Outcome::Proposed(p)) => Ok(redirect_with(&back, "notice", &proposed_notice(&st, &p))),
            Err(e @ (AppError::Internal(_) | AppError::NotFound)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}
