// SPDX-License-Identifier: GPL-2.0-only
//! The probe-then-fetch protocol of `DRM_IOCTL_XACCEL_QUERY`.
//!
//! A probe (`items = 0`, `count = 0`) returns how many items there are; the fetch
//! then passes a buffer with room for them, using this crate's item size (the
//! kernel zero-extends or truncates each item to it). If the count grew in
//! between, the fetch is retried with the new count; if it shrank, the extra
//! slots are dropped. The logic takes the ioctl as a closure so the unit tests
//! below can run it against a model of the kernel.

use std::mem::size_of;

use rustix::io::Errno;
use xaccel_uapi::{
    drm_xaccel_device_info, drm_xaccel_engine_info, drm_xaccel_nop_info, drm_xaccel_query,
    drm_xaccel_region_info, DRM_XACCEL_QUERY_DEVICE, DRM_XACCEL_QUERY_ENGINES,
    DRM_XACCEL_QUERY_NOPS, DRM_XACCEL_QUERY_REGIONS,
};

use crate::error::{Error, Result};

/// How often a fetch is retried when the item count keeps growing.
const FETCH_ATTEMPTS: usize = 4;

mod sealed {
    pub trait Sealed {}
    impl Sealed for xaccel_uapi::drm_xaccel_device_info {}
    impl Sealed for xaccel_uapi::drm_xaccel_engine_info {}
    impl Sealed for xaccel_uapi::drm_xaccel_region_info {}
    impl Sealed for xaccel_uapi::drm_xaccel_nop_info {}
}

/// A raw uAPI struct that QUERY returns, tied to its query type.
///
/// # Safety
///
/// Implementors are `#[repr(C)]` plain data for which every bit pattern is valid,
/// and `TYPE` is the query type whose items have this layout. The trait is sealed.
pub unsafe trait QueryItem: sealed::Sealed + Copy + Default {
    /// The `DRM_XACCEL_QUERY_*` type.
    const TYPE: u32;
    /// The item's name, for error messages.
    const NAME: &'static str;
}

// SAFETY: repr(C) structs of integers and byte arrays, matching their query type.
unsafe impl QueryItem for drm_xaccel_device_info {
    const TYPE: u32 = DRM_XACCEL_QUERY_DEVICE;
    const NAME: &'static str = "QUERY DEVICE";
}
// SAFETY: as above.
unsafe impl QueryItem for drm_xaccel_engine_info {
    const TYPE: u32 = DRM_XACCEL_QUERY_ENGINES;
    const NAME: &'static str = "QUERY ENGINES";
}
// SAFETY: as above.
unsafe impl QueryItem for drm_xaccel_region_info {
    const TYPE: u32 = DRM_XACCEL_QUERY_REGIONS;
    const NAME: &'static str = "QUERY REGIONS";
}

// SAFETY: as above.
unsafe impl QueryItem for drm_xaccel_nop_info {
    const TYPE: u32 = DRM_XACCEL_QUERY_NOPS;
    const NAME: &'static str = "QUERY NOPS";
}

/// Size of `T` as QUERY's `item_size`.
pub(crate) fn item_size<T>() -> u32 {
    u32::try_from(size_of::<T>()).expect("uAPI items are small")
}

