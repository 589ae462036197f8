//! Draws a laid-out receipt with krilla and writes it as PDF/UA-1: each line of text as a
//! tagged span, rules and footers as artifacts, the structure tree from the plan's blocks,
//! an outline of the headings, and the document's title and language.

use std::num::NonZeroU16;

use krilla::color::luma;
use krilla::configure::{Accessibility, ConfigurationBuilder};
use krilla::destination::XyzDestination;
use krilla::error::KrillaError;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::tagging::{
    Artifact, ArtifactType, ContentTag, Identifier, Node, SpanTag, TableHeaderScope, Tag, TagGroup, TagTree,
};
use krilla::text::TextDirection;
use krilla::{Document, SerializeSettings};

use crate::Error;
use crate::font::Fonts;
use crate::layout::{Block, FOOTER, FOOTER_BASELINE, MARGIN, Mark, PAGE_HEIGHT, PAGE_WIDTH, Plan, Style};

/// What the document is called, in the viewer's title bar and its metadata.
pub(crate) struct Head<'a> {
    pub title: &'a str,
    pub lang: &'a str,
    /// The footer's words: "Seite" and "von".
    pub page: (&'a str, &'a str),
}

pub(crate) fn write(head: &Head, plan: &Plan, fonts: &Fonts) -> Result<Vec<u8>, Error> {
    let configuration = ConfigurationBuilder::new()
        .with_accessibility_validator(Accessibility::UA1)
        .finish()
        .map_err(|e| Error::Invalid(format!("krilla has no configuration for PDF/UA-1: {e:?}")))?;
    let settings = SerializeSettings {
        configuration,
        enable_tagging: true,
        ..SerializeSettings::default()
    };
    let mut document = Document::new_with(settings);
    let size = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
        .ok_or_else(|| Error::Invalid("the page size is not valid".into()))?;

    let mut ids: Vec<Option<Identifier>> = vec![None; plan.leaves];
    let count = plan.pages.len();
    for (index, marks) in plan.pages.iter().enumerate() {
        let mut page = document.start_page_with(size.clone());
        let mut surface = page.surface();
        for mark in marks {
            match mark {
                Mark::Text {
                    leaf,
                    x,
                    y,
                    style,
                    text,
                } => {
                    let tag = match leaf {
                        Some(_) => ContentTag::Span(SpanTag::empty()),
                        None => ContentTag::Artifact(Artifact::with_kind(ArtifactType::PaginationOther)),
                    };
                    let id = surface.start_tagged(tag);
                    text_at(&mut surface, fonts, *style, Point::from_xy(*x, *y), text, 0);
                    surface.end_tagged();
                    if let Some(leaf) = leaf {
                        ids[*leaf] = Some(id);
                    }
                }
                Mark::Rule { x0, x1, y, rule } => {
                    let half = rule.width / 2.0;
                    let Some(rect) = Rect::from_ltrb(*x0, y - half, *x1, y + half) else {
                        continue;
                    };
                    let mut path = PathBuilder::new();
                    path.push_rect(rect);
                    let Some(path) = path.finish() else { continue };
                    surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(ArtifactType::Layout)));
                    surface.set_fill(Some(fill(rule.gray)));
                    surface.draw_path(&path);
                    surface.end_tagged();
                }
            }
        }
        footer(&mut surface, fonts, head.page, index, count);
        surface.finish();
        page.finish();
    }

    document.set_tag_tree(tag_tree(head.lang, plan, &mut ids));
    document.set_outline(outline(plan));
    document.set_metadata(
        Metadata::new()
            .title(head.title.to_owned())
            .language(head.lang.to_owned())
            .creator("Baukasten".to_owned()),
    );
    document.finish().map_err(invalid)
}

fn fill(gray: u8) -> Fill {
    Fill {
        paint: luma::Color::new(gray).into(),
        ..Fill::default()
    }
}

