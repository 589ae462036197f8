//! The inbox's list as a file: CSV for spreadsheets (UTF-8 with a byte order mark, `;` between
//! cells, as German spreadsheet software opens it) and JSON Lines for programs. The filters
//! are the list's. Streamed page by page from the store, so memory stays flat however many
//! submissions there are.
//!
//! Cells that a spreadsheet would take as a formula (starting with `=`, `+`, `-`, `@`, a tab
//! or a carriage return) are neutralised with a leading `'` (CSV injection).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use baukasten_dsl::model::FieldKind;
use baukasten_store::{InboxQuery, Submission};
use futures_util::StreamExt;
use serde_json::{Value as Json, json};

use super::Signed;
use super::views::{ListQuery, inbox_query};
use crate::catalog::Published;
use crate::lang::Lang;
use crate::state::AppState;

/// Submissions read from the store per step of the stream.
const CHUNK: usize = 500;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    JsonLines,
}

pub(crate) async fn csv(state: web::Data<AppState>, req: HttpRequest, query: web::Query<ListQuery>) -> HttpResponse {
    export(state, req, query.into_inner(), Format::Csv).await
}

pub(crate) async fn jsonl(state: web::Data<AppState>, req: HttpRequest, query: web::Query<ListQuery>) -> HttpResponse {
    export(state, req, query.into_inner(), Format::JsonLines).await
}

/// The columns of a CSV export: fixed ones, then, when the list is filtered to one service,
/// that service's fields in the order it asks them (a group's members as `Group: Member`);
/// otherwise the answers as one JSON cell.
struct Columns {
    lang: Lang,
    /// (path into the answers, header)
    fields: Vec<(Vec<String>, String)>,
}

impl Columns {
    fn of(published: &Published, tenant: &str, service: Option<&str>, lang: Lang) -> Columns {
        let code = lang.code();
        let mut fields = Vec::new();
        if let Some(offer) = service.and_then(|s| published.offer(tenant, s)) {
            for step in &offer.service().steps {
                for field in &step.fields {
                    match &field.kind {
                        FieldKind::Info { .. } => {}
                        FieldKind::Group { fields: members } => {
                            for m in members {
                                fields.push((
                                    vec![field.id.clone(), m.id.clone()],
                                    format!("{}: {}", field.label.get(code), m.label.get(code)),
                                ));
                            }
                        }
                        _ => fields.push((vec![field.id.clone()], field.label.get(code).to_string())),
                    }
                }
            }
        }
        Columns { lang, fields }
    }

    fn header(&self) -> Vec<String> {
        let en = self.lang == Lang::En;
        let mut row: Vec<String> = if en {
            ["Reference", "Service", "Version", "Received", "Status", "Fees"]
        } else {
            [
                "Vorgangsnummer",
                "Dienst",
                "Version",
                "Eingegangen",
                "Stand",
                "Gebühren",
            ]
        }
        .iter()
        .map(|s| s.to_string())
        .collect();
        if self.fields.is_empty() {
            row.push(if en { "Answers (JSON)" } else { "Angaben (JSON)" }.to_string());
        } else {
            row.extend(self.fields.iter().map(|(_, h)| h.clone()));
        }
        row
    }

    fn row(&self, s: &Submission, received: String) -> Vec<String> {
        let answers = s.data.get("answers").cloned().unwrap_or(Json::Null);
        let mut row = vec![
            s.reference.clone(),
            s.service.clone(),
            s.version.clone(),
            received,
            s.state.clone(),
            s.fee_total.clone(),
        ];
        if self.fields.is_empty() {
            row.push(answers.to_string());
        } else {
            for (path, _) in &self.fields {
                let value = path.iter().try_fold(&answers, |v, key| v.get(key));
                row.push(value.map(|v| cell(v, self.lang)).unwrap_or_default());
            }
        }
        row
    }
}

/// An answer as a spreadsheet cell: text as it is, yes/no, a list joined, a file by name.
fn cell(value: &Json, lang: Lang) -> String {
    match value {
        Json::Null => String::new(),
        Json::Bool(b) => match (b, lang) {
            (true, Lang::De) => "ja".into(),
            (false, Lang::De) => "nein".into(),
            (true, Lang::En) => "yes".into(),
            (false, Lang::En) => "no".into(),
        },
        Json::Number(n) => n.to_string(),
        Json::String(s) => s.clone(),
        Json::Array(items) => items.iter().map(|i| cell(i, lang)).collect::<Vec<_>>().join(", "),
        Json::Object(o) => match o.get("name") {
            Some(Json::String(name)) => name.clone(),
            _ => value.to_string(),
        },
    }
}

