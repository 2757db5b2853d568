//! `cvm init`: create a single-validator node home.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Home directory of the new node (config, keys, genesis, data).
    #[arg(long)]
    pub home: PathBuf,
    #[arg(long, default_value = "cvm-local")]
    pub chain_id: String,
    #[arg(long, default_value = "node0")]
    pub moniker: String,
}

/// Writes the home and says how to start it.
pub fn run(args: &InitArgs) -> anyhow::Result<()> {
    let (validator, governance) = crate::home::init(&args.home, &args.chain_id, &args.moniker)?;
    println!(
        "initialized {} (chain {}, validator {})",
        args.home.display(),
        args.chain_id,
        hex::encode(validator)
    );
    println!(
        "governance key {} in {}: it signs `cvm tx register-source`",
        hex::encode(governance),
        crate::chain::config::HomeLayout::new(&args.home)
            .governance_key()
            .display()
    );
    println!("start it with: cvm start --home {}", args.home.display());
    Ok(())
}
