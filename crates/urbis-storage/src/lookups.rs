//! Small look-ups and updates of reference data and cases that the service needs on its way:
//! does a category exist, an area's path and geometry, a rule's area, a case's asset, the cases
//! of a place. Each is one statement (or one per block of ids).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::reference::AreaRow;
use crate::sql;
use crate::{Conn, Result};

const AREA_COLUMNS: &str = "id, code, name, level, parent_id, path, center_lat, center_lon";

/// Whether the store answers a trivial query.
pub async fn ping(conn: &mut Conn) -> Result<()> {
    sql::query("SELECT 1").execute(conn).await.map(|_| ())
}

/// Whether a category exists.
pub async fn category_exists(conn: &mut Conn, id: i64) -> Result<bool> {
    Ok(sql::query("SELECT id FROM categories WHERE id = ?")
        .bind(id)
        .scalar_optional::<i64>(conn)
        .await?
        .is_some())
}

/// Ids looked up per statement by [`area_paths`] and [`category_codes`].
const IDS_PER_LOOKUP: usize = 500;

/// The materialised paths of these areas, by id (an id with no area is absent), in one statement
/// per block of ids: a group of appeals spread over many grids costs one round trip.
pub async fn area_paths(conn: &mut Conn, ids: &[i64]) -> Result<HashMap<i64, String>> {
    id_lookup(conn, "SELECT id, path FROM areas WHERE id IN (", ids).await
}

/// The codes of these categories, by id (an id with no category is absent), in one statement per
/// block of ids.
pub async fn category_codes(conn: &mut Conn, ids: &[i64]) -> Result<HashMap<i64, String>> {
    id_lookup(conn, "SELECT id, code FROM categories WHERE id IN (", ids).await
}

/// The distinct values of `ids`, sorted: the ids a batched look-up asks for.
pub fn distinct(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

async fn id_lookup(conn: &mut Conn, select: &str, ids: &[i64]) -> Result<HashMap<i64, String>> {
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let mut query = sql::Builder::new(select);
        let mut separated = query.separated(", ");
        for id in chunk {
            separated.push_bind(*id);
        }
        query.push(")");
        found.extend(query.build().fetch_all::<(i64, String)>(&mut *conn).await?);
    }
    Ok(found)
}

/// A category's code, if it exists.
pub async fn category_code(conn: &mut Conn, id: i64) -> Result<Option<String>> {
    sql::query("SELECT code FROM categories WHERE id = ?")
        .bind(id)
        .scalar_optional(conn)
        .await
}

/// Most ancestors [`category_chain`] follows above a category (a guard against a cycle).
pub const CATEGORY_CHAIN_MAX: i64 = 8;

/// A category and its ancestors, the category first, each with its severity; empty when the
/// category does not exist. One statement, not one a level.
pub async fn category_chain(conn: &mut Conn, id: i64) -> Result<Vec<(i64, f64)>> {
    sql::query(
        "WITH RECURSIVE chain(id, parent_id, severity, depth) AS (
             SELECT id, parent_id, severity, 0 FROM categories WHERE id = ?
             UNION ALL
             SELECT c.id, c.parent_id, c.severity, chain.depth + 1
             FROM categories c JOIN chain ON c.id = chain.parent_id
             WHERE chain.depth < ?)
         SELECT id, severity FROM chain ORDER BY depth",
    )
    .bind(id)
    .bind(CATEGORY_CHAIN_MAX)
    .fetch_all(conn)
    .await
}

/// A category's severity, if it exists.
pub async fn category_severity(conn: &mut Conn, id: i64) -> Result<Option<f64>> {
    sql::query("SELECT severity FROM categories WHERE id = ?")
        .bind(id)
        .scalar_optional(conn)
        .await
}

