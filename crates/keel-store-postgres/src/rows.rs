//! Reading rows back into domain types. Each `*_COLS` constant is the column list its reader
//! expects, in order, so a query and its reader cannot drift apart.

use crate::db::{col, corrupt, json_col};
use keel_domain::event::{Event, ObjectKind};
use keel_domain::item::{Acceptance, AcceptanceState, Item, ItemKind, Points, StoryFields};
use keel_domain::product::{Product, ProductKey};
use keel_domain::proposal::{Proposal, ProposalState};
use keel_domain::rank::RankKey;
use keel_domain::user::{ApiToken, Email, User};
use keel_domain::workflow::{Category, Workflow, WorkflowState};
use keel_domain::{ItemId, ProductId, ProposalId, RecordId, StateId, Timestamp, TokenId, UserId};
use keel_store::{Session, StoreResult};
use tokio_postgres::Row;

/// Columns of a user, table alias `u`.
pub const USER_COLS: &str = "u.id, u.email, u.name, u.password_hash, u.is_admin, u.is_active, u.created_at";
/// How many columns [`USER_COLS`] has.
pub const USER_N: usize = 7;

/// A user from [`USER_COLS`] starting at column `at`.
pub fn user(row: &Row, at: usize) -> StoreResult<User> {
    Ok(User {
        id: UserId(col(row, at)?),
        email: Email::from_trusted(col(row, at + 1)?),
        name: col(row, at + 2)?,
        password_hash: col(row, at + 3)?,
        is_admin: col(row, at + 4)?,
        is_active: col(row, at + 5)?,
        created_at: Timestamp(col(row, at + 6)?),
    })
}

/// Columns of an API token, table alias `t`.
pub const TOKEN_COLS: &str =
    "t.id, t.user_id, t.name, t.secret_hash, t.created_at, t.last_used_at, t.revoked_at";
/// How many columns [`TOKEN_COLS`] has.
pub const TOKEN_N: usize = 7;

/// A token from [`TOKEN_COLS`] starting at column `at`.
pub fn token(row: &Row, at: usize) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: TokenId(col(row, at)?),
        user_id: UserId(col(row, at + 1)?),
        name: col(row, at + 2)?,
        secret_hash: col(row, at + 3)?,
        created_at: Timestamp(col(row, at + 4)?),
        last_used_at: col::<Option<i64>>(row, at + 5)?.map(Timestamp),
        revoked_at: col::<Option<i64>>(row, at + 6)?.map(Timestamp),
    })
}

/// Columns of a session, table alias `s`.
pub const SESSION_COLS: &str = "s.id_hash, s.user_id, s.csrf_token, s.created_at, s.expires_at";
/// How many columns [`SESSION_COLS`] has.
pub const SESSION_N: usize = 5;

/// A session from [`SESSION_COLS`] starting at column `at`.
pub fn session(row: &Row, at: usize) -> StoreResult<Session> {
    Ok(Session {
        id_hash: col(row, at)?,
        user_id: UserId(col(row, at + 1)?),
        csrf_token: col(row, at + 2)?,
        created_at: Timestamp(col(row, at + 3)?),
        expires_at: Timestamp(col(row, at + 4)?),
    })
}

/// Columns of a product, table alias `p`.
pub const PRODUCT_COLS: &str = "p.id, p.key, p.name, p.description, p.created_at, p.version";
/// How many columns [`PRODUCT_COLS`] has.
pub const PRODUCT_N: usize = 6;

/// A product from [`PRODUCT_COLS`] starting at column `at`.
pub fn product(row: &Row, at: usize) -> StoreResult<Product> {
    Ok(Product {
        id: ProductId(col(row, at)?),
        key: ProductKey::from_trusted(col(row, at + 1)?),
        name: col(row, at + 2)?,
        description: col(row, at + 3)?,
        created_at: Timestamp(col(row, at + 4)?),
        version: col(row, at + 5)?,
    })
}

/// Columns of a workflow state, table alias `w`.
pub const STATE_COLS: &str = "w.id, w.product_id, w.name, w.category, w.position";

