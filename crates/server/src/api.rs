//! The JSON API under `/api/v1`: services, definitions, JSON Schemas, live evaluation,
//! submissions (with `Idempotency-Key`) and the back office.
//!
//! Request and response types live here, not on engine types: the wire format is the
//! server's business. Every handler returns `Result<_, ApiError>`, so a bad request is a 4xx
//! with a JSON body and never a 500.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use baukasten_engine::{CompiledService, Evaluation};
use baukasten_store::{Idempotency, NewSubmission, Submission, Submitted};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::catalog::{Offer, hex};
use crate::error::{ApiError, ErrorBody, FieldProblem, InvalidBody};
use crate::{AppState, Lang};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Baukasten API",
        description = "Online services of municipalities: definitions, JSON Schemas, live evaluation and durable submissions.",
    ),
    paths(
        services,
        definition,
        schema,
        evaluate,
        submit,
        list_submissions,
        get_submission,
        set_state,
        crate::uploads::upload,
        crate::uploads::download,
        openapi_json,
    ),
    components(schemas(
        ServiceSummary,
        EvaluateResponse,
        StepOut,
        FieldOut,
        FeeOut,
        SubmissionOut,
        StateChange,
        FieldProblem,
        InvalidBody,
        ErrorBody,
        crate::uploads::AttachmentOut,
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
    cfg.service(services)
        .service(definition)
        .service(schema)
        .service(evaluate)
        .service(submit)
        .service(list_submissions)
        .service(get_submission)
        .service(set_state)
        .service(crate::uploads::upload)
        .service(crate::uploads::download)
        .service(openapi_json);
}

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

/// Whether a service matches a catalog search: every word of the query in its title,
/// keywords or LeiKa key, ignoring case.
pub fn matches(offer: &Offer, query: &str, lang: Lang) -> bool {
    let service = offer.service();
    let haystack = format!(
        "{} {} {} {}",
        service.title.get(lang.code()),
        service.title.get("de"),
        service.keywords.join(" "),
        service.leika.as_deref().unwrap_or("")
    )
    .to_lowercase();
    query
        .split_whitespace()
        .all(|word| haystack.contains(&word.to_lowercase()))
}

/// The services of the catalog, per municipality.
#[utoipa::path(get, path = "/api/v1/services", params(Search),
    responses((status = 200, body = [ServiceSummary])))]
#[get("/api/v1/services")]
async fn services(state: web::Data<AppState>, query: web::Query<Search>, req: HttpRequest) -> HttpResponse {
    let lang = Lang::of_request(&req);
    let published = state.registry.current();
    let list: Vec<ServiceSummary> = published
        .offers
        .iter()
        .filter(|o| query.tenant.as_deref().is_none_or(|t| o.tenant.id == t))
        .filter(|o| query.q.as_deref().is_none_or(|q| matches(o, q, lang)))
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

fn offer(state: &AppState, tenant: &str, service: &str) -> Result<Arc<Offer>, ApiError> {
    state
        .registry
        .current()
        .offer(tenant, service)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("no service '{service}' for municipality '{tenant}'")))
}

/// The service's definition: steps, fields, conditions, fees and process, as JSON.
#[utoipa::path(get, path = "/api/v1/services/{tenant}/{service}",
    params(("tenant" = String, Path), ("service" = String, Path)),
    responses((status = 200, description = "The definition", body = Object), (status = 404, body = ErrorBody)))]
#[get("/api/v1/services/{tenant}/{service}")]
async fn definition(state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (tenant, service) = path.into_inner();
    let offer = offer(&state, &tenant, &service)?;
    let mut definition = serde_json::to_value(offer.service()).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(obj) = definition.as_object_mut() {
        // Tests are the clerk's, not the integrator's.
        obj.remove("tests");
        obj.insert("tenant".into(), json!(offer.tenant.id));
        obj.insert("definition_hash".into(), json!(offer.compiled.definition_hash()));
    }
    Ok(HttpResponse::Ok().json(definition))
}

