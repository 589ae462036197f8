//! The clerks' inbox under `/verwaltung/`: sign-in, the municipality's submissions, one
//! submission with its history and deliveries, state changes, the receipt and attachments.
//! `render` writes the pages (`baukasten_render::backoffice`); `views.rs` fills them from the
//! store and the catalog; the rules (which moves a process allows) are the engine's.
//!
//! A clerk signs in with an account of one municipality (`baukasten user add`) and sees that
//! municipality's submissions only: anything of another answers 404, as if it did not exist.
//! The session is a cookie (`bk_verwaltung`: a random id the store knows, HttpOnly,
//! SameSite=Strict, Secure over TLS, path `/verwaltung/`) that ends after 30 minutes without
//! a request or on sign-out. Every form carries a CSRF token derived from the session (the
//! sign-in form's from a nonce cookie). Failed sign-ins are limited per address and per name.

mod export;
mod overview;
mod sign_in;
mod views;

pub use sign_in::{Identity, MIN_PASSWORD, PasswordProblem, Passwords, SignIn, account, verify};

use std::time::Instant;

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use baukasten_engine::Lifecycle;
use baukasten_render::backoffice::{Clerk, Notice, SignIn as SignInView, SignInProblem};
use baukasten_render::{Links, Page};
use baukasten_store::{ClerkSession, NewDelivery, StateChanged};

use crate::catalog::hex;
use crate::error::ApiError;
use crate::lang::Lang;
use crate::state::AppState;

const COOKIE: &str = "bk_verwaltung";
const NONCE_COOKIE: &str = "bk_verwaltung_anmeldung";
const PATH: &str = "/verwaltung/";
/// A session ends after this long without a request.
pub const IDLE: chrono::Duration = chrono::Duration::minutes(30);

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/verwaltung", web::get().to(home))
        .route("/verwaltung/", web::get().to(home))
        .route("/verwaltung/anmelden", web::get().to(sign_in_page))
        .route("/verwaltung/anmelden", web::post().to(sign_in_post))
        .route("/verwaltung/abmelden", web::post().to(sign_out))
        .route("/verwaltung/eingang", web::get().to(views::list))
        .route("/verwaltung/uebersicht", web::get().to(overview::overview))
        .route("/verwaltung/export.csv", web::get().to(export::csv))
        .route("/verwaltung/export.jsonl", web::get().to(export::jsonl))
        .route("/verwaltung/vorgang/{reference}", web::get().to(views::detail))
        .route("/verwaltung/vorgang/{reference}/stand", web::post().to(change_state))
        .route(
            "/verwaltung/vorgang/{reference}/zustellungen/{id}/erneut",
            web::post().to(resend),
        )
        .route(
            "/verwaltung/vorgang/{reference}/eingangsbestaetigung.pdf",
            web::get().to(views::receipt),
        )
        .route("/verwaltung/anlagen/{id}", web::get().to(views::attachment));
}

/// The back office's URLs for the page frame: "home" is the inbox.
pub(crate) struct InboxLinks {
    path: String,
    lang: Lang,
}

impl InboxLinks {
    fn new(req: &HttpRequest, lang: Lang) -> Self {
        InboxLinks {
            path: req.path().to_string(),
            lang,
        }
    }
}

impl Links for InboxLinks {
    fn asset(&self, name: &str) -> String {
        format!("/assets/{name}")
    }
    fn theme(&self, tenant: &str) -> String {
        format!("/assets/theme/{tenant}.css")
    }
    fn catalog(&self, _tenant: Option<&str>) -> String {
        "/verwaltung/eingang".into()
    }
    fn start(&self, _: &baukasten_dsl::model::Service) -> String {
        String::new()
    }
    fn step(&self, _: &baukasten_dsl::model::Service, _: &str) -> String {
        String::new()
    }
    fn summary(&self, _: &baukasten_dsl::model::Service) -> String {
        String::new()
    }
    fn send(&self, _: &baukasten_dsl::model::Service) -> String {
        String::new()
    }
    fn confirmation(&self, _: &baukasten_dsl::model::Service) -> String {
        String::new()
    }
    fn resume(&self, _: &baukasten_dsl::model::Service) -> String {
        String::new()
    }
    fn evaluate(&self, _: &baukasten_dsl::model::Service, _: &str) -> Option<String> {
        None
    }
    fn other_language(&self) -> String {
        let other = if self.lang == Lang::De { "en" } else { "de" };
        format!("{}?lang={other}", self.path)
    }
}

/// A request of a signed-in clerk.
pub(crate) struct Signed {
    pub state: web::Data<AppState>,
    pub req: HttpRequest,
    pub lang: Lang,
    pub session: ClerkSession,
    pub csrf: String,
}

