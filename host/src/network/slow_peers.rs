//! When to give up on a connection that has stopped taking gossip.
//!
//! gossipsub reports a peer as slow at each heartbeat in which messages to it could not be queued (its send
//! queue was full) or expired in the queue. A peer that stays slow for seconds is unlikely to be merely busy:
//! once it drops a stream (an RPC over its limits), gossipsub 0.50 sends it nothing more over that connection
//! and every message to it is lost until the connection is replaced. A deaf connection can stall consensus for
//! tens of seconds, so it is replaced whatever made the peer drop the stream.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use libp2p::PeerId;

/// How long a peer must stay slow, heartbeat after heartbeat, before its connections are replaced.
pub const SLOW_FOR: Duration = Duration::from_secs(5);
/// Reports further apart than this start a new slow spell. gossipsub reports at most once a heartbeat (250 ms),
/// and only for heartbeats in which something sent to the peer failed, so a node that publishes in bursts (a
/// block interval, a client's batch) sees gaps between reports of a peer that never recovered.
pub const REPORT_GAP: Duration = Duration::from_secs(3);

#[derive(Default)]
pub struct SlowPeers {
    /// Per slow peer: when its current spell began and when it was last reported.
    spells: HashMap<PeerId, (Instant, Instant)>,
}

impl SlowPeers {
    /// Records a slow report; true when the peer has now been slow for [`SLOW_FOR`] without a break, in which
    /// case its spell is forgotten (the caller reconnects it).
    pub fn reported(&mut self, peer: PeerId, now: Instant) -> bool {
        let spell = self.spells.entry(peer).or_insert((now, now));
        if now.duration_since(spell.1) > REPORT_GAP {
            *spell = (now, now);
        }
        spell.1 = now;
        if now.duration_since(spell.0) >= SLOW_FOR {
            self.spells.remove(&peer);
            return true;
        }
        false
    }

    /// The peer's last connection closed: a new one starts with a clean record.
    pub fn disconnected(&mut self, peer: &PeerId) {
        self.spells.remove(peer);
    }

    /// Forgets spells that ended (no report for [`REPORT_GAP`]), so the map holds only currently slow peers.
    pub fn expire(&mut self, now: Instant) {
        self.spells
            .retain(|_, (_, last)| now.duration_since(*last) <= REPORT_GAP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEARTBEAT: Duration = Duration::from_millis(250);

    fn fresh() -> (PeerId, SlowPeers, Instant) {
        (PeerId::random(), SlowPeers::default(), Instant::now())
    }

    #[test]
    fn a_peer_slow_at_every_heartbeat_for_the_whole_window_is_reconnected_once() {
        let (peer, mut slow, start) = fresh();
        let mut reconnects = Vec::new();
        for beat in 0..=41u32 {
            let now = start + HEARTBEAT * beat;
            if slow.reported(peer, now) {
                reconnects.push(now.duration_since(start));
            }
        }
        // 5 s into the spell; the next report opens a fresh spell, which reaches 5 s one heartbeat after 10 s.
        assert_eq!(reconnects, vec![SLOW_FOR, SLOW_FOR * 2 + HEARTBEAT]);
    }

    #[test]
    fn a_peer_reported_once_a_second_by_a_bursty_publisher_is_reconnected_after_the_window() {
        let (peer, mut slow, start) = fresh();
        for second in 0..5u32 {
            assert!(!slow.reported(peer, start + Duration::from_secs(second.into())));
        }
        assert!(slow.reported(peer, start + SLOW_FOR));
    }

    #[test]
    fn a_break_in_the_reports_starts_the_window_again() {
        let (peer, mut slow, start) = fresh();
        for beat in 0..16u32 {
            assert!(!slow.reported(peer, start + HEARTBEAT * beat));
        }
        // 4 s slow, then longer than the gap allowed without a report: the next report opens a new spell.
        let resumed = start + HEARTBEAT * 15 + REPORT_GAP + HEARTBEAT;
        for beat in 0..20u32 {
            assert!(
                !slow.reported(peer, resumed + HEARTBEAT * beat),
                "reconnected {beat} heartbeats into a new spell"
            );
        }
        assert!(slow.reported(peer, resumed + HEARTBEAT * 20));
    }

    #[test]
    fn peers_are_judged_apart_and_a_disconnect_or_expiry_clears_the_record() {
        let (a, b) = (PeerId::random(), PeerId::random());
        let mut slow = SlowPeers::default();
        let start = Instant::now();
        for beat in 0..19u32 {
            let now = start + HEARTBEAT * beat;
            assert!(!slow.reported(a, now));
            if beat >= 10 {
                assert!(!slow.reported(b, now));
            }
        }
        slow.disconnected(&a);
        assert!(!slow.reported(a, start + HEARTBEAT * 20), "a starts over");
        assert!(!slow.reported(b, start + HEARTBEAT * 20));

        slow.expire(start + HEARTBEAT * 20 + REPORT_GAP + HEARTBEAT);
        assert!(slow.spells.is_empty());
    }
}
