//! Residents in the loop (issue 21): phone accounts with one-time codes (`accounts`), the
//! notification outbox and its delivery worker (`delivery`), one-stop answers from the knowledge
//! base (`answers`), community deliberation (`deliberation`) and opinion polls (`polls`), and the public map of recent
//! reports with joining an open case instead of filing a duplicate (`public`).
//!
//! Every message to a person is an `outbox` row written in the transaction of its event
//! ([`notify_user`]); the delivery worker claims due rows, hands each to the adapter its channel
//! is configured with (the local sink, or a city's HTTP webhook for SMS, e-mail or WeChat) and
//! records every attempt in `outbox_deliveries`, retrying with exponential back-off.

pub mod accounts;
pub mod answers;
pub mod basemap;
pub mod deliberation;
pub mod delivery;
pub mod followup;
pub mod polls;
pub mod public;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use urbis_storage::Conn;

use crate::Result;

/// The channels a resident may choose.
pub const CHANNELS: [&str; 3] = ["sms", "email", "wechat"];

/// Where a channel's messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adapter {
    /// Recorded in `sink_messages` on this machine (demo, tests): nothing leaves it.
    Sink,
    /// POSTed as JSON to the city's gateway for the channel.
    Webhook { url: String },
}

/// Residents' accounts, notifications and deliberation settings.
#[derive(Debug, Clone)]
pub struct ResidentConfig {
    /// Channel → adapter; a channel without an entry goes to the sink.
    pub adapters: BTreeMap<String, Adapter>,
    /// Attempts before a message is given up (`failed`).
    pub max_attempts: u32,
    /// The wait after the first failed attempt; each further failure doubles it.
    pub retry_base: Duration,
    /// How long a one-time code is valid.
    pub code_ttl: Duration,
    /// Codes one phone may request per `code_window`.
    pub codes_per_phone: u32,
    /// Codes one client address may request per `code_window`.
    pub codes_per_client: u32,
    /// The window of both code limits.
    pub code_window: Duration,
    /// Wrong entries before a code is dead.
    pub code_max_attempts: u32,
    /// Supports that put a proposal on its community's agenda.
    pub proposal_threshold: u32,
}

impl Default for ResidentConfig {
    fn default() -> Self {
        ResidentConfig {
            adapters: BTreeMap::new(),
            max_attempts: 6,
            retry_base: Duration::from_secs(30),
            code_ttl: Duration::from_secs(5 * 60),
            codes_per_phone: 3,
            codes_per_client: 30,
            code_window: Duration::from_secs(15 * 60),
            code_max_attempts: 5,
            proposal_threshold: 5,
        }
    }
}

impl ResidentConfig {
    /// Returns the adapter of a channel.
    pub fn adapter(&self, channel: &str) -> Adapter {
        self.adapters.get(channel).cloned().unwrap_or(Adapter::Sink)
    }
}

/// Enqueues a message about a case to every channel the resident chose (none if they opted out),
/// in the caller's transaction. `event` names the event uniquely (with the case and the time), so
/// a message is enqueued once per event and channel.
pub(crate) async fn notify_user(
    conn: &mut Conn,
    user_id: i64,
    kind: &str,
    case_id: i64,
    body: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let key = message_key(case_id, kind, user_id, at);
    urbis_storage::outbox::enqueue_for_user(conn, user_id, kind, Some(case_id), body, &key, at)
        .await?;
    Ok(())
}

/// The dedup key of a message about a case: the case, the kind, the person and the event's time.
pub(crate) fn message_key(case_id: i64, kind: &str, user_id: i64, at: DateTime<Utc>) -> String {
    format!("case:{case_id}:{kind}:{user_id}:{}", at.timestamp_micros())
}
