//! Property tests: `evaluate` never panics on arbitrary JSON answers, and the request body's
//! JSON Schema agrees with the server wherever a rule is expressible in JSON Schema.

use baukasten_dsl::{SourceFile, load_catalog};
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

/// The catalog's Bewohnerparkausweis, with the catalog's field groups it uses.
fn catalog_service() -> baukasten_engine::CompiledService {
    let forms = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../forms");
    let read = |path: &str| {
        let text = std::fs::read_to_string(forms.join(path)).expect("the catalog's file");
        SourceFile::new(format!("forms/{path}"), text)
    };
    let loaded = load_catalog(vec![
        read("bewohnerparkausweis.yaml"),
        read("gruppen/person.yaml"),
        read("gruppen/anschrift.yaml"),
    ]);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let service = loaded
        .catalog
        .service(None, "bewohnerparkausweis")
        .expect("the service");
    baukasten_engine::CompiledService::new(service).expect("compiles")
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

/// A service whose every rule the request schema can express, so schema and server must agree
/// on every body made of these answers.
const EXPRESSIBLE: &str = r#"
service: ausdrueckbar
version: 1.0.0
title: Nur Regeln, die JSON Schema ausdrücken kann
steps:
  - id: s
    title: S
    fields:
      - { id: name, type: text, label: Name, required: true, min_length: 2, max_length: 8 }
      - { id: art, type: choice, label: Art, required: true, options: [{value: a, label: A}, {value: b, label: B}, {value: c, label: C}] }
      - { id: anzahl, type: integer, label: Anzahl, min: 0, max: 5 }
      - { id: betrag, type: money, label: Betrag, max: 100 }
      - { id: faktor, type: decimal, label: Faktor }
      - { id: ok, type: yes_no, label: OK }
      - { id: grund, type: text, label: Grund, required: true, visible_if: art == "b" }
      - { id: extra, type: text, label: Extra, required_if: art != "a" }
      - { id: weiteres, type: text, label: Weiteres, required: true, visible_if: ok }
      - { id: notiz, type: text, label: Notiz, required: true, visible_if: 'art in ["a", "c"]', max_length: 3 }
      - { id: farben, type: choice, widget: checkboxes, label: Farben, options: [{value: rot, label: Rot}, {value: blau, label: Blau}] }
      - { id: code, type: text, label: Code, pattern: '[A-Z]{2}[0-9]', pattern_message: Zwei Buchstaben und eine Ziffer. }
      - { id: plz, type: plz, label: PLZ }
      - { id: zustimmung, type: consent, label: Zustimmung, required: true }
      - { id: nachweis, type: file, label: Nachweis, accept: [pdf] }
      - { id: datum, type: date, label: Datum }
      - { id: telefon, type: phone, label: Telefon }
      - { id: iban, type: iban, label: IBAN }
      - { id: kennzeichen, type: kfz_kennzeichen, label: Kennzeichen }
      - id: anschrift
        type: group
        label: Anschrift
        fields:
          - { id: ort, type: text, label: Ort, required: true }
          - { id: zusatz, type: text, label: Zusatz }
      - id: kinder
        type: repeat
        label: Kinder
        max_items: 2
        fields:
          - { id: vorname, type: text, label: Vorname, required: true }
          - { id: alter, type: integer, label: Alter, max: 17 }
          - { id: betreut, type: yes_no, label: Betreut }
          - { id: schule, type: text, label: Schule, required: true, visible_if: not betreut }
      - { id: ort_hinweis, type: text, label: Ort, required_if: plz != none }
      - id: vertreter
        type: group
        label: Vertreter
        visible_if: not ok
        fields:
          - { id: name, type: text, label: Name, required: true, max_length: 5 }
          - { id: telefon, type: phone, label: Telefon }
  - id: zusatz
    title: Zusatz
    visible_if: art == "c"
    required_if: ok
    fields:
      - { id: begruendung, type: text, label: Begründung, required: true, min_length: 3 }
      - { id: anlage, type: choice, label: Anlage, options: [{value: ja, label: Ja}] }
"#;

/// An answer in one of the forms the server reads: mostly valid ones, so that about one in eight of
/// the bodies are valid and the rest fail in one or two places.
fn answer_for(valid: &'static [Value], invalid: &'static [Value]) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        60 => prop::sample::select(valid).prop_map(Some),
        1 => prop::sample::select(invalid).prop_map(Some),
        1 => Just(None),
        // An explicit blank (`null`, `""` or spaces), as forms send an empty input.
        1 => Just(Some(Value::Null)),
    ]
}

