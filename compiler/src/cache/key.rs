//! Cache keys: SHA-256 over a canonical, platform-independent encoding of everything that
//! determines a function's stencil-form machine code.
//!
//! The encoded input is, in this order:
//!
//! 1. the domain tag `"kiln-cache-key\0"` and [`KEY_FORMAT_VERSION`] (u32);
//! 2. [`COMPILER_VERSION`] (package version plus a hash of the compiler's sources);
//! 3. the target triple, as `target-lexicon` prints it;
//! 4. the settings fingerprint ([`Settings::fingerprint`]: architecture, every shared flag
//!    and every ISA flag, by name, in canonical order);
//! 5. the stencil ([`FunctionStencil`]) as it is — entity numbers included:
//!    the signature; the sizes of the instruction, value and block tables; the layout
//!    (blocks in order with their parameters, then their instructions with opcode,
//!    operands, immediates, block calls, results and *relative* source location); the
//!    values the layout does not define (below); then the tables instructions refer to:
//!    signatures, external functions (a user name by its `UserExternalNameRef` index —
//!    never the name itself — a libcall by its name), jump tables, constants and stack
//!    slots.
//!
//! Lengths, counts and entity numbers are LEB128 varints; immediates and other integers
//! are little-endian and fixed-width or zigzag varints; strings and lists are
//! length-prefixed, and every variant starts with a tag (an instruction with its
//! opcode). Every item is self-delimiting, so the encoding is prefix-free: two different
//! stencils never encode to the same bytes.
//!
//! It is compact (about 6.4 bytes per instruction on the `cache` benchmark's functions,
//! against 15 for a plain encoding of the same items) because most numbers are written
//! relative to what came before, where a decoder would know them too, and the common
//! cases fit in one flags byte per instruction:
//! - an instruction is its opcode byte, a flags byte (`F_NEXT` and the others below),
//!   its operands and immediates, then its results and the rest of its source location;
//! - its number: a flag when it is the previous instruction's plus one, else the
//!   difference;
//! - its source location: a delta of 0 to 29 from the previous location present sits in
//!   the flags; other deltas follow as a zigzag varint;
//! - values are written against a *cursor*, one past the last value defined in a
//!   block-parameter or result list: a defined value as its distance from the cursor
//!   (omitted when zero, the usual case), an operand as its distance below it (small:
//!   operands are mostly defined shortly before);
//! - the value table is not written value by value. Each entry of a parameter or result
//!   list carries the value's type and whether the value's definition is that very
//!   position (`Param(block, n)` / `Result(inst, n)`, *confirmed*). The usual result —
//!   one value, confirmed — is a flag and its type byte. A value is confirmed at most once
//!   (its definition names one position, and the layout holds each block and instruction
//!   at most once). After the layout come the types of the unused values (which the
//!   confirmed ones imply: every other value), then every defined value not confirmed
//!   anywhere, with its number, type and definition — none in a consistent function. So
//!   the table follows from the encoding exactly, consistent or not.
//!
//! Where the time goes (see `benches/benches/cache.rs`): SHA-256 about a quarter, the
//! rest mostly the loads of a walk through the layout, the instruction table, the result
//! lists and the value table — a walk that reads only each instruction's opcode and result
//! types already costs about a fifth of the key.
//!
//! Invariants:
//! - the key depends only on the items above: never on `std::hash::Hash` output, pointer
//!   values, the host, or the [`FunctionParameters`](crate::ir::FunctionParameters) (the
//!   function's name, callee names, base source location);
//! - computing a key never copies or renumbers the function: [`KeyPrefix::key`] streams
//!   the encoding into the hasher through a 2 KiB buffer and allocates nothing, except
//!   one bit per value in an inconsistent function (a second walk that finds the
//!   unconfirmed values); items 1–4 are hashed once per compiler ([`KeyPrefix::new`]) and
//!   cloned per function.

use crate::entity::EntityRef;
use crate::ir::{
    DataFlowGraph, ExternalName, FunctionStencil, Inst, InstructionData, Opcode, Signature,
    TrapCode, Type, Value, ValueDef, ValueList, ValueListPool,
};
use crate::settings::Settings;
use core::fmt;
use sha2::{Digest, Sha256};
use target_lexicon::Triple;

/// Version of the key encoding. Bump it whenever the encoding below changes.
pub const KEY_FORMAT_VERSION: u32 = 6;

/// The compiler's version as the cache sees it: the package version plus a hash of every
/// source file of the `kiln` crate (computed by its build script), so that entries written
/// by a different build of the compiler are never reused.
pub const COMPILER_VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), "+src.", env!("KILN_SOURCE_HASH"));

/// A cache key: 32 bytes of SHA-256. Displayed as 64 lowercase hex digits.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(pub [u8; 32]);

