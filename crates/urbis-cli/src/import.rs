//! `urbis import cases|taxonomy`: tables from CSV or XLSX. Each appeal row goes through the same
//! intake as every channel (validation, group commit, audit); a bad row is reported with its row
//! number and the batch carries on.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use calamine::{Reader, open_workbook_auto};
use clap::Args;
use futures::StreamExt;
use urbis_domain::appeal::AppealInput;
use urbis_service::reference::TaxonomyPath;
use urbis_service::{ServiceConfig, Services};

use crate::DbArgs;

/// Most rows one import reads.
const MAX_ROWS: usize = 1_000_000;

/// Options of `urbis import cases`.
#[derive(Args)]
pub struct ImportCasesArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// CSV (UTF-8) or XLSX file with a header row.
    pub file: PathBuf,
    /// Channel recorded for the appeals.
    #[arg(long, default_value = "api")]
    pub channel: String,
    /// The account the import acts as (operator or admin).
    #[arg(long, default_value = "admin")]
    pub user: String,
}

/// Options of `urbis import taxonomy`.
#[derive(Args)]
pub struct ImportTaxonomyArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// CSV or XLSX whose first three columns are levels 1, 2 and 3.
    pub file: PathBuf,
    /// The admin account the import acts as.
    #[arg(long, default_value = "admin")]
    pub user: String,
}

/// Reads a table as (header, rows).
pub fn read_table(path: &Path) -> anyhow::Result<(Vec<String>, Vec<Vec<String>>)> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    let mut rows: Vec<Vec<String>> = Vec::new();
    if matches!(ext.as_str(), "xlsx" | "xls" | "xlsm" | "ods") {
        let mut workbook = open_workbook_auto(path)
            .with_context(|| format!("failed to open {}", path.display()))?;
        let sheet = workbook
            .sheet_names()
            .first()
            .cloned()
            .context("the workbook has no sheet")?;
        let range = workbook
            .worksheet_range(&sheet)
            .with_context(|| format!("failed to read sheet {sheet}"))?;
        for row in range.rows().take(MAX_ROWS + 1) {
            rows.push(
                row.iter()
                    .map(|cell| cell.to_string().trim().to_owned())
                    .collect(),
            );
        }
    } else {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_path(path)
            .with_context(|| format!("failed to open {}", path.display()))?;
        for record in reader.records().take(MAX_ROWS + 1) {
            let record = record.context("failed to read a CSV row")?;
            rows.push(
                record
                    .iter()
                    .map(|s| s.trim().trim_start_matches('\u{feff}').to_owned())
                    .collect(),
            );
        }
    }
    if rows.is_empty() {
        anyhow::bail!("{} is empty", path.display());
    }
    let header = rows.remove(0);
    Ok((header, rows))
}

fn column(header: &[String], names: &[&str]) -> Option<usize> {
    names
        .iter()
        .find_map(|name| header.iter().position(|h| h.eq_ignore_ascii_case(name)))
}

pub(crate) async fn open_services(db: &DbArgs) -> anyhow::Result<Services> {
    if let Some(file) = db.db.file()
        && !file.exists()
    {
        anyhow::bail!(
            "no database at {} (run `urbis serve` or `urbis demo` once to create it)",
            file.display()
        );
    }
    let db = crate::serve::open_db_for_tool(&db.db).await?;
    Services::start(db, ServiceConfig::default())
        .await
        .map_err(|err| anyhow::format_err!("{err}"))
}

