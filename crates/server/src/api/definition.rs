//! The service definition as `GET /api/v1/services/{tenant}/{service}` serves it.
//!
//! These types are the API's, not the model's: the model (`baukasten_dsl::model`) may rename
//! or add things for the language's sake, and only a change here changes what integrators
//! read. Every type maps from the model in one `From`; a field added to the model reaches the
//! API only when it is added here. The recorded traffic (`tests/it/recorded.rs`) holds a
//! snapshot of every catalog service's definition, so a change of shape shows as a diff.
//!
//! Texts are objects by language (`{"de": "…", "en": "…"}`, German always present except in
//! the empty label of an `info` field);
//! expressions are objects with their `source` as written in the service file.

use std::collections::BTreeMap;

use baukasten_dsl::model;
use serde::Serialize;
use utoipa::ToSchema;

use crate::catalog::Offer;

/// A text by language code; `de` is always there, except in the empty label of an `info` field.
pub type Text = BTreeMap<String, String>;

/// A text by language code: `{"de": "…", "en": "…"}`. (The schema of [`Text`] in the OpenAPI
/// document: a named object, which client generators turn into a type, where a bare map
/// would leave them guessing.)
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LocalizedText {
    /// German: always there, except in the label of an `info` field, which is `{}`.
    pub de: Option<String>,
    pub en: Option<String>,
}

/// An expression of the service language, as written.
#[derive(Debug, Serialize, ToSchema)]
pub struct Expression {
    /// E.g. `halter == "firma"`.
    pub source: String,
}

/// A service as one municipality offers it: its steps and fields, conditions, computed
/// values, rules, fees and process. The clerk's `tests:` are not part of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Definition {
    pub id: String,
    /// The municipality offering the service.
    pub tenant: String,
    /// Semantic version of the service, e.g. `1.2.0`.
    pub version: String,
    /// The FIM Leistungsschlüssel (14 digits), where one is known.
    pub leika: Option<String>,
    #[schema(value_type = LocalizedText)]
    pub title: Text,
    #[schema(value_type = Option<LocalizedText>)]
    pub description: Option<Text>,
    pub keywords: Vec<String>,
    /// The languages the service is offered in, German first.
    pub languages: Vec<String>,
    #[schema(value_type = Option<LocalizedText>)]
    pub duration: Option<Text>,
    #[schema(value_type = Vec<LocalizedText>)]
    pub requirements: Vec<Text>,
    #[schema(value_type = Option<LocalizedText>)]
    pub privacy: Option<Text>,
    /// The declaration a citizen confirms before sending, if any.
    #[schema(value_type = Option<LocalizedText>)]
    pub declaration: Option<Text>,
    /// What happens after sending, in the service's words, if it says so.
    #[schema(value_type = Option<LocalizedText>)]
    pub next_steps: Option<Text>,
    /// The first part of reference numbers, where the service declares one.
    pub reference_prefix: Option<String>,
    /// Shared option lists by name.
    pub lists: BTreeMap<String, Vec<ChoiceOption>>,
    pub steps: Vec<Step>,
    pub computed: Vec<Computed>,
    pub rules: Vec<Rule>,
    pub fees: Vec<Fee>,
    pub process: Process,
    /// The hash of the compiled definition; submissions name the one they were checked against.
    pub definition_hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChoiceOption {
    pub value: String,
    #[schema(value_type = LocalizedText)]
    pub label: Text,
    #[schema(value_type = Option<LocalizedText>)]
    pub hint: Option<Text>,
}

/// One page of the form.
#[derive(Debug, Serialize, ToSchema)]
pub struct Step {
    pub id: String,
    #[schema(value_type = LocalizedText)]
    pub title: Text,
    #[schema(value_type = Option<LocalizedText>)]
    pub description: Option<Text>,
    pub visible_if: Option<Expression>,
    pub required_if: Option<Expression>,
    pub fields: Vec<Field>,
}

/// A question; a group or repeat holds further fields in its `kind`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Field {
    pub id: String,
    pub kind: FieldKind,
    #[schema(value_type = LocalizedText)]
    pub label: Text,
    #[schema(value_type = Option<LocalizedText>)]
    pub hint: Option<Text>,
    pub required: bool,
    pub required_if: Option<Expression>,
    pub visible_if: Option<Expression>,
    pub constraints: Constraints,
    /// The HTML `autocomplete` token, e.g. `given-name`.
    pub autocomplete: Option<String>,
}

