//! Declares in the OpenAPI document the error statuses every operation can answer, so that a
//! client (or a conformance checker such as schemathesis) finds each status it may meet:
//! 400 (malformed JSON or query), 401 (missing or bad bearer token), 403 (role), 404 (unknown or
//! out-of-scope ids), 422 (invalid field), 409/413/415 on writes, 429 where requests are
//! rate-limited. Each is `{code, message}` (`ErrorBody`).

use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// Operations limited per client or per user (429 `too_many_attempts`, `too_many_appeals`,
/// `photo_quota_exceeded`).
const THROTTLED: [(&str, HttpMethod); 4] = [
    ("/api/v1/auth/login", HttpMethod::Post),
    ("/api/v1/auth/register", HttpMethod::Post),
    ("/api/v1/appeals", HttpMethod::Post),
    ("/api/v1/cases/{id}/attachments", HttpMethod::Post),
];

fn add(operation: &mut Operation, status: &str, description: &str) {
    let responses = &mut operation.responses.responses;
    if responses.contains_key(status) {
        return;
    }
    let response = ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    responses.insert(status.to_owned(), RefOr::T(response));
}

/// Adds the error responses to every operation of the document.
pub(crate) fn declare_errors(api: &mut OpenApi) {
    for (path, item) in api.paths.paths.iter_mut() {
        let methods = [
            (HttpMethod::Get, &mut item.get),
            (HttpMethod::Post, &mut item.post),
            (HttpMethod::Put, &mut item.put),
            (HttpMethod::Patch, &mut item.patch),
            (HttpMethod::Delete, &mut item.delete),
        ];
        for (method, operation) in methods {
            let Some(operation) = operation.as_mut() else {
                continue;
            };
            add(operation, "400", "malformed JSON body or query string");
            add(operation, "401", "missing, expired or unknown bearer token");
            add(operation, "403", "the caller's role may not do this");
            add(operation, "404", "not found, or outside the caller's scope");
            add(
                operation,
                "422",
                "a field breaks a rule (stable code in the body)",
            );
            if method != HttpMethod::Get {
                add(operation, "409", "conflicts with the current state");
                add(operation, "413", "body too large");
                add(operation, "415", "unsupported content type");
            }
            if THROTTLED.contains(&(path.as_str(), method)) {
                add(
                    operation,
                    "429",
                    "too many requests; wait for the seconds in Retry-After",
                );
            }
        }
    }
}
