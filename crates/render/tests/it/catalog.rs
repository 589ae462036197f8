//! The UI string catalog, themes, search and the other pages.

use baukasten_dsl::model::{Tenant, Theme};
use baukasten_engine::Context;
use baukasten_render::{Page, Renderer, ResumeState, UI_STRINGS, search, theme_css, ui_string};
use serde_json::json;

use crate::common::{TestLinks, fixture, forms, tag, title, today};

const TEMPLATES: &[&str] = &[
    include_str!("../../templates/base.html"),
    include_str!("../../templates/errors.html"),
    include_str!("../../templates/catalog.html"),
    include_str!("../../templates/start.html"),
    include_str!("../../templates/step.html"),
    include_str!("../../templates/answers.html"),
    include_str!("../../templates/summary.html"),
    include_str!("../../templates/confirmation.html"),
    include_str!("../../templates/resume.html"),
    include_str!("../../templates/message.html"),
];

#[test]
fn every_ui_string_a_template_uses_exists_in_german_and_english() {
    let mut used = Vec::new();
    for template in TEMPLATES {
        for piece in template.split("ui.").skip(1) {
            let key: String = piece
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            used.push(key);
        }
    }
    // message.html looks its keys up by name.
    used.extend(["not_found_title", "not_found_text", "error_title", "error_text"].map(String::from));
    assert!(used.len() > 40, "the scan found the keys");
    for key in &used {
        let de = ui_string("de", key).unwrap_or_else(|| panic!("`{key}` is not in the catalog"));
        let en = ui_string("en", key).unwrap();
        assert!(!de.is_empty() && !en.is_empty(), "{key}");
    }
    let mut keys: Vec<&str> = UI_STRINGS.iter().map(|(k, _, _)| *k).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), UI_STRINGS.len(), "a key appears twice");
}

#[test]
fn no_template_writes_german_or_english_text_itself() {
    for template in TEMPLATES {
        for word in ["Weiter", "Zurück", "Fehler", "Continue", "Schritt", "optional)"] {
            assert!(!template.contains(word), "a template says `{word}` itself");
        }
    }
}

fn tenant(primary: &str, accent: &str) -> Tenant {
    let mut tenant = forms().tenants[0].clone();
    tenant.theme = Theme {
        primary_color: Some(primary.into()),
        accent_color: Some(accent.into()),
        ..Theme::default()
    };
    tenant
}

#[test]
fn theme_css_takes_only_hex_colours_with_enough_contrast() {
    let css = theme_css(&tenant("#005a8c", "#A4262C")).unwrap();
    assert!(
        css.contains("--primary: #005a8c;") && css.contains("--accent: #a4262c;"),
        "{css}"
    );
    assert_eq!(theme_css(&tenant("#036", "x")).unwrap().matches("--").count(), 1);
    assert!(theme_css(&tenant("#003366", "#003366")).unwrap().contains("#003366"));
    for bad in [
        "red",
        "#12345",
        "#0000001",
        "#005a8c; } body { display: none",
        "url(x)",
        "#ggg",
        "",
        "#ffff00", // yellow: white text on it is unreadable
    ] {
        assert_eq!(theme_css(&tenant(bad, bad)), None, "{bad}");
    }
}

#[test]
fn search_finds_by_title_keyword_and_leika_key() {
    let catalog = forms();
    let ids = |q: &str| {
        search(&catalog.services, q)
            .iter()
            .map(|s| s.id.clone())
            .collect::<Vec<_>>()
    };
    assert!(ids("parkausweis").contains(&"bewohnerparkausweis".to_string()));
    assert!(ids("Anwohnerparken").contains(&"bewohnerparkausweis".to_string()));
    assert!(ids("99108001").contains(&"bewohnerparkausweis".to_string()));
    assert!(ids("resident parking").contains(&"bewohnerparkausweis".to_string()));
    assert!(ids("zzzz").is_empty());
    assert_eq!(ids("").len(), catalog.services.len());
}

fn page<'a>(lang: &'a str, tenant: Option<&'a Tenant>) -> Page<'a> {
    Page {
        lang,
        tenant,
        links: &TestLinks,
        csrf: Some("tok"),
        session: None,
    }
}

