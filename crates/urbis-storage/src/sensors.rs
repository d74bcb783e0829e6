//! Sensors (issue 17): device types and their default rules, the device registry, readings in
//! batches (multi-row inserts), the dead letters of ingestion, and alarms with their verification.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql::{self, Builder, JsonText};
use crate::{Conn, Result};

/// A device type with its default rules.
#[derive(Debug, Clone, FromRow)]
pub struct SensorTypeRow {
    pub code: String,
    pub name: String,
    pub unit: String,
    pub category_id: Option<i64>,
    pub rules: JsonText,
    pub updated_at: DateTime<Utc>,
}

/// Inserts or replaces a device type.
pub async fn upsert_type(conn: &mut Conn, row: &SensorTypeRow) -> Result<()> {
    sql::query(
        "INSERT INTO sensor_types (code, name, unit, category_id, rules, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, unit = excluded.unit,
         category_id = excluded.category_id, rules = excluded.rules, updated_at = excluded.updated_at",
    )
    .bind(&row.code)
    .bind(&row.name)
    .bind(&row.unit)
    .bind(row.category_id)
    .bind(&row.rules)
    .bind(row.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Returns a device type.
pub async fn get_type(conn: &mut Conn, code: &str) -> Result<Option<SensorTypeRow>> {
    sql::query(
        "SELECT code, name, unit, category_id, rules, updated_at FROM sensor_types WHERE code = ?",
    )
    .bind(code)
    .fetch_optional(conn)
    .await
}

/// Returns every device type.
pub async fn list_types(conn: &mut Conn) -> Result<Vec<SensorTypeRow>> {
    sql::query(
        "SELECT code, name, unit, category_id, rules, updated_at FROM sensor_types ORDER BY code",
    )
    .fetch_all(conn)
    .await
}

/// A device with its type's unit, category and rules, its own override, and its latest reading.
#[derive(Debug, Clone, FromRow)]
pub struct DeviceRow {
    pub id: i64,
    pub code: String,
    pub type_code: String,
    pub name: String,
    pub unit: String,
    pub category_id: Option<i64>,
    pub lat: f64,
    pub lon: f64,
    pub asset_id: Option<String>,
    pub area_id: Option<i64>,
    pub area_path: Option<String>,
    pub rules: Option<JsonText>,
    pub type_rules: JsonText,
    pub state: String,
    pub last_value: Option<f64>,
    pub last_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

const DEVICE_SELECT: &str = "SELECT d.id, d.code, d.type_code, d.name, t.unit, t.category_id, d.lat, d.lon,
    d.asset_id, d.area_id, a.path AS area_path, d.rules, t.rules AS type_rules, d.state, d.last_value,
    d.last_at, d.updated_at
    FROM sensor_devices d JOIN sensor_types t ON t.code = d.type_code LEFT JOIN areas a ON a.id = d.area_id";

/// What a device is registered with.
#[derive(Debug, Clone)]
pub struct NewDevice<'a> {
    pub code: &'a str,
    pub type_code: &'a str,
    pub name: &'a str,
    pub lat: f64,
    pub lon: f64,
    pub asset_id: Option<&'a str>,
    pub area_id: Option<i64>,
}

/// Registers a device, or updates the one with the same code; returns its id and whether it was new.
pub async fn upsert_device(
    conn: &mut Conn,
    device: &NewDevice<'_>,
    at: DateTime<Utc>,
) -> Result<(i64, bool)> {
    let existing: Option<i64> = sql::query("SELECT id FROM sensor_devices WHERE code = ?")
        .bind(device.code)
        .scalar_optional(conn)
        .await?;
    if let Some(id) = existing {
        sql::query(
            "UPDATE sensor_devices SET type_code = ?, name = ?, lat = ?, lon = ?, asset_id = ?,
             area_id = ?, updated_at = ? WHERE id = ?",
        )
        .bind(device.type_code)
        .bind(device.name)
        .bind(device.lat)
        .bind(device.lon)
        .bind(device.asset_id.map(str::to_owned))
        .bind(device.area_id)
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
        return Ok((id, false));
    }
    let id = sql::query(
        "INSERT INTO sensor_devices (code, type_code, name, lat, lon, asset_id, area_id, state,
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'online', ?, ?) RETURNING id",
    )
    .bind(device.code)
    .bind(device.type_code)
    .bind(device.name)
    .bind(device.lat)
    .bind(device.lon)
    .bind(device.asset_id.map(str::to_owned))
    .bind(device.area_id)
    .bind(at)
    .bind(at)
    .scalar(conn)
    .await?;
    Ok((id, true))
}

/// Returns a device by its id.
pub async fn get_device(conn: &mut Conn, id: i64) -> Result<DeviceRow> {
    sql::query(format!("{DEVICE_SELECT} WHERE d.id = ?"))
        .bind(id)
        .fetch_one(conn)
        .await
}

/// Returns a device by its code.
pub async fn find_device(conn: &mut Conn, code: &str) -> Result<Option<DeviceRow>> {
    sql::query(format!("{DEVICE_SELECT} WHERE d.code = ?"))
        .bind(code)
        .fetch_optional(conn)
        .await
}

/// Returns devices, optionally of one type, in code order.
pub async fn list_devices(
    conn: &mut Conn,
    type_code: Option<&str>,
    limit: i64,
) -> Result<Vec<DeviceRow>> {
    let mut b = Builder::new(DEVICE_SELECT);
    if let Some(t) = type_code {
        b.push(" WHERE d.type_code = ").push_bind(t);
    }
    b.push(" ORDER BY d.code LIMIT ").push_bind(limit);
    b.build().fetch_all(conn).await
}

/// Sets (or clears) a device's own rules.
pub async fn set_device_rules(
    conn: &mut Conn,
    id: i64,
    rules: Option<JsonText>,
    at: DateTime<Utc>,
) -> Result<()> {
    sql::query("UPDATE sensor_devices SET rules = ?, updated_at = ? WHERE id = ?")
        .bind(rules)
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets a device's state.
pub async fn set_device_state(conn: &mut Conn, id: i64, state: &str) -> Result<()> {
    sql::query("UPDATE sensor_devices SET state = ? WHERE id = ?")
        .bind(state)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// One reading to store.
#[derive(Debug, Clone, Copy)]
pub struct NewReading {
    pub device_id: i64,
    pub at: DateTime<Utc>,
    pub value: f64,
}

/// Rows per multi-row insert (4 values each: well within both backends' parameter limits).
const INSERT_CHUNK: usize = 1_000;

/// Stores readings with multi-row inserts.
pub async fn insert_readings(
    conn: &mut Conn,
    readings: &[NewReading],
    received_at: DateTime<Utc>,
) -> Result<()> {
    for chunk in readings.chunks(INSERT_CHUNK) {
        let mut b =
            Builder::new("INSERT INTO sensor_readings (device_id, at, value, received_at) ");
        b.push_values(chunk, |mut row, r| {
            row.push_bind(r.device_id)
                .push_bind(r.at)
                .push_bind(r.value)
                .push_bind(received_at);
        });
        b.build().execute(conn).await?;
    }
    Ok(())
}

/// A device's latest reading and state after a batch.
#[derive(Debug, Clone)]
pub struct DeviceLast {
    pub device_id: i64,
    pub value: f64,
    pub at: DateTime<Utc>,
    pub state: &'static str,
}

/// Sets the latest reading and state of devices, one statement per chunk.
pub async fn update_last(conn: &mut Conn, rows: &[DeviceLast]) -> Result<()> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut b = Builder::new(
            "UPDATE sensor_devices SET last_value = v.column2, last_at = v.column3, state = v.column4 FROM (",
        );
        b.push_values(chunk, |mut row, r| {
            row.push_bind(r.device_id)
                .push_bind(r.value)
                .push_bind(r.at)
                .push_bind(r.state);
        });
        b.push(") AS v WHERE sensor_devices.id = v.column1");
        b.build().execute(conn).await?;
    }
    Ok(())
}

/// Returns a device's readings at `from <= at < to`, oldest first, at most `limit`.
pub async fn readings(
    conn: &mut Conn,
    device_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(DateTime<Utc>, f64)>> {
    sql::query(
        "SELECT at, value FROM sensor_readings WHERE device_id = ? AND at >= ? AND at < ?
         ORDER BY at DESC LIMIT ?",
    )
    .bind(device_id)
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(conn)
    .await
    .map(|mut rows: Vec<(DateTime<Utc>, f64)>| {
        rows.reverse();
        rows
    })
}

/// Counts stored readings (benchmarks, tests).
pub async fn count_readings(conn: &mut Conn) -> Result<i64> {
    sql::query("SELECT COUNT(*) FROM sensor_readings")
        .scalar(conn)
        .await
}

/// A message ingestion could not take.
#[derive(Debug, Clone, FromRow)]
pub struct DeadLetterRow {
    pub id: i64,
    pub topic: String,
    pub reason: String,
    pub detail: String,
    pub payload: String,
    pub size_bytes: i64,
    pub received_at: DateTime<Utc>,
}

/// Stores dead letters (the `id` of each row is ignored).
pub async fn insert_dead_letters(conn: &mut Conn, rows: &[DeadLetterRow]) -> Result<()> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut b = Builder::new(
            "INSERT INTO sensor_dead_letters (topic, reason, detail, payload, size_bytes, received_at) ",
        );
        b.push_values(chunk, |mut row, r| {
            row.push_bind(&r.topic)
                .push_bind(&r.reason)
                .push_bind(&r.detail)
                .push_bind(&r.payload)
                .push_bind(r.size_bytes)
                .push_bind(r.received_at);
        });
        b.build().execute(conn).await?;
    }
    Ok(())
}