impl CacheKey {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parse 64 hex digits (either case). `None` for anything else.
    pub fn from_hex(text: &str) -> Option<CacheKey> {
        let b = text.as_bytes();
        if b.len() != 64 {
            return None;
        }
        let digit = |c: u8| -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            }
        };
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = digit(b[2 * i])? << 4 | digit(b[2 * i + 1])?;
        }
        Some(CacheKey(out))
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({self})")
    }
}

/// The hasher state after the compiler-dependent part of the key (items 1–4 of the module
/// docs). Build it once per compiler; [`KeyPrefix::key`] finishes a key per function.
#[derive(Clone)]
pub struct KeyPrefix {
    hasher: Sha256,
}

impl fmt::Debug for KeyPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyPrefix")
    }
}

impl KeyPrefix {
    /// The prefix for a compiler with this triple and these settings.
    pub fn new(triple: &Triple, settings: &Settings) -> Self {
        let mut sink = Sink::new(Sha256::new());
        let mut e = Encoder::new(&mut sink);
        e.bytes(b"kiln-cache-key\0");
        e.reserve();
        e.put_le(KEY_FORMAT_VERSION.to_le_bytes());
        e.str(COMPILER_VERSION);
        e.str(&triple.to_string());
        e.bytes(&settings.fingerprint());
        e.flush();
        KeyPrefix {
            hasher: sink.hasher,
        }
    }

    /// The key of a module's translation memo (see `cache::memo`): this prefix and the
    /// module's environment digest.
    pub fn memo_key(&self, environment: &[u8; 32]) -> CacheKey {
        let mut hasher = self.hasher.clone();
        hasher.update(b"\0kiln-module-memo\0");
        hasher.update(environment);
        CacheKey(hasher.finalize().into())
    }

    /// The key of `stencil` compiled by the compiler this prefix describes.
    pub fn key(&self, stencil: &FunctionStencil) -> CacheKey {
        let mut sink = Sink::new(self.hasher.clone());
        encode_stencil(&mut sink, stencil);
        CacheKey(sink.hasher.finalize().into())
    }
}

/// The key of `stencil` for a compiler with `triple` and `settings` (builds a fresh
/// [`KeyPrefix`]; compilers keep theirs).
pub fn compute_key(triple: &Triple, settings: &Settings, stencil: &FunctionStencil) -> CacheKey {
    KeyPrefix::new(triple, settings).key(stencil)
}

/// Bytes hashed at a time: small enough to stay in L1 while they are hashed.
const CHUNK: usize = 2048;
/// Room past [`CHUNK`] for what is written between two [`Encoder::reserve`] calls: the
/// bounded part of one instruction (under 64 bytes), one list element or one short item.
const SLACK: usize = 256;

/// The hasher and the buffer of encoded bytes not yet hashed. The fill index is not here
/// but in the [`Encoder`], a local value whose fields stay in registers: an index behind a
/// reference is stored and re-read on every byte, one store-to-load latency per byte.
struct Sink {
    hasher: Sha256,
    buf: [u8; CHUNK + SLACK],
}

impl Sink {
    fn new(hasher: Sha256) -> Self {
        Sink {
            hasher,
            buf: [0; CHUNK + SLACK],
        }
    }
}

/// Streams the canonical encoding into a [`Sink`]: bytes are hashed about 2 KiB at a
/// time while still in L1, and nothing is allocated. Chunking does not change the key:
/// SHA-256 of a stream is the same however it is cut.
///
/// The writers (`put`, `var`, …) do not check for room: the caller calls
/// [`Encoder::reserve`] first, once per instruction, list element or short item, so that
/// the hot loop checks once per instruction instead of once per byte. Forgetting to
/// reserve can only panic on an out-of-bounds index, never change a key.
///
/// Besides the fill index it carries the state of the relative encodings (see the module
/// docs): the value cursor, the previous instruction number and source location, and the
/// number of values confirmed so far.
struct Encoder<'a> {
    sink: &'a mut Sink,
    pos: usize,
    /// One past the last value defined (as a block parameter or result) so far.
    cursor: u32,
    prev_inst: i64,
    prev_loc: u32,
    /// Values confirmed in a definition list so far (each is confirmed at most once).
    confirmed: usize,
}

impl<'a> Encoder<'a> {
    fn new(sink: &'a mut Sink) -> Self {
        Encoder {
            sink,
            pos: 0,
            cursor: 0,
            prev_inst: -1,
            prev_loc: 0,
            confirmed: 0,
        }
    }

    /// Make room for [`SLACK`] more bytes.
    #[inline(always)]
    fn reserve(&mut self) {
        if self.pos >= CHUNK {
            self.flush();
        }
    }

    /// Hash the buffer and empty it.
    #[inline(always)]
    fn flush(&mut self) {
        hash_buffered(self.sink, self.pos);
        self.pos = 0;
    }

    #[inline(always)]
    fn put(&mut self, v: u8) {
        self.sink.buf[self.pos] = v;
        self.pos += 1;
    }

