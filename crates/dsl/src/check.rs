//! Checks that need the whole service: duplicate names, the names used by expressions and
//! rules, cycles among computed values, and the references made by tests.
//!
//! Expressions are compiled here with minijinja's `compile_expression`, exactly as the engine
//! compiles them, and every name they use (`undeclared_variables`) must resolve in the scope
//! of the expression. A typo is an error at `check` time, never a silent `false` at run time.

use std::collections::{HashMap, HashSet};

use minijinja::Environment;

use crate::diag::{Code, Diagnostic, Diagnostics, Msg, did_you_mean, suggest, suggest_or_list};
use crate::model::{Delivery, Expr, Field, FieldKind, Named, Service, TestCase};
use crate::source::{Sources, Span};
use crate::spec;
use crate::yaml::{Node, NodeKind};

/// The place of `name` inside the expression, where the expression stands on one line, so the
/// caret points at the name itself rather than at the whole expression.
fn name_span(expr: &Expr, name: &str) -> Span {
    let first = name.split('.').next().unwrap_or(name);
    let source = &expr.source;
    let chars = source.chars().count() as u32;
    let quote = if expr.span.len == chars {
        0
    } else if expr.span.len == chars + 2 {
        1
    } else {
        return expr.span;
    };
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(pos) = source[from..].find(first) {
        let start = from + pos;
        let end = start + first.len();
        let before = source[..start].chars().next_back();
        let after = source[end..].chars().next();
        let boundary =
            !before.is_some_and(|c| is_word(c) || c == '.' || c == '"' || c == '\'') && !after.is_some_and(is_word);
        if boundary {
            let col = expr.span.col + quote + source[..start].chars().count() as u32;
            return Span {
                col,
                len: name.chars().count() as u32,
                ..expr.span
            };
        }
        from = end;
    }
    expr.span
}

/// The functions expressions may call. The engine gives them their meaning.
pub const FUNCTIONS: &[&str] = &["today", "age", "days_between", "len", "sum"];

/// An environment that knows our functions by name, for compiling expressions. The engine
/// builds its own with the real implementations; here only the names matter.
pub fn expression_env() -> Environment<'static> {
    let mut env = Environment::empty();
    for name in FUNCTIONS {
        env.add_function(*name, |_: minijinja::value::Rest<minijinja::Value>| {
            minijinja::Value::UNDEFINED
        });
    }
    env
}

/// The names an expression uses (dotted paths, `a.b`), without our function names.
/// Returns the parse error's detail if it does not compile.
pub fn expression_names(env: &Environment<'_>, source: &str) -> Result<Vec<String>, String> {
    let expr = env
        .compile_expression(source)
        .map_err(|e| e.detail().map_or_else(|| e.to_string(), str::to_string))?;
    let mut names: Vec<String> = expr
        .undeclared_variables(true)
        .into_iter()
        .filter(|n| !FUNCTIONS.contains(&n.split('.').next().unwrap_or_default()))
        .collect();
    names.sort();
    Ok(names)
}

/// Checks a service read from its file. `unreadable` are the ids of fields the file has but
/// the reader could not read; names of them are not reported again.
pub(crate) fn check_service(
    service: &Service,
    unreadable: &HashSet<String>,
    env: &Environment<'static>,
    sources: &Sources,
    diags: &mut Diagnostics,
) {
    let mut checker = Checker {
        service,
        unreadable,
        env,
        sources,
        diags,
        top: HashMap::new(),
    };
    checker.collect_top_names();
    checker.duplicate_steps();
    for step in &service.steps {
        checker.duplicate_children(&step.fields, true);
    }
    checker.expressions();
    checker.rules();
    checker.confirmation_email();
    checker.retention();
    checker.fit_connect();
    checker.cycles();
    checker.visibility_cycles();
    checker.duplicate_named(
        service
            .rules
            .iter()
            .filter_map(|r| r.id.as_deref().map(|id| (id, r.span))),
        "Regel",
        "rule",
    );
    checker.duplicate_named(
        service
            .fees
            .iter()
            .filter_map(|f| f.id.as_deref().map(|id| (id, f.span))),
        "Gebühr",
        "fee",
    );
    checker.duplicate_named(service.tests.iter().map(|t| (t.name.as_str(), t.span)), "Test", "test");
    for test in &service.tests {
        checker.test(test);
    }
}

