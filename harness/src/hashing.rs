//! Deterministic hashing for seeds and names: [`splitmix64`] streams (case seeds, generator
//! bytes, variations) and FNV-1a ([`fnv1a`], case and module names, memory digests).
//!
//! Invariant: pure functions of their inputs, identical on every platform and run — saved
//! case names and campaign seeds depend on them.

/// SplitMix64: the next value of the stream `state`.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `min..max` bytes of the SplitMix64 stream of `seed` (the length drawn from it too).
pub fn seed_bytes(seed: u64, min: usize, max: usize) -> Vec<u8> {
    let mut s = seed;
    let len = min + (splitmix64(&mut s) % (max - min).max(1) as u64) as usize;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&splitmix64(&mut s).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The FNV-1a 64 offset basis (the starting state of [`fnv1a`]).
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a 64 over bytes, continuing from `state`.
pub fn fnv1a(state: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *state ^= u64::from(b);
        *state = state.wrapping_mul(0x0100_0000_01b3);
    }
}

/// FNV-1a 64 of `bytes`.
pub fn fnv1a_of(bytes: &[u8]) -> u64 {
    let mut h = FNV_OFFSET;
    fnv1a(&mut h, bytes);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // FNV-1a 64 of "a" (published test vector).
        assert_eq!(fnv1a_of(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_of(b""), FNV_OFFSET);
        let mut s = 0;
        // SplitMix64 from state 0 (published first output).
        assert_eq!(splitmix64(&mut s), 0xe220_a839_7b1d_cdaf);
    }
}
