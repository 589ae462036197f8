//! The rules of the process around the form: the state a submission starts in and the moves
//! the process allows, the record a submission stores, a posted step merged into a draft, the
//! question a new answer reveals, file answers resolved against uploads, the one walk over
//! answers, one money rounding rule, and which expression failures a clerk is shown.

use std::convert::Infallible;

use baukasten_engine::walk::{self, Visit};
use baukasten_engine::{
    AfterContinue, DEFAULT_INITIAL_STATE, Lifecycle, Limits, RemovedItem, StoredFile, resolve_files, retention_days,
};
use serde_json::{Value as Json, json};

use crate::{compile, eval, today};

const SERVICE: &str = r#"
service: garten
version: 2.1.0
title: Gartenabfall
reference_prefix: GA
steps:
  - id: person
    title: Person
    fields:
      - id: art
        type: choice
        widget: radio
        label: Art
        required: true
        options:
          - { value: privat, label: Privat }
          - { value: firma, label: Firma }
      - id: firmenname
        type: text
        label: Firmenname
        required: true
        visible_if: art == "firma"
      - id: ausweis
        type: file
        label: Ausweis
        accept: [pdf]
      - id: anschrift
        type: group
        label: Anschrift
        fields:
          - { id: strasse, type: text, label: Straße }
          - { id: foto, type: file, label: Foto, accept: [pdf, jpeg] }
  - id: mengen
    title: Mengen
    fields:
      - id: saecke
        type: repeat
        label: Säcke
        max_items: 3
        fields:
          - { id: inhalt, type: text, label: Inhalt, required: true }
          - { id: bild, type: file, label: Bild, accept: [pdf, jpeg] }
fees:
  - { label: Gebühr, amount: "0.125" }
process:
  states: [neu, in_pruefung, erledigt]
  transitions:
    - { from: neu, to: in_pruefung }
    - { from: in_pruefung, to: erledigt }
"#;

fn file(id: &str) -> Json {
    json!({"id": id, "name": format!("{id}.pdf"), "size": 10, "type": "application/pdf"})
}

#[test]
fn a_submission_starts_in_the_first_state_and_moves_only_along_transitions() {
    let s = compile(SERVICE);
    let life = Lifecycle::of(s.service());
    assert_eq!(life.initial_state(), "neu");
    assert!(life.allows("neu", "in_pruefung"));
    assert!(!life.allows("neu", "erledigt"), "no transition skips a state");
    assert!(!life.allows("erledigt", "neu"));
    let refused = life.check("neu", "erledigt").unwrap_err();
    assert_eq!(refused.to_string(), "the process does not allow 'neu' → 'erledigt'");

    // Without transitions any declared state may follow; without states the default starts.
    let open = compile(&SERVICE.replace(
        "  transitions:\n    - { from: neu, to: in_pruefung }\n    - { from: in_pruefung, to: erledigt }\n",
        "",
    ));
    let life = Lifecycle::of(open.service());
    assert!(life.allows("neu", "erledigt"));
    assert!(!life.allows("neu", "verloren"));
    let bare = compile(&SERVICE[..SERVICE.find("process:").unwrap()]);
    assert_eq!(Lifecycle::of(bare.service()).initial_state(), DEFAULT_INITIAL_STATE);
    assert_eq!(DEFAULT_INITIAL_STATE, "eingegangen");
}

#[test]
fn the_moves_offered_from_a_state_are_exactly_the_allowed_ones() {
    let s = compile(SERVICE);
    let life = Lifecycle::of(s.service());
    let targets = |from: &str| -> Vec<&str> { life.moves_from(from).into_iter().map(|(to, _)| to).collect() };
    assert_eq!(targets("neu"), ["in_pruefung"]);
    assert_eq!(targets("in_pruefung"), ["erledigt"]);
    assert!(targets("erledigt").is_empty(), "a final state offers nothing");
    let open = compile(&SERVICE.replace(
        "  transitions:\n    - { from: neu, to: in_pruefung }\n    - { from: in_pruefung, to: erledigt }\n",
        "",
    ));
    let life = Lifecycle::of(open.service());
    let targets: Vec<&str> = life.moves_from("neu").into_iter().map(|(to, _)| to).collect();
    assert_eq!(targets, ["in_pruefung", "erledigt"]);
    for from in ["neu", "in_pruefung", "erledigt"] {
        for (to, _) in life.moves_from(from) {
            assert!(life.allows(from, to));
        }
    }
}

