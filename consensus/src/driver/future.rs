//! Messages for heights not started yet: a peer one height ahead is normal (it decided
//! first), so its messages wait here instead of being lost; the bounds keep a Byzantine
//! peer from filling memory.

use std::collections::BTreeMap;

use crate::error::MessageError;
use crate::messages::SignedMessage;
use crate::types::Height;

use super::io::Config;

pub(super) struct FutureBuffer<V> {
    by_height: BTreeMap<Height, Vec<SignedMessage<V>>>,
    len: usize,
}

impl<V: Clone> FutureBuffer<V> {
    pub(super) fn new() -> Self {
        FutureBuffer {
            by_height: BTreeMap::new(),
            len: 0,
        }
    }

    /// Number of buffered messages.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Keeps `msg` if it is for a height after `current` (any height while none is
    /// started): `Ok(true)` when buffered, `Ok(false)` when it is for `current`.
    pub(super) fn buffer_if_future(
        &mut self,
        msg: &SignedMessage<V>,
        current: Option<Height>,
        config: &Config,
    ) -> Result<bool, MessageError> {
        let h = msg.height();
        if let Some(current) = current {
            if h < current {
                return Err(MessageError::PastHeight(h));
            }
            if h == current {
                return Ok(false);
            }
        }
        let base = current.unwrap_or(h);
        if h.0 > base.0 + config.max_future_heights {
            return Err(MessageError::TooFarAhead(h));
        }
        if self.len >= config.max_buffered_messages {
            return Err(MessageError::BufferFull);
        }
        self.by_height.entry(h).or_default().push(msg.clone());
        self.len += 1;
        Ok(true)
    }

    /// Drops what is now in the past and takes out what was buffered for `height`.
    pub(super) fn take(&mut self, height: Height) -> Vec<SignedMessage<V>> {
        self.by_height = self.by_height.split_off(&height);
        let buffered = self.by_height.remove(&height).unwrap_or_default();
        self.len = self.by_height.values().map(Vec::len).sum();
        buffered
    }
}
