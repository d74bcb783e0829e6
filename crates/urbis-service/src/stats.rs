//! Evaluation indicators computed from the incrementally kept counters (STANDARDS §5.6–5.7).
//! Counters are keyed by the case's report day, so a period's rates describe the cases reported
//! in that period and never exceed 100 %.

use std::collections::HashMap;

use urbis_domain::role::{Actor, Role};
use urbis_storage::{reference, stats};

use crate::auth::require_role;
use crate::{Result, ServiceError, Services};

/// Counters and rates for one scope and period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Indicators {
    pub counts: HashMap<String, i64>,
}

fn ratio(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

impl Indicators {
    /// Returns one counter (0 when absent).
    pub fn get(&self, metric: &str) -> i64 {
        self.counts.get(metric).copied().unwrap_or(0)
    }

    /// 立案数: cases opened (including those fixed on the spot).
    pub fn registered(&self) -> i64 {
        self.get("registered")
    }

    /// 结案率 = 结案数 / 立案数.
    pub fn closure_rate(&self) -> Option<f64> {
        ratio(self.get("closed"), self.registered())
    }

    /// 按期结案率 = 按期结案数 / 结案数 (closures of type 正常 among all closures).
    pub fn on_time_closure_rate(&self) -> Option<f64> {
        ratio(self.get("closed_on_time"), self.get("closed"))
    }

    /// 按期处置率 = 按期处置数 / 处置数.
    pub fn on_time_handling_rate(&self) -> Option<f64> {
        ratio(self.get("handled_on_time"), self.get("handled"))
    }

    /// 返工率 = 返工数 / 处置数.
    pub fn rework_rate(&self) -> Option<f64> {
        ratio(self.get("reworked"), self.get("handled"))
    }

    /// 准确派遣率 = (派遣数 − 回退数) / 派遣数.
    pub fn accurate_dispatch_rate(&self) -> Option<f64> {
        ratio(
            self.get("dispatched") - self.get("returned"),
            self.get("dispatched"),
        )
    }

    /// 响应率 = 按时签收数 / 派遣数.
    pub fn response_rate(&self) -> Option<f64> {
        ratio(self.get("responded_on_time"), self.get("dispatched"))
    }

    /// 解决率 = 评价为已解决数 / 评价数.
    pub fn resolution_rate(&self) -> Option<f64> {
        ratio(self.get("resolved"), self.get("evaluated"))
    }

    /// 满意率 = (满意 + 基本满意) / 评价数.
    pub fn satisfaction_rate(&self) -> Option<f64> {
        ratio(self.get("satisfied"), self.get("evaluated"))
    }

    /// 协办按期率 = 按期完成的协办任务数 / 完成的协办任务数 (supporting departments' sub-tasks).
    pub fn cohandle_on_time_rate(&self) -> Option<f64> {
        ratio(self.get("cohandled_on_time"), self.get("cohandled"))
    }
}

/// A period of report days, inclusive, as YYYY-MM-DD.
#[derive(Debug, Clone)]
pub struct Period {
    pub from: String,
    pub to: String,
}

impl Period {
    /// Validates a period: both days parse, from ≤ to, at most ten years.
    pub fn parse(from: &str, to: &str) -> Result<Period> {
        let parse = |d: &str| {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                ServiceError::invalid("invalid_period", format!("bad day {d:?}, use YYYY-MM-DD"))
            })
        };
        let (start, end) = (parse(from)?, parse(to)?);
        if start > end || (end - start).num_days() > 3660 {
            return Err(ServiceError::invalid(
                "invalid_period",
                "from must be before to, at most ten years apart",
            ));
        }
        Ok(Period {
            from: from.to_owned(),
            to: to.to_owned(),
        })
    }
}

const STATS_ROLES: &[Role] = &[
    Role::Operator,
    Role::ShiftLead,
    Role::Dispatcher,
    Role::GridSupervisor,
    Role::Leader,
    Role::Admin,
    Role::DeptHandler,
    Role::DataOfficer,
];

impl Services {
    pub(crate) async fn scope_path(&self, actor: &Actor, area_id: Option<i64>) -> Result<String> {
        require_role(actor, STATS_ROLES)?;
        let mut conn = self.db().read().await?;
        let path = match area_id {
            Some(id) => reference::get_area(&mut conn, id).await?.path,
            None => match &actor.area_scope {
                Some(scope) => scope.path.clone(),
                None => "/".to_owned(),
            },
        };
        if !actor.covers_area(&path) {
            return Err(ServiceError::forbidden("area outside your scope"));
        }
        Ok(path)
    }

    /// Returns the indicators of an area (default: the actor's scope) for a period.
    pub async fn indicators(
        &self,
        actor: &Actor,
        area_id: Option<i64>,
        period: &Period,
    ) -> Result<Indicators> {
        let path = self.scope_path(actor, area_id).await?;
        let mut conn = self.db().read().await?;
        let rows = stats::area_totals(&mut conn, &path, &period.from, &period.to).await?;
        Ok(Indicators {
            counts: rows.into_iter().collect(),
        })
    }

