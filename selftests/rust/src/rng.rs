// SPDX-License-Identifier: GPL-2.0-only
//! A small deterministic random number generator for the selftests that draw inputs at random
//! (vaccel's random programs, the uAPI fuzzer): a failure reproduces from its seed.

/// xorshift64*: deterministic random numbers, so a failure reproduces from its seed.
pub struct Rng(u64);

impl Rng {
    /// A generator from a nonzero `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next 64 random bits. (Not `Iterator::next`: the sequence never ends.)
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}
