//! The static site behind `baukasten render --out DIR`: every page of every service as files
//! that link each other relatively, so they open from disk. For previews, and for the browser
//! checks (Nu Html Checker, axe) that run over every page.
//!
//! Layout (the English pages repeat it under `en/`):
//!
//! ```text
//! index.html                        shared services, links to each municipality
//! 404.html, error.html
//! <tenant>/index.html               a municipality's catalog
//! <tenant or _shared>/<service>/    start.html, step-<id>.html, step-<id>-errors.html,
//!                                   summary.html, summary-errors.html, confirmation.html,
//!                                   resume.html, resume-saved.html
//! assets/                           main.css, reveal.js, theme-<tenant>.css (shared by both languages)
//! ```
//!
//! A municipality's catalog links the shared services it has no overlay for to their pages
//! under `_shared/`, so each service is rendered once per language.

use baukasten_dsl::model::{Catalog, Field, FieldKind, Service, Tenant};
use baukasten_engine::{CompiledService, Context};
use chrono::{Datelike, NaiveDate};
use serde_json::{Map, Value as Json};

use crate::links::Links;
use crate::pages::{Page, Renderer, ResumeState, StepMode};
use crate::{assets, theme_css};

/// The files of the static site: relative path and content. Pure: the caller writes them.
/// Services whose expressions do not compile (which `baukasten check` reports) are left out.
pub fn static_site(catalog: &Catalog, today: NaiveDate) -> Vec<(String, Vec<u8>)> {
    let renderer = Renderer::new();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for asset in assets() {
        files.push((format!("assets/{}", asset.name), asset.bytes.to_vec()));
    }
    for tenant in &catalog.tenants {
        if let Some(css) = theme_css(tenant) {
            files.push((format!("assets/theme-{}.css", tenant.id), css.into_bytes()));
        }
    }
    let compiled: Vec<(&Service, CompiledService)> = catalog
        .services
        .iter()
        .filter_map(|s| CompiledService::new(s).ok().map(|c| (s, c)))
        .collect();
    for lang in ["de", "en"] {
        let site = Site {
            renderer: &renderer,
            lang,
            catalog,
            today,
        };
        site.catalogs(&compiled, &mut files);
        for (service, compiled) in &compiled {
            site.service(service, compiled, &mut files);
        }
        let none = site.links("404.html", None);
        files.push((
            site.path("404.html"),
            renderer.not_found(&site.page(&none, None)).into_bytes(),
        ));
        let none = site.links("error.html", None);
        files.push((
            site.path("error.html"),
            renderer.error(&site.page(&none, None)).into_bytes(),
        ));
    }
    files
}

struct Site<'a> {
    renderer: &'a Renderer,
    lang: &'a str,
    catalog: &'a Catalog,
    today: NaiveDate,
}

impl<'a> Site<'a> {
    /// The file's path in the site: under `en/` for English.
    fn path(&self, page: &str) -> String {
        if self.lang == "en" {
            format!("en/{page}")
        } else {
            page.to_string()
        }
    }

