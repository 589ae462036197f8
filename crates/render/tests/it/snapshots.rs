//! Whole pages as insta snapshots: reviewing a diff of these is reviewing the markup.

use serde_json::json;

use crate::common::{fixture, render_step};

#[test]
fn a_step_with_errors_in_german() {
    let answers = json!({"vorname": "Ada", "geburtsdatum": {"day": "31", "month": "02", "year": "2026"}, "email": "x"});
    insta::assert_snapshot!(render_step(&fixture(), "person", &answers, true, "de"));
}

#[test]
fn a_step_with_a_repeat_in_english() {
    let answers = json!({"kinder": [{"vorname": "Ada"}, {"vorname": "Max"}]});
    insta::assert_snapshot!(render_step(&fixture(), "kinder", &answers, false, "en"));
}
