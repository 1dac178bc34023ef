//! Cache entries: a compact, versioned binary encoding of [`CompiledCodeStencil`].
//!
//! Layout (integers little-endian):
//!
//! ```text
//! header   magic "KILNCCE\0" (8; a translation memo has "KILNCCM\0", see `memo`) | format version u32 | compiler version (u16 length + UTF-8)
//!          | key (32) | payload length u64 | payload checksum u64
//! payload  code (u32 length + bytes) | alignment u32 | frame size u32
//!          | relocations: u32 count, each offset u32, kind u8, target (tag u8: 0 user + ref u32,
//!            1 libcall + index u8, 2 stack limit), addend i64
//!          | traps: u32 count, each offset u64, code (u8: builtin index, or 0xff + user u16)
//!          | source locations: u32 count, each start u32, end u32, (tag u8: 0 none, 1 + offset u32)
//!          | call sites: u32 count, each return offset u64
//!          | data ranges: u32 count, each start u32, end u32 (non-empty, increasing, disjoint)
//! ```
//!
//! Format 2 added the data ranges.
//!
//! Invariants:
//! - [`decode_entry`] never panics and never allocates more than the input's size: it is a
//!   bounds-checked reader that returns an [`EntryError`] for every malformed input;
//! - an entry is accepted only when the magic, [`ENTRY_FORMAT_VERSION`] and
//!   [`COMPILER_VERSION`] match, the key in the header is the key asked for (a *foreign*
//!   entry stored under another key is refused), the payload has exactly the declared length
//!   and checksum, every enum tag is known, every offset lies within the code, and no byte
//!   is left over. Any single changed payload word changes the checksum (see [`checksum`]),
//!   and every header field is compared, so a flipped bit anywhere is always refused;
//! - `decode_entry(key, &encode_entry(key, c)) == Ok(c)` for every compiled code `c`.

use super::key::{CacheKey, COMPILER_VERSION};
use crate::ir::{LibCall, RelSourceLoc, SourceLoc, TrapCode, UserExternalNameRef};
use crate::machinst::buffer::{MachCallSite, MachTrap, RelocKind, RelocTarget};
use crate::machinst::compiled::{CompiledReloc, CompiledSrcLoc};
use crate::machinst::CompiledCodeStencil;

/// The first 8 bytes of every entry.
pub const ENTRY_MAGIC: [u8; 8] = *b"KILNCCE\0";
/// Version of the entry format. Bump it whenever the layout above changes.
pub const ENTRY_FORMAT_VERSION: u32 = 2;
/// Longest compiler version string an entry may carry.
const MAX_VERSION_LEN: usize = 256;

/// Why bytes are not a usable entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// The input ended inside a field.
    #[error("truncated entry: {0} is cut off")]
    Truncated(&'static str),
    /// Not a Kiln cache entry at all.
    #[error("not a Kiln cache entry (bad magic)")]
    BadMagic,
    /// Written in another entry format.
    #[error("entry format version {found}, expected {expected}")]
    FormatVersion {
        /// In the entry.
        found: u32,
        /// Ours.
        expected: u32,
    },
    /// Written by another compiler build.
    #[error("written by compiler `{found}`, this is `{expected}`")]
    CompilerVersion {
        /// In the entry.
        found: String,
        /// Ours.
        expected: &'static str,
    },
    /// The entry belongs to another key (a foreign entry).
    #[error("entry is for key {found}, not {expected}")]
    KeyMismatch {
        /// In the entry.
        found: CacheKey,
        /// Asked for.
        expected: CacheKey,
    },
    /// The payload is shorter or longer than the header says.
    #[error("payload is {actual} bytes, header says {declared}")]
    Length {
        /// From the header.
        declared: u64,
        /// Present.
        actual: u64,
    },
    /// The payload's checksum does not match.
    #[error("payload checksum {actual:016x} does not match the header's {declared:016x}")]
    Checksum {
        /// From the header.
        declared: u64,
        /// Computed.
        actual: u64,
    },
    /// The payload is inconsistent (an unknown tag, an offset outside the code, ...).
    #[error("malformed payload: {0}")]
    Malformed(&'static str),
}

/// What the header of a well-formed entry says (for `kiln cache stats`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    /// The key the entry was written for.
    pub key: CacheKey,
    /// The compiled code's size in bytes.
    pub code_len: usize,
}

