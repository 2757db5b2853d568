//! [`Driver::replay`]: rebuilding the state from the WAL after a restart.

use crate::error::DriverError;
use crate::messages::SignedMessage;
use crate::types::Value;
use crate::wal::WalEntry;

use super::Driver;
use super::io::{Effect, Input};
use super::slots::{same_content, slot_of};

impl<V: Value> Driver<V> {
    /// Rebuilds the state from WAL entries after a restart. Returns the effects the replay
    /// produced except the `PersistToWal` of records the WAL holds already: rebroadcasts,
    /// timers, pending host requests and decisions, all safe to execute again. A message
    /// the replay signs without a `Signed` record in `entries` (its record was in the lost,
    /// unsynced tail, so it never left) comes with its `PersistToWal` before its broadcast.
    pub fn replay(&mut self, entries: Vec<WalEntry<V>>) -> Result<Vec<Effect<V>>, DriverError> {
        self.replaying = true;
        self.durable_signed = entries
            .iter()
            .filter_map(|e| match e {
                WalEntry::Signed(msg) => Some(slot_of(msg)),
                _ => None,
            })
            .collect();
        let mut out = Vec::new();
        let result = (|| {
            for entry in entries {
                match Record::from(entry) {
                    Record::Input(input) => out.extend(self.handle(input)?),
                    Record::Signed(msg) => self.restore_signed(msg)?,
                }
            }
            Ok(())
        })();
        self.replaying = false;
        self.durable_signed.clear();
        result?;
        // Only records of messages signed anew are emitted while replaying (see `persist`).
        debug_assert!(out.iter().all(|e| !matches!(
            e,
            Effect::PersistToWal(entry) if !matches!(entry, WalEntry::Signed(_))
        )));
        Ok(out)
    }

    /// A `Signed` WAL record: we signed this before the crash. The replay must not have
    /// signed anything different for that slot.
    fn restore_signed(&mut self, msg: SignedMessage<V>) -> Result<(), DriverError> {
        let key = slot_of(&msg);
        match self.signed.get(&key) {
            Some(existing) if !same_content(existing, &msg) => Err(DriverError::Replay(format!(
                "WAL holds a signed message for {key:?} that differs from the replayed one"
            ))),
            Some(_) => Ok(()),
            None => {
                if key.0 == self.height {
                    self.signed.insert(key, msg);
                }
                Ok(())
            }
        }
    }
}

/// What a WAL record stands for: an input to feed again, or a message we signed.
enum Record<V> {
    Input(Input<V>),
    Signed(SignedMessage<V>),
}

impl<V> From<WalEntry<V>> for Record<V> {
    fn from(entry: WalEntry<V>) -> Self {
        Record::Input(match entry {
            WalEntry::StartHeight { height, validators } => {
                Input::StartHeight { height, validators }
            }
            WalEntry::Proposal(p) => Input::Proposal(p),
            WalEntry::Vote(v) => Input::Vote(v),
            WalEntry::Timeout(t) => Input::TimeoutElapsed(t),
            WalEntry::ProposeValue {
                height,
                round,
                value,
            } => Input::ProposeValue {
                height,
                round,
                value,
            },
            WalEntry::ValidityVerdict {
                height,
                value_id,
                valid,
            } => Input::ValidityVerdict {
                height,
                value_id,
                valid,
            },
            WalEntry::Commit { value, certificate } => Input::Commit { value, certificate },
            WalEntry::BeginRoundZero { height } => Input::BeginRoundZero { height },
            WalEntry::Signed(msg) => return Record::Signed(msg),
        })
    }
}
