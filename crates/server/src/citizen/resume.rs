//! Saving for later: the resume page and its code, and "Mehr Zeit" (more time, WCAG 2.2.1).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use baukasten_render::{Links, ResumeState};

use super::form::field_value;
use super::session::{Ctx, Session};
use crate::error::ApiError;

#[derive(serde::Deserialize)]
pub(super) struct CodeQuery {
    code: Option<String>,
}

pub(super) async fn resume_page(mut ctx: Ctx, query: web::Query<CodeQuery>) -> HttpResponse {
    if let Some(code) = &query.code {
        // The link from the "saved" page carries its code.
        if let Err(e) = ctx.state.limiter.check(&ctx.req) {
            return e.into_html(&mut ctx);
        }
        return resume_with(&mut ctx, code).await;
    }
    let offer = ctx.offer.clone();
    ctx.respond(StatusCode::OK, true, None, |r, page| {
        r.resume(page, offer.service(), ResumeState::Ask)
    })
}

pub(super) async fn resume_post(mut ctx: Ctx, payload: web::Payload) -> HttpResponse {
    let posted = match ctx.read_post(payload).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let code = field_value(&posted.pairs, "code").unwrap_or("").to_string();
    resume_with(&mut ctx, &code).await
}

async fn resume_with(ctx: &mut Ctx, code: &str) -> HttpResponse {
    let store = ctx.state.store.clone();
    let lookup = code.to_string();
    let found = web::block(move || store.draft_by_code(&lookup)).await;
    let draft = match found {
        Ok(Ok(d)) => {
            d.filter(|d| d.service == ctx.offer.service().id && d.tenant.as_deref() == Some(&ctx.offer.tenant.id))
        }
        Ok(Err(e)) => return ctx.error_page(e.into()),
        Err(e) => return ctx.error_page(ApiError::Internal(e.to_string())),
    };
    let Some(draft) = draft else {
        let offer = ctx.offer.clone();
        return ctx.respond(StatusCode::UNPROCESSABLE_ENTITY, true, None, |r, page| {
            r.resume(page, offer.service(), ResumeState::Invalid { code })
        });
    };
    ctx.session = Some(Session::Draft(draft.id.clone()));
    let compiled = ctx.compiled_for(Some(&draft));
    let links = ctx.links();
    let to = match &draft.step {
        Some(step) if compiled.service().step(step).is_some() => links.step(compiled.service(), step),
        _ => links.start(compiled.service()),
    };
    ctx.redirect(&to)
}

#[derive(serde::Deserialize)]
pub(super) struct ExtendQuery {
    schritt: Option<String>,
}

/// "Mehr Zeit": renews the session cookie and goes back to the step.
pub(super) async fn extend(mut ctx: Ctx, query: web::Query<ExtendQuery>) -> HttpResponse {
    let links = ctx.links();
    let model = ctx.offer.service();
    let to = match query.schritt.as_deref().filter(|s| model.step(s).is_some()) {
        Some(step) => links.step(model, step),
        None => links.start(model),
    };
    ctx.redirect(&to)
}
