// SPDX-License-Identifier: GPL-2.0-only

//! vaccel's compiled programs: what validation hands the engine, as the job's payload bytes.
//!
//! Validation (`compile` in `engine`) turns the parsed packets into [`Step`]s whose memory
//! operands are lists of [`Span`]s: byte ranges of the job's memory slots, already checked (a
//! BO-list operand is one span; a device-VA operand is one span per mapping it crosses). The
//! payload is the span table followed by the steps, little-endian:
//!
//! ```text
//! u32 span count | spans (u32 slot, u64 offset, u64 len) | steps (u8 tag, fields)
//! ```
//!
//! An operand in a step is `u32 first span, u32 span count, u64 origin, u32 space`: the spans
//! in order, and where the operand starts in its address space (`space` is the BO-list index,
//! or [`SPACE_VA`] for a device-VA operand), which COPY compares to decide its direction.
//!
//! A program without steps is the empty payload (no span count either), which takes no
//! allocation. The engine decodes the payload with [`Decoder`] without allocating; a payload that does not
//! decode (which validation never produces) fails the job with `EINVAL`.

use crate::isa::VectorOp;
use kernel::prelude::*;
use xaccel::MemRange;

/// A byte range of one slot of the job's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) slot: usize,
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

/// `space` of a device-VA operand.
pub(crate) const SPACE_VA: u32 = u32::MAX;

/// Most spans one program may have: bounds the payload (`E2BIG` above).
pub(crate) const MAX_SPANS: usize = 1 << 16;

/// A memory operand: spans `first..first + count` of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Operand {
    pub(crate) first: u32,
    pub(crate) count: u32,
    /// Where the operand starts in its address space: a BO offset or a device VA.
    pub(crate) origin: u64,
    /// The BO-list index, or [`SPACE_VA`].
    pub(crate) space: u32,
}

/// One step of a compiled program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Nop,
    Delay {
        usecs: u32,
    },
    Hang,
    Fault {
        code: u32,
    },
    Copy {
        dst: Operand,
        src: Operand,
        len: u64,
    },
    Fill {
        dst: Operand,
        pattern: u32,
        len: u64,
    },
    Vector {
        op: VectorOp,
        dst: Operand,
        a: Operand,
        b: Operand,
        count: u64,
    },
    Sum {
        dst: Operand,
        src: Operand,
        count: u64,
    },
    Timestamp {
        dst: Operand,
    },
}

const TAG_NOP: u8 = 0;
const TAG_DELAY: u8 = 1;
const TAG_HANG: u8 = 2;
const TAG_FAULT: u8 = 3;
const TAG_COPY: u8 = 4;
const TAG_FILL: u8 = 5;
const TAG_VECTOR: u8 = 6;
const TAG_SUM: u8 = 7;
const TAG_TIMESTAMP: u8 = 8;

const SPAN_BYTES: usize = 20;

/// Builds a payload at validation time (allocates).
pub(crate) struct Builder {
    spans: KVec<Span>,
    steps: KVec<u8>,
}

impl Builder {
    pub(crate) fn new() -> Self {
        Self {
            spans: KVec::new(),
            steps: KVec::new(),
        }
    }

