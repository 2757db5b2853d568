//! `cvm start`: run a node until Ctrl-C or SIGTERM.

use std::path::PathBuf;

use clap::Args;
use tracing::info;

use crate::node::{self, MakeHooks, NodeBuilder, NodeSetup};

#[derive(Debug, Args)]
pub struct StartArgs {
    /// The node's home directory (made by `cvm init` or `cvm testnet`).
    #[arg(long)]
    pub home: PathBuf,
}

/// Runs the node of `args.home` with the hooks `make_hooks` builds for it; an error when it halts.
pub fn run(args: &StartArgs, make_hooks: &MakeHooks) -> anyhow::Result<()> {
    let setup = NodeSetup::load(&args.home)?;
    let hooks = make_hooks(&setup)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let running = NodeBuilder::new(setup).hooks(hooks).start().await?;
        let status = running.status.clone();
        tokio::spawn(show_sync_progress(status.clone()));
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => { info!("interrupted; stopping"); running.stop().await; }
            _ = term.recv() => { info!("terminated; stopping"); running.stop().await; }
            _ = running_wait(&status) => {}
        }
        if let Some(reason) = status.read().halted.clone() {
            anyhow::bail!("node halted: {reason}");
        }
        Ok(())
    })
}

async fn running_wait(status: &std::sync::Arc<parking_lot::RwLock<node::NodeStatus>>) {
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        if status.read().halted.is_some() {
            return;
        }
    }
}

/// A progress bar while the node catches up (only on a terminal).
async fn show_sync_progress(status: std::sync::Arc<parking_lot::RwLock<node::NodeStatus>>) {
    let bar = crate::progress::bar("sync");
    if bar.is_hidden() {
        return;
    }
    let mut shown = false;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let (syncing, height, target) = {
            let s = status.read();
            (s.syncing, s.height, s.best_peer_height)
        };
        if syncing {
            shown = true;
            bar.set_length(target);
            bar.set_position(height);
        } else if shown {
            bar.finish_and_clear();
            shown = false;
        }
    }
}
