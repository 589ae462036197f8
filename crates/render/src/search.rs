//! The catalog's search: which services match what a citizen typed. The server reuses it for
//! its catalog page; the page itself only shows what this returns.

use baukasten_dsl::model::Service;

/// The services whose title (German or English), keyword, id or LeiKa key contains every word
/// of `query`, ignoring case, in the order given. An empty query matches everything.
pub fn search<'s>(services: impl IntoIterator<Item = &'s Service>, query: &str) -> Vec<&'s Service> {
    // Bounded so a pasted essay cannot make one catalog request expensive.
    let words: Vec<String> = query
        .split_whitespace()
        .take(10)
        .map(|w| w.chars().take(100).collect::<String>().to_lowercase())
        .collect();
    services
        .into_iter()
        .filter(|service| words.iter().all(|word| matches(service, word)))
        .collect()
}

fn matches(service: &Service, word: &str) -> bool {
    let has = |text: &str| text.to_lowercase().contains(word);
    service.title.0.values().any(|t| has(t))
        || service.keywords.iter().any(|k| has(k))
        || has(&service.id)
        || service.leika.as_deref().is_some_and(|l| l.contains(word))
}
