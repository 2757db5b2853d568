use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BinaryArray, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use manuscript_sdk::U256;
use parity_scale_codec::Encode;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::*;

type Address = [u8; 20];
/// `BalanceRecord { net_flow: SignedAmount { negative, magnitude }, transfers, since }`, as it encodes.
type BalanceRecord = ((bool, U256), u64, u64);

/// The columns of erc20-transfers' `balances`, in order, in either format.
const BALANCES_COLUMNS: [&str; 7] = [
    "record_key",
    "record_value",
    "key_0",
    "key_1",
    "net_flow",
    "transfers",
    "since",
];

fn erc20() -> Arc<ManuscriptTypes> {
    Arc::new(
        ManuscriptTypes::load(manuscript_fixtures::ERC20_TRANSFERS)
            .expect("types load")
            .expect("erc20-transfers declares types"),
    )
}

/// Two balances records and one whose value is not a `BalanceRecord`.
fn records() -> Vec<(Vec<u8>, Vec<u8>)> {
    let key = |t: u8, h: u8| ([t; 20] as Address, [h; 20] as Address).encode();
    let value = |n: u64, transfers: u64| {
        let record: BalanceRecord = ((n % 2 == 1, U256::from(n) << 200), transfers, 7);
        record.encode()
    };
    vec![
        (key(1, 2), value(3, 4)),
        (key(1, 3), value(10, 1)),
        (key(2, 2), vec![0xff]),
    ]
}

/// Every cell of the Binary column `name`.
fn binaries(batches: &[RecordBatch], name: &str) -> Vec<Vec<u8>> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name(name).unwrap();
            let a = a.as_any().downcast_ref::<BinaryArray>().unwrap();
            (0..a.len())
                .map(|i| a.value(i).to_vec())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn write(format: ExportFormat, path: &Path) -> DatasetWriter {
    let mut writer = DatasetWriter::create(path, format, Some(erc20()), "balances", false).unwrap();
    let records = records();
    writer.write(&records[..2]).unwrap();
    writer.write(&records[2..]).unwrap();
    writer
}

#[test]
fn parquet_reads_back_with_typed_columns_and_the_record_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("balances.parquet");
    let writer = write(ExportFormat::Parquet, &path);
    let names: Vec<String> = writer
        .manifest_columns()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(writer.finish().unwrap(), 3);

    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let schema = batches[0].schema();
    let read_names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        read_names,
        names.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(names, BALANCES_COLUMNS);
    let column = |name: &str| -> Vec<ArrayRef> {
        batches
            .iter()
            .map(|b| b.column_by_name(name).unwrap().clone())
            .collect()
    };
    let transfers: Vec<Option<u64>> = column("transfers")
        .iter()
        .flat_map(|a| {
            let a = a.as_any().downcast_ref::<UInt64Array>().unwrap();
            (0..a.len())
                .map(|i| a.is_valid(i).then(|| a.value(i)))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        transfers,
        [Some(4), Some(1), None],
        "the undecodable record has no typed cells"
    );
    assert_eq!(
        binaries(&batches, "key_1"),
        [vec![2; 20], vec![3; 20], vec![2; 20]]
    );
    let values = binaries(&batches, "record_value");
    assert_eq!(
        values,
        records().into_iter().map(|(_, v)| v).collect::<Vec<_>>()
    );
    let flow = column("net_flow")[0].clone();
    let flow = flow.as_any().downcast_ref::<StringArray>().unwrap();
    let first: serde_json::Value = serde_json::from_str(flow.value(0)).unwrap();
    assert_eq!(first["negative"], true);
    assert_eq!(first["magnitude"], (U256::from(3) << 200).to_string());
}

#[test]
fn csv_has_a_header_hex_bytes_and_empty_cells_for_undecodable_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("balances.csv");
    assert_eq!(write(ExportFormat::Csv, &path).finish().unwrap(), 3);
    let mut reader = csv::Reader::from_path(&path).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        BALANCES_COLUMNS
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(&rows[0][3], crate::hex_text::to_hex([2u8; 20]));
    assert_eq!(&rows[0][5], "4");
    assert_eq!(&rows[1][6], "7");
    let token = crate::hex_text::to_hex([2u8; 20]);
    assert_eq!(
        (&rows[2][2], &rows[2][5], &rows[2][1]),
        (token.as_str(), "", "0xff"),
        "the key decodes, the value does not"
    );
}

#[test]
fn an_untyped_dataset_is_its_record_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.csv");
    let mut writer =
        DatasetWriter::create(&path, ExportFormat::Csv, None, "anything", false).unwrap();
    writer.write(&[(vec![1], vec![2, 3])]).unwrap();
    writer.finish().unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "record_key,record_value\n0x01,0x0203\n"
    );
}

#[test]
fn an_append_only_dataset_shows_the_appending_height() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("transfers.parquet");
    let mut writer = DatasetWriter::create(
        &path,
        ExportFormat::Parquet,
        Some(erc20()),
        "transfers",
        true,
    )
    .unwrap();
    let transfer = ([1u8; 20], [2u8; 20], [3u8; 20], U256::from(9u64), [4u8; 32]).encode();
    let key = [&77u64.to_be_bytes()[..], &[5u8; 12]].concat();
    writer.write(&[(key.clone(), transfer)]).unwrap();
    writer.finish().unwrap();
    let batches: Vec<RecordBatch> =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
            .unwrap()
            .build()
            .unwrap()
            .map(|b| b.unwrap())
            .collect();
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        [
            "record_key",
            "record_value",
            "appended_at",
            "token",
            "from",
            "to",
            "value",
            "transaction_hash"
        ]
    );
    let height = batches[0].column_by_name("appended_at").unwrap();
    let height = height.as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(height.value(0), 77);
    assert_eq!(binaries(&batches, "record_key"), [key]);
    assert_eq!(binaries(&batches, "to"), [vec![3u8; 20]]);
}

#[test]
fn a_file_that_cannot_be_created_is_named() {
    let err = DatasetWriter::create(
        Path::new("/nonexistent-dir/x.csv"),
        ExportFormat::Csv,
        None,
        "d",
        false,
    )
    .err()
    .unwrap();
    assert!(
        err.to_string().starts_with("/nonexistent-dir/x.csv: "),
        "{err}"
    );
}
