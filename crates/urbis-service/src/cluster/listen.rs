//! Every node's listener: an ordered consumer of the city's stream, from the records published
//! after the node started, turned back into the node's own effects.
//!
//! - `case` records become live-feed events (in a cluster the feed hears of every change only
//!   from here, the node's own included, so all nodes show one order), and a case received on
//!   any node enters this node's repeat index, so a repeat filed here joins it;
//! - `user` records of a logout, a disabling or enabling evict the user's cached sessions, so
//!   the next request reads the store (where the session is gone or the user inactive);
//! - imports and reference changes drop the in-memory indexes they feed (areas, gazetteer,
//!   assets, category asset classes), re-map the classifier's labels onto the taxonomy, and
//!   reload the working calendar.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use urbis_domain::ids::UserId;

use super::Node;
use crate::{CaseEvent, Services};

/// What the listener reads of a message.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Record {
    pub seq: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub entity: String,
    pub entity_id: i64,
    pub action: String,
    pub to_state: String,
}

/// Listens until `shutdown` turns true, reconnecting when the stream or the broker goes away.
pub(crate) fn spawn(
    services: Services,
    node: Arc<Node>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut position = Position::default();
        loop {
            tokio::select! {
                result = listen(&services, &node, &mut position) => {
                    if let Err(err) = result {
                        tracing::warn!(node = %node.options.node_id, error = %err, "listener stopped; restarting");
                    }
                }
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = shutdown.changed() => return,
            }
        }
    })
}

/// Where the listener is: the last audit seq it handled and that message's stream sequence.
#[derive(Default)]
struct Position {
    seq: i64,
    stream_seq: u64,
}

async fn listen(services: &Services, node: &Node, position: &mut Position) -> crate::Result<()> {
    use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
    let stream = super::relay::ensure_stream(node).await?;
    // A restarted listener resumes right after the last message it handled.
    let deliver_policy = if position.stream_seq == 0 {
        DeliverPolicy::New
    } else {
        DeliverPolicy::ByStartSequence {
            start_sequence: position.stream_seq + 1,
        }
    };
    let consumer = stream
        .create_consumer(OrderedConfig {
            deliver_policy,
            ..Default::default()
        })
        .await
        .map_err(super::broker_error)?;
    let mut messages = consumer.messages().await.map_err(super::broker_error)?;
    tracing::info!(node = %node.options.node_id, stream = %node.stream, "listening to the stream");
    metrics::gauge!("urbis_broker_listening").set(1.0);
    while let Some(message) = messages.next().await {
        let message = match message {
            Ok(message) => message,
            Err(err) => {
                metrics::gauge!("urbis_broker_listening").set(0.0);
                return Err(super::broker_error(err));
            }
        };
        let Ok(record) = serde_json::from_slice::<Record>(&message.payload) else {
            tracing::warn!(subject = %message.subject, "unreadable record on the stream");
            continue;
        };
        if let Ok(info) = message.info() {
            position.stream_seq = info.stream_sequence;
        }
        // The broker drops a second copy of a sequence number; this guards a resumed listener.
        if record.seq <= position.seq {
            continue;
        }
        position.seq = record.seq;
        metrics::counter!("urbis_broker_events_total").increment(1);
        services.apply_record(&record).await;
    }
    metrics::gauge!("urbis_broker_listening").set(0.0);
    Ok(())
}

impl Services {
    /// Applies one record of the stream to this node's memory.
    pub(crate) async fn apply_record(&self, record: &Record) {
        match (record.entity.as_str(), record.action.as_str()) {
            ("case", _) => self.feed_case_event(record).await,
            ("user", "logout" | "user_disabled" | "user_enabled" | "password_changed") => {
                self.inner.sessions.remove_user(UserId(record.entity_id));
            }
            ("taxonomy", _) | ("category", _) => {
                self.invalidate_maps();
                if let Err(err) = self.remap_classifier().await {
                    tracing::warn!(error = %err, "could not re-map the classifier");
                }
            }
            ("area", _) => {
                self.invalidate_locator();
                self.invalidate_maps();
            }
            ("gazetteer", _) | ("asset", _) => self.invalidate_maps(),
            ("calendar", _) => match crate::reference::load_calendar(self.db()).await {
                Ok(calendar) => self.set_calendar(calendar),
                Err(err) => tracing::warn!(error = %err, "could not reload the calendar"),
            },
            _ => {}
        }
    }

    async fn feed_case_event(&self, record: &Record) {
        let row = match self.db().read().await {
            Ok(mut conn) => urbis_storage::cases::get_case(&mut conn, record.entity_id).await,
            Err(err) => Err(err),
        };
        match row {
            Ok(row) => {
                // A case opened on another node can be repeated here too.
                if record.action == "receive" {
                    self.remember_case_row(&row);
                }
                let mut event = CaseEvent::of(&row, &record.action, record.at);
                event.state = record.to_state.clone();
                self.inner.events.publish(event);
            }
            Err(err) => {
                tracing::warn!(case_id = record.entity_id, error = %err, "could not read a case of the stream");
            }
        }
    }
}
