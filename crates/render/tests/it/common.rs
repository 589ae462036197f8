//! Helpers shared by the tests: loading the real catalog from `forms/`, and links that are
//! easy to read in assertions.

use std::path::Path;

use baukasten_dsl::model::{Catalog, Service};
use baukasten_dsl::{SourceFile, load_catalog};
use baukasten_render::Links;

/// The catalog in the repository's `forms/` folder, which must load without errors.
pub fn forms() -> Catalog {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../forms");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    let sources = files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("forms/ is readable");
            SourceFile::new(p.strip_prefix(&root).unwrap_or(p).to_string_lossy(), text)
        })
        .collect();
    let loaded = load_catalog(sources);
    assert!(!loaded.has_errors(), "forms/ must load cleanly");
    loaded.catalog
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("forms/ exists").flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

/// Links like a server's: `/{tenant}/{service}/…`.
pub struct TestLinks;

impl Links for TestLinks {
    fn asset(&self, name: &str) -> String {
        format!("/assets/{name}")
    }
    fn theme(&self, tenant: &str) -> String {
        format!("/assets/theme-{tenant}.css")
    }
    fn catalog(&self, tenant: Option<&str>) -> String {
        format!("/{}", tenant.unwrap_or(""))
    }
    fn start(&self, service: &Service) -> String {
        format!("/{}/{}/", service.tenant.as_deref().unwrap_or("_"), service.id)
    }
    fn step(&self, service: &Service, step: &str) -> String {
        format!("{}{step}", self.start(service))
    }
    fn summary(&self, service: &Service) -> String {
        format!("{}summary", self.start(service))
    }
    fn send(&self, service: &Service) -> String {
        format!("{}send", self.start(service))
    }
    fn confirmation(&self, service: &Service) -> String {
        format!("{}done", self.start(service))
    }
    fn resume(&self, service: &Service) -> String {
        format!("{}resume", self.start(service))
    }
    fn evaluate(&self, service: &Service, _step: &str) -> Option<String> {
        Some(format!("{}evaluate", self.start(service)))
    }
    fn other_language(&self) -> String {
        "/other".to_string()
    }
}

/// The fixture service with every field type (`tests/inputs/alle_felder.yaml`).
pub fn fixture() -> baukasten_engine::CompiledService {
    let text = include_str!("../inputs/alle_felder.yaml");
    let (service, loaded) = baukasten_dsl::load_service("alle_felder.yaml", text);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    baukasten_engine::CompiledService::new(&service.expect("the fixture is a service")).expect("it compiles")
}

pub fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

/// Renders one step of `service` in `lang` with `answers`, as the server would.
pub fn render_step(
    service: &baukasten_engine::CompiledService,
    step: &str,
    answers: &serde_json::Value,
    show_errors: bool,
    lang: &str,
) -> String {
    render_step_with(
        service,
        step,
        answers,
        baukasten_render::StepMode {
            show_errors,
            ..Default::default()
        },
        lang,
    )
}

/// A step page shown in `mode` (reached from the summary, after adding an item, …).
pub fn render_step_with(
    service: &baukasten_engine::CompiledService,
    step: &str,
    answers: &serde_json::Value,
    mode: baukasten_render::StepMode<'_>,
    lang: &str,
) -> String {
    let evaluation = service.evaluate(answers, &baukasten_engine::Context { today: today() });
    let page = baukasten_render::Page {
        lang,
        tenant: None,
        links: &TestLinks,
        csrf: Some("tok"),
        session: None,
    };
    baukasten_render::Renderer::new().step(&page, service, step, &evaluation, answers, mode)
}

/// The start tag of the element with this id, such as `<input id="f-vorname" …>`.
pub fn tag<'h>(html: &'h str, id: &str) -> &'h str {
    let needle = format!(" id=\"{id}\"");
    let at = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no element with id {id} in\n{html}"));
    let start = html[..at].rfind('<').expect("a tag starts before the id");
    let end = at + html[at..].find('>').expect("the tag ends");
    &html[start..=end]
}

/// The text between `<title>` and `</title>`.
pub fn title(html: &str) -> &str {
    let start = html.find("<title>").expect("a title") + "<title>".len();
    let end = html[start..].find("</title>").expect("the title ends");
    &html[start..start + end]
}
