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
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long a token or access entry is trusted.
pub const TTL: Duration = Duration::from_secs(2);
/// Entries kept at most per map; past it the map starts afresh (it refills in one TTL).
const MAX_ENTRIES: usize = 50_000;

type TokenEntry = (Instant, ApiToken, User);
type AccessEntry = (Instant, Product, Roles);

/// The caches of one process.
#[derive(Default)]
pub(crate) struct Caches {
    tokens: Mutex<HashMap<TokenId, TokenEntry>>,
    access: Mutex<HashMap<(UserId, ProductKey), AccessEntry>>,
    workflows: Mutex<HashMap<ProductId, (i64, Arc<Workflow>)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The maps hold plain data; a panic elsewhere cannot leave them half-updated.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn bounded<K, V>(map: &mut HashMap<K, V>) {
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
}

impl Caches {
    pub(crate) fn token(&self, id: TokenId) -> Option<(ApiToken, User)> {
        let map = lock(&self.tokens);
        map.get(&id).filter(|(t, _, _)| t.elapsed() < TTL).map(|(_, tok, u)| (tok.clone(), u.clone()))
    }

    pub(crate) fn put_token(&self, token: ApiToken, user: User) {
        let mut map = lock(&self.tokens);
        bounded(&mut map);
        map.insert(token.id, (Instant::now(), token, user));
    }

    pub(crate) fn forget_token(&self, id: TokenId) {
        lock(&self.tokens).remove(&id);
    }

    /// Forgets everything cached about a user: their tokens and their product access.
    pub(crate) fn forget_user(&self, user: UserId) {
        lock(&self.tokens).retain(|_, (_, t, _)| t.user_id != user);
        lock(&self.access).retain(|(u, _), _| *u != user);
    }

    pub(crate) fn access(&self, user: UserId, key: &ProductKey) -> Option<(Product, Roles)> {
        let map = lock(&self.access);
        map.get(&(user, key.clone())).filter(|(t, _, _)| t.elapsed() < TTL).map(|(_, p, r)| (p.clone(), *r))
    }

    pub(crate) fn put_access(&self, user: UserId, product: Product, roles: Roles) {
        let mut map = lock(&self.access);
        bounded(&mut map);
        map.insert((user, product.key.clone()), (Instant::now(), product, roles));
    }

    /// Forgets every caller's access to a product (after it changed).
    pub(crate) fn forget_product(&self, product: ProductId) {
        lock(&self.access).retain(|_, (_, p, _)| p.id != product);
    }

    pub(crate) fn workflow(&self, product: ProductId, version: i64) -> Option<Arc<Workflow>> {
        lock(&self.workflows).get(&product).filter(|(v, _)| *v == version).map(|(_, w)| w.clone())
    }

    pub(crate) fn put_workflow(&self, product: ProductId, version: i64, w: Arc<Workflow>) {
        let mut map = lock(&self.workflows);
        bounded(&mut map);
        map.insert(product, (version, w));
    }
}
