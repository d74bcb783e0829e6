//! The leader's view of a frozen period: ranking, grade distribution, red and black lists (红黑榜),
//! month-on-month and year-on-year change, and the XLSX workbook offices file.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use rust_xlsxwriter::{Format, Workbook};
use urbis_domain::role::{Actor, Role};
use urbis_storage::assessment::{self as repo, ResultRow};

use crate::assessment::result_case_ids;
use crate::auth::require_role;
use crate::{Result, ServiceError, Services};

/// One unit in the ranking.
#[derive(Clone, Debug)]
pub struct RankedUnit {
    pub result: ResultRow,
    /// 1 for the best graded unit; `None` for units without a grade.
    pub rank: Option<usize>,
    /// Score of the same unit in the previous month and in the same month a year before (same scheme
    /// version), when those periods were frozen.
    pub previous_month: Option<f64>,
    pub previous_year: Option<f64>,
}

/// A frozen period as leaders read it.
#[derive(Clone, Debug)]
pub struct Ranking {
    pub scheme_name: String,
    pub scheme_version: i64,
    pub units: Vec<RankedUnit>,
    /// Units per grade A–E, and `-` for units without a grade.
    pub distribution: BTreeMap<String, usize>,
    /// 红榜: units graded A. 黑榜: units graded E.
    pub red: Vec<i64>,
    pub black: Vec<i64>,
}

fn shifted(period: &str, back: Months) -> Option<String> {
    let first = NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d").ok()?;
    Some(first.checked_sub_months(back)?.format("%Y-%m").to_string())
}

impl Services {
    /// Ranks a frozen period's current results (leaders and admins).
    pub async fn assessment_ranking(
        &self,
        actor: &Actor,
        scheme_id: i64,
        period: &str,
        unit_kind: &str,
    ) -> Result<Ranking> {
        require_role(actor, &[Role::Admin, Role::Leader])?;
        let mut conn = self.db().read().await?;
        let scheme = repo::get_scheme(&mut conn, scheme_id).await?;
        let current = repo::list_results(&mut conn, scheme_id, period, unit_kind, true).await?;
        if current.is_empty() {
            return Err(ServiceError::not_found("frozen period"));
        }
        let mut earlier = Vec::new();
        for back in [Months::new(1), Months::new(12)] {
            let scores: BTreeMap<i64, Option<f64>> = match shifted(period, back) {
                Some(p) => repo::list_results(&mut conn, scheme_id, &p, unit_kind, true)
                    .await?
                    .into_iter()
                    .map(|r| (r.unit_id, r.score))
                    .collect(),
                None => BTreeMap::new(),
            };
            earlier.push(scores);
        }
        let mut units: Vec<RankedUnit> = current
            .into_iter()
            .map(|result| RankedUnit {
                previous_month: earlier[0].get(&result.unit_id).copied().flatten(),
                previous_year: earlier[1].get(&result.unit_id).copied().flatten(),
                rank: None,
                result,
            })
            .collect();
        // Graded units by score, then the rest; ties keep the unit order.
        units.sort_by(|a, b| {
            let key = |u: &RankedUnit| (u.result.grade.is_none(), -u.result.score.unwrap_or(-1.0));
            key(a)
                .partial_cmp(&key(b))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.result.unit_id.cmp(&b.result.unit_id))
        });
        let mut rank = 0;
        let mut distribution: BTreeMap<String, usize> = BTreeMap::new();
        for unit in &mut units {
            if unit.result.grade.is_some() {
                rank += 1;
                unit.rank = Some(rank);
            }
            *distribution
                .entry(unit.result.grade.clone().unwrap_or_else(|| "-".into()))
                .or_default() += 1;
        }
        let with_grade = |g: &str| {
            units
                .iter()
                .filter(|u| u.result.grade.as_deref() == Some(g))
                .map(|u| u.result.unit_id)
                .collect::<Vec<_>>()
        };
        Ok(Ranking {
            scheme_name: scheme.name,
            scheme_version: scheme.version,
            red: with_grade("A"),
            black: with_grade("E"),
            distribution,
            units,
        })
    }

    /// Writes a frozen period as an XLSX workbook: 考核结果 (ranking with every indicator), 红黑榜, 案件明细.
    pub async fn assessment_workbook(
        &self,
        actor: &Actor,
        scheme_id: i64,
        period: &str,
        unit_kind: &str,
    ) -> Result<Vec<u8>> {
        let ranking = self
            .assessment_ranking(actor, scheme_id, period, unit_kind)
            .await?;
        workbook(&ranking, period, unit_kind).map_err(|err| {
            tracing::error!(%err, "assessment workbook");
            ServiceError::internal()
        })
    }
}

