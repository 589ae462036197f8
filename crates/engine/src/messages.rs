//! Error messages for citizens, written per field type in German and English.
//!
//! Each message is a whole sentence that fits the kind of field it appears at ("Bitte wählen
//! Sie eine Möglichkeit aus." at a radio group, "Bitte laden Sie eine Datei hoch." at an
//! upload). There are no "{label} ist ungültig" templates: German grammar does not survive them,
//! and the message stands next to its label anyway.

use baukasten_dsl::model::{FieldKind, Widget};
use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::validators::{month_name_de, month_name_en};

/// A message in both languages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Message {
    pub de: String,
    pub en: String,
}

impl Message {
    pub fn new(de: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            de: de.into(),
            en: en.into(),
        }
    }

    pub fn get(&self, lang: &str) -> &str {
        if lang == "en" { &self.en } else { &self.de }
    }
}

pub fn required(kind: &FieldKind) -> Message {
    match kind {
        FieldKind::Text | FieldKind::Textarea => {
            Message::new("Bitte füllen Sie dieses Feld aus.", "Please fill in this field.")
        }
        FieldKind::Integer | FieldKind::Decimal => {
            Message::new("Bitte geben Sie eine Zahl ein.", "Please enter a number.")
        }
        FieldKind::Money => Message::new("Bitte geben Sie einen Betrag ein.", "Please enter an amount."),
        FieldKind::Date => Message::new("Bitte geben Sie ein Datum ein.", "Please enter a date."),
        FieldKind::Email => Message::new(
            "Bitte geben Sie Ihre E-Mail-Adresse ein.",
            "Please enter your email address.",
        ),
        FieldKind::Phone => Message::new(
            "Bitte geben Sie eine Telefonnummer ein.",
            "Please enter a telephone number.",
        ),
        FieldKind::Choice {
            widget: Widget::Checkboxes,
            ..
        } => Message::new(
            "Bitte wählen Sie mindestens eine Möglichkeit aus.",
            "Please choose at least one option.",
        ),
        FieldKind::Choice { .. } => Message::new("Bitte wählen Sie eine Möglichkeit aus.", "Please choose an option."),
        FieldKind::YesNo => Message::new("Bitte wählen Sie „Ja“ oder „Nein“.", "Please choose “Yes” or “No”."),
        FieldKind::Consent => Message::new(
            "Bitte bestätigen Sie dies, um fortzufahren.",
            "Please confirm this to continue.",
        ),
        FieldKind::File { .. } => Message::new("Bitte laden Sie eine Datei hoch.", "Please upload a file."),
        FieldKind::Plz => Message::new("Bitte geben Sie eine Postleitzahl ein.", "Please enter a postcode."),
        FieldKind::Iban => Message::new("Bitte geben Sie eine IBAN ein.", "Please enter an IBAN."),
        FieldKind::SteuerId => Message::new(
            "Bitte geben Sie Ihre Steuer-Identifikationsnummer ein.",
            "Please enter your tax identification number.",
        ),
        FieldKind::KfzKennzeichen => Message::new(
            "Bitte geben Sie ein Kennzeichen ein.",
            "Please enter a registration number.",
        ),
        FieldKind::Repeat { .. } => Message::new(
            "Bitte fügen Sie mindestens einen Eintrag hinzu.",
            "Please add at least one entry.",
        ),
        FieldKind::Group { .. } | FieldKind::Info { .. } => {
            Message::new("Bitte füllen Sie diese Angaben aus.", "Please fill in these details.")
        }
    }
}

pub fn too_short(n: u32) -> Message {
    Message::new(
        format!("Bitte geben Sie mindestens {n} Zeichen ein."),
        format!("Please enter at least {n} characters."),
    )
}

pub fn too_long(n: u32) -> Message {
    Message::new(
        format!("Bitte geben Sie höchstens {n} Zeichen ein."),
        format!("Please enter no more than {n} characters."),
    )
}

