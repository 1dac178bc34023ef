//! Materialized cases: a failing differential case written as a `.kir` file that every
//! runner replays (`kiln replay`, `kiln run`, `cargo test` through the corpus).
//!
//! File layout (`corpora/fuzzgen/<hash>.kir`):
//!
//! ```text
//! ; fuzzgen case 3f2a9c01b2d4: value mismatch on x86_64
//! ; x86_64 returned 4; interp returned 3
//! ; found by: kiln diff --generator kir --seed 1 (case 1234)
//! ;   interp: returned 3
//! ;   x86_64: returned 4
//! ;   aarch64: returned 3
//! ; replay: kiln replay corpora/fuzzgen/3f2a9c01b2d4.kir
//! ; engine-settings: cpu=x86_64-v3 regalloc=single_pass opt_level=speed
//! ; heap: h0 size=64 data=0102
//! ; run: %f0(1, h0+8) == 3
//!
//! function %f0(i32, i64) -> i32 { ... }
//! ```
//!
//! Invariants:
//! - the `; run:` line expects the *interpreter's* outcome (NaN results written `nan`,
//!   matching any NaN, unless the variation canonicalizes NaNs, when exact bits are
//!   written); when the interpreter did not return or trap (it panicked, faulted or
//!   refused the case) no expectation can be written, and a `; diff-call:` line records the
//!   call instead, which `kiln replay` runs;
//! - `; engine-settings:` records the whole variation, so the file fails (or passes) the
//!   same way under every runner;
//! - header lines are single-line comments that no directive parser mistakes for a
//!   directive (free text is flattened to one line and never starts a comment with a
//!   directive keyword);
//! - the file name is [`case_hash`]: the same case and variation always get the same name.
//!
//! # Wasm cases (`corpora/wasm/<hash>.wasm` + `<hash>.json`)
//!
//! A Wasm finding is the module's bytes exactly as generated, plus a JSON sidecar
//! ([`WasmSidecar`]): the invocations and their arguments, the compiler settings, every
//! engine's outcome per step, the class, where it was found and, for a reduced case, the
//! case it was reduced from. Arguments are written `i32 -5`, `i64 7`, `f32 0x7fc00000`,
//! `f64 0x...` (floats as raw bits), so they round-trip exactly. The name is
//! [`wasm_case_hash`] over the module, the invocations and the settings.

use super::wasm::{WasmCase, WasmCaseResult};
use super::{Case, CaseResult, EngineResult, Variation};
use crate::files::write_atomically;
pub use crate::filetest::{format_arg, format_expected};
use crate::gen::wasm::Invocation;
use crate::hashing::{fnv1a, FNV_OFFSET};
use crate::outcome::Outcome;
use crate::value::DataValue;
use kiln::ir::Type;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How a case was found (for the header).
#[derive(Clone, Debug)]
pub enum Provenance {
    /// `kiln diff` with this seed, case index.
    Campaign {
        /// Campaign seed.
        seed: u64,
        /// Case index.
        index: u64,
    },
    /// The `fuzzgen` fuzz target.
    Fuzz,
    /// Anything else.
    Other(String),
}

impl std::fmt::Display for Provenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Provenance::Campaign { seed, index } => {
                write!(f, "kiln diff --generator kir --seed {seed} (case {index})")
            }
            Provenance::Fuzz => f.write_str("cargo +nightly fuzz run fuzzgen"),
            Provenance::Other(s) => f.write_str(&one_line(s)),
        }
    }
}

/// A short, stable name for a case under a variation: 12 hex digits of an FNV-1a hash
/// over the printed functions, the arguments, the heap and the variation.
pub fn case_hash(case: &Case, variation: &Variation) -> String {
    let mut h = FNV_OFFSET;
    for f in &case.functions {
        fnv1a(&mut h, f.to_string().as_bytes());
    }
    for a in &case.args {
        fnv1a(&mut h, a.to_string().as_bytes());
        fnv1a(&mut h, b",");
    }
    if let Some(heap) = &case.heap {
        fnv1a(&mut h, &heap.size.to_le_bytes());
        fnv1a(&mut h, &heap.data);
    }
    fnv1a(&mut h, variation.directive().as_bytes());
    format!("{:012x}", h >> 16)
}

/// Free text as one comment-safe line (at most 400 characters).
fn one_line(s: &str) -> String {
    let mut out: String = s
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ");
    if out.len() > 400 {
        let mut cut = 400;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str(" ...");
    }
    out
}

