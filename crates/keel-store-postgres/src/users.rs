//! Users, API tokens, browser sessions and sign-in throttling.
//!
//! Account changes are events (object `user` or `token`, no product); sessions, sign-in failures
//! and token use are bookkeeping and record none. Password hashes and token secrets never reach
//! the history.

use crate::db::{accept_proposal, all, col, exec, one, opt, DbResult};
use crate::rows::{self, SESSION_COLS, SESSION_N, TOKEN_COLS, TOKEN_N, USER_COLS};
use crate::PgStore;
use async_trait::async_trait;
use keel_domain::event::{FieldChange, ObjectKind};
use keel_domain::user::{ApiToken, Email, NewUser, User, UserPatch};
use keel_domain::{Timestamp, TokenId, UserId};
use keel_store::{Page, Session, SessionStore, StoreResult, TokenStore, UserStore, WriteCtx};
use serde_json::{json, Value};

/// How long failed sign-ins are kept: far longer than any throttling window.
const FAILURE_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// A user as recorded in the history: everything but the password hash.
fn user_json(u: &User) -> Value {
    json!({ "email": u.email, "name": u.name, "is_admin": u.is_admin, "is_active": u.is_active })
}

/// A token as recorded in the history: everything but the secret's hash.
fn token_json(t: &ApiToken) -> Value {
    json!({ "user_id": t.user_id, "name": t.name })
}

