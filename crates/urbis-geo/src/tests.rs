//! Unit tests for every module, plus data tests on `../shared/data` that skip when it is absent.

use std::path::PathBuf;

use geo::{Contains, Coord, LineString, MultiPolygon, Point, Polygon, Rect};

use crate::area::{
    AreaLevel, ImportLimits, PropertyMapping, parse_geojson, parse_geojson_with_limits,
};
use crate::asset::{Asset, AssetClass, AssetId, AssetIndex, AssetState};
use crate::crs::{Crs, gcj02_to_wgs84, wgs84_to_gcj02};
use crate::error::GeoError;
use crate::gazetteer::{EntryKind, Gazetteer, GazetteerEntry, MatchKind, normalize_address};
use crate::grid::{
    GridOptions, ResponsibilityGrid, UnitGrid, check_grids, generate_unit_grids, grid_capacity,
    grid_code, grids_adjacent, normalize_area_code, parse_grid_code,
};
use crate::locate::{Locator, LocatorOptions};
use crate::measure::{area_m2, haversine_m};

fn ring(coords: &[(f64, f64)]) -> LineString<f64> {
    LineString(coords.iter().map(|&(x, y)| Coord { x, y }).collect())
}

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
    Rect::new(Coord { x: x0, y: y0 }, Coord { x: x1, y: y1 }).to_polygon()
}