/// Encode `code` as the entry for `key`.
pub fn encode_entry(key: &CacheKey, code: &CompiledCodeStencil) -> Vec<u8> {
    let mut payload = Vec::with_capacity(
        32 + code.code.len()
            + code.relocs.len() * 18
            + code.traps.len() * 11
            + code.srclocs.len() * 13
            + code.call_sites.len() * 8
            + code.data_ranges.len() * 8,
    );
    encode_payload(&mut payload, code);
    with_header(&ENTRY_MAGIC, key, &payload)
}

/// `payload` behind the common header (see the module docs) with `magic`.
pub(super) fn with_header(magic: &[u8; 8], key: &CacheKey, payload: &[u8]) -> Vec<u8> {
    let version = &COMPILER_VERSION.as_bytes()[..COMPILER_VERSION.len().min(MAX_VERSION_LEN)];
    let mut out = Vec::with_capacity(8 + 4 + 2 + version.len() + 32 + 16 + payload.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&ENTRY_FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(version.len() as u16).to_le_bytes());
    out.extend_from_slice(version);
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&checksum(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Decode the entry for `key`; see the module docs for what is checked.
pub fn decode_entry(key: &CacheKey, bytes: &[u8]) -> Result<CompiledCodeStencil, EntryError> {
    decode_payload(payload_for(&ENTRY_MAGIC, key, bytes)?)
}

/// The payload of an entry with `magic` written for `key`, the header checked.
pub(super) fn payload_for<'a>(
    magic: &[u8; 8],
    key: &CacheKey,
    bytes: &'a [u8],
) -> Result<&'a [u8], EntryError> {
    let (found, payload) = decode_header(magic, bytes)?;
    if found != *key {
        return Err(EntryError::KeyMismatch {
            found,
            expected: *key,
        });
    }
    Ok(payload)
}

/// Check a whole code entry without knowing its key; returns the key it was written for.
/// (`cache::inspect_stored` also accepts translation memos.)
pub fn inspect_entry(bytes: &[u8]) -> Result<EntryInfo, EntryError> {
    let (key, payload) = decode_header(&ENTRY_MAGIC, bytes)?;
    let code = decode_payload(payload)?;
    Ok(EntryInfo {
        key,
        code_len: code.code.len(),
    })
}

