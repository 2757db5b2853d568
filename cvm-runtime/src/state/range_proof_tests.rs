//! Range and page proofs: honest pages verify and equal the trie's records; pages concatenate to the whole range;
//! every doctored page or proof fails.

use std::collections::BTreeMap;

use parity_scale_codec::Encode;
use proptest::prelude::*;
use sp_core::H256;

use super::layout::{ManuscriptMeta, manuscript_key, record_key};
use super::page_proof::{PageError, PageQuery, prove_page, verify_page};
use super::range_proof::{
    RangeError, RangePage, RangeProof, RangeQuery, prove_range, verify_range,
};
use super::store::{MemoryNodeStore, NodeStore};
use super::trie::{OverlayDb, empty_root};

type Records = BTreeMap<Vec<u8>, Vec<u8>>;

fn build(store: &MemoryNodeStore, records: &Records) -> H256 {
    let mut overlay = OverlayDb::new(store);
    let root = overlay
        .apply(
            empty_root(),
            records
                .iter()
                .map(|(k, v)| (k.as_slice(), Some(v.as_slice()))),
        )
        .unwrap();
    let changes = overlay.into_changes();
    store.commit(&changes).unwrap();
    root
}

/// The page the query must give, straight from the map.
fn expected(records: &Records, query: &RangeQuery) -> RangePage {
    let from = if query.start < query.prefix {
        query.prefix.clone()
    } else {
        query.start.clone()
    };
    let mut in_range = records
        .range(from..)
        .take_while(|(k, _)| k.starts_with(&query.prefix));
    let page: Vec<_> = in_range
        .by_ref()
        .take(query.limit as usize)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    RangePage {
        records: page,
        more: in_range.next().is_some(),
    }
}

/// What a reader does with a page someone hands them: verify the proof and compare its records and `more` with
/// the claimed ones.
fn accepts(root: &H256, query: &RangeQuery, claimed: &RangePage, proof: &RangeProof) -> bool {
    verify_range(root, proof, query).is_ok_and(|proven| proven == *claimed)
}

fn prove(
    store: &MemoryNodeStore,
    root: H256,
    query: &RangeQuery,
) -> (RangeQuery, RangePage, RangeProof) {
    let (served, page, proof) = prove_range(store, root, query, usize::MAX).unwrap();
    let served = RangeQuery {
        limit: served,
        ..query.clone()
    };
    (served, page, proof)
}

/// Keys from a small alphabet so that they share prefixes and the trie has branches at many depths.
fn key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![Just(0u8), Just(1), Just(0x10), Just(0xff)],
        0..6,
    )
}

fn records() -> impl Strategy<Value = Records> {
    proptest::collection::btree_map(key(), proptest::collection::vec(any::<u8>(), 0..40), 0..80)
}

