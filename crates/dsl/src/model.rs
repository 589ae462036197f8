//! The typed model of a service, as the reader builds it from YAML.
//!
//! The model is plain data: the engine compiles it, the renderer shows it, the server serves it.
//! Every item that a later stage may need to blame keeps the [`Span`] it was read from. Shared
//! field groups (`use:`) are already expanded here, and overlays are already merged, so later
//! stages never see either indirection.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::source::Span;
use crate::yaml::Node;

/// A text for people, in German and any translations. `de` is always present.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Text(pub BTreeMap<String, String>);

impl Text {
    pub fn german(text: impl Into<String>) -> Self {
        Self(BTreeMap::from([("de".to_string(), text.into())]))
    }

    /// The text in `lang`, falling back to German where no translation exists.
    pub fn get(&self, lang: &str) -> &str {
        self.0
            .get(lang)
            .or_else(|| self.0.get("de"))
            .map(String::as_str)
            .unwrap_or("")
    }

    pub fn has(&self, lang: &str) -> bool {
        self.0.contains_key(lang)
    }
}

/// An expression as written, with its place. The engine compiles it; the checker has made sure
/// it parses and names only what is in scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expr {
    pub source: String,
    #[serde(skip)]
    pub span: Span,
}

/// One service of the catalog: a shared service, or a municipality's merged overlay of one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    pub id: String,
    /// The municipality whose overlay this is; `None` for a shared service.
    pub tenant: Option<String>,
    pub version: String,
    pub leika: Option<String>,
    pub title: Text,
    pub description: Option<Text>,
    pub keywords: Vec<String>,
    /// Declared languages, German first.
    pub languages: Vec<String>,
    pub duration: Option<Text>,
    pub requirements: Vec<Text>,
    pub privacy: Option<Text>,
    pub declaration: Option<Text>,
    /// What happens after sending, shown on the confirmation page. Left out of the serialised
    /// form when absent, so definitions written before it keep their hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_steps: Option<Text>,
    /// The path of the e-mail field whose address gets the confirmation of receipt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation_email: Option<Named>,
    pub reference_prefix: Option<String>,
    /// How long submissions are kept once they reach a final state. Not serialised, so not
    /// part of the definition's hash: a period is a municipality's current decision about data
    /// it holds, applied to every submission of the service, not a property of the form a
    /// citizen filled in (the municipality's default, [`Tenant::retention`], is not pinned
    /// either).
    #[serde(skip)]
    pub retention: Option<Retention>,
    pub lists: BTreeMap<String, Vec<ChoiceOption>>,
    pub steps: Vec<Step>,
    pub computed: Vec<Computed>,
    pub rules: Vec<Rule>,
    pub fees: Vec<Fee>,
    pub process: Process,
    pub tests: Vec<TestCase>,
    #[serde(skip)]
    pub span: Span,
}

impl Service {
    /// Every field of the service with its dotted path (`antragsteller.vorname`), depth first in
    /// step order. Fields inside a repeat appear with the repeat's path as prefix.
    pub fn fields(&self) -> Vec<(String, &Field)> {
        fn walk<'a>(prefix: &str, fields: &'a [Field], out: &mut Vec<(String, &'a Field)>) {
            for field in fields {
                let path = if prefix.is_empty() {
                    field.id.clone()
                } else {
                    format!("{prefix}.{}", field.id)
                };
                if let Some(children) = field.kind.children() {
                    walk(&path, children, out);
                }
                out.push((path, field));
            }
        }
        let mut out = Vec::new();
        for step in &self.steps {
            walk("", &step.fields, &mut out);
        }
        out
    }