macro_rules! values {
    ($($v:tt),* $(,)?) => {{
        static CELL: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
        CELL.get_or_init(|| vec![$(json!($v)),*]).as_slice()
    }};
}

fn raw_answers() -> impl Strategy<Value = Map<String, Value>> {
    let blank = values![null, "", "  "];
    let text = || {
        answer_for(
            values!["Erika", " Erika ", "ab", 42, "x"],
            values![null, "", "a", "zu lang geraten", "   "],
        )
    };
    let fields: Vec<(&str, BoxedStrategy<Option<Value>>)> = vec![
        ("name", text().boxed()),
        ("art", answer_for(values!["a", "b", " c", "c "], values!["d", "A", "", 1]).boxed()),
        ("anzahl", answer_for(values![0, 5, "3", " 4 ", "−0", 2.0], values![(-1), 6, "1,5", "x", true, "1.5"]).boxed()),
        ("betrag", answer_for(values!["12,50", "12.50 €", "EUR 10", 99.5, "-0"], values![(-1), 100.5, "1,234", "12,505", "abc"]).boxed()),
        ("faktor", answer_for(values!["1,5", "-2.25", ",5", 3, "1.234,5"], values!["1,2,3", "1.23.4", "x", "1,234.5"]).boxed()),
        ("ok", answer_for(values![true, false, "ja", "Nein", "on", 0, 1], values!["vielleicht", 2, "jaa"]).boxed()),
        ("grund", text().boxed()),
        ("extra", text().boxed()),
        ("weiteres", text().boxed()),
        ("notiz", answer_for(values!["abc", " ab ", "a"], values!["abcd", ""]).boxed()),
        ("farben", answer_for(values![["rot"], ["blau", "rot"], "blau", ["rot", ""], ["rot", "rot"]], values![["gelb"], [], "gelb", [""]]).boxed()),
        ("code", answer_for(values!["AB1", " XY9 "], values!["ab1", "ABC", "AB12"]).boxed()),
        ("plz", answer_for(values!["24103", " 01067", 80331], values!["00123", "2410", 1234, "24 103"]).boxed()),
        ("zustimmung", answer_for(values![true, "ja", 1, "on"], values![false, "nein", 0, "", "vielleicht"]).boxed()),
        ("nachweis", answer_for(values![{"id": "bekannt"}, {"id": "bekannt", "name": "x.pdf"}], values![{"id": ""}, {"id": 5}, "x.pdf", {"name": "x.pdf"}, {}]).boxed()),
        ("datum", answer_for(
            values!["2026-05-04", "4.5.2026", " 04-05-2026 ", {"day": 4, "month": "5.", "year": "2026"}, {"day": "", "month": ""}],
            values!["2026/05/04", "4.5.26", {"day": 4, "month": 5}, "morgen", 20260504],
        ).boxed()),
        ("telefon", answer_for(values!["0431 123456", "+49 (0)431 12 34-56", "0049 431/123456"], values!["0431", "04311", "0431 12a456", "+0431 1", 431123456]).boxed()),
        ("iban", answer_for(values!["DE89 3704 0044 0532 0130 00", "de89370400440532013000"], values!["DE89 3704", "DE89-3704-0044-0532-0130-00", 12345678901234567u64]).boxed()),
        ("kennzeichen", answer_for(values!["KI-AB 123", "ki ab 123", "M-X 1", "KI-AB 123-"], values!["KI-AB 0123", "123", "KI--", "KI-AB-123 E"]).boxed()),
        ("anschrift", answer_for(values![{"ort": "Kiel"}, {"ort": "Kiel", "zusatz": ""}], values![{}, {"zusatz": "x"}, "Kiel", {"ort": "Kiel", "plz": "1"}, {"ort": ""}]).boxed()),
        ("kinder", answer_for(
            values![
                [], [{"vorname": "Max", "betreut": true}], [{"vorname": "Max", "alter": "3", "betreut": 1}, {"vorname": "Mia", "alter": 17, "betreut": "on"}],
                [{"vorname": "Max", "betreut": "nein", "schule": "Grundschule"}], [{"vorname": "Mia", "betreut": "ja", "schule": 7}]
            ],
            values![
                [{"alter": 3, "betreut": true}], [{"vorname": "Max", "alter": 18, "betreut": true}], [{"vorname": "A"}, {"vorname": "B"}, {"vorname": "C"}],
                {"vorname": "Max"}, [{"vorname": "Max", "betreut": true, "x": 1}], [{"vorname": "Max", "betreut": false}],
                [{"vorname": "Max", "schule": ""}], [{"vorname": "Max", "betreut": "vielleicht", "schule": "x"}]
            ],
        ).boxed()),
        ("ort_hinweis", answer_for(values!["Kiel", "Kiel", ""], values![{"x": 1}]).boxed()),
        ("vertreter", answer_for(
            values![{"name": "Anna"}, {"name": " Anna ", "telefon": "0431 123456"}, {"name": ""}, "egal"],
            values![{"name": "Annabell"}, {"telefon": "12"}, {"name": "Anna", "x": 1}, {}],
        ).boxed()),
        ("begruendung", answer_for(values!["Weil", "  Darum  ", ""], values!["ab", {}]).boxed()),
        ("anlage", answer_for(values!["ja", " ja"], values!["nein"]).boxed()),
    ];
    let (names, strategies): (Vec<&str>, Vec<_>) = fields.into_iter().unzip();
    (strategies, prop::sample::select(blank), any::<bool>()).prop_map(move |(values, filler, unknown)| {
        let mut m = Map::new();
        for (name, value) in names.iter().zip(values) {
            if let Some(v) = value {
                m.insert(name.to_string(), if v.is_null() { filler.clone() } else { v });
            }
        }
        if unknown {
            m.insert("telefn".into(), json!("0431 123456"));
        }
        m
    })
}