/// A cell a spreadsheet would run as a formula gets a leading `'`.
pub(crate) fn neutralised(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

fn csv_line(cells: &[String]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let cells: Vec<_> = cells.iter().map(|c| neutralised(c)).collect();
    // Writing to memory cannot fail.
    let _ = writer.write_record(cells.iter().map(|c| c.as_ref()));
    writer.into_inner().unwrap_or_default()
}

async fn export(state: web::Data<AppState>, req: HttpRequest, query: ListQuery, format: Format) -> HttpResponse {
    let signed = match Signed::of(state, req).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let first = inbox_query(&signed, &query, CHUNK);
    let published = signed.state.registry.current();
    let columns = Columns::of(
        &published,
        &signed.session.tenant,
        first.service.as_deref(),
        signed.lang,
    );
    let state = signed.state.clone();
    log::info!(
        "back office: {}/{} exports ({})",
        signed.session.tenant,
        signed.session.name,
        if format == Format::Csv { "csv" } else { "jsonl" }
    );
    let head = match format {
        Format::Csv => {
            let mut bytes = "\u{feff}".as_bytes().to_vec();
            bytes.extend(csv_line(&columns.header()));
            bytes
        }
        Format::JsonLines => Vec::new(),
    };
    let columns = std::sync::Arc::new(columns);
    // The stream: the header, then one store page at a time until the list ends.
    let pages = futures_util::stream::unfold(Some(first), move |next: Option<InboxQuery>| {
        let (state, columns) = (state.clone(), columns.clone());
        async move {
            let query = next?;
            let store = state.store.clone();
            let page = match web::block(move || store.inbox(&query).map(|p| (p, query))).await {
                Ok(Ok(found)) => found,
                Ok(Err(e)) => {
                    log::error!("export stopped: {e}");
                    return Some((
                        Err(actix_web::error::ErrorInternalServerError("the store failed")),
                        None,
                    ));
                }
                Err(e) => {
                    log::error!("export stopped: {e}");
                    return Some((
                        Err(actix_web::error::ErrorInternalServerError("the store failed")),
                        None,
                    ));
                }
            };
            let (page, query) = page;
            let mut bytes = Vec::new();
            for s in &page.submissions {
                match format {
                    Format::Csv => {
                        let received = s
                            .created_at
                            .with_timezone(&state.config.time_zone)
                            .format("%Y-%m-%d %H:%M")
                            .to_string();
                        bytes.extend(csv_line(&columns.row(s, received)));
                    }
                    Format::JsonLines => {
                        let line = json!({
                            "reference": s.reference,
                            "service": s.service,
                            "version": s.version,
                            "created_at": s.created_at,
                            "state": s.state,
                            "fee_total": s.fee_total,
                            "answers": s.data.get("answers"),
                            "computed": s.data.get("computed"),
                        });
                        bytes.extend(line.to_string().into_bytes());
                        bytes.push(b'\n');
                    }
                }
            }
            let next = page.next.map(|after| InboxQuery {
                after: Some(after),
                ..query
            });
            Some((Ok::<_, actix_web::Error>(web::Bytes::from(bytes)), next))
        }
    });
    let body =
        futures_util::stream::once(async move { Ok::<_, actix_web::Error>(web::Bytes::from(head)) }).chain(pages);
    let (content_type, extension) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::JsonLines => ("application/jsonl; charset=utf-8", "jsonl"),
    };
    let today = signed.state.context().today;
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"eingang-{}-{today}.{extension}\"",
                signed.session.tenant
            ),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_cells_quoted() {
        for dangerous in ["=1+1", "+49 431", "-5", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralised(dangerous), format!("'{dangerous}"));
        }
        assert_eq!(neutralised("Holstenstraße 12a"), "Holstenstraße 12a");
        let line = String::from_utf8(csv_line(&[
            "a;b".into(),
            "sagte \"ja\"".into(),
            "=HYPERLINK(\"x\")".into(),
            "zwei\nZeilen".into(),
        ]))
        .unwrap();
        assert_eq!(
            line,
            "\"a;b\";\"sagte \"\"ja\"\"\";\"'=HYPERLINK(\"\"x\"\")\";\"zwei\nZeilen\"\r\n"
        );
    }

    #[test]
    fn answers_become_readable_cells() {
        assert_eq!(cell(&json!(true), Lang::De), "ja");
        assert_eq!(cell(&json!(["a", "b"]), Lang::De), "a, b");
        assert_eq!(cell(&json!({"id": "x", "name": "foto.jpg"}), Lang::De), "foto.jpg");
        assert_eq!(cell(&json!(12.5), Lang::En), "12.5");
    }
}
