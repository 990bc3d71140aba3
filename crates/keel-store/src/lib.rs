//! The store port: narrow, per-aggregate storage traits that each database crate implements.
//!
//! Every method that changes something is one transaction, and appends the history events of
//! that change in the same transaction. Methods take and return domain types only; SQL stays in
//! the database crates. The shared conformance suite (`keel-testkit`) runs the same tests on
//! every implementation.
#![forbid(unsafe_code)]

pub mod record_rules;
pub mod transfer;
pub mod webhooks;

use async_trait::async_trait;
use keel_domain::board::StateSpec;
use keel_domain::comment::Notification;
use keel_domain::event::{Event, ObjectKind};
use keel_domain::item::{Item, ItemKind, ItemLink, ItemPatch, LinkKind, NewItem};
use keel_domain::metrics::{FlowRow, ItemHistory, WipRow};
use keel_domain::product::{Membership, Product, ProductKey, Roles};
use keel_domain::proposal::{Change, Position, Proposal, ProposalState};
use keel_domain::rights::Action;
use keel_domain::user::{ApiToken, Email, NewUser, User, UserPatch};
use keel_domain::workflow::{Category, Workflow};
use keel_domain::{
    ItemId, LinkId, ProductId, ProposalId, RecordId, StateId, Timestamp, TokenId, UserId, ValidationError,
};
use serde_json::Value;

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist (or is not visible in the scope asked).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken (an e-mail, a product key, a link that exists).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cancelled the transaction because another one locked the same rows (a
    /// deadlock, a serialization failure). Nothing was written; trying again is safe. Distinct
    /// from [`StoreError::Conflict`], which callers read as "that key is taken".
    #[error("a concurrent change got in the way; try again")]
    Contention,
    /// The write named a version that is no longer current.
    #[error("stale version: the current version is {current}")]
    StaleVersion {
        /// The version now stored.
        current: i64,
    },
    /// The write broke a rule that can only be checked against stored data (a parent of
    /// another product, a move relative to an item of another product).
    #[error("invalid: {0}")]
    Invalid(ValidationError),
    /// The database cannot serve now: unreachable, shutting down, out of connections, or
    /// refusing writes (read-only files). Nothing was written; the same request may succeed
    /// later. The reason is logged, never shown.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database has no room for the write (disk full, file size limit). Nothing was written.
    #[error("database out of space: {0}")]
    StorageFull(String),
    /// Anything else: a query failed. Logged, never shown.
    #[error("storage error: {0}")]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps any error as [`StoreError::Other`].
    pub fn other(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Other(Box::new(e))
    }

    /// An [`StoreError::Invalid`] on `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        StoreError::Invalid(ValidationError::new(field, message))
    }
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Who is writing, when, and on whose proposal: passed to every write so the store can append
/// the history events in the same transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteCtx {
    /// The user making the change (`None` for the system: start-up, imports, demo data).
    pub actor: Option<UserId>,
    /// The time recorded on the change and its events.
    pub at: Timestamp,
    /// When the write carries out an accepted proposal: the store marks that proposal
    /// `accepted` (by `actor`, at `at`) in the same transaction, refusing with
    /// [`StoreError::Conflict`] when it is no longer pending, tags the events with it, and
    /// writes its proposer's `decision` notification (see
    /// [`keel_domain::comment::decision_notification`]) unless they decided it themself or are
    /// no longer an active member of the product.
    pub proposal: Option<ProposalId>,
}

/// A page request for lists ordered by a string cursor (rank keys, ids as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Return only entries strictly after this cursor (the last entry of the previous page).
    pub after: Option<String>,
    /// At most this many entries (1..=500; callers clamp).
    pub limit: u32,
}

impl Page {
    /// The first page of `limit` entries.
    pub fn first(limit: u32) -> Self {
        Page { after: None, limit }
    }
}

/// Which items to list. Every condition given must hold; results are in backlog (rank) order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemFilter {
    /// In this workflow state.
    pub status: Option<StateId>,
    /// In a state of this category.
    pub category: Option<Category>,
    /// Only items not done (the backlog).
    pub open_only: bool,
    /// Of this kind.
    pub kind: Option<ItemKind>,
    /// Assigned to this user (`Some(None)`: unassigned).
    pub assignee: Option<Option<UserId>>,
    /// Carrying this label.
    pub label: Option<String>,
    /// Children of this item.
    pub parent: Option<ItemId>,
    /// Full-text query over title and description: every word must match, the last one as a
    /// prefix; punctuation is ignored. The store builds its own database's query from the words,
    /// so no query syntax reaches the database.
    pub q: Option<String>,
    /// In this sprint (`Some(None)`: in no sprint).
    pub sprint: Option<Option<RecordId>>,
    /// In this release (`Some(None)`: in no release).
    pub release: Option<Option<RecordId>>,
}

