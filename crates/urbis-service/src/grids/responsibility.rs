//! Responsibility grids (责任网格): edge-adjacent unit grids bound to at most one grid supervisor.

use std::collections::{HashMap, HashSet};

use urbis_domain::area::AreaLevel;
use urbis_domain::role::{Actor, Role};
use urbis_storage::geo::{self as geo_repo, ResponsibilityGridRow};
use urbis_storage::reference;
use urbis_storage::{Conn, users};

use super::{
    NewResponsibilityGrid, ResponsibilityGridView, area_geometry, conflict, parse_multipolygon,
    require_staff,
};
use crate::auth::require_role;
use crate::{Result, ServiceError, Services};

impl Services {
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
                .filter(|a| a.level == AreaLevel::Grid)
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
}

/// Returns the active grid-supervisor user with this name, or `not_a_supervisor`.
async fn supervisor_user(conn: &mut Conn, username: &str) -> Result<users::UserRow> {
    users::find_user_by_name(conn, username.trim())
        .await?
        .filter(|u| u.active && u.role == Role::GridSupervisor)
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
