//! `.kir` test files: functions plus the run directives and heaps declared in comments.
//!
//! Directive syntax (full reference in `docs/kir.md`):
//!
//! ```text
//! ; heap: h0 size=64 data=01020304
//! ; run: %f(1, h0+8) == 3, 4
//! ; run: %f(0) traps int_divz
//! ; run: %g(5)
//! ; engine-settings: cpu=x86_64-v3 regalloc=single_pass
//! ```
//!
//! `; engine-settings:` (at most one per file) records the compiler settings a file must
//! run with (a saved differential case records its compiler variation this way): every
//! runner uses exactly these settings for the file's compiled engines, instead of its own.
//!
//! Owns the data and parsing of test files only. Engines (the `engine` module) take a
//! [`TestFile`], and the runner that executes its directives on them (`filetest_runner`)
//! sits above both; this module depends on neither, only on values and on the settings
//! data of [`crate::engine_settings`].
//!
//! Invariants of a loaded [`TestFile`]: every function passed the verifier; every run
//! directive names a function of the file, its arguments match that function's parameter
//! types (heap addresses are `i64`), and its expected results match the return types.
//! Heap `hN` is `heaps[N]`, and heaps are numbered densely from `h0`.

use crate::engine_settings::EngineSettings;
use crate::value::DataValue;
use kiln::ir::text::{self, literals};
use kiln::ir::{verify_function, Function, TrapCode, Type, UserExternalName, UserFuncName};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where heap `hN` lives in every engine's address space: `HEAP_BASE + N * HEAP_STRIDE`.
/// All engines map heaps at these addresses so that a run's arguments are identical.
pub const HEAP_BASE: u64 = 0x10_0000_0000;
/// Distance between consecutive heaps (also the largest heap size).
pub const HEAP_STRIDE: u64 = 0x1_0000_0000;
/// Largest heap a directive may declare (16 MiB keeps tests fast).
pub const MAX_HEAP_SIZE: u64 = 16 << 20;

/// A problem in a test file, with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{col}: {message}")]
pub struct FileError {
    /// The file.
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
    /// What is wrong.
    pub message: String,
}

/// A memory region declared with `; heap:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeapDecl {
    /// Size in bytes.
    pub size: u64,
    /// Initial contents (the rest is zero).
    pub data: Vec<u8>,
}

impl HeapDecl {
    /// The base address of heap number `index`.
    pub fn base(index: usize) -> u64 {
        HEAP_BASE + index as u64 * HEAP_STRIDE
    }

    /// The heap's initial bytes (`size` long).
    pub fn initial_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![0u8; self.size as usize];
        bytes[..self.data.len()].copy_from_slice(&self.data);
        bytes
    }
}

/// One expected result value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedValue {
    /// The value; for lanes in `any_nan_lanes` only "is a NaN" matters.
    pub value: DataValue,
    /// Bit `i` set: lane `i` (lane 0 for scalars) was written `nan`/`-nan` and matches any
    /// NaN.
    pub any_nan_lanes: u16,
}

impl ExpectedValue {
    /// Does `actual` satisfy this expectation? Types must be equal; bits must be equal,
    /// except in any-NaN lanes, where any NaN matches.
    pub fn matches(&self, actual: &DataValue) -> bool {
        if self.any_nan_lanes == 0 {
            return self.value.bits_equal(actual);
        }
        let ty = self.value.ty();
        ty == actual.ty()
            && (0..ty.lane_count()).all(|i| {
                let (e, a) = (self.value.lane(i), actual.lane(i));
                if self.any_nan_lanes & (1 << i) != 0 {
                    a.is_some_and(|a| a.is_nan())
                } else {
                    e.zip(a).is_some_and(|(e, a)| e.bits_equal(&a))
                }
            })
    }
}

impl fmt::Display for ExpectedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)
    }
}

/// What a run directive expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// A normal return with these values (possibly none).
    Returns(Vec<ExpectedValue>),
    /// A trap with this code.
    Traps(TrapCode),
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expectation::Returns(vs) => crate::outcome::write_returned(f, vs),
            Expectation::Traps(c) => write!(f, "trapped {c}"),
        }
    }
}

