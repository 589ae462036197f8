//! The URLs of the citizen's pages on the server, for one page of one municipality.

use actix_web::HttpRequest;
use baukasten_dsl::model::Service;
use baukasten_render::Links;

use crate::lang::Lang;

/// The URLs of the server's pages, for one page of one municipality.
pub(super) struct ServerLinks {
    tenant: String,
    /// This page's path, for the language link.
    path: String,
    lang: Lang,
}

impl ServerLinks {
    pub(super) fn new(req: &HttpRequest, tenant: &str, lang: Lang) -> Self {
        ServerLinks {
            tenant: tenant.to_string(),
            path: req.path().to_string(),
            lang,
        }
    }

    pub(super) fn base(&self, service: &Service) -> String {
        format!("/{}/{}/", self.tenant, service.id)
    }
}

impl Links for ServerLinks {
    fn asset(&self, name: &str) -> String {
        format!("/assets/{name}")
    }
    fn theme(&self, tenant: &str) -> String {
        format!("/assets/theme/{tenant}.css")
    }
    fn catalog(&self, tenant: Option<&str>) -> String {
        match tenant {
            Some(t) => format!("/{t}/"),
            None => "/".into(),
        }
    }
    fn start(&self, service: &Service) -> String {
        self.base(service)
    }
    fn step(&self, service: &Service, step: &str) -> String {
        format!("{}schritt/{step}", self.base(service))
    }
    fn summary(&self, service: &Service) -> String {
        format!("{}pruefen", self.base(service))
    }
    fn send(&self, service: &Service) -> String {
        format!("{}senden", self.base(service))
    }
    fn confirmation(&self, service: &Service) -> String {
        format!("{}bestaetigung", self.base(service))
    }
    fn receipt(&self, service: &Service) -> Option<String> {
        Some(format!("{}eingangsbestaetigung.pdf", self.base(service)))
    }
    fn resume(&self, service: &Service) -> String {
        format!("{}fortsetzen", self.base(service))
    }
    fn evaluate(&self, service: &Service, step: &str) -> Option<String> {
        Some(format!("{}/live", self.step(service, step)))
    }
    fn other_language(&self) -> String {
        let other = if self.lang == Lang::De { "en" } else { "de" };
        format!("{}?lang={other}", self.path)
    }
}
