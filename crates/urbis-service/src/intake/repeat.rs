//! A repeat report joining an open case instead of opening a new one. Repeats are staged in the
//! group commit like new cases: the cases they join are read once per group, each repeat updates
//! its case in memory (reporters, priority), and the writer stores the appeals, the `merge_repeat`
//! records and one statement updating every joined case with the rest of the group.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use urbis_domain::workflow::CaseState;
use urbis_storage::Conn;
use urbis_storage::cases::{self, NotificationRow};
use urbis_storage::intake::{RaisedPriority, RepeatTarget, RepeatUpdate};
use urbis_storage::sql::JsonText;

use super::{IntakeJob, IntakeOutcome, reporter_user};
use crate::Result;

/// Most residents a case follows up besides its first reporter.
const CO_REPORTERS_MAX: usize = 500;

/// An open case that repeats of this group join: as read at the start of the group, then changed
/// by each repeat in arrival order.
pub(super) struct Joined {
    target: RepeatTarget,
    co_reporters: Vec<i64>,
    /// The highest priority a repeat of this group scored: score, level and factors.
    priority: Option<(i64, &'static str, JsonText)>,
    at: DateTime<Utc>,
}

/// A repeat appeal waiting in the group commit.
pub(super) struct StagedRepeat<'j> {
    pub(super) job: &'j IntakeJob,
    pub(super) case_id: i64,
    pub(super) state: String,
    /// The `merge_repeat` record's detail, without the appeal's id (known when it is written).
    pub(super) detail: &'j str,
}

/// Reads the cases this group's repeats would join; the ones no longer open are left out, and
/// their appeals open cases of their own.
pub(super) async fn joinable(conn: &mut Conn, batch: &[IntakeJob]) -> Result<HashMap<i64, Joined>> {
    let ids = urbis_storage::lookups::distinct(
        batch
            .iter()
            .filter_map(|job| job.repeat_of.as_ref().map(|link| link.case_id)),
    );
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(urbis_storage::intake::repeat_targets(conn, &ids)
        .await?
        .into_iter()
        .filter(|t| CaseState::parse(&t.state).is_some_and(|s| s.is_open()))
        .map(|target| {
            let joined = Joined {
                co_reporters: crate::case_rows::parse_ids(&target.co_reporters),
                priority: None,
                at: DateTime::<Utc>::MIN_UTC,
                target,
            };
            (joined.target.id, joined)
        })
        .collect())
}

/// Stages a repeat appeal on the case it joins: one more reporter (a resident is followed up and
/// told), the priority raised by the duplicate count, and `detail`, the audit detail with the
/// model's reasons (prepared by the request, [`super::writer::Prepared`]).
pub(super) fn stage<'j>(
    joined: &mut Joined,
    job: &'j IntakeJob,
    detail: &'j str,
    notifications: &mut Vec<NotificationRow>,
) -> (StagedRepeat<'j>, IntakeOutcome) {
    let target = &mut joined.target;
    // More reporters make the problem more pressing: the score counts the duplicates, but only
    // the first few anonymous ones, so that anonymous re-posts cannot push a case up without bound.
    target.reporter_count += 1;
    target.anonymous_repeats += i64::from(job.reporter.is_none());
    let identified = target.reporter_count - target.anonymous_repeats;
    let scored = identified
        + target
            .anonymous_repeats
            .min(i64::from(job.anonymous_repeat_cap));
    let priority = urbis_text::priority::score(&urbis_text::priority::PriorityInput {
        text: &format!("{} {}", target.title, target.text),
        category_severity: job.place.severity,
        duplicate_count: u32::try_from(scored - 1).unwrap_or(0),
        repeat_place_count: job.place.repeat_place_count,
    });
    let score = i64::from(priority.score);
    if joined
        .priority
        .as_ref()
        .is_none_or(|(best, ..)| score > *best)
    {
        let factors = serde_json::to_string(&priority.factors).unwrap_or_else(|_| "[]".into());
        joined.priority = Some((score, priority.level.as_str(), factors.into()));
    }
    joined.at = job.received_at;
    // A resident whose report joined the case is counted and notified of its progress; reading
    // and rating stay with the first reporter (`workflow::can_view`).
    if let Some(user) = reporter_user(job)
        && target.reporter_user_id != Some(user)
        && !joined.co_reporters.contains(&user)
        && joined.co_reporters.len() < CO_REPORTERS_MAX
    {
        joined.co_reporters.push(user);
        notifications.push(NotificationRow {
            id: 0,
            case_id: target.id,
            dept_id: None,
            user_id: Some(user),
            kind: "merged".into(),
            message: format!(
                "您的诉求与案件 {} 反映的是同一问题，已并入该案件一并办理",
                target.number
            ),
            created_at: job.received_at,
        });
    }
    let staged = StagedRepeat {
        job,
        case_id: target.id,
        state: target.state.clone(),
        detail,
    };
    let outcome = IntakeOutcome {
        case_id: target.id,
        number: target.number.clone(),
        state: target.state.clone(),
        created: true,
        merged: true,
        area_path: target.area_path.clone(),
    };
    (staged, outcome)
}

impl Joined {
    /// The stats key of the case's `repeat_reports` counter: report day, area and category.
    pub(super) fn counter_key(&self) -> (String, i64, i64) {
        let t = &self.target;
        (t.stats_day.clone(), t.area_id, t.category_id.unwrap_or(0))
    }
}

/// Writes what this group's repeats did to the cases they joined (reporters, and the priority
/// where a repeat raised it above the stored one), in one statement per kind of change; a case
/// read for the group that no repeat joined after all is left as it is.
pub(super) async fn write_joined(conn: &mut Conn, joined: &HashMap<i64, Joined>) -> Result<()> {
    let changed: Vec<(&Joined, &(i64, &'static str, JsonText), String)> = joined
        .values()
        .filter_map(|case| {
            let priority = case.priority.as_ref()?;
            Some((
                case,
                priority,
                crate::case_rows::format_ids(&case.co_reporters),
            ))
        })
        .collect();
    let updates: Vec<RepeatUpdate<'_>> = changed
        .iter()
        .map(
            |(case, (score, level, factors), co_reporters)| RepeatUpdate {
                case_id: case.target.id,
                reporter_count: case.target.reporter_count,
                co_reporters,
                anonymous_repeats: case.target.anonymous_repeats,
                priority: (*score > case.target.priority_score).then(|| RaisedPriority {
                    score: *score,
                    level,
                    factors: factors.clone(),
                }),
                at: case.at,
            },
        )
        .collect();
    urbis_storage::intake::record_repeats(conn, &updates).await?;
    Ok(())
}

/// Stores the residents' "merged" notices, in the app and in the notification outbox.
pub(super) async fn notify(conn: &mut Conn, notifications: &[NotificationRow]) -> Result<()> {
    for row in notifications {
        if let Some(user) = row.user_id {
            crate::residents::notify_user(
                conn,
                user,
                &row.kind,
                row.case_id,
                &row.message,
                row.created_at,
            )
            .await?;
        }
        cases::insert_notification(conn, row).await?;
    }
    Ok(())
}
