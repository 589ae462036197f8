//! Reading a catalog folder from disk: the only file-system code of the language's tooling.

use std::io;
use std::path::Path;

use baukasten_dsl::SourceFile;

/// Reads `path` (a file, or a folder searched recursively for `*.yaml` and `*.yml`) into
/// source files, in a stable order so diagnostics come out the same on every machine.
pub fn read_catalog(path: &Path) -> io::Result<Vec<SourceFile>> {
    let mut paths = Vec::new();
    if path.is_dir() {
        collect(path, &mut paths, 0)?;
        paths.sort();
    } else {
        paths.push(path.to_path_buf());
    }
    paths
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p)?;
            // A file that is not UTF-8 is still handed over, so the clerk gets a diagnostic
            // at the broken spot instead of a bare IO error.
            let text = String::from_utf8_lossy(&bytes).into_owned();
            Ok(SourceFile::new(p.to_string_lossy().into_owned(), text))
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>, depth: usize) -> io::Result<()> {
    // Catalogs are at most a few folders deep; a deeper tree is a symlink loop.
    if depth > 8 {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(&path, out, depth + 1)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}
