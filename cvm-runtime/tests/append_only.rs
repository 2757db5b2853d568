//! Append-only datasets (erc20-transfers' `transfers`): each block's records become one tree whose root the child
//! trie keeps at `a/<dataset>/<height>`; records, pages and a block's appends prove against the state root and any
//! change to what a proof carries fails; a key repeated within a block fails its invocation, across blocks it is
//! a new record; roots and fuel are the same on every executor and on replay.

mod common;

use std::collections::BTreeMap;

use common::{Chain, assert_deployed, engine, erc20_records, invocations};
use cvm_runtime::state::{
    APPEND_PREFIX, AppendBlock, H256, ManuscriptMeta, PageError, PageQuery, ProofError,
    RECORD_PREFIX, RangePage, StateRoot, TrieView, append_key, dataset_prefix, decoded,
    manuscript_key, prove_appended_record, prove_block_appends, prove_page, prove_record,
    prove_record_set, verify_page, verify_record, verify_record_set,
};
use cvm_runtime::{BlockOutcome, FailureReason, InvocationOutcome};
use parity_scale_codec::Decode;

/// (height, that block's transfers by key).
type Block = (u64, BTreeMap<Vec<u8>, Vec<u8>>);
/// (page key or record key, value).
type Records = Vec<(Vec<u8>, Vec<u8>)>;

const M: &str = "erc20-transfers";
const T: &str = "transfers";

fn deployed(parallel: bool) -> Chain {
    let mut chain = Chain::new(engine(), parallel);
    assert_deployed(&chain.deploy(manuscript_fixtures::ERC20_TRANSFERS, 10_000_000));
    chain
}

fn meta(chain: &Chain, root: StateRoot) -> ManuscriptMeta {
    decoded(
        &TrieView::new(chain.store.clone(), root),
        &manuscript_key(M),
    )
    .unwrap()
    .expect("deployed")
}

fn child(chain: &Chain, root: StateRoot) -> TrieView {
    TrieView::new(
        chain.store.clone(),
        H256::from(meta(chain, root).child_root),
    )
}

/// The transfers a block emitted, by key (the executor keeps records in these tests).
fn emitted(outcome: &BlockOutcome) -> BTreeMap<Vec<u8>, Vec<u8>> {
    outcome
        .records
        .iter()
        .filter(|r| r.manuscript == M && r.record.dataset == T)
        .map(|r| (r.record.key.clone(), r.record.value.clone()))
        .collect()
}

/// Three blocks of example logs, each with transfers. Returns (height, its transfers) per block.
fn three_blocks(chain: &mut Chain) -> Vec<Block> {
    let records = erc20_records();
    records
        .chunks(300)
        .take(3)
        .map(|batch| {
            let outcome = chain.ingest("ethereum.logs", batch.to_vec());
            let transfers = emitted(&outcome);
            assert!(!transfers.is_empty());
            (chain.height, transfers)
        })
        .collect()
}

/// Every appended record of the dataset as (height BE ++ key, value), in page order.
fn all_records(blocks: &[Block]) -> Records {
    blocks
        .iter()
        .flat_map(|(h, records)| {
            records
                .iter()
                .map(move |(k, v)| ([&h.to_be_bytes()[..], k].concat(), v.clone()))
        })
        .collect()
}

#[test]
fn each_block_commits_one_tree_and_no_keyed_records() {
    let mut chain = deployed(false);
    let blocks = three_blocks(&mut chain);
    let view = child(&chain, chain.root);
    for (height, transfers) in &blocks {
        let entry = view.get(&append_key(T, *height)).unwrap().expect("entry");
        let block = AppendBlock::decode(&mut &entry[..]).unwrap();
        assert_eq!(block.count as usize, transfers.len());
    }
    assert_eq!(
        view.next_key(&dataset_prefix(T), &dataset_prefix(T), false)
            .unwrap(),
        None,
        "no d/transfers/ leaf"
    );
    // Keyed datasets of the same manuscript stay keyed.
    assert!(
        view.next_key(RECORD_PREFIX, RECORD_PREFIX, false)
            .unwrap()
            .is_some()
    );
    let entries = {
        let mut n = 0;
        let mut from = APPEND_PREFIX.to_vec();
        let mut exclusive = false;
        while let Some(k) = view.next_key(APPEND_PREFIX, &from, exclusive).unwrap() {
            n += 1;
            from = k;
            exclusive = true;
        }
        n
    };
    assert_eq!(entries, blocks.len(), "one entry per block with transfers");
}

