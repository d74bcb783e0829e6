//! Perception (issue 17) against the real Mosquitto at 127.0.0.1:1883: readings published with a
//! real MQTT client become readings, alarms, verification tasks and cases; bad messages become
//! dead letters; a persistent session keeps what was published while Urbis was down. Each test
//! uses its own topic prefix and client id, and forgets its session at the end.

use std::time::Duration;

use reqwest::StatusCode;
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use serde_json::{Value, json};
use urbis_service::assets::AssetInput;
use urbis_service::sensors::mqtt::{MqttConfig, SensorIngest};
use urbis_test_support::TestApp;

const BROKER: (&str, u16) = ("127.0.0.1", 1883);
const ASSET: &str = "9901010101000001";

/// A name unique to this run and test.
pub(crate) fn unique(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{test}-{}-{nanos}", std::process::id())
}

/// Whether the broker answers; tests skip with a message when it does not.
pub(crate) async fn broker_up() -> bool {
    let up = tokio::net::TcpStream::connect(BROKER).await.is_ok();
    if !up {
        // CI starts Mosquitto and sets URBIS_REQUIRE_MQTT: there the tests must run.
        assert!(
            std::env::var_os("URBIS_REQUIRE_MQTT").is_none(),
            "no MQTT broker at {}:{} and URBIS_REQUIRE_MQTT is set",
            BROKER.0,
            BROKER.1
        );
        eprintln!("skipping: no MQTT broker at {}:{}", BROKER.0, BROKER.1);
    }
    up
}

/// Publishes each (device, payload) at QoS 1 and returns once the broker acknowledged them all.
pub(crate) async fn publish(prefix: &str, messages: &[(&str, Vec<u8>)]) {
    let mut options = MqttOptions::new(unique("pub"), BROKER.0, BROKER.1);
    options.set_max_packet_size(4 << 20, 4 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, messages.len() + 10);
    for (device, payload) in messages {
        client
            .publish(
                format!("{prefix}/devices/{device}/readings"),
                QoS::AtLeastOnce,
                false,
                payload.clone(),
            )
            .await
            .expect("publish");
    }
    let mut acked = 0;
    tokio::time::timeout(Duration::from_secs(20), async {
        while acked < messages.len() {
            if let Event::Incoming(Packet::PubAck(_)) = eventloop.poll().await.expect("mqtt") {
                acked += 1;
            }
        }
        client.disconnect().await.expect("disconnect");
        while let Ok(event) = eventloop.poll().await {
            if matches!(event, Event::Outgoing(Outgoing::Disconnect)) {
                break;
            }
        }
    })
    .await
    .expect("broker acknowledged every publish");
}

/// Drops the broker's persistent session of a client id.
pub(crate) async fn forget_session(client_id: &str) {
    let mut options = MqttOptions::new(client_id, BROKER.0, BROKER.1);
    options.set_clean_session(true);
    let (client, mut eventloop) = AsyncClient::new(options, 10);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(event) = eventloop.poll().await {
            if let Event::Incoming(Packet::ConnAck(_)) = event {
                let _ = client.disconnect().await;
            }
            if matches!(event, Event::Outgoing(Outgoing::Disconnect)) {
                break;
            }
        }
    })
    .await;
}

pub(crate) fn reading(value: f64, unit: &str) -> Vec<u8> {
    json!({ "v": value, "u": unit }).to_string().into_bytes()
}

