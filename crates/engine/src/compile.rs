//! Compiling a checked service: every expression and pattern once, the computed values in
//! dependency order, and the slots of the evaluation context.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use baukasten_dsl::model::{Bound, Expr, Field, Service};
use regex::Regex;
use rust_decimal::Decimal;

use crate::expr::Compiled;

/// Why a service cannot be compiled. The checker (`baukasten check`) reports all of these
/// with file and line first; the engine refuses a service that did not pass it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub message: String,
    pub span: baukasten_dsl::Span,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (line {}, column {})",
            self.message, self.span.line, self.span.col
        )
    }
}

impl std::error::Error for CompileError {}

/// Top-level names (fields, then computed values) → slot in the evaluation context.
pub(crate) type SlotMap = HashMap<String, usize, BuildHasherDefault<NameHasher>>;

/// FNV-1a, for the slot map. Every name an expression reads is looked up there, and the
/// standard hasher's protection against chosen keys buys nothing: the keys and the names
/// looked up come from the service definition, never from a request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameHasher(u64);

impl Default for NameHasher {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A service ready to evaluate answers. Cheap to share between threads (`Arc` inside).
#[derive(Debug, Clone)]
pub struct CompiledService {
    pub(crate) inner: Arc<Inner>,
    /// The hash this definition is known by; see [`CompiledService::definition_hash`].
    hash: Arc<str>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub service: Service,
    pub exprs: Vec<Compiled>,
    pub steps: Vec<StepPlan>,
    /// Top-level names (fields, then computed values) → slot in the context.
    pub slots: Arc<SlotMap>,
    /// For each top-level field slot: (step index, field index in the step).
    pub top_fields: Vec<(usize, usize)>,
    /// Indices into `service.computed`, dependencies first.
    pub computed_order: Vec<usize>,
    pub computed_exprs: Vec<usize>,
    pub rules: Vec<usize>,
    /// Per rule, the expressions its message shows (`{{ … }}`), by their source.
    pub rule_values: Vec<Vec<(String, usize)>>,
    pub fees: Vec<(usize, Option<usize>)>,
    /// All conditions outside repeats, compiled into one list expression: a visibility round
    /// evaluates them with one call instead of one call each. `batch_slots[expr]` is the
    /// position of expression `expr`'s result in that list (conditions with the same source
    /// share one).
    pub batch: Option<Compiled>,
    pub batch_slots: Vec<Option<usize>>,
    /// Step ids and top-level field paths, shared by every evaluation's field states.
    pub step_ids: Vec<Arc<str>>,
    pub top_paths: Vec<Arc<str>>,
}

#[derive(Debug)]
pub(crate) struct StepPlan {
    pub visible_if: Option<usize>,
    pub required_if: Option<usize>,
    pub fields: Vec<FieldPlan>,
}

/// What evaluation needs of a field beyond the model: its compiled conditions and pattern.
#[derive(Debug)]
pub(crate) struct FieldPlan {
    pub visible_if: Option<usize>,
    pub required_if: Option<usize>,
    pub pattern: Option<Regex>,
    /// Whether a condition or computed value reads a name equal to this field's id.
    pub read: bool,
    /// Whether the field has anything for `constraint_errors` to check: lengths, a pattern,
    /// bounds, or a file's kind and size.
    pub constrained: bool,
    /// Numeric bounds, parsed once.
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
    pub children: Vec<FieldPlan>,
    /// The ids of `children`, shared by the contexts of a repeat's items.
    pub child_ids: Arc<[String]>,
}

impl CompiledService {
    /// Compiles a service that passed `baukasten check`.
    pub fn new(service: &Service) -> Result<Self, CompileError> {
        let mut exprs = Vec::new();
        let mut compile = |e: &Expr| -> Result<usize, CompileError> {
            let compiled = Compiled::new(e).map_err(|message| CompileError { message, span: e.span })?;
            exprs.push(compiled);
            Ok(exprs.len() - 1)
        };
        let opt = |e: &Option<Expr>, compile: &mut dyn FnMut(&Expr) -> Result<usize, CompileError>| {
            e.as_ref().map(compile).transpose()
        };

        /// Each distinct pattern is compiled once; fields with the same one share it (a
        /// `Regex` clone shares the compiled program).
        type Patterns = std::collections::HashMap<String, Regex>;

        fn plan(
            field: &Field,
            compile: &mut dyn FnMut(&Expr) -> Result<usize, CompileError>,
            patterns: &mut Patterns,
        ) -> Result<FieldPlan, CompileError> {
            let visible_if = field.visible_if.as_ref().map(&mut *compile).transpose()?;
            let required_if = field.required_if.as_ref().map(&mut *compile).transpose()?;
            let pattern = match &field.constraints.pattern {
                Some(p) => Some(match patterns.get(&p.regex) {
                    Some(known) => known.clone(),
                    None => {
                        let compiled = Regex::new(&format!("^(?:{})$", p.regex)).map_err(|e| CompileError {
                            message: format!("pattern of `{}`: {e}", field.id),
                            span: field.span,
                        })?;
                        patterns.insert(p.regex.clone(), compiled.clone());
                        compiled
                    }
                }),
                None => None,
            };
            let children = field
                .kind
                .children()
                .unwrap_or(&[])
                .iter()
                .map(|c| plan(c, compile, patterns))
                .collect::<Result<_, _>>()?;
            let number = |b: &Option<Bound>| match b {
                Some(Bound::Number(n)) => n.parse::<Decimal>().ok(),
                _ => None,
            };
            Ok(FieldPlan {
                visible_if,
                required_if,
                pattern,
                read: false,
                constrained: {
                    let c = &field.constraints;
                    matches!(field.kind, baukasten_dsl::model::FieldKind::File { .. })
                        || c.min_length.is_some()
                        || c.max_length.is_some()
                        || c.pattern.is_some()
                        || c.min.is_some()
                        || c.max.is_some()
                },
                min: number(&field.constraints.min),
                max: number(&field.constraints.max),
                children,
                child_ids: field
                    .kind
                    .children()
                    .unwrap_or(&[])
                    .iter()
                    .map(|c| c.id.clone())
                    .collect(),
            })
        }

        let mut steps = Vec::new();
        let mut slots = SlotMap::default();
        let mut top_fields = Vec::new();
        let mut patterns = Patterns::new();
        for (si, step) in service.steps.iter().enumerate() {
            let visible_if = opt(&step.visible_if, &mut compile)?;
            let required_if = opt(&step.required_if, &mut compile)?;
            let mut fields = Vec::new();
            for (fi, field) in step.fields.iter().enumerate() {
                fields.push(plan(field, &mut compile, &mut patterns)?);
                slots.insert(field.id.clone(), top_fields.len());
                top_fields.push((si, fi));
            }
            steps.push(StepPlan {
                visible_if,
                required_if,
                fields,
            });
        }
        let mut computed_exprs = Vec::new();
        for (i, c) in service.computed.iter().enumerate() {
            computed_exprs.push(compile(&c.value)?);
            slots.insert(c.id.clone(), top_fields.len() + i);
        }
        let rules: Vec<usize> = service
            .rules
            .iter()
            .map(|r| compile(&r.check))
            .collect::<Result<_, _>>()?;
        let mut rule_values = Vec::new();
        for rule in &service.rules {
            let mut values = Vec::new();
            for value in &rule.values {
                values.push((value.source.clone(), compile(value)?));
            }
            rule_values.push(values);
        }
        let mut fees = Vec::new();
        for fee in &service.fees {
            let amount = compile(&fee.amount)?;
            let condition = opt(&fee.condition, &mut compile)?;
            fees.push((amount, condition));
        }
        let computed_order = dependency_order(service, &computed_exprs, &exprs)?;
        let (batch, batch_slots) = batch(service, &steps, &exprs);
        let hash = definition_hash(service);
        // Expressions are compiled in order: conditions and computed values first, then rules
        // and fees.
        let conditions_end: usize = rules
            .first()
            .copied()
            .or(fees.first().map(|f| f.0))
            .unwrap_or(exprs.len());
        // Every name that a condition or a computed value reads: clearing a hidden field that
        // none of them reads cannot change visibility, so evaluation needs no second round.
        let condition_names: HashSet<String> = exprs[..conditions_end]
            .iter()
            .flat_map(|e| {
                // Item conditions read item fields by their own names; take every dotted part
                // of what the expression reads (found when it was compiled, not parsed again).
                e.reads
                    .iter()
                    .flat_map(|n| n.split('.').map(str::to_string).collect::<Vec<_>>())
            })
            .collect();
        fn mark_read(field: &Field, plan: &mut FieldPlan, names: &HashSet<String>) {
            plan.read = names.contains(&field.id);
            for (f, p) in field.kind.children().unwrap_or(&[]).iter().zip(&mut plan.children) {
                mark_read(f, p, names);
            }
        }
        for (step, plan) in service.steps.iter().zip(&mut steps) {
            for (f, p) in step.fields.iter().zip(&mut plan.fields) {
                mark_read(f, p, &condition_names);
            }
        }
        Ok(Self {
            hash: Arc::from(hash),
            inner: Arc::new(Inner {
                service: service.clone(),
                exprs,
                steps,
                slots: Arc::new(slots),
                top_fields,
                computed_order,
                computed_exprs,
                rules,
                rule_values,
                fees,
                batch,
                batch_slots,
                step_ids: service.steps.iter().map(|s| Arc::from(s.id.as_str())).collect(),
                top_paths: service
                    .steps
                    .iter()
                    .flat_map(|s| &s.fields)
                    .map(|f| Arc::from(f.id.as_str()))
                    .collect(),
            }),
        })
    }

