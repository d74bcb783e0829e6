//! City assets (部件): import, box and nearest queries, state changes, the asset classes a category is
//! about, and what intake and routing do with them.
//!
//! Intake names an asset on a case when the appeal's category (or an ancestor) is mapped to asset
//! classes (`category_asset_classes`, e.g. 井盖缺损 → `0101,0102`) and the nearest asset of those classes
//! lies within [`INTAKE_MAX_DISTANCE_M`] of the appeal's point; the case keeps the asset id and distance,
//! and the receive audit record says so. Routing then proposes the asset's maintainer as lead department
//! unless the responsibility list has a rule for the case's district or anything below it (a city-wide
//! rule is less specific than the asset's own maintainer).
//!
//! The nearest-asset index (`urbis_geo::asset::AssetIndex`, one R-tree per small class) is built on first
//! use and dropped after every import.

use std::collections::HashMap;
use std::sync::Arc;

use urbis_domain::role::{Actor, Role};
use urbis_geo::asset::{Asset, AssetClass, AssetId, AssetIndex, AssetState};
use urbis_storage::cases::CaseRow;
use urbis_storage::geo::{self as geo_repo, AssetRow, NewAssetRow};
use urbis_storage::{Conn, reference};

use crate::auth::require_role;
use crate::built::Built;
use crate::gazetteer::{Geocoded, ImportReport, parse_point};
use crate::routing::RouteSuggestion;
use crate::{Result, ServiceError, Services};

/// Most rows one import takes.
pub const IMPORT_MAX_ROWS: usize = 200_000;
/// An appeal names an asset only this close to its point.
pub const INTAKE_MAX_DISTANCE_M: f64 = 30.0;
/// Most assets one box query returns.
pub const BBOX_MAX_ASSETS: usize = 5_000;
/// Farthest a nearest-asset query looks.
pub const NEAREST_MAX_M: f64 = 5_000.0;

/// The lazily built in-memory indexes of the map data.
#[derive(Default)]
pub(crate) struct MapCaches {
    pub(crate) gazetteer: Built<crate::gazetteer::GazetteerIndex>,
    assets: Built<AssetIndex>,
    category_classes: Built<CategoryClasses>,
}

/// The asset classes of every category, inherited from the nearest mapped ancestor, so intake
/// answers "is this appeal about an asset?" without a query.
pub(crate) struct CategoryClasses {
    by_category: HashMap<i64, Vec<AssetClass>>,
    known: std::collections::HashSet<i64>,
}

/// One row of an asset file, as text; the service validates it.
#[derive(Debug, Clone, Default)]
pub struct AssetInput {
    /// Row number in the file (1 = first data row), for problem reports.
    pub row: usize,
    /// 16-digit 标识码.
    pub id: String,
    pub name: String,
    pub lon: String,
    pub lat: String,
    /// wgs84 (default) or gcj02.
    pub crs: String,
    /// Department codes.
    pub owner: String,
    pub maintainer: String,
    /// 完好/破损/丢失/占用 or intact/damaged/lost/occupied; empty = intact.
    pub state: String,
}

/// An asset found near a point.
#[derive(Debug, Clone)]
pub struct NearbyAsset {
    pub asset: AssetRow,
    pub distance_m: f64,
}

/// What intake found about an appeal's place: the gazetteer point and the asset it names.
#[derive(Debug, Clone, Default)]
pub(crate) struct IntakeGeo {
    pub(crate) geocoded: Option<Geocoded>,
    pub(crate) asset: Option<(String, f64)>,
}

impl IntakeGeo {
    /// Returns what the receive audit record says about it, if anything.
    pub(crate) fn audit_detail(&self) -> Option<serde_json::Value> {
        if self.geocoded.is_none() && self.asset.is_none() {
            return None;
        }
        Some(serde_json::json!({
            "geocoded": self.geocoded.as_ref().map(|g| serde_json::json!({
                "name": g.name, "lat": g.lat, "lon": g.lon, "score": g.score,
            })),
            "asset": self.asset.as_ref().map(|(id, d)| serde_json::json!({
                "id": id, "distance_m": (d * 10.0).round() / 10.0,
            })),
        }))
    }
}

/// The asset named on a case, for case responses.
#[derive(Debug, Clone)]
pub struct CaseAsset {
    pub asset: AssetRow,
    pub distance_m: Option<f64>,
}

