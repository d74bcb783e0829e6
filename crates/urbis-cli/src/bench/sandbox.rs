//! `urbis bench sandbox`: a demo city's history replayed through the real services, then a
//! scenario of N simulated cases (the history's appeals multiplied by the demand factor) run
//! over several seeds, timed from reading the history to the report; beside it, in the same run
//! on the same store, the live intake rate: appeals/s through `submit_appeal` with durable commits.

use std::process::ExitCode;
use std::time::Instant;

use chrono::Duration;
use clap::Args;
use urbis_domain::appeal::AppealInput;
use urbis_domain::area::AreaLevel;
use urbis_service::sandbox::Scenario;
use urbis_service::store::{Durability, Location};
use urbis_service::{ServiceConfig, Services};

/// Options of `urbis bench sandbox`.
#[derive(Args)]
pub struct SandboxBenchArgs {
    /// Simulated cases in the scenario.
    #[arg(long, default_value_t = 100_000)]
    pub cases: usize,
    /// Cases of real history the demo city is seeded with.
    #[arg(long, default_value_t = 400)]
    pub history: usize,
    /// Days the history spreads over.
    #[arg(long, default_value_t = 42)]
    pub days: i64,
    /// Seeds (each runs the baseline and the scenario).
    #[arg(long, default_value_t = 5)]
    pub seeds: u32,
    /// Appeals for the live intake measurement.
    #[arg(long, default_value_t = 2_000)]
    pub appeals: usize,
    /// Directory for the store (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
}

/// Runs the benchmark.
pub async fn run(args: SandboxBenchArgs) -> anyhow::Result<ExitCode> {
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build; run `cargo run --release -p urbis-cli -- bench sandbox` for real figures"
        );
    }
    let tmp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_owned());
    std::fs::create_dir_all(&dir)?;
    let location = Location::Sqlite(dir.join("bench-sandbox.sqlite"));
    crate::demo::seed_store(&location, args.history.max(10), args.days.max(2)).await?;

    let db = crate::serve::open_db(&location, Durability::Full).await?;
    let services = Services::start(db, ServiceConfig::default())
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;

    // --- The sandbox: read the history, fit, simulate both sides for every seed.
    let today = services.to_local(services.now()).date();
    let mut scenario = Scenario::unchanged(
        "bench: demand growth",
        today - Duration::days(args.days + 1),
        today,
    );
    // Intake merges a few appeals into earlier cases as repeats: count the cases first.
    scenario.seeds = 1;
    let history_cases = services
        .sandbox_simulate(&scenario)
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?
        .history_cases;
    scenario.seeds = args.seeds.clamp(1, 100);
    scenario.demand_factor = (args.cases as f64 / history_cases.max(1) as f64).max(1.0);
    let started = Instant::now();
    let report = services
        .sandbox_simulate(&scenario)
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    let wall = started.elapsed().as_secs_f64();
    let simulated = (report.cases + report.history_cases) as f64 * f64::from(report.seeds);

    // --- Live intake on the same store: concurrent appeals, each acknowledged after its commit.
    let operator = services
        .actor_by_username("operator")
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    let areas = services
        .list_areas()
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    let grids: Vec<i64> = areas
        .iter()
        .filter(|a| a.level == AreaLevel::Grid)
        .map(|a| a.id)
        .collect();
    let categories = services
        .list_categories()
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    let leaves: Vec<i64> = categories
        .iter()
        .filter(|c| !categories.iter().any(|o| o.parent_id == Some(c.id)))
        .map(|c| c.id)
        .collect();
    if grids.is_empty() || leaves.is_empty() {
        anyhow::bail!("the demo city has no grids or categories");
    }
    let n = args.appeals.max(1);
    let clients = 64usize;
    let intake_started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let services = services.clone();
        let operator = operator.clone();
        let grids = grids.clone();
        let leaves = leaves.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0usize;
            for i in (client..n).step_by(clients) {
                let input = AppealInput {
                    channel: Some("hotline".into()),
                    title: Some("沙盘基准：路灯不亮".into()),
                    text: format!("幸福路第{i}号路灯晚上不亮，居民出行不便，请尽快维修。"),
                    reporter_name: None,
                    reporter_phone: None,
                    address: None,
                    lat: None,
                    lon: None,
                    category_id: Some(leaves[i % leaves.len()]),
                    area_id: Some(grids[i % grids.len()]),
                    urgent: Some(false),
                    appeal_type: None,
                };
                if services
                    .submit_appeal(Some(&operator), &input, None)
                    .await
                    .is_ok()
                {
                    done += 1;
                }
            }
            done
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        accepted += task.await?;
    }
    let intake_secs = intake_started.elapsed().as_secs_f64();
    services.db().close().await;

    println!(
        "sandbox: {} scenario cases + {} baseline cases × {} seeds simulated in {:.2}s wall \
         (history read and fitted, both sides, every seed): {:.0} simulated cases/s; \
         simulation alone {:.2}s",
        report.cases,
        report.history_cases,
        report.seeds,
        wall,
        simulated / wall,
        report.simulate_ms as f64 / 1000.0
    );
    println!(
        "live intake (same run, same store, durable commits, {clients} concurrent callers): \
         {accepted} appeals in {intake_secs:.2}s = {:.0} appeals/s",
        accepted as f64 / intake_secs
    );
    println!(
        "ratio: one second of simulation covers {:.0} seconds of live intake at that rate",
        (simulated / wall) / (accepted as f64 / intake_secs).max(1e-9)
    );
    if report.refused > 0 {
        println!(
            "warning: the workflow refused {} simulated steps",
            report.refused
        );
    }
    Ok(ExitCode::SUCCESS)
}
