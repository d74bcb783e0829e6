//! Photos attached to cases, and the public lookup of a case by its number.
//!
//! Attachments: whoever may view a case may attach to it and read its attachments (residents
//! only their own cases). The declared content type must be JPEG, PNG or WebP and must match the
//! file's magic bytes; at most [`MAX_BYTES`] each and [`MAX_PER_CASE`] per case. The insert, the
//! count check and the `attach` audit record share one write transaction.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use urbis_domain::role::Actor;
use urbis_domain::workflow::{self, CaseState};
use urbis_storage::attachments::{self as repo, AttachmentRow, NewAttachment};
use urbis_storage::cases;
use urbis_storage::public as public_repo;

use crate::case_rows::facts_of;
use crate::{ErrorKind, Result, ServiceError, Services};

/// Largest attachment, in bytes (5 MiB).
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
/// Most attachments on one case.
pub const MAX_PER_CASE: i64 = 9;
/// Content types accepted.
pub const ALLOWED_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];

/// Returns the image type the bytes start like, if any of the accepted ones.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn too_large() -> ServiceError {
    ServiceError::invalid(
        "attachment_too_large",
        format!("an attachment may be at most {MAX_BYTES} bytes"),
    )
}

/// The public facts of one case.
#[derive(Debug, Clone)]
pub struct PublicCase {
    /// The case's id (public already on the report map), for a follower's "was it fixed?" answer.
    pub id: i64,
    pub number: String,
    /// Masked.
    pub title: String,
    pub category_name: Option<String>,
    pub state: String,
    pub closed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The latest handling feedback, masked.
    pub reply: Option<String>,
    pub rating: Option<String>,
}

/// Longest case number accepted by the public lookup.
pub const CASE_NUMBER_MAX: usize = 64;

