//! A citizen's draft on the pages: how a posted step merges into the answers kept so far, and
//! where the citizen goes after "Weiter" or "Zurück".
//!
//! These are the rules of the step-by-step flow; the server reads the form and stores the
//! uploads and the draft, and asks this module what the new answers are and what comes next.

use std::collections::HashSet;

use serde_json::{Map, Value as Json};

use crate::walk::{self, Visit};
use crate::{CompiledService, Context, Evaluation, Limits};

/// A repeat item the citizen removed with the post ("Entfernen"): the items after it moved up
/// by one in the posted answers, and the files kept from the draft move with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemovedItem<'a> {
    /// The repeat's path, e.g. `hunde`.
    pub repeat: &'a str,
    pub index: usize,
}

/// Where the citizen goes after "Weiter" on a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterContinue {
    /// The answer just given revealed a question on this step that is still empty: show the
    /// step again and ask it, without calling its emptiness an error (what the optional script
    /// does live).
    AskRevealed,
    /// The step has errors: show it again with them.
    ShowErrors,
    /// On to this step.
    Step(String),
    /// Every step is done: on to the summary.
    Summary,
}

impl CompiledService {
    /// Whether a file posted under the form name `path` (`nachweis`, `kinder.0.nachweis`)
    /// belongs to a file field of this service.
    pub fn accepts_file_at(&self, path: &str) -> bool {
        walk::field_at(self.service(), path, &Limits::default()).is_some_and(|f| f.kind.is_file())
    }

    /// The draft's answers after a post of `step`: the step's answers (`posted`, as the form
    /// decoded them) replace the draft's, except that files uploaded on an earlier visit stay
    /// (a form re-sends every input but not the files), and each newly stored upload
    /// (`files`: form name and the answer naming the upload) is put at its place. Uploads at a
    /// name that is not a file field of the service are left out. With `removed`, the files of
    /// the removed item are dropped and those of later items move up with their items.
    pub fn merge_step(
        &self,
        step: &str,
        draft: &Json,
        posted: Json,
        files: Vec<(String, Json)>,
        removed: Option<RemovedItem<'_>>,
    ) -> Json {
        let service = self.service();
        let limits = Limits::default();
        let mut answers = draft.clone();
        if let (Json::Object(all), Json::Object(this_step), Some(step)) = (&mut answers, posted, service.step(step)) {
            // The files the draft holds on this step, to put back where the post has none.
            let mut kept: Vec<(String, Json)> = Vec::new();
            walk::walk(&step.fields, draft, &limits, &mut |visit: Visit<'_, '_>, answer| {
                if visit.field.kind.is_file() && !answer.is_null() {
                    let path = match removed {
                        Some(removed) => match shifted(visit.path, removed) {
                            Some(path) => path,
                            None => return,
                        },
                        None => visit.path.to_string(),
                    };
                    kept.push((path, answer.clone()));
                }
            });
            let posted_keys: HashSet<String> = this_step.keys().cloned().collect();
            for (key, value) in this_step {
                all.insert(key, value);
            }
            for (path, old) in kept {
                let top = path.split('.').next().unwrap_or("");
                if !posted_keys.contains(top) {
                    continue;
                }
                if let Some((parent, name)) = parent_mut(all, &path)
                    && parent.get(name).is_none_or(Json::is_null)
                {
                    parent.insert(name.to_string(), old);
                }
            }
        }
        for (path, value) in files {
            if self.accepts_file_at(&path) {
                walk::set_at(service, &mut answers, &path, value, &limits);
            }
        }
        answers
    }

    /// What follows "Weiter" on `step`, given the answers before the post and the evaluation
    /// of the answers after it.
    pub fn after_continue(&self, before: &Json, now: &Evaluation, step: &str, ctx: &Context) -> AfterContinue {
        if self.revealed_question(before, now, step, ctx).is_some() {
            return AfterContinue::AskRevealed;
        }
        if !now.step_errors(step).is_empty() {
            return AfterContinue::ShowErrors;
        }
        match now.next_step(step) {
            Some(next) => AfterContinue::Step(next.to_string()),
            None => AfterContinue::Summary,
        }
    }

