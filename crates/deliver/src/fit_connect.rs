//! FIT-Connect: sending a submission to a German authority's back office over the federal
//! transport (FITKO's Submission API, version 1), end-to-end encrypted for the destination.
//!
//! One delivery runs these steps, each an HTTP request:
//!
//! 1. a token for the municipality's API client (OAuth 2 client credentials);
//! 2. `GET /v1/destinations/{id}`: the destination must be `active`; it names its
//!    encryption key (`encryptionKid`);
//! 3. `GET /v1/destinations/{id}/keys/{kid}`: the key, refused unless RSA with at least 4096
//!    bits and meant for wrapping keys ([`crate::jwe::EncryptionKey::from_jwk`]);
//! 4. `POST /v1/submissions`: opens a submission at the destination, announcing one new UUID
//!    per attachment, and returns its `submissionId` and `caseId`;
//! 5. `PUT /v1/submissions/{submissionId}/attachments/{attachmentId}` per attachment, each a
//!    compact JWE (`application/jose`);
//! 6. `PUT /v1/submissions/{submissionId}` with the encrypted metadata and data: sent.
//!
//! What steps 4 and 5 did is kept in the store ([`Progress`], written by the caller before the
//! next step starts), so an attempt after a failure or a restart goes on with the same
//! submission instead of opening another: the destination never gets one application twice.
//! Killed between the answer to step 4 and its record, the next attempt opens a second
//! submission; the first was never sent, and the Submission API deletes such incomplete ones
//! after a day. If the destination no longer knows the submission (it expired), the progress
//! is dropped and the next attempt starts afresh.
//!
//! The destination reports back through callbacks (HMAC-SHA-512 over timestamp and body, see
//! [`FitConnect::verify_callback`]) that announce new entries in the case's event log, which
//! [`FitConnect::events`] reads.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use baukasten_store::DeliveryEvent;
use chrono::{DateTime, NaiveDate, Utc};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

use crate::jwe::EncryptionKey;

/// One municipality's access to FIT-Connect, as the server configuration gives it
/// (`fit_connect: { musterstadt: {…} }`). Secrets are read from the environment variables
/// named here, never written in a file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitConnectConfig {
    /// The OAuth 2 token endpoint (client credentials).
    pub token_url: String,
    /// The base address of the Submission API, without `/v1`.
    pub submission_api: String,
    /// The API client's id, from FITKO's self-service portal.
    pub client_id: String,
    /// The environment variable that holds the client's secret.
    pub client_secret_env: String,
    /// The environment variable that holds the secret the Submission API signs its callbacks
    /// with (set for the client in the self-service portal). Without it callbacks are refused.
    #[serde(default)]
    pub callback_secret_env: Option<String>,
}

/// A callback older than this (or this far in the future) is refused: a replay.
pub const CALLBACK_MAX_AGE: chrono::Duration = chrono::Duration::minutes(5);

/// How long before it expires a token is replaced.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// The largest answer read from the Submission API.
const MAX_ANSWER: u64 = 4 * 1024 * 1024;

/// Every municipality's FIT-Connect client, and the one HTTP agent they share.
pub struct FitConnect {
    clients: BTreeMap<String, Client>,
    agent: ureq::Agent,
}

struct Client {
    token_url: String,
    api: String,
    client_id: String,
    client_secret: String,
    callback_secret: Option<Vec<u8>>,
    token: Mutex<Option<Token>>,
}

struct Token {
    value: String,
    until: Instant,
}

/// What a delivery sends, built by the server from the stored submission and its service.
#[derive(Debug, Clone)]
pub struct Parcel {
    /// The service's title, for `serviceType.name`.
    pub service_name: String,
    /// The LeiKa key (digits), for `urn:de:fim:leika:leistung:<leika>`.
    pub leika: String,
    /// Where the JSON Schema of `data` can be read, for `contentStructure.data.submissionSchema`.
    pub schema_uri: String,
    /// The submission's data (the answers), as JSON bytes: sent and hashed as they are.
    pub data: Vec<u8>,
    pub attachments: Vec<Part>,
    /// The submission's reference, for `additionalReferenceInfo.senderReference`.
    pub reference: String,
    pub application_date: NaiveDate,
}

/// One attachment of a parcel.
#[derive(Debug, Clone)]
pub struct Part {
    /// Stable across attempts (the upload's id; `receipt` for the receipt): an attempt after a
    /// restart finds what it announced by this.
    pub key: String,
    pub purpose: Purpose,
    pub media_type: String,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// Why an attachment is there, in FIT-Connect's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The form as a document (our PDF receipt).
    Form,
    /// A file the citizen uploaded.
    Attachment,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Form => "form",
            Purpose::Attachment => "attachment",
        }
    }
}

