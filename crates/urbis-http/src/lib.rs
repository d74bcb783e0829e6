//! Urbis HTTP API. [`app`] is the only way to build the router; tests use it too. Handlers are
//! thin: extract, make one service call, map the result to a wire shape. Errors become statuses
//! in one place (`error`).

mod apidoc;
mod ckan;
pub mod dto;
pub mod error;
pub mod extract;
mod ngsild;
mod open311;
mod routes;
mod security;
pub mod server;
mod telemetry;

pub use ngsild::spawn_notifier as spawn_ngsild_notifier;
pub use routes::residents::spawn_outbox_worker;
pub use server::serve;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use urbis_service::Services;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub metrics: Option<Arc<PrometheusHandle>>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Urbis API", description = "城治 — municipal appeals, cases, evaluation."),
    modifiers(&BearerAuth),
    tags((name = "cases"), (name = "auth"), (name = "admin"), (name = "stats"), (name = "grids"), (name = "data"), (name = "assessment"), (name = "sensors"), (name = "cohandle"))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Installs the process-wide Prometheus recorder once and returns its handle.
pub fn metrics_handle() -> Option<Arc<PrometheusHandle>> {
    static HANDLE: OnceLock<Option<Arc<PrometheusHandle>>> = OnceLock::new();
    HANDLE
        .get_or_init(|| telemetry::install().map(Arc::new))
        .clone()
}

/// Returns the OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut api = api_router().split_for_parts().1;
    apidoc::declare_errors(&mut api);
    api
}

fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::auth::router())
        .merge(routes::cases::router())
        .merge(routes::split::router())
        .merge(routes::admin::router())
        .merge(routes::stats::router())
        .merge(routes::assessment::router())
        .merge(routes::insight::router())
        .merge(routes::events::router())
        .merge(routes::geo::router())
        .merge(routes::attachments::router())
        .merge(routes::public::router())
        .merge(routes::sharing::router())
        .merge(routes::sensors::router())
        .merge(routes::residents::router())
        .merge(routes::followup::router())
        .merge(routes::basemap::router())
        .merge(routes::participation::router())
        .merge(routes::polls::router())
        .merge(routes::sandbox::router())
        .merge(routes::cohandle::router())
}

/// Largest request body accepted anywhere.
pub const BODY_LIMIT_BYTES: usize = 256 * 1024;

/// Builds the whole HTTP application.
pub fn app(state: AppState) -> Router {
    let (router, mut api) = api_router().split_for_parts();
    apidoc::declare_errors(&mut api);
    let api = Arc::new(api);
    router
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let api = api.clone();
                async move { axum::Json(api.as_ref().clone()) }
            }),
        )
        .route("/healthz", get(routes::system::healthz))
        .route("/readyz", get(routes::system::readyz))
        .route("/metrics", get(routes::system::metrics))
        .merge(open311::router())
        .merge(ckan::router())
        .merge(ngsild::router())
        // The web UI: `/`, the bundle's files and every other non-API GET (see routes::ui).
        .fallback(routes::ui::fallback)
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(telemetry::layer(state.clone()))
        .layer(security::headers())
        .with_state(state)
}
