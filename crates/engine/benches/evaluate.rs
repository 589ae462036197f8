//! The engine on a large form, for comparison with Open Forms' published logic-check figure
//! (about 282 ms for 300 components and 65 rules): a generated service of 300 fields over 10
//! steps, with 65 conditional rules and 2 repeating groups.
//! Targets: compile < 5 ms; one full evaluation < 100 µs (median); 1,000 submissions < 0.1 s.

use baukasten_dsl::load_service;
use baukasten_engine::{CompiledService, Context};
use chrono::NaiveDate;
use criterion::{Criterion, criterion_group};
use serde_json::{Map, Value, json};

/// 10 steps × 30 fields with 65 conditional rules: 63 fields carry a `visible_if` or
/// `required_if`, and steps 3 and 7 end with a repeat of 3 item fields whose `schule` has a
/// per-item `visible_if` (the two slots counted at `f == 29` are these item conditions).
fn service_yaml() -> String {
    let mut y = String::from(
        "service: gross\nversion: 1.0.0\ntitle: Großes Formular\nlists:\n  art:\n    - {value: a, label: A}\n    - {value: b, label: B}\nsteps:\n",
    );
    let mut conditions = 0;
    for s in 0..10 {
        y.push_str(&format!("  - id: s{s}\n    title: Schritt {s}\n    fields:\n"));
        for f in 0..30 {
            let id = format!("f{s}_{f}");
            let want_condition = conditions < 65 && f % 5 == 4 || (s < 5 && f == 28 && conditions < 65);
            let cond = if want_condition {
                conditions += 1;
                if f % 2 == 0 {
                    format!(", visible_if: 'f{s}_0 == \"a\" and f{s}_1 > 3'")
                } else {
                    format!(", required_if: 'f{s}_0 == \"b\" or f{s}_2 == true'")
                }
            } else {
                String::new()
            };
            let line = match f {
                0 => format!("      - {{id: {id}, type: choice, list: art, label: Art, required: true{cond}}}\n"),
                1 => format!("      - {{id: {id}, type: integer, label: Zahl, min: 0, max: 1000{cond}}}\n"),
                2 => format!("      - {{id: {id}, type: yes_no, label: Frage{cond}}}\n"),
                3 => format!("      - {{id: {id}, type: date, label: Datum, min: -3650d, max: +365d{cond}}}\n"),
                4 => format!("      - {{id: {id}, type: money, label: Betrag, min: 0{cond}}}\n"),
                5 => format!("      - {{id: {id}, type: email, label: E-Mail{cond}}}\n"),
                6 => format!("      - {{id: {id}, type: plz, label: PLZ{cond}}}\n"),
                29 if s == 3 || s == 7 => format!(
                    "      - id: {id}\n        type: repeat\n        label: Personen\n        max_items: 10\n        fields:\n\
                     \x20         - {{id: name, type: text, label: Name, required: true, max_length: 80}}\n\
                     \x20         - {{id: alter, type: integer, label: Alter, min: 0, max: 130}}\n\
                     \x20         - {{id: schule, type: text, label: Schule, visible_if: 'alter < 18'}}\n"
                ),
                _ => format!("      - {{id: {id}, type: text, label: Text, max_length: 200{cond}}}\n"),
            };
            y.push_str(&line);
        }
    }
    assert_eq!(conditions, 65, "the benchmark service has 65 conditional rules");
    y
}

/// A complete, valid submission, varied by `n`.
fn answers(n: usize) -> Value {
    let mut m = Map::new();
    for s in 0..10 {
        for f in 0..30 {
            let id = format!("f{s}_{f}");
            let v = match f {
                0 => json!(if (n + s).is_multiple_of(2) { "a" } else { "b" }),
                1 => json!((n * 7 + s) % 1000),
                2 => json!(n.is_multiple_of(3)),
                3 => json!("2026-01-15"),
                4 => json!("1.234,50"),
                5 => json!("buerger@example.org"),
                6 => json!("24103"),
                29 if s == 3 || s == 7 => {
                    json!([{"name": "Ada", "alter": 36}, {"name": "Kim", "alter": 12, "schule": "Grundschule"}])
                }
                _ => json!(format!("Antwort {n} {s} {f}")),
            };
            m.insert(id, v);
        }
    }
    Value::Object(m)
}

