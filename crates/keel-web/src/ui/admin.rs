//! User administration (administrators only): create accounts, activate or deactivate them,
//! grant or take back administration.

use super::form::FormData;
use super::view::date;
use super::{finish, message, redirect_with, render, Flash, Layout, UiResult};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use keel_app::users::UserInput;
use keel_app::AppError;
use keel_domain::UserId;
use keel_store::Page;

struct UserRow {
    id: i64,
    name: String,
    email: String,
    is_admin: bool,
    is_active: bool,
    is_me: bool,
    since: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct Users {
    l: Layout,
    users: Vec<UserRow>,
}

/// GET /admin/users
pub(crate) async fn users(State(st): State<AppState>, s: UiSession, Query(f): Query<Flash>) -> Response {
    let r = async {
        let list = st.app.list_users(Some(&s.user), &Page::first(500)).await?;
        let users = list
            .into_iter()
            .map(|u| UserRow {
                id: u.id.0,
                is_me: u.id == s.user.id,
                name: u.name,
                email: u.email.as_str().to_string(),
                is_admin: u.is_admin,
                is_active: u.is_active,
                since: date(u.created_at),
            })
            .collect();
        let l = Layout::new(&st, &s, "Users", "admin", None).await.flash(&f);
        render(&Users { l, users })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /admin/users: `action` is `create`, `activate`, `deactivate`, `grant_admin` or
/// `revoke_admin`.
pub(crate) async fn users_update(State(st): State<AppState>, s: UiSession, form: FormData) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        if !s.user.is_admin {
            return Err(AppError::AdminOnly.into());
        }
        let id = || {
            form.get("user_id")
                .parse::<i64>()
                .map(UserId)
                .map_err(|_| AppError::invalid("user_id", "is missing"))
        };
        let done: Result<String, AppError> = async {
            let me = Some(&s.user);
            match form.get("action") {
                "create" => {
                    let name = form.get("name").trim();
                    let input = UserInput {
                        email: form.get("email").trim().to_string(),
                        name: (!name.is_empty()).then(|| name.to_string()),
                        password: form.get("password").to_string(),
                        is_admin: form.get("is_admin") == "1",
                    };
                    let u = st.app.create_user(me, input).await?;
                    Ok(format!(
                        "Account for {} created. Add them to a product from its Members page.",
                        u.name
                    ))
                }
                "activate" => Ok(format!(
                    "{} can sign in again.",
                    st.app.update_user(me, id()?, None, None, Some(true)).await?.name
                )),
                "deactivate" => Ok(format!(
                    "{} is deactivated and signed out everywhere.",
                    st.app.update_user(me, id()?, None, None, Some(false)).await?.name
                )),
                "grant_admin" => Ok(format!(
                    "{} is now an administrator.",
                    st.app.update_user(me, id()?, None, Some(true), None).await?.name
                )),
                "revoke_admin" => Ok(format!(
                    "{} is no longer an administrator.",
                    st.app.update_user(me, id()?, None, Some(false), None).await?.name
                )),
                _ => Err(AppError::invalid("action", "is unknown")),
            }
        }
        .await;
        match done {
            Ok(n) => Ok(redirect_with("/admin/users", "notice", &n)),
            Err(e @ AppError::Internal(_)) => Err(e.into()),
            Err(e) => Ok(redirect_with("/admin/users", "error", &message(&e))),
        }
    }
    .await;
    finish(&st, &s, r).await
}
