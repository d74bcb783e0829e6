//! The SLA engine in service form: time limits per category, deadlines on the working calendar
//! with pauses, and the worker that reminds before expiry and escalates (督办) after it.

use std::time::Duration;

use chrono::{DateTime, NaiveTime, Utc};
use urbis_domain::calendar::{self, ClockType, OfficeWindow, Pause, WorkingCalendar};
use urbis_storage::cases::{self, NotificationRow};
use urbis_storage::{Conn, reference};

use crate::case_rows::{Counters, save_case};
use crate::{Result, ServiceConfig, ServiceError, Services};

/// A category's own limit columns (all null without a row) and its parent.

/// Returns the clock, amount and reminder lead time for a category: its own limit, else the
/// nearest ancestor's, else the configured default.
pub(crate) async fn limit_for(
    conn: &mut Conn,
    category_id: Option<i64>,
    config: &ServiceConfig,
) -> Result<(ClockType, u32, i64)> {
    let mut next = category_id;
    let mut depth = 0;
    while let Some(id) = next {
        let row = urbis_storage::lookups::category_limit(&mut *conn, id).await?;
        let row = row.map(|(clock, amount, remind, parent)| {
            (
                clock.unwrap_or_default(),
                amount.unwrap_or(-1),
                remind.unwrap_or(config.remind_before_minutes),
                parent,
            )
        });
        let Some((clock, amount, remind, parent)) = row else {
            break;
        };
        if amount >= 0 {
            let clock = ClockType::parse(&clock).map_err(|_| {
                tracing::error!(category_id = id, clock, "stored clock type is unknown");
                ServiceError::internal()
            })?;
            return Ok((clock, u32::try_from(amount).unwrap_or(u32::MAX), remind));
        }
        next = parent;
        depth += 1;
        if depth > 8 {
            break;
        }
    }
    let (clock, amount) = config.default_limit;
    Ok((clock, amount, config.remind_before_minutes))
}

impl Services {
    /// Returns the deadline of `amount` units of `clock` after `start`, skipping pauses given as
    /// UTC spans; `None` while an open pause stops the clock.
    pub fn due(
        &self,
        cal: &WorkingCalendar,
        clock: ClockType,
        amount: u32,
        start: DateTime<Utc>,
        pauses: &[(DateTime<Utc>, Option<DateTime<Utc>>)],
    ) -> Result<Option<DateTime<Utc>>> {
        let local_pauses: Vec<Pause> = pauses
            .iter()
            .map(|(from, to)| Pause {
                start: self.to_local(*from),
                end: to.map(|t| self.to_local(t)),
            })
            .collect();
        let deadline = calendar::deadline(cal, clock, amount, self.to_local(start), &local_pauses)
            .map_err(|err| ServiceError::invalid("invalid_time_limit", err.to_string()))?;
        Ok(deadline.map(|local| self.from_local(local)))
    }

