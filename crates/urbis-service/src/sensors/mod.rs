//! Perception (物联感知, issue 17): the device registry, MQTT ingestion, rules and alarms.
//!
//! Runtime shape: one MQTT task (`mqtt`) feeds one ingest task (`ingest`) that owns every
//! device's rule [`Track`](urbis_domain::sensor::Track); the ingest task takes the messages that
//! are waiting, stores their readings with multi-row inserts, dead letters and alarm changes in
//! one transaction, and only then acknowledges the messages to the broker (QoS 1, persistent
//! session), so a reading is never acknowledged before it is durable. Registry and rule changes
//! bump a generation counter; the ingest task reloads its devices before its next batch.
//! Alarms (`alarms`) go to the grid's supervisor for verification (核实); a confirmed alarm
//! becomes a case on the `sensor` channel through intake, naming the device's asset.

pub mod alarms;
pub mod ingest;
pub mod mqtt;
pub mod retention;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use urbis_domain::role::{Actor, Role};
use urbis_domain::sensor::RuleSet;
pub use urbis_storage::sensors::SensorTypeRow;
use urbis_storage::sensors::{self as repo, DeviceRow, NewDevice};
use urbis_storage::sql::JsonText;

use crate::{Result, ServiceError, Services};

/// Shared between the registry (writers) and the ingest task (reader).
pub(crate) struct SensorState {
    /// Bumped by every registry or rule change.
    pub(crate) generation: AtomicU64,
    pub(crate) counters: Arc<ingest::Counters>,
    /// Codes of the devices a committed batch changed (latest value or state).
    pub(crate) changes: tokio::sync::broadcast::Sender<Arc<Vec<String>>>,
}

impl Default for SensorState {
    fn default() -> SensorState {
        SensorState {
            generation: AtomicU64::new(0),
            counters: Arc::default(),
            changes: tokio::sync::broadcast::channel(256).0,
        }
    }
}

/// The settings key holding NGSI-LD subscriptions (a JSON array).
const SUBSCRIPTIONS_KEY: &str = "ngsild_subscriptions";
/// Subscriptions at most, and bytes of their stored JSON.
pub const SUBSCRIPTIONS_MAX: usize = 100;
pub const SUBSCRIPTIONS_BYTES_MAX: usize = 256 * 1024;

/// Bounds on registry input.
pub mod limits {
    pub const CODE_MAX_CHARS: usize = 64;
    pub const NAME_MAX_CHARS: usize = 100;
    pub const UNIT_MAX_CHARS: usize = 16;
    pub const IMPORT_ROWS_MAX: usize = 100_000;
    pub const LIST_MAX: i64 = 10_000;
    pub const READINGS_MAX: i64 = 10_000;
}

/// Rules as they travel in JSON (API, store).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RulesDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<f64>,
    #[serde(default)]
    pub hysteresis: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rate_per_min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band_low: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band_high: Option<f64>,
    #[serde(default)]
    pub band_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence_secs: Option<i64>,
}

impl RulesDoc {
    /// The domain's rule set.
    pub fn to_rules(&self) -> RuleSet {
        RuleSet {
            high: self.high,
            low: self.low,
            hysteresis: self.hysteresis,
            max_rate_per_min: self.max_rate_per_min,
            band_low: self.band_low,
            band_high: self.band_high,
            band_count: self.band_count,
            silence_secs: self.silence_secs,
        }
    }

    fn checked(&self) -> Result<JsonText> {
        self.to_rules()
            .validate()
            .map_err(|m| ServiceError::invalid("invalid_rules", m))?;
        Ok(JsonText(
            serde_json::to_string(self).map_err(|_| ServiceError::internal())?,
        ))
    }

    /// Reads stored rules; damaged text reads as no rules (logged).
    pub fn from_stored(text: &str) -> RulesDoc {
        serde_json::from_str(text).unwrap_or_else(|err| {
            tracing::error!(error = %err, "stored sensor rules unreadable");
            RulesDoc::default()
        })
    }
}

/// A device type to define.
#[derive(Debug, Clone)]
pub struct TypeInput {
    pub code: String,
    pub name: String,
    pub unit: String,
    pub category_id: Option<i64>,
    pub rules: RulesDoc,
}

