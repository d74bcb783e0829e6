//! The service error: a small transport-neutral kind plus a stable snake_case code and a message
//! safe to show to the caller. Internal details are logged where they happen, never returned.

use urbis_domain::appeal::InvalidField;
use urbis_domain::workflow::WorkflowError;
use urbis_storage::StorageError;

/// What kind of failure this is; the HTTP layer maps kinds to status codes in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    Conflict,
    InvalidInput,
    Unauthenticated,
    Forbidden,
    Unavailable,
    /// The caller must slow down; retry after this many seconds.
    TooManyRequests {
        retry_after_secs: u64,
    },
    Internal,
}

/// A failed service call.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
}

impl ServiceError {
    /// Builds an error from its parts.
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        ServiceError {
            kind,
            code,
            message: message.into(),
        }
    }

    /// Input that breaks a rule of the API.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, code, message)
    }

    /// Something that does not exist, or that the caller may not know exists.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// The caller is known but may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, "forbidden", message)
    }

    /// The caller is not logged in or the token is no good.
    pub fn unauthenticated() -> Self {
        Self::new(
            ErrorKind::Unauthenticated,
            "unauthenticated",
            "a valid bearer token is required",
        )
    }

    /// A failure the caller cannot fix; the details were logged.
    pub fn internal() -> Self {
        Self::new(ErrorKind::Internal, "internal", "internal error")
    }
}

impl From<StorageError> for ServiceError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::NotFound(what) => ServiceError::not_found(what),
            StorageError::Conflict(message) => {
                ServiceError::new(ErrorKind::Conflict, "conflict", message)
            }
            StorageError::Unavailable(kind, message) => {
                crate::metrics::storage_failure(kind, &message);
                let shown = match kind {
                    urbis_storage::Unavailable::Full => {
                        "the store is full; nothing was saved — try again later"
                    }
                    _ => "the store cannot save right now; nothing was saved — try again later",
                };
                ServiceError::new(ErrorKind::Unavailable, kind.code(), shown)
            }
            other => {
                tracing::error!(error = %other, "storage failure");
                ServiceError::internal()
            }
        }
    }
}

impl From<WorkflowError> for ServiceError {
    fn from(err: WorkflowError) -> Self {
        let kind = match err {
            WorkflowError::RoleNotAllowed { .. } | WorkflowError::OutOfScope => {
                ErrorKind::Forbidden
            }
            WorkflowError::IllegalTransition { .. }
            | WorkflowError::RequestPending(_)
            | WorkflowError::NoPendingRequest => ErrorKind::Conflict,
            WorkflowError::TextRequired(_)
            | WorkflowError::BadExtension
            | WorkflowError::BadDispatch => ErrorKind::InvalidInput,
        };
        ServiceError::new(kind, err.code(), err.to_string())
    }
}

impl From<InvalidField> for ServiceError {
    fn from(err: InvalidField) -> Self {
        ServiceError::invalid("invalid_field", err.to_string())
    }
}
