//! The citizen's pages: catalog, start, one page per step, summary, send, confirmation,
//! resume, and the 404 and error pages. `render` writes the HTML; this module decides which
//! page to show and keeps the draft.
//!
//! URLs of a service live under `/{tenant}/{service}/`: `schritt/{step}`, `pruefen` (summary),
//! `senden`, `bestaetigung`, `fortsetzen` (resume) and `verlaengern` (more time). A cookie
//! scoped to that path carries the signed session: `n:<nonce>` before anything is saved,
//! `d:<draft id>` while a draft exists, `r:<reference>` after sending. Every form carries a
//! CSRF token derived from that value.
//!
//! The session ends after `session_timeout` without a request; every step page says when and
//! offers more time (WCAG 2.2.1). The draft itself stays in the store and can be resumed by
//! its code.

use std::sync::Arc;

use actix_multipart::Multipart;
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use baukasten_dsl::model::{FieldKind, Service, Tenant};
use baukasten_engine::{CompiledService, Evaluation};
use baukasten_render::{Action, Links, Page, ResumeState, SessionExpiry};
use baukasten_store::{Draft, Idempotency, NewDraft, Submitted};
use serde_json::{Map, Value as Json};

use crate::catalog::{Offer, hex};
use crate::error::ApiError;
use crate::{AppState, Lang};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/assets/theme/{tenant}.css", web::get().to(theme))
        .route("/assets/{name}", web::get().to(asset))
        .route("/{tenant}/", web::get().to(catalog))
        .route("/{tenant}", web::get().to(add_slash))
        .route("/{tenant}/{service}/", web::get().to(start))
        .route("/{tenant}/{service}", web::get().to(add_slash))
        .route("/{tenant}/{service}/schritt/{step}", web::get().to(step_page))
        .route("/{tenant}/{service}/schritt/{step}", web::post().to(step_post))
        .route("/{tenant}/{service}/pruefen", web::get().to(summary))
        .route("/{tenant}/{service}/senden", web::post().to(send))
        .route("/{tenant}/{service}/bestaetigung", web::get().to(confirmation))
        .route("/{tenant}/{service}/fortsetzen", web::get().to(resume_page))
        .route("/{tenant}/{service}/fortsetzen", web::post().to(resume_post))
        .route("/{tenant}/{service}/verlaengern", web::post().to(extend));
}

/// The URLs of the server's pages, for one page of one municipality.
struct ServerLinks {
    tenant: String,
    /// This page's path, for the language link.
    path: String,
    lang: Lang,
}

impl ServerLinks {
    fn new(req: &HttpRequest, tenant: &str, lang: Lang) -> Self {
        ServerLinks {
            tenant: tenant.to_string(),
            path: req.path().to_string(),
            lang,
        }
    }

    fn base(&self, service: &Service) -> String {
        format!("/{}/{}/", self.tenant, service.id)
    }
}

impl Links for ServerLinks {
    fn asset(&self, name: &str) -> String {
        format!("/assets/{name}")
    }
    fn theme(&self, tenant: &str) -> String {
        format!("/assets/theme/{tenant}.css")
    }
    fn catalog(&self, tenant: Option<&str>) -> String {
        match tenant {
            Some(t) => format!("/{t}/"),
            None => "/".into(),
        }
    }
    fn start(&self, service: &Service) -> String {
        self.base(service)
    }
    fn step(&self, service: &Service, step: &str) -> String {
        format!("{}schritt/{step}", self.base(service))
    }
    fn summary(&self, service: &Service) -> String {
        format!("{}pruefen", self.base(service))
    }
    fn send(&self, service: &Service) -> String {
        format!("{}senden", self.base(service))
    }
    fn confirmation(&self, service: &Service) -> String {
        format!("{}bestaetigung", self.base(service))
    }
    fn resume(&self, service: &Service) -> String {
        format!("{}fortsetzen", self.base(service))
    }
    fn evaluate(&self, service: &Service) -> Option<String> {
        Some(format!("/api/v1/services/{}/{}/evaluate", self.tenant, service.id))
    }
    fn other_language(&self) -> String {
        let other = if self.lang == Lang::De { "en" } else { "de" };
        format!("{}?lang={other}", self.path)
    }
}

