//! Carrying out the node's [`Command`]s on the swarm.

use libp2p::gossipsub;

use super::SwarmTask;
use crate::network::error::NetworkError;
use crate::network::event::Verdict;
use crate::network::handle::Command;
use crate::network::topic::Topic;

impl SwarmTask {
    pub(super) fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { topic, data, done } => {
                let _ = done.send(self.publish(topic, data));
            }
            Command::Report {
                id,
                source,
                verdict,
            } => {
                let acceptance = match verdict {
                    Verdict::Accept => gossipsub::MessageAcceptance::Accept,
                    Verdict::Reject => gossipsub::MessageAcceptance::Reject,
                    Verdict::Ignore => gossipsub::MessageAcceptance::Ignore,
                };
                self.validate(&gossipsub::MessageId(id.0), &source, acceptance);
            }
            Command::Request {
                peer,
                request,
                done,
            } => {
                if !self.swarm.is_connected(&peer) {
                    let reason =
                        "not connected; wait for PeerConnected or pick a connected peer".into();
                    let _ = done.send(Err(NetworkError::Request { peer, reason }));
                    return;
                }
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                self.pending_requests.insert(id, (peer, done));
            }
            Command::Respond {
                reply,
                response,
                done,
            } => {
                let sent = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(reply.0, response);
                let _ = done.send(sent.map_err(|_| NetworkError::ResponseNotSent));
            }
            Command::Peers(done) => {
                let _ = done.send(self.swarm.connected_peers().copied().collect());
            }
            Command::ListenAddrs(done) => {
                let _ = done.send(self.listen_addrs.clone());
            }
            Command::PeerScore(peer, done) => {
                let _ = done.send(self.swarm.behaviour().gossipsub.peer_score(&peer));
            }
            // Handled by the loop in `run`.
            Command::SetBlockedPeers(peers) => self.set_blocked_peers(peers),
            Command::ReconnectAll => self.reconnect_all(),
            Command::Shutdown(_) => {}
        }
    }

    fn publish(&mut self, topic: Topic, data: Vec<u8>) -> Result<(), NetworkError> {
        use gossipsub::PublishError;
        let size = data.len();
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(topic.ident(&self.chain_id), data)
        {
            Ok(_) => Ok(()),
            Err(PublishError::NoPeersSubscribedToTopic) => {
                tracing::debug!(?topic, "published with no subscribed peers yet");
                Ok(())
            }
            Err(PublishError::Duplicate) => {
                tracing::debug!(?topic, "same data published recently; not sent again");
                Ok(())
            }
            Err(PublishError::MessageTooLarge) => Err(NetworkError::MessageTooLarge {
                size,
                max: self.max_message_bytes,
            }),
            Err(e) => Err(NetworkError::Publish(e.to_string())),
        }
    }
}