/// An argument of a run directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// A literal.
    Value(DataValue),
    /// The address of heap `heap` plus `offset`.
    HeapAddr {
        /// Heap number.
        heap: usize,
        /// Byte offset.
        offset: u64,
    },
}

impl Arg {
    /// The concrete argument value (heap addresses resolved with [`HeapDecl::base`]).
    pub fn resolve(&self) -> DataValue {
        match *self {
            Arg::Value(v) => v,
            Arg::HeapAddr { heap, offset } => {
                DataValue::I64(HeapDecl::base(heap).wrapping_add(offset) as i64)
            }
        }
    }
}

/// One `; run:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDirective {
    /// 1-based line of the directive.
    pub line: u32,
    /// The directive as written (after `run:`), for reports.
    pub text: String,
    /// Index into [`TestFile::functions`].
    pub func_index: usize,
    /// Arguments.
    pub args: Vec<Arg>,
    /// Expected outcome.
    pub expect: Expectation,
}

/// A parsed and verified test file.
#[derive(Debug, Clone)]
pub struct TestFile {
    /// Where it came from (for messages).
    pub path: PathBuf,
    /// Its functions, in file order.
    pub functions: Vec<Function>,
    /// Heaps `h0, h1, ...`.
    pub heaps: Vec<HeapDecl>,
    /// Run directives in file order.
    pub runs: Vec<RunDirective>,
    /// The file's own compiler settings (`; engine-settings:`), which replace the runner's
    /// CPU preset and settings for this file.
    pub engine_settings: Option<EngineSettings>,
}