/// Returns the newest dead letters.
pub async fn list_dead_letters(conn: &mut Conn, limit: i64) -> Result<Vec<DeadLetterRow>> {
    sql::query(
        "SELECT id, topic, reason, detail, payload, size_bytes, received_at FROM sensor_dead_letters
         ORDER BY id DESC LIMIT ?",
    )
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// An alarm with its device's code and asset.
#[derive(Debug, Clone, FromRow)]
pub struct AlarmRow {
    pub id: i64,
    pub device_id: i64,
    pub device_code: String,
    pub device_name: String,
    pub asset_id: Option<String>,
    pub rule: String,
    pub state: String,
    pub active: bool,
    pub value: Option<f64>,
    pub message: String,
    pub supervisor_user_id: Option<i64>,
    pub raised_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub decided_by: Option<i64>,
    pub case_id: Option<i64>,
}

const ALARM_SELECT: &str = "SELECT al.id, al.device_id, d.code AS device_code, d.name AS device_name,
    d.asset_id, al.rule, al.state, al.active, al.value, al.message, al.supervisor_user_id, al.raised_at,
    al.due_at, al.ended_at, al.decided_by, al.case_id
    FROM sensor_alarms al JOIN sensor_devices d ON d.id = al.device_id";

/// A new alarm.
#[derive(Debug, Clone)]
pub struct NewAlarm<'a> {
    pub device_id: i64,
    pub rule: &'a str,
    pub state: &'a str,
    pub value: Option<f64>,
    pub message: &'a str,
    pub supervisor_user_id: Option<i64>,
    pub raised_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub case_id: Option<i64>,
}

