//! Incrementally kept statistics: event counters per report day and the current number of cases
//! per state. Writers bump them in the transaction of the change; readers aggregate these small
//! tables and never scan cases.

use std::collections::BTreeMap;

use crate::sql;
use crate::{Conn, Result, rollup};

/// Which dimension a counter row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    /// Keyed by the case's area (the finest area the case was resolved to).
    Area,
    /// Keyed by the department that was lead when the event happened.
    Dept,
}

impl Dim {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Dim::Area => "area",
            Dim::Dept => "dept",
        }
    }
}

pub use crate::rollup::CounterBatch;

/// Adds `delta` to one event counter (and its roll-ups).
pub async fn bump(
    conn: &mut Conn,
    day: &str,
    dim: Dim,
    dim_id: i64,
    category_id: i64,
    metric: &str,
    delta: i64,
) -> Result<()> {
    let mut batch = CounterBatch::default();
    batch.event(day, dim, dim_id, category_id, metric, delta);
    batch.write(conn).await
}

/// The key of a state counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StateKey {
    pub area_id: i64,
    pub dept_id: i64,
    pub category_id: i64,
    pub state: String,
    pub overdue: bool,
}

/// Adds `delta` to the number of cases with this key (and its roll-ups).
pub async fn bump_state(conn: &mut Conn, key: &StateKey, delta: i64) -> Result<()> {
    let mut batch = CounterBatch::default();
    batch.state(key, delta);
    batch.write(conn).await
}

/// Sums event counters of areas under `area_path` for report days in `[from, to]`, per metric:
/// the scope's rolled-up rows, one per day and metric.
pub async fn area_totals(
    conn: &mut Conn,
    area_path: &str,
    from: &str,
    to: &str,
) -> Result<Vec<(String, i64)>> {
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    for area in rollup::scope_areas(conn, area_path).await? {
        let rows: Vec<(String, i64)> = sql::query(
            "SELECT metric, CAST(SUM(n) AS BIGINT) FROM stats_rollup
             WHERE dim = 'area' AND dim_id = ? AND day >= ? AND day <= ? AND category = ''
             GROUP BY metric",
        )
        .bind(area)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
        for (metric, n) in rows {
            *totals.entry(metric).or_default() += n;
        }
    }
    Ok(totals.into_iter().collect())
}

/// Sums event counters per area of `level` under `area_path`: rows of (area id, metric, n), read
/// from each such area's rolled-up rows. `CROSS JOIN` keeps the areas as the outer loop (SQLite
/// does not reorder it; it is plain SQL elsewhere): driven from the roll-up, the join would scan
/// every area's rows of the period.
pub async fn totals_by_area_level(
    conn: &mut Conn,
    level: &str,
    area_path: &str,
    from: &str,
    to: &str,
) -> Result<Vec<(i64, String, i64)>> {
    Ok(sql::query(
        "SELECT a.id, r.metric, CAST(SUM(r.n) AS BIGINT) FROM areas a CROSS JOIN stats_rollup r
         WHERE a.level = ? AND a.path >= ? AND a.path < ?
           AND r.dim = 'area' AND r.dim_id = a.id AND r.day >= ? AND r.day <= ? AND r.category = ''
         GROUP BY a.id, r.metric ORDER BY a.id, r.metric",
    )
    .bind(level)
    .bind(area_path)
    .bind(format!("{area_path}\u{10ffff}"))
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?)
}

/// Sums event counters per department: rows of (department id, metric, n).
pub async fn totals_by_dept(
    conn: &mut Conn,
    from: &str,
    to: &str,
) -> Result<Vec<(i64, String, i64)>> {
    Ok(sql::query(
        "SELECT d.id, r.metric, CAST(SUM(r.n) AS BIGINT) FROM departments d CROSS JOIN stats_rollup r
         WHERE r.dim = 'dept' AND r.dim_id = d.id AND r.day >= ? AND r.day <= ? AND r.category = ''
         GROUP BY d.id, r.metric ORDER BY d.id, r.metric",
    )
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?)
}

