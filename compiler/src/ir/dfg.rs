//! The data-flow graph: instructions, values, blocks and their parameters, and the
//! function-level tables instructions refer to (signatures, external functions, jump
//! tables, constants).
//!
//! Invariants, for every function the verifier accepts:
//! - each value is defined exactly once, by [`ValueDef::Result`] or [`ValueDef::Param`],
//!   and that definition lists it back (`inst_results(i)[n] == v` / `block_params(b)[n]
//!   == v`). Values with [`ValueDef::Unused`] are numbering gaps (the text parser keeps
//!   value numbers) and are never referenced.
//! - an instruction's result values are exactly the ones its [`ResultRule`] calls for.
//!
//! The DFG says nothing about order; that is the [`Layout`](super::Layout)'s job.

use super::entities::{Block, Constant, FuncRef, Inst, JumpTable, SigRef, Value};
use super::extfunc::{ExtFuncData, Signature};
use super::instructions::{
    BlockCall, InstructionData, JumpTableData, Opcode, ResultRule, ValueList, ValueListPool,
};
use super::types::Type;
use crate::entity::{PrimaryMap, SecondaryMap};
use smallvec::SmallVec;

/// Where a value comes from.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum ValueDef {
    /// Result number `n` of an instruction.
    Result(Inst, u16),
    /// Parameter number `n` of a block.
    Param(Block, u16),
    /// A number reserved but never defined (a gap in the numbering).
    Unused,
}

/// A value's type and definition.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct ValueData {
    /// The value's type.
    pub ty: Type,
    /// Its definition.
    pub def: ValueDef,
}

/// Per-block data held by the DFG (the block's position is in the layout).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct BlockData {
    /// The block's parameters.
    pub params: ValueList,
}

/// The result types of an instruction, computed from its opcode and operands.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum ResultTypes<'a> {
    /// No results.
    None,
    /// One result.
    One(Type),
    /// The returns of a signature.
    Many(&'a [Type]),
}

impl ResultTypes<'_> {
    /// The types as a slice.
    pub fn as_slice(&self) -> &[Type] {
        match self {
            ResultTypes::None => &[],
            ResultTypes::One(t) => core::slice::from_ref(t),
            ResultTypes::Many(ts) => ts,
        }
    }
}

/// Instructions, values and blocks of one function.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct DataFlowGraph {
    /// Instruction operands.
    pub insts: PrimaryMap<Inst, InstructionData>,
    /// Result values of each instruction.
    pub results: SecondaryMap<Inst, ValueList>,
    /// Blocks and their parameters.
    pub blocks: PrimaryMap<Block, BlockData>,
    /// Every value.
    pub values: PrimaryMap<Value, ValueData>,
    /// Operand, result, parameter and block-argument lists.
    pub value_lists: ValueListPool,
    /// Signatures referred to by `call_indirect` and external function declarations.
    pub signatures: PrimaryMap<SigRef, Signature>,
    /// External functions referred to by `call` and `func_addr`.
    pub ext_funcs: PrimaryMap<FuncRef, ExtFuncData>,
    /// Jump tables, each used by one `br_table`.
    pub jump_tables: PrimaryMap<JumpTable, JumpTableData>,
    /// 128-bit constants used by `vconst`, little-endian lane order.
    pub constants: PrimaryMap<Constant, [u8; 16]>,
}

