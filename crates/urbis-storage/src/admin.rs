//! Creating and dropping PostgreSQL databases on a server (tests, benchmarks, `store copy` into
//! a new database). Names are checked: lower-case letters, digits and `_` only.

use sqlx::{Connection, PgConnection};

use crate::{Result, StorageError};

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StorageError::Refused(format!(
            "database name {name:?}: use 1–63 lower-case letters, digits and _"
        )))
    }
}

async fn connect(maintenance_url: &str) -> Result<PgConnection> {
    PgConnection::connect(maintenance_url)
        .await
        .map_err(|err| StorageError::Refused(format!("cannot connect to PostgreSQL: {err}")))
}

/// Creates a database (the URL names the server and a database to connect to, e.g. `postgres`).
pub async fn create_database(maintenance_url: &str, name: &str) -> Result<()> {
    check_name(name)?;
    let mut conn = connect(maintenance_url).await?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// Drops a database if it exists.
pub async fn drop_database(maintenance_url: &str, name: &str) -> Result<()> {
    check_name(name)?;
    let mut conn = connect(maintenance_url).await?;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// The databases whose names start with `prefix`.
pub async fn list_databases(maintenance_url: &str, prefix: &str) -> Result<Vec<String>> {
    let mut conn = connect(maintenance_url).await?;
    Ok(
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
            .bind(prefix)
            .fetch_all(&mut conn)
            .await?,
    )
}

/// Whether a server answers at the URL.
pub async fn reachable(maintenance_url: &str) -> bool {
    match connect(maintenance_url).await {
        Ok(conn) => {
            let _ = conn.close().await;
            true
        }
        Err(_) => false,
    }
}

/// The database a URL names, and a URL for the `postgres` maintenance database beside it.
fn split(url: &str) -> Result<(String, sqlx::postgres::PgConnectOptions)> {
    use std::str::FromStr;
    let options = sqlx::postgres::PgConnectOptions::from_str(url)
        .map_err(|err| StorageError::Refused(format!("bad PostgreSQL URL: {err}")))?;
    let name = options
        .get_database()
        .ok_or_else(|| StorageError::Refused("the PostgreSQL URL names no database".into()))?
        .to_owned();
    check_name(&name)?;
    Ok((name, options.database("postgres")))
}

async fn connect_with(options: &sqlx::postgres::PgConnectOptions) -> Result<PgConnection> {
    PgConnection::connect_with(options)
        .await
        .map_err(|err| StorageError::Refused(format!("cannot connect to PostgreSQL: {err}")))
}

/// Creates the database a URL names unless it exists; returns whether it was created.
pub async fn ensure_database(url: &str) -> Result<bool> {
    let (name, maintenance) = split(url)?;
    let mut conn = connect_with(&maintenance).await?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_some() {
        return Ok(false);
    }
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    Ok(true)
}

/// Drops the database a URL names (ending its sessions) and creates it empty.
pub async fn recreate_database(url: &str) -> Result<()> {
    let (name, maintenance) = split(url)?;
    let mut conn = connect_with(&maintenance).await?;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    Ok(())
}
