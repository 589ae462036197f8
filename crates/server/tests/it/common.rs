//! Starting a real server for a test, and small HTTP helpers.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use baukasten_dsl::SourceFile;
use baukasten_dsl::model::{Catalog, Service};
use baukasten_server::{AppState, Config};
use serde_json::Value as Json;
use ureq::Agent;

/// The back-office token of Musterstadt in every test server.
pub const TOKEN_MUSTERSTADT: &str = "token-musterstadt-0123456789";
pub const TOKEN_BEISPIELDORF: &str = "token-beispieldorf-0123456789";
/// The date the catalog's tests are written for.
pub const TODAY: &str = "2026-05-04";

pub struct TestServer {
    pub base: String,
    pub state: actix_web::web::Data<AppState>,
    pub files: Arc<Mutex<Vec<SourceFile>>>,
    handle: actix_web::dev::ServerHandle,
    _data: tempfile::TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let _ = std::thread::spawn(move || actix_web::rt::System::new().block_on(handle.stop(false))).join();
    }
}

pub fn forms_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../forms")
}

/// Every `*.yaml` file under `dir`, sorted, as the CLI reads a catalog.
pub fn read_forms(dir: &Path) -> Vec<SourceFile> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("forms folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(dir, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| SourceFile::new(p.display().to_string(), std::fs::read_to_string(&p).expect("read")))
        .collect()
}

pub fn catalog() -> Catalog {
    baukasten_dsl::load_catalog(read_forms(&forms_dir())).catalog
}

pub fn start() -> TestServer {
    start_with(read_forms(&forms_dir()), |_| {})
}

pub fn start_with(files: Vec<SourceFile>, adjust: impl FnOnce(&mut Config)) -> TestServer {
    start_on(files, adjust, None)
}

/// A test server on a store the test opened (e.g. one whose disk can be made full).
pub fn start_with_store(files: Vec<SourceFile>, store: Arc<dyn baukasten_store::Store>) -> TestServer {
    start_on(files, |_| {}, Some(store))
}

fn start_on(
    files: Vec<SourceFile>,
    adjust: impl FnOnce(&mut Config),
    store: Option<Arc<dyn baukasten_store::Store>>,
) -> TestServer {
    let data = tempfile::tempdir().expect("temp dir");
    let mut config = Config {
        data: data.path().to_path_buf(),
        addr: "127.0.0.1:0".parse().expect("addr"),
        today: Some(TODAY.parse().expect("date")),
        rate_limit_per_minute: 100_000,
        max_requests_per_address: 10_000,
        workers: 2,
        ..Config::default()
    };
    config.tokens.insert("musterstadt".into(), TOKEN_MUSTERSTADT.into());
    config.tokens.insert("beispieldorf".into(), TOKEN_BEISPIELDORF.into());
    adjust(&mut config);
    let files = Arc::new(Mutex::new(files));
    let shared = files.clone();
    let loader = Arc::new(move || Ok(shared.lock().expect("files").clone()));
    let prepared = match store {
        Some(store) => baukasten_server::prepare_with_store(config, loader, store),
        None => baukasten_server::prepare(config, loader),
    }
    .expect("server prepares");
    let running = prepared.bind().expect("server binds");
    let state = running.state().clone();
    let (addr, handle, _thread) = running.spawn();
    TestServer {
        base: format!("http://{addr}"),
        state,
        files,
        handle,
        _data: data,
    }
}

