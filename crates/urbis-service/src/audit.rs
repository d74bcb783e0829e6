//! Writing audit records inside the caller's transaction, and verifying the whole chain.

use urbis_domain::audit::{ChainBreak, ChainVerifier};
use urbis_domain::role::Actor;
use urbis_storage::audit::{self, AuditRow, ChainHead, NewAudit};
use urbis_storage::{Conn, Db};

use crate::Result;

/// Appends one audit record in the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    conn: &mut Conn,
    at: chrono::DateTime<chrono::Utc>,
    actor: Option<&Actor>,
    action: &str,
    entity: &str,
    entity_id: i64,
    from_state: &str,
    to_state: &str,
    detail: &serde_json::Value,
) -> Result<i64> {
    let mut head = ChainHead::load(conn).await?;
    let at = at;
    let detail = detail.to_string();
    let seq = head
        .append(
            conn,
            &NewAudit {
                at: at,
                actor_id: actor.map(|a| a.user_id.0),
                actor_role: actor.map(|a| a.role.as_str()).unwrap_or("system"),
                action,
                entity,
                entity_id,
                from_state,
                to_state,
                detail: &detail,
            },
        )
        .await?;
    Ok(seq)
}

/// The outcome of walking the chain.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub checked: u64,
    pub first_break: Option<(ChainBreak, Option<AuditRow>)>,
}

/// Re-walks the whole audit chain from the first record and stops at the first inconsistency.
pub async fn verify_chain(db: &Db) -> Result<VerifyReport> {
    let mut conn = db.read().await?;
    let mut verifier = ChainVerifier::new();
    let mut after = 0;
    loop {
        let page = audit::page(&mut conn, after, 5_000).await?;
        if page.is_empty() {
            break;
        }
        for row in page {
            if let Err(chain_break) = verifier.check(&row.content(), &row.prev_hash, &row.hash) {
                return Ok(VerifyReport {
                    checked: verifier.checked(),
                    first_break: Some((chain_break, Some(row))),
                });
            }
            after = row.seq;
        }
    }
    Ok(VerifyReport {
        checked: verifier.checked(),
        first_break: None,
    })
}

/// Checks every case's stored state against the last state its audit trail records; returns the
/// first case that disagrees as (case id, stored state, audited state).
pub async fn verify_case_states(db: &Db) -> Result<Option<(i64, String, String)>> {
    let mut conn = db.read().await?;
    Ok(urbis_storage::lookups::first_state_mismatch(&mut conn).await?)
}

/// Recounts the kept counters (state counts, cases reported per day, area and category) from the
/// cases on one read snapshot; returns the differences found (empty when they agree).
pub async fn verify_counters(db: &Db) -> Result<Vec<String>> {
    let mut snapshot = db.read_snapshot().await?;
    let found = urbis_storage::stats::recount_differences(&mut snapshot).await?;
    snapshot.end().await?;
    Ok(found)
}