/// Polls until `check` returns Some, for at most 20 s.
pub(crate) async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A device type, an asset maintained by CG-A, and devices in grid A watching it.
pub(crate) async fn registry(app: &TestApp, rules: Value, devices: &[&str]) {
    let admin = app
        .services
        .actor_by_username("admin")
        .await
        .expect("admin");
    let report = app
        .services
        .import_assets(
            &admin,
            &[AssetInput {
                row: 1,
                id: ASSET.into(),
                name: "上水井盖1".into(),
                lon: "116.302".into(),
                lat: "39.904".into(),
                crs: "wgs84".into(),
                owner: "SZ".into(),
                maintainer: "CG-A".into(),
                state: "完好".into(),
            }],
        )
        .await
        .expect("asset");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let (status, body) = app
        .send(
            Some(&app.token("admin").await),
            reqwest::Method::PUT,
            "/api/v1/sensors/types/manhole_tilt",
            Some(
                json!({"code": "manhole_tilt", "name": "井盖倾斜", "unit": "deg",
                "category_id": app.fixture.other_category, "rules": rules}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list: Vec<Value> = devices
        .iter()
        .map(|code| {
            json!({"code": code, "type": "manhole_tilt", "name": format!("井盖传感器{code}"),
            "lat": 39.904, "lon": 116.302, "asset_id": ASSET, "area_code": "990101001001001"})
        })
        .collect();
    let (status, body) = app
        .post(
            "admin",
            "/api/v1/sensors/devices",
            json!({ "devices": list }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"], devices.len(), "{body}");
}

pub(crate) async fn start(app: &TestApp, client_id: &str, prefix: &str) -> SensorIngest {
    let mut config = MqttConfig::local(client_id, prefix);
    config.tick = Duration::from_millis(200);
    app.services
        .start_sensor_ingest(config)
        .await
        .expect("ingest")
}

pub(crate) async fn device(app: &TestApp, code: &str) -> Value {
    let (status, body) = app
        .get("dispatcher", &format!("/api/v1/sensors/devices/{code}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Waits until the device's latest reading is `value`.
pub(crate) async fn settled(app: &TestApp, code: &str, value: f64) -> Value {
    eventually(&format!("{code} = {value}"), || async {
        let d = device(app, code).await;
        (d["last_value"].as_f64() == Some(value)).then_some(d)
    })
    .await
}

async fn alarms(app: &TestApp, user: &str, query: &str) -> Vec<Value> {
    let (status, body) = app
        .get(user, &format!("/api/v1/sensors/alarms?{query}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().expect("list").clone()
}

/// Waits for the subscription to be in place (a probe message comes back as a dead letter).
pub(crate) async fn subscribed(app: &TestApp, prefix: &str) {
    let mut sent = 0;
    eventually("the subscription", || {
        sent += 1;
        let probe = format!("probe{sent}");
        async move {
            publish(prefix, &[(probe.as_str(), reading(0.0, "deg"))]).await;
            let (_, body) = app
                .get("admin", "/api/v1/sensors/dead-letters?limit=50")
                .await;
            body.as_array()
                .expect("list")
                .iter()
                .any(|d| d["reason"] == "unknown_device")
                .then_some(())
        }
    })
    .await;
}

#[tokio::test]
async fn threshold_alarm_is_verified_into_a_case_and_recovery_closes_it() {
    if !broker_up().await {
        return;
    }
    let app = TestApp::start().await;
    registry(
        &app,
        json!({"high": 15.0, "hysteresis": 3.0}),
        &["D1", "D2"],
    )
    .await;
    let (client_id, prefix) = (unique("urbis-it"), format!("it/{}", unique("threshold")));
    let ingest = start(&app, &client_id, &prefix).await;
    subscribed(&app, &prefix).await;

    // One event, flapping around the limit: exactly one alarm.
    let values = [5.0, 20.0, 25.0, 14.0, 18.0];
    let messages: Vec<(&str, Vec<u8>)> =
        values.iter().map(|v| ("D1", reading(*v, "deg"))).collect();
    publish(&prefix, &messages).await;
    let d1 = settled(&app, "D1", 18.0).await;
    assert_eq!(d1["state"], "alarm", "{d1}");
    let (_, readings) = app
        .get("dispatcher", "/api/v1/sensors/devices/D1/readings")
        .await;
    let stored: Vec<f64> = readings
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["value"].as_f64().expect("v"))
        .collect();
    assert_eq!(stored, values, "readings in order");
    let pending = alarms(&app, "supervisor_a", "state=pending").await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    let alarm = &pending[0];
    assert_eq!(
        (
            alarm["device"].as_str(),
            alarm["rule"].as_str(),
            alarm["value"].as_f64()
        ),
        (Some("D1"), Some("threshold"), Some(20.0))
    );
    assert!(alarm["due_at"].as_str().expect("due") > alarm["raised_at"].as_str().expect("raised"));
    assert!(
        alarms(&app, "supervisor_b", "state=pending")
            .await
            .is_empty(),
        "not district B's supervisor's"
    );

    // Only the grid's supervisor verifies; confirming opens a case naming the asset.
    let id = alarm["id"].as_i64().expect("id");
    let (status, _) = app
        .post(
            "supervisor_b",
            &format!("/api/v1/sensors/alarms/{id}/confirm"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, confirmed) = app
        .post(
            "supervisor_a",
            &format!("/api/v1/sensors/alarms/{id}/confirm"),
            json!({"note": "现场井盖倾斜"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    assert_eq!(confirmed["state"], "confirmed");
    let case_id = confirmed["case_id"].as_i64().expect("case");
    let (status, again) = app
        .post(
            "supervisor_a",
            &format!("/api/v1/sensors/alarms/{id}/confirm"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, again["code"].as_str()),
        (StatusCode::CONFLICT, Some("alarm_not_pending"))
    );
    let (status, case) = app
        .get("dispatcher", &format!("/api/v1/cases/{case_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(case["channel"], "sensor", "{case}");
    assert_eq!(case["asset"]["id"], ASSET, "{case}");
    assert_eq!(case["category_id"], app.fixture.other_category);
    let (_, appeals) = app
        .get("dispatcher", &format!("/api/v1/cases/{case_id}/appeals"))
        .await;
    let text = appeals[0]["text"].as_str().expect("text");
    assert!(
        text.contains("最近读数") && text.contains("25deg"),
        "readings attached: {text}"
    );
    // The city-wide rule names SZ; the asset's maintainer CG-A is proposed as lead.
    let (_, route) = app
        .get("dispatcher", &format!("/api/v1/cases/{case_id}/route"))
        .await;
    assert_eq!(route["lead_dept_id"], app.fixture.dept_a, "{route}");

    // A recovery before anyone verifies closes the alarm (audited).
    publish(&prefix, &[("D2", reading(30.0, "deg"))]).await;
    settled(&app, "D2", 30.0).await;
    let d2_alarm = alarms(&app, "supervisor_a", "state=pending&device=D2").await;
    assert_eq!(d2_alarm.len(), 1);
    publish(&prefix, &[("D2", reading(11.0, "deg"))]).await;
    let d2 = settled(&app, "D2", 11.0).await;
    assert_eq!(d2["state"], "online");
    let cleared = alarms(&app, "admin", "state=cleared&device=D2").await;
    assert_eq!(cleared.len(), 1, "{cleared:?}");
    assert_eq!(cleared[0]["id"], d2_alarm[0]["id"]);
    assert!(!cleared[0]["active"].as_bool().expect("active"));

    // D1 recovers and breaches again while its case is open: the alarm joins the case.
    publish(
        &prefix,
        &[("D1", reading(2.0, "deg")), ("D1", reading(40.0, "deg"))],
    )
    .await;
    settled(&app, "D1", 40.0).await;
    let joined = eventually("the joined alarm", || async {
        let list = alarms(&app, "admin", "state=joined&device=D1").await;
        (!list.is_empty()).then_some(list)
    })
    .await;
    assert_eq!(joined.len(), 1);
    assert_eq!(joined[0]["case_id"], case_id);
    assert!(
        alarms(&app, "supervisor_a", "state=pending")
            .await
            .is_empty(),
        "no new verification task"
    );

    // A rejected alarm counts as a false alarm of its rule.
    publish(&prefix, &[("D2", reading(50.0, "deg"))]).await;
    settled(&app, "D2", 50.0).await;
    let pending = alarms(&app, "supervisor_a", "state=pending").await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    let id = pending[0]["id"].as_i64().expect("id");
    let (status, body) = app
        .post(
            "supervisor_a",
            &format!("/api/v1/sensors/alarms/{id}/reject"),
            json!({"note": "施工扰动"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, outcomes) = app.get("leader", "/api/v1/sensors/rule-outcomes").await;
    let threshold = outcomes
        .as_array()
        .expect("list")
        .iter()
        .find(|o| o["rule"] == "threshold")
        .expect("threshold")
        .clone();
    assert_eq!(
        (
            threshold["raised"].as_i64(),
            threshold["confirmed"].as_i64(),
            threshold["rejected"].as_i64(),
            threshold["cleared"].as_i64(),
            threshold["joined"].as_i64()
        ),
        (Some(4), Some(1), Some(1), Some(1), Some(1)),
        "{threshold}"
    );
    // Every step above is in the audit log, and the chain holds.
    let actions: Vec<String> = urbis_storage::sql::query(
        "SELECT action FROM audit_log WHERE action LIKE 'sensor_%' ORDER BY seq",
    )
    .scalars(&mut app.services.db().read().await.expect("read"))
    .await
    .expect("audit");
    for action in [
        "sensor_type_set",
        "sensor_devices_imported",
        "sensor_alarm_raised",
        "sensor_alarm_confirmed",
        "sensor_alarm_cleared",
        "sensor_alarm_joined",
        "sensor_alarm_rejected",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} missing in {actions:?}"
        );
    }
    let report = urbis_service::audit::verify_chain(app.services.db())
        .await
        .expect("verify");
    assert!(report.first_break.is_none(), "audit chain broken");
    ingest.stop().await;
    forget_session(&client_id).await;
}

#[tokio::test]
async fn a_silent_device_goes_offline_and_raises_its_alarm() {
    if !broker_up().await {
        return;
    }
    let app = TestApp::start().await;
    registry(&app, json!({"high": 100.0, "silence_secs": 1}), &["S1"]).await;
    let (client_id, prefix) = (unique("urbis-it"), format!("it/{}", unique("silence")));
    let ingest = start(&app, &client_id, &prefix).await;
    subscribed(&app, &prefix).await;
    publish(&prefix, &[("S1", reading(3.0, "deg"))]).await;
    let s1 = settled(&app, "S1", 3.0).await;
    assert_eq!(s1["state"], "online");
    let offline = eventually("S1 offline", || async {
        let d = device(&app, "S1").await;
        (d["state"] == "offline").then_some(d)
    })
    .await;
    assert_eq!(offline["last_value"], 3.0);
    let pending = alarms(&app, "supervisor_a", "state=pending&device=S1").await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["rule"], "silence");
    // Further checks raise nothing new while it stays silent.
    ingest.tick_now().await.expect("tick");
    ingest.tick_now().await.expect("tick");
    assert_eq!(alarms(&app, "admin", "device=S1").await.len(), 1);
    // Data again: online, and the unverified alarm closes itself.
    publish(&prefix, &[("S1", reading(4.0, "deg"))]).await;
    let s1 = settled(&app, "S1", 4.0).await;
    assert_eq!(s1["state"], "online");
    assert_eq!(
        alarms(&app, "admin", "state=cleared&device=S1").await.len(),
        1
    );
    ingest.stop().await;
    forget_session(&client_id).await;
}

#[tokio::test]
async fn bad_messages_are_dead_lettered_with_reasons_and_ingestion_goes_on() {
    if !broker_up().await {
        return;
    }
    let app = TestApp::start().await;
    registry(&app, json!({"high": 100.0}), &["B1"]).await;
    let (client_id, prefix) = (unique("urbis-it"), format!("it/{}", unique("dead")));
    let ingest = start(&app, &client_id, &prefix).await;
    subscribed(&app, &prefix).await;
    let big = vec![b'7'; 1 << 20];
    publish(
        &prefix,
        &[
            ("B1", reading(1.0, "deg")),
            ("B1", b"{\"v\": 1.5, ".to_vec()),
            ("NOPE", reading(2.0, "deg")),
            ("B1", reading(2.5, "mm")),
            ("B1", b"{\"v\": NaN, \"u\": \"deg\"}".to_vec()),
            ("B1", big),
            ("B1", reading(2.0, "deg")),
            ("B1", br#"[{"bu": "deg", "v": 3}, {"v": 4}]"#.to_vec()),
        ],
    )
    .await;
    settled(&app, "B1", 4.0).await;
    let (status, letters) = app
        .get("admin", "/api/v1/sensors/dead-letters?limit=100")
        .await;
    assert_eq!(status, StatusCode::OK, "{letters}");
    let letters = letters.as_array().expect("list");
    let reasons: Vec<(&str, &str)> = letters
        .iter()
        .filter(|d| !d["topic"].as_str().unwrap_or("").contains("/probe"))
        .map(|d| {
            (
                d["topic"]
                    .as_str()
                    .expect("topic")
                    .rsplit('/')
                    .nth(1)
                    .expect("device"),
                d["reason"].as_str().expect("reason"),
            )
        })
        .collect();
    let mut got = reasons.clone();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("B1", "invalid_json"),
            ("B1", "not_a_number"),
            ("B1", "oversize"),
            ("B1", "wrong_unit"),
            ("NOPE", "unknown_device")
        ],
        "{letters:?}"
    );
    let oversize = letters
        .iter()
        .find(|d| d["reason"] == "oversize")
        .expect("oversize");
    assert_eq!(oversize["size_bytes"], 1 << 20);
    assert_eq!(
        oversize["payload"].as_str().expect("payload").len(),
        1024,
        "only the head is kept"
    );
    // Nothing else was affected: the good readings are all there, no alarm.
    let (_, readings) = app
        .get("dispatcher", "/api/v1/sensors/devices/B1/readings")
        .await;
    let stored: Vec<f64> = readings
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["value"].as_f64().expect("v"))
        .collect();
    assert_eq!(stored, vec![1.0, 2.0, 3.0, 4.0]);
    assert!(alarms(&app, "admin", "device=B1").await.is_empty());
    let (status, _) = app.get("dispatcher", "/api/v1/sensors/dead-letters").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "dead letters are for admins");
    ingest.stop().await;
    forget_session(&client_id).await;
}

#[tokio::test]
async fn readings_published_while_urbis_was_stopped_arrive_after_restart() {
    if !broker_up().await {
        return;
    }
    let app = TestApp::start().await;
    registry(&app, json!({"high": 100.0}), &["R1"]).await;
    let (client_id, prefix) = (unique("urbis-it"), format!("it/{}", unique("restart")));
    let ingest = start(&app, &client_id, &prefix).await;
    subscribed(&app, &prefix).await;
    publish(&prefix, &[("R1", reading(1.0, "deg"))]).await;
    settled(&app, "R1", 1.0).await;
    ingest.stop().await;

    // Urbis is down: the broker keeps these for the session.
    let down: Vec<(&str, Vec<u8>)> = (2..=6)
        .map(|v| ("R1", reading(f64::from(v), "deg")))
        .collect();
    publish(&prefix, &down).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        device(&app, "R1").await["last_value"],
        1.0,
        "nothing arrives while down"
    );

    let ingest = start(&app, &client_id, &prefix).await;
    settled(&app, "R1", 6.0).await;
    let (_, readings) = app
        .get("dispatcher", "/api/v1/sensors/devices/R1/readings")
        .await;
    let stored: Vec<f64> = readings
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["value"].as_f64().expect("v"))
        .collect();
    assert_eq!(stored, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    ingest.stop().await;
    forget_session(&client_id).await;
}

#[tokio::test]
async fn registry_and_rules_are_validated_audited_and_admin_only() {
    let app = TestApp::start().await;
    registry(&app, json!({"high": 15.0}), &["G1"]).await;
    let token = app.token("admin").await;
    // Per-device override, then back to the type's rules.
    let (status, body) = app
        .send(Some(&token), reqwest::Method::PUT, "/api/v1/sensors/devices/G1/rules", Some(json!({"high": 30.0, "hysteresis": 2.0, "band_low": 0.0, "band_high": 10.0, "band_count": 3})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["rules"]["high"].as_f64(),
            body["rules_overridden"].as_bool()
        ),
        (Some(30.0), Some(true))
    );
    let (status, body) = app
        .send(
            Some(&token),
            reqwest::Method::DELETE,
            "/api/v1/sensors/devices/G1/rules",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["rules"]["high"].as_f64(),
            body["rules_overridden"].as_bool()
        ),
        (Some(15.0), Some(false))
    );
    for (rules, code) in [
        (json!({"high": 1.0, "low": 5.0}), "invalid_rules"),
        (json!({"band_count": 3}), "invalid_rules"),
        (json!({"silence_secs": 0}), "invalid_rules"),
    ] {
        let (status, body) = app
            .send(
                Some(&token),
                reqwest::Method::PUT,
                "/api/v1/sensors/devices/G1/rules",
                Some(rules),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{body}"
        );
    }
    let (status, body) = app
        .post("admin", "/api/v1/sensors/devices", json!({"devices": [
            {"code": "G2", "type": "nope", "name": "x", "lat": 39.9, "lon": 116.3},
            {"code": "bad code", "type": "manhole_tilt", "name": "x", "lat": 39.9, "lon": 116.3},
            {"code": "G3", "type": "manhole_tilt", "name": "x", "lat": 99.0, "lon": 116.3},
            {"code": "G4", "type": "manhole_tilt", "name": "x", "lat": 39.9, "lon": 116.3, "asset_id": "9901010101009999"},
            {"code": "G1", "type": "manhole_tilt", "name": "改名", "lat": 39.9, "lon": 116.3}
        ]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["created"].as_i64(), body["updated"].as_i64()),
        (Some(0), Some(1)),
        "{body}"
    );
    assert_eq!(
        body["problems"].as_array().expect("problems").len(),
        4,
        "{body}"
    );
    assert_eq!(device(&app, "G1").await["name"], "改名");
    let (status, _) = app
        .post(
            "dispatcher",
            "/api/v1/sensors/devices",
            json!({"devices": []}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get("resident", "/api/v1/sensors/devices").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get("dispatcher", "/api/v1/sensors/devices/NOPE").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn beijing_stations_replay_over_mqtt_into_readings_and_alarms() {
    let data =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/beijing_air");
    if !data.exists() {
        eprintln!("skipping: {} is absent", data.display());
        return;
    }
    if !broker_up().await {
        return;
    }
    let app = TestApp::start().await;
    let (client_id, prefix) = (unique("urbis-it"), format!("it/{}", unique("replay")));
    let ingest = start(&app, &client_id, &prefix).await;
    subscribed(&app, &prefix).await;
    // Two days of early March 2013, as fast as the broker takes them. The child runs off the
    // test's runtime thread, so that the server and the ingestion keep running (and finish any
    // write transaction) while it registers the stations in the same store.
    let mut replay = std::process::Command::new(env!("CARGO_BIN_EXE_urbis"));
    replay
        .args([
            "sensors",
            "replay",
            "--speed",
            "0",
            "--hours",
            "48",
            "--from",
            "2013-03-05 00",
        ])
        .arg("--data")
        .arg(&data)
        .args(["--mqtt-topic-prefix", &prefix, "--db"])
        .arg(&app.db_path);
    let out = tokio::task::spawn_blocking(move || replay.output())
        .await
        .expect("join")
        .expect("replay");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("12 stations registered"), "{stdout}");
    let published: i64 = stdout
        .split("published ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("published count");
    assert!(published > 12 * 40, "{stdout}");
    let (_, devices) = app
        .get("dispatcher", "/api/v1/sensors/devices?type=pm25")
        .await;
    assert_eq!(devices.as_array().expect("list").len(), 12, "{devices}");
    eventually("every replayed reading", || async {
        (app.services.count_sensor_readings().await.expect("count") == published).then_some(())
    })
    .await;
    // Early March 2013 had PM2.5 surges above 150 µg/m³: threshold alarms, one per surge.
    let raised = alarms(&app, "admin", "limit=1000").await;
    assert!(
        raised.iter().any(|a| a["rule"] == "threshold"),
        "{raised:?}"
    );
    let (_, dongsi) = app
        .get(
            "dispatcher",
            "/api/v1/sensors/devices/bj-dongsi-pm25/readings?limit=100",
        )
        .await;
    assert!(dongsi.as_array().expect("list").len() >= 40, "{dongsi}");
    ingest.stop().await;
    forget_session(&client_id).await;
}

#[tokio::test]
async fn old_readings_are_folded_into_hourly_aggregates() {
    if !broker_up().await {
        return;
    }
    let app = TestApp::start().await;
    registry(&app, json!({"high": 100.0}), &["H1"]).await;
    let (client_id, prefix) = (unique("urbis-it"), format!("it/{}", unique("retention")));
    let ingest = start(&app, &client_id, &prefix).await;
    subscribed(&app, &prefix).await;
    let now = chrono::Utc::now().timestamp();
    let hour = (now - 40 * 86_400) / 3600 * 3600;
    let at = |t: i64, v: f64| json!({"v": v, "u": "deg", "t": t}).to_string().into_bytes();
    publish(
        &prefix,
        &[
            ("H1", at(hour + 300, 4.0)),
            ("H1", at(hour + 900, 8.0)),
            ("H1", at(hour + 1500, 6.0)),
            ("H1", at(hour + 3600 + 60, 9.0)),
            ("H1", at(now - 60, 7.0)),
        ],
    )
    .await;
    eventually("five readings", || async {
        (app.services.count_sensor_readings().await.expect("count") == 5).then_some(())
    })
    .await;
    let report = app.services.sensor_retention(30).await.expect("retention");
    assert_eq!((report.readings_folded, report.hours_written), (4, 2));
    assert_eq!(
        app.services.count_sensor_readings().await.expect("count"),
        1,
        "the recent reading stays raw"
    );
    let from = chrono::DateTime::from_timestamp(hour - 3600, 0)
        .expect("from")
        .to_rfc3339();
    let (status, hours) = app
        .get(
            "dispatcher",
            &format!(
                "/api/v1/sensors/devices/H1/hourly?from={}",
                from.replace('+', "%2B")
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{hours}");
    let hours = hours.as_array().expect("list");
    assert_eq!(hours.len(), 2, "{hours:?}");
    assert_eq!(
        (
            hours[0]["n"].as_i64(),
            hours[0]["min"].as_f64(),
            hours[0]["max"].as_f64(),
            hours[0]["mean"].as_f64()
        ),
        (Some(3), Some(4.0), Some(8.0), Some(6.0))
    );
    assert_eq!(
        (hours[1]["n"].as_i64(), hours[1]["mean"].as_f64()),
        (Some(1), Some(9.0))
    );
    // A second round finds nothing more to fold.
    assert_eq!(
        app.services
            .sensor_retention(30)
            .await
            .expect("again")
            .readings_folded,
        0
    );
    ingest.stop().await;
    forget_session(&client_id).await;
}
