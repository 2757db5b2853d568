//! [`spawn`]: builds the swarm, starts listening and hands the swarm to its task.

use std::time::Duration;

use futures::StreamExt;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux};
use tokio::sync::mpsc;

use super::behaviour::Behaviour;
use super::config::NetworkConfig;
use super::error::NetworkError;
use super::event::NetworkEvents;
use super::handle::NetworkHandle;
use super::task::{EventSenders, SwarmTask};

/// Capacity of the command channel and of each event channel.
const CHANNEL_CAPACITY: usize = 8192;
/// Connections with nothing to do are closed after this long (gossipsub keeps subscribed peers busy).
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(300);
/// How long [`spawn`] waits for the listener to report its address.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds the swarm, starts listening, and runs it in a tokio task that dials the static peers.
///
/// An error with its sources, skipping empty messages (libp2p's transport errors often wrap the `io::Error`
/// that says what happened, e.g. "Address already in use", under an empty or generic top level).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.contains(&text) {
            parts.push(text);
        }
        next = e.source();
    }
    if parts.is_empty() {
        format!("{error:?}")
    } else {
        parts.join(": ")
    }
}

/// Returns once the listener is up, so [`NetworkHandle::listen_addrs`] already has the real address (useful with
/// port 0). The task runs until [`NetworkHandle::shutdown`] or until every handle is dropped.
pub async fn spawn(config: NetworkConfig) -> Result<(NetworkHandle, NetworkEvents), NetworkError> {
    spawn_with(config, CHANNEL_CAPACITY).await
}

/// [`spawn`] with event channels of `events_capacity` each.
pub(crate) async fn spawn_with(
    config: NetworkConfig,
    events_capacity: usize,
) -> Result<(NetworkHandle, NetworkEvents), NetworkError> {
    let static_peers = config
        .peers
        .iter()
        .map(|addr| match addr.iter().last() {
            Some(Protocol::P2p(peer)) => Ok((peer, addr.clone())),
            _ => Err(NetworkError::PeerWithoutId(addr.clone())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if config.max_message_bytes == 0 {
        return Err(NetworkError::Config(
            "max_message_bytes must be above 0".into(),
        ));
    }

    let behaviour = Behaviour::new(&config.keypair, &config)?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NetworkError::Config(format!("noise: {e}")))?
        .with_behaviour(|_| behaviour)
        .map_err(|e| NetworkError::Config(format!("behaviour: {e}")))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build();

    let listen_error = |reason: String| NetworkError::Listen {
        addr: config.listen.clone(),
        reason,
    };
    swarm
        .listen_on(config.listen.clone())
        .map_err(|e| listen_error(error_chain(&e)))?;
    let first_addr = tokio::time::timeout(LISTEN_TIMEOUT, async {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => return Ok(address),
                SwarmEvent::ListenerError { error, .. } => return Err(error_chain(&error)),
                SwarmEvent::ListenerClosed { reason, .. } => {
                    return Err(reason
                        .err()
                        .map_or("listener closed".into(), |e| error_chain(&e)));
                }
                _ => {}
            }
        }
    })
    .await
    .map_err(|_| listen_error("no listen address reported within 10 s".into()))?
    .map_err(listen_error)?;

    let local_peer_id = *swarm.local_peer_id();
    tracing::info!(peer_id = %local_peer_id, listen = %first_addr, chain_id = %config.chain_id, "p2p listening");
    let (commands_tx, commands_rx) = mpsc::channel(CHANNEL_CAPACITY);
    let (consensus_tx, consensus) = mpsc::channel(events_capacity);
    let (transactions_tx, transactions) = mpsc::channel(events_capacity);
    let task = SwarmTask::new(
        swarm,
        &config,
        static_peers,
        vec![first_addr],
        commands_rx,
        EventSenders {
            consensus: consensus_tx,
            transactions: transactions_tx,
        },
    );
    tokio::spawn(task.run());
    let handle = NetworkHandle::new(local_peer_id, config.max_message_bytes, commands_tx);
    Ok((
        handle,
        NetworkEvents {
            consensus,
            transactions,
        },
    ))
}
