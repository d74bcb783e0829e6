//! The outbox's delivery worker: claims due messages, delivers each through its channel's
//! adapter, logs every attempt and retries failures with exponential back-off.
//!
//! Once: a claim moves a message's next attempt past a lease in a committed transaction, so no
//! other worker takes it meanwhile; the sink records a message and marks it sent in one
//! transaction (`sink_messages.outbox_id` is unique); a webhook gets the message id as its
//! `Idempotency-Key`, and a message marked sent is never claimed again. The HTTP call itself is
//! the caller's [`WebhookSender`] (urbis-http), since only that layer knows wire shapes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use urbis_domain::role::{Actor, Role};
use urbis_storage::outbox::{self, DeliveryRow, OutboxRow, SinkRow};

use crate::residents::Adapter;
use crate::{Result, Services};

/// Most messages one round claims.
pub const ROUND_MAX: i64 = 200;
/// How long a claimed message is left to its worker before another may retry it.
const LEASE: Duration = Duration::from_secs(120);

/// What a webhook call returns: `Err` with a short reason on failure.
pub type SendFuture<'a> =
    Pin<Box<dyn Future<Output = std::result::Result<(), String>> + Send + 'a>>;

/// Posts one message to a city's gateway.
pub trait WebhookSender: Send + Sync {
    fn send<'a>(&'a self, url: &'a str, message: &'a OutboxRow) -> SendFuture<'a>;
}

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    pub sent: u32,
    pub retried: u32,
    pub failed: u32,
}

impl Services {
    /// Delivers every due message once (as the worker does each round) and reports what happened.
    pub async fn deliver_outbox(&self, webhooks: &dyn WebhookSender) -> Result<RoundReport> {
        let now = self.now();
        let lease = chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::minutes(2));
        let mut tx = self.db().begin_write().await?;
        let claimed = outbox::claim_due(&mut tx, now, now + lease, ROUND_MAX).await?;
        tx.commit().await?;
        let config = &self.config().residents;
        let mut report = RoundReport::default();
        // The sink's messages of the round are recorded in one transaction.
        let (sunk, posted): (Vec<OutboxRow>, Vec<OutboxRow>) = claimed
            .into_iter()
            .partition(|m| config.adapter(&m.channel) == Adapter::Sink);
        if !sunk.is_empty() {
            let at = self.now();
            let mut tx = self.db().begin_write().await?;
            for message in &sunk {
                outbox::sink(&mut tx, message, at).await?;
                outbox::mark_sent(&mut tx, message.id, at).await?;
                outbox::log_attempt(&mut tx, message.id, message.attempts, "sink", true, "", at)
                    .await?;
            }
            tx.commit().await?;
            report.sent += u32::try_from(sunk.len()).unwrap_or(u32::MAX);
        }
        for message in posted {
            let Adapter::Webhook { url } = config.adapter(&message.channel) else {
                continue;
            };
            let name = "webhook";
            let outcome = webhooks.send(&url, &message).await;
            let at = self.now();
            let mut tx = self.db().begin_write().await?;
            match outcome {
                Ok(()) => {
                    outbox::mark_sent(&mut tx, message.id, at).await?;
                    outbox::log_attempt(&mut tx, message.id, message.attempts, name, true, "", at)
                        .await?;
                    report.sent += 1;
                }
                Err(reason) => {
                    let reason: String = reason.chars().take(200).collect();
                    let next = (message.attempts < i64::from(config.max_attempts)).then(|| {
                        let factor = 1u32 << (message.attempts.clamp(1, 16) - 1);
                        at + chrono::Duration::from_std(config.retry_base * factor)
                            .unwrap_or(chrono::Duration::hours(1))
                    });
                    outbox::mark_failed(&mut tx, message.id, &reason, next).await?;
                    outbox::log_attempt(
                        &mut tx,
                        message.id,
                        message.attempts,
                        name,
                        false,
                        &reason,
                        at,
                    )
                    .await?;
                    tracing::warn!(
                        outbox_id = message.id,
                        attempts = message.attempts,
                        channel = %message.channel,
                        "notification delivery failed"
                    );
                    if next.is_some() {
                        report.retried += 1;
                    } else {
                        report.failed += 1;
                    }
                }
            }
            tx.commit().await?;
        }
        Ok(report)
    }

    /// Runs delivery rounds every `interval` until the services stop.
    pub fn spawn_outbox_worker(
        &self,
        webhooks: Arc<dyn WebhookSender>,
        interval: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let services = self.clone();
        tokio::spawn(async move {
            let stopping = services.stopping();
            tokio::pin!(stopping);
            loop {
                if let Err(err) = services.deliver_outbox(webhooks.as_ref()).await {
                    tracing::error!(error = %err, "outbox round failed");
                }
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = &mut stopping => break,
                }
            }
        })
    }

    /// Lists what the local sink received, newest first (admins; the demo reads codes here).
    pub async fn sink_messages(
        &self,
        actor: &Actor,
        address: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SinkRow>> {
        crate::auth::require_role(actor, &[Role::Admin])?;
        let mut conn = self.db().read().await?;
        Ok(outbox::list_sink(&mut conn, address, limit.clamp(1, 500)).await?)
    }

    /// Lists outbox messages with their delivery logs: the caller's own (residents) or all (admins).
    pub async fn outbox_messages(
        &self,
        actor: &Actor,
        limit: i64,
    ) -> Result<Vec<(OutboxRow, Vec<DeliveryRow>)>> {
        crate::auth::require_role(actor, &[Role::Admin, Role::Resident])?;
        let user = (actor.role == Role::Resident).then_some(actor.user_id.0);
        let mut conn = self.db().read().await?;
        let rows = outbox::list(&mut conn, user, limit.clamp(1, 500)).await?;
        let mut out = Vec::with_capacity(rows.len());
        for mut row in rows {
            // A code is for its phone only, even while it waits for delivery.
            if row.kind == "otp" {
                row.body = "[验证码 one-time code]".into();
            }
            let log = outbox::deliveries(&mut conn, row.id).await?;
            out.push((row, log));
        }
        Ok(out)
    }
}