/// A new browser session. The session id itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the session id, hex.
    pub id_hash: String,
    /// The signed-in user.
    pub user_id: UserId,
    /// The token forms and cookie-authenticated API calls must echo (double-submit).
    pub csrf_token: String,
    /// When it began.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// A new product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    /// Key.
    pub key: ProductKey,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// A first member and their roles, added in the same transaction (the creator, usually).
    pub owner: Option<(UserId, Roles)>,
}

/// A change to a product; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductPatch {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
}

/// A new proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProposal {
    /// The product.
    pub product_id: ProductId,
    /// The action whose right the proposer lacked.
    pub action: Action,
    /// The change to apply on acceptance.
    pub change: Change,
    /// Why.
    pub reason: String,
    /// One-line summary.
    pub summary: String,
    /// The members who may decide it: each gets a `proposal` notification (see
    /// [`keel_domain::comment::proposal_notification`]) in the proposal's own transaction.
    pub notify: Vec<UserId>,
}

/// The record holding notification `n` about product `product`: a `notification` record whose
/// parent is the recipient and whose state is `unread`.
pub fn notification_record(product: ProductId, n: &Notification) -> StoreResult<NewRecord> {
    Ok(NewRecord {
        kind: ObjectKind::Notification,
        product_id: Some(product),
        parent_id: Some(n.user.0),
        state: "unread".into(),
        unique_key: None,
        data: serde_json::to_value(n).map_err(StoreError::other)?,
    })
}

/// One past event to load with an item through the bulk path (imports, generated datasets).
#[derive(Debug, Clone, PartialEq)]
pub struct BulkEvent {
    /// When it happened.
    pub at: Timestamp,
    /// Who did it.
    pub actor: Option<UserId>,
    /// Which field.
    pub field: String,
    /// Value before.
    pub old: Value,
    /// Value after.
    pub new: Value,
}

/// One item for the bulk path: its fields, its original creation, and its past changes. Items
/// are appended at the bottom of the backlog in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkItem {
    /// The item's fields as they are now (after all of `history`).
    pub item: NewItem,
    /// When it was created.
    pub created_at: Timestamp,
    /// Who created it.
    pub created_by: Option<UserId>,
    /// Past field changes, oldest first, stored as events after its `created` event.
    pub history: Vec<BulkEvent>,
}

/// The history of a bulk-written item as the metrics read it back from its events (its
/// `created` event, then `history`): what the bulk paths derive its flow row from, without the
/// per-event triggers.
pub fn bulk_item_history(item: &Item, created_at: Timestamp, history: &[BulkEvent]) -> ItemHistory {
    let mut h = ItemHistory::new(item.id.0, &item.key, created_at, item.kind, item.status_id);
    h.sprint[0].1 = item.sprint_id.map(|s| s.0);
    h.release[0].1 = item.release_id.map(|r| r.0);
    h.points[0].1 = item.estimate.map(|e| e.value());
    for e in history {
        h.apply(e.at, &e.field, &e.old, &e.new);
    }
    h
}

/// A stored record: an object of a kind that has no table of its own (teams, sprints, releases,
/// retrospective cards, poker rounds, questions, product settings). Its fields live in `data`, a
/// JSON object the application's typed layer reads and writes; the store knows only the columns
/// it filters on. Every change appends events like any other object: `created` with the whole
/// data, one event per top-level key of `data` that changed, `state`, and `deleted`.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Its id.
    pub id: RecordId,
    /// Its kind.
    pub kind: ObjectKind,
    /// The product it belongs to (its events go to that product's history).
    pub product_id: Option<ProductId>,
    /// Its parent, whose meaning depends on the kind (a sprint's team, a card's sprint, a poker
    /// round's item).
    pub parent_id: Option<i64>,
    /// A short state to filter on (`planned`, `active`, `closed`…), empty when the kind has none.
    pub state: String,
    /// A key unique among records of its kind, when the kind needs one (a product's single
    /// settings record, a release name within a product); `None` otherwise.
    pub unique_key: Option<String>,
    /// The fields, a JSON object.
    pub data: Value,
    /// Bumped on every change; a write naming an older version is refused.
    pub version: i64,
    /// Who made it.
    pub created_by: Option<UserId>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Which records to list: all of one kind, narrowed by the conditions given; by id ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFilter {
    /// The kind.
    pub kind: ObjectKind,
    /// Of this product.
    pub product: Option<ProductId>,
    /// With this parent.
    pub parent: Option<i64>,
    /// In one of these states (empty: any).
    pub states: Vec<String>,
}

