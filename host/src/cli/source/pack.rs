//! `cvm source pack IN OUT`: rewrites an Ethereum archive (JSON Lines or binary) in the binary format, the blocks
//! as a node holds them, which a validator reads several times cheaper than JSON. Every block must convert (its
//! hashes re-encode as the JSON claims) and follow the previous one in number; nothing else is checked (run
//! `cvm source verify` on either file for that).

use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::sources::ethereum::{ArchiveEndpoint, BinaryArchiveWriter, SourceEndpoint};

#[derive(Debug, Args)]
pub struct PackArgs {
    /// The archive to read (JSON Lines or binary).
    pub input: PathBuf,
    /// The binary archive to write (replaced if it exists).
    pub output: PathBuf,
}

/// Writes `output` from `input`; prints how many blocks and bytes were written.
pub fn run(args: &PackArgs) -> anyhow::Result<ExitCode> {
    // The archive does not say its chain, and nothing here depends on it.
    let archive = ArchiveEndpoint::open(&args.input, 0)?;
    let file = std::fs::File::create(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let mut writer = BinaryArchiveWriter::new(BufWriter::with_capacity(1 << 20, file))
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let mut blocks = 0u64;
    if let Some((first, last)) = archive.range() {
        for number in first..=last {
            // Numbers may skip: an archive holds what its writer kept.
            let Some(data) = archive.block(number)? else {
                continue;
            };
            writer.push(&data).with_context(|| {
                format!("cannot write block {number} to {}", args.output.display())
            })?;
            blocks += 1;
        }
    }
    writer
        .finish()
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let bytes = std::fs::metadata(&args.output)
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "{blocks} blocks written to {} ({bytes} bytes)",
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}
