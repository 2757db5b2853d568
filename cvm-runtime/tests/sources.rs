//! Registered sources: governance registers them, only a signed source's publishers ingest into them, deploys
//! bind manifest sources to registered ones, and Ethereum source blocks run before a block's transactions with
//! their continuity and budget checked, a manuscript's sources and their heads provable.

mod common;

use common::{
    CHAIN, Chain, assert_deployed, engine, governance_key, invocations, key, kv, manifest_literal,
    wat_manuscript,
};
use cvm_runtime::sources::{
    BoundSource, Confirmations, EthereumSource, IngestRefusal, Provenance, ProvenanceError,
    SourceBlock, SourceBlockError, SourceBudget, SourceDef, SourceHead, SourceKind, check_ingest,
    genesis_state, prove_provenance, source_def, source_head, sources, verify_provenance,
};
use cvm_runtime::state::{ManuscriptMeta, MemoryNodeStore};
use cvm_runtime::{
    ExecError, FailureReason, InvocationOutcome, SignedTransaction, SourceStatus, Transaction,
    TxPayload, TxStatus,
};
use ed25519_dalek::SigningKey;

const FUEL: u64 = 10_000_000;
const ETH: &str = "eth-main";
const START: u64 = 100;

fn hash(n: u64) -> [u8; 32] {
    let mut h = [0u8; 32];
    h[..8].copy_from_slice(&n.to_le_bytes());
    h[31] = 0xee;
    h
}

fn ethereum(max_blocks: u32, max_logs: u32) -> SourceDef {
    SourceDef {
        name: ETH.into(),
        kind: SourceKind::Ethereum(EthereumSource {
            chain_id: 1,
            start: SourceHead {
                number: START,
                hash: hash(START),
            },
            confirmations: Confirmations::Finalized,
            budget: SourceBudget {
                max_blocks,
                max_logs,
            },
        }),
    }
}

/// Source block `n` of [`ETH`], linked to `n - 1`, with `logs` records.
fn eth_block(n: u64, logs: usize) -> SourceBlock {
    SourceBlock {
        source: ETH.into(),
        number: n,
        hash: hash(n),
        parent_hash: hash(n - 1),
        records: (0..logs).map(|i| kv(&format!("{n}-{i}"), "v")).collect(),
    }
}

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

fn deploy_bound(chain: &mut Chain, wasm: Vec<u8>, sources: &[&str]) -> TxStatus {
    let tx = chain.tx(TxPayload::Deploy {
        wasm,
        fuel_limit_per_record: FUEL,
        sources: sources.iter().map(|s| s.to_string()).collect(),
    });
    chain.block(&[tx]).receipts.remove(0).status
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
    let manifest = manifest_literal("elsewhere-reader", &["elsewhere"], &["out"]);
    let wasm = wat::parse_str(format!(
        r#"(module
            (memory (export "memory") 1)
            (func (export "cvm_alloc") (param i32) (result i32) i32.const 1024)
            (func (export "cvm_process") (param i32 i32 i32 i32) (result i32) i32.const 0)
            (@custom "cvm_manifest" "{manifest}"))"#
    ))
    .expect("valid WAT");
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
fn two_source_chain() -> Chain {
    let mut chain = Chain::with_sources(engine(), true, &[ethereum(4, 100)]);
    let manifest = manifest_literal("two-reader", &["eth.logs", "kv"], &["out"]);
    let wasm = wat::parse_str(format!(
        r#"(module
            (memory (export "memory") 1)
            (func (export "cvm_alloc") (param i32) (result i32) i32.const 1024)
            (func (export "cvm_process") (param i32 i32 i32 i32) (result i32) i32.const 0)
            (@custom "cvm_manifest" "{manifest}"))"#
    ))
    .expect("valid WAT");
    assert_deployed(&deploy_bound(&mut chain, wasm, &[ETH, "kv"]));
    chain
        .block_with_sources(&[eth_block(START, 1)], &[], u64::MAX)
        .expect("valid");
    chain
}

#[test]
fn a_manuscripts_sources_and_their_heads_are_proven_against_a_state_root() {
    let chain = two_source_chain();
    let proof = prove_provenance(&*chain.store, chain.root, "two-reader").unwrap();
    let provenance = verify_provenance(&chain.root, &proof).unwrap();
    assert_eq!(
        provenance,
        Provenance {
            manuscript: "two-reader".into(),
            deployed: true,
            bindings: vec![
                BoundSource {
                    slot: "eth.logs".into(),
                    source: ETH.into(),
                    def: Some(ethereum(4, 100)),
                    head: Some(SourceHead {
                        number: START,
                        hash: hash(START)
                    }),
                },
                BoundSource {
                    slot: "kv".into(),
                    source: "kv".into(),
                    def: source_def(&chain.view(), "kv").unwrap(),
                    head: None,
                },
            ],
        }
    );
    assert!(provenance.bindings[1].def.is_some());

    // A manuscript not deployed reads nothing, and that is proven too.
    let none = prove_provenance(&*chain.store, chain.root, "nobody").unwrap();
    let provenance = verify_provenance(&chain.root, &none).unwrap();
    assert!(!provenance.deployed && provenance.bindings.is_empty());
    // Claiming it reads a source is refused before the proof is looked at.
    let mut claimed = none.clone();
    claimed.sources = proof.sources.clone();
    assert!(matches!(
        verify_provenance(&chain.root, &claimed),
        Err(ProvenanceError::OtherSources { bound, .. }) if bound.is_empty()
    ));
}

