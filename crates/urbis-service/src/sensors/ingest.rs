//! The ingest task: parses MQTT messages (JSON or SenML), checks them against the registry,
//! runs each device's rules, and stores one batch — readings (multi-row inserts), latest values,
//! dead letters and alarm changes — in one transaction. A message that cannot be taken becomes a
//! dead letter with its reason; nothing a message says stops ingestion.
//!
//! Topic scheme: `<prefix>/devices/<device-code>/readings`. Payloads:
//! - JSON: `{"v": 12.5, "u": "cm", "t": 1700000000.5}` (`value`/`unit`/`ts` also accepted; `t`
//!   in seconds since the epoch or RFC 3339; without it the time of arrival);
//! - SenML (RFC 8428) array: `[{"bt": 1700000000, "bu": "cm", "v": 12.5}, {"t": 60, "v": 12.7}]`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::Value;
use urbis_domain::sensor::{RuleKind, RuleSet, Track, Transition};
use urbis_storage::sensors::{self as repo, DeadLetterRow, DeviceLast, NewReading};

use super::RulesDoc;
use crate::{Result, Services};

/// Records per SenML pack.
pub const RECORDS_MAX: usize = 1_000;
/// Bytes of a message kept in its dead letter.
const DEAD_PAYLOAD_BYTES: usize = 1_024;
/// Latency samples kept for the benchmark.
const LATENCY_SAMPLES_MAX: usize = 1_000_000;

/// What ingestion counted since start.
#[derive(Default)]
pub struct Counters {
    pub messages: AtomicU64,
    pub readings: AtomicU64,
    pub dead_letters: AtomicU64,
    pub batches: AtomicU64,
    pub alarms: AtomicU64,
    pub failed_batches: AtomicU64,
    /// Publish-to-stored latencies in microseconds (reading time to commit), when recorded.
    latencies: Mutex<Vec<u32>>,
    pub record_latency: std::sync::atomic::AtomicBool,
}

/// A copy of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    pub messages: u64,
    pub readings: u64,
    pub dead_letters: u64,
    pub batches: u64,
    pub alarms: u64,
    pub failed_batches: u64,
}

impl Counters {
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            messages: self.messages.load(Ordering::Relaxed),
            readings: self.readings.load(Ordering::Relaxed),
            dead_letters: self.dead_letters.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            alarms: self.alarms.load(Ordering::Relaxed),
            failed_batches: self.failed_batches.load(Ordering::Relaxed),
        }
    }

    /// Takes the recorded latencies (microseconds).
    pub fn take_latencies(&self) -> Vec<u32> {
        match self.latencies.lock() {
            Ok(mut l) => std::mem::take(&mut *l),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }
}

/// Why a message became a dead letter.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub reason: &'static str,
    pub detail: String,
}

fn reject(reason: &'static str, detail: impl Into<String>) -> Rejection {
    Rejection {
        reason,
        detail: detail.into(),
    }
}

/// One reading as a message states it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub at: DateTime<Utc>,
    pub value: f64,
    pub unit: Option<String>,
}

/// Returns the device code of a topic `<prefix>/devices/<code>/readings`.
pub fn device_of_topic<'t>(prefix: &str, topic: &'t str) -> Option<&'t str> {
    let rest = topic.strip_prefix(prefix)?.strip_prefix("/devices/")?;
    let code = rest.strip_suffix("/readings")?;
    (!code.is_empty() && !code.contains('/')).then_some(code)
}

fn number(value: &Value, field: &str) -> std::result::Result<Option<f64>, Rejection> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_f64() {
            Some(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(reject(
                "not_a_number",
                format!("{field} is not a finite number"),
            )),
        },
        // Some devices send numbers as text, and "NaN" for a failed measurement.
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            Ok(_) => Err(reject("not_a_number", format!("{field} is {s}"))),
            Err(_) => Err(reject("invalid_value", format!("{field} is not a number"))),
        },
        _ => Err(reject("invalid_value", format!("{field} is not a number"))),
    }
}

fn time_of(
    value: &Value,
    now: DateTime<Utc>,
) -> std::result::Result<Option<DateTime<Utc>>, Rejection> {
    let at = match value {
        Value::Null => return Ok(None),
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| reject("bad_time", "time is not RFC 3339"))?,
        other => {
            let secs = number(other, "t")?.unwrap_or(0.0);
            DateTime::from_timestamp_micros((secs * 1e6) as i64)
                .ok_or_else(|| reject("bad_time", "time out of range"))?
        }
    };
    check_time(at, now).map(Some)
}

