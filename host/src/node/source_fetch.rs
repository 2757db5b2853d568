//! Fetching the source data that synced blocks ingest, from peers, by request ([`SyncRequest::SourceBlocks`]):
//! content-addressed by the hashes the blocks' commitments name, at most
//! [`MAX_SOURCE_BLOCKS_PER_REQUEST`] at a time, each answer within the message limit. An answer is trusted
//! only once every block in it verifies as the block its commitment names; a peer that answers with anything
//! else is reported, and the rest is asked of the next peer.

use std::collections::HashSet;
use std::time::Duration;

use tracing::{debug, warn};

use crate::chain::SourceCommitment;
use crate::network::{
    MAX_SOURCE_BLOCKS_PER_REQUEST, NetworkError, NetworkHandle, PeerId, SyncRequest, SyncResponse,
};
use crate::sources::PulledBlock;
use crate::sources::ethereum::EthBlockData;

/// How long one peer may take to answer one request before the next peer is asked.
pub const SOURCE_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What a fetch got.
#[derive(Debug, Default)]
pub struct SourceFetch {
    /// The blocks that verified against their commitments, each once.
    pub blocks: Vec<PulledBlock>,
    /// Peers whose answer was refused (oversize, undecodable, or data that is not the committed block), with
    /// why: no honest peer sends that.
    pub bad_peers: Vec<(PeerId, String)>,
    /// The commitments no peer had (or that only bad peers answered).
    pub missing: Vec<SourceCommitment>,
}

/// Asks `peers` in order for the data behind `wanted` until every commitment has a verified block or no peer is
/// left. A peer is asked again while it makes progress (a long list, or an answer cut to the message limit);
/// one that answers with nothing new, fails or times out is passed over, and one whose answer is bad is
/// reported in [`SourceFetch::bad_peers`] and not asked again. So the requests are at most the commitments
/// plus the peers.
pub async fn fetch_sources(
    net: &NetworkHandle,
    peers: &[PeerId],
    wanted: Vec<SourceCommitment>,
) -> SourceFetch {
    let mut seen = HashSet::new();
    let mut remaining: Vec<SourceCommitment> =
        wanted.into_iter().filter(|c| seen.insert(c.hash)).collect();
    let mut fetch = SourceFetch::default();
    let mut peers = peers.iter().copied();
    let mut current = peers.next();
    while let Some(peer) = current {
        if remaining.is_empty() {
            break;
        }
        let asked: Vec<SourceCommitment> = remaining
            .iter()
            .take(MAX_SOURCE_BLOCKS_PER_REQUEST)
            .cloned()
            .collect();
        match ask(net, peer, asked).await {
            Ok(blocks) if !blocks.is_empty() => {
                let got: HashSet<[u8; 32]> = blocks.iter().map(|b| b.verified.hash).collect();
                remaining.retain(|c| !got.contains(&c.hash));
                fetch.blocks.extend(blocks);
                continue;
            }
            Ok(_) => debug!(%peer, "peer holds none of the source blocks asked; asking the next"),
            Err(Answer::Failed(reason)) => {
                debug!(%peer, %reason, "source blocks request failed; asking the next peer")
            }
            Err(Answer::Bad(reason)) => {
                warn!(%peer, %reason, "source blocks from peer refused; asking the next peer");
                fetch.bad_peers.push((peer, reason));
            }
        }
        current = peers.next();
    }
    fetch.missing = remaining;
    fetch
}

/// Why one request brought nothing.
enum Answer {
    /// The peer is busy, gone, slow or does not serve this: no fault of its own.
    Failed(String),
    /// The answer is one no honest peer sends.
    Bad(String),
}

/// Asks `peer` for `asked`; the blocks of its answer, each verified against its commitment on a blocking thread.
async fn ask(
    net: &NetworkHandle,
    peer: PeerId,
    asked: Vec<SourceCommitment>,
) -> Result<Vec<PulledBlock>, Answer> {
    let request = SyncRequest::SourceBlocks {
        hashes: asked.iter().map(|c| c.hash).collect(),
    };
    let reply = match tokio::time::timeout(SOURCE_REQUEST_TIMEOUT, net.request(peer, request)).await
    {
        Ok(Ok(SyncResponse::SourceBlocks(reply))) => reply,
        Ok(Ok(SyncResponse::Error(text))) => return Err(Answer::Failed(text)),
        Ok(Ok(other)) => {
            return Err(Answer::Bad(format!(
                "answered a source blocks request with {}",
                kind(&other)
            )));
        }
        Ok(Err(e @ NetworkError::BadResponse { .. })) => return Err(Answer::Bad(e.to_string())),
        Ok(Err(e)) => return Err(Answer::Failed(e.to_string())),
        Err(_) => {
            return Err(Answer::Failed(format!(
                "no answer within {} s",
                SOURCE_REQUEST_TIMEOUT.as_secs()
            )));
        }
    };
    if reply.0.len() > asked.len() {
        return Err(Answer::Bad(format!(
            "{} source blocks answered for {} asked",
            reply.0.len(),
            asked.len()
        )));
    }
    let checked = tokio::task::spawn_blocking(move || check_answer(&asked, reply.0)).await;
    match checked {
        Ok(result) => result.map_err(Answer::Bad),
        Err(e) => Err(Answer::Failed(format!("the check did not finish: {e}"))),
    }
}

/// The answered blocks verified against the commitments asked for, in order (`None`: not held by the peer).
/// Any block that is not the committed one refuses the whole answer.
pub fn check_answer(
    asked: &[SourceCommitment],
    answered: Vec<Option<EthBlockData>>,
) -> Result<Vec<PulledBlock>, String> {
    let mut blocks = Vec::new();
    for (commitment, data) in asked.iter().zip(answered) {
        if let Some(data) = data {
            blocks.push(PulledBlock::for_commitment(commitment, data)?);
        }
    }
    Ok(blocks)
}

fn kind(response: &SyncResponse) -> &'static str {
    match response {
        SyncResponse::Status { .. } => "a status",
        SyncResponse::Blocks(_) => "blocks",
        SyncResponse::Error(_) => "an error",
        SyncResponse::Body(_) => "a body",
        SyncResponse::SourceBlocks(_) => "source blocks",
    }
}

#[cfg(test)]
#[path = "source_fetch_tests.rs"]
mod tests;
