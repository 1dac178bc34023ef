//! Opcodes, instruction formats and instruction data.
//!
//! Every opcode has exactly one [`InstructionFormat`] (the shape of its operands) and one
//! [`ResultRule`] (how its result types follow from its operands). `InstructionData` is a
//! small `Copy` enum, one variant per format; variable-length operand lists live in the
//! function's [`ValueListPool`] and are referenced by a 4-byte [`ValueList`] handle.
//!
//! Invariants: `InstructionData::opcode().format()` equals the variant's format. Operands
//! are [`Value`]s; block targets are [`BlockCall`]s (a block plus its argument list).

use super::condcodes::{FloatCC, IntCC};
use super::entities::{Block, Constant, FuncRef, JumpTable, SigRef, StackSlot, Value};
use super::memflags::MemFlags;
use super::trapcode::TrapCode;
use super::types::Type;
use crate::entity::PrimaryMap;
use core::fmt;

/// The operand shape of an instruction.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum InstructionFormat {
    /// `iconst.T imm`
    UnaryImm,
    /// `fconst.T value`
    UnaryIeee,
    /// `vconst.T [lanes]`
    UnaryConst,
    /// `op a`
    Unary,
    /// `op a, b`
    Binary,
    /// `op a, b, c`
    Ternary,
    /// `icmp cc a, b`
    IntCompare,
    /// `fcmp cc a, b`
    FloatCompare,
    /// `extractlane a, lane`
    ExtractLane,
    /// `insertlane a, b, lane`
    InsertLane,
    /// `shuffle a, b, [16 byte indices]` (the indices live in the constant pool)
    Shuffle,
    /// `load.T flags addr+offset`
    Load,
    /// `store flags value, addr+offset`
    Store,
    /// `load_lane flags vector, addr+offset, lane`, `store_lane flags vector, addr+offset, lane`
    MemLane,
    /// `stack_load.T ss+offset`, `stack_addr ss+offset`
    StackLoad,
    /// `stack_store value, ss+offset`
    StackStore,
    /// `jump block(args)`
    Jump,
    /// `brif c, block_then(args), block_else(args)`
    Brif,
    /// `br_table index, default(args), [block(args), ...]`
    BranchTable,
    /// `return a, b, ...`
    MultiAry,
    /// `trap code`
    Trap,
    /// `trapz c, code`
    CondTrap,
    /// `call fn(args)`
    Call,
    /// `call_indirect sig, callee(args)`
    CallIndirect,
    /// `func_addr fn`
    FuncAddr,
}

/// How an opcode's result types are determined.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum ResultRule {
    /// No results.
    None,
    /// One result with the type of operand `n`.
    SameAsArg(u8),
    /// One result: `compare_result()` of operand 0's type.
    CompareOf0,
    /// One result of the explicitly given (controlling) type, printed as `op.T`.
    Explicit,
    /// One result: the lane type of operand 0.
    LaneOf0,
    /// One result of a fixed type.
    Fixed(Type),
    /// The return types of the callee's signature.
    Call,
}

