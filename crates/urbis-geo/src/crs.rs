//! Coordinate reference systems: WGS84 (what Urbis stores) and GCJ-02 (what Chinese map services publish).
//!
//! GCJ-02 is WGS84 plus a deliberately obfuscated, position-dependent offset of a few hundred metres.
//! The forward transform below is the widely published offset formula on the Krasovsky 1940 ellipsoid.
//! The inverse has no closed form; [`gcj02_to_wgs84`] solves it by fixed-point iteration to better than 1e-9°.
//! Points outside the rough China bounding box are returned unchanged, as map services do.

use geo::{Coord, MapCoords, MultiPolygon};

/// The coordinate reference system of incoming coordinates. Urbis stores [`Crs::Wgs84`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Crs {
    /// WGS84 longitude/latitude in degrees (EPSG:4326): GPS, OpenStreetMap, most open data.
    Wgs84,
    /// GCJ-02 ("Mars coordinates"): Amap/Gaode, Tencent and Chinese administrative boundary services.
    Gcj02,
}

impl Crs {
    /// Returns the lower-case name used in options and CLI flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
        }
    }

    /// Parses `wgs84` / `gcj02` (case-insensitive, also `gcj-02`, `epsg:4326`).
    pub fn parse(text: &str) -> Option<Crs> {
        match text.trim().to_ascii_lowercase().as_str() {
            "wgs84" | "wgs-84" | "epsg:4326" | "4326" => Some(Crs::Wgs84),
            "gcj02" | "gcj-02" | "gcj" => Some(Crs::Gcj02),
            _ => None,
        }
    }

    /// Converts one `(lon, lat)` from this CRS to WGS84.
    pub fn to_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 => (lon, lat),
            Crs::Gcj02 => gcj02_to_wgs84(lon, lat),
        }
    }

    /// Converts one WGS84 `(lon, lat)` into this CRS.
    pub fn from_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Crs::Wgs84 => (lon, lat),
            Crs::Gcj02 => wgs84_to_gcj02(lon, lat),
        }
    }
}

/// Semi-major axis of the Krasovsky 1940 ellipsoid, in metres.
const KRASOVSKY_A: f64 = 6_378_245.0;
/// First eccentricity squared of the Krasovsky 1940 ellipsoid.
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
/// Iteration stops once the forward image is this close to the target (degrees).
const INVERSE_TOLERANCE_DEG: f64 = 1e-10;
/// Safety bound on inverse iterations; convergence normally takes 3–5 steps.
const INVERSE_MAX_ITERATIONS: usize = 30;

/// Returns true when the point lies outside the rectangle in which GCJ-02 applies an offset.
pub fn outside_china(lon: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

/// Converts WGS84 to GCJ-02. Outside China (and for non-finite input) the point is returned unchanged.
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if outside_china(lon, lat) {
        return (lon, lat);
    }
    let (dlon, dlat) = gcj_offset(lon, lat);
    (lon + dlon, lat + dlat)
}

/// Converts GCJ-02 to WGS84 by iterating the forward transform until the residual is below 1e-10°.
/// Outside China (and for non-finite input) the point is returned unchanged.
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if outside_china(lon, lat) {
        return (lon, lat);
    }
    // Start from the first-order guess `gcj - offset(gcj)` and correct by the forward residual.
    let (dlon, dlat) = gcj_offset(lon, lat);
    let (mut wlon, mut wlat) = (lon - dlon, lat - dlat);
    for _ in 0..INVERSE_MAX_ITERATIONS {
        let (glon, glat) = wgs84_to_gcj02(wlon, wlat);
        let (rlon, rlat) = (glon - lon, glat - lat);
        if rlon.abs() < INVERSE_TOLERANCE_DEG && rlat.abs() < INVERSE_TOLERANCE_DEG {
            break;
        }
        wlon -= rlon;
        wlat -= rlat;
    }
    (wlon, wlat)
}

/// Converts every vertex of a multipolygon from `from` to WGS84.
pub fn multipolygon_to_wgs84(geometry: &MultiPolygon<f64>, from: Crs) -> MultiPolygon<f64> {
    match from {
        Crs::Wgs84 => geometry.clone(),
        Crs::Gcj02 => geometry.map_coords(|c| {
            let (x, y) = gcj02_to_wgs84(c.x, c.y);
            Coord { x, y }
        }),
    }
}

/// Returns the GCJ-02 offset `(dlon, dlat)` in degrees at a WGS84 position.
fn gcj_offset(lon: f64, lat: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    let x = lon - 105.0;
    let y = lat - 35.0;
    let raw_dlat = offset_lat_metres_like(x, y);
    let raw_dlon = offset_lon_metres_like(x, y);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let dlat =
        (raw_dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let dlon = (raw_dlon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    (dlon, dlat)
}

/// The published latitude term of the offset (in "metres" on the Krasovsky ellipsoid).
fn offset_lat_metres_like(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

/// The published longitude term of the offset (in "metres" on the Krasovsky ellipsoid).
fn offset_lon_metres_like(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}
