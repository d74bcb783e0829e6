//! Integration tests on real data from `../shared/data` (next to the repository root).
//!
//! One test binary, one module per area. Every test that needs the data prints why it skips when the data
//! folder is absent, so `cargo test` passes on a fresh clone; CI has the folder and runs them.

mod insight;
mod pii;
mod repeats;
mod tipdm;

use std::path::PathBuf;

/// Returns the path of a file under `shared/data`, or prints a skip message and returns `None`.
pub(crate) fn shared_data(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(relative);
    if path.is_file() {
        Some(path)
    } else {
        println!(
            "skipping: {} not found (the shared data folder sits next to the repository)",
            path.display()
        );
        None
    }
}

/// Reads a CSV file (UTF-8 with optional BOM) into header names and rows.
pub(crate) fn read_csv(path: &std::path::Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .expect("readable CSV");
    let headers: Vec<String> = reader
        .headers()
        .expect("header row")
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_owned())
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("CSV record").iter().map(str::to_owned).collect())
        .collect();
    (headers, rows)
}