fn query() -> impl Strategy<Value = RangeQuery> {
    (
        proptest::collection::vec(prop_oneof![Just(0u8), Just(1)], 0..2),
        key(),
        1u32..12,
    )
        .prop_map(|(prefix, start, limit)| RangeQuery {
            prefix,
            start,
            limit,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn honest_pages_verify_and_hold_the_range(records in records(), query in query()) {
        let store = MemoryNodeStore::new();
        let root = build(&store, &records);
        let (served, page, proof) = prove(&store, root, &query);
        prop_assert_eq!(&page, &expected(&records, &query));
        prop_assert!(accepts(&root, &served, &page, &proof));
    }

    #[test]
    fn pages_concatenate_to_the_whole_range(records in records(), query in query()) {
        let store = MemoryNodeStore::new();
        let root = build(&store, &records);
        let whole = expected(&records, &RangeQuery { limit: u32::MAX, ..query.clone() });
        let mut all = Vec::new();
        let mut next = query.clone();
        loop {
            let (served, page, proof) = prove(&store, root, &next);
            prop_assert!(accepts(&root, &served, &page, &proof));
            all.extend(page.records.iter().cloned());
            if !page.more {
                break;
            }
            next = next.after(&page.records.last().unwrap().0);
        }
        prop_assert_eq!(all, whole.records);
    }

    #[test]
    fn doctored_pages_fail(records in records(), query in query(), pick in any::<prop::sample::Index>()) {
        let store = MemoryNodeStore::new();
        let root = build(&store, &records);
        let (served, page, proof) = prove(&store, root, &query);
        let n = page.records.len();
        if n > 0 {
            let i = pick.index(n);
            let mut removed = page.clone();
            removed.records.remove(i);
            prop_assert!(!accepts(&root, &served, &removed, &proof), "record removed");

            let mut changed = page.clone();
            changed.records[i].1.push(7);
            prop_assert!(!accepts(&root, &served, &changed, &proof), "value changed");

            let mut added = page.clone();
            added.records.insert(i, (page.records[i].0.clone(), vec![9]));
            prop_assert!(!accepts(&root, &served, &added, &proof), "record added");

            // A page skipping its first records (a cursor past them) under the query that names them.
            let skipped = RangePage { records: page.records[i + 1..].to_vec(), more: page.more };
            prop_assert!(!accepts(&root, &served, &skipped, &proof), "records skipped");
        }
        if n > 1 {
            let mut reordered = page.clone();
            reordered.records.swap(0, n - 1);
            prop_assert!(!accepts(&root, &served, &reordered, &proof), "records reordered");
        }
        let mut flipped = page.clone();
        flipped.more = !page.more;
        prop_assert!(!accepts(&root, &served, &flipped, &proof), "more flipped");
    }

    #[test]
    fn doctored_proofs_prove_nothing_false(
        records in records(),
        query in query(),
        pick in any::<prop::sample::Index>(),
        byte in any::<prop::sample::Index>(),
    ) {
        let store = MemoryNodeStore::new();
        let root = build(&store, &records);
        let (served, page, proof) = prove(&store, root, &query);
        let truth = expected(&records, &served);
        if !proof.nodes.is_empty() {
            let i = pick.index(proof.nodes.len());
            let mut dropped = proof.clone();
            dropped.nodes.remove(i);
            let outcome = verify_range(&root, &dropped, &served);
            prop_assert!(outcome.is_err() || outcome == Ok(truth.clone()), "node dropped: {outcome:?}");

            let mut flipped = proof.clone();
            if !flipped.nodes[i].is_empty() {
                let b = byte.index(flipped.nodes[i].len());
                flipped.nodes[i][b] ^= 0x40;
                prop_assert!(verify_range(&root, &flipped, &served).is_err(), "byte flipped");
            }

            let mut extra = proof.clone();
            extra.nodes.push(proof.nodes[i].clone());
            prop_assert!(verify_range(&root, &extra, &served).is_err(), "trailing node");
        }
        // The proof of a shorter range, handed over for the longer one: the end of the range was truncated.
        if page.records.len() > 1 {
            let shorter = RangeQuery { limit: page.records.len() as u32 - 1, ..served.clone() };
            let (_, short_page, short_proof) = prove(&store, root, &shorter);
            let outcome = verify_range(&root, &short_proof, &served);
            prop_assert!(outcome.is_err() || outcome == Ok(truth.clone()), "truncated: {outcome:?}");
            let claimed = RangePage { records: short_page.records, more: false };
            prop_assert!(!accepts(&root, &served, &claimed, &short_proof), "truncated end accepted");
        }
    }

    #[test]
    fn a_proof_from_another_root_fails(records in records(), query in query(), extra in key()) {
        let store = MemoryNodeStore::new();
        let root = build(&store, &records);
        let mut other = records.clone();
        other.insert(extra, b"another record".to_vec());
        let other_root = build(&store, &other);
        prop_assume!(other_root != root);
        let (served, _, other_proof) = prove(&store, other_root, &query);
        prop_assert!(verify_range(&root, &other_proof, &served).is_err());
    }
}

#[test]
fn the_empty_trie_has_empty_pages() {
    let store = MemoryNodeStore::new();
    let query = RangeQuery {
        prefix: vec![],
        start: vec![],
        limit: 5,
    };
    let (served, page, proof) = prove(&store, empty_root(), &query);
    assert_eq!(page, RangePage::default());
    assert!(accepts(&empty_root(), &served, &page, &proof));
    // An empty proof does not show a non-empty trie's range empty.
    let root = build(&store, &BTreeMap::from([(vec![1], vec![2])]));
    assert!(matches!(
        verify_range(&root, &RangeProof::default(), &query),
        Err(RangeError::Incomplete(_))
    ));
}

#[test]
fn a_zero_limit_is_refused() {
    let store = MemoryNodeStore::new();
    let query = RangeQuery {
        prefix: vec![],
        start: vec![],
        limit: 0,
    };
    assert_eq!(
        prove_range(&store, empty_root(), &query, usize::MAX).unwrap_err(),
        RangeError::ZeroLimit
    );
    assert_eq!(
        verify_range(&empty_root(), &RangeProof::default(), &query).unwrap_err(),
        RangeError::ZeroLimit
    );
}

#[test]
fn a_byte_bound_shortens_the_page_and_says_so() {
    let store = MemoryNodeStore::new();
    let records: Records = (0u8..50).map(|i| (vec![i], vec![i; 100])).collect();
    let root = build(&store, &records);
    let query = RangeQuery {
        prefix: vec![],
        start: vec![],
        limit: 50,
    };
    let (served, page, proof) = prove_range(&store, root, &query, 1000).unwrap();
    assert_eq!(served, 10, "ten records of 101 bytes pass 1000 bytes");
    assert!(page.more);
    let served = RangeQuery {
        limit: served,
        ..query.clone()
    };
    assert!(accepts(&root, &served, &page, &proof));
    // The verifier given the asked-for limit walks past what the proof holds.
    assert!(verify_range(&root, &proof, &query).is_err());
}

/// Builds a dataset of `n` records shaped like erc20-transfers' transfers (a 44-byte key, a 150-byte value).
fn transfers(n: u32) -> (MemoryNodeStore, H256) {
    let store = MemoryNodeStore::new();
    let records: Records = (0..n)
        .map(|i| {
            let mut key = super::trie::blake2_256(&i.to_le_bytes()).to_vec();
            key.extend_from_slice(&u64::from(i).to_be_bytes());
            key.extend_from_slice(&i.to_be_bytes());
            (record_key("transfers", &key), vec![(i % 251) as u8; 150])
        })
        .collect();
    let root = build(&store, &records);
    (store, root)
}

/// Encoded bytes of the proof of a page of `limit` records from the middle of the dataset.
pub(crate) fn page_proof_bytes(store: &MemoryNodeStore, root: H256, limit: u32) -> (usize, usize) {
    let query = RangeQuery {
        prefix: b"d/transfers/".to_vec(),
        start: [&b"d/transfers/"[..], &[0x80]].concat(),
        limit,
    };
    let (served, page, proof) = prove_range(store, root, &query, usize::MAX).unwrap();
    assert_eq!(served, limit);
    let served = RangeQuery {
        limit: served,
        ..query
    };
    assert!(accepts(&root, &served, &page, &proof));
    let records: usize = page.records.iter().map(|(k, v)| k.len() + v.len()).sum();
    (proof.encode().len(), records)
}

#[test]
fn proof_size_grows_with_the_page_not_the_dataset() {
    let (small, small_root) = transfers(1_000);
    let (large, large_root) = transfers(20_000);
    let (small10, _) = page_proof_bytes(&small, small_root, 10);
    let (large10, _) = page_proof_bytes(&large, large_root, 10);
    let (large100, records100) = page_proof_bytes(&large, large_root, 100);
    // Twenty times the records adds about one level of branches to the two root paths.
    assert!(large10 < small10 * 2, "{small10} -> {large10}");
    // A page's proof is its records plus a bounded share of branches.
    assert!(
        large100 < records100 * 2,
        "{large100} for {records100} bytes of records"
    );
    assert!(large100 > large10 * 5, "{large10} -> {large100}");
}

fn meta(datasets: &[&str], child_root: H256) -> ManuscriptMeta {
    ManuscriptMeta {
        name: "tokens".into(),
        code_hash: [1; 32],
        sources: vec![],
        slots: vec![],
        datasets: datasets.iter().map(|d| d.to_string()).collect(),
        fuel_limit_per_record: 1,
        child_root: child_root.to_fixed_bytes(),
        deployed_at: 1,
        deployer: [2; 32],
        append_only: Vec::new(),
    }
}

/// A state with manuscript `tokens` whose datasets `a` and `ab` hold three records each, and a private state entry.
fn state() -> (MemoryNodeStore, H256) {
    let store = MemoryNodeStore::new();
    let mut child = Records::new();
    for dataset in ["a", "ab"] {
        for k in [b"k1", b"k2", b"k3"] {
            child.insert(
                record_key(dataset, k),
                format!("{dataset}:{k:?}").into_bytes(),
            );
        }
    }
    child.insert(b"s/private".to_vec(), b"state".to_vec());
    let child_root = build(&store, &child);
    let main = Records::from([
        (
            manuscript_key("tokens"),
            meta(&["a", "ab"], child_root).encode(),
        ),
        (b"account/x".to_vec(), vec![0]),
    ]);
    let root = build(&store, &main);
    (store, root)
}

fn page_query(dataset: &str, limit: u32) -> PageQuery {
    PageQuery {
        manuscript: "tokens".into(),
        dataset: dataset.into(),
        prefix: vec![],
        start: vec![],
        limit,
    }
}

#[test]
fn dataset_pages_hold_only_their_dataset() {
    let (store, root) = state();
    let (served, page, proof) = prove_page(&store, root, &page_query("a", 10), usize::MAX).unwrap();
    assert_eq!(served, 10);
    assert_eq!(
        page.records
            .iter()
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>(),
        vec![b"k1".to_vec(), b"k2".to_vec(), b"k3".to_vec()]
    );
    assert!(!page.more, "dataset ab's records are not a's");
    assert_eq!(
        verify_page(&root, &page_query("a", 10), &proof).unwrap(),
        page
    );
}

#[test]
fn dataset_page_rejections() {
    let (store, root) = state();
    let query = page_query("a", 2);
    let (_, _, proof) = prove_page(&store, root, &query, usize::MAX).unwrap();
    let other = PageQuery {
        manuscript: "other".into(),
        ..query.clone()
    };
    assert_eq!(
        prove_page(&store, root, &other, usize::MAX).unwrap_err(),
        PageError::NoManuscript("other".into())
    );
    assert!(matches!(
        verify_page(&root, &other, &proof),
        Err(PageError::MainProof(_))
    ));
    let undeclared = page_query("s", 2);
    assert!(matches!(
        prove_page(&store, root, &undeclared, usize::MAX),
        Err(PageError::UndeclaredDataset { .. })
    ));
    assert!(matches!(
        verify_page(&root, &undeclared, &proof),
        Err(PageError::UndeclaredDataset { .. })
    ));
    // The proof of dataset a does not prove dataset ab's page.
    assert!(verify_page(&root, &page_query("ab", 2), &proof).is_err());
    let mut bad_meta = proof.clone();
    bad_meta.manuscript_meta.push(0);
    assert!(matches!(
        verify_page(&root, &query, &bad_meta),
        Err(PageError::MainProof(_))
    ));
    assert!(matches!(
        verify_page(&H256::repeat_byte(3), &query, &proof),
        Err(PageError::MainProof(_))
    ));
}
