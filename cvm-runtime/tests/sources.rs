//! Registered sources: governance registers them, only a signed source's publishers ingest into them, deploys
//! bind manifest sources to registered ones, and Ethereum source blocks run before a block's transactions with
//! their continuity and budget checked.

mod common;

use common::eth::{ETH, START, deploy_bound, eth_block, ethereum, hash};
use common::{
    CHAIN, Chain, assert_deployed, engine, governance_key, idle_manuscript, invocations, key, kv,
    wat_manuscript,
};
use cvm_runtime::sources::{
    IngestRefusal, SourceBlockError, SourceDef, SourceHead, check_ingest, genesis_state,
    source_def, source_head, sources,
};
use cvm_runtime::state::MemoryNodeStore;
use cvm_runtime::{
    ExecError, FailureReason, InvocationOutcome, SignedTransaction, SourceStatus, Transaction,
    TxPayload, TxStatus,
};
use ed25519_dalek::SigningKey;

/// A transaction of `signer` (not the chain's own signer) with nonce `nonce`.
fn tx_by(signer: &SigningKey, nonce: u64, payload: TxPayload) -> SignedTransaction {
    Transaction {
        chain_id: CHAIN.into(),
        signer: signer.verifying_key().to_bytes(),
        nonce,
        payload,
    }
    .sign(signer)
}

