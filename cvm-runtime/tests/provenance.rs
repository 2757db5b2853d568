//! Provenance: a manuscript's bound sources, their definitions and heads proven against a state root, and every
//! changed head, binding, definition or root refused.

mod common;

use common::eth::{ETH, START, deploy_bound, eth_block, ethereum, hash};
use common::{Chain, assert_deployed, engine, idle_manuscript};
use cvm_runtime::sources::{
    BoundSource, Provenance, ProvenanceError, SourceHead, prove_provenance, source_def,
    verify_provenance,
};
use cvm_runtime::state::ManuscriptMeta;

fn two_source_chain() -> Chain {
    let mut chain = Chain::with_sources(engine(), true, &[ethereum(4, 100)]);
    let wasm = idle_manuscript("two-reader", &["eth.logs", "kv"], &["out"]);
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
