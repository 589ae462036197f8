//! Source files and positions in them.
//!
//! The language never reads files itself: the caller hands it the text of each file together
//! with the path to show in diagnostics. Every node read from YAML carries a [`Span`] that
//! names its file by index, so a diagnostic about a merged overlay still points into the file
//! the offending line came from.

use std::sync::Arc;

/// One file of service text, as the caller read it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path shown to the clerk, e.g. `forms/musterstadt/bewohnerparkausweis.yaml`.
    pub path: Arc<str>,
    pub text: Arc<str>,
}

impl SourceFile {
    pub fn new(path: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
        }
    }

    /// The text of the 1-based line `line`, without its line ending.
    pub fn line(&self, line: u32) -> Option<&str> {
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        self.text.lines().nth(index)
    }
}

/// Index of a file in the [`Sources`] it belongs to.
pub type FileId = u32;

/// All files of one catalog load. Spans refer to files by their index here.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId::try_from(self.files.len() - 1).unwrap_or(FileId::MAX)
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(usize::try_from(id).ok()?)
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (i as FileId, f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// A place in a source file: 1-based line and column (in characters) and a length in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    pub file: FileId,
    pub line: u32,
    pub col: u32,
    pub len: u32,
}

impl Span {
    pub const fn new(file: FileId, line: u32, col: u32, len: u32) -> Self {
        Self { file, line, col, len }
    }

    /// A span that names the file but no position in it (for problems of a whole file).
    pub const fn file_start(file: FileId) -> Self {
        Self {
            file,
            line: 1,
            col: 1,
            len: 0,
        }
    }
}
