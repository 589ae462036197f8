//! The markup of a step's fields, written in Rust straight into one string.
//!
//! Every other page, and the frame and the rest of the step page, come from the templates. The
//! fields do not: a step of 30 fields spent about 70 % of its time in minijinja's interpreter
//! walking the field loop (hundreds of attribute reads, comparisons and escapes per page), and
//! writing the same markup here makes the step several times cheaper (decision record 0006,
//! docs/performance.md). The markup is the one the template had, byte for byte; the insta
//! snapshots and the markup tests hold it there. Every text a citizen reads still comes from
//! the service (labels, hints) or from the UI catalog in `i18n.rs` ([`Strings`]).

use crate::i18n::ui_string;
use crate::view::{FieldView, OptionView};

/// The UI strings the fields use, looked up once per page.
pub(crate) struct Strings {
    optional: &'static str,
    error_prefix: &'static str,
    day: &'static str,
    month: &'static str,
    year: &'static str,
    select_placeholder: &'static str,
    file_current: &'static str,
    file_replace: &'static str,
}

impl Strings {
    pub(crate) fn new(lang: &str) -> Self {
        let ui = |key| ui_string(lang, key).unwrap_or("");
        Self {
            optional: ui("optional"),
            error_prefix: ui("error_prefix"),
            day: ui("day"),
            month: ui("month"),
            year: ui("year"),
            select_placeholder: ui("select_placeholder"),
            file_current: ui("file_current"),
            file_replace: ui("file_replace"),
        }
    }
}

/// Writes `fields` in order, each ending in a newline.
pub(crate) fn write_fields(out: &mut String, fields: &[FieldView], ui: &Strings) {
    for field in fields {
        write_field(out, field, ui);
    }
}

/// Escapes text for HTML text content or a double-quoted attribute value: `&`, `<`, `>`, `"`
/// and `'`, the same escaping the templates' formatter (`pages::escape_html`) uses, which
/// leaves `/` alone.
pub(crate) fn escape_into(out: &mut String, text: &str) {
    // Writing into a String cannot fail.
    let _ = escape_to(out, text);
}

/// [`escape_into`] for any writer; the templates' formatter writes through this too.
pub(crate) fn escape_to(out: &mut impl std::fmt::Write, text: &str) -> std::fmt::Result {
    let mut last = 0;
    for (i, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.write_str(&text[last..i])?;
        out.write_str(entity)?;
        last = i + 1;
    }
    out.write_str(&text[last..])
}

/// A text the templates would test for truth: present and not empty.
fn shown(text: Option<&str>) -> Option<&str> {
    text.filter(|t| !t.is_empty())
}

/// Writes `parts` in turn, escaping every second one: markup, text, markup, text, …
fn write(out: &mut String, parts: &[&str]) {
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 0 {
            out.push_str(part);
        } else {
            escape_into(out, part);
        }
    }
}