    fn links(&self, page: &str, service: Option<&'a Service>) -> StaticLinks<'a> {
        StaticLinks {
            page: page.to_string(),
            en: self.lang == "en",
            service,
            next: None,
        }
    }

    fn page<'p>(&self, links: &'p StaticLinks<'a>, tenant: Option<&'p Tenant>) -> Page<'p> {
        Page {
            lang: self.lang,
            tenant,
            links,
            csrf: None,
            session: None,
        }
    }

    fn tenant(&self, id: Option<&str>) -> Option<&'a Tenant> {
        let id = id?;
        self.catalog.tenants.iter().find(|t| t.id == id)
    }

    fn catalogs(&self, compiled: &[(&'a Service, CompiledService)], files: &mut Vec<(String, Vec<u8>)>) {
        let shared: Vec<&Service> = compiled
            .iter()
            .map(|(s, _)| *s)
            .filter(|s| s.tenant.is_none())
            .collect();
        let tenants: Vec<&Tenant> = self.catalog.tenants.iter().collect();
        let links = self.links("index.html", None);
        let html = self.renderer.catalog(&self.page(&links, None), &shared, &tenants, "");
        files.push((self.path("index.html"), html.into_bytes()));
        for tenant in &self.catalog.tenants {
            // What the municipality offers: its overlays, and every shared service it does not
            // replace.
            let own: Vec<&Service> = shared
                .iter()
                .map(|s| {
                    compiled
                        .iter()
                        .map(|(c, _)| *c)
                        .find(|c| c.id == s.id && c.tenant.as_deref() == Some(&tenant.id))
                        .unwrap_or(s)
                })
                .collect();
            let page = format!("{}/index.html", tenant.id);
            let links = self.links(&page, None);
            let html = self.renderer.catalog(&self.page(&links, Some(tenant)), &own, &[], "");
            files.push((self.path(&page), html.into_bytes()));
        }
    }

    fn service(&self, service: &'a Service, compiled: &CompiledService, files: &mut Vec<(String, Vec<u8>)>) {
        let dir = service_dir(service);
        let tenant = self.tenant(service.tenant.as_deref());
        let (answers, today) = sample_answers(service, self.today);
        let ctx = Context { today };
        let evaluation = compiled.evaluate(&answers, &ctx);
        let mut emit = |name: &str, render: &dyn Fn(&Page) -> String, next: Option<String>| {
            let page = format!("{dir}/{name}");
            let mut links = self.links(&page, Some(service));
            links.next = next;
            let html = render(&self.page(&links, tenant));
            files.push((self.path(&page), html.into_bytes()));
        };
        emit("start.html", &|p| self.renderer.start(p, compiled), None);
        let steps: Vec<&str> = service.steps.iter().map(|s| s.id.as_str()).collect();
        // Other tests' answers, for steps the sample does not reach (a company's details, a
        // surcharge above ten items), so their pages show them as a citizen would see them.
        let others: Vec<(Json, Context)> = std::iter::once((answers.clone(), ctx.clone()))
            .chain(service.tests.iter().map(|t| {
                let today = t
                    .today
                    .as_deref()
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .unwrap_or(self.today);
                (t.answers.to_json(), Context { today })
            }))
            .collect();
        for (i, step) in steps.iter().enumerate() {
            let next = steps
                .get(i + 1)
                .map_or("summary.html".to_string(), |n| format!("step-{n}.html"));
            let (base, base_ctx, shown) = others
                .iter()
                .find_map(|(a, c)| {
                    let e = compiled.evaluate(a, c);
                    e.steps.iter().any(|s| s.id == *step && s.visible).then_some((a, c, e))
                })
                .unwrap_or((&answers, &ctx, evaluation.clone()));
            emit(
                &format!("step-{step}.html"),
                &|p| self.renderer.step(p, compiled, step, &shown, base, StepMode::default()),
                Some(next.clone()),
            );
            let broken = broken_answers(service, step, base);
            let failed = compiled.evaluate(&broken, base_ctx);
            emit(
                &format!("step-{step}-errors.html"),
                &|p| {
                    self.renderer.step(
                        p,
                        compiled,
                        step,
                        &failed,
                        &broken,
                        StepMode {
                            show_errors: true,
                            ..StepMode::default()
                        },
                    )
                },
                Some(next.clone()),
            );
        }
        emit(
            "summary.html",
            &|p| self.renderer.summary(p, compiled, &evaluation, false, false),
            None,
        );
        emit(
            "summary-errors.html",
            &|p| self.renderer.summary(p, compiled, &evaluation, true, false),
            None,
        );
        let reference = format!(
            "{}-{}-7K3Q9",
            service.reference_prefix.as_deref().unwrap_or("ANT"),
            today.year()
        );
        emit(
            "confirmation.html",
            &|p| self.renderer.confirmation(p, compiled, &evaluation, &reference),
            None,
        );
        emit(
            "resume.html",
            &|p| self.renderer.resume(p, service, ResumeState::Ask),
            None,
        );
        let first = steps
            .first()
            .map_or("summary.html".to_string(), |s| format!("step-{s}.html"));
        emit(
            "resume-saved.html",
            &|p| {
                self.renderer.resume(
                    p,
                    service,
                    ResumeState::Saved {
                        code: "K7Q9-3MXP",
                        link: &first,
                    },
                )
            },
            None,
        );
    }
}

fn service_dir(service: &Service) -> String {
    format!("{}/{}", service.tenant.as_deref().unwrap_or("_shared"), service.id)
}

/// Answers that fill in the whole service, so every page of the preview shows something: those
/// of the first test that expects a valid submission, with its date for `today()`.
fn sample_answers(service: &Service, today: NaiveDate) -> (Json, NaiveDate) {
    let test = service.tests.iter().find(|t| t.expect.valid == Some(true));
    match test {
        Some(t) => {
            let date = t
                .today
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .unwrap_or(today);
            (t.answers.to_json(), date)
        }
        None => (Json::Object(Map::new()), today),
    }
}

/// The sample answers with the fields of `step` made wrong: typed fields get text that is not
/// of their type (an "x" for a number, the 31 February for a date), all others are emptied.
fn broken_answers(service: &Service, step: &str, answers: &Json) -> Json {
    let mut out = answers.as_object().cloned().unwrap_or_default();
    if let Some(step) = service.step(step) {
        for field in &step.fields {
            match broken(field) {
                Some(v) => out.insert(field.id.clone(), v),
                None => out.remove(&field.id),
            };
        }
    }
    Json::Object(out)
}

fn broken(field: &Field) -> Option<Json> {
    match &field.kind {
        FieldKind::Integer
        | FieldKind::Decimal
        | FieldKind::Money
        | FieldKind::Email
        | FieldKind::Phone
        | FieldKind::Plz
        | FieldKind::Iban
        | FieldKind::SteuerId
        | FieldKind::KfzKennzeichen => Some(Json::String("x".into())),
        FieldKind::Date => Some(serde_json::json!({"day": "31", "month": "02", "year": "2026"})),
        FieldKind::Group { fields } => {
            let map: Map<String, Json> = fields
                .iter()
                .filter_map(|f| broken(f).map(|v| (f.id.clone(), v)))
                .collect();
            Some(Json::Object(map))
        }
        FieldKind::Repeat { fields, .. } => {
            let map: Map<String, Json> = fields
                .iter()
                .filter_map(|f| broken(f).map(|v| (f.id.clone(), v)))
                .collect();
            Some(Json::Array(vec![Json::Object(map)]))
        }
        _ => None,
    }
}

/// Relative links between the files of the static site.
struct StaticLinks<'a> {
    /// This page's path inside its language's tree, such as `_shared/sperrmuell/start.html`.
    page: String,
    en: bool,
    service: Option<&'a Service>,
    /// The file a step's form goes to: the next step, or the summary.
    next: Option<String>,
}