impl DataFlowGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empty every table, keeping their allocations (for [`Function::reset`]). Destructured
    /// so that a table added later cannot be forgotten here.
    ///
    /// [`Function::reset`]: crate::ir::Function::reset
    pub fn clear(&mut self) {
        let DataFlowGraph {
            insts,
            results,
            blocks,
            values,
            value_lists,
            signatures,
            ext_funcs,
            jump_tables,
            constants,
        } = self;
        insts.clear();
        results.clear();
        blocks.clear();
        values.clear();
        value_lists.clear();
        signatures.clear();
        ext_funcs.clear();
        jump_tables.clear();
        constants.clear();
    }

    /// Create a block with no parameters.
    pub fn make_block(&mut self) -> Block {
        self.blocks.push(BlockData::default())
    }

    /// Make sure blocks `0..n` exist (the parser keeps block numbers).
    pub fn ensure_blocks(&mut self, n: usize) {
        while self.blocks.len() < n {
            self.make_block();
        }
    }

    /// Make sure values `0..n` exist; new ones are [`ValueDef::Unused`] placeholders.
    pub fn ensure_values(&mut self, n: usize) {
        while self.values.len() < n {
            self.values.push(ValueData {
                ty: Type::I8,
                def: ValueDef::Unused,
            });
        }
    }

    /// Append a new parameter of type `ty` to `block`.
    pub fn append_block_param(&mut self, block: Block, ty: Type) -> Value {
        let n = self.block_params(block).len();
        let v = self.values.push(ValueData {
            ty,
            def: ValueDef::Param(block, n as u16),
        });
        self.push_block_param(block, v);
        v
    }

    /// Append the existing (unused) value `v` as a new parameter of `block` with type `ty`.
    pub fn attach_block_param(&mut self, block: Block, v: Value, ty: Type) {
        let n = self.block_params(block).len();
        self.values[v] = ValueData {
            ty,
            def: ValueDef::Param(block, n as u16),
        };
        self.push_block_param(block, v);
    }

    fn push_block_param(&mut self, block: Block, v: Value) {
        let params = self.blocks[block].params;
        self.blocks[block].params = self.value_lists.push(params, v);
    }

    /// Replace a block's parameter list wholesale (used when removing parameters). The
    /// caller must fix up `ValueDef::Param` indices via [`Self::renumber_block_params`].
    pub fn set_block_params(&mut self, block: Block, params: &[Value]) {
        self.blocks[block].params = self.value_lists.alloc(params);
        self.renumber_block_params(block);
    }

    /// Make each parameter's `ValueDef::Param` index match its position.
    pub fn renumber_block_params(&mut self, block: Block) {
        let list = self.blocks[block].params;
        for (i, &v) in self.value_lists.get(list).iter().enumerate() {
            self.values[v].def = ValueDef::Param(block, i as u16);
        }
    }

    /// The parameters of `block`.
    pub fn block_params(&self, block: Block) -> &[Value] {
        match self.blocks.get(block) {
            Some(b) => self.value_lists.get(b.params),
            None => &[],
        }
    }

    /// Create an instruction with no results yet (see [`Self::make_inst_results`]).
    pub fn make_inst(&mut self, data: InstructionData) -> Inst {
        self.insts.push(data)
    }

    /// Create result values for `inst` following its opcode's [`ResultRule`];
    /// `ctrl` is the controlling type for [`ResultRule::Explicit`]. Returns the number of
    /// results, or `None` (creating nothing) when the types can't be determined: a missing
    /// `ctrl`, or an operand / signature reference that doesn't exist.
    pub fn make_inst_results(&mut self, inst: Inst, ctrl: Option<Type>) -> Option<usize> {
        // No results or one (nearly every instruction) without the general path's copy of
        // the types and its list iterator.
        let types: SmallVec<[Type; 4]> = match self.result_types(&self.insts[inst], ctrl)? {
            ResultTypes::None => {
                self.results.set(inst, ValueList::EMPTY);
                return Some(0);
            }
            ResultTypes::One(ty) => {
                let v = self.values.push(ValueData {
                    ty,
                    def: ValueDef::Result(inst, 0),
                });
                let list = self.value_lists.alloc(&[v]);
                self.results.set(inst, list);
                return Some(1);
            }
            ResultTypes::Many(ts) => SmallVec::from_slice(ts),
        };
        let first = self.values.len();
        for (i, &ty) in types.iter().enumerate() {
            self.values.push(ValueData {
                ty,
                def: ValueDef::Result(inst, i as u16),
            });
        }
        let list = self
            .value_lists
            .alloc_iter((first..self.values.len()).map(|i| Value::from_u32(i as u32)));
        self.results.set(inst, list);
        Some(types.len())
    }

    /// Attach existing (unused) values as the results of `inst`, with the given types
    /// (used by the parser, which keeps value numbers).
    pub fn attach_inst_results(&mut self, inst: Inst, values: &[(Value, Type)]) {
        for (i, &(v, ty)) in values.iter().enumerate() {
            self.values[v] = ValueData {
                ty,
                def: ValueDef::Result(inst, i as u16),
            };
        }
        let list = self.value_lists.alloc_iter(values.iter().map(|p| p.0));
        self.results.set(inst, list);
    }

    /// The result types `data` would have. `None` when they can't be determined.
    pub fn result_types(
        &self,
        data: &InstructionData,
        ctrl: Option<Type>,
    ) -> Option<ResultTypes<'_>> {
        let arg_ty = |n: u8| -> Option<Type> {
            let v = *data.arguments(&self.value_lists).get(n as usize)?;
            Some(self.values.get(v)?.ty)
        };
        Some(match data.opcode().result_rule() {
            ResultRule::None => ResultTypes::None,
            ResultRule::SameAsArg(n) => ResultTypes::One(arg_ty(n)?),
            ResultRule::CompareOf0 => ResultTypes::One(arg_ty(0)?.compare_result()),
            ResultRule::Explicit => ResultTypes::One(ctrl?),
            ResultRule::LaneOf0 => ResultTypes::One(arg_ty(0)?.lane_type()),
            ResultRule::Fixed(t) => ResultTypes::One(t),
            ResultRule::Call => {
                let sig = match *data {
                    InstructionData::Call { func_ref, .. } => {
                        self.ext_funcs.get(func_ref)?.signature
                    }
                    InstructionData::CallIndirect { sig_ref, .. } => sig_ref,
                    _ => return None,
                };
                ResultTypes::Many(&self.signatures.get(sig)?.returns)
            }
        })
    }

    /// The results of `inst`.
    pub fn inst_results(&self, inst: Inst) -> &[Value] {
        self.value_lists.get(*self.results.get(inst))
    }

    /// The first result of `inst`, if any.
    pub fn first_result(&self, inst: Inst) -> Option<Value> {
        self.inst_results(inst).first().copied()
    }

    /// The value operands of `inst` (excluding block-call arguments).
    pub fn inst_args(&self, inst: Inst) -> &[Value] {
        self.insts[inst].arguments(&self.value_lists)
    }

    /// The branch targets of `inst` (empty unless it is a branch).
    pub fn branch_destinations(&self, inst: Inst) -> &[BlockCall] {
        self.insts[inst].branch_destinations(&self.jump_tables)
    }

    /// The arguments of a block call.
    pub fn block_call_args(&self, bc: &BlockCall) -> &[Value] {
        self.value_lists.get(bc.args)
    }

    /// Make a block call.
    pub fn block_call(&mut self, block: Block, args: &[Value]) -> BlockCall {
        BlockCall {
            block,
            args: self.value_lists.alloc(args),
        }
    }

    /// Type of a value (`None` for a value that doesn't exist).
    pub fn value_type(&self, v: Value) -> Option<Type> {
        self.values.get(v).map(|d| d.ty)
    }

    /// The instruction `v` is a result of (`None` for a block parameter or a value that
    /// doesn't exist).
    pub fn defining_inst(&self, v: Value) -> Option<Inst> {
        match self.values.get(v)?.def {
            ValueDef::Result(i, _) => Some(i),
            _ => None,
        }
    }

    /// The constant `v` holds when an `iconst` defines it (sign-extended from its type's
    /// width, the immediate's canonical form).
    pub fn iconst_value(&self, v: Value) -> Option<i64> {
        match *self.insts.get(self.defining_inst(v)?)? {
            InstructionData::UnaryImm {
                opcode: Opcode::Iconst,
                imm,
            } => Some(imm),
            _ => None,
        }
    }

    /// The controlling type of an instruction: its first result's type, or for a store the
    /// stored value's type. `None` when it has neither.
    pub fn ctrl_type(&self, inst: Inst) -> Option<Type> {
        if let Some(r) = self.first_result(inst) {
            return self.value_type(r);
        }
        match self.insts[inst] {
            InstructionData::Store { args, .. } => self.value_type(args[0]),
            InstructionData::StackStore { arg, .. } => self.value_type(arg),
            _ => None,
        }
    }

    /// Rewrite every use of a value in `inst` (operands and block-call arguments).
    pub fn map_inst_uses(&mut self, inst: Inst, f: impl FnMut(Value) -> Value) {
        let mut data = self.insts[inst];
        data.map_uses(&mut self.value_lists, &self.jump_tables, f);
        self.insts[inst] = data;
    }
}
