//! Reading labelled messages from CSV or XLSX files.

use std::path::Path;

use anyhow::{Context, bail};
use calamine::Reader;

use crate::classifier::Example;

/// A table of strings: header names and rows, as read from a file.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Returns the index of the column named `name` (exact match after trimming).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h.trim() == name.trim())
    }

    /// Returns the cell at `row`, `column`, or "" when the row is short.
    pub fn cell(&self, row: usize, column: usize) -> &str {
        self.rows[row].get(column).map_or("", String::as_str)
    }
}

/// Reads a CSV (UTF-8, optional BOM) or an Excel workbook's first sheet; the first row holds the headers.
pub fn read_table(path: &Path) -> anyhow::Result<Table> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut table = if matches!(extension.as_str(), "xlsx" | "xlsm" | "xls" | "xlsb" | "ods") {
        read_workbook(path)?
    } else {
        read_csv(path)?
    };
    if let Some(first) = table.headers.first_mut() {
        *first = first.trim_start_matches('\u{feff}').to_owned();
    }
    Ok(table)
}

fn read_csv(path: &Path) -> anyhow::Result<Table> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("cannot read the header of {}", path.display()))?;
    let headers: Vec<String> = headers.iter().map(str::to_owned).collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record =
            record.with_context(|| format!("{}: bad CSV record {}", path.display(), i + 2))?;
        rows.push(record.iter().map(str::to_owned).collect());
    }
    Ok(Table { headers, rows })
}

fn read_workbook(path: &Path) -> anyhow::Result<Table> {
    let mut workbook = calamine::open_workbook_auto(path)
        .with_context(|| format!("cannot open workbook {}", path.display()))?;
    let range = workbook
        .worksheet_range_at(0)
        .with_context(|| format!("{} has no sheet", path.display()))?
        .with_context(|| format!("cannot read the first sheet of {}", path.display()))?;
    let mut rows = range.rows().map(|row| {
        row.iter()
            .map(|cell| cell.to_string())
            .collect::<Vec<String>>()
    });
    let headers = rows.next().unwrap_or_default();
    Ok(Table {
        headers,
        rows: rows.collect(),
    })
}

/// The text columns tried, in order, when none are given: per row, the first group with any text wins.
/// Raw text comes first; `seg_text` (pre-segmented text, as in the 8,230-message set) is the last resort.
pub const AUTO_TEXT_COLUMNS: &[&[&str]] = &[
    &["留言主题", "留言详情"],
    &["raw_title_plus_detail"],
    &["text"],
    &["seg_text"],
];
/// The label columns tried, in order, when none is given.
pub const AUTO_LABEL_COLUMNS: &[&str] = &["一级标签", "label"];

/// Labelled examples taken from a table, with what was used and skipped.
#[derive(Clone, Debug)]
pub struct LoadedExamples {
    pub examples: Vec<Example>,
    /// Human-readable description of the columns used.
    pub columns: String,
    /// Rows skipped because their text or label was empty.
    pub skipped: usize,
}

/// Builds examples from `table`. `text_columns` is a comma-separated list of columns joined with a space
/// (`None`: [`AUTO_TEXT_COLUMNS`](crate::tools::AUTO_TEXT_COLUMNS)); `label_column` names the label
/// (`None`: [`AUTO_LABEL_COLUMNS`](crate::tools::AUTO_LABEL_COLUMNS)).
pub fn examples_from_table(
    table: &Table,
    text_columns: Option<&str>,
    label_column: Option<&str>,
) -> anyhow::Result<LoadedExamples> {
    let label = match label_column {
        Some(name) => table
            .column(name)
            .with_context(|| format!("no label column {name:?} in {:?}", table.headers))?,
        None => AUTO_LABEL_COLUMNS
            .iter()
            .find_map(|name| table.column(name))
            .with_context(|| {
                format!("no label column (tried {AUTO_LABEL_COLUMNS:?}); pass --label")
            })?,
    };
    let groups: Vec<Vec<usize>> =
        match text_columns {
            Some(list) => {
                let mut group = Vec::new();
                for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    group.push(table.column(name).with_context(|| {
                        format!("no text column {name:?} in {:?}", table.headers)
                    })?);
                }
                if group.is_empty() {
                    bail!("--text names no column");
                }
                vec![group]
            }
            None => AUTO_TEXT_COLUMNS
                .iter()
                .filter_map(|names| {
                    names
                        .iter()
                        .map(|n| table.column(n))
                        .collect::<Option<Vec<usize>>>()
                })
                .collect(),
        };
    if groups.is_empty() {
        bail!("no text columns (tried {AUTO_TEXT_COLUMNS:?}); pass --text");
    }
    let columns = format!(
        "text from {} (first non-empty per row), label from {}",
        groups
            .iter()
            .map(|g| g
                .iter()
                .map(|&c| table.headers[c].as_str())
                .collect::<Vec<_>>()
                .join("+"))
            .collect::<Vec<_>>()
            .join(" | "),
        table.headers[label]
    );
    let mut examples = Vec::with_capacity(table.rows.len());
    let mut skipped = 0;
    for row in 0..table.rows.len() {
        let label_text = table.cell(row, label).trim();
        let text = groups
            .iter()
            .map(|group| join_columns(table, row, group))
            .find(|t| !t.is_empty());
        match text {
            Some(text) if !label_text.is_empty() => examples.push(Example {
                text,
                label: label_text.to_owned(),
            }),
            _ => skipped += 1,
        }
    }
    Ok(LoadedExamples {
        examples,
        columns,
        skipped,
    })
}

/// Reads `path` and builds examples (see [`examples_from_table`]).
pub fn load_examples(
    path: &Path,
    text_columns: Option<&str>,
    label_column: Option<&str>,
) -> anyhow::Result<LoadedExamples> {
    let table = read_table(path)?;
    examples_from_table(&table, text_columns, label_column)
        .with_context(|| format!("in {}", path.display()))
}

fn join_columns(table: &Table, row: usize, columns: &[usize]) -> String {
    let parts: Vec<&str> = columns
        .iter()
        .map(|&c| table.cell(row, c).trim())
        .filter(|t| !t.is_empty())
        .collect();
    parts.join(" ")
}
