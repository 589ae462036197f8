//! From the [`Node`] tree to the typed [`model`](crate::model), reporting every problem of shape.
//!
//! The reader checks what can be checked while looking at one object: known keys (from
//! [`spec`]), value types, required keys, identifiers, enumerations, constraints that fit the
//! field's type, and references to lists and groups. What needs the whole service (scopes of
//! expressions, duplicates across steps, cycles, tests) is in [`crate::check`].
//!
//! Reading never stops at a problem: a bad value is reported and left out, and the reader goes
//! on with the rest, so one `check` run shows the clerk everything.

use std::collections::{BTreeMap, HashMap, HashSet};

use regex::Regex;

use crate::diag::{Code, Diagnostics, Msg, did_you_mean, suggest, suggest_or_list};
use crate::model::*;
use crate::source::Span;
use crate::spec::{self, Obj};
use crate::yaml::{Node, NodeKind};

/// The longest expression we compile. The expression compiler recurses over the expression,
/// so an unbounded one could exhaust a thread's stack; real conditions are under 200.
pub(crate) const MAX_EXPRESSION_CHARS: usize = 1_000;

/// Reads objects of one file (or one merged overlay), reporting into `diags`.
pub(crate) struct Reader<'d> {
    pub diags: &'d mut Diagnostics,
    /// Languages the service declares besides German; a text lacking one is a warning.
    languages: Vec<String>,
    /// Ids of fields written in the file that could not be read (a bad `type`, say). Their own
    /// error says what is wrong; the checker does not add "no such field" errors for them.
    pub unreadable: HashSet<String>,
}

/// The entries of a map node whose keys have been checked against an [`Obj`].
pub(crate) struct Entries<'n> {
    pub node: &'n Node,
    map: HashMap<&'n str, (&'n Node, &'n Node)>,
}

impl<'n> Entries<'n> {
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.map.get(key).map(|(_, v)| *v)
    }

    pub fn key_span(&self, key: &str) -> Option<Span> {
        self.map.get(key).map(|(k, _)| k.span)
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }
}

fn id_regex() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new("^[a-z][a-z0-9_]*$").expect("static regex"))
}

fn fim_id_regex() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(spec::FIM_ID_PATTERN).expect("static regex"))
}

fn fim_version_regex() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(spec::FIM_VERSION_PATTERN).expect("static regex"))
}

fn version_regex() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$").expect("static regex")
    })
}

pub(crate) fn is_id(text: &str) -> bool {
    id_regex().is_match(text)
}

impl<'d> Reader<'d> {
    pub fn new(diags: &'d mut Diagnostics) -> Self {
        Self {
            diags,
            languages: Vec::new(),
            unreadable: HashSet::new(),
        }
    }

    fn wrong_type(&mut self, node: &Node, expected_de: &str, expected_en: &str) {
        let found = node.describe();
        self.diags.error(
            Code::WrongType,
            node.span,
            Msg::new(
                format!("Erwartet ist {expected_de}, gefunden {}.", found.de),
                format!("expected {expected_en}, found {}", found.en),
            ),
        );
    }

    /// Checks that `node` is a map whose keys belong to `obj`, and that `obj`'s required keys
    /// are there (unless `patch`). Unknown keys get a suggestion.
    pub fn entries<'n>(&mut self, node: &'n Node, obj: &'static Obj, patch: bool) -> Option<Entries<'n>> {
        let Some(items) = node.as_map() else {
            self.wrong_type(
                node,
                &format!("eine Zuordnung ({})", obj.what_de),
                &format!("a map ({})", obj.what_en),
            );
            return None;
        };
        let mut map = HashMap::with_capacity(items.len());
        // Keys the clerk probably meant by a misspelt one: no second error for them missing.
        let mut meant: Vec<&'static str> = Vec::new();
        for (k, v) in items {
            let Some(name) = k.as_str() else {
                self.diags.error(
                    Code::UnknownKey,
                    k.span,
                    Msg::new(
                        format!("Schlüssel müssen Wörter sein, nicht {}.", k.describe().de),
                        format!("keys must be words, not {}", k.describe().en),
                    ),
                );
                continue;
            };
            if obj.key(name).is_none() {
                let known = obj.all_keys().map(|k| k.name);
                let mut diag = crate::diag::Diagnostic::error(
                    Code::UnknownKey,
                    k.span,
                    Msg::new(
                        format!("Unbekannter Schlüssel `{name}` in {}.", article_de(obj)),
                        format!("unknown key `{name}` in {}", article_en(obj)),
                    ),
                );
                diag = match suggest(name, known) {
                    Some(s) => {
                        meant.push(s);
                        diag.with_help(did_you_mean(s))
                    }
                    None => diag.with_help(Msg::new(
                        format!(
                            "Erlaubt sind: {}.",
                            obj.all_keys().map(|k| k.name).collect::<Vec<_>>().join(", ")
                        ),
                        format!(
                            "allowed keys: {}",
                            obj.all_keys().map(|k| k.name).collect::<Vec<_>>().join(", ")
                        ),
                    )),
                };
                self.diags.push(diag);
                continue;
            }
            if map.insert(name, (k, v)).is_some() {
                self.diags.error(
                    Code::DuplicateId,
                    k.span,
                    Msg::new(
                        format!("Der Schlüssel `{name}` steht zweimal hier."),
                        format!("the key `{name}` appears twice here"),
                    ),
                );
            }
        }
        if !patch {
            for key in obj.all_keys().filter(|k| k.required) {
                if !map.contains_key(key.name) && !meant.contains(&key.name) {
                    self.diags.error_help(
                        Code::MissingKey,
                        node.span,
                        Msg::new(
                            format!("In {} fehlt der Schlüssel `{}`.", article_de(obj), key.name),
                            format!("{} lacks the key `{}`", article_en(obj), key.name),
                        ),
                        Msg::new(
                            format!("Ergänzen Sie `{}:` — {}", key.name, key.de),
                            format!("add `{}:` — {}", key.name, key.en),
                        ),
                    );
                }
            }
        }
        Some(Entries { node, map })
    }

    pub fn string(&mut self, node: &Node) -> Option<String> {
        match &node.kind {
            NodeKind::Str(s) => Some(s.clone()),
            NodeKind::Int(_) | NodeKind::Float(_) => node.scalar_text(),
            _ => {
                self.wrong_type(node, "ein Text", "a text");
                None
            }
        }
    }

    pub fn id(&mut self, node: &Node) -> Option<String> {
        let text = self.string(node)?;
        if is_id(&text) {
            return Some(text);
        }
        let proposal = normalize_id(&text);
        self.diags.error_help(
            Code::InvalidId,
            node.span,
            Msg::new(
                format!("`{text}` ist kein gültiger Name: erlaubt sind Kleinbuchstaben, Ziffern und `_`, am Anfang ein Buchstabe."),
                format!("`{text}` is not a valid name: use lower-case letters, digits and `_`, starting with a letter"),
            ),
            if proposal.is_empty() {
                Msg::new("Zum Beispiel `vorname`.", "for example `vorname`")
            } else {
                did_you_mean(&proposal)
            },
        );
        None
    }

    pub fn bool(&mut self, node: &Node) -> Option<bool> {
        match node.kind {
            NodeKind::Bool(b) => Some(b),
            _ => {
                self.diags.error_help(
                    Code::WrongType,
                    node.span,
                    Msg::new(
                        format!("Erwartet ist `true` oder `false`, gefunden {}.", node.describe().de),
                        format!("expected `true` or `false`, found {}", node.describe().en),
                    ),
                    Msg::new(
                        "Schreiben Sie `true` (ja) oder `false` (nein), ohne Anführungszeichen.",
                        "write `true` or `false`, without quotes",
                    ),
                );
                None
            }
        }
    }

    pub fn uint(&mut self, node: &Node) -> Option<u32> {
        match node.kind {
            NodeKind::Int(i) if (0..=i64::from(u32::MAX)).contains(&i) => u32::try_from(i).ok(),
            _ => {
                self.wrong_type(node, "eine ganze Zahl ab 0", "a whole number of 0 or more");
                None
            }
        }
    }

