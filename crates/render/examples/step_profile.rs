//! Renders the benchmark's step of 30 fields a fixed number of times, for instruction counts
//! under callgrind, where criterion's sampling would take far too long:
//!
//! ```text
//! cargo build --release -p baukasten-render --example step_profile
//! valgrind --tool=callgrind target/release/examples/step_profile errors 200
//! ```
//!
//! The first argument is `plain` or `errors`, the second the number of renders. The service
//! and answers are the benchmark's (`benches/render.rs`), `KIND=n` included.

use std::fmt::Write;
use std::hint::black_box;

use baukasten_dsl::model::Service;
use baukasten_engine::{CompiledService, Context};
use baukasten_render::{Links, Page, Renderer};
use serde_json::{Map, Value, json};

struct BenchLinks;

impl Links for BenchLinks {
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
        format!("/x/{}/", service.id)
    }
    fn step(&self, service: &Service, step: &str) -> String {
        format!("/x/{}/{step}", service.id)
    }
    fn summary(&self, service: &Service) -> String {
        format!("/x/{}/summary", service.id)
    }
    fn send(&self, service: &Service) -> String {
        format!("/x/{}/send", service.id)
    }
    fn confirmation(&self, service: &Service) -> String {
        format!("/x/{}/done", service.id)
    }
    fn resume(&self, service: &Service) -> String {
        format!("/x/{}/resume", service.id)
    }
    fn evaluate(&self, service: &Service) -> Option<String> {
        Some(format!("/x/{}/evaluate", service.id))
    }
    fn other_language(&self) -> String {
        "/en/x".into()
    }
}

/// A service with one step of 30 fields, and answers for all of them. `KIND=0` … `KIND=5` in
/// the environment makes all 30 fields of one kind, to see what each kind costs.
fn thirty_fields() -> (CompiledService, Value) {
    let only: Option<usize> = std::env::var("KIND").ok().and_then(|k| k.parse().ok());
    let mut yaml = String::from(
        "service: dreissig\nversion: 1.0.0\ntitle: Dreißig Felder\nsteps:\n  - id: alles\n    title: Alles auf einer Seite\n    fields:\n",
    );
    let mut answers = Map::new();
    for i in 0..30 {
        let id = format!("f{i}");
        let (kind, answer) = match only.unwrap_or(i % 6) {
            0 => ("type: text, hint: Ein Hinweis", json!("Müller")),
            1 => ("type: date", json!({"day": "31", "month": "02", "year": "1985"})),
            2 => (
                "type: choice, options: [{value: a, label: Erste}, {value: b, label: Zweite}, {value: c, label: Dritte}]",
                json!("b"),
            ),
            3 => ("type: integer", json!("x")),
            4 => ("type: email, autocomplete: email", json!("a@example.org")),
            _ => ("type: yes_no", json!("ja")),
        };
        let _ = writeln!(yaml, "      - {{ id: {id}, label: Feld {i}, required: true, {kind} }}");
        answers.insert(id, answer);
    }
    let (service, loaded) = baukasten_dsl::load_service("dreissig.yaml", &yaml);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let service = CompiledService::new(&service.unwrap()).unwrap();
    (service, Value::Object(answers))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let show_errors = args.next().as_deref() == Some("errors");
    let times: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(200);
    let (service, answers) = thirty_fields();
    let ctx = Context {
        today: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
    };
    let evaluation = service.evaluate(&answers, &ctx);
    let renderer = Renderer::new();
    let page = Page {
        lang: "de",
        tenant: None,
        links: &BenchLinks,
        csrf: Some("0123456789abcdef"),
        session: None,
    };
    let mut bytes = 0;
    for _ in 0..times {
        bytes += renderer
            .step(&page, &service, "alles", black_box(&evaluation), &answers, show_errors)
            .len();
    }
    println!("{times} renders, {bytes} bytes");
}
