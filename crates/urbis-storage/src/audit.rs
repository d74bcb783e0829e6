//! The audit log table. Appending computes the chain hash from the current head, so appends must
//! run on the single writer connection inside the transaction of the change they record.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use urbis_domain::audit::{AuditContent, GENESIS_HASH, chain_hash};

use crate::sql::{self, Builder};
use crate::{Conn, Result};

/// A stored audit record.
#[derive(Debug, Clone, FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_role: String,
    pub action: String,
    pub entity: String,
    pub entity_id: i64,
    pub from_state: String,
    pub to_state: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRow {
    /// Returns the part of the record covered by its hash.
    pub fn content(&self) -> AuditContent<'_> {
        AuditContent {
            seq: self.seq,
            at: self.at,
            actor_id: self.actor_id,
            actor_role: &self.actor_role,
            action: &self.action,
            entity: &self.entity,
            entity_id: self.entity_id,
            from_state: &self.from_state,
            to_state: &self.to_state,
            detail: &self.detail,
        }
    }
}

const AUDIT_COLUMNS: &str = "seq, at, actor_id, actor_role, action, entity, entity_id, from_state, to_state, detail, prev_hash, hash";

/// An audit record to append.
#[derive(Debug, Clone)]
pub struct NewAudit<'a> {
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_role: &'a str,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: i64,
    pub from_state: &'a str,
    pub to_state: &'a str,
    pub detail: &'a str,
}

impl NewAudit<'_> {
    /// What the chain hash covers, at sequence number `seq`.
    fn content(&self, seq: i64) -> AuditContent<'_> {
        AuditContent {
            seq,
            at: self.at,
            actor_id: self.actor_id,
            actor_role: self.actor_role,
            action: self.action,
            entity: self.entity,
            entity_id: self.entity_id,
            from_state: self.from_state,
            to_state: self.to_state,
            detail: self.detail,
        }
    }
}

/// Audit records per multi-row insert (12 bound values each).
const AUDIT_PER_STATEMENT: usize = 400;

/// Returns the sequence number and hash of the last record (the genesis hash when empty).
pub async fn head(conn: &mut Conn) -> Result<(i64, String)> {
    let row: Option<(i64, String)> =
        sql::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(conn)
            .await?;
    Ok(row.unwrap_or_else(|| (0, GENESIS_HASH.to_owned())))
}

/// The chain head carried through one transaction, so a batch appends without re-reading it.
#[derive(Debug, Clone)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

impl ChainHead {
    /// Reads the head inside the current transaction.
    pub async fn load(conn: &mut Conn) -> Result<ChainHead> {
        let (seq, hash) = head(conn).await?;
        Ok(ChainHead { seq, hash })
    }

    /// Appends records in order, each linked to the one before, in one multi-row statement per
    /// block (a group commit's receive records in one round trip), and advances the head.
    pub async fn append_all(&mut self, conn: &mut Conn, records: &[NewAudit<'_>]) -> Result<()> {
        for chunk in records.chunks(AUDIT_PER_STATEMENT) {
            let mut rows = Vec::with_capacity(chunk.len());
            let (mut seq, mut prev) = (self.seq, self.hash.clone());
            for record in chunk {
                seq += 1;
                let hash = chain_hash(&prev, &record.content(seq));
                rows.push((
                    seq,
                    record,
                    std::mem::replace(&mut prev, hash.clone()),
                    hash,
                ));
            }
            let mut query = Builder::new(
                "INSERT INTO audit_log (seq, at, actor_id, actor_role, action, entity, entity_id, from_state, to_state, detail, prev_hash, hash) ",
            );
            query.push_values(&rows, |mut b, (seq, record, prev_hash, hash)| {
                b.push_bind(*seq)
                    .push_bind(record.at)
                    .push_bind(record.actor_id)
                    .push_bind(record.actor_role)
                    .push_bind(record.action)
                    .push_bind(record.entity)
                    .push_bind(record.entity_id)
                    .push_bind(record.from_state)
                    .push_bind(record.to_state)
                    .push_bind(record.detail)
                    .push_bind(prev_hash.as_str())
                    .push_bind(hash.as_str());
            });
            query.build().execute(conn).await?;
            self.seq = seq;
            self.hash = prev;
        }
        Ok(())
    }

    /// Appends one record linked to the head and advances the head.
    pub async fn append(&mut self, conn: &mut Conn, record: &NewAudit<'_>) -> Result<i64> {
        self.append_all(conn, std::slice::from_ref(record)).await?;
        Ok(self.seq)
    }
}

/// Returns the records about one entity in chain order.
pub async fn list_for_entity(
    conn: &mut Conn,
    entity: &str,
    entity_id: i64,
) -> Result<Vec<AuditRow>> {
    Ok(sql::query(format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE entity = ? AND entity_id = ? ORDER BY seq"
    ))
    .bind(entity)
    .bind(entity_id)
    .fetch_all(conn)
    .await?)
}

/// Returns up to `limit` records with `seq > after`, in order (for walking the whole chain).
pub async fn page(conn: &mut Conn, after: i64, limit: i64) -> Result<Vec<AuditRow>> {
    Ok(sql::query(format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Whether the audit trail shows the case dispatched to `dept_id` as lead at some point.
pub async fn was_dispatched_to(conn: &mut Conn, case_id: i64, dept_id: i64) -> Result<bool> {
    let details: Vec<String> = sql::query(
        "SELECT detail FROM audit_log WHERE entity = 'case' AND entity_id = ? AND action = 'dispatch'",
    )
    .bind(case_id)
    .scalars(conn)
    .await?;
    Ok(details.iter().any(|detail| {
        serde_json::from_str::<serde_json::Value>(detail)
            .ok()
            .and_then(|v| v["lead_dept_id"].as_i64())
            == Some(dept_id)
    }))
}
