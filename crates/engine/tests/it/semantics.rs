use serde_json::json;

use crate::{codes, compile, eval};

const PARKING: &str = r#"
service: parken
version: 1.0.0
title: Parken
steps:
  - id: fahrzeug
    title: Fahrzeug
    fields:
      - id: halter
        type: choice
        widget: radio
        label: Halter
        required: true
        options:
          - { value: selbst, label: Ich selbst }
          - { value: firma, label: Firma }
      - id: nachweis
        type: file
        label: Nutzungsbescheinigung
        accept: [pdf]
        max_size: 1 MB
        required: true
        visible_if: halter == "firma"
      - id: bemerkung
        type: text
        label: Bemerkung
        max_length: 20
        required_if: halter == "firma"
  - id: firma
    title: Firma
    visible_if: halter == "firma"
    fields:
      - { id: firmenname, type: text, label: Firmenname, required: true }
"#;

#[test]
fn hidden_fields_are_not_required_not_validated_and_dropped() {
    let s = compile(PARKING);
    let e = eval(
        &s,
        json!({"halter": "selbst", "nachweis": {"name": "x.exe", "size": 99999999, "type": "exe"}, "firmenname": "ACME"}),
    );
    assert!(e.is_valid(), "{:?}", codes(&e));
    assert!(!e.field("nachweis").unwrap().visible);
    assert_eq!(e.clean().get("nachweis"), None, "a hidden answer is dropped");
    assert_eq!(
        e.clean().get("firmenname"),
        None,
        "answers on a hidden step are dropped"
    );
    assert_eq!(e.path(), vec!["fahrzeug"]);
}

#[test]
fn a_condition_makes_fields_visible_required_and_adds_a_step() {
    let s = compile(PARKING);
    let e = eval(&s, json!({"halter": "firma"}));
    assert_eq!(
        codes(&e),
        vec![
            ("nachweis".into(), "required".into()),
            ("bemerkung".into(), "required".into()),
            ("firmenname".into(), "required".into())
        ]
    );
    assert_eq!(e.path(), vec!["fahrzeug", "firma"]);
    assert_eq!(e.next_step("fahrzeug"), Some("firma"));
    assert_eq!(e.previous_step("firma"), Some("fahrzeug"));
    assert_eq!(e.step_errors("firma").len(), 1);
    assert_eq!(e.errors[0].message.de, "Bitte laden Sie eine Datei hoch.");
}

#[test]
fn files_are_checked_for_kind_and_size() {
    let s = compile(PARKING);
    let e = eval(
        &s,
        json!({"halter": "firma", "bemerkung": "x", "firmenname": "A",
        "nachweis": {"name": "scan.png", "size": 2000000, "type": "image/png"}}),
    );
    assert_eq!(
        codes(&e),
        vec![
            ("nachweis".into(), "file_type".into()),
            ("nachweis".into(), "file_too_large".into())
        ]
    );
}

#[test]
fn a_hidden_answer_is_cleared_before_other_conditions_read_it() {
    let s = compile(
        r#"
service: kette
version: 1.0.0
title: Kette
steps:
  - id: a
    title: A
    fields:
      - { id: art, type: choice, label: Art, options: [{value: x, label: X}, {value: y, label: Y}] }
      - { id: detail, type: yes_no, label: Detail, visible_if: art == "x" }
      - { id: folge, type: text, label: Folge, visible_if: detail == true, required: true }
"#,
    );
    // `detail` was answered, then `art` changed: `detail` is hidden, so `folge` must be too.
    let e = eval(&s, json!({"art": "y", "detail": true}));
    assert!(!e.field("folge").unwrap().visible);
    assert!(e.is_valid(), "{:?}", codes(&e));
    let e = eval(&s, json!({"art": "x", "detail": true}));
    assert_eq!(codes(&e), vec![("folge".into(), "required".into())]);
}

const PERSONS: &str = r#"
service: personen
version: 1.0.0
title: Personen
steps:
  - id: p
    title: Personen
    fields:
      - { id: familienname, type: text, label: Familienname }
      - id: personen
        type: repeat
        label: Personen
        item_label: Person
        min_items: 1
        max_items: 3
        required: true
        fields:
          - { id: name, type: text, label: Name, required: true }
          - { id: kind, type: yes_no, label: Kind }
          - { id: schule, type: text, label: Schule, required: true, visible_if: kind == true }
          - { id: gebuehr, type: money, label: Betrag, min: 0, max: 100 }
computed:
  - { id: anzahl, value: len(personen), type: integer }
  - { id: summe, value: 'sum(personen, "gebuehr")', type: money }
