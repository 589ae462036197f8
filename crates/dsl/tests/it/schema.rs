//! The JSON Schema that editors use (`baukasten schema dsl`): it is a valid draft 2020-12
//! schema, every service in `forms/` and every valid test input conforms to it, a broken file
//! does not, and `docs/language.md` documents exactly the keys of the language.

use std::collections::{BTreeMap, BTreeSet};

use baukasten_dsl::spec;
use baukasten_dsl::yaml;

use crate::{repo_root, split_input, yaml_files};

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&spec::json_schema()).expect("the language's schema compiles")
}

fn to_json(text: &str) -> serde_json::Value {
    yaml::parse(text, 0).expect("valid YAML").to_json()
}

#[test]
fn every_form_conforms_to_the_schema() {
    let validator = validator();
    let forms = crate::forms_catalog();
    assert!(!forms.is_empty());
    for file in forms {
        let errors: Vec<String> = validator
            .iter_errors(&to_json(&file.text))
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {}", file.path, errors.join("\n"));
    }
}

#[test]
fn valid_inputs_conform_and_unknown_keys_do_not() {
    let validator = validator();
    for path in yaml_files(&repo_root().join("crates/dsl/tests/inputs")) {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if !stem.starts_with("ok_") {
            continue;
        }
        for file in split_input(&stem, &std::fs::read_to_string(&path).unwrap()) {
            let json = to_json(&file.text);
            let errors: Vec<String> = validator.iter_errors(&json).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{stem} / {}: {}", file.path, errors.join("\n"));
        }
    }
    let broken = to_json(
        "service: x\nversion: 1.0.0\ntitle: X\nsteps:\n  - id: a\n    title: A\n    fields:\n      - { id: b, type: text, label: B, requird: true }\n",
    );
    assert!(!validator.is_valid(&broken), "an unknown key must not validate");
}

#[test]
fn every_key_has_a_description() {
    for obj in spec::ALL {
        for key in obj.all_keys() {
            assert!(
                !key.de.is_empty() && !key.en.is_empty(),
                "{}.{} lacks a description",
                obj.name,
                key.name
            );
        }
    }
    let schema = spec::json_schema().to_string();
    assert!(
        schema.contains("Die sichtbare Beschriftung"),
        "descriptions reach the schema"
    );
}

/// Parses `docs/language.md`: for every heading "## `object`", the keys in the first column
/// of the table below it.
fn documented_keys() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(repo_root().join("docs/language.md")).expect("docs/language.md exists");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("## ") {
            let name = rest.trim();
            current = name
                .strip_prefix('`')
                .and_then(|n| n.strip_suffix('`'))
                .map(str::to_string);
            if let Some(name) = &current {
                out.entry(name.clone()).or_default();
            }
            continue;
        }
        if line.starts_with("## ") || line.starts_with("# ") {
            current = None;
        }
        let (Some(name), Some(row)) = (&current, line.strip_prefix('|')) else {
            continue;
        };
        let first = row.split('|').next().unwrap_or_default().trim();
        if let Some(key) = first.strip_prefix('`').and_then(|k| k.strip_suffix('`')) {
            out.get_mut(name).unwrap().insert(key.to_string());
        }
    }
    out
}

#[test]
fn the_language_reference_documents_exactly_the_keys() {
    let documented = documented_keys();
    for obj in spec::ALL {
        let Some(keys) = documented.get(obj.name) else {
            panic!("docs/language.md has no section \"## `{}`\"", obj.name);
        };
        let own: BTreeSet<String> = obj.keys.iter().map(|k| k.name.to_string()).collect();
        assert_eq!(keys, &own, "docs/language.md, section `{}`", obj.name);
    }
}
