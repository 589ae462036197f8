//! Lays a receipt out on A4 pages: where each line of text and each rule goes, and which
//! structure (heading, paragraph, table cell) each line belongs to.
//!
//! The result is plain data, drawn by `write`; nothing here knows krilla. Every line of real
//! text gets a number (a leaf); the blocks list the leaves in reading order, which is the
//! document's order, so the structure tree follows the text, not the page.

use crate::font::{Face, Fonts, Line};
use crate::{Receipt, Row, Table};

pub(crate) const PAGE_WIDTH: f32 = 595.28;
pub(crate) const PAGE_HEIGHT: f32 = 841.89;
pub(crate) const MARGIN: f32 = 56.0;
const TOP: f32 = MARGIN;
/// The body ends above the footer.
const BOTTOM: f32 = PAGE_HEIGHT - MARGIN - 8.0;
const WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
/// The footer's baseline, in the bottom margin.
pub(crate) const FOOTER_BASELINE: f32 = PAGE_HEIGHT - 30.0;

/// A font, a size and the height of a line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Style {
    pub face: Face,
    pub size: f32,
    pub leading: f32,
}

impl Style {
    /// Where the baseline sits below a line's top: the capitals centred in the line (DejaVu's
    /// capitals are 0.73 em high), so that rules above and below a line look even.
    fn baseline(self) -> f32 {
        (self.leading + 0.73 * self.size) / 2.0
    }

    fn bold(self) -> Style {
        Style {
            face: Face::Bold,
            ..self
        }
    }
}

pub(crate) const BODY: Style = Style {
    face: Face::Regular,
    size: 10.5,
    leading: 14.0,
};
const TITLE: Style = Style {
    face: Face::Bold,
    size: 18.0,
    leading: 23.0,
};
const HEADING: Style = Style {
    face: Face::Bold,
    size: 13.0,
    leading: 17.0,
};
pub(crate) const FOOTER: Style = Style {
    face: Face::Regular,
    size: 8.5,
    leading: 11.0,
};

const AFTER_TITLE: f32 = 8.0;
const AFTER_PARAGRAPH: f32 = 6.0;
const BEFORE_HEADING: f32 = 18.0;
const AFTER_HEADING: f32 = 6.0;
const CELL_X: f32 = 5.0;
const CELL_Y: f32 = 4.0;
/// The label column's share of a two-column table.
const LABEL_SHARE: f32 = 0.38;
/// Above and below a table, and under its header row.
const RULE_STRONG: Rule = Rule { width: 0.8, gray: 0x40 };
/// Between rows.
const RULE_THIN: Rule = Rule { width: 0.3, gray: 0xA0 };

/// A horizontal line across the table; a layout artifact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rule {
    pub width: f32,
    /// 0 is black, 255 white.
    pub gray: u8,
}

/// Something drawn on a page. Coordinates from the page's top left corner, in points.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Mark {
    /// A line of text at its baseline; `leaf` is its place in the structure, `None` for an
    /// artifact (a table header repeated on a new page).
    Text {
        leaf: Option<usize>,
        x: f32,
        y: f32,
        style: Style,
        text: String,
    },
    Rule {
        x0: f32,
        x1: f32,
        y: f32,
        rule: Rule,
    },
}

/// A structure element and the leaves (lines) it holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    Heading {
        level: u16,
        title: String,
        /// Where it starts: the page's index and the top of its first line.
        at: (usize, f32),
        leaves: Vec<usize>,
    },
    Paragraph(Vec<usize>),
    Table {
        /// Each header cell's leaves.
        header: Vec<Vec<usize>>,
        /// Each row's cells' leaves.
        rows: Vec<Vec<Vec<usize>>>,
    },
}

/// The laid-out receipt.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub pages: Vec<Vec<Mark>>,
    pub blocks: Vec<Block>,
    /// How many leaves there are; they are numbered from 0.
    pub leaves: usize,
}

