//! Functions: the [`FunctionStencil`] / [`FunctionParameters`] split.
//!
//! The **stencil** holds everything that determines the machine code: signature, DFG
//! (with signatures, external-function declarations, jump tables and constants), layout,
//! stack slots, and source locations *relative* to the function's base location. External
//! functions are named only through [`UserExternalNameRef`] (or a [`LibCall`]).
//!
//! The **parameters** hold what only changes how compiled code is finalized: the base
//! [`SourceLoc`], the table `UserExternalNameRef → UserExternalName`, and the function's
//! own name.
//!
//! Invariant: renaming a callee ([`FunctionParameters::rename_user_name`]) or moving the
//! function within its module (changing every absolute source location by the same amount)
//! changes only the parameters, never the stencil. The base is set by the first
//! non-default location given to [`Function::set_srcloc`] and never changes afterwards.

use super::dfg::DataFlowGraph;
use super::entities::{Inst, SigRef, StackSlot, UserExternalNameRef};
use super::layout::Layout;
use super::types::Type;
use crate::entity::{PrimaryMap, SecondaryMap};
use core::fmt;
use core::ops::{Deref, DerefMut};

pub use super::extfunc::{ExtFuncData, ExternalName, LibCall, Signature};

/// A stack slot: `size` bytes aligned to `1 << align_shift` (at most 16).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct StackSlotData {
    /// Size in bytes.
    pub size: u32,
    /// log2 of the alignment.
    pub align_shift: u8,
}

impl StackSlotData {
    /// The alignment assumed when the text doesn't say: 8 bytes.
    pub const DEFAULT_ALIGN_SHIFT: u8 = 3;
    /// The largest allowed alignment shift (16 bytes).
    pub const MAX_ALIGN_SHIFT: u8 = 4;

    /// A slot of `size` bytes with the default alignment.
    pub fn new(size: u32) -> Self {
        Self {
            size,
            align_shift: Self::DEFAULT_ALIGN_SHIFT,
        }
    }
}

/// An absolute source location (e.g. a Wasm byte offset). `SourceLoc::default()` means
/// "no location"; `u32::MAX` is reserved for it.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct SourceLoc(u32);

impl SourceLoc {
    /// A location. `u32::MAX` gives the default ("none").
    pub const fn new(bits: u32) -> Self {
        SourceLoc(bits)
    }
    /// The raw offset.
    pub const fn bits(self) -> u32 {
        self.0
    }
    /// Is this the "no location" value?
    pub const fn is_default(self) -> bool {
        self.0 == u32::MAX
    }
}

impl Default for SourceLoc {
    fn default() -> Self {
        SourceLoc(u32::MAX)
    }
}

impl fmt::Display for SourceLoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_default() {
            f.write_str("@-")
        } else {
            write!(f, "@{:04x}", self.0)
        }
    }
}

/// A source location relative to the function's base location (`None`: no location).
/// Stored in the stencil so that moving a function doesn't change its stencil.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct RelSourceLoc(Option<u32>);

impl RelSourceLoc {
    /// `loc` relative to `base` (wrapping).
    pub fn from_base_offset(base: SourceLoc, loc: SourceLoc) -> Self {
        if loc.is_default() || base.is_default() {
            RelSourceLoc(None)
        } else {
            RelSourceLoc(Some(loc.0.wrapping_sub(base.0)))
        }
    }
    /// The absolute location given the base.
    pub fn expand(self, base: SourceLoc) -> SourceLoc {
        match self.0 {
            Some(off) if !base.is_default() => SourceLoc(base.0.wrapping_add(off)),
            _ => SourceLoc::default(),
        }
    }
    /// The raw relative offset, if any.
    pub fn offset(self) -> Option<u32> {
        self.0
    }
}

/// An external name as the embedder sees it: a namespace and an index (for Wasm: namespace
/// 0 is the module's functions). Printed `u<namespace>:<index>`.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct UserExternalName {
    /// Namespace.
    pub namespace: u32,
    /// Index within the namespace.
    pub index: u32,
}

impl UserExternalName {
    /// A name.
    pub const fn new(namespace: u32, index: u32) -> Self {
        Self { namespace, index }
    }
}

impl fmt::Display for UserExternalName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "u{}:{}", self.namespace, self.index)
    }
}

/// A function's own name: an embedder name, or a test name (`%name`).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum UserFuncName {
    /// `u<ns>:<idx>`
    User(UserExternalName),
    /// `%name`: letters, digits, `_`, `.` and `-`.
    Testcase(String),
}

impl Default for UserFuncName {
    fn default() -> Self {
        UserFuncName::User(UserExternalName::new(0, 0))
    }
}

impl UserFuncName {
    /// A test name (`%name`).
    pub fn testcase(name: impl Into<String>) -> Self {
        UserFuncName::Testcase(name.into())
    }

    /// Is `s` a valid test name (without the `%`)?
    pub fn is_valid_testcase_name(s: &str) -> bool {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
    }
}

