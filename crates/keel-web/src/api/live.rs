//! JSON API: live updates as Server-Sent Events.
//!
//! `GET /api/v1/products/{product}/stream` sends a `change` event per history event of the
//! product (object, key, field, actor; never values), with the event id as the SSE `id`, so a
//! browser's `EventSource` resumes after a reconnect with `Last-Event-ID` and misses nothing.
//! `GET /api/v1/notifications/stream` sends the caller's inbox state when it changes. Both read
//! the database when the process is woken (see `keel_app::live`), so every server process on
//! one PostgreSQL serves every change.
//!
//! Memory per client is bounded: a stream holds at most one page of changes and reads the next
//! only when the client has taken the last; a client that takes nothing for [`SLOW_CLIENT`] is
//! dropped (it reconnects and resumes from its last id).

use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::extract::{ApiUser, Query};
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use keel_api::live::{InboxStateOut, LiveChangeOut};
use keel_api::Problem;
use keel_app::live::{LiveChange, Tick};
use keel_app::App;
use keel_domain::user::User;
use keel_domain::ProductId;
use serde::Deserialize;
use std::collections::{BTreeSet, VecDeque};
use std::convert::Infallible;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::{error::RecvError, Receiver};
use utoipa::{IntoParams, OpenApi};

/// Changes read from the history at once.
const PAGE: u32 = 100;
/// How far below the highest event id read a stream reads again (see `product_stream`).
const OVERLAP: i64 = 200;
/// A client that has not taken an event for this long is dropped.
pub const SLOW_CLIENT: Duration = Duration::from_secs(30);
/// A stream ends after this long; the browser reconnects at once and resumes (so a removed
/// membership or a revoked token is noticed, and no connection lives for ever).
const LIFETIME: Duration = Duration::from_secs(30 * 60);
/// With no wake-up for this long a stream looks at the history anyway (and re-checks access).
const RECHECK: Duration = Duration::from_secs(15);
/// Comment lines that keep proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The inbox is read at most this often per stream.
const INBOX_MIN_GAP: Duration = Duration::from_millis(500);

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/products/{product}/stream", get(product_stream))
        .route("/api/v1/notifications/stream", get(inbox_stream))
}

/// The OpenAPI paths of this module.
#[derive(OpenApi)]
#[openapi(paths(product_stream, inbox_stream), components(schemas(LiveChangeOut, InboxStateOut)),
    tags((name = "live", description = "Live updates (Server-Sent Events)")))]
pub struct Doc;

/// Where a product stream starts.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Send the changes after this event id (as `Last-Event-ID` does; the header wins).
    pub after: Option<i64>,
}

/// `Last-Event-ID`, validated.
fn last_event_id(headers: &HeaderMap) -> ApiResult<Option<i64>> {
    let Some(v) = headers.get("last-event-id") else { return Ok(None) };
    match v.to_str().ok().and_then(|s| s.trim().parse::<i64>().ok()) {
        Some(id) if id >= 0 => Ok(Some(id)),
        _ => Err(ApiError::invalid("Last-Event-ID", "must be an event id (a whole number, 0 or more)")),
    }
}

/// Headers every stream carries: nothing may cache it, and proxies must not buffer it.
fn streaming(body: impl IntoResponse) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

fn change_event(product: &str, c: LiveChange) -> Event {
    let out = LiveChangeOut {
        id: c.id,
        product: product.to_string(),
        object: c.object.to_string(),
        object_id: c.object_id,
        key: c.key,
        field: c.field,
        actor_id: c.actor_id,
        actor: c.actor,
    };
    Event::default()
        .event("change")
        .id(c.id.to_string())
        .retry(Duration::from_secs(2))
        .json_data(&out)
        .unwrap_or_default()
}

/// Waits until a wake-up may concern `product` (any product: `None`), the recheck time
/// passes, or the hub closes (`false`).
async fn wait(rx: &mut Receiver<Tick>, product: Option<ProductId>) -> bool {
    let until = tokio::time::Instant::now() + RECHECK;
    loop {
        match tokio::time::timeout_at(until, rx.recv()).await {
            Err(_) => return true,
            Ok(Ok(t)) if product.is_none_or(|p| t.concerns(p)) => return true,
            Ok(Ok(_)) => continue,
            // Missed wake-ups: read the history, which has everything.
            Ok(Err(RecvError::Lagged(_))) => return true,
            Ok(Err(RecvError::Closed)) => return false,
        }
    }
}

