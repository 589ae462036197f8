//! The receipt of a submission as an accessible PDF (PDF/UA-1).
//!
//! Pure: the caller gives every text (it knows the service, the language and the answers);
//! this crate lays them out on A4 pages and writes a tagged PDF: a title, headings, tables
//! with header cells, the document's language, the title shown in the viewer's title bar, and
//! the font embedded. Nothing here reads a clock, a file or the network.

mod font;
mod layout;
mod write;

/// A receipt, every text in the document's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The document's language, e.g. `de` or `en` (BCP 47).
    pub lang: String,
    /// The document title: shown in the viewer's title bar and as the page's first heading,
    /// e.g. `Eingangsbestätigung: Anwohnerparkausweis`.
    pub title: String,
    /// Paragraphs under the title, e.g. where the submission went and what happens next.
    pub intro: Vec<String>,
    /// The sections in reading order: the case's facts, the answers step by step, fees,
    /// attachments.
    pub sections: Vec<Section>,
    /// A closing line at the end of the text, e.g. who made the document and when.
    pub closing: Option<String>,
    /// The page label before the numbers in each page's footer, e.g. `Seite` (gives
    /// "Seite 1 von 2"), and the word between them (`von`). Footers are artifacts, not text.
    pub page: (String, String),
}

/// A heading with a table under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub heading: String,
    pub table: Table,
}

/// A table with a header row; the first cell of each row is the row's header (a question, a
/// fee's name, a file's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The column headers, e.g. `["Angabe", "Antwort"]`.
    pub header: Vec<String>,
    pub rows: Vec<Row>,
}

/// One row: its cells, each one or more lines (an address is two lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub cells: Vec<Vec<String>>,
    /// Set in bold, e.g. a total.
    pub strong: bool,
}

impl Row {
    /// A row of single-line cells.
    pub fn new<S: Into<String>>(cells: impl IntoIterator<Item = S>) -> Row {
        Row {
            cells: cells.into_iter().map(|c| vec![c.into()]).collect(),
            strong: false,
        }
    }
}

/// Why no PDF was made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The document breaks a rule of PDF/UA-1 (a defect of this crate, reported, not hidden).
    #[error("the receipt is not valid PDF/UA-1: {0}")]
    Invalid(String),
    /// A table row has a different number of cells than its header.
    #[error("a row of the table `{0}` has {1} cells, its header {2}")]
    Shape(String, usize, usize),
}

/// Writes the receipt as PDF/UA-1: A4 pages, DejaVu Sans embedded (as a subset), every line
/// of text tagged in reading order, footers and rules marked as artifacts.
///
/// Any text is accepted: a character the font lacks is drawn as `?`, a word wider than its
/// column is set smaller (down to 7 pt) or else broken, a long table continues on the next
/// page under its header row repeated.
/// A blank title leaves out the first heading, and the metadata's title is then `-` (PDF/UA
/// requires one); a language that is blank or not made of letters, digits and hyphens is
/// written as `und` (undetermined).
pub fn pdf(receipt: &Receipt) -> Result<Vec<u8>, Error> {
    for section in &receipt.sections {
        let columns = section.table.header.len();
        if let Some(row) = (section.table.rows.iter()).find(|row| row.cells.len() != columns) {
            return Err(Error::Shape(section.heading.clone(), row.cells.len(), columns));
        }
    }
    let fonts = font::Fonts::new()?;
    let plan = layout::lay_out(receipt, &fonts);
    // The title as the first heading shows it (control characters would make the XMP
    // metadata invalid XML); the language only if it can be a BCP 47 tag.
    let title = fonts.printable(font::Face::Bold, &receipt.title);
    let title = title.trim();
    let lang = receipt.lang.trim();
    let tag = |c: char| c.is_ascii_alphanumeric() || c == '-';
    let head = write::Head {
        title: if title.is_empty() { "-" } else { title },
        lang: if !lang.is_empty() && lang.chars().all(tag) {
            lang
        } else {
            "und"
        },
        page: (&receipt.page.0, &receipt.page.1),
    };
    write::write(&head, &plan, &fonts)
}