impl fmt::Display for UserFuncName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserFuncName::User(n) => write!(f, "{n}"),
            UserFuncName::Testcase(s) => write!(f, "%{s}"),
        }
    }
}

/// Everything that determines the machine code.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct FunctionStencil {
    /// The function's signature.
    pub signature: Signature,
    /// Instructions, values, blocks and the tables they use.
    pub dfg: DataFlowGraph,
    /// Block and instruction order.
    pub layout: Layout,
    /// Stack slots.
    pub stack_slots: PrimaryMap<StackSlot, StackSlotData>,
    /// Source locations relative to the parameters' base.
    pub srclocs: SecondaryMap<Inst, RelSourceLoc>,
}

impl FunctionStencil {
    /// The first vector type the function uses: in its signature, a value, or a
    /// signature it calls (`None`: scalar code only, which compiles without `enable_simd`).
    pub fn first_vector_type(&self) -> Option<Type> {
        fn sig_types(s: &Signature) -> impl Iterator<Item = Type> + '_ {
            s.params.iter().chain(s.returns.iter()).copied()
        }
        sig_types(&self.signature)
            .chain(self.dfg.values.values().map(|v| v.ty))
            .chain(self.dfg.signatures.values().flat_map(sig_types))
            .find(|t| t.is_vector())
    }

    /// Declare a signature for `call_indirect` or an external function.
    pub fn import_signature(&mut self, sig: Signature) -> SigRef {
        self.dfg.signatures.push(sig)
    }

    /// Declare an external function.
    pub fn import_function(&mut self, data: ExtFuncData) -> super::FuncRef {
        self.dfg.ext_funcs.push(data)
    }

    /// Create a stack slot.
    pub fn create_stack_slot(&mut self, data: StackSlotData) -> StackSlot {
        self.stack_slots.push(data)
    }

    /// Number of instructions in the layout (the function's size for benchmarks).
    pub fn inst_count(&self) -> usize {
        self.layout
            .blocks()
            .map(|b| self.layout.block_insts(b).count())
            .sum()
    }
}

/// What only changes how compiled code is finalized.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct FunctionParameters {
    base_srcloc: SourceLoc,
    user_named_funcs: PrimaryMap<UserExternalNameRef, UserExternalName>,
    /// The function's own name.
    pub name: UserFuncName,
}

impl FunctionParameters {
    /// Parameters from their parts (as a cache memo stores them): the function's name, its
    /// base source location and its name table in reference order.
    pub fn from_parts(
        name: UserFuncName,
        base_srcloc: SourceLoc,
        user_named_funcs: impl IntoIterator<Item = UserExternalName>,
    ) -> Self {
        let mut p = FunctionParameters {
            base_srcloc,
            name,
            ..Default::default()
        };
        for n in user_named_funcs {
            p.user_named_funcs.push(n);
        }
        p
    }

    /// The base source location (default until the first location is set).
    pub fn base_srcloc(&self) -> SourceLoc {
        self.base_srcloc
    }

    /// Declare `name` and return its reference. Every call adds a new entry (so that the
    /// parser can keep one entry per declaration); use [`Self::find_user_name`] to reuse.
    pub fn declare_user_name(&mut self, name: UserExternalName) -> UserExternalNameRef {
        self.user_named_funcs.push(name)
    }

    /// The reference of the first entry equal to `name`, if any.
    pub fn find_user_name(&self, name: UserExternalName) -> Option<UserExternalNameRef> {
        self.user_named_funcs
            .iter()
            .find(|(_, n)| **n == name)
            .map(|(r, _)| r)
    }

    /// The name behind a reference.
    pub fn user_name(&self, r: UserExternalNameRef) -> Option<UserExternalName> {
        self.user_named_funcs.get(r).copied()
    }

    /// Point an existing reference at another name. The stencil is unaffected.
    pub fn rename_user_name(&mut self, r: UserExternalNameRef, name: UserExternalName) -> bool {
        match self.user_named_funcs.get_mut(r) {
            Some(slot) => {
                *slot = name;
                true
            }
            None => false,
        }
    }

    /// The whole name table.
    pub fn user_named_funcs(&self) -> &PrimaryMap<UserExternalNameRef, UserExternalName> {
        &self.user_named_funcs
    }

    /// Move every absolute location of the function by `delta` (wrapping): only the base
    /// changes. Does nothing while no base is set.
    pub fn rebase_srclocs(&mut self, delta: i64) {
        if !self.base_srcloc.is_default() {
            let b = (self.base_srcloc.0 as i64).wrapping_add(delta) as u32;
            // u32::MAX is "no location"; a base there would erase every location.
            self.base_srcloc = SourceLoc(if b == u32::MAX { 0 } else { b });
        }
    }
}

/// A whole function: stencil plus parameters. Derefs to the stencil.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Function {
    /// What determines the machine code.
    pub stencil: FunctionStencil,
    /// What only finalizes it.
    pub params: FunctionParameters,
}

