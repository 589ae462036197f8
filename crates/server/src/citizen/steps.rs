//! The service's pages while it is filled in: the start page and one page per step. A post
//! of a step saves the draft, whatever the button; the engine merges it and says where the
//! citizen goes next.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use baukasten_engine::{AfterContinue, CompiledService, RemovedItem};
use baukasten_render::{Action, FROM_SUMMARY, Links, ResumeState, SessionExpiry, StepMode};
use baukasten_store::{Draft, NewDraft};
use serde_json::{Map, Value as Json};

use super::not_found_page;
use super::session::{Ctx, Session};
use crate::error::ApiError;

pub(super) async fn start(mut ctx: Ctx) -> HttpResponse {
    let offer = ctx.offer.clone();
    ctx.respond(StatusCode::OK, false, None, |r, page| r.start(page, &offer.compiled))
}

/// Renders a step with the given answers.
fn render_step(
    ctx: &mut Ctx,
    compiled: &CompiledService,
    step: &str,
    answers: &Json,
    mode: StepMode<'_>,
) -> HttpResponse {
    let show_errors = mode.show_errors;
    let evaluation = compiled.evaluate(answers, &ctx.state.context());
    let extend = format!("{}verlaengern?schritt={step}", ctx.links().base(compiled.service()));
    let expiry = SessionExpiry {
        minutes_left: ctx.expiry_minutes(),
        extend_url: &extend,
    };
    let status = if compiled.service().step(step).is_none() {
        StatusCode::NOT_FOUND
    } else if show_errors && !evaluation.step_errors(step).is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    ctx.respond(status, true, Some(expiry), |r, page| {
        r.step(page, compiled, step, &evaluation, answers, mode)
    })
}

pub(super) async fn step_page(mut ctx: Ctx, path: web::Path<(String, String, String)>) -> HttpResponse {
    let (_, _, step) = path.into_inner();
    // "Ändern" on the summary links here with `?_zurueck=pruefen`.
    let from_summary = web::Query::<std::collections::HashMap<String, String>>::from_query(ctx.req.query_string())
        .is_ok_and(|q| q.get(FROM_SUMMARY.0).is_some_and(|v| v == FROM_SUMMARY.1));
    let draft = match ctx.draft().await {
        Ok(d) => d,
        Err(e) => return ctx.error_page(e),
    };
    if draft.is_none() && matches!(ctx.session, Some(Session::Draft(_)) | Some(Session::Sent(_))) {
        // The draft was sent or expired: start afresh.
        ctx.session = None;
    }
    let compiled = ctx.compiled_for(draft.as_ref());
    let answers = draft.map(|d| d.answers).unwrap_or_else(|| Json::Object(Map::new()));
    let mode = StepMode {
        from_summary,
        ..StepMode::default()
    };
    render_step(&mut ctx, &compiled, &step, &answers, mode)
}