/// Inserts an active alarm; returns its id.
pub async fn insert_alarm(conn: &mut Conn, alarm: &NewAlarm<'_>) -> Result<i64> {
    sql::query(
        "INSERT INTO sensor_alarms (device_id, rule, state, active, value, message, supervisor_user_id,
         raised_at, due_at, case_id) VALUES (?, ?, ?, TRUE, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(alarm.device_id)
    .bind(alarm.rule)
    .bind(alarm.state)
    .bind(alarm.value)
    .bind(alarm.message)
    .bind(alarm.supervisor_user_id)
    .bind(alarm.raised_at)
    .bind(alarm.due_at)
    .bind(alarm.case_id)
    .scalar(conn)
    .await
}

/// Returns an alarm.
pub async fn get_alarm(conn: &mut Conn, id: i64) -> Result<AlarmRow> {
    sql::query(format!("{ALARM_SELECT} WHERE al.id = ?"))
        .bind(id)
        .fetch_one(conn)
        .await
}

/// Returns the active alarm of a device's rule, if any.
pub async fn active_alarm(conn: &mut Conn, device_id: i64, rule: &str) -> Result<Option<AlarmRow>> {
    sql::query(format!(
        "{ALARM_SELECT} WHERE al.device_id = ? AND al.rule = ? AND al.active = TRUE ORDER BY al.id DESC LIMIT 1"
    ))
    .bind(device_id)
    .bind(rule)
    .fetch_optional(conn)
    .await
}

/// Returns (device id, rule) of every active alarm.
pub async fn active_rules(conn: &mut Conn) -> Result<Vec<(i64, String)>> {
    sql::query("SELECT device_id, rule FROM sensor_alarms WHERE active = TRUE")
        .fetch_all(conn)
        .await
}

/// Marks an alarm's condition over; a pending alarm becomes `cleared` at the same time.
pub async fn end_alarm(conn: &mut Conn, id: i64, at: DateTime<Utc>) -> Result<()> {
    sql::query(
        "UPDATE sensor_alarms SET active = FALSE, ended_at = ?,
         state = CASE WHEN state = 'pending' THEN 'cleared' ELSE state END WHERE id = ?",
    )
    .bind(at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a verifier's decision on a pending alarm; returns false when it was no longer pending.
pub async fn decide_alarm(
    conn: &mut Conn,
    id: i64,
    state: &str,
    decided_by: i64,
    case_id: Option<i64>,
) -> Result<bool> {
    let n = sql::query(
        "UPDATE sensor_alarms SET state = ?, decided_by = ?, case_id = ? WHERE id = ? AND state = 'pending'",
    )
    .bind(state)
    .bind(decided_by)
    .bind(case_id)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Returns alarms, newest first: optionally in one state and for one supervisor.
pub async fn list_alarms(
    conn: &mut Conn,
    state: Option<&str>,
    supervisor_user_id: Option<i64>,
    device_id: Option<i64>,
    limit: i64,
) -> Result<Vec<AlarmRow>> {
    let mut b = Builder::new(ALARM_SELECT);
    b.push(" WHERE 1 = 1");
    if let Some(state) = state {
        b.push(" AND al.state = ").push_bind(state);
    }
    if let Some(user) = supervisor_user_id {
        b.push(" AND al.supervisor_user_id = ").push_bind(user);
    }
    if let Some(device) = device_id {
        b.push(" AND al.device_id = ").push_bind(device);
    }
    b.push(" ORDER BY al.id DESC LIMIT ").push_bind(limit);
    b.build().fetch_all(conn).await
}

/// Returns the newest case opened or joined by a device's alarms that is still in one of
/// `open_states`.
pub async fn open_case_of_device(
    conn: &mut Conn,
    device_id: i64,
    open_states: &[&str],
) -> Result<Option<i64>> {
    let mut b = Builder::new(
        "SELECT c.id FROM sensor_alarms al JOIN cases c ON c.id = al.case_id WHERE al.device_id = ",
    );
    b.push_bind(device_id).push(" AND c.state IN (");
    let mut list = b.separated(", ");
    for state in open_states {
        list.push_bind(*state);
    }
    b.push(") ORDER BY c.id DESC LIMIT 1");
    b.build().scalar_optional(conn).await
}

/// Alarms per rule and final state (false alarms are `rejected`).
pub async fn alarm_counts(conn: &mut Conn) -> Result<Vec<(String, String, i64)>> {
    sql::query(
        "SELECT rule, state, COUNT(*) FROM sensor_alarms GROUP BY rule, state ORDER BY rule, state",
    )
    .fetch_all(conn)
    .await
}

/// The supervisor of an area: the responsibility grid's bound supervisor for a unit grid, else
/// the active grid supervisor whose area is the nearest ancestor of `area_path`.
pub async fn supervisor_for(conn: &mut Conn, area_id: i64, area_path: &str) -> Result<Option<i64>> {
    let bound: Option<Option<i64>> = sql::query(
        "SELECT g.supervisor_user_id FROM responsibility_grid_units u
         JOIN responsibility_grids g ON g.id = u.grid_id WHERE u.unit_area_id = ?",
    )
    .bind(area_id)
    .scalar_optional(conn)
    .await?;
    if let Some(Some(user)) = bound {
        return Ok(Some(user));
    }
    sql::query(
        "SELECT u.id FROM users u JOIN areas a ON a.id = u.area_id
         WHERE u.role = 'grid_supervisor' AND u.active = TRUE AND ? LIKE a.path || '%'
         ORDER BY LENGTH(a.path) DESC, u.id LIMIT 1",
    )
    .bind(area_path)
    .scalar_optional(conn)
    .await
}

/// The time of the oldest raw reading.
pub async fn oldest_reading(conn: &mut Conn) -> Result<Option<DateTime<Utc>>> {
    let at: Option<Option<DateTime<Utc>>> = sql::query("SELECT MIN(at) FROM sensor_readings")
        .scalar_optional(conn)
        .await?;
    Ok(at.flatten())
}

/// Raw readings before an instant: (device id, time, value).
pub async fn readings_before(
    conn: &mut Conn,
    before: DateTime<Utc>,
) -> Result<Vec<(i64, DateTime<Utc>, f64)>> {
    sql::query("SELECT device_id, at, value FROM sensor_readings WHERE at < ?")
        .bind(before)
        .fetch_all(conn)
        .await
}

/// Deletes raw readings before an instant; returns how many.
pub async fn delete_readings_before(conn: &mut Conn, before: DateTime<Utc>) -> Result<u64> {
    sql::query("DELETE FROM sensor_readings WHERE at < ?")
        .bind(before)
        .execute(conn)
        .await
}

/// One hour of one device, aggregated.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct HourRow {
    pub device_id: i64,
    pub hour: DateTime<Utc>,
    pub n: i64,
    pub min_value: f64,
    pub max_value: f64,
    pub sum_value: f64,
}

/// Adds aggregates to the hourly table (an hour already there is merged).
pub async fn add_hours(conn: &mut Conn, rows: &[HourRow]) -> Result<()> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut b = Builder::new(
            "INSERT INTO sensor_readings_hourly (device_id, hour, n, min_value, max_value, sum_value) ",
        );
        b.push_values(chunk, |mut row, r| {
            row.push_bind(r.device_id)
                .push_bind(r.hour)
                .push_bind(r.n)
                .push_bind(r.min_value)
                .push_bind(r.max_value)
                .push_bind(r.sum_value);
        });
        b.push(
            " ON CONFLICT (device_id, hour) DO UPDATE SET n = sensor_readings_hourly.n + excluded.n,
            min_value = CASE WHEN excluded.min_value < sensor_readings_hourly.min_value
                THEN excluded.min_value ELSE sensor_readings_hourly.min_value END,
            max_value = CASE WHEN excluded.max_value > sensor_readings_hourly.max_value
                THEN excluded.max_value ELSE sensor_readings_hourly.max_value END,
            sum_value = sensor_readings_hourly.sum_value + excluded.sum_value",
        );
        b.build().execute(conn).await?;
    }
    Ok(())
}

/// A device's hourly aggregates at `from <= hour < to`, oldest first.
pub async fn hours(
    conn: &mut Conn,
    device_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<HourRow>> {
    sql::query(
        "SELECT device_id, hour, n, min_value, max_value, sum_value FROM sensor_readings_hourly
         WHERE device_id = ? AND hour >= ? AND hour < ? ORDER BY hour LIMIT ?",
    )
    .bind(device_id)
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(conn)
    .await
}
