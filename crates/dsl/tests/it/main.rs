//! Integration tests of the service language: data-driven inputs with snapshots, the JSON
//! Schema for editors, and property tests that feed broken files to the loader.

mod groups;
mod inputs;
mod props;
mod retention;
mod schema;

use std::path::{Path, PathBuf};

use baukasten_dsl::SourceFile;

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Splits a test input into its source files. A line `# --- file: <path>` starts a new file;
/// what comes before the first such line is `forms/<stem>.yaml`.
pub fn split_input(stem: &str, text: &str) -> Vec<SourceFile> {
    let mut files = Vec::new();
    let mut path = format!("forms/{stem}.yaml");
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(next) = line.trim_end().strip_prefix("# --- file: ") {
            if !current.trim().is_empty() {
                files.push(SourceFile::new(path.clone(), std::mem::take(&mut current)));
            }
            current.clear();
            path = next.trim().to_string();
        } else {
            current.push_str(line);
        }
    }
    if !current.trim().is_empty() || files.is_empty() {
        files.push(SourceFile::new(path, current));
    }
    files
}

/// Every `*.yaml` file under `dir`, recursively, sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The catalog in `forms/`, as source files with repository-relative paths.
pub fn forms_catalog() -> Vec<SourceFile> {
    let root = repo_root();
    yaml_files(&root.join("forms"))
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("forms are readable");
            let rel = p.strip_prefix(&root).unwrap_or(&p).to_string_lossy().into_owned();
            SourceFile::new(rel, text)
        })
        .collect()
}
