//! Answers in: live evaluation (`/evaluate`) and durable submissions (`/submissions`, with
//! `Idempotency-Key`). The engine decides; these handlers read the body, call it, and map the
//! result to a response.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, post, web};
use baukasten_engine::{FieldError, Limits};
use baukasten_store::{Idempotency, Submitted};
use serde::Serialize;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::backoffice::SubmissionOut;
use super::{offer, problems};
use crate::catalog::{Offer, hex};
use crate::error::{ApiError, ErrorBody, FieldProblem, Unprocessable};
use crate::lang::Lang;
use crate::state::AppState;

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

/// The answers to a service's fields, by field id:
/// `{"vorname": "Erika", "anschrift": {"plz": "24103"}, "kinder": [{"name": "Max"}]}`.
///
/// Which keys a service takes, the forms each answer may come in and which are required is
/// the service's own JSON Schema (draft 2020-12), served at
/// `GET /api/v1/services/{tenant}/{service}/schema` as `application/schema+json`. A body that
/// the server accepts always passes that schema; rules across fields, computed values, date
/// bounds and check digits only the server checks.
#[derive(ToSchema)]
#[schema(title = "Answers")]
pub struct Answers(#[allow(dead_code)] std::collections::HashMap<String, Json>);

fn answers_object(body: &Json) -> Result<(), ApiError> {
    if body.is_object() {
        Ok(())
    } else {
        Err(ApiError::Malformed(
            "the body must be a JSON object of answers, e.g. {\"vorname\": \"Erika\"}".into(),
        ))
    }
}

/// What `/evaluate` and `/submissions` both do with a body before the engine evaluates it, so
/// the two never disagree: a key that is no field of the service is an `unknown_field` error,
/// and every file answer is replaced by what the store knows of the upload it names (an
/// upload of another municipality, or none, is `file_not_uploaded`).
async fn checked_answers(
    state: &AppState,
    offer: &Offer,
    tenant: &str,
    mut answers: Json,
) -> Result<(Json, Vec<FieldError>), ApiError> {
    let store = state.store.clone();
    let compiled = offer.compiled.clone();
    let owner = tenant.to_string();
    web::block(move || {
        let limits = Limits::default();
        let mut errors = baukasten_engine::unknown_fields(compiled.service(), &answers, &limits);
        // An upload belongs to one municipality; another's is not this submission's file.
        let lookup = |id: &str| {
            let found = store.attachment(id)?;
            Ok::<_, baukasten_store::StoreError>(
                found
                    .filter(|(meta, _)| meta.tenant.as_deref() == Some(owner.as_str()))
                    .map(|(meta, _)| crate::uploads::stored_file(meta)),
            )
        };
        errors.extend(baukasten_engine::resolve_files(
            compiled.service(),
            &mut answers,
            &limits,
            lookup,
        )?);
        Ok::<_, baukasten_store::StoreError>((answers, errors))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(ApiError::from)
}

/// Evaluates answers without storing anything: what is shown and required, computed values,
/// fees and errors, exactly as `/submissions` would judge them. The optional script of the
/// citizen's pages uses this to reveal fields live.
#[utoipa::path(post, path = "/api/v1/services/{tenant}/{service}/evaluate", operation_id = "evaluate_answers",
    params(("tenant" = String, Path, description = "The municipality"), ("service" = String, Path, description = "The service's id")),
    request_body(content = Answers, content_type = "application/json",
        description = "The answers. Their JSON Schema: GET /api/v1/services/{tenant}/{service}/schema"),
    responses(
        (status = 200, description = "The evaluation; `valid` says whether /submissions would store these answers", body = EvaluateResponse),
        (status = 400, description = "The body is not JSON, or not a JSON object", body = ErrorBody),
        (status = 404, description = "No such service for this municipality", body = ErrorBody),
        (status = 408, description = "The request took too long", body = ErrorBody),
        (status = 413, description = "The body is larger than the server's limit (1 MiB unless configured otherwise)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 429, description = "Too many requests; see `Retry-After`", body = ErrorBody),
        (status = 503, description = "The store cannot be read just now; see `Retry-After`", body = ErrorBody)))]
#[post("/api/v1/services/{tenant}/{service}/evaluate")]
pub(super) async fn evaluate(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Json<Json>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (tenant, service) = path.into_inner();
    let offer = offer(&state, &tenant, &service)?;
    state.limiter.check(&req)?;
    answers_object(&body)?;
    let lang = Lang::of_request(&req);
    let (answers, checked) = checked_answers(&state, &offer, &tenant, body.into_inner()).await?;
    let evaluation = offer.compiled.evaluate(&answers, &state.context());
    let errors = evaluation.errors_with(checked);
    let response = EvaluateResponse {
        valid: errors.is_empty(),
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
        errors: problems(&errors, lang),
    };
    Ok(HttpResponse::Ok().json(response))
}

/// Sends a service: the answers are evaluated, and only valid data is stored, durably, before
/// the 201 goes out. With an `Idempotency-Key` header a retry gets the first answer back
/// (`Idempotent-Replayed: true`) and nothing is stored twice.
#[utoipa::path(post, path = "/api/v1/services/{tenant}/{service}/submissions", operation_id = "submit_answers",
    params(("tenant" = String, Path, description = "The municipality"), ("service" = String, Path, description = "The service's id"),
        ("Idempotency-Key" = Option<String>, Header,
            description = "Makes retries safe: 1 to 200 visible ASCII characters, counted per municipality and service \
                and kept for 7 days (the server's `idempotency_key_days`). A retry with the same key and the byte-identical \
                body gets the first `201` again, with `Idempotent-Replayed: true`, and stores nothing; the same key with \
                another body is a `422` with `error.code = idempotency_key_reused`; an empty, longer or non-ASCII key is a `400`.",
            min_length = 1, max_length = 200)),
    request_body(content = Answers, content_type = "application/json",
        description = "The answers. Their JSON Schema: GET /api/v1/services/{tenant}/{service}/schema"),
    responses(
        (status = 201, description = "Stored durably (fsync'd) before this answer", body = SubmissionOut,
            headers(("Location" = String, description = "The submission: /api/v1/submissions/{reference}"),
                ("Idempotent-Replayed" = String, description = "`true` when this is the answer to an earlier request with the same Idempotency-Key"))),
        (status = 400, description = "The body is not JSON or not a JSON object, or the Idempotency-Key is malformed", body = ErrorBody),
        (status = 404, description = "No such service for this municipality", body = ErrorBody),
        (status = 408, description = "The request took too long", body = ErrorBody),
        (status = 413, description = "The body is larger than the server's limit (1 MiB unless configured otherwise)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 422, description = "The answers are not valid (`errors`), or the Idempotency-Key was used with another body (`error.code = idempotency_key_reused`)",
            body = Unprocessable),
        (status = 429, description = "Too many requests; see `Retry-After`", body = ErrorBody),
        (status = 503, description = "The store cannot write just now; nothing was stored; see `Retry-After`", body = ErrorBody)))]
#[post("/api/v1/services/{tenant}/{service}/submissions")]
pub(super) async fn submit(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (tenant, service) = path.into_inner();
    let offer = offer(&state, &tenant, &service)?;
    state.limiter.check(&req)?;
    let body = crate::body::read_body(payload, state.config.max_body).await?;
    let answers = crate::body::parse_json_body(&req, &body, state.config.max_body)?;
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
    let (answers, checked) = checked_answers(&state, &offer, &tenant, answers).await?;
    let evaluation = offer.compiled.evaluate(&answers, &state.context());
    if !evaluation.is_valid() || !checked.is_empty() {
        return Err(ApiError::Invalid(problems(&evaluation.errors_with(checked), lang)));
    }
    let spoken = crate::submissions::spoken(offer.service(), lang);
    let (new, initial) =
        crate::submissions::new_submission(&tenant, offer.compiled.submission(&evaluation), None, spoken);
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
