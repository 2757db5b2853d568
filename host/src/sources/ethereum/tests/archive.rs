//! The archive endpoint (JSON Lines and binary), the bounded line reader and the binary writer.

use std::io::Write;

use serde_json::{Value, json};

use super::data_dir;
use crate::sources::ethereum::archive::ArchiveLines;
use crate::sources::ethereum::archive_binary::{MAGIC, MAX_FRAME_BYTES};
use crate::sources::ethereum::{
    ArchiveEndpoint, ArchiveFormat, BinaryArchiveWriter, EndpointError, SourceEndpoint,
    header_only_check,
};

fn homestead_line() -> String {
    let text = std::fs::read_to_string(data_dir().join("mainnet-2000004-homestead.rpc.json"))
        .expect("vector");
    let block: Value = serde_json::from_str(&text).expect("JSON");
    json!({"block": block, "receipts": null}).to_string()
}

fn write_archive(lines: &[String]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    for line in lines {
        writeln!(file, "{line}").expect("write");
    }
    file
}

#[test]
fn an_archive_serves_its_blocks_by_number() {
    let file = write_archive(&[String::new(), homestead_line(), "  ".to_string()]);
    let archive = ArchiveEndpoint::open(file.path(), 1).expect("opens");
    assert_eq!(archive.len(), 1);
    assert_eq!(archive.range(), Some((2_000_004, 2_000_004)));
    assert_eq!(archive.chain_id().expect("chain id"), 1);
    assert_eq!(archive.latest().expect("latest"), 2_000_004);
    assert_eq!(archive.finalized().expect("finalized"), Some(2_000_004));
    let data = archive.block(2_000_004).expect("reads").expect("present");
    assert_eq!(header_only_check(&data).expect("header").number, 2_000_004);
    assert_eq!(data.receipts, None);
    assert!(archive.block(2_000_005).expect("reads").is_none());
}

#[test]
fn blocks_out_of_order_are_refused_at_open() {
    let line = homestead_line();
    let file = write_archive(&[line.clone(), line]);
    match ArchiveEndpoint::open(file.path(), 1) {
        Err(EndpointError::ArchiveLine { line, reason, .. }) => {
            assert_eq!(line, 2);
            assert!(reason.contains("increasing order"), "{reason}");
        }
        other => panic!("expected an order error, got {:?}", other.map(|a| a.len())),
    }
}

