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
    let admin = app.services.actor_by_username("admin").await.expect("admin");
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
        assert_eq!((created, problems.len()), (features.len(), 0), "{problems:?}");
    }
}

async fn generate(app: &TestApp) -> Value {
    let (status, body) = app
        .post("admin", "/api/v1/grids/generate", json!({ "area_code": STREET }))
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
        .post("leader", "/api/v1/grids/generate", json!({ "area_code": STREET }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    for (request, status, code) in [
        (json!({ "area_code": STREET, "cell_m2": 100 }), StatusCode::UNPROCESSABLE_ENTITY, "invalid_cell_size"),
        (json!({ "area_code": "nope" }), StatusCode::NOT_FOUND, "unknown_area"),
        (json!({ "area_code": "990100" }), StatusCode::UNPROCESSABLE_ENTITY, "invalid_grid_parent"),
        (json!({ "area_code": "990102" }), StatusCode::UNPROCESSABLE_ENTITY, "no_boundary"),
        (json!({ "area_code": STREET, "extra": 1 }), StatusCode::BAD_REQUEST, "invalid_json"),
    ] {
        let (got, body) = app.post("admin", "/api/v1/grids/generate", request).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    }

    let body = generate(&app).await;
    let cells = body["cells"].as_u64().expect("cells") as usize;
    assert_eq!(body["parents"].as_array().map(Vec::len), Some(2), "{body}");
    assert!((40..200).contains(&cells), "{cells} cells for about 0.8 km²");

    // A re-run refuses and leaves the grids as they were.
    let (status, again) = app
        .post("admin", "/api/v1/grids/generate", json!({ "area_code": WEST }))
        .await;
    assert_eq!((status, again["code"].as_str()), (StatusCode::CONFLICT, Some("grids_exist")));

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
    assert_eq!(levels, ["city", "district", "street", "community", "grid"], "{located}");
    assert_eq!(located["areas"][3]["code"], WEST);
    let grid_code = located["areas"][4]["code"].as_str().expect("grid").to_owned();
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
        .get("operator", &format!("/api/v1/cases/{}", accepted["case_id"]))
        .await;
    assert_eq!(case["area_id"], located["areas"][4]["id"]);
    let (status, map) = app
        .get("leader", "/api/v1/grids?bbox=116.29,39.89,116.32,39.92")
        .await;
    assert_eq!(status, StatusCode::OK, "{map}");
    let features = map["features"].as_array().expect("features");
    assert_eq!(features.len(), cells);
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
        let (status, body) = app.get("leader", &format!("/api/v1/grids?bbox={bad}")).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_bbox")),
            "{bad}"
        );
    }
    let (status, _) = app.get("resident", "/api/v1/grids?bbox=116.29,39.89,116.32,39.92").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The area tree reaches the unit grids when asked.
    let (status, tree) = app.get("leader", "/api/v1/areas/tree?max_level=grid").await;
    assert_eq!(status, StatusCode::OK);
    let text = tree.to_string();
    assert!(text.contains(&grid_code) && text.contains("西社区"));
    let (_, coarse) = app.get("leader", "/api/v1/areas/tree").await;
    assert!(!coarse.to_string().contains(&grid_code));
    let (status, body) = app.get("leader", "/api/v1/areas/tree?max_level=planet").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_level")));

    // Every generation was audited.
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'grids_generated'")
        .fetch_one(app.services.db().reader())
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

async fn send_as(app: &TestApp, user: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
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

    let create = |code: &str, units: Vec<&str>, supervisor: Option<&str>| {
        json!({ "code": code, "name": format!("责任网格{code}"), "unit_codes": units, "supervisor": supervisor })
    };
    let (status, body) = app
        .post("leader", "/api/v1/grids/responsibility", create("R1", vec![&a, &b], Some("supervisor_a")))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    for (request, status, code) in [
        (create("R1", vec![&a, &b], Some("handler_a")), StatusCode::UNPROCESSABLE_ENTITY, "not_a_supervisor"),
        (create("R1", vec![&a, &far], Some("supervisor_a")), StatusCode::UNPROCESSABLE_ENTITY, "units_not_adjacent"),
        (create("R1", vec![&a, &a], None), StatusCode::UNPROCESSABLE_ENTITY, "duplicate_unit_grid"),
        (create("R1", vec!["990101002001999"], None), StatusCode::UNPROCESSABLE_ENTITY, "unknown_unit_grid"),
        (create("R1", vec![WEST], None), StatusCode::UNPROCESSABLE_ENTITY, "unknown_unit_grid"),
        (create("R1", vec![], None), StatusCode::UNPROCESSABLE_ENTITY, "invalid_units"),
        (create("R 1", vec![&a], None), StatusCode::UNPROCESSABLE_ENTITY, "invalid_code"),
    ] {
        let (got, body) = app.post("admin", "/api/v1/grids/responsibility", request).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
    }
    let (status, r1) = app
        .post("admin", "/api/v1/grids/responsibility", create("R1", vec![&a, &b], Some("supervisor_a")))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r1}");
    assert_eq!(r1["supervisor"]["username"], "supervisor_a");
    let r1_id = r1["id"].as_i64().expect("id");

    // A second supervisor is refused; a unit grid in a second responsibility grid is refused.
    let (status, body) = send_as(&app, "admin", Method::PUT,
        &format!("/api/v1/grids/responsibility/{r1_id}/supervisor"), Some(json!({"username": "supervisor_b"}))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("supervisor_already_bound")));
    let (status, body) = app
        .post("admin", "/api/v1/grids/responsibility", create("R2", vec![&b], Some("supervisor_b")))
        .await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("unit_grid_taken")), "{body}");
    let (status, body) = app
        .post("admin", "/api/v1/grids/responsibility", create("R1", vec![&far], None))
        .await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("grid_code_taken")), "{body}");
    let (status, r2) = app
        .post("admin", "/api/v1/grids/responsibility", create("R2", vec![&far], None))
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
    let (_, case) = app.get("dispatcher", &format!("/api/v1/cases/{}", accepted["case_id"])).await;
    assert_eq!(case["grid_supervisor"]["responsibility_grid"], "R1", "{case}");
    assert_eq!(case["grid_supervisor"]["display_name"], "supervisor_a");
    let (_, list) = app.get("dispatcher", "/api/v1/cases").await;
    let listed = list.as_array().expect("cases").iter().find(|c| c["id"] == accepted["case_id"]).cloned().expect("case");
    assert_eq!(listed["grid_supervisor"]["responsibility_grid"], "R1");
    let (_, map) = app.get("leader", "/api/v1/grids?bbox=116.29,39.89,116.32,39.92").await;
    let props = map["features"].as_array().expect("features").iter()
        .find(|f| f["properties"]["code"] == a.as_str()).expect("grid")["properties"].clone();
    assert_eq!((props["responsibility_grid"].as_str(), props["supervisor"].as_str()), (Some("R1"), Some("supervisor_a")));

    // Hand-over: unbind, then bind the other supervisor.
    let (status, body) = send_as(&app, "admin", Method::DELETE,
        &format!("/api/v1/grids/responsibility/{r1_id}/supervisor"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["supervisor"].is_null());
    let (status, body) = send_as(&app, "admin", Method::PUT,
        &format!("/api/v1/grids/responsibility/{r1_id}/supervisor"), Some(json!({"username": "supervisor_b"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["supervisor"]["username"], "supervisor_b");
    let (status, body) = send_as(&app, "admin", Method::PUT,
        "/api/v1/grids/responsibility/999/supervisor", Some(json!({"username": "supervisor_b"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE entity = 'responsibility_grid' ORDER BY seq",
    )
    .fetch_all(app.services.db().reader())
    .await
    .expect("audit");
    assert_eq!(actions, ["responsibility_grid_created", "responsibility_grid_created",
        "grid_supervisor_unbound", "grid_supervisor_bound"]);
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
