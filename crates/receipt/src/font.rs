//! The embedded font, DejaVu Sans in two weights: what it can draw, how wide a text is set in
//! it, and where a line breaks.
//!
//! Widths are the sum of the glyphs' advances, read with skrifa (the font reader krilla uses).
//! krilla shapes with kerning, which only ever narrows DejaVu's Latin text a little, so a line
//! measured here never comes out wider than measured.

use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};

use crate::Error;

/// The weight a text is set in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Face {
    Regular,
    Bold,
}

/// One weight of the font: its bytes for krilla, its character map and advances for layout.
struct Weight {
    pdf: krilla::text::Font,
    charmap: Charmap<'static>,
    /// Advances at 1 pt, to be multiplied by the font size.
    metrics: GlyphMetrics<'static>,
}

impl Weight {
    fn new(name: &str, bytes: &'static [u8]) -> Result<Weight, Error> {
        let unreadable = || Error::Invalid(format!("the embedded font {name} cannot be read"));
        let font = FontRef::new(bytes).map_err(|_| unreadable())?;
        let metrics = font.glyph_metrics(Size::new(1.0), LocationRef::default());
        let pdf = krilla::text::Font::new(bytes.into(), 0).ok_or_else(unreadable)?;
        Ok(Weight {
            pdf,
            charmap: font.charmap(),
            metrics,
        })
    }

    fn has(&self, c: char) -> bool {
        self.charmap.map(c).is_some()
    }

    fn advance(&self, c: char) -> f32 {
        let glyph = self.charmap.map(c).unwrap_or_default();
        self.metrics.advance_width(glyph).unwrap_or(0.0)
    }
}

/// The smallest size a word too wide for its line is set in before it is broken.
const MIN_SIZE: f32 = 7.0;

/// A line of wrapped text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    pub text: String,
    /// The font size: the text's, or smaller for a single word that fits no other way.
    pub size: f32,
}

/// DejaVu Sans, regular and bold.
pub(crate) struct Fonts {
    regular: Weight,
    bold: Weight,
}

impl Fonts {
    pub(crate) fn new() -> Result<Fonts, Error> {
        Ok(Fonts {
            regular: Weight::new("DejaVu Sans", dejavu::sans::regular())?,
            bold: Weight::new("DejaVu Sans Bold", dejavu::sans::bold())?,
        })
    }

    fn weight(&self, face: Face) -> &Weight {
        match face {
            Face::Regular => &self.regular,
            Face::Bold => &self.bold,
        }
    }

    /// The font krilla embeds for `face`.
    pub(crate) fn pdf(&self, face: Face) -> krilla::text::Font {
        self.weight(face).pdf.clone()
    }

    /// The text as it can be drawn: control characters become spaces, invisible formatting
    /// characters are dropped, and a character the font has no glyph for becomes `?`. PDF/UA
    /// forbids the font's empty glyph (`.notdef`), which is what such a character would get.
    pub(crate) fn printable(&self, face: Face, text: &str) -> String {
        let weight = self.weight(face);
        text.chars()
            .filter(|&c| !invisible(c))
            .map(|c| match c {
                c if c.is_control() => ' ',
                c if weight.has(c) => c,
                _ => '?',
            })
            .collect()
    }

    /// The width of `text` (printable, see [`Fonts::printable`]) at `size` points.
    pub(crate) fn width(&self, face: Face, size: f32, text: &str) -> f32 {
        let weight = self.weight(face);
        text.chars().map(|c| weight.advance(c)).sum::<f32>() * size
    }

    /// `text` (printable) broken into lines no wider than `width`, at spaces. A word wider
    /// than a line (a checksum, a long e-mail address) gets a line of its own in a smaller
    /// size, down to 7 pt, so that it stays one word to copy and compare; only wider still, it
    /// breaks inside. The spaces between words on one line stay in the text, so that it reads
    /// as words when extracted; a space where a line breaks is dropped. Always at least one
    /// line, and at least one character on a line, however narrow `width` is.
    pub(crate) fn wrap(&self, face: Face, size: f32, text: &str, width: f32) -> Vec<Line> {
        let weight = self.weight(face);
        let space = weight.advance(' ') * size;
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut used = 0.0;
        let line_of = |text: String| Line { text, size };
        for word in text.split(' ').filter(|w| !w.is_empty()) {
            let wide = self.width(face, size, word);
            if !line.is_empty() {
                if used + space + wide <= width {
                    line.push(' ');
                    line.push_str(word);
                    used += space + wide;
                    continue;
                }
                lines.push(line_of(std::mem::take(&mut line)));
            }
            if wide <= width {
                line = word.to_owned();
                used = wide;
                continue;
            }
            // Sizes in quarter points, so that the smaller word surely fits.
            let smaller = (size * width / wide * 4.0).floor() / 4.0;
            if smaller >= MIN_SIZE {
                lines.push(Line {
                    text: word.to_owned(),
                    size: smaller,
                });
                continue;
            }
            // Break after the last punctuation that fits (an address breaks after `@` or a
            // hyphen), else after the last character that fits.
            used = 0.0;
            let mut after_mark = None;
            for c in word.chars() {
                let advance = weight.advance(c) * size;
                // A character without width (a combining accent) stays with the one before.
                if !line.is_empty() && advance > 0.0 && used + advance > width {
                    let rest = match after_mark.take() {
                        Some(at) if at < line.len() => line.split_off(at),
                        _ => String::new(),
                    };
                    lines.push(line_of(std::mem::replace(&mut line, rest)));
                    used = self.width(face, size, &line);
                }
                line.push(c);
                used += advance;
                if matches!(c, '-' | '/' | '@' | '.' | '_') {
                    after_mark = Some(line.len());
                }
            }
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line_of(line));
        }
        lines
    }
}

