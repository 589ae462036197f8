//! The language's vocabulary, written down once.
//!
//! Every object of the language (service, step, field, …) is described here by its keys, their
//! value types, and a description in German and English. Three things are derived from these
//! tables, so they cannot drift apart: the reader's unknown-key check with its suggestions, the
//! JSON Schema that editors use for completion and hover help (`baukasten schema dsl`), and the
//! key lists of `docs/language.md` (a test compares them).

use serde_json::{Map, Value, json};

/// The type of a key's value.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// A plain string.
    Str,
    /// A text for people: a plain string (German) or a map of language code to translation.
    Text,
    Bool,
    Int,
    /// A number, or a string holding a decimal number (`"30.70"`).
    Number,
    /// A number, an ISO date (`2026-01-31`), or a date relative to today (`today`, `-14d`, `+7d`,
    /// `-3m`, `-18y`).
    Bound,
    /// An ISO date, `YYYY-MM-DD`.
    Date,
    /// An expression (minijinja syntax) over the service's fields.
    Expr,
    /// An identifier: lower-case letters, digits and `_`, starting with a letter.
    Id,
    /// A semantic version, `MAJOR.MINOR.PATCH`.
    Version,
    /// A FIM Leistungsschlüssel: 14 digits.
    Leika,
    /// A file size such as `10 MB` or `500 KB`.
    Size,
    /// A number of days, written `180d`.
    Days,
    /// A FIM element id: a capital letter and digits, e.g. `F60000001`.
    FimId,
    /// A FIM element version, quoted: `"1.0"` or `"1.2.3"`.
    FimVersion,
    /// One of the given words.
    Enum(&'static [&'static str]),
    List(&'static Ty),
    /// A map from identifiers to values of the given type.
    MapOf(&'static Ty),
    Obj(&'static Obj),
    /// Like `Obj`, but every key is optional: an overlay's patch of an existing object.
    Patch(&'static Obj),
    /// One of several shapes.
    OneOf(&'static [Ty]),
    /// Any YAML value (test answers, computed values expected by a test).
    Any,
}

/// One key of an object.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    pub de: &'static str,
    pub en: &'static str,
}

/// An object of the language: a named set of keys.
#[derive(Debug)]
pub struct Obj {
    /// The name used in `$defs` of the JSON Schema and in diagnostics' "in a …".
    pub name: &'static str,
    pub what_de: &'static str,
    pub what_en: &'static str,
    pub keys: &'static [Key],
    /// Further keys taken from another object (an added field is a field plus `to`/`after`).
    pub base: Option<&'static Obj>,
}

impl Obj {
    /// Every key of the object, its base's included.
    pub fn all_keys(&self) -> impl Iterator<Item = &'static Key> + '_ {
        self.keys
            .iter()
            .chain(self.base.into_iter().flat_map(|b| b.keys.iter()))
    }

    pub fn key(&self, name: &str) -> Option<&'static Key> {
        self.all_keys().find(|k| k.name == name)
    }
}

const fn key(name: &'static str, ty: Ty, de: &'static str, en: &'static str) -> Key {
    Key {
        name,
        ty,
        required: false,
        de,
        en,
    }
}

const fn req(name: &'static str, ty: Ty, de: &'static str, en: &'static str) -> Key {
    Key {
        name,
        ty,
        required: true,
        de,
        en,
    }
}

pub const FIELD_TYPES: &[&str] = &[
    "text",
    "textarea",
    "integer",
    "decimal",
    "money",
    "date",
    "email",
    "phone",
    "choice",
    "yes_no",
    "consent",
    "file",
    "info",
    "plz",
    "iban",
    "steuer_id",
    "kfz_kennzeichen",
    "group",
    "repeat",
];

pub const WIDGETS: &[&str] = &["radio", "select", "checkboxes"];
pub const FILE_KINDS: &[&str] = &["pdf", "jpeg", "png", "tiff", "heic", "webp"];
pub const VALUE_TYPES: &[&str] = &["text", "integer", "decimal", "money", "date", "bool"];
/// Languages a service may declare (ISO 639-1): German, and the languages German
/// municipalities most often translate into.
pub const LANGUAGES: &[&str] = &[
    "de", "en", "tr", "ar", "uk", "ru", "pl", "fr", "es", "it", "ro", "fa", "vi", "hr", "bg", "el", "sq", "ku",
];

/// The error codes the engine reports at a field, which a test's `expect.errors` may name.
/// A cross-field rule reports its own `id` (or `rule` where it has none).
pub const ERROR_CODES: &[&str] = &[
    "required",
    "too_short",
    "too_long",
    "too_small",
    "too_large",
    "pattern",
    "invalid_integer",
    "invalid_decimal",
    "invalid_money",
    "invalid_date",
    "date_too_early",
    "date_too_late",
    "invalid_email",
    "invalid_phone",
    "invalid_plz",
    "invalid_iban",
    "invalid_steuer_id",
    "invalid_kfz_kennzeichen",
    "invalid_choice",
    "invalid_bool",
    "consent_required",
    "too_few_items",
    "too_many_items",
    "invalid_file",
    "file_type",
    "file_too_large",
    "invalid_value",
    "rule",
];

pub static OPTION: Obj = Obj {
    name: "option",
    what_de: "Auswahlmöglichkeit",
    what_en: "option",
    base: None,
    keys: &[
        req(
            "value",
            Ty::Str,
            "Der gespeicherte Wert, z. B. `firma`.",
            "The stored value, e.g. `firma`.",
        ),
        req(
            "label",
            Ty::Text,
            "Die Beschriftung, die Bürger:innen sehen.",
            "The label citizens see.",
        ),
        key(
            "hint",
            Ty::Text,
            "Ein Hinweis unter der Möglichkeit.",
            "A hint shown under the option.",
        ),
    ],
};

pub static FIELD: Obj = Obj {
    name: "field",
    what_de: "Feld",
    what_en: "field",
    base: None,
    keys: &[
        req(
            "id",
            Ty::Id,
            "Name des Feldes, eindeutig im Dienst (in Gruppen: in der Gruppe). In Ausdrücken und Tests verwendet.",
            "The field's name, unique in the service (in groups: in the group). Used in expressions and tests.",
        ),
        req(
            "type",
            Ty::Enum(FIELD_TYPES),
            "Art des Feldes: text, textarea, integer, decimal, money, date, email, phone, choice, yes_no, consent, file, info, plz, iban, steuer_id, kfz_kennzeichen, group, repeat.",
            "Kind of field: text, textarea, integer, decimal, money, date, email, phone, choice, yes_no, consent, file, info, plz, iban, steuer_id, kfz_kennzeichen, group, repeat.",
        ),
        key(
            "label",
            Ty::Text,
            "Die sichtbare Beschriftung. Pflicht außer bei `info` und bei Gruppen, die per `use:` eine Gruppe mit `label` verwenden.",
            "The visible label. Required except for `info`, and for groups that `use:` a group with a `label`.",
        ),
        key(
            "hint",
            Ty::Text,
            "Hilfetext unter der Beschriftung.",
            "Help text shown under the label.",
        ),
        key(
            "required",
            Ty::Bool,
            "`true`: das Feld muss ausgefüllt werden (wenn es sichtbar ist).",
            "`true`: the field must be filled in (when it is visible).",
        ),
        key(
            "required_if",
            Ty::Expr,
            "Ausdruck: das Feld ist nur dann Pflicht, wenn er wahr ist.",
            "Expression: the field is required only while it is true.",
        ),
        key(
            "visible_if",
            Ty::Expr,
            "Ausdruck: das Feld wird nur gezeigt, wenn er wahr ist. Verborgene Felder sind nie Pflicht und ihr Wert wird verworfen.",
            "Expression: the field is shown only while it is true. Hidden fields are never required and their value is dropped.",
        ),
        key(
            "min_length",
            Ty::Int,
            "Mindestzahl an Zeichen (Texte).",
            "Minimum number of characters (texts).",
        ),
        key(
            "max_length",
            Ty::Int,
            "Höchstzahl an Zeichen (Texte).",
            "Maximum number of characters (texts).",
        ),
        key(
            "min",
            Ty::Bound,
            "Kleinster Wert: eine Zahl, ein Datum (2026-01-31) oder ein Datum relativ zu heute (`today`, `-14d`, `+7d`, `-3m`, `-18y`).",
            "Smallest value: a number, a date (2026-01-31), or a date relative to today (`today`, `-14d`, `+7d`, `-3m`, `-18y`).",
        ),
        key(
            "max",
            Ty::Bound,
            "Größter Wert: eine Zahl, ein Datum oder ein Datum relativ zu heute.",
            "Largest value: a number, a date, or a date relative to today.",
        ),
        key(
            "pattern",
            Ty::Str,
            "Regulärer Ausdruck, dem die ganze Eingabe entsprechen muss. Immer mit `pattern_message`.",
            "Regular expression the whole input must match. Always with `pattern_message`.",
        ),
        key(
            "pattern_message",
            Ty::Text,
            "Die Fehlermeldung, wenn `pattern` nicht passt.",
            "The error message when `pattern` does not match.",
        ),
        key(
            "accept",
            Ty::List(&Ty::Enum(FILE_KINDS)),
            "Erlaubte Dateiarten (file): pdf, jpeg, png, tiff, heic, webp.",
            "Allowed kinds of file (file): pdf, jpeg, png, tiff, heic, webp.",
        ),
        key(
            "max_size",
            Ty::Size,
            "Größte erlaubte Datei (file), z. B. `10 MB`.",
            "Largest allowed file (file), e.g. `10 MB`.",
        ),
        key(
            "list",
            Ty::Str,
            "Name einer Liste unter `lists` mit den Auswahlmöglichkeiten (choice).",
            "Name of a list under `lists` holding the options (choice).",
        ),
        key(
            "options",
            Ty::List(&Ty::Obj(&OPTION)),
            "Auswahlmöglichkeiten direkt am Feld (choice), statt `list`.",
            "Options given at the field (choice), instead of `list`.",
        ),
        key(
            "widget",
            Ty::Enum(WIDGETS),
            "Darstellung einer Auswahl: radio (Standard), select oder checkboxes (Mehrfachauswahl).",
            "How a choice is shown: radio (default), select, or checkboxes (several answers).",
        ),
        key(
            "autocomplete",
            Ty::Str,
            "HTML-autocomplete-Wert (z. B. given-name, postal-code, email), damit Browser ausfüllen helfen.",
            "HTML autocomplete token (e.g. given-name, postal-code, email), so browsers can help fill in.",
        ),
        key(
            "text",
            Ty::Text,
            "Der Text eines `info`-Feldes.",
            "The text of an `info` field.",
        ),
        key(
            "use",
            Ty::Str,
            "Name einer Feldgruppe unter `groups` oder des Katalogs (group, repeat), statt eigener `fields`.",
            "Name of a field group under `groups` or of the catalog (group, repeat), instead of own `fields`.",
        ),
        key(
            "fields",
            Ty::List(&Ty::Obj(&FIELD)),
            "Die Felder einer Gruppe oder eines Eintrags (group, repeat).",
            "The fields of a group or of one entry (group, repeat).",
        ),
        key(
            "min_items",
            Ty::Int,
            "Mindestzahl an Einträgen (repeat).",
            "Minimum number of entries (repeat).",
        ),
        key(
            "max_items",
            Ty::Int,
            "Höchstzahl an Einträgen (repeat).",
            "Maximum number of entries (repeat).",
        ),
        key(
            "item_label",
            Ty::Text,
            "Bezeichnung eines Eintrags, z. B. „Person“ (repeat).",
            "Name of one entry, e.g. “Person” (repeat).",
        ),
        key(
            "fim",
            Ty::Obj(&FIM),
            "Das FIM-Datenfeld (bei `group`: die Datenfeldgruppe), für das das Feld steht; ein Import aus XDatenfelder trägt es ein.",
            "The FIM data field (for a `group`: the data field group) the field stands for; an import from XDatenfelder fills it in.",
        ),
    ],
};

/// The pattern of a FIM element id (`F60000001`, `G60000086`).
pub const FIM_ID_PATTERN: &str = "^[A-Z][0-9]+$";
/// The pattern of a FIM element version (`1.0`, `1.2.3`).
pub const FIM_VERSION_PATTERN: &str = "^[0-9]+\\.[0-9]+(\\.[0-9]+)?$";

pub static FIM: Obj = Obj {
    name: "fim",
    what_de: "FIM-Bezug",
    what_en: "FIM reference",
    base: None,
    keys: &[
        req(
            "id",
            Ty::FimId,
            "Kennung des FIM-Elements: ein Großbuchstabe und Ziffern, z. B. `F60000001` (Datenfeld) oder `G60000086` (Datenfeldgruppe).",
            "Id of the FIM element: a capital letter and digits, e.g. `F60000001` (data field) or `G60000086` (data field group).",
        ),
        key(
            "version",
            Ty::FimVersion,
            "Version des FIM-Elements, in Anführungszeichen, z. B. `\"1.0\"` oder `\"1.2.3\"`; fehlt, wo FIM keine nennt.",
            "Version of the FIM element, quoted, e.g. `\"1.0\"` or `\"1.2.3\"`; left out where FIM gives none.",
        ),
    ],
};

pub static ADDED_FIELD: Obj = Obj {
    name: "added_field",
    what_de: "hinzugefügtes Feld",
    what_en: "added field",
    base: Some(&FIELD),
    keys: &[
        req(
            "to",
            Ty::Str,
            "Schritt (id) oder Gruppenfeld (Pfad), in den das Feld kommt.",
            "Step (id) or group field (path) the field is added to.",
        ),
        key(
            "after",
            Ty::Str,
            "Das Feld, hinter dem es eingefügt wird; sonst ans Ende.",
            "The field it is inserted after; otherwise at the end.",
        ),
    ],
};

pub static GROUP: Obj = Obj {
    name: "group",
    what_de: "Feldgruppe",
    what_en: "field group",
    base: None,
    keys: &[
        key(
            "label",
            Ty::Text,
            "Überschrift der Gruppe, wenn ein Feld sie ohne eigene Beschriftung verwendet.",
            "Heading of the group, when a field uses it without a label of its own.",
        ),
        key(
            "fim",
            Ty::Obj(&FIM),
            "Die FIM-Datenfeldgruppe, für die die Gruppe steht.",
            "The FIM data field group the group stands for.",
        ),
        req(
            "fields",
            Ty::List(&Ty::Obj(&FIELD)),
            "Die Felder der Gruppe.",
            "The group's fields.",
        ),
    ],
};

/// A field group of the whole catalog, in a file of its own (`forms/gruppen/anschrift.yaml`).
pub static CATALOG_GROUP: Obj = Obj {
    name: "catalog_group",
    what_de: "Feldgruppe des Katalogs",
    what_en: "catalog field group",
    base: Some(&GROUP),
    keys: &[req(
        "group",
        Ty::Id,
        "Name der Gruppe, eindeutig im Katalog; Dienste verwenden sie mit `use: <name>`.",
        "The group's name, unique in the catalog; services use it with `use: <name>`.",
    )],
};

pub static STEP: Obj = Obj {
    name: "step",
    what_de: "Schritt",
    what_en: "step",
    base: None,
    keys: &[
        req(
            "id",
            Ty::Id,
            "Name des Schritts, eindeutig im Dienst.",
            "The step's name, unique in the service.",
        ),
        req("title", Ty::Text, "Überschrift der Seite.", "The page's heading."),
        key(
            "description",
            Ty::Text,
            "Einleitender Text der Seite.",
            "Introductory text of the page.",
        ),
        key(
            "visible_if",
            Ty::Expr,
            "Ausdruck: der Schritt wird nur durchlaufen, wenn er wahr ist.",
            "Expression: the step is part of the path only while it is true.",
        ),
        key(
            "required_if",
            Ty::Expr,
            "Ausdruck: die Pflichtfelder des Schritts sind nur dann Pflicht, wenn er wahr ist.",
            "Expression: the step's required fields are required only while it is true.",
        ),
        req(
            "fields",
            Ty::List(&Ty::Obj(&FIELD)),
            "Die Felder des Schritts.",
            "The step's fields.",
        ),
    ],
};

pub static ADDED_STEP: Obj = Obj {
    name: "added_step",
    what_de: "hinzugefügter Schritt",
    what_en: "added step",
    base: Some(&STEP),
    keys: &[key(
        "after",
        Ty::Str,
        "Der Schritt, hinter dem er eingefügt wird; sonst ans Ende.",
        "The step it is inserted after; otherwise at the end.",
    )],
};

pub static COMPUTED: Obj = Obj {
    name: "computed",
    what_de: "berechneter Wert",
    what_en: "computed value",
    base: None,
    keys: &[
        req(
            "id",
            Ty::Id,
            "Name des Wertes; in Ausdrücken verwendbar.",
            "The value's name; usable in expressions.",
        ),
        req(
            "value",
            Ty::Expr,
            "Ausdruck, der den Wert berechnet.",
            "Expression that computes the value.",
        ),
        key(
            "type",
            Ty::Enum(VALUE_TYPES),
            "Art des Ergebnisses: text, integer, decimal, money, date, bool.",
            "Kind of result: text, integer, decimal, money, date, bool.",
        ),
        key(
            "label",
            Ty::Text,
            "Beschriftung, wenn der Wert angezeigt wird.",
            "Label when the value is shown.",
        ),
    ],
};

pub static RULE: Obj = Obj {
    name: "rule",
    what_de: "Regel",
    what_en: "rule",
    base: None,
    keys: &[
        key(
            "id",
            Ty::Id,
            "Name der Regel; zugleich der Fehlercode in Tests (sonst `rule`).",
            "The rule's name; also its error code in tests (otherwise `rule`).",
        ),
        req(
            "check",
            Ty::Expr,
            "Ausdruck, der wahr sein muss. Felder ohne Antwort lassen die Regel ruhen.",
            "Expression that must be true. Fields without an answer leave the rule at rest.",
        ),
        req(
            "field",
            Ty::Str,
            "Das Feld, an dem die Meldung erscheint.",
            "The field the message is shown at.",
        ),
        req("message", Ty::Text, "Die Fehlermeldung.", "The error message."),
    ],
};

pub static FEE: Obj = Obj {
    name: "fee",
    what_de: "Gebühr",
    what_en: "fee",
    base: None,
    keys: &[
        key(
            "id",
            Ty::Id,
            "Name der Gebühr (für Overlays).",
            "The fee's name (for overlays).",
        ),
        req(
            "label",
            Ty::Text,
            "Bezeichnung auf der Übersicht.",
            "Label on the summary.",
        ),
        req(
            "amount",
            Ty::Expr,
            "Ausdruck für den Betrag in Euro, z. B. `30.70` oder `gebuehr_pro_jahr * laufzeit`.",
            "Expression for the amount in euros, e.g. `30.70` or `gebuehr_pro_jahr * laufzeit`.",
        ),
        key(
            "if",
            Ty::Expr,
            "Ausdruck: die Gebühr fällt nur an, wenn er wahr ist.",
            "Expression: the fee applies only while it is true.",
        ),
    ],
};

pub static STATE: Obj = Obj {
    name: "state",
    what_de: "Bearbeitungsstand",
    what_en: "state",
    base: None,
    keys: &[
        req("id", Ty::Id, "Name des Stands.", "The state's name."),
        key(
            "label",
            Ty::Text,
            "Bezeichnung für Sachbearbeitung und Bürger:innen.",
            "Label for clerks and citizens.",
        ),
        key(
            "notify",
            Ty::Text,
            "Nachricht an die Bürgerin oder den Bürger, wenn der Antrag diesen Stand erreicht (an die Adresse aus `confirmation_email`).",
            "Message to the citizen when the submission reaches this state (to the address of `confirmation_email`).",
        ),
    ],
};

pub static TRANSITION: Obj = Obj {
    name: "transition",
    what_de: "Übergang",
    what_en: "transition",
    base: None,
    keys: &[
        req("from", Ty::Str, "Ausgangsstand.", "State it starts from."),
        req("to", Ty::Str, "Zielstand.", "State it leads to."),
        key(
            "label",
            Ty::Text,
            "Bezeichnung der Aktion, z. B. „Genehmigen“.",
            "Label of the action, e.g. “Approve”.",
        ),
    ],
};

pub static DELIVERY: Obj = Obj {
    name: "delivery",
    what_de: "Zustellung",
    what_en: "delivery",
    base: None,
    keys: &[
        key(
            "webhook",
            Ty::Str,
            "Name eines in der Kommune konfigurierten Webhooks (Fachverfahren).",
            "Name of a webhook configured for the municipality (back-office system).",
        ),
        key(
            "email",
            Ty::Str,
            "E-Mail-Adresse des Postfachs der Behörde.",
            "E-mail address of the office's inbox.",
        ),
        key(
            "fit_connect",
            Ty::Str,
            "FIT-Connect-Zustellpunkt der Behörde (Destination-ID, eine UUID); der Dienst braucht dafür `leika`.",
            "The office's FIT-Connect destination (destination id, a UUID); the service needs `leika` for it.",
        ),
    ],
};

pub static PROCESS: Obj = Obj {
    name: "process",
    what_de: "Ablauf",
    what_en: "process",
    base: None,
    keys: &[
        key(
            "states",
            Ty::List(&Ty::OneOf(&[Ty::Id, Ty::Obj(&STATE)])),
            "Bearbeitungsstände; der erste ist der Stand nach dem Absenden.",
            "Processing states; the first is the state after sending.",
        ),
        key(
            "transitions",
            Ty::List(&Ty::Obj(&TRANSITION)),
            "Erlaubte Übergänge zwischen Ständen.",
            "Allowed moves between states.",
        ),
        key(
            "deliver",
            Ty::List(&Ty::Obj(&DELIVERY)),
            "Wohin ein Antrag nach dem Absenden geht.",
            "Where a submission goes after sending.",
        ),
    ],
};

pub static EXPECT: Obj = Obj {
    name: "expect",
    what_de: "Erwartung",
    what_en: "expectation",
    base: None,
    keys: &[
        key(
            "visible",
            Ty::List(&Ty::Str),
            "Felder, die sichtbar sein müssen.",
            "Fields that must be visible.",
        ),
        key(
            "hidden",
            Ty::List(&Ty::Str),
            "Felder, die verborgen sein müssen.",
            "Fields that must be hidden.",
        ),
        key(
            "errors",
            Ty::MapOf(&Ty::Str),
            "Erwartete Fehler: Feld → Fehlercode (z. B. `required`). Jeder genannte Fehler muss auftreten; weitere Fehler sind erlaubt (dafür gibt es `valid`).",
            "Expected errors: field → error code (e.g. `required`). Each one listed must occur; other errors are allowed (see `valid`).",
        ),
        key(
            "no_errors",
            Ty::List(&Ty::Str),
            "Felder, an denen kein Fehler sein darf (andere Felder dürfen Fehler haben).",
            "Fields that must have no error (other fields may have errors).",
        ),
        key(
            "valid",
            Ty::Bool,
            "`true`: die Antworten sind ohne jeden Fehler.",
            "`true`: the answers have no error at all.",
        ),
        key(
            "computed",
            Ty::MapOf(&Ty::Any),
            "Erwartete berechnete Werte: Name → Wert.",
            "Expected computed values: name → value.",
        ),
        key(
            "fee_total",
            Ty::Number,
            "Erwartete Gesamtgebühr in Euro.",
            "Expected total fee in euros.",
        ),
        key(
            "path",
            Ty::List(&Ty::Str),
            "Erwartete Folge der Schritte (ids).",
            "Expected sequence of steps (ids).",
        ),
    ],
};

pub static TEST: Obj = Obj {
    name: "test",
    what_de: "Test",
    what_en: "test",
    base: None,
    keys: &[
        req(
            "name",
            Ty::Str,
            "Was der Test zeigt, in einem Satz.",
            "What the test shows, in one sentence.",
        ),
        key(
            "today",
            Ty::Date,
            "Festes heutiges Datum für den Test.",
            "A fixed date for today in this test.",
        ),
        key(
            "answers",
            Ty::MapOf(&Ty::Any),
            "Antworten: Feld → Wert; Gruppen als Zuordnung, Wiederholungen als Liste von Zuordnungen, Dateien als Zuordnung {name, size, type} oder als Dateiname.",
            "Answers: field → value; groups as a map, repeats as a list of maps, files as a map {name, size, type} or a file name.",
        ),
        req(
            "expect",
            Ty::Obj(&EXPECT),
            "Was herauskommen muss.",
            "What must come out.",
        ),
    ],
};

pub static RETENTION: Obj = Obj {
    name: "retention",
    what_de: "Aufbewahrung",
    what_en: "retention",
    base: None,
    keys: &[req(
        "after_final_state",
        Ty::Days,
        "Wie lange die Angaben und Anhänge eines Antrags aufbewahrt werden, nachdem er einen Endstand erreicht hat, in Tagen: `180d` (1 bis 3650 Tage). Danach bleiben nur Vorgangsnummer, Daten und Endstand.",
        "How long a submission's answers and attachments are kept after it reached a final state, in days: `180d` (1 to 3650 days). Afterwards only the reference, the dates and the final state remain.",
    )],
};

/// Keys a service and an overlay share: the metadata an overlay may replace.
macro_rules! metadata_keys {
    () => {
        [
            key(
                "title",
                Ty::Text,
                "Titel des Dienstes (Pflicht im Dienst, im Overlay optional).",
                "Title of the service (required in a service, optional in an overlay).",
            ),
            key(
                "description",
                Ty::Text,
                "Kurzbeschreibung für Katalog und Startseite.",
                "Short description for the catalog and the start page.",
            ),
            key(
                "keywords",
                Ty::List(&Ty::Str),
                "Suchbegriffe für den Katalog.",
                "Search terms for the catalog.",
            ),
            key(
                "languages",
                Ty::List(&Ty::Str),
                "Sprachen, in die alle Texte übersetzt sind (Deutsch immer). Fehlt eine Übersetzung, warnt `check`.",
                "Languages all texts are translated into (German always). A missing translation is a warning.",
            ),
            key(
                "duration",
                Ty::Text,
                "Wie lange das Ausfüllen etwa dauert, z. B. „10 Minuten“.",
                "How long filling in takes, e.g. “10 minutes”.",
            ),
            key(
                "requirements",
                Ty::List(&Ty::Text),
                "Was Bürger:innen bereithalten sollten (Startseite).",
                "What citizens should have at hand (start page).",
            ),
            key(
                "privacy",
                Ty::Text,
                "Datenschutzhinweis auf der Startseite.",
                "Privacy note on the start page.",
            ),
            key(
                "declaration",
                Ty::Text,
                "Erklärung, die vor dem Absenden bestätigt wird.",
                "Declaration confirmed before sending.",
            ),
            key(
                "confirmation_email",
                Ty::Str,
                "Das E-Mail-Feld (Pfad), an dessen Adresse die Eingangsbestätigung geht, wenn es beantwortet ist.",
                "The e-mail field (path) whose address gets the confirmation of receipt, when answered.",
            ),
            key(
                "next_steps",
                Ty::Text,
                "Was nach dem Absenden geschieht, in den Worten des Dienstes (Bestätigungsseite).",
                "What happens after sending, in the service's own words (confirmation page).",
            ),
            key(
                "reference_prefix",
                Ty::Str,
                "Kürzel am Anfang der Vorgangsnummer, 2–5 Großbuchstaben, z. B. `BPA`.",
                "Prefix of reference numbers, 2–5 capital letters, e.g. `BPA`.",
            ),
            key(
                "process",
                Ty::Obj(&PROCESS),
                "Was nach dem Absenden geschieht.",
                "What happens after sending.",
            ),
            key(
                "retention",
                Ty::Obj(&RETENTION),
                "Wie lange Anträge nach ihrem Endstand aufbewahrt werden (Löschfrist nach DSGVO); sonst gilt die Vorgabe der Kommune.",
                "How long submissions are kept after their final state (erasure period, GDPR); otherwise the municipality's default applies.",
            ),
        ]
    };
}

const METADATA: [Key; 13] = metadata_keys!();

pub static SERVICE: Obj = Obj {
    name: "service",
    what_de: "Dienst",
    what_en: "service",
    base: None,
    keys: &{
        let m = METADATA;
        [
            req(
                "service",
                Ty::Id,
                "Name des Dienstes, eindeutig im Katalog; Teil der Adresse.",
                "The service's name, unique in the catalog; part of its address.",
            ),
            req(
                "version",
                Ty::Version,
                "Version, z. B. `1.2.0`.",
                "Version, e.g. `1.2.0`.",
            ),
            key(
                "leika",
                Ty::Leika,
                "FIM-Leistungsschlüssel (14 Ziffern, in Anführungszeichen). Nur einen echten Schlüssel angeben.",
                "FIM service key (14 digits, quoted). Only ever a real key.",
            ),
            Key { required: true, ..m[0] },
            m[1],
            m[2],
            m[3],
            m[4],
            m[5],
            m[6],
            m[7],
            m[8],
            m[9],
            m[10],
            m[11],
            m[12],
            key(
                "lists",
                Ty::MapOf(&Ty::List(&Ty::Obj(&OPTION))),
                "Auswahllisten, einmal definiert und per `list:` verwendet.",
                "Option lists, defined once and used with `list:`.",
            ),
            key(
                "groups",
                Ty::MapOf(&Ty::Obj(&GROUP)),
                "Wiederverwendbare Feldgruppen (Anschrift, Person), per `use:` verwendet.",
                "Reusable field groups (an address, a person), used with `use:`.",
            ),
            req(
                "steps",
                Ty::List(&Ty::Obj(&STEP)),
                "Die Schritte (Seiten) des Formulars.",
                "The form's steps (pages).",
            ),
            key(
                "computed",
                Ty::List(&Ty::Obj(&COMPUTED)),
                "Berechnete Werte.",
                "Computed values.",
            ),
            key(
                "rules",
                Ty::List(&Ty::Obj(&RULE)),
                "Regeln über mehrere Felder.",
                "Rules across fields.",
            ),
            key("fees", Ty::List(&Ty::Obj(&FEE)), "Gebühren.", "Fees."),
            key(
                "tests",
                Ty::List(&Ty::Obj(&TEST)),
                "Tests des Dienstes (`baukasten test`).",
                "The service's tests (`baukasten test`).",
            ),
        ]
    },
};

pub static OVERRIDE: Obj = Obj {
    name: "override",
    what_de: "Überschreibung",
    what_en: "override",
    base: None,
    keys: &[
        key(
            "lists",
            Ty::MapOf(&Ty::List(&Ty::Obj(&OPTION))),
            "Ersetzt Listen des Basisdienstes ganz.",
            "Replaces lists of the base service wholesale.",
        ),
        key(
            "fields",
            Ty::MapOf(&Ty::Patch(&FIELD)),
            "Ändert Felder des Basisdienstes: Feld (Pfad) → geänderte Schlüssel.",
            "Changes fields of the base service: field (path) → changed keys.",
        ),
        key(
            "steps",
            Ty::MapOf(&Ty::Patch(&STEP)),
            "Ändert Schritte (ohne ihre Felder): Schritt → geänderte Schlüssel.",
            "Changes steps (not their fields): step → changed keys.",
        ),
        key(
            "computed",
            Ty::MapOf(&Ty::Patch(&COMPUTED)),
            "Ändert berechnete Werte.",
            "Changes computed values.",
        ),
        key(
            "rules",
            Ty::MapOf(&Ty::Patch(&RULE)),
            "Ändert Regeln (mit `id`).",
            "Changes rules (that have an `id`).",
        ),
        key(
            "fees",
            Ty::MapOf(&Ty::Patch(&FEE)),
            "Ändert Gebühren (mit `id`).",
            "Changes fees (that have an `id`).",
        ),
    ],
};

pub static ADD: Obj = Obj {
    name: "add",
    what_de: "Ergänzung",
    what_en: "addition",
    base: None,
    keys: &[
        key(
            "lists",
            Ty::MapOf(&Ty::List(&Ty::Obj(&OPTION))),
            "Neue Listen.",
            "New lists.",
        ),
        key(
            "groups",
            Ty::MapOf(&Ty::Obj(&GROUP)),
            "Neue Feldgruppen.",
            "New field groups.",
        ),
        key("steps", Ty::List(&Ty::Obj(&ADDED_STEP)), "Neue Schritte.", "New steps."),
        key(
            "fields",
            Ty::List(&Ty::Obj(&ADDED_FIELD)),
            "Neue Felder, mit `to` und `after`.",
            "New fields, with `to` and `after`.",
        ),
        key(
            "computed",
            Ty::List(&Ty::Obj(&COMPUTED)),
            "Neue berechnete Werte.",
            "New computed values.",
        ),
        key("rules", Ty::List(&Ty::Obj(&RULE)), "Neue Regeln.", "New rules."),
        key("fees", Ty::List(&Ty::Obj(&FEE)), "Neue Gebühren.", "New fees."),
        key("tests", Ty::List(&Ty::Obj(&TEST)), "Weitere Tests.", "Further tests."),
    ],
};

pub static OVERLAY: Obj = Obj {
    name: "overlay",
    what_de: "Overlay einer Kommune",
    what_en: "municipality overlay",
    base: None,
    keys: &{
        let m = METADATA;
        [
            req(
                "extends",
                Ty::Id,
                "Der gemeinsame Dienst (EfA), den diese Kommune nachnutzt.",
                "The shared (EfA) service this municipality reuses.",
            ),
            key(
                "version",
                Ty::Version,
                "Version der Anpassung.",
                "Version of the adaptation.",
            ),
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5],
            m[6],
            m[7],
            m[8],
            m[9],
            m[10],
            m[11],
            m[12],
            key(
                "override",
                Ty::Obj(&OVERRIDE),
                "Was die Kommune anders macht.",
                "What the municipality does differently.",
            ),
            key(
                "add",
                Ty::Obj(&ADD),
                "Was die Kommune hinzufügt.",
                "What the municipality adds.",
            ),
        ]
    },
};

pub static CONTACT: Obj = Obj {
    name: "contact",
    what_de: "Kontakt",
    what_en: "contact",
    base: None,
    keys: &[
        key(
            "office",
            Ty::Text,
            "Name der zuständigen Stelle, z. B. „Bürgerbüro“.",
            "Name of the office, e.g. “Bürgerbüro”.",
        ),
        key("address", Ty::Text, "Anschrift der Stelle.", "The office's address."),
        key("email", Ty::Str, "E-Mail-Adresse.", "E-mail address."),
        key("phone", Ty::Str, "Telefonnummer.", "Telephone number."),
        key("hours", Ty::Text, "Öffnungszeiten.", "Opening hours."),
    ],
};

pub static LINKS: Obj = Obj {
    name: "links",
    what_de: "Pflichtlinks",
    what_en: "links",
    base: None,
    keys: &[
        req(
            "impressum",
            Ty::Str,
            "Adresse des Impressums.",
            "Address of the legal notice (Impressum).",
        ),
        req(
            "datenschutz",
            Ty::Str,
            "Adresse der Datenschutzerklärung.",
            "Address of the privacy policy.",
        ),
        req(
            "barrierefreiheit",
            Ty::Str,
            "Adresse der Erklärung zur Barrierefreiheit.",
            "Address of the accessibility statement.",
        ),
    ],
};

pub static THEME: Obj = Obj {
    name: "theme",
    what_de: "Gestaltung",
    what_en: "theme",
    base: None,
    keys: &[
        key(
            "logo",
            Ty::Str,
            "Pfad oder Adresse des Logos.",
            "Path or address of the logo.",
        ),
        key(
            "logo_alt",
            Ty::Text,
            "Alternativtext des Logos.",
            "Alternative text of the logo.",
        ),
        key(
            "primary_color",
            Ty::Str,
            "Hauptfarbe als #rrggbb.",
            "Main colour as #rrggbb.",
        ),
        key(
            "accent_color",
            Ty::Str,
            "Akzentfarbe als #rrggbb.",
            "Accent colour as #rrggbb.",
        ),
    ],
};

pub static TENANT: Obj = Obj {
    name: "tenant",
    what_de: "Kommune",
    what_en: "municipality",
    base: None,
    keys: &[
        req(
            "tenant",
            Ty::Id,
            "Kurzname der Kommune; Teil der Adressen.",
            "Short name of the municipality; part of addresses.",
        ),
        req(
            "name",
            Ty::Text,
            "Name der Kommune, z. B. „Stadt Musterstadt“.",
            "Name, e.g. “Stadt Musterstadt”.",
        ),
        key(
            "contact",
            Ty::Obj(&CONTACT),
            "Kontakt und zuständige Stelle.",
            "Contact and office.",
        ),
        req(
            "links",
            Ty::Obj(&LINKS),
            "Impressum, Datenschutz, Barrierefreiheit.",
            "Legal notice, privacy, accessibility.",
        ),
        key("theme", Ty::Obj(&THEME), "Logo und Farben.", "Logo and colours."),
        key(
            "retention",
            Ty::Obj(&RETENTION),
            "Vorgabe für die Aufbewahrung nach dem Endstand, für Dienste ohne eigenes `retention`.",
            "Default retention after the final state, for services without their own `retention`.",
        ),
    ],
};

/// Every object of the language, for the JSON Schema's `$defs` and for the docs test.
pub static ALL: &[&Obj] = &[
    &SERVICE,
    &OVERLAY,
    &TENANT,
    &OPTION,
    &FIELD,
    &ADDED_FIELD,
    &GROUP,
    &CATALOG_GROUP,
    &FIM,
    &STEP,
    &ADDED_STEP,
    &COMPUTED,
    &RULE,
    &FEE,
    &STATE,
    &TRANSITION,
    &DELIVERY,
    &PROCESS,
    &RETENTION,
    &TEST,
    &EXPECT,
    &OVERRIDE,
    &ADD,
    &CONTACT,
    &LINKS,
    &THEME,
];

/// The JSON Schema (draft 2020-12) of a catalog file: a service, an overlay, a tenant or a
/// catalog field group.
pub fn json_schema() -> Value {
    let mut defs = Map::new();
    for obj in ALL {
        defs.insert(obj.name.to_string(), obj_schema(obj, false));
        defs.insert(format!("{}_patch", obj.name), obj_schema(obj, true));
    }
    defs.insert(
        "text".into(),
        json!({
            "description": "Ein Text: ein einfacher String ist Deutsch; eine Zuordnung {de: …, en: …} gibt Übersetzungen. / A text: a plain string is German; a map {de: …, en: …} gives translations.",
            "anyOf": [
                {"type": "string"},
                {"type": "object", "required": ["de"], "additionalProperties": {"type": "string"},
                 "propertyNames": {"enum": LANGUAGES}}
            ]
        }),
    );
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://baukasten.example/schema/dsl.json",
        "title": "Baukasten service definition",
        "description": "Ein Dienst, ein Overlay einer Kommune (`extends`), eine Kommune (tenant.yaml) oder eine Feldgruppe des Katalogs (`group`). / A service, a municipality overlay (`extends`), a municipality (tenant.yaml) or a catalog field group (`group`).",
        "anyOf": [
            {"$ref": "#/$defs/service"},
            {"$ref": "#/$defs/overlay"},
            {"$ref": "#/$defs/tenant"},
            {"$ref": "#/$defs/catalog_group"}
        ],
        "$defs": defs,
    })
}