#[test]
fn a_final_state_is_one_from_which_no_move_is_offered() {
    let without_transitions = SERVICE.replace(
        "  transitions:\n    - { from: neu, to: in_pruefung }\n    - { from: in_pruefung, to: erledigt }\n",
        "",
    );
    let one_state = SERVICE.replace("[neu, in_pruefung, erledigt]", "[neu]").replace(
        "  transitions:\n    - { from: neu, to: in_pruefung }\n    - { from: in_pruefung, to: erledigt }\n",
        "",
    );
    let no_process = SERVICE[..SERVICE.find("process:").unwrap()].to_string();
    let finals = |yaml: &str| -> Vec<String> {
        let s = compile(yaml);
        let life = Lifecycle::of(s.service());
        let mut states: Vec<&str> = s.service().process.states.iter().map(|s| s.id.as_str()).collect();
        if states.is_empty() {
            states.push(life.initial_state());
        }
        // The same answer as the moves offered, for every state a submission can be in.
        for state in &states {
            assert_eq!(life.is_final(state), life.moves_from(state).is_empty(), "{state}");
        }
        assert!(!life.is_final("verloren"), "an undeclared state is never final");
        states
            .into_iter()
            .filter(|s| life.is_final(s))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(finals(SERVICE), ["erledigt"]);
    assert!(
        finals(&without_transitions).is_empty(),
        "any state may follow any other"
    );
    assert_eq!(finals(&one_state), ["neu"], "nothing can follow the only state");
    assert_eq!(finals(&no_process), [DEFAULT_INITIAL_STATE]);
}

#[test]
fn a_service_keeps_its_own_retention_else_its_municipalitys_else_everything() {
    let tenant_yaml = "tenant: musterstadt\nname: Musterstadt\nlinks: { impressum: i, datenschutz: d, barrierefreiheit: b }\nretention: { after_final_state: 365d }\n";
    let own = format!("{SERVICE}retention:\n  after_final_state: 30d\n");
    let loaded = baukasten_dsl::load_catalog(vec![
        baukasten_dsl::SourceFile::new("forms/garten.yaml", own),
        baukasten_dsl::SourceFile::new("forms/musterstadt/tenant.yaml", tenant_yaml),
    ]);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let tenant = &loaded.catalog.tenants[0];
    let service = &loaded.catalog.services[0];
    assert_eq!(retention_days(service, Some(tenant)), Some(30));
    assert_eq!(retention_days(service, None), Some(30));

    let plain = compile(SERVICE);
    assert_eq!(retention_days(plain.service(), Some(tenant)), Some(365));
    assert_eq!(
        retention_days(plain.service(), None),
        None,
        "without a period, data is kept"
    );
}

#[test]
fn the_submission_record_is_built_from_the_evaluation() {
    let s = compile(SERVICE);
    let e = eval(
        &s,
        json!({"art": "privat", "ausweis": file("a1"), "anschrift": {"strasse": "Weg 1", "foto": file("a2")},
               "saecke": [{"inhalt": "Laub", "bild": file("a3")}, {"inhalt": "Äste"}]}),
    );
    assert!(e.is_valid(), "{:?}", e.errors);
    let record = s.submission(&e);
    assert_eq!(record.service, "garten");
    assert_eq!(record.version, "2.1.0");
    assert_eq!(record.definition_hash, s.definition_hash());
    assert_eq!(record.reference_prefix, "GA");
    assert_eq!(record.initial_state, "neu");
    assert_eq!(
        record.attachments,
        ["a1", "a2", "a3"],
        "every file answer, in field order"
    );
    assert_eq!(record.data["answers"]["saecke"][0]["inhalt"], "Laub");
    assert_eq!(record.data["computed"], json!({}));
    assert_eq!(record.fee_total, "0.13", "a half cent rounds away from zero");

    // Without a declared prefix, the first three letters of the id.
    let plain = compile(&SERVICE.replace("reference_prefix: GA\n", ""));
    assert_eq!(plain.submission(&e).reference_prefix, "GAR");
}

#[test]
fn money_is_rounded_half_away_from_zero_everywhere_a_citizen_reads_it() {
    let s = compile(SERVICE);
    let e = eval(&s, json!({}));
    assert_eq!(e.fee_total.to_string(), "0.13");
    assert_eq!(baukasten_engine::messages::german_money(e.fee_total), "0,13 €");
    assert_eq!(
        baukasten_engine::messages::english_money("0.125".parse().unwrap()),
        "€0.13"
    );
    assert_eq!(
        baukasten_engine::messages::german_money("2.345".parse().unwrap()),
        "2,35 €",
        "not 2,34 € (rounding to even)"
    );
}

#[test]
fn a_posted_step_replaces_its_answers_and_keeps_the_files_of_earlier_visits() {
    let s = compile(SERVICE);
    let draft = json!({"art": "privat", "ausweis": file("a1"), "anschrift": {"strasse": "Alt", "foto": file("a2")},
                       "saecke": [{"inhalt": "Laub", "bild": file("a3")}, {"inhalt": "Äste", "bild": file("a4")}]});
    // The form sends every input of the step but no file inputs.
    let posted = json!({"art": "firma", "firmenname": "ACME", "anschrift": {"strasse": "Neu"}});
    let merged = s.merge_step("person", &draft, posted, vec![], None);
    assert_eq!(merged["art"], "firma");
    assert_eq!(merged["anschrift"]["strasse"], "Neu");
    assert_eq!(merged["ausweis"], file("a1"), "a file of the step is kept");
    assert_eq!(merged["anschrift"]["foto"], file("a2"), "also inside a group");
    assert_eq!(merged["saecke"], draft["saecke"], "other steps are untouched");

    // Removing the first of two items: the second moves up, and its file with it.
    let posted = json!({"saecke": [{"inhalt": "Äste"}]});
    let removed = RemovedItem {
        repeat: "saecke",
        index: 0,
    };
    let merged = s.merge_step("mengen", &draft, posted, vec![], Some(removed));
    assert_eq!(merged["saecke"], json!([{"inhalt": "Äste", "bild": file("a4")}]));
    // Removing the last one keeps the files of the items before it where they are.
    let posted = json!({"saecke": [{"inhalt": "Laub"}]});
    let removed = RemovedItem {
        repeat: "saecke",
        index: 1,
    };
    let merged = s.merge_step("mengen", &draft, posted, vec![], Some(removed));
    assert_eq!(merged["saecke"], json!([{"inhalt": "Laub", "bild": file("a3")}]));

    // New uploads go to their place; an upload under a name that is no file field is dropped.
    let posted = json!({"saecke": [{"inhalt": "Gras"}]});
    let uploads = vec![
        ("saecke.1.bild".to_string(), file("b1")),
        ("saecke.0.inhalt".to_string(), file("b2")),
        ("saecke.3.bild".to_string(), file("b3")),
        ("ausweis".to_string(), file("b4")),
    ];
    let merged = s.merge_step("mengen", &json!({}), posted, uploads, None);
    assert_eq!(merged["saecke"][1]["bild"], file("b1"));
    assert_eq!(merged["saecke"][0]["inhalt"], "Gras", "not a file field");
    assert_eq!(
        merged["saecke"].as_array().unwrap().len(),
        2,
        "item 3 is past max_items: 3"
    );
    assert_eq!(
        merged["ausweis"],
        file("b4"),
        "a file field of another step is still a file field"
    );
    assert!(s.accepts_file_at("anschrift.foto"));
    assert!(s.accepts_file_at("saecke.2.bild"));
    assert!(!s.accepts_file_at("saecke.bild"), "a repeat's member needs an index");
    assert!(!s.accepts_file_at("saecke.9.bild"), "beyond max_items");
    assert!(!s.accepts_file_at("anschrift.strasse"));
}

#[test]
fn a_revealed_question_is_asked_before_errors_are_shown() {
    let s = compile(SERVICE);
    let before = json!({"art": "privat"});
    let after = json!({"art": "firma"});
    let now = s.evaluate(&after, &today());
    assert_eq!(
        s.revealed_question(&before, &now, "person", &today()),
        Some("firmenname")
    );
    assert_eq!(
        s.after_continue(&before, &now, "person", &today()),
        AfterContinue::AskRevealed
    );

    // Seen before and still empty: now it is an error.
    assert_eq!(s.revealed_question(&after, &now, "person", &today()), None);
    assert_eq!(
        s.after_continue(&after, &now, "person", &today()),
        AfterContinue::ShowErrors
    );

    let done = s.evaluate(&json!({"art": "firma", "firmenname": "ACME"}), &today());
    assert_eq!(
        s.after_continue(&after, &done, "person", &today()),
        AfterContinue::Step("mengen".into())
    );
    assert_eq!(
        s.after_continue(&after, &done, "mengen", &today()),
        AfterContinue::Summary
    );
    assert_eq!(done.previous_step("mengen"), Some("person"));
    assert_eq!(done.previous_step("person"), None);
}

#[test]
fn a_change_from_the_summary_goes_back_there_unless_a_later_step_now_needs_answers() {
    let s = compile(
        r#"
service: aenderung
version: 1.0.0
title: Änderung
steps:
  - id: eins
    title: Eins
    fields:
      - { id: firma, type: yes_no, label: Als Firma?, required: true }
  - id: zwei
    title: Zwei
    visible_if: firma
    fields:
      - { id: firmenname, type: text, label: Firmenname, required: true }
  - id: drei
    title: Drei
    fields:
      - { id: name, type: text, label: Name, required: true }
"#,
    );
    let before = json!({"firma": false, "name": "Ada"});
    // Unchanged path: straight back to the summary, not on to step "drei".
    let same = s.evaluate(&before, &today());
    assert_eq!(s.after_change(&before, &same, "eins", &today()), AfterContinue::Summary);
    assert_eq!(
        s.after_continue(&before, &same, "eins", &today()),
        AfterContinue::Step("drei".into())
    );
    // The change reveals step "zwei", whose question is unanswered: it comes first.
    let now = s.evaluate(&json!({"firma": true, "name": "Ada"}), &today());
    assert_eq!(
        s.after_change(&before, &now, "eins", &today()),
        AfterContinue::Step("zwei".into())
    );
    // Once it is answered there, back to the summary.
    let answered = s.evaluate(&json!({"firma": true, "firmenname": "ACME", "name": "Ada"}), &today());
    assert_eq!(
        s.after_change(&before, &answered, "zwei", &today()),
        AfterContinue::Summary
    );
    // Errors on the step itself are shown as ever.
    let broken = s.evaluate(&json!({"name": "Ada"}), &today());
    assert_eq!(
        s.after_change(&before, &broken, "eins", &today()),
        AfterContinue::ShowErrors
    );
}

#[test]
fn file_answers_are_resolved_against_the_uploads_or_are_errors_at_their_field() {
    let s = compile(SERVICE);
    let mut answers = json!({"ausweis": {"id": "known", "name": "fake.exe", "type": "text/plain"},
                             "saecke": [{"inhalt": "x", "bild": {"id": "unknown"}}]});
    let errors = resolve_files(s.service(), &mut answers, &Limits::default(), |id| {
        Ok::<_, Infallible>((id == "known").then(|| StoredFile {
            id: "known".into(),
            name: "ausweis.pdf".into(),
            size: 1234,
            media_type: "application/pdf".into(),
        }))
    })
    .unwrap();
    assert_eq!(
        answers["ausweis"],
        json!({"id": "known", "name": "ausweis.pdf", "size": 1234, "type": "application/pdf"}),
        "name, size and type come from the stored upload, not the client"
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "saecke.0.bild");
    assert_eq!(errors[0].step, "mengen");
    assert_eq!(errors[0].code, "file_not_uploaded");
    assert_eq!(errors[0].message.de, "Bitte laden Sie die Datei zuerst hoch.");
    assert_eq!(errors[0].message.en, "Please upload the file first.");

    // A failing lookup (the store) stops the walk and is the caller's error.
    let failed = resolve_files(s.service(), &mut answers, &Limits::default(), |_| Err("store closed"));
    assert_eq!(failed.unwrap_err(), "store closed");

    // Reported once per field: the evaluation's own error at that field is left out.
    let e = eval(&s, json!({"art": "privat", "saecke": [{"bild": {"id": "unknown"}}]}));
    let all = e.errors_with(errors);
    assert_eq!(all.iter().filter(|x| x.field == "saecke.0.bild").count(), 1);
    assert!(all.iter().any(|x| x.field == "saecke.0.inhalt" && x.code == "required"));
}

#[test]
fn the_walk_visits_answers_in_field_order_with_paths_within_the_limits() {
    let s = compile(SERVICE);
    let answers = json!({"saecke": [{"inhalt": "a"}, {"inhalt": "b"}, {"inhalt": "c"}, {"inhalt": "d"}],
                         "anschrift": {"strasse": "x"}, "art": "privat", "fremd": 1});
    let mut seen = Vec::new();
    walk::walk_service(s.service(), &answers, &Limits::default(), &mut |v: Visit<'_, '_>, _| {
        let item = v.item.map(|(repeat, n)| format!(" (in {} {n})", repeat.id));
        seen.push(format!("{}{}", v.path, item.unwrap_or_default()));
    });
    assert_eq!(
        seen,
        [
            "art",
            "anschrift",
            "anschrift.strasse",
            "saecke",
            "saecke.0.inhalt (in saecke 0)",
            "saecke.1.inhalt (in saecke 1)",
            "saecke.2.inhalt (in saecke 2)",
        ],
        "answers that are no field are not visited; items past max_items neither"
    );
    assert_eq!(Limits::default().repeat_items(None), 200);
    assert_eq!(Limits::default().repeat_items(Some(3)), 3);
    assert_eq!(
        Limits::default().repeat_items(Some(1_000_000)),
        1_000,
        "the ceiling holds"
    );

    // Answers of the wrong shape are visited as they are; their members are not.
    let mut count = 0;
    walk::walk_service(
        s.service(),
        &json!({"anschrift": "Weg 1", "saecke": 5}),
        &Limits::default(),
        &mut |_, _| count += 1,
    );
    assert_eq!(count, 2);
}

#[test]
fn an_expression_failing_on_an_unanswered_field_is_expected_others_are_notable() {
    let s = compile(
        r#"
service: rechnen
version: 1.0.0
title: Rechnen
steps:
  - id: a
    title: A
    fields:
      - { id: anzahl, type: integer, label: Anzahl }
      - { id: name, type: text, label: Name }
computed:
  - { id: doppelt, value: "anzahl * 2" }
  - { id: kaputt, value: "name * name" }
  - { id: daneben, value: "(anzahl or 0) + name * name" }
tests:
  - name: leer
    answers: {}
    expect: { valid: true }
  - name: voll
    answers: { anzahl: 2, name: x }
    expect: { valid: true, computed: { doppelt: 4 } }
  - name: nur der Name
    answers: { name: x }
    expect: { valid: true }
"#,
    );
    let outcomes = baukasten_engine::testing::run_tests(&s, today().today);
    let empty = &outcomes[0];
    assert!(!empty.problems.is_empty(), "`none * 2` fails");
    assert!(empty.problems.iter().all(|p| p.unanswered));
    assert_eq!(empty.notable_problems().count(), 0, "by design: nothing to show");
    let full = &outcomes[1];
    let notable: Vec<_> = full.notable_problems().map(|p| p.expression.as_str()).collect();
    assert_eq!(
        notable,
        ["name * name", "(anzahl or 0) + name * name"],
        "a string times a string is a mistake in the service"
    );
    // Next to an unanswered field, a failure that is not about it is still shown.
    let name_only = &outcomes[2];
    let notable: Vec<_> = name_only.notable_problems().map(|p| p.expression.as_str()).collect();
    assert_eq!(notable, ["name * name", "(anzahl or 0) + name * name"]);
}

/// The old runner decided by the message (`contains("none")`); over the catalog's tests the
/// engine's own verdict agrees with it on every failure.
#[test]
fn the_verdict_on_expression_failures_agrees_with_the_old_message_test_over_the_catalog() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../forms");
    let mut files = Vec::new();
    fn read(dir: &std::path::Path, out: &mut Vec<baukasten_dsl::SourceFile>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                read(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                out.push(baukasten_dsl::SourceFile::new(
                    path.display().to_string(),
                    std::fs::read_to_string(&path).unwrap(),
                ));
            }
        }
    }
    read(&dir, &mut files);
    let loaded = baukasten_dsl::load_catalog(files);
    let mut problems = 0;
    for service in &loaded.catalog.services {
        let compiled = baukasten_engine::CompiledService::new(service).unwrap();
        for outcome in baukasten_engine::testing::run_tests(&compiled, today().today) {
            for p in &outcome.problems {
                problems += 1;
                assert_eq!(
                    p.unanswered,
                    p.message.contains("none"),
                    "{}: {} ({})",
                    service.id,
                    p.expression,
                    p.message
                );
            }
        }
    }
    assert!(
        problems > 0,
        "the catalog's tests leave fields unanswered, so some expressions fail"
    );
}

