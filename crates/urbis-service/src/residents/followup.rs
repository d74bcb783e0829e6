//! "Was it fixed?" (回访): when a case closes, its first reporter and the residents following it get
//! an outbox message asking whether the problem was really fixed (`cases::notify::notify_reporters`);
//! each of them answers once (`case_followups`, primary key case × user).
//!
//! A "not fixed" from the first reporter does not reopen the case by itself: the workflow lets only
//! a shift lead reopen (`workflow::plan`, `Action::Reopen`), as a 12345 centre's 回访不满意 goes back
//! to the shift lead who decides on 重办. The answer flags the case instead: it is listed by
//! [`Services::flagged_followups`] until the shift lead reopens it (or it stays closed), and the
//! answer's audit record carries `flagged: true`. Followers' answers are counted, never flag.

use chrono::{DateTime, Utc};
use urbis_domain::role::{Actor, Role};
use urbis_domain::workflow::CaseState;
use urbis_storage::followups::{self, FlaggedRow, FollowupRow};

use crate::case_rows::parse_ids;
use crate::{ErrorKind, Result, ServiceError, Services};

/// Roles that read the counts and the flagged list.
const STAFF_ROLES: &[Role] = &[Role::Operator, Role::ShiftLead, Role::Admin, Role::Leader];

/// What an answer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowupOutcome {
    pub fixed: bool,
    /// True when the first reporter said "not fixed": the case waits for the shift lead.
    pub flagged: bool,
}

/// Answers counted over a period: the "fixed confirmed" rate is `fixed / (fixed + not_fixed)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FollowupCounts {
    pub fixed: i64,
    pub not_fixed: i64,
    /// `None` while nobody answered.
    pub fixed_rate: Option<f64>,
}

impl Services {
    /// Records a resident's answer to "was it fixed?" about a closed case they reported or follow
    /// (one answer per resident and case, verified residents only), audited in its transaction.
    pub async fn answer_followup(
        &self,
        actor: &Actor,
        case_id: i64,
        fixed: bool,
    ) -> Result<FollowupOutcome> {
        self.require_verified(actor).await?;
        let user = actor.user_id.0;
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let case = urbis_storage::cases::get_case(&mut tx, case_id).await?;
        let reporter = case.reporter_user_id == Some(user);
        if !reporter && !parse_ids(&case.co_reporters).contains(&user) {
            // Someone who neither reported nor follows the case cannot tell whether it exists.
            return Err(ServiceError::not_found("case"));
        }
        if !matches!(case.state, CaseState::Closed | CaseState::Evaluated) {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "case_not_closed",
                "this case is not closed yet",
            ));
        }
        let answered = followups::for_case(&mut tx, case_id).await?;
        if answered.iter().any(|row| row.user_id == user) {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "followup_answered",
                "you already answered whether this case was fixed",
            ));
        }
        followups::insert(
            &mut tx,
            &FollowupRow {
                case_id,
                user_id: user,
                fixed,
                reporter,
                answered_at: now,
            },
        )
        .await?;
        let flagged = reporter && !fixed;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "followup",
            "case",
            case_id,
            case.state.as_str(),
            case.state.as_str(),
            &serde_json::json!({ "fixed": fixed, "reporter": reporter, "flagged": flagged }),
        )
        .await?;
        tx.commit().await?;
        Ok(FollowupOutcome { fixed, flagged })
    }

    /// Returns the caller's answers (a resident's own page shows which cases still ask).
    pub async fn my_followups(&self, actor: &Actor) -> Result<Vec<FollowupRow>> {
        crate::auth::require_role(actor, &[Role::Resident])?;
        let mut conn = self.db().read().await?;
        Ok(followups::of_user(&mut conn, actor.user_id.0).await?)
    }

    /// Counts the answers given since `since` in the caller's area: the "fixed confirmed" rate.
    pub async fn followup_counts(
        &self,
        actor: &Actor,
        since: DateTime<Utc>,
    ) -> Result<FollowupCounts> {
        crate::auth::require_role(actor, STAFF_ROLES)?;
        let mut conn = self.db().read().await?;
        let scope = actor.area_scope.as_ref().map(|s| s.path.as_str());
        let (fixed, not_fixed) = followups::counts(&mut conn, since, scope).await?;
        let answered = fixed + not_fixed;
        Ok(FollowupCounts {
            fixed,
            not_fixed,
            fixed_rate: (answered > 0).then(|| fixed as f64 / answered as f64),
        })
    }

    /// Lists closed cases in the caller's area whose reporter answered "not fixed", for the
    /// shift lead to reopen (or not).
    pub async fn flagged_followups(&self, actor: &Actor, limit: i64) -> Result<Vec<FlaggedRow>> {
        crate::auth::require_role(actor, STAFF_ROLES)?;
        let mut conn = self.db().read().await?;
        let scope = actor.area_scope.as_ref().map(|s| s.path.as_str());
        Ok(followups::flagged(&mut conn, scope, limit.clamp(1, 200)).await?)
    }
}

/// Returns the residents who already answered about a case (a case closed again after a reopening
/// asks only the others).
pub(crate) async fn answered_users(
    conn: &mut urbis_storage::Conn,
    case_id: i64,
) -> Result<Vec<i64>> {
    Ok(followups::for_case(conn, case_id)
        .await?
        .into_iter()
        .map(|row| row.user_id)
        .collect())
}
