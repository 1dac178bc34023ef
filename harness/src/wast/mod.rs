//! `kiln wast`: WebAssembly spec-test scripts (`.wast`) on every engine.
//!
//! A script is parsed once with the `wast` crate and lowered to [`Directive`]s (modules
//! encoded to binary, arguments to [`DataValue`]s, results to [`ValuePattern`]s, trap
//! messages to [`TrapCode`]s); then each engine runs the directives in a fresh
//! [`Store`] of its own ([`run_script`], the engines in parallel).
//!
//! Every directive counts exactly once per engine as *passed*, *failed* or *skipped*:
//! - skipped (with the file, line and reason, never silently): whatever this runtime cannot
//!   check — modules with an instruction the backend does not lower
//!   ([`CodegenError::Unsupported`]), `v128` code on an engine whose settings lack
//!   `enable_simd` ([`CodegenError::SimdDisabled`]), [`InstanceError::Unsupported`],
//!   constructs of later
//!   proposals (threads, exceptions, GC references, components), and directives on a
//!   module that was not instantiated (the reason names the module's own failure or skip);
//! - failed: everything else that does not behave as the script says, including a panic
//!   (caught per directive) and an engine error. A script that does not parse is one
//!   failure of the script (no engine).
//!
//! `assert_invalid` and `assert_malformed` pass when the front end rejects the module
//! ([`ModuleError::Wasm`]: a decoding or validation error, or a feature outside Wasm 2.0);
//! a module that gets past validation fails them even when the backend then refuses it
//! (that would hide a lax decoder). Quoted text the `wast` crate cannot parse is malformed.
//! The message strings are not compared (the front end's messages are wasmparser's).
//!
//! Values: references are `I64` — `ref.null` is 0, `ref.extern N` is `N + 1`, a non-null
//! funcref any non-zero address. Result floats compare by bits except for the NaN
//! patterns ([`NanKind`]); a `v128` result compares lane by lane in the script's shape
//! ([`ValuePattern::V128`]). Trap messages map to trap codes through one table
//! ([`trap_code_for_message`]).

use crate::engine::{EngineKind, EngineSettings};
use crate::instance::{InstanceError, InstanceId, Store, DEFAULT_FUEL};
use crate::outcome::Outcome;
use crate::value::DataValue;
use kiln::ir::{TrapCode, Type};
use kiln::machinst::CodegenError;
use kiln::module::ModuleError;
use kiln::wasm::WasmError;
use std::collections::HashMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use wast::core::{NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::token::{Span, F32, F64};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

/// What to run scripts on.
#[derive(Clone, Debug)]
pub struct WastOptions {
    /// The engines, each with a store of its own per script.
    pub engines: Vec<EngineKind>,
    /// Compiler settings of the compiled engines.
    pub settings: EngineSettings,
    /// Instruction budget of each invocation.
    pub fuel: u64,
}

impl Default for WastOptions {
    fn default() -> Self {
        WastOptions {
            engines: EngineKind::ALL.to_vec(),
            settings: EngineSettings::default(),
            fuel: DEFAULT_FUEL,
        }
    }
}

/// A directive that did not do what the script says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The script.
    pub file: PathBuf,
    /// 1-based line of the directive (0: the script as a whole).
    pub line: usize,
    /// The engine; `None` for a failure of the script itself (it does not parse).
    pub engine: Option<EngineKind>,
    /// The directive, abbreviated (`assert_return invoke "add" (i32 1, i32 2)`).
    pub directive: String,
    /// What the script expects.
    pub expected: String,
    /// What happened.
    pub actual: String,
}

impl fmt::Display for Failure {
    /// `file:line: [engine] directive: expected X, got Y`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if let Some(e) = self.engine {
            write!(f, ": [{e}]")?;
        } else {
            f.write_str(":")?;
        }
        write!(
            f,
            " {}: expected {}, got {}",
            self.directive, self.expected, self.actual
        )
    }
}

/// A directive this runtime cannot check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    /// The script.
    pub file: PathBuf,
    /// 1-based line of the directive.
    pub line: usize,
    /// The engine.
    pub engine: EngineKind,
    /// The directive, abbreviated.
    pub directive: String,
    /// Why, short enough to group skips by (`the backend does not support it: …`).
    pub reason: String,
    /// The specifics (an error message, the value concerned), possibly empty.
    pub detail: String,
}

impl fmt::Display for Skip {
    /// `file:line: [engine] directive: skipped: reason (detail)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: [{}] {}: skipped: {}",
            self.file.display(),
            self.line,
            self.engine,
            self.directive,
            self.reason
        )?;
        if !self.detail.is_empty() && self.detail != self.reason {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}

/// One engine's results on one script.
#[derive(Clone, Debug)]
pub struct EngineReport {
    /// The engine.
    pub engine: EngineKind,
    /// Directives that behaved as the script says.
    pub passed: u64,
    /// Those that did not.
    pub failures: Vec<Failure>,
    /// Those that could not be checked.
    pub skips: Vec<Skip>,
}

/// The results of one script on every engine.
#[derive(Clone, Debug)]
pub struct ScriptReport {
    /// The script.
    pub path: PathBuf,
    /// One report per engine, in the order of [`WastOptions::engines`] (empty when the
    /// script does not parse).
    pub engines: Vec<EngineReport>,
    /// Failures of the script itself (it cannot be read or parsed).
    pub script_failures: Vec<Failure>,
}

impl ScriptReport {
    /// Passed directives, summed over engines.
    pub fn passed(&self) -> u64 {
        self.engines.iter().map(|e| e.passed).sum()
    }

    /// Failures, summed over engines, plus the script's own.
    pub fn failed(&self) -> u64 {
        (self.script_failures.len() + self.engines.iter().map(|e| e.failures.len()).sum::<usize>())
            as u64
    }

    /// Skipped directives, summed over engines.
    pub fn skipped(&self) -> u64 {
        self.engines.iter().map(|e| e.skips.len() as u64).sum()
    }

    /// Every failure: the script's own, then each engine's.
    pub fn failures(&self) -> impl Iterator<Item = &Failure> {
        self.script_failures
            .iter()
            .chain(self.engines.iter().flat_map(|e| e.failures.iter()))
    }

    /// Every skip, engine by engine.
    pub fn skips(&self) -> impl Iterator<Item = &Skip> {
        self.engines.iter().flat_map(|e| e.skips.iter())
    }

    /// `N passed, M failed, K skipped`.
    pub fn counts_line(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }
}

/// The `.wast` files of `paths`: files as given, directories searched recursively for
/// `*.wast`; sorted, without duplicates.
pub fn collect_wast_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    crate::files::collect_files(paths, "wast")
}