/// Was `set_path` in the server's pages, with the same cases.
#[test]
fn a_value_is_put_at_its_path_creating_items_on_the_way() {
    let s = compile(
        r#"
service: kinder
version: 1.0.0
title: Kinder
steps:
  - id: a
    title: A
    fields:
      - { id: name, type: text, label: Name }
      - { id: nachweis, type: file, label: Nachweis, accept: [pdf] }
      - id: kinder
        type: repeat
        label: Kinder
        fields:
          - { id: nachweis, type: file, label: Nachweis, accept: [pdf] }
"#,
    );
    let limits = Limits::default();
    let mut answers = json!({"name": "x"});
    assert!(walk::set_at(
        s.service(),
        &mut answers,
        "kinder.1.nachweis",
        json!({"id": "a"}),
        &limits
    ));
    assert_eq!(answers, json!({"name": "x", "kinder": [{}, {"nachweis": {"id": "a"}}]}));
    assert!(walk::set_at(s.service(), &mut answers, "nachweis", json!("n"), &limits));
    assert_eq!(answers["nachweis"], json!("n"));
    // A path that does not fit the service or the answers' shape changes nothing.
    assert!(!walk::set_at(s.service(), &mut answers, "name.0.x", json!(1), &limits));
    assert_eq!(answers["name"], json!("x"));
    for shape in [json!("keine"), json!({})] {
        let mut odd = json!({ "kinder": shape });
        assert!(!walk::set_at(
            s.service(),
            &mut odd,
            "kinder.0.nachweis",
            json!(1),
            &limits
        ));
        assert_eq!(odd, json!({ "kinder": shape }));
    }
    // Beyond the repeat's item limit nothing is created.
    assert!(!walk::set_at(
        s.service(),
        &mut answers,
        "kinder.200.nachweis",
        json!(1),
        &limits
    ));
    assert_eq!(answers["kinder"].as_array().unwrap().len(), 2);
}

