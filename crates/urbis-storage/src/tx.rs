//! Transactions: [`WriteTx`], the only way to write, and [`ReadTx`], one consistent snapshot.

use crate::Result;
use crate::db::Conn;

/// A write transaction. Commit with [`WriteTx::commit`]; dropping it without a commit rolls
/// back by retiring the connection (closing a connection rolls back whatever it had open), so
/// no failure can leave a writer inside a transaction.
pub struct WriteTx {
    pub(crate) conn: Option<Conn>,
    pub(crate) committed: bool,
}

impl WriteTx {
    /// Commits. `Ok` means the backend's `COMMIT` returned success with the store's
    /// durability; on any error the transaction is rolled back and the connection replaced.
    pub async fn commit(mut self) -> Result<()> {
        let conn = self.conn.as_mut().expect("connection present until drop");
        match conn.raw("COMMIT").await {
            Ok(()) => {
                self.committed = true;
                Ok(())
            }
            Err(err) => {
                // SQLite may keep the transaction open after a failed COMMIT: end it for real.
                let _ = conn.raw("ROLLBACK").await;
                Err(err)
            }
        }
    }
}

impl WriteTx {
    /// Rolls back on purpose (a dry run) and keeps the connection; on an error the connection
    /// is retired as on drop.
    pub async fn rollback(mut self) -> Result<()> {
        let conn = self.conn.as_mut().expect("connection present until drop");
        conn.raw("ROLLBACK").await?;
        // Nothing is left open: the connection may go back to the pool.
        self.committed = true;
        Ok(())
    }
}

impl std::ops::Deref for WriteTx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("connection present until drop")
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take()
            && !self.committed
        {
            conn.close_on_drop();
        }
    }
}

/// A read transaction on one snapshot. End it with [`ReadTx::end`]; dropped without, its
/// connection is retired.
pub struct ReadTx {
    pub(crate) conn: Option<Conn>,
}

impl ReadTx {
    /// Ends the snapshot and returns the connection to the pool.
    pub async fn end(mut self) -> Result<()> {
        let mut conn = self.conn.take().expect("connection present until end");
        if let Err(err) = conn.raw("ROLLBACK").await {
            conn.close_on_drop();
            return Err(err);
        }
        Ok(())
    }
}

impl std::ops::Deref for ReadTx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("connection present until end")
    }
}

impl std::ops::DerefMut for ReadTx {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("connection present until end")
    }
}

impl Drop for ReadTx {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            conn.close_on_drop();
        }
    }
}