    /// Adds an operand made of `ranges`, starting at `origin` of `space`. `E2BIG` past
    /// [`MAX_SPANS`].
    pub(crate) fn operand(
        &mut self,
        ranges: &[MemRange],
        origin: u64,
        space: u32,
    ) -> Result<Operand> {
        if self.spans.len() + ranges.len() > MAX_SPANS {
            return Err(E2BIG);
        }
        let first = self.spans.len() as u32;
        for r in ranges {
            self.spans.push(
                Span {
                    slot: r.slot,
                    offset: r.offset,
                    len: r.len,
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Operand {
            first,
            count: ranges.len() as u32,
            origin,
            space,
        })
    }

    fn put(&mut self, bytes: &[u8]) -> Result {
        self.steps.extend_from_slice(bytes, GFP_KERNEL)?;
        Ok(())
    }

    fn put_operand(&mut self, o: Operand) -> Result {
        self.put(&o.first.to_le_bytes())?;
        self.put(&o.count.to_le_bytes())?;
        self.put(&o.origin.to_le_bytes())?;
        self.put(&o.space.to_le_bytes())
    }

    /// Appends a step.
    pub(crate) fn step(&mut self, step: Step) -> Result {
        match step {
            Step::Nop => self.put(&[TAG_NOP]),
            Step::Delay { usecs } => {
                self.put(&[TAG_DELAY])?;
                self.put(&usecs.to_le_bytes())
            }
            Step::Hang => self.put(&[TAG_HANG]),
            Step::Fault { code } => {
                self.put(&[TAG_FAULT])?;
                self.put(&code.to_le_bytes())
            }
            Step::Copy { dst, src, len } => {
                self.put(&[TAG_COPY])?;
                self.put_operand(dst)?;
                self.put_operand(src)?;
                self.put(&len.to_le_bytes())
            }
            Step::Fill { dst, pattern, len } => {
                self.put(&[TAG_FILL])?;
                self.put_operand(dst)?;
                self.put(&pattern.to_le_bytes())?;
                self.put(&len.to_le_bytes())
            }
            Step::Vector {
                op,
                dst,
                a,
                b,
                count,
            } => {
                self.put(&[TAG_VECTOR, op as u8])?;
                self.put_operand(dst)?;
                self.put_operand(a)?;
                self.put_operand(b)?;
                self.put(&count.to_le_bytes())
            }
            Step::Sum { dst, src, count } => {
                self.put(&[TAG_SUM])?;
                self.put_operand(dst)?;
                self.put_operand(src)?;
                self.put(&count.to_le_bytes())
            }
            Step::Timestamp { dst } => {
                self.put(&[TAG_TIMESTAMP])?;
                self.put_operand(dst)
            }
        }
    }

    /// The payload: empty (not allocated) for a program without steps.
    pub(crate) fn finish(self) -> Result<KVec<u8>> {
        if self.steps.is_empty() && self.spans.is_empty() {
            return Ok(KVec::new());
        }
        let mut out = KVec::with_capacity(
            4 + self.spans.len() * SPAN_BYTES + self.steps.len(),
            GFP_KERNEL,
        )?;
        out.extend_from_slice(&(self.spans.len() as u32).to_le_bytes(), GFP_KERNEL)?;
        for s in self.spans.iter() {
            out.extend_from_slice(&(s.slot as u32).to_le_bytes(), GFP_KERNEL)?;
            out.extend_from_slice(&s.offset.to_le_bytes(), GFP_KERNEL)?;
            out.extend_from_slice(&s.len.to_le_bytes(), GFP_KERNEL)?;
        }
        out.extend_from_slice(&self.steps, GFP_KERNEL)?;
        Ok(out)
    }
}

/// Little-endian reads from a byte slice, `None` past its end.
struct Bytes<'a> {
    bytes: &'a [u8],
}

impl<'a> Bytes<'a> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.bytes.split_first_chunk::<N>()?;
        self.bytes = rest;
        Some(*head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }

    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
}

/// Decodes a payload at run time, without allocating.
pub(crate) struct Decoder<'a> {
    spans: &'a [u8],
    steps: Bytes<'a>,
}

impl<'a> Decoder<'a> {
    /// Splits `payload` into its span table and steps; `EINVAL` if it does not decode.
    pub(crate) fn new(payload: &'a [u8]) -> Result<Self> {
        if payload.is_empty() {
            return Ok(Self {
                spans: &[],
                steps: Bytes { bytes: &[] },
            });
        }
        let (count, rest) = payload.split_first_chunk::<4>().ok_or(EINVAL)?;
        let table = (u32::from_le_bytes(*count) as usize)
            .checked_mul(SPAN_BYTES)
            .ok_or(EINVAL)?;
        if rest.len() < table {
            return Err(EINVAL);
        }
        let (spans, steps) = rest.split_at(table);
        Ok(Self {
            spans,
            steps: Bytes { bytes: steps },
        })
    }

    /// Span `index` of the table.
    pub(crate) fn span(&self, index: usize) -> Option<Span> {
        let at = index.checked_mul(SPAN_BYTES)?;
        let mut b = Bytes {
            bytes: self.spans.get(at..at.checked_add(SPAN_BYTES)?)?,
        };
        Some(Span {
            slot: b.u32()? as usize,
            offset: b.u64()?,
            len: b.u64()?,
        })
    }

    fn operand(b: &mut Bytes<'_>) -> Option<Operand> {
        Some(Operand {
            first: b.u32()?,
            count: b.u32()?,
            origin: b.u64()?,
            space: b.u32()?,
        })
    }

    /// The next step: `None` at the end, `Some(Err(EINVAL))` for one that does not decode.
    pub(crate) fn next_step(&mut self) -> Option<Result<Step>> {
        let tag = self.steps.u8()?;
        Some(Self::decode(tag, &mut self.steps).ok_or(EINVAL))
    }

