//! `cvm verify`: check a record bundle, saved record pages or a block's changes against a genesis file, or a
//! header trusted by hash, across validator-set changes (light-client verification; intermediate headers from the
//! bundle's own header chain or from `--node`, which also catches a fork).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;

use crate::api_client::Client;
use crate::block_changes::{BlockChanges, verify_changes};
use crate::chain::Genesis;
use crate::hex_text::from_hex32;
use crate::record_bundle::RecordBundle;
use crate::record_page::RecordPage;
use crate::verify::page::verify_record_pages;
use crate::verify::{Trust, verify_bundle};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The chain's genesis file.
    #[arg(long)]
    pub genesis: PathBuf,
    /// A bundle saved by `cvm query record --out` (a page file given here is checked as pages, and the answer of
    /// `GET /blocks/{height}/changes` as a block's changes).
    #[arg(long, required_unless_present = "page", conflicts_with = "page")]
    pub bundle: Option<PathBuf>,
    /// Pages saved by `cvm query records --out` (one page per line, or one JSON page).
    #[arg(long)]
    pub page: Option<PathBuf>,
    /// A node to fetch the headers between the trusted root and the file's height from (when the validator set
    /// changed and the file carries no header chain), and to compare its block of that height with the file's.
    #[arg(long)]
    pub node: Option<String>,
    /// Trust this height's header (by `--trust-hash`, fetched from `--node`) instead of the genesis validators.
    #[arg(long, requires_all = ["trust_hash", "node"])]
    pub trust_height: Option<u64>,
    /// The hash of the header at `--trust-height`, from a source the reader trusts.
    #[arg(long, requires = "trust_height")]
    pub trust_hash: Option<String>,
}

/// What the reader trusts: the genesis, or a header by hash; with `--node`, the source of headers between.
fn trust_of(genesis: &Genesis, args: &VerifyArgs) -> anyhow::Result<Trust> {
    let client = args.node.as_deref().map(Client::new);
    let trust = match (args.trust_height, &args.trust_hash, client) {
        (Some(height), Some(hash), Some(client)) => {
            let hash = from_hex32(hash).map_err(|e| anyhow::anyhow!("--trust-hash: {e}"))?;
            let node = Client::new(args.node.as_deref().unwrap_or_default());
            // The file came from elsewhere than the node: its header must be the node's.
            Trust::header(genesis, height, hash, Box::new(client))
                .map_err(anyhow::Error::msg)?
                .with_source(Box::new(node), true)
        }
        (_, _, client) => {
            let trust = Trust::genesis(genesis).map_err(anyhow::Error::msg)?;
            match client {
                Some(client) => trust.with_source(Box::new(client), true),
                None => trust,
            }
        }
    };
    Ok(trust)
}

/// Whether `text` holds pages rather than a bundle: a page has `records`, a bundle has `key`.
fn is_pages(text: &str) -> bool {
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let whole = serde_json::from_str::<serde_json::Value>(text)
        .or_else(|_| serde_json::from_str::<serde_json::Value>(first));
    whole.is_ok_and(|v| v.get("records").is_some())
}

/// Whether `text` is a block's changes (`GET /blocks/{height}/changes`): it has `datasets` and a `header`.
fn is_changes(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .is_ok_and(|v| v.get("datasets").is_some() && v.get("header").is_some())
}

/// The verdict line for a block's changes.
fn verify_changes_text(text: &str, trust: &Trust) -> Result<String, String> {
    let changes: BlockChanges = serde_json::from_str(text)
        .map_err(|e| format!("INVALID: the block's changes are not valid: {e}"))?;
    verify_changes(&changes, trust).map_err(|e| format!("INVALID: {e}"))?;
    Ok(format!(
        "VALID: block {} changes: {} records in {} datasets, each proven against its state root",
        changes.height,
        changes.changes().count(),
        changes.datasets.len()
    ))
}

/// The verdict lines for a page file (`VALID: ...` per page, then a total when there are several), or the
/// `INVALID: ...` line.
fn verify_pages_text(text: &str, trust: &Trust) -> Result<String, String> {
    let pages: Vec<RecordPage> = match serde_json::from_str::<RecordPage>(text) {
        Ok(page) => vec![page],
        Err(_) => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .map_err(|e| format!("INVALID: line {} is not a valid page: {e}", i + 1))
            })
            .collect::<Result<_, _>>()?,
    };
    if pages.is_empty() {
        return Err("INVALID: the file holds no page".into());
    }
    let verdicts = verify_record_pages(&pages, trust)
        .map_err(|(i, e)| format!("INVALID: page {} (line {}): {e}", i, i + 1))?;
    let mut lines: Vec<String> = verdicts.iter().map(|v| format!("VALID: {v}")).collect();
    if verdicts.len() > 1 {
        let records: usize = verdicts.iter().map(|v| v.records).sum();
        let last = verdicts.last().is_some_and(|v| !v.more);
        lines.push(format!(
            "VALID: {} consecutive pages, {records} records{}",
            verdicts.len(),
            if last {
                ", every record of the range"
            } else {
                ", more follow"
            }
        ));
    }
    Ok(lines.join("\n"))
}