pub(super) async fn step_post(
    mut ctx: Ctx,
    path: web::Path<(String, String, String)>,
    payload: web::Payload,
) -> HttpResponse {
    let (_, _, step) = path.into_inner();
    let state = ctx.state.clone();
    let posted = match ctx.read_post(payload).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let csrf_ok = ctx.csrf_ok(&posted);
    if !csrf_ok {
        // An old tab, an expired session or a forged post: show the step again, keep nothing.
        // The step's name goes into the `Location` header only when it is a step of the
        // service; anything else from the URL (a line break, say) never reaches a header.
        let service = ctx.offer.service();
        let to = match service.step(&step) {
            Some(known) => ctx.links().step(service, &known.id),
            None => ctx.links().start(service),
        };
        return ctx.redirect(&to);
    }
    let draft = match ctx.draft().await {
        Ok(d) => d,
        Err(e) => return ctx.error_page(e),
    };
    let compiled = ctx.compiled_for(draft.as_ref());
    let model = compiled.service();
    if model.step(&step).is_none() {
        return not_found_page(&state, &ctx.req, ctx.lang);
    }
    let before = draft
        .as_ref()
        .map(|d| d.answers.clone())
        .unwrap_or_else(|| Json::Object(Map::new()));
    let decoded = baukasten_render::decode_form(model, &step, &posted.pairs);
    let mut files = Vec::new();
    for upload in posted.files {
        if !compiled.accepts_file_at(&upload.field) || upload.bytes.is_empty() {
            continue;
        }
        let field = upload.field.clone();
        let value = match crate::uploads::store_upload(&state, &ctx.offer.tenant.id, upload).await {
            Ok(stored) => crate::uploads::stored_file(stored).answer(),
            // A refused file becomes an answer the engine rejects at the field, in the
            // citizen's language, like any other wrong answer.
            Err(ApiError::UnsupportedMediaType(_)) => {
                serde_json::json!({ "name": "datei", "size": 0, "type": "unbekannt" })
            }
            Err(e) => return e.into_html(&mut ctx),
        };
        files.push((field, value));
    }
    let removed = match &decoded.action {
        Action::Remove { repeat, index } => Some(RemovedItem { repeat, index: *index }),
        _ => None,
    };
    let answers = compiled.merge_step(&step, &before, decoded.answers, files, removed);

    // Save the draft on every post, whatever the button.
    let saved = match save_draft(&ctx, draft, &compiled, &answers, &step).await {
        Ok(d) => d,
        Err(e) => return ctx.error_page(e),
    };
    ctx.session = Some(Session::Draft(saved.id.clone()));
    let links = ctx.links();
    let from_summary = decoded.from_summary;
    let mode = StepMode {
        from_summary,
        ..StepMode::default()
    };
    // A step reached from the summary keeps its way back there.
    let step_link = |to: &str| match from_summary {
        true => format!("{}?{}={}", links.step(model, to), FROM_SUMMARY.0, FROM_SUMMARY.1),
        false => links.step(model, to),
    };
    match &decoded.action {
        Action::Back if from_summary => ctx.redirect(&links.summary(model)),
        Action::Back => {
            let evaluation = compiled.evaluate(&answers, &state.context());
            let to = match evaluation.previous_step(&step) {
                Some(prev) => links.step(model, prev),
                None => links.start(model),
            };
            ctx.redirect(&to)
        }
        action @ (Action::Add(_) | Action::Remove { .. }) => {
            let mode = StepMode {
                after: Some(action),
                ..mode
            };
            render_step(&mut ctx, &compiled, &step, &answers, mode)
        }
        Action::Save => {
            let link = {
                let connection = ctx.req.connection_info();
                let (scheme, host) = (connection.scheme(), connection.host());
                format!("{scheme}://{host}{}?code={}", links.resume(model), saved.resume_code)
            };
            let state = ResumeState::Saved {
                code: &saved.resume_code,
                link: &link,
            };
            ctx.respond(StatusCode::OK, true, None, |r, page| r.resume(page, model, state))
        }
        Action::Continue => {
            let evaluation = compiled.evaluate(&answers, &state.context());
            let context = state.context();
            let after = match from_summary {
                true => compiled.after_change(&before, &evaluation, &step, &context),
                false => compiled.after_continue(&before, &evaluation, &step, &context),
            };
            match after {
                AfterContinue::AskRevealed => render_step(&mut ctx, &compiled, &step, &answers, mode),
                AfterContinue::ShowErrors => {
                    let mode = StepMode {
                        show_errors: true,
                        ..mode
                    };
                    render_step(&mut ctx, &compiled, &step, &answers, mode)
                }
                AfterContinue::Step(next) => ctx.redirect(&step_link(&next)),
                AfterContinue::Summary => ctx.redirect(&links.summary(model)),
            }
        }
    }
}

/// The live answer for the optional script: the step's form, posted as the page posts it, is
/// merged into the session's draft (as "Weiter" would, without saving) and evaluated on the
/// version the draft is pinned to, so questions that depend on earlier steps stay right. The
/// reply says which fields are shown: `{"fields": [{"path", "visible", "required"}]}`.
pub(super) async fn live(
    mut ctx: Ctx,
    path: web::Path<(String, String, String)>,
    payload: web::Payload,
) -> HttpResponse {
    let (_, _, step) = path.into_inner();
    let posted = match ctx.read_post(payload).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    if !ctx.csrf_ok(&posted) {
        return ApiError::Forbidden("the form's CSRF token does not belong to this session".into()).error_response();
    }
    let draft = match ctx.draft().await {
        Ok(d) => d,
        Err(e) => return e.error_response(),
    };
    let compiled = ctx.compiled_for(draft.as_ref());
    let model = compiled.service();
    if model.step(&step).is_none() {
        return ApiError::NotFound(format!("the service has no step `{step}`")).error_response();
    }
    let before = draft.map(|d| d.answers).unwrap_or_else(|| Json::Object(Map::new()));
    let decoded = baukasten_render::decode_form(model, &step, &posted.pairs);
    let answers = compiled.merge_step(&step, &before, decoded.answers, Vec::new(), None);
    let evaluation = compiled.evaluate(&answers, &ctx.state.context());
    let fields: Vec<Json> = evaluation
        .fields
        .iter()
        .filter(|f| *f.step == step)
        .map(|f| serde_json::json!({ "path": &*f.path, "visible": f.visible, "required": f.required }))
        .collect();
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "fields": fields }))
}

async fn save_draft(
    ctx: &Ctx,
    draft: Option<Draft>,
    compiled: &CompiledService,
    answers: &Json,
    step: &str,
) -> Result<Draft, ApiError> {
    let store = ctx.state.store.clone();
    let now = ctx.state.now();
    let answers = answers.clone();
    let step = step.to_string();
    let result = match draft {
        Some(d) => web::block(move || store.update_draft(&d.id, &answers, Some(&step), now)).await,
        None => {
            let new = NewDraft {
                tenant: Some(ctx.offer.tenant.id.clone()),
                service: compiled.service().id.clone(),
                version: compiled.service().version.clone(),
                definition_hash: compiled.definition_hash().to_string(),
                answers,
            };
            web::block(move || {
                let created = store.create_draft(new, now)?;
                store.update_draft(&created.id, &created.answers, Some(&step), now)
            })
            .await
        }
    };
    result
        .map_err(|e| ApiError::Internal(e.to_string()))??
        .ok_or_else(|| ApiError::Internal("the draft vanished while it was saved".into()))
}
