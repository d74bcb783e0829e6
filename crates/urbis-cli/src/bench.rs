//! `urbis bench intake`: appeals through HTTP with many concurrent clients and durable (fsync'd)
//! group commits, measured in the same run beside two bare SQLite limits for the same rows: one
//! fsync'd commit per row, and one commit per large batch.

mod city;
pub mod cluster;
pub mod dashboard;
pub mod sandbox;
pub mod scale;
pub mod sensors;
mod writer;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use sqlx::Connection;
use urbis_domain::role::Role;
use urbis_service::auth::NewUser;
use urbis_service::store::{Durability, Location};
use urbis_service::{ServiceConfig, Services};

/// Options of `urbis bench intake`.
#[derive(Args)]
pub struct IntakeArgs {
    /// Appeals to send (after a warm-up of 500).
    #[arg(long, default_value_t = 20_000)]
    pub appeals: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Rows for the one-commit-per-row limit (it runs at disk-sync speed).
    #[arg(long, default_value_t = 1_000)]
    pub per_row_rows: usize,
    /// Run intake with the text classifier on (the demo model suggests a category for every appeal).
    #[arg(long)]
    pub with_classifier: bool,
    /// Run in the demo city (areas, taxonomy, responsibility list): every appeal is located in a unit
    /// grid and tells one of the city's problems, about a quarter of them one already open, so the
    /// repeat check works on every appeal. Runs the repeat model and the earlier MinHash rule side by side.
    #[arg(long)]
    pub city: bool,
    /// With --city: how many times each rule runs. Each round runs the three rules in another
    /// order (so none always runs first, on a cold machine) and the table shows each rule's median
    /// rate; the ratios are the medians of the ratios within a round.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Directory for the benchmark databases (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
    /// Benchmark on PostgreSQL: this database is dropped and made anew for Urbis, and the bare
    /// limits run in a second one beside it (NAME_bare). Default: SQLite files in --dir.
    #[arg(long)]
    pub db: Option<Location>,
}

const TEXTS: [&str; 4] = [
    "幸福路与建设大街交叉口的井盖缺失，晚上非常危险，请尽快处理。",
    "阳光小区门口每天晚上都有摊贩占道经营，油烟很大，道路堵塞。",
    "滨江路一整排路灯晚上都不亮，居民出行很不安全，希望尽快维修。",
    "人民公园旁的工地夜间施工噪音太大，严重影响附近居民休息。",
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// The part of the intake answer the load reads: which case the appeal went to.
#[derive(serde::Deserialize)]
struct Accepted {
    case_id: i64,
}

/// An Urbis server on a loopback port and a logged-in HTTP client pool that posts appeals to it.
pub(crate) struct Driver {
    http: reqwest::Client,
    base: String,
    token: String,
    clients: usize,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// What one load run measured.
pub(crate) struct Load {
    /// Latencies of the acknowledged appeals, sorted.
    pub latencies: Vec<Duration>,
    pub failures: usize,
    pub elapsed: Duration,
    /// The case each body's appeal went to (its own or the one it joined), by body index; `None`
    /// when the request failed.
    pub case_ids: Vec<Option<i64>>,
}

impl Load {
    /// Acknowledged appeals per second.
    pub fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The p-th latency percentile in milliseconds.
    pub fn ms(&self, p: f64) -> f64 {
        percentile(&self.latencies, p).as_secs_f64() * 1e3
    }
}

impl Driver {
    /// Serves `services` on a loopback port and logs in as `username`.
    pub(crate) async fn start(
        services: &Services,
        username: &str,
        password: &str,
        clients: usize,
    ) -> anyhow::Result<Driver> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = urbis_http::AppState {
            services: services.clone(),
            metrics: None,
        };
        let server =
            tokio::spawn(async move { axum::serve(listener, urbis_http::app(state)).await });
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(clients)
            .build()?;
        let base = format!("http://{addr}");
        let login: serde_json::Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({ "username": username, "password": password }))
            .send()
            .await?
            .json()
            .await?;
        let token = login["token"].as_str().context("login failed")?.to_owned();
        Ok(Driver {
            http,
            base,
            token,
            clients,
            server,
        })
    }

    /// Posts every body (keyed `bench-{offset + i}`) from the client pool; returns what it measured.
    pub(crate) async fn run(&self, bodies: Arc<Vec<serde_json::Value>>, offset: usize) -> Load {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..self.clients {
            let (http, base, token, next, bodies) = (
                self.http.clone(),
                self.base.clone(),
                self.token.clone(),
                next.clone(),
                bodies.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = 0usize;
                let mut case_ids = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else {
                        break;
                    };
                    let sent = Instant::now();
                    let res = http
                        .post(format!("{base}/api/v1/appeals"))
                        .bearer_auth(&token)
                        .header("Idempotency-Key", format!("bench-{}", offset + i))
                        .json(body)
                        .send()
                        .await;
                    let accepted = match res {
                        Ok(r) if r.status().as_u16() == 201 => r.json::<Accepted>().await.ok(),
                        _ => None,
                    };
                    match accepted {
                        Some(a) => {
                            latencies.push(sent.elapsed());
                            case_ids.push((i, a.case_id));
                        }
                        None => failures += 1,
                    }
                }
                (latencies, failures, case_ids)
            }));
        }
        let mut latencies = Vec::new();
        let mut failures = 0;
        let mut case_ids = vec![None; bodies.len()];
        for task in tasks {
            let (part, failed, cases) = task.await.unwrap_or_default();
            latencies.extend(part);
            failures += failed;
            for (i, case_id) in cases {
                case_ids[i] = Some(case_id);
            }
        }
        let elapsed = started.elapsed();
        latencies.sort();
        Load {
            latencies,
            failures,
            elapsed,
            case_ids,
        }
    }

    /// Stops serving.
    pub(crate) fn stop(self) {
        self.server.abort();
    }
}

