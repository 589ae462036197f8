//! Diagnostics: what the checker tells the clerk, in German or English.
//!
//! A diagnostic has a stable code (`unknown-key`), a severity, a one-line message, the place it
//! is about and, where we can guess it, a `help:` with the likely fix. Messages are written in
//! both languages when the diagnostic is made, next to the check that finds the problem, so a
//! message and its translation are reviewed together.
//!
//! Rendering follows rustc (through `annotate-snippets`): a header, `--> file:line:col`, the
//! source line and a caret under the spot.

use std::fmt;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;

use crate::source::{Sources, Span};

/// The language of diagnostics and other clerk-facing text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    De,
    En,
}

impl Lang {
    /// Picks the language from a locale string such as `de_DE.UTF-8` or `en_US`.
    /// Anything that is not English is German: the product's first language.
    pub fn from_locale(locale: &str) -> Lang {
        if locale.to_ascii_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::De
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A text in both languages of the diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Msg {
    pub de: String,
    pub en: String,
}

impl Msg {
    pub fn new(de: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            de: de.into(),
            en: en.into(),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::De => &self.de,
            Lang::En => &self.en,
        }
    }
}

/// Every kind of problem the checker reports. The kebab-case name is the stable code that
/// clerks see, that `--format json` prints, and that `docs/language.md` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Code {
    /// The file is not valid YAML.
    YamlSyntax,
    /// The file exceeds a size, depth or alias-expansion limit.
    InputLimit,
    /// The file is neither a service, an overlay nor a tenant.
    UnknownDocument,
    UnknownKey,
    MissingKey,
    WrongType,
    UnknownFieldType,
    InvalidValue,
    InvalidId,
    DuplicateId,
    UnknownReference,
    ExpressionSyntax,
    UnknownName,
    ComputedCycle,
    VisibilityCycle,
    InvalidLeika,
    InvalidVersion,
    InvalidConstraint,
    InvalidPattern,
    OverlayUnknownBase,
    OverlayBaseErrors,
    OverlayUnknownTarget,
    TestUnknownField,
    TestExpectsNothing,
    UnknownErrorCode,
    MissingTranslation,
    UnknownLanguage,
    EmptyService,
    /// A `retention` that can never apply: the service's process has no final state.
    RetentionWithoutFinalState,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::YamlSyntax => "yaml-syntax",
            Code::InputLimit => "input-limit",
            Code::UnknownDocument => "unknown-document",
            Code::UnknownKey => "unknown-key",
            Code::MissingKey => "missing-key",
            Code::WrongType => "wrong-type",
            Code::UnknownFieldType => "unknown-field-type",
            Code::InvalidValue => "invalid-value",
            Code::InvalidId => "invalid-id",
            Code::DuplicateId => "duplicate-id",
            Code::UnknownReference => "unknown-reference",
            Code::ExpressionSyntax => "expression-syntax",
            Code::UnknownName => "unknown-name",
            Code::ComputedCycle => "computed-cycle",
            Code::VisibilityCycle => "visibility-cycle",
            Code::InvalidLeika => "invalid-leika",
            Code::InvalidVersion => "invalid-version",
            Code::InvalidConstraint => "invalid-constraint",
            Code::InvalidPattern => "invalid-pattern",
            Code::OverlayUnknownBase => "overlay-unknown-base",
            Code::OverlayBaseErrors => "overlay-base-errors",
            Code::OverlayUnknownTarget => "overlay-unknown-target",
            Code::TestUnknownField => "test-unknown-field",
            Code::TestExpectsNothing => "test-expects-nothing",
            Code::UnknownErrorCode => "unknown-error-code",
            Code::MissingTranslation => "missing-translation",
            Code::UnknownLanguage => "unknown-language",
            Code::EmptyService => "empty-service",
            Code::RetentionWithoutFinalState => "retention-without-final-state",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a service file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Diagnostic {
    pub span: Span,
    pub severity: Severity,
    pub code: Code,
    pub message: Msg,
    pub help: Option<Msg>,
}

impl Diagnostic {
    pub fn error(code: Code, span: Span, message: Msg) -> Self {
        Self {
            span,
            severity: Severity::Error,
            code,
            message,
            help: None,
        }
    }

    pub fn warning(code: Code, span: Span, message: Msg) -> Self {
        Self {
            span,
            severity: Severity::Warning,
            code,
            message,
            help: None,
        }
    }

