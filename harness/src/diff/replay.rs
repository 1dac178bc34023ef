//! `kiln replay`: re-run saved cases on every engine, under each file's recorded compiler
//! variation (`; engine-settings:`), and report.
//!
//! For each file: every call (`; run:` directives, or the `; diff-call:` a materialized case
//! writes when the interpreter's outcome cannot be expected) runs on the interpreter,
//! x86_64 and AArch64 exactly like in `kiln diff` ([`super::check_file_call`]); the report
//! gives each engine's outcome and whether it meets the directive's expectation, the
//! differential verdict, the IR, and a disassembly (llvm-mc) of every function as compiled
//! for each engine that disagrees.
//!
//! A saved Wasm case (`<hash>.wasm` with its `<hash>.json` sidecar, see
//! [`super::materialize`]) replays through [`super::wasm::check_wasm_case`] under the
//! sidecar's settings; its report gives every engine's log, the verdict, the module as WAT
//! (`wasmprinter`), and the IR and disassembly of the function where the engines diverge
//! (the export called at the diverging step, or the start function).
//!
//! Invariant: a file *fails* when it does not load, when any call's verdict is a
//! disagreement ([`Class::is_failure`]), or when any engine's outcome does not meet the
//! call's expectation. Timeouts are reported but do not fail.

use super::materialize::{load_wasm_case, WasmSidecar};
use super::wasm::{check_wasm_case, Step, WasmCase, WasmCaseResult, WasmDiffOptions};
use super::{check_file_call, Class, DiffOptions, EngineResult, Verdict};
use crate::disasm::{disassemble_with_data, format_listing};
use crate::engine::{EngineKind, EngineSettings};
use crate::filetest::{Expectation, TestFile};
use crate::filetest_runner::outcome_matches;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One call of a replayed file.
#[derive(Clone, Debug)]
pub struct CallReport {
    /// The directive text (`%f0(1, 2) == 3`).
    pub text: String,
    /// Its line.
    pub line: u32,
    /// The expectation (`None` for a `; diff-call:`).
    pub expect: Option<Expectation>,
    /// Each engine's result and whether it meets the expectation.
    pub results: Vec<(EngineKind, EngineResult, bool)>,
    /// The differential verdict.
    pub verdict: Verdict,
}

impl CallReport {
    /// Does this call still disagree?
    pub fn failed(&self) -> bool {
        self.verdict.class.is_failure() || self.results.iter().any(|(_, _, ok)| !ok)
    }
}

/// The replay of one file.
#[derive(Clone, Debug)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Why it could not be loaded.
    pub load_error: Option<String>,
    /// The compiler settings used (the recorded variation, or the defaults).
    pub settings: EngineSettings,
    /// Every call.
    pub calls: Vec<CallReport>,
    /// The printed IR.
    pub ir: String,
    /// `(engine, listing)` for each disagreeing compiled engine.
    pub disassembly: Vec<(EngineKind, String)>,
}

impl FileReport {
    /// Does the file still fail? See the module docs.
    pub fn failed(&self) -> bool {
        self.load_error.is_some() || self.calls.iter().any(CallReport::failed)
    }

    /// The human-readable report.
    pub fn render(&self) -> String {
        let mut s = report_header(&self.path, self.failed(), self.load_error.as_deref());
        if self.load_error.is_some() {
            return s;
        }
        let _ = writeln!(
            s,
            "settings: {}",
            super::variation::settings_directive(&self.settings)
        );
        for c in &self.calls {
            let _ = writeln!(s, "call (line {}): {}", c.line, c.text);
            for (kind, r, ok) in &c.results {
                let mark = if *ok {
                    ""
                } else {
                    "   <-- does not meet the expectation"
                };
                let _ = writeln!(s, "  {:<8} {r}{mark}", kind.name());
            }
            let on = c
                .verdict
                .engine
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            let _ = writeln!(s, "  verdict: {}{on}", c.verdict.class);
        }
        let _ = writeln!(s, "IR:\n{}", self.ir.trim_end());
        for (kind, listing) in &self.disassembly {
            let _ = writeln!(s, "disassembly ({kind}):\n{}", listing.trim_end());
        }
        s
    }
}