macro_rules! opcodes {
    ($( $(#[$attr:meta])* $name:ident = $text:literal, $fmt:ident, $rule:expr; )*) => {
        /// An IR opcode.
        #[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Opcode { $($(#[$attr])* $name,)* }

        impl Opcode {
            /// Every opcode in declaration order.
            pub const ALL: &'static [Opcode] = &[$(Opcode::$name,)*];

            /// The text name.
            pub const fn name(self) -> &'static str {
                match self { $(Opcode::$name => $text,)* }
            }

            /// The operand format.
            pub const fn format(self) -> InstructionFormat {
                match self { $(Opcode::$name => InstructionFormat::$fmt,)* }
            }

            /// How result types are determined.
            pub const fn result_rule(self) -> ResultRule {
                match self { $(Opcode::$name => $rule,)* }
            }

            /// Look up an opcode by text name.
            pub fn from_name(s: &str) -> Option<Opcode> {
                match s { $($text => Some(Opcode::$name),)* _ => None }
            }
        }
    };
}

use ResultRule::{CompareOf0, Explicit, Fixed, LaneOf0, SameAsArg};

opcodes! {
    /// Integer constant of the controlling type (scalar integer).
    Iconst = "iconst", UnaryImm, Explicit;
    /// Float constant (`f32` or `f64`), stored as raw bits.
    Fconst = "fconst", UnaryIeee, Explicit;
    /// 128-bit vector constant from the constant pool.
    Vconst = "vconst", UnaryConst, Explicit;

    /// Wrapping integer addition (scalar or vector).
    Iadd = "iadd", Binary, SameAsArg(0);
    /// Wrapping integer subtraction (scalar or vector).
    Isub = "isub", Binary, SameAsArg(0);
    /// Wrapping integer multiplication, low half (scalar or vector).
    Imul = "imul", Binary, SameAsArg(0);
    /// Unsigned multiplication, high half.
    Umulhi = "umulhi", Binary, SameAsArg(0);
    /// Signed multiplication, high half.
    Smulhi = "smulhi", Binary, SameAsArg(0);
    /// Signed division, rounding toward zero. Traps `int_divz` on 0, `int_ovf` on MIN / -1.
    Sdiv = "sdiv", Binary, SameAsArg(0);
    /// Unsigned division. Traps `int_divz` on 0.
    Udiv = "udiv", Binary, SameAsArg(0);
    /// Signed remainder (sign of the dividend). Traps `int_divz` on 0; MIN % -1 is 0.
    Srem = "srem", Binary, SameAsArg(0);
    /// Unsigned remainder. Traps `int_divz` on 0.
    Urem = "urem", Binary, SameAsArg(0);

    /// Bitwise and (integer scalar or vector).
    Band = "band", Binary, SameAsArg(0);
    /// Bitwise or.
    Bor = "bor", Binary, SameAsArg(0);
    /// Bitwise exclusive or.
    Bxor = "bxor", Binary, SameAsArg(0);
    /// `a & !b`.
    BandNot = "band_not", Binary, SameAsArg(0);
    /// Bitwise not.
    Bnot = "bnot", Unary, SameAsArg(0);

    /// Shift left; the amount is taken modulo the bit width.
    Ishl = "ishl", Binary, SameAsArg(0);
    /// Logical shift right; amount modulo the width.
    Ushr = "ushr", Binary, SameAsArg(0);
    /// Arithmetic shift right; amount modulo the width.
    Sshr = "sshr", Binary, SameAsArg(0);
    /// Rotate left; amount modulo the width.
    Rotl = "rotl", Binary, SameAsArg(0);
    /// Rotate right; amount modulo the width.
    Rotr = "rotr", Binary, SameAsArg(0);

    /// Count leading zeros (the width for 0).
    Clz = "clz", Unary, SameAsArg(0);
    /// Count trailing zeros (the width for 0).
    Ctz = "ctz", Unary, SameAsArg(0);
    /// Count set bits.
    Popcnt = "popcnt", Unary, SameAsArg(0);

    /// Integer comparison: `i8` 0/1 for scalars, lane masks for vectors.
    Icmp = "icmp", IntCompare, CompareOf0;
    /// Float comparison (scalars): `i8` 0/1.
    Fcmp = "fcmp", FloatCompare, CompareOf0;
    /// `select c, a, b`: `a` if the integer `c` is non-zero, else `b`.
    Select = "select", Ternary, SameAsArg(1);

    /// Zero-extend an integer scalar to a wider one.
    Uextend = "uextend", Unary, Explicit;
    /// Sign-extend an integer scalar to a wider one.
    Sextend = "sextend", Unary, Explicit;
    /// Truncate an integer scalar to a narrower one.
    Ireduce = "ireduce", Unary, Explicit;

    /// Float addition (scalar).
    Fadd = "fadd", Binary, SameAsArg(0);
    /// Float subtraction.
    Fsub = "fsub", Binary, SameAsArg(0);
    /// Float multiplication.
    Fmul = "fmul", Binary, SameAsArg(0);
    /// Float division.
    Fdiv = "fdiv", Binary, SameAsArg(0);
    /// Wasm `min`: NaN if either is NaN; -0 < +0.
    Fmin = "fmin", Binary, SameAsArg(0);
    /// Wasm `max`: NaN if either is NaN; -0 < +0.
    Fmax = "fmax", Binary, SameAsArg(0);
    /// Magnitude of `a` with the sign of `b`.
    Fcopysign = "fcopysign", Binary, SameAsArg(0);
    /// Flip the sign bit.
    Fneg = "fneg", Unary, SameAsArg(0);
    /// Clear the sign bit.
    Fabs = "fabs", Unary, SameAsArg(0);
    /// Square root.
    Sqrt = "sqrt", Unary, SameAsArg(0);
    /// Round toward +inf.
    Ceil = "ceil", Unary, SameAsArg(0);
    /// Round toward -inf.
    Floor = "floor", Unary, SameAsArg(0);
    /// Round toward zero.
    Trunc = "trunc", Unary, SameAsArg(0);
    /// Round to nearest, ties to even.
    Nearest = "nearest", Unary, SameAsArg(0);

    /// Float to signed int (`i32`/`i64`), toward zero. Traps `bad_toint` on NaN, `int_ovf`
    /// when out of range.
    FcvtToSint = "fcvt_to_sint", Unary, Explicit;
    /// Float to unsigned int, toward zero. Traps like `fcvt_to_sint`.
    FcvtToUint = "fcvt_to_uint", Unary, Explicit;
    /// Float to signed int, saturating; NaN gives 0.
    FcvtToSintSat = "fcvt_to_sint_sat", Unary, Explicit;
    /// Float to unsigned int, saturating; NaN gives 0.
    FcvtToUintSat = "fcvt_to_uint_sat", Unary, Explicit;
    /// Signed int (`i32`/`i64`) to float, round to nearest.
    FcvtFromSint = "fcvt_from_sint", Unary, Explicit;
    /// Unsigned int to float, round to nearest.
    FcvtFromUint = "fcvt_from_uint", Unary, Explicit;
    /// `f32` to `f64`.
    Fpromote = "fpromote", Unary, Explicit;
    /// `f64` to `f32`, round to nearest.
    Fdemote = "fdemote", Unary, Explicit;
    /// Reinterpret the bits as another type of the same width.
    Bitcast = "bitcast", Unary, Explicit;

    /// Load a value of the controlling type (any type).
    Load = "load", Load, Explicit;
    /// Load 8 bits and zero-extend (to `i16`, `i32` or `i64`).
    Uload8 = "uload8", Load, Explicit;
    /// Load 8 bits and sign-extend.
    Sload8 = "sload8", Load, Explicit;
    /// Load 16 bits and zero-extend (to `i32` or `i64`).
    Uload16 = "uload16", Load, Explicit;
    /// Load 16 bits and sign-extend.
    Sload16 = "sload16", Load, Explicit;
    /// Load 32 bits and zero-extend (to `i64`).
    Uload32 = "uload32", Load, Explicit;
    /// Load 32 bits and sign-extend.
    Sload32 = "sload32", Load, Explicit;
    /// Store a value of any type.
    Store = "store", Store, ResultRule::None;
    /// Store the low 8 bits of an integer.
    Istore8 = "istore8", Store, ResultRule::None;
    /// Store the low 16 bits of an integer (`i32` or `i64`).
    Istore16 = "istore16", Store, ResultRule::None;
    /// Store the low 32 bits of an `i64`.
    Istore32 = "istore32", Store, ResultRule::None;

    /// Load from a stack slot.
    StackLoad = "stack_load", StackLoad, Explicit;
    /// Store to a stack slot.
    StackStore = "stack_store", StackStore, ResultRule::None;
    /// The address of a stack slot (plus offset).
    StackAddr = "stack_addr", StackLoad, Fixed(Type::ADDR);

    /// Unconditional branch.
    Jump = "jump", Jump, ResultRule::None;
    /// Branch on an integer being non-zero.
    Brif = "brif", Brif, ResultRule::None;
    /// Indexed branch on an unsigned `i32`; out-of-range indices take the default.
    BrTable = "br_table", BranchTable, ResultRule::None;
    /// Return from the function.
    Return = "return", MultiAry, ResultRule::None;
    /// Unconditional trap.
    Trap = "trap", Trap, ResultRule::None;
    /// Trap if the integer is zero.
    Trapz = "trapz", CondTrap, ResultRule::None;
    /// Trap if the integer is non-zero.
    Trapnz = "trapnz", CondTrap, ResultRule::None;

    /// Direct call.
    Call = "call", Call, ResultRule::Call;
    /// Indirect call through an address.
    CallIndirect = "call_indirect", CallIndirect, ResultRule::Call;
    /// The address of a declared function.
    FuncAddr = "func_addr", FuncAddr, Fixed(Type::ADDR);

    /// Broadcast a scalar to every lane of the controlling vector type.
    Splat = "splat", Unary, Explicit;
    /// Read one lane.
    Extractlane = "extractlane", ExtractLane, LaneOf0;
    /// Replace one lane.
    Insertlane = "insertlane", InsertLane, SameAsArg(0);

    /// Lane-wise signed saturating addition (`i8x16`, `i16x8`).
    SaddSat = "sadd_sat", Binary, SameAsArg(0);
    /// Lane-wise unsigned saturating addition (`i8x16`, `i16x8`).
    UaddSat = "uadd_sat", Binary, SameAsArg(0);
    /// Lane-wise signed saturating subtraction (`i8x16`, `i16x8`).
    SsubSat = "ssub_sat", Binary, SameAsArg(0);
    /// Lane-wise unsigned saturating subtraction (`i8x16`, `i16x8`).
    UsubSat = "usub_sat", Binary, SameAsArg(0);
    /// Lane-wise signed minimum (`i8x16`, `i16x8`, `i32x4`).
    Smin = "smin", Binary, SameAsArg(0);
    /// Lane-wise unsigned minimum.
    Umin = "umin", Binary, SameAsArg(0);
    /// Lane-wise signed maximum.
    Smax = "smax", Binary, SameAsArg(0);
    /// Lane-wise unsigned maximum.
    Umax = "umax", Binary, SameAsArg(0);
    /// Lane-wise unsigned rounding average `(a + b + 1) >> 1` (`i8x16`, `i16x8`).
    AvgRound = "avg_round", Binary, SameAsArg(0);
    /// Lane-wise absolute value, wrapping (`abs MIN = MIN`) (integer vectors).
    Iabs = "iabs", Unary, SameAsArg(0);
    /// Pseudo-minimum of float vectors: `b < a ? b : a` per lane (no NaN canonicalization).
    FminPseudo = "fmin_pseudo", Binary, SameAsArg(0);
    /// Pseudo-maximum of float vectors: `a < b ? b : a` per lane.
    FmaxPseudo = "fmax_pseudo", Binary, SameAsArg(0);
    /// `bitselect c, a, b`: `(a & c) | (b & !c)`, bit by bit (vectors).
    Bitselect = "bitselect", Ternary, SameAsArg(1);
    /// `i8` 1 if any bit of the vector is set, else 0.
    VanyTrue = "vany_true", Unary, Fixed(Type::I8);
    /// `i8` 1 if every lane of the integer vector is non-zero, else 0.
    VallTrue = "vall_true", Unary, Fixed(Type::I8);
    /// `i32` whose bit `i` is the top bit of lane `i` of the integer vector.
    VhighBits = "vhigh_bits", Unary, Fixed(Type::I32);
    /// `i8x16`: lane `i` is byte `mask[i]` of `a:b` (indices 0–31).
    Shuffle = "shuffle", Shuffle, SameAsArg(0);
    /// `i8x16`: lane `i` is byte `b[i]` of `a`, or 0 when `b[i]` ≥ 16.
    Swizzle = "swizzle", Binary, SameAsArg(0);
    /// Signed saturating narrowing: the lanes of `a` then of `b`, each saturated to the
    /// result's signed lane range (`i16x8 → i8x16`, `i32x4 → i16x8`).
    Snarrow = "snarrow", Binary, Explicit;
    /// Unsigned saturating narrowing of signed lanes (`a` then `b`, clamped to `0..=MAX`).
    Unarrow = "unarrow", Binary, Explicit;
    /// Sign-extend the low half of the lanes to twice their width (`i8x16 → i16x8`, …).
    SwidenLow = "swiden_low", Unary, Explicit;
    /// Sign-extend the high half of the lanes.
    SwidenHigh = "swiden_high", Unary, Explicit;
    /// Zero-extend the low half of the lanes.
    UwidenLow = "uwiden_low", Unary, Explicit;
    /// Zero-extend the high half of the lanes.
    UwidenHigh = "uwiden_high", Unary, Explicit;
    /// Multiply the sign-extended low halves of the lanes of `a` and `b` (operands
    /// `i8x16`, `i16x8`, `i32x4`; the result has lanes twice as wide: exact products).
    SwidenMulLow = "swiden_mul_low", Binary, Explicit;
    /// Multiply the sign-extended high halves of the lanes.
    SwidenMulHigh = "swiden_mul_high", Binary, Explicit;
    /// Multiply the zero-extended low halves of the lanes.
    UwidenMulLow = "uwiden_mul_low", Binary, Explicit;
    /// Multiply the zero-extended high halves of the lanes.
    UwidenMulHigh = "uwiden_mul_high", Binary, Explicit;
    /// Add adjacent pairs of sign-extended lanes (`i8x16 → i16x8`, `i16x8 → i32x4`): result
    /// lane `i` is `a[2i] + a[2i+1]`, exact in the wider lane.
    SwidenAddPairwise = "swiden_add_pairwise", Unary, Explicit;
    /// Add adjacent pairs of zero-extended lanes.
    UwidenAddPairwise = "uwiden_add_pairwise", Unary, Explicit;
    /// Dot product of `i16x8` lanes into `i32x4`: lane `i` is
    /// `a[2i]*b[2i] + a[2i+1]*b[2i+1]` (signed, wrapping only for `-2^15 * -2^15` twice).
    Sdot = "sdot", Binary, Fixed(Type::I32X4);
    /// Q15 fixed-point multiply of `i16x8` lanes, rounding to nearest and saturating:
    /// `sat16((a * b + 0x4000) >> 15)` (only `-2^15 * -2^15` saturates).
    SqmulRoundSat = "sqmul_round_sat", Binary, SameAsArg(0);

    /// Load one lane-sized scalar and broadcast it to every lane of the controlling vector
    /// type.
    LoadSplat = "load_splat", Load, Explicit;
    /// Load 8 bytes as the low half of the lanes and sign-extend each to the controlling
    /// type's lanes (`i16x8`, `i32x4`, `i64x2`).
    SloadWiden = "sload_widen", Load, Explicit;
    /// Load 8 bytes and zero-extend each half-width lane.
    UloadWiden = "uload_widen", Load, Explicit;
    /// Load one lane-sized scalar into lane 0 and zero the other lanes (`i32x4`, `i64x2`).
    LoadZero = "load_zero", Load, Explicit;
    /// Replace lane `lane` of the vector with a lane-sized scalar loaded from memory.
    LoadLane = "load_lane", MemLane, SameAsArg(0);
    /// Store lane `lane` of the vector to memory (lane-sized).
    StoreLane = "store_lane", MemLane, ResultRule::None;
    /// Two's-complement negation, wrapping (`ineg MIN = MIN`) (integer scalars and
    /// vectors, lane-wise).
    Ineg = "ineg", Unary, SameAsArg(0);
}

impl Opcode {
    /// Ends a block: branches, `return`, `trap`.
    pub const fn is_terminator(self) -> bool {
        matches!(
            self,
            Opcode::Jump | Opcode::Brif | Opcode::BrTable | Opcode::Return | Opcode::Trap
        )
    }

    /// Transfers control to other blocks of the function.
    pub const fn is_branch(self) -> bool {
        matches!(self, Opcode::Jump | Opcode::Brif | Opcode::BrTable)
    }

    /// A call (direct or indirect).
    pub const fn is_call(self) -> bool {
        matches!(self, Opcode::Call | Opcode::CallIndirect)
    }

    /// May trap with a [`TrapCode`] (memory faults are not traps; see `memflags`).
    pub const fn can_trap(self) -> bool {
        matches!(
            self,
            Opcode::Sdiv
                | Opcode::Udiv
                | Opcode::Srem
                | Opcode::Urem
                | Opcode::FcvtToSint
                | Opcode::FcvtToUint
                | Opcode::Trap
                | Opcode::Trapz
                | Opcode::Trapnz
                | Opcode::Call
                | Opcode::CallIndirect
        )
    }

    /// Reads memory.
    pub const fn can_load(self) -> bool {
        matches!(
            self,
            Opcode::Load
                | Opcode::Uload8
                | Opcode::Sload8
                | Opcode::Uload16
                | Opcode::Sload16
                | Opcode::Uload32
                | Opcode::Sload32
                | Opcode::StackLoad
                | Opcode::LoadSplat
                | Opcode::SloadWiden
                | Opcode::UloadWiden
                | Opcode::LoadZero
                | Opcode::LoadLane
        )
    }

    /// Writes memory.
    pub const fn can_store(self) -> bool {
        matches!(
            self,
            Opcode::Store
                | Opcode::Istore8
                | Opcode::Istore16
                | Opcode::Istore32
                | Opcode::StackStore
                | Opcode::StoreLane
        )
    }

    /// Number of bytes a memory access touches, given the controlling / stored type (for
    /// `load_lane`/`store_lane`, the vector operand's type).
    pub const fn access_bytes(self, ty: Type) -> u32 {
        match self {
            Opcode::Uload8 | Opcode::Sload8 | Opcode::Istore8 => 1,
            Opcode::Uload16 | Opcode::Sload16 | Opcode::Istore16 => 2,
            Opcode::Uload32 | Opcode::Sload32 | Opcode::Istore32 => 4,
            Opcode::SloadWiden | Opcode::UloadWiden => 8,
            Opcode::LoadSplat | Opcode::LoadZero | Opcode::LoadLane | Opcode::StoreLane => {
                ty.lane_bits() / 8
            }
            _ => ty.bytes(),
        }
    }

    /// Has side effects beyond its results (must not be removed or reordered freely).
    pub const fn has_side_effects(self) -> bool {
        self.is_terminator() || self.is_call() || self.can_store() || self.can_trap()
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A handle to a list of values in a [`ValueListPool`]. The default handle is the empty
/// list. Handles are only meaningful with the pool that made them.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct ValueList(u32);

impl ValueList {
    /// The empty list.
    pub const EMPTY: ValueList = ValueList(0);
}

/// Storage for variable-length value lists.
///
/// Layout: a list with handle `h > 0` occupies `data[h..h + len]`, and its length is stored
/// as `data[h - 1]`. Slot 0 is never a list start, so handle 0 is the empty list. Lists are
/// append-only: `alloc` never moves existing lists; `get_mut` edits in place (same length).
/// [`Self::push`] grows a list by one, in place when the slot after it is [`SPARE`] (room a
/// previous `push` left) or the pool's end, else by copying it to the end with as much
/// room again; so `n` pushes to one list cost O(n), not the O(n²) of copying every time.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ValueListPool {
    data: Vec<Value>,
}

/// A pool slot that is room for a list to grow into: the reserved number `u32::MAX`, which
/// is neither a value nor a length.
const SPARE: Value = Value::from_u32(u32::MAX);

impl Default for ValueListPool {
    fn default() -> Self {
        Self::new()
    }
}

impl ValueListPool {
    /// An empty pool.
    pub fn new() -> Self {
        Self { data: Vec::new() }
    }

    /// Store a copy of `values` and return its handle.
    pub fn alloc(&mut self, values: &[Value]) -> ValueList {
        if values.is_empty() {
            return ValueList::EMPTY;
        }
        self.data.push(Value::from_u32(values.len() as u32));
        let start = self.data.len();
        self.data.extend_from_slice(values);
        ValueList(start as u32)
    }

    /// Store `values` from an iterator and return the handle.
    pub fn alloc_iter(&mut self, values: impl IntoIterator<Item = Value>) -> ValueList {
        let len_slot = self.data.len();
        self.data.push(Value::from_u32(0));
        let start = self.data.len();
        self.data.extend(values);
        let len = self.data.len() - start;
        if len == 0 {
            self.data.truncate(len_slot);
            return ValueList::EMPTY;
        }
        self.data[len_slot] = Value::from_u32(len as u32);
        ValueList(start as u32)
    }

    /// The values of a list. A handle from another pool yields an unspecified (but
    /// in-bounds or empty) slice, never a panic.
    pub fn get(&self, list: ValueList) -> &[Value] {
        let h = list.0 as usize;
        if h == 0 || h > self.data.len() {
            return &[];
        }
        let len = self.data[h - 1].as_u32() as usize;
        self.data.get(h..h + len).unwrap_or(&[])
    }

    /// Append `v` to `list`; returns the list's handle, which is `list` unless the list
    /// moved. Growing in place is visible through every copy of the handle, as
    /// [`Self::get_mut`] edits are.
    pub fn push(&mut self, list: ValueList, v: Value) -> ValueList {
        let len = self.get(list).len();
        let h = list.0 as usize;
        // A non-empty list is a valid handle: `data[h - 1]` is its length.
        let end = h + len;
        if len != 0 && (end == self.data.len() || self.data[end] == SPARE) {
            if end == self.data.len() {
                self.data.push(v);
            } else {
                self.data[end] = v;
            }
            self.data[h - 1] = Value::from_u32(len as u32 + 1);
            return list;
        }
        self.data.push(Value::from_u32(len as u32 + 1));
        let start = self.data.len();
        if len != 0 {
            self.data.extend_from_within(h..h + len);
        }
        self.data.push(v);
        self.data.resize(start + 2 * (len + 1), SPARE);
        ValueList(start as u32)
    }

    /// The values of a list, mutably (length is fixed).
    pub fn get_mut(&mut self, list: ValueList) -> &mut [Value] {
        let h = list.0 as usize;
        if h == 0 || h > self.data.len() {
            return &mut [];
        }
        let len = self.data[h - 1].as_u32() as usize;
        match self.data.get_mut(h..h + len) {
            Some(s) => s,
            None => &mut [],
        }
    }

    /// Forget every list.
    pub fn clear(&mut self) {
        self.data.clear();
    }
}

/// A branch target: a block and the arguments passed to its parameters.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct BlockCall {
    /// The target block.
    pub block: Block,
    /// Arguments, one per block parameter.
    pub args: ValueList,
}

/// The targets of a `br_table`: the default target first, then the indexed targets.
///
/// Invariant (checked by the verifier): `branches` is never empty.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct JumpTableData {
    branches: Vec<BlockCall>,
}