    /// The field at a dotted path, if there is one.
    pub fn field(&self, path: &str) -> Option<&Field> {
        let mut parts = path.split('.');
        let first = parts.next()?;
        let mut field = self.steps.iter().flat_map(|s| &s.fields).find(|f| f.id == first)?;
        for part in parts {
            field = field.kind.children()?.iter().find(|f| f.id == part)?;
        }
        Some(field)
    }

    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChoiceOption {
    pub value: String,
    pub label: Text,
    pub hint: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub id: String,
    pub title: Text,
    pub description: Option<Text>,
    pub visible_if: Option<Expr>,
    pub required_if: Option<Expr>,
    pub fields: Vec<Field>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    pub id: String,
    pub kind: FieldKind,
    pub label: Text,
    pub hint: Option<Text>,
    pub required: bool,
    pub required_if: Option<Expr>,
    pub visible_if: Option<Expr>,
    pub constraints: Constraints,
    pub autocomplete: Option<String>,
    /// The FIM data field (or, on a group field, data field group) this field stands for, as an
    /// import from XDatenfelder keeps it so an export can write the id back. Left out of the
    /// serialised form when absent, so definitions without one keep their hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fim: Option<FimRef>,
    /// The field group a `group` or `repeat` field took its fields from with `use:` (its
    /// `fields` are already expanded), so an exporter can write a group used twice once.
    /// `None` for a field with fields of its own, and for one whose group an overlay changed.
    /// Not serialised: where the fields came from changes nothing a citizen fills in, so
    /// moving a service's group into a group file of the catalog keeps the definition's hash.
    #[serde(skip)]
    pub uses: Option<UsedGroup>,
    #[serde(skip)]
    pub span: Span,
}

/// A FIM element and its version, written `fim: { id: F60000001, version: "1.0" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FimRef {
    /// The element's id: a capital letter and digits (`F…` a data field, `G…` a group).
    pub id: String,
    /// The element's version: `1.0` or `1.2.3`; `None` where FIM gives none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The field group named by a field's `use:`: the service's own (`groups:`) or the catalog's
/// (a group file).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsedGroup {
    pub name: String,
    /// The group's own label (the field may have another).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fim: Option<FimRef>,
    /// Whether it is a catalog group (from its own file) rather than one under `groups:`.
    pub shared: bool,
}

/// Limits on a field's value. Which apply depends on the field's kind; the checker refuses the
/// ones that do not.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Constraints {
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub min: Option<Bound>,
    pub max: Option<Bound>,
    pub pattern: Option<Pattern>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pattern {
    pub regex: String,
    pub message: Text,
}