/// `== PATH [FAIL|ok]`, and `cannot load: ...` when the case did not load.
fn report_header(path: &Path, failed: bool, load_error: Option<&str>) -> String {
    let mut s = String::new();
    let status = if failed { "FAIL" } else { "ok" };
    let _ = writeln!(s, "== {} [{status}]", path.display());
    if let Some(e) = load_error {
        let _ = writeln!(s, "cannot load: {e}");
    }
    s
}

/// One call to replay.
struct Call {
    line: u32,
    text: String,
    func_index: usize,
    args: Vec<crate::value::DataValue>,
    expect: Option<Expectation>,
}

/// Calls of a file: its run directives, plus `; diff-call:` lines (parsed by re-reading the
/// file with each one as a run directive, whose expectation is then dropped).
fn calls_of(path: &Path, src: &str, file: &TestFile) -> Result<Vec<Call>, String> {
    let mut calls: Vec<Call> = file
        .runs
        .iter()
        .map(|r| Call {
            line: r.line,
            text: r.text.clone(),
            func_index: r.func_index,
            args: r.args.iter().map(|a| a.resolve()).collect(),
            expect: Some(r.expect.clone()),
        })
        .collect();
    if src.contains("diff-call:") {
        let rewritten: String = src
            .lines()
            .map(|l| match l.trim_start().strip_prefix("; diff-call:") {
                Some(call) => format!("; run: {} traps unreachable\n", call.trim()),
                None if l.trim_start().starts_with("; run:") => "\n".to_string(),
                None => format!("{l}\n"),
            })
            .collect();
        let f = TestFile::parse(path, &rewritten).map_err(|e| e.to_string())?;
        for r in f.runs {
            calls.push(Call {
                line: r.line,
                text: r
                    .text
                    .trim_end_matches("traps unreachable")
                    .trim()
                    .to_string(),
                func_index: r.func_index,
                args: r.args.iter().map(|a| a.resolve()).collect(),
                expect: None,
            });
        }
    }
    Ok(calls)
}

/// The listing of every function of `file` compiled for `kind` with `settings`.
fn disassembly(file: &TestFile, kind: EngineKind, settings: &EngineSettings) -> String {
    let Some(arch) = kind.arch() else {
        return String::new();
    };
    let compiler = match settings
        .builder(arch)
        .and_then(|b| b.build().map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => return format!("  (no compiler: {e})\n"),
    };
    let mut s = String::new();
    for f in &file.functions {
        s.push_str(&disassemble_function(&*compiler, arch, f));
    }
    s
}

/// `function NAME:` and the listing of `f` compiled by `compiler` (or why there is none).
fn disassemble_function(
    compiler: &dyn kiln::Compiler,
    arch: kiln::Arch,
    f: &kiln::ir::Function,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "function {}:", f.params.name);
    let listing = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        compiler.compile_function(f)
    }));
    match listing {
        Ok(Ok(code)) => match disassemble_with_data(arch, &code.code, &code.data_ranges) {
            Ok(lines) => s.push_str(&format_listing(&lines)),
            Err(e) => {
                let _ = writeln!(s, "  ({e})");
            }
        },
        Ok(Err(e)) => {
            let _ = writeln!(s, "  (compile error: {e})");
        }
        Err(p) => {
            let _ = writeln!(
                s,
                "  (compiler panicked: {})",
                super::panic_message(p.as_ref())
            );
        }
    }
    s
}

