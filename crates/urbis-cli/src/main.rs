//! The `urbis` binary: one process that serves the API and workers, seeds a demo city, imports
//! data, verifies the audit chain and runs benchmarks. Flags override environment variables.

mod bench;
mod config;
mod demo;
mod export;
mod import;
mod mapdata;
mod replay;
mod sandbox;
mod sensors;
mod serve;
mod store;

use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "urbis",
    version,
    about = "城治 Urbis — municipal social-governance platform"
)]
struct Cli {
    /// Log format on stderr: `text` for people, `json` (one object a line, with the request id,
    /// route, user id and latency in fields) for log pipelines.
    #[arg(long, global = true, env = "URBIS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Logs to stderr, filtered by `URBIS_LOG`. By default the text log for people leaves out the
/// line per request (`urbis_http::access`), which JSON logs for pipelines keep.
fn init_logs(format: LogFormat, node: bool) {
    let default = match format {
        LogFormat::Text => "warn,urbis=info,urbis_http::access=warn",
        LogFormat::Json => "warn,urbis=info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("URBIS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            // A cluster node's events carry its `node` span's field.
            .with_span_list(node)
            .init(),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serves the API and runs the workers on a database file.
    Serve(serve::ServeArgs),
    /// Creates a fresh sample city on a new SQLite file, then serves it.
    Demo(demo::DemoArgs),
    /// Imports data into a database.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Exports data from a database.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Audit-log tools.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Writes a consistent, verified copy of a running (or stopped) store.
    Backup(serve::BackupArgs),
    /// Store tools: moving a city between SQLite and PostgreSQL.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Benchmarks (build with --release).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Trains a text classifier on labelled appeals (CSV or XLSX) and writes the model file.
    Train(urbis_text::tools::TrainArgs),
    /// Evaluates a model, or cross-validates its settings, on labelled appeals.
    Eval(urbis_text::tools::EvalArgs),
    /// Text tools.
    #[command(subcommand)]
    Text(TextCommand),
    /// Geography checks on real boundaries.
    #[command(subcommand)]
    Geo(GeoCommand),
    /// 民情 insight on message files: hot spots and reply quality.
    #[command(subcommand)]
    Insight(InsightCommand),
    /// Sensor tools.
    #[command(subcommand)]
    Sensors(SensorsCommand),
    /// Prints the OpenAPI document.
    Openapi,
    /// Policy sandbox: replays history under changed rules.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
}

#[derive(Subcommand)]
enum SandboxCommand {
    /// Runs a scenario file against the store's history and prints the comparison table.
    Run(sandbox::SandboxRunArgs),
}

#[derive(Subcommand)]
enum SensorsCommand {
    /// Publishes the Beijing air-quality stations' hourly PM2.5 over MQTT at a chosen speed
    /// (with `--db`, registers the stations as devices first).
    Replay(replay::ReplayArgs),
}

#[derive(Subcommand)]
enum TextCommand {
    /// Counts exact and near-exact re-posts in a message file.
    DupReport(urbis_text::tools::DupReportArgs),
    /// Scores the repeat model on labelled pairs (id_a,id_b,label) beside MinHash >= 0.5.
    DupEval(urbis_text::tools::DupEvalArgs),
}

#[derive(Subcommand)]
enum InsightCommand {
    /// Clusters messages into topics by text, place and time and prints the hottest with their evidence.
    Hotspots(urbis_text::tools::HotspotsArgs),
    /// Scores government replies (relevance, completeness, timeliness, politeness) and prints the weakest.
    Replies(urbis_text::tools::RepliesArgs),
}

#[derive(Subcommand)]
enum GeoCommand {
    /// Resolves every LA 311 request with coordinates to a neighbourhood council and compares
    /// with the dataset's own council column.
    CheckLa(urbis_geo::tools::CheckLaArgs),
    /// Cuts a district of Beijing into ~10,000 m² unit grids and checks containment and overlap.
    GridCheck(urbis_geo::tools::GridCheckArgs),
    /// Cuts a community or street (or every community of a street or district) into ~10,000 m²
    /// unit grids with 15-digit codes and stores them.
    Grids(mapdata::GeoGridsArgs),
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Imports appeals from CSV or XLSX; each row becomes a case through the normal intake.
    Cases(import::ImportCasesArgs),
    /// Imports a 3-level category table (一级分类,二级分类,三级分类) from CSV or XLSX.
    Taxonomy(import::ImportTaxonomyArgs),
    /// Imports area boundaries from GeoJSON (Chinese adcode format or any property mapping).
    Areas(import::ImportAreasArgs),
    /// Imports a gazetteer (name, kind road|address|poi, lon, lat, crs, aliases) from CSV or XLSX.
    Gazetteer(mapdata::ImportMapTableArgs),
    /// Imports city assets (id, name, lon, lat, crs, owner, maintainer, state) from CSV or XLSX.
    Assets(mapdata::ImportMapTableArgs),
    /// Imports sensor devices (code, type, name, lon, lat, asset_id) from CSV or XLSX.
    Devices(mapdata::ImportMapTableArgs),
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Writes dispatchers' category corrections and departments' returns (and, with
    /// `--history`, finished cases) as a CSV for `urbis train`.
    Training(export::ExportTrainingArgs),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Checks the file's integrity, re-walks the audit chain (naming the first record that was
    /// altered) and recounts the counters from the cases.
    Verify(DbArgs),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Appeals/s through HTTP with durable commits, beside bare SQLite limits.
    Intake(bench::IntakeArgs),
    /// Classification quality and speed beside TF-IDF + LinearSVC (scikit-learn) on the same split (`--protocol cv` or `raw-holdout`).
    Classify(urbis_text::tools::BenchClassifyArgs),
    /// Point-in-polygon location of many points, beside PostGIS ST_Contains on the same data.
    Locate(urbis_geo::tools::BenchLocateArgs),
    /// The dashboard's first complete view in headless Chromium, beside the same API calls made directly.
    Dashboard(bench::dashboard::DashboardArgs),
    /// A city of N cases loaded through the bulk path; every dashboard and queue call's p50/p99
    /// beside a plain GROUP BY over the cases table.
    Scale(bench::scale::ScaleArgs),
    /// Surge detection (Poisson/EWMA with weekday and seasonal profile) beside a fixed threshold on a
    /// synthetic year with injected surges.
    Surge(urbis_text::tools::BenchSurgeArgs),
    /// Readings/s published through Mosquitto and stored with the rules on, and the
    /// publish-to-stored p99, beside Mosquitto's own pub/sub rate in the same run.
    Sensors(bench::sensors::SensorsArgs),
    /// Simulated cases/s of a policy-sandbox scenario, beside the live intake rate in the same run.
    Sandbox(bench::sandbox::SandboxBenchArgs),
    /// Appeals/s through every node of a local cluster (PostgreSQL + NATS JetStream) and the
    /// relay's lag p50/p99, beside one node without a broker in the same run.
    Cluster(bench::cluster::ClusterBenchArgs),
}

/// The database to work on.
#[derive(Args, Clone)]
pub struct DbArgs {
    /// The store: a SQLite file (a path or `sqlite:PATH`) or a PostgreSQL database
    /// (`postgres://user@host:5432/name`).
    #[arg(long, env = "URBIS_DB", default_value = "urbis.sqlite")]
    pub db: urbis_service::store::Location,
}

/// Runs synchronous tool code off the async workers.
async fn blocking(
    work: impl FnOnce() -> anyhow::Result<()> + Send + 'static,
) -> anyhow::Result<ExitCode> {
    tokio::task::spawn_blocking(work).await??;
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    // A cluster node's log lines carry its id: every runtime thread runs inside a `node` span.
    let node_id = match &cli.command {
        Command::Serve(args) if args.cluster.nats_url.is_some() => Some(serve::node_id(args)),
        _ => None,
    };
    init_logs(cli.log_format, node_id.is_some());
    let node_span = node_id
        .as_deref()
        .map(|node| tracing::info_span!("node", node))
        .unwrap_or_else(tracing::Span::none);
    let _node_guard = node_span.clone().entered();
    // `serve` takes what flags and environment left at their defaults from its file.
    if let (Command::Serve(args), Some(("serve", sub))) = (&mut cli.command, matches.subcommand())
        && let Err(err) = config::apply(args, sub)
    {
        eprintln!("error: {err:#}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(move || std::mem::forget(node_span.clone().entered()))
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: failed to start the runtime: {err}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Import(ImportCommand::Cases(args)) => import::cases(args).await,
            Command::Import(ImportCommand::Taxonomy(args)) => import::taxonomy(args).await,
            Command::Import(ImportCommand::Areas(args)) => import::areas(args).await,
            Command::Export(ExportCommand::Training(args)) => export::training(args).await,
            Command::Import(ImportCommand::Gazetteer(args)) => mapdata::gazetteer(args).await,
            Command::Import(ImportCommand::Assets(args)) => mapdata::assets(args).await,
            Command::Import(ImportCommand::Devices(args)) => sensors::import_devices(args).await,
            Command::Geo(GeoCommand::Grids(args)) => mapdata::grids(args).await,
            Command::Audit(AuditCommand::Verify(args)) => serve::audit_verify(args).await,
            Command::Backup(args) => serve::backup(args).await,
            Command::Store(command) => store::run(command).await,
            Command::Bench(BenchCommand::Intake(args)) => bench::intake(args).await,
            Command::Bench(BenchCommand::Dashboard(args)) => bench::dashboard::run(args).await,
            Command::Bench(BenchCommand::Scale(args)) => bench::scale::run(args).await,
            Command::Bench(BenchCommand::Sensors(args)) => bench::sensors::run(args).await,
            Command::Bench(BenchCommand::Cluster(args)) => bench::cluster::run(args).await,
            Command::Sensors(SensorsCommand::Replay(args)) => replay::run(args).await,
            Command::Bench(BenchCommand::Locate(args)) => {
                blocking(move || urbis_geo::tools::run_bench_locate(&args).map(|_| ())).await
            }
            Command::Train(args) => blocking(move || urbis_text::tools::run_train(&args)).await,
            Command::Eval(args) => blocking(move || urbis_text::tools::run_eval(&args)).await,
            Command::Text(TextCommand::DupReport(args)) => {
                blocking(move || urbis_text::tools::run_dup_report(&args)).await
            }
            Command::Text(TextCommand::DupEval(args)) => {
                blocking(move || urbis_text::tools::run_dup_eval(&args)).await
            }
            Command::Bench(BenchCommand::Surge(args)) => {
                blocking(move || urbis_text::tools::run_bench_surge(&args).map(|_| ())).await
            }
            Command::Insight(InsightCommand::Hotspots(args)) => {
                blocking(move || urbis_text::tools::run_hotspots(&args)).await
            }
            Command::Insight(InsightCommand::Replies(args)) => {
                blocking(move || urbis_text::tools::run_replies(&args)).await
            }
            Command::Bench(BenchCommand::Classify(args)) => {
                blocking(move || urbis_text::tools::run_bench_classify(&args)).await
            }
            Command::Geo(GeoCommand::CheckLa(args)) => {
                blocking(move || urbis_geo::tools::run_check_la(&args).map(|_| ())).await
            }
            Command::Geo(GeoCommand::GridCheck(args)) => {
                blocking(move || urbis_geo::tools::run_grid_check(&args).map(|_| ())).await
            }
            Command::Sandbox(SandboxCommand::Run(args)) => sandbox::run(args).await,
            Command::Bench(BenchCommand::Sandbox(args)) => bench::sandbox::run(args).await,
            Command::Openapi => {
                let doc = urbis_http::openapi();
                println!("{}", serde_json::to_string_pretty(&doc)?);
                Ok(ExitCode::SUCCESS)
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