    pub fn list<'n>(&mut self, node: &'n Node) -> &'n [Node] {
        match &node.kind {
            NodeKind::Seq(items) => items,
            NodeKind::Null => &[],
            _ => {
                self.wrong_type(
                    node,
                    "eine Liste (Zeilen mit `- `)",
                    "a list (lines starting with `- `)",
                );
                &[]
            }
        }
    }

    pub fn map<'n>(&mut self, node: &'n Node) -> &'n [(Node, Node)] {
        match &node.kind {
            NodeKind::Map(items) => items,
            NodeKind::Null => &[],
            _ => {
                self.wrong_type(node, "eine Zuordnung (Schlüssel: Wert)", "a map (key: value)");
                &[]
            }
        }
    }

    pub fn expr(&mut self, node: &Node) -> Option<Expr> {
        let source = match &node.kind {
            NodeKind::Str(s) => s.clone(),
            NodeKind::Bool(b) => b.to_string(),
            NodeKind::Int(_) | NodeKind::Float(_) => node.scalar_text()?,
            _ => {
                self.wrong_type(node, "ein Ausdruck (Text)", "an expression (text)");
                return None;
            }
        };
        if source.chars().count() > MAX_EXPRESSION_CHARS {
            self.diags.error_help(
                Code::ExpressionSyntax,
                node.span,
                Msg::new(
                    format!("Der Ausdruck ist länger als {MAX_EXPRESSION_CHARS} Zeichen."),
                    format!("the expression is longer than {MAX_EXPRESSION_CHARS} characters"),
                ),
                Msg::new(
                    "Teilen Sie ihn in berechnete Werte (`computed:`) auf und verwenden Sie deren Namen.",
                    "split it into computed values (`computed:`) and use their names",
                ),
            );
            return None;
        }
        Some(Expr {
            source,
            span: node.span,
        })
    }

    pub fn word(
        &mut self,
        node: &Node,
        words: &'static [&'static str],
        what_de: &str,
        what_en: &str,
    ) -> Option<&'static str> {
        let text = self.string(node)?;
        if let Some(w) = words.iter().find(|w| **w == text) {
            return Some(w);
        }
        let help = suggest_or_list(&text, words, "Möglich sind", "possible");
        self.diags.error_help(
            Code::InvalidValue,
            node.span,
            Msg::new(
                format!("`{text}` ist kein gültiger Wert für {what_de}."),
                format!("`{text}` is not a valid {what_en}"),
            ),
            help,
        );
        None
    }

    pub fn text(&mut self, node: &Node) -> Option<Text> {
        match &node.kind {
            NodeKind::Str(s) => {
                self.missing_translations(node, &Text::german(s.clone()));
                Some(Text::german(s.clone()))
            }
            NodeKind::Int(_) | NodeKind::Float(_) => Some(Text::german(node.scalar_text()?)),
            NodeKind::Map(entries) => {
                let mut text = Text::default();
                for (k, v) in entries {
                    let Some(lang) = k.as_str() else { continue };
                    if !spec::LANGUAGES.contains(&lang) {
                        self.unknown_language(k, lang);
                        continue;
                    }
                    if let Some(value) = self.string(v) {
                        text.0.insert(lang.to_string(), value);
                    }
                }
                if !text.has("de") {
                    self.diags.error_help(
                        Code::MissingKey,
                        node.span,
                        Msg::new(
                            "Dem Text fehlt die deutsche Fassung `de:`.",
                            "the text lacks its German version `de:`",
                        ),
                        Msg::new(
                            "Deutsch ist immer die erste Sprache: ergänzen Sie `de: …`.",
                            "German is always the first language: add `de: …`",
                        ),
                    );
                }
                self.missing_translations(node, &text);
                Some(text)
            }
            _ => {
                self.wrong_type(
                    node,
                    "ein Text oder eine Zuordnung {de: …, en: …}",
                    "a text or a map {de: …, en: …}",
                );
                None
            }
        }
    }

    fn unknown_language(&mut self, node: &Node, lang: &str) {
        let help = suggest_or_list(
            lang,
            spec::LANGUAGES,
            "Sprachcodes nach ISO 639-1",
            "ISO 639-1 language codes",
        );
        self.diags.error_help(
            Code::UnknownLanguage,
            node.span,
            Msg::new(
                format!("Unbekannte Sprache `{lang}`."),
                format!("unknown language `{lang}`"),
            ),
            help,
        );
    }

    fn missing_translations(&mut self, node: &Node, text: &Text) {
        for lang in &self.languages {
            if !text.has(lang) {
                let diag = crate::diag::Diagnostic::warning(
                    Code::MissingTranslation,
                    node.span,
                    Msg::new(
                        format!("Der Dienst ist auch auf `{lang}` angeboten, aber dieser Text hat keine Übersetzung."),
                        format!("the service declares `{lang}`, but this text has no translation"),
                    ),
                )
                .with_help(Msg::new(
                    format!("Schreiben Sie den Text als {{de: …, {lang}: …}}."),
                    format!("write the text as {{de: …, {lang}: …}}"),
                ));
                self.diags.push(diag);
            }
        }
    }

    // ---------------------------------------------------------------- documents

    /// Reads a service file (or a merged overlay) into a [`Service`]. A `use:` finds the
    /// service's own groups first, then the `catalog`'s.
    pub fn service(&mut self, node: &Node, tenant: Option<String>, catalog: &CatalogGroups<'_>) -> Option<Service> {
        let e = self.entries(node, &spec::SERVICE, false)?;
        // Languages first: every text read afterwards is checked for its translations.
        let mut languages = vec!["de".to_string()];
        if let Some(n) = e.get("languages") {
            for item in self.list(n) {
                let Some(lang) = self.string(item) else { continue };
                if !spec::LANGUAGES.contains(&lang.as_str()) {
                    self.unknown_language(item, &lang);
                } else if !languages.contains(&lang) {
                    languages.push(lang);
                }
            }
        }
        self.languages = languages.iter().filter(|l| *l != "de").cloned().collect();

        let id_node = e.get("service");
        let id = id_node.and_then(|n| self.id(n)).unwrap_or_default();
        let version = e.get("version").and_then(|n| self.version(n)).unwrap_or_default();
        let leika = e.get("leika").and_then(|n| self.leika(n));
        let reference_prefix = e.get("reference_prefix").and_then(|n| self.reference_prefix(n));

        let mut lists = BTreeMap::new();
        if let Some(n) = e.get("lists") {
            for (k, v) in self.map(n) {
                let Some(name) = self.id(k) else { continue };
                let options = self.options(v);
                lists.insert(name, options);
            }
        }
        let mut groups = Groups::new(e.get("groups"), catalog, self);

        let mut steps = Vec::new();
        if let Some(n) = e.get("steps") {
            let items = self.list(n);
            if items.is_empty() && matches!(n.kind, NodeKind::Seq(_) | NodeKind::Null) {
                self.diags.error_help(
                    Code::EmptyService,
                    n.span,
                    Msg::new("Der Dienst hat keinen Schritt.", "the service has no step"),
                    Msg::new(
                        "Jeder Dienst braucht mindestens einen Schritt mit Feldern.",
                        "every service needs at least one step with fields",
                    ),
                );
            }
            for item in items {
                if let Some(step) = self.step(item, &lists, &mut groups) {
                    steps.push(step);
                }
            }
        }
        // A group that no field uses is still read, so its mistakes are reported.
        groups.read_unused(self, &lists);

        let computed = e
            .get("computed")
            .map(|n| self.each(n, Self::computed))
            .unwrap_or_default();
        let rules = e.get("rules").map(|n| self.each(n, Self::rule)).unwrap_or_default();
        let fees = e.get("fees").map(|n| self.each(n, Self::fee)).unwrap_or_default();
        let process = e.get("process").and_then(|n| self.process(n)).unwrap_or_default();
        let tests = e.get("tests").map(|n| self.each(n, Self::test)).unwrap_or_default();

        Some(Service {
            id,
            tenant,
            version,
            leika,
            title: e.get("title").and_then(|n| self.text(n)).unwrap_or_default(),
            description: e.get("description").and_then(|n| self.text(n)),
            keywords: e.get("keywords").map(|n| self.strings(n)).unwrap_or_default(),
            languages,
            duration: e.get("duration").and_then(|n| self.text(n)),
            requirements: e
                .get("requirements")
                .map(|n| self.list(n).iter().filter_map(|i| self.text(i)).collect())
                .unwrap_or_default(),
            privacy: e.get("privacy").and_then(|n| self.text(n)),
            declaration: e.get("declaration").and_then(|n| self.text(n)),
            next_steps: e.get("next_steps").and_then(|n| self.text(n)),
            confirmation_email: e.get("confirmation_email").and_then(|n| {
                self.string(n)?;
                named(n)
            }),
            reference_prefix,
            retention: self.retention(&e),
            lists,
            steps,
            computed,
            rules,
            fees,
            process,
            tests,
            span: id_node.map_or(node.span, |n| n.span),
        })
    }

    /// Reads the catalog's group files on their own, so a mistake in one is reported even if
    /// no service uses it. Inside them, `use:` finds only other catalog groups, and a choice
    /// has its `options` (a group file has no `lists`).
    pub fn catalog_groups(&mut self, catalog: &CatalogGroups<'_>) -> Vec<CatalogGroup> {
        let mut groups = Groups::new(None, catalog, self);
        let no_lists = BTreeMap::new();
        let mut out = Vec::new();
        for (name, node) in &catalog.nodes {
            if let Some(read) = groups.use_group(name, node, self, &no_lists) {
                out.push(CatalogGroup {
                    name: name.clone(),
                    label: read.used.label,
                    fim: read.used.fim,
                    fields: read.fields,
                    span: node.get("group").map_or(node.span, |n| n.span),
                });
            }
        }
        out
    }

    pub fn tenant(&mut self, node: &Node) -> Option<Tenant> {
        let e = self.entries(node, &spec::TENANT, false)?;
        let id_node = e.get("tenant");
        let id = id_node.and_then(|n| self.id(n)).unwrap_or_default();
        let contact = match e.get("contact").and_then(|n| self.entries(n, &spec::CONTACT, false)) {
            Some(c) => Contact {
                office: c.get("office").and_then(|n| self.text(n)),
                address: c.get("address").and_then(|n| self.text(n)),
                email: c.get("email").and_then(|n| self.string(n)),
                phone: c.get("phone").and_then(|n| self.string(n)),
                hours: c.get("hours").and_then(|n| self.text(n)),
            },
            None => Contact::default(),
        };
        let links = match e.get("links").and_then(|n| self.entries(n, &spec::LINKS, false)) {
            Some(l) => Links {
                impressum: l.get("impressum").and_then(|n| self.string(n)).unwrap_or_default(),
                datenschutz: l.get("datenschutz").and_then(|n| self.string(n)).unwrap_or_default(),
                barrierefreiheit: l
                    .get("barrierefreiheit")
                    .and_then(|n| self.string(n))
                    .unwrap_or_default(),
            },
            None => Links::default(),
        };
        let theme = match e.get("theme").and_then(|n| self.entries(n, &spec::THEME, false)) {
            Some(t) => Theme {
                logo: t.get("logo").and_then(|n| self.string(n)),
                logo_alt: t.get("logo_alt").and_then(|n| self.text(n)),
                primary_color: t.get("primary_color").and_then(|n| self.color(n)),
                accent_color: t.get("accent_color").and_then(|n| self.color(n)),
            },
            None => Theme::default(),
        };
        Some(Tenant {
            id,
            name: e.get("name").and_then(|n| self.text(n)).unwrap_or_default(),
            contact,
            links,
            theme,
            retention: self.retention(&e),
            span: id_node.map_or(node.span, |n| n.span),
        })
    }

    /// The `retention:` of a service, an overlay or a municipality, if it is written and valid.
    /// Its span is that of `after_final_state`, which lies in the file that wrote the period
    /// (a merged overlay keeps the base's key `retention` but takes the overlay's value).
    fn retention(&mut self, e: &Entries<'_>) -> Option<Retention> {
        let r = self.entries(e.get("retention")?, &spec::RETENTION, false)?;
        let value = r.get("after_final_state")?;
        Some(Retention {
            after_final_state_days: self.days(value)?,
            span: r.key_span("after_final_state").unwrap_or(value.span),
        })
    }

    /// A number of days written `180d`, 1 to [`MAX_RETENTION_DAYS`]. Weeks, months and years,
    /// a bare number or a German or English word for days are refused with the days they
    /// most likely mean as the suggestion (a month counted as 30 days, a year as 365).
    fn days(&mut self, node: &Node) -> Option<u32> {
        let text = match &node.kind {
            NodeKind::Str(_) | NodeKind::Int(_) | NodeKind::Float(_) => node.scalar_text()?,
            _ => {
                self.wrong_type(node, "eine Anzahl Tage wie `180d`", "a number of days like `180d`");
                return None;
            }
        };
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase();
        let digits_end = compact.find(|c: char| !c.is_ascii_digit()).unwrap_or(compact.len());
        let (number, unit) = compact.split_at(digits_end);
        let number: Option<u64> = number.parse().ok();
        let per_unit = match unit {
            "d" => Some(1),
            "" | "t" | "tag" | "tage" | "day" | "days" => Some(1),
            "w" | "wo" | "woche" | "wochen" | "week" | "weeks" => Some(7),
            "m" | "mo" | "monat" | "monate" | "month" | "months" => Some(30),
            "y" | "j" | "jahr" | "jahre" | "year" | "years" => Some(365),
            _ => None,
        };
        let days = number.zip(per_unit).map(|(n, per)| n.saturating_mul(per));
        let range = 1..=u64::from(MAX_RETENTION_DAYS);
        if unit == "d" && text.trim() == compact && days.is_some_and(|d| range.contains(&d)) {
            return days.and_then(|d| u32::try_from(d).ok());
        }
        let not_days = Msg::new(
            format!("`{text}` ist keine Frist in Tagen: erwartet ist eine Zahl und `d`, z. B. `180d`."),
            format!("`{text}` is not a period in days: expected a number followed by `d`, e.g. `180d`"),
        );
        let (message, help) = match days {
            Some(d) if !range.contains(&d) => (
                Msg::new(
                    format!(
                        "`{text}` liegt außerhalb der erlaubten Frist von 1 bis {MAX_RETENTION_DAYS} Tagen (zehn Jahren)."
                    ),
                    format!("`{text}` is outside the allowed period of 1 to {MAX_RETENTION_DAYS} days (ten years)"),
                ),
                did_you_mean(&if d == 0 {
                    "1d".to_string()
                } else {
                    format!("{MAX_RETENTION_DAYS}d")
                }),
            ),
            Some(d) => (not_days, did_you_mean(&format!("{d}d"))),
            None => (
                not_days,
                Msg::new(
                    "Schreiben Sie die Frist in Tagen, z. B. `180d` für etwa ein halbes Jahr.",
                    "write the period in days, e.g. `180d` for about half a year",
                ),
            ),
        };
        self.diags.error_help(Code::InvalidValue, node.span, message, help);
        None
    }

    fn color(&mut self, node: &Node) -> Option<String> {
        let text = self.string(node)?;
        let ok = text.len() == 7 && text.starts_with('#') && text[1..].chars().all(|c| c.is_ascii_hexdigit());
        if ok {
            return Some(text);
        }
        self.diags.error_help(
            Code::InvalidValue,
            node.span,
            Msg::new(
                format!("`{text}` ist keine Farbe der Form #rrggbb."),
                format!("`{text}` is not a colour of the form #rrggbb"),
            ),
            Msg::new("Zum Beispiel `#005ea5`.", "for example `#005ea5`"),
        );
        None
    }

    fn version(&mut self, node: &Node) -> Option<String> {
        let text = match &node.kind {
            NodeKind::Float(_) | NodeKind::Int(_) => node.scalar_text()?,
            _ => self.string(node)?,
        };
        if version_regex().is_match(&text) {
            return Some(text);
        }
        let digits: Vec<&str> = text.trim_start_matches('v').split('.').collect();
        let proposal = match digits.as_slice() {
            [a] => format!("{}.0.0", a.trim_start_matches('0').max("0")),
            [a, b] => format!("{a}.{b}.0"),
            _ => "1.0.0".to_string(),
        };
        self.diags.error_help(
            Code::InvalidVersion,
            node.span,
            Msg::new(
                format!("`{text}` ist keine gültige Version: erwartet ist MAJOR.MINOR.PATCH, z. B. 1.2.0."),
                format!("`{text}` is not a valid version: expected MAJOR.MINOR.PATCH, e.g. 1.2.0"),
            ),
            if version_regex().is_match(&proposal) {
                did_you_mean(&proposal)
            } else {
                did_you_mean("1.0.0")
            },
        );
        None
    }

    /// Reads `fim: { id: F60000001, version: "1.0" }`.
    fn fim(&mut self, node: &Node) -> Option<FimRef> {
        let e = self.entries(node, &spec::FIM, false)?;
        let id = e.get("id").and_then(|n| self.fim_id(n));
        let version = match e.get("version") {
            Some(n) => Some(self.fim_version(n)?),
            None => None,
        };
        Some(FimRef { id: id?, version })
    }

    fn fim_id(&mut self, node: &Node) -> Option<String> {
        let text = match &node.kind {
            NodeKind::Int(_) => node.scalar_text()?,
            _ => self.string(node)?,
        };
        if fim_id_regex().is_match(&text) {
            return Some(text);
        }
        // Copied with a space or a dash, or in small letters: the id it surely means.
        let compact: String = text
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_uppercase();
        let help = if fim_id_regex().is_match(&compact) {
            did_you_mean(&compact)
        } else {
            Msg::new(
                "Übernehmen Sie die Kennung aus dem FIM-Katalog, z. B. `F60000001` für ein Datenfeld oder `G60000086` für eine Datenfeldgruppe.",
                "copy the id from the FIM catalogue, e.g. `F60000001` for a data field or `G60000086` for a data field group",
            )
        };
        self.diags.error_help(
            Code::InvalidValue,
            node.span,
            Msg::new(
                format!("`{text}` ist keine FIM-Kennung: erwartet sind ein Großbuchstabe und Ziffern."),
                format!("`{text}` is not a FIM id: expected a capital letter and digits"),
            ),
            help,
        );
        None
    }

    fn fim_version(&mut self, node: &Node) -> Option<String> {
        // Unquoted, YAML reads `1.10` as the number 1.1: a version must be a string.
        let (text, quoted) = match &node.kind {
            NodeKind::Int(_) | NodeKind::Float(_) => (node.scalar_text()?, false),
            _ => (self.string(node)?, true),
        };
        if quoted && fim_version_regex().is_match(&text) {
            return Some(text);
        }
        let bare = text.trim().trim_start_matches(['v', 'V']);
        let proposal = if fim_version_regex().is_match(bare) {
            bare.to_string()
        } else if !bare.is_empty() && bare.chars().all(|c| c.is_ascii_digit()) {
            format!("{bare}.0")
        } else {
            "1.0".to_string()
        };
        let message = if quoted {
            Msg::new(
                format!("`{text}` ist keine FIM-Version: erwartet ist z. B. \"1.0\" oder \"1.2.3\"."),
                format!("`{text}` is not a FIM version: expected e.g. \"1.0\" or \"1.2.3\""),
            )
        } else {
            Msg::new(
                format!(
                    "Die FIM-Version `{text}` gehört in Anführungszeichen: Ohne sie liest YAML eine Zahl (aus 1.10 würde 1.1)."
                ),
                format!(
                    "the FIM version `{text}` must be quoted: without quotes YAML reads a number (1.10 would become 1.1)"
                ),
            )
        };
        self.diags.error_help(
            Code::InvalidValue,
            node.span,
            message,
            did_you_mean(&format!("\"{proposal}\"")),
        );
        None
    }

    fn leika(&mut self, node: &Node) -> Option<String> {
        let text = match &node.kind {
            NodeKind::Int(_) => node.scalar_text()?,
            _ => self.string(node)?,
        };
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.len() == 14 && compact.chars().all(|c| c.is_ascii_digit()) {
            return Some(compact);
        }
        self.diags.error_help(
            Code::InvalidLeika,
            node.span,
            Msg::new(
                format!("`{text}` ist kein FIM-Leistungsschlüssel: er hat genau 14 Ziffern."),
                format!("`{text}` is not a FIM service key (LeiKa): it has exactly 14 digits"),
            ),
            Msg::new(
                "Übernehmen Sie den Schlüssel aus dem FIM-Portal, in Anführungszeichen, z. B. \"99108001000000\". Ist keiner bekannt, lassen Sie `leika` weg.",
                "copy the key from the FIM portal, quoted, e.g. \"99108001000000\"; if none is known, leave `leika` out",
            ),
        );
        None
    }

    fn reference_prefix(&mut self, node: &Node) -> Option<String> {
        let text = self.string(node)?;
        if (2..=5).contains(&text.len()) && text.chars().all(|c| c.is_ascii_uppercase()) {
            return Some(text);
        }
        self.diags.error_help(
            Code::InvalidValue,
            node.span,
            Msg::new(
                format!("`{text}` ist kein gültiges Kürzel: 2 bis 5 Großbuchstaben A–Z."),
                format!("`{text}` is not a valid prefix: 2 to 5 capital letters A–Z"),
            ),
            Msg::new("Zum Beispiel `BPA`.", "for example `BPA`"),
        );
        None
    }

    fn names(&mut self, node: &Node) -> Vec<Named> {
        self.list(node)
            .iter()
            .filter_map(|i| {
                Some(Named {
                    name: self.string(i)?,
                    span: i.span,
                })
            })
            .collect()
    }

    fn strings(&mut self, node: &Node) -> Vec<String> {
        self.list(node).iter().filter_map(|i| self.string(i)).collect()
    }

    fn each<T>(&mut self, node: &Node, read: fn(&mut Self, &Node) -> Option<T>) -> Vec<T> {
        self.list(node).iter().filter_map(|item| read(self, item)).collect()
    }

    fn options(&mut self, node: &Node) -> Vec<ChoiceOption> {
        let mut options = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for item in self.list(node) {
            let Some(e) = self.entries(item, &spec::OPTION, false) else {
                continue;
            };
            let value_node = e.get("value");
            let Some(value) = value_node.and_then(|n| self.string(n)) else {
                continue;
            };
            if !seen.insert(value.clone()) {
                self.diags.error(
                    Code::DuplicateId,
                    value_node.map_or(item.span, |n| n.span),
                    Msg::new(
                        format!("Die Auswahl `{value}` steht zweimal in der Liste."),
                        format!("the option `{value}` appears twice in the list"),
                    ),
                );
            }
            options.push(ChoiceOption {
                value,
                label: e.get("label").and_then(|n| self.text(n)).unwrap_or_default(),
                hint: e.get("hint").and_then(|n| self.text(n)),
            });
        }
        options
    }

    // ---------------------------------------------------------------- steps and fields

    fn step(&mut self, node: &Node, lists: &BTreeMap<String, Vec<ChoiceOption>>, groups: &mut Groups) -> Option<Step> {
        let e = self.entries(node, &spec::STEP, false)?;
        let id_node = e.get("id");
        let fields = e
            .get("fields")
            .map(|n| self.fields(n, lists, groups))
            .unwrap_or_default();
        Some(Step {
            id: id_node.and_then(|n| self.id(n)).unwrap_or_default(),
            title: e.get("title").and_then(|n| self.text(n)).unwrap_or_default(),
            description: e.get("description").and_then(|n| self.text(n)),
            visible_if: e.get("visible_if").and_then(|n| self.expr(n)),
            required_if: e.get("required_if").and_then(|n| self.expr(n)),
            fields,
            span: id_node.map_or(node.span, |n| n.span),
        })
    }

    fn fields(&mut self, node: &Node, lists: &BTreeMap<String, Vec<ChoiceOption>>, groups: &mut Groups) -> Vec<Field> {
        let mut out = Vec::new();
        for item in self.list(node) {
            if let Some(field) = self.field(item, lists, groups) {
                out.push(field);
            }
        }
        out
    }

    fn field(
        &mut self,
        node: &Node,
        lists: &BTreeMap<String, Vec<ChoiceOption>>,
        groups: &mut Groups,
    ) -> Option<Field> {
        let e = self.entries(node, &spec::FIELD, false)?;
        let id_node = e.get("id");
        let id = id_node.and_then(|n| self.id(n));
        let type_name = e.get("type").and_then(|n| self.field_type(n));

        let label = e.get("label").and_then(|n| self.text(n));
        let kind = match type_name {
            Some(t) => self.field_kind(t, &e, lists, groups),
            None => None,
        };
        let Some((kind, uses)) = kind else {
            if let Some(id) = id {
                self.unreadable.insert(id);
            }
            return None;
        };
        let label = match label {
            Some(l) => l,
            None => {
                let group_label = uses.as_ref().and_then(|g| g.label.clone());
                let misspelt = e.node.as_map().is_some_and(|m| {
                    m.iter().any(|(k, _)| {
                        k.as_str()
                            .is_some_and(|k| k != "label" && suggest(k, ["label"]).is_some())
                    })
                });
                if group_label.is_none() && !misspelt && !e.has("label") && !matches!(kind, FieldKind::Info { .. }) {
                    self.diags.error_help(
                        Code::MissingKey,
                        node.span,
                        Msg::new(
                            "Dem Feld fehlt die Beschriftung `label`.",
                            "the field lacks its `label`",
                        ),
                        Msg::new(
                            "Jedes Eingabefeld braucht eine sichtbare Beschriftung (Barrierefreiheit).",
                            "every input needs a visible label (accessibility)",
                        ),
                    );
                }
                group_label.unwrap_or_default()
            }
        };
        self.check_applicable(&kind, &e);
        let constraints = self.constraints(&kind, &e);

        Some(Field {
            id: id?,
            label,
            hint: e.get("hint").and_then(|n| self.text(n)),
            required: e.get("required").and_then(|n| self.bool(n)).unwrap_or(false),
            required_if: e.get("required_if").and_then(|n| self.expr(n)),
            visible_if: e.get("visible_if").and_then(|n| self.expr(n)),
            constraints,
            autocomplete: e.get("autocomplete").and_then(|n| self.string(n)),
            fim: e.get("fim").and_then(|n| self.fim(n)),
            uses,
            kind,
            span: id_node.map_or(node.span, |n| n.span),
        })
    }

    fn field_type(&mut self, node: &Node) -> Option<&'static str> {
        let text = self.string(node)?;
        if let Some(t) = spec::FIELD_TYPES.iter().find(|t| **t == text) {
            return Some(t);
        }
        // Clerks often write the German word; map the common ones to their type.
        let german = match text.to_lowercase().as_str() {
            "datum" => Some("date"),
            "zahl" | "ganzzahl" => Some("integer"),
            "betrag" | "geld" => Some("money"),
            "auswahl" => Some("choice"),
            "datei" | "upload" => Some("file"),
            "telefon" => Some("phone"),
            "gruppe" => Some("group"),
            "liste" | "wiederholung" => Some("repeat"),
            "ja_nein" | "janein" | "bool" | "boolean" | "checkbox" => Some("yes_no"),
            "string" => Some("text"),
            "number" | "float" => Some("decimal"),
            _ => None,
        };
        let help = match german.or_else(|| suggest(&text, spec::FIELD_TYPES.iter().copied())) {
            Some(s) => did_you_mean(s),
            None => Msg::new(
                format!("Feldtypen: {}.", spec::FIELD_TYPES.join(", ")),
                format!("field types: {}", spec::FIELD_TYPES.join(", ")),
            ),
        };
        self.diags.error_help(
            Code::UnknownFieldType,
            node.span,
            Msg::new(
                format!("Unbekannter Feldtyp `{text}`."),
                format!("unknown field type `{text}`"),
            ),
            help,
        );
        None
    }

    fn field_kind(
        &mut self,
        type_name: &str,
        e: &Entries<'_>,
        lists: &BTreeMap<String, Vec<ChoiceOption>>,
        groups: &mut Groups,
    ) -> Option<(FieldKind, Option<UsedGroup>)> {
        let mut uses = None;
        let kind = match type_name {
            "text" => FieldKind::Text,
            "textarea" => FieldKind::Textarea,
            "integer" => FieldKind::Integer,
            "decimal" => FieldKind::Decimal,
            "money" => FieldKind::Money,
            "date" => FieldKind::Date,
            "email" => FieldKind::Email,
            "phone" => FieldKind::Phone,
            "yes_no" => FieldKind::YesNo,
            "consent" => FieldKind::Consent,
            "plz" => FieldKind::Plz,
            "iban" => FieldKind::Iban,
            "steuer_id" => FieldKind::SteuerId,
            "kfz_kennzeichen" => FieldKind::KfzKennzeichen,
            "info" => {
                let text = match e.get("text") {
                    Some(n) => self.text(n).unwrap_or_default(),
                    None => {
                        self.diags.error_help(
                            Code::MissingKey,
                            e.node.span,
                            Msg::new(
                                "Einem `info`-Feld fehlt sein `text`.",
                                "an `info` field lacks its `text`",
                            ),
                            Msg::new(
                                "Ergänzen Sie `text: …` mit dem anzuzeigenden Hinweis.",
                                "add `text: …` with the note to show",
                            ),
                        );
                        Text::default()
                    }
                };
                FieldKind::Info { text }
            }
            "choice" => {
                let widget = match e
                    .get("widget")
                    .and_then(|n| self.word(n, spec::WIDGETS, "`widget`", "`widget`"))
                {
                    Some("select") => Widget::Select,
                    Some("checkboxes") => Widget::Checkboxes,
                    _ => Widget::Radio,
                };
                let (options, list) = match (e.get("list"), e.get("options")) {
                    (Some(_), Some(o)) => {
                        self.diags.error_help(
                            Code::InvalidValue,
                            o.span,
                            Msg::new(
                                "Ein Auswahlfeld hat entweder `list` oder `options`, nicht beides.",
                                "a choice has either `list` or `options`, not both",
                            ),
                            Msg::new("Entfernen Sie eines der beiden.", "remove one of them"),
                        );
                        (Vec::new(), None)
                    }
                    (Some(l), None) => {
                        let name = self.string(l)?;
                        match lists.get(&name) {
                            Some(options) => (options.clone(), Some(name)),
                            None => {
                                self.unknown_reference(
                                    l,
                                    &name,
                                    "keine Liste",
                                    "list",
                                    lists.keys().map(String::as_str),
                                );
                                (Vec::new(), Some(name))
                            }
                        }
                    }
                    (None, Some(o)) => (self.options(o), None),
                    (None, None) => {
                        self.diags.error_help(
                            Code::MissingKey,
                            e.node.span,
                            Msg::new(
                                "Dem Auswahlfeld fehlen seine Möglichkeiten.",
                                "the choice lacks its options",
                            ),
                            Msg::new(
                                "Geben Sie `list: <name>` (eine Liste unter `lists:`) oder `options:` an.",
                                "give `list: <name>` (a list under `lists:`) or `options:`",
                            ),
                        );
                        (Vec::new(), None)
                    }
                };
                FieldKind::Choice { options, list, widget }
            }
            "file" => {
                let accept = match e.get("accept") {
                    Some(n) => self
                        .list(n)
                        .iter()
                        .filter_map(|i| self.word(i, spec::FILE_KINDS, "eine Dateiart", "file kind"))
                        .map(str::to_string)
                        .collect(),
                    None => vec!["pdf".to_string(), "jpeg".to_string(), "png".to_string()],
                };
                let max_size = e.get("max_size").and_then(|n| self.size(n));
                FieldKind::File { accept, max_size }
            }
            "group" | "repeat" => {
                let fields = match (e.get("use"), e.get("fields")) {
                    (Some(_), Some(f)) => {
                        self.diags.error_help(
                            Code::InvalidValue,
                            f.span,
                            Msg::new(
                                "Eine Gruppe hat entweder `use` oder `fields`, nicht beides.",
                                "a group has either `use` or `fields`, not both",
                            ),
                            Msg::new("Entfernen Sie eines der beiden.", "remove one of them"),
                        );
                        Vec::new()
                    }
                    (Some(u), None) => {
                        let name = self.string(u)?;
                        match groups.use_group(&name, u, self, lists) {
                            Some(read) => {
                                uses = Some(read.used);
                                read.fields
                            }
                            None => Vec::new(),
                        }
                    }
                    (None, Some(f)) => self.fields(f, lists, groups),
                    (None, None) => {
                        self.diags.error_help(
                            Code::MissingKey,
                            e.node.span,
                            Msg::new("Der Gruppe fehlen ihre Felder.", "the group lacks its fields"),
                            Msg::new(
                                "Geben Sie `fields:` oder `use: <gruppe>` an.",
                                "give `fields:` or `use: <group>`",
                            ),
                        );
                        Vec::new()
                    }
                };
                if type_name == "group" {
                    FieldKind::Group { fields }
                } else {
                    let min_items = e.get("min_items").and_then(|n| self.uint(n));
                    let max_items = e.get("max_items").and_then(|n| self.uint(n));
                    if let (Some(min), Some(max)) = (min_items, max_items)
                        && min > max
                    {
                        self.contradiction(
                            e.get("min_items").map_or(e.node.span, |n| n.span),
                            "min_items",
                            "max_items",
                        );
                    }
                    FieldKind::Repeat {
                        fields,
                        min_items,
                        max_items,
                        item_label: e.get("item_label").and_then(|n| self.text(n)),
                    }
                }
            }
            _ => return None,
        };
        Some((kind, uses))
    }

    /// Reports a reference to something that is not defined. `none_de` is the German
    /// negative with its article ("keine Liste", "keinen Stand"), since German inflects it.
    fn unknown_reference<'a>(
        &mut self,
        node: &Node,
        name: &str,
        none_de: &str,
        what_en: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) {
        let what_de = none_de;
        let candidates: Vec<&str> = candidates.into_iter().collect();
        let help = match suggest(name, candidates.iter().copied()) {
            Some(s) => did_you_mean(s),
            None if candidates.is_empty() => Msg::new(
                format!("Bisher gibt es hier {what_de}; legen Sie zuerst eine Definition an."),
                format!("there is no {what_en} yet; define it first"),
            ),
            None => Msg::new(
                format!("Vorhanden: {}.", candidates.join(", ")),
                format!("defined: {}", candidates.join(", ")),
            ),
        };
        self.diags.error_help(
            Code::UnknownReference,
            node.span,
            Msg::new(
                format!("Es gibt {what_de} namens `{name}`."),
                format!("there is no {what_en} `{name}`"),
            ),
            help,
        );
    }

    /// Refuses keys that mean nothing for the field's type, such as `accept` on a text field.
    fn check_applicable(&mut self, kind: &FieldKind, e: &Entries<'_>) {
        let name = kind.name();
        let applies = |key: &str| -> bool {
            match key {
                "min_length" | "max_length" | "pattern" | "pattern_message" => kind.is_textual(),
                "min" | "max" => kind.is_numeric() || matches!(kind, FieldKind::Date),
                "accept" | "max_size" => matches!(kind, FieldKind::File { .. }),
                "list" | "options" | "widget" => matches!(kind, FieldKind::Choice { .. }),
                "text" => matches!(kind, FieldKind::Info { .. }),
                "use" | "fields" => matches!(kind, FieldKind::Group { .. } | FieldKind::Repeat { .. }),
                "min_items" | "max_items" | "item_label" => matches!(kind, FieldKind::Repeat { .. }),
                "required" | "required_if" => !matches!(kind, FieldKind::Info { .. }),
                _ => true,
            }
        };
        for key in spec::FIELD.keys.iter().map(|k| k.name) {
            if e.has(key) && !applies(key) {
                let span = e.key_span(key).unwrap_or(e.node.span);
                self.diags.error_help(
                    Code::InvalidConstraint,
                    span,
                    Msg::new(
                        format!("`{key}` gilt nicht für Felder vom Typ `{name}`."),
                        format!("`{key}` does not apply to fields of type `{name}`"),
                    ),
                    Msg::new(
                        format!("Entfernen Sie `{key}` oder wählen Sie einen passenden Typ."),
                        format!("remove `{key}`, or choose a type it applies to"),
                    ),
                );
            }
        }
    }

    fn contradiction(&mut self, span: Span, low: &str, high: &str) {
        self.diags.error_help(
            Code::InvalidConstraint,
            span,
            Msg::new(
                format!("`{low}` ist größer als `{high}`: kein Wert kann beide erfüllen."),
                format!("`{low}` is greater than `{high}`: no value can satisfy both"),
            ),
            Msg::new("Tauschen Sie die beiden Werte.", "swap the two values"),
        );
    }

    fn constraints(&mut self, kind: &FieldKind, e: &Entries<'_>) -> Constraints {
        let mut c = Constraints {
            min_length: e.get("min_length").and_then(|n| self.uint(n)),
            max_length: e.get("max_length").and_then(|n| self.uint(n)),
            ..Constraints::default()
        };
        if let (Some(min), Some(max)) = (c.min_length, c.max_length)
            && min > max
        {
            self.contradiction(
                e.get("min_length").map_or(e.node.span, |n| n.span),
                "min_length",
                "max_length",
            );
        }
        let date = matches!(kind, FieldKind::Date);
        if kind.is_numeric() || date {
            c.min = e.get("min").and_then(|n| self.bound(n, date));
            c.max = e.get("max").and_then(|n| self.bound(n, date));
            if let (Some(min), Some(max)) = (&c.min, &c.max)
                && bound_greater(min, max)
            {
                self.contradiction(e.get("min").map_or(e.node.span, |n| n.span), "min", "max");
            }
        }
        match (e.get("pattern"), e.get("pattern_message")) {
            (Some(p), message) => {
                let regex = self.string(p);
                if let Some(regex) = &regex
                    && let Err(error) = Regex::new(&format!("^(?:{regex})$"))
                {
                    let detail = error.to_string();
                    let detail = detail.lines().last().unwrap_or_default().trim().to_string();
                    self.diags.error_help(
                        Code::InvalidPattern,
                        p.span,
                        Msg::new(format!("Das Muster ist kein gültiger regulärer Ausdruck: {detail}"), format!("the pattern is not a valid regular expression: {detail}")),
                        Msg::new(
                            "Prüfen Sie Klammern und Sonderzeichen; ein Zeichen wie `.` oder `(` schreiben Sie als `\\.` bzw. `\\(`.",
                            "check brackets and special characters; write a literal `.` or `(` as `\\.` or `\\(`",
                        ),
                    );
                }
                let message = match message {
                    Some(m) => self.text(m),
                    None => {
                        self.diags.error_help(
                            Code::MissingKey,
                            p.span,
                            Msg::new("Zu `pattern` fehlt `pattern_message`.", "`pattern` lacks its `pattern_message`"),
                            Msg::new(
                                "Schreiben Sie, welche Eingabe erwartet wird, z. B. „Bitte geben Sie die Aktenzeichen-Nummer wie 12-345 ein.“",
                                "say what input is expected, e.g. “Enter the file number like 12-345.”",
                            ),
                        );
                        None
                    }
                };
                if let (Some(regex), Some(message)) = (regex, message) {
                    c.pattern = Some(Pattern { regex, message });
                }
            }
            (None, Some(m)) => {
                self.diags.error_help(
                    Code::InvalidConstraint,
                    m.span,
                    Msg::new(
                        "`pattern_message` ohne `pattern`.",
                        "`pattern_message` without `pattern`",
                    ),
                    Msg::new(
                        "Ergänzen Sie `pattern:` oder entfernen Sie die Meldung.",
                        "add `pattern:`, or remove the message",
                    ),
                );
            }
            (None, None) => {}
        }
        c
    }

    fn bound(&mut self, node: &Node, date: bool) -> Option<Bound> {
        let text = node.scalar_text().unwrap_or_default();
        if date {
            if text == "today" {
                return Some(Bound::DaysFromToday(0));
            }
            if let Some(days) = text.strip_suffix('d')
                && (days.starts_with('+') || days.starts_with('-'))
                && let Ok(n) = days.parse::<i64>()
                && n.abs() <= 365 * 200
            {
                return Some(Bound::DaysFromToday(n));
            }
            // Months and years count calendar months: `-3m`, `+1y`, `-18y`.
            for (unit, months) in [('m', 1), ('y', 12)] {
                if let Some(count) = text.strip_suffix(unit)
                    && (count.starts_with('+') || count.starts_with('-'))
                    && let Ok(n) = count.parse::<i64>()
                    && n.abs() * months <= 12 * 200
                {
                    return Some(Bound::MonthsFromToday(n * months));
                }
            }
            if is_iso_date(&text) {
                return Some(Bound::Date(text));
            }
            self.diags.error_help(
                Code::InvalidValue,
                node.span,
                Msg::new(
                    format!("`{text}` ist keine Datumsgrenze."),
                    format!("`{text}` is not a date bound"),
                ),
                Msg::new(
                    "Schreiben Sie ein Datum wie 2026-01-31 oder relativ zu heute: `today`, `-14d`, `+7d`, `-3m`, `-18y`.",
                    "write a date like 2026-01-31, or relative to today: `today`, `-14d`, `+7d`, `-3m`, `-18y`",
                ),
            );
            return None;
        }
        match &node.kind {
            NodeKind::Int(_) | NodeKind::Float(_) => Some(Bound::Number(text)),
            NodeKind::Str(s) if is_decimal(s) => Some(Bound::Number(s.clone())),
            _ => {
                self.wrong_type(node, "eine Zahl", "a number");
                None
            }
        }
    }

    fn size(&mut self, node: &Node) -> Option<u64> {
        let text = node.scalar_text().unwrap_or_default();
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let upper = compact.to_uppercase();
        let (digits, factor) = if let Some(d) = upper.strip_suffix("MB") {
            (d, 1024 * 1024)
        } else if let Some(d) = upper.strip_suffix("KB") {
            (d, 1024)
        } else if let Some(d) = upper.strip_suffix('B') {
            (d, 1)
        } else {
            (upper.as_str(), 0)
        };
        match digits.parse::<u64>() {
            Ok(n) if factor > 0 && n * factor <= 100 * 1024 * 1024 && n > 0 => Some(n * factor),
            _ => {
                self.diags.error_help(
                    Code::InvalidValue,
                    node.span,
                    Msg::new(
                        format!("`{text}` ist keine Dateigröße zwischen 1 B und 100 MB."),
                        format!("`{text}` is not a file size between 1 B and 100 MB"),
                    ),
                    Msg::new(
                        "Schreiben Sie z. B. `10 MB` oder `500 KB`.",
                        "write e.g. `10 MB` or `500 KB`",
                    ),
                );
                None
            }
        }
    }

    // ---------------------------------------------------------------- logic

    fn computed(&mut self, node: &Node) -> Option<Computed> {
        let e = self.entries(node, &spec::COMPUTED, false)?;
        let id_node = e.get("id")?;
        let value_type = e
            .get("type")
            .and_then(|n| self.word(n, spec::VALUE_TYPES, "`type`", "`type`"))
            .map(|t| match t {
                "integer" => ValueType::Integer,
                "decimal" => ValueType::Decimal,
                "money" => ValueType::Money,
                "date" => ValueType::Date,
                "bool" => ValueType::Bool,
                _ => ValueType::Text,
            });
        Some(Computed {
            id: self.id(id_node)?,
            value: e.get("value").and_then(|n| self.expr(n))?,
            value_type,
            label: e.get("label").and_then(|n| self.text(n)),
            span: id_node.span,
        })
    }

    fn rule(&mut self, node: &Node) -> Option<Rule> {
        let e = self.entries(node, &spec::RULE, false)?;
        let field_node = e.get("field");
        let message = e.get("message");
        Some(Rule {
            id: e.get("id").and_then(|n| self.id(n)),
            check: e.get("check").and_then(|n| self.expr(n))?,
            field: field_node.and_then(|n| self.string(n))?,
            message: message.and_then(|n| self.text(n)).unwrap_or_default(),
            values: message.map(|n| self.message_values(n)).unwrap_or_default(),
            span: field_node.map_or(node.span, |n| n.span),
        })
    }

    /// The `{{ expression }}` parts of a rule's message, each with the place it is written at
    /// (exact for one-line texts; the text's own place for block texts).
    fn message_values(&mut self, node: &Node) -> Vec<Expr> {
        let texts: Vec<&Node> = match &node.kind {
            NodeKind::Map(entries) => entries.iter().map(|(_, v)| v).collect(),
            _ => vec![node],
        };
        let mut values: Vec<Expr> = Vec::new();
        for text in texts {
            let NodeKind::Str(s) = &text.kind else { continue };
            let chars = s.chars().count() as u32;
            let offset = match text.span.len {
                len if len == chars => Some(0),
                len if len == chars + 2 => Some(1),
                _ => None,
            };
            let at = |byte: usize, len: usize| match offset {
                Some(quote) => Span {
                    col: text.span.col + quote + s[..byte].chars().count() as u32,
                    len: len as u32,
                    ..text.span
                },
                None => text.span,
            };
            let mut rest = 0;
            while let Some(open) = s[rest..].find("{{").map(|i| rest + i) {
                let Some(close) = s[open + 2..].find("}}").map(|i| open + 2 + i) else {
                    self.diags.error_help(
                        Code::ExpressionSyntax,
                        at(open, 2),
                        Msg::new(
                            "Hier beginnt ein Wert `{{`, der nicht mit `}}` endet.",
                            "a value starts here with `{{` but does not end with `}}`",
                        ),
                        Msg::new(
                            "Schreiben Sie den Wert als `{{ name }}`, z. B. „Sie haben {{ tage }} Tage gewählt.“",
                            "write the value as `{{ name }}`, e.g. \"You chose {{ tage }} days.\"",
                        ),
                    );
                    break;
                };
                let inner = &s[open + 2..close];
                let source = inner.trim();
                let start = open + 2 + (inner.len() - inner.trim_start().len());
                if !values.iter().any(|v| v.source == source) {
                    values.push(Expr {
                        source: source.to_string(),
                        span: at(start, source.chars().count()),
                    });
                }
                rest = close + 2;
            }
        }
        values
    }

    fn fee(&mut self, node: &Node) -> Option<Fee> {
        let e = self.entries(node, &spec::FEE, false)?;
        let id = e.get("id").and_then(|n| self.id(n));
        Some(Fee {
            id,
            label: e.get("label").and_then(|n| self.text(n)).unwrap_or_default(),
            amount: e.get("amount").and_then(|n| self.expr(n))?,
            condition: e.get("if").and_then(|n| self.expr(n)),
            span: e.get("id").map_or(node.span, |n| n.span),
        })
    }

    fn process(&mut self, node: &Node) -> Option<Process> {
        let e = self.entries(node, &spec::PROCESS, false)?;
        let mut states = Vec::new();
        let mut seen = HashSet::new();
        if let Some(n) = e.get("states") {
            for item in self.list(n) {
                let (state, span) = if item.as_map().is_some() {
                    let Some(s) = self.entries(item, &spec::STATE, false) else {
                        continue;
                    };
                    let Some(id_node) = s.get("id") else { continue };
                    let Some(id) = self.id(id_node) else { continue };
                    (
                        State {
                            id,
                            label: s.get("label").and_then(|n| self.text(n)),
                            notify: s.get("notify").and_then(|n| self.text(n)),
                        },
                        id_node.span,
                    )
                } else {
                    let Some(id) = self.id(item) else { continue };
                    (
                        State {
                            id,
                            label: None,
                            notify: None,
                        },
                        item.span,
                    )
                };
                if !seen.insert(state.id.clone()) {
                    self.diags.error(
                        Code::DuplicateId,
                        span,
                        Msg::new(
                            format!("Den Stand `{}` gibt es schon.", state.id),
                            format!("the state `{}` is already defined", state.id),
                        ),
                    );
                }
                states.push(state);
            }
        }
        let state_ids: Vec<&str> = states.iter().map(|s| s.id.as_str()).collect();
        let mut transitions = Vec::new();
        if let Some(n) = e.get("transitions") {
            for item in self.list(n) {
                let Some(t) = self.entries(item, &spec::TRANSITION, false) else {
                    continue;
                };
                let mut end = |key: &str| -> String {
                    let Some(node) = t.get(key) else { return String::new() };
                    let Some(name) = self.string(node) else {
                        return String::new();
                    };
                    if !state_ids.contains(&name.as_str()) {
                        self.unknown_reference(node, &name, "keinen Stand", "state", state_ids.iter().copied());
                    }
                    name
                };
                let from = end("from");
                let to = end("to");
                transitions.push(Transition {
                    from,
                    to,
                    label: t.get("label").and_then(|n| self.text(n)),
                });
            }
        }
        let mut deliver = Vec::new();
        let mut deliver_spans = Vec::new();
        if let Some(n) = e.get("deliver") {
            for item in self.list(n) {
                let Some(d) = self.entries(item, &spec::DELIVERY, false) else {
                    continue;
                };
                let kinds: Vec<_> = ["webhook", "email", "fit_connect"]
                    .into_iter()
                    .filter(|k| d.has(k))
                    .collect();
                if kinds.len() != 1 {
                    self.diags.error_help(
                        Code::InvalidValue,
                        item.span,
                        Msg::new(
                            "Eine Zustellung nennt genau ein Ziel.",
                            "a delivery names exactly one target",
                        ),
                        Msg::new(
                            "Schreiben Sie `webhook: …`, `email: …` oder `fit_connect: …`.",
                            "write `webhook: …`, `email: …` or `fit_connect: …`",
                        ),
                    );
                    continue;
                }
                let target_node = d.get(kinds[0]);
                let target = target_node.and_then(|n| self.string(n)).unwrap_or_default();
                deliver_spans.push(target_node.map_or(item.span, |n| n.span));
                deliver.push(match kinds[0] {
                    "webhook" => Delivery::Webhook(target),
                    "email" => Delivery::Email(target),
                    _ => Delivery::FitConnect(target),
                });
            }
        }
        Some(Process {
            states,
            transitions,
            deliver,
            deliver_spans,
        })
    }

    fn test(&mut self, node: &Node) -> Option<TestCase> {
        let e = self.entries(node, &spec::TEST, false)?;
        let name_node = e.get("name");
        let today = e.get("today").and_then(|n| {
            let text = n.scalar_text().unwrap_or_default();
            if is_iso_date(&text) {
                Some(text)
            } else {
                self.diags.error_help(
                    Code::InvalidValue,
                    n.span,
                    Msg::new(format!("`{text}` ist kein Datum."), format!("`{text}` is not a date")),
                    Msg::new(
                        "Schreiben Sie das Datum als JJJJ-MM-TT, z. B. 2026-03-01.",
                        "write the date as YYYY-MM-DD, e.g. 2026-03-01",
                    ),
                );
                None
            }
        });
        let answers = match e.get("answers") {
            Some(n) if n.as_map().is_some() => n.clone(),
            Some(n) if matches!(n.kind, NodeKind::Null) => Node::new(NodeKind::Map(Vec::new()), n.span),
            Some(n) => {
                self.wrong_type(n, "eine Zuordnung Feld: Antwort", "a map field: answer");
                Node::new(NodeKind::Map(Vec::new()), n.span)
            }
            None => Node::new(NodeKind::Map(Vec::new()), node.span),
        };
        if let Some(n) = e.get("expect")
            && match &n.kind {
                NodeKind::Map(entries) => entries.is_empty(),
                NodeKind::Null => true,
                _ => false,
            }
        {
            let diag = crate::diag::Diagnostic::warning(
                Code::TestExpectsNothing,
                n.span,
                Msg::new(
                    "Dieser Test erwartet nichts und kann nicht fehlschlagen.",
                    "this test expects nothing and cannot fail",
                ),
            )
            .with_help(Msg::new(
                "Schreiben Sie unter `expect:`, was herauskommen muss, z. B. `valid: true` oder `errors: { feld: required }`.",
                "say under `expect:` what must come out, e.g. `valid: true` or `errors: { field: required }`",
            ));
            self.diags.push(diag);
        }
        let expect = match e.get("expect").and_then(|n| self.entries(n, &spec::EXPECT, false)) {
            Some(x) => Expect {
                visible: x.get("visible").map(|n| self.names(n)).unwrap_or_default(),
                hidden: x.get("hidden").map(|n| self.names(n)).unwrap_or_default(),
                errors: x.get("errors").map(|n| {
                    self.map(n)
                        .iter()
                        .filter_map(|(k, v)| {
                            Some((
                                named(k)?,
                                Named {
                                    name: self.string(v)?,
                                    span: v.span,
                                },
                            ))
                        })
                        .collect()
                }),
                no_errors: x.get("no_errors").map(|n| self.names(n)).unwrap_or_default(),
                valid: x.get("valid").and_then(|n| self.bool(n)),
                computed: x
                    .get("computed")
                    .map(|n| {
                        self.map(n)
                            .iter()
                            .filter_map(|(k, v)| Some((named(k)?, v.to_json())))
                            .collect()
                    })
                    .unwrap_or_default(),
                fee_total: x.get("fee_total").and_then(|n| {
                    let text = n.scalar_text().unwrap_or_default().replace(',', ".");
                    if is_decimal(&text) {
                        Some(Named {
                            name: text,
                            span: n.span,
                        })
                    } else {
                        self.wrong_type(n, "ein Betrag wie 30.70", "an amount like 30.70");
                        None
                    }
                }),
                path: x.get("path").map(|n| self.names(n)),
            },
            None => Expect::default(),
        };
        Some(TestCase {
            name: name_node.and_then(|n| self.string(n)).unwrap_or_default(),
            today,
            answers,
            expect,
            span: name_node.map_or(node.span, |n| n.span),
        })
    }
}

