//! The engine: runs a checked service.
//!
//! [`CompiledService::new`] compiles a service from `baukasten-dsl` once; its
//! [`evaluate`](CompiledService::evaluate) takes a citizen's answers and returns what is shown
//! and required, the computed values, the fees and every error. The HTML pages, the JSON API
//! and the YAML tests all call this one evaluator, so a rule cannot behave differently in two
//! places.
//!
//! The crate is pure: no IO, no HTTP, no storage. The clock comes in through [`Context`].

mod compile;
pub mod draft;
mod eval;
mod expr;
pub mod messages;
pub mod money;
pub mod process;
pub mod schema;
pub mod submission;
mod summary;
pub mod testing;
pub mod validators;
pub mod walk;

pub use compile::{CompileError, CompiledService};
pub use draft::{AfterContinue, RemovedItem};
pub use eval::{
    Context, DEFAULT_TIME_ZONE, Evaluation, ExpressionProblem, FeeItem, FieldError, FieldState, FixedFees, Limits,
    MAX_PASSES, StepState,
};
pub use expr::FUEL;
pub use messages::Message;
pub use process::{DEFAULT_INITIAL_STATE, Lifecycle, TransitionRefused, retention_days};
pub use schema::request_schema;
pub use submission::{StoredFile, SubmissionRecord, resolve_files, state_notification, unknown_fields};
pub use summary::{SummaryRow, SummaryStep, display};
