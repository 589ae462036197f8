//! The inbox's pages filled from the store and the catalog: the list with its filters and
//! counts, one submission, and its receipt and attachments as downloads.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use baukasten_dsl::model::{FieldKind, Service};
use baukasten_engine::Lifecycle;
use baukasten_engine::messages::{english_date, english_money, german_money};
use baukasten_render::backoffice::{
    AnswerSection, AttachmentLink, Choice, DeliveryRow, DeliveryTally, HistoryRow, InboxDetail, InboxList, InboxRow,
    Notice, Transition,
};
use baukasten_store::{DeliveryStatus, InboxQuery, Submission};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use super::Signed;
use crate::error::ApiError;
use crate::lang::Lang;
use crate::state::AppState;

/// How many submissions a page of the list shows.
const PAGE: usize = 50;

/// The list's query string: the filters and the cursor of the page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    service: Option<String>,
    state: Option<String>,
    /// `YYYY-MM-DD`, in the server's time zone.
    from: Option<String>,
    until: Option<String>,
    q: Option<String>,
    /// The cursor of the page (from the page before's "next").
    nach: Option<String>,
}

fn ui(lang: Lang, key: &str) -> &'static str {
    baukasten_render::ui_string(lang.code(), key).unwrap_or("")
}

/// A time as the clerk reads it, in the server's time zone.
fn when(state: &AppState, at: DateTime<Utc>, lang: Lang) -> String {
    let local = at.with_timezone(&state.config.time_zone);
    match lang {
        Lang::En => format!("{}, {}", english_date(local.date_naive()), local.format("%H:%M")),
        Lang::De => local.format("%d.%m.%Y, %H:%M").to_string(),
    }
}

/// The start of a day in the server's time zone; `None` for anything but `YYYY-MM-DD`.
fn day_start(state: &AppState, day: &str) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").ok()?;
    let midnight = date.and_hms_opt(0, 0, 0)?;
    state
        .config
        .time_zone
        .from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

pub(crate) fn state_label(life: &Lifecycle, id: &str, lang: Lang) -> String {
    life.state_label(id)
        .map_or_else(|| id.to_string(), |t| t.get(lang.code()).to_string())
}

/// The answers a search by name looks in: fields that hold a name by their `autocomplete`
/// or their id, also inside groups.
fn name_fields(service: &Service) -> Vec<String> {
    const NAMES: [&str; 5] = ["name", "given-name", "family-name", "additional-name", "organization"];
    let is_name =
        |id: &str, autocomplete: Option<&str>| autocomplete.is_some_and(|a| NAMES.contains(&a)) || id.contains("name");
    let mut out = Vec::new();
    for step in &service.steps {
        for field in &step.fields {
            if let FieldKind::Group { fields } = &field.kind {
                for member in fields {
                    if is_name(&member.id, member.autocomplete.as_deref()) {
                        out.push(format!("{}.{}", field.id, member.id));
                    }
                }
            } else if is_name(&field.id, field.autocomplete.as_deref()) {
                out.push(field.id.clone());
            }
        }
    }
    out
}

/// The clerk's municipality's submission, or `None` (also for another municipality's).
pub(crate) async fn owned(signed: &Signed, reference: &str) -> Option<Submission> {
    let store = signed.state.store.clone();
    let r = reference.to_string();
    let found = web::block(move || store.submission(&r)).await.ok()?.ok()??;
    (found.tenant.as_deref() == Some(signed.session.tenant.as_str())).then_some(found)
}

