// SPDX-License-Identifier: GPL-2.0-only

//! vaccel's execution: what each step of a compiled program does to the job's memory.
//!
//! The engine runs a job's payload (see `program`) step by step. Memory steps go through the
//! job's memory ([`xaccel::JobMemory`]), which the core mapped for the job; this module only
//! walks the operands' spans:
//!
//! - COPY moves matching pieces of its two operands with one `memmove` each: a BO-list copy is
//!   a single `memmove`. Overlapping operands in one address space (one BO-list entry, or the
//!   VM) are copied back to front when the destination is above the source, so the result is
//!   `memmove`'s.
//! - FILL fills each piece with the pattern rotated to the piece's position in the operand.
//! - The vector operations and SUM stream their operands through small stack buffers, so
//!   elements may straddle pieces and sit at any alignment; nothing is allocated while a job
//!   runs.

use crate::{
    isa::VectorOp,
    program::{Decoder, Operand, Step},
};
use kernel::{
    prelude::*,
    time::{delay::fsleep, Delta},
};
use xaccel::{sched::JobHandle, JobMemory};

/// What an engine does with a job.
pub(crate) enum Outcome {
    Done(Result),
    Hung,
    /// A reset or shutdown took the job away while it ran.
    Abandoned,
}

/// Bytes the streamed operations move at a time (a multiple of 4: whole elements).
const CHUNK: usize = 256;

/// Walks an operand's spans, from the front or from the back.
struct Cursor<'a> {
    program: &'a Decoder<'a>,
    /// Spans not started yet: `next..end` (from the back: `next` counts down to `end`).
    next: u32,
    end: u32,
    reverse: bool,
    /// What is left of the current span: slot, offset, length.
    current: (usize, u64, u64),
}

impl<'a> Cursor<'a> {
    fn new(program: &'a Decoder<'a>, operand: Operand, reverse: bool) -> Self {
        let (next, end) = if reverse {
            (operand.first + operand.count, operand.first)
        } else {
            (operand.first, operand.first + operand.count)
        };
        Self {
            program,
            next,
            end,
            reverse,
            current: (0, 0, 0),
        }
    }

    /// Bytes left in the current span, moving to the next nonempty one; `EINVAL` past the
    /// last (validation never builds such operands).
    fn avail(&mut self) -> Result<u64> {
        while self.current.2 == 0 {
            if self.next == self.end {
                return Err(EINVAL);
            }
            let index = if self.reverse {
                self.next -= 1;
                self.next
            } else {
                self.next += 1;
                self.next - 1
            };
            let span = self.program.span(index as usize).ok_or(EINVAL)?;
            self.current = (span.slot, span.offset, span.len);
        }
        Ok(self.current.2)
    }

    /// Takes `n <= avail()` bytes of the current span: its slot and the offset of the first.
    fn take(&mut self, n: u64) -> (usize, u64) {
        let (slot, offset, len) = self.current;
        self.current.2 = len - n;
        if self.reverse {
            (slot, offset + len - n)
        } else {
            self.current.1 = offset + n;
            (slot, offset)
        }
    }

    /// Reads the next `buf.len()` bytes of the operand.
    fn read(&mut self, memory: &JobMemory, buf: &mut [u8]) -> Result {
        let mut done = 0;
        while done < buf.len() {
            let n = self.avail()?.min((buf.len() - done) as u64);
            let (slot, offset) = self.take(n);
            let end = done + n as usize;
            memory.read(slot, offset, &mut buf[done..end])?;
            done = end;
        }
        Ok(())
    }

    /// Writes `buf` to the next `buf.len()` bytes of the operand.
    fn write(&mut self, memory: &JobMemory, buf: &[u8]) -> Result {
        let mut done = 0;
        while done < buf.len() {
            let n = self.avail()?.min((buf.len() - done) as u64);
            let (slot, offset) = self.take(n);
            let end = done + n as usize;
            memory.write(slot, offset, &buf[done..end])?;
            done = end;
        }
        Ok(())
    }
}

/// COPY: see the module documentation.
fn copy(program: &Decoder<'_>, memory: &JobMemory, dst: Operand, src: Operand, len: u64) -> Result {
    let overlapping_above = dst.space == src.space
        && dst.origin > src.origin
        && dst.origin < src.origin.saturating_add(len);
    let mut to = Cursor::new(program, dst, overlapping_above);
    let mut from = Cursor::new(program, src, overlapping_above);
    let mut left = len;
    while left > 0 {
        let n = left.min(to.avail()?).min(from.avail()?);
        let (dst_slot, dst_offset) = to.take(n);
        let (src_slot, src_offset) = from.take(n);
        memory.copy(dst_slot, dst_offset, src_slot, src_offset, n)?;
        left -= n;
    }
    Ok(())
}

