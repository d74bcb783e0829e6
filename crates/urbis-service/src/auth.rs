//! Users, passwords (argon2id) and bearer tokens. Tokens are random 256-bit values; only their
//! SHA-256 is stored, and a small in-memory cache saves a database read per request.

use std::collections::HashMap;
use std::sync::RwLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use urbis_domain::ids::{AreaId, DeptId, UserId};
use urbis_domain::role::{Actor, AreaScope, Role};
use urbis_storage::time::{from_db, to_db};
use urbis_storage::users::{self, NewUserRow, UserRow};
use urbis_storage::{Conn, reference};

use crate::{ErrorKind, Result, ServiceError, Services};

/// Sessions recently seen, by token hash.
#[derive(Default)]
pub(crate) struct SessionCache {
    entries: RwLock<HashMap<String, (Actor, DateTime<Utc>)>>,
}

const CACHE_MAX: usize = 100_000;

impl SessionCache {
    fn get(&self, token_hash: &str, now: DateTime<Utc>) -> Option<Actor> {
        let entries = self.entries.read().ok()?;
        let (actor, expires) = entries.get(token_hash)?;
        (now < *expires).then(|| actor.clone())
    }

    fn put(&self, token_hash: String, actor: Actor, expires: DateTime<Utc>) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= CACHE_MAX {
                entries.clear();
            }
            entries.insert(token_hash, (actor, expires));
        }
    }

    fn remove(&self, token_hash: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(token_hash);
        }
    }

    fn remove_user(&self, user_id: UserId) {
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|_, (actor, _)| actor.user_id != user_id);
        }
    }
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct Login {
    pub token: String,
    pub actor: Actor,
    pub expires_at: DateTime<Utc>,
}

/// A user account to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub area_id: Option<i64>,
    pub dept_id: Option<i64>,
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn validate_credentials(username: &str, password: &str) -> Result<()> {
    let name_ok = (3..=64).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'@'));
    if !name_ok {
        return Err(ServiceError::invalid(
            "invalid_username",
            "username: 3–64 characters of letters, digits, _ . - @",
        ));
    }
    if !(8..=128).contains(&password.chars().count()) {
        return Err(ServiceError::invalid(
            "invalid_password",
            "password: 8–128 characters",
        ));
    }
    Ok(())
}

