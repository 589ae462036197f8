//! Who a back-office request acts for. Today a bearer token per municipality from the
//! configuration; the clerks' inbox will add signed-in accounts beside it.

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::error::ApiError;
use crate::state::AppState;

/// The municipality a back-office request acts for, from its bearer token.
pub fn clerk_of(state: &AppState, req: &HttpRequest) -> Result<String, ApiError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    state
        .config
        .tokens
        .iter()
        .find(|(_, t)| crate::security::constant_time_eq(t.as_bytes(), token.as_bytes()))
        .map(|(tenant, _)| tenant.clone())
        .ok_or(ApiError::Unauthorized)
}
