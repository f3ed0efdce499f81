// SPDX-License-Identifier: GPL-2.0-only

//! Device virtual address ranges: an ordered map from VA ranges to pieces of objects.
//!
//! A [`VaMap`] holds the mappings of one device VM as [`Extent`]s: a VA range, the offset of its
//! first byte in the mapped object, and a value naming the object (the VM stores a reference to a
//! buffer object and its access rights there). Extents never overlap. [`VaMap::insert`] adds one
//! (refusing overlaps with `EEXIST`), [`VaMap::remove`] takes a range out of any number of
//! adjacent extents (splitting those that stick out at either end, or the one it punches a hole
//! into), and [`VaMap::resolve`] translates a VA range into the object pieces behind it.
//!
//! The code is pure, knows nothing about pages or devices (the VM checks alignment and the
//! device's VA window before calling it), and is tested by the KUnit suite `xaccel_va` below.
//!
//! # Representation
//!
//! The extents sit in a [`KVec`], sorted by address, found by binary search. Ranges are stored
//! with an inclusive last address, so a mapping may end at the top of the 64-bit address space
//! and no end address ever overflows. The kernel's maple tree (`rust/kernel/maple_tree.rs`) and
//! red-black tree (`rust/kernel/rbtree.rs`) were the alternatives; the vector wins here because:
//!
//! - every operation is all-or-nothing: the memory it needs (one more slot for a split, the list
//!   of removed pieces) is allocated before anything changes, so an `ENOMEM` leaves the map as
//!   it was. A maple-tree split is an erase plus two stores, each of which may fail to allocate;
//!   the red-black tree needs node reservations juggled per case;
//! - a range operation touches a run of neighbours (adjacent extents for resolve and for removals
//!   spanning several mappings), which is a slice here;
//! - lookups are `O(log n)`; inserting and removing move the tail of the vector (`O(n)` memory
//!   moves), which stays cheap for the thousands of mappings a VM holds. Swapping in an
//!   `RBTree` keyed by start address only changes this file.

use kernel::prelude::*;

/// One mapping: `[start, last]` (inclusive) maps object bytes from `offset` on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Extent<T> {
    /// First mapped address.
    pub(crate) start: u64,
    /// Last mapped address (inclusive).
    pub(crate) last: u64,
    /// Offset in the object of the byte at `start`.
    pub(crate) offset: u64,
    /// What is mapped.
    pub(crate) value: T,
}

impl<T> Extent<T> {
    /// Length in bytes. Never zero; `u64::MAX` at most, as no map covers the whole space.
    pub(crate) fn len(&self) -> u64 {
        self.last - self.start + 1
    }

    /// The object offset of address `va`, which must be inside the extent.
    fn offset_of(&self, va: u64) -> u64 {
        self.offset + (va - self.start)
    }
}

/// A piece of an object behind a VA range, as [`VaMap::resolve`] returns it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Piece<'a, T> {
    /// First address of the piece.
    pub(crate) va: u64,
    /// Length in bytes.
    pub(crate) len: u64,
    /// Offset in the object of the byte at `va`.
    pub(crate) offset: u64,
    /// The object.
    pub(crate) value: &'a T,
}

/// The last address of `[start, start + len)`.
///
/// Errors: `EINVAL` for an empty range, `EOVERFLOW` for one that runs past the top of the
/// address space.
pub(crate) fn last_of(start: u64, len: u64) -> Result<u64> {
    if len == 0 {
        return Err(EINVAL);
    }
    start.checked_add(len - 1).ok_or(EOVERFLOW)
}

/// Non-overlapping VA extents, sorted by address.
///
/// # Invariants
///
/// `extents` is sorted by `start`, and each extent's `last` is below the next one's `start`;
/// each extent's `offset + len - 1` fits in a `u64`.
pub(crate) struct VaMap<T> {
    extents: KVec<Extent<T>>,
}

impl<T: Clone> VaMap<T> {
    /// An empty map.
    pub(crate) const fn new() -> Self {
        Self {
            extents: KVec::new(),
        }
    }

    /// The extents, in address order.
    pub(crate) fn extents(&self) -> &[Extent<T>] {
        &self.extents
    }

