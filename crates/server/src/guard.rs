//! What keeps slow or greedy clients from starving the server: a time limit on every request
//! (a body that trickles in is cut off) and a cap on the requests one client address has in
//! flight at once (each open connection carries at most one).
//!
//! Both apply before any handler runs, as middleware. The client address is the rate
//! limiter's: the peer, or behind a trusted proxy the address it forwards.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};

use crate::error::ApiError;
use crate::state::AppState;

/// The requests each client address has in flight.
#[derive(Default)]
pub struct InFlight {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One request in flight; leaving it (on drop) frees its place.
pub struct Slot {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    client: IpAddr,
}

impl InFlight {
    /// A place for one more request of `client`, unless it has `max` in flight already.
    pub fn enter(&self, client: IpAddr, max: usize) -> Option<Slot> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(client).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot {
            counts: self.counts.clone(),
            client,
        })
    }

    /// Requests in flight from `client` now.
    pub fn of(&self, client: IpAddr) -> usize {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.get(&client).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.client);
            }
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_at_most_max_places_and_a_left_place_is_free_again() {
        let in_flight = InFlight::default();
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let first = in_flight.enter(a, 2).expect("first");
        let second = in_flight.enter(a, 2).expect("second");
        assert!(in_flight.enter(a, 2).is_none(), "a third is refused");
        assert!(in_flight.enter(b, 2).is_some(), "another client is not affected");
        drop(first);
        assert_eq!(in_flight.of(a), 1);
        assert!(in_flight.enter(a, 2).is_some(), "a place left is free again");
        drop(second);
    }
}
