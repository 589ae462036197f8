//! One evaluation of a citizen's answers: what is shown and required, the computed values and
//! fees, and every error with a stable code and a message.
//!
//! Semantics (docs/language.md, "Semantics"):
//! - A hidden step, group or field is not required, not validated, and its value is dropped
//!   from the clean submission; conditions and computed values read it as `none`. Because a
//!   condition may read a field that another condition hides, visibility is evaluated until it
//!   is stable (at most [`MAX_PASSES`] rounds; one round when no answered field is hidden).
//! - Inside a repeat, an item's conditions see the item's own fields first (lexical scope).
//! - A rule is checked only when its target field is visible and every name it reads has an
//!   answer; it reports its own code at its target field.
//! - Fee amounts are rounded to the cent and summed as exact decimals.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use baukasten_dsl::model::{Bound, ChoiceOption, Field, FieldKind, Widget};
use chrono::{Datelike, NaiveDate};
use minijinja::value::{Object, Value};
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use serde::Serialize;
use serde_json::Value as Json;

use crate::compile::{CompiledService, FieldPlan, Inner, SlotMap};
use crate::expr::TODAY;
use crate::messages::{self, Message};
use crate::money;
use crate::validators::{self, Invalid, trim};

/// Rounds of visibility evaluation before giving up on stability (conditions that hide each
/// other in a loop); the last round's result is used.
pub const MAX_PASSES: usize = 4;

/// What the evaluation depends on besides the answers.
#[derive(Debug, Clone)]
pub struct Context {
    /// The date `today()` returns and relative date bounds count from.
    pub today: NaiveDate,
}

/// The time zone whose date `today` is, unless a municipality's server is told otherwise:
/// German offices count days by German time, whatever zone the machine runs in.
pub const DEFAULT_TIME_ZONE: chrono_tz::Tz = chrono_tz::Europe::Berlin;

impl Context {
    /// The context at the instant `now`: today is the date in `zone` at that instant (at
    /// 23:30 UTC on a summer evening it is already the next day in Berlin). The engine never
    /// reads the clock; the caller passes `now`.
    pub fn at(now: chrono::DateTime<chrono::Utc>, zone: chrono_tz::Tz) -> Context {
        Context {
            today: now.with_timezone(&zone).date_naive(),
        }
    }
}

/// Limits on answers beyond those the service declares, so a hostile request cannot make one
/// evaluation expensive.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest text accepted in any field, in characters (a field's `max_length` may be lower).
    pub max_text_chars: usize,
    /// Most entries of a repeat that declares no `max_items`.
    pub max_repeat_items: usize,
}

impl Limits {
    /// The limits every evaluation, page and walk over answers uses unless told otherwise.
    pub const DEFAULT: Limits = Limits {
        max_text_chars: 10_000,
        max_repeat_items: 200,
    };

    /// Most items of any repeat, whatever its `max_items` says: the answers of one request
    /// never make the server build a longer list.
    pub const REPEAT_CEILING: usize = 1_000;