/// Deterministic pseudo-random numbers in [0, 1) for tests.
fn unit_stream(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Returns `../shared/data` next to the repository, or `None` (after saying so) when it is absent.
fn shared_data(test: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if path.is_dir() {
        Some(path)
    } else {
        println!(
            "skipping {test}: {} not found (shared data is only present in CI and dev setups)",
            path.display()
        );
        None
    }
}

// ---------------------------------------------------------------- crs

#[test]
fn gcj_round_trip_is_below_1e_7_degrees_across_china() {
    let mut next = unit_stream(7);
    for _ in 0..2_000 {
        let lon = 73.0 + next() * 62.0;
        let lat = 18.0 + next() * 35.0;
        let (glon, glat) = wgs84_to_gcj02(lon, lat);
        let (wlon, wlat) = gcj02_to_wgs84(glon, glat);
        assert!(
            (wlon - lon).abs() < 1e-7 && (wlat - lat).abs() < 1e-7,
            "round trip at ({lon}, {lat}) gave ({wlon}, {wlat})"
        );
    }
}

#[test]
fn gcj_offset_around_beijing_is_hundreds_of_metres() {
    // Tian'anmen Square, WGS84.
    let wgs = (116.3912, 39.9055);
    let gcj = wgs84_to_gcj02(wgs.0, wgs.1);
    let offset = haversine_m(wgs, gcj);
    assert!((300.0..800.0).contains(&offset), "offset {offset} m");
    // GCJ-02 shifts Beijing east and north.
    assert!(gcj.0 > wgs.0 && gcj.1 > wgs.1, "{gcj:?}");
    let back = Crs::Gcj02.to_wgs84(gcj.0, gcj.1);
    assert!(haversine_m(back, wgs) < 0.01);
}

#[test]
fn gcj_leaves_points_outside_china_unchanged() {
    for (lon, lat) in [
        (-118.25, 34.05),
        (2.35, 48.85),
        (139.9, 35.7),
        (f64::NAN, 10.0),
    ] {
        let (x, y) = wgs84_to_gcj02(lon, lat);
        assert!(
            x.to_bits() == lon.to_bits() && y.to_bits() == lat.to_bits(),
            "({lon}, {lat}) moved"
        );
        let (x, y) = gcj02_to_wgs84(lon, lat);
        assert!(
            x.to_bits() == lon.to_bits() && y.to_bits() == lat.to_bits(),
            "({lon}, {lat}) moved"
        );
    }
    assert_eq!(Crs::parse("GCJ-02"), Some(Crs::Gcj02));
    assert_eq!(Crs::parse("wgs84"), Some(Crs::Wgs84));
    assert_eq!(Crs::parse("bd09"), None);
}

// ---------------------------------------------------------------- area

#[test]
fn area_of_a_one_degree_cell_matches_the_spherical_formula_and_is_additive() {
    let r = crate::measure::EARTH_RADIUS_M;
    let cell = MultiPolygon(vec![square(116.0, 39.0, 117.0, 40.0)]);
    let expected =
        r * r * 1f64.to_radians() * (40f64.to_radians().sin() - 39f64.to_radians().sin());
    assert!((area_m2(&cell) / expected - 1.0).abs() < 1e-12);
    // Within 0.5 % of the ellipsoidal geodesic area.
    let geodesic = crate::measure::geodesic_area_m2(&cell.0[0]);
    assert!(
        (area_m2(&cell) / geodesic - 1.0).abs() < 5e-3,
        "{} vs {geodesic}",
        area_m2(&cell)
    );
    // A slanted cut: the two halves sum to the whole.
    let left = MultiPolygon(vec![Polygon::new(
        ring(&[
            (116.0, 39.0),
            (116.3, 39.0),
            (116.8, 40.0),
            (116.0, 40.0),
            (116.0, 39.0),
        ]),
        vec![],
    )]);
    let right = MultiPolygon(vec![Polygon::new(
        ring(&[
            (116.3, 39.0),
            (117.0, 39.0),
            (117.0, 40.0),
            (116.8, 40.0),
            (116.3, 39.0),
        ]),
        vec![],
    )]);
    assert!(((area_m2(&left) + area_m2(&right)) / area_m2(&cell) - 1.0).abs() < 1e-12);
    // Clockwise rings give the same area; holes subtract.
    let clockwise = MultiPolygon(vec![Polygon::new(
        ring(&[
            (116.0, 39.0),
            (116.0, 40.0),
            (117.0, 40.0),
            (117.0, 39.0),
            (116.0, 39.0),
        ]),
        vec![],
    )]);
    assert!((area_m2(&clockwise) / area_m2(&cell) - 1.0).abs() < 1e-12);
}

fn wgs_mapping() -> PropertyMapping {
    PropertyMapping {
        code_prop: "code".to_owned(),
        name_prop: "name".to_owned(),
        parent_prop: Some("parent".to_owned()),
        level: AreaLevel::Community,
        source_crs: Crs::Wgs84,
    }
}

#[test]
fn parse_reports_each_bad_feature_and_keeps_the_good_ones() {
    let text = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"code":"A","name":"good","parent":"P"},
       "geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}},
      {"type":"Feature","properties":{"code":"B","name":"point"},"geometry":{"type":"Point","coordinates":[0,0]}},
      {"type":"Feature","properties":{"code":"C","name":"unclosed"},
       "geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}},
      {"type":"Feature","properties":{"code":"D","name":"too few"},
       "geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}},
      {"type":"Feature","properties":{"code":"E","name":"bowtie"},
       "geometry":{"type":"Polygon","coordinates":[[[0,0],[2,2],[2,0],[0,1],[0,0]]]}},
      {"type":"Feature","properties":{"code":"F","name":"empty"},"geometry":{"type":"MultiPolygon","coordinates":[]}},
      {"type":"Feature","properties":{"name":"no code"},
       "geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}},
      {"type":"Feature","properties":{"code":"A","name":"duplicate"},
       "geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}},
      {"type":"Feature","properties":{"code":"G","name":"no geometry"},"geometry":null},
      {"type":"Feature","properties":{"code":"H","name":"out of range"},
       "geometry":{"type":"Polygon","coordinates":[[[0,0],[200,0],[1,1],[0,0]]]}},
      {"type":"Feature","properties":{"code":"I","name":"bad position"},
       "geometry":{"type":"Polygon","coordinates":[[[0,0],[1],[1,1],[0,0]]]}},
      {"type":"Feature","properties":{"code":"J","name":"hole crosses shell"},
       "geometry":{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4],[0,0]],[[1,1],[5,1],[5,2],[1,2],[1,1]]]}},
      {"type":"Feature","properties":{"code":7,"name":"numeric code, two parts"},
       "geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[2,2],[3,2],[3,3],[2,2]]]]}}
    ]}"#;
    let (features, problems) = parse_geojson(text, &wgs_mapping()).unwrap();
    let codes: Vec<&str> = features.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["A", "7"]);
    assert_eq!(features[0].parent_code.as_deref(), Some("P"));
    assert_eq!(features[0].level, AreaLevel::Community);
    assert_eq!(features[1].geometry.0.len(), 2);
    let by_index: Vec<(usize, Option<&str>, &str)> = problems
        .iter()
        .map(|p| (p.index, p.code.as_deref(), p.message.as_str()))
        .collect();
    let expect = [
        (1, Some("B"), "unsupported geometry type point"),
        (2, Some("C"), "is not closed"),
        (3, Some("D"), "at least 4 are needed"),
        (4, Some("E"), "self-intersection"),
        (5, Some("F"), "empty geometry"),
        (6, None, "missing or empty property code"),
        (7, Some("A"), "duplicate code a"),
        (8, Some("G"), "no geometry"),
        (9, Some("H"), "out of range"),
        (10, Some("I"), "not an array of at least two numbers"),
        (11, Some("J"), "self-intersection"),
    ];
    assert_eq!(by_index.len(), expect.len(), "{by_index:#?}");
    for ((index, code, message), (want_index, want_code, want_message)) in
        by_index.iter().zip(expect)
    {
        assert_eq!((*index, *code), (want_index, want_code));
        assert!(
            message.to_lowercase().contains(want_message),
            "feature {index}: {message:?} lacks {want_message:?}"
        );
    }
}

