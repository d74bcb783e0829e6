//! The taxonomy imports an administrator can undo, with the checks that decide whether one may be.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql;
use crate::{Conn, Result};

/// An applied taxonomy import.
#[derive(Debug, Clone, FromRow)]
pub struct TaxonomyImportRow {
    pub id: i64,
    pub imported_by: Option<i64>,
    pub imported_at: DateTime<Utc>,
    pub row_count: i64,
    /// The categories it created, comma-separated ids.
    pub category_ids: String,
    pub undone_at: Option<DateTime<Utc>>,
}

const IMPORT_COLUMNS: &str = "id, imported_by, imported_at, row_count, category_ids, undone_at";

/// Records an applied import; returns its id.
pub async fn insert_taxonomy_import(
    conn: &mut Conn,
    imported_by: Option<i64>,
    at: DateTime<Utc>,
    row_count: i64,
    category_ids: &str,
) -> Result<i64> {
    sql::query(
        "INSERT INTO taxonomy_imports (imported_by, imported_at, row_count, category_ids)
         VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(imported_by)
    .bind(at)
    .bind(row_count)
    .bind(category_ids)
    .scalar(conn)
    .await
}

/// The latest import that has not been undone, if any.
pub async fn last_taxonomy_import(conn: &mut Conn) -> Result<Option<TaxonomyImportRow>> {
    sql::query(format!(
        "SELECT {IMPORT_COLUMNS} FROM taxonomy_imports WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1"
    ))
    .fetch_optional(conn)
    .await
}

/// Marks an import undone.
pub async fn mark_taxonomy_import_undone(
    conn: &mut Conn,
    id: i64,
    at: DateTime<Utc>,
) -> Result<()> {
    sql::query("UPDATE taxonomy_imports SET undone_at = ? WHERE id = ?")
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many cases, responsibility rules, partner grants, sensor types and asset classes use one
/// of the categories (by id; the list is integers formatted by the caller's type).
pub async fn category_uses(conn: &mut Conn, category_ids: &[i64]) -> Result<(i64, i64)> {
    if category_ids.is_empty() {
        return Ok((0, 0));
    }
    let list = sql::id_list(category_ids);
    let cases: i64 = sql::query(format!(
        "SELECT COUNT(*) FROM cases WHERE category_id IN ({list}) OR suggested_category_id IN ({list})"
    ))
    .scalar(&mut *conn)
    .await?;
    let other: i64 = sql::query(format!(
        "SELECT (SELECT COUNT(*) FROM responsibility_rules WHERE category_id IN ({list}))
              + (SELECT COUNT(*) FROM partner_grants WHERE category_id IN ({list}))
              + (SELECT COUNT(*) FROM sensor_types WHERE category_id IN ({list}))
              + (SELECT COUNT(*) FROM category_asset_classes WHERE category_id IN ({list}))"
    ))
    .scalar(&mut *conn)
    .await?;
    Ok((cases, other))
}

/// Deletes categories and their time limits, children before parents (deepest level first).
pub async fn delete_categories(conn: &mut Conn, category_ids: &[i64]) -> Result<u64> {
    if category_ids.is_empty() {
        return Ok(0);
    }
    let list = sql::id_list(category_ids);
    sql::query(format!(
        "DELETE FROM time_limits WHERE category_id IN ({list})"
    ))
    .execute(&mut *conn)
    .await?;
    let mut deleted = 0;
    for level in [3_i64, 2, 1] {
        deleted += sql::query(format!(
            "DELETE FROM categories WHERE level = ? AND id IN ({list})"
        ))
        .bind(level)
        .execute(&mut *conn)
        .await?;
    }
    Ok(deleted)
}

/// Of the given categories, those the active responsibility list has a rule for (in any area).
pub async fn categories_with_rules(conn: &mut Conn, category_ids: &[i64]) -> Result<Vec<i64>> {
    if category_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = sql::id_list(category_ids);
    sql::query(format!(
        "SELECT DISTINCT r.category_id FROM responsibility_rules r
         JOIN responsibility_versions v ON v.id = r.version_id AND v.active = TRUE
         WHERE r.category_id IN ({list})"
    ))
    .scalars(conn)
    .await
}
