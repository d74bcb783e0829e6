//! The public map of recent reports (coarsened to the area's centre, title only — masked by the
//! HTTP layer —, state; no reporter, no voided case) and joining an open report: a resident who
//! sees their problem already reported joins that case instead of filing a duplicate, and hears
//! of its progress like its co-reporters (`cases.co_reporters`).

use urbis_domain::role::{Actor, Role};
use urbis_storage::cases::{self, NotificationRow};
use urbis_storage::residents::{self, PublicReportRow};

use crate::case_rows::{format_ids, parse_ids, save_case};
use crate::open311::PublicNote;
use crate::{ErrorKind, Result, ServiceError, Services};

/// Most residents joined to one case.
const JOINED_MAX: usize = 200;
/// How far back the public map looks.
const MAP_DAYS: i64 = 30;

impl Services {
    /// Lists recent reports under an area (or the whole city), newest first (public).
    pub async fn public_reports(
        &self,
        area_id: Option<i64>,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<PublicReportRow>> {
        let mut conn = self.db().read().await?;
        let path = match area_id {
            Some(id) => Some(
                urbis_storage::reference::get_area(&mut conn, id)
                    .await?
                    .path,
            ),
            None => None,
        };
        let since = self.now() - chrono::Duration::days(MAP_DAYS);
        Ok(residents::public_reports(
            &mut conn,
            path.as_deref(),
            since,
            open_only,
            limit.clamp(1, 500),
        )
        .await?)
    }

    /// Joins a resident to an open case about their problem: they are told of its progress from
    /// now on (reading and rating stay with the first reporter).
    pub async fn join_case(&self, actor: &Actor, case_id: i64) -> Result<()> {
        crate::auth::require_role(actor, &[Role::Resident])?;
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let before = cases::get_case(&mut tx, case_id).await?;
        if !before.state.is_open() {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "case_not_open",
                "this report is already closed; file a new one",
            ));
        }
        let user = actor.user_id.0;
        let mut joined = parse_ids(&before.co_reporters);
        if before.reporter_user_id == Some(user) || joined.contains(&user) {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "already_joined",
                "you already follow this case",
            ));
        }
        if joined.len() >= JOINED_MAX {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "case_full",
                "this case has as many followers as it can take",
            ));
        }
        joined.push(user);
        let mut after = before.clone();
        after.co_reporters = format_ids(&joined);
        save_case(&mut tx, &before, &after).await?;
        let message = format!("您已加入案件 {}，办理进展会通知您", before.number);
        cases::insert_notification(
            &mut tx,
            &NotificationRow {
                id: 0,
                case_id,
                dept_id: None,
                user_id: Some(user),
                kind: "merged".into(),
                message: message.clone(),
                created_at: now,
            },
        )
        .await?;
        crate::residents::notify_user(&mut tx, user, "merged", case_id, &message, now).await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "join_case",
            "case",
            case_id,
            before.state.as_str(),
            before.state.as_str(),
            &serde_json::json!({ "co_reporters": joined.len() }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Services {
    /// Returns a case's public page: the lookup by number (masked title, state, the official
    /// reply), its dated steps in plain words (no staff names, notes masked), oldest first, and
    /// the residents' answers to "was it fixed?" (no names: whether, when, and if the first reporter).
    pub async fn public_timeline(
        &self,
        number: &str,
    ) -> Result<(
        crate::attachments::PublicCase,
        Vec<PublicNote>,
        Vec<urbis_storage::followups::FollowupRow>,
    )> {
        let case = self.public_case(number).await?;
        let mut conn = self.db().read().await?;
        let row = urbis_storage::public::get_by_number(&mut conn, &case.number).await?;
        let mut notes = Vec::new();
        for change in urbis_storage::open311::state_changes(&mut conn, &[row.id]).await? {
            if let Some(note) = crate::open311::public::note_of(&change)? {
                notes.push(note);
            }
        }
        let answers = urbis_storage::followups::for_case(&mut conn, row.id).await?;
        Ok((case, notes, answers))
    }
}