/// A decimal in German notation: `1.234,5`.
pub fn german_number(d: Decimal) -> String {
    let text = d.normalize().to_string();
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped},{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// An amount in German notation with cents: `1.234,50 €`.
pub fn german_money(d: Decimal) -> String {
    let rounded = crate::money::round(d);
    let text = german_number(rounded.trunc());
    let cents = ((rounded - rounded.trunc()).abs() * Decimal::from(100)).round();
    format!("{text},{cents:0>2} €")
}

pub fn english_money(d: Decimal) -> String {
    format!("€{}", crate::money::format(d))
}

pub fn too_small(kind: &FieldKind, min: Decimal) -> Message {
    match kind {
        FieldKind::Money => Message::new(
            format!("Der Betrag muss mindestens {} sein.", german_money(min)),
            format!("The amount must be at least {}.", english_money(min)),
        ),
        _ => Message::new(
            format!("Bitte geben Sie eine Zahl ab {} ein.", german_number(min)),
            format!("Please enter a number of {} or more.", min.normalize()),
        ),
    }
}

pub fn too_large(kind: &FieldKind, max: Decimal) -> Message {
    match kind {
        FieldKind::Money => Message::new(
            format!("Der Betrag darf höchstens {} sein.", german_money(max)),
            format!("The amount must be at most {}.", english_money(max)),
        ),
        _ => Message::new(
            format!("Bitte geben Sie eine Zahl bis {} ein.", german_number(max)),
            format!("Please enter a number of {} or less.", max.normalize()),
        ),
    }
}

/// A rule's message with each `{{ expression }}` replaced by its value, written the way
/// `lang` writes it: `1.234,5` and `3. März 2026` in German, `1234.5` and `3 March 2026` in
/// English, yes/no as words, lists joined by commas, no value as nothing.
pub fn fill_values(text: &str, lang: &str, values: &[(&str, minijinja::Value)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}").map(|i| open + 2 + i) else {
            break;
        };
        let source = rest[open + 2..close].trim();
        out.push_str(&rest[..open]);
        match values.iter().find(|(s, _)| *s == source) {
            Some((_, value)) => out.push_str(&show_value(value, lang)),
            None => out.push_str(&rest[open..close + 2]),
        }
        rest = &rest[close + 2..];
    }
    out.push_str(rest);
    out
}

fn show_value(value: &minijinja::Value, lang: &str) -> String {
    use minijinja::value::ValueKind;
    let de = lang != "en";
    match value.kind() {
        ValueKind::None | ValueKind::Undefined => String::new(),
        ValueKind::Bool => match (value.is_true(), de) {
            (true, true) => "ja".into(),
            (false, true) => "nein".into(),
            (true, false) => "yes".into(),
            (false, false) => "no".into(),
        },
        ValueKind::Number => {
            let number = match value.as_i64() {
                Some(i) if !value.to_string().contains('.') => Decimal::from(i),
                _ => f64::try_from(value.clone())
                    .ok()
                    .and_then(Decimal::from_f64_retain)
                    .map(|d| d.round_dp(2))
                    .unwrap_or_default(),
            };
            if de {
                german_number(number)
            } else {
                number.normalize().to_string()
            }
        }
        ValueKind::String => {
            let text = value.as_str().unwrap_or_default();
            match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(d) if de => german_date(d),
                Ok(d) => english_date(d),
                Err(_) => text.to_string(),
            }
        }
        ValueKind::Seq => value
            .try_iter()
            .map(|items| items.map(|v| show_value(&v, lang)).collect::<Vec<_>>().join(", "))
            .unwrap_or_default(),
        _ => value.to_string(),
    }
}

pub fn german_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}. {} {}", d.day(), month_name_de(d.month()), d.year())
}

pub fn english_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{} {} {}", d.day(), month_name_en(d.month()), d.year())
}

