//! The render crate's one integration-test binary: the markup each field type gets, the error
//! states, decoding posted forms, the UI string catalog, themes, and the static site.

mod catalog;
mod common;
mod form;
mod inbox;
mod markup;
mod site;
mod snapshots;
