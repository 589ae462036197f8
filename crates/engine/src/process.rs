//! What happens to a submission after sending: the state it starts in and the moves between
//! states that its service's `process:` allows.
//!
//! The rules live here so that every way of changing a state (the JSON API today, the clerks'
//! inbox later) asks the same question and gets the same answer.

use baukasten_dsl::model::{Service, Text};

/// The state of a new submission when its service declares no `process: states:`.
pub const DEFAULT_INITIAL_STATE: &str = "eingegangen";

/// The life cycle of one service's submissions.
#[derive(Debug, Clone, Copy)]
pub struct Lifecycle<'a> {
    service: &'a Service,
}

/// Why a move between states is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the process does not allow '{from}' → '{to}'")]
pub struct TransitionRefused {
    pub from: String,
    pub to: String,
}

impl<'a> Lifecycle<'a> {
    pub fn of(service: &'a Service) -> Self {
        Lifecycle { service }
    }

    /// The state a new submission starts in: the process's first state, else
    /// [`DEFAULT_INITIAL_STATE`].
    pub fn initial_state(&self) -> &'a str {
        self.service
            .process
            .states
            .first()
            .map_or(DEFAULT_INITIAL_STATE, |s| s.id.as_str())
    }

    /// Whether a submission in state `from` may move to `to`: a declared transition, or, where
    /// the process declares none, any declared state.
    pub fn allows(&self, from: &str, to: &str) -> bool {
        let process = &self.service.process;
        if process.transitions.is_empty() {
            process.states.iter().any(|s| s.id == to)
        } else {
            process.transitions.iter().any(|t| t.from == from && t.to == to)
        }
    }

    /// The moves offered from state `from`, in the order the process declares them: each
    /// target with the transition's label, else the target state's label, else none. Exactly
    /// the moves [`Lifecycle::allows`] (where no transitions are declared: every other state).
    pub fn moves_from(&self, from: &str) -> Vec<(&'a str, Option<&'a Text>)> {
        let process = &self.service.process;
        let state_label = |id: &str| {
            process
                .states
                .iter()
                .find(|s| s.id == id)
                .and_then(|s| s.label.as_ref())
        };
        if process.transitions.is_empty() {
            process
                .states
                .iter()
                .filter(|s| s.id != from)
                .map(|s| (s.id.as_str(), s.label.as_ref()))
                .collect()
        } else {
            process
                .transitions
                .iter()
                .filter(|t| t.from == from)
                .map(|t| (t.to.as_str(), t.label.as_ref().or_else(|| state_label(&t.to))))
                .collect()
        }
    }

    /// A state's label in the process, if it has one.
    pub fn state_label(&self, id: &str) -> Option<&'a Text> {
        self.service
            .process
            .states
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.label.as_ref())
    }

    /// [`Lifecycle::allows`] as a result, with the refusal to report.
    pub fn check(&self, from: &str, to: &str) -> Result<(), TransitionRefused> {
        if self.allows(from, to) {
            Ok(())
        } else {
            Err(TransitionRefused {
                from: from.to_string(),
                to: to.to_string(),
            })
        }
    }
}
