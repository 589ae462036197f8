//! Renders the benchmark's step of 30 fields a fixed number of times, for instruction counts
//! under callgrind, where criterion's sampling would take far too long:
//!
//! ```text
//! cargo build --release -p baukasten-render --example step_profile
//! valgrind --tool=callgrind target/release/examples/step_profile errors 200
//! ```
//!
//! The first argument is `plain` or `errors`, the second the number of renders. The service
//! and answers are the benchmark's (`benches/fixture/step.rs`), `KIND=n` included.

use std::hint::black_box;

use baukasten_engine::Context;
use baukasten_render::{Page, Renderer};

#[path = "../benches/fixture/step.rs"]
mod step_fixture;
use step_fixture::{BenchLinks, thirty_fields};

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
            .step(
                &page,
                &service,
                "alles",
                black_box(&evaluation),
                &answers,
                baukasten_render::StepMode {
                    show_errors,
                    ..Default::default()
                },
            )
            .len();
    }
    println!("{times} renders, {bytes} bytes");
}
