//! `urbis sensors replay`: publishes the hourly PM2.5 of the 12 Beijing air-quality stations
//! (../shared/data/beijing_air, UCI, CC BY 4.0) over MQTT at a chosen speed, so the demo shows
//! real alarms (PM2.5 surges). With `--db` it first registers the stations as devices of type
//! `pm25` (threshold 150 µg/m³ with a 25 µg/m³ hysteresis, 3 consecutive hours above 75, an hour
//! of silence), at the coordinates of `station_coords_approx.csv`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use urbis_service::sensors::{DeviceInput, RulesDoc, TypeInput};

use crate::DbArgs;

/// Options of `urbis sensors replay`.
#[derive(Args)]
pub struct ReplayArgs {
    /// The beijing_air folder.
    #[arg(long, default_value = "../shared/data/beijing_air")]
    pub data: PathBuf,
    /// The broker.
    #[arg(long, env = "URBIS_MQTT_URL", default_value = "mqtt://127.0.0.1:1883")]
    pub mqtt_url: String,
    /// Topic prefix (as `urbis serve --mqtt-topic-prefix`).
    #[arg(long, env = "URBIS_MQTT_TOPIC_PREFIX", default_value = "urbis/city")]
    pub mqtt_topic_prefix: String,
    /// Recorded hours per real second (0: as fast as the broker takes them).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// The first hour to replay (YYYY-MM-DD HH, Beijing time).
    #[arg(long, default_value = "2013-03-01 00")]
    pub from: String,
    /// How many hours to replay.
    #[arg(long, default_value_t = 24 * 7)]
    pub hours: usize,
    /// Send each reading with its recorded time instead of the time of publishing.
    #[arg(long)]
    pub keep_time: bool,
    /// Register the stations (type `pm25`) in this store before replaying.
    #[arg(long)]
    pub db: Option<urbis_service::store::Location>,
    /// The admin account the registration acts as.
    #[arg(long, default_value = "admin")]
    pub user: String,
}

/// A station: code, Chinese name, lon, lat.
type Station = (String, String, f64, f64);

fn stations(dir: &std::path::Path) -> anyhow::Result<Vec<Station>> {
    let path = dir.join("station_coords_approx.csv");
    let mut reader = csv::Reader::from_path(&path).with_context(|| {
        format!(
            "failed to read {} (is ../shared/data there?)",
            path.display()
        )
    })?;
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row?;
        let number = |i: usize| row.get(i).unwrap_or("").parse::<f64>();
        out.push((
            row.get(0).unwrap_or("").to_owned(),
            row.get(1).unwrap_or("").to_owned(),
            number(2)?,
            number(3)?,
        ));
    }
    Ok(out)
}

fn code_of(station: &str) -> String {
    format!("bj-{}-pm25", station.to_lowercase())
}

/// Hourly PM2.5 of one station from `from` for `hours`: (hour index, value); NA hours are left out.
fn series(
    dir: &std::path::Path,
    station: &str,
    from: chrono::NaiveDateTime,
    hours: usize,
) -> anyhow::Result<Vec<(usize, f64)>> {
    let file = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("PRSA_Data_{station}_")))
        })
        .ok_or_else(|| anyhow::format_err!("no data file for station {station}"))?;
    let mut reader = csv::Reader::from_path(&file)?;
    let header = reader.headers()?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| anyhow::format_err!("no column {name} in {}", file.display()))
    };
    let (year, month, day, hour, pm25) = (
        col("year")?,
        col("month")?,
        col("day")?,
        col("hour")?,
        col("PM2.5")?,
    );
    let mut out = Vec::new();
    for row in reader.records() {
        let row = row?;
        let n = |i: usize| row.get(i).unwrap_or("").parse::<u32>().unwrap_or(0);
        let Some(at) = chrono::NaiveDate::from_ymd_opt(n(year) as i32, n(month), n(day))
            .and_then(|d| d.and_hms_opt(n(hour), 0, 0))
        else {
            continue;
        };
        let index = (at - from).num_hours();
        if index < 0 || index as usize >= hours {
            continue;
        }
        if let Ok(value) = row.get(pm25).unwrap_or("").parse::<f64>() {
            out.push((index as usize, value));
        }
    }
    Ok(out)
}