/// The product's changes as they happen: one `change` event per history event (see
/// `LiveChangeOut`), keep-alive comments every 15 s. Without `Last-Event-ID` (or `after`) it
/// starts with the next change; with it, it first sends every change after that id.
#[utoipa::path(get, path = "/api/v1/products/{product}/stream", tag = "live",
    params(("product" = String, Path, description = "Product key"),
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event id"),
        StreamQuery),
    responses((status = 200, description = "text/event-stream of `change` events carrying LiveChangeOut", content_type = "text/event-stream"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn product_stream(
    State(s): State<AppState>,
    u: ApiUser,
    Path(product): Path<String>,
    Query(q): Query<StreamQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let from = last_event_id(&headers)?.or(q.after);
    if from.is_some_and(|a| a < 0) {
        return Err(ApiError::invalid("after", "must be an event id (a whole number, 0 or more)"));
    }
    let a = s.app.access(&u.user, &product).await?;
    // Subscribe before reading where to start, so nothing commits unseen in between.
    let rx = s.app.live_ticks().await?;
    let last = match from {
        Some(id) => id,
        None => s.app.live_newest(&a).await?,
    };
    struct St {
        app: App,
        user: User,
        key: String,
        pid: ProductId,
        rx: Receiver<Tick>,
        /// Where the stream started: nothing at or before it is sent.
        start: i64,
        /// The highest event id read.
        scanned: i64,
        /// Ids sent within the overlap window below `scanned`.
        sent: BTreeSet<i64>,
        queue: VecDeque<LiveChange>,
        handed: Option<Instant>,
        started: Instant,
    }
    let st = St {
        app: s.app.clone(),
        user: u.user,
        key: a.product.key.to_string(),
        pid: a.product.id,
        rx,
        start: last,
        scanned: last,
        sent: BTreeSet::new(),
        queue: VecDeque::new(),
        handed: None,
        started: Instant::now(),
    };
    let stream = futures_util::stream::unfold(st, |mut st| async move {
        if st.handed.take().is_some_and(|t| t.elapsed() > SLOW_CLIENT) {
            return None;
        }
        loop {
            if let Some(c) = st.queue.pop_front() {
                st.handed = Some(Instant::now());
                st.sent.insert(c.id);
                let ev = change_event(&st.key, c);
                return Some((Ok::<_, Infallible>(ev), st));
            }
            if st.started.elapsed() > LIFETIME {
                return None;
            }
            // Access is checked again before every read: a member removed meanwhile stops here.
            let a = st.app.access(&st.user, &st.key).await.ok()?;
            // Read again a little below the highest id read: on PostgreSQL a transaction may take
            // a lower id and commit after a higher one was read; what was sent is skipped.
            let floor = (st.scanned - OVERLAP).max(st.start);
            st.sent = st.sent.split_off(&floor);
            let mut cursor = floor;
            while st.queue.len() < PAGE as usize {
                let sent = &st.sent;
                let (changes, read_to) =
                    st.app.live_changes(&a, cursor, PAGE, &|id| sent.contains(&id)).await.ok()?;
                if read_to == cursor {
                    break;
                }
                cursor = read_to;
                st.scanned = st.scanned.max(read_to);
                st.queue.extend(changes);
            }
            if !st.queue.is_empty() {
                continue;
            }
            if !wait(&mut st.rx, Some(st.pid)).await {
                return None;
            }
        }
    });
    Ok(streaming(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))))
}

async fn inbox_state(app: &App, user: &User) -> Option<InboxStateOut> {
    let unread = app.notifications(user, true, usize::MAX).await.ok()?.len();
    let newest = app.notifications(user, false, 1).await.ok()?.first().map_or(0, |n| n.id.0);
    Some(InboxStateOut { unread, newest })
}

/// The caller's inbox: an `inbox` event (InboxStateOut) at once and whenever the unread count or
/// the newest notification changes.
#[utoipa::path(get, path = "/api/v1/notifications/stream", tag = "live",
    responses((status = 200, description = "text/event-stream of `inbox` events carrying InboxStateOut", content_type = "text/event-stream"),
        (status = 401, body = Problem)))]
pub async fn inbox_stream(State(s): State<AppState>, u: ApiUser) -> ApiResult<Response> {
    let rx = s.app.live_ticks().await?;
    struct St {
        app: App,
        user: User,
        rx: Receiver<Tick>,
        sent: Option<(usize, i64)>,
        started: Instant,
        first: bool,
    }
    let st = St { app: s.app.clone(), user: u.user, rx, sent: None, started: Instant::now(), first: true };
    let stream = futures_util::stream::unfold(st, |mut st| async move {
        loop {
            if !st.first {
                if st.started.elapsed() > LIFETIME || !wait(&mut st.rx, None).await {
                    return None;
                }
                // Several wake-ups in a burst become one read.
                tokio::time::sleep(INBOX_MIN_GAP).await;
            }
            st.first = false;
            let now = inbox_state(&st.app, &st.user).await?;
            if st.sent == Some((now.unread, now.newest)) {
                continue;
            }
            st.sent = Some((now.unread, now.newest));
            let ev = Event::default()
                .event("inbox")
                .retry(Duration::from_secs(2))
                .json_data(&now)
                .unwrap_or_default();
            return Some((Ok::<_, Infallible>(ev), st));
        }
    });
    Ok(streaming(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))))
}
