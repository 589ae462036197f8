//! Reading request bodies within their limits, with the same errors as actix's extractors.

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use serde_json::Value as Json;

use crate::error::ApiError;

/// Reads a whole body, refusing one over `limit` bytes with a 413.
pub async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::Bytes, ApiError> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::Malformed(format!("could not read the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Parses a JSON body that was read as bytes (where the handler also needs the raw bytes, for
/// the idempotency fingerprint), with the same errors as the JSON extractor.
pub fn parse_json_body(req: &HttpRequest, body: &[u8], limit: usize) -> Result<Json, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence != "application/json" && !essence.ends_with("+json") {
        return Err(ApiError::UnsupportedMediaType(
            "send the body as application/json".into(),
        ));
    }
    if body.len() > limit {
        return Err(ApiError::TooLarge(limit));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::Malformed(format!("malformed JSON: {e}")))
}
