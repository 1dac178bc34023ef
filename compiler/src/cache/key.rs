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
//!    the signature; the sizes of the instruction, value and block tables; every value's
//!    type and definition; the layout (blocks in order with their parameters, then their
//!    instructions with opcode, operands, immediates, block calls, results and *relative*
//!    source location); then the tables instructions refer to: signatures, external
//!    functions (a user name by its `UserExternalNameRef` index — never the name itself —
//!    a libcall by its name), jump tables, constants and stack slots.
//!
//! Entity numbers, lengths and counts are LEB128 varints (an instruction's own number as
//! the zigzag difference from the previous instruction's, usually one byte); immediates
//! and other integers are little-endian and fixed-width; strings and lists are
//! length-prefixed, and every variant starts with a tag (an instruction with its opcode).
//! Every item is self-delimiting, so the encoding is prefix-free: two different inputs
//! never encode to the same bytes.
//!
//! Invariants:
//! - the key depends only on the items above: never on `std::hash::Hash` output, pointer
//!   values, the host, or the [`FunctionParameters`](crate::ir::FunctionParameters) (the
//!   function's name, callee names, base source location);
//! - computing a key never copies or renumbers the function: [`KeyPrefix::key`] streams
//!   the encoding into the hasher through a 2 KiB chunk on the stack (no allocation);
//!   items 1–4 are hashed once per compiler ([`KeyPrefix::new`]) and cloned per function.

use crate::entity::EntityRef;
use crate::ir::{
    ExternalName, FunctionStencil, InstructionData, Opcode, RelSourceLoc, Signature, TrapCode,
    Type, ValueDef, ValueList, ValueListPool,
};
use crate::settings::Settings;
use core::fmt;
use sha2::{Digest, Sha256};
use target_lexicon::Triple;

/// Version of the key encoding. Bump it whenever the encoding below changes.
pub const KEY_FORMAT_VERSION: u32 = 3;

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
        let mut e = Encoder::new(Sha256::new());
        e.bytes(b"kiln-cache-key\0");
        e.u32(KEY_FORMAT_VERSION);
        e.str(COMPILER_VERSION);
        e.str(&triple.to_string());
        e.bytes(&settings.fingerprint());
        KeyPrefix { hasher: e.finish() }
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
        let mut e = Encoder::new(self.hasher.clone());
        encode_stencil(&mut e, stencil);
        CacheKey(e.finish().finalize().into())
    }
}

/// The key of `stencil` for a compiler with `triple` and `settings` (builds a fresh
/// [`KeyPrefix`]; compilers keep theirs).
pub fn compute_key(triple: &Triple, settings: &Settings, stencil: &FunctionStencil) -> CacheKey {
    KeyPrefix::new(triple, settings).key(stencil)
}

/// Size of the [`Encoder`]'s chunk: small enough to stay in L1 while it is hashed.
const CHUNK: usize = 2048;

/// Streams the canonical encoding into a hasher through a fixed chunk on the stack: the
/// bytes are hashed 2 KiB at a time while still in L1, no buffer grows, and the fill
/// index stays in a register (a `Vec` behind a reference is re-read on every push).
/// Chunking does not change the key: SHA-256 of a stream is the same however it is cut.
struct Encoder {
    hasher: Sha256,
    len: usize,
    chunk: [u8; CHUNK],
}

impl Encoder {
    fn new(hasher: Sha256) -> Self {
        Encoder {
            hasher,
            len: 0,
            chunk: [0; CHUNK],
        }
    }

    /// The hasher with every byte written so far.
    fn finish(mut self) -> Sha256 {
        self.flush();
        self.hasher
    }

    #[cold]
    #[inline(never)]
    fn flush(&mut self) {
        self.hasher.update(&self.chunk[..self.len]);
        self.len = 0;
    }

    /// Make room for `n` more bytes (`n <= CHUNK`).
    #[inline(always)]
    fn room(&mut self, n: usize) {
        if self.len + n > CHUNK {
            self.flush();
        }
    }

    #[inline]
    fn bytes(&mut self, b: &[u8]) {
        if b.len() > CHUNK / 2 {
            self.flush();
            self.hasher.update(b);
            return;
        }
        self.room(b.len());
        self.chunk[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }

    #[inline(always)]
    fn u8(&mut self, v: u8) {
        self.room(1);
        self.chunk[self.len] = v;
        self.len += 1;
    }

    #[inline]
    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }

    #[inline]
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }

    #[inline]
    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }

    /// LEB128: seven bits per byte, low first, the high bit set on all but the last.
    #[inline(always)]
    fn var(&mut self, mut v: u64) {
        self.room(10);
        while v >= 0x80 {
            self.chunk[self.len] = v as u8 | 0x80;
            self.len += 1;
            v >>= 7;
        }
        self.chunk[self.len] = v as u8;
        self.len += 1;
    }

    #[inline]
    fn len(&mut self, n: usize) {
        self.var(n as u64);
    }

    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.bytes(s.as_bytes());
    }

    #[inline]
    fn entity<E: EntityRef>(&mut self, e: E) {
        self.var(e.index() as u64);
    }

    #[inline]
    fn ty(&mut self, t: Type) {
        self.u8(t as u8);
    }

    fn types(&mut self, ts: &[Type]) {
        self.len(ts.len());
        for &t in ts {
            self.ty(t);
        }
    }

    fn signature(&mut self, s: &Signature) {
        self.types(&s.params);
        self.types(&s.returns);
    }

    #[inline]
    fn list(&mut self, pool: &ValueListPool, list: ValueList) {
        let vs = pool.get(list);
        self.len(vs.len());
        for &v in vs {
            self.entity(v);
        }
    }

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

    fn rel_srcloc(&mut self, loc: RelSourceLoc) {
        match loc.offset() {
            None => self.u8(0),
            Some(off) => {
                self.u8(1);
                self.var(u64::from(off));
            }
        }
    }
}

