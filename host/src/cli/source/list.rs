//! `cvm source list`: the registered sources of a chain, from a node's `GET /sources`: kind, who feeds them, and
//! how far each has been ingested.

use std::process::ExitCode;

use clap::Args;

use crate::api_client::Client;
use crate::chain::source_json::{ConfirmationsJson, SourceJson};
use crate::cli::client::args::NodeArgs;

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub node: NodeArgs,
}

/// Prints one line per registered source.
pub fn run(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let sources = Client::new(&args.node.node).sources()?;
    if sources.is_empty() {
        println!("no sources registered");
    }
    for source in sources {
        let head = match &source.head {
            Some(h) => format!("head {} {}", h.number, h.hash),
            None => "nothing ingested yet".into(),
        };
        let what = match &source.definition {
            SourceJson::Ethereum {
                chain_id,
                start,
                confirmations,
                budget,
                ..
            } => format!(
                "ethereum chain {chain_id} from block {} ({}), {}, up to {} blocks / {} logs per height",
                start.number,
                start.hash,
                match confirmations {
                    ConfirmationsJson::Depth(d) => format!("{d} confirmations"),
                    ConfirmationsJson::Word(w) => format!("{w} blocks"),
                },
                budget.max_blocks,
                budget.max_logs
            ),
            SourceJson::Signed { publishers, .. } => {
                format!("signed by {} publisher key(s)", publishers.len())
            }
        };
        println!("{}  {what}; {head}", source.definition.name());
    }
    Ok(ExitCode::SUCCESS)
}