impl Services {
    fn argon2(&self) -> Argon2<'static> {
        let params = Params::new(self.config().argon2_memory_kib, 2, 1, None)
            .unwrap_or_else(|_| Params::default());
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// Hashes a password with argon2id (on a blocking thread).
    pub async fn hash_password(&self, password: &str) -> Result<String> {
        let argon2 = self.argon2();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            argon2
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
        })
        .await
        .map_err(|_| ServiceError::internal())?
        .map_err(|err| {
            tracing::error!(error = %err, "password hashing failed");
            ServiceError::internal()
        })
    }

    /// Checks a username and password and opens a session.
    pub async fn login(&self, username: &str, password: &str) -> Result<Login> {
        let bad = || {
            ServiceError::new(
                ErrorKind::Unauthenticated,
                "bad_credentials",
                "wrong username or password",
            )
        };
        if username.len() > 64 || password.len() > 128 {
            return Err(bad());
        }
        let mut conn = self.db().reader().acquire().await?;
        let user = users::find_user_by_name(&mut conn, username)
            .await?
            .ok_or_else(bad)?;
        drop(conn);
        if !user.active {
            return Err(bad());
        }
        let argon2 = self.argon2();
        let stored = user.password_hash.clone();
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&stored)
                .map(|parsed| argon2.verify_password(password.as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        })
        .await
        .map_err(|_| ServiceError::internal())?;
        if !matches {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        let now = self.now();
        let expires_at = now
            + chrono::Duration::from_std(self.config().session_ttl)
                .unwrap_or(chrono::Duration::hours(12));
        let mut conn = self.db().writer().acquire().await?;
        users::insert_session(
            &mut conn,
            &token_hash(&token),
            user.id,
            &to_db(now),
            &to_db(expires_at),
        )
        .await?;
        let actor = actor_for(&mut conn, &user).await?;
        self.inner
            .sessions
            .put(token_hash(&token), actor.clone(), expires_at);
        Ok(Login {
            token,
            actor,
            expires_at,
        })
    }

    /// Returns the actor behind a bearer token.
    pub async fn authenticate(&self, token: &str) -> Result<Actor> {
        if token.is_empty() || token.len() > 128 {
            return Err(ServiceError::unauthenticated());
        }
        let hash = token_hash(token);
        let now = self.now();
        if let Some(actor) = self.inner.sessions.get(&hash, now) {
            return Ok(actor);
        }
        let mut conn = self.db().reader().acquire().await?;
        let (user_id, expires) = users::find_session(&mut conn, &hash)
            .await?
            .ok_or_else(ServiceError::unauthenticated)?;
        let expires = from_db(&expires)?;
        if expires <= now {
            return Err(ServiceError::unauthenticated());
        }
        let user = users::get_user(&mut conn, user_id).await?;
        if !user.active {
            return Err(ServiceError::unauthenticated());
        }
        let actor = actor_for(&mut conn, &user).await?;
        self.inner.sessions.put(hash, actor.clone(), expires);
        Ok(actor)
    }

    /// Ends a session.
    pub async fn logout(&self, token: &str) -> Result<()> {
        let hash = token_hash(token);
        self.inner.sessions.remove(&hash);
        let mut conn = self.db().writer().acquire().await?;
        users::delete_session(&mut conn, &hash).await?;
        Ok(())
    }

    /// Registers a resident account (self-service, no actor needed).
    pub async fn register_resident(
        &self,
        username: &str,
        display_name: &str,
        password: &str,
    ) -> Result<UserRow> {
        self.insert_user(&NewUser {
            username: username.to_owned(),
            display_name: display_name.to_owned(),
            password: password.to_owned(),
            role: Role::Resident,
            area_id: None,
            dept_id: None,
        })
        .await
    }

    /// Creates a user of any role (admin only).
    pub async fn create_user(&self, actor: &Actor, user: &NewUser) -> Result<UserRow> {
        require_role(actor, &[Role::Admin])?;
        self.insert_user(user).await
    }

    /// Creates a user without a permission check (seeding from the CLI).
    pub async fn insert_user(&self, user: &NewUser) -> Result<UserRow> {
        validate_credentials(&user.username, &user.password)?;
        let display_name = urbis_domain::appeal::bounded_text(
            "display_name",
            Some(&user.display_name),
            urbis_domain::appeal::limits::NAME_MAX_CHARS,
        )?;
        if user.role == Role::DeptHandler && user.dept_id.is_none() {
            return Err(ServiceError::invalid(
                "dept_required",
                "a department handler needs a department",
            ));
        }
        let hash = self.hash_password(&user.password).await?;
        let mut tx = self.db().begin_write().await?;
        if let Some(area) = user.area_id {
            reference::get_area(&mut tx, area).await?;
        }
        if let Some(dept) = user.dept_id {
            reference::get_dept(&mut tx, dept).await?;
        }
        let row = users::insert_user(
            &mut tx,
            &NewUserRow {
                username: &user.username,
                display_name: &display_name,
                password_hash: &hash,
                role: user.role.as_str(),
                area_id: user.area_id,
                dept_id: user.dept_id,
                created_at: &to_db(self.now()),
            },
        )
        .await
        .map_err(|err| match err {
            urbis_storage::StorageError::Conflict(_) => ServiceError::new(
                ErrorKind::Conflict,
                "username_taken",
                "that username is taken",
            ),
            other => other.into(),
        })?;
        crate::audit::record(
            &mut tx,
            self.now(),
            None,
            "user_created",
            "user",
            row.id,
            "",
            user.role.as_str(),
            &serde_json::json!({ "username": row.username }),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Lists users (admin only).
    pub async fn list_users(&self, actor: &Actor) -> Result<Vec<UserRow>> {
        require_role(actor, &[Role::Admin])?;
        let mut conn = self.db().reader().acquire().await?;
        Ok(users::list_users(&mut conn).await?)
    }

    /// Enables or disables a user (admin only); a disabled user's sessions end at once.
    pub async fn set_user_active(&self, actor: &Actor, user_id: i64, active: bool) -> Result<()> {
        require_role(actor, &[Role::Admin])?;
        let mut tx = self.db().begin_write().await?;
        users::set_user_active(&mut tx, user_id, active).await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            if active {
                "user_enabled"
            } else {
                "user_disabled"
            },
            "user",
            user_id,
            "",
            "",
            &serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        self.inner.sessions.remove_user(UserId(user_id));
        Ok(())
    }
}

/// Builds the actor for a stored user, resolving the area scope's path.
pub(crate) async fn actor_for(conn: &mut Conn, user: &UserRow) -> Result<Actor> {
    let role = Role::parse(&user.role).ok_or_else(|| {
        tracing::error!(user_id = user.id, role = %user.role, "unknown stored role");
        ServiceError::internal()
    })?;
    let area_scope = match user.area_id {
        Some(area_id) => {
            let area = reference::get_area(conn, area_id).await?;
            Some(AreaScope {
                area_id: AreaId(area.id),
                path: area.path,
            })
        }
        None => None,
    };
    Ok(Actor {
        user_id: UserId(user.id),
        username: user.username.clone(),
        role,
        area_scope,
        dept_id: user.dept_id.map(DeptId),
    })
}

/// Fails unless the actor has one of the roles.
pub fn require_role(actor: &Actor, roles: &[Role]) -> Result<()> {
    if roles.contains(&actor.role) {
        Ok(())
    } else {
        Err(ServiceError::forbidden(format!(
            "role {} may not do this",
            actor.role.as_str()
        )))
    }
}

impl Services {
    /// Returns the actor for a username without a password (CLI tools acting on the operator's
    /// own machine, e.g. seeding and imports).
    pub async fn actor_by_username(&self, username: &str) -> Result<Actor> {
        let mut conn = self.db().reader().acquire().await?;
        let user = users::find_user_by_name(&mut conn, username)
            .await?
            .ok_or_else(|| ServiceError::not_found("user"))?;
        actor_for(&mut conn, &user).await
    }
}
