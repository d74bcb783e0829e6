//! The audit relay: the audit log is the outbox. It publishes each committed record after the
//! last one the broker acknowledged, one at a time and in sequence order (a record is published
//! only after the one before it was acknowledged, so the stream never holds a later record
//! without every earlier one), and stores its position after each batch. It starts from the
//! larger of the stored position and the sequence of the stream's last message, so a relay that
//! died between the broker's acknowledgement and storing its position neither skips nor repeats
//! a record; `Nats-Msg-Id` = sequence number makes the broker drop a copy published twice anyway.

use std::sync::Arc;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use urbis_storage::audit::{self, AuditRow};
use urbis_storage::cluster as cluster_repo;

use super::{DUPLICATE_WINDOW, Node, broker_error, subject};
use crate::{Result, Services};

/// The relay's name in `relay_positions`.
pub(crate) const RELAY_NAME: &str = "broker";

/// Records read and published per round.
const BATCH: i64 = 256;

/// How long an idle relay waits before looking for new records.
const IDLE: Duration = Duration::from_millis(50);

/// Runs the relay until `stop` turns true.
pub(crate) fn spawn(
    services: Services,
    node: Arc<Node>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut acked: Option<i64> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            let pause = match round(&services, &node, &mut acked, &stop).await {
                Ok(true) => Duration::ZERO,
                Ok(false) => IDLE,
                Err(err) => {
                    tracing::warn!(node = %node.options.node_id, error = %err, "relay round failed; retrying");
                    // Read the position again: another relay may have moved it meanwhile.
                    acked = None;
                    Duration::from_millis(500)
                }
            };
            if !pause.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    })
}

/// The stream of the city, created when missing.
pub(crate) async fn ensure_stream(node: &Node) -> Result<async_nats::jetstream::stream::Stream> {
    let config = async_nats::jetstream::stream::Config {
        name: node.stream.clone(),
        subjects: vec![format!("urbis.{}.>", node.options.city)],
        storage: async_nats::jetstream::stream::StorageType::File,
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    };
    node.jetstream
        .get_or_create_stream(config)
        .await
        .map_err(broker_error)
}

/// Where to start: after the larger of the stored position and the stream's last record.
async fn start_position(services: &Services, node: &Node) -> Result<i64> {
    let stored = {
        let mut conn = services.db().read().await?;
        cluster_repo::relay_position(&mut conn, RELAY_NAME).await?
    };
    let mut stream = ensure_stream(node).await?;
    let last = stream
        .info()
        .await
        .map_err(broker_error)?
        .state
        .last_sequence;
    if last == 0 {
        return Ok(stored);
    }
    let message = stream.get_raw_message(last).await.map_err(broker_error)?;
    let record = serde_json::from_slice::<serde_json::Value>(&message.payload).unwrap_or_default();
    let published = record["seq"].as_i64().unwrap_or(0);
    if published <= stored {
        return Ok(stored);
    }
    // Skip ahead only to a record this store holds with the same hash: a stream left over from
    // another database (a city re-created under the same name) must never make the relay skip.
    let mut conn = services.db().read().await?;
    let same = audit::page(&mut conn, published - 1, 1)
        .await?
        .first()
        .is_some_and(|row| {
            row.seq == published && Some(row.hash.as_str()) == record["hash"].as_str()
        });
    if !same {
        tracing::error!(
            stream = %node.stream,
            published,
            "the stream's last record is not this store's: delete the stream or choose another --city"
        );
        return Err(crate::ServiceError::new(
            crate::ErrorKind::Conflict,
            "stream_of_another_store",
            "the city's stream holds records of another store",
        ));
    }
    Ok(published)
}

/// The message of one audit record. The detail is left out (it may name people); the hash
/// and the previous hash let a subscriber check that it saw the chain without a gap.
pub fn payload(city: &str, row: &AuditRow) -> serde_json::Value {
    serde_json::json!({
        "city": city,
        "seq": row.seq,
        "hash": row.hash,
        "prev_hash": row.prev_hash,
        "at": row.at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "entity": row.entity,
        "entity_id": row.entity_id,
        "action": row.action,
        "from_state": row.from_state,
        "to_state": row.to_state,
        "actor_role": row.actor_role,
    })
}

/// Publishes the next batch; true when more records may be waiting.
async fn round(
    services: &Services,
    node: &Node,
    acked: &mut Option<i64>,
    stop: &watch::Receiver<bool>,
) -> Result<bool> {
    let after = match *acked {
        Some(seq) => seq,
        None => {
            let seq = start_position(services, node).await?;
            *acked = Some(seq);
            seq
        }
    };
    let (rows, head) = {
        let mut conn = services.db().read().await?;
        let rows = audit::page(&mut conn, after, BATCH).await?;
        let head = cluster_repo::audit_head_seq(&mut conn).await?;
        (rows, head)
    };
    metrics::gauge!("urbis_relay_pending").set((head - after).max(0) as f64);
    if rows.is_empty() {
        return Ok(false);
    }
    let full = rows.len() as i64 == BATCH;
    let mut last = after;
    for row in &rows {
        if *stop.borrow() {
            break;
        }
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(
            async_nats::header::NATS_MESSAGE_ID,
            row.seq.to_string().as_str(),
        );
        let body = serde_json::to_vec(&payload(&node.options.city, row))
            .map_err(|_| crate::ServiceError::internal())?;
        let ack = node
            .jetstream
            .publish_with_headers(
                subject(&node.options.city, &row.entity, &row.action),
                headers,
                body.into(),
            )
            .await
            .map_err(broker_error)?;
        ack.await.map_err(broker_error)?;
        last = row.seq;
        *acked = Some(last);
        metrics::counter!("urbis_relay_published_total").increment(1);
        metrics::gauge!("urbis_relay_acked_seq").set(last as f64);
        let lag = (Utc::now() - row.at).num_microseconds().unwrap_or(0).max(0);
        metrics::histogram!("urbis_relay_lag_seconds").record(lag as f64 / 1e6);
    }
    if last > after {
        let mut tx = services.db().begin_write().await?;
        cluster_repo::advance_relay(&mut tx, RELAY_NAME, last, Utc::now()).await?;
        tx.commit().await?;
    }
    metrics::gauge!("urbis_relay_pending").set((head - last).max(0) as f64);
    Ok(full)
}
