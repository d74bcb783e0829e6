//! `urbis bench cluster --nodes 1,2,3`: appeals/s filed through every node of a local cluster
//! (child `urbis serve` processes on one PostgreSQL database and NATS JetStream), and the relay's
//! lag — from an audit record's commit time to a subscriber of the stream receiving it — at p50
//! and p99; printed beside one node without a broker, measured in the same run on the same
//! machine. Each row starts from a new database.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;
use urbis_domain::role::Role;
use urbis_service::auth::NewUser;
use urbis_service::store::{Db, DbOptions, Location};
use urbis_service::{ServiceConfig, Services};

/// Options of `urbis bench cluster`.
#[derive(Args)]
pub struct ClusterBenchArgs {
    /// Cluster sizes to measure, in nodes.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    pub nodes: Vec<usize>,
    /// Seconds of load per row.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent clients, spread over the nodes.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// The PostgreSQL server (the benchmark makes its own databases on it).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pub postgres: String,
    /// NATS with JetStream.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
}

const PASSWORD: &str = "bench-cluster-password";

struct Node {
    child: Child,
    base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(6) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_node(db: &str, broker: Option<(&str, &str)>, id: usize) -> anyhow::Result<Node> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--db", db])
        .env("URBIS_LOG", "error")
        .env("URBIS_ADMIN_PASSWORD", PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some((nats, city)) = broker {
        command.args(["--nats-url", nats, "--city", city, "--node-id"]);
        command.arg(format!("bench{id}"));
    }
    let mut child = command.spawn()?;
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    for line in lines.by_ref() {
        let line = line?;
        if let Some(addr) = line.strip_prefix("listening on ") {
            let base = addr.trim().to_owned();
            std::thread::spawn(move || for _ in lines {});
            return Ok(Node { child, base });
        }
    }
    let _ = child.kill();
    anyhow::bail!("urbis serve ended before listening")
}

struct Row {
    label: String,
    appeals: u64,
    seconds: f64,
    lag_ms: Option<(f64, f64, usize)>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn prepare(url: &str) -> anyhow::Result<()> {
    urbis_service::store::recreate_database(url)
        .await
        .map_err(|e| anyhow::format_err!("{e}"))?;
    let db = Db::open(&DbOptions::writer(Location::parse(url)))
        .await
        .map_err(|e| anyhow::format_err!("{e}"))?;
    let services = Services::start(db.clone(), ServiceConfig::default())
        .await
        .map_err(|e| anyhow::format_err!("{e}"))?;
    services
        .ensure_city_root("000000", "城市", None)
        .await
        .map_err(|e| anyhow::format_err!("{e}"))?;
    for (username, role) in [("admin", Role::Admin), ("operator", Role::Operator)] {
        services
            .insert_user(&NewUser {
                username: username.into(),
                display_name: username.into(),
                password: PASSWORD.into(),
                role,
                area_id: None,
                dept_id: None,
            })
            .await
            .map_err(|e| anyhow::format_err!("{e}"))?;
    }
    db.close().await;
    Ok(())
}

async fn login(http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let body: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "operator", "password": PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    body["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::format_err!("login failed: {body}"))
}

async fn measure(args: &ClusterBenchArgs, n: usize, broker: bool) -> anyhow::Result<Row> {
    let stamp = chrono::Utc::now().timestamp_millis();
    let url = format!(
        "{}/urbis_bench_cluster_{n}{}",
        args.postgres,
        if broker { "" } else { "_plain" }
    );
    prepare(&url).await?;
    let city = format!("bench{stamp}");
    let mut nodes = Vec::new();
    for k in 1..=n {
        let broker = broker.then_some((args.nats_url.as_str(), city.as_str()));
        nodes.push(spawn_node(&url, broker, k)?);
    }
    let http = reqwest::Client::new();
    let mut targets = Vec::new();
    for node in &nodes {
        targets.push((node.base.clone(), login(&http, &node.base).await?));
    }
    // A subscriber of the stream, timing each record from its commit to its arrival.
    let lags = Arc::new(std::sync::Mutex::new(Vec::<f64>::new()));
    let last_seen = Arc::new(AtomicU64::new(0));
    let subscriber = if broker {
        let client = async_nats::connect(args.nats_url.as_str()).await?;
        let jetstream = async_nats::jetstream::new(client);
        let name = urbis_service::cluster::stream_name(&city);
        let started = Instant::now();
        let stream = loop {
            match jetstream.get_stream(&name).await {
                Ok(stream) => break stream,
                Err(_) if started.elapsed() < Duration::from_secs(20) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => anyhow::bail!("stream {name}: {err}"),
            }
        };
        let consumer = stream
            .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig {
                deliver_policy: async_nats::jetstream::consumer::DeliverPolicy::New,
                ..Default::default()
            })
            .await
            .map_err(|e| anyhow::format_err!("{e}"))?;
        let mut messages = consumer
            .messages()
            .await
            .map_err(|e| anyhow::format_err!("{e}"))?;
        let lags = lags.clone();
        let last_seen = last_seen.clone();
        Some(tokio::spawn(async move {
            while let Some(Ok(message)) = messages.next().await {
                let Ok(record) = serde_json::from_slice::<serde_json::Value>(&message.payload)
                else {
                    continue;
                };
                let at = record["at"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
                if let Some(at) = at {
                    let lag = (chrono::Utc::now() - at.with_timezone(&chrono::Utc))
                        .num_microseconds()
                        .unwrap_or(0) as f64
                        / 1000.0;
                    if let Ok(mut lags) = lags.lock() {
                        lags.push(lag);
                    }
                }
                if let Some(seq) = record["seq"].as_u64() {
                    last_seen.fetch_max(seq, Ordering::SeqCst);
                }
            }
        }))
    } else {
        None
    };

    let targets = Arc::new(targets);
    let filed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let mut clients = Vec::new();
    for client_idx in 0..args.clients {
        let targets = targets.clone();
        let filed = filed.clone();
        let http = http.clone();
        clients.push(tokio::spawn(async move {
            let mut i = 0usize;
            while Instant::now() < deadline {
                let (base, token) = &targets[(client_idx + i) % targets.len()];
                let response = http
                    .post(format!("{base}/api/v1/appeals"))
                    .bearer_auth(token)
                    .header("Idempotency-Key", format!("b{client_idx}-{i}"))
                    .json(&serde_json::json!({
                        "channel": "api",
                        "text": format!("压测诉求{client_idx}-{i}：第{}号路灯不亮", client_idx * 100_000 + i),
                    }))
                    .send()
                    .await;
                if response.is_ok_and(|r| r.status().is_success()) {
                    filed.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
        }));
    }
    for client in clients {
        let _ = client.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let lag_ms = if let Some(subscriber) = subscriber {
        // Wait for the relay to catch up with the log (it may trail the load).
        let db = Db::open(&DbOptions {
            access: urbis_service::store::Access::ReadOnly,
            read_connections: 1,
            ..DbOptions::writer(Location::parse(&url))
        })
        .await
        .map_err(|e| anyhow::format_err!("{e}"))?;
        let head = urbis_service::cluster::audit_head(&db)
            .await
            .map_err(|e| anyhow::format_err!("{e}"))?;
        db.close().await;
        let waiting = Instant::now();
        while (last_seen.load(Ordering::SeqCst) as i64) < head
            && waiting.elapsed() < Duration::from_secs(60)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        subscriber.abort();
        let mut lags = lags.lock().map(|l| l.clone()).unwrap_or_default();
        lags.sort_by(f64::total_cmp);
        Some((percentile(&lags, 0.5), percentile(&lags, 0.99), lags.len()))
    } else {
        None
    };
    drop(nodes);
    if broker && let Ok(client) = async_nats::connect(args.nats_url.as_str()).await {
        let _ = async_nats::jetstream::new(client)
            .delete_stream(urbis_service::cluster::stream_name(&city))
            .await;
    }
    Ok(Row {
        label: if broker {
            format!("{n} node{} + NATS", if n == 1 { "" } else { "s" })
        } else {
            "1 node, no broker".to_owned()
        },
        appeals: filed.load(Ordering::Relaxed),
        seconds,
        lag_ms,
    })
}

/// Runs the benchmark and prints one row per cluster size.
pub async fn run(args: ClusterBenchArgs) -> anyhow::Result<ExitCode> {
    if args.nodes.is_empty() || args.nodes.iter().any(|n| *n == 0 || *n > 16) {
        anyhow::bail!("--nodes takes sizes from 1 to 16, e.g. 1,2,3");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "urbis bench cluster: {} s of appeals from {} clients per row, PostgreSQL {}, NATS {}, {cores} cores",
        args.seconds, args.clients, args.postgres, args.nats_url
    );
    let mut rows = vec![measure(&args, 1, false).await?];
    for n in &args.nodes {
        rows.push(measure(&args, *n, true).await?);
    }
    println!(
        "{:<20} {:>10} {:>12} {:>14} {:>14} {:>10}",
        "layout", "appeals", "appeals/s", "relay lag p50", "relay lag p99", "records"
    );
    for row in &rows {
        let (p50, p99, n) = match row.lag_ms {
            Some((p50, p99, n)) => (
                format!("{p50:.1} ms"),
                format!("{p99:.1} ms"),
                n.to_string(),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<20} {:>10} {:>12.0} {:>14} {:>14} {:>10}",
            row.label,
            row.appeals,
            row.appeals as f64 / row.seconds,
            p50,
            p99,
            n
        );
    }
    Ok(ExitCode::SUCCESS)
}
