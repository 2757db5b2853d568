//! The simulated host's side of the driver contract: expired timers, the values it builds
//! for proposals and its validity verdicts, each delivered as a driver input.

use cvm_consensus::{Input, Value};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::network::Event;
use crate::value::SimValue;

/// The node and input a timer or host-answer `event` stands for; `None` for other events
/// and for answers meant for an earlier life of the node (its `incarnation` moved on).
pub(crate) fn input_for(
    event: Event,
    incarnation: impl Fn(usize) -> u32,
    rng: &mut ChaCha8Rng,
) -> Option<(usize, Input<SimValue>)> {
    let current = |node: u32, life: u32| incarnation(node as usize) == life;
    let (node, input) = match event {
        Event::Timeout {
            node,
            timeout,
            incarnation,
        } if current(node, incarnation) => (node, Input::TimeoutElapsed(timeout)),
        Event::HostValue {
            node,
            height,
            round,
            incarnation,
        } if current(node, incarnation) => {
            let value = SimValue {
                height: height.0,
                round: round.0,
                proposer: node,
                nonce: rng.r#gen(),
                valid: true,
            };
            let input = Input::ProposeValue {
                height,
                round,
                value,
            };
            (node, input)
        }
        Event::HostVerdict {
            node,
            height,
            value,
            incarnation,
        } if current(node, incarnation) => {
            let input = Input::ValidityVerdict {
                height,
                value_id: value.id(),
                valid: value.valid,
            };
            (node, input)
        }
        _ => return None,
    };
    Some((node as usize, input))
}
