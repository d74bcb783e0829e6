//! `check-la`: resolve MyLA311 requests to neighbourhood councils and compare with the dataset.
//!
//! The councils file (`la_neighborhood_councils_certified.geojson`, WGS84) names each council by `nc_id`
//! and `name`; the requests CSV records the council the city assigned in `NC` (the same numbering as
//! `nc_id`) and `NCName`. The comparison is by number; names are compared separately because councils
//! were renamed between the dataset (2017) and the boundary file.
//!
//! Three figures are reported: strict agreement over every request with coordinates; agreement over
//! *comparable* requests, leaving out those located in a council that the dataset never records (a council
//! created after December 2017, e.g. 127 North Westwood and 128 Historic Cultural North, whose territory
//! then belonged to another council); and agreement within the boundary tolerance, which also accepts
//! requests geocoded within `near_boundary_m` of their recorded council (street-centreline geocodes sit
//! on council boundaries).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;

use crate::area::{AreaLevel, PropertyMapping};
use crate::crs::Crs;
use crate::locate::Locator;
use crate::measure::boundary_distance_m;
use crate::tools::{load_areas, per_second};

/// Arguments of `urbis check-la`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckLaArgs {
    /// Neighbourhood-council boundaries (GeoJSON, WGS84).
    #[arg(
        long,
        default_value = "../shared/data/la311/la_neighborhood_councils_certified.geojson"
    )]
    pub councils: PathBuf,
    /// MyLA311 service requests (CSV).
    #[arg(
        long,
        default_value = "../shared/data/la311/MyLA311_2017-12_subset_9999.csv"
    )]
    pub requests: PathBuf,
    /// CSV column holding the council number (matches the GeoJSON `nc_id`).
    #[arg(long, default_value = "NC")]
    pub council_column: String,
    /// CSV column holding the council name.
    #[arg(long, default_value = "NCName")]
    pub council_name_column: String,
    /// A mismatch this close (metres) to the recorded council's boundary counts as "near boundary".
    #[arg(long, default_value_t = 50.0)]
    pub near_boundary_m: f64,
    /// Examples printed per category.
    #[arg(long, default_value_t = 3)]
    pub examples: usize,
}

impl CheckLaArgs {
    /// Returns the arguments with their CLI defaults.
    pub fn defaults() -> CheckLaArgs {
        CheckLaArgs {
            councils: PathBuf::from(
                "../shared/data/la311/la_neighborhood_councils_certified.geojson",
            ),
            requests: PathBuf::from("../shared/data/la311/MyLA311_2017-12_subset_9999.csv"),
            council_column: "NC".to_owned(),
            council_name_column: "NCName".to_owned(),
            near_boundary_m: 50.0,
            examples: 3,
        }
    }
}

/// Why a request's located council differs from the recorded one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LaMismatchKind {
    /// Located in a different council, within `near_boundary_m` of the recorded council's boundary.
    NearBoundary,
    /// Inside no council polygon although the dataset names one.
    OutsideAllPolygons,
    /// The dataset names no council but the point lies inside one.
    DatasetHasNoCouncil,
    /// The dataset's council number is not in the boundary file.
    UnknownCouncilId,
    /// Located in a council the dataset never records: created (or redrawn) after the dataset was cut.
    CouncilNotInDataset,
    /// Located in a different council, far from the recorded council's boundary (geocoding or data error).
    FarFromRecordedCouncil,
}

impl LaMismatchKind {
    fn label(self) -> &'static str {
        match self {
            LaMismatchKind::NearBoundary => "near boundary",
            LaMismatchKind::OutsideAllPolygons => "outside all polygons",
            LaMismatchKind::DatasetHasNoCouncil => "dataset has no council",
            LaMismatchKind::UnknownCouncilId => "unknown council id",
            LaMismatchKind::CouncilNotInDataset => {
                "located council absent from the dataset (created later)"
            }
            LaMismatchKind::FarFromRecordedCouncil => "far from recorded council",
        }
    }
}

