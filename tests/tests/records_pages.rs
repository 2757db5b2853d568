//! Dataset pages on a live network: four validators, erc20-transfers deployed and fed by transaction; the pages of
//! the append-only `transfers` followed through their cursors (by HTTP and by `cvm query records --all`)
//! concatenate to the whole dataset in (height, key) order, saved pages verify with `cvm verify`, a doctored page
//! fails, and bad requests are refused naming the problem. One appended record's bundle (looked up with the block
//! that appended it) verifies with `cvm verify`, and so does that block's list of appended records.

use std::time::Duration;

use cvm_host::api_client::PageRequest;
use cvm_host::block_changes::{BlockChanges, verify_changes};
use cvm_host::chain::Genesis;
use cvm_host::record_page::RecordPage;
use cvm_host::verify::Trust;
use cvm_tests::chaos::deploy_erc20;
use cvm_tests::datasets::{example_logs, ingest};
use cvm_tests::localnet::LocalNet;

const WAIT: Duration = Duration::from_secs(90);
const LOGS: usize = 300;

fn keys(pages: &[RecordPage]) -> Vec<Vec<u8>> {
    pages
        .iter()
        .flat_map(|p| p.records.iter().map(|r| r.key.clone()))
        .collect()
}

#[test]
fn pages_concatenate_verify_and_doctored_pages_fail() {
    let mut net = LocalNet::new(4, 0);
    net.start_all();
    net.wait_all(2, WAIT);
    let client = net.nodes[0].client();
    deploy_erc20(&client, &net.chain_id);
    // One ingest per block (each waits for the one before), so the append-only `transfers` spans blocks.
    let last = ingest(
        &client,
        &net.chain_id,
        &example_logs()[..LOGS],
        100,
        true,
        WAIT,
    );
    net.wait_all(last, WAIT);

    // The whole dataset in one page, then in pages of 7 through cursors from another validator.
    let whole = client
        .records_page(
            "erc20-transfers",
            "transfers",
            &PageRequest {
                limit: Some(1000),
                height: Some(last),
                ..PageRequest::default()
            },
        )
        .expect("whole page");
    // A record per Transfer log (the example's other logs are not transfers).
    let total = whole.records.len();
    assert!(total > LOGS / 2 && total <= LOGS, "{total} transfers");
    assert!(whole.next.is_none());
    // Records show by the manuscript's declared types (read from its code), the proven hex beside them.
    let first = &whole.records[0];
    assert!(
        first.value_json["transaction_hash"].is_string() && first.value_json["value"].is_string(),
        "not typed: {}",
        first.value_json
    );
    // An append-only dataset's page key is the appending block's height, then the record key.
    let appended_at = |key: &[u8]| u64::from_be_bytes(key[..8].try_into().unwrap());
    assert_eq!(
        first.key_json,
        serde_json::json!({
            "height": appended_at(&first.key),
            "key": format!("0x{}", hex::encode(&first.key[8..])),
        })
    );
    let heights: Vec<u64> = whole.records.iter().map(|r| appended_at(&r.key)).collect();
    let mut blocks = heights.clone();
    blocks.dedup();
    assert!(heights.is_sorted(), "{heights:?}");
    assert_eq!(
        blocks.len(),
        LOGS / 100,
        "one block of transfers per ingest: {heights:?}"
    );
    let other = net.nodes[2].client();
    let mut pages = Vec::new();
    let mut request = PageRequest {
        limit: Some(7),
        height: Some(last),
        ..PageRequest::default()
    };
    loop {
        let page = other
            .records_page("erc20-transfers", "transfers", &request)
            .expect("page");
        assert_eq!(page.height, last);
        let next = page.next.clone();
        pages.push(page);
        let Some(next) = next else { break };
        request = PageRequest {
            cursor: Some(next.to_text()),
            height: None,
            ..request
        };
    }
    assert_eq!(pages.len(), total.div_ceil(7));
    assert_eq!(keys(&pages), keys(std::slice::from_ref(&whole)));

    // Saved pages verify offline; so does `cvm query records --all --out`'s file.
    let genesis = net.genesis_path();
    let genesis = genesis.to_str().unwrap();
    let path = net.dir.path().join("pages.jsonl");
    // Saves `pages` one per line and runs `cvm verify --page` on the file.
    let verify_pages = |pages: &[RecordPage]| {
        let text: String = pages
            .iter()
            .map(|p| serde_json::to_string(p).unwrap() + "\n")
            .collect();
        std::fs::write(&path, text).unwrap();
        net.cvm(&[
            "verify",
            "--genesis",
            genesis,
            "--page",
            path.to_str().unwrap(),
        ])
    };
    let (ok, out) = verify_pages(&pages);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "VALID: {} consecutive pages, {total} records, every record of the range",
            pages.len()
        )),
        "{out}"
    );
    let url = &net.nodes[1].rpc_url;
    let cli_path = net.dir.path().join("cli-pages.jsonl");
    let (ok, out) = net.cvm(&[
        "query",
        "records",
        "erc20-transfers",
        "transfers",
        "--limit",
        "100",
        "--all",
        "--format",
        "csv",
        "--out",
        cli_path.to_str().unwrap(),
        "--node",
        url,
    ]);
    assert!(ok, "{out}");
    assert!(out.starts_with("key,value,key_json,value_json"), "{out}");
    assert!(
        out.contains("transaction_hash"),
        "CSV rows are not typed: {out}"
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("0x")).count(),
        total,
        "{out}"
    );
    let (ok, out) = net.cvm(&[
        "verify",
        "--genesis",
        genesis,
        "--bundle",
        cli_path.to_str().unwrap(),
    ]);
    assert!(ok && out.contains("every record of the range"), "{out}");

    // A page with a record removed, reordered or added fails; so does a file with a page dropped.
    type Doctor = fn(&mut RecordPage);
    let doctorings: [(&str, Doctor); 3] = [
        ("removed", |p| {
            p.records.remove(3);
        }),
        ("reordered", |p| p.records.swap(2, 4)),
        ("added", |p| {
            let copy = p.records[0].clone();
            p.records.insert(1, copy);
        }),
    ];
    for (what, doctor) in doctorings {
        let mut doctored = pages.clone();
        doctor(&mut doctored[1]);
        let (ok, out) = verify_pages(&doctored);
        assert!(
            !ok && out.contains("INVALID: page 1"),
            "a record {what}: {out}"
        );
    }
    let mut dropped = pages.clone();
    dropped.remove(1);
    let (ok, out) = verify_pages(&dropped);
    assert!(!ok && out.contains("does not continue page 0"), "{out}");

    appended_record_and_block_verify(&net, &whole);

    // Bad requests are refused naming the problem.
    let refused = |request: PageRequest, dataset: &str, naming: &str| {
        let e = client
            .records_page("erc20-transfers", dataset, &request)
            .unwrap_err()
            .to_string();
        assert!(e.contains(naming), "{e} does not name {naming:?}");
    };
    refused(PageRequest::default(), "nothing", "no dataset \"nothing\"");
    refused(
        PageRequest {
            cursor: Some("0102".into()),
            ..PageRequest::default()
        },
        "transfers",
        "cursor: not the `next` of a page",
    );
    refused(
        PageRequest {
            limit: Some(1001),
            ..PageRequest::default()
        },
        "transfers",
        "is not a number from 1 to 1000",
    );
    refused(
        PageRequest {
            height: Some(last + 1_000_000),
            ..PageRequest::default()
        },
        "transfers",
        "is not final yet",
    );
    let e = net.nodes[0]
        .client()
        .records_page("nobody", "transfers", &PageRequest::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("no manuscript named \"nobody\""), "{e}");
}

