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

use crate::certificate::CommitCertificate;
use crate::messages::SignedMessage;
use crate::sim::value::SimValue;
use crate::timeouts::Timeout;
use crate::types::{Height, Round};

/// What travels between simulated nodes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum NetMsg {
    Consensus(SignedMessage<SimValue>),
    /// Block sync: "send me the commit of this height".
    SyncRequest(Height),
    SyncResponse(SimValue, CommitCertificate),
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Event {
    Deliver {
        to: u32,
        from: u32,
        msg: NetMsg,
    },
    Timeout {
        node: u32,
        timeout: Timeout,
        incarnation: u32,
    },
    HostValue {
        node: u32,
        height: Height,
        round: Round,
        incarnation: u32,
    },
    HostVerdict {
        node: u32,
        height: Height,
        value: SimValue,
        incarnation: u32,
    },
    Crash {
        node: u32,
    },
    Restart {
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

#[derive(Default)]
pub struct EventQueue {
    heap: BinaryHeap<Scheduled>,
    seq: u64,
}

impl EventQueue {
    pub fn push(&mut self, time: u64, event: Event) {
        self.seq += 1;
        self.heap.push(Scheduled {
            time,
            seq: self.seq,
            event,
        });
    }

    pub fn pop(&mut self) -> Option<(u64, Event)> {
        self.heap.pop().map(|s| (s.time, s.event))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[derive(Clone, Debug)]
pub struct NetworkModel {
    pub gst_ms: u64,
    pub pre_gst_max_delay_ms: u64,
    pub post_gst_max_delay_ms: u64,
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
