//! [`Tally`]: how many records of each kind an export held, with a checksum of them, so that
//! two exports can be compared without keeping either (`baukasten store copy` checks its copy
//! this way).

use std::collections::BTreeMap;

use crate::backend::error;
use crate::{ErrorKind, Record, StoreError};

/// Per kind of record ([`Record::kind`]), how many were added and an order-independent
/// checksum of them: the sum (modulo 2⁶⁴) of the CRC-32 of each record's JSON (for an upload:
/// of its metadata's JSON followed by its bytes, which as JSON would be a list of numbers four
/// times as long, and slow to write).
///
/// Two exports of the same records, in any order, have equal tallies; a record lost, added or
/// changed by a copy changes its kind's count or checksum. It is a checksum against accidents
/// (a record left out, a byte changed), not a cryptographic hash against forgeries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    kinds: BTreeMap<&'static str, KindTally>,
}

/// The tally of one kind of record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindTally {
    pub records: u64,
    pub checksum: u64,
}

impl Tally {
    pub fn new() -> Tally {
        Tally::default()
    }

    /// Counts a record. Its JSON is fed to the checksum as it is written, so nothing is
    /// copied.
    pub fn add(&mut self, record: &Record) -> Result<(), StoreError> {
        let mut crc = CrcWriter(crc32fast::Hasher::new());
        let written = match record {
            Record::Upload { attachment, bytes } => serde_json::to_writer(&mut crc, attachment).map(|()| {
                crc.0.update(bytes);
            }),
            other => serde_json::to_writer(&mut crc, other),
        };
        written.map_err(|e| error(ErrorKind::Io, format!("cannot encode a record: {e}")))?;
        let count = self.kinds.entry(record.kind()).or_default();
        count.records += 1;
        count.checksum = count.checksum.wrapping_add(u64::from(crc.0.finalize()));
        Ok(())
    }

    /// The tally of one kind; zero for a kind never added.
    pub fn get(&self, kind: &str) -> KindTally {
        self.kinds.get(kind).copied().unwrap_or_default()
    }

    /// Every kind added, by name.
    pub fn kinds(&self) -> impl Iterator<Item = (&'static str, KindTally)> + '_ {
        self.kinds.iter().map(|(kind, count)| (*kind, *count))
    }

    /// The kinds, of either tally, whose count or checksum differ, by name.
    pub fn differences(&self, other: &Tally) -> Vec<&'static str> {
        let mut kinds: Vec<&'static str> = self.kinds.keys().chain(other.kinds.keys()).copied().collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds.retain(|kind| self.get(kind) != other.get(kind));
        kinds
    }

    /// All records added, of every kind.
    pub fn records(&self) -> u64 {
        self.kinds.values().map(|count| count.records).sum()
    }
}

/// Feeds what is written to a CRC-32.
struct CrcWriter(crc32fast::Hasher);

impl std::io::Write for CrcWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(key: &str, value: i64) -> Record {
        Record::Definition {
            key: key.to_owned(),
            value: serde_json::json!({ "n": value }),
        }
    }

    #[test]
    fn order_does_not_matter_but_every_record_does() {
        let (a, b, c) = (definition("a", 1), definition("b", 2), definition("c", 3));
        let tally = |records: &[&Record]| {
            let mut tally = Tally::new();
            for record in records {
                tally.add(record).unwrap();
            }
            tally
        };
        let forwards = tally(&[&a, &b, &c]);
        assert_eq!(forwards, tally(&[&c, &a, &b]));
        assert_eq!(forwards.get("definitions").records, 3);
        assert_eq!(forwards.records(), 3);

        assert_eq!(forwards.differences(&tally(&[&a, &b])), ["definitions"], "one lost");
        assert_eq!(
            forwards.differences(&tally(&[&a, &b, &c, &c])),
            ["definitions"],
            "one twice"
        );
        let changed = definition("c", 4);
        let other = tally(&[&a, &b, &changed]);
        assert_eq!(other.get("definitions").records, 3);
        assert_eq!(forwards.differences(&other), ["definitions"], "one changed");

        let account = Record::Account(crate::Account {
            tenant: "musterstadt".into(),
            name: "erika".into(),
            password_hash: "$argon2id$x".into(),
            created_at: chrono::DateTime::UNIX_EPOCH,
        });
        assert_eq!(tally(&[&a, &b, &c, &account]).differences(&forwards), ["accounts"]);
        assert!(forwards.differences(&forwards.clone()).is_empty());

        let upload = |bytes: &[u8]| Record::Upload {
            attachment: crate::Attachment {
                id: "f1".into(),
                tenant: None,
                file_name: "a.pdf".into(),
                media_type: "application/pdf".into(),
                size: bytes.len() as u64,
                created_at: chrono::DateTime::UNIX_EPOCH,
            },
            bytes: bytes.to_vec(),
        };
        assert_eq!(
            tally(&[&upload(b"%PDF-1")]).differences(&tally(&[&upload(b"%PDF-2")])),
            ["uploads"],
            "a changed byte"
        );
    }
}
