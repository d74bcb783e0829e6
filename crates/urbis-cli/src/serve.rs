//! `urbis serve`, `urbis audit verify` and `urbis backup`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use urbis_domain::audit::ChainBreak;
use urbis_domain::role::Role;
use urbis_service::auth::NewUser;
use urbis_service::store::{Access, Backend, Db, DbOptions, Durability, Location};
use urbis_service::{ServiceConfig, Services};

use crate::DbArgs;

/// Options of `urbis serve`.
#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// TOML configuration file (the flags' names as keys; flags and environment variables win).
    #[arg(long, env = "URBIS_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    /// Skip the integrity check at start (`PRAGMA quick_check` reads the whole file: minutes for
    /// millions of cases). Run `urbis audit verify` instead, e.g. after an unclean shutdown.
    #[arg(long, env = "URBIS_SKIP_INTEGRITY_CHECK")]
    pub skip_integrity_check: bool,
    /// The city's time zone (IANA name): report days, office hours and deadlines are local to it.
    #[arg(long, env = "URBIS_TIME_ZONE", default_value = "Asia/Shanghai")]
    pub time_zone: String,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "URBIS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Commit with synchronous=NORMAL: survives a process crash, may lose the last commits on a
    /// power cut. Not the default.
    #[arg(long, env = "URBIS_RELAXED_DURABILITY")]
    pub relaxed: bool,
    /// Seconds between SLA worker rounds.
    #[arg(long, env = "URBIS_SLA_INTERVAL_SECS", default_value_t = 30)]
    pub sla_interval_secs: u64,
    /// Text classifier model written by `urbis train`; without it appeals keep the category they came with.
    #[arg(long, env = "URBIS_MODEL")]
    pub model: Option<std::path::PathBuf>,
    /// Public base URL of this server (e.g. https://311.city.example), used in Open311 discovery
    /// and media URLs; defaults to http://LISTEN.
    #[arg(long, env = "URBIS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Password for the `admin` account created on an empty database (else one is generated and printed).
    #[arg(long, env = "URBIS_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// The city's SMS gateway: outbox messages on channel `sms` are POSTed there as JSON
    /// (without it they go to the local sink, `GET /api/v1/notify/sink`).
    #[arg(long, env = "URBIS_SMS_WEBHOOK")]
    pub sms_webhook: Option<String>,
    /// The city's e-mail gateway for channel `email` (else the local sink).
    #[arg(long, env = "URBIS_EMAIL_WEBHOOK")]
    pub email_webhook: Option<String>,
    /// The city's WeChat template-message gateway for channel `wechat` (else the local sink).
    #[arg(long, env = "URBIS_WECHAT_WEBHOOK")]
    pub wechat_webhook: Option<String>,
    #[command(flatten)]
    pub mqtt: crate::sensors::MqttArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Options of a cluster node (several `urbis serve` on one PostgreSQL database).
#[derive(Args, Clone)]
pub struct ClusterArgs {
    /// NATS server with JetStream (e.g. nats://127.0.0.1:4222): join the cluster of the nodes on
    /// this store. The audit log is published to it, the live feed, session ends and imports are
    /// heard from it, and the SLA worker and the relay run under leases.
    #[arg(long, env = "URBIS_NATS_URL")]
    pub nats_url: Option<String>,
    /// This node's name in logs, metrics and leases (default: the host name and the port).
    #[arg(long, env = "URBIS_NODE_ID")]
    pub node_id: Option<String>,
    /// The city's short name in subjects (`urbis.<city>.<entity>.<action>`) and in the stream
    /// `URBIS_<CITY>`: a-z, 0-9, _ and -, at most 32.
    #[arg(long, env = "URBIS_CITY", default_value = "city")]
    pub city: String,
}

/// This node's id: `--node-id`, else the host name and the listening port.
pub fn node_id(args: &ServeArgs) -> String {
    args.cluster.node_id.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        format!("{}-{}", host.trim(), args.listen.port())
    })
}

/// Opens the store as its one writer with the chosen durability (a second writer, a damaged
/// file and a store that cannot take a write are refused with a message saying why).
pub async fn open_db(location: &Location, durability: Durability) -> anyhow::Result<Db> {
    open_db_checked(location, durability, true).await
}

/// [`open_db`], with the integrity check at start on or off.
pub async fn open_db_checked(
    location: &Location,
    durability: Durability,
    check: bool,
) -> anyhow::Result<Db> {
    Db::open(&DbOptions {
        durability,
        check,
        ..DbOptions::writer(location)
    })
    .await
    .map_err(|err| anyhow::format_err!("cannot open {location}: {err}"))
}

