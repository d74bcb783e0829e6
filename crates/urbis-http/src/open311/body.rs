//! Parameters of Open311 calls: query strings, `application/x-www-form-urlencoded` bodies and
//! `multipart/form-data` bodies with photos. Every input is bounded: a query string or form body
//! by [`PARAMS_MAX_BYTES`], a multipart body by [`MULTIPART_MAX_BYTES`].

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use urbis_service::ServiceError;
use urbis_service::open311::Photo;

use super::Open311Error;
use super::format::{Format, decode_form};

/// Largest query string or form body an Open311 call reads: about 4,000 case numbers in one
/// `service_request_id` list, or a 20,000-character description in Chinese percent-encoded.
pub(crate) const PARAMS_MAX_BYTES: usize = 192 * 1024;
/// Largest multipart body (photos included).
pub(crate) const MULTIPART_MAX_BYTES: usize = 24 * 1024 * 1024;

/// The parameters of one call. The first occurrence of a name wins, except `media_url`, which
/// may repeat.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pub map: HashMap<String, String>,
    pub media_urls: Vec<String>,
    pub photos: Vec<Photo>,
}

impl Params {
    pub(crate) fn get(&self, key: &str) -> Option<String> {
        self.map.get(key).cloned()
    }

    pub(crate) fn flag(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| v.trim() == "true")
    }

    fn add(&mut self, key: String, value: String) {
        // `media_url[]` is how some clients repeat a field.
        if key == "media_url" || key == "media_url[]" {
            self.media_urls.push(value);
        } else {
            self.map.entry(key).or_insert(value);
        }
    }

    /// Adds the pairs of a query string or form body.
    pub(crate) fn add_form(&mut self, text: &str, format: Format) -> Result<(), Open311Error> {
        if text.len() > PARAMS_MAX_BYTES {
            return Err(Open311Error::too_large(format, PARAMS_MAX_BYTES));
        }
        for (key, value) in decode_form(text) {
            self.add(key, value);
        }
        Ok(())
    }
}

/// Reads a query string.
pub(crate) fn query_params(query: Option<&str>, format: Format) -> Result<Params, Open311Error> {
    let mut params = Params::default();
    params.add_form(query.unwrap_or(""), format)?;
    Ok(params)
}

fn bad_body(format: Format, message: impl Into<String>) -> Open311Error {
    Open311Error::new(format, ServiceError::invalid("invalid_body", message))
}

/// Reads a POST: the body's parameters first, then the query string's.
pub(crate) async fn post_params(request: Request, format: Format) -> Result<Params, Open311Error> {
    let query = request.uri().query().map(str::to_owned);
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let multipart = content_type.starts_with("multipart/form-data");
    let limit = if multipart {
        MULTIPART_MAX_BYTES
    } else {
        PARAMS_MAX_BYTES
    };
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| Open311Error::too_large(format, limit))?;
    let mut params = Params::default();
    if multipart {
        let request = Request::from_parts(parts, Body::from(bytes));
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|err| bad_body(format, format!("multipart body: {err}")))?;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|err| bad_body(format, format!("multipart body: {err}")))?
        {
            let name = field.name().unwrap_or("").to_owned();
            let is_file = field.file_name().is_some()
                || field
                    .content_type()
                    .is_some_and(|t| !t.starts_with("text/"));
            let mime = field.content_type().unwrap_or("").to_owned();
            let data = field
                .bytes()
                .await
                .map_err(|err| bad_body(format, format!("multipart body: {err}")))?;
            if is_file {
                // Photos are kept; other files (documents a client may attach) are not.
                if urbis_service::attachments::sniff_image(&data).is_some() {
                    params.photos.push(Photo {
                        mime,
                        bytes: data.to_vec(),
                    });
                }
            } else {
                let value = String::from_utf8(data.to_vec())
                    .map_err(|_| bad_body(format, format!("{name}: not UTF-8")))?;
                params.add(name, value);
            }
        }
    } else {
        params.add_form(&String::from_utf8_lossy(&bytes), format)?;
    }
    let mut from_query = Params::default();
    from_query.add_form(query.as_deref().unwrap_or(""), format)?;
    for (key, value) in from_query.map {
        params.map.entry(key).or_insert(value);
    }
    if params.media_urls.is_empty() {
        params.media_urls = from_query.media_urls;
    }
    Ok(params)
}