/// The JSON Schema (draft 2020-12) of the service's clean submission data.
#[utoipa::path(get, path = "/api/v1/services/{tenant}/{service}/schema",
    params(("tenant" = String, Path), ("service" = String, Path)),
    responses((status = 200, description = "JSON Schema", body = Object), (status = 404, body = ErrorBody)))]
#[get("/api/v1/services/{tenant}/{service}/schema")]
async fn schema(state: web::Data<AppState>, path: web::Path<(String, String)>) -> Result<HttpResponse, ApiError> {
    let (tenant, service) = path.into_inner();
    let offer = offer(&state, &tenant, &service)?;
    Ok(HttpResponse::Ok()
        .content_type("application/schema+json")
        .json(&offer.schema))
}

#[derive(Serialize, ToSchema)]
pub struct StepOut {
    pub id: String,
    pub visible: bool,
}

#[derive(Serialize, ToSchema)]
pub struct FieldOut {
    pub path: String,
    pub visible: bool,
    pub required: bool,
}

#[derive(Serialize, ToSchema)]
pub struct FeeOut {
    pub id: Option<String>,
    pub label: String,
    /// Exact decimal, e.g. `"30.70"`.
    pub amount: String,
}

/// What the engine says about a set of answers.
#[derive(Serialize, ToSchema)]
pub struct EvaluateResponse {
    pub valid: bool,
    pub steps: Vec<StepOut>,
    pub fields: Vec<FieldOut>,
    #[schema(value_type = Object)]
    pub computed: Json,
    pub fees: Vec<FeeOut>,
    pub fee_total: String,
    pub errors: Vec<FieldProblem>,
}

pub fn problems(evaluation: &Evaluation, lang: Lang) -> Vec<FieldProblem> {
    evaluation
        .errors
        .iter()
        .map(|e| FieldProblem {
            field: e.field.clone(),
            code: e.code.clone(),
            message: e.message.get(lang.code()).to_string(),
        })
        .collect()
}

fn answers_object(body: &Json) -> Result<(), ApiError> {
    if body.is_object() {
        Ok(())
    } else {
        Err(ApiError::Malformed(
            "the body must be a JSON object of answers, e.g. {\"vorname\": \"Erika\"}".into(),
        ))
    }
}

/// Evaluates answers without storing anything: what is shown and required, computed values,
/// fees and errors. The optional script of the citizen's pages uses this to reveal fields live.
#[utoipa::path(post, path = "/api/v1/services/{tenant}/{service}/evaluate",
    params(("tenant" = String, Path), ("service" = String, Path)),
    request_body(content = Object, description = "The answers, e.g. {\"vorname\": \"Erika\"}"),
    responses((status = 200, body = EvaluateResponse), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
#[post("/api/v1/services/{tenant}/{service}/evaluate")]
async fn evaluate(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Json<Json>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (tenant, service) = path.into_inner();
    let offer = offer(&state, &tenant, &service)?;
    answers_object(&body)?;
    let lang = Lang::of_request(&req);
    let evaluation = offer.compiled.evaluate(&body, &state.context());
    let response = EvaluateResponse {
        valid: evaluation.is_valid(),
        steps: evaluation
            .steps
            .iter()
            .map(|s| StepOut {
                id: s.id.clone(),
                visible: s.visible,
            })
            .collect(),
        fields: evaluation
            .fields
            .iter()
            .map(|f| FieldOut {
                path: f.path.to_string(),
                visible: f.visible,
                required: f.required,
            })
            .collect(),
        computed: json!(evaluation.computed),
        fees: evaluation
            .fees
            .iter()
            .map(|f| FeeOut {
                id: f.id.clone(),
                label: f.label.get(lang.code()).to_string(),
                amount: f.amount.to_string(),
            })
            .collect(),
        fee_total: evaluation.fee_total.to_string(),
        errors: problems(&evaluation, lang),
    };
    Ok(HttpResponse::Ok().json(response))
}

/// A stored submission as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct SubmissionOut {
    /// E.g. `BPA-2026-7K3Q9`.
    pub reference: String,
    pub tenant: Option<String>,
    pub service: String,
    pub version: String,
    pub definition_hash: String,
    pub state: String,
    pub fee_total: String,
    pub created_at: String,
    /// The clean answers and computed values.
    #[schema(value_type = Object)]
    pub data: Json,
    pub attachments: Vec<String>,
}

