//! What keeps slow or greedy clients from starving the server: a time limit on every request
//! (a body that trickles in is cut off) and a cap on the requests one client address has in
//! flight at once (each open connection carries at most one).
//!
//! Both apply before any handler runs, as middleware. The client address is the rate
//! limiter's: the peer, or behind a trusted proxy the address it forwards.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};

use crate::error::ApiError;
use crate::state::AppState;

/// The middleware: refuses a client's request beyond `max_requests_per_address` with 429, and
/// answers 408 when a request (its body included) takes longer than `request_timeout`.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    // No clone of the request is kept across the call: the router needs it unshared.
    let client = state.limiter.client(req.request());
    let Some(_slot) = state.in_flight.enter(client, state.config.max_requests_per_address) else {
        return Ok(req.into_response(ApiError::TooManyConnections.error_response()));
    };
    let limit = std::time::Duration::from_secs(state.config.request_timeout);
    match actix_web::rt::time::timeout(limit, next.call(req)).await {
        Ok(result) => result.map(ServiceResponse::map_into_boxed_body),
        // Turned into its response (408, JSON) by actix.
        Err(_) => Err(ApiError::Timeout(limit.as_secs()).into()),
    }
}
