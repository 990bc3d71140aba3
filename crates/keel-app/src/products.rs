//! Products and memberships.

use crate::{App, AppError, AppResult, ProductAccess};
use keel_domain::product::{parse_product_description, parse_product_name, Product, ProductKey, Role, Roles};
use keel_domain::rights::{Action, Decision};
use keel_domain::user::User;
use keel_domain::workflow::Workflow;
use keel_domain::UserId;
use keel_store::{NewProduct, ProductPatch, StoreError};

impl App {
    /// The user's access to the product with key `key`: 404 when it does not exist or the user
    /// may not read it (a non-member learns nothing about other products).
    pub async fn access(&self, user: &User, key: &str) -> AppResult<ProductAccess> {
        let key = ProductKey::parse("product", key).map_err(|_| AppError::NotFound)?;
        let (product, roles) = match self.caches.access(user.id, &key) {
            Some(hit) => hit,
            None => {
                let (p, r) = self.store.product_access(&key, user.id).await?;
                self.caches.put_access(user.id, p.clone(), r);
                (p, r)
            }
        };
        let access = ProductAccess { user: user.clone(), product, roles };
        if self.decide(&access, Action::ReadProduct) != Decision::Allow {
            return Err(AppError::NotFound);
        }
        Ok(access)
    }

    /// The products the user may see: their memberships, or every product for an administrator.
    pub async fn products_for(&self, user: &User) -> AppResult<Vec<(Product, Roles)>> {
        let mine = self.store.products_of(user.id).await?;
        if !user.is_admin {
            return Ok(mine);
        }
        let all = self.store.products().await?;
        Ok(all
            .into_iter()
            .map(|p| {
                let r = mine.iter().find(|(m, _)| m.id == p.id).map_or(Roles::NONE, |(_, r)| *r);
                (p, r)
            })
            .collect())
    }

    /// Creates a product (administrators; `None` acts as the system). A user who creates a
    /// product becomes its Product Manager and Product Owner, as in a small firm; roles can be
    /// changed afterwards.
    pub async fn create_product(
        &self,
        actor: Option<&User>,
        key: &str,
        name: &str,
        description: &str,
    ) -> AppResult<Product> {
        if actor.is_some_and(|a| !a.is_admin) {
            return Err(AppError::AdminOnly);
        }
        let new = NewProduct {
            key: ProductKey::parse("key", key)?,
            name: parse_product_name("name", name)?,
            description: parse_product_description("description", description)?,
            owner: actor.map(|a| (a.id, Roles::of(&[Role::Pm, Role::Po]))),
        };
        let ctx = actor.map_or_else(|| self.system_ctx(), |a| self.ctx(a));
        match self.store.create_product(new, &ctx).await {
            Err(StoreError::Conflict(_)) => Err(AppError::Conflict(format!("product key {key} is taken"))),
            r => Ok(r?),
        }
    }

    /// Changes a product's name or description (the Product Manager decides).
    pub async fn update_product(
        &self,
        access: &ProductAccess,
        name: Option<&str>,
        description: Option<&str>,
        expected_version: Option<i64>,
    ) -> AppResult<Product> {
        self.require(access, Action::EditProduct)?;
        let patch = ProductPatch {
            name: name.map(|n| parse_product_name("name", n)).transpose()?,
            description: description.map(|d| parse_product_description("description", d)).transpose()?,
        };
        let p = self
            .store
            .update_product(access.product.id, patch, expected_version, &self.ctx(&access.user))
            .await;
        self.caches.forget_product(access.product.id);
        Ok(p?)
    }

    /// The product's workflow, from the cache while the product's version is the one it was read
    /// at (see the `cache` module).
    pub async fn workflow(&self, access: &ProductAccess) -> AppResult<Workflow> {
        let (id, version) = (access.product.id, access.product.version);
        if let Some(w) = self.caches.workflow(id, version) {
            return Ok((*w).clone());
        }
        let w = self.store.workflow(id).await?;
        self.caches.put_workflow(id, version, std::sync::Arc::new(w.clone()));
        Ok(w)
    }

    /// Sets a member's roles (administrators only).
    pub async fn set_member(
        &self,
        actor: Option<&User>,
        product: &Product,
        user: UserId,
        roles: Roles,
    ) -> AppResult<()> {
        if actor.is_some_and(|a| !a.is_admin) {
            return Err(AppError::AdminOnly);
        }
        if roles.is_empty() {
            return Err(AppError::invalid("roles", "must name at least one role"));
        }
        let target = self.store.user(user).await.map_err(|e| match e {
            StoreError::NotFound => AppError::invalid("user_id", "no such user"),
            e => e.into(),
        })?;
        if !target.is_active {
            return Err(AppError::invalid("user_id", "the user is deactivated"));
        }
        let ctx = actor.map_or_else(|| self.system_ctx(), |a| self.ctx(a));
        self.store.set_member(product.id, user, roles, &ctx).await?;
        self.caches.forget_user(user);
        Ok(())
    }

    /// Removes a member (administrators only).
    pub async fn remove_member(
        &self,
        actor: Option<&User>,
        product: &Product,
        user: UserId,
    ) -> AppResult<()> {
        if actor.is_some_and(|a| !a.is_admin) {
            return Err(AppError::AdminOnly);
        }
        let ctx = actor.map_or_else(|| self.system_ctx(), |a| self.ctx(a));
        let r = self.store.remove_member(product.id, user, &ctx).await;
        self.caches.forget_user(user);
        Ok(r?)
    }

    /// The members of a product with their roles.
    pub async fn members(&self, access: &ProductAccess) -> AppResult<Vec<(User, Roles)>> {
        Ok(self.store.members(access.product.id).await?)
    }

    /// A product by key, for the system (CLI).
    pub async fn product_by_key(&self, key: &str) -> AppResult<Product> {
        let key = ProductKey::parse("product", key)?;
        Ok(self.store.product_by_key(&key).await?)
    }
}
