//! What happens to a submission after sending: the state it starts in, the moves between
//! states that its service's `process:` allows, which states are final, and how long a
//! submission is kept after reaching one.
//!
//! The rules live here so that every way of changing a state (the JSON API, the clerks'
//! inbox) and the daily retention job ask the same question and get the same answer.

use baukasten_dsl::model::{IMPLICIT_STATE, Service, Tenant, Text};

/// The state of a new submission when its service declares no `process: states:`.
pub const DEFAULT_INITIAL_STATE: &str = IMPLICIT_STATE;

/// How many days a submission of `service` is kept after it reached a final state: the
/// service's own `retention`, else the default of its municipality (`tenant`, the one the
/// submission was made for), else `None`: it is kept.
///
/// The period is not pinned to the definition a submission was made with; pass the service as
/// the current catalog offers it (a municipality's overlay, else the shared service).
pub fn retention_days(service: &Service, tenant: Option<&Tenant>) -> Option<u32> {
    service
        .retention
        .or_else(|| tenant.and_then(|t| t.retention))
        .map(|r| r.after_final_state_days)
}

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

    /// Whether `state` is final: the process allows no move from it to another state, so a
    /// submission there stays there, and its retention period (see [`retention_days`]) runs.
    ///
    /// With transitions, a declared state that no transition leaves. Without transitions any
    /// declared state may follow any other, so none is final, unless the process declares
    /// exactly one state (or none, and every submission stays in [`DEFAULT_INITIAL_STATE`]):
    /// nothing can follow it. A state the process does not declare (one removed from the
    /// service since) is never final, so its submissions are kept. Of the states a submission
    /// can be in, exactly those from which [`Lifecycle::moves_from`] offers nothing.
    pub fn is_final(&self, state: &str) -> bool {
        self.service.process.is_final(state)
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
