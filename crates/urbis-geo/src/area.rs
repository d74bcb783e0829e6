//! Administrative areas (区 / 街道 / 社区 / 网格) imported from GeoJSON boundaries.
//!
//! [`parse_geojson`] reads a FeatureCollection (or a single Feature), maps properties to codes and
//! names through a [`PropertyMapping`], validates every geometry and converts it to WGS84.
//! A bad feature never fails the batch: it becomes a [`FeatureProblem`] and the rest is imported.
//! Only whole-input faults (not JSON, not GeoJSON, over the [`ImportLimits`]) are errors.
//!
//! Validation covers: geometry type (Polygon / MultiPolygon only), empty geometry, positions with
//! fewer than two numbers, non-finite or out-of-range coordinates, rings with fewer than four positions,
//! unclosed rings, zero-area rings, and self-intersection (proper crossings or overlapping edges
//! between any two edges of one polygon, holes included). Overlap between different parts of a
//! MultiPolygon is not checked.

use std::collections::HashSet;

use geo::{Coord, LineString, MultiPolygon, Polygon};
use geojson::{JsonObject, JsonValue};
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Rectangle};

use crate::crs::{Crs, multipolygon_to_wgs84};
use crate::error::GeoError;

/// One administrative area with its boundary in WGS84.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaFeature {
    /// Administrative code, e.g. `110101` (district) or a 12-digit community code.
    pub code: String,
    /// Display name, e.g. `东城区`.
    pub name: String,
    /// Level in the area hierarchy.
    pub level: AreaLevel,
    /// Code of the enclosing area, when the source names it.
    pub parent_code: Option<String>,
    /// Boundary in WGS84 longitude/latitude.
    pub geometry: MultiPolygon<f64>,
}

/// Level of an area in the hierarchy city → district → street → community → unit grid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AreaLevel {
    /// 区 / 县.
    District,
    /// 街道 / 乡镇.
    Street,
    /// 社区 / 村.
    Community,
    /// 单元网格.
    Grid,
    /// Any other level named by the source (e.g. `province`, `city`, `neighborhood_council`).
    Other(String),
}

impl AreaLevel {
    /// Parses a level name; unknown names become [`AreaLevel::Other`].
    pub fn parse(text: &str) -> AreaLevel {
        match text.trim().to_ascii_lowercase().as_str() {
            "district" | "county" | "区" | "县" => AreaLevel::District,
            "street" | "town" | "township" | "街道" | "乡镇" => AreaLevel::Street,
            "community" | "village" | "社区" | "村" => AreaLevel::Community,
            "grid" | "unit_grid" | "网格" | "单元网格" => AreaLevel::Grid,
            other => AreaLevel::Other(other.to_owned()),
        }
    }

    /// Returns the level's lower-case name.
    pub fn as_str(&self) -> &str {
        match self {
            AreaLevel::District => "district",
            AreaLevel::Street => "street",
            AreaLevel::Community => "community",
            AreaLevel::Grid => "grid",
            AreaLevel::Other(name) => name,
        }
    }
}

/// How to read codes, names and parents from GeoJSON properties, and which CRS the coordinates use.
///
/// Property names may be dotted paths into nested objects: `parent.adcode` reads
/// `{"parent": {"adcode": 110000}}`. A key that literally contains the dot wins over the path.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyMapping {
    /// Property holding the area code (string or integer).
    pub code_prop: String,
    /// Property holding the display name.
    pub name_prop: String,
    /// Property holding the parent code, if the source has one.
    pub parent_prop: Option<String>,
    /// Level assigned to every imported feature.
    pub level: AreaLevel,
    /// CRS of the coordinates in the file; converted to WGS84 on import.
    pub source_crs: Crs,
}

impl PropertyMapping {
    /// Returns the mapping for Chinese map-service boundaries (DataV / Amap style):
    /// `adcode`, `name`, `parent.adcode`, GCJ-02 coordinates.
    pub fn china_adcode(level: AreaLevel) -> PropertyMapping {
        PropertyMapping {
            code_prop: "adcode".to_owned(),
            name_prop: "name".to_owned(),
            parent_prop: Some("parent.adcode".to_owned()),
            level,
            source_crs: Crs::Gcj02,
        }
    }
}