    /// The fields of a step tagged `tag`.
    fn decode(tag: u8, b: &mut Bytes<'_>) -> Option<Step> {
        Some(match tag {
            TAG_NOP => Step::Nop,
            TAG_DELAY => Step::Delay { usecs: b.u32()? },
            TAG_HANG => Step::Hang,
            TAG_FAULT => Step::Fault { code: b.u32()? },
            TAG_COPY => Step::Copy {
                dst: Self::operand(b)?,
                src: Self::operand(b)?,
                len: b.u64()?,
            },
            TAG_FILL => Step::Fill {
                dst: Self::operand(b)?,
                pattern: b.u32()?,
                len: b.u64()?,
            },
            TAG_VECTOR => Step::Vector {
                op: VectorOp::from_u8(b.u8()?)?,
                dst: Self::operand(b)?,
                a: Self::operand(b)?,
                b: Self::operand(b)?,
                count: b.u64()?,
            },
            TAG_SUM => Step::Sum {
                dst: Self::operand(b)?,
                src: Self::operand(b)?,
                count: b.u64()?,
            },
            TAG_TIMESTAMP => Step::Timestamp {
                dst: Self::operand(b)?,
            },
            _ => return None,
        })
    }
}

#[cfg(CONFIG_XACCEL_KUNIT_TEST)]
#[kunit_tests(vaccel_program)]
mod tests {
    use super::*;

    fn range(slot: usize, offset: u64, len: u64) -> MemRange {
        MemRange { slot, offset, len }
    }

    #[test]
    fn every_step_decodes_as_built() -> Result {
        let mut b = Builder::new();
        let one = b.operand(&[range(0, 3, 100)], 3, 0)?;
        let two = b.operand(&[range(2, 0, 50), range(3, 4096, 50)], 1 << 32, SPACE_VA)?;
        let none = b.operand(&[], 1 << 33, SPACE_VA)?;
        let steps = [
            Step::Nop,
            Step::Delay { usecs: 7 },
            Step::Hang,
            Step::Fault { code: 5 },
            Step::Copy {
                dst: one,
                src: two,
                len: 100,
            },
            Step::Fill {
                dst: none,
                pattern: 0xdead_beef,
                len: 0,
            },
            Step::Vector {
                op: VectorOp::Max,
                dst: one,
                a: two,
                b: one,
                count: 25,
            },
            Step::Sum {
                dst: two,
                src: one,
                count: 25,
            },
            Step::Timestamp { dst: one },
        ];
        for step in steps {
            b.step(step)?;
        }
        let payload = b.finish()?;
        let mut d = Decoder::new(&payload)?;
        for step in steps {
            assert_eq!(d.next_step(), Some(Ok(step)));
        }
        assert_eq!(d.next_step(), None);
        assert_eq!(
            d.span(1),
            Some(Span {
                slot: 2,
                offset: 0,
                len: 50
            })
        );
        assert_eq!(
            d.span(2),
            Some(Span {
                slot: 3,
                offset: 4096,
                len: 50
            })
        );
        assert_eq!(d.span(3), None);
        Ok(())
    }

    #[test]
    fn a_program_without_steps_is_the_empty_payload() -> Result {
        let payload = Builder::new().finish()?;
        assert!(payload.is_empty() && payload.capacity() == 0);
        let mut d = Decoder::new(&payload)?;
        assert_eq!(d.next_step(), None);
        assert_eq!(d.span(0), None);
        Ok(())
    }

    #[test]
    fn broken_payloads_fail_with_einval() -> Result {
        let mut b = Builder::new();
        let dst = b.operand(&[range(0, 0, 8)], 0, 0)?;
        b.step(Step::Timestamp { dst })?;
        let payload = b.finish()?;
        // Cut anywhere: the table or the step no longer decodes.
        for cut in 0..payload.len() {
            let part = &payload[..cut];
            match Decoder::new(part) {
                Err(e) => assert_eq!(e, EINVAL),
                Ok(mut d) => {
                    if let Some(step) = d.next_step() {
                        assert_eq!(step, Err(EINVAL));
                    }
                }
            }
        }
        // An unknown tag after the table.
        let mut bad = KVec::new();
        bad.extend_from_slice(&[0, 0, 0, 0, 0xff], GFP_KERNEL)?;
        assert_eq!(Decoder::new(&bad)?.next_step(), Some(Err(EINVAL)));
        Ok(())
    }

    #[test]
    fn programs_are_bounded_in_spans() -> Result {
        let mut b = Builder::new();
        let mut ranges = KVec::new();
        for i in 0..1024 {
            ranges.push(range(0, i, 1), GFP_KERNEL)?;
        }
        for _ in 0..MAX_SPANS / 1024 {
            b.operand(&ranges, 0, SPACE_VA)?;
        }
        assert_eq!(b.operand(&ranges[..1], 0, SPACE_VA).err(), Some(E2BIG));
        Ok(())
    }
}