/// The catalog's field groups (group files, `group: <name>`), by name, for `use:` in any
/// service or overlay. Each node is the whole file: `group`, `label`, `fim`, `fields`.
#[derive(Debug, Default)]
pub(crate) struct CatalogGroups<'n> {
    pub nodes: BTreeMap<String, &'n Node>,
    /// Group files whose YAML could not be read, by the name on their `group:` line, with
    /// their path: a `use:` of one says so rather than that there is no such group.
    pub unreadable: BTreeMap<String, String>,
}

/// Where a group is defined: under the service's `groups:` or in a group file of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scope {
    Service,
    Catalog,
}

/// A group as read: its fields (expanded), and what a field that uses it records.
#[derive(Clone)]
struct ReadGroup {
    fields: Vec<Field>,
    used: UsedGroup,
}

/// The field groups a service can `use:`: its own (`groups:`), which shadow the catalog's of
/// the same name, then the catalog's. Each is read when first used, with a guard against a
/// group that uses itself.
struct Groups<'n> {
    nodes: BTreeMap<String, &'n Node>,
    catalog: &'n CatalogGroups<'n>,
    read: HashMap<(Scope, String), Option<ReadGroup>>,
    reading: Vec<(Scope, String)>,
}

impl<'n> Groups<'n> {
    fn new(node: Option<&'n Node>, catalog: &'n CatalogGroups<'n>, reader: &mut Reader<'_>) -> Self {
        let mut nodes = BTreeMap::new();
        if let Some(node) = node {
            for (k, v) in reader.map(node) {
                if let Some(name) = reader.id(k) {
                    nodes.insert(name, v);
                }
            }
        }
        Self {
            nodes,
            catalog,
            read: HashMap::new(),
            reading: Vec::new(),
        }
    }