#[test]
fn parse_china_adcode_format_converts_gcj_to_wgs84() {
    let text = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
      "properties":{"adcode":110101,"name":"东城区","level":"district","parent":{"adcode":110000}},
      "geometry":{"type":"MultiPolygon","coordinates":[[[[116.40,39.90],[116.42,39.90],[116.42,39.92],[116.40,39.92],[116.40,39.90]]]]}}]}"#;
    let (features, problems) =
        parse_geojson(text, &PropertyMapping::china_adcode(AreaLevel::District)).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let area = &features[0];
    assert_eq!(
        (area.code.as_str(), area.name.as_str()),
        ("110101", "东城区")
    );
    assert_eq!(area.parent_code.as_deref(), Some("110000"));
    assert_eq!(area.level, AreaLevel::District);
    let first = area.geometry.0[0].exterior().0[0];
    let expected = gcj02_to_wgs84(116.40, 39.90);
    assert!((first.x - expected.0).abs() < 1e-12 && (first.y - expected.1).abs() < 1e-12);
    assert!(
        first.x < 116.40 && first.y < 39.90,
        "wgs84 lies south-west of gcj-02 in beijing"
    );
}

#[test]
fn parse_enforces_limits_and_rejects_non_geojson() {
    let feature = r#"{"type":"Feature","properties":{"code":"A","name":"a"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}"#;
    let collection = format!(r#"{{"type":"FeatureCollection","features":[{feature},{feature}]}}"#);
    let limits = ImportLimits {
        max_features: 1,
        ..ImportLimits::default()
    };
    let err = parse_geojson_with_limits(&collection, &wgs_mapping(), &limits).unwrap_err();
    assert!(
        matches!(
            err,
            GeoError::TooLarge {
                what: "features",
                actual: 2,
                limit: 1
            }
        ),
        "{err}"
    );
    let limits = ImportLimits {
        max_total_vertices: 6,
        ..ImportLimits::default()
    };
    let err = parse_geojson_with_limits(&collection, &wgs_mapping(), &limits).unwrap_err();
    assert!(
        matches!(
            err,
            GeoError::TooLarge {
                what: "vertices",
                ..
            }
        ),
        "{err}"
    );
    let limits = ImportLimits {
        max_vertices_per_feature: 3,
        ..ImportLimits::default()
    };
    let (features, problems) = parse_geojson_with_limits(feature, &wgs_mapping(), &limits).unwrap();
    assert!(features.is_empty());
    assert!(
        problems[0].message.contains("too many vertices"),
        "{problems:?}"
    );
    let limits = ImportLimits {
        max_bytes: 10,
        ..ImportLimits::default()
    };
    assert!(matches!(
        parse_geojson_with_limits(feature, &wgs_mapping(), &limits),
        Err(GeoError::TooLarge { what: "bytes", .. })
    ));
    for bad in [
        "not json",
        "[1,2]",
        r#"{"type":"Point","coordinates":[0,0]}"#,
        r#"{"type":"FeatureCollection"}"#,
    ] {
        let err = parse_geojson(bad, &wgs_mapping()).unwrap_err();
        assert!(matches!(err, GeoError::InvalidGeoJson(_)), "{bad}: {err}");
        assert_eq!(
            err.to_string(),
            err.to_string().to_lowercase(),
            "messages are lower-case"
        );
    }
}

// ---------------------------------------------------------------- locate

fn donut_and_islands() -> Vec<(u64, MultiPolygon<f64>)> {
    // Area 10: a 10×10 square with a 4×4 hole; area 20: two separate squares; area 30 fills the hole.
    let donut = Polygon::new(
        square(0.0, 0.0, 10.0, 10.0).exterior().clone(),
        vec![ring(&[
            (3.0, 3.0),
            (7.0, 3.0),
            (7.0, 7.0),
            (3.0, 7.0),
            (3.0, 3.0),
        ])],
    );
    vec![
        (10, MultiPolygon(vec![donut])),
        (
            20,
            MultiPolygon(vec![
                square(20.0, 0.0, 22.0, 2.0),
                square(30.0, 8.0, 32.0, 10.0),
            ]),
        ),
        (30, MultiPolygon(vec![square(3.5, 3.5, 6.5, 6.5)])),
    ]
}

#[test]
fn locate_handles_inside_outside_holes_and_parts() {
    for options in [
        LocatorOptions::standard(),
        LocatorOptions {
            max_grid_cells: 0,
            cells_per_edge: 1,
        },
    ] {
        let locator = Locator::build_with_options(donut_and_islands(), &options).unwrap();
        assert_eq!(locator.locate(1.0, 1.0), Some(10));
        assert_eq!(locator.locate(9.9, 5.0), Some(10));
        assert_eq!(
            locator.locate(3.2, 5.0),
            None,
            "in the hole, outside the inner area"
        );
        assert_eq!(
            locator.locate(5.0, 5.0),
            Some(30),
            "inside the area that fills the hole"
        );
        assert_eq!(locator.locate(21.0, 1.0), Some(20));
        assert_eq!(locator.locate(31.0, 9.0), Some(20), "second part");
        assert_eq!(locator.locate(25.0, 5.0), None, "between the parts");
        assert_eq!(locator.locate(-1.0, 5.0), None);
        assert_eq!(locator.locate(100.0, 100.0), None);
        assert_eq!(locator.locate(f64::NAN, 5.0), None);
        assert_eq!(locator.locate(5.0, f64::INFINITY), None);
    }
}

#[test]
fn locate_prefers_the_first_of_overlapping_areas() {
    let areas = vec![
        (1, MultiPolygon(vec![square(0.0, 0.0, 2.0, 2.0)])),
        (2, MultiPolygon(vec![square(1.0, 1.0, 3.0, 3.0)])),
    ];
    let locator = Locator::build(areas).unwrap();
    assert_eq!(locator.locate(1.5, 1.5), Some(1));
    assert_eq!(locator.locate(2.5, 2.5), Some(2));
    assert_eq!(locator.locate_all(1.5, 1.5), vec![1, 2]);
}

#[test]
fn locate_grid_agrees_with_geo_contains_on_a_jagged_polygon() {
    // A 300-vertex star with a hole: many boundary cells, thin spikes.
    let mut next = unit_stream(42);
    let star: Vec<(f64, f64)> = (0..=300)
        .map(|i| {
            let angle = (i % 300) as f64 / 300.0 * std::f64::consts::TAU;
            let radius = if i % 2 == 0 { 1.0 } else { 0.35 + 0.3 * next() };
            (
                116.4 + 0.05 * radius * angle.cos(),
                39.9 + 0.04 * radius * angle.sin(),
            )
        })
        .collect();
    let hole = ring(&[
        (116.399, 39.899),
        (116.401, 39.899),
        (116.401, 39.901),
        (116.399, 39.901),
        (116.399, 39.899),
    ]);
    let polygon = Polygon::new(ring(&star), vec![hole]);
    let geometry = MultiPolygon(vec![polygon.clone()]);
    let locator = Locator::build(vec![(5, geometry.clone())]).unwrap();
    assert!(
        locator.stats().mixed_cells > 0 && locator.stats().full_cells > 0,
        "{:?}",
        locator.stats()
    );
    let mut next = unit_stream(9);
    let mut checked = 0;
    for _ in 0..20_000 {
        let (x, y) = (116.34 + 0.12 * next(), 39.85 + 0.10 * next());
        if crate::measure::boundary_distance_deg(&geometry, x, y) < 1e-9 {
            continue;
        }
        let expected = polygon.contains(&Point::new(x, y)).then_some(5);
        assert_eq!(locator.locate(x, y), expected, "at ({x}, {y})");
        assert_eq!(locator.locate_exact(x, y), expected, "exact at ({x}, {y})");
        checked += 1;
    }
    assert!(checked > 19_000);
}

#[test]
fn locate_grid_and_rtree_paths_agree_bit_for_bit_even_on_boundaries() {
    // A 6×5 patchwork of jittered quadrilaterals sharing edges, one with a hole, plus random points and
    // points exactly on vertices and edge midpoints: the grid's cell-local shortcut must give exactly the
    // same answer as the full banded test everywhere.
    let mut next = unit_stream(3);
    let (nx, ny) = (6, 5);
    let mut corners = vec![vec![(0.0, 0.0); ny + 1]; nx + 1];
    for (i, column) in corners.iter_mut().enumerate() {
        for (j, corner) in column.iter_mut().enumerate() {
            let mut jitter = |v: f64, edge: bool| if edge { v } else { v + (next() - 0.5) * 0.6 };
            *corner = (
                jitter(i as f64, i == 0 || i == nx),
                jitter(j as f64, j == 0 || j == ny),
            );
        }
    }
    let mut areas = Vec::new();
    for i in 0..nx {
        for j in 0..ny {
            let quad = [
                corners[i][j],
                corners[i + 1][j],
                corners[i + 1][j + 1],
                corners[i][j + 1],
                corners[i][j],
            ];
            let holes = if (i, j) == (2, 2) {
                let (cx, cy) = (i as f64 + 0.5, j as f64 + 0.5);
                vec![ring(&[
                    (cx - 0.1, cy - 0.1),
                    (cx + 0.1, cy - 0.1),
                    (cx + 0.1, cy + 0.1),
                    (cx - 0.1, cy + 0.1),
                    (cx - 0.1, cy - 0.1),
                ])]
            } else {
                Vec::new()
            };
            areas.push((
                (i * ny + j) as u64,
                MultiPolygon(vec![Polygon::new(ring(&quad), holes)]),
            ));
        }
    }
    let mut probes: Vec<(f64, f64)> = (0..50_000)
        .map(|_| (next() * 6.4 - 0.2, next() * 5.4 - 0.2))
        .collect();
    for (_, geometry) in &areas {
        for line in geometry.0[0]
            .exterior()
            .lines()
            .chain(geometry.0[0].interiors().iter().flat_map(|r| r.lines()))
        {
            probes.push((line.start.x, line.start.y));
            probes.push((
                (line.start.x + line.end.x) / 2.0,
                (line.start.y + line.end.y) / 2.0,
            ));
        }
    }
    for options in [
        LocatorOptions::standard(),
        LocatorOptions {
            max_grid_cells: 64,
            cells_per_edge: 1,
        },
    ] {
        let locator = Locator::build_with_options(areas.clone(), &options).unwrap();
        for &(x, y) in &probes {
            assert_eq!(
                locator.locate(x, y),
                locator.locate_exact(x, y),
                "at ({x}, {y}) with {options:?}"
            );
        }
    }
    let locator = Locator::build(areas).unwrap();
    assert_eq!(locator.locate(2.5, 2.5), None, "inside the hole");
    assert_eq!(locator.locate(0.05, 0.05), Some(0));
    assert_eq!(locator.locate(5.95, 4.95), Some(29));
}

#[test]
fn locate_rejects_non_finite_geometry_and_accepts_empty_input() {
    let bad = MultiPolygon(vec![Polygon::new(
        ring(&[(0.0, 0.0), (f64::NAN, 0.0), (1.0, 1.0), (0.0, 0.0)]),
        vec![],
    )]);
    assert!(matches!(
        Locator::build(vec![(1, bad)]),
        Err(GeoError::InvalidGeometry { .. })
    ));
    let empty = Locator::build(Vec::new()).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.locate(0.0, 0.0), None);
}

