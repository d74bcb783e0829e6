//! Counters rolled up as they are written: every event counter of an area is added to the area
//! and to each of its ancestors (all categories, and per level-1 category), every department
//! counter to its department's all-category row, and every state count to the area and each of
//! its ancestors. Dashboards read these rows, so a call costs the areas and days it shows, not the
//! grids × categories × days below them. Areas never move and category codes never change once
//! cases use them, so an area's path and a category's level-1 code fix where a counter rolls.

use crate::{Conn, Result};

/// The ids on an area's materialised path ("/1/4/17/" → 1, 4, 17): the area and its ancestors.
pub(crate) async fn lineage(conn: &mut Conn, area_id: i64) -> Result<Vec<i64>> {
    let path: Option<String> = sqlx::query_scalar("SELECT path FROM areas WHERE id = ?")
        .bind(area_id)
        .fetch_optional(&mut *conn)
        .await?;
    let mut ids: Vec<i64> = path
        .as_deref()
        .unwrap_or("")
        .split('/')
        .filter_map(|part| part.parse().ok())
        .collect();
    if ids.is_empty() {
        // An area missing from the tree still counts for itself.
        ids.push(area_id);
    }
    Ok(ids)
}

/// The level-1 category code a category rolls up to ("" for none or an unknown id).
pub(crate) async fn top_category(conn: &mut Conn, category_id: i64) -> Result<String> {
    let code: Option<String> = sqlx::query_scalar("SELECT code FROM categories WHERE id = ?")
        .bind(category_id)
        .fetch_optional(conn)
        .await?;
    Ok(code
        .map(|code| code.chars().take(2).collect())
        .unwrap_or_default())
}

async fn upsert(
    conn: &mut Conn,
    dim: &str,
    dim_id: i64,
    day: &str,
    metric: &str,
    category: &str,
    delta: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO stats_rollup (dim, dim_id, day, metric, category, n) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (dim, dim_id, day, metric, category) DO UPDATE SET n = stats_rollup.n + excluded.n",
    )
    .bind(dim)
    .bind(dim_id)
    .bind(day)
    .bind(metric)
    .bind(category)
    .bind(delta)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds an area event counter to the area, its ancestors, and their level-1 category rows.
pub(crate) async fn bump_area(
    conn: &mut Conn,
    day: &str,
    area_id: i64,
    category_id: i64,
    metric: &str,
    delta: i64,
) -> Result<()> {
    let top = top_category(conn, category_id).await?;
    for area in lineage(conn, area_id).await? {
        upsert(conn, "area", area, day, metric, "", delta).await?;
        upsert(conn, "area_top", area, day, metric, &top, delta).await?;
    }
    Ok(())
}

/// Adds a department event counter to the department's all-category row.
pub(crate) async fn bump_dept(
    conn: &mut Conn,
    day: &str,
    dept_id: i64,
    metric: &str,
    delta: i64,
) -> Result<()> {
    upsert(conn, "dept", dept_id, day, metric, "", delta).await
}