/// How far a delivery has come; kept in the store between steps.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Progress {
    pub destination_id: String,
    pub submission_id: String,
    pub case_id: String,
    /// The attachments announced, in the parcel's order.
    pub attachments: Vec<Announced>,
    /// Set before the final request: if that request is then answered "already submitted"
    /// (409), it was this sender's earlier request that went through.
    #[serde(default)]
    pub submitting: bool,
}

/// One announced attachment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Announced {
    /// [`Part::key`].
    pub key: String,
    /// The UUID announced for it.
    pub id: String,
    /// Whether the destination took it.
    pub sent: bool,
    /// The SHA-512 of what it took: a part that changed since (a receipt made again after an
    /// update) is sent again, so that the metadata's hashes hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha512: Option<String>,
}

/// A failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// The Submission API's HTTP status, where it answered.
    pub status: Option<u16>,
    pub error: String,
    /// The destination no longer knows the submission the progress names: drop the progress,
    /// the next attempt starts afresh.
    pub start_over: bool,
}

impl Failed {
    fn new(status: Option<u16>, error: impl Into<String>) -> Self {
        Failed {
            status,
            error: error.into(),
            start_over: false,
        }
    }
}

/// Why a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackRefused {
    #[error("no callback secret is configured for `{0}` (`fit_connect.{0}.callback_secret_env`)")]
    NotConfigured(String),
    #[error("the header `{0}` is missing")]
    Missing(&'static str),
    #[error("the header `callback-timestamp` is not a number of seconds")]
    BadTimestamp,
    #[error("the callback is {0} seconds old; at most 300 are accepted")]
    Stale(i64),
    #[error("the callback's `callback-authentication` does not match its body")]
    WrongSignature,
}

/// What a case's event log said ([`FitConnect::events`]).
#[derive(Debug, Clone, Default)]
pub struct EventLog {
    /// The verified entries, as `(submissionId, event)`.
    pub events: Vec<(String, DeliveryEvent)>,
    /// Why each entry left out was left out.
    pub refused: Vec<String>,
}

/// A submission a callback names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub submission_id: String,
    pub case_id: Option<String>,
}