    /// Returns indicators for each area of a level inside the scope.
    pub async fn indicators_by_area(
        &self,
        actor: &Actor,
        level: &str,
        area_id: Option<i64>,
        period: &Period,
    ) -> Result<Vec<(i64, Indicators)>> {
        if urbis_domain::area::AreaLevel::parse(level).is_none() {
            return Err(ServiceError::invalid(
                "invalid_level",
                format!("unknown level {level:?}"),
            ));
        }
        let path = self.scope_path(actor, area_id).await?;
        let mut conn = self.db().read().await?;
        let rows =
            stats::totals_by_area_level(&mut conn, level, &path, &period.from, &period.to).await?;
        Ok(group(rows))
    }

    /// Returns indicators for each department (city-wide staff only).
    pub async fn indicators_by_dept(
        &self,
        actor: &Actor,
        period: &Period,
    ) -> Result<Vec<(i64, Indicators)>> {
        require_role(actor, STATS_ROLES)?;
        let mut conn = self.db().read().await?;
        let rows = stats::totals_by_dept(&mut conn, &period.from, &period.to).await?;
        let mut grouped = group(rows);
        if actor.role == Role::DeptHandler {
            grouped.retain(|(dept, _)| Some(*dept) == actor.dept_id.map(|d| d.0));
        }
        // An area-scoped reader sees the departments of its area only.
        if let Some(scope) = &actor.area_scope {
            let paths: std::collections::HashMap<i64, Option<String>> =
                stats::department_area_paths(&mut conn)
                    .await?
                    .into_iter()
                    .collect();
            grouped.retain(|(dept, _)| {
                paths
                    .get(dept)
                    .and_then(|p| p.as_deref())
                    .is_some_and(|path| path.starts_with(&scope.path))
            });
        }
        Ok(grouped)
    }

    /// Returns counters per report day.
    pub async fn indicators_by_day(
        &self,
        actor: &Actor,
        area_id: Option<i64>,
        period: &Period,
    ) -> Result<Vec<(String, Indicators)>> {
        let path = self.scope_path(actor, area_id).await?;
        let mut conn = self.db().read().await?;
        let mut days: Vec<(String, Indicators)> = Vec::new();
        for (day, metric, n) in
            stats::totals_by_day(&mut conn, &path, &period.from, &period.to).await?
        {
            if days.last().map(|(d, _)| d != &day).unwrap_or(true) {
                days.push((day.clone(), Indicators::default()));
            }
            if let Some((_, indicators)) = days.last_mut() {
                indicators.counts.insert(metric, n);
            }
        }
        Ok(days)
    }

    /// Returns appeals reported per day and level-1 category (its 2-digit code; "" for cases
    /// without a category) in the scope: the dashboard's trends by category.
    pub async fn reported_by_day_and_category(
        &self,
        actor: &Actor,
        area_id: Option<i64>,
        period: &Period,
    ) -> Result<Vec<(String, String, i64)>> {
        let path = self.scope_path(actor, area_id).await?;
        let mut conn = self.db().read().await?;
        Ok(stats::metric_by_day_and_top_category(
            &mut conn,
            &path,
            "reported",
            &period.from,
            &period.to,
        )
        .await?)
    }

    /// Returns the current number of cases per state (and overdue) in the scope.
    pub async fn state_counts(
        &self,
        actor: &Actor,
        area_id: Option<i64>,
    ) -> Result<Vec<(String, bool, i64)>> {
        let path = self.scope_path(actor, area_id).await?;
        let mut conn = self.db().read().await?;
        Ok(stats::state_counts(&mut conn, &path).await?)
    }

    /// Returns open and overdue counts per area of a level (for the grid map).
    pub async fn open_by_area(
        &self,
        actor: &Actor,
        level: &str,
        area_id: Option<i64>,
    ) -> Result<Vec<(i64, i64, i64)>> {
        if urbis_domain::area::AreaLevel::parse(level).is_none() {
            return Err(ServiceError::invalid(
                "invalid_level",
                format!("unknown level {level:?}"),
            ));
        }
        let path = self.scope_path(actor, area_id).await?;
        let mut conn = self.db().read().await?;
        Ok(stats::open_by_area_level(&mut conn, level, &path).await?)
    }
}

fn group(rows: Vec<(i64, String, i64)>) -> Vec<(i64, Indicators)> {
    let mut by_id: HashMap<i64, Indicators> = HashMap::new();
    for (id, metric, n) in rows {
        by_id.entry(id).or_default().counts.insert(metric, n);
    }
    let mut out: Vec<_> = by_id.into_iter().collect();
    out.sort_by_key(|(id, _)| *id);
    out
}

impl Services {
    /// The period's city-local days as stored instants: from its first midnight to the one after it.
    pub(crate) fn period_instants(
        &self,
        period: &Period,
    ) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
        let day = |d: &str| {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| ServiceError::invalid("invalid_period", "bad day, use YYYY-MM-DD"))
        };
        let start = self.from_local(day(&period.from)?.and_time(chrono::NaiveTime::MIN));
        let end_day = day(&period.to)?
            .checked_add_days(chrono::Days::new(1))
            .ok_or_else(|| ServiceError::invalid("invalid_period", "the period ends too late"))?;
        Ok((
            start,
            self.from_local(end_day.and_time(chrono::NaiveTime::MIN)),
        ))
    }
}
