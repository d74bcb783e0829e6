//! `urbis bench sensors`: readings published through Mosquitto into Urbis with the rules on
//! (thresholds with hysteresis and a consecutive-readings band on every device), stored with
//! durable commits; printed beside Mosquitto's own pub/sub rate for the same messages, measured
//! in the same run with a plain subscriber.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use urbis_domain::role::Role;
use urbis_service::auth::NewUser;
use urbis_service::sensors::mqtt::MqttConfig;
use urbis_service::sensors::{DeviceInput, RulesDoc, TypeInput};
use urbis_service::store::{Durability, Location};
use urbis_service::{ServiceConfig, Services};

/// Options of `urbis bench sensors`.
#[derive(Args)]
pub struct SensorsArgs {
    /// Devices publishing.
    #[arg(long, default_value_t = 1_000)]
    pub devices: usize,
    /// Readings to send in all.
    #[arg(long, default_value_t = 500_000)]
    pub readings: usize,
    /// Readings per message (a SenML pack).
    #[arg(long, default_value_t = 100)]
    pub pack: usize,
    /// Concurrent publishers.
    #[arg(long, default_value_t = 4)]
    pub publishers: usize,
    /// The broker.
    #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
    pub mqtt_url: String,
    /// Directory for the benchmark database (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::format_err!("{e}")
}

/// One publisher's messages: (device index, SenML pack with the send time as base time).
fn pack(device: usize, pack: usize, seq: usize) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let mut out = String::with_capacity(pack * 24 + 48);
    out.push_str(&format!(
        "[{{\"bt\":{now:.6},\"bu\":\"ug/m3\",\"v\":{}}}",
        value(device, seq, 0)
    ));
    for i in 1..pack {
        out.push_str(&format!(",{{\"v\":{}}}", value(device, seq, i)));
    }
    out.push(']');
    out.into_bytes()
}

/// Mostly calm values with a rare spike (so the rules raise and clear now and then).
fn value(device: usize, seq: usize, i: usize) -> f64 {
    let x = (device * 7919 + seq * 104_729 + i * 31) % 10_007;
    if x == 0 {
        400.0
    } else {
        20.0 + (x % 50) as f64
    }
}

/// Messages the publishers may be ahead of the consumer: Mosquitto queues at most 1,000 QoS 1
/// messages per subscriber (`max_queued_messages`) and drops the rest, so the run is paced to
/// stay below that and measures the sustained rate.
const WINDOW: u64 = 400;

type Progress = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Publishes `messages` messages split over the publishers, never more than [`WINDOW`] ahead of
/// `consumed`; returns when the broker acknowledged all.
#[allow(clippy::too_many_arguments)]
async fn publish_all(
    host: &str,
    port: u16,
    topic_of: Arc<dyn Fn(usize) -> String + Send + Sync>,
    devices: usize,
    messages: usize,
    pack_size: usize,
    publishers: usize,
    consumed: Progress,
) -> anyhow::Result<()> {
    let mut tasks = Vec::new();
    for p in 0..publishers {
        let mine: Vec<usize> = (0..messages).filter(|m| m % publishers == p).collect();
        let mut options = MqttOptions::new(
            format!("urbis-bench-pub-{}-{p}", std::process::id()),
            host,
            port,
        );
        options
            .set_max_packet_size(1 << 22, 1 << 22)
            .set_inflight(1000);
        let (client, mut eventloop) = AsyncClient::new(options, 10_000);
        let topic_of = topic_of.clone();
        let consumed = consumed.clone();
        tasks.push(tokio::spawn(async move {
            let total = mine.len();
            let sender = tokio::spawn(async move {
                for m in mine {
                    while m as u64 >= consumed() + WINDOW {
                        tokio::time::sleep(Duration::from_micros(200)).await;
                    }
                    let device = m % devices;
                    client
                        .publish(
                            topic_of(device),
                            QoS::AtLeastOnce,
                            false,
                            pack(device, pack_size, m),
                        )
                        .await
                        .map_err(err)?;
                }
                Ok::<_, anyhow::Error>(client)
            });
            let mut acked = 0;
            while acked < total {
                if let Event::Incoming(Packet::PubAck(_)) = eventloop.poll().await.map_err(err)? {
                    acked += 1;
                }
            }
            let client = sender.await.map_err(err)??;
            let _ = client.try_disconnect();
            let _ = tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await;
            Ok::<_, anyhow::Error>(())
        }));
    }
    for task in tasks {
        task.await.map_err(err)??;
    }
    Ok(())
}

