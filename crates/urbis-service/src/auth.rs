//! Users, passwords (argon2id) and bearer tokens. Tokens are random 256-bit values; only their
//! SHA-256 is stored, and a small in-memory cache saves a database read per request.

use std::collections::HashMap;
use std::sync::RwLock;

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use urbis_domain::ids::{AreaId, DeptId, UserId};
use urbis_domain::role::{Actor, AreaScope, Role};
use urbis_storage::users::{self, NewUserRow, UserRow};
use urbis_storage::{Conn, reference};

use crate::guard::Bucket;
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

    pub(crate) fn remove_user(&self, user_id: UserId) {
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

/// Longest password in characters; [`PASSWORD_MAX_BYTES`] bounds its UTF-8 form the same way for
/// registration and login, so every password that registers can log in.
pub const PASSWORD_MAX_CHARS: usize = 128;
/// Longest password in bytes (128 characters of at most 4 bytes).
pub const PASSWORD_MAX_BYTES: usize = 4 * PASSWORD_MAX_CHARS;
/// Shortest password in characters.
pub const PASSWORD_MIN_CHARS: usize = 10;

/// Passwords too common to allow (compared without case, after trimming).
const COMMON_PASSWORDS: [&str; 24] = [
    "1234567890",
    "12345678910",
    "123456789a",
    "0123456789",
    "1111111111",
    "0000000000",
    "qwertyuiop",
    "1q2w3e4r5t",
    "password12",
    "password123",
    "password1234",
    "passw0rd123",
    "iloveyou123",
    "abc1234567",
    "abcdefghij",
    "a123456789",
    "woaini1314",
    "5201314520",
    "1qaz2wsx3edc",
    "qwerty123456",
    "admin12345",
    "admin123456",
    "zaq12wsxcde",
    "88888888888",
];

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
    validate_password(username, password)
}

/// The password rules: 10–128 characters, not only spaces, at least three different characters,
/// not the username and not one of the most common passwords.
pub fn validate_password(username: &str, password: &str) -> Result<()> {
    let chars = password.chars().count();
    if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&chars)
        || password.len() > PASSWORD_MAX_BYTES
    {
        return Err(ServiceError::invalid(
            "invalid_password",
            format!("password: {PASSWORD_MIN_CHARS}–{PASSWORD_MAX_CHARS} characters"),
        ));
    }
    let mut distinct: Vec<char> = password.chars().filter(|c| !c.is_whitespace()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 3 {
        return Err(ServiceError::invalid(
            "weak_password",
            "password: use at least three different characters besides spaces",
        ));
    }
    let folded = password.trim().to_lowercase();
    if folded == username.to_lowercase() || COMMON_PASSWORDS.contains(&folded.as_str()) {
        return Err(ServiceError::invalid(
            "weak_password",
            "password: too easy to guess (the username or a common password)",
        ));
    }
    Ok(())
}

/// Largest argon2 memory cost a stored hash may ask for (KiB); more is treated as corrupt.
const VERIFY_MAX_KIB: u32 = 256 * 1024;

/// Checks `password` against a stored PHC string, using the given memory blocks.
fn verify_into(blocks: &mut [Block], stored: &PasswordHash<'_>, password: &[u8]) -> bool {
    let Ok(params) = Params::try_from(stored) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm) else {
        return false;
    };
    let version = stored
        .version
        .map_or(Ok(Version::V0x13), Version::try_from)
        .unwrap_or(Version::V0x13);
    let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let n = params.block_count();
    if blocks.len() < n {
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, &mut blocks[..n])
        .is_ok()
        && Output::new(&out).is_ok_and(|out| out == expected)
}

impl Services {
    fn argon2_params(&self) -> Params {
        Params::new(self.config().argon2_memory_kib, 2, 1, None).unwrap_or_default()
    }

    /// Hashes a password with argon2id on the blocking pool, within the hashing budget.
    pub async fn hash_password(&self, password: &str) -> Result<String> {
        let params = self.argon2_params();
        let password = password.to_owned();
        let blocks = params.block_count();
        let hashed = self
            .inner
            .guards
            .hash(blocks, move |memory| -> Option<String> {
                let salt = SaltString::generate(&mut rand::rngs::OsRng);
                let mut salt_buf = [0u8; 64];
                let salt_bytes = salt.decode_b64(&mut salt_buf).ok()?;
                let mut out = [0u8; 32];
                Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
                    .hash_password_into_with_memory(
                        password.as_bytes(),
                        salt_bytes,
                        &mut out,
                        memory,
                    )
                    .ok()?;
                let hash = PasswordHash {
                    algorithm: Algorithm::Argon2id.ident(),
                    version: Some(Version::V0x13.into()),
                    params: (&params).try_into().ok()?,
                    salt: Some(salt.as_salt()),
                    hash: Some(Output::new(&out).ok()?),
                };
                Some(hash.to_string())
            })
            .await?;
        hashed.ok_or_else(|| {
            tracing::error!("password hashing failed");
            ServiceError::internal()
        })
    }

    /// A hash of a random password with the configured cost, verified against for unknown users
    /// so that a login takes as long whether or not the name exists.
    async fn dummy_hash(&self) -> Result<String> {
        if let Some(hash) = self.inner.dummy_hash.get() {
            return Ok(hash.clone());
        }
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let hash = self.hash_password(&hex::encode(bytes)).await?;
        Ok(self.inner.dummy_hash.get_or_init(|| hash).clone())
    }