/// Today is the date in Germany, not on the machine's clock face: at 23:30 UTC on a summer
/// evening (CEST, UTC+2) and on a winter evening (CET, UTC+1) it is already the next day.
#[test]
fn today_is_the_date_in_berlin() {
    use baukasten_engine::{Context, DEFAULT_TIME_ZONE};
    use chrono::{NaiveDate, TimeZone, Utc};
    let at = |y, m, d, h, min| Context::at(Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap(), DEFAULT_TIME_ZONE).today;
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    assert_eq!(at(2026, 7, 15, 23, 30), day(2026, 7, 16));
    assert_eq!(at(2026, 7, 15, 21, 59), day(2026, 7, 15));
    assert_eq!(at(2026, 7, 15, 22, 0), day(2026, 7, 16));
    assert_eq!(at(2026, 1, 15, 23, 30), day(2026, 1, 16));
    assert_eq!(at(2026, 1, 15, 22, 30), day(2026, 1, 15));
    // New Year's Eve: the new year starts at 23:00 UTC.
    assert_eq!(at(2026, 12, 31, 23, 0), day(2027, 1, 1));
}

/// Date bounds in months and years count calendar months; a day the target month lacks is
/// its last day.
#[test]
fn date_bounds_in_months_and_years_follow_the_calendar() {
    use baukasten_engine::Context;
    use chrono::NaiveDate;
    let s = compile(
        r#"
service: ausweis
version: 1.0.0
title: Ausweis
steps:
  - id: a
    title: A
    fields:
      - { id: geburt, type: date, label: Geburtsdatum, max: -18y }
      - { id: letzte, type: date, label: Letzte Zahlung, min: -1m, max: +3m }
"#,
    );
    let on = |today: (i32, u32, u32), answers: serde_json::Value| {
        let today = NaiveDate::from_ymd_opt(today.0, today.1, today.2).unwrap();
        let e = s.evaluate(&answers, &Context { today });
        e.errors
            .iter()
            .map(|x| format!("{}: {}", x.field, x.code))
            .collect::<Vec<_>>()
    };
    // 18 years before 23 November 2026 is 23 November 2008: that day is old enough.
    assert!(on((2026, 11, 23), json!({"geburt": "2008-11-23"})).is_empty());
    assert_eq!(
        on((2026, 11, 23), json!({"geburt": "2008-11-24"})),
        ["geburt: date_too_late"]
    );
    // One month before 31 March is the last day of February.
    assert!(on((2026, 3, 31), json!({"letzte": "2026-02-28"})).is_empty());
    assert_eq!(
        on((2026, 3, 31), json!({"letzte": "2026-02-27"})),
        ["letzte: date_too_early"]
    );
    assert!(
        on((2028, 3, 31), json!({"letzte": "2028-02-29"})).is_empty(),
        "a leap year"
    );
    // Three months after 30 November is 28 February.
    assert_eq!(
        on((2026, 11, 30), json!({"letzte": "2027-03-01"})),
        ["letzte: date_too_late"]
    );
    assert!(on((2026, 11, 30), json!({"letzte": "2027-02-28"})).is_empty());
}