impl JumpTableData {
    /// A table with a default target and indexed targets.
    pub fn new(default: BlockCall, table: &[BlockCall]) -> Self {
        let mut branches = Vec::with_capacity(table.len() + 1);
        branches.push(default);
        branches.extend_from_slice(table);
        Self { branches }
    }

    /// Taken when the index is `>= table().len()`. `None` only for a malformed empty table.
    pub fn default_block(&self) -> Option<&BlockCall> {
        self.branches.first()
    }

    /// The indexed targets.
    pub fn table(&self) -> &[BlockCall] {
        self.branches.get(1..).unwrap_or(&[])
    }

    /// All targets: the default first, then the table in order.
    pub fn all_branches(&self) -> &[BlockCall] {
        &self.branches
    }

    /// All targets, mutably: the default first.
    pub fn all_branches_mut(&mut self) -> &mut [BlockCall] {
        &mut self.branches
    }
}

/// The operands of one instruction.
#[allow(missing_docs)]
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum InstructionData {
    /// `imm` is the value sign-extended from the controlling type's width (canonical form;
    /// the verifier rejects anything else).
    UnaryImm {
        opcode: Opcode,
        imm: i64,
    },
    /// Raw IEEE bits; for `f32` only the low 32 bits may be set.
    UnaryIeee {
        opcode: Opcode,
        bits: u64,
    },
    UnaryConst {
        opcode: Opcode,
        constant: Constant,
    },
    Unary {
        opcode: Opcode,
        arg: Value,
    },
    Binary {
        opcode: Opcode,
        args: [Value; 2],
    },
    Ternary {
        opcode: Opcode,
        args: [Value; 3],
    },
    IntCompare {
        opcode: Opcode,
        cond: IntCC,
        args: [Value; 2],
    },
    FloatCompare {
        opcode: Opcode,
        cond: FloatCC,
        args: [Value; 2],
    },
    ExtractLane {
        opcode: Opcode,
        arg: Value,
        lane: u8,
    },
    InsertLane {
        opcode: Opcode,
        args: [Value; 2],
        lane: u8,
    },
    /// Address is `arg + offset`.
    Load {
        opcode: Opcode,
        flags: MemFlags,
        arg: Value,
        offset: i32,
    },
    /// `args = [value, address]`; address is `args[1] + offset`.
    Store {
        opcode: Opcode,
        flags: MemFlags,
        args: [Value; 2],
        offset: i32,
    },
    /// `args = [vector, address]`; address is `args[1] + offset`; `lane` of the vector is
    /// loaded or stored.
    MemLane {
        opcode: Opcode,
        flags: MemFlags,
        args: [Value; 2],
        offset: i32,
        lane: u8,
    },
    StackLoad {
        opcode: Opcode,
        slot: StackSlot,
        offset: i32,
    },
    StackStore {
        opcode: Opcode,
        arg: Value,
        slot: StackSlot,
        offset: i32,
    },
    Jump {
        opcode: Opcode,
        destination: BlockCall,
    },
    /// `blocks = [taken when non-zero, taken when zero]`.
    Brif {
        opcode: Opcode,
        arg: Value,
        blocks: [BlockCall; 2],
    },
    BranchTable {
        opcode: Opcode,
        arg: Value,
        table: JumpTable,
    },
    MultiAry {
        opcode: Opcode,
        args: ValueList,
    },
    Trap {
        opcode: Opcode,
        code: TrapCode,
    },
    CondTrap {
        opcode: Opcode,
        arg: Value,
        code: TrapCode,
    },
    Call {
        opcode: Opcode,
        func_ref: FuncRef,
        args: ValueList,
    },
    /// `args[0]` is the callee address; the rest are the call arguments.
    CallIndirect {
        opcode: Opcode,
        sig_ref: SigRef,
        args: ValueList,
    },
    FuncAddr {
        opcode: Opcode,
        func_ref: FuncRef,
    },
    Shuffle {
        opcode: Opcode,
        args: [Value; 2],
        mask: Constant,
    },
}