/// FILL: byte `i` of the operand is byte `i % 4` of the little-endian pattern.
fn fill(program: &Decoder<'_>, memory: &JobMemory, dst: Operand, pattern: u32, len: u64) -> Result {
    let bytes = pattern.to_le_bytes();
    let mut to = Cursor::new(program, dst, false);
    let mut at = 0;
    while at < len {
        let n = (len - at).min(to.avail()?);
        let (slot, offset) = to.take(n);
        let phase = (at % 4) as usize;
        let rotated = [0, 1, 2, 3].map(|i| bytes[(phase + i) % 4]);
        memory.fill(slot, offset, n, &rotated)?;
        at += n;
    }
    Ok(())
}

/// The little-endian u32 at `at` of `buf`.
fn element(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

/// ADD, MUL, XOR, MAX over `count` elements, a chunk at a time.
fn vector(
    program: &Decoder<'_>,
    memory: &JobMemory,
    op: VectorOp,
    operands: [Operand; 3],
    count: u64,
) -> Result {
    let [dst, a, b] = operands;
    let (mut out, mut left, mut right) = (
        Cursor::new(program, dst, false),
        Cursor::new(program, a, false),
        Cursor::new(program, b, false),
    );
    let mut bytes = count.checked_mul(4).ok_or(EINVAL)?;
    let (mut x, mut y) = ([0u8; CHUNK], [0u8; CHUNK]);
    while bytes > 0 {
        let n = bytes.min(CHUNK as u64) as usize;
        left.read(memory, &mut x[..n])?;
        right.read(memory, &mut y[..n])?;
        for at in (0..n).step_by(4) {
            let r = op.apply(element(&x, at), element(&y, at));
            x[at..at + 4].copy_from_slice(&r.to_le_bytes());
        }
        out.write(memory, &x[..n])?;
        bytes -= n as u64;
    }
    Ok(())
}

/// SUM: the wrapping u64 sum of `count` u32 elements, written once all are read.
fn sum(
    program: &Decoder<'_>,
    memory: &JobMemory,
    dst: Operand,
    src: Operand,
    count: u64,
) -> Result {
    let mut from = Cursor::new(program, src, false);
    let mut bytes = count.checked_mul(4).ok_or(EINVAL)?;
    let mut buf = [0u8; CHUNK];
    let mut total = 0u64;
    while bytes > 0 {
        let n = bytes.min(CHUNK as u64) as usize;
        from.read(memory, &mut buf[..n])?;
        for at in (0..n).step_by(4) {
            total = total.wrapping_add(u64::from(element(&buf, at)));
        }
        bytes -= n as u64;
    }
    Cursor::new(program, dst, false).write(memory, &total.to_le_bytes())
}

/// Runs one step's memory work.
fn memory_step(program: &Decoder<'_>, memory: &JobMemory, step: Step) -> Result {
    match step {
        Step::Copy { dst, src, len } => copy(program, memory, dst, src, len),
        Step::Fill { dst, pattern, len } => fill(program, memory, dst, pattern, len),
        Step::Vector {
            op,
            dst,
            a,
            b,
            count,
        } => vector(program, memory, op, [dst, a, b], count),
        Step::Sum { dst, src, count } => sum(program, memory, dst, src, count),
        Step::Timestamp { dst } => {
            let now = xaccel::fence::Timestamp::now().as_nanos() as u64;
            Cursor::new(program, dst, false).write(memory, &now.to_le_bytes())
        }
        _ => Ok(()),
    }
}

/// Whether a compiled program takes no time: NOP and FAULT steps only (`false` for one that
/// does not decode, which `run` then fails).
pub(crate) fn is_instant(payload: &[u8]) -> bool {
    let Ok(mut program) = Decoder::new(payload) else {
        return false;
    };
    while let Some(step) = program.next_step() {
        if !matches!(step, Ok(Step::Nop | Step::Fault { .. })) {
            return false;
        }
    }
    true
}

/// Runs a job's program, sleeping `latency` before each step (the `packet_latency_us`
/// parameter). Between steps, a job that a reset took away is abandoned.
pub(crate) fn run(job: &JobHandle, latency: Delta) -> Outcome {
    let mut program = match Decoder::new(job.payload()) {
        Ok(program) => program,
        Err(e) => return Outcome::Done(Err(e)),
    };
    while let Some(step) = program.next_step() {
        if !job.is_current() {
            return Outcome::Abandoned;
        }
        if latency > Delta::ZERO {
            fsleep(latency);
        }
        let step = match step {
            Ok(step) => step,
            Err(e) => return Outcome::Done(Err(e)),
        };
        match step {
            Step::Nop => {}
            Step::Delay { usecs } => fsleep(Delta::from_micros(i64::from(usecs))),
            Step::Hang => return Outcome::Hung,
            // The parser allows 1..=4095 only: a valid errno.
            Step::Fault { code } => return Outcome::Done(Err(Error::from_errno(-(code as i32)))),
            step => {
                if let Err(e) = memory_step(&program, job.memory(), step) {
                    return Outcome::Done(Err(e));
                }
            }
        }
    }
    Outcome::Done(Ok(()))
}