    pub fn service(&self) -> &Service {
        &self.inner.service
    }

    /// A hash of the compiled definition (FNV-1a over its canonical JSON), so a submission can
    /// be pinned to exactly the definition it was filled in against.
    ///
    /// The hash names a published definition; it is not a checksum to verify later. A later
    /// release may hash the same source differently (a key added to the model changes the
    /// JSON), so a definition compiled again from stored sources is given the hash it was
    /// published under with [`CompiledService::known_as`].
    pub fn definition_hash(&self) -> &str {
        &self.hash
    }

    /// This compiled service under the hash it was published with, for a definition compiled
    /// again from its stored sources. Drafts and submissions pinned to that hash stay on it.
    pub fn known_as(mut self, hash: &str) -> Self {
        self.hash = Arc::from(hash);
        self
    }
}

/// Computed values ordered so each comes after the values it reads. The checker refuses
/// cycles; should one reach the engine anyway, it is an error here too.
fn dependency_order(
    service: &Service,
    computed_exprs: &[usize],
    exprs: &[Compiled],
) -> Result<Vec<usize>, CompileError> {
    let index: HashMap<&str, usize> = service
        .computed
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let mut order = Vec::new();
    let mut state = vec![0u8; service.computed.len()]; // 0 new, 1 on stack, 2 done
    fn visit(
        i: usize,
        service: &Service,
        index: &HashMap<&str, usize>,
        computed_exprs: &[usize],
        exprs: &[Compiled],
        state: &mut [u8],
        order: &mut Vec<usize>,
    ) -> Result<(), CompileError> {
        match state[i] {
            2 => return Ok(()),
            1 => {
                return Err(CompileError {
                    message: format!("computed value `{}` depends on itself", service.computed[i].id),
                    span: service.computed[i].span,
                });
            }
            _ => {}
        }
        state[i] = 1;
        for name in &exprs[computed_exprs[i]].names {
            if let Some(&dep) = index.get(name.as_str()) {
                visit(dep, service, index, computed_exprs, exprs, state, order)?;
            }
        }
        state[i] = 2;
        order.push(i);
        Ok(())
    }
    for i in 0..service.computed.len() {
        visit(i, service, &index, computed_exprs, exprs, &mut state, &mut order)?;
    }
    Ok(order)
}

/// The conditions outside repeats as one list expression (see `Inner::batch`). Every condition
/// of a round sees the same context, so evaluating them together gives the same values.
fn batch(service: &Service, steps: &[StepPlan], exprs: &[Compiled]) -> (Option<Compiled>, Vec<Option<usize>>) {
    fn walk(field: &Field, plan: &FieldPlan, out: &mut Vec<usize>) {
        out.extend(plan.visible_if);
        out.extend(plan.required_if);
        if let baukasten_dsl::model::FieldKind::Group { fields } = &field.kind {
            for (f, p) in fields.iter().zip(&plan.children) {
                walk(f, p, out);
            }
        }
    }
    let mut conditions = Vec::new();
    for (step, plan) in service.steps.iter().zip(steps) {
        conditions.extend(plan.visible_if);
        conditions.extend(plan.required_if);
        for (f, p) in step.fields.iter().zip(&plan.fields) {
            walk(f, p, &mut conditions);
        }
    }
    let mut slots = vec![None; exprs.len()];
    if conditions.len() < 2 {
        return (None, slots);
    }
    // Services repeat conditions (several fields shown for the same answer): each distinct
    // source is evaluated once and its result shared, as every condition of a round sees the
    // same context.
    let mut distinct: Vec<&str> = Vec::new();
    let mut position: HashMap<&str, usize> = HashMap::new();
    let mut positions = Vec::with_capacity(conditions.len());
    for &i in &conditions {
        let source = exprs[i].source.as_str();
        let pos = *position.entry(source).or_insert_with(|| {
            distinct.push(source);
            distinct.len() - 1
        });
        positions.push(pos);
    }
    let source = format!(
        "[{}]",
        distinct
            .iter()
            .map(|source| format!("({source})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let expr = Expr {
        source,
        span: baukasten_dsl::Span::default(),
    };
    match Compiled::new(&expr) {
        Ok(compiled) => {
            for (&i, &pos) in conditions.iter().zip(&positions) {
                slots[i] = Some(pos);
            }
            (Some(compiled), slots)
        }
        // Each condition compiled on its own, so this cannot fail; if it did, evaluation
        // would simply fall back to one call per condition.
        Err(_) => (None, slots),
    }
}

fn definition_hash(service: &Service) -> String {
    let json = serde_json::to_string(service).unwrap_or_default();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in json.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}
