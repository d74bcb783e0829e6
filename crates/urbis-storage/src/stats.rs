//! Incrementally kept statistics: event counters per report day and the current number of cases
//! per state. Writers bump them in the transaction of the change; readers aggregate these small
//! tables and never scan cases.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::{Conn, Result};

/// Which dimension a counter row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    /// Keyed by the case's area (the finest area the case was resolved to).
    Area,
    /// Keyed by the department that was lead when the event happened.
    Dept,
}

impl Dim {
    fn as_str(self) -> &'static str {
        match self {
            Dim::Area => "area",
            Dim::Dept => "dept",
        }
    }
}

/// Adds `delta` to one event counter.
pub async fn bump(
    conn: &mut Conn,
    day: &str,
    dim: Dim,
    dim_id: i64,
    category_id: i64,
    metric: &str,
    delta: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO stats_daily (day, dim, dim_id, category_id, metric, n) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (day, dim, dim_id, category_id, metric) DO UPDATE SET n = n + excluded.n",
    )
    .bind(day)
    .bind(dim.as_str())
    .bind(dim_id)
    .bind(category_id)
    .bind(metric)
    .bind(delta)
    .execute(conn)
    .await?;
    Ok(())
}

/// The key of a state counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateKey {
    pub area_id: i64,
    pub dept_id: i64,
    pub category_id: i64,
    pub state: String,
    pub overdue: bool,
}

/// Adds `delta` to the number of cases with this key.
pub async fn bump_state(conn: &mut Conn, key: &StateKey, delta: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO case_state_counts (area_id, dept_id, category_id, state, overdue, n) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (area_id, dept_id, category_id, state, overdue) DO UPDATE SET n = n + excluded.n",
    )
    .bind(key.area_id)
    .bind(key.dept_id)
    .bind(key.category_id)
    .bind(&key.state)
    .bind(key.overdue)
    .bind(delta)
    .execute(&mut *conn)
    .await?;
    if delta < 0 {
        // A count that reached zero goes: the table holds only the states cases are in.
        sqlx::query(
            "DELETE FROM case_state_counts WHERE area_id = ? AND dept_id = ? AND category_id = ?
               AND state = ? AND overdue = ? AND n = 0",
        )
        .bind(key.area_id)
        .bind(key.dept_id)
        .bind(key.category_id)
        .bind(&key.state)
        .bind(key.overdue)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Sums event counters of areas under `area_path` for report days in `[from, to]`, per metric.
pub async fn area_totals(
    conn: &mut Conn,
    area_path: &str,
    from: &str,
    to: &str,
) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT s.metric, SUM(s.n) FROM stats_daily s JOIN areas a ON a.id = s.dim_id
         WHERE s.dim = 'area' AND s.day >= ? AND s.day <= ? AND a.path LIKE ? || '%'
         GROUP BY s.metric",
    )
    .bind(from)
    .bind(to)
    .bind(area_path)
    .fetch_all(conn)
    .await?)
}

/// Sums event counters per area of `level` under `area_path`: rows of (area id, metric, n).
///
/// One pass over the period's counters grouped by the finest area (a covering index scan), rolled
/// up to the level's areas here through the areas' paths: a join of every counter row against the
/// area tree cost several times more at city scale.
pub async fn totals_by_area_level(
    conn: &mut Conn,
    level: &str,
    area_path: &str,
    from: &str,
    to: &str,
) -> Result<Vec<(i64, String, i64)>> {
    let areas: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, path, level FROM areas WHERE path >= ? AND path < ?")
            .bind(area_path)
            .bind(format!("{area_path}\u{10ffff}"))
            .fetch_all(&mut *conn)
            .await?;
    let targets: HashSet<i64> = areas
        .iter()
        .filter(|(_, _, l)| l == level)
        .map(|(id, _, _)| *id)
        .collect();
    // Each area of the scope → the area of `level` on its path (itself included), if any.
    let owner: HashMap<i64, i64> = areas
        .iter()
        .filter_map(|(id, path, _)| {
            path.split('/')
                .filter_map(|part| part.parse::<i64>().ok())
                .find(|ancestor| targets.contains(ancestor))
                .map(|target| (*id, target))
        })
        .collect();
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT dim_id, metric, SUM(n) FROM stats_daily
         WHERE dim = 'area' AND day >= ? AND day <= ? GROUP BY dim_id, metric",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let mut totals: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for (area, metric, n) in rows {
        if let Some(target) = owner.get(&area) {
            *totals.entry((*target, metric)).or_default() += n;
        }
    }
    Ok(totals
        .into_iter()
        .map(|((area, metric), n)| (area, metric, n))
        .collect())
}

