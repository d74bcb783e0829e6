//! Where cases were reported: located cases under an area in a time range, counted per cell of a
//! square grid in degrees (the dashboard's point heat map). One read-only query over the range of
//! `cases_created`; the answer is bounded by the number of cells, never by the number of cases.

use chrono::{DateTime, Utc};

use crate::sql;
use crate::{Conn, Result};

/// Returns `(row, column, cases)` of the busiest cells (at most `limit`), where a cell holds the
/// cases with `round(lat / cell) = row` and `round(lon / cell) = column`, for cases opened at
/// `from <= created_at < to` whose area path starts with `area_path`.
pub async fn case_density(
    conn: &mut Conn,
    area_path: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    cell_degrees: f64,
    limit: i64,
) -> Result<Vec<(i64, i64, i64)>> {
    sql::query(
        "SELECT CAST(ROUND(lat / ?) AS BIGINT) AS r, CAST(ROUND(lon / ?) AS BIGINT) AS c, COUNT(*) AS n
         FROM cases
         WHERE created_at >= ? AND created_at < ? AND area_path >= ? AND area_path < ?
           AND lat IS NOT NULL AND lon IS NOT NULL
         GROUP BY r, c ORDER BY n DESC, r, c LIMIT ?",
    )
    .bind(cell_degrees)
    .bind(cell_degrees)
    .bind(from)
    .bind(to)
    .bind(area_path)
    .bind(format!("{area_path}\u{10ffff}"))
    .bind(limit)
    .fetch_all(conn)
    .await
}