/// A 64-bit checksum of `data`. Each 8-byte word `w` updates the state `h` by
/// `h = rotl((h ^ w) * K, 31)` — a bijection of `h` for fixed `w` and of `w` for fixed `h` —
/// so changing any one word (any number of bits in it) always changes the result; the
/// length is mixed in first, so zero padding of the last word is unambiguous. Not
/// cryptographic: the key (SHA-256) already names the content; this catches corruption.
pub fn checksum(data: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h: u64 = 0x6b69_6c6e_6361_6368 ^ (data.len() as u64).wrapping_mul(K);
    let mut step = |w: u64| h = (h ^ w).wrapping_mul(K).rotate_left(31);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        step(u64::from_le_bytes(w));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        step(u64::from_le_bytes(w));
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

pub(super) fn decode_header<'a>(
    magic: &[u8; 8],
    bytes: &'a [u8],
) -> Result<(CacheKey, &'a [u8]), EntryError> {
    let mut r = Reader::new(bytes);
    if r.take(8, "magic")? != magic {
        return Err(EntryError::BadMagic);
    }
    let format = r.u32("format version")?;
    if format != ENTRY_FORMAT_VERSION {
        return Err(EntryError::FormatVersion {
            found: format,
            expected: ENTRY_FORMAT_VERSION,
        });
    }
    let vlen = usize::from(r.u16("compiler version length")?);
    let version = r.take(vlen, "compiler version")?;
    if version != COMPILER_VERSION.as_bytes() {
        return Err(EntryError::CompilerVersion {
            found: String::from_utf8_lossy(version).into_owned(),
            expected: COMPILER_VERSION,
        });
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(r.take(32, "key")?);
    let declared = r.u64("payload length")?;
    let sum = r.u64("checksum")?;
    let payload = r.rest();
    if declared != payload.len() as u64 {
        return Err(EntryError::Length {
            declared,
            actual: payload.len() as u64,
        });
    }
    let actual = checksum(payload);
    if actual != sum {
        return Err(EntryError::Checksum {
            declared: sum,
            actual,
        });
    }
    Ok((CacheKey(key), payload))
}

const RELOC_KINDS: [RelocKind; 7] = [
    RelocKind::Abs4,
    RelocKind::Abs8,
    RelocKind::X86PCRel4,
    RelocKind::X86CallPCRel4,
    RelocKind::Arm64Call,
    RelocKind::Aarch64AdrPrelPgHi21,
    RelocKind::Aarch64AddAbsLo12Nc,
];

fn reloc_kind_code(kind: RelocKind) -> u8 {
    match kind {
        RelocKind::Abs4 => 0,
        RelocKind::Abs8 => 1,
        RelocKind::X86PCRel4 => 2,
        RelocKind::X86CallPCRel4 => 3,
        RelocKind::Arm64Call => 4,
        RelocKind::Aarch64AdrPrelPgHi21 => 5,
        RelocKind::Aarch64AddAbsLo12Nc => 6,
    }
}

/// A [`RelSourceLoc`] with this raw offset (built through the public constructor: relative
/// to base 0, or — for the offset `u32::MAX`, whose absolute form would be "no location" —
/// as location 0 relative to base 1).
fn rel_srcloc(offset: u32) -> RelSourceLoc {
    if offset == u32::MAX {
        RelSourceLoc::from_base_offset(SourceLoc::new(1), SourceLoc::new(0))
    } else {
        RelSourceLoc::from_base_offset(SourceLoc::new(0), SourceLoc::new(offset))
    }
}

fn encode_payload(out: &mut Vec<u8>, c: &CompiledCodeStencil) {
    let u32_ = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
    let u64_ = |out: &mut Vec<u8>, v: u64| out.extend_from_slice(&v.to_le_bytes());
    u32_(out, c.code.len() as u32);
    out.extend_from_slice(&c.code);
    u32_(out, c.alignment);
    u32_(out, c.frame_size);
    u32_(out, c.relocs.len() as u32);
    for r in &c.relocs {
        u32_(out, r.offset);
        out.push(reloc_kind_code(r.kind));
        match r.target {
            RelocTarget::User(n) => {
                out.push(0);
                u32_(out, n.as_u32());
            }
            RelocTarget::LibCall(l) => {
                out.push(1);
                out.push(LibCall::ALL.iter().position(|x| *x == l).unwrap_or(0xff) as u8);
            }
            RelocTarget::StackLimit => out.push(2),
        }
        u64_(out, r.addend as u64);
    }
    u32_(out, c.traps.len() as u32);
    for t in &c.traps {
        u64_(out, t.offset);
        match t.code {
            TrapCode::User(n) => {
                out.push(0xff);
                out.extend_from_slice(&n.to_le_bytes());
            }
            code => out.push(
                TrapCode::BUILTIN
                    .iter()
                    .position(|b| *b == code)
                    .unwrap_or(0xfe) as u8,
            ),
        }
    }
    u32_(out, c.srclocs.len() as u32);
    for s in &c.srclocs {
        u32_(out, s.start);
        u32_(out, s.end);
        match s.loc.offset() {
            None => out.push(0),
            Some(o) => {
                out.push(1);
                u32_(out, o);
            }
        }
    }
    u32_(out, c.call_sites.len() as u32);
    for cs in &c.call_sites {
        u64_(out, cs.ret_offset);
    }
    u32_(out, c.data_ranges.len() as u32);
    for d in &c.data_ranges {
        u32_(out, d.start);
        u32_(out, d.end);
    }
}

fn decode_payload(payload: &[u8]) -> Result<CompiledCodeStencil, EntryError> {
    let mut r = Reader::new(payload);
    let code_len = r.u32("code length")? as usize;
    let code = r.take(code_len, "code")?.to_vec();
    let len = code.len() as u64;
    let alignment = r.u32("alignment")?;
    if !alignment.is_power_of_two() {
        return Err(EntryError::Malformed("alignment is not a power of two"));
    }
    let frame_size = r.u32("frame size")?;
    let n = r.count(14, "relocation count")?;
    let mut relocs = Vec::with_capacity(n);
    for _ in 0..n {
        let offset = r.u32("relocation offset")?;
        if u64::from(offset) > len {
            return Err(EntryError::Malformed("relocation outside the code"));
        }
        let kind = *RELOC_KINDS
            .get(usize::from(r.u8("relocation kind")?))
            .ok_or(EntryError::Malformed("unknown relocation kind"))?;
        let target = match r.u8("relocation target")? {
            0 => RelocTarget::User(UserExternalNameRef::from_u32(r.u32("name reference")?)),
            1 => RelocTarget::LibCall(
                *LibCall::ALL
                    .get(usize::from(r.u8("libcall")?))
                    .ok_or(EntryError::Malformed("unknown libcall"))?,
            ),
            2 => RelocTarget::StackLimit,
            _ => return Err(EntryError::Malformed("unknown relocation target")),
        };
        let addend = r.u64("relocation addend")? as i64;
        relocs.push(CompiledReloc {
            offset,
            kind,
            target,
            addend,
        });
    }
    let n = r.count(9, "trap count")?;
    let mut traps = Vec::with_capacity(n);
    for _ in 0..n {
        let offset = r.u64("trap offset")?;
        if offset > len {
            return Err(EntryError::Malformed("trap outside the code"));
        }
        let code = match r.u8("trap code")? {
            0xff => TrapCode::User(r.u16("user trap code")?),
            i => *TrapCode::BUILTIN
                .get(usize::from(i))
                .ok_or(EntryError::Malformed("unknown trap code"))?,
        };
        traps.push(MachTrap { offset, code });
    }
    let n = r.count(9, "source location count")?;
    let mut srclocs = Vec::with_capacity(n);
    for _ in 0..n {
        let start = r.u32("source range start")?;
        let end = r.u32("source range end")?;
        if start > end || u64::from(end) > len {
            return Err(EntryError::Malformed("source range outside the code"));
        }
        let loc = match r.u8("source location")? {
            0 => RelSourceLoc::default(),
            1 => rel_srcloc(r.u32("source offset")?),
            _ => return Err(EntryError::Malformed("unknown source location tag")),
        };
        srclocs.push(CompiledSrcLoc { start, end, loc });
    }
    let n = r.count(8, "call site count")?;
    let mut call_sites = Vec::with_capacity(n);
    for _ in 0..n {
        let ret_offset = r.u64("call site")?;
        if ret_offset > len {
            return Err(EntryError::Malformed("call site outside the code"));
        }
        call_sites.push(MachCallSite { ret_offset });
    }
    let n = r.count(8, "data range count")?;
    let mut data_ranges: Vec<core::ops::Range<u32>> = Vec::with_capacity(n);
    for _ in 0..n {
        let start = r.u32("data range start")?;
        let end = r.u32("data range end")?;
        let after_previous = data_ranges.last().is_none_or(|p| p.end < start);
        if start >= end || u64::from(end) > len || !after_previous {
            return Err(EntryError::Malformed(
                "data range empty, out of order or outside the code",
            ));
        }
        data_ranges.push(start..end);
    }
    if !r.rest().is_empty() {
        return Err(EntryError::Malformed("bytes after the last field"));
    }
    Ok(CompiledCodeStencil {
        code,
        alignment,
        relocs,
        traps,
        srclocs,
        call_sites,
        data_ranges,
        frame_size,
    })
}

/// A bounds-checked little-endian reader.
pub(super) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    pub(super) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], EntryError> {
        if n > self.data.len() {
            return Err(EntryError::Truncated(what));
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], EntryError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    pub(super) fn u8(&mut self, what: &'static str) -> Result<u8, EntryError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(super) fn u16(&mut self, what: &'static str) -> Result<u16, EntryError> {
        self.array(what).map(u16::from_le_bytes)
    }

    pub(super) fn u32(&mut self, what: &'static str) -> Result<u32, EntryError> {
        self.array(what).map(u32::from_le_bytes)
    }

    pub(super) fn u64(&mut self, what: &'static str) -> Result<u64, EntryError> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// A u32 element count, refused when `count * min_size` exceeds what is left (so a
    /// corrupt count can never make the reader allocate more than the input's size).
    pub(super) fn count(
        &mut self,
        min_size: usize,
        what: &'static str,
    ) -> Result<usize, EntryError> {
        let n = self.u32(what)? as usize;
        if n.saturating_mul(min_size) > self.data.len() {
            return Err(EntryError::Truncated(what));
        }
        Ok(n)
    }

    pub(super) fn rest(&self) -> &'a [u8] {
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CompiledCodeStencil {
        CompiledCodeStencil {
            code: (0..40u8).collect(),
            alignment: 16,
            relocs: vec![
                CompiledReloc {
                    offset: 3,
                    kind: RelocKind::X86CallPCRel4,
                    target: RelocTarget::User(UserExternalNameRef::from_u32(1)),
                    addend: -4,
                },
                CompiledReloc {
                    offset: 12,
                    kind: RelocKind::Abs8,
                    target: RelocTarget::LibCall(LibCall::NearestF64),
                    addend: 0,
                },
                CompiledReloc {
                    offset: 20,
                    kind: RelocKind::Abs8,
                    target: RelocTarget::StackLimit,
                    addend: 0,
                },
            ],
            traps: vec![
                MachTrap {
                    offset: 30,
                    code: TrapCode::IntegerDivisionByZero,
                },
                MachTrap {
                    offset: 31,
                    code: TrapCode::User(700),
                },
            ],
            srclocs: vec![
                CompiledSrcLoc {
                    start: 0,
                    end: 8,
                    loc: RelSourceLoc::default(),
                },
                CompiledSrcLoc {
                    start: 8,
                    end: 16,
                    loc: rel_srcloc(5),
                },
                CompiledSrcLoc {
                    start: 16,
                    end: 40,
                    loc: rel_srcloc(u32::MAX),
                },
            ],
            call_sites: vec![MachCallSite { ret_offset: 7 }],
            data_ranges: vec![24..32, 36..40],
            frame_size: 48,
        }
    }

    #[test]
    fn round_trips() {
        let key = CacheKey([7; 32]);
        let c = sample();
        assert_eq!(rel_srcloc(u32::MAX).offset(), Some(u32::MAX));
        let bytes = encode_entry(&key, &c);
        assert_eq!(decode_entry(&key, &bytes), Ok(c.clone()));
        assert_eq!(inspect_entry(&bytes).unwrap().key, key);
        let empty = CompiledCodeStencil {
            code: vec![],
            alignment: 1,
            relocs: vec![],
            traps: vec![],
            srclocs: vec![],
            call_sites: vec![],
            data_ranges: vec![],
            frame_size: 0,
        };
        assert_eq!(decode_entry(&key, &encode_entry(&key, &empty)), Ok(empty));
    }

    #[test]
    fn differences_name_every_differing_part() {
        let a = sample();
        assert!(a.differences(&a).is_empty());
        let mut b = a.clone();
        b.data_ranges.pop();
        b.frame_size += 16;
        assert_eq!(a.differences(&b), ["data ranges", "frame size"]);
        let mut c = a.clone();
        c.code[3] ^= 1;
        c.call_sites.clear();
        assert_eq!(
            a.differences(&c),
            [
                "code (first difference at byte 0x3; 40 vs 40 bytes)",
                "call sites"
            ]
        );
    }

    #[test]
    fn every_truncation_and_every_bit_flip_is_refused() {
        let key = CacheKey([9; 32]);
        let bytes = encode_entry(&key, &sample());
        for n in 0..bytes.len() {
            assert!(decode_entry(&key, &bytes[..n]).is_err(), "truncated to {n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_entry(&key, &longer).is_err());
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                assert!(decode_entry(&key, &b).is_err(), "byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn foreign_and_wrong_version_entries_are_refused() {
        let key = CacheKey([1; 32]);
        let other = CacheKey([2; 32]);
        let bytes = encode_entry(&other, &sample());
        assert!(matches!(
            decode_entry(&key, &bytes),
            Err(EntryError::KeyMismatch { .. })
        ));
        let mut b = encode_entry(&key, &sample());
        b[8..12].copy_from_slice(&(ENTRY_FORMAT_VERSION + 1).to_le_bytes());
        assert!(matches!(
            decode_entry(&key, &b),
            Err(EntryError::FormatVersion { .. })
        ));
        let mut b = encode_entry(&key, &sample());
        b[14] ^= 0x20; // first byte of the compiler version
        assert!(matches!(
            decode_entry(&key, &b),
            Err(EntryError::CompilerVersion { .. })
        ));
    }

    #[test]
    fn malformed_payloads_with_valid_checksums_are_refused() {
        // Re-seal a modified payload so that only the payload validation can catch it.
        let key = CacheKey([3; 32]);
        let reseal = |payload: &[u8]| {
            let mut b = encode_entry(&key, &sample());
            let hdr = b.len() - {
                let mut p = Vec::new();
                encode_payload(&mut p, &sample());
                p.len()
            };
            b.truncate(hdr - 16);
            b.extend_from_slice(&(payload.len() as u64).to_le_bytes());
            b.extend_from_slice(&checksum(payload).to_le_bytes());
            b.extend_from_slice(payload);
            b
        };
        let mut p = Vec::new();
        encode_payload(&mut p, &sample());
        assert!(decode_entry(&key, &reseal(&p)).is_ok());
        // Every single-byte change of the payload, re-sealed: refused or a different value,
        // never a panic.
        for i in 0..p.len() {
            for v in [0u8, 0xff, p[i] ^ 1] {
                let mut q = p.clone();
                q[i] = v;
                if let Ok(c) = decode_entry(&key, &reseal(&q)) {
                    assert!(q == p || c != sample());
                }
            }
        }
        // A huge count is refused without allocating.
        let mut q = p.clone();
        let code_len = 40;
        let relocs_at = 4 + code_len + 8;
        q[relocs_at..relocs_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode_entry(&key, &reseal(&q)),
            Err(EntryError::Truncated(_))
        ));
    }

    #[test]
    fn checksum_sees_single_word_changes() {
        let data: Vec<u8> = (0..100u8).collect();
        let c = checksum(&data);
        for i in 0..data.len() {
            let mut d = data.clone();
            d[i] = d[i].wrapping_add(0x5a);
            assert_ne!(checksum(&d), c);
        }
        assert_ne!(checksum(&data[..99]), c);
        assert_ne!(checksum(&[]), checksum(&[0]));
    }
}
