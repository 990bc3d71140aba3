//! Keel's use cases: every command a user can give, authenticated, checked against the
//! product's decision rights, and turned into store calls (each one transaction with its history
//! events).
//!
//! The web layer and the CLI call only this crate; neither talks to the store directly for
//! anything that changes data.
#![forbid(unsafe_code)]

pub mod auth;
pub mod board;
mod cache;
pub mod ceremonies;
pub mod comments;
pub mod demo;
mod demo_plan;
mod demo_pm;
pub mod discovery;
pub mod error;
pub mod forecast;
pub mod import;
pub mod items;
pub mod launch;
pub mod live;
pub mod market;
pub mod metrics;
pub mod outcomes;
pub mod poker;
pub mod portfolio;
pub mod prd;
pub mod products;
pub mod proposals;
pub mod readiness;
pub mod records;
pub mod roadmap;
pub mod search;
pub mod sprints;
pub mod users;
pub mod vision;
pub mod webhooks;
pub mod widget;

pub use error::{AppError, AppResult};

use keel_domain::product::{Product, Roles};
use keel_domain::rights::{Action, Decision, RightsTable};
use keel_domain::user::User;
use keel_domain::{ProposalId, Timestamp};
use keel_store::{Store, WriteCtx};
use std::sync::Arc;

/// The application: the store and the rules, shared by every request.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    rights: Arc<RightsTable>,
    settings: Arc<Settings>,
    /// Tokens, product access and workflows, briefly (see the `cache` module).
    caches: Arc<cache::Caches>,
    /// Wake-ups for live updates (see the `live` module).
    live: Arc<live::Hub>,
}

/// Tunables of the application layer, with production defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a browser session lasts, in seconds.
    pub session_ttl_secs: i64,
    /// Failed sign-ins per account within the window before the account is locked.
    pub max_failures_per_account: i64,
    /// Failed sign-ins per address within the window before the address is locked.
    pub max_failures_per_address: i64,
    /// The throttling window, in seconds.
    pub failure_window_secs: i64,
    /// Outgoing webhook delivery.
    pub webhooks: webhooks::WebhookSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            session_ttl_secs: 14 * 24 * 3600,
            max_failures_per_account: 5,
            max_failures_per_address: 30,
            failure_window_secs: 15 * 60,
            webhooks: webhooks::WebhookSettings::default(),
        }
    }
}

/// The current time.
pub fn now() -> Timestamp {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    Timestamp(d.as_millis() as i64)
}

/// What a command that goes through decision rights produced: the change itself, or a
/// proposal waiting for a decider.
#[derive(Debug, Clone)]
pub enum Outcome<T> {
    /// Applied.
    Done(T),
    /// Stored as a proposal (HTTP 202). Boxed: a proposal is much larger than most results.
    Proposed(Box<keel_domain::proposal::Proposal>),
}

/// A signed-in user acting in one product: who, where, with which roles.
#[derive(Debug, Clone)]
pub struct ProductAccess {
    /// The user.
    pub user: User,
    /// The product.
    pub product: Product,
    /// The roles the user holds there (may be empty for an administrator).
    pub roles: Roles,
}

impl App {
    /// An application over `store` with the default rights table.
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        App {
            store,
            rights: Arc::new(RightsTable::default()),
            settings: Arc::new(settings),
            caches: Arc::default(),
            live: Arc::default(),
        }
    }

    /// The store, for read-only views the web layer renders directly.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The rights table.
    pub fn rights(&self) -> &RightsTable {
        &self.rights
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The decision for `access` on `action`.
    pub fn decide(&self, access: &ProductAccess, action: Action) -> Decision {
        self.rights.decide(access.roles, access.user.is_admin, action)
    }

    /// Requires `allow` for `action`; otherwise 403 naming the roles that decide.
    pub fn require(&self, access: &ProductAccess, action: Action) -> AppResult<()> {
        match self.decide(access, action) {
            Decision::Allow => Ok(()),
            _ => Err(self.forbidden(action)),
        }
    }

    /// The 403 for `action`.
    pub fn forbidden(&self, action: Action) -> AppError {
        AppError::Forbidden { action, deciders: self.rights.deciders(action) }
    }

    /// A write context for `user` now.
    pub fn ctx(&self, user: &User) -> WriteCtx {
        WriteCtx { actor: Some(user.id), at: now(), proposal: None }
    }

    /// A write context for `user` carrying out `proposal`.
    pub fn ctx_for_proposal(&self, user: &User, proposal: ProposalId) -> WriteCtx {
        WriteCtx { actor: Some(user.id), at: now(), proposal: Some(proposal) }
    }

    /// A write context for the system itself (start-up, demo data).
    pub fn system_ctx(&self) -> WriteCtx {
        WriteCtx { actor: None, at: now(), proposal: None }
    }
}