    /// Checks a password against a stored hash within the hashing budget.
    async fn verify_password(&self, stored: String, password: &str) -> Result<bool> {
        let blocks = match PasswordHash::new(&stored)
            .ok()
            .and_then(|parsed| Params::try_from(&parsed).ok())
        {
            Some(params) if params.m_cost() <= VERIFY_MAX_KIB => params.block_count(),
            _ => return Ok(false),
        };
        let password = password.to_owned();
        self.inner
            .guards
            .hash(blocks, move |memory| {
                PasswordHash::new(&stored)
                    .is_ok_and(|parsed| verify_into(memory, &parsed, password.as_bytes()))
            })
            .await
    }

    /// Checks a username and password and opens a session. `client` is the caller's address:
    /// logins are limited per address and, after a few failures, per username (429
    /// `too_many_attempts`). Unknown and disabled users cost a full verification too.
    pub async fn login(&self, client: &str, username: &str, password: &str) -> Result<Login> {
        let bad = || {
            ServiceError::new(
                ErrorKind::Unauthenticated,
                "bad_credentials",
                "wrong username or password",
            )
        };
        if username.len() > 64
            || password.len() > PASSWORD_MAX_BYTES
            || password.chars().count() > PASSWORD_MAX_CHARS
        {
            return Err(bad());
        }
        let guards = &self.inner.guards;
        guards.login_ready(client)?;
        let account = username.to_ascii_lowercase();
        guards.account_ready(&account)?;
        let mut conn = self.db().read().await?;
        let user = users::find_user_by_name(&mut conn, username).await?;
        drop(conn);
        let stored = match &user {
            Some(user) => user.password_hash.clone(),
            None => self.dummy_hash().await?,
        };
        let matches = self.verify_password(stored, password).await?;
        let user = match user {
            Some(user) if matches && user.active => user,
            _ => {
                guards.account_failed(&account);
                guards.login_failed(client);
                return Err(bad());
            }
        };
        guards.account_succeeded(&account);
        self.open_session(&user).await
    }

    /// Opens a session for a user who proved who they are (a password, a one-time code).
    pub(crate) async fn open_session(&self, user: &UserRow) -> Result<Login> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        let now = self.now();
        let expires_at = now
            + chrono::Duration::from_std(self.config().session_ttl)
                .unwrap_or(chrono::Duration::hours(12));
        let mut conn = self.db().begin_write().await?;
        // Expired sessions go as new ones come.
        users::purge_expired_sessions(&mut conn, now).await?;
        users::insert_session(&mut conn, &token_hash(&token), user.id, now, expires_at).await?;
        let actor = actor_for(&mut conn, user).await?;
        conn.commit().await?;
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
        let mut conn = self.db().read().await?;
        let (user_id, expires) = users::find_session(&mut conn, &hash)
            .await?
            .ok_or_else(ServiceError::unauthenticated)?;
        if expires <= now {
            return Err(ServiceError::unauthenticated());
        }
        let user = users::get_user(&mut conn, user_id).await?;
        if !user.active {
            return Err(ServiceError::unauthenticated());
        }
        let actor = actor_for(&mut conn, &user).await?;
        // In a cluster, evictions come from the stream; a bounded stay in the cache is the
        // backstop should one never arrive.
        let cached_until = if self.cluster_node().is_some() {
            expires.min(now + chrono::Duration::seconds(60))
        } else {
            expires
        };
        self.inner.sessions.put(hash, actor.clone(), cached_until);
        Ok(actor)
    }

    /// Ends a session.
    /// The logout is audited (action `logout` on the user), which in a cluster is how every
    /// other node hears that it must forget the user's cached sessions.
    pub async fn logout(&self, token: &str) -> Result<()> {
        let hash = token_hash(token);
        self.inner.sessions.remove(&hash);
        let mut tx = self.db().begin_write().await?;
        let session = users::find_session(&mut tx, &hash).await?;
        users::delete_session(&mut tx, &hash).await?;
        if let Some((user_id, _)) = session {
            crate::audit::record(
                &mut tx,
                self.now(),
                None,
                "logout",
                "user",
                user_id,
                "",
                "",
                &serde_json::json!({}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Registers a resident account (self-service, no actor needed). Registrations are limited
    /// per client address, and a taken name costs the same password hash as a free one, so
    /// `username_taken` tells no more than a login attempt would, at the registration rate.
    pub async fn register_resident(
        &self,
        client: &str,
        username: &str,
        display_name: &str,
        password: &str,
    ) -> Result<UserRow> {
        self.inner.guards.check(Bucket::Register, client)?;
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
        if matches!(user.role, Role::DeptHandler | Role::Partner) && user.dept_id.is_none() {
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
        // A partner's user acts for a registered partner organisation, and only partners' do.
        if let Some(dept) = user.dept_id
            && (user.role == Role::Partner)
                != urbis_storage::cohandle::is_partner(&mut tx, dept).await?
            && matches!(user.role, Role::Partner | Role::DeptHandler)
        {
            return Err(ServiceError::invalid(
                "partner_mismatch",
                "partner users belong to a partner organisation, department handlers to a department",
            ));
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
                created_at: self.now(),
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
        let mut conn = self.db().read().await?;
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
    let role = user.role;
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
        let mut conn = self.db().read().await?;
        let user = users::find_user_by_name(&mut conn, username)
            .await?
            .ok_or_else(|| ServiceError::not_found("user"))?;
        actor_for(&mut conn, &user).await
    }
}
