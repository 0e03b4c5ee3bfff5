//! The store's rollout id index: id to position in the store's list of
//! rollouts, in four bytes a slot.
//!
//! A `HashMap<RolloutId, usize>` keeps a copy of each id (16 bytes), the
//! position (8) and a control byte, in a table up to twice the rollouts: 52
//! bytes a rollout of a million-rollout run (BENCHMARKS.md, issue 16). The
//! ids are in the store already, so this table keeps positions only and
//! compares a probed position's id in the list it indexes: open addressing,
//! linear probing, at most half full, never a removal (a queue never drops
//! a rollout). A million rollouts cost 8 MB.
//!
//! The hash is keyed ([`KeyedHash`], with a per-process random key),
//! because ids come from scenario files, which may be hostile: without a
//! key, ids can be made to collide and every lookup to probe them all. The
//! table is only looked up, never iterated, so its key changes nothing
//! observable.

use std::hash::BuildHasher;

use super::model::{RolloutId, RolloutRecord};

/// The keyed hash of the store's id indexes: aHash with the core's
/// `fast-hash` feature (the simulator's choice), std's SipHash without it.
#[cfg(feature = "fast-hash")]
pub(super) type KeyedHash = ahash::RandomState;
#[cfg(not(feature = "fast-hash"))]
pub(super) type KeyedHash = std::hash::RandomState;

/// A slot without a position.
const EMPTY: u32 = u32::MAX;

/// The fewest slots a table that has any.
const MIN_SLOTS: usize = 16;

/// Rollout id to position in a `[RolloutRecord]`, the list it was built
/// with (and is given again at every call).
#[derive(Clone, Default)]
pub(super) struct IdIndex {
    /// Positions, [`EMPTY`] where none: a power of two long (or empty), at
    /// most half full, so that a probe ends at an empty slot soon.
    slots: Vec<u32>,
    len: usize,
    hasher: KeyedHash,
}

impl std::fmt::Debug for IdIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdIndex")
            .field("len", &self.len)
            .field("slots", &self.slots.len())
            .finish()
    }
}

impl IdIndex {
    fn home(&self, id: &str) -> usize {
        // Hashed as text, so that a `&str` finds what a `RolloutId` put.
        BuildHasher::hash_one(&self.hasher, id) as usize & (self.slots.len() - 1)
    }

    /// The position of `id` in `rollouts`, if this index has it there.
    pub(super) fn get(&self, id: &RolloutId, rollouts: &[RolloutRecord]) -> Option<usize> {
        // An id cloned from the store's own is the same allocation: equal
        // without reading the text (`RolloutId`'s `==`).
        self.find(id.as_str(), |r| r.id == *id, rollouts)
    }

    /// [`get`](Self::get) by the id's text.
    pub(super) fn get_str(&self, id: &str, rollouts: &[RolloutRecord]) -> Option<usize> {
        self.find(id, |r| r.id.as_str() == id, rollouts)
    }

    fn find(
        &self,
        id: &str,
        is: impl Fn(&RolloutRecord) -> bool,
        rollouts: &[RolloutRecord],
    ) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut slot = self.home(id);
        loop {
            let position = self.slots[slot];
            if position == EMPTY {
                return None;
            }
            // A position past the end or holding another id (a snapshot
            // whose list was edited) is only passed over.
            if rollouts.get(position as usize).is_some_and(&is) {
                return Some(position as usize);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Indexes `rollouts[position]`, whose id must not be indexed yet.
    ///
    /// # Panics
    ///
    /// At `u32::MAX` rollouts: positions are kept in four bytes.
    pub(super) fn insert(&mut self, position: usize, rollouts: &[RolloutRecord]) {
        let position = u32::try_from(position)
            .ok()
            .filter(|&p| p != EMPTY)
            .expect("a queue holds fewer than u32::MAX rollouts");
        self.grow_for(self.len + 1, rollouts);
        self.put(position, rollouts);
        self.len += 1;
    }

    /// Makes room for `additional` more ids without growing again.
    pub(super) fn reserve(&mut self, additional: usize, rollouts: &[RolloutRecord]) {
        self.grow_for(self.len.saturating_add(additional), rollouts);
    }

    /// How many ids fit before the table grows.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.slots.len() / 2
    }

    fn put(&mut self, position: u32, rollouts: &[RolloutRecord]) {
        let mask = self.slots.len() - 1;
        let mut slot = self.home(rollouts[position as usize].id.as_str());
        while self.slots[slot] != EMPTY {
            slot = (slot + 1) & mask;
        }
        self.slots[slot] = position;
    }

    /// At least twice `len` slots, every indexed position put again when
    /// the table grows.
    fn grow_for(&mut self, len: usize, rollouts: &[RolloutRecord]) {
        let want = len.saturating_mul(2).max(MIN_SLOTS).next_power_of_two();
        if want <= self.slots.len() {
            return;
        }
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; want]);
        for position in old.into_iter().filter(|&p| p != EMPTY) {
            self.put(position, rollouts);
        }
    }
}