/// An HTTP client that returns every status as a response and follows no redirects.
pub fn agent() -> Agent {
    Agent::new_with_config(
        Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .build(),
    )
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body as sent, for answers that are not text (a PDF).
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Json {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub fn reply(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = response.expect("the request reaches the server");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let bytes = response
        .body_mut()
        .with_config()
        .limit(50 * 1024 * 1024)
        .read_to_vec()
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&bytes).into_owned();
    Reply {
        status,
        headers,
        body,
        bytes,
    }
}

pub fn get(server: &TestServer, path: &str) -> Reply {
    reply(agent().get(format!("{}{path}", server.base)).call())
}

pub fn post_json(server: &TestServer, path: &str, body: &str) -> Reply {
    reply(
        agent()
            .post(format!("{}{path}", server.base))
            .header("Content-Type", "application/json")
            .send(body),
    )
}

pub fn get_with_token(server: &TestServer, path: &str, token: &str) -> Reply {
    reply(
        agent()
            .get(format!("{}{path}", server.base))
            .header("Authorization", format!("Bearer {token}"))
            .call(),
    )
}

/// The answers of the first test of the service, as `tenant` offers it, that expects them to
/// be valid: the overlay's own tests where it has an overlay, else the shared service's.
pub fn valid_answers(catalog: &Catalog, tenant: &str, service: &str) -> Json {
    let offered = catalog.service(Some(tenant), service).expect("service");
    let case = offered
        .tests
        .iter()
        .find(|t| {
            (t.expect.valid == Some(true) || t.expect.errors.as_ref().is_some_and(|e| e.is_empty()))
                && t.today.as_deref().is_none_or(|d| d == TODAY)
        })
        .unwrap_or_else(|| panic!("{tenant}/{service} has a test with valid answers for {TODAY}"));
    case.answers.to_json()
}

/// `POST /api/v1/submissions/{reference}/state` as the back office whose token is `token`.
pub fn move_submission(server: &TestServer, reference: &str, to: &str, token: &str) -> Reply {
    reply(
        agent()
            .post(format!("{}/api/v1/submissions/{reference}/state", server.base))
            .header("Content-Type", "application/json")
            .header("Authorization", format!("Bearer {token}"))
            .send(serde_json::json!({ "state": to }).to_string()),
    )
}

/// The reference number a page (the confirmation) shows.
pub fn reference_in(html: &str) -> Option<&str> {
    html.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|w| is_reference(w))
}

/// Whether `text` looks like a reference number: `BPA-2026-7K3Q9`.
pub fn is_reference(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 3
        && !parts[0].is_empty()
        && parts[0].chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && parts[1].len() == 4
        && parts[1].chars().all(|c| c.is_ascii_digit())
        && parts[2].len() >= 5
        && parts[2].bytes().all(|c| baukasten_store::ALPHABET.contains(&c))
}

pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
pub const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xFF\xD9";
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00";

/// A small file of the kind its name says, with the magic bytes the server checks.
pub fn sample_file(name: &str) -> &'static [u8] {
    let lower = name.to_lowercase();
    if lower.ends_with(".jpg") || lower.ends_with(".jpeg") {
        JPEG
    } else if lower.ends_with(".png") {
        PNG
    } else {
        PDF
    }
}

/// Uploads a sample file for every file answer of `answers` (a test's stand-in such as
/// `{name: foto.jpg}`) and puts the server's answer in its place, as an integrator does.
pub fn with_uploads(server: &TestServer, tenant: &str, service: &Service, answers: &Json) -> Json {
    use baukasten_engine::{Limits, walk};
    let mut answers = answers.clone();
    walk::walk_service_mut(service, &mut answers, &Limits::default(), &mut |visit, answer| {
        if !visit.field.kind.is_file() {
            return;
        }
        let name = answer
            .get("name")
            .and_then(Json::as_str)
            .or(answer.as_str())
            .unwrap_or("nachweis.pdf")
            .to_string();
        *answer = upload_for(server, tenant, &service.id, &name, sample_file(&name)).json()[0].clone();
    });
    answers
}

/// `POST /api/v1/services/{tenant}/{service}/attachments` with one file.
pub fn upload_for(server: &TestServer, tenant: &str, service: &str, name: &str, bytes: &[u8]) -> Reply {
    let boundary = "XyZbOuNdArY";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"datei\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    reply(
        agent()
            .post(format!(
                "{}/api/v1/services/{tenant}/{service}/attachments",
                server.base
            ))
            .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
            .send(&body[..]),
    )
}
