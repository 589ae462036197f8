//! The one integration-test binary of `baukasten-fim`.

mod inputs;
mod props;
mod read;
mod roundtrip;
mod service;
mod write;

use std::path::{Path, PathBuf};

pub fn inputs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inputs")
}

/// The `*.xml` files of `tests/inputs`, sorted.
pub fn inputs() -> Vec<(String, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(inputs_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

pub fn input(stem: &str) -> String {
    std::fs::read_to_string(inputs_dir().join(format!("{stem}.xml"))).unwrap()
}

/// Loads a service text with the checker of the language and returns its errors, rendered.
pub fn check(yaml: &str) -> Vec<String> {
    let loaded = baukasten_dsl::load_catalog(vec![baukasten_dsl::SourceFile::new("forms/import.yaml", yaml)]);
    loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.render(&loaded.sources, baukasten_dsl::Lang::En))
        .collect()
}
