//! The catalog of UI strings, German and English. Templates read them as `ui.<key>`; no text a
//! citizen reads is written into a template. Texts of a service (labels, hints, titles) come
//! from its YAML file instead, and error messages from the engine.
//!
//! `{n}`, `{total}`, `{item}` and similar are filled in by the template with `replace`.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use minijinja::Value;
use minijinja::value::Object;

/// Every UI string: key, German, English.
pub const UI_STRINGS: &[(&str, &str, &str)] = &[
    ("skip_link", "Zum Inhalt springen", "Skip to main content"),
    ("other_language", "English", "Deutsch"),
    ("other_language_code", "en", "de"),
    ("site_name", "Online-Dienste", "Online services"),
    ("home", "Übersicht der Online-Dienste", "All online services"),
    ("footer_label", "Rechtliches", "Legal information"),
    ("impressum", "Impressum", "Legal notice"),
    ("datenschutz", "Datenschutz", "Privacy"),
    ("barrierefreiheit", "Barrierefreiheit", "Accessibility"),
    ("contact", "Kontakt", "Contact"),
    ("opening_hours", "Sprechzeiten", "Opening hours"),
    ("phone", "Telefon", "Telephone"),
    ("email", "E-Mail", "Email"),
    // Catalog
    ("catalog_title", "Online-Dienste", "Online services"),
    ("catalog_title_of", "Online-Dienste: {name}", "Online services: {name}"),
    (
        "catalog_intro",
        "Hier können Sie Anträge online stellen und Anliegen melden.",
        "Here you can apply online and report issues.",
    ),
    ("search_label", "Dienst suchen", "Search for a service"),
    (
        "search_hint",
        "Zum Beispiel „Parkausweis“ oder einen Leistungsschlüssel",
        "For example “parking permit” or a service key (LeiKa)",
    ),
    ("search_button", "Suchen", "Search"),
    (
        "search_results_one",
        "1 Dienst gefunden für „{q}“",
        "1 service found for “{q}”",
    ),
    (
        "search_results_many",
        "{n} Dienste gefunden für „{q}“",
        "{n} services found for “{q}”",
    ),
    (
        "search_none",
        "Zu „{q}“ haben wir keinen Dienst gefunden. Versuchen Sie ein anderes Wort.",
        "We found no service for “{q}”. Try another word.",
    ),
    ("services_heading", "Dienste", "Services"),
    (
        "municipalities_heading",
        "Dienste Ihrer Kommune",
        "Services of your municipality",
    ),
    (
        "municipalities_intro",
        "Manche Dienste bietet jede Kommune selbst an, mit eigenen Gebühren und Ansprechpersonen.",
        "Some services are offered by each municipality itself, with its own fees and contacts.",
    ),
    // Start page
    ("start_button", "Jetzt starten", "Start now"),
    ("needs_heading", "Das brauchen Sie", "What you need"),
    ("duration_heading", "Dauer", "How long it takes"),
    ("fee_heading", "Gebühr", "Fee"),
    (
        "fee_none",
        "Für diesen Dienst fällt keine Gebühr an.",
        "There is no fee for this service.",
    ),
    (
        "fee_depends",
        "Die Gebühr hängt von Ihren Angaben ab. Sie sehen sie, bevor Sie den Antrag absenden.",
        "The fee depends on your answers. You will see it before you send the application.",
    ),
    (
        "fee_more_depend",
        "Weitere Gebühren hängen von Ihren Angaben ab. Sie sehen sie, bevor Sie den Antrag absenden.",
        "Further fees depend on your answers. You will see them before you send the application.",
    ),
    ("privacy_heading", "Datenschutz", "Privacy"),
    ("privacy_link", "Datenschutzerklärung lesen", "Read the privacy policy"),
    (
        "resume_link",
        "Einen gespeicherten Antrag fortsetzen",
        "Continue a saved application",
    ),
    // Steps
    ("step_of", "Schritt {n} von {total}", "Step {n} of {total}"),
    ("continue", "Weiter", "Continue"),
    ("back", "Zurück", "Back"),
    ("save", "Speichern und später fortsetzen", "Save and continue later"),
    ("optional", "(optional)", "(optional)"),
    ("error_prefix", "Fehler:", "Error:"),
    ("error_summary_title", "Es gibt ein Problem", "There is a problem"),
    ("day", "Tag", "Day"),
    ("month", "Monat", "Month"),
    ("year", "Jahr", "Year"),
    ("date_hint", "Zum Beispiel 27 3 1985", "For example 27 3 1985"),
    ("yes", "Ja", "Yes"),
    ("no", "Nein", "No"),
    ("select_placeholder", "Bitte auswählen", "Please choose"),
    ("add_item", "{item} hinzufügen", "Add {item}"),
    ("remove_item", "{item} {n} entfernen", "Remove {item} {n}"),
    ("item_heading", "{item} {n}", "{item} {n}"),
    ("item_removed", "{item} {n} wurde entfernt.", "{item} {n} was removed."),
    ("file_current", "Hochgeladene Datei: {name}", "Uploaded file: {name}"),
    (
        "file_replace",
        "Wenn Sie eine andere Datei wählen, ersetzt sie die hochgeladene.",
        "If you choose another file, it replaces the uploaded one.",
    ),
    ("file_types", "Erlaubt sind: {types}.", "Allowed: {types}."),
    ("file_size", "Höchstens {size}.", "At most {size}."),
    (
        "timeout_warning",
        "Aus Sicherheitsgründen endet Ihre Sitzung in {n} Minuten. Angaben, die Sie nicht mit „Weiter“ gespeichert haben, gehen dann verloren.",
        "For your security, your session ends in {n} minutes. Answers you have not saved with “Continue” will then be lost.",
    ),
    ("timeout_extend", "Mehr Zeit erhalten", "Give me more time"),
    // Summary
    ("summary_title", "Bitte prüfen Sie Ihre Angaben", "Check your answers"),
    ("change", "Ändern", "Change"),
    ("fees_heading", "Gebühren", "Fees"),
    ("fee_total", "Gesamt", "Total"),
    ("declaration_heading", "Erklärung", "Declaration"),
    (
        "declaration_missing",
        "Bitte bestätigen Sie die Erklärung.",
        "Please confirm the declaration.",
    ),
    ("send_button", "Antrag absenden", "Send application"),
    (
        "send_note",
        "Mit „Antrag absenden“ schicken Sie Ihren Antrag verbindlich ab.",
        "When you select “Send application”, your application is sent and binding.",
    ),
    // Confirmation
    (
        "confirmation_title",
        "Ihr Antrag ist eingegangen",
        "Your application has been received",
    ),
    ("reference_label", "Ihre Vorgangsnummer", "Your reference number"),
    (
        "reference_note",
        "Bitte notieren Sie diese Nummer. Sie brauchen sie, wenn Sie Fragen zu Ihrem Antrag haben.",
        "Please write down this number. You need it if you have questions about your application.",
    ),
    ("fee_to_pay", "Zu zahlende Gebühr: {amount}", "Fee to pay: {amount}"),
    ("next_heading", "Wie geht es weiter?", "What happens next"),
    (
        "next_text",
        "Wir prüfen Ihren Antrag und melden uns bei Ihnen. Wenn Angaben fehlen, fragen wir nach.",
        "We will check your application and contact you. If anything is missing, we will ask you.",
    ),
    (
        "print_note",
        "Sie können diese Seite als Beleg ausdrucken oder als PDF speichern.",
        "You can print this page as a receipt or save it as a PDF.",
    ),
    (
        "receipt_download",
        "Eingangsbestätigung herunterladen (PDF, barrierefrei)",
        "Download the confirmation of receipt (PDF, accessible)",
    ),
    ("your_answers", "Ihre Angaben", "Your answers"),
    // Resume
    (
        "resume_title",
        "Gespeicherten Antrag fortsetzen",
        "Continue a saved application",
    ),
    ("resume_code_label", "Ihr Code", "Your code"),
    (
        "resume_code_hint",
        "Den Code haben Sie erhalten, als Sie Ihren Antrag gespeichert haben.",
        "You received the code when you saved your application.",
    ),
    ("resume_button", "Antrag fortsetzen", "Continue application"),
    (
        "resume_invalid",
        "Zu diesem Code gibt es keinen gespeicherten Antrag. Bitte prüfen Sie den Code.",
        "There is no saved application with this code. Please check the code.",
    ),
    (
        "saved_title",
        "Ihr Antrag ist gespeichert",
        "Your application has been saved",
    ),
    ("saved_code", "Ihr Code lautet", "Your code is"),
    (
        "saved_link",
        "Mit diesem Link können Sie später weitermachen:",
        "You can continue later with this link:",
    ),
    (
        "saved_note",
        "Bewahren Sie Code und Link gut auf. Wer sie kennt, kann Ihren Antrag sehen.",
        "Keep the code and the link safe. Anyone who has them can see your application.",
    ),
    ("saved_continue", "Jetzt weitermachen", "Continue now"),
    // 404 and error
    ("not_found_title", "Seite nicht gefunden", "Page not found"),
    (
        "not_found_text",
        "Diese Seite gibt es nicht. Vielleicht hat sich die Adresse geändert, oder sie ist falsch geschrieben.",
        "This page does not exist. The address may have changed or may be misspelt.",
    ),
    (
        "error_title",
        "Leider ist ein Fehler aufgetreten",
        "Sorry, something went wrong",
    ),
    (
        "error_text",
        "Bitte versuchen Sie es in einigen Minuten noch einmal. Wenn der Fehler bleibt, wenden Sie sich bitte an uns.",
        "Please try again in a few minutes. If the problem continues, please contact us.",
    ),
    // The clerks' inbox.
    ("bo_title", "Verwaltung", "Back office"),
    ("bo_sign_in_title", "Anmelden", "Sign in"),
    ("bo_municipality", "Kommune", "Municipality"),
    ("bo_name", "Benutzername", "User name"),
    ("bo_password", "Passwort", "Password"),
    ("bo_sign_in_button", "Anmelden", "Sign in"),
    (
        "bo_problem_wrong",
        "Benutzername oder Passwort ist falsch.",
        "The user name or the password is wrong.",
    ),
    (
        "bo_problem_throttled",
        "Zu viele Anmeldeversuche. Bitte warten Sie eine Minute und versuchen Sie es dann erneut.",
        "Too many attempts to sign in. Please wait a minute, then try again.",
    ),
    (
        "bo_problem_expired",
        "Das Formular war abgelaufen. Bitte melden Sie sich erneut an.",
        "The form had expired. Please sign in again.",
    ),
    ("bo_signed_in_as", "Angemeldet als", "Signed in as"),
    ("bo_sign_out", "Abmelden", "Sign out"),
    ("bo_inbox_title", "Eingang", "Inbox"),
    ("bo_counts_heading", "Vorgänge nach Stand", "Cases by status"),
    ("bo_col_count", "Anzahl", "Number"),
    ("bo_filter_heading", "Vorgänge filtern", "Filter cases"),
    (
        "bo_filter_text",
        "Suche nach Vorgangsnummer oder Name",
        "Search by reference number or name",
    ),
    ("bo_filter_service", "Dienst", "Service"),
    ("bo_filter_state", "Stand", "Status"),
    ("bo_filter_from", "Eingegangen ab", "Received from"),
    ("bo_filter_until", "Eingegangen bis", "Received until"),
    ("bo_filter_all", "Alle", "All"),
    ("bo_filter_button", "Anzeigen", "Show"),
    ("bo_filter_reset", "Filter zurücksetzen", "Reset the filters"),
    ("bo_export", "Diese Liste herunterladen:", "Download this list:"),
    ("bo_export_csv", "als Tabelle (CSV)", "as a spreadsheet (CSV)"),
    ("bo_export_jsonl", "als JSON Lines", "as JSON Lines"),
    ("bo_overview_title", "Übersicht", "Overview"),
    (
        "bo_overview_link",
        "Übersicht: Eingänge der letzten 30 Tage und fehlgeschlagene Zustellungen",
        "Overview: cases of the last 30 days and failed deliveries",
    ),
    (
        "bo_chart_title",
        "Eingänge pro Tag, letzte 30 Tage",
        "Cases received per day, last 30 days",
    ),
    (
        "bo_chart_desc",
        "Säulendiagramm der Eingänge an {days} Tagen, {total} insgesamt, je Dienst gestapelt. Die Zahlen stehen in der Tabelle darunter.",
        "Bar chart of the cases received on {days} days, {total} in all, stacked by service. The numbers are in the table below.",
    ),
    ("bo_chart_numbers", "Die Zahlen als Tabelle", "The numbers as a table"),
    ("bo_day", "Tag", "Day"),
    ("bo_failed_title", "Fehlgeschlagene Zustellungen", "Failed deliveries"),
    (
        "bo_failed_none",
        "Keine fehlgeschlagenen Zustellungen.",
        "No failed deliveries.",
    ),
    (
        "bo_redacted",
        "Die Angaben und Anlagen dieses Vorgangs wurden am {date} gelöscht, weil seine Aufbewahrungsfrist abgelaufen war. Es bleiben Vorgangsnummer, Dienst, Daten, Stand und Verlauf.",
        "The answers and attachments of this case were deleted on {date}, when its retention period ended. The reference number, service, dates, status and history remain.",
    ),
    ("bo_redacted_short", "Angaben gelöscht", "answers deleted"),
    (
        "bo_redacted_event",
        "Angaben und Anlagen gelöscht (Aufbewahrungsfrist)",
        "Answers and attachments deleted (retention period)",
    ),
    ("bo_results", "Vorgänge, neueste zuerst", "Cases, newest first"),
    ("bo_col_reference", "Vorgangsnummer", "Reference number"),
    ("bo_col_service", "Dienst", "Service"),
    ("bo_col_received", "Eingegangen", "Received"),
    ("bo_col_state", "Stand", "Status"),
    ("bo_col_deliveries", "Zustellung", "Delivery"),
    ("bo_tally_delivered", "{n} zugestellt", "{n} delivered"),
    ("bo_tally_pending", "{n} offen", "{n} pending"),
    ("bo_tally_failed", "{n} fehlgeschlagen", "{n} failed"),
    ("bo_none", "Keine Vorgänge gefunden.", "No cases found."),
    ("bo_pages", "Seiten", "Pages"),
    ("bo_next", "Nächste Seite", "Next page"),
    ("bo_first", "Erste Seite", "First page"),
    ("bo_case", "Vorgang", "Case"),
    ("bo_back_to_list", "Zurück zum Eingang", "Back to the inbox"),
    ("bo_version", "Version", "version"),
    (
        "bo_receipt",
        "Eingangsbestätigung herunterladen (PDF)",
        "Download the confirmation of receipt (PDF)",
    ),
    ("bo_change_state", "Stand ändern", "Change the status"),
    ("bo_comment_optional", "Kommentar (freiwillig)", "Comment (optional)"),
    (
        "bo_no_transitions",
        "Aus diesem Stand führt kein weiterer Schritt.",
        "No further step leads from this status.",
    ),
    (
        "bo_moved",
        "Der Stand ist jetzt „{state}“.",
        "The status is now “{state}”.",
    ),
    (
        "bo_resent",
        "Die Zustellung wird erneut versucht.",
        "The delivery is being tried again.",
    ),
    (
        "bo_conflict",
        "Jemand anderes hat den Stand inzwischen geändert: Er ist jetzt „{state}“. Bitte prüfen Sie den Vorgang und ändern Sie den Stand dann erneut.",
        "Someone else changed the status meanwhile: it is now “{state}”. Please check the case, then change the status again.",
    ),
    (
        "bo_not_allowed",
        "Dieser Schritt ist aus dem jetzigen Stand nicht möglich.",
        "This step is not possible from the current status.",
    ),
    ("bo_answers", "Angaben", "Answers"),
    ("bo_attachments", "Anlagen", "Attachments"),
    ("bo_no_attachments", "Keine Anlagen.", "No attachments."),
    ("bo_history", "Verlauf", "History"),
    ("bo_when", "Zeitpunkt", "When"),
    ("bo_who", "Wer", "Who"),
    ("bo_what", "Was", "What"),
    ("bo_from", "Vorher", "Before"),
    ("bo_comment", "Kommentar", "Comment"),
    ("bo_deliveries", "Zustellungen", "Deliveries"),
    ("bo_reports", "Rückmeldungen", "Reports"),
    (
        "bo_no_deliveries",
        "Dieser Dienst stellt nichts zu.",
        "This service delivers nothing.",
    ),
    ("bo_target", "Ziel", "Target"),
    ("bo_status", "Status", "Status"),
    ("bo_attempts", "Versuche", "Attempts"),
    ("bo_last_error", "Letzter Fehler", "Last error"),
    ("bo_next_attempt", "Nächster Versuch", "Next attempt"),
    ("bo_actions", "Aktionen", "Actions"),
    ("bo_resend", "Erneut senden", "Send again"),
    ("bo_delivery_pending", "offen", "pending"),
    ("bo_delivery_delivered", "zugestellt", "delivered"),
    ("bo_delivery_failed", "fehlgeschlagen", "failed"),
    (
        "bo_delivery_stopped",
        "vom Empfänger abgelehnt",
        "refused by the receiver",
    ),
    ("bo_submitted", "Eingegangen", "Received"),
    ("bo_citizen", "Antragsteller:in", "Applicant"),
    ("bo_system", "System", "System"),
];

/// One UI string in `lang` (`de` unless `en`), or `None` for an unknown key.
pub fn ui_string(lang: &str, key: &str) -> Option<&'static str> {
    static INDEX: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    let index = INDEX.get_or_init(|| UI_STRINGS.iter().map(|(k, de, en)| (*k, (*de, *en))).collect());
    index.get(key).map(|(de, en)| if lang == "en" { *en } else { *de })
}

/// The strings of one language as the template's `ui`, built once per renderer. An object
/// with a hash lookup, because templates read `ui.<key>` inside the loop over a step's fields.
pub(crate) fn table(lang: &str) -> Value {
    let strings = UI_STRINGS
        .iter()
        .map(|(k, de, en)| (*k, Value::from(if lang == "en" { *en } else { *de })))
        .collect();
    Value::from_object(Table(strings))
}

#[derive(Debug)]
struct Table(HashMap<&'static str, Value>);

impl Object for Table {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        self.0.get(key).cloned()
    }
}