/// Section tags. Inside a block, each instruction starts with its opcode byte (below
/// [`TAG_BLOCK`]) or [`TAG_BAD_INST`], so the block and layout tags need no instruction tag
/// to stay unambiguous.
const TAG_STENCIL: u8 = 0xA0;
const TAG_BLOCK: u8 = 0xA1;
const TAG_LAYOUT_END: u8 = 0xA3;
const TAG_BAD_INST: u8 = 0xFF;
const _: () = assert!(Opcode::ALL.len() < TAG_STENCIL as usize);

fn encode_stencil(e: &mut Encoder, s: &FunctionStencil) {
    let dfg = &s.dfg;
    let pool = &dfg.value_lists;
    e.u8(TAG_STENCIL);
    e.signature(&s.signature);
    e.len(dfg.insts.len());
    e.len(dfg.values.len());
    e.len(dfg.blocks.len());
    for v in dfg.values.values() {
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
    let mut prev_inst = 0i64;
    for block in s.layout.blocks() {
        e.u8(TAG_BLOCK);
        e.entity(block);
        e.list(
            pool,
            dfg.blocks.get(block).map_or(ValueList::EMPTY, |b| b.params),
        );
        for inst in s.layout.block_insts(block) {
            // The instruction's number, as the zigzag difference from the previous one.
            let d = inst.index() as i64 - prev_inst;
            prev_inst = inst.index() as i64;
            let zigzag = ((d << 1) ^ (d >> 63)) as u64;
            match dfg.insts.get(inst) {
                Some(data) => {
                    e.u8(data.opcode() as u8);
                    e.var(zigzag);
                    encode_inst(e, pool, data);
                }
                // Only a malformed layout names an instruction the DFG lacks.
                None => {
                    e.u8(TAG_BAD_INST);
                    e.var(zigzag);
                }
            }
            e.list(pool, *dfg.results.get(inst));
            e.rel_srcloc(*s.srclocs.get(inst));
        }
    }
    e.u8(TAG_LAYOUT_END);
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
            e.list(pool, bc.args);
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
}

fn encode_inst(e: &mut Encoder, pool: &ValueListPool, data: &InstructionData) {
    use InstructionData::*;
    match *data {
        UnaryImm { imm, .. } => e.u64(imm as u64),
        UnaryIeee { bits, .. } => e.u64(bits),
        UnaryConst { constant, .. } => e.entity(constant),
        Unary { arg, .. } => e.entity(arg),
        Binary { args, .. } => {
            e.entity(args[0]);
            e.entity(args[1]);
        }
        Ternary { args, .. } => {
            e.entity(args[0]);
            e.entity(args[1]);
            e.entity(args[2]);
        }
        IntCompare { cond, args, .. } => {
            e.u8(cond as u8);
            e.entity(args[0]);
            e.entity(args[1]);
        }
        FloatCompare { cond, args, .. } => {
            e.u8(cond as u8);
            e.entity(args[0]);
            e.entity(args[1]);
        }
        ExtractLane { arg, lane, .. } => {
            e.entity(arg);
            e.u8(lane);
        }
        InsertLane { args, lane, .. } => {
            e.entity(args[0]);
            e.entity(args[1]);
            e.u8(lane);
        }
        Load {
            flags, arg, offset, ..
        } => {
            e.u8(flags.bits());
            e.entity(arg);
            e.u32(offset as u32);
        }
        Store {
            flags,
            args,
            offset,
            ..
        } => {
            e.u8(flags.bits());
            e.entity(args[0]);
            e.entity(args[1]);
            e.u32(offset as u32);
        }
        StackLoad { slot, offset, .. } => {
            e.entity(slot);
            e.u32(offset as u32);
        }
        StackStore {
            arg, slot, offset, ..
        } => {
            e.entity(arg);
            e.entity(slot);
            e.u32(offset as u32);
        }
        Jump { destination, .. } => {
            e.entity(destination.block);
            e.list(pool, destination.args);
        }
        Brif { arg, blocks, .. } => {
            e.entity(arg);
            for bc in blocks {
                e.entity(bc.block);
                e.list(pool, bc.args);
            }
        }
        BranchTable { arg, table, .. } => {
            e.entity(arg);
            e.entity(table);
        }
        MultiAry { args, .. } => e.list(pool, args),
        Trap { code, .. } => e.trap_code(code),
        CondTrap { arg, code, .. } => {
            e.entity(arg);
            e.trap_code(code);
        }
        Call { func_ref, args, .. } => {
            e.entity(func_ref);
            e.list(pool, args);
        }
        CallIndirect { sig_ref, args, .. } => {
            e.entity(sig_ref);
            e.list(pool, args);
        }
        FuncAddr { func_ref, .. } => e.entity(func_ref),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiler::parse_triple;
    use crate::ir::text::parse_functions;
    use crate::ir::{SourceLoc, UserExternalName, UserFuncName};
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
