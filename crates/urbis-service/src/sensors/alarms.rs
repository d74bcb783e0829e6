//! Alarms and their verification (核实). A rule's raise becomes a pending alarm for the supervisor
//! of the device's grid with a short deadline — or joins the device's open case when it has one;
//! the rule's clear ends the alarm, and a pending alarm that clears closes itself (audited). The
//! supervisor confirms (a case on the `sensor` channel naming the device's asset, so routing
//! proposes its maintainer) or rejects (a false alarm, counted per rule).

use chrono::{DateTime, Utc};
use urbis_domain::appeal::AppealInput;
use urbis_domain::role::{Actor, Role};
use urbis_domain::sensor::Transition;
use urbis_domain::workflow::CaseState;
use urbis_storage::Conn;
pub use urbis_storage::sensors::AlarmRow;
use urbis_storage::sensors::{self as repo, NewAlarm};

use super::ingest::Change;
use crate::{ErrorKind, Result, ServiceError, Services};

/// Notes on a decision, in characters.
pub const NOTE_MAX_CHARS: usize = 500;
/// Readings attached to a case.
const ATTACHED_READINGS: i64 = 20;

fn open_states() -> Vec<&'static str> {
    CaseState::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .map(CaseState::as_str)
        .collect()
}

/// The Chinese name of a rule.
pub fn rule_zh(rule: &str) -> &'static str {
    match rule {
        "threshold" => "超阈值",
        "rate" => "变化过快",
        "band" => "连续超范围",
        "silence" => "离线",
        _ => "告警",
    }
}

/// Stores one alarm change inside the ingest transaction.
pub(crate) async fn apply(
    conn: &mut Conn,
    change: &Change,
    verify_minutes: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let rule = change.kind.as_str();
    match &change.transition {
        Transition::Raise(_, message) => {
            let open_case =
                repo::open_case_of_device(conn, change.device_id, &open_states()).await?;
            let supervisor = match (&change.area, open_case) {
                (Some((area_id, path)), None) => repo::supervisor_for(conn, *area_id, path).await?,
                _ => None,
            };
            let state = if open_case.is_some() {
                "joined"
            } else {
                "pending"
            };
            let id = repo::insert_alarm(
                conn,
                &NewAlarm {
                    device_id: change.device_id,
                    rule,
                    state,
                    value: change.value,
                    message,
                    supervisor_user_id: supervisor,
                    raised_at: now,
                    due_at: now + chrono::Duration::minutes(verify_minutes),
                    case_id: open_case,
                },
            )
            .await?;
            let detail = serde_json::json!({
                "alarm_id": id, "device_id": change.device_id, "rule": rule, "value": change.value,
                "message": message, "supervisor_user_id": supervisor, "reading_at": crate::time::to_db(change.at),
            });
            match open_case {
                Some(case_id) => {
                    crate::audit::record(
                        conn,
                        now,
                        None,
                        "sensor_alarm_joined",
                        "case",
                        case_id,
                        "",
                        "",
                        &detail,
                    )
                    .await?;
                }
                None => {
                    crate::audit::record(
                        conn,
                        now,
                        None,
                        "sensor_alarm_raised",
                        "sensor_alarm",
                        id,
                        "",
                        "pending",
                        &detail,
                    )
                    .await?;
                }
            }
        }
        Transition::Clear(_) => {
            if let Some(alarm) = repo::active_alarm(conn, change.device_id, rule).await? {
                repo::end_alarm(conn, alarm.id, now).await?;
                if alarm.state == "pending" {
                    crate::audit::record(
                        conn,
                        now,
                        None,
                        "sensor_alarm_cleared",
                        "sensor_alarm",
                        alarm.id,
                        "pending",
                        "cleared",
                        &serde_json::json!({ "device_id": change.device_id, "rule": rule, "value": change.value }),
                    )
                    .await?;
                }
            }
        }
    }
    Ok(())
}

/// False alarms and outcomes per rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleOutcome {
    pub rule: String,
    pub raised: i64,
    pub confirmed: i64,
    pub rejected: i64,
    pub cleared: i64,
    pub joined: i64,
    pub pending: i64,
}

impl Services {
    /// The verification list: a supervisor's pending alarms; admins and shift leads see all.
    pub async fn sensor_alarms(
        &self,
        actor: &Actor,
        state: Option<&str>,
        device: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AlarmRow>> {
        super::require(actor, &super::READERS)?;
        let mut conn = self.db().read().await?;
        let device_id = match device {
            Some(code) => Some(
                repo::find_device(&mut conn, code)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("device"))?
                    .id,
            ),
            None => None,
        };
        let supervisor = (actor.role == Role::GridSupervisor).then_some(actor.user_id.0);
        Ok(repo::list_alarms(
            &mut conn,
            state,
            supervisor,
            device_id,
            limit.clamp(1, 1000),
        )
        .await?)
    }

    /// Outcomes per rule, so rules can be tuned (false alarms are the rejected ones).
    pub async fn sensor_rule_outcomes(&self, actor: &Actor) -> Result<Vec<RuleOutcome>> {
        super::require(actor, &super::READERS)?;
        let mut conn = self.db().read().await?;
        let mut out: Vec<RuleOutcome> = Vec::new();
        for (rule, state, n) in repo::alarm_counts(&mut conn).await? {
            if out.last().is_none_or(|o| o.rule != rule) {
                out.push(RuleOutcome {
                    rule: rule.clone(),
                    ..RuleOutcome::default()
                });
            }
            let entry = out.last_mut().expect("pushed above");
            entry.raised += n;
            match state.as_str() {
                "confirmed" => entry.confirmed += n,
                "rejected" => entry.rejected += n,
                "cleared" => entry.cleared += n,
                "joined" => entry.joined += n,
                _ => entry.pending += n,
            }
        }
        Ok(out)
    }

