//! Bulk downloads of an open dataset's release: CSV (UTF-8 with a byte-order mark, so
//! spreadsheet programs read the Chinese right) and XLSX (a minimal SpreadsheetML workbook of one
//! sheet with inline strings, stored in a zip without compression). Both carry the release's
//! version and content hash in headers (`X-Urbis-Version`, `X-Urbis-Content-SHA256`).

use std::io::Write;

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

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => {}
            c => out.push(c),
        }
    }
    out
}

fn column_name(mut index: usize) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

fn sheet_xml(header: &[String], rows: &[Vec<Value>]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
         <worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>",
    );
    let mut write_row = |r: usize, cells: Vec<Value>| {
        xml.push_str(&format!("<row r=\"{r}\">"));
        for (c, value) in cells.iter().enumerate() {
            let at = format!("{}{r}", column_name(c));
            match value {
                Value::Number(n) => xml.push_str(&format!("<c r=\"{at}\"><v>{n}</v></c>")),
                Value::Null => {}
                other => xml.push_str(&format!(
                    "<c r=\"{at}\" t=\"inlineStr\"><is><t xml:space=\"preserve\">{}</t></is></c>",
                    xml_escape(&cell_text(other))
                )),
            }
        }
        xml.push_str("</row>");
    };
    write_row(1, header.iter().map(|h| Value::String(h.clone())).collect());
    for (i, row) in rows.iter().enumerate() {
        write_row(i + 2, row.clone());
    }
    xml.push_str("</sheetData></worksheet>");
    xml
}

fn xlsx(sheet_name: &str, header: &[String], rows: &[Vec<Value>]) -> std::io::Result<Vec<u8>> {
    let parts: [(&str, String); 5] = [
        (
            "[Content_Types].xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
             <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
             <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
             <Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
             <Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>\
             </Types>".to_owned(),
        ),
        (
            "_rels/.rels",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
             <Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>\
             </Relationships>".to_owned(),
        ),
        (
            "xl/workbook.xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
                 xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><sheets>\
                 <sheet name=\"{}\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>",
                xml_escape(sheet_name)
            ),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
             <Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>\
             </Relationships>".to_owned(),
        ),
        ("xl/worksheets/sheet1.xml", sheet_xml(header, rows)),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in parts {
        zip.start_file(name, options)
            .map_err(std::io::Error::other)?;
        zip.write_all(text.as_bytes())?;
    }
    Ok(zip.finish().map_err(std::io::Error::other)?.into_inner())
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
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("-1.5"), "-1.5");
        let book = xlsx("t", &["a".into()], &[vec![Value::from("x<y")]]).unwrap();
        assert_eq!(&book[..2], b"PK");
    }
}
