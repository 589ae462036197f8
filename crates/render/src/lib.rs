//! HTML pages for Baukasten services: the catalog, a service's start page, one page per step,
//! the summary, the confirmation, resuming a saved draft, and friendly 404 and error pages.
//!
//! The pages follow BITV 2.0 (WCAG 2.1 AA) and work without JavaScript: every field of a step is
//! in the markup, fields the engine hides carry the `hidden` attribute, and the server decides
//! everything. An optional external script (`reveal.js`, see [`assets`]) asks the server's
//! evaluate endpoint and reveals fields live; no logic runs in the browser.
//!
//! The crate knows HTML and nothing else: no HTTP, no files, no clock. The caller says where
//! links go through the [`Links`] trait (the server and the static site build URLs differently),
//! hands in the engine's [`Evaluation`](baukasten_engine::Evaluation), and gets a whole document
//! back as a `String`. Form posts come back through [`decode_form`].
//!
//! Every UI string comes from the catalog in `i18n.rs` (German and English); templates are
//! embedded minijinja files with auto-escaping; a municipality's colours come from a stylesheet
//! built by [`theme_css`], so pages work under a strict Content-Security-Policy.

mod assets;
pub mod backoffice;
mod fields;
mod form;
mod i18n;
mod links;
mod pages;
mod site;
mod theme;
mod view;

pub use assets::{Asset, assets};
pub use baukasten_dsl::search::search;
pub use form::{Action, Decoded, FROM_SUMMARY, decode_form};
pub use i18n::{UI_STRINGS, ui_string};
pub use links::Links;
pub use pages::{FALLBACK_PAGE, Page, Renderer, ResumeState, SessionExpiry, StepMode};
pub use site::static_site;
pub use theme::theme_css;
