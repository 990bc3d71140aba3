//! Products, their workflows and memberships.

use crate::users::user_row;
use crate::{accept_proposal, event, Res, SqliteStore};
use async_trait::async_trait;
use keel_domain::board::StateSpec;
use keel_domain::event::ObjectKind;
use keel_domain::product::{Membership, Product, ProductKey, Roles};
use keel_domain::user::User;
use keel_domain::workflow::{Category, Workflow, WorkflowState, DEFAULT_WORKFLOW};
use keel_domain::{ProductId, StateId, Timestamp, UserId};
use keel_store::{NewProduct, ProductPatch, ProductStore, StoreError, StoreResult, WriteCtx};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};

macro_rules! product_cols {
    () => {
        "p.id, p.key, p.name, p.description, p.created_at, p.version"
    };
}

fn product_row(r: &Row<'_>) -> rusqlite::Result<Product> {
    Ok(Product {
        id: ProductId(r.get(0)?),
        key: ProductKey::from_trusted(r.get(1)?),
        name: r.get(2)?,
        description: r.get(3)?,
        created_at: Timestamp(r.get(4)?),
        version: r.get(5)?,
    })
}

fn load_product(c: &Connection, id: ProductId) -> Res<Product> {
    Ok(c.prepare_cached(concat!("SELECT ", product_cols!(), " FROM products p WHERE p.id = ?1"))?
        .query_row([id.0], product_row)?)
}

