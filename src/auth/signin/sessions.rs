//! Sessions on tower-sessions and axum-login, kept in our own `sessions` table.
//!
//! * [`DbSessionStore`] is tower-sessions' `SessionStore` over the table: a row carries the
//!   user, tenant, client address and user agent, created / last seen / expiry (what the
//!   security centre lists and revokes), and the record's data as JSON. Only the SHA-256 of
//!   the cookie's session id is stored. Nothing is cached: a revoked (deleted) row is
//!   refused on the very next request on every instance.
//! * [`Backend`] is axum-login's `AuthnBackend` over our users: a session is bound to its
//!   user's password hash, so changing the password ends the other sessions by itself.
//!   Credentials are checked by the sign-in flow (`auth::service::login`, the second factor
//!   in `/login/mfa`) with its attempt limits; the backend is only handed the user that flow
//!   verified ([`Verified`]).

use async_trait::async_trait;
use axum_login::{AuthUser, AuthnBackend};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::auth::model::ClientInfo;
use crate::auth::service::session_id_for;
use crate::auth::store::{self, NewSession, SessionRow};
use crate::db::{Db, Timestamp};

/// Our part of a session's record: who it is for and where it was started (set at sign-in).
pub const META_KEY: &str = "mpanel.meta";
/// The joined row (user, tenant, policy) the store read with the record, for the actor.
pub const ROW_KEY: &str = "mpanel.row";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionMeta {
    pub user_id: String,
    pub tenant_id: String,
    pub ip: String,
    pub user_agent: String,
}