/// A device to register (API or one CSV row).
#[derive(Debug, Clone, Default)]
pub struct DeviceInput {
    pub code: String,
    pub type_code: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    /// The 16-digit id of the city asset the device watches.
    pub asset_id: Option<String>,
    /// The code of its unit grid (or any area); without it the area is located from lat/lon.
    pub area_code: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct DeviceImport {
    pub created: usize,
    pub updated: usize,
    /// "row N: reason" for every refused row.
    pub problems: Vec<String>,
}

/// A device with its effective rules.
#[derive(Debug, Clone)]
pub struct DeviceView {
    pub device: DeviceRow,
    /// The device's own rules when set, else its type's.
    pub rules: RulesDoc,
    pub rules_overridden: bool,
}

impl DeviceView {
    fn of(device: DeviceRow) -> DeviceView {
        let own = device.rules.as_ref().map(|r| RulesDoc::from_stored(r));
        DeviceView {
            rules_overridden: own.is_some(),
            rules: own.unwrap_or_else(|| RulesDoc::from_stored(&device.type_rules)),
            device,
        }
    }
}

pub(crate) use crate::auth::require_role as require;

/// Fails unless the actor may read the registry, readings and alarms.
pub fn require_sensor_reader(actor: &Actor) -> Result<()> {
    require(actor, &READERS)
}

/// Staff who may read the registry and readings (every role but residents).
pub(crate) const READERS: [Role; 8] = [
    Role::Admin,
    Role::Operator,
    Role::ShiftLead,
    Role::Dispatcher,
    Role::DeptHandler,
    Role::GridSupervisor,
    Role::Leader,
    Role::DataOfficer,
];

fn text(field: &'static str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(ServiceError::invalid(
            "invalid_device",
            format!("{field} must be 1–{max} characters"),
        ));
    }
    Ok(value.to_owned())
}

fn code(field: &'static str, value: &str) -> Result<String> {
    let value = text(field, value, limits::CODE_MAX_CHARS)?;
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(ServiceError::invalid(
            "invalid_device",
            format!("{field} may hold only letters, digits, '-', '_' and '.'"),
        ));
    }
    Ok(value)
}

impl Services {
    fn sensors_changed(&self) {
        self.inner.sensors.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Defines or redefines a device type and its default rules (admin, audited).
    pub async fn put_sensor_type(&self, actor: &Actor, input: &TypeInput) -> Result<SensorTypeRow> {
        require(actor, &[Role::Admin])?;
        let row = SensorTypeRow {
            code: code("code", &input.code)?,
            name: text("name", &input.name, limits::NAME_MAX_CHARS)?,
            unit: text("unit", &input.unit, limits::UNIT_MAX_CHARS)?,
            category_id: input.category_id,
            rules: input.rules.checked()?,
            updated_at: self.now(),
        };
        let mut tx = self.db().begin_write().await?;
        if let Some(category) = row.category_id {
            let known = urbis_storage::reference::list_categories(&mut tx)
                .await?
                .iter()
                .any(|c| c.id == category);
            if !known {
                return Err(ServiceError::invalid(
                    "unknown_category",
                    "no such category",
                ));
            }
        }
        let before = repo::get_type(&mut tx, &row.code).await?;
        repo::upsert_type(&mut tx, &row).await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            "sensor_type_set",
            "sensor_type",
            0,
            "",
            "",
            &serde_json::json!({
                "code": row.code, "unit": row.unit, "category_id": row.category_id,
                "rules": serde_json::from_str::<serde_json::Value>(&row.rules).unwrap_or_default(),
                "previous_rules": before.map(|b| serde_json::from_str::<serde_json::Value>(&b.rules).unwrap_or_default()),
            }),
        )
        .await?;
        tx.commit().await?;
        self.sensors_changed();
        Ok(row)
    }

    /// Returns every device type.
    pub async fn sensor_types(&self, actor: &Actor) -> Result<Vec<SensorTypeRow>> {
        require(actor, &READERS)?;
        let mut conn = self.db().read().await?;
        Ok(repo::list_types(&mut conn).await?)
    }

