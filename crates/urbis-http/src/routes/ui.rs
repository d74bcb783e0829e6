//! The embedded web UI (`urbis_web`): `/` and every path that is not an API path get
//! `index.html` (the UI routes by URL hash), bundle files are served by path. API prefixes keep
//! their JSON 404 so a client never mistakes the page for an answer.

use axum::http::{HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Paths that belong to the API or the operations endpoints, never to the UI.
const API_PREFIXES: [&str; 5] = ["/api", "/open311", "/healthz", "/readyz", "/metrics"];

fn is_api_path(path: &str) -> bool {
    API_PREFIXES.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// Answers every request no route matched: the UI for GET and HEAD outside the API, else the
/// API's JSON 404.
pub(crate) async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if !matches!(method, Method::GET | Method::HEAD) || is_api_path(path) {
        return ApiError(urbis_service::ServiceError::not_found("route")).into_response();
    }
    let asset = urbis_web::get(path).unwrap_or_else(urbis_web::index);
    let cache = if asset.immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::is_api_path;

    #[test]
    fn api_prefixes_match_whole_segments() {
        for path in [
            "/api",
            "/api/v1/nope",
            "/open311/v2/x.json",
            "/healthz",
            "/metrics",
        ] {
            assert!(is_api_path(path), "{path}");
        }
        for path in ["/", "/apis", "/dashboard", "/metricsx", "/assets/app.js"] {
            assert!(!is_api_path(path), "{path}");
        }
    }
}
