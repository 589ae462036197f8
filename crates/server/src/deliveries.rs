//! Deliveries from the server's side: which `deliver:` targets the configuration lacks, and
//! the dispatcher (`baukasten-deliver`) started beside the HTTP server.

use std::sync::Arc;

use actix_web::web;
use baukasten_deliver::fit_connect::{Parcel, Part, Purpose};
use baukasten_deliver::{
    Dispatcher, DispatcherHandle, FitConnect, Mail, MailAttachment, MailTexts, Mailer, Parcels, Webhooks,
};
use baukasten_dsl::model::Delivery;
use baukasten_dsl::{Code, Diagnostic, Loaded, Msg};
use baukasten_engine::messages::{english_date, english_money, german_money};

use crate::config::Config;
use crate::receipts;

/// A diagnostic at every `deliver:` target of a service that a municipality offering it has
/// not configured in the server configuration: a `webhook:` missing under `webhooks:`, a
/// `fit_connect:` whose municipality has no client under `fit_connect:`.
pub fn unconfigured_targets(loaded: &Loaded, config: &Config) -> Vec<Diagnostic> {
    let catalog = &loaded.catalog;
    let mut out = Vec::new();
    for tenant in &catalog.tenants {
        for base in catalog.services.iter().filter(|s| s.tenant.is_none()) {
            let service = catalog.service(Some(&tenant.id), &base.id).unwrap_or(base);
            let process = &service.process;
            let t = &tenant.id;
            for (delivery, span) in process.deliver.iter().zip(&process.deliver_spans) {
                let (message, help) = match delivery {
                    Delivery::Webhook(name) if !config.webhooks.get(t).is_some_and(|w| w.contains_key(name)) => (
                        Msg::new(
                            format!(
                                "Der Dienst `{}` stellt an den Webhook `{name}` zu, den die Serverkonfiguration für `{t}` nicht nennt.",
                                service.id
                            ),
                            format!(
                                "the service `{}` delivers to the webhook `{name}`, which the server configuration does not name for `{t}`",
                                service.id
                            ),
                        ),
                        Msg::new(
                            format!(
                                "Ergänzen Sie in der Serverkonfiguration `webhooks: {{ {t}: {{ {name}: {{ url: …, secret_env: … }} }} }}`."
                            ),
                            format!(
                                "add `webhooks: {{ {t}: {{ {name}: {{ url: …, secret_env: … }} }} }}` to the server configuration"
                            ),
                        ),
                    ),
                    Delivery::FitConnect(_) if !config.fit_connect.contains_key(t) => (
                        Msg::new(
                            format!(
                                "Der Dienst `{}` stellt über FIT-Connect zu, aber die Serverkonfiguration hat für `{t}` keinen FIT-Connect-Zugang.",
                                service.id
                            ),
                            format!(
                                "the service `{}` delivers over FIT-Connect, but the server configuration has no FIT-Connect client for `{t}`",
                                service.id
                            ),
                        ),
                        Msg::new(
                            format!(
                                "Ergänzen Sie in der Serverkonfiguration `fit_connect: {{ {t}: {{ token_url: …, submission_api: …, client_id: …, client_secret_env: … }} }}`."
                            ),
                            format!(
                                "add `fit_connect: {{ {t}: {{ token_url: …, submission_api: …, client_id: …, client_secret_env: … }} }}` to the server configuration"
                            ),
                        ),
                    ),
                    _ => continue,
                };
                out.push(Diagnostic::error(Code::UnknownReference, *span, message).with_help(help));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The receivers of the configuration, with their secrets read from the environment.
pub fn webhooks(config: &Config) -> Result<Webhooks, String> {
    Webhooks::new(&config.webhooks, |name| std::env::var(name).ok())
}

/// The mail server of the configuration, if any, with its password from the environment.
pub fn mailer(config: &Config) -> Result<Option<Mailer>, String> {
    config
        .smtp
        .as_ref()
        .map(|smtp| Mailer::new(smtp, |name| std::env::var(name).ok()))
        .transpose()
}

/// The municipalities' FIT-Connect clients, with their secrets read from the environment.
pub fn fit_connect(config: &Config) -> Result<FitConnect, String> {
    FitConnect::new(&config.fit_connect, |name| std::env::var(name).ok())
}

/// Starts the dispatcher on its own thread.
pub fn start(
    state: web::Data<crate::AppState>,
    webhooks: Webhooks,
    mailer: Option<Mailer>,
    public_url: String,
) -> DispatcherHandle {
    let schedule = state.config.delivery_schedule.clone().unwrap_or_default();
    let store = state.store.clone();
    let fit_connect = state.fit_connect.clone();
    let claim = std::time::Duration::from_secs(state.config.delivery_claim_seconds.max(1));
    Dispatcher::new(
        store,
        webhooks,
        schedule,
        public_url.clone(),
        Arc::new(chrono::Utc::now),
    )
    .with_mail(mailer, mail_texts(state.clone()))
    .with_fit_connect(fit_connect, parcels(state, public_url))
    .with_claim(claim)
    .spawn()
}

/// What a FIT-Connect delivery sends: the answers as JSON (described by the JSON Schema of the
/// exact definition the submission was made on, at a content-addressed address of this
/// server), the citizen's uploads, and the receipt in German as the form.
fn parcels(state: web::Data<crate::AppState>, public_url: String) -> Parcels {
    Arc::new(move |submission, _delivery| {
        let compiled = state
            .registry
            .pinned(&submission.definition_hash)
            .ok_or_else(|| format!("the definition {} is not in the store", submission.definition_hash))?;
        let service = compiled.service();
        let leika = service
            .leika
            .clone()
            .ok_or_else(|| format!("the service `{}` has no LeiKa key", service.id))?;
        let answers = submission
            .data
            .get("answers")
            .ok_or_else(|| "the submission has no answers (redacted?)".to_string())?;
        let data = serde_json::to_vec(answers).map_err(|e| e.to_string())?;
        let mut attachments = Vec::new();
        for id in &submission.attachments {
            let (meta, bytes) = state
                .store
                .attachment(id)
                .map_err(|e| format!("the upload {id} cannot be read: {e}"))?
                .ok_or_else(|| format!("the upload {id} is not in the store"))?;
            attachments.push(Part {
                key: id.clone(),
                purpose: Purpose::Attachment,
                media_type: meta.media_type,
                file_name: meta.file_name,
                bytes,
            });
        }
        let receipt =
            receipts::pdf(&state, submission, "de").map_err(|e| format!("the receipt cannot be made: {e}"))?;
        attachments.push(Part {
            key: "receipt".into(),
            purpose: Purpose::Form,
            media_type: "application/pdf".into(),
            file_name: receipts::file_name(submission, "de"),
            bytes: receipt,
        });
        let application_date = submission
            .created_at
            .with_timezone(&state.config.time_zone)
            .date_naive();
        Ok(Parcel {
            service_name: service.title.get("de").to_string(),
            leika,
            schema_uri: format!("{public_url}/api/v1/schemas/{}.json", submission.definition_hash),
            data,
            attachments,
            reference: submission.reference.clone(),
            application_date,
        })
    })
}

/// The mails' texts, from the service the submission was made on: the office gets the
/// answers as the summary page shows them, in German, with the PDF receipt; the citizen a
/// confirmation of receipt with the reference, what happens next, the answers and the receipt,
/// and the messages of states, in the language they used.
fn mail_texts(state: web::Data<crate::AppState>) -> MailTexts {
    Arc::new(move |submission, delivery| {
        let compiled = state.registry.pinned(&submission.definition_hash)?;
        let service = compiled.service();
        let lang = match delivery.channel.as_str() {
            "email" => "de",
            _ => receipts::language_of(submission),
        };
        let en = lang == "en";
        let answers = submission.data.get("answers")?;
        let evaluation = compiled.evaluate(answers, &state.context());
        let mut listing = String::new();
        for step in compiled.summary(&evaluation, lang) {
            if step.rows.is_empty() {
                continue;
            }
            listing.push_str(&format!("\n{}\n", step.title.get(lang)));
            for row in step.rows {
                listing.push_str(&format!("- {}: {}\n", row.label, row.lines.join(", ")));
            }
        }
        if !evaluation.fee_total.is_zero() {
            listing.push_str(&if en {
                format!("\nFees: {}\n", english_money(evaluation.fee_total))
            } else {
                format!("\nGebühren: {}\n", german_money(evaluation.fee_total))
            });
        }
        let title = service.title.get(lang);
        let municipality = receipts::municipality_name(&state, submission.tenant.as_deref(), lang);
        let received = submission.created_at.with_timezone(&state.config.time_zone);
        let received = if en {
            format!(
                "{} at {}",
                english_date(received.date_naive()),
                received.format("%H:%M")
            )
        } else {
            received.format("%d.%m.%Y, %H:%M Uhr").to_string()
        };
        let reference = &submission.reference;
        // The receipt, for the office's mail and the citizen's confirmation. A receipt that
        // cannot be made is a defect to fix, not a reason to hold the mail back.
        let receipt = || match receipts::pdf(&state, submission, lang) {
            Ok(bytes) => vec![MailAttachment {
                file_name: receipts::file_name(submission, lang),
                media_type: "application/pdf".into(),
                bytes,
            }],
            Err(e) => {
                log::error!("the mail of delivery {} goes without its receipt: {e}", delivery.id);
                Vec::new()
            }
        };
        let automatic = if en {
            "This e-mail was created automatically."
        } else {
            "Diese E-Mail wurde automatisch erstellt."
        };
        Some(match delivery.channel.as_str() {
            "email_state" => {
                let state_id = delivery.event.as_deref()?.strip_prefix("state:")?;
                let state = service.process.states.iter().find(|s| s.id == state_id)?;
                let label = state.label.as_ref().map_or(state_id, |l| l.get(lang));
                let message = state.notify.as_ref()?.get(lang);
                let text = if en {
                    format!(
                        "Hello,\n\n{message}\n\nApplication: {title}\nReference number: {reference}\nStatus: {label}\n\n\
                         {municipality}\n\n{automatic}\n"
                    )
                } else {
                    format!(
                        "Guten Tag,\n\n{message}\n\nAntrag: {title}\nVorgangsnummer: {reference}\nStand: {label}\n\n\
                         {municipality}\n\n{automatic}\n"
                    )
                };
                Mail {
                    to: delivery.target.clone(),
                    subject: if en {
                        format!("Your application {reference}: {label}")
                    } else {
                        format!("Ihr Antrag {reference}: {label}")
                    },
                    text,
                    attachments: Vec::new(),
                }
            }
            "email_confirmation" => {
                let next = match &service.next_steps {
                    Some(t) => t.get(lang),
                    None if en => {
                        "We will check your application and contact you. If anything is missing, we will ask you."
                    }
                    None => "Wir prüfen Ihren Antrag und melden uns bei Ihnen. Wenn Angaben fehlen, fragen wir nach.",
                };
                let (subject, text) = if en {
                    (
                        format!("Your application has been received: {title} ({reference})"),
                        format!(
                            "Hello,\n\nYour application “{title}” reached {municipality} on {received}.\n\n\
                             Your reference number: {reference}\nPlease quote it in any enquiry.\n\n\
                             What happens next?\n{next}\n\nYour answers:\n{listing}\n\
                             The confirmation of receipt is attached as a PDF.\n\n{automatic}\n"
                        ),
                    )
                } else {
                    (
                        format!("Ihr Antrag ist eingegangen: {title} ({reference})"),
                        format!(
                            "Guten Tag,\n\nIhr Antrag „{title}“ ist am {received} bei {municipality} eingegangen.\n\n\
                             Ihre Vorgangsnummer: {reference}\nBitte geben Sie sie bei Rückfragen an.\n\n\
                             Wie geht es weiter?\n{next}\n\nIhre Angaben:\n{listing}\n\
                             Die Eingangsbestätigung liegt als PDF bei.\n\n{automatic}\n"
                        ),
                    )
                };
                Mail {
                    to: delivery.target.clone(),
                    subject,
                    text,
                    attachments: receipt(),
                }
            }
            _ => Mail {
                to: delivery.target.clone(),
                subject: format!("Neuer Antrag: {title} ({reference})"),
                text: format!(
                    "Ein neuer Antrag ist eingegangen.\n\nVorgangsnummer: {reference}\nDienst: {title} \
                     (Version {})\nKommune: {municipality}\nEingegangen: {received}\n\nAngaben:\n{listing}\n\
                     Die Eingangsbestätigung liegt als PDF bei.\n",
                    submission.version
                ),
                attachments: receipt(),
            },
        })
    })
}