/// The session of one service in one browser.
#[derive(Debug, Clone, PartialEq)]
enum Session {
    /// Nothing saved yet; the nonce only ties the CSRF token to this browser.
    New(String),
    Draft(String),
    Sent(String),
}

impl Session {
    fn value(&self) -> String {
        match self {
            Session::New(n) => format!("n:{n}"),
            Session::Draft(d) => format!("d:{d}"),
            Session::Sent(r) => format!("r:{r}"),
        }
    }

    fn parse(value: &str) -> Option<Session> {
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
struct Ctx {
    state: web::Data<AppState>,
    req: HttpRequest,
    lang: Lang,
    offer: Arc<Offer>,
    session: Option<Session>,
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
    fn respond(
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

    fn links(&self) -> ServerLinks {
        ServerLinks::new(&self.req, &self.offer.tenant.id, self.lang)
    }

    /// The session, creating a fresh one (not yet saved anywhere) when there is none.
    fn session_or_new(&mut self) -> Session {
        self.session.get_or_insert_with(|| Session::New(random_hex())).clone()
    }

    fn csrf(&mut self) -> String {
        let session = self.session_or_new();
        self.state.secret.csrf(&session.value())
    }

    fn cookie(&self, session: &Session) -> Cookie<'static> {
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
    fn html(&mut self, status: StatusCode, body: String) -> HttpResponse {
        let session = self.session_or_new();
        let mut response = HttpResponse::build(status);
        response
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .cookie(self.cookie(&session));
        remember_language(&self.req, &mut response);
        response.body(body)
    }

    fn redirect(&mut self, to: &str) -> HttpResponse {
        let session = self.session_or_new();
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, to.to_string()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .cookie(self.cookie(&session))
            .finish()
    }

    fn expiry_minutes(&self) -> u32 {
        (self.state.config.session_timeout / 60).max(1) as u32
    }

    async fn draft(&self) -> Result<Option<Draft>, ApiError> {
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
    fn compiled_for(&self, draft: Option<&Draft>) -> CompiledService {
        draft
            .and_then(|d| self.state.registry.pinned(&d.definition_hash))
            .unwrap_or_else(|| self.offer.compiled.clone())
    }

    /// Reads a form post; with `limited`, after taking a token of the client's rate limit (for
    /// sending and resume codes, which a bot would hammer). A failure is the page to show.
    async fn read_post(&mut self, payload: web::Payload, limited: bool) -> Result<Posted, HttpResponse> {
        let checked = if limited {
            self.state.limiter.check(&self.req)
        } else {
            Ok(())
        };
        let posted = match checked {
            Ok(()) => read_post(&self.state, &self.req, payload).await,
            Err(e) => Err(e),
        };
        posted.map_err(|e| e.into_html(self))
    }

    /// Whether the post carries the CSRF token of this session.
    fn csrf_ok(&self, posted: &Posted) -> bool {
        self.session.as_ref().is_some_and(|s| {
            field_value(&posted.pairs, "_csrf").is_some_and(|t| self.state.secret.csrf_ok(&s.value(), t))
        })
    }

    fn error_page(&mut self, e: ApiError) -> HttpResponse {
        log::error!("page failed: {e}");
        self.respond(StatusCode::INTERNAL_SERVER_ERROR, false, None, |r, page| r.error(page))
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

fn page<'a>(
    lang: Lang,
    tenant: Option<&'a Tenant>,
    links: &'a dyn Links,
    csrf: Option<&'a str>,
    session: Option<SessionExpiry<'a>>,
) -> Page<'a> {
    Page {
        lang: lang.code(),
        tenant,
        links,
        csrf,
        session,
    }
}

fn remember_language(req: &HttpRequest, response: &mut actix_web::HttpResponseBuilder) {
    let query = req.query_string();
    if let Some(lang) = query.split('&').find_map(|kv| kv.strip_prefix("lang=")) {
        let lang = if lang == "en" { "en" } else { "de" };
        response.cookie(
            Cookie::build("lang", lang.to_string())
                .path("/")
                .same_site(SameSite::Lax)
                .max_age(time::Duration::days(365))
                .finish(),
        );
    }
}

fn html_response(req: &HttpRequest, status: StatusCode, body: String) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.content_type("text/html; charset=utf-8");
    remember_language(req, &mut response);
    response.body(body)
}

fn not_found_page(state: &AppState, req: &HttpRequest, lang: Lang) -> HttpResponse {
    let published = state.registry.current();
    let tenant = req
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .and_then(|t| published.tenant(t));
    let links = ServerLinks::new(req, tenant.map_or("", |t| &t.id), lang);
    let body = state
        .renderer
        .not_found(&page(lang, tenant.map(|t| &**t), &links, None, None));
    html_response(req, StatusCode::NOT_FOUND, body)
}

/// Unknown URLs: a JSON 404 under `/api/`, the friendly page elsewhere.
pub async fn not_found(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if req.path().starts_with("/api/") {
        return Err(ApiError::NotFound(format!(
            "no such endpoint: {} {}",
            req.method(),
            req.path()
        )));
    }
    Ok(not_found_page(&state, &req, Lang::of_request(&req)))
}

async fn add_slash(req: HttpRequest) -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, format!("{}/", req.path())))
        .finish()
}

