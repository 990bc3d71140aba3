//! Products, their workflows and memberships.
//!
//! Membership changes are recorded as events on object `member` whose id is the user's, inside
//! the product, so a product's feed shows who joined and left.

use crate::db::{accept_proposal, all, col, exec, lock_feed, one, opt, DbResult};
use crate::rows::{self, PRODUCT_COLS, PRODUCT_N, STATE_COLS, USER_COLS, USER_N};
use crate::PgStore;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use keel_domain::board::StateSpec;
use keel_domain::event::{FieldChange, ObjectKind};
use keel_domain::product::{Membership, Product, ProductKey, Roles};
use keel_domain::user::User;
use keel_domain::workflow::{Workflow, WorkflowState, DEFAULT_WORKFLOW};
use keel_domain::{ProductId, StateId, UserId};
use keel_store::{NewProduct, ProductPatch, ProductStore, StoreError, StoreResult, WriteCtx};
use serde_json::{json, Value};

/// A product's workflow, read on `c` (a connection or the transaction of a write).
pub async fn load_workflow<C: GenericClient>(c: &C, product: ProductId) -> StoreResult<Workflow> {
    let rows = all(
        c,
        &format!(
            "SELECT {STATE_COLS} FROM workflow_states w WHERE w.product_id = $1 ORDER BY w.position, w.id"
        ),
        &[&product.0],
    )
    .await?;
    rows::workflow(&rows)
}

/// A workflow as recorded in a `workflow` event: its states with id, name and category, in order.
fn states_json(w: &Workflow) -> Value {
    Value::Array(
        w.states.iter().map(|s| json!({"id": s.id, "name": s.name, "category": s.category})).collect(),
    )
}

