//! Grids and maps: responsibility grids (责任网格) and their unit grids, the address gazetteer, city
//! assets (部件), the asset classes of categories, and the asset a case names.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql;
use crate::{Conn, Result, StorageError};

/// A responsibility grid with its supervisor, if bound.
#[derive(Debug, Clone, FromRow)]
pub struct ResponsibilityGridRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub supervisor_user_id: Option<i64>,
    pub supervisor_username: Option<String>,
    pub supervisor_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const RGRID_SELECT: &str =
    "SELECT g.id, g.code, g.name, g.supervisor_user_id, u.username AS supervisor_username,
    u.display_name AS supervisor_name, g.created_at, g.updated_at
    FROM responsibility_grids g LEFT JOIN users u ON u.id = g.supervisor_user_id";

/// Inserts a responsibility grid; a duplicate code is a Conflict.
pub async fn insert_responsibility_grid(
    conn: &mut Conn,
    code: &str,
    name: &str,
    supervisor_user_id: Option<i64>,
    at: DateTime<Utc>,
) -> Result<i64> {
    Ok(sql::query(
        "INSERT INTO responsibility_grids (code, name, supervisor_user_id, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(code)
    .bind(name)
    .bind(supervisor_user_id)
    .bind(at)
    .bind(at)
    .scalar(&mut *conn)
    .await?)
}

/// Returns one responsibility grid.
pub async fn get_responsibility_grid(conn: &mut Conn, id: i64) -> Result<ResponsibilityGridRow> {
    sql::query(format!("{RGRID_SELECT} WHERE g.id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StorageError::NotFound("responsibility grid"))
}

/// Returns every responsibility grid, by code.
pub async fn list_responsibility_grids(conn: &mut Conn) -> Result<Vec<ResponsibilityGridRow>> {
    Ok(
        sql::query(format!("{RGRID_SELECT} ORDER BY g.code LIMIT 100000"))
            .fetch_all(conn)
            .await?,
    )
}

/// Sets (or clears) the supervisor of a responsibility grid.
pub async fn set_grid_supervisor(
    conn: &mut Conn,
    id: i64,
    supervisor_user_id: Option<i64>,
    at: DateTime<Utc>,
) -> Result<()> {
    sql::query(
        "UPDATE responsibility_grids SET supervisor_user_id = ?, updated_at = ? WHERE id = ?",
    )
    .bind(supervisor_user_id)
    .bind(at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds a unit grid to a responsibility grid; a unit already in one is a Conflict.
pub async fn insert_grid_unit(conn: &mut Conn, grid_id: i64, unit_area_id: i64) -> Result<()> {
    sql::query("INSERT INTO responsibility_grid_units (unit_area_id, grid_id) VALUES (?, ?)")
        .bind(unit_area_id)
        .bind(grid_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Returns the responsibility grid holding a unit grid, if any.
pub async fn grid_of_unit(conn: &mut Conn, unit_area_id: i64) -> Result<Option<i64>> {
    Ok(
        sql::query("SELECT grid_id FROM responsibility_grid_units WHERE unit_area_id = ?")
            .bind(unit_area_id)
            .scalar_optional(conn)
            .await?,
    )
}

/// Returns (responsibility grid id, unit area id, unit code) for every unit of every grid.
pub async fn list_grid_units(conn: &mut Conn) -> Result<Vec<(i64, i64, String)>> {
    Ok(sql::query(
        "SELECT r.grid_id, r.unit_area_id, a.code FROM responsibility_grid_units r
         JOIN areas a ON a.id = r.unit_area_id ORDER BY r.grid_id, a.code",
    )
    .fetch_all(conn)
    .await?)
}

/// A unit grid for the map: its area columns, boundary and parent's code.
#[derive(Debug, Clone, FromRow)]
pub struct GridMapRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub parent_id: Option<i64>,
    pub path: String,
    pub center_lat: Option<f64>,
    pub center_lon: Option<f64>,
    pub geometry: Option<String>,
    pub parent_code: Option<String>,
}

/// Returns up to `limit` unit grids whose centre lies in a (min lon, min lat, max lon, max lat) box, by code.
pub async fn grids_in_box(
    conn: &mut Conn,
    bbox: (f64, f64, f64, f64),
    limit: i64,
) -> Result<Vec<GridMapRow>> {
    let (min_lon, min_lat, max_lon, max_lat) = bbox;
    Ok(sql::query(
        "SELECT a.id, a.code, a.name, a.parent_id, a.path, a.center_lat, a.center_lon, a.geometry,
            p.code AS parent_code
         FROM areas a LEFT JOIN areas p ON p.id = a.parent_id
         WHERE a.level = 'grid' AND a.center_lat BETWEEN ? AND ? AND a.center_lon BETWEEN ? AND ?
         ORDER BY a.code LIMIT ?",
    )
    .bind(min_lat)
    .bind(max_lat)
    .bind(min_lon)
    .bind(max_lon)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Returns (unit grid id, state, overdue, number of cases) from the rolled-up state counts.
pub async fn grid_state_counts(conn: &mut Conn) -> Result<Vec<(i64, String, bool, i64)>> {
    Ok(sql::query(
        "SELECT c.area_id, c.state, c.overdue, c.n FROM state_rollup c
         JOIN areas a ON a.id = c.area_id AND a.level = 'grid'",
    )
    .fetch_all(conn)
    .await?)
}

/// A gazetteer entry as stored.
#[derive(Debug, Clone, FromRow)]
pub struct GazetteerRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub lat: f64,
    pub lon: f64,
    pub aliases: String,
}

/// Inserts or updates the entry with this (name, kind); returns true when it was new.
pub async fn upsert_gazetteer_entry(
    conn: &mut Conn,
    name: &str,
    kind: &str,
    lat: f64,
    lon: f64,
    aliases: &str,
) -> Result<bool> {
    let existing: Option<i64> =
        sql::query("SELECT id FROM gazetteer_entries WHERE name = ? AND kind = ?")
            .bind(name)
            .bind(kind)
            .scalar_optional(&mut *conn)
            .await?;
    match existing {
        Some(id) => {
            sql::query("UPDATE gazetteer_entries SET lat = ?, lon = ?, aliases = ? WHERE id = ?")
                .bind(lat)
                .bind(lon)
                .bind(aliases)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            Ok(false)
        }
        None => {
            sql::query(
                "INSERT INTO gazetteer_entries (name, kind, lat, lon, aliases) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(name)
            .bind(kind)
            .bind(lat)
            .bind(lon)
            .bind(aliases)
            .execute(&mut *conn)
            .await?;
            Ok(true)
        }
    }
}

/// Returns every gazetteer entry, by id.
pub async fn list_gazetteer(conn: &mut Conn) -> Result<Vec<GazetteerRow>> {
    Ok(
        sql::query("SELECT id, name, kind, lat, lon, aliases FROM gazetteer_entries ORDER BY id")
            .fetch_all(conn)
            .await?,
    )
}

/// A city asset with its departments' codes and names.
#[derive(Debug, Clone, FromRow)]
pub struct AssetRow {
    pub id: String,
    pub class_code: String,
    pub subclass_code: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    pub owner_dept_id: Option<i64>,
    pub owner_code: Option<String>,
    pub owner_name: Option<String>,
    pub maintainer_dept_id: Option<i64>,
    pub maintainer_code: Option<String>,
    pub maintainer_name: Option<String>,
    pub state: String,
    pub area_id: Option<i64>,
    pub area_code: Option<String>,
    pub updated_at: DateTime<Utc>,
}

const ASSET_SELECT: &str = "SELECT s.id, s.class_code, s.subclass_code, s.name, s.lat, s.lon,
    s.owner_dept_id, o.code AS owner_code, o.name AS owner_name,
    s.maintainer_dept_id, m.code AS maintainer_code, m.name AS maintainer_name,
    s.state, s.area_id, a.code AS area_code, s.updated_at
    FROM assets s LEFT JOIN departments o ON o.id = s.owner_dept_id
    LEFT JOIN departments m ON m.id = s.maintainer_dept_id LEFT JOIN areas a ON a.id = s.area_id";

/// A new or updated asset.
#[derive(Debug, Clone)]
pub struct NewAssetRow<'a> {
    pub id: &'a str,
    pub class_code: &'a str,
    pub subclass_code: &'a str,
    pub name: &'a str,
    pub lat: f64,
    pub lon: f64,
    pub owner_dept_id: Option<i64>,
    pub maintainer_dept_id: Option<i64>,
    pub state: &'a str,
    pub area_id: Option<i64>,
    pub updated_at: DateTime<Utc>,
}

/// Inserts the asset, or updates the row with the same id; returns true when it was new.
pub async fn upsert_asset(conn: &mut Conn, asset: &NewAssetRow<'_>) -> Result<bool> {
    let existed: Option<String> = sql::query("SELECT id FROM assets WHERE id = ?")
        .bind(asset.id)
        .scalar_optional(&mut *conn)
        .await?;
    sql::query(
        "INSERT INTO assets (id, class_code, subclass_code, name, lat, lon, owner_dept_id, maintainer_dept_id,
            state, area_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, lat = excluded.lat, lon = excluded.lon,
            owner_dept_id = excluded.owner_dept_id, maintainer_dept_id = excluded.maintainer_dept_id,
            state = excluded.state, area_id = excluded.area_id, updated_at = excluded.updated_at",
    )
    .bind(asset.id)
    .bind(asset.class_code)
    .bind(asset.subclass_code)
    .bind(asset.name)
    .bind(asset.lat)
    .bind(asset.lon)
    .bind(asset.owner_dept_id)
    .bind(asset.maintainer_dept_id)
    .bind(asset.state)
    .bind(asset.area_id)
    .bind(asset.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(existed.is_none())
}

/// Returns one asset.
pub async fn get_asset(conn: &mut Conn, id: &str) -> Result<AssetRow> {
    sql::query(format!("{ASSET_SELECT} WHERE s.id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StorageError::NotFound("asset"))
}

/// Returns up to `limit` assets inside a WGS84 box, optionally of one class (2-digit big class or
/// 4-digit small class), by id.
pub async fn assets_in_bbox(
    conn: &mut Conn,
    bbox: (f64, f64, f64, f64),
    class: Option<&str>,
    limit: i64,
) -> Result<Vec<AssetRow>> {
    let (min_lon, min_lat, max_lon, max_lat) = bbox;
    Ok(sql::query(format!(
        "{ASSET_SELECT} WHERE s.lat BETWEEN ? AND ? AND s.lon BETWEEN ? AND ?
           AND (? IS NULL OR s.class_code = ? OR s.subclass_code = ?)
         ORDER BY s.id LIMIT ?"
    ))
    .bind(min_lat)
    .bind(max_lat)
    .bind(min_lon)
    .bind(max_lon)
    .bind(class)
    .bind(class)
    .bind(class)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Returns (id, lat, lon) of every asset, for the nearest-asset index.
pub async fn asset_points(conn: &mut Conn) -> Result<Vec<(String, f64, f64)>> {
    Ok(sql::query("SELECT id, lat, lon FROM assets ORDER BY id")
        .fetch_all(conn)
        .await?)
}

/// Sets an asset's state.
pub async fn set_asset_state(
    conn: &mut Conn,
    id: &str,
    state: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sql::query("UPDATE assets SET state = ?, updated_at = ? WHERE id = ?")
        .bind(state)
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Returns every category mapped to asset classes, as (category id, "0101,0102").
pub async fn all_category_asset_classes(conn: &mut Conn) -> Result<Vec<(i64, String)>> {
    Ok(
        sql::query("SELECT category_id, classes FROM category_asset_classes")
            .fetch_all(conn)
            .await?,
    )
}

/// Returns (id, parent id) of every category.
pub async fn category_parents(conn: &mut Conn) -> Result<Vec<(i64, Option<i64>)>> {
    Ok(sql::query("SELECT id, parent_id FROM categories")
        .fetch_all(conn)
        .await?)
}

/// Maps a category to asset classes (replacing an earlier mapping); empty `classes` removes it.
pub async fn set_category_asset_classes(
    conn: &mut Conn,
    category_id: i64,
    classes: &str,
) -> Result<()> {
    if classes.is_empty() {
        sql::query("DELETE FROM category_asset_classes WHERE category_id = ?")
            .bind(category_id)
            .execute(conn)
            .await?;
    } else {
        sql::query(
            "INSERT INTO category_asset_classes (category_id, classes) VALUES (?, ?)
             ON CONFLICT (category_id) DO UPDATE SET classes = excluded.classes",
        )
        .bind(category_id)
        .bind(classes)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Returns (case id, area id, asset id, asset distance) for the given cases.
pub async fn case_geo(
    conn: &mut Conn,
    case_ids: &[i64],
) -> Result<Vec<(i64, i64, Option<String>, Option<f64>)>> {
    if case_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = sql::id_list(case_ids);
    Ok(sql::query(format!(
        "SELECT id, area_id, asset_id, asset_distance_m FROM cases WHERE id IN ({list})"
    ))
    .fetch_all(conn)
    .await?)
}