    /// How many items of a repeat are looked at: its `max_items`, else `max_repeat_items`, and
    /// never more than [`Limits::REPEAT_CEILING`].
    pub fn repeat_items(&self, max_items: Option<u32>) -> usize {
        max_items
            .map_or(self.max_repeat_items, |m| m as usize)
            .min(Self::REPEAT_CEILING)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The result of one evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Every step, in order, and whether it applies.
    pub steps: Vec<StepState>,
    /// Every field (items of repeats as `repeat.0.field`), depth first in step order.
    pub fields: Vec<FieldState>,
    pub computed: BTreeMap<String, Json>,
    pub fees: Vec<FeeItem>,
    #[serde(with = "rust_decimal::serde::str")]
    pub fee_total: Decimal,
    pub errors: Vec<FieldError>,
    /// Expressions that failed at run time (a type mismatch, fuel). They count as false or as
    /// no value; listed so tests and logs can show them.
    pub problems: Vec<ExpressionProblem>,
    /// What [`Evaluation::clean`] is built from. Most evaluations (a page's "Weiter", the live
    /// `/evaluate`) never need the clean submission, so it is built only on request.
    #[serde(skip)]
    retained: Arc<Retained>,
}

#[derive(Debug)]
struct Retained {
    inner: Arc<Inner>,
    parsed: Vec<Answer>,
    vis: Vec<Vis>,
}

impl Evaluation {
    /// The answers as they are stored: visible fields only, parsed and normalised (IBAN
    /// compact, phone E.164, dates ISO, amounts as decimal strings), in field order.
    pub fn clean(&self) -> serde_json::Map<String, Json> {
        let Retained { inner, parsed, vis } = &*self.retained;
        let mut clean = serde_json::Map::new();
        for (slot, (answer, v)) in parsed.iter().zip(vis).enumerate() {
            let (s, f) = inner.top_fields[slot];
            let field = &inner.service.steps[s].fields[f];
            if let Some(c) = clean_value(field, answer, v) {
                clean.insert(field.id.clone(), c);
            }
        }
        clean
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StepState {
    pub id: String,
    pub visible: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldState {
    pub path: Arc<str>,
    pub step: Arc<str>,
    pub visible: bool,
    pub required: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeeItem {
    /// The fee's place in the service's `fees:`.
    #[serde(skip)]
    pub index: usize,
    pub id: Option<String>,
    pub label: baukasten_dsl::model::Text,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path: `vorname`, `anschrift.plz`, `personen.1.name`.
    pub field: String,
    /// The step the field is on.
    pub step: String,
    /// A stable code: `required`, `too_long`, `invalid_iban`, or a rule's id.
    pub code: String,
    pub message: Message,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExpressionProblem {
    pub expression: String,
    pub line: u32,
    pub message: String,
    /// The expression failed on a missing value (`none + 1`) and read at least one field
    /// without a value (unanswered or hidden): expected while a form is incomplete, so it says
    /// nothing about the service. Any other failure, also one next to an unanswered field
    /// (`(anzahl or 0) + name * name`), usually means a mistake in the service, and
    /// `baukasten test` shows it.
    pub unanswered: bool,
}

impl Evaluation {
    /// The steps the citizen goes through, in order.
    pub fn path(&self) -> Vec<&str> {
        self.steps.iter().filter(|s| s.visible).map(|s| s.id.as_str()).collect()
    }

    /// The step after `current` on the path, if any.
    pub fn next_step(&self, current: &str) -> Option<&str> {
        let pos = self.steps.iter().position(|s| s.id == current)?;
        self.steps[pos + 1..].iter().find(|s| s.visible).map(|s| s.id.as_str())
    }

    /// The step before `current` on the path, if any.
    pub fn previous_step(&self, current: &str) -> Option<&str> {
        let pos = self.steps.iter().position(|s| s.id == current)?;
        self.steps[..pos]
            .iter()
            .rev()
            .find(|s| s.visible)
            .map(|s| s.id.as_str())
    }

    /// The errors of one step: what a citizen sees after "Weiter" on that page.
    pub fn step_errors(&self, step: &str) -> Vec<&FieldError> {
        self.errors.iter().filter(|e| e.step == step).collect()
    }

    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn field(&self, path: &str) -> Option<&FieldState> {
        self.fields.iter().find(|f| &*f.path == path)
    }
}

/// One parsed answer, mirroring the field tree. Kept small: every evaluation makes one per
/// field and moves it around, and errors are rare.
#[derive(Debug, Clone, Default)]
struct Answer {
    /// The value as expressions see it; `none` when unanswered or invalid.
    value: Value,
    clean: Clean,
    answered: bool,
    error: Option<Box<(String, Message)>>,
    children: Vec<Answer>,
    items: Vec<Vec<Answer>>,
}

/// The stored form of a parsed scalar answer, turned into JSON only when
/// [`Evaluation::clean`] asks for it.
#[derive(Debug, Clone, Default)]
enum Clean {
    /// The text of `value` (texts, single choices).
    #[default]
    FromValue,
    /// A date; `value` holds it as ISO text, which is also the stored form.
    Date(NaiveDate),
    Int(i64),
    Bool(bool),
    /// Stored with two places ("12.50").
    Money(Decimal),
    /// Stored normalised ("12.5").
    Decimal(Decimal),
    /// Checkboxes and files.
    Json(Box<Json>),
}

impl Clean {
    fn to_json(&self, value: &Value) -> Option<Json> {
        match self {
            Clean::FromValue | Clean::Date(_) => value.as_str().map(|s| Json::String(s.to_string())),
            Clean::Int(n) => Some(Json::from(*n)),
            Clean::Bool(b) => Some(Json::Bool(*b)),
            Clean::Money(d) => Some(Json::String(money::format(*d))),
            Clean::Decimal(d) => Some(Json::String(d.normalize().to_string())),
            Clean::Json(j) => Some((**j).clone()),
        }
    }

    /// The exact number of a numeric answer, for its bounds.
    fn number(&self) -> Option<Decimal> {
        match self {
            Clean::Int(n) => Some(Decimal::from(*n)),
            Clean::Money(d) => Some(money::round(*d)),
            Clean::Decimal(d) => Some(*d),
            _ => None,
        }
    }

    fn json_field(&self, key: &str) -> Option<&Json> {
        match self {
            Clean::Json(j) => j.get(key),
            _ => None,
        }
    }
}

/// Visibility and requirement of one field, mirroring the field tree. Most fields have no
/// members, so those live behind a pointer that is empty for them: a smaller `Vis` is cheaper
/// to build, move and drop, and every evaluation makes one per field.
#[derive(Debug, Clone, PartialEq, Default)]
struct Vis {
    visible: bool,
    required: bool,
    nested: Option<Box<Nested>>,
}

/// The members of a group (`children`) or the fields of a repeat's items (`items`).
#[derive(Debug, Clone, PartialEq, Default)]
struct Nested {
    children: Vec<Vis>,
    items: Vec<Vec<Vis>>,
}

impl Vis {
    fn children(&self) -> &[Vis] {
        self.nested.as_ref().map_or(&[], |n| &n.children)
    }

    fn items(&self) -> &[Vec<Vis>] {
        self.nested.as_ref().map_or(&[], |n| &n.items)
    }
}

/// The evaluation context: top-level slots (fields, then computed values) and today's date.
#[derive(Debug)]
struct Scope {
    slots: Arc<SlotMap>,
    values: Mutex<Vec<Value>>,
    today: Value,
}

impl Scope {
    fn set(&self, slot: usize, value: Value) {
        let mut values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        values[slot] = value;
    }
}

impl Object for Scope {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        if key == TODAY {
            return Some(self.today.clone());
        }
        let slot = *self.slots.get(key)?;
        Some(self.values.lock().unwrap_or_else(|e| e.into_inner())[slot].clone())
    }
}

/// The context inside one repeat item: the item's fields first, then the enclosing scope.
#[derive(Debug)]
struct ItemScope {
    /// The item fields' ids (shared by every item) and their values, in field order.
    names: Arc<[String]>,
    values: Vec<Value>,
    parent: Value,
}

impl Object for ItemScope {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        // A repeat has a handful of fields: a scan beats a map.
        if let Some(i) = self.names.iter().position(|n| n == key) {
            return self.values.get(i).cloned();
        }
        self.parent.get_attr(key).ok().filter(|v| !v.is_undefined())
    }
}

/// The fees a citizen can be told before answering anything: see [`CompiledService::fixed_fees`].
#[derive(Debug, Clone, Serialize)]
pub struct FixedFees {
    /// The fees that depend on no answer and apply, with their amounts.
    pub items: Vec<FeeItem>,
    /// Whether other fees depend on the answers (their amount or whether they apply).
    pub more_depend_on_answers: bool,
}

impl CompiledService {
    /// The fees that depend on no answer: their amount and their `if:` read no field, not even
    /// through computed values, and not today's date. A start page can name them before the
    /// citizen begins.
    pub fn fixed_fees(&self) -> FixedFees {
        let inner = &*self.inner;
        let reads_date = |e: usize| {
            let source = &inner.exprs[e].source;
            source.contains("today") || source.contains("age(")
        };
        let mut constant: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for &c in &inner.computed_order {
            let e = inner.computed_exprs[c];
            if !reads_date(e) && inner.exprs[e].names.iter().all(|n| constant.contains(n.as_str())) {
                constant.insert(inner.service.computed[c].id.as_str());
            }
        }
        let fixed = |e: usize| !reads_date(e) && inner.exprs[e].names.iter().all(|n| constant.contains(n.as_str()));
        let is_fixed: Vec<bool> = inner
            .fees
            .iter()
            .map(|&(amount, condition)| fixed(amount) && condition.is_none_or(fixed))
            .collect();
        // Any date does: nothing evaluated here reads it.
        let ctx = Context {
            today: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default(),
        };
        let evaluation = self.evaluate(&Json::Object(Default::default()), &ctx);
        let items = evaluation
            .fees
            .into_iter()
            .filter(|item| is_fixed[item.index])
            .collect();
        FixedFees {
            items,
            more_depend_on_answers: is_fixed.iter().any(|f| !f),
        }
    }

    /// Evaluates `answers` (a JSON object: field id → answer, as HTML forms or the JSON API
    /// send them) with the default [`Limits`].
    pub fn evaluate(&self, answers: &Json, ctx: &Context) -> Evaluation {
        self.evaluate_with(answers, ctx, &Limits::default())
    }

    pub fn evaluate_with(&self, answers: &Json, ctx: &Context, limits: &Limits) -> Evaluation {
        Run::new(&self.inner, ctx, *limits).run(answers)
    }
}

struct Run<'a> {
    inner: &'a Inner,
    inner_arc: &'a Arc<Inner>,
    ctx: &'a Context,
    limits: Limits,
    scope: Arc<Scope>,
    scope_value: Value,
    problems: Vec<ExpressionProblem>,
    /// Results of the batched conditions for the current visibility round.
    batch: Option<Vec<Value>>,
}

impl<'a> Run<'a> {
    fn new(inner_arc: &'a Arc<Inner>, ctx: &'a Context, limits: Limits) -> Self {
        let inner: &'a Inner = inner_arc;
        let slot_count = inner.top_fields.len() + inner.service.computed.len();
        let scope = Arc::new(Scope {
            slots: inner.slots.clone(),
            values: Mutex::new((0..slot_count).map(|_| Value::from(())).collect()),
            today: iso_value(ctx.today),
        });
        let scope_value = Value::from_dyn_object(scope.clone());
        Self {
            inner,
            inner_arc,
            ctx,
            limits,
            scope,
            scope_value,
            problems: Vec::new(),
            batch: None,
        }
    }

    fn field_at(&self, slot: usize) -> &'a Field {
        let (s, f) = self.inner.top_fields[slot];
        &self.inner.service.steps[s].fields[f]
    }

    fn plan_at(&self, slot: usize) -> &'a FieldPlan {
        let (s, f) = self.inner.top_fields[slot];
        &self.inner.steps[s].fields[f]
    }