// ---------------------------------------------------------------- grid

/// An L-shaped block of about 1.2 km² near Beijing with a slanted edge (to force clipping and slivers).
fn l_shaped_block() -> MultiPolygon<f64> {
    MultiPolygon(vec![Polygon::new(
        ring(&[
            (116.400, 39.900),
            (116.4137, 39.9003),
            (116.4139, 39.9052),
            (116.4071, 39.9049),
            (116.4068, 39.9101),
            (116.4003, 39.9096),
            (116.400, 39.900),
        ]),
        vec![],
    )])
}

#[test]
fn grid_cells_lie_inside_the_parent_without_overlap_and_cover_it() {
    let parent = l_shaped_block();
    let (grids, report) =
        generate_unit_grids("110101001001", &parent, &GridOptions::standard()).unwrap();
    assert!((80..200).contains(&grids.len()), "{} cells", grids.len());
    assert_eq!(report.cells, grids.len());
    assert!(
        report.whole_cells > 0 && report.clipped_cells > 0,
        "{report:?}"
    );
    let cells: Vec<MultiPolygon<f64>> = grids.iter().map(|g| g.geometry.clone()).collect();
    let quality = check_grids(&parent, &cells, 0.01).unwrap();
    assert_eq!(quality.cells_outside, 0, "{quality:?}");
    assert_eq!(quality.overlapping_pairs, 0, "{quality:?}");
    let covered = report.cells_area_m2 + report.dropped_area_m2;
    assert!(
        (covered / report.parent_area_m2 - 1.0).abs() < 1e-6,
        "{report:?}"
    );
    assert!((quality.coverage_ratio - report.cells_area_m2 / report.parent_area_m2).abs() < 1e-9);
    for grid in &grids {
        assert!(
            grid.area_m2 >= 1_000.0 && grid.area_m2 < 20_000.0,
            "{} has {} m²",
            grid.code,
            grid.area_m2
        );
        assert_eq!(grid.code.len(), 15);
        assert!(grid.code.starts_with("110101001001"));
    }
    // Whole cells are 100 m × 100 m within 1 %.
    let whole = grids
        .iter()
        .find(|g| g.geometry.0[0].exterior().0.len() == 5 && g.area_m2 > 9_000.0)
        .unwrap();
    assert!(
        (whole.area_m2 - 10_000.0).abs() < 100.0,
        "{}",
        whole.area_m2
    );
    // Generated neighbours in one row form a valid responsibility grid.
    let row: Vec<&UnitGrid> = grids
        .iter()
        .filter(|g| g.row == grids[0].row)
        .take(3)
        .collect();
    assert!(
        row.windows(2).all(|w| w[1].column == w[0].column + 1),
        "first row is contiguous"
    );
    ResponsibilityGrid::new("R", "first row", "supervisor-1", &row).unwrap();
    // Sequences run 001, 002, … north to south.
    assert_eq!(grids[0].code, "110101001001001");
    assert_eq!(grids[1].code, "110101001001002");
    assert!(
        grids
            .windows(2)
            .all(|w| (w[0].row, w[0].column) <= (w[1].row, w[1].column))
    );
}