impl RecordFilter {
    /// Every record of `kind`.
    pub fn of(kind: ObjectKind) -> Self {
        RecordFilter { kind, product: None, parent: None, states: Vec::new() }
    }

    /// Narrowed to a product.
    pub fn product(mut self, p: ProductId) -> Self {
        self.product = Some(p);
        self
    }

    /// Narrowed to a parent.
    pub fn parent(mut self, id: i64) -> Self {
        self.parent = Some(id);
        self
    }

    /// Narrowed to states.
    pub fn states(mut self, states: &[&str]) -> Self {
        self.states = states.iter().map(|s| s.to_string()).collect();
        self
    }
}

/// A new record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecord {
    /// Kind.
    pub kind: ObjectKind,
    /// Product.
    pub product_id: Option<ProductId>,
    /// Parent.
    pub parent_id: Option<i64>,
    /// State.
    pub state: String,
    /// Unique key within the kind ([`StoreError::Conflict`] when taken).
    pub unique_key: Option<String>,
    /// Fields.
    pub data: Value,
}

/// Where a value written by a later operation of a batch comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ref {
    /// A known id.
    Id(i64),
    /// The id of the object created by the operation at this index of the same batch.
    Created(usize),
}

/// One operation of an atomic batch (see [`RecordStore::write_batch`]).
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// Creates a record.
    CreateRecord(NewRecord),
    /// Replaces a record's data (and state, when given). `expected_version` refuses a stale
    /// write; `None` writes whatever the version (for records the batch just checked).
    /// `refs` set top-level keys of the new data to ids created earlier in the batch.
    /// A key ending in `[]` (`"epics[]"`) appends the id to that top-level array instead.
    UpdateRecord {
        /// The record.
        id: RecordId,
        /// Version the writer read.
        expected_version: Option<i64>,
        /// New state.
        state: Option<String>,
        /// New data (whole object).
        data: Value,
        /// `(key, ref)`: sets `data[key]` to the id `ref` resolves to.
        refs: Vec<(String, Ref)>,
    },
    /// Checks a record's version and bumps it without other change: guards a decision taken on
    /// what the record said (two people closing one sprint: the second one's guard fails).
    Guard {
        /// The record.
        id: RecordId,
        /// Version the writer read.
        expected_version: i64,
    },
    /// Deletes a record.
    DeleteRecord {
        /// The record.
        id: RecordId,
        /// Version the writer read, if it must still be current.
        expected_version: Option<i64>,
    },
    /// Creates an item, as [`ItemStore::create_item`].
    CreateItem {
        /// Its product.
        product: ProductId,
        /// Fields.
        item: NewItem,
        /// Backlog position.
        position: Position,
    },
    /// Changes an item, as [`ItemStore::update_item`]; `expected_version: None` applies the
    /// patch to whatever version is current.
    UpdateItem {
        /// The item (or one created earlier in the batch).
        id: Ref,
        /// Version the writer read.
        expected_version: Option<i64>,
        /// The change.
        patch: ItemPatch,
    },
    /// Moves an item in the backlog, as [`ItemStore::move_item`].
    MoveItem {
        /// The item.
        id: ItemId,
        /// Where to.
        position: Position,
    },
    /// Puts many items into `sprint` (or into none) at once, whatever their versions: the
    /// set-based form of [`WriteOp::UpdateItem`] with only a sprint, for closing sprints and
    /// planning in bulk. One `sprint` event per item that changes.
    SetSprint {
        /// The items.
        ids: Vec<ItemId>,
        /// The sprint.
        sprint: Option<RecordId>,
    },
    /// Moves many items of one product to the top or the bottom of its backlog, keeping the
    /// order given: the set-based form of [`WriteOp::MoveItem`]. `Before`/`After` are refused.
    MoveItems {
        /// The items, in the order they are to stand.
        ids: Vec<ItemId>,
        /// `Top` or `Bottom`.
        position: Position,
    },
    /// Links two items, as [`ItemStore::add_link`].
    AddLink {
        /// Source (or one created earlier in the batch).
        from: Ref,
        /// Target.
        to: ItemId,
        /// Kind.
        kind: LinkKind,
    },
}

