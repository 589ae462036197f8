//! FIT-Connect over real HTTP: a submission sent through the API reaches a mock Submission API
//! on loopback through the outbox, encrypted for a key the test made; the mock decrypts
//! everything and checks the hashes, the back office sees the submission and case ids, and a
//! signed callback brings the office's answer into the delivery. (CI's tests/fit-connect
//! checks the same with jwcrypto and FITKO's metadata schema, and the failure cases.)

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use baukasten_deliver::{FitConnectConfig, Schedule};
use hmac::Mac;
use rsa::traits::PublicKeyParts;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha512};

use crate::common::*;

const DESTINATION: &str = "d12caea8-f372-4eb1-b102-b0a228253a11";
const SECRET_ENV: &str = "BAUKASTEN_TEST_FIT_CONNECT_SECRET";
const CALLBACK_ENV: &str = "BAUKASTEN_TEST_FIT_CONNECT_CALLBACK";
const CALLBACK_SECRET: &str = "callback-secret-for-the-test";

/// One submission as the mock saw it.
#[derive(Default)]
struct Opened {
    submission_id: String,
    case_id: String,
    service_type: Json,
    announced: Vec<String>,
    /// Decrypted, by attachment id.
    attachments: BTreeMap<String, Vec<u8>>,
    /// Decrypted metadata and data, once sent.
    sent: Option<(Json, Vec<u8>)>,
}

#[derive(Default)]
struct MockState {
    /// Answer 503 to this many API requests (not the token) before serving.
    fail_next: usize,
    opened: Vec<Opened>,
    /// Every check that failed; the test fails on any.
    errors: Vec<String>,
    requests: Vec<String>,
}

/// A Submission API that keeps what it gets and decrypts it with the destination's private key.
struct Mock {
    url: String,
    state: Arc<Mutex<MockState>>,
}

fn mock(fail_next: usize) -> Mock {
    let key = rsa::PrivateKey::new(&mut rsa::rand_core::UnwrapErr(getrandom::SysRng), 4096).unwrap();
    // The Submission API's own key, which signs the event log (PS512).
    let signing = rsa::PrivateKey::new(&mut rsa::rand_core::UnwrapErr(getrandom::SysRng), 4096).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = Arc::new(Mutex::new(MockState {
        fail_next,
        ..Default::default()
    }));
    let shared = state.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let (method, path) = (
                parts.next().unwrap_or("").to_string(),
                parts.next().unwrap_or("").to_string(),
            );
            let mut headers = BTreeMap::new();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let Some((name, value)) = line.trim_end().split_once(':') else {
                    break;
                };
                headers.insert(name.to_ascii_lowercase(), value.trim().to_string());
            }
            let len = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let (status, answer) = serve(
                &mut shared.lock().unwrap(),
                &key,
                &signing,
                &method,
                &path,
                &headers,
                &body,
            );
            let answer = answer.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    Mock { url, state }
}

