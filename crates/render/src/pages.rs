//! The [`Renderer`]: one minijinja environment with every template embedded, and one method per
//! page. Each method returns the whole HTML document.
//!
//! A template error is a bug of this crate, not of the caller's input; it must not take the
//! server down, so a method that hits one returns [`FALLBACK_PAGE`], a plain error page in both
//! languages that names no internals. The tests render every page of the catalog, so such a
//! bug shows up there first.

use baukasten_dsl::model::{Service, Tenant, Text};
use baukasten_engine::{CompiledService, Evaluation};
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value, context};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value as Json;

use crate::fields::{Strings, write_fields};
use crate::i18n;
use crate::links::Links;
use crate::view::{field_anchor, labelled, step_view};
use baukasten_dsl::search::search;

/// What every page needs besides its own content. The caller fills one per request.
#[derive(Clone, Copy)]
pub struct Page<'a> {
    /// `"de"` or `"en"`; anything else is taken as German.
    pub lang: &'a str,
    /// The municipality whose pages these are; `None` for shared services, in a neutral look.
    pub tenant: Option<&'a Tenant>,
    pub links: &'a dyn Links,
    /// When given, every POST form carries `<input type="hidden" name="_csrf" value="…">`.
    pub csrf: Option<&'a str>,
    /// When given, step pages warn that the session ends soon and offer to extend it
    /// (WCAG 2.2.1).
    pub session: Option<SessionExpiry<'a>>,
}

impl<'a> Page<'a> {
    /// This page for one service's pages. A service is shown only in languages it declares:
    /// one with German texts only stays German on a request for English, whole, so no German
    /// label stands in an English page (WCAG 3.1.2); see `docs/language.md`. Also says whether
    /// the service has texts in the other language (the language switch).
    fn for_service(&self, service: &Service) -> (Page<'a>, bool) {
        let lang = lang_of(self.lang);
        let declared = |l: &str| l == "de" || service.languages.iter().any(|d| d == l);
        let page = Page {
            lang: if declared(lang) { self.lang } else { "de" },
            ..*self
        };
        let other = if lang_of(page.lang) == "en" { "de" } else { "en" };
        (page, declared(other))
    }
}

/// How a step page is shown, beyond its answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct StepMode<'m> {
    /// Errors in the summary, at the fields and in the title ("Fehler: …").
    pub show_errors: bool,
    /// Reached with "Ändern" from the summary: the form carries [`crate::FROM_SUMMARY`], so
    /// "Weiter" returns there.
    pub from_summary: bool,
    /// The repeat item just added or removed: focus moves to the new item's first field, or to
    /// a message that says which item was removed.
    pub after: Option<&'m crate::Action>,
}

/// The time left in a session, and where the "more time" form posts to.
#[derive(Debug, Clone, Copy)]
pub struct SessionExpiry<'a> {
    pub minutes_left: u32,
    pub extend_url: &'a str,
}

/// Which variant of the resume page to show.
#[derive(Debug, Clone, Copy)]
pub enum ResumeState<'a> {
    /// Ask for a code.
    Ask,
    /// The code entered was not found: ask again, with an error at the field.
    Invalid { code: &'a str },
    /// The draft was saved: show its code and the link that continues it.
    Saved { code: &'a str, link: &'a str },
}

/// Shown when a template fails: plain, bilingual, and without internals.
pub const FALLBACK_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"de\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Leider ist ein Fehler aufgetreten</title></head><body><main>\
<h1>Leider ist ein Fehler aufgetreten</h1>\
<p>Bitte versuchen Sie es in einigen Minuten noch einmal.</p>\
<p lang=\"en\">Sorry, something went wrong. Please try again in a few minutes.</p>\
</main></body></html>\n";

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("errors.html", include_str!("../templates/errors.html")),
    ("catalog.html", include_str!("../templates/catalog.html")),
    ("start.html", include_str!("../templates/start.html")),
    ("step.html", include_str!("../templates/step.html")),
    ("answers.html", include_str!("../templates/answers.html")),
    ("summary.html", include_str!("../templates/summary.html")),
    ("confirmation.html", include_str!("../templates/confirmation.html")),
    ("resume.html", include_str!("../templates/resume.html")),
    ("message.html", include_str!("../templates/message.html")),
    ("inbox_sign_in.html", include_str!("../templates/inbox_sign_in.html")),
    ("inbox_list.html", include_str!("../templates/inbox_list.html")),
    ("inbox_tally.html", include_str!("../templates/inbox_tally.html")),
    ("inbox_detail.html", include_str!("../templates/inbox_detail.html")),
    ("inbox_overview.html", include_str!("../templates/inbox_overview.html")),
];

