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
    /// Its answers and files were deleted at the end of the retention period.
    pub redacted: bool,
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
    /// The delivery's name at the target, e.g. the FIT-Connect submission and case.
    pub remote: Option<String>,
    /// What the target reported afterwards, oldest first, each a line with its time.
    pub reports: Vec<String>,
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
    /// When its answers and files were deleted (the retention period ended); the page then
    /// shows the minimal record only.
    pub redacted: Option<String>,
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

/// A failed delivery on the overview.
#[derive(Debug, Clone, Serialize)]
pub struct FailedDelivery {
    pub reference: String,
    pub url: String,
    pub target: String,
    pub last_error: Option<String>,
    /// When the last attempt was made.
    pub at: String,
}

/// The overview: submissions per day and service, and the failed deliveries.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    /// The days, oldest first, as the axis shows them (`29.11.`), and in full for the table.
    pub days: Vec<(String, String)>,
    /// Per service: its title and the count for each day.
    pub series: Vec<(String, Vec<u32>)>,
    pub failed: Vec<FailedDelivery>,
}

/// Colours of the chart's series: each at least 3:1 against white (WCAG 1.4.11); the numbers
/// are also in the table beside the chart, so no one needs to tell the colours apart.
const SERIES_COLOURS: [&str; 8] = [
    "#1d4f91", "#b3261e", "#00703c", "#6f3c97", "#8a5300", "#005a70", "#505a5f", "#a3195b",
];

/// The overview's chart as SVG: stacked bars, one per day, with axis labels; a `title` and a
/// `desc` name it for assistive technology (the table beside it has the numbers).
pub fn overview_chart(overview: &Overview, title: &str, description: &str) -> String {
    use std::fmt::Write;
    let (width, height, left, bottom, top) = (720.0_f64, 260.0_f64, 36.0_f64, 40.0_f64, 10.0_f64);
    let days = overview.days.len().max(1);
    let totals: Vec<u32> = (0..overview.days.len())
        .map(|d| {
            overview
                .series
                .iter()
                .map(|(_, counts)| counts.get(d).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    // A round top for the axis: 1, 2, 5 × 10^n.
    let mut scale = 1u32;
    while scale < max {
        scale = match scale.to_string().as_bytes()[0] {
            b'1' => scale * 2,
            b'2' => scale / 2 * 5,
            _ => scale * 2,
        };
    }
    let plot_h = height - bottom - top;
    let slot = (width - left) / days as f64;
    let bar = (slot * 0.7).max(1.0);
    let mut svg = String::new();
    let esc = |t: &str| {
        let mut s = String::new();
        crate::fields::escape_into(&mut s, t);
        s
    };
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg"><title id="chart-title">{}</title><desc id="chart-desc">{}</desc>"#,
        esc(title),
        esc(description)
    );
    // The axis: 0, half and the top.
    for (value, y) in [
        (0, height - bottom),
        (scale / 2, height - bottom - plot_h / 2.0),
        (scale, top),
    ] {
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{width}" y1="{y}" y2="{y}" stroke="#b1b4b6" stroke-width="1"/><text x="{}" y="{}" font-size="11" text-anchor="end" fill="#1b1b1b">{value}</text>"##,
            left - 4.0,
            y + 4.0
        );
    }
    for d in 0..overview.days.len() {
        let x = left + d as f64 * slot + (slot - bar) / 2.0;
        let mut y = height - bottom;
        for (s, (_, counts)) in overview.series.iter().enumerate() {
            let n = counts.get(d).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let h = plot_h * f64::from(n) / f64::from(scale);
            y -= h;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{}"/>"#,
                SERIES_COLOURS[s % SERIES_COLOURS.len()]
            );
        }
        // Every fifth day and the last get a label.
        if d % 5 == 0 || d + 1 == overview.days.len() {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{}" font-size="11" text-anchor="middle" fill="#1b1b1b">{}</text>"##,
                x + bar / 2.0,
                height - bottom + 16.0,
                esc(&overview.days[d].0)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

impl Renderer {
    /// The overview: the chart, its legend, the numbers as a table, the failed deliveries.
    pub fn inbox_overview(&self, page: &Page, clerk: &Clerk, overview: &Overview) -> String {
        let lang = if page.lang == "en" { "en" } else { "de" };
        let ui = |k| crate::i18n::ui_string(lang, k).unwrap_or("");
        let total: u32 = overview.series.iter().flat_map(|(_, c)| c.iter()).sum();
        let description = ui("bo_chart_desc")
            .replace("{days}", &overview.days.len().to_string())
            .replace("{total}", &total.to_string());
        let chart = overview_chart(overview, ui("bo_chart_title"), &description);
        let legend: Vec<(String, &str)> = overview
            .series
            .iter()
            .enumerate()
            .map(|(i, (title, _))| (title.clone(), SERIES_COLOURS[i % SERIES_COLOURS.len()]))
            .collect();
        self.render_with(
            "inbox_overview.html",
            page,
            true,
            context! {
                view => ser(overview),
                clerk => ser(clerk),
                chart => minijinja::Value::from_safe_string(chart),
                legend => ser(legend),
                total => total,
            },
        )
    }
}
