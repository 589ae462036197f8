//! The `baukasten` binary as a clerk and a CI job use it: exit statuses, languages, formats,
//! and the default folder.

mod authoring;
mod render;
mod serve;
mod store;
mod user;
mod xdf;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn baukasten(args: &[&str], dir: &Path, lang: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baukasten"))
        .args(args)
        .current_dir(dir)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", lang)
        .output()
        .expect("the binary runs")
}

/// A fresh folder under the system's temp dir, removed and recreated for each test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baukasten-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("forms")).unwrap();
    dir
}

const BROKEN: &str = "service: hallo\nversion: 1.0.0\ntitle: Hallo\nsteps:\n  - id: eins\n    title: Eins\n    fields:\n      - id: name\n        type: text\n        label: Name\n        requird: true\n";

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_catalog_checks_clean_with_status_0() {
    let out = baukasten(&["check", "forms"], &repo_root(), "de_DE.UTF-8");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains(": 0 Fehler, 0 Warnungen."), "{}", stdout(&out));
}

#[test]
fn an_error_gives_status_1_with_place_caret_and_help_in_german() {
    let dir = scratch("german");
    std::fs::write(dir.join("forms/hallo.yaml"), BROKEN).unwrap();
    let out = baukasten(&["check", "forms/hallo.yaml"], &dir, "de_DE.UTF-8");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("Fehler[unknown-key]: Unbekannter Schlüssel `requird`"),
        "{text}"
    );
    assert!(text.contains("--> forms/hallo.yaml:11:9"), "{text}");
    assert!(
        text.contains("11 |         requird: true\n   |         ^^^^^^^"),
        "{text}"
    );
    assert!(text.contains("Hilfe: Meinten Sie `required`?"), "{text}");
}

#[test]
fn english_comes_from_lang_or_the_flag() {
    let dir = scratch("english");
    std::fs::write(dir.join("forms/hallo.yaml"), BROKEN).unwrap();
    let from_env = stdout(&baukasten(&["check"], &dir, "en_GB.UTF-8"));
    assert!(
        from_env.contains("error[unknown-key]: unknown key `requird`"),
        "{from_env}"
    );
    assert!(from_env.contains("help: did you mean `required`?"), "{from_env}");
    let from_flag = stdout(&baukasten(&["check", "--lang", "en"], &dir, "de_DE.UTF-8"));
    assert_eq!(from_env, from_flag);
}

#[test]
fn without_a_path_it_checks_the_forms_folder() {
    let dir = scratch("default");
    std::fs::write(dir.join("forms/hallo.yaml"), BROKEN).unwrap();
    let out = baukasten(&["check"], &dir, "de_DE.UTF-8");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("--> forms/hallo.yaml:11:9"));
}

#[test]
fn json_format_prints_one_object_per_diagnostic() {
    let dir = scratch("json");
    std::fs::write(
        dir.join("forms/hallo.yaml"),
        BROKEN.replace("version: 1.0.0", "version: 1.0"),
    )
    .unwrap();
    let out = baukasten(&["check", "--format", "json", "--lang", "en"], &dir, "de_DE.UTF-8");
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["code"], "invalid-version");
    assert_eq!(lines[0]["file"], "forms/hallo.yaml");
    assert_eq!(
        (lines[0]["line"].as_u64(), lines[0]["column"].as_u64()),
        (Some(2), Some(10))
    );
    assert_eq!(lines[1]["code"], "unknown-key");
    assert_eq!(lines[1]["help"], "did you mean `required`?");
    assert_eq!(lines[1]["severity"], "error");
}

#[test]
fn warnings_alone_give_status_0() {
    let dir = scratch("warnings");
    let text = BROKEN
        .replace("        requird: true\n", "")
        .replace("title: Hallo", "languages: [de, en]\ntitle: {de: Hallo, en: Hello}");
    std::fs::write(dir.join("forms/hallo.yaml"), text).unwrap();
    let out = baukasten(&["check"], &dir, "de_DE.UTF-8");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("Warnung[missing-translation]"));
}

#[test]
fn a_missing_path_or_a_bad_flag_gives_status_2() {
    let dir = scratch("usage");
    let out = baukasten(&["check", "nirgendwo"], &dir, "de_DE.UTF-8");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nirgendwo kann nicht gelesen werden"));
    assert_eq!(
        baukasten(&["check", "--format", "xml"], &dir, "de_DE.UTF-8")
            .status
            .code(),
        Some(2)
    );
    assert_eq!(baukasten(&["frobnicate"], &dir, "de_DE.UTF-8").status.code(), Some(2));
}

#[test]
fn schema_dsl_prints_a_draft_2020_12_schema() {
    let out = baukasten(&["schema", "dsl"], &repo_root(), "de_DE.UTF-8");
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let validator = jsonschema::draft202012::new(&schema).expect("compiles");
    let field = serde_json::json!({"service": "x", "version": "1.0.0", "title": "X",
        "steps": [{"id": "a", "title": "A", "fields": [{"id": "b", "type": "text", "label": "B"}]}]});
    assert!(validator.is_valid(&field));
}

const WITH_TESTS: &str = "service: hallo\nversion: 1.0.0\ntitle: Hallo\nsteps:\n  - id: eins\n    title: Eins\n    fields:\n      - { id: name, type: text, label: Name, required: true }\n      - { id: alter, type: integer, label: Alter, max: 150 }\ntests:\n  - name: Ohne Namen\n    answers: {}\n    expect: { errors: { name: required } }\n  - name: Falsch erwartet\n    answers: { name: Ada, alter: 200 }\n    expect:\n      valid: true\n      errors: { alter: too_small }\n";

#[test]
fn test_runs_the_catalogs_tests_and_ends_with_the_counts() {
    let out = baukasten(&["test", "forms"], &repo_root(), "de_DE.UTF-8");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let last = text.lines().last().unwrap_or_default();
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
    let passed: usize = last.split(' ').next().unwrap().parse().unwrap();
    assert!(passed >= 7, "{text}");
}

#[test]
fn a_failing_test_shows_expected_and_actual_with_its_line() {
    let dir = scratch("tests");
    std::fs::write(dir.join("forms/hallo.yaml"), WITH_TESTS).unwrap();
    let out = baukasten(&["test"], &dir, "en_US.UTF-8");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("ok   hallo › Ohne Namen"), "{text}");
    assert!(
        text.contains("FAIL hallo › Falsch erwartet  (forms/hallo.yaml:14)"),
        "{text}"
    );
    assert!(
        text.contains("     errors.alter  (forms/hallo.yaml:18)\n       expected: too_small\n       actual: too_large"),
        "{text}"
    );
    assert!(
        text.contains("     valid  (forms/hallo.yaml:14)\n       expected: no errors\n       actual: alter: too_large"),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("1 passed, 1 failed"));
}

#[test]
fn test_refuses_a_catalog_with_errors() {
    let dir = scratch("tests-broken");
    std::fs::write(dir.join("forms/hallo.yaml"), BROKEN).unwrap();
    let out = baukasten(&["test"], &dir, "de_DE.UTF-8");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("Fehler[unknown-key]"));
}