impl Signed {
    /// The clerk of the request, or the redirect to the sign-in page.
    pub(crate) async fn of(state: web::Data<AppState>, req: HttpRequest) -> Result<Signed, HttpResponse> {
        let lang = Lang::of_request(&req);
        let Some(id) = req.cookie(COOKIE).map(|c| c.value().to_string()) else {
            return Err(to_sign_in(&req));
        };
        let store = state.store.clone();
        let now = state.now();
        let found = web::block(move || store.clerk_session(&id, now, IDLE)).await;
        match found {
            Ok(Ok(Some(session))) => {
                let csrf = state.secret.csrf(&format!("clerk:{}", session.id));
                Ok(Signed {
                    state,
                    req,
                    lang,
                    session,
                    csrf,
                })
            }
            Ok(Ok(None)) => Err(to_sign_in(&req)),
            Ok(Err(e)) => Err(error_page(&state, &req, lang, e.into())),
            Err(e) => Err(error_page(&state, &req, lang, ApiError::Internal(e.to_string()))),
        }
    }

    pub(crate) fn csrf_ok(&self, token: Option<&str>) -> bool {
        token.is_some_and(|t| self.state.secret.csrf_ok(&format!("clerk:{}", self.session.id), t))
    }

    /// The 403 page for a form without this session's token (forged, or from an old tab).
    pub(crate) fn refuse_forged(&self, pairs: &[(String, String)]) -> Option<HttpResponse> {
        (!self.csrf_ok(field(pairs, "_csrf"))).then(|| {
            self.error(ApiError::Forbidden(
                "the form's token does not match the session".into(),
            ))
        })
    }

    pub(crate) fn clerk(&self) -> Clerk {
        Clerk {
            name: self.session.name.clone(),
            sign_out_url: "/verwaltung/abmelden".into(),
        }
    }

    /// Renders a page of the inbox with this clerk's municipality, language and CSRF token.
    pub(crate) fn page(
        &self,
        status: StatusCode,
        render: impl FnOnce(&baukasten_render::Renderer, &Page, &Clerk) -> String,
    ) -> HttpResponse {
        let published = self.state.registry.current();
        let tenant = published.tenant(&self.session.tenant);
        let links = InboxLinks::new(&self.req, self.lang);
        let page = Page {
            lang: self.lang.code(),
            tenant: tenant.map(|t| &**t),
            links: &links,
            csrf: Some(&self.csrf),
            session: None,
        };
        let body = render(&self.state.renderer, &page, &self.clerk());
        html(&self.req, status, body)
    }

    /// The 404 page: what a clerk sees of another municipality's submission.
    pub(crate) fn not_found(&self) -> HttpResponse {
        self.page(StatusCode::NOT_FOUND, |r, page, _| r.not_found(page))
    }

    pub(crate) fn error(&self, e: ApiError) -> HttpResponse {
        error_page(&self.state, &self.req, self.lang, e)
    }
}

fn html(req: &HttpRequest, status: StatusCode, body: String) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    crate::lang::remember_language(req, &mut response);
    response.body(body)
}

/// The error page, with the error's status: a forged or stale form is a 403, not a 500.
fn error_page(state: &AppState, req: &HttpRequest, lang: Lang, e: ApiError) -> HttpResponse {
    let status = actix_web::ResponseError::status_code(&e);
    if status.is_server_error() {
        log::error!("back office page failed: {e:?}");
    } else {
        log::warn!("back office request refused: {e}");
    }
    let links = InboxLinks::new(req, lang);
    let page = Page {
        lang: lang.code(),
        tenant: None,
        links: &links,
        csrf: None,
        session: None,
    };
    html(req, status, state.renderer.error(&page))
}

/// The way to the sign-in page. A `?lang=` asked for on the way there is kept (as the cookie
/// the sign-in page reads), so `/verwaltung/eingang?lang=en` signs in in English.
fn to_sign_in(req: &HttpRequest) -> HttpResponse {
    let mut response = HttpResponse::SeeOther();
    response
        .insert_header((header::LOCATION, "/verwaltung/anmelden"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    crate::lang::remember_language(req, &mut response);
    response.finish()
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

fn cookie<'c>(req: &HttpRequest, name: &'c str, value: String) -> Cookie<'c> {
    Cookie::build(name, value)
        .path(PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(req.connection_info().scheme() == "https")
        .finish()
}

fn removal<'c>(req: &HttpRequest, name: &'c str) -> Cookie<'c> {
    let mut c = cookie(req, name, String::new());
    c.set_max_age(time::Duration::ZERO);
    c
}

