//! A peer that speaks raw bytes on the sync protocol, so frames the node's own codec would never write can be
//! sent: requests are written as given (length prefix included), responses read to the end.

use std::io;
use std::time::Duration;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::swarm::{Swarm, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, noise, request_response, tcp, yamux};

/// Requests are written as given (length prefix included); responses are read to the end.
#[derive(Clone, Default)]
pub struct RawCodec;

impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut v = Vec::new();
        io.take(1 << 20).read_to_end(&mut v).await?;
        Ok(v)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut v = Vec::new();
        io.take(64 << 20).read_to_end(&mut v).await?;
        Ok(v)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&req).await?;
        io.flush().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&res).await
    }
}

pub struct RawPeer {
    swarm: Swarm<request_response::Behaviour<RawCodec>>,
}

impl RawPeer {
    /// A fresh identity connected to `peer` at `addr`, speaking `/cvm/<chain>/sync/2`.
    pub async fn connect(chain_id: &str, peer: PeerId, addr: Multiaddr) -> RawPeer {
        let protocol = StreamProtocol::try_from_owned(format!("/cvm/{chain_id}/sync/2"))
            .expect("protocol name");
        let mut swarm = libp2p::SwarmBuilder::with_new_identity()
            .with_tokio()
            .with_tcp(
                tcp::Config::default(),
                noise::Config::new,
                yamux::Config::default,
            )
            .expect("transport")
            .with_behaviour(|_| {
                request_response::Behaviour::with_codec(
                    RawCodec,
                    [(protocol, request_response::ProtocolSupport::Outbound)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(15)),
                )
            })
            .expect("behaviour")
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        swarm.add_peer_address(peer, addr.clone());
        swarm.dial(addr).expect("dial");
        tokio::time::timeout(crate::support::WAIT, async {
            loop {
                if let SwarmEvent::ConnectionEstablished { peer_id, .. } =
                    swarm.select_next_some().await
                    && peer_id == peer
                {
                    return;
                }
            }
        })
        .await
        .expect("raw peer connects");
        RawPeer { swarm }
    }

    /// Sends `bytes` as one request; the answer's bytes, or why there was none.
    pub async fn request(&mut self, peer: PeerId, bytes: Vec<u8>) -> Result<Vec<u8>, String> {
        let id = self.swarm.behaviour_mut().send_request(&peer, bytes);
        tokio::time::timeout(crate::support::WAIT, async {
            loop {
                match self.swarm.select_next_some().await {
                    SwarmEvent::Behaviour(request_response::Event::Message {
                        message:
                            request_response::Message::Response {
                                request_id,
                                response,
                            },
                        ..
                    }) if request_id == id => return Ok(response),
                    SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                        request_id,
                        error,
                        ..
                    }) if request_id == id => return Err(error.to_string()),
                    _ => {}
                }
            }
        })
        .await
        .expect("the request ends one way or the other")
    }
}
