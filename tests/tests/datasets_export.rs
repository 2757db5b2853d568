//! `cvm export` on a live network: four validators, erc20-transfers deployed and fed; a dataset exported as
//! Parquet reads back (with the arrow crate) to the node's pages at that height, row for row, with typed columns;
//! CSV likewise; the manifest names the height, state root and file hash; bad input is refused naming the
//! problem and leaves no file.

use std::collections::BTreeMap;
use std::time::Duration;

use arrow_array::{Array, BinaryArray, RecordBatch, UInt64Array};
use cvm_host::api_client::PageRequest;
use cvm_host::export::ExportManifest;
use cvm_host::hex_text::to_hex;
use cvm_host::record_page::RecordPage;
use cvm_runtime::state::blake2_256;
use cvm_tests::datasets::deploy_erc20_and_ingest;
use cvm_tests::localnet::LocalNet;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

const WAIT: Duration = Duration::from_secs(90);
const LOGS: usize = 300;

/// Every record of `dataset` at `height`, from the node's pages.
fn whole(net: &LocalNet, dataset: &str, height: u64) -> RecordPage {
    let page = net.nodes[2]
        .client()
        .records_page(
            "erc20-transfers",
            dataset,
            &PageRequest {
                limit: Some(1000),
                height: Some(height),
                ..PageRequest::default()
            },
        )
        .expect("page");
    assert!(page.next.is_none(), "fits one page");
    page
}

