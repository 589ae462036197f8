//! HTTP errors of the JSON API, mapped to status codes in this one place.
//!
//! Bad input is always a 4xx with a JSON body that names the problem. A 500 is reserved for
//! the server's own failures (a storage error); its body carries no detail, the log does.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// One problem with a submission's data, at a field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field's dotted path, e.g. `antragsteller.vorname` or `kinder.0.geburtsdatum`.
    pub field: String,
    /// A stable code: `required`, `too_long`, `invalid_iban`, a rule's id, …
    pub code: String,
    /// A message for the citizen, in the language asked for.
    pub message: String,
}

/// The body of every error response except 422.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code: `not_found`, `malformed_json`, `payload_too_large`, …
    pub code: &'static str,
    pub message: String,
}

/// The body of a 422 response.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvalidBody {
    pub errors: Vec<FieldProblem>,
}

/// The body of a 422 response of `/submissions`: the answers' errors, or the one error of an
/// `Idempotency-Key` used before with another body.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Unprocessable {
    Invalid(InvalidBody),
    KeyReused(ErrorBody),
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Malformed(String),
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the data is not valid")]
    Invalid(Vec<FieldProblem>),
    #[error("this Idempotency-Key was used before with a different request")]
    KeyReused,
    /// With the seconds until the client may try again (`Retry-After`).
    #[error("too many requests; try again in {0} seconds")]
    RateLimited(u64),
    #[error("too many requests from this address at once; try again in a second")]
    TooManyConnections,
    /// The request, its body included, took longer than this many seconds.
    #[error("the request took longer than {0} seconds")]
    Timeout(u64),
    #[error("a valid bearer token for this municipality is required")]
    Unauthorized,
    /// A request signed by a peer (a FIT-Connect callback) whose signature does not hold.
    #[error("{0}")]
    BadSignature(String),
    /// A page's form sent without the token of its session (an old tab, a forged post).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// The municipality's uploads have reached their quota (bytes).
    #[error(
        "this municipality's storage for uploads is full ({0} bytes); please send the form without the file or try again later"
    )]
    QuotaExceeded(u64),
    /// The store cannot write just now (a full disk, say); it recovers by itself. The detail
    /// goes to the log.
    #[error("the service cannot store anything just now; please try again in a minute")]
    Unavailable(String),
    /// A failure of the server itself. The detail goes to the log, never to the client.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// Seconds after which a refused request may be tried again, for `Retry-After`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited(seconds) => Some(*seconds),
            ApiError::TooManyConnections => Some(1),
            ApiError::Unavailable(_) => Some(30),
            _ => None,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) => "not_found",
            ApiError::Malformed(_) => "malformed_request",
            ApiError::TooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Invalid(_) => "invalid",
            ApiError::KeyReused => "idempotency_key_reused",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::TooManyConnections => "too_many_connections",
            ApiError::Timeout(_) => "request_timeout",
            ApiError::Unauthorized | ApiError::BadSignature(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::QuotaExceeded(_) => "quota_exceeded",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid(_) | ApiError::KeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited(_) | ApiError::TooManyConnections => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unauthorized | ApiError::BadSignature(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::QuotaExceeded(_) => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(seconds) = self.retry_after() {
            response.insert_header((actix_web::http::header::RETRY_AFTER, seconds.to_string()));
        }
        match self {
            ApiError::Invalid(errors) => response.json(InvalidBody { errors: errors.clone() }),
            ApiError::Unavailable(detail) => {
                log::warn!("store unavailable: {detail}");
                response.json(ErrorBody {
                    error: ErrorDetail {
                        code: self.code(),
                        message: self.to_string(),
                    },
                })
            }
            ApiError::Internal(detail) => {
                log::error!("internal error: {detail}");
                response.json(ErrorBody {
                    error: ErrorDetail {
                        code: self.code(),
                        message: "Der Server konnte die Anfrage nicht ausführen. / The server could not complete the request.".into(),
                    },
                })
            }
            ApiError::Unauthorized => response.insert_header(("WWW-Authenticate", "Bearer")).json(ErrorBody {
                error: ErrorDetail {
                    code: self.code(),
                    message: self.to_string(),
                },
            }),
            _ => response.json(ErrorBody {
                error: ErrorDetail {
                    code: self.code(),
                    message: self.to_string(),
                },
            }),
        }
    }
}

impl From<baukasten_store::StoreError> for ApiError {
    /// A storage failure or a store shutting down is temporary (503, try again); anything else
    /// (a damaged record, an incompatible file) is the server's fault (500).
    fn from(e: baukasten_store::StoreError) -> Self {
        match e.kind {
            baukasten_store::ErrorKind::Io | baukasten_store::ErrorKind::Closed => ApiError::Unavailable(e.to_string()),
            _ => ApiError::Internal(e.to_string()),
        }
    }
}

/// Maps actix's JSON extractor errors to ours: 413, 415 or 400, each with a JSON body.
pub fn json_error(err: actix_web::error::JsonPayloadError, limit: usize) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => ApiError::TooLarge(limit),
        E::ContentType => ApiError::UnsupportedMediaType("send the body as application/json".into()),
        E::Deserialize(e) => ApiError::Malformed(format!("malformed JSON: {e}")),
        other => ApiError::Malformed(format!("could not read the body: {other}")),
    }
}