/// Lays out `receipt`, whose rows have been checked to fit their headers.
pub(crate) fn lay_out(receipt: &Receipt, fonts: &Fonts) -> Plan {
    let mut flow = Flow {
        fonts,
        plan: Plan::default(),
        y: TOP,
        fresh: true,
    };
    flow.plan.pages.push(Vec::new());

    let title = fonts.printable(TITLE.face, &receipt.title);
    let title = title.trim();
    if !title.is_empty() {
        let keep = receipt.intro.first().map_or(0.0, |_| BODY.leading);
        flow.heading(1, title, TITLE, keep);
        flow.y += AFTER_TITLE;
    }
    for paragraph in &receipt.intro {
        flow.paragraph(paragraph);
    }
    for section in &receipt.sections {
        let table = TableLayout::new(&section.table, fonts);
        let heading = fonts.printable(HEADING.face, &section.heading);
        let heading = heading.trim();
        if !heading.is_empty() {
            flow.space(BEFORE_HEADING);
            flow.heading(2, heading, HEADING, AFTER_HEADING + table.keep());
            flow.y += AFTER_HEADING;
        } else {
            flow.space(AFTER_HEADING);
        }
        flow.table(&table);
    }
    if let Some(closing) = &receipt.closing {
        flow.space(BEFORE_HEADING - AFTER_PARAGRAPH);
        flow.paragraph(closing);
    }
    flow.plan
}

/// The text flowing down the pages.
struct Flow<'a> {
    fonts: &'a Fonts,
    plan: Plan,
    /// The top of the next line on the last page.
    y: f32,
    /// Nothing is on the page yet but what a page break repeats.
    fresh: bool,
}