    /// Whether the group being read now is a catalog group: inside one, `use:` sees only the
    /// catalog, so a shared group means the same in every service.
    fn in_catalog(&self) -> bool {
        self.reading.last().is_some_and(|(scope, _)| *scope == Scope::Catalog)
    }

    fn find(&self, name: &str) -> Option<(Scope, &'n Node)> {
        if !self.in_catalog()
            && let Some(node) = self.nodes.get(name)
        {
            return Some((Scope::Service, node));
        }
        self.catalog.nodes.get(name).map(|node| (Scope::Catalog, *node))
    }

    /// The group `name`, named by the `use:` at `at`, read (once) and expanded.
    fn use_group(
        &mut self,
        name: &str,
        at: &Node,
        reader: &mut Reader<'_>,
        lists: &BTreeMap<String, Vec<ChoiceOption>>,
    ) -> Option<ReadGroup> {
        let Some((scope, node)) = self.find(name) else {
            self.unknown(name, at, reader);
            return None;
        };
        let key = (scope, name.to_string());
        if let Some(done) = self.read.get(&key) {
            return done.clone();
        }
        if self.reading.contains(&key) {
            let chain: Vec<&str> = self.reading.iter().map(|(_, n)| n.as_str()).collect();
            let chain = format!("{} → {name}", chain.join(" → "));
            reader.diags.error_help(
                Code::InvalidValue,
                at.span,
                Msg::new(
                    format!("Die Feldgruppe `{name}` enthält sich selbst: {chain}."),
                    format!("the field group `{name}` contains itself: {chain}"),
                ),
                Msg::new(
                    "Eine Gruppe darf sich nicht (auch nicht über andere) selbst verwenden.",
                    "a group must not use itself, directly or through others",
                ),
            );
            return None;
        }
        // A group file has no lists: its choices give their `options`.
        let no_lists = BTreeMap::new();
        let (obj, lists) = match scope {
            Scope::Service => (&spec::GROUP, lists),
            Scope::Catalog => (&spec::CATALOG_GROUP, &no_lists),
        };
        self.reading.push(key.clone());
        let result = reader.entries(node, obj, false).map(|e| {
            let fields = e
                .get("fields")
                .map(|f| reader.fields(f, lists, self))
                .unwrap_or_default();
            let used = UsedGroup {
                name: name.to_string(),
                label: e.get("label").and_then(|l| reader.text(l)),
                fim: e.get("fim").and_then(|n| reader.fim(n)),
                shared: scope == Scope::Catalog,
            };
            ReadGroup { fields, used }
        });
        self.reading.pop();
        self.read.insert(key, result.clone());
        result
    }

