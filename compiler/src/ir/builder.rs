//! `FunctionBuilder`: builds functions in SSA form from mutable variables.
//!
//! Frontends (the Wasm translator) and random-program generators build all IR through
//! this module. It owns block creation and sealing, instruction insertion (one method per
//! opcode on [`FuncInstBuilder`]), and SSA construction from [`Variable`]s following Braun
//! et al., "Simple and Efficient Construction of Static Single Assignment Form", with block
//! parameters in place of phi nodes:
//!
//! - `use_var` in a block that defines the variable returns that definition; in a sealed
//!   block with one predecessor it continues in the predecessor; in an unsealed block, or a
//!   sealed one with several predecessors, it adds a block parameter and (immediately, or
//!   when the block is sealed) passes the variable's value from every predecessor's branch
//!   — every block call of that branch that targets the block, so `brif` with both targets
//!   equal and `br_table` with repeated targets get the argument on each edge.
//! - Parameters whose incoming arguments are all the same value (or the parameter itself)
//!   are *trivial*. They are never aliased: the builder records a replacement, and
//!   [`FunctionBuilder::finalize`] iterates the triviality check to a fixpoint, removes the
//!   trivial parameters together with their branch arguments, and rewrites every use in
//!   one pass over the instructions.
//! - A frontend that knows more can say so: [`FunctionBuilder::set_passthrough`] declares
//!   that every path into a block passes through the end of another and assigns only the
//!   listed variables on the way. Reading any other variable there continues in that
//!   block, like a single-predecessor block, even while unsealed — no parameter is made
//!   (the Wasm translator declares each construct's exit and each loop header so).
//! - Reading a variable with no definition on some path from the entry block (use before
//!   def) is **defined behaviour**: the value is zero of the variable's type (`iconst 0`,
//!   `fconst +0.0`, or an all-zero `vconst`), materialized at the top of the block where the
//!   search found no predecessor (the entry block, or an unreachable block). This matches
//!   Wasm locals, which start at zero.
//! - All walks use explicit work lists, never native recursion, so long predecessor chains
//!   cannot overflow the stack.
//!
//! Invariants: a block's parameters are its user parameters (appended with
//! [`FunctionBuilder::append_block_param`] before any branch to it exists) followed by the
//! parameters SSA construction added. A sealed block never gets new predecessors. After a
//! successful [`FunctionBuilder::finalize`] on a function whose blocks all end in
//! terminators and whose instructions were given well-typed operands, the function passes
//! [`verify_function`](super::verify_function).
//!
//! Misuse never panics. Methods where a `Result` is natural return one (`def_var`,
//! `use_var`, `finalize`). The per-opcode methods of [`FuncInstBuilder`] are infallible for
//! ergonomics: their preconditions (a current block that is not yet filled, operands of
//! the types `docs/kir.md` requires, no branch to a sealed block) are recorded when
//! violated and reported by `finalize` (the first one), and operand typing is left to the
//! verifier.

use super::condcodes::{FloatCC, IntCC};
use super::dfg::{DataFlowGraph, ValueData, ValueDef};
use super::entities::{Block, Constant, FuncRef, Inst, SigRef, StackSlot, Value};
use super::function::{
    ExtFuncData, ExternalName, Function, LibCall, Signature, SourceLoc, StackSlotData,
    UserExternalName,
};
use super::instructions::{BlockCall, InstructionData, JumpTableData, Opcode, ResultRule};
use super::memflags::MemFlags;
use super::text::literals::sign_extend;
use super::trapcode::TrapCode;
use super::types::Type;
use crate::entity::{EntityRef, SecondaryMap};
use crate::entity_ref;
use smallvec::SmallVec;

entity_ref!(
    /// A mutable variable of the source program; the builder turns its uses into SSA
    /// values, inserting block parameters where control flow merges.
    Variable,
    "var"
);

/// Misuse of the builder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuilderError {
    /// The variable was not created by `declare_var` on this builder.
    #[error("{0} was not declared (use declare_var)")]
    UndeclaredVariable(Variable),
    /// `def_var` with a value of the wrong type.
    #[error("def_var({var}, {value}): {value} has type {got}, but {var} is declared {declared}")]
    VariableTypeMismatch {
        /// The variable.
        var: Variable,
        /// The value given.
        value: Value,
        /// The variable's declared type.
        declared: Type,
        /// The value's type.
        got: Type,
    },
    /// A value that does not exist.
    #[error("{0} does not exist")]
    InvalidValue(Value),
    /// A block that does not exist.
    #[error("{0} does not exist")]
    InvalidBlock(Block),
    /// An operation that needs a current block before `switch_to_block`.
    #[error("no current block (call switch_to_block first)")]
    NoCurrentBlock,
    /// A branch to a block that was already sealed.
    #[error("branch from {from} to {block}, which is already sealed (all its predecessors must exist before seal_block)")]
    BranchToSealedBlock {
        /// The sealed target.
        block: Block,
        /// The block containing the branch.
        from: Block,
    },
    /// An instruction appended after the block's terminator.
    #[error("{inst} appended to {block} after its terminator")]
    InstAfterTerminator {
        /// The instruction.
        inst: Inst,
        /// The filled block.
        block: Block,
    },
    /// A user block parameter appended after a branch to the block was built, or after SSA
    /// construction added parameters to it.
    #[error("parameter appended to {0} after a branch to it was built or variables added parameters to it")]
    LateBlockParam(Block),
    /// The result types of an instruction could not be determined (dangling operand,
    /// function or signature reference).
    #[error(
        "the result types of {0} could not be determined (dangling operand or signature reference)"
    )]
    UnknownResultTypes(Inst),
    /// A block in the layout does not end with a terminator at `finalize`.
    #[error("{0} does not end with a terminator")]
    UnfilledBlock(Block),
}

/// One predecessor of a block: a branch and which of its destinations target the block
/// (a `br_table` may name a block several times). Keeping the destination indices makes
/// every argument update O(1), however many destinations the branch has.
#[derive(Clone, Debug)]
struct Pred {
    /// The predecessor block.
    block: Block,
    /// Its branch.
    branch: Inst,
    /// Indices into the branch's destinations that target this block.
    dests: SmallVec<[u32; 1]>,
}

/// SSA bookkeeping of one block.
#[derive(Clone, Debug, Default)]
struct SsaBlock {
    /// Predecessors, one entry per distinct branch.
    preds: Vec<Pred>,
    /// All predecessors are known.
    sealed: bool,
    /// Has a terminator.
    filled: bool,
    /// Parameters added while unsealed; they get their arguments at sealing.
    incomplete: Vec<(Variable, Value)>,
    /// Number of parameters added by SSA construction.
    ssa_params: u32,
    /// Set by [`FunctionBuilder::set_passthrough`]: the block every path into this one
    /// passes through, and the span of `FunctionBuilderContext::changed` listing the
    /// variables that may be assigned on the way.
    passthrough: Option<(Block, u32, u32)>,
}

impl SsaBlock {
    fn reset(&mut self) {
        self.preds.clear();
        self.sealed = false;
        self.filled = false;
        self.incomplete.clear();
        self.ssa_params = 0;
        self.passthrough = None;
    }
}

/// Allocations reused across the functions built with it. Create one per thread and pass
/// it to every [`FunctionBuilder::new`].
#[derive(Default)]
pub struct FunctionBuilderContext {
    var_types: Vec<Type>,
    /// Per variable: its current definition at the end of (or so far in) each block. Only
    /// the first `var_types.len()` entries are in use; the rest keep their allocations.
    defs: Vec<SecondaryMap<Block, Option<Value>>>,
    /// Per block index; entries past the function's blocks keep their allocations.
    blocks: Vec<SsaBlock>,
    /// Trivial parameters and what replaces them.
    replace: SecondaryMap<Value, Option<Value>>,
    /// Every parameter SSA construction added, with its block.
    ssa_params: Vec<(Block, Value)>,
    /// Scratch for `finalize`: each SSA parameter's index in `ssa_params`.
    ssa_index: SecondaryMap<Value, Option<u32>>,
    /// Scratch for `finalize`: per SSA parameter, the SSA parameters it is an argument of.
    ssa_users: Vec<Vec<u32>>,
    /// Parameters of sealed blocks still waiting for their incoming arguments.
    pending: Vec<(Block, Variable, Value)>,
    /// The sorted variable lists of every block's passthrough, one after another.
    changed: Vec<Variable>,
    /// Scratch: blocks visited along a single-predecessor chain.
    chain: Vec<Block>,
    /// Scratch: which branch last declared a block as its successor.
    succ_stamp: SecondaryMap<Block, Option<Inst>>,
    /// Scratch: blocks whose parameters `finalize` must rewrite.
    dirty: SecondaryMap<Block, bool>,
    /// Errors recorded by infallible methods, reported by `finalize`.
    errors: Vec<BuilderError>,
    /// The all-zero vector constant, once created.
    zero_vec: Option<Constant>,
}