impl Flow<'_> {
    fn page(&self) -> usize {
        self.plan.pages.len() - 1
    }

    fn room(&self) -> f32 {
        BOTTOM - self.y
    }

    fn new_page(&mut self) {
        self.plan.pages.push(Vec::new());
        self.y = TOP;
        self.fresh = true;
    }

    /// Vertical space, which a page break swallows.
    fn space(&mut self, height: f32) {
        if !self.fresh {
            self.y += height;
        }
    }

    fn mark(&mut self, mark: Mark) {
        let page = self.page();
        self.plan.pages[page].push(mark);
    }

    /// Puts a line of text with its top at the current position, tagged as a new leaf or, if
    /// `artifact`, untagged. Returns the leaf; an empty line draws nothing and has none.
    fn text(&mut self, x: f32, style: Style, line: &Line, artifact: bool) -> Option<usize> {
        if line.text.is_empty() {
            return None;
        }
        let leaf = (!artifact).then(|| {
            self.plan.leaves += 1;
            self.plan.leaves - 1
        });
        self.mark(Mark::Text {
            leaf,
            x,
            y: self.y + style.baseline(),
            style: Style {
                size: line.size,
                ..style
            },
            text: line.text.clone(),
        });
        leaf
    }

    /// Lines of text down the page, breaking the page where the next line does not fit.
    fn lines(&mut self, lines: &[Line], style: Style) -> Vec<usize> {
        let mut leaves = Vec::new();
        for line in lines {
            if self.room() < style.leading && !self.fresh {
                self.new_page();
            }
            leaves.extend(self.text(MARGIN, style, line, false));
            self.fresh = false;
            self.y += style.leading;
        }
        leaves
    }

    /// A heading (printable, not blank), moved to the next page unless `keep` (the height of
    /// what must follow it on the same page) fits under it.
    fn heading(&mut self, level: u16, title: &str, style: Style, keep: f32) {
        let title = title.to_owned();
        let lines = self.fonts.wrap(style.face, style.size, &title, WIDTH);
        let height = lines.len() as f32 * style.leading;
        if !self.fresh && self.room() < height + keep {
            self.new_page();
        }
        let at = (self.page(), self.y);
        let leaves = self.lines(&lines, style);
        self.plan.blocks.push(Block::Heading {
            level,
            title,
            at,
            leaves,
        });
    }

    fn paragraph(&mut self, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        let mut lines = Vec::new();
        for part in text.split('\n') {
            let part = self.fonts.printable(BODY.face, part);
            lines.extend(self.fonts.wrap(BODY.face, BODY.size, &part, WIDTH));
        }
        let leaves = self.lines(&lines, BODY);
        if !leaves.is_empty() {
            self.plan.blocks.push(Block::Paragraph(leaves));
            self.y += AFTER_PARAGRAPH;
        }
    }

    fn rule(&mut self, rule: Rule) {
        self.mark(Mark::Rule {
            x0: MARGIN,
            x1: MARGIN + WIDTH,
            y: self.y,
            rule,
        });
    }

    fn table(&mut self, table: &TableLayout) {
        if table.columns.is_empty() {
            return;
        }
        // The header row's top rule belongs to the top of the table, wherever that lands.
        if !self.fresh && self.room() < table.header.height() {
            self.new_page();
        }
        self.rule(RULE_STRONG);
        let header = self.row(table, &table.header, true);
        let mut rows = Vec::new();
        for (i, row) in table.rows.iter().enumerate() {
            let last = i + 1 == table.rows.len();
            rows.push(self.row(table, row, last));
        }
        self.plan.blocks.push(Block::Table { header, rows });
    }

    /// A row's cells side by side. A row that does not fit under the previous ones starts a
    /// new page, with the table's header row repeated; a row taller than a page is split
    /// between its lines. Returns each cell's leaves.
    fn row(&mut self, table: &TableLayout, row: &RowLayout, last: bool) -> Vec<Vec<usize>> {
        let mut leaves = vec![Vec::new(); row.cells.len()];
        let total = row.lines();
        let mut done = 0;
        loop {
            let fit = ((self.room() - 2.0 * CELL_Y) / row.style.leading).floor().max(0.0) as usize;
            let rest = total - done;
            let whole_fits_on_new_page = row.height() <= BOTTOM - TOP - table.repeated_height();
            if fit < rest && !self.fresh && (fit == 0 || (done == 0 && whole_fits_on_new_page)) {
                self.continue_table(table);
                continue;
            }
            // On a fresh page at least one line goes on it, so the loop ends.
            let take = rest.min(fit.max(1));
            let top = self.y + CELL_Y;
            for (c, cell) in row.cells.iter().enumerate() {
                let x = table.columns[c].0 + CELL_X;
                for (i, line) in cell.iter().enumerate().skip(done).take(take) {
                    self.y = top + (i - done) as f32 * row.style.leading;
                    leaves[c].extend(self.text(x, row.style, line, row.artifact));
                }
            }
            self.y = top + take as f32 * row.style.leading + CELL_Y;
            self.fresh = false;
            done += take;
            if done == total {
                let strong = row.artifact || last;
                self.rule(if strong { RULE_STRONG } else { RULE_THIN });
                return leaves;
            }
            self.rule(RULE_THIN);
            self.continue_table(table);
        }
    }

    /// A new page for the rest of a table, starting with its header row again (an artifact:
    /// the header is in the structure once), unless that row is too tall to repeat.
    fn continue_table(&mut self, table: &TableLayout) {
        self.new_page();
        if table.repeated_height() > 0.0 {
            self.rule(RULE_STRONG);
            let repeated = RowLayout {
                artifact: true,
                ..table.header.clone()
            };
            self.row(table, &repeated, false);
            self.fresh = true;
        }
    }
}

/// A table's columns and its rows broken into lines.
struct TableLayout {
    /// Each column's left edge and width.
    columns: Vec<(f32, f32)>,
    header: RowLayout,
    rows: Vec<RowLayout>,
}

#[derive(Debug, Clone)]
struct RowLayout {
    style: Style,
    /// Each cell's lines, fitted to its column.
    cells: Vec<Vec<Line>>,
    /// A header row repeated on a new page.
    artifact: bool,
}

impl RowLayout {
    fn lines(&self) -> usize {
        self.cells.iter().map(Vec::len).max().unwrap_or(0).max(1)
    }

    fn height(&self) -> f32 {
        self.lines() as f32 * self.style.leading + 2.0 * CELL_Y
    }
}

