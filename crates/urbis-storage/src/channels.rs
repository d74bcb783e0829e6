//! Cases per intake channel (web, hotline, grid, api, sensor) under an area in a time range: the
//! dashboard's channel mix. One read-only query over the range of `cases_created`, so its cost
//! follows the cases of the period, not the whole table; a case counts under the channel of the
//! report that opened it (repeat reports merged into it are not counted again).

use chrono::{DateTime, Utc};

use crate::sql;
use crate::{Conn, Result};

/// Returns `(channel, cases)` for cases opened at `from <= created_at < to` (stored instants)
/// whose area path starts with `area_path`, by channel name.
pub async fn cases_by_channel(
    conn: &mut Conn,
    area_path: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, i64)>> {
    sql::query(
        "SELECT channel, COUNT(*) FROM cases
         WHERE created_at >= ? AND created_at < ? AND area_path >= ? AND area_path < ?
         GROUP BY channel ORDER BY channel",
    )
    .bind(from)
    .bind(to)
    .bind(area_path)
    .bind(format!("{area_path}\u{10ffff}"))
    .fetch_all(conn)
    .await
}