/// Characters that format text without being seen (zero-width spaces and joiners, direction
/// marks, the byte order mark, variation selectors). Fonts map them to nothing or to
/// `.notdef`, and PDF/UA forbids a glyph without a character and U+FEFF as a character.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{200B}'..='\u{200F}'
        | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fonts() -> Fonts {
        Fonts::new().unwrap()
    }

    #[test]
    fn german_text_is_printable_as_it_is() {
        let text = "Größe: „Straße“ – 12,50 € für Jörg Müßig";
        assert_eq!(fonts().printable(Face::Regular, text), text);
        assert_eq!(fonts().printable(Face::Bold, text), text);
    }

    #[test]
    fn characters_the_font_lacks_become_question_marks() {
        // DejaVu Sans has no Devanagari (U+0915) and no CJK ideographs (U+4E2D).
        let text = "ok \u{0915} \u{4E2D}\tend\u{200B}\u{FEFF}";
        assert_eq!(fonts().printable(Face::Regular, text), "ok ? ? end");
    }

    fn texts(lines: &[Line]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn lines_break_at_spaces_and_stay_within_the_width() {
        let fonts = fonts();
        let text = "Der Antrag wird innerhalb von zwei Wochen bearbeitet, Rückfragen per E-Mail.";
        let lines = fonts.wrap(Face::Regular, 10.5, text, 120.0);
        assert!(lines.len() > 2, "{lines:?}");
        for line in &lines {
            assert!(fonts.width(Face::Regular, 10.5, &line.text) <= 120.01, "{line:?}");
            assert!(!line.text.starts_with(' ') && !line.text.ends_with(' '), "{line:?}");
            assert_eq!(line.size, 10.5);
        }
        assert_eq!(texts(&lines).join(" "), text);
    }

    #[test]
    fn a_word_wider_than_the_line_is_set_smaller_on_a_line_of_its_own() {
        let fonts = fonts();
        let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let lines = fonts.wrap(Face::Regular, 10.5, &format!("SHA {sha} (geprüft)"), 290.0);
        assert_eq!(texts(&lines), ["SHA", sha, "(geprüft)"]);
        assert!(lines[1].size >= 7.0 && lines[1].size < 10.5, "{lines:?}");
        assert!(fonts.width(Face::Regular, lines[1].size, sha) <= 290.0);
        assert_eq!((lines[0].size, lines[2].size), (10.5, 10.5));
    }

    #[test]
    fn a_word_too_wide_even_when_smaller_breaks_inside() {
        let fonts = fonts();
        let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let lines = fonts.wrap(Face::Regular, 10.5, &format!("Summe: {sha}"), 150.0);
        assert_eq!(lines[0].text, "Summe:");
        assert!(lines.len() >= 4, "{lines:?}");
        for line in &lines {
            assert_eq!(line.size, 10.5);
            assert!(fonts.width(Face::Regular, 10.5, &line.text) <= 150.01, "{line:?}");
        }
        assert_eq!(texts(&lines[1..]).concat(), sha);
    }

    #[test]
    fn a_long_address_breaks_after_punctuation() {
        let fonts = fonts();
        let mail = "joerg.muessig-schaefer.privat@beispiel-kommune.example.org";
        let lines = fonts.wrap(Face::Regular, 10.5, mail, 150.0);
        assert_eq!(
            texts(&lines),
            ["joerg.muessig-schaefer.", "privat@beispiel-kommune.", "example.org"]
        );
    }

    #[test]
    fn a_line_narrower_than_a_character_still_takes_one() {
        let lines = fonts().wrap(Face::Bold, 10.5, "WW", 1.0);
        assert_eq!(texts(&lines), ["W", "W"]);
        assert_eq!(texts(&fonts().wrap(Face::Regular, 10.5, "", 100.0)), [""]);
        assert_eq!(texts(&fonts().wrap(Face::Regular, 10.5, "   ", 100.0)), [""]);
    }
}
