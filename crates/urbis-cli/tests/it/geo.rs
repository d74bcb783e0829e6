//! Areas with boundaries: import, point location over HTTP, and intake placing a located appeal
//! in the area that contains it.

use reqwest::{Method, StatusCode};
use serde_json::json;
use urbis_geo::area::{AreaLevel, PropertyMapping, parse_geojson};
use urbis_geo::crs::Crs;
use urbis_test_support::TestApp;

fn square(
    code: &str,
    name: &str,
    parent: &str,
    lon: f64,
    lat: f64,
    size: f64,
) -> serde_json::Value {
    json!({
        "type": "Feature",
        "properties": { "code": code, "name": name, "parent": parent },
        "geometry": { "type": "Polygon", "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]] }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn located_appeals_land_in_the_containing_area() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let admin = app
        .services
        .actor_by_username("admin")
        .await
        .expect("admin");
    let collection = json!({ "type": "FeatureCollection", "features": [
        square("990103", "丙区", "990100", 116.0, 39.0, 0.1),
        square("990104", "丁区", "990100", 116.1, 39.0, 0.1),
    ]});
    let mapping = PropertyMapping {
        code_prop: "code".into(),
        name_prop: "name".into(),
        parent_prop: Some("parent".into()),
        level: AreaLevel::District,
        source_crs: Crs::Wgs84,
    };
    let (features, problems) = parse_geojson(&collection.to_string(), &mapping).expect("parse");
    assert!(problems.is_empty());
    let (created, problems) = app
        .services
        .import_areas(&admin, "district", None, &features)
        .await
        .expect("import");
    assert_eq!((created, problems.len()), (2, 0));
    // Re-importing reports and skips, never duplicates.
    let (created, problems) = app
        .services
        .import_areas(&admin, "district", None, &features)
        .await
        .expect("import");
    assert_eq!((created, problems.len()), (0, 2));

    let (status, body) = app
        .send(
            None,
            Method::GET,
            "/api/v1/locate?lat=39.05&lon=116.15",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["found"], true);
    let names: Vec<&str> = body["areas"]
        .as_array()
        .expect("areas")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, vec!["测试市", "丁区"]);
    let (_, body) = app
        .send(None, Method::GET, "/api/v1/locate?lat=10.0&lon=10.0", None)
        .await;
    assert_eq!(
        (
            body["found"].as_bool(),
            body["areas"].as_array().map(Vec::len)
        ),
        (Some(false), Some(0)),
        "outside is reported, not forced"
    );
    let (status, body) = app
        .send(None, Method::GET, "/api/v1/locate?lat=95&lon=0", None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_location"))
    );

    // An appeal with a location and no area goes to 丙区.
    let (status, accepted) = app
        .post(
            "operator",
            "/api/v1/appeals",
            json!({"text": "丙区的井盖", "lat": 39.05, "lon": 116.05, "category_id": f.category}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    let (_, case) = app
        .get(
            "operator",
            &format!("/api/v1/cases/{}", accepted["case_id"]),
        )
        .await;
    let (_, located) = app
        .send(
            None,
            Method::GET,
            "/api/v1/locate?lat=39.05&lon=116.05",
            None,
        )
        .await;
    assert_eq!(case["area_id"], located["areas"][1]["id"]);

    let (status, geojson) = app
        .get("leader", "/api/v1/areas/geojson?level=district")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        geojson["features"]
            .as_array()
            .map(|f| f.iter().filter(|x| !x["geometry"].is_null()).count()),
        Some(2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beijing_districts_import_and_resolve() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/geo/110100_full.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipping: {} is absent", path.display());
        return;
    };
    let app = TestApp::start().await;
    let admin = app
        .services
        .actor_by_username("admin")
        .await
        .expect("admin");
    let (features, problems) =
        parse_geojson(&text, &PropertyMapping::china_adcode(AreaLevel::District)).expect("parse");
    assert!(problems.is_empty(), "{problems:?}");
    let (created, _) = app
        .services
        .import_areas(&admin, "district", None, &features)
        .await
        .expect("import");
    assert_eq!(created, 16);
    // Tiananmen (WGS84 116.3975, 39.9087) lies in 东城区.
    let chain = app
        .services
        .locate(39.9087, 116.3975)
        .await
        .expect("locate");
    assert_eq!(chain.last().map(|a| a.name.as_str()), Some("东城区"));
}
