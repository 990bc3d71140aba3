//! Users, API tokens, browser sessions and sign-in throttling.
//!
//! User and token changes are history (who created, changed or revoked what); sessions,
//! sign-in failures and token use are bookkeeping and append no events.

use crate::{accept_proposal, event, Res, SqliteStore};
use async_trait::async_trait;
use keel_domain::event::ObjectKind;
use keel_domain::user::{ApiToken, Email, NewUser, User, UserPatch};
use keel_domain::{Timestamp, TokenId, UserId};
use keel_store::{Page, Session, SessionStore, StoreError, StoreResult, TokenStore, UserStore, WriteCtx};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};

/// How long sign-in failures are kept: far beyond any throttling window.
const FAILURES_KEPT_MS: i64 = 24 * 60 * 60 * 1000;

macro_rules! user_cols {
    () => {
        "u.id, u.email, u.name, u.password_hash, u.is_admin, u.is_active, u.created_at"
    };
}

/// Maps the seven `user_cols!` starting at column `o`.
fn user_at(r: &Row<'_>, o: usize) -> rusqlite::Result<User> {
    Ok(User {
        id: UserId(r.get(o)?),
        email: Email::from_trusted(r.get(o + 1)?),
        name: r.get(o + 2)?,
        password_hash: r.get(o + 3)?,
        is_admin: r.get(o + 4)?,
        is_active: r.get(o + 5)?,
        created_at: Timestamp(r.get(o + 6)?),
    })
}

pub(crate) fn user_row(r: &Row<'_>) -> rusqlite::Result<User> {
    user_at(r, 0)
}

macro_rules! token_cols {
    () => {
        "t.id, t.user_id, t.name, t.secret_hash, t.created_at, t.last_used_at, t.revoked_at"
    };
}

fn token_row(r: &Row<'_>) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        id: TokenId(r.get(0)?),
        user_id: UserId(r.get(1)?),
        name: r.get(2)?,
        secret_hash: r.get(3)?,
        created_at: Timestamp(r.get(4)?),
        last_used_at: r.get::<_, Option<i64>>(5)?.map(Timestamp),
        revoked_at: r.get::<_, Option<i64>>(6)?.map(Timestamp),
    })
}

fn load_user(c: &Connection, id: UserId) -> Res<User> {
    Ok(c.prepare_cached(concat!("SELECT ", user_cols!(), " FROM users u WHERE u.id = ?1"))?
        .query_row([id.0], user_row)?)
}

fn load_token(c: &Connection, id: TokenId) -> Res<ApiToken> {
    Ok(c.prepare_cached(concat!("SELECT ", token_cols!(), " FROM api_tokens t WHERE t.id = ?1"))?
        .query_row([id.0], token_row)?)
}

