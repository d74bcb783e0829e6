//! Appeals per intake channel (web, hotline, grid, api, sensor) under an area in a time range:
//! the dashboard's channel mix. One read-only query; every report counts, a repeat report merged
//! into an open case included, under the area of the case it joined.

use crate::{Conn, Result};

/// Returns `(channel, appeals)` for appeals filed at `from <= created_at < to` (stored instants)
/// on cases whose area path starts with `area_path`, by channel name.
pub async fn appeals_by_channel(
    conn: &mut Conn,
    area_path: &str,
    from: &str,
    to: &str,
) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT a.channel, COUNT(*) FROM appeals a JOIN cases c ON c.id = a.case_id
         WHERE a.created_at >= ? AND a.created_at < ? AND c.area_path >= ? AND c.area_path < ?
         GROUP BY a.channel ORDER BY a.channel",
    )
    .bind(from)
    .bind(to)
    .bind(area_path)
    .bind(format!("{area_path}\u{10ffff}"))
    .fetch_all(conn)
    .await?)
}