/// The supervisor responsible for a case's unit grid.
#[derive(Debug, Clone)]
pub struct CaseSupervisor {
    pub responsibility_grid: String,
    pub display_name: Option<String>,
}

/// Geography of a case for its responses.
#[derive(Debug, Clone, Default)]
pub struct CaseGeo {
    pub asset: Option<CaseAsset>,
    pub supervisor: Option<CaseSupervisor>,
}

/// Parses a class filter: 2 digits (big class) or 4 digits (big + small class).
pub fn parse_class(text: &str) -> Result<AssetClass> {
    let text = text.trim();
    let invalid = || {
        ServiceError::invalid(
            "invalid_class",
            "class is 2 digits (big class) or 4 digits (big + small class), not 00",
        )
    };
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match text.len() {
        2 => match text.parse::<u8>() {
            Ok(big) if big > 0 => Ok(AssetClass::Big(big)),
            _ => Err(invalid()),
        },
        4 => match (text[..2].parse::<u8>(), text[2..].parse::<u8>()) {
            (Ok(big), Ok(small)) if big > 0 && small > 0 => Ok(AssetClass::Small(big, small)),
            _ => Err(invalid()),
        },
        _ => Err(invalid()),
    }
}

/// Returns the Chinese label of a stored state (`intact` → 完好).
pub fn state_zh(state: &str) -> &'static str {
    AssetState::parse(state)
        .map(AssetState::label_zh)
        .unwrap_or("")
}

fn class_codes(id: AssetId) -> (String, String) {
    (
        format!("{:02}", id.class()),
        format!("{:02}{:02}", id.class(), id.subclass()),
    )
}

impl Services {
    /// Imports asset rows: valid rows are inserted or update the asset with the same id (a re-run is
    /// safe); bad rows are reported by number and skipped. Each asset's area is the finest area
    /// containing its point. One audited transaction.
    pub async fn import_assets(&self, actor: &Actor, rows: &[AssetInput]) -> Result<ImportReport> {
        require_role(actor, &[Role::Admin])?;
        if rows.len() > IMPORT_MAX_ROWS {
            return Err(ServiceError::invalid(
                "too_many_rows",
                format!("at most {IMPORT_MAX_ROWS} rows"),
            ));
        }
        let locator = self.area_locator().await?;
        let mut report = ImportReport::default();
        let mut tx = self.db().begin_write().await?;
        let depts: HashMap<String, i64> = reference::list_depts(&mut tx)
            .await?
            .into_iter()
            .map(|d| (d.code, d.id))
            .collect();
        let at = self.now();
        let mut seen: HashMap<AssetId, usize> = HashMap::new();
        for input in rows {
            let checked = (|| -> std::result::Result<_, String> {
                let id = AssetId::parse(input.id.trim()).map_err(|err| err.to_string())?;
                if let Some(first) = seen.get(&id) {
                    return Err(format!("asset {id} repeats row {first}"));
                }
                let name = input.name.trim();
                if name.is_empty() || name.chars().count() > 100 {
                    return Err("name must be 1–100 characters".to_owned());
                }
                let (lon, lat) = parse_point(&input.lon, &input.lat, &input.crs)?;
                let dept = |code: &str, what: &str| -> std::result::Result<Option<i64>, String> {
                    let code = code.trim();
                    if code.is_empty() {
                        return Ok(None);
                    }
                    depts
                        .get(code)
                        .copied()
                        .map(Some)
                        .ok_or_else(|| format!("{what} department {code:?} does not exist"))
                };
                let owner = dept(&input.owner, "owner")?;
                let maintainer = dept(&input.maintainer, "maintainer")?;
                let state = match input.state.trim() {
                    "" => AssetState::Intact,
                    text => AssetState::parse(text)
                        .ok_or_else(|| format!("state {text:?} is not 完好, 破损, 丢失 or 占用"))?,
                };
                Ok((id, name.to_owned(), lon, lat, owner, maintainer, state))
            })();
            let (id, name, lon, lat, owner, maintainer, state) = match checked {
                Ok(parts) => parts,
                Err(reason) => {
                    report.problems.push(format!("row {}: {reason}", input.row));
                    continue;
                }
            };
            seen.insert(id, input.row);
            let (class_code, subclass_code) = class_codes(id);
            let id_text = id.to_string();
            let created = geo_repo::upsert_asset(
                &mut tx,
                &NewAssetRow {
                    id: &id_text,
                    class_code: &class_code,
                    subclass_code: &subclass_code,
                    name: &name,
                    lat,
                    lon,
                    owner_dept_id: owner,
                    maintainer_dept_id: maintainer,
                    state: state.as_str(),
                    area_id: locator.locate(lon, lat),
                    updated_at: at,
                },
            )
            .await?;
            if created {
                report.created += 1;
            } else {
                report.updated += 1;
            }
        }
        report
            .audit_and_commit(tx, self, actor, "assets_imported")
            .await?;
        self.inner.maps.assets.clear();
        Ok(report)
    }

