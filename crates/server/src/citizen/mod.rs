//! The citizen's pages: catalog, start, one page per step, summary, send, confirmation,
//! resume, and the 404 and error pages. `render` writes the HTML; this module decides which
//! page to show and keeps the draft.
//!
//! URLs of a service live under `/{tenant}/{service}/`: `schritt/{step}` (and `schritt/{step}/live`,
//! where the optional script posts the step's form while it is filled in), `pruefen` (summary),
//! `senden`, `bestaetigung` (with `eingangsbestaetigung.pdf`, the receipt), `fortsetzen` (resume) and `verlaengern` (more time). A cookie
//! scoped to that path carries the signed session: `n:<nonce>` before anything is saved,
//! `d:<draft id>` while a draft exists, `r:<reference>` after sending. Every form carries a
//! CSRF token derived from that value.
//!
//! The session ends after `session_timeout` without a request; every step page says when and
//! offers more time (WCAG 2.2.1). The draft itself stays in the store and can be resumed by
//! its code.

mod form;
mod links;
mod resume;
mod sending;
mod session;
mod steps;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use baukasten_dsl::model::{Service, Tenant};
use baukasten_render::{Links, Page, SessionExpiry};

use crate::error::ApiError;
use crate::lang::Lang;
use crate::state::AppState;
use links::ServerLinks;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/assets/theme/{tenant}.css", web::get().to(theme))
        .route("/assets/{name}", web::get().to(asset))
        .route("/{tenant}/", web::get().to(catalog))
        .route("/{tenant}", web::get().to(add_slash))
        .route("/{tenant}/{service}/", web::get().to(steps::start))
        .route("/{tenant}/{service}", web::get().to(add_slash))
        .route("/{tenant}/{service}/schritt/{step}", web::get().to(steps::step_page))
        .route("/{tenant}/{service}/schritt/{step}", web::post().to(steps::step_post))
        .route("/{tenant}/{service}/schritt/{step}/live", web::post().to(steps::live))
        .route("/{tenant}/{service}/pruefen", web::get().to(sending::summary))
        .route("/{tenant}/{service}/senden", web::post().to(sending::send))
        .route("/{tenant}/{service}/bestaetigung", web::get().to(sending::confirmation))
        .route(
            "/{tenant}/{service}/eingangsbestaetigung.pdf",
            web::get().to(sending::receipt),
        )
        .route("/{tenant}/{service}/fortsetzen", web::get().to(resume::resume_page))
        .route("/{tenant}/{service}/fortsetzen", web::post().to(resume::resume_post))
        .route("/{tenant}/{service}/verlaengern", web::post().to(resume::extend));
}

pub(super) fn page<'a>(
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

use crate::lang::remember_language;

fn html_response(req: &HttpRequest, status: StatusCode, body: String) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.content_type("text/html; charset=utf-8");
    remember_language(req, &mut response);
    response.body(body)
}

pub(super) fn not_found_page(state: &AppState, req: &HttpRequest, lang: Lang) -> HttpResponse {
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