impl TableLayout {
    fn new(table: &Table, fonts: &Fonts) -> TableLayout {
        let header_style = BODY.bold();
        let style = |row: &Row| if row.strong { BODY.bold() } else { BODY };
        let header: Vec<Vec<String>> = table.header.iter().map(|h| vec![h.clone()]).collect();

        // What each cell says, one entry per line as given (and per line break inside one).
        let texts = |cells: &[Vec<String>], style: Style| -> Vec<Vec<String>> {
            let lines = |cell: &Vec<String>| {
                cell.iter()
                    .flat_map(|line| line.split('\n'))
                    .map(|line| fonts.printable(style.face, line))
                    .collect()
            };
            cells.iter().map(lines).collect()
        };
        let header_texts = texts(&header, header_style);
        let row_texts: Vec<_> = table.rows.iter().map(|r| texts(&r.cells, style(r))).collect();

        let natural = |c: usize| {
            let widest = |cells: &[Vec<String>], style: Style| {
                cells.get(c).map_or(0.0, |cell| {
                    cell.iter()
                        .map(|line| fonts.width(style.face, style.size, line))
                        .fold(0.0, f32::max)
                })
            };
            let rows = (table.rows.iter().zip(&row_texts))
                .map(|(row, cells)| widest(cells, style(row)))
                .fold(0.0, f32::max);
            rows.max(widest(&header_texts, header_style)) + 2.0 * CELL_X
        };
        let widths = column_widths(table.header.len(), natural);
        let mut x = MARGIN;
        let columns: Vec<(f32, f32)> = widths
            .iter()
            .map(|&w| {
                x += w;
                (x - w, w)
            })
            .collect();

        let fit = |cells: Vec<Vec<String>>, style: Style, artifact: bool| RowLayout {
            style,
            cells: (cells.iter().zip(&columns))
                .map(|(lines, &(_, width))| {
                    lines
                        .iter()
                        .flat_map(|line| fonts.wrap(style.face, style.size, line, width - 2.0 * CELL_X))
                        .collect()
                })
                .collect(),
            artifact,
        };
        TableLayout {
            header: fit(header_texts, header_style, false),
            rows: (table.rows.iter().zip(row_texts))
                .map(|(row, cells)| fit(cells, style(row), false))
                .collect(),
            columns,
        }
    }

    /// The height of the header row on a continued page; 0 if it is too tall to repeat.
    fn repeated_height(&self) -> f32 {
        let height = self.header.height();
        if height <= (BOTTOM - TOP) / 4.0 { height } else { 0.0 }
    }

    /// What must fit under the table's heading: the header row and the first row, or its first
    /// three lines when it is long.
    fn keep(&self) -> f32 {
        if self.columns.is_empty() {
            return 0.0;
        }
        let first = self.rows.first().map_or(0.0, |row| {
            let lines = row.lines().min(3) as f32;
            lines * row.style.leading + 2.0 * CELL_Y
        });
        self.header.height() + first
    }
}