/// A workflow from rows of [`STATE_COLS`], already in position order.
pub fn workflow(rows: &[Row]) -> StoreResult<Workflow> {
    let states = rows
        .iter()
        .map(|r| {
            Ok(WorkflowState {
                id: StateId(col(r, 0)?),
                product_id: ProductId(col(r, 1)?),
                name: col(r, 2)?,
                category: Category::from_code(i64::from(col::<i32>(r, 3)?)),
                position: col(r, 4)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Workflow { states })
}

/// The select of an item with its key and its parent's key: items `i`, its product `p`, its
/// parent `pp` (always of the same product, so `p.key` makes both keys).
pub const ITEM_SELECT: &str = "SELECT i.id, i.product_id, p.key, i.number, i.kind, i.parent_id, pp.number, \
     i.title, i.description, i.as_a, i.i_want, i.so_that, i.criteria, i.estimate, i.labels, i.assignee_id, \
     i.status_id, i.category, i.rank, i.created_by, i.created_at, i.updated_at, i.version, i.sprint_id, \
     i.release_id, i.acceptance, i.acceptance_note, i.dod, i.dor \
     FROM items i JOIN products p ON p.id = i.product_id LEFT JOIN items pp ON pp.id = i.parent_id";

/// An item from a row of [`ITEM_SELECT`].
pub fn item(row: &Row) -> StoreResult<Item> {
    let key: &str = col(row, 2)?;
    let number: i64 = col(row, 3)?;
    let kind: &str = col(row, 4)?;
    let parent_number: Option<i64> = col(row, 6)?;
    let criteria: &str = col(row, 12)?;
    let labels: &str = col(row, 14)?;
    Ok(Item {
        id: ItemId(col(row, 0)?),
        product_id: ProductId(col(row, 1)?),
        key: format!("{key}-{number}"),
        number,
        kind: ItemKind::parse("kind", kind).map_err(corrupt)?,
        parent_id: col::<Option<i64>>(row, 5)?.map(ItemId),
        parent_key: parent_number.map(|n| format!("{key}-{n}")),
        title: col(row, 7)?,
        description: col(row, 8)?,
        story: StoryFields { as_a: col(row, 9)?, i_want: col(row, 10)?, so_that: col(row, 11)? },
        criteria: serde_json::from_str(criteria).map_err(corrupt)?,
        estimate: col::<Option<f64>>(row, 13)?.map(Points::from_trusted),
        labels: serde_json::from_str(labels).map_err(corrupt)?,
        assignee_id: col::<Option<i64>>(row, 15)?.map(UserId),
        status_id: StateId(col(row, 16)?),
        category: Category::from_code(i64::from(col::<i32>(row, 17)?)),
        rank: RankKey::from_trusted(col(row, 18)?),
        created_by: col::<Option<i64>>(row, 19)?.map(UserId),
        created_at: Timestamp(col(row, 20)?),
        updated_at: Timestamp(col(row, 21)?),
        version: col(row, 22)?,
        sprint_id: col::<Option<i64>>(row, 23)?.map(RecordId),
        release_id: col::<Option<i64>>(row, 24)?.map(RecordId),
        acceptance: Acceptance {
            state: AcceptanceState::parse("acceptance", col(row, 25)?).map_err(corrupt)?,
            note: col(row, 26)?,
        },
        dod: serde_json::from_str(col(row, 27)?).map_err(corrupt)?,
        dor: serde_json::from_str(col(row, 28)?).map_err(corrupt)?,
    })
}

/// Columns of a proposal, table alias `r`.
pub const PROPOSAL_COLS: &str =
    "r.id, r.product_id, r.action, r.change, r.proposed_by, r.reason, r.created_at, \
     r.state, r.decided_by, r.decided_at, r.decision_reason, r.summary";

/// A proposal from a row of [`PROPOSAL_COLS`].
pub fn proposal(row: &Row) -> StoreResult<Proposal> {
    let action: &str = col(row, 2)?;
    let change: &str = col(row, 3)?;
    let state: &str = col(row, 7)?;
    Ok(Proposal {
        id: ProposalId(col(row, 0)?),
        product_id: ProductId(col(row, 1)?),
        action: serde_json::from_value(serde_json::Value::from(action)).map_err(corrupt)?,
        change: serde_json::from_str(change).map_err(corrupt)?,
        proposed_by: UserId(col(row, 4)?),
        reason: col(row, 5)?,
        created_at: Timestamp(col(row, 6)?),
        state: ProposalState::parse(state).ok_or_else(|| corrupt(format!("proposal state {state}")))?,
        decided_by: col::<Option<i64>>(row, 8)?.map(UserId),
        decided_at: col::<Option<i64>>(row, 9)?.map(Timestamp),
        decision_reason: col(row, 10)?,
        summary: col(row, 11)?,
    })
}

/// Columns of an event, no alias.
pub const EVENT_COLS: &str = "id, product_id, object, object_id, actor_id, at, field, old, new, proposal_id";

/// An event from a row of [`EVENT_COLS`].
pub fn event(row: &Row) -> StoreResult<Event> {
    let object: &str = col(row, 2)?;
    Ok(Event {
        id: col(row, 0)?,
        product_id: col::<Option<i64>>(row, 1)?.map(ProductId),
        object: ObjectKind::parse(object).ok_or_else(|| corrupt(format!("object kind {object}")))?,
        object_id: col(row, 3)?,
        actor_id: col::<Option<i64>>(row, 4)?.map(UserId),
        at: Timestamp(col(row, 5)?),
        field: col(row, 6)?,
        old: json_col(row, 7)?,
        new: json_col(row, 8)?,
        proposal_id: col::<Option<i64>>(row, 9)?.map(ProposalId),
    })
}
