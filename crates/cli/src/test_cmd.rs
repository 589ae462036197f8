//! `baukasten test`: runs the `tests:` blocks of every service through the engine and prints
//! each failure with the file and line of its test, expected against actual.

use std::process::ExitCode;

use baukasten_dsl::{Lang, Loaded, Sources, Span};
use baukasten_engine::CompiledService;
use baukasten_engine::testing::run_tests;

fn place(sources: &Sources, span: Span) -> String {
    let path = sources.get(span.file).map(|f| f.path.to_string()).unwrap_or_default();
    format!("{path}:{}", span.line)
}

fn sources_path(sources: &Sources, span: Span) -> String {
    sources.get(span.file).map(|f| f.path.to_string()).unwrap_or_default()
}

pub fn run(loaded: &Loaded, lang: Lang) -> ExitCode {
    let de = lang == Lang::De;
    if loaded.has_errors() {
        for d in loaded.diagnostics.iter().filter(|d| d.is_error()) {
            print!("{}", d.render(&loaded.sources, lang));
        }
        println!(
            "{}",
            if de {
                "Der Katalog hat Fehler; die Tests laufen erst, wenn `baukasten check` keine Fehler meldet."
            } else {
                "the catalog has errors; tests run once `baukasten check` reports none"
            }
        );
        return ExitCode::from(1);
    }
    let today = baukasten_engine::Context::at(chrono::Utc::now(), baukasten_engine::DEFAULT_TIME_ZONE).today;
    let (mut passed, mut failed) = (0usize, 0usize);
    for service in &loaded.catalog.services {
        let name = match &service.tenant {
            Some(t) => format!("{t}/{}", service.id),
            None => service.id.clone(),
        };
        let compiled = match CompiledService::new(service) {
            Ok(c) => c,
            Err(e) => {
                failed += service.tests.len().max(1);
                println!("FAIL {name}: {e}");
                continue;
            }
        };
        for outcome in run_tests(&compiled, today) {
            let problems: Vec<_> = outcome.notable_problems().collect();
            let line = |p: &baukasten_engine::ExpressionProblem| {
                let path = sources_path(&loaded.sources, service.span);
                if de {
                    format!(
                        "     Hinweis: der Ausdruck `{}` ({path}:{}) schlug fehl: {}",
                        p.expression, p.line, p.message
                    )
                } else {
                    format!(
                        "     note: the expression `{}` ({path}:{}) failed: {}",
                        p.expression, p.line, p.message
                    )
                }
            };
            if outcome.passed() {
                passed += 1;
                println!("ok   {name} › {}", outcome.name);
                problems.iter().for_each(|p| println!("{}", line(p)));
                continue;
            }
            failed += 1;
            println!(
                "FAIL {name} › {}  ({})",
                outcome.name,
                place(&loaded.sources, outcome.span)
            );
            for f in &outcome.failures {
                let (exp, act) = if de {
                    ("erwartet", "erhalten")
                } else {
                    ("expected", "actual")
                };
                println!("     {}  ({})", f.what, place(&loaded.sources, f.span));
                println!("       {exp}: {}", f.expected);
                println!("       {act}: {}", f.actual);
            }
            problems.iter().for_each(|p| println!("{}", line(p)));
        }
    }
    if de {
        println!("Ergebnis: {passed} bestanden, {failed} fehlgeschlagen.");
    }
    // The last line is the same in every language, so scripts and CI can read it.
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
