//! Short-lived caches of what every API request reads before its real work: the token and its
//! user, and the caller's access to a product; and the workflows, by product version.
//!
//! The database stays the only source of truth. Token and access entries live two seconds and
//! are dropped at once when this process changes what they hold (a revoked token, a changed user,
//! a membership, a product); a change made by another process sharing the database is seen
//! within those two seconds. Workflow entries are checked against the product version read with
//! the access, and every workflow change bumps that version.

use keel_domain::product::{Product, ProductKey, Roles};
use keel_domain::user::{ApiToken, User};
use keel_domain::workflow::Workflow;
use keel_domain::{ProductId, TokenId, UserId};
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// How long a token or access entry is trusted.
pub const TTL: Duration = Duration::from_secs(2);
/// Entries kept at most per map; past it the map starts afresh (it refills in one TTL).
const MAX_ENTRIES: usize = 50_000;

type TokenEntry = (Instant, Arc<(ApiToken, User)>);
type AccessEntry = (Instant, Product, Roles);

/// The caches of one process.
#[derive(Default)]
pub(crate) struct Caches {
    tokens: RwLock<HashMap<TokenId, TokenEntry>>,
    access: RwLock<HashMap<(UserId, ProductKey), AccessEntry>>,
    workflows: RwLock<HashMap<ProductId, (i64, Arc<Workflow>)>>,
}

// Read-mostly maps: readers share the lock. They hold plain data, so a panic elsewhere cannot
// leave them half-updated and a poisoned lock is safe to use.
fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(PoisonError::into_inner)
}

fn bounded<K, V>(map: &mut HashMap<K, V>) {
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
}

impl Caches {
    pub(crate) fn token(&self, id: TokenId) -> Option<Arc<(ApiToken, User)>> {
        read(&self.tokens).get(&id).filter(|(t, _)| t.elapsed() < TTL).map(|(_, e)| e.clone())
    }

    pub(crate) fn put_token(&self, entry: Arc<(ApiToken, User)>) {
        let mut map = write(&self.tokens);
        bounded(&mut map);
        map.insert(entry.0.id, (Instant::now(), entry));
    }

    pub(crate) fn forget_token(&self, id: TokenId) {
        write(&self.tokens).remove(&id);
    }

    /// Forgets everything cached about a user: their tokens and their product access.
    pub(crate) fn forget_user(&self, user: UserId) {
        write(&self.tokens).retain(|_, (_, e)| e.0.user_id != user);
        write(&self.access).retain(|(u, _), _| *u != user);
    }

    pub(crate) fn access(&self, user: UserId, key: &ProductKey) -> Option<(Product, Roles)> {
        let map = read(&self.access);
        map.get(&(user, key.clone())).filter(|(t, _, _)| t.elapsed() < TTL).map(|(_, p, r)| (p.clone(), *r))
    }

    pub(crate) fn put_access(&self, user: UserId, product: Product, roles: Roles) {
        let mut map = write(&self.access);
        bounded(&mut map);
        map.insert((user, product.key.clone()), (Instant::now(), product, roles));
    }

    /// Forgets every caller's access to a product (after it changed).
    pub(crate) fn forget_product(&self, product: ProductId) {
        write(&self.access).retain(|_, (_, p, _)| p.id != product);
    }

    pub(crate) fn workflow(&self, product: ProductId, version: i64) -> Option<Arc<Workflow>> {
        read(&self.workflows).get(&product).filter(|(v, _)| *v == version).map(|(_, w)| w.clone())
    }

    pub(crate) fn put_workflow(&self, product: ProductId, version: i64, w: Arc<Workflow>) {
        let mut map = write(&self.workflows);
        bounded(&mut map);
        map.insert(product, (version, w));
    }
}