fn random_hex() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(hex(&bytes))
}

/// The form's fields (`application/x-www-form-urlencoded`, at most 64 KiB).
pub(crate) async fn form(payload: web::Payload) -> Result<Vec<(String, String)>, ApiError> {
    let bytes = crate::body::read_body(payload, 64 * 1024).await?;
    serde_urlencoded::from_bytes(&bytes).map_err(|e| ApiError::Malformed(format!("the form cannot be read: {e}")))
}

pub(crate) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

async fn home(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match Signed::of(state, req).await {
        Ok(_) => see_other("/verwaltung/eingang"),
        Err(response) => response,
    }
}

/// The sign-in page, with a fresh nonce for its CSRF token.
fn sign_in_form(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    tenant: &str,
    name: &str,
    problem: Option<SignInProblem>,
) -> HttpResponse {
    let lang = Lang::of_request(req);
    let Some(nonce) = random_hex() else {
        return error_page(state, req, lang, ApiError::Internal("no randomness".into()));
    };
    let csrf = state.secret.csrf(&format!("sign-in:{nonce}"));
    let links = InboxLinks::new(req, lang);
    let page = Page {
        lang: lang.code(),
        tenant: None,
        links: &links,
        csrf: Some(&csrf),
        session: None,
    };
    let published = state.registry.current();
    let view = SignInView {
        action_url: "/verwaltung/anmelden".into(),
        municipalities: published
            .tenants
            .iter()
            .map(|t| baukasten_render::backoffice::Choice {
                value: t.id.clone(),
                label: t.name.get(lang.code()).to_string(),
                selected: t.id == tenant,
            })
            .collect(),
        name: name.to_string(),
        problem,
    };
    let mut response = html(req, status, state.renderer.inbox_sign_in(&page, &view));
    let _ = response.add_cookie(&cookie(req, NONCE_COOKIE, nonce));
    response
}

async fn sign_in_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    sign_in_form(&state, &req, StatusCode::OK, "", "", None)
}