fn write_field(out: &mut String, f: &FieldView, ui: &Strings) {
    if f.kind == "item" {
        write(
            out,
            &[
                "<fieldset class=\"item\" id=\"",
                &f.id,
                "\" data-field=\"",
                &f.path,
                "\">\n<legend class=\"legend legend--item\">",
                &f.label,
                "</legend>\n",
            ],
        );
        write_fields(out, &f.children, ui);
        out.push('\n');
        if let Some(remove) = &f.remove {
            write(
                out,
                &[
                    "<button class=\"button button--secondary button--small\" type=\"submit\" name=\"_action\" value=\"",
                    &remove.action,
                    "\">",
                    &remove.label,
                    "</button>\n",
                ],
            );
        }
        out.push_str("</fieldset>\n");
        return;
    }
    let error = shown(f.error.as_deref());
    out.push_str(if error.is_some() {
        "<div class=\"field field--error\" data-field=\""
    } else {
        "<div class=\"field\" data-field=\""
    });
    escape_into(out, &f.path);
    out.push_str(if f.visible { "\">\n" } else { "\" hidden>\n" });
    match f.kind {
        "input" => {
            write_label(out, f, ui);
            write_hint_and_error(out, f, ui);
            if let Some(suffix) = f.suffix {
                out.push_str("<div class=\"input-row\">\n");
                write_input(out, f);
                write(out, &["<span class=\"input-suffix\">", suffix, "</span>\n</div>\n"]);
            } else {
                write_input(out, f);
            }
        }
        _ if f.fieldset => write_fieldset(out, f, ui),
        "info" => {
            write(out, &["<div class=\"info\" id=\"", &f.id, "\">\n"]);
            if !f.label.is_empty() {
                write(out, &["<p class=\"info__title\">", &f.label, "</p>\n"]);
            }
            write(
                out,
                &["<p class=\"info__text\">", f.text.unwrap_or(""), "</p>\n</div>\n"],
            );
        }
        "consent" => {
            write_hint_and_error(out, f, ui);
            write(
                out,
                &[
                    "<div class=\"choice\">\n<input class=\"choice__input\" type=\"checkbox\" id=\"",
                    &f.id,
                    "\" name=\"",
                    &f.path,
                    if f.value.is_empty() {
                        "\" value=\"ja\""
                    } else {
                        "\" value=\"ja\" checked"
                    },
                ],
            );
            write_attributes(out, f);
            write(
                out,
                &[">\n<label class=\"choice__label\" for=\"", &f.id, "\">", &f.label],
            );
            write_optional(out, f, ui);
            out.push_str("</label>\n</div>\n");
        }
        _ => {
            write_label(out, f, ui);
            write_hint_and_error(out, f, ui);
            match f.kind {
                "textarea" => {
                    write(
                        out,
                        &[
                            "<textarea class=\"textarea\" id=\"",
                            &f.id,
                            "\" name=\"",
                            &f.path,
                            "\" rows=\"5\"",
                        ],
                    );
                    write_attributes(out, f);
                    write(out, &[">\n", &f.value, "</textarea>\n"]);
                }
                "select" => {
                    write(
                        out,
                        &["<select class=\"select\" id=\"", &f.id, "\" name=\"", &f.path, "\""],
                    );
                    write_attributes(out, f);
                    write(out, &[">\n<option value=\"\">", ui.select_placeholder, "</option>\n"]);
                    for o in &f.options {
                        write(
                            out,
                            &[
                                "<option value=\"",
                                o.value,
                                if o.checked { "\" selected>" } else { "\">" },
                                o.label,
                                "</option>\n",
                            ],
                        );
                    }
                    out.push_str("</select>\n");
                }
                _ => {
                    if let Some(file) = shown(f.file) {
                        write(
                            out,
                            &[
                                "<p class=\"file-current\" id=\"",
                                &f.id,
                                "-current\">",
                                &ui.file_current.replace("{name}", file),
                                " ",
                                ui.file_replace,
                                "</p>\n",
                            ],
                        );
                    }
                    write(
                        out,
                        &[
                            "<input class=\"file\" id=\"",
                            &f.id,
                            "\" name=\"",
                            &f.path,
                            "\" type=\"file\"",
                        ],
                    );
                    if let Some(accept) = shown(f.accept.as_deref()) {
                        write(out, &[" accept=\"", accept, "\""]);
                    }
                    write_attributes(out, f);
                    out.push_str(">\n");
                }
            }
        }
    }
    out.push_str("</div>\n");
}

/// A group of controls: a date's three inputs, radios or checkboxes, or the fields of a group
/// or a repeat.
fn write_fieldset(out: &mut String, f: &FieldView, ui: &Strings) {
    out.push_str("<fieldset class=\"fieldset\"");
    if matches!(f.kind, "group" | "repeat") {
        write(out, &[" id=\"", &f.id, "\""]);
    }
    write_attributes(out, f);
    write(out, &[">\n<legend class=\"legend\">", &f.label]);
    write_optional(out, f, ui);
    out.push_str("</legend>\n");
    write_hint_and_error(out, f, ui);
    if let Some(status) = &f.status {
        // After a removal the focus rests here, and a screen reader reads which item went.
        write(
            out,
            &[
                "<p class=\"status\" id=\"",
                &f.id,
                "-status\" role=\"status\" tabindex=\"-1\" autofocus>",
                status,
                "</p>\n",
            ],
        );
    }
    match f.kind {
        "date" => {
            let date = f.date.as_ref();
            let parts = [
                ("day", ui.day, "input--w2", date.map_or("", |d| d.day.as_ref())),
                ("month", ui.month, "input--w2", date.map_or("", |d| d.month.as_ref())),
                ("year", ui.year, "input--w4", date.map_or("", |d| d.year.as_ref())),
            ];
            let autocomplete = date.is_some_and(|d| d.autocomplete);
            out.push_str("<div class=\"date\">\n");
            for (i, (part, label, width, value)) in parts.into_iter().enumerate() {
                write(
                    out,
                    &[
                        "<div class=\"date__part\">\n<label class=\"label label--small\" for=\"",
                        &f.id,
                        "-",
                        part,
                        "\">",
                        label,
                        "</label>\n<input class=\"input ",
                        width,
                        "\" id=\"",
                        &f.id,
                        "-",
                        part,
                        "\" name=\"",
                        &f.path,
                        ".",
                        part,
                        "\" value=\"",
                        value,
                        "\" type=\"text\" inputmode=\"numeric\"",
                    ],
                );
                if autocomplete {
                    write(out, &[" autocomplete=\"bday-", part, "\""]);
                }
                if f.error.is_some() {
                    out.push_str(" aria-invalid=\"true\"");
                }
                if f.autofocus && i == 0 {
                    out.push_str(" autofocus");
                }
                out.push_str(">\n</div>\n");
            }
            out.push_str("</div>\n");
        }
        "radios" | "checkboxes" => {
            let input = if f.kind == "radios" {
                "<div class=\"choice\">\n<input class=\"choice__input\" type=\"radio\" id=\""
            } else {
                "<div class=\"choice\">\n<input class=\"choice__input\" type=\"checkbox\" id=\""
            };
            out.push_str(if f.width == "inline" {
                "<div class=\"choices choices--inline\">\n"
            } else {
                "<div class=\"choices\">\n"
            });
            let invalid = shown(f.error.as_deref()).is_some();
            for (i, o) in f.options.iter().enumerate() {
                write_choice(out, f, o, input, invalid, f.autofocus && i == 0);
            }
            out.push_str("</div>\n");
        }
        _ => {
            write_fields(out, &f.children, ui);
            out.push('\n');
            if let Some(add) = &f.add {
                write(
                    out,
                    &[
                        "<button class=\"button button--secondary\" type=\"submit\" name=\"_action\" value=\"",
                        &add.action,
                        "\">",
                        &add.label,
                        "</button>\n",
                    ],
                );
            }
        }
    }
    out.push_str("</fieldset>\n");
}

