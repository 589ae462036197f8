//! The language of a response: German unless the client asks for English.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::header;

/// The language of a response: German unless the client asks for English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    De,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    /// `?lang=en`, else the `lang` cookie, else `Accept-Language`; German by default.
    pub fn of_request(req: &HttpRequest) -> Lang {
        let query = req.query_string();
        if let Some(lang) = query.split('&').find_map(|kv| kv.strip_prefix("lang=")) {
            return if lang == "en" { Lang::En } else { Lang::De };
        }
        if let Some(c) = req.cookie("lang") {
            return if c.value() == "en" { Lang::En } else { Lang::De };
        }
        let accept = req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if accept.trim_start().to_ascii_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::De
        }
    }
}

/// Keeps a `?lang=` choice in a cookie for the pages that follow.
pub fn remember_language(req: &HttpRequest, response: &mut actix_web::HttpResponseBuilder) {
    let query = req.query_string();
    if let Some(lang) = query.split('&').find_map(|kv| kv.strip_prefix("lang=")) {
        let lang = if lang == "en" { "en" } else { "de" };
        response.cookie(
            Cookie::build("lang", lang.to_string())
                .path("/")
                .same_site(SameSite::Lax)
                .max_age(time::Duration::days(365))
                .finish(),
        );
    }
}
