//! What a submission is made of: the record built from a valid evaluation, and the file
//! answers it refers to.
//!
//! The server stores the record as it is; the store adds the reference, the time and the
//! idempotency bookkeeping. Building it here means the citizen's pages and the JSON API store
//! exactly the same thing for the same answers.

use serde_json::{Map, Value as Json, json};

use crate::messages;
use crate::walk::{self, Visit};
use crate::{CompiledService, Evaluation, FieldError, Limits, money, process::Lifecycle};

/// A submission as the engine builds it, before the store gives it a reference.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionRecord {
    pub service: String,
    pub version: String,
    /// The hash of the compiled definition the answers were checked against.
    pub definition_hash: String,
    /// The first part of the reference number (`BPA` in `BPA-2026-7K3Q9`).
    pub reference_prefix: String,
    /// The state the submission starts in.
    pub initial_state: String,
    /// `{"answers": {…clean answers…}, "computed": {…}}`.
    pub data: Json,
    /// The total of the fees, two places (`"30.70"`).
    pub fee_total: String,
    /// The ids of the uploads the answers refer to, in field order.
    pub attachments: Vec<String>,
    /// Where the submission goes (the process's `deliver:`): (channel, target) pairs such as
    /// (`webhook`, `fachverfahren`).
    pub deliveries: Vec<(String, String)>,
}

/// The reference prefix of a service: declared, or the first three letters of its id.
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

impl CompiledService {
    /// The record to store for an evaluation of this service: its clean answers and computed
    /// values, pinned to this compiled definition. The caller checks that the evaluation is
    /// valid first.
    pub fn submission(&self, evaluation: &Evaluation) -> SubmissionRecord {
        let service = self.service();
        let answers = Json::Object(evaluation.clean());
        let attachments = attachment_ids(service, &answers);
        SubmissionRecord {
            service: service.id.clone(),
            version: service.version.clone(),
            definition_hash: self.definition_hash().to_string(),
            reference_prefix: reference_prefix(service),
            initial_state: Lifecycle::of(service).initial_state().to_string(),
            data: json!({ "answers": answers, "computed": evaluation.computed }),
            fee_total: money::format(evaluation.fee_total),
            attachments,
            deliveries: deliveries(service, &answers),
        }
    }
}

/// Where a submission goes: the process's `deliver:` targets, and the citizen's confirmation of
/// receipt (`email_confirmation`) to the address of the `confirmation_email` field, when the
/// (clean) answers hold one.
fn deliveries(service: &baukasten_dsl::model::Service, answers: &Json) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = service
        .process
        .deliver
        .iter()
        .map(|d| (d.channel().to_string(), d.target().to_string()))
        .collect();
    if let Some(address) = citizen_address(service, answers) {
        out.push(("email_confirmation".to_string(), address.to_string()));
    }
    out
}

/// The citizen's address: the answer of the field `confirmation_email` names, if given.
fn citizen_address<'a>(service: &baukasten_dsl::model::Service, answers: &'a Json) -> Option<&'a str> {
    let field = service.confirmation_email.as_ref()?;
    field
        .name
        .split('.')
        .try_fold(answers, |value, part| value.get(part))
        .and_then(Json::as_str)
        .filter(|a| !a.trim().is_empty())
}

/// The message to the citizen when a submission with these (clean) `answers` enters `state`:
/// the address to send it to, when the state has a `notify:` text and the citizen gave an
/// address in the `confirmation_email` field. The delivery's channel is `email_state`, its
/// event `state:<id>`.
pub fn state_notification<'a>(
    service: &baukasten_dsl::model::Service,
    answers: &'a Json,
    state: &str,
) -> Option<&'a str> {
    service
        .process
        .states
        .iter()
        .find(|s| s.id == state)
        .and_then(|s| s.notify.as_ref())?;
    citizen_address(service, answers)
}

/// The upload ids that the file answers of `answers` name, in field order.
pub fn attachment_ids(service: &baukasten_dsl::model::Service, answers: &Json) -> Vec<String> {
    let mut out = Vec::new();
    walk::walk_service(
        service,
        answers,
        &Limits::default(),
        &mut |visit: Visit<'_, '_>, answer| {
            if visit.field.kind.is_file()
                && let Some(id) = answer.get("id").and_then(Json::as_str)
            {
                out.push(id.to_string());
            }
        },
    );
    out
}

/// What the store knows of an upload, for a file answer that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub id: String,
    pub name: String,
    pub size: u64,
    /// Found from the content, e.g. `application/pdf`.
    pub media_type: String,
}