fn check_time(
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> std::result::Result<DateTime<Utc>, Rejection> {
    // Readings from before 2000 or more than a day ahead are clock faults.
    if at.timestamp() < 946_684_800 || at > now + chrono::Duration::days(1) {
        return Err(reject("bad_time", format!("time {at} out of range")));
    }
    Ok(at)
}

fn field<'v>(object: &'v serde_json::Map<String, Value>, names: &[&str]) -> &'v Value {
    names
        .iter()
        .find_map(|n| object.get(*n))
        .unwrap_or(&Value::Null)
}

fn unit_of(value: &Value) -> std::result::Result<Option<String>, Rejection> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.len() <= 32 => Ok(Some(s.clone())),
        _ => Err(reject("invalid_value", "unit is not a short text")),
    }
}

/// Parses a payload into its readings (`now`: time of arrival, for readings without a time).
pub fn parse_payload(
    payload: &[u8],
    max_bytes: usize,
    now: DateTime<Utc>,
) -> std::result::Result<Vec<Record>, Rejection> {
    if payload.len() > max_bytes {
        return Err(reject(
            "oversize",
            format!("{} bytes, at most {max_bytes}", payload.len()),
        ));
    }
    let doc: Value = match serde_json::from_slice(payload) {
        Ok(doc) => doc,
        Err(err) => {
            let text = String::from_utf8_lossy(payload);
            // JSON has no NaN; devices that print one send an invalid document.
            let nan = ["NaN", "Infinity"].iter().any(|w| text.contains(w));
            return Err(if nan {
                reject("not_a_number", "the value is NaN or infinite")
            } else {
                reject("invalid_json", err.to_string())
            });
        }
    };
    match doc {
        Value::Object(object) => {
            let value = number(field(&object, &["v", "value"]), "v")?
                .ok_or_else(|| reject("invalid_value", "no value"))?;
            let at = time_of(field(&object, &["t", "ts"]), now)?.unwrap_or(now);
            let unit = unit_of(field(&object, &["u", "unit"]))?;
            Ok(vec![Record { at, value, unit }])
        }
        Value::Array(records) => {
            if records.is_empty() || records.len() > RECORDS_MAX {
                return Err(reject(
                    "invalid_senml",
                    format!("a pack holds 1–{RECORDS_MAX} records"),
                ));
            }
            let mut base_time = None;
            let mut base_unit = None;
            let mut out = Vec::with_capacity(records.len());
            for record in &records {
                let Value::Object(record) = record else {
                    return Err(reject("invalid_senml", "a record is not an object"));
                };
                if let Some(bt) = number(field(record, &["bt"]), "bt")? {
                    base_time = Some(bt);
                }
                if let Some(bu) = unit_of(field(record, &["bu"]))? {
                    base_unit = Some(bu);
                }
                let value = number(field(record, &["v"]), "v")?
                    .ok_or_else(|| reject("invalid_value", "a record has no value"))?;
                let offset = number(field(record, &["t"]), "t")?;
                let at = match (base_time, offset) {
                    (None, None) => now,
                    (bt, t) => {
                        let secs = bt.unwrap_or(0.0) + t.unwrap_or(0.0);
                        let at = DateTime::from_timestamp_micros((secs * 1e6) as i64)
                            .ok_or_else(|| reject("bad_time", "time out of range"))?;
                        check_time(at, now)?
                    }
                };
                let unit = unit_of(field(record, &["u"]))?.or_else(|| base_unit.clone());
                out.push(Record { at, value, unit });
            }
            Ok(out)
        }
        _ => Err(reject(
            "invalid_json",
            "neither an object nor a SenML array",
        )),
    }
}

/// What ingestion settles per message.
pub struct Inbound {
    pub topic: String,
    pub payload: Vec<u8>,
    pub received_at: DateTime<Utc>,
}

/// A device as the ingest task sees it.
struct Device {
    id: i64,
    unit: String,
    rules: RuleSet,
    track: Track,
    area: Option<(i64, String)>,
}

/// The ingest task's state: every device's rules and track.
pub(crate) struct Engine {
    services: Services,
    prefix: String,
    max_bytes: usize,
    verify_minutes: i64,
    generation: u64,
    devices: HashMap<String, Device>,
    /// Codes found unknown, and until when they are taken as unknown without a look.
    unknown: HashMap<String, std::time::Instant>,
}