    /// The extents in address order as (start, length, value), the values writable.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = (u64, u64, &mut T)> {
        // The ranges, which the invariants are about, stay read-only.
        self.extents
            .iter_mut()
            .map(|e| (e.start, e.len(), &mut e.value))
    }

    /// Whether nothing is mapped.
    pub(crate) fn is_empty(&self) -> bool {
        self.extents.is_empty()
    }

    /// Index of the first extent that ends at or after `va`.
    fn first_ending_at_or_after(&self, va: u64) -> usize {
        self.extents.partition_point(|e| e.last < va)
    }

    /// Whether any address of `[start, last]` is mapped.
    pub(crate) fn overlaps(&self, start: u64, last: u64) -> bool {
        let i = self.first_ending_at_or_after(start);
        self.extents.get(i).is_some_and(|e| e.start <= last)
    }

    /// Maps `[start, start + len)` to `value` from object offset `offset` on.
    ///
    /// Errors: `EINVAL` for `len == 0`; `EOVERFLOW` if the range, or the object range
    /// `[offset, offset + len)`, runs past the top of the 64-bit space; `EEXIST` if any address
    /// of the range is mapped; `ENOMEM`. On error the map is unchanged.
    pub(crate) fn insert(&mut self, start: u64, len: u64, offset: u64, value: T) -> Result {
        let last = last_of(start, len)?;
        last_of(offset, len)?;
        if self.overlaps(start, last) {
            return Err(EEXIST);
        }
        let i = self.first_ending_at_or_after(start);
        self.extents.reserve(1, GFP_KERNEL)?;
        let extent = Extent {
            start,
            last,
            offset,
            value,
        };
        // INVARIANT: Nothing in `[start, last]` is mapped, extent `i - 1` ends below `start` and
        // extent `i` starts above `last`; the object range was checked above.
        self.extents
            .insert_within_capacity(i, extent)
            .map_err(|_| ENOMEM)
    }

    /// The indices of the extents covering every address of `[start, last]`, first and last.
    ///
    /// Returns `ENOENT` if any address of the range is unmapped.
    fn covering(&self, start: u64, last: u64) -> Result<(usize, usize)> {
        let first = self.first_ending_at_or_after(start);
        let mut i = first;
        let mut next = start;
        loop {
            let e = self.extents.get(i).ok_or(ENOENT)?;
            if e.start > next {
                return Err(ENOENT);
            }
            if e.last >= last {
                return Ok((first, i));
            }
            // `e.last < last`, so this cannot overflow.
            next = e.last + 1;
            i += 1;
        }
    }

    /// The pieces of objects behind `[start, start + len)`, in address order: one per extent
    /// the range touches, cut to the range.
    ///
    /// Errors: as [`last_of`]; `ENOENT` if any address of the range is unmapped; `ENOMEM`.
    pub(crate) fn resolve(&self, start: u64, len: u64) -> Result<KVec<Piece<'_, T>>> {
        let last = last_of(start, len)?;
        let (first, end) = self.covering(start, last)?;
        let mut pieces = KVec::with_capacity(end - first + 1, GFP_KERNEL)?;
        for e in &self.extents[first..=end] {
            let va = e.start.max(start);
            let piece_last = e.last.min(last);
            pieces.push(
                Piece {
                    va,
                    len: piece_last - va + 1,
                    offset: e.offset_of(va),
                    value: &e.value,
                },
                GFP_KERNEL,
            )?;
        }
        Ok(pieces)
    }

    /// Unmaps `[start, start + len)`, which may span several adjacent extents, and returns what
    /// was unmapped as extents cut to the range, in address order.
    ///
    /// Extents sticking out of the range keep their outer parts; one extent with the range
    /// inside it becomes two (the value is cloned for the new one).
    ///
    /// Errors: as [`last_of`]; `ENOENT` if any address of the range is unmapped; `ENOMEM`. On
    /// error the map is unchanged.
    pub(crate) fn remove(&mut self, start: u64, len: u64) -> Result<KVec<Extent<T>>> {
        let last = last_of(start, len)?;
        let (first, end) = self.covering(start, last)?;
        let keep_head = self.extents[first].start < start;
        let keep_tail = self.extents[end].last > last;
        let hole = first == end && keep_head && keep_tail;
        // Everything that can fail happens before the map changes.
        let mut removed = KVec::with_capacity(end - first + 1, GFP_KERNEL)?;
        if hole {
            self.extents.reserve(1, GFP_KERNEL)?;
        }
        for e in &self.extents[first..=end] {
            let piece_start = e.start.max(start);
            let piece = Extent {
                start: piece_start,
                last: e.last.min(last),
                offset: e.offset_of(piece_start),
                value: e.value.clone(),
            };
            removed.push_within_capacity(piece).map_err(|_| ENOMEM)?;
        }

        // INVARIANT: Each kept part is a sub-range of an extent that was in order, with its
        // offset moved along, so order, disjointness and offset bounds hold.
        if hole {
            let e = &mut self.extents[first];
            let tail = Extent {
                start: last + 1,
                last: e.last,
                offset: e.offset_of(last + 1),
                value: e.value.clone(),
            };
            e.last = start - 1;
            self.extents
                .insert_within_capacity(first + 1, tail)
                .map_err(|_| ENOMEM)?;
            return Ok(removed);
        }
        if keep_tail {
            let e = &mut self.extents[end];
            e.offset = e.offset_of(last + 1);
            e.start = last + 1;
        }
        if keep_head {
            self.extents[first].last = start - 1;
        }
        // Drop the extents that were covered entirely.
        let drop_from = first + usize::from(keep_head);
        let drop_to = end + 1 - usize::from(keep_tail);
        let mut index = 0;
        self.extents.retain(|_| {
            let keep = index < drop_from || index >= drop_to;
            index += 1;
            keep
        });
        Ok(removed)
    }

    /// Unmaps everything; returns the extents in address order.
    pub(crate) fn take_all(&mut self) -> KVec<Extent<T>> {
        core::mem::take(&mut self.extents)
    }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_va)]
