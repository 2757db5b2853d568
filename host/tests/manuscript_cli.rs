//! `cvm manuscript new | build | run` as a user runs them: real processes, real files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cvm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cvm"))
        .args(args)
        .output()
        .expect("cvm runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write_fixture(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

fn example_data() -> String {
    manuscript_fixtures::erc20_logs_path().display().to_string()
}

fn state_root(o: &Output) -> String {
    stdout(o)
        .lines()
        .find_map(|l| l.strip_prefix("state root   ").map(str::to_owned))
        .expect("a state root line")
}

#[test]
fn run_over_example_data_prints_records_receipts_fuel_and_a_stable_root() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_fixture(
        dir.path(),
        "erc20.wasm",
        manuscript_fixtures::ERC20_TRANSFERS,
    );
    let cache = dir.path().join("cache").display().to_string();
    let base = [
        "manuscript",
        "run",
        &wasm,
        "--source",
        "ethereum.logs",
        "--input",
        &example_data(),
    ];
    let cold = cvm(&[&base[..], &["--cache-dir", &cache]].concat());
    assert!(cold.status.success(), "{}", stderr(&cold));
    let out = stdout(&cold);
    assert!(
        out.contains("record  transfers"),
        "dataset records are printed"
    );
    assert!(out.contains("record  balances"));
    assert!(
        out.contains("receipt #0      ok      fuel="),
        "receipts with fuel per record are printed"
    );
    assert!(
        out.contains("records      5000 processed, 5000 ok, 0 failed"),
        "{}",
        out.lines().rev().take(6).collect::<Vec<_>>().join("\n")
    );
    let root = state_root(&cold);
    assert!(root.starts_with("0x") && root.len() == 66);
    // Warm disk cache, sequential execution, different batching of blocks... same root.
    let warm = cvm(&[&base[..], &["--cache-dir", &cache, "--quiet"]].concat());
    assert_eq!(state_root(&warm), root, "warm cache");
    let sequential = cvm(&[&base[..], &["--sequential", "--quiet"]].concat());
    assert_eq!(state_root(&sequential), root, "sequential");
    let fuel = |o: &Output| {
        stdout(o)
            .lines()
            .find(|l| l.starts_with("fuel "))
            .unwrap()
            .to_owned()
    };
    assert_eq!(fuel(&warm), fuel(&sequential), "fuel counts");
}

#[test]
fn run_reports_trap_reasons_in_receipts() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_fixture(dir.path(), "hostile.wasm", manuscript_fixtures::HOSTILE);
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, "{\"key\":\"loop\",\"value\":\"\"}\n{\"key\":\"panic\",\"value\":\"\"}\n{\"key\":\"ok\",\"value\":\"v\"}\n").unwrap();
    let o = cvm(&[
        "manuscript",
        "run",
        &wasm,
        "--source",
        "hostile",
        "--input",
        input.to_str().unwrap(),
        "--fuel",
        "1000000",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("receipt #0      FAILED  fuel=1000000 out of fuel"),
        "{out}"
    );
    assert!(
        out.contains("receipt #1") && out.contains("panic: panicked at"),
        "{out}"
    );
    assert!(out.contains("receipt #2      ok"), "{out}");
    assert!(out.contains("3 processed, 1 ok, 2 failed"), "{out}");
}

