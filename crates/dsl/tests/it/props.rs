//! Property tests: the loader never panics on mutated catalog files, and a file with a
//! misspelt key always gets at least one error.

use baukasten_dsl::{SourceFile, load_catalog, spec};
use proptest::prelude::*;

use crate::{repo_root, split_input, yaml_files};

/// Valid files to mutate: the forms catalog and the valid test inputs.
fn corpus() -> Vec<Vec<SourceFile>> {
    let mut out = vec![crate::forms_catalog()];
    for path in yaml_files(&repo_root().join("crates/dsl/tests/inputs")) {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if stem.starts_with("ok_") {
            out.push(split_input(&stem, &std::fs::read_to_string(&path).unwrap()));
        }
    }
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Truncate(usize),
    Insert(usize, String),
    Indent(usize, bool),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (
            any::<usize>(),
            prop_oneof![
                Just(": ".to_string()),
                Just("- ".to_string()),
                Just("&a ".to_string()),
                Just("*a".to_string()),
                Just("{{".to_string()),
                Just("'".to_string()),
                Just("\t".to_string()),
                Just(" == ".to_string()),
                "[a-z_.]{1,8}".prop_map(|s| s),
                any::<String>(),
            ]
        )
            .prop_map(|(at, s)| Mutation::Insert(at, s)),
        (any::<usize>(), any::<bool>()).prop_map(|(a, b)| Mutation::Indent(a, b)),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return text.to_string();
    }
    let n = lines.len();
    match m {
        Mutation::DeleteLine(i) => {
            lines.remove(i % n);
        }
        Mutation::DuplicateLine(i) => {
            let line = lines[i % n].clone();
            lines.insert(i % n, line);
        }
        Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
        Mutation::Truncate(at) => {
            let mut cut = at % text.len().max(1);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            return text[..cut].to_string();
        }
        Mutation::Insert(at, s) => {
            let line = &mut lines[at % n];
            let mut pos = (at / n.max(1)) % (line.len() + 1);
            while !line.is_char_boundary(pos) {
                pos -= 1;
            }
            line.insert_str(pos, s);
        }
        Mutation::Indent(i, deeper) => {
            let line = &mut lines[i % n];
            if *deeper {
                line.insert_str(0, "  ");
            } else if line.starts_with("  ") {
                line.replace_range(..2, "");
            }
        }
    }
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn loading_mutated_files_never_panics(
        which in any::<usize>(),
        file in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let corpus = corpus();
        let mut catalog = corpus[which % corpus.len()].clone();
        let index = file % catalog.len();
        let mut text = catalog[index].text.to_string();
        for m in &mutations {
            text = apply(&text, m);
        }
        catalog[index] = SourceFile::new(catalog[index].path.clone(), text);
        let loaded = load_catalog(catalog);
        for d in &loaded.diagnostics {
            // Rendering must not panic either, whatever the span.
            let _ = d.render(&loaded.sources, baukasten_dsl::Lang::De);
        }
    }

    #[test]
    fn a_misspelt_key_is_always_reported(which in any::<usize>(), file in any::<usize>(), occurrence in any::<usize>()) {
        let corpus = corpus();
        let mut catalog = corpus[which % corpus.len()].clone();
        let index = file % catalog.len();
        let text = catalog[index].text.to_string();
        // Every place where a key of the language starts a line (after indentation or `- `).
        let keys: Vec<&str> = spec::ALL.iter().flat_map(|o| o.all_keys().map(|k| k.name)).collect();
        let mut spots = Vec::new();
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let body = line.trim_start_matches(' ');
            let body_start = offset + (line.len() - body.len());
            let (body, body_start) = match body.strip_prefix("- ") {
                Some(rest) => (rest, body_start + 2),
                None => (body, body_start),
            };
            if let Some((key, _)) = body.split_once(':')
                && keys.contains(&key)
                && !body.starts_with('#')
            {
                spots.push(body_start + key.len());
            }
            offset += line.len();
        }
        prop_assume!(!spots.is_empty());
        let at = spots[occurrence % spots.len()];
        let mut broken = text.clone();
        broken.insert_str(at, "_x");
        catalog[index] = SourceFile::new(catalog[index].path.clone(), broken);
        let loaded = load_catalog(catalog);
        prop_assert!(loaded.has_errors(), "no error for a misspelt key at byte {}", at);
    }
}