fees:
  - { id: pro_person, label: Gebühr, amount: 'anzahl * 10.10' }
  - { id: summe, label: Beträge, amount: summe }
"#;

#[test]
fn repeat_items_see_their_own_fields_and_are_counted() {
    let s = compile(PERSONS);
    let e = eval(
        &s,
        json!({"personen": [
            {"name": "Ada", "kind": "ja", "gebuehr": "0,10"},
            {"name": "Bob", "kind": false, "schule": "weg damit", "gebuehr": "0,20"}
        ]}),
    );
    assert_eq!(codes(&e), vec![("personen.0.schule".into(), "required".into())]);
    assert!(!e.field("personen.1.schule").unwrap().visible);
    assert_eq!(e.computed["anzahl"], json!(2));
    assert_eq!(e.computed["summe"], json!("0.30"));
    // 2 × 10.10 + 0.30, exact.
    assert_eq!(e.fee_total.to_string(), "20.50");
    assert_eq!(e.clean()["personen"][1].get("schule"), None);
}

#[test]
fn repeats_enforce_their_item_counts_even_for_huge_lists() {
    let s = compile(PERSONS);
    let e = eval(&s, json!({}));
    assert_eq!(codes(&e), vec![("personen".into(), "required".into())]);
    let many: Vec<_> = (0..100_000).map(|i| json!({"name": format!("P{i}")})).collect();
    let e = eval(&s, json!({ "personen": many }));
    assert_eq!(codes(&e), vec![("personen".into(), "too_many_items".into())]);
    assert_eq!(
        e.errors[0].message.de,
        "Bitte geben Sie höchstens 3 Person (Einträge) an."
    );
}

#[test]
fn megabyte_strings_and_wrong_shapes_are_clear_errors() {
    let s = compile(PERSONS);
    let big = "x".repeat(1 << 20);
    let e = eval(&s, json!({"familienname": big, "personen": {"nicht": "eine Liste"}}));
    assert_eq!(
        codes(&e),
        vec![
            ("familienname".into(), "too_long".into()),
            ("personen".into(), "invalid_value".into())
        ]
    );
    let e = eval(&s, json!(["not", "an", "object"]));
    assert_eq!(codes(&e), vec![("personen".into(), "required".into())]);
}

const DATES: &str = r#"
service: umzug
version: 1.0.0
title: Umzug
steps:
  - id: s
    title: S
    fields:
      - { id: auszug, type: date, label: Auszug, required: true, min: -14d, max: +7d }
      - { id: einzug, type: date, label: Einzug }
      - { id: betrag, type: money, label: Betrag, min: 1.5 }
      - { id: anzahl, type: integer, label: Anzahl, max: 10 }
rules:
  - { id: reihenfolge, check: 'einzug >= auszug', field: einzug, message: { de: Der Einzug liegt vor dem Auszug., en: Moving in comes before moving out. } }
"#;

#[test]
fn relative_dates_count_from_today() {
    let s = compile(DATES);
    let ok = eval(&s, json!({"auszug": "2026-11-09"}));
    assert!(ok.is_valid(), "{:?}", codes(&ok));
    let early = eval(&s, json!({"auszug": "08.11.2026"}));
    assert_eq!(codes(&early), vec![("auszug".into(), "date_too_early".into())]);
    assert_eq!(
        early.errors[0].message.de,
        "Das Datum darf nicht vor dem 9. November 2026 liegen."
    );
    let late = eval(&s, json!({"auszug": {"day": "1", "month": "12", "year": "2026"}}));
    assert_eq!(codes(&late), vec![("auszug".into(), "date_too_late".into())]);
}

#[test]
fn impossible_dates_and_german_numbers() {
    let s = compile(DATES);
    let e = eval(
        &s,
        json!({"auszug": {"day": "31", "month": "2", "year": "2026"}, "betrag": "1.234,56", "anzahl": "1.000"}),
    );
    assert_eq!(
        codes(&e),
        vec![
            ("auszug".into(), "invalid_date".into()),
            ("anzahl".into(), "too_large".into())
        ]
    );
    assert_eq!(e.errors[0].message.de, "Den 31. Februar gibt es nicht.");
    assert_eq!(e.clean()["betrag"], json!("1234.56"));
    let e = eval(&s, json!({"auszug": "2026-11-20", "betrag": "1,49"}));
    assert_eq!(codes(&e), vec![("betrag".into(), "too_small".into())]);
    assert_eq!(e.errors[0].message.de, "Der Betrag muss mindestens 1,50 € sein.");
}