impl StaticLinks<'_> {
    /// From this page up to the root of the whole site.
    fn root(&self) -> String {
        let depth = self.page.matches('/').count() + usize::from(self.en);
        "../".repeat(depth)
    }

    /// From this page up to the root of this language's tree.
    fn lang_root(&self) -> String {
        let mut root = self.root();
        if self.en {
            root.push_str("en/");
        }
        root
    }

    fn in_service(&self, service: &Service, file: &str) -> String {
        format!("{}{}/{file}", self.lang_root(), service_dir(service))
    }
}

impl Links for StaticLinks<'_> {
    fn asset(&self, name: &str) -> String {
        format!("{}assets/{name}", self.root())
    }

    fn theme(&self, tenant: &str) -> String {
        format!("{}assets/theme-{tenant}.css", self.root())
    }

    fn catalog(&self, tenant: Option<&str>) -> String {
        match tenant {
            Some(t) => format!("{}{t}/index.html", self.lang_root()),
            None => format!("{}index.html", self.lang_root()),
        }
    }

    fn start(&self, service: &Service) -> String {
        self.in_service(service, "start.html")
    }

    fn step(&self, service: &Service, step: &str) -> String {
        self.in_service(service, &format!("step-{step}.html"))
    }

    fn step_action(&self, service: &Service, step: &str) -> String {
        match (&self.next, self.service) {
            (Some(next), Some(s)) if s.id == service.id => self.in_service(service, next),
            _ => self.step(service, step),
        }
    }

    fn summary(&self, service: &Service) -> String {
        self.in_service(service, "summary.html")
    }

    fn send(&self, service: &Service) -> String {
        self.in_service(service, "confirmation.html")
    }

    fn confirmation(&self, service: &Service) -> String {
        self.in_service(service, "confirmation.html")
    }

    fn resume(&self, service: &Service) -> String {
        self.in_service(service, "resume.html")
    }

    fn evaluate(&self, _service: &Service, _step: &str) -> Option<String> {
        None
    }

    fn other_language(&self) -> String {
        if self.en {
            format!("{}{}", self.root(), self.page)
        } else {
            format!("{}en/{}", self.root(), self.page)
        }
    }

    fn post_forms(&self) -> bool {
        false
    }
}