impl SessionMeta {
    pub fn new(user_id: &str, tenant_id: &str, client: &ClientInfo) -> SessionMeta {
        SessionMeta {
            user_id: user_id.into(),
            tenant_id: tenant_id.into(),
            ip: client.ip.clone(),
            user_agent: client.user_agent.chars().take(500).collect(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
    /// Absolute lifetime of a new session.
    ttl_secs: i64,
    /// A session unused for this long is dead.
    idle_secs: i64,
}

impl DbSessionStore {
    pub fn new(db: Db, ttl_minutes: i64, idle_minutes: i64) -> DbSessionStore {
        DbSessionStore {
            db,
            ttl_secs: ttl_minutes * 60,
            idle_secs: idle_minutes * 60,
        }
    }
}

/// The stored key of a session: the SHA-256 of the id the cookie carries.
pub fn stored_id(id: &Id) -> String {
    session_id_for(&id.to_string())
}

fn backend_error(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// The record's data as stored: our row snapshot is read fresh with every load, never kept.
fn stored_data(record: &Record) -> session_store::Result<String> {
    let mut data = record.data.clone();
    data.remove(ROW_KEY);
    serde_json::to_string(&data).map_err(|e| session_store::Error::Encode(e.to_string()))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    /// A new session always gets a fresh id (also after a sign-out in the same request), and
    /// is stored only when it belongs to a signed-in user.
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let meta: SessionMeta = record
            .data
            .get(META_KEY)
            .cloned()
            .and_then(|v| serde_json::from_value(v).ok())
            .ok_or_else(|| backend_error("only a signed-in user's session is stored"))?;
        let data = stored_data(record)?;
        let now = Timestamp::now();
        loop {
            record.id = Id::default();
            let new = NewSession {
                id: &stored_id(&record.id),
                data: &data,
                user_id: &meta.user_id,
                tenant_id: &meta.tenant_id,
                ip: &meta.ip,
                user_agent: &meta.user_agent,
                now,
                expires_at: now.plus_secs(self.ttl_secs),
            };
            if store::insert_session(&self.db.pool, &new)
                .await
                .map_err(backend_error)?
            {
                return Ok(());
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        store::save_session_data(&self.db.pool, &stored_id(&record.id), &stored_data(record)?)
            .await
            .map_err(backend_error)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = Timestamp::now();
        let live = store::load_live_session(
            &self.db.pool,
            &stored_id(id),
            now,
            now.plus_secs(-self.idle_secs),
        )
        .await
        .map_err(backend_error)?;
        let Some(live) = live else { return Ok(None) };
        let mut data: std::collections::HashMap<String, serde_json::Value> =
            serde_json::from_str(&live.data)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        data.insert(
            ROW_KEY.into(),
            serde_json::to_value(&live.row)
                .map_err(|e| session_store::Error::Encode(e.to_string()))?,
        );
        let expiry_date =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(live.expires_at) * 1_000_000)
                .map_err(backend_error)?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        store::delete_session(&self.db.pool, &stored_id(id))
            .await
            .map_err(backend_error)
    }
}

/// The row the store loaded with this request's session.
pub async fn loaded_row(session: &tower_sessions::Session) -> Option<SessionRow> {
    session.get::<SessionRow>(ROW_KEY).await.ok().flatten()
}

/// axum-login's view of a user: the id, and the hash its sessions are bound to.
#[derive(Clone)]
pub struct SessionUser {
    pub id: String,
    auth_hash: Vec<u8>,
}

impl std::fmt::Debug for SessionUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionUser").field("id", &self.id).finish()
    }
}

impl AuthUser for SessionUser {
    type Id = String;

    fn id(&self) -> String {
        self.id.clone()
    }

    fn session_auth_hash(&self) -> &[u8] {
        &self.auth_hash
    }
}

/// A user the sign-in flow has verified (password, and the second factor when enrolled).
pub struct Verified(pub String);

#[derive(Clone, Debug)]
pub struct Backend {
    db: Db,
}

impl Backend {
    pub fn new(db: Db) -> Backend {
        Backend { db }
    }
}

impl AuthnBackend for Backend {
    type User = SessionUser;
    type Credentials = Verified;
    type Error = sqlx::Error;

    async fn authenticate(
        &self,
        Verified(user_id): Verified,
    ) -> Result<Option<SessionUser>, sqlx::Error> {
        self.get_user(&user_id).await
    }

    async fn get_user(&self, user_id: &String) -> Result<Option<SessionUser>, sqlx::Error> {
        Ok(store::session_user(&self.db.pool, user_id)
            .await?
            .map(|(id, password_hash)| SessionUser {
                id,
                auth_hash: Sha256::digest(password_hash.as_bytes()).to_vec(),
            }))
    }
}

pub type AuthSession = axum_login::AuthSession<Backend>;

/// Signs `user_id` in on this request's session: a fresh session id (the previous session of
/// this browser, if any, is ended), bound to the user, with where it was started.
pub async fn establish(
    auth: &mut AuthSession,
    user_id: &str,
    tenant_id: &str,
    client: &ClientInfo,
) -> crate::web::AppResult<()> {
    let internal =
        |e: axum_login::Error<Backend>| crate::web::AppError::Internal(anyhow::anyhow!("{e}"));
    if auth.user.is_some() {
        auth.logout().await.map_err(internal)?;
    }
    let user = auth
        .authenticate(Verified(user_id.to_string()))
        .await
        .map_err(internal)?
        .ok_or(crate::web::AppError::Unauthenticated)?;
    auth.login(&user).await.map_err(internal)?;
    auth.session
        .insert(META_KEY, SessionMeta::new(user_id, tenant_id, client))
        .await
        .map_err(|e| crate::web::AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(())
}

/// Binds the current session again to the user's (new) password hash, after they changed it.
pub async fn rebind(auth: &mut AuthSession) -> crate::web::AppResult<()> {
    let internal =
        |e: axum_login::Error<Backend>| crate::web::AppError::Internal(anyhow::anyhow!("{e}"));
    let Some(user) = auth.user.clone() else {
        return Ok(());
    };
    if let Some(fresh) = auth.backend.get_user(&user.id).await? {
        auth.login(&fresh).await.map_err(internal)?;
    }
    Ok(())
}
