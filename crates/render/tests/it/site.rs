//! The static site over the real catalog: every service has its pages, and they render
//! without falling back to the error page.

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