/// Mosquitto alone: a QoS 1 subscriber counting the same messages; returns the time to the last
/// message and how many arrived.
async fn raw_rate(
    args: &SensorsArgs,
    host: &str,
    port: u16,
    messages: usize,
) -> anyhow::Result<(Duration, usize)> {
    let prefix = format!("urbis-bench-raw/{}", std::process::id());
    let mut options = MqttOptions::new(
        format!("urbis-bench-sub-{}", std::process::id()),
        host,
        port,
    );
    options
        .set_max_packet_size(1 << 22, 1 << 22)
        .set_clean_session(true);
    let (client, mut eventloop) = AsyncClient::new(options, 1000);
    client
        .subscribe(format!("{prefix}/#"), QoS::AtLeastOnce)
        .await
        .map_err(err)?;
    loop {
        if let Event::Incoming(Packet::SubAck(_)) = eventloop.poll().await.map_err(err)? {
            break;
        }
    }
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let target = messages as u64;
    // Ends with the last message, or after 3 s without one (Mosquitto may drop what it cannot queue).
    let subscriber = tokio::spawn(async move {
        let mut last = Instant::now();
        while counter.load(Ordering::Relaxed) < target {
            match tokio::time::timeout(Duration::from_secs(3), eventloop.poll()).await {
                Ok(Ok(Event::Incoming(Packet::Publish(_)))) => {
                    counter.fetch_add(1, Ordering::Relaxed);
                    last = Instant::now();
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    eprintln!("raw subscriber: {e}");
                    break;
                }
                Err(_) => break,
            }
        }
        last
    });
    let started = Instant::now();
    let topic_prefix = prefix.clone();
    let seen = received.clone();
    publish_all(
        host,
        port,
        Arc::new(move |d| format!("{topic_prefix}/devices/d{d}/readings")),
        args.devices,
        messages,
        args.pack,
        args.publishers,
        Arc::new(move || seen.load(Ordering::Relaxed)),
    )
    .await?;
    let done = subscriber.await.map_err(err)?;
    Ok((done - started, received.load(Ordering::Relaxed) as usize))
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[idx.min(sorted.len() - 1)]) / 1000.0
}

