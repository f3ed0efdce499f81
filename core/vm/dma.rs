// SPDX-License-Identifier: GPL-2.0-only

//! The DMA addresses behind a byte range of a buffer object, for backends with an MMU.
//!
//! A buffer object's pages come as an sg table mapped for the backend's device
//! (`Bo::dma_sg_table`); a device-memory object in a PCI BAR region gives its blocks' device
//! addresses instead (`Bo::bind_device_local`); an import mapped peer-to-peer gives the
//! exporter's bus addresses (`Bo::with_peer_table`). [`mmu_ranges`] and [`peer_ranges`] cut the
//! part a `VM_BIND` maps out of them; the cutting itself is [`cut`], a pure function tested by the KUnit suite
//! `xaccel_vm_dma`.

use crate::{
    backend::{AddressKind, DmaRange},
    device::AccelDevice,
    gem::Bo,
};
use kernel::{prelude::*, scatterlist::SGTable};

/// The DMA ranges of bytes `[offset, offset + len)` of the memory that `segments` (DMA address
/// and length, in order) describe.
///
/// Errors: `EINVAL` if the segments end before `offset + len` or it overflows, `ENOMEM`.
fn cut(
    segments: impl Iterator<Item = (u64, u64)>,
    offset: u64,
    len: u64,
    kind: AddressKind,
) -> Result<KVec<DmaRange>> {
    let end = offset.checked_add(len).ok_or(EINVAL)?;
    let mut out = KVec::new();
    // Byte offset of the current segment in the object.
    let mut seg_start = 0u64;
    for (addr, seg_len) in segments {
        let seg_end = seg_start.checked_add(seg_len).ok_or(EINVAL)?;
        let from = seg_start.max(offset);
        let to = seg_end.min(end);
        if from < to {
            out.push(
                DmaRange {
                    addr: addr.checked_add(from - seg_start).ok_or(EINVAL)?,
                    len: to - from,
                    kind,
                },
                GFP_KERNEL,
            )?;
        }
        if seg_end >= end {
            return Ok(out);
        }
        seg_start = seg_end;
    }
    if len == 0 {
        return Ok(out);
    }
    Err(EINVAL)
}

/// The addresses the backend's MMU maps for bytes `[offset, offset + len)` of `bo`, which is
/// not an import: device addresses of blocks of a BAR region ([`AddressKind::DeviceLocal`]) or
/// the DMA addresses of the object's pages mapped for the backend's device
/// ([`AddressKind::Host`]). Either way the memory no longer moves. Sleeps; errors as
/// [`Bo::dma_sg_table`] (`EOPNOTSUPP` for imports, which bind through [`peer_ranges`]).
pub(super) fn mmu_ranges(
    dev: &AccelDevice,
    bo: &Bo,
    offset: u64,
    len: u64,
) -> Result<KVec<DmaRange>> {
    if let Some(local) = bo.bind_device_local()? {
        return cut(local.into_iter(), offset, len, AddressKind::DeviceLocal);
    }
    let table: &SGTable = bo.dma_sg_table(dev)?;
    cut(
        table.iter().map(|sg| (sg.dma_address(), sg.dma_len())),
        offset,
        len,
        AddressKind::Host,
    )
}

/// The addresses the backend's MMU maps for bytes `[offset, offset + len)` of an import mapped
/// peer-to-peer, from its `table` ([`Bo::with_peer_table`]): the PCI bus addresses of the
/// exporter's BAR, as [`AddressKind::Host`] (the device reaches them as it reaches host memory,
/// through the bus).
pub(super) fn peer_ranges(table: &SGTable, offset: u64, len: u64) -> Result<KVec<DmaRange>> {
    cut(
        table.iter().map(|sg| (sg.dma_address(), sg.dma_len())),
        offset,
        len,
        AddressKind::Host,
    )
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(xaccel_vm_dma)]
mod tests {
    use super::*;

    const P: u64 = 4096;
    /// Three segments: 2 pages at 0x10000, 1 page at 0x80000, 3 pages at 0x40000.
    const SEGMENTS: [(u64, u64); 3] = [(0x10000, 2 * P), (0x80000, P), (0x40000, 3 * P)];

    fn ranges(offset: u64, len: u64) -> Result<KVec<(u64, u64)>> {
        let mut out = KVec::new();
        for r in cut(SEGMENTS.iter().copied(), offset, len, AddressKind::Host)?.iter() {
            assert_eq!(r.kind, AddressKind::Host);
            out.push((r.addr, r.len), GFP_KERNEL)?;
        }
        Ok(out)
    }

    #[test]
    fn the_whole_object() {
        assert_eq!(
            ranges(0, 6 * P).unwrap()[..],
            [(0x10000, 2 * P), (0x80000, P), (0x40000, 3 * P)]
        );
    }

    #[test]
    fn a_range_inside_one_segment() {
        assert_eq!(ranges(P, P).unwrap()[..], [(0x10000 + P, P)]);
        assert_eq!(ranges(4 * P, P).unwrap()[..], [(0x40000 + P, P)]);
    }

    #[test]
    fn a_range_across_segments_is_cut_at_both_ends() {
        assert_eq!(
            ranges(P, 4 * P).unwrap()[..],
            [(0x10000 + P, P), (0x80000, P), (0x40000, 2 * P)]
        );
    }

    #[test]
    fn device_local_ranges_keep_their_kind() -> Result {
        let local = cut(
            [(0x40_0000, 4 * P)].into_iter(),
            P,
            2 * P,
            AddressKind::DeviceLocal,
        )?;
        assert_eq!(
            local[..],
            [DmaRange {
                addr: 0x40_0000 + P,
                len: 2 * P,
                kind: AddressKind::DeviceLocal
            }]
        );
        Ok(())
    }

    #[test]
    fn ranges_beyond_the_memory_are_refused() {
        assert_eq!(ranges(0, 7 * P).err(), Some(EINVAL));
        assert_eq!(ranges(6 * P, P).err(), Some(EINVAL));
        assert_eq!(ranges(u64::MAX, 2).err(), Some(EINVAL));
    }
}
