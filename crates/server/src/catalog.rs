//! The published catalog: every service as each municipality offers it, compiled once, and
//! every definition a draft or submission may still be pinned to.
//!
//! A reload (at start, or by `--watch`) builds a new [`Published`] and swaps it in; requests
//! in flight keep the one they started with. Definitions are also kept in the store, so a
//! draft started on version 1 finishes on version 1 after version 2 is published, even
//! across restarts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use baukasten_dsl::model::{Contact, Links, Service, Tenant, Text, Theme};
use baukasten_dsl::{Loaded, SourceFile, load_catalog};
use baukasten_engine::CompiledService;
use baukasten_store::{CatalogSources, DefinitionRecord, SourceText, Store};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

/// One service as one municipality offers it.
pub struct Offer {
    pub tenant: Arc<Tenant>,
    pub compiled: CompiledService,
    /// The JSON Schema of its clean submission, built once.
    pub schema: Json,
}

impl Offer {
    pub fn service(&self) -> &Service {
        self.compiled.service()
    }
}

/// One loaded catalog.
pub struct Published {
    pub tenants: Vec<Arc<Tenant>>,
    /// Offers in catalog order: per municipality, its services by title.
    pub offers: Vec<Arc<Offer>>,
    by_key: HashMap<(String, String), usize>,
    /// Hash of the source files, to see whether a reload changed anything.
    pub sources_hash: String,
}

impl Published {
    pub fn offer(&self, tenant: &str, service: &str) -> Option<&Arc<Offer>> {
        self.by_key
            .get(&(tenant.to_string(), service.to_string()))
            .map(|&i| &self.offers[i])
    }

    pub fn tenant(&self, id: &str) -> Option<&Arc<Tenant>> {
        self.tenants.iter().find(|t| t.id == id)
    }

    pub fn offers_of<'a>(&'a self, tenant: &'a str) -> impl Iterator<Item = &'a Arc<Offer>> + 'a {
        self.offers.iter().filter(move |o| o.tenant.id == tenant)
    }
}

/// Why a catalog could not be published.
#[derive(Debug)]
pub struct Refused {
    /// The loader's result, with its diagnostics, for the caller to print.
    pub loaded: Option<Box<Loaded>>,
    pub message: String,
}

/// The municipality used when a catalog has none, e.g. when a clerk previews one file.
fn preview_tenant() -> Tenant {
    Tenant {
        id: "vorschau".into(),
        name: Text(
            [
                ("de".to_string(), "Vorschau".to_string()),
                ("en".to_string(), "Preview".to_string()),
            ]
            .into(),
        ),
        contact: Contact::default(),
        links: Links::default(),
        theme: Theme::default(),
        // A preview stores nothing worth a retention period.
        retention: None,
        span: Default::default(),
    }
}

/// Loads and compiles a catalog. A catalog with errors is refused as a whole.
pub fn publish(files: &[SourceFile]) -> Result<Published, Refused> {
    let sources_hash = hash_sources(files);
    let loaded = load_catalog(files.to_vec());
    if loaded.has_errors() {
        return Err(Refused {
            message: "the catalog has errors".into(),
            loaded: Some(Box::new(loaded)),
        });
    }
    let catalog = &loaded.catalog;
    let mut tenants: Vec<Arc<Tenant>> = catalog.tenants.iter().cloned().map(Arc::new).collect();
    if tenants.is_empty() {
        tenants.push(Arc::new(preview_tenant()));
    }
    let mut shared: Vec<&Service> = catalog.services.iter().filter(|s| s.tenant.is_none()).collect();
    shared.sort_by_key(|s| s.title.get("de").to_lowercase());
    let mut offers = Vec::new();
    let mut by_key = HashMap::new();
    let mut compiled_by_hash: HashMap<String, CompiledService> = HashMap::new();
    for tenant in &tenants {
        for base in &shared {
            let service = catalog.service(Some(&tenant.id), &base.id).unwrap_or(base);
            let compiled = match CompiledService::new(service) {
                Ok(c) => c,
                Err(e) => {
                    return Err(Refused {
                        message: format!("{} ({}): {}", service.id, tenant.id, e.message),
                        loaded: None,
                    });
                }
            };
            // Municipalities without an overlay share one compiled service.
            let compiled = compiled_by_hash
                .entry(compiled.definition_hash().to_string())
                .or_insert(compiled)
                .clone();
            let schema = baukasten_engine::request_schema(compiled.service());
            by_key.insert((tenant.id.clone(), service.id.clone()), offers.len());
            offers.push(Arc::new(Offer {
                tenant: tenant.clone(),
                compiled,
                schema,
            }));
        }
    }
    Ok(Published {
        tenants,
        offers,
        by_key,
        sources_hash,
    })
}

