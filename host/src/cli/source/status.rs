//! `cvm source status`: each Ethereum source as the node sees it: its committed head, its own endpoint's latest
//! block and the lag between them, blocks fetched ahead, the endpoint's last error, and conflicts (committed
//! blocks the endpoint later showed with another hash). Exits non-zero when an endpoint reports a conflict.

use std::process::ExitCode;

use clap::Args;

use crate::api_client::Client;
use crate::cli::client::args::NodeArgs;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub node: NodeArgs,
}

/// Prints one line per Ethereum source.
pub fn run(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let sources = Client::new(&args.node.node).sources()?;
    let mut conflicts = 0;
    let mut shown = 0;
    for source in &sources {
        let Some(endpoint) = &source.endpoint else {
            continue;
        };
        shown += 1;
        let name = source.definition.name();
        let head = source.head.as_ref().map(|h| h.number);
        let head_text = head.map_or("none".to_string(), |n| n.to_string());
        if !endpoint.configured {
            println!(
                "{name}: head {head_text}; no endpoint on this node (it follows the source through its peers)"
            );
            continue;
        }
        let latest = endpoint
            .latest
            .map_or("unknown".to_string(), |n| n.to_string());
        let lag = match (endpoint.latest, head) {
            (Some(latest), Some(head)) => latest.saturating_sub(head).to_string(),
            (Some(latest), None) => format!("{} (nothing ingested yet)", latest + 1),
            _ => "unknown".into(),
        };
        let mut line = format!(
            "{name}: head {head_text}, endpoint latest {latest}, lag {lag} blocks, {} ready",
            endpoint.ready
        );
        if let Some(error) = &endpoint.last_error {
            line.push_str(&format!("; endpoint error: {error}"));
        }
        if endpoint.conflicts > 0 {
            conflicts += endpoint.conflicts;
            line.push_str(&format!(
                "; CONFLICTS: {} committed block(s) shown with another hash by the endpoint: check it",
                endpoint.conflicts
            ));
        }
        println!("{line}");
    }
    if shown == 0 {
        println!("no Ethereum sources registered");
    }
    Ok(if conflicts > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
