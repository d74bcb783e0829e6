//! Grids and maps over HTTP: unit grids generated inside their parents, point location down to the
//! unit grid, responsibility grids and their binding rules, the gazetteer, city assets, and intake
//! naming a nearby asset and its maintainer.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use urbis_geo::area::{AreaLevel, PropertyMapping, parse_geojson};
use urbis_geo::crs::Crs;
use urbis_test_support::TestApp;

const STREET: &str = "990101002";
const WEST: &str = "990101002001";
const EAST: &str = "990101002002";
/// A point inside the west community and one inside the east community (lat, lon).
const IN_WEST: (f64, f64) = (39.904, 116.302);
const IN_EAST: (f64, f64) = (39.903, 116.308);

fn feature(code: &str, name: &str, parent: &str, ring: &[(f64, f64)]) -> Value {
    let mut coordinates: Vec<[f64; 2]> = ring.iter().map(|(lon, lat)| [*lon, *lat]).collect();
    coordinates.push(coordinates[0]);
    json!({
        "type": "Feature",
        "properties": { "code": code, "name": name, "parent": parent },
        "geometry": { "type": "Polygon", "coordinates": [coordinates] }
    })
}

fn mapping(level: AreaLevel) -> PropertyMapping {
    PropertyMapping {
        code_prop: "code".into(),
        name_prop: "name".into(),
        parent_prop: Some("parent".into()),
        level,
        source_crs: Crs::Wgs84,
    }
}

/// Adds a street of district A with two communities, each with an irregular boundary.
async fn add_street(app: &TestApp) {
    let admin = app
        .services
        .actor_by_username("admin")
        .await
        .expect("admin");
    let street = json!({ "type": "FeatureCollection", "features": [feature(STREET, "测试街道", "990101", &[
        (116.300, 39.900), (116.310, 39.8995), (116.3115, 39.904), (116.309, 39.908),
        (116.303, 39.9085), (116.2995, 39.905),
    ])]});
    let communities = json!({ "type": "FeatureCollection", "features": [
        feature(WEST, "西社区", STREET, &[
            (116.300, 39.900), (116.305, 39.89975), (116.305, 39.908333), (116.303, 39.9085), (116.2995, 39.905),
        ]),
        feature(EAST, "东社区", STREET, &[
            (116.305, 39.89975), (116.310, 39.8995), (116.3115, 39.904), (116.309, 39.908), (116.305, 39.908333),
        ]),
    ]});
    for (collection, level) in [
        (street, AreaLevel::Street),
        (communities, AreaLevel::Community),
    ] {
        let (features, problems) =
            parse_geojson(&collection.to_string(), &mapping(level.clone())).expect("parse");
        assert!(problems.is_empty(), "{problems:?}");
        let (created, problems) = app
            .services
            .import_areas(&admin, level.as_str(), None, &features)
            .await
            .expect("import");
        assert_eq!(
            (created, problems.len()),
            (features.len(), 0),
            "{problems:?}"
        );
    }
}