/// One radio or checkbox of a group, with its label and hint.
fn write_choice(out: &mut String, f: &FieldView, o: &OptionView, input: &str, invalid: bool, autofocus: bool) {
    write(
        out,
        &[input, &o.id, "\" name=\"", &f.path, "\" value=\"", o.value, "\""],
    );
    if o.checked {
        out.push_str(" checked");
    }
    let hint = shown(o.hint);
    if hint.is_some() {
        write(out, &[" aria-describedby=\"", &o.id, "-hint\""]);
    }
    if invalid {
        out.push_str(" aria-invalid=\"true\"");
    }
    if autofocus {
        out.push_str(" autofocus");
    }
    write(
        out,
        &[
            ">\n<label class=\"choice__label\" for=\"",
            &o.id,
            "\">",
            o.label,
            "</label>\n",
        ],
    );
    if let Some(hint) = hint {
        write(
            out,
            &[
                "<p class=\"hint choice__hint\" id=\"",
                &o.id,
                "-hint\">",
                hint,
                "</p>\n",
            ],
        );
    }
    out.push_str("</div>\n");
}

fn write_label(out: &mut String, f: &FieldView, ui: &Strings) {
    write(out, &["<label class=\"label\" for=\"", &f.id, "\">", &f.label]);
    write_optional(out, f, ui);
    out.push_str("</label>\n");
}

fn write_optional(out: &mut String, f: &FieldView, ui: &Strings) {
    if f.optional {
        write(out, &[" <span class=\"optional\">", ui.optional, "</span>"]);
    }
}

fn write_hint_and_error(out: &mut String, f: &FieldView, ui: &Strings) {
    if let Some(hint) = shown(f.hint.as_deref()) {
        write(out, &["<p class=\"hint\" id=\"", &f.id, "-hint\">", hint, "</p>\n"]);
    }
    if let Some(error) = shown(f.error.as_deref()) {
        write(
            out,
            &[
                "<p class=\"error-message\" id=\"",
                &f.id,
                "-error\"><span class=\"visually-hidden\">",
                ui.error_prefix,
                " </span>",
                error,
                "</p>\n",
            ],
        );
    }
}

/// A text input (with its value).
fn write_input(out: &mut String, f: &FieldView) {
    write(
        out,
        &[
            "<input class=\"",
            f.class,
            "\" id=\"",
            &f.id,
            "\" name=\"",
            &f.path,
            "\" value=\"",
            &f.value,
            "\"",
        ],
    );
    write_attributes(out, f);
    out.push_str(">\n");
}

/// The attributes of a control that vary with its kind and state. For a group of controls
/// only its `aria-describedby`; the controls inside carry their own.
fn write_attributes(out: &mut String, f: &FieldView) {
    let mut attr = |name: &str, value: &str| write(out, &[" ", name, "=\"", value, "\""]);
    if f.fieldset {
        write_describedby(out, f);
        return;
    }
    if !f.input_type.is_empty() {
        attr("type", f.input_type);
    }
    if let Some(mode) = f.inputmode {
        attr("inputmode", mode);
    }
    if let Some(token) = &f.autocomplete {
        attr("autocomplete", token);
    }
    if f.no_spellcheck {
        attr("spellcheck", "false");
    }
    write_describedby(out, f);
    if f.error.is_some() {
        out.push_str(" aria-invalid=\"true\"");
    }
    if f.autofocus {
        out.push_str(" autofocus");
    }
}

/// `aria-describedby` with the ids of the field's hint, current file and error, those it has.
fn write_describedby(out: &mut String, f: &FieldView) {
    let parts = [
        (f.hint.is_some(), "-hint"),
        (f.file.is_some(), "-current"),
        (f.error.is_some(), "-error"),
    ];
    let mut any = false;
    for (_, suffix) in parts.into_iter().filter(|(has, _)| *has) {
        out.push_str(if any { " " } else { " aria-describedby=\"" });
        escape_into(out, &f.id);
        out.push_str(suffix);
        any = true;
    }
    if any {
        out.push('"');
    }
}
