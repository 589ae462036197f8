//! The runner for a service's `tests:` blocks (`baukasten test`).
//!
//! Each test's answers go through the same [`CompiledService::evaluate`] that serves citizens;
//! the expectations are compared with its result. A failure says what was expected and what
//! came out, and keeps the span of the expectation, so the CLI can point at its line.

use baukasten_dsl::Span;
use baukasten_dsl::model::{Named, TestCase};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value as Json;

use crate::{CompiledService, Context, Evaluation};

/// The outcome of one test.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub name: String,
    pub span: Span,
    pub failures: Vec<Failure>,
    /// Expressions that failed while evaluating this test's answers (they counted as false
    /// or as no value). Shown to the clerk, since they usually mean a mistake in the service.
    pub problems: Vec<crate::ExpressionProblem>,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// The expression failures worth showing the clerk: those not explained by a field
    /// without a value (see [`crate::ExpressionProblem::unanswered`]).
    pub fn notable_problems(&self) -> impl Iterator<Item = &crate::ExpressionProblem> {
        self.problems.iter().filter(|p| !p.unanswered)
    }
}

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What was checked, e.g. "errors.nutzungsnachweis".
    pub what: String,
    pub expected: String,
    pub actual: String,
    pub span: Span,
}

/// Runs every test of the service. `today` is used where a test fixes no date of its own.
pub fn run_tests(service: &CompiledService, today: NaiveDate) -> Vec<TestOutcome> {
    service
        .service()
        .tests
        .iter()
        .map(|t| run_test(service, t, today))
        .collect()
}

pub fn run_test(service: &CompiledService, test: &TestCase, today: NaiveDate) -> TestOutcome {
    let today = test
        .today
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or(today);
    let evaluation = service.evaluate(&test.answers.to_json(), &Context { today });
    let mut failures = Vec::new();
    let expect = &test.expect;
    for named in &expect.visible {
        let visible = evaluation.field(&named.name).is_some_and(|f| f.visible);
        if !visible {
            failures.push(fail(
                format!("visible.{}", named.name),
                "visible",
                describe_field(&evaluation, named),
                named,
            ));
        }
    }
    for named in &expect.hidden {
        if evaluation.field(&named.name).is_some_and(|f| f.visible) {
            failures.push(fail(format!("hidden.{}", named.name), "hidden", "visible", named));
        }
    }
    for (field, code) in expect.errors.iter().flatten() {
        let at_field: Vec<&str> = evaluation
            .errors
            .iter()
            .filter(|e| e.field == field.name)
            .map(|e| e.code.as_str())
            .collect();
        if !at_field.contains(&code.name.as_str()) {
            let actual = if at_field.is_empty() {
                "no error".to_string()
            } else {
                at_field.join(", ")
            };
            failures.push(fail(format!("errors.{}", field.name), &code.name, actual, field));
        }
    }
    for named in &expect.no_errors {
        let at_field: Vec<&str> = evaluation
            .errors
            .iter()
            .filter(|e| e.field == named.name)
            .map(|e| e.code.as_str())
            .collect();
        if !at_field.is_empty() {
            failures.push(fail(
                format!("no_errors.{}", named.name),
                "no error",
                at_field.join(", "),
                named,
            ));
        }
    }
    if let Some(valid) = expect.valid {
        if valid && !evaluation.errors.is_empty() {
            let actual = evaluation
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.code))
                .collect::<Vec<_>>()
                .join(", ");
            failures.push(Failure {
                what: "valid".into(),
                expected: "no errors".into(),
                actual,
                span: test.span,
            });
        } else if !valid && evaluation.errors.is_empty() {
            failures.push(Failure {
                what: "valid".into(),
                expected: "at least one error".into(),
                actual: "no errors".into(),
                span: test.span,
            });
        }
    }
    for (id, expected) in &expect.computed {
        let actual = evaluation.computed.get(&id.name).cloned().unwrap_or(Json::Null);
        if !same_value(expected, &actual) {
            failures.push(fail(
                format!("computed.{}", id.name),
                &show(expected),
                show(&actual),
                id,
            ));
        }
    }
    if let Some(expected) = &expect.fee_total {
        let same = expected
            .name
            .parse::<Decimal>()
            .is_ok_and(|e| e == evaluation.fee_total);
        if !same {
            failures.push(Failure {
                what: "fee_total".into(),
                // As the clerk wrote it, so a total with too many places is not hidden.
                expected: expected.name.clone(),
                actual: crate::money::format(evaluation.fee_total),
                // Its own line, not the test's name.
                span: expected.span,
            });
        }
    }
    if let Some(path) = &expect.path {
        let expected: Vec<&str> = path.iter().map(|n| n.name.as_str()).collect();
        let actual = evaluation.path();
        if expected != actual {
            let span = path.first().map_or(test.span, |n| n.span);
            failures.push(Failure {
                what: "path".into(),
                expected: expected.join(" → "),
                actual: actual.join(" → "),
                span,
            });
        }
    }
    TestOutcome {
        name: test.name.clone(),
        span: test.span,
        failures,
        problems: evaluation.problems,
    }
}

fn fail(what: String, expected: &str, actual: impl Into<String>, at: &Named) -> Failure {
    Failure {
        what,
        expected: expected.to_string(),
        actual: actual.into(),
        span: at.span,
    }
}

fn describe_field(evaluation: &Evaluation, named: &Named) -> &'static str {
    match evaluation.field(&named.name) {
        Some(_) => "hidden",
        None => "not in the form (no such entry)",
    }
}

fn show(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        Json::Null => "none".to_string(),
        other => other.to_string(),
    }
}

/// Numbers compare by value (30.7 equals "30.70"); everything else by equality.
fn same_value(expected: &Json, actual: &Json) -> bool {
    let number = |v: &Json| -> Option<Decimal> {
        match v {
            Json::Number(n) => n.to_string().parse().ok(),
            Json::String(s) => s.parse().ok(),
            _ => None,
        }
    };
    match (number(expected), number(actual)) {
        (Some(a), Some(b)) => a == b,
        _ => expected == actual,
    }
}