impl StoredFile {
    /// The answer a file field holds for this upload.
    pub fn answer(&self) -> Json {
        let mut map = Map::new();
        map.insert("id".into(), json!(self.id));
        map.insert("name".into(), json!(self.name));
        map.insert("size".into(), json!(self.size));
        map.insert("type".into(), json!(self.media_type));
        Json::Object(map)
    }
}

/// Replaces every file answer (`{"id": …}`) by what `lookup` knows of the upload it names:
/// name, size and the type found from the content, never what the client claims. A file
/// answer whose upload `lookup` does not know is an error at its field (`file_not_uploaded`),
/// so a submission never points at a file the back office cannot open. `lookup` is where the
/// caller's storage (and its rule of who owns an upload) comes in; its error stops the walk.
pub fn resolve_files<E>(
    service: &baukasten_dsl::model::Service,
    answers: &mut Json,
    limits: &Limits,
    mut lookup: impl FnMut(&str) -> Result<Option<StoredFile>, E>,
) -> Result<Vec<FieldError>, E> {
    let mut errors = Vec::new();
    let mut failed = None;
    walk::walk_service_mut(
        service,
        answers,
        limits,
        &mut |visit: Visit<'_, '_>, answer: &mut Json| {
            if failed.is_some() || !visit.field.kind.is_file() || answer.is_null() {
                return;
            }
            let id = answer.get("id").and_then(Json::as_str).map(str::to_string);
            let found = match id.map(|id| lookup(&id)).transpose() {
                Ok(found) => found.flatten(),
                Err(e) => {
                    failed = Some(e);
                    return;
                }
            };
            match found {
                Some(file) => *answer = file.answer(),
                None => errors.push(FieldError {
                    field: visit.path.to_string(),
                    step: step_of(service, visit.path),
                    code: "file_not_uploaded".into(),
                    message: messages::file_not_uploaded(),
                }),
            }
        },
    );
    match failed {
        Some(e) => Err(e),
        None => Ok(errors),
    }
}

/// An `unknown_field` error for every answer whose key is no field of the service: at the top,
/// in a group's object and in a repeat's items (within their limit). An integrator's misspelt
/// key (`telefn`) is refused instead of silently dropped. Answers to fields that exist but are
/// hidden are not affected; the evaluation clears them.
pub fn unknown_fields(service: &baukasten_dsl::model::Service, answers: &Json, limits: &Limits) -> Vec<FieldError> {
    use baukasten_dsl::model::{Field, FieldKind};
    fn extra(fields: &[Field], value: &Json, prefix: &str, step: &str, out: &mut Vec<FieldError>) {
        let Json::Object(map) = value else { return };
        for key in map.keys() {
            if !fields.iter().any(|f| &f.id == key) {
                out.push(FieldError {
                    field: format!("{prefix}{key}"),
                    step: step.to_string(),
                    code: "unknown_field".into(),
                    message: messages::unknown_field(),
                });
            }
        }
    }
    let mut out = Vec::new();
    let top: Vec<Field> = service.steps.iter().flat_map(|s| s.fields.iter().cloned()).collect();
    extra(&top, answers, "", "", &mut out);
    walk::walk_service(service, answers, limits, &mut |visit: Visit<'_, '_>, answer| {
        let step = step_of(service, visit.path);
        match &visit.field.kind {
            FieldKind::Group { fields } => extra(fields, answer, &format!("{}.", visit.path), &step, &mut out),
            FieldKind::Repeat { fields, max_items, .. } => {
                let cap = limits.repeat_items(*max_items);
                for (n, item) in answer.as_array().into_iter().flatten().take(cap).enumerate() {
                    extra(fields, item, &format!("{}.{n}.", visit.path), &step, &mut out);
                }
            }
            _ => {}
        }
    });
    out
}

fn step_of(service: &baukasten_dsl::model::Service, path: &str) -> String {
    let top = path.split('.').next().unwrap_or("");
    service
        .steps
        .iter()
        .find(|s| s.fields.iter().any(|f| f.id == top))
        .map(|s| s.id.clone())
        .unwrap_or_default()
}

impl Evaluation {
    /// The errors to report for a submission whose file answers gave `file_errors`: those
    /// first, then the evaluation's own, leaving out the evaluation's errors at a field that
    /// already has a file error (a file that was not uploaded is one problem, not two).
    pub fn errors_with(&self, file_errors: Vec<FieldError>) -> Vec<FieldError> {
        let own = self
            .errors
            .iter()
            .filter(|e| !file_errors.iter().any(|f| f.field == e.field))
            .cloned()
            .collect::<Vec<_>>();
        file_errors.into_iter().chain(own).collect()
    }
}