/// Runs the benchmark and prints the comparison.
pub async fn intake(args: IntakeArgs) -> anyhow::Result<ExitCode> {
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build; run `cargo run --release -p urbis-cli -- bench intake` for real figures"
        );
    }
    let tmp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_owned());
    std::fs::create_dir_all(&dir)?;
    if args.city {
        return city::run(&args, &dir).await;
    }
    let n = args.appeals.max(1);
    let clients = args.clients.clamp(1, 1024);

    // --- Urbis over HTTP, durable group commit.
    let location = bench_location(&args, &dir, "bench-urbis.sqlite").await?;
    let db = crate::serve::open_db(&location, Durability::Full).await?;
    let config = ServiceConfig {
        argon2_memory_kib: 8 * 1024,
        ..ServiceConfig::default()
    };
    let services = Services::start(db, config)
        .await
        .map_err(|e| anyhow::format_err!("{e}"))?;
    services
        .ensure_city_root("000000", "城市", None)
        .await
        .map_err(|e| anyhow::format_err!("{e}"))?;
    let password = "bench-password-1";
    services
        .insert_user(&NewUser {
            username: "bench".into(),
            display_name: "bench".into(),
            password: password.into(),
            role: Role::Operator,
            area_id: None,
            dept_id: None,
        })
        .await
        .map_err(|e| anyhow::format_err!("{e}"))?;
    if args.with_classifier {
        services
            .set_classifier(urbis_text::demo::demo_model())
            .await
            .map_err(|e| anyhow::format_err!("{e}"))?;
    }
    let driver = Driver::start(&services, "bench", password, clients).await?;
    let bodies = |count: usize| {
        let bodies: Vec<serde_json::Value> = (0..count)
            .map(|i| {
                serde_json::json!({
                    "channel": "hotline", "text": TEXTS[i % TEXTS.len()], "title": "市民来电",
                    "reporter_name": "张先生", "reporter_phone": "13900001111", "address": "幸福路12号",
                })
            })
            .collect();
        Arc::new(bodies)
    };
    driver.run(bodies(500), 10_000_000).await;
    let load = driver.run(bodies(n), 0).await;
    let stored: i64 = urbis_storage::sql::query("SELECT COUNT(*) FROM appeals")
        .scalar(&mut services.db().read().await?)
        .await?;
    driver.stop();
    services.db().close().await;
    let urbis_rate = load.rate();

    // --- Bare limits of the same store with the same rows.
    let (per_row_rate, batch_rate, store) = match &location {
        Location::Postgres(url) => {
            let (per_row, batch) = bare_postgres(url, args.per_row_rows.max(10), n).await?;
            (per_row, batch, "PostgreSQL")
        }
        Location::Sqlite(_) => {
            let (per_row, batch) = bare_sqlite(&dir, args.per_row_rows.max(10), n).await?;
            (per_row, batch, "SQLite")
        }
    };

    println!(
        "urbis bench intake on {store} — {n} appeals, {clients} concurrent HTTP clients, durable commits (fsync'd)"
    );
    println!(
        "{:<52} {:>12} {:>10} {:>10}",
        "", "rows/s", "p50 ms", "p99 ms"
    );
    println!(
        "{:<52} {:>12.0} {:>10.2} {:>10.2}",
        "Urbis: HTTP + auth + intake + audit + stats",
        urbis_rate,
        load.ms(0.50),
        load.ms(0.99)
    );
    println!(
        "{:<52} {:>12.0}",
        format!("bare {store}: one fsync'd commit per row"),
        per_row_rate
    );
    println!(
        "{:<52} {:>12.0}",
        format!("bare {store}: one commit for the whole batch"),
        batch_rate
    );
    println!(
        "ratio Urbis / per-row commit: {:.1}x",
        urbis_rate / per_row_rate
    );
    println!(
        "ratio Urbis / one big batch:  {:.3}x",
        urbis_rate / batch_rate
    );
    let failures = load.failures;
    println!(
        "stored appeals: {stored} (expected {}), failed requests: {failures}",
        n + 500
    );
    Ok(if failures == 0 && stored as usize == n + 500 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Where the benchmark's Urbis store goes: the `--db` PostgreSQL database (made anew) or a fresh
/// SQLite file `file` in `dir`.
pub(crate) async fn bench_location(
    args: &IntakeArgs,
    dir: &std::path::Path,
    file: &str,
) -> anyhow::Result<Location> {
    Ok(match &args.db {
        Some(Location::Postgres(url)) => {
            urbis_service::store::recreate_database(url)
                .await
                .map_err(|err| anyhow::format_err!("cannot prepare {url}: {err}"))?;
            Location::Postgres(url.clone())
        }
        Some(Location::Sqlite(path)) => {
            anyhow::bail!(
                "--db takes a PostgreSQL URL; SQLite runs in --dir (got {})",
                path.display()
            )
        }
        None => {
            let db_path = dir.join(file);
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
            }
            Location::Sqlite(db_path)
        }
    })
}

