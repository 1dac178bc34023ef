//! The `.kir` parser: text → [`Function`]s, plus the file's comments.
//!
//! One pass over the tokens builds each function directly: declarations in order,
//! blocks and their parameters (kept numbers), and instructions in text order with their
//! operands referring to values by number (values and blocks may be used before they are
//! defined). Result types are resolved as soon as they can be: rules that need no operand
//! (`Explicit`, `Fixed`, `Call`) immediately, rules that need one operand's type
//! (`SameAsArg`, `CompareOf0`, `LaneOf0`) once that operand's type is known — a worklist of
//! waiters per value makes this a linear-time fixed point, whatever the text order.
//!
//! Invariants of every returned function (checked before it is returned): every referenced
//! value, block, stack slot, signature, function declaration, jump table and constant
//! exists; every value is defined exactly once; every result has the type its rule gives
//! and each instruction has exactly the results its rule calls for; declarations are
//! numbered from 0 without gaps; value and block numbers are at most [`MAX_ENTITY_NUMBER`]
//! and [`MAX_BLOCK_NUMBER`].
//! The parser never panics and never recurses, and all work is linear in the input.

use super::lexer::{Lexer, Pos, Tok, Token};
use super::literals::{parse_f32, parse_f64, parse_int};
use super::{FunctionSpan, ParseError, ParsedFile};
use crate::ir::instructions::{BlockCall, InstructionData, JumpTableData, ResultRule};
use crate::ir::{
    Block, ExtFuncData, ExternalName, FloatCC, Function, IntCC, LibCall, MemFlags, Opcode, SigRef,
    Signature, SourceLoc, StackSlot, StackSlotData, TrapCode, Type, UserExternalName, UserFuncName,
    Value, ValueData, ValueDef,
};
use crate::ir::{FuncRef, Inst};
use smallvec::SmallVec;
use std::collections::HashMap;

/// The largest value number (and stack slot, signature or function number) the parser
/// accepts. Numbering keeps gaps, so a number costs memory for every smaller one; the cap
/// keeps `v4000000000` from allocating gigabytes (`v16777215` costs about 200 MB).
pub const MAX_ENTITY_NUMBER: u32 = (1 << 24) - 1;

/// The largest block number the parser accepts. Lower than [`MAX_ENTITY_NUMBER`] because
/// a block number costs more memory (DFG and layout entries, about 48 bytes).
pub const MAX_BLOCK_NUMBER: u32 = (1 << 20) - 1;

/// The longest list of block parameters, results or signature types (their positions are
/// stored as `u16`).
const MAX_LIST: usize = u16::MAX as usize;

type Result<T> = core::result::Result<T, ParseError>;

/// Parse every function of `src` (comments are dropped).
pub fn parse_functions(src: &str) -> Result<Vec<Function>> {
    parse_file(src).map(|f| f.functions)
}

/// Parse every function of `src`, keeping its comments and each function's line span.
pub fn parse_file(src: &str) -> Result<ParsedFile> {
    let mut lx = Lexer::new(src);
    let mut functions = Vec::new();
    let mut spans = Vec::new();
    loop {
        let t = lx.peek()?;
        match t.tok {
            Tok::Eof => break,
            Tok::Ident("function") => {
                let (f, span) = FuncParser::new(&mut lx).parse()?;
                functions.push(f);
                spans.push(span);
            }
            other => {
                return Err(t
                    .pos
                    .error(format!("expected \"function\", found {}", other.describe())))
            }
        }
    }
    Ok(ParsedFile {
        functions,
        comments: lx.take_comments(),
        spans,
    })
}

/// What is known about a value number so far.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum VState {
    /// Not (yet) defined.
    Undefined,
    /// Defined as an instruction result whose type waits on an operand's type.
    Pending,
    /// Defined, with its final type stored in the DFG.
    Known,
}

/// A result whose type follows from another value's type once that is known.
#[derive(Copy, Clone, Debug)]
struct Waiter {
    result: Value,
    rule: ResultRule,
}

/// The preamble section being read (declarations come in this order).
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Phase {
    Slots,
    Sigs,
    Funcs,
}

/// Parser state for one function.
struct FuncParser<'a, 'l> {
    lx: &'l mut Lexer<'a>,
    func: Function,
    /// Per value number (indices below `func.dfg.values.len()`).
    vstate: Vec<VState>,
    /// First use of each value that was used while still undefined.
    early_uses: HashMap<u32, Pos>,
    /// Per block number: has its header been read?
    block_defined: Vec<bool>,
    /// First reference to each block referenced while still undefined.
    early_blocks: HashMap<u32, Pos>,
    /// Results waiting for the type of the value (keyed by number).
    waiters: HashMap<u32, SmallVec<[Waiter; 2]>>,
    /// Every result that was pending when defined, with its instruction's position, in
    /// text order.
    pending: Vec<(Value, Pos)>,
}

/// Split an entity identifier `<prefix><digits>`; `None` if `s` isn't one (digits must be
/// canonical: no leading zeros). `Some(Err)` when the number exceeds the cap.
fn entity_number(s: &str, prefix: &str) -> Option<core::result::Result<u32, String>> {
    let limit = if prefix == "block" {
        MAX_BLOCK_NUMBER
    } else {
        MAX_ENTITY_NUMBER
    };
    let digits = s.strip_prefix(prefix)?;
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    match digits.parse::<u32>() {
        Ok(n) if n <= limit => Some(Ok(n)),
        _ => Some(Err(format!("{s}: number too large (the limit is {limit})"))),
    }
}