#[test]
fn rules_bind_their_message_to_a_field_and_rest_until_answered() {
    let s = compile(DATES);
    let resting = eval(&s, json!({"auszug": "2026-11-20"}));
    assert!(resting.is_valid());
    let broken = eval(&s, json!({"auszug": "2026-11-20", "einzug": "2026-11-19"}));
    assert_eq!(codes(&broken), vec![("einzug".into(), "reihenfolge".into())]);
    assert_eq!(broken.errors[0].message.en, "Moving in comes before moving out.");
}

#[test]
fn rule_messages_show_values_as_each_language_writes_them() {
    let s = compile(
        r#"
service: gesellschaft
version: 1.0.0
title: Gesellschaft
languages: [en]
steps:
  - id: s
    title: { de: Gesellschaft, en: Company }
    fields:
      - id: gesellschafter
        type: repeat
        label: { de: Gesellschafter:in, en: Partner }
        fields:
          - { id: anteil, type: decimal, label: { de: Anteil, en: Share } }
      - { id: gruendung, type: date, label: { de: Gründung, en: Founded } }
computed:
  - { id: summe, type: decimal, value: 'sum(gesellschafter, "anteil")' }
rules:
  - id: hundert
    check: summe == 100
    field: gesellschafter
    message:
      de: "Die Anteile ergeben {{ summe }} %, nicht 100 % ({{ len(gesellschafter) }} Personen, gegründet am {{gruendung}})."
      en: "The shares add up to {{ summe }} %, not 100 % (founded {{ gruendung }})."
"#,
    );
    let e = eval(
        &s,
        json!({"gesellschafter": [{"anteil": "60,5"}, {"anteil": "1000"}], "gruendung": "2026-03-03"}),
    );
    assert_eq!(codes(&e), vec![("gesellschafter".into(), "hundert".into())]);
    assert_eq!(
        e.errors[0].message.de,
        "Die Anteile ergeben 1.060,5 %, nicht 100 % (2 Personen, gegründet am 3. März 2026)."
    );
    assert_eq!(
        e.errors[0].message.en,
        "The shares add up to 1060.5 %, not 100 % (founded 3 March 2026)."
    );
}

#[test]
fn german_validators_normalise_what_is_stored() {
    let s = compile(
        r#"
service: bank
version: 1.0.0
title: Bank
steps:
  - id: s
    title: S
    fields:
      - { id: iban, type: iban, label: IBAN }
      - { id: tel, type: phone, label: Telefon }
      - { id: plz, type: plz, label: PLZ }
      - { id: steuer, type: steuer_id, label: Steuer-ID }
      - { id: mail, type: email, label: E-Mail }
"#,
    );
    let e = eval(
        &s,
        json!({"iban": "de89 3704 0044 0532 0130 00", "tel": "0431 123456", "plz": "24103", "steuer": "86095742719", "mail": "a@b.de"}),
    );
    assert!(e.is_valid(), "{:?}", codes(&e));
    assert_eq!(e.clean()["iban"], json!("DE89370400440532013000"));
    assert_eq!(e.clean()["tel"], json!("+49431123456"));
    let e = eval(
        &s,
        json!({"iban": "DE89 3704 0044 0532 0130 01", "plz": "00123", "steuer": "86095742718", "mail": "kein-at"}),
    );
    assert_eq!(
        codes(&e),
        vec![
            ("iban".into(), "invalid_iban".into()),
            ("plz".into(), "invalid_plz".into()),
            ("steuer".into(), "invalid_steuer_id".into()),
            ("mail".into(), "invalid_email".into())
        ]
    );
}

