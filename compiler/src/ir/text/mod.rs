//! The `.kir` text format (specified in `docs/kir.md`): printer and parser.
//!
//! This module owns the public text API: [`write_function`] / `Display for Function` /
//! [`display_inst`] (printer, in `printer.rs`), and [`parse_functions`] / [`parse_file`]
//! (parser, in `parser.rs`, over the tokens of `lexer.rs`). Literal grammar shared with the
//! harness lives in [`literals`].
//!
//! Invariants:
//! - print → parse → print is the identity for every function the verifier accepts (whose
//!   numbers are within the caps below); value and block numbers, declarations, jump
//!   tables, constants and source locations survive.
//! - The parser never panics and does work linear in its input. Value numbers are capped
//!   at [`MAX_ENTITY_NUMBER`] and block numbers at [`MAX_BLOCK_NUMBER`], so memory stays
//!   bounded. Every `Function` it returns is structurally safe: every referenced value,
//!   block, stack slot, signature, function declaration, jump table and constant exists,
//!   every value is defined exactly once, and every instruction has the results its
//!   opcode's result rule calls for, with those types. Operand types and dominance are
//!   left to the verifier.
//! - The printer never panics, even on malformed functions (it prints placeholders), so
//!   the verifier can use [`display_inst`] for context.

pub mod literals;

mod lexer;
mod parser;
mod printer;

#[cfg(test)]
mod tests;

pub use parser::{parse_file, parse_functions, MAX_BLOCK_NUMBER, MAX_ENTITY_NUMBER};
pub use printer::{display_inst, write_function, write_functions};

use super::Function;
use core::fmt;

impl fmt::Display for Function {
    /// The function in `.kir` text form (see [`write_function`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_function(f, self)
    }
}

/// A comment of a `.kir` file (run directives are comments).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Comment {
    /// 1-based line of the `;`.
    pub line: u32,
    /// 1-based column of the `;` (in characters).
    pub col: u32,
    /// Everything after the `;` up to the end of the line, untrimmed (a `\r` of a CRLF
    /// line ending is not included).
    pub text: String,
}

/// The source lines one parsed function occupies.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct FunctionSpan {
    /// Line of the `function` keyword.
    pub first_line: u32,
    /// Line of the closing `}`.
    pub last_line: u32,
}

impl FunctionSpan {
    /// Does `line` lie within this function's text?
    pub fn contains(&self, line: u32) -> bool {
        self.first_line <= line && line <= self.last_line
    }
}

/// Everything read from a `.kir` file.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ParsedFile {
    /// The functions, in file order.
    pub functions: Vec<Function>,
    /// Every comment, in file order.
    pub comments: Vec<Comment>,
    /// For each function (same index), the lines it occupies.
    pub spans: Vec<FunctionSpan>,
}

impl ParsedFile {
    /// Index of the function whose text contains `line`, or else the last function that
    /// starts before it (directives usually follow or precede their function).
    pub fn function_at_line(&self, line: u32) -> Option<usize> {
        self.spans
            .iter()
            .position(|s| s.contains(line))
            .or_else(|| self.spans.iter().rposition(|s| s.first_line <= line))
    }
}

/// A syntax or structure error, with the 1-based line and column of the offending token.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{line}:{col}: {message}")]
pub struct ParseError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (in characters).
    pub col: u32,
    /// What is wrong.
    pub message: String,
}
