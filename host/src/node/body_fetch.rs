//! Fetching a proposed block's body from peers by request, for a node that holds the signed proposal but missed
//! its parts. The answer is trusted only once it splits into the part set the signed header names.

use std::time::Duration;

use parity_scale_codec::Encode;
use tracing::debug;

use crate::chain::{BlockBody, PartSet, PartSetHeader};
use crate::network::{NetworkHandle, PeerId, SyncRequest, SyncResponse};

/// How long one peer may take to answer before the next is asked.
pub const BODY_REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// What a body fetch needs to check an answer.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimits {
    /// The chain's part size.
    pub part_size: usize,
    /// The largest body a block may have.
    pub max_block_bytes: u64,
}

/// Asks `peers` in order for the body of the block at `height` whose parts are `parts`, until one answers with a
/// body that splits into exactly that part set. `None` when none did.
pub async fn fetch_body(
    net: &NetworkHandle,
    peers: &[PeerId],
    height: u64,
    parts: PartSetHeader,
    limits: BodyLimits,
) -> Option<BlockBody> {
    for &peer in peers {
        let request = SyncRequest::Body { height, parts };
        let answer = tokio::time::timeout(BODY_REQUEST_TIMEOUT, net.request(peer, request)).await;
        let body = match answer {
            Ok(Ok(SyncResponse::Body(body))) => body,
            other => {
                debug!(%peer, height, ?other, "body request failed; asking the next peer");
                continue;
            }
        };
        let checked =
            tokio::task::spawn_blocking(move || check_body(&body, parts, limits).map(|()| body))
                .await;
        match checked {
            Ok(Ok(body)) => return Some(body),
            Ok(Err(reason)) => debug!(%peer, height, %reason, "body from peer refused"),
            Err(e) => debug!(%peer, error = %e, "body check did not finish"),
        }
    }
    None
}

/// Whether `body` is within the block size limit and splits into the part set `parts`.
pub fn check_body(
    body: &BlockBody,
    parts: PartSetHeader,
    limits: BodyLimits,
) -> Result<(), String> {
    let bytes = body.encode();
    if bytes.len() as u64 > limits.max_block_bytes {
        return Err(format!(
            "body of {} bytes exceeds max_block_bytes {}",
            bytes.len(),
            limits.max_block_bytes
        ));
    }
    if PartSet::header_of(&bytes, limits.part_size) != parts {
        return Err("body does not match the part-set root of the signed proposal".into());
    }
    Ok(())
}

#[cfg(test)]
#[path = "body_fetch_tests.rs"]
mod tests;