/// Replay one file.
pub fn replay_file(path: &Path, opts: &DiffOptions) -> FileReport {
    let mut report = FileReport {
        path: path.to_path_buf(),
        load_error: None,
        settings: EngineSettings::default(),
        calls: Vec::new(),
        ir: String::new(),
        disassembly: Vec::new(),
    };
    let loaded = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e}", path.display()))
        .and_then(|src| {
            let file = TestFile::parse(path, &src).map_err(|e| e.to_string())?;
            let calls = calls_of(path, &src, &file)?;
            Ok((file, calls))
        });
    let (file, calls) = match loaded {
        Ok(x) => x,
        Err(e) => {
            report.load_error = Some(e);
            return report;
        }
    };
    report.settings = file.engine_settings.clone().unwrap_or_default();
    report.ir = file
        .functions
        .iter()
        .map(|f| f.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    if calls.is_empty() {
        report.load_error = Some("no `; run:` or `; diff-call:` directive".into());
        return report;
    }
    let mut disagreeing: Vec<EngineKind> = Vec::new();
    for Call {
        line,
        text,
        func_index,
        args,
        expect,
    } in calls
    {
        let r = check_file_call(&file, func_index, &args, &report.settings, opts);
        let results: Vec<(EngineKind, EngineResult, bool)> = r
            .results
            .into_iter()
            .map(|(k, res)| {
                let ok = match (&expect, &res) {
                    (None, _) => true,
                    (Some(_), EngineResult::NotRun) => true,
                    (Some(e), EngineResult::Ran(o)) => outcome_matches(e, o),
                    (Some(_), _) => false,
                };
                (k, res, ok)
            })
            .collect();
        if r.verdict.class.is_failure() {
            disagreeing.extend(r.verdict.engine.filter(|e| e.arch().is_some()));
        }
        disagreeing.extend(
            results
                .iter()
                .filter(|(k, _, ok)| !ok && k.arch().is_some())
                .map(|(k, _, _)| *k),
        );
        report.calls.push(CallReport {
            text,
            line,
            expect,
            results,
            verdict: r.verdict,
        });
    }
    for kind in EngineKind::ALL {
        if disagreeing.contains(kind) {
            let listing = disassembly(&file, *kind, &report.settings);
            report.disassembly.push((*kind, listing));
        }
    }
    report
}

/// The function where a Wasm case diverges: its index, its IR, and its disassembly on
/// each disagreeing engine.
pub type DivergingFunction = (u32, String, Vec<(EngineKind, String)>);

/// The replay of one saved Wasm case.
#[derive(Clone, Debug)]
pub struct WasmReport {
    /// The `.wasm` file.
    pub path: PathBuf,
    /// Why the case could not be loaded (module or sidecar).
    pub load_error: Option<String>,
    /// The sidecar as read.
    pub sidecar: Option<WasmSidecar>,
    /// The replay's result.
    pub result: Option<WasmCaseResult>,
    /// The module as WAT.
    pub wat: String,
    /// The diverging function: its index, IR, and disassembly per disagreeing engine.
    pub function: Option<DivergingFunction>,
}

impl WasmReport {
    /// Does the case still fail? (It does not load, or the engines still disagree.)
    pub fn failed(&self) -> bool {
        self.load_error.is_some()
            || self
                .result
                .as_ref()
                .is_some_and(|r| r.verdict.class.is_failure())
    }

    /// The human-readable report.
    pub fn render(&self) -> String {
        let mut s = report_header(&self.path, self.failed(), self.load_error.as_deref());
        if self.load_error.is_some() {
            return s;
        }
        if let Some(side) = &self.sidecar {
            let _ = writeln!(s, "saved as: {}: {}", side.class, side.detail);
            let _ = writeln!(s, "found by: {}", side.found_by);
            if let Some(r) = &side.reduced_from {
                let _ = writeln!(s, "reduced from: {r}");
            }
            if let Some(n) = &side.note {
                let _ = writeln!(s, "note: {n}");
            }
            let _ = writeln!(s, "settings: {}", side.engine_settings);
        }
        if let Some(r) = &self.result {
            for (engine, lines) in &r.log {
                let _ = writeln!(s, "{engine}:");
                for l in lines {
                    let _ = writeln!(s, "  {l}");
                }
            }
            let on = r
                .verdict
                .engine
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            let _ = writeln!(s, "verdict: {}{on}: {}", r.verdict.class, r.verdict.detail);
        }
        let _ = writeln!(s, "module:\n{}", self.wat.trim_end());
        if let Some((f, ir, listings)) = &self.function {
            let _ = writeln!(s, "IR of function {f}:\n{}", ir.trim_end());
            for (kind, l) in listings {
                let _ = writeln!(s, "disassembly ({kind}):\n{}", l.trim_end());
            }
        }
        s
    }
}

