//! `cvm source pack` and the binary archive format it writes, checked with `cvm source verify`: the hardhat
//! archive (`tests/data/ethereum/hardhat-erc20.jsonl`) packed verifies block for block as the JSON does, and
//! altered copies of the packed file fail where they were altered.

use std::path::{Path, PathBuf};
use std::process::Command;

fn archive() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ethereum/hardhat-erc20.jsonl")
}

fn cvm(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cvm"))
        .args(args)
        .output()
        .expect("cvm runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn verify(path: &Path) -> (bool, String) {
    cvm(&["source", "verify", path.to_str().expect("path")])
}

/// The hardhat archive packed into `dir`.
fn packed(dir: &Path) -> PathBuf {
    let out = dir.join("archive.cvmeth");
    let (ok, text) = cvm(&[
        "source",
        "pack",
        archive().to_str().expect("path"),
        out.to_str().expect("path"),
    ]);
    assert!(ok && text.contains("4 blocks written"), "{text}");
    out
}

/// (offset of the frame, its block number, offset of its data, data length) for each frame.
fn frames(bytes: &[u8]) -> Vec<(usize, u64, usize, usize)> {
    let mut out = Vec::new();
    let mut at = 8;
    while at < bytes.len() {
        let number = u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().expect("4 bytes")) as usize;
        out.push((at, number, at + 12, len));
        at += 12 + len;
    }
    out
}

#[test]
fn a_packed_archive_verifies_as_its_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ok, json) = verify(&archive());
    assert!(ok, "{json}");
    let path = packed(dir.path());
    let bytes = std::fs::read(&path).expect("read");
    assert_eq!(&bytes[..8], b"cvmeth\0\x01");
    assert_eq!(
        frames(&bytes).iter().map(|f| f.1).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let (ok, binary) = verify(&path);
    assert!(ok, "{binary}");
    assert_eq!(binary, json);
    // Packing a packed archive gives the same bytes.
    let again = dir.path().join("again.cvmeth");
    let (ok, text) = cvm(&[
        "source",
        "pack",
        path.to_str().expect("path"),
        again.to_str().expect("path"),
    ]);
    assert!(ok, "{text}");
    assert_eq!(std::fs::read(again).expect("read"), bytes);
}

#[test]
fn a_changed_byte_in_a_frame_fails_that_block() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = packed(dir.path());
    let mut bytes = std::fs::read(&path).expect("read");
    // The last byte of block 2's data: inside its last receipt (a log's data).
    let (_, _, data, len) = frames(&bytes)[1];
    bytes[data + len - 1] ^= 1;
    std::fs::write(&path, &bytes).expect("write");
    let (ok, out) = verify(&path);
    assert!(!ok, "{out}");
    let verdicts: Vec<&str> = out.lines().collect();
    assert!(
        verdicts[1].starts_with("block 2 0x") && verdicts[1].contains("FAILED: receipts root"),
        "{out}"
    );
    assert!(verdicts[0].ends_with(" ok 0 logs") && verdicts[3].ends_with(" ok 2 logs"));
    assert_eq!(verdicts[4], "1 of 4 blocks FAILED");
}

#[test]
fn a_frame_that_names_another_block_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = packed(dir.path());
    let mut bytes = std::fs::read(&path).expect("read");
    let (frame, _, _, _) = frames(&bytes)[2];
    bytes[frame..frame + 8].copy_from_slice(&7u64.to_le_bytes());
    std::fs::write(&path, &bytes).expect("write");
    let (ok, out) = verify(&path);
    assert!(!ok, "{out}");
    let third = out.lines().nth(2).expect("line");
    assert!(
        third.starts_with("block 3 0x") && third.contains("FAILED: its frame says block 7"),
        "{out}"
    );
}

#[test]
fn a_frame_whose_data_does_not_decode_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = packed(dir.path());
    let mut bytes = std::fs::read(&path).expect("read");
    let (_, _, data, len) = frames(&bytes)[0];
    // A SCALE length prefix far above what the frame holds.
    bytes[data..data + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    bytes[data + 4..data + len].fill(0xff);
    std::fs::write(&path, &bytes).expect("write");
    let (ok, out) = verify(&path);
    assert!(!ok, "{out}");
    assert!(
        out.lines()
            .next()
            .expect("line")
            .starts_with("block 1 FAILED: not a SCALE-encoded block"),
        "{out}"
    );
}

#[test]
fn a_cut_short_archive_fails_at_the_cut() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = packed(dir.path());
    let bytes = std::fs::read(&path).expect("read");
    let (frame, _, _, _) = frames(&bytes)[3];
    std::fs::write(&path, &bytes[..frame + 20]).expect("write");
    let (ok, out) = verify(&path);
    assert!(!ok, "{out}");
    let verdicts: Vec<&str> = out.lines().collect();
    assert!(verdicts[2].ends_with(" ok 0 logs"), "{out}");
    assert!(
        verdicts[3].starts_with("frame 4 FAILED: frame 4 (block 4) is cut short"),
        "{out}"
    );
    // A node refuses to open it at all, naming the cut.
    let (ok, out) = cvm(&[
        "source",
        "pack",
        path.to_str().expect("path"),
        dir.path().join("x").to_str().expect("path"),
    ]);
    assert!(
        !ok && out.contains("frame 4 (block 4) is cut short"),
        "{out}"
    );
}