    /// Drops the gazetteer, the asset index and the category asset classes; each is rebuilt from
    /// the store on its next use (another node imported or changed them).
    pub(crate) fn invalidate_maps(&self) {
        self.inner.maps.gazetteer.clear();
        self.inner.maps.assets.clear();
        self.inner.maps.category_classes.clear();
    }

    async fn asset_index(&self) -> Result<Arc<AssetIndex>> {
        self.inner
            .maps
            .assets
            .get_or_build(|| self.build_asset_index())
            .await
    }

    async fn build_asset_index(&self) -> Result<AssetIndex> {
        let mut conn = self.db().read().await?;
        let points = geo_repo::asset_points(&mut conn).await?;
        drop(conn);
        let built = tokio::task::spawn_blocking(move || {
            let assets = points
                .into_iter()
                .filter_map(|(id, lat, lon)| {
                    Some(Asset {
                        id: AssetId::parse(&id).ok()?,
                        lon,
                        lat,
                        state: AssetState::Intact,
                    })
                })
                .collect();
            AssetIndex::new(assets)
        })
        .await
        .map_err(|_| ServiceError::internal())?
        .map_err(|err| {
            tracing::error!(error = %err, "failed to build the asset index");
            ServiceError::internal()
        })?;
        Ok(built)
    }

    /// Returns up to [`BBOX_MAX_ASSETS`] assets in a WGS84 box, optionally of one class, and
    /// whether the answer was cut there.
    pub async fn assets_in_bbox(
        &self,
        actor: &Actor,
        bbox: (f64, f64, f64, f64),
        class: Option<&str>,
    ) -> Result<(Vec<AssetRow>, bool)> {
        crate::grids::require_staff(actor)?;
        let bbox = crate::grids::validate_bbox(bbox)?;
        let class = class.map(str::trim).filter(|c| !c.is_empty());
        if let Some(class) = class {
            parse_class(class)?;
        }
        let mut conn = self.db().read().await?;
        let mut rows =
            geo_repo::assets_in_bbox(&mut conn, bbox, class, BBOX_MAX_ASSETS as i64 + 1).await?;
        let truncated = rows.len() > BBOX_MAX_ASSETS;
        rows.truncate(BBOX_MAX_ASSETS);
        Ok((rows, truncated))
    }

    /// Returns the nearest asset of a class (any class when `None`) within `max_m` metres.
    pub async fn nearest_asset(
        &self,
        lat: f64,
        lon: f64,
        class: Option<&str>,
        max_m: f64,
    ) -> Result<Option<NearbyAsset>> {
        if !(lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0) {
            return Err(ServiceError::invalid(
                "invalid_location",
                "lat must be in [-90, 90] and lon in [-180, 180]",
            ));
        }
        if !(max_m.is_finite() && max_m > 0.0 && max_m <= NEAREST_MAX_M) {
            return Err(ServiceError::invalid(
                "invalid_distance",
                format!("max_m must be in (0, {NEAREST_MAX_M}]"),
            ));
        }
        let classes = match class.map(str::trim).filter(|c| !c.is_empty()) {
            Some(class) => vec![parse_class(class)?],
            None => (1..=99).map(AssetClass::Big).collect(),
        };
        self.nearest_of_classes(lat, lon, &classes, max_m).await
    }

    async fn nearest_of_classes(
        &self,
        lat: f64,
        lon: f64,
        classes: &[AssetClass],
        max_m: f64,
    ) -> Result<Option<NearbyAsset>> {
        let index = self.asset_index().await?;
        let best = classes
            .iter()
            .filter_map(|class| index.nearest(lon, lat, *class, max_m))
            .min_by(|a, b| a.distance_m.total_cmp(&b.distance_m))
            .map(|found| (found.asset.id.to_string(), found.distance_m));
        let Some((id, distance_m)) = best else {
            return Ok(None);
        };
        let mut conn = self.db().read().await?;
        let asset = geo_repo::get_asset(&mut conn, &id).await?;
        Ok(Some(NearbyAsset { asset, distance_m }))
    }

