//! Entity references of Kiln IR: typed `u32` indices into a function's flat tables.
//!
//! Each prints with its text prefix (`v3`, `block1`, `ss0`, ...). Values and blocks keep
//! their numbers through print → parse; instructions are never named in text.

use crate::entity_ref;

entity_ref!(
    /// An SSA value: an instruction result or a block parameter.
    Value,
    "v"
);
entity_ref!(
    /// A basic block.
    Block,
    "block"
);
entity_ref!(
    /// An instruction.
    Inst,
    "inst"
);
entity_ref!(
    /// A stack slot of the function's frame.
    StackSlot,
    "ss"
);
entity_ref!(
    /// A jump table used by one `br_table`.
    JumpTable,
    "jt"
);
entity_ref!(
    /// A 128-bit constant in the function's constant pool (used by `vconst`).
    Constant,
    "const"
);
entity_ref!(
    /// A function declared for `call` / `func_addr`.
    FuncRef,
    "fn"
);
entity_ref!(
    /// A signature declared for `call_indirect` or a function declaration.
    SigRef,
    "sig"
);
entity_ref!(
    /// A reference into the parameters' table of user external names. The stencil names
    /// external functions only through these.
    UserExternalNameRef,
    "userextname"
);
