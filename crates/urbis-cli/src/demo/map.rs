//! The demo city's geography, all of its own making: a fictional 示范市 around a made-up centre, drawn
//! as nested irregular polygons — a central district (青山区) ringed by three outer districts, each cut
//! into streets by angle and each street into two communities by distance from the centre — then cut
//! into ~10,000 m² unit grids by the real generator, with responsibility grids bound to the district
//! supervisors, a gazetteer of invented roads, door plates and places, and a few hundred city assets.
//!
//! Shapes are laid out in a polar parameter space (angle θ, relative radius ρ) and mapped to the plane
//! through a wobbly outline and a smooth warp (its displacement gradient stays well below 1, so the map
//! is one-to-one and no polygon crosses itself). Every edge is sampled at one global set of θ and ρ
//! values that holds every breakpoint, so neighbours share exactly the same vertices.

use std::collections::HashMap;
use std::f64::consts::TAU;

use urbis_domain::area::AreaLevel as Level;
use urbis_domain::role::Actor;
use urbis_geo::area::{AreaFeature, AreaLevel, PropertyMapping, parse_geojson};
use urbis_geo::crs::Crs;
use urbis_service::Services;
use urbis_service::assets::AssetInput;
use urbis_service::gazetteer::GazetteerInput;
use urbis_service::grids::NewResponsibilityGrid;
use urbis_service::rows::AreaRow;

/// The made-up centre of 示范市 (lat, lon).
pub(super) const CENTRE: (f64, f64) = (30.60, 114.30);
/// Mean radius of the city in metres.
const RADIUS_M: f64 = 2_400.0;
/// Inner district radius, relative.
const CORE: f64 = 0.36;

/// One area of the layout, in parameter space.
struct Cell {
    code: String,
    name: String,
    parent_code: String,
    theta: (f64, f64),
    rho: (f64, f64),
}

struct Layout {
    districts: Vec<Cell>,
    streets: Vec<Cell>,
    communities: Vec<Cell>,
}

/// What the map seeding made, for the case simulation.
pub(super) struct MapSeed {
    pub(super) districts: Vec<AreaRow>,
    /// (unit grid id, district index).
    pub(super) grids: Vec<(i64, usize)>,
    /// Centre of every unit grid (lat, lon).
    pub(super) centers: HashMap<i64, (f64, f64)>,
    /// The manhole cover placed in a unit grid, if any (lat, lon).
    pub(super) covers: HashMap<i64, (f64, f64)>,
}

/// Road names, one per street (our own, with the streets of the sample appeals among them).
const ROADS: [&str; 12] = [
    "青山路",
    "幸福路",
    "建设大街",
    "清河大道",
    "滨江路",
    "人民路",
    "东湖路",
    "和平路",
    "新华路",
    "西岭街",
    "胜利街",
    "光明大道",
];

fn layout(districts: &[(&str, &str)], streets: &[&str], communities: &[&str]) -> Layout {
    let mut layout = Layout {
        districts: Vec::new(),
        streets: Vec::new(),
        communities: Vec::new(),
    };
    // The central district is a disk; the outer three are sectors of the ring around it.
    let outer = [0.35, 2.45, 4.2, 0.35 + TAU];
    for (d_idx, (d_code, d_name)) in districts.iter().enumerate().take(4) {
        let code = format!("9901{d_code}");
        let (theta, rho) = if d_idx == 0 {
            ((1.0, 1.0 + TAU), (0.0, CORE))
        } else {
            ((outer[d_idx - 1], outer[d_idx]), (CORE, 1.0))
        };
        layout.districts.push(Cell {
            code: code.clone(),
            name: (*d_name).to_owned(),
            parent_code: "990100".into(),
            theta,
            rho,
        });
        // Streets by angle, in unequal shares.
        let shares = [0.30, 0.36, 0.34];
        let mut start = theta.0;
        for (s_idx, s_name) in streets.iter().enumerate().take(3) {
            let end = if s_idx == 2 {
                theta.1
            } else {
                start + (theta.1 - theta.0) * shares[s_idx]
            };
            let s_code = format!("{code}{:03}", s_idx + 1);
            layout.streets.push(Cell {
                code: s_code.clone(),
                name: (*s_name).to_owned(),
                parent_code: code.clone(),
                theta: (start, end),
                rho,
            });
            // Communities by distance from the centre, split a little differently per street.
            let split = rho.0 + (rho.1 - rho.0) * [0.46, 0.52, 0.58][(d_idx + s_idx) % 3];
            for (c_idx, c_name) in communities.iter().enumerate().take(2) {
                layout.communities.push(Cell {
                    code: format!("{s_code}{:03}", c_idx + 1),
                    name: (*c_name).to_owned(),
                    parent_code: s_code.clone(),
                    theta: (start, end),
                    rho: if c_idx == 0 {
                        (rho.0, split)
                    } else {
                        (split, rho.1)
                    },
                });
            }
            start = end;
        }
    }
    layout
}