/// What one operation of a batch produced, in the order of the operations.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// A record created, changed or guarded.
    Record(Record),
    /// An item created, changed or moved.
    Item(Box<Item>),
    /// A link made.
    Link(ItemLink),
    /// Something deleted.
    Deleted,
    /// How many items a set-based operation changed.
    Count(u64),
}

/// Records, and batches of writes that must land together.
#[async_trait]
pub trait RecordStore {
    /// A record by id.
    async fn record(&self, id: RecordId) -> StoreResult<Record>;
    /// A record by kind and unique key.
    async fn record_by_key(&self, kind: ObjectKind, unique_key: &str) -> StoreResult<Record>;
    /// Records matching `filter`, by id ascending, paged by id (the cursor is the last id as
    /// text).
    async fn records(&self, filter: &RecordFilter, page: &Page) -> StoreResult<Vec<Record>>;
    /// Carries out `ops` in order in one transaction with their history events: all land, or
    /// none (the first failure is returned, as its own operation would return it). When `ctx`
    /// names a proposal, it is marked accepted in the same transaction.
    async fn write_batch(&self, ops: Vec<WriteOp>, ctx: &WriteCtx) -> StoreResult<Vec<Written>>;
    /// Several batches in one transaction, each recorded with its own actor and time (an
    /// import's comments, each by its author at its original time): all land, or none. A batch
    /// may not name a proposal.
    async fn write_batches(&self, batches: Vec<(Vec<WriteOp>, WriteCtx)>) -> StoreResult<Vec<Vec<Written>>>;
    /// Events of a product whose object is one of `objects` and field one of `fields`, in
    /// commit order, at or after `since` (for stand-ups, scope change and decision logs).
    async fn product_events_of(
        &self,
        product: ProductId,
        objects: &[ObjectKind],
        fields: &[&str],
        since: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Event>>;
}

/// User accounts.
#[async_trait]
pub trait UserStore {
    /// Creates a user; [`StoreError::Conflict`] when the e-mail is taken.
    async fn create_user(&self, user: NewUser, ctx: &WriteCtx) -> StoreResult<User>;
    /// A user by id.
    async fn user(&self, id: UserId) -> StoreResult<User>;
    /// A user by e-mail.
    async fn user_by_email(&self, email: &Email) -> StoreResult<User>;
    /// All users, ordered by e-mail, paged by e-mail.
    async fn users(&self, page: &Page) -> StoreResult<Vec<User>>;
    /// Changes a user.
    async fn update_user(&self, id: UserId, patch: UserPatch, ctx: &WriteCtx) -> StoreResult<User>;
    /// How many users exist (to tell an empty database at start-up).
    async fn count_users(&self) -> StoreResult<i64>;
}

/// API tokens.
#[async_trait]
pub trait TokenStore {
    /// Stores a new token for `user` with the hash of its secret.
    async fn create_token(
        &self,
        user: UserId,
        name: &str,
        secret_hash: &str,
        ctx: &WriteCtx,
    ) -> StoreResult<ApiToken>;
    /// A token by id.
    async fn token(&self, id: TokenId) -> StoreResult<ApiToken>;
    /// A token and its user, in one read: the hot path of every API request.
    async fn token_with_user(&self, id: TokenId) -> StoreResult<(ApiToken, User)>;
    /// A user's tokens, newest first, revoked ones included.
    async fn tokens_of(&self, user: UserId) -> StoreResult<Vec<ApiToken>>;
    /// Revokes a token (idempotent: revoking twice keeps the first time).
    async fn revoke_token(&self, id: TokenId, ctx: &WriteCtx) -> StoreResult<ApiToken>;
    /// Records use of a token. Not an event: it is bookkeeping, not a change anyone made.
    async fn touch_token(&self, id: TokenId, at: Timestamp) -> StoreResult<()>;
}

/// Browser sessions and sign-in throttling.
#[async_trait]
pub trait SessionStore {
    /// Stores a new session.
    async fn create_session(&self, session: &Session) -> StoreResult<()>;
    /// A live session (not expired at `now`) and its user.
    async fn session(&self, id_hash: &str, now: Timestamp) -> StoreResult<(Session, User)>;
    /// Ends a session (no error when it does not exist).
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;
    /// Ends all sessions of a user (after a password change or deactivation).
    async fn delete_sessions_of(&self, user: UserId) -> StoreResult<()>;
    /// Removes expired sessions and old sign-in failures; returns how many rows went.
    async fn purge_expired(&self, now: Timestamp) -> StoreResult<u64>;
    /// Records a failed sign-in under a throttling key (`acct:<email>` or `addr:<ip>`).
    async fn record_sign_in_failure(&self, key: &str, at: Timestamp) -> StoreResult<()>;
    /// Failed sign-ins under `key` since `since`.
    async fn sign_in_failures(&self, key: &str, since: Timestamp) -> StoreResult<i64>;
    /// Forgets the failures under `key` (after a successful sign-in).
    async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()>;
    /// Counts a post through the feedback widget under `scope` at `at` unless a limit is
    /// reached: `limits` are (window in milliseconds, most posts in it). Atomic across server
    /// processes sharing the database. `None` when counted; otherwise the milliseconds until the
    /// oldest post in the full window leaves it. Drops the scope's posts older than the longest
    /// window.
    async fn widget_hit(&self, scope: &str, at: Timestamp, limits: &[(i64, i64)])
        -> StoreResult<Option<i64>>;
}

/// Products, their workflows and memberships.
#[async_trait]
pub trait ProductStore {
    /// Creates a product with the default workflow and its `owner` membership, if any;
    /// [`StoreError::Conflict`] when the key is taken.
    async fn create_product(&self, product: NewProduct, ctx: &WriteCtx) -> StoreResult<Product>;
    /// A product by id.
    async fn product(&self, id: ProductId) -> StoreResult<Product>;
    /// A product by key.
    async fn product_by_key(&self, key: &ProductKey) -> StoreResult<Product>;
    /// A product by key and the roles `user` holds in it (empty when not a member), in one read.
    async fn product_access(&self, key: &ProductKey, user: UserId) -> StoreResult<(Product, Roles)>;
    /// The roles `user` holds in `product` (empty when not a member).
    async fn roles(&self, product: ProductId, user: UserId) -> StoreResult<Roles>;
    /// Every product, by key.
    async fn products(&self) -> StoreResult<Vec<Product>>;
    /// The products `user` is a member of, with the roles held, by key.
    async fn products_of(&self, user: UserId) -> StoreResult<Vec<(Product, Roles)>>;
    /// Changes a product; with `expected_version`, refuses a stale one.
    async fn update_product(
        &self,
        id: ProductId,
        patch: ProductPatch,
        expected_version: Option<i64>,
        ctx: &WriteCtx,
    ) -> StoreResult<Product>;
    /// The product's workflow, states in order. Any change to a workflow must bump the product's
    /// `version` in the same transaction: the application caches workflows by that version.
    async fn workflow(&self, product: ProductId) -> StoreResult<Workflow>;
    /// Replaces `product`'s workflow in one transaction: `states` in their new order (an `id`
    /// keeps and renames or recategorises that state, none adds a state), every state left out
    /// is deleted after its items move to the state `remap` names for it (one `status` event per
    /// moved item; items of a recategorised state take its new category). Refuses a stale
    /// `expected_version` of the product, an id of another product (`Invalid` on `states[i].id`),
    /// and a removed state holding items without a kept target (`Invalid` on `remap`). Bumps the
    /// product's version and appends a `workflow` event on the product (old and new states).
    async fn replace_workflow(
        &self,
        product: ProductId,
        states: Vec<StateSpec>,
        remap: Vec<(StateId, StateId)>,
        expected_version: Option<i64>,
        ctx: &WriteCtx,
    ) -> StoreResult<Workflow>;
    /// Sets `user`'s roles in `product` (adding the membership if needed).
    async fn set_member(
        &self,
        product: ProductId,
        user: UserId,
        roles: Roles,
        ctx: &WriteCtx,
    ) -> StoreResult<Membership>;
    /// Removes a membership; [`StoreError::NotFound`] when there is none.
    async fn remove_member(&self, product: ProductId, user: UserId, ctx: &WriteCtx) -> StoreResult<()>;
    /// The members of a product with their roles, by name.
    async fn members(&self, product: ProductId) -> StoreResult<Vec<(User, Roles)>>;
}

/// Backlog items and their links.
#[async_trait]
pub trait ItemStore {
    /// Creates an item at `position`: assigns the next number of the product (no gaps, no
    /// duplicates under concurrency), a rank, the initial state when none is given; checks the
    /// parent (exists, same product, lower level) and the assignee (a member); appends a
    /// `created` event whose `new` is the item as created.
    async fn create_item(
        &self,
        product: ProductId,
        item: NewItem,
        position: &Position,
        ctx: &WriteCtx,
    ) -> StoreResult<Item>;
    /// Appends many items at the bottom in one transaction, with their past history: the bulk
    /// path of imports and generated datasets. Returns how many were written.
    async fn bulk_create_items(
        &self,
        product: ProductId,
        items: Vec<BulkItem>,
        ctx: &WriteCtx,
    ) -> StoreResult<u64>;
    /// An item by id.
    async fn item(&self, id: ItemId) -> StoreResult<Item>;
    /// An item by product and number.
    async fn item_by_number(&self, product: ProductId, number: i64) -> StoreResult<Item>;
    /// The labels of `product`'s items that start with `prefix`, with their items (an import's
    /// source keys, such as `jira:SHOP-1`), read from the label index alone.
    async fn labels_with_prefix(
        &self,
        product: ProductId,
        prefix: &str,
    ) -> StoreResult<Vec<(String, ItemId)>>;
    /// Applies `patch` when the item's version is still `expected_version` (else
    /// [`StoreError::StaleVersion`]); re-checks parent and kind against the hierarchy and
    /// children; bumps the version; appends one event per changed field.
    async fn update_item(
        &self,
        id: ItemId,
        expected_version: i64,
        patch: &ItemPatch,
        ctx: &WriteCtx,
    ) -> StoreResult<Item>;
    /// Moves an item in the backlog: one new rank key between its new neighbours, one `rank`
    /// event; a neighbour of another product is [`StoreError::Invalid`] on field `before`/`after`.
    /// Rebalances the product's keys when the new one has grown long.
    async fn move_item(&self, id: ItemId, position: &Position, ctx: &WriteCtx) -> StoreResult<Item> {
        self.move_item_checked(id, None, position, ctx).await
    }
    /// [`ItemStore::move_item`], refusing with [`StoreError::StaleVersion`] (inside the
    /// transaction, nothing written) when `expected_version` is given and not the item's version.
    async fn move_item_checked(
        &self,
        id: ItemId,
        expected_version: Option<i64>,
        position: &Position,
        ctx: &WriteCtx,
    ) -> StoreResult<Item>;
    /// Deletes an item: its children lose their parent, its links go, a `deleted` event keeps
    /// its last state.
    async fn delete_item(&self, id: ItemId, ctx: &WriteCtx) -> StoreResult<()>;
    /// Items of a product matching `filter`, in rank order, paged by rank.
    async fn list_items(
        &self,
        product: ProductId,
        filter: &ItemFilter,
        page: &Page,
    ) -> StoreResult<Vec<Item>>;
    /// How many items of a product match `filter` (for "1,234 items" above a list).
    async fn count_items(&self, product: ProductId, filter: &ItemFilter) -> StoreResult<i64>;
    /// Links a `from` item to a `to` item; both of the same product, not the same item, and not
    /// already linked so ([`StoreError::Conflict`]). Appends a `links` event on both items.
    async fn add_link(
        &self,
        from: ItemId,
        to: ItemId,
        kind: LinkKind,
        ctx: &WriteCtx,
    ) -> StoreResult<ItemLink>;
    /// Removes a link of `item` (either end); events on both items.
    async fn remove_link(&self, item: ItemId, link: LinkId, ctx: &WriteCtx) -> StoreResult<()>;
    /// The links of an item, from either end; `other_title` is the other end's title.
    async fn links(&self, item: ItemId) -> StoreResult<Vec<ItemLink>>;
    /// Which of `items` an open (not done) item blocks: `(blocked item, blocker)` pairs, the
    /// blocker with its key and title. For Definition-of-Ready checks, boards and stand-ups.
    async fn open_blockers(&self, items: &[ItemId]) -> StoreResult<Vec<(ItemId, Blocker)>>;
}

/// An open item that blocks another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    /// Its id.
    pub id: ItemId,
    /// Its key.
    pub key: String,
    /// Its title.
    pub title: String,
}