/// Renders every page. Build one with [`Renderer::new`] and share it (`Send + Sync`).
pub struct Renderer {
    env: Environment<'static>,
    ui_de: Value,
    ui_en: Value,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer").finish_non_exhaustive()
    }
}

/// The parts of the page frame that come from the caller: language, municipality, links.
#[derive(Serialize)]
struct Frame {
    lang: &'static str,
    site_name: String,
    catalog_url: String,
    css_url: String,
    theme_url: Option<String>,
    /// `None` on the pages of a service that has no texts in the other language.
    other_language_url: Option<String>,
    logo: Option<String>,
    logo_alt: Option<String>,
    footer: Vec<(&'static str, String)>,
    contact: Option<ContactView>,
    csrf: Option<String>,
    post: bool,
}

#[derive(Serialize)]
struct ContactView {
    office: Option<String>,
    address: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    hours: Option<String>,
}

#[derive(Serialize)]
struct ServiceLink {
    title: String,
    description: Option<String>,
    url: String,
    /// `de` where the page is in English and the service has no English title: the German
    /// part is marked as such (WCAG 3.1.2).
    lang: Option<&'static str>,
}

#[derive(Serialize)]
struct SummarySection {
    title: String,
    rows: Vec<SummaryRowView>,
}

#[derive(Serialize)]
struct SummaryRowView {
    label: String,
    /// One line per part of a group or repeat item.
    lines: Vec<String>,
    change_url: String,
}

#[derive(Serialize)]
struct FeeView {
    label: String,
    amount: String,
}

/// Writes a value into the page. Strings are escaped like minijinja's HTML escaping except
/// for `/`, which HTML does not need escaped: URLs stay readable in the source and in tests.
fn escape_html(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    let Some(text) = value.as_str().filter(|_| !value.is_safe()) else {
        return minijinja::escape_formatter(out, state, value);
    };
    crate::fields::escape_to(out, text).map_err(minijinja::Error::from)
}

/// A serializable value as a template value.
pub(crate) fn ser<T: Serialize>(value: T) -> Value {
    Value::from(Serde(value))
}

fn lang_of(lang: &str) -> &'static str {
    if lang == "en" { "en" } else { "de" }
}

fn text(t: &Option<Text>, lang: &str) -> Option<String> {
    t.as_ref().map(|t| t.get(lang).to_string()).filter(|s| !s.is_empty())
}

fn money(amount: Decimal, lang: &str) -> String {
    if lang == "en" {
        baukasten_engine::messages::english_money(amount)
    } else {
        baukasten_engine::messages::german_money(amount)
    }
}