/// The columns' widths across the text width. Two columns are a label and an answer (the
/// label gets 38 %); otherwise a column narrower than an even share gets what it needs, and
/// the others share the rest in proportion to their widest line (`natural`).
fn column_widths(count: usize, natural: impl Fn(usize) -> f32) -> Vec<f32> {
    match count {
        0 => Vec::new(),
        1 => vec![WIDTH],
        2 => vec![WIDTH * LABEL_SHARE, WIDTH * (1.0 - LABEL_SHARE)],
        _ => {
            let natural: Vec<f32> = (0..count).map(natural).collect();
            let mut fixed: Vec<Option<f32>> = vec![None; count];
            loop {
                let left = WIDTH - fixed.iter().flatten().sum::<f32>();
                let open = fixed.iter().filter(|f| f.is_none()).count();
                let share = left / open.max(1) as f32;
                let mut changed = false;
                for (f, &n) in fixed.iter_mut().zip(&natural) {
                    if f.is_none() && n <= share && open > 1 {
                        *f = Some(n);
                        changed = true;
                    }
                }
                if !changed {
                    break;
                }
            }
            let left = WIDTH - fixed.iter().flatten().sum::<f32>();
            let open: f32 = (fixed.iter().zip(&natural))
                .filter(|(f, _)| f.is_none())
                .map(|(_, n)| n)
                .sum();
            let spare = left.max(0.0);
            (fixed.iter().zip(&natural))
                .map(|(f, &n)| match f {
                    Some(w) if open == 0.0 => w + spare / count as f32,
                    Some(w) => *w,
                    None => spare * n / open,
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Section;

    fn receipt(rows: usize) -> Receipt {
        let mut rows: Vec<Row> = (1..=rows)
            .map(|i| Row::new([format!("Frage {i}"), format!("Antwort {i} ").repeat(i % 7 + 1)]))
            .collect();
        rows.push(Row::new(["Summe", "12,00 €"]));
        let section = |heading: &str, rows: Vec<Row>| Section {
            heading: heading.into(),
            table: Table {
                header: vec!["Frage".into(), "Antwort".into()],
                rows,
            },
        };
        Receipt {
            lang: "de".into(),
            title: "Eingangsbestätigung".into(),
            intro: vec!["Ihr Antrag ist eingegangen. ".repeat(12)],
            sections: (1..=4)
                .map(|s| section(&format!("Schritt {s}"), rows.clone()))
                .collect(),
            closing: Some("Erstellt von Baukasten.".into()),
            page: ("Seite".into(), "von".into()),
        }
    }

    fn plan(receipt: &Receipt) -> Plan {
        lay_out(receipt, &Fonts::new().unwrap())
    }

    /// The leaves of the blocks, in the structure's order.
    fn structure(plan: &Plan) -> Vec<usize> {
        let mut leaves = Vec::new();
        for block in &plan.blocks {
            match block {
                Block::Heading { leaves: l, .. } | Block::Paragraph(l) => leaves.extend(l),
                Block::Table { header, rows } => {
                    leaves.extend(header.iter().flatten());
                    leaves.extend(rows.iter().flatten().flatten());
                }
            }
        }
        leaves
    }

    /// Every line of text: (leaf, page, x, baseline, style, text).
    fn texts(plan: &Plan) -> Vec<(Option<usize>, usize, f32, f32, Style, String)> {
        let mut texts = Vec::new();
        for (page, marks) in plan.pages.iter().enumerate() {
            for mark in marks {
                if let Mark::Text {
                    leaf,
                    x,
                    y,
                    style,
                    text,
                } = mark
                {
                    texts.push((*leaf, page, *x, *y, *style, text.clone()));
                }
            }
        }
        texts
    }

    #[test]
    fn the_structure_holds_every_line_once_in_the_order_written() {
        for rows in [0, 3, 60] {
            let plan = plan(&receipt(rows));
            let order = structure(&plan);
            assert_eq!(order, (0..plan.leaves).collect::<Vec<_>>());
            let tagged = texts(&plan).iter().filter(|t| t.0.is_some()).count();
            assert_eq!(tagged, plan.leaves);
        }
    }

    #[test]
    fn text_stays_inside_the_margins() {
        let fonts = Fonts::new().unwrap();
        let mut receipt = receipt(80);
        let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        receipt.intro.push(sha.repeat(3));
        receipt.sections[1].table.rows[0] = Row::new([sha, sha]);
        let plan = plan(&receipt);
        assert!(plan.pages.len() > 3);
        let mut smaller = 0;
        for (page, marks) in plan.pages.iter().enumerate() {
            for mark in marks {
                let Mark::Text { x, y, style, text, .. } = mark else {
                    continue;
                };
                smaller += usize::from(style.size < BODY.size && style.face == Face::Regular);
                let right = x + fonts.width(style.face, style.size, text);
                assert!(*x >= MARGIN && right <= MARGIN + WIDTH, "{text:?} on page {page}");
                assert!(*y > TOP && *y < BOTTOM, "{text:?} at {y} on page {page}");
            }
        }
        // In the answer column, not in the narrower label column nor three times in a row.
        assert_eq!(smaller, 1, "the checksum is set smaller where it then fits");
    }

    #[test]
    fn a_heading_is_never_the_last_thing_on_a_page() {
        // Tables of different lengths put the headings at every height on the page.
        let mut moved = 0;
        // Each once with a first row of one line and once with a question over three lines.
        for (rows, long_first) in (0..30).flat_map(|rows| [(rows, false), (rows, true)]) {
            let mut receipt = receipt(rows);
            if long_first {
                for section in &mut receipt.sections {
                    section.table.rows[0].cells[0] =
                        vec!["Möchten Sie eine Rückmeldung, wenn der gemeldete Mangel behoben ist?".into()];
                }
            }
            let plan = plan(&receipt);
            let texts = texts(&plan);
            let page = |leaf: usize| texts.iter().find(|t| t.0 == Some(leaf)).unwrap().1;
            for (i, block) in plan.blocks.iter().enumerate() {
                let Block::Heading { leaves, at, .. } = block else {
                    continue;
                };
                let Some(Block::Table { header, rows }) = plan.blocks.get(i + 1) else {
                    continue;
                };
                let next = rows.first().map_or(header[0][0], |row| row[1][0]);
                assert_eq!(page(leaves[0]), page(next), "{rows:?} rows");
                moved += usize::from(at.0 > 0 && at.1 == TOP);
            }
        }
        assert!(moved > 0, "no heading came to a page's foot; the test shows nothing");
    }

    #[test]
    fn a_long_table_repeats_its_header_row_as_an_artifact() {
        let plan = plan(&receipt(120));
        let texts = texts(&plan);
        let mut repeated = 0;
        for page in 1..plan.pages.len() {
            let first: Vec<_> = texts.iter().filter(|t| t.1 == page).take(2).collect();
            if first[0].5.starts_with("Schritt") {
                continue;
            }
            assert_eq!((first[0].0, first[0].5.as_str()), (None, "Frage"), "page {page}");
            assert_eq!((first[1].0, first[1].5.as_str()), (None, "Antwort"), "page {page}");
            repeated += 1;
        }
        assert!(repeated > 4, "{repeated} pages continue a table");
    }

    #[test]
    fn a_row_taller_than_a_page_is_split_between_its_lines() {
        let mut receipt = receipt(1);
        receipt.sections[0].table.rows[0] = Row::new(["Begründung".to_owned(), "Ein langer Satz. ".repeat(900)]);
        let plan = plan(&receipt);
        assert!(plan.pages.len() >= 4, "{} pages", plan.pages.len());
        let Some(Block::Table { rows, .. }) = plan.blocks.get(3) else {
            panic!("{:?}", plan.blocks.get(3));
        };
        assert!(rows[0][1].len() > 150);
    }

    #[test]
    fn two_columns_are_label_and_answer() {
        let widths = column_widths(2, |_| 0.0);
        assert!((widths[0] / WIDTH - 0.38).abs() < 1e-4);
        assert!((widths.iter().sum::<f32>() - WIDTH).abs() < 1e-3);
    }

    #[test]
    fn narrow_columns_get_what_they_need_and_the_rest_is_shared() {
        let natural = [60.0, 900.0, 40.0, 300.0];
        let widths = column_widths(4, |c| natural[c]);
        assert_eq!(widths[0], 60.0);
        assert_eq!(widths[2], 40.0);
        assert!(widths[1] > widths[3] && widths[3] > 60.0, "{widths:?}");
        assert!((widths.iter().sum::<f32>() - WIDTH).abs() < 1e-2, "{widths:?}");
    }

    #[test]
    fn columns_that_all_fit_fill_the_width() {
        let widths = column_widths(3, |_| 30.0);
        assert!((widths.iter().sum::<f32>() - WIDTH).abs() < 1e-2, "{widths:?}");
        assert!(widths.iter().all(|&w| (w - WIDTH / 3.0).abs() < 1e-2), "{widths:?}");
    }
}
