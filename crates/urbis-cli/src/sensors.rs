//! Sensors from the command line: the MQTT options of `urbis serve`, `urbis import devices`, and
//! `urbis sensors replay` (the Beijing air-quality stations published over MQTT).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use urbis_service::Services;
use urbis_service::sensors::DeviceInput;
use urbis_service::sensors::mqtt::{MqttConfig, SensorIngest};

use crate::import::{open_services, read_table};
use crate::mapdata::ImportMapTableArgs;

/// MQTT ingestion of `urbis serve` (off unless `--mqtt-url` is given).
#[derive(Args, Clone, Debug, Default)]
pub struct MqttArgs {
    /// The broker, `mqtt://HOST:PORT` (e.g. mqtt://127.0.0.1:1883). Without it no subscriber runs.
    #[arg(long, env = "URBIS_MQTT_URL")]
    pub mqtt_url: Option<String>,
    /// The session's client id: fixed per installation, so the broker keeps readings published
    /// while Urbis is down and delivers them after a restart.
    #[arg(long, env = "URBIS_MQTT_CLIENT_ID", default_value = "urbis")]
    pub mqtt_client_id: String,
    /// Topic prefix: devices publish to `<prefix>/devices/<device-code>/readings`.
    #[arg(long, env = "URBIS_MQTT_TOPIC_PREFIX", default_value = "urbis/city")]
    pub mqtt_topic_prefix: String,
    /// Minutes a grid supervisor has to verify an alarm.
    #[arg(long, env = "URBIS_SENSOR_VERIFY_MINUTES", default_value_t = 30)]
    pub sensor_verify_minutes: i64,
    /// Seconds between silence checks.
    #[arg(long, env = "URBIS_SENSOR_TICK_SECS", default_value_t = 10)]
    pub sensor_tick_secs: u64,
    /// Days raw readings are kept; older ones are folded into hourly aggregates (checked hourly).
    #[arg(long, env = "URBIS_SENSOR_RAW_DAYS", default_value_t = 30)]
    pub sensor_raw_days: i64,
}

/// Parses `mqtt://host:port` (port 1883 when omitted).
pub fn parse_mqtt_url(url: &str) -> anyhow::Result<(String, u16)> {
    let rest = url
        .strip_prefix("mqtt://")
        .or_else(|| url.strip_prefix("tcp://"))
        .ok_or_else(|| anyhow::format_err!("MQTT URL must start with mqtt://: {url}"))?;
    let rest = rest.trim_end_matches('/');
    match rest.rsplit_once(':') {
        Some((host, port)) => Ok((
            host.to_owned(),
            port.parse()
                .with_context(|| format!("bad port in MQTT URL {url}"))?,
        )),
        None => Ok((rest.to_owned(), 1883)),
    }
}

impl MqttArgs {
    /// The subscriber's configuration, if one is configured.
    pub fn config(&self) -> anyhow::Result<Option<MqttConfig>> {
        let Some(url) = &self.mqtt_url else {
            return Ok(None);
        };
        let (host, port) = parse_mqtt_url(url)?;
        let mut config = MqttConfig::local(&self.mqtt_client_id, &self.mqtt_topic_prefix);
        config.host = host;
        config.port = port;
        config.verify_minutes = self.sensor_verify_minutes.clamp(1, 7 * 24 * 60);
        config.tick = Duration::from_secs(self.sensor_tick_secs.clamp(1, 3600));
        config.raw_days = self.sensor_raw_days.clamp(1, 3650);
        Ok(Some(config))
    }
}

/// Starts the subscriber when configured.
pub async fn start(services: &Services, args: &MqttArgs) -> anyhow::Result<Option<SensorIngest>> {
    let Some(config) = args.config()? else {
        return Ok(None);
    };
    println!(
        "sensor ingestion: mqtt://{}:{} topics {}/devices/+/readings as client {}",
        config.host, config.port, config.topic_prefix, config.client_id
    );
    let ingest = services
        .start_sensor_ingest(config)
        .await
        .map_err(|err| anyhow::format_err!("failed to start sensor ingestion: {err}"))?;
    Ok(Some(ingest))
}

/// The trimmed value of the first column with one of the names, or "".
fn cell(header: &[String], row: &[String], names: &[&str]) -> String {
    crate::mapdata::cell(header, row, names).trim().to_owned()
}

/// Imports devices: code, type, name, lon, lat, asset_id (CSV or XLSX).
pub async fn import_devices(args: ImportMapTableArgs) -> anyhow::Result<ExitCode> {
    let (header, rows) = read_table(&args.file)
        .with_context(|| format!("failed to read {}", args.file.display()))?;
    let number = |text: String| text.parse::<f64>().unwrap_or(f64::NAN);
    let inputs: Vec<DeviceInput> = rows
        .iter()
        .map(|row| DeviceInput {
            code: cell(&header, row, &["code", "id", "device", "设备编号"]),
            type_code: cell(&header, row, &["type", "设备类型"]),
            name: cell(&header, row, &["name", "名称"]),
            lon: number(cell(&header, row, &["lon", "lng", "经度"])),
            lat: number(cell(&header, row, &["lat", "纬度"])),
            asset_id: Some(cell(&header, row, &["asset_id", "asset", "部件标识码"]))
                .filter(|a| !a.is_empty()),
            area_code: Some(cell(&header, row, &["area_code", "grid", "网格编码"]))
                .filter(|a| !a.is_empty()),
        })
        .collect();
    let services = open_services(&args.db).await?;
    let actor = services
        .actor_by_username(&args.user)
        .await
        .map_err(|err| anyhow::format_err!("user {}: {err}", args.user))?;
    let result = services.import_devices(&actor, &inputs).await;
    services.db().close().await;
    let report = result.map_err(|err| anyhow::format_err!("{err}"))?;
    for problem in &report.problems {
        println!("{problem}");
    }
    println!(
        "{} devices created, {} updated, {} bad rows",
        report.created,
        report.updated,
        report.problems.len()
    );
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