fn serve(
    state: &mut MockState,
    key: &rsa::PrivateKey,
    signing: &rsa::PrivateKey,
    method: &str,
    path: &str,
    headers: &BTreeMap<String, String>,
    body: &[u8],
) -> (u16, Json) {
    state.requests.push(format!("{method} {path}"));
    if path == "/token" {
        let form: BTreeMap<String, String> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        let good = form.get("grant_type").map(String::as_str) == Some("client_credentials")
            && form.get("client_id").map(String::as_str) == Some("baukasten-test")
            && form.get("client_secret").map(String::as_str) == Some("client-secret");
        return if good {
            (
                200,
                json!({"access_token": "token-1", "token_type": "Bearer", "expires_in": 1800}),
            )
        } else {
            (401, json!({"error": "invalid_client"}))
        };
    }
    if headers.get("authorization").map(String::as_str) != Some("Bearer token-1") {
        return (401, json!({"title": "no token"}));
    }
    if state.fail_next > 0 {
        state.fail_next -= 1;
        return (503, json!({"title": "Service Unavailable"}));
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let jwk = |key: &rsa::PublicKey, kid: &str, alg: &str, op: &str| {
        json!({"kty": "RSA", "kid": kid, "alg": alg, "key_ops": [op],
            "n": B64.encode(key.n().to_be_bytes_trimmed_vartime()),
            "e": B64.encode(key.e().to_be_bytes_trimmed_vartime())})
    };
    match (method, segments.as_slice()) {
        ("GET", [".well-known", "jwks.json"]) => (
            200,
            json!({"keys": [jwk(&signing.to_public_key(), "sig-1", "PS512", "verify")]}),
        ),
        ("GET", ["v1", "destinations", id]) if *id == DESTINATION => (
            200,
            json!({"destinationId": DESTINATION, "status": "active", "encryptionKid": "enc-1"}),
        ),
        ("GET", ["v1", "destinations", _, "keys", "enc-1"]) => {
            (200, jwk(&key.to_public_key(), "enc-1", "RSA-OAEP-256", "wrapKey"))
        }
        ("POST", ["v1", "submissions"]) => {
            let asked: Json = serde_json::from_slice(body).unwrap_or_default();
            let n = state.opened.len() + 1;
            let opened = Opened {
                submission_id: format!("00000000-0000-4000-8000-{n:012}"),
                case_id: format!("11111111-0000-4000-8000-{n:012}"),
                service_type: asked["serviceType"].clone(),
                announced: asked["announcedAttachments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_string))
                    .collect(),
                ..Default::default()
            };
            let answer =
                json!({"destinationId": DESTINATION, "submissionId": opened.submission_id, "caseId": opened.case_id});
            state.opened.push(opened);
            (201, answer)
        }
        ("PUT", ["v1", "submissions", id, "attachments", attachment]) => {
            let Some(opened) = state.opened.iter_mut().find(|o| o.submission_id == *id) else {
                return (404, json!({"title": "no such submission"}));
            };
            if !opened.announced.iter().any(|a| a == attachment) {
                return (422, json!({"title": "not announced"}));
            }
            if headers.get("content-type").map(String::as_str) != Some("application/jose") {
                state
                    .errors
                    .push(format!("attachment {attachment} not sent as application/jose"));
                return (415, json!({}));
            }
            match decrypt(key, std::str::from_utf8(body).unwrap_or("")) {
                Ok((_, plain)) => {
                    opened.attachments.insert(attachment.to_string(), plain);
                    (204, json!({}))
                }
                Err(e) => {
                    state.errors.push(format!("attachment {attachment}: {e}"));
                    (422, json!({"title": e}))
                }
            }
        }
        ("PUT", ["v1", "submissions", id]) => {
            let Some(opened) = state.opened.iter_mut().find(|o| o.submission_id == *id) else {
                return (404, json!({"title": "no such submission"}));
            };
            if opened.sent.is_some() {
                return (409, json!({"title": "already submitted"}));
            }
            if opened.announced.len() != opened.attachments.len() {
                state.errors.push("submitted before every attachment arrived".into());
                return (422, json!({"title": "missing attachments"}));
            }
            let asked: Json = serde_json::from_slice(body).unwrap_or_default();
            let parts = (
                decrypt(key, asked["encryptedMetadata"].as_str().unwrap_or("")),
                decrypt(key, asked["encryptedData"].as_str().unwrap_or("")),
            );
            let (Ok((mh, metadata)), Ok((dh, data))) = parts else {
                state.errors.push(format!("cannot decrypt the submission: {parts:?}"));
                return (422, json!({}));
            };
            for header in [&mh, &dh] {
                if header["cty"] != "application/json" {
                    state.errors.push(format!("metadata or data without cty: {header}"));
                }
            }
            let metadata: Json = serde_json::from_slice(&metadata).unwrap_or_default();
            if metadata["contentStructure"]["data"]["hash"]["content"] != sha512(&data) {
                state.errors.push("the data's hash does not match".into());
            }
            for a in metadata["contentStructure"]["attachments"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let id = a["attachmentId"].as_str().unwrap_or("");
                match opened.attachments.get(id) {
                    Some(bytes) if a["hash"]["content"] == sha512(bytes) => {}
                    _ => state
                        .errors
                        .push(format!("attachment {id}: missing or its hash does not match")),
                }
            }
            opened.sent = Some((metadata, data));
            (200, json!({"submissionId": id}))
        }
        ("GET", ["v1", "cases", case, "events"]) => {
            let Some(opened) = state.opened.iter().find(|o| o.case_id == *case) else {
                return (404, json!({}));
            };
            let set = |jti: &str, event: &str| {
                use rsa::signature::{RandomizedSigner, SignatureEncoding};
                let header = B64.encode(json!({"typ": "secevent+jwt", "alg": "PS512", "kid": "sig-1"}).to_string());
                let payload = json!({"iss": "mock", "iat": 1_790_000_000, "jti": jti,
                    "sub": format!("submission:{}", opened.submission_id), "txn": format!("case:{case}"),
                    "events": {format!("https://schema.fitko.de/fit-connect/events/{event}"): {}}});
                let input = format!("{header}.{}", B64.encode(payload.to_string()));
                let signature = rsa::pss::SigningKey::<Sha512>::new(signing.clone())
                    .sign_with_rng(&mut rsa::rand_core::UnwrapErr(getrandom::SysRng), input.as_bytes());
                format!("{input}.{}", B64.encode(signature.to_bytes()))
            };
            // A third entry whose payload was changed after signing: it must be left out.
            let genuine = set("e-3", "accept-submission");
            let mut parts: Vec<String> = genuine.split('.').map(str::to_string).collect();
            parts[1] = B64.encode(
                String::from_utf8(B64.decode(&parts[1]).unwrap())
                    .unwrap()
                    .replace("accept-submission", "reject-submission"),
            );
            (
                200,
                json!({"eventLog": [set("e-1", "submit-submission"), set("e-2", "accept-submission"), parts.join(".")]}),
            )
        }
        _ => (404, json!({"title": format!("no route {method} {path}")})),
    }
}

fn sha512(bytes: &[u8]) -> String {
    Sha512::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A compact JWE as the destination opens it: header, wrapped key, IV, content, tag.
fn decrypt(key: &rsa::PrivateKey, jwe: &str) -> Result<(Json, Vec<u8>), String> {
    let parts: Vec<&str> = jwe.split('.').collect();
    if parts.len() != 5 {
        return Err("not a compact JWE".into());
    }
    let b = |i: usize| B64.decode(parts[i]).map_err(|e| e.to_string());
    let header: Json = serde_json::from_slice(&b(0)?).map_err(|e| e.to_string())?;
    if header["alg"] != "RSA-OAEP-256" || header["enc"] != "A256GCM" || header["kid"] != "enc-1" {
        return Err(format!("unexpected header {header}"));
    }
    if header.get("cty").is_none() {
        return Err("no cty".into());
    }
    let cek = key.oaep_decrypt::<sha2::Sha256>(&b(1)?).map_err(|e| e.to_string())?;
    let iv: [u8; 12] = b(2)?.try_into().map_err(|_| "IV of the wrong size")?;
    let mut content = b(3)?;
    let tag = b(4)?;
    Aes256Gcm::new_from_slice(&cek)
        .map_err(|e| e.to_string())?
        .decrypt_inout_detached(
            &Nonce::from(iv),
            parts[0].as_bytes(),
            content.as_mut_slice().into(),
            tag.as_slice().try_into().map_err(|_| "tag of the wrong size")?,
        )
        .map_err(|_| "the tag does not verify".to_string())?;
    Ok((header, content))
}

/// The catalog with Musterstadt's Bewohnerparkausweis also going to the FIT-Connect destination.
fn forms_with_fit_connect() -> Vec<baukasten_dsl::SourceFile> {
    let mut files = read_forms(&forms_dir());
    let overlay = files
        .iter_mut()
        .find(|f| f.path.ends_with("musterstadt/bewohnerparkausweis.yaml"))
        .unwrap();
    let text = overlay.text.replace(
        "  deliver:\n",
        &format!("  deliver:\n    - fit_connect: {DESTINATION}\n"),
    );
    assert_ne!(*text, *overlay.text);
    *overlay = baukasten_dsl::SourceFile::new(overlay.path.clone(), text);
    files
}

fn deliveries(server: &TestServer, reference: &str) -> Vec<Json> {
    let reply = get_with_token(
        server,
        &format!("/api/v1/submissions/{reference}/deliveries"),
        TOKEN_MUSTERSTADT,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json().as_array().cloned().unwrap_or_default()
}

fn fit_connect_delivery(server: &TestServer, reference: &str, done: impl Fn(&Json) -> bool) -> Json {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(d) = deliveries(server, reference)
            .into_iter()
            .find(|d| d["channel"] == "fit_connect")
            && done(&d)
        {
            return d;
        }
        assert!(
            Instant::now() < deadline,
            "never got there: {:?}",
            deliveries(server, reference)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn callback(server: &TestServer, secret: &str, age: i64, body: &str) -> Reply {
    let timestamp = (chrono::Utc::now().timestamp() - age).to_string();
    let mut mac = hmac::Hmac::<Sha512>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let signature: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    reply(
        agent()
            .post(format!("{}/api/v1/fit-connect/musterstadt/callbacks", server.base))
            .header("content-type", "application/json")
            .header("callback-timestamp", &timestamp)
            .header("callback-authentication", &signature)
            .send(body),
    )
}

#[test]
fn a_submission_reaches_the_destination_encrypted_once_and_the_offices_answer_comes_back() {
    // SAFETY of the test: these variables are set before the server reads them, by this test
    // alone (no other test reads or writes them).
    unsafe {
        std::env::set_var(SECRET_ENV, "client-secret");
        std::env::set_var(CALLBACK_ENV, CALLBACK_SECRET);
    }
    let mock = mock(2);
    let server = start_with(forms_with_fit_connect(), |config| {
        config.fit_connect = BTreeMap::from([(
            "musterstadt".to_string(),
            FitConnectConfig {
                token_url: format!("{}/token", mock.url),
                submission_api: mock.url.clone(),
                client_id: "baukasten-test".into(),
                client_secret_env: SECRET_ENV.into(),
                callback_secret_env: Some(CALLBACK_ENV.into()),
            },
        )]);
        config.delivery_schedule = Schedule::new(vec![0, 0, 0, 0, 0]);
        config.require_delivery_targets = false;
    });
    let service = baukasten_dsl::load_catalog(forms_with_fit_connect()).catalog;
    let answers = valid_answers(&service, "musterstadt", "bewohnerparkausweis");
    let body = with_uploads(
        &server,
        "musterstadt",
        service.service(Some("musterstadt"), "bewohnerparkausweis").unwrap(),
        &answers,
    );
    let sent = post_json(
        &server,
        "/api/v1/services/musterstadt/bewohnerparkausweis/submissions",
        &body.to_string(),
    );
    assert_eq!(sent.status, 201, "{}", sent.body);
    let reference = sent.json()["reference"].as_str().unwrap().to_string();

    let d = fit_connect_delivery(&server, &reference, |d| d["status"] == "delivered");
    assert_eq!(d["target"], DESTINATION);
    let statuses: Vec<&Json> = d["history"].as_array().unwrap().iter().map(|a| &a["status"]).collect();
    assert_eq!(statuses, [&json!(503), &json!(503), &Json::Null], "two 503s, then sent");

    let state = mock.state.lock().unwrap();
    assert!(state.errors.is_empty(), "{:?}", state.errors);
    assert_eq!(state.opened.len(), 1, "one submission opened: {:?}", state.requests);
    let opened = &state.opened[0];
    assert_eq!(
        opened.service_type,
        json!({"name": "Bewohnerparkausweis beantragen", "identifier": "urn:de:fim:leika:leistung:99108001000000"})
    );
    let (metadata, data) = opened.sent.as_ref().expect("sent");
    let stored = get_with_token(&server, &format!("/api/v1/submissions/{reference}"), TOKEN_MUSTERSTADT).json();
    let data: Json = serde_json::from_slice(data).unwrap();
    assert_eq!(data, stored["data"]["answers"], "the data is the answers");
    assert_eq!(metadata["additionalReferenceInfo"]["senderReference"], json!(reference));
    let schema_uri = metadata["contentStructure"]["data"]["submissionSchema"]["schemaUri"]
        .as_str()
        .unwrap();
    assert!(
        schema_uri.ends_with(&format!(
            "/api/v1/schemas/{}.json",
            stored["definition_hash"].as_str().unwrap()
        )),
        "{schema_uri}"
    );
    // The schema is there, and the data sent passes it.
    let schema_path = &schema_uri[schema_uri.find("/api/").unwrap()..];
    let schema = get(&server, schema_path);
    assert_eq!(schema.status, 200);
    assert!(
        jsonschema::is_valid(&schema.json(), &data),
        "the data passes its schema"
    );
    let attachments = metadata["contentStructure"]["attachments"].as_array().unwrap();
    let purposes: Vec<&str> = attachments.iter().map(|a| a["purpose"].as_str().unwrap()).collect();
    let uploads = stored["attachments"].as_array().map_or(0, Vec::len);
    assert!(uploads >= 1, "the test submits with an upload");
    assert_eq!(purposes.iter().filter(|p| **p == "attachment").count(), uploads);
    let receipt = attachments
        .iter()
        .find(|a| a["purpose"] == "form")
        .expect("the receipt");
    assert_eq!(receipt["mimeType"], "application/pdf");
    assert!(opened.attachments[receipt["attachmentId"].as_str().unwrap()].starts_with(b"%PDF"));
    let (submission_id, case_id) = (opened.submission_id.clone(), opened.case_id.clone());
    drop(state);

    // The back office names the submission and the case at the destination.
    assert_eq!(d["fit_connect"]["submission_id"], json!(submission_id));
    assert_eq!(d["fit_connect"]["case_id"], json!(case_id));

    // A callback: refused when its signature or its age is wrong, followed when right.
    let announcement = json!({"type": "https://schema.fitko.de/fit-connect/submission-api/callbacks/new-events",
        "submissionIds": [submission_id],
        "submissions": [{"destinationId": DESTINATION, "submissionId": submission_id, "caseId": case_id}]})
    .to_string();
    let wrong = callback(&server, "another-secret", 0, &announcement);
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.body.contains("does not match"), "{}", wrong.body);
    let stale = callback(&server, CALLBACK_SECRET, 600, &announcement);
    assert_eq!(stale.status, 401, "{}", stale.body);
    assert!(stale.body.contains("seconds old"), "{}", stale.body);
    let d = fit_connect_delivery(&server, &reference, |_| true);
    assert_eq!(
        d["fit_connect"]["events"],
        json!([]),
        "nothing recorded from refused callbacks"
    );

    let good = callback(&server, CALLBACK_SECRET, 0, &announcement);
    assert_eq!(good.status, 200, "{}", good.body);
    assert_eq!(good.json(), json!({"known": 1, "events": 2}));
    let again = callback(&server, CALLBACK_SECRET, 0, &announcement);
    assert_eq!(again.json(), json!({"known": 1, "events": 0}), "nothing twice");
    let d = fit_connect_delivery(&server, &reference, |_| true);
    let events: Vec<&str> = d["fit_connect"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["submit-submission", "accept-submission"]);
    assert_eq!(mock.state.lock().unwrap().opened.len(), 1, "still one submission");
}

#[test]
fn with_a_config_file_a_municipality_without_fit_connect_access_stops_the_start() {
    let data = tempfile::tempdir().unwrap();
    let config = baukasten_server::Config {
        data: data.path().to_path_buf(),
        addr: "127.0.0.1:0".parse().unwrap(),
        require_delivery_targets: true,
        ..Default::default()
    };
    let files = forms_with_fit_connect();
    let loader = Arc::new(move || Ok(files.clone()));
    let Err(baukasten_server::StartError::Catalog(refused)) = baukasten_server::prepare(config, loader) else {
        panic!("the server must not start");
    };
    let loaded = refused.loaded.expect("diagnostics with places");
    let rendered: String = loaded
        .diagnostics
        .iter()
        .map(|d| d.render(&loaded.sources, baukasten_dsl::Lang::En))
        .collect();
    assert!(rendered.contains("musterstadt/bewohnerparkausweis.yaml:"), "{rendered}");
    assert!(
        rendered.contains(
            "delivers over FIT-Connect, but the server configuration has no FIT-Connect client for `musterstadt`"
        ),
        "{rendered}"
    );
    assert!(
        rendered.contains("fit_connect: { musterstadt: { token_url: …"),
        "{rendered}"
    );
}