impl FitConnect {
    /// The configured clients, with their secrets from the environment (`env` looks a variable
    /// up). Refuses an address that is neither https nor http to a loopback address, and a
    /// secret variable that is unset or empty, naming the key in the configuration.
    pub fn new(
        config: &BTreeMap<String, FitConnectConfig>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<FitConnect, String> {
        let mut clients = BTreeMap::new();
        for (tenant, c) in config {
            let at = format!("fit_connect.{tenant}");
            crate::webhook::check_url(&c.token_url).map_err(|e| format!("{at}.token_url: {e}"))?;
            crate::webhook::check_url(&c.submission_api).map_err(|e| format!("{at}.submission_api: {e}"))?;
            if c.client_id.trim().is_empty() {
                return Err(format!("{at}.client_id: empty"));
            }
            let secret = |key: &str, name: &str| -> Result<String, String> {
                match env(name) {
                    Some(value) if !value.trim().is_empty() => Ok(value.trim().to_string()),
                    Some(_) => Err(format!("{at}.{key}: the environment variable {name} is empty")),
                    None => Err(format!("{at}.{key}: the environment variable {name} is not set")),
                }
            };
            let client_secret = secret("client_secret_env", &c.client_secret_env)?;
            let callback_secret = match &c.callback_secret_env {
                Some(name) => Some(secret("callback_secret_env", name)?.into_bytes()),
                None => None,
            };
            clients.insert(
                tenant.clone(),
                Client {
                    token_url: c.token_url.clone(),
                    api: c.submission_api.trim_end_matches('/').to_string(),
                    client_id: c.client_id.clone(),
                    client_secret,
                    callback_secret,
                    token: Mutex::new(None),
                },
            );
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Ok(FitConnect { clients, agent })
    }

    /// Whether `tenant` has a FIT-Connect client.
    pub fn has(&self, tenant: &str) -> bool {
        self.clients.contains_key(tenant)
    }

    fn client(&self, tenant: &str) -> Result<&Client, Failed> {
        self.clients.get(tenant).ok_or_else(|| {
            Failed::new(
                None,
                format!("the server configuration has no `fit_connect` block for `{tenant}`"),
            )
        })
    }

    /// Sends `parcel` to `destination` for `tenant`, going on from `progress` where an earlier
    /// attempt got to. `keep` writes the progress durably; it is called after the submission is
    /// opened, after each attachment and before the final request, and a failure to keep it
    /// fails the attempt. Returns the progress of the sent submission.
    pub fn send(
        &self,
        tenant: &str,
        destination: &str,
        progress: Option<Progress>,
        parcel: &Parcel,
        keep: &mut dyn FnMut(&Progress) -> Result<(), String>,
    ) -> Result<Progress, Failed> {
        let client = self.client(tenant)?;
        let token = self.token(tenant, client)?;
        let call = Call {
            agent: &self.agent,
            api: &client.api,
            token: &token,
        };
        let result = self.send_with(&call, destination, progress, parcel, keep);
        if matches!(&result, Err(f) if f.status == Some(401)) {
            // The token was refused before it expired (revoked, or the API restarted): the
            // next attempt asks for a new one.
            *client.token.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        result
    }

    fn send_with(
        &self,
        call: &Call<'_>,
        destination: &str,
        progress: Option<Progress>,
        parcel: &Parcel,
        keep: &mut dyn FnMut(&Progress) -> Result<(), String>,
    ) -> Result<Progress, Failed> {
        let key = destination_key(call, destination)?;
        let mut progress = match progress.filter(|p| p.destination_id == destination) {
            Some(p) if fits(&p, parcel) => p,
            // Another set of attachments than announced (a changed receipt): a new submission.
            _ => {
                let opened = open_submission(call, destination, parcel)?;
                keep(&opened).map_err(|e| Failed::new(None, format!("the progress cannot be kept: {e}")))?;
                opened
            }
        };
        let submission = progress.submission_id.clone();
        for i in 0..progress.attachments.len() {
            let announced = &progress.attachments[i];
            let part = parcel
                .attachments
                .iter()
                .find(|p| p.key == announced.key)
                .expect("fits() checked every announced key");
            let hash = sha512_hex(&part.bytes);
            if announced.sent && announced.sha512.as_deref() == Some(hash.as_str()) {
                continue;
            }
            let jwe = key
                .encrypt(&part.media_type, &part.bytes)
                .map_err(|e| Failed::new(None, e))?;
            let path = format!("/v1/submissions/{submission}/attachments/{}", announced.id);
            let (status, body) = call.send("PUT", &path, "application/jose", jwe.as_bytes())?;
            match status {
                200..=299 => {}
                404 => return Err(gone(&submission, status, &body)),
                _ => return Err(refused(&format!("PUT {path}"), status, &body)),
            }
            progress.attachments[i].sent = true;
            progress.attachments[i].sha512 = Some(hash);
            keep(&progress).map_err(|e| Failed::new(None, format!("the progress cannot be kept: {e}")))?;
        }
        let metadata = metadata(parcel, &progress);
        let metadata = serde_json::to_vec(&metadata).map_err(|e| Failed::new(None, e.to_string()))?;
        let body = json!({
            "encryptedMetadata": key.encrypt("application/json", &metadata).map_err(|e| Failed::new(None, e))?,
            "encryptedData": key.encrypt("application/json", &parcel.data).map_err(|e| Failed::new(None, e))?,
        });
        let again = progress.submitting;
        if !again {
            progress.submitting = true;
            keep(&progress).map_err(|e| Failed::new(None, format!("the progress cannot be kept: {e}")))?;
        }
        let path = format!("/v1/submissions/{submission}");
        let (status, answer) = call.send("PUT", &path, "application/json", body.to_string().as_bytes())?;
        match status {
            200..=299 => Ok(progress),
            // The earlier attempt's final request went through, but its answer was lost.
            409 if again => Ok(progress),
            404 => Err(gone(&submission, status, &answer)),
            _ => Err(refused(&format!("PUT {path}"), status, &answer)),
        }
    }

    /// A token for `tenant`'s client: the one kept while it is valid, else a new one.
    fn token(&self, tenant: &str, client: &Client) -> Result<String, Failed> {
        let mut kept = client.token.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(token) = kept.as_ref().filter(|t| t.until > Instant::now()) {
            return Ok(token.value.clone());
        }
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client.client_id.as_str()),
            ("client_secret", client.client_secret.as_str()),
        ];
        let mut response = self
            .agent
            .post(&client.token_url)
            .header("accept", "application/json")
            .send_form(form)
            .map_err(|e| {
                Failed::new(
                    None,
                    format!("the token endpoint {} cannot be reached: {e}", client.token_url),
                )
            })?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .unwrap_or_default();
        if !(200..=299).contains(&status) {
            return Err(Failed::new(
                Some(status),
                format!(
                    "the token endpoint refused the client `{}` of `{tenant}` ({status}{})",
                    client.client_id,
                    problem(&body).map(|p| format!(": {p}")).unwrap_or_default()
                ),
            ));
        }
        #[derive(Deserialize)]
        struct Answer {
            access_token: String,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let answer: Answer = serde_json::from_slice(&body).map_err(|e| {
            Failed::new(
                Some(status),
                format!("the token endpoint's answer has no access token: {e}"),
            )
        })?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(300));
        *kept = Some(Token {
            value: answer.access_token.clone(),
            until: Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN),
        });
        Ok(answer.access_token)
    }