/// Replay one saved Wasm case (see the module docs).
pub fn replay_wasm_file(path: &Path, opts: &WasmDiffOptions) -> WasmReport {
    let mut report = WasmReport {
        path: path.to_path_buf(),
        load_error: None,
        sidecar: None,
        result: None,
        wat: String::new(),
        function: None,
    };
    let (case, sidecar) = match load_wasm_case(path) {
        Ok(x) => x,
        Err(e) => {
            report.load_error = Some(e);
            return report;
        }
    };
    let settings = match crate::filetest::parse_engine_settings(&sidecar.engine_settings) {
        Ok(s) => s,
        Err(e) => {
            report.load_error = Some(format!("{}: {e}", path.with_extension("json").display()));
            return report;
        }
    };
    report.wat =
        wasmprinter::print_bytes(&case.wasm).unwrap_or_else(|e| format!("(not printable: {e})"));
    let result = check_wasm_case(&case, &settings, opts, sidecar.cache_check);
    report.function = diverging_function(&case, &result, &settings);
    report.sidecar = Some(sidecar);
    report.result = Some(result);
    report
}

/// The function where a Wasm case diverges: the export called at the deciding step, or
/// the start function; its IR and its disassembly on the engine the verdict names.
fn diverging_function(
    case: &WasmCase,
    result: &WasmCaseResult,
    settings: &EngineSettings,
) -> Option<DivergingFunction> {
    let (info, funcs) = kiln::module::translate_module(&case.wasm, Some(1)).ok()?;
    let f = match result.step? {
        Step::Call(i) => {
            let name = &case.calls.get(i)?.export;
            info.exports.iter().find_map(|e| match e.index {
                kiln::wasm::info::EntityIndex::Func(f) if &e.name == name => Some(f),
                _ => None,
            })?
        }
        Step::Instantiate => info.start?,
    };
    let func = funcs.get(f.checked_sub(info.num_imported_funcs)? as usize)?;
    let mut listings = Vec::new();
    for kind in [EngineKind::X86_64, EngineKind::Aarch64] {
        if result.verdict.engine.is_some() && result.verdict.engine != Some(kind) {
            continue;
        }
        let Some(arch) = kind.arch() else { continue };
        let listing = match settings
            .builder(arch)
            .and_then(|b| b.build().map_err(|e| e.to_string()))
        {
            Ok(c) => disassemble_function(&*c, arch, func),
            Err(e) => format!("  (no compiler: {e})\n"),
        };
        listings.push((kind, listing));
    }
    Some((f, func.to_string(), listings))
}

/// Counts over replayed files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplaySummary {
    /// Files replayed.
    pub files: usize,
    /// Files that still fail.
    pub failed: usize,
    /// Calls that timed out.
    pub timeouts: usize,
}

