//! The static files every page links: the stylesheet (with print rules) and the optional
//! reveal script. Embedded, so the server serves them and the CLI writes them without looking
//! for files at run time.

/// One static file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// The file name, as passed to [`crate::Links::asset`].
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

static ASSETS: &[Asset] = &[
    Asset {
        name: "main.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/main.css"),
    },
    Asset {
        name: "reveal.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/reveal.js"),
    },
];

/// Every static file pages link to.
pub fn assets() -> &'static [Asset] {
    ASSETS
}
