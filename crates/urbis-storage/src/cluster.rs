//! What the multi-node mode keeps in the store: each relay's position in the audit log (the last
//! sequence number the broker acknowledged), and leases for singleton work — a PostgreSQL
//! session-level advisory lock held on a connection of its own, released by the server the moment
//! that connection ends (a clean stop, a crash, a `kill -9`: the kernel closes the socket).

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection};

use crate::db::{Conn, Db};
use crate::{Backend, Result, sql};

/// Returns the last audit sequence number the relay `name` stored as acknowledged (0: none yet).
pub async fn relay_position(conn: &mut Conn, name: &str) -> Result<i64> {
    let row: Option<(i64,)> = sql::query("SELECT last_seq FROM relay_positions WHERE name = ?")
        .bind(name)
        .fetch_optional(conn)
        .await?;
    Ok(row.map_or(0, |(seq,)| seq))
}

/// Moves the relay `name` forward to `seq` (never backwards).
pub async fn advance_relay(conn: &mut Conn, name: &str, seq: i64, at: DateTime<Utc>) -> Result<()> {
    sql::query(
        "INSERT INTO relay_positions (name, last_seq, updated_at) VALUES (?, ?, ?) \
         ON CONFLICT (name) DO UPDATE SET last_seq = excluded.last_seq, updated_at = excluded.updated_at \
         WHERE relay_positions.last_seq < excluded.last_seq",
    )
    .bind(name)
    .bind(seq)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Returns the sequence number of the newest audit record (0 when the log is empty).
pub async fn audit_head_seq(conn: &mut Conn) -> Result<i64> {
    Ok(crate::audit::head(conn).await?.0)
}

/// A connection of its own for holding leases: on PostgreSQL a connection taken out of the pool
/// (its session-level advisory locks live as long as it does); on SQLite nothing, since one
/// process holds the file's lock and so every lease.
pub struct LeaseConn {
    conn: Option<PgConnection>,
}

impl LeaseConn {
    /// Opens one for `db`.
    pub async fn open(db: &Db) -> Result<LeaseConn> {
        if db.backend() == Backend::Sqlite {
            return Ok(LeaseConn { conn: None });
        }
        let Conn::Postgres(pooled) = db.write_conn().await? else {
            return Ok(LeaseConn { conn: None });
        };
        Ok(LeaseConn {
            conn: Some(pooled.detach()),
        })
    }

    /// Tries to take the lease `key` without waiting; true when this connection holds it now.
    /// Call it only while not holding the lease: session-level advisory locks stack.
    pub async fn try_take(&mut self, key: i64) -> Result<bool> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(true);
        };
        let (taken,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut *conn)
            .await?;
        Ok(taken)
    }

    /// Gives the lease `key` back.
    pub async fn release(&mut self, key: i64) -> Result<()> {
        if let Some(conn) = self.conn.as_mut() {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(key)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// Proves the connection (and so every lease on it) is still alive.
    pub async fn check(&mut self) -> Result<()> {
        if let Some(conn) = self.conn.as_mut() {
            conn.ping().await?;
        }
        Ok(())
    }

    /// Closes the connection; the server releases every lease it held.
    pub async fn close(self) {
        if let Some(conn) = self.conn {
            let _ = conn.close().await;
        }
    }
}
