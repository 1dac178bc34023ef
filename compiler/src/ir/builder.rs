//! `FunctionBuilder`: builds functions in SSA form from mutable variables.
//! (Being written: see the foundation issue.)

use super::Function;

/// A mutable variable of the source program; the builder turns its uses into SSA values,
/// inserting block parameters where control flow merges.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct Variable(pub u32);

/// Builds one function.
pub struct FunctionBuilder<'a> {
    /// The function being built.
    pub func: &'a mut Function,
}
