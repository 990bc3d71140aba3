//! The user's API tokens: create one (its secret is shown once, on the answer to the POST, and
//! never again) and revoke.

use super::form::FormData;
use super::view::{ago, date};
use super::{finish, message, redirect_with, render, Flash, Layout, UiResult};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use keel_app::AppError;
use keel_domain::TokenId;

struct TokenRow {
    id: i64,
    name: String,
    created: String,
    last_used: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct Tokens {
    l: Layout,
    tokens: Vec<TokenRow>,
    /// A token just created: (name, secret), shown this once.
    created: Option<(String, String)>,
}

async fn show(st: &AppState, s: &UiSession, f: &Flash, created: Option<(String, String)>) -> UiResult {
    let list = st.app.tokens_of(&s.user, s.user.id).await?;
    let tokens = list
        .into_iter()
        .map(|t| TokenRow {
            id: t.id.0,
            name: t.name,
            created: date(t.created_at),
            last_used: t.last_used_at.map_or_else(|| "never".to_string(), ago),
            revoked: t.revoked_at.is_some(),
        })
        .collect();
    let l = Layout::new(st, s, "API tokens", "tokens", None).await.flash(f);
    render(&Tokens { l, tokens, created })
}

/// GET /settings/tokens
pub(crate) async fn page(State(st): State<AppState>, s: UiSession, Query(f): Query<Flash>) -> Response {
    let r = show(&st, &s, &f, None).await;
    finish(&st, &s, r).await
}

/// POST /settings/tokens: `action` is `create` (with `name`) or `revoke` (with `token_id`).
/// Creating answers with the page itself rather than a redirect: the secret must not travel in
/// a URL, and it is shown only this once.
pub(crate) async fn update(State(st): State<AppState>, s: UiSession, form: FormData) -> Response {
    let r: UiResult = async {
        s.check_csrf(form.get("csrf"))?;
        match form.get("action") {
            "create" => match st.app.create_token(&s.user, form.get("name")).await {
                Ok(t) => show(&st, &s, &Flash::default(), Some((t.record.name, t.token))).await,
                Err(e @ AppError::Internal(_)) => Err(e.into()),
                Err(e) => Ok(redirect_with("/settings/tokens", "error", &message(&e))),
            },
            "revoke" => {
                let id = form.get("token_id").parse::<i64>().map(TokenId).map_err(|_| AppError::NotFound)?;
                let t = st.app.revoke_token(&s.user, id).await?;
                Ok(redirect_with("/settings/tokens", "notice", &format!("Token “{}” revoked.", t.name)))
            }
            _ => Ok(redirect_with("/settings/tokens", "error", "Unknown action.")),
        }
    }
    .await;
    finish(&st, &s, r).await
}