impl TestFile {
    /// Read, parse and verify a file.
    pub fn load(path: &Path) -> Result<TestFile, FileError> {
        let src = std::fs::read_to_string(path).map_err(|e| FileError {
            path: path.display().to_string(),
            line: 0,
            col: 0,
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(path, &src)
    }

    /// Parse and verify `src`, reporting errors against `path`.
    pub fn parse(path: &Path, src: &str) -> Result<TestFile, FileError> {
        let p = path.display().to_string();
        let err = |line: u32, col: u32, message: String| FileError {
            path: p.clone(),
            line,
            col,
            message,
        };
        let parsed = text::parse_file(src).map_err(|e| err(e.line, e.col, e.message))?;
        for (i, f) in parsed.functions.iter().enumerate() {
            if let Err(errors) = verify_function(f) {
                let line = parsed.spans.get(i).map_or(0, |s| s.first_line);
                let list: Vec<String> = errors.0.iter().map(|e| format!("\n    {e}")).collect();
                return Err(err(
                    line,
                    1,
                    format!(
                        "function {} fails verification ({} error(s)):{}",
                        f.params.name,
                        errors.0.len(),
                        list.concat()
                    ),
                ));
            }
        }
        let mut file = TestFile {
            path: path.to_path_buf(),
            functions: parsed.functions,
            heaps: Vec::new(),
            runs: Vec::new(),
            engine_settings: None,
        };
        // Heaps first: run lines may precede the heap declarations they use.
        let mut heap_lines = Vec::new();
        for c in &parsed.comments {
            let body = c.text.trim_start();
            let col = c.col + 1 + (c.text.len() - body.len()) as u32;
            if let Some(rest) = body.strip_prefix("heap:") {
                let h = parse_heap(rest).map_err(|m| err(c.line, col, m))?;
                heap_lines.push(h);
            }
        }
        heap_lines.sort_by_key(|(n, _)| *n);
        for (i, (n, decl)) in heap_lines.into_iter().enumerate() {
            if n != i {
                return Err(err(0, 0, format!("heaps must be numbered h0, h1, ... without gaps or repeats; expected h{i}, found h{n}")));
            }
            file.heaps.push(decl);
        }
        for c in &parsed.comments {
            let body = c.text.trim_start();
            let col = c.col + 1 + (c.text.len() - body.len()) as u32;
            if let Some(rest) = body.strip_prefix("engine-settings:") {
                if file.engine_settings.is_some() {
                    return Err(err(
                        c.line,
                        col,
                        "more than one `engine-settings:` directive".into(),
                    ));
                }
                let s = parse_engine_settings(rest).map_err(|m| err(c.line, col, m))?;
                file.engine_settings = Some(s);
            }
            if let Some(rest) = body.strip_prefix("run:") {
                let run = parse_run(&file, c.line, rest).map_err(|m| err(c.line, col, m))?;
                file.runs.push(run);
            }
        }
        Ok(file)
    }

    /// The index of the function called `name` (`%name` or `u0:1`).
    pub fn find_function(&self, name: &str) -> Option<usize> {
        let wanted = parse_func_name(name)?;
        self.functions.iter().position(|f| f.params.name == wanted)
    }
}

fn parse_func_name(s: &str) -> Option<UserFuncName> {
    if let Some(n) = s.strip_prefix('%') {
        return UserFuncName::is_valid_testcase_name(n).then(|| UserFuncName::testcase(n));
    }
    let (ns, idx) = s.strip_prefix('u')?.split_once(':')?;
    Some(UserFuncName::User(UserExternalName::new(
        ns.parse().ok()?,
        idx.parse().ok()?,
    )))
}

/// An argument in directive syntax: addresses inside heap `h0` as `h0+K`.
pub fn format_arg(v: &DataValue, heap: Option<&HeapDecl>) -> String {
    if let (DataValue::I64(x), Some(h)) = (v, heap) {
        let base = HeapDecl::base(0);
        let off = (*x as u64).wrapping_sub(base);
        if (*x as u64) >= base && off <= h.size {
            return if off == 0 {
                "h0".to_string()
            } else {
                format!("h0+{off}")
            };
        }
    }
    v.to_string()
}

/// An expected result in directive syntax: NaNs as `nan` (any NaN) unless `exact_nans`.
pub fn format_expected(v: &DataValue, exact_nans: bool) -> String {
    if exact_nans {
        return v.to_string();
    }
    let ty = v.ty();
    if ty.is_vector() && ty.lane_type().is_float() {
        let lanes: Vec<String> = (0..ty.lane_count())
            .map(|i| match v.lane(i) {
                Some(l) if l.is_nan() => "nan".to_string(),
                Some(l) => l.to_string(),
                None => "?".to_string(),
            })
            .collect();
        return format!("[{}]", lanes.join(" "));
    }
    if (ty == Type::F32 || ty == Type::F64) && v.is_nan() {
        return "nan".to_string();
    }
    v.to_string()
}

/// `cpu=P name=value ...`: the `; engine-settings:` body of `s` (the inverse of
/// [`parse_engine_settings`]).
pub fn settings_directive(s: &EngineSettings) -> String {
    let mut words: Vec<String> = Vec::with_capacity(s.settings.len() + 1);
    if let Some(cpu) = &s.cpu {
        words.push(format!("cpu={cpu}"));
    }
    words.extend(s.settings.iter().map(|(n, v)| format!("{n}={v}")));
    if s.link_padding != 0 {
        words.push(format!("link_padding={}", s.link_padding));
    }
    words.join(" ")
}

/// `cpu=x86_64-v3 regalloc=single_pass has_popcnt=true`: a CPU preset and named settings,
/// each name and value checked against Kiln's setting tables, and optionally
/// `link_padding=BYTES` (test-only link padding between functions, see
/// [`EngineSettings::link_padding`]).
pub fn parse_engine_settings(rest: &str) -> Result<EngineSettings, String> {
    let mut out = EngineSettings::default();
    for word in strip_trailing_comment(rest).split_whitespace() {
        let (name, value) = EngineSettings::parse_assignment(word)?;
        if name == "cpu" {
            if kiln::settings::isa::preset_archs(&value).next().is_none() {
                return Err(format!("unknown CPU preset `{value}` in engine-settings"));
            }
            out.cpu = Some(value);
            continue;
        }
        if name == "link_padding" {
            out.link_padding = value.parse().map_err(|_| {
                format!("bad value `{value}` for `link_padding` in engine-settings (expected a byte count)")
            })?;
            continue;
        }
        let info = kiln::settings::find_setting(&name)
            .ok_or_else(|| format!("unknown setting `{name}` in engine-settings"))?;
        if !info.kind.values().contains(&value.as_str()) {
            return Err(format!(
                "bad value `{value}` for `{name}` in engine-settings (expected one of: {})",
                info.kind.values().join(", ")
            ));
        }
        out.settings.push((name, value));
    }
    Ok(out)
}

/// `h3 size=64 data=0a0b` → (3, decl)
fn parse_heap(rest: &str) -> Result<(usize, HeapDecl), String> {
    let rest = strip_trailing_comment(rest);
    let mut words = rest.split_whitespace();
    let name = words
        .next()
        .ok_or("heap directive needs a name like `h0`")?;
    let n: usize = name
        .strip_prefix('h')
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| format!("bad heap name `{name}` (expected h0, h1, ...)"))?;
    let (mut size, mut data) = (None, Vec::new());
    for w in words {
        if let Some(v) = w.strip_prefix("size=") {
            let s = literals::parse_int(v, Type::I64)
                .ok()
                .filter(|&s| s > 0 && s as u64 <= MAX_HEAP_SIZE)
                .ok_or_else(|| format!("bad heap size `{v}` (1 to {MAX_HEAP_SIZE} bytes)"))?;
            size = Some(s as u64);
        } else if let Some(hex) = w.strip_prefix("data=") {
            data = parse_hex_bytes(hex)
                .ok_or_else(|| format!("bad heap data `{hex}` (an even number of hex digits)"))?;
        } else {
            return Err(format!(
                "unknown heap attribute `{w}` (expected size=N or data=HEX)"
            ));
        }
    }
    let size = size.ok_or("heap directive needs size=N")?;
    if data.len() as u64 > size {
        return Err(format!(
            "heap data is {} bytes but the heap is only {size}",
            data.len()
        ));
    }
    Ok((n, HeapDecl { size, data }))
}

fn parse_hex_bytes(s: &str) -> Option<Vec<u8>> {
    let s: Vec<u8> = s.bytes().filter(|&b| b != b'_').collect();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

/// Drop a trailing `; comment` from a directive body.
fn strip_trailing_comment(s: &str) -> &str {
    s.split(';').next().unwrap_or("").trim()
}

/// Split on commas that are not inside `[...]`.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim());
    out
}

fn parse_run(file: &TestFile, line: u32, rest: &str) -> Result<RunDirective, String> {
    let body = strip_trailing_comment(rest);
    let open = body
        .find('(')
        .ok_or("run directive needs a call like `%f(1, 2)`")?;
    let name = body[..open].trim();
    let func_index = file.find_function(name).ok_or_else(|| {
        format!("run directive calls `{name}`, which is not a function of this file")
    })?;
    let close = matching_paren(body, open).ok_or("unbalanced parentheses in run directive")?;
    let sig = &file.functions[func_index].signature;
    let arg_text = body[open + 1..close].trim();
    let arg_strs = if arg_text.is_empty() {
        Vec::new()
    } else {
        split_top_level(arg_text)
    };
    if arg_strs.len() != sig.params.len() {
        return Err(format!(
            "`{name}` takes {} argument(s) ({}), the directive passes {}",
            sig.params.len(),
            sig,
            arg_strs.len()
        ));
    }
    let args = arg_strs
        .iter()
        .zip(&sig.params)
        .map(|(s, &ty)| parse_arg(file, s, ty))
        .collect::<Result<Vec<_>, _>>()?;
    let tail = body[close + 1..].trim();
    let expect = if tail.is_empty() {
        if !sig.returns.is_empty() {
            return Err(format!(
                "`{name}` returns {} value(s); write `== <results>` or `traps <code>`",
                sig.returns.len()
            ));
        }
        Expectation::Returns(Vec::new())
    } else if let Some(code) = tail.strip_prefix("traps") {
        Expectation::Traps(code.trim().parse().map_err(|e| format!("{e}"))?)
    } else if let Some(results) = tail.strip_prefix("==") {
        let strs = split_top_level(results.trim());
        if strs.len() != sig.returns.len() || strs.iter().any(|s| s.is_empty()) {
            return Err(format!(
                "`{name}` returns {} value(s), the directive expects {}",
                sig.returns.len(),
                strs.len()
            ));
        }
        Expectation::Returns(
            strs.iter()
                .zip(&sig.returns)
                .map(|(s, &ty)| parse_expected(s, ty))
                .collect::<Result<_, _>>()?,
        )
    } else {
        return Err(format!(
            "expected `== <results>`, `traps <code>` or nothing after the call, found `{tail}`"
        ));
    };
    Ok(RunDirective {
        line,
        text: body.to_string(),
        func_index,
        args,
        expect,
    })
}

fn matching_paren(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_arg(file: &TestFile, s: &str, ty: Type) -> Result<Arg, String> {
    if let Some(h) = s.strip_prefix('h') {
        let (num, off) = match h.split_once('+') {
            Some((n, o)) => (n.trim(), Some(o.trim())),
            None => (h.trim(), None),
        };
        if let Ok(heap) = num.parse::<usize>() {
            if ty != Type::I64 {
                return Err(format!(
                    "heap address `{s}` passed for a {ty} parameter (must be i64)"
                ));
            }
            if heap >= file.heaps.len() {
                return Err(format!(
                    "heap `h{heap}` is not declared (use `; heap: h{heap} size=N`)"
                ));
            }
            let offset = match off {
                Some(o) => literals::parse_int(o, Type::I64)
                    .map_err(|e| format!("bad heap offset: {e}"))?
                    as u64,
                None => 0,
            };
            return Ok(Arg::HeapAddr { heap, offset });
        }
    }
    Ok(Arg::Value(parse_expected(s, ty)?.value))
}

/// Parse a literal of type `ty`, recording lanes written as `nan`/`-nan`.
fn parse_expected(s: &str, ty: Type) -> Result<ExpectedValue, String> {
    let s = s.trim();
    if ty.is_vector() {
        let inner = s
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .ok_or_else(|| format!("expected a {ty} vector like `[1 2 3 4]`, found `{s}`"))?;
        let lanes: Vec<&str> = inner.split_whitespace().collect();
        if lanes.len() != ty.lane_count() as usize {
            return Err(format!(
                "{ty} has {} lanes, `{s}` gives {}",
                ty.lane_count(),
                lanes.len()
            ));
        }
        let lane_ty = ty.lane_type();
        let lane_bytes = lane_ty.bytes() as usize;
        let mut bytes = [0u8; 16];
        let mut any_nan_lanes = 0u16;
        for (i, l) in lanes.iter().enumerate() {
            let e = parse_expected(l, lane_ty)?;
            bytes[i * lane_bytes..(i + 1) * lane_bytes].copy_from_slice(&e.value.to_le_bytes());
            if e.any_nan_lanes != 0 {
                any_nan_lanes |= 1 << i;
            }
        }
        return Ok(ExpectedValue {
            value: DataValue::V128(ty, bytes),
            any_nan_lanes,
        });
    }
    let any_nan = u16::from(ty.is_float() && (s == "nan" || s == "-nan" || s == "+nan"));
    let value = match ty {
        Type::F32 => DataValue::F32(literals::parse_f32(s)?),
        Type::F64 => DataValue::F64(literals::parse_f64(s)?),
        _ => {
            let v = literals::parse_int(s, ty)?;
            match ty {
                Type::I8 => DataValue::I8(v as i8),
                Type::I16 => DataValue::I16(v as i16),
                Type::I32 => DataValue::I32(v as i32),
                _ => DataValue::I64(v),
            }
        }
    };
    Ok(ExpectedValue {
        value,
        any_nan_lanes: any_nan,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "
; heap: h0 size=16 data=2a
function %f(i32, i64) -> i32 {
block0(v0: i32, v1: i64):
    return v0
}
function %g(f32x4) -> f32x4, f64 {
block0(v0: f32x4):
    v1 = fconst.f64 nan
    return v0, v1
}
; run: %f(1, h0+4) == 1   ; trailing comment
; run: %f(-1, 0) traps int_divz
; run: %g([1.0 nan -0.0 inf]) == [1.0 nan -0.0 inf], -nan
";

    fn load(src: &str) -> Result<TestFile, FileError> {
        TestFile::parse(Path::new("t.kir"), src)
    }

    #[test]
    fn directives_parse_with_types_heaps_and_nan_lanes() {
        let f = load(SRC).unwrap();
        assert_eq!(f.heaps.len(), 1);
        assert_eq!(f.heaps[0].initial_bytes()[0], 0x2a);
        assert_eq!(f.runs.len(), 3);
        assert_eq!(f.runs[0].args[1], Arg::HeapAddr { heap: 0, offset: 4 });
        assert_eq!(
            f.runs[0].args[1].resolve(),
            DataValue::I64((HEAP_BASE + 4) as i64)
        );
        assert_eq!(
            f.runs[1].expect,
            Expectation::Traps(TrapCode::IntegerDivisionByZero)
        );
        let Expectation::Returns(r) = &f.runs[2].expect else {
            panic!()
        };
        assert_eq!(r[0].any_nan_lanes, 0b0010);
        assert_eq!(r[1].any_nan_lanes, 1);
        // Any NaN matches an expected `nan`, but other lanes compare by bits.
        assert!(r[1].matches(&DataValue::F64(0x7ff0_0000_0000_0001)));
        assert!(
            !r[1].matches(&DataValue::F32(0x7fc0_0000)),
            "type must match"
        );
    }

    #[test]
    fn engine_settings_directive_parses_and_names_bad_input() {
        let f = load(&format!(
            "{SRC}; engine-settings: cpu=x86_64-v3 regalloc=single_pass has_lse=true\n"
        ))
        .unwrap();
        let s = f.engine_settings.unwrap();
        assert_eq!(s.cpu.as_deref(), Some("x86_64-v3"));
        assert_eq!(
            s.settings,
            [
                ("regalloc".to_string(), "single_pass".to_string()),
                ("has_lse".to_string(), "true".to_string())
            ]
        );
        assert!(load(SRC).unwrap().engine_settings.is_none());
        for (line, want) in [
            (
                "; engine-settings: cpu=pentium",
                "unknown CPU preset `pentium`",
            ),
            ("; engine-settings: frob=1", "unknown setting `frob`"),
            ("; engine-settings: regalloc=fast", "bad value `fast`"),
            ("; engine-settings: regalloc", "expected name=value"),
            (
                "; engine-settings: cpu=x86_64\n; engine-settings: cpu=x86_64",
                "more than one",
            ),
        ] {
            let e = load(&format!("{SRC}{line}\n")).expect_err(line).to_string();
            assert!(e.contains(want), "{line}: got `{e}`");
        }
    }

    #[test]
    fn bad_directives_name_the_problem() {
        let cases = [
            ("; run: %nope(1)", "not a function of this file"),
            ("; run: %f(1) == 1", "takes 2 argument(s)"),
            ("; run: %f(1, 2) == 1, 2", "returns 1 value(s)"),
            ("; run: %f(1, 2) == x", "not an integer literal"),
            ("; run: %f(1, h3) == 1", "heap `h3` is not declared"),
            ("; run: %f(h0, 2) == 1", "must be i64"),
            ("; run: %f(1, 2) traps nope", "unknown trap code"),
            ("; run: %f(1, 2) = 1", "expected `== <results>`"),
            ("; heap: h2 size=4", "expected h1, found h2"),
            ("; heap: h0 size=4", "expected h1, found h0"),
            ("; heap: h0 size=0", "bad heap size"),
            ("; heap: h0 size=2 data=010203", "only 2"),
            ("; heap: h0 size=2 data=0", "even number"),
            (
                "function %bad() -> i32 {\nblock0:\n    v0 = iconst.i64 1\n    return v0\n}",
                "t.kir:16:1: function %bad fails verification (1 error(s)):\n    inst",
            ),
        ];
        for (line, want) in cases {
            let src = format!("{SRC}\n{line}\n");
            let e = load(&src).expect_err(line).to_string();
            assert!(e.contains(want), "{line}: got `{e}`");
        }
    }
}