/// The wobbly outline: the city's radius in metres at angle θ.
fn outline(theta: f64) -> f64 {
    RADIUS_M
        * (1.0
            + 0.10 * (3.0 * theta + 0.7).sin()
            + 0.06 * (5.0 * theta + 2.1).sin()
            + 0.04 * (7.0 * theta + 0.3).sin())
}

/// Maps a parameter point to WGS84 (lon, lat), rounded to 1e-6°.
fn to_lon_lat(theta: f64, rho: f64) -> (f64, f64) {
    let theta = theta.rem_euclid(TAU);
    let r = rho * outline(theta);
    let (x, y) = (r * theta.cos(), r * theta.sin());
    let wx = x + 90.0 * (y / 650.0 + 1.3).sin() + 60.0 * (x / 420.0 + 0.2).sin();
    let wy = y + 80.0 * (x / 560.0 + 0.4).cos() + 50.0 * (y / 390.0 + 2.2).sin();
    let (m_lon, m_lat) = urbis_geo::measure::metres_per_degree(CENTRE.0);
    let round = |v: f64| (v * 1e6).round() / 1e6;
    (round(CENTRE.1 + wx / m_lon), round(CENTRE.0 + wy / m_lat))
}

/// Global sample sets: θ every 1.5° plus every breakpoint; ρ every 0.04 plus every breakpoint.
fn samples(layout: &Layout) -> (Vec<f64>, Vec<f64>) {
    let all = || {
        layout
            .districts
            .iter()
            .chain(&layout.streets)
            .chain(&layout.communities)
    };
    let mut thetas: Vec<f64> = (0..240).map(|k| k as f64 * TAU / 240.0).collect();
    let mut rhos: Vec<f64> = (0..=25).map(|k| k as f64 * 0.04).collect();
    for cell in all() {
        thetas.push(cell.theta.0.rem_euclid(TAU));
        thetas.push(cell.theta.1.rem_euclid(TAU));
        rhos.push(cell.rho.0);
        rhos.push(cell.rho.1);
    }
    let dedup = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        v
    };
    (dedup(thetas), dedup(rhos))
}

/// Returns the θ samples in [from, to] (to may exceed 2π), ascending.
fn theta_run(thetas: &[f64], from: f64, to: f64) -> Vec<f64> {
    let mut run = vec![from];
    for turn in [0.0, TAU] {
        for t in thetas {
            let t = t + turn;
            if t > from + 1e-9 && t < to - 1e-9 {
                run.push(t);
            }
        }
    }
    run.push(to);
    run.sort_by(f64::total_cmp);
    run
}

fn ring(cell: &Cell, thetas: &[f64], rhos: &[f64]) -> Vec<[f64; 2]> {
    let (t0, t1) = cell.theta;
    let (r0, r1) = cell.rho;
    let rho_run: Vec<f64> = std::iter::once(r0)
        .chain(
            rhos.iter()
                .copied()
                .filter(|r| *r > r0 + 1e-9 && *r < r1 - 1e-9),
        )
        .chain(std::iter::once(r1))
        .collect();
    let arc = theta_run(thetas, t0, t1);
    let mut points: Vec<(f64, f64)> = Vec::new();
    if t1 - t0 >= TAU - 1e-9 && r0 == 0.0 {
        // A whole disk: its outline only.
        points.extend(arc.iter().map(|t| to_lon_lat(*t, r1)));
    } else {
        points.extend(arc.iter().map(|t| to_lon_lat(*t, r0)));
        points.extend(rho_run.iter().map(|r| to_lon_lat(t1, *r)));
        points.extend(arc.iter().rev().map(|t| to_lon_lat(*t, r1)));
        points.extend(rho_run.iter().rev().map(|r| to_lon_lat(t0, *r)));
    }
    // Counter-clockwise, closed, without repeated neighbours.
    points.reverse();
    let mut out: Vec<[f64; 2]> = Vec::with_capacity(points.len() + 1);
    for (lon, lat) in points {
        if out.last() != Some(&[lon, lat]) {
            out.push([lon, lat]);
        }
    }
    if out.first() != out.last() {
        let first = out[0];
        out.push(first);
    }
    out
}