#[test]
fn grid_codes_pad_short_parents_and_open_synthetic_blocks() {
    assert_eq!(normalize_area_code("110101").unwrap(), "110101000000");
    assert_eq!(normalize_area_code("110101002").unwrap(), "110101002000");
    assert!(matches!(
        normalize_area_code("11010"),
        Err(GeoError::InvalidAreaCode { .. })
    ));
    assert!(matches!(
        normalize_area_code("11a101"),
        Err(GeoError::InvalidAreaCode { .. })
    ));
    assert!(matches!(
        normalize_area_code("110000"),
        Err(GeoError::InvalidAreaCode { .. })
    ));
    assert_eq!(grid_code("110101", 0).unwrap(), "110101000000001");
    assert_eq!(grid_code("110101", 998).unwrap(), "110101000000999");
    assert_eq!(grid_code("110101", 999).unwrap(), "110101000901001");
    assert_eq!(grid_code("110101", 999 * 100).unwrap(), "110101901000001");
    assert_eq!(grid_code("110101002", 999).unwrap(), "110101002901001");
    assert_eq!(grid_capacity("110101002003").unwrap(), 999);
    assert_eq!(grid_capacity("110101002").unwrap(), 99_900);
    assert_eq!(grid_capacity("110101").unwrap(), 9_990_000);
    let full = grid_code("110101002003", 999).unwrap_err();
    assert!(
        matches!(full, GeoError::SequenceFull { capacity: 999, .. }),
        "{full}"
    );
    assert!(full.to_string().starts_with("sequence full"));
    assert_eq!(
        parse_grid_code("110101002003017").unwrap(),
        ("110101002003".to_owned(), 17)
    );
    assert!(parse_grid_code("110101002003000").is_err());
    assert!(parse_grid_code("11010100200301").is_err());
}

