//! The static site over the real catalog: every service has its pages, and they render
//! without falling back to the error page.

use baukasten_dsl::model::{Field, FieldKind};
use baukasten_render::static_site;
use chrono::NaiveDate;

use crate::common::forms;

#[test]
fn every_service_has_its_pages_in_both_languages() {
    let catalog = forms();
    let files = static_site(&catalog, NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
    let names: std::collections::HashSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for service in &catalog.services {
        let dir = format!("{}/{}", service.tenant.as_deref().unwrap_or("_shared"), service.id);
        for lang in ["", "en/"] {
            for page in ["start", "summary", "confirmation", "resume", "resume-saved"] {
                let name = format!("{lang}{dir}/{page}.html");
                assert!(names.contains(name.as_str()), "{name} is missing");
            }
            for step in &service.steps {
                for suffix in ["", "-errors"] {
                    let name = format!("{lang}{dir}/step-{}{suffix}.html", step.id);
                    assert!(names.contains(name.as_str()), "{name} is missing");
                }
            }
        }
    }
    for (name, bytes) in &files {
        if name.ends_with(".html") {
            let html = String::from_utf8_lossy(bytes);
            assert!(
                !html.contains("Leider ist ein Fehler aufgetreten") || name.ends_with("error.html"),
                "{name} fell back to the error page"
            );
        }
    }
}

/// Whether a citizen can get an error on these fields: something is required or typed.
fn can_fail(fields: &[Field]) -> bool {
    fields.iter().any(|f| match &f.kind {
        FieldKind::Info { .. } => false,
        FieldKind::Group { fields } | FieldKind::Repeat { fields, .. } => can_fail(fields),
        kind => f.required || f.required_if.is_some() || !matches!(kind, FieldKind::Text | FieldKind::Textarea),
    })
}

#[test]
fn every_error_variant_of_a_step_that_can_fail_shows_errors() {
    let catalog = forms();
    let files = static_site(&catalog, NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
    let page = |name: &str| {
        let bytes = &files
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name}"))
            .1;
        String::from_utf8_lossy(bytes).into_owned()
    };
    let mut checked = 0;
    for service in &catalog.services {
        let dir = format!("{}/{}", service.tenant.as_deref().unwrap_or("_shared"), service.id);
        for step in service.steps.iter().filter(|s| can_fail(&s.fields)) {
            let html = page(&format!("{dir}/step-{}-errors.html", step.id));
            assert!(html.contains("<title>Fehler: "), "{dir}/{}: no errors shown", step.id);
            assert!(html.contains("aria-invalid=\"true\""), "{dir}/{}", step.id);
            let english = page(&format!("en/{dir}/step-{}-errors.html", step.id));
            assert!(english.contains("<title>Error: "), "en/{dir}/{}", step.id);
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} steps checked");
}