#[test]
fn bad_input_exits_non_zero_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = write_fixture(
        dir.path(),
        "erc20.wasm",
        manuscript_fixtures::ERC20_TRANSFERS,
    );
    let bad_json = write_fixture(
        dir.path(),
        "bad.jsonl",
        b"{\"address\": \"0x12\"\nnot json\n",
    );
    let bad_field = write_fixture(
        dir.path(),
        "field.jsonl",
        b"{\"address\":\"0xzz\",\"topics\":[],\"data\":\"0x\"}\n",
    );
    let empty = write_fixture(dir.path(), "empty.jsonl", b"");
    let garbage = write_fixture(dir.path(), "garbage.wasm", b"\0asm\x01\0\0\0garbage");
    let forbidden = write_fixture(
        dir.path(),
        "import.wasm",
        manuscript_fixtures::HOSTILE_IMPORT,
    );
    let data = example_data();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                &wasm,
                "--source",
                "ethereum.logs",
                "--input",
                "/no/such/file",
            ],
            "cannot read the input file",
        ),
        (
            vec![&wasm, "--source", "ethereum.logs", "--input", &bad_json],
            "JSON",
        ),
        (
            vec![&wasm, "--source", "ethereum.logs", "--input", &bad_field],
            "record 1 is not a valid",
        ),
        (
            vec![&wasm, "--source", "ethereum.logs", "--input", &empty],
            "no records",
        ),
        (
            vec!["/no/such.wasm", "--source", "kv", "--input", &data],
            "cannot read the manuscript",
        ),
        (
            vec![&garbage, "--source", "ethereum.logs", "--input", &data],
            "invalid wasm",
        ),
        (
            vec![&forbidden, "--source", "ethereum.logs", "--input", &data],
            "wasi_snapshot_preview1",
        ),
        (
            vec![&wasm, "--source", "ethereum.goerli", "--input", &data],
            "does not subscribe to source",
        ),
    ];
    for (args, expected) in cases {
        let o = cvm(&[&["manuscript", "run"][..], &args].concat());
        assert!(!o.status.success(), "{args:?} should fail");
        assert!(
            stderr(&o).contains(expected),
            "{args:?}: stderr {:?} lacks {expected:?}",
            stderr(&o)
        );
        assert!(
            !stderr(&o).contains("panicked"),
            "{args:?} must fail cleanly: {}",
            stderr(&o)
        );
    }
}

#[test]
fn wat_manuscript_runs_from_text() {
    let dir = tempfile::tempdir().unwrap();
    let wat = write_fixture(
        dir.path(),
        "counter.wat",
        manuscript_fixtures::WAT_COUNTER.as_bytes(),
    );
    let input = write_fixture(
        dir.path(),
        "kv.jsonl",
        b"{\"key\":\"a\",\"value\":\"1\"}\n{\"key\":\"a\",\"value\":\"2\"}\n",
    );
    let o = cvm(&[
        "manuscript",
        "run",
        &wat,
        "--source",
        "kv",
        "--input",
        &input,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("2 processed, 2 ok"), "{}", stdout(&o));
}

/// Shared target directory for the scaffolded crate, so repeated runs do not rebuild the SDK from scratch.
fn scaffold_target_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("scaffold")
}

#[test]
fn new_scaffolds_a_crate_that_tests_builds_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    let o = cvm(&[
        "manuscript",
        "new",
        "my-counter",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let crate_dir = dir.path().join("my-counter");
    let target = scaffold_target_dir();
    let test = Command::new(env!("CARGO"))
        .args(["test", "--quiet"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(
        test.status.success(),
        "scaffolded tests fail:\n{}\n{}",
        stdout(&test),
        stderr(&test)
    );
    let build = cvm(&[
        "manuscript",
        "build",
        crate_dir.to_str().unwrap(),
        "--target-dir",
        target.to_str().unwrap(),
    ]);
    assert!(build.status.success(), "{}", stderr(&build));
    assert!(
        stdout(&build).contains("manuscript my-counter (ABI v1)"),
        "{}",
        stdout(&build)
    );
    assert!(stdout(&build).contains("valid      yes"));
    assert!(
        stdout(&build).contains("typed      counts"),
        "{}",
        stdout(&build)
    );
    // Same name again: refused, nothing overwritten.
    let again = cvm(&[
        "manuscript",
        "new",
        "my-counter",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!again.status.success() && stderr(&again).contains("already exists"));
    let bad = cvm(&[
        "manuscript",
        "new",
        "Bad Name",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!bad.status.success() && stderr(&bad).contains("invalid manuscript name"));
}
