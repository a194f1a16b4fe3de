//! Appending into an open file-store batch, shared by the store's tests and
//! the command line's (which include this file by path): the helper needs
//! `caseledger_store`, which the test kit cannot depend on (the store's
//! tests depend on the test kit).

use caseledger::{Event, ExpectedVersion};

/// Appends `events` one by one into an open batch, with exact expected
/// versions.
pub fn append_each_in(batch: &mut caseledger_store::Batch<'_>, events: &[Event]) {
    for e in events {
        let v = batch.stream_version(e.case_id);
        batch
            .append(
                e.case_id,
                ExpectedVersion::Exact(v),
                std::slice::from_ref(e),
            )
            .unwrap();
    }
}
