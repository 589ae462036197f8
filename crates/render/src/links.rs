//! Where the links of a page point. The server builds absolute paths under `/{tenant}/…`; the
//! static site builds relative paths so its files open from disk. The templates only ever see
//! the strings these methods return.

use baukasten_dsl::model::Service;

/// The URLs of a page. One value describes one page: [`Links::other_language`] is the URL of
/// *this* page in the other language, so the caller makes a new value per request or per file.
///
/// Service URLs take the [`Service`] as the catalog holds it: a municipality's overlay has
/// `tenant: Some(..)`, a shared service `None`. A server that offers a shared service under a
/// municipality's address knows that municipality itself.
pub trait Links {
    /// A file of [`crate::assets`] by its name, such as `main.css` or `reveal.js`.
    fn asset(&self, name: &str) -> String;
    /// The stylesheet [`crate::theme_css`] builds for the municipality `tenant`.
    fn theme(&self, tenant: &str) -> String;
    /// The catalog of a municipality, or of the shared services when `tenant` is `None`.
    fn catalog(&self, tenant: Option<&str>) -> String;
    /// A service's start page.
    fn start(&self, service: &Service) -> String;
    /// The page of one step (GET), and the target of its form unless
    /// [`Links::step_action`] says otherwise.
    fn step(&self, service: &Service, step: &str) -> String;
    /// Where the form of step `step` is sent. The server takes it back to the same URL.
    fn step_action(&self, service: &Service, step: &str) -> String {
        self.step(service, step)
    }
    /// The summary ("Bitte prüfen Sie Ihre Angaben").
    fn summary(&self, service: &Service) -> String;
    /// Where the summary's form is sent to submit the application.
    fn send(&self, service: &Service) -> String;
    /// The confirmation page after sending.
    fn confirmation(&self, service: &Service) -> String;
    /// The receipt (PDF) of the submission just sent, offered on the confirmation page; `None`
    /// where there is none (static previews).
    fn receipt(&self, _service: &Service) -> Option<String> {
        None
    }
    /// The page where a citizen enters a resume code; also the target of its form.
    fn resume(&self, service: &Service) -> String;
    /// The endpoint the optional script posts a step's form to (as the form itself is posted,
    /// `application/x-www-form-urlencoded`) while the citizen answers; it replies which fields
    /// are shown. `None` leaves the script out.
    fn evaluate(&self, service: &Service, step: &str) -> Option<String>;
    /// This same page in the other language (German ↔ English).
    fn other_language(&self) -> String;
    /// Whether forms are sent with POST (the server) or GET (static previews, which have no
    /// server behind them).
    fn post_forms(&self) -> bool {
        true
    }
}
