//! The product list (home), creating a product, and a product's members.

use super::form::FormData;
use super::{finish, message, redirect_with, render, Flash, Layout, UiResult};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use keel_app::AppError;
use keel_domain::product::{Role, Roles};
use keel_domain::readiness::{DefinitionOfDone, DefinitionOfReady};
use keel_domain::UserId;
use keel_store::Page;

/// A product on the home page.
struct ProductRow {
    key: String,
    name: String,
    description: String,
    roles: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    l: Layout,
    products: Vec<ProductRow>,
}

/// GET /
pub(crate) async fn home(State(st): State<AppState>, s: UiSession, Query(f): Query<Flash>) -> Response {
    let r = async {
        let list = st.app.products_for(&s.user).await?;
        let products = list
            .into_iter()
            .map(|(p, roles)| ProductRow {
                key: p.key.to_string(),
                name: p.name,
                description: p.description,
                roles: roles.iter().map(|r| r.label()).collect(),
            })
            .collect();
        let l = Layout::new(&st, &s, "Products", "home", None).await.flash(&f);
        render(&Home { l, products })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products (administrators)
pub(crate) async fn create(State(st): State<AppState>, s: UiSession, form: FormData) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let key = form.get("key").trim().to_uppercase();
        match st.app.create_product(Some(&s.user), &key, form.get("name"), form.get("description")).await {
            Ok(p) => Ok(redirect_with(
                &format!("/products/{}/backlog", p.key),
                "notice",
                &format!("Product {} created. You are its Product Manager and Product Owner.", p.key),
            )),
            Err(e @ AppError::Internal(_)) => Err(e.into()),
            Err(e) => Ok(redirect_with("/", "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// GET /products/{key}: the product's home page (its vision statement and goals, with links to
/// the backlog, the vision board and the goals).
pub(crate) async fn show(st: State<AppState>, s: UiSession, key: Path<String>, f: Query<Flash>) -> Response {
    super::vision::home(st, s, key, f).await
}

/// `/products/{key}/board`: the first team's board (see [`team_page`]).
pub(crate) async fn team_board(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
) -> Response {
    team_page(st, s, key, "board").await
}

/// `/products/{key}/standup`: the first team's stand-up (see [`team_page`]).
pub(crate) async fn team_standup(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
) -> Response {
    team_page(st, s, key, "standup").await
}

/// The page of the product's first team,
/// or the sprints page (where teams are made) when it has none.
async fn team_page(st: AppState, s: UiSession, key: String, page: &str) -> Response {
    let r: UiResult = async {
        let a = st.app.access(&s.user, &key).await?;
        let teams = st.app.teams_serving(a.product.id).await?;
        let to = match teams.first() {
            Some(t) => format!("/teams/{}/{page}", t.id),
            None => format!(
                "/products/{}/sprints?notice={}",
                a.product.key,
                super::view::url_encode("Create a team first: boards and stand-ups belong to teams.")
            ),
        };
        Ok(Redirect::to(&to).into_response())
    }
    .await;
    finish(&st, &s, r).await
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    l: Layout,
    key: String,
    product_name: String,
    states: Vec<(String, &'static str)>,
    ready: Vec<String>,
    done: Vec<String>,
    teams: Vec<(i64, String, usize)>,
    member_count: usize,
}

/// GET /products/{key}/settings: the product's workflow, definitions, teams and members at a
/// glance, each with the way to change it.
pub(crate) async fn settings(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let workflow = st.app.workflow(&a).await?;
        let (dor, _) = st.app.setting::<DefinitionOfReady>(a.product.id).await?;
        let (dod, _) = st.app.setting::<DefinitionOfDone>(a.product.id).await?;
        let teams = st.app.teams_serving(a.product.id).await?;
        let member_count = st.app.members(&a).await?.len();
        let l = Layout::new(&st, &s, "Settings", "settings", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .flash(&f);
        render(&SettingsPage {
            l,
            key: a.product.key.to_string(),
            product_name: a.product.name.clone(),
            states: workflow
                .states
                .iter()
                .map(|s| (s.name.clone(), super::view::category_class(s.category)))
                .collect(),
            ready: dor.checks.iter().map(|c| c.rule.describe()).collect(),
            done: dod.checks.iter().map(|c| c.text.clone()).collect(),
            teams: teams.into_iter().map(|t| (t.id.0, t.data.name, t.data.members.len())).collect(),
            member_count,
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// One member with a flag per role, in [`Role::ALL`] order.
struct MemberRow {
    id: i64,
    name: String,
    email: String,
    roles: Vec<(&'static str, &'static str, bool)>,
    labels: Vec<&'static str>,
    active: bool,
}

#[derive(Template)]
#[template(path = "members.html")]
struct Members {
    l: Layout,
    members: Vec<MemberRow>,
    can_manage: bool,
    /// E-mails of active users who are not members, for the add form's suggestions.
    others: Vec<String>,
    all_roles: Vec<(&'static str, &'static str)>,
}

fn role_flags(r: Roles) -> Vec<(&'static str, &'static str, bool)> {
    Role::ALL.into_iter().map(|role| (role.as_str(), role.label(), r.has(role))).collect()
}

/// GET /products/{key}/members: everyone in the product sees who holds which role;
/// administrators change them.
pub(crate) async fn members(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    Query(f): Query<Flash>,
) -> Response {
    let r = async {
        let a = st.app.access(&s.user, &key).await?;
        let list = st.app.members(&a).await?;
        let others = if s.user.is_admin {
            let users = st.app.list_users(Some(&s.user), &Page::first(500)).await?;
            users
                .into_iter()
                .filter(|u| u.is_active && !list.iter().any(|(m, _)| m.id == u.id))
                .map(|u| u.email.as_str().to_string())
                .collect()
        } else {
            Vec::new()
        };
        let members = list
            .into_iter()
            .map(|(u, roles)| MemberRow {
                id: u.id.0,
                name: u.name,
                email: u.email.as_str().to_string(),
                roles: role_flags(roles),
                labels: roles.iter().map(|r| r.label()).collect(),
                active: u.is_active,
            })
            .collect();
        let l = Layout::new(&st, &s, "Members", "members", Some(&a.product))
            .await
            .crumb(format!("/products/{}/backlog", a.product.key), a.product.name.clone())
            .flash(&f);
        render(&Members {
            l,
            members,
            can_manage: s.user.is_admin,
            others,
            all_roles: Role::ALL.into_iter().map(|r| (r.as_str(), r.label())).collect(),
        })
    }
    .await;
    finish(&st, &s, r).await
}

fn roles_of(form: &FormData) -> Result<Roles, AppError> {
    let names: Vec<String> = form.all("role").into_iter().map(str::to_string).collect();
    Ok(Roles::parse_list("roles", &names)?)
}

/// POST /products/{key}/members: `action` is `set` (roles of `user_id`), `add` (by `email`) or
/// `remove`.
pub(crate) async fn members_update(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    form: FormData,
) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        let a = st.app.access(&s.user, &key).await?;
        let back = format!("/products/{}/members", a.product.key);
        let user_id = || {
            form.get("user_id")
                .parse::<i64>()
                .map(UserId)
                .map_err(|_| AppError::invalid("user_id", "is missing"))
        };
        let done: Result<String, AppError> = async {
            match form.get("action") {
                "set" => {
                    let id = user_id()?;
                    st.app.set_member(Some(&s.user), &a.product, id, roles_of(&form)?).await?;
                    Ok("Roles saved.".to_string())
                }
                "add" => {
                    let u = st.app.user_by_email(form.get("email").trim()).await.map_err(|e| match e {
                        AppError::NotFound => {
                            AppError::invalid("email", "no user has this e-mail; create the account first")
                        }
                        e => e,
                    })?;
                    st.app.set_member(Some(&s.user), &a.product, u.id, roles_of(&form)?).await?;
                    Ok(format!("{} added.", u.name))
                }
                "remove" => {
                    st.app.remove_member(Some(&s.user), &a.product, user_id()?).await?;
                    Ok("Member removed.".to_string())
                }
                _ => Err(AppError::invalid("action", "is unknown")),
            }
        }
        .await;
        match done {
            Ok(n) => Ok(redirect_with(&back, "notice", &n)),
            Err(e @ (AppError::Internal(_) | AppError::AdminOnly)) => Err(e.into()),
            Err(e) => Ok(redirect_with(&back, "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}