/// A decimal `u32` (digits only).
fn parse_dec_u32(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The result type a rule gives when its operand has type `ty`.
fn derive_type(rule: ResultRule, ty: Type) -> Type {
    match rule {
        ResultRule::CompareOf0 => ty.compare_result(),
        ResultRule::LaneOf0 => ty.lane_type(),
        _ => ty,
    }
}

impl<'a, 'l> FuncParser<'a, 'l> {
    fn new(lx: &'l mut Lexer<'a>) -> Self {
        FuncParser {
            lx,
            func: Function::default(),
            vstate: Vec::new(),
            early_uses: HashMap::new(),
            block_defined: Vec::new(),
            early_blocks: HashMap::new(),
            waiters: HashMap::new(),
            pending: Vec::new(),
        }
    }

    // ---- token helpers ----

    fn expect(&mut self, want: Tok<'static>, what: &str) -> Result<Token<'a>> {
        let t = self.lx.next()?;
        if t.tok == want {
            Ok(t)
        } else {
            Err(t
                .pos
                .error(format!("expected {what}, found {}", t.tok.describe())))
        }
    }

    fn peek_is(&mut self, want: Tok<'static>) -> Result<bool> {
        Ok(self.lx.peek()?.tok == want)
    }

    /// Consume the next token if it is `want`.
    fn eat(&mut self, want: Tok<'static>) -> Result<bool> {
        if self.peek_is(want)? {
            self.lx.next()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn expect_comma(&mut self) -> Result<()> {
        self.expect(Tok::Comma, "\",\"").map(|_| ())
    }

    /// The next token must start a new line (or be the end of input).
    fn end_line(&mut self, what: &str) -> Result<()> {
        let t = self.lx.peek()?;
        if t.tok != Tok::Eof && t.pos.line == self.lx.last_line() {
            return Err(t.pos.error(format!(
                "expected the end of the line after {what}, found {}",
                t.tok.describe()
            )));
        }
        Ok(())
    }

    fn ident(&mut self, what: &str) -> Result<(&'a str, Pos)> {
        let t = self.lx.next()?;
        match t.tok {
            Tok::Ident(s) => Ok((s, t.pos)),
            other => Err(t
                .pos
                .error(format!("expected {what}, found {}", other.describe()))),
        }
    }

    fn ty(&mut self) -> Result<Type> {
        let (s, pos) = self.ident("a type")?;
        s.parse::<Type>()
            .map_err(|_| pos.error(format!("expected a type, found \"{s}\"")))
    }

    /// A comma-separated list of at least one type.
    fn type_list(&mut self, out: &mut Vec<Type>) -> Result<()> {
        loop {
            let pos = self.lx.peek()?.pos;
            if out.len() >= MAX_LIST {
                return Err(pos.error(format!("too many types (the limit is {MAX_LIST})")));
            }
            out.push(self.ty()?);
            if !self.eat(Tok::Comma)? {
                return Ok(());
            }
        }
    }

    /// `(<types>) [-> <types>]`
    fn signature(&mut self) -> Result<Signature> {
        let mut sig = Signature::default();
        self.expect(Tok::LParen, "\"(\"")?;
        if !self.eat(Tok::RParen)? {
            self.type_list(&mut sig.params)?;
            self.expect(Tok::RParen, "\",\" or \")\"")?;
        }
        if self.eat(Tok::Arrow)? {
            self.type_list(&mut sig.returns)?;
        }
        Ok(sig)
    }

    /// `u<ns>:<idx>` given its first identifier.
    fn user_name(&mut self, first: &str, pos: Pos) -> Result<UserExternalName> {
        let bad = || {
            pos.error(format!(
                "expected a name u<namespace>:<index>, found \"{first}\""
            ))
        };
        let ns = first
            .strip_prefix('u')
            .and_then(parse_dec_u32)
            .ok_or_else(bad)?;
        self.expect(Tok::Colon, "\":\" in a name u<namespace>:<index>")?;
        let t = self.lx.next()?;
        let idx = match t.tok {
            Tok::Int(s) => parse_dec_u32(s),
            _ => None,
        }
        .ok_or_else(|| {
            t.pos.error(format!(
                "expected the index of a name u<namespace>:<index>, found {}",
                t.tok.describe()
            ))
        })?;
        Ok(UserExternalName::new(ns, idx))
    }

    // ---- entity references ----

    fn touch_value(&mut self, n: u32) -> Value {
        let need = n as usize + 1;
        if self.vstate.len() < need {
            self.vstate.resize(need, VState::Undefined);
            self.func.dfg.ensure_values(need);
        }
        Value::from_u32(n)
    }

    /// The value number in token `t`, or an error naming what was found.
    fn value_number(t: Token<'a>) -> Result<u32> {
        let found = t.tok.describe();
        match t.tok {
            Tok::Ident(s) => match entity_number(s, "v") {
                Some(Ok(n)) => Ok(n),
                Some(Err(m)) => Err(t.pos.error(m)),
                None => Err(t.pos.error(format!("expected a value, found {found}"))),
            },
            _ => Err(t.pos.error(format!("expected a value, found {found}"))),
        }
    }

    /// Is `t` a value identifier (`vN`)?
    fn is_value_token(t: &Token<'_>) -> bool {
        matches!(t.tok, Tok::Ident(s) if entity_number(s, "v").is_some())
    }

    /// A value operand.
    fn value(&mut self) -> Result<Value> {
        let t = self.lx.next()?;
        let n = Self::value_number(t)?;
        let v = self.touch_value(n);
        if self.vstate[n as usize] == VState::Undefined {
            self.early_uses.entry(n).or_insert(t.pos);
        }
        Ok(v)
    }

    /// Claim value number `n` for a new definition.
    fn define_value(&mut self, n: u32, pos: Pos) -> Result<Value> {
        let v = self.touch_value(n);
        let st = &mut self.vstate[n as usize];
        if *st != VState::Undefined {
            return Err(pos.error(format!("value v{n} is defined more than once")));
        }
        *st = VState::Pending;
        Ok(v)
    }

    /// `v` now has its final type: resolve every result waiting on it, transitively.
    fn value_known(&mut self, v: Value) {
        self.vstate[v.as_u32() as usize] = VState::Known;
        if self.waiters.is_empty() {
            return;
        }
        let mut stack: SmallVec<[Value; 8]> = SmallVec::new();
        stack.push(v);
        while let Some(v) = stack.pop() {
            let Some(ws) = self.waiters.remove(&v.as_u32()) else {
                continue;
            };
            let ty = self.func.dfg.values[v].ty;
            for w in ws {
                self.func.dfg.values[w.result].ty = derive_type(w.rule, ty);
                self.vstate[w.result.as_u32() as usize] = VState::Known;
                stack.push(w.result);
            }
        }
    }

    fn block_number(t: Token<'a>) -> Result<Option<u32>> {
        match t.tok {
            Tok::Ident(s) => match entity_number(s, "block") {
                Some(Ok(n)) => Ok(Some(n)),
                Some(Err(m)) => Err(t.pos.error(m)),
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }

    fn touch_block(&mut self, n: u32) -> Block {
        let need = n as usize + 1;
        if self.block_defined.len() < need {
            self.block_defined.resize(need, false);
            self.func.dfg.ensure_blocks(need);
        }
        Block::from_u32(n)
    }

    /// `blockN[(args)]`
    fn block_call(&mut self) -> Result<BlockCall> {
        let t = self.lx.next()?;
        let n = Self::block_number(t)?.ok_or_else(|| {
            t.pos
                .error(format!("expected a block, found {}", t.tok.describe()))
        })?;
        let block = self.touch_block(n);
        if !self.block_defined[n as usize] {
            self.early_blocks.entry(n).or_insert(t.pos);
        }
        let mut args: SmallVec<[Value; 8]> = SmallVec::new();
        if self.eat(Tok::LParen)? {
            self.value_list_until_rparen(&mut args)?;
        }
        Ok(self.func.dfg.block_call(block, &args))
    }

    /// Values separated by commas up to `)` (the `(` is already consumed).
    fn value_list_until_rparen(&mut self, out: &mut SmallVec<[Value; 8]>) -> Result<()> {
        if self.eat(Tok::RParen)? {
            return Ok(());
        }
        loop {
            out.push(self.value()?);
            let t = self.lx.next()?;
            match t.tok {
                Tok::Comma => {}
                Tok::RParen => return Ok(()),
                other => {
                    return Err(t.pos.error(format!(
                        "expected \",\" or \")\", found {}",
                        other.describe()
                    )))
                }
            }
        }
    }

    fn declared<K>(
        t: Token<'a>,
        prefix: &str,
        what: &str,
        count: usize,
        make: fn(u32) -> K,
    ) -> Result<K> {
        let found = t.tok.describe();
        let n = match t.tok {
            Tok::Ident(s) => match entity_number(s, prefix) {
                Some(Ok(n)) => n,
                Some(Err(m)) => return Err(t.pos.error(m)),
                None => return Err(t.pos.error(format!("expected a {what}, found {found}"))),
            },
            _ => return Err(t.pos.error(format!("expected a {what}, found {found}"))),
        };
        if n as usize >= count {
            return Err(t.pos.error(format!("undeclared {what} {prefix}{n}")));
        }
        Ok(make(n))
    }

    fn stack_slot(&mut self) -> Result<StackSlot> {
        let t = self.lx.next()?;
        let count = self.func.stack_slots.len();
        Self::declared(t, "ss", "stack slot", count, StackSlot::from_u32)
    }

    fn sig_ref(&mut self) -> Result<SigRef> {
        let t = self.lx.next()?;
        let count = self.func.dfg.signatures.len();
        Self::declared(t, "sig", "signature", count, SigRef::from_u32)
    }

    fn func_ref(&mut self) -> Result<FuncRef> {
        let t = self.lx.next()?;
        let count = self.func.dfg.ext_funcs.len();
        Self::declared(t, "fn", "function", count, FuncRef::from_u32)
    }

    // ---- operands ----

    /// An optional `+N` / `-N` offset (decimal, `i32` range).
    fn offset(&mut self) -> Result<i32> {
        let t = self.lx.peek()?;
        let Tok::Int(s) = t.tok else { return Ok(0) };
        let (neg, digits) = match s.as_bytes().first() {
            Some(b'+') => (false, &s[1..]),
            Some(b'-') => (true, &s[1..]),
            _ => return Ok(0),
        };
        self.lx.next()?;
        let bad = || t.pos.error(format!("offset \"{s}\" is not a decimal i32"));
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 12 {
            return Err(bad());
        }
        let mag: i64 = digits.parse().map_err(|_| bad())?;
        let v = if neg { -mag } else { mag };
        i32::try_from(v).map_err(|_| bad())
    }

    fn mem_flags(&mut self) -> Result<MemFlags> {
        let mut flags = MemFlags::new();
        let mut last: Option<usize> = None;
        loop {
            let t = self.lx.peek()?;
            let Tok::Ident(s) = t.tok else { break };
            let Some(i) = MemFlags::NAMES.iter().position(|n| *n == s) else {
                break;
            };
            if last.is_some_and(|l| i <= l) {
                return Err(t.pos.error(format!(
                    "memory flag \"{s}\" is repeated or out of order (the order is notrap aligned readonly)"
                )));
            }
            last = Some(i);
            flags.set_by_name(s);
            self.lx.next()?;
        }
        Ok(flags)
    }

    fn trap_code(&mut self) -> Result<TrapCode> {
        let (s, pos) = self.ident("a trap code")?;
        s.parse::<TrapCode>()
            .map_err(|_| pos.error(format!("unknown trap code \"{s}\"")))
    }

    fn lane_index(&mut self) -> Result<u8> {
        let t = self.lx.next()?;
        match t.tok {
            Tok::Int(s) => parse_dec_u32(s)
                .and_then(|n| u8::try_from(n).ok())
                .ok_or_else(|| t.pos.error(format!("lane index \"{s}\" is not 0..=255"))),
            other => Err(t
                .pos
                .error(format!("expected a lane index, found {}", other.describe()))),
        }
    }

    /// `[l0 l1 ...]` for vector type `ty`: exactly `ty.lane_count()` literals.
    fn vector_literal(&mut self, ty: Type) -> Result<[u8; 16]> {
        self.expect(Tok::LBracket, "\"[\"")?;
        let lane = ty.lane_type();
        let lb = lane.bytes() as usize;
        let n = ty.lane_count() as usize;
        let mut bytes = [0u8; 16];
        for i in 0..n {
            if self.lx.at_byte(b']') {
                let pos = self.lx.peek()?.pos;
                return Err(pos.error(format!("vconst.{ty} needs {n} lanes, found {i}")));
            }
            let (s, pos) = self.lx.literal()?;
            let raw: u64 = match lane {
                Type::F32 => u64::from(parse_f32(s).map_err(|m| pos.error(m))?),
                Type::F64 => parse_f64(s).map_err(|m| pos.error(m))?,
                _ => parse_int(s, lane).map_err(|m| pos.error(m))? as u64,
            };
            let le = raw.to_le_bytes();
            bytes[i * lb..(i + 1) * lb].copy_from_slice(&le[..lb]);
        }
        let t = self.lx.next()?;
        if t.tok != Tok::RBracket {
            return Err(t.pos.error(format!(
                "expected \"]\" after {n} lanes, found {}",
                t.tok.describe()
            )));
        }
        Ok(bytes)
    }

    // ---- structure ----

    fn parse(mut self) -> Result<(Function, FunctionSpan)> {
        let kw = self.lx.next()?;
        let name_tok = self.lx.next()?;
        self.func.params.name = match name_tok.tok {
            Tok::Name(s) => UserFuncName::testcase(s),
            Tok::Ident(s) if s.starts_with('u') => {
                UserFuncName::User(self.user_name(s, name_tok.pos)?)
            }
            other => {
                return Err(name_tok.pos.error(format!(
                    "expected a function name (%name or u<namespace>:<index>), found {}",
                    other.describe()
                )))
            }
        };
        self.func.stencil.signature = self.signature()?;
        self.expect(Tok::LBrace, "\"{\"")?;
        self.preamble()?;
        self.body()?;
        let close = self.expect(Tok::RBrace, "\"}\"")?;
        self.finish()?;
        let span = FunctionSpan {
            first_line: kw.pos.line,
            last_line: close.pos.line,
        };
        Ok((self.func, span))
    }

    /// Stack slots, then signatures, then function declarations.
    fn preamble(&mut self) -> Result<()> {
        let mut phase = Phase::Slots;
        loop {
            let t = self.lx.peek()?;
            let Tok::Ident(s) = t.tok else { return Ok(()) };
            let (this, num) = if let Some(n) = entity_number(s, "ss") {
                (Phase::Slots, n)
            } else if let Some(n) = entity_number(s, "sig") {
                (Phase::Sigs, n)
            } else if let Some(n) = entity_number(s, "fn") {
                (Phase::Funcs, n)
            } else {
                return Ok(());
            };
            let n = num.map_err(|m| t.pos.error(m))?;
            if this < phase {
                return Err(t.pos.error(format!(
                    "\"{s}\" is out of order: declare stack slots, then signatures, then functions"
                )));
            }
            phase = this;
            self.lx.next()?;
            let (prefix, expected) = match this {
                Phase::Slots => ("ss", self.func.stack_slots.len()),
                Phase::Sigs => ("sig", self.func.dfg.signatures.len()),
                Phase::Funcs => ("fn", self.func.dfg.ext_funcs.len()),
            };
            if n as usize != expected {
                return Err(t.pos.error(format!(
                    "expected {prefix}{expected}, found {prefix}{n}: declarations are numbered from 0 without gaps"
                )));
            }
            self.expect(Tok::Equal, "\"=\"")?;
            match this {
                Phase::Slots => self.slot_decl()?,
                Phase::Sigs => {
                    let sig = self.signature()?;
                    self.func.import_signature(sig);
                }
                Phase::Funcs => self.func_decl()?,
            }
            self.end_line("a declaration")?;
        }
    }

    /// `explicit_slot <size>[, align = <bytes>]`
    fn slot_decl(&mut self) -> Result<()> {
        let (kind, pos) = self.ident("\"explicit_slot\"")?;
        if kind != "explicit_slot" {
            return Err(pos.error(format!("expected \"explicit_slot\", found \"{kind}\"")));
        }
        let t = self.lx.next()?;
        let size = match t.tok {
            Tok::Int(s) => parse_dec_u32(s),
            _ => None,
        }
        .ok_or_else(|| {
            t.pos.error(format!(
                "expected a slot size in bytes, found {}",
                t.tok.describe()
            ))
        })?;
        let mut data = StackSlotData::new(size);
        if self.eat(Tok::Comma)? {
            let (kw, pos) = self.ident("\"align\"")?;
            if kw != "align" {
                return Err(pos.error(format!("expected \"align\", found \"{kw}\"")));
            }
            self.expect(Tok::Equal, "\"=\"")?;
            let t = self.lx.next()?;
            let align = match t.tok {
                Tok::Int(s) => parse_dec_u32(s),
                _ => None,
            };
            data.align_shift = match align {
                Some(a) if a.is_power_of_two() && a <= 16 => a.trailing_zeros() as u8,
                _ => {
                    return Err(t.pos.error(format!(
                        "expected an alignment (1, 2, 4, 8 or 16), found {}",
                        t.tok.describe()
                    )))
                }
            };
        }
        self.func.create_stack_slot(data);
        Ok(())
    }

    /// `u<ns>:<idx> sigM` or `libcall <name> sigM`
    fn func_decl(&mut self) -> Result<()> {
        let (s, pos) = self.ident("a function name (u<namespace>:<index> or libcall)")?;
        let name = if s == "libcall" {
            let (l, lpos) = self.ident("a libcall name")?;
            let lc = LibCall::from_name(l)
                .ok_or_else(|| lpos.error(format!("unknown libcall \"{l}\"")))?;
            ExternalName::LibCall(lc)
        } else {
            let n = self.user_name(s, pos)?;
            ExternalName::User(self.func.params.declare_user_name(n))
        };
        let signature = self.sig_ref()?;
        self.func.import_function(ExtFuncData { name, signature });
        Ok(())
    }

    /// Blocks and instructions up to (not including) the closing `}`.
    fn body(&mut self) -> Result<()> {
        let mut current: Option<Block> = None;
        loop {
            let t = self.lx.peek()?;
            match t.tok {
                Tok::RBrace | Tok::Eof => return Ok(()),
                Tok::Ident("function") => {
                    return Err(t
                        .pos
                        .error("expected \"}\" to close the function before the next one"))
                }
                _ => {}
            }
            if let Some(n) = Self::block_number(t)? {
                self.lx.next()?;
                current = Some(self.block_header(n, t.pos)?);
                continue;
            }
            let Some(block) = current else {
                return Err(t.pos.error(format!(
                    "expected a block header (blockN:), found {}",
                    t.tok.describe()
                )));
            };
            self.instruction(block)?;
        }
    }

    /// `blockN[(vK: T, ...)]:` (the `blockN` is consumed).
    fn block_header(&mut self, n: u32, pos: Pos) -> Result<Block> {
        let block = self.touch_block(n);
        if self.block_defined[n as usize] {
            return Err(pos.error(format!("block block{n} is defined more than once")));
        }
        self.block_defined[n as usize] = true;
        self.func.layout.append_block(block);
        let mut params: SmallVec<[(Value, Type); 8]> = SmallVec::new();
        if self.eat(Tok::LParen)? && !self.eat(Tok::RParen)? {
            loop {
                let t = self.lx.next()?;
                let vn = Self::value_number(t)?;
                if params.len() >= MAX_LIST {
                    return Err(t.pos.error(format!(
                        "too many block parameters (the limit is {MAX_LIST})"
                    )));
                }
                let v = self.define_value(vn, t.pos)?;
                self.expect(Tok::Colon, "\":\"")?;
                let ty = self.ty()?;
                params.push((v, ty));
                let t = self.lx.next()?;
                match t.tok {
                    Tok::Comma => {}
                    Tok::RParen => break,
                    other => {
                        return Err(t.pos.error(format!(
                            "expected \",\" or \")\", found {}",
                            other.describe()
                        )))
                    }
                }
            }
        }
        self.expect(Tok::Colon, "\":\" after the block header")?;
        self.end_line("a block header")?;
        let values: SmallVec<[Value; 8]> = params.iter().map(|p| p.0).collect();
        for (i, &(v, ty)) in params.iter().enumerate() {
            self.func.dfg.values[v] = ValueData {
                ty,
                def: ValueDef::Param(block, i as u16),
            };
        }
        // One allocation for the whole list (appending one by one would be quadratic).
        self.func.dfg.set_block_params(block, &values);
        for &v in &values {
            self.value_known(v);
        }
        Ok(block)
    }

    /// One instruction line, appended to `block`.
    fn instruction(&mut self, block: Block) -> Result<()> {
        let start = self.lx.peek()?;
        let start_pos = start.pos;
        let mut srcloc = None;
        if let Tok::SrcLoc(s) = start.tok {
            self.lx.next()?;
            let loc = (!s.is_empty() && s.len() <= 8)
                .then(|| u32::from_str_radix(s, 16).ok())
                .flatten()
                .filter(|&l| l != u32::MAX)
                .ok_or_else(|| {
                    start_pos.error(format!(
                        "bad source location \"@{s}\": expected 1 to 8 hex digits, below ffffffff"
                    ))
                })?;
            srcloc = Some(loc);
        }
        // Result values (defined after the operands are read).
        let mut results: SmallVec<[(u32, Pos); 4]> = SmallVec::new();
        if Self::is_value_token(&self.lx.peek()?) {
            loop {
                let t = self.lx.next()?;
                if results.len() >= MAX_LIST {
                    return Err(t
                        .pos
                        .error(format!("too many results (the limit is {MAX_LIST})")));
                }
                results.push((Self::value_number(t)?, t.pos));
                if !self.eat(Tok::Comma)? {
                    break;
                }
            }
            self.expect(Tok::Equal, "\"=\" after the results")?;
        }
        let (word, op_pos) = self.ident("an opcode")?;
        let (name, suffix) = match word.split_once('.') {
            Some((n, s)) => (n, Some(s)),
            None => (word, None),
        };
        let opcode = Opcode::from_name(name)
            .ok_or_else(|| op_pos.error(format!("unknown opcode \"{name}\"")))?;
        let ctrl = match suffix {
            Some(s) => {
                let pos = op_pos.plus_cols(name.len() + 1);
                Some(
                    s.parse::<Type>()
                        .map_err(|_| pos.error(format!("expected a type, found \"{s}\"")))?,
                )
            }
            None => None,
        };
        let rule = opcode.result_rule();
        match (rule, ctrl) {
            (ResultRule::Explicit, None) => {
                return Err(op_pos.error(format!(
                    "\"{name}\" needs a type suffix (e.g. \"{name}.i32\")"
                )))
            }
            (ResultRule::Explicit, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(op_pos.error(format!("\"{name}\" takes no type suffix")));
            }
        }
        let data = self.operands(opcode, ctrl, op_pos)?;
        let inst = self.func.dfg.make_inst(data);
        self.func.layout.append_inst(inst, block);
        if let Some(loc) = srcloc {
            self.func.set_srcloc(inst, SourceLoc::new(loc));
        }
        self.end_line("the instruction")?;
        self.define_results(inst, &data, rule, ctrl, &results, start_pos, name)
    }

    /// Attach the named results to `inst`, checking their count against the rule.
    #[allow(clippy::too_many_arguments)]
    fn define_results(
        &mut self,
        inst: Inst,
        data: &InstructionData,
        rule: ResultRule,
        ctrl: Option<Type>,
        results: &[(u32, Pos)],
        pos: Pos,
        name: &str,
    ) -> Result<()> {
        // The known types, or `None` for a single result that waits on an operand.
        let mut types: SmallVec<[Type; 4]> = SmallVec::new();
        let mut depends_on: Option<Value> = None;
        match rule {
            ResultRule::None => {}
            ResultRule::Explicit => types.extend(ctrl),
            ResultRule::Fixed(t) => types.push(t),
            ResultRule::Call => {
                let sig = match *data {
                    InstructionData::Call { func_ref, .. } => {
                        self.func.dfg.ext_funcs.get(func_ref).map(|e| e.signature)
                    }
                    InstructionData::CallIndirect { sig_ref, .. } => Some(sig_ref),
                    _ => None,
                };
                if let Some(s) = sig.and_then(|s| self.func.dfg.signatures.get(s)) {
                    types.extend_from_slice(&s.returns);
                }
            }
            ResultRule::SameAsArg(_) | ResultRule::CompareOf0 | ResultRule::LaneOf0 => {
                let n = match rule {
                    ResultRule::SameAsArg(n) => n as usize,
                    _ => 0,
                };
                let arg = data.arguments(&self.func.dfg.value_lists).get(n).copied();
                match arg {
                    Some(a) if self.vstate.get(a.as_u32() as usize) == Some(&VState::Known) => {
                        types.push(derive_type(rule, self.func.dfg.values[a].ty));
                    }
                    Some(a) => depends_on = Some(a),
                    None => return Err(pos.error(format!("\"{name}\" is missing an operand"))),
                }
            }
        }
        let want = if depends_on.is_some() { 1 } else { types.len() };
        if results.len() != want {
            let s = if want == 1 { "" } else { "s" };
            return Err(pos.error(format!(
                "\"{name}\" has {want} result{s}, but {} named",
                match results.len() {
                    0 => "none are".to_string(),
                    1 => "1 is".to_string(),
                    k => format!("{k} are"),
                }
            )));
        }
        let mut attached: SmallVec<[(Value, Type); 4]> = SmallVec::new();
        for (i, &(n, rpos)) in results.iter().enumerate() {
            let v = self.define_value(n, rpos)?;
            attached.push((v, types.get(i).copied().unwrap_or(Type::I8)));
        }
        self.func.dfg.attach_inst_results(inst, &attached);
        match depends_on {
            Some(dep) => {
                let result = attached[0].0;
                self.waiters
                    .entry(dep.as_u32())
                    .or_default()
                    .push(Waiter { result, rule });
                self.pending.push((result, pos));
            }
            None => {
                for &(v, _) in &attached {
                    self.value_known(v);
                }
            }
        }
        Ok(())
    }

    /// The operands of `opcode` (the opcode and its suffix are consumed).
    fn operands(
        &mut self,
        opcode: Opcode,
        ctrl: Option<Type>,
        op_pos: Pos,
    ) -> Result<InstructionData> {
        use crate::ir::InstructionFormat as F;
        use InstructionData as D;
        let ctrl_ty = || ctrl.unwrap_or(Type::I64);
        Ok(match opcode.format() {
            F::UnaryImm => {
                let (s, pos) = self.lx.literal()?;
                let imm = parse_int(s, ctrl_ty()).map_err(|m| pos.error(m))?;
                D::UnaryImm { opcode, imm }
            }
            F::UnaryIeee => {
                let ty = ctrl_ty();
                if ty != Type::F32 && ty != Type::F64 {
                    return Err(op_pos.error(format!(
                        "\"{}\" needs type f32 or f64, found {ty}",
                        opcode.name()
                    )));
                }
                let (s, pos) = self.lx.literal()?;
                let bits = if ty == Type::F32 {
                    u64::from(parse_f32(s).map_err(|m| pos.error(m))?)
                } else {
                    parse_f64(s).map_err(|m| pos.error(m))?
                };
                D::UnaryIeee { opcode, bits }
            }
            F::UnaryConst => {
                let ty = ctrl_ty();
                if !ty.is_vector() {
                    return Err(op_pos.error(format!(
                        "\"{}\" needs a vector type, found {ty}",
                        opcode.name()
                    )));
                }
                let bytes = self.vector_literal(ty)?;
                let constant = self.func.dfg.constants.push(bytes);
                D::UnaryConst { opcode, constant }
            }
            F::Unary => D::Unary {
                opcode,
                arg: self.value()?,
            },
            F::Binary => {
                let a = self.value()?;
                self.expect_comma()?;
                let b = self.value()?;
                D::Binary {
                    opcode,
                    args: [a, b],
                }
            }
            F::Ternary => {
                let a = self.value()?;
                self.expect_comma()?;
                let b = self.value()?;
                self.expect_comma()?;
                let c = self.value()?;
                D::Ternary {
                    opcode,
                    args: [a, b, c],
                }
            }
            F::IntCompare => {
                let (s, pos) = self.ident("an integer condition code")?;
                let cond = s
                    .parse::<IntCC>()
                    .map_err(|_| pos.error(format!("unknown integer condition code \"{s}\"")))?;
                let a = self.value()?;
                self.expect_comma()?;
                let b = self.value()?;
                D::IntCompare {
                    opcode,
                    cond,
                    args: [a, b],
                }
            }
            F::FloatCompare => {
                let (s, pos) = self.ident("a float condition code")?;
                let cond = s
                    .parse::<FloatCC>()
                    .map_err(|_| pos.error(format!("unknown float condition code \"{s}\"")))?;
                let a = self.value()?;
                self.expect_comma()?;
                let b = self.value()?;
                D::FloatCompare {
                    opcode,
                    cond,
                    args: [a, b],
                }
            }
            F::ExtractLane => {
                let arg = self.value()?;
                self.expect_comma()?;
                let lane = self.lane_index()?;
                D::ExtractLane { opcode, arg, lane }
            }
            F::InsertLane => {
                let a = self.value()?;
                self.expect_comma()?;
                let b = self.value()?;
                self.expect_comma()?;
                let lane = self.lane_index()?;
                D::InsertLane {
                    opcode,
                    args: [a, b],
                    lane,
                }
            }
            F::Shuffle => {
                let a = self.value()?;
                self.expect_comma()?;
                let b = self.value()?;
                self.expect_comma()?;
                let bytes = self.vector_literal(Type::I8X16)?;
                let mask = self.func.dfg.constants.push(bytes);
                D::Shuffle {
                    opcode,
                    args: [a, b],
                    mask,
                }
            }
            F::Load => {
                let flags = self.mem_flags()?;
                let arg = self.value()?;
                let offset = self.offset()?;
                D::Load {
                    opcode,
                    flags,
                    arg,
                    offset,
                }
            }
            F::Store => {
                let flags = self.mem_flags()?;
                let val = self.value()?;
                self.expect_comma()?;
                let addr = self.value()?;
                let offset = self.offset()?;
                D::Store {
                    opcode,
                    flags,
                    args: [val, addr],
                    offset,
                }
            }
            F::MemLane => {
                let flags = self.mem_flags()?;
                let val = self.value()?;
                self.expect_comma()?;
                let addr = self.value()?;
                let offset = self.offset()?;
                self.expect_comma()?;
                let lane = self.lane_index()?;
                D::MemLane {
                    opcode,
                    flags,
                    args: [val, addr],
                    offset,
                    lane,
                }
            }
            F::StackLoad => {
                let slot = self.stack_slot()?;
                let offset = self.offset()?;
                D::StackLoad {
                    opcode,
                    slot,
                    offset,
                }
            }
            F::StackStore => {
                let arg = self.value()?;
                self.expect_comma()?;
                let slot = self.stack_slot()?;
                let offset = self.offset()?;
                D::StackStore {
                    opcode,
                    arg,
                    slot,
                    offset,
                }
            }
            F::Jump => D::Jump {
                opcode,
                destination: self.block_call()?,
            },
            F::Brif => {
                let arg = self.value()?;
                self.expect_comma()?;
                let then = self.block_call()?;
                self.expect_comma()?;
                let els = self.block_call()?;
                D::Brif {
                    opcode,
                    arg,
                    blocks: [then, els],
                }
            }
            F::BranchTable => {
                let arg = self.value()?;
                self.expect_comma()?;
                let default = self.block_call()?;
                self.expect_comma()?;
                self.expect(Tok::LBracket, "\"[\"")?;
                let mut targets: Vec<BlockCall> = Vec::new();
                if !self.eat(Tok::RBracket)? {
                    loop {
                        targets.push(self.block_call()?);
                        let t = self.lx.next()?;
                        match t.tok {
                            Tok::Comma => {}
                            Tok::RBracket => break,
                            other => {
                                return Err(t.pos.error(format!(
                                    "expected \",\" or \"]\", found {}",
                                    other.describe()
                                )))
                            }
                        }
                    }
                }
                let table = self
                    .func
                    .dfg
                    .jump_tables
                    .push(JumpTableData::new(default, &targets));
                D::BranchTable { opcode, arg, table }
            }
            F::MultiAry => {
                let mut args: SmallVec<[Value; 8]> = SmallVec::new();
                // The list must start on the opcode's line: `return` alone ends there.
                let t = self.lx.peek()?;
                if Self::is_value_token(&t) && t.pos.line == op_pos.line {
                    loop {
                        args.push(self.value()?);
                        if !self.eat(Tok::Comma)? {
                            break;
                        }
                    }
                }
                let args = self.func.dfg.value_lists.alloc(&args);
                D::MultiAry { opcode, args }
            }
            F::Trap => D::Trap {
                opcode,
                code: self.trap_code()?,
            },
            F::CondTrap => {
                let arg = self.value()?;
                self.expect_comma()?;
                let code = self.trap_code()?;
                D::CondTrap { opcode, arg, code }
            }
            F::Call => {
                let func_ref = self.func_ref()?;
                self.expect(Tok::LParen, "\"(\"")?;
                let mut args: SmallVec<[Value; 8]> = SmallVec::new();
                self.value_list_until_rparen(&mut args)?;
                let args = self.func.dfg.value_lists.alloc(&args);
                D::Call {
                    opcode,
                    func_ref,
                    args,
                }
            }
            F::CallIndirect => {
                let sig_ref = self.sig_ref()?;
                self.expect_comma()?;
                let mut args: SmallVec<[Value; 8]> = SmallVec::new();
                args.push(self.value()?);
                self.expect(Tok::LParen, "\"(\"")?;
                self.value_list_until_rparen(&mut args)?;
                let args = self.func.dfg.value_lists.alloc(&args);
                D::CallIndirect {
                    opcode,
                    sig_ref,
                    args,
                }
            }
            F::FuncAddr => D::FuncAddr {
                opcode,
                func_ref: self.func_ref()?,
            },
        })
    }

    /// Check that everything referenced was defined and every type was inferred.
    fn finish(&mut self) -> Result<()> {
        let undefined_block = self
            .early_blocks
            .iter()
            .filter(|(&n, _)| !self.block_defined.get(n as usize).copied().unwrap_or(false))
            .min_by_key(|(_, &pos)| pos);
        if let Some((n, pos)) = undefined_block {
            return Err(pos.error(format!("undefined block block{n}")));
        }
        let undefined_value = self
            .early_uses
            .iter()
            .filter(|(&n, _)| self.vstate.get(n as usize) == Some(&VState::Undefined))
            .min_by_key(|(_, &pos)| pos);
        if let Some((n, pos)) = undefined_value {
            return Err(pos.error(format!("undefined value v{n}")));
        }
        for &(v, pos) in &self.pending {
            if self.vstate.get(v.as_u32() as usize) != Some(&VState::Known) {
                return Err(pos.error(format!("cannot infer the type of {v}")));
            }
        }
        Ok(())
    }
}
