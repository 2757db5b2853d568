//! The sync protocol's wire format: one length-prefixed SCALE frame per request and per response.
//!
//! A frame is a 4-byte big-endian length followed by that many bytes of SCALE. Both directions have a limit
//! checked before anything is allocated; an oversized, truncated or undecodable frame is an I/O error, which makes
//! libp2p drop that stream (the requester sees a failed request, the node keeps running).

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use libp2p::request_response;
use parity_scale_codec::{Decode, DecodeLimit, Encode};

use super::protocol::{SyncRequest, SyncResponse};

/// Requests are tiny; anything larger is garbage.
pub const MAX_REQUEST_BYTES: usize = 1024;

/// SCALE nesting depth accepted when decoding a frame (blocks nest a few levels; garbage may claim thousands).
const MAX_DECODE_DEPTH: u32 = 64;

/// The `/cvm/<chain id>/sync/2` protocol name, so nodes of different chains (or of the version whose synced
/// blocks carried their source data) never talk sync.
pub fn protocol_name(chain_id: &str) -> Result<StreamProtocol, String> {
    StreamProtocol::try_from_owned(format!("/cvm/{chain_id}/sync/2")).map_err(|e| e.to_string())
}

/// Request-response codec for [`SyncRequest`] / [`SyncResponse`].
#[derive(Clone, Debug)]
pub struct SyncCodec {
    max_request_bytes: usize,
    max_response_bytes: usize,
}

impl SyncCodec {
    pub fn new(max_response_bytes: usize) -> Self {
        Self {
            max_request_bytes: MAX_REQUEST_BYTES,
            max_response_bytes,
        }
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Reads one frame of at most `limit` bytes and decodes all of it as `M`.
pub async fn read_frame<M: Decode, T: AsyncRead + Unpin + Send>(
    io: &mut T,
    limit: usize,
) -> io::Result<M> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > limit {
        return Err(invalid(format!(
            "sync frame of {len} bytes exceeds the limit of {limit} bytes"
        )));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    M::decode_all_with_depth_limit(MAX_DECODE_DEPTH, &mut &buf[..])
        .map_err(|e| invalid(format!("undecodable sync frame of {len} bytes: {e}")))
}

/// Encodes `msg` and writes it as one frame, refusing to send more than `limit` bytes.
pub async fn write_frame<M: Encode, T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    msg: &M,
    limit: usize,
) -> io::Result<()> {
    let bytes = msg.encode();
    if bytes.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "sync frame of {} bytes exceeds the limit of {limit} bytes",
                bytes.len()
            ),
        ));
    }
    io.write_all(&(bytes.len() as u32).to_be_bytes()).await?;
    io.write_all(&bytes).await?;
    io.flush().await
}

impl request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = SyncRequest;
    type Response = SyncResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_request_bytes).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncResponse>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_response_bytes).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: SyncRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &req, self.max_request_bytes).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: SyncResponse,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res, self.max_response_bytes).await
    }
}
