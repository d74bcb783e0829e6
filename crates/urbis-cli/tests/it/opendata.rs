//! Open data: de-identified releases generated from the store, served through the CKAN Action
//! API subset, DCAT and CSV/XLSX downloads; a planted unique resident (rare category, one grid,
//! one day) does not appear in any open dataset.

use reqwest::StatusCode;
use serde_json::{Value, json};
use urbis_test_support::TestApp;

/// Distinct problems, so that intake never treats one as a repeat of another.
const COMMON: [&str; 6] = [
    "幸福路口垃圾桶满了没人清运",
    "建设大街人行道上有人乱倒建筑垃圾",
    "人民公园东门绿化带里堆满生活垃圾",
    "滨江路边的垃圾箱被推倒了",
    "光明菜市场门口垃圾散落一地",
    "南门地铁站出口旁的垃圾堆发臭",
];
const PLANTED: &str = "我是李秀英，电话13987654321，身份证110101199003071234，我家门口井盖被偷了";

async fn ckan(app: &TestApp, action: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .http
        .post(format!("{}/api/3/action/{action}", app.base))
        .json(&body)
        .send()
        .await
        .expect("ckan");
    let status = response.status();
    (status, response.json().await.expect("json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_data_is_de_identified_and_served_as_ckan() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    for text in COMMON {
        app.file_appeal("operator", f.grid_a, f.category, text)
            .await;
    }
    // The planted resident: the only case of its category, in the other grid, on one day.
    let (status, body) = app
        .post(
            "operator",
            "/api/v1/appeals",
            json!({"text": PLANTED, "area_id": f.grid_b, "category_id": f.other_category,
                   "reporter_name": "李秀英", "reporter_phone": "13987654321", "address": "乙区一街道幸福小区3号楼"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let categories = app.services.list_categories().await.unwrap();
    let code_of = |id: i64| categories.iter().find(|c| c.id == id).unwrap().code.clone();
    let (common_code, rare_code) = (code_of(f.category), code_of(f.other_category));

    // Nothing is published before a generation; then three datasets, versioned.
    let (_, list) = ckan(&app, "package_list", json!({})).await;
    assert_eq!(list["result"], json!([]));
    let (status, generated) = app
        .post("dataofficer", "/api/v1/open-data/publish", json!(null))
        .await;
    assert_eq!(status, StatusCode::OK, "{generated}");
    let (status, _) = app
        .post("dataofficer_a", "/api/v1/open-data/publish", json!(null))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only the platform publishes");
    let records_release = generated
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["dataset"] == "case-records")
        .unwrap()
        .clone();
    assert_eq!(records_release["version"], 1);
    assert_eq!(records_release["rows"], 6);
    assert_eq!(
        records_release["suppressed"], 1,
        "the planted record is suppressed"
    );

    let (status, list) = ckan(&app, "package_list", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["success"], true);
    assert_eq!(
        list["result"],
        json!(["case-counts", "case-records", "grids"])
    );
    let (_, orgs) = ckan(&app, "organization_list", json!({})).await;
    assert_eq!(orgs["result"], json!(["city-platform"]));
    let (_, show) = ckan(&app, "package_show", json!({"id": "case-records"})).await;
    let package = &show["result"];
    assert_eq!(package["version"], "v1");
    assert_eq!(package["resources"][0]["id"], "case-records-data");
    assert!(
        package["resources"][0]["hash"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let (_, resource) = ckan(&app, "resource_show", json!({"id": "case-records-data"})).await;
    assert_eq!(resource["result"]["datastore_active"], true);
    let (_, search) = ckan(&app, "package_search", json!({"q": "网格"})).await;
    assert_eq!(search["result"]["count"], 2, "{search}");
    let (status, missing) = ckan(&app, "package_show", json!({"id": "no-such"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["error"]["__type"], "Not Found Error");
    // The same actions by GET on the other path.
    let got: Value = app
        .http
        .get(format!("{}/api/action/package_show?id=grids", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["result"]["name"], "grids");

    // datastore_search: filters and paging over the six common records.
    let search = |body: Value| ckan(&app, "datastore_search", body);
    let (status, page) = search(json!({"resource_id": "case-records-data",
        "filters": {"category_code": common_code}, "limit": 4, "offset": 0}))
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["result"]["total"], 6);
    assert_eq!(page["result"]["records"].as_array().unwrap().len(), 4);
    let (_, rest) = search(json!({"resource_id": "case-records-data",
        "filters": {"category_code": common_code}, "limit": 4, "offset": 4}))
    .await;
    assert_eq!(rest["result"]["records"].as_array().unwrap().len(), 2);
    assert_ne!(
        page["result"]["records"][0]["_id"],
        rest["result"]["records"][0]["_id"]
    );
    let (status, bad) =
        search(json!({"resource_id": "case-records-data", "filters": {"reporter_phone": "1"}}))
            .await;
    assert_eq!(
        (status, bad["error"]["__type"].as_str()),
        (StatusCode::CONFLICT, Some("Validation Error"))
    );
    let (_, q) = search(json!({"resource_id": "case-records", "q": "井盖"})).await;
    assert_eq!(q["result"]["total"], 0, "{q}");

    // Re-identification: the planted resident's category, text and contacts appear nowhere.
    let (_, counts) = search(json!({"resource_id": "case-counts-data", "limit": 1000})).await;
    let (_, records) = search(json!({"resource_id": "case-records-data", "limit": 1000})).await;
    for result in [&counts["result"], &records["result"]] {
        for record in result["records"].as_array().unwrap() {
            assert_ne!(record["category_code"], rare_code, "{record}");
        }
    }
    let (_, rare) = search(
        json!({"resource_id": "case-records-data", "filters": {"category_code": rare_code}}),
    )
    .await;
    assert_eq!(rare["result"]["total"], 0);
    let common_cell = counts["result"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["category_code"] == common_code)
        .expect("the cell of six is published")
        .clone();
    assert_eq!(common_cell["reported"], 6);
    let mut everything = String::new();
    for name in ["case-counts", "case-records", "grids"] {
        let (_, page) = search(json!({"resource_id": name, "limit": 1000})).await;
        everything.push_str(&page.to_string());
        for ext in ["csv", "xlsx"] {
            let response = app
                .http
                .get(format!(
                    "{}/api/v1/open-data/download/{name}.{ext}",
                    app.base
                ))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let bytes = response.bytes().await.unwrap();
            if ext == "xlsx" {
                // The workbook is compressed: read its cells back, as a spreadsheet would.
                use calamine::Reader;
                let mut book =
                    calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
                let sheet = book.sheet_names()[0].clone();
                let range = book.worksheet_range(&sheet).expect("sheet");
                assert!(range.height() >= 1, "{name}.xlsx has its header row");
                for row in range.rows() {
                    for cell in row {
                        everything.push_str(&cell.to_string());
                        everything.push('\t');
                    }
                }
            } else {
                everything.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    let (_, catalog) = {
        let response = app
            .http
            .get(format!("{}/catalog.jsonld", app.base))
            .send()
            .await
            .unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    };
    assert_eq!(catalog["@type"], "dcat:Catalog");
    assert_eq!(catalog["dcat:dataset"].as_array().unwrap().len(), 3);
    everything.push_str(&catalog.to_string());
    for secret in [
        "李秀英",
        "13987654321",
        "110101199003071234",
        "幸福小区3号楼",
        "井盖被偷",
    ] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
    assert!(
        everything.contains("幸福路口垃圾桶满了没人清运"),
        "the common records are there"
    );

    // Versions: the same content keeps its version; a change makes the next one.
    let (_, again) = app
        .post("dataofficer", "/api/v1/open-data/publish", json!(null))
        .await;
    assert!(
        again
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["new_version"] == false),
        "{again}"
    );
    app.file_appeal("operator", f.grid_a, f.category, "和平街菜场后门垃圾成山")
        .await;
    let (_, third) = app
        .post("admin", "/api/v1/open-data/publish", json!(null))
        .await;
    let records_v2 = third
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["dataset"] == "case-records")
        .unwrap()
        .clone();
    assert_eq!(
        (records_v2["version"].as_i64(), records_v2["rows"].as_i64()),
        (Some(2), Some(7))
    );
    assert_ne!(records_v2["content_hash"], records_release["content_hash"]);
    let (_, datasets) = app.get("resident", "/api/v1/open-data/datasets").await;
    let versions = datasets
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "case-records")
        .unwrap()["versions"]
        .clone();
    assert_eq!(versions.as_array().unwrap().len(), 2);
    let old = app
        .http
        .get(format!(
            "{}/api/v1/open-data/download/case-records.csv?version=1",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(old.headers()["x-urbis-version"], "1");
    assert_eq!(
        old.headers()["x-urbis-content-sha256"].to_str().unwrap(),
        records_release["content_hash"].as_str().unwrap()
    );
    let report = urbis_service::audit::verify_chain(app.services.db())
        .await
        .expect("verify");
    assert!(report.first_break.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_groups_move_up_the_ladder_before_they_are_suppressed() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let (_, areas) = app.get("admin", "/api/v1/areas").await;
    let community_a = areas
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "990101001001")
        .expect("community A")["id"]
        .as_i64()
        .unwrap();
    // Five of one category in community A: three in its unit grid, two placed at the community
    // itself — no grid group reaches k, the community does.
    for (area, text) in [
        (f.grid_a, "幸福路口垃圾桶满了没人清运"),
        (f.grid_a, "建设大街人行道上有人乱倒建筑垃圾"),
        (f.grid_a, "人民公园东门绿化带里堆满生活垃圾"),
        (community_a, "滨江路边的垃圾箱被推倒了"),
        (community_a, "光明菜市场门口垃圾散落一地"),
    ] {
        app.file_appeal("operator", area, f.category, text).await;
    }
    // Four of another in district B: below k even at the district.
    for text in [
        "北门路口的井盖缺了一角",
        "学校东侧雨水井盖塌陷",
        "小区南门污水井盖松动响声很大",
        "公交站旁电力井盖不见了",
    ] {
        app.file_appeal("operator", f.grid_b, f.other_category, text)
            .await;
    }
    let (status, generated) = app
        .post("dataofficer", "/api/v1/open-data/publish", json!(null))
        .await;
    assert_eq!(status, StatusCode::OK, "{generated}");
    let by_name = |name: &str| {
        generated
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["dataset"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (
            by_name("case-records")["rows"].as_i64(),
            by_name("case-records")["suppressed"].as_i64()
        ),
        (Some(5), Some(4))
    );
    let (_, records) = ckan(
        &app,
        "datastore_search",
        json!({"resource_id": "case-records-data", "limit": 100}),
    )
    .await;
    let records = records["result"]["records"].as_array().unwrap().clone();
    assert_eq!(records.len(), 5);
    for record in &records {
        assert_eq!(record["area_code"], "990101001001", "{record}");
        assert_eq!(record["area_level"], "community", "{record}");
    }
    let (_, counts) = ckan(
        &app,
        "datastore_search",
        json!({"resource_id": "case-counts-data", "limit": 100}),
    )
    .await;
    let counts = counts["result"]["records"].as_array().unwrap().clone();
    assert_eq!(counts.len(), 1, "{counts:?}");
    assert_eq!(counts[0]["reported"], 5);
    assert_eq!(counts[0]["area_code"], "990101001001");
}
