//! The MQTT subscriber (rumqttc): a persistent session (`clean_session = false`, a fixed client
//! id) subscribed at QoS 1 to `<prefix>/devices/+/readings`, with manual acknowledgements: a
//! message is acknowledged only after the transaction holding it committed, so a crash loses
//! nothing (the broker delivers again; a reading may then be stored twice — at least once).
//! Readings published while Urbis is down are queued by the broker for the session and arrive
//! after a restart.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use tokio::sync::{mpsc, oneshot, watch};

use super::ingest::{Engine, Inbound};
use crate::{Result, ServiceError, Services};

/// Where and how to subscribe.
#[derive(Debug, Clone)]
pub struct MqttConfig {
    pub host: String,
    pub port: u16,
    /// Fixed per installation: the broker keeps the session (and queued readings) under it.
    pub client_id: String,
    /// Topics are `<prefix>/devices/<device-code>/readings`, e.g. `urbis/beijing`.
    pub topic_prefix: String,
    /// Messages per transaction at most.
    pub batch_max: usize,
    /// Larger payloads are dead-lettered (`oversize`).
    pub max_message_bytes: usize,
    /// How often devices are checked for silence.
    pub tick: Duration,
    /// Minutes a supervisor has to verify an alarm.
    pub verify_minutes: i64,
    /// Days raw readings are kept before they are folded into hourly aggregates (checked hourly).
    pub raw_days: i64,
}

impl MqttConfig {
    /// Defaults for a broker on this host.
    pub fn local(client_id: &str, topic_prefix: &str) -> MqttConfig {
        MqttConfig {
            host: "127.0.0.1".into(),
            port: 1883,
            client_id: client_id.into(),
            topic_prefix: topic_prefix.into(),
            batch_max: 5_000,
            max_message_bytes: 64 * 1024,
            tick: Duration::from_secs(10),
            verify_minutes: 30,
            raw_days: 30,
        }
    }
}

/// Packets above this size end the connection in rumqttc; everything up to it reaches ingestion
/// and is dead-lettered there when above `max_message_bytes`.
const PACKET_MAX_BYTES: usize = 16 * 1024 * 1024;

enum Input {
    Message(Publish, chrono::DateTime<chrono::Utc>),
    Tick(oneshot::Sender<Result<usize>>),
}

/// A running subscriber; [`SensorIngest::stop`] ends it after its current batch.
pub struct SensorIngest {
    inputs: mpsc::Sender<Input>,
    stop: watch::Sender<bool>,
    stop_mqtt: watch::Sender<bool>,
    mqtt_task: tokio::task::JoinHandle<()>,
    ingest_task: tokio::task::JoinHandle<()>,
}

impl SensorIngest {
    /// Runs a silence check now (besides the periodic one); returns the alarms it raised.
    pub async fn tick_now(&self) -> Result<usize> {
        let (reply, answer) = oneshot::channel();
        self.inputs
            .send(Input::Tick(reply))
            .await
            .map_err(|_| stopped_error())?;
        answer.await.map_err(|_| stopped_error())?
    }

    /// Stops: the ingest task finishes its batch, then the session is left (kept by the broker).
    pub async fn stop(self) {
        self.stop.send_replace(true);
        let _ = self.ingest_task.await;
        self.stop_mqtt.send_replace(true);
        let _ = self.mqtt_task.await;
    }
}

/// Resolves when told to stop (or when the sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn stopped_error() -> ServiceError {
    ServiceError::new(
        crate::ErrorKind::Unavailable,
        "ingest_stopped",
        "sensor ingestion stopped",
    )
}