    #[inline(always)]
    fn put_le<const N: usize>(&mut self, b: [u8; N]) {
        self.sink.buf[self.pos..self.pos + N].copy_from_slice(&b);
        self.pos += N;
    }

    /// Bytes of any length, reserving as it goes.
    #[inline(always)]
    fn bytes(&mut self, b: &[u8]) {
        for piece in b.chunks(SLACK) {
            self.reserve();
            self.sink.buf[self.pos..self.pos + piece.len()].copy_from_slice(piece);
            self.pos += piece.len();
        }
    }

    /// LEB128: seven bits per byte, low first, the high bit set on all but the last.
    #[inline(always)]
    fn var(&mut self, v: u64) {
        if v < 0x80 {
            self.put(v as u8);
        } else {
            self.var_long(v);
        }
    }

    #[inline(always)]
    fn var_long(&mut self, v: u64) {
        self.pos = var_long(&mut self.sink.buf, self.pos, v);
    }

    /// A signed difference as a zigzag LEB128 (small magnitudes of either sign are short).
    #[inline(always)]
    fn signed(&mut self, d: i64) {
        self.var(zigzag(d));
    }

    #[inline(always)]
    fn len(&mut self, n: usize) {
        self.var(n as u64);
    }

    #[inline(always)]
    fn str(&mut self, s: &str) {
        self.reserve();
        self.len(s.len());
        self.bytes(s.as_bytes());
    }

    #[inline(always)]
    fn entity<E: EntityRef>(&mut self, e: E) {
        self.var(e.index() as u64);
    }

    #[inline(always)]
    fn types(&mut self, ts: &[Type]) {
        self.reserve();
        self.len(ts.len());
        for &t in ts {
            self.reserve();
            self.put(t as u8);
        }
    }

    #[inline(always)]
    fn signature(&mut self, s: &Signature) {
        self.types(&s.params);
        self.types(&s.returns);
    }

    /// A value used as an operand: its distance below the cursor (usually one byte, as
    /// operands are mostly values defined shortly before).
    #[inline(always)]
    fn operand(&mut self, v: Value) {
        self.signed(i64::from(self.cursor) - 1 - v.index() as i64);
    }

    /// A list of operands (call arguments, block-call arguments).
    #[inline(always)]
    fn operands(&mut self, pool: &ValueListPool, list: ValueList) {
        let vs = pool.get(list);
        self.reserve();
        self.len(vs.len());
        for &v in vs {
            self.reserve();
            self.operand(v);
        }
    }

    /// A definition list (a block's parameters, or results outside the one-result fast
    /// path): its length, then one byte per value (type or [`TY_MISSING`], plus
    /// [`TY_UNCONFIRMED`] and [`TY_MOVED`]) and, when the value is not the cursor, its
    /// distance from it. `expected(n)` is the definition a value at position `n` has in a
    /// consistent function; a value whose definition says so is confirmed here.
    #[inline(always)]
    fn defs(&mut self, dfg: &DataFlowGraph, vs: &[Value], expected: impl Fn(u16) -> ValueDef) {
        self.reserve();
        self.len(vs.len());
        for (n, &v) in vs.iter().enumerate() {
            self.reserve();
            let mut byte = match dfg.values.get(v) {
                Some(data) => data.ty as u8,
                None => TY_MISSING,
            };
            if confirms(dfg, v, n, &expected) {
                self.confirmed += 1;
            } else {
                byte |= TY_UNCONFIRMED;
            }
            self.def_position(v, byte);
        }
    }

    /// The type byte of a value defined in a list and, when the value is not the cursor,
    /// [`TY_MOVED`] and its distance from it; the cursor moves past the value.
    #[inline(always)]
    fn def_position(&mut self, v: Value, byte: u8) {
        let i = v.index() as u32;
        if i == self.cursor {
            self.put(byte);
        } else {
            self.put(byte | TY_MOVED);
            self.signed(i64::from(i) - i64::from(self.cursor));
        }
        self.cursor = i.wrapping_add(1);
    }

