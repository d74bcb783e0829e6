//! Small metric helpers on WGS84 longitude/latitude: distances and areas in metres.
//!
//! Distances use the haversine formula on the mean Earth radius (error < 0.5 %, fine for "within N metres"
//! questions). Areas integrate the lon/lat-straight-edged region exactly on the mean-radius sphere, so
//! they add up under clipping; [`geodesic_area_m2`] gives the ellipsoidal geodesic area for reference.

use geo::{Coord, GeodesicArea, MultiPolygon, Polygon};

/// Mean Earth radius (IUGG), in metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Returns the great-circle distance in metres between two `(lon, lat)` points.
pub fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lon1, lat1) = (a.0.to_radians(), a.1.to_radians());
    let (lon2, lat2) = (b.0.to_radians(), b.1.to_radians());
    let dlat = lat2 - lat1;
    let dlon = lon2 - lon1;
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Returns how many metres one degree of longitude and one degree of latitude span at `lat`
/// (spherical approximation, good to ~0.5 % for cell sizing).
pub fn metres_per_degree(lat: f64) -> (f64, f64) {
    let per_degree = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
    (per_degree * lat.to_radians().cos(), per_degree)
}

/// Returns the area of a multipolygon in square metres (holes subtracted).
///
/// The region is the one GeoJSON and PostGIS `geometry` describe: edges are straight lines in
/// longitude/latitude. Its area is integrated exactly on a sphere of [`EARTH_RADIUS_M`]
/// (`∬ R² cos φ dλ dφ`, by Green's theorem edge by edge), so it is additive under clipping: the
/// pieces of a cut polygon sum to the polygon, which geodesic-edge areas do not guarantee. The sphere
/// differs from the WGS84 ellipsoid by a few tenths of a percent, which is fine for cell sizing.
pub fn area_m2(geometry: &MultiPolygon<f64>) -> f64 {
    geometry.0.iter().map(polygon_area_m2).sum()
}

/// Returns the area of a polygon in square metres (holes subtracted); see [`area_m2`].
pub fn polygon_area_m2(polygon: &Polygon<f64>) -> f64 {
    let exterior = ring_area_m2(&polygon.exterior().0);
    let holes: f64 = polygon
        .interiors()
        .iter()
        .map(|ring| ring_area_m2(&ring.0))
        .sum();
    (exterior - holes).max(0.0)
}

/// Returns the geodesic area of a polygon in square metres (edges as WGS84 geodesics, GeographicLib).
pub fn geodesic_area_m2(polygon: &Polygon<f64>) -> f64 {
    // The signed area, made positive: `geodesic_area_unsigned` returns the rest of the Earth for a
    // clockwise exterior ring (GeographicLib's convention).
    polygon.geodesic_area_signed().abs()
}

/// Unsigned spherical area of one ring with lon/lat-straight edges: `|∮ −R² sin φ dλ|`.
fn ring_area_m2(coords: &[Coord<f64>]) -> f64 {
    let Some(first) = coords.first() else {
        return 0.0;
    };
    // Subtracting a constant from sin φ leaves the closed integral unchanged and limits cancellation.
    let sin_ref = first.y.to_radians().sin();
    let mut sum = 0.0;
    for pair in coords.windows(2) {
        let (l1, p1) = (pair[0].x.to_radians(), pair[0].y.to_radians());
        let (l2, p2) = (pair[1].x.to_radians(), pair[1].y.to_radians());
        // Along a straight edge φ is linear in λ: ∫ sin φ dλ = Δλ · sin φ_mid · sinc(Δφ / 2).
        let half = (p2 - p1) / 2.0;
        let sinc = if half.abs() < 1e-8 {
            1.0 - half * half / 6.0
        } else {
            half.sin() / half
        };
        sum += (l2 - l1) * (((p1 + p2) / 2.0).sin() * sinc - sin_ref);
    }
    (sum * EARTH_RADIUS_M * EARTH_RADIUS_M).abs()
}

/// Returns the planar distance from `p` to the segment `a`–`b`, in the units of the coordinates.
pub(crate) fn point_segment_distance(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (cx, cy) = (a.x + t * dx, a.y + t * dy);
    ((p.x - cx).powi(2) + (p.y - cy).powi(2)).sqrt()
}

/// Returns the planar distance in degrees from `(lon, lat)` to the nearest ring edge of `geometry`.
pub fn boundary_distance_deg(geometry: &MultiPolygon<f64>, lon: f64, lat: f64) -> f64 {
    let p = Coord { x: lon, y: lat };
    let mut best = f64::INFINITY;
    for polygon in &geometry.0 {
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            for line in ring.lines() {
                best = best.min(point_segment_distance(p, line.start, line.end));
            }
        }
    }
    best
}

/// Returns the distance in metres from `(lon, lat)` to the nearest ring edge of `geometry`
/// (planar in a local equirectangular frame at the point's latitude; accurate for short distances).
pub fn boundary_distance_m(geometry: &MultiPolygon<f64>, lon: f64, lat: f64) -> f64 {
    let (mx, my) = metres_per_degree(lat);
    let p = Coord {
        x: lon * mx,
        y: lat * my,
    };
    let mut best = f64::INFINITY;
    for polygon in &geometry.0 {
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            for line in ring.lines() {
                let a = Coord {
                    x: line.start.x * mx,
                    y: line.start.y * my,
                };
                let b = Coord {
                    x: line.end.x * mx,
                    y: line.end.y * my,
                };
                best = best.min(point_segment_distance(p, a, b));
            }
        }
    }
    best
}