/// Evaluate `$body` with `$op` bound to the opcode field of whichever variant `$data` is
/// (by value for a value, by reference for a reference): the one list of variants.
macro_rules! with_opcode {
    ($data:expr, $op:ident => $body:expr) => {{
        use InstructionData::*;
        match $data {
            UnaryImm { opcode: $op, .. }
            | UnaryIeee { opcode: $op, .. }
            | UnaryConst { opcode: $op, .. }
            | Unary { opcode: $op, .. }
            | Binary { opcode: $op, .. }
            | Ternary { opcode: $op, .. }
            | IntCompare { opcode: $op, .. }
            | FloatCompare { opcode: $op, .. }
            | ExtractLane { opcode: $op, .. }
            | InsertLane { opcode: $op, .. }
            | Load { opcode: $op, .. }
            | Store { opcode: $op, .. }
            | MemLane { opcode: $op, .. }
            | StackLoad { opcode: $op, .. }
            | StackStore { opcode: $op, .. }
            | Jump { opcode: $op, .. }
            | Brif { opcode: $op, .. }
            | BranchTable { opcode: $op, .. }
            | MultiAry { opcode: $op, .. }
            | Trap { opcode: $op, .. }
            | CondTrap { opcode: $op, .. }
            | Call { opcode: $op, .. }
            | CallIndirect { opcode: $op, .. }
            | FuncAddr { opcode: $op, .. }
            | Shuffle { opcode: $op, .. } => $body,
        }
    }};
}