/// Sums event counters per report day under `area_path`: rows of (day, metric, n).
pub async fn totals_by_day(
    conn: &mut Conn,
    area_path: &str,
    from: &str,
    to: &str,
) -> Result<Vec<(String, String, i64)>> {
    let mut totals: BTreeMap<(String, String), i64> = BTreeMap::new();
    for area in rollup::scope_areas(conn, area_path).await? {
        let rows: Vec<(String, String, i64)> = sql::query(
            "SELECT day, metric, n FROM stats_rollup
             WHERE dim = 'area' AND dim_id = ? AND day >= ? AND day <= ? AND category = ''",
        )
        .bind(area)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
        for (day, metric, n) in rows {
            *totals.entry((day, metric)).or_default() += n;
        }
    }
    Ok(totals
        .into_iter()
        .map(|((day, metric), n)| (day, metric, n))
        .collect())
}

/// Sums one metric per report day and level-1 category under `area_path`: rows of (day, level-1
/// category code, n). Cases without a category count under the code "".
pub async fn metric_by_day_and_top_category(
    conn: &mut Conn,
    area_path: &str,
    metric: &str,
    from: &str,
    to: &str,
) -> Result<Vec<(String, String, i64)>> {
    let mut totals: BTreeMap<(String, String), i64> = BTreeMap::new();
    for area in rollup::scope_areas(conn, area_path).await? {
        let rows: Vec<(String, String, i64)> = sql::query(
            "SELECT day, category, n FROM stats_rollup
             WHERE dim = 'area_top' AND dim_id = ? AND day >= ? AND day <= ? AND metric = ?",
        )
        .bind(area)
        .bind(from)
        .bind(to)
        .bind(metric)
        .fetch_all(&mut *conn)
        .await?;
        for (day, category, n) in rows {
            *totals.entry((day, category)).or_default() += n;
        }
    }
    Ok(totals
        .into_iter()
        .map(|((day, category), n)| (day, category, n))
        .collect())
}

/// Current case counts per state under `area_path`: rows of (state, overdue, n).
pub async fn state_counts(conn: &mut Conn, area_path: &str) -> Result<Vec<(String, bool, i64)>> {
    let mut totals: BTreeMap<(String, bool), i64> = BTreeMap::new();
    for area in rollup::scope_areas(conn, area_path).await? {
        let rows: Vec<(String, bool, i64)> =
            sql::query("SELECT state, overdue, n FROM state_rollup WHERE area_id = ?")
                .bind(area)
                .fetch_all(&mut *conn)
                .await?;
        for (state, overdue, n) in rows {
            *totals.entry((state, overdue)).or_default() += n;
        }
    }
    Ok(totals
        .into_iter()
        .map(|((state, overdue), n)| (state, overdue, n))
        .collect())
}

/// Current open and overdue case counts per area of `level`: rows of (area id, open, overdue).
pub async fn open_by_area_level(
    conn: &mut Conn,
    level: &str,
    area_path: &str,
) -> Result<Vec<(i64, i64, i64)>> {
    Ok(sql::query(
        "SELECT g.id,
                COALESCE(CAST(SUM(CASE WHEN c.state NOT IN ('closed', 'evaluated', 'voided') THEN c.n END) AS BIGINT), 0),
                COALESCE(CAST(SUM(CASE WHEN c.state NOT IN ('closed', 'evaluated', 'voided') AND c.overdue = TRUE THEN c.n END) AS BIGINT), 0)
         FROM areas g CROSS JOIN state_rollup c
         WHERE g.level = ? AND g.path >= ? AND g.path < ? AND c.area_id = g.id
         GROUP BY g.id",
    )
    .bind(level)
    .bind(area_path)
    .bind(format!("{area_path}\u{10ffff}"))
    .fetch_all(conn)
    .await?)
}

/// One row of the operations gauges: current case counts of one (district, department) pair.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpsCounts {
    pub open: i64,
    pub overdue: i64,
    pub parked: i64,
}