    fn unknown(&self, name: &str, at: &Node, reader: &mut Reader<'_>) {
        if let Some(path) = self.catalog.unreadable.get(name) {
            reader.diags.error_help(
                Code::UnknownReference,
                at.span,
                Msg::new(
                    format!("Die Feldgruppe `{name}` des Katalogs hat Fehler, die ihre Datei unlesbar machen."),
                    format!("the catalog's field group `{name}` has errors that keep its file from being read"),
                ),
                Msg::new(
                    format!("Beheben Sie zuerst die Fehler in {path} (dort gemeldet)."),
                    format!("fix the errors in {path} first (reported there)"),
                ),
            );
            return;
        }
        let mut known: Vec<&str> = Vec::new();
        if !self.in_catalog() {
            known.extend(self.nodes.keys().map(String::as_str));
        }
        known.extend(self.catalog.nodes.keys().map(String::as_str));
        known.sort_unstable();
        known.dedup();
        if known.is_empty() {
            // Often a single file checked without the catalog's group files.
            reader.diags.error_help(
                Code::UnknownReference,
                at.span,
                Msg::new(
                    format!("Es gibt keine Feldgruppe namens `{name}`."),
                    format!("there is no field group `{name}`"),
                ),
                Msg::new(
                    format!("Legen Sie sie unter `groups:` an oder als Datei des Katalogs (`group: {name}`, z. B. forms/gruppen/{name}.yaml); eine Gruppe des Katalogs findet nur, wer den ganzen Ordner prüft (`baukasten check forms`)."),
                    format!("define it under `groups:` or as a file of the catalog (`group: {name}`, e.g. forms/gruppen/{name}.yaml); a catalog group is found only when the whole folder is checked (`baukasten check forms`)"),
                ),
            );
            return;
        }
        reader.unknown_reference(at, name, "keine Feldgruppe", "field group", known);
    }

