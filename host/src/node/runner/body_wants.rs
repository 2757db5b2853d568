//! What the loop keeps about bodies asked of peers (see `body_fetch`): which are wanted, since when, and who
//! announced their proposals.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::PeerId;

use crate::chain::PartSetHeader;

/// How long parts may take before the body is asked for (and between attempts).
pub(super) const FETCH_AFTER: Duration = Duration::from_secs(1);
/// Bodies wanted at once (the proposals of a few rounds, and a decision).
pub(super) const MAX_WANTED: usize = 16;
/// Proposal relayers remembered, by part-set root.
pub(super) const MAX_ANNOUNCERS: usize = 64;

pub(super) struct Wanted {
    pub(super) height: u64,
    pub(super) parts: PartSetHeader,
    pub(super) since: Instant,
    pub(super) in_flight: bool,
}

/// Bodies wanted and who announced their proposals.
#[derive(Default)]
pub(crate) struct BodyFetches {
    pub(super) wanted: HashMap<[u8; 32], Wanted>,
    pub(super) announcers: HashMap<[u8; 32], PeerId>,
}