// ---------------------------------------------------------------------------------------
// Trap messages and value patterns.

/// The spec's trap messages (matched as a prefix or a substring of the script's message)
/// and Kiln's trap code for each; the first match wins.
const TRAP_MESSAGES: &[(&str, TrapCode)] = &[
    ("unreachable", TrapCode::Unreachable),
    ("integer divide by zero", TrapCode::IntegerDivisionByZero),
    ("integer overflow", TrapCode::IntegerOverflow),
    (
        "invalid conversion to integer",
        TrapCode::BadConversionToInteger,
    ),
    ("out of bounds memory access", TrapCode::HeapOutOfBounds),
    ("out of bounds table access", TrapCode::TableOutOfBounds),
    ("undefined element", TrapCode::TableOutOfBounds),
    ("uninitialized element", TrapCode::IndirectCallToNull),
    ("uninitialized", TrapCode::IndirectCallToNull),
    ("indirect call type mismatch", TrapCode::BadSignature),
    ("indirect call signature mismatch", TrapCode::BadSignature),
    ("call stack exhausted", TrapCode::StackOverflow),
];

/// The trap code a spec trap message (`assert_trap`, `assert_exhaustion`) stands for;
/// `None` for a message this table does not know.
pub fn trap_code_for_message(message: &str) -> Option<TrapCode> {
    TRAP_MESSAGES
        .iter()
        .find(|(m, _)| message.starts_with(m) || message.contains(m))
        .map(|&(_, c)| c)
}

/// A NaN result pattern.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NanKind {
    /// `nan:canonical`: the payload is exactly the quiet bit; either sign.
    Canonical,
    /// `nan:arithmetic`: the quiet bit is set, any other payload bits; either sign.
    Arithmetic,
}

impl NanKind {
    /// Do the `f32` bits match?
    pub fn matches_f32(self, bits: u32) -> bool {
        Self::matches(self, u64::from(bits), 8, 23)
    }

    /// Do the `f64` bits match?
    pub fn matches_f64(self, bits: u64) -> bool {
        Self::matches(self, bits, 11, 52)
    }

    fn matches(self, bits: u64, exp_bits: u32, mant_bits: u32) -> bool {
        let exp = (bits >> mant_bits) & ((1 << exp_bits) - 1);
        let payload = bits & ((1u64 << mant_bits) - 1);
        let quiet = 1u64 << (mant_bits - 1);
        exp == (1 << exp_bits) - 1
            && match self {
                NanKind::Canonical => payload == quiet,
                NanKind::Arithmetic => payload & quiet != 0,
            }
    }

    fn name(self) -> &'static str {
        match self {
            NanKind::Canonical => "nan:canonical",
            NanKind::Arithmetic => "nan:arithmetic",
        }
    }
}

/// What one result of `assert_return` must be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValuePattern {
    /// Exactly this value (floats by bits).
    Exact(DataValue),
    /// An `f32` NaN of this kind.
    F32Nan(NanKind),
    /// An `f64` NaN of this kind.
    F64Nan(NanKind),
    /// `ref.null` (func or extern): `I64(0)`.
    RefNull,
    /// `ref.extern N`: `I64(N + 1)`.
    RefExtern(u32),
    /// A non-null reference (`ref.func`, `ref.extern` without a value): any non-zero `I64`.
    NonNullRef(&'static str),
    /// A `v128` of this shape (`i8x16` … `f64x2`), lane by lane, compared on the bytes
    /// whatever vector type the engine reports.
    V128(Type, Vec<LanePattern>),
    /// Any of these.
    Either(Vec<ValuePattern>),
}

/// One lane of a [`ValuePattern::V128`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LanePattern {
    /// Exactly these bits.
    Bits(u64),
    /// A NaN of this kind (float lanes).
    Nan(NanKind),
}

impl LanePattern {
    fn matches(self, lane: Type, bits: u64) -> bool {
        match (self, lane) {
            (LanePattern::Bits(b), _) => b == bits,
            (LanePattern::Nan(k), Type::F32) => k.matches_f32(bits as u32),
            (LanePattern::Nan(k), _) => k.matches_f64(bits),
        }
    }
}

impl ValuePattern {
    /// Does `v` match?
    pub fn matches(&self, v: &DataValue) -> bool {
        match (self, v) {
            (ValuePattern::Exact(e), v) => e == v,
            (ValuePattern::F32Nan(k), DataValue::F32(b)) => k.matches_f32(*b),
            (ValuePattern::F64Nan(k), DataValue::F64(b)) => k.matches_f64(*b),
            (ValuePattern::RefNull, DataValue::I64(0)) => true,
            (ValuePattern::RefExtern(n), DataValue::I64(x)) => *x == i64::from(*n) + 1,
            (ValuePattern::NonNullRef(_), DataValue::I64(x)) => *x != 0,
            (ValuePattern::Either(alts), v) => alts.iter().any(|a| a.matches(v)),
            (ValuePattern::V128(shape, lanes), DataValue::V128(_, bytes)) => {
                let as_shape = DataValue::V128(*shape, *bytes);
                lanes.iter().enumerate().all(|(i, p)| {
                    as_shape
                        .lane(i as u32)
                        .and_then(|l| l.scalar_bits())
                        .is_some_and(|b| p.matches(shape.lane_type(), b))
                })
            }
            _ => false,
        }
    }
}

impl fmt::Display for ValuePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValuePattern::Exact(v) => write!(f, "{}", Typed(v)),
            ValuePattern::F32Nan(k) => write!(f, "f32 {}", k.name()),
            ValuePattern::F64Nan(k) => write!(f, "f64 {}", k.name()),
            ValuePattern::RefNull => f.write_str("ref.null"),
            ValuePattern::RefExtern(n) => write!(f, "ref.extern {n}"),
            ValuePattern::NonNullRef(what) => write!(f, "{what} (non-null)"),
            ValuePattern::V128(shape, lanes) => {
                write!(f, "{shape} [")?;
                for (i, l) in lanes.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    match (*l, shape.lane_type()) {
                        (LanePattern::Nan(k), _) => f.write_str(k.name())?,
                        (LanePattern::Bits(b), t) => match DataValue::from_scalar_bits(t, b) {
                            Some(v) => write!(f, "{v}")?,
                            None => write!(f, "{b:#x}")?,
                        },
                    }
                }
                f.write_str("]")
            }
            ValuePattern::Either(alts) => {
                f.write_str("either(")?;
                for (i, a) in alts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" | ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// A value with its type: `i32 3`, `f32 nan:0x1`.
struct Typed<'a>(&'a DataValue);

impl fmt::Display for Typed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0.ty(), self.0)
    }
}