#[test]
fn grid_generation_fails_with_sequence_full_for_a_crowded_community() {
    // About 0.95 km² in 500 m² cells needs about 1,900 cells: more than one community block holds.
    let parent = MultiPolygon(vec![square(116.40, 39.90, 116.41, 39.91)]);
    let options = GridOptions {
        cell_area_m2: 500.0,
        min_cell_area_m2: 10.0,
        max_cells: 100_000,
    };
    let err = generate_unit_grids("110101002003", &parent, &options).unwrap_err();
    assert!(
        matches!(err, GeoError::SequenceFull { capacity: 999, .. }),
        "{err}"
    );
    let (grids, _) = generate_unit_grids("110101002", &parent, &options).unwrap();
    assert!(grids.len() > 999);
    assert_eq!(grids[999].code, "110101002901001");
    let bad = GridOptions {
        cell_area_m2: 100.0,
        min_cell_area_m2: 200.0,
        max_cells: 10,
    };
    assert!(matches!(
        generate_unit_grids("110101", &parent, &bad),
        Err(GeoError::InvalidOptions(_))
    ));
}

fn unit(code: &str, x0: f64, y0: f64) -> UnitGrid {
    let geometry = MultiPolygon(vec![square(x0, y0, x0 + 1.0, y0 + 1.0)]);
    UnitGrid {
        code: code.to_owned(),
        parent_code: "110101000000".to_owned(),
        row: 0,
        column: 0,
        area_m2: area_m2(&geometry),
        geometry,
    }
}

#[test]
fn responsibility_grid_requires_connected_unit_grids() {
    let (a, b, c) = (
        unit("110101000000001", 0.0, 0.0),
        unit("110101000000002", 1.0, 0.0),
        unit("110101000000003", 1.0, 1.0),
    );
    let corner_only = unit("110101000000004", 2.0, 2.0);
    let far = unit("110101000000005", 5.0, 5.0);
    let grid = ResponsibilityGrid::new("R1", "东四一片", "supervisor-7", &[&a, &b, &c]).unwrap();
    assert_eq!(grid.unit_codes.len(), 3);
    assert!(grids_adjacent(&a.geometry, &b.geometry));
    assert!(
        !grids_adjacent(&a.geometry, &c.geometry),
        "corner contact is not adjacency"
    );
    let err = ResponsibilityGrid::new("R2", "x", "s", &[&a, &b, &c, &corner_only]).unwrap_err();
    assert!(
        matches!(&err, GeoError::NotAdjacent { code, .. } if code == "110101000000004"),
        "{err}"
    );
    assert!(matches!(
        ResponsibilityGrid::new("R3", "x", "s", &[&a, &far]),
        Err(GeoError::NotAdjacent { .. })
    ));
    assert!(matches!(
        ResponsibilityGrid::new("R4", "x", "s", &[&a, &a]),
        Err(GeoError::InvalidResponsibilityGrid { .. })
    ));
    assert!(matches!(
        ResponsibilityGrid::new("R5", "x", "s", &[]),
        Err(GeoError::InvalidResponsibilityGrid { .. })
    ));
    assert!(matches!(
        ResponsibilityGrid::new("R6", "x", " ", &[&a]),
        Err(GeoError::InvalidResponsibilityGrid { .. })
    ));
}

// ---------------------------------------------------------------- asset

#[test]
fn asset_ids_parse_validate_and_format() {
    let id = AssetId::parse("3205080101000001").unwrap();
    assert_eq!(
        (id.county().as_str(), id.class(), id.subclass(), id.serial()),
        ("320508", 1, 1, 1)
    );
    assert_eq!(id.to_string(), "3205080101000001");
    assert_eq!(
        AssetId::new("110101", 2, 15, 42).unwrap().to_string(),
        "1101010215000042"
    );
    assert_eq!(
        "1101010215000042".parse::<AssetId>().unwrap(),
        AssetId::new("110101", 2, 15, 42).unwrap()
    );
    for (bad, reason) in [
        ("320508010100001", "expected 16 digits"),
        ("32050801010000012", "expected 16 digits"),
        ("32050801010000a1", "only digits"),
        ("9805080101000001", "province"),
        ("9005080101000001", "province"),
        ("3200000101000001", "not a county"),
        ("3205080001000001", "big class 00"),
        ("3205080100000001", "small class 00"),
        ("3205080101000000", "serial 000000"),
    ] {
        let err = AssetId::parse(bad).unwrap_err();
        assert!(err.to_string().contains(reason), "{bad}: {err}");
    }
    assert_eq!(AssetState::parse("破损"), Some(AssetState::Damaged));
    assert_eq!(AssetState::parse("occupied"), Some(AssetState::Occupied));
    assert_eq!(AssetState::Lost.label_zh(), "丢失");
    assert_eq!(AssetState::Intact.label_zh(), "完好");
    assert_eq!(AssetState::parse("broken"), None);
}