    /// Checks a callback for `tenant`: its timestamp is at most five minutes from `now`, and
    /// `callback-authentication` is the hex HMAC-SHA-512 of `{timestamp}.{body}` under the
    /// callback secret, compared in constant time.
    pub fn verify_callback(
        &self,
        tenant: &str,
        timestamp: Option<&str>,
        authentication: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), CallbackRefused> {
        let secret = self
            .clients
            .get(tenant)
            .and_then(|c| c.callback_secret.as_deref())
            .ok_or_else(|| CallbackRefused::NotConfigured(tenant.to_string()))?;
        let timestamp = timestamp.ok_or(CallbackRefused::Missing("callback-timestamp"))?.trim();
        let authentication = authentication
            .ok_or(CallbackRefused::Missing("callback-authentication"))?
            .trim();
        let seconds: i64 = timestamp.parse().map_err(|_| CallbackRefused::BadTimestamp)?;
        let age = now.timestamp() - seconds;
        if age.abs() > CALLBACK_MAX_AGE.num_seconds() {
            return Err(CallbackRefused::Stale(age));
        }
        let expected = hex_decode(authentication).ok_or(CallbackRefused::WrongSignature)?;
        let mut mac = hmac::Hmac::<Sha512>::new_from_slice(secret).expect("HMAC takes keys of any length");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&expected).map_err(|_| CallbackRefused::WrongSignature)
    }

    /// The case's event log: what the destination and the Submission API recorded about the
    /// submission (`submit-submission`, `accept-submission`, `reject-submission`, …), as
    /// `(submissionId, event)`.
    ///
    /// Each entry is a Security Event Token signed PS512 by the Submission API (its keys at
    /// `/.well-known/jwks.json`) or by the destination (its key at
    /// `GET /v1/destinations/{destination}/keys/{kid}`); an entry whose signature does not
    /// verify with such a key (RSA, at least 4096 bits, for `verify`) is left out, and the
    /// second list says why.
    pub fn events(&self, tenant: &str, destination: &str, case_id: &str) -> Result<EventLog, String> {
        let client = self.client(tenant).map_err(|f| f.error)?;
        let token = self.token(tenant, client).map_err(|f| f.error)?;
        let call = Call {
            agent: &self.agent,
            api: &client.api,
            token: &token,
        };
        let path = format!("/v1/cases/{case_id}/events");
        let (status, body) = call.get(&path).map_err(|f| f.error)?;
        if !(200..=299).contains(&status) {
            return Err(refused(&format!("GET {path}"), status, &body).error);
        }
        let log: Value =
            serde_json::from_slice(&body).map_err(|e| format!("the event log of case {case_id} is not JSON: {e}"))?;
        let entries = log
            .get("eventLog")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut keys = BTreeMap::new();
        let (mut out, mut refused_entries) = (Vec::new(), Vec::new());
        for entry in entries {
            let Some(token) = entry.as_str() else { continue };
            if let Err(e) = verify_event(&call, destination, token, &mut keys) {
                log::warn!("an entry of the event log of case {case_id} is left out: {e}");
                refused_entries.push(e);
                continue;
            }
            match read_event(token) {
                Some(event) => out.push(event),
                None => log::warn!("an entry of the event log of case {case_id} cannot be read; skipped"),
            }
        }
        Ok(EventLog {
            events: out,
            refused: refused_entries,
        })
    }
}

/// Checks an event log entry's PS512 signature with the key its header names: the
/// destination's, else one of the Submission API's. Keys fetched are kept in `keys` for the
/// other entries of the same log.
fn verify_event(
    call: &Call<'_>,
    destination: &str,
    token: &str,
    keys: &mut BTreeMap<String, rsa::PublicKey>,
) -> Result<(), String> {
    use rsa::signature::Verifier;
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a signed token (JWS compact serialisation)".into());
    };
    let header: Value = B64
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or("its header is not JSON")?;
    if header.get("alg").and_then(Value::as_str) != Some("PS512") {
        return Err(format!(
            "it is signed with {}, not PS512",
            header.get("alg").unwrap_or(&Value::Null)
        ));
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or("its header names no key (kid)")?;
    if !keys.contains_key(kid) {
        let key = signing_key(call, destination, kid)?;
        keys.insert(kid.to_string(), key);
    }
    let signature = B64.decode(signature).map_err(|_| "its signature is not base64url")?;
    let signature = rsa::pss::Signature::try_from(signature.as_slice()).map_err(|e| e.to_string())?;
    rsa::pss::VerifyingKey::<Sha512>::new(keys[kid].clone())
        .verify(
            format!("{}.{payload}", token.split('.').next().unwrap_or_default()).as_bytes(),
            &signature,
        )
        .map_err(|_| format!("its signature does not verify with the key {kid}"))
}