    fn eval(&mut self, expr: usize, ctx: &Value) -> Option<Value> {
        let compiled = &self.inner.exprs[expr];
        match compiled.eval(ctx) {
            Ok(v) => Some(v),
            Err(e) => {
                if self.problems.len() < 100 {
                    self.problems.push(ExpressionProblem {
                        expression: compiled.source.clone(),
                        line: compiled.span.line,
                        message: e.to_string(),
                        unanswered: crate::expr::about_no_value(&e) && compiled.reads_unanswered(ctx),
                    });
                }
                None
            }
        }
    }

    fn condition(&mut self, expr: Option<usize>, ctx: &Value) -> bool {
        if let (Some(e), Some(results)) = (expr, &self.batch)
            && let Some(pos) = self.inner.batch_slots[e]
            && let Some(v) = results.get(pos)
        {
            return v.is_true();
        }
        match expr {
            None => true,
            Some(e) => self.eval(e, ctx).is_some_and(|v| v.is_true()),
        }
    }

    fn run(mut self, answers: &Json) -> Evaluation {
        let empty = serde_json::Map::new();
        let map = answers.as_object().unwrap_or(&empty);
        let slots = self.inner.top_fields.len();
        // Forms and most JSON clients send answers in field order: walk them alongside the
        // fields and look a key up only where the order differs.
        let mut entries = map.iter().peekable();
        let parsed: Vec<Answer> = (0..slots)
            .map(|i| {
                let field = self.field_at(i);
                let raw = match entries.peek() {
                    Some((key, _)) if **key == field.id => entries.next().map(|(_, v)| v),
                    _ => map.get(&field.id),
                };
                parse(field, raw, &self.limits)
            })
            .collect();

        // Visibility until stable: a hidden answered field is cleared, which may change other
        // conditions. Start from "everything answered is visible".
        let mut hidden_answered = Hidden::default();
        let mut step_vis = Vec::new();
        let mut vis: Vec<Vis> = Vec::new();
        for _ in 0..MAX_PASSES {
            self.fill_scope(&parsed, &vis);
            self.compute();
            let (new_steps, new_vis) = self.visibility(&parsed, &vis);
            let mut new_hidden = Hidden::default();
            let mut at = Vec::new();
            for (slot, (a, v)) in parsed.iter().zip(&new_vis).enumerate() {
                let before = new_hidden.trail.len();
                at.clear();
                at.push(slot as u32);
                collect_hidden(self.field_at(slot), self.plan_at(slot), a, v, &mut at, &mut new_hidden);
                if new_hidden.trail.len() != before {
                    new_hidden.slots.push(slot);
                }
            }
            // Stable when clearing changes nothing that a condition or computed value reads:
            // the same fields are hidden as last round, or none of them is read at all.
            let stable = !new_hidden.read || (new_hidden.trail == hidden_answered.trail && !vis.is_empty());
            step_vis = new_steps;
            vis = new_vis;
            hidden_answered = new_hidden;
            if stable {
                break;
            }
        }
        // Rules and fees read the cleared answers; computed values are already settled. Only
        // the fields hidden in the last round still hold their raw answer in the scope.
        self.refresh_scope(&parsed, &vis, &hidden_answered.slots);

        // One state per field and per item field: room for a few repeat items, so the list
        // is rarely copied as it grows.
        let mut fields = Vec::with_capacity(slots + slots / 8);
        let mut errors = Vec::new();
        for (slot, (answer, v)) in parsed.iter().zip(&vis).enumerate() {
            let field = self.field_at(slot);
            let step = &self.inner.step_ids[self.inner.top_fields[slot].0];
            self.report(
                field,
                self.plan_at(slot),
                answer,
                v,
                &self.inner.top_paths[slot],
                step,
                &mut fields,
                &mut errors,
            );
        }
        self.rules(&vis, &mut errors);
        let (fees, fee_total) = self.fees();
        let computed = self
            .inner
            .service
            .computed
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let v = self.scope.slot_value(slots + i);
                (c.id.clone(), computed_json(&v, c.value_type.as_ref()))
            })
            .collect();
        let steps = self
            .inner
            .service
            .steps
            .iter()
            .zip(step_vis)
            .map(|(s, visible)| StepState {
                id: s.id.clone(),
                visible,
            })
            .collect();
        Evaluation {
            steps,
            fields,
            computed,
            fees,
            fee_total,
            errors,
            problems: self.problems,
            retained: Arc::new(Retained {
                inner: self.inner_arc.clone(),
                parsed,
                vis,
            }),
        }
    }

    /// Puts the value of each top-level field in `stale`, cleared where hidden, into the scope.
    fn refresh_scope(&self, parsed: &[Answer], vis: &[Vis], stale: &[usize]) {
        if stale.is_empty() {
            return;
        }
        let mut values = self.scope.values.lock().unwrap_or_else(|e| e.into_inner());
        for &slot in stale {
            if let (Some(answer), Some(v)) = (parsed.get(slot), vis.get(slot)) {
                values[slot] = cleared(self.field_at(slot), answer, v);
            }
        }
    }

    fn fill_scope(&self, parsed: &[Answer], vis: &[Vis]) {
        // One lock for the whole round; no expression runs while the slots are filled.
        let mut values = self.scope.values.lock().unwrap_or_else(|e| e.into_inner());
        for (slot, answer) in parsed.iter().enumerate() {
            values[slot] = match vis.get(slot) {
                Some(v) => cleared(self.field_at(slot), answer, v),
                None => answer.value.clone(),
            };
        }
    }

    fn compute(&mut self) {
        let base = self.inner.top_fields.len();
        for &i in &self.inner.computed_order {
            let expr = self.inner.computed_exprs[i];
            let ctx = self.scope_value.clone();
            let value = self.eval(expr, &ctx).unwrap_or(Value::from(()));
            let value = match self.inner.service.computed[i].value_type {
                Some(baukasten_dsl::model::ValueType::Money) => round_money(&value),
                _ => value,
            };
            self.scope.set(base + i, value);
        }
    }

    /// Evaluates the visibility and requirement of every step and field.
    fn visibility(&mut self, parsed: &[Answer], previous: &[Vis]) -> (Vec<bool>, Vec<Vis>) {
        let inner = self.inner;
        let ctx = self.scope_value.clone();
        // One call for all conditions outside repeats. If any of them fails (say, `none > 3`),
        // fall back to one call each, so only that one counts as false and is reported.
        self.batch = inner
            .batch
            .as_ref()
            .and_then(|b| b.eval(&ctx).ok())
            .and_then(|list| list.try_iter().ok().map(|items| items.collect()));
        let mut steps = Vec::with_capacity(inner.service.steps.len());
        let mut out = Vec::with_capacity(parsed.len());
        let mut slot = 0;
        for (si, step) in inner.service.steps.iter().enumerate() {
            let plan = &inner.steps[si];
            let visible = self.condition(plan.visible_if, &ctx);
            let required_scope = plan.required_if.is_none() || self.condition(plan.required_if, &ctx);
            steps.push(visible);
            for (fi, field) in step.fields.iter().enumerate() {
                let prev = previous.get(slot);
                out.push(self.field_vis(
                    field,
                    &plan.fields[fi],
                    &parsed[slot],
                    prev,
                    visible,
                    required_scope,
                    &ctx,
                ));
                slot += 1;
            }
        }
        self.batch = None;
        (steps, out)
    }

    #[allow(clippy::too_many_arguments)]
    fn field_vis(
        &mut self,
        field: &Field,
        plan: &FieldPlan,
        answer: &Answer,
        previous: Option<&Vis>,
        parent_visible: bool,
        required_scope: bool,
        ctx: &Value,
    ) -> Vis {
        let visible = parent_visible && self.condition(plan.visible_if, ctx);
        let required_if = match plan.required_if {
            Some(e) if visible => self.condition(Some(e), ctx),
            _ => false,
        };
        let required = visible && required_scope && (field.required || required_if);
        let mut children = Vec::new();
        let mut items = Vec::new();
        match &field.kind {
            FieldKind::Group { fields } => {
                // A group's `required_if`, where given, scopes its members' requirements.
                let scope = required_scope && (plan.required_if.is_none() || required_if);
                for (i, child) in fields.iter().enumerate() {
                    let prev = previous.and_then(|p| p.children().get(i));
                    let unanswered = Answer::default();
                    let child_answer = answer.children.get(i).unwrap_or(&unanswered);
                    children.push(self.field_vis(child, &plan.children[i], child_answer, prev, visible, scope, ctx));
                }
            }
            FieldKind::Repeat { fields, .. } => {
                let scope = required_scope && (plan.required_if.is_none() || required_if);
                for (n, item) in answer.items.iter().enumerate() {
                    let prev_item = previous.and_then(|p| p.items().get(n));
                    let values = fields
                        .iter()
                        .enumerate()
                        .map(|(i, f)| {
                            let a = &item[i];
                            match prev_item.and_then(|p| p.get(i)) {
                                Some(v) => cleared(f, a, v),
                                None => a.value.clone(),
                            }
                        })
                        .collect();
                    let item_ctx = Value::from_object(ItemScope {
                        names: plan.child_ids.clone(),
                        values,
                        parent: ctx.clone(),
                    });
                    let mut item_vis = Vec::new();
                    for (i, child) in fields.iter().enumerate() {
                        let prev = prev_item.and_then(|p| p.get(i));
                        item_vis.push(self.field_vis(
                            child,
                            &plan.children[i],
                            &item[i],
                            prev,
                            visible,
                            scope,
                            &item_ctx,
                        ));
                    }
                    items.push(item_vis);
                }
            }
            _ => {}
        }
        let nested = (!children.is_empty() || !items.is_empty()).then(|| Box::new(Nested { children, items }));
        Vis {
            visible,
            required,
            nested,
        }
    }

    /// Records the state of a field and its errors (children and items included).
    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        field: &Field,
        plan: &FieldPlan,
        answer: &Answer,
        vis: &Vis,
        path: &Arc<str>,
        step: &Arc<str>,
        states: &mut Vec<FieldState>,
        errors: &mut Vec<FieldError>,
    ) {
        states.push(FieldState {
            path: path.clone(),
            step: step.clone(),
            visible: vis.visible,
            required: vis.required,
        });
        if vis.visible {
            let mut push = |code: &str, message: Message| {
                errors.push(FieldError {
                    field: path.to_string(),
                    step: step.to_string(),
                    code: code.to_string(),
                    message,
                });
            };
            if let Some(error) = &answer.error {
                let (code, message) = &**error;
                push(code, message.clone());
            } else if !answer.answered || is_unconsented(field, answer) {
                if vis.required {
                    match field.kind {
                        FieldKind::Consent => push("consent_required", messages::consent_required()),
                        // A group's members carry their own "required"; one more message at the
                        // group would only repeat them.
                        FieldKind::Group { .. } => {}
                        _ => push("required", messages::required(&field.kind)),
                    }
                }
            } else if plan.constrained {
                for (code, message) in constraint_errors(field, answer, self.ctx, plan) {
                    push(code, message);
                }
            }
            if let FieldKind::Repeat {
                min_items: Some(min), ..
            } = &field.kind
            {
                let count = answer.items.len() as u32;
                // An empty required list already has its "required" error.
                if answer.error.is_none() && count < *min && !(count == 0 && vis.required) {
                    let (de, en) = item_names(field);
                    push("too_few_items", messages::too_few_items(*min, &de, &en));
                }
            }
        }
        match &field.kind {
            FieldKind::Group { fields } => {
                for (i, child) in fields.iter().enumerate() {
                    if let (Some(child_answer), Some(v)) = (answer.children.get(i), vis.children().get(i)) {
                        self.report(
                            child,
                            &plan.children[i],
                            child_answer,
                            v,
                            &child_path(path, None, &child.id),
                            step,
                            states,
                            errors,
                        );
                    }
                }
            }
            FieldKind::Repeat { fields, .. } => {
                for (n, item) in answer.items.iter().enumerate() {
                    for (i, child) in fields.iter().enumerate() {
                        if let Some(v) = vis.items().get(n).and_then(|it| it.get(i)) {
                            self.report(
                                child,
                                &plan.children[i],
                                &item[i],
                                v,
                                &child_path(path, Some(n), &child.id),
                                step,
                                states,
                                errors,
                            );
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn rules(&mut self, vis: &[Vis], errors: &mut Vec<FieldError>) {
        let inner = self.inner;
        let ctx = self.scope_value.clone();
        for (r, rule) in inner.service.rules.iter().enumerate() {
            let Some((step, target_visible)) = self.top_visibility(&rule.field, vis) else {
                continue;
            };
            if !target_visible {
                continue;
            }
            let expr = inner.rules[r];
            // A rule rests until every field it reads has an answer.
            let all_answered = inner.exprs[expr].names.iter().all(|n| {
                self.scope
                    .named_value(n)
                    .is_none_or(|v| !v.is_none() && !v.is_undefined())
            });
            if !all_answered {
                continue;
            }
            if !self.condition(Some(expr), &ctx) && !errors.iter().any(|e| e.field == rule.field) {
                errors.push(FieldError {
                    field: rule.field.clone(),
                    step,
                    code: rule.code().to_string(),
                    message: self.rule_message(r, &ctx),
                });
            }
        }
    }

    /// A failed rule's message with the values it shows (`{{ summe }}`) filled in, written as
    /// each language writes numbers and dates.
    fn rule_message(&self, r: usize, ctx: &Value) -> Message {
        let inner = self.inner;
        let rule = &inner.service.rules[r];
        let values: Vec<(&str, Value)> = inner.rule_values[r]
            .iter()
            .map(|(source, expr)| {
                let value = inner.exprs[*expr].eval(ctx).unwrap_or(Value::from(()));
                (source.as_str(), value)
            })
            .collect();
        // A text without its English version is shown in German, numbers included.
        let fill = |lang: &str| {
            let written_in = if rule.message.has(lang) { lang } else { "de" };
            messages::fill_values(rule.message.get(lang), written_in, &values)
        };
        Message::new(fill("de"), fill("en"))
    }

    /// The step and visibility of a field path outside repeats.
    fn top_visibility(&self, path: &str, vis: &[Vis]) -> Option<(String, bool)> {
        let mut parts = path.split('.');
        let slot = *self.inner.slots.get(parts.next()?)?;
        let mut v = vis.get(slot)?;
        let mut field = self.field_at(slot);
        for part in parts {
            let children = field.kind.children()?;
            let i = children.iter().position(|c| c.id == part)?;
            field = &children[i];
            v = v.children().get(i)?;
        }
        let step = self.inner.service.steps[self.inner.top_fields[slot].0].id.clone();
        Some((step, v.visible))
    }

    fn fees(&mut self) -> (Vec<FeeItem>, Decimal) {
        let inner = self.inner;
        let ctx = self.scope_value.clone();
        let mut items = Vec::new();
        let mut total = Decimal::ZERO;
        for (i, fee) in inner.service.fees.iter().enumerate() {
            let (amount, condition) = inner.fees[i];
            if !self.condition(condition, &ctx) {
                continue;
            }
            let Some(value) = self.eval(amount, &ctx) else { continue };
            let Some(mut amount) = to_decimal(&value).map(money::round) else {
                continue;
            };
            // Amounts are in euros and cents: always two places, so "20.50" never shows as "20.5".
            amount.rescale(2);
            total += amount;
            items.push(FeeItem {
                index: i,
                id: fee.id.clone(),
                label: fee.label.clone(),
                amount,
            });
        }
        total.rescale(2);
        (items, total)
    }
}

impl Scope {
    fn slot_value(&self, slot: usize) -> Value {
        self.values
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(slot)
            .cloned()
            .unwrap_or_default()
    }

    fn named_value(&self, name: &str) -> Option<Value> {
        let slot = *self.slots.get(name)?;
        Some(self.slot_value(slot))
    }
}

/// `parent.id`, or `parent.n.id` for item `n` of a repeat, built without `format!`.
fn child_path(parent: &str, item: Option<usize>, id: &str) -> Arc<str> {
    let mut path = String::with_capacity(parent.len() + id.len() + 8);
    path.push_str(parent);
    path.push('.');
    if let Some(n) = item {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut rest = n;
        loop {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        // Only ASCII digits were written.
        path.push_str(std::str::from_utf8(&digits[start..]).unwrap_or_default());
        path.push('.');
    }
    path.push_str(id);
    Arc::from(path)
}

fn is_unconsented(field: &Field, answer: &Answer) -> bool {
    matches!(field.kind, FieldKind::Consent) && !answer.value.is_true()
}

fn item_names(field: &Field) -> (String, String) {
    match &field.kind {
        FieldKind::Repeat {
            item_label: Some(l), ..
        } => (l.get("de").to_string(), l.get("en").to_string()),
        _ => ("Einträge".to_string(), "entries".to_string()),
    }
}

/// The value expressions see, with hidden parts cleared to `none`.
fn cleared(field: &Field, answer: &Answer, vis: &Vis) -> Value {
    if !vis.visible {
        return Value::from(());
    }
    match &field.kind {
        FieldKind::Group { fields } if !vis.children().is_empty() => {
            let map: BTreeMap<String, Value> = fields
                .iter()
                .zip(answer.children.iter().zip(vis.children()))
                .map(|(f, (a, v))| (f.id.clone(), cleared(f, a, v)))
                .collect();
            Value::from(map)
        }
        FieldKind::Repeat { fields, .. } if !answer.items.is_empty() => {
            let list: Vec<Value> = answer
                .items
                .iter()
                .zip(vis.items())
                .map(|(item, vis)| {
                    let map: BTreeMap<String, Value> = fields
                        .iter()
                        .zip(item.iter().zip(vis))
                        .map(|(f, (a, v))| (f.id.clone(), cleared(f, a, v)))
                        .collect();
                    Value::from(map)
                })
                .collect();
            Value::from(list)
        }
        _ => answer.value.clone(),
    }
}

/// The answered fields that a visibility round hides.
#[derive(Debug, Default)]
struct Hidden {
    /// Each hidden field as the positions leading to it, ended by [`Hidden::END`]: its slot,
    /// then per level its index among a group's members, or its item number and index among
    /// a repeat's fields. Fields are walked in order, so two rounds hide the same fields
    /// exactly when their trails are equal.
    trail: Vec<u32>,
    /// The top-level fields with something hidden, in order.
    slots: Vec<usize>,
    /// Whether a condition or computed value reads any hidden field (by its own name, as
    /// item conditions read item fields).
    read: bool,
}

impl Hidden {
    const END: u32 = u32::MAX;
}

/// Adds the hidden answered fields at and below `field` to `out`; `at` holds the positions
/// leading to `field`.
fn collect_hidden(field: &Field, plan: &FieldPlan, answer: &Answer, vis: &Vis, at: &mut Vec<u32>, out: &mut Hidden) {
    if !vis.visible && answer.answered {
        out.trail.extend_from_slice(at);
        out.trail.push(Hidden::END);
        out.read |= plan.read;
        return;
    }
    let children = field.kind.children().unwrap_or(&[]);
    for (i, ((f, a), v)) in children.iter().zip(&answer.children).zip(vis.children()).enumerate() {
        at.push(i as u32);
        collect_hidden(f, &plan.children[i], a, v, at, out);
        at.pop();
    }
    for (n, (items, vis)) in answer.items.iter().zip(vis.items()).enumerate() {
        for (i, ((f, a), v)) in children.iter().zip(items).zip(vis).enumerate() {
            at.extend([n as u32, i as u32]);
            collect_hidden(f, &plan.children[i], a, v, at, out);
            at.truncate(at.len() - 2);
        }
    }
}

fn clean_value(field: &Field, answer: &Answer, vis: &Vis) -> Option<Json> {
    if !vis.visible || answer.error.is_some() || !answer.answered {
        return None;
    }
    match &field.kind {
        FieldKind::Group { fields } => {
            let map: serde_json::Map<String, Json> = fields
                .iter()
                .zip(answer.children.iter().zip(vis.children()))
                .filter_map(|(f, (a, v))| Some((f.id.clone(), clean_value(f, a, v)?)))
                .collect();
            (!map.is_empty()).then_some(Json::Object(map))
        }
        FieldKind::Repeat { fields, .. } => Some(Json::Array(
            answer
                .items
                .iter()
                .zip(vis.items())
                .map(|(item, vis)| {
                    Json::Object(
                        fields
                            .iter()
                            .zip(item.iter().zip(vis))
                            .filter_map(|(f, (a, v))| Some((f.id.clone(), clean_value(f, a, v)?)))
                            .collect(),
                    )
                })
                .collect(),
        )),
        _ => answer.clean.to_json(&answer.value),
    }
}

fn round_money(value: &Value) -> Value {
    match to_decimal(value) {
        Some(d) => {
            let rounded = money::round(d);
            Value::from(rounded.to_f64().unwrap_or(0.0))
        }
        None => value.clone(),
    }
}

/// A number from an expression as an exact decimal. Floats are taken by their shortest
/// decimal representation (30.7, not 30.699999…), which is what the clerk wrote.
pub(crate) fn to_decimal(value: &Value) -> Option<Decimal> {
    if value.is_none() || value.is_undefined() {
        return None;
    }
    if let Some(i) = value.as_i64() {
        return Some(Decimal::from(i));
    }
    let f = f64::try_from(value.clone()).ok()?;
    if !f.is_finite() {
        return None;
    }
    format!("{f}").parse::<Decimal>().ok().or_else(|| Decimal::from_f64(f))
}

fn computed_json(value: &Value, value_type: Option<&baukasten_dsl::model::ValueType>) -> Json {
    use baukasten_dsl::model::ValueType;
    if value.is_none() || value.is_undefined() {
        return Json::Null;
    }
    match value_type {
        Some(ValueType::Money) | Some(ValueType::Decimal) => to_decimal(value)
            .map(|d| {
                Json::String(if matches!(value_type, Some(ValueType::Money)) {
                    money::format(d)
                } else {
                    d.normalize().to_string()
                })
            })
            .unwrap_or(Json::Null),
        _ => serde_json::to_value(value).unwrap_or(Json::Null),
    }
}

// ---------------------------------------------------------------- parsing answers

fn is_empty(raw: Option<&Json>) -> bool {
    match raw {
        None | Some(Json::Null) => true,
        Some(Json::String(s)) => trim(s).is_empty(),
        Some(Json::Array(a)) => a.is_empty(),
        Some(Json::Object(o)) => o.values().all(|v| is_empty(Some(v))),
        _ => false,
    }
}

fn invalid(error: Invalid) -> (String, Message) {
    (error.code.to_string(), Message::new(error.de, error.en))
}

fn invalid_value() -> (String, Message) {
    ("invalid_value".to_string(), messages::invalid_value())
}

/// A scalar answer as text: strings as they are, numbers and booleans written out.
fn scalar_text(raw: &Json) -> Option<String> {
    match raw {
        Json::String(s) => Some(trim(s).to_string()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse(field: &Field, raw: Option<&Json>, limits: &Limits) -> Answer {
    let mut answer = Answer {
        value: Value::from(()),
        ..Answer::default()
    };
    match &field.kind {
        FieldKind::Group { fields } => {
            let obj = raw.and_then(Json::as_object);
            if raw.is_some_and(|r| !r.is_null() && !r.is_object()) {
                answer.error = Some(Box::new(invalid_value()));
            }
            answer.children = fields
                .iter()
                .map(|f| parse(f, obj.and_then(|o| o.get(&f.id)), limits))
                .collect();
            answer.answered = answer.children.iter().any(|c| c.answered);
            let map: BTreeMap<String, Value> = fields
                .iter()
                .zip(&answer.children)
                .map(|(f, a)| (f.id.clone(), a.value.clone()))
                .collect();
            answer.value = Value::from(map);
            return answer;
        }
        FieldKind::Repeat { fields, max_items, .. } => {
            let list = match raw {
                None | Some(Json::Null) => &[][..],
                Some(Json::Array(items)) => items.as_slice(),
                Some(_) => {
                    answer.error = Some(Box::new(invalid_value()));
                    &[][..]
                }
            };
            let cap = limits.repeat_items(*max_items);
            if list.len() > cap {
                let (de, en) = item_names(field);
                answer.error = Some(Box::new((
                    "too_many_items".to_string(),
                    messages::too_many_items(cap as u32, &de, &en),
                )));
            }
            // Only items within the limit are looked at, so a huge list costs nothing more.
            for item in list.iter().take(cap) {
                let obj = item.as_object();
                answer.items.push(
                    fields
                        .iter()
                        .map(|f| parse(f, obj.and_then(|o| o.get(&f.id)), limits))
                        .collect(),
                );
            }
            answer.answered = !answer.items.is_empty();
            let values: Vec<Value> = answer
                .items
                .iter()
                .map(|item| {
                    Value::from(
                        fields
                            .iter()
                            .zip(item)
                            .map(|(f, a)| (f.id.clone(), a.value.clone()))
                            .collect::<BTreeMap<_, _>>(),
                    )
                })
                .collect();
            answer.value = if values.is_empty() {
                Value::from(())
            } else {
                Value::from(values)
            };
            return answer;
        }
        FieldKind::Info { .. } => return answer,
        _ => {}
    }
    if is_empty(raw) {
        return answer;
    }
    let Some(raw) = raw else { return answer };
    answer.answered = true;
    let result = parse_scalar(field, raw, limits);
    match result {
        Ok((value, clean)) => {
            answer.value = value;
            answer.clean = clean;
        }
        Err(error) => answer.error = Some(Box::new(error)),
    }
    answer
}

type Parsed = Result<(Value, Clean), (String, Message)>;

fn text_of<'j>(
    raw: &'j Json,
    limits: &Limits,
    max: Option<u32>,
) -> Result<std::borrow::Cow<'j, str>, (String, Message)> {
    let text = match raw {
        Json::String(s) => std::borrow::Cow::Borrowed(trim(s)),
        other => std::borrow::Cow::Owned(scalar_text(other).ok_or_else(invalid_value)?),
    };
    let limit = limits.max_text_chars;
    // A text has at most as many characters as bytes, so most need no counting; counting stops
    // at the limit, so a megabyte string is refused without walking all of it.
    if text.len() > limit && text.chars().take(limit + 1).count() > limit {
        let n = max.unwrap_or(limit as u32).min(limit as u32);
        return Err(("too_long".to_string(), messages::too_long(n)));
    }
    Ok(text)
}

fn parse_scalar(field: &Field, raw: &Json, limits: &Limits) -> Parsed {
    let max = field.constraints.max_length;
    // Texts are stored as they are seen: the clean value is made from `value` at the end.
    let string = |s: &str| -> (Value, Clean) { (Value::from(s), Clean::FromValue) };
    let validated = |f: fn(&str) -> Result<String, Invalid>| -> Parsed {
        let text = text_of(raw, limits, max)?;
        f(&text).map(|s| string(&s)).map_err(invalid)
    };
    let checked = |f: fn(&str) -> Result<&str, Invalid>| -> Parsed {
        let text = text_of(raw, limits, max)?;
        f(&text).map(string).map_err(invalid)
    };
    match &field.kind {
        FieldKind::Text | FieldKind::Textarea => text_of(raw, limits, max).map(|t| string(&t)),
        FieldKind::Email => checked(validators::email_str),
        FieldKind::Phone => validated(validators::phone),
        FieldKind::Plz => checked(validators::plz_str),
        FieldKind::Iban => validated(validators::iban),
        FieldKind::SteuerId => validated(validators::steuer_id),
        FieldKind::KfzKennzeichen => validated(validators::kfz_kennzeichen),
        FieldKind::Integer => {
            let n = match raw {
                Json::Number(n) if n.is_i64() => n.as_i64().unwrap_or_default(),
                Json::Number(n) => match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => f as i64,
                    _ => return Err(invalid(validators::integer("1,5").unwrap_err())),
                },
                _ => validators::integer(&text_of(raw, limits, Some(40))?).map_err(invalid)?,
            };
            Ok((Value::from(n), Clean::Int(n)))
        }
        FieldKind::Decimal | FieldKind::Money => {
            let money = matches!(field.kind, FieldKind::Money);
            let d = match raw {
                Json::Number(n) => {
                    let text = n.to_string();
                    let parsed = if money {
                        validators::money(&text.replace('.', ","))
                    } else {
                        validators::decimal(&text.replace('.', ","))
                    };
                    parsed.map_err(invalid)?
                }
                _ => {
                    let text = text_of(raw, limits, Some(40))?;
                    if money {
                        validators::money(&text)
                    } else {
                        validators::decimal(&text)
                    }
                    .map_err(invalid)?
                }
            };
            let clean = if money { Clean::Money(d) } else { Clean::Decimal(d) };
            Ok((Value::from(d.to_f64().unwrap_or(0.0)), clean))
        }
        FieldKind::Date => {
            let date = match raw {
                Json::Object(parts) => {
                    let part = |k: &str| parts.get(k).and_then(scalar_text).unwrap_or_default();
                    validators::date_parts(&part("day"), &part("month"), &part("year")).map_err(invalid)?
                }
                _ => validators::date_text(&text_of(raw, limits, Some(40))?).map_err(invalid)?,
            };
            Ok((iso_value(date), Clean::Date(date)))
        }
        FieldKind::YesNo | FieldKind::Consent => {
            let b = match raw {
                Json::Bool(b) => *b,
                _ => match text_of(raw, limits, Some(10))?.to_lowercase().as_str() {
                    "true" | "ja" | "yes" | "on" | "1" => true,
                    "false" | "nein" | "no" | "off" | "0" => false,
                    _ => return Err(("invalid_bool".to_string(), messages::invalid_bool())),
                },
            };
            Ok((Value::from(b), Clean::Bool(b)))
        }
        FieldKind::Choice { options, widget, .. } => {
            let known = |v: &str| options.iter().any(|o: &ChoiceOption| o.value == v);
            if *widget == Widget::Checkboxes {
                let values: Vec<String> = match raw {
                    Json::Array(items) => items.iter().filter_map(scalar_text).filter(|s| !s.is_empty()).collect(),
                    _ => vec![text_of(raw, limits, Some(200))?.into_owned()],
                };
                if values.iter().any(|v| !known(v)) || values.len() > options.len() {
                    return Err(("invalid_choice".to_string(), messages::invalid_choice()));
                }
                // Keep the options' order and drop repeats, whatever order the browser sent.
                let ordered: Vec<String> = options
                    .iter()
                    .filter(|o| values.contains(&o.value))
                    .map(|o| o.value.clone())
                    .collect();
                Ok((Value::from(ordered.clone()), Clean::Json(Box::new(Json::from(ordered)))))
            } else {
                let value = text_of(raw, limits, Some(200))?;
                if !known(&value) {
                    return Err(("invalid_choice".to_string(), messages::invalid_choice()));
                }
                Ok(string(&value))
            }
        }
        FieldKind::File { .. } => {
            let (name, size, kind) = match raw {
                Json::String(name) => (name.trim().to_string(), 0u64, kind_of_name(name)),
                Json::Object(o) => {
                    let name = o.get("name").and_then(Json::as_str).unwrap_or_default().to_string();
                    let size = o.get("size").and_then(Json::as_u64).unwrap_or(0);
                    let kind = o
                        .get("type")
                        .and_then(Json::as_str)
                        .map(normalize_kind)
                        .unwrap_or_else(|| kind_of_name(&name));
                    (name, size, kind)
                }
                _ => return Err(("invalid_file".to_string(), messages::invalid_file())),
            };
            if name.is_empty() || name.chars().count() > 255 {
                return Err(("invalid_file".to_string(), messages::invalid_file()));
            }
            let mut obj = serde_json::Map::new();
            obj.insert("name".into(), Json::String(name.clone()));
            obj.insert("size".into(), Json::from(size));
            obj.insert("type".into(), Json::String(kind.clone()));
            if let Some(id) = raw.get("id").and_then(Json::as_str) {
                obj.insert("id".into(), Json::String(id.chars().take(100).collect()));
            }
            let value = Value::from(BTreeMap::from([
                ("name".to_string(), Value::from(name)),
                ("size".to_string(), Value::from(size)),
                ("type".to_string(), Value::from(kind)),
            ]));
            Ok((value, Clean::Json(Box::new(Json::Object(obj)))))
        }
        FieldKind::Info { .. } | FieldKind::Group { .. } | FieldKind::Repeat { .. } => Err(invalid_value()),
    }
}

/// The kind of a file (`pdf`, `jpeg`, …) from a MIME type or a kind name.
fn normalize_kind(kind: &str) -> String {
    let k = kind.trim().to_lowercase();
    match k.as_str() {
        "application/pdf" => "pdf".into(),
        "image/jpeg" | "image/jpg" | "jpg" => "jpeg".into(),
        "image/png" => "png".into(),
        "image/tiff" | "tif" => "tiff".into(),
        "image/heic" | "image/heif" | "heif" => "heic".into(),
        "image/webp" => "webp".into(),
        _ => k,
    }
}

fn kind_of_name(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, ext)| normalize_kind(ext))
        .unwrap_or_default()
}

/// Errors of an answered, parsed, visible field against its constraints.
fn constraint_errors(field: &Field, answer: &Answer, ctx: &Context, plan: &FieldPlan) -> Vec<(&'static str, Message)> {
    let pattern = plan.pattern.as_ref();
    let mut out = Vec::new();
    let c = &field.constraints;
    if let Some(text) = answer.value.as_str()
        && field.kind.is_textual()
    {
        // A text has at most as many characters as bytes: most texts need no counting.
        let counted = c.min_length.is_some() || c.max_length.is_some_and(|max| text.len() > max as usize);
        let len = if counted { text.chars().count() as u32 } else { 0 };
        if let Some(min) = c.min_length
            && len < min
        {
            out.push(("too_short", messages::too_short(min)));
        }
        if let Some(max) = c.max_length
            && counted
            && len > max
        {
            out.push(("too_long", messages::too_long(max)));
        }
        if let (Some(re), Some(p)) = (pattern, &c.pattern)
            && !re.is_match(text)
        {
            out.push(("pattern", Message::new(p.message.get("de"), p.message.get("en"))));
        }
    }
    if field.kind.is_numeric()
        && (plan.min.is_some() || plan.max.is_some())
        // Use the exact parsed number, not the float expressions see.
        && let Some(value) = answer.clean.number().or_else(|| to_decimal(&answer.value))
    {
        if let Some(min) = plan.min
            && value < min
        {
            out.push(("too_small", messages::too_small(&field.kind, min)));
        }
        if let Some(max) = plan.max
            && value > max
        {
            out.push(("too_large", messages::too_large(&field.kind, max)));
        }
    }
    if matches!(field.kind, FieldKind::Date)
        && (c.min.is_some() || c.max.is_some())
        && let Clean::Date(date) = answer.clean
    {
        if let Some(min) = c.min.as_ref().and_then(|b| date_bound(b, ctx))
            && date < min
        {
            out.push(("date_too_early", messages::date_too_early(min)));
        }
        if let Some(max) = c.max.as_ref().and_then(|b| date_bound(b, ctx))
            && date > max
        {
            out.push(("date_too_late", messages::date_too_late(max)));
        }
    }
    if let FieldKind::File { accept, max_size } = &field.kind {
        let kind = answer
            .clean
            .json_field("type")
            .and_then(Json::as_str)
            .unwrap_or_default();
        if !accept.iter().any(|a| a == kind) {
            out.push(("file_type", messages::file_type(accept)));
        }
        let size = answer.clean.json_field("size").and_then(Json::as_u64).unwrap_or(0);
        if let Some(max) = max_size
            && size > *max
        {
            out.push(("file_too_large", messages::file_too_large(*max)));
        }
    }
    out
}

/// A date as expressions see it: ISO text (`2026-11-23`), written without a format string.
fn iso_value(date: NaiveDate) -> Value {
    let (y, m, d) = (date.year(), date.month(), date.day());
    if !(0..=9999).contains(&y) {
        return Value::from(format!("{y:04}-{m:02}-{d:02}"));
    }
    let y = y as u32;
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let text = [
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(d / 10),
        digit(d),
    ];
    // Only ASCII digits and hyphens were written.
    Value::from(std::str::from_utf8(&text).unwrap_or_default())
}

/// Parses the `YYYY-MM-DD` the engine itself wrote, without a format string.
fn iso_date(s: &str) -> Option<NaiveDate> {
    let (y, rest) = s.split_once('-')?;
    let (m, d) = rest.split_once('-')?;
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

fn date_bound(bound: &Bound, ctx: &Context) -> Option<NaiveDate> {
    match bound {
        Bound::Date(d) => iso_date(d),
        Bound::DaysFromToday(n) => ctx.today.checked_add_signed(chrono::Duration::days(*n)),
        // Calendar months: chrono keeps the day, or takes the month's last day where it has
        // fewer (31 March − 1 month = 28/29 February).
        Bound::MonthsFromToday(n) => {
            let months = chrono::Months::new(u32::try_from(n.unsigned_abs()).ok()?);
            if *n >= 0 {
                ctx.today.checked_add_months(months)
            } else {
                ctx.today.checked_sub_months(months)
            }
        }
        Bound::Number(_) => None,
    }
}
