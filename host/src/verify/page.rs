//! Offline verification of a record page ([`RecordPage`]): the header is finalized (as for a record bundle), the
//! page proof proves the range against the header's state root, the page's records are exactly the proven ones
//! (none left out, added, reordered or changed), and its `next` cursor is there exactly when more records follow
//! and starts right after the last one.

use cvm_runtime::state::verify_page;

use super::{Trust, VerifyError, check_finality};
use crate::hex_text::to_hex;
use crate::record_page::RecordPage;

/// A page that checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageVerdict {
    /// The manuscript.
    pub manuscript: String,
    /// The dataset.
    pub dataset: String,
    /// Height the page was checked at.
    pub height: u64,
    /// Records proven (all of the range, in key order).
    pub records: usize,
    /// The key prefix of the range.
    pub prefix: Vec<u8>,
    /// The first key the range may hold.
    pub start: Vec<u8>,
    /// Whether more records follow (the page has a `next` cursor).
    pub more: bool,
    /// Voting power of the validators that signed the certificate.
    pub signed_power: u64,
    /// Total voting power of the validator set.
    pub total_power: u64,
}

impl std::fmt::Display for PageVerdict {
    /// `page <manuscript>/<dataset> prefix P from S: N records, complete[, more follow] at height H (signed by X
    /// of Y power)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "page {}/{} prefix {} from {}: {} records, complete{} at height {} (signed by {} of {} power)",
            self.manuscript,
            self.dataset,
            to_hex(&self.prefix),
            to_hex(&self.start),
            self.records,
            if self.more {
                ", more follow"
            } else {
                ", the last page"
            },
            self.height,
            self.signed_power,
            self.total_power
        )
    }
}

/// Checks a page against what the reader trusts.
pub fn verify_record_page(page: &RecordPage, trust: &Trust) -> Result<PageVerdict, VerifyError> {
    let (signed_power, total_power) = check_finality(
        &page.chain_id,
        page.height,
        &page.header,
        &page.certificate,
        trust,
        &[],
    )?;
    let proven = verify_page(&page.header.state_root.into(), &page.query, &page.proof)
        .map_err(VerifyError::PageProof)?;
    for (i, (claimed, (key, value))) in page.records.iter().zip(&proven.records).enumerate() {
        if claimed.key != *key {
            return Err(VerifyError::PageRecords(format!(
                "record {i} of the page has key {}, the proof's record {i} is {}",
                to_hex(&claimed.key),
                to_hex(key)
            )));
        }
        if claimed.value != *value {
            return Err(VerifyError::PageRecords(format!(
                "record {} has value {}, the proof proves {}",
                to_hex(key),
                to_hex(&claimed.value),
                to_hex(value)
            )));
        }
    }
    if page.records.len() != proven.records.len() {
        return Err(VerifyError::PageRecords(format!(
            "the page has {} records, the proof proves {} for its range",
            page.records.len(),
            proven.records.len()
        )));
    }
    match (&page.next, proven.more) {
        (None, true) => {
            return Err(VerifyError::PageCursor(
                "the page has no next cursor but more records of the range follow".into(),
            ));
        }
        (Some(_), false) => {
            return Err(VerifyError::PageCursor(
                "the page has a next cursor but no record of the range follows".into(),
            ));
        }
        (Some(next), true) => {
            let last = &proven
                .records
                .last()
                .map(|(k, _)| k.clone())
                .unwrap_or_default();
            if next.height != page.height || next.last_key != *last {
                return Err(VerifyError::PageCursor(format!(
                    "the cursor continues after key {} at height {}, the page ends at key {} at height {}",
                    to_hex(&next.last_key),
                    next.height,
                    to_hex(last),
                    page.height
                )));
            }
        }
        (None, false) => {}
    }
    Ok(PageVerdict {
        manuscript: page.query.manuscript.clone(),
        dataset: page.query.dataset.clone(),
        height: page.height,
        records: proven.records.len(),
        prefix: page.query.prefix.clone(),
        start: page.query.start.clone(),
        more: proven.more,
        signed_power,
        total_power,
    })
}

/// Whether `page` starts right after `before`: at its `next` cursor (same height and range, the key after its
/// last). Both pages must have verified on their own.
pub fn continues(before: &RecordPage, page: &RecordPage) -> bool {
    before.next.as_ref().is_some_and(|next| {
        next.height == page.height
            && before
                .query
                .after(&next.last_key)
                .with_limit(page.query.limit)
                == page.query
    })
}