/// The key `kid` that signs event log entries: one of the Submission API's (it signs what it
/// does itself: `submit-submission`, `delete-submission`, …), else the destination's (the
/// office signs `accept-submission` and `reject-submission`).
fn signing_key(call: &Call<'_>, destination: &str, kid: &str) -> Result<rsa::PublicKey, String> {
    let (status, body) = call.get("/.well-known/jwks.json").map_err(|f| f.error)?;
    if (200..=299).contains(&status) {
        let set: Value = serde_json::from_slice(&body).map_err(|e| format!("the key set is not JSON: {e}"))?;
        let found = set
            .get("keys")
            .and_then(Value::as_array)
            .and_then(|keys| keys.iter().find(|k| k.get("kid").and_then(Value::as_str) == Some(kid)));
        if let Some(jwk) = found {
            return crate::jwe::verifying_key(jwk);
        }
    }
    let path = format!("/v1/destinations/{destination}/keys/{kid}");
    let (status, body) = call.get(&path).map_err(|f| f.error)?;
    if !(200..=299).contains(&status) {
        return Err(format!(
            "neither the Submission API nor the destination knows the key {kid}"
        ));
    }
    let jwk: Value = serde_json::from_slice(&body).map_err(|e| format!("the key {kid} is not JSON: {e}"))?;
    crate::jwe::verifying_key(&jwk)
}

/// The submissions a callback body names: `submissions[]` (with their cases), or the older
/// `submissionIds[]`.
pub fn announced(body: &[u8]) -> Result<Vec<Announcement>, String> {
    let body: Value = serde_json::from_slice(body).map_err(|e| format!("the callback is not JSON: {e}"))?;
    let mut out = Vec::new();
    if let Some(submissions) = body.get("submissions").and_then(Value::as_array) {
        for s in submissions {
            if let Some(id) = s.get("submissionId").and_then(Value::as_str) {
                out.push(Announcement {
                    submission_id: id.to_string(),
                    case_id: s.get("caseId").and_then(Value::as_str).map(str::to_string),
                });
            }
        }
    }
    if let Some(ids) = body.get("submissionIds").and_then(Value::as_array) {
        for id in ids.iter().filter_map(Value::as_str) {
            if !out.iter().any(|a| a.submission_id == id) {
                out.push(Announcement {
                    submission_id: id.to_string(),
                    case_id: None,
                });
            }
        }
    }
    Ok(out)
}

