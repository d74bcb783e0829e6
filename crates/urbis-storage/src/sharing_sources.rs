//! The rows of Urbis's own resources (`builtin:*` in the catalogue) and the source of the open
//! datasets, read straight from the store. Each reader takes an optional area path (rows at or
//! below that area only) and a page; none of them decides what a reader may see.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql::Builder;
use crate::{Conn, Result};

/// One case as the `case_records` resource holds it.
#[derive(Debug, Clone, FromRow)]
pub struct CaseRecordRow {
    pub number: String,
    pub reported_at: DateTime<Utc>,
    pub category_code: Option<String>,
    pub category_name: Option<String>,
    pub area_code: String,
    pub state: String,
    pub text: String,
    pub address: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub reporter_name: String,
    pub reporter_phone: String,
}

fn area_filter(query: &mut Builder, column: &str, area_path: Option<&str>) {
    if let Some(path) = area_path {
        query.push(&format!(" AND {column} LIKE "));
        query.push_bind(format!("{path}%"));
    }
}

fn page(query: &mut Builder, limit: i64, offset: i64) {
    query.push(" LIMIT ");
    query.push_bind(limit);
    query.push(" OFFSET ");
    query.push_bind(offset);
}

/// Cases by id (voided ones left out).
pub async fn case_records(
    conn: &mut Conn,
    area_path: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<CaseRecordRow>> {
    let mut query = Builder::new(
        "SELECT c.number, c.created_at AS reported_at, k.code AS category_code, \
         k.name AS category_name, a.code AS area_code, c.state, c.text, c.address, c.lat, c.lon, \
         c.reporter_name, c.reporter_phone \
         FROM cases c JOIN areas a ON a.id = c.area_id LEFT JOIN categories k ON k.id = c.category_id \
         WHERE c.state != 'voided'",
    );
    area_filter(&mut query, "c.area_path", area_path);
    query.push(" ORDER BY c.id");
    page(&mut query, limit, offset);
    Ok(query.build().fetch_all(conn).await?)
}

/// Cases reported per day, area and category.
#[derive(Debug, Clone, FromRow)]
pub struct CaseCountRow {
    pub day: String,
    pub area_code: String,
    pub area_name: String,
    pub category_code: Option<String>,
    pub category_name: Option<String>,
    pub reported: i64,
    pub closed: i64,
}

/// Case counts by report day, the case's area and category.
pub async fn case_counts(
    conn: &mut Conn,
    area_path: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<CaseCountRow>> {
    let mut query = Builder::new(
        "SELECT c.stats_day AS day, a.code AS area_code, a.name AS area_name, \
         k.code AS category_code, k.name AS category_name, COUNT(*) AS reported, \
         CAST(SUM(CASE WHEN c.closure_type IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS closed \
         FROM cases c JOIN areas a ON a.id = c.area_id LEFT JOIN categories k ON k.id = c.category_id \
         WHERE c.state != 'voided'",
    );
    area_filter(&mut query, "c.area_path", area_path);
    query.push(
        " GROUP BY c.stats_day, a.code, a.name, k.code, k.name \
         ORDER BY c.stats_day, a.code, k.code",
    );
    page(&mut query, limit, offset);
    Ok(query.build().fetch_all(conn).await?)
}

/// Indicator counts of one area (its whole subtree).
#[derive(Debug, Clone, FromRow)]
pub struct IndicatorRow {
    pub area_code: String,
    pub area_name: String,
    pub reported: i64,
    pub closed: i64,
    pub closed_on_time: i64,
}

/// Reported, closed and closed-on-time counts of each district (or of each area one level
/// below the given area when it is a district or finer).
pub async fn indicators(
    conn: &mut Conn,
    area_path: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<IndicatorRow>> {
    let mut query = Builder::new(
        "SELECT a.code AS area_code, a.name AS area_name, COUNT(c.id) AS reported, \
         CAST(SUM(CASE WHEN c.closure_type IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS closed, \
         CAST(SUM(CASE WHEN c.closure_type = 'normal' THEN 1 ELSE 0 END) AS BIGINT) AS closed_on_time \
         FROM areas a LEFT JOIN cases c ON c.area_path LIKE a.path || '%' AND c.state != 'voided' \
         WHERE a.level = 'district'",
    );
    area_filter(&mut query, "a.path", area_path);
    query.push(" GROUP BY a.code, a.name ORDER BY a.code");
    page(&mut query, limit, offset);
    Ok(query.build().fetch_all(conn).await?)
}

/// A unit grid.
#[derive(Debug, Clone, FromRow)]
pub struct GridRow {
    pub code: String,
    pub name: String,
    pub parent_code: Option<String>,
    pub center_lat: Option<f64>,
    pub center_lon: Option<f64>,
}

/// Unit grids by code.
pub async fn grids(
    conn: &mut Conn,
    area_path: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<GridRow>> {
    let mut query = Builder::new(
        "SELECT a.code, a.name, p.code AS parent_code, a.center_lat, a.center_lon \
         FROM areas a LEFT JOIN areas p ON p.id = a.parent_id WHERE a.level = 'grid'",
    );
    area_filter(&mut query, "a.path", area_path);
    query.push(" ORDER BY a.code");
    page(&mut query, limit, offset);
    Ok(query.build().fetch_all(conn).await?)
}

/// A city asset.
#[derive(Debug, Clone, FromRow)]
pub struct AssetRow {
    pub id: String,
    pub subclass_code: String,
    pub name: String,
    pub state: String,
    pub lat: f64,
    pub lon: f64,
    pub maintainer: Option<String>,
}

/// Assets by id.
pub async fn assets(
    conn: &mut Conn,
    area_path: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<AssetRow>> {
    let mut query = Builder::new(
        "SELECT s.id, s.subclass_code, s.name, s.state, s.lat, s.lon, d.name AS maintainer \
         FROM assets s LEFT JOIN departments d ON d.id = s.maintainer_dept_id \
         LEFT JOIN areas a ON a.id = s.area_id WHERE 1 = 1",
    );
    area_filter(&mut query, "a.path", area_path);
    query.push(" ORDER BY s.id");
    page(&mut query, limit, offset);
    Ok(query.build().fetch_all(conn).await?)
}

/// What the open datasets are made from: one case with its place (no reporter column is read).
#[derive(Debug, Clone, FromRow)]
pub struct OpenCaseSource {
    pub id: i64,
    pub day: String,
    pub category_code: Option<String>,
    pub category_name: Option<String>,
    pub area_id: i64,
    pub area_level: String,
    pub area_code: String,
    pub area_path: String,
    pub state: String,
    pub closed: bool,
    pub text: String,
    pub address: String,
}

/// A page of cases with `id > after`, by id (voided ones left out).
pub async fn open_case_source(
    conn: &mut Conn,
    after: i64,
    limit: i64,
) -> Result<Vec<OpenCaseSource>> {
    let mut query = Builder::new(
        "SELECT c.id, c.stats_day AS day, k.code AS category_code, k.name AS category_name, \
         c.area_id, a.level AS area_level, a.code AS area_code, c.area_path, c.state, \
         (c.closure_type IS NOT NULL) AS closed, c.text, c.address \
         FROM cases c JOIN areas a ON a.id = c.area_id LEFT JOIN categories k ON k.id = c.category_id \
         WHERE c.state != 'voided' AND c.id > ",
    );
    query.push_bind(after);
    query.push(" ORDER BY c.id LIMIT ");
    query.push_bind(limit);
    Ok(query.build().fetch_all(conn).await?)
}

/// An area without its geometry.
#[derive(Debug, Clone, FromRow)]
pub struct AreaBrief {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub level: String,
    pub path: String,
    pub center_lat: Option<f64>,
    pub center_lon: Option<f64>,
}

/// Every area without geometry, by path.
pub async fn areas_brief(conn: &mut Conn) -> Result<Vec<AreaBrief>> {
    Ok(Builder::new(
        "SELECT id, code, name, level, path, center_lat, center_lon FROM areas ORDER BY path",
    )
    .build()
    .fetch_all(conn)
    .await?)
}
