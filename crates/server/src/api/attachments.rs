//! Uploads over the API: files for a service's file answers, and their download by the
//! municipality's back office. Checking and storing a file is `crate::uploads`, shared with
//! the citizen's pages.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use baukasten_store::Attachment;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::clerk_of;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::uploads::{content_disposition, read_multipart, store_upload};

/// An uploaded file, to be put into the answers as the value of a file field.
#[derive(Serialize, ToSchema)]
pub struct AttachmentOut {
    pub id: String,
    pub name: String,
    pub size: u64,
    /// The type found from the content, e.g. `application/pdf`.
    #[serde(rename = "type")]
    pub media_type: String,
}

impl From<Attachment> for AttachmentOut {
    fn from(a: Attachment) -> Self {
        AttachmentOut {
            id: a.id,
            name: a.file_name,
            size: a.size,
            media_type: a.media_type,
        }
    }
}

/// Uploads files for a service (multipart/form-data, one or more parts with a file name). Each
/// answer is the value to put into a file field of that service's answers; only this
/// municipality's back office can read the file.
#[utoipa::path(post, path = "/api/v1/services/{tenant}/{service}/attachments", operation_id = "upload_attachments",
    params(("tenant" = String, Path, description = "The municipality"), ("service" = String, Path, description = "The service's id")),
    request_body(content_type = "multipart/form-data", content = Object, description = "One or more files, each a form part with a file name"),
    responses((status = 201, description = "The stored uploads; put one into a file field's answer as it is", body = [AttachmentOut]),
        (status = 400, description = "Not a multipart body with a file", body = ErrorBody),
        (status = 404, description = "No such service for this municipality", body = ErrorBody),
        (status = 413, description = "A file is larger than allowed", body = ErrorBody),
        (status = 415, description = "A file is not PDF, JPEG, PNG, TIFF, HEIC or WebP by its content", body = ErrorBody),
        (status = 429, description = "Too many requests; see `Retry-After`", body = ErrorBody),
        (status = 507, description = "The municipality's storage for uploads is full", body = ErrorBody)))]
#[post("/api/v1/services/{tenant}/{service}/attachments")]
pub(super) async fn upload(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let (tenant, service) = path.into_inner();
    if state.registry.current().offer(&tenant, &service).is_none() {
        return Err(ApiError::NotFound(format!(
            "no service '{service}' for municipality '{tenant}'"
        )));
    }
    state.limiter.check(&req)?;
    let uploads = read_multipart(payload, state.config.max_file, state.config.max_upload).await?;
    let mut out = Vec::new();
    for file in uploads.into_iter().filter(|u| !u.file_name.is_empty()) {
        out.push(AttachmentOut::from(store_upload(&state, &tenant, file).await?));
    }
    if out.is_empty() {
        return Err(ApiError::Malformed("the body has no file part".into()));
    }
    Ok(HttpResponse::Created().json(out))
}

/// Downloads an attachment (back office).
#[utoipa::path(get, path = "/api/v1/attachments/{id}", operation_id = "download_attachment",
    params(("id" = String, Path, description = "The upload's id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The file, with the type found from its content"),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "No such file for this token's municipality", body = ErrorBody)))]
#[get("/api/v1/attachments/{id}")]
pub(super) async fn download(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let tenant = clerk_of(&state, &req)?;
    let store = state.store.clone();
    let id = path.into_inner();
    let found = web::block(move || store.attachment(&id))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    // Another municipality's file does not exist for this clerk.
    let (meta, bytes) = found
        .filter(|(meta, _)| meta.tenant.as_deref() == Some(tenant.as_str()))
        .ok_or_else(|| ApiError::NotFound("no such attachment".into()))?;
    Ok(HttpResponse::Ok()
        .content_type(meta.media_type.as_str())
        .insert_header((header::CONTENT_DISPOSITION, content_disposition(&meta.file_name)))
        .body(bytes))
}
