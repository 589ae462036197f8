//! Expressions: compiled once per service, evaluated many times.
//!
//! All services share one minijinja environment, built once: strict undefined behaviour (a
//! name that is not in scope is an error, never a silent `false`), a fuel limit (a runaway
//! expression stops with an error instead of hanging the server), and our functions. Because
//! the environment is `'static`, compiled expressions can live in the compiled service without
//! borrowing anything.
//!
//! Values in expressions: texts are strings, whole numbers are integers, decimals and money
//! are floats (results that are money are rounded to the cent and summed as exact decimals),
//! dates are ISO strings (`"2026-11-23"`, so `<` and `>=` compare them correctly), yes/no and
//! consent are booleans, checkboxes are lists of strings, groups are maps, repeats are lists of
//! maps, and an unanswered or hidden field is `none`.

use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};
use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Expression, State, UndefinedBehavior};

/// Instructions one expression may run. Real conditions need a few dozen; `sum` over a long
/// repeat costs one unit per item.
pub const FUEL: u64 = 50_000;

/// The name under which the evaluation's date for `today()` is put into the context. It is not
/// a valid field id (ids start with a letter), so it cannot clash with one.
pub(crate) const TODAY: &str = "__today";

pub(crate) fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| build_env(FUEL))
}

fn build_env(fuel: u64) -> Environment<'static> {
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(fuel));
    env.add_function("today", today);
    env.add_function("age", age);
    env.add_function("days_between", days_between);
    env.add_function("len", len);
    env.add_function("sum", sum);
    env
}

/// An expression of the service, compiled.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub source: String,
    pub span: baukasten_dsl::Span,
    pub expr: Expression<'static, 'static>,
    /// Top-level names the expression reads (fields and computed values).
    pub names: Vec<String>,
    /// The names it reads as written, with their dotted member paths (`person.alter`).
    pub reads: Vec<String>,
}

impl Compiled {
    pub fn new(expr: &baukasten_dsl::model::Expr) -> Result<Self, String> {
        let env = env();
        let reads: Vec<String> = baukasten_dsl::expression_names(env, &expr.source)?
            .into_iter()
            .collect();
        let names = reads
            .iter()
            .map(|n| n.split('.').next().unwrap_or_default().to_string())
            .collect();
        let compiled = env
            .compile_expression_owned(expr.source.clone())
            .map_err(|e| e.to_string())?;
        Ok(Self {
            source: expr.source.clone(),
            span: expr.span,
            expr: compiled,
            names,
            reads,
        })
    }

    pub fn eval(&self, ctx: &Value) -> Result<Value, Error> {
        self.expr.eval(ctx.clone())
    }

    /// Whether a name the expression reads has no value in `ctx`: an unanswered or hidden
    /// field, or a member of one. An expression like `anzahl * 2` then fails by design.
    pub fn reads_unanswered(&self, ctx: &Value) -> bool {
        self.reads.iter().any(|name| {
            let mut value = ctx.clone();
            for part in name.split('.') {
                value = match value.get_attr(part) {
                    Ok(v) => v,
                    Err(_) => return true,
                };
                if value.is_none() || value.is_undefined() {
                    return true;
                }
            }
            false
        })
    }
}

/// Whether an evaluation error is about a missing value: an undefined name, or an operation
/// on `none` (minijinja names the operand types in its message, e.g. "unsupported types none
/// and number").
pub(crate) fn about_no_value(e: &Error) -> bool {
    e.kind() == ErrorKind::UndefinedError
        || e.detail()
            .is_some_and(|d| d.contains("none") || d.contains("undefined"))
}

fn date_of(value: &Value, what: &str) -> Result<NaiveDate, Error> {
    let text = value.as_str().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("{what}: expected a date, got {}", value.kind()),
        )
    })?;
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, format!("{what}: `{text}` is not a date")))
}

fn today_of(state: &State) -> Result<NaiveDate, Error> {
    let value = state
        .lookup(TODAY)
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "today() has no date in this context"))?;
    date_of(&value, "today()")
}

fn today(state: &State) -> Result<Value, Error> {
    Ok(Value::from(today_of(state)?.format("%Y-%m-%d").to_string()))
}

