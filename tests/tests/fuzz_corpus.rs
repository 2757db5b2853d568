//! The fuzz targets' short version for CI: every target of `cvm_tests::fuzzing` over its committed seed corpus
//! (`fuzz/corpus/<target>/`), every crash the fuzzers ever found (`fuzz/regressions/<target>/`), and a few thousand
//! deterministic mutations of those (byte flips, truncations, insertions, splices), plus the example manuscripts
//! for the wasm target. A target panics on any broken invariant, so each of these fails on a regression.
//!
//! The long version is `scripts/fuzz` (cargo-fuzz, libFuzzer). Set `CVM_FUZZ_WRITE_SEEDS=1` to (re)write the seed
//! corpus from `cvm_tests::fuzzing::seeds` after changing an encoding.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cvm_tests::fuzzing::{TARGETS, Target, seeds};

/// Mutated inputs per target; the whole file stays well under 20 s in a debug build.
const MUTATIONS_PER_TARGET: usize = 4_000;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Files of `dir` (none if it does not exist), sorted by name.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| e.expect("readable directory").path())
        .filter(|p| p.is_file() && p.file_name().is_none_or(|n| n != "README.md"))
        .map(|p| {
            let bytes = std::fs::read(&p).expect("readable file");
            (p.file_name().unwrap().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    out.sort();
    out
}

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut all = files(&fuzz_dir().join("corpus").join(target));
    all.extend(files(&fuzz_dir().join("regressions").join(target)));
    all
}

/// Runs one input, naming it if the target panics.
fn run(target: &str, f: Target, name: &str, input: &[u8]) -> &'static str {
    match std::panic::catch_unwind(|| f(input)) {
        Ok(reached) => reached,
        Err(_) => panic!(
            "fuzz target {target} panicked on {name} ({} bytes: {})",
            input.len(),
            hex(input)
        ),
    }
}

fn hex(bytes: &[u8]) -> String {
    let shown: String = bytes.iter().take(256).map(|b| format!("{b:02x}")).collect();
    if bytes.len() > 256 {
        format!("{shown}…")
    } else {
        shown
    }
}

#[test]
fn committed_corpus_holds_every_generated_seed() {
    let write = std::env::var_os("CVM_FUZZ_WRITE_SEEDS").is_some();
    for (target, _) in TARGETS {
        let dir = fuzz_dir().join("corpus").join(target);
        for (name, bytes) in seeds(target) {
            let path = dir.join(format!("seed-{name}"));
            if write {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &bytes).unwrap();
            }
            let committed = std::fs::read(&path).unwrap_or_default();
            assert!(
                committed == bytes,
                "{} is missing or stale: rerun with CVM_FUZZ_WRITE_SEEDS=1",
                path.display()
            );
        }
    }
}

/// The seeds reach the accepting paths, not only the first rejection: otherwise the fuzzers would start from
/// inputs that never get past the decoder.
#[test]
fn seeds_reach_the_deep_paths_of_every_target() {
    let expected: &[(&str, &[&str])] = &[
        (
            "tx_decode",
            &["admitted", "wrong_chain", "wrong_nonce", "committed"],
        ),
        (
            "block_decode",
            &[
                "body_matches",
                "certified",
                "sync_other",
                "sync_source_blocks",
                "reassembled",
            ],
        ),
        (
            "consensus_decode",
            &[
                "vote_verified",
                "proposal_verified",
                "evidence_verified",
                "part_added",
                "part_completed",
                "certificate_verified",
            ],
        ),
        ("wasm_validate", &["loaded", "rejected"]),
        (
            "proof_verify",
            &["verified_present", "verified_absent", "rejected"],
        ),
    ];
    for (target, f) in TARGETS {
        let reached: BTreeSet<&str> = seeds(target)
            .iter()
            .map(|(name, bytes)| run(target, *f, name, bytes))
            .collect();
        let wanted = expected
            .iter()
            .find(|(t, _)| t == target)
            .expect("expectations for every target")
            .1;
        for label in wanted {
            assert!(
                reached.contains(label),
                "no seed of {target} reaches {label:?}; reached {reached:?}"
            );
        }
    }
}

#[test]
fn every_target_survives_its_corpus_and_regressions() {
    for (target, f) in TARGETS {
        let inputs = corpus(target);
        assert!(!inputs.is_empty(), "no committed corpus for {target}");
        for (name, bytes) in &inputs {
            run(target, *f, name, bytes);
        }
    }
}

/// xorshift64*: a fixed seed makes every run mutate the same way.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(6) {
            0 | 1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            2 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = [0, 1, 0x7f, 0x80, 0xff, 0xfc][rng.below(6)];
            }
            3 => {
                let i = rng.below(out.len() + 1);
                out.insert(i, rng.next() as u8);
            }
            4 if out.len() > 1 => out.truncate(rng.below(out.len())),
            _ => {
                // Splice: the tail of another input after a prefix of this one (keeps the mode byte).
                let i = rng.below(out.len() + 1).max(1.min(out.len()));
                let j = rng.below(other.len() + 1);
                out.truncate(i);
                out.extend_from_slice(&other[j..]);
            }
        }
    }
    out
}

#[test]
fn every_target_survives_seeded_mutations_of_its_corpus() {
    for (k, (target, f)) in TARGETS.iter().enumerate() {
        let inputs = corpus(target);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ k as u64);
        let mut reached = BTreeSet::new();
        for n in 0..MUTATIONS_PER_TARGET {
            let (_, base) = &inputs[n % inputs.len()];
            let (_, other) = &inputs[rng.below(inputs.len())];
            let input = mutate(&mut rng, base, other);
            reached.insert(run(target, *f, &format!("mutation {n}"), &input));
        }
        // Mutations are rejected somewhere, but not all at the decoder.
        assert!(
            reached.len() > 1,
            "every mutation of {target} ended at {reached:?}"
        );
    }
}

#[test]
fn wasm_target_survives_the_example_manuscripts_and_their_mutations() {
    let wasm = TARGETS
        .iter()
        .find(|(name, _)| *name == "wasm_validate")
        .expect("wasm target")
        .1;
    let fixtures = manuscript_fixtures::all();
    for (name, bytes) in fixtures {
        let reached = run("wasm_validate", wasm, name, bytes);
        // The examples and `hostile` (which misbehaves only at run time) deploy; `hostile-import` imports a
        // function outside the ABI and must be refused at deploy time.
        let expected = if name == "hostile-import" {
            "rejected"
        } else {
            "validated"
        };
        assert_eq!(reached, expected, "{name}");
    }
    let mut rng = Rng(7);
    for n in 0..500 {
        let (_, base) = fixtures[n % fixtures.len()];
        let (_, other) = fixtures[rng.below(fixtures.len())];
        let input = mutate(&mut rng, base, other);
        run(
            "wasm_validate",
            wasm,
            &format!("manuscript mutation {n}"),
            &input,
        );
    }
}