/// Sums event counters per department: rows of (department id, metric, n).
pub async fn totals_by_dept(
    conn: &mut Conn,
    from: &str,
    to: &str,
) -> Result<Vec<(i64, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT dim_id, metric, SUM(n) FROM stats_daily
         WHERE dim = 'dept' AND day >= ? AND day <= ? GROUP BY dim_id, metric",
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
    Ok(sqlx::query_as(
        "SELECT s.day, s.metric, SUM(s.n) FROM stats_daily s JOIN areas a ON a.id = s.dim_id
         WHERE s.dim = 'area' AND s.day >= ? AND s.day <= ? AND a.path LIKE ? || '%'
         GROUP BY s.day, s.metric ORDER BY s.day",
    )
    .bind(from)
    .bind(to)
    .bind(area_path)
    .fetch_all(conn)
    .await?)
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
    Ok(sqlx::query_as(
        "SELECT s.day, COALESCE(substr(k.code, 1, 2), ''), SUM(s.n)
         FROM stats_daily s JOIN areas a ON a.id = s.dim_id LEFT JOIN categories k ON k.id = s.category_id
         WHERE s.dim = 'area' AND s.metric = ? AND s.day >= ? AND s.day <= ? AND a.path LIKE ? || '%'
         GROUP BY s.day, 2 ORDER BY s.day, 2",
    )
    .bind(metric)
    .bind(from)
    .bind(to)
    .bind(area_path)
    .fetch_all(conn)
    .await?)
}

/// Current case counts per state under `area_path`: rows of (state, overdue, n).
pub async fn state_counts(conn: &mut Conn, area_path: &str) -> Result<Vec<(String, bool, i64)>> {
    Ok(sqlx::query_as(
        "SELECT c.state, c.overdue, SUM(c.n) FROM case_state_counts c JOIN areas a ON a.id = c.area_id
         WHERE a.path LIKE ? || '%' GROUP BY c.state, c.overdue",
    )
    .bind(area_path)
    .fetch_all(conn)
    .await?)
}

/// Current open and overdue case counts per area of `level`: rows of (area id, open, overdue).
pub async fn open_by_area_level(
    conn: &mut Conn,
    level: &str,
    area_path: &str,
) -> Result<Vec<(i64, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT g.id,
                COALESCE(SUM(CASE WHEN c.state NOT IN ('closed', 'evaluated', 'voided') THEN c.n END), 0),
                COALESCE(SUM(CASE WHEN c.state NOT IN ('closed', 'evaluated', 'voided') AND c.overdue = 1 THEN c.n END), 0)
         FROM areas g
         JOIN areas a ON a.path LIKE g.path || '%'
         JOIN case_state_counts c ON c.area_id = a.id
         WHERE g.level = ? AND g.path LIKE ? || '%'
         GROUP BY g.id",
    )
    .bind(level)
    .bind(area_path)
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
        sqlx::query_as("SELECT code, path FROM areas WHERE level = 'district'")
            .fetch_all(&mut *conn)
            .await?;
    let rows: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT COALESCE(a.path, ''), COALESCE(d.code, ''),
                SUM(CASE WHEN c.state NOT IN ('closed', 'evaluated', 'voided') THEN c.n ELSE 0 END),
                SUM(CASE WHEN c.state NOT IN ('closed', 'evaluated', 'voided') AND c.overdue = 1 THEN c.n ELSE 0 END),
                SUM(CASE WHEN c.state = 'parked' THEN c.n ELSE 0 END)
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
    let states: Vec<(i64, i64, i64, String, bool, i64, i64)> = sqlx::query_as(
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
    let reported: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
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
    .fetch_all(conn)
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
    Ok(found)
}

/// Every department with the path of its area (None for departments without one).
pub async fn department_area_paths(conn: &mut Conn) -> Result<Vec<(i64, Option<String>)>> {
    Ok(sqlx::query_as(
        "SELECT d.id, a.path FROM departments d LEFT JOIN areas a ON a.id = d.area_id",
    )
    .fetch_all(conn)
    .await?)
}