impl From<Submission> for SubmissionOut {
    fn from(s: Submission) -> Self {
        SubmissionOut {
            reference: s.reference,
            tenant: s.tenant,
            service: s.service,
            version: s.version,
            definition_hash: s.definition_hash,
            state: s.state,
            fee_total: s.fee_total,
            created_at: s.created_at.to_rfc3339(),
            data: s.data,
            attachments: s.attachments,
        }
    }
}

/// The reference prefix of a service: declared, or the first letters of its id.
pub fn reference_prefix(service: &baukasten_dsl::model::Service) -> String {
    service.reference_prefix.clone().unwrap_or_else(|| {
        service
            .id
            .chars()
            .filter(char::is_ascii_alphabetic)
            .take(3)
            .collect::<String>()
            .to_ascii_uppercase()
    })
}

/// The attachment ids an answer tree refers to (file answers carry `id`).
pub fn attachment_ids(value: &Json, out: &mut Vec<String>) {
    match value {
        Json::Object(map) => {
            if let (Some(Json::String(id)), Some(_)) = (map.get("id"), map.get("name")) {
                out.push(id.clone());
            }
            for v in map.values() {
                attachment_ids(v, out);
            }
        }
        Json::Array(items) => items.iter().for_each(|v| attachment_ids(v, out)),
        _ => {}
    }
}

/// What a submission stores: the clean answers and the computed values, pinned to the
/// compiled definition they were checked against.
pub fn submission_for(
    tenant: &str,
    compiled: &CompiledService,
    evaluation: &Evaluation,
    draft: Option<String>,
) -> NewSubmission {
    let service = compiled.service();
    let answers = Json::Object(evaluation.clean());
    let mut attachments = Vec::new();
    attachment_ids(&answers, &mut attachments);
    NewSubmission {
        tenant: Some(tenant.to_string()),
        service: service.id.clone(),
        version: service.version.clone(),
        definition_hash: compiled.definition_hash().to_string(),
        reference_prefix: reference_prefix(service),
        data: json!({ "answers": answers, "computed": evaluation.computed }),
        fee_total: format!("{:.2}", evaluation.fee_total),
        attachments,
        draft,
    }
}

/// The state a new submission starts in: the process's first, else `eingegangen`.
pub fn initial_state(service: &baukasten_dsl::model::Service) -> String {
    service
        .process
        .states
        .first()
        .map(|s| s.id.clone())
        .unwrap_or_else(|| "eingegangen".into())
}

/// Sends a service: the answers are evaluated, and only valid data is stored, durably, before
/// the 201 goes out. With an `Idempotency-Key` header a retry gets the first answer back
/// (`Idempotent-Replayed: true`) and nothing is stored twice.
#[utoipa::path(post, path = "/api/v1/services/{tenant}/{service}/submissions",
    params(("tenant" = String, Path), ("service" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe; up to 200 characters")),
    request_body(content = Object, description = "The answers"),
    responses((status = 201, body = SubmissionOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = InvalidBody),
        (status = 429, body = ErrorBody)))]
