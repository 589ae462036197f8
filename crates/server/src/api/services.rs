//! The catalog as integrators see it: the services per municipality, each one's definition
//! and the JSON Schema of the answers it takes.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::definition::Definition;
use super::offer;
use crate::error::{ApiError, ErrorBody};
use crate::lang::Lang;
use crate::state::AppState;

/// A service as one municipality offers it.
#[derive(Serialize, ToSchema)]
pub struct ServiceSummary {
    pub tenant: String,
    pub service: String,
    pub version: String,
    /// The FIM Leistungsschlüssel, where one is known.
    pub leika: Option<String>,
    pub title: String,
    pub keywords: Vec<String>,
    pub definition_hash: String,
    /// The citizen's start page.
    pub page: String,
}

#[derive(Deserialize, IntoParams)]
pub struct Search {
    /// Search in titles, keywords and the LeiKa key.
    pub q: Option<String>,
    /// Only this municipality's services.
    pub tenant: Option<String>,
}

/// The services of the catalog, per municipality.
#[utoipa::path(get, path = "/api/v1/services", operation_id = "list_services", params(Search),
    responses((status = 200, description = "The services, in catalog order", body = [ServiceSummary])))]
#[get("/api/v1/services")]
pub(super) async fn services(state: web::Data<AppState>, query: web::Query<Search>, req: HttpRequest) -> HttpResponse {
    let lang = Lang::of_request(&req);
    let published = state.registry.current();
    let list: Vec<ServiceSummary> = published
        .offers
        .iter()
        .filter(|o| query.tenant.as_deref().is_none_or(|t| o.tenant.id == t))
        .filter(|o| {
            query
                .q
                .as_deref()
                .is_none_or(|q| baukasten_dsl::search::matches(o.service(), q))
        })
        .map(|o| {
            let s = o.service();
            ServiceSummary {
                tenant: o.tenant.id.clone(),
                service: s.id.clone(),
                version: s.version.clone(),
                leika: s.leika.clone(),
                title: s.title.get(lang.code()).to_string(),
                keywords: s.keywords.clone(),
                definition_hash: o.compiled.definition_hash().to_string(),
                page: format!("/{}/{}/", o.tenant.id, s.id),
            }
        })
        .collect();
    HttpResponse::Ok().json(list)
}

/// The service's definition: steps, fields, conditions, fees and process, as one
/// municipality offers it.
#[utoipa::path(get, path = "/api/v1/services/{tenant}/{service}", operation_id = "get_definition",
    params(("tenant" = String, Path, description = "The municipality"), ("service" = String, Path, description = "The service's id")),
    responses((status = 200, description = "The definition", body = Definition),
        (status = 404, description = "No such service for this municipality", body = ErrorBody)))]
#[get("/api/v1/services/{tenant}/{service}")]
pub(super) async fn definition(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, service) = path.into_inner();
    let offer = offer(&state, &tenant, &service)?;
    Ok(HttpResponse::Ok().json(Definition::of(&offer)))
}

/// The JSON Schema (draft 2020-12) of the request body of the service's `/evaluate` and
/// `/submissions`: the answers, in every form the server reads them. Every body the server
/// accepts passes it; rules it cannot express (across fields, computed values, date bounds,
/// check digits) only the server checks.
#[utoipa::path(get, path = "/api/v1/services/{tenant}/{service}/schema", operation_id = "get_answers_schema",
    params(("tenant" = String, Path, description = "The municipality"), ("service" = String, Path, description = "The service's id")),
    responses((status = 200, description = "A JSON Schema, draft 2020-12, of the answers (`Answers`) this service takes",
            content_type = "application/schema+json", body = Object),
        (status = 404, description = "No such service for this municipality", body = ErrorBody)))]
#[get("/api/v1/services/{tenant}/{service}/schema")]
pub(super) async fn schema(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, service) = path.into_inner();
    let offer = offer(&state, &tenant, &service)?;
    Ok(HttpResponse::Ok()
        .content_type("application/schema+json")
        .json(&offer.schema))
}
