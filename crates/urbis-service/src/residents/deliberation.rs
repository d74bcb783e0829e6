//! Community deliberation (协商议事): a verified resident (one who logged in with a phone code)
//! posts a proposal in a community; others comment and support it, one support per resident;
//! at `ResidentConfig::proposal_threshold` supports it goes on the agenda of the community's
//! deliberation meeting, whose outcome is public: accepted opens a case through intake (tracked
//! like any other to its closing), rejected keeps its reasons.

use urbis_domain::appeal::AppealInput;
use urbis_domain::area::AreaLevel;
use urbis_domain::role::{Actor, Role};
use urbis_storage::deliberation::{self, CommentRow, NewProposal, ProposalRow};

use crate::{ErrorKind, Result, ServiceError, Services};

/// Who records a deliberation meeting's outcome.
const DECIDERS: &[Role] = &[Role::ShiftLead, Role::Admin];

/// A meeting's decision on a proposal.
#[derive(Debug, Clone)]
pub struct Decision {
    pub accepted: bool,
    pub reason: String,
    /// The category of the case an accepted proposal opens, if known.
    pub category_id: Option<i64>,
}

fn bounded(field: &'static str, text: &str, max: usize) -> Result<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(ServiceError::invalid(
            "invalid_field",
            format!("{field}: 1–{max} characters"),
        ));
    }
    Ok(text.to_owned())
}

impl Services {
    pub(crate) async fn require_verified(&self, actor: &Actor) -> Result<()> {
        crate::auth::require_role(actor, &[Role::Resident])?;
        let mut conn = self.db().read().await?;
        if urbis_storage::residents::profile(&mut conn, actor.user_id.0)
            .await?
            .is_none()
        {
            return Err(ServiceError::new(
                ErrorKind::Forbidden,
                "not_verified",
                "only residents verified by a phone code take part",
            ));
        }
        Ok(())
    }

    /// Posts a proposal in a community (verified residents).
    pub async fn create_proposal(
        &self,
        actor: &Actor,
        community_id: i64,
        title: &str,
        body: &str,
    ) -> Result<ProposalRow> {
        self.require_verified(actor).await?;
        let title = bounded("title", title, 100)?;
        let body = bounded("body", body, 2000)?;
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let area = urbis_storage::reference::get_area(&mut tx, community_id).await?;
        if area.level != AreaLevel::Community {
            return Err(ServiceError::invalid(
                "not_a_community",
                "proposals belong to a community (社区)",
            ));
        }
        let id = deliberation::insert_proposal(
            &mut tx,
            &NewProposal {
                community_id,
                author_id: actor.user_id.0,
                title: &title,
                body: &body,
                threshold: i64::from(self.config().residents.proposal_threshold.max(1)),
                at: now,
            },
        )
        .await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "proposal_created",
            "proposal",
            id,
            "",
            "open",
            &serde_json::json!({ "community_id": community_id }),
        )
        .await?;
        let row = deliberation::get_proposal(&mut tx, id).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Supports a proposal (verified residents, once each); at the threshold it goes on the agenda.
    pub async fn support_proposal(&self, actor: &Actor, id: i64) -> Result<ProposalRow> {
        self.require_verified(actor).await?;
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let before = deliberation::get_proposal(&mut tx, id).await?;
        if before.state != "open" && before.state != "agenda" {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "proposal_decided",
                "the proposal was already decided",
            ));
        }
        if !deliberation::add_support(&mut tx, id, actor.user_id.0, now).await? {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "already_supported",
                "you already support this proposal",
            ));
        }
        let supports = before.supports + 1;
        let to_agenda = before.state == "open" && supports >= before.threshold;
        if to_agenda {
            deliberation::put_on_agenda(&mut tx, id, now).await?;
        }
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "proposal_supported",
            "proposal",
            id,
            &before.state,
            if to_agenda { "agenda" } else { &before.state },
            &serde_json::json!({ "supports": supports }),
        )
        .await?;
        let row = deliberation::get_proposal(&mut tx, id).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Comments on a proposal (any logged-in user; staff answer too).
    pub async fn comment_proposal(&self, actor: &Actor, id: i64, body: &str) -> Result<CommentRow> {
        if actor.role == Role::Resident {
            self.require_verified(actor).await?;
        }
        let body = bounded("body", body, 1000)?;
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        deliberation::get_proposal(&mut tx, id).await?;
        let comment_id =
            deliberation::insert_comment(&mut tx, id, actor.user_id.0, &body, now).await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "proposal_comment",
            "proposal",
            id,
            "",
            "",
            &serde_json::json!({ "comment_id": comment_id }),
        )
        .await?;
        let comments = deliberation::list_comments(&mut tx, id).await?;
        tx.commit().await?;
        comments
            .into_iter()
            .find(|c| c.id == comment_id)
            .ok_or_else(ServiceError::internal)
    }

    /// Records the meeting's outcome of a proposal on the agenda. Accepted opens a case in the
    /// proposal's community through intake (idempotent per proposal), then links it.
    pub async fn decide_proposal(
        &self,
        actor: &Actor,
        id: i64,
        decision: &Decision,
    ) -> Result<ProposalRow> {
        crate::auth::require_role(actor, DECIDERS)?;
        let reason = bounded("reason", &decision.reason, 1000)?;
        let proposal = {
            let mut conn = self.db().read().await?;
            deliberation::get_proposal(&mut conn, id).await?
        };
        if proposal.state != "agenda" {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "not_on_agenda",
                "only a proposal on the agenda can be decided",
            ));
        }
        let case_id = if decision.accepted {
            let input = AppealInput {
                appeal_type: Some("suggestion".into()),
                channel: Some("web".into()),
                title: Some(format!("协商议事：{}", proposal.title)),
                text: format!("{}\n（社区协商议事会议通过：{reason}）", proposal.body),
                reporter_name: Some("社区协商议事会".into()),
                reporter_phone: None,
                address: None,
                lat: None,
                lon: None,
                category_id: decision.category_id,
                area_id: Some(proposal.community_id),
                urgent: None,
            };
            let outcome = self
                .submit_system_appeal(&input, &format!("proposal-{id}"), None)
                .await?;
            Some(outcome.case_id)
        } else {
            None
        };
        let state = if decision.accepted {
            "accepted"
        } else {
            "rejected"
        };
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        if !deliberation::decide(&mut tx, id, state, &reason, case_id, now).await? {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "not_on_agenda",
                "only a proposal on the agenda can be decided",
            ));
        }
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "proposal_decided",
            "proposal",
            id,
            "agenda",
            state,
            &serde_json::json!({ "case_id": case_id }),
        )
        .await?;
        let row = deliberation::get_proposal(&mut tx, id).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Lists proposals (public), newest first, of one community or of all.
    pub async fn list_proposals(&self, community_id: Option<i64>) -> Result<Vec<ProposalRow>> {
        let mut conn = self.db().read().await?;
        Ok(deliberation::list_proposals(&mut conn, community_id, 200).await?)
    }

    /// Returns a proposal with its comments (public).
    pub async fn proposal(&self, id: i64) -> Result<(ProposalRow, Vec<CommentRow>)> {
        let mut conn = self.db().read().await?;
        let row = deliberation::get_proposal(&mut conn, id).await?;
        let comments = deliberation::list_comments(&mut conn, id).await?;
        Ok((row, comments))
    }
}