/// Adds `delta` cases in (state, overdue) to the area and its ancestors; rows reaching zero go.
pub(crate) async fn bump_state(
    conn: &mut Conn,
    area_id: i64,
    state: &str,
    overdue: bool,
    delta: i64,
) -> Result<()> {
    for area in lineage(conn, area_id).await? {
        sqlx::query(
            "INSERT INTO state_rollup (area_id, state, overdue, n) VALUES (?, ?, ?, ?)
             ON CONFLICT (area_id, state, overdue) DO UPDATE SET n = state_rollup.n + excluded.n",
        )
        .bind(area)
        .bind(state)
        .bind(overdue)
        .bind(delta)
        .execute(&mut *conn)
        .await?;
        if delta < 0 {
            sqlx::query(
                "DELETE FROM state_rollup WHERE area_id = ? AND state = ? AND overdue = ? AND n = 0",
            )
            .bind(area)
            .bind(state)
            .bind(overdue)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// The areas a scope path stands for: the area with this path, or every root for "/".
pub(crate) async fn scope_areas(conn: &mut Conn, area_path: &str) -> Result<Vec<i64>> {
    Ok(if area_path == "/" {
        sqlx::query_scalar("SELECT id FROM areas WHERE parent_id IS NULL ORDER BY id")
            .fetch_all(conn)
            .await?
    } else {
        sqlx::query_scalar("SELECT id FROM areas WHERE path = ?")
            .bind(area_path)
            .fetch_all(conn)
            .await?
    })
}

/// Recounts the rolled-up rows from the counters below them and returns every difference (at
/// most 20 of each kind; empty when they agree).
pub(crate) async fn recount_differences(conn: &mut Conn) -> Result<Vec<String>> {
    let events: Vec<(String, i64, String, String, String, i64, i64)> = sqlx::query_as(
        "WITH actual AS (
             SELECT 'area' AS dim, g.id AS dim_id, s.day, s.metric, '' AS category, SUM(s.n) AS n
             FROM stats_daily s JOIN areas a ON a.id = s.dim_id JOIN areas g ON a.path LIKE g.path || '%'
             WHERE s.dim = 'area' GROUP BY g.id, s.day, s.metric
             UNION ALL
             SELECT 'area_top', g.id, s.day, s.metric, COALESCE(substr(k.code, 1, 2), ''), SUM(s.n)
             FROM stats_daily s JOIN areas a ON a.id = s.dim_id JOIN areas g ON a.path LIKE g.path || '%'
             LEFT JOIN categories k ON k.id = s.category_id
             WHERE s.dim = 'area' GROUP BY g.id, s.day, s.metric, COALESCE(substr(k.code, 1, 2), '')
             UNION ALL
             SELECT 'dept', dim_id, day, metric, '', SUM(n) FROM stats_daily
             WHERE dim = 'dept' GROUP BY dim_id, day, metric),
         keys AS (
             SELECT dim, dim_id, day, metric, category FROM actual
             UNION SELECT dim, dim_id, day, metric, category FROM stats_rollup)
         SELECT k.dim, k.dim_id, k.day, k.metric, k.category, COALESCE(a.n, 0), COALESCE(r.n, 0)
         FROM keys k
         LEFT JOIN actual a ON a.dim = k.dim AND a.dim_id = k.dim_id AND a.day = k.day
              AND a.metric = k.metric AND a.category = k.category
         LEFT JOIN stats_rollup r ON r.dim = k.dim AND r.dim_id = k.dim_id AND r.day = k.day
              AND r.metric = k.metric AND r.category = k.category
         WHERE COALESCE(a.n, 0) <> COALESCE(r.n, 0)
         LIMIT 20",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut found: Vec<String> = events
        .into_iter()
        .map(|(dim, id, day, metric, category, actual, kept)| {
            format!(
                "rolled-up {metric} on {day} {dim} {id} category {category:?}: \
                 counters below say {actual}, roll-up says {kept}"
            )
        })
        .collect();
    let states: Vec<(i64, String, bool, i64, i64)> = sqlx::query_as(
        "WITH actual AS (
             SELECT g.id AS area_id, c.state, c.overdue, SUM(c.n) AS n
             FROM case_state_counts c JOIN areas a ON a.id = c.area_id
             JOIN areas g ON a.path LIKE g.path || '%'
             GROUP BY g.id, c.state, c.overdue),
         keys AS (
             SELECT area_id, state, overdue FROM actual
             UNION SELECT area_id, state, overdue FROM state_rollup)
         SELECT k.area_id, k.state, k.overdue, COALESCE(a.n, 0), COALESCE(r.n, 0)
         FROM keys k
         LEFT JOIN actual a ON a.area_id = k.area_id AND a.state = k.state AND a.overdue = k.overdue
         LEFT JOIN state_rollup r ON r.area_id = k.area_id AND r.state = k.state AND r.overdue = k.overdue
         WHERE COALESCE(a.n, 0) <> COALESCE(r.n, 0) OR r.n = 0
         LIMIT 20",
    )
    .fetch_all(conn)
    .await?;
    found.extend(
        states
            .into_iter()
            .map(|(area, state, overdue, actual, kept)| {
                format!(
                    "rolled-up state count area {area} {state} overdue={overdue}: \
                     counters below say {actual}, roll-up says {kept}"
                )
            }),
    );
    Ok(found)
}
