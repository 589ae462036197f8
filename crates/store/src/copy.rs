//! [`run`]: every record of one store into another, empty one, on any backends
//! (`baukasten store copy`), checked afterwards by exporting the target again.
//!
//! The copy streams: records are read one at a time ([`Store::export`]) and written in
//! batches ([`Store::import`], one transaction each), so a store with gigabytes of uploads is
//! never in memory at once. It is not one transaction: a copy that fails halfway leaves the
//! records written so far in the target, which is then not empty, so a second attempt is
//! refused until the target is emptied (a copy never mixes into existing data).

use crate::{Record, Store, StoreError, Tally};

/// The most records one import takes.
pub const BATCH_RECORDS: usize = 500;
/// The most bytes of uploads one import takes (one upload larger than this goes alone).
pub const BATCH_UPLOAD_BYTES: usize = 32 << 20;

/// What a copy read from the source and then found in the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub source: Tally,
    pub target: Tally,
    /// The imports it took.
    pub batches: u64,
}

impl Copied {
    /// The kinds of record whose count or checksum differ between source and target.
    pub fn differences(&self) -> Vec<&'static str> {
        self.source.differences(&self.target)
    }
}

/// Why a copy did not happen or did not finish.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The target holds records already; nothing was written to it.
    #[error("the target is not empty")]
    TargetNotEmpty,
    /// The source holds nothing; nothing was written to the target.
    #[error("the source is empty")]
    SourceEmpty,
    /// Reading the source failed (a damaged record, a storage failure) after `written`
    /// records had been written to the target.
    #[error("reading the source failed after {written} records were copied: {error}")]
    Reading { error: StoreError, written: u64 },
    /// Writing to the target failed after `written` records had been written to it.
    #[error("writing the target failed after {written} records were copied: {error}")]
    Writing { error: StoreError, written: u64 },
    /// Reading the target back to check it failed.
    #[error("reading the target back failed: {error}")]
    Checking { error: StoreError },
}

/// Copies every record of `source` into `target`, which must be empty, then exports the target
/// again and tallies what it holds. Compare the two tallies with [`Copied::differences`].
///
/// Neither store should be written by anyone else meanwhile (the server stopped): the source's
/// export is a consistent snapshot on both backends, but what is written after it is not
/// copied, and what another writer puts into the target would be counted as copied.
pub fn run(source: &dyn Store, target: &dyn Store) -> Result<Copied, CopyError> {
    let checking = |error| CopyError::Checking { error };
    let reading = |error| CopyError::Reading { error, written: 0 };
    if !target.is_empty().map_err(checking)? {
        return Err(CopyError::TargetNotEmpty);
    }
    if source.is_empty().map_err(reading)? {
        return Err(CopyError::SourceEmpty);
    }
    let mut tally = Tally::new();
    let mut batch = Batch::default();
    let (mut written, mut batches) = (0u64, 0u64);
    // A failed import ends the export; which of the two failed is told apart here.
    let mut write_error = None;
    let read = source.export(&mut |record| {
        tally.add(&record)?;
        if batch.push(record) {
            let records = batch.take();
            let n = records.len() as u64;
            if let Err(e) = target.import(records) {
                write_error = Some(e.clone());
                return Err(e);
            }
            (written, batches) = (written + n, batches + 1);
        }
        Ok(())
    });
    if let Some(error) = write_error {
        return Err(CopyError::Writing { error, written });
    }
    read.map_err(|error| CopyError::Reading { error, written })?;
    if !batch.records.is_empty() {
        let records = batch.take();
        let n = records.len() as u64;
        target
            .import(records)
            .map_err(|error| CopyError::Writing { error, written })?;
        batches += 1;
        written += n;
    }
    debug_assert_eq!(written, tally.records());
    let mut found = Tally::new();
    target.export(&mut |record| found.add(&record)).map_err(checking)?;
    Ok(Copied {
        source: tally,
        target: found,
        batches,
    })
}

/// The records of the next import.
#[derive(Default)]
struct Batch {
    records: Vec<Record>,
    upload_bytes: usize,
}

impl Batch {
    /// Adds a record; whether the batch is full now.
    fn push(&mut self, record: Record) -> bool {
        if let Record::Upload { bytes, .. } = &record {
            self.upload_bytes += bytes.len();
        }
        self.records.push(record);
        self.records.len() >= BATCH_RECORDS || self.upload_bytes >= BATCH_UPLOAD_BYTES
    }

    fn take(&mut self) -> Vec<Record> {
        self.upload_bytes = 0;
        std::mem::take(&mut self.records)
    }
}
