//! `cvm start` on homes with broken config, genesis or key files, or an unusable data directory: a non-zero
//! exit naming the file and the cause, never a panic.

// Whether we run as root (permissions do not bind root) needs geteuid.
#![allow(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cvm_host::chain::NodeConfig;
use cvm_host::chain::config::HomeLayout;
use cvm_tests::localnet::cvm_binary;

use crate::support::*;

fn edit(path: &Path, f: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).expect("read");
    std::fs::write(path, f(text)).expect("write");
}

fn edit_config(home: &HomeLayout, f: impl FnOnce(&mut NodeConfig)) {
    let mut config = NodeConfig::load(&home.config()).expect("generated config loads");
    f(&mut config);
    std::fs::write(home.config(), config.to_toml()).expect("write config");
}

fn edit_genesis(path: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

type Breakage = Box<dyn Fn(&HomeLayout)>;

/// What a case breaks, how, which file the error must name, and what else it must say.
type Case = (
    &'static str,
    Breakage,
    fn(&HomeLayout) -> PathBuf,
    &'static [&'static str],
);

#[test]
fn broken_config_genesis_and_key_files_stop_start_with_the_file_and_the_cause() {
    let cases: Vec<Case> = vec![
        (
            "no config",
            Box::new(|h| std::fs::remove_file(h.config()).unwrap()),
            HomeLayout::config,
            &["cannot read config", "cvm init"],
        ),
        (
            "config not TOML",
            Box::new(|h| edit(&h.config(), |t| format!("{t}\n[p2p\n"))),
            HomeLayout::config,
            &["is not valid", "line", "cvm init"],
        ),
        (
            "config unknown field",
            Box::new(|h| edit(&h.config(), |t| format!("colour = \"red\"\n{t}"))),
            HomeLayout::config,
            &["unknown field `colour`", "cvm init"],
        ),
        (
            "config wrong type",
            Box::new(|h| {
                edit(&h.config(), |t| {
                    t.replace("validator = true", "validator = \"yes\"")
                })
            }),
            HomeLayout::config,
            &["invalid type", "validator"],
        ),
        (
            "config broken rule",
            Box::new(|h| edit_config(h, |c| c.p2p.max_message_bytes = 10)),
            HomeLayout::config,
            &["p2p.max_message_bytes must be at least 65536", "fix it"],
        ),
        (
            "sync limit below the block size",
            Box::new(|h| edit_config(h, |c| c.p2p.max_message_bytes = 4 * 1024 * 1024)),
            HomeLayout::config,
            &[
                "max_message_bytes in",
                "max_block_bytes 8388608",
                "Set max_message_bytes to at least",
            ],
        ),
        (
            "genesis not JSON",
            Box::new(|h| edit(&h.genesis(), |t| t.replacen('{', "{{", 1))),
            HomeLayout::genesis,
            &["genesis file", "is not valid", "line 1"],
        ),
        (
            "genesis missing field",
            Box::new(|h| {
                edit_genesis(&h.genesis(), |g| {
                    g.as_object_mut().unwrap().remove("validators");
                })
            }),
            HomeLayout::genesis,
            &["missing field `validators`"],
        ),
        (
            "genesis unknown field",
            Box::new(|h| edit_genesis(&h.genesis(), |g| g["epoch"] = 3.into())),
            HomeLayout::genesis,
            &["unknown field `epoch`"],
        ),
        (
            "genesis duplicate validator",
            Box::new(|h| {
                edit_genesis(&h.genesis(), |g| {
                    g["validators"][1]["public_key"] = g["validators"][0]["public_key"].clone()
                })
            }),
            HomeLayout::genesis,
            &["listed twice", "(validators \"node0\" and \"node1\")"],
        ),
        (
            "genesis zero power",
            Box::new(|h| edit_genesis(&h.genesis(), |g| g["validators"][1]["power"] = 0.into())),
            HomeLayout::genesis,
            &["\"node1\" has voting power 0"],
        ),
        (
            "genesis key not hex",
            Box::new(|h| {
                edit_genesis(&h.genesis(), |g| {
                    g["validators"][1]["public_key"] = "zz".repeat(32).into()
                })
            }),
            HomeLayout::genesis,
            &["\"node1\" has a public key that is not 32 bytes of hex"],
        ),
        (
            "genesis key wrong length",
            Box::new(|h| {
                edit_genesis(&h.genesis(), |g| {
                    g["validators"][1]["public_key"] = "ab".repeat(31).into()
                })
            }),
            HomeLayout::genesis,
            &["31 bytes, expected 32"],
        ),
        (
            "no genesis",
            Box::new(|h| std::fs::remove_file(h.genesis()).unwrap()),
            HomeLayout::genesis,
            &["cannot read genesis file", "copy the chain's genesis.json"],
        ),
        (
            "validator key not hex",
            Box::new(|h| {
                edit(&h.validator_key(), |t| {
                    let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                    let secret = v["secret_key"].as_str().unwrap().to_string();
                    t.replace(&secret, &"xy".repeat(32))
                })
            }),
            HomeLayout::validator_key,
            &["secret_key is not hex", "backup"],
        ),
        (
            "validator key wrong length",
            Box::new(|h| {
                edit(&h.validator_key(), |t| {
                    let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                    let secret = v["secret_key"].as_str().unwrap().to_string();
                    t.replace(&secret, &secret[..40])
                })
            }),
            HomeLayout::validator_key,
            &["secret_key is 20 bytes, expected 32"],
        ),
        (
            "validator key missing",
            Box::new(|h| std::fs::remove_file(h.validator_key()).unwrap()),
            HomeLayout::validator_key,
            &["cannot read key file", "backup"],
        ),
        (
            "node key missing",
            Box::new(|h| std::fs::remove_file(h.node_key()).unwrap()),
            HomeLayout::node_key,
            &["cannot read key file", "backup"],
        ),
        (
            "node key not JSON",
            Box::new(|h| std::fs::write(h.node_key(), "secret").unwrap()),
            HomeLayout::node_key,
            &["is not valid", "backup"],
        ),
    ];
    for (what, breakage, file, needles) in cases {
        let dir = tempfile::tempdir().unwrap();
        let home = HomeLayout::new(homes(dir.path()).remove(0));
        breakage(&home);
        let output = start_refused(&home.root);
        let named = file(&home).display().to_string();
        assert!(
            output.contains(&named),
            "{what}: {named} not named in:\n{output}"
        );
        for needle in needles {
            // Exactly once: the cause is not repeated by an error chain printed after the message.
            assert_eq!(
                output.matches(needle).count(),
                1,
                "{what}: {needle:?} in:\n{output}"
            );
        }
    }
}