impl FunctionBuilderContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget the previous function. Only the first `blocks` block entries (the blocks the
    /// next function already has) are reset here; [`FunctionBuilder::create_block`] resets
    /// each new one, so the cost does not grow with the largest function ever built.
    fn reset(&mut self, blocks: usize) {
        for d in self.defs.iter_mut().take(self.var_types.len()) {
            d.clear();
        }
        self.var_types.clear();
        let blocks = blocks.min(self.blocks.len());
        for b in &mut self.blocks[..blocks] {
            b.reset();
        }
        self.replace.clear();
        let used = self.ssa_params.len().min(self.ssa_users.len());
        for u in &mut self.ssa_users[..used] {
            u.clear();
        }
        self.ssa_params.clear();
        self.ssa_index.clear();
        self.pending.clear();
        self.changed.clear();
        self.chain.clear();
        self.succ_stamp.clear();
        self.dirty.clear();
        self.errors.clear();
        self.zero_vec = None;
    }

    fn block(&mut self, b: Block) -> &mut SsaBlock {
        if b.index() >= self.blocks.len() {
            self.blocks.resize_with(b.index() + 1, SsaBlock::default);
        }
        &mut self.blocks[b.index()]
    }

    /// The value `v` stands for after trivial-parameter replacements, compressing the
    /// replacement chain on the way (so repeated lookups are O(1) amortized).
    fn resolve(&mut self, v: Value) -> Value {
        // Replacement targets are canonical when recorded, so chains are acyclic; the bound
        // guards against corrupted state.
        let bound = self.ssa_params.len() + 1;
        let mut root = v;
        let mut steps = 0;
        while let Some(n) = *self.replace.get(root) {
            if n == root || steps > bound {
                break;
            }
            root = n;
            steps += 1;
        }
        let mut cur = v;
        for _ in 0..steps {
            match *self.replace.get(cur) {
                Some(n) if n != root => {
                    self.replace.set(cur, Some(root));
                    cur = n;
                }
                _ => break,
            }
        }
        root
    }
}

/// `Some(v)` if every incoming argument of parameter `p` of `block` is `v` or `p` itself
/// (after replacements); `None` if it is not trivial or has no such `v`.
fn trivial_replacement(
    dfg: &DataFlowGraph,
    ctx: &mut FunctionBuilderContext,
    block: Block,
    p: Value,
) -> Option<Value> {
    let Some(ValueDef::Param(_, k)) = dfg.values.get(p).map(|d| d.def) else {
        return None;
    };
    let mut same: Option<Value> = None;
    let bi = block.index();
    let npreds = ctx.blocks.get(bi)?.preds.len();
    for i in 0..npreds {
        let Some(data) = dfg.insts.get(ctx.blocks[bi].preds[i].branch) else {
            continue;
        };
        let dests = data.branch_destinations(&dfg.jump_tables);
        for j in 0..ctx.blocks[bi].preds[i].dests.len() {
            let Some(bc) = dests.get(ctx.blocks[bi].preds[i].dests[j] as usize) else {
                continue;
            };
            let a = *dfg.value_lists.get(bc.args).get(k as usize)?;
            let a = ctx.resolve(a);
            if a == p || Some(a) == same {
                continue;
            }
            if same.is_some() {
                return None;
            }
            same = Some(a);
        }
    }
    same
}

/// Does parameter `p` of `block` only ever receive itself (or have no incoming edge)?
fn only_self_args(
    dfg: &DataFlowGraph,
    ctx: &mut FunctionBuilderContext,
    block: Block,
    p: Value,
) -> bool {
    let Some(ValueDef::Param(_, k)) = dfg.values.get(p).map(|d| d.def) else {
        return false;
    };
    let bi = block.index();
    let npreds = ctx.blocks.get(bi).map_or(0, |s| s.preds.len());
    for i in 0..npreds {
        let Some(data) = dfg.insts.get(ctx.blocks[bi].preds[i].branch) else {
            continue;
        };
        let dests = data.branch_destinations(&dfg.jump_tables);
        for j in 0..ctx.blocks[bi].preds[i].dests.len() {
            let d = ctx.blocks[bi].preds[i].dests[j] as usize;
            match dests
                .get(d)
                .and_then(|bc| dfg.value_lists.get(bc.args).get(k as usize))
            {
                Some(&a) if ctx.resolve(a) == p => {}
                _ => return false,
            }
        }
    }
    true
}

/// Builds one function. See the module docs for the SSA construction.
pub struct FunctionBuilder<'a> {
    /// The function being built.
    pub func: &'a mut Function,
    ctx: &'a mut FunctionBuilderContext,
    current: Option<Block>,
    srcloc: SourceLoc,
}

impl<'a> FunctionBuilder<'a> {
    /// Start building into `func` (usually empty, with its name and signature set), reusing
    /// `ctx`'s allocations.
    pub fn new(func: &'a mut Function, ctx: &'a mut FunctionBuilderContext) -> Self {
        let n = func.dfg.blocks.len();
        ctx.reset(n);
        if n > ctx.blocks.len() {
            ctx.blocks.resize_with(n, SsaBlock::default);
        }
        FunctionBuilder {
            func,
            ctx,
            current: None,
            srcloc: SourceLoc::default(),
        }
    }

    fn record(&mut self, e: BuilderError) {
        self.ctx.errors.push(e);
    }

    fn block_exists(&self, b: Block) -> bool {
        self.func.dfg.blocks.get(b).is_some()
    }

    // ---- blocks ------------------------------------------------------------------------

    /// Create a new block (not yet in the layout; `switch_to_block` inserts it).
    pub fn create_block(&mut self) -> Block {
        let b = self.func.dfg.make_block();
        self.ctx.block(b).reset();
        b
    }

    /// Make `block` the current block, appending it to the layout if it isn't there yet.
    /// Instructions built with [`Self::ins`] go to its end. A block that does not exist is
    /// recorded as an error and leaves no current block.
    pub fn switch_to_block(&mut self, block: Block) {
        if !self.block_exists(block) {
            self.record(BuilderError::InvalidBlock(block));
            self.current = None;
            return;
        }
        self.func.layout.append_block(block);
        self.ctx.block(block);
        self.current = Some(block);
    }

    /// The current block.
    pub fn current_block(&self) -> Option<Block> {
        self.current
    }

    /// Does the current block end with a terminator? (False without a current block.)
    pub fn is_filled(&self) -> bool {
        self.current
            .and_then(|b| self.ctx.blocks.get(b.index()))
            .is_some_and(|s| s.filled)
    }

    /// Declare that every predecessor of `block` exists. Parameters added for variables
    /// read in `block` receive their arguments now. Sealing twice is a no-op.
    pub fn seal_block(&mut self, block: Block) {
        if !self.block_exists(block) {
            self.record(BuilderError::InvalidBlock(block));
            return;
        }
        let sb = self.ctx.block(block);
        if sb.sealed {
            return;
        }
        sb.sealed = true;
        let mut incomplete = core::mem::take(&mut sb.incomplete);
        // Process in creation order (the pending list is a stack).
        for &(var, p) in incomplete.iter().rev() {
            self.ctx.pending.push((block, var, p));
        }
        incomplete.clear();
        self.ctx.block(block).incomplete = incomplete;
        self.drain_pending();
    }