fn rejected(status: &TxStatus) -> &str {
    match status {
        TxStatus::Rejected { reason } => reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn failed(status: &TxStatus) -> &str {
    match status {
        TxStatus::Failed { reason } => reason,
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// A manuscript subscribed to `kv` that fails every record unless it is invoked with the source name `kv`.
fn slot_checker(name: &str) -> Vec<u8> {
    wat_manuscript(
        name,
        "local.get 1
         i32.const 2
         i32.ne
         if
             i32.const 2
             return
         end",
        "",
    )
}

/// A manuscript subscribed to `kv` that loops until its fuel runs out.
fn spinner(name: &str) -> Vec<u8> {
    wat_manuscript(name, "loop br 0 end", "")
}

#[test]
fn only_governance_registers_valid_new_sources() {
    let mut chain = Chain::new(engine(), false);
    let gov = governance_key();
    let def = SourceDef::signed("feed-b", &[key(20).verifying_key().to_bytes()]);

    // Not a governance key: rejected, nothing stored, its nonce not consumed.
    let tx = chain.tx(TxPayload::RegisterSource {
        source: def.clone(),
    });
    let outcome = chain.block(&[tx]);
    let reason = rejected(&outcome.receipts[0].status);
    assert!(
        reason.contains("not a governance key")
            && reason.contains(&hex::encode(chain.signer.verifying_key().to_bytes())),
        "{reason}"
    );
    assert_eq!(source_def(&chain.view(), "feed-b").unwrap(), None);
    chain.nonce -= 1;

    // A governance key registers it.
    let tx = tx_by(
        &gov,
        0,
        TxPayload::RegisterSource {
            source: def.clone(),
        },
    );
    let outcome = chain.block(&[tx]);
    assert_eq!(
        outcome.receipts[0].status,
        TxStatus::SourceRegistered {
            source: "feed-b".into()
        }
    );
    assert_eq!(
        source_def(&chain.view(), "feed-b").unwrap(),
        Some(def.clone())
    );

    // The same name again, or a bad name: failed, with the cause named.
    let tx = tx_by(
        &gov,
        1,
        TxPayload::RegisterSource {
            source: def.clone(),
        },
    );
    let reason = failed(&chain.block(&[tx]).receipts[0].status).to_string();
    assert!(reason.contains("already registered"), "{reason}");
    let bad = SourceDef::signed("Feed/B", &[key(20).verifying_key().to_bytes()]);
    let tx = tx_by(&gov, 2, TxPayload::RegisterSource { source: bad });
    let reason = failed(&chain.block(&[tx]).receipts[0].status).to_string();
    assert!(reason.contains("\"Feed/B\" is not valid"), "{reason}");
    let empty = SourceDef::signed("feed-c", &[]);
    let tx = tx_by(&gov, 3, TxPayload::RegisterSource { source: empty });
    let reason = failed(&chain.block(&[tx]).receipts[0].status).to_string();
    assert!(reason.contains("no publishers"), "{reason}");

    let names: Vec<String> = sources(&chain.view())
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["ethereum.logs", "feed-b", "hostile", "kv", "s"]);
}

#[test]
fn ingest_is_refused_for_unknown_ethereum_and_unpublished_sources() {
    let mut chain = Chain::with_sources(engine(), false, &[ethereum(4, 100)]);
    let me = chain.signer.verifying_key().to_bytes();
    let stranger = key(30);
    let view = chain.view();
    assert!(matches!(
        check_ingest(&view, &me, "nowhere"),
        Err(IngestRefusal::NotRegistered(_))
    ));
    assert!(matches!(
        check_ingest(&view, &me, ETH),
        Err(IngestRefusal::Ethereum(_))
    ));
    let stranger_key = stranger.verifying_key().to_bytes();
    assert!(matches!(
        check_ingest(&view, &stranger_key, "kv"),
        Err(IngestRefusal::NotPublisher { .. })
    ));
    assert!(check_ingest(&view, &me, "kv").is_ok());

    // The executor applies the same rules, as rejections (nonces kept).
    let ingest = |source: &str| TxPayload::Ingest {
        source: source.into(),
        records: vec![kv("a", "1")].into(),
    };
    let txs = [
        tx_by(&chain.signer.clone(), 0, ingest("nowhere")),
        tx_by(&chain.signer.clone(), 0, ingest(ETH)),
        tx_by(&stranger, 0, ingest("kv")),
    ];
    let outcome = chain.block(&txs);
    let reasons: Vec<&str> = outcome
        .receipts
        .iter()
        .map(|r| rejected(&r.status))
        .collect();
    assert!(
        reasons[0].contains("source nowhere is not registered"),
        "{}",
        reasons[0]
    );
    assert!(
        reasons[1].contains(&format!(
            "source {ETH} is an ethereum source: validators pull its blocks from their endpoints; it takes no \
             Ingest"
        )),
        "{}",
        reasons[1]
    );
    assert!(
        reasons[2].contains("source kv") && reasons[2].contains(&hex::encode(stranger_key)),
        "{}",
        reasons[2]
    );
    assert_eq!(source_head(&chain.view(), "kv").unwrap(), None);

    // A publisher's ingest is applied and moves the signed head: one more ingest, the last one's hash.
    let first = tx_by(&chain.signer.clone(), 0, ingest("kv"));
    let second = tx_by(&chain.signer.clone(), 1, ingest("kv"));
    let outcome = chain.block(&[first.clone(), second.clone()]);
    assert!(
        outcome
            .receipts
            .iter()
            .all(|r| matches!(r.status, TxStatus::Ingested { .. })),
        "{:?}",
        outcome.receipts
    );
    assert_eq!(
        source_head(&chain.view(), "kv").unwrap(),
        Some(SourceHead {
            number: 2,
            hash: second.hash()
        })
    );
}

#[test]
fn deploys_bind_manifest_sources_to_registered_ones() {
    let publisher = key(7);
    let feed = SourceDef::signed("feed-a", &[publisher.verifying_key().to_bytes()]);
    let mut chain = Chain::with_sources(engine(), false, &[feed]);

    // An unregistered binding, a wrong count and a repeated binding fail with the cause and what to do.
    let reason = failed(&deploy_bound(&mut chain, slot_checker("m0"), &["nowhere"])).to_string();
    assert!(
        reason.contains("source nowhere")
            && reason.contains("not registered")
            && reason.contains("--source"),
        "{reason}"
    );
    let reason = failed(&deploy_bound(
        &mut chain,
        slot_checker("m0"),
        &["kv", "feed-a"],
    ))
    .to_string();
    assert!(reason.contains("binds 2 sources"), "{reason}");

    // Bound to feed-a: subscribed there, invoked with its manifest's name `kv`.
    assert_deployed(&deploy_bound(
        &mut chain,
        slot_checker("bound"),
        &["feed-a"],
    ));
    assert_deployed(&deploy_bound(&mut chain, slot_checker("unbound"), &[]));
    let outcome = chain.ingest("feed-a", vec![kv("a", "1"), kv("b", "2")]);
    let calls = invocations(&outcome);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(
        calls
            .iter()
            .all(|c| c.manuscript == "bound" && c.outcome == InvocationOutcome::Ok),
        "{calls:?}"
    );
    let outcome = chain.ingest("kv", vec![kv("a", "1")]);
    let calls = invocations(&outcome);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].manuscript, "unbound");
}

#[test]
fn a_deploy_naming_an_unregistered_manifest_source_fails() {
    let mut chain = Chain::new(engine(), false);
    let wasm = idle_manuscript("elsewhere-reader", &["elsewhere"], &["out"]);
    let reason = failed(&deploy_bound(&mut chain, wasm.clone(), &[])).to_string();
    assert!(
        reason.contains("source elsewhere") && reason.contains("register it"),
        "{reason}"
    );
    // Bound to a registered source, the same code deploys.
    assert_deployed(&deploy_bound(&mut chain, wasm, &["kv"]));
}

/// A chain with [`ETH`] registered and a manuscript bound to it.
fn eth_chain(max_blocks: u32, max_logs: u32, wasm: Vec<u8>) -> Chain {
    let mut chain = Chain::with_sources(engine(), true, &[ethereum(max_blocks, max_logs)]);
    assert_deployed(&deploy_bound(&mut chain, wasm, &[ETH]));
    chain
}

fn invalid(result: Result<cvm_runtime::BlockOutcome, ExecError>) -> SourceBlockError {
    match result {
        Err(ExecError::SourceBlock(e)) => e,
        Err(other) => panic!("expected an invalid source block, got {other}"),
        Ok(_) => panic!("expected an invalid source block, the block executed"),
    }
}

#[test]
fn source_blocks_run_before_transactions_and_move_the_head() {
    let mut chain = eth_chain(4, 100, slot_checker("eth-reader"));
    assert_eq!(source_head(&chain.view(), ETH).unwrap(), None);
    let outcome = chain
        .block_with_sources(
            &[eth_block(START, 3), eth_block(START + 1, 2)],
            &[],
            u64::MAX,
        )
        .expect("valid source blocks");
    assert_eq!(outcome.source_receipts.len(), 2);
    for (receipt, (n, logs)) in outcome
        .source_receipts
        .iter()
        .zip([(START, 3), (START + 1, 2)])
    {
        assert_eq!(
            (receipt.source.as_str(), receipt.number, receipt.hash),
            (ETH, n, hash(n))
        );
        match &receipt.status {
            SourceStatus::Ingested {
                subscribers,
                invocations,
            } => {
                assert_eq!(*subscribers, 1);
                assert_eq!(invocations.len(), logs);
                assert!(
                    invocations.iter().all(|i| i.outcome.is_ok()),
                    "{invocations:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(receipt.fuel_used > 0);
    }
    assert_eq!(
        outcome.fuel_used,
        outcome
            .source_receipts
            .iter()
            .map(|r| r.fuel_used)
            .sum::<u64>()
    );
    assert_eq!(
        source_head(&chain.view(), ETH).unwrap(),
        Some(SourceHead {
            number: START + 1,
            hash: hash(START + 1)
        })
    );
}

#[test]
fn source_blocks_that_break_continuity_or_budget_make_the_block_invalid() {
    let mut chain = eth_chain(2, 5, slot_checker("eth-reader"));
    let root = chain.root;

    // The first block must be the registered start.
    let mut wrong_start = eth_block(START, 1);
    wrong_start.hash = hash(999);
    let e = invalid(chain.block_with_sources(&[wrong_start], &[], u64::MAX));
    assert!(matches!(e, SourceBlockError::Start { .. }), "{e}");
    assert!(
        e.to_string().contains("first block must be its start 100"),
        "{e}"
    );
    let e = invalid(chain.block_with_sources(&[eth_block(START + 1, 1)], &[], u64::MAX));
    assert!(matches!(e, SourceBlockError::Start { .. }), "{e}");

    // Unregistered and signed sources take no source blocks.
    let mut elsewhere = eth_block(START, 1);
    elsewhere.source = "nowhere".into();
    let e = invalid(chain.block_with_sources(&[elsewhere], &[], u64::MAX));
    assert!(matches!(e, SourceBlockError::NotRegistered { .. }), "{e}");
    let mut signed = eth_block(START, 1);
    signed.source = "kv".into();
    let e = invalid(chain.block_with_sources(&[signed], &[], u64::MAX));
    assert!(matches!(e, SourceBlockError::NotEthereum { .. }), "{e}");

    // Budget: at most 2 blocks and 5 logs of the source per chain block.
    let e = invalid(chain.block_with_sources(
        &[
            eth_block(START, 1),
            eth_block(START + 1, 1),
            eth_block(START + 2, 1),
        ],
        &[],
        u64::MAX,
    ));
    assert!(
        matches!(e, SourceBlockError::TooManyBlocks { max: 2, .. }),
        "{e}"
    );
    let e = invalid(chain.block_with_sources(
        &[eth_block(START, 3), eth_block(START + 1, 3)],
        &[],
        u64::MAX,
    ));
    assert!(
        matches!(
            e,
            SourceBlockError::TooManyLogs {
                logs: 6,
                max: 5,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(chain.root, root, "an invalid block changes nothing");

    // After the start, each block follows the head: number + 1 and the head's hash as parent.
    chain
        .block_with_sources(&[eth_block(START, 1)], &[], u64::MAX)
        .expect("the start");
    let e = invalid(chain.block_with_sources(&[eth_block(START + 2, 1)], &[], u64::MAX));
    assert!(matches!(e, SourceBlockError::Continuity { .. }), "{e}");
    let mut fork = eth_block(START + 1, 1);
    fork.parent_hash = hash(12345);
    let e = invalid(chain.block_with_sources(&[fork], &[], u64::MAX));
    assert!(matches!(e, SourceBlockError::Continuity { .. }), "{e}");
    let e = invalid(chain.block_with_sources(&[eth_block(START, 1)], &[], u64::MAX));
    assert!(matches!(e, SourceBlockError::Continuity { .. }), "{e}");
    chain
        .block_with_sources(&[eth_block(START + 1, 1)], &[], u64::MAX)
        .expect("the next block");
}

#[test]
fn a_sources_first_block_in_a_chain_block_is_taken_above_the_log_budget() {
    let mut chain = eth_chain(4, 5, slot_checker("eth-reader"));
    let outcome = chain
        .block_with_sources(&[eth_block(START, 7)], &[], u64::MAX)
        .expect("one block above max_logs alone would otherwise stall the source");
    assert_eq!(outcome.source_receipts.len(), 1);
    assert_eq!(outcome.source_fuel_exhausted_at, None);
    let e = invalid(chain.block_with_sources(
        &[eth_block(START + 1, 1), eth_block(START + 2, 5)],
        &[],
        u64::MAX,
    ));
    assert!(
        matches!(
            e,
            SourceBlockError::TooManyLogs {
                logs: 6,
                max: 5,
                ..
            }
        ),
        "a second block past the budget is still refused: {e}"
    );
}

#[test]
fn a_source_block_that_runs_out_of_block_fuel_fails_but_the_head_moves_on() {
    let mut chain = eth_chain(4, 100, spinner("eth-spinner"));
    assert_deployed(&deploy_bound(&mut chain, slot_checker("kv-reader"), &[]));
    let budget = 5_000_000;
    let ingest = chain.tx(TxPayload::Ingest {
        source: "kv".into(),
        records: vec![kv("a", "1")].into(),
    });
    let outcome = chain
        .block_with_sources(&[eth_block(START, 2)], &[ingest], budget)
        .expect("a valid block");
    let receipt = &outcome.source_receipts[0];
    match &receipt.status {
        SourceStatus::Failed { reason } => assert!(
            reason.contains("fuel budget ran out") && reason.contains("moved past it"),
            "{reason}"
        ),
        other => panic!("expected a failed source block, got {other:?}"),
    }
    assert_eq!(receipt.fuel_used, budget);
    assert!(outcome.fuel_used <= budget);
    assert_eq!(
        outcome.source_fuel_exhausted_at,
        Some(0),
        "a proposer learns which one ran out"
    );
    // The transaction after it had nothing left.
    let reason = failed(&outcome.receipts[0].status);
    assert!(reason.contains("fuel budget"), "{reason}");
    assert_eq!(
        source_head(&chain.view(), ETH).unwrap(),
        Some(SourceHead {
            number: START,
            hash: hash(START)
        })
    );
    // The spinner still fails each record on its own limit when the block has fuel; the source goes on.
    let outcome = chain
        .block_with_sources(&[eth_block(START + 1, 1)], &[], u64::MAX)
        .expect("the next block");
    match &outcome.source_receipts[0].status {
        SourceStatus::Ingested { invocations, .. } => assert!(matches!(
            invocations[0].outcome,
            InvocationOutcome::Failed {
                reason: FailureReason::OutOfFuel,
                ..
            }
        )),
        other => panic!("{other:?}"),
    }
}

#[test]
fn source_blocks_give_the_same_root_and_receipts_on_every_run_cold_or_warm() {
    let blocks = [eth_block(START, 4), eth_block(START + 1, 3)];
    let run = |chain: &mut Chain| {
        let ingest = chain.tx(TxPayload::Ingest {
            source: "kv".into(),
            records: vec![kv("x", "1")].into(),
        });
        let outcome = chain
            .block_with_sources(&blocks, &[ingest], 1_000_000_000)
            .expect("valid");
        (
            outcome.state_root,
            outcome.receipts_root,
            outcome.source_receipts,
            outcome.receipts,
            outcome.fuel_used,
        )
    };
    let build = || eth_chain(4, 100, wat_manuscript("eth-writer", "", ""));
    let first = run(&mut build());
    // A second chain on a fresh engine (cold module and value caches), and the same chain executing the block
    // again on the warm caches of the first run.
    let second = run(&mut build());
    assert_eq!(first, second);
    let mut warm = build();
    let before = (warm.root, warm.height, warm.nonce);
    let once = run(&mut warm);
    (warm.root, warm.height, warm.nonce) = before;
    let again = run(&mut warm);
    assert_eq!(once, again);
    assert_eq!(first, once);
}

/// A manuscript reading two slots, `eth.logs` and `kv`, bound to [`ETH`] and `kv`, on a chain that has ingested
/// [`ETH`] block [`START`] and nothing of `kv`.
#[test]
fn genesis_refuses_duplicates_and_bad_keys() {
    let store = MemoryNodeStore::new();
    let k = key(1).verifying_key().to_bytes();
    let feed = SourceDef::signed("feed", &[k]);
    let e = genesis_state(&store, &[feed.clone(), feed.clone()], &[], &[]).unwrap_err();
    assert!(e.to_string().contains("\"feed\" is listed twice"), "{e}");
    let e = genesis_state(&store, std::slice::from_ref(&feed), &[k, k], &[]).unwrap_err();
    assert!(e.to_string().contains("listed twice"), "{e}");
    let e = genesis_state(&store, &[ethereum(0, 1)], &[], &[]).unwrap_err();
    assert!(e.to_string().contains("budget.max_blocks"), "{e}");
    let e = genesis_state(&store, &[SourceDef::signed("feed", &[])], &[], &[]).unwrap_err();
    assert!(e.to_string().contains("no publishers"), "{e}");
    // The same definitions give the same root whatever their order in the file.
    let other = SourceDef::signed("other", &[k]);
    let (a, _) = genesis_state(&store, &[feed.clone(), other.clone()], &[k], &[]).unwrap();
    let (b, _) = genesis_state(&store, &[other, feed], &[k], &[]).unwrap();
    assert_eq!(a, b);
}
