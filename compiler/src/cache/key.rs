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
//! It is compact (about 9 bytes per instruction, against 15 for a plain encoding of the
//! same items) because most numbers are written relative to what came before, where a
//! decoder would know them too:
//! - an instruction's number, as the difference from the previous instruction's;
//! - a source location, as the difference from the previous location present;
//! - values, against a *cursor*, one past the last value defined in a block-parameter or
//!   result list: a defined value as its distance from the cursor (omitted when zero, the
//!   usual case), an operand as its distance below it (small: operands are mostly
//!   defined shortly before);
//! - the value table is not written value by value. Each entry of a parameter or result
//!   list carries the value's type and whether the value's definition is that very
//!   position (`Param(block, n)` / `Result(inst, n)`, *confirmed*); after the layout
//!   comes every value not confirmed anywhere, with its number, type and definition. A
//!   value is confirmed at most once (its definition names one position, and the layout
//!   holds each block and instruction at most once), so the table follows from the
//!   encoding exactly, consistent or not.
//!
//! Invariants:
//! - the key depends only on the items above: never on `std::hash::Hash` output, pointer
//!   values, the host, or the [`FunctionParameters`](crate::ir::FunctionParameters) (the
//!   function's name, callee names, base source location);
//! - computing a key never copies or renumbers the function: [`KeyPrefix::key`] streams
//!   the encoding into the hasher through a 2 KiB chunk (its only allocation is one bit
//!   per value, the confirmed set); items 1–4 are hashed once per compiler
//!   ([`KeyPrefix::new`]) and cloned per function.

use crate::entity::EntityRef;
use crate::ir::{
    DataFlowGraph, ExternalName, FunctionStencil, Inst, InstructionData, Opcode, RelSourceLoc,
    Signature, TrapCode, Type, Value, ValueDef, ValueList, ValueListPool,
};
use crate::settings::Settings;
use core::fmt;
use sha2::{Digest, Sha256};
use target_lexicon::Triple;

/// Version of the key encoding. Bump it whenever the encoding below changes.
pub const KEY_FORMAT_VERSION: u32 = 5;

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
        e.u32(KEY_FORMAT_VERSION);
        e.str(COMPILER_VERSION);
        e.str(&triple.to_string());
        e.bytes(&settings.fingerprint());
        e.finish();
        KeyPrefix {
            hasher: sink.hasher,
        }
    }

    /// The key of a translation memo (see `cache::memo`): this prefix, the module's
    /// environment digest, the function's index and its body bytes.
    pub fn memo_key(&self, environment: &[u8; 32], index: u32, body: &[u8]) -> CacheKey {
        let mut hasher = self.hasher.clone();
        hasher.update(b"\0kiln-translation-memo\0");
        hasher.update(environment);
        hasher.update(index.to_le_bytes());
        hasher.update((body.len() as u64).to_le_bytes());
        hasher.update(body);
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

/// Size of the [`Sink`]'s chunk: small enough to stay in L1 while it is hashed.
const CHUNK: usize = 2048;

/// The hasher and the chunk of encoded bytes not yet hashed. The fill index is not here
/// but in the [`Encoder`], a local value whose fields stay in registers: an index behind a
/// reference is stored and re-read on every byte, one store-to-load latency per byte.
struct Sink {
    hasher: Sha256,
    chunk: [u8; CHUNK],
}

impl Sink {
    fn new(hasher: Sha256) -> Self {
        Sink {
            hasher,
            chunk: [0; CHUNK],
        }
    }

    /// Hash the first `len` bytes of the chunk. Takes the index by value so that no
    /// [`Encoder`] ever escapes to memory.
    #[cold]
    #[inline(never)]
    fn flush(&mut self, len: usize) {
        self.hasher.update(&self.chunk[..len]);
    }
}

/// Streams the canonical encoding into a [`Sink`]: bytes are hashed 2 KiB at a time while
/// still in L1, and nothing is allocated. Chunking does not change the key: SHA-256 of a
/// stream is the same however it is cut.
///
/// Besides the fill index it carries the state of the relative encodings (see the module
/// docs): the value cursor and the previous instruction number and source location.
struct Encoder<'a> {
    sink: &'a mut Sink,
    len: usize,
    /// One past the last value defined (as a block parameter or result) so far.
    cursor: u32,
    prev_inst: u32,
    prev_loc: u32,
}

impl<'a> Encoder<'a> {
    fn new(sink: &'a mut Sink) -> Self {
        Encoder {
            sink,
            len: 0,
            cursor: 0,
            prev_inst: 0,
            prev_loc: 0,
        }
    }

    /// Hash what is left in the chunk.
    fn finish(&mut self) {
        self.sink.flush(self.len);
        self.len = 0;
    }

    /// Make room for `n` more bytes (`n <= CHUNK`).
    #[inline(always)]
    fn room(&mut self, n: usize) {
        if self.len + n > CHUNK {
            self.sink.flush(self.len);
            self.len = 0;
        }
    }

