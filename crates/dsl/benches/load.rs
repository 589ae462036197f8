//! Loading and checking a whole catalog: 1,000 generated services of 40 fields each, with
//! translations, conditions, computed values, rules, fees and tests, as a state-wide catalog
//! might hold. Target: under 1 s on the 2-core CI machine.

use baukasten_dsl::{SourceFile, load_catalog};
use criterion::{Criterion, criterion_group, criterion_main};

/// One generated service of `steps` × 10 fields.
fn service(n: usize, steps: usize) -> String {
    let mut y = format!(
        "service: dienst_{n}\nversion: 1.0.{n}\ntitle: {{de: Dienst {n}, en: Service {n}}}\nlanguages: [de, en]\n\
         keywords: [Test, Last]\nreference_prefix: DST\n\
         lists:\n  arten:\n    - {{value: a, label: {{de: Art A, en: Kind A}}}}\n    - {{value: b, label: {{de: Art B, en: Kind B}}}}\n\
         groups:\n  anschrift:\n    label: {{de: Anschrift, en: Address}}\n    fields:\n\
         \x20     - {{id: strasse, type: text, label: {{de: Straße, en: Street}}, required: true, max_length: 100}}\n\
         \x20     - {{id: plz, type: plz, label: {{de: PLZ, en: Postcode}}, required: true}}\n\
         \x20     - {{id: ort, type: text, label: {{de: Ort, en: Town}}, required: true}}\nsteps:\n"
    );
    for s in 0..steps {
        y.push_str(&format!(
            "  - id: schritt_{s}\n    title: {{de: Schritt {s}, en: Step {s}}}\n    fields:\n"
        ));
        for f in 0..10 {
            let id = format!("f_{s}_{f}");
            let label = format!("{{de: Feld {s}.{f}, en: Field {s}.{f}}}");
            let line = match f {
                0 => format!(
                    "      - {{id: {id}, type: text, label: {label}, required: true, min_length: 2, max_length: 80}}\n"
                ),
                1 => format!("      - {{id: {id}, type: choice, list: arten, label: {label}, required: true}}\n"),
                2 => format!(
                    "      - {{id: {id}, type: date, label: {label}, min: -14d, max: +7d, visible_if: 'f_{s}_1 == \"a\"'}}\n"
                ),
                3 => format!(
                    "      - {{id: {id}, type: integer, label: {label}, min: 0, max: 99, required_if: 'f_{s}_1 == \"b\"'}}\n"
                ),
                4 => format!("      - {{id: {id}, type: money, label: {label}, min: 0}}\n"),
                5 => format!("      - {{id: {id}, type: email, label: {label}, autocomplete: email}}\n"),
                6 => format!("      - {{id: {id}, type: group, use: anschrift}}\n"),
                7 => format!("      - {{id: {id}, type: yes_no, label: {label}}}\n"),
                8 => format!(
                    "      - id: {id}\n        type: repeat\n        label: {label}\n        max_items: 5\n        fields:\n\
                     \x20         - {{id: name, type: text, label: {{de: Name, en: Name}}, required: true}}\n\
                     \x20         - {{id: menge, type: integer, label: {{de: Menge, en: Amount}}, visible_if: 'name != \"\"'}}\n"
                ),
                _ => format!(
                    "      - {{id: {id}, type: text, label: {label}, pattern: '[A-Z]{{2}}[0-9]+', pattern_message: {{de: Zwei Buchstaben und Ziffern, en: Two letters and digits}}}}\n"
                ),
            };
            y.push_str(&line);
        }
    }
    y.push_str(
        "computed:\n  - {id: anzahl, value: 'len(f_0_8)', type: integer}\n  - {id: gebuehr, value: '10 + anzahl * 2.5', type: money}\n\
         rules:\n  - {id: mindestens_eins, check: 'anzahl >= 1', field: f_0_8, message: {de: Bitte mindestens einen Eintrag., en: Please add at least one entry.}}\n\
         fees:\n  - {id: grundgebuehr, label: {de: Gebühr, en: Fee}, amount: gebuehr, if: 'f_0_7 == true'}\n\
         process:\n  states: [eingegangen, erledigt]\n  transitions: [{from: eingegangen, to: erledigt}]\n  deliver: [{webhook: fachverfahren}]\n\
         tests:\n  - name: Leer\n    answers: {}\n    expect: {errors: {f_0_0: required}}\n\
         \x20 - name: Art B\n    answers: {f_0_1: b, f_0_8: [{name: X}]}\n    expect: {visible: [f_0_3], hidden: [f_0_2], computed: {anzahl: 1}}\n",
    );
    y
}

fn catalog(count: usize) -> Vec<SourceFile> {
    (0..count)
        .map(|n| SourceFile::new(format!("forms/dienst_{n}.yaml"), service(n, 4)))
        .collect()
}

fn bench(c: &mut Criterion) {
    let files = catalog(1000);
    let loaded = load_catalog(files.clone());
    assert!(
        loaded.diagnostics.is_empty(),
        "the generated catalog is clean: {:?}",
        loaded.diagnostics.first()
    );
    assert_eq!(loaded.catalog.services.len(), 1000);
    let fields: usize = loaded.catalog.services[0].fields().len();
    println!("generated catalog: 1000 services, {fields} fields each (group and repeat members included)");

    let mut group = c.benchmark_group("catalog");
    group.sample_size(10);
    group.bench_function("load_and_check_1000_services", |b| {
        b.iter(|| load_catalog(files.clone()))
    });
    group.finish();

    let text = files[0].text.clone();
    c.bench_function("parse_one_service", |b| b.iter(|| baukasten_dsl::yaml::parse(&text, 0)));
    let one = vec![files[0].clone()];
    c.bench_function("load_and_check_one_service", |b| b.iter(|| load_catalog(one.clone())));
}

criterion_group!(benches, bench);
criterion_main!(benches);