impl InstructionData {
    /// The opcode.
    pub const fn opcode(&self) -> Opcode {
        with_opcode!(*self, opcode => opcode)
    }

    /// The opcode, mutably. The caller keeps the invariant that the new opcode has the same
    /// format (tools that mutate IR, such as the cache checks, use it).
    pub fn opcode_mut(&mut self) -> &mut Opcode {
        with_opcode!(self, opcode => opcode)
    }

    /// The value operands, excluding block-call arguments (see [`Self::branch_destinations`]).
    pub fn arguments<'a>(&'a self, pool: &'a ValueListPool) -> &'a [Value] {
        use InstructionData::*;
        match self {
            Unary { arg, .. }
            | ExtractLane { arg, .. }
            | Load { arg, .. }
            | StackStore { arg, .. }
            | Brif { arg, .. }
            | BranchTable { arg, .. }
            | CondTrap { arg, .. } => core::slice::from_ref(arg),
            Binary { args, .. }
            | IntCompare { args, .. }
            | FloatCompare { args, .. }
            | InsertLane { args, .. }
            | Shuffle { args, .. }
            | MemLane { args, .. }
            | Store { args, .. } => args,
            Ternary { args, .. } => args,
            MultiAry { args, .. } | Call { args, .. } | CallIndirect { args, .. } => {
                pool.get(*args)
            }
            UnaryImm { .. }
            | UnaryIeee { .. }
            | UnaryConst { .. }
            | StackLoad { .. }
            | Jump { .. }
            | Trap { .. }
            | FuncAddr { .. } => &[],
        }
    }

