//! The raw-holdout split of `urbis bench classify --protocol raw-holdout`.

use anyhow::{Context, bail};

use crate::classifier::Example;
use crate::tools::data::Table;

/// Column holding the pre-segmented text of every row of the 8,230-message set.
const SEGMENTED: &str = "seg_text";
/// Column holding the raw title and detail where they are known.
const RAW: &str = "raw_title_plus_detail";
/// Label column.
const LABEL: &str = "一级标签";

/// The product's situation: everything the city has on file for training, raw text it has never seen for testing.
#[derive(Clone, Debug, Default)]
pub struct HoldoutSplit {
    /// Rows whose raw text is unknown, with their pre-segmented `seg_text`.
    pub train: Vec<Example>,
    /// Rows whose raw text is known, with that raw text; their `seg_text` is not used anywhere.
    pub test: Vec<Example>,
    /// Rows without a label or without any text.
    pub skipped: usize,
}

/// Splits a table with the columns `一级标签`, `seg_text` and `raw_title_plus_detail`: rows with raw text
/// become the test set (raw text), all others the training set (segmented text).
pub fn holdout_split(table: &Table) -> anyhow::Result<HoldoutSplit> {
    let column = |name: &str| {
        table.column(name).with_context(|| {
            format!(
                "the raw-holdout protocol needs a {name:?} column; found {:?}",
                table.headers
            )
        })
    };
    let (segmented, raw, label) = (column(SEGMENTED)?, column(RAW)?, column(LABEL)?);
    let mut split = HoldoutSplit::default();
    for row in 0..table.rows.len() {
        let label = table.cell(row, label).trim();
        let raw = table.cell(row, raw).trim();
        let segmented = table.cell(row, segmented).trim();
        if label.is_empty() {
            split.skipped += 1;
        } else if !raw.is_empty() {
            split.test.push(Example {
                text: raw.to_owned(),
                label: label.to_owned(),
            });
        } else if !segmented.is_empty() {
            split.train.push(Example {
                text: segmented.to_owned(),
                label: label.to_owned(),
            });
        } else {
            split.skipped += 1;
        }
    }
    if split.train.is_empty() || split.test.is_empty() {
        bail!(
            "the raw-holdout split is empty ({} training rows without raw text, {} test rows with raw text)",
            split.train.len(),
            split.test.len()
        );
    }
    Ok(split)
}