    /// One instruction of the layout: opcode, [`InstFlags`] byte, the number's delta when
    /// not the next, operands and immediates, results, and the source location's delta
    /// when the flags cannot hold it. The caller has reserved.
    #[inline(always)]
    fn inst(&mut self, s: &FunctionStencil, inst: Inst) {
        let dfg = &s.dfg;
        let data = dfg.insts.get(inst);
        let results = dfg.inst_results(inst);
        let number = inst.index() as i64;
        let mut flags = 0u8;
        if number == self.prev_inst + 1 {
            flags |= F_NEXT;
        }
        let mut one_result = None;
        match *results {
            [] => {}
            [v] => match dfg.values.get(v) {
                Some(d) if d.def == ValueDef::Result(inst, 0) => {
                    flags |= F_ONE_RESULT;
                    one_result = Some((v, d.ty as u8));
                }
                _ => flags |= F_RESULT_LIST,
            },
            _ => flags |= F_RESULT_LIST,
        }
        let loc = s.srclocs.get(inst).offset();
        let loc_delta = loc.map(|off| i64::from(off) - i64::from(self.prev_loc));
        flags |= match loc_delta {
            None => 0,
            Some(d @ 0..=LOC_INLINE_MAX) => (d as u8 + 1) << LOC_SHIFT,
            Some(_) => LOC_EXPLICIT << LOC_SHIFT,
        };
        self.put_le([data.map_or(TAG_BAD_INST, |d| d.opcode() as u8), flags]);
        if flags & F_NEXT == 0 {
            self.signed(number - self.prev_inst);
        }
        self.prev_inst = number;
        if let Some(data) = data {
            encode_inst(self, &dfg.value_lists, data);
        }
        if let Some((v, ty)) = one_result {
            self.reserve();
            self.confirmed += 1;
            self.def_position(v, ty);
        } else if flags & F_RESULT_LIST != 0 {
            self.defs(dfg, results, |n| ValueDef::Result(inst, n));
        }
        if let Some(off) = loc {
            if flags >> LOC_SHIFT == LOC_EXPLICIT {
                self.reserve();
                self.signed(i64::from(off) - i64::from(self.prev_loc));
            }
            self.prev_loc = off;
        }
    }

    #[inline(always)]
    fn trap_code(&mut self, code: TrapCode) {
        match code {
            TrapCode::User(n) => {
                self.put(0xff);
                self.put_le(n.to_le_bytes());
            }
            c => {
                let i = TrapCode::BUILTIN
                    .iter()
                    .position(|b| *b == c)
                    .unwrap_or(0xfe);
                self.put(i as u8);
            }
        }
    }
}

/// The out-of-line halves of [`Encoder::flush`] and [`Encoder::var_long`]. They take the
/// sink and the fill index by value, never the encoder: an encoder whose address reaches a
/// call that is not inlined lives in memory, and its fill index is stored and reloaded on
/// every byte, one store-to-load latency each (keeping it in registers made the key about
/// 15 % faster on the `cache` benchmark).
#[cold]
#[inline(never)]
fn hash_buffered(sink: &mut Sink, len: usize) {
    sink.hasher.update(&sink.buf[..len]);
}

/// LEB128 of `v` (at least `0x80`) at `pos`; returns the index past it.
#[inline(never)]
fn var_long(buf: &mut [u8; CHUNK + SLACK], mut pos: usize, mut v: u64) -> usize {
    while v >= 0x80 {
        buf[pos] = v as u8 | 0x80;
        pos += 1;
        v >>= 7;
    }
    buf[pos] = v as u8;
    pos + 1
}

/// Whether `v`, at position `n` of a definition list, is confirmed there: its definition
/// is `expected(n)`, the definition a value at that position has in a consistent function.
#[inline(always)]
fn confirms(dfg: &DataFlowGraph, v: Value, n: usize, expected: impl Fn(u16) -> ValueDef) -> bool {
    match (dfg.values.get(v), u16::try_from(n)) {
        (Some(data), Ok(n)) => data.def == expected(n),
        _ => false,
    }
}

/// The values confirmed in the layout's definition lists, one bit per value: the same
/// test as [`Encoder::defs`] and the one-result fast path, in a second walk that only runs
/// when some value is not confirmed.
fn confirmed_set(s: &FunctionStencil) -> Vec<u64> {
    let dfg = &s.dfg;
    let mut set = vec![0u64; dfg.values.len().div_ceil(64)];
    let mut mark = |vs: &[Value], expected: &dyn Fn(u16) -> ValueDef| {
        for (n, &v) in vs.iter().enumerate() {
            if confirms(dfg, v, n, expected) {
                set[v.index() / 64] |= 1 << (v.index() % 64);
            }
        }
    };
    for block in s.layout.blocks() {
        mark(dfg.block_params(block), &|n| ValueDef::Param(block, n));
        for inst in s.layout.block_insts(block) {
            mark(dfg.inst_results(inst), &|n| ValueDef::Result(inst, n));
        }
    }
    set
}

/// `d` zigzag-encoded: 0, -1, 1, -2, … become 0, 1, 2, 3, …
#[inline(always)]
fn zigzag(d: i64) -> u64 {
    ((d << 1) ^ (d >> 63)) as u64
}

/// Bytes in definition lists: a type's number or [`TY_MISSING`] for a value the table
/// lacks; plus [`TY_UNCONFIRMED`] when the value's definition is not this position (it is
/// then listed after the layout), plus [`TY_MOVED`] when a distance from the cursor follows.
const TY_MISSING: u8 = 0x3f;
const TY_UNCONFIRMED: u8 = 0x40;
const TY_MOVED: u8 = 0x80;
/// Ends the types of the unused values.
const TY_END: u8 = 0xff;
const _: () = assert!(Type::ALL.len() < TY_MISSING as usize);

