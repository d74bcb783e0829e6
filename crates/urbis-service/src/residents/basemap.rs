//! The public map's base layer, built from the city's own gazetteer: roads and named places
//! (points of interest) with their points — door-plate addresses are left out, since they point at
//! homes —, thinned evenly to a bound; and the reverse lookup behind "use my location": the nearest
//! gazetteer entry to a point and the areas containing it.

use urbis_storage::reference::AreaRow;

use crate::{Result, ServiceError, Services};

/// Most entries of each kind (roads, places) one base layer holds.
pub const BASEMAP_MAX_PER_KIND: usize = 800;
/// The reverse lookup names nothing farther than this.
pub const NEAREST_MAX_M: f64 = 500.0;

/// One named point of the base layer: a road's reference point or a place.
#[derive(Debug, Clone, PartialEq)]
pub struct BasePoint {
    pub name: String,
    /// `road`, `poi` or (reverse lookup only) `address`.
    pub kind: String,
    pub lat: f64,
    pub lon: f64,
}

/// The base layer: roads and places, each thinned to [`BASEMAP_MAX_PER_KIND`].
#[derive(Debug, Clone, Default)]
pub struct BaseMap {
    pub roads: Vec<BasePoint>,
    pub places: Vec<BasePoint>,
    /// True when either list was thinned.
    pub truncated: bool,
}

/// Where a point is: the nearest gazetteer entry within [`NEAREST_MAX_M`] and the areas
/// containing the point, from the city down.
#[derive(Debug, Clone)]
pub struct ReverseHit {
    pub nearest: Option<(BasePoint, f64)>,
    pub areas: Vec<AreaRow>,
}

impl Services {
    /// Returns the public base layer (no login, no personal data: names and points of roads and
    /// places only).
    pub async fn public_basemap(&self) -> Result<BaseMap> {
        let index = self.gazetteer_index().await?;
        let pick = |kind: &str| -> (Vec<BasePoint>, bool) {
            let all: Vec<&urbis_storage::geo::GazetteerRow> =
                index.rows().iter().filter(|row| row.kind == kind).collect();
            let step = all.len().div_ceil(BASEMAP_MAX_PER_KIND).max(1);
            let points = all
                .iter()
                .step_by(step)
                .map(|row| BasePoint {
                    name: row.name.clone(),
                    kind: row.kind.clone(),
                    lat: row.lat,
                    lon: row.lon,
                })
                .collect();
            (points, step > 1)
        };
        let (roads, roads_cut) = pick("road");
        let (places, places_cut) = pick("poi");
        Ok(BaseMap {
            roads,
            places,
            truncated: roads_cut || places_cut,
        })
    }

    /// Returns the nearest gazetteer entry to a point (an address, place or road within
    /// [`NEAREST_MAX_M`]) and the areas containing it (no login).
    pub async fn reverse_lookup(&self, lat: f64, lon: f64) -> Result<ReverseHit> {
        if !lat.is_finite() || !lon.is_finite() {
            return Err(ServiceError::invalid(
                "invalid_location",
                "lat must be in [-90, 90] and lon in [-180, 180]",
            ));
        }
        let areas = self.locate(lat, lon).await?;
        let index = self.gazetteer_index().await?;
        let nearest = index
            .rows()
            .iter()
            .map(|row| {
                let metres = urbis_geo::measure::haversine_m((lon, lat), (row.lon, row.lat));
                (row, metres)
            })
            .filter(|(_, metres)| *metres <= NEAREST_MAX_M)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(row, metres)| {
                (
                    BasePoint {
                        name: row.name.clone(),
                        kind: row.kind.clone(),
                        lat: row.lat,
                        lon: row.lon,
                    },
                    (metres * 10.0).round() / 10.0,
                )
            });
        Ok(ReverseHit { nearest, areas })
    }
}