    /// Runs one round of the SLA worker at `now`: reminders for cases close to their deadline
    /// and escalation (督办) of cases past it. Returns (reminded, escalated).
    pub async fn sla_tick(&self, now: DateTime<Utc>) -> Result<(usize, usize)> {
        let horizon = now + chrono::Duration::days(2);
        let mut tx = self.db().begin_write().await?;
        let mut reminded = 0;
        for before in cases::cases_needing_reminder(&mut tx, horizon, 500).await? {
            let Some(due) = before.due_at else {
                continue;
            };
            let (_, _, remind_before) =
                limit_for(&mut tx, before.category_id, self.config()).await?;
            if now < due - chrono::Duration::minutes(remind_before) {
                continue;
            }
            let mut after = before.clone();
            after.reminded = true;
            after.updated_at = now;
            save_case(&mut tx, &before, &after).await?;
            cases::insert_notification(
                &mut tx,
                &NotificationRow {
                    id: 0,
                    case_id: before.id,
                    dept_id: before.lead_dept_id,
                    user_id: None,
                    kind: "reminder".into(),
                    message: format!(
                        "案件 {} 将于 {} 到期",
                        before.number,
                        self.to_local(due).format("%m-%d %H:%M")
                    ),
                    created_at: now,
                },
            )
            .await?;
            crate::audit::record(
                &mut tx,
                now,
                None,
                "remind",
                "case",
                before.id,
                before.state.as_str(),
                after.state.as_str(),
                &serde_json::json!({ "due_at": before.due_at }),
            )
            .await?;
            reminded += 1;
        }
        let mut escalated = 0;
        // Events go out only after the commit: a listener never hears of a change that was rolled back.
        let mut events = Vec::new();
        for before in cases::cases_newly_overdue(&mut tx, now, 500).await? {
            let mut after = before.clone();
            after.overdue = true;
            after.reminded = true;
            after.supervise_count += 1;
            after.updated_at = now;
            save_case(&mut tx, &before, &after).await?;
            let mut counters = Counters::new(&before);
            counters.add("overdue", before.lead_dept_id);
            counters.add("supervised", before.lead_dept_id);
            counters.write(&mut tx).await?;
            cases::insert_notification(
                &mut tx,
                &NotificationRow {
                    id: 0,
                    case_id: before.id,
                    dept_id: before.lead_dept_id,
                    user_id: None,
                    kind: "escalation".into(),
                    message: format!("案件 {} 已超期，系统督办", before.number),
                    created_at: now,
                },
            )
            .await?;
            crate::audit::record(
                &mut tx,
                now,
                None,
                "escalate",
                "case",
                before.id,
                before.state.as_str(),
                after.state.as_str(),
                &serde_json::json!({ "due_at": before.due_at }),
            )
            .await?;
            events.push(crate::CaseEvent::of(&after, "escalate", now));
            escalated += 1;
        }
        let (sub_reminded, sub_escalated) = self.cohandle_round(&mut tx, now, horizon).await?;
        reminded += sub_reminded;
        escalated += sub_escalated;
        tx.commit().await?;
        for event in events {
            self.publish(event);
        }
        crate::metrics::sla_tick(reminded, escalated);
        Ok((reminded, escalated))
    }

    /// Tells a supporting department about its sub-task (`notice` kind) and audits it on the case
    /// (`action`, with the sub-task, department and due time).
    #[allow(clippy::too_many_arguments)]
    async fn subtask_alert(
        &self,
        tx: &mut Conn,
        case: &urbis_storage::cases::CaseRow,
        subtask: &urbis_storage::cohandle::SubtaskRow,
        notice: &str,
        action: &str,
        message: String,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.sla_notice(&mut *tx, case, subtask.dept_id, notice, message, now)
            .await?;
        crate::audit::record(
            &mut *tx,
            now,
            None,
            action,
            "case",
            case.id,
            case.state.as_str(),
            case.state.as_str(),
            &serde_json::json!({ "subtask_id": subtask.id, "dept_id": subtask.dept_id, "due_at": subtask.due_at }),
        )
        .await?;
        Ok(())
    }

    /// Reminds and escalates supporting departments' sub-tasks (协办) like lead tasks — each at most
    /// once, marked on the sub-task — and escalates disputes the arbiter has not ruled in time.
    /// Returns (reminded, escalated) sub-tasks.
    async fn cohandle_round(
        &self,
        tx: &mut Conn,
        now: DateTime<Utc>,
        horizon: DateTime<Utc>,
    ) -> Result<(usize, usize)> {
        use urbis_storage::cohandle as repo;
        let mut reminded = 0;
        for before in repo::subtasks_needing_reminder(&mut *tx, horizon, 500).await? {
            let Some(due) = before.due_at else {
                continue;
            };
            let case = cases::get_case(&mut *tx, before.case_id).await?;
            let (_, _, remind_before) =
                limit_for(&mut *tx, case.category_id, self.config()).await?;
            if now < due - chrono::Duration::minutes(remind_before) {
                continue;
            }
            let mut after = before.clone();
            after.reminded = true;
            repo::update_subtask(&mut *tx, &after).await?;
            let message = format!(
                "案件 {} 的协办任务将于 {} 到期",
                case.number,
                self.to_local(due).format("%m-%d %H:%M")
            );
            self.subtask_alert(
                tx,
                &case,
                &before,
                "subtask_reminder",
                "subtask_remind",
                message,
                now,
            )
            .await?;
            reminded += 1;
        }
        let mut escalated = 0;
        for before in repo::subtasks_newly_overdue(&mut *tx, now, 500).await? {
            let case = cases::get_case(&mut *tx, before.case_id).await?;
            let mut after = before.clone();
            after.overdue = true;
            after.reminded = true;
            repo::update_subtask(&mut *tx, &after).await?;
            let mut counters = Counters::new(&case);
            counters.add("cohandle_overdue", Some(before.dept_id));
            counters.write(&mut *tx).await?;
            let message = format!("案件 {} 的协办任务已超期，系统督办", case.number);
            self.subtask_alert(
                tx,
                &case,
                &before,
                "subtask_escalation",
                "subtask_escalate",
                message,
                now,
            )
            .await?;
            escalated += 1;
        }
        for before in repo::disputes_newly_overdue(&mut *tx, now, 500).await? {
            let mut after = before.clone();
            after.escalated = true;
            repo::update_dispute(&mut *tx, &after).await?;
            let case = cases::get_case(&mut *tx, before.case_id).await?;
            crate::audit::record(
                &mut *tx,
                now,
                None,
                "dispute_escalate",
                "case",
                case.id,
                case.state.as_str(),
                case.state.as_str(),
                &serde_json::json!({ "dispute_id": before.id, "due_at": before.due_at }),
            )
            .await?;
        }
        Ok((reminded, escalated))
    }

