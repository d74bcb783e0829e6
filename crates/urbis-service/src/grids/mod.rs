//! Unit grids (单元网格) and responsibility grids (责任网格).
//!
//! `generate_grids` cuts a community or street — or every community under a street or district, or a
//! district that has no street or community boundaries — into
//! cells of about 10,000 m² with `urbis_geo::grid::generate_unit_grids`, and stores them as areas of level
//! `grid` with 15-digit codes under their parent, in one audited transaction. A re-run refuses with
//! `grids_exist` when any target already has unit grids: nothing is replaced, so grids that cases,
//! assets and responsibility grids point at never disappear.
//!
//! A responsibility grid groups edge-adjacent unit grids and is bound to at most one grid supervisor; a
//! unit grid belongs to at most one responsibility grid (the table's primary key says so).

use std::collections::HashMap;
use std::str::FromStr;

use urbis_domain::area::AreaLevel;
use urbis_domain::role::{Actor, Role};
use urbis_storage::Conn;
use urbis_storage::geo::{self as geo_repo, ResponsibilityGridRow};
use urbis_storage::reference::{self, AreaRow};

use crate::auth::require_role;
use crate::{ErrorKind, Result, ServiceError, Services};

mod responsibility;
pub(crate) use responsibility::unit_supervisors;

/// Smallest and largest cell size accepted, m².
pub const CELL_M2_RANGE: (f64, f64) = (2_500.0, 250_000.0);
/// Most unit grids one generation call creates.
pub const GENERATE_MAX_CELLS: usize = 50_000;
/// Most unit grids one `GET /grids` answer holds.
pub const GRIDS_PAGE_MAX: usize = 10_000;

/// What `generate_grids` did for one parent area.
#[derive(Debug, Clone)]
pub struct GeneratedParent {
    pub code: String,
    pub name: String,
    pub cells: usize,
    pub dropped_slivers: usize,
    pub parent_area_m2: f64,
    pub cells_area_m2: f64,
}

/// A new responsibility grid.
#[derive(Debug, Clone)]
pub struct NewResponsibilityGrid {
    pub code: String,
    pub name: String,
    pub unit_codes: Vec<String>,
    /// Username of the grid supervisor to bind, if any.
    pub supervisor: Option<String>,
}

/// A responsibility grid with its unit-grid codes.
#[derive(Debug, Clone)]
pub struct ResponsibilityGridView {
    pub grid: ResponsibilityGridRow,
    pub unit_codes: Vec<String>,
}

/// A unit grid for the map, with its case counts and supervisor.
#[derive(Debug, Clone)]
pub struct GridFeature {
    pub area: AreaRow,
    pub parent_code: Option<String>,
    pub geometry: Option<String>,
    pub open: i64,
    pub overdue: i64,
    pub responsibility_grid: Option<String>,
    pub supervisor: Option<String>,
}

/// A node of the area tree.
#[derive(Debug, Clone)]
pub struct AreaNode {
    pub area: AreaRow,
    pub children: Vec<AreaNode>,
}

/// Parses stored GeoJSON text into a multipolygon.
pub(crate) fn parse_multipolygon(text: &str) -> Option<geo::MultiPolygon<f64>> {
    let parsed = geojson::Geometry::from_str(text)
        .ok()
        .and_then(|g| geo::Geometry::<f64>::try_from(g).ok());
    match parsed {
        Some(geo::Geometry::MultiPolygon(m)) => Some(m),
        Some(geo::Geometry::Polygon(p)) => Some(geo::MultiPolygon(vec![p])),
        _ => None,
    }
}

async fn area_geometry(conn: &mut Conn, id: i64) -> Result<Option<String>> {
    Ok(urbis_storage::lookups::area_geometry(conn, id).await?)
}

async fn children(conn: &mut Conn, parent_id: i64, level: &str) -> Result<Vec<AreaRow>> {
    Ok(urbis_storage::lookups::area_children(conn, parent_id, level).await?)
}

async fn has_geometry(conn: &mut Conn, id: i64) -> Result<bool> {
    Ok(area_geometry(conn, id).await?.is_some())
}

