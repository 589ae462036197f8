//! The JSON back office, for a municipality's systems with its bearer token: its submissions,
//! one submission, and state changes along the process.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use baukasten_engine::Lifecycle;
use baukasten_store::{StateChanged, Submission};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use utoipa::{IntoParams, ToSchema};

use crate::auth::clerk_of;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// A stored submission as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct SubmissionOut {
    /// E.g. `BPA-2026-7K3Q9`.
    pub reference: String,
    pub tenant: Option<String>,
    pub service: String,
    pub version: String,
    pub definition_hash: String,
    pub state: String,
    pub fee_total: String,
    pub created_at: String,
    /// The clean answers and computed values.
    #[schema(value_type = Object)]
    pub data: Json,
    pub attachments: Vec<String>,
}

impl From<Submission> for SubmissionOut {
    fn from(s: Submission) -> Self {
        SubmissionOut {
            reference: s.reference,
            tenant: s.tenant,
            service: s.service,
            version: s.version,
            definition_hash: s.definition_hash,
            state: s.state,
            fee_total: s.fee_total,
            created_at: s.created_at.to_rfc3339(),
            data: s.data,
            attachments: s.attachments,
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// At most this many, newest first: 50 unless given; a larger number than 500 counts as 500.
    #[param(minimum = 0)]
    pub limit: Option<usize>,
}

/// The municipality's submissions, newest first (back office).
#[utoipa::path(get, path = "/api/v1/submissions", operation_id = "list_submissions", params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "The submissions, newest first", body = [SubmissionOut]),
        (status = 400, description = "`limit` is not a whole number from 0 up", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody)))]
#[get("/api/v1/submissions")]
pub(super) async fn list_submissions(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let tenant = clerk_of(&state, &req)?;
    let limit = query.limit.unwrap_or(50).min(500);
    let store = state.store.clone();
    let list = web::block(move || store.submissions(Some(&tenant), limit))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(HttpResponse::Ok().json(list.into_iter().map(SubmissionOut::from).collect::<Vec<_>>()))
}

async fn owned_submission(state: &AppState, tenant: &str, reference: String) -> Result<Submission, ApiError> {
    let store = state.store.clone();
    let found = web::block(move || store.submission(&reference))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    // Another municipality's submission does not exist for this clerk.
    found
        .filter(|s| s.tenant.as_deref() == Some(tenant))
        .ok_or_else(|| ApiError::NotFound("no such submission".into()))
}

/// One submission with its data (back office).
#[utoipa::path(get, path = "/api/v1/submissions/{reference}", operation_id = "get_submission",
    params(("reference" = String, Path, description = "The reference number, e.g. `BPA-2026-7K3Q9`")), security(("bearer" = [])),
    responses((status = 200, description = "The submission", body = SubmissionOut),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "No such submission for this token's municipality", body = ErrorBody)))]
#[get("/api/v1/submissions/{reference}")]
pub(super) async fn get_submission(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let tenant = clerk_of(&state, &req)?;
    let submission = owned_submission(&state, &tenant, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(SubmissionOut::from(submission)))
}

#[derive(Deserialize, ToSchema)]
pub struct StateChange {
    /// The new state; the service's process must allow the move.
    pub state: String,
}

/// Moves a submission to another state of its process (back office). Only transitions the
/// service declares are allowed; each is written to the audit trail.
#[utoipa::path(post, path = "/api/v1/submissions/{reference}/state", operation_id = "set_submission_state",
    params(("reference" = String, Path, description = "The reference number, e.g. `BPA-2026-7K3Q9`")), security(("bearer" = [])),
    request_body = StateChange,
    responses((status = 200, description = "The submission in its new state", body = SubmissionOut),
        (status = 400, description = "The body is not a JSON object with `state`", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "No such submission for this token's municipality", body = ErrorBody),
        (status = 409, description = "The service's process does not allow this move from the current state", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 503, description = "The store cannot write just now; see `Retry-After`", body = ErrorBody)))]
#[post("/api/v1/submissions/{reference}/state")]
pub(super) async fn set_state(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<StateChange>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let tenant = clerk_of(&state, &req)?;
    let submission = owned_submission(&state, &tenant, path.into_inner()).await?;
    let service = state
        .registry
        .pinned(&submission.definition_hash)
        .ok_or_else(|| ApiError::Internal("the submission's definition is gone".into()))?;
    Lifecycle::of(service.service())
        .check(&submission.state, &body.state)
        .map_err(|refused| ApiError::Conflict(refused.to_string()))?;
    let store = state.store.clone();
    let now = state.now();
    let (reference, from, to, actor) = (
        submission.reference,
        submission.state,
        body.into_inner().state,
        format!("clerk:{tenant}"),
    );
    // The move was checked against the state read above; the store writes it only if the
    // submission is still in that state, so of two clerks moving it at once one wins.
    let changed = web::block(move || store.set_state(&reference, &from, &to, &actor, now))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    match changed {
        StateChanged::Moved(updated) => Ok(HttpResponse::Ok().json(SubmissionOut::from(updated))),
        StateChanged::Conflict(now) => Err(ApiError::Conflict(format!(
            "the submission was moved to '{}' meanwhile; check the move again",
            now.state
        ))),
        StateChanged::NotFound => Err(ApiError::NotFound("no such submission".into())),
    }
}
