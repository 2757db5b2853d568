use cvm_runtime::state::{ProofError, RecordSetProof};

use super::*;
use crate::verify::fixture::{self, bundle, changes};

#[test]
fn block_changes_verify_and_survive_json() {
    let c = changes();
    assert_eq!(verify_changes(&c, &fixture::trust()), Ok(()));
    let text = serde_json::to_string(&c).unwrap();
    let back: BlockChanges = serde_json::from_str(&text).unwrap();
    assert_eq!(back, c);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let change = &value["datasets"][0]["changes"][0];
    assert_eq!(change["op"], "written");
    assert_eq!(change["key"], change["key_json"]);
    assert_eq!(change["value"], change["value_json"]);
}

#[test]
fn tampered_block_changes_are_refused_naming_the_link() {
    let trust = fixture::trust();
    let mut c = changes();
    c.datasets[0].entries[0].1.as_mut().unwrap()[0] ^= 1;
    assert!(matches!(
        verify_changes(&c, &trust),
        Err(ChangesVerifyError::Proof { source, .. })
            if matches!(*source, ProofError::ChildProof(_))
    ));
    let mut c = changes();
    c.datasets[0].entries[0].1 = None;
    assert!(matches!(
        verify_changes(&c, &trust),
        Err(ChangesVerifyError::Proof { .. })
    ));
    let mut c = changes();
    c.header.time_ms += 1;
    assert!(matches!(
        verify_changes(&c, &trust),
        Err(ChangesVerifyError::Header { source, .. })
            if matches!(*source, VerifyError::CertificateForOtherBlock { .. })
    ));
    let mut c = changes();
    c.chain_id = "other".into();
    assert!(matches!(
        verify_changes(&c, &trust),
        Err(ChangesVerifyError::Header { source, .. })
            if matches!(*source, VerifyError::WrongChain { .. })
    ));
}

#[test]
fn json_with_a_proof_of_another_dataset_is_refused() {
    let text = serde_json::to_string(&changes()).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["datasets"][0]["dataset"] = "other".into();
    let err = serde_json::from_value::<BlockChanges>(value).unwrap_err();
    assert!(err.to_string().contains("the proof is for"), "{err}");
}

#[test]
fn changes_show_typed_json_beside_the_proven_hex() {
    let types = crate::datasets::ManuscriptTypes::load(manuscript_fixtures::ERC20_TRANSFERS)
        .unwrap()
        .map(std::sync::Arc::new);
    let b = bundle();
    // `Transfer { token, from, to, value, transaction_hash }`, encoded as its fields.
    let transfer = (
        [0x11u8; 20],
        [0u8; 20],
        [0x22u8; 20],
        manuscript_sdk::U256::from(7u64),
        [0xabu8; 32],
    );
    let set = |manuscript: &str| RecordSetProof {
        manuscript: manuscript.into(),
        dataset: "transfers".into(),
        entries: vec![
            (
                vec![1; 12],
                Some(parity_scale_codec::Encode::encode(&transfer)),
            ),
            (vec![2; 12], None),
        ],
        manuscript_meta: None,
        main_proof: vec![],
        child_proof: vec![],
        appended: None,
    };
    let c = BlockChanges::new(
        b.chain_id,
        b.height,
        vec![set("erc20-transfers"), set("untyped")],
        b.header,
        b.certificate,
        |s| {
            (s.manuscript == "erc20-transfers")
                .then(|| types.clone())
                .flatten()
        },
    );
    let value = serde_json::to_value(&c).unwrap();
    let typed = &value["datasets"][0]["changes"];
    assert_eq!(typed[0]["value_json"]["value"], "7");
    assert_eq!(
        typed[0]["value_json"]["to"],
        format!("0x{}", "22".repeat(20))
    );
    assert_eq!(
        typed[0]["value"],
        crate::hex_text::to_hex(parity_scale_codec::Encode::encode(&transfer))
    );
    assert_eq!(typed[1]["op"], "removed");
    assert_eq!(typed[1]["value_json"], serde_json::Value::Null);
    let untyped = &value["datasets"][1]["changes"][0];
    assert_eq!(untyped["value_json"], untyped["value"]);
    // A reader keeps the node's readable JSON as sent.
    let back: BlockChanges = serde_json::from_value(value).unwrap();
    assert_eq!(back, c);
}

#[test]
fn edited_readable_json_is_kept_but_never_trusted() {
    let trust = fixture::trust();
    let mut value = serde_json::to_value(changes()).unwrap();
    value["datasets"][0]["changes"][0]["value_json"] = serde_json::json!({"count": 999});
    let back: BlockChanges = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(back.shown[0][0].1, serde_json::json!({"count": 999}));
    assert_eq!(verify_changes(&back, &trust), Ok(()));
    // Readable lists that do not match the proven entries are shown again from the proofs, as hex.
    value["datasets"][0]["changes"] = serde_json::json!([]);
    let back: BlockChanges = serde_json::from_value(value).unwrap();
    assert_eq!(back, changes());
}