/// The `.kir` text of a failing case. `path` is where it will be saved (for the replay
/// line). See the module docs for the layout.
pub fn render_case(
    case: &Case,
    variation: &Variation,
    result: &CaseResult,
    provenance: &Provenance,
    path: &Path,
) -> String {
    let hash = case_hash(case, variation);
    let settings = variation.engine_settings();
    let exact_nans = super::variation::canonical_nans(&settings);
    let mut s = String::new();
    let v = &result.verdict;
    let on = v.engine.map(|e| format!(" on {e}")).unwrap_or_default();
    let _ = writeln!(s, "; fuzzgen case {hash}: {}{on}", v.class);
    let _ = writeln!(s, "; {}", one_line(&v.detail));
    let _ = writeln!(s, "; found by: {provenance}");
    for (kind, r) in &result.results {
        let _ = writeln!(s, ";   {kind}: {}", one_line(&r.to_string()));
    }
    let _ = writeln!(s, "; replay: kiln replay {}", path.display());
    let _ = writeln!(s, "; engine-settings: {}", variation.directive());
    if let Some(h) = &case.heap {
        let mut data = h.data.clone();
        while data.last() == Some(&0) {
            data.pop();
        }
        let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
        if hex.is_empty() {
            let _ = writeln!(s, "; heap: h0 size={}", h.size);
        } else {
            let _ = writeln!(s, "; heap: h0 size={} data={hex}", h.size);
        }
    }
    let entry = case
        .functions
        .first()
        .map(|f| f.params.name.to_string())
        .unwrap_or_else(|| "%missing".to_string());
    let args: Vec<String> = case
        .args
        .iter()
        .map(|a| format_arg(a, case.heap.as_ref()))
        .collect();
    let call = format!("{entry}({})", args.join(", "));
    match result.reference() {
        EngineResult::Ran(Outcome::Returned(vs)) if vs.is_empty() => {
            let _ = writeln!(s, "; run: {call}");
        }
        EngineResult::Ran(Outcome::Returned(vs)) => {
            let vals: Vec<String> = vs.iter().map(|v| format_expected(v, exact_nans)).collect();
            let _ = writeln!(s, "; run: {call} == {}", vals.join(", "));
        }
        EngineResult::Ran(Outcome::Trapped(c)) => {
            let _ = writeln!(s, "; run: {call} traps {c}");
        }
        other => {
            let _ = writeln!(
                s,
                "; (no run directive: the interpreter's outcome cannot be expected: {})",
                one_line(&other.to_string())
            );
            let _ = writeln!(s, "; diff-call: {call}");
        }
    }
    s.push('\n');
    for (i, f) in case.functions.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        let _ = write!(s, "{f}");
        if !s.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}

/// Write the case to `dir/<hash>.kir` (creating `dir`; written to a temporary file and
/// renamed, so a reader never sees half a file) and return the path.
pub fn save_case(
    dir: &Path,
    case: &Case,
    variation: &Variation,
    result: &CaseResult,
    provenance: &Provenance,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let hash = case_hash(case, variation);
    let path = dir.join(format!("{hash}.kir"));
    let text = render_case(case, variation, result, provenance, &path);
    write_atomically(&path, text.as_bytes())?;
    Ok(path)
}

/// One invocation of a saved Wasm case.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SidecarCall {
    /// The export's name.
    pub export: String,
    /// Arguments: `i32 -5`, `i64 7`, `f32 0x7fc00000`, `f64 0x...` (references as `i64`).
    pub args: Vec<String>,
}

/// The sidecar of a saved Wasm case (`<hash>.json`). See the module docs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WasmSidecar {
    /// The class of the disagreement (`value mismatch`, ...).
    pub class: String,
    /// One line: which step, which engine, what it did, what wasmi did.
    pub detail: String,
    /// How the case was found.
    pub found_by: String,
    /// The compiler settings of Kiln's engines (the `; engine-settings:` syntax).
    pub engine_settings: String,
    /// Whether the case also checks compiles through a cache store.
    #[serde(default)]
    pub cache_check: bool,
    /// The invocations, in order.
    pub invocations: Vec<SidecarCall>,
    /// Every engine's log when the case was saved (`wasmi` first).
    pub outcomes: Vec<(String, Vec<String>)>,
    /// The case this one was reduced from (file name), with sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reduced_from: Option<String>,
    /// Free text: why the case is kept (for example a wasmi bug).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An argument as sidecar text (see the module docs).
pub fn arg_text(v: &DataValue) -> String {
    match v {
        DataValue::I8(x) => format!("i8 {x}"),
        DataValue::I16(x) => format!("i16 {x}"),
        DataValue::I32(x) => format!("i32 {x}"),
        DataValue::I64(x) => format!("i64 {x}"),
        DataValue::F32(b) => format!("f32 {b:#010x}"),
        DataValue::F64(b) => format!("f64 {b:#018x}"),
        DataValue::V128(_, bytes) => format!("v128 {:#034x}", u128::from_le_bytes(*bytes)),
    }
}

/// Parse [`arg_text`]'s output.
pub fn parse_arg(text: &str) -> Result<DataValue, String> {
    let bad = || format!("bad argument `{text}` (expected e.g. `i32 -5` or `f32 0x7fc00000`)");
    let (ty, val) = text.trim().split_once(' ').ok_or_else(bad)?;
    let hex = |v: &str| u128::from_str_radix(v.trim_start_matches("0x"), 16).map_err(|_| bad());
    Ok(match ty {
        "i8" => DataValue::I8(val.parse().map_err(|_| bad())?),
        "i16" => DataValue::I16(val.parse().map_err(|_| bad())?),
        "i32" => DataValue::I32(val.parse().map_err(|_| bad())?),
        "i64" => DataValue::I64(val.parse().map_err(|_| bad())?),
        "f32" => DataValue::F32(u32::try_from(hex(val)?).map_err(|_| bad())?),
        "f64" => DataValue::F64(u64::try_from(hex(val)?).map_err(|_| bad())?),
        "v128" => DataValue::V128(Type::I8X16, hex(val)?.to_le_bytes()),
        _ => return Err(bad()),
    })
}

