//! How long one step page takes to render: a step of 30 fields of mixed types (text, date,
//! radios, checkboxes, select, numbers, a group), filled in, once without and once with errors.
//! The goal is under 100 µs per page (docs/performance.md, "Rendering").

use std::hint::black_box;

use baukasten_engine::Context;
use baukasten_render::{Page, Renderer, StepMode};
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "fixture/step.rs"]
mod step_fixture;
use step_fixture::{BenchLinks, thirty_fields};

fn bench(c: &mut Criterion) {
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
    let html = renderer.step(
        &page,
        &service,
        "alles",
        &evaluation,
        &answers,
        StepMode {
            show_errors: true,
            ..StepMode::default()
        },
    );
    assert_eq!(html.matches("data-field=").count(), 30);
    c.bench_function("render step of 30 fields", |b| {
        b.iter(|| {
            renderer.step(
                &page,
                &service,
                "alles",
                black_box(&evaluation),
                &answers,
                StepMode::default(),
            )
        })
    });
    c.bench_function("render step of 30 fields with errors", |b| {
        b.iter(|| {
            renderer.step(
                &page,
                &service,
                "alles",
                black_box(&evaluation),
                &answers,
                StepMode {
                    show_errors: true,
                    ..StepMode::default()
                },
            )
        })
    });
    // The frame alone (header, footer, language link), for comparison.
    c.bench_function("render 404 page", |b| b.iter(|| renderer.not_found(black_box(&page))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
