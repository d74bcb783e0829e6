//! The documents Open311 answers with, built as [`Node`]s (one model, two formats).

use chrono::{DateTime, FixedOffset, Utc};
use urbis_service::open311::{PublicRequest, PublicService, PublicUpdate};

use super::format::Node;
use crate::AppState;

/// Formats an instant in the city's offset (W3C datetime, seconds precision).
pub(super) fn datetime(state: &AppState, at: DateTime<Utc>) -> String {
    let offset = FixedOffset::east_opt(state.services.config().utc_offset_minutes * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset is valid"));
    at.with_timezone(&offset)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

pub(super) fn service_node(service: &PublicService) -> Node {
    Node::Object(vec![
        ("service_code", Node::text(&service.code)),
        ("service_name", Node::text(&service.name)),
        ("description", Node::text(&service.description)),
        ("metadata", Node::Bool(false)),
        ("type", Node::text("realtime")),
        ("keywords", Node::text(service.keywords.join(","))),
        ("group", Node::text(&service.group)),
    ])
}

pub(super) fn list(item: &'static str, items: Vec<Node>) -> Node {
    Node::List { item, items }
}

/// One request; `extensions` adds `extended_attributes` and the public trail as `notes`.
pub(super) fn request_node(state: &AppState, request: &PublicRequest, extensions: bool) -> Node {
    let mut fields = vec![
        ("service_request_id", Node::text(&request.number)),
        (
            "status",
            Node::text(if request.status.is_open() {
                "open"
            } else {
                "closed"
            }),
        ),
        ("status_notes", Node::text(&request.status_notes)),
        ("service_name", Node::text(&request.service_name)),
        ("service_code", Node::text(&request.service_code)),
        ("description", Node::text(&request.description)),
        (
            "agency_responsible",
            Node::opt_text(request.agency_responsible.clone()),
        ),
        (
            "service_notice",
            Node::opt_text(request.service_notice.clone()),
        ),
        (
            "requested_datetime",
            Node::text(datetime(state, request.requested_at)),
        ),
        (
            "updated_datetime",
            Node::text(datetime(state, request.updated_at)),
        ),
        (
            "expected_datetime",
            Node::opt_text(request.expected_at.map(|at| datetime(state, at))),
        ),
        ("address", Node::text(&request.address)),
        ("address_id", Node::text(&request.address_id)),
        ("zipcode", Node::Null),
        ("lat", Node::opt_number(request.lat)),
        ("long", Node::opt_number(request.lon)),
        ("media_url", Node::opt_text(request.media_url.clone())),
    ];
    if extensions {
        fields.push((
            "extended_attributes",
            Node::Object(vec![
                ("status", Node::text(request.status.as_str())),
                ("state", Node::text(&request.state)),
                ("case_request_id", Node::text(&request.case_number)),
                ("channel", Node::text(&request.channel)),
                ("closure_type", Node::opt_text(request.closure_type.clone())),
            ]),
        ));
        let notes = request
            .notes
            .iter()
            .map(|note| {
                Node::Object(vec![
                    ("datetime", Node::text(datetime(state, note.at))),
                    (
                        "type",
                        Node::text(if note.submitted {
                            "submitted"
                        } else {
                            "activity"
                        }),
                    ),
                    ("status", Node::text(note.status.as_str())),
                    ("summary", Node::text(&note.summary)),
                ])
            })
            .collect();
        fields.push(("notes", list("note", notes)));
    }
    Node::Object(fields)
}

pub(super) fn update_node(state: &AppState, update: &PublicUpdate) -> Node {
    Node::Object(vec![
        ("update_id", Node::text(&update.update_id)),
        ("service_request_id", Node::text(&update.number)),
        ("status", Node::text(update.status.as_str())),
        ("updated_datetime", Node::text(datetime(state, update.at))),
        ("description", Node::text(&update.description)),
        ("media_url", Node::opt_text(update.media_url.clone())),
    ])
}

/// The discovery document: the endpoint's URL comes from the configured public URL, its
/// changeset from the last change of the service list.
pub(super) fn discovery_node(state: &AppState, changeset: Option<DateTime<Utc>>) -> Node {
    let changeset = changeset.map_or_else(
        || "2026-01-01T00:00:00+08:00".to_owned(),
        |at| datetime(state, at),
    );
    let base = state.services.config().public_url.trim_end_matches('/');
    Node::Object(vec![
        ("changeset", Node::text(&changeset)),
        (
            "contact",
            Node::text("城治 Urbis — the city's 12345 office"),
        ),
        (
            "key_service",
            Node::text("api keys are issued by the city's administrator"),
        ),
        (
            "endpoints",
            list(
                "endpoint",
                vec![Node::Object(vec![
                    (
                        "specification",
                        Node::text("http://wiki.open311.org/GeoReport_v2"),
                    ),
                    ("url", Node::text(format!("{base}/open311/v2"))),
                    ("changeset", Node::text(&changeset)),
                    ("type", Node::text("production")),
                    (
                        "formats",
                        list(
                            "format",
                            vec![Node::text("text/xml"), Node::text("application/json")],
                        ),
                    ),
                ])],
            ),
        ),
    ])
}