/// One disagreeing request.
#[derive(Debug, Clone, PartialEq)]
pub struct LaMismatch {
    /// Category.
    pub kind: LaMismatchKind,
    /// Request number (`SRNumber`).
    pub request: String,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Council recorded in the dataset (`NC`, `NCName`).
    pub recorded: String,
    /// Council located by Urbis (`nc_id name`), or empty.
    pub located: String,
    /// Distance to the recorded council's boundary, metres (NaN when it has none).
    pub recorded_boundary_m: f64,
}

/// Result of [`check_la`].
#[derive(Debug, Clone, PartialEq)]
pub struct LaReport {
    /// Council polygons imported.
    pub councils: usize,
    /// Council features rejected by the importer.
    pub council_problems: usize,
    /// Rows in the CSV.
    pub rows: usize,
    /// Rows without usable coordinates (skipped).
    pub without_coordinates: usize,
    /// Rows with coordinates that were compared.
    pub compared: usize,
    /// Compared rows where Urbis and the dataset agree (same council, or both none).
    pub agreed: usize,
    /// `agreed / compared` (strict).
    pub agreement: f64,
    /// Compared requests minus those located in a council the dataset never records.
    pub comparable: usize,
    /// `agreed / comparable`.
    pub comparable_agreement: f64,
    /// `(agreed + near-boundary + outside-but-near) / comparable`: agreement within `near_boundary_m`.
    pub tolerant_agreement: f64,
    /// Disagreements per category.
    pub mismatches: Vec<LaMismatch>,
    /// Agreeing rows whose recorded council name differs from the boundary file's name:
    /// `(nc_id, name in dataset, name in boundary file, rows)`.
    pub naming_differences: Vec<(String, String, String, usize)>,
    /// Agreeing requests that lie where councils overlap (the recorded one is among those containing them).
    pub in_overlap: usize,
    /// Seconds spent importing councils and building the locator.
    pub build_seconds: f64,
    /// Seconds spent locating all compared points.
    pub locate_seconds: f64,
}

/// Runs the comparison and prints the report.
pub fn run_check_la(args: &CheckLaArgs) -> anyhow::Result<LaReport> {
    let report = check_la(args)?;
    println!(
        "check-la: {} councils imported ({} rejected), {} requests",
        report.councils, report.council_problems, report.rows
    );
    println!(
        "  compared {} requests with coordinates ({} without coordinates skipped)",
        report.compared, report.without_coordinates
    );
    println!(
        "  agreement (strict): {}/{} = {:.2} %  (same council number, or both outside every council)",
        report.agreed,
        report.compared,
        report.agreement * 100.0
    );
    if report.in_overlap > 0 {
        println!(
            "  {} agreeing requests lie where council polygons overlap; the recorded council is one of those containing them",
            report.in_overlap
        );
    }
    println!(
        "  agreement on comparable requests: {}/{} = {:.2} %  (leaving out {} requests located in councils the dataset never records)",
        report.agreed,
        report.comparable,
        report.comparable_agreement * 100.0,
        report.compared - report.comparable
    );
    println!(
        "  agreement within {} m of the recorded council's boundary: {:.2} % of comparable requests",
        args.near_boundary_m,
        report.tolerant_agreement * 100.0
    );
    println!(
        "  timing: import + build {:.1} ms, locate {} points in {:.3} ms ({})",
        report.build_seconds * 1e3,
        report.compared,
        report.locate_seconds * 1e3,
        per_second(report.compared, report.locate_seconds)
    );
    let mut kinds: Vec<LaMismatchKind> = report.mismatches.iter().map(|m| m.kind).collect();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        let of_kind: Vec<&LaMismatch> = report
            .mismatches
            .iter()
            .filter(|m| m.kind == kind)
            .collect();
        println!("  mismatch: {} — {} requests", kind.label(), of_kind.len());
        for m in of_kind.iter().take(args.examples) {
            println!(
                "    {} ({:.6}, {:.6}) recorded [{}] located [{}] recorded-boundary distance {:.0} m",
                m.request, m.lat, m.lon, m.recorded, m.located, m.recorded_boundary_m
            );
        }
    }
    for (id, dataset_name, boundary_name, rows) in &report.naming_differences {
        println!(
            "  naming difference (same council {id}, counted as agreement): dataset {dataset_name:?} vs boundary file {boundary_name:?} — {rows} requests"
        );
    }
    Ok(report)
}