#[test]
fn a_blocks_changes_list_its_appends_and_prove_complete() {
    let mut chain = deployed(false);
    let records = erc20_records();
    let outcome = chain.ingest("ethereum.logs", records[..300].to_vec());
    let appended = outcome
        .dataset_changes
        .iter()
        .find(|c| c.dataset == T)
        .expect("transfers changed");
    let transfers = emitted(&outcome);
    assert_eq!(
        appended.written,
        transfers.keys().cloned().collect::<Vec<_>>()
    );
    assert!(appended.removed.is_empty());

    let proof = prove_block_appends(&*chain.store, chain.root, M, T, chain.height).unwrap();
    verify_record_set(&chain.root, &proof).unwrap();
    let proven: Vec<(Vec<u8>, Vec<u8>)> = proof
        .entries
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().unwrap()))
        .collect();
    assert_eq!(proven, transfers.into_iter().collect::<Vec<_>>());

    let fails = |tampered: &cvm_runtime::state::RecordSetProof, what: &str| {
        assert!(
            verify_record_set(&chain.root, tampered).is_err(),
            "{what} verified"
        );
    };
    let mut removed = proof.clone();
    removed.entries.remove(3);
    fails(&removed, "a record removed");
    let mut reordered = proof.clone();
    reordered.entries.swap(1, 2);
    fails(&reordered, "records reordered");
    let mut changed = proof.clone();
    changed.entries[0].1.as_mut().unwrap()[0] ^= 1;
    fails(&changed, "a value changed");
    let mut added = proof.clone();
    let mut extra = added.entries.last().unwrap().clone();
    extra.0.push(0);
    added.entries.push(extra);
    fails(&added, "a record added");
    let mut other_block = proof.clone();
    other_block.appended.as_mut().unwrap().height += 1;
    fails(&other_block, "another height claimed");
    let mut keyed = proof.clone();
    keyed.appended = None;
    fails(&keyed, "the append part dropped");
    // The keyed set proof refuses an append-only dataset by name.
    assert!(matches!(
        prove_record_set(&*chain.store, chain.root, M, T, &[vec![1]]),
        Err(ProofError::NeedsHeight { .. })
    ));
    // A block that appended nothing proves empty.
    let empty = prove_block_appends(&*chain.store, chain.root, M, T, chain.height + 5).unwrap();
    assert!(empty.entries.is_empty());
    verify_record_set(&chain.root, &empty).unwrap();
}

#[test]
fn appended_records_prove_against_later_roots_and_tampering_fails() {
    let mut chain = deployed(false);
    let blocks = three_blocks(&mut chain);
    let (height, transfers) = &blocks[0];
    let (key, value) = transfers.iter().nth(5).unwrap();
    // Proven at the latest root, two blocks after the one that appended it.
    let proof = prove_appended_record(&*chain.store, chain.root, M, T, *height, key).unwrap();
    assert_eq!(
        verify_record(&chain.root, &proof).unwrap().as_ref(),
        Some(value)
    );

    // At a height that appended other transfers, the key is proven absent.
    let elsewhere =
        prove_appended_record(&*chain.store, chain.root, M, T, blocks[1].0, key).unwrap();
    assert_eq!(verify_record(&chain.root, &elsewhere).unwrap(), None);
    // At a height that appended nothing, too.
    let nothing = prove_appended_record(&*chain.store, chain.root, M, T, 1, key).unwrap();
    assert_eq!(verify_record(&chain.root, &nothing).unwrap(), None);

    let mut changed = proof.clone();
    changed.value.as_mut().unwrap()[0] ^= 1;
    assert!(
        verify_record(&chain.root, &changed).is_err(),
        "value changed"
    );
    let mut absent = proof.clone();
    absent.value = None;
    assert!(
        verify_record(&chain.root, &absent).is_err(),
        "claimed absent"
    );
    let mut moved = proof.clone();
    moved.appended.as_mut().unwrap().height = blocks[1].0;
    assert!(
        verify_record(&chain.root, &moved).is_err(),
        "another block claimed"
    );
    let mut other_key = proof.clone();
    other_key.key.push(0);
    assert!(
        verify_record(&chain.root, &other_key).is_err(),
        "another key"
    );
    let mut keyed = proof.clone();
    keyed.appended = None;
    assert!(matches!(
        verify_record(&chain.root, &keyed),
        Err(ProofError::Kind {
            declared: "append-only",
            ..
        })
    ));
    // The keyed lookup names what it needs.
    assert!(matches!(
        prove_record(&*chain.store, chain.root, M, T, key),
        Err(ProofError::NeedsHeight { .. })
    ));
    // A keyed dataset refuses the append-only proof.
    assert!(matches!(
        prove_appended_record(&*chain.store, chain.root, M, "balances", *height, key),
        Err(ProofError::Kind {
            declared: "keyed",
            ..
        })
    ));
}