mod tests {
    use super::*;

    const P: u64 = 4096;

    /// (start, last, offset, value) of every extent.
    fn layout(map: &VaMap<u32>) -> KVec<(u64, u64, u64, u32)> {
        let mut out = KVec::new();
        for e in map.extents() {
            out.push((e.start, e.last, e.offset, e.value), GFP_KERNEL)
                .unwrap();
        }
        out
    }

    fn map_with(extents: &[(u64, u64, u64, u32)]) -> VaMap<u32> {
        let mut map = VaMap::new();
        for &(start, len, offset, value) in extents {
            map.insert(start, len, offset, value).unwrap();
        }
        map
    }

    #[test]
    fn insert_keeps_order_and_refuses_overlaps() {
        let mut map = map_with(&[(10 * P, 2 * P, 0, 1), (2 * P, P, 0, 2)]);
        assert_eq!(
            layout(&map)[..],
            [(2 * P, 3 * P - 1, 0, 2), (10 * P, 12 * P - 1, 0, 1)]
        );
        let before = layout(&map);
        for (start, len) in [
            (10 * P, P),     // same start
            (9 * P, 2 * P),  // overlaps the first page
            (11 * P, 4 * P), // overlaps the last page
            (9 * P, 5 * P),  // covers it
            (10 * P + 1, 1), // inside it
            (0, 100 * P),    // covers both
            (2 * P, 1),      // the other one's first byte
        ] {
            assert_eq!(map.insert(start, len, 0, 9), Err(EEXIST));
        }
        assert_eq!(layout(&map), before);
    }

    #[test]
    fn adjacent_ranges_do_not_overlap() {
        let map = map_with(&[(P, P, 0, 1), (2 * P, P, 0, 2), (0, P, 0, 3)]);
        assert_eq!(
            layout(&map)[..],
            [
                (0, P - 1, 0, 3),
                (P, 2 * P - 1, 0, 1),
                (2 * P, 3 * P - 1, 0, 2)
            ]
        );
    }

    #[test]
    fn empty_and_overflowing_ranges_are_refused() {
        let mut map = VaMap::new();
        assert_eq!(map.insert(P, 0, 0, 1), Err(EINVAL));
        assert_eq!(map.insert(u64::MAX - P + 2, P, 0, 1), Err(EOVERFLOW));
        assert_eq!(map.insert(0, P, u64::MAX - P + 2, 1), Err(EOVERFLOW));
        assert!(map.is_empty());
        assert_eq!(map.remove(u64::MAX, 2).err(), Some(EOVERFLOW));
        assert_eq!(map.resolve(u64::MAX, 2).err(), Some(EOVERFLOW));
        assert_eq!(map.remove(0, 0).err(), Some(EINVAL));
    }

    #[test]
    fn the_top_page_of_the_address_space_works() {
        let top = u64::MAX - P + 1;
        let mut map = map_with(&[(top, P, 0, 1), (top - P, P, 0, 2)]);
        assert_eq!(map.insert(top, 1, 0, 3), Err(EEXIST));
        let pieces = map.resolve(top - 1, P + 1).unwrap();
        assert_eq!(pieces.len(), 2);
        assert_eq!((pieces[1].va, pieces[1].len, *pieces[1].value), (top, P, 1));
        drop(pieces);
        // A hole in the middle of the top extent, then its very last byte.
        map.remove(top + P / 2, 16).unwrap();
        map.remove(u64::MAX, 1).unwrap();
        assert_eq!(
            layout(&map)[..],
            [
                (top - P, top - 1, 0, 2),
                (top, top + P / 2 - 1, 0, 1),
                (top + P / 2 + 16, u64::MAX - 1, P / 2 + 16, 1)
            ]
        );
    }

    #[test]
    fn removing_a_whole_extent() {
        let mut map = map_with(&[(0, P, 0, 1), (P, 2 * P, 5 * P, 2), (3 * P, P, 0, 3)]);
        let removed = map.remove(P, 2 * P).unwrap();
        assert_eq!(
            removed[..],
            [Extent {
                start: P,
                last: 3 * P - 1,
                offset: 5 * P,
                value: 2
            }]
        );
        assert_eq!(
            layout(&map)[..],
            [(0, P - 1, 0, 1), (3 * P, 4 * P - 1, 0, 3)]
        );
    }