    #[inline(always)]
    fn bytes(&mut self, b: &[u8]) {
        if b.len() > CHUNK / 2 {
            self.sink.flush(self.len);
            self.len = 0;
            self.sink.hasher.update(b);
            return;
        }
        self.room(b.len());
        self.sink.chunk[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }

    #[inline(always)]
    fn u8(&mut self, v: u8) {
        self.room(1);
        self.sink.chunk[self.len] = v;
        self.len += 1;
    }

    #[inline(always)]
    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }

    #[inline(always)]
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }

    #[inline(always)]
    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }

    /// LEB128: seven bits per byte, low first, the high bit set on all but the last.
    #[inline(always)]
    fn var(&mut self, mut v: u64) {
        self.room(10);
        while v >= 0x80 {
            self.sink.chunk[self.len] = v as u8 | 0x80;
            self.len += 1;
            v >>= 7;
        }
        self.sink.chunk[self.len] = v as u8;
        self.len += 1;
    }

    /// A signed difference as a zigzag LEB128 (small magnitudes of either sign are short).
    #[inline(always)]
    fn signed(&mut self, d: i64) {
        self.var(zigzag(d));
    }

    /// An instruction's opcode byte (or [`TAG_BAD_INST`]) and its number, as the
    /// difference from the previous instruction's.
    #[inline(always)]
    fn inst_head(&mut self, tag: u8, inst: Inst) {
        let d = inst.index() as i64 - i64::from(self.prev_inst);
        self.prev_inst = inst.index() as u32;
        self.u8(tag);
        self.signed(d);
    }

    #[inline(always)]
    fn len(&mut self, n: usize) {
        self.var(n as u64);
    }

    #[inline(always)]
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.bytes(s.as_bytes());
    }

    #[inline(always)]
    fn entity<E: EntityRef>(&mut self, e: E) {
        self.var(e.index() as u64);
    }

    #[inline(always)]
    fn ty(&mut self, t: Type) {
        self.u8(t as u8);
    }

    #[inline(always)]
    fn types(&mut self, ts: &[Type]) {
        self.len(ts.len());
        for &t in ts {
            self.ty(t);
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

    #[inline(always)]
    fn operands(&mut self, pool: &ValueListPool, list: ValueList) {
        let vs = pool.get(list);
        self.len(vs.len());
        for &v in vs {
            self.operand(v);
        }
    }

    /// A list of values defined here (a block's parameters or an instruction's results):
    /// its length, then one byte per value (type, [`TY_UNCONFIRMED`], [`TY_MOVED`]) and,
    /// when the value is not the cursor, its distance from it. `expected(n)` is the
    /// definition a value at position `n` has in a consistent function; a value whose
    /// definition says so is confirmed here and marked in `confirmed`.
    #[inline(always)]
    fn defs(
        &mut self,
        dfg: &DataFlowGraph,
        confirmed: &mut [u64],
        vs: &[Value],
        expected: impl Fn(u16) -> ValueDef,
    ) {
        self.len(vs.len());
        for (n, &v) in vs.iter().enumerate() {
            let i = v.index();
            let (mut byte, here) = match dfg.values.get(v) {
                Some(data) => (
                    data.ty as u8,
                    u16::try_from(n).is_ok_and(|n| data.def == expected(n)),
                ),
                None => (TY_MISSING, false),
            };
            if here {
                confirmed[i / 64] |= 1 << (i % 64);
            } else {
                byte |= TY_UNCONFIRMED;
            }
            let d = i as i64 - i64::from(self.cursor);
            if d == 0 {
                self.u8(byte);
            } else {
                self.u8(byte | TY_MOVED);
                self.signed(d);
            }
            self.cursor = (i as u32).wrapping_add(1);
        }
    }

    #[inline(always)]
    fn trap_code(&mut self, code: TrapCode) {
        match code {
            TrapCode::User(n) => {
                self.u8(0xff);
                self.u16(n);
            }
            c => {
                let i = TrapCode::BUILTIN
                    .iter()
                    .position(|b| *b == c)
                    .unwrap_or(0xfe);
                self.u8(i as u8);
            }
        }
    }

    /// A relative source location: 0 for none, else one plus the zigzag distance from the
    /// previous location present.
    #[inline(always)]
    fn rel_srcloc(&mut self, loc: RelSourceLoc) {
        match loc.offset() {
            None => self.u8(0),
            Some(off) => {
                let d = i64::from(off) - i64::from(self.prev_loc);
                self.prev_loc = off;
                self.var(zigzag(d) + 1);
            }
        }
    }
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
const _: () = assert!(Type::ALL.len() < TY_MISSING as usize);

/// Section tags. Inside a block, each instruction starts with its opcode byte (below
/// [`TAG_BLOCK`]) or [`TAG_BAD_INST`], so the block and layout tags need no instruction tag
/// to stay unambiguous.
const TAG_STENCIL: u8 = 0xA0;
const TAG_BLOCK: u8 = 0xA1;
const TAG_LAYOUT_END: u8 = 0xA3;
const TAG_BAD_INST: u8 = 0xFF;
const _: () = assert!(Opcode::ALL.len() < TAG_STENCIL as usize);

/// Hash the encoding of `s` into `sink`. The [`Encoder`] is local to this function (every
/// method it calls is inlined), so its fields live in registers.
fn encode_stencil(sink: &mut Sink, s: &FunctionStencil) {
    let mut e = Encoder::new(sink);
    let e = &mut e;
    let dfg = &s.dfg;
    let pool = &dfg.value_lists;
    e.u8(TAG_STENCIL);
    e.signature(&s.signature);
    e.len(dfg.insts.len());
    e.len(dfg.values.len());
    e.len(dfg.blocks.len());
    let mut confirmed = vec![0u64; dfg.values.len().div_ceil(64)];
    for block in s.layout.blocks() {
        e.u8(TAG_BLOCK);
        e.entity(block);
        e.defs(dfg, &mut confirmed, dfg.block_params(block), |n| {
            ValueDef::Param(block, n)
        });
        for inst in s.layout.block_insts(block) {
            match dfg.insts.get(inst) {
                Some(data) => {
                    e.inst_head(data.opcode() as u8, inst);
                    encode_inst(e, pool, data);
                }
                // Only a malformed layout names an instruction the DFG lacks.
                None => e.inst_head(TAG_BAD_INST, inst),
            }
            e.defs(dfg, &mut confirmed, dfg.inst_results(inst), |n| {
                ValueDef::Result(inst, n)
            });
            e.rel_srcloc(*s.srclocs.get(inst));
        }
    }
    e.u8(TAG_LAYOUT_END);
    // The values not confirmed in a list: their number, type and definition, in order. A
    // confirmed value's definition is the one position that confirmed it (marked there).
    let unconfirmed = dfg.values.len()
        - confirmed
            .iter()
            .map(|w| w.count_ones() as usize)
            .sum::<usize>();
    e.len(unconfirmed);
    let mut prev = 0usize;
    for (w, &word) in confirmed.iter().enumerate() {
        let mut missing = !word;
        while missing != 0 {
            let i = w * 64 + missing.trailing_zeros() as usize;
            missing &= missing - 1;
            let Some(v) = dfg.values.get(Value::new(i)) else {
                break;
            };
            e.len(i - prev);
            prev = i;
            e.ty(v.ty);
            match v.def {
                ValueDef::Result(i, n) => {
                    e.u8(0);
                    e.entity(i);
                    e.var(u64::from(n));
                }
                ValueDef::Param(b, n) => {
                    e.u8(1);
                    e.entity(b);
                    e.var(u64::from(n));
                }
                ValueDef::Unused => e.u8(2),
            }
        }
    }
    e.len(dfg.signatures.len());
    for sig in dfg.signatures.values() {
        e.signature(sig);
    }
    e.len(dfg.ext_funcs.len());
    for f in dfg.ext_funcs.values() {
        match f.name {
            ExternalName::User(r) => {
                e.u8(0);
                e.entity(r);
            }
            ExternalName::LibCall(l) => {
                e.u8(1);
                e.str(l.name());
            }
        }
        e.entity(f.signature);
    }
    e.len(dfg.jump_tables.len());
    for jt in dfg.jump_tables.values() {
        let branches = jt.all_branches();
        e.len(branches.len());
        for bc in branches {
            e.entity(bc.block);
            e.operands(pool, bc.args);
        }
    }
    e.len(dfg.constants.len());
    for c in dfg.constants.values() {
        e.len(c.len());
        e.bytes(c);
    }
    e.len(s.stack_slots.len());
    for ss in s.stack_slots.values() {
        e.u32(ss.size);
        e.u8(ss.align_shift);
    }
    e.finish();
}

#[inline(always)]
fn encode_inst(e: &mut Encoder, pool: &ValueListPool, data: &InstructionData) {
    use InstructionData::*;
    match *data {
        UnaryImm { imm, .. } => e.signed(imm),
        UnaryIeee { bits, .. } => e.u64(bits),
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
            e.u8(cond as u8);
            e.operand(args[0]);
            e.operand(args[1]);
        }
        FloatCompare { cond, args, .. } => {
            e.u8(cond as u8);
            e.operand(args[0]);
            e.operand(args[1]);
        }
        ExtractLane { arg, lane, .. } => {
            e.operand(arg);
            e.u8(lane);
        }
        InsertLane { args, lane, .. } => {
            e.operand(args[0]);
            e.operand(args[1]);
            e.u8(lane);
        }
        Shuffle { args, mask, .. } => {
            e.operand(args[0]);
            e.operand(args[1]);
            e.entity(mask);
        }
        Load {
            flags, arg, offset, ..
        } => {
            e.u8(flags.bits());
            e.operand(arg);
            e.signed(i64::from(offset));
        }
        Store {
            flags,
            args,
            offset,
            ..
        } => {
            e.u8(flags.bits());
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
            e.u8(flags.bits());
            e.operand(args[0]);
            e.operand(args[1]);
            e.signed(i64::from(offset));
            e.u8(lane);
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
