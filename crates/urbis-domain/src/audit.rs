//! The tamper-evident audit chain. Each record's hash covers its own content and the hash of the
//! record before it, so altering any stored record breaks every link from it onwards; a verifier
//! names the first record whose stored hash no longer matches.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The hash that the first record of the chain links to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The content of one audit record, as covered by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditContent<'a> {
    pub seq: i64,
    /// When it happened; hashed as RFC 3339 UTC text with six decimals ("2026-11-23T10:00:00.000000Z").
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_role: &'a str,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: i64,
    pub from_state: &'a str,
    pub to_state: &'a str,
    /// Free-form detail, stored as JSON text.
    pub detail: &'a str,
}

/// Returns the hex SHA-256 of the record content chained to `prev_hash`.
pub fn chain_hash(prev_hash: &str, content: &AuditContent<'_>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    let at = content.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    // A unit separator keeps field boundaries unambiguous.
    for part in [
        content.seq.to_string().as_str(),
        at.as_str(),
        content
            .actor_id
            .map(|id| id.to_string())
            .unwrap_or_default()
            .as_str(),
        content.actor_role,
        content.action,
        content.entity,
        content.entity_id.to_string().as_str(),
        content.from_state,
        content.to_state,
        content.detail,
    ] {
        hasher.update([0x1f]);
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Where a chain stops being consistent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The record's stored hash does not match its content: it (or its predecessor link) was altered.
    HashMismatch { seq: i64 },
    /// The record does not link to the previous record's hash.
    BrokenLink { seq: i64 },
    /// A sequence number is missing: a record was deleted.
    Gap { expected: i64, found: i64 },
}

/// Incremental verifier: feed records in sequence order.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    prev_hash: String,
    next_seq: i64,
    checked: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    /// Starts at the genesis hash and sequence 1.
    pub fn new() -> Self {
        ChainVerifier {
            prev_hash: GENESIS_HASH.to_owned(),
            next_seq: 1,
            checked: 0,
        }
    }

    /// Checks the next record given its content, the stored previous-hash link and stored hash.
    pub fn check(
        &mut self,
        content: &AuditContent<'_>,
        stored_prev: &str,
        stored_hash: &str,
    ) -> Result<(), ChainBreak> {
        if content.seq != self.next_seq {
            return Err(ChainBreak::Gap {
                expected: self.next_seq,
                found: content.seq,
            });
        }
        if stored_prev != self.prev_hash {
            return Err(ChainBreak::BrokenLink { seq: content.seq });
        }
        if chain_hash(stored_prev, content) != stored_hash {
            return Err(ChainBreak::HashMismatch { seq: content.seq });
        }
        self.prev_hash = stored_hash.to_owned();
        self.next_seq += 1;
        self.checked += 1;
        Ok(())
    }

    /// Returns how many records were verified.
    pub fn checked(&self) -> u64 {
        self.checked
    }
}