#[test]
fn asset_index_finds_the_nearest_of_a_class_within_range() {
    let asset = |id: &str, lon: f64, lat: f64| Asset {
        id: id.parse().unwrap(),
        lon,
        lat,
        state: AssetState::Intact,
    };
    let index = AssetIndex::new(vec![
        asset("1101010101000001", 116.4000, 39.9000), // manhole cover
        asset("1101010101000002", 116.4010, 39.9000), // manhole cover, ~85 m east
        asset("1101010301000001", 116.4001, 39.9000), // street light, ~8.5 m east
        asset("1101010102000001", 116.4002, 39.9000), // another 01 subclass
    ])
    .unwrap();
    let found = index
        .nearest(116.4008, 39.9000, AssetClass::Small(1, 1), 100.0)
        .unwrap();
    assert_eq!(found.asset.id.to_string(), "1101010101000002");
    assert!(
        (found.distance_m - 17.1).abs() < 0.5,
        "{}",
        found.distance_m
    );
    let found = index
        .nearest(116.4008, 39.9000, AssetClass::Big(1), 100.0)
        .unwrap();
    assert_eq!(found.asset.id.to_string(), "1101010101000002");
    let found = index
        .nearest(116.4003, 39.9000, AssetClass::Big(1), 100.0)
        .unwrap();
    assert_eq!(found.asset.id.to_string(), "1101010102000001");
    assert_eq!(
        index.nearest(116.4008, 39.9000, AssetClass::Small(3, 1), 50.0),
        None,
        "street light is 60 m away"
    );
    assert!(
        index
            .nearest(116.4008, 39.9000, AssetClass::Small(3, 1), 70.0)
            .is_some()
    );
    assert_eq!(
        index.nearest(116.4008, 39.9000, AssetClass::Small(5, 1), 1e6),
        None,
        "no such class"
    );
}

// ---------------------------------------------------------------- gazetteer

fn sample_gazetteer() -> Gazetteer {
    let entry = |name: &str, kind, road: Option<&str>, number: Option<&str>| GazetteerEntry {
        name: name.to_owned(),
        kind,
        lon: 116.43,
        lat: 39.93,
        road: road.map(str::to_owned),
        house_number: number.map(str::to_owned),
    };
    Gazetteer::new(vec![
        entry("东直门南大街", EntryKind::Road, None, None),
        entry(
            "东直门南大街5号",
            EntryKind::HouseNumber,
            Some("东直门南大街"),
            Some("5号"),
        ),
        entry(
            "东直门南大街7号",
            EntryKind::HouseNumber,
            Some("东直门南大街"),
            Some("7"),
        ),
        entry("雍和宫", EntryKind::Poi, None, None),
        entry("朝阳门北大街", EntryKind::Road, None, None),
        entry("东四十条地铁站", EntryKind::Poi, None, None),
    ])
    .unwrap()
}

#[test]
fn gazetteer_matches_exact_then_normalised_then_structured() {
    let gazetteer = sample_gazetteer();
    let best = &gazetteer.lookup("雍和宫", 3)[0];
    assert_eq!(
        (best.entry.name.as_str(), best.match_kind, best.score),
        ("雍和宫", MatchKind::Exact, 1.0)
    );
    let best = &gazetteer.lookup(" 东直门南大街５號附近 ", 3)[0];
    assert_eq!(
        (best.entry.name.as_str(), best.match_kind),
        ("东直门南大街5号", MatchKind::Normalized)
    );
    let best = &gazetteer.lookup("北京市东城区东直门南大街7号旁", 3)[0];
    assert_eq!(best.entry.name, "东直门南大街7号");
    assert!(best.score >= 0.9, "{best:?}");
    let best = &gazetteer.lookup("东直门南大街99号", 3)[0];
    assert_eq!(
        (best.entry.name.as_str(), best.match_kind),
        ("东直门南大街", MatchKind::RoadOnly)
    );
    assert_eq!(normalize_address("ＡＢＣ１２３號　附近"), "abc123号");
}

#[test]
fn gazetteer_finds_the_names_a_free_text_mentions_longest_first() {
    let gazetteer = sample_gazetteer();
    let names = |text: &str| -> Vec<&str> {
        gazetteer
            .named_in(text, 4)
            .into_iter()
            .map(|i| gazetteer.entries()[i].name.as_str())
            .collect()
    };
    // The house number wins over the road it starts with; names come in the order written.
    assert_eq!(
        names("东直门南大街5号楼下垃圾没人收，雍和宫那边也一样"),
        ["东直门南大街5号", "雍和宫"]
    );
    assert_eq!(names("东直门南大街99号门口"), ["东直门南大街"]);
    assert!(names("楼下垃圾三天没人收").is_empty());
    assert_eq!(gazetteer.named_in("雍和宫雍和宫东四十条地铁站", 1).len(), 1);
}