/// Draws one line of text (printable in the style's face) in the given gray.
fn text_at(surface: &mut Surface, fonts: &Fonts, style: Style, at: Point, text: &str, gray: u8) {
    surface.set_fill(Some(fill(gray)));
    surface.draw_text(at, fonts.pdf(style.face), style.size, text, false, TextDirection::Auto);
}

/// "Seite 1 von 2", centred under the text; a pagination artifact, as a screen reader reads
/// the text, not the pages.
fn footer(surface: &mut Surface, fonts: &Fonts, words: (&str, &str), index: usize, count: usize) {
    let (page, of) = words;
    let text = format!("{page} {} {of} {count}", index + 1);
    let text = fonts.printable(FOOTER.face, text.trim());
    let width = fonts.width(FOOTER.face, FOOTER.size, &text);
    let x = (PAGE_WIDTH - width).max(2.0 * MARGIN) / 2.0;
    surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(ArtifactType::Footer)));
    let at = Point::from_xy(x, FOOTER_BASELINE);
    text_at(surface, fonts, FOOTER, at, &text, 0x50);
    surface.end_tagged();
}

/// The structure tree: the blocks in order, each holding the spans of its lines.
fn tag_tree(lang: &str, plan: &Plan, ids: &mut [Option<Identifier>]) -> TagTree {
    let mut leaves = |leaves: &[usize]| -> Vec<Node> {
        leaves
            .iter()
            .filter_map(|&leaf| ids.get_mut(leaf)?.take())
            .map(Node::from)
            .collect()
    };
    let mut tree = TagTree::new().with_lang(Some(lang.to_owned()));
    for block in &plan.blocks {
        let group = match block {
            Block::Heading {
                level,
                title,
                leaves: lines,
                ..
            } => {
                let level = NonZeroU16::new(*level).unwrap_or(NonZeroU16::MIN);
                TagGroup::with_children(Tag::Hn(level, Some(title.clone())), leaves(lines))
            }
            Block::Paragraph(lines) => TagGroup::with_children(Tag::P, leaves(lines)),
            Block::Table { header, rows } => {
                let mut table = TagGroup::new(Tag::Table);
                let cells = header
                    .iter()
                    .map(|cell| TagGroup::with_children(Tag::TH(TableHeaderScope::Column), leaves(cell)));
                table.push(TagGroup::with_children(Tag::TR, cells.map(Node::from).collect()));
                for row in rows {
                    let cells = row.iter().enumerate().map(|(i, cell)| {
                        let children = leaves(cell);
                        if i == 0 {
                            TagGroup::with_children(Tag::TH(TableHeaderScope::Row), children)
                        } else {
                            TagGroup::with_children(Tag::TD, children)
                        }
                    });
                    table.push(TagGroup::with_children(Tag::TR, cells.map(Node::from).collect()));
                }
                table
            }
        };
        tree.push(group);
    }
    tree
}

/// The outline (bookmarks) PDF/UA asks for: the title, and the sections' headings under it.
fn outline(plan: &Plan) -> Outline {
    let mut outline = Outline::new();
    let mut title: Option<OutlineNode> = None;
    for block in &plan.blocks {
        let Block::Heading {
            level, title: text, at, ..
        } = block
        else {
            continue;
        };
        let destination = XyzDestination::new(at.0, Point::from_xy(MARGIN, at.1));
        let node = OutlineNode::new(text.clone(), destination);
        match (&mut title, level) {
            (None, 1) => title = Some(node.with_open(true)),
            (Some(title), _) => title.push_child(node),
            (None, _) => outline.push_child(node),
        }
    }
    if let Some(title) = title {
        outline.push_child(title);
    }
    outline
}

/// krilla's refusal as a sentence: what broke PDF/UA-1 (or another rule of PDF).
fn invalid(error: KrillaError) -> Error {
    match error {
        KrillaError::Validation(errors) => {
            let rules: Vec<String> = errors.iter().map(|(e, _)| format!("{e:?}")).collect();
            Error::Invalid(rules.join("; "))
        }
        other => Error::Invalid(other.to_string()),
    }
}