/// How long an unknown device code is dead-lettered without reading the registry again.
const UNKNOWN_FOR: std::time::Duration = std::time::Duration::from_secs(2);
const UNKNOWN_KEPT_MAX: usize = 10_000;

/// One alarm change of a batch.
pub(crate) struct Change {
    pub(crate) device_id: i64,
    pub(crate) area: Option<(i64, String)>,
    pub(crate) kind: RuleKind,
    pub(crate) transition: Transition,
    pub(crate) value: Option<f64>,
    pub(crate) at: DateTime<Utc>,
}

impl Engine {
    pub(crate) async fn new(
        services: Services,
        prefix: String,
        max_bytes: usize,
        verify_minutes: i64,
    ) -> Result<Engine> {
        let mut engine = Engine {
            services,
            prefix,
            max_bytes,
            verify_minutes,
            generation: u64::MAX,
            devices: HashMap::new(),
            unknown: HashMap::new(),
        };
        engine.reload().await?;
        Ok(engine)
    }

    pub(crate) fn services(&self) -> &Services {
        &self.services
    }

    /// Loads the registry; tracks of known devices keep their counts, new ones start from the
    /// stored last reading and active alarms.
    async fn reload(&mut self) -> Result<()> {
        let generation = self
            .services
            .inner
            .sensors
            .generation
            .load(Ordering::SeqCst);
        let mut conn = self.services.db().read().await?;
        let rows = repo::list_devices(&mut conn, None, i64::MAX).await?;
        let mut active: HashMap<i64, Vec<RuleKind>> = HashMap::new();
        for (device, rule) in repo::active_rules(&mut conn).await? {
            if let Some(kind) = RuleKind::parse(&rule) {
                active.entry(device).or_default().push(kind);
            }
        }
        drop(conn);
        let mut devices = HashMap::with_capacity(rows.len());
        for row in rows {
            let doc = match &row.rules {
                Some(own) => RulesDoc::from_stored(own),
                None => RulesDoc::from_stored(&row.type_rules),
            };
            let track = match self.devices.remove(&row.code) {
                Some(old) if old.id == row.id => old.track,
                _ => Track::new(
                    row.last_at.zip(row.last_value).map(|(at, v)| (secs(at), v)),
                    active.get(&row.id).map(Vec::as_slice).unwrap_or(&[]),
                ),
            };
            devices.insert(
                row.code.clone(),
                Device {
                    id: row.id,
                    unit: row.unit,
                    rules: doc.to_rules(),
                    track,
                    area: row.area_id.zip(row.area_path),
                },
            );
        }
        self.devices = devices;
        self.generation = generation;
        Ok(())
    }

    async fn reload_if_changed(&mut self) -> Result<()> {
        if self
            .services
            .inner
            .sensors
            .generation
            .load(Ordering::SeqCst)
            != self.generation
        {
            self.reload().await?;
        }
        Ok(())
    }