/// What a top-level name stands for.
#[derive(Clone, Copy)]
enum Top<'s> {
    Field(&'s Field),
    Computed,
}

struct Checker<'s, 'd, 'e> {
    service: &'s Service,
    unreadable: &'e HashSet<String>,
    env: &'e Environment<'static>,
    sources: &'e Sources,
    diags: &'d mut Diagnostics,
    top: HashMap<&'s str, (Top<'s>, Span)>,
}

impl<'s> Checker<'s, '_, '_> {
    fn duplicate(&mut self, span: Span, name: &str, first: Span, what_de: &str, what_en: &str) {
        self.diags.push(
            Diagnostic::error(
                Code::DuplicateId,
                span,
                Msg::new(
                    format!("{what_de} `{name}` gibt es schon."),
                    format!("{what_en} `{name}` is already defined"),
                ),
            )
            .with_help({
                let at = match self.sources.get(first.file) {
                    Some(file) if first.file != span.file => format!("{}:{}", file.path, first.line),
                    _ => first.line.to_string(),
                };
                Msg::new(
                    format!("Zuerst definiert in Zeile {at}. Namen müssen eindeutig sein; wählen Sie einen anderen."),
                    format!("first defined on line {at}; names must be unique, choose another"),
                )
            }),
        );
    }

    /// Fields at the top of every step and computed values share one namespace.
    fn collect_top_names(&mut self) {
        let service = self.service;
        for field in service.steps.iter().flat_map(|s| &s.fields) {
            if let Some((_, first)) = self.top.get(field.id.as_str()) {
                let first = *first;
                self.duplicate(field.span, &field.id, first, "Das Feld", "the field");
            } else {
                self.top.insert(&field.id, (Top::Field(field), field.span));
            }
        }
        for computed in &service.computed {
            if let Some((_, first)) = self.top.get(computed.id.as_str()) {
                let first = *first;
                self.duplicate(computed.span, &computed.id, first, "Den Namen", "the name");
            } else {
                self.top.insert(&computed.id, (Top::Computed, computed.span));
            }
        }
    }