impl Services {
    /// Connects to the broker and starts ingesting. Fails when the registry cannot be read; a
    /// broker that is down is retried every second.
    pub async fn start_sensor_ingest(&self, config: MqttConfig) -> Result<SensorIngest> {
        let engine = Engine::new(
            self.clone(),
            config.topic_prefix.clone(),
            config.max_message_bytes,
            config.verify_minutes,
        )
        .await?;
        let mut options = MqttOptions::new(&config.client_id, &config.host, config.port);
        options
            .set_clean_session(false)
            .set_manual_acks(true)
            .set_keep_alive(Duration::from_secs(30))
            .set_max_packet_size(PACKET_MAX_BYTES, PACKET_MAX_BYTES)
            .set_request_channel_capacity(10_000);
        let (client, eventloop) = AsyncClient::new(options, 10_000);
        let (inputs, receiver) = mpsc::channel(config.batch_max.max(1) * 2);
        let (stop, stop_rx) = watch::channel(false);
        let (stop_mqtt, stop_mqtt_rx) = watch::channel(false);
        let filter = format!("{}/devices/+/readings", config.topic_prefix);
        let mqtt_task = tokio::spawn(mqtt_loop(
            client.clone(),
            eventloop,
            filter,
            inputs.clone(),
            stop_mqtt_rx,
        ));
        let ingest_task = tokio::spawn(ingest_loop(engine, client, receiver, config, stop_rx));
        Ok(SensorIngest {
            inputs,
            stop,
            stop_mqtt,
            mqtt_task,
            ingest_task,
        })
    }
}

async fn mqtt_loop(
    client: AsyncClient,
    mut eventloop: rumqttc::EventLoop,
    filter: String,
    inputs: mpsc::Sender<Input>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let event = tokio::select! {
            event = eventloop.poll() => event,
            _ = stopped(&mut stop) => break,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                tracing::info!(session_present = ack.session_present, "mqtt connected");
                if let Err(err) = client.try_subscribe(filter.clone(), QoS::AtLeastOnce) {
                    tracing::error!(error = %err, "mqtt subscribe failed");
                }
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                let message = Input::Message(publish, chrono::Utc::now());
                if inputs.send(message).await.is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(err) => {
                metrics::counter!("urbis_sensor_mqtt_errors_total").increment(1);
                tracing::warn!(error = %err, "mqtt connection lost; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stopped(&mut stop) => break,
                }
            }
        }
    }
    // Leave the session (the broker keeps it and queues readings until we are back); the
    // acknowledgements of the last batch go out before the disconnect.
    let _ = client.try_disconnect();
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
}

async fn ingest_loop(
    mut engine: Engine,
    client: AsyncClient,
    mut receiver: mpsc::Receiver<Input>,
    config: MqttConfig,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(config.tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut retention = tokio::time::interval(Duration::from_secs(3600));
    retention.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let first = tokio::select! {
            input = receiver.recv() => match input {
                Some(input) => input,
                None => break,
            },
            _ = retention.tick() => {
                if let Err(err) = engine.services().sensor_retention(config.raw_days).await {
                    tracing::error!(error = %err, "sensor retention failed");
                }
                continue;
            }
            _ = ticker.tick() => {
                if let Err(err) = engine.tick().await {
                    tracing::error!(error = %err, "sensor silence check failed");
                }
                continue;
            }
            _ = stopped(&mut stop) => break,
        };
        let mut publishes = Vec::new();
        let mut ticks = Vec::new();
        let mut next = Some(first);
        while let Some(input) = next.take() {
            match input {
                Input::Message(publish, at) => publishes.push((publish, at)),
                Input::Tick(reply) => ticks.push(reply),
            }
            if publishes.len() < config.batch_max {
                next = receiver.try_recv().ok();
            }
        }
        if !publishes.is_empty() {
            let batch: Vec<Inbound> = publishes
                .iter()
                .map(|(p, at)| Inbound {
                    topic: p.topic.clone(),
                    payload: p.payload.to_vec(),
                    received_at: *at,
                })
                .collect();
            // Ingestion never gives up on a batch: a store that is down is retried.
            let mut delay = Duration::from_millis(100);
            while let Err(err) = engine.process(&batch).await {
                tracing::error!(error = %err, size = batch.len(), "sensor batch failed; retrying");
                if *stop.borrow() {
                    return;
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            for (publish, _) in &publishes {
                if let Err(err) = client.ack(publish).await {
                    tracing::warn!(error = %err, "mqtt ack failed");
                }
            }
        }
        for reply in ticks {
            let _ = reply.send(engine.tick().await);
        }
    }
}