/// The `VALID: ...` line followed by one line per source the record derives from, or the `INVALID: ...` line, for
/// a bundle file (for a page file: the lines of its pages), trusting the genesis; `Err` only when the genesis is
/// unusable.
#[cfg(test)]
pub fn verify_files(genesis: &Path, bundle: &Path) -> anyhow::Result<Result<String, String>> {
    let genesis = Genesis::load(genesis)?;
    let trust = Trust::genesis(&genesis).map_err(anyhow::Error::msg)?;
    verify_file(&trust, bundle)
}

/// [`verify_files`] with the reader's trust.
pub fn verify_file(trust: &Trust, bundle: &Path) -> anyhow::Result<Result<String, String>> {
    let text = match std::fs::read_to_string(bundle) {
        Ok(t) => t,
        Err(e) => bail!("cannot read {}: {e}", bundle.display()),
    };
    if is_pages(&text) {
        return Ok(verify_pages_text(&text, trust));
    }
    if is_changes(&text) {
        return Ok(verify_changes_text(&text, trust));
    }
    let bundle: RecordBundle = match serde_json::from_str(&text) {
        Ok(b) => b,
        Err(e) => return Ok(Err(format!("INVALID: the bundle is not valid: {e}"))),
    };
    Ok(match verify_bundle(&bundle, trust) {
        Ok(verdict) => Ok(std::iter::once(format!("VALID: {verdict}"))
            .chain(verdict.provenance_lines())
            .collect::<Vec<_>>()
            .join("\n")),
        Err(e) => Err(format!("INVALID: {e}")),
    })
}

/// Prints the verdict; exits with failure for an invalid bundle.
pub fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let Some(file) = args.bundle.as_ref().or(args.page.as_ref()) else {
        bail!("name the file to check: --bundle FILE or --page FILE");
    };
    let genesis = Genesis::load(&args.genesis)?;
    let trust = trust_of(&genesis, args)?;
    match verify_file(&trust, file)? {
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

    #[test]
    fn saved_pages_verify_and_doctored_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = dir.path().join("genesis.json");
        std::fs::write(&genesis, fixture::genesis().to_json()).unwrap();
        let path = dir.path().join("pages.jsonl");
        let first = fixture::page(&[], &[], 2);
        let next = first.next.clone().unwrap();
        let mut start = next.last_key.clone();
        start.push(0);
        let second = fixture::page(&[], &start, 2);
        let lines = |pages: &[&RecordPage]| {
            pages
                .iter()
                .map(|p| serde_json::to_string(p).unwrap() + "\n")
                .collect::<String>()
        };
        std::fs::write(&path, lines(&[&first, &second])).unwrap();
        let text = verify_files(&genesis, &path).unwrap().unwrap();
        assert!(
            text.ends_with("VALID: 2 consecutive pages, 3 records, every record of the range"),
            "{text}"
        );
        std::fs::write(&path, serde_json::to_string_pretty(&second).unwrap()).unwrap();
        let text = verify_files(&genesis, &path).unwrap().unwrap();
        assert!(text.starts_with("VALID: page wat-counter/counts"), "{text}");

        // The second page alone is not the continuation of a page that was dropped.
        let third_first = fixture::page(&[], &[], 1);
        std::fs::write(&path, lines(&[&third_first, &second])).unwrap();
        let line = verify_files(&genesis, &path).unwrap().unwrap_err();
        assert!(
            line.starts_with("INVALID: page 1 (line 2): the page's next cursor is wrong"),
            "{line}"
        );

        let mut doctored = first.clone();
        doctored.records.remove(0);
        std::fs::write(&path, lines(&[&doctored, &second])).unwrap();
        let line = verify_files(&genesis, &path).unwrap().unwrap_err();
        assert!(
            line.starts_with(
                "INVALID: page 0 (line 1): the page's records are not the ones its proof proves"
            ),
            "{line}"
        );
    }
}