/// Opens the store for a one-shot tool (imports): it writes beside a running server, each write
/// waiting for SQLite's write lock, without taking the lock file.
pub async fn open_db_for_tool(location: &Location) -> anyhow::Result<Db> {
    Db::open(&DbOptions {
        lock: false,
        ..DbOptions::writer(location)
    })
    .await
    .map_err(|err| anyhow::format_err!("cannot open {location}: {err}"))
}

/// Opens the store to read beside a running writer (no lock, no migration, no write).
pub async fn open_db_read_only(location: &Location) -> anyhow::Result<Db> {
    Db::open(&DbOptions {
        access: Access::ReadOnly,
        read_connections: 2,
        ..DbOptions::writer(location)
    })
    .await
    .map_err(|err| anyhow::format_err!("cannot open {location}: {err}"))
}

/// How long a stop may take: open live feeds end at once, requests in flight (and the appeals
/// they wait for) get this long to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

/// Creates the city root and an admin on an empty database; returns the admin password if one was made.
async fn bootstrap(
    services: &Services,
    admin_password: Option<String>,
) -> anyhow::Result<Option<String>> {
    services.ensure_city_root("000000", "城市", None).await?;
    if services.user_count().await? > 0 {
        return Ok(None);
    }
    let password = admin_password.unwrap_or_else(|| {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        (0..16)
            .map(|_| rng.sample(rand::distributions::Alphanumeric) as char)
            .collect()
    });
    services
        .insert_user(&NewUser {
            username: "admin".into(),
            display_name: "系统管理员".into(),
            password: password.clone(),
            role: Role::Admin,
            area_id: None,
            dept_id: None,
        })
        .await
        .map_err(|err| anyhow::format_err!("failed to create the admin: {err}"))?;
    Ok(Some(password))
}

/// Checks `--public-url` (http or https, no query, at most 200 characters) or derives it from
/// the listen address.
pub fn public_url(given: Option<&str>, listen: SocketAddr) -> anyhow::Result<String> {
    let Some(url) = given.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(format!("http://{listen}"));
    };
    let url = url.trim_end_matches('/');
    let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
    if !scheme_ok || url.len() > 200 || url.contains(['?', '#', ' ']) {
        anyhow::bail!("--public-url must be an http(s) URL without query, at most 200 characters");
    }
    Ok(url.to_owned())
}

/// Writes a generated admin password beside the database, readable by its owner only, so that it
/// never reaches logs that capture stdout.
fn write_admin_password(db: &Path, password: &str) -> anyhow::Result<std::path::PathBuf> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".admin-password");
    let path = db.with_file_name(name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("failed to write {}", path.display()))?;
    // An older file keeps its mode on open: narrow it before writing.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    writeln!(file, "{password}")?;
    Ok(path)
}

/// The notification adapters: each channel with a webhook posts there, the others go to the sink.
fn resident_config(args: &ServeArgs) -> anyhow::Result<urbis_service::residents::ResidentConfig> {
    use urbis_service::residents::{Adapter, ResidentConfig};
    let mut config = ResidentConfig::default();
    for (channel, url) in [
        ("sms", &args.sms_webhook),
        ("email", &args.email_webhook),
        ("wechat", &args.wechat_webhook),
    ] {
        if let Some(url) = url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                anyhow::bail!("the {channel} webhook must be an http(s) URL");
            }
            config
                .adapters
                .insert(channel.to_owned(), Adapter::Webhook { url: url.clone() });
        }
    }
    Ok(config)
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let durability = if args.relaxed {
        Durability::Relaxed
    } else {
        Durability::Full
    };
    let time_zone = crate::config::time_zone(&args.time_zone)?;
    let node_id = node_id(&args);
    let db = open_db_checked(&args.db.db, durability, !args.skip_integrity_check).await?;
    let config = ServiceConfig {
        time_zone,
        sla_interval: Duration::from_secs(args.sla_interval_secs.max(1)),
        public_url: public_url(args.public_url.as_deref(), args.listen)?,
        residents: resident_config(&args)?,
        ..ServiceConfig::default()
    };
    let services = Services::start(db, config)
        .await
        .map_err(|err| anyhow::format_err!("failed to start services: {err}"))?;
    let generated = args.admin_password.is_none();
    if let Some(password) = bootstrap(&services, args.admin_password).await? {
        if generated {
            // Beside a SQLite file; for a PostgreSQL store, in the working directory.
            let beside = args
                .db
                .db
                .file()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| std::path::PathBuf::from("urbis"));
            let path = write_admin_password(&beside, &password)?;
            println!(
                "created user admin; its generated password is in {} (readable by this user only)",
                path.display()
            );
        } else {
            println!("created user admin with the given password");
        }
    }
    if let Some(path) = &args.model {
        let bytes = std::fs::read(path)
            .with_context(|| format!("failed to read model {}", path.display()))?;
        let model = urbis_text::classifier::Model::from_bytes(&bytes)
            .map_err(|err| anyhow::format_err!("model {}: {err}", path.display()))?;
        let matched = services
            .set_classifier(model)
            .await
            .map_err(|err| anyhow::format_err!("{err}"))?;
        println!(
            "classifier loaded from {}: {matched} labels match categories",
            path.display()
        );
    }
    if let Some(nats_url) = &args.cluster.nats_url {
        services
            .join_cluster(urbis_service::cluster::ClusterOptions {
                nats_url: nats_url.clone(),
                node_id: node_id.clone(),
                city: args.cluster.city.clone(),
            })
            .await
            .map_err(|err| anyhow::format_err!("cannot join the cluster at {nats_url}: {err}"))?;
        println!(
            "node {node_id} joined the cluster at {nats_url} (city {})",
            args.cluster.city
        );
    }
    let ingest = crate::sensors::start(&services, &args.mqtt).await?;
    serve_with(services, args.listen, None, ingest).await?;
    Ok(ExitCode::SUCCESS)
}

