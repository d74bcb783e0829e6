//! 绩效考核: assessment schemes (versioned, audited), monthly results frozen per unit, and appeals (申诉)
//! that recompute one unit without the contested cases while keeping the earlier revision.
//!
//! A result stores the facts of every case it used (`case_ids`: `id:bits` pairs), so a recomputation after an
//! appeal uses the data the period was frozen with, never later events.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use urbis_domain::assessment::{CaseFacts, Indicator, Scheme, Weighted};
use urbis_domain::role::{Actor, Role};
use urbis_storage::assessment::{
    self as repo, AppealRow, CaseFactRow, NewResult, ResultRow, SchemeRow, UnitRow,
};

use crate::auth::require_role;
use crate::error::ErrorKind;
use crate::{Result, ServiceError, Services};

/// Unit kinds a period can be assessed for.
/// `responsibility_grid` is a 责任网格 (its unit grids' cases); `supervisor` the post of a grid supervisor (the
/// cases of every responsibility grid they supervise).
pub const UNIT_KINDS: [&str; 8] = [
    "department",
    // Outside partners (物业, utilities, social organisations, volunteers) are assessed apart.
    "partner",
    "district",
    "street",
    "community",
    "grid",
    "responsibility_grid",
    "supervisor",
];
/// Most cases an appeal may contest.
const MAX_CONTESTED: usize = 500;

/// One weighted indicator as schemes store it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightSpec {
    pub indicator: String,
    pub weight: f64,
    /// Defaults to the indicator's natural direction.
    #[serde(default)]
    pub higher_is_better: Option<bool>,
}

/// A scheme's body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchemeSpec {
    pub indicators: Vec<WeightSpec>,
    pub min_cases: u64,
    /// Lowest scores of A, B, C and D.
    pub bands: [f64; 4],
}

