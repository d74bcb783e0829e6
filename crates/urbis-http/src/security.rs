//! Response headers every answer carries: a strict Content-Security-Policy (scripts only from the
//! page's own origin, no inline script, no framing), `X-Content-Type-Options: nosniff`,
//! `Referrer-Policy: no-referrer`, and `Cache-Control: no-store` on JSON answers that set no
//! caching of their own (API answers hold personal data and must not sit in shared caches).

use axum::http::{HeaderValue, Response, header};
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};
use tower_http::set_header::SetResponseHeaderLayer;

/// The policy of every page. Styles allow inline attributes because the chart library positions
/// its tooltips with them; scripts never run inline.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
    font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

type Header = SetResponseHeaderLayer<HeaderValue>;
type NoStore = SetResponseHeaderLayer<fn(&Response<axum::body::Body>) -> Option<HeaderValue>>;

fn no_store_for_json(response: &Response<axum::body::Body>) -> Option<HeaderValue> {
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/event-stream"));
    json.then(|| HeaderValue::from_static("no-store"))
}

/// The layer that adds them.
#[allow(clippy::type_complexity)]
pub(crate) fn headers() -> ServiceBuilder<
    Stack<NoStore, Stack<Header, Stack<Header, Stack<Header, Stack<Header, Identity>>>>>,
> {
    ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            no_store_for_json as fn(&Response<axum::body::Body>) -> Option<HeaderValue>,
        ))
}
