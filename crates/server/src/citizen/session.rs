//! The session of one service in one browser, and [`Ctx`], what every handler of a service
//! page needs: the municipality's offer, the language, the signed session and the draft.
//!
//! A cookie scoped to the service's path carries the signed session: `n:<nonce>` before
//! anything is saved, `d:<draft id>` while a draft exists, `r:<reference>` after sending.
//! Every form carries a CSRF token derived from that value.

use std::sync::Arc;

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use baukasten_engine::CompiledService;
use baukasten_render::{Page, SessionExpiry};
use baukasten_store::Draft;

use super::form::{Posted, field_value, read_post};
use super::links::ServerLinks;
use super::{not_found_page, page};
use crate::catalog::{Offer, hex};
use crate::error::ApiError;
use crate::lang::Lang;
use crate::lang::remember_language;
use crate::state::AppState;

/// The session of one service in one browser.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Session {
    /// Nothing saved yet; the nonce only ties the CSRF token to this browser.
    New(String),
    Draft(String),
    Sent(String),
}

impl Session {
    pub(super) fn value(&self) -> String {
        match self {
            Session::New(n) => format!("n:{n}"),
            Session::Draft(d) => format!("d:{d}"),
            Session::Sent(r) => format!("r:{r}"),
        }
    }

    pub(super) fn parse(value: &str) -> Option<Session> {
        let (kind, rest) = value.split_once(':')?;
        match kind {
            "n" => Some(Session::New(rest.to_string())),
            "d" => Some(Session::Draft(rest.to_string())),
            "r" => Some(Session::Sent(rest.to_string())),
            _ => None,
        }
    }
}

const COOKIE: &str = "bk_session";

fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    // Without randomness the nonce would be guessable; fail closed with a page error instead.
    if getrandom::fill(&mut bytes).is_err() {
        return String::new();
    }
    hex(&bytes)
}

/// Everything a handler of a service page needs.
pub(super) struct Ctx {
    pub(super) state: web::Data<AppState>,
    pub(super) req: HttpRequest,
    pub(super) lang: Lang,
    pub(super) offer: Arc<Offer>,
    pub(super) session: Option<Session>,
}

