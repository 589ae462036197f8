//! `tests/inputs/*.yaml` through one helper: `ok_*` files must load without errors (their model
//! is snapshotted), `err_*` files must give at least one error (the rendered diagnostics, in
//! German and English, are snapshotted). Reviewing a snapshot diff is the review.

use baukasten_dsl::{Lang, load_catalog};

use crate::{repo_root, split_input, yaml_files};

#[test]
fn inputs() {
    let dir = repo_root().join("crates/dsl/tests/inputs");
    let files = yaml_files(&dir);
    assert!(files.len() >= 40, "expected the input corpus in {}", dir.display());
    let mut err_cases = 0;
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let loaded = load_catalog(split_input(&stem, &text));
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("../snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.set_input_file(&path);
        if stem.starts_with("warn_") {
            assert!(
                !loaded.has_errors(),
                "{stem}: expected warnings only, got {:#?}",
                loaded.diagnostics
            );
            assert!(loaded.warning_count() > 0, "{stem}: expected at least one warning");
            let rendered: String = loaded
                .diagnostics
                .iter()
                .map(|d| d.render(&loaded.sources, Lang::De))
                .collect();
            settings.bind(|| insta::assert_snapshot!(stem.clone(), rendered));
        } else if stem.starts_with("err_") {
            err_cases += 1;
            assert!(
                loaded.has_errors(),
                "{stem}: a broken input must give at least one error, got {:#?}",
                loaded.diagnostics
            );
            // The first line of each case says which code it is about: `# code: unknown-key`.
            if let Some(code) = text.lines().find_map(|l| l.strip_prefix("# code: ")) {
                assert!(
                    loaded.diagnostics.iter().any(|d| d.code.as_str() == code.trim()),
                    "{stem}: expected a diagnostic `{code}`, got {:?}",
                    loaded.diagnostics.iter().map(|d| d.code.as_str()).collect::<Vec<_>>()
                );
            }
            let mut rendered = String::new();
            for lang in [Lang::De, Lang::En] {
                for d in &loaded.diagnostics {
                    rendered.push_str(&d.render(&loaded.sources, lang));
                }
            }
            settings.bind(|| insta::assert_snapshot!(stem.clone(), rendered));
        } else {
            let errors: Vec<String> = loaded
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.render(&loaded.sources, Lang::En))
                .collect();
            assert!(
                errors.is_empty(),
                "{stem}: expected no errors, got:\n{}",
                errors.join("\n")
            );
            settings.bind(|| insta::assert_yaml_snapshot!(stem.clone(), loaded.catalog));
        }
    }
    assert!(err_cases >= 40, "at least 40 err_ cases, found {err_cases}");
}

#[test]
fn the_forms_catalog_has_no_errors_and_no_warnings() {
    let loaded = load_catalog(crate::forms_catalog());
    assert!(!loaded.catalog.services.is_empty());
    let rendered: Vec<String> = loaded
        .diagnostics
        .iter()
        .map(|d| d.render(&loaded.sources, Lang::En))
        .collect();
    assert!(rendered.is_empty(), "{}", rendered.join("\n"));
}

#[test]
fn every_rendered_diagnostic_points_at_a_line_of_its_file() {
    let dir = repo_root().join("crates/dsl/tests/inputs");
    for path in yaml_files(&dir) {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let loaded = load_catalog(split_input(&stem, &text));
        for d in &loaded.diagnostics {
            let file = loaded.sources.get(d.span.file).expect("span names a file");
            let rendered = d.render(&loaded.sources, Lang::De);
            let location = format!("--> {}:{}:{}", file.path, d.span.line, d.span.col);
            assert!(rendered.contains(&location), "{stem}: {rendered} lacks {location}");
            if !file.text.is_empty() {
                assert!(
                    file.line(d.span.line).is_some(),
                    "{stem}: line {} outside {}",
                    d.span.line,
                    file.path
                );
            }
        }
    }
}