/// Bounds on an import; exceeding one fails the whole input with [`GeoError::TooLarge`],
/// except `max_vertices_per_feature`, which rejects only the offending feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    /// Maximum size of the GeoJSON text in bytes.
    pub max_bytes: usize,
    /// Maximum number of features.
    pub max_features: usize,
    /// Maximum number of positions in one feature.
    pub max_vertices_per_feature: usize,
    /// Maximum number of positions in the whole input.
    pub max_total_vertices: usize,
}

impl Default for ImportLimits {
    fn default() -> ImportLimits {
        ImportLimits {
            max_bytes: 256 * 1024 * 1024,
            max_features: 100_000,
            max_vertices_per_feature: 1_000_000,
            max_total_vertices: 10_000_000,
        }
    }
}

/// Why one feature of an import was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureProblem {
    /// Position of the feature in the input (0-based).
    pub index: usize,
    /// The feature's code, when it could be read.
    pub code: Option<String>,
    /// Lower-case description, e.g. "ring 0 of polygon 1 is not closed".
    pub message: String,
}

/// Parses GeoJSON boundaries with [`ImportLimits::default`]. See [`parse_geojson_with_limits`].
pub fn parse_geojson(
    text: &str,
    mapping: &PropertyMapping,
) -> Result<(Vec<AreaFeature>, Vec<FeatureProblem>), GeoError> {
    parse_geojson_with_limits(text, mapping, &ImportLimits::default())
}

/// Parses a GeoJSON FeatureCollection (or one Feature) into WGS84 areas plus per-feature problems.
///
/// Features whose code repeats an earlier feature's code are rejected as problems.
pub fn parse_geojson_with_limits(
    text: &str,
    mapping: &PropertyMapping,
    limits: &ImportLimits,
) -> Result<(Vec<AreaFeature>, Vec<FeatureProblem>), GeoError> {
    if text.len() > limits.max_bytes {
        return Err(GeoError::TooLarge {
            what: "bytes",
            actual: text.len(),
            limit: limits.max_bytes,
        });
    }
    let root: JsonValue = serde_json::from_str(text)
        .map_err(|err| GeoError::InvalidGeoJson(err.to_string().to_lowercase()))?;
    let root_type = root.get("type").and_then(JsonValue::as_str).unwrap_or("");
    let single;
    let feature_values: &[JsonValue] = match root_type {
        "FeatureCollection" => match root.get("features") {
            Some(JsonValue::Array(values)) => values,
            _ => {
                return Err(GeoError::InvalidGeoJson(
                    "feature collection has no features array".to_owned(),
                ));
            }
        },
        "Feature" => {
            single = [root.clone()];
            &single
        }
        "" => {
            return Err(GeoError::InvalidGeoJson(
                "missing \"type\" member".to_owned(),
            ));
        }
        other => {
            return Err(GeoError::InvalidGeoJson(format!(
                "expected a feature or feature collection, found {}",
                other.to_lowercase()
            )));
        }
    };
    if feature_values.len() > limits.max_features {
        return Err(GeoError::TooLarge {
            what: "features",
            actual: feature_values.len(),
            limit: limits.max_features,
        });
    }

    let mut features = Vec::with_capacity(feature_values.len());
    let mut problems = Vec::new();
    let mut seen_codes = HashSet::new();
    let mut total_vertices = 0usize;
    for (index, value) in feature_values.iter().enumerate() {
        let vertices = count_positions(value.get("geometry"));
        total_vertices = total_vertices.saturating_add(vertices);
        if total_vertices > limits.max_total_vertices {
            return Err(GeoError::TooLarge {
                what: "vertices",
                actual: total_vertices,
                limit: limits.max_total_vertices,
            });
        }
        match parse_feature(value, mapping, limits, vertices) {
            Ok(feature) => {
                if seen_codes.insert(feature.code.clone()) {
                    features.push(feature);
                } else {
                    let message = format!("duplicate code {}", feature.code);
                    problems.push(FeatureProblem {
                        index,
                        code: Some(feature.code),
                        message,
                    });
                }
            }
            Err((code, message)) => problems.push(FeatureProblem {
                index,
                code,
                message,
            }),
        }
    }
    Ok((features, problems))
}

