//! Products, their workflows and memberships.
//!
//! Membership changes are recorded as events on object `member` whose id is the user's, inside
//! the product, so a product's feed shows who joined and left.

use crate::db::{accept_proposal, all, col, exec, one, opt, DbResult};
use crate::rows::{self, PRODUCT_COLS, PRODUCT_N, STATE_COLS, USER_COLS, USER_N};
use crate::PgStore;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use keel_domain::event::{FieldChange, ObjectKind};
use keel_domain::product::{Membership, Product, ProductKey, Roles};
use keel_domain::user::User;
use keel_domain::workflow::{Workflow, DEFAULT_WORKFLOW};
use keel_domain::{ProductId, UserId};
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
