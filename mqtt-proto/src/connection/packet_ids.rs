//! The free-id allocator for packet identifiers: 1..=65535, an id handed out
//! is not handed out again until it is released, whatever the inflight
//! window [MQTT-2.3.1-2], [MQTT-2.3.1-3].
//!
//! A 65,536-bit set and a rotating cursor: allocation scans forward from
//! the last id handed out, so ids are reused as late as possible, which
//! makes a stale ack from a broker easy to tell from a live one. The set is
//! kept in 16 blocks of 4,096 ids (512 bytes each), allocated when an id in
//! them is first used and let go when none is: a session with a window of
//! a hundred messages holds one or two blocks, an idle one none.

use crate::packet::PacketId;
use alloc::boxed::Box;

/// Ids per block.
const BLOCK_IDS: usize = 4096;
const BLOCKS: usize = 65_536 / BLOCK_IDS;
const WORDS: usize = BLOCK_IDS / 64;

/// Packet identifiers in use by this session.
#[derive(Clone)]
pub(crate) struct PacketIds {
    blocks: [Option<Box<[u64; WORDS]>>; BLOCKS],
    /// Ids in use in each block.
    counts: [u16; BLOCKS],
    in_use: u32,
    cursor: u16,
}

impl core::fmt::Debug for PacketIds {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PacketIds")
            .field("in_use", &self.in_use)
            .field("cursor", &self.cursor)
            .finish()
    }
}

impl PacketIds {
    pub(crate) fn new() -> Self {
        PacketIds {
            blocks: Default::default(),
            counts: [0; BLOCKS],
            in_use: 0,
            cursor: 0,
        }
    }

    /// The block, the word in it and the bit of `id`.
    fn slot(id: u16) -> (usize, usize, u64) {
        let id = usize::from(id);
        (id / BLOCK_IDS, (id % BLOCK_IDS) / 64, 1u64 << (id % 64))
    }

    /// Marks `id` as used (for ids restored from a stored session).
    pub(crate) fn claim(&mut self, id: PacketId) -> bool {
        let (block, word, bit) = Self::slot(id.get());
        let (Some(slot), Some(count)) = (self.blocks.get_mut(block), self.counts.get_mut(block))
        else {
            return false;
        };
        let words = slot.get_or_insert_with(|| Box::new([0; WORDS]));
        match words.get_mut(word) {
            Some(w) if *w & bit == 0 => {
                *w |= bit;
                *count += 1;
                self.in_use += 1;
                true
            }
            _ => false,
        }
    }

    /// The next free id after the cursor, or `None` when all 65,535 are used.
    pub(crate) fn allocate(&mut self) -> Option<PacketId> {
        if self.in_use >= u32::from(u16::MAX) {
            return None;
        }
        let mut candidate = self.cursor;
        loop {
            candidate = candidate.wrapping_add(1);
            if let Some(id) = PacketId::new(candidate) {
                if self.claim(id) {
                    self.cursor = candidate;
                    return Some(id);
                }
            }
        }
    }

    /// Frees `id` for reuse; returns whether it was in use.
    pub(crate) fn release(&mut self, id: PacketId) -> bool {
        let (block, word, bit) = Self::slot(id.get());
        let (Some(slot), Some(count)) = (self.blocks.get_mut(block), self.counts.get_mut(block))
        else {
            return false;
        };
        let Some(w) = slot.as_mut().and_then(|words| words.get_mut(word)) else {
            return false;
        };
        if *w & bit == 0 {
            return false;
        }
        *w &= !bit;
        *count -= 1;
        self.in_use -= 1;
        if *count == 0 {
            *slot = None;
        }
        true
    }

    /// Blocks allocated now.
    #[cfg(test)]
    fn blocks_held(&self) -> usize {
        self.blocks.iter().filter(|b| b.is_some()).count()
    }

    pub(crate) fn in_use(&self) -> usize {
        self.in_use as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_hands_out_zero_or_an_id_in_use() {
        // [MQTT-2.3.1-1] [MQTT-2.3.1-2]
        let mut ids = PacketIds::new();
        let mut seen = alloc::collections::BTreeSet::new();
        for _ in 0..65_535 {
            let id = ids.allocate().unwrap();
            assert!(seen.insert(id.get()), "{id} handed out twice");
        }
        assert_eq!(ids.allocate(), None, "all ids in use");
        assert_eq!(ids.in_use(), 65_535);
    }

    #[test]
    fn released_ids_come_back_only_after_release() {
        // [MQTT-2.3.1-3] an id is free again only after its flow completes.
        let mut ids = PacketIds::new();
        let all: alloc::vec::Vec<_> = (0..65_535).map(|_| ids.allocate().unwrap()).collect();
        let freed = all[1234];
        assert!(ids.release(freed));
        assert!(!ids.release(freed), "double release is reported");
        assert_eq!(ids.allocate(), Some(freed));
        assert_eq!(ids.allocate(), None);
    }

    #[test]
    fn only_blocks_with_ids_in_use_are_held() {
        let mut ids = PacketIds::new();
        assert_eq!(ids.blocks_held(), 0);
        // A window of 100 moving through every id holds at most two blocks.
        let mut window = alloc::collections::VecDeque::new();
        for _ in 0..200_000 {
            window.push_back(ids.allocate().unwrap());
            if window.len() > 100 {
                assert!(ids.release(window.pop_front().unwrap()));
            }
            assert!(ids.blocks_held() <= 2);
        }
        for id in window.drain(..) {
            assert!(ids.release(id));
        }
        assert_eq!(ids.blocks_held(), 0);
        assert_eq!(ids.in_use(), 0);
    }

    #[test]
    fn reuse_is_as_late_as_possible() {
        let mut ids = PacketIds::new();
        let a = ids.allocate().unwrap();
        ids.release(a);
        let b = ids.allocate().unwrap();
        assert_ne!(a, b, "the cursor moves on instead of reusing at once");
    }
}