    /// Stores one batch. On failure the tracks are reloaded from the store, so a retry of the
    /// same batch starts from what was committed.
    pub(crate) async fn process(&mut self, batch: &[Inbound]) -> Result<()> {
        self.reload_if_changed().await?;
        // Devices registered by another process (`urbis import devices`, a second server) are
        // unknown here until the registry is read again: once per new unknown code, then that
        // code is taken as unknown for a few seconds.
        let now_instant = std::time::Instant::now();
        let fresh: Vec<String> = batch
            .iter()
            .filter_map(|m| device_of_topic(&self.prefix, &m.topic))
            .filter(|c| !self.devices.contains_key(*c))
            .filter(|c| {
                self.unknown
                    .get(*c)
                    .is_none_or(|until| *until <= now_instant)
            })
            .map(str::to_owned)
            .collect();
        if !fresh.is_empty() {
            self.reload().await?;
            if self.unknown.len() > UNKNOWN_KEPT_MAX {
                self.unknown.clear();
            }
            for code in fresh {
                if !self.devices.contains_key(&code) {
                    self.unknown.insert(code, now_instant + UNKNOWN_FOR);
                }
            }
        }

        let now = self.services.now();
        let mut readings = Vec::new();
        let mut lasts: HashMap<i64, DeviceLast> = HashMap::new();
        let mut dead = Vec::new();
        let mut changes = Vec::new();
        for message in batch {
            match self.take(message, now, &mut readings, &mut lasts, &mut changes) {
                Ok(()) => {}
                Err(rejection) => dead.push(DeadLetterRow {
                    id: 0,
                    topic: message.topic.chars().take(256).collect(),
                    reason: rejection.reason.to_owned(),
                    detail: rejection.detail.chars().take(500).collect(),
                    payload: String::from_utf8_lossy(
                        &message.payload[..message.payload.len().min(DEAD_PAYLOAD_BYTES)],
                    )
                    .into_owned(),
                    size_bytes: message.payload.len() as i64,
                    received_at: message.received_at,
                }),
            }
        }
        let result = self.commit(&readings, &lasts, &dead, &changes, now).await;
        if result.is_ok() && !lasts.is_empty() {
            let codes: Vec<String> = self
                .devices
                .iter()
                .filter(|(_, d)| lasts.contains_key(&d.id))
                .map(|(code, _)| code.clone())
                .collect();
            let _ = self.services.inner.sensors.changes.send(Arc::new(codes));
        }
        let counters = &self.services.inner.sensors.counters;
        if let Err(err) = result {
            counters.failed_batches.fetch_add(1, Ordering::Relaxed);
            self.generation = u64::MAX;
            return Err(err);
        }
        counters
            .messages
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        counters
            .readings
            .fetch_add(readings.len() as u64, Ordering::Relaxed);
        counters
            .dead_letters
            .fetch_add(dead.len() as u64, Ordering::Relaxed);
        counters.batches.fetch_add(1, Ordering::Relaxed);
        for letter in &dead {
            metrics::counter!("urbis_sensor_dead_letters_total", "reason" => letter.reason.clone())
                .increment(1);
            tracing::warn!(topic = %letter.topic, reason = %letter.reason, detail = %letter.detail, "sensor message dead-lettered");
        }
        metrics::counter!("urbis_sensor_readings_total").increment(readings.len() as u64);
        if counters.record_latency.load(Ordering::Relaxed) {
            let stored = Utc::now();
            if let Ok(mut samples) = counters.latencies.lock() {
                for r in &readings {
                    if samples.len() < LATENCY_SAMPLES_MAX {
                        let micros = (stored - r.at).num_microseconds().unwrap_or(0);
                        samples.push(micros.clamp(0, i64::from(u32::MAX)) as u32);
                    }
                }
            }
        }
        Ok(())
    }

    fn take(
        &mut self,
        message: &Inbound,
        now: DateTime<Utc>,
        readings: &mut Vec<NewReading>,
        lasts: &mut HashMap<i64, DeviceLast>,
        changes: &mut Vec<Change>,
    ) -> std::result::Result<(), Rejection> {
        let code = device_of_topic(&self.prefix, &message.topic)
            .ok_or_else(|| reject("bad_topic", "topic is not <prefix>/devices/<id>/readings"))?;
        let records = parse_payload(
            &message.payload,
            self.max_bytes,
            message.received_at.max(now),
        )?;
        let device = self
            .devices
            .get_mut(code)
            .ok_or_else(|| reject("unknown_device", format!("no device {code}")))?;
        if let Some(unit) = records
            .iter()
            .filter_map(|r| r.unit.as_deref())
            .find(|u| *u != device.unit)
        {
            return Err(reject(
                "wrong_unit",
                format!("unit {unit}, device {code} measures in {}", device.unit),
            ));
        }
        for record in records {
            for transition in device
                .track
                .reading(&device.rules, secs(record.at), record.value)
            {
                changes.push(Change {
                    device_id: device.id,
                    area: device.area.clone(),
                    kind: match &transition {
                        Transition::Raise(k, _) | Transition::Clear(k) => *k,
                    },
                    transition,
                    value: Some(record.value),
                    at: record.at,
                });
            }
            readings.push(NewReading {
                device_id: device.id,
                at: record.at,
                value: record.value,
            });
            let newer = lasts
                .get(&device.id)
                .is_none_or(|last| last.at <= record.at);
            if newer {
                lasts.insert(
                    device.id,
                    DeviceLast {
                        device_id: device.id,
                        value: record.value,
                        at: record.at,
                        state: "online",
                    },
                );
            }
        }
        if let Some(last) = lasts.get_mut(&device.id) {
            last.state = state_of(&device.track);
        }
        Ok(())
    }