/// Returns the areas as a GeoJSON FeatureCollection (WGS84) with `code`, `name`, `level`, `parent_code`.
pub fn to_geojson(features: &[AreaFeature]) -> geojson::FeatureCollection {
    let features = features
        .iter()
        .map(|area| {
            let mut properties = JsonObject::new();
            properties.insert("code".to_owned(), JsonValue::from(area.code.clone()));
            properties.insert("name".to_owned(), JsonValue::from(area.name.clone()));
            properties.insert("level".to_owned(), JsonValue::from(area.level.as_str()));
            let parent = area
                .parent_code
                .clone()
                .map_or(JsonValue::Null, JsonValue::from);
            properties.insert("parent_code".to_owned(), parent);
            geojson::Feature {
                bbox: None,
                geometry: Some(geojson::Geometry::new(geojson::Value::from(&area.geometry))),
                id: None,
                properties: Some(properties),
                foreign_members: None,
            }
        })
        .collect();
    geojson::FeatureCollection {
        bbox: None,
        features,
        foreign_members: None,
    }
}

/// Checks a multipolygon that did not come from GeoJSON (e.g. built in code or from a database)
/// with the same rules as the importer. Returns the first problem found.
pub fn validate_multipolygon(geometry: &MultiPolygon<f64>) -> Result<(), String> {
    if geometry.0.is_empty() {
        return Err("empty geometry".to_owned());
    }
    for (polygon_idx, polygon) in geometry.0.iter().enumerate() {
        let rings: Vec<&LineString<f64>> = std::iter::once(polygon.exterior())
            .chain(polygon.interiors())
            .collect();
        for (ring_idx, ring) in rings.iter().enumerate() {
            let at = format!("ring {ring_idx} of polygon {polygon_idx}");
            validate_ring(&ring.0, &at)?;
        }
        check_self_intersection(&rings).map_err(|msg| format!("polygon {polygon_idx}: {msg}"))?;
    }
    Ok(())
}

/// Reads one feature; the error carries the code when it was readable.
fn parse_feature(
    value: &JsonValue,
    mapping: &PropertyMapping,
    limits: &ImportLimits,
    vertices: usize,
) -> Result<AreaFeature, (Option<String>, String)> {
    let JsonValue::Object(object) = value else {
        return Err((None, "feature is not an object".to_owned()));
    };
    if object.get("type").and_then(JsonValue::as_str) != Some("Feature") {
        return Err((None, "object is not a feature".to_owned()));
    }
    let properties = match object.get("properties") {
        Some(JsonValue::Object(properties)) => properties,
        _ => return Err((None, "feature has no properties".to_owned())),
    };
    let code = property_text(properties, &mapping.code_prop).ok_or_else(|| {
        (
            None,
            format!("missing or empty property {}", mapping.code_prop),
        )
    })?;
    let fail = |message: String| (Some(code.clone()), message);
    let name = property_text(properties, &mapping.name_prop)
        .ok_or_else(|| fail(format!("missing or empty property {}", mapping.name_prop)))?;
    let parent_code = mapping
        .parent_prop
        .as_deref()
        .and_then(|prop| property_text(properties, prop));
    if vertices > limits.max_vertices_per_feature {
        return Err(fail(format!(
            "too many vertices: {vertices}, limit is {}",
            limits.max_vertices_per_feature
        )));
    }
    let geometry_value = match object.get("geometry") {
        Some(JsonValue::Null) | None => return Err(fail("feature has no geometry".to_owned())),
        Some(geometry) => geometry,
    };
    let geometry = parse_geometry(geometry_value).map_err(fail)?;
    validate_multipolygon(&geometry).map_err(fail)?;
    let geometry = multipolygon_to_wgs84(&geometry, mapping.source_crs);
    Ok(AreaFeature {
        code,
        name,
        level: mapping.level.clone(),
        parent_code,
        geometry,
    })
}

