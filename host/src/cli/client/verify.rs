//! `cvm verify`: check a record bundle offline against a genesis file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;

use crate::chain::Genesis;
use crate::record_bundle::RecordBundle;
use crate::verify::verify_bundle;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The chain's genesis file.
    #[arg(long)]
    pub genesis: PathBuf,
    /// A bundle saved by `cvm query record --out`.
    #[arg(long)]
    pub bundle: PathBuf,
}

/// The `VALID: ...` line followed by one line per source the record derives from, or the `INVALID: ...` line, for
/// a bundle file; `Err` only when the genesis is unusable.
pub fn verify_files(genesis: &Path, bundle: &Path) -> anyhow::Result<Result<String, String>> {
    let genesis = Genesis::load(genesis)?;
    let text = match std::fs::read_to_string(bundle) {
        Ok(t) => t,
        Err(e) => bail!("cannot read the bundle {}: {e}", bundle.display()),
    };
    let bundle: RecordBundle = match serde_json::from_str(&text) {
        Ok(b) => b,
        Err(e) => return Ok(Err(format!("INVALID: the bundle is not valid: {e}"))),
    };
    Ok(match verify_bundle(&bundle, &genesis) {
        Ok(verdict) => Ok(std::iter::once(format!("VALID: {verdict}"))
            .chain(verdict.provenance_lines())
            .collect::<Vec<_>>()
            .join("\n")),
        Err(e) => Err(format!("INVALID: {e}")),
    })
}

/// Prints the verdict; exits with failure for an invalid bundle.
pub fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    match verify_files(&args.genesis, &args.bundle)? {
        Ok(line) => {
            println!("{line}");
            Ok(ExitCode::SUCCESS)
        }
        Err(line) => {
            println!("{line}");
            Ok(ExitCode::FAILURE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::fixture;

    #[test]
    fn verify_files_prints_valid_and_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = dir.path().join("genesis.json");
        std::fs::write(&genesis, fixture::genesis().to_json()).unwrap();
        let bundle = fixture::bundle();
        let path = dir.path().join("bundle.json");
        std::fs::write(&path, serde_json::to_string_pretty(&bundle).unwrap()).unwrap();
        let text = verify_files(&genesis, &path).unwrap().unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].starts_with("VALID: record wat-counter/counts/0x"),
            "{text}"
        );
        assert!(
            lines[0].ends_with("at height 2 (signed by 30 of 40 power)"),
            "{text}"
        );
        assert_eq!(
            lines[1],
            format!(
                "derived from kv up to ingest 1, {}",
                crate::hex_text::to_hex(fixture::ingest_tx().hash())
            )
        );

        // A head changed in the file: invalid, naming the provenance.
        let mut v = serde_json::to_value(&bundle).unwrap();
        let mut tampered = bundle.clone();
        let p = tampered.provenance.as_mut().unwrap();
        p.sources[0].head.as_mut().unwrap()[0] ^= 1;
        v["provenance"] = serde_json::to_value(&tampered).unwrap()["provenance"].clone();
        std::fs::write(&path, v.to_string()).unwrap();
        let line = verify_files(&genesis, &path).unwrap().unwrap_err();
        assert!(
            line.starts_with(
                "INVALID: the provenance does not verify against the header's state root"
            ),
            "{line}"
        );

        let mut tampered = bundle.clone();
        tampered.value.as_mut().unwrap()[0] ^= 1;
        std::fs::write(&path, serde_json::to_string(&tampered).unwrap()).unwrap();
        let line = verify_files(&genesis, &path).unwrap().unwrap_err();
        assert!(
            line.starts_with("INVALID: the bundle claims value"),
            "{line}"
        );

        std::fs::write(&path, "{\"chain_id\": 3}").unwrap();
        let line = verify_files(&genesis, &path).unwrap().unwrap_err();
        assert!(
            line.starts_with("INVALID: the bundle is not valid"),
            "{line}"
        );

        assert!(verify_files(&dir.path().join("missing.json"), &path).is_err());
    }
}