#[derive(serde::Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

/// The catalog of all municipalities; with one municipality, its catalog directly.
async fn home(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let published = state.registry.current();
    if let [only] = published.tenants.as_slice() {
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/{}/", only.id)))
            .finish();
    }
    let lang = Lang::of_request(&req);
    let links = ServerLinks::new(&req, "", lang);
    let tenants: Vec<&Tenant> = published.tenants.iter().map(|t| &**t).collect();
    let body = state
        .renderer
        .catalog(&page(lang, None, &links, None, None), &[], &tenants, "");
    html_response(&req, StatusCode::OK, body)
}

async fn catalog(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<SearchQuery>,
) -> HttpResponse {
    let lang = Lang::of_request(&req);
    let published = state.registry.current();
    let Some(tenant) = published.tenant(&path) else {
        return not_found_page(&state, &req, lang);
    };
    let services: Vec<&Service> = published.offers_of(&tenant.id).map(|o| o.service()).collect();
    let links = ServerLinks::new(&req, &tenant.id, lang);
    let body = state.renderer.catalog(
        &page(lang, Some(tenant), &links, None, None),
        &services,
        &[],
        query.q.as_deref().unwrap_or(""),
    );
    html_response(&req, StatusCode::OK, body)
}

async fn asset(path: web::Path<String>) -> HttpResponse {
    match baukasten_render::assets().iter().find(|a| a.name == path.as_str()) {
        Some(asset) => HttpResponse::Ok()
            .content_type(asset.content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .body(asset.bytes),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn theme(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    let published = state.registry.current();
    match published.tenant(&path).and_then(|t| baukasten_render::theme_css(t)) {
        Some(css) => HttpResponse::Ok()
            .content_type("text/css; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .body(css),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn start(mut ctx: Ctx) -> HttpResponse {
    let offer = ctx.offer.clone();
    ctx.respond(StatusCode::OK, false, None, |r, page| r.start(page, offer.service()))
}

/// Renders a step with the given answers.
fn render_step(
    ctx: &mut Ctx,
    compiled: &CompiledService,
    step: &str,
    answers: &Json,
    show_errors: bool,
) -> HttpResponse {
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
        r.step(page, compiled, step, &evaluation, answers, show_errors)
    })
}

async fn step_page(mut ctx: Ctx, path: web::Path<(String, String, String)>) -> HttpResponse {
    let (_, _, step) = path.into_inner();
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
    render_step(&mut ctx, &compiled, &step, &answers, false)
}

/// A form post: its fields (url-encoded or multipart) and its uploaded files.
struct Posted {
    pairs: Vec<(String, String)>,
    files: Vec<crate::uploads::Upload>,
}

async fn read_post(state: &AppState, req: &HttpRequest, payload: web::Payload) -> Result<Posted, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::new(req.headers(), payload);
        let parts = crate::uploads::read_multipart(multipart, state.config.max_file, state.config.max_upload).await?;
        let mut pairs = Vec::new();
        let mut files = Vec::new();
        for part in parts {
            if part.file_name.is_empty() {
                pairs.push((part.field, String::from_utf8_lossy(&part.bytes).into_owned()));
            } else {
                files.push(part);
            }
        }
        Ok(Posted { pairs, files })
    } else if content_type.starts_with("application/x-www-form-urlencoded") || content_type.is_empty() {
        let body = crate::read_body(payload, state.config.max_body).await?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&body).map_err(|e| ApiError::Malformed(format!("malformed form: {e}")))?;
        Ok(Posted { pairs, files: vec![] })
    } else {
        Err(ApiError::UnsupportedMediaType("send the form as a web form".into()))
    }
}

