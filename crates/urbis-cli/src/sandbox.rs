//! `urbis sandbox run --scenario F.toml`: replays a period of the city's history under a
//! scenario's changes and prints the comparison with the history replayed unchanged.
//! The store is opened read-only (beside a running server): nothing is written to it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use urbis_service::sandbox::{Report, Scenario};
use urbis_service::{ServiceConfig, Services};

/// Options of `urbis sandbox run`.
#[derive(Args)]
pub struct SandboxRunArgs {
    #[command(flatten)]
    pub db: crate::DbArgs,
    /// The scenario file (TOML; see README, Policy sandbox).
    #[arg(long)]
    pub scenario: PathBuf,
    /// Print the whole report as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write the report as an XLSX workbook.
    #[arg(long)]
    pub xlsx: Option<PathBuf>,
    /// The city's time zone (IANA name).
    #[arg(long, env = "URBIS_TIME_ZONE", default_value = "Asia/Shanghai")]
    pub time_zone: String,
}

/// Reads a scenario file.
pub fn read_scenario(path: &std::path::Path) -> anyhow::Result<Scenario> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if text.len() > 1024 * 1024 {
        anyhow::bail!("{} is larger than 1 MiB", path.display());
    }
    toml::from_str(&text).with_context(|| format!("{} is not a valid scenario", path.display()))
}

/// Runs `urbis sandbox run`.
pub async fn run(args: SandboxRunArgs) -> anyhow::Result<ExitCode> {
    let scenario = read_scenario(&args.scenario)?;
    let db = crate::serve::open_db_read_only(&args.db.db).await?;
    let config = ServiceConfig {
        time_zone: crate::config::time_zone(&args.time_zone)?,
        ..ServiceConfig::default()
    };
    let services = Services::start(db, config)
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    let report = services
        .sandbox_simulate(&scenario)
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    let value = serde_json::to_value(&report)?;
    if let Some(path) = &args.xlsx {
        let bytes = urbis_service::sandbox::xlsx::workbook(&value)
            .map_err(|err| anyhow::format_err!("{err}"))?;
        std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{}", table(&report));
    }
    services.db().close().await;
    Ok(ExitCode::SUCCESS)
}

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// Renders the comparison table.
pub fn table(report: &Report) -> String {
    let mut out = format!(
        "政策沙盘 scenario「{}」: {} simulated cases (history {}), {} seeds, {:.2}s ({:.0} cases/s)\n",
        report.scenario,
        report.cases,
        report.history_cases,
        report.seeds,
        report.simulate_ms as f64 / 1000.0,
        report.cases_per_second
    );
    out.push_str(&format!(
        "{:<22} {:>9} {:>26} {:>26} {:>28}\n",
        "indicator", "observed", "baseline [95%]", "scenario [95%]", "change [95% CI]"
    ));
    for row in &report.comparison {
        let rate = row.indicator.ends_with("rate");
        let f = |v: f64| {
            if rate { pct(v) } else { format!("{v:.1}") }
        };
        let est = |e: &urbis_service::sandbox::report::Estimate| {
            format!("{} [{}, {}]", f(e.mean), f(e.lo), f(e.hi))
        };
        out.push_str(&format!(
            "{:<22} {:>9} {:>26} {:>26} {:>26}{}\n",
            format!("{} {}", row.label_zh, row.indicator),
            row.observed.map(f).unwrap_or_else(|| "-".into()),
            est(&row.baseline),
            est(&row.scenario),
            est(&row.difference),
            if row.significant { " *" } else { "  " }
        ));
    }
    for (title, rows) in [
        ("workload (feedbacks) by department", &report.workload),
        ("overdue cases by category", &report.overdue_by_category),
        ("overdue cases by area", &report.overdue_by_area),
    ] {
        out.push_str(&format!("\n{title} (top 8): baseline → scenario\n"));
        for row in rows.iter().take(8) {
            out.push_str(&format!(
                "  {:<24} {:>8.1} → {:>8.1} [{:.1}, {:.1}]\n",
                row.name, row.baseline.mean, row.scenario.mean, row.scenario.lo, row.scenario.hi
            ));
        }
    }
    if let (Some(last_b), Some(last_s), Some(day)) = (
        report.backlog_baseline.last(),
        report.backlog_scenario.last(),
        report.backlog_days.last(),
    ) {
        out.push_str(&format!(
            "\nbacklog on {day}: baseline {:.1} → scenario {:.1} [{:.1}, {:.1}]\n",
            last_b.mean, last_s.mean, last_s.lo, last_s.hi
        ));
    }
    if report.refused > 0 {
        out.push_str(&format!(
            "warning: the workflow refused {} simulated steps\n",
            report.refused
        ));
    }
    out.push_str("* the change's 95% interval excludes zero\n");
    out
}
