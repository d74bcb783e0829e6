//! The multi-node mode (issue 16): several stateless `urbis serve` nodes on one PostgreSQL
//! database, with NATS JetStream carrying what happened between them and to outside subscribers.
//!
//! Runtime shape, once [`Services::join_cluster`] connected a node to the broker:
//! - `relay` (one node at a time, under the `relay` lease): the audit log is the outbox. Every
//!   committed audit record is published, in sequence order and one at a time, to the stream
//!   `URBIS_<CITY>` under `urbis.<city>.<entity>.<action>` with `Nats-Msg-Id` = its sequence number
//!   (the broker drops a second copy), and the last acknowledged sequence is stored in
//!   `relay_positions` so that a relay starting anywhere resumes after it.
//! - `listen` (every node): an ordered consumer of the stream turns each record back into the
//!   node's own effects: live-feed events of cases, session-cache evictions of users who logged
//!   out or were disabled, and refreshed in-memory indexes after imports.
//! - `lease` (every node): singleton work (the SLA worker round with sharing reminders and the
//!   scheduled open-data run, and the relay) runs where a PostgreSQL advisory lock is held, on a
//!   connection of its own; the server frees it the moment its holder's connection ends.

mod lease;
mod listen;
mod relay;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{ErrorKind, Result, ServiceError, Services};

pub use lease::{LEASES, lease_key};

/// How a node joins a cluster (`urbis serve --nats-url --node-id --city`).
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The NATS server, e.g. `nats://127.0.0.1:4222`.
    pub nats_url: String,
    /// This node's name in logs, metrics and lease holders.
    pub node_id: String,
    /// The city's short name in subjects and in the stream's name (`[a-z0-9_-]`, at most 32).
    pub city: String,
}

/// A node's connection to the broker and what it reports about itself.
pub(crate) struct Node {
    pub(crate) options: ClusterOptions,
    pub(crate) client: async_nats::Client,
    pub(crate) jetstream: async_nats::jetstream::Context,
    /// The stream's name, `URBIS_<CITY>`.
    pub(crate) stream: String,
    /// Which leases this node holds now.
    pub(crate) leases: Mutex<BTreeMap<&'static str, bool>>,
}

/// How long the broker may keep a message id to drop a second copy of it. A relay resumes from
/// its stored position within seconds, so ten minutes covers any republication after a crash.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);

/// Checks a city's short name for subjects and stream names.
pub fn check_city(city: &str) -> Result<()> {
    let ok = !city.is_empty()
        && city.len() <= 32
        && city
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "invalid_city",
            "the city's short name is 1–32 characters of a-z, 0-9, _ and -",
        ))
    }
}

/// One token of a subject: lower-case letters, digits, `_` and `-`; anything else becomes `_`.
fn token(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "_".to_owned()
    } else {
        cleaned
    }
}

/// The subject of an audit record: `urbis.<city>.<entity>.<action>`.
pub fn subject(city: &str, entity: &str, action: &str) -> String {
    format!("urbis.{city}.{}.{}", token(entity), token(action))
}

/// The stream of a city: `URBIS_<CITY>` (upper case, `-` as `_`).
pub fn stream_name(city: &str) -> String {
    format!("URBIS_{}", city.to_ascii_uppercase().replace('-', "_"))
}

/// The newest audit sequence number of a store (0 when its log is empty).
pub async fn audit_head(db: &urbis_storage::Db) -> Result<i64> {
    let mut conn = db.read().await?;
    Ok(urbis_storage::cluster::audit_head_seq(&mut conn).await?)
}

fn broker_error(err: impl std::fmt::Display) -> ServiceError {
    tracing::warn!(error = %err, "broker call failed");
    ServiceError::new(
        ErrorKind::Unavailable,
        "broker_unavailable",
        "the message broker is not reachable",
    )
}

impl Services {
    /// Connects this node to the broker and makes sure the city's stream exists. Until the
    /// broker answers the node keeps trying in the background (the client reconnects by itself).
    pub async fn join_cluster(&self, options: ClusterOptions) -> Result<()> {
        check_city(&options.city)?;
        let client = async_nats::ConnectOptions::new()
            .name(format!("urbis-{}", options.node_id))
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connect(options.nats_url.as_str())
            .await
            .map_err(broker_error)?;
        let jetstream = async_nats::jetstream::new(client.clone());
        let stream = stream_name(&options.city);
        let node = Arc::new(Node {
            stream,
            client,
            jetstream,
            leases: Mutex::new(LEASES.iter().map(|name| (*name, false)).collect()),
            options,
        });
        if self.inner.cluster.set(node).is_err() {
            return Err(ServiceError::invalid(
                "already_joined",
                "this node already joined a cluster",
            ));
        }
        Ok(())
    }

    pub(crate) fn cluster_node(&self) -> Option<&Arc<Node>> {
        self.inner.cluster.get()
    }

    /// This node's id in the cluster, if it joined one.
    pub fn node_id(&self) -> Option<&str> {
        self.cluster_node().map(|n| n.options.node_id.as_str())
    }

    /// The leases this node holds now (empty outside a cluster).
    pub fn held_leases(&self) -> Vec<&'static str> {
        self.cluster_node()
            .map(|node| lease::held(node))
            .unwrap_or_default()
    }

    /// Whether the broker answers now (a round trip to the server); Ok outside a cluster.
    pub async fn broker_ready(&self) -> Result<()> {
        let Some(node) = self.cluster_node() else {
            return Ok(());
        };
        match tokio::time::timeout(Duration::from_secs(2), node.client.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(broker_error(err)),
            Err(_) => return Err(broker_error("no answer within 2 s")),
        }
        if node.client.connection_state() != async_nats::connection::State::Connected {
            return Err(broker_error("disconnected"));
        }
        Ok(())
    }

    /// Starts the background work of a node: outside a cluster the SLA worker alone; in a
    /// cluster the listener and, under their leases, the SLA worker and the relay. Every task
    /// ends when `shutdown` turns true.
    pub fn spawn_workers(
        &self,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let Some(node) = self.cluster_node().cloned() else {
            return vec![self.spawn_sla_worker(shutdown)];
        };
        lease::describe_metrics(&node);
        let sla = {
            let services = self.clone();
            lease::spawn_holder(
                self.clone(),
                node.clone(),
                "sla",
                shutdown.clone(),
                move |stop| services.spawn_sla_worker(stop),
            )
        };
        let relay = {
            let services = self.clone();
            let node = node.clone();
            lease::spawn_holder(
                self.clone(),
                node.clone(),
                "relay",
                shutdown.clone(),
                move |stop| relay::spawn(services.clone(), node.clone(), stop),
            )
        };
        let listener = listen::spawn(self.clone(), node, shutdown);
        vec![sla, relay, listener]
    }
}