#[test]
fn the_summary_lists_answers_with_change_links_fees_and_the_declaration() {
    let service = fixture();
    let answers = json!({"vorname": "Ada", "art": "a", "kinder": [{"vorname": "Max"}]});
    let evaluation = service.evaluate(&answers, &Context { today: today() });
    let r = Renderer::new();
    let html = r.summary(&page("de", None), &service, &evaluation, false, false);
    assert!(
        title(&html).starts_with("Bitte prüfen Sie Ihre Angaben"),
        "{}",
        title(&html)
    );
    assert!(html.contains("<dd class=\"answers__value\">Ada</dd>"), "{html}");
    assert!(
        html.contains(
            "href=\"/_/alle_felder/person?_zurueck=pruefen#f-vorname\">Ändern<span class=\"visually-hidden\"> Vorname</span></a>"
        ),
        "{html}"
    );
    assert!(
        html.contains("href=\"/_/alle_felder/kinder?_zurueck=pruefen#f-kinder-0-vorname\">"),
        "{html}"
    );
    let checkbox = tag(&html, "declaration");
    assert!(
        checkbox.contains("name=\"_declaration\"") && checkbox.contains("value=\"ja\""),
        "{checkbox}"
    );
    assert!(html.contains("<input type=\"hidden\" name=\"_csrf\" value=\"tok\">"));
    assert!(html.contains("action=\"/_/alle_felder/send\""));
    assert!(!html.contains("error-summary"));

    let failed = r.summary(&page("de", None), &service, &evaluation, true, false);
    assert!(title(&failed).starts_with("Fehler: "), "{}", title(&failed));
    assert!(
        failed.contains("<a href=\"#declaration\">Bitte bestätigen Sie die Erklärung.</a>"),
        "{failed}"
    );
    assert!(
        failed.contains("<a href=\"/_/alle_felder/person?_zurueck=pruefen#f-geburtsdatum-day\">Geburtsdatum: "),
        "{failed}"
    );
    assert!(tag(&failed, "declaration").contains("aria-invalid=\"true\""));
}

#[test]
fn confirmation_resume_404_and_error_pages() {
    let service = fixture();
    let evaluation = service.evaluate(&json!({"vorname": "Ada"}), &Context { today: today() });
    let r = Renderer::new();
    let html = r.confirmation(&page("de", None), &service, &evaluation, "ALF-2026-7K3Q9");
    assert!(html.contains("<strong class=\"reference\">ALF-2026-7K3Q9</strong>"));
    assert!(html.contains("Wie geht es weiter?") && html.contains("Ada"));
    assert!(!html.contains("Ändern"));

    let ask = r.resume(&page("de", None), service.service(), ResumeState::Ask);
    assert!(tag(&ask, "code").contains("name=\"code\""));
    let invalid = r.resume(
        &page("de", None),
        service.service(),
        ResumeState::Invalid { code: "ABC" },
    );
    assert!(title(&invalid).starts_with("Fehler: "));
    assert!(tag(&invalid, "code").contains("aria-invalid=\"true\""));
    let saved = r.resume(
        &page("en", None),
        service.service(),
        ResumeState::Saved {
            code: "K7Q9",
            link: "/x/resume?code=K7Q9",
        },
    );
    assert!(saved.contains("Your code is") && saved.contains("K7Q9") && saved.contains("href=\"/x/resume?code=K7Q9\""));

    let not_found = r.not_found(&page("de", None));
    assert!(title(&not_found).starts_with("Seite nicht gefunden"));
    let error = r.error(&page("en", None));
    assert!(title(&error).starts_with("Sorry, something went wrong"));
}

#[test]
fn a_municipality_s_pages_carry_its_theme_name_and_footer_links() {
    let catalog = forms();
    let musterstadt = catalog.tenants.iter().find(|t| t.id == "musterstadt").unwrap();
    let services: Vec<_> = catalog.services.iter().filter(|s| s.tenant.is_none()).collect();
    let html = Renderer::new().catalog(&page("de", Some(musterstadt)), &services, &[], "parkausweis");
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/assets/theme-musterstadt.css\">"));
    assert!(html.contains("Online-Dienste: Stadt Musterstadt"));
    assert!(html.contains("href=\"https://www.musterstadt.example.org/barrierefreiheit\">Barrierefreiheit</a>"));
    assert!(html.contains("1 Dienst gefunden für „parkausweis“"), "{html}");
    assert!(tag(&html, "q").contains("value=\"parkausweis\""));
    // The shared look has no theme stylesheet.
    let shared = Renderer::new().catalog(&page("de", None), &services, &[], "");
    assert!(!shared.contains("theme-"));
    // Titles that say each thing once.
    assert_eq!(title(&html), "Online-Dienste – Stadt Musterstadt");
    assert_eq!(title(&shared), "Online-Dienste");
}

#[test]
fn the_session_warning_offers_more_time() {
    let service = fixture();
    let evaluation = service.evaluate(&json!({}), &Context { today: today() });
    let mut p = page("de", None);
    p.session = Some(baukasten_render::SessionExpiry {
        minutes_left: 5,
        extend_url: "/session/extend",
    });
    let html = Renderer::new().step(&p, &service, "person", &evaluation, &json!({}), Default::default());
    assert!(html.contains("endet Ihre Sitzung in 5 Minuten"));
    assert!(html.contains("<form method=\"post\" action=\"/session/extend\">"));
}

