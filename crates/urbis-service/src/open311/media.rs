//! Photos and media URLs of Open311 requests and updates: the `media_url` values clients send,
//! photos in multipart POSTs (stored as case attachments, each audited), and the public URL of a
//! case's photo.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use urbis_domain::appeal::limits;
use urbis_domain::role::Actor;
use urbis_storage::Conn;
use urbis_storage::attachments::{self as attachment_repo, NewAttachment};
use urbis_storage::open311 as repo;

use super::not_found;
use crate::attachments::{MAX_BYTES, MAX_PER_CASE, sniff_image};
use crate::{Result, ServiceError, Services};

/// Most `media_url` values one POST may send.
pub const MEDIA_URLS_MAX: usize = 9;

/// A photo sent in a multipart POST.
#[derive(Debug, Clone)]
pub struct Photo {
    pub mime: String,
    pub bytes: Vec<u8>,
}

/// Checks the media URLs a client sent: http(s), at most 500 characters, at most nine.
pub(crate) fn check_media_urls(urls: &[String]) -> Result<Vec<String>> {
    let urls: Vec<String> = urls
        .iter()
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .collect();
    if urls.len() > MEDIA_URLS_MAX {
        return Err(ServiceError::invalid(
            "invalid_media_url",
            format!("at most {MEDIA_URLS_MAX} media_url values"),
        ));
    }
    for url in &urls {
        let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
        if !scheme_ok
            || url.chars().count() > limits::PHOTO_URL_MAX_CHARS
            || url.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ServiceError::invalid(
                "invalid_media_url",
                format!(
                    "media_url must be an http(s) URL of at most {} characters",
                    limits::PHOTO_URL_MAX_CHARS
                ),
            ));
        }
    }
    Ok(urls)
}

/// Checks photos before anything is stored: accepted types, size, count.
pub(crate) fn check_photos(photos: &[Photo]) -> Result<()> {
    if photos.len() > limits::PHOTOS_MAX {
        return Err(ServiceError::invalid(
            "attachment_limit",
            format!("at most {} photos", limits::PHOTOS_MAX),
        ));
    }
    for photo in photos {
        if photo.bytes.len() > MAX_BYTES {
            return Err(ServiceError::invalid(
                "attachment_too_large",
                format!("a photo may be at most {MAX_BYTES} bytes"),
            ));
        }
        if sniff_image(&photo.bytes).is_none() {
            return Err(ServiceError::invalid(
                "attachment_bad_type",
                "photos must be JPEG, PNG or WebP images",
            ));
        }
    }
    Ok(())
}

/// Stores photos on a case in the caller's transaction (each with its `attach` audit record) up
/// to the per-case limit; returns how many did not fit.
pub(crate) async fn store_photos(
    conn: &mut Conn,
    actor: &Actor,
    case_id: i64,
    state: &str,
    photos: &[Photo],
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut skipped = 0;
    let created_at = now;
    for photo in photos {
        if attachment_repo::count_for_case(conn, case_id).await? >= MAX_PER_CASE {
            skipped += 1;
            continue;
        }
        // The magic bytes decide the type (checked by `check_photos`).
        let mime = sniff_image(&photo.bytes).unwrap_or("image/jpeg");
        let sha256 = hex::encode(Sha256::digest(&photo.bytes));
        let row = attachment_repo::insert(
            conn,
            &NewAttachment {
                case_id,
                kind: "appeal",
                mime,
                sha256: &sha256,
                uploaded_by: None,
                created_at: created_at,
                bytes: &photo.bytes,
            },
        )
        .await?;
        crate::audit::record(
            conn,
            now,
            Some(actor),
            "attach",
            "case",
            case_id,
            state,
            state,
            &serde_json::json!({
                "attachment_id": row.id,
                "kind": "appeal",
                "mime": mime,
                "size": row.size,
                "sha256": sha256,
                "channel": "open311",
            }),
        )
        .await?;
    }
    Ok(skipped)
}

impl Services {
    /// Returns a photo of a case that is not voided: (content type, bytes).
    pub async fn open311_media(&self, attachment_id: i64) -> Result<(String, Vec<u8>)> {
        let mut conn = self.db().read().await?;
        let (_, mime) = repo::public_attachment(&mut conn, attachment_id)
            .await?
            .ok_or_else(|| not_found("unknown_media", "no such media"))?;
        let bytes = attachment_repo::bytes(&mut conn, attachment_id).await?;
        Ok((mime, bytes))
    }

    /// The public URL of a stored photo.
    pub(crate) fn open311_media_url(&self, attachment_id: i64) -> String {
        format!(
            "{}/open311/v2/media/{attachment_id}",
            self.config().public_url.trim_end_matches('/')
        )
    }
}