async fn register(
    args: &ReplayArgs,
    db: &urbis_service::store::Location,
    stations: &[Station],
) -> anyhow::Result<()> {
    let services = crate::import::open_services(&DbArgs { db: db.clone() }).await?;
    let actor = services
        .actor_by_username(&args.user)
        .await
        .map_err(|err| anyhow::format_err!("user {}: {err}", args.user))?;
    let rules = RulesDoc {
        high: Some(150.0),
        hysteresis: 25.0,
        band_high: Some(75.0),
        band_count: 3,
        silence_secs: Some(3600),
        ..RulesDoc::default()
    };
    let input = TypeInput {
        code: "pm25".into(),
        name: "PM2.5 空气质量监测".into(),
        unit: "ug/m3".into(),
        category_id: None,
        rules,
    };
    let result = async {
        // An existing type keeps its rules (an operator may have tuned them).
        let known = services
            .sensor_types(&actor)
            .await?
            .iter()
            .any(|t| t.code == "pm25");
        if !known {
            services.put_sensor_type(&actor, &input).await?;
        }
        let rows: Vec<DeviceInput> = stations
            .iter()
            .map(|(code, name, lon, lat)| DeviceInput {
                code: code_of(code),
                type_code: "pm25".into(),
                name: format!("{name}国控站 PM2.5"),
                lat: *lat,
                lon: *lon,
                ..DeviceInput::default()
            })
            .collect();
        services.import_devices(&actor, &rows).await
    }
    .await;
    services.db().close().await;
    let report = result.map_err(|err| anyhow::format_err!("{err}"))?;
    println!(
        "{} stations registered, {} updated",
        report.created, report.updated
    );
    for problem in &report.problems {
        println!("{problem}");
    }
    Ok(())
}

/// Replays the stations.
pub async fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let stations = stations(&args.data)?;
    let from =
        chrono::NaiveDateTime::parse_from_str(&format!("{}:00:00", args.from), "%Y-%m-%d %H:%M:%S")
            .with_context(|| format!("--from {}: expected YYYY-MM-DD HH", args.from))?;
    let hours = args.hours.clamp(1, 24 * 366 * 4);
    if let Some(db) = &args.db {
        register(&args, db, &stations).await?;
    }
    // hour index → (device code, value)
    let mut timeline: BTreeMap<usize, Vec<(String, f64)>> = BTreeMap::new();
    for (code, ..) in &stations {
        for (hour, value) in series(&args.data, code, from, hours)? {
            timeline
                .entry(hour)
                .or_default()
                .push((code_of(code), value));
        }
    }
    let (host, port) = crate::sensors::parse_mqtt_url(&args.mqtt_url)?;
    let mut options = MqttOptions::new(format!("urbis-replay-{}", std::process::id()), host, port);
    options.set_inflight(1000);
    let (client, mut eventloop) = AsyncClient::new(options, 10_000);
    let total: usize = timeline.values().map(Vec::len).sum();
    let poller = tokio::spawn(async move {
        let mut acked = 0;
        while acked < total {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
                Ok(_) => {}
                Err(err) => return Err(anyhow::format_err!("mqtt: {err}")),
            }
        }
        Ok(eventloop)
    });
    let tz = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let step = (args.speed > 0.0).then(|| Duration::from_secs_f64(1.0 / args.speed));
    let started = std::time::Instant::now();
    for (hour, readings) in &timeline {
        if let Some(step) = step {
            let due = started + step * (*hour as u32);
            tokio::time::sleep_until(due.into()).await;
        }
        let at = from + chrono::Duration::hours(*hour as i64);
        for (code, value) in readings {
            let mut payload = serde_json::json!({ "v": value, "u": "ug/m3" });
            if args.keep_time
                && let Some(local) = at.and_local_timezone(tz).single()
            {
                payload["t"] = serde_json::json!(local.timestamp());
            }
            client
                .publish(
                    format!("{}/devices/{code}/readings", args.mqtt_topic_prefix),
                    QoS::AtLeastOnce,
                    false,
                    payload.to_string(),
                )
                .await
                .map_err(|err| anyhow::format_err!("publish: {err}"))?;
        }
        if hour % 24 == 0 {
            println!("{at}: {} stations", readings.len());
        }
    }
    let mut eventloop = tokio::time::timeout(Duration::from_secs(60), poller)
        .await
        .context("the broker did not acknowledge every reading")???;
    let _ = client.try_disconnect();
    let _ = tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await;
    println!(
        "published {total} readings of {} stations over {hours} hours",
        stations.len()
    );
    Ok(ExitCode::SUCCESS)
}