    /// Checks every device for silence at the services' clock and stores what it raised.
    pub(crate) async fn tick(&mut self) -> Result<usize> {
        self.reload_if_changed().await?;
        let now = self.services.now();
        let mut changes = Vec::new();
        for device in self.devices.values_mut() {
            for transition in device.track.tick(&device.rules, secs(now)) {
                changes.push(Change {
                    device_id: device.id,
                    area: device.area.clone(),
                    kind: RuleKind::Silence,
                    transition,
                    value: None,
                    at: now,
                });
            }
        }
        if changes.is_empty() {
            return Ok(0);
        }
        let raised = changes.len();
        if let Err(err) = self.commit(&[], &HashMap::new(), &[], &changes, now).await {
            self.generation = u64::MAX;
            return Err(err);
        }
        let ids: Vec<i64> = changes.iter().map(|c| c.device_id).collect();
        let codes: Vec<String> = self
            .devices
            .iter()
            .filter(|(_, d)| ids.contains(&d.id))
            .map(|(code, _)| code.clone())
            .collect();
        let _ = self.services.inner.sensors.changes.send(Arc::new(codes));
        Ok(raised)
    }

    async fn commit(
        &self,
        readings: &[NewReading],
        lasts: &HashMap<i64, DeviceLast>,
        dead: &[DeadLetterRow],
        changes: &[Change],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.services.db().begin_write().await?;
        repo::insert_readings(&mut tx, readings, now).await?;
        let lasts: Vec<DeviceLast> = lasts.values().cloned().collect();
        repo::update_last(&mut tx, &lasts).await?;
        repo::insert_dead_letters(&mut tx, dead).await?;
        for change in changes {
            super::alarms::apply(&mut tx, change, self.verify_minutes, now).await?;
        }
        // Devices whose state changed without a reading (silence) get it here.
        for change in changes.iter().filter(|c| c.kind == RuleKind::Silence) {
            if let Some(device) = self.devices.values().find(|d| d.id == change.device_id) {
                repo::set_device_state(&mut tx, device.id, state_of(&device.track)).await?;
            }
        }
        tx.commit().await?;
        if !changes.is_empty() {
            let raised = changes
                .iter()
                .filter(|c| matches!(c.transition, Transition::Raise(..)))
                .count();
            self.services
                .inner
                .sensors
                .counters
                .alarms
                .fetch_add(raised as u64, Ordering::Relaxed);
        }
        Ok(())
    }
}

fn state_of(track: &Track) -> &'static str {
    if track.is_active(RuleKind::Silence) {
        "offline"
    } else if track.any_active() {
        "alarm"
    } else {
        "online"
    }
}

fn secs(at: DateTime<Utc>) -> f64 {
    at.timestamp_micros() as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let one = parse_payload(br#"{"v": 12.5, "u": "cm"}"#, 1000, now).unwrap();
        assert_eq!(
            one,
            vec![Record {
                at: now,
                value: 12.5,
                unit: Some("cm".into())
            }]
        );
        let pack = parse_payload(
            br#"[{"bt": 1767225000, "bu": "cm", "v": 1}, {"t": 60, "v": "2.5"}]"#,
            1000,
            now,
        )
        .unwrap();
        assert_eq!(pack.len(), 2);
        assert_eq!(pack[1].at.timestamp(), 1767225060);
        assert_eq!(pack[1].unit.as_deref(), Some("cm"));
        for (payload, reason) in [
            (&b"{nope"[..], "invalid_json"),
            (br#"{"v": NaN}"#, "not_a_number"),
            (br#"{"v": "NaN"}"#, "not_a_number"),
            (br#"{"u": "cm"}"#, "invalid_value"),
            (br#"{"v": 1, "t": 10}"#, "bad_time"),
            (br#"[]"#, "invalid_senml"),
            (br#"42"#, "invalid_json"),
        ] {
            assert_eq!(
                parse_payload(payload, 1000, now).unwrap_err().reason,
                reason,
                "{payload:?}"
            );
        }
        assert_eq!(
            parse_payload(&[b' '; 2000], 1000, now).unwrap_err().reason,
            "oversize"
        );
        assert_eq!(
            device_of_topic("urbis/bj", "urbis/bj/devices/D1/readings"),
            Some("D1")
        );
        assert_eq!(
            device_of_topic("urbis/bj", "urbis/bj/devices/a/b/readings"),
            None
        );
        assert_eq!(
            device_of_topic("urbis/bj", "other/devices/D1/readings"),
            None
        );
    }
}
