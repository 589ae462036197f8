//! The catalog's search: which services match what a citizen or an integrator typed. The
//! catalog page and `GET /api/v1/services?q=` both ask this one function, so they find the same.

use crate::model::Service;

/// The services whose title (German or English), keyword, id or LeiKa key contains every word
/// of `query`, ignoring case, in the order given. An empty query matches everything.
pub fn search<'s>(services: impl IntoIterator<Item = &'s Service>, query: &str) -> Vec<&'s Service> {
    let words = words(query);
    services
        .into_iter()
        .filter(|service| words.iter().all(|word| matches_word(service, word)))
        .collect()
}

/// Whether one service matches `query` as [`search`] decides.
pub fn matches(service: &Service, query: &str) -> bool {
    words(query).iter().all(|word| matches_word(service, word))
}

/// The query's words, lower case. Bounded so a pasted essay cannot make one catalog request
/// expensive.
fn words(query: &str) -> Vec<String> {
    query
        .split_whitespace()
        .take(10)
        .map(|w| w.chars().take(100).collect::<String>().to_lowercase())
        .collect()
}

fn matches_word(service: &Service, word: &str) -> bool {
    let has = |text: &str| text.to_lowercase().contains(word);
    service.title.0.values().any(|t| has(t))
        || service.keywords.iter().any(|k| has(k))
        || has(&service.id)
        || service.leika.as_deref().is_some_and(|l| l.contains(word))
}
