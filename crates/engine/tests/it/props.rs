//! Property tests: `evaluate` never panics on arbitrary JSON answers, and the exported JSON
//! Schema agrees with the engine wherever a rule is expressible in JSON Schema.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::{compile, eval};

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::String),
        "[0-9.,\\- ]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn catalog_service() -> baukasten_engine::CompiledService {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../forms/bewohnerparkausweis.yaml");
    compile(&std::fs::read_to_string(root).expect("the catalog's service"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn evaluate_never_panics_on_arbitrary_json(answers in arbitrary_json()) {
        let s = catalog_service();
        let e = eval(&s, answers);
        // Whatever came in, every error names a field and carries a message in both languages.
        for error in &e.errors {
            prop_assert!(!error.field.is_empty() && !error.message.de.is_empty() && !error.message.en.is_empty());
        }
    }

    #[test]
    fn evaluate_never_panics_on_arbitrary_values_for_real_fields(
        values in prop::collection::vec(arbitrary_json(), 40),
    ) {
        let s = catalog_service();
        let ids: Vec<String> = s.service().fields().into_iter().filter(|(p, _)| !p.contains('.')).map(|(p, _)| p).collect();
        let answers: Map<String, Value> = ids.into_iter().zip(values).collect();
        let _ = eval(&s, Value::Object(answers));
    }
}

const EXPRESSIBLE: &str = r#"
service: ausdrueckbar
version: 1.0.0
title: Nur Regeln, die JSON Schema ausdrücken kann
steps:
  - id: s
    title: S
    fields:
      - { id: name, type: text, label: Name, required: true, min_length: 2, max_length: 8 }
      - { id: art, type: choice, label: Art, required: true, options: [{value: a, label: A}, {value: b, label: B}] }
      - { id: anzahl, type: integer, label: Anzahl, min: 0, max: 5 }
      - { id: ok, type: yes_no, label: OK }
      - { id: grund, type: text, label: Grund, required: true, visible_if: art == "b" }
      - { id: extra, type: text, label: Extra, required_if: art == "a" }
      - { id: farben, type: choice, widget: checkboxes, label: Farben, options: [{value: rot, label: Rot}, {value: blau, label: Blau}] }
      - { id: code, type: text, label: Code, pattern: '[A-Z]{2}[0-9]', pattern_message: Zwei Buchstaben und eine Ziffer. }
"#;

fn canonical_answers() -> impl Strategy<Value = Map<String, Value>> {
    let text = || "[a-z]{1,10}".prop_map(Value::String);
    (
        prop::option::of(text()),
        prop::option::of(prop_oneof![Just("a"), Just("b"), Just("c")].prop_map(|s| json!(s))),
        prop::option::of((-3i64..9).prop_map(Value::from)),
        prop::option::of(any::<bool>().prop_map(Value::Bool)),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(prop::sample::subsequence(vec!["rot", "blau", "gelb"], 1..=3).prop_map(|v| json!(v))),
        prop::option::of(prop_oneof!["[A-Z]{2}[0-9]", "[A-Za-z0-9]{1,4}"].prop_map(Value::String)),
    )
        .prop_map(|(name, art, anzahl, ok, grund, extra, farben, code)| {
            let mut m = Map::new();
            for (k, v) in [
                ("name", name),
                ("art", art),
                ("anzahl", anzahl),
                ("ok", ok),
                ("grund", grund),
                ("extra", extra),
                ("farben", farben),
                ("code", code),
            ] {
                if let Some(v) = v {
                    m.insert(k.to_string(), v);
                }
            }
            m
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn schema_and_engine_agree_where_expressible(answers in canonical_answers()) {
        let s = compile(EXPRESSIBLE);
        let schema = baukasten_engine::json_schema(s.service());
        let validator = jsonschema::draft202012::new(&schema).expect("the exported schema compiles");
        // A clean submission has no answers for hidden fields; drop them as the engine would.
        let first = eval(&s, Value::Object(answers.clone()));
        let mut submission = answers;
        submission.retain(|k, _| first.field(k).is_none_or(|f| f.visible));
        let e = eval(&s, Value::Object(submission.clone()));
        let submission = Value::Object(submission);
        let schema_errors: Vec<String> = validator.iter_errors(&submission).map(|x| x.to_string()).collect();
        prop_assert_eq!(
            e.is_valid(),
            schema_errors.is_empty(),
            "engine: {:?}\nschema: {:?}\nsubmission: {}",
            e.errors.iter().map(|x| (&x.field, &x.code)).collect::<Vec<_>>(),
            schema_errors,
            submission
        );
        if e.is_valid() {
            prop_assert!(validator.is_valid(&Value::Object(e.clean())), "clean submission must conform");
        }
    }
}
