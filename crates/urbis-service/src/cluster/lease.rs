//! Leases for singleton work. Each node runs one holder task per lease: it tries to take the
//! lease's advisory lock every second on a connection of its own and, while it holds it, runs the
//! work and proves once a second that the connection is alive. When the connection fails the
//! work is told to stop at once (a new holder may already be running); when the holder process
//! dies the server frees the lock as its connection closes, and another node takes it within a
//! second or two.
//!
//! A lease is what keeps the work to one node, not what keeps it correct: every SLA round reads
//! and marks its cases inside one write transaction, and write transactions are serialised by
//! the store's advisory transaction lock, so even two rounds at once would not remind or
//! escalate a case twice; a round cut off by a crash rolls back and the next holder does it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use urbis_storage::cluster::LeaseConn;

use super::Node;
use crate::Services;

/// The leases of a node, by name.
pub const LEASES: [&str; 2] = ["sla", "relay"];

/// How often a holder tries to take its lease and checks the one it holds.
const BEAT: Duration = Duration::from_secs(1);

/// The advisory lock key of a lease: FNV-1a of `urbis-lease-<name>`, kept positive.
pub fn lease_key(name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in b"urbis-lease-".iter().chain(name.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash >> 1) as i64
}

pub(crate) fn held(node: &Node) -> Vec<&'static str> {
    match node.leases.lock() {
        Ok(leases) => leases
            .iter()
            .filter(|(_, held)| **held)
            .map(|(name, _)| *name)
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn set_held(node: &Node, name: &'static str, held: bool) {
    if let Ok(mut leases) = node.leases.lock() {
        leases.insert(name, held);
    }
    metrics::gauge!("urbis_lease_held", "lease" => name, "node" => node.options.node_id.clone())
        .set(if held { 1.0 } else { 0.0 });
}

pub(crate) fn describe_metrics(node: &Node) {
    metrics::describe_gauge!(
        "urbis_lease_held",
        "1 while this node holds the lease (sla: SLA, sharing and open-data rounds; relay: the audit relay)."
    );
    metrics::describe_counter!(
        "urbis_lease_taken_total",
        "Times this node took a lease (a takeover after another holder's death counts here)."
    );
    metrics::describe_gauge!(
        "urbis_relay_acked_seq",
        "The last audit sequence number the broker acknowledged, as the relay on this node saw it."
    );
    metrics::describe_gauge!(
        "urbis_relay_pending",
        "Audit records committed but not yet acknowledged by the broker, as the relay last saw it."
    );
    metrics::describe_histogram!(
        "urbis_relay_lag_seconds",
        "From an audit record's time to the broker's acknowledgement of it."
    );
    metrics::describe_counter!(
        "urbis_relay_published_total",
        "Audit records the relay published and the broker acknowledged."
    );
    metrics::describe_gauge!(
        "urbis_broker_listening",
        "1 while this node's listener is subscribed to the city's stream."
    );
    metrics::describe_counter!(
        "urbis_broker_events_total",
        "Records this node's listener received from the stream."
    );
    // Every series from the first scrape, zero where nothing happened yet.
    for name in LEASES {
        set_held(node, name, false);
        metrics::counter!("urbis_lease_taken_total", "lease" => name).increment(0);
    }
    metrics::gauge!("urbis_relay_acked_seq").set(0.0);
    metrics::gauge!("urbis_relay_pending").set(0.0);
    metrics::counter!("urbis_relay_published_total").increment(0);
    metrics::counter!("urbis_broker_events_total").increment(0);
    metrics::gauge!("urbis_broker_listening").set(0.0);
}

/// Runs `work` on this node whenever it holds the lease `name`, until `shutdown`.
pub(crate) fn spawn_holder<F>(
    services: Services,
    node: Arc<Node>,
    name: &'static str,
    mut shutdown: watch::Receiver<bool>,
    work: F,
) -> JoinHandle<()>
where
    F: Fn(watch::Receiver<bool>) -> JoinHandle<()> + Send + 'static,
{
    tokio::spawn(async move {
        let key = lease_key(name);
        let node_id = node.options.node_id.clone();
        'connect: loop {
            if *shutdown.borrow() {
                return;
            }
            let mut conn = match LeaseConn::open(services.db()).await {
                Ok(conn) => conn,
                Err(err) => {
                    tracing::warn!(lease = name, node = %node_id, error = %err, "lease connection failed");
                    if wait(&mut shutdown, BEAT).await {
                        return;
                    }
                    continue 'connect;
                }
            };
            loop {
                match conn.try_take(key).await {
                    Ok(true) => {}
                    Ok(false) => {
                        if wait(&mut shutdown, BEAT).await {
                            conn.close().await;
                            return;
                        }
                        continue;
                    }
                    Err(err) => {
                        tracing::warn!(lease = name, node = %node_id, error = %err, "lease check failed");
                        conn.close().await;
                        if wait(&mut shutdown, BEAT).await {
                            return;
                        }
                        continue 'connect;
                    }
                }
                tracing::info!(lease = name, node = %node_id, "lease taken");
                metrics::counter!("urbis_lease_taken_total", "lease" => name).increment(1);
                set_held(&node, name, true);
                let (stop, stopped) = watch::channel(false);
                let task = work(stopped);
                let lost = loop {
                    if wait(&mut shutdown, BEAT).await {
                        break false;
                    }
                    if let Err(err) = conn.check().await {
                        tracing::warn!(lease = name, node = %node_id, error = %err, "lease lost");
                        break true;
                    }
                };
                let _ = stop.send(true);
                if tokio::time::timeout(Duration::from_secs(4), task)
                    .await
                    .is_err()
                {
                    tracing::warn!(lease = name, node = %node_id, "leased work did not stop in time");
                }
                set_held(&node, name, false);
                if !lost {
                    let _ = conn.release(key).await;
                    conn.close().await;
                    return;
                }
                conn.close().await;
                continue 'connect;
            }
        }
    })
}

/// Sleeps `period`; true when `shutdown` turned true meanwhile.
async fn wait(shutdown: &mut watch::Receiver<bool>, period: Duration) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(period) => *shutdown.borrow(),
        changed = shutdown.changed() => changed.is_err() || *shutdown.borrow(),
    }
}