/// Proposals waiting for a decider.
#[async_trait]
pub trait ProposalStore {
    /// Stores a pending proposal; appends a `created` event on the proposal and writes the
    /// `proposal` notifications of [`NewProposal::notify`], all in one transaction.
    async fn create_proposal(&self, proposal: NewProposal, ctx: &WriteCtx) -> StoreResult<Proposal>;
    /// A proposal by id.
    async fn proposal(&self, id: ProposalId) -> StoreResult<Proposal>;
    /// A product's proposals, newest first, optionally only in one state or about one item;
    /// paged by id (the cursor is the last id as text).
    async fn proposals(
        &self,
        product: ProductId,
        state: Option<ProposalState>,
        item: Option<ItemId>,
        page: &Page,
    ) -> StoreResult<Vec<Proposal>>;
    /// Closes a pending proposal without applying it (`Declined` or `Stale`), with a reason;
    /// [`StoreError::Conflict`] when it is no longer pending. Its proposer's `decision`
    /// notification is written in the same transaction, as for an accepted one.
    async fn close_proposal(
        &self,
        id: ProposalId,
        state: ProposalState,
        reason: &str,
        ctx: &WriteCtx,
    ) -> StoreResult<Proposal>;
}

/// The history of events.
#[async_trait]
pub trait HistoryStore {
    /// Events of one object, newest first; `before` pages by event id.
    async fn history(
        &self,
        object: ObjectKind,
        id: i64,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<Event>>;
    /// Events of a product in commit order, after event id `after` (for metrics and feeds).
    async fn product_events(
        &self,
        product: ProductId,
        after: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<Event>>;
}

/// The derived flow table and sprint memberships (migration 0005), kept by the database in the
/// same transaction as the item events they follow, and rebuilt from the history on demand.
#[async_trait]
pub trait MetricsStore {
    /// Flow rows of `product`'s items done at `from..=to` and not deleted, by done time.
    async fn flow_rows(
        &self,
        product: ProductId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<FlowRow>>;
    /// The flow rows of `items` (those that have one), by item id.
    async fn flow_rows_of(&self, items: &[i64]) -> StoreResult<Vec<FlowRow>>;
    /// Every flow row of `product`, by item id (for checks and rebuilds).
    async fn all_flow_rows(&self, product: ProductId) -> StoreResult<Vec<FlowRow>>;
    /// Every (sprint, item) membership of `product`'s items, ordered.
    async fn sprint_memberships(&self, product: ProductId) -> StoreResult<Vec<(i64, i64)>>;
    /// Ids of the items that were ever in one of `sprints`, ascending.
    async fn sprint_members(&self, sprints: &[i64]) -> StoreResult<Vec<i64>>;
    /// The item events metrics read (`created`, `status`, `sprint`, `release`, `estimate`,
    /// `kind`, `deleted`) of `items`, in commit order.
    async fn item_events(&self, items: &[i64]) -> StoreResult<Vec<Event>>;
    /// The item events of `product` with one of `fields` (of [`METRIC_FIELDS`]) at or after
    /// `since` (through the (product, field, time) index), in commit order; a `created` event
    /// keeps only what the metrics read of the new item (`key`, `kind`, `status_id`,
    /// `sprint_id`, `release_id`, `estimate`), not its text.
    async fn product_item_events(
        &self,
        product: ProductId,
        fields: &[&str],
        since: Timestamp,
    ) -> StoreResult<Vec<Event>>;
    /// Ids of every item of `product` that may ever have been in `release`, ascending: those in
    /// it now, those a `release` event moved into or out of it, and the deleted ones (whose
    /// row is gone); a superset the caller narrows by their histories.
    async fn release_candidates(&self, product: ProductId, release: i64) -> StoreResult<Vec<i64>>;
    /// How many of `product`'s items are in each state now (only those of `kind`, if given):
    /// (state id, count), by state id.
    async fn state_counts(
        &self,
        product: ProductId,
        kind: Option<ItemKind>,
    ) -> StoreResult<Vec<(i64, usize)>>;
    /// Of `items`, those that still have a row: (id, kind, state id) as they are now, by id
    /// (never their text).
    async fn items_now(&self, items: &[i64]) -> StoreResult<Vec<(i64, String, i64)>>;
    /// For each of `cuts`, how many of `product`'s items in progress (by the flow table's
    /// `wip_since`) have been so since that moment or earlier.
    async fn wip_cuts(&self, product: ProductId, cuts: &[Timestamp]) -> StoreResult<Vec<usize>>;
    /// `product`'s items in progress, oldest first (by `wip_since`, then key), `limit` of them
    /// after skipping `offset`.
    async fn wip_page(&self, product: ProductId, limit: usize, offset: usize) -> StoreResult<Vec<WipRow>>;
    /// Ids of `product`'s items now in one of `states`, ascending.
    async fn items_in_states(&self, product: ProductId, states: &[i64]) -> StoreResult<Vec<i64>>;
    /// The newest event id of `product` (0 if none): read before the history a rebuild starts
    /// from, and handed to [`MetricsStore::replace_flow`].
    async fn flow_watermark(&self, product: ProductId) -> StoreResult<i64>;
    /// Replaces `product`'s flow rows and memberships in one transaction (a rebuild computed
    /// from the history up to event `seen`) and clears its pending rebuild. Writes nothing and
    /// answers `false` if `product` has newer events than `seen` (the caller reads again);
    /// changes committing meanwhile wait for it and then apply on top of the new rows.
    async fn replace_flow(
        &self,
        product: ProductId,
        rows: &[FlowRow],
        members: &[(i64, i64)],
        seen: i64,
    ) -> StoreResult<bool>;
    /// Products whose flow rows wait for a rebuild (migration 0006: after an upgrade from a
    /// database without them, or a workflow change of categories), ascending.
    async fn pending_flow_rebuilds(&self) -> StoreResult<Vec<ProductId>>;
    /// Marks `product`'s flow rows for a rebuild (`reason` says why, for the log).
    async fn request_flow_rebuild(&self, product: ProductId, reason: &str) -> StoreResult<()>;
}

/// The item event fields the metrics read.
pub const METRIC_FIELDS: [&str; 7] =
    ["created", "status", "sprint", "release", "estimate", "kind", "deleted"];

/// Told `(product, newest event id)` when events commit (see [`Store::watch_events`]). `product`
/// is `None` when the store cannot say which product (or after a reconnect, when anything may
/// have happened): listeners then re-read every product they follow.
pub type EventSink = std::sync::Arc<dyn Fn(Option<ProductId>, i64) + Send + Sync>;

/// Everything the application needs from storage, bundled for wiring.
#[async_trait]
pub trait Store:
    UserStore
    + TokenStore
    + SessionStore
    + ProductStore
    + ItemStore
    + ProposalStore
    + HistoryStore
    + RecordStore
    + MetricsStore
    + webhooks::WebhookStore
    + transfer::TransferStore
    + Send
    + Sync
{
    /// Runs pending migrations; returns the names of those applied now.
    async fn migrate(&self) -> StoreResult<Vec<String>>;
    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// Refreshes the query planner's statistics after a bulk load (imports, generated datasets),
    /// so that the first queries after it do not plan on a picture of an empty table.
    async fn refresh_statistics(&self) -> StoreResult<()>;
    /// Adds up to `max` of the items that bulk writes left for later to the full-text index, in
    /// a transaction of its own, oldest first; answers how many (0: none waits). Until an item is
    /// indexed, searches find it by reading its text. Safe to run in several processes at once.
    async fn index_search(&self, max: u64) -> StoreResult<u64>;
    /// How many items wait for the full-text index.
    async fn search_backlog(&self) -> StoreResult<u64>;
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Starts telling `sink` about events committed from now on, by this process and by any
    /// other on the same database (PostgreSQL: `LISTEN keel_events`; SQLite: after this
    /// process's commits and by polling the newest event id every second). Call once per
    /// process; the sink is a wake-up call, the events themselves are read from the history.
    async fn watch_events(&self, sink: EventSink) -> StoreResult<()>;
    /// The connection pool now (for `/metrics`).
    fn pool_status(&self) -> PoolStatus;
}

/// A store's connections at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections serving a request.
    pub in_use: usize,
    /// Open connections waiting for one.
    pub idle: usize,
    /// Most connections kept (SQLite: idle readers kept plus the writer; more readers may open
    /// for a burst).
    pub max: usize,
}
