//! Simulated time and network: a seeded event queue and the delivery model.
//!
//! Before GST a message is delayed up to `pre_gst_max_delay_ms`, may be "lost" (gossip
//! retransmits it, so it arrives after GST) and may cross a partition (held until GST).
//! After GST every message arrives within `post_gst_max_delay_ms`.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use parity_scale_codec::{Decode, Encode};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use cvm_consensus::{CommitCertificate, Height, Round, SignedMessage, Timeout};

use crate::value::SimValue;

/// What travels between simulated nodes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum NetMsg {
    /// A proposal or vote.
    Consensus(SignedMessage<SimValue>),
    /// Block sync: "send me the commit of this height".
    SyncRequest(Height),
    /// Block sync: the decided value of the requested height and its certificate.
    SyncResponse(SimValue, CommitCertificate),
}

/// Something that happens at a simulated time. `incarnation` ties a node's timers and host
/// answers to one life of it: a crash makes them stale.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Event {
    /// A message arrives at node `to`.
    Deliver {
        /// Receiver index.
        to: u32,
        /// Sender index.
        from: u32,
        /// The message.
        msg: NetMsg,
    },
    /// A timer of `node` expires.
    Timeout {
        /// Node index.
        node: u32,
        /// The timer.
        timeout: Timeout,
        /// The node's life that set it.
        incarnation: u32,
    },
    /// The host of `node` answers a value request.
    HostValue {
        /// Node index.
        node: u32,
        /// Requested height.
        height: Height,
        /// Requested round.
        round: Round,
        /// The node's life that asked.
        incarnation: u32,
    },
    /// The host of `node` answers a validation request.
    HostVerdict {
        /// Node index.
        node: u32,
        /// Height of the proposal.
        height: Height,
        /// The value checked (it carries its own validity).
        value: SimValue,
        /// The node's life that asked.
        incarnation: u32,
    },
    /// `node` stops; its WAL and block store survive.
    Crash {
        /// Node index.
        node: u32,
    },
    /// `node` comes back from its WAL.
    Restart {
        /// Node index.
        node: u32,
    },
}

struct Scheduled {
    time: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    // Min-heap on (time, seq): ties resolve in scheduling order, so runs are deterministic.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// Events by time, ties in scheduling order.
#[derive(Default)]
pub struct EventQueue {
    heap: BinaryHeap<Scheduled>,
    seq: u64,
}

impl EventQueue {
    /// Schedules `event` at `time`.
    pub fn push(&mut self, time: u64, event: Event) {
        self.seq += 1;
        self.heap.push(Scheduled {
            time,
            seq: self.seq,
            event,
        });
    }

    /// The earliest event.
    pub fn pop(&mut self) -> Option<(u64, Event)> {
        self.heap.pop().map(|s| (s.time, s.event))
    }

    /// Number of scheduled events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// Partial synchrony: arbitrary (bounded here) delays and losses before the global
/// stabilisation time, bounded delays after it.
#[derive(Clone, Debug)]
pub struct NetworkModel {
    /// Global stabilisation time.
    pub gst_ms: u64,
    /// Largest delay before GST.
    pub pre_gst_max_delay_ms: u64,
    /// Largest delay after GST.
    pub post_gst_max_delay_ms: u64,
    /// Probability that a message sent before GST only arrives after it.
    pub loss: f64,
    /// Nodes in the same group talk before GST; across groups messages wait for GST.
    pub partition: Option<Vec<u8>>,
}

impl NetworkModel {
    /// Arrival time of a message sent at `now` from `from` to `to`.
    pub fn arrival(&self, rng: &mut ChaCha8Rng, now: u64, from: usize, to: usize) -> u64 {
        let after_gst = |rng: &mut ChaCha8Rng| {
            self.gst_ms.max(now) + rng.gen_range(1..=self.post_gst_max_delay_ms)
        };
        if now >= self.gst_ms {
            return now + rng.gen_range(1..=self.post_gst_max_delay_ms);
        }
        if let Some(groups) = &self.partition
            && groups[from] != groups[to]
        {
            return after_gst(rng);
        }
        if rng.gen_bool(self.loss) {
            return after_gst(rng);
        }
        now + rng.gen_range(1..=self.pre_gst_max_delay_ms)
    }
}