#[test]
fn summary_lists_visible_answers_with_display_values() {
    let s = compile(PERSONS);
    let e = eval(
        &s,
        json!({"familienname": "Lovelace", "personen": [{"name": "Ada", "kind": true, "schule": "X", "gebuehr": "5"}]}),
    );
    let summary = s.summary(&e, "de");
    let rows: Vec<(&str, &str, Vec<&str>)> = summary[0]
        .rows
        .iter()
        .map(|r| {
            (
                r.path.as_str(),
                r.label.as_str(),
                r.lines.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    // A repeat item is one row with one change link (to its first field), a line per answer.
    assert_eq!(
        rows,
        vec![
            ("familienname", "Familienname", vec!["Lovelace"]),
            (
                "personen.0.name",
                "Person 1",
                vec!["Name: Ada", "Kind: Ja", "Schule: X", "Betrag: 5,00 €"]
            ),
        ]
    );
}

#[test]
fn a_group_is_one_row_written_as_people_write_an_address() {
    let s = compile(
        r#"
service: adresse
version: 1.0.0
title: Adresse
steps:
  - id: s
    title: S
    fields:
      - id: person
        type: group
        label: Name
        fields:
          - { id: vorname, type: text, label: Vorname, autocomplete: given-name }
          - { id: nachname, type: text, label: Nachname, autocomplete: family-name }
      - id: anschrift
        type: group
        label: Anschrift
        fields:
          - { id: strasse, type: text, label: Straße, autocomplete: address-line1 }
          - { id: hausnummer, type: text, label: Hausnummer }
          - { id: plz, type: plz, label: Postleitzahl, autocomplete: postal-code }
          - { id: ort, type: text, label: Ort, autocomplete: address-level2 }
          - { id: zusatz, type: text, label: Adresszusatz }
      - { id: telefon, type: phone, label: Telefon }
      - { id: iban, type: iban, label: IBAN }
"#,
    );
    let e = eval(
        &s,
        json!({
            "person": {"vorname": "Erika", "nachname": "Mustermann"},
            "anschrift": {"strasse": "Holstenstraße", "hausnummer": "12a", "plz": "24103", "ort": "Kiel", "zusatz": "bei Meier"},
            "telefon": "0431/123456",
            "iban": "de02120300000000202051"
        }),
    );
    let summary = s.summary(&e, "de");
    let rows: Vec<(&str, &str, Vec<&str>)> = summary[0]
        .rows
        .iter()
        .map(|r| {
            (
                r.path.as_str(),
                r.label.as_str(),
                r.lines.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("person.vorname", "Name", vec!["Erika Mustermann"]),
            (
                "anschrift.strasse",
                "Anschrift",
                vec!["Holstenstraße 12a", "24103 Kiel", "Adresszusatz: bei Meier"]
            ),
            ("telefon", "Telefon", vec!["0431 123456"]),
            ("iban", "IBAN", vec!["DE02 1203 0000 0000 2020 51"]),
        ]
    );
}

#[test]
fn deeply_nested_json_is_refused_at_the_field() {
    let s = compile(PERSONS);
    let mut deep = json!("innen");
    for _ in 0..500 {
        deep = json!([deep]);
    }
    let e = eval(&s, json!({"familienname": deep.clone(), "personen": [{"name": deep}]}));
    assert_eq!(
        codes(&e),
        vec![
            ("familienname".into(), "invalid_value".into()),
            ("personen.0.name".into(), "invalid_value".into())
        ]
    );
    assert_eq!(e.errors[0].message.de, "Diese Angabe können wir nicht verarbeiten.");
}

#[test]
fn a_required_group_reports_its_members_not_itself() {
    let s = compile(
        r#"
service: gruppe
version: 1.0.0
title: Gruppe
steps:
  - id: s
    title: S
    fields:
      - id: anschrift
        type: group
        label: Anschrift
        required: true
        fields:
          - { id: strasse, type: text, label: Straße, required: true }
          - { id: zusatz, type: text, label: Zusatz }
"#,
    );
    let e = eval(&s, json!({}));
    assert_eq!(codes(&e), vec![("anschrift.strasse".into(), "required".into())]);
    let e = eval(&s, json!({"anschrift": {"strasse": "Holstenstraße 1"}}));
    assert!(e.is_valid());
    assert_eq!(e.clean()["anschrift"], json!({"strasse": "Holstenstraße 1"}));
}

/// Conditions with the same source are evaluated once per round and share the result; when
/// one of them fails, each condition is still evaluated and reported on its own.
#[test]
fn repeated_conditions_share_a_result_and_fail_one_by_one() {
    let service = compile(
        r#"
service: wiederholt
version: 1.0.0
title: Wiederholt
steps:
  - id: s
    title: S
    fields:
      - { id: zahl, type: integer, label: Zahl }
      - { id: a, type: text, label: A, required: true, visible_if: zahl + 1 > 4 }
      - { id: b, type: text, label: B, required: true, visible_if: zahl + 1 > 4 }
      - { id: c, type: text, label: C, required: true, visible_if: zahl + 1 <= 4 }
"#,
    );
    let shown = eval(&service, json!({"zahl": 5}));
    let visible: Vec<bool> = ["a", "b", "c"]
        .iter()
        .map(|f| shown.field(f).unwrap().visible)
        .collect();
    assert_eq!(visible, [true, true, false]);
    assert_eq!(
        codes(&shown),
        [("a".into(), "required".into()), ("b".into(), "required".into())]
    );

    // Without a number, `none + 1` is an error: every condition counts as false, and each
    // failing one is listed.
    let unanswered = eval(&service, json!({}));
    assert!(unanswered.fields.iter().skip(1).all(|f| !f.visible));
    assert_eq!(unanswered.problems.len(), 3, "{:?}", unanswered.problems);
    assert!(unanswered.is_valid());
}
