//! The `baukasten` command. It parses arguments into a typed command, reads the files the
//! libraries need, calls them, and prints what they return. No logic of the language lives here.

mod files;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use baukasten_dsl::{Lang, Loaded, load_catalog};
use clap::{Parser, Subcommand, ValueEnum};

/// Baukasten: online services for municipalities, described in YAML.
#[derive(Parser)]
#[command(name = "baukasten", version, about)]
struct Cli {
    /// Language of messages: de or en. Default: from LANG.
    #[arg(long, global = true, value_enum)]
    lang: Option<LangArg>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check service files like a compiler: every problem with file:line:col and a likely fix.
    Check {
        /// A service file or a folder of them. Default: ./forms
        path: Option<PathBuf>,
        /// Output format: human (default) or json (one object per line).
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Run the `tests:` of every service: answers in, expected visibility, errors, values and fees out.
    Test {
        /// A service file or a folder of them. Default: ./forms
        path: Option<PathBuf>,
    },
    /// Start the server: the citizen's pages and the JSON API, on the embedded store.
    Serve(serve_cmd::ServeArgs),
    /// Write every page of every service as static HTML files, for previews and accessibility checks.
    Render {
        /// The folder to write the site to (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// A service file or a folder of them. Default: ./forms
        path: Option<PathBuf>,
    },
    /// Print a JSON Schema.
    Schema {
        #[arg(value_enum)]
        which: SchemaKind,
    },
    /// Work on a store: a data folder's, or one in PostgreSQL (with the server stopped).
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// The accounts of the clerks' inbox (`/verwaltung/`), while the server is stopped.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Start a service file from another format.
    Import {
        #[command(subcommand)]
        format: ImportFormat,
    },
    /// Write a service in another format.
    Export {
        #[command(subcommand)]
        format: ExportFormat,
    },
}

#[derive(Subcommand)]
enum ExportFormat {
    /// A Stammdatenschema in XDatenfelder 3 (XML): groups, fields with their FIM ids (new
    /// ones from the local range F/G/R/S 90000001…), `anzahl`, types, limits, option lists,
    /// labels and hints.
    Xdf3 {
        /// The service's id, e.g. `bewohnerparkausweis`.
        service: String,
        /// The municipality whose version to write (its overlay). Default: the shared service.
        #[arg(long)]
        municipality: Option<String>,
        /// The catalog folder. Default: ./forms
        #[arg(long)]
        forms: Option<PathBuf>,
        /// Where to write the XML (not overwritten if it exists). Default: standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ImportFormat {
    /// A FIM Stammdatenschema or Datenfeldgruppe in XDatenfelder 3 (XML): fields, groups,
    /// lengths, patterns, option lists, labels and hints, with their FIM ids.
    Xdf3 {
        /// The XML file.
        file: PathBuf,
        /// Where to write the service file (not overwritten if it exists). Default: standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Put the groups into files of their own in this folder (e.g. `forms/gruppen`), for
        /// the whole catalog to use; groups already there (same FIM id and version) are used.
        /// Needs `--out`. Default: the groups stay in the service file.
        #[arg(long, requires = "out")]
        groups: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Read every record and check its checksum; each damaged one is printed, exit 1 if any.
    Verify {
        /// The data folder. Default: ./data
        #[arg(long, env = "BAUKASTEN_DATA")]
        data: Option<PathBuf>,
    },
    /// Copy every record of one store into another, empty one (with the server stopped), then
    /// check the copy: counts and checksums per kind of record. Exit 1 if the target is not
    /// empty or the copy differs, 2 if a store cannot be opened, read or written.
    Copy {
        /// The store to copy: a data folder (its baukasten.redb) or a postgres:// URL.
        #[arg(long, value_parser = store_cmd::Location::parse)]
        from: store_cmd::Location,
        /// The empty store to copy into: a data folder or a postgres:// URL.
        #[arg(long, value_parser = store_cmd::Location::parse)]
        to: store_cmd::Location,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Adds an account, or sets a new password for it; the password is read from standard
    /// input (one line, at least 12 characters).
    Add {
        /// The data folder. Default: ./data
        #[arg(long, env = "BAUKASTEN_DATA")]
        data: Option<PathBuf>,
        /// The database the instances share (postgres://…), instead of the data folder.
        #[arg(long, env = "BAUKASTEN_STORE")]
        store: Option<String>,
        /// The municipality the account belongs to, e.g. `musterstadt`.
        #[arg(long)]
        municipality: String,
        /// The user name.
        name: String,
    },
    /// Lists a municipality's accounts.
    List {
        #[arg(long, env = "BAUKASTEN_DATA")]
        data: Option<PathBuf>,
        /// The database the instances share (postgres://…), instead of the data folder.
        #[arg(long, env = "BAUKASTEN_STORE")]
        store: Option<String>,
        #[arg(long)]
        municipality: String,
    },
    /// Removes an account and ends its sessions.
    Remove {
        #[arg(long, env = "BAUKASTEN_DATA")]
        data: Option<PathBuf>,
        /// The database the instances share (postgres://…), instead of the data folder.
        #[arg(long, env = "BAUKASTEN_STORE")]
        store: Option<String>,
        #[arg(long)]
        municipality: String,
        name: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    De,
    En,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaKind {
    /// The service language, for editors (completion and hover help).
    Dsl,
}

mod render_cmd;
mod serve_cmd;
mod store_cmd;
mod test_cmd;
mod user_cmd;
mod xdf_cmd;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let lang = match cli.lang {
        Some(LangArg::De) => Lang::De,
        Some(LangArg::En) => Lang::En,
        None => lang_from_env(),
    };
    match cli.command {
        Command::Check { path, format } => check(path, format, lang),
        Command::Test { path } => match load(path, lang) {
            Ok(loaded) => test_cmd::run(&loaded, lang),
            Err(code) => code,
        },
        Command::Serve(args) => serve_cmd::run(args, lang),
        Command::Render { out, path } => match load(path, lang) {
            Ok(loaded) => render_cmd::run(&loaded, &out, lang),
            Err(code) => code,
        },
        Command::Store { command } => match command {
            StoreCommand::Verify { data } => store_cmd::verify(&data.unwrap_or_else(|| PathBuf::from("data")), lang),
            StoreCommand::Copy { from, to } => store_cmd::copy(&from, &to, lang),
        },
        Command::User { command } => {
            let place = |data: Option<PathBuf>, store: Option<String>| user_cmd::Place {
                data: data.unwrap_or_else(|| PathBuf::from("data")),
                store,
            };
            match command {
                UserCommand::Add {
                    data,
                    store,
                    municipality,
                    name,
                } => user_cmd::add(&place(data, store), &municipality, &name, lang),
                UserCommand::List {
                    data,
                    store,
                    municipality,
                } => user_cmd::list(&place(data, store), &municipality, lang),
                UserCommand::Remove {
                    data,
                    store,
                    municipality,
                    name,
                } => user_cmd::remove(&place(data, store), &municipality, &name, lang),
            }
        }
        Command::Import {
            format: ImportFormat::Xdf3 { file, out, groups },
        } => xdf_cmd::import(&file, out.as_deref(), groups.as_deref(), lang),
        Command::Export {
            format:
                ExportFormat::Xdf3 {
                    service,
                    municipality,
                    forms,
                    out,
                },
        } => match load(forms, lang) {
            Ok(loaded) => xdf_cmd::export(&loaded, &service, municipality.as_deref(), out.as_deref(), lang),
            Err(code) => code,
        },
        Command::Schema { which: SchemaKind::Dsl } => {
            let schema = baukasten_dsl::spec::json_schema();
            print_or_fail(&format!(
                "{}\n",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            ))
        }
    }
}

/// The language of messages from the environment, as POSIX orders it.
fn lang_from_env() -> Lang {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.is_empty())
        .map_or(Lang::De, |v| Lang::from_locale(&v))
}

fn print_or_fail(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(2),
    }
}

/// Loads every service file under `path`; an IO problem is exit status 2.
fn load(path: Option<PathBuf>, lang: Lang) -> Result<Loaded, ExitCode> {
    let path = path.unwrap_or_else(|| PathBuf::from("forms"));
    match files::read_catalog(&path) {
        Ok(sources) => Ok(load_catalog(sources)),
        Err(error) => {
            let message = match lang {
                Lang::De => format!("Fehler: {} kann nicht gelesen werden: {}", path.display(), error),
                Lang::En => format!("error: cannot read {}: {}", path.display(), error),
            };
            eprintln!("{message}");
            Err(ExitCode::from(2))
        }
    }
}

fn check(path: Option<PathBuf>, format: Format, lang: Lang) -> ExitCode {
    let loaded = match load(path, lang) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let mut out = String::new();
    for diagnostic in &loaded.diagnostics {
        match format {
            Format::Human => out.push_str(&diagnostic.render(&loaded.sources, lang)),
            Format::Json => {
                out.push_str(&diagnostic.to_json(&loaded.sources, lang).to_string());
                out.push('\n');
            }
        }
    }
    let summary = summary(&loaded, lang);
    if format == Format::Human {
        out.push_str(&summary);
        out.push('\n');
    } else {
        eprintln!("{summary}");
    }
    if print_or_fail(&out) != ExitCode::SUCCESS {
        return ExitCode::from(2);
    }
    if loaded.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints every diagnostic and the summary line to standard error.
fn print_diagnostics(loaded: &Loaded, lang: Lang) {
    for diagnostic in &loaded.diagnostics {
        eprint!("{}", diagnostic.render(&loaded.sources, lang));
    }
    eprintln!("{}", summary(loaded, lang));
}

fn summary(loaded: &Loaded, lang: Lang) -> String {
    let (errors, warnings) = (loaded.error_count(), loaded.warning_count());
    let files = loaded.sources.len();
    let services = loaded.catalog.services.len();
    match lang {
        Lang::De => format!(
            "{files} {} geprüft ({services} {}): {errors} Fehler, {warnings} {}.",
            if files == 1 { "Datei" } else { "Dateien" },
            if services == 1 { "Dienst" } else { "Dienste" },
            if warnings == 1 { "Warnung" } else { "Warnungen" },
        ),
        Lang::En => format!(
            "checked {files} {} ({services} {}): {errors} {}, {warnings} {}",
            if files == 1 { "file" } else { "files" },
            if services == 1 { "service" } else { "services" },
            if errors == 1 { "error" } else { "errors" },
            if warnings == 1 { "warning" } else { "warnings" },
        ),
    }
}