    /// Changes an asset's state (admins, grid supervisors, and handlers of its owner or maintainer).
    pub async fn set_asset_state(&self, actor: &Actor, id: &str, state: &str) -> Result<AssetRow> {
        let state = AssetState::parse(state).ok_or_else(|| {
            ServiceError::invalid(
                "invalid_state",
                "state is 完好, 破损, 丢失 or 占用 (intact, damaged, lost, occupied)",
            )
        })?;
        let mut tx = self.db().begin_write().await?;
        let asset = geo_repo::get_asset(&mut tx, id.trim()).await?;
        let allowed = match actor.role {
            Role::Admin | Role::GridSupervisor => true,
            Role::DeptHandler => actor.dept_id.is_some_and(|d| {
                Some(d.0) == asset.owner_dept_id || Some(d.0) == asset.maintainer_dept_id
            }),
            _ => false,
        };
        if !allowed {
            return Err(ServiceError::forbidden(
                "only admins, grid supervisors and the asset's departments change its state",
            ));
        }
        if asset.state != state.as_str() {
            geo_repo::set_asset_state(&mut tx, &asset.id, state.as_str(), self.now()).await?;
            crate::audit::record(
                &mut tx,
                self.now(),
                Some(actor),
                "asset_state_changed",
                "asset",
                asset.id.parse::<i64>().unwrap_or(0),
                &asset.state,
                state.as_str(),
                &serde_json::json!({ "asset_id": asset.id }),
            )
            .await?;
        }
        let asset = geo_repo::get_asset(&mut tx, &asset.id).await?;
        tx.commit().await?;
        Ok(asset)
    }

    /// Maps a category to asset classes (2- or 4-digit codes); an empty list removes the mapping.
    pub async fn set_category_asset_classes(
        &self,
        actor: &Actor,
        category_id: i64,
        classes: &[String],
    ) -> Result<Vec<String>> {
        require_role(actor, &[Role::Admin])?;
        if classes.len() > 20 {
            return Err(ServiceError::invalid(
                "invalid_class",
                "at most 20 classes per category",
            ));
        }
        let mut codes = Vec::new();
        for class in classes {
            parse_class(class)?;
            codes.push(class.trim().to_owned());
        }
        let mut tx = self.db().begin_write().await?;
        if !urbis_storage::lookups::category_exists(&mut tx, category_id).await? {
            return Err(ServiceError::not_found("category"));
        }
        let joined = codes.join(",");
        geo_repo::set_category_asset_classes(&mut tx, category_id, &joined).await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            "category_asset_classes_set",
            "category",
            category_id,
            "",
            "",
            &serde_json::json!({ "classes": codes }),
        )
        .await?;
        tx.commit().await?;
        self.inner.maps.category_classes.clear();
        Ok(codes)
    }

    async fn category_classes(&self) -> Result<Arc<CategoryClasses>> {
        self.inner
            .maps
            .category_classes
            .get_or_build(|| self.build_category_classes())
            .await
    }

    async fn build_category_classes(&self) -> Result<CategoryClasses> {
        let mut conn = self.db().read().await?;
        let parents: HashMap<i64, Option<i64>> = geo_repo::category_parents(&mut conn)
            .await?
            .into_iter()
            .collect();
        let mapped: HashMap<i64, String> = geo_repo::all_category_asset_classes(&mut conn)
            .await?
            .into_iter()
            .collect();
        drop(conn);
        let mut by_category = HashMap::new();
        for &id in parents.keys() {
            let mut next = Some(id);
            for _ in 0..8 {
                let Some(current) = next else { break };
                if let Some(classes) = mapped.get(&current) {
                    let classes: Vec<AssetClass> = classes
                        .split(',')
                        .filter_map(|c| parse_class(c).ok())
                        .collect();
                    by_category.insert(id, classes);
                    break;
                }
                next = parents.get(&current).copied().flatten();
            }
        }
        Ok(CategoryClasses {
            by_category,
            known: parents.keys().copied().collect(),
        })
    }

    /// Returns the asset an appeal names: the nearest asset of its category's classes within
    /// [`INTAKE_MAX_DISTANCE_M`].
    pub(crate) async fn asset_for_appeal(
        &self,
        category_id: Option<i64>,
        location: Option<(f64, f64)>,
    ) -> Result<Option<(String, f64)>> {
        let (Some(category_id), Some((lat, lon))) = (category_id, location) else {
            return Ok(None);
        };
        let mut mapping = self.category_classes().await?;
        if !mapping.known.contains(&category_id) {
            // A category created since the map was built: build it again, once.
            self.inner.maps.category_classes.clear();
            mapping = self.category_classes().await?;
        }
        let Some(classes) = mapping.by_category.get(&category_id) else {
            return Ok(None);
        };
        Ok(self
            .nearest_of_classes(lat, lon, classes, INTAKE_MAX_DISTANCE_M)
            .await?
            .map(|found| (found.asset.id, found.distance_m)))
    }

    /// Returns the asset and grid supervisor of each case, for responses. The caller has already
    /// checked that the actor may see these cases.
    pub async fn case_geo(&self, case_ids: &[i64]) -> Result<HashMap<i64, CaseGeo>> {
        let mut out = HashMap::new();
        if case_ids.is_empty() {
            return Ok(out);
        }
        let mut conn = self.db().read().await?;
        let rows = geo_repo::case_geo(&mut conn, case_ids).await?;
        let supervisors = crate::grids::unit_supervisors(&mut conn).await?;
        let mut assets: HashMap<String, AssetRow> = HashMap::new();
        for (case_id, area_id, asset_id, distance) in rows {
            let mut geo = CaseGeo::default();
            if let Some(asset_id) = asset_id {
                if !assets.contains_key(&asset_id) {
                    match geo_repo::get_asset(&mut conn, &asset_id).await {
                        Ok(row) => {
                            assets.insert(asset_id.clone(), row);
                        }
                        Err(urbis_storage::StorageError::NotFound(_)) => {}
                        Err(err) => return Err(err.into()),
                    }
                }
                geo.asset = assets.get(&asset_id).map(|asset| CaseAsset {
                    asset: asset.clone(),
                    distance_m: distance,
                });
            }
            if let Some((Some(code), name)) = supervisors.get(&area_id) {
                geo.supervisor = Some(CaseSupervisor {
                    responsibility_grid: code.clone(),
                    display_name: name.clone(),
                });
            }
            out.insert(case_id, geo);
        }
        Ok(out)
    }
}

