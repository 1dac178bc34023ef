//! Kiln IR: an SSA intermediate representation with block parameters.
//!
//! A [`Function`] is a [`FunctionStencil`] (everything that determines machine code) plus
//! [`FunctionParameters`] (names and the source-location base, which only finalize it).
//! Build functions with [`FunctionBuilder`], check them with [`verify_function`], and
//! print / parse them in the `.kir` text format with [`text`].

pub mod builder;
pub mod condcodes;
pub mod dfg;
pub mod entities;
pub mod extfunc;
pub mod function;
pub mod instructions;
pub mod layout;
pub mod memflags;
pub mod text;
pub mod trapcode;
pub mod types;
pub mod verifier;

pub use builder::{
    BuilderError, FuncInstBuilder, FunctionBuilder, FunctionBuilderContext, Variable,
};
pub use condcodes::{FloatCC, IntCC};
pub use dfg::{DataFlowGraph, ResultTypes, ValueData, ValueDef};
pub use entities::{
    Block, Constant, FuncRef, Inst, JumpTable, SigRef, StackSlot, UserExternalNameRef, Value,
};
pub use function::{
    ExtFuncData, ExternalName, Function, FunctionParameters, FunctionStencil, LibCall,
    RelSourceLoc, Signature, SourceLoc, StackSlotData, UserExternalName, UserFuncName,
};
pub use instructions::{
    BlockCall, InstructionData, InstructionFormat, JumpTableData, Opcode, ResultRule, ValueList,
    ValueListPool,
};
pub use layout::Layout;
pub use memflags::MemFlags;
pub use trapcode::TrapCode;
pub use types::Type;
pub use verifier::{verify_function, VerifierContext, VerifierError, VerifierErrors};
