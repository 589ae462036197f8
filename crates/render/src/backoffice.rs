//! The clerks' inbox under `/verwaltung/`: sign-in, the list of a municipality's submissions,
//! and one submission with its answers, history, deliveries and the state changes its process
//! allows. The server fills the views below with texts (it knows the store, the catalog and
//! the time zone); this module only writes the HTML, in the style of the citizen's pages.

use minijinja::context;
use serde::Serialize;

use crate::pages::{Page, Renderer, ser};

/// Who is signed in, for the header of every inbox page but the sign-in.
#[derive(Debug, Clone, Serialize)]
pub struct Clerk {
    pub name: String,
    /// Where the sign-out form posts to.
    pub sign_out_url: String,
}

/// Why the sign-in form is shown again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInProblem {
    /// Name or password wrong (never which of them).
    Wrong,
    /// Too many attempts from this address or for this name just now.
    Throttled,
    /// The form was older than the session it belonged to (CSRF token).
    Expired,
}

/// The sign-in page.
#[derive(Debug, Clone, Serialize)]
pub struct SignIn {
    pub action_url: String,
    /// The municipalities to choose from; an account belongs to one.
    pub municipalities: Vec<Choice>,
    /// The name as typed, to fill in again.
    pub name: String,
    pub problem: Option<SignInProblem>,
}

/// One choice of a filter's select box.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A row of the inbox's list.
#[derive(Debug, Clone, Serialize)]
pub struct InboxRow {
    pub reference: String,
    pub url: String,
    pub service: String,
    /// When it was received, as the clerk reads it (`04.05.2026, 09:30`).
    pub received: String,
    /// The state's label.
    pub state: String,
    pub deliveries: DeliveryTally,
}

/// How a submission's deliveries stand.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct DeliveryTally {
    pub delivered: usize,
    pub pending: usize,
    pub failed: usize,
}

/// The list page.
#[derive(Debug, Clone, Serialize)]
pub struct InboxList {
    /// Where the filter form is sent (GET).
    pub action_url: String,
    pub services: Vec<Choice>,
    pub states: Vec<Choice>,
    /// The dates as `YYYY-MM-DD` for the date inputs, empty when not set.
    pub from: String,
    pub until: String,
    pub text: String,
    /// Whether any filter is set (offers "reset").
    pub filtered: bool,
    pub rows: Vec<InboxRow>,
    /// The number of submissions in each state, all services: (state label, count).
    pub counts: Vec<(String, u64)>,
    /// The filtered list as CSV and as JSON Lines.
    pub csv_url: String,
    pub jsonl_url: String,
    pub next_url: Option<String>,
    /// Back to the first page, when this is a later one.
    pub first_url: Option<String>,
}

/// A section of answers, as on the citizen's summary.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerSection {
    pub title: String,
    pub rows: Vec<(String, Vec<String>)>,
}

/// An uploaded file of the submission.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentLink {
    pub name: String,
    pub url: String,
    /// E.g. `2,3 MB`.
    pub size: String,
}

/// A line of the submission's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryRow {
    pub at: String,
    pub who: String,
    /// What happened, e.g. "Eingegangen" or the new state's label.
    pub what: String,
    pub from: Option<String>,
    pub comment: Option<String>,
}

/// A delivery of the submission with its attempts.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRow {
    /// E.g. `Webhook fachverfahren` or `E-Mail an bauhof@…`.
    pub target: String,
    /// `pending`, `delivered`, `failed` or `stopped`.
    pub status: String,
    pub attempts: usize,
    pub last_error: Option<String>,
    pub next_attempt: Option<String>,
    /// Where "Erneut senden" posts to.
    pub resend_url: String,
}

/// A state change the process allows from the current state.
#[derive(Debug, Clone, Serialize)]
pub struct Transition {
    pub to: String,
    pub label: String,
}

/// What the detail page reports after an action.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// The state was changed to this label.
    Moved {
        state: String,
    },
    /// A colleague changed the state first; it is now this label.
    Conflict {
        state: String,
    },
    /// The move is not one the process allows (any more).
    NotAllowed,
    Resent,
}

/// One submission.
#[derive(Debug, Clone, Serialize)]
pub struct InboxDetail {
    pub reference: String,
    pub service: String,
    pub version: String,
    pub received: String,
    pub state: String,
    pub list_url: String,
    pub notice: Option<Notice>,
    pub sections: Vec<AnswerSection>,
    pub fees: Vec<(String, String)>,
    pub fee_total: Option<String>,
    pub attachments: Vec<AttachmentLink>,
    pub receipt_url: String,
    pub history: Vec<HistoryRow>,
    pub deliveries: Vec<DeliveryRow>,
    /// Where the state form posts to, with `to`, an optional `comment` and `from` (the state
    /// the clerk saw).
    pub state_url: String,
    pub state_id: String,
    pub transitions: Vec<Transition>,
}

impl Renderer {
    /// The sign-in page of the back office.
    pub fn inbox_sign_in(&self, page: &Page, sign_in: &SignIn) -> String {
        let has_errors = sign_in.problem.is_some();
        self.render_with(
            "inbox_sign_in.html",
            page,
            true,
            context! { view => ser(sign_in), has_errors => has_errors },
        )
    }

    /// The list of a municipality's submissions.
    pub fn inbox_list(&self, page: &Page, clerk: &Clerk, list: &InboxList) -> String {
        self.render_with(
            "inbox_list.html",
            page,
            true,
            context! { view => ser(list), clerk => ser(clerk) },
        )
    }

    /// One submission.
    pub fn inbox_detail(&self, page: &Page, clerk: &Clerk, detail: &InboxDetail) -> String {
        self.render_with(
            "inbox_detail.html",
            page,
            true,
            context! { view => ser(detail), clerk => ser(clerk) },
        )
    }
}