/// Current open, overdue (open and past due) and parked case counts per (district code,
/// department code), from `case_state_counts` and the district rows of `areas` only. A case
/// outside every district, or without a lead department, counts under the empty code.
pub async fn ops_counts(conn: &mut Conn) -> Result<BTreeMap<(String, String), OpsCounts>> {
    let districts: Vec<(String, String)> =
        sql::query("SELECT code, path FROM areas WHERE level = 'district'")
            .fetch_all(&mut *conn)
            .await?;
    let rows: Vec<(String, String, i64, i64, i64)> = sql::query(
        "SELECT COALESCE(a.path, ''), COALESCE(d.code, ''),
                CAST(SUM(CASE WHEN c.state NOT IN ('closed', 'evaluated', 'voided') THEN c.n ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN c.state NOT IN ('closed', 'evaluated', 'voided') AND c.overdue = TRUE THEN c.n ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN c.state = 'parked' THEN c.n ELSE 0 END) AS BIGINT)
         FROM case_state_counts c
         LEFT JOIN areas a ON a.id = c.area_id
         LEFT JOIN departments d ON d.id = c.dept_id
         GROUP BY c.area_id, c.dept_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out: BTreeMap<(String, String), OpsCounts> = BTreeMap::new();
    for (path, dept, open, overdue, parked) in rows {
        let district = districts
            .iter()
            .find(|(_, prefix)| path.starts_with(prefix.as_str()))
            .map(|(code, _)| code.clone())
            .unwrap_or_default();
        let entry = out.entry((district, dept)).or_default();
        entry.open += open;
        entry.overdue += overdue;
        entry.parked += parked;
    }
    Ok(out)
}

/// Recounts what the kept counters should hold from the cases themselves and returns every
/// difference (empty when they agree): the current state counts, and the `reported` counter of
/// every (report day, area, category).
pub async fn recount_differences(conn: &mut Conn) -> Result<Vec<String>> {
    let states: Vec<(i64, i64, i64, String, bool, i64, i64)> = sql::query(
        "WITH actual AS (
             SELECT area_id, COALESCE(lead_dept_id, 0) AS dept_id, COALESCE(category_id, 0) AS category_id,
                    state, overdue, COUNT(*) AS n
             FROM cases GROUP BY 1, 2, 3, 4, 5),
         keys AS (
             SELECT area_id, dept_id, category_id, state, overdue FROM actual
             UNION SELECT area_id, dept_id, category_id, state, overdue FROM case_state_counts)
         SELECT k.area_id, k.dept_id, k.category_id, k.state, k.overdue,
                COALESCE(a.n, 0), COALESCE(c.n, 0)
         FROM keys k
         LEFT JOIN actual a ON a.area_id = k.area_id AND a.dept_id = k.dept_id
              AND a.category_id = k.category_id AND a.state = k.state AND a.overdue = k.overdue
         LEFT JOIN case_state_counts c ON c.area_id = k.area_id AND c.dept_id = k.dept_id
              AND c.category_id = k.category_id AND c.state = k.state AND c.overdue = k.overdue
         WHERE COALESCE(a.n, 0) <> COALESCE(c.n, 0)
         LIMIT 20",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut found: Vec<String> = states
        .into_iter()
        .map(|(area, dept, category, state, overdue, actual, kept)| {
            format!(
                "state count area {area} dept {dept} category {category} {state} overdue={overdue}: \
                 {actual} cases, counter says {kept}"
            )
        })
        .collect();
    let reported: Vec<(String, i64, i64, i64, i64)> = sql::query(
        "WITH actual AS (
             SELECT stats_day AS day, area_id, COALESCE(category_id, 0) AS category_id, COUNT(*) AS n
             FROM cases GROUP BY 1, 2, 3),
         kept AS (
             SELECT day, dim_id AS area_id, category_id, n FROM stats_daily
             WHERE dim = 'area' AND metric = 'reported' AND n <> 0),
         keys AS (SELECT day, area_id, category_id FROM actual
                  UNION SELECT day, area_id, category_id FROM kept)
         SELECT k.day, k.area_id, k.category_id, COALESCE(a.n, 0), COALESCE(c.n, 0)
         FROM keys k
         LEFT JOIN actual a ON a.day = k.day AND a.area_id = k.area_id AND a.category_id = k.category_id
         LEFT JOIN kept c ON c.day = k.day AND c.area_id = k.area_id AND c.category_id = k.category_id
         WHERE COALESCE(a.n, 0) <> COALESCE(c.n, 0)
         LIMIT 20",
    )
    .fetch_all(&mut *conn)
    .await?;
    found.extend(
        reported
            .into_iter()
            .map(|(day, area, category, actual, kept)| {
                format!(
                    "reported on {day} area {area} category {category}: {actual} cases, counter says {kept}"
                )
            }),
    );
    found.extend(rollup::recount_differences(conn).await?);
    Ok(found)
}

/// Every department with the path of its area (None for departments without one).
pub async fn department_area_paths(conn: &mut Conn) -> Result<Vec<(i64, Option<String>)>> {
    Ok(
        sql::query("SELECT d.id, a.path FROM departments d LEFT JOIN areas a ON a.id = d.area_id")
            .fetch_all(conn)
            .await?,
    )
}
