//! What the server stores for a submission: the record the engine built, with the
//! municipality it was sent to and the draft it came from. The pages and the API both store
//! through here, so the same answers make the same stored submission on either path.

use baukasten_engine::SubmissionRecord;
use baukasten_store::{NewDelivery, NewSubmission};

/// The store's new submission for a record of the engine, and the state it starts in.
pub fn new_submission(tenant: &str, record: SubmissionRecord, draft: Option<String>) -> (NewSubmission, String) {
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