fn features(
    cells: &[Cell],
    level: AreaLevel,
    thetas: &[f64],
    rhos: &[f64],
) -> anyhow::Result<Vec<AreaFeature>> {
    let collection = serde_json::json!({
        "type": "FeatureCollection",
        "features": cells.iter().map(|cell| serde_json::json!({
            "type": "Feature",
            "properties": { "code": cell.code, "name": cell.name, "parent": cell.parent_code },
            "geometry": { "type": "Polygon", "coordinates": [ring(cell, thetas, rhos)] },
        })).collect::<Vec<_>>(),
    });
    let mapping = PropertyMapping {
        code_prop: "code".into(),
        name_prop: "name".into(),
        parent_prop: Some("parent".into()),
        level,
        source_crs: Crs::Wgs84,
    };
    let (features, problems) = parse_geojson(&collection.to_string(), &mapping)
        .map_err(|err| anyhow::format_err!("{err}"))?;
    anyhow::ensure!(problems.is_empty(), "demo geometry: {problems:?}");
    Ok(features)
}

/// Creates districts, streets and communities with boundaries and cuts them into unit grids.
pub(super) async fn seed_areas(
    services: &Services,
    admin: &Actor,
    root: &AreaRow,
    districts: &[(&str, &str)],
    streets: &[&str],
    communities: &[&str],
) -> anyhow::Result<MapSeed> {
    let e = |err: urbis_service::ServiceError| anyhow::format_err!("{err}");
    let layout = layout(districts, streets, communities);
    let (thetas, rhos) = samples(&layout);
    for (cells, level) in [
        (&layout.districts, AreaLevel::District),
        (&layout.streets, AreaLevel::Street),
        (&layout.communities, AreaLevel::Community),
    ] {
        let features = features(cells, level.clone(), &thetas, &rhos)?;
        let (_, problems) = services
            .import_areas(admin, level.as_str(), Some(root.id), &features)
            .await
            .map_err(e)?;
        anyhow::ensure!(problems.is_empty(), "demo areas: {problems:?}");
    }
    for district in &layout.districts {
        services
            .generate_grids(admin, &district.code, 10_000.0)
            .await
            .map_err(e)?;
    }
    let areas = services.list_areas().await.map_err(e)?;
    let district_rows: Vec<AreaRow> = layout
        .districts
        .iter()
        .filter_map(|d| areas.iter().find(|a| a.code == d.code).cloned())
        .collect();
    let mut grids = Vec::new();
    let mut centers = HashMap::new();
    for area in areas.iter().filter(|a| a.level == Level::Grid) {
        if let Some(d_idx) = district_rows
            .iter()
            .position(|d| area.code.starts_with(&d.code))
        {
            grids.push((area.id, d_idx));
        }
        if let (Some(lat), Some(lon)) = (area.center_lat, area.center_lon) {
            centers.insert(area.id, (lat, lon));
        }
    }
    Ok(MapSeed {
        districts: district_rows,
        grids,
        centers,
        covers: HashMap::new(),
    })
}

/// Metres → degrees at the demo's latitude, as (per metre east, per metre north).
fn degrees_per_metre() -> (f64, f64) {
    let (m_lon, m_lat) = urbis_geo::measure::metres_per_degree(CENTRE.0);
    (1.0 / m_lon, 1.0 / m_lat)
}