    /// What follows "Weiter" on a step the citizen reached with "Ändern" from the summary
    /// (the check-answers pattern): back to the summary, unless the change needs more. A
    /// question it revealed on this step is asked first, errors on it are shown, and a later
    /// step that now lacks answers (one the change revealed or made required) comes before
    /// the summary.
    pub fn after_change(&self, before: &Json, now: &Evaluation, step: &str, ctx: &Context) -> AfterContinue {
        match self.after_continue(before, now, step, ctx) {
            AfterContinue::Step(_) | AfterContinue::Summary => {
                let path = now.path();
                let later = path.iter().skip_while(|s| **s != step).skip(1);
                match later.copied().find(|s| !now.step_errors(s).is_empty()) {
                    Some(s) => AfterContinue::Step(s.to_string()),
                    None => AfterContinue::Summary,
                }
            }
            other => other,
        }
    }

    /// The first question of `step` that was hidden with the answers `before` and is shown now,
    /// required and still empty: the question the answer just given revealed.
    pub fn revealed_question<'e>(
        &self,
        before: &Json,
        now: &'e Evaluation,
        step: &str,
        ctx: &Context,
    ) -> Option<&'e str> {
        let missing: HashSet<&str> = now
            .errors
            .iter()
            .filter(|e| e.step == step && e.code == "required")
            .map(|e| e.field.as_str())
            .collect();
        if missing.is_empty() {
            return None;
        }
        // Revealed means hidden by a condition before: a field of a repeat item the answers
        // before did not have yet (the first item of an empty repeat, shown on every page) was
        // not hidden, only not there.
        let earlier = self.evaluate(before, ctx);
        let hidden_before: HashSet<&str> = earlier.fields.iter().filter(|f| !f.visible).map(|f| &*f.path).collect();
        now.fields
            .iter()
            .filter(|f| &*f.step == step && f.visible)
            .find(|f| hidden_before.contains(&*f.path) && missing.contains(&*f.path))
            .map(|f| &*f.path)
    }
}

/// Where an answer of the draft is after `removed`: the same path, one item up for a later
/// item of that repeat, or `None` for an answer of the removed item itself.
fn shifted(path: &str, removed: RemovedItem<'_>) -> Option<String> {
    let Some(rest) = path.strip_prefix(removed.repeat).and_then(|r| r.strip_prefix('.')) else {
        return Some(path.to_string());
    };
    let (index, member) = rest.split_once('.').unwrap_or((rest, ""));
    let Ok(index) = index.parse::<usize>() else {
        return Some(path.to_string());
    };
    match index.cmp(&removed.index) {
        std::cmp::Ordering::Less => Some(path.to_string()),
        std::cmp::Ordering::Equal => None,
        std::cmp::Ordering::Greater => Some(format!("{}.{}.{member}", removed.repeat, index - 1)),
    }
}

/// The object that holds the answer at `path`, and the answer's key in it, where the answers
/// already have that object; nothing is created.
fn parent_mut<'j, 'p>(
    answers: &'j mut Map<String, Json>,
    path: &'p str,
) -> Option<(&'j mut Map<String, Json>, &'p str)> {
    let (parent_path, name) = match path.rsplit_once('.') {
        Some((parent, name)) => (Some(parent), name),
        None => (None, path),
    };
    let Some(parent_path) = parent_path else {
        return Some((answers, name));
    };
    let mut parts = parent_path.split('.');
    let mut node = answers.get_mut(parts.next()?)?;
    for part in parts {
        node = match node {
            Json::Object(map) => map.get_mut(part)?,
            Json::Array(items) => items.get_mut(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match node {
        Json::Object(map) => Some((map, name)),
        _ => None,
    }
}
