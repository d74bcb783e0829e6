//! Reference data: areas, departments, the category taxonomy, time limits, the working calendar,
//! settings and the versioned responsibility list.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use urbis_domain::area::AreaLevel;

use crate::sql;
use crate::{Conn, Result, StorageError};

/// A stored area.
#[derive(Debug, Clone, FromRow)]
pub struct AreaRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub level: AreaLevel,
    pub parent_id: Option<i64>,
    pub path: String,
    pub center_lat: Option<f64>,
    pub center_lon: Option<f64>,
}

const AREA_COLUMNS: &str = "id, code, name, level, parent_id, path, center_lat, center_lon";

/// Inserts an area under `parent` and sets its materialised path; returns the new row.
pub async fn insert_area(
    conn: &mut Conn,
    code: &str,
    name: &str,
    level: &str,
    parent: Option<&AreaRow>,
    center: Option<(f64, f64)>,
    geometry: Option<&str>,
) -> Result<AreaRow> {
    let id: i64 = sql::query(
        "INSERT INTO areas (code, name, level, parent_id, path, center_lat, center_lon, geometry)
         VALUES (?, ?, ?, ?, '', ?, ?, ?) RETURNING id",
    )
    .bind(code)
    .bind(name)
    .bind(level)
    .bind(parent.map(|p| p.id))
    .bind(center.map(|c| c.0))
    .bind(center.map(|c| c.1))
    .bind(geometry)
    .scalar(&mut *conn)
    .await?;
    let path = format!("{}{id}/", parent.map(|p| p.path.as_str()).unwrap_or("/"));
    sql::query("UPDATE areas SET path = ? WHERE id = ?")
        .bind(&path)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    get_area(conn, id).await
}