#[post("/api/v1/services/{tenant}/{service}/submissions")]
async fn submit(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (tenant, service) = path.into_inner();
    let offer = offer(&state, &tenant, &service)?;
    state.limiter.check(&req)?;
    let body = crate::read_body(payload, state.config.max_body).await?;
    let answers = crate::parse_json_body(&req, &body, state.config.max_body)?;
    answers_object(&answers)?;
    let lang = Lang::of_request(&req);
    let idempotency = match req.headers().get("Idempotency-Key") {
        None => None,
        Some(value) => {
            let key = value
                .to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 200)
                .ok_or_else(|| ApiError::Malformed("Idempotency-Key must be 1 to 200 visible characters".into()))?;
            Some(Idempotency {
                key: format!("{tenant}/{service}/{key}"),
                fingerprint: hex(&Sha256::digest(&body)),
            })
        }
    };
    let store = state.store.clone();
    let compiled = offer.compiled.clone();
    let owner = tenant.clone();
    let (answers, file_problems) =
        web::block(move || resolve_files(compiled.service(), &owner, answers, &*store, lang))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))??;
    let evaluation = offer.compiled.evaluate(&answers, &state.context());
    if !evaluation.is_valid() || !file_problems.is_empty() {
        // A file that was not uploaded is one problem at its field, not two.
        let engine = problems(&evaluation, lang)
            .into_iter()
            .filter(|p| !file_problems.iter().any(|f| f.field == p.field))
            .collect::<Vec<_>>();
        return Err(ApiError::Invalid(file_problems.into_iter().chain(engine).collect()));
    }
    let new = submission_for(&tenant, &offer.compiled, &evaluation, None);
    let initial = initial_state(offer.service());
    let store = state.store.clone();
    let now = state.now();
    let submitted = web::block(move || store.submit(new, idempotency, &initial, now))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let (submission, replayed) = match submitted {
        Submitted::Created(s) => (s, false),
        Submitted::Replayed(s) => (s, true),
        Submitted::KeyReused => return Err(ApiError::KeyReused),
    };
    if !replayed {
        state.metrics.submitted(&tenant, &service);
    }
    let location = format!("/api/v1/submissions/{}", submission.reference);
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, location));
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(response.json(SubmissionOut::from(submission)))
}