impl Function {
    /// An empty function with a name and signature.
    pub fn with_name_signature(name: UserFuncName, signature: Signature) -> Self {
        Function {
            stencil: FunctionStencil {
                signature,
                ..Default::default()
            },
            params: FunctionParameters {
                name,
                ..Default::default()
            },
        }
    }

    /// Make this the empty function [`Function::with_name_signature`] builds, keeping every
    /// table's allocation: a compiler that builds many functions one after another reuses
    /// one instead of growing fresh tables (and faulting in fresh pages) each time.
    /// Destructured so that a field added later cannot be forgotten here.
    pub fn reset(&mut self, name: UserFuncName, signature: Signature) {
        let FunctionStencil {
            signature: sig,
            dfg,
            layout,
            stack_slots,
            srclocs,
        } = &mut self.stencil;
        *sig = signature;
        dfg.clear();
        layout.clear();
        stack_slots.clear();
        srclocs.clear();
        let FunctionParameters {
            base_srcloc,
            user_named_funcs,
            name: own_name,
        } = &mut self.params;
        *base_srcloc = SourceLoc::default();
        user_named_funcs.clear();
        *own_name = name;
    }

    /// Set the absolute source location of `inst`. The first non-default location ever set
    /// becomes the base; all locations are stored relative to it.
    pub fn set_srcloc(&mut self, inst: Inst, loc: SourceLoc) {
        if self.params.base_srcloc.is_default() && !loc.is_default() {
            self.params.base_srcloc = loc;
        }
        let rel = RelSourceLoc::from_base_offset(self.params.base_srcloc, loc);
        self.stencil.srclocs.set(inst, rel);
    }

    /// The absolute source location of `inst` (default when none).
    pub fn srcloc(&self, inst: Inst) -> SourceLoc {
        self.stencil.srclocs[inst].expand(self.params.base_srcloc)
    }

    /// Declare a user-named external function with signature `sig`, reusing an existing
    /// name-table entry for the same name.
    pub fn import_user_function(&mut self, name: UserExternalName, sig: SigRef) -> super::FuncRef {
        let r = self
            .params
            .find_user_name(name)
            .unwrap_or_else(|| self.params.declare_user_name(name));
        self.stencil.import_function(ExtFuncData {
            name: ExternalName::User(r),
            signature: sig,
        })
    }
}

impl Deref for Function {
    type Target = FunctionStencil;
    fn deref(&self) -> &FunctionStencil {
        &self.stencil
    }
}

impl DerefMut for Function {
    fn deref_mut(&mut self) -> &mut FunctionStencil {
        &mut self.stencil
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::EntityRef;
    use crate::ir::Type;

    #[test]
    fn srcloc_base_is_first_location_and_rebase_keeps_stencil() {
        let mut f = Function::default();
        let (i0, i1) = (Inst::new(0), Inst::new(1));
        f.set_srcloc(i0, SourceLoc::default());
        assert!(f.params.base_srcloc().is_default());
        f.set_srcloc(i1, SourceLoc::new(100));
        f.set_srcloc(i0, SourceLoc::new(90));
        assert_eq!(f.params.base_srcloc(), SourceLoc::new(100));
        assert_eq!(f.srcloc(i0), SourceLoc::new(90));
        let stencil = f.stencil.clone();
        f.params.rebase_srclocs(1000);
        assert_eq!(f.srcloc(i0), SourceLoc::new(1090));
        assert_eq!(f.stencil, stencil);
    }

    #[test]
    fn reset_makes_the_function_with_name_signature_builds() {
        let src = "function u0:7(i32) -> i32 {\nblock0(v0: i32):\n    v1 = iconst.i32 3\n    \
                   v2 = iadd v0, v1\n    return v2\n}\n";
        let mut f = crate::ir::text::parse_functions(src).unwrap().remove(0);
        f.set_srcloc(Inst::new(1), SourceLoc::new(40));
        let sig = f.import_signature(Signature::new(&[Type::I64], &[]));
        f.import_user_function(UserExternalName::new(0, 9), sig);
        assert_ne!(f, Function::default());
        let name = UserFuncName::User(UserExternalName::new(0, 2));
        let signature = Signature::new(&[Type::F64], &[Type::I8]);
        f.reset(name.clone(), signature.clone());
        assert_eq!(f, Function::with_name_signature(name, signature));
    }

    #[test]
    fn rename_callee_touches_only_params() {
        let mut f = Function::default();
        let sig = f.import_signature(Signature::new(&[Type::I32], &[]));
        f.import_user_function(UserExternalName::new(0, 1), sig);
        let again = f.import_user_function(UserExternalName::new(0, 1), sig);
        assert_eq!(
            f.params.user_named_funcs().len(),
            1,
            "same name reuses the entry"
        );
        let stencil = f.stencil.clone();
        let ExternalName::User(r) = f.dfg.ext_funcs[again].name else {
            unreachable!()
        };
        assert!(f.params.rename_user_name(r, UserExternalName::new(0, 7)));
        assert_eq!(f.stencil, stencil);
    }
}