/// The flags byte after an instruction's opcode. Bit 0 ([`F_NEXT`]): the instruction's
/// number is the previous one's plus one (else a zigzag delta follows). Bits 1–2: the
/// results — none (0), [`F_ONE_RESULT`] (one result: the value at the cursor, defined as
/// this instruction's result 0; only its type byte follows the operands), or
/// [`F_RESULT_LIST`] (a definition list follows, as for block parameters). Bits 3–7: the
/// source location — 0 none, `d + 1` for a delta `d` in `0..=LOC_INLINE_MAX` from the
/// previous location present, [`LOC_EXPLICIT`] for any other delta, which follows last as
/// a zigzag LEB128.
const F_NEXT: u8 = 0x01;
const F_ONE_RESULT: u8 = 0x02;
const F_RESULT_LIST: u8 = 0x04;
const LOC_SHIFT: u32 = 3;
const LOC_EXPLICIT: u8 = 0x1f;
const LOC_INLINE_MAX: i64 = LOC_EXPLICIT as i64 - 2;

/// Section tags. Inside a block, each instruction starts with its opcode byte (below
/// [`TAG_BLOCK`]) or [`TAG_BAD_INST`], so the block and layout tags need no instruction tag
/// to stay unambiguous.
const TAG_STENCIL: u8 = 0xA0;
const TAG_BLOCK: u8 = 0xA1;
const TAG_LAYOUT_END: u8 = 0xA3;
const TAG_BAD_INST: u8 = 0xFF;
const _: () = assert!(Opcode::ALL.len() < TAG_STENCIL as usize);

/// Hash the encoding of `s` into `sink`. The [`Encoder`] is local to this function (every
/// method the layout walk calls is inlined), so its fields live in registers.
fn encode_stencil(sink: &mut Sink, s: &FunctionStencil) {
    let mut e = Encoder::new(sink);
    let e = &mut e;
    let dfg = &s.dfg;
    let pool = &dfg.value_lists;
    e.reserve();
    e.put(TAG_STENCIL);
    e.signature(&s.signature);
    e.reserve();
    e.len(dfg.insts.len());
    e.len(dfg.values.len());
    e.len(dfg.blocks.len());
    for block in s.layout.blocks() {
        e.reserve();
        e.put(TAG_BLOCK);
        e.entity(block);
        e.defs(dfg, dfg.block_params(block), |n| ValueDef::Param(block, n));
        let mut next = s.layout.first_inst(block);
        while let Some(inst) = next {
            e.reserve();
            e.inst(s, inst);
            next = s.layout.next_inst(inst);
        }
    }
    e.reserve();
    e.put(TAG_LAYOUT_END);
    // The values no definition list confirms. In a consistent function these are the
    // unused values, which the confirmed ones imply: only their types follow, in order,
    // then [`TY_END`]. The values whose definition no list confirms follow, with their
    // number (as a gap), type and definition: none in a consistent function.
    let values = dfg.values.as_slice();
    let mut defined = 0usize;
    for group in values.chunks(64) {
        e.reserve();
        // Branch-free (most values are defined, but not in a predictable pattern), into a
        // window with one bounds check per group of 64 (`n & 63` is `n`: a write follows
        // at most 63 others, and the mask lets the compiler drop the per-value check).
        let out = &mut e.sink.buf[e.pos..e.pos + 64];
        let mut n = 0usize;
        for v in group {
            let unused = matches!(v.def, ValueDef::Unused);
            out[n & 63] = v.ty as u8;
            n += usize::from(unused);
        }
        e.pos += n;
        defined += group.len() - n;
    }
    e.reserve();
    e.put(TY_END);
    let unconfirmed = defined - e.confirmed;
    e.len(unconfirmed);
    if unconfirmed != 0 {
        let confirmed = confirmed_set(s);
        let mut prev = 0usize;
        for (i, v) in values.iter().enumerate() {
            if v.def == ValueDef::Unused || confirmed[i / 64] & 1 << (i % 64) != 0 {
                continue;
            }
            e.reserve();
            e.len(i - prev);
            prev = i;
            e.put(v.ty as u8);
            match v.def {
                ValueDef::Result(i, n) => {
                    e.put(0);
                    e.entity(i);
                    e.var(u64::from(n));
                }
                ValueDef::Param(b, n) => {
                    e.put(1);
                    e.entity(b);
                    e.var(u64::from(n));
                }
                ValueDef::Unused => {}
            }
        }
    }
    e.reserve();
    e.len(dfg.signatures.len());
    for sig in dfg.signatures.values() {
        e.signature(sig);
    }
    e.reserve();
    e.len(dfg.ext_funcs.len());
    for f in dfg.ext_funcs.values() {
        e.reserve();
        match f.name {
            ExternalName::User(r) => {
                e.put(0);
                e.entity(r);
            }
            ExternalName::LibCall(l) => {
                e.put(1);
                e.str(l.name());
            }
        }
        e.reserve();
        e.entity(f.signature);
    }
    e.reserve();
    e.len(dfg.jump_tables.len());
    for jt in dfg.jump_tables.values() {
        let branches = jt.all_branches();
        e.reserve();
        e.len(branches.len());
        for bc in branches {
            e.reserve();
            e.entity(bc.block);
            e.operands(pool, bc.args);
        }
    }
    e.reserve();
    e.len(dfg.constants.len());
    for c in dfg.constants.values() {
        e.reserve();
        e.len(c.len());
        e.bytes(c);
    }
    e.reserve();
    e.len(s.stack_slots.len());
    for ss in s.stack_slots.values() {
        e.reserve();
        e.put_le(ss.size.to_le_bytes());
        e.put(ss.align_shift);
    }
    e.flush();
}

