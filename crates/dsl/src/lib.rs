//! The Baukasten service language.
//!
//! A clerk describes an online service in one YAML file; this crate reads such files into a
//! typed [`model`] and checks them the way a compiler checks code, returning every problem as
//! a [`Diagnostic`] with file, line, column and a likely fix.
//!
//! The crate does no IO: the caller reads the files and hands over their text as
//! [`SourceFile`]s. Loading never panics and never fails as a whole; it returns the best model
//! it can build and the list of diagnostics.
//!
//! ```
//! use baukasten_dsl::{SourceFile, load_catalog};
//!
//! let text = "service: hallo\nversion: 1.0.0\ntitle: Hallo\nsteps:\n  - id: eins\n    title: Eins\n    fields:\n      - { id: name, type: text, label: Name, requird: true }\n";
//! let loaded = load_catalog(vec![SourceFile::new("forms/hallo.yaml", text)]);
//! assert!(loaded.has_errors());
//! assert_eq!(loaded.diagnostics[0].code.as_str(), "unknown-key");
//! ```

mod check;
pub mod diag;
pub mod model;
mod overlay;
mod read;
pub mod search;
pub mod source;
pub mod spec;
pub mod yaml;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

pub use check::{FUNCTIONS, expression_env, expression_names};
pub use diag::{Code, Diagnostic, Lang, Msg, Severity};
pub use model::{Catalog, Service, Tenant};
pub use source::{FileId, SourceFile, Sources, Span};

use diag::{Diagnostics, suggest_or_list};
use read::{CatalogGroups, Reader};
use yaml::Node;

/// The result of loading a catalog: the model, the sources (for rendering diagnostics) and the
/// diagnostics, sorted by file and position.
#[derive(Debug)]
pub struct Loaded {
    pub catalog: Catalog,
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }
}

enum Document {
    Service(Node),
    Overlay(Node),
    Tenant(Node),
    Group(Node),
}

