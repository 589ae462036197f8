//! Security of the citizen's session and of every response: signed session cookies, CSRF
//! tokens, security headers and rate limits.
//!
//! The session cookie carries only a draft id and its HMAC; everything else stays in the
//! store. The CSRF token of a form is an HMAC of the draft id under a second purpose, so a
//! form posted from another site cannot carry it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::catalog::hex;
use crate::error::ApiError;

/// The Content-Security-Policy of every response: nothing inline, nothing from elsewhere but
/// images (a municipality's logo may live on its own site), no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CSP))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
        ))
        .add((
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
}

/// The server's secret, from which the cookie and CSRF keys are derived.
#[derive(Clone)]
pub struct Secret([u8; 32]);

impl Secret {
    pub fn new(bytes: [u8; 32]) -> Self {
        Secret(bytes)
    }

    fn mac(&self, purpose: &str, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex(&mac.finalize().into_bytes()[..16])
    }

    /// The value of the session cookie for a draft: `<id>.<mac>`.
    pub fn sign_session(&self, draft: &str) -> String {
        format!("{draft}.{}", self.mac("session", draft))
    }

    /// The draft id of a session cookie, if the cookie is genuine.
    pub fn open_session(&self, value: &str) -> Option<String> {
        let (draft, mac) = value.rsplit_once('.')?;
        constant_time_eq(mac.as_bytes(), self.mac("session", draft).as_bytes()).then(|| draft.to_string())
    }

    /// The CSRF token for the forms of a draft (or of the browser's `anon` id before a draft
    /// exists).
    pub fn csrf(&self, session: &str) -> String {
        self.mac("csrf", session)
    }

    pub fn csrf_ok(&self, session: &str, token: &str) -> bool {
        constant_time_eq(token.as_bytes(), self.csrf(session).as_bytes())
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A token bucket per client address for every endpoint that writes or computes: evaluation,
/// submissions, uploads, step posts and resume codes.
pub struct RateLimiter {
    per_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the client; no other peer is believed.
    trusted_proxies: Vec<IpAddr>,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32, trusted_proxies: Vec<IpAddr>) -> Self {
        RateLimiter {
            per_minute,
            trusted_proxies,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for the request's client, or refuses with 429 and the seconds until
    /// the next token.
    pub fn check(&self, req: &HttpRequest) -> Result<(), ApiError> {
        let ip = self.client(req);
        let now = Instant::now();
        if self.take(ip, now) {
            Ok(())
        } else {
            Err(ApiError::RateLimited(self.retry_after(ip, now)))
        }
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then the last
    /// address in `X-Forwarded-For` that is not a trusted proxy itself (the ones before it
    /// were written by the client and prove nothing).
    pub fn client(&self, req: &HttpRequest) -> IpAddr {
        let peer = req.peer_addr().map(|a| a.ip()).unwrap_or(IpAddr::from([0, 0, 0, 0]));
        if !self.trusted_proxies.contains(&peer) {
            return peer;
        }
        let forwarded = req
            .headers()
            .get_all("X-Forwarded-For")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        forwarded
            .iter()
            .rev()
            .filter_map(|a| a.parse::<IpAddr>().ok())
            .find(|a| !self.trusted_proxies.contains(a))
            .unwrap_or(peer)
    }

    /// Whole seconds until `ip` has a token again (at least 1).
    fn retry_after(&self, ip: IpAddr, now: Instant) -> u64 {
        let capacity = f64::from(self.per_minute.max(1));
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let tokens = buckets.get(&ip).map_or(0.0, |(tokens, at)| {
            tokens + now.duration_since(*at).as_secs_f64() * capacity / 60.0
        });
        (((1.0 - tokens).max(0.0) * 60.0 / capacity).ceil() as u64).max(1)
    }

    pub fn take(&self, ip: IpAddr, now: Instant) -> bool {
        let capacity = f64::from(self.per_minute.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        // Forget idle clients now and then, so the map stays small.
        if buckets.len() > 10_000 {
            buckets.retain(|_, (_, at)| now.duration_since(*at) < Duration::from_secs(60));
        }
        let (tokens, at) = buckets.entry(ip).or_insert((capacity, now));
        let refill = now.duration_since(*at).as_secs_f64() * capacity / 60.0;
        *tokens = (*tokens + refill).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The requests each client address has in flight.
#[derive(Default)]
pub struct InFlight {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One request in flight; leaving it (on drop) frees its place.
pub struct Slot {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    client: IpAddr,
}

impl InFlight {
    /// A place for one more request of `client`, unless it has `max` in flight already.
    pub fn enter(&self, client: IpAddr, max: usize) -> Option<Slot> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(client).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot {
            counts: self.counts.clone(),
            client,
        })
    }

    /// Requests in flight from `client` now.
    pub fn of(&self, client: IpAddr) -> usize {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.get(&client).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_cookie_cannot_be_forged_or_moved() {
        let secret = Secret::new([7; 32]);
        let cookie = secret.sign_session("abc123");
        assert_eq!(secret.open_session(&cookie).as_deref(), Some("abc123"));
        let forged = cookie.replace("abc123", "abc124");
        assert_eq!(secret.open_session(&forged), None);
        assert_eq!(Secret::new([8; 32]).open_session(&cookie), None);
        assert_eq!(secret.open_session("no-dot"), None);
    }

    #[test]
    fn csrf_tokens_are_per_session() {
        let secret = Secret::new([1; 32]);
        let token = secret.csrf("draft-a");
        assert!(secret.csrf_ok("draft-a", &token));
        assert!(!secret.csrf_ok("draft-b", &token));
        assert!(!secret.csrf_ok("draft-a", ""));
    }

    #[test]
    fn the_rate_limit_refills_over_a_minute() {
        let limiter = RateLimiter::new(3, vec![]);
        let ip = IpAddr::from([10, 0, 0, 1]);
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.take(ip, t0)));
        assert!(
            !limiter.take(ip, t0),
            "the fourth request in the same instant is refused"
        );
        assert!(
            limiter.take(IpAddr::from([10, 0, 0, 2]), t0),
            "another client is not affected"
        );
        assert_eq!(limiter.retry_after(ip, t0), 20, "a token every 20 s");
        assert!(
            limiter.take(ip, t0 + Duration::from_secs(20)),
            "one token back after 20 s"
        );
    }

    #[test]
    fn a_client_gets_at_most_max_places_and_a_left_place_is_free_again() {
        let in_flight = InFlight::default();
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let first = in_flight.enter(a, 2).expect("first");
        let second = in_flight.enter(a, 2).expect("second");
        assert!(in_flight.enter(a, 2).is_none(), "a third is refused");
        assert!(in_flight.enter(b, 2).is_some(), "another client is not affected");
        drop(first);
        assert_eq!(in_flight.of(a), 1);
        assert!(in_flight.enter(a, 2).is_some(), "a place left is free again");
        drop(second);
    }
}

/// Failed sign-ins per key (a client address, or a municipality and name) in the last minute:
/// after `limit` of them, the key waits until the minute is over.
pub struct Attempts {
    limit: usize,
    window: Duration,
    failed: Mutex<HashMap<String, Vec<Instant>>>,
}

impl Attempts {
    pub fn new(limit: usize) -> Self {
        Attempts {
            limit,
            window: Duration::from_secs(60),
            failed: Mutex::new(HashMap::new()),
        }
    }

    /// Whether every key may try now.
    pub fn allowed(&self, keys: &[&str], now: Instant) -> bool {
        let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter().all(|key| {
            failed.get_mut(*key).is_none_or(|times| {
                times.retain(|t| now.duration_since(*t) < self.window);
                times.len() < self.limit
            })
        })
    }

    /// Counts a failed attempt for every key.
    pub fn failed(&self, keys: &[&str], now: Instant) {
        let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        if failed.len() > 10_000 {
            failed.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < self.window));
        }
        for key in keys {
            failed.entry((*key).to_string()).or_default().push(now);
        }
    }
}

/// Failed sign-ins to the back office in the last minute: 20 per client address (an office
/// behind one address has many clerks), 5 per account.
pub struct SignInAttempts {
    pub per_client: Attempts,
    pub per_account: Attempts,
}

impl Default for SignInAttempts {
    fn default() -> Self {
        SignInAttempts {
            per_client: Attempts::new(20),
            per_account: Attempts::new(5),
        }
    }
}

#[cfg(test)]
mod attempt_tests {
    use super::*;

    #[test]
    fn attempts_are_limited_per_key_for_a_minute() {
        let attempts = Attempts::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(attempts.allowed(&["ip:1", "musterstadt/erika"], t0));
            attempts.failed(&["ip:1", "musterstadt/erika"], t0);
        }
        assert!(!attempts.allowed(&["ip:1"], t0));
        assert!(
            !attempts.allowed(&["ip:2", "musterstadt/erika"], t0),
            "another address, same name"
        );
        assert!(attempts.allowed(&["ip:2", "musterstadt/max"], t0));
        assert!(attempts.allowed(&["ip:1", "musterstadt/erika"], t0 + Duration::from_secs(61)));
    }
}
