//! Embedding Baukasten in your own Rust service: load a service definition, evaluate a
//! citizen's answers, and use the result (errors, fees, the path through the form, the
//! summary), and render one step as an accessible HTML page. Run it with
//! `cargo run -p baukasten-example-embed`; it writes the page to `baukasten-example-step.html` in the temp folder.
//!
//! The crates do no IO: you read the files, and you pass in today's date. A service that
//! uses the catalog's shared field groups (`use: person`) needs their files (`forms/gruppen/`)
//! loaded with it.

use std::process::ExitCode;

use baukasten_dsl::model::Service;
use baukasten_dsl::{Lang, SourceFile, load_catalog};
use baukasten_engine::{CompiledService, Context};
use baukasten_render::{Links, Page, Renderer, StepMode};
use serde_json::json;

/// Where the links of a rendered page point. Your application decides its own URLs; these
/// are the ones `baukasten serve` uses.
struct MyLinks;

impl Links for MyLinks {
    fn asset(&self, name: &str) -> String {
        format!("/assets/{name}")
    }
    fn theme(&self, tenant: &str) -> String {
        format!("/assets/theme/{tenant}.css")
    }
    fn catalog(&self, _tenant: Option<&str>) -> String {
        "/".into()
    }
    fn start(&self, service: &Service) -> String {
        format!("/antrag/{}/", service.id)
    }
    fn step(&self, service: &Service, step: &str) -> String {
        format!("/antrag/{}/schritt/{step}", service.id)
    }
    fn summary(&self, service: &Service) -> String {
        format!("/antrag/{}/pruefen", service.id)
    }
    fn send(&self, service: &Service) -> String {
        format!("/antrag/{}/senden", service.id)
    }
    fn confirmation(&self, service: &Service) -> String {
        format!("/antrag/{}/bestaetigung", service.id)
    }
    fn resume(&self, service: &Service) -> String {
        format!("/antrag/{}/fortsetzen", service.id)
    }
    fn evaluate(&self, _service: &Service, _step: &str) -> Option<String> {
        None
    }
    fn other_language(&self) -> String {
        "?lang=en".into()
    }
}

fn main() -> ExitCode {
    // The service and the catalog's field groups it uses.
    let forms = concat!(env!("CARGO_MANIFEST_DIR"), "/../../forms");
    let mut files = Vec::new();
    for path in [
        "bewohnerparkausweis.yaml",
        "gruppen/person.yaml",
        "gruppen/anschrift.yaml",
    ] {
        match std::fs::read_to_string(format!("{forms}/{path}")) {
            Ok(text) => files.push(SourceFile::new(format!("forms/{path}"), text)),
            Err(e) => {
                eprintln!("cannot read {forms}/{path}: {e}");
                return ExitCode::from(2);
            }
        }
    }

    // 1. Load and check. Diagnostics come with file, line and column.
    let loaded = load_catalog(files);
    for d in &loaded.diagnostics {
        eprint!("{}", d.render(&loaded.sources, Lang::En));
    }
    let service = loaded.catalog.service(None, "bewohnerparkausweis");
    let Some(service) = service.filter(|_| !loaded.has_errors()).cloned() else {
        return ExitCode::from(1);
    };

    // 2. Compile once; evaluate as often as you like (the compiled service is cheap to clone
    //    and safe to share between threads).
    let compiled = match CompiledService::new(&service) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    println!(
        "{} {} (definition {})",
        service.id,
        service.version,
        compiled.definition_hash()
    );

    // 3. Answers as an HTML form or a JSON client sends them: German number and date formats
    //    are fine, the engine normalises them.
    let answers = json!({
        "antragsteller": {"vorname": "Erika", "nachname": "Mustermann", "geburtsdatum": {"day": "12", "month": "4", "year": "1980"}},
        "zone": "a",
        "hauptwohnsitz": "ja",
        "kennzeichen": "ki-em 1980",
        "halter": "firma",
        "gewicht_unter_3_5t": true,
        "laufzeit": "2",
        "email": "erika.mustermann@example.org"
    });
    let today = baukasten_engine::Context::at(chrono::Utc::now(), baukasten_engine::DEFAULT_TIME_ZONE).today;
    let evaluation = compiled.evaluate(&answers, &Context { today });

    // 4. Use the result.
    println!("\nPath: {}", evaluation.path().join(" → "));
    println!("\nErrors ({}):", evaluation.errors.len());
    for e in &evaluation.errors {
        println!("  {} [{}]: {}", e.field, e.code, e.message.en);
    }
    println!("\nFees:");
    for fee in &evaluation.fees {
        println!("  {}: {} EUR", fee.label.get("en"), fee.amount);
    }
    println!("  total: {} EUR", evaluation.fee_total);
    println!("\nSummary:");
    for step in compiled.summary(&evaluation, "en") {
        println!("  {}", step.title.get("en"));
        for row in step.rows {
            println!("    {}: {}", row.label, row.value);
        }
    }
    println!("\nClean submission: {}", serde_json::Value::Object(evaluation.clean()));

    // 5. Render the step with errors as the citizen would see it after "Weiter": error
    //    summary, messages at the fields, aria-invalid, a title starting with "Fehler:".
    let step = evaluation.errors.first().map_or("antragsteller", |e| e.step.as_str());
    let renderer = Renderer::new();
    let page = Page {
        lang: "de",
        tenant: None,
        links: &MyLinks,
        csrf: Some("csrf-token-of-your-session"),
        session: None,
    };
    let mode = StepMode {
        show_errors: true,
        ..StepMode::default()
    };
    let html = renderer.step(&page, &compiled, step, &evaluation, &answers, mode);
    let title = html
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or("");
    println!(
        "\nStep '{step}' rendered: {} bytes of HTML, title \"{title}\"",
        html.len()
    );
    let out = std::env::temp_dir().join("baukasten-example-step.html");
    if let Err(e) = std::fs::write(&out, &html) {
        eprintln!("cannot write {}: {e}", out.display());
        return ExitCode::from(2);
    }
    println!("written to {}", out.display());
    ExitCode::SUCCESS
}
