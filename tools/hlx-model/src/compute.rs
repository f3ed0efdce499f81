// SPDX-License-Identifier: GPL-2.0-only
//! The compute engines' vector unit: the VEC packet (Documentation/hlx.rst, "VEC").
//!
//! Elements are little-endian 32-bit integers and arithmetic wraps (two's complement),
//! so signedness only matters for MAX. The unit reads all of a packet's operands before
//! it writes any result, so operands may overlap the destination.

use crate::dma::{DataPath, Fault};
use crate::packets::{VecArgs, VecOp};

fn words(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect()
}

fn read_words(dp: &mut DataPath<'_>, va: u64, n: u64) -> Result<Vec<u32>, Fault> {
    let mut buf = vec![0u8; (n * 4) as usize];
    dp.read(va, &mut buf)?;
    Ok(words(&buf))
}

/// The result of `v` on operands `a` and `b` (already read).
pub fn evaluate(v: &VecArgs, a: &[u32], b: &[u32]) -> Vec<u32> {
    match v.op {
        VecOp::Gemv => a
            .chunks_exact(v.cols as usize)
            .map(|row| {
                row.iter()
                    .zip(b)
                    .fold(0u32, |acc, (x, y)| acc.wrapping_add(x.wrapping_mul(*y)))
            })
            .collect(),
        op => a
            .iter()
            .zip(b)
            .map(|(&x, &y)| match op {
                VecOp::Add => x.wrapping_add(y),
                VecOp::Sub => x.wrapping_sub(y),
                VecOp::Mul => x.wrapping_mul(y),
                VecOp::Max => (x as i32).max(y as i32) as u32,
                VecOp::Gemv => unreachable!(),
            })
            .collect(),
    }
}

/// Executes a VEC packet through an engine's data path.
pub fn execute(dp: &mut DataPath<'_>, v: &VecArgs) -> Result<(), Fault> {
    if v.count == 0 {
        return Ok(());
    }
    let count = u64::from(v.count);
    let (a_len, b_len) = match v.op {
        VecOp::Gemv => (count * u64::from(v.cols), u64::from(v.cols)),
        _ => (count, count),
    };
    let a = read_words(dp, v.a, a_len)?;
    let b = read_words(dp, v.b, b_len)?;
    let out: Vec<u8> = evaluate(v, &a, &b)
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    dp.write(v.dst, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(op: VecOp, count: u32, cols: u32) -> VecArgs {
        VecArgs {
            op,
            count,
            cols,
            dst: 0,
            a: 0,
            b: 0,
        }
    }

    #[test]
    fn elementwise_wraps() {
        let a = [u32::MAX, 5, (-3i32) as u32];
        let b = [2, 7, 1];
        assert_eq!(
            evaluate(&args(VecOp::Add, 3, 0), &a, &b),
            [1, 12, (-2i32) as u32]
        );
        assert_eq!(
            evaluate(&args(VecOp::Sub, 3, 0), &a, &b),
            [u32::MAX - 2, (-2i32) as u32, (-4i32) as u32]
        );
        assert_eq!(
            evaluate(&args(VecOp::Mul, 3, 0), &a, &b),
            [u32::MAX - 1, 35, (-3i32) as u32]
        );
        assert_eq!(
            evaluate(&args(VecOp::Max, 3, 0), &a, &b),
            [2, 7, 1],
            "signed: -1 < 2"
        );
    }

    #[test]
    fn gemv_is_row_major() {
        // [[1 2 3] [4 5 6]] x [1 0 -1] = [-2 -2]
        let a = [1, 2, 3, 4, 5, 6];
        let x = [1, 0, u32::MAX];
        assert_eq!(
            evaluate(&args(VecOp::Gemv, 2, 3), &a, &x),
            [(-2i32) as u32, (-2i32) as u32]
        );
    }
}