/// A test can say that a field has no error (while others may), and a failing `fee_total`
/// points at its own line.
#[test]
fn tests_can_expect_no_error_at_a_field_and_fee_failures_point_at_their_line() {
    let s = compile(
        r#"
service: gebuehr
version: 1.0.0
title: Gebühr
steps:
  - id: a
    title: A
    fields:
      - { id: name, type: text, label: Name, required: true, max_length: 3 }
      - { id: ort, type: text, label: Ort, required: true }
fees:
  - { label: Gebühr, amount: "10" }
tests:
  - name: nur der Name zählt
    answers: { name: Max }
    expect:
      no_errors: [name]
      errors: { ort: required }
  - name: zu langer Name
    answers: { name: Erika }
    expect:
      no_errors: [name]
  - name: falsche Gebühr
    answers: {}
    expect:
      fee_total: "12.50"
"#,
    );
    let outcomes = baukasten_engine::testing::run_tests(&s, today().today);
    assert!(outcomes[0].passed(), "{:?}", outcomes[0].failures);
    let failed = &outcomes[1].failures;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].what, "no_errors.name");
    assert_eq!(failed[0].actual, "too_long");
    let fee = &outcomes[2].failures[0];
    assert_eq!(fee.what, "fee_total");
    assert_eq!((fee.expected.as_str(), fee.actual.as_str()), ("12.50", "10.00"));
    assert_eq!(
        fee.span.line, 26,
        "the line of `fee_total:` (the test is named on line 23)"
    );
}

#[test]
fn the_first_item_of_an_empty_repeat_is_not_a_revealed_question() {
    let s = compile(
        r#"
service: personen
version: 1.0.0
title: Personen
steps:
  - id: personen
    title: Personen
    fields:
      - id: personen
        type: repeat
        label: Personen
        item_label: Person
        min_items: 1
        fields:
          - { id: name, type: text, label: Name, required: true }
"#,
    );
    // "Weiter" on the empty first page: the page shows one empty item, the post sends it.
    let now = s.evaluate(&json!({"personen": [{"name": ""}]}), &today());
    assert_eq!(s.revealed_question(&json!({}), &now, "personen", &today()), None);
    assert_eq!(
        s.after_continue(&json!({}), &now, "personen", &today()),
        AfterContinue::ShowErrors
    );
}
