//! The end of the form: the summary with the declaration, sending, and the confirmation with
//! the reference number.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use baukasten_engine::CompiledService;
use baukasten_render::Links;
use baukasten_store::{Idempotency, Submitted};
use serde_json::Value as Json;

use super::form::field_value;
use super::session::{Ctx, Session};
use crate::error::ApiError;

pub(super) async fn summary(mut ctx: Ctx) -> HttpResponse {
    let draft = match ctx.draft().await {
        Ok(Some(d)) => d,
        Ok(None) => return ctx.redirect(&ctx.links().start(ctx.offer.service())),
        Err(e) => return ctx.error_page(e),
    };
    let compiled = ctx.compiled_for(Some(&draft));
    render_summary(&mut ctx, &compiled, &draft.answers, false, false)
}

fn render_summary(
    ctx: &mut Ctx,
    compiled: &CompiledService,
    answers: &Json,
    show_errors: bool,
    declared: bool,
) -> HttpResponse {
    let evaluation = compiled.evaluate(answers, &ctx.state.context());
    let status = if show_errors {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    ctx.respond(status, true, None, |r, page| {
        r.summary(page, compiled, &evaluation, show_errors, declared)
    })
}

pub(super) async fn send(mut ctx: Ctx, payload: web::Payload) -> HttpResponse {
    let state = ctx.state.clone();
    let posted = match ctx.read_post(payload).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let csrf_ok = ctx.csrf_ok(&posted);
    if let Some(Session::Sent(_)) = &ctx.session {
        // A second click on "Absenden" after the first went through.
        return ctx.redirect(&ctx.links().confirmation(ctx.offer.service()));
    }
    let draft = match ctx.draft().await {
        Ok(Some(d)) if csrf_ok => d,
        Ok(_) => return ctx.redirect(&ctx.links().start(ctx.offer.service())),
        Err(e) => return ctx.error_page(e),
    };
    let compiled = ctx.compiled_for(Some(&draft));
    let declared = field_value(&posted.pairs, "_declaration").is_some_and(|v| v == "ja");
    let evaluation = compiled.evaluate(&draft.answers, &state.context());
    let needs_declaration = compiled.service().declaration.is_some();
    if !evaluation.is_valid() || (needs_declaration && !declared) {
        return render_summary(&mut ctx, &compiled, &draft.answers, true, declared);
    }
    let (new, initial) = crate::submissions::new_submission(
        &ctx.offer.tenant.id,
        compiled.submission(&evaluation),
        Some(draft.id.clone()),
        crate::submissions::spoken(compiled.service(), ctx.lang),
    );
    // The draft id makes a double submit (two clicks, a retried post) store one submission.
    let idempotency = Idempotency {
        key: format!("draft/{}", draft.id),
        fingerprint: "html-flow".into(),
    };
    let store = state.store.clone();
    let now = state.now();
    let submitted = web::block(move || store.submit(new, Some(idempotency), &initial, now)).await;
    let submission = match submitted {
        Ok(Ok(Submitted::Created(s))) => {
            state.metrics.submitted(&ctx.offer.tenant.id, &ctx.offer.service().id);
            s
        }
        Ok(Ok(Submitted::Replayed(s))) => s,
        Ok(Ok(Submitted::KeyReused)) => return ctx.error_page(ApiError::Internal("draft key reused".into())),
        Ok(Err(e)) => return ctx.error_page(e.into()),
        Err(e) => return ctx.error_page(ApiError::Internal(e.to_string())),
    };
    ctx.session = Some(Session::Sent(submission.reference));
    ctx.redirect(&ctx.links().confirmation(ctx.offer.service()))
}

pub(super) async fn confirmation(mut ctx: Ctx) -> HttpResponse {
    let state = ctx.state.clone();
    let Some(Session::Sent(reference)) = ctx.session.clone() else {
        return ctx.redirect(&ctx.links().start(ctx.offer.service()));
    };
    let store = state.store.clone();
    let found = web::block(move || store.submission(&reference)).await;
    let submission = match found {
        Ok(Ok(Some(s))) => s,
        Ok(Ok(None)) => return ctx.redirect(&ctx.links().start(ctx.offer.service())),
        Ok(Err(e)) => return ctx.error_page(e.into()),
        Err(e) => return ctx.error_page(ApiError::Internal(e.to_string())),
    };
    let compiled = state
        .registry
        .pinned(&submission.definition_hash)
        .unwrap_or_else(|| ctx.offer.compiled.clone());
    let answers = submission.data.get("answers").cloned().unwrap_or(Json::Null);
    let evaluation = compiled.evaluate(&answers, &state.context());
    ctx.respond(StatusCode::OK, false, None, |r, page| {
        r.confirmation(page, &compiled, &evaluation, &submission.reference)
    })
}

/// The receipt as a PDF, for the citizen who has just sent (the session names the reference),
/// in the language of the pages.
pub(super) async fn receipt(mut ctx: Ctx) -> HttpResponse {
    let state = ctx.state.clone();
    let Some(Session::Sent(reference)) = ctx.session.clone() else {
        return ctx.redirect(&ctx.links().start(ctx.offer.service()));
    };
    let lang = ctx.lang.code();
    let made = web::block(move || {
        let submission = state
            .store
            .submission(&reference)?
            .ok_or_else(|| ApiError::NotFound("no such submission".into()))?;
        let pdf = crate::receipts::pdf(&state, &submission, lang)?;
        Ok::<_, ApiError>((crate::receipts::file_name(&submission, lang), pdf))
    })
    .await;
    match made {
        Ok(Ok((name, pdf))) => crate::receipts::download(&name, pdf),
        Ok(Err(ApiError::NotFound(_))) => ctx.redirect(&ctx.links().start(ctx.offer.service())),
        Ok(Err(e)) => ctx.error_page(e),
        Err(e) => ctx.error_page(ApiError::Internal(e.to_string())),
    }
}