/// Runs the benchmark and prints the comparison.
pub async fn run(args: SensorsArgs) -> anyhow::Result<ExitCode> {
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build; run `cargo run --release -p urbis-cli -- bench sensors` for real figures"
        );
    }
    let (host, port) = crate::sensors::parse_mqtt_url(&args.mqtt_url)?;
    let pack_size = args
        .pack
        .clamp(1, urbis_service::sensors::ingest::RECORDS_MAX);
    let messages = args.readings.div_ceil(pack_size).max(1);
    let readings = messages * pack_size;
    let devices = args.devices.clamp(1, 100_000);

    let tmp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_owned());
    std::fs::create_dir_all(&dir)?;
    let db_path = dir.join("bench-sensors.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
    }
    let db = crate::serve::open_db(&Location::Sqlite(db_path), Durability::Full).await?;
    let services = Services::start(
        db,
        ServiceConfig {
            argon2_memory_kib: 8 * 1024,
            ..ServiceConfig::default()
        },
    )
    .await
    .map_err(err)?;
    services
        .ensure_city_root("000000", "城市", None)
        .await
        .map_err(err)?;
    services
        .insert_user(&NewUser {
            username: "bench".into(),
            display_name: "bench".into(),
            password: "bench-password-1".into(),
            role: Role::Admin,
            area_id: None,
            dept_id: None,
        })
        .await
        .map_err(err)?;
    let admin = services.actor_by_username("bench").await.map_err(err)?;
    services
        .put_sensor_type(
            &admin,
            &TypeInput {
                code: "pm25".into(),
                name: "PM2.5".into(),
                unit: "ug/m3".into(),
                category_id: None,
                rules: RulesDoc {
                    high: Some(300.0),
                    hysteresis: 50.0,
                    band_low: Some(0.0),
                    band_high: Some(75.0),
                    band_count: 3,
                    max_rate_per_min: Some(1e9),
                    ..RulesDoc::default()
                },
            },
        )
        .await
        .map_err(err)?;
    let rows: Vec<DeviceInput> = (0..devices)
        .map(|d| DeviceInput {
            code: format!("d{d}"),
            type_code: "pm25".into(),
            name: format!("监测点{d}"),
            lat: 39.9 + (d % 100) as f64 * 0.001,
            lon: 116.3 + (d / 100) as f64 * 0.001,
            ..DeviceInput::default()
        })
        .collect();
    services.import_devices(&admin, &rows).await.map_err(err)?;

    println!(
        "{devices} devices, {messages} messages of {pack_size} readings ({readings} readings), {} publishers, QoS 1",
        args.publishers
    );
    // --- Mosquitto alone.
    let (raw, raw_received) = raw_rate(&args, &host, port, messages).await?;

    // --- Urbis: the subscriber with rules, durable commits.
    let prefix = format!("urbis-bench/{}", std::process::id());
    let client_id = format!("urbis-bench-{}", std::process::id());
    let mut config = MqttConfig::local(&client_id, &prefix);
    config.host = host.clone();
    config.port = port;
    let ingest = services.start_sensor_ingest(config).await.map_err(err)?;
    // The subscription is in place once a probe comes back as a dead letter.
    let probe_deadline = Instant::now() + Duration::from_secs(20);
    while services.sensor_counters().dead_letters == 0 {
        anyhow::ensure!(Instant::now() < probe_deadline, "Urbis did not subscribe");
        publish_all(
            &host,
            port,
            Arc::new({
                let prefix = prefix.clone();
                move |_| format!("{prefix}/devices/probe/readings")
            }),
            1,
            1,
            1,
            1,
            Arc::new(|| 0),
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let counters = services.sensor_counters();
    services.sensor_latency_recording(true);
    let started = Instant::now();
    let topic_prefix = prefix.clone();
    let progress = services.clone();
    publish_all(
        &host,
        port,
        Arc::new(move |d| format!("{topic_prefix}/devices/d{d}/readings")),
        devices,
        messages,
        pack_size,
        args.publishers,
        Arc::new(move || progress.sensor_counters().messages - counters.messages),
    )
    .await?;
    let published = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(600);
    while services.sensor_counters().readings < counters.readings + readings as u64 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "Urbis did not store every reading in time"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stored = started.elapsed();
    let after = services.sensor_counters();
    let mut latencies = services.sensor_latency_samples();
    latencies.sort_unstable();
    ingest.stop().await;
    let in_store = services.count_sensor_readings().await.map_err(err)?;
    services.db().close().await;
    // Leave no session behind.
    let mut options = MqttOptions::new(&client_id, &host, port);
    options.set_clean_session(true);
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        if let Ok(Event::Incoming(Packet::ConnAck(_))) = eventloop.poll().await {
            let _ = client.try_disconnect();
            let _ = eventloop.poll().await;
        }
    })
    .await;

    let rate = |d: Duration| readings as f64 / d.as_secs_f64();
    println!();
    println!("{:<44} {:>14} {:>12}", "", "readings/s", "messages/s");
    println!(
        "{:<44} {:>14.0} {:>12.0}",
        "Mosquitto pub → sub (QoS 1, no store)",
        (raw_received * pack_size) as f64 / raw.as_secs_f64(),
        raw_received as f64 / raw.as_secs_f64()
    );
    println!(
        "{:<44} {:>14.0} {:>12.0}",
        "Urbis: stored, rules on, durable commits",
        rate(stored),
        messages as f64 / stored.as_secs_f64()
    );
    if raw_received < messages {
        println!(
            "(the raw subscriber got {raw_received} of {messages} messages: Mosquitto dropped the rest)"
        );
    }
    println!();
    println!(
        "publish-to-stored latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples)",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
        latencies.len()
    );
    println!(
        "batches {} (mean {:.0} readings), alarms raised {}, dead letters {}, publishing took {:.2} s, rows in store {in_store}",
        after.batches - counters.batches,
        (after.readings - counters.readings) as f64
            / (after.batches - counters.batches).max(1) as f64,
        after.alarms - counters.alarms,
        after.dead_letters - counters.dead_letters,
        published.as_secs_f64(),
    );
    Ok(ExitCode::SUCCESS)
}
