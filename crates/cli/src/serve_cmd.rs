//! `baukasten serve`: settings from defaults, a config file, the environment and flags, then
//! the server. A catalog with errors is refused with its diagnostics, as `check` prints them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use baukasten_dsl::Lang;
use baukasten_server::{Config, StartError};

/// The flags of `serve`; each also reads an environment variable.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// A YAML config file (keys as in the flags: forms, data, addr, watch, max_body, …).
    #[arg(long, env = "BAUKASTEN_CONFIG")]
    config: Option<PathBuf>,
    /// The catalog folder. Default: ./forms
    #[arg(long, env = "BAUKASTEN_FORMS")]
    forms: Option<PathBuf>,
    /// Where the store keeps its data. Default: ./data
    #[arg(long, env = "BAUKASTEN_DATA")]
    data: Option<PathBuf>,
    /// The store instead of the embedded one in the data folder: a PostgreSQL address,
    /// `postgres://user@host:port/database`, shared by several instances (needs `secret_env`).
    #[arg(long, env = "BAUKASTEN_STORE")]
    store: Option<String>,
    /// Address to listen on. Default: 127.0.0.1:8080
    #[arg(long, env = "BAUKASTEN_ADDR")]
    addr: Option<std::net::SocketAddr>,
    /// Reload changed service files while running (live preview); drafts are kept.
    #[arg(long, env = "BAUKASTEN_WATCH")]
    watch: bool,
    /// Number of HTTP worker threads (default: one per core).
    #[arg(long, env = "BAUKASTEN_WORKERS")]
    workers: Option<usize>,
}

pub fn run(args: ServeArgs, lang: Lang) -> ExitCode {
    // Logs go to standard error; RUST_LOG changes the level (e.g. RUST_LOG=debug shows every
    // request by route, status and time, never with personal data).
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let mut config = match &args.config {
        Some(path) => match Config::from_file(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("baukasten: {e}");
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    // With a config file the server is set up for real: a webhook a service delivers to must be
    // configured. Without one (a first look at the catalog) such deliveries wait, with a warning.
    config.require_delivery_targets = args.config.is_some();
    if let Some(forms) = args.forms {
        config.forms = forms;
    }
    if let Some(data) = args.data {
        config.data = data;
    }
    if let Some(store) = args.store {
        config.store = Some(store);
    }
    if let Some(addr) = args.addr {
        config.addr = addr;
    }
    if let Some(workers) = args.workers {
        config.workers = workers;
    }
    config.watch |= args.watch;

    let forms = config.forms.clone();
    let loader = Arc::new(move || crate::files::read_catalog(&forms));
    let prepared = match baukasten_server::prepare(config, loader) {
        Ok(p) => p,
        Err(StartError::Catalog(refused)) => {
            if let Some(loaded) = &refused.loaded {
                crate::print_diagnostics(loaded, lang);
            }
            eprintln!("baukasten: the server does not start: {}.", refused.message);
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("baukasten: {e}");
            return ExitCode::from(2);
        }
    };
    let running = match prepared.bind() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("baukasten: cannot listen: {e}");
            return ExitCode::from(2);
        }
    };
    let offers = running.state().registry.current().offers.len();
    // Scripts and tests wait for this line; it names the address actually bound.
    println!("Baukasten läuft auf http://{}/ ({offers} Dienste)", running.addr);
    let result = actix_web::rt::System::new().block_on(running.run());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("baukasten: {e}");
            ExitCode::from(2)
        }
    }
}
