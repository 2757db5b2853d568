//! `cvm source verify FILE` on an archive written from a real hardhat node (`tests/data/ethereum/
//! hardhat-erc20.jsonl`: block 1 deploys an ERC-20 style token, block 2 holds three transfers and a payment,
//! block 3 is empty, block 4 holds two transfers) and on altered copies of it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn archive() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ethereum/hardhat-erc20.jsonl")
}

fn lines() -> Vec<String> {
    std::fs::read_to_string(archive())
        .expect("archive")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn verify(path: &Path) -> (bool, String) {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_cvm"))
        .args(["source", "verify"])
        .arg(path)
        .output()
        .expect("cvm runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn write_copy(dir: &Path, lines: &[String]) -> PathBuf {
    let path = dir.join("archive.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
    path
}

fn block_hash(line: &str) -> String {
    let v: Value = serde_json::from_str(line).expect("JSON");
    v["block"]["hash"].as_str().expect("hash").to_string()
}

#[test]
fn the_hardhat_archive_verifies_block_by_block() {
    let (ok, out) = verify(&archive());
    assert!(ok, "{out}");
    let lines = lines();
    let verdicts: Vec<&str> = out.lines().collect();
    assert_eq!(verdicts.len(), lines.len() + 1, "{out}");
    for (i, (count, line)) in [0, 3, 0, 2].iter().zip(&lines).enumerate() {
        let logs = if *count == 1 {
            "1 log".to_string()
        } else {
            format!("{count} logs")
        };
        assert_eq!(
            verdicts[i],
            format!("block {} {} ok {logs}", i + 1, block_hash(line))
        );
    }
    assert_eq!(verdicts[4], "4 blocks verified, 5 logs");
}

/// One character of block 2's last log data changed: its receipts root no longer matches.
#[test]
fn a_changed_byte_fails_the_block_that_holds_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut lines = lines();
    let line = &mut lines[1];
    let at = line.rfind("\"data\":\"0x").expect("a log's data");
    let end = at
        + line[at..]
            .find("\",")
            .or_else(|| line[at..].find("\"}"))
            .expect("end of data");
    let digit = &line[end - 1..end];
    let changed = if digit == "0" { "1" } else { "0" };
    line.replace_range(end - 1..end, changed);
    let (ok, out) = verify(&write_copy(dir.path(), &lines));
    assert!(!ok, "{out}");
    let verdicts: Vec<&str> = out.lines().collect();
    let hash = block_hash(&lines[1]);
    assert!(
        verdicts[1].starts_with(&format!("block 2 {hash} FAILED: receipts root 0x")),
        "{out}"
    );
    assert!(
        verdicts[0].ends_with(" ok 0 logs") && verdicts[2].ends_with(" ok 0 logs"),
        "{out}"
    );
    assert_eq!(verdicts[4], "1 of 4 blocks FAILED");
}

#[test]
fn a_block_without_receipts_gets_its_header_checked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut lines = lines();
    let mut block3: Value = serde_json::from_str(&lines[2]).expect("JSON");
    block3["receipts"] = Value::Null;
    lines[2] = block3.to_string();
    let (ok, out) = verify(&write_copy(dir.path(), &lines));
    assert!(ok, "{out}");
    assert!(
        out.lines()
            .nth(2)
            .expect("line")
            .ends_with(" ok header only"),
        "{out}"
    );
}

#[test]
fn a_missing_block_breaks_the_parent_link() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut lines = lines();
    lines.remove(2);
    let (ok, out) = verify(&write_copy(dir.path(), &lines));
    assert!(!ok, "{out}");
    let third = out.lines().nth(2).expect("line");
    assert!(
        third.starts_with("block 4 0x") && third.contains("FAILED: follows block 2"),
        "{out}"
    );
}

#[test]
fn an_altered_header_is_named_by_its_number() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut lines = lines();
    let mut block4: Value = serde_json::from_str(&lines[3]).expect("JSON");
    block4["block"]["gasLimit"] = Value::String("0x1".into());
    lines[3] = block4.to_string();
    let (ok, out) = verify(&write_copy(dir.path(), &lines));
    assert!(!ok, "{out}");
    let fourth = out.lines().nth(3).expect("line");
    assert!(
        fourth.starts_with("block 4 FAILED: its header encodes to hash"),
        "{out}"
    );
}

#[test]
fn an_empty_or_unreadable_archive_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ok, out) = verify(&write_copy(dir.path(), &[]));
    assert!(!ok && out.contains("holds no block"), "{out}");
    let (ok, out) = verify(&write_copy(dir.path(), &["not json".to_string()]));
    assert!(!ok && out.starts_with("line 1 FAILED: "), "{out}");
    let out = Command::new(env!("CARGO_BIN_EXE_cvm"))
        .args(["source", "verify", "/nonexistent/archive.jsonl"])
        .output()
        .expect("cvm runs");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("cannot open the archive /nonexistent/archive.jsonl")
    );
}
