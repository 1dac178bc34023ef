//! WebAssembly: parsing and validating modules (`wasmparser`), and translating function
//! bodies to Kiln IR.
//!
//! - [`info`]: module-level parsing and validation into a [`ModuleInfo`].
//! - [`vmctx`]: the `VMContext` layout and the runtime [`Builtin`]s (`docs/vmcontext.md`).
//! - [`translate`]: one function body → one IR [`Function`](crate::ir::Function), through
//!   the [`FunctionBuilder`](crate::ir::FunctionBuilder), validating as it goes.
//!
//! The feature set is Wasm 2.0 with SIMD ([`info::features`]); a module using anything
//! else is refused by validation with an error naming the proposal and the offset.
//! Compiling a module that uses `v128` needs a compiler with `enable_simd`.
//!
//! This is a layer above the single-function compiler: `ir/`, `machinst/`, `isa/`,
//! `cache/` and `settings/` never import it.

pub mod info;
pub mod translate;
pub mod vmctx;

pub use info::{parse_module, FunctionInput, ModuleInfo};
pub use translate::{translate_function, FuncTranslator, TranslateOptions};
pub use vmctx::{Builtin, VmOffsets};

use crate::ir::Type;
use core::fmt;

/// A Wasm value type as Kiln sees it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum WasmType {
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `v128`
    V128,
    /// `funcref`
    FuncRef,
    /// `externref`
    ExternRef,
}

impl WasmType {
    /// The IR type that carries it (references are `i64`: see [`vmctx`]).
    pub const fn ir_type(self) -> Type {
        match self {
            WasmType::I32 => Type::I32,
            WasmType::I64 | WasmType::FuncRef | WasmType::ExternRef => Type::I64,
            WasmType::F32 => Type::F32,
            WasmType::F64 => Type::F64,
            WasmType::V128 => Type::I8X16,
        }
    }

    /// Is it a reference type?
    pub const fn is_ref(self) -> bool {
        matches!(self, WasmType::FuncRef | WasmType::ExternRef)
    }
}

impl From<wasmparser::ValType> for WasmType {
    fn from(t: wasmparser::ValType) -> Self {
        match t {
            wasmparser::ValType::I32 => WasmType::I32,
            wasmparser::ValType::I64 => WasmType::I64,
            wasmparser::ValType::F32 => WasmType::F32,
            wasmparser::ValType::F64 => WasmType::F64,
            wasmparser::ValType::V128 => WasmType::V128,
            // Wasm 2.0 has exactly two reference types (validation refuses the others).
            wasmparser::ValType::Ref(r) if r.is_extern_ref() => WasmType::ExternRef,
            wasmparser::ValType::Ref(_) => WasmType::FuncRef,
        }
    }
}

impl fmt::Display for WasmType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WasmType::I32 => "i32",
            WasmType::I64 => "i64",
            WasmType::F32 => "f32",
            WasmType::F64 => "f64",
            WasmType::V128 => "v128",
            WasmType::FuncRef => "funcref",
            WasmType::ExternRef => "externref",
        })
    }
}

/// Why a module could not be read or translated. Every variant names the byte offset in
/// the module and, inside a function body, the function index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WasmError {
    /// Malformed binary or invalid module (the validator's message).
    #[error("{}invalid module at offset {offset:#x}: {message}", func_prefix(*func))]
    Invalid {
        /// The function whose body it is in, if any.
        func: Option<u32>,
        /// Byte offset in the module.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// The module needs a proposal or construct Kiln does not support; the message names it.
    #[error("{}unsupported at offset {offset:#x}: {message}", func_prefix(*func))]
    Unsupported {
        /// The function whose body it is in, if any.
        func: Option<u32>,
        /// Byte offset in the module.
        offset: usize,
        /// The proposal or construct.
        message: String,
    },
}

fn func_prefix(func: Option<u32>) -> String {
    match func {
        Some(f) => format!("function {f}: "),
        None => String::new(),
    }
}

impl WasmError {
    /// Classify a `wasmparser` error: a disabled feature is [`WasmError::Unsupported`]
    /// (wasmparser's message names the proposal), anything else [`WasmError::Invalid`].
    pub fn from_reader(e: wasmparser::BinaryReaderError, func: Option<u32>) -> Self {
        let message = e.message().to_string();
        let offset = e.offset() as usize;
        if message.contains("support is not enabled") || message.contains("proposal") {
            WasmError::Unsupported {
                func,
                offset,
                message,
            }
        } else {
            WasmError::Invalid {
                func,
                offset,
                message,
            }
        }
    }

    /// The function index, if the error is inside a body.
    pub fn func(&self) -> Option<u32> {
        match self {
            WasmError::Invalid { func, .. } | WasmError::Unsupported { func, .. } => *func,
        }
    }

    /// The byte offset in the module.
    pub fn offset(&self) -> usize {
        match self {
            WasmError::Invalid { offset, .. } | WasmError::Unsupported { offset, .. } => *offset,
        }
    }
}
