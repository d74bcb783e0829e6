//! `urbis geo grids`, `urbis import gazetteer` and `urbis import assets`: unit grids cut from stored
//! boundaries, and the gazetteer and city-asset tables from CSV or XLSX. Rows are validated by the
//! service; bad rows are reported by number and the rest is stored in one transaction (re-runs update
//! in place, they never duplicate).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use urbis_service::assets::AssetInput;
use urbis_service::gazetteer::{GazetteerInput, ImportReport};

use crate::DbArgs;
use crate::import::{open_services, read_table};

/// Options of `urbis geo grids`.
#[derive(Args)]
pub struct GeoGridsArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Code of a community or street, or of a street or district to cut every community under it.
    #[arg(long)]
    pub area: String,
    /// Target cell area in square metres (2,500–250,000).
    #[arg(long, default_value_t = 10_000.0)]
    pub cell_m2: f64,
    /// The admin account the command acts as.
    #[arg(long, default_value = "admin")]
    pub user: String,
}

/// Options of `urbis import gazetteer` and `urbis import assets`.
#[derive(Args)]
pub struct ImportMapTableArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// CSV (UTF-8) or XLSX file with a header row.
    pub file: PathBuf,
    /// The admin account the import acts as.
    #[arg(long, default_value = "admin")]
    pub user: String,
}

/// Cuts areas into unit grids and stores them.
pub async fn grids(args: GeoGridsArgs) -> anyhow::Result<ExitCode> {
    let services = open_services(&args.db).await?;
    let actor = services
        .actor_by_username(&args.user)
        .await
        .map_err(|err| anyhow::format_err!("user {}: {err}", args.user))?;
    let started = std::time::Instant::now();
    let result = services
        .generate_grids(&actor, &args.area, args.cell_m2)
        .await;
    services.db().close().await;
    let parents = result.map_err(|err| anyhow::format_err!("{err}"))?;
    for parent in &parents {
        println!(
            "{} {}: {} unit grids ({} slivers dropped), {:.0} of {:.0} m² covered",
            parent.code,
            parent.name,
            parent.cells,
            parent.dropped_slivers,
            parent.cells_area_m2,
            parent.parent_area_m2
        );
    }
    println!(
        "{} unit grids under {} areas in {:.2}s",
        parents.iter().map(|p| p.cells).sum::<usize>(),
        parents.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Returns a row's value in the first column with one of the names, or "".
pub(crate) fn cell(header: &[String], row: &[String], names: &[&str]) -> String {
    names
        .iter()
        .find_map(|name| {
            header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
        })
        .and_then(|idx| row.get(idx))
        .cloned()
        .unwrap_or_default()
}

fn print_report(report: &ImportReport, what: &str) -> ExitCode {
    for problem in &report.problems {
        println!("{problem}");
    }
    println!(
        "{} {what} created, {} updated, {} bad rows",
        report.created,
        report.updated,
        report.problems.len()
    );
    if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Imports a gazetteer table: name, kind (road|address|poi), lon, lat, crs (wgs84|gcj02), aliases.
pub async fn gazetteer(args: ImportMapTableArgs) -> anyhow::Result<ExitCode> {
    let (header, rows) = read_table(&args.file)?;
    let inputs: Vec<GazetteerInput> = rows
        .iter()
        .enumerate()
        .map(|(idx, row)| GazetteerInput {
            row: idx + 1,
            name: cell(&header, row, &["name", "名称"]),
            kind: cell(&header, row, &["kind", "类型"]),
            lon: cell(&header, row, &["lon", "lng", "经度"]),
            lat: cell(&header, row, &["lat", "纬度"]),
            crs: cell(&header, row, &["crs", "坐标系"]),
            aliases: cell(&header, row, &["aliases", "别名"]),
        })
        .collect();
    let services = open_services(&args.db).await?;
    let actor = services
        .actor_by_username(&args.user)
        .await
        .map_err(|err| anyhow::format_err!("user {}: {err}", args.user))?;
    let result = services.import_gazetteer(&actor, &inputs).await;
    services.db().close().await;
    let report = result.map_err(|err| anyhow::format_err!("{err}"))?;
    Ok(print_report(&report, "gazetteer entries"))
}

/// Imports a city-asset table: id, name, lon, lat, crs, owner, maintainer (department codes), state.
pub async fn assets(args: ImportMapTableArgs) -> anyhow::Result<ExitCode> {
    let (header, rows) = read_table(&args.file)
        .with_context(|| format!("failed to read {}", args.file.display()))?;
    let inputs: Vec<AssetInput> = rows
        .iter()
        .enumerate()
        .map(|(idx, row)| AssetInput {
            row: idx + 1,
            id: cell(&header, row, &["id", "objcode", "标识码"]),
            name: cell(&header, row, &["name", "objname", "名称"]),
            lon: cell(&header, row, &["lon", "lng", "经度"]),
            lat: cell(&header, row, &["lat", "纬度"]),
            crs: cell(&header, row, &["crs", "坐标系"]),
            owner: cell(&header, row, &["owner", "权属单位"]),
            maintainer: cell(&header, row, &["maintainer", "养护单位"]),
            state: cell(&header, row, &["state", "objstate", "状态"]),
        })
        .collect();
    let services = open_services(&args.db).await?;
    let actor = services
        .actor_by_username(&args.user)
        .await
        .map_err(|err| anyhow::format_err!("user {}: {err}", args.user))?;
    let result = services.import_assets(&actor, &inputs).await;
    services.db().close().await;
    let report = result.map_err(|err| anyhow::format_err!("{err}"))?;
    Ok(print_report(&report, "assets"))
}