/// Loads a catalog: shared services, municipalities (`<folder>/tenant.yaml`) and their
/// overlays (`<folder>/<service>.yaml` with `extends:`), and the field groups every service
/// can use (`group:` files, e.g. `forms/gruppen/anschrift.yaml`), all given as text.
pub fn load_catalog(files: Vec<SourceFile>) -> Loaded {
    let mut sources = Sources::new();
    let mut diags = Diagnostics::default();
    let env = expression_env();

    let mut documents: Vec<(FileId, Document)> = Vec::new();
    // Shared services whose file has errors that keep it from being read: overlays of them
    // say so instead of "there is no such service". Known by the file's name and, where it
    // can be seen, by its `service:` line.
    let mut unreadable_bases: HashSet<String> = HashSet::new();
    // Likewise group files, known by their `group:` line: a `use:` of one says so.
    let mut unreadable_groups: BTreeMap<String, String> = BTreeMap::new();
    for file in files {
        let is_tenant = Path::new(file.path.as_ref())
            .file_name()
            .is_some_and(|n| n == "tenant.yaml");
        let text = file.text.clone();
        let path = file.path.to_string();
        let id = sources.add(file);
        let node = match yaml::parse(&text, id) {
            Ok(node) => node,
            Err(diag) => {
                diags.push(diag);
                if !is_tenant {
                    unreadable_bases.extend(Path::new(&path).file_stem().map(|s| s.to_string_lossy().into_owned()));
                    unreadable_bases.extend(
                        text.lines()
                            .find_map(|l| l.strip_prefix("service:"))
                            .map(|n| n.trim().trim_matches(['"', '\'']).to_string()),
                    );
                    if let Some(name) = text.lines().find_map(|l| l.strip_prefix("group:")) {
                        let name = name.trim().trim_matches(['"', '\'']).to_string();
                        unreadable_groups.insert(name, path.clone());
                    }
                }
                continue;
            }
        };
        let doc = if is_tenant || node.get("tenant").is_some() {
            Document::Tenant(node)
        } else if node.get("service").is_some() {
            Document::Service(node)
        } else if node.get("extends").is_some() {
            Document::Overlay(node)
        } else if node.get("group").is_some() {
            Document::Group(node)
        } else {
            diags.error_help(
                Code::UnknownDocument,
                node.span,
                Msg::new(
                    "Die Datei ist weder ein Dienst (`service:`) noch ein Overlay (`extends:`) noch eine Feldgruppe (`group:`) noch eine Kommune (tenant.yaml).",
                    "the file is neither a service (`service:`), nor an overlay (`extends:`), nor a field group (`group:`), nor a municipality (tenant.yaml)",
                ),
                Msg::new(
                    "Ein Dienst beginnt mit `service: <name>`, ein Overlay mit `extends: <dienst>`, eine Feldgruppe mit `group: <name>`.",
                    "a service starts with `service: <name>`, an overlay with `extends: <service>`, a field group with `group: <name>`",
                ),
            );
            continue;
        };
        documents.push((id, doc));
    }

    let folder_of = |id: FileId, sources: &Sources| -> String {
        let path = sources.get(id).map(|f| f.path.to_string()).unwrap_or_default();
        Path::new(&path)
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    };

    /// The first path segments the server uses itself: a municipality of that name could not
    /// be reached.
    const RESERVED_TENANT_IDS: [&str; 6] = ["api", "assets", "verwaltung", "healthz", "readyz", "metrics"];
    let mut catalog = Catalog::default();
    // Municipalities by folder.
    let mut tenant_of_folder: HashMap<String, String> = HashMap::new();
    for (id, doc) in &documents {
        if let Document::Tenant(node) = doc
            && let Some(tenant) = Reader::new(&mut diags).tenant(node)
        {
            tenant_of_folder.insert(folder_of(*id, &sources), tenant.id.clone());
            if RESERVED_TENANT_IDS.contains(&tenant.id.as_str()) {
                diags.error_help(
                    Code::InvalidValue,
                    tenant.span,
                    Msg::new(
                        format!(
                            "`{}` kann keine Kommune heißen: Die Adresse `/{}/` gehört dem Server.",
                            tenant.id, tenant.id
                        ),
                        format!(
                            "a municipality cannot be called `{}`: the server uses the address `/{}/`",
                            tenant.id, tenant.id
                        ),
                    ),
                    Msg::new(
                        format!("Wählen Sie einen anderen Namen, z. B. `stadt-{}`.", tenant.id),
                        format!("choose another id, e.g. `stadt-{}`", tenant.id),
                    ),
                );
            }
            if catalog.tenants.iter().any(|t| t.id == tenant.id) {
                diags.error(
                    Code::DuplicateId,
                    tenant.span,
                    Msg::new(
                        format!("Die Kommune `{}` gibt es schon.", tenant.id),
                        format!("the municipality `{}` is already defined", tenant.id),
                    ),
                );
            } else {
                catalog.tenants.push(tenant);
            }
        }
    }

    // The catalog's field groups, by name; read on their own here, and again (expanded) in
    // every service that uses one. Identical diagnostics from the two readings are one.
    let mut catalog_groups = CatalogGroups {
        unreadable: unreadable_groups,
        ..CatalogGroups::default()
    };
    let mut group_files: HashMap<String, FileId> = HashMap::new();
    for (id, doc) in &documents {
        let Document::Group(node) = doc else { continue };
        let Some(name_node) = node.get("group") else { continue };
        let Some(name) = Reader::new(&mut diags).id(name_node) else {
            continue;
        };
        if let Some(first) = group_files.get(&name) {
            let path = sources.get(*first).map(|f| f.path.to_string()).unwrap_or_default();
            diags.error_help(
                Code::DuplicateId,
                name_node.span,
                Msg::new(
                    format!("Die Feldgruppe `{name}` gibt es im Katalog schon, in {path}."),
                    format!("the field group `{name}` is already defined in the catalog, in {path}"),
                ),
                Msg::new(
                    "Jede Feldgruppe hat einen eigenen Namen im Katalog; führen Sie die beiden zusammen oder benennen Sie eine um.",
                    "each field group has its own name in the catalog; merge the two or rename one",
                ),
            );
            continue;
        }
        group_files.insert(name.clone(), *id);
        catalog_groups.nodes.insert(name, node);
    }
    catalog.groups = Reader::new(&mut diags).catalog_groups(&catalog_groups);

    // Shared services.
    let mut bases: BTreeMap<String, &Node> = BTreeMap::new();
    for (_, doc) in &documents {
        let Document::Service(node) = doc else { continue };
        let mut reader = Reader::new(&mut diags);
        let Some(service) = reader.service(node, None, &catalog_groups) else {
            unreadable_bases.extend(node.get("service").and_then(Node::scalar_text));
            continue;
        };
        let unreadable = std::mem::take(&mut reader.unreadable);
        check::check_service(&service, &unreadable, &env, &sources, &mut diags);
        if bases.contains_key(&service.id) {
            diags.error_help(
                Code::DuplicateId,
                service.span,
                Msg::new(
                    format!("Den Dienst `{}` gibt es schon.", service.id),
                    format!("the service `{}` is already defined", service.id),
                ),
                Msg::new(
                    "Jeder Dienst hat einen eigenen Namen im Katalog.",
                    "each service has its own name in the catalog",
                ),
            );
            continue;
        }
        bases.insert(service.id.clone(), node);
        catalog.services.push(service);
    }

    // Overlays, merged into their base and then read and checked as services.
    for (id, doc) in &documents {
        let Document::Overlay(node) = doc else { continue };
        let extends = node.get("extends");
        let Some(tenant) = tenant_of_folder.get(&folder_of(*id, &sources)).cloned() else {
            diags.error_help(
                Code::UnknownDocument,
                node.span,
                Msg::new(
                    "Ein Overlay gehört in den Ordner einer Kommune, neben deren tenant.yaml.",
                    "an overlay belongs in a municipality's folder, next to its tenant.yaml",
                ),
                Msg::new(
                    "Legen Sie die Datei z. B. unter forms/musterstadt/ ab und dort eine tenant.yaml an.",
                    "put the file in e.g. forms/musterstadt/, with a tenant.yaml there",
                ),
            );
            continue;
        };
        let Some(base_name) = extends.and_then(Node::scalar_text) else {
            Reader::new(&mut diags).entries(node, &spec::OVERLAY, false);
            continue;
        };
        if !bases.contains_key(&base_name) && unreadable_bases.contains(&base_name) {
            diags.error_help(
                Code::OverlayBaseErrors,
                extends.map_or(node.span, |n| n.span),
                Msg::new(
                    format!("Der gemeinsame Dienst `{base_name}` hat Fehler, die ihn unlesbar machen; dieses Overlay kann erst danach geprüft werden."),
                    format!("the shared service `{base_name}` has errors that keep it from being read; this overlay can be checked only after they are fixed"),
                ),
                Msg::new(
                    format!("Beheben Sie zuerst die Fehler in der Datei des Dienstes `{base_name}` (oben gemeldet)."),
                    format!("fix the errors in the file of the service `{base_name}` first (reported above)"),
                ),
            );
            continue;
        }
        let Some(base) = bases.get(&base_name) else {
            let names: Vec<&str> = bases.keys().map(String::as_str).collect();
            let help = suggest_or_list(
                &base_name,
                &names,
                "Gemeinsame Dienste im Katalog",
                "shared services in the catalog",
            );
            diags.error_help(
                Code::OverlayUnknownBase,
                extends.map_or(node.span, |n| n.span),
                Msg::new(
                    format!("Es gibt keinen gemeinsamen Dienst `{base_name}`, den dieses Overlay erweitern könnte."),
                    format!("there is no shared service `{base_name}` for this overlay to extend"),
                ),
                help,
            );
            continue;
        };
        let mut reader = Reader::new(&mut diags);
        let Some(merged) = overlay::merge(base, node, &mut reader, &catalog_groups) else {
            continue;
        };
        let Some(service) = reader.service(&merged, Some(tenant.clone()), &catalog_groups) else {
            continue;
        };
        let unreadable = std::mem::take(&mut reader.unreadable);
        check::check_service(&service, &unreadable, &env, &sources, &mut diags);
        if catalog
            .services
            .iter()
            .any(|s| s.id == service.id && s.tenant.as_deref() == Some(tenant.as_str()))
        {
            diags.error(
                Code::DuplicateId,
                extends.map_or(node.span, |n| n.span),
                Msg::new(
                    format!(
                        "Die Kommune `{tenant}` passt den Dienst `{}` schon in einer anderen Datei an.",
                        service.id
                    ),
                    format!(
                        "the municipality `{tenant}` already adapts the service `{}` in another file",
                        service.id
                    ),
                ),
            );
            continue;
        }
        catalog.services.push(service);
    }

    Loaded {
        catalog,
        sources,
        diagnostics: diags.into_sorted(),
    }
}

/// Loads a single service file. Convenience for integrators and tests.
pub fn load_service(path: &str, text: &str) -> (Option<Service>, Loaded) {
    let loaded = load_catalog(vec![SourceFile::new(path, text)]);
    let service = loaded.catalog.services.first().cloned();
    (service, loaded)
}
