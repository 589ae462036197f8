//! The server's rooms: the citizen's pages (`src/citizen/`), the JSON API (`src/api/`) and the
//! shared pieces beside them import each other in one direction only. A circle between two
//! modules (as once between `api.rs` and `uploads.rs`) makes both hard to change alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `api` for `src/api/answers.rs`, `uploads` for
/// `src/uploads.rs`; `None` for the crate root, which only assembles the modules.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?.to_string();
    match first.as_str() {
        "lib.rs" => None,
        name => Some(name.trim_end_matches(".rs").to_string()),
    }
}

/// The top-level modules a file's code names with `crate::…`, also inside `use crate::{a, b}`.
fn uses(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The top-level parts of the group: `{a::{b, c}, d}` names `a` and `d`.
            let (mut depth, mut part, mut parts) = (0usize, String::new(), Vec::new());
            for c in group.chars() {
                match c {
                    '}' if depth == 0 => break,
                    ',' if depth == 0 => parts.push(std::mem::take(&mut part)),
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                part.push(c);
            }
            parts.push(part);
            for part in parts {
                let name: String = part
                    .trim_start_matches([',', ' ', '\n'])
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.insert(name);
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            out.insert(name);
        }
    }
    out
}

#[test]
fn the_server_modules_import_each_other_in_one_direction() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(&src, f)).collect();
    for room in ["citizen", "api", "backoffice"] {
        assert!(modules.contains(room), "src/{room}/ exists");
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(&src, file) else { continue };
        let text = std::fs::read_to_string(file).expect("read source");
        let edges = graph.entry(module.clone()).or_default();
        for used in uses(&text) {
            if used != module && modules.contains(&used) {
                edges.insert(used);
            }
        }
    }

    // Depth-first search for a circle; report it as a path.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut circle = stack[at..].to_vec();
            circle.push(node.to_string());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, stack, done) {
                return Some(circle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(circle) = visit(module, &graph, &mut Vec::new(), &mut done) {
            panic!("the modules import each other in a circle: {}", circle.join(" → "));
        }
    }
    // The rooms stand beside each other: neither the pages nor the API reach into the other.
    let rooms = ["citizen", "api", "backoffice"];
    for room in rooms {
        let uses = &graph[room];
        for other in rooms.iter().filter(|r| **r != room) {
            assert!(!uses.contains(*other), "{room} uses {other}: {uses:?}");
        }
    }
}

#[test]
fn the_import_reader_sees_grouped_and_plain_paths() {
    let text = "use crate::{AppState, error::{ApiError, ErrorBody}, uploads};\nlet x = crate::api::offer(&s);";
    let found = uses(text);
    for name in ["AppState", "error", "uploads", "api"] {
        assert!(found.contains(name), "{name} in {found:?}");
    }
}