impl Services {
    /// Stores a photo on a case the actor may view and audits it; returns its metadata.
    pub async fn add_attachment(
        &self,
        actor: &Actor,
        case_id: i64,
        kind: &str,
        declared_type: &str,
        bytes: &[u8],
    ) -> Result<AttachmentRow> {
        if !matches!(kind, "appeal" | "feedback" | "check") {
            return Err(ServiceError::invalid(
                "invalid_attachment_kind",
                "kind is appeal, feedback or check",
            ));
        }
        if bytes.len() > MAX_BYTES {
            return Err(too_large());
        }
        let declared = declared_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !ALLOWED_TYPES.contains(&declared.as_str()) {
            return Err(ServiceError::invalid(
                "attachment_bad_type",
                "Content-Type must be image/jpeg, image/png or image/webp",
            ));
        }
        if sniff_image(bytes) != Some(declared.as_str()) {
            return Err(ServiceError::invalid(
                "attachment_bad_type",
                format!("the file is not a valid {declared} image"),
            ));
        }
        // Photos lose their EXIF (GPS position, camera, owner) before they are kept.
        let cleaned;
        let bytes = if declared == "image/jpeg" {
            cleaned = crate::jpeg::strip_metadata(bytes).map_err(|_| {
                ServiceError::invalid("attachment_bad_type", "the JPEG file is damaged")
            })?;
            cleaned.as_slice()
        } else {
            bytes
        };
        let sha256 = hex::encode(Sha256::digest(bytes));
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let case = cases::get_case(&mut tx, case_id).await?;
        let facts = facts_of(&case);
        if !workflow::can_view(actor, &facts) {
            return Err(ServiceError::not_found("case"));
        }
        // A photo of the on-site check (核查) comes from whoever may check the case now.
        let checking = workflow::Action::CheckPass {
            note: String::new(),
        };
        if kind == "check" && workflow::plan(actor, &facts, &checking).is_err() {
            return Err(ServiceError::new(
                ErrorKind::Forbidden,
                "check_photo_not_allowed",
                "photos of the check come from the supervisor checking the fed-back case",
            ));
        }
        // Each user may store so many bytes of photos per city-local day.
        let quota = self.config().security.photo_bytes_per_user_day;
        let day_start = self.from_local(
            self.to_local(now)
                .date()
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default(),
        );
        let used = repo::bytes_uploaded_since(&mut tx, actor.user_id.0, day_start).await?;
        if used + i64::try_from(bytes.len()).unwrap_or(i64::MAX) > quota {
            return Err(ServiceError::new(
                ErrorKind::TooManyRequests {
                    retry_after_secs: u64::try_from(
                        (day_start + chrono::Duration::days(1) - now).num_seconds(),
                    )
                    .unwrap_or(1)
                    .max(1),
                },
                "photo_quota_exceeded",
                format!("at most {quota} bytes of photos per user and day"),
            ));
        }
        if repo::count_for_case(&mut tx, case_id).await? >= MAX_PER_CASE {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "attachment_limit",
                format!("a case may have at most {MAX_PER_CASE} attachments"),
            ));
        }
        let created_at = now;
        let row = repo::insert(
            &mut tx,
            &NewAttachment {
                case_id,
                kind,
                mime: &declared,
                sha256: &sha256,
                uploaded_by: Some(actor.user_id.0),
                created_at: created_at,
                bytes,
            },
        )
        .await?;
        // The case's state does not change; recording it as both ends keeps the trail's last
        // state equal to the case's state (what `audit verify` checks).
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "attach",
            "case",
            case_id,
            case.state.as_str(),
            case.state.as_str(),
            &serde_json::json!({
                "attachment_id": row.id,
                "kind": kind,
                "mime": declared,
                "size": row.size,
                "sha256": sha256,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Lists the attachments of a case the actor may view.
    pub async fn list_attachments(
        &self,
        actor: &Actor,
        case_id: i64,
    ) -> Result<Vec<AttachmentRow>> {
        self.get_case(actor, case_id).await?;
        let mut conn = self.db().read().await?;
        Ok(repo::list_for_case(&mut conn, case_id).await?)
    }

    /// Returns an attachment and its bytes if the actor may view its case.
    pub async fn get_attachment(
        &self,
        actor: &Actor,
        attachment_id: i64,
    ) -> Result<(AttachmentRow, Vec<u8>)> {
        let mut conn = self.db().read().await?;
        let row = repo::get(&mut conn, attachment_id).await?;
        let case = cases::get_case(&mut conn, row.case_id).await?;
        if !workflow::can_view(actor, &facts_of(&case)) {
            return Err(ServiceError::not_found("attachment"));
        }
        let bytes = repo::bytes(&mut conn, attachment_id).await?;
        Ok((row, bytes))
    }

    /// Returns what anyone may know about a case given its number: masked title, category,
    /// state, times, the latest masked handling reply and the rating — nothing personal.
    pub async fn public_case(&self, number: &str) -> Result<PublicCase> {
        let number = number.trim();
        if number.is_empty()
            || number.len() > CASE_NUMBER_MAX
            || !number
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(ServiceError::new(
                ErrorKind::NotFound,
                "case_not_found",
                "no case has this number",
            ));
        }
        let mut conn = self.db().read().await?;
        let row = match public_repo::get_by_number(&mut conn, number).await {
            Ok(row) => row,
            Err(urbis_storage::StorageError::NotFound(_)) => {
                return Err(ServiceError::new(
                    ErrorKind::NotFound,
                    "case_not_found",
                    "no case has this number",
                ));
            }
            Err(other) => return Err(other.into()),
        };
        let details = public_repo::recent_action_details(
            &mut conn,
            row.id,
            &["feedback", "self_resolve"],
            20,
        )
        .await?;
        let reply = details.iter().find_map(|detail| {
            let value: serde_json::Value = serde_json::from_str(detail).ok()?;
            let text = value.get("text")?.as_str()?.trim();
            (!text.is_empty()).then(|| urbis_text::pii::mask(text))
        });
        let state = CaseState::parse(&row.state).ok_or_else(|| {
            tracing::error!(case_id = row.id, state = %row.state, "unknown stored state");
            ServiceError::internal()
        })?;
        Ok(PublicCase {
            id: row.id,
            title: urbis_text::pii::mask(&row.title),
            closed: matches!(
                state,
                CaseState::Closed | CaseState::Evaluated | CaseState::Voided
            ),
            number: row.number,
            category_name: row.category_name,
            state: row.state,
            created_at: row.created_at,
            updated_at: row.updated_at,
            reply,
            rating: row.satisfaction,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::sniff_image;

    #[test]
    fn magic_bytes_decide_the_type() {
        assert_eq!(
            sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0, 0]),
            Some("image/jpeg")
        );
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n rest"), Some("image/png"));
        assert_eq!(sniff_image(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"RIFF\x10\0\0\0WAVE"), None);
        assert_eq!(sniff_image(b"<svg xmlns="), None);
        assert_eq!(sniff_image(b""), None);
    }
}