/// Sets a category's severity.
pub async fn set_category_severity(conn: &mut Conn, id: i64, severity: f64) -> Result<()> {
    sql::query("UPDATE categories SET severity = ? WHERE id = ?")
        .bind(severity)
        .bind(id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// A category's own time limit (clock, amount, minutes of warning) and its parent; `None` when
/// the category does not exist.
pub type CategoryLimit = (Option<String>, Option<i64>, Option<i64>, Option<i64>);

/// Reads [`CategoryLimit`].
pub async fn category_limit(conn: &mut Conn, id: i64) -> Result<Option<CategoryLimit>> {
    sql::query(
        "SELECT t.clock, t.amount, t.remind_before_minutes, c.parent_id
         FROM categories c LEFT JOIN time_limits t ON t.category_id = c.id WHERE c.id = ?",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// An area's path and level.
pub async fn area_path_level(conn: &mut Conn, id: i64) -> Result<Option<(String, String)>> {
    sql::query("SELECT path, level FROM areas WHERE id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// An area's boundary as GeoJSON, if it has one.
pub async fn area_geometry(conn: &mut Conn, id: i64) -> Result<Option<String>> {
    Ok(sql::query("SELECT geometry FROM areas WHERE id = ?")
        .bind(id)
        .scalar_optional::<Option<String>>(conn)
        .await?
        .flatten())
}

/// The children of an area at one level, by code.
pub async fn area_children(conn: &mut Conn, parent_id: i64, level: &str) -> Result<Vec<AreaRow>> {
    sql::query(format!(
        "SELECT {AREA_COLUMNS} FROM areas WHERE parent_id = ? AND level = ? ORDER BY code"
    ))
    .bind(parent_id)
    .bind(level)
    .fetch_all(conn)
    .await
}

/// (id, level, GeoJSON) of every area with a boundary.
pub async fn area_boundaries(conn: &mut Conn) -> Result<Vec<(i64, String, String)>> {
    sql::query("SELECT id, level, geometry FROM areas WHERE geometry IS NOT NULL")
        .fetch_all(conn)
        .await
}

/// The areas of one level under a path (at most `limit`), with their boundaries, by id.
pub async fn areas_at_level(
    conn: &mut Conn,
    level: &str,
    path_prefix: &str,
    limit: i64,
) -> Result<Vec<(AreaRow, Option<String>)>> {
    #[derive(FromRow)]
    struct WithGeometry {
        #[sqlx(flatten)]
        area: AreaRow,
        geometry: Option<String>,
    }
    let rows: Vec<WithGeometry> = sql::query(format!(
        "SELECT {AREA_COLUMNS}, geometry FROM areas
         WHERE level = ? AND path LIKE ? || '%' ORDER BY id LIMIT ?"
    ))
    .bind(level)
    .bind(path_prefix)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.area, r.geometry)).collect())
}

/// The areas under a path, by path (at most `limit`); unit grids only when asked for.
pub async fn area_tree(
    conn: &mut Conn,
    path_prefix: &str,
    with_grids: bool,
    limit: i64,
) -> Result<Vec<AreaRow>> {
    sql::query(format!(
        "SELECT {AREA_COLUMNS} FROM areas
         WHERE path LIKE ? || '%' AND (? OR level <> 'grid') ORDER BY path LIMIT ?"
    ))
    .bind(path_prefix)
    .bind(with_grids)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The other unit grids of a unit grid's community (at most `limit`).
pub async fn sibling_grids(conn: &mut Conn, area_id: i64, limit: i64) -> Result<Vec<i64>> {
    sql::query(
        "SELECT s.id FROM areas a JOIN areas s ON s.parent_id = a.parent_id AND s.level = 'grid'
         WHERE a.id = ? AND a.level = 'grid' AND s.id <> a.id LIMIT ?",
    )
    .bind(area_id)
    .bind(limit)
    .scalars(conn)
    .await
}

/// (unit area id, responsibility grid code, supervisor's display name) of every bound unit grid.
pub async fn unit_supervisors(conn: &mut Conn) -> Result<Vec<(i64, String, Option<String>)>> {
    sql::query(
        "SELECT r.unit_area_id, g.code, u.display_name FROM responsibility_grid_units r
         JOIN responsibility_grids g ON g.id = r.grid_id LEFT JOIN users u ON u.id = g.supervisor_user_id",
    )
    .fetch_all(conn)
    .await
}

/// The area a responsibility rule is set for.
pub async fn rule_area(conn: &mut Conn, rule_id: i64) -> Result<Option<i64>> {
    sql::query("SELECT area_id FROM responsibility_rules WHERE id = ?")
        .bind(rule_id)
        .scalar_optional(conn)
        .await
}

/// The asset a case names, if any.
pub async fn case_asset(conn: &mut Conn, case_id: i64) -> Result<Option<String>> {
    Ok(sql::query("SELECT asset_id FROM cases WHERE id = ?")
        .bind(case_id)
        .scalar_optional::<Option<String>>(conn)
        .await?
        .flatten())
}

/// [`cases_at_place_since`] after its `SELECT`.
const AT_PLACE_SINCE: &str =
    "COUNT(*) FROM cases WHERE area_path = ? AND category_id = ? AND created_at >= ?";

/// How many cases of a category were reported in an area (by its path, which each case stores)
/// since a time.
pub async fn cases_at_place_since(
    conn: &mut Conn,
    area_path: &str,
    category_id: i64,
    since: DateTime<Utc>,
) -> Result<i64> {
    sql::query(format!("SELECT {AT_PLACE_SINCE}"))
        .bind(area_path)
        .bind(category_id)
        .bind(since)
        .scalar(conn)
        .await
}

/// An open case reported since a time, for the repeat index.
#[derive(Debug, Clone, FromRow)]
pub struct RecentCase {
    pub id: i64,
    pub title: String,
    pub text: String,
    pub category_id: Option<i64>,
    pub area_id: i64,
    pub created_at: DateTime<Utc>,
}

/// The open cases reported since a time, by id.
pub async fn open_cases_since(conn: &mut Conn, since: DateTime<Utc>) -> Result<Vec<RecentCase>> {
    sql::query(
        "SELECT id, title, text, category_id, area_id, created_at FROM cases
         WHERE created_at >= ? AND state NOT IN ('closed', 'evaluated', 'voided') ORDER BY id",
    )
    .bind(since)
    .fetch_all(conn)
    .await
}

/// A finished case as a training example: its text and the category it was handled under.
#[derive(Debug, Clone, FromRow)]
pub struct HistoryExample {
    pub case_id: i64,
    pub text: String,
    pub label: String,
}

/// Closed and rated cases with a category after `after_id`, oldest first.
pub async fn history_examples(
    conn: &mut Conn,
    after_id: i64,
    limit: i64,
) -> Result<Vec<HistoryExample>> {
    sql::query(
        "SELECT c.id AS case_id, c.title || ' ' || c.text AS text, k.code AS label
         FROM cases c JOIN categories k ON k.id = c.category_id
         WHERE c.id > ? AND c.state IN ('closed', 'evaluated') ORDER BY c.id LIMIT ?",
    )
    .bind(after_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The first case whose stored state differs from the last state its audit trail records, as
/// (case id, stored state, audited state).
pub async fn first_state_mismatch(conn: &mut Conn) -> Result<Option<(i64, String, String)>> {
    sql::query(
        "SELECT c.id, c.state, a.to_state FROM cases c
         JOIN audit_log a ON a.seq = (SELECT MAX(seq) FROM audit_log WHERE entity = 'case' AND entity_id = c.id)
         WHERE c.state <> a.to_state ORDER BY c.id LIMIT 1",
    )
    .fetch_optional(conn)
    .await
}

/// How many areas the store has.
pub async fn count_areas(conn: &mut Conn) -> Result<i64> {
    sql::query("SELECT COUNT(*) FROM areas").scalar(conn).await
}

/// How many user accounts the store has.
pub async fn count_users(conn: &mut Conn) -> Result<i64> {
    sql::query("SELECT COUNT(*) FROM users").scalar(conn).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference;
    use crate::testing::{new_store, plan};

    /// The chain is read in one statement: the category first, then each ancestor up to the
    /// root, each with its own severity; a category that does not exist has none.
    #[tokio::test]
    async fn a_category_chain_runs_from_the_category_to_its_root() {
        let (_dir, db) = new_store().await;
        let mut tx = db.begin_write().await.expect("begin");
        let root = reference::insert_category(&mut tx, "90", "城市管理", 1, None, 0.3)
            .await
            .expect("root");
        let middle = reference::insert_category(&mut tx, "9001", "市容", 2, Some(root.id), 0.5)
            .await
            .expect("middle");
        let leaf =
            reference::insert_category(&mut tx, "900101", "占道经营", 3, Some(middle.id), 0.9)
                .await
                .expect("leaf");
        tx.commit().await.expect("commit");
        let mut conn = db.read().await.expect("reader");
        let chain = category_chain(&mut conn, leaf.id).await.expect("chain");
        assert_eq!(chain, [(leaf.id, 0.9), (middle.id, 0.5), (root.id, 0.3)]);
        let chain = category_chain(&mut conn, root.id).await.expect("chain");
        assert_eq!(chain, [(root.id, 0.3)]);
        let missing = category_chain(&mut conn, leaf.id + 100)
            .await
            .expect("chain");
        assert!(missing.is_empty());
        drop(conn);
        db.close().await;
    }

    /// The count of a place's recent cases reads the index by path, category and time alone.
    #[tokio::test]
    async fn the_place_count_searches_the_area_place_index() {
        let (_dir, db) = new_store().await;
        let query = sql::query(format!("EXPLAIN QUERY PLAN SELECT {AT_PLACE_SINCE}"))
            .bind("/1/2/")
            .bind(3_i64)
            .bind(chrono::Utc::now());
        let steps = plan(&db, query).await;
        assert_eq!(
            steps,
            [
                "SEARCH cases USING COVERING INDEX cases_area_place (area_path=? AND category_id=? AND created_at>?)"
            ]
        );
        db.close().await;
    }
}
