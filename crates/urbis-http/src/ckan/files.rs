//! Bulk downloads of an open dataset's release: CSV (UTF-8 with a byte-order mark, so
//! spreadsheet programs read the Chinese right) and XLSX (one sheet, written with
//! `rust_xlsxwriter`). Both carry the release's
//! version and content hash in headers (`X-Urbis-Version`, `X-Urbis-Content-SHA256`).

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use urbis_service::{ErrorKind, ServiceError};

use crate::AppState;
use crate::error::ApiError;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DownloadParams {
    version: Option<i64>,
}

fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn csv_field(text: &str) -> String {
    // A leading = + - @ would be a formula in a spreadsheet; a quote mark keeps it text.
    let text = if text.starts_with(['=', '+', '-', '@']) && text.parse::<f64>().is_err() {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The most characters one spreadsheet cell holds.
const CELL_MAX_CHARS: usize = 32_767;

/// One sheet: the header row, then the rows; numbers as numbers, everything else as text.
fn xlsx(
    sheet_name: &str,
    header: &[String],
    rows: &[Vec<Value>],
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    // Sheet names: at most 31 characters, none of []:*?/\.
    let name: String = sheet_name
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect();
    if !name.is_empty() {
        sheet.set_name(name)?;
    }
    let too_wide = || rust_xlsxwriter::XlsxError::ParameterError("too many columns".into());
    for (c, title) in header.iter().enumerate() {
        sheet.write_string(0, u16::try_from(c).map_err(|_| too_wide())?, title)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r =
            u32::try_from(r + 1).map_err(|_| rust_xlsxwriter::XlsxError::RowColumnLimitError)?;
        for (c, value) in row.iter().enumerate() {
            let c = u16::try_from(c).map_err(|_| too_wide())?;
            match value {
                Value::Null => {}
                Value::Number(n) => match n.as_f64() {
                    Some(f) => {
                        sheet.write_number(r, c, f)?;
                    }
                    None => {
                        sheet.write_string(r, c, n.to_string())?;
                    }
                },
                other => {
                    let text: String = cell_text(other).chars().take(CELL_MAX_CHARS).collect();
                    sheet.write_string(r, c, text)?;
                }
            }
        }
    }
    book.save_to_buffer()
}

/// `GET /api/v1/open-data/download/{name}.csv|.xlsx` (public).
pub(crate) async fn download(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(params): Query<DownloadParams>,
) -> Result<Response, ApiError> {
    let not_found = || ServiceError::new(ErrorKind::NotFound, "not_found", "dataset not found");
    let (name, ext) = file.rsplit_once('.').ok_or_else(not_found)?;
    if ext != "csv" && ext != "xlsx" {
        return Err(not_found().into());
    }
    let (dataset, release) = state.services.open_release(name, params.version).await?;
    let header_row: Vec<String> = dataset.columns.iter().map(|c| c.0.to_owned()).collect();
    let rows: Vec<Vec<Value>> = serde_json::from_str(&release.rows).unwrap_or_default();
    let filename = format!("{}-v{}.{ext}", dataset.name, release.version);
    let (content_type, body) = if ext == "csv" {
        let mut text = String::from("\u{feff}");
        text.push_str(&header_row.join(","));
        text.push_str("\r\n");
        for row in &rows {
            let cells: Vec<String> = row.iter().map(|v| csv_field(&cell_text(v))).collect();
            text.push_str(&cells.join(","));
            text.push_str("\r\n");
        }
        ("text/csv; charset=utf-8", text.into_bytes())
    } else {
        let bytes = xlsx(dataset.name, &header_row, &rows).map_err(|err| {
            tracing::error!(error = %err, "cannot build the xlsx download");
            ServiceError::internal()
        })?;
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            bytes,
        )
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (
                header::HeaderName::from_static("x-urbis-version"),
                release.version.to_string(),
            ),
            (
                header::HeaderName::from_static("x-urbis-content-sha256"),
                release.content_hash.clone(),
            ),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_and_fields() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("-1.5"), "-1.5");
        let book = xlsx(
            "t/1",
            &["a".into(), "n".into()],
            &[vec![Value::from("x<y"), Value::from(2.5)]],
        )
        .unwrap();
        assert_eq!(&book[..2], b"PK");
    }
}
