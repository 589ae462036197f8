//! Webhooks in the Standard Webhooks format, version 1 (<https://www.standardwebhooks.com/>).
//!
//! Each attempt is a `POST` of the JSON body with three headers:
//! `webhook-id` (the delivery's id, the same for every attempt), `webhook-timestamp` (unix
//! seconds of this attempt) and `webhook-signature`: `v1,` and the base64 of HMAC-SHA256 over
//! `{id}.{timestamp}.{body}`, keyed with the secret's bytes (the base64 after `whsec_`). During
//! a key rotation the signatures of every configured secret are sent, separated by spaces.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// A receiver as the server configuration names it:
/// `webhooks: { musterstadt: { fachverfahren: { url, secret_env } } }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookTarget {
    /// `https://…`; plain `http://` only to a loopback address (a receiver on this machine).
    pub url: String,
    /// The environment variable that holds the secret (`whsec_…`), or several separated by
    /// spaces during a key rotation. Secrets are never written in a file.
    pub secret_env: String,
}

/// A signing secret: the bytes after `whsec_`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// Reads `whsec_<base64>`.
    pub fn parse(text: &str) -> Result<Secret, String> {
        let encoded = text
            .trim()
            .strip_prefix("whsec_")
            .ok_or("a webhook secret starts with `whsec_`")?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|e| format!("the part after `whsec_` is not base64: {e}"))?;
        if bytes.len() < 24 {
            return Err("a webhook secret has at least 24 bytes (32 are usual)".into());
        }
        Ok(Secret(bytes))
    }
}

/// The `webhook-signature` header: one `v1,<base64>` per secret, separated by spaces.
pub fn signature(secrets: &[Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|secret| {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&secret.0).expect("HMAC takes keys of any length");
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A receiver, ready to send to.
#[derive(Debug, Clone)]
struct Receiver {
    url: String,
    secrets: Vec<Secret>,
}

/// Every municipality's receivers, with their secrets read, and the one HTTP agent all
/// attempts share (its TLS configuration and connections are built once, not per attempt).
#[derive(Debug, Clone)]
pub struct Webhooks {
    receivers: BTreeMap<(String, String), Receiver>,
    agent: ureq::Agent,
}

impl Default for Webhooks {
    fn default() -> Self {
        Webhooks {
            receivers: BTreeMap::new(),
            agent: agent(),
        }
    }
}

/// The agent for attempts: 30 s per attempt, statuses as answers (not errors), no redirects (a
/// receiver answers at its configured address).
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// What a receiver made of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// It answered with this HTTP status.
    Status(u16),
    /// It could not be reached, or did not answer in time.
    Unreachable(String),
}

impl Webhooks {
    /// The configured receivers, with secrets from the environment (`env` looks a variable up).
    /// Refuses a URL that is neither https nor http to a loopback address, and a secret
    /// variable that is unset or does not hold `whsec_` secrets.
    pub fn new(
        config: &BTreeMap<String, BTreeMap<String, WebhookTarget>>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Webhooks, String> {
        let mut receivers = BTreeMap::new();
        for (tenant, targets) in config {
            for (name, target) in targets {
                let at = format!("webhooks.{tenant}.{name}");
                check_url(&target.url).map_err(|e| format!("{at}.url: {e}"))?;
                let value = env(&target.secret_env).ok_or_else(|| {
                    format!(
                        "{at}.secret_env: the environment variable {} is not set",
                        target.secret_env
                    )
                })?;
                let secrets = value
                    .split_whitespace()
                    .map(Secret::parse)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("{at}: {}: {e}", target.secret_env))?;
                if secrets.is_empty() {
                    return Err(format!("{at}: the environment variable {} is empty", target.secret_env));
                }
                receivers.insert(
                    (tenant.clone(), name.clone()),
                    Receiver {
                        url: target.url.clone(),
                        secrets,
                    },
                );
            }
        }
        Ok(Webhooks {
            receivers,
            agent: agent(),
        })
    }

    /// Whether `tenant` has a receiver called `name`.
    pub fn has(&self, tenant: &str, name: &str) -> bool {
        self.receivers.contains_key(&(tenant.to_string(), name.to_string()))
    }

    /// Sends one attempt. `None` when the municipality has no such receiver.
    pub fn send(&self, tenant: &str, name: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<Answer> {
        let receiver = self.receivers.get(&(tenant.to_string(), name.to_string()))?;
        let result = self
            .agent
            .post(&receiver.url)
            .header("content-type", "application/json")
            .header("user-agent", concat!("Baukasten/", env!("CARGO_PKG_VERSION")))
            .header("webhook-id", id)
            .header("webhook-timestamp", &timestamp.to_string())
            .header("webhook-signature", &signature(&receiver.secrets, id, timestamp, body))
            .send(body);
        Some(match result {
            Ok(response) => Answer::Status(response.status().as_u16()),
            Err(e) => Answer::Unreachable(e.to_string()),
        })
    }
}

pub(crate) fn check_url(url: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(format!("`{url}` is not an https:// address"));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(format!(
            "`{url}` is plain http: receivers are reached over https, except on this machine (127.0.0.1, ::1, localhost)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signs_as_the_specification_example() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = signature(
            &[secret],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_rotation_sends_one_signature_per_secret() {
        let a = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let b = Secret::parse(&format!("whsec_{}", STANDARD.encode([7u8; 32]))).unwrap();
        let sig = signature(&[a, b], "msg_1", 1, b"{}");
        let parts: Vec<&str> = sig.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_ne!(parts[0], parts[1]);
    }

    #[test]
    fn secrets_and_addresses_are_checked() {
        assert!(Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(Secret::parse("whsec_!!!").is_err());
        assert!(Secret::parse("whsec_c2hvcnQ=").is_err(), "too short");
        assert!(check_url("https://fachverfahren.example/hook").is_ok());
        assert!(check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(check_url("http://[::1]:9000/hook").is_ok());
        assert!(check_url("http://localhost/hook").is_ok());
        assert!(check_url("http://fachverfahren.example/hook").is_err());
        assert!(check_url("ftp://x").is_err());
        let mut config = BTreeMap::new();
        config.insert(
            "musterstadt".to_string(),
            BTreeMap::from([(
                "fachverfahren".to_string(),
                WebhookTarget {
                    url: "https://fv.example/hook".into(),
                    secret_env: "FV_SECRET".into(),
                },
            )]),
        );
        let missing = Webhooks::new(&config, |_| None).unwrap_err();
        assert!(missing.contains("FV_SECRET is not set"), "{missing}");
        let ok = Webhooks::new(&config, |_| Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into())).unwrap();
        assert!(ok.has("musterstadt", "fachverfahren"));
        assert!(!ok.has("beispieldorf", "fachverfahren"));
    }
}