    /// Registers devices (or updates those with the same code), each row on its own: bad rows are
    /// reported and the rest stored, in one audited transaction (admin).
    pub async fn import_devices(
        &self,
        actor: &Actor,
        rows: &[DeviceInput],
    ) -> Result<DeviceImport> {
        require(actor, &[Role::Admin])?;
        if rows.len() > limits::IMPORT_ROWS_MAX {
            return Err(ServiceError::invalid(
                "too_many_rows",
                format!("at most {} devices per import", limits::IMPORT_ROWS_MAX),
            ));
        }
        let mut report = DeviceImport::default();
        let mut checked = Vec::with_capacity(rows.len());
        {
            let mut conn = self.db().read().await?;
            // Device types looked up once each, not once per row.
            let mut known_types: HashMap<String, bool> = HashMap::new();
            for (index, row) in rows.iter().enumerate() {
                match self.check_device(&mut conn, &mut known_types, row).await {
                    Ok(ok) => checked.push(ok),
                    Err(err) => report
                        .problems
                        .push(format!("row {}: {}", index + 1, err.message)),
                }
            }
        }
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let mut ids = Vec::new();
        for (row, area_id) in &checked {
            let (id, created) = repo::upsert_device(
                &mut tx,
                &NewDevice {
                    code: &row.code,
                    type_code: &row.type_code,
                    name: &row.name,
                    lat: row.lat,
                    lon: row.lon,
                    asset_id: row.asset_id.as_deref(),
                    area_id: *area_id,
                },
                now,
            )
            .await?;
            ids.push(id);
            if created {
                report.created += 1;
            } else {
                report.updated += 1;
            }
        }
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "sensor_devices_imported",
            "sensor_device",
            ids.first().copied().unwrap_or(0),
            "",
            "",
            &serde_json::json!({
                "created": report.created, "updated": report.updated,
                "codes": checked.iter().map(|(r, _)| r.code.as_str()).take(1000).collect::<Vec<_>>(),
                "problems": report.problems.len(),
            }),
        )
        .await?;
        tx.commit().await?;
        self.sensors_changed();
        Ok(report)
    }

    async fn check_device(
        &self,
        conn: &mut urbis_storage::Conn,
        known_types: &mut HashMap<String, bool>,
        row: &DeviceInput,
    ) -> Result<(DeviceInput, Option<i64>)> {
        let mut out = DeviceInput {
            code: code("code", &row.code)?,
            type_code: code("type", &row.type_code)?,
            name: text("name", &row.name, limits::NAME_MAX_CHARS)?,
            lat: row.lat,
            lon: row.lon,
            asset_id: None,
            area_code: None,
        };
        if !(-90.0..=90.0).contains(&row.lat) || !(-180.0..=180.0).contains(&row.lon) {
            return Err(ServiceError::invalid(
                "invalid_device",
                "lat/lon out of range",
            ));
        }
        let known = match known_types.get(&out.type_code) {
            Some(known) => *known,
            None => {
                let known = repo::get_type(conn, &out.type_code).await?.is_some();
                known_types.insert(out.type_code.clone(), known);
                known
            }
        };
        if !known {
            return Err(ServiceError::invalid(
                "unknown_sensor_type",
                format!("no device type {}", out.type_code),
            ));
        }
        if let Some(asset) = row
            .asset_id
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            if asset.len() != 16 || !asset.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ServiceError::invalid(
                    "invalid_asset",
                    "asset id must be 16 digits",
                ));
            }
            if urbis_storage::geo::get_asset(conn, asset).await.is_err() {
                return Err(ServiceError::invalid(
                    "unknown_asset",
                    format!("no asset {asset}"),
                ));
            }
            out.asset_id = Some(asset.to_owned());
        }
        let area = match row
            .area_code
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            Some(code) => Some(
                urbis_storage::reference::find_area_by_code(conn, code)
                    .await?
                    .ok_or_else(|| {
                        ServiceError::invalid("unknown_area", format!("no area {code}"))
                    })?
                    .id,
            ),
            None => self.locate_area_id(out.lat, out.lon).await?,
        };
        Ok((out, area))
    }

    /// Sets (or with `None` removes) a device's own rules (admin, audited).
    pub async fn set_device_rules(
        &self,
        actor: &Actor,
        code: &str,
        rules: Option<&RulesDoc>,
    ) -> Result<DeviceView> {
        require(actor, &[Role::Admin])?;
        let stored = rules.map(RulesDoc::checked).transpose()?;
        let mut tx = self.db().begin_write().await?;
        let device = repo::find_device(&mut tx, code)
            .await?
            .ok_or_else(|| ServiceError::not_found("device"))?;
        repo::set_device_rules(&mut tx, device.id, stored.clone(), self.now()).await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            "sensor_rules_set",
            "sensor_device",
            device.id,
            "",
            "",
            &serde_json::json!({
                "code": device.code,
                "rules": stored.as_ref().map(|r| serde_json::from_str::<serde_json::Value>(r).unwrap_or_default()),
                "previous_rules": device.rules.as_ref().map(|r| serde_json::from_str::<serde_json::Value>(r).unwrap_or_default()),
            }),
        )
        .await?;
        let device = repo::get_device(&mut tx, device.id).await?;
        tx.commit().await?;
        self.sensors_changed();
        Ok(DeviceView::of(device))
    }

    /// Returns a device by its code.
    pub async fn device(&self, actor: &Actor, code: &str) -> Result<DeviceView> {
        require(actor, &READERS)?;
        let mut conn = self.db().read().await?;
        repo::find_device(&mut conn, code)
            .await?
            .map(DeviceView::of)
            .ok_or_else(|| ServiceError::not_found("device"))
    }

    /// Returns devices (optionally of one type).
    pub async fn devices(
        &self,
        actor: &Actor,
        type_code: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DeviceView>> {
        require(actor, &READERS)?;
        let mut conn = self.db().read().await?;
        Ok(
            repo::list_devices(&mut conn, type_code, limit.clamp(1, limits::LIST_MAX))
                .await?
                .into_iter()
                .map(DeviceView::of)
                .collect(),
        )
    }

    /// Returns a device's readings in `[from, to)`, oldest first (at most the newest `limit`).
    pub async fn device_readings(
        &self,
        actor: &Actor,
        code: &str,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> Result<Vec<(chrono::DateTime<chrono::Utc>, f64)>> {
        require(actor, &READERS)?;
        let mut conn = self.db().read().await?;
        let device = repo::find_device(&mut conn, code)
            .await?
            .ok_or_else(|| ServiceError::not_found("device"))?;
        Ok(repo::readings(
            &mut conn,
            device.id,
            from,
            to,
            limit.clamp(1, limits::READINGS_MAX),
        )
        .await?)
    }

    /// Returns the newest dead letters (admin).
    pub async fn dead_letters(
        &self,
        actor: &Actor,
        limit: i64,
    ) -> Result<Vec<repo::DeadLetterRow>> {
        require(actor, &[Role::Admin])?;
        let mut conn = self.db().read().await?;
        Ok(repo::list_dead_letters(&mut conn, limit.clamp(1, 1000)).await?)
    }

    /// Ingestion counters since start.
    pub fn sensor_counters(&self) -> ingest::CounterSnapshot {
        self.inner.sensors.counters.snapshot()
    }

    /// Turns recording of publish-to-stored latencies on or off (benchmarks).
    pub fn sensor_latency_recording(&self, on: bool) {
        self.inner
            .sensors
            .counters
            .record_latency
            .store(on, Ordering::Relaxed);
    }

    /// Takes the recorded publish-to-stored latencies, in microseconds.
    pub fn sensor_latency_samples(&self) -> Vec<u32> {
        self.inner.sensors.counters.take_latencies()
    }

    /// Receives the codes of devices whose latest value or state changed, after each commit.
    pub fn device_changes(&self) -> tokio::sync::broadcast::Receiver<Arc<Vec<String>>> {
        self.inner.sensors.changes.subscribe()
    }

    /// Returns the stored NGSI-LD subscriptions (a JSON array; `[]` when none).
    pub async fn ngsild_subscriptions(&self) -> Result<serde_json::Value> {
        let mut conn = self.db().read().await?;
        let text = urbis_storage::reference::get_setting(&mut conn, SUBSCRIPTIONS_KEY).await?;
        Ok(text
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_else(|| serde_json::json!([])))
    }

    /// Replaces the stored NGSI-LD subscriptions (admin, audited).
    pub async fn save_ngsild_subscriptions(
        &self,
        actor: &Actor,
        subscriptions: &[serde_json::Value],
        action: &str,
    ) -> Result<()> {
        require(actor, &[Role::Admin])?;
        let text = serde_json::Value::Array(subscriptions.to_vec()).to_string();
        if subscriptions.len() > SUBSCRIPTIONS_MAX || text.len() > SUBSCRIPTIONS_BYTES_MAX {
            return Err(ServiceError::invalid(
                "too_many_subscriptions",
                format!("at most {SUBSCRIPTIONS_MAX} subscriptions"),
            ));
        }
        let mut tx = self.db().begin_write().await?;
        urbis_storage::reference::set_setting(&mut tx, SUBSCRIPTIONS_KEY, &text).await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            action,
            "ngsild_subscription",
            0,
            "",
            "",
            &serde_json::json!({ "count": subscriptions.len() }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts stored readings.
    pub async fn count_sensor_readings(&self) -> Result<i64> {
        let mut conn = self.db().read().await?;
        Ok(repo::count_readings(&mut conn).await?)
    }
}
