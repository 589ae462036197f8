//! The engine's semantics as a citizen and a clerk notice them, each on a small service.

mod domain;
mod props;
mod semantics;

use baukasten_dsl::load_service;
use baukasten_engine::{CompiledService, Context, Evaluation};
use chrono::NaiveDate;
use serde_json::Value;

/// Loads and compiles a service written in the test, failing on any checker error.
pub fn compile(yaml: &str) -> CompiledService {
    let (service, loaded) = load_service("forms/test.yaml", yaml);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.render(&loaded.sources, baukasten_dsl::Lang::En))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    CompiledService::new(&service.expect("a service")).expect("compiles")
}

pub fn today() -> Context {
    Context {
        today: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
    }
}

pub fn eval(service: &CompiledService, answers: Value) -> Evaluation {
    service.evaluate(&answers, &today())
}

pub fn codes(e: &Evaluation) -> Vec<(String, String)> {
    e.errors.iter().map(|x| (x.field.clone(), x.code.clone())).collect()
}
