//! Counters rolled up as they are written: every event counter of an area is added to the area
//! and to each of its ancestors (all categories, and per level-1 category), every department
//! counter to its department's all-category row, and every state count to the area and each of
//! its ancestors. Dashboards read these rows, so a call costs the areas and days it shows, not the
//! grids × categories × days below them. Areas never move and category codes never change once
//! cases use them, so an area's path and a category's level-1 code fix where a counter rolls.

use std::collections::HashMap;

use crate::sql::{self, Builder};

use crate::stats::{Dim, StateKey};
use crate::{Conn, Result};

/// Rows per multi-row upsert (6 bound values each, well under SQLite's limit of bound values).
const ROWS_PER_STATEMENT: usize = 500;

/// The ids on each area's materialised path ("/1/4/17/" → 1, 4, 17): the area and its ancestors,
/// for every area asked, looked up at once. An area missing from the tree counts for itself.
async fn lineages(conn: &mut Conn, area_ids: &[i64]) -> Result<HashMap<i64, Vec<i64>>> {
    let paths = crate::lookups::area_paths(conn, area_ids).await?;
    Ok(area_ids
        .iter()
        .map(|id| {
            let mut ids: Vec<i64> = paths
                .get(id)
                .map(|path| {
                    path.split('/')
                        .filter_map(|part| part.parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            if ids.is_empty() {
                ids.push(*id);
            }
            (*id, ids)
        })
        .collect())
}

/// The level-1 category code each category rolls up to ("" for none or an unknown id), looked up
/// at once.
async fn top_categories(conn: &mut Conn, category_ids: &[i64]) -> Result<HashMap<i64, String>> {
    let codes = crate::lookups::category_codes(conn, category_ids).await?;
    Ok(category_ids
        .iter()
        .map(|id| {
            let top = codes
                .get(id)
                .map(|code| code.chars().take(2).collect())
                .unwrap_or_default();
            (*id, top)
        })
        .collect())
}

type EventKey = (String, &'static str, i64, i64, String);
type RollupKey = (&'static str, i64, String, String, String);

/// Counter changes gathered in memory and written at once: the event and state counters and
/// their roll-ups, each distinct row upserted once with the summed delta. Every counter write goes
/// through here, one change or a bulk load's thousands.
#[derive(Debug, Default)]
pub struct CounterBatch {
    events: HashMap<EventKey, i64>,
    states: HashMap<StateKey, i64>,
}

impl CounterBatch {
    /// Adds `delta` to one event counter.
    pub fn event(
        &mut self,
        day: &str,
        dim: Dim,
        dim_id: i64,
        category_id: i64,
        metric: &str,
        delta: i64,
    ) {
        *self
            .events
            .entry((
                day.to_owned(),
                dim.as_str(),
                dim_id,
                category_id,
                metric.to_owned(),
            ))
            .or_default() += delta;
    }

    /// Adds `delta` to the number of cases with this key.
    pub fn state(&mut self, key: &StateKey, delta: i64) {
        *self.states.entry(key.clone()).or_default() += delta;
    }

    /// Writes every change and its roll-ups.
    pub async fn write(self, conn: &mut Conn) -> Result<()> {
        let CounterBatch { events, states } = self;
        let mut events: Vec<(EventKey, i64)> =
            events.into_iter().filter(|(_, n)| *n != 0).collect();
        events.sort();
        let states: Vec<(StateKey, i64)> = states.into_iter().filter(|(_, n)| *n != 0).collect();
        // Every area and category the changes roll up from, looked up at once.
        let by_area = events.iter().filter(|((_, dim, ..), _)| *dim != "dept");
        let areas = crate::lookups::distinct(
            by_area
                .clone()
                .map(|((_, _, dim_id, ..), _)| *dim_id)
                .chain(states.iter().map(|(key, _)| key.area_id)),
        );
        let lineages = lineages(conn, &areas).await?;
        let tops = top_categories(
            conn,
            &crate::lookups::distinct(by_area.map(|((_, _, _, category_id, _), _)| *category_id)),
        )
        .await?;
        let mut rolled: HashMap<RollupKey, i64> = HashMap::new();
        for ((day, dim, dim_id, category_id, metric), delta) in &events {
            if *dim == "dept" {
                *rolled
                    .entry(("dept", *dim_id, day.clone(), metric.clone(), String::new()))
                    .or_default() += delta;
                continue;
            }
            for area in &lineages[dim_id] {
                *rolled
                    .entry(("area", *area, day.clone(), metric.clone(), String::new()))
                    .or_default() += delta;
                *rolled
                    .entry((
                        "area_top",
                        *area,
                        day.clone(),
                        metric.clone(),
                        tops[category_id].clone(),
                    ))
                    .or_default() += delta;
            }
        }
        for chunk in events.chunks(ROWS_PER_STATEMENT) {
            let mut query: Builder =
                Builder::new("INSERT INTO stats_daily (day, dim, dim_id, category_id, metric, n) ");
            query.push_values(
                chunk,
                |mut row, ((day, dim, dim_id, category_id, metric), n)| {
                    row.push_bind(day.clone())
                        .push_bind(*dim)
                        .push_bind(*dim_id)
                        .push_bind(*category_id)
                        .push_bind(metric.clone())
                        .push_bind(*n);
                },
            );
            query.push(
                " ON CONFLICT (day, dim, dim_id, category_id, metric) DO UPDATE SET n = stats_daily.n + excluded.n",
            );
            query.build().execute(&mut *conn).await?;
        }
        let mut rolled: Vec<(RollupKey, i64)> =
            rolled.into_iter().filter(|(_, n)| *n != 0).collect();
        rolled.sort();
        for chunk in rolled.chunks(ROWS_PER_STATEMENT) {
            let mut query: Builder =
                Builder::new("INSERT INTO stats_rollup (dim, dim_id, day, metric, category, n) ");
            query.push_values(
                chunk,
                |mut row, ((dim, dim_id, day, metric, category), n)| {
                    row.push_bind(*dim)
                        .push_bind(*dim_id)
                        .push_bind(day.clone())
                        .push_bind(metric.clone())
                        .push_bind(category.clone())
                        .push_bind(*n);
                },
            );
            query.push(
                " ON CONFLICT (dim, dim_id, day, metric, category) DO UPDATE SET n = stats_rollup.n + excluded.n",
            );
            query.build().execute(&mut *conn).await?;
        }
        write_states(states, conn, &lineages).await
    }
}

/// Writes state count changes: the keyed counts, then their roll-ups to every ancestor area. A
/// count that reaches zero goes: the tables hold only the states cases are in.
async fn write_states(
    mut states: Vec<(StateKey, i64)>,
    conn: &mut Conn,
    lineages: &HashMap<i64, Vec<i64>>,
) -> Result<()> {
    states.sort_by(|a, b| {
        (
            a.0.area_id,
            a.0.dept_id,
            a.0.category_id,
            &a.0.state,
            a.0.overdue,
        )
            .cmp(&(
                b.0.area_id,
                b.0.dept_id,
                b.0.category_id,
                &b.0.state,
                b.0.overdue,
            ))
    });
    let mut rolled: HashMap<(i64, String, bool), i64> = HashMap::new();
    for (key, delta) in &states {
        for area in &lineages[&key.area_id] {
            *rolled
                .entry((*area, key.state.clone(), key.overdue))
                .or_default() += delta;
        }
    }
    for chunk in states.chunks(ROWS_PER_STATEMENT) {
        let mut query: Builder = Builder::new(
            "INSERT INTO case_state_counts (area_id, dept_id, category_id, state, overdue, n) ",
        );
        query.push_values(chunk, |mut row, (key, n)| {
            row.push_bind(key.area_id)
                .push_bind(key.dept_id)
                .push_bind(key.category_id)
                .push_bind(key.state.clone())
                .push_bind(key.overdue)
                .push_bind(*n);
        });
        query.push(
            " ON CONFLICT (area_id, dept_id, category_id, state, overdue) DO UPDATE SET n = case_state_counts.n + excluded.n",
        );
        query.build().execute(&mut *conn).await?;
    }
    for (key, _) in states.iter().filter(|(_, n)| *n < 0) {
        sql::query(
            "DELETE FROM case_state_counts WHERE area_id = ? AND dept_id = ? AND category_id = ?
               AND state = ? AND overdue = ? AND n = 0",
        )
        .bind(key.area_id)
        .bind(key.dept_id)
        .bind(key.category_id)
        .bind(&key.state)
        .bind(key.overdue)
        .execute(&mut *conn)
        .await?;
    }
    let mut rolled: Vec<((i64, String, bool), i64)> =
        rolled.into_iter().filter(|(_, n)| *n != 0).collect();
    rolled.sort();
    for chunk in rolled.chunks(ROWS_PER_STATEMENT) {
        let mut query: Builder =
            Builder::new("INSERT INTO state_rollup (area_id, state, overdue, n) ");
        query.push_values(chunk, |mut row, ((area, state, overdue), n)| {
            row.push_bind(*area)
                .push_bind(state.clone())
                .push_bind(*overdue)
                .push_bind(*n);
        });
        query.push(
            " ON CONFLICT (area_id, state, overdue) DO UPDATE SET n = state_rollup.n + excluded.n",
        );
        query.build().execute(&mut *conn).await?;
    }
    for ((area, state, overdue), _) in rolled.iter().filter(|(_, n)| *n < 0) {
        sql::query(
            "DELETE FROM state_rollup WHERE area_id = ? AND state = ? AND overdue = ? AND n = 0",
        )
        .bind(area)
        .bind(state)
        .bind(overdue)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The areas a scope path stands for: the area with this path, or every root for "/".
pub(crate) async fn scope_areas(conn: &mut Conn, area_path: &str) -> Result<Vec<i64>> {
    Ok(if area_path == "/" {
        sql::query("SELECT id FROM areas WHERE parent_id IS NULL ORDER BY id")
            .scalars(conn)
            .await?
    } else {
        sql::query("SELECT id FROM areas WHERE path = ?")
            .bind(area_path)
            .scalars(conn)
            .await?
    })
}

/// Checks the roll-ups against the counters and returns every difference (at most 20 of each
/// kind; empty when they agree). Each rolled-up row must equal its own area's counters plus the
/// rolled-up rows of its child areas; holding for every area, by induction from the leaves, this
/// is the same as equalling the recount of every counter at or below the area, at the cost of one
/// pass over each table instead of one per ancestor level.
pub(crate) async fn recount_differences(conn: &mut Conn) -> Result<Vec<String>> {
    let events: Vec<(String, i64, String, String, String, i64, i64)> = sql::query(
        "SELECT dim, dim_id, day, metric, category, CAST(SUM(expected) AS BIGINT), CAST(SUM(kept) AS BIGINT) FROM (
             SELECT 'area' AS dim, dim_id, day, metric, '' AS category, n AS expected, 0 AS kept
             FROM stats_daily WHERE dim = 'area'
             UNION ALL
             SELECT 'area_top', s.dim_id, s.day, s.metric, COALESCE(substr(k.code, 1, 2), ''), s.n, 0
             FROM stats_daily s LEFT JOIN categories k ON k.id = s.category_id WHERE s.dim = 'area'
             UNION ALL
             SELECT 'dept', dim_id, day, metric, '', n, 0 FROM stats_daily WHERE dim = 'dept'
             UNION ALL
             SELECT r.dim, a.parent_id, r.day, r.metric, r.category, r.n, 0
             FROM stats_rollup r JOIN areas a ON a.id = r.dim_id
             WHERE r.dim IN ('area', 'area_top') AND a.parent_id IS NOT NULL
             UNION ALL
             SELECT dim, dim_id, day, metric, category, 0, n FROM stats_rollup) AS t
         GROUP BY dim, dim_id, day, metric, category
         HAVING CAST(SUM(expected) AS BIGINT) <> CAST(SUM(kept) AS BIGINT)
         LIMIT 20",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut found: Vec<String> = events
        .into_iter()
        .map(|(dim, id, day, metric, category, expected, kept)| {
            format!(
                "rolled-up {metric} on {day} {dim} {id} category {category:?}: \
                 counters below say {expected}, roll-up says {kept}"
            )
        })
        .collect();
    let states: Vec<(i64, String, bool, i64, i64)> = sql::query(
        "SELECT area_id, state, overdue, CAST(SUM(expected) AS BIGINT), CAST(SUM(kept) AS BIGINT) FROM (
             SELECT area_id, state, overdue, n AS expected, 0 AS kept FROM case_state_counts
             UNION ALL
             SELECT a.parent_id, r.state, r.overdue, r.n, 0
             FROM state_rollup r JOIN areas a ON a.id = r.area_id WHERE a.parent_id IS NOT NULL
             UNION ALL
             SELECT area_id, state, overdue, 0, n FROM state_rollup) AS t
         GROUP BY area_id, state, overdue
         HAVING CAST(SUM(expected) AS BIGINT) <> CAST(SUM(kept) AS BIGINT)
         LIMIT 20",
    )
    .fetch_all(&mut *conn)
    .await?;
    let zero: Vec<(i64, String, bool)> =
        sql::query("SELECT area_id, state, overdue FROM state_rollup WHERE n = 0 LIMIT 20")
            .fetch_all(&mut *conn)
            .await?;
    found.extend(
        states
            .into_iter()
            .map(|(area, state, overdue, expected, kept)| {
                format!(
                    "rolled-up state count area {area} {state} overdue={overdue}: \
                     counters below say {expected}, roll-up says {kept}"
                )
            }),
    );
    found.extend(zero.into_iter().map(|(area, state, overdue)| {
        format!("rolled-up state count area {area} {state} overdue={overdue}: a row of zero")
    }));
    Ok(found)
}