#[inline(always)]
fn encode_inst(e: &mut Encoder, pool: &ValueListPool, data: &InstructionData) {
    use InstructionData::*;
    match *data {
        UnaryImm { imm, .. } => e.signed(imm),
        UnaryIeee { bits, .. } => e.put_le(bits.to_le_bytes()),
        UnaryConst { constant, .. } => e.entity(constant),
        Unary { arg, .. } => e.operand(arg),
        Binary { args, .. } => {
            e.operand(args[0]);
            e.operand(args[1]);
        }
        Ternary { args, .. } => {
            e.operand(args[0]);
            e.operand(args[1]);
            e.operand(args[2]);
        }
        IntCompare { cond, args, .. } => {
            e.put(cond as u8);
            e.operand(args[0]);
            e.operand(args[1]);
        }
        FloatCompare { cond, args, .. } => {
            e.put(cond as u8);
            e.operand(args[0]);
            e.operand(args[1]);
        }
        ExtractLane { arg, lane, .. } => {
            e.operand(arg);
            e.put(lane);
        }
        InsertLane { args, lane, .. } => {
            e.operand(args[0]);
            e.operand(args[1]);
            e.put(lane);
        }
        Shuffle { args, mask, .. } => {
            e.operand(args[0]);
            e.operand(args[1]);
            e.entity(mask);
        }
        Load {
            flags, arg, offset, ..
        } => {
            e.put(flags.bits());
            e.operand(arg);
            e.signed(i64::from(offset));
        }
        Store {
            flags,
            args,
            offset,
            ..
        } => {
            e.put(flags.bits());
            e.operand(args[0]);
            e.operand(args[1]);
            e.signed(i64::from(offset));
        }
        MemLane {
            flags,
            args,
            offset,
            lane,
            ..
        } => {
            e.put(flags.bits());
            e.operand(args[0]);
            e.operand(args[1]);
            e.signed(i64::from(offset));
            e.put(lane);
        }
        StackLoad { slot, offset, .. } => {
            e.entity(slot);
            e.signed(i64::from(offset));
        }
        StackStore {
            arg, slot, offset, ..
        } => {
            e.operand(arg);
            e.entity(slot);
            e.signed(i64::from(offset));
        }
        Jump { destination, .. } => {
            e.entity(destination.block);
            e.operands(pool, destination.args);
        }
        Brif { arg, blocks, .. } => {
            e.operand(arg);
            for bc in blocks {
                e.entity(bc.block);
                e.operands(pool, bc.args);
            }
        }
        BranchTable { arg, table, .. } => {
            e.operand(arg);
            e.entity(table);
        }
        MultiAry { args, .. } => e.operands(pool, args),
        Trap { code, .. } => e.trap_code(code),
        CondTrap { arg, code, .. } => {
            e.operand(arg);
            e.trap_code(code);
        }
        Call { func_ref, args, .. } => {
            e.entity(func_ref);
            e.operands(pool, args);
        }
        CallIndirect { sig_ref, args, .. } => {
            e.entity(sig_ref);
            e.operands(pool, args);
        }
        FuncAddr { func_ref, .. } => e.entity(func_ref),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiler::parse_triple;
    use crate::ir::text::parse_functions;
    use crate::ir::{Block, Function, Inst, SourceLoc, UserExternalName, UserFuncName};
    use crate::isa::Arch;

    const SRC: &str = "function %f(i64) -> i64 {
    sig0 = (i64) -> i64
    fn0 = u0:7 sig0
block0(v0: i64):
    v1 = iconst.i64 5
    v2 = iadd v0, v1
    v3 = call fn0(v2)
    brif v3, block1, block2(v3)
block1:
    return v0
block2(v4: i64):
    return v4
}
";

    fn prefix(arch: Arch) -> KeyPrefix {
        let t = parse_triple(arch.name()).unwrap();
        KeyPrefix::new(&t, &Settings::new(arch))
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let k = CacheKey([0xab; 32]);
        assert_eq!(CacheKey::from_hex(&k.to_string()), Some(k));
        assert_eq!(CacheKey::from_hex(&k.to_string().to_uppercase()), Some(k));
        assert_eq!(CacheKey::from_hex("ab"), None);
        assert_eq!(CacheKey::from_hex(&"g".repeat(64)), None);
        assert_eq!(CacheKey::from_hex(&"é".repeat(32)), None);
    }

    #[test]
    fn parameters_do_not_enter_the_key_but_the_stencil_and_target_do() {
        let f = &parse_functions(SRC).unwrap()[0];
        let p = prefix(Arch::X86_64);
        let k = p.key(&f.stencil);
        assert_eq!(k, p.key(&f.stencil), "deterministic");
        let mut g = f.clone();
        g.params.name = UserFuncName::testcase("other");
        let r = g.params.user_named_funcs().keys().next().unwrap();
        g.params.rename_user_name(r, UserExternalName::new(3, 99));
        g.params.rebase_srclocs(1000);
        assert_eq!(p.key(&g.stencil), k);
        assert_ne!(prefix(Arch::Aarch64).key(&f.stencil), k);
        let mut s = Settings::new(Arch::X86_64);
        s.set("regalloc", "single_pass").unwrap();
        let t = parse_triple("x86_64").unwrap();
        assert_ne!(KeyPrefix::new(&t, &s).key(&f.stencil), k);
        // A relative source location is part of the stencil.
        let mut h = f.clone();
        let inst = h
            .layout
            .first_inst(h.layout.entry_block().unwrap())
            .unwrap();
        h.set_srcloc(inst, SourceLoc::new(40));
        assert_ne!(p.key(&h.stencil), k);
        // An immediate.
        let mut h = f.clone();
        if let InstructionData::UnaryImm { imm, .. } = &mut h.dfg.insts[inst] {
            *imm = 6;
        }
        assert_ne!(p.key(&h.stencil), k);
    }

    #[test]
    fn value_definitions_enter_the_key_even_where_the_lists_imply_them() {
        use crate::ir::{Value, ValueData};
        let f = &parse_functions(SRC).unwrap()[0];
        let p = prefix(Arch::X86_64);
        let k = p.key(&f.stencil);
        let v2 = Value::new(2);
        assert_eq!(f.dfg.values[v2].def, ValueDef::Result(Inst::new(1), 0));
        let mut keys = vec![k];
        let mut differs = |g: &Function, what: &str| {
            let key = p.key(&g.stencil);
            assert!(!keys.contains(&key), "{what}: the key did not change");
            keys.push(key);
        };
        // A result whose definition names another position, or nothing.
        for def in [
            ValueDef::Unused,
            ValueDef::Result(Inst::new(0), 0),
            ValueDef::Result(Inst::new(1), 1),
            ValueDef::Param(Block::new(0), 0),
        ] {
            let mut g = f.clone();
            g.dfg.values[v2].def = def;
            differs(&g, &format!("v2 defined as {def:?}"));
        }
        // The type of a value: listed in a result list, and unused.
        let mut g = f.clone();
        g.dfg.values[v2].ty = Type::I32;
        differs(&g, "v2's type");
        for ty in [Type::I64, Type::F32] {
            let mut g = f.clone();
            g.dfg.values.push(ValueData {
                ty,
                def: ValueDef::Unused,
            });
            differs(&g, &format!("an unused {ty:?} value"));
        }
        // One value at two positions (iconst's and iadd's result), defined by either.
        let iadd = Inst::new(1);
        for def in [ValueDef::Result(Inst::new(0), 0), ValueDef::Result(iadd, 0)] {
            let mut g = f.clone();
            let results = g.dfg.results[iadd];
            g.dfg.value_lists.get_mut(results)[0] = Value::new(1);
            g.dfg.values[Value::new(1)].def = def;
            differs(&g, &format!("v1 at two positions, defined as {def:?}"));
        }
        // An operand.
        let mut g = f.clone();
        if let InstructionData::Binary { args, .. } = &mut g.dfg.insts[iadd] {
            args[1] = Value::new(0);
        }
        differs(&g, "iadd's operand");
    }

    #[test]
    fn source_location_deltas_at_the_flag_boundary_give_distinct_keys() {
        // Deltas 0..=29 sit in the flags byte, others follow the instruction: each delta,
        // and no location at all, gives its own key.
        let f = &parse_functions(SRC).unwrap()[0];
        let p = prefix(Arch::X86_64);
        let insts: Vec<Inst> = f
            .layout
            .blocks()
            .flat_map(|b| f.layout.block_insts(b))
            .collect();
        let mut keys = vec![p.key(&f.stencil)];
        for second in [
            None,
            Some(100),
            Some(101),
            Some(128),
            Some(129),
            Some(130),
            Some(99),
        ] {
            let mut g = f.clone();
            g.set_srcloc(insts[0], SourceLoc::new(100));
            if let Some(loc) = second {
                g.set_srcloc(insts[1], SourceLoc::new(loc));
            }
            let key = p.key(&g.stencil);
            assert!(!keys.contains(&key), "second location {second:?}");
            keys.push(key);
        }
    }

    #[test]
    fn instruction_numbers_out_of_order_enter_the_key() {
        // The layout usually holds instructions in number order (one flag bit each); two
        // swapped instructions are another stencil.
        let f = &parse_functions(SRC).unwrap()[0];
        let p = prefix(Arch::X86_64);
        let mut g = f.clone();
        let block = g.layout.entry_block().unwrap();
        let first = g.layout.first_inst(block).unwrap();
        let second = g.layout.next_inst(first).unwrap();
        let third = g.layout.next_inst(second).unwrap();
        g.layout.remove_inst(first);
        g.layout.insert_inst_before(first, third);
        assert_ne!(p.key(&g.stencil), p.key(&f.stencil));
    }

    #[test]
    fn key_is_sha256_of_the_encoding_the_module_docs_describe() {
        // The bytes below are derived by hand from the module docs, not taken from the
        // encoder: a change to the encoding fails here until this derivation and
        // `KEY_FORMAT_VERSION` are updated together.
        assert_eq!(
            KEY_FORMAT_VERSION, 6,
            "update the derivation below with the format"
        );
        let f = &parse_functions(SRC).unwrap()[0];
        let i64 = Type::I64 as u8;
        let op = |o: Opcode| o as u8;
        // Flags: F_NEXT (number = previous + 1), F_ONE_RESULT; no source locations.
        let (next, one) = (F_NEXT, F_NEXT | F_ONE_RESULT);
        #[rustfmt::skip]
        let stencil: Vec<u8> = vec![
            TAG_STENCIL,
            1, i64, 1, i64,                 // signature (i64) -> i64
            6, 5, 3,                        // 6 instructions, 5 values, 3 blocks
            TAG_BLOCK, 0, 1, i64,           // block0(v0: i64): v0 at the cursor; cursor 1
            op(Opcode::Iconst), one, 10,    // v1 = iconst 5 (zigzag 10)
            i64,                            //   v1: i64 at the cursor; cursor 2
            op(Opcode::Iadd), one, 2, 0,    // v2 = iadd v0, v1: distances 1 and 0 below
            i64,                            //   the cursor (zigzag 2, 0); cursor 3
            op(Opcode::Call), one, 0, 1, 0, // v3 = call fn0(v2): one argument, distance 0
            i64,                            //   cursor 4
            op(Opcode::Brif), next, 0,      // brif v3,
            1, 0,                           //   block1 (no arguments),
            2, 1, 0,                        //   block2(v3)
            TAG_BLOCK, 1, 0,                // block1: no parameters
            op(Opcode::Return), next, 1, 6, // return v0: distance 3 (zigzag 6)
            TAG_BLOCK, 2, 1, i64,           // block2(v4: i64): cursor 5
            op(Opcode::Return), next, 1, 0, // return v4
            TAG_LAYOUT_END,
            TY_END,                         // no unused values
            0,                              // none unconfirmed
            1, 1, i64, 1, i64,              // signatures: sig0 = (i64) -> i64
            1, 0, 0, 0,                     // ext funcs: fn0 = user name ref 0, sig0
            0, 0, 0,                        // no jump tables, constants, stack slots
        ];
        let stencil_only = KeyPrefix {
            hasher: Sha256::new(),
        };
        assert_eq!(
            stencil_only.key(&f.stencil),
            CacheKey(Sha256::digest(&stencil).into()),
            "the stencil's encoding differs from {stencil:02x?}"
        );
        let triple = parse_triple("x86_64").unwrap();
        let settings = Settings::new(Arch::X86_64);
        let mut whole = b"kiln-cache-key\0".to_vec();
        whole.extend_from_slice(&KEY_FORMAT_VERSION.to_le_bytes());
        for text in [COMPILER_VERSION.to_string(), triple.to_string()] {
            assert!(text.len() < 0x80, "a one-byte length");
            whole.push(text.len() as u8);
            whole.extend_from_slice(text.as_bytes());
        }
        whole.extend_from_slice(&settings.fingerprint());
        whole.extend_from_slice(&stencil);
        assert_eq!(
            KeyPrefix::new(&triple, &settings).key(&f.stencil),
            CacheKey(Sha256::digest(&whole).into()),
            "the prefix (items 1-4 of the module docs) differs"
        );
    }

    #[test]
    fn key_is_pinned_across_platforms() {
        // The encoding is fixed-width little-endian and never hashes addresses, so this
        // value is the same on every host; it only changes with the compiler's sources.
        let f = &parse_functions(SRC).unwrap()[0];
        let a = prefix(Arch::X86_64).key(&f.stencil);
        let b = compute_key(
            &parse_triple("x86_64").unwrap(),
            &Settings::new(Arch::X86_64),
            &f.stencil,
        );
        assert_eq!(a, b);
        assert!(COMPILER_VERSION.starts_with(env!("CARGO_PKG_VERSION")));
    }
}