    #[test]
    fn splitting_at_the_start_and_at_the_end() {
        // Unmapping the first page leaves the tail, with its offset moved along.
        let mut map = map_with(&[(0, 4 * P, 8 * P, 1)]);
        map.remove(0, P).unwrap();
        assert_eq!(layout(&map)[..], [(P, 4 * P - 1, 9 * P, 1)]);
        // Unmapping the last page leaves the head.
        let removed = map.remove(3 * P, P).unwrap();
        assert_eq!((removed[0].start, removed[0].offset), (3 * P, 11 * P));
        assert_eq!(layout(&map)[..], [(P, 3 * P - 1, 9 * P, 1)]);
    }

    #[test]
    fn splitting_in_the_middle_leaves_two() {
        let mut map = map_with(&[(0, 4 * P, 0, 1), (8 * P, P, 0, 2)]);
        let removed = map.remove(P, 2 * P).unwrap();
        assert_eq!(
            (
                removed.len(),
                removed[0].start,
                removed[0].len(),
                removed[0].offset
            ),
            (1, P, 2 * P, P)
        );
        assert_eq!(
            layout(&map)[..],
            [
                (0, P - 1, 0, 1),
                (3 * P, 4 * P - 1, 3 * P, 1),
                (8 * P, 9 * P - 1, 0, 2)
            ]
        );
        // The hole can be mapped again, and unmapped again.
        map.insert(P, 2 * P, 0, 3).unwrap();
        assert_eq!(map.resolve(0, 4 * P).unwrap().len(), 3);
        map.remove(P, 2 * P).unwrap();
        assert_eq!(map.extents().len(), 3);
    }

    #[test]
    fn removing_across_adjacent_extents_trims_both_ends() {
        let mut map = map_with(&[(0, 2 * P, 0, 1), (2 * P, P, 0, 2), (3 * P, 2 * P, 0, 3)]);
        let removed = map.remove(P, 3 * P).unwrap();
        let got: KVec<_> = {
            let mut v = KVec::new();
            for e in removed.iter() {
                v.push((e.start, e.last, e.offset, e.value), GFP_KERNEL)
                    .unwrap();
            }
            v
        };
        assert_eq!(
            got[..],
            [
                (P, 2 * P - 1, P, 1),
                (2 * P, 3 * P - 1, 0, 2),
                (3 * P, 4 * P - 1, 0, 3)
            ]
        );
        assert_eq!(
            layout(&map)[..],
            [(0, P - 1, 0, 1), (4 * P, 5 * P - 1, P, 3)]
        );
    }

    #[test]
    fn removing_unmapped_addresses_changes_nothing() {
        let mut map = map_with(&[(0, P, 0, 1), (2 * P, P, 0, 2)]);
        let before = layout(&map);
        for (start, len) in [
            (P, P),         // the gap
            (0, 3 * P),     // spans the gap
            (P / 2, P),     // runs into the gap
            (3 * P, P),     // after everything
            (10 * P, 1),    // far away
            (2 * P - 1, 2), // one byte before the second
        ] {
            assert_eq!(map.remove(start, len).err(), Some(ENOENT));
        }
        assert_eq!(layout(&map), before);
        assert_eq!(VaMap::<u32>::new().remove(0, P).err(), Some(ENOENT));
    }

    #[test]
    fn resolve_across_adjacent_mappings() {
        let map = map_with(&[(P, P, 7 * P, 1), (2 * P, 2 * P, 0, 2), (5 * P, P, 0, 3)]);
        let pieces = map.resolve(P + 16, 2 * P).unwrap();
        assert_eq!(
            pieces[..],
            [
                Piece {
                    va: P + 16,
                    len: P - 16,
                    offset: 7 * P + 16,
                    value: &1
                },
                Piece {
                    va: 2 * P,
                    len: P + 16,
                    offset: 0,
                    value: &2
                }
            ]
        );
        // A gap anywhere in the range fails.
        assert_eq!(map.resolve(3 * P, 3 * P).err(), Some(ENOENT));
        assert_eq!(map.resolve(0, P + 1).err(), Some(ENOENT));
        assert_eq!(map.resolve(6 * P, 1).err(), Some(ENOENT));
        assert_eq!(map.resolve(5 * P + P - 1, 1).unwrap()[0].offset, P - 1);
    }

    #[test]
    fn take_all_empties_the_map() {
        let mut map = map_with(&[(0, P, 0, 1), (P, P, 0, 2)]);
        assert_eq!(map.take_all().len(), 2);
        assert!(map.is_empty());
        assert!(!map.overlaps(0, u64::MAX));
    }
}