    /// The value operands, mutably (excluding block-call arguments).
    pub fn arguments_mut<'a>(&'a mut self, pool: &'a mut ValueListPool) -> &'a mut [Value] {
        use InstructionData::*;
        match self {
            Unary { arg, .. }
            | ExtractLane { arg, .. }
            | Load { arg, .. }
            | StackStore { arg, .. }
            | Brif { arg, .. }
            | BranchTable { arg, .. }
            | CondTrap { arg, .. } => core::slice::from_mut(arg),
            Binary { args, .. }
            | IntCompare { args, .. }
            | FloatCompare { args, .. }
            | InsertLane { args, .. }
            | Shuffle { args, .. }
            | MemLane { args, .. }
            | Store { args, .. } => args,
            Ternary { args, .. } => args,
            MultiAry { args, .. } | Call { args, .. } | CallIndirect { args, .. } => {
                pool.get_mut(*args)
            }
            UnaryImm { .. }
            | UnaryIeee { .. }
            | UnaryConst { .. }
            | StackLoad { .. }
            | Jump { .. }
            | Trap { .. }
            | FuncAddr { .. } => &mut [],
        }
    }

    /// The branch targets of a branch (empty for other instructions). For `br_table` the
    /// default comes first, then the table in order.
    pub fn branch_destinations<'a>(
        &'a self,
        jump_tables: &'a PrimaryMap<JumpTable, JumpTableData>,
    ) -> &'a [BlockCall] {
        match self {
            InstructionData::Jump { destination, .. } => core::slice::from_ref(destination),
            InstructionData::Brif { blocks, .. } => blocks,
            InstructionData::BranchTable { table, .. } => jump_tables
                .get(*table)
                .map(JumpTableData::all_branches)
                .unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Call `f` on every value this instruction uses, block-call arguments included, in
    /// operand order (arguments first, then each target's arguments).
    pub fn for_each_use(
        &self,
        pool: &ValueListPool,
        jump_tables: &PrimaryMap<JumpTable, JumpTableData>,
        mut f: impl FnMut(Value),
    ) {
        for &v in self.arguments(pool) {
            f(v);
        }
        for bc in self.branch_destinations(jump_tables) {
            pool.get(bc.args).iter().copied().for_each(&mut f);
        }
    }

    /// Replace every value this instruction uses (block-call arguments included) by
    /// `f(value)`, in place.
    pub fn map_uses(
        &mut self,
        pool: &mut ValueListPool,
        jump_tables: &PrimaryMap<JumpTable, JumpTableData>,
        mut f: impl FnMut(Value) -> Value,
    ) {
        for v in self.arguments_mut(pool) {
            *v = f(*v);
        }
        for bc in self.branch_destinations(jump_tables) {
            for v in pool.get_mut(bc.args) {
                *v = f(*v);
            }
        }
    }

    /// The trap code this instruction may raise explicitly (`trap`, `trapz`, `trapnz`).
    pub const fn trap_code(&self) -> Option<TrapCode> {
        match *self {
            InstructionData::Trap { code, .. } | InstructionData::CondTrap { code, .. } => {
                Some(code)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcode_names_unique_and_lookup() {
        let mut seen = std::collections::HashSet::new();
        for &op in Opcode::ALL {
            assert!(seen.insert(op.name()), "duplicate name {}", op.name());
            assert_eq!(Opcode::from_name(op.name()), Some(op));
        }
        assert_eq!(Opcode::from_name("nope"), None);
    }

    #[test]
    fn pushes_grow_lists_without_touching_others_and_in_linear_space() {
        let v = Value::from_u32;
        let mut pool = ValueListPool::new();
        // Three lists pushed to in turn, as the SSA builder appends a block parameter's
        // argument to each predecessor's branch: each must read back exactly its pushes.
        let mut lists = [ValueList::EMPTY, pool.alloc(&[v(100)]), ValueList::EMPTY];
        let other = pool.alloc(&[v(7), v(8)]);
        let mut expect: [Vec<Value>; 3] = [vec![], vec![v(100)], vec![]];
        for n in 0..200u32 {
            for (i, (list, want)) in lists.iter_mut().zip(&mut expect).enumerate() {
                let x = v(n * 3 + i as u32);
                *list = pool.push(*list, x);
                want.push(x);
            }
        }
        for (list, want) in lists.iter().zip(&expect) {
            assert_eq!(pool.get(*list), &want[..]);
        }
        assert_eq!(
            pool.get(other),
            &[v(7), v(8)],
            "a neighbouring list is untouched"
        );
        // Amortised: the pool holds a small multiple of what the lists hold, not the
        // sum of every intermediate copy (about 60,000 slots for these 601 values).
        assert!(
            pool.data.len() < 8 * 601,
            "pool grew to {}",
            pool.data.len()
        );
        // A list that is the pool's last grows in place, keeping its handle.
        let last = pool.alloc(&[v(1)]);
        assert_eq!(pool.push(last, v(2)), last);
        assert_eq!(pool.get(last), &[v(1), v(2)]);
        // A foreign handle is treated as empty, not a panic.
        let fresh = pool.push(ValueList(u32::MAX), v(5));
        assert_eq!(pool.get(fresh), &[v(5)]);
    }

    #[test]
    fn value_list_pool_round_trips() {
        let mut pool = ValueListPool::new();
        let a = pool.alloc(&[Value::from_u32(3), Value::from_u32(4)]);
        let e = pool.alloc(&[]);
        let b = pool.alloc_iter([Value::from_u32(9)]);
        let c = pool.alloc_iter([]);
        assert_eq!(pool.get(a), &[Value::from_u32(3), Value::from_u32(4)]);
        assert_eq!(pool.get(e), &[]);
        assert_eq!(pool.get(b), &[Value::from_u32(9)]);
        assert_eq!(c, ValueList::EMPTY);
        pool.get_mut(a)[1] = Value::from_u32(7);
        assert_eq!(pool.get(a)[1], Value::from_u32(7));
        assert_eq!(
            pool.get(ValueList(999)),
            &[],
            "foreign handle is empty, not a panic"
        );
        assert!(core::mem::size_of::<InstructionData>() <= 24);
    }
}