fn conflict(code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorKind::Conflict, code, message)
}

impl Services {
    /// Cuts a community or street (or every community under a street or district) into unit grids
    /// of about `cell_m2` square metres and stores them under their parents; see the module docs.
    pub async fn generate_grids(
        &self,
        actor: &Actor,
        area_code: &str,
        cell_m2: f64,
    ) -> Result<Vec<GeneratedParent>> {
        require_role(actor, &[Role::Admin])?;
        if !(cell_m2.is_finite() && (CELL_M2_RANGE.0..=CELL_M2_RANGE.1).contains(&cell_m2)) {
            return Err(ServiceError::invalid(
                "invalid_cell_size",
                format!(
                    "cell size must be {}–{} m²",
                    CELL_M2_RANGE.0, CELL_M2_RANGE.1
                ),
            ));
        }
        // Read and cut outside the write transaction: cutting a district takes a while and the
        // single writer must stay free for intake meanwhile.
        let mut tx = self.db().read_snapshot().await?;
        let area = reference::find_area_by_code(&mut tx, area_code.trim())
            .await?
            .ok_or_else(|| {
                ServiceError::new(
                    ErrorKind::NotFound,
                    "unknown_area",
                    format!("no area with code {area_code:?}"),
                )
            })?;
        // Targets: communities with a boundary; a street without such communities is cut itself.
        let mut targets: Vec<AreaRow> = Vec::new();
        let streets = match area.level.as_str() {
            "community" => {
                targets.push(area.clone());
                Vec::new()
            }
            "street" => vec![area.clone()],
            "district" => children(&mut tx, area.id, "street").await?,
            _ => {
                return Err(ServiceError::invalid(
                    "invalid_grid_parent",
                    "unit grids are cut from a community, a street or every community of a street or district",
                ));
            }
        };
        for street in streets {
            let mut found = false;
            for community in children(&mut tx, street.id, "community").await? {
                if has_geometry(&mut tx, community.id).await? {
                    targets.push(community);
                    found = true;
                }
            }
            if !found && has_geometry(&mut tx, street.id).await? {
                targets.push(street);
            }
        }
        // A district with no street or community boundaries below it is cut itself.
        if targets.is_empty()
            && area.level == AreaLevel::District
            && has_geometry(&mut tx, area.id).await?
        {
            targets.push(area.clone());
        }
        let mut inputs = Vec::with_capacity(targets.len());
        for target in &targets {
            if !children(&mut tx, target.id, "grid").await?.is_empty() {
                return Err(conflict(
                    "grids_exist",
                    format!(
                        "{} {} has unit grids already; nothing was changed",
                        target.code, target.name
                    ),
                ));
            }
            let Some(multi) = area_geometry(&mut tx, target.id)
                .await?
                .as_deref()
                .and_then(parse_multipolygon)
            else {
                return Err(ServiceError::invalid(
                    "no_boundary",
                    format!("{} {} has no usable boundary", target.code, target.name),
                ));
            };
            inputs.push((target.code.clone(), multi));
        }
        if inputs.is_empty() {
            return Err(ServiceError::invalid(
                "no_boundary",
                format!("no area with a boundary to cut under {area_code}"),
            ));
        }
        let options = urbis_geo::grid::GridOptions {
            cell_area_m2: cell_m2,
            min_cell_area_m2: cell_m2 / 10.0,
            max_cells: GENERATE_MAX_CELLS,
        };
        let generated = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let mut total = 0usize;
            for (code, multi) in inputs {
                let (cells, report) =
                    urbis_geo::grid::generate_unit_grids(&code, &multi, &options)?;
                total += cells.len();
                if total > GENERATE_MAX_CELLS {
                    return Err(urbis_geo::GeoError::TooLarge {
                        what: "unit grids",
                        actual: total,
                        limit: GENERATE_MAX_CELLS,
                    });
                }
                out.push((cells, report));
            }
            Ok(out)
        })
        .await
        .map_err(|_| ServiceError::internal())?
        .map_err(|err| match err {
            urbis_geo::GeoError::InvalidAreaCode { .. } => {
                ServiceError::invalid("invalid_area_code", err.to_string())
            }
            urbis_geo::GeoError::TooLarge { .. } | urbis_geo::GeoError::SequenceFull { .. } => {
                ServiceError::invalid("too_many_grids", err.to_string())
            }
            other => ServiceError::invalid("invalid_geometry", other.to_string()),
        })?;
        drop(tx);
        let mut tx = self.db().begin_write().await?;
        for target in &targets {
            // Someone may have cut or imported grids here meanwhile.
            if !children(&mut tx, target.id, "grid").await?.is_empty() {
                return Err(conflict(
                    "grids_exist",
                    format!(
                        "{} {} has unit grids already; nothing was changed",
                        target.code, target.name
                    ),
                ));
            }
        }
        let mut summary = Vec::new();
        for (target, (cells, report)) in targets.iter().zip(generated) {
            for (idx, cell) in cells.iter().enumerate() {
                let center = geo::Centroid::centroid(&cell.geometry).map(|p| (p.y(), p.x()));
                let geometry = geojson::Geometry::from(&cell.geometry).to_string();
                reference::insert_area(
                    &mut tx,
                    &cell.code,
                    &format!("{}{}号网格", target.name, idx + 1),
                    "grid",
                    Some(target),
                    center,
                    Some(&geometry),
                )
                .await?;
            }
            crate::audit::record(
                &mut tx,
                self.now(),
                Some(actor),
                "grids_generated",
                "area",
                target.id,
                "",
                "",
                &serde_json::json!({
                    "code": target.code, "cells": cells.len(), "cell_m2": cell_m2,
                    "dropped_slivers": report.dropped_slivers,
                }),
            )
            .await?;
            summary.push(GeneratedParent {
                code: target.code.clone(),
                name: target.name.clone(),
                cells: cells.len(),
                dropped_slivers: report.dropped_slivers,
                parent_area_m2: report.parent_area_m2,
                cells_area_m2: report.cells_area_m2,
            });
        }
        tx.commit().await?;
        self.invalidate_locator();
        Ok(summary)
    }

    /// Returns the unit grids whose centre lies in a WGS84 box (widened by about 200 m so that
    /// cells straddling the edge are included), with open and overdue case counts and supervisors.
    /// The second value is true when the answer was cut at [`GRIDS_PAGE_MAX`].
    pub async fn grids_in_bbox(
        &self,
        actor: &Actor,
        bbox: (f64, f64, f64, f64),
    ) -> Result<(Vec<GridFeature>, bool)> {
        require_staff(actor)?;
        let (min_lon, min_lat, max_lon, max_lat) = validate_bbox(bbox)?;
        let pad = 0.002;
        let mut tx = self.db().read_snapshot().await?;
        let rows = geo_repo::grids_in_box(
            &mut tx,
            (min_lon - pad, min_lat - pad, max_lon + pad, max_lat + pad),
            GRIDS_PAGE_MAX as i64 + 1,
        )
        .await?;
        let truncated = rows.len() > GRIDS_PAGE_MAX;
        let counts = geo_repo::grid_state_counts(&mut tx).await?;
        let mut open: HashMap<i64, (i64, i64)> = HashMap::new();
        for (area_id, state, overdue, n) in counts {
            let is_open =
                urbis_domain::workflow::CaseState::parse(&state).is_some_and(|s| s.is_open());
            if is_open && n > 0 {
                let slot = open.entry(area_id).or_default();
                slot.0 += n;
                if overdue {
                    slot.1 += n;
                }
            }
        }
        let supervisors = unit_supervisors(&mut tx).await?;
        let features = rows
            .into_iter()
            .take(GRIDS_PAGE_MAX)
            // Counts and supervisors of grids outside an area-scoped actor's area stay hidden.
            .filter(|row| actor.covers_area(&row.path))
            .map(|row| {
                let (n_open, n_overdue) = open.get(&row.id).copied().unwrap_or_default();
                let (responsibility_grid, supervisor) =
                    supervisors.get(&row.id).cloned().unwrap_or_default();
                GridFeature {
                    area: AreaRow {
                        id: row.id,
                        code: row.code,
                        name: row.name,
                        level: AreaLevel::Grid,
                        parent_id: row.parent_id,
                        path: row.path,
                        center_lat: row.center_lat,
                        center_lon: row.center_lon,
                    },
                    parent_code: row.parent_code,
                    geometry: row.geometry,
                    open: n_open,
                    overdue: n_overdue,
                    responsibility_grid,
                    supervisor,
                }
            })
            .collect();
        Ok((features, truncated))
    }

    /// Returns the area tree under `parent_id` (default: the root), down to `max_level`.
    pub async fn area_tree(
        &self,
        parent_id: Option<i64>,
        max_level: &str,
    ) -> Result<Vec<AreaNode>> {
        let Some(max_level) = urbis_domain::area::AreaLevel::parse(max_level) else {
            return Err(ServiceError::invalid(
                "invalid_level",
                format!("unknown level {max_level:?}"),
            ));
        };
        let mut conn = self.db().read().await?;
        let top = match parent_id {
            Some(id) => reference::get_area(&mut conn, id).await?,
            None => reference::root_area(&mut conn).await?,
        };
        // Unit grids are most of the rows; leave them out in SQL unless asked for.
        let rows = urbis_storage::lookups::area_tree(
            &mut conn,
            &top.path,
            max_level == urbis_domain::area::AreaLevel::Grid,
            50_001,
        )
        .await?;
        if rows.len() > 50_000 {
            return Err(ServiceError::invalid(
                "too_many_areas",
                "the tree has more than 50,000 areas; ask for a smaller part or a coarser level",
            ));
        }
        let rows: Vec<AreaRow> = rows.into_iter().filter(|a| a.level <= max_level).collect();
        let mut by_parent: HashMap<i64, Vec<AreaRow>> = HashMap::new();
        for row in rows {
            if row.id != top.id
                && let Some(parent) = row.parent_id
            {
                by_parent.entry(parent).or_default().push(row);
            }
        }
        fn build(area: AreaRow, by_parent: &mut HashMap<i64, Vec<AreaRow>>) -> AreaNode {
            let kids = by_parent.remove(&area.id).unwrap_or_default();
            AreaNode {
                children: kids.into_iter().map(|k| build(k, by_parent)).collect(),
                area,
            }
        }
        Ok(vec![build(top, &mut by_parent)])
    }
}

