//! Behind the dashboard's figures (`GET /api/v1/stats/figure-cases`): each rate lists the cases of
//! its denominator with those that miss it first and marked, in the numbers the counters give the
//! rate; and the live feed's lines (`GET /api/v1/stats/feed`) with masked titles and area names.

use reqwest::StatusCode;
use serde_json::{Value, json};
use urbis_test_support::TestApp;

/// (denominator, meeting, numbers of the cases listed with whether each meets the figure).
fn listed(body: &Value) -> (i64, i64, Vec<(i64, bool)>) {
    let cases = body["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            (
                c["id"].as_i64().expect("id"),
                c["meets"].as_bool().expect("meets"),
            )
        })
        .collect();
    (
        body["denominator"].as_i64().expect("denominator"),
        body["meeting"].as_i64().expect("meeting"),
        cases,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_rate_lists_its_cases_with_the_misses_first() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let today = app.services.local_day(chrono::Utc::now());
    let period = format!("from={today}&to={today}");
    // Two cases closed and rated in district A (one not as 正常 and unhappy), one dispatched and not
    // accepted yet, and one only received in district B.
    let mut ids = Vec::new();
    for text in ["路灯不亮已经三天", "井盖破损有人差点踩空", "人行道地砖松动"]
    {
        ids.push(
            app.file_appeal("operator", f.grid_a, f.category, text)
                .await,
        );
    }
    let received = app
        .file_appeal("operator", f.grid_b, f.category, "小区门口垃圾无人清运")
        .await;
    for &id in &ids {
        for (user, action) in [
            ("shiftlead", json!({"action": "register"})),
            (
                "dispatcher",
                json!({"action": "dispatch", "lead_dept_id": f.dept_a}),
            ),
        ] {
            let (status, body) = app.act(user, id, action).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
    for (&id, (closure, satisfaction, resolved)) in ids.iter().zip([
        ("normal", "satisfied", true),
        // Not closed as 正常 (a closure can be forced to 差错 or 特殊 only).
        ("error", "dissatisfied", false),
    ]) {
        for (user, action) in [
            ("handler_a", json!({"action": "accept"})),
            ("handler_a", json!({"action": "feedback", "note": "已处理"})),
            ("supervisor_a", json!({"action": "check_pass"})),
            (
                "shiftlead",
                json!({"action": "close", "closure_type": closure}),
            ),
            (
                "operator",
                json!({"action": "rate", "satisfaction": satisfaction, "resolved": resolved}),
            ),
        ] {
            let (status, body) = app.act(user, id, action.clone()).await;
            assert_eq!(status, StatusCode::OK, "{action}: {body}");
        }
    }
    let (good, late, waiting) = (ids[0], ids[1], ids[2]);
    let (_, summary) = app
        .get("leader", &format!("/api/v1/stats/summary?{period}"))
        .await;
    let counter = |k: &str| summary["counts"][k].as_i64().unwrap_or(0);

    // figure → (denominator, meeting, the cases in order) and the counters behind the rate.
    let expected = [
        (
            "on_time_closure_rate",
            (2, 1, vec![(late, false), (good, true)]),
            (counter("closed"), counter("closed_on_time")),
        ),
        (
            "closure_rate",
            (3, 2, vec![(waiting, false), (late, true), (good, true)]),
            (counter("registered"), counter("closed")),
        ),
        (
            "response_rate",
            (3, 2, vec![(waiting, false), (late, true), (good, true)]),
            (counter("dispatched"), counter("responded_on_time")),
        ),
        (
            "satisfaction_rate",
            (2, 1, vec![(late, false), (good, true)]),
            (counter("evaluated"), counter("satisfied")),
        ),
        (
            "resolution_rate",
            (2, 1, vec![(late, false), (good, true)]),
            (counter("evaluated"), counter("resolved")),
        ),
        (
            "reported",
            (
                4,
                4,
                vec![
                    (received, true),
                    (waiting, true),
                    (late, true),
                    (good, true),
                ],
            ),
            (counter("reported"), counter("reported")),
        ),
    ];
    for (figure, want, counters) in expected {
        let (status, body) = app
            .get(
                "leader",
                &format!("/api/v1/stats/figure-cases?figure={figure}&{period}"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{figure}: {body}");
        let got = listed(&body);
        assert_eq!(got, want, "{figure}");
        assert_eq!((got.0, got.1), counters, "{figure} against its counters");
        assert_eq!(body["missing"].as_i64(), Some(got.0 - got.1), "{figure}");
    }
    // The miss says why (its closure type); only the misses when asked.
    let (_, body) = app
        .get(
            "leader",
            &format!(
                "/api/v1/stats/figure-cases?figure=on_time_closure_rate&{period}&missing=true"
            ),
        )
        .await;
    assert_eq!(listed(&body).2, vec![(late, false)]);
    assert_eq!(body["cases"][0]["closure_type"], "error");
    // One area, one department, and the limit.
    let (_, body) = app
        .get(
            "leader",
            &format!(
                "/api/v1/stats/figure-cases?figure=reported&{period}&area_id={}",
                f.district_b
            ),
        )
        .await;
    assert_eq!(listed(&body), (1, 1, vec![(received, true)]));
    let (_, body) = app
        .get(
            "leader",
            &format!(
                "/api/v1/stats/figure-cases?figure=closure_rate&{period}&dept_id={}&limit=1",
                f.dept_a
            ),
        )
        .await;
    assert_eq!(listed(&body), (3, 2, vec![(waiting, false)]));
    let (_, body) = app
        .get(
            "leader",
            &format!(
                "/api/v1/stats/figure-cases?figure=closure_rate&{period}&dept_id={}",
                f.dept_b
            ),
        )
        .await;
    assert_eq!(listed(&body), (0, 0, vec![]));
    // A period before the cases has none.
    let (_, body) = app
        .get(
            "leader",
            "/api/v1/stats/figure-cases?figure=reported&from=2020-01-01&to=2020-01-31",
        )
        .await;
    assert_eq!(listed(&body), (0, 0, vec![]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figure_cases_keep_to_the_callers_scope() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    app.file_appeal("operator", f.grid_a, f.category, "路灯不亮已经三天")
        .await;
    app.file_appeal("operator", f.grid_b, f.category, "小区门口垃圾无人清运")
        .await;
    let (status, body) = app
        .get("supervisor_b", "/api/v1/stats/figure-cases?figure=reported")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["denominator"], 1);
    let (status, _) = app
        .get(
            "supervisor_b",
            &format!(
                "/api/v1/stats/figure-cases?figure=reported&area_id={}",
                f.district_a
            ),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .get(
            "handler_a",
            &format!(
                "/api/v1/stats/figure-cases?figure=reported&dept_id={}",
                f.dept_b
            ),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .get("resident", "/api/v1/stats/figure-cases?figure=reported")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for bad in [
        "figure=happiness",
        "figure=reported&limit=0",
        "figure=reported&limit=501",
    ] {
        let (status, body) = app
            .get("leader", &format!("/api/v1/stats/figure-cases?{bad}"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert!(
            ["invalid_figure", "invalid_limit"].contains(&body["code"].as_str().unwrap_or("")),
            "{body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_lines_name_the_area_and_mask_the_title() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let (status, body) = app
        .post(
            "operator",
            "/api/v1/appeals",
            json!({"title": "请回电13912345678：楼道堆物", "text": "来电人反映七号楼楼道堆满杂物，影响通行", "area_id": f.grid_a, "category_id": f.category}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let a = body["case_id"].as_i64().expect("id");
    let b = app
        .file_appeal("operator", f.grid_b, f.category, "小区门口垃圾无人清运")
        .await;
    let (status, lines) = app.get("leader", "/api/v1/stats/feed?limit=5").await;
    assert_eq!(status, StatusCode::OK, "{lines}");
    let lines = lines.as_array().expect("lines").clone();
    assert_eq!(
        lines
            .iter()
            .map(|l| l["case_id"].as_i64())
            .collect::<Vec<_>>(),
        vec![Some(b), Some(a)],
        "newest first"
    );
    let (_, areas) = app.get("leader", "/api/v1/areas").await;
    let grid_a = areas
        .as_array()
        .expect("areas")
        .iter()
        .find(|x| x["id"] == f.grid_a)
        .expect("grid a listed");
    let line_a = &lines[1];
    assert_eq!(line_a["area_id"], f.grid_a);
    assert_eq!(line_a["area_name"], grid_a["name"]);
    assert_eq!(line_a["state_zh"], "受理");
    let title = line_a["title"].as_str().expect("title");
    assert!(
        title.contains("楼道堆物") && !title.contains("13912345678"),
        "{title}"
    );
    // One case's line (a live event), and only inside the caller's scope.
    let (_, one) = app
        .get("leader", &format!("/api/v1/stats/feed?case_id={a}"))
        .await;
    assert_eq!(one.as_array().map(Vec::len), Some(1));
    let (_, hidden) = app
        .get("supervisor_b", &format!("/api/v1/stats/feed?case_id={a}"))
        .await;
    assert_eq!(hidden, json!([]));
    let (status, _) = app.get("leader", "/api/v1/stats/feed?limit=51").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_or_a_category_lists_as_many_cases_as_its_figure() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    // The hotline and a supervisor's patrol in district A, two residents' web reports in district
    // B, one of them without a category.
    app.file_appeal("operator", f.grid_a, f.category, "路灯不亮已经三天")
        .await;
    app.file_appeal(
        "supervisor_a",
        f.grid_a,
        f.other_category,
        "井盖破损有人差点踩空",
    )
    .await;
    app.file_appeal("resident", f.grid_b, f.category, "小区门口垃圾无人清运")
        .await;
    let (status, body) = app
        .post(
            "resident2",
            "/api/v1/appeals",
            json!({"text": "说不清楚是什么问题，请来看看", "area_id": f.grid_b}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let today = app.services.local_day(chrono::Utc::now());
    let period = format!("from={today}&to={today}");
    let denominator = |body: &Value| body["denominator"].as_i64().expect("denominator");

    // Each segment of the channel mix lists its cases, in the caller's scope.
    for user in ["leader", "supervisor_b"] {
        let (_, mix) = app
            .get(user, &format!("/api/v1/stats/channels?{period}"))
            .await;
        let mix = mix.as_array().expect("mix").clone();
        assert!(!mix.is_empty(), "{user}");
        for row in mix {
            let channel = row["channel"].as_str().expect("channel");
            let (status, body) = app
                .get(
                    user,
                    &format!(
                        "/api/v1/stats/figure-cases?figure=reported&{period}&channel={channel}"
                    ),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{user} {channel}: {body}");
            assert_eq!(denominator(&body), row["cases"], "{user} {channel}");
        }
    }
    let (_, body) = app
        .get(
            "supervisor_b",
            &format!("/api/v1/stats/figure-cases?figure=reported&{period}&channel=hotline"),
        )
        .await;
    assert_eq!(denominator(&body), 0, "district A's hotline call");

    // Each point of the trend by category lists its day's cases; several codes (其他) the sum.
    let (_, trend) = app
        .get("leader", &format!("/api/v1/stats/category-trend?{period}"))
        .await;
    let trend = trend.as_array().expect("trend").clone();
    assert!(trend.len() >= 2, "{trend:?}");
    let mut codes = Vec::new();
    let mut total = 0;
    for row in &trend {
        let code = match row["category_code"].as_str().expect("code") {
            "" => "none",
            code => code,
        };
        let day = row["day"].as_str().expect("day");
        let (status, body) = app
            .get(
                "leader",
                &format!(
                    "/api/v1/stats/figure-cases?figure=reported&from={day}&to={day}&category={code}"
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{code}: {body}");
        assert_eq!(denominator(&body), row["reported"], "{day} {code}");
        codes.push(code.to_owned());
        total += row["reported"].as_i64().expect("reported");
    }
    let (_, body) = app
        .get(
            "leader",
            &format!(
                "/api/v1/stats/figure-cases?figure=reported&{period}&category={}",
                codes.join(",")
            ),
        )
        .await;
    assert_eq!(denominator(&body), total);
    assert_eq!(total, 4);
    // The cases without a category, however many the trend shows.
    let uncategorised: i64 = trend
        .iter()
        .filter(|row| row["category_code"] == "")
        .map(|row| row["reported"].as_i64().expect("reported"))
        .sum();
    let (status, body) = app
        .get(
            "leader",
            &format!("/api/v1/stats/figure-cases?figure=reported&{period}&category=none"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(denominator(&body), uncategorised);
    // Both filters at once, and a rate under a category.
    let (_, body) = app
        .get(
            "leader",
            &format!(
                "/api/v1/stats/figure-cases?figure=closure_rate&{period}&channel=web&category={}",
                codes.iter().find(|c| *c != "none").expect("a category")
            ),
        )
        .await;
    assert!(denominator(&body) <= 1, "{body}");

    // Unknown values are refused with their codes.
    for (bad, code) in [
        ("channel=fax", "invalid_channel"),
        ("channel=", "invalid_channel"),
        ("category=zz", "unknown_category"),
        ("category=", "unknown_category"),
        ("category=0", "unknown_category"),
    ] {
        let (status, body) = app
            .get(
                "leader",
                &format!("/api/v1/stats/figure-cases?figure=reported&{period}&{bad}"),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["code"], code, "{bad}");
    }
}