fn bench(c: &mut Criterion) {
    let yaml = service_yaml();
    let (service, loaded) = load_service("forms/gross.yaml", &yaml);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics.first());
    let service = service.unwrap();
    let ctx = Context {
        today: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
    };
    let compiled = CompiledService::new(&service).unwrap();
    let first = compiled.evaluate(&answers(0), &ctx);
    assert!(
        first.is_valid(),
        "the benchmark submission is valid: {:?}",
        first.errors.first()
    );
    println!("fields evaluated per submission: {}", first.fields.len());

    c.bench_function("compile_300_fields", |b| {
        b.iter(|| CompiledService::new(&service).unwrap())
    });
    let one = answers(1);
    c.bench_function("evaluate_300_fields_65_rules", |b| {
        b.iter(|| compiled.evaluate(&one, &ctx))
    });
    let thousand: Vec<Value> = (0..1000).map(answers).collect();
    let mut group = c.benchmark_group("batch");
    group.sample_size(10);
    group.bench_function("evaluate_1000_submissions", |b| {
        b.iter(|| {
            thousand
                .iter()
                .map(|a| compiled.evaluate(a, &ctx).errors.len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);

/// A fixed amount of work to count instructions under `valgrind --tool=callgrind`, which this
/// shared machine's noisy timings cannot replace (`tests/bench/instructions.sh` runs it):
///
/// - `EVALUATE_ONLY=n`: evaluates the 1,000 submissions `n` times, from parsed JSON values;
/// - with `FROM_BYTES=1` as well: from their JSON bytes, parsed on each evaluation (what a
///   request costs from body to verdict);
/// - `COMPILE_ONLY=n`: compiles the service `n` times.
///
/// Run each with `n=0` too and subtract the setup.
fn main() {
    let ctx = Context {
        today: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
    };
    if let Ok(rounds) = std::env::var("COMPILE_ONLY") {
        let rounds: usize = rounds.parse().expect("COMPILE_ONLY is a number of rounds");
        let (service, _) = load_service("forms/gross.yaml", &service_yaml());
        let service = service.unwrap();
        let compiled: Vec<CompiledService> = (0..rounds).map(|_| CompiledService::new(&service).unwrap()).collect();
        println!("{} compilations", compiled.len());
        return;
    }
    if let Ok(rounds) = std::env::var("EVALUATE_ONLY") {
        let rounds: usize = rounds.parse().expect("EVALUATE_ONLY is a number of rounds");
        let (service, _) = load_service("forms/gross.yaml", &service_yaml());
        let compiled = CompiledService::new(&service.unwrap()).unwrap();
        let thousand: Vec<Value> = (0..1000).map(answers).collect();
        let mut errors = 0;
        if std::env::var("FROM_BYTES").is_ok_and(|v| v == "1") {
            let bodies: Vec<Vec<u8>> = thousand.iter().map(|a| serde_json::to_vec(a).unwrap()).collect();
            for _ in 0..rounds {
                errors += bodies
                    .iter()
                    .map(|body| {
                        let answers: Value = serde_json::from_slice(body).expect("the body is JSON");
                        compiled.evaluate(&answers, &ctx).errors.len()
                    })
                    .sum::<usize>();
            }
        } else {
            for _ in 0..rounds {
                errors += thousand
                    .iter()
                    .map(|a| compiled.evaluate(a, &ctx).errors.len())
                    .sum::<usize>();
            }
        }
        println!("{} evaluations, {errors} errors", rounds * 1000);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