#[test]
fn a_line_without_a_block_number_is_refused_at_open() {
    let file = write_archive(&[r#"{"block": {"hash": "0x00"}}"#.to_string()]);
    let error = ArchiveEndpoint::open(file.path(), 1)
        .map(|a| a.len())
        .expect_err("refused");
    assert!(error.to_string().contains("line 1"), "{error}");
}

#[test]
fn an_empty_archive_has_no_latest_block() {
    let file = write_archive(&[]);
    let archive = ArchiveEndpoint::open(file.path(), 1).expect("opens");
    assert!(archive.is_empty());
    assert!(
        archive
            .latest()
            .expect_err("no block")
            .to_string()
            .contains("holds no block")
    );
}

#[test]
fn a_missing_file_is_named() {
    let error = ArchiveEndpoint::open(std::path::Path::new("/nonexistent/archive.jsonl"), 1)
        .map(|a| a.len())
        .expect_err("refused");
    assert!(
        error.to_string().contains("/nonexistent/archive.jsonl"),
        "{error}"
    );
}

#[test]
fn over_long_lines_are_skipped_unread_and_reading_goes_on() {
    let text = b"short\nthis line is too long\n\nlast";
    let lines: Vec<_> = ArchiveLines::new(&text[..], 10)
        .collect::<Result<_, _>>()
        .expect("reads");
    assert_eq!(lines.len(), 3);
    assert_eq!(
        (lines[0].line, lines[0].offset, lines[0].text.as_slice()),
        (1, 0, &b"short"[..])
    );
    assert!(lines[1].too_long && lines[1].text.is_empty());
    assert_eq!((lines[1].line, lines[1].offset), (2, 6));
    assert_eq!(
        (lines[2].line, lines[2].offset, lines[2].text.as_slice()),
        (4, 29, &b"last"[..])
    );
}

#[test]
fn the_hardhat_archive_serves_verified_blocks() {
    let archive =
        ArchiveEndpoint::open(&data_dir().join("hardhat-erc20.jsonl"), 31337).expect("opens");
    assert_eq!(archive.range(), Some((1, 4)));
    let logs: Vec<usize> = (1..=4)
        .map(|n| {
            let data = archive.block(n).expect("reads").expect("present");
            crate::sources::ethereum::verify_block(&data)
                .expect("verifies")
                .logs
                .len()
        })
        .collect();
    assert_eq!(logs, [0, 3, 0, 2]);
}

/// The hardhat archive's blocks, written in the binary format.
fn binary_hardhat(blocks: &[u64]) -> tempfile::NamedTempFile {
    let json =
        ArchiveEndpoint::open(&data_dir().join("hardhat-erc20.jsonl"), 31337).expect("opens");
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let mut writer = BinaryArchiveWriter::new(file.reopen().expect("reopen")).expect("magic");
    for number in blocks {
        let data = json.block(*number).expect("reads").expect("present");
        writer.push(&data).expect("written");
    }
    writer.finish().expect("flushed");
    file
}

#[test]
fn a_binary_archive_serves_the_blocks_its_json_does() {
    let json =
        ArchiveEndpoint::open(&data_dir().join("hardhat-erc20.jsonl"), 31337).expect("opens");
    let file = binary_hardhat(&[1, 2, 3, 4]);
    let binary = ArchiveEndpoint::open(file.path(), 31337).expect("opens");
    assert_eq!(binary.format(), ArchiveFormat::Binary);
    assert_eq!(json.format(), ArchiveFormat::JsonLines);
    assert_eq!(binary.range(), Some((1, 4)));
    for n in 1..=4 {
        assert_eq!(
            binary.block(n).expect("reads"),
            json.block(n).expect("reads")
        );
    }
    assert!(binary.block(5).expect("reads").is_none());
}

#[test]
fn the_binary_writer_refuses_blocks_out_of_order() {
    let json =
        ArchiveEndpoint::open(&data_dir().join("hardhat-erc20.jsonl"), 31337).expect("opens");
    let mut writer = BinaryArchiveWriter::new(Vec::new()).expect("magic");
    writer
        .push(&json.block(2).expect("reads").expect("present"))
        .expect("written");
    let error = writer
        .push(&json.block(1).expect("reads").expect("present"))
        .expect_err("refused");
    assert!(error.to_string().contains("increasing order"), "{error}");
}

#[test]
fn binary_frames_out_of_order_are_refused_at_open() {
    let file = binary_hardhat(&[1, 2]);
    let mut bytes = std::fs::read(file.path()).expect("read");
    // Frame 2 claims block 1 too.
    let second = 8 + 12 + u32::from_le_bytes(bytes[16..20].try_into().expect("4 bytes")) as usize;
    bytes[second..second + 8].copy_from_slice(&1u64.to_le_bytes());
    std::fs::write(file.path(), &bytes).expect("write");
    match ArchiveEndpoint::open(file.path(), 31337) {
        Err(EndpointError::ArchiveLine {
            unit, line, reason, ..
        }) => {
            assert_eq!((unit, line), ("frame", 2));
            assert!(reason.contains("increasing order"), "{reason}");
        }
        other => panic!("expected an order error, got {:?}", other.map(|a| a.len())),
    }
}

#[test]
fn a_binary_frame_above_the_limit_is_refused_at_open() {
    let file = binary_hardhat(&[1]);
    let mut bytes = std::fs::read(file.path()).expect("read");
    bytes[16..20].copy_from_slice(&(MAX_FRAME_BYTES + 1).to_le_bytes());
    std::fs::write(file.path(), &bytes).expect("write");
    let error = ArchiveEndpoint::open(file.path(), 31337)
        .map(|a| a.len())
        .expect_err("refused");
    assert!(error.to_string().contains("above the"), "{error}");
}

#[test]
fn a_binary_frame_holding_another_block_is_refused_when_read() {
    let file = binary_hardhat(&[1]);
    let mut bytes = std::fs::read(file.path()).expect("read");
    bytes[8..16].copy_from_slice(&9u64.to_le_bytes());
    std::fs::write(file.path(), &bytes).expect("write");
    let archive = ArchiveEndpoint::open(file.path(), 31337).expect("opens");
    let error = archive.block(9).expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("frame 1: indexed as block 9 but its header is block 1"),
        "{error}"
    );
}

#[test]
fn a_truncated_magic_is_read_as_json() {
    let file = write_archive(&[]);
    std::fs::write(file.path(), &MAGIC[..5]).expect("write");
    let error = ArchiveEndpoint::open(file.path(), 1)
        .map(|a| a.len())
        .expect_err("refused");
    assert!(error.to_string().contains("line 1"), "{error}");
}
