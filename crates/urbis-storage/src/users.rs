//! Users and login sessions. Passwords arrive here already hashed; tokens only as their hash.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use urbis_domain::role::Role;

use crate::sql;
use crate::{Conn, Result, StorageError};

/// A stored user.
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub area_id: Option<i64>,
    pub dept_id: Option<i64>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

const USER_COLUMNS: &str =
    "id, username, display_name, password_hash, role, area_id, dept_id, active, created_at";

/// A user to insert.
#[derive(Debug, Clone)]
pub struct NewUserRow<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub area_id: Option<i64>,
    pub dept_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// Inserts a user; a taken username is a conflict.
pub async fn insert_user(conn: &mut Conn, user: &NewUserRow<'_>) -> Result<UserRow> {
    Ok(sql::query(format!(
        "INSERT INTO users (username, display_name, password_hash, role, area_id, dept_id, active, created_at)
         VALUES (?, ?, ?, ?, ?, ?, TRUE, ?) RETURNING {USER_COLUMNS}"
    ))
    .bind(user.username)
    .bind(user.display_name)
    .bind(user.password_hash)
    .bind(user.role)
    .bind(user.area_id)
    .bind(user.dept_id)
    .bind(user.created_at)
    .fetch_one(conn)
    .await?)
}

/// Returns the user with this name, if any; names compare without ASCII case (they are unique
/// that way, see migration 0009).
pub async fn find_user_by_name(conn: &mut Conn, username: &str) -> Result<Option<UserRow>> {
    Ok(sql::query(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE lower(username) = lower(?)"
    ))
    .bind(username)
    .fetch_optional(conn)
    .await?)
}

/// Returns one user.
pub async fn get_user(conn: &mut Conn, id: i64) -> Result<UserRow> {
    sql::query(format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StorageError::NotFound("user"))
}

/// Returns every user.
pub async fn list_users(conn: &mut Conn) -> Result<Vec<UserRow>> {
    Ok(
        sql::query(format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
            .fetch_all(conn)
            .await?,
    )
}

/// Enables or disables a user.
pub async fn set_user_active(conn: &mut Conn, id: i64, active: bool) -> Result<()> {
    let res = sql::query("UPDATE users SET active = ? WHERE id = ?")
        .bind(active)
        .bind(id)
        .execute(conn)
        .await?;
    if res == 0 {
        return Err(StorageError::NotFound("user"));
    }
    Ok(())
}

/// Stores a session by the hash of its token.
pub async fn insert_session(
    conn: &mut Conn,
    token_hash: &str,
    user_id: i64,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    sql::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(created_at)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Returns the user id and expiry of a session, if the token hash is known.
pub async fn find_session(
    conn: &mut Conn,
    token_hash: &str,
) -> Result<Option<(i64, DateTime<Utc>)>> {
    Ok(
        sql::query("SELECT user_id, expires_at FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(conn)
            .await?,
    )
}

/// Deletes a session.
pub async fn delete_session(conn: &mut Conn, token_hash: &str) -> Result<()> {
    sql::query("DELETE FROM sessions WHERE token_hash = ?")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes the sessions that expired before `now`.
pub async fn purge_expired_sessions(conn: &mut Conn, now: DateTime<Utc>) -> Result<u64> {
    Ok(sql::query("DELETE FROM sessions WHERE expires_at < ?")
        .bind(now)
        .execute(conn)
        .await?)
}
