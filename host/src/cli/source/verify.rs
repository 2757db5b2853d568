//! `cvm source verify FILE`: checks every line of an Ethereum archive offline and prints one verdict per
//! block: `block 358 0x… ok 12 logs`, `block 360 0x… ok header only`, `block 359 0x… FAILED: <what differs>`.
//! A block must be the previous line's child (number + 1, parent hash = previous hash); with receipts it is
//! verified whole (transactions root, receipts root, logs), without them its header hash is checked.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::hex_text::to_hex;
use crate::sources::ethereum::archive::{ArchiveLines, MAX_LINE_BYTES, line_block_number};
use crate::sources::ethereum::{ArchiveLine, header_only_check, verify_block};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The archive file (JSON Lines).
    pub file: PathBuf,
}

/// What a run found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ArchiveVerdict {
    /// Lines holding a block (failed ones included).
    pub blocks: u64,
    /// Blocks that failed a check.
    pub failed: u64,
    /// Logs of the blocks that passed with receipts.
    pub logs: u64,
}

/// A block that passed: its number, hash and log count (`None`: checked without receipts).
struct Passed {
    number: u64,
    hash: [u8; 32],
    logs: Option<usize>,
}

/// A block that failed, with as much of its identity as was read.
struct Failed {
    number: Option<u64>,
    hash: Option<[u8; 32]>,
    reason: String,
}

/// Checks one line; `previous` is the last block read (number and hash), updated when this line's header
/// decodes so one bad block does not fail its successors too.
fn check_line(text: &[u8], previous: &mut Option<(u64, [u8; 32])>) -> Result<Passed, Failed> {
    let number = line_block_number(text).ok();
    let fail = |hash, reason: String| Failed {
        number,
        hash,
        reason,
    };
    let text = std::str::from_utf8(text).map_err(|e| fail(None, format!("not UTF-8: {e}")))?;
    let data = ArchiveLine::parse(text)
        .and_then(ArchiveLine::into_block_data)
        .map_err(|e| fail(None, e.to_string()))?;
    let header = header_only_check(&data).map_err(|e| fail(None, e.to_string()))?;
    let parent = previous.replace((header.number, header.hash));
    let fail = |reason: String| Failed {
        number: Some(header.number),
        hash: Some(header.hash),
        reason,
    };
    if let Some((parent_number, parent_hash)) = parent {
        if header.number != parent_number.saturating_add(1) {
            return Err(fail(format!(
                "follows block {parent_number} on the previous line; blocks must be consecutive"
            )));
        }
        if header.parent_hash != parent_hash {
            return Err(fail(format!(
                "parent hash {} is not the previous line's block hash {}",
                to_hex(header.parent_hash),
                to_hex(parent_hash)
            )));
        }
    }
    let logs = match data.receipts {
        Some(_) => Some(
            verify_block(&data)
                .map_err(|e| fail(e.to_string()))?
                .logs
                .len(),
        ),
        None => None,
    };
    Ok(Passed {
        number: header.number,
        hash: header.hash,
        logs,
    })
}

/// Checks the archive at `path`, writing one verdict line per block and a summary to `out`. `Err` only when
/// the file cannot be read.
pub fn verify_archive(path: &Path, out: &mut impl Write) -> anyhow::Result<ArchiveVerdict> {
    let file =
        File::open(path).with_context(|| format!("cannot open the archive {}", path.display()))?;
    let mut verdict = ArchiveVerdict::default();
    let mut previous = None;
    for raw in ArchiveLines::new(BufReader::new(file), MAX_LINE_BYTES) {
        let raw = raw.with_context(|| format!("cannot read the archive {}", path.display()))?;
        verdict.blocks += 1;
        let result = if raw.too_long {
            previous = None;
            Err(Failed {
                number: None,
                hash: None,
                reason: format!("longer than {MAX_LINE_BYTES} bytes"),
            })
        } else {
            check_line(&raw.text, &mut previous)
        };
        match result {
            Ok(passed) => {
                let what = match passed.logs {
                    Some(1) => "1 log".to_string(),
                    Some(n) => format!("{n} logs"),
                    None => "header only".to_string(),
                };
                verdict.logs += passed.logs.unwrap_or(0) as u64;
                writeln!(
                    out,
                    "block {} {} ok {what}",
                    passed.number,
                    to_hex(passed.hash)
                )?;
            }
            Err(failed) => {
                verdict.failed += 1;
                let block = match failed.number {
                    Some(n) => format!("block {n}"),
                    None => format!("line {}", raw.line),
                };
                let hash = failed
                    .hash
                    .map(|h| format!(" {}", to_hex(h)))
                    .unwrap_or_default();
                // Errors name their block too; the verdict line already does.
                let reason = failed.reason.as_str();
                let reason = reason
                    .strip_prefix(&format!("{block}{hash}: "))
                    .or_else(|| reason.strip_prefix(&format!("{block}: ")))
                    .unwrap_or(reason);
                writeln!(out, "{block}{hash} FAILED: {reason}")?;
            }
        }
    }
    if verdict.blocks == 0 {
        writeln!(out, "FAILED: {} holds no block", path.display())?;
    } else if verdict.failed == 0 {
        writeln!(
            out,
            "{} blocks verified, {} logs",
            verdict.blocks, verdict.logs
        )?;
    } else {
        writeln!(
            out,
            "{} of {} blocks FAILED",
            verdict.failed, verdict.blocks
        )?;
    }
    Ok(verdict)
}

/// Prints the verdicts; exits with failure when any block failed or the archive holds none.
pub fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let verdict = verify_archive(&args.file, &mut stdout.lock())?;
    Ok(if verdict.blocks > 0 && verdict.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