    /// Reads the service's own groups that no field used, so their mistakes are reported too.
    /// (The catalog's groups are read on their own, by [`Reader::catalog_groups`].)
    fn read_unused(&mut self, reader: &mut Reader<'_>, lists: &BTreeMap<String, Vec<ChoiceOption>>) {
        let unused: Vec<(String, &'n Node)> = self
            .nodes
            .iter()
            .filter(|(name, _)| !self.read.contains_key(&(Scope::Service, (*name).clone())))
            .map(|(n, v)| (n.clone(), *v))
            .collect();
        for (name, node) in unused {
            self.use_group(&name, node, reader, lists);
        }
    }
}

fn named(node: &Node) -> Option<Named> {
    Some(Named {
        name: node.scalar_text()?,
        span: node.span,
    })
}

fn article_de(obj: &Obj) -> String {
    format!("„{}“", obj.what_de)
}

fn article_en(obj: &Obj) -> String {
    format!("a {}", obj.what_en)
}

/// A proposal for an id a clerk wrote with capitals, spaces, hyphens or umlauts.
fn normalize_id(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars() {
        match c {
            'ä' | 'Ä' => out.push_str("ae"),
            'ö' | 'Ö' => out.push_str("oe"),
            'ü' | 'Ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            _ if !out.ends_with('_') && !out.is_empty() => out.push('_'),
            _ => {}
        }
    }
    let out = out
        .trim_matches('_')
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '_')
        .to_string();
    if is_id(&out) { out } else { String::new() }
}