    /// Declare that every path into `block` passes through the end of `from` and assigns
    /// none of the variables *not* in `changed` after it: each of those holds, on entry to
    /// `block`, the value it has at the end of `from`. Reading one in `block` (sealed or
    /// not) then continues in `from` instead of adding a block parameter — which,
    /// with all incoming arguments the same, would only be removed again by
    /// [`Self::finalize`]. A structured frontend knows this for the join block of a
    /// construct (`from` is the block the construct starts in, `changed` what it assigns)
    /// and for a loop header (`from` is the block before the loop).
    ///
    /// A wrong claim makes wrong code, like a wrong `def_var`. A block that does not exist
    /// is recorded as an error; setting it again replaces the previous claim.
    pub fn set_passthrough(
        &mut self,
        block: Block,
        from: Block,
        changed: impl IntoIterator<Item = Variable>,
    ) {
        if !self.block_exists(block) || !self.block_exists(from) {
            let bad = if self.block_exists(block) {
                from
            } else {
                block
            };
            self.record(BuilderError::InvalidBlock(bad));
            return;
        }
        let start = self.ctx.changed.len();
        self.ctx.changed.extend(changed);
        self.ctx.changed[start..].sort_unstable();
        let end = self.ctx.changed.len();
        self.ctx.block(block).passthrough = Some((from, start as u32, end as u32));
    }

    /// Seal every block created so far.
    pub fn seal_all_blocks(&mut self) {
        for i in 0..self.func.dfg.blocks.len() {
            self.seal_block(Block::new(i));
        }
    }

    /// Append a parameter of type `ty` to `block`. User parameters must be appended before
    /// any branch to the block is built and before variables are read in it; otherwise the
    /// error is recorded (the parameter is still appended).
    pub fn append_block_param(&mut self, block: Block, ty: Type) -> Value {
        if !self.block_exists(block) {
            self.record(BuilderError::InvalidBlock(block));
            return self.placeholder(ty);
        }
        let sb = self.ctx.block(block);
        if !sb.preds.is_empty() || sb.ssa_params > 0 {
            self.record(BuilderError::LateBlockParam(block));
        }
        self.func.dfg.append_block_param(block, ty)
    }

    /// Append one parameter per signature parameter to `block` (the entry block).
    pub fn append_block_params_for_function_params(&mut self, block: Block) {
        for i in 0..self.func.signature.params.len() {
            let ty = self.func.signature.params[i];
            self.append_block_param(block, ty);
        }
    }

    /// The parameters of `block`.
    pub fn block_params(&self, block: Block) -> &[Value] {
        self.func.dfg.block_params(block)
    }

    /// The results of `inst` (e.g. a call).
    pub fn inst_results(&self, inst: Inst) -> &[Value] {
        self.func.dfg.inst_results(inst)
    }

    // ---- declarations ------------------------------------------------------------------

    /// Source location attached to the instructions built from now on
    /// (`SourceLoc::default()` for none).
    pub fn set_srcloc(&mut self, loc: SourceLoc) {
        self.srcloc = loc;
    }

    /// Create a stack slot.
    pub fn create_stack_slot(&mut self, data: StackSlotData) -> StackSlot {
        self.func.create_stack_slot(data)
    }

    /// Declare a signature (for `call_indirect` or a function declaration).
    pub fn import_signature(&mut self, sig: Signature) -> SigRef {
        self.func.import_signature(sig)
    }

    /// Declare an external function.
    pub fn import_function(&mut self, data: ExtFuncData) -> FuncRef {
        self.func.import_function(data)
    }

    /// Declare a user-named function with signature `sig`, reusing an existing name entry.
    pub fn import_user_function(&mut self, name: UserExternalName, sig: SigRef) -> FuncRef {
        self.func.import_user_function(name, sig)
    }

    /// Declare a libcall with its own signature.
    pub fn import_libcall(&mut self, lc: LibCall) -> FuncRef {
        let sig = self.func.import_signature(lc.signature());
        self.func.import_function(ExtFuncData {
            name: ExternalName::LibCall(lc),
            signature: sig,
        })
    }

    // ---- variables ---------------------------------------------------------------------

    /// Declare a new variable of type `ty`.
    pub fn declare_var(&mut self, ty: Type) -> Variable {
        let var = Variable::new(self.ctx.var_types.len());
        self.ctx.var_types.push(ty);
        if self.ctx.defs.len() < self.ctx.var_types.len() {
            self.ctx.defs.push(SecondaryMap::new());
        }
        var
    }

    /// The declared type of `var`.
    pub fn var_type(&self, var: Variable) -> Option<Type> {
        self.ctx.var_types.get(var.index()).copied()
    }

    /// Assign `value` to `var` at the current point of the current block.
    pub fn def_var(&mut self, var: Variable, value: Value) -> Result<(), BuilderError> {
        let declared = self
            .var_type(var)
            .ok_or(BuilderError::UndeclaredVariable(var))?;
        let got = self
            .func
            .dfg
            .value_type(value)
            .ok_or(BuilderError::InvalidValue(value))?;
        if got != declared {
            return Err(BuilderError::VariableTypeMismatch {
                var,
                value,
                declared,
                got,
            });
        }
        let block = self.current.ok_or(BuilderError::NoCurrentBlock)?;
        self.ctx.defs[var.index()].set(block, Some(value));
        Ok(())
    }

    /// The value of `var` at the current point of the current block (zero of its type if
    /// it has no definition on some path from the entry; see the module docs).
    pub fn use_var(&mut self, var: Variable) -> Result<Value, BuilderError> {
        let ty = self
            .var_type(var)
            .ok_or(BuilderError::UndeclaredVariable(var))?;
        let block = self.current.ok_or(BuilderError::NoCurrentBlock)?;
        let v = self.read(var, ty, block);
        self.drain_pending();
        Ok(self.ctx.resolve(v))
    }

    /// Find `var`'s value at the end of `block` (or at the current point, for the current
    /// block) without recursion. May add parameters and push them on the pending list.
    fn read(&mut self, var: Variable, ty: Type, block: Block) -> Value {
        self.ctx.chain.clear();
        let limit = self.func.dfg.blocks.len() + 1;
        let mut b = block;
        let val = loop {
            if let Some(v) = *self.ctx.defs[var.index()].get(b) {
                break self.ctx.resolve(v);
            }
            let sb = self.ctx.block(b);
            let (sealed, npreds) = (sb.sealed, sb.preds.len());
            let first_pred = sb.preds.first().map(|p| p.block);
            let passthrough = sb.passthrough.and_then(|(from, start, end)| {
                let changed = &self.ctx.changed[start as usize..end as usize];
                changed.binary_search(&var).is_err().then_some(from)
            });
            // Where the search continues: the passthrough's block, or the only predecessor.
            let next = match passthrough {
                Some(from) => from,
                None if !sealed => {
                    let p = self.add_ssa_param(b, ty);
                    self.ctx.block(b).incomplete.push((var, p));
                    break p;
                }
                None => match (npreds, first_pred) {
                    (0, _) | (_, None) => break self.zero_at_top(b, ty),
                    (1, Some(pred)) => pred,
                    _ => {
                        let p = self.add_ssa_param(b, ty);
                        self.ctx.pending.push((b, var, p));
                        break p;
                    }
                },
            };
            self.ctx.chain.push(b);
            if self.ctx.chain.len() > limit {
                // A cycle of single-predecessor blocks (unreachable code) or of
                // passthroughs (only a wrong claim makes one).
                b = block;
                break self.zero_at_top(block, ty);
            }
            b = next;
        };
        let defs = &mut self.ctx.defs[var.index()];
        if defs.get(b).is_none() {
            defs.set(b, Some(val));
        }
        for &c in &self.ctx.chain {
            defs.set(c, Some(val));
        }
        val
    }

    fn add_ssa_param(&mut self, block: Block, ty: Type) -> Value {
        let p = self.func.dfg.append_block_param(block, ty);
        self.ctx.block(block).ssa_params += 1;
        self.ctx.ssa_params.push((block, p));
        p
    }

    /// Give every pending parameter its incoming arguments (reading the variable in each
    /// predecessor may add more pending parameters).
    fn drain_pending(&mut self) {
        while let Some((block, var, p)) = self.ctx.pending.pop() {
            let Some(ty) = self.var_type(var) else {
                continue;
            };
            let Some(ValueDef::Param(_, k)) = self.func.dfg.values.get(p).map(|d| d.def) else {
                continue;
            };
            let npreds = self.ctx.block(block).preds.len();
            for i in 0..npreds {
                let pred = self.ctx.blocks[block.index()].preds[i].block;
                let v = self.read(var, ty, pred);
                let pr = &self.ctx.blocks[block.index()].preds[i];
                set_branch_arg(&mut self.func.dfg, pr.branch, &pr.dests, k as usize, v);
            }
            if let Some(same) = trivial_replacement(&self.func.dfg, self.ctx, block, p) {
                self.ctx.replace.set(p, Some(same));
            }
        }
    }