#[test]
fn provenance_with_a_changed_head_binding_or_root_is_refused() {
    let mut chain = two_source_chain();
    let root = chain.root;
    let proof = prove_provenance(&*chain.store, root, "two-reader").unwrap();
    let encoded_head = |n: u64| {
        Some(parity_scale_codec::Encode::encode(&SourceHead {
            number: n,
            hash: hash(n),
        }))
    };

    // A later head, a head claimed absent, a head given to a source with none: the proof no longer matches.
    let mut later = proof.clone();
    later.sources[0].head = encoded_head(START + 7);
    let mut absent = proof.clone();
    absent.sources[0].head = None;
    let mut invented = proof.clone();
    invented.sources[1].head = encoded_head(1);
    // Another definition (a signed source claimed to be Ethereum).
    let mut redefined = proof.clone();
    redefined.sources[1].def = Some(parity_scale_codec::Encode::encode(&ethereum(4, 100)));
    // A dropped proof node.
    let mut cut = proof.clone();
    cut.proof.pop();
    for (what, bad) in [
        ("later head", later),
        ("absent head", absent),
        ("invented head", invented),
        ("redefined source", redefined),
        ("cut proof", cut),
    ] {
        assert!(
            matches!(
                verify_provenance(&root, &bad),
                Err(ProvenanceError::Proof(_))
            ),
            "{what}"
        );
    }

    // A changed binding: the metadata says it reads only kv, the entries follow it: the metadata does not match.
    let mut meta: ManuscriptMeta =
        parity_scale_codec::Decode::decode(&mut &proof.manuscript_meta.clone().unwrap()[..])
            .unwrap();
    meta.sources = vec!["kv".into()];
    meta.slots = vec!["kv".into()];
    let mut rebound = proof.clone();
    rebound.manuscript_meta = Some(parity_scale_codec::Encode::encode(&meta));
    rebound.sources.remove(0);
    assert!(matches!(
        verify_provenance(&root, &rebound),
        Err(ProvenanceError::Proof(_))
    ));
    // The binding kept, a source dropped or renamed: named as not the manuscript's sources.
    let mut dropped = proof.clone();
    dropped.sources.remove(0);
    let mut renamed = proof.clone();
    renamed.sources[0].source = "eth-other".into();
    for bad in [dropped, renamed] {
        match verify_provenance(&root, &bad) {
            Err(e @ ProvenanceError::OtherSources { .. }) => assert!(
                e.to_string()
                    .contains("reads the sources [\"eth-main\", \"kv\"]"),
                "{e}"
            ),
            other => panic!("expected OtherSources, got {other:?}"),
        }
    }
    // Another manuscript's name on this one's metadata; metadata that does not decode.
    let mut other = proof.clone();
    other.manuscript = "eth-reader".into();
    assert!(matches!(
        verify_provenance(&root, &other),
        Err(ProvenanceError::OtherManuscript { .. })
    ));
    let mut garbage = proof.clone();
    garbage.manuscript_meta = Some(vec![0xff; 3]);
    assert!(matches!(
        verify_provenance(&root, &garbage),
        Err(ProvenanceError::BadValue(_))
    ));

    // Against another state root (the next block's): refused.
    chain
        .block_with_sources(&[eth_block(START + 1, 1)], &[], u64::MAX)
        .expect("valid");
    assert!(matches!(
        verify_provenance(&chain.root, &proof),
        Err(ProvenanceError::Proof(_))
    ));
    let fresh = prove_provenance(&*chain.store, chain.root, "two-reader").unwrap();
    let heads: Vec<_> = verify_provenance(&chain.root, &fresh)
        .unwrap()
        .bindings
        .into_iter()
        .map(|b| b.head.map(|h| h.number))
        .collect();
    assert_eq!(heads, vec![Some(START + 1), None]);
}

#[test]
fn genesis_refuses_duplicates_and_bad_keys() {
    let store = MemoryNodeStore::new();
    let k = key(1).verifying_key().to_bytes();
    let feed = SourceDef::signed("feed", &[k]);
    let e = genesis_state(&store, &[feed.clone(), feed.clone()], &[]).unwrap_err();
    assert!(e.to_string().contains("\"feed\" is listed twice"), "{e}");
    let e = genesis_state(&store, std::slice::from_ref(&feed), &[k, k]).unwrap_err();
    assert!(e.to_string().contains("listed twice"), "{e}");
    let e = genesis_state(&store, &[ethereum(0, 1)], &[]).unwrap_err();
    assert!(e.to_string().contains("budget.max_blocks"), "{e}");
    let e = genesis_state(&store, &[SourceDef::signed("feed", &[])], &[]).unwrap_err();
    assert!(e.to_string().contains("no publishers"), "{e}");
    // The same definitions give the same root whatever their order in the file.
    let other = SourceDef::signed("other", &[k]);
    let (a, _) = genesis_state(&store, &[feed.clone(), other.clone()], &[k]).unwrap();
    let (b, _) = genesis_state(&store, &[other, feed], &[k]).unwrap();
    assert_eq!(a, b);
}
