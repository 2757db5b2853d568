//! Section `network`: a real 4-validator network on loopback (tests/src/localnet.rs). Written by the lead; this
//! stub keeps the signature the bench's `main` calls.

use crate::{Bench, Opts};

pub fn run(_bench: &mut Bench, _opts: &Opts) {}