fn blank(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The store's query for the list's filters, for the clerk's municipality.
pub(crate) fn inbox_query(signed: &Signed, query: &ListQuery, limit: usize) -> InboxQuery {
    let tenant = signed.session.tenant.clone();
    let published = signed.state.registry.current();
    let mut text_fields: Vec<String> = published
        .offers_of(&tenant)
        .flat_map(|o| name_fields(o.service()))
        .collect();
    text_fields.sort();
    text_fields.dedup();
    InboxQuery {
        tenant,
        service: blank(&query.service),
        state: blank(&query.state),
        from: blank(&query.from).and_then(|d| day_start(&signed.state, &d)),
        until: blank(&query.until)
            .and_then(|d| day_start(&signed.state, &d))
            .map(|t| t + chrono::Duration::days(1)),
        text: blank(&query.q),
        text_fields,
        after: blank(&query.nach),
        limit,
    }
}

/// The list's filters (without the page), for links that keep them.
pub(crate) fn filters_of(query: &ListQuery) -> Vec<(&'static str, String)> {
    [
        ("service", blank(&query.service)),
        ("state", blank(&query.state)),
        ("from", blank(&query.from)),
        ("until", blank(&query.until)),
        ("q", blank(&query.q)),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect()
}

pub(crate) async fn list(state: web::Data<AppState>, req: HttpRequest, query: web::Query<ListQuery>) -> HttpResponse {
    let signed = match Signed::of(state, req).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let query = query.into_inner();
    let lang = signed.lang;
    let tenant = signed.session.tenant.clone();
    let published = signed.state.registry.current();
    let offers: Vec<_> = published.offers_of(&tenant).cloned().collect();
    let (service, state_filter, text) = (blank(&query.service), blank(&query.state), blank(&query.q));
    let inbox = inbox_query(&signed, &query, PAGE);
    let store = signed.state.store.clone();
    let t = tenant.clone();
    let found = web::block(move || {
        let page = store.inbox(&inbox)?;
        let counts = store.state_counts(&t)?;
        let mut tallies = Vec::with_capacity(page.submissions.len());
        for s in &page.submissions {
            let mut tally = DeliveryTally::default();
            for d in store.deliveries(&s.reference)? {
                match d.status {
                    DeliveryStatus::Delivered => tally.delivered += 1,
                    DeliveryStatus::Pending => tally.pending += 1,
                    DeliveryStatus::Failed | DeliveryStatus::Stopped => tally.failed += 1,
                }
            }
            tallies.push(tally);
        }
        Ok::<_, baukasten_store::StoreError>((page, counts, tallies))
    })
    .await;
    let (page, counts, tallies) = match found {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return signed.error(e.into()),
        Err(e) => return signed.error(ApiError::Internal(e.to_string())),
    };

    // The states of the municipality's services, each once, in the order the services declare them.
    let mut states: Vec<(String, String)> = Vec::new();
    for offer in &offers {
        for s in &offer.service().process.states {
            if !states.iter().any(|(id, _)| *id == s.id) {
                let label = s
                    .label
                    .as_ref()
                    .map_or_else(|| s.id.clone(), |l| l.get(lang.code()).to_string());
                states.push((s.id.clone(), label));
            }
        }
    }
    let label_of_state = |id: &str| {
        states
            .iter()
            .find(|(s, _)| s == id)
            .map_or_else(|| id.to_string(), |(_, l)| l.clone())
    };
    let title_of = |id: &str| {
        offers
            .iter()
            .find(|o| o.service().id == id)
            .map_or_else(|| id.to_string(), |o| o.service().title.get(lang.code()).to_string())
    };
    let rows = page
        .submissions
        .iter()
        .zip(tallies)
        .map(|(s, tally)| InboxRow {
            reference: s.reference.clone(),
            url: format!("/verwaltung/vorgang/{}", s.reference),
            service: title_of(&s.service),
            received: when(&signed.state, s.created_at, lang),
            state: label_of_state(&s.state),
            deliveries: tally,
            redacted: s.redacted_at.is_some(),
        })
        .collect();
    let filters = filters_of(&query);
    let export = |format: &str| {
        let qs = serde_urlencoded::to_string(&filters).unwrap_or_default();
        if qs.is_empty() {
            format!("/verwaltung/export.{format}")
        } else {
            format!("/verwaltung/export.{format}?{qs}")
        }
    };
    let url_with = |cursor: Option<&str>| {
        let mut pairs = filters.clone();
        if let Some(c) = cursor {
            pairs.push(("nach", c.to_string()));
        }
        let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if qs.is_empty() {
            "/verwaltung/eingang".to_string()
        } else {
            format!("/verwaltung/eingang?{qs}")
        }
    };
    let view = InboxList {
        action_url: "/verwaltung/eingang".into(),
        services: offers
            .iter()
            .map(|o| Choice {
                value: o.service().id.clone(),
                label: o.service().title.get(lang.code()).to_string(),
                selected: service.as_deref() == Some(o.service().id.as_str()),
            })
            .collect(),
        states: states
            .iter()
            .map(|(id, label)| Choice {
                value: id.clone(),
                label: label.clone(),
                selected: state_filter.as_deref() == Some(id.as_str()),
            })
            .collect(),
        from: blank(&query.from).unwrap_or_default(),
        until: blank(&query.until).unwrap_or_default(),
        text: text.unwrap_or_default(),
        filtered: !filters.is_empty(),
        rows,
        counts: counts
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(id, n)| (label_of_state(&id), n))
            .collect(),
        csv_url: export("csv"),
        jsonl_url: export("jsonl"),
        next_url: page.next.as_deref().map(|c| url_with(Some(c))),
        first_url: query.nach.is_some().then(|| url_with(None)),
    };
    signed.page(StatusCode::OK, |r, page, clerk| r.inbox_list(page, clerk, &view))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DetailQuery {
    hinweis: Option<String>,
}

pub(crate) async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<DetailQuery>,
) -> HttpResponse {
    let signed = match Signed::of(state, req).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let Some(submission) = owned(&signed, &path).await else {
        return signed.not_found();
    };
    let notice = match query.hinweis.as_deref() {
        Some("stand") => {
            let label = signed.state.registry.pinned(&submission.definition_hash).map_or_else(
                || submission.state.clone(),
                |c| state_label(&Lifecycle::of(c.service()), &submission.state, signed.lang),
            );
            Some(Notice::Moved { state: label })
        }
        Some("erneut") => Some(Notice::Resent),
        _ => None,
    };
    render_detail(&signed, submission, notice, StatusCode::OK).await
}

/// One submission's page, with `notice` on top.
pub(crate) async fn render_detail(
    signed: &Signed,
    submission: Submission,
    notice: Option<Notice>,
    status: StatusCode,
) -> HttpResponse {
    let lang = signed.lang;
    let Some(compiled) = signed.state.registry.pinned(&submission.definition_hash) else {
        return signed.error(ApiError::Internal("the submission's definition is gone".into()));
    };
    let store = signed.state.store.clone();
    let (r, ids) = (submission.reference.clone(), submission.attachments.clone());
    let found = web::block(move || {
        let audit = store.audit(&r)?;
        let deliveries = store.deliveries(&r)?;
        let mut files = Vec::new();
        for id in ids {
            if let Some((meta, _)) = store.attachment(&id)? {
                files.push(meta);
            }
        }
        Ok::<_, baukasten_store::StoreError>((audit, deliveries, files))
    })
    .await;
    let (audit, deliveries, files) = match found {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return signed.error(e.into()),
        Err(e) => return signed.error(ApiError::Internal(e.to_string())),
    };
    let service = compiled.service();
    let life = Lifecycle::of(service);
    let code = lang.code();
    let answers = submission.data.get("answers").cloned().unwrap_or_default();
    let evaluation = compiled.evaluate(&answers, &signed.state.context());
    let money = |d| {
        if lang == Lang::En {
            english_money(d)
        } else {
            german_money(d)
        }
    };
    let reference = &submission.reference;
    let view = InboxDetail {
        reference: reference.clone(),
        service: service.title.get(code).to_string(),
        version: submission.version.clone(),
        received: when(&signed.state, submission.created_at, lang),
        state: state_label(&life, &submission.state, lang),
        list_url: "/verwaltung/eingang".into(),
        notice,
        redacted: submission.redacted_at.map(|at| when(&signed.state, at, lang)),
        sections: compiled
            .summary(&evaluation, code)
            .into_iter()
            .filter(|s| !s.rows.is_empty())
            .map(|s| AnswerSection {
                title: s.title.get(code).to_string(),
                rows: s.rows.into_iter().map(|r| (r.label, r.lines)).collect(),
            })
            .collect(),
        fees: evaluation
            .fees
            .iter()
            .map(|f| (f.label.get(code).to_string(), money(f.amount)))
            .collect(),
        fee_total: (!evaluation.fees.is_empty()).then(|| money(evaluation.fee_total)),
        attachments: files
            .into_iter()
            .map(|a| AttachmentLink {
                url: format!("/verwaltung/anlagen/{}", a.id),
                size: size(a.size, lang),
                name: a.file_name,
            })
            .collect(),
        receipt_url: format!("/verwaltung/vorgang/{reference}/eingangsbestaetigung.pdf"),
        history: audit
            .into_iter()
            .map(|e| HistoryRow {
                at: when(&signed.state, e.at, lang),
                who: match e.actor.as_str() {
                    "citizen" => ui(lang, "bo_citizen").to_string(),
                    "system" => ui(lang, "bo_system").to_string(),
                    other => other.strip_prefix("clerk:").unwrap_or(other).to_string(),
                },
                what: match e.action.strip_prefix("state:") {
                    Some(to) => state_label(&life, to, lang),
                    None if e.action == "submitted" => ui(lang, "bo_submitted").to_string(),
                    None if e.action == "redacted" => ui(lang, "bo_redacted_event").to_string(),
                    None => e.action.clone(),
                },
                from: e.from.as_deref().map(|f| state_label(&life, f, lang)),
                comment: e.comment,
            })
            .collect(),
        deliveries: deliveries
            .into_iter()
            .map(|d| DeliveryRow {
                target: delivery_target(&d, &life, lang),
                status: serde_json::to_value(d.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                attempts: d.series_attempts(),
                last_error: d.attempts.last().and_then(|a| a.error.clone()),
                next_attempt: d.next_attempt.map(|t| when(&signed.state, t, lang)),
                resend_url: format!("/verwaltung/vorgang/{reference}/zustellungen/{}/erneut", d.id),
                remote: remote_name(&d, lang),
                reports: d
                    .events
                    .iter()
                    .map(|e| {
                        let what = report(&e.kind, lang);
                        let at = when(&signed.state, e.at, lang);
                        match &e.detail {
                            Some(detail) => format!("{at}: {what} – {detail}"),
                            None => format!("{at}: {what}"),
                        }
                    })
                    .collect(),
            })
            .collect(),
        state_url: format!("/verwaltung/vorgang/{reference}/stand"),
        state_id: submission.state.clone(),
        transitions: life
            .moves_from(&submission.state)
            .into_iter()
            .map(|(to, label)| Transition {
                to: to.to_string(),
                label: label.map_or_else(|| state_label(&life, to, lang), |l| l.get(code).to_string()),
            })
            .collect(),
    };
    signed.page(status, |r, page, clerk| r.inbox_detail(page, clerk, &view))
}

/// Where a delivery goes, as the clerk reads it.
fn delivery_target(d: &baukasten_store::Delivery, life: &Lifecycle, lang: Lang) -> String {
    let en = lang == Lang::En;
    match d.channel.as_str() {
        "webhook" => format!("Webhook {}", d.target),
        "fit_connect" if en => format!("FIT-Connect destination {}", d.target),
        "fit_connect" => format!("FIT-Connect-Zustellpunkt {}", d.target),
        "email" if en => format!("E-mail to {}", d.target),
        "email" => format!("E-Mail an {}", d.target),
        "email_confirmation" if en => format!("Confirmation of receipt to {}", d.target),
        "email_confirmation" => format!("Eingangsbestätigung an {}", d.target),
        "email_state" => {
            let state = d
                .event
                .as_deref()
                .and_then(|e| e.strip_prefix("state:"))
                .map(|s| state_label(life, s, lang))
                .unwrap_or_default();
            if en {
                format!("Message “{state}” to {}", d.target)
            } else {
                format!("Nachricht „{state}“ an {}", d.target)
            }
        }
        other => format!("{other} {}", d.target),
    }
}

/// The delivery's name at its target: FIT-Connect's submission and case.
fn remote_name(d: &baukasten_store::Delivery, lang: Lang) -> Option<String> {
    if d.channel != "fit_connect" {
        return None;
    }
    let progress: baukasten_deliver::fit_connect::Progress = serde_json::from_value(d.progress.clone()?).ok()?;
    Some(if lang == Lang::En {
        format!("Submission {}, case {}", progress.submission_id, progress.case_id)
    } else {
        format!("Einreichung {}, Vorgang {}", progress.submission_id, progress.case_id)
    })
}

/// An entry of FIT-Connect's event log as the clerk reads it.
fn report(kind: &str, lang: Lang) -> String {
    let en = lang == Lang::En;
    let text = match kind {
        "submit-submission" if en => "taken by the FIT-Connect Submission API",
        "submit-submission" => "vom Zustelldienst FIT-Connect angenommen",
        "notify-submission" if en => "notice from the Submission API",
        "notify-submission" => "Hinweis des Zustelldienstes",
        "forward-submission" if en => "forwarded by the office",
        "forward-submission" => "von der Behörde weitergeleitet",
        "accept-submission" if en => "accepted by the office",
        "accept-submission" => "von der Behörde angenommen",
        "reject-submission" if en => "rejected by the office",
        "reject-submission" => "von der Behörde zurückgewiesen",
        "delete-submission" if en => "deleted by the Submission API",
        "delete-submission" => "vom Zustelldienst gelöscht",
        "callback" if en => "the office reported something; its event log could not be read",
        "callback" => "Die Behörde hat etwas gemeldet; das Ereignisprotokoll war nicht lesbar",
        other => other,
    };
    text.to_string()
}

/// A file size as people read it: `2,3 MB`, `850 kB`.
fn size(bytes: u64, lang: Lang) -> String {
    let (value, unit) = if bytes >= 1_000_000 {
        (bytes as f64 / 1_000_000.0, "MB")
    } else {
        ((bytes as f64 / 1_000.0).max(0.1), "kB")
    };
    let text = format!("{value:.1}");
    let text = if lang == Lang::De { text.replace('.', ",") } else { text };
    format!("{text} {unit}")
}

/// The receipt of the clerk's municipality's submission (German, or the clerk's language).
pub(crate) async fn receipt(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let signed = match Signed::of(state, req).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let Some(submission) = owned(&signed, &path).await.filter(|s| s.redacted_at.is_none()) else {
        return signed.not_found();
    };
    let lang = signed.lang.code();
    let name = crate::receipts::file_name(&submission, lang);
    let shared = signed.state.clone();
    match web::block(move || crate::receipts::pdf(&shared, &submission, lang)).await {
        Ok(Ok(pdf)) => crate::receipts::download(&name, pdf),
        Ok(Err(e)) => signed.error(e),
        Err(e) => signed.error(ApiError::Internal(e.to_string())),
    }
}

/// An upload of the clerk's municipality's submission.
pub(crate) async fn attachment(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let signed = match Signed::of(state, req).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let store = signed.state.store.clone();
    let id = path.into_inner();
    let found = match web::block(move || store.attachment(&id)).await {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return signed.error(e.into()),
        Err(e) => return signed.error(ApiError::Internal(e.to_string())),
    };
    match found {
        Some((meta, bytes)) if meta.tenant.as_deref() == Some(signed.session.tenant.as_str()) => {
            let disposition = format!("attachment; filename=\"{}\"", meta.file_name.replace(['"', '\\'], "_"));
            HttpResponse::Ok()
                .content_type(meta.media_type.as_str())
                .insert_header((header::CONTENT_DISPOSITION, disposition))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header(("X-Content-Type-Options", "nosniff"))
                .body(bytes)
        }
        _ => signed.not_found(),
    }
}