pub(crate) fn load_workflow(c: &Connection, product: ProductId) -> Res<Workflow> {
    let mut st = c.prepare_cached(
        "SELECT id, product_id, name, category, position FROM workflow_states WHERE product_id = ?1 ORDER BY position, id",
    )?;
    let states = st
        .query_map([product.0], |r| {
            Ok(WorkflowState {
                id: StateId(r.get(0)?),
                product_id: ProductId(r.get(1)?),
                name: r.get(2)?,
                category: Category::from_code(r.get(3)?),
                position: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if states.is_empty() {
        // Every product gets a workflow when it is created: no states means no product.
        return Err(StoreError::NotFound.into());
    }
    Ok(Workflow { states })
}

/// A workflow as recorded in a `workflow` event: its states with id, name and category, in order.
fn states_json(w: &Workflow) -> Value {
    Value::Array(
        w.states.iter().map(|s| json!({"id": s.id, "name": s.name, "category": s.category})).collect(),
    )
}

fn member_roles(c: &Connection, product: ProductId, user: UserId) -> Res<Option<Roles>> {
    Ok(c.prepare_cached("SELECT roles FROM memberships WHERE product_id = ?1 AND user_id = ?2")?
        .query_row([product.0, user.0], |r| r.get::<_, i64>(0))
        .optional()?
        .map(Roles::from_bits))
}

#[async_trait]
impl ProductStore for SqliteStore {
    async fn create_product(&self, product: NewProduct, ctx: &WriteCtx) -> StoreResult<Product> {
        let ctx = *ctx;
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            let id: i64 = tx
                .prepare_cached(
                    "INSERT INTO products (key, name, description, created_at, version) VALUES (?1, ?2, ?3, ?4, 1)
                     RETURNING id",
                )?
                .query_row(params![product.key.as_str(), product.name, product.description, ctx.at.0], |r| r.get(0))?;
            let mut st = tx.prepare_cached(
                "INSERT INTO workflow_states (product_id, name, category, position) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (i, (name, cat)) in DEFAULT_WORKFLOW.iter().enumerate() {
                st.execute(params![id, name, cat.code(), i as i64])?;
            }
            let p = Product {
                id: ProductId(id),
                key: product.key,
                name: product.name,
                description: product.description,
                created_at: ctx.at,
                version: 1,
            };
            event(tx, &ctx, Some(p.id), (ObjectKind::Product, id), "created", &Value::Null, &json!(p))?;
            if let Some((user, roles)) = product.owner {
                tx.prepare_cached("INSERT INTO memberships (product_id, user_id, roles) VALUES (?1, ?2, ?3)")?
                    .execute(params![id, user.0, roles.bits()])?;
                let none: Option<Roles> = None;
                event(tx, &ctx, Some(p.id), (ObjectKind::Member, user.0), "roles", &json!(none), &json!(roles))?;
            }
            Ok(p)
        })
        .await
    }

    async fn product(&self, id: ProductId) -> StoreResult<Product> {
        self.read(|c| load_product(c, id))
    }

    async fn product_by_key(&self, key: &ProductKey) -> StoreResult<Product> {
        self.read(|c| {
            Ok(c.prepare_cached(concat!("SELECT ", product_cols!(), " FROM products p WHERE p.key = ?1"))?
                .query_row([key.as_str()], product_row)?)
        })
    }

    async fn product_access(&self, key: &ProductKey, user: UserId) -> StoreResult<(Product, Roles)> {
        self.read(|c| {
            Ok(c.prepare_cached(concat!(
                "SELECT ",
                product_cols!(),
                ", m.roles FROM products p
                 LEFT JOIN memberships m ON m.product_id = p.id AND m.user_id = ?2 WHERE p.key = ?1"
            ))?
            .query_row(params![key.as_str(), user.0], |r| {
                Ok((product_row(r)?, Roles::from_bits(r.get::<_, Option<i64>>(6)?.unwrap_or(0))))
            })?)
        })
    }

    async fn roles(&self, product: ProductId, user: UserId) -> StoreResult<Roles> {
        self.read(|c| Ok(member_roles(c, product, user)?.unwrap_or(Roles::NONE)))
    }

    async fn products(&self) -> StoreResult<Vec<Product>> {
        self.read_blocking(|c| {
            let mut st =
                c.prepare_cached(concat!("SELECT ", product_cols!(), " FROM products p ORDER BY p.key"))?;
            let rows = st.query_map([], product_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn products_of(&self, user: UserId) -> StoreResult<Vec<(Product, Roles)>> {
        self.read_blocking(move |c| {
            let mut st = c.prepare_cached(concat!(
                "SELECT ",
                product_cols!(),
                ", m.roles FROM memberships m JOIN products p ON p.id = m.product_id
                 WHERE m.user_id = ?1 ORDER BY p.key"
            ))?;
            let rows = st.query_map([user.0], |r| Ok((product_row(r)?, Roles::from_bits(r.get(6)?))))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn update_product(
        &self,
        id: ProductId,
        patch: ProductPatch,
        expected_version: Option<i64>,
        ctx: &WriteCtx,
    ) -> StoreResult<Product> {
        let ctx = *ctx;
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            let old = load_product(tx, id)?;
            if expected_version.is_some_and(|v| v != old.version) {
                return Err(StoreError::StaleVersion { current: old.version }.into());
            }
            let mut new = old.clone();
            let mut changes: Vec<(&str, Value, Value)> = Vec::new();
            if let Some(name) = patch.name.filter(|n| *n != old.name) {
                changes.push(("name", json!(old.name), json!(name)));
                new.name = name;
            }
            if let Some(d) = patch.description.filter(|d| *d != old.description) {
                changes.push(("description", json!(old.description), json!(d)));
                new.description = d;
            }
            if changes.is_empty() {
                return Ok(old);
            }
            new.version += 1;
            tx.prepare_cached("UPDATE products SET name = ?2, description = ?3, version = ?4 WHERE id = ?1")?
                .execute(params![id.0, new.name, new.description, new.version])?;
            for (field, o, n) in &changes {
                event(tx, &ctx, Some(id), (ObjectKind::Product, id.0), field, o, n)?;
            }
            Ok(new)
        })
        .await
    }

    async fn workflow(&self, product: ProductId) -> StoreResult<Workflow> {
        self.read(|c| load_workflow(c, product))
    }

    async fn replace_workflow(
        &self,
        product: ProductId,
        states: Vec<StateSpec>,
        remap: Vec<(StateId, StateId)>,
        expected_version: Option<i64>,
        ctx: &WriteCtx,
    ) -> StoreResult<Workflow> {
        let ctx = *ctx;
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            let p = load_product(tx, product)?;
            if expected_version.is_some_and(|v| v != p.version) {
                return Err(StoreError::StaleVersion { current: p.version }.into());
            }
            let old = load_workflow(tx, product)?;
            for (i, s) in states.iter().enumerate() {
                if s.id.is_some_and(|id| old.state(id).is_none()) {
                    return Err(StoreError::invalid(&format!("states[{i}].id"), "is not a state of this workflow").into());
                }
            }
            let kept: Vec<StateId> = states.iter().filter_map(|s| s.id).collect();
            for (i, (_, to)) in remap.iter().enumerate() {
                if !kept.contains(to) {
                    return Err(StoreError::invalid(&format!("remap[{i}].to"), "must be a state that is kept").into());
                }
            }
            let removed: Vec<&WorkflowState> = old.states.iter().filter(|s| !kept.contains(&s.id)).collect();
            let mut count = tx.prepare_cached("SELECT COUNT(*) FROM items WHERE status_id = ?1")?;
            for r in &removed {
                if !remap.iter().any(|(f, _)| *f == r.id) && count.query_row([r.id.0], |x| x.get::<_, i64>(0))? > 0 {
                    return Err(StoreError::invalid(
                        "remap",
                        format!("state {} holds items: name the state they move to", r.name),
                    )
                    .into());
                }
            }
            // Names are unique per product: park them all first so renames may swap names.
            tx.prepare_cached("UPDATE workflow_states SET name = char(1) || id WHERE product_id = ?1")?
                .execute([product.0])?;
            let mut update = tx.prepare_cached(
                "UPDATE workflow_states SET name = ?2, category = ?3, position = ?4 WHERE id = ?1",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO workflow_states (product_id, name, category, position) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut recat = tx.prepare_cached("UPDATE items SET category = ?2 WHERE status_id = ?1")?;
            for (i, s) in states.iter().enumerate() {
                match s.id {
                    Some(id) => {
                        update.execute(params![id.0, s.name, s.category.code(), i as i64])?;
                        if old.state(id).is_some_and(|o| o.category != s.category) {
                            recat.execute(params![id.0, s.category.code()])?;
                        }
                    }
                    None => {
                        insert.execute(params![product.0, s.name, s.category.code(), i as i64])?;
                    }
                }
            }
            let mut moved_events = tx.prepare_cached(
                "INSERT INTO events (product_id, object, object_id, actor_id, at, field, old, new, proposal_id)
                 SELECT product_id, 'item', id, ?2, ?3, 'status', ?4, ?5, ?6 FROM items WHERE status_id = ?1
                 ORDER BY id",
            )?;
            let mut move_items = tx.prepare_cached(
                "UPDATE items SET status_id = ?2, category = ?3, version = version + 1, updated_at = ?4
                 WHERE status_id = ?1",
            )?;
            for (from, to) in &remap {
                let cat = states.iter().find(|s| s.id == Some(*to)).map_or(Category::Todo, |s| s.category);
                moved_events.execute(params![
                    from.0,
                    ctx.actor.map(|u| u.0),
                    ctx.at.0,
                    from.0.to_string(),
                    to.0.to_string(),
                    ctx.proposal.map(|p| p.0),
                ])?;
                move_items.execute(params![from.0, to.0, cat.code(), ctx.at.0])?;
            }
            let mut delete = tx.prepare_cached("DELETE FROM workflow_states WHERE id = ?1")?;
            for r in &removed {
                delete.execute([r.id.0])?;
            }
            tx.prepare_cached("UPDATE products SET version = version + 1 WHERE id = ?1")?.execute([product.0])?;
            let new = load_workflow(tx, product)?;
            event(
                tx,
                &ctx,
                Some(product),
                (ObjectKind::Product, product.0),
                "workflow",
                &states_json(&old),
                &states_json(&new),
            )?;
            Ok(new)
        })
        .await
    }

    async fn set_member(
        &self,
        product: ProductId,
        user: UserId,
        roles: Roles,
        ctx: &WriteCtx,
    ) -> StoreResult<Membership> {
        if roles.is_empty() {
            return Err(StoreError::invalid("roles", "must name at least one role"));
        }
        let ctx = *ctx;
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            let old = member_roles(tx, product, user)?;
            if old != Some(roles) {
                tx.prepare_cached(
                    "INSERT INTO memberships (product_id, user_id, roles) VALUES (?1, ?2, ?3)
                     ON CONFLICT (product_id, user_id) DO UPDATE SET roles = excluded.roles",
                )?
                .execute(params![product.0, user.0, roles.bits()])?;
                event(
                    tx,
                    &ctx,
                    Some(product),
                    (ObjectKind::Member, user.0),
                    "roles",
                    &json!(old),
                    &json!(roles),
                )?;
            }
            Ok(Membership { product_id: product, user_id: user, roles })
        })
        .await
    }

    async fn remove_member(&self, product: ProductId, user: UserId, ctx: &WriteCtx) -> StoreResult<()> {
        let ctx = *ctx;
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            let old = member_roles(tx, product, user)?.ok_or(StoreError::NotFound)?;
            tx.prepare_cached("DELETE FROM memberships WHERE product_id = ?1 AND user_id = ?2")?
                .execute([product.0, user.0])?;
            event(tx, &ctx, Some(product), (ObjectKind::Member, user.0), "roles", &json!(old), &Value::Null)?;
            Ok(())
        })
        .await
    }

    async fn members(&self, product: ProductId) -> StoreResult<Vec<(User, Roles)>> {
        self.read_blocking(move |c| {
            let mut st = c.prepare_cached(
                "SELECT u.id, u.email, u.name, u.password_hash, u.is_admin, u.is_active, u.created_at, m.roles
                 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.product_id = ?1 ORDER BY u.name, u.id",
            )?;
            let rows = st.query_map([product.0], |r| Ok((user_row(r)?, Roles::from_bits(r.get(7)?))))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}
