//! The JSON API under `/api/v1`: services, definitions, JSON Schemas, live evaluation,
//! submissions (with `Idempotency-Key`), uploads and the back office.
//!
//! Request and response types live here, not on engine or model types: the wire format is
//! the server's business, and a rename in the model cannot change it unnoticed (the recorded
//! traffic in `tests/it/recorded.rs` pins it). Every handler returns `Result<_, ApiError>`, so
//! a bad request is a 4xx with a JSON body and never a 500.
//!
//! - `services.rs`: the catalog, a definition (`definition.rs` has its types), the schema.
//! - `answers.rs`: `/evaluate` and `/submissions`.
//! - `attachments.rs`: uploads, and their download by the back office.
//! - `backoffice.rs`: the municipality's submissions and their state changes.

mod answers;
mod attachments;
mod backoffice;
pub mod definition;
mod fit_connect;
mod services;

use std::sync::Arc;

use actix_web::{HttpResponse, get, web};
use baukasten_engine::FieldError;
use utoipa::OpenApi;

use crate::catalog::Offer;
use crate::error::{ApiError, ErrorBody, FieldProblem, InvalidBody, Unprocessable};
use crate::lang::Lang;
use crate::state::AppState;

pub use answers::{Answers, EvaluateResponse, FeeOut, FieldOut, StepOut};
pub use attachments::AttachmentOut;
pub use backoffice::{StateChange, SubmissionOut};
pub use services::ServiceSummary;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Baukasten API",
        description = "Online services of municipalities: definitions, JSON Schemas, live evaluation and durable submissions.",
    ),
    paths(
        services::services,
        services::definition,
        services::schema,
        answers::evaluate,
        answers::submit,
        backoffice::list_submissions,
        backoffice::get_submission,
        backoffice::set_state,
        backoffice::list_deliveries,
        backoffice::resend_delivery,
        backoffice::get_receipt,
        attachments::upload,
        attachments::download,
        fit_connect::callback,
        fit_connect::pinned_schema,
        openapi_json,
    ),
    components(schemas(
        ServiceSummary,
        definition::Definition,
        EvaluateResponse,
        StepOut,
        FieldOut,
        FeeOut,
        SubmissionOut,
        StateChange,
        backoffice::DeliveryOut,
        backoffice::AttemptOut,
        backoffice::FitConnectOut,
        backoffice::EventOut,
        fit_connect::CallbackAnswer,
        FieldProblem,
        InvalidBody,
        Unprocessable,
        ErrorBody,
        Answers,
        AttachmentOut,
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(services::services)
        .service(services::definition)
        .service(services::schema)
        .service(answers::evaluate)
        .service(answers::submit)
        .service(backoffice::list_submissions)
        .service(backoffice::get_submission)
        .service(backoffice::set_state)
        .service(backoffice::list_deliveries)
        .service(backoffice::resend_delivery)
        .service(backoffice::get_receipt)
        .service(attachments::upload)
        .service(attachments::download)
        .service(fit_connect::callback)
        .service(fit_connect::pinned_schema)
        .service(openapi_json);
}

/// The service as the municipality in the path offers it, or a 404.
fn offer(state: &AppState, tenant: &str, service: &str) -> Result<Arc<Offer>, ApiError> {
    state
        .registry
        .current()
        .offer(tenant, service)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("no service '{service}' for municipality '{tenant}'")))
}

/// The engine's errors as the API reports them, in the client's language.
fn problems(errors: &[FieldError], lang: Lang) -> Vec<FieldProblem> {
    errors
        .iter()
        .map(|e| FieldProblem {
            field: e.field.clone(),
            code: e.code.clone(),
            message: e.message.get(lang.code()).to_string(),
        })
        .collect()
}

/// This document: the OpenAPI 3 description of the API, generated from the code.
#[utoipa::path(get, path = "/api/v1/openapi.json", operation_id = "get_openapi",
    responses((status = 200, description = "This OpenAPI 3.1 document", body = Object)))]
#[get("/api/v1/openapi.json")]
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