fn query(limit: u32) -> PageQuery {
    PageQuery {
        manuscript: M.into(),
        dataset: T.into(),
        prefix: Vec::new(),
        start: Vec::new(),
        limit,
    }
}

/// Pages the whole query at `root`, verifying each page; returns the records and the page count.
fn page_all(
    chain: &Chain,
    root: StateRoot,
    first: PageQuery,
    max_bytes: usize,
) -> (Records, usize) {
    let mut out = Vec::new();
    let mut q = first;
    let mut pages = 0;
    loop {
        let (served, page, proof) = prove_page(&*chain.store, root, &q, max_bytes).unwrap();
        let verified = verify_page(&root, &q.with_limit(served), &proof).unwrap();
        assert_eq!(verified, page);
        pages += 1;
        let last = page.records.last().map(|(k, _)| k.clone());
        out.extend(page.records);
        match (page.more, last) {
            (true, Some(last)) => q = q.after(&last),
            (true, None) => panic!("a page with more and no record"),
            (false, _) => return (out, pages),
        }
    }
}

#[test]
fn pages_list_every_record_in_height_then_key_order() {
    let mut chain = deployed(false);
    let blocks = three_blocks(&mut chain);
    let expected = all_records(&blocks);
    let root = chain.root;
    for limit in [1, 7, 100, 1000] {
        let (got, _) = page_all(&chain, root, query(limit), usize::MAX);
        assert_eq!(got, expected, "limit {limit}");
    }
    // Cut by bytes: shorter pages, the same records.
    let (got, pages) = page_all(&chain, root, query(1000), 2_000);
    assert_eq!(got, expected);
    assert!(pages > 3);
    // One height by prefix, one height and key prefix, a start inside a block.
    let (h1, first) = &blocks[1];
    let (got, _) = page_all(
        &chain,
        root,
        PageQuery {
            prefix: h1.to_be_bytes().to_vec(),
            ..query(10)
        },
        usize::MAX,
    );
    assert_eq!(got.len(), first.len());
    let mid = first.keys().nth(first.len() / 2).unwrap();
    let (got, _) = page_all(
        &chain,
        root,
        PageQuery {
            start: [&h1.to_be_bytes()[..], mid].concat(),
            ..query(10)
        },
        usize::MAX,
    );
    let from = expected
        .iter()
        .position(|(k, _)| *k == [&h1.to_be_bytes()[..], mid].concat())
        .unwrap();
    assert_eq!(got, expected[from..]);
    let key_prefix = [&h1.to_be_bytes()[..], &mid[..4]].concat();
    let (got, _) = page_all(
        &chain,
        root,
        PageQuery {
            prefix: key_prefix.clone(),
            ..query(3)
        },
        usize::MAX,
    );
    let want: Vec<_> = expected
        .iter()
        .filter(|(k, _)| k.starts_with(&key_prefix))
        .cloned()
        .collect();
    assert_eq!(got, want);
    // An empty dataset proves an empty last page.
    let fresh = deployed(false);
    let (got, pages) = page_all(&fresh, fresh.root, query(10), usize::MAX);
    assert!(got.is_empty() && pages == 1);
}