/// Limits on a field's value; which apply depends on the kind.
#[derive(Debug, Serialize, ToSchema)]
pub struct Constraints {
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub min: Option<Bound>,
    pub max: Option<Bound>,
    pub pattern: Option<Pattern>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Pattern {
    /// A regular expression the whole answer must match.
    pub regex: String,
    #[schema(value_type = LocalizedText)]
    pub message: Text,
}

/// A bound of `min` or `max`: a decimal number as written, an ISO date, or days from today.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    Number(String),
    Date(String),
    DaysFromToday(i64),
    /// Calendar months from today (`-18y` is -216).
    MonthsFromToday(i64),
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Widget {
    Radio,
    Select,
    Checkboxes,
}

/// The kind of a field (`type`), with what belongs to that kind.
#[derive(Debug, Serialize, ToSchema)]
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
        /// Allowed kinds of file, e.g. `pdf`, `jpeg`.
        accept: Vec<String>,
        /// Largest size in bytes.
        max_size: Option<u64>,
    },
    Info {
        #[schema(value_type = LocalizedText)]
        text: Text,
    },
    Plz,
    Iban,
    SteuerId,
    KfzKennzeichen,
    Group {
        #[schema(no_recursion)]
        fields: Vec<Field>,
    },
    Repeat {
        #[schema(no_recursion)]
        fields: Vec<Field>,
        min_items: Option<u32>,
        max_items: Option<u32>,
        #[schema(value_type = Option<LocalizedText>)]
        item_label: Option<Text>,
    },
}

/// A value computed from the answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Computed {
    pub id: String,
    pub value: Expression,
    /// `text`, `integer`, `decimal`, `money`, `date` or `bool`, where declared.
    pub value_type: Option<String>,
    #[schema(value_type = Option<LocalizedText>)]
    pub label: Option<Text>,
}

/// A check across answers; `id` is also the error code it reports at `field`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rule {
    pub id: Option<String>,
    pub check: Expression,
    pub field: String,
    #[schema(value_type = LocalizedText)]
    pub message: Text,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Fee {
    pub id: Option<String>,
    #[schema(value_type = LocalizedText)]
    pub label: Text,
    pub amount: Expression,
    pub condition: Option<Expression>,
}

/// What happens after sending: the states, the allowed moves, and the deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct Process {
    pub states: Vec<State>,
    pub transitions: Vec<Transition>,
    pub deliver: Vec<Delivery>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct State {
    pub id: String,
    #[schema(value_type = Option<LocalizedText>)]
    pub label: Option<Text>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Transition {
    pub from: String,
    pub to: String,
    #[schema(value_type = Option<LocalizedText>)]
    pub label: Option<Text>,
}

/// Where a submission goes: `{"webhook": name}`, `{"email": address}` or
/// `{"fit_connect": destination}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Webhook(String),
    Email(String),
    FitConnect(String),
}

impl Definition {
    /// The definition of a service as one municipality offers it.
    pub fn of(offer: &Offer) -> Self {
        let s = offer.service();
        Definition {
            id: s.id.clone(),
            tenant: offer.tenant.id.clone(),
            version: s.version.clone(),
            leika: s.leika.clone(),
            title: text(&s.title),
            description: s.description.as_ref().map(text),
            keywords: s.keywords.clone(),
            languages: s.languages.clone(),
            duration: s.duration.as_ref().map(text),
            requirements: s.requirements.iter().map(text).collect(),
            privacy: s.privacy.as_ref().map(text),
            declaration: s.declaration.as_ref().map(text),
            next_steps: s.next_steps.as_ref().map(text),
            reference_prefix: s.reference_prefix.clone(),
            lists: s
                .lists
                .iter()
                .map(|(name, options)| (name.clone(), options.iter().map(ChoiceOption::from).collect()))
                .collect(),
            steps: s.steps.iter().map(Step::from).collect(),
            computed: s.computed.iter().map(Computed::from).collect(),
            rules: s.rules.iter().map(Rule::from).collect(),
            fees: s.fees.iter().map(Fee::from).collect(),
            process: Process::from(&s.process),
            definition_hash: offer.compiled.definition_hash().to_string(),
        }
    }
}

fn text(t: &model::Text) -> Text {
    t.0.clone()
}

fn expression(e: &model::Expr) -> Expression {
    Expression {
        source: e.source.clone(),
    }
}

impl From<&model::ChoiceOption> for ChoiceOption {
    fn from(o: &model::ChoiceOption) -> Self {
        ChoiceOption {
            value: o.value.clone(),
            label: text(&o.label),
            hint: o.hint.as_ref().map(text),
        }
    }
}

impl From<&model::Step> for Step {
    fn from(s: &model::Step) -> Self {
        Step {
            id: s.id.clone(),
            title: text(&s.title),
            description: s.description.as_ref().map(text),
            visible_if: s.visible_if.as_ref().map(expression),
            required_if: s.required_if.as_ref().map(expression),
            fields: s.fields.iter().map(Field::from).collect(),
        }
    }
}

impl From<&model::Field> for Field {
    fn from(f: &model::Field) -> Self {
        Field {
            id: f.id.clone(),
            kind: FieldKind::from(&f.kind),
            label: text(&f.label),
            hint: f.hint.as_ref().map(text),
            required: f.required,
            required_if: f.required_if.as_ref().map(expression),
            visible_if: f.visible_if.as_ref().map(expression),
            constraints: Constraints::from(&f.constraints),
            autocomplete: f.autocomplete.clone(),
        }
    }
}

