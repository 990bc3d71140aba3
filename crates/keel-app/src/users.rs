//! Administering users: create, list, change, deactivate; and the first administrator.

use crate::auth::{hash_password, random_password};
use crate::{App, AppError, AppResult};
use keel_domain::user::{check_password, parse_name, Email, NewUser, User, UserPatch};
use keel_domain::UserId;
use keel_store::Page;

/// What creating the first administrator produced.
#[derive(Debug, Clone)]
pub struct FirstAdmin {
    /// The account.
    pub user: User,
    /// The generated password, when none was configured (to print once).
    pub generated_password: Option<String>,
}

/// Input for creating a user.
#[derive(Debug, Clone)]
pub struct UserInput {
    /// E-mail.
    pub email: String,
    /// Name (defaults to the e-mail's local part).
    pub name: Option<String>,
    /// Password.
    pub password: String,
    /// Administrator.
    pub is_admin: bool,
}

impl App {
    /// On an empty database, creates the first administrator: from the given e-mail and
    /// password when both are set, else `admin@localhost` with a random password. Does nothing
    /// (returns `None`) when any user exists.
    pub async fn ensure_first_admin(
        &self,
        email: Option<&str>,
        password: Option<&str>,
    ) -> AppResult<Option<FirstAdmin>> {
        if self.store.count_users().await? > 0 {
            return Ok(None);
        }
        let (email, password, generated) = match (email, password) {
            (Some(e), Some(p)) => (e.to_string(), p.to_string(), None),
            _ => {
                let p = random_password();
                ("admin@localhost".to_string(), p.clone(), Some(p))
            }
        };
        let input = UserInput { email, name: Some("Administrator".into()), password, is_admin: true };
        let user = self.insert_user(input).await?;
        Ok(Some(FirstAdmin { user, generated_password: generated }))
    }

    async fn insert_user(&self, input: UserInput) -> AppResult<User> {
        let email = Email::parse("email", &input.email)?;
        let name = match input.name.as_deref() {
            Some(n) => parse_name("name", n)?,
            None => parse_name("name", email.as_str().split('@').next().unwrap_or("user"))?,
        };
        check_password("password", &input.password)?;
        let pw = input.password.clone();
        let password_hash = tokio::task::spawn_blocking(move || hash_password(&pw))
            .await
            .map_err(|_| AppError::invalid("password", "could not be hashed"))??;
        let new = NewUser { email, name, password_hash, is_admin: input.is_admin };
        match self.store.create_user(new, &self.system_ctx()).await {
            Err(keel_store::StoreError::Conflict(_)) => {
                Err(AppError::Conflict(format!("a user with e-mail {} exists", input.email.trim())))
            }
            r => Ok(r?),
        }
    }

    /// Creates a user (administrators only; `None` acts as the system, for the CLI).
    pub async fn create_user(&self, actor: Option<&User>, input: UserInput) -> AppResult<User> {
        if let Some(a) = actor {
            if !a.is_admin {
                return Err(AppError::AdminOnly);
            }
        }
        self.insert_user(input).await
    }

    /// Lists users (administrators only; `None` acts as the system).
    pub async fn list_users(&self, actor: Option<&User>, page: &Page) -> AppResult<Vec<User>> {
        if actor.is_some_and(|a| !a.is_admin) {
            return Err(AppError::AdminOnly);
        }
        Ok(self.store.users(page).await?)
    }

    /// A user by e-mail (for the CLI and admin pages).
    pub async fn user_by_email(&self, email: &str) -> AppResult<User> {
        let e = Email::parse("email", email)?;
        Ok(self.store.user_by_email(&e).await?)
    }

    /// A user by id (administrators, or oneself).
    pub async fn user(&self, actor: Option<&User>, id: UserId) -> AppResult<User> {
        if actor.is_some_and(|a| !a.is_admin && a.id != id) {
            return Err(AppError::NotFound);
        }
        Ok(self.store.user(id).await?)
    }

    /// Changes a user's name, admin flag or active flag (administrators only). An administrator
    /// cannot remove their own administration or deactivate themselves, so a product is never
    /// left without one by accident.
    pub async fn update_user(
        &self,
        actor: Option<&User>,
        id: UserId,
        name: Option<&str>,
        is_admin: Option<bool>,
        is_active: Option<bool>,
    ) -> AppResult<User> {
        if let Some(a) = actor {
            if !a.is_admin {
                return Err(AppError::AdminOnly);
            }
            if a.id == id && (is_admin == Some(false) || is_active == Some(false)) {
                return Err(AppError::invalid("is_admin", "you cannot demote or deactivate yourself"));
            }
        }
        let patch = UserPatch {
            name: name.map(|n| parse_name("name", n)).transpose()?,
            password_hash: None,
            is_admin,
            is_active,
        };
        let ctx = actor.map_or_else(|| self.system_ctx(), |a| self.ctx(a));
        let u = self.store.update_user(id, patch, &ctx).await?;
        self.caches.forget_user(id);
        if is_active == Some(false) {
            self.store.delete_sessions_of(id).await?;
        }
        Ok(u)
    }

    /// Sets a password without knowing the old one (the CLI's `user passwd`, run by the operator).
    pub async fn reset_password(&self, id: UserId, password: &str) -> AppResult<User> {
        check_password("password", password)?;
        let patch = UserPatch { password_hash: Some(hash_password(password)?), ..Default::default() };
        let u = self.store.update_user(id, patch, &self.system_ctx()).await?;
        self.caches.forget_user(id);
        self.store.delete_sessions_of(id).await?;
        Ok(u)
    }
}