    /// Replace every trivial SSA parameter: one whose incoming arguments are all one other
    /// value (or itself), or only itself (then a zero: the block is unreachable or the
    /// variable undefined on every path). A worklist: a parameter is examined again only
    /// when a parameter feeding it was replaced, so the work is linear in the arguments
    /// (plus the replacement chains), not quadratic as a whole-set fixpoint would be.
    fn remove_trivial_params(&mut self) {
        let n = self.ctx.ssa_params.len();
        if self.ctx.ssa_users.len() < n {
            self.ctx.ssa_users.resize_with(n, Vec::new);
        }
        for (i, &(_, p)) in self.ctx.ssa_params.iter().enumerate() {
            self.ctx.ssa_index.set(p, Some(i as u32));
        }
        // Who takes whom as an argument.
        for i in 0..n {
            let (block, p) = self.ctx.ssa_params[i];
            let Some(ValueDef::Param(_, k)) = self.func.dfg.values.get(p).map(|d| d.def) else {
                continue;
            };
            let bi = block.index();
            for pi in 0..self.ctx.blocks.get(bi).map_or(0, |b| b.preds.len()) {
                let Some(data) = self
                    .func
                    .dfg
                    .insts
                    .get(self.ctx.blocks[bi].preds[pi].branch)
                else {
                    continue;
                };
                let dests = data.branch_destinations(&self.func.dfg.jump_tables);
                for di in 0..self.ctx.blocks[bi].preds[pi].dests.len() {
                    let d = self.ctx.blocks[bi].preds[pi].dests[di] as usize;
                    let Some(&a) = dests
                        .get(d)
                        .and_then(|bc| self.func.dfg.value_lists.get(bc.args).get(k as usize))
                    else {
                        continue;
                    };
                    let a = self.ctx.resolve(a);
                    if let Some(j) = *self.ctx.ssa_index.get(a) {
                        if j as usize != i {
                            self.ctx.ssa_users[j as usize].push(i as u32);
                        }
                    }
                }
            }
        }
        let mut work: Vec<u32> = (0..n as u32).rev().collect();
        let mut queued = vec![true; n];
        while let Some(i) = work.pop() {
            let i = i as usize;
            queued[i] = false;
            let (block, p) = self.ctx.ssa_params[i];
            if self.ctx.replace.get(p).is_some() {
                continue;
            }
            let same = match trivial_replacement(&self.func.dfg, self.ctx, block, p) {
                Some(s) => s,
                None if only_self_args(&self.func.dfg, self.ctx, block, p) => {
                    let ty = self.func.dfg.value_type(p).unwrap_or(Type::I32);
                    self.zero_at_top(block, ty)
                }
                None => continue,
            };
            self.ctx.replace.set(p, Some(same));
            let users = core::mem::take(&mut self.ctx.ssa_users[i]);
            for &u in &users {
                if !queued[u as usize] {
                    queued[u as usize] = true;
                    work.push(u);
                }
            }
            // Those users now take `same`: when it is replaced, they must be looked at again.
            let same = self.ctx.resolve(same);
            if let Some(j) = *self.ctx.ssa_index.get(same) {
                self.ctx.ssa_users[j as usize].extend(users);
            }
        }
    }

    /// A zero of type `ty` defined at the top of `block`.
    fn zero_at_top(&mut self, block: Block, ty: Type) -> Value {
        let data = if ty.is_vector() {
            let c = match self.ctx.zero_vec {
                Some(c) => c,
                None => {
                    let c = self.func.dfg.constants.push([0; 16]);
                    self.ctx.zero_vec = Some(c);
                    c
                }
            };
            InstructionData::UnaryConst {
                opcode: Opcode::Vconst,
                constant: c,
            }
        } else if ty.is_float() {
            InstructionData::UnaryIeee {
                opcode: Opcode::Fconst,
                bits: 0,
            }
        } else {
            InstructionData::UnaryImm {
                opcode: Opcode::Iconst,
                imm: 0,
            }
        };
        let inst = self.func.dfg.make_inst(data);
        self.func.dfg.make_inst_results(inst, Some(ty));
        match self.func.layout.first_inst(block) {
            Some(first) => self.func.layout.insert_inst_before(inst, first),
            None => self.func.layout.append_inst(inst, block),
        }
        self.result_or_placeholder(inst, ty)
    }

    fn placeholder(&mut self, ty: Type) -> Value {
        self.func.dfg.values.push(ValueData {
            ty,
            def: ValueDef::Unused,
        })
    }

    fn result_or_placeholder(&mut self, inst: Inst, ty: Type) -> Value {
        match self.func.dfg.first_result(inst) {
            Some(v) => v,
            None => self.placeholder(ty),
        }
    }

    // ---- instructions ------------------------------------------------------------------

    /// An instruction builder appending one instruction to the current block.
    pub fn ins<'short>(&'short mut self) -> FuncInstBuilder<'short, 'a> {
        FuncInstBuilder { fb: self }
    }

    /// Create `data` with its results and append it to the current block.
    fn build(&mut self, data: InstructionData, ctrl: Option<Type>) -> Inst {
        let inst = self.func.dfg.make_inst(data);
        if self.func.dfg.make_inst_results(inst, ctrl).is_none() {
            self.record(BuilderError::UnknownResultTypes(inst));
        }
        let Some(block) = self.current else {
            self.record(BuilderError::NoCurrentBlock);
            return inst;
        };
        if self.ctx.block(block).filled {
            self.record(BuilderError::InstAfterTerminator { inst, block });
        }
        self.func.layout.append_inst(inst, block);
        if !self.srcloc.is_default() {
            self.func.set_srcloc(inst, self.srcloc);
        }
        let op = data.opcode();
        if op.is_terminator() {
            self.ctx.block(block).filled = true;
        }
        if op.is_branch() {
            let dfg = &self.func.dfg;
            let ctx = &mut *self.ctx;
            for (d, bc) in dfg.insts[inst]
                .branch_destinations(&dfg.jump_tables)
                .iter()
                .enumerate()
            {
                let target = bc.block;
                if dfg.blocks.get(target).is_none() {
                    ctx.errors.push(BuilderError::InvalidBlock(target));
                    continue;
                }
                if *ctx.succ_stamp.get(target) == Some(inst) {
                    // Already a predecessor through this branch: its entry is the last.
                    if let Some(p) = ctx.block(target).preds.last_mut() {
                        p.dests.push(d as u32);
                    }
                    continue;
                }
                ctx.succ_stamp.set(target, Some(inst));
                let sb = ctx.block(target);
                let sealed = sb.sealed;
                sb.preds.push(Pred {
                    block,
                    branch: inst,
                    dests: SmallVec::from_buf_and_len([d as u32], 1),
                });
                if sealed {
                    ctx.errors.push(BuilderError::BranchToSealedBlock {
                        block: target,
                        from: block,
                    });
                }
            }
        }
        inst
    }

    // ---- finalize ----------------------------------------------------------------------

    /// Finish the function: seal every block still unsealed, remove trivial block
    /// parameters (to a fixpoint) with their branch arguments, and rewrite all uses of the
    /// removed parameters. Returns the first misuse recorded while building, or a block in
    /// the layout without a terminator.
    pub fn finalize(mut self) -> Result<(), BuilderError> {
        self.seal_all_blocks();
        self.current = None;

        self.remove_trivial_params();

        // Remove replaced parameters and their arguments.
        let mut any = false;
        for i in 0..self.ctx.ssa_params.len() {
            let (block, p) = self.ctx.ssa_params[i];
            if self.ctx.replace.get(p).is_some() {
                self.ctx.dirty.set(block, true);
                any = true;
            }
        }
        if any {
            let mut keep: SmallVec<[bool; 16]> = SmallVec::new();
            let mut kept: SmallVec<[Value; 16]> = SmallVec::new();
            for bi in 0..self.func.dfg.blocks.len() {
                let block = Block::new(bi);
                if !*self.ctx.dirty.get(block) {
                    continue;
                }
                keep.clear();
                kept.clear();
                for &p in self.func.dfg.block_params(block) {
                    let k = self.ctx.replace.get(p).is_none();
                    keep.push(k);
                    if k {
                        kept.push(p);
                    }
                }
                for pr in self.ctx.blocks.get(bi).map_or(&[][..], |s| &s.preds) {
                    filter_branch_args(&mut self.func.dfg, pr.branch, &pr.dests, &keep);
                }
                for (&p, &k) in self.func.dfg.block_params(block).to_vec().iter().zip(&keep) {
                    if !k {
                        self.func.dfg.values[p].def = ValueDef::Unused;
                    }
                }
                self.func.dfg.set_block_params(block, &kept);
            }
            // Rewrite every use in one pass.
            let ctx = &mut *self.ctx;
            for i in 0..self.func.dfg.insts.len() {
                self.func
                    .dfg
                    .map_inst_uses(Inst::new(i), |v| ctx.resolve(v));
            }
        }

        if let Some(e) = self.ctx.errors.first() {
            return Err(e.clone());
        }
        for block in self.func.layout.blocks() {
            let filled = self
                .func
                .layout
                .last_inst(block)
                .and_then(|i| self.func.dfg.insts.get(i))
                .is_some_and(|d| d.opcode().is_terminator());
            if !filled {
                return Err(BuilderError::UnfilledBlock(block));
            }
        }
        Ok(())
    }
}