fn obj_schema(obj: &Obj, patch: bool) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for k in obj.all_keys() {
        let mut schema = ty_schema(&k.ty);
        if let Value::Object(map) = &mut schema {
            map.insert("description".into(), Value::String(format!("{} / {}", k.de, k.en)));
        }
        properties.insert(k.name.to_string(), schema);
        if k.required && !patch {
            required.push(Value::String(k.name.to_string()));
        }
    }
    json!({
        "type": "object",
        "description": format!("{} / {}", obj.what_de, obj.what_en),
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn ty_schema(ty: &Ty) -> Value {
    match ty {
        Ty::Str => json!({"type": "string"}),
        Ty::Text => json!({"$ref": "#/$defs/text"}),
        Ty::Bool => json!({"type": "boolean"}),
        Ty::Int => json!({"type": "integer", "minimum": 0}),
        Ty::Number => json!({"anyOf": [{"type": "number"}, {"type": "string", "pattern": "^-?[0-9]+([.,][0-9]+)?$"}]}),
        Ty::Bound => json!({"anyOf": [
            {"type": "number"},
            {"type": "string", "pattern": "^(today|[-+][0-9]+[dmy]|[0-9]{4}-[0-9]{2}-[0-9]{2}|-?[0-9]+([.,][0-9]+)?)$"}
        ]}),
        Ty::Date => json!({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}),
        Ty::Expr => json!({"type": ["string", "boolean", "number"]}),
        Ty::Id => json!({"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}),
        Ty::Version => json!({"type": "string", "pattern": "^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$"}),
        Ty::Leika => json!({"anyOf": [
            {"type": "string", "pattern": "^[0-9]{14}$"},
            {"type": "integer", "minimum": 10_000_000_000_000_i64, "maximum": 99_999_999_999_999_i64}
        ]}),
        Ty::Size => json!({"type": "string", "pattern": "^[0-9]+ ?(B|KB|MB)$"}),
        Ty::Days => json!({"type": "string", "pattern": "^[1-9][0-9]{0,3}d$"}),
        Ty::FimId => json!({"type": "string", "pattern": FIM_ID_PATTERN}),
        Ty::FimVersion => json!({"type": "string", "pattern": FIM_VERSION_PATTERN}),
        Ty::Enum(words) => json!({"type": "string", "enum": words}),
        Ty::List(item) => json!({"type": "array", "items": ty_schema(item)}),
        Ty::MapOf(value) => json!({"type": "object", "additionalProperties": ty_schema(value)}),
        Ty::Obj(obj) => json!({"$ref": format!("#/$defs/{}", obj.name)}),
        Ty::Patch(obj) => json!({"$ref": format!("#/$defs/{}_patch", obj.name)}),
        Ty::OneOf(tys) => json!({"anyOf": tys.iter().map(ty_schema).collect::<Vec<_>>()}),
        Ty::Any => json!({}),
    }
}
