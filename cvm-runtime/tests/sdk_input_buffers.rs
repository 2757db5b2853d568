//! The SDK hands the host the same input buffers again for later records of an instance (ABI.md, "Memory
//! ownership"), growing one when a record outgrows it and freeing those over 64 KiB. Records of very different
//! sizes in one ingest must read exactly as they would alone.

mod common;

use common::{Chain, assert_deployed, engine, erc20_records, invocations};
use cvm_runtime::state::{ManuscriptMeta, manuscript_key};
use cvm_runtime::{BlockRecord, InvocationOutcome};
use manuscript_sdk::EthLog;
use parity_scale_codec::{Decode, Encode};

/// A log erc20-transfers reads and skips (its data is not one 32-byte amount), of about `data_len` bytes.
fn skipped_log(data_len: usize) -> Vec<u8> {
    let first = erc20_records().swap_remove(0);
    let mut log = EthLog::decode(&mut &first[..]).unwrap();
    log.data = vec![0xab; data_len];
    log.encode()
}

fn emitted(records: &[BlockRecord]) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    records
        .iter()
        .map(|r| {
            (
                r.record.dataset.clone(),
                r.record.key.clone(),
                r.record.value.clone(),
            )
        })
        .collect()
}

#[test]
fn records_of_any_size_in_any_order_read_as_they_would_alone() {
    let transfers: Vec<Vec<u8>> = erc20_records().into_iter().take(300).collect();
    // Growing (1 KiB, 40 KiB), over the kept size (100 KiB, 200 KiB), then back to small ones, repeatedly.
    let sizes = [1 << 10, 40 << 10, 100 << 10, 8, 200 << 10, 64 << 10, 3];
    let mut mixed = Vec::new();
    for (i, transfer) in transfers.iter().enumerate() {
        mixed.push(transfer.clone());
        if i % 10 == 0 {
            mixed.push(skipped_log(sizes[(i / 10) % sizes.len()]));
        }
    }

    let mut alone = Chain::new(engine(), false);
    assert_deployed(&alone.deploy(manuscript_fixtures::ERC20_TRANSFERS, 10_000_000));
    let reference = alone.ingest("ethereum.logs", transfers.clone());

    let mut together = Chain::new(engine(), false);
    assert_deployed(&together.deploy(manuscript_fixtures::ERC20_TRANSFERS, 10_000_000));
    let outcome = together.ingest("ethereum.logs", mixed.clone());

    let receipts = invocations(&outcome);
    assert_eq!(receipts.len(), mixed.len());
    for receipt in &receipts {
        assert_eq!(
            receipt.outcome,
            InvocationOutcome::Ok,
            "record {}",
            receipt.record_index
        );
    }
    assert_eq!(emitted(&outcome.records), emitted(&reference.records));
    // The manuscript's state is the same (the chains' roots differ in the source's head: the last ingest's hash).
    assert_eq!(child_root(&together), child_root(&alone));
}

fn child_root(chain: &Chain) -> [u8; 32] {
    let bytes = chain
        .view()
        .get(&manuscript_key("erc20-transfers"))
        .unwrap()
        .expect("deployed");
    ManuscriptMeta::decode(&mut &bytes[..]).unwrap().child_root
}