    async fn sla_notice(
        &self,
        tx: &mut Conn,
        case: &cases::CaseRow,
        dept_id: i64,
        kind: &str,
        message: String,
        now: DateTime<Utc>,
    ) -> Result<()> {
        cases::insert_notification(
            tx,
            &NotificationRow {
                id: 0,
                case_id: case.id,
                dept_id: Some(dept_id),
                user_id: None,
                kind: kind.to_owned(),
                message,
                created_at: now,
            },
        )
        .await?;
        Ok(())
    }

    /// Runs the SLA worker until `shutdown` fires; failures are logged and counted, and the
    /// worker carries on at the next interval.
    pub fn spawn_sla_worker(
        &self,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let services = self.clone();
        let interval: Duration = self.config().sla_interval;
        tokio::spawn(async move {
            loop {
                match services.sla_tick(services.now()).await {
                    Ok((reminded, escalated)) if reminded + escalated > 0 => {
                        tracing::info!(reminded, escalated, "sla round");
                    }
                    Ok(_) => {}
                    Err(err) => {
                        crate::metrics::sla_failed();
                        tracing::error!(error = %err, "sla round failed");
                    }
                }
                services.sharing_worker_round().await;
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = shutdown.changed() => break,
                }
            }
        })
    }
}

/// Loads the working calendar from settings and calendar days.
pub(crate) async fn load(conn: &mut Conn) -> Result<WorkingCalendar> {
    let windows_text = reference::get_setting(conn, "office_hours")
        .await?
        .unwrap_or_else(|| "09:00-12:00,13:30-18:00".to_owned());
    let windows = parse_office_hours(&windows_text)?;
    let mut holidays = Vec::new();
    let mut workdays = Vec::new();
    for day in reference::list_calendar_days(conn).await? {
        let date = chrono::NaiveDate::parse_from_str(&day.day, "%Y-%m-%d")
            .map_err(|_| ServiceError::internal())?;
        if day.kind == "holiday" {
            holidays.push(date);
        } else {
            workdays.push(date);
        }
    }
    WorkingCalendar::new(windows, holidays, workdays)
        .map_err(|err| ServiceError::invalid("invalid_calendar", err.to_string()))
}

/// Parses office hours like `09:00-12:00,13:30-18:00`.
pub fn parse_office_hours(text: &str) -> Result<Vec<OfficeWindow>> {
    let bad = || {
        ServiceError::invalid(
            "invalid_office_hours",
            "office hours look like 09:00-12:00,13:30-18:00",
        )
    };
    let mut windows = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (start, end) = part.split_once('-').ok_or_else(bad)?;
        let parse = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        windows.push(OfficeWindow {
            start: parse(start)?,
            end: parse(end)?,
        });
    }
    if windows.is_empty() || windows.len() > 6 {
        return Err(bad());
    }
    Ok(windows)
}
