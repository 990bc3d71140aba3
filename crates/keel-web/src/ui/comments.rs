//! The comments thread shown on the pages of items, initiatives, opportunities, feedback and
//! releases; watching; and the Inbox page of notifications.

use super::form::FormData;
use super::view::{self, ago, date_time};
use super::{finish, redirect_with, render, see_other, Flash, Layout};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use keel_app::comments::Target;
use keel_app::AppError;
use keel_domain::comment::{Reason, Subject};
use keel_domain::RecordId;
use serde::Deserialize;

/// The routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/comments/{kind}/{reference}", post(create))
        .route("/comments/{id}/edit", post(edit))
        .route("/comments/{id}/delete", post(delete))
        .route("/watch/{kind}/{reference}", post(watch))
        .route("/inbox", get(inbox))
        .route("/inbox/read-all", post(read_all))
        .route("/inbox/{id}/open", post(open))
        .route("/inbox/{id}/read", post(read))
}

struct Row {
    id: i64,
    author: String,
    initials: String,
    when: String,
    when_full: String,
    html: String,
    body: String,
    edited: bool,
    deleted: bool,
    mine: bool,
    may_delete: bool,
}

#[derive(Template)]
#[template(path = "comments_thread.html")]
struct Thread {
    csrf: String,
    kind: &'static str,
    reference: String,
    rows: Vec<Row>,
    watching: bool,
    handles: String,
}

impl Thread {
    /// The JSON API's path of watching the target (the in-place Watch button uses it).
    fn watch_api(&self) -> String {
        let seg = match self.kind {
            "item" => "items",
            "initiative" => "initiatives",
            "opportunity" => "opportunities",
            "release" => "releases",
            other => other,
        };
        format!("/api/v1/{seg}/{}/watch", view::url_encode(&self.reference))
    }
}

/// The page of a target without its fragment (flash messages go in its query).
fn back(t: &Target) -> String {
    t.link.split('#').next().unwrap_or(&t.link).to_string()
}

/// The thread of `t` as HTML, to put into its page. `reference` names `t` in URLs (an item key or
/// a record id).
pub(crate) async fn thread(
    st: &AppState,
    s: &UiSession,
    t: &Target,
    reference: &str,
) -> Result<String, AppError> {
    let views = st.app.comments(t).await?;
    let rows = views
        .into_iter()
        .map(|v| {
            let c = &v.comment;
            let mine = c.created_by == Some(s.user.id);
            Row {
                id: c.id.0,
                initials: super::view::initials(&v.author),
                author: v.author,
                when: ago(c.created_at),
                when_full: date_time(c.created_at),
                html: if c.data.deleted { String::new() } else { crate::markdown::render(&c.data.body) },
                body: c.data.body.clone(),
                edited: c.data.edited,
                deleted: c.data.deleted,
                mine,
                may_delete: mine || s.user.is_admin,
            }
        })
        .collect();
    let handles = st
        .app
        .mention_handles(t)
        .await?
        .into_iter()
        .map(|(h, n)| format!("@{h} ({n})"))
        .collect::<Vec<_>>()
        .join(", ");
    let page = Thread {
        csrf: s.csrf.clone(),
        kind: t.subject.as_str(),
        reference: reference.to_string(),
        rows,
        watching: st.app.is_watching(t).await?,
        handles,
    };
    page.render().map_err(|e| AppError::Internal(keel_store::StoreError::other(e)))
}

async fn target(st: &AppState, s: &UiSession, kind: &str, reference: &str) -> Result<Target, AppError> {
    let subject = Subject::parse(kind).ok_or(AppError::NotFound)?;
    st.app.comment_target(&s.user, subject, reference).await
}