/// One entry of an event log (a Security Event Token, RFC 8417): its payload, once
/// [`verify_event`] has checked its signature.
fn read_event(token: &str) -> Option<(String, DeliveryEvent)> {
    let payload = token.split('.').nth(1)?;
    let payload: Value = serde_json::from_slice(&B64.decode(payload.trim_end_matches('=')).ok()?).ok()?;
    let submission = payload.get("sub")?.as_str()?.strip_prefix("submission:")?.to_string();
    let (uri, detail) = payload.get("events")?.as_object()?.iter().next()?;
    let kind = uri.rsplit('/').next().unwrap_or(uri).to_string();
    let at = payload
        .get("iat")
        .and_then(Value::as_i64)
        .and_then(|s| DateTime::from_timestamp(s, 0))?;
    let problems: Vec<String> = detail
        .get("problems")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| {
                    p.get("detail")
                        .or_else(|| p.get("title"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    let id = payload
        .get("jti")
        .and_then(Value::as_str)
        .map_or_else(|| format!("{kind}@{}", at.timestamp()), str::to_string);
    Some((
        submission,
        DeliveryEvent {
            id,
            at,
            kind,
            detail: (!problems.is_empty()).then(|| problems.join("; ")),
        },
    ))
}

/// Requests to the Submission API with a token.
struct Call<'a> {
    agent: &'a ureq::Agent,
    api: &'a str,
    token: &'a str,
}

impl Call<'_> {
    fn get(&self, path: &str) -> Result<(u16, Vec<u8>), Failed> {
        let result = self
            .agent
            .get(format!("{}{path}", self.api))
            .header("authorization", format!("Bearer {}", self.token))
            .header("accept", "application/json")
            .call();
        answer(&format!("GET {path}"), result)
    }

    fn send(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> Result<(u16, Vec<u8>), Failed> {
        let url = format!("{}{path}", self.api);
        let request = match method {
            "POST" => self.agent.post(url),
            _ => self.agent.put(url),
        };
        let result = request
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", content_type)
            .header("accept", "application/json")
            .send(body);
        answer(&format!("{method} {path}"), result)
    }
}

fn answer(what: &str, result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<(u16, Vec<u8>), Failed> {
    let mut response =
        result.map_err(|e| Failed::new(None, format!("the Submission API cannot be reached ({what}): {e}")))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER)
        .read_to_vec()
        .map_err(|e| Failed::new(Some(status), format!("the answer to {what} cannot be read: {e}")))?;
    Ok((status, body))
}

/// Steps 2 and 3: the destination must be active; its encryption key must do.
fn destination_key(call: &Call<'_>, destination: &str) -> Result<EncryptionKey, Failed> {
    let path = format!("/v1/destinations/{destination}");
    let (status, body) = call.get(&path)?;
    match status {
        200..=299 => {}
        404 => {
            return Err(Failed::new(
                Some(status),
                format!("FIT-Connect does not know the destination {destination} (404)"),
            ));
        }
        _ => return Err(refused(&format!("GET {path}"), status, &body)),
    }
    let found: Value = serde_json::from_slice(&body)
        .map_err(|e| Failed::new(Some(status), format!("the destination {destination} is not JSON: {e}")))?;
    let state = found.get("status").and_then(Value::as_str).unwrap_or("unknown");
    if state != "active" {
        return Err(Failed::new(
            Some(status),
            format!("the destination {destination} is not active (status `{state}`); it takes no submissions"),
        ));
    }
    let kid = found.get("encryptionKid").and_then(Value::as_str).ok_or_else(|| {
        Failed::new(
            Some(status),
            format!("the destination {destination} names no `encryptionKid`"),
        )
    })?;
    let path = format!("/v1/destinations/{destination}/keys/{kid}");
    let (status, body) = call.get(&path)?;
    if !(200..=299).contains(&status) {
        return Err(refused(&format!("GET {path}"), status, &body));
    }
    let jwk: Value = serde_json::from_slice(&body)
        .map_err(|e| Failed::new(Some(status), format!("the destination's key is not JSON: {e}")))?;
    EncryptionKey::from_jwk(&jwk, kid).map_err(|e| Failed::new(Some(status), format!("{e}; nothing was sent")))
}

/// Step 4: opens a submission, announcing a new UUID per attachment.
fn open_submission(call: &Call<'_>, destination: &str, parcel: &Parcel) -> Result<Progress, Failed> {
    let attachments: Vec<Announced> = parcel
        .attachments
        .iter()
        .map(|part| Announced {
            key: part.key.clone(),
            id: uuid::Uuid::new_v4().to_string(),
            sent: false,
            sha512: None,
        })
        .collect();
    let body = json!({
        "destinationId": destination,
        "announcedAttachments": attachments.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        "serviceType": {
            "name": parcel.service_name,
            "identifier": leika_urn(&parcel.leika),
        },
    });
    let (status, answer) = call.send(
        "POST",
        "/v1/submissions",
        "application/json",
        body.to_string().as_bytes(),
    )?;
    if !(200..=299).contains(&status) {
        return Err(refused("POST /v1/submissions", status, &answer));
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Opened {
        submission_id: String,
        case_id: String,
    }
    let opened: Opened = serde_json::from_slice(&answer).map_err(|e| {
        Failed::new(
            Some(status),
            format!("the answer to POST /v1/submissions has no submissionId and caseId: {e}"),
        )
    })?;
    Ok(Progress {
        destination_id: destination.to_string(),
        submission_id: opened.submission_id,
        case_id: opened.case_id,
        attachments,
        submitting: false,
    })
}

/// Whether an earlier attempt announced exactly the parcel's attachments.
fn fits(progress: &Progress, parcel: &Parcel) -> bool {
    progress.attachments.len() == parcel.attachments.len()
        && parcel
            .attachments
            .iter()
            .all(|part| progress.attachments.iter().any(|a| a.key == part.key))
}

/// `urn:de:fim:leika:leistung:<key>`.
pub fn leika_urn(leika: &str) -> String {
    format!("urn:de:fim:leika:leistung:{leika}")
}

/// The metadata of a submission (FITKO's metadata schema, version 1.0.0): what the data is
/// and its hash, every attachment with its hash, the service, and our reference.
pub fn metadata(parcel: &Parcel, progress: &Progress) -> Value {
    let attachments: Vec<Value> = progress
        .attachments
        .iter()
        .filter_map(|announced| {
            let part = parcel.attachments.iter().find(|p| p.key == announced.key)?;
            Some(json!({
                "attachmentId": announced.id,
                "purpose": part.purpose.as_str(),
                "mimeType": part.media_type,
                "filename": part.file_name,
                "hash": { "type": "sha512", "content": sha512_hex(&part.bytes) },
            }))
        })
        .collect();
    json!({
        "$schema": "https://schema.fitko.de/fit-connect/metadata/1.0.0/metadata.schema.json",
        "contentStructure": {
            "data": {
                "submissionSchema": { "schemaUri": parcel.schema_uri, "mimeType": "application/json" },
                "hash": { "type": "sha512", "content": sha512_hex(&parcel.data) },
            },
            "attachments": attachments,
        },
        "publicServiceType": {
            "name": parcel.service_name,
            "identifier": leika_urn(&parcel.leika),
        },
        "additionalReferenceInfo": {
            "senderReference": parcel.reference,
            "applicationDate": parcel.application_date.format("%Y-%m-%d").to_string(),
        },
    })
}

pub fn sha512_hex(bytes: &[u8]) -> String {
    Sha512::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The `title` and `detail` of a problem answer (RFC 9457), shortened, if the body has them.
fn problem(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let parts: Vec<&str> = ["error", "title", "detail", "error_description"]
        .iter()
        .filter_map(|k| value.get(*k).and_then(Value::as_str))
        .collect();
    let text = parts.join(": ");
    (!text.is_empty()).then(|| text.chars().take(300).collect())
}

fn refused(what: &str, status: u16, body: &[u8]) -> Failed {
    Failed::new(
        Some(status),
        format!(
            "the Submission API answered {status} to {what}{}",
            problem(body).map(|p| format!(": {p}")).unwrap_or_default()
        ),
    )
}

fn gone(submission: &str, status: u16, body: &[u8]) -> Failed {
    Failed {
        status: Some(status),
        error: format!(
            "the Submission API no longer knows the submission {submission} (404{}); the next attempt opens a new one",
            problem(body).map(|p| format!(": {p}")).unwrap_or_default()
        ),
        start_over: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit_connect(callback_secret: Option<&str>) -> FitConnect {
        let config = BTreeMap::from([(
            "musterstadt".to_string(),
            FitConnectConfig {
                token_url: "https://auth.example/token".into(),
                submission_api: "https://submission.example/".into(),
                client_id: "client".into(),
                client_secret_env: "SECRET".into(),
                callback_secret_env: callback_secret.map(|_| "CALLBACK".into()),
            },
        )]);
        let secret = callback_secret.map(str::to_string);
        FitConnect::new(&config, |name| match name {
            "SECRET" => Some("s3cret".into()),
            "CALLBACK" => secret.clone(),
            _ => None,
        })
        .unwrap()
    }

    fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
        let mut mac = hmac::Hmac::<Sha512>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(body);
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn a_callback_passes_only_with_the_right_hmac_and_a_fresh_timestamp() {
        let fc = fit_connect(Some("callback-secret"));
        let now = DateTime::from_timestamp(1_672_527_599, 0).unwrap();
        let body = br#"{"type":"https://schema.fitko.de/fit-connect/submission-api/callbacks/new-events"}"#;
        let ts = "1672527599";
        let good = sign("callback-secret", ts, body);
        assert_eq!(
            fc.verify_callback("musterstadt", Some(ts), Some(&good), body, now),
            Ok(())
        );
        let upper = good.to_uppercase();
        assert_eq!(
            fc.verify_callback("musterstadt", Some(ts), Some(&upper), body, now),
            Ok(())
        );

        let other = sign("another-secret", ts, body);
        assert_eq!(
            fc.verify_callback("musterstadt", Some(ts), Some(&other), body, now),
            Err(CallbackRefused::WrongSignature)
        );
        assert_eq!(
            fc.verify_callback("musterstadt", Some(ts), Some(&good), b"{}", now),
            Err(CallbackRefused::WrongSignature),
            "another body"
        );
        assert_eq!(
            fc.verify_callback("musterstadt", Some(ts), Some("zz"), body, now),
            Err(CallbackRefused::WrongSignature)
        );
        let later = now + chrono::Duration::seconds(301);
        assert_eq!(
            fc.verify_callback("musterstadt", Some(ts), Some(&good), body, later),
            Err(CallbackRefused::Stale(301))
        );
        let within = now + chrono::Duration::seconds(300);
        assert_eq!(
            fc.verify_callback("musterstadt", Some(ts), Some(&good), body, within),
            Ok(())
        );
        assert_eq!(
            fc.verify_callback("musterstadt", None, Some(&good), body, now),
            Err(CallbackRefused::Missing("callback-timestamp"))
        );
        assert_eq!(
            fc.verify_callback("musterstadt", Some("soon"), Some(&good), body, now),
            Err(CallbackRefused::BadTimestamp)
        );
        assert_eq!(
            fc.verify_callback("beispieldorf", Some(ts), Some(&good), body, now),
            Err(CallbackRefused::NotConfigured("beispieldorf".into()))
        );
        assert_eq!(
            fit_connect(None).verify_callback("musterstadt", Some(ts), Some(&good), body, now),
            Err(CallbackRefused::NotConfigured("musterstadt".into()))
        );
    }

    #[test]
    fn the_configuration_is_refused_with_the_key_at_fault() {
        let config = |token_url: &str| {
            BTreeMap::from([(
                "musterstadt".to_string(),
                FitConnectConfig {
                    token_url: token_url.into(),
                    submission_api: "http://127.0.0.1:9000".into(),
                    client_id: "client".into(),
                    client_secret_env: "SECRET".into(),
                    callback_secret_env: Some("CALLBACK".into()),
                },
            )])
        };
        let env = |name: &str| (name == "SECRET").then(|| "s".to_string());
        let err = FitConnect::new(&config("http://auth.example/token"), env)
            .err()
            .unwrap();
        assert!(err.starts_with("fit_connect.musterstadt.token_url: "), "{err}");
        let err = FitConnect::new(&config("http://[::1]:8/token"), env).err().unwrap();
        assert_eq!(
            err,
            "fit_connect.musterstadt.callback_secret_env: the environment variable CALLBACK is not set"
        );
    }

    #[test]
    fn callbacks_name_their_submissions_in_either_shape() {
        let body = br#"{"type":"x","submissionIds":["a","b"],"submissions":[{"destinationId":"d","submissionId":"a","caseId":"c"}]}"#;
        assert_eq!(
            announced(body).unwrap(),
            vec![
                Announcement {
                    submission_id: "a".into(),
                    case_id: Some("c".into())
                },
                Announcement {
                    submission_id: "b".into(),
                    case_id: None
                },
            ]
        );
        assert!(announced(b"not json").is_err());
    }

    #[test]
    fn an_event_log_entry_gives_its_kind_time_and_reasons() {
        let payload = json!({
            "iss": "https://submission.example", "iat": 1_672_527_599, "jti": "e-1",
            "sub": "submission:f39ab143", "txn": "case:9eec",
            "events": {"https://schema.fitko.de/fit-connect/events/reject-submission": {
                "problems": [{"title": "Fehlende Angabe", "detail": "Die Anlage fehlt."}]
            }}
        });
        let token = format!("e30.{}.c2ln", B64.encode(payload.to_string()));
        let (submission, event) = read_event(&token).unwrap();
        assert_eq!(submission, "f39ab143");
        assert_eq!(
            (event.id.as_str(), event.kind.as_str(), event.detail.as_deref()),
            ("e-1", "reject-submission", Some("Die Anlage fehlt."))
        );
        assert_eq!(event.at.timestamp(), 1_672_527_599);
        assert!(read_event("not a token").is_none());
    }

    #[test]
    fn the_metadata_lists_the_data_and_every_attachment_with_their_hashes() {
        let parcel = Parcel {
            service_name: "Bewohnerparkausweis".into(),
            leika: "99050012104000".into(),
            schema_uri: "https://baukasten.example/api/v1/schemas/abc.json".into(),
            data: br#"{"name":"Erika"}"#.to_vec(),
            attachments: vec![
                Part {
                    key: "att_1".into(),
                    purpose: Purpose::Attachment,
                    media_type: "image/png".into(),
                    file_name: "foto.png".into(),
                    bytes: b"png".to_vec(),
                },
                Part {
                    key: "receipt".into(),
                    purpose: Purpose::Form,
                    media_type: "application/pdf".into(),
                    file_name: "eingangsbestaetigung.pdf".into(),
                    bytes: b"%PDF".to_vec(),
                },
            ],
            reference: "BPA-2026-7K3Q9".into(),
            application_date: NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
        };
        let progress = Progress {
            destination_id: "d".into(),
            submission_id: "s".into(),
            case_id: "c".into(),
            attachments: vec![
                Announced {
                    key: "receipt".into(),
                    id: "22222222-2222-4222-8222-222222222222".into(),
                    sent: true,
                    sha512: None,
                },
                Announced {
                    key: "att_1".into(),
                    id: "11111111-1111-4111-8111-111111111111".into(),
                    sent: true,
                    sha512: None,
                },
            ],
            submitting: false,
        };
        assert!(fits(&progress, &parcel));
        let m = metadata(&parcel, &progress);
        assert_eq!(
            m["contentStructure"]["data"]["hash"]["content"],
            sha512_hex(br#"{"name":"Erika"}"#)
        );
        assert_eq!(m["contentStructure"]["attachments"][0]["purpose"], "form");
        assert_eq!(
            m["contentStructure"]["attachments"][1]["attachmentId"],
            "11111111-1111-4111-8111-111111111111"
        );
        assert_eq!(
            m["publicServiceType"]["identifier"],
            "urn:de:fim:leika:leistung:99050012104000"
        );
        assert_eq!(m["additionalReferenceInfo"]["applicationDate"], "2026-11-29");
        // SHA-512 of "abc", FIPS 180-2's example.
        assert!(sha512_hex(b"abc").starts_with("ddaf35a193617aba"));

        let mut fewer = parcel.clone();
        fewer.attachments.pop();
        assert!(
            !fits(&progress, &fewer),
            "another set of attachments opens a new submission"
        );
    }
}
