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

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use urbis_domain::role::{Actor, Role};
use urbis_storage::geo::{self as geo_repo, ResponsibilityGridRow};
use urbis_storage::reference::{self, AreaRow};
use urbis_storage::{Conn, users};

use crate::auth::require_role;
use crate::{ErrorKind, Result, ServiceError, Services};

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
        if targets.is_empty() && area.level == "district" && has_geometry(&mut tx, area.id).await? {
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

    /// Creates a responsibility grid from adjacent unit grids, optionally bound to a supervisor.
    pub async fn create_responsibility_grid(
        &self,
        actor: &Actor,
        input: &NewResponsibilityGrid,
    ) -> Result<ResponsibilityGridView> {
        require_role(actor, &[Role::Admin])?;
        let code = input.code.trim();
        if code.is_empty()
            || code.len() > 32
            || !code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ServiceError::invalid(
                "invalid_code",
                "code is 1–32 letters, digits, '-' or '_'",
            ));
        }
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ServiceError::invalid(
                "invalid_name",
                "name is 1–100 characters",
            ));
        }
        let max = urbis_geo::grid::MAX_UNITS_PER_RESPONSIBILITY_GRID;
        if input.unit_codes.is_empty() || input.unit_codes.len() > max {
            return Err(ServiceError::invalid(
                "invalid_units",
                format!("a responsibility grid has 1–{max} unit grids"),
            ));
        }
        let mut tx = self.db().begin_write().await?;
        let supervisor = match &input.supervisor {
            Some(username) => Some(supervisor_user(&mut tx, username).await?),
            None => None,
        };
        let mut seen = HashSet::new();
        let mut units = Vec::with_capacity(input.unit_codes.len());
        for unit_code in &input.unit_codes {
            let unit_code = unit_code.trim();
            if !seen.insert(unit_code.to_owned()) {
                return Err(ServiceError::invalid(
                    "duplicate_unit_grid",
                    format!("unit grid {unit_code} is listed twice"),
                ));
            }
            let area = reference::find_area_by_code(&mut tx, unit_code)
                .await?
                .filter(|a| a.level == "grid")
                .ok_or_else(|| {
                    ServiceError::invalid(
                        "unknown_unit_grid",
                        format!("{unit_code:?} is not a unit grid"),
                    )
                })?;
            if let Some(other) = geo_repo::grid_of_unit(&mut tx, area.id).await? {
                let other = geo_repo::get_responsibility_grid(&mut tx, other).await?;
                return Err(conflict(
                    "unit_grid_taken",
                    format!(
                        "unit grid {unit_code} belongs to responsibility grid {} already",
                        other.code
                    ),
                ));
            }
            let geometry = area_geometry(&mut tx, area.id).await?;
            units.push((area, geometry));
        }
        // With boundaries, the units must form one edge-connected patch.
        if units.len() > 1 && units.iter().all(|(_, g)| g.is_some()) {
            let cells: Vec<urbis_geo::grid::UnitGrid> = units
                .iter()
                .filter_map(|(area, g)| {
                    let geometry = parse_multipolygon(g.as_deref()?)?;
                    Some(urbis_geo::grid::UnitGrid {
                        code: area.code.clone(),
                        parent_code: String::new(),
                        row: 0,
                        column: 0,
                        geometry,
                        area_m2: 0.0,
                    })
                })
                .collect();
            let code_owned = code.to_owned();
            let checked = tokio::task::spawn_blocking(move || {
                let refs: Vec<&urbis_geo::grid::UnitGrid> = cells.iter().collect();
                urbis_geo::grid::ResponsibilityGrid::new(&code_owned, "", "-", &refs).map(|_| ())
            })
            .await
            .map_err(|_| ServiceError::internal())?;
            if let Err(err) = checked {
                return Err(ServiceError::invalid("units_not_adjacent", err.to_string()));
            }
        }
        let at = self.now();
        let id = geo_repo::insert_responsibility_grid(
            &mut tx,
            code,
            name,
            supervisor.as_ref().map(|u| u.id),
            at,
        )
        .await
        .map_err(|err| match err {
            urbis_storage::StorageError::Conflict(_) => conflict(
                "grid_code_taken",
                format!("a responsibility grid with code {code} exists"),
            ),
            other => other.into(),
        })?;
        for (area, _) in &units {
            geo_repo::insert_grid_unit(&mut tx, id, area.id).await?;
        }
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            "responsibility_grid_created",
            "responsibility_grid",
            id,
            "",
            "",
            &serde_json::json!({
                "code": code,
                "units": units.iter().map(|(a, _)| a.code.clone()).collect::<Vec<_>>(),
                "supervisor_user_id": supervisor.as_ref().map(|u| u.id),
            }),
        )
        .await?;
        let grid = geo_repo::get_responsibility_grid(&mut tx, id).await?;
        tx.commit().await?;
        Ok(ResponsibilityGridView {
            grid,
            unit_codes: units.into_iter().map(|(a, _)| a.code).collect(),
        })
    }

    /// Binds a supervisor to a responsibility grid that has none (a bound grid refuses with
    /// `supervisor_already_bound`: unbind first, so a hand-over is two audited steps).
    pub async fn bind_grid_supervisor(
        &self,
        actor: &Actor,
        grid_id: i64,
        username: &str,
    ) -> Result<ResponsibilityGridRow> {
        require_role(actor, &[Role::Admin])?;
        let mut tx = self.db().begin_write().await?;
        let grid = geo_repo::get_responsibility_grid(&mut tx, grid_id).await?;
        if let Some(current) = &grid.supervisor_username {
            return Err(conflict(
                "supervisor_already_bound",
                format!(
                    "responsibility grid {} is bound to {current}; unbind first",
                    grid.code
                ),
            ));
        }
        let user = supervisor_user(&mut tx, username).await?;
        geo_repo::set_grid_supervisor(&mut tx, grid_id, Some(user.id), self.now()).await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            "grid_supervisor_bound",
            "responsibility_grid",
            grid_id,
            "",
            "",
            &serde_json::json!({ "code": grid.code, "supervisor_user_id": user.id }),
        )
        .await?;
        let grid = geo_repo::get_responsibility_grid(&mut tx, grid_id).await?;
        tx.commit().await?;
        Ok(grid)
    }

    /// Removes the supervisor of a responsibility grid.
    pub async fn unbind_grid_supervisor(
        &self,
        actor: &Actor,
        grid_id: i64,
    ) -> Result<ResponsibilityGridRow> {
        require_role(actor, &[Role::Admin])?;
        let mut tx = self.db().begin_write().await?;
        let grid = geo_repo::get_responsibility_grid(&mut tx, grid_id).await?;
        geo_repo::set_grid_supervisor(&mut tx, grid_id, None, self.now()).await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            "grid_supervisor_unbound",
            "responsibility_grid",
            grid_id,
            "",
            "",
            &serde_json::json!({ "code": grid.code, "supervisor_user_id": grid.supervisor_user_id }),
        )
        .await?;
        let grid = geo_repo::get_responsibility_grid(&mut tx, grid_id).await?;
        tx.commit().await?;
        Ok(grid)
    }

    /// Returns every responsibility grid with its unit-grid codes.
    pub async fn responsibility_grids(&self, actor: &Actor) -> Result<Vec<ResponsibilityGridView>> {
        require_staff(actor)?;
        let mut tx = self.db().read_snapshot().await?;
        let grids = geo_repo::list_responsibility_grids(&mut tx).await?;
        let mut units: HashMap<i64, Vec<String>> = HashMap::new();
        for (grid_id, _, code) in geo_repo::list_grid_units(&mut tx).await? {
            units.entry(grid_id).or_default().push(code);
        }
        Ok(grids
            .into_iter()
            .map(|grid| ResponsibilityGridView {
                unit_codes: units.remove(&grid.id).unwrap_or_default(),
                grid,
            })
            .collect())
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
                        level: "grid".into(),
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
        let rows: Vec<AreaRow> = rows
            .into_iter()
            .filter(|a| {
                urbis_domain::area::AreaLevel::parse(&a.level).is_none_or(|l| l <= max_level)
            })
            .collect();
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

/// Returns the active grid-supervisor user with this name, or `not_a_supervisor`.
async fn supervisor_user(conn: &mut Conn, username: &str) -> Result<users::UserRow> {
    users::find_user_by_name(conn, username.trim())
        .await?
        .filter(|u| u.active && u.role == Role::GridSupervisor.as_str())
        .ok_or_else(|| {
            ServiceError::invalid(
                "not_a_supervisor",
                format!("{username:?} is not an active grid supervisor"),
            )
        })
}

/// Returns unit area id → (responsibility grid code, supervisor display name).
pub(crate) async fn unit_supervisors(
    conn: &mut Conn,
) -> Result<HashMap<i64, (Option<String>, Option<String>)>> {
    let rows = urbis_storage::lookups::unit_supervisors(conn).await?;
    Ok(rows
        .into_iter()
        .map(|(unit, code, name)| (unit, (Some(code), name)))
        .collect())
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