fn hash_sources(files: &[SourceFile]) -> String {
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.path.as_bytes());
        hasher.update([0]);
        hasher.update(file.text.as_bytes());
        hasher.update([0]);
    }
    hex(&hasher.finalize())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The current catalog and every definition that drafts may be pinned to.
pub struct Registry {
    current: RwLock<Arc<Published>>,
    pinned: Mutex<HashMap<String, CompiledService>>,
    store: Arc<dyn Store>,
}

impl Registry {
    /// Publishes the first catalog and records its definitions in the store.
    pub fn new(files: &[SourceFile], store: Arc<dyn Store>) -> Result<Registry, Refused> {
        let published = publish(files)?;
        let registry = Registry {
            current: RwLock::new(Arc::new(published)),
            pinned: Mutex::new(HashMap::new()),
            store,
        };
        registry.remember(files);
        Ok(registry)
    }

    pub fn current(&self) -> Arc<Published> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Publishes a changed catalog. Returns `Ok(false)` when nothing changed. On errors the
    /// old catalog stays published.
    pub fn reload(&self, files: &[SourceFile]) -> Result<bool, Refused> {
        if hash_sources(files) == self.current().sources_hash {
            return Ok(false);
        }
        let published = publish(files)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(published);
        self.remember(files);
        Ok(true)
    }

    /// Keeps every compiled definition of the current catalog for pinned drafts, in memory and
    /// in the store (the sources once, each definition pointing at them).
    fn remember(&self, files: &[SourceFile]) {
        let current = self.current();
        let sources = CatalogSources {
            files: files
                .iter()
                .map(|f| SourceText {
                    path: f.path.to_string(),
                    text: f.text.to_string(),
                })
                .collect(),
        };
        let catalog_key = format!("catalog:{}", current.sources_hash);
        if let Err(e) = self.store.put_catalog(&catalog_key, &sources) {
            log::error!("could not store the catalog's sources: {e}");
        }
        let mut pinned = self.pinned.lock().unwrap_or_else(|e| e.into_inner());
        for offer in &current.offers {
            let hash = offer.compiled.definition_hash().to_string();
            if let std::collections::hash_map::Entry::Vacant(slot) = pinned.entry(hash) {
                let record = DefinitionRecord {
                    catalog: catalog_key.clone(),
                    tenant: offer.tenant.id.clone(),
                    service: offer.service().id.clone(),
                    version: Some(offer.service().version.clone()),
                };
                if let Err(e) = self.store.put_definition(slot.key(), &record) {
                    log::error!("could not store a definition: {e}");
                }
                slot.insert(offer.compiled.clone());
            }
        }
    }

    /// The compiled service with this definition hash: published now, published earlier in
    /// this process, or compiled again from the sources the store kept under that hash.
    ///
    /// The hash is only a name here. A definition from the store is compiled from its sources
    /// and keeps the hash it was published with, whatever this release would compute for the
    /// same sources (a key added to the model changes that), so an upgrade never strands a
    /// draft or a submission.
    pub fn pinned(&self, hash: &str) -> Option<CompiledService> {
        if let Some(c) = self.pinned.lock().unwrap_or_else(|e| e.into_inner()).get(hash) {
            return Some(c.clone());
        }
        let found = self.store.definition(hash).and_then(|record| match record {
            Some(record) => Ok(self.store.catalog(&record.catalog)?.map(|sources| (record, sources))),
            None => Ok(None),
        });
        let (record, sources) = match found {
            Ok(Some(found)) => found,
            Ok(None) => return None,
            Err(e) => {
                log::error!("could not read the definition {hash}: {e}");
                return None;
            }
        };
        let files: Vec<SourceFile> = sources
            .files
            .into_iter()
            .map(|f| SourceFile::new(f.path, f.text))
            .collect();
        let compiled = compile_stored(&files, &record)?.known_as(hash);
        self.pinned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(hash.to_string(), compiled.clone());
        Some(compiled)
    }
}

/// Compiles one service of a stored catalog as its municipality offered it. What a later
/// release's checker finds in the old sources does not stop it: citizens filled in that
/// version, and it is compiled as far as the engine can.
fn compile_stored(files: &[SourceFile], record: &DefinitionRecord) -> Option<CompiledService> {
    let loaded = load_catalog(files.to_vec());
    if loaded.has_errors() {
        log::warn!(
            "the stored sources of {} ({}) have errors under this release's checker",
            record.service,
            record.tenant
        );
    }
    let service = loaded.catalog.service(Some(&record.tenant), &record.service)?;
    match CompiledService::new(service) {
        Ok(compiled) => Some(compiled),
        Err(e) => {
            log::error!(
                "the stored {} ({}) does not compile: {e}",
                record.service,
                record.tenant
            );
            None
        }
    }
}
