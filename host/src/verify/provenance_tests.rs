//! The bundle's provenance: what `cvm verify` prints for it, and each way it can be broken, named.

use cvm_runtime::sources::{ProvenanceError, SourceHead};
use cvm_runtime::state::ManuscriptMeta;
use parity_scale_codec::{Decode, Encode};

use super::fixture::*;
use super::*;

fn meta_of(b: &RecordBundle) -> ManuscriptMeta {
    let bytes = b
        .provenance
        .as_ref()
        .unwrap()
        .manuscript_meta
        .clone()
        .unwrap();
    ManuscriptMeta::decode(&mut &bytes[..]).unwrap()
}

#[test]
fn a_bundle_says_which_sources_its_record_derives_from_and_how_far() {
    let verdict = verify_bundle(&bundle(), &trust()).unwrap();
    let ingest = ingest_tx().hash();
    assert_eq!(
        verdict.provenance_lines(),
        vec![format!(
            "derived from kv up to ingest 1, {}",
            to_hex(ingest)
        )]
    );
    let head = verdict.provenance.unwrap().bindings[0].head;
    assert_eq!(
        head,
        Some(SourceHead {
            number: 1,
            hash: ingest
        })
    );

    // Deployed, nothing ingested yet.
    let verdict = verify_bundle(&bundle_with(false), &trust()).unwrap();
    assert_eq!(verdict.value, None);
    assert_eq!(
        verdict.provenance_lines(),
        vec!["derived from kv: nothing ingested yet".to_string()]
    );
}

#[test]
fn a_bundle_without_provenance_verifies_and_says_it_has_none() {
    let mut v = serde_json::to_value(bundle()).unwrap();
    assert_eq!(v["provenance"]["sources"][0]["source"], "kv");
    assert_eq!(v["provenance"]["sources"][0]["slot"], "kv");
    assert_eq!(v["provenance"]["sources"][0]["kind"], "signed");
    assert_eq!(v["provenance"]["sources"][0]["head"]["number"], 1);
    v.as_object_mut().unwrap().remove("provenance");
    let old: RecordBundle = serde_json::from_value(v).unwrap();
    assert_eq!(old.provenance, None);
    let verdict = verify_bundle(&old, &trust()).unwrap();
    let lines = verdict.provenance_lines();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("no provenance:"), "{lines:?}");
}

#[test]
fn a_tampered_head_is_invalid() {
    let mut b = bundle();
    let entries = &mut b.provenance.as_mut().unwrap().sources[0];
    let mut head = SourceHead::decode(&mut &entries.head.clone().unwrap()[..]).unwrap();
    head.number += 1;
    entries.head = Some(head.encode());
    let e = verify_bundle(&b, &trust()).unwrap_err();
    assert!(
        matches!(e, VerifyError::Provenance(ProvenanceError::Proof(_))),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with("the provenance does not verify against the header's state root"),
        "{e}"
    );
    // Claimed absent instead.
    let mut b = bundle();
    b.provenance.as_mut().unwrap().sources[0].head = None;
    assert!(matches!(
        verify_bundle(&b, &trust()),
        Err(VerifyError::Provenance(ProvenanceError::Proof(_)))
    ));
}

#[test]
fn a_tampered_binding_is_invalid() {
    // The provenance's metadata binds the slot to another source (and carries that source's entries).
    let mut b = bundle();
    let mut meta = meta_of(&b);
    meta.sources = vec!["elsewhere".into()];
    let p = b.provenance.as_mut().unwrap();
    p.manuscript_meta = Some(meta.encode());
    p.sources[0].source = "elsewhere".into();
    let e = verify_bundle(&b, &trust()).unwrap_err();
    assert!(
        matches!(e, VerifyError::ProvenanceBindingChanged { .. }),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("binds the manuscript's slots to [kv -> elsewhere], the record proof's manuscript metadata to [kv -> kv]"),
        "{e}"
    );
    // The same binding in the record proof too: the record proof no longer matches the root.
    let mut both = b.clone();
    both.proof.manuscript_meta = both.provenance.as_ref().unwrap().manuscript_meta.clone();
    assert!(matches!(
        verify_bundle(&both, &trust()),
        Err(VerifyError::Proof(ProofError::MainProof(_)))
    ));
    // The binding kept, the proof's sources changed: not the manuscript's sources.
    let mut b = bundle();
    b.provenance.as_mut().unwrap().sources[0].source = "elsewhere".into();
    assert!(matches!(
        verify_bundle(&b, &trust()),
        Err(VerifyError::Provenance(
            ProvenanceError::OtherSources { .. }
        ))
    ));
    let mut b = bundle();
    b.provenance.as_mut().unwrap().sources.clear();
    assert!(matches!(
        verify_bundle(&b, &trust()),
        Err(VerifyError::Provenance(
            ProvenanceError::OtherSources { .. }
        ))
    ));
    // Another manuscript's provenance.
    let mut b = bundle();
    b.provenance.as_mut().unwrap().manuscript = "other".into();
    assert!(matches!(
        verify_bundle(&b, &trust()),
        Err(VerifyError::ProvenanceForOtherManuscript { .. })
    ));
}

#[test]
fn provenance_of_another_root_is_invalid() {
    // The provenance of the state before the ingest, in the bundle of the state after it: the manuscript's
    // metadata differs (its child root), the binding does not.
    let mut b = bundle();
    b.provenance = bundle_with(false).provenance;
    let e = verify_bundle(&b, &trust()).unwrap_err();
    assert_eq!(e, VerifyError::ProvenanceOfOtherState);
    // With the record proof's metadata put back, the heads are still of the other state: the trie proof fails.
    b.provenance.as_mut().unwrap().manuscript_meta = b.proof.manuscript_meta.clone();
    assert!(matches!(
        verify_bundle(&b, &trust()),
        Err(VerifyError::Provenance(ProvenanceError::Proof(_)))
    ));
}

#[test]
fn provenance_lines_name_each_kind_of_source() {
    use cvm_runtime::sources::{BoundSource, Provenance, SourceDef};
    let head = |n| {
        Some(SourceHead {
            number: n,
            hash: [0xab; 32],
        })
    };
    let eth = SourceDef {
        name: "ethereum-local".into(),
        kind: cvm_runtime::sources::SourceKind::Ethereum(cvm_runtime::sources::EthereumSource {
            chain_id: 31337,
            start: SourceHead {
                number: 1,
                hash: [1; 32],
            },
            confirmations: cvm_runtime::sources::Confirmations::Depth(0),
            budget: cvm_runtime::sources::SourceBudget {
                max_blocks: 16,
                max_logs: 4000,
            },
        }),
    };
    let bound = |source: &str, def: Option<SourceDef>, head| BoundSource {
        slot: "ethereum.logs".into(),
        source: source.into(),
        def,
        head,
    };
    let p = Provenance {
        manuscript: "erc20-transfers".into(),
        deployed: true,
        bindings: vec![
            bound("ethereum-local", Some(eth.clone()), head(251)),
            bound("ethereum-later", Some(eth), None),
        ],
    };
    let hash = to_hex([0xab; 32]);
    assert_eq!(
        provenance::lines(Some(&p)),
        vec![
            format!("derived from ethereum-local up to block 251, {hash}"),
            "derived from ethereum-later: nothing ingested yet".to_string(),
        ]
    );
    let absent = Provenance {
        manuscript: "gone".into(),
        deployed: false,
        bindings: Vec::new(),
    };
    assert_eq!(
        provenance::lines(Some(&absent)),
        vec!["derived from nothing: manuscript gone is not deployed at this height".to_string()]
    );
}