/// Whole years from `date` until today: the age of a person born on `date`.
fn age(state: &State, date: Value) -> Result<Value, Error> {
    if date.is_none() || date.is_undefined() {
        return Ok(Value::from(()));
    }
    let born = date_of(&date, "age()")?;
    let today = today_of(state)?;
    let mut years = today.year() - born.year();
    if (today.month(), today.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    Ok(Value::from(years))
}

/// Days from `a` to `b`: positive when `b` is later.
fn days_between(a: Value, b: Value) -> Result<Value, Error> {
    if a.is_none() || b.is_none() {
        return Ok(Value::from(()));
    }
    let (a, b) = (date_of(&a, "days_between()")?, date_of(&b, "days_between()")?);
    Ok(Value::from((b - a).num_days()))
}

/// The number of items of a list (a repeat, checkboxes) or characters of a text; 0 for none.
fn len(value: Value) -> Result<Value, Error> {
    if value.is_none() || value.is_undefined() {
        return Ok(Value::from(0));
    }
    if let Some(text) = value.as_str() {
        return Ok(Value::from(text.chars().count()));
    }
    value.len().map(Value::from).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("len(): cannot count a {}", value.kind()),
        )
    })
}

/// `sum(repeat, "field")`: the sum of a numeric field over a repeat's items; unanswered items
/// count as 0, and a yes/no field counts its "yes" answers. `sum(list)` sums a list of numbers.
fn sum(list: Value, field: Rest<Value>) -> Result<Value, Error> {
    if list.is_none() || list.is_undefined() {
        return Ok(Value::from(0));
    }
    let field = field.first().and_then(|f| f.as_str().map(str::to_string));
    let mut int_total: i64 = 0;
    let mut float_total: f64 = 0.0;
    let mut is_float = false;
    for item in list.try_iter()? {
        let v = match &field {
            Some(name) => item.get_attr(name)?,
            None => item,
        };
        match v.kind() {
            ValueKind::None | ValueKind::Undefined => {}
            // Yes/no answers count: `sum(hunde, "gefaehrlich")` is the number of dangerous dogs.
            ValueKind::Bool => int_total += i64::from(v.is_true()),
            ValueKind::Number => {
                if let Some(i) = v.as_i64().filter(|_| !is_float_value(&v)) {
                    int_total = int_total.saturating_add(i);
                } else {
                    is_float = true;
                    float_total += f64::try_from(v.clone()).unwrap_or(0.0);
                }
            }
            kind => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("sum(): cannot add a {kind}"),
                ));
            }
        }
    }
    Ok(if is_float {
        Value::from(float_total + int_total as f64)
    } else {
        Value::from(int_total)
    })
}

fn is_float_value(v: &Value) -> bool {
    // minijinja reports 2.0 as an i64 as well; the string form tells a float apart.
    v.to_string().contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(source: &str, ctx: Value) -> Result<Value, Error> {
        env().compile_expression(source).unwrap().eval(ctx)
    }

    #[test]
    fn functions_work_on_iso_dates_and_lists() {
        let ctx = minijinja::context! { __today => "2026-11-23", geb => "2000-11-24", p => vec![
        minijinja::context!{ n => 2, b => true }, minijinja::context!{ n => (), b => false },
        minijinja::context!{ n => 3, b => true }] };
        assert_eq!(eval("today()", ctx.clone()).unwrap().as_str(), Some("2026-11-23"));
        assert_eq!(eval("age(geb)", ctx.clone()).unwrap().as_i64(), Some(25));
        assert_eq!(
            eval("days_between(geb, today())", ctx.clone()).unwrap().as_i64(),
            Some(9495)
        );
        assert_eq!(eval("len(p)", ctx.clone()).unwrap().as_i64(), Some(3));
        assert_eq!(eval("sum(p, \"n\")", ctx.clone()).unwrap().as_i64(), Some(5));
        assert_eq!(eval("sum(p, \"b\")", ctx.clone()).unwrap().as_i64(), Some(2));
        assert!(eval("today() >= \"2026-01-01\"", ctx).unwrap().is_true());
    }

    #[test]
    fn strict_undefined_and_fuel_stop_bad_expressions() {
        let err = eval("nope == 1", minijinja::context! {}).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UndefinedError);
        // Expressions have no loops and are at most 1,000 characters long (the checker's
        // limit), so the real budget is a backstop; a tiny one shows that running out is an
        // error, not a hang.
        let small = build_env(20);
        let long = format!("x{}", " + x".repeat(30));
        let err = small
            .compile_expression(&long)
            .unwrap()
            .eval(minijinja::context! { x => 1 })
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::OutOfFuel);
    }
}
