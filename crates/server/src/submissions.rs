//! What the server stores for a submission: the record the engine built, with the
//! municipality it was sent to and the draft it came from. The pages and the API both store
//! through here, so the same answers make the same stored submission on either path.

use baukasten_dsl::model::Service;
use baukasten_engine::SubmissionRecord;
use baukasten_store::{NewDelivery, NewSubmission};

use crate::lang::Lang;

/// The language a citizen used with a service: English where they asked for it and the
/// service speaks it, else German (every service speaks German).
pub fn spoken(service: &Service, asked: Lang) -> &'static str {
    if asked == Lang::En && service.languages.iter().any(|l| l == "en") {
        "en"
    } else {
        "de"
    }
}

/// The store's new submission for a record of the engine, and the state it starts in. The
/// data keeps the language it was made in (`lang`), so the citizen's mails and receipt speak
/// it.
pub fn new_submission(
    tenant: &str,
    record: SubmissionRecord,
    draft: Option<String>,
    lang: &str,
) -> (NewSubmission, String) {
    let SubmissionRecord {
        service,
        version,
        definition_hash,
        reference_prefix,
        initial_state,
        data,
        fee_total,
        attachments,
        deliveries,
    } = record;
    let mut data = data;
    if let Some(object) = data.as_object_mut() {
        object.insert("lang".into(), lang.into());
    }
    let new = NewSubmission {
        tenant: Some(tenant.to_string()),
        service,
        version,
        definition_hash,
        reference_prefix,
        data,
        fee_total,
        attachments,
        draft,
        deliveries: deliveries
            .into_iter()
            .map(|(channel, target)| NewDelivery {
                channel,
                target,
                event: None,
            })
            .collect(),
    };
    (new, initial_state)
}