pub fn date_too_early(min: NaiveDate) -> Message {
    Message::new(
        format!("Das Datum darf nicht vor dem {} liegen.", german_date(min)),
        format!("The date must not be before {}.", english_date(min)),
    )
}

pub fn date_too_late(max: NaiveDate) -> Message {
    Message::new(
        format!("Das Datum darf nicht nach dem {} liegen.", german_date(max)),
        format!("The date must not be after {}.", english_date(max)),
    )
}

pub fn invalid_choice() -> Message {
    Message::new(
        "Bitte wählen Sie eine der angebotenen Möglichkeiten.",
        "Please choose one of the options offered.",
    )
}

pub fn invalid_bool() -> Message {
    Message::new("Bitte wählen Sie „Ja“ oder „Nein“.", "Please choose “Yes” or “No”.")
}

pub fn consent_required() -> Message {
    Message::new(
        "Bitte bestätigen Sie dies, um fortzufahren.",
        "Please confirm this to continue.",
    )
}

pub fn too_few_items(n: u32, item: &str, item_en: &str) -> Message {
    Message::new(
        format!("Bitte geben Sie mindestens {n} {} an.", plural_de(n, item)),
        format!("Please add at least {n} {}.", plural_en(n, item_en)),
    )
}

pub fn too_many_items(n: u32, item: &str, item_en: &str) -> Message {
    Message::new(
        format!("Bitte geben Sie höchstens {n} {} an.", plural_de(n, item)),
        format!("Please add no more than {n} {}.", plural_en(n, item_en)),
    )
}

fn plural_de(n: u32, item: &str) -> String {
    if n == 1 {
        item.to_string()
    } else {
        format!("{item} (Einträge)")
    }
}

fn plural_en(n: u32, item: &str) -> String {
    if n == 1 {
        item.to_string()
    } else {
        format!("{item} entries")
    }
}

pub fn file_type(accept: &[String]) -> Message {
    let kinds = accept.iter().map(|k| k.to_uppercase()).collect::<Vec<_>>().join(", ");
    Message::new(
        format!("Diese Dateiart ist hier nicht erlaubt. Bitte laden Sie eine Datei dieser Art hoch: {kinds}."),
        format!("This kind of file is not allowed here. Please upload one of: {kinds}."),
    )
}

pub fn file_too_large(max: u64) -> Message {
    let size = human_size(max);
    Message::new(
        format!("Die Datei ist zu groß. Erlaubt sind höchstens {size}."),
        format!("The file is too large. The limit is {size}."),
    )
}

/// An answer under a key that is no field of the service (a misspelt name, say).
pub fn unknown_field() -> Message {
    Message::new(
        "Dieses Feld gibt es in diesem Dienst nicht; prüfen Sie den Namen.",
        "This service has no such field; check the name.",
    )
}

/// A file answer that names no upload the server knows (of this municipality).
pub fn file_not_uploaded() -> Message {
    Message::new(
        "Bitte laden Sie die Datei zuerst hoch.",
        "Please upload the file first.",
    )
}

pub fn invalid_file() -> Message {
    Message::new(
        "Die Datei konnte nicht zugeordnet werden. Bitte laden Sie sie erneut hoch.",
        "The file could not be matched. Please upload it again.",
    )
}

pub fn invalid_value() -> Message {
    Message::new(
        "Diese Angabe können wir nicht verarbeiten.",
        "We cannot process this answer.",
    )
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MB", bytes / (1024 * 1024))
    } else if bytes >= 1024 {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_numbers_and_amounts() {
        assert_eq!(german_number(Decimal::new(123456, 2)), "1.234,56");
        assert_eq!(german_number(Decimal::new(-5, 0)), "-5");
        assert_eq!(german_money(Decimal::new(307, 1)), "30,70 €");
        assert_eq!(german_money(Decimal::new(1_000_000, 0)), "1.000.000,00 €");
        assert_eq!(english_money(Decimal::new(307, 1)), "€30.70");
    }
}
