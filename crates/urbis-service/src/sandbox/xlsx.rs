//! A run's report as an XLSX workbook: the comparison, the backlog series, department workload
//! and overdue cases by category and by area, each value with its 95% interval.

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde_json::Value;

use crate::{Result, ServiceError};

/// Writes the workbook of a stored report document.
pub fn workbook(report: &Value) -> Result<Vec<u8>> {
    write(report).map_err(|err| {
        tracing::error!(%err, "sandbox workbook");
        ServiceError::internal()
    })
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

fn estimate(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    v: &Value,
    fmt: &Format,
) -> std::result::Result<(), XlsxError> {
    sheet.write_number_with_format(row, col, num(&v["mean"]), fmt)?;
    sheet.write_number_with_format(row, col + 1, num(&v["lo"]), fmt)?;
    sheet.write_number_with_format(row, col + 2, num(&v["hi"]), fmt)?;
    Ok(())
}

fn headers(
    sheet: &mut Worksheet,
    row: u32,
    names: &[&str],
    bold: &Format,
) -> std::result::Result<(), XlsxError> {
    for (c, h) in names.iter().enumerate() {
        sheet.write_string_with_format(row, c as u16, *h, bold)?;
    }
    Ok(())
}

fn write(report: &Value) -> std::result::Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.0%");
    let count = Format::new().set_num_format("0.0");

    let sheet = book.add_worksheet().set_name("对比")?;
    sheet.write_string_with_format(
        0,
        0,
        format!(
            "政策沙盘：{}（{} 件模拟案件，历史 {} 件，{} 个随机种子，95% 区间）",
            report["scenario"].as_str().unwrap_or_default(),
            report["cases"],
            report["history_cases"],
            report["seeds"]
        ),
        &bold,
    )?;
    headers(
        sheet,
        2,
        &[
            "指标",
            "实际值",
            "基线",
            "基线下限",
            "基线上限",
            "方案",
            "方案下限",
            "方案上限",
            "差值",
            "差值下限",
            "差值上限",
            "显著",
        ],
        &bold,
    )?;
    for (i, row) in report["comparison"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let r = 3 + i as u32;
        let is_rate = row["indicator"]
            .as_str()
            .is_some_and(|s| s.ends_with("rate"));
        let fmt = if is_rate { &percent } else { &count };
        sheet.write_string(r, 0, row["label_zh"].as_str().unwrap_or_default())?;
        if let Some(observed) = row["observed"].as_f64() {
            sheet.write_number_with_format(r, 1, observed, fmt)?;
        }
        estimate(sheet, r, 2, &row["baseline"], fmt)?;
        estimate(sheet, r, 5, &row["scenario"], fmt)?;
        estimate(sheet, r, 8, &row["difference"], fmt)?;
        sheet.write_string(
            r,
            11,
            if row["significant"] == true {
                "是"
            } else {
                "否"
            },
        )?;
    }

    let sheet = book.add_worksheet().set_name("积压")?;
    headers(
        sheet,
        0,
        &["日期", "基线", "下限", "上限", "方案", "下限", "上限"],
        &bold,
    )?;
    let days = report["backlog_days"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (i, day) in days.iter().enumerate() {
        let r = 1 + i as u32;
        sheet.write_string(r, 0, day.as_str().unwrap_or_default())?;
        estimate(sheet, r, 1, &report["backlog_baseline"][i], &count)?;
        estimate(sheet, r, 4, &report["backlog_scenario"][i], &count)?;
    }

    for (name, key, unit) in [
        ("部门工作量", "workload", "部门"),
        ("分类超期", "overdue_by_category", "类别"),
        ("区域超期", "overdue_by_area", "区域"),
    ] {
        let sheet = book.add_worksheet().set_name(name)?;
        headers(
            sheet,
            0,
            &[unit, "基线", "下限", "上限", "方案", "下限", "上限"],
            &bold,
        )?;
        for (i, row) in report[key].as_array().into_iter().flatten().enumerate() {
            let r = 1 + i as u32;
            sheet.write_string(r, 0, row["name"].as_str().unwrap_or_default())?;
            estimate(sheet, r, 1, &row["baseline"], &count)?;
            estimate(sheet, r, 4, &row["scenario"], &count)?;
        }
    }
    book.save_to_buffer()
}