impl From<&model::Constraints> for Constraints {
    fn from(c: &model::Constraints) -> Self {
        Constraints {
            min_length: c.min_length,
            max_length: c.max_length,
            min: c.min.as_ref().map(Bound::from),
            max: c.max.as_ref().map(Bound::from),
            pattern: c.pattern.as_ref().map(|p| Pattern {
                regex: p.regex.clone(),
                message: text(&p.message),
            }),
        }
    }
}

impl From<&model::Bound> for Bound {
    fn from(b: &model::Bound) -> Self {
        match b {
            model::Bound::Number(n) => Bound::Number(n.clone()),
            model::Bound::Date(d) => Bound::Date(d.clone()),
            model::Bound::DaysFromToday(d) => Bound::DaysFromToday(*d),
            model::Bound::MonthsFromToday(m) => Bound::MonthsFromToday(*m),
        }
    }
}

impl From<&model::Widget> for Widget {
    fn from(w: &model::Widget) -> Self {
        match w {
            model::Widget::Radio => Widget::Radio,
            model::Widget::Select => Widget::Select,
            model::Widget::Checkboxes => Widget::Checkboxes,
        }
    }
}

impl From<&model::FieldKind> for FieldKind {
    fn from(k: &model::FieldKind) -> Self {
        use model::FieldKind as M;
        let fields = |fields: &[model::Field]| fields.iter().map(Field::from).collect();
        match k {
            M::Text => FieldKind::Text,
            M::Textarea => FieldKind::Textarea,
            M::Integer => FieldKind::Integer,
            M::Decimal => FieldKind::Decimal,
            M::Money => FieldKind::Money,
            M::Date => FieldKind::Date,
            M::Email => FieldKind::Email,
            M::Phone => FieldKind::Phone,
            M::Choice { options, list, widget } => FieldKind::Choice {
                options: options.iter().map(ChoiceOption::from).collect(),
                list: list.clone(),
                widget: Widget::from(widget),
            },
            M::YesNo => FieldKind::YesNo,
            M::Consent => FieldKind::Consent,
            M::File { accept, max_size } => FieldKind::File {
                accept: accept.clone(),
                max_size: *max_size,
            },
            M::Info { text: t } => FieldKind::Info { text: text(t) },
            M::Plz => FieldKind::Plz,
            M::Iban => FieldKind::Iban,
            M::SteuerId => FieldKind::SteuerId,
            M::KfzKennzeichen => FieldKind::KfzKennzeichen,
            M::Group { fields: members } => FieldKind::Group {
                fields: fields(members),
            },
            M::Repeat {
                fields: members,
                min_items,
                max_items,
                item_label,
            } => FieldKind::Repeat {
                fields: fields(members),
                min_items: *min_items,
                max_items: *max_items,
                item_label: item_label.as_ref().map(text),
            },
        }
    }
}

impl From<&model::Computed> for Computed {
    fn from(c: &model::Computed) -> Self {
        Computed {
            id: c.id.clone(),
            value: expression(&c.value),
            value_type: c.value_type.as_ref().map(|t| {
                match t {
                    model::ValueType::Text => "text",
                    model::ValueType::Integer => "integer",
                    model::ValueType::Decimal => "decimal",
                    model::ValueType::Money => "money",
                    model::ValueType::Date => "date",
                    model::ValueType::Bool => "bool",
                }
                .to_string()
            }),
            label: c.label.as_ref().map(text),
        }
    }
}

impl From<&model::Rule> for Rule {
    fn from(r: &model::Rule) -> Self {
        Rule {
            id: r.id.clone(),
            check: expression(&r.check),
            field: r.field.clone(),
            message: text(&r.message),
        }
    }
}

impl From<&model::Fee> for Fee {
    fn from(f: &model::Fee) -> Self {
        Fee {
            id: f.id.clone(),
            label: text(&f.label),
            amount: expression(&f.amount),
            condition: f.condition.as_ref().map(expression),
        }
    }
}

impl From<&model::Process> for Process {
    fn from(p: &model::Process) -> Self {
        Process {
            states: p
                .states
                .iter()
                .map(|s| State {
                    id: s.id.clone(),
                    label: s.label.as_ref().map(text),
                })
                .collect(),
            transitions: p
                .transitions
                .iter()
                .map(|t| Transition {
                    from: t.from.clone(),
                    to: t.to.clone(),
                    label: t.label.as_ref().map(text),
                })
                .collect(),
            deliver: p
                .deliver
                .iter()
                .map(|d| match d {
                    model::Delivery::Webhook(name) => Delivery::Webhook(name.clone()),
                    model::Delivery::Email(to) => Delivery::Email(to.clone()),
                    model::Delivery::FitConnect(id) => Delivery::FitConnect(id.clone()),
                })
                .collect(),
        }
    }
}
