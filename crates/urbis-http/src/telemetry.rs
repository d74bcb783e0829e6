//! HTTP telemetry, added to the router as one layer ([`layer`]): every request gets a request id
//! (the caller's `x-request-id` when it is a short token, else a new UUID), a tracing span
//! carrying it with the method and the route template, one access-log event when the response
//! is ready, and the `x-request-id` response header. Metrics per route template (axum's
//! `MatchedPath`, so `/api/v1/cases/{id}`, never the raw path), method and status class:
//! `urbis_http_requests_total`, `urbis_http_request_duration_seconds` and
//! `urbis_http_requests_in_flight`. [`install`] sets up the Prometheus recorder and describes
//! every series of the process at once, so the first scrape sees them all.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, Method, Response};
use axum::middleware::Next;
use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::AppState;

/// The request id header, read from the caller and always set on the response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route label of requests that matched no route (the web UI and unknown paths).
const FALLBACK_ROUTE: &str = "fallback";

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Upper bounds of the intake group size buckets.
const BATCH_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// Installs the process-wide Prometheus recorder (histograms with buckets, not summaries) and
/// describes every Urbis series with its first value. `None` when another recorder is installed.
pub(crate) fn install() -> Option<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
        .ok()?
        .set_buckets_for_metric(
            Matcher::Full("urbis_intake_batch_size".into()),
            &BATCH_BUCKETS,
        )
        .ok()?
        .install_recorder()
        .ok()?;
    describe();
    urbis_service::telemetry::describe();
    Some(handle)
}

fn describe() {
    describe_counter!(
        "urbis_http_requests_total",
        "HTTP requests answered, by route template, method and status class (2xx, 4xx, 5xx, …)."
    );
    describe_histogram!(
        "urbis_http_request_duration_seconds",
        Unit::Seconds,
        "Time from receiving a request to its response head, by route template and method."
    );
    describe_gauge!(
        "urbis_http_requests_in_flight",
        "HTTP requests whose response head is not yet sent (an open live feed counts until it opens)."
    );
    metrics::gauge!("urbis_http_requests_in_flight").set(0.0);
    // Every documented route starts at zero, so rate() sees its first request.
    let api = crate::openapi();
    for (path, item) in &api.paths.paths {
        let methods = [
            (Method::GET, item.get.is_some()),
            (Method::POST, item.post.is_some()),
            (Method::PUT, item.put.is_some()),
            (Method::PATCH, item.patch.is_some()),
            (Method::DELETE, item.delete.is_some()),
        ];
        for (method, _) in methods.iter().filter(|(_, present)| *present) {
            register_route(path, method_label(method));
        }
    }
    for path in ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"] {
        register_route(path, "GET");
    }
    register_route(FALLBACK_ROUTE, "GET");
}

fn register_route(route: &str, method: &'static str) {
    let route = route.to_owned();
    metrics::counter!("urbis_http_requests_total",
        "route" => route.clone(), "method" => method, "status_class" => "2xx")
    .absolute(0);
    let _registered = metrics::histogram!("urbis_http_request_duration_seconds",
        "route" => route, "method" => method);
}

/// A bounded method label.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

fn route_of<B>(request: &axum::http::Request<B>) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| FALLBACK_ROUTE.to_owned())
}

/// The telemetry layer: request id, span and access log, metrics.
pub(crate) fn layer(
    state: AppState,
) -> impl tower::Layer<
    axum::routing::Route,
    Service: tower::Service<
        Request,
        Response: axum::response::IntoResponse + 'static,
        Error: Into<std::convert::Infallible> + 'static,
        Future: Send + 'static,
    > + Clone
                 + Send
                 + Sync
                 + 'static,
> + Clone
+ Send
+ Sync
+ 'static {
    ServiceBuilder::new()
        .layer(axum::middleware::from_fn(drop_unusable_request_id))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    let id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    tracing::info_span!(
                        "request",
                        request_id = id,
                        method = %request.method(),
                        route = %route_of(request),
                        user_id = tracing::field::Empty,
                    )
                })
                .on_request(())
                .on_response(|response: &Response<_>, latency: Duration, _span: &Span| {
                    tracing::info!(
                        target: "urbis_http::access",
                        status = response.status().as_u16(),
                        latency_ms = latency.as_secs_f64() * 1000.0,
                        "request"
                    );
                })
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(axum::middleware::from_fn_with_state(state, track))
}

/// Keeps a caller's request id only when it is a short token (≤ 64 of `A-Za-z0-9._-`), so logs
/// never carry arbitrary text; otherwise a new one is made.
async fn drop_unusable_request_id(mut request: Request, next: Next) -> axum::response::Response {
    let usable = request.headers().get(REQUEST_ID).is_some_and(|v| {
        let bytes = v.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= 64
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    });
    if !usable {
        request.headers_mut().remove(REQUEST_ID);
    }
    next.run(request).await
}

/// Counts and times one request; a scrape of `/metrics` first refreshes the business gauges.
async fn track(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> axum::response::Response {
    let route = route_of(&request);
    let method = method_label(request.method());
    if route == "/metrics" {
        state.services.refresh_ops_gauges().await;
    }
    let in_flight = metrics::gauge!("urbis_http_requests_in_flight");
    in_flight.increment(1.0);
    let _done = InFlight(in_flight);
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    metrics::histogram!("urbis_http_request_duration_seconds",
        "route" => route.clone(), "method" => method)
    .record(started.elapsed().as_secs_f64());
    metrics::counter!("urbis_http_requests_total",
        "route" => route, "method" => method, "status_class" => status_class(status))
    .increment(1);
    response
}

/// Leaves the in-flight gauge when the request ends, also when its future is dropped.
struct InFlight(metrics::Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}