impl SchemeSpec {
    fn to_domain(&self) -> Result<Scheme> {
        if self.indicators.len() > Indicator::ALL.len() {
            return Err(ServiceError::invalid(
                "invalid_scheme",
                "too many indicators",
            ));
        }
        let indicators = self
            .indicators
            .iter()
            .map(|w| {
                let indicator = Indicator::parse(&w.indicator).ok_or_else(|| {
                    ServiceError::invalid(
                        "invalid_scheme",
                        format!("unknown indicator {:?}", w.indicator),
                    )
                })?;
                Ok(Weighted {
                    indicator,
                    weight: w.weight,
                    higher_is_better: w
                        .higher_is_better
                        .unwrap_or_else(|| indicator.higher_is_better()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let scheme = Scheme {
            indicators,
            min_cases: self.min_cases,
            bands: self.bands,
        };
        scheme
            .validate()
            .map_err(|err| ServiceError::invalid("invalid_scheme", err.to_string()))?;
        Ok(scheme)
    }
}

fn spec_of(row: &SchemeRow) -> Result<SchemeSpec> {
    serde_json::from_str(&row.body).map_err(|_| ServiceError::internal())
}

fn facts_bits(f: &CaseFacts) -> u32 {
    [
        f.closed,
        f.closed_on_time,
        f.had_feedback,
        f.reworked,
        f.dispatched,
        f.returned,
        f.supervised,
        f.rated,
        f.satisfied,
        f.resolved,
    ]
    .iter()
    .enumerate()
    .map(|(i, &b)| u32::from(b) << i)
    .sum()
}

fn facts_from_bits(case_id: i64, bits: u32) -> CaseFacts {
    let b = |i: u32| bits & (1 << i) != 0;
    CaseFacts {
        case_id,
        closed: b(0),
        closed_on_time: b(1),
        had_feedback: b(2),
        reworked: b(3),
        dispatched: b(4),
        returned: b(5),
        supervised: b(6),
        rated: b(7),
        satisfied: b(8),
        resolved: b(9),
    }
}

fn facts_of(row: &CaseFactRow) -> CaseFacts {
    CaseFacts {
        case_id: row.id,
        closed: row.closed,
        closed_on_time: row.closed_on_time,
        had_feedback: row.had_feedback,
        reworked: row.rework_count > 0,
        dispatched: row.lead_dept_id.is_some(),
        returned: row.return_count > 0,
        supervised: row.supervise_count > 0,
        rated: row.rated,
        satisfied: row.satisfied,
        resolved: row.resolved,
    }
}

fn encode_cases(cases: &[CaseFacts]) -> String {
    cases
        .iter()
        .map(|c| format!("{}:{}", c.case_id, facts_bits(c)))
        .collect::<Vec<_>>()
        .join(",")
}

fn decode_cases(text: &str) -> Vec<CaseFacts> {
    text.split(',')
        .filter_map(|pair| {
            let (id, bits) = pair.split_once(':')?;
            Some(facts_from_bits(id.parse().ok()?, bits.parse().ok()?))
        })
        .collect()
}

/// What every unit of one computation shares.
struct Grading<'a> {
    scheme: &'a Scheme,
    scheme_id: i64,
    period: &'a str,
    unit_kind: &'a str,
    at: chrono::DateTime<chrono::Utc>,
}

/// Grades `cases` by the scheme into a new result row.
fn grade_unit<'a>(
    g: &Grading<'a>,
    unit: &'a UnitRow,
    cases: &[CaseFacts],
    revision: i64,
    excluded: String,
) -> NewResult<'a> {
    let Grading {
        scheme,
        scheme_id,
        period,
        unit_kind,
        at,
    } = *g;
    let grade = scheme.assess(cases);
    let detail: Vec<serde_json::Value> = grade
        .values
        .iter()
        .map(|v| {
            serde_json::json!({
                "indicator": v.indicator.as_str(),
                "label": v.indicator.label_zh(),
                "numerator": v.numerator,
                "denominator": v.denominator,
                "rate": v.rate,
            })
        })
        .collect();
    NewResult {
        scheme_id,
        period,
        unit_kind,
        unit_id: unit.id,
        unit_name: &unit.name,
        revision,
        cases: grade.cases as i64,
        score: grade.score.map(|s| (s * 100.0).round() / 100.0),
        grade: grade.grade.map(String::from),
        detail: serde_json::Value::Array(detail).to_string(),
        case_ids: encode_cases(cases),
        excluded,
        frozen_at: at,
    }
}

/// Returns the case ids a result used.
pub fn result_case_ids(row: &ResultRow) -> Vec<i64> {
    decode_cases(&row.case_ids)
        .into_iter()
        .map(|c| c.case_id)
        .collect()
}

impl Services {
    /// Stores the next version of scheme `code` (leaders and admins).
    pub async fn create_assessment_scheme(
        &self,
        actor: &Actor,
        code: &str,
        name: &str,
        spec: &SchemeSpec,
    ) -> Result<SchemeRow> {
        require_role(actor, &[Role::Admin, Role::Leader])?;
        let code = code.trim();
        if code.is_empty()
            || code.len() > 40
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ServiceError::invalid(
                "invalid_scheme",
                "code: 1–40 letters, digits, '_' or '-'",
            ));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ServiceError::invalid(
                "invalid_scheme",
                "name: 1–100 characters",
            ));
        }
        spec.to_domain()?;
        let body = serde_json::to_string(spec).map_err(|_| ServiceError::internal())?;
        let mut tx = self.db().begin_write().await?;
        let row =
            repo::insert_scheme(&mut tx, code, name, &body, actor.user_id.0, self.now()).await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            "assessment_scheme_created",
            "assessment_scheme",
            row.id,
            "",
            "",
            &serde_json::json!({ "code": code, "version": row.version, "body": spec }),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Returns every scheme version (leaders and admins).
    pub async fn assessment_schemes(&self, actor: &Actor) -> Result<Vec<SchemeRow>> {
        require_role(actor, &[Role::Admin, Role::Leader])?;
        let mut conn = self.db().read().await?;
        Ok(repo::list_schemes(&mut conn).await?)
    }