/// Serves `services` on `listen` with the SLA worker, printing the address, until shutdown.
pub async fn serve(
    services: Services,
    listen: SocketAddr,
    banner: Option<String>,
) -> anyhow::Result<()> {
    serve_with(services, listen, banner, None).await
}

/// [`serve`] with the sensor subscriber, which stops (after its batch) before the store closes.
pub async fn serve_with(
    services: Services,
    listen: SocketAddr,
    banner: Option<String>,
    ingest: Option<urbis_service::sensors::mqtt::SensorIngest>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("failed to listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    // Notifications leave through the outbox worker (it ends when the services stop); its
    // claims are leases in the store, so every node may run one.
    let outbox = urbis_http::spawn_outbox_worker(services.clone(), Duration::from_secs(2));
    // NGSI-LD subscriptions are notified of what the sensor subscriber stores.
    let notifier = ingest
        .is_some()
        .then(|| urbis_http::spawn_ngsild_notifier(services.clone()));
    let state = urbis_http::AppState {
        services: services.clone(),
        metrics: urbis_http::metrics_handle(),
    };
    // The SLA worker; on a cluster node also the listener and the relay, under leases (after
    // the metrics recorder is installed, so their series start at zero).
    let workers = services.spawn_workers(stopped);
    if let Some(banner) = banner {
        println!("{banner}");
    }
    println!("listening on http://{addr}");
    std::io::stdout().flush().ok();
    let shutdown = {
        let services = services.clone();
        async move {
            shutdown_signal().await;
            tracing::info!("stopping: live feeds end, requests in flight finish");
            services.begin_shutdown();
        }
    };
    // Waits at most `urbis_http::server::SHUTDOWN_GRACE` for requests in flight (and the appeals
    // they wait for) once the signal came.
    urbis_http::serve(listener, urbis_http::app(state), shutdown)
        .await
        .context("server failed")?;
    let _ = stop.send(true);
    match tokio::time::timeout(SHUTDOWN_GRACE, futures::future::join_all(workers)).await {
        Ok(results) => {
            for err in results.into_iter().filter_map(Result::err) {
                tracing::error!(error = %err, "a worker ended abnormally");
            }
        }
        Err(_) => tracing::warn!("the workers did not finish their round in time"),
    }
    if let Some(notifier) = notifier {
        notifier.abort();
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, outbox).await.is_err() {
        tracing::warn!("outbox worker did not finish its round in time");
    }
    if let Some(ingest) = ingest
        && tokio::time::timeout(SHUTDOWN_GRACE, ingest.stop())
            .await
            .is_err()
    {
        tracing::warn!("sensor ingestion did not finish its batch in time");
    }
    // Waits for the writer's transaction in progress, if any, then releases the lock file.
    services.db().close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// `urbis audit verify`: exit 0 when the chain holds, 1 naming the first altered record.
pub async fn audit_verify(args: DbArgs) -> anyhow::Result<ExitCode> {
    let db = open_db_read_only(&args.db).await?;
    let report = urbis_service::audit::verify_chain(&db)
        .await
        .map_err(|err| anyhow::format_err!("failed to read the audit log: {err}"))?;
    let state_report = urbis_service::audit::verify_case_states(&db)
        .await
        .map_err(|err| anyhow::format_err!("failed to read cases: {err}"))?;
    match report.first_break {
        None => {
            println!("audit chain ok: {} records verified", report.checked);
        }
        Some((chain_break, row)) => {
            let (seq, what) = match chain_break {
                ChainBreak::HashMismatch { seq } => (
                    seq,
                    "its content does not match its hash (the record was altered)",
                ),
                ChainBreak::BrokenLink { seq } => (
                    seq,
                    "it does not link to the previous record (a record before it was altered or replaced)",
                ),
                ChainBreak::Gap { found, .. } => (found, "records before it are missing (deleted)"),
            };
            let about = row
                .map(|r| format!(" — {} {} #{} at {}", r.action, r.entity, r.entity_id, r.at))
                .unwrap_or_default();
            println!(
                "audit chain BROKEN at record {seq}{about}: {what}; {} records before it verified",
                report.checked
            );
            return Ok(ExitCode::from(1));
        }
    }
    if let Some((case_id, stored, audited)) = state_report {
        println!(
            "case {case_id} has state {stored:?} but its audit trail ends in {audited:?}: the case row was altered"
        );
        return Ok(ExitCode::from(1));
    }
    let differences = urbis_service::audit::verify_counters(&db)
        .await
        .map_err(|err| anyhow::format_err!("failed to recount the counters: {err}"))?;
    if !differences.is_empty() {
        for difference in &differences {
            println!("counter differs: {difference}");
        }
        return Ok(ExitCode::from(1));
    }
    println!("counters ok: they match a recount from the cases");
    Ok(ExitCode::SUCCESS)
}

/// Options of `urbis backup`.
#[derive(Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The backup file to write (must not exist).
    #[arg(long)]
    pub to: std::path::PathBuf,
}

/// `urbis backup --to FILE`: a consistent online copy (taken on one read snapshot while the
/// server goes on writing), written beside its target and renamed into place only after it
/// passed the integrity check, the audit chain and the counter recount.
pub async fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    if args.to.exists() {
        anyhow::bail!("{} exists; choose a new file", args.to.display());
    }
    let started = std::time::Instant::now();
    // The copy is checked below; checking the live source first would only double the time.
    let db = Db::open(&DbOptions {
        access: Access::ReadOnly,
        read_connections: 2,
        check: false,
        ..DbOptions::writer(&args.db.db)
    })
    .await
    .map_err(|err| anyhow::format_err!("cannot open {}: {err}", args.db.db))?;
    let partial = std::path::PathBuf::from(format!("{}.partial", args.to.display()));
    let _ = std::fs::remove_file(&partial);
    match db.backend() {
        // SQLite: VACUUM INTO on one read snapshot.
        Backend::Sqlite => db
            .backup_into(&partial)
            .await
            .map_err(|err| anyhow::format_err!("backup failed: {err}"))?,
        // PostgreSQL: every table copied on one REPEATABLE READ snapshot into a SQLite file,
        // which `urbis store copy` moves back into a PostgreSQL database to restore.
        Backend::Postgres => {
            let target = Db::open(&DbOptions {
                lock: false,
                check: false,
                durability: Durability::Relaxed,
                ..DbOptions::writer(partial.as_path())
            })
            .await
            .map_err(|err| anyhow::format_err!("cannot create {}: {err}", partial.display()))?;
            let copied = urbis_service::store::copy_store(&db, &target, |_, _| {}).await;
            target.close().await;
            if let Err(err) = copied {
                let _ = std::fs::remove_file(&partial);
                anyhow::bail!("backup failed: {err}");
            }
            for suffix in ["-wal", "-shm", ".lock"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", partial.display()));
            }
        }
    }
    db.close().await;
    let copy = open_db_read_only(&Location::Sqlite(partial.clone())).await?;
    let chain = urbis_service::audit::verify_chain(&copy)
        .await
        .map_err(|err| anyhow::format_err!("failed to read the copy's audit log: {err}"))?;
    let states = urbis_service::audit::verify_case_states(&copy)
        .await
        .map_err(|err| anyhow::format_err!("failed to read the copy's cases: {err}"))?;
    let counters = urbis_service::audit::verify_counters(&copy)
        .await
        .map_err(|err| anyhow::format_err!("failed to recount the copy: {err}"))?;
    copy.close().await;
    if chain.first_break.is_some() || states.is_some() || !counters.is_empty() {
        let _ = std::fs::remove_file(&partial);
        anyhow::bail!(
            "the copy did not verify (audit chain, case states or counters); nothing was written"
        );
    }
    std::fs::File::open(&partial)
        .and_then(|file| file.sync_all())
        .with_context(|| format!("failed to sync {}", partial.display()))?;
    std::fs::rename(&partial, &args.to)
        .with_context(|| format!("failed to move the backup to {}", args.to.display()))?;
    if let Some(dir) = args.to.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    let size = std::fs::metadata(&args.to).map(|m| m.len()).unwrap_or(0);
    println!(
        "backup written to {} ({:.1} MB, {} audit records verified, counters match) in {:.1}s",
        args.to.display(),
        size as f64 / 1e6,
        chain.checked,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
