//! `grid-check`: generate unit grids for one Beijing district and verify containment and overlap.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;

use crate::area::{AreaLevel, PropertyMapping, to_geojson};
use crate::grid::{
    GridOptions, GridQuality, GridReport, UnitGrid, check_grids, generate_unit_grids,
};
use crate::tools::load_areas;

/// Arguments of `urbis grid-check`.
#[derive(Debug, Clone, clap::Args)]
pub struct GridCheckArgs {
    /// District boundaries (GeoJSON from a Chinese map service, GCJ-02, `adcode` / `name`).
    #[arg(long, default_value = "../shared/data/geo/110100_full.json")]
    pub districts: PathBuf,
    /// Administrative code of the district to cut (110101 = 东城区).
    #[arg(long, default_value = "110101")]
    pub district: String,
    /// Target cell area in square metres.
    #[arg(long, default_value_t = 10_000.0)]
    pub cell_area_m2: f64,
    /// Pieces below this area (m²) are merged into a neighbour or dropped.
    #[arg(long, default_value_t = 1_000.0)]
    pub min_cell_area_m2: f64,
    /// Overlap or outside area (m²) above which a cell is reported as faulty.
    #[arg(long, default_value_t = 0.01)]
    pub tolerance_m2: f64,
    /// Also write the unit grids as a GeoJSON FeatureCollection (WGS84) to this file.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

impl GridCheckArgs {
    /// Returns the arguments with their CLI defaults.
    pub fn defaults() -> GridCheckArgs {
        GridCheckArgs {
            districts: PathBuf::from("../shared/data/geo/110100_full.json"),
            district: "110101".to_owned(),
            cell_area_m2: 10_000.0,
            min_cell_area_m2: 1_000.0,
            tolerance_m2: 0.01,
            output: None,
        }
    }
}

/// Result of [`grid_check`].
#[derive(Debug, Clone, PartialEq)]
pub struct GridCheckReport {
    /// Districts imported from the file.
    pub districts: usize,
    /// Name of the district cut.
    pub district_name: String,
    /// What the generator did.
    pub generation: GridReport,
    /// Independent verification.
    pub quality: GridQuality,
    /// First and last unit-grid codes.
    pub first_code: String,
    /// Last unit-grid code.
    pub last_code: String,
    /// Smallest and largest cell area, m².
    pub min_cell_m2: f64,
    /// Largest cell area, m².
    pub max_cell_m2: f64,
    /// Seconds to generate.
    pub generate_seconds: f64,
    /// Seconds to verify.
    pub check_seconds: f64,
}

/// Runs the check and prints the report.
pub fn run_grid_check(args: &GridCheckArgs) -> anyhow::Result<GridCheckReport> {
    let (report, grids) = grid_check_with_grids(args)?;
    let g = &report.generation;
    let q = &report.quality;
    println!(
        "grid-check: {} {} ({} districts imported, GCJ-02 converted to WGS84)",
        args.district, report.district_name, report.districts
    );
    println!(
        "  lattice {:.0} m² target ({:.6}° × {:.6}°): {} unit grids = {} whole + {} clipped; slivers < {:.0} m²: {} merged, {} dropped ({:.1} m²)",
        args.cell_area_m2,
        g.cell_width_deg,
        g.cell_height_deg,
        g.cells,
        g.whole_cells,
        g.clipped_cells,
        args.min_cell_area_m2,
        g.merged_slivers,
        g.dropped_slivers,
        g.dropped_area_m2
    );
    println!(
        "  area: cells {:.0} m² vs district {:.0} m² (ratio {:.6}); cell area min {:.0} m², max {:.0} m²",
        g.cells_area_m2, g.parent_area_m2, q.coverage_ratio, report.min_cell_m2, report.max_cell_m2
    );
    println!(
        "  containment: {} cells outside the district by more than {} m² (max outside {:.6} m²)",
        q.cells_outside, args.tolerance_m2, q.max_outside_m2
    );
    println!(
        "  overlap: {} overlapping pairs above {} m² (max overlap {:.6} m²)",
        q.overlapping_pairs, args.tolerance_m2, q.max_overlap_m2
    );
    println!(
        "  codes {} … {}; generated in {:.1} ms, verified in {:.1} ms",
        report.first_code,
        report.last_code,
        report.generate_seconds * 1e3,
        report.check_seconds * 1e3
    );
    if let Some(path) = &args.output {
        let features: Vec<crate::area::AreaFeature> = grids
            .iter()
            .map(|grid| crate::area::AreaFeature {
                code: grid.code.clone(),
                name: grid.code.clone(),
                level: AreaLevel::Grid,
                parent_code: Some(grid.parent_code.clone()),
                geometry: grid.geometry.clone(),
            })
            .collect();
        std::fs::write(path, to_geojson(&features).to_string())
            .with_context(|| format!("failed to write {}", path.display()))?;
        println!("  wrote {}", path.display());
    }
    Ok(report)
}

/// Runs the check without printing.
pub fn grid_check(args: &GridCheckArgs) -> anyhow::Result<GridCheckReport> {
    grid_check_with_grids(args).map(|(report, _)| report)
}

fn grid_check_with_grids(args: &GridCheckArgs) -> anyhow::Result<(GridCheckReport, Vec<UnitGrid>)> {
    let (districts, problems) = load_areas(
        &args.districts,
        &PropertyMapping::china_adcode(AreaLevel::District),
    )?;
    for problem in &problems {
        eprintln!(
            "warning: feature {} ({:?}) rejected: {}",
            problem.index, problem.code, problem.message
        );
    }
    let district = districts
        .iter()
        .find(|d| d.code == args.district)
        .with_context(|| {
            format!(
                "district {} not found in {}",
                args.district,
                args.districts.display()
            )
        })?;
    let options = GridOptions {
        cell_area_m2: args.cell_area_m2,
        min_cell_area_m2: args.min_cell_area_m2,
        ..GridOptions::standard()
    };
    let started = Instant::now();
    let (grids, generation) = generate_unit_grids(&district.code, &district.geometry, &options)?;
    let generate_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let cells: Vec<_> = grids.iter().map(|g| g.geometry.clone()).collect();
    let quality = check_grids(&district.geometry, &cells, args.tolerance_m2)?;
    let check_seconds = started.elapsed().as_secs_f64();
    let report = GridCheckReport {
        districts: districts.len(),
        district_name: district.name.clone(),
        generation,
        quality,
        first_code: grids.first().map(|g| g.code.clone()).unwrap_or_default(),
        last_code: grids.last().map(|g| g.code.clone()).unwrap_or_default(),
        min_cell_m2: grids
            .iter()
            .map(|g| g.area_m2)
            .fold(f64::INFINITY, f64::min),
        max_cell_m2: grids.iter().map(|g| g.area_m2).fold(0.0, f64::max),
        generate_seconds,
        check_seconds,
    };
    Ok((report, grids))
}