async fn sign_in_post(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let lang = Lang::of_request(&req);
    let pairs = match form(payload).await {
        Ok(p) => p,
        Err(e) => return error_page(&state, &req, lang, e),
    };
    let tenant = field(&pairs, "municipality").unwrap_or_default().to_string();
    let name = field(&pairs, "name").unwrap_or_default().trim().to_string();
    let password = field(&pairs, "password").unwrap_or_default().to_string();
    let nonce = req
        .cookie(NONCE_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let csrf_ok = !nonce.is_empty()
        && field(&pairs, "_csrf").is_some_and(|t| state.secret.csrf_ok(&format!("sign-in:{nonce}"), t));
    if !csrf_ok {
        return sign_in_form(
            &state,
            &req,
            StatusCode::FORBIDDEN,
            &tenant,
            &name,
            Some(SignInProblem::Expired),
        );
    }
    let client = format!("ip:{}", state.limiter.client(&req));
    let account_key = format!("name:{tenant}/{}", name.to_lowercase());
    let now = Instant::now();
    let allowed = state.sign_in_attempts.per_client.allowed(&[&client], now)
        && state.sign_in_attempts.per_account.allowed(&[&account_key], now);
    if !allowed {
        let mut response = sign_in_form(
            &state,
            &req,
            StatusCode::TOO_MANY_REQUESTS,
            &tenant,
            &name,
            Some(SignInProblem::Throttled),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(60));
        return response;
    }
    let store = state.store.clone();
    let (t, n) = (tenant.clone(), name.clone());
    let at = state.now();
    let checked = web::block(move || {
        let identity = Passwords { store: &*store }.check(&t, &n, &password)?;
        identity
            .map(|who| store.create_clerk_session(&who.tenant, &who.name, at))
            .transpose()
    })
    .await;
    match checked {
        Ok(Ok(Some(session))) => {
            log::info!("back office: {}/{} signed in", session.tenant, session.name);
            let mut response = see_other("/verwaltung/eingang");
            let _ = response.add_cookie(&cookie(&req, COOKIE, session.id));
            let _ = response.add_cookie(&removal(&req, NONCE_COOKIE));
            response
        }
        Ok(Ok(None)) => {
            state.sign_in_attempts.per_client.failed(&[&client], now);
            state.sign_in_attempts.per_account.failed(&[&account_key], now);
            log::warn!("back office: a failed sign-in for {account_key} from {client}");
            sign_in_form(
                &state,
                &req,
                StatusCode::UNAUTHORIZED,
                &tenant,
                &name,
                Some(SignInProblem::Wrong),
            )
        }
        Ok(Err(e)) => error_page(&state, &req, lang, e.into()),
        Err(e) => error_page(&state, &req, lang, ApiError::Internal(e.to_string())),
    }
}

async fn sign_out(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let signed = match Signed::of(state, req).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let pairs = form(payload).await.unwrap_or_default();
    if let Some(refused) = signed.refuse_forged(&pairs) {
        return refused;
    }
    let store = signed.state.store.clone();
    let id = signed.session.id.clone();
    if let Ok(Err(e)) = web::block(move || store.end_clerk_session(&id)).await {
        return signed.error(e.into());
    }
    let mut response = see_other("/verwaltung/anmelden");
    let _ = response.add_cookie(&removal(&signed.req, COOKIE));
    response
}

/// A state change from the detail page: `to`, the state the clerk saw (`from`) and an
/// optional `comment`. Checked against the process (the engine's rules) and against the state
/// now: a colleague's change in between gives a clear message, not an overwrite.
async fn change_state(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let signed = match Signed::of(state, req).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let pairs = match form(payload).await {
        Ok(p) => p,
        Err(e) => return signed.error(e),
    };
    if let Some(refused) = signed.refuse_forged(&pairs) {
        return refused;
    }
    let reference = path.into_inner();
    let Some(submission) = views::owned(&signed, &reference).await else {
        return signed.not_found();
    };
    let Some(compiled) = signed.state.registry.pinned(&submission.definition_hash) else {
        return signed.error(ApiError::Internal("the submission's definition is gone".into()));
    };
    let life = Lifecycle::of(compiled.service());
    let to = field(&pairs, "to").unwrap_or_default().to_string();
    let seen = field(&pairs, "from").unwrap_or_default().to_string();
    let comment = field(&pairs, "comment")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    let label = |id: &str| views::state_label(&life, id, signed.lang);
    if seen != submission.state {
        let notice = Notice::Conflict {
            state: label(&submission.state),
        };
        return views::render_detail(&signed, submission, Some(notice), StatusCode::CONFLICT).await;
    }
    if !life.allows(&submission.state, &to) {
        return views::render_detail(&signed, submission, Some(Notice::NotAllowed), StatusCode::CONFLICT).await;
    }
    let answers = submission.data.get("answers").cloned().unwrap_or_default();
    let notify: Vec<NewDelivery> = baukasten_engine::state_notification(compiled.service(), &answers, &to)
        .map(|address| NewDelivery {
            channel: "email_state".into(),
            target: address.to_string(),
            event: Some(format!("state:{to}")),
        })
        .into_iter()
        .collect();
    let store = signed.state.store.clone();
    let now = signed.state.now();
    let actor = format!("clerk:{}", signed.session.name);
    let (r, from, t) = (reference.clone(), seen, to.clone());
    let changed =
        web::block(move || store.set_state_with(&r, &from, &t, &actor, comment.as_deref(), now, notify)).await;
    match changed {
        Ok(Ok(StateChanged::Moved(_))) => see_other(&format!("/verwaltung/vorgang/{reference}?hinweis=stand")),
        Ok(Ok(StateChanged::Conflict(now))) => {
            let notice = Notice::Conflict {
                state: label(&now.state),
            };
            views::render_detail(&signed, now, Some(notice), StatusCode::CONFLICT).await
        }
        Ok(Ok(StateChanged::NotFound)) => signed.not_found(),
        Ok(Err(e)) => signed.error(e.into()),
        Err(e) => signed.error(ApiError::Internal(e.to_string())),
    }
}

/// "Erneut senden" on a delivery of the detail page: a fresh series of attempts.
async fn resend(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> HttpResponse {
    let signed = match Signed::of(state, req).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let pairs = form(payload).await.unwrap_or_default();
    if let Some(refused) = signed.refuse_forged(&pairs) {
        return refused;
    }
    let (reference, id) = path.into_inner();
    if views::owned(&signed, &reference).await.is_none() {
        return signed.not_found();
    }
    let store = signed.state.store.clone();
    let now = signed.state.now();
    let r = reference.clone();
    let resent = web::block(move || {
        let known = store.deliveries(&r)?.iter().any(|d| d.id == id);
        if known { store.resend(&id, now) } else { Ok(None) }
    })
    .await;
    match resent {
        Ok(Ok(Some(_))) => see_other(&format!("/verwaltung/vorgang/{reference}?hinweis=erneut")),
        Ok(Ok(None)) => signed.not_found(),
        Ok(Err(e)) => signed.error(e.into()),
        Err(e) => signed.error(ApiError::Internal(e.to_string())),
    }
}
