//! FIM data fields for Baukasten: XDatenfelder 3 messages read into a plain [`model`] and
//! written back ([`read()`], [`write()`]), and the model turned into the text of a Baukasten
//! service file ([`service::to_service_yaml`]), so a clerk can start a form from the federal
//! data fields instead of typing them.
//!
//! The crate is pure: it takes text and returns text, knows no files, no clock and no
//! network. It does not check a service file; `baukasten-dsl` does that. The other direction,
//! a checked Baukasten service back to XDatenfelder, is [`export::from_service`].
//!
//! ```
//! let xml = r#"<xdf:xdatenfelder.stammdatenschema.0102 xmlns:xdf="urn:xoev-de:fim:standard:xdatenfelder_3.0.0">
//!   <xdf:stammdatenschema>
//!     <xdf:identifikation><xdf:id>S60000001</xdf:id><xdf:version>1.0</xdf:version></xdf:identifikation>
//!     <xdf:name>Hallo</xdf:name>
//!   </xdf:stammdatenschema>
//! </xdf:xdatenfelder.stammdatenschema.0102>"#;
//! let schema = baukasten_fim::read(xml).unwrap();
//! assert_eq!(schema.id, "S60000001");
//! ```

pub mod export;
pub mod model;
pub mod read;
pub mod service;
pub mod write;

pub use export::from_service;
pub use read::{ReadError, ReadErrorKind, read};
pub use service::{CatalogImport, Import, KnownGroup, Warning, to_catalog_files, to_service_yaml};
pub use write::{Header, write};