/// A bound of a `min` or `max`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// A decimal number, as written (`"30.70"`, `"-5"`).
    Number(String),
    /// An ISO date.
    Date(String),
    /// A number of days from today: `today` is 0, `-14d` is -14.
    DaysFromToday(i64),
    /// A number of calendar months from today: `-3m` is -3, `+1y` is 12. A day that the
    /// target month lacks becomes its last day (31 March − 1 month is 28 or 29 February).
    MonthsFromToday(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Widget {
    Radio,
    Select,
    Checkboxes,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Textarea,
    Integer,
    Decimal,
    Money,
    Date,
    Email,
    Phone,
    Choice {
        options: Vec<ChoiceOption>,
        /// The shared list the options came from, if any.
        list: Option<String>,
        widget: Widget,
    },
    YesNo,
    Consent,
    File {
        accept: Vec<String>,
        max_size: Option<u64>,
    },
    Info {
        text: Text,
    },
    Plz,
    Iban,
    SteuerId,
    KfzKennzeichen,
    Group {
        fields: Vec<Field>,
    },
    Repeat {
        fields: Vec<Field>,
        min_items: Option<u32>,
        max_items: Option<u32>,
        item_label: Option<Text>,
    },
}

impl FieldKind {
    /// The fields inside a group or a repeat.
    pub fn children(&self) -> Option<&[Field]> {
        match self {
            FieldKind::Group { fields } | FieldKind::Repeat { fields, .. } => Some(fields),
            _ => None,
        }
    }

    /// The name of the kind, as written after `type:`.
    pub fn name(&self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Textarea => "textarea",
            FieldKind::Integer => "integer",
            FieldKind::Decimal => "decimal",
            FieldKind::Money => "money",
            FieldKind::Date => "date",
            FieldKind::Email => "email",
            FieldKind::Phone => "phone",
            FieldKind::Choice { .. } => "choice",
            FieldKind::YesNo => "yes_no",
            FieldKind::Consent => "consent",
            FieldKind::File { .. } => "file",
            FieldKind::Info { .. } => "info",
            FieldKind::Plz => "plz",
            FieldKind::Iban => "iban",
            FieldKind::SteuerId => "steuer_id",
            FieldKind::KfzKennzeichen => "kfz_kennzeichen",
            FieldKind::Group { .. } => "group",
            FieldKind::Repeat { .. } => "repeat",
        }
    }

    /// Whether the kind is entered as free text (so `min_length`, `max_length`, `pattern` apply).
    pub fn is_textual(&self) -> bool {
        matches!(
            self,
            FieldKind::Text
                | FieldKind::Textarea
                | FieldKind::Email
                | FieldKind::Phone
                | FieldKind::Plz
                | FieldKind::Iban
                | FieldKind::SteuerId
                | FieldKind::KfzKennzeichen
        )
    }

    /// Whether the answer is an uploaded file.
    pub fn is_file(&self) -> bool {
        matches!(self, FieldKind::File { .. })
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, FieldKind::Integer | FieldKind::Decimal | FieldKind::Money)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    Text,
    Integer,
    Decimal,
    Money,
    Date,
    Bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Computed {
    pub id: String,
    pub value: Expr,
    pub value_type: Option<ValueType>,
    pub label: Option<Text>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// The rule's name; also the error code it reports (`rule` where it has none).
    pub id: Option<String>,
    pub check: Expr,
    /// The dotted path of the field the message belongs to.
    pub field: String,
    pub message: Text,
    /// The expressions written as `{{ … }}` in the message, in every language, each once.
    /// The message shows their values when the rule fails. Read from `message`, so not
    /// serialised (the definition's hash stays that of its texts).
    #[serde(skip)]
    pub values: Vec<Expr>,
    #[serde(skip)]
    pub span: Span,
}

impl Rule {
    pub fn code(&self) -> &str {
        self.id.as_deref().unwrap_or("rule")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fee {
    pub id: Option<String>,
    pub label: Text,
    pub amount: Expr,
    pub condition: Option<Expr>,
    #[serde(skip)]
    pub span: Span,
}

/// How long the personal data of a submission is kept after it reached a final state of its
/// process (see [`Process::is_final`]): `retention: { after_final_state: 180d }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Retention {
    /// Days, 1 to [`MAX_RETENTION_DAYS`].
    pub after_final_state_days: u32,
    /// Where `after_final_state` is written (for an overlay's period: in the overlay's file).
    #[serde(skip)]
    pub span: Span,
}

/// The longest retention period the language accepts: ten years, in days.
pub const MAX_RETENTION_DAYS: u32 = 3650;

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Process {
    pub states: Vec<State>,
    pub transitions: Vec<Transition>,
    pub deliver: Vec<Delivery>,
    /// Where each entry of `deliver` is written, for messages about its target.
    #[serde(skip)]
    pub deliver_spans: Vec<Span>,
}

impl Process {
    /// Whether `state` is final: a state a submission can be in from which the process allows
    /// no move to another state. The states a submission can be in are the declared ones, or
    /// only the engine's default initial state (`eingegangen`) where none are declared.
    ///
    /// - With `transitions`: a declared state that no transition leaves.
    /// - Without `transitions`, any declared state may follow any other, so none is final;
    ///   except where exactly one state is declared (or none): nothing can follow it, and a
    ///   submission is done as it arrives.
    ///
    /// The engine's `Lifecycle::allows` decides moves; this is its other side, kept here so
    /// that the checker can tell a clerk that a `retention` would never apply.
    pub fn is_final(&self, state: &str) -> bool {
        if self.states.is_empty() {
            return state == IMPLICIT_STATE;
        }
        if !self.states.iter().any(|s| s.id == state) {
            return false;
        }
        if self.transitions.is_empty() {
            self.states.len() == 1
        } else {
            // A transition back to the same state moves nothing.
            !self.transitions.iter().any(|t| t.from == state && t.to != state)
        }
    }

    /// Whether some state of the process is final (see [`Process::is_final`]).
    pub fn has_final_state(&self) -> bool {
        self.states.is_empty() || self.states.iter().any(|s| self.is_final(&s.id))
    }
}

/// The state of a submission whose service declares no states; the engine names it
/// `DEFAULT_INITIAL_STATE` and takes it from here.
pub const IMPLICIT_STATE: &str = "eingegangen";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct State {
    pub id: String,
    pub label: Option<Text>,
    /// The message a citizen gets by e-mail when the submission enters this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    pub from: String,
    pub to: String,
    pub label: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Webhook(String),
    Email(String),
    FitConnect(String),
}

impl Delivery {
    /// The channel as the language writes it: `webhook`, `email`, `fit_connect`.
    pub fn channel(&self) -> &'static str {
        match self {
            Delivery::Webhook(_) => "webhook",
            Delivery::Email(_) => "email",
            Delivery::FitConnect(_) => "fit_connect",
        }
    }

    /// The target: a webhook's name, an e-mail address, a FIT-Connect destination.
    pub fn target(&self) -> &str {
        match self {
            Delivery::Webhook(t) | Delivery::Email(t) | Delivery::FitConnect(t) => t,
        }
    }
}

/// One `tests:` entry: answers in, expectations out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestCase {
    pub name: String,
    /// A fixed date for `today()` (ISO), so tests of relative dates do not age.
    pub today: Option<String>,
    /// The answers as written. Use [`Node::to_json`] to get plain values.
    #[serde(serialize_with = "serialize_node")]
    pub answers: Node,
    pub expect: Expect,
    #[serde(skip)]
    pub span: Span,
}