#[test]
fn gazetteer_fuzzy_matches_typos_with_a_lower_score() {
    let gazetteer = sample_gazetteer();
    let candidates = gazetteer.lookup("东四十条地铁", 3);
    assert_eq!(candidates[0].entry.name, "东四十条地铁站");
    assert_eq!(candidates[0].match_kind, MatchKind::Fuzzy);
    assert!(
        candidates[0].score > 0.5 && candidates[0].score < 0.85,
        "{:?}",
        candidates[0]
    );
    let candidates = gazetteer.lookup("朝阳门北大衔", 3);
    assert_eq!(candidates[0].entry.name, "朝阳门北大街");
    assert!(candidates.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(gazetteer.lookup("完全无关的地方", 3).is_empty());
    assert!(gazetteer.lookup("", 3).is_empty());
}

// ---------------------------------------------------------------- data tests

#[test]
fn data_beijing_districts_import_and_locate_their_seats() {
    let Some(data) = shared_data("data_beijing_districts_import_and_locate_their_seats") else {
        return;
    };
    let text = std::fs::read_to_string(data.join("geo/110100_full.json")).unwrap();
    let (districts, problems) =
        parse_geojson(&text, &PropertyMapping::china_adcode(AreaLevel::District)).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(districts.len(), 16);
    let locator = Locator::build(
        districts
            .iter()
            .enumerate()
            .map(|(i, d)| (i as u64, d.geometry.clone()))
            .collect(),
    )
    .unwrap();
    // Each district's `center` (its government seat, GCJ-02) must locate to that district.
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (idx, feature) in json["features"].as_array().unwrap().iter().enumerate() {
        let center = &feature["properties"]["center"];
        let (lon, lat) = gcj02_to_wgs84(center[0].as_f64().unwrap(), center[1].as_f64().unwrap());
        assert_eq!(
            locator.locate(lon, lat),
            Some(idx as u64),
            "{} seat",
            districts[idx].name
        );
    }
    let total_km2: f64 = districts.iter().map(|d| area_m2(&d.geometry)).sum::<f64>() / 1e6;
    assert!(
        (16_000.0..17_000.0).contains(&total_km2),
        "beijing is about 16,410 km², got {total_km2}"
    );
}

#[test]
fn data_xicheng_unit_grids_lie_inside_and_do_not_overlap() {
    let Some(data) = shared_data("data_xicheng_unit_grids_lie_inside_and_do_not_overlap") else {
        return;
    };
    let text = std::fs::read_to_string(data.join("geo/110100_full.json")).unwrap();
    let (districts, _) =
        parse_geojson(&text, &PropertyMapping::china_adcode(AreaLevel::District)).unwrap();
    let xicheng = districts.iter().find(|d| d.code == "110102").unwrap();
    let (grids, report) =
        generate_unit_grids(&xicheng.code, &xicheng.geometry, &GridOptions::standard()).unwrap();
    // 西城区 is about 50.7 km²: about 5,000 cells of 1 ha, so synthetic blocks are in use.
    assert!(
        (4_500..6_000).contains(&grids.len()),
        "{} cells",
        grids.len()
    );
    assert!(grids.iter().any(|g| g.code.starts_with("110102000901")));
    let cells: Vec<MultiPolygon<f64>> = grids.iter().map(|g| g.geometry.clone()).collect();
    let quality = check_grids(&xicheng.geometry, &cells, 0.01).unwrap();
    assert_eq!(quality.cells_outside, 0, "{quality:?}");
    assert_eq!(quality.overlapping_pairs, 0, "{quality:?}");
    assert!(
        quality.coverage_ratio > 0.999 && quality.coverage_ratio < 1.000_001,
        "{quality:?} {report:?}"
    );
}

#[test]
fn data_la_311_requests_agree_with_recorded_councils() {
    let Some(data) = shared_data("data_la_311_requests_agree_with_recorded_councils") else {
        return;
    };
    let args = crate::tools::CheckLaArgs {
        councils: data.join("la311/la_neighborhood_councils_certified.geojson"),
        requests: data.join("la311/MyLA311_2017-12_subset_9999.csv"),
        ..crate::tools::CheckLaArgs::defaults()
    };
    let report = crate::tools::check_la(&args).unwrap();
    assert_eq!(report.councils, 99);
    assert_eq!(report.rows, 9_999);
    assert!(report.compared > 8_000, "{}", report.compared);
    // Strict agreement is 98.9 %: the 2017 dataset predates two councils (127, 128) that took territory
    // from others. On comparable requests the figure must reach 99 %, and within 50 m of the recorded
    // council's boundary (centreline geocodes) 99.5 %.
    assert!(
        report.agreement >= 0.985,
        "strict agreement {:.4}: {:#?}",
        report.agreement,
        report.mismatches
    );
    assert!(
        report.comparable_agreement >= 0.99,
        "comparable agreement {:.4}",
        report.comparable_agreement
    );
    assert!(
        report.tolerant_agreement >= 0.995,
        "tolerant agreement {:.4}",
        report.tolerant_agreement
    );
    assert!(
        report.naming_differences.iter().any(|(id, ..)| id == "44"),
        "echo park was renamed"
    );
}