/// A short, stable name for a Wasm case: 12 hex digits of an FNV-1a hash over the module,
/// the invocations and the settings.
pub fn wasm_case_hash(case: &WasmCase, settings: &str) -> String {
    let mut h = FNV_OFFSET;
    fnv1a(&mut h, &case.wasm);
    for c in &case.calls {
        fnv1a(&mut h, c.export.as_bytes());
        for a in &c.args {
            fnv1a(&mut h, arg_text(a).as_bytes());
        }
        fnv1a(&mut h, b";");
    }
    fnv1a(&mut h, settings.as_bytes());
    format!("{:012x}", h >> 16)
}

/// The sidecar of `case` found with `settings` and judged `result`.
pub fn wasm_sidecar(
    case: &WasmCase,
    settings: &str,
    cache_check: bool,
    result: &WasmCaseResult,
    found_by: &str,
) -> WasmSidecar {
    WasmSidecar {
        class: result.verdict.class.name().to_string(),
        detail: one_line(&result.verdict.detail),
        found_by: one_line(found_by),
        engine_settings: settings.to_string(),
        cache_check,
        invocations: case
            .calls
            .iter()
            .map(|c| SidecarCall {
                export: c.export.clone(),
                args: c.args.iter().map(arg_text).collect(),
            })
            .collect(),
        outcomes: result.log.clone(),
        reduced_from: None,
        note: None,
    }
}

/// Write `dir/<hash>.wasm` and `dir/<hash>.json` (creating `dir`) and return the `.wasm`
/// path. The sidecar is written last, so a sidecar always has its module.
pub fn save_wasm_case(
    dir: &Path,
    case: &WasmCase,
    sidecar: &WasmSidecar,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let hash = wasm_case_hash(case, &sidecar.engine_settings);
    let path = dir.join(format!("{hash}.wasm"));
    write_atomically(&path, &case.wasm)?;
    let json = serde_json::to_string_pretty(sidecar).map_err(std::io::Error::other)?;
    write_atomically(&path.with_extension("json"), json.as_bytes())?;
    Ok(path)
}

/// Read a saved Wasm case: the module at `path` and its sidecar beside it.
pub fn load_wasm_case(path: &Path) -> Result<(WasmCase, WasmSidecar), String> {
    let wasm = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let side_path = path.with_extension("json");
    let text = std::fs::read_to_string(&side_path).map_err(|e| {
        format!(
            "{}: {e} (every saved .wasm case has a .json sidecar)",
            side_path.display()
        )
    })?;
    let sidecar: WasmSidecar =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", side_path.display()))?;
    let mut calls = Vec::with_capacity(sidecar.invocations.len());
    for c in &sidecar.invocations {
        let args = c
            .args
            .iter()
            .map(|a| parse_arg(a))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{}: {e}", side_path.display()))?;
        calls.push(Invocation {
            export: c.export.clone(),
            args,
        });
    }
    Ok((WasmCase { wasm, calls }, sidecar))
}

/// The corpus directory of `fuzzgen`: `$KILN_CORPUS_DIR` when set, otherwise
/// `<repo>/corpora/fuzzgen` (the repository this harness was built from).
pub fn default_corpus_dir() -> PathBuf {
    corpus_dir("fuzzgen")
}

/// Where fuzz target `target` saves its findings: `$KILN_CORPUS_DIR` if set, otherwise
/// `<repo>/corpora/<target>`.
pub fn corpus_dir(target: &str) -> PathBuf {
    match std::env::var_os("KILN_CORPUS_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../corpora")
            .join(target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filetest::HeapDecl;

    #[test]
    fn args_and_expectations_use_directive_syntax() {
        let heap = HeapDecl {
            size: 64,
            data: vec![1, 2],
        };
        let base = HeapDecl::base(0) as i64;
        assert_eq!(format_arg(&DataValue::I64(base + 8), Some(&heap)), "h0+8");
        assert_eq!(format_arg(&DataValue::I64(base), Some(&heap)), "h0");
        assert_eq!(format_arg(&DataValue::I64(base + 65), Some(&heap)), {
            (base + 65).to_string()
        });
        assert_eq!(format_arg(&DataValue::I64(8), None), "8");
        assert_eq!(format_expected(&DataValue::F32(0x7fc0_0001), false), "nan");
        assert_eq!(
            format_expected(&DataValue::F32(0x7fc0_0001), true),
            "nan:0x400001"
        );
        let v = DataValue::vector_from_lanes(Type::F64X2, &[0x7ff8_0000_0000_0001, 0]).unwrap();
        assert_eq!(format_expected(&v, false), "[nan 0.0]");
        assert_eq!(one_line("a\n  b\r\n\nc"), "a | b | c");
        assert!(one_line(&"x".repeat(1000)).len() < 410);
    }
}