/// A record of `whole` (a page of `transfers`) fetched with the block that appended it verifies with `cvm verify`,
/// and fails doctored; without the block it is refused naming why; the block's changes list exactly its appended
/// records of the page and verify against the genesis.
fn appended_record_and_block_verify(net: &LocalNet, whole: &RecordPage) {
    let genesis = net.genesis_path();
    let record = &whole.records[whole.records.len() / 2];
    let height = u64::from_be_bytes(record.key[..8].try_into().unwrap());
    let key = &record.key[8..];
    let client = net.nodes[3].client();
    let bundle = client
        .record("erc20-transfers", "transfers", key, Some(height))
        .expect("record bundle");
    assert_eq!(bundle.value.as_ref(), Some(&record.value));
    let path = net.dir.path().join("appended.json");
    std::fs::write(&path, serde_json::to_string(&bundle).unwrap()).unwrap();
    let verify = |path: &std::path::Path| {
        net.cvm(&[
            "verify",
            "--genesis",
            genesis.to_str().unwrap(),
            "--bundle",
            path.to_str().unwrap(),
        ])
    };
    let (ok, out) = verify(&path);
    assert!(ok && out.contains("VALID"), "{out}");
    let mut tampered = bundle.clone();
    tampered.value.as_mut().unwrap()[0] ^= 1;
    std::fs::write(&path, serde_json::to_string(&tampered).unwrap()).unwrap();
    let (ok, out) = verify(&path);
    assert!(!ok && out.contains("INVALID"), "{out}");
    let e = client
        .record("erc20-transfers", "transfers", key, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("is append-only") && e.contains("?height="),
        "{e}"
    );

    let url = format!(
        "{}/blocks/{height}/changes?manuscript=erc20-transfers&dataset=transfers",
        net.nodes[1].rpc_url
    );
    let changes: BlockChanges = ureq::get(&url)
        .call()
        .expect("block changes")
        .body_mut()
        .read_json()
        .expect("block changes JSON");
    let changes_path = net.dir.path().join("changes.json");
    std::fs::write(&changes_path, serde_json::to_string(&changes).unwrap()).unwrap();
    let (ok, out) = verify(&changes_path);
    assert!(
        ok && out.starts_with(&format!("VALID: block {height} changes: ")),
        "{out}"
    );
    let trust = Trust::genesis(&Genesis::load(&genesis).expect("genesis")).expect("trust");
    verify_changes(&changes, &trust).expect("the block's appends verify");
    let listed: Vec<(Vec<u8>, Vec<u8>)> = changes
        .changes()
        .map(|c| (c.key.to_vec(), c.value.expect("appended").to_vec()))
        .collect();
    let paged: Vec<(Vec<u8>, Vec<u8>)> = whole
        .records
        .iter()
        .filter(|r| r.key[..8] == height.to_be_bytes())
        .map(|r| (r.key[8..].to_vec(), r.value.clone()))
        .collect();
    assert_eq!(listed, paged);
    let mut doctored = changes.clone();
    doctored.datasets[0].entries.remove(0);
    assert!(verify_changes(&doctored, &trust).is_err());
    std::fs::write(&changes_path, serde_json::to_string(&doctored).unwrap()).unwrap();
    let (ok, out) = verify(&changes_path);
    assert!(!ok && out.contains("INVALID: block"), "{out}");
}
