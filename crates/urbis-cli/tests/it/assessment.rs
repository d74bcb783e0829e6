//! 绩效考核 over HTTP on a fixture city with hand-computed grades: a scheme grades departments and districts,
//! respects the minimum volume, freezes (later events change nothing), and an accepted appeal recomputes one
//! unit without the contested case while keeping the earlier revision.

use chrono::{DateTime, Duration, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use urbis_service::bulk::{BulkCase, BulkStep};
use urbis_test_support::TestApp;

fn history(
    f: &urbis_test_support::Fixture,
    at: DateTime<Utc>,
    area_id: i64,
    lead: i64,
    on_time: Option<bool>,
    rating: Option<bool>,
) -> BulkCase {
    let m = Duration::minutes;
    let mut steps = vec![
        (at + m(10), BulkStep::Register),
        (
            at + m(20),
            BulkStep::Dispatch {
                lead,
                due_at: at + Duration::days(2),
            },
        ),
        (at + m(30), BulkStep::Accept),
    ];
    if let Some(on_time) = on_time {
        let feedback = if on_time {
            at + m(600)
        } else {
            at + Duration::days(3)
        };
        steps.push((feedback, BulkStep::Feedback));
        steps.push((feedback + m(60), BulkStep::CheckPass));
        steps.push((feedback + m(120), BulkStep::Close));
        if let Some(satisfied) = rating {
            steps.push((
                feedback + m(600),
                BulkStep::Rate {
                    satisfied,
                    resolved: satisfied,
                },
            ));
        }
    }
    BulkCase {
        received_at: at,
        channel: "hotline".into(),
        title: "路灯不亮".into(),
        text: "幸福路路灯不亮".into(),
        address: String::new(),
        location: None,
        area_id,
        category_id: Some(f.category),
        priority_score: 40,
        steps,
    }
}

fn unit(results: &Value, unit_id: i64) -> &Value {
    results
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["unit_id"] == unit_id)
        .unwrap_or_else(|| panic!("unit {unit_id} in {results}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheme_grades_freezes_and_an_appeal_recomputes_one_unit() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let admin = app
        .services
        .actor_by_username("admin")
        .await
        .expect("admin");
    let sept = Utc.with_ymd_and_hms(2026, 9, 10, 2, 0, 0).unwrap();
    let oct = Utc.with_ymd_and_hms(2026, 10, 12, 2, 0, 0).unwrap();
    // District A / department A: 4 cases in September — 3 closed (2 on time), 2 rated (1 satisfied); a voided
    // case and an October case do not count. District B / department B: 2 cases, both closed on time, satisfied.
    let mut batch = vec![
        history(&f, sept, f.grid_a, f.dept_a, Some(true), Some(true)),
        history(&f, sept, f.grid_a, f.dept_a, Some(true), Some(false)),
        history(&f, sept, f.grid_a, f.dept_a, Some(false), None),
        history(&f, sept, f.grid_a, f.dept_a, None, None),
        history(&f, sept, f.grid_b, f.dept_b, Some(true), Some(true)),
        history(&f, sept, f.grid_b, f.dept_b, Some(true), Some(true)),
        history(&f, oct, f.grid_a, f.dept_a, Some(true), Some(true)),
    ];
    let mut voided = history(&f, sept, f.grid_a, f.dept_a, None, None);
    voided.steps = vec![(sept + Duration::minutes(5), BulkStep::Void)];
    batch.push(voided);
    let ids = app
        .services
        .bulk_load_cases(&admin, &batch)
        .await
        .expect("load");
    let open_case = ids[3];

    let scheme = json!({
        "code": "monthly", "name": "月度考核",
        "indicators": [
            {"indicator": "closure_rate", "weight": 0.5},
            {"indicator": "on_time_closure_rate", "weight": 0.3},
            {"indicator": "satisfaction_rate", "weight": 0.2}
        ],
        "min_cases": 3, "bands": [90, 80, 70, 60]
    });
    let (status, body) = app
        .post("handler_a", "/api/v1/assessment/schemes", scheme.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, bad) = app
        .post(
            "leader",
            "/api/v1/assessment/schemes",
            json!({"code": "x", "name": "x", "indicators": [{"indicator": "nope", "weight": 1}],
                   "min_cases": 1, "bands": [90, 80, 70, 60]}),
        )
        .await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_scheme"))
    );
    let (status, v1) = app
        .post("leader", "/api/v1/assessment/schemes", scheme.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v1}");
    assert_eq!(v1["version"], 1);
    // A second POST of the same code is version 2; version 1 stays as it was.
    let mut changed = scheme.clone();
    changed["min_cases"] = json!(10);
    let (_, v2) = app
        .post("admin", "/api/v1/assessment/schemes", changed)
        .await;
    assert_eq!(v2["version"], 2);
    let (_, schemes) = app.get("leader", "/api/v1/assessment/schemes").await;
    assert_eq!(schemes.as_array().map(Vec::len), Some(2));
    assert_eq!(schemes[0]["min_cases"], 3);
    let scheme_id = v1["id"].as_i64().expect("id");

    let freeze =
        |kind: &str| json!({"scheme_id": scheme_id, "period": "2026-09", "unit_kind": kind});
    let (status, results) = app
        .post("leader", "/api/v1/assessment/periods", freeze("department"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{results}");
    // Department A: 100 × (0.5·3/4 + 0.3·2/3 + 0.2·1/2) = 67.5 → D.
    let a = unit(&results, f.dept_a);
    assert_eq!(a["cases"], 4);
    assert_eq!(a["score"], 67.5);
    assert_eq!(a["grade"], "D");
    assert_eq!(a["revision"], 1);
    assert_eq!(a["case_ids"].as_array().map(Vec::len), Some(4));
    let on_time = &a["indicators"][1];
    assert_eq!(
        (
            on_time["numerator"].as_i64(),
            on_time["denominator"].as_i64()
        ),
        (Some(2), Some(3))
    );
    // Department B: 100 × (0.5 + 0.3 + 0.2) = 100, but 2 cases are below the minimum of 3: no grade.
    let b = unit(&results, f.dept_b);
    assert_eq!(
        (b["cases"].as_i64(), b["score"].as_f64()),
        (Some(2), Some(100.0))
    );
    assert!(b["grade"].is_null(), "{b}");
    // The city department had no cases: no score.
    assert!(unit(&results, f.dept_city)["score"].is_null());
    // Districts grade the same cases by place.
    let (_, districts) = app
        .post("admin", "/api/v1/assessment/periods", freeze("district"))
        .await;
    assert_eq!(unit(&districts, f.district_a)["grade"], "D");
    assert_eq!(unit(&districts, f.district_b)["cases"], 2);
    // Posts and responsibility grids: 责任网格 R1 holds grid A (supervisor A), R2 grid B (supervisor B); each
    // supervisor is graded on the cases of their grids.
    for (code, grid, supervisor) in [
        ("990101001001001", "R1", "supervisor_a"),
        ("990102001001001", "R2", "supervisor_b"),
    ] {
        let (status, body) = app
            .post("admin", "/api/v1/grids/responsibility",
                json!({"code": grid, "name": format!("责任网格{grid}"), "unit_codes": [code], "supervisor": supervisor}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for kind in ["supervisor", "responsibility_grid"] {
        let (status, posts) = app
            .post("leader", "/api/v1/assessment/periods", freeze(kind))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{posts}");
        let mut graded: Vec<(i64, Option<f64>, Option<String>)> = posts
            .as_array()
            .expect("posts")
            .iter()
            .map(|r| {
                (
                    r["cases"].as_i64().unwrap(),
                    r["score"].as_f64(),
                    r["grade"].as_str().map(String::from),
                )
            })
            .collect();
        graded.sort_by_key(|g| g.0);
        assert_eq!(
            graded,
            vec![(2, Some(100.0), None), (4, Some(67.5), Some("D".into()))],
            "{kind}"
        );
    }
    // A period is frozen once; a bad period or unit kind is refused.
    let (status, body) = app
        .post("leader", "/api/v1/assessment/periods", freeze("department"))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("period_frozen"))
    );
    let (status, body) = app
        .post(
            "leader",
            "/api/v1/assessment/periods",
            json!({"scheme_id": scheme_id, "period": "2026-13", "unit_kind": "department"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_period"))
    );

    // Later events (another September case for department A) do not change the frozen result.
    app.services
        .bulk_load_cases(
            &admin,
            &[history(
                &f,
                sept,
                f.grid_a,
                f.dept_a,
                Some(true),
                Some(true),
            )],
        )
        .await
        .expect("late case");
    let query = format!(
        "/api/v1/assessment/results?scheme_id={scheme_id}&period=2026-09&unit_kind=department"
    );
    let (status, again) = app.get("leader", &query).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(unit(&again, f.dept_a)["score"], 67.5);
    assert_eq!(unit(&again, f.dept_a)["cases"], 4);
    let (status, _) = app.get("handler_a", &query).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Department A contests the case still open (it was not its responsibility); B may not appeal A's result.
    let result_a = a["id"].as_i64().expect("result id");
    let appeal_path = format!("/api/v1/assessment/results/{result_a}/appeals");
    let (status, _) = app
        .post(
            "handler_b",
            &appeal_path,
            json!({"reason": "x", "case_ids": [open_case]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .post(
            "handler_a",
            &appeal_path,
            json!({"reason": "不属本单位", "case_ids": [ids[4]]}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_appeal"))
    );
    let (status, appeal) = app
        .post(
            "handler_a",
            &appeal_path,
            json!({"reason": "派遣错误，不属本单位职责", "case_ids": [open_case]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{appeal}");
    assert_eq!(appeal["state"], "pending");
    let decision = format!("/api/v1/assessment/appeals/{}/decision", appeal["id"]);
    let (status, _) = app
        .post("handler_a", &decision, json!({"accept": true}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, decided) = app
        .post(
            "leader",
            &decision,
            json!({"accept": true, "note": "核实为错派"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["state"], "accepted");
    // Without the open case: 100 × (0.5·3/3 + 0.3·2/3 + 0.2·1/2) = 80 → B, revision 2.
    let new = &decided["new_result"];
    assert_eq!(
        (new["revision"].as_i64(), new["score"].as_f64()),
        (Some(2), Some(80.0))
    );
    assert_eq!(new["grade"], "B");
    assert_eq!(new["excluded"], json!([open_case]));
    let (status, body) = app
        .post("leader", &decision, json!({"accept": false}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("appeal_decided"))
    );
    // Both versions are kept; only the new one is current, and the other units are untouched.
    let (_, all) = app.get("leader", &format!("{query}&all=true")).await;
    let versions: Vec<(i64, bool, Option<f64>)> = all
        .as_array()
        .expect("all")
        .iter()
        .filter(|r| r["unit_id"] == f.dept_a)
        .map(|r| {
            (
                r["revision"].as_i64().unwrap(),
                r["current"].as_bool().unwrap(),
                r["score"].as_f64(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        vec![(1, false, Some(67.5)), (2, true, Some(80.0))]
    );
    let (_, current) = app.get("leader", &query).await;
    assert_eq!(
        current.as_array().map(Vec::len),
        results.as_array().map(Vec::len)
    );
    assert_eq!(unit(&current, f.dept_b)["revision"], 1);
    // The graded department reads its own result; an appeal against the replaced revision is refused.
    let (status, own) = app
        .get(
            "handler_a",
            &format!("/api/v1/assessment/results/{result_a}"),
        )
        .await;
    assert_eq!(
        (status, own["current"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    let (status, body) = app
        .post(
            "handler_a",
            &appeal_path,
            json!({"reason": "再次申诉", "case_ids": [ids[0]]}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("result_replaced"))
    );
    // The leader's ranking after the appeal: A (80, B) is ranked, the ungraded units follow without a rank.
    let ranking_query = format!("scheme_id={scheme_id}&period=2026-09&unit_kind=department");
    let (status, ranking) = app
        .get(
            "leader",
            &format!("/api/v1/assessment/ranking?{ranking_query}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ranking}");
    assert_eq!(ranking["units"][0]["result"]["unit_id"], f.dept_a);
    assert_eq!(ranking["units"][0]["rank"], 1);
    assert!(ranking["units"][1]["rank"].is_null());
    assert_eq!(ranking["distribution"], json!({"B": 1, "-": 2}));

    // A strict scheme (A ≥ 95 … D ≥ 80, one case is enough) puts B on the red list and A on the black list;
    // it sees the late September case too (5 cases: 4 closed, 3 of them on time, 2 of 3 rated satisfied):
    // 100 × (0.5·4/5 + 0.3·3/4 + 0.2·2/3) = 75.83 → E. October (one case, all good) = 100 → A, 环比 +24.17.
    let (_, strict) = app
        .post(
            "leader",
            "/api/v1/assessment/schemes",
            json!({
                "code": "strict", "name": "严格考核",
                "indicators": scheme["indicators"], "min_cases": 1, "bands": [95, 90, 85, 80]
            }),
        )
        .await;
    let strict_id = strict["id"].as_i64().expect("strict id");
    for period in ["2026-09", "2026-10"] {
        let (status, body) = app
            .post(
                "leader",
                "/api/v1/assessment/periods",
                json!({"scheme_id": strict_id, "period": period, "unit_kind": "department"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, sept_rank) = app
        .get("leader", &format!("/api/v1/assessment/ranking?scheme_id={strict_id}&period=2026-09&unit_kind=department"))
        .await;
    assert_eq!(sept_rank["red"], json!([f.dept_b]));
    assert_eq!(sept_rank["black"], json!([f.dept_a]));
    assert_eq!(sept_rank["units"][1]["result"]["score"], 75.83);
    let (_, oct_rank) = app
        .get("leader", &format!("/api/v1/assessment/ranking?scheme_id={strict_id}&period=2026-10&unit_kind=department"))
        .await;
    let oct_a = oct_rank["units"]
        .as_array()
        .expect("units")
        .iter()
        .find(|u| u["result"]["unit_id"] == f.dept_a)
        .expect("A in October");
    assert_eq!(oct_a["result"]["grade"], "A");
    assert_eq!(oct_a["previous_month"], 75.83);

    // The XLSX export reopens: the ranking sheet lists the units in rank order with their scores and grades.
    let response = app
        .http
        .get(format!(
            "{}/api/v1/assessment/export?scheme_id={strict_id}&period=2026-09&unit_kind=department",
            app.base
        ))
        .bearer_auth(app.token("leader").await)
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.expect("bytes").to_vec();
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("xlsx");
    use calamine::Reader;
    assert_eq!(book.sheet_names(), vec!["考核结果", "红黑榜", "案件明细"]);
    let sheet = book.worksheet_range("考核结果").expect("sheet");
    let cell = |r: u32, c: u32| {
        sheet
            .get_value((r, c))
            .map(ToString::to_string)
            .unwrap_or_default()
    };
    assert_eq!(cell(2, 1), "单位");
    assert_eq!(cell(2, 6), "得分");
    assert_eq!(
        cell(3, 1),
        sept_rank["units"][0]["result"]["unit_name"]
            .as_str()
            .unwrap()
    );
    assert_eq!(
        (cell(3, 0), cell(3, 6), cell(3, 7)),
        ("1".into(), "100".into(), "A".into())
    );
    assert_eq!((cell(4, 6), cell(4, 7)), ("75.83".into(), "E".into()));
    let lists = book.worksheet_range("红黑榜").expect("lists");
    assert_eq!(
        lists.get_value((1, 2)).map(ToString::to_string),
        oct_a["result"]["unit_name"].as_str().map(String::from)
    );
    let details = book.worksheet_range("案件明细").expect("details");
    assert_eq!(details.height(), 1 + 5 + 2);
    let (status, _) = app
        .get(
            "handler_a",
            &format!("/api/v1/assessment/export?{ranking_query}"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Every write left its audit record, and the chain holds.
    let chain = urbis_service::audit::verify_chain(app.services.db())
        .await
        .expect("chain");
    assert!(chain.first_break.is_none());
}