/// Apply `f` to the destinations `dests` (indices into its destinations) of `branch`.
fn for_each_call(
    dfg: &mut DataFlowGraph,
    branch: Inst,
    dests: &[u32],
    mut f: impl FnMut(&mut BlockCall, &mut super::instructions::ValueListPool),
) {
    let Some(data) = dfg.insts.get_mut(branch) else {
        return;
    };
    let calls: &mut [BlockCall] = match data {
        InstructionData::Jump { destination, .. } => core::slice::from_mut(destination),
        InstructionData::Brif { blocks, .. } => blocks,
        InstructionData::BranchTable { table, .. } => match dfg.jump_tables.get_mut(*table) {
            Some(jt) => jt.all_branches_mut(),
            None => return,
        },
        _ => return,
    };
    for &d in dests {
        if let Some(bc) = calls.get_mut(d as usize) {
            f(bc, &mut dfg.value_lists);
        }
    }
}

/// Set argument `k` of the calls `dests` of `branch` to `v`, growing the argument list
/// if needed (missing earlier positions are filled with `v` until their own parameter is
/// processed).
fn set_branch_arg(dfg: &mut DataFlowGraph, branch: Inst, dests: &[u32], k: usize, v: Value) {
    for_each_call(dfg, branch, dests, |bc, pool| {
        if k < pool.get(bc.args).len() {
            pool.get_mut(bc.args)[k] = v;
        } else {
            while pool.get(bc.args).len() <= k {
                bc.args = pool.push(bc.args, v);
            }
        }
    });
}

/// Keep only the arguments of the calls `dests` of `branch` whose position is marked in
/// `keep`.
fn filter_branch_args(dfg: &mut DataFlowGraph, branch: Inst, dests: &[u32], keep: &[bool]) {
    for_each_call(dfg, branch, dests, |bc, pool| {
        let new: SmallVec<[Value; 16]> = pool
            .get(bc.args)
            .iter()
            .enumerate()
            .filter(|(i, _)| keep.get(*i).copied().unwrap_or(true))
            .map(|(_, &v)| v)
            .collect();
        bc.args = pool.alloc(&new);
    });
}

/// Appends one instruction to the current block of a [`FunctionBuilder`]; one method per
/// opcode. Each returns the result value, or the [`Inst`] for instructions without results
/// or with several (calls).
///
/// Preconditions (recorded, not checked by panics; see the module docs): there is a
/// current block that is not yet filled; operands have the types `docs/kir.md` requires
/// (checked by the verifier); branch targets are not sealed.
pub struct FuncInstBuilder<'short, 'a> {
    fb: &'short mut FunctionBuilder<'a>,
}

macro_rules! binary_ops {
    ($($name:ident = $op:ident;)*) => {$(
        #[doc = concat!("`", stringify!($name), " a, b`")]
        pub fn $name(self, a: Value, b: Value) -> Value {
            self.value(InstructionData::Binary { opcode: Opcode::$op, args: [a, b] }, None)
        }
    )*};
}

macro_rules! unary_ops {
    ($($name:ident = $op:ident;)*) => {$(
        #[doc = concat!("`", stringify!($name), " a`")]
        pub fn $name(self, a: Value) -> Value {
            self.value(InstructionData::Unary { opcode: Opcode::$op, arg: a }, None)
        }
    )*};
}

macro_rules! convert_ops {
    ($($name:ident = $op:ident;)*) => {$(
        #[doc = concat!("`", stringify!($name), ".ty a`")]
        pub fn $name(self, ty: Type, a: Value) -> Value {
            self.value(InstructionData::Unary { opcode: Opcode::$op, arg: a }, Some(ty))
        }
    )*};
}

macro_rules! load_ops {
    ($($name:ident = $op:ident;)*) => {$(
        #[doc = concat!("`", stringify!($name), ".ty flags addr+offset`")]
        pub fn $name(self, ty: Type, flags: MemFlags, addr: Value, offset: i32) -> Value {
            self.value(
                InstructionData::Load { opcode: Opcode::$op, flags, arg: addr, offset },
                Some(ty),
            )
        }
    )*};
}

macro_rules! store_ops {
    ($($name:ident = $op:ident;)*) => {$(
        #[doc = concat!("`", stringify!($name), " flags value, addr+offset`")]
        pub fn $name(self, flags: MemFlags, value: Value, addr: Value, offset: i32) -> Inst {
            self.inst(
                InstructionData::Store { opcode: Opcode::$op, flags, args: [value, addr], offset },
                None,
            )
        }
    )*};
}

impl FuncInstBuilder<'_, '_> {
    fn inst(self, data: InstructionData, ctrl: Option<Type>) -> Inst {
        self.fb.build(data, ctrl)
    }

    fn value(self, data: InstructionData, ctrl: Option<Type>) -> Value {
        let fb = self.fb;
        let inst = fb.build(data, ctrl);
        let ty = match data.opcode().result_rule() {
            ResultRule::Fixed(t) => t,
            _ => ctrl.unwrap_or(Type::I32),
        };
        fb.result_or_placeholder(inst, ty)
    }

    /// `iconst.ty imm`; the immediate is canonicalized (sign-extended from `ty`'s width).
    pub fn iconst(self, ty: Type, imm: i64) -> Value {
        let imm = sign_extend(imm as u64, ty);
        self.value(
            InstructionData::UnaryImm {
                opcode: Opcode::Iconst,
                imm,
            },
            Some(ty),
        )
    }

    /// `fconst.ty` from raw bits (for `f32` only the low 32 bits are kept).
    pub fn fconst(self, ty: Type, bits: u64) -> Value {
        let bits = if ty == Type::F32 {
            bits & 0xffff_ffff
        } else {
            bits
        };
        self.value(
            InstructionData::UnaryIeee {
                opcode: Opcode::Fconst,
                bits,
            },
            Some(ty),
        )
    }

    /// `fconst.f32 x`
    pub fn f32const(self, x: f32) -> Value {
        self.fconst(Type::F32, u64::from(x.to_bits()))
    }

    /// `fconst.f64 x`
    pub fn f64const(self, x: f64) -> Value {
        self.fconst(Type::F64, x.to_bits())
    }

    /// `vconst.ty [bytes]` (little-endian lane order); adds a constant-pool entry.
    pub fn vconst(self, ty: Type, bytes: [u8; 16]) -> Value {
        let constant = self.fb.func.dfg.constants.push(bytes);
        self.value(
            InstructionData::UnaryConst {
                opcode: Opcode::Vconst,
                constant,
            },
            Some(ty),
        )
    }

    binary_ops! {
        iadd = Iadd; isub = Isub; imul = Imul; umulhi = Umulhi; smulhi = Smulhi;
        sdiv = Sdiv; udiv = Udiv; srem = Srem; urem = Urem;
        band = Band; bor = Bor; bxor = Bxor; band_not = BandNot;
        ishl = Ishl; ushr = Ushr; sshr = Sshr; rotl = Rotl; rotr = Rotr;
        fadd = Fadd; fsub = Fsub; fmul = Fmul; fdiv = Fdiv; fmin = Fmin; fmax = Fmax;
        fcopysign = Fcopysign;
        sadd_sat = SaddSat; uadd_sat = UaddSat; ssub_sat = SsubSat; usub_sat = UsubSat;
        smin = Smin; umin = Umin; smax = Smax; umax = Umax; avg_round = AvgRound;
        fmin_pseudo = FminPseudo; fmax_pseudo = FmaxPseudo; swizzle = Swizzle;
        sdot = Sdot; sqmul_round_sat = SqmulRoundSat;
    }

