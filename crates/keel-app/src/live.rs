//! Live updates: what changed in a product since an event id, for the streams that keep open
//! pages current.
//!
//! The history is the source of truth. The store wakes this process when events commit
//! (PostgreSQL: LISTEN/NOTIFY, so a change through any server process arrives; SQLite: after
//! this process's commits and by polling), the [`Hub`] passes the wake-up to every open stream
//! through a bounded broadcast channel, and each stream then reads its product's events after
//! the last one it sent. A stream that misses wake-ups (lagging) only reads a longer page next
//! time; a reconnecting client names its last event id and misses nothing.

use crate::{App, AppResult, ProductAccess};
use keel_domain::event::ObjectKind;
use keel_domain::{ItemId, ProductId, UserId};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{broadcast, OnceCell};

/// Wake-ups kept per stream before it lags (it then reads the history again, nothing is lost).
const TICKS_BUFFERED: usize = 256;

/// A wake-up: events committed, in `product` (`None`: in any product), up to event `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// The product, when known.
    pub product: Option<ProductId>,
    /// The newest event id (0 when unknown).
    pub id: i64,
}

impl Tick {
    /// Whether this wake-up may concern `product`.
    pub fn concerns(&self, product: ProductId) -> bool {
        self.product.is_none_or(|p| p == product)
    }
}

/// The process's fan-out of wake-ups, started on the first subscription.
pub(crate) struct Hub {
    tx: broadcast::Sender<Tick>,
    started: OnceCell<()>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub { tx: broadcast::channel(TICKS_BUFFERED).0, started: OnceCell::new() }
    }
}

/// One change as the streams send it: what changed and who changed it, never the values.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveChange {
    /// The event id (the stream's `id:`, for resuming).
    pub id: i64,
    /// The kind of object (`item`, `sprint`, `comment`, …).
    pub object: &'static str,
    /// The object's id.
    pub object_id: i64,
    /// The item's key, for items.
    pub key: Option<String>,
    /// The field changed (`created`, `status`, `rank`, `deleted`, …).
    pub field: String,
    /// Who changed it.
    pub actor_id: Option<i64>,
    /// Their display name.
    pub actor: Option<String>,
}

/// Objects that are one person's own business: their events are not sent to the product's
/// other members (the inbox stream covers notifications).
fn private(kind: ObjectKind) -> bool {
    matches!(kind, ObjectKind::Notification | ObjectKind::Watch)
}

impl App {
    /// Subscribes to this process's wake-ups, starting to watch the store on first use.
    pub async fn live_ticks(&self) -> AppResult<broadcast::Receiver<Tick>> {
        let hub = self.live.clone();
        let tx = hub.tx.clone();
        hub.started
            .get_or_try_init(|| async {
                let sink: keel_store::EventSink = Arc::new(move |product, id| {
                    // No receiver is fine: nobody is watching right now.
                    let _ = tx.send(Tick { product, id });
                });
                self.store.watch_events(sink).await
            })
            .await?;
        Ok(hub.tx.subscribe())
    }

    /// The newest event id of the product (where a stream without `Last-Event-ID` starts).
    pub async fn live_newest(&self, a: &ProductAccess) -> AppResult<i64> {
        Ok(self.store.flow_watermark(a.product.id).await?)
    }

    /// The product's changes after event `after`, oldest first, from at most `limit` events,
    /// leaving out those `skip` names (already sent); the second value is the id of the last
    /// event read (private and skipped ones included), to continue from.
    pub async fn live_changes(
        &self,
        a: &ProductAccess,
        after: i64,
        limit: u32,
        skip: &(dyn Fn(i64) -> bool + Sync),
    ) -> AppResult<(Vec<LiveChange>, i64)> {
        let events = self.store.product_events(a.product.id, Some(after), limit).await?;
        let last = events.last().map_or(after, |e| e.id);
        let mut keys: HashMap<i64, Option<String>> = HashMap::new();
        let mut names: HashMap<UserId, Option<String>> = HashMap::new();
        let mut out = Vec::with_capacity(events.len());
        for e in events.into_iter().filter(|e| !private(e.object) && !skip(e.id)) {
            let key = if e.object == ObjectKind::Item {
                match keys.get(&e.object_id) {
                    Some(k) => k.clone(),
                    None => {
                        let k = match self.store.item(ItemId(e.object_id)).await {
                            Ok(i) => Some(i.key),
                            // A deleted item: its last state is in the event.
                            Err(_) => e.old.get("key").and_then(|k| k.as_str()).map(str::to_string),
                        };
                        keys.insert(e.object_id, k.clone());
                        k
                    }
                }
            } else {
                None
            };
            let actor = match e.actor_id {
                Some(u) => match names.get(&u) {
                    Some(n) => n.clone(),
                    None => {
                        let n = self.store.user(u).await.ok().map(|u| u.name);
                        names.insert(u, n.clone());
                        n
                    }
                },
                None => None,
            };
            out.push(LiveChange {
                id: e.id,
                object: e.object.as_str(),
                object_id: e.object_id,
                key,
                field: e.field,
                actor_id: e.actor_id.map(|u| u.0),
                actor,
            });
        }
        Ok((out, last))
    }
}
