//! Watching the validators from outside during a run: committed heights, gaps between commits, resident memory.

use std::time::{Duration, Instant};

use crate::localnet::LocalNet;

/// The lowest committed height among the validators (the chain has finalized at least this far everywhere).
pub(super) fn common_height(net: &LocalNet) -> u64 {
    (0..net.nodes.len())
        .map(|i| net.status(i).map(|s| s.height).unwrap_or(0))
        .min()
        .unwrap_or(0)
}

/// Samples every validator's resident set and notices the longest time any went without committing.
pub(super) struct Watch {
    pub(super) max_rss_kib: u64,
    last: Vec<(u64, Instant)>,
    pub(super) worst_gap: Duration,
}

impl Watch {
    pub(super) fn new(nodes: usize) -> Self {
        Watch {
            max_rss_kib: 0,
            last: vec![(0, Instant::now()); nodes],
            worst_gap: Duration::ZERO,
        }
    }

    fn sample(&mut self, net: &LocalNet, count_gaps: bool) {
        for (i, node) in net.nodes.iter().enumerate() {
            self.max_rss_kib = self.max_rss_kib.max(node.rss_kib().unwrap_or(0));
            // Measured before a new height resets it: the gap that just ended, or the one still open.
            if count_gaps {
                self.worst_gap = self.worst_gap.max(self.last[i].1.elapsed());
            }
            if let Some(s) = net.status(i)
                && s.height > self.last[i].0
            {
                self.last[i] = (s.height, Instant::now());
            }
        }
    }

    /// Sleeps `window`, sampling; returns the common height gained.
    pub(super) fn window(&mut self, net: &LocalNet, window: Duration, under_attack: bool) -> u64 {
        let start = common_height(net);
        if under_attack {
            // A gap counts from the start of the window.
            for last in &mut self.last {
                last.1 = Instant::now();
            }
        }
        let end = Instant::now() + window;
        while Instant::now() < end {
            std::thread::sleep(Duration::from_millis(250));
            self.sample(net, under_attack);
        }
        common_height(net).saturating_sub(start)
    }
}