    unary_ops! {
        bnot = Bnot; ineg = Ineg; clz = Clz; ctz = Ctz; popcnt = Popcnt;
        fneg = Fneg; fabs = Fabs; sqrt = Sqrt; ceil = Ceil; floor = Floor; trunc = Trunc;
        nearest = Nearest; iabs = Iabs; vany_true = VanyTrue; vall_true = VallTrue;
        vhigh_bits = VhighBits;
    }

    convert_ops! {
        uextend = Uextend; sextend = Sextend; ireduce = Ireduce;
        fcvt_to_sint = FcvtToSint; fcvt_to_uint = FcvtToUint;
        fcvt_to_sint_sat = FcvtToSintSat; fcvt_to_uint_sat = FcvtToUintSat;
        fcvt_from_sint = FcvtFromSint; fcvt_from_uint = FcvtFromUint;
        fpromote = Fpromote; fdemote = Fdemote; bitcast = Bitcast; splat = Splat;
        swiden_low = SwidenLow; swiden_high = SwidenHigh; uwiden_low = UwidenLow;
        uwiden_high = UwidenHigh; swiden_add_pairwise = SwidenAddPairwise;
        uwiden_add_pairwise = UwidenAddPairwise;
    }

    /// `snarrow.ty a, b`: signed saturating narrowing to `ty`.
    pub fn snarrow(self, ty: Type, a: Value, b: Value) -> Value {
        let data = InstructionData::Binary {
            opcode: Opcode::Snarrow,
            args: [a, b],
        };
        self.value(data, Some(ty))
    }

    /// `op.ty a, b` for the widening multiplies (`swiden_mul_low` …): the products of the
    /// extended halves of the lanes, as lanes of `ty`.
    pub fn widen_mul(self, op: Opcode, ty: Type, a: Value, b: Value) -> Value {
        debug_assert!(matches!(
            op,
            Opcode::SwidenMulLow
                | Opcode::SwidenMulHigh
                | Opcode::UwidenMulLow
                | Opcode::UwidenMulHigh
        ));
        self.value(
            InstructionData::Binary {
                opcode: op,
                args: [a, b],
            },
            Some(ty),
        )
    }

    /// `load_lane flags v, addr+offset, lane`: `v` with `lane` loaded from memory.
    pub fn load_lane(self, flags: MemFlags, v: Value, addr: Value, offset: i32, lane: u8) -> Value {
        let data = InstructionData::MemLane {
            opcode: Opcode::LoadLane,
            flags,
            args: [v, addr],
            offset,
            lane,
        };
        self.value(data, None)
    }

    /// `store_lane flags v, addr+offset, lane`: store `lane` of `v`.
    pub fn store_lane(self, flags: MemFlags, v: Value, addr: Value, offset: i32, lane: u8) -> Inst {
        let data = InstructionData::MemLane {
            opcode: Opcode::StoreLane,
            flags,
            args: [v, addr],
            offset,
            lane,
        };
        self.inst(data, None)
    }

    /// `unarrow.ty a, b`: unsigned saturating narrowing to `ty`.
    pub fn unarrow(self, ty: Type, a: Value, b: Value) -> Value {
        let data = InstructionData::Binary {
            opcode: Opcode::Unarrow,
            args: [a, b],
        };
        self.value(data, Some(ty))
    }

    /// `bitselect c, a, b`: `(a & c) | (b & !c)`.
    pub fn bitselect(self, c: Value, a: Value, b: Value) -> Value {
        let data = InstructionData::Ternary {
            opcode: Opcode::Bitselect,
            args: [c, a, b],
        };
        self.value(data, None)
    }

    /// `shuffle a, b, mask`: byte `i` of the result is byte `mask[i]` of `a:b`; adds a
    /// constant-pool entry for the mask.
    pub fn shuffle(self, a: Value, b: Value, mask: [u8; 16]) -> Value {
        let mask = self.fb.func.dfg.constants.push(mask);
        let data = InstructionData::Shuffle {
            opcode: Opcode::Shuffle,
            args: [a, b],
            mask,
        };
        self.value(data, None)
    }

    load_ops! {
        load = Load; uload8 = Uload8; sload8 = Sload8; uload16 = Uload16; sload16 = Sload16;
        uload32 = Uload32; sload32 = Sload32; load_splat = LoadSplat;
        sload_widen = SloadWiden; uload_widen = UloadWiden; load_zero = LoadZero;
    }

    store_ops! {
        store = Store; istore8 = Istore8; istore16 = Istore16; istore32 = Istore32;
    }

    /// `icmp cc a, b`
    pub fn icmp(self, cc: IntCC, a: Value, b: Value) -> Value {
        self.value(
            InstructionData::IntCompare {
                opcode: Opcode::Icmp,
                cond: cc,
                args: [a, b],
            },
            None,
        )
    }

    /// `fcmp cc a, b`
    pub fn fcmp(self, cc: FloatCC, a: Value, b: Value) -> Value {
        self.value(
            InstructionData::FloatCompare {
                opcode: Opcode::Fcmp,
                cond: cc,
                args: [a, b],
            },
            None,
        )
    }

    /// `select c, a, b`: `a` if `c` is non-zero, else `b`.
    pub fn select(self, c: Value, a: Value, b: Value) -> Value {
        self.value(
            InstructionData::Ternary {
                opcode: Opcode::Select,
                args: [c, a, b],
            },
            None,
        )
    }

    /// `extractlane v, lane`
    pub fn extractlane(self, v: Value, lane: u8) -> Value {
        self.value(
            InstructionData::ExtractLane {
                opcode: Opcode::Extractlane,
                arg: v,
                lane,
            },
            None,
        )
    }

    /// `insertlane v, x, lane`
    pub fn insertlane(self, v: Value, x: Value, lane: u8) -> Value {
        self.value(
            InstructionData::InsertLane {
                opcode: Opcode::Insertlane,
                args: [v, x],
                lane,
            },
            None,
        )
    }

    /// `stack_load.ty ss+offset`
    pub fn stack_load(self, ty: Type, slot: StackSlot, offset: i32) -> Value {
        self.value(
            InstructionData::StackLoad {
                opcode: Opcode::StackLoad,
                slot,
                offset,
            },
            Some(ty),
        )
    }

    /// `stack_store value, ss+offset`
    pub fn stack_store(self, value: Value, slot: StackSlot, offset: i32) -> Inst {
        self.inst(
            InstructionData::StackStore {
                opcode: Opcode::StackStore,
                arg: value,
                slot,
                offset,
            },
            None,
        )
    }

    /// `stack_addr ss+offset` (an `i64`).
    pub fn stack_addr(self, slot: StackSlot, offset: i32) -> Value {
        self.value(
            InstructionData::StackLoad {
                opcode: Opcode::StackAddr,
                slot,
                offset,
            },
            None,
        )
    }

    /// `jump block(args)`
    pub fn jump(self, block: Block, args: &[Value]) -> Inst {
        let destination = self.fb.func.dfg.block_call(block, args);
        self.inst(
            InstructionData::Jump {
                opcode: Opcode::Jump,
                destination,
            },
            None,
        )
    }

    /// `brif c, then(then_args), else(else_args)`: to `then` when `c` is non-zero.
    pub fn brif(
        self,
        c: Value,
        then_block: Block,
        then_args: &[Value],
        else_block: Block,
        else_args: &[Value],
    ) -> Inst {
        let dfg = &mut self.fb.func.dfg;
        let blocks = [
            dfg.block_call(then_block, then_args),
            dfg.block_call(else_block, else_args),
        ];
        self.inst(
            InstructionData::Brif {
                opcode: Opcode::Brif,
                arg: c,
                blocks,
            },
            None,
        )
    }

    /// `br_table index, default(args), [block(args), ...]` with a new jump table.
    pub fn br_table(
        self,
        index: Value,
        default: (Block, &[Value]),
        table: &[(Block, &[Value])],
    ) -> Inst {
        let dfg = &mut self.fb.func.dfg;
        let default = dfg.block_call(default.0, default.1);
        let calls: SmallVec<[BlockCall; 16]> = table
            .iter()
            .map(|&(b, args)| dfg.block_call(b, args))
            .collect();
        let jt = dfg.jump_tables.push(JumpTableData::new(default, &calls));
        self.inst(
            InstructionData::BranchTable {
                opcode: Opcode::BrTable,
                arg: index,
                table: jt,
            },
            None,
        )
    }

