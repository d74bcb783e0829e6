//! The live feed (`GET /api/v1/events`, server-sent events) for dispatchers' and leaders' screens.
//!
//! Every event carries an `id:`; a client that reconnects with `Last-Event-ID` first gets the
//! events it missed (from a bounded window), or a `reset` event when they are no longer known,
//! telling it to reload. A listener sees only events of cases it may read; the stream ends when
//! its session ends (logout, disabled account, expiry — checked every second) and when the
//! server begins to stop, so a graceful shutdown never waits on an open feed.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;
use urbis_domain::role::{Actor, Role};
use urbis_service::{CaseEvent, Services, Subscription};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Auth;

/// How often an open feed checks that its session is still valid.
const SESSION_CHECK: Duration = Duration::from_secs(1);

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

/// A server-sent stream of case events (new, changed, escalated) for live screens.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "stats",
    params(("Last-Event-ID" = Option<String>, Header, description = "id of the last event received; the missed events are sent first")),
    responses(
        (status = 200, description = "text/event-stream of `case` events (JSON: case_id, number, action, state, at) and `reset` events"),
        (status = 401, description = "not logged in", body = ErrorBody),
        (status = 403, description = "role without a live feed", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Auth(actor): Auth,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    urbis_service::auth::require_role(
        &actor,
        &[
            Role::Leader,
            Role::Admin,
            Role::ShiftLead,
            Role::Dispatcher,
            Role::Operator,
        ],
    )?;
    // Auth succeeded, so the header holds a bearer token.
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .unwrap_or_default();
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64);
    let subscription = state.services.subscribe(last_event_id);
    let feed = Feed {
        services: state.services.clone(),
        token,
        actor,
        pending: subscription.missed.iter().cloned().collect(),
        reset: subscription.gap,
        stopping: Box::pin(state.services.stopping()),
        check: tokio::time::interval_at(tokio::time::Instant::now() + SESSION_CHECK, SESSION_CHECK),
        subscription,
    };
    let stream = futures::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

struct Feed {
    services: Services,
    token: String,
    actor: Actor,
    subscription: Subscription,
    pending: VecDeque<Arc<CaseEvent>>,
    reset: bool,
    stopping: Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    check: tokio::time::Interval,
}

impl Feed {
    /// The next event for this listener; None ends the stream.
    async fn next(&mut self) -> Option<Event> {
        if std::mem::take(&mut self.reset) {
            return Some(reset_event());
        }
        while let Some(event) = self.pending.pop_front() {
            if event.visible_to(&self.actor) {
                return Some(self.case_event(&event));
            }
        }
        loop {
            tokio::select! {
                () = &mut self.stopping => return None,
                _ = self.check.tick() => {
                    if self.services.authenticate(&self.token).await.is_err() {
                        return None;
                    }
                }
                received = self.subscription.receiver.recv() => match received {
                    Ok(event) if event.visible_to(&self.actor) => return Some(self.case_event(&event)),
                    Ok(_) => {}
                    // Too slow a reader lost events: tell it to reload.
                    Err(RecvError::Lagged(_)) => return Some(reset_event()),
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }

    fn case_event(&self, event: &CaseEvent) -> Event {
        let data = serde_json::json!({
            "case_id": event.case_id, "number": event.number, "action": event.action,
            "state": event.state, "at": urbis_service::time::to_db(event.at),
        });
        Event::default()
            .id(self.subscription.event_id(event))
            .event("case")
            .data(data.to_string())
    }
}

fn reset_event() -> Event {
    Event::default()
        .event("reset")
        .data(r#"{"reason":"events were missed; reload"}"#)
}