#[test]
fn the_renderer_can_be_shared_between_threads() {
    fn shared<T: Send + Sync + 'static>(_: &T) {}
    let renderer = std::sync::Arc::new(Renderer::new());
    shared(&renderer);
    let other = std::sync::Arc::clone(&renderer);
    let html = std::thread::spawn(move || other.not_found(&page("en", None)))
        .join()
        .expect("the thread renders");
    assert!(html.contains("Page not found"));
    assert_ne!(html, baukasten_render::FALLBACK_PAGE);
}

#[test]
fn the_start_page_names_fees_that_depend_on_no_answer() {
    let catalog = forms();
    let start = |id: &str| {
        let service = catalog
            .services
            .iter()
            .find(|s| s.id == id && s.tenant.is_none())
            .expect("service in forms/");
        let compiled = baukasten_engine::CompiledService::new(service).expect("compiles");
        Renderer::new().start(&page("de", None), &compiled)
    };
    // A fixed processing fee and a daily fee that depends on the dates.
    let html = start("halteverbotszone");
    assert!(html.contains("<li>Bearbeitungsgebühr: 30,00 €</li>"), "{html}");
    assert!(html.contains("Weitere Gebühren hängen von Ihren Angaben ab."), "{html}");
    assert!(!html.contains("Sondernutzung"), "{html}");
    // Every fee depends on the answers: no amount, one sentence.
    let html = start("bewohnerparkausweis");
    assert!(html.contains("Die Gebühr hängt von Ihren Angaben ab."), "{html}");
    assert!(!html.contains(" €</li>"), "{html}");
    // No fees at all.
    let html = start("maengelmelder");
    assert!(html.contains("Für diesen Dienst fällt keine Gebühr an."), "{html}");
}

#[test]
fn the_confirmation_says_what_happens_next_in_the_services_words() {
    let catalog = forms();
    let confirmation = |id: &str, lang: &str| {
        let service = catalog
            .services
            .iter()
            .find(|s| s.id == id && s.tenant.is_none())
            .expect("service in forms/");
        let compiled = baukasten_engine::CompiledService::new(service).expect("compiles");
        let evaluation = compiled.evaluate(&json!({}), &Context { today: today() });
        Renderer::new().confirmation(&page(lang, None), &compiled, &evaluation, "HVZ-2026-7K3Q9")
    };
    let html = confirmation("halteverbotszone", "de");
    assert!(html.contains("Die Schilder müssen mindestens 72 Stunden"), "{html}");
    assert!(!html.contains(ui_string("de", "next_text").unwrap()), "{html}");
    let html = confirmation("halteverbotszone", "en");
    assert!(html.contains("a contractor puts them up"), "{html}");
    // A service without `next_steps:` keeps the general sentence.
    let html = confirmation("maengelmelder", "de");
    assert!(html.contains(ui_string("de", "next_text").unwrap()), "{html}");
}

#[test]
fn a_service_with_german_texts_only_stays_german_on_an_english_page() {
    let text = r#"
service: nur_deutsch
version: 1.0.0
title: Nur auf Deutsch
steps:
  - id: angaben
    title: Ihre Angaben
    fields:
      - { id: name, type: text, label: Ihr Name, required: true }
"#;
    let (service, loaded) = baukasten_dsl::load_service("forms/nur_deutsch.yaml", text);
    assert!(!loaded.has_errors());
    let service = service.unwrap();
    let compiled = baukasten_engine::CompiledService::new(&service).unwrap();
    let r = Renderer::new();
    let evaluation = compiled.evaluate(&json!({}), &Context { today: today() });
    let pages = [
        r.start(&page("en", None), &compiled),
        r.step(
            &page("en", None),
            &compiled,
            "angaben",
            &evaluation,
            &json!({}),
            Default::default(),
        ),
        r.summary(&page("en", None), &compiled, &evaluation, false, false),
    ];
    for html in &pages {
        // The whole page is German, the frame included, and offers no English it lacks.
        assert!(html.contains("<html lang=\"de\">"), "{html}");
        assert!(!html.contains("header__lang"), "{html}");
        assert!(!html.contains("Skip to"), "{html}");
    }
    assert!(pages[1].contains("Weiter"), "{}", pages[1]);
    // In an English catalog its title is marked as German.
    let html = r.catalog(&page("en", None), &[&service], &[], "");
    assert!(html.contains("<li class=\"services__item\" lang=\"de\">"), "{html}");
    assert!(html.contains("<html lang=\"en\">"), "{html}");
}