#[async_trait]
impl UserStore for PgStore {
    async fn create_user(&self, user: NewUser, ctx: &WriteCtx) -> StoreResult<User> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        let mut ev = accept_proposal(&tx, ctx).await?;
        let row = one(
            &tx,
            "INSERT INTO users (email, name, password_hash, is_admin, is_active, created_at)
             VALUES ($1, $2, $3, $4, TRUE, $5) RETURNING id",
            &[&user.email.as_str(), &user.name, &user.password_hash, &user.is_admin, &ctx.at.0],
        )
        .await?;
        let created = User {
            id: UserId(col(&row, 0)?),
            email: user.email,
            name: user.name,
            password_hash: user.password_hash,
            is_admin: user.is_admin,
            is_active: true,
            created_at: ctx.at,
        };
        ev.push(None, ObjectKind::User, created.id.0, "created", &Value::Null, &user_json(&created));
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        Ok(created)
    }

    async fn user(&self, id: UserId) -> StoreResult<User> {
        let c = self.conn().await?;
        let row = one(&c, &format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1"), &[&id.0]).await?;
        rows::user(&row, 0)
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<User> {
        let c = self.conn().await?;
        let row = one(&c, &format!("SELECT {USER_COLS} FROM users u WHERE u.email = $1"), &[&email.as_str()])
            .await?;
        rows::user(&row, 0)
    }

    async fn users(&self, page: &Page) -> StoreResult<Vec<User>> {
        let c = self.conn().await?;
        let limit = i64::from(page.limit);
        let rows = match &page.after {
            Some(after) => {
                all(
                    &c,
                    &format!("SELECT {USER_COLS} FROM users u WHERE u.email > $1 ORDER BY u.email LIMIT $2"),
                    &[after, &limit],
                )
                .await?
            }
            None => {
                all(&c, &format!("SELECT {USER_COLS} FROM users u ORDER BY u.email LIMIT $1"), &[&limit])
                    .await?
            }
        };
        rows.iter().map(|r| rows::user(r, 0)).collect()
    }

    async fn update_user(&self, id: UserId, patch: UserPatch, ctx: &WriteCtx) -> StoreResult<User> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        let mut ev = accept_proposal(&tx, ctx).await?;
        let row = one(&tx, &format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1 FOR UPDATE"), &[&id.0])
            .await?;
        let old = rows::user(&row, 0)?;
        let mut new = old.clone();
        let mut ch = Vec::new();
        if let Some(name) = patch.name.filter(|n| *n != old.name) {
            ch.push(FieldChange::new("name", json!(old.name), json!(name)));
            new.name = name;
        }
        if let Some(hash) = patch.password_hash.filter(|h| *h != old.password_hash) {
            // The fact of the change is history; the hashes are not.
            ch.push(FieldChange::new("password", Value::Null, Value::Null));
            new.password_hash = hash;
        }
        if let Some(admin) = patch.is_admin.filter(|a| *a != old.is_admin) {
            ch.push(FieldChange::new("is_admin", json!(old.is_admin), json!(admin)));
            new.is_admin = admin;
        }
        if let Some(active) = patch.is_active.filter(|a| *a != old.is_active) {
            ch.push(FieldChange::new("is_active", json!(old.is_active), json!(active)));
            new.is_active = active;
        }
        if !ch.is_empty() {
            exec(
                &tx,
                "UPDATE users SET name = $2, password_hash = $3, is_admin = $4, is_active = $5 WHERE id = $1",
                &[&id.0, &new.name, &new.password_hash, &new.is_admin, &new.is_active],
            )
            .await?;
            ev.changes(None, ObjectKind::User, id.0, &ch);
        }
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        Ok(new)
    }

    async fn count_users(&self) -> StoreResult<i64> {
        let c = self.conn().await?;
        let row = one(&c, "SELECT count(*) FROM users", &[]).await?;
        col(&row, 0)
    }
}

#[async_trait]
impl TokenStore for PgStore {
    async fn create_token(
        &self,
        user: UserId,
        name: &str,
        secret_hash: &str,
        ctx: &WriteCtx,
    ) -> StoreResult<ApiToken> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        let mut ev = accept_proposal(&tx, ctx).await?;
        let row = one(
            &tx,
            "INSERT INTO api_tokens (user_id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&user.0, &name, &secret_hash, &ctx.at.0],
        )
        .await?;
        let token = ApiToken {
            id: TokenId(col(&row, 0)?),
            user_id: user,
            name: name.to_string(),
            secret_hash: secret_hash.to_string(),
            created_at: ctx.at,
            last_used_at: None,
            revoked_at: None,
        };
        ev.push(None, ObjectKind::Token, token.id.0, "created", &Value::Null, &token_json(&token));
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        Ok(token)
    }

    async fn token(&self, id: TokenId) -> StoreResult<ApiToken> {
        let c = self.conn().await?;
        let row =
            one(&c, &format!("SELECT {TOKEN_COLS} FROM api_tokens t WHERE t.id = $1"), &[&id.0]).await?;
        rows::token(&row, 0)
    }

    async fn token_with_user(&self, id: TokenId) -> StoreResult<(ApiToken, User)> {
        let c = self.conn().await?;
        let row = one(
            &c,
            &format!("SELECT {TOKEN_COLS}, {USER_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1"),
            &[&id.0],
        )
        .await?;
        Ok((rows::token(&row, 0)?, rows::user(&row, TOKEN_N)?))
    }

    async fn tokens_of(&self, user: UserId) -> StoreResult<Vec<ApiToken>> {
        let c = self.conn().await?;
        let rows = all(
            &c,
            &format!("SELECT {TOKEN_COLS} FROM api_tokens t WHERE t.user_id = $1 ORDER BY t.id DESC"),
            &[&user.0],
        )
        .await?;
        rows.iter().map(|r| rows::token(r, 0)).collect()
    }

    async fn revoke_token(&self, id: TokenId, ctx: &WriteCtx) -> StoreResult<ApiToken> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        let mut ev = accept_proposal(&tx, ctx).await?;
        let revoked = opt(
            &tx,
            &format!(
                "UPDATE api_tokens t SET revoked_at = $2 WHERE t.id = $1 AND t.revoked_at IS NULL RETURNING {TOKEN_COLS}"
            ),
            &[&id.0, &ctx.at.0],
        )
        .await?;
        let token = match revoked {
            Some(row) => {
                let token = rows::token(&row, 0)?;
                ev.push(None, ObjectKind::Token, id.0, "revoked", &Value::Null, &json!(ctx.at));
                token
            }
            // Already revoked (keeps the first time) or missing (NotFound).
            None => {
                let row =
                    one(&tx, &format!("SELECT {TOKEN_COLS} FROM api_tokens t WHERE t.id = $1"), &[&id.0])
                        .await?;
                rows::token(&row, 0)?
            }
        };
        ev.write(&tx, ctx).await?;
        tx.commit().await.db()?;
        Ok(token)
    }

    async fn touch_token(&self, id: TokenId, at: Timestamp) -> StoreResult<()> {
        let c = self.conn().await?;
        let n = exec(&c, "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", &[&id.0, &at.0]).await?;
        if n == 0 {
            return Err(keel_store::StoreError::NotFound);
        }
        Ok(())
    }
}

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        let c = self.conn().await?;
        exec(
            &c,
            "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            &[
                &session.id_hash,
                &session.user_id.0,
                &session.csrf_token,
                &session.created_at.0,
                &session.expires_at.0,
            ],
        )
        .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str, now: Timestamp) -> StoreResult<(Session, User)> {
        let c = self.conn().await?;
        let row = one(
            &c,
            &format!(
                "SELECT {SESSION_COLS}, {USER_COLS} FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.id_hash = $1 AND s.expires_at > $2"
            ),
            &[&id_hash, &now.0],
        )
        .await?;
        Ok((rows::session(&row, 0)?, rows::user(&row, SESSION_N)?))
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        let c = self.conn().await?;
        exec(&c, "DELETE FROM sessions WHERE id_hash = $1", &[&id_hash]).await?;
        Ok(())
    }

    async fn delete_sessions_of(&self, user: UserId) -> StoreResult<()> {
        let c = self.conn().await?;
        exec(&c, "DELETE FROM sessions WHERE user_id = $1", &[&user.0]).await?;
        Ok(())
    }

    async fn purge_expired(&self, now: Timestamp) -> StoreResult<u64> {
        let c = self.conn().await?;
        let sessions = exec(&c, "DELETE FROM sessions WHERE expires_at <= $1", &[&now.0]).await?;
        let cutoff = now.0 - FAILURE_RETENTION_MS;
        let failures = exec(&c, "DELETE FROM sign_in_failures WHERE at < $1", &[&cutoff]).await?;
        let hits = exec(&c, "DELETE FROM widget_hits WHERE at < $1", &[&cutoff]).await?;
        Ok(sessions + failures + hits)
    }

    async fn record_sign_in_failure(&self, key: &str, at: Timestamp) -> StoreResult<()> {
        let c = self.conn().await?;
        exec(&c, "INSERT INTO sign_in_failures (key, at) VALUES ($1, $2)", &[&key, &at.0]).await?;
        Ok(())
    }

    async fn sign_in_failures(&self, key: &str, since: Timestamp) -> StoreResult<i64> {
        let c = self.conn().await?;
        let row =
            one(&c, "SELECT count(*) FROM sign_in_failures WHERE key = $1 AND at >= $2", &[&key, &since.0])
                .await?;
        col(&row, 0)
    }

    async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()> {
        let c = self.conn().await?;
        exec(&c, "DELETE FROM sign_in_failures WHERE key = $1", &[&key]).await?;
        Ok(())
    }

    async fn widget_hit(
        &self,
        scope: &str,
        at: Timestamp,
        limits: &[(i64, i64)],
    ) -> StoreResult<Option<i64>> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        // Serialise the count and the insert per scope across every server process.
        exec(&tx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&scope]).await?;
        let longest = limits.iter().map(|l| l.0).max().unwrap_or(0);
        exec(&tx, "DELETE FROM widget_hits WHERE scope = $1 AND at < $2", &[&scope, &(at.0 - longest)])
            .await?;
        for (window, max) in limits {
            let row = one(
                &tx,
                "SELECT count(*), min(at) FROM widget_hits WHERE scope = $1 AND at > $2",
                &[&scope, &(at.0 - window)],
            )
            .await?;
            let n: i64 = col(&row, 0)?;
            let oldest: Option<i64> = col(&row, 1)?;
            if n >= *max {
                tx.commit().await.db()?;
                return Ok(Some((oldest.unwrap_or(at.0) + window - at.0).max(1)));
            }
        }
        exec(&tx, "INSERT INTO widget_hits (scope, at) VALUES ($1, $2)", &[&scope, &at.0]).await?;
        tx.commit().await.db()?;
        Ok(None)
    }
}