    /// Computes and freezes the results of a month (`YYYY-MM`, city-local) for every unit of a kind.
    pub async fn freeze_assessment(
        &self,
        actor: &Actor,
        scheme_id: i64,
        period: &str,
        unit_kind: &str,
    ) -> Result<Vec<ResultRow>> {
        require_role(actor, &[Role::Admin, Role::Leader])?;
        if !UNIT_KINDS.contains(&unit_kind) {
            return Err(ServiceError::invalid(
                "invalid_unit_kind",
                format!("unit kind is one of {}", UNIT_KINDS.join(", ")),
            ));
        }
        let first = NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d")
            .ok()
            .filter(|_| period.len() == 7)
            .ok_or_else(|| ServiceError::invalid("invalid_period", "period is YYYY-MM"))?;
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .ok_or_else(|| ServiceError::invalid("invalid_period", "period is too late"))?;
        let from = self.from_local(first.and_time(chrono::NaiveTime::MIN));
        let to = self.from_local(next.and_time(chrono::NaiveTime::MIN));
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let scheme_row = repo::get_scheme(&mut tx, scheme_id).await?;
        let scheme = spec_of(&scheme_row)?.to_domain()?;
        if repo::period_frozen(&mut tx, scheme_id, period, unit_kind).await? {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "period_frozen",
                format!("{period} is already frozen for this scheme version and {unit_kind}"),
            ));
        }
        let facts = repo::case_facts(&mut tx, from, to).await?;
        // Units, and for each case the unit it counts for.
        let mut by_area: HashMap<i64, i64> = HashMap::new();
        let units: Vec<UnitRow> = match unit_kind {
            "department" => repo::departments(&mut tx).await?,
            "partner" => repo::partners(&mut tx).await?,
            "responsibility_grid" | "supervisor" => {
                let mut units: Vec<UnitRow> = Vec::new();
                for row in repo::responsibility_units(&mut tx).await? {
                    let unit = if unit_kind == "supervisor" {
                        match row.supervisor_user_id {
                            Some(id) => (id, row.supervisor_name.unwrap_or_default()),
                            None => continue,
                        }
                    } else {
                        (row.grid_id, row.grid_name)
                    };
                    by_area.insert(row.unit_area_id, unit.0);
                    if !units.iter().any(|u| u.id == unit.0) {
                        units.push(UnitRow {
                            id: unit.0,
                            name: unit.1,
                            path: String::new(),
                        });
                    }
                }
                units.sort_by_key(|u| u.id);
                units
            }
            level => repo::areas_of_level(&mut tx, level).await?,
        };
        let mut by_unit: HashMap<i64, Vec<CaseFacts>> = HashMap::new();
        for row in &facts {
            let unit = match unit_kind {
                "department" | "partner" => row.lead_dept_id,
                "responsibility_grid" | "supervisor" => by_area.get(&row.area_id).copied(),
                _ => units
                    .iter()
                    .find(|u| row.area_path.starts_with(&u.path))
                    .map(|u| u.id),
            };
            if let Some(unit) = unit {
                by_unit.entry(unit).or_default().push(facts_of(row));
            }
        }
        let grading = Grading {
            scheme: &scheme,
            scheme_id,
            period,
            unit_kind,
            at: now,
        };
        for unit in &units {
            let cases = by_unit.remove(&unit.id).unwrap_or_default();
            let new = grade_unit(&grading, unit, &cases, 1, String::new());
            repo::insert_result(&mut tx, &new).await?;
        }
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "assessment_frozen",
            "assessment_scheme",
            scheme_id,
            "",
            "frozen",
            &serde_json::json!({
                "period": period, "unit_kind": unit_kind, "version": scheme_row.version,
                "units": units.len(), "cases": facts.len(),
            }),
        )
        .await?;
        tx.commit().await?;
        let mut conn = self.db().read().await?;
        Ok(repo::list_results(&mut conn, scheme_id, period, unit_kind, true).await?)
    }

    /// Returns a period's results: the current revisions, or with `all` every revision.
    pub async fn assessment_results(
        &self,
        actor: &Actor,
        scheme_id: i64,
        period: &str,
        unit_kind: &str,
        all: bool,
    ) -> Result<Vec<ResultRow>> {
        require_role(actor, &[Role::Admin, Role::Leader])?;
        let mut conn = self.db().read().await?;
        repo::get_scheme(&mut conn, scheme_id).await?;
        Ok(repo::list_results(&mut conn, scheme_id, period, unit_kind, !all).await?)
    }

    /// Returns one result (leaders, admins, and the handlers of the department it grades).
    pub async fn assessment_result(&self, actor: &Actor, id: i64) -> Result<ResultRow> {
        let mut conn = self.db().read().await?;
        let row = repo::get_result(&mut conn, id).await?;
        check_unit_access(actor, &row)?;
        Ok(row)
    }

    /// Files an appeal against a current result, naming the contested cases.
    pub async fn file_assessment_appeal(
        &self,
        actor: &Actor,
        result_id: i64,
        reason: &str,
        case_ids: &[i64],
    ) -> Result<AppealRow> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 2000 {
            return Err(ServiceError::invalid(
                "invalid_appeal",
                "reason: 1–2000 characters",
            ));
        }
        if case_ids.is_empty() || case_ids.len() > MAX_CONTESTED {
            return Err(ServiceError::invalid(
                "invalid_appeal",
                format!("name 1–{MAX_CONTESTED} contested cases"),
            ));
        }
        let mut tx = self.db().begin_write().await?;
        let result = repo::get_result(&mut tx, result_id).await?;
        check_unit_access(actor, &result)?;
        if !result.current {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "result_replaced",
                "this result was replaced by a later revision",
            ));
        }
        let used = result_case_ids(&result);
        if let Some(stray) = case_ids.iter().find(|id| !used.contains(id)) {
            return Err(ServiceError::invalid(
                "invalid_appeal",
                format!("case {stray} is not counted in this result"),
            ));
        }
        let mut ids = case_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let list = crate::case_rows::format_ids(&ids);
        let row = repo::insert_appeal(
            &mut tx,
            result_id,
            reason,
            &list,
            actor.user_id.0,
            self.now(),
        )
        .await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            "assessment_appeal_filed",
            "assessment_appeal",
            row.id,
            "",
            "pending",
            &serde_json::json!({ "result_id": result_id, "cases": ids, "reason": reason }),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Accepts or rejects a pending appeal (leaders and admins: the assessment office). Accepting recomputes the
    /// unit from the frozen facts without the contested cases as a new revision; the old one is kept.
    pub async fn decide_assessment_appeal(
        &self,
        actor: &Actor,
        appeal_id: i64,
        accept: bool,
        note: &str,
    ) -> Result<(AppealRow, Option<ResultRow>)> {
        require_role(actor, &[Role::Admin, Role::Leader])?;
        if note.chars().count() > 2000 {
            return Err(ServiceError::invalid(
                "invalid_appeal",
                "note: at most 2000 characters",
            ));
        }
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let appeal = repo::get_appeal(&mut tx, appeal_id).await?;
        if appeal.state != "pending" {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "appeal_decided",
                "this appeal was already decided",
            ));
        }
        let old = repo::get_result(&mut tx, appeal.result_id).await?;
        let mut new_id = None;
        if accept {
            if !old.current {
                return Err(ServiceError::new(
                    ErrorKind::Conflict,
                    "result_replaced",
                    "the contested result was replaced by a later revision",
                ));
            }
            let contested = crate::case_rows::parse_ids(&appeal.case_ids);
            let kept: Vec<CaseFacts> = decode_cases(&old.case_ids)
                .into_iter()
                .filter(|c| !contested.contains(&c.case_id))
                .collect();
            let scheme = spec_of(&repo::get_scheme(&mut tx, old.scheme_id).await?)?.to_domain()?;
            let unit = UnitRow {
                id: old.unit_id,
                name: old.unit_name.clone(),
                path: String::new(),
            };
            let mut excluded: Vec<&str> =
                old.excluded.split(',').filter(|s| !s.is_empty()).collect();
            let contested_text = appeal.case_ids.clone();
            excluded.push(&contested_text);
            let grading = Grading {
                scheme: &scheme,
                scheme_id: old.scheme_id,
                period: &old.period,
                unit_kind: &old.unit_kind,
                at: now,
            };
            let new = grade_unit(&grading, &unit, &kept, old.revision + 1, excluded.join(","));
            repo::retire_result(&mut tx, old.id).await?;
            new_id = Some(repo::insert_result(&mut tx, &new).await?);
        }
        let state = if accept { "accepted" } else { "rejected" };
        if !repo::decide_appeal(
            &mut tx,
            appeal_id,
            state,
            actor.user_id.0,
            now,
            note.trim(),
            new_id,
        )
        .await?
        {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "appeal_decided",
                "this appeal was already decided",
            ));
        }
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "assessment_appeal_decided",
            "assessment_appeal",
            appeal_id,
            "pending",
            state,
            &serde_json::json!({ "result_id": old.id, "new_result_id": new_id, "note": note.trim() }),
        )
        .await?;
        tx.commit().await?;
        let mut conn = self.db().read().await?;
        let appeal = repo::get_appeal(&mut conn, appeal_id).await?;
        let new = match new_id {
            Some(id) => Some(repo::get_result(&mut conn, id).await?),
            None => None,
        };
        Ok((appeal, new))
    }
}

/// Leaders and admins see every result; a department handler only their department's.
fn check_unit_access(actor: &Actor, row: &ResultRow) -> Result<()> {
    match actor.role {
        Role::Admin | Role::Leader => Ok(()),
        Role::DeptHandler | Role::Partner
            if matches!(row.unit_kind.as_str(), "department" | "partner")
                && actor.dept_id.map(|d| d.0) == Some(row.unit_id) =>
        {
            Ok(())
        }
        _ => Err(ServiceError::forbidden(
            "only leaders, admins and the graded department may see this result",
        )),
    }
}