async fn bare_sqlite(
    dir: &std::path::Path,
    per_row_rows: usize,
    batch_rows: usize,
) -> anyhow::Result<(f64, f64)> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let path = dir.join("bench-bare.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    sqlx::query(
        "CREATE TABLE appeals (id INTEGER PRIMARY KEY, number TEXT, state TEXT, channel TEXT, title TEXT, text TEXT,
         address TEXT, reporter_name TEXT, reporter_phone TEXT, idempotency_key TEXT UNIQUE, created_at TEXT)",
    )
    .execute(&mut conn)
    .await?;
    let started = Instant::now();
    for i in 0..per_row_rows {
        insert_bare(&mut conn, i).await?;
    }
    let per_row = per_row_rows as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut tx = conn.begin().await?;
    for i in 0..batch_rows {
        insert_bare(&mut tx, per_row_rows + i).await?;
    }
    tx.commit().await?;
    let batch = batch_rows as f64 / started.elapsed().as_secs_f64();
    Ok((per_row, batch))
}

async fn insert_bare(conn: &mut sqlx::SqliteConnection, i: usize) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO appeals (number, state, channel, title, text, address, reporter_name, reporter_phone, idempotency_key, created_at)
         VALUES (?, 'received', 'hotline', '市民来电', ?, '幸福路12号', '张先生', '13900001111', ?, ?)",
    )
    .bind(format!("20261123{i:07}"))
    .bind(TEXTS[i % TEXTS.len()])
    .bind(format!("bare-{i}"))
    .bind("2026-11-23T10:00:00.000000Z")
    .execute(conn)
    .await?;
    Ok(())
}

/// The bare PostgreSQL limits, in a database of their own beside the benchmark's (NAME_bare).
async fn bare_postgres(
    url: &str,
    per_row_rows: usize,
    batch_rows: usize,
) -> anyhow::Result<(f64, f64)> {
    let base = url.split('?').next().unwrap_or(url);
    let bare = format!("{base}_bare");
    urbis_service::store::recreate_database(&bare)
        .await
        .map_err(|err| anyhow::format_err!("cannot prepare {bare}: {err}"))?;
    let mut conn = sqlx::PgConnection::connect(&bare).await?;
    sqlx::query(
        "CREATE TABLE appeals (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, number TEXT, state TEXT,
         channel TEXT, title TEXT, text TEXT, address TEXT, reporter_name TEXT, reporter_phone TEXT,
         idempotency_key TEXT UNIQUE, created_at TIMESTAMPTZ)",
    )
    .execute(&mut conn)
    .await?;
    let started = Instant::now();
    for i in 0..per_row_rows {
        insert_bare_pg(&mut conn, i).await?;
    }
    let per_row = per_row_rows as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut tx = conn.begin().await?;
    for i in 0..batch_rows {
        insert_bare_pg(&mut tx, per_row_rows + i).await?;
    }
    tx.commit().await?;
    let batch = batch_rows as f64 / started.elapsed().as_secs_f64();
    conn.close().await?;
    Ok((per_row, batch))
}

async fn insert_bare_pg(conn: &mut sqlx::PgConnection, i: usize) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO appeals (number, state, channel, title, text, address, reporter_name, reporter_phone, idempotency_key, created_at)
         VALUES ($1, 'received', 'hotline', '市民来电', $2, '幸福路12号', '张先生', '13900001111', $3, now())",
    )
    .bind(format!("20261123{i:07}"))
    .bind(TEXTS[i % TEXTS.len()])
    .bind(format!("bare-{i}"))
    .execute(conn)
    .await?;
    Ok(())
}