/// Checks pages saved one after the other (`cvm query records --all --out`): each page verifies, and each starts
/// right after the page before (its cursor: same height, range and the next key), so together they hold every
/// record of the first page's range from its start. Returns the verdicts in order, or the index of the first bad
/// page and why.
pub fn verify_record_pages(
    pages: &[RecordPage],
    trust: &Trust,
) -> Result<Vec<PageVerdict>, (usize, VerifyError)> {
    let mut verdicts = Vec::with_capacity(pages.len());
    for (i, page) in pages.iter().enumerate() {
        let verdict = verify_record_page(page, trust).map_err(|e| (i, e))?;
        if let Some(before) = i.checked_sub(1).map(|j| &pages[j])
            && !continues(before, page)
        {
            return Err((
                i,
                VerifyError::PageCursor(format!(
                    "page {i} does not continue page {} (it must be of the same height and range and start at its \
                     next cursor)",
                    i - 1
                )),
            ));
        }
        verdicts.push(verdict);
    }
    Ok(verdicts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record_page::PageCursor;
    use crate::verify::fixture::{page, trust};

    fn verify(p: &RecordPage) -> Result<PageVerdict, VerifyError> {
        verify_record_page(p, &trust())
    }

    #[test]
    fn real_pages_verify_survive_json_and_concatenate() {
        let whole = page(&[], &[], 10);
        assert_eq!(whole.records.len(), 3, "a, b and count");
        assert!(whole.next.is_none());
        let verdict = verify(&whole).unwrap();
        assert_eq!((verdict.records, verdict.more), (3, false));
        assert!(
            verdict.to_string().starts_with(
                "page wat-counter/counts prefix 0x from 0x: 3 records, complete, the last page"
            ),
            "{verdict}"
        );
        let json = serde_json::to_string(&whole).unwrap();
        assert_eq!(serde_json::from_str::<RecordPage>(&json).unwrap(), whole);

        let mut keys = Vec::new();
        let mut start = Vec::new();
        loop {
            let p = page(&[], &start, 1);
            assert!(verify(&p).unwrap().records == 1);
            keys.push(p.records[0].key.clone());
            let Some(next) = p.next else { break };
            start = next.last_key;
            start.push(0);
        }
        let all: Vec<_> = whole.records.iter().map(|r| r.key.clone()).collect();
        assert_eq!(keys, all);
    }

    #[test]
    fn a_prefix_limits_the_page() {
        let p = page(b"c", &[], 10);
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.records[0].key, b"count");
        assert!(verify(&p).is_ok());
    }

    #[test]
    fn doctored_pages_fail() {
        let honest = page(&[], &[], 10);
        let records = |f: &dyn Fn(&mut RecordPage)| {
            let mut p = honest.clone();
            f(&mut p);
            verify(&p).unwrap_err()
        };
        assert!(matches!(
            records(&|p| {
                p.records.remove(1);
            }),
            VerifyError::PageRecords(_)
        ));
        assert!(matches!(
            records(&|p| p.records.swap(0, 2)),
            VerifyError::PageRecords(_)
        ));
        assert!(matches!(
            records(&|p| {
                let r = p.records[0].clone();
                p.records.push(r);
            }),
            VerifyError::PageRecords(_)
        ));
        assert!(matches!(
            records(&|p| p.records[1].value[0] ^= 1),
            VerifyError::PageRecords(_)
        ));
        // A cursor on the last page, or a page that stops early claiming to be the last.
        assert!(matches!(
            records(&|p| p.next = Some(PageCursor {
                height: 2,
                last_key: b"count".to_vec()
            })),
            VerifyError::PageCursor(_)
        ));
        let short = page(&[], &[], 1);
        let mut truncated = short.clone();
        truncated.next = None;
        assert!(matches!(
            verify(&truncated),
            Err(VerifyError::PageCursor(_))
        ));
        // A cursor that skips records.
        let mut skipping = short.clone();
        skipping.next = Some(PageCursor {
            height: 2,
            last_key: b"b".to_vec(),
        });
        assert!(matches!(verify(&skipping), Err(VerifyError::PageCursor(_))));
        // The same proof presented for a wider range (a longer limit): it does not show the rest complete.
        let mut widened = short.clone();
        widened.query.limit = 10;
        widened.next = None;
        assert!(matches!(verify(&widened), Err(VerifyError::PageProof(_))));
        // A page of another range under this one's query.
        let mut moved = page(b"c", &[], 10);
        moved.query.prefix = Vec::new();
        assert!(verify(&moved).is_err());
        // The header of another state.
        assert!(matches!(
            records(&|p| p.header.state_root[0] ^= 1),
            VerifyError::CertificateForOtherBlock { .. }
        ));
    }
}