/// The server's verdict on a body: unknown keys and file answers as `/evaluate` and
/// `/submissions` check them (an upload `bekannt` exists), then the evaluation.
fn server_errors(s: &baukasten_engine::CompiledService, answers: &Value) -> Vec<baukasten_engine::FieldError> {
    use baukasten_engine::{Limits, StoredFile, resolve_files, unknown_fields};
    let limits = Limits::default();
    let mut answers = answers.clone();
    let mut errors = unknown_fields(s.service(), &answers, &limits);
    let lookup = |id: &str| {
        Ok::<_, std::convert::Infallible>((id == "bekannt").then(|| StoredFile {
            id: id.into(),
            name: "nachweis.pdf".into(),
            size: 10,
            media_type: "pdf".into(),
        }))
    };
    errors.extend(resolve_files(s.service(), &mut answers, &limits, lookup).unwrap_or_default());
    eval(s, answers).errors_with(errors)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Every rule of `EXPRESSIBLE` is one the schema states, so on bodies in the forms an
    /// integrator sends (German and English notation, JSON numbers, spaces, blanks, unknown
    /// keys, file answers) the schema accepts exactly what the server accepts.
    #[test]
    fn request_schema_and_server_agree_where_expressible(answers in raw_answers()) {
        static COMPILED: std::sync::LazyLock<(baukasten_engine::CompiledService, jsonschema::Validator)> =
            std::sync::LazyLock::new(|| {
                let s = compile(EXPRESSIBLE);
                let schema = baukasten_engine::request_schema(s.service());
                let validator = jsonschema::draft202012::new(&schema).expect("the exported schema compiles");
                (s, validator)
            });
        let (s, validator) = &*COMPILED;
        let body = Value::Object(answers);
        let errors = server_errors(s, &body);
        let schema_errors: Vec<String> = validator.iter_errors(&body).map(|x| x.to_string()).collect();
        prop_assert_eq!(
            errors.is_empty(),
            schema_errors.is_empty(),
            "server: {:?}\nschema: {:?}\nbody: {}",
            errors.iter().map(|x| (&x.field, &x.code)).collect::<Vec<_>>(),
            schema_errors,
            body
        );
    }
}