impl Renderer {
    /// Compiles every embedded template once. Auto-escaping is on for all of them.
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        if let Ok(syntax) = env.syntax().to_builder().trim_blocks(true).lstrip_blocks(true).build() {
            env.set_syntax(syntax);
        }
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.set_formatter(escape_html);
        for (name, source) in TEMPLATES {
            // The templates are part of the crate; the tests render every page, so a syntax
            // error cannot reach a release. Should one slip through, its pages use the fallback.
            let _ = env.add_template(name, source);
        }
        Self {
            env,
            ui_de: i18n::table("de"),
            ui_en: i18n::table("en"),
        }
    }

    fn frame(&self, page: &Page) -> Frame {
        let lang = lang_of(page.lang);
        let links = page.links;
        let tenant = page.tenant;
        let ui = |k| i18n::ui_string(lang, k).unwrap_or("");
        let footer = tenant
            .map(|t| {
                [
                    ("impressum", &t.links.impressum),
                    ("datenschutz", &t.links.datenschutz),
                    ("barrierefreiheit", &t.links.barrierefreiheit),
                ]
                .into_iter()
                .filter(|(_, url)| !url.is_empty())
                .map(|(k, url)| (ui(k), url.clone()))
                .collect()
            })
            .unwrap_or_default();
        Frame {
            lang,
            site_name: tenant.map_or_else(|| ui("site_name").to_string(), |t| t.name.get(lang).to_string()),
            catalog_url: links.catalog(tenant.map(|t| t.id.as_str())),
            css_url: links.asset("main.css"),
            theme_url: tenant
                .filter(|t| crate::theme::theme_css(t).is_some())
                .map(|t| links.theme(&t.id)),
            other_language_url: Some(links.other_language()),
            logo: tenant.and_then(|t| t.theme.logo.clone()),
            logo_alt: tenant.map(|t| text(&t.theme.logo_alt, lang).unwrap_or_else(|| t.name.get(lang).to_string())),
            footer,
            contact: tenant.map(|t| ContactView {
                office: text(&t.contact.office, lang),
                address: text(&t.contact.address, lang),
                email: t.contact.email.clone(),
                phone: t.contact.phone.clone(),
                hours: text(&t.contact.hours, lang),
            }),
            csrf: page.csrf.map(str::to_string),
            post: links.post_forms(),
        }
    }

    fn render(&self, name: &str, page: &Page, ctx: Value) -> String {
        self.render_with(name, page, true, ctx)
    }

    /// Renders a page, with the language switch only where `other_language` (a service's
    /// pages have it only where the service has texts in the other language).
    pub(crate) fn render_with(&self, name: &str, page: &Page, other_language: bool, ctx: Value) -> String {
        let lang = lang_of(page.lang);
        let ui = if lang == "en" { &self.ui_en } else { &self.ui_de };
        let mut frame = self.frame(page);
        if !other_language {
            frame.other_language_url = None;
        }
        let frame = ser(frame);
        let ctx = context! { ui => ui, frame => frame, ..ctx };
        match self.env.get_template(name).and_then(|t| t.render(ctx)) {
            Ok(html) => html,
            Err(error) => {
                // Debug builds say why, so a failing test points at the template line.
                if cfg!(debug_assertions) {
                    eprintln!("baukasten-render: {name}: {error:#}");
                }
                FALLBACK_PAGE.to_string()
            }
        }
    }

    /// The catalog: the services that match `query` (see [`crate::search`]), a search box,
    /// and links to municipalities' own catalogs (pass none on a municipality's page).
    pub fn catalog(&self, page: &Page, services: &[&Service], municipalities: &[&Tenant], query: &str) -> String {
        let lang = lang_of(page.lang);
        let query = query.trim();
        let found: Vec<ServiceLink> = search(services.iter().copied(), query)
            .into_iter()
            .map(|s| ServiceLink {
                title: s.title.get(lang).to_string(),
                description: text(&s.description, lang),
                url: page.links.start(s),
                lang: (lang != "de" && !s.title.has(lang)).then_some("de"),
            })
            .collect();
        let municipalities: Vec<ServiceLink> = municipalities
            .iter()
            .map(|t| ServiceLink {
                title: t.name.get(lang).to_string(),
                description: None,
                url: page.links.catalog(Some(&t.id)),
                lang: None,
            })
            .collect();
        let ctx = context! {
            tenant_name => page.tenant.map(|t| t.name.get(lang).to_string()),
            search_url => page.links.catalog(page.tenant.map(|t| t.id.as_str())),
            query => query,
            count => found.len(),
            services => ser(found),
            municipalities => ser(municipalities),
        };
        self.render("catalog.html", page, ctx)
    }

    /// A service's start page: what it is for, what you need, how long it takes, the fee and
    /// the privacy note, and the button to the first step.
    pub fn start(&self, page: &Page, compiled: &CompiledService) -> String {
        let service = compiled.service();
        let (page, other_language) = &page.for_service(service);
        let lang = lang_of(page.lang);
        // Fees that depend on no answer are named with their amount; the others only as
        // depending on the answers, since a guess from empty answers could be wrong.
        let fixed = compiled.fixed_fees();
        let fees: Vec<FeeView> = fixed
            .items
            .iter()
            .map(|f| FeeView {
                label: f.label.get(lang).to_string(),
                amount: money(f.amount, lang),
            })
            .collect();
        let first = service.steps.first().map(|s| page.links.step(service, &s.id));
        let ctx = context! {
            title => service.title.get(lang),
            description => text(&service.description, lang),
            requirements => ser(service.requirements.iter().map(|r| r.get(lang)).collect::<Vec<_>>()),
            duration => text(&service.duration, lang),
            has_fees => !service.fees.is_empty(),
            fees => ser(fees),
            fees_depend => fixed.more_depend_on_answers,
            privacy => text(&service.privacy, lang),
            privacy_url => page.tenant.map(|t| t.links.datenschutz.clone()).filter(|u| !u.is_empty()),
            start_url => first.unwrap_or_else(|| page.links.summary(service)),
            resume_url => page.links.resume(service),
        };
        self.render_with("start.html", page, *other_language, ctx)
    }

    /// One step of `service`: every field (those the evaluation hides carry `hidden`),
    /// re-filled from the raw `answers` as the citizen typed them (also invalid text), the
    /// progress "Schritt 2 von 5", and with `show_errors` the error summary, messages at the
    /// fields, `aria-invalid` and a title starting with "Fehler:". An unknown step gives the
    /// 404 page.
    pub fn step(
        &self,
        page: &Page,
        service: &CompiledService,
        step: &str,
        evaluation: &Evaluation,
        answers: &Json,
        mode: StepMode<'_>,
    ) -> String {
        let (page, other_language) = &page.for_service(service.service());
        let lang = lang_of(page.lang);
        let model = service.service();
        let Some(step_model) = model.step(step) else {
            return self.not_found(page);
        };
        let view = step_view(&step_model.fields, step, evaluation, answers, mode, lang);
        // The fields' markup is written in Rust (see `fields.rs`) and every part of it escaped
        // there, so the template takes it as it is.
        let mut fields_html = String::with_capacity(512 * view.fields.len());
        write_fields(&mut fields_html, &view.fields, &Strings::new(lang));
        let path = evaluation.path();
        let (number, total) = match path.iter().position(|s| *s == step) {
            Some(n) => (n + 1, path.len()),
            None => (path.len().min(1), path.len().max(1)),
        };
        let links = page.links;
        let ctx = context! {
            service_title => model.title.get(lang),
            title => step_model.title.get(lang),
            description => text(&step_model.description, lang),
            step_number => number.to_string(),
            step_total => total.to_string(),
            action => links.step_action(model, step),
            evaluate_url => links.evaluate(model, step),
            script_url => links.evaluate(model, step).map(|_| links.asset("reveal.js")),
            multipart => view.has_files,
            default_button => view.has_repeats,
            from_summary => mode.from_summary.then_some(crate::form::FROM_SUMMARY.0),
            from_summary_value => crate::form::FROM_SUMMARY.1,
            has_errors => !view.errors.is_empty(),
            errors => ser(view.errors),
            fields_html => Value::from_safe_string(fields_html),
            session => page.session.map(|s| context! {
                minutes => s.minutes_left.to_string(),
                url => s.extend_url,
            }),
        };
        self.render_with("step.html", page, *other_language, ctx)
    }

    fn answers(&self, page: &Page, service: &CompiledService, evaluation: &Evaluation) -> Vec<SummarySection> {
        let lang = lang_of(page.lang);
        let model = service.service();
        service
            .summary(evaluation, lang)
            .into_iter()
            .filter(|s| !s.rows.is_empty())
            .map(|s| {
                let step_url = page.links.step(model, &s.step);
                SummarySection {
                    title: s.title.get(lang).to_string(),
                    rows: s
                        .rows
                        .into_iter()
                        .map(|r| SummaryRowView {
                            change_url: format!(
                                "{step_url}?{}={}#{}",
                                crate::form::FROM_SUMMARY.0,
                                crate::form::FROM_SUMMARY.1,
                                field_anchor(model, &r.path)
                            ),
                            label: r.label,
                            lines: r.lines,
                        })
                        .collect(),
                }
            })
            .collect()
    }

    fn fees(&self, lang: &str, evaluation: &Evaluation) -> (Vec<FeeView>, String) {
        let items = evaluation
            .fees
            .iter()
            .map(|f| FeeView {
                label: f.label.get(lang).to_string(),
                amount: money(f.amount, lang),
            })
            .collect();
        (items, money(evaluation.fee_total, lang))
    }

    /// The summary ("Bitte prüfen Sie Ihre Angaben"): every visible answer with a change link,
    /// the fees and their total, the declaration checkbox (`_declaration`, value `ja`) when the
    /// service has one, and the send button. With `show_errors`, the evaluation's errors (each
    /// linking to its field on its step) and, unless `declaration_checked`, a missing
    /// declaration are shown as on a step, with "Fehler:" in the title.
    pub fn summary(
        &self,
        page: &Page,
        service: &CompiledService,
        evaluation: &Evaluation,
        show_errors: bool,
        declaration_checked: bool,
    ) -> String {
        let (page, other_language) = &page.for_service(service.service());
        let lang = lang_of(page.lang);
        let model = service.service();
        let mut errors = Vec::new();
        if show_errors {
            for e in &evaluation.errors {
                let label = model
                    .field(
                        &e.field
                            .split('.')
                            .filter(|s| s.parse::<usize>().is_err())
                            .collect::<Vec<_>>()
                            .join("."),
                    )
                    .map(|f| f.label.get(lang).to_string())
                    .unwrap_or_default();
                let message = e.message.get(lang);
                errors.push(context! {
                    // Fixed from the summary, the step leads back to it ("Weiter" returns here).
                    href => format!(
                        "{}?{}={}#{}",
                        page.links.step(model, &e.step),
                        crate::form::FROM_SUMMARY.0,
                        crate::form::FROM_SUMMARY.1,
                        field_anchor(model, &e.field)
                    ),
                    message => labelled(&label, message),
                });
            }
        }
        let declaration_error = show_errors && model.declaration.is_some() && !declaration_checked;
        if declaration_error {
            errors.push(context! {
                href => "#declaration",
                message => i18n::ui_string(lang, "declaration_missing").unwrap_or(""),
            });
        }
        let (fees, total) = self.fees(lang, evaluation);
        let ctx = context! {
            service_title => model.title.get(lang),
            sections => ser(self.answers(page, service, evaluation)),
            fees => ser(fees),
            fee_total => total,
            declaration => text(&model.declaration, lang),
            declaration_checked => declaration_checked,
            declaration_error => declaration_error,
            has_errors => !errors.is_empty(),
            errors => ser(errors),
            action => page.links.send(model),
            change => true,
        };
        self.render_with("summary.html", page, *other_language, ctx)
    }

    /// The confirmation after sending: the reference number, the fee to pay, what happens
    /// next, the municipality's contact, and the answers as a receipt (print-friendly).
    pub fn confirmation(
        &self,
        page: &Page,
        service: &CompiledService,
        evaluation: &Evaluation,
        reference: &str,
    ) -> String {
        let (page, other_language) = &page.for_service(service.service());
        let lang = lang_of(page.lang);
        let model = service.service();
        let (fees, total) = self.fees(lang, evaluation);
        let ctx = context! {
            service_title => model.title.get(lang),
            reference => reference,
            sections => ser(self.answers(page, service, evaluation)),
            fees => ser(fees),
            fee_total => total,
            has_fee => !evaluation.fee_total.is_zero(),
            next_steps => text(&model.next_steps, lang),
            receipt_url => page.links.receipt(model),
            change => false,
        };
        self.render_with("confirmation.html", page, *other_language, ctx)
    }

    /// The resume page of `service`: enter a code (form field `code`, sent to
    /// [`Links::resume`]), or after saving, the code and the link that continues the draft.
    pub fn resume(&self, page: &Page, service: &Service, state: ResumeState) -> String {
        let (page, other_language) = &page.for_service(service);
        let lang = lang_of(page.lang);
        let (code, link, invalid, saved) = match state {
            ResumeState::Ask => ("", "", false, false),
            ResumeState::Invalid { code } => (code, "", true, false),
            ResumeState::Saved { code, link } => (code, link, false, true),
        };
        let ctx = context! {
            service_title => service.title.get(lang),
            action => page.links.resume(service),
            code => code,
            link => link,
            invalid => invalid,
            saved => saved,
            has_errors => invalid,
        };
        self.render_with("resume.html", page, *other_language, ctx)
    }

    /// "Seite nicht gefunden", with a link to the catalog. The caller sends status 404.
    pub fn not_found(&self, page: &Page) -> String {
        self.render(
            "message.html",
            page,
            context! { title_key => "not_found_title", text_key => "not_found_text" },
        )
    }

    /// A friendly error page that names no internals. The caller sends status 500.
    pub fn error(&self, page: &Page) -> String {
        self.render(
            "message.html",
            page,
            context! { title_key => "error_title", text_key => "error_text" },
        )
    }
}