fn is_decimal(text: &str) -> bool {
    let t = text.strip_prefix('-').unwrap_or(text);
    let mut parts = t.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.chars().all(|c| c.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
}

/// Whether `text` is a real calendar date written `YYYY-MM-DD`.
pub(crate) fn is_iso_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else { return false };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return false;
    }
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

fn bound_greater(min: &Bound, max: &Bound) -> bool {
    match (min, max) {
        (Bound::Number(a), Bound::Number(b)) => match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(a), Ok(b)) => a > b,
            _ => false,
        },
        (Bound::Date(a), Bound::Date(b)) => a > b,
        (Bound::DaysFromToday(a), Bound::DaysFromToday(b)) => a > b,
        (Bound::MonthsFromToday(a), Bound::MonthsFromToday(b)) => a > b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposes_ids() {
        assert_eq!(normalize_id("Vor-Name"), "vor_name");
        assert_eq!(normalize_id("Straße"), "strasse");
        assert_eq!(normalize_id("1. Wohnsitz"), "wohnsitz");
    }

    #[test]
    fn knows_the_calendar() {
        assert!(is_iso_date("2024-02-29"));
        assert!(!is_iso_date("2026-02-29"));
        assert!(!is_iso_date("2026-13-01"));
        assert!(!is_iso_date("26-01-01"));
    }
}