    pub fn with_help(mut self, help: Msg) -> Self {
        self.help = Some(help);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic like rustc does, with the source line and a caret.
    pub fn render(&self, sources: &Sources, lang: Lang) -> String {
        let level = match (self.severity, lang) {
            (Severity::Error, Lang::De) => Level::ERROR.with_name("Fehler"),
            (Severity::Error, Lang::En) => Level::ERROR,
            (Severity::Warning, Lang::De) => Level::WARNING.with_name("Warnung"),
            (Severity::Warning, Lang::En) => Level::WARNING,
        };
        let help_level = match lang {
            Lang::De => Level::HELP.with_name("Hilfe"),
            Lang::En => Level::HELP,
        };
        let file = sources.get(self.span.file);
        let path = file.map(|f| f.path.as_ref()).unwrap_or("<unbekannt>");
        let line_text = file.and_then(|f| f.line(self.span.line)).unwrap_or("");
        let range = char_range_to_bytes(line_text, self.span.col, self.span.len);

        let title = level.primary_title(self.message.get(lang)).id(self.code.as_str());
        let mut snippet = Snippet::source(line_text)
            .line_start(self.span.line.max(1) as usize)
            .path(path)
            .fold(false);
        snippet = snippet.annotation(AnnotationKind::Primary.span(range));
        let mut report = vec![title.element(snippet)];
        if let Some(help) = &self.help {
            report.push(Group::with_title(help_level.secondary_title(help.get(lang))));
        }
        let mut out = Renderer::plain().render(&report);
        // annotate-snippets prints the column of the span's start within the snippet; we show
        // the clerk's own column, which is the same here because the snippet is the whole line.
        out.push('\n');
        out
    }

    /// The diagnostic as one JSON object, for editors and CI (`--format json`).
    pub fn to_json(&self, sources: &Sources, lang: Lang) -> serde_json::Value {
        let path = sources
            .get(self.span.file)
            .map(|f| f.path.to_string())
            .unwrap_or_default();
        serde_json::json!({
            "severity": self.severity,
            "code": self.code.as_str(),
            "message": self.message.get(lang),
            "file": path,
            "line": self.span.line,
            "column": self.span.col,
            "length": self.span.len,
            "help": self.help.as_ref().map(|h| h.get(lang)),
        })
    }
}

/// Converts a 1-based character column and a character length into a byte range of `line`,
/// clamped to the line, so a span can never point outside the text it is shown with.
fn char_range_to_bytes(line: &str, col: u32, len: u32) -> std::ops::Range<usize> {
    let start_char = col.saturating_sub(1) as usize;
    let byte_at = |chars: usize| line.char_indices().nth(chars).map(|(b, _)| b).unwrap_or(line.len());
    let start = byte_at(start_char);
    let end = byte_at(start_char + len.max(1) as usize).max(start);
    start..end
}

/// Suggests the closest of `candidates` to a misspelt `word`, if one is close enough to be
/// the likely intent.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&word_lower, &c.to_lowercase()), c))
        .filter(|(distance, c)| {
            let allowed = (c.chars().count().max(word.chars().count()) / 3).max(1);
            *distance <= allowed
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// The help for `word`, which is not among `candidates`: the closest candidate if one is close
/// enough, otherwise the whole list after `list_de` / `list_en` ("Schritte: a, b.").
pub fn suggest_or_list(word: &str, candidates: &[&str], list_de: &str, list_en: &str) -> Msg {
    match suggest(word, candidates.iter().copied()) {
        Some(s) => did_you_mean(s),
        None => Msg::new(
            format!("{list_de}: {}.", candidates.join(", ")),
            format!("{list_en}: {}", candidates.join(", ")),
        ),
    }
}

/// A `help:` text proposing `suggestion` in place of what the clerk wrote.
pub fn did_you_mean(suggestion: &str) -> Msg {
    Msg::new(
        format!("Meinten Sie `{suggestion}`?"),
        format!("did you mean `{suggestion}`?"),
    )
}

/// Collects diagnostics while reading and checking.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    pub fn error(&mut self, code: Code, span: Span, message: Msg) {
        self.push(Diagnostic::error(code, span, message));
    }

    pub fn error_help(&mut self, code: Code, span: Span, message: Msg, help: Msg) {
        self.push(Diagnostic::error(code, span, message).with_help(help));
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The diagnostics in file and position order, each reported once even where an overlay
    /// made the checker read a base file a second time.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort();
        self.items.dedup();
        self.items
    }
}