    async fn pending_alarm(&self, actor: &Actor, id: i64) -> Result<AlarmRow> {
        let mut conn = self.db().read().await?;
        let alarm = repo::get_alarm(&mut conn, id).await?;
        let allowed = match actor.role {
            Role::Admin | Role::ShiftLead => true,
            Role::GridSupervisor => alarm.supervisor_user_id == Some(actor.user_id.0),
            _ => false,
        };
        if !allowed {
            return Err(ServiceError::forbidden(
                "only the grid's supervisor verifies this alarm",
            ));
        }
        if alarm.state != "pending" {
            return Err(not_pending(&alarm));
        }
        Ok(alarm)
    }

    /// Confirms an alarm: a case on the `sensor` channel naming the device's asset, with its
    /// recent readings in the text. The case is filed with the idempotency key
    /// `sensor-alarm-<id>`, so a retry after a failure finds the same case.
    pub async fn confirm_sensor_alarm(
        &self,
        actor: &Actor,
        id: i64,
        note: &str,
    ) -> Result<AlarmRow> {
        let note = checked_note(note)?;
        let alarm = self.pending_alarm(actor, id).await?;
        let mut conn = self.db().read().await?;
        let device = repo::get_device(&mut conn, alarm.device_id).await?;
        let recent = repo::readings(
            &mut conn,
            device.id,
            DateTime::<Utc>::UNIX_EPOCH,
            self.now() + chrono::Duration::days(2),
            ATTACHED_READINGS,
        )
        .await?;
        drop(conn);
        let readings: Vec<String> = recent
            .iter()
            .map(|(at, v)| {
                format!(
                    "{} {v}{}",
                    self.to_local(*at).format("%m-%d %H:%M:%S"),
                    device.unit
                )
            })
            .collect();
        let asset = device.asset_id.clone();
        let text = format!(
            "物联感知告警（{}）：{}。设备 {}（{}），部件 {}。核实：{}。最近读数：{}",
            rule_zh(&alarm.rule),
            alarm.message,
            device.name,
            device.code,
            asset.as_deref().unwrap_or("无"),
            if note.is_empty() {
                "现场确认"
            } else {
                &note
            },
            readings.join("；"),
        );
        let input = AppealInput {
            appeal_type: None,
            channel: Some("sensor".into()),
            title: Some(format!("{}：{}", device.name, rule_zh(&alarm.rule))),
            text: text
                .chars()
                .take(urbis_domain::appeal::limits::TEXT_MAX_CHARS)
                .collect(),
            address: Some(device.name.clone()),
            lat: Some(device.lat),
            lon: Some(device.lon),
            category_id: device.category_id,
            area_id: device.area_id,
            ..AppealInput::default()
        };
        let outcome = self
            .submit_system_appeal(&input, &format!("sensor-alarm-{id}"), asset)
            .await?;
        self.decide_alarm(
            actor,
            id,
            "confirmed",
            Some(outcome.case_id),
            serde_json::json!({ "case_id": outcome.case_id, "note": note, "device_id": alarm.device_id, "rule": alarm.rule }),
        )
        .await
    }

    /// Rejects an alarm as false (counted per rule).
    pub async fn reject_sensor_alarm(
        &self,
        actor: &Actor,
        id: i64,
        note: &str,
    ) -> Result<AlarmRow> {
        let note = checked_note(note)?;
        let alarm = self.pending_alarm(actor, id).await?;
        self.decide_alarm(
            actor,
            id,
            "rejected",
            None,
            serde_json::json!({ "note": note, "device_id": alarm.device_id, "rule": alarm.rule }),
        )
        .await
    }

    /// Records a supervisor's decision on a pending alarm, audited, in one transaction.
    async fn decide_alarm(
        &self,
        actor: &Actor,
        id: i64,
        state: &str,
        case_id: Option<i64>,
        detail: serde_json::Value,
    ) -> Result<AlarmRow> {
        let mut tx = self.db().begin_write().await?;
        if !repo::decide_alarm(&mut tx, id, state, actor.user_id.0, case_id).await? {
            let alarm = repo::get_alarm(&mut tx, id).await?;
            return Err(not_pending(&alarm));
        }
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            &format!("sensor_alarm_{state}"),
            "sensor_alarm",
            id,
            "pending",
            state,
            &detail,
        )
        .await?;
        let alarm = repo::get_alarm(&mut tx, id).await?;
        tx.commit().await?;
        Ok(alarm)
    }
}

fn checked_note(note: &str) -> Result<String> {
    let note = note.trim();
    if note.chars().count() > NOTE_MAX_CHARS {
        return Err(ServiceError::invalid(
            "invalid_note",
            format!("note longer than {NOTE_MAX_CHARS} characters"),
        ));
    }
    Ok(note.to_owned())
}

fn not_pending(alarm: &AlarmRow) -> ServiceError {
    ServiceError::new(
        ErrorKind::Conflict,
        "alarm_not_pending",
        format!("alarm {} is {}", alarm.id, alarm.state),
    )
}
