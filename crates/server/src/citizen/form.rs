//! Reading a form post: its fields (url-encoded or multipart) and its uploaded files.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, web};

use crate::error::ApiError;
use crate::state::AppState;

/// A form post: its fields (url-encoded or multipart) and its uploaded files.
pub(super) struct Posted {
    pub(super) pairs: Vec<(String, String)>,
    pub(super) files: Vec<crate::uploads::Upload>,
}

pub(super) async fn read_post(state: &AppState, req: &HttpRequest, payload: web::Payload) -> Result<Posted, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::new(req.headers(), payload);
        let parts = crate::uploads::read_multipart(multipart, state.config.max_file, state.config.max_upload).await?;
        let mut pairs = Vec::new();
        let mut files = Vec::new();
        for part in parts {
            if part.file_name.is_empty() {
                pairs.push((part.field, String::from_utf8_lossy(&part.bytes).into_owned()));
            } else {
                files.push(part);
            }
        }
        Ok(Posted { pairs, files })
    } else if content_type.starts_with("application/x-www-form-urlencoded") || content_type.is_empty() {
        let body = crate::body::read_body(payload, state.config.max_body).await?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&body).map_err(|e| ApiError::Malformed(format!("malformed form: {e}")))?;
        Ok(Posted { pairs, files: vec![] })
    } else {
        Err(ApiError::UnsupportedMediaType("send the form as a web form".into()))
    }
}

pub(super) fn field_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}