/// What a user event shows of the account: never the password hash.
fn user_json(u: &User) -> Value {
    json!({ "email": u.email, "name": u.name, "is_admin": u.is_admin, "is_active": u.is_active })
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: NewUser, ctx: &WriteCtx) -> StoreResult<User> {
        let ctx = *ctx;
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            let id: i64 = tx
                .prepare_cached(
                    "INSERT INTO users (email, name, password_hash, is_admin, is_active, created_at)
                     VALUES (?1, ?2, ?3, ?4, 1, ?5) RETURNING id",
                )?
                .query_row(
                    params![user.email.as_str(), user.name, user.password_hash, user.is_admin, ctx.at.0],
                    |r| r.get(0),
                )?;
            let u = User {
                id: UserId(id),
                email: user.email,
                name: user.name,
                password_hash: user.password_hash,
                is_admin: user.is_admin,
                is_active: true,
                created_at: ctx.at,
            };
            event(tx, &ctx, None, (ObjectKind::User, id), "created", &Value::Null, &user_json(&u))?;
            Ok(u)
        })
        .await
    }

    async fn user(&self, id: UserId) -> StoreResult<User> {
        self.read(|c| load_user(c, id))
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<User> {
        self.read(|c| {
            Ok(c.prepare_cached(concat!("SELECT ", user_cols!(), " FROM users u WHERE u.email = ?1"))?
                .query_row([email.as_str()], user_row)?)
        })
    }

    async fn users(&self, page: &Page) -> StoreResult<Vec<User>> {
        let page = page.clone();
        self.read_blocking(move |c| {
            let mut st = c.prepare_cached(concat!(
                "SELECT ",
                user_cols!(),
                " FROM users u WHERE ?1 IS NULL OR u.email > ?1 ORDER BY u.email LIMIT ?2"
            ))?;
            let rows = st.query_map(params![page.after, page.limit], user_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn update_user(&self, id: UserId, patch: UserPatch, ctx: &WriteCtx) -> StoreResult<User> {
        let ctx = *ctx;
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            let old = load_user(tx, id)?;
            let mut new = old.clone();
            let mut changes: Vec<(&str, Value, Value)> = Vec::new();
            if let Some(name) = patch.name.filter(|n| *n != old.name) {
                changes.push(("name", json!(old.name), json!(name)));
                new.name = name;
            }
            if let Some(hash) = patch.password_hash.filter(|h| *h != old.password_hash) {
                // The fact of the change is history; the hashes are not.
                changes.push(("password", Value::Null, Value::Null));
                new.password_hash = hash;
            }
            if let Some(v) = patch.is_admin.filter(|v| *v != old.is_admin) {
                changes.push(("is_admin", json!(old.is_admin), json!(v)));
                new.is_admin = v;
            }
            if let Some(v) = patch.is_active.filter(|v| *v != old.is_active) {
                changes.push(("is_active", json!(old.is_active), json!(v)));
                new.is_active = v;
            }
            if changes.is_empty() {
                return Ok(old);
            }
            tx.prepare_cached(
                "UPDATE users SET name = ?2, password_hash = ?3, is_admin = ?4, is_active = ?5 WHERE id = ?1",
            )?
            .execute(params![id.0, new.name, new.password_hash, new.is_admin, new.is_active])?;
            for (field, o, n) in &changes {
                event(tx, &ctx, None, (ObjectKind::User, id.0), field, o, n)?;
            }
            Ok(new)
        })
        .await
    }

    async fn count_users(&self) -> StoreResult<i64> {
        self.read(|c| Ok(c.prepare_cached("SELECT COUNT(*) FROM users")?.query_row([], |r| r.get(0))?))
    }
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn create_token(
        &self,
        user: UserId,
        name: &str,
        secret_hash: &str,
        ctx: &WriteCtx,
    ) -> StoreResult<ApiToken> {
        let (ctx, name, secret_hash) = (*ctx, name.to_string(), secret_hash.to_string());
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            let id: i64 = tx
                .prepare_cached(
                    "INSERT INTO api_tokens (user_id, name, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
                )?
                .query_row(params![user.0, name, secret_hash, ctx.at.0], |r| r.get(0))?;
            let t = ApiToken {
                id: TokenId(id),
                user_id: user,
                name,
                secret_hash,
                created_at: ctx.at,
                last_used_at: None,
                revoked_at: None,
            };
            let new = json!({ "user_id": user, "name": t.name });
            event(tx, &ctx, None, (ObjectKind::Token, id), "created", &Value::Null, &new)?;
            Ok(t)
        })
        .await
    }

    async fn token(&self, id: TokenId) -> StoreResult<ApiToken> {
        self.read(|c| load_token(c, id))
    }

    async fn token_with_user(&self, id: TokenId) -> StoreResult<(ApiToken, User)> {
        self.read(|c| {
            Ok(c.prepare_cached(concat!(
                "SELECT ",
                token_cols!(),
                ", ",
                user_cols!(),
                " FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?1"
            ))?
            .query_row([id.0], |r| Ok((token_row(r)?, user_at(r, 7)?)))?)
        })
    }

    async fn tokens_of(&self, user: UserId) -> StoreResult<Vec<ApiToken>> {
        self.read_blocking(move |c| {
            let mut st = c.prepare_cached(concat!(
                "SELECT ",
                token_cols!(),
                " FROM api_tokens t WHERE t.user_id = ?1 ORDER BY t.created_at DESC, t.id DESC"
            ))?;
            let rows = st.query_map([user.0], token_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn revoke_token(&self, id: TokenId, ctx: &WriteCtx) -> StoreResult<ApiToken> {
        let ctx = *ctx;
        self.write(move |tx| {
            accept_proposal(tx, &ctx)?;
            let mut t = load_token(tx, id)?;
            if t.revoked_at.is_some() {
                return Ok(t);
            }
            tx.prepare_cached("UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1")?
                .execute(params![id.0, ctx.at.0])?;
            t.revoked_at = Some(ctx.at);
            event(tx, &ctx, None, (ObjectKind::Token, id.0), "revoked", &Value::Null, &json!(ctx.at))?;
            Ok(t)
        })
        .await
    }

    async fn touch_token(&self, id: TokenId, at: Timestamp) -> StoreResult<()> {
        self.write_plain(move |c| {
            let n = c
                .prepare_cached("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1")?
                .execute(params![id.0, at.0])?;
            if n == 0 {
                return Err(StoreError::NotFound.into());
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        let s = session.clone();
        self.write_plain(move |c| {
            c.prepare_cached(
                "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![s.id_hash, s.user_id.0, s.csrf_token, s.created_at.0, s.expires_at.0])?;
            Ok(())
        })
        .await
    }

    async fn session(&self, id_hash: &str, now: Timestamp) -> StoreResult<(Session, User)> {
        self.read(|c| {
            Ok(c.prepare_cached(concat!(
                "SELECT s.id_hash, s.user_id, s.csrf_token, s.created_at, s.expires_at, ",
                user_cols!(),
                "
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?1 AND s.expires_at > ?2"
            ))?
            .query_row(params![id_hash, now.0], |r| {
                Ok((
                    Session {
                        id_hash: r.get(0)?,
                        user_id: UserId(r.get(1)?),
                        csrf_token: r.get(2)?,
                        created_at: Timestamp(r.get(3)?),
                        expires_at: Timestamp(r.get(4)?),
                    },
                    user_at(r, 5)?,
                ))
            })?)
        })
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        let id_hash = id_hash.to_string();
        self.write_plain(move |c| {
            c.prepare_cached("DELETE FROM sessions WHERE id_hash = ?1")?.execute([id_hash])?;
            Ok(())
        })
        .await
    }

    async fn delete_sessions_of(&self, user: UserId) -> StoreResult<()> {
        self.write_plain(move |c| {
            c.prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?.execute([user.0])?;
            Ok(())
        })
        .await
    }

    async fn purge_expired(&self, now: Timestamp) -> StoreResult<u64> {
        self.write(move |tx| {
            let a = tx.prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")?.execute([now.0])?;
            let b = tx
                .prepare_cached("DELETE FROM sign_in_failures WHERE at < ?1")?
                .execute([now.0.saturating_sub(FAILURES_KEPT_MS)])?;
            let c = tx
                .prepare_cached("DELETE FROM widget_hits WHERE at < ?1")?
                .execute([now.0.saturating_sub(FAILURES_KEPT_MS)])?;
            Ok((a + b + c) as u64)
        })
        .await
    }

    async fn record_sign_in_failure(&self, key: &str, at: Timestamp) -> StoreResult<()> {
        let key = key.to_string();
        self.write_plain(move |c| {
            c.prepare_cached("INSERT INTO sign_in_failures (key, at) VALUES (?1, ?2)")?
                .execute(params![key, at.0])?;
            Ok(())
        })
        .await
    }

    async fn sign_in_failures(&self, key: &str, since: Timestamp) -> StoreResult<i64> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT COUNT(*) FROM sign_in_failures WHERE key = ?1 AND at >= ?2")?
                .query_row(params![key, since.0], |r| r.get(0))?)
        })
    }

    async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()> {
        let key = key.to_string();
        self.write_plain(move |c| {
            c.prepare_cached("DELETE FROM sign_in_failures WHERE key = ?1")?.execute([key])?;
            Ok(())
        })
        .await
    }

    async fn widget_hit(
        &self,
        scope: &str,
        at: Timestamp,
        limits: &[(i64, i64)],
    ) -> StoreResult<Option<i64>> {
        let scope = scope.to_string();
        let limits = limits.to_vec();
        // One immediate transaction on the writer: counting and inserting cannot interleave
        // with another process's.
        self.write(move |tx| {
            let longest = limits.iter().map(|l| l.0).max().unwrap_or(0);
            tx.prepare_cached("DELETE FROM widget_hits WHERE scope = ?1 AND at < ?2")?
                .execute(params![scope, at.0 - longest])?;
            for (window, max) in limits {
                let (n, oldest): (i64, Option<i64>) = tx
                    .prepare_cached("SELECT COUNT(*), MIN(at) FROM widget_hits WHERE scope = ?1 AND at > ?2")?
                    .query_row(params![scope, at.0 - window], |r| Ok((r.get(0)?, r.get(1)?)))?;
                if n >= max {
                    return Ok(Some((oldest.unwrap_or(at.0) + window - at.0).max(1)));
                }
            }
            tx.prepare_cached("INSERT INTO widget_hits (scope, at) VALUES (?1, ?2)")?
                .execute(params![scope, at.0])?;
            Ok(None)
        })
        .await
    }
}

/// Whether `user` is a member of `product` (for assignee checks).
pub(crate) fn is_member(c: &Connection, product: i64, user: i64) -> Res<bool> {
    Ok(c.prepare_cached("SELECT 1 FROM memberships WHERE product_id = ?1 AND user_id = ?2")?
        .query_row([product, user], |_| Ok(()))
        .optional()?
        .is_some())
}
