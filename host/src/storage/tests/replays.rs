//! `cvm replay`: stored roots re-checked from genesis.

use super::*;

#[test]
fn replay_matches_and_reports_a_tampered_root() {
    let dir = TempDir::new().unwrap();
    let engine = engine();
    let storage = Storage::open(dir.path()).unwrap();
    let blocks = three_blocks(&storage, engine.clone());

    let mut seen = Vec::new();
    let report = replay(
        &storage,
        engine.clone(),
        exec_config(),
        &genesis(),
        &mut |h, total| seen.push((h, total)),
    )
    .unwrap();
    assert_eq!(report.heights, 3);
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    assert_eq!(seen, vec![(1, 3), (2, 3), (3, 3)]);

    // Tamper with the stored header of block 2.
    let mut tampered = blocks[1].0.clone();
    tampered.header.state_root = [0xee; 32];
    let cf = storage.db.cf_handle(CF_BLOCKS).unwrap();
    storage
        .db
        .put_cf(cf, height_key(2), tampered.encode())
        .unwrap();

    let report = replay(&storage, engine, exec_config(), &genesis(), &mut |_, _| {}).unwrap();
    assert_eq!(report.heights, 3);
    assert_eq!(
        report.mismatches,
        vec![Mismatch {
            height: 2,
            stored: [0xee; 32],
            computed: blocks[1].1.state_root.0,
            what: MismatchKind::StateRoot,
        }]
    );
}
