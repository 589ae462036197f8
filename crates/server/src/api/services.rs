//! The catalog as integrators see it: the services per municipality, each one's definition
//! and the JSON Schema of its submission data.

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
#[utoipa::path(get, path = "/api/v1/services", params(Search),
    responses((status = 200, body = [ServiceSummary])))]
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
#[utoipa::path(get, path = "/api/v1/services/{tenant}/{service}",
    params(("tenant" = String, Path), ("service" = String, Path)),
    responses((status = 200, description = "The definition", body = Definition), (status = 404, body = ErrorBody)))]
#[get("/api/v1/services/{tenant}/{service}")]
pub(super) async fn definition(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (tenant, service) = path.into_inner();
    let offer = offer(&state, &tenant, &service)?;
    Ok(HttpResponse::Ok().json(Definition::of(&offer)))
}

/// The JSON Schema (draft 2020-12) of the service's clean submission data.
#[utoipa::path(get, path = "/api/v1/services/{tenant}/{service}/schema",
    params(("tenant" = String, Path), ("service" = String, Path)),
    responses((status = 200, description = "JSON Schema", body = Object), (status = 404, body = ErrorBody)))]
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