fn field_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Puts `value` at a dotted path (`kinder.0.nachweis`) into the answers, creating objects and
/// array items on the way. Paths that do not fit the answers' shape are ignored.
fn set_path(answers: &mut Json, path: &str, value: Json) {
    let mut node = answers;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        node = match (node, part.parse::<usize>()) {
            (Json::Array(items), Ok(index)) if index < 1000 => {
                while items.len() <= index {
                    items.push(Json::Object(Map::new()));
                }
                &mut items[index]
            }
            (Json::Object(map), _) => {
                if last {
                    map.insert(part.to_string(), value);
                    return;
                }
                let next_is_index = parts[i + 1].parse::<usize>().is_ok();
                map.entry(part.to_string()).or_insert_with(|| {
                    if next_is_index {
                        Json::Array(vec![])
                    } else {
                        Json::Object(Map::new())
                    }
                })
            }
            _ => return,
        };
        if last {
            *node = value;
            return;
        }
    }
}

/// Copies file answers of `field` from `old` into `new` where the new value has none: a
/// form post re-sends every input but not the files uploaded on an earlier visit.
fn keep_files(field: &baukasten_dsl::model::Field, old: &Json, new: &mut Json) {
    match &field.kind {
        FieldKind::File { .. } if new.is_null() => *new = old.clone(),
        FieldKind::Group { fields } => {
            if let Json::Object(obj) = new {
                for child in fields {
                    if let Some(old_child) = old.get(&child.id) {
                        let slot = obj.entry(child.id.clone()).or_insert(Json::Null);
                        keep_files(child, old_child, slot);
                    }
                }
            }
        }
        FieldKind::Repeat { fields, .. } => {
            if let (Json::Array(items), Some(old_items)) = (new, old.as_array()) {
                for (item, old_item) in items.iter_mut().zip(old_items) {
                    if let Json::Object(obj) = item {
                        for child in fields {
                            if let Some(old_child) = old_item.get(&child.id) {
                                let slot = obj.entry(child.id.clone()).or_insert(Json::Null);
                                keep_files(child, old_child, slot);
                            }
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// Whether `path` names a file field of the service (repeat indexes skipped).
fn is_file_field(service: &Service, path: &str) -> bool {
    let model_path: Vec<&str> = path.split('.').filter(|p| p.parse::<usize>().is_err()).collect();
    service
        .field(&model_path.join("."))
        .is_some_and(|f| matches!(f.kind, FieldKind::File { .. }))
}

async fn step_post(mut ctx: Ctx, path: web::Path<(String, String, String)>, payload: web::Payload) -> HttpResponse {
    let (_, _, step) = path.into_inner();
    let state = ctx.state.clone();
    let posted = match ctx.read_post(payload, false).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let csrf_ok = ctx.csrf_ok(&posted);
    if !csrf_ok {
        // An old tab, an expired session or a forged post: show the step again, keep nothing.
        return ctx.redirect(&ctx.links().step(ctx.offer.service(), &step));
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
    let mut answers = before.clone();
    if let (Json::Object(all), Json::Object(this_step)) = (&mut answers, decoded.answers) {
        let step_fields = &model.step(&step).map(|s| s.fields.as_slice()).unwrap_or_default();
        for (key, mut value) in this_step {
            // The form does not carry files already uploaded; keep them.
            if let (Some(field), Some(old)) = (step_fields.iter().find(|f| f.id == key), before.get(&key)) {
                keep_files(field, old, &mut value);
            }
            all.insert(key, value);
        }
    }
    for upload in posted.files {
        if !is_file_field(model, &upload.field) || upload.bytes.is_empty() {
            continue;
        }
        let field = upload.field.clone();
        let value = match crate::uploads::store_upload(&state, &ctx.offer.tenant.id, upload).await {
            Ok(stored) => serde_json::json!({
                "id": stored.id, "name": stored.file_name, "size": stored.size, "type": stored.media_type,
            }),
            // A refused file becomes an answer the engine rejects at the field, in the
            // citizen's language, like any other wrong answer.
            Err(ApiError::UnsupportedMediaType(_)) => {
                serde_json::json!({ "name": "datei", "size": 0, "type": "unbekannt" })
            }
            Err(e) => return e.into_html(&mut ctx),
        };
        set_path(&mut answers, &field, value);
    }

    // Save the draft on every post, whatever the button.
    let saved = match save_draft(&ctx, draft, &compiled, &answers, &step).await {
        Ok(d) => d,
        Err(e) => return ctx.error_page(e),
    };
    ctx.session = Some(Session::Draft(saved.id.clone()));
    let links = ctx.links();
    match decoded.action {
        Action::Back => {
            let evaluation = compiled.evaluate(&answers, &state.context());
            let to = match evaluation.previous_step(&step) {
                Some(prev) => links.step(model, prev),
                None => links.start(model),
            };
            ctx.redirect(&to)
        }
        Action::Add(_) | Action::Remove { .. } => render_step(&mut ctx, &compiled, &step, &answers, false),
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
            if revealed_unanswered(&compiled, &before, &evaluation, &step, &state) {
                // The answer just given revealed a question on this page: ask it, without
                // calling its emptiness an error (what the optional script does live).
                return render_step(&mut ctx, &compiled, &step, &answers, false);
            }
            if !evaluation.step_errors(&step).is_empty() {
                return render_step(&mut ctx, &compiled, &step, &answers, true);
            }
            let to = match evaluation.next_step(&step) {
                Some(next) => links.step(model, next),
                None => links.summary(model),
            };
            ctx.redirect(&to)
        }
    }
}

/// Whether this step shows a field now that was hidden before the post, and it is empty.
fn revealed_unanswered(
    compiled: &CompiledService,
    before: &Json,
    now: &Evaluation,
    step: &str,
    state: &AppState,
) -> bool {
    let earlier = compiled.evaluate(before, &state.context());
    now.fields.iter().filter(|f| &*f.step == step && f.visible).any(|f| {
        let was_visible = earlier.field(&f.path).is_some_and(|e| e.visible);
        !was_visible && now.errors.iter().any(|e| e.field == *f.path && e.code == "required")
    })
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

async fn summary(mut ctx: Ctx) -> HttpResponse {
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

async fn send(mut ctx: Ctx, payload: web::Payload) -> HttpResponse {
    let state = ctx.state.clone();
    let posted = match ctx.read_post(payload, true).await {
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
    let new = crate::api::submission_for(&ctx.offer.tenant.id, &compiled, &evaluation, Some(draft.id.clone()));
    let initial = crate::api::initial_state(compiled.service());
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

async fn confirmation(mut ctx: Ctx) -> HttpResponse {
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

#[derive(serde::Deserialize)]
struct CodeQuery {
    code: Option<String>,
}

async fn resume_page(mut ctx: Ctx, query: web::Query<CodeQuery>) -> HttpResponse {
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

async fn resume_post(mut ctx: Ctx, payload: web::Payload) -> HttpResponse {
    let posted = match ctx.read_post(payload, true).await {
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
struct ExtendQuery {
    schritt: Option<String>,
}

/// "Mehr Zeit": renews the session cookie and goes back to the step.
async fn extend(mut ctx: Ctx, query: web::Query<ExtendQuery>) -> HttpResponse {
    let links = ctx.links();
    let model = ctx.offer.service();
    let to = match query.schritt.as_deref().filter(|s| model.step(s).is_some()) {
        Some(step) => links.step(model, step),
        None => links.start(model),
    };
    ctx.redirect(&to)
}

impl ApiError {
    /// The page a citizen sees for an error of a form post.
    fn into_html(self, ctx: &mut Ctx) -> HttpResponse {
        let status = actix_web::ResponseError::status_code(&self);
        if status.is_server_error() {
            return ctx.error_page(self);
        }
        ctx.respond(status, false, None, |r, page| r.error(page))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_path_builds_nested_answers() {
        let mut answers = json!({"name": "x"});
        set_path(&mut answers, "kinder.1.nachweis", json!({"id": "a"}));
        assert_eq!(answers, json!({"name": "x", "kinder": [{}, {"nachweis": {"id": "a"}}]}));
        set_path(&mut answers, "nachweis", json!("n"));
        assert_eq!(answers["nachweis"], json!("n"));
        // A path that does not fit the shape changes nothing.
        set_path(&mut answers, "name.0.x", json!(1));
        assert_eq!(answers["name"], json!("x"));
    }

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