#[async_trait]
impl ProductStore for PgStore {
    async fn create_product(&self, product: NewProduct, ctx: &WriteCtx) -> StoreResult<Product> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        let mut ev = accept_proposal(&tx, ctx).await?;
        let row = one(
            &tx,
            "INSERT INTO products (key, name, description, created_at, version) VALUES ($1, $2, $3, $4, 1) RETURNING id",
            &[&product.key.as_str(), &product.name, &product.description, &ctx.at.0],
        )
        .await?;
        let id: i64 = col(&row, 0)?;
        let names: Vec<&str> = DEFAULT_WORKFLOW.iter().map(|(n, _)| *n).collect();
        let cats: Vec<i32> = DEFAULT_WORKFLOW.iter().map(|(_, c)| c.code() as i32).collect();
        exec(
            &tx,
            "INSERT INTO workflow_states (product_id, name, category, position)
             SELECT $1, n, c, p - 1 FROM unnest($2::text[], $3::int[]) WITH ORDINALITY AS s(n, c, p)",
            &[&id, &names, &cats],
        )
        .await?;
        let created = Product {
            id: ProductId(id),
            key: product.key,
            name: product.name,
            description: product.description,
            created_at: ctx.at,
            version: 1,
        };
        ev.push(Some(created.id), ObjectKind::Product, id, "created", &Value::Null, &json!(created));
        if let Some((user, roles)) = product.owner {
            let bits = roles.bits() as i32;
            exec(
                &tx,
                "INSERT INTO memberships (product_id, user_id, roles) VALUES ($1, $2, $3)",
                &[&id, &user.0, &bits],
            )
            .await?;
            let none: Option<Roles> = None;
            ev.push(Some(created.id), ObjectKind::Member, user.0, "roles", &json!(none), &json!(roles));
        }
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        Ok(created)
    }

    async fn product(&self, id: ProductId) -> StoreResult<Product> {
        let c = self.conn().await?;
        let row =
            one(&c, &format!("SELECT {PRODUCT_COLS} FROM products p WHERE p.id = $1"), &[&id.0]).await?;
        rows::product(&row, 0)
    }

    async fn product_by_key(&self, key: &ProductKey) -> StoreResult<Product> {
        let c = self.conn().await?;
        let row =
            one(&c, &format!("SELECT {PRODUCT_COLS} FROM products p WHERE p.key = $1"), &[&key.as_str()])
                .await?;
        rows::product(&row, 0)
    }

    async fn product_access(&self, key: &ProductKey, user: UserId) -> StoreResult<(Product, Roles)> {
        let c = self.conn().await?;
        let row = one(
            &c,
            &format!(
                "SELECT {PRODUCT_COLS}, COALESCE(m.roles, 0) FROM products p
                 LEFT JOIN memberships m ON m.product_id = p.id AND m.user_id = $2 WHERE p.key = $1"
            ),
            &[&key.as_str(), &user.0],
        )
        .await?;
        Ok((rows::product(&row, 0)?, Roles::from_bits(i64::from(col::<i32>(&row, PRODUCT_N)?))))
    }

    async fn roles(&self, product: ProductId, user: UserId) -> StoreResult<Roles> {
        let c = self.conn().await?;
        let row = opt(
            &c,
            "SELECT roles FROM memberships WHERE product_id = $1 AND user_id = $2",
            &[&product.0, &user.0],
        )
        .await?;
        match row {
            Some(r) => Ok(Roles::from_bits(i64::from(col::<i32>(&r, 0)?))),
            None => Ok(Roles::NONE),
        }
    }

    async fn products(&self) -> StoreResult<Vec<Product>> {
        let c = self.conn().await?;
        let rows = all(&c, &format!("SELECT {PRODUCT_COLS} FROM products p ORDER BY p.key"), &[]).await?;
        rows.iter().map(|r| rows::product(r, 0)).collect()
    }

    async fn products_of(&self, user: UserId) -> StoreResult<Vec<(Product, Roles)>> {
        let c = self.conn().await?;
        let rows = all(
            &c,
            &format!(
                "SELECT {PRODUCT_COLS}, m.roles FROM memberships m JOIN products p ON p.id = m.product_id
                 WHERE m.user_id = $1 ORDER BY p.key"
            ),
            &[&user.0],
        )
        .await?;
        rows.iter()
            .map(|r| Ok((rows::product(r, 0)?, Roles::from_bits(i64::from(col::<i32>(r, PRODUCT_N)?)))))
            .collect()
    }

    async fn update_product(
        &self,
        id: ProductId,
        patch: ProductPatch,
        expected_version: Option<i64>,
        ctx: &WriteCtx,
    ) -> StoreResult<Product> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        let mut ev = accept_proposal(&tx, ctx).await?;
        let row =
            one(&tx, &format!("SELECT {PRODUCT_COLS} FROM products p WHERE p.id = $1 FOR UPDATE"), &[&id.0])
                .await?;
        let old = rows::product(&row, 0)?;
        if let Some(v) = expected_version {
            if v != old.version {
                return Err(StoreError::StaleVersion { current: old.version });
            }
        }
        let mut new = old.clone();
        let mut ch = Vec::new();
        if let Some(name) = patch.name.filter(|n| *n != old.name) {
            ch.push(FieldChange::new("name", json!(old.name), json!(name)));
            new.name = name;
        }
        if let Some(d) = patch.description.filter(|d| *d != old.description) {
            ch.push(FieldChange::new("description", json!(old.description), json!(d)));
            new.description = d;
        }
        if !ch.is_empty() {
            new.version += 1;
            exec(
                &tx,
                "UPDATE products SET name = $2, description = $3, version = version + 1 WHERE id = $1",
                &[&id.0, &new.name, &new.description],
            )
            .await?;
            ev.changes(Some(id), ObjectKind::Product, id.0, &ch);
        }
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        Ok(new)
    }

    async fn workflow(&self, product: ProductId) -> StoreResult<Workflow> {
        let c = self.conn().await?;
        let wf = load_workflow(&c, product).await?;
        if wf.states.is_empty() {
            // Every product has states from its creation on: none means no such product.
            return Err(StoreError::NotFound);
        }
        Ok(wf)
    }

    async fn replace_workflow(
        &self,
        product: ProductId,
        states: Vec<StateSpec>,
        remap: Vec<(StateId, StateId)>,
        expected_version: Option<i64>,
        ctx: &WriteCtx,
    ) -> StoreResult<Workflow> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        let mut ev = accept_proposal(&tx, ctx).await?;
        let row = one(
            &tx,
            &format!("SELECT {PRODUCT_COLS} FROM products p WHERE p.id = $1 FOR UPDATE"),
            &[&product.0],
        )
        .await?;
        let p = rows::product(&row, 0)?;
        if expected_version.is_some_and(|v| v != p.version) {
            return Err(StoreError::StaleVersion { current: p.version });
        }
        let old = load_workflow(&tx, product).await?;
        for (i, s) in states.iter().enumerate() {
            if s.id.is_some_and(|id| old.state(id).is_none()) {
                return Err(StoreError::invalid(
                    &format!("states[{i}].id"),
                    "is not a state of this workflow",
                ));
            }
        }
        let kept: Vec<StateId> = states.iter().filter_map(|s| s.id).collect();
        for (i, (_, to)) in remap.iter().enumerate() {
            if !kept.contains(to) {
                return Err(StoreError::invalid(&format!("remap[{i}].to"), "must be a state that is kept"));
            }
        }
        let removed: Vec<&WorkflowState> = old.states.iter().filter(|s| !kept.contains(&s.id)).collect();
        for r in &removed {
            if remap.iter().any(|(f, _)| *f == r.id) {
                continue;
            }
            let n: i64 =
                col(&one(&tx, "SELECT COUNT(*) FROM items WHERE status_id = $1", &[&r.id.0]).await?, 0)?;
            if n > 0 {
                return Err(StoreError::invalid(
                    "remap",
                    format!("state {} holds items: name the state they move to", r.name),
                ));
            }
        }
        // Names are unique per product: park them all first so renames may swap names.
        exec(
            &tx,
            "UPDATE workflow_states SET name = chr(1) || id::text WHERE product_id = $1",
            &[&product.0],
        )
        .await?;
        for (i, s) in states.iter().enumerate() {
            let (cat, pos) = (s.category.code() as i32, i as i64);
            match s.id {
                Some(id) => {
                    exec(
                        &tx,
                        "UPDATE workflow_states SET name = $2, category = $3, position = $4 WHERE id = $1",
                        &[&id.0, &s.name, &cat, &pos],
                    )
                    .await?;
                    if old.state(id).is_some_and(|o| o.category != s.category) {
                        exec(&tx, "UPDATE items SET category = $2 WHERE status_id = $1", &[&id.0, &cat])
                            .await?;
                    }
                }
                None => {
                    exec(
                        &tx,
                        "INSERT INTO workflow_states (product_id, name, category, position) VALUES ($1, $2, $3, $4)",
                        &[&product.0, &s.name, &cat, &pos],
                    )
                    .await?;
                }
            }
        }
        if !remap.is_empty() {
            lock_feed(&tx, product).await?;
        }
        let actor = ctx.actor.map(|u| u.0);
        let proposal = ctx.proposal.map(|p| p.0);
        for (from, to) in &remap {
            let cat = states.iter().find(|s| s.id == Some(*to)).map_or(0, |s| s.category.code() as i32);
            exec(
                &tx,
                "INSERT INTO events (product_id, object, object_id, actor_id, at, field, old, new, proposal_id)
                 SELECT product_id, 'item', id, $2, $3, 'status', $4, $5, $6 FROM items WHERE status_id = $1
                 ORDER BY id",
                &[&from.0, &actor, &ctx.at.0, &from.0.to_string(), &to.0.to_string(), &proposal],
            )
            .await?;
            exec(
                &tx,
                "UPDATE items SET status_id = $2, category = $3, version = version + 1, updated_at = $4
                 WHERE status_id = $1",
                &[&from.0, &to.0, &cat, &ctx.at.0],
            )
            .await?;
        }
        for r in &removed {
            exec(&tx, "DELETE FROM workflow_states WHERE id = $1", &[&r.id.0]).await?;
        }
        exec(&tx, "UPDATE products SET version = version + 1 WHERE id = $1", &[&product.0]).await?;
        let new = load_workflow(&tx, product).await?;
        ev.push(
            Some(product),
            ObjectKind::Product,
            product.0,
            "workflow",
            &states_json(&old),
            &states_json(&new),
        );
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        Ok(new)
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
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        let mut ev = accept_proposal(&tx, ctx).await?;
        let old = opt(
            &tx,
            "SELECT roles FROM memberships WHERE product_id = $1 AND user_id = $2 FOR UPDATE",
            &[&product.0, &user.0],
        )
        .await?;
        let old = match old {
            Some(r) => Some(Roles::from_bits(i64::from(col::<i32>(&r, 0)?))),
            None => None,
        };
        if old != Some(roles) {
            let bits = roles.bits() as i32;
            exec(
                &tx,
                "INSERT INTO memberships (product_id, user_id, roles) VALUES ($1, $2, $3)
                 ON CONFLICT (product_id, user_id) DO UPDATE SET roles = EXCLUDED.roles",
                &[&product.0, &user.0, &bits],
            )
            .await?;
            ev.push(Some(product), ObjectKind::Member, user.0, "roles", &json!(old), &json!(roles));
        }
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        Ok(Membership { product_id: product, user_id: user, roles })
    }

    async fn remove_member(&self, product: ProductId, user: UserId, ctx: &WriteCtx) -> StoreResult<()> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        let mut ev = accept_proposal(&tx, ctx).await?;
        let row = one(
            &tx,
            "DELETE FROM memberships WHERE product_id = $1 AND user_id = $2 RETURNING roles",
            &[&product.0, &user.0],
        )
        .await?;
        let old = Roles::from_bits(i64::from(col::<i32>(&row, 0)?));
        ev.push(Some(product), ObjectKind::Member, user.0, "roles", &json!(old), &Value::Null);
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn members(&self, product: ProductId) -> StoreResult<Vec<(User, Roles)>> {
        let c = self.conn().await?;
        let rows = all(
            &c,
            &format!(
                "SELECT {USER_COLS}, m.roles FROM memberships m JOIN users u ON u.id = m.user_id
                 WHERE m.product_id = $1 ORDER BY u.name, u.id"
            ),
            &[&product.0],
        )
        .await?;
        rows.iter()
            .map(|r| Ok((rows::user(r, 0)?, Roles::from_bits(i64::from(col::<i32>(r, USER_N)?)))))
            .collect()
    }
}