fn binaries(batches: &[RecordBatch], name: &str) -> Vec<Vec<u8>> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name(name).expect(name);
            let a = a.as_any().downcast_ref::<BinaryArray>().expect("binary");
            (0..a.len())
                .map(|i| a.value(i).to_vec())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn exports_read_back_to_the_dataset_and_bad_input_is_refused() {
    let mut net = LocalNet::new(4, 0);
    net.start_all();
    net.wait_all(2, WAIT);
    let client = net.nodes[0].client();
    let height = deploy_erc20_and_ingest(&client, &net.chain_id, LOGS, WAIT);
    net.wait_all(height, WAIT);
    let genesis = net.genesis_path();
    let genesis = genesis.to_str().unwrap();
    let url = net.nodes[1].rpc_url.clone();
    let dir = net.dir.path().to_path_buf();
    let export = |dataset: &str, format: &str, out: &std::path::Path, height: &str| {
        net.cvm(&[
            "export",
            "erc20-transfers",
            dataset,
            "--format",
            format,
            "--out",
            out.to_str().unwrap(),
            "--height",
            height,
            "--genesis",
            genesis,
            "--node",
            &url,
        ])
    };

    // Parquet: the balances at `height`, row for row, typed columns included.
    let parquet_path = dir.join("balances.parquet");
    let (ok, out) = export("balances", "parquet", &parquet_path, &height.to_string());
    assert!(ok, "{out}");
    let expected = whole(&net, "balances", height);
    assert!(
        expected.records.len() > 10,
        "{} balances",
        expected.records.len()
    );
    assert!(
        out.contains(&format!(
            "exported {} records of erc20-transfers/balances at height {height}",
            expected.records.len()
        )),
        "{out}"
    );
    let batches: Vec<RecordBatch> =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&parquet_path).unwrap())
            .unwrap()
            .build()
            .unwrap()
            .map(|b| b.unwrap())
            .collect();
    let keys: Vec<Vec<u8>> = expected.records.iter().map(|r| r.key.clone()).collect();
    let values: Vec<Vec<u8>> = expected.records.iter().map(|r| r.value.clone()).collect();
    assert_eq!(binaries(&batches, "record_key"), keys);
    assert_eq!(binaries(&batches, "record_value"), values);
    let holders: Vec<String> = binaries(&batches, "key_1").iter().map(to_hex).collect();
    let expected_holders: Vec<String> = expected
        .records
        .iter()
        .map(|r| r.key_json[1].as_str().expect("a typed key").to_string())
        .collect();
    assert_eq!(holders, expected_holders);
    let transfers: Vec<u64> = batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name("transfers").unwrap();
            let a = a.as_any().downcast_ref::<UInt64Array>().unwrap();
            (0..a.len()).map(|i| a.value(i)).collect::<Vec<_>>()
        })
        .collect();
    let expected_transfers: Vec<u64> = expected
        .records
        .iter()
        .map(|r| r.value_json["transfers"].as_u64().expect("typed value"))
        .collect();
    assert_eq!(transfers, expected_transfers);

    // The manifest: the height's state root and header, the certificate, the file's hash.
    let manifest: ExportManifest = serde_json::from_str(
        &std::fs::read_to_string(ExportManifest::path_for(&parquet_path)).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (manifest.height, manifest.records),
        (height, keys.len() as u64)
    );
    assert_eq!(manifest.state_root, to_hex(expected.header.state_root));
    assert_eq!(manifest.block_hash, to_hex(expected.header.hash()));
    assert_eq!(
        manifest.file_blake2,
        to_hex(blake2_256(&std::fs::read(&parquet_path).unwrap()))
    );
    assert_eq!(manifest.format, "parquet");
    assert!(!manifest.certificate.is_empty());

    // CSV of the transfers: a header, then one row per record in key order.
    let csv_path = dir.join("transfers.csv");
    let (ok, out) = export("transfers", "csv", &csv_path, &height.to_string());
    assert!(ok, "{out}");
    let expected = whole(&net, "transfers", height);
    assert!(
        expected.records.len() > LOGS / 2,
        "{} transfers",
        expected.records.len()
    );
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert!(
        headers.contains(&"transaction_hash".to_string()),
        "{headers:?}"
    );
    let column: BTreeMap<&str, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), expected.records.len());
    for (row, record) in rows.iter().zip(&expected.records) {
        assert_eq!(&row[column["record_key"]], to_hex(&record.key));
        assert_eq!(&row[column["record_value"]], to_hex(&record.value));
        let appended_at = u64::from_be_bytes(record.key[..8].try_into().unwrap());
        assert_eq!(&row[column["appended_at"]], appended_at.to_string());
        assert_eq!(
            &row[column["transaction_hash"]],
            record.value_json["transaction_hash"].as_str().unwrap()
        );
    }

    // Refused, naming the problem, with no file left behind.
    let refused = |dataset: &str, height: &str, genesis_path: Option<&str>, naming: &str| {
        let out_path = dir.join(format!("refused-{dataset}-{height}.csv"));
        let mut args = vec![
            "export",
            "erc20-transfers",
            dataset,
            "--format",
            "csv",
            "--out",
        ];
        let out_text = out_path.to_str().unwrap().to_string();
        args.push(&out_text);
        args.extend([
            "--height",
            height,
            "--genesis",
            genesis_path.unwrap_or(genesis),
            "--node",
            &url,
        ]);
        let (ok, out) = net.cvm(&args);
        assert!(!ok, "exported: {out}");
        assert!(out.contains(naming), "expected {naming:?} in: {out}");
        assert!(
            !out_path.exists(),
            "a refused export left {}",
            out_path.display()
        );
    };
    refused(
        "no-such-dataset",
        &height.to_string(),
        None,
        "has no dataset \"no-such-dataset\"",
    );
    refused("balances", "999999", None, "is not final yet");
    // A genesis with other validators: the certificate does not verify.
    let other = dir.join("other-genesis.json");
    let mut text: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(genesis).unwrap()).unwrap();
    for (i, v) in text["validators"]
        .as_array_mut()
        .expect("validators")
        .iter_mut()
        .enumerate()
    {
        let key = ed25519_dalek::SigningKey::from_bytes(&[i as u8 + 1; 32]).verifying_key();
        v["public_key"] = serde_json::Value::String(hex::encode(key.to_bytes()));
    }
    std::fs::write(&other, text.to_string()).unwrap();
    refused(
        "balances",
        &height.to_string(),
        Some(other.to_str().unwrap()),
        "does not verify",
    );
}
