//! What the adversary sent, shared with the observer so it keeps exactly the payloads of the adversary's that came
//! back through a validator (the adversary's own payloads are not kept: a long run sends gigabytes of parts).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cvm_host::network::Topic;

use super::attacks::Attack;

/// Gossip messages published, by attack, and the attack and topic of each payload id.
#[derive(Default)]
pub struct SentLog {
    pub counts: HashMap<Attack, u64>,
    pub kinds: HashMap<u64, (Attack, Topic)>,
}

/// A [`SentLog`] the attack loop writes and the observer reads.
pub type SharedSentLog = Arc<Mutex<SentLog>>;