async fn generate(app: &TestApp) -> Value {
    let (status, body) = app
        .post(
            "admin",
            "/api/v1/grids/generate",
            json!({ "area_code": STREET }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn area_id(app: &TestApp, code: &str) -> i64 {
    let (_, areas) = app.get("admin", "/api/v1/areas").await;
    areas
        .as_array()
        .expect("areas")
        .iter()
        .find(|a| a["code"] == code)
        .and_then(|a| a["id"].as_i64())
        .expect("area id")
}

/// Returns the unit grids under a community as (code, multipolygon).
async fn unit_grids(app: &TestApp, community: &str) -> Vec<urbis_geo::area::AreaFeature> {
    let parent = area_id(app, community).await;
    let (status, collection) = app
        .get(
            "leader",
            &format!("/api/v1/areas/geojson?level=grid&parent_id={parent}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (features, problems) =
        parse_geojson(&collection.to_string(), &mapping(AreaLevel::Grid)).expect("parse");
    assert!(problems.is_empty(), "{problems:?}");
    features
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_grids_lie_inside_their_community_and_locate_resolves_to_them() {
    let app = TestApp::start().await;
    add_street(&app).await;

    // Only an admin cuts grids; bad input gets stable codes and changes nothing.
    let (status, body) = app
        .post(
            "leader",
            "/api/v1/grids/generate",
            json!({ "area_code": STREET }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    for (request, status, code) in [
        (
            json!({ "area_code": STREET, "cell_m2": 100 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_cell_size",
        ),
        (
            json!({ "area_code": "nope" }),
            StatusCode::NOT_FOUND,
            "unknown_area",
        ),
        (
            json!({ "area_code": "990100" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_grid_parent",
        ),
        (
            json!({ "area_code": "990102" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_boundary",
        ),
        (
            json!({ "area_code": STREET, "extra": 1 }),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
    ] {
        let (got, body) = app.post("admin", "/api/v1/grids/generate", request).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    }

    let body = generate(&app).await;
    let cells = body["cells"].as_u64().expect("cells") as usize;
    assert_eq!(body["parents"].as_array().map(Vec::len), Some(2), "{body}");
    assert!(
        (40..200).contains(&cells),
        "{cells} cells for about 0.8 km²"
    );

    // A re-run refuses and leaves the grids as they were.
    let (status, again) = app
        .post(
            "admin",
            "/api/v1/grids/generate",
            json!({ "area_code": WEST }),
        )
        .await;
    assert_eq!(
        (status, again["code"].as_str()),
        (StatusCode::CONFLICT, Some("grids_exist"))
    );

    let mut all_codes = std::collections::HashSet::new();
    let mut total = 0;
    for community in [WEST, EAST] {
        let grids = unit_grids(&app, community).await;
        total += grids.len();
        for grid in &grids {
            assert_eq!(grid.code.len(), 15, "{}", grid.code);
            assert!(grid.code.starts_with(community), "{}", grid.code);
            assert!(all_codes.insert(grid.code.clone()), "{} twice", grid.code);
        }
        let parent = community_feature(&app, community).await.geometry;
        let cells: Vec<_> = grids.iter().map(|g| g.geometry.clone()).collect();
        let quality = urbis_geo::grid::check_grids(&parent, &cells, 1.0).expect("check");
        assert_eq!(quality.cells_outside, 0, "{quality:?}");
        assert!(quality.max_outside_m2 < 1.0, "{quality:?}");
        assert_eq!(quality.overlapping_pairs, 0, "{quality:?}");
        assert!(quality.coverage_ratio > 0.97, "{quality:?}");
    }
    assert_eq!(total, cells);

    // point → unit grid → community → street → district → city.
    let (_, located) = app
        .send(
            None,
            Method::GET,
            &format!("/api/v1/locate?lat={}&lon={}", IN_WEST.0, IN_WEST.1),
            None,
        )
        .await;
    let levels: Vec<&str> = located["areas"]
        .as_array()
        .expect("areas")
        .iter()
        .filter_map(|a| a["level"].as_str())
        .collect();
    assert_eq!(
        levels,
        ["city", "district", "street", "community", "grid"],
        "{located}"
    );
    assert_eq!(located["areas"][3]["code"], WEST);
    let (_, east) = app
        .send(
            None,
            Method::GET,
            &format!("/api/v1/locate?lat={}&lon={}", IN_EAST.0, IN_EAST.1),
            None,
        )
        .await;
    assert_eq!(east["areas"][3]["code"], EAST, "{east}");
    assert!(
        east["areas"][4]["code"]
            .as_str()
            .is_some_and(|c| c.starts_with(EAST))
    );
    let grid_code = located["areas"][4]["code"]
        .as_str()
        .expect("grid")
        .to_owned();
    assert!(grid_code.starts_with(WEST));

    // An appeal there lands in the unit grid and shows on the grid map as open.
    let (status, accepted) = app
        .post(
            "operator",
            "/api/v1/appeals",
            json!({"text": "路边有暴露垃圾", "lat": IN_WEST.0, "lon": IN_WEST.1, "category_id": app.fixture.category}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    let (_, case) = app
        .get(
            "operator",
            &format!("/api/v1/cases/{}", accepted["case_id"]),
        )
        .await;
    assert_eq!(case["area_id"], located["areas"][4]["id"]);
    let (status, map) = app
        .get("leader", "/api/v1/grids?bbox=116.29,39.89,116.32,39.92")
        .await;
    assert_eq!(status, StatusCode::OK, "{map}");
    let features = map["features"].as_array().expect("features");
    assert_eq!(features.len(), cells);
    // Area-scoped roles get the grids (and their counts) of their own district only.
    for (user, expected) in [("supervisor_a", cells), ("supervisor_b", 0)] {
        let (status, scoped) = app
            .get(user, "/api/v1/grids?bbox=116.29,39.89,116.32,39.92")
            .await;
        assert_eq!(status, StatusCode::OK, "{scoped}");
        assert_eq!(
            scoped["features"].as_array().map(Vec::len),
            Some(expected),
            "{user}"
        );
    }
    let mine = features
        .iter()
        .find(|f| f["properties"]["code"] == grid_code.as_str())
        .expect("the grid");
    assert_eq!(mine["properties"]["open"], 1);
    assert_eq!(mine["properties"]["overdue"], 0);
    assert_eq!(mine["properties"]["parent_code"], WEST);
    assert!(mine["geometry"]["coordinates"].is_array());
    let (_, empty) = app.get("leader", "/api/v1/grids?bbox=10,10,11,11").await;
    assert_eq!(empty["features"].as_array().map(Vec::len), Some(0));
    for bad in ["1,2,3", "a,b,c,d", "116.3,39.9,116.2,39.8", "0,0,0,95"] {
        let (status, body) = app
            .get("leader", &format!("/api/v1/grids?bbox={bad}"))
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_bbox")),
            "{bad}"
        );
    }
    let (status, _) = app
        .get("resident", "/api/v1/grids?bbox=116.29,39.89,116.32,39.92")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The area tree reaches the unit grids when asked.
    let (status, tree) = app.get("leader", "/api/v1/areas/tree?max_level=grid").await;
    assert_eq!(status, StatusCode::OK);
    let text = tree.to_string();
    assert!(text.contains(&grid_code) && text.contains("西社区"));
    let (_, coarse) = app.get("leader", "/api/v1/areas/tree").await;
    assert!(!coarse.to_string().contains(&grid_code));
    let (status, body) = app
        .get("leader", "/api/v1/areas/tree?max_level=planet")
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_level"))
    );

    // Every generation was audited.
    let n: i64 = urbis_storage::sql::query(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'grids_generated'",
    )
    .scalar(&mut app.services.db().read().await.expect("read"))
    .await
    .expect("count");
    assert_eq!(n, 2);
}

async fn community_feature(app: &TestApp, code: &str) -> urbis_geo::area::AreaFeature {
    let (_, collection) = app
        .get("leader", "/api/v1/areas/geojson?level=community")
        .await;
    let (features, _) =
        parse_geojson(&collection.to_string(), &mapping(AreaLevel::Community)).expect("parse");
    features
        .into_iter()
        .find(|f| f.code == code)
        .expect("community")
}

async fn send_as(
    app: &TestApp,
    user: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let token = app.token(user).await;
    app.send(Some(&token), method, path, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_responsibility_grid_has_one_supervisor_and_a_unit_grid_one_responsibility_grid() {
    let app = TestApp::start().await;
    add_street(&app).await;
    generate(&app).await;
    let grids = unit_grids(&app, WEST).await;
    // Two edge-adjacent unit grids, and one far from both.
    let (a, b) = grids
        .iter()
        .enumerate()
        .find_map(|(i, a)| {
            grids[i + 1..]
                .iter()
                .find(|b| urbis_geo::grid::grids_adjacent(&a.geometry, &b.geometry))
                .map(|b| (a.code.clone(), b.code.clone()))
        })
        .expect("adjacent pair");
    let far = grids
        .iter()
        .map(|g| g.code.clone())
        .find(|code| {
            let g = grids.iter().find(|x| &x.code == code).expect("grid");
            [&a, &b].iter().all(|other| {
                let o = grids.iter().find(|x| &&x.code == other).expect("grid");
                !urbis_geo::grid::grids_adjacent(&g.geometry, &o.geometry)
            }) && code != &a
                && code != &b
        })
        .expect("a distant grid");

    let create = |code: &str, units: Vec<&str>, supervisor: Option<&str>| json!({ "code": code, "name": format!("责任网格{code}"), "unit_codes": units, "supervisor": supervisor });
    let (status, body) = app
        .post(
            "leader",
            "/api/v1/grids/responsibility",
            create("R1", vec![&a, &b], Some("supervisor_a")),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    for (request, status, code) in [
        (
            create("R1", vec![&a, &b], Some("handler_a")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_a_supervisor",
        ),
        (
            create("R1", vec![&a, &far], Some("supervisor_a")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "units_not_adjacent",
        ),
        (
            create("R1", vec![&a, &a], None),
            StatusCode::UNPROCESSABLE_ENTITY,
            "duplicate_unit_grid",
        ),
        (
            create("R1", vec!["990101002001999"], None),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_unit_grid",
        ),
        (
            create("R1", vec![WEST], None),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_unit_grid",
        ),
        (
            create("R1", vec![], None),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_units",
        ),
        (
            create("R 1", vec![&a], None),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_code",
        ),
    ] {
        let (got, body) = app
            .post("admin", "/api/v1/grids/responsibility", request)
            .await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    }
    let (status, r1) = app
        .post(
            "admin",
            "/api/v1/grids/responsibility",
            create("R1", vec![&a, &b], Some("supervisor_a")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r1}");
    assert_eq!(r1["supervisor"]["username"], "supervisor_a");
    let r1_id = r1["id"].as_i64().expect("id");

    // A second supervisor is refused; a unit grid in a second responsibility grid is refused.
    let (status, body) = send_as(
        &app,
        "admin",
        Method::PUT,
        &format!("/api/v1/grids/responsibility/{r1_id}/supervisor"),
        Some(json!({"username": "supervisor_b"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("supervisor_already_bound"))
    );
    let (status, body) = app
        .post(
            "admin",
            "/api/v1/grids/responsibility",
            create("R2", vec![&b], Some("supervisor_b")),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("unit_grid_taken")),
        "{body}"
    );
    let (status, body) = app
        .post(
            "admin",
            "/api/v1/grids/responsibility",
            create("R1", vec![&far], None),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("grid_code_taken")),
        "{body}"
    );
    let (status, r2) = app
        .post(
            "admin",
            "/api/v1/grids/responsibility",
            create("R2", vec![&far], None),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r2}");
    assert!(r2["supervisor"].is_null());

    let (status, list) = app.get("dispatcher", "/api/v1/grids/responsibility").await;
    assert_eq!(status, StatusCode::OK);
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["code"], "R1");
    assert_eq!(items[0]["unit_codes"].as_array().map(Vec::len), Some(2));
    let (status, _) = app.get("resident", "/api/v1/grids/responsibility").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A case in a unit grid of R1 shows R1's supervisor; so does the grid map.
    let point = area_center(&app, &a).await;
    let (status, accepted) = app
        .post("operator", "/api/v1/appeals",
            json!({"text": "垃圾桶满了", "lat": point.0, "lon": point.1, "category_id": app.fixture.category}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    let (_, case) = app
        .get(
            "dispatcher",
            &format!("/api/v1/cases/{}", accepted["case_id"]),
        )
        .await;
    assert_eq!(
        case["grid_supervisor"]["responsibility_grid"], "R1",
        "{case}"
    );
    assert_eq!(case["grid_supervisor"]["display_name"], "supervisor_a");
    let (_, list) = app.get("dispatcher", "/api/v1/cases").await;
    let listed = list
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["id"] == accepted["case_id"])
        .cloned()
        .expect("case");
    assert_eq!(listed["grid_supervisor"]["responsibility_grid"], "R1");
    let (_, map) = app
        .get("leader", "/api/v1/grids?bbox=116.29,39.89,116.32,39.92")
        .await;
    let props = map["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["properties"]["code"] == a.as_str())
        .expect("grid")["properties"]
        .clone();
    assert_eq!(
        (
            props["responsibility_grid"].as_str(),
            props["supervisor"].as_str()
        ),
        (Some("R1"), Some("supervisor_a"))
    );

    // Hand-over: unbind, then bind the other supervisor.
    let (status, body) = send_as(
        &app,
        "admin",
        Method::DELETE,
        &format!("/api/v1/grids/responsibility/{r1_id}/supervisor"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["supervisor"].is_null());
    let (status, body) = send_as(
        &app,
        "admin",
        Method::PUT,
        &format!("/api/v1/grids/responsibility/{r1_id}/supervisor"),
        Some(json!({"username": "supervisor_b"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["supervisor"]["username"], "supervisor_b");
    let (status, body) = send_as(
        &app,
        "admin",
        Method::PUT,
        "/api/v1/grids/responsibility/999/supervisor",
        Some(json!({"username": "supervisor_b"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let actions: Vec<String> = urbis_storage::sql::query(
        "SELECT action FROM audit_log WHERE entity = 'responsibility_grid' ORDER BY seq",
    )
    .scalars(&mut app.services.db().read().await.expect("read"))
    .await
    .expect("audit");
    assert_eq!(
        actions,
        [
            "responsibility_grid_created",
            "responsibility_grid_created",
            "grid_supervisor_unbound",
            "grid_supervisor_bound"
        ]
    );
}

/// Returns the stored centre of an area as (lat, lon).
async fn area_center(app: &TestApp, code: &str) -> (f64, f64) {
    let (_, areas) = app.get("admin", "/api/v1/areas").await;
    let area = areas
        .as_array()
        .expect("areas")
        .iter()
        .find(|a| a["code"] == code)
        .cloned()
        .expect("area");
    (
        area["center_lat"].as_f64().expect("lat"),
        area["center_lon"].as_f64().expect("lon"),
    )
}

/// Runs `urbis import KIND FILE --db DB` and returns (exit code, stdout).
fn run_import(db: &std::path::Path, kind: &str, file: &std::path::Path) -> (i32, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_urbis"))
        .args(["import", kind, "--db"])
        .arg(db)
        .arg(file)
        .output()
        .expect("run urbis import");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gazetteer_matches_exactly_and_fuzzily_and_intake_takes_confident_points() {
    let app = TestApp::start().await;
    add_street(&app).await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("gazetteer.csv");
    std::fs::write(
        &file,
        "name,kind,lon,lat,crs,aliases\n\
         青山路,road,116.3020,39.9040,wgs84,\n\
         青山路12号,address,116.3021,39.9041,wgs84,\n\
         青山路14号,address,116.3023,39.9042,,\n\
         青山实验小学,poi,116.3080,39.9030,wgs84,青山小学|实验小学\n\
         东湖花园,poi,116.3086,39.9036,gcj02,\n\
         ,poi,116.3,39.9,wgs84,\n\
         坏类型,river,116.3,39.9,wgs84,\n\
         坏经度,poi,east,39.9,wgs84,\n\
         太远,poi,116.3,95,wgs84,\n\
         坏坐标系,poi,116.3,39.9,bd09,\n",
    )
    .expect("write");
    let (code, out) = run_import(&app.db_path, "gazetteer", &file);
    assert_eq!(code, 1, "bad rows make the exit code 1: {out}");
    for row in ["row 6:", "row 7:", "row 8:", "row 9:", "row 10:"] {
        assert!(out.contains(row), "{row} missing in {out}");
    }
    assert!(
        out.contains("5 gazetteer entries created, 0 updated, 5 bad rows"),
        "{out}"
    );
    // A re-run updates in place and never duplicates.
    let (_, out) = run_import(&app.db_path, "gazetteer", &file);
    assert!(
        out.contains("0 gazetteer entries created, 5 updated"),
        "{out}"
    );

    let app_ref = &app;
    let geocode = |q: &str| {
        let path = format!("/api/v1/geocode?q={}", urlencode(q));
        async move { app_ref.send(None, Method::GET, &path, None).await }
    };
    let (status, exact) = geocode("青山路12号").await;
    assert_eq!(status, StatusCode::OK, "{exact}");
    let first = &exact["results"][0];
    assert_eq!(
        (
            first["name"].as_str(),
            first["kind"].as_str(),
            first["score"].as_f64()
        ),
        (Some("青山路12号"), Some("address"), Some(1.0))
    );
    assert_eq!(first["area_name"], "西社区", "{first}");
    assert_eq!(first["area_code"], WEST);
    // Normalised: full-width digits, 號, a city prefix and a vague suffix.
    let (_, normalized) = geocode("测试市青山路１２號附近").await;
    assert_eq!(
        normalized["results"][0]["name"], "青山路12号",
        "{normalized}"
    );
    assert!(normalized["results"][0]["score"].as_f64().expect("score") >= 0.9);
    // A house number the gazetteer lacks falls back to its road.
    let (_, road) = geocode("青山路99号").await;
    assert_eq!(
        (
            road["results"][0]["name"].as_str(),
            road["results"][0]["match_kind"].as_str()
        ),
        (Some("青山路"), Some("road_only")),
        "{road}"
    );
    // An alias and a fuzzy spelling find the school.
    let (_, alias) = geocode("青山小学").await;
    assert_eq!(alias["results"][0]["name"], "青山实验小学", "{alias}");
    assert_eq!(alias["results"][0]["score"], 1.0);
    let (_, fuzzy) = geocode("青山实验小学校门口").await;
    assert_eq!(fuzzy["results"][0]["name"], "青山实验小学", "{fuzzy}");
    let (_, fuzzy2) = geocode("青山试验小学").await;
    let top = &fuzzy2["results"][0];
    assert_eq!(
        (top["name"].as_str(), top["match_kind"].as_str()),
        (Some("青山实验小学"), Some("fuzzy")),
        "{fuzzy2}"
    );
    assert!(top["score"].as_f64().expect("score") < 0.85);
    let (_, none) = geocode("完全无关的地方").await;
    assert_eq!(none["results"].as_array().map(Vec::len), Some(0), "{none}");
    // GCJ-02 input is stored in WGS84 (a few hundred metres away in Beijing).
    let (_, gcj) = geocode("东湖花园").await;
    let lon = gcj["results"][0]["lon"].as_f64().expect("lon");
    assert!(
        (lon - 116.3086).abs() > 0.003 && (lon - 116.3086).abs() < 0.01,
        "{gcj}"
    );
    let (_, limited) = app
        .send(
            None,
            Method::GET,
            &format!("/api/v1/geocode?q={}&limit=1", urlencode("青山")),
            None,
        )
        .await;
    assert_eq!(limited["results"].as_array().map(Vec::len), Some(1));
    for (path, code) in [
        ("/api/v1/geocode?q=".to_owned(), "invalid_q"),
        (
            format!("/api/v1/geocode?q={}", "a".repeat(201)),
            "invalid_q",
        ),
        ("/api/v1/geocode?q=x&limit=0".to_owned(), "invalid_limit"),
        ("/api/v1/geocode?q=x&limit=21".to_owned(), "invalid_limit"),
        ("/api/v1/geocode?q=x&limit=-1".to_owned(), "invalid_query"),
    ] {
        let (status, body) = app.send(None, Method::GET, &path, None).await;
        let expected = if code == "invalid_query" {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        assert_eq!(
            (status, body["code"].as_str()),
            (expected, Some(code)),
            "{path}"
        );
    }

    // Intake: an address without coordinates takes the gazetteer's point when the match is confident.
    let (status, accepted) = app
        .post("operator", "/api/v1/appeals",
            json!({"text": "门口垃圾没人收", "address": "测试市青山路12号", "category_id": app.fixture.category}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    let (_, case) = app
        .get(
            "operator",
            &format!("/api/v1/cases/{}", accepted["case_id"]),
        )
        .await;
    assert_eq!(
        (case["lat"].as_f64(), case["lon"].as_f64()),
        (Some(39.9041), Some(116.3021)),
        "{case}"
    );
    let (_, located) = app
        .send(
            None,
            Method::GET,
            "/api/v1/locate?lat=39.9041&lon=116.3021",
            None,
        )
        .await;
    assert_eq!(
        case["area_id"], located["areas"][3]["id"],
        "placed in 西社区"
    );
    let (_, trail) = app
        .get(
            "operator",
            &format!("/api/v1/cases/{}/trail", accepted["case_id"]),
        )
        .await;
    assert!(trail.to_string().contains("geocoded"), "{trail}");
    // A vague address (road only, or fuzzy) gives no point.
    for (address, text) in [
        ("青山路99号", "楼下的垃圾桶三天没清运了"),
        ("青山试验小学", "校门外绿化带里堆满了装修废料"),
    ] {
        let (_, accepted) = app
            .post(
                "operator",
                "/api/v1/appeals",
                json!({"text": text, "address": address, "category_id": app.fixture.category}),
            )
            .await;
        assert_eq!(accepted["merged"], false, "{accepted}");
        let (_, case) = app
            .get(
                "operator",
                &format!("/api/v1/cases/{}", accepted["case_id"]),
            )
            .await;
        assert!(case["lat"].is_null(), "{address}: {case}");
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_import_with_bad_rows_nearest_and_intake_names_asset_and_maintainer() {
    let app = TestApp::start().await;
    add_street(&app).await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("assets.csv");
    // Two manhole covers 40 m apart, a street light, and bad rows.
    std::fs::write(
        &file,
        "id,name,lon,lat,crs,owner,maintainer,state\n\
         9901010101000001,上水井盖1,116.30200,39.90400,wgs84,SZ,CG-A,完好\n\
         9901010101000002,上水井盖2,116.30247,39.90400,wgs84,SZ,CG-A,破损\n\
         9901010201000001,路灯1,116.30800,39.90300,,SZ,SZ,intact\n\
         990101010100000,短编号,116.3,39.9,wgs84,SZ,CG-A,完好\n\
         9901010101000003,未知单位,116.3,39.9,wgs84,SZ,NOPE,完好\n\
         9901010101000004,坏状态,116.3,39.9,wgs84,SZ,CG-A,broken\n\
         9901010101000001,重复,116.3,39.9,wgs84,SZ,CG-A,完好\n\
         9901010101000005,,116.3,39.9,wgs84,SZ,CG-A,完好\n",
    )
    .expect("write");
    let (code, out) = run_import(&app.db_path, "assets", &file);
    assert_eq!(code, 1, "{out}");
    for row in ["row 4:", "row 5:", "row 6:", "row 7:", "row 8:"] {
        assert!(out.contains(row), "{row} missing in {out}");
    }
    assert!(!out.contains("row 1:") && !out.contains("row 3:"), "{out}");
    assert!(
        out.contains("3 assets created, 0 updated, 5 bad rows"),
        "{out}"
    );
    let (_, out) = run_import(&app.db_path, "assets", &file);
    assert!(out.contains("0 assets created, 3 updated"), "{out}");

    // Box and class filters.
    let (status, list) = app
        .get(
            "dispatcher",
            "/api/v1/assets?bbox=116.29,39.89,116.32,39.92",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(3));
    let (_, covers) = app
        .get(
            "dispatcher",
            "/api/v1/assets?bbox=116.29,39.89,116.32,39.92&class=0101",
        )
        .await;
    assert_eq!(covers["items"].as_array().map(Vec::len), Some(2));
    let cover = &covers["items"][0];
    assert_eq!(
        (
            cover["class"].as_str(),
            cover["subclass"].as_str(),
            cover["state_zh"].as_str()
        ),
        (Some("01"), Some("0101"), Some("完好"))
    );
    assert_eq!(cover["maintainer"]["code"], "CG-A");
    assert_eq!(
        cover["area_code"].as_str().map(|c| c.starts_with(WEST)),
        Some(true),
        "{cover}"
    );
    let (_, lights) = app
        .get(
            "dispatcher",
            "/api/v1/assets?bbox=116.29,39.89,116.32,39.92&class=02",
        )
        .await;
    assert_eq!(lights["items"].as_array().map(Vec::len), Some(1));

    // Nearest of a class.
    let (status, near) = app
        .get(
            "resident",
            "/api/v1/assets/nearest?lat=39.90401&lon=116.30210&class=0101",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{near}");
    assert_eq!(near["asset"]["id"], "9901010101000001");
    let d = near["asset"]["distance_m"].as_f64().expect("distance");
    assert!((7.0..10.0).contains(&d), "{d}");
    let (_, near) = app
        .get(
            "resident",
            "/api/v1/assets/nearest?lat=39.90400&lon=116.30240",
        )
        .await;
    assert_eq!(near["asset"]["id"], "9901010101000002", "any class: {near}");
    let (_, far) = app
        .get(
            "resident",
            "/api/v1/assets/nearest?lat=39.95&lon=116.40&class=0101",
        )
        .await;
    assert!(far["asset"].is_null(), "{far}");
    for (path, status, code) in [
        (
            "/api/v1/assets/nearest?lat=95&lon=116.3",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_location",
        ),
        (
            "/api/v1/assets/nearest?lat=39.9&lon=116.3&class=1",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_class",
        ),
        (
            "/api/v1/assets/nearest?lat=39.9&lon=116.3&class=0001",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_class",
        ),
        (
            "/api/v1/assets/nearest?lat=39.9&lon=116.3&max_m=100000",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_distance",
        ),
        (
            "/api/v1/assets/nearest?lat=x&lon=116.3",
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/api/v1/assets?bbox=1,2,3",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_bbox",
        ),
        (
            "/api/v1/assets?bbox=116.29,39.89,116.32,39.92&class=abc",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_class",
        ),
    ] {
        let (got, body) = app.get("dispatcher", path).await;
        assert_eq!(
            (got, body["code"].as_str()),
            (status, Some(code)),
            "{path}: {body}"
        );
    }

    // State changes are audited; bad states and outsiders are refused.
    let (status, body) = send_as(
        &app,
        "handler_a",
        Method::PATCH,
        "/api/v1/assets/9901010101000001",
        Some(json!({"state": "破损"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["state"].as_str(), body["state_zh"].as_str()),
        (Some("damaged"), Some("破损"))
    );
    let (status, body) = send_as(
        &app,
        "handler_b",
        Method::PATCH,
        "/api/v1/assets/9901010101000001",
        Some(json!({"state": "完好"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = send_as(
        &app,
        "admin",
        Method::PATCH,
        "/api/v1/assets/9901010101000001",
        Some(json!({"state": "broken"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_state"))
    );
    let (status, _) = send_as(
        &app,
        "admin",
        Method::PATCH,
        "/api/v1/assets/9901010101009999",
        Some(json!({"state": "丢失"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let n: i64 = urbis_storage::sql::query(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'asset_state_changed'",
    )
    .scalar(&mut app.services.db().read().await.expect("read"))
    .await
    .expect("count");
    assert_eq!(n, 1);

    // 井盖缺损 is about manhole covers.
    let f = app.fixture.clone();
    let (status, body) = send_as(
        &app,
        "admin",
        Method::PUT,
        &format!("/api/v1/categories/{}/asset-classes", f.other_category),
        Some(json!({"classes": ["0101"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = send_as(
        &app,
        "admin",
        Method::PUT,
        &format!("/api/v1/categories/{}/asset-classes", f.other_category),
        Some(json!({"classes": ["1"]})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_class"))
    );
    let (status, _) = send_as(
        &app,
        "leader",
        Method::PUT,
        &format!("/api/v1/categories/{}/asset-classes", f.other_category),
        Some(json!({"classes": ["0101"]})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // An appeal 8 m from cover 1 names it and its maintainer; the city-wide rule (市市政) yields to
    // the asset's maintainer (甲区城管) as proposed lead.
    let (status, accepted) = app
        .post("operator", "/api/v1/appeals",
            json!({"text": "井盖松动", "lat": 39.90401, "lon": 116.30210, "category_id": f.other_category}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    let case_id = accepted["case_id"].as_i64().expect("id");
    let (_, case) = app
        .get("dispatcher", &format!("/api/v1/cases/{case_id}"))
        .await;
    assert_eq!(case["asset"]["id"], "9901010101000001", "{case}");
    assert_eq!(case["asset"]["maintainer"]["code"], "CG-A");
    assert_eq!(case["asset"]["name"], "上水井盖1");
    // The route proposed at intake already names the maintainer.
    assert_eq!(case["proposed_route"]["lead_dept_id"], f.dept_a, "{case}");
    let (_, trail) = app
        .get("dispatcher", &format!("/api/v1/cases/{case_id}/trail"))
        .await;
    assert!(trail.to_string().contains("9901010101000001"), "{trail}");
    let (status, route) = app
        .get("dispatcher", &format!("/api/v1/cases/{case_id}/route"))
        .await;
    assert_eq!(status, StatusCode::OK, "{route}");
    assert_eq!(route["lead_dept_id"], f.dept_a, "{route}");
    assert!(
        route["legal_basis"]
            .as_str()
            .unwrap_or("")
            .contains("9901010101000001")
    );

    // 40 m away from every cover: no asset, and the responsibility list decides.
    let (_, accepted) = app
        .post("operator", "/api/v1/appeals",
            json!({"text": "小区北门外的路面上少了一块盖板，晚上看不清", "lat": 39.90436, "lon": 116.30225, "category_id": f.other_category}))
        .await;
    let far_case = accepted["case_id"].as_i64().expect("id");
    let (_, case) = app
        .get("dispatcher", &format!("/api/v1/cases/{far_case}"))
        .await;
    assert!(case["asset"].is_null(), "{case}");
    assert_eq!(
        case["proposed_route"]["lead_dept_id"], f.dept_city,
        "{case}"
    );
    let (_, route) = app
        .get("dispatcher", &format!("/api/v1/cases/{far_case}/route"))
        .await;
    assert_eq!(route["lead_dept_id"], f.dept_city, "{route}");
    // A category without asset classes names nothing, however close.
    let (_, accepted) = app
        .post(
            "operator",
            "/api/v1/appeals",
            json!({"text": "垃圾", "lat": 39.90401, "lon": 116.30210, "category_id": f.category}),
        )
        .await;
    let (_, case) = app
        .get(
            "dispatcher",
            &format!("/api/v1/cases/{}", accepted["case_id"]),
        )
        .await;
    assert!(case["asset"].is_null(), "{case}");
    // Dispatch without a department follows the maintainer.
    let (status, body) = app
        .act("shiftlead", case_id, json!({"action": "register"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .act("dispatcher", case_id, json!({"action": "dispatch"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["lead_dept_id"], f.dept_a, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_grids_import_from_geojson_with_15_digit_codes() {
    let app = TestApp::start().await;
    add_street(&app).await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("grids.geojson");
    let square = |code: &str, lon: f64, lat: f64| {
        feature(
            code,
            "导入网格",
            WEST,
            &[
                (lon, lat),
                (lon + 0.001, lat),
                (lon + 0.001, lat + 0.001),
                (lon, lat + 0.001),
            ],
        )
    };
    let collection = json!({ "type": "FeatureCollection", "features": [
        square("990101002001001", 116.3015, 39.9035),
        square("99010100200102", 116.3025, 39.9035),
        square("990101002001000", 116.3025, 39.9045),
    ]});
    std::fs::write(&file, collection.to_string()).expect("write");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_urbis"))
        .args([
            "import",
            "areas",
            "--level",
            "grid",
            "--crs",
            "wgs84",
            "--code-prop",
            "code",
            "--name-prop",
            "name",
            "--parent-prop",
            "parent",
            "--db",
        ])
        .arg(&app.db_path)
        .arg(&file)
        .output()
        .expect("run urbis import areas");
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("1 areas imported, 2 problems"), "{out}");
    assert!(
        out.contains("99010100200102") && out.contains("990101002001000"),
        "{out}"
    );
    let (_, located) = app
        .send(
            None,
            Method::GET,
            "/api/v1/locate?lat=39.9040&lon=116.3020",
            None,
        )
        .await;
    let codes: Vec<&str> = located["areas"]
        .as_array()
        .expect("areas")
        .iter()
        .filter_map(|a| a["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        ["990100", "990101", STREET, WEST, "990101002001001"],
        "{located}"
    );
    // Generation refuses where grids were imported.
    let (status, body) = app
        .post(
            "admin",
            "/api/v1/grids/generate",
            json!({ "area_code": WEST }),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("grids_exist"))
    );
}

/// The hotline's duplicate check without an area picked: a place named in the text (or the address
/// typed but not matched) is read in the gazetteer, so a second call about the same problem a minute
/// later sees the first one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_place_named_in_the_text_finds_the_open_case_without_an_area_picked() {
    let app = TestApp::start().await;
    add_street(&app).await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("gazetteer.csv");
    std::fs::write(
        &file,
        "name,kind,lon,lat,crs,aliases\n青山实验小学,poi,116.3021,39.9041,wgs84,\n",
    )
    .expect("write");
    let (code, out) = run_import(&app.db_path, "gazetteer", &file);
    assert_eq!(code, 0, "{out}");
    let (_, categories) = app.get("admin", "/api/v1/categories").await;
    let code = categories
        .as_array()
        .expect("categories")
        .iter()
        .find(|c| c["id"] == app.fixture.category)
        .and_then(|c| c["code"].as_str().map(str::to_owned))
        .expect("category code");
    let (status, first) = app
        .post(
            "operator",
            "/api/v1/appeals",
            json!({"text": "青山实验小学门口的垃圾桶满了三天没人清运，味道很大",
                   "lat": 39.9041, "lon": 116.3021, "category_id": app.fixture.category}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let duplicates = |body: &Value| -> Vec<i64> {
        body["duplicates"]
            .as_array()
            .expect("duplicates")
            .iter()
            .filter_map(|d| d["id"].as_i64())
            .collect()
    };
    let again = "青山实验小学门口垃圾桶满了好几天都没人来清运，臭味很大";
    let (status, s) = app
        .post(
            "operator",
            "/api/v1/intake/suggest",
            json!({"text": again, "category_code": code}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(
        duplicates(&s),
        [first["case_id"].as_i64().expect("id")],
        "{s}"
    );
    let area = s["area"]["id"].as_i64();
    assert!(area.is_some(), "the named place gave the area: {s}");
    // The same words naming no place the gazetteer knows find nothing to compare with.
    let (_, s) = app
        .post(
            "operator",
            "/api/v1/intake/suggest",
            json!({"text": "门口垃圾桶满了好几天都没人来清运，臭味很大", "category_code": code}),
        )
        .await;
    assert_eq!(duplicates(&s), Vec::<i64>::new(), "{s}");
    // The address typed, though not picked from the matches, gives the area too.
    let (_, s) = app
        .post(
            "operator",
            "/api/v1/intake/suggest",
            json!({"text": "门口垃圾桶满了好几天都没人来清运，臭味很大", "category_code": code,
                   "address": "青山实验小学"}),
        )
        .await;
    assert_eq!(s["area"]["id"].as_i64(), area, "{s}");
}
