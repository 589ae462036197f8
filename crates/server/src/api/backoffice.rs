//! The JSON back office, for a municipality's systems with its bearer token: its submissions,
//! one submission, state changes along the process, and the deliveries of a submission with
//! a resend.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use baukasten_engine::Lifecycle;
use baukasten_store::{NewDelivery, StateChanged, Submission};
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
    // A state with `notify:` sends the citizen a message, through the outbox, with the move.
    let answers = submission.data.get("answers").cloned().unwrap_or_default();
    let notify: Vec<NewDelivery> = baukasten_engine::state_notification(service.service(), &answers, &body.state)
        .map(|address| NewDelivery {
            channel: "email_state".into(),
            target: address.to_string(),
            event: Some(format!("state:{}", body.state)),
        })
        .into_iter()
        .collect();
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
    let changed = web::block(move || store.set_state_with(&reference, &from, &to, &actor, None, now, notify))
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

/// One delivery of a submission as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct DeliveryOut {
    /// The same for every attempt (`msg_…`): the `webhook-id` a receiver sees.
    pub id: String,
    /// `webhook`, `email` or `fit_connect`.
    pub channel: String,
    /// The target the service names, e.g. the webhook `fachverfahren`.
    pub target: String,
    /// What it is about beyond the submission, e.g. `state:erledigt` for the citizen's message
    /// about a new state.
    pub event: Option<String>,
    /// `pending`, `delivered`, `failed` (every attempt of the series failed) or `stopped` (the
    /// receiver answered 410 Gone).
    pub status: String,
    /// Attempts of the current series; a resend starts a new one.
    pub attempts: usize,
    /// Every attempt, oldest first, across series.
    pub history: Vec<AttemptOut>,
    pub last_error: Option<String>,
    pub next_attempt: Option<String>,
    /// For `fit_connect`: the submission at the destination, once opened, and what the
    /// office reported about it.
    pub fit_connect: Option<FitConnectOut>,
}

/// A delivery over FIT-Connect as the destination knows it.
#[derive(Serialize, ToSchema)]
pub struct FitConnectOut {
    pub destination_id: String,
    /// FIT-Connect's `submissionId`.
    pub submission_id: String,
    /// FIT-Connect's `caseId` (Vorgang).
    pub case_id: String,
    /// From the case's event log, oldest first: `submit-submission` (the Submission API took
    /// it), `accept-submission` or `reject-submission` (the office), `delete-submission`, …;
    /// `callback` where a callback came but the log could not be read.
    pub events: Vec<EventOut>,
}

#[derive(Serialize, ToSchema)]
pub struct EventOut {
    pub at: String,
    pub event: String,
    pub detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AttemptOut {
    pub at: String,
    /// The receiver's HTTP status, where it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
}

impl From<baukasten_store::Delivery> for DeliveryOut {
    fn from(d: baukasten_store::Delivery) -> Self {
        let progress = d
            .progress
            .as_ref()
            .and_then(|p| serde_json::from_value::<baukasten_deliver::fit_connect::Progress>(p.clone()).ok());
        let fit_connect = progress.filter(|_| d.channel == "fit_connect").map(|p| FitConnectOut {
            destination_id: p.destination_id,
            submission_id: p.submission_id,
            case_id: p.case_id,
            events: d
                .events
                .iter()
                .map(|e| EventOut {
                    at: e.at.to_rfc3339(),
                    event: e.kind.clone(),
                    detail: e.detail.clone(),
                })
                .collect(),
        });
        DeliveryOut {
            fit_connect,
            attempts: d.series_attempts(),
            last_error: d.attempts.last().and_then(|a| a.error.clone()),
            history: d
                .attempts
                .into_iter()
                .map(|a| AttemptOut {
                    at: a.at.to_rfc3339(),
                    status: a.status,
                    error: a.error,
                })
                .collect(),
            id: d.id,
            channel: d.channel,
            target: d.target,
            event: d.event,
            status: serde_json::to_value(d.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            next_attempt: d.next_attempt.map(|t| t.to_rfc3339()),
        }
    }
}

/// The deliveries of a submission: target, status, attempts, last error, next attempt (back
/// office).
#[utoipa::path(get, path = "/api/v1/submissions/{reference}/deliveries", operation_id = "list_deliveries",
    params(("reference" = String, Path, description = "The reference number, e.g. `BPA-2026-7K3Q9`")), security(("bearer" = [])),
    responses((status = 200, description = "The submission's deliveries, in the order of the service's `deliver:`", body = Vec<DeliveryOut>),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "No such submission for this token's municipality", body = ErrorBody)))]