/// Proposes the maintainer of the case's asset as lead department when the responsibility list has
/// no rule for the case's district or below (see the module docs).
pub(crate) async fn prefer_asset_maintainer(
    conn: &mut Conn,
    case: &CaseRow,
    route: Option<RouteSuggestion>,
) -> Result<Option<RouteSuggestion>> {
    let asset_id = urbis_storage::lookups::case_asset(&mut *conn, case.id).await?;
    match asset_id {
        Some(asset_id) => maintainer_route(conn, &asset_id, &case.area_path, route).await,
        None => Ok(route),
    }
}

/// The route for an appeal that names an asset: the asset's maintainer leads unless the
/// responsibility list's rule is set for the district or below.
pub(crate) async fn maintainer_route(
    conn: &mut Conn,
    asset_id: &str,
    area_path: &str,
    route: Option<RouteSuggestion>,
) -> Result<Option<RouteSuggestion>> {
    if let Some(route) = &route {
        let rule_area = urbis_storage::lookups::rule_area(&mut *conn, route.rule_id).await?;
        let root = crate::case_rows::parse_path(area_path).first().copied();
        if rule_area.is_some() && rule_area != root {
            return Ok(Some(route.clone()));
        }
    }
    let asset = match geo_repo::get_asset(conn, asset_id).await {
        Ok(asset) => asset,
        Err(urbis_storage::StorageError::NotFound(_)) => return Ok(route),
        Err(err) => return Err(err.into()),
    };
    let Some(maintainer) = asset.maintainer_dept_id else {
        return Ok(route);
    };
    Ok(Some(RouteSuggestion {
        lead_dept_id: maintainer,
        supporting: route
            .map(|r| r.supporting)
            .unwrap_or_default()
            .into_iter()
            .filter(|d| *d != maintainer)
            .collect(),
        legal_basis: format!("部件 {} {} 的养护单位", asset.id, asset.name),
        rule_id: 0,
    }))
}