/// Hands `path` and everything below it to `uid`.
fn chown_tree(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(uid)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), uid);
        }
    }
}

#[test]
fn unwritable_or_obstructed_data_directory_is_refused_at_start() {
    // Not writable. Root ignores permission bits, so as root the node runs as `nobody` on a home it owns, with
    // the data directory made read-only.
    let dir = tempfile::tempdir().unwrap();
    let home = HomeLayout::new(homes(dir.path()).remove(0));
    let data = home.root.join("data");
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    const NOBODY: u32 = 65534;
    if root {
        chown_tree(dir.path(), NOBODY);
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).unwrap();
    // `nobody` may not be able to reach the build's binary (CI's target directory lives under /root, mode
    // 0700), so as root it runs a copy inside the temporary directory it owns.
    let binary = if root {
        let copy = dir.path().join("cvm");
        std::fs::copy(cvm_binary(), &copy).expect("copy the cvm binary for nobody");
        std::os::unix::fs::chown(&copy, Some(NOBODY), Some(NOBODY)).unwrap();
        copy
    } else {
        cvm_binary()
    };
    let mut command = Command::new(binary);
    command
        .args(["start", "--home"])
        .arg(&home.root)
        .env("RUST_LOG", "warn")
        .env("RUST_BACKTRACE", "1");
    if root {
        use std::os::unix::process::CommandExt;
        command.uid(NOBODY).gid(NOBODY);
    }
    let (status, output) = run_with_timeout(command, Duration::from_secs(30));
    assert!(!status.success(), "{output}");
    assert_no_panic(&output);
    assert!(
        output.contains(&home.db().display().to_string())
            && output.contains("permission denied")
            && output.contains("make the directory writable"),
        "{output}"
    );
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();

    // A file where the data directory should be.
    let dir = tempfile::tempdir().unwrap();
    let home = HomeLayout::new(homes(dir.path()).remove(0));
    std::fs::remove_dir_all(home.root.join("data")).unwrap();
    std::fs::write(home.root.join("data"), "not a directory").unwrap();
    let output = start_refused(&home.root);
    assert!(
        output.contains(&home.db().display().to_string()) && output.contains("Not a directory"),
        "{output}"
    );
}
