//! Areas with real boundaries: importing GeoJSON features into the area tree, and resolving a
//! point to the finest area that contains it. The point index (`urbis_geo::locate::Locator`, an
//! R-tree with exact point-in-polygon) is built from the stored boundaries on first use and
//! rebuilt after every import.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use geo::Centroid;
use urbis_domain::role::{Actor, Role};
use urbis_geo::area::AreaFeature;
use urbis_geo::locate::Locator;
use urbis_storage::reference::{self, AreaRow};

use crate::auth::require_role;
use crate::{Result, ServiceError, Services};

/// Most features one import takes.
pub const IMPORT_MAX_FEATURES: usize = 200_000;

/// One point index per area level, finest first.
pub struct AreaLocator {
    levels: Vec<(String, Locator)>,
}

impl AreaLocator {
    /// Returns the id of the finest area containing the point (WGS84).
    pub fn locate(&self, lon: f64, lat: f64) -> Option<i64> {
        self.levels
            .iter()
            .find_map(|(_, locator)| locator.locate(lon, lat))
            .and_then(|id| i64::try_from(id).ok())
    }
}

const LEVEL_ORDER: [&str; 5] = ["grid", "community", "street", "district", "city"];

impl Services {
    /// Imports area features under their parents (by `parent_code`, else `default_parent`, else
    /// the city root). Existing codes are skipped and reported; the whole import is one
    /// transaction and audited. Returns (created, problems).
    pub async fn import_areas(
        &self,
        actor: &Actor,
        level: &str,
        default_parent: Option<i64>,
        features: &[AreaFeature],
    ) -> Result<(usize, Vec<String>)> {
        require_role(actor, &[Role::Admin])?;
        if urbis_domain::area::AreaLevel::parse(level).is_none() {
            return Err(ServiceError::invalid(
                "invalid_level",
                format!("unknown level {level:?}"),
            ));
        }
        if features.len() > IMPORT_MAX_FEATURES {
            return Err(ServiceError::invalid(
                "too_many_rows",
                format!("at most {IMPORT_MAX_FEATURES} features"),
            ));
        }
        let mut tx = self.db().begin_write().await?;
        let default_parent = match default_parent {
            Some(id) => reference::get_area(&mut tx, id).await?,
            None => reference::root_area(&mut tx).await?,
        };
        let mut by_code: HashMap<String, AreaRow> = HashMap::new();
        let mut created = 0;
        let mut problems = Vec::new();
        for feature in features {
            let code = feature.code.trim();
            if code.is_empty()
                || code.len() > 32
                || feature.name.trim().is_empty()
                || feature.name.chars().count() > 100
            {
                problems.push(format!(
                    "feature {:?}: code 1–32 characters and a name of 1–100 are required",
                    feature.code
                ));
                continue;
            }
            // Unit grids carry 15-digit codes (STANDARDS §5.2): 12-digit community + sequence.
            if level == "grid"
                && let Err(err) = urbis_geo::grid::parse_grid_code(code)
            {
                problems.push(format!("feature {code:?}: {err}"));
                continue;
            }
            if reference::find_area_by_code(&mut tx, code).await?.is_some() {
                problems.push(format!("area {code} exists already, skipped"));
                continue;
            }
            let parent = match &feature.parent_code {
                Some(parent_code) => match by_code.get(parent_code) {
                    Some(row) => Some(row.clone()),
                    None => reference::find_area_by_code(&mut tx, parent_code).await?,
                },
                None => None,
            };
            let parent = parent.unwrap_or_else(|| default_parent.clone());
            let center = feature.geometry.centroid().map(|p| (p.y(), p.x()));
            let geometry = geojson::Geometry::from(&feature.geometry).to_string();
            let row = reference::insert_area(
                &mut tx,
                code,
                feature.name.trim(),
                level,
                Some(&parent),
                center,
                Some(&geometry),
            )
            .await?;
            by_code.insert(code.to_owned(), row);
            created += 1;
        }
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            "areas_imported",
            "area",
            default_parent.id,
            "",
            "",
            &serde_json::json!({ "level": level, "created": created, "problems": problems.len() }),
        )
        .await?;
        tx.commit().await?;
        self.invalidate_locator();
        Ok((created, problems))
    }

    pub(crate) fn invalidate_locator(&self) {
        self.inner.locator.clear();
        self.forget_nearby_places();
    }

    pub(crate) async fn area_locator(&self) -> Result<Arc<AreaLocator>> {
        self.inner
            .locator
            .get_or_build(|| self.build_area_locator())
            .await
    }

    async fn build_area_locator(&self) -> Result<AreaLocator> {
        let mut conn = self.db().read().await?;
        let rows = urbis_storage::lookups::area_boundaries(&mut conn).await?;
        drop(conn);
        // Parsing every boundary takes a while in a big city: off the request threads, like the build.
        let built = tokio::task::spawn_blocking(move || {
            let mut by_level: HashMap<String, Vec<(u64, geo::MultiPolygon<f64>)>> = HashMap::new();
            for (id, level, text) in rows {
                let parsed = geojson::Geometry::from_str(&text)
                    .ok()
                    .and_then(|g| geo::Geometry::<f64>::try_from(g).ok());
                let multi = match parsed {
                    Some(geo::Geometry::MultiPolygon(m)) => m,
                    Some(geo::Geometry::Polygon(p)) => geo::MultiPolygon(vec![p]),
                    _ => {
                        tracing::warn!(area_id = id, "stored area geometry is not a polygon");
                        continue;
                    }
                };
                by_level.entry(level).or_default().push((id as u64, multi));
            }
            let mut levels = Vec::new();
            for level in LEVEL_ORDER {
                if let Some(areas) = by_level.remove(level) {
                    levels.push((level.to_owned(), Locator::build(areas)?));
                }
            }
            Ok::<_, urbis_geo::GeoError>(AreaLocator { levels })
        })
        .await
        .map_err(|_| ServiceError::internal())?
        .map_err(|err| {
            tracing::error!(error = %err, "failed to build the area index");
            ServiceError::internal()
        })?;
        Ok(built)
    }

    /// Resolves a WGS84 point to the chain of areas containing it, root first; empty when the
    /// point lies outside every area with a boundary (it is reported, never forced).
    pub async fn locate(&self, lat: f64, lon: f64) -> Result<Vec<AreaRow>> {
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(ServiceError::invalid(
                "invalid_location",
                "lat must be in [-90, 90] and lon in [-180, 180]",
            ));
        }
        let Some(area_id) = self.area_locator().await?.locate(lon, lat) else {
            return Ok(Vec::new());
        };
        let mut conn = self.db().read().await?;
        let area = reference::get_area(&mut conn, area_id).await?;
        let mut chain = Vec::new();
        for id in crate::case_rows::parse_path(&area.path) {
            chain.push(reference::get_area(&mut conn, id).await?);
        }
        Ok(chain)
    }

    /// Returns the finest area id for a point, if any area boundary contains it.
    pub(crate) async fn locate_area_id(&self, lat: f64, lon: f64) -> Result<Option<i64>> {
        Ok(self.area_locator().await?.locate(lon, lat))
    }

    /// Returns areas of a level (optionally under a parent) with their boundaries as GeoJSON text.
    pub async fn area_geometries(
        &self,
        level: &str,
        parent_id: Option<i64>,
    ) -> Result<Vec<(AreaRow, Option<String>)>> {
        if urbis_domain::area::AreaLevel::parse(level).is_none() {
            return Err(ServiceError::invalid(
                "invalid_level",
                format!("unknown level {level:?}"),
            ));
        }
        let prefix = match parent_id {
            Some(id) => {
                let mut conn = self.db().read().await?;
                reference::get_area(&mut conn, id).await?.path
            }
            None => "/".to_owned(),
        };
        let mut conn = self.db().read().await?;
        let out = urbis_storage::lookups::areas_at_level(&mut conn, level, &prefix, 20_000).await?;
        Ok(out)
    }
}