impl Ctx {
    /// The context of a request under `/{tenant}/{service}/`; the friendly 404 page when the
    /// municipality does not offer the service.
    #[allow(clippy::result_large_err)] // the error is the response itself, built once per request
    fn from_request(req: &HttpRequest) -> Result<Ctx, HttpResponse> {
        let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
            return Err(HttpResponse::InternalServerError().finish());
        };
        let lang = Lang::of_request(req);
        let (tenant, service) = (req.match_info().get("tenant"), req.match_info().get("service"));
        let offer = tenant
            .zip(service)
            .and_then(|(tenant, service)| state.registry.current().offer(tenant, service).cloned());
        let Some(offer) = offer else {
            return Err(not_found_page(&state, req, lang));
        };
        let session = req
            .cookie(COOKIE)
            .and_then(|c| state.secret.open_session(c.value()))
            .and_then(|v| Session::parse(&v));
        Ok(Ctx {
            state,
            req: req.clone(),
            lang,
            offer,
            session,
        })
    }

    /// Renders a page of this service in the frame of its municipality and answers with it.
    /// With `csrf`, the page's forms carry the session's token.
    pub(super) fn respond(
        &mut self,
        status: StatusCode,
        csrf: bool,
        session: Option<SessionExpiry>,
        render: impl FnOnce(&baukasten_render::Renderer, &Page) -> String,
    ) -> HttpResponse {
        let csrf = csrf.then(|| self.csrf());
        let links = self.links();
        let tenant = self.offer.tenant.clone();
        let body = render(
            &self.state.renderer,
            &page(self.lang, Some(&tenant), &links, csrf.as_deref(), session),
        );
        self.html(status, body)
    }

    pub(super) fn links(&self) -> ServerLinks {
        ServerLinks::new(&self.req, &self.offer.tenant.id, self.lang)
    }

    /// The session, creating a fresh one (not yet saved anywhere) when there is none.
    pub(super) fn session_or_new(&mut self) -> Session {
        self.session.get_or_insert_with(|| Session::New(random_hex())).clone()
    }

    pub(super) fn csrf(&mut self) -> String {
        let session = self.session_or_new();
        self.state.secret.csrf(&session.value())
    }

    pub(super) fn cookie(&self, session: &Session) -> Cookie<'static> {
        Cookie::build(COOKIE, self.state.secret.sign_session(&session.value()))
            .path(format!("/{}/{}/", self.offer.tenant.id, self.offer.service().id))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.req.connection_info().scheme() == "https")
            .max_age(time::Duration::seconds(self.state.config.session_timeout as i64))
            .finish()
    }

    /// A page response: never cached (it may hold personal data), the session cookie renewed
    /// (which is what extends the session), and the language remembered when it was chosen.
    pub(super) fn html(&mut self, status: StatusCode, body: String) -> HttpResponse {
        let session = self.session_or_new();
        let mut response = HttpResponse::build(status);
        response
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .cookie(self.cookie(&session));
        remember_language(&self.req, &mut response);
        response.body(body)
    }

    pub(super) fn redirect(&mut self, to: &str) -> HttpResponse {
        if header::HeaderValue::from_str(to).is_err() {
            // Only URLs this server builds from known names get here; should one carry
            // something a header cannot, the citizen gets the 404 page, not a 500.
            return not_found_page(&self.state, &self.req, self.lang);
        }
        let session = self.session_or_new();
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, to.to_string()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .cookie(self.cookie(&session))
            .finish()
    }

    pub(super) fn expiry_minutes(&self) -> u32 {
        (self.state.config.session_timeout / 60).max(1) as u32
    }

    pub(super) async fn draft(&self) -> Result<Option<Draft>, ApiError> {
        let Some(Session::Draft(id)) = &self.session else {
            return Ok(None);
        };
        let store = self.state.store.clone();
        let id = id.clone();
        let draft = web::block(move || store.draft(&id))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))??;
        // A draft of another service never applies here, even with a valid cookie.
        Ok(
            draft
                .filter(|d| d.service == self.offer.service().id && d.tenant.as_deref() == Some(&self.offer.tenant.id)),
        )
    }

    /// The service a draft is pinned to: the version it was started on.
    pub(super) fn compiled_for(&self, draft: Option<&Draft>) -> CompiledService {
        draft
            .and_then(|d| self.state.registry.pinned(&d.definition_hash))
            .unwrap_or_else(|| self.offer.compiled.clone())
    }

    /// Reads a form post after taking a token of the client's rate limit (every post writes a
    /// draft, stores uploads or checks a code). A failure is the page to show.
    pub(super) async fn read_post(&mut self, payload: web::Payload) -> Result<Posted, HttpResponse> {
        let posted = match self.state.limiter.check(&self.req) {
            Ok(()) => read_post(&self.state, &self.req, payload).await,
            Err(e) => Err(e),
        };
        posted.map_err(|e| e.into_html(self))
    }

    /// Whether the post carries the CSRF token of this session.
    pub(super) fn csrf_ok(&self, posted: &Posted) -> bool {
        self.session.as_ref().is_some_and(|s| {
            field_value(&posted.pairs, "_csrf").is_some_and(|t| self.state.secret.csrf_ok(&s.value(), t))
        })
    }

    /// The error page for a failure of the server: 503 with `Retry-After` while the store
    /// cannot write (it recovers by itself), 500 otherwise.
    pub(super) fn error_page(&mut self, e: ApiError) -> HttpResponse {
        log::error!("page failed: {e:?}");
        let status = match actix_web::ResponseError::status_code(&e) {
            status if status.is_server_error() => status,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let retry_after = e.retry_after();
        let mut response = self.respond(status, false, None, |r, page| r.error(page));
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

impl actix_web::FromRequest for Ctx {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Ctx, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(
            Ctx::from_request(req).map_err(|page| actix_web::error::InternalError::from_response("", page).into()),
        )
    }
}

impl ApiError {
    /// The page a citizen sees for an error of a form post.
    pub(super) fn into_html(self, ctx: &mut Ctx) -> HttpResponse {
        let status = actix_web::ResponseError::status_code(&self);
        if status.is_server_error() {
            return ctx.error_page(self);
        }
        let retry_after = self.retry_after();
        let mut response = ctx.respond(status, false, None, |r, page| r.error(page));
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_round_trip() {
        for s in [
            Session::New("n1".into()),
            Session::Draft("d1".into()),
            Session::Sent("BPA-2026-7K3Q9".into()),
        ] {
            assert_eq!(Session::parse(&s.value()), Some(s));
        }
        assert_eq!(Session::parse("x:1"), None);
    }
}