/// Seeds the gazetteer, the city assets (and which categories are about them) and the
/// responsibility grids; records where the manhole covers are.
pub(super) async fn seed_map_data(
    services: &Services,
    admin: &Actor,
    seed: &mut MapSeed,
    supervisors: &[Actor],
    category_ids: &HashMap<&str, i64>,
    places: &[&str],
) -> anyhow::Result<()> {
    let e = |err: urbis_service::ServiceError| anyhow::format_err!("{err}");
    let areas = services.list_areas().await.map_err(e)?;
    let streets: Vec<&AreaRow> = areas.iter().filter(|a| a.level == Level::Street).collect();
    let communities: Vec<&AreaRow> = areas
        .iter()
        .filter(|a| a.level == Level::Community)
        .collect();
    let mut grid_rows: Vec<&AreaRow> = areas.iter().filter(|a| a.level == Level::Grid).collect();
    grid_rows.sort_by(|a, b| a.code.cmp(&b.code));

    // Gazetteer: a road per street with door plates along it, and the places of the sample appeals.
    let mut rows = Vec::new();
    let mut push = |name: String, kind: &str, (lat, lon): (f64, f64), aliases: &str| {
        rows.push(GazetteerInput {
            row: rows.len() + 1,
            name,
            kind: kind.into(),
            lon: format!("{lon:.6}"),
            lat: format!("{lat:.6}"),
            crs: "wgs84".into(),
            aliases: aliases.into(),
        });
    };
    let layout_cells = layout(
        &[("01", ""), ("02", ""), ("03", ""), ("04", "")],
        &["", "", ""],
        &["", ""],
    );
    for (street, road) in layout_cells.streets.iter().zip(ROADS) {
        let mid_rho = (street.rho.0 + street.rho.1) / 2.0;
        let along = |f: f64| {
            let (lon, lat) = to_lon_lat(
                street.theta.0 + (street.theta.1 - street.theta.0) * f,
                mid_rho,
            );
            (lat, lon)
        };
        push(road.to_owned(), "road", along(0.5), "");
        for n in 1..=30 {
            push(
                format!("{road}{n}号"),
                "address",
                along(n as f64 / 31.0),
                "",
            );
        }
    }
    for (idx, place) in places.iter().enumerate() {
        if ROADS.contains(place) {
            continue;
        }
        let grid = grid_rows[(idx * 97 + 13) % grid_rows.len()];
        if let (Some(lat), Some(lon)) = (grid.center_lat, grid.center_lon) {
            push((*place).to_owned(), "poi", (lat, lon), "");
        }
    }
    for (idx, (name, aliases)) in [
        ("示范市人民医院", "市人民医院|人民医院"),
        ("示范市第一中学", "市一中|一中"),
        ("示范市政务服务中心", "市民之家|政务中心"),
        ("青山公园", ""),
        ("东湖湿地公园", "湿地公园"),
        ("清河汽车站", "汽车站"),
    ]
    .into_iter()
    .enumerate()
    {
        let grid = grid_rows[(idx * 331 + 71) % grid_rows.len()];
        if let (Some(lat), Some(lon)) = (grid.center_lat, grid.center_lon) {
            push(name.to_owned(), "poi", (lat, lon), aliases);
        }
    }
    let report = services.import_gazetteer(admin, &rows).await.map_err(e)?;
    anyhow::ensure!(
        report.problems.is_empty(),
        "demo gazetteer: {:?}",
        report.problems
    );

    // City assets near the unit-grid centres: manhole covers, street lights and litter bins.
    let (dx, dy) = degrees_per_metre();
    let mut assets = Vec::new();
    let mut serials: HashMap<(String, &str), u32> = HashMap::new();
    for (idx, grid) in grid_rows.iter().enumerate() {
        let (Some(lat), Some(lon)) = (grid.center_lat, grid.center_lon) else {
            continue;
        };
        let county = grid.code[..6].to_owned();
        let state = match idx {
            i if i % 41 == 5 => "丢失",
            i if i % 17 == 3 => "破损",
            i if i % 53 == 7 => "占用",
            _ => "完好",
        };
        let mut add = |class: &'static str,
                       name: &str,
                       (north, east): (f64, f64),
                       owner: &str,
                       maintainer: &str| {
            let serial = serials.entry((county.clone(), class)).or_insert(0);
            *serial += 1;
            let point = (lat + north * dy, lon + east * dx);
            assets.push(AssetInput {
                row: assets.len() + 1,
                id: format!("{county}{class}{:06}", *serial),
                name: format!("{name}{}", *serial),
                lon: format!("{:.7}", point.1),
                lat: format!("{:.7}", point.0),
                crs: "wgs84".into(),
                owner: owner.into(),
                maintainer: maintainer.into(),
                state: state.into(),
            });
            point
        };
        if idx % 3 == 0 {
            let (class, name, maintainer) = match idx % 9 {
                0 => ("0101", "上水井盖", "SWJ"),
                3 => ("0102", "污水井盖", "SWJ"),
                _ => ("0103", "雨水井盖", "SZGL"),
            };
            let point = add(class, name, (0.0, 10.0), maintainer, maintainer);
            seed.covers.insert(grid.id, point);
        }
        if idx % 12 == 1 {
            add("0110", "路灯", (15.0, 0.0), "LDGL", "LDGL");
        }
        if idx % 16 == 2 {
            add("0301", "果皮箱", (-12.0, -6.0), "HJWS", "HJWS");
        }
    }
    let report = services.import_assets(admin, &assets).await.map_err(e)?;
    anyhow::ensure!(
        report.problems.is_empty(),
        "demo assets: {:?}",
        report.problems
    );
    for (category, classes) in [
        ("井盖缺损", vec!["0101", "0102", "0103"]),
        ("路灯故障", vec!["0110"]),
    ] {
        if let Some(id) = category_ids.get(category) {
            let classes: Vec<String> = classes.into_iter().map(str::to_owned).collect();
            services
                .set_category_asset_classes(admin, *id, &classes)
                .await
                .map_err(e)?;
        }
    }

    // A responsibility grid per community (its unit grids that hang together along edges), bound
    // to the district's supervisor.
    for community in communities {
        let Some(d_idx) = seed
            .districts
            .iter()
            .position(|d| community.code.starts_with(&d.code))
        else {
            continue;
        };
        let Some(supervisor) = supervisors.get(d_idx) else {
            continue;
        };
        let cells = services
            .area_geometries("grid", Some(community.id))
            .await
            .map_err(e)?;
        let collection = serde_json::json!({
            "type": "FeatureCollection",
            "features": cells.iter().filter_map(|(area, geometry)| Some(serde_json::json!({
                "type": "Feature",
                "properties": { "code": area.code, "name": area.name },
                "geometry": serde_json::from_str::<serde_json::Value>(geometry.as_deref()?).ok()?,
            }))).collect::<Vec<_>>(),
        });
        let mapping = PropertyMapping {
            code_prop: "code".into(),
            name_prop: "name".into(),
            parent_prop: None,
            level: AreaLevel::Grid,
            source_crs: Crs::Wgs84,
        };
        let (units, _) = parse_geojson(&collection.to_string(), &mapping)
            .map_err(|err| anyhow::format_err!("{err}"))?;
        let unit_codes = connected_from_first(&units);
        if unit_codes.is_empty() {
            continue;
        }
        let street = streets
            .iter()
            .find(|s| community.code.starts_with(&s.code))
            .map(|s| s.name.as_str())
            .unwrap_or("");
        services
            .create_responsibility_grid(
                admin,
                &NewResponsibilityGrid {
                    code: format!("ZR{}", community.code),
                    name: format!(
                        "{}{street}{}责任网格",
                        seed.districts[d_idx].name, community.name
                    ),
                    unit_codes,
                    supervisor: Some(supervisor.username.clone()),
                },
            )
            .await
            .map_err(e)?;
    }
    Ok(())
}

/// Returns the codes of the unit grids reachable from the first one along shared edges.
fn connected_from_first(units: &[AreaFeature]) -> Vec<String> {
    if units.is_empty() {
        return Vec::new();
    }
    let mut reached = vec![false; units.len()];
    reached[0] = true;
    let mut queue = vec![0usize];
    while let Some(current) = queue.pop() {
        for (other, unit) in units.iter().enumerate() {
            if !reached[other]
                && urbis_geo::grid::grids_adjacent(&units[current].geometry, &unit.geometry)
            {
                reached[other] = true;
                queue.push(other);
            }
        }
    }
    units
        .iter()
        .zip(reached)
        .filter(|(_, r)| *r)
        .map(|(u, _)| u.code.clone())
        .collect()
}
