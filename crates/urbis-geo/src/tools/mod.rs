//! Command implementations behind the `tools` feature, called by the `urbis` binary.
//!
//! Each command has a clap `Args` struct (so the CLI can mount it under any subcommand name) and a
//! `run_*` function that reads files, prints a human report to stdout and returns it as a struct:
//!
//! - [`CheckLaArgs`] / [`run_check_la`]: resolve Los Angeles 311 requests to neighbourhood councils and
//!   compare with the council recorded in the dataset;
//! - [`BenchLocateArgs`] / [`run_bench_locate`]: point-location throughput of [`crate::locate::Locator`]
//!   against PostGIS `ST_Contains` on the same polygons and points, with a point-by-point comparison;
//! - [`GridCheckArgs`] / [`run_grid_check`]: generate unit grids for a Beijing district and verify them.
//!
//! Default paths are relative to the working directory, which is the repository root when run as
//! `cargo run -p urbis-cli -- …`; the data lives next to the repository in `../shared/data/`.

mod bench_locate;
mod check_la;
mod grid_check;

use std::path::Path;

use anyhow::Context as _;

use crate::area::{AreaFeature, FeatureProblem, PropertyMapping, parse_geojson};

pub use bench_locate::{BenchLocateArgs, BenchLocateReport, run_bench_locate};
pub use check_la::{CheckLaArgs, LaMismatch, LaMismatchKind, LaReport, check_la, run_check_la};
pub use grid_check::{GridCheckArgs, GridCheckReport, grid_check, run_grid_check};

/// Largest input file the tools read into memory.
const MAX_INPUT_BYTES: u64 = 512 * 1024 * 1024;

/// Reads a whole text file, refusing files larger than [`MAX_INPUT_BYTES`].
fn read_text(path: &Path) -> anyhow::Result<String> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("failed to open {}", path.display()))?
        .len();
    anyhow::ensure!(
        size <= MAX_INPUT_BYTES,
        "{} is {size} bytes, limit is {MAX_INPUT_BYTES}",
        path.display()
    );
    std::fs::read_to_string(path).with_context(|| format!("failed to read {}", path.display()))
}

/// Reads and parses a GeoJSON boundary file; per-feature problems are returned, not fatal.
fn load_areas(
    path: &Path,
    mapping: &PropertyMapping,
) -> anyhow::Result<(Vec<AreaFeature>, Vec<FeatureProblem>)> {
    let text = read_text(path)?;
    parse_geojson(&text, mapping).with_context(|| format!("failed to import {}", path.display()))
}

/// Formats a count per second with a unit prefix (k, M).
fn per_second(count: usize, seconds: f64) -> String {
    let rate = count as f64 / seconds.max(1e-12);
    if rate >= 1e6 {
        format!("{:.1} M/s", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1} k/s", rate / 1e3)
    } else {
        format!("{rate:.1} /s")
    }
}