    /// `return vals...`
    pub fn return_(self, vals: &[Value]) -> Inst {
        let args = self.fb.func.dfg.value_lists.alloc(vals);
        self.inst(
            InstructionData::MultiAry {
                opcode: Opcode::Return,
                args,
            },
            None,
        )
    }

    /// `trap code`
    pub fn trap(self, code: TrapCode) -> Inst {
        self.inst(
            InstructionData::Trap {
                opcode: Opcode::Trap,
                code,
            },
            None,
        )
    }

    /// `trapz c, code`: trap if `c` is zero.
    pub fn trapz(self, c: Value, code: TrapCode) -> Inst {
        self.inst(
            InstructionData::CondTrap {
                opcode: Opcode::Trapz,
                arg: c,
                code,
            },
            None,
        )
    }

    /// `trapnz c, code`: trap if `c` is non-zero.
    pub fn trapnz(self, c: Value, code: TrapCode) -> Inst {
        self.inst(
            InstructionData::CondTrap {
                opcode: Opcode::Trapnz,
                arg: c,
                code,
            },
            None,
        )
    }

    /// `call fn(args)`; the results are `inst_results(inst)`.
    pub fn call(self, func_ref: FuncRef, args: &[Value]) -> Inst {
        let args = self.fb.func.dfg.value_lists.alloc(args);
        self.inst(
            InstructionData::Call {
                opcode: Opcode::Call,
                func_ref,
                args,
            },
            None,
        )
    }

    /// `call_indirect sig, callee(args)`; the results are `inst_results(inst)`.
    pub fn call_indirect(self, sig: SigRef, callee: Value, args: &[Value]) -> Inst {
        let list = self
            .fb
            .func
            .dfg
            .value_lists
            .alloc_iter(core::iter::once(callee).chain(args.iter().copied()));
        self.inst(
            InstructionData::CallIndirect {
                opcode: Opcode::CallIndirect,
                sig_ref: sig,
                args: list,
            },
            None,
        )
    }

    /// `func_addr fn` (an `i64`).
    pub fn func_addr(self, func_ref: FuncRef) -> Value {
        self.value(
            InstructionData::FuncAddr {
                opcode: Opcode::FuncAddr,
                func_ref,
            },
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{verify_function, UserFuncName};

    fn new_func(params: &[Type], returns: &[Type]) -> Function {
        Function::with_name_signature(UserFuncName::testcase("t"), Signature::new(params, returns))
    }

    fn verified(f: &Function) {
        if let Err(e) = verify_function(f) {
            panic!("verifier rejected the builder's output:\n{e}\n{f:?}");
        }
    }

    #[test]
    fn straight_line_with_variables() {
        let mut f = new_func(&[Type::I32], &[Type::I32]);
        let mut ctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut f, &mut ctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let x = b.declare_var(Type::I32);
        let p = b.block_params(entry)[0];
        b.def_var(x, p).unwrap();
        let c = b.ins().iconst(Type::I32, 0xffff_ffff);
        let xv = b.use_var(x).unwrap();
        let s = b.ins().iadd(xv, c);
        b.def_var(x, s).unwrap();
        let r = b.use_var(x).unwrap();
        assert_eq!(r, s);
        b.ins().return_(&[r]);
        assert!(b.is_filled());
        b.finalize().unwrap();
        verified(&f);
        // iconst was canonicalized.
        let InstructionData::UnaryImm { imm, .. } = f.dfg.insts[Inst::new(0)] else {
            panic!()
        };
        assert_eq!(imm, -1);
    }

    #[test]
    fn if_else_merge_gets_a_param() {
        let mut f = new_func(&[Type::I32], &[Type::I64]);
        let mut ctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut f, &mut ctx);
        let (entry, then_b, else_b, merge) = (
            b.create_block(),
            b.create_block(),
            b.create_block(),
            b.create_block(),
        );
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let x = b.declare_var(Type::I64);
        let z = b.ins().iconst(Type::I64, 0);
        b.def_var(x, z).unwrap();
        let c = b.block_params(entry)[0];
        b.ins().brif(c, then_b, &[], else_b, &[]);
        b.seal_block(then_b);
        b.seal_block(else_b);
        b.switch_to_block(then_b);
        let one = b.ins().iconst(Type::I64, 1);
        b.def_var(x, one).unwrap();
        b.ins().jump(merge, &[]);
        b.switch_to_block(else_b);
        b.ins().jump(merge, &[]); // x unchanged here
        b.seal_block(merge);
        b.switch_to_block(merge);
        let v = b.use_var(x).unwrap();
        b.ins().return_(&[v]);
        b.finalize().unwrap();
        verified(&f);
        assert_eq!(
            f.dfg.block_params(merge).len(),
            1,
            "merge of two different values"
        );
        assert_eq!(f.dfg.block_params(merge)[0], v);
    }

    #[test]
    fn same_value_on_both_sides_adds_no_param() {
        let mut f = new_func(&[Type::I32], &[Type::I32]);
        let mut ctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut f, &mut ctx);
        let (entry, l, r, merge) = (
            b.create_block(),
            b.create_block(),
            b.create_block(),
            b.create_block(),
        );
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let x = b.declare_var(Type::I32);
        let p = b.block_params(entry)[0];
        b.def_var(x, p).unwrap();
        b.ins().brif(p, l, &[], r, &[]);
        for blk in [l, r] {
            b.switch_to_block(blk);
            b.ins().jump(merge, &[]);
        }
        // Read in the merge block before sealing it: an incomplete parameter that turns out
        // trivial.
        b.switch_to_block(merge);
        let v = b.use_var(x).unwrap();
        b.ins().return_(&[v]);
        b.seal_all_blocks();
        b.finalize().unwrap();
        verified(&f);
        assert!(f.dfg.block_params(merge).is_empty());
        let ret = f.layout.last_inst(merge).unwrap();
        assert_eq!(
            f.dfg.inst_args(ret),
            &[p],
            "use rewritten to the entry parameter"
        );
    }

    /// `n` counts down to zero while `acc` accumulates; `k` is loop-invariant. With
    /// `passthrough`, the header is declared a passthrough from the entry for every
    /// variable but `n` and `acc`. Returns the function, its header and body blocks, the
    /// constant `k` holds, and the number of parameters SSA construction added.
    fn count_down_loop(passthrough: bool) -> (Function, Block, Block, Value, usize) {
        let mut f = new_func(&[Type::I32], &[Type::I32]);
        let mut ctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut f, &mut ctx);
        let (entry, header, body, exit) = (
            b.create_block(),
            b.create_block(),
            b.create_block(),
            b.create_block(),
        );
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let (n, acc, k) = (
            b.declare_var(Type::I32),
            b.declare_var(Type::I32),
            b.declare_var(Type::I32),
        );
        let p = b.block_params(entry)[0];
        b.def_var(n, p).unwrap();
        let zero = b.ins().iconst(Type::I32, 0);
        b.def_var(acc, zero).unwrap();
        let seven = b.ins().iconst(Type::I32, 7);
        b.def_var(k, seven).unwrap();
        b.ins().jump(header, &[]);
        if passthrough {
            // Unsorted on purpose: the builder sorts the list.
            b.set_passthrough(header, entry, [acc, n]);
        }

        b.switch_to_block(header);
        let nv = b.use_var(n).unwrap();
        b.ins().brif(nv, body, &[], exit, &[]);
        b.seal_block(body);

        b.switch_to_block(body);
        let (a, kv, nv) = (
            b.use_var(acc).unwrap(),
            b.use_var(k).unwrap(),
            b.use_var(n).unwrap(),
        );
        let a2 = b.ins().iadd(a, kv);
        b.def_var(acc, a2).unwrap();
        let one = b.ins().iconst(Type::I32, 1);
        let n2 = b.ins().isub(nv, one);
        b.def_var(n, n2).unwrap();
        b.ins().jump(header, &[]);
        b.seal_block(header);
        b.seal_block(exit);

