//! FIT-Connect's side of the API: the callbacks of the Submission API, and the schema each
//! sent submission names for its data.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use baukasten_deliver::fit_connect::{self, CallbackRefused};
use baukasten_store::DeliveryEvent;
use serde::Serialize;
use utoipa::ToSchema;

use crate::body::read_body;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The largest callback body read (they name a few submissions).
const MAX_CALLBACK: usize = 64 * 1024;

/// What a callback came to.
#[derive(Serialize, ToSchema)]
pub struct CallbackAnswer {
    /// Submissions of this server the callback named.
    pub known: usize,
    /// Entries of their event logs recorded (new ones only).
    pub events: usize,
}

/// A callback of the FIT-Connect Submission API: new entries in the event log of submissions
/// this server sent (received, accepted, rejected by the office, deleted). Its
/// `callback-authentication` header must be the hex HMAC-SHA-512 of `{callback-timestamp}.{body}`
/// under the municipality's callback secret, and the timestamp at most five minutes old; else
/// 401, and the refusal is logged. The server then reads the event logs it names and records
/// what is new at the delivery, where the back office shows it.
#[utoipa::path(post, path = "/api/v1/fit-connect/{tenant}/callbacks", operation_id = "fit_connect_callback",
    params(("tenant" = String, Path, description = "The municipality whose FIT-Connect client the callback is for"),
        ("callback-timestamp" = String, Header, description = "Unix time in seconds"),
        ("callback-authentication" = String, Header, description = "Hex HMAC-SHA-512 of `{callback-timestamp}.{body}`")),
    request_body(content = Object, description = "`{type, submissions: [{destinationId, submissionId, caseId}]}` (or the older `submissionIds`)"),
    responses((status = 200, description = "Verified and recorded", body = CallbackAnswer),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, description = "Missing, wrong or stale signature", body = ErrorBody),
        (status = 404, description = "No callback secret is configured for this municipality", body = ErrorBody)))]
#[post("/api/v1/fit-connect/{tenant}/callbacks")]
pub(super) async fn callback(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = path.into_inner();
    let body = read_body(payload, MAX_CALLBACK).await?;
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let verified = state.fit_connect.verify_callback(
        &tenant,
        header("callback-timestamp"),
        header("callback-authentication"),
        &body,
        state.now(),
    );
    if let Err(refused) = verified {
        log::warn!("refused a FIT-Connect callback for `{tenant}`: {refused}");
        return Err(match refused {
            CallbackRefused::NotConfigured(_) => ApiError::NotFound(refused.to_string()),
            _ => ApiError::BadSignature(refused.to_string()),
        });
    }
    let announced = fit_connect::announced(&body).map_err(ApiError::Malformed)?;
    let state = state.clone();
    let answer = web::block(move || follow_up(&state, &tenant, announced))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(HttpResponse::Ok().json(answer))
}

/// Reads the event logs of the announced submissions this municipality sent, and records
/// what is new at their deliveries. A log that cannot be read is recorded as such: the clerk
/// sees that the office reported something.
fn follow_up(
    state: &AppState,
    tenant: &str,
    announced: Vec<fit_connect::Announcement>,
) -> Result<CallbackAnswer, ApiError> {
    let mut answer = CallbackAnswer { known: 0, events: 0 };
    for announcement in announced {
        let Some(delivery) = state.store.delivery_by_external_id(&announcement.submission_id)? else {
            log::info!(
                "a FIT-Connect callback for `{tenant}` names the submission {}, which this server did not send",
                announcement.submission_id
            );
            continue;
        };
        if delivery.tenant.as_deref() != Some(tenant) {
            log::warn!(
                "a FIT-Connect callback for `{tenant}` names the submission {} of another municipality; ignored",
                announcement.submission_id
            );
            continue;
        }
        answer.known += 1;
        let case = announcement.case_id.or_else(|| {
            delivery
                .progress
                .as_ref()
                .and_then(|p| p.get("case_id"))
                .and_then(|c| c.as_str())
                .map(str::to_string)
        });
        let events = match case.map(|case| state.fit_connect.events(tenant, &delivery.target, &case)) {
            Some(Ok(fit_connect::EventLog { events, refused })) => {
                let mut events: Vec<DeliveryEvent> = events
                    .into_iter()
                    .filter(|(submission, _)| *submission == announcement.submission_id)
                    .map(|(_, event)| event)
                    .collect();
                if events.is_empty() && !refused.is_empty() {
                    events.push(unread(
                        state,
                        &format!("its entries do not verify ({})", refused.join("; ")),
                    ));
                }
                events
            }
            Some(Err(e)) => {
                log::warn!("the event log of delivery {} cannot be read: {e}", delivery.id);
                vec![unread(state, &e)]
            }
            None => vec![unread(state, "the callback names no case")],
        };
        let before = delivery.events.len();
        if let Some(updated) = state.store.record_delivery_events(&delivery.id, events)? {
            answer.events += updated.events.len() - before;
        }
    }
    Ok(answer)
}

/// The record of a callback whose event log could not be read.
fn unread(state: &AppState, why: &str) -> DeliveryEvent {
    let now = state.now();
    DeliveryEvent {
        id: format!("callback@{}", now.timestamp_micros()),
        at: now,
        kind: "callback".into(),
        detail: Some(format!("new events announced; the event log could not be read: {why}")),
    }
}

/// The JSON Schema of the data of submissions made on one exact definition (named by its
/// hash): the address FIT-Connect submissions give as their `submissionSchema`. It never
/// changes, whatever versions are published later.
#[utoipa::path(get, path = "/api/v1/schemas/{hash}.json", operation_id = "get_pinned_schema",
    params(("hash" = String, Path, description = "The definition hash a submission is pinned to (`definition_hash`)")),
    responses((status = 200, description = "A JSON Schema, draft 2020-12, of the answers",
            content_type = "application/schema+json", body = Object),
        (status = 404, description = "No definition with this hash", body = ErrorBody)))]
#[get("/api/v1/schemas/{hash}.json")]
pub(super) async fn pinned_schema(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let hash = path.into_inner();
    let file = format!("{hash}.json");
    if hash.is_empty() || !hash.chars().all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '-') {
        return Err(ApiError::NotFound(format!("no schema `{file}`")));
    }
    let state2 = state.clone();
    let compiled = web::block(move || state2.registry.pinned(&hash))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .ok_or_else(|| ApiError::NotFound(format!("no definition `{file}`")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/schema+json")
        .insert_header(("cache-control", "public, max-age=86400, immutable"))
        .json(baukasten_engine::request_schema(compiled.service())))
}