fn serialize_node<S: serde::Serializer>(node: &Node, s: S) -> Result<S::Ok, S::Error> {
    node.to_json().serialize(s)
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Expect {
    pub visible: Vec<Named>,
    pub hidden: Vec<Named>,
    /// Field path → error code, in the order written.
    pub errors: Option<Vec<(Named, Named)>>,
    /// Fields that must have no error.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub no_errors: Vec<Named>,
    pub valid: Option<bool>,
    /// Computed value id → expected value.
    pub computed: Vec<(Named, serde_json::Value)>,
    /// The expected total, as a decimal string, with its place.
    pub fee_total: Option<Named>,
    pub path: Option<Vec<Named>>,
}

/// A name written in a test, with its place, so a failing expectation can point at its line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Named {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
}

/// A municipality, from its `tenant.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tenant {
    pub id: String,
    pub name: Text,
    pub contact: Contact,
    pub links: Links,
    pub theme: Theme,
    /// The default retention for the municipality's services that declare none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Contact {
    pub office: Option<Text>,
    pub address: Option<Text>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub hours: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Links {
    pub impressum: String,
    pub datenschutz: String,
    pub barrierefreiheit: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Theme {
    pub logo: Option<String>,
    pub logo_alt: Option<Text>,
    pub primary_color: Option<String>,
    pub accent_color: Option<String>,
}

/// Everything a catalog load produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalog {
    /// Shared services first, then each municipality's merged overlays.
    pub services: Vec<Service>,
    pub tenants: Vec<Tenant>,
    /// The catalog's shared field groups (group files), in file order. Services that use one
    /// have its fields already expanded; these are for exporters and tools.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<CatalogGroup>,
}

/// A field group of the whole catalog, from its own file (`group: anschrift`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogGroup {
    pub name: String,
    pub label: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fim: Option<FimRef>,
    pub fields: Vec<Field>,
    /// Where its name is written.
    #[serde(skip)]
    pub span: Span,
}

impl Catalog {
    /// The service `id` as municipality `tenant` offers it: its overlay if it has one, else the
    /// shared service.
    pub fn service(&self, tenant: Option<&str>, id: &str) -> Option<&Service> {
        let own = tenant.and_then(|t| {
            self.services
                .iter()
                .find(|s| s.id == id && s.tenant.as_deref() == Some(t))
        });
        own.or_else(|| self.services.iter().find(|s| s.id == id && s.tenant.is_none()))
    }
}