/// Replaces every file answer by what the store knows of the upload it names (`{"id": …}`
/// from `POST /api/v1/services/{tenant}/{service}/attachments`): name, size and the type found from the content. A file
/// answer without a known upload is a problem at its field, so a submission never points at
/// a file the back office cannot open; nor at another municipality's upload.
pub fn resolve_files(
    service: &baukasten_dsl::model::Service,
    tenant: &str,
    mut answers: Json,
    store: &dyn baukasten_store::Store,
    lang: Lang,
) -> Result<(Json, Vec<FieldProblem>), baukasten_store::StoreError> {
    use baukasten_dsl::model::{Field, FieldKind};
    fn walk(
        fields: &[Field],
        value: &mut Json,
        prefix: &str,
        tenant: &str,
        store: &dyn baukasten_store::Store,
        lang: Lang,
        problems: &mut Vec<FieldProblem>,
    ) -> Result<(), baukasten_store::StoreError> {
        let Json::Object(map) = value else { return Ok(()) };
        for field in fields {
            let Some(answer) = map.get_mut(&field.id) else { continue };
            let path = format!("{prefix}{}", field.id);
            match &field.kind {
                FieldKind::File { .. } if !answer.is_null() => {
                    let id = answer.get("id").and_then(Json::as_str).map(str::to_string);
                    let found = id.map(|id| store.attachment(&id)).transpose()?.flatten();
                    // An upload for another municipality is not this submission's file.
                    match found.filter(|(meta, _)| meta.tenant.as_deref() == Some(tenant)) {
                        Some((meta, _)) => {
                            *answer = json!({ "id": meta.id, "name": meta.file_name, "size": meta.size, "type": meta.media_type });
                        }
                        None => problems.push(FieldProblem {
                            field: path,
                            code: "file_not_uploaded".into(),
                            message: match lang {
                                Lang::De => "Bitte laden Sie die Datei zuerst hoch.".into(),
                                Lang::En => "Please upload the file first.".into(),
                            },
                        }),
                    }
                }
                FieldKind::Group { fields } => {
                    walk(fields, answer, &format!("{path}."), tenant, store, lang, problems)?
                }
                FieldKind::Repeat { fields, .. } => {
                    if let Json::Array(items) = answer {
                        for (i, item) in items.iter_mut().enumerate().take(1000) {
                            walk(fields, item, &format!("{path}.{i}."), tenant, store, lang, problems)?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
    let mut problems = Vec::new();
    for step in &service.steps {
        walk(&step.fields, &mut answers, "", tenant, store, lang, &mut problems)?;
    }
    Ok((answers, problems))
}

/// The municipality a back-office request acts for, from its bearer token.
pub(crate) fn clerk_of(state: &AppState, req: &HttpRequest) -> Result<String, ApiError> {
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

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// At most this many, newest first (default 50, at most 500).
    pub limit: Option<usize>,
}

/// The municipality's submissions, newest first (back office).
#[utoipa::path(get, path = "/api/v1/submissions", params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = [SubmissionOut]), (status = 401, body = ErrorBody)))]
#[get("/api/v1/submissions")]
async fn list_submissions(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let tenant = clerk_of(&state, &req)?;
    let limit = query.limit.unwrap_or(50).min(500);
    let store = state.store.clone();
    let list = web::block(move || store.submissions(Some(&tenant), limit))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(HttpResponse::Ok().json(list.into_iter().map(SubmissionOut::from).collect::<Vec<_>>()))
}

async fn owned_submission(state: &AppState, tenant: &str, reference: String) -> Result<Submission, ApiError> {
    let store = state.store.clone();
    let found = web::block(move || store.submission(&reference))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    // Another municipality's submission does not exist for this clerk.
    found
        .filter(|s| s.tenant.as_deref() == Some(tenant))
        .ok_or_else(|| ApiError::NotFound("no such submission".into()))
}

/// One submission with its data (back office).
#[utoipa::path(get, path = "/api/v1/submissions/{reference}",
    params(("reference" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = SubmissionOut), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/api/v1/submissions/{reference}")]
async fn get_submission(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let tenant = clerk_of(&state, &req)?;
    let submission = owned_submission(&state, &tenant, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(SubmissionOut::from(submission)))
}

#[derive(Deserialize, ToSchema)]
pub struct StateChange {
    /// The new state; the service's process must allow the move.
    pub state: String,
}

/// Moves a submission to another state of its process (back office). Only transitions the
/// service declares are allowed; each is written to the audit trail.
#[utoipa::path(post, path = "/api/v1/submissions/{reference}/state",
    params(("reference" = String, Path)), security(("bearer" = [])), request_body = StateChange,
    responses((status = 200, body = SubmissionOut), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
#[post("/api/v1/submissions/{reference}/state")]
async fn set_state(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<StateChange>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let tenant = clerk_of(&state, &req)?;
    let submission = owned_submission(&state, &tenant, path.into_inner()).await?;
    let service = state
        .registry
        .pinned(&submission.definition_hash)
        .ok_or_else(|| ApiError::Internal("the submission's definition is gone".into()))?;
    let process = &service.service().process;
    let allowed = process
        .transitions
        .iter()
        .any(|t| t.from == submission.state && t.to == body.state)
        || (process.transitions.is_empty() && process.states.iter().any(|s| s.id == body.state));
    if !allowed {
        return Err(ApiError::Conflict(format!(
            "the process does not allow '{}' → '{}'",
            submission.state, body.state
        )));
    }
    let store = state.store.clone();
    let now = state.now();
    let (reference, new_state, actor) = (submission.reference, body.into_inner().state, format!("clerk:{tenant}"));
    let updated = web::block(move || store.set_state(&reference, &new_state, &actor, now))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??
        .ok_or_else(|| ApiError::NotFound("no such submission".into()))?;
    Ok(HttpResponse::Ok().json(SubmissionOut::from(updated)))
}

/// This document: the OpenAPI 3 description of the API, generated from the code.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, description = "OpenAPI 3", body = Object)))]
#[get("/api/v1/openapi.json")]
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
