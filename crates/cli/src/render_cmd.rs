//! `baukasten render --out DIR [PATH]`: writes every page of every service as static HTML,
//! for previews and for the browser checks. The pages come from `baukasten_render::static_site`;
//! this module only refuses a catalog with errors and writes the files.

use std::path::Path;
use std::process::ExitCode;

use baukasten_dsl::{Lang, Loaded};

/// Renders the loaded catalog into `out`. Exit status 1 when the catalog has errors (nothing is
/// written), 2 when a file cannot be written.
pub fn run(loaded: &Loaded, out: &Path, lang: Lang) -> ExitCode {
    if loaded.has_errors() {
        for diagnostic in &loaded.diagnostics {
            eprint!("{}", diagnostic.render(&loaded.sources, lang));
        }
        eprintln!(
            "{}",
            match lang {
                Lang::De => "Nichts geschrieben: Der Katalog hat Fehler (siehe oben).",
                Lang::En => "nothing written: the catalog has errors (see above)",
            }
        );
        return ExitCode::from(1);
    }
    let today = baukasten_engine::Context::at(chrono::Utc::now(), baukasten_engine::DEFAULT_TIME_ZONE).today;
    let files = baukasten_render::static_site(&loaded.catalog, today);
    for (relative, bytes) in &files {
        let path = out.join(relative);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, bytes));
        if let Err(error) = written {
            match lang {
                Lang::De => eprintln!("Fehler: {} kann nicht geschrieben werden: {error}", path.display()),
                Lang::En => eprintln!("error: cannot write {}: {error}", path.display()),
            }
            return ExitCode::from(2);
        }
    }
    let pages = files.iter().filter(|(name, _)| name.ends_with(".html")).count();
    match lang {
        Lang::De => println!(
            "{pages} Seiten und {} weitere Dateien nach {} geschrieben.",
            files.len() - pages,
            out.display()
        ),
        Lang::En => println!(
            "wrote {pages} pages and {} other files to {}",
            files.len() - pages,
            out.display()
        ),
    }
    ExitCode::SUCCESS
}