/// Returns a property as trimmed text: strings as they are, integers without a fraction.
fn property_text(properties: &JsonObject, path: &str) -> Option<String> {
    let value = match properties.get(path) {
        Some(value) => value,
        None => {
            let mut parts = path.split('.');
            let mut current = properties.get(parts.next()?)?;
            for part in parts {
                current = current.get(part)?;
            }
            current
        }
    };
    let text = match value {
        JsonValue::String(text) => text.trim().to_owned(),
        JsonValue::Number(number) => {
            if let Some(int) = number.as_i64() {
                int.to_string()
            } else if let Some(uint) = number.as_u64() {
                uint.to_string()
            } else {
                let float = number.as_f64()?;
                if float.fract() == 0.0 && float.abs() < 1e15 {
                    format!("{float:.0}")
                } else {
                    float.to_string()
                }
            }
        }
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// Counts positions in a GeoJSON geometry without validating it (for the vertex bounds).
fn count_positions(geometry: Option<&JsonValue>) -> usize {
    fn count(value: &JsonValue) -> usize {
        match value {
            JsonValue::Array(items) => {
                if items.first().is_some_and(JsonValue::is_number) {
                    1
                } else {
                    items.iter().map(count).sum()
                }
            }
            _ => 0,
        }
    }
    geometry.and_then(|g| g.get("coordinates")).map_or(0, count)
}

/// Converts GeoJSON Polygon / MultiPolygon coordinates to a multipolygon, checking array shapes.
fn parse_geometry(value: &JsonValue) -> Result<MultiPolygon<f64>, String> {
    let kind = value
        .get("type")
        .and_then(JsonValue::as_str)
        .ok_or("geometry has no type")?;
    let coordinates = value
        .get("coordinates")
        .ok_or("geometry has no coordinates")?;
    let polygons = match kind {
        "Polygon" => vec![parse_polygon(coordinates, 0)?],
        "MultiPolygon" => {
            let parts = coordinates
                .as_array()
                .ok_or("multipolygon coordinates are not an array")?;
            parts
                .iter()
                .enumerate()
                .map(|(idx, part)| parse_polygon(part, idx))
                .collect::<Result<Vec<_>, _>>()?
        }
        other => {
            return Err(format!(
                "unsupported geometry type {}, expected polygon or multipolygon",
                other.to_lowercase()
            ));
        }
    };
    Ok(MultiPolygon(polygons))
}

fn parse_polygon(value: &JsonValue, polygon_idx: usize) -> Result<Polygon<f64>, String> {
    let rings = value
        .as_array()
        .ok_or_else(|| format!("polygon {polygon_idx} is not an array of rings"))?;
    if rings.is_empty() {
        return Err(format!("polygon {polygon_idx} has no rings"));
    }
    let mut parsed = Vec::with_capacity(rings.len());
    for (ring_idx, ring) in rings.iter().enumerate() {
        let at = format!("ring {ring_idx} of polygon {polygon_idx}");
        let positions = ring
            .as_array()
            .ok_or_else(|| format!("{at} is not an array of positions"))?;
        let mut coords = Vec::with_capacity(positions.len());
        for (pos_idx, position) in positions.iter().enumerate() {
            let numbers = position
                .as_array()
                .filter(|numbers| numbers.len() >= 2)
                .ok_or_else(|| {
                    format!("position {pos_idx} of {at} is not an array of at least two numbers")
                })?;
            let x = numbers[0]
                .as_f64()
                .ok_or_else(|| format!("position {pos_idx} of {at} has a non-numeric x"))?;
            let y = numbers[1]
                .as_f64()
                .ok_or_else(|| format!("position {pos_idx} of {at} has a non-numeric y"))?;
            coords.push(Coord { x, y });
        }
        // Checked before `Polygon::new`, which would silently close an unclosed ring.
        validate_ring(&coords, &at)?;
        parsed.push(LineString(coords));
    }
    let exterior = parsed.remove(0);
    Ok(Polygon::new(exterior, parsed))
}

/// Checks one ring: enough positions, finite and in range, closed, with non-zero area.
fn validate_ring(coords: &[Coord<f64>], at: &str) -> Result<(), String> {
    for (pos_idx, c) in coords.iter().enumerate() {
        if !c.x.is_finite() || !c.y.is_finite() {
            return Err(format!("position {pos_idx} of {at} is not finite"));
        }
        if !(-180.0..=180.0).contains(&c.x) || !(-90.0..=90.0).contains(&c.y) {
            return Err(format!(
                "position {pos_idx} of {at} is out of range ({}, {})",
                c.x, c.y
            ));
        }
    }
    if coords.len() < 4 {
        return Err(format!(
            "{at} has {} positions, at least 4 are needed",
            coords.len()
        ));
    }
    if coords.first() != coords.last() {
        return Err(format!("{at} is not closed"));
    }
    let twice_area: f64 = coords
        .windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum();
    if twice_area == 0.0 {
        return Err(format!("{at} has zero area"));
    }
    Ok(())
}

/// One polygon edge in the self-intersection index: (ring index, edge index in ring).
type IndexedEdge = GeomWithData<Rectangle<[f64; 2]>, (usize, usize)>;

/// Reports the first proper crossing or collinear overlap between two edges of one polygon.
fn check_self_intersection(rings: &[&LineString<f64>]) -> Result<(), String> {
    use geo::{Line, LineIntersection, line_intersection::line_intersection};

    let mut edges: Vec<(usize, usize, Line<f64>)> = Vec::new();
    let mut ring_lens = Vec::with_capacity(rings.len());
    for (ring_idx, ring) in rings.iter().enumerate() {
        ring_lens.push(ring.0.len().saturating_sub(1));
        for (edge_idx, line) in ring.lines().enumerate() {
            if line.start != line.end {
                edges.push((ring_idx, edge_idx, line));
            }
        }
    }
    let is_adjacent = |a: (usize, usize), b: (usize, usize)| {
        if a.0 != b.0 {
            return false;
        }
        let n = ring_lens[a.0];
        let (lo, hi) = if a.1 < b.1 { (a.1, b.1) } else { (b.1, a.1) };
        hi - lo == 1 || (lo == 0 && hi + 1 == n)
    };
    let check_pair = |a: &(usize, usize, Line<f64>),
                      b: &(usize, usize, Line<f64>)|
     -> Result<(), String> {
        let adjacent = is_adjacent((a.0, a.1), (b.0, b.1));
        match line_intersection(a.2, b.2) {
            Some(LineIntersection::SinglePoint {
                is_proper: true,
                intersection,
            }) => Err(format!(
                "self-intersection near ({:.7}, {:.7}) between ring {} edge {} and ring {} edge {}",
                intersection.x, intersection.y, a.0, a.1, b.0, b.1
            )),
            Some(LineIntersection::Collinear { intersection })
                if intersection.start != intersection.end =>
            {
                let what = if adjacent {
                    "spike (edge folds back)"
                } else {
                    "overlapping edges"
                };
                Err(format!(
                    "{what} near ({:.7}, {:.7}) between ring {} edge {} and ring {} edge {}",
                    intersection.start.x, intersection.start.y, a.0, a.1, b.0, b.1
                ))
            }
            Some(LineIntersection::SinglePoint {
                is_proper: false, ..
            })
            | Some(LineIntersection::Collinear { .. })
            | None => Ok(()),
        }
    };

    const BRUTE_FORCE_EDGES: usize = 48;
    if edges.len() <= BRUTE_FORCE_EDGES {
        for (i, a) in edges.iter().enumerate() {
            for b in &edges[i + 1..] {
                check_pair(a, b)?;
            }
        }
        return Ok(());
    }
    let envelope_items: Vec<IndexedEdge> = edges
        .iter()
        .enumerate()
        .map(|(idx, (_, _, line))| {
            let rect =
                Rectangle::from_corners([line.start.x, line.start.y], [line.end.x, line.end.y]);
            GeomWithData::new(rect, (idx, 0))
        })
        .collect();
    let tree = RTree::bulk_load(envelope_items);
    for (i, a) in edges.iter().enumerate() {
        let envelope = AABB::from_corners([a.2.start.x, a.2.start.y], [a.2.end.x, a.2.end.y]);
        for candidate in tree.locate_in_envelope_intersecting(&envelope) {
            let j = candidate.data.0;
            if j > i {
                check_pair(a, &edges[j])?;
            }
        }
    }
    Ok(())
}