#[get("/api/v1/submissions/{reference}/deliveries")]
pub(super) async fn list_deliveries(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let tenant = clerk_of(&state, &req)?;
    let submission = owned_submission(&state, &tenant, path.into_inner()).await?;
    let store = state.store.clone();
    let deliveries = web::block(move || store.deliveries(&submission.reference))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let out: Vec<DeliveryOut> = deliveries.into_iter().map(DeliveryOut::from).collect();
    Ok(HttpResponse::Ok().json(out))
}

/// Sends a delivery again: a fresh series of attempts, starting now, whatever its status —
/// also after the last attempt failed (back office).
#[utoipa::path(post, path = "/api/v1/submissions/{reference}/deliveries/{id}/resend", operation_id = "resend_delivery",
    params(("reference" = String, Path, description = "The reference number, e.g. `BPA-2026-7K3Q9`"),
        ("id" = String, Path, description = "The delivery's id (`msg_…`)")),
    security(("bearer" = [])),
    responses((status = 202, description = "The delivery, pending again", body = DeliveryOut),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "No such submission or delivery for this token's municipality", body = ErrorBody),
        (status = 503, description = "The store cannot write just now; see `Retry-After`", body = ErrorBody)))]
#[post("/api/v1/submissions/{reference}/deliveries/{id}/resend")]
pub(super) async fn resend_delivery(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let tenant = clerk_of(&state, &req)?;
    let (reference, id) = path.into_inner();
    let submission = owned_submission(&state, &tenant, reference).await?;
    let store = state.store.clone();
    let now = state.now();
    let resent = web::block(move || {
        let known = store.deliveries(&submission.reference)?.iter().any(|d| d.id == id);
        if known { store.resend(&id, now) } else { Ok(None) }
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    match resent {
        Some(d) => Ok(HttpResponse::Accepted().json(DeliveryOut::from(d))),
        None => Err(ApiError::NotFound("no such delivery".into())),
    }
}

/// The submission's receipt as an accessible PDF (PDF/UA-1): the case, every answer as on the
/// summary page, the fees, the attachments with their SHA-256 (back office). German unless
/// `Accept-Language` (or `?lang=en`) asks for English and the service speaks it.
#[utoipa::path(get, path = "/api/v1/submissions/{reference}/receipt.pdf", operation_id = "get_receipt",
    params(("reference" = String, Path, description = "The reference number, e.g. `BPA-2026-7K3Q9`")), security(("bearer" = [])),
    responses((status = 200, description = "The receipt (PDF/UA-1)", content_type = "application/pdf"),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "No such submission for this token's municipality", body = ErrorBody)))]
#[get("/api/v1/submissions/{reference}/receipt.pdf")]
pub(super) async fn get_receipt(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let tenant = clerk_of(&state, &req)?;
    let submission = owned_submission(&state, &tenant, path.into_inner()).await?;
    let lang = crate::lang::Lang::of_request(&req).code();
    let name = crate::receipts::file_name(&submission, lang);
    let shared = state.clone();
    let pdf = web::block(move || crate::receipts::pdf(&shared, &submission, lang))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(crate::receipts::download(&name, pdf))
}
