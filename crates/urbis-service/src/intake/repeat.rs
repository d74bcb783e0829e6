//! A repeat report joining an open case instead of opening a new one.

use urbis_domain::workflow::CaseState;
use urbis_storage::Conn;
use urbis_storage::audit::{ChainHead, NewAudit};
use urbis_storage::cases;
use urbis_storage::stats::{self, Dim};

use super::{IntakeJob, IntakeOutcome, reporter_user};
use crate::Result;

/// Most residents a case follows up besides its first reporter.
const CO_REPORTERS_MAX: usize = 500;

/// Attaches a repeat appeal to an open case: the appeal is stored with its reporter, the case's
/// reporter count grows, and the merge is audited. Returns None when the case is no longer open.
pub(super) async fn attach_repeat(
    conn: &mut Conn,
    head: &mut ChainHead,
    job: &IntakeJob,
    link: &crate::dedup::RepeatLink,
) -> Result<Option<IntakeOutcome>> {
    let case_id = link.case_id;
    let Some(target) = urbis_storage::intake::repeat_target(conn, case_id).await? else {
        return Ok(None);
    };
    if CaseState::parse(&target.state).is_none_or(|s| !s.is_open()) {
        return Ok(None);
    }
    let urbis_storage::intake::RepeatTarget {
        state,
        number,
        stats_day,
        area_id,
        category_id,
        area_path,
        title,
        text,
        reporter_count,
        reporter_user_id: owner,
        co_reporters,
        anonymous_repeats: anonymous,
    } = target;
    let appeal = &job.appeal;
    let at = job.received_at;
    let appeal_id = cases::insert_appeal(conn, &super::writer::appeal_row(job, case_id)).await?;
    // More reporters make the problem more pressing: the score counts the duplicates, but only
    // the first few anonymous ones, so that anonymous re-posts cannot push a case up without bound.
    let is_anonymous = job.reporter.is_none();
    let anonymous = anonymous + i64::from(is_anonymous);
    let identified = reporter_count + 1 - anonymous;
    let scored = identified + anonymous.min(i64::from(job.anonymous_repeat_cap));
    let priority = urbis_text::priority::score(&urbis_text::priority::PriorityInput {
        text: &format!("{title} {text}"),
        category_severity: job.place.severity,
        duplicate_count: u32::try_from(scored - 1).unwrap_or(0),
        repeat_place_count: job.place.repeat_place_count,
    });
    // A resident whose report joined the case is counted and notified of its progress; reading
    // and rating stay with the first reporter (`workflow::can_view`).
    let mut co = crate::case_rows::parse_ids(&co_reporters);
    if let Some(user) = reporter_user(job)
        && owner != Some(user)
        && !co.contains(&user)
        && co.len() < CO_REPORTERS_MAX
    {
        co.push(user);
        crate::residents::notify_user(
            conn,
            user,
            "merged",
            case_id,
            &format!("您的诉求与案件 {number} 反映的是同一问题，已并入该案件一并办理"),
            at,
        )
        .await?;
        cases::insert_notification(
            conn,
            &cases::NotificationRow {
                id: 0,
                case_id,
                dept_id: None,
                user_id: Some(user),
                kind: "merged".into(),
                message: format!("您的诉求与案件 {number} 反映的是同一问题，已并入该案件一并办理"),
                created_at: at,
            },
        )
        .await?;
    }
    let co_reporters = crate::case_rows::format_ids(&co);
    let score = i64::from(priority.score);
    urbis_storage::intake::record_repeat(
        conn,
        &urbis_storage::intake::RepeatUpdate {
            case_id,
            co_reporters: &co_reporters,
            anonymous_repeats: anonymous,
            score,
            level: priority.level.as_str(),
            factors: serde_json::to_string(&priority.factors)
                .unwrap_or_else(|_| "[]".into())
                .into(),
            at,
        },
    )
    .await?;
    // The dispatcher sees why the appeal was merged: the score, each signal and the Chinese summary.
    let mut detail = link.audit_fields();
    detail["appeal_id"] = serde_json::json!(appeal_id);
    detail["channel"] = serde_json::json!(appeal.channel.as_str());
    let detail = detail.to_string();
    head.append(
        conn,
        &NewAudit {
            at,
            actor_id: job.reporter.as_ref().map(|a| a.user_id.0),
            actor_role: super::writer::actor_role(job),
            action: "merge_repeat",
            entity: "case",
            entity_id: case_id,
            from_state: &state,
            to_state: &state,
            detail: &detail,
        },
    )
    .await?;
    stats::bump(
        conn,
        &stats_day,
        Dim::Area,
        area_id,
        category_id.unwrap_or(0),
        "repeat_reports",
        1,
    )
    .await?;
    Ok(Some(IntakeOutcome {
        case_id,
        number,
        state,
        created: true,
        merged: true,
        area_path,
    }))
}