    fn duplicate_steps(&mut self) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for step in &self.service.steps {
            if let Some(first) = seen.get(step.id.as_str()) {
                let first = *first;
                self.duplicate(step.span, &step.id, first, "Den Schritt", "the step");
            } else {
                seen.insert(&step.id, step.span);
            }
        }
    }

    fn duplicate_named<'a>(&mut self, items: impl Iterator<Item = (&'a str, Span)>, what_de: &str, what_en: &str) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for (name, span) in items {
            if let Some(first) = seen.get(name) {
                let first = *first;
                self.duplicate(
                    span,
                    name,
                    first,
                    &format!("{what_de} namens"),
                    &format!("the {what_en}"),
                );
            } else {
                seen.insert(name, span);
            }
        }
    }

    /// Fields inside a group or repeat are unique within it. Top-level ones were checked
    /// across steps already.
    fn duplicate_children(&mut self, fields: &'s [Field], top: bool) {
        if !top {
            let mut seen: HashMap<&str, Span> = HashMap::new();
            for field in fields {
                if let Some(first) = seen.get(field.id.as_str()) {
                    let first = *first;
                    self.duplicate(field.span, &field.id, first, "Das Feld", "the field");
                } else {
                    seen.insert(&field.id, field.span);
                }
            }
        }
        for field in fields {
            if let Some(children) = field.kind.children() {
                self.duplicate_children(children, false);
            }
        }
    }

    // ------------------------------------------------------------- expressions

    fn expressions(&mut self) {
        let service = self.service;
        for step in &service.steps {
            for expr in [&step.visible_if, &step.required_if].into_iter().flatten() {
                self.expression(expr, &[]);
            }
            self.field_expressions(&step.fields, &mut Vec::new());
        }
        for computed in &service.computed {
            self.expression(&computed.value, &[]);
        }
        for rule in &service.rules {
            self.expression(&rule.check, &[]);
            for value in &rule.values {
                self.expression(value, &[]);
            }
        }
        for fee in &service.fees {
            self.expression(&fee.amount, &[]);
            if let Some(condition) = &fee.condition {
                self.expression(condition, &[]);
            }
        }
    }

    /// `items` holds the item fields of the repeats enclosing `fields`, innermost last.
    fn field_expressions(&mut self, fields: &'s [Field], items: &mut Vec<&'s [Field]>) {
        for field in fields {
            for expr in [&field.visible_if, &field.required_if].into_iter().flatten() {
                self.expression(expr, items);
            }
            match &field.kind {
                FieldKind::Group { fields } => self.field_expressions(fields, items),
                FieldKind::Repeat { fields, .. } => {
                    items.push(fields);
                    self.field_expressions(fields, items);
                    items.pop();
                }
                _ => {}
            }
        }
    }

    /// Compiles the expression and resolves its names; returns the top-level names it uses.
    fn expression(&mut self, expr: &Expr, items: &[&'s [Field]]) -> Vec<String> {
        let names = match expression_names(self.env, &expr.source) {
            Ok(names) => names,
            Err(detail) => {
                self.diags.error_help(
                    Code::ExpressionSyntax,
                    expr.span,
                    Msg::new(format!("Der Ausdruck `{}` ist fehlerhaft: {detail}", expr.source), format!("the expression `{}` does not parse: {detail}", expr.source)),
                    Msg::new(
                        "Ausdrücke vergleichen mit `==`, `!=`, `<`, `>=` und verbinden mit `and`, `or`, `not`; Texte stehen in Anführungszeichen, z. B. halter == \"firma\".",
                        "expressions compare with `==`, `!=`, `<`, `>=` and combine with `and`, `or`, `not`; texts are quoted, e.g. halter == \"firma\"",
                    ),
                );
                return Vec::new();
            }
        };
        let mut top_used = Vec::new();
        for name in names {
            if let Some(top) = self.resolve(&name, items, name_span(expr, &name)) {
                top_used.push(top);
            }
        }
        top_used
    }

    /// Resolves a dotted name in lexical scope. Reports an `unknown-name` where it does not
    /// resolve; returns the top-level name it resolved to, if any.
    fn resolve(&mut self, name: &str, items: &[&'s [Field]], span: Span) -> Option<String> {
        let parts: Vec<&str> = name.split('.').collect();
        let first = parts[0];
        for level in items.iter().rev() {
            if let Some(field) = level.iter().find(|f| f.id == first) {
                self.walk(field, &parts, span);
                return None;
            }
        }
        match self.top.get(first).map(|(t, _)| *t) {
            Some(Top::Field(field)) => {
                self.walk(field, &parts, span);
                Some(first.to_string())
            }
            Some(Top::Computed) => {
                if parts.len() > 1 {
                    self.no_part(first, parts[1], span, &[]);
                }
                Some(first.to_string())
            }
            None if self.unreadable.contains(first) => None,
            None => {
                let mut candidates: Vec<&str> = self.top.keys().copied().collect();
                candidates.extend(items.iter().flat_map(|l| l.iter().map(|f| f.id.as_str())));
                candidates.extend(FUNCTIONS);
                candidates.sort();
                let is_item_elsewhere = items.is_empty() && self.is_item_field_anywhere(first);
                let help = if is_item_elsewhere {
                    Msg::new(
                        format!(
                            "`{first}` ist ein Feld innerhalb einer Wiederholung; außerhalb erreichen Sie es mit sum(liste, \"{first}\") oder len(liste)."
                        ),
                        format!(
                            "`{first}` is a field inside a repeat; outside it, use sum(list, \"{first}\") or len(list)"
                        ),
                    )
                } else if let Some(s) = suggest(first, candidates.iter().copied()) {
                    did_you_mean(s)
                } else {
                    Msg::new(
                        format!(
                            "Ausdrücke nennen nur Felder, Felder von Gruppen (gruppe.feld) und berechnete Werte des Dienstes, und rufen nur diese Funktionen auf: {}.",
                            FUNCTIONS.join(", ")
                        ),
                        format!(
                            "expressions name only the service's fields, group members (group.field) and computed values, and call only these functions: {}",
                            FUNCTIONS.join(", ")
                        ),
                    )
                };
                self.diags.error_help(
                    Code::UnknownName,
                    span,
                    Msg::new(
                        format!(
                            "Der Ausdruck nennt `{first}`, aber hier gibt es kein Feld und keinen Wert dieses Namens."
                        ),
                        format!("the expression names `{first}`, but there is no field or value of that name here"),
                    ),
                    help,
                );
                None
            }
        }
    }

    fn is_item_field_anywhere(&self, name: &str) -> bool {
        self.service.fields().iter().any(|(path, _)| {
            path.rsplit_once('.').is_some_and(|(prefix, last)| {
                last == name
                    && self
                        .service
                        .field(prefix)
                        .is_some_and(|f| matches!(f.kind, FieldKind::Repeat { .. }))
            })
        })
    }

    fn walk(&mut self, field: &'s Field, parts: &[&str], span: Span) {
        let mut current = field;
        for (i, part) in parts.iter().enumerate().skip(1) {
            match &current.kind {
                FieldKind::Group { fields } => match fields.iter().find(|f| f.id == *part) {
                    Some(child) => current = child,
                    None => {
                        let ids: Vec<&str> = fields.iter().map(|f| f.id.as_str()).collect();
                        self.no_part(&parts[..i].join("."), part, span, &ids);
                        return;
                    }
                },
                FieldKind::Repeat { .. } => {
                    self.diags.error_help(
                        Code::UnknownName,
                        span,
                        Msg::new(
                            format!("`{}` ist eine Wiederholung (eine Liste von Einträgen); `{}` lässt sich so nicht lesen.", parts[..i].join("."), parts.join(".")),
                            format!("`{}` is a repeat (a list of entries); `{}` cannot be read like that", parts[..i].join("."), parts.join(".")),
                        ),
                        Msg::new(
                            format!("Nutzen Sie sum({}, \"{part}\") oder len({}).", parts[..i].join("."), parts[..i].join(".")),
                            format!("use sum({}, \"{part}\") or len({})", parts[..i].join("."), parts[..i].join(".")),
                        ),
                    );
                    return;
                }
                _ => {
                    self.no_part(&parts[..i].join("."), part, span, &[]);
                    return;
                }
            }
        }
    }

    fn no_part(&mut self, whole: &str, part: &str, span: Span, children: &[&str]) {
        if self.unreadable.contains(part) {
            return;
        }
        let help = match suggest(part, children.iter().copied()) {
            Some(s) => did_you_mean(&format!("{whole}.{s}")),
            None if children.is_empty() => Msg::new(
                format!("`{whole}` ist keine Gruppe und hat keine Teile."),
                format!("`{whole}` is not a group and has no parts"),
            ),
            None => Msg::new(
                format!("Teile von `{whole}`: {}.", children.join(", ")),
                format!("parts of `{whole}`: {}", children.join(", ")),
            ),
        };
        self.diags.error_help(
            Code::UnknownName,
            span,
            Msg::new(
                format!("`{whole}` hat keinen Teil `{part}`."),
                format!("`{whole}` has no part `{part}`"),
            ),
            help,
        );
    }

    // ------------------------------------------------------------- rules and cycles

    /// `confirmation_email:` names an e-mail field.
    fn confirmation_email(&mut self) {
        let service = self.service;
        let Some(named) = &service.confirmation_email else {
            return;
        };
        let path = &named.name;
        match service.field(path) {
            None => self.unknown_field(named.span, path, Code::UnknownReference),
            Some(field) if !matches!(field.kind, FieldKind::Email) => self.diags.error_help(
                Code::InvalidValue,
                named.span,
                Msg::new(
                    format!("`confirmation_email` nennt `{path}`, das ist kein E-Mail-Feld."),
                    format!("`confirmation_email` names `{path}`, which is not an e-mail field"),
                ),
                Msg::new(
                    "Nennen Sie ein Feld mit `type: email`.",
                    "name a field with `type: email`",
                ),
            ),
            Some(_) => {}
        }
    }

    /// A FIT-Connect delivery names a destination by its id (a UUID), and the service its
    /// LeiKa key, which the submission announces as its service type.
    fn fit_connect(&mut self) {
        let service = self.service;
        let process = &service.process;
        let mut leika_asked = false;
        for (delivery, span) in process.deliver.iter().zip(&process.deliver_spans) {
            let Delivery::FitConnect(destination) = delivery else {
                continue;
            };
            if !is_uuid(destination) {
                self.diags.error_help(
                    Code::InvalidValue,
                    *span,
                    Msg::new(
                        format!("`{destination}` ist keine Zustellpunkt-ID von FIT-Connect."),
                        format!("`{destination}` is not a FIT-Connect destination id"),
                    ),
                    Msg::new(
                        "Die ID des Zustellpunkts ist eine UUID, z. B. `d12caea8-f372-4eb1-b102-b0a228253a11`; die Behörde nennt sie.",
                        "a destination id is a UUID, e.g. `d12caea8-f372-4eb1-b102-b0a228253a11`; the office gives it",
                    ),
                );
            }
            if service.leika.is_none() && !leika_asked {
                leika_asked = true;
                self.diags.error_help(
                    Code::MissingKey,
                    *span,
                    Msg::new(
                        "Eine Zustellung über FIT-Connect braucht den LeiKa-Schlüssel des Dienstes.",
                        "a delivery over FIT-Connect needs the service's LeiKa key",
                    ),
                    Msg::new(
                        "Ergänzen Sie `leika: …` (14 Ziffern) im Dienst; FIT-Connect meldet damit die Leistung an.",
                        "add `leika: …` (14 digits) to the service; FIT-Connect announces the service type with it",
                    ),
                );
            }
        }
    }

    /// A `retention` counts from a final state; a process without one never starts it.
    fn retention(&mut self) {
        let service = self.service;
        let Some(retention) = &service.retention else {
            return;
        };
        if service.process.has_final_state() {
            return;
        }
        let (why_de, why_en) = if service.process.transitions.is_empty() {
            (
                "ohne `transitions` darf jeder Stand auf jeden folgen",
                "without `transitions` any state may follow any other",
            )
        } else {
            (
                "jeder Stand hat einen Übergang, der ihn verlässt",
                "every state has a transition leaving it",
            )
        };
        self.diags.push(
            Diagnostic::warning(
                Code::RetentionWithoutFinalState,
                retention.span,
                Msg::new(
                    format!("Der Ablauf hat keinen Endstand ({why_de}), daher wird `retention` nie angewendet und nichts gelöscht."),
                    format!("the process has no final state ({why_en}), so `retention` never applies and nothing is deleted"),
                ),
            )
            .with_help(Msg::new(
                "Legen Sie unter `process: transitions:` fest, welche Übergänge es gibt; ein Stand, den kein Übergang verlässt (z. B. `erledigt`), ist ein Endstand.",
                "declare the moves under `process: transitions:`; a state no transition leaves (e.g. `erledigt`) is a final state",
            )),
        );
    }

    fn rules(&mut self) {
        let service = self.service;
        for rule in &service.rules {
            if service.field(&rule.field).is_none() {
                self.unknown_field(rule.span, &rule.field, Code::UnknownReference);
            }
        }
    }

    fn unknown_field(&mut self, span: Span, path: &str, code: Code) {
        if path.split('.').any(|part| self.unreadable.contains(part)) {
            return;
        }
        let paths: Vec<String> = self.service.fields().into_iter().map(|(p, _)| p).collect();
        let help = match suggest(path, paths.iter().map(String::as_str)) {
            Some(s) => did_you_mean(s),
            None => Msg::new(
                "Nennen Sie ein Feld des Dienstes mit seiner `id` (in Gruppen: gruppe.feld).",
                "name a field of the service by its `id` (in groups: group.field)",
            ),
        };
        self.diags.error_help(
            code,
            span,
            Msg::new(
                format!("Der Dienst hat kein Feld `{path}`."),
                format!("the service has no field `{path}`"),
            ),
            help,
        );
    }

    fn cycles(&mut self) {
        let service = self.service;
        let computed_ids: HashSet<&str> = service.computed.iter().map(|c| c.id.as_str()).collect();
        let deps: HashMap<&str, Vec<String>> = service
            .computed
            .iter()
            .map(|c| {
                let names = expression_names(self.env, &c.value.source).unwrap_or_default();
                let mut deps: Vec<String> = names
                    .into_iter()
                    .map(|n| n.split('.').next().unwrap_or_default().to_string())
                    .filter(|n| computed_ids.contains(n.as_str()))
                    .collect();
                deps.dedup();
                (c.id.as_str(), deps)
            })
            .collect();
        // Depth-first search; a name met again while still on the stack closes a cycle.
        let mut done: HashSet<&str> = HashSet::new();
        let mut reported: HashSet<Vec<String>> = HashSet::new();
        for start in &service.computed {
            let mut stack: Vec<&str> = Vec::new();
            self.visit(start.id.as_str(), &deps, &mut stack, &mut done, &mut reported);
        }
    }

    /// Fields whose visibility depends on each other in a circle (`a` shown if not `b`, `b`
    /// shown if not `a`): a hidden field reads as `none`, so such a pair has no stable answer
    /// and the result would depend on how often the engine looks. A field's visibility depends
    /// on the names its own `visible_if` and its step's `visible_if` read, through computed
    /// values to the fields those read.
    fn visibility_cycles(&mut self) {
        let service = self.service;
        let names = |source: &str| -> Vec<String> {
            expression_names(self.env, source)
                .unwrap_or_default()
                .into_iter()
                .map(|n| n.split('.').next().unwrap_or_default().to_string())
                .collect()
        };
        let computed: HashMap<&str, Vec<String>> = service
            .computed
            .iter()
            .map(|c| (c.id.as_str(), names(&c.value.source)))
            .collect();
        // The fields a set of names stands for, computed values followed to what they read.
        let fields_of = |start: Vec<String>| -> Vec<String> {
            let (mut out, mut todo, mut seen) = (Vec::new(), start, HashSet::new());
            while let Some(name) = todo.pop() {
                if !seen.insert(name.clone()) {
                    continue;
                }
                match computed.get(name.as_str()) {
                    Some(reads) => todo.extend(reads.iter().cloned()),
                    None => out.push(name),
                }
            }
            out.sort();
            out
        };
        let mut deps: HashMap<String, Vec<String>> = HashMap::new();
        let mut spans: HashMap<String, Span> = HashMap::new();
        for step in &service.steps {
            let step_reads = step.visible_if.as_ref().map(|e| names(&e.source)).unwrap_or_default();
            for field in &step.fields {
                let mut reads = step_reads.clone();
                if let Some(e) = &field.visible_if {
                    reads.extend(names(&e.source));
                    spans.insert(field.id.clone(), e.span);
                } else if let Some(e) = &step.visible_if {
                    spans.insert(field.id.clone(), e.span);
                }
                if !reads.is_empty() {
                    deps.insert(field.id.clone(), fields_of(reads));
                }
            }
        }
        let mut order: Vec<&String> = deps.keys().collect();
        order.sort();
        let mut reported: HashSet<Vec<String>> = HashSet::new();
        let mut done: HashSet<String> = HashSet::new();
        for start in order {
            let mut stack: Vec<String> = Vec::new();
            for cycle in find_cycles(start, &deps, &mut stack, &mut done) {
                let mut key = cycle.clone();
                key.sort();
                if !reported.insert(key) {
                    continue;
                }
                let chain = cycle.join(" → ");
                let span = spans.get(&cycle[0]).copied().unwrap_or(service.span);
                self.diags.error_help(
                    Code::VisibilityCycle,
                    span,
                    Msg::new(
                        format!("Ob diese Felder gezeigt werden, hängt im Kreis voneinander ab: {chain}."),
                        format!("whether these fields are shown depends on each other in a circle: {chain}"),
                    ),
                    Msg::new(
                        "Ein verborgenes Feld hat keinen Wert; so gibt es keine feste Antwort. Machen Sie eines der Felder von anderen Feldern abhängig.",
                        "a hidden field has no value, so there is no stable answer; make one of the fields depend on other fields",
                    ),
                );
            }
        }
    }

    fn visit<'a>(
        &mut self,
        id: &'a str,
        deps: &'a HashMap<&'a str, Vec<String>>,
        stack: &mut Vec<&'a str>,
        done: &mut HashSet<&'a str>,
        reported: &mut HashSet<Vec<String>>,
    ) {
        if done.contains(id) {
            return;
        }
        if let Some(pos) = stack.iter().position(|s| *s == id) {
            let mut cycle: Vec<String> = stack[pos..].iter().map(|s| s.to_string()).collect();
            let mut key = cycle.clone();
            key.sort();
            if reported.insert(key) {
                cycle.push(id.to_string());
                let chain = cycle.join(" → ");
                let span = self
                    .service
                    .computed
                    .iter()
                    .find(|c| c.id == cycle[0])
                    .map_or(self.service.span, |c| c.span);
                self.diags.error_help(
                    Code::ComputedCycle,
                    span,
                    Msg::new(format!("Berechnete Werte hängen im Kreis voneinander ab: {chain}."), format!("computed values depend on each other in a cycle: {chain}")),
                    Msg::new(
                        "Ein Wert darf nicht (auch nicht über andere) von sich selbst abhängen. Berechnen Sie einen der Werte aus Feldern.",
                        "a value must not depend on itself, directly or through others; compute one of them from fields",
                    ),
                );
            }
            return;
        }
        stack.push(id);
        if let Some(next) = deps.get(id) {
            for dep in next {
                if let Some((key, _)) = deps.get_key_value(dep.as_str()) {
                    self.visit(key, deps, stack, done, reported);
                }
            }
        }
        stack.pop();
        done.insert(id);
    }

    // ------------------------------------------------------------- tests

    fn test(&mut self, test: &TestCase) {
        let service = self.service;
        let top_fields: Vec<&Field> = service.steps.iter().flat_map(|s| &s.fields).collect();
        self.answers(&test.answers, &top_fields, "");
        for named in test
            .expect
            .visible
            .iter()
            .chain(&test.expect.hidden)
            .chain(&test.expect.no_errors)
        {
            self.test_path(named);
        }
        let rule_codes: Vec<&str> = service.rules.iter().map(|r| r.code()).collect();
        for (field, code) in test.expect.errors.iter().flatten() {
            self.test_path(field);
            if !spec::ERROR_CODES.contains(&code.name.as_str()) && !rule_codes.contains(&code.name.as_str()) {
                let candidates = spec::ERROR_CODES.iter().copied().chain(rule_codes.iter().copied());
                let help = match suggest(&code.name, candidates) {
                    Some(s) => did_you_mean(s),
                    None => Msg::new(
                        format!(
                            "Fehlercodes: {}; dazu die `id` jeder Regel.",
                            spec::ERROR_CODES.join(", ")
                        ),
                        format!(
                            "error codes: {}; and the `id` of each rule",
                            spec::ERROR_CODES.join(", ")
                        ),
                    ),
                };
                self.diags.error_help(
                    Code::UnknownErrorCode,
                    code.span,
                    Msg::new(
                        format!("Unbekannter Fehlercode `{}`.", code.name),
                        format!("unknown error code `{}`", code.name),
                    ),
                    help,
                );
            }
        }
        for (id, _) in &test.expect.computed {
            if !service.computed.iter().any(|c| c.id == id.name) {
                let ids: Vec<&str> = service.computed.iter().map(|c| c.id.as_str()).collect();
                let help = suggest_or_list(&id.name, &ids, "Berechnete Werte", "computed values");
                self.diags.error_help(
                    Code::TestUnknownField,
                    id.span,
                    Msg::new(
                        format!("Der Dienst hat keinen berechneten Wert `{}`.", id.name),
                        format!("the service has no computed value `{}`", id.name),
                    ),
                    help,
                );
            }
        }
        for step in test.expect.path.iter().flatten() {
            if service.step(&step.name).is_none() {
                let ids: Vec<&str> = service.steps.iter().map(|s| s.id.as_str()).collect();
                let help = suggest_or_list(&step.name, &ids, "Schritte", "steps");
                self.diags.error_help(
                    Code::UnknownReference,
                    step.span,
                    Msg::new(
                        format!("Der Dienst hat keinen Schritt `{}`.", step.name),
                        format!("the service has no step `{}`", step.name),
                    ),
                    help,
                );
            }
        }
    }

    /// A path in a test names a field; inside a repeat it may name an entry by its number
    /// (`personen.0.name`).
    fn test_path(&mut self, named: &Named) {
        let mut fields: Vec<&Field> = self.service.steps.iter().flat_map(|s| &s.fields).collect();
        let mut current: Option<&Field> = None;
        for part in named.name.split('.') {
            if part.chars().all(|c| c.is_ascii_digit())
                && matches!(current.map(|f| &f.kind), Some(FieldKind::Repeat { .. }))
            {
                continue;
            }
            match fields.iter().find(|f| f.id == part) {
                Some(f) => {
                    current = Some(f);
                    fields = f.kind.children().map(|c| c.iter().collect()).unwrap_or_default();
                }
                None => {
                    let plain: String = named
                        .name
                        .split('.')
                        .filter(|p| !p.chars().all(|c| c.is_ascii_digit()))
                        .collect::<Vec<_>>()
                        .join(".");
                    self.unknown_field(named.span, &plain, Code::TestUnknownField);
                    return;
                }
            }
        }
    }

    fn answers(&mut self, node: &Node, fields: &[&Field], prefix: &str) {
        let Some(entries) = node.as_map() else { return };
        for (key, value) in entries {
            let Some(name) = key.scalar_text() else { continue };
            let Some(field) = fields.iter().find(|f| f.id == name) else {
                let path = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                self.unknown_field(key.span, &path, Code::TestUnknownField);
                continue;
            };
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            match (&field.kind, &value.kind) {
                (FieldKind::Group { fields }, NodeKind::Map(_)) => {
                    let children: Vec<&Field> = fields.iter().collect();
                    self.answers(value, &children, &path);
                }
                (FieldKind::Repeat { fields, .. }, NodeKind::Seq(items)) => {
                    let children: Vec<&Field> = fields.iter().collect();
                    for item in items {
                        self.answers(item, &children, &path);
                    }
                }
                _ => {}
            }
        }
    }
}

/// The circles through `node` in a dependency graph, each as the chain of names from its first
/// name back to it (`a → b → a`). Depth first; a name met again while on the stack closes one.
fn find_cycles(
    node: &str,
    deps: &HashMap<String, Vec<String>>,
    stack: &mut Vec<String>,
    done: &mut HashSet<String>,
) -> Vec<Vec<String>> {
    if done.contains(node) {
        return Vec::new();
    }
    if let Some(pos) = stack.iter().position(|s| s == node) {
        let mut cycle = stack[pos..].to_vec();
        cycle.push(node.to_string());
        return vec![cycle];
    }
    let mut found = Vec::new();
    stack.push(node.to_string());
    for next in deps.get(node).into_iter().flatten() {
        if deps.contains_key(next) {
            found.extend(find_cycles(next, deps, stack, done));
        }
    }
    stack.pop();
    done.insert(node.to_string());
    found
}

/// `8-4-4-4-12` hexadecimal digits, as FIT-Connect writes its ids.
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}