/// Runs probe-then-fetch for `T` through `ioctl`, which must issue QUERY with
/// the struct it is given; every `items` pointer it sees is valid for
/// `count * item_size` bytes of writes.
pub(crate) fn fetch_items<T: QueryItem>(
    mut ioctl: impl FnMut(&mut drm_xaccel_query) -> Result<(), Errno>,
) -> Result<Vec<T>> {
    let item_size = item_size::<T>();
    let mut probe = drm_xaccel_query {
        type_: T::TYPE,
        item_size,
        ..Default::default()
    };
    ioctl(&mut probe).map_err(|errno| Error::Ioctl {
        ioctl: T::NAME,
        errno,
    })?;
    if probe.item_size < item_size {
        return Err(Error::Protocol {
            ioctl: T::NAME,
            problem: format!("item size {} is below {item_size}", probe.item_size),
        });
    }
    let mut count = probe.count;
    for _ in 0..FETCH_ATTEMPTS {
        if count == 0 {
            return Ok(Vec::new());
        }
        let len = usize::try_from(count).expect("u32 fits usize");
        let mut items = vec![T::default(); len];
        let mut fetch = drm_xaccel_query {
            type_: T::TYPE,
            item_size,
            count,
            items: items.as_mut_ptr() as u64,
            ..Default::default()
        };
        ioctl(&mut fetch).map_err(|errno| Error::Ioctl {
            ioctl: T::NAME,
            errno,
        })?;
        if fetch.count <= count {
            items.truncate(fetch.count as usize);
            return Ok(items);
        }
        count = fetch.count;
    }
    Err(Error::Protocol {
        ioctl: T::NAME,
        problem: "the item count keeps growing".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::marker::PhantomData;
    use xaccel_uapi::DRM_XACCEL_QUERY_MAX_ITEM_SIZE;

    /// A model of the kernel side of QUERY, following the header's rules, for
    /// one query type whose items are `kernel_size` bytes.
    struct FakeKernel<T> {
        kernel_size: u32,
        items: Vec<Vec<u8>>,
        /// Items appended after each call, to model a changing count.
        grow_by: usize,
        calls: usize,
        _item: PhantomData<T>,
    }

    impl<T: QueryItem> FakeKernel<T> {
        fn new(items: &[T], extra: u32) -> Self {
            let size = item_size::<T>();
            let items = items
                .iter()
                .map(|item| {
                    // SAFETY: T is plain data of `size` bytes.
                    let bytes = unsafe {
                        std::slice::from_raw_parts((item as *const T).cast::<u8>(), size as usize)
                    };
                    let mut v = bytes.to_vec();
                    v.resize((size + extra) as usize, 0x5a);
                    v
                })
                .collect();
            Self {
                kernel_size: size + extra,
                items,
                grow_by: 0,
                calls: 0,
                _item: PhantomData,
            }
        }

        fn ioctl(&mut self, q: &mut drm_xaccel_query) -> Result<(), Errno> {
            self.calls += 1;
            let min = item_size::<T>();
            let bad_size = q.item_size < min || q.item_size > DRM_XACCEL_QUERY_MAX_ITEM_SIZE;
            if q.type_ != T::TYPE || q.flags != 0 || q.reserved != 0 || bad_size {
                return Err(Errno::INVAL);
            }
            if (q.items == 0) != (q.count == 0) {
                return Err(Errno::INVAL);
            }
            q.count.checked_mul(q.item_size).ok_or(Errno::OVERFLOW)?;
            let n = (q.count as usize).min(self.items.len());
            for (i, item) in self.items.iter().take(n).enumerate() {
                let user = q.items as usize + i * q.item_size as usize;
                let copy = (q.item_size as usize).min(item.len());
                // SAFETY: fetch_items promises room for count * item_size bytes.
                unsafe {
                    let dst = user as *mut u8;
                    dst.copy_from_nonoverlapping(item.as_ptr(), copy);
                    dst.add(copy).write_bytes(0, q.item_size as usize - copy);
                }
            }
            q.count = self.items.len() as u32;
            q.item_size = self.kernel_size;
            for _ in 0..self.grow_by {
                self.items.push(self.items[0].clone());
            }
            Ok(())
        }

        fn fetch(&mut self) -> Result<Vec<T>> {
            fetch_items(|q| self.ioctl(q))
        }
    }

    fn engine(id: u32) -> drm_xaccel_engine_info {
        drm_xaccel_engine_info {
            id,
            ring_credits: 10 + id,
            ..Default::default()
        }
    }

    #[test]
    fn probe_then_fetch() {
        let engines = [engine(0), engine(1), engine(2)];
        let mut k = FakeKernel::new(&engines, 0);
        let got = k.fetch().unwrap();
        assert_eq!(got, engines);
        assert_eq!(k.calls, 2);
    }

    #[test]
    fn newer_kernel_with_bigger_items() {
        let engines = [engine(0), engine(1)];
        let mut k = FakeKernel::new(&engines, 24);
        let got = k.fetch().unwrap();
        assert_eq!(got, engines);
    }

    #[test]
    fn empty_list_needs_no_fetch() {
        let mut k = FakeKernel::<drm_xaccel_region_info>::new(&[], 0);
        let got = k.fetch().unwrap();
        assert!(got.is_empty());
        assert_eq!(k.calls, 1);
    }

    #[test]
    fn endlessly_growing_count_is_an_error() {
        let mut k = FakeKernel::new(&[engine(0)], 0);
        k.grow_by = 1;
        let err = k.fetch().unwrap_err();
        assert!(matches!(err, Error::Protocol { .. }), "{err}");
        assert_eq!(k.calls, 1 + FETCH_ATTEMPTS);
    }

    #[test]
    fn count_growing_once_is_refetched() {
        let mut k = FakeKernel::new(&[engine(0)], 0);
        let mut calls = 0;
        let got: Vec<drm_xaccel_engine_info> = fetch_items(|q| {
            calls += 1;
            let r = k.ioctl(q);
            if calls == 1 {
                k.items.push(k.items[0].clone());
            }
            r
        })
        .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(calls, 3);
    }

    #[test]
    fn shrinking_count_is_truncated() {
        let mut k = FakeKernel::new(&[engine(0), engine(1)], 0);
        let mut calls = 0;
        let got: Vec<drm_xaccel_engine_info> = fetch_items(|q| {
            calls += 1;
            if calls == 2 {
                k.items.pop();
            }
            k.ioctl(q)
        })
        .unwrap();
        assert_eq!(got, [engine(0)]);
    }

    #[test]
    fn errors_carry_errno() {
        let err = fetch_items::<drm_xaccel_device_info>(|_| Err(Errno::NOTTY)).unwrap_err();
        assert_eq!(err.errno(), Some(Errno::NOTTY));
        assert!(err.to_string().starts_with("QUERY DEVICE failed"), "{err}");
    }

    #[test]
    fn short_kernel_item_size_is_a_protocol_error() {
        let err = fetch_items::<drm_xaccel_device_info>(|q| {
            q.item_size = 8;
            q.count = 1;
            Ok(())
        })
        .unwrap_err();
        assert!(matches!(err, Error::Protocol { .. }), "{err}");
    }
}