/// Runs the comparison without printing.
pub fn check_la(args: &CheckLaArgs) -> anyhow::Result<LaReport> {
    let started = Instant::now();
    let mapping = PropertyMapping {
        code_prop: "nc_id".to_owned(),
        name_prop: "name".to_owned(),
        parent_prop: None,
        level: AreaLevel::Other("neighborhood_council".to_owned()),
        source_crs: Crs::Wgs84,
    };
    let (councils, problems) = load_areas(&args.councils, &mapping)?;
    anyhow::ensure!(
        !councils.is_empty(),
        "no council imported from {}",
        args.councils.display()
    );
    let locator = Locator::build(
        councils
            .iter()
            .enumerate()
            .map(|(idx, c)| (idx as u64, c.geometry.clone()))
            .collect(),
    )?;
    let by_code: HashMap<&str, usize> = councils
        .iter()
        .enumerate()
        .map(|(idx, c)| (c.code.as_str(), idx))
        .collect();
    let build_seconds = started.elapsed().as_secs_f64();

    let mut reader = csv::Reader::from_path(&args.requests)
        .with_context(|| format!("failed to open {}", args.requests.display()))?;
    let headers = reader
        .headers()
        .context("failed to read csv header")?
        .clone();
    let column = |name: &str| -> anyhow::Result<usize> {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .with_context(|| format!("column {name} not found in {}", args.requests.display()))
    };
    let (col_id, col_name) = (
        column(&args.council_column)?,
        column(&args.council_name_column)?,
    );
    let (col_lat, col_lon) = (column("Latitude")?, column("Longitude")?);
    let col_request = column("SRNumber").ok();

    struct Row {
        request: String,
        lon: f64,
        lat: f64,
        recorded_id: String,
        recorded_name: String,
    }
    let mut rows = Vec::new();
    let (mut n_rows, mut without_coordinates) = (0usize, 0usize);
    for record in reader.records() {
        let record = record.context("failed to read csv record")?;
        n_rows += 1;
        let field = |idx: usize| record.get(idx).unwrap_or("").trim();
        let (lat, lon) = (field(col_lat).parse::<f64>(), field(col_lon).parse::<f64>());
        let (Ok(lat), Ok(lon)) = (lat, lon) else {
            without_coordinates += 1;
            continue;
        };
        if !(lat.is_finite() && lon.is_finite())
            || (lat == 0.0 && lon == 0.0)
            || lat.abs() > 90.0
            || lon.abs() > 180.0
        {
            without_coordinates += 1;
            continue;
        }
        rows.push(Row {
            request: col_request
                .map(|c| field(c).to_owned())
                .unwrap_or_else(|| format!("row {n_rows}")),
            lon,
            lat,
            recorded_id: field(col_id).to_owned(),
            recorded_name: field(col_name).to_owned(),
        });
    }

    let located_at = Instant::now();
    let located: Vec<Option<usize>> = rows
        .iter()
        .map(|row| locator.locate_index(row.lon, row.lat))
        .collect();
    let locate_seconds = located_at.elapsed().as_secs_f64();
    let mut in_overlap = 0;

    // Councils the dataset records at least once; a located council outside this set did not exist then.
    let recorded_ids: std::collections::HashSet<&str> =
        rows.iter().map(|row| row.recorded_id.as_str()).collect();
    let mut agreed = 0;
    let mut mismatches = Vec::new();
    let mut names: HashMap<(String, String), usize> = HashMap::new();
    for (row, found) in rows.iter().zip(&located) {
        let recorded_idx = by_code.get(row.recorded_id.as_str()).copied();
        let located_text = found
            .map(|idx| format!("{} {}", councils[idx].code, councils[idx].name))
            .unwrap_or_default();
        let recorded_boundary_m = recorded_idx.map_or(f64::NAN, |idx| {
            boundary_distance_m(&councils[idx].geometry, row.lon, row.lat)
        });
        let kind = match (row.recorded_id.is_empty(), recorded_idx, found) {
            (true, _, None) => None,
            (true, _, Some(_)) => Some(LaMismatchKind::DatasetHasNoCouncil),
            (false, None, _) => Some(LaMismatchKind::UnknownCouncilId),
            (false, Some(recorded), Some(idx)) if recorded == *idx => None,
            // Councils overlap in the boundary file: the recorded council also contains the point.
            (false, Some(recorded), Some(_))
                if locator
                    .locate_all(row.lon, row.lat)
                    .contains(&(recorded as u64)) =>
            {
                in_overlap += 1;
                None
            }
            (false, Some(_), None) => Some(LaMismatchKind::OutsideAllPolygons),
            (false, Some(_), Some(idx)) if !recorded_ids.contains(councils[*idx].code.as_str()) => {
                Some(LaMismatchKind::CouncilNotInDataset)
            }
            (false, Some(_), Some(_)) if recorded_boundary_m <= args.near_boundary_m => {
                Some(LaMismatchKind::NearBoundary)
            }
            (false, Some(_), Some(_)) => Some(LaMismatchKind::FarFromRecordedCouncil),
        };
        match kind {
            None => {
                agreed += 1;
                if let Some(idx) = recorded_idx
                    && normalize_council_name(&row.recorded_name)
                        != normalize_council_name(&councils[idx].name)
                {
                    *names
                        .entry((row.recorded_id.clone(), row.recorded_name.clone()))
                        .or_default() += 1;
                }
            }
            Some(kind) => mismatches.push(LaMismatch {
                kind,
                request: row.request.clone(),
                lon: row.lon,
                lat: row.lat,
                recorded: format!("{} {}", row.recorded_id, row.recorded_name)
                    .trim()
                    .to_owned(),
                located: located_text,
                recorded_boundary_m,
            }),
        }
    }
    let mut naming_differences: Vec<(String, String, String, usize)> = names
        .into_iter()
        .map(|((id, dataset_name), n)| {
            let boundary_name = by_code
                .get(id.as_str())
                .map(|&idx| councils[idx].name.clone())
                .unwrap_or_default();
            (id, dataset_name, boundary_name, n)
        })
        .collect();
    naming_differences.sort_by(|a, b| b.3.cmp(&a.3).then(a.0.cmp(&b.0)));
    let compared = rows.len();
    let count = |kind: LaMismatchKind| mismatches.iter().filter(|m| m.kind == kind).count();
    let comparable = compared - count(LaMismatchKind::CouncilNotInDataset);
    let near = mismatches
        .iter()
        .filter(|m| {
            m.kind == LaMismatchKind::NearBoundary
                || (m.kind == LaMismatchKind::OutsideAllPolygons
                    && m.recorded_boundary_m <= args.near_boundary_m)
        })
        .count();
    let ratio = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
    Ok(LaReport {
        councils: councils.len(),
        council_problems: problems.len(),
        rows: n_rows,
        without_coordinates,
        compared,
        agreed,
        agreement: ratio(agreed, compared),
        comparable,
        comparable_agreement: ratio(agreed, comparable),
        tolerant_agreement: ratio(agreed + near, comparable),
        mismatches,
        naming_differences,
        in_overlap,
        build_seconds,
        locate_seconds,
    })
}

/// Upper-cases, drops punctuation and a trailing "NC" so "Echo Park NC" equals "ECHO PARK".
fn normalize_council_name(name: &str) -> String {
    let cleaned: String = name
        .to_ascii_uppercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let words = match words.last() {
        Some(&"NC") => &words[..words.len() - 1],
        _ => &words[..],
    };
    words.join(" ")
}