/// Returns one area.
pub async fn get_area(conn: &mut Conn, id: i64) -> Result<AreaRow> {
    sql::query(format!("SELECT {AREA_COLUMNS} FROM areas WHERE id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StorageError::NotFound("area"))
}

/// Returns the area with this code, if any.
pub async fn find_area_by_code(conn: &mut Conn, code: &str) -> Result<Option<AreaRow>> {
    Ok(
        sql::query(format!("SELECT {AREA_COLUMNS} FROM areas WHERE code = ?"))
            .bind(code)
            .fetch_optional(conn)
            .await?,
    )
}

/// Returns every area, ordered by path.
pub async fn list_areas(conn: &mut Conn) -> Result<Vec<AreaRow>> {
    Ok(
        sql::query(format!("SELECT {AREA_COLUMNS} FROM areas ORDER BY path"))
            .fetch_all(conn)
            .await?,
    )
}

/// Returns the root area (the city), the one without a parent with the smallest id.
pub async fn root_area(conn: &mut Conn) -> Result<AreaRow> {
    sql::query(format!(
        "SELECT {AREA_COLUMNS} FROM areas WHERE parent_id IS NULL ORDER BY id LIMIT 1"
    ))
    .fetch_optional(conn)
    .await?
    .ok_or(StorageError::NotFound("root area"))
}

/// A stored department.
#[derive(Debug, Clone, FromRow)]
pub struct DeptRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub area_id: Option<i64>,
}

/// Inserts a department.
pub async fn insert_dept(
    conn: &mut Conn,
    code: &str,
    name: &str,
    area_id: Option<i64>,
) -> Result<DeptRow> {
    Ok(sql::query(
        "INSERT INTO departments (code, name, area_id) VALUES (?, ?, ?)
         RETURNING id, code, name, area_id",
    )
    .bind(code)
    .bind(name)
    .bind(area_id)
    .fetch_one(conn)
    .await?)
}

/// Returns every department.
pub async fn list_depts(conn: &mut Conn) -> Result<Vec<DeptRow>> {
    Ok(
        sql::query("SELECT id, code, name, area_id FROM departments ORDER BY id")
            .fetch_all(conn)
            .await?,
    )
}

/// Returns one department.
pub async fn get_dept(conn: &mut Conn, id: i64) -> Result<DeptRow> {
    sql::query("SELECT id, code, name, area_id FROM departments WHERE id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StorageError::NotFound("department"))
}

/// A stored category of the taxonomy.
#[derive(Debug, Clone, FromRow)]
pub struct CategoryRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub level: i64,
    pub parent_id: Option<i64>,
    pub severity: f64,
}

const CATEGORY_COLUMNS: &str = "id, code, name, level, parent_id, severity";

/// Inserts a category.
pub async fn insert_category(
    conn: &mut Conn,
    code: &str,
    name: &str,
    level: i64,
    parent_id: Option<i64>,
    severity: f64,
) -> Result<CategoryRow> {
    Ok(sql::query(format!(
        "INSERT INTO categories (code, name, level, parent_id, severity) VALUES (?, ?, ?, ?, ?)
         RETURNING {CATEGORY_COLUMNS}"
    ))
    .bind(code)
    .bind(name)
    .bind(level)
    .bind(parent_id)
    .bind(severity)
    .fetch_one(conn)
    .await?)
}

/// Returns the whole taxonomy ordered by code.
pub async fn list_categories(conn: &mut Conn) -> Result<Vec<CategoryRow>> {
    Ok(sql::query(format!(
        "SELECT {CATEGORY_COLUMNS} FROM categories ORDER BY code"
    ))
    .fetch_all(conn)
    .await?)
}

/// Returns the category with this parent and name, if any.
pub async fn find_category(
    conn: &mut Conn,
    parent_id: Option<i64>,
    name: &str,
) -> Result<Option<CategoryRow>> {
    Ok(sql::query(format!(
        "SELECT {CATEGORY_COLUMNS} FROM categories WHERE parent_id IS NOT DISTINCT FROM ? AND name = ?"
    ))
    .bind(parent_id)
    .bind(name)
    .fetch_optional(conn)
    .await?)
}

/// Returns the number of children a category has (for generating the next code).
pub async fn count_children(conn: &mut Conn, parent_id: Option<i64>) -> Result<i64> {
    Ok(
        sql::query("SELECT COUNT(*) FROM categories WHERE parent_id IS NOT DISTINCT FROM ?")
            .bind(parent_id)
            .scalar(conn)
            .await?,
    )
}

/// A stored time limit.
#[derive(Debug, Clone, FromRow)]
pub struct TimeLimitRow {
    pub category_id: i64,
    pub clock: String,
    pub amount: i64,
    pub remind_before_minutes: i64,
}

/// Sets the time limit of a category.
pub async fn upsert_time_limit(conn: &mut Conn, row: &TimeLimitRow) -> Result<()> {
    sql::query(
        "INSERT INTO time_limits (category_id, clock, amount, remind_before_minutes) VALUES (?, ?, ?, ?)
         ON CONFLICT (category_id) DO UPDATE SET clock = excluded.clock, amount = excluded.amount,
         remind_before_minutes = excluded.remind_before_minutes",
    )
    .bind(row.category_id)
    .bind(&row.clock)
    .bind(row.amount)
    .bind(row.remind_before_minutes)
    .execute(conn)
    .await?;
    Ok(())
}

/// Returns every time limit.
pub async fn list_time_limits(conn: &mut Conn) -> Result<Vec<TimeLimitRow>> {
    Ok(sql::query(
        "SELECT category_id, clock, amount, remind_before_minutes FROM time_limits ORDER BY category_id",
    )
    .fetch_all(conn)
    .await?)
}

/// A calendar exception day.
#[derive(Debug, Clone, FromRow)]
pub struct CalendarDayRow {
    pub day: String,
    pub kind: String,
    pub note: String,
}

/// Sets a day as holiday or make-up workday.
pub async fn upsert_calendar_day(conn: &mut Conn, row: &CalendarDayRow) -> Result<()> {
    sql::query(
        "INSERT INTO calendar_days (day, kind, note) VALUES (?, ?, ?)
         ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, note = excluded.note",
    )
    .bind(&row.day)
    .bind(&row.kind)
    .bind(&row.note)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a calendar exception.
pub async fn delete_calendar_day(conn: &mut Conn, day: &str) -> Result<bool> {
    let res = sql::query("DELETE FROM calendar_days WHERE day = ?")
        .bind(day)
        .execute(conn)
        .await?;
    Ok(res > 0)
}

/// Returns every calendar exception.
pub async fn list_calendar_days(conn: &mut Conn) -> Result<Vec<CalendarDayRow>> {
    Ok(
        sql::query("SELECT day, kind, note FROM calendar_days ORDER BY day")
            .fetch_all(conn)
            .await?,
    )
}

/// Returns a setting's value.
pub async fn get_setting(conn: &mut Conn, key: &str) -> Result<Option<String>> {
    Ok(sql::query("SELECT value FROM settings WHERE key = ?")
        .bind(key)
        .scalar_optional(conn)
        .await?)
}

/// Sets a setting's value.
pub async fn set_setting(conn: &mut Conn, key: &str, value: &str) -> Result<()> {
    sql::query(
        "INSERT INTO settings (key, value) VALUES (?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(())
}

/// A rule of the responsibility list.
#[derive(Debug, Clone, FromRow)]
pub struct RuleRow {
    pub id: i64,
    pub version_id: i64,
    pub category_id: i64,
    pub area_id: i64,
    pub lead_dept_id: i64,
    /// Comma-separated department ids.
    pub supporting: String,
    pub legal_basis: String,
}

/// A version of the responsibility list.
#[derive(Debug, Clone, FromRow)]
pub struct VersionRow {
    pub id: i64,
    pub note: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<i64>,
    pub active: bool,
}

/// Creates a new (inactive) version of the responsibility list.
pub async fn insert_version(
    conn: &mut Conn,
    note: &str,
    created_at: DateTime<Utc>,
    created_by: Option<i64>,
) -> Result<VersionRow> {
    Ok(sql::query(
        "INSERT INTO responsibility_versions (note, created_at, created_by, active) VALUES (?, ?, ?, FALSE)
         RETURNING id, note, created_at, created_by, active",
    )
    .bind(note)
    .bind(created_at)
    .bind(created_by)
    .fetch_one(conn)
    .await?)
}

/// Makes one version the active one.
pub async fn activate_version(conn: &mut Conn, version_id: i64) -> Result<()> {
    let res = sql::query("UPDATE responsibility_versions SET active = (id = ?)")
        .bind(version_id)
        .execute(&mut *conn)
        .await?;
    if res == 0 {
        return Err(StorageError::NotFound("responsibility version"));
    }
    Ok(())
}

/// Returns every version.
pub async fn list_versions(conn: &mut Conn) -> Result<Vec<VersionRow>> {
    Ok(sql::query(
        "SELECT id, note, created_at, created_by, active FROM responsibility_versions ORDER BY id",
    )
    .fetch_all(conn)
    .await?)
}

/// Adds a rule to a version.
pub async fn insert_rule(conn: &mut Conn, rule: &RuleRow) -> Result<RuleRow> {
    Ok(sql::query(
        "INSERT INTO responsibility_rules (version_id, category_id, area_id, lead_dept_id, supporting, legal_basis)
         VALUES (?, ?, ?, ?, ?, ?)
         RETURNING id, version_id, category_id, area_id, lead_dept_id, supporting, legal_basis",
    )
    .bind(rule.version_id)
    .bind(rule.category_id)
    .bind(rule.area_id)
    .bind(rule.lead_dept_id)
    .bind(&rule.supporting)
    .bind(&rule.legal_basis)
    .fetch_one(conn)
    .await?)
}

/// Returns the rules of a version (all versions when `None`).
pub async fn list_rules(conn: &mut Conn, version_id: Option<i64>) -> Result<Vec<RuleRow>> {
    Ok(sql::query(
        "SELECT id, version_id, category_id, area_id, lead_dept_id, supporting, legal_basis
         FROM responsibility_rules WHERE ? IS NULL OR version_id = ? ORDER BY id",
    )
    .bind(version_id)
    .bind(version_id)
    .fetch_all(conn)
    .await?)
}

/// Returns the active rules matching any of the categories and any of the areas given.
pub async fn matching_rules(
    conn: &mut Conn,
    category_ids: &[i64],
    area_ids: &[i64],
) -> Result<Vec<RuleRow>> {
    if category_ids.is_empty() || area_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = |ids: &[i64]| {
        ids.iter()
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    // The id lists are integers formatted here, never user text.
    let sql = format!(
        "SELECT r.id, r.version_id, r.category_id, r.area_id, r.lead_dept_id, r.supporting, r.legal_basis
         FROM responsibility_rules r JOIN responsibility_versions v ON v.id = r.version_id AND v.active = TRUE
         WHERE r.category_id IN ({}) AND r.area_id IN ({})",
        list(category_ids),
        list(area_ids)
    );
    Ok(sql::query(sql).fetch_all(conn).await?)
}