/// Replay every file, writing each report to `out`.
pub fn replay_files(
    files: &[PathBuf],
    opts: &DiffOptions,
    out: &mut dyn std::io::Write,
) -> ReplaySummary {
    let mut summary = ReplaySummary::default();
    for f in files {
        if f.extension().is_some_and(|e| e == "wasm") {
            let r = replay_wasm_file(f, &WasmDiffOptions::default());
            summary.files += 1;
            summary.failed += usize::from(r.failed());
            summary.timeouts += usize::from(
                r.result
                    .as_ref()
                    .is_some_and(|x| x.verdict.class == Class::Timeout),
            );
            let _ = write!(out, "{}", r.render());
            continue;
        }
        let r = replay_file(f, opts);
        summary.files += 1;
        summary.failed += usize::from(r.failed());
        summary.timeouts += r
            .calls
            .iter()
            .filter(|c| c.verdict.class == Class::Timeout)
            .count();
        let _ = write!(out, "{}", r.render());
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::materialize::{save_case, Provenance};
    use crate::diff::{check_case, Case, Variation};
    use crate::filetest_runner::{run_files, RunOptions};
    use crate::outcome::Outcome;
    use crate::value::DataValue;
    use kiln::ir::text;

    fn scratch_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kiln-replay-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_materialized_failure_replays_as_a_failure_under_its_variation() {
        let case = Case {
            functions: text::parse_functions(
                "function %f0(i64, i32) -> i32 {\nblock0(v0: i64, v1: i32):\n    v2 = load.i32 v0\n    v3 = iadd v2, v1\n    return v3\n}\n",
            )
            .unwrap(),
            args: vec![
                DataValue::I64(crate::filetest::HeapDecl::base(0) as i64 + 4),
                DataValue::I32(2),
            ],
            heap: Some(crate::filetest::HeapDecl {
                size: 16,
                data: vec![0, 0, 0, 0, 40, 0, 0, 0],
            }),
        };
        let variation = Variation {
            regalloc: "single_pass",
            opt_level: "speed",
            x86_cpu: "x86_64",
            x86_flags: vec!["has_popcnt", "has_lzcnt"],
            link_padding: 0,
        };
        let opts = DiffOptions::default();
        let mut result = check_case(&case, &variation, &opts);
        assert_eq!(result.verdict.class, Class::Agree, "{result:?}");
        assert_eq!(
            result.results[1].1,
            EngineResult::Ran(Outcome::Returned(vec![DataValue::I32(42)]))
        );
        // A synthetic failure: pretend the interpreter (the reference) said 43 and
        // x86_64 disagreed.
        result.results[0].1 = EngineResult::Ran(Outcome::Returned(vec![DataValue::I32(43)]));
        result.verdict = crate::diff::classify(&result.results[0].1, &result.results[1..], false);
        assert_eq!(result.verdict.class, Class::ValueMismatch);

        let dir = scratch_dir("roundtrip");
        let path = save_case(&dir, &case, &variation, &result, &Provenance::Fuzz).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("; run: %f0(h0+4, 2) == 43"), "{text}");
        assert!(
            text.contains("; heap: h0 size=16 data=0000000028"),
            "{text}"
        );
        assert!(text.contains(
            "; engine-settings: cpu=x86_64 regalloc=single_pass opt_level=speed has_popcnt=true has_lzcnt=true"
        ));
        assert!(text.contains("value mismatch on x86_64"), "{text}");

        let report = replay_file(&path, &opts);
        assert!(report.failed(), "{}", report.render());
        assert_eq!(report.settings, variation.engine_settings());
        let call = &report.calls[0];
        assert!(call.results.iter().all(|(_, _, ok)| !ok));
        let rendered = report.render();
        assert!(
            rendered.contains("[FAIL]") && rendered.contains("v3 = iadd v2, v1"),
            "{rendered}"
        );
        assert_eq!(report.disassembly.len(), 2, "{rendered}");
        // The filetest runner (and so `cargo test` over corpora/) fails it too.
        let mut out = Vec::new();
        let s = run_files(
            std::slice::from_ref(&path),
            &RunOptions::default(),
            &mut out,
        );
        assert_eq!((s.passed, s.failed), (0, 3));

        // The true result replays clean.
        let fixed = text.replace("== 43", "== 42");
        std::fs::write(&path, fixed).unwrap();
        let report = replay_file(&path, &opts);
        assert!(!report.failed(), "{}", report.render());
        assert!(report.disassembly.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn diff_call_lines_replay_without_an_expectation() {
        let dir = scratch_dir("diffcall");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.kir");
        std::fs::write(
            &path,
            "; diff-call: %f0(5)\nfunction %f0(i32) -> i32 {\nblock0(v0: i32):\n    return v0\n}\n",
        )
        .unwrap();
        let r = replay_file(&path, &DiffOptions::default());
        assert!(!r.failed(), "{}", r.render());
        assert_eq!(r.calls.len(), 1);
        assert!(r.calls[0].expect.is_none());
        assert_eq!(r.calls[0].text, "%f0(5)");
        let empty = dir.join("e.kir");
        std::fs::write(&empty, "function %g() {\nblock0:\n    return\n}\n").unwrap();
        assert!(replay_file(&empty, &DiffOptions::default()).failed());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