        b.switch_to_block(exit);
        let r = b.use_var(acc).unwrap();
        b.ins().return_(&[r]);
        let added = b.ctx.ssa_params.len();
        b.finalize().unwrap();
        verified(&f);
        (f, header, body, seven, added)
    }

    #[test]
    fn loop_header_params_and_trivial_removal() {
        let (f, header, body, seven, added) = count_down_loop(false);
        // n and acc are loop-carried; k is invariant and its parameter was removed.
        assert_eq!(added, 3);
        assert_eq!(f.dfg.block_params(header).len(), 2);
        let body_add = f.layout.first_inst(body).unwrap();
        assert_eq!(f.dfg.inst_args(body_add)[1], seven);
    }

    /// With the header a passthrough for `k`, `k` is read from the entry block and never
    /// gets a parameter, not even one removed later.
    #[test]
    fn passthrough_reads_unchanged_variables_from_the_start_block() {
        let (f, header, body, seven, added) = count_down_loop(true);
        assert_eq!(added, 2, "parameters only for n and acc");
        assert_eq!(f.dfg.block_params(header).len(), 2);
        let body_add = f.layout.first_inst(body).unwrap();
        assert_eq!(f.dfg.inst_args(body_add)[1], seven);

        // A block that does not exist is a recorded error.
        let mut g = new_func(&[], &[]);
        let mut ctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut g, &mut ctx);
        let entry = b.create_block();
        b.switch_to_block(entry);
        b.ins().return_(&[]);
        b.set_passthrough(entry, Block::new(9), []);
        assert_eq!(b.finalize(), Err(BuilderError::InvalidBlock(Block::new(9))));
    }

    #[test]
    fn br_table_targets_get_arguments() {
        let mut f = new_func(&[Type::I32], &[Type::F64]);
        let mut ctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut f, &mut ctx);
        let entry = b.create_block();
        let arms: Vec<Block> = (0..3).map(|_| b.create_block()).collect();
        let merge = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let x = b.declare_var(Type::F64);
        let init = b.ins().f64const(1.5);
        b.def_var(x, init).unwrap();
        let idx = b.block_params(entry)[0];
        b.ins().br_table(
            idx,
            (arms[0], &[]),
            &[(arms[1], &[]), (arms[2], &[]), (arms[1], &[])],
        );
        for (i, &arm) in arms.iter().enumerate() {
            b.seal_block(arm);
            b.switch_to_block(arm);
            if i == 2 {
                let v = b.ins().f64const(2.5);
                b.def_var(x, v).unwrap();
            }
            b.ins().jump(merge, &[]);
        }
        b.seal_block(merge);
        b.switch_to_block(merge);
        let v = b.use_var(x).unwrap();
        b.ins().return_(&[v]);
        b.finalize().unwrap();
        verified(&f);
        assert_eq!(f.dfg.block_params(merge).len(), 1);

        // A variable read in a br_table target with several edges from one br_table.
        let mut g = new_func(&[Type::I32], &[Type::I32]);
        let mut b = FunctionBuilder::new(&mut g, &mut ctx);
        let (entry, t, u) = (b.create_block(), b.create_block(), b.create_block());
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let y = b.declare_var(Type::I32);
        let idx = b.block_params(entry)[0];
        b.def_var(y, idx).unwrap();
        b.ins().br_table(idx, (t, &[]), &[(u, &[]), (t, &[])]);
        b.switch_to_block(u);
        let c = b.ins().iconst(Type::I32, 3);
        b.def_var(y, c).unwrap();
        b.ins().jump(t, &[]);
        b.switch_to_block(t);
        let v = b.use_var(y).unwrap();
        b.ins().return_(&[v]);
        b.seal_all_blocks();
        b.finalize().unwrap();
        verified(&g);
        assert_eq!(g.dfg.block_params(t).len(), 1);
    }

    #[test]
    fn brif_with_both_targets_the_same_block() {
        let mut f = new_func(&[Type::I32], &[Type::I32]);
        let mut ctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut f, &mut ctx);
        let (entry, mid, target) = (b.create_block(), b.create_block(), b.create_block());
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let x = b.declare_var(Type::I32);
        let p = b.block_params(entry)[0];
        b.def_var(x, p).unwrap();
        b.ins().brif(p, mid, &[], target, &[]);
        b.seal_block(mid);
        b.switch_to_block(mid);
        let c = b.ins().iconst(Type::I32, 5);
        b.def_var(x, c).unwrap();
        b.ins().brif(c, target, &[], target, &[]);
        b.seal_block(target);
        b.switch_to_block(target);
        let v = b.use_var(x).unwrap();
        b.ins().return_(&[v]);
        b.finalize().unwrap();
        verified(&f);
        assert_eq!(f.dfg.block_params(target).len(), 1);
        let br = f.layout.last_inst(mid).unwrap();
        for bc in f.dfg.branch_destinations(br) {
            assert_eq!(f.dfg.block_call_args(bc), &[c]);
        }
    }

    #[test]
    fn undefined_variable_reads_zero_and_errors_are_typed() {
        let mut f = new_func(&[], &[Type::F32, Type::I8X16, Type::I16]);
        let mut ctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut f, &mut ctx);
        let entry = b.create_block();
        b.switch_to_block(entry);
        b.seal_block(entry);
        let (x, y, z) = (
            b.declare_var(Type::F32),
            b.declare_var(Type::I8X16),
            b.declare_var(Type::I16),
        );
        let vals = [
            b.use_var(x).unwrap(),
            b.use_var(y).unwrap(),
            b.use_var(z).unwrap(),
        ];
        assert_eq!(
            b.use_var(Variable::new(9)),
            Err(BuilderError::UndeclaredVariable(Variable::new(9)))
        );
        let i64c = b.ins().iconst(Type::I64, 1);
        assert!(matches!(
            b.def_var(z, i64c),
            Err(BuilderError::VariableTypeMismatch { .. })
        ));
        b.ins().return_(&vals);
        b.finalize().unwrap();
        verified(&f);
    }

    #[test]
    fn misuse_is_reported_by_finalize() {
        let mut f = new_func(&[], &[]);
        let mut ctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut f, &mut ctx);
        b.ins().trap(TrapCode::Unreachable); // no current block
        assert_eq!(b.finalize(), Err(BuilderError::NoCurrentBlock));

        let mut f = new_func(&[], &[]);
        let mut b = FunctionBuilder::new(&mut f, &mut ctx);
        let (entry, t) = (b.create_block(), b.create_block());
        b.switch_to_block(entry);
        b.seal_block(t);
        b.ins().jump(t, &[]);
        b.switch_to_block(t);
        b.ins().return_(&[]);
        assert!(matches!(
            b.finalize(),
            Err(BuilderError::BranchToSealedBlock { .. })
        ));

        let mut f = new_func(&[], &[]);
        let mut b = FunctionBuilder::new(&mut f, &mut ctx);
        let entry = b.create_block();
        b.switch_to_block(entry);
        b.ins().iconst(Type::I32, 1);
        assert_eq!(b.finalize(), Err(BuilderError::UnfilledBlock(entry)));
    }

    #[test]
    fn long_chains_do_not_recurse() {
        // 20_000 diamonds in sequence, a variable defined at the top and read at the bottom.
        let mut f = new_func(&[Type::I32], &[Type::I32]);
        let mut ctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(&mut f, &mut ctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let x = b.declare_var(Type::I32);
        let p = b.block_params(entry)[0];
        b.def_var(x, p).unwrap();
        let mut cur = entry;
        for _ in 0..20_000 {
            let (l, r, m) = (b.create_block(), b.create_block(), b.create_block());
            b.switch_to_block(cur);
            b.ins().brif(p, l, &[], r, &[]);
            b.switch_to_block(l);
            b.ins().jump(m, &[]);
            b.switch_to_block(r);
            b.ins().jump(m, &[]);
            cur = m;
        }
        b.seal_all_blocks();
        b.switch_to_block(cur);
        let v = b.use_var(x).unwrap();
        b.ins().return_(&[v]);
        b.finalize().unwrap();
        assert_eq!(v, p, "no merge needed: all parameters were trivial");
        verified(&f);
    }

    #[test]
    fn context_is_reusable() {
        let mut ctx = FunctionBuilderContext::new();
        for i in 0..3 {
            let mut f = new_func(&[], &[Type::I64]);
            let mut b = FunctionBuilder::new(&mut f, &mut ctx);
            let entry = b.create_block();
            b.switch_to_block(entry);
            b.seal_block(entry);
            b.set_srcloc(SourceLoc::new(10 + i));
            let x = b.declare_var(Type::I64);
            let c = b.ins().iconst(Type::I64, i64::from(i));
            b.def_var(x, c).unwrap();
            let v = b.use_var(x).unwrap();
            b.ins().return_(&[v]);
            b.finalize().unwrap();
            verified(&f);
            assert_eq!(f.srcloc(Inst::new(0)), SourceLoc::new(10 + i));
        }
    }
}
