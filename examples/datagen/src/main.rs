//! `datagen --out FILE [--count N] [--seed S]`: writes deterministic example ERC-20 logs as JSON
//! Lines in `eth_getLogs` shape.

use clap::Parser;
use datagen::{Config, DEFAULT_COUNT, DEFAULT_SEED, generate, to_jsonl};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    about = "Generate deterministic example Ethereum logs (eth_getLogs JSON shape, JSON Lines)"
)]
struct Args {
    /// Output file.
    #[arg(long)]
    out: PathBuf,
    /// Number of logs.
    #[arg(long, default_value_t = DEFAULT_COUNT)]
    count: usize,
    /// Random seed.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let logs = generate(&Config {
        count: args.count,
        seed: args.seed,
    });
    std::fs::write(&args.out, to_jsonl(&logs))?;
    eprintln!("wrote {} logs to {}", logs.len(), args.out.display());
    Ok(())
}