#[test]
fn tampered_pages_fail() {
    let mut chain = deployed(false);
    three_blocks(&mut chain);
    let root = chain.root;
    let q = query(50);
    let (served, page, proof) = prove_page(&*chain.store, root, &q, usize::MAX).unwrap();
    let q = q.with_limit(served);
    let verified = verify_page(&root, &q, &proof).unwrap();
    // The verified page is what the proof holds: an answer with a record removed, reordered, changed or added
    // differs from it.
    let differs = |records: Vec<(Vec<u8>, Vec<u8>)>| {
        RangePage {
            records,
            more: page.more,
        } != verified
    };
    let mut removed = page.records.clone();
    removed.remove(10);
    assert!(differs(removed));
    let mut reordered = page.records.clone();
    reordered.swap(3, 4);
    assert!(differs(reordered));
    let mut changed = page.records.clone();
    changed[0].1[0] ^= 1;
    assert!(differs(changed));
    let mut added = page.records.clone();
    added.push((vec![0xff; 20], vec![1]));
    assert!(differs(added));

    // The proof itself: a block tree dropped or swapped, a tree node changed, a page that stops early.
    let (_, big_page, big) = prove_page(&*chain.store, root, &query(1000), usize::MAX).unwrap();
    assert!(big.trees.len() >= 2, "the page spans blocks");
    assert!(!big_page.more);
    let mut dropped = big.clone();
    dropped.trees.pop();
    assert!(verify_page(&root, &query(1000), &dropped).is_err());
    let mut swapped = big.clone();
    swapped.trees.swap(0, 1);
    assert!(verify_page(&root, &query(1000), &swapped).is_err());
    let mut node = big.clone();
    let last = node.trees[0].nodes.len() - 1;
    node.trees[0].nodes[last][0] ^= 1;
    assert!(verify_page(&root, &query(1000), &node).is_err());
    // The proof of a page of the first block only, offered for a query that has room for more.
    let first_block_len = {
        let mut n = 0;
        let h = &big_page.records[0].0[..8];
        while big_page.records[n].0[..8] == *h {
            n += 1;
        }
        n as u32
    };
    let (_, _, short) =
        prove_page(&*chain.store, root, &query(first_block_len), usize::MAX).unwrap();
    assert!(matches!(
        verify_page(&root, &query(first_block_len + 5), &short),
        Err(PageError::Appended(_) | PageError::Range(_))
    ));
    // Trees offered for a keyed dataset.
    let (_, _, mut keyed) = prove_page(
        &*chain.store,
        root,
        &PageQuery {
            dataset: "supply".into(),
            ..query(10)
        },
        usize::MAX,
    )
    .unwrap();
    keyed.trees.push(big.trees[0].clone());
    assert!(matches!(
        verify_page(
            &root,
            &PageQuery {
                dataset: "supply".into(),
                ..query(10)
            },
            &keyed
        ),
        Err(PageError::Appended(_))
    ));
}

#[test]
fn a_key_repeated_within_a_block_fails_its_invocation_across_blocks_it_is_new() {
    let mut chain = deployed(false);
    let records = erc20_records();
    let batch = records[..60].to_vec();
    let first = chain.ingest("ethereum.logs", batch.clone());
    let transfers = emitted(&first);
    // The same logs twice in one block: every second emission of a transfer key fails its invocation.
    let txs: Vec<_> = (0..2)
        .map(|_| {
            chain.tx(cvm_runtime::TxPayload::Ingest {
                source: "ethereum.logs".into(),
                records: batch.clone().into(),
            })
        })
        .collect();
    let twice = chain.block(&txs);
    let receipts = invocations(&twice);
    let (first_tx, second_tx) = receipts.split_at(batch.len());
    assert!(first_tx.iter().all(|r| r.outcome == InvocationOutcome::Ok));
    let duplicates: Vec<_> = second_tx
        .iter()
        .filter(|r| r.outcome != InvocationOutcome::Ok)
        .collect();
    assert_eq!(duplicates.len(), transfers.len());
    for r in &duplicates {
        match &r.outcome {
            InvocationOutcome::Failed { reason, message } => {
                assert_eq!(*reason, FailureReason::HostLimit);
                assert!(
                    message.contains("append-only dataset \"transfers\" repeats key"),
                    "{message}"
                );
            }
            InvocationOutcome::Ok => unreachable!(),
        }
    }
    // The block appended each transfer once, again: the same keys as the first block, at a new height.
    assert_eq!(emitted(&twice).len(), transfers.len());
    let proof = prove_block_appends(&*chain.store, chain.root, M, T, chain.height).unwrap();
    assert_eq!(proof.entries.len(), transfers.len());
    let earlier = prove_block_appends(&*chain.store, chain.root, M, T, chain.height - 1).unwrap();
    assert_eq!(
        earlier.entries.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        proof.entries.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
}

/// Roots and fuel per block, and the nodes written.
fn run(parallel: bool, batches: &[Vec<Vec<u8>>]) -> (Vec<(StateRoot, u64)>, usize) {
    let mut chain = deployed(parallel);
    let out = batches
        .iter()
        .map(|batch| {
            let o = chain.ingest("ethereum.logs", batch.clone());
            (o.state_root, o.fuel_used)
        })
        .collect();
    (out, chain.store.len())
}

#[test]
fn roots_and_fuel_are_the_same_on_every_executor_and_on_replay() {
    let records = erc20_records();
    let batches: Vec<Vec<Vec<u8>>> = records.chunks(250).take(4).map(<[_]>::to_vec).collect();
    let sequential = run(false, &batches);
    let parallel = run(true, &batches);
    assert_eq!(sequential, parallel);
    assert_eq!(sequential, run(false, &batches), "replay");
    assert_eq!(parallel, run(true, &batches), "replay in parallel");
}