fn unit_kind_zh(kind: &str) -> &'static str {
    match kind {
        "department" => "部门",
        "partner" => "合作单位",
        "district" => "区县",
        "street" => "街道",
        "community" => "社区",
        "responsibility_grid" => "责任网格",
        "supervisor" => "网格监督员",
        _ => "网格",
    }
}

fn workbook(
    ranking: &Ranking,
    period: &str,
    unit_kind: &str,
) -> std::result::Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.0%");
    let score = Format::new().set_num_format("0.00");
    let indicators: Vec<(String, String)> = ranking
        .units
        .first()
        .and_then(|u| serde_json::from_str::<Vec<serde_json::Value>>(&u.result.detail).ok())
        .unwrap_or_default()
        .iter()
        .map(|v| {
            (
                v["indicator"].as_str().unwrap_or_default().to_owned(),
                v["label"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();

    let sheet = book.add_worksheet().set_name("考核结果")?;
    sheet.write_string_with_format(
        0,
        0,
        format!(
            "{} 第{}版 {period} {}考核结果",
            ranking.scheme_name,
            ranking.scheme_version,
            unit_kind_zh(unit_kind)
        ),
        &bold,
    )?;
    let mut headers: Vec<String> = vec!["排名".into(), "单位".into(), "案件数".into()];
    headers.extend(indicators.iter().map(|(_, label)| label.clone()));
    headers.extend(
        [
            "得分",
            "等级",
            "上月得分",
            "环比",
            "去年同期得分",
            "同比",
            "修订版本",
            "申诉剔除案件",
        ]
        .map(String::from),
    );
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(2, c as u16, h, &bold)?;
    }
    for (i, unit) in ranking.units.iter().enumerate() {
        let r = &unit.result;
        let row = 3 + i as u32;
        if let Some(rank) = unit.rank {
            sheet.write_number(row, 0, rank as f64)?;
        }
        sheet.write_string(row, 1, &r.unit_name)?;
        sheet.write_number(row, 2, r.cases as f64)?;
        let values: Vec<serde_json::Value> = serde_json::from_str(&r.detail).unwrap_or_default();
        let mut col = 3u16;
        for (key, _) in &indicators {
            let rate = values
                .iter()
                .find(|v| v["indicator"] == key.as_str())
                .and_then(|v| v["rate"].as_f64());
            if let Some(rate) = rate {
                sheet.write_number_with_format(row, col, rate, &percent)?;
            }
            col += 1;
        }
        if let Some(s) = r.score {
            sheet.write_number_with_format(row, col, s, &score)?;
        }
        if let Some(g) = &r.grade {
            sheet.write_string(row, col + 1, g)?;
        }
        for (offset, earlier) in [(2u16, unit.previous_month), (4, unit.previous_year)] {
            if let Some(e) = earlier {
                sheet.write_number_with_format(row, col + offset, e, &score)?;
                if let Some(s) = r.score {
                    sheet.write_number_with_format(row, col + offset + 1, s - e, &score)?;
                }
            }
        }
        sheet.write_number(row, col + 6, r.revision as f64)?;
        sheet.write_string(row, col + 7, &r.excluded)?;
    }

    let lists = book.add_worksheet().set_name("红黑榜")?;
    lists.write_string_with_format(0, 0, "红榜（A）", &bold)?;
    lists.write_string_with_format(0, 2, "黑榜（E）", &bold)?;
    let name_of = |id: &i64| {
        ranking
            .units
            .iter()
            .find(|u| u.result.unit_id == *id)
            .map_or(String::new(), |u| u.result.unit_name.clone())
    };
    for (i, id) in ranking.red.iter().enumerate() {
        lists.write_string(1 + i as u32, 0, name_of(id))?;
    }
    for (i, id) in ranking.black.iter().enumerate() {
        lists.write_string(1 + i as u32, 2, name_of(id))?;
    }

    let cases = book.add_worksheet().set_name("案件明细")?;
    cases.write_string_with_format(0, 0, "单位", &bold)?;
    cases.write_string_with_format(0, 1, "案件编号", &bold)?;
    let mut row = 1u32;
    for unit in &ranking.units {
        for id in result_case_ids(&unit.result) {
            cases.write_string(row, 0, &unit.result.unit_name)?;
            cases.write_number(row, 1, id as f64)?;
            row += 1;
        }
    }
    book.save_to_buffer()
}