fn typed_list(vs: &[DataValue]) -> String {
    vs.iter()
        .map(|v| Typed(v).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An outcome with typed values.
fn describe_outcome(o: &Outcome) -> String {
    match o {
        Outcome::Returned(vs) if vs.is_empty() => "returned nothing".into(),
        Outcome::Returned(vs) => format!("returned {}", typed_list(vs)),
        Outcome::Trapped(c) => format!("trap {c}"),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Lowering a parsed script.

/// Why a directive cannot be checked: `(reason, detail)`.
type SkipWhy = (String, String);

fn skip_why(reason: &str, detail: impl Into<String>) -> SkipWhy {
    (reason.to_string(), detail.into())
}

/// A module as binary, or why the `wast` crate could not encode it.
type Encoded = Result<Vec<u8>, String>;

/// An invocation or a global read.
#[derive(Clone, Debug)]
enum Action {
    Invoke {
        module: Option<String>,
        name: String,
        args: Vec<DataValue>,
    },
    Get {
        module: Option<String>,
        global: String,
    },
}

impl Action {
    fn module(&self) -> Option<&str> {
        match self {
            Action::Invoke { module, .. } | Action::Get { module, .. } => module.as_deref(),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (verb, module, name) = match self {
            Action::Invoke { module, name, .. } => ("invoke", module, name),
            Action::Get { module, global } => ("get", module, global),
        };
        f.write_str(verb)?;
        if let Some(m) = module {
            write!(f, " {m}")?;
        }
        write!(f, " {name:?}")?;
        if let Action::Invoke { args, .. } = self {
            write!(f, " ({})", typed_list(args))?;
        }
        Ok(())
    }
}

/// One lowered directive.
#[derive(Clone, Debug)]
enum Cmd {
    Module {
        id: Option<String>,
        wasm: Encoded,
    },
    Definition {
        id: Option<String>,
        wasm: Encoded,
    },
    Instance {
        instance: Option<String>,
        module: Option<String>,
    },
    Register {
        name: String,
        module: Option<String>,
    },
    Action(Action),
    AssertReturn {
        action: Action,
        results: Vec<ValuePattern>,
    },
    AssertReturnModule {
        wasm: Encoded,
    },
    AssertTrap {
        action: Action,
        trap: TrapCode,
        message: String,
    },
    AssertModuleTrap {
        wasm: Encoded,
        trap: TrapCode,
        message: String,
    },
    AssertInvalid {
        wasm: Encoded,
        message: String,
    },
    AssertMalformed {
        wasm: Encoded,
        message: String,
    },
    AssertUnlinkable {
        wasm: Encoded,
        message: String,
    },
    Skip {
        reason: String,
        detail: String,
    },
}

/// A lowered directive with its line and a short description.
#[derive(Clone, Debug)]
pub struct Directive {
    line: usize,
    text: String,
    cmd: Cmd,
}

/// A parsed and lowered script, ready to run on any engine.
#[derive(Clone, Debug)]
pub struct Script {
    path: PathBuf,
    directives: Vec<Directive>,
}

impl Script {
    /// The number of directives (each engine counts every one exactly once).
    pub fn len(&self) -> usize {
        self.directives.len()
    }

    /// Has the script no directives?
    pub fn is_empty(&self) -> bool {
        self.directives.is_empty()
    }
}

/// Byte offset to 1-based line (the same line as [`Span::linecol_in`], in `O(log n)`).
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(src: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    fn line(&self, span: Span) -> usize {
        self.starts.partition_point(|&s| s <= span.offset())
    }
}

/// Read, parse and lower a script. `Err` is the failure of the script (cannot be read or
/// parsed), with the parser's message and position.
pub fn load_script(path: &Path) -> Result<Script, Failure> {
    let fail = |line: usize, actual: String| Failure {
        file: path.to_path_buf(),
        line,
        engine: None,
        directive: "script".into(),
        expected: "a script that parses".into(),
        actual,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(0, format!("cannot read it: {e}")))?;
    let src = String::from_utf8(bytes).map_err(|e| fail(0, format!("not UTF-8: {e}")))?;
    let lines = Lines::new(&src);
    let parse_error = |mut e: wast::Error| {
        let line = lines.line(e.span());
        e.set_path(path);
        e.set_text(&src);
        fail(line, format!("parse error: {e}"))
    };
    // The spec's names.wast uses bidirectional-override and other confusable characters in
    // export names on purpose.
    let mut lexer = Lexer::new(&src);
    lexer.allow_confusing_unicode(true);
    let buf = ParseBuffer::new_with_lexer(lexer).map_err(parse_error)?;
    let wast = parser::parse::<Wast>(&buf).map_err(parse_error)?;
    let directives = wast
        .directives
        .into_iter()
        .map(|d| {
            let line = lines.line(d.span());
            let (text, cmd) = lower(d);
            Directive { line, text, cmd }
        })
        .collect();
    Ok(Script {
        path: path.to_path_buf(),
        directives,
    })
}

fn encode_quote(mut q: QuoteWat<'_>) -> Result<Encoded, SkipWhy> {
    match q {
        QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_)) => {
            Err(skip_why("the component model is not supported", ""))
        }
        _ => Ok(q.encode().map_err(|e| e.to_string())),
    }
}

fn encode_wat(mut w: Wat<'_>) -> Result<Encoded, SkipWhy> {
    match w {
        Wat::Component(_) => Err(skip_why("the component model is not supported", "")),
        Wat::Module(_) => Ok(w.encode().map_err(|e| e.to_string())),
    }
}

fn quote_id(q: &QuoteWat<'_>) -> Option<String> {
    q.name().map(|id| format!("${}", id.name()))
}

fn lower_arg(a: &WastArg<'_>) -> Result<DataValue, SkipWhy> {
    match a {
        WastArg::Core(c) => match c {
            WastArgCore::I32(v) => Ok(DataValue::I32(*v)),
            WastArgCore::I64(v) => Ok(DataValue::I64(*v)),
            WastArgCore::F32(F32 { bits }) => Ok(DataValue::F32(*bits)),
            WastArgCore::F64(F64 { bits }) => Ok(DataValue::F64(*bits)),
            WastArgCore::V128(v) => Ok(DataValue::V128(Type::I8X16, v.to_le_bytes())),
            WastArgCore::RefNull(_) => Ok(DataValue::I64(0)),
            WastArgCore::RefExtern(n) => Ok(DataValue::I64(i64::from(*n) + 1)),
            WastArgCore::RefHost(_) => Err(skip_why(
                "GC references are not supported",
                "a ref.host argument",
            )),
        },
        _ => Err(skip_why(
            "the component model is not supported",
            "a component value",
        )),
    }
}

fn lower_ret_core(r: &WastRetCore<'_>) -> Result<ValuePattern, SkipWhy> {
    Ok(match r {
        WastRetCore::I32(v) => ValuePattern::Exact(DataValue::I32(*v)),
        WastRetCore::I64(v) => ValuePattern::Exact(DataValue::I64(*v)),
        WastRetCore::F32(p) => match p {
            NanPattern::CanonicalNan => ValuePattern::F32Nan(NanKind::Canonical),
            NanPattern::ArithmeticNan => ValuePattern::F32Nan(NanKind::Arithmetic),
            NanPattern::Value(F32 { bits }) => ValuePattern::Exact(DataValue::F32(*bits)),
        },
        WastRetCore::F64(p) => match p {
            NanPattern::CanonicalNan => ValuePattern::F64Nan(NanKind::Canonical),
            NanPattern::ArithmeticNan => ValuePattern::F64Nan(NanKind::Arithmetic),
            NanPattern::Value(F64 { bits }) => ValuePattern::Exact(DataValue::F64(*bits)),
        },
        WastRetCore::V128(p) => lower_v128_pattern(p),
        WastRetCore::RefNull(_) => ValuePattern::RefNull,
        WastRetCore::RefExtern(Some(n)) => ValuePattern::RefExtern(*n),
        WastRetCore::RefExtern(None) => ValuePattern::NonNullRef("ref.extern"),
        WastRetCore::RefFunc(_) => ValuePattern::NonNullRef("ref.func"),
        WastRetCore::Either(alts) => {
            ValuePattern::Either(alts.iter().map(lower_ret_core).collect::<Result<_, _>>()?)
        }
        other => {
            return Err(skip_why(
                "GC references are not supported",
                format!("result pattern {other:?}"),
            ))
        }
    })
}

fn lower_v128_pattern(p: &V128Pattern) -> ValuePattern {
    fn floats<T>(shape: Type, lanes: &[NanPattern<T>], bits: fn(&T) -> u64) -> ValuePattern {
        let lanes = lanes
            .iter()
            .map(|p| match p {
                NanPattern::CanonicalNan => LanePattern::Nan(NanKind::Canonical),
                NanPattern::ArithmeticNan => LanePattern::Nan(NanKind::Arithmetic),
                NanPattern::Value(v) => LanePattern::Bits(bits(v)),
            })
            .collect();
        ValuePattern::V128(shape, lanes)
    }
    fn ints<T: Copy + Into<i64>>(shape: Type, lanes: &[T]) -> ValuePattern {
        let mask = shape.lane_type().int_mask();
        let lanes = lanes
            .iter()
            .map(|&l| LanePattern::Bits(l.into() as u64 & mask))
            .collect();
        ValuePattern::V128(shape, lanes)
    }
    match p {
        V128Pattern::I8x16(l) => ints(Type::I8X16, l),
        V128Pattern::I16x8(l) => ints(Type::I16X8, l),
        V128Pattern::I32x4(l) => ints(Type::I32X4, l),
        V128Pattern::I64x2(l) => ints(Type::I64X2, l),
        V128Pattern::F32x4(l) => floats(Type::F32X4, l, |f| u64::from(f.bits)),
        V128Pattern::F64x2(l) => floats(Type::F64X2, l, |f| f.bits),
    }
}

fn lower_ret(r: &WastRet<'_>) -> Result<ValuePattern, SkipWhy> {
    match r {
        WastRet::Core(c) => lower_ret_core(c),
        _ => Err(skip_why(
            "the component model is not supported",
            "a component result",
        )),
    }
}

fn lower_invoke(i: &WastInvoke<'_>) -> Result<Action, SkipWhy> {
    Ok(Action::Invoke {
        module: i.module.map(|id| format!("${}", id.name())),
        name: i.name.to_string(),
        args: i.args.iter().map(lower_arg).collect::<Result<_, _>>()?,
    })
}

/// `invoke $M "name"` (without the arguments): describes a directive whose arguments
/// cannot be lowered.
fn invoke_head(i: &WastInvoke<'_>) -> String {
    match i.module {
        Some(m) => format!("invoke ${} {:?}", m.name(), i.name),
        None => format!("invoke {:?}", i.name),
    }
}

fn exec_head(e: &WastExecute<'_>) -> String {
    match e {
        WastExecute::Invoke(i) => invoke_head(i),
        WastExecute::Get { module, global, .. } => match module {
            Some(m) => format!("get ${} {global:?}", m.name()),
            None => format!("get {global:?}"),
        },
        WastExecute::Wat(_) => "module".into(),
    }
}

/// An `assert_*` on an action or a module.
enum Exec {
    Action(Action),
    Module(Encoded),
}

fn lower_exec(e: WastExecute<'_>) -> Result<Exec, SkipWhy> {
    match e {
        WastExecute::Invoke(i) => lower_invoke(&i).map(Exec::Action),
        WastExecute::Get { module, global, .. } => Ok(Exec::Action(Action::Get {
            module: module.map(|id| format!("${}", id.name())),
            global: global.to_string(),
        })),
        WastExecute::Wat(w) => encode_wat(w).map(Exec::Module),
    }
}

fn trap_for(message: &str) -> Result<TrapCode, SkipWhy> {
    trap_code_for_message(message).ok_or_else(|| {
        skip_why(
            "unknown trap message",
            format!("no trap code for {message:?}"),
        )
    })
}

/// Lower one directive: its description and command (a [`Cmd::Skip`] for whatever cannot
/// be checked).
fn lower(d: WastDirective<'_>) -> (String, Cmd) {
    let mut text = String::new();
    let cmd =
        lower_into(d, &mut text).unwrap_or_else(|(reason, detail)| Cmd::Skip { reason, detail });
    (text, cmd)
}

fn lower_into(d: WastDirective<'_>, text: &mut String) -> Result<Cmd, SkipWhy> {
    match d {
        WastDirective::Module(q) => {
            let id = quote_id(&q);
            *text = format!(
                "module{}",
                id.as_deref().map(|i| format!(" {i}")).unwrap_or_default()
            );
            Ok(Cmd::Module {
                wasm: encode_quote(q)?,
                id,
            })
        }
        WastDirective::ModuleDefinition(q) => {
            let id = quote_id(&q);
            *text = format!(
                "module definition{}",
                id.as_deref().map(|i| format!(" {i}")).unwrap_or_default()
            );
            Ok(Cmd::Definition {
                wasm: encode_quote(q)?,
                id,
            })
        }
        WastDirective::ModuleInstance {
            instance, module, ..
        } => {
            let instance = instance.map(|id| format!("${}", id.name()));
            let module = module.map(|id| format!("${}", id.name()));
            *text = format!(
                "module instance {} {}",
                instance.as_deref().unwrap_or("-"),
                module.as_deref().unwrap_or("-")
            );
            Ok(Cmd::Instance { instance, module })
        }
        WastDirective::Register { name, module, .. } => {
            let module = module.map(|id| format!("${}", id.name()));
            *text = format!(
                "register {name:?}{}",
                module
                    .as_deref()
                    .map(|m| format!(" {m}"))
                    .unwrap_or_default()
            );
            Ok(Cmd::Register {
                name: name.to_string(),
                module,
            })
        }
        WastDirective::Invoke(i) => {
            *text = invoke_head(&i);
            let a = lower_invoke(&i)?;
            *text = a.to_string();
            Ok(Cmd::Action(a))
        }
        WastDirective::AssertReturn { exec, results, .. } => {
            *text = format!("assert_return {}", exec_head(&exec));
            let exec = lower_exec(exec)?;
            let results: Vec<ValuePattern> =
                results.iter().map(lower_ret).collect::<Result<_, _>>()?;
            match exec {
                Exec::Action(action) => {
                    *text = format!("assert_return {action}");
                    Ok(Cmd::AssertReturn { action, results })
                }
                Exec::Module(wasm) => {
                    *text = "assert_return module".into();
                    if results.is_empty() {
                        Ok(Cmd::AssertReturnModule { wasm })
                    } else {
                        Err(skip_why("assert_return on a module with results", ""))
                    }
                }
            }
        }
        WastDirective::AssertTrap { exec, message, .. } => {
            *text = format!("assert_trap {} {message:?}", exec_head(&exec));
            let trap = trap_for(message)?;
            match lower_exec(exec)? {
                Exec::Action(action) => {
                    *text = format!("assert_trap {action}");
                    Ok(Cmd::AssertTrap {
                        action,
                        trap,
                        message: message.into(),
                    })
                }
                Exec::Module(wasm) => {
                    *text = "assert_trap module".into();
                    Ok(Cmd::AssertModuleTrap {
                        wasm,
                        trap,
                        message: message.into(),
                    })
                }
            }
        }
        WastDirective::AssertExhaustion { call, message, .. } => {
            *text = format!("assert_exhaustion {}", invoke_head(&call));
            let trap = trap_for(message)?;
            let action = lower_invoke(&call)?;
            *text = format!("assert_exhaustion {action}");
            Ok(Cmd::AssertTrap {
                action,
                trap,
                message: message.into(),
            })
        }
        WastDirective::AssertInvalid {
            module, message, ..
        } => {
            *text = format!("assert_invalid {message:?}");
            Ok(Cmd::AssertInvalid {
                wasm: encode_quote(module)?,
                message: message.into(),
            })
        }
        WastDirective::AssertMalformed {
            module, message, ..
        } => {
            *text = format!("assert_malformed {message:?}");
            Ok(Cmd::AssertMalformed {
                wasm: encode_quote(module)?,
                message: message.into(),
            })
        }
        WastDirective::AssertUnlinkable {
            module, message, ..
        } => {
            *text = format!("assert_unlinkable {message:?}");
            Ok(Cmd::AssertUnlinkable {
                wasm: encode_wat(module)?,
                message: message.into(),
            })
        }
        WastDirective::AssertInvalidCustom { message, .. } => {
            *text = format!("assert_invalid_custom {message:?}");
            Err(skip_why("custom-section assertions are not supported", ""))
        }
        WastDirective::AssertMalformedCustom { message, .. } => {
            *text = format!("assert_malformed_custom {message:?}");
            Err(skip_why("custom-section assertions are not supported", ""))
        }
        WastDirective::AssertException { .. } => {
            *text = "assert_exception".into();
            Err(skip_why("exceptions are not supported", ""))
        }
        WastDirective::AssertSuspension { .. } => {
            *text = "assert_suspension".into();
            Err(skip_why("stack switching is not supported", ""))
        }
        WastDirective::Thread(_) => {
            *text = "thread".into();
            Err(skip_why("threads are not supported", ""))
        }
        WastDirective::Wait { .. } => {
            *text = "wait".into();
            Err(skip_why("threads are not supported", ""))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Running.

/// How one directive went.
enum Verdict {
    Pass,
    Fail { expected: String, actual: String },
    Skip(SkipWhy),
}

fn fail(expected: impl Into<String>, actual: impl Into<String>) -> Verdict {
    Verdict::Fail {
        expected: expected.into(),
        actual: actual.into(),
    }
}

/// A module name's or the current module's state.
#[derive(Clone, Debug)]
enum Slot {
    Ready(InstanceId),
    /// Not instantiated: the skip reason for directives that use it, and the detail.
    Missing(SkipWhy),
    /// A `module definition`: encoded, not instantiated.
    Defined(Vec<u8>),
}

/// When an instantiation error means "this runtime cannot check it" rather than a
/// failure: `(reason, detail)`.
fn unsupported_error(e: &InstanceError) -> Option<SkipWhy> {
    match e {
        InstanceError::Unsupported(m) => Some(skip_why(
            &format!("the runtime cannot do this: {}", m.trim()),
            "",
        )),
        InstanceError::Module(me) => {
            let text = me.to_string();
            match me {
                ModuleError::Wasm(WasmError::Unsupported { message, .. }) => Some(skip_why(
                    &format!("the Wasm front end does not support it: {message}"),
                    text,
                )),
                ModuleError::Codegen {
                    error:
                        error @ (CodegenError::Unsupported { .. }
                        | CodegenError::UnsupportedSignature(_)
                        | CodegenError::SimdDisabled(_)),
                    ..
                } => Some(skip_why(
                    &format!("the backend does not support it: {error}"),
                    text,
                )),
                _ => None,
            }
        }
        _ => None,
    }
}

/// One engine running one script.
struct Runner {
    store: Store,
    named: HashMap<String, Slot>,
    current: Option<Slot>,
    /// Registered names whose module was not instantiated, and why.
    missing_registered: HashMap<String, SkipWhy>,
}

impl Runner {
    fn lookup(&self, module: Option<&str>) -> Option<Slot> {
        match module {
            None => self.current.clone(),
            Some(m) => self.named.get(m).cloned(),
        }
    }

    /// The instance an action runs on, or the verdict when there is none.
    fn instance_for(&self, module: Option<&str>) -> Result<InstanceId, Verdict> {
        match self.lookup(module) {
            Some(Slot::Ready(id)) => Ok(id),
            Some(Slot::Missing(why)) => Err(Verdict::Skip(why)),
            Some(Slot::Defined(_)) => Err(fail(
                "an instantiated module",
                format!(
                    "{} is only a module definition",
                    module.unwrap_or("the module")
                ),
            )),
            None => Err(fail(
                "a module to run it on",
                match module {
                    Some(m) => format!("no module named {m}"),
                    None => "no module defined yet".into(),
                },
            )),
        }
    }

    fn act(&mut self, a: &Action) -> Result<Outcome, Verdict> {
        let id = self.instance_for(a.module())?;
        Ok(match a {
            Action::Invoke { name, args, .. } => self.store.invoke(id, name, args),
            Action::Get { global, .. } => match self.store.global(id, global) {
                Some(v) => Outcome::Returned(vec![v]),
                None => Outcome::Error(format!("no exported global `{global}`")),
            },
        })
    }

    /// The skip for an instantiation error that this runtime cannot judge: unsupported, or
    /// an unknown import from a registered name whose module was not instantiated.
    fn skip_for_error(&self, e: &InstanceError) -> Option<SkipWhy> {
        if let Some(why) = unsupported_error(e) {
            return Some(why);
        }
        if let InstanceError::Unlinkable(m) = e {
            for (name, why) in &self.missing_registered {
                if m.contains(&format!(" {name}.")) {
                    return Some(why.clone());
                }
            }
        }
        None
    }

    fn encoded(wasm: &Encoded) -> Result<&[u8], Verdict> {
        wasm.as_deref().map_err(|e| {
            fail(
                "a module the wast crate encodes",
                format!("encoding failed: {e}"),
            )
        })
    }

    /// Instantiate a module directive's module; the verdict and the module's slot.
    fn instantiate(&mut self, wasm: &[u8], line: usize) -> (Verdict, Slot) {
        match self.store.instantiate(wasm) {
            Ok(id) => (Verdict::Pass, Slot::Ready(id)),
            Err(e) => match self.skip_for_error(&e) {
                Some(why) => {
                    let slot = Slot::Missing((
                        format!("module not instantiated: {}", why.0),
                        format!("the module at line {line}"),
                    ));
                    (Verdict::Skip(why), slot)
                }
                None => (
                    fail("the module instantiates", e.to_string()),
                    Slot::Missing((
                        "module not instantiated: it failed".into(),
                        format!("the module at line {line} failed: {e}"),
                    )),
                ),
            },
        }
    }

    fn set_module(&mut self, id: Option<&String>, slot: Slot) {
        if let Some(id) = id {
            self.named.insert(id.clone(), slot.clone());
        }
        self.current = Some(slot);
    }

    /// `assert_invalid` / `assert_malformed`: the module must be rejected by decoding or
    /// validation.
    fn expect_rejected(&mut self, wasm: &[u8], what: &str, message: &str) -> Verdict {
        let expected = format!("{what} ({message:?})");
        match self.store.instantiate(wasm) {
            Ok(_) => fail(expected, "the module was accepted and instantiated"),
            Err(InstanceError::Module(me)) => {
                let text = me.to_string();
                match me {
                    // Rejected by decoding or validation. A feature beyond Wasm 2.0 is
                    // rejected too, as the 2.0 suite expects.
                    ModuleError::Wasm(_) => Verdict::Pass,
                    _ => fail(expected, format!("validation accepted it: {text}")),
                }
            }
            Err(e) => fail(expected, format!("validation accepted it: {e}")),
        }
    }

    fn run(&mut self, d: &Directive) -> Verdict {
        match &d.cmd {
            Cmd::Skip { reason, detail } => Verdict::Skip((reason.clone(), detail.clone())),
            Cmd::Module { id, wasm } => {
                let (verdict, slot) = match Self::encoded(wasm) {
                    Ok(bytes) => self.instantiate(bytes, d.line),
                    Err(v) => (
                        v,
                        Slot::Missing((
                            "module not instantiated: it failed".into(),
                            format!("the module at line {} could not be encoded", d.line),
                        )),
                    ),
                };
                self.set_module(id.as_ref(), slot);
                verdict
            }
            Cmd::Definition { id, wasm } => match wasm {
                Ok(bytes) => {
                    let slot = Slot::Defined(bytes.clone());
                    if let Some(id) = id {
                        self.named.insert(id.clone(), slot);
                    }
                    Verdict::Skip(skip_why(
                        "module definitions are checked only when instantiated",
                        "",
                    ))
                }
                Err(e) => fail(
                    "a module the wast crate encodes",
                    format!("encoding failed: {e}"),
                ),
            },
            Cmd::Instance { instance, module } => match self.lookup(module.as_deref()) {
                Some(Slot::Defined(bytes)) => {
                    let (verdict, slot) = self.instantiate(&bytes, d.line);
                    self.set_module(instance.as_ref(), slot);
                    verdict
                }
                Some(Slot::Missing(why)) => Verdict::Skip(why),
                _ => fail("a module definition", "none by that name"),
            },
            Cmd::Register { name, module } => match self.instance_for(module.as_deref()) {
                Ok(id) => {
                    self.store.register(name, id);
                    self.missing_registered.remove(name);
                    Verdict::Pass
                }
                Err(v) => {
                    if let Verdict::Skip(why) = &v {
                        self.missing_registered.insert(name.clone(), why.clone());
                    }
                    v
                }
            },
            Cmd::Action(a) => match self.act(a) {
                Ok(Outcome::Returned(_)) => Verdict::Pass,
                Ok(o) => fail("a normal return", describe_outcome(&o)),
                Err(v) => v,
            },
            Cmd::AssertReturn { action, results } => match self.act(action) {
                Ok(Outcome::Returned(vs))
                    if vs.len() == results.len()
                        && results.iter().zip(&vs).all(|(p, v)| p.matches(v)) =>
                {
                    Verdict::Pass
                }
                Ok(o) => {
                    let expected = if results.is_empty() {
                        "returned nothing".to_string()
                    } else {
                        let ps: Vec<_> = results.iter().map(|p| p.to_string()).collect();
                        format!("returned {}", ps.join(", "))
                    };
                    fail(expected, describe_outcome(&o))
                }
                Err(v) => v,
            },
            Cmd::AssertReturnModule { wasm } => match Self::encoded(wasm) {
                Ok(bytes) => self.instantiate(bytes, d.line).0,
                Err(v) => v,
            },
            Cmd::AssertTrap {
                action,
                trap,
                message,
            } => match self.act(action) {
                Ok(Outcome::Trapped(c)) if c == *trap => Verdict::Pass,
                Ok(o) => fail(format!("trap {trap} ({message:?})"), describe_outcome(&o)),
                Err(v) => v,
            },
            Cmd::AssertModuleTrap {
                wasm,
                trap,
                message,
            } => {
                let bytes = match Self::encoded(wasm) {
                    Ok(b) => b,
                    Err(v) => return v,
                };
                let expected = format!("instantiation traps {trap} ({message:?})");
                match self.store.instantiate(bytes) {
                    Err(InstanceError::Trap(Outcome::Trapped(c))) if c == *trap => Verdict::Pass,
                    Err(e) => match self.skip_for_error(&e) {
                        Some(why) => Verdict::Skip(why),
                        None => fail(expected, e.to_string()),
                    },
                    Ok(_) => fail(expected, "instantiated"),
                }
            }
            Cmd::AssertInvalid { wasm, message } => match wasm {
                Ok(bytes) => self.expect_rejected(bytes, "invalid", message),
                Err(e) => Verdict::Skip(skip_why(
                    "the wast crate cannot encode this invalid module",
                    e.clone(),
                )),
            },
            Cmd::AssertMalformed { wasm, message } => match wasm {
                Ok(bytes) => self.expect_rejected(bytes, "malformed", message),
                // Text that does not parse is malformed.
                Err(_) => Verdict::Pass,
            },
            Cmd::AssertUnlinkable { wasm, message } => {
                let bytes = match Self::encoded(wasm) {
                    Ok(b) => b,
                    Err(v) => return v,
                };
                let expected = format!("unlinkable ({message:?})");
                match self.store.instantiate(bytes) {
                    Err(InstanceError::Unlinkable(_)) => Verdict::Pass,
                    Err(e) => match unsupported_error(&e) {
                        Some(why) => Verdict::Skip(why),
                        None => fail(expected, e.to_string()),
                    },
                    Ok(_) => fail(expected, "instantiated"),
                }
            }
        }
    }
}

/// Run a lowered script on one engine in a fresh store.
pub fn run_engine(script: &Script, engine: EngineKind, opts: &WastOptions) -> EngineReport {
    let mut report = EngineReport {
        engine,
        passed: 0,
        failures: Vec::new(),
        skips: Vec::new(),
    };
    let file = &script.path;
    let store = match catch_unwind(AssertUnwindSafe(|| Store::new(engine, &opts.settings))) {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            if let Some(why) = unsupported_error(&e) {
                for d in &script.directives {
                    report.skips.push(Skip {
                        file: file.clone(),
                        line: d.line,
                        engine,
                        directive: d.text.clone(),
                        reason: why.0.clone(),
                        detail: why.1.clone(),
                    });
                }
            } else {
                report.failures.push(Failure {
                    file: file.clone(),
                    line: 0,
                    engine: Some(engine),
                    directive: "(store)".into(),
                    expected: "a new store".into(),
                    actual: e.to_string(),
                });
            }
            return report;
        }
        Err(p) => {
            report.failures.push(Failure {
                file: file.clone(),
                line: 0,
                engine: Some(engine),
                directive: "(store)".into(),
                expected: "a new store".into(),
                actual: format!("panic: {}", crate::diff::panic_message(p.as_ref())),
            });
            return report;
        }
    };
    let mut runner = Runner {
        store,
        named: HashMap::new(),
        current: None,
        missing_registered: HashMap::new(),
    };
    runner.store.set_fuel(opts.fuel);
    for d in &script.directives {
        let verdict = catch_unwind(AssertUnwindSafe(|| runner.run(d))).unwrap_or_else(|p| {
            fail(
                "no panic",
                format!("panic: {}", crate::diff::panic_message(p.as_ref())),
            )
        });
        match verdict {
            Verdict::Pass => report.passed += 1,
            Verdict::Fail { expected, actual } => report.failures.push(Failure {
                file: file.clone(),
                line: d.line,
                engine: Some(engine),
                directive: d.text.clone(),
                expected,
                actual,
            }),
            Verdict::Skip((reason, detail)) => report.skips.push(Skip {
                file: file.clone(),
                line: d.line,
                engine,
                directive: d.text.clone(),
                reason,
                detail,
            }),
        }
    }
    report
}

/// Stack size of the threads that parse a script and run an engine: deep recursion
/// (`assert_exhaustion`, deeply nested blocks) must not overflow the host stack, whatever
/// thread calls [`run_script`]. Only touched pages cost memory.
const WORKER_STACK: usize = 256 << 20;

/// A failure for an engine whose thread died.
fn engine_thread_failure(path: &Path, engine: EngineKind, why: String) -> EngineReport {
    EngineReport {
        engine,
        passed: 0,
        failures: vec![Failure {
            file: path.to_path_buf(),
            line: 0,
            engine: Some(engine),
            directive: "(engine thread)".into(),
            expected: "the script runs to its end".into(),
            actual: why,
        }],
        skips: Vec::new(),
    }
}

/// Parse `path` and run it on every engine of `opts`: each engine on a thread of its own
/// (with a large stack) in a fresh store, the engines in parallel.
pub fn run_script(path: &Path, opts: &WastOptions) -> ScriptReport {
    let loaded = std::thread::scope(|s| {
        match std::thread::Builder::new()
            .name("kiln-wast-parse".into())
            .stack_size(WORKER_STACK)
            .spawn_scoped(s, || load_script(path))
        {
            Ok(h) => h.join().unwrap_or_else(|p| {
                Err(Failure {
                    file: path.to_path_buf(),
                    line: 0,
                    engine: None,
                    directive: "script".into(),
                    expected: "a script that parses".into(),
                    actual: format!("panic: {}", crate::diff::panic_message(p.as_ref())),
                })
            }),
            Err(_) => load_script(path),
        }
    });
    let script = match loaded {
        Ok(s) => s,
        Err(f) => {
            return ScriptReport {
                path: path.to_path_buf(),
                engines: Vec::new(),
                script_failures: vec![f],
            }
        }
    };
    let script = &script;
    let engines = std::thread::scope(|s| {
        let handles: Vec<_> = opts
            .engines
            .iter()
            .map(|&e| {
                let h = std::thread::Builder::new()
                    .name(format!("kiln-wast-{e}"))
                    .stack_size(WORKER_STACK)
                    .spawn_scoped(s, move || run_engine(script, e, opts));
                (e, h)
            })
            .collect();
        handles
            .into_iter()
            .map(|(e, h)| match h {
                Ok(h) => h.join().unwrap_or_else(|p| {
                    let why = format!("panic: {}", crate::diff::panic_message(p.as_ref()));
                    engine_thread_failure(path, e, why)
                }),
                // No thread: run here.
                Err(_) => run_engine(script, e, opts),
            })
            .collect()
    });
    ScriptReport {
        path: path.to_path_buf(),
        engines,
        script_failures: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_nan_is_the_quiet_bit_only_with_either_sign() {
        let k = NanKind::Canonical;
        assert!(k.matches_f32(0x7fc0_0000));
        assert!(k.matches_f32(0xffc0_0000));
        assert!(!k.matches_f32(0x7fc0_0001)); // extra payload
        assert!(!k.matches_f32(0x7fa0_0000)); // signalling
        assert!(!k.matches_f32(0x7f80_0000)); // infinity
        assert!(!k.matches_f32(0x3fc0_0000)); // a number
        assert!(k.matches_f64(0x7ff8_0000_0000_0000));
        assert!(k.matches_f64(0xfff8_0000_0000_0000));
        assert!(!k.matches_f64(0x7ff8_0000_0000_0001));
        assert!(!k.matches_f64(0x7ff4_0000_0000_0000));
        assert!(!k.matches_f64(0x7ff0_0000_0000_0000));
    }

    #[test]
    fn arithmetic_nan_needs_the_quiet_bit() {
        let k = NanKind::Arithmetic;
        assert!(k.matches_f32(0x7fc0_0000));
        assert!(k.matches_f32(0xffc0_0001));
        assert!(k.matches_f32(0x7fff_ffff));
        assert!(!k.matches_f32(0x7fbf_ffff)); // signalling
        assert!(!k.matches_f32(0xff80_0000)); // -infinity
        assert!(!k.matches_f32(0x00c0_0000));
        assert!(k.matches_f64(0xfff8_0000_0000_0001));
        assert!(k.matches_f64(0x7fff_ffff_ffff_ffff));
        assert!(!k.matches_f64(0x7ff7_ffff_ffff_ffff));
        assert!(!k.matches_f64(0x0008_0000_0000_0000));
    }

    #[test]
    fn patterns_match_values() {
        let canon = ValuePattern::F32Nan(NanKind::Canonical);
        assert!(canon.matches(&DataValue::F32(0xffc0_0000)));
        assert!(!canon.matches(&DataValue::F64(0x7ff8_0000_0000_0000))); // wrong type
        let exact = ValuePattern::Exact(DataValue::F32(0x8000_0000));
        assert!(exact.matches(&DataValue::F32(0x8000_0000)));
        assert!(!exact.matches(&DataValue::F32(0))); // floats compare by bits
        assert!(!ValuePattern::Exact(DataValue::I32(1)).matches(&DataValue::I64(1)));
        assert!(ValuePattern::RefNull.matches(&DataValue::I64(0)));
        assert!(!ValuePattern::RefNull.matches(&DataValue::I64(8)));
        assert!(ValuePattern::RefExtern(0).matches(&DataValue::I64(1)));
        assert!(!ValuePattern::RefExtern(0).matches(&DataValue::I64(0)));
        assert!(ValuePattern::NonNullRef("ref.func").matches(&DataValue::I64(0x1234)));
        assert!(!ValuePattern::NonNullRef("ref.func").matches(&DataValue::I64(0)));
        let either = ValuePattern::Either(vec![
            ValuePattern::Exact(DataValue::I32(1)),
            ValuePattern::Exact(DataValue::I32(2)),
        ]);
        assert!(either.matches(&DataValue::I32(2)));
        assert!(!either.matches(&DataValue::I32(3)));
        assert_eq!(either.to_string(), "either(i32 1 | i32 2)");
        assert_eq!(canon.to_string(), "f32 nan:canonical");
    }

    #[test]
    fn trap_messages_map_to_codes() {
        let cases = [
            ("unreachable", TrapCode::Unreachable),
            ("unreachable executed", TrapCode::Unreachable),
            ("integer divide by zero", TrapCode::IntegerDivisionByZero),
            ("integer overflow", TrapCode::IntegerOverflow),
            (
                "invalid conversion to integer",
                TrapCode::BadConversionToInteger,
            ),
            ("out of bounds memory access", TrapCode::HeapOutOfBounds),
            ("out of bounds table access", TrapCode::TableOutOfBounds),
            ("undefined element", TrapCode::TableOutOfBounds),
            ("uninitialized element", TrapCode::IndirectCallToNull),
            ("uninitialized element 2", TrapCode::IndirectCallToNull),
            ("uninitialized", TrapCode::IndirectCallToNull),
            ("indirect call type mismatch", TrapCode::BadSignature),
            ("call stack exhausted", TrapCode::StackOverflow),
        ];
        for (m, c) in cases {
            assert_eq!(trap_code_for_message(m), Some(c), "{m}");
        }
        assert_eq!(trap_code_for_message("something else"), None);
    }

    #[test]
    fn lines_agree_with_wast_spans() {
        let src = "(module)\n\n(assert_return (invoke \"f\"))\r\n  (invoke \"g\")\n";
        let lines = Lines::new(src);
        for offset in 0..src.len() {
            let span = Span::from_offset(offset);
            assert_eq!(lines.line(span), span.linecol_in(src).0 + 1, "{offset}");
        }
    }

    fn script_of(src: &str) -> Script {
        let dir = std::env::temp_dir().join(format!("kiln-wast-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("s{}.wast", src.len()));
        std::fs::write(&path, src).unwrap();
        let s = load_script(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        s
    }

    #[test]
    fn lowering_skips_what_cannot_be_checked() {
        let s = script_of(
            "(module (func (export \"f\") (result i32) (i32.const 1)))\n\
             (assert_return (invoke \"f\") (i32.const 1))\n\
             (assert_return (invoke \"g\" (v128.const i32x4 0 0 0 0)))\n\
             (assert_trap (invoke \"f\") \"no such trap\")\n\
             (assert_malformed (module quote \"(func\") \"unclosed\")\n",
        );
        assert_eq!(s.len(), 5);
        let lines: Vec<_> = s.directives.iter().map(|d| d.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5]);
        assert!(matches!(
            s.directives[0].cmd,
            Cmd::Module { wasm: Ok(_), .. }
        ));
        assert!(matches!(s.directives[1].cmd, Cmd::AssertReturn { .. }));
        assert!(matches!(&s.directives[2].cmd, Cmd::AssertReturn { .. }));
        assert!(
            matches!(&s.directives[3].cmd, Cmd::Skip { reason, .. } if reason == "unknown trap message")
        );
        assert!(matches!(
            s.directives[4].cmd,
            Cmd::AssertMalformed { wasm: Err(_), .. }
        ));
        assert_eq!(s.directives[1].text, "assert_return invoke \"f\" ()");
    }

    #[test]
    fn a_script_that_does_not_parse_is_one_failure() {
        let dir = std::env::temp_dir().join(format!("kiln-wast-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.wast");
        std::fs::write(&path, "(module)\n(assert_return (invoke \"f\")\n").unwrap();
        let r = run_script(&path, &WastOptions::default());
        let _ = std::fs::remove_file(&path);
        assert_eq!((r.passed(), r.failed(), r.skipped()), (0, 1, 0));
        let f = &r.script_failures[0];
        assert!(f.engine.is_none());
        assert!(f.actual.contains("parse error"), "{}", f.actual);
    }
}
