//! `cvm source verify FILE`: checks every block of an Ethereum archive (JSON Lines or binary) offline and prints
//! one verdict per block: `block 358 0x… ok 12 logs`, `block 360 0x… ok header only`, `block 359 0x… FAILED:
//! <what differs>`. A block must be the previous one's child (number + 1, parent hash = previous hash); with
//! receipts it is verified whole (transactions root, receipts root, logs), without them its header hash is
//! checked.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::hex_text::to_hex;
use crate::sources::ethereum::archive::{ArchiveLines, MAX_LINE_BYTES, line_block_number};
use crate::sources::ethereum::archive_binary::{self, MAGIC, read_frame};
use crate::sources::ethereum::{ArchiveLine, EthBlockData, header_only_check, verify_block};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The archive file (JSON Lines or binary).
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

/// Checks one JSON line (see [`check_block`]).
fn check_line(text: &[u8], previous: &mut Option<(u64, [u8; 32])>) -> Result<Passed, Failed> {
    let number = line_block_number(text).ok();
    let fail = |reason: String| Failed {
        number,
        hash: None,
        reason,
    };
    let text = std::str::from_utf8(text).map_err(|e| fail(format!("not UTF-8: {e}")))?;
    let data = ArchiveLine::parse(text)
        .and_then(ArchiveLine::into_block_data)
        .map_err(|e| fail(e.to_string()))?;
    check_block(&data, number, previous)
}

/// Checks one binary frame's data (see [`check_block`]); `number` is the one its frame claims.
fn check_frame(
    data: &[u8],
    number: u64,
    previous: &mut Option<(u64, [u8; 32])>,
) -> Result<Passed, Failed> {
    let data = archive_binary::decode_block(data).map_err(|reason| Failed {
        number: Some(number),
        hash: None,
        reason,
    })?;
    let passed = check_block(&data, Some(number), previous)?;
    if passed.number != number {
        return Err(Failed {
            number: Some(passed.number),
            hash: Some(passed.hash),
            reason: format!("its frame says block {number}"),
        });
    }
    Ok(passed)
}

/// Checks one block (`number`: as its line or frame claims, for errors); `previous` is the last block read
/// (number and hash), updated when this block's header decodes so one bad block does not fail its successors
/// too.
fn check_block(
    data: &EthBlockData,
    number: Option<u64>,
    previous: &mut Option<(u64, [u8; 32])>,
) -> Result<Passed, Failed> {
    let fail = |hash, reason: String| Failed {
        number,
        hash,
        reason,
    };
    let header = header_only_check(data).map_err(|e| fail(None, e.to_string()))?;
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
            verify_block(data)
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

/// One block's verdict line, counted into `verdict`; `position` names it when nothing of the block could be read
/// (`line 3`, `frame 3`).
fn report(
    result: Result<Passed, Failed>,
    position: &str,
    verdict: &mut ArchiveVerdict,
    out: &mut impl Write,
) -> std::io::Result<()> {
    verdict.blocks += 1;
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
            )
        }
        Err(failed) => {
            verdict.failed += 1;
            let block = match failed.number {
                Some(n) => format!("block {n}"),
                None => position.to_string(),
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
            writeln!(out, "{block}{hash} FAILED: {reason}")
        }
    }
}

/// Checks the archive at `path` (JSON Lines, or binary when it starts with the binary magic), writing one
/// verdict line per block and a summary to `out`. `Err` only when the file cannot be read.
pub fn verify_archive(path: &Path, out: &mut impl Write) -> anyhow::Result<ArchiveVerdict> {
    let mut file =
        File::open(path).with_context(|| format!("cannot open the archive {}", path.display()))?;
    let binary = archive_binary::is_binary(&mut file)
        .with_context(|| format!("cannot read the archive {}", path.display()))?;
    let mut verdict = ArchiveVerdict::default();
    let mut previous = None;
    if binary {
        let mut reader = BufReader::new(file);
        reader
            .read_exact(&mut [0u8; MAGIC.len()])
            .with_context(|| format!("cannot read the archive {}", path.display()))?;
        for index in 1.. {
            match read_frame(&mut reader, index) {
                Ok(Some((number, data))) => {
                    let result = check_frame(&data, number, &mut previous);
                    report(result, &format!("frame {index}"), &mut verdict, out)?;
                }
                Ok(None) => break,
                // A frame cut short or above the limit: nothing after it can be found.
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    let failed = Failed {
                        number: None,
                        hash: None,
                        reason: e.to_string(),
                    };
                    report(Err(failed), &format!("frame {index}"), &mut verdict, out)?;
                    break;
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot read the archive {}", path.display()));
                }
            }
        }
    } else {
        for raw in ArchiveLines::new(BufReader::new(file), MAX_LINE_BYTES) {
            let raw = raw.with_context(|| format!("cannot read the archive {}", path.display()))?;
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
            report(result, &format!("line {}", raw.line), &mut verdict, out)?;
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
