//! The receipt of a submission (`baukasten-receipt` writes the PDF): what it says, in the
//! citizen's language or the back office's. The citizen downloads it from the confirmation
//! page, the back office from the API, and the mails carry it.

use baukasten_engine::messages::{english_date, english_money, german_money};
use baukasten_receipt::{Receipt, Row, Section, Table};
use baukasten_store::Submission;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// The language a submission was made in (`de` for records written before it was kept).
pub fn language_of(submission: &Submission) -> &str {
    match submission.data.get("lang").and_then(|l| l.as_str()) {
        Some("en") => "en",
        _ => "de",
    }
}

/// The municipality's name in `lang`, or its id when the catalog no longer has it.
pub fn municipality_name(state: &AppState, tenant: Option<&str>, lang: &str) -> String {
    let tenant = tenant.unwrap_or_default();
    state
        .registry
        .current()
        .tenants
        .iter()
        .find(|t| t.id == tenant)
        .map(|t| t.name.get(lang).to_string())
        .unwrap_or_else(|| tenant.to_string())
}

/// The receipt as a PDF, in `lang` where the service speaks it. Reads the attachments to give
/// their checksums: call it off the async threads.
pub fn pdf(state: &AppState, submission: &Submission, lang: &str) -> Result<Vec<u8>, ApiError> {
    let receipt = document(state, submission, lang)?;
    baukasten_receipt::pdf(&receipt).map_err(|e| ApiError::Internal(format!("receipt {}: {e}", submission.reference)))
}

/// The receipt as a download: `application/pdf`, saved under [`file_name`], never cached.
pub fn download(name: &str, pdf: Vec<u8>) -> actix_web::HttpResponse {
    use actix_web::http::header;
    actix_web::HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(pdf)
}

/// The file name offered for the download: `Eingangsbestaetigung-BPA-2026-7K3Q9.pdf`.
pub fn file_name(submission: &Submission, lang: &str) -> String {
    let word = if lang == "en" {
        "Receipt"
    } else {
        "Eingangsbestaetigung"
    };
    format!("{word}-{}.pdf", submission.reference)
}

/// What the receipt says: the case, every answer as the summary page shows it, the fees, the
/// attachments with their SHA-256.
pub fn document(state: &AppState, submission: &Submission, lang: &str) -> Result<Receipt, ApiError> {
    if submission.redacted_at.is_some() {
        return Err(ApiError::NotFound(format!(
            "the answers of {} were deleted at the end of their retention period",
            submission.reference
        )));
    }
    let compiled = state
        .registry
        .pinned(&submission.definition_hash)
        .ok_or_else(|| ApiError::Internal(format!("the definition of {} is gone", submission.reference)))?;
    let service = compiled.service();
    let lang = if lang == "en" && service.languages.iter().any(|l| l == "en") {
        "en"
    } else {
        "de"
    };
    let en = lang == "en";
    let t = |de: &str, english: &str| if en { english.to_string() } else { de.to_string() };
    let answers = submission.data.get("answers").cloned().unwrap_or_default();
    let evaluation = compiled.evaluate(&answers, &state.context());
    let title = service.title.get(lang);
    let municipality = municipality_name(state, submission.tenant.as_deref(), lang);
    let received = submission.created_at.with_timezone(&state.config.time_zone);
    let (date, time) = if en {
        (
            english_date(received.date_naive()),
            received.format("%H:%M").to_string(),
        )
    } else {
        (
            received.format("%d.%m.%Y").to_string(),
            received.format("%H:%M Uhr").to_string(),
        )
    };
    let money = |d| if en { english_money(d) } else { german_money(d) };

    let mut intro = vec![if en {
        format!(
            "Your application reached {municipality} on {date} at {time}. Please quote the reference number {} in any enquiry.",
            submission.reference
        )
    } else {
        format!(
            "Ihr Antrag ist am {date} um {time} bei {municipality} eingegangen. Bitte geben Sie bei Rückfragen die Vorgangsnummer {} an.",
            submission.reference
        )
    }];
    if let Some(next) = &service.next_steps {
        intro.push(next.get(lang).to_string());
    }

    let mut sections = vec![Section {
        heading: t("Vorgang", "Case"),
        table: Table {
            header: vec![t("Angabe", "Item"), t("Wert", "Value")],
            rows: vec![
                Row::new([t("Vorgangsnummer", "Reference number"), submission.reference.clone()]),
                Row::new([t("Eingegangen am", "Received on"), format!("{date}, {time}")]),
                Row::new([t("Kommune", "Municipality"), municipality.clone()]),
                Row::new([t("Dienst", "Service"), title.to_string()]),
                Row::new([t("Version", "Version"), submission.version.clone()]),
            ],
        },
    }];
    for step in compiled.summary(&evaluation, lang) {
        if step.rows.is_empty() {
            continue;
        }
        sections.push(Section {
            heading: step.title.get(lang).to_string(),
            table: Table {
                header: vec![t("Frage", "Question"), t("Ihre Angabe", "Your answer")],
                rows: step
                    .rows
                    .into_iter()
                    .map(|row| Row {
                        cells: vec![vec![row.label], row.lines],
                        strong: false,
                    })
                    .collect(),
            },
        });
    }
    if !evaluation.fees.is_empty() {
        let mut rows: Vec<Row> = evaluation
            .fees
            .iter()
            .map(|fee| Row::new([fee.label.get(lang).to_string(), money(fee.amount)]))
            .collect();
        rows.push(Row {
            strong: true,
            ..Row::new([t("Summe", "Total"), money(evaluation.fee_total)])
        });
        sections.push(Section {
            heading: t("Gebühren", "Fees"),
            table: Table {
                header: vec![t("Gebühr", "Fee"), t("Betrag", "Amount")],
                rows,
            },
        });
    }
    if !submission.attachments.is_empty() {
        let mut rows = Vec::new();
        for id in &submission.attachments {
            let found = state
                .store
                .attachment(id)
                .map_err(|e| ApiError::Internal(format!("attachment {id}: {e}")))?;
            let Some((attachment, bytes)) = found else {
                rows.push(Row::new([id.clone(), t("nicht mehr gespeichert", "no longer stored")]));
                continue;
            };
            let digest = Sha256::digest(&bytes);
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            rows.push(Row::new([attachment.file_name, hex]));
        }
        sections.push(Section {
            heading: t("Anlagen", "Attachments"),
            table: Table {
                header: vec![t("Datei", "File"), t("SHA-256-Prüfsumme", "SHA-256 checksum")],
                rows,
            },
        });
    }
    Ok(Receipt {
        lang: lang.to_string(),
        title: if en {
            format!("Confirmation of receipt: {title}")
        } else {
            format!("Eingangsbestätigung: {title}")
        },
        intro,
        sections,
        closing: Some(if en {
            format!("{municipality} created this confirmation of receipt automatically.")
        } else {
            format!("Diese Eingangsbestätigung hat {municipality} automatisch erstellt.")
        }),
        page: (t("Seite", "Page"), t("von", "of")),
    })
}