/// Staff of the city may read maps and grids; residents may not.
pub(crate) fn require_staff(actor: &Actor) -> Result<()> {
    if actor.role == Role::Resident {
        return Err(ServiceError::forbidden("residents may not read this"));
    }
    Ok(())
}

/// Checks a (min lon, min lat, max lon, max lat) box.
pub(crate) fn validate_bbox(bbox: (f64, f64, f64, f64)) -> Result<(f64, f64, f64, f64)> {
    let (min_lon, min_lat, max_lon, max_lat) = bbox;
    let ok = [min_lon, min_lat, max_lon, max_lat]
        .iter()
        .all(|v| v.is_finite())
        && (-180.0..=180.0).contains(&min_lon)
        && (-180.0..=180.0).contains(&max_lon)
        && (-90.0..=90.0).contains(&min_lat)
        && (-90.0..=90.0).contains(&max_lat)
        && min_lon <= max_lon
        && min_lat <= max_lat;
    if !ok {
        return Err(ServiceError::invalid(
            "invalid_bbox",
            "bbox is minLon,minLat,maxLon,maxLat in WGS84 with min ≤ max",
        ));
    }
    Ok(bbox)
}

/// Parses `minLon,minLat,maxLon,maxLat`.
pub fn parse_bbox(text: &str) -> Result<(f64, f64, f64, f64)> {
    let parts: Vec<f64> = text
        .split(',')
        .take(5)
        .map(|p| p.trim().parse::<f64>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| {
            ServiceError::invalid("invalid_bbox", "bbox is minLon,minLat,maxLon,maxLat")
        })?;
    match parts.as_slice() {
        [a, b, c, d] => validate_bbox((*a, *b, *c, *d)),
        _ => Err(ServiceError::invalid(
            "invalid_bbox",
            "bbox is minLon,minLat,maxLon,maxLat",
        )),
    }
}