/// POST /comments/{kind}/{reference}: posts a comment.
async fn create(
    State(st): State<AppState>,
    s: UiSession,
    Path((kind, reference)): Path<(String, String)>,
    form: FormData,
) -> Response {
    let r = async {
        s.check_csrf(form.get("csrf"))?;
        let t = target(&st, &s, &kind, &reference).await?;
        Ok(match st.app.add_comment(&t, form.get("body")).await {
            Ok(c) => see_other(&format!("{}#comment-{}", back(&t), c.id.0)),
            Err(e @ AppError::Invalid(_)) => redirect_with(&back(&t), "error", &super::message(&e)),
            Err(e) => return Err(e.into()),
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /comments/{id}/edit: changes one's own comment.
async fn edit(State(st): State<AppState>, s: UiSession, Path(id): Path<i64>, form: FormData) -> Response {
    let r = async {
        s.check_csrf(form.get("csrf"))?;
        let (_, t) = st.app.comment_by_id(&s.user, RecordId(id)).await?;
        let version = form.version()?;
        Ok(match st.app.edit_comment(&s.user, RecordId(id), form.get("body"), version).await {
            Ok(_) => see_other(&format!("{}#comment-{id}", back(&t))),
            Err(e @ (AppError::Invalid(_) | AppError::StaleVersion { .. } | AppError::Conflict(_))) => {
                redirect_with(&back(&t), "error", &super::message(&e))
            }
            Err(e) => return Err(e.into()),
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /comments/{id}/delete: deletes a comment (softly).
async fn delete(State(st): State<AppState>, s: UiSession, Path(id): Path<i64>, form: FormData) -> Response {
    let r = async {
        s.check_csrf(form.get("csrf"))?;
        let (_, t) = st.app.comment_by_id(&s.user, RecordId(id)).await?;
        st.app.delete_comment(&s.user, RecordId(id)).await?;
        Ok(redirect_with(&format!("{}#comments", back(&t)), "notice", "Comment deleted."))
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /watch/{kind}/{reference}: `watching=1` starts watching, anything else stops.
async fn watch(
    State(st): State<AppState>,
    s: UiSession,
    Path((kind, reference)): Path<(String, String)>,
    form: FormData,
) -> Response {
    let r = async {
        s.check_csrf(form.get("csrf"))?;
        let t = target(&st, &s, &kind, &reference).await?;
        let on = st.app.set_watching(&t, form.get("watching") == "1").await?;
        let msg = if on { "You are watching this." } else { "You stopped watching this." };
        Ok(redirect_with(&back(&t), "notice", msg))
    }
    .await;
    finish(&st, &s, r).await
}

struct NoteRow {
    id: i64,
    unread: bool,
    reason: &'static str,
    actor: String,
    label: String,
    text: String,
    product: String,
    when: String,
    when_full: String,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    l: Layout,
    rows: Vec<NoteRow>,
    all: bool,
    unread: usize,
}

fn reason_label(r: Reason) -> &'static str {
    match r {
        Reason::Mention => "mentioned you",
        Reason::Comment => "commented",
        Reason::Assigned => "assigned you",
        Reason::Status => "changed the status",
        Reason::Proposal => "asks for your decision",
        Reason::Decision => "decided",
    }
}

/// Which notifications the Inbox shows.
#[derive(Debug, Default, Deserialize)]
struct InboxQuery {
    /// `all`, or unread only otherwise.
    #[serde(default)]
    show: Option<String>,
    #[serde(flatten)]
    flash: Flash,
}

/// GET /inbox: the caller's notifications, unread ones first by default.
async fn inbox(State(st): State<AppState>, s: UiSession, Query(q): Query<InboxQuery>) -> Response {
    let r = async {
        let all = q.show.as_deref() == Some("all");
        let list = st.app.notifications(&s.user, !all, 200).await?;
        let products = st.app.products_for(&s.user).await?;
        let rows = list
            .iter()
            .map(|n| NoteRow {
                id: n.id.0,
                unread: n.state != "read",
                reason: reason_label(n.data.reason),
                actor: n.data.actor_name.clone(),
                label: n.data.label.clone(),
                text: n.data.text.clone(),
                product: products
                    .iter()
                    .find(|(p, _)| Some(p.id) == n.product_id)
                    .map(|(p, _)| p.key.to_string())
                    .unwrap_or_default(),
                when: ago(n.created_at),
                when_full: date_time(n.created_at),
            })
            .collect();
        let l = Layout::new(&st, &s, "Inbox", "inbox", None).await.flash(&q.flash);
        let unread = l.unread;
        render(&InboxPage { l, rows, all, unread })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /inbox/{id}/open: marks a notification read and opens its object.
async fn open(State(st): State<AppState>, s: UiSession, Path(id): Path<i64>, form: FormData) -> Response {
    let r = async {
        s.check_csrf(form.get("csrf"))?;
        let n = st.app.mark_read(&s.user, RecordId(id)).await?;
        Ok(see_other(&n.data.link))
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /inbox/{id}/read: marks one notification read and stays on the Inbox (`show=all` keeps
/// that view).
async fn read(State(st): State<AppState>, s: UiSession, Path(id): Path<i64>, form: FormData) -> Response {
    let r = async {
        s.check_csrf(form.get("csrf"))?;
        st.app.mark_read(&s.user, RecordId(id)).await?;
        let back = if form.get("show") == "all" { "/inbox?show=all" } else { "/inbox" };
        Ok(redirect_with(back, "notice", "Marked read."))
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /inbox/read-all: marks every notification read.
async fn read_all(State(st): State<AppState>, s: UiSession, form: FormData) -> Response {
    let r = async {
        s.check_csrf(form.get("csrf"))?;
        let n = st.app.mark_all_read(&s.user).await?;
        let msg = match n {
            0 => "Nothing was unread.".to_string(),
            1 => "1 notification marked read.".to_string(),
            n => format!("{n} notifications marked read."),
        };
        Ok(redirect_with("/inbox", "notice", &msg))
    }
    .await;
    finish(&st, &s, r).await
}