/// Imports appeals.
pub async fn cases(args: ImportCasesArgs) -> anyhow::Result<ExitCode> {
    let (header, rows) = read_table(&args.file)?;
    // Each row takes its text from the first of these columns that is filled.
    let text_cols: Vec<usize> = [
        "text",
        "description",
        "留言详情",
        "raw_title_plus_detail",
        "诉求内容",
        "content",
        "details",
        "留言主题",
        "title",
    ]
    .iter()
    .filter_map(|name| column(&header, &[name]))
    .collect();
    if text_cols.is_empty() {
        anyhow::bail!(
            "no text column (text, description, 留言详情, raw_title_plus_detail, 诉求内容)"
        );
    }
    let cols: HashMap<&str, Option<usize>> = [
        ("title", column(&header, &["title", "留言主题", "subject"])),
        (
            "name",
            column(&header, &["reporter_name", "name", "留言用户", "姓名"]),
        ),
        (
            "phone",
            column(&header, &["reporter_phone", "phone", "电话"]),
        ),
        ("address", column(&header, &["address", "地址"])),
        ("lat", column(&header, &["lat", "latitude"])),
        ("lon", column(&header, &["lon", "long", "longitude"])),
        (
            "category",
            column(&header, &["category", "category_code", "分类", "一级标签"]),
        ),
        (
            "area",
            column(&header, &["area", "area_code", "grid_code", "网格"]),
        ),
        (
            "key",
            column(&header, &["id", "key", "留言编号", "srnumber"]),
        ),
    ]
    .into_iter()
    .collect();
    let services = open_services(&args.db).await?;
    let actor = services
        .actor_by_username(&args.user)
        .await
        .map_err(|err| anyhow::format_err!("user {}: {err}", args.user))?;
    let categories = services
        .list_categories()
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    let category_of: HashMap<String, i64> = categories
        .iter()
        .flat_map(|c| [(c.code.clone(), c.id), (c.name.clone(), c.id)])
        .collect();
    let areas = services
        .list_areas()
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    let area_of: HashMap<String, i64> = areas.iter().map(|a| (a.code.clone(), a.id)).collect();
    let get = |row: &Vec<String>, name: &str| {
        cols[name]
            .and_then(|i| row.get(i))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let progress = indicatif::ProgressBar::new(rows.len() as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows {per_sec} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let jobs = rows.iter().enumerate().map(|(idx, row)| {
        let row_number = idx + 2;
        let mut problem = None;
        let parse_f = |v: Option<String>| v.and_then(|s| s.parse::<f64>().ok());
        // A named category or area that does not exist is the row's problem, not a silent blank.
        let mut resolve =
            |column: &str, known: &HashMap<String, i64>, what: &str| match get(row, column) {
                Some(value) => known.get(&value).copied().or_else(|| {
                    problem = Some(format!("unknown {what} {value:?}"));
                    None
                }),
                None => None,
            };
        let category_id = resolve("category", &category_of, "category");
        let area_id = resolve("area", &area_of, "area code");
        let input = AppealInput {
            appeal_type: None,
            channel: Some(args.channel.clone()),
            title: get(row, "title"),
            text: text_cols
                .iter()
                .filter_map(|i| row.get(*i))
                .find(|v| !v.is_empty())
                .cloned()
                .unwrap_or_default(),
            reporter_name: get(row, "name"),
            reporter_phone: get(row, "phone"),
            address: get(row, "address"),
            lat: parse_f(get(row, "lat")),
            lon: parse_f(get(row, "lon")),
            category_id,
            area_id,
            urgent: None,
        };
        // The row's own id (or its position) keeps a re-run of the same file from duplicating cases.
        let key = format!(
            "import:{}:{}",
            args.file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("file"),
            get(row, "key").unwrap_or_else(|| row_number.to_string())
        );
        let services = services.clone();
        let actor = actor.clone();
        async move {
            if let Some(problem) = problem {
                return (row_number, Err(problem));
            }
            let key: String = key.chars().take(120).collect();
            let res = services
                .submit_appeal(Some(&actor), &input, Some(&key))
                .await;
            (
                row_number,
                res.map_err(|err| format!("{}: {}", err.code, err.message)),
            )
        }
    });
    let mut created = 0;
    let mut repeated = 0;
    let mut problems = Vec::new();
    // Many appeals in flight let the intake writer commit them in groups.
    let mut stream = futures::stream::iter(jobs).buffer_unordered(256);
    while let Some((row_number, res)) = stream.next().await {
        progress.inc(1);
        match res {
            Ok(outcome) if outcome.created => created += 1,
            Ok(_) => repeated += 1,
            Err(problem) => problems.push((row_number, problem)),
        }
    }
    progress.finish_and_clear();
    problems.sort();
    for (row_number, problem) in problems.iter().take(50) {
        println!("row {row_number}: {problem}");
    }
    if problems.len() > 50 {
        println!("… and {} more problems", problems.len() - 50);
    }
    println!(
        "imported {created} appeals, {repeated} already imported, {} rows with problems",
        problems.len()
    );
    services.db().close().await;
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Imports a taxonomy table.
pub async fn taxonomy(args: ImportTaxonomyArgs) -> anyhow::Result<ExitCode> {
    let (_header, rows) = read_table(&args.file)?;
    let paths: Vec<TaxonomyPath> = rows
        .into_iter()
        .map(|row| TaxonomyPath {
            names: row.into_iter().take(3).filter(|n| !n.is_empty()).collect(),
        })
        .collect();
    let services = open_services(&args.db).await?;
    let actor = services
        .actor_by_username(&args.user)
        .await
        .map_err(|err| anyhow::format_err!("user {}: {err}", args.user))?;
    let (created, problems) = services
        .import_taxonomy(&actor, &paths)
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    for problem in &problems {
        println!("{problem}");
    }
    println!(
        "{created} categories created from {} rows, {} problems",
        paths.len(),
        problems.len()
    );
    services.db().close().await;
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Options of `urbis import areas`.
#[derive(Args)]
pub struct ImportAreasArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// GeoJSON FeatureCollection.
    pub file: PathBuf,
    /// Level of every feature: district, street, community or grid.
    #[arg(long, default_value = "district")]
    pub level: String,
    /// Property holding the code (dotted paths reach nested objects).
    #[arg(long, default_value = "adcode")]
    pub code_prop: String,
    /// Property holding the name.
    #[arg(long, default_value = "name")]
    pub name_prop: String,
    /// Property holding the parent's code; features without one go under --parent.
    #[arg(long, default_value = "parent.adcode")]
    pub parent_prop: String,
    /// Code of the area the features belong to (default: the city root).
    #[arg(long)]
    pub parent: Option<String>,
    /// Coordinate system of the file: gcj02 (Chinese map services) or wgs84 (GPS); stored as WGS84.
    #[arg(long, default_value = "gcj02")]
    pub crs: String,
    /// The admin account the import acts as.
    #[arg(long, default_value = "admin")]
    pub user: String,
}

/// Imports area boundaries.
pub async fn areas(args: ImportAreasArgs) -> anyhow::Result<ExitCode> {
    use urbis_geo::area::{AreaLevel, PropertyMapping, parse_geojson};
    let crs = urbis_geo::crs::Crs::parse(&args.crs).context("--crs is gcj02 or wgs84")?;
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("failed to read {}", args.file.display()))?;
    let mapping = PropertyMapping {
        code_prop: args.code_prop.clone(),
        name_prop: args.name_prop.clone(),
        parent_prop: Some(args.parent_prop.clone()).filter(|p| !p.is_empty()),
        level: AreaLevel::parse(&args.level),
        source_crs: crs,
    };
    let (features, feature_problems) =
        parse_geojson(&text, &mapping).map_err(|err| anyhow::format_err!("{err}"))?;
    let services = open_services(&args.db).await?;
    let actor = services
        .actor_by_username(&args.user)
        .await
        .map_err(|err| anyhow::format_err!("user {}: {err}", args.user))?;
    let parent_id = match &args.parent {
        Some(code) => {
            let areas = services
                .list_areas()
                .await
                .map_err(|err| anyhow::format_err!("{err}"))?;
            Some(
                areas
                    .iter()
                    .find(|a| &a.code == code)
                    .map(|a| a.id)
                    .with_context(|| format!("no area with code {code}"))?,
            )
        }
        None => None,
    };
    let (created, problems) = services
        .import_areas(&actor, &args.level, parent_id, &features)
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    for problem in &feature_problems {
        println!(
            "feature {} ({}): {}",
            problem.index,
            problem.code.as_deref().unwrap_or("-"),
            problem.message
        );
    }
    for problem in &problems {
        println!("{problem}");
    }
    println!(
        "{created} areas imported, {} problems",
        feature_problems.len() + problems.len()
    );
    services.db().close().await;
    Ok(if feature_problems.is_empty() && problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
