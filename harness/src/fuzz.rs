//! Entry points of the cargo-fuzz targets in `fuzz/fuzz_targets/`, which are one-line
//! calls into this module so that the logic is compiled and unit-tested with the rest of
//! the harness (a target can never silently rot).
//!
//! Each function panics exactly when it has found a bug; that is how libFuzzer learns of it.

use crate::diff::campaign::WasmSource;
use arbitrary::{Arbitrary, Unstructured};
use kiln::ir::{text, verify_function, Function};
use kiln::machinst::CompiledCode;
use kiln::settings::{find_setting, isa, shared};
use kiln::{Arch, CodegenError, Compiler, Config, OptLevel, RegallocAlgorithm};
use std::sync::OnceLock;

/// `kir_parse`: arbitrary text must never panic the parser or the verifier, and every
/// function that parses and verifies must print, re-parse and print again identically.
pub fn kir_parse(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(functions) = text::parse_functions(src) else {
        return;
    };
    for f in &functions {
        if verify_function(f).is_err() {
            continue;
        }
        let printed = f.to_string();
        let reparsed = match text::parse_functions(&printed) {
            Ok(fs) if fs.len() == 1 => fs,
            Ok(fs) => panic!(
                "printed function re-parsed as {} functions:\n{printed}",
                fs.len()
            ),
            Err(e) => panic!("printed function does not re-parse: {e}\n{printed}"),
        };
        if let Err(e) = verify_function(&reparsed[0]) {
            panic!("re-parsed function fails verification:\n{e}\n{printed}");
        }
        let again = reparsed[0].to_string();
        assert_eq!(
            printed, again,
            "print -> parse -> print is not the identity"
        );
    }
}

/// One call on a [`Config`], as the `config` target and the Config property tests
/// generate them. Values come from small pools that are mostly valid, so that most
/// sequences build, with a few invalid ones so that error paths are compared too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigOp {
    /// `target(triple)`.
    Target(&'static str),
    /// `cpu(preset)`.
    Cpu(&'static str),
    /// `opt_level(level)`.
    OptLevel(OptLevel),
    /// `regalloc(algorithm)`.
    Regalloc(RegallocAlgorithm),
    /// `simd(enable)`.
    Simd(bool),
    /// `nan_canonicalization(enable)`.
    NanCanonicalization(bool),
    /// `set(name, value)`.
    Set(&'static str, &'static str),
    /// `enable(name)`.
    Enable(&'static str),
}

/// Triples [`ConfigOp::Target`] draws from (the last one is unsupported).
pub const CONFIG_TARGETS: &[&str] = &[
    "x86_64-unknown-linux-gnu",
    "x86_64",
    "aarch64-unknown-linux-gnu",
    "aarch64",
    "riscv64gc-unknown-linux-gnu",
];

/// Presets [`ConfigOp::Cpu`] draws from (the last one does not exist).
pub const CONFIG_CPUS: &[&str] = &[
    "x86_64",
    "x86_64-v2",
    "x86_64-v3",
    "native",
    "generic",
    "pentium",
];

/// Every setting name of every architecture, plus one that does not exist.
pub fn config_setting_names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut v: Vec<&'static str> = shared::SHARED_SETTINGS
            .iter()
            .chain(isa::X86_64_SETTINGS)
            .chain(isa::AARCH64_SETTINGS)
            .map(|s| s.name)
            .collect();
        v.push("has_frobnicate");
        v
    })
}

/// A value for the setting `name`: one of its own values, or (rarely) a bad one.
pub fn config_value(name: &str, pick: usize, bad: bool) -> &'static str {
    match find_setting(name) {
        Some(info) if !bad => {
            let values = info.kind.values();
            values[pick % values.len()]
        }
        _ => "bogus",
    }
}

impl ConfigOp {
    /// The setter this call is: calls with equal keys overwrite each other, calls with
    /// different keys are independent. Typed setters share the key of their setting name.
    pub fn key(&self) -> &'static str {
        match self {
            ConfigOp::Target(_) => "@target",
            ConfigOp::Cpu(_) => "@cpu",
            ConfigOp::OptLevel(_) => "opt_level",
            ConfigOp::Regalloc(_) => "regalloc",
            ConfigOp::Simd(_) => "enable_simd",
            ConfigOp::NanCanonicalization(_) => "enable_nan_canonicalization",
            ConfigOp::Set(n, _) | ConfigOp::Enable(n) => n,
        }
    }

    /// Make the call.
    pub fn apply(&self, c: &mut Config) {
        match *self {
            ConfigOp::Target(t) => c.target(t),
            ConfigOp::Cpu(p) => c.cpu(p),
            ConfigOp::OptLevel(l) => c.opt_level(l),
            ConfigOp::Regalloc(r) => c.regalloc(r),
            ConfigOp::Simd(b) => c.simd(b),
            ConfigOp::NanCanonicalization(b) => c.nan_canonicalization(b),
            ConfigOp::Set(n, v) => c.set(n, v),
            ConfigOp::Enable(n) => c.enable(n),
        };
    }
}

impl<'a> Arbitrary<'a> for ConfigOp {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.int_in_range(0..=9u8)? {
            0 => ConfigOp::Target(u.choose(CONFIG_TARGETS)?),
            1 => ConfigOp::Cpu(u.choose(CONFIG_CPUS)?),
            2 => ConfigOp::OptLevel(*u.choose(&[
                OptLevel::None,
                OptLevel::Speed,
                OptLevel::SpeedAndSize,
            ])?),
            3 => ConfigOp::Regalloc(if bool::arbitrary(u)? {
                RegallocAlgorithm::Backtracking
            } else {
                RegallocAlgorithm::SinglePass
            }),
            4 => ConfigOp::Simd(bool::arbitrary(u)?),
            5 => ConfigOp::NanCanonicalization(u.ratio(1u8, 8)?),
            6 => ConfigOp::Enable(u.choose(config_setting_names())?),
            _ => {
                let name = u.choose(config_setting_names())?;
                let pick = usize::from(u8::arbitrary(u)?);
                ConfigOp::Set(name, config_value(name, pick, u.ratio(1u8, 16)?))
            }
        })
    }
}

/// The `.kir` files whose machine code the Config laws compare: integer arithmetic, bit
/// counts (`has_popcnt`, `has_lzcnt`, `has_bmi1`), rounding (`has_sse41`), vectors
/// (`enable_simd`, `has_ssse3`, `has_sse41`, `has_sse42`) and calls.
pub const CONFIG_FILETESTS: &[(&str, &str)] = &[
    (
        "arith/iadd.kir",
        include_str!("../tests/filetests/arith/iadd.kir"),
    ),
    (
        "bitcount/combos.kir",
        include_str!("../tests/filetests/bitcount/combos.kir"),
    ),
    (
        "round/ceil_f64.kir",
        include_str!("../tests/filetests/round/ceil_f64.kir"),
    ),
    (
        "round/nearest_f32.kir",
        include_str!("../tests/filetests/round/nearest_f32.kir"),
    ),
    (
        "vector/splat.kir",
        include_str!("../tests/filetests/vector/splat.kir"),
    ),
    (
        "vector/imul.kir",
        include_str!("../tests/filetests/vector/imul.kir"),
    ),
    (
        "vector/icmp_signed.kir",
        include_str!("../tests/filetests/vector/icmp_signed.kir"),
    ),
    (
        "calls/simple.kir",
        include_str!("../tests/filetests/calls/simple.kir"),
    ),
];

/// The functions of [`CONFIG_FILETESTS`], parsed once.
pub fn config_functions() -> &'static [Function] {
    static FUNCS: OnceLock<Vec<Function>> = OnceLock::new();
    FUNCS.get_or_init(|| {
        CONFIG_FILETESTS
            .iter()
            .flat_map(|(name, src)| {
                text::parse_functions(src).unwrap_or_else(|e| panic!("{name} does not parse: {e}"))
            })
            .collect()
    })
}

/// Compile every function of [`config_functions`].
pub fn compile_config_functions(c: &dyn Compiler) -> Vec<Result<CompiledCode, CodegenError>> {
    config_functions()
        .iter()
        .map(|f| c.compile_function(f))
        .collect()
}

/// `ops` reordered by `order` (indices into `ops`; missing or repeated ones are
/// ignored or appended) without reordering calls that share a key, and with every call
/// `i` with `dup[i]` made twice in a row. By the Config laws the result configures the
/// same compiler as `ops`.
pub fn equivalent_config_ops(ops: &[ConfigOp], order: &[usize], dup: &[bool]) -> Vec<ConfigOp> {
    let n = ops.len();
    let mut seen = vec![false; n];
    let mut perm: Vec<usize> = Vec::with_capacity(n);
    for &i in order {
        if i < n && !seen[i] {
            seen[i] = true;
            perm.push(i);
        }
    }
    perm.extend((0..n).filter(|i| !seen[*i]));
    // Keep the relative order of same-key calls: the k-th slot of a key in `perm` gets
    // the k-th call with that key in `ops`.
    let mut next_of_key: std::collections::HashMap<&str, usize> = Default::default();
    let mut out = Vec::with_capacity(2 * n);
    for &p in &perm {
        let key = ops[p].key();
        let k = next_of_key.entry(key).or_insert(0);
        let idx = ops
            .iter()
            .enumerate()
            .filter(|(_, o)| o.key() == key)
            .nth(*k)
            .map_or(p, |(i, _)| i);
        *k += 1;
        out.push(ops[idx].clone());
        if dup.get(idx).copied().unwrap_or(false) {
            out.push(ops[idx].clone());
        }
    }
    out
}

/// What comparing two Config call sequences found (for tests and statistics).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ConfigCheck {
    /// Both built, for this architecture, with equal fingerprints and identical code.
    Built(Arch),
    /// Both refused with the same error.
    Refused,
}

/// The Config laws on `a` and `b`, two call sequences that must be equivalent (see
/// [`equivalent_config_ops`]): equal recorded configs, the same build error or equal
/// settings fingerprints and byte-identical machine code for [`config_functions`].
/// Panics with both sequences when a law is broken.
pub fn check_equivalent_configs(a: &[ConfigOp], b: &[ConfigOp]) -> ConfigCheck {
    let build = |ops: &[ConfigOp]| {
        let mut c = Config::new();
        for op in ops {
            op.apply(&mut c);
        }
        c
    };
    let (ca, cb) = (build(a), build(b));
    assert_eq!(
        ca.compiler_config(),
        cb.compiler_config(),
        "different recorded configs\n  a: {a:?}\n  b: {b:?}"
    );
    match (ca.build(), cb.build()) {
        (Err(ea), Err(eb)) => {
            assert_eq!(ea, eb, "different errors\n  a: {a:?}\n  b: {b:?}");
            ConfigCheck::Refused
        }
        (Ok(x), Ok(y)) => {
            assert_eq!(
                x.settings().fingerprint(),
                y.settings().fingerprint(),
                "different fingerprints\n  a: {a:?}\n  b: {b:?}\n{}\n{}",
                x.settings(),
                y.settings()
            );
            let (cx, cy) = (compile_config_functions(&*x), compile_config_functions(&*y));
            for (i, (rx, ry)) in cx.iter().zip(&cy).enumerate() {
                let same = match (rx, ry) {
                    (Ok(p), Ok(q)) => p == q,
                    (Err(p), Err(q)) => p.to_string() == q.to_string(),
                    _ => false,
                };
                assert!(
                    same,
                    "function {} compiled differently\n  a: {a:?}\n  b: {b:?}\n  {rx:?}\n  {ry:?}",
                    config_functions()[i].params.name
                );
            }
            ConfigCheck::Built(x.arch())
        }
        (x, y) => panic!(
            "one sequence builds and the other does not\n  a: {a:?} -> {:?}\n  b: {b:?} -> {:?}",
            x.err(),
            y.err()
        ),
    }
}

/// `config`: arbitrary sequences of Config calls; any reordering of independent calls
/// and any duplication must build the same compiler (same error, or equal fingerprints
/// and byte-identical machine code for [`CONFIG_FILETESTS`]).
pub fn config(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(ops) = u.arbitrary_len::<ConfigOp>().and_then(|n| {
        (0..n.min(16))
            .map(|_| ConfigOp::arbitrary(&mut u))
            .collect::<arbitrary::Result<Vec<_>>>()
    }) else {
        return;
    };
    let mut order = Vec::with_capacity(ops.len());
    let mut dup = Vec::with_capacity(ops.len());
    for _ in 0..ops.len() {
        order.push(u.choose_index(ops.len().max(1)).unwrap_or(0));
        dup.push(u.ratio(1u8, 4).unwrap_or(false));
    }
    let other = equivalent_config_ops(&ops, &order, &dup);
    check_equivalent_configs(&ops, &other);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kir_parse_accepts_garbage_and_valid_text() {
        for input in [
            &b""[..],
            b"\xff\xfe",
            b"function",
            b"function %f() {\nblock0:\n    return\n}\n",
            b"function %f(i32) -> i32 {\nblock0(v0: i32):\n    v1 = iadd v0, v0\n    return v1\n}",
            b"function %f(i32) -> i32 {\nblock0(v0: i32):\n    v1 = iadd v0, v9\n    return v1\n}",
        ] {
            kir_parse(input);
        }
    }

    #[test]
    fn config_laws_hold_on_fixed_cases_and_garbage() {
        use ConfigOp::*;
        let ops = [
            Set("has_avx", "false"),
            Cpu("x86_64-v3"),
            Simd(true),
            Regalloc(RegallocAlgorithm::SinglePass),
            Set("regalloc", "backtracking"),
            Target("x86_64"),
        ];
        let other = equivalent_config_ops(&ops, &[5, 4, 3, 2, 1, 0], &[true; 6]);
        assert_eq!(other.len(), 12);
        // Same-key calls keep their relative order.
        let r: Vec<_> = other.iter().filter(|o| o.key() == "regalloc").collect();
        assert_eq!(r[0], &Regalloc(RegallocAlgorithm::SinglePass));
        assert_eq!(r[3], &Set("regalloc", "backtracking"));
        assert_eq!(
            check_equivalent_configs(&ops, &other),
            ConfigCheck::Built(Arch::X86_64)
        );
        let bad = [Target("riscv64gc-unknown-linux-gnu"), Simd(true)];
        assert_eq!(
            check_equivalent_configs(&bad, &[Simd(true), Target("riscv64gc-unknown-linux-gnu")]),
            ConfigCheck::Refused
        );
        // The comparison is not vacuous: with SIMD on, every function compiles, on both ISAs.
        for (target, cpu) in [("x86_64", "x86_64-v2"), ("aarch64", "generic")] {
            let mut c = Config::new();
            c.target(target).cpu(cpu).simd(true);
            let compiler = c.build().unwrap();
            let results = compile_config_functions(&*compiler);
            assert!(results.len() >= 30, "{}", results.len());
            for (f, r) in config_functions().iter().zip(&results) {
                assert!(r.is_ok(), "{target}: {}: {r:?}", f.params.name);
            }
        }
        for input in [
            &b""[..],
            b"\x00",
            b"\xff\xff\xff\xff",
            &[7u8; 64],
            &[3u8; 200],
        ] {
            config(input);
        }
    }
}

/// `machbuffer`: random label/branch layouts with random padding must never make
/// `MachBuffer` fail or misplace a branch. The first byte picks the ISA: the buffer's own
/// small test ISA (short ranges, so islands and veneer chains happen in small inputs; it
/// also registers branches for simplification and checks the result by executing it),
/// x86_64, or AArch64 (real branch forms, checked by decoding the final bytes).
pub fn machbuffer(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let result = match which % 3 {
        0 => kiln::machinst::buffer::testing::check_random_layout(rest),
        1 => kiln::isa::fuzzing::check_random_branch_layout(Arch::X86_64, rest).map(drop),
        _ => kiln::isa::fuzzing::check_random_branch_layout(Arch::Aarch64, rest).map(drop),
    };
    if let Err(e) = result {
        panic!("machbuffer layout check failed (ISA selector {which}): {e}");
    }
}

#[cfg(test)]
mod machbuffer_tests {
    #[test]
    fn every_isa_selector_runs_on_small_inputs() {
        for which in 0..3u8 {
            for len in [0usize, 1, 7, 64, 300] {
                let data: Vec<u8> = std::iter::once(which)
                    .chain((0..len).map(|i| (i * 37 + 11) as u8))
                    .collect();
                super::machbuffer(&data);
            }
        }
    }
}

/// `icache`: the cache checks of [`crate::cache_check`] on one input. The input picks an
/// ISA, whether stencil mutations are also compiled, positions for corrupting the entry,
/// and either a generated case (`crate::gen`, from the rest of the input) or a filetest;
/// every function is checked (fresh equals cached, parameter-only changes hit, stencil
/// changes miss, corrupt entries are refused and overwritten) and the case's calls (the
/// file's run directives, or the generated entry call) are executed on the fresh and the
/// cached image.
pub fn icache(data: &[u8]) {
    use crate::cache_check::{
        check_compilers, check_test_file, load_filetests, CheckOptions, CheckStats,
    };
    use crate::filetest::TestFile;
    static FILES: OnceLock<Vec<TestFile>> = OnceLock::new();
    static COMPILERS: OnceLock<crate::cache_check::ArchCompilers> = OnceLock::new();
    let files = FILES.get_or_init(|| load_filetests().unwrap_or_else(|e| panic!("filetests: {e}")));
    let compilers =
        COMPILERS.get_or_init(|| check_compilers().unwrap_or_else(|e| panic!("compilers: {e}")));
    let mut u = Unstructured::new(data);
    let (Ok(a), Ok(generated), Ok(compile_mutations), Ok(pick)) = (
        u.choose_index(compilers.len()),
        bool::arbitrary(&mut u),
        bool::arbitrary(&mut u),
        u.bytes(8),
    ) else {
        return;
    };
    let opts = CheckOptions {
        compile_mutations,
        corruptions: true,
        pick: pick.to_vec(),
    };
    let mut stats = CheckStats::default();
    let c = &*compilers[a].1;
    let result = if generated {
        // A generated case (the rest of the input drives the generator).
        let Ok(case) = crate::gen::generate(&mut u, &crate::gen::GenConfig::default()) else {
            return;
        };
        crate::cache_check::check_generated(c, &case, &opts, &mut stats)
    } else {
        let Ok(i) = u.choose_index(files.len()) else {
            return;
        };
        check_test_file(c, &files[i], &opts, &mut stats)
    };
    if let Err(e) = result {
        panic!("icache: {e}");
    }
}

#[cfg(test)]
mod icache_tests {
    #[test]
    fn icache_runs_on_small_inputs() {
        let long: Vec<u8> = (0..600u32).map(|i| (i * 31 + 7) as u8).collect();
        for input in [
            &b""[..],
            b"\x00",
            b"\x01\x07\x01\xff\x00\x10",
            &[9u8; 40],
            &[1u8; 300],
            &long,
        ] {
            super::icache(input);
        }
    }
}

/// `fuzzgen`: a random IR case (the `kir` generator) with a compiler variation drawn from
/// the first bytes, checked like one `kiln diff` case: interpreter, x86_64 and AArch64 must
/// agree. On a disagreement the case is saved, materialized, to `$KILN_CORPUS_DIR` or
/// `<repo>/corpora/fuzzgen` (see [`crate::diff::materialize::default_corpus_dir`]), and
/// the target panics with the replay command. Timeouts are inconclusive, not failures.
///
/// An input shorter than [`FUZZGEN_SEED_LEN`] bytes is a *seed*: it is expanded to 256 to
/// 4095 bytes of the SplitMix64 stream of its FNV-1a hash (as `kiln diff` makes its cases),
/// so that libFuzzer's first, very short inputs already test full-size cases.
pub fn fuzzgen(data: &[u8]) {
    use crate::diff::materialize::{default_corpus_dir, save_case, Provenance};
    use crate::diff::{check_case, with_quiet_panics, Case, DiffOptions, Variation};
    let expanded;
    let data = if data.len() < FUZZGEN_SEED_LEN {
        expanded = crate::hashing::seed_bytes(crate::hashing::fnv1a_of(data), 256, 4096);
        &expanded[..]
    } else {
        data
    };
    let mut u = Unstructured::new(data);
    let variation = Variation::arbitrary(&mut u);
    let Ok(generated) = crate::gen::generate(&mut u, &crate::gen::GenConfig::default()) else {
        return;
    };
    let case = Case::from(generated);
    let variation = variation.fitted_to(&case.functions);
    // libFuzzer's panic hook aborts: keep it away from the panics `check_case` catches, so
    // that a compiler panic is saved as a case like any other disagreement.
    let result = with_quiet_panics(|| check_case(&case, &variation, &DiffOptions::default()));
    if !result.verdict.class.is_failure() {
        return;
    }
    let dir = default_corpus_dir();
    match save_case(&dir, &case, &variation, &result, &Provenance::Fuzz) {
        Ok(path) => panic!(
            "fuzzgen: {} ({})\nsaved; replay with: kiln replay {}",
            result.verdict.class,
            result.verdict.detail,
            path.display()
        ),
        Err(e) => panic!(
            "fuzzgen: {} ({}); could not save the case to {}: {e}",
            result.verdict.class,
            result.verdict.detail,
            dir.display()
        ),
    }
}

/// Inputs of `fuzzgen` shorter than this are seeds of a full-size case (see [`fuzzgen`]).
pub const FUZZGEN_SEED_LEN: usize = 64;

#[cfg(test)]
mod fuzzgen_tests {
    #[test]
    fn fuzzgen_runs_on_small_inputs() {
        for len in [0usize, 1, 16, 300, 2000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 131 + 7) as u8).collect();
            super::fuzzgen(&data);
        }
    }

    /// A one-byte input is the seed of a full-size case, not a near-empty function.
    #[test]
    fn short_inputs_are_seeds_of_full_cases() {
        for seed in [[0u8], [7], [200]] {
            let bytes = crate::hashing::seed_bytes(crate::hashing::fnv1a_of(&seed), 256, 4096);
            assert!(bytes.len() >= 256);
            let generated = crate::gen::generate(
                &mut arbitrary::Unstructured::new(&bytes),
                &crate::gen::GenConfig::default(),
            )
            .expect("the generator takes any bytes");
            let file = crate::diff::Case::from(generated).to_test_file();
            let n = crate::reduce::kir::instruction_count(&file);
            assert!(n >= 20, "seed {seed:?}: only {n} instructions");
        }
    }
}

/// `wasm_diff`: one `kiln diff --generator wasm` case per input — a compiler variation
/// drawn from the first bytes, then a wasm-smith module and its invocations
/// ([`crate::gen::wasm::diff_case`]) — checked on wasmi, Kiln's interpreter, x86_64 and
/// AArch64 ([`crate::diff::wasm::check_wasm_case`]). On a disagreement the case is saved
/// (`<hash>.wasm` + `<hash>.json`) to `$KILN_CORPUS_DIR` or `<repo>/corpora/wasm/`, and the
/// target panics with the replay and reduce commands. Stack or fuel exhaustion is
/// inconclusive, not a failure — except a runaway (a Kiln engine out of fuel on a call
/// wasmi finished, see [`crate::diff::wasm::RunawayBudget`]), which is one.
pub fn wasm_diff(data: &[u8]) {
    wasm_diff_checked(data, WasmSource::Smith);
}

/// `wasm_flow_diff`: [`wasm_diff`] with Kiln's own module generator
/// ([`crate::gen::wasm_flow::flow_case`]: locals written inside nested blocks, loops and
/// ifs) instead of wasm-smith; findings are saved the same way.
pub fn wasm_flow_diff(data: &[u8]) {
    wasm_diff_checked(data, WasmSource::Flow);
}

/// [`wasm_diff`] or [`wasm_flow_diff`], returning the result of the case (`None`: the input
/// made no case).
fn wasm_diff_checked(data: &[u8], source: WasmSource) -> Option<crate::diff::wasm::WasmCaseResult> {
    use crate::diff::materialize::{corpus_dir, save_wasm_case, wasm_sidecar};
    use crate::diff::wasm::{check_wasm_case, WasmDiffOptions};
    use crate::diff::{with_quiet_panics, Variation};
    let mut u = Unstructured::new(data);
    let variation = Variation::arbitrary(&mut u).unpadded();
    let cache_check = u8::arbitrary(&mut u).unwrap_or(0) % 16 == 0;
    let case = source.case(&mut u).ok()?;
    let target = match source {
        WasmSource::Smith => "wasm_diff",
        WasmSource::Flow => "wasm_flow_diff",
    };
    let variation = variation.fitted_to_module(&case.wasm);
    let settings = variation.engine_settings();
    let result = with_quiet_panics(|| {
        check_wasm_case(&case, &settings, &WasmDiffOptions::default(), cache_check)
    });
    if !result.verdict.class.is_failure() {
        return Some(result);
    }
    let dir = corpus_dir("wasm");
    let directive = crate::filetest::settings_directive(&settings);
    let sidecar = wasm_sidecar(
        &case,
        &directive,
        cache_check,
        &result,
        &format!("cargo +nightly fuzz run {target}"),
    );
    match save_wasm_case(&dir, &case, &sidecar) {
        Ok(path) => panic!(
            "{target}: {} ({})\nsaved; replay with: kiln replay {}\nreduce with: kiln reduce {}",
            result.verdict.class,
            result.verdict.detail,
            path.display(),
            path.display()
        ),
        Err(e) => panic!(
            "{target}: {} ({}); could not save the case to {}: {e}",
            result.verdict.class,
            result.verdict.detail,
            dir.display()
        ),
    }
}

#[cfg(test)]
mod wasm_diff_tests {
    use super::WasmSource;

    /// Fixed pseudo-random inputs: every generated case agrees on every engine, and most
    /// inputs make a case that runs something (`wasm_diff` and `wasm_flow_diff`).
    #[test]
    fn wasm_diff_agrees_on_fixed_inputs() {
        for (source, least) in [(WasmSource::Smith, 3), (WasmSource::Flow, 8)] {
            let mut state = 5u64;
            let mut ran = 0;
            for len in [0usize, 1, 64, 2000, 4000, 8000, 12000, 16000] {
                let data: Vec<u8> = (0..len)
                    .map(|_| crate::hashing::splitmix64(&mut state) as u8)
                    .collect();
                if let Some(r) = super::wasm_diff_checked(&data, source) {
                    ran += usize::from(r.instantiated);
                }
            }
            assert!(
                ran >= least,
                "{source:?}: only {ran} inputs made a module that instantiated"
            );
        }
    }
}

/// `wasm_compile`: a wasm-smith module of Kiln's feature set ([`crate::gen::wasm`]) must
/// compile on x86_64 and AArch64 (allocator and x86_64 CPU preset drawn from the input,
/// regalloc checker on) without an error or a panic: every generated module is valid, so
/// any error is a bug. For half the inputs it is also compiled twice through an in-memory
/// cache store, cold then warm (from the translation memo), and both must link to exactly
/// the fresh compile's text and trap sites. On failure the module is written to
/// `$KILN_CORPUS_DIR` or `<repo>/corpora/wasm_compile/` as `<hash>.wasm`.
pub fn wasm_compile(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let pick = u8::arbitrary(&mut u).unwrap_or(0);
    let Ok(wasm) = crate::gen::wasm::module(&mut u) else {
        return;
    };
    let regalloc = if pick & 1 == 0 {
        "backtracking"
    } else {
        "single_pass"
    };
    let cpu = ["x86_64", "x86_64-v2", "x86_64-v3"][usize::from(pick >> 1) % 3];
    // Half of the baseline cases get what SIMD needs; the others compile with SIMD off,
    // where a module using `v128` must be refused with `SimdDisabled` (and nothing else).
    let baseline_with_simd = pick & 8 != 0;
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let mut b = kiln::CompilerBuilder::for_target(arch.name()).expect("known target");
        if arch == Arch::X86_64 {
            b.preset(cpu).expect("known preset");
            if cpu == "x86_64" && baseline_with_simd {
                for flag in kiln::settings::isa::simd_requirements(arch) {
                    b.enable(flag).expect("known setting");
                }
            }
        }
        b.set("regalloc", regalloc).expect("known setting");
        b.set("regalloc_checker", "true").expect("known setting");
        let simd = b.settings().isa().check_simd().is_ok();
        b.set("enable_simd", if simd { "true" } else { "false" })
            .expect("known setting");
        let compiler = b.build().expect("valid settings");
        let opts = kiln::module::ModuleOptions {
            jobs: None,
            progress: None,
        };
        let result = kiln::module::compile_module(&*compiler, &wasm, &opts);
        let refused_for_simd = matches!(
            &result,
            Err(kiln::module::ModuleError::Codegen {
                error: kiln::CodegenError::SimdDisabled(_),
                ..
            })
        );
        if refused_for_simd && !simd {
            continue;
        }
        let save = || {
            let dir = crate::diff::materialize::corpus_dir("wasm_compile");
            let name = format!("{:016x}.wasm", crate::hashing::fnv1a_of(&wasm));
            std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(dir.join(&name), &wasm))
                .map(|()| dir.join(&name).display().to_string())
                .unwrap_or_else(|err| format!("(not saved: {err})"))
        };
        let fresh = match result {
            Ok(m) => m,
            Err(e) => panic!(
                "wasm_compile: {arch} ({cpu}, {regalloc}): {e}\nmodule saved: {}",
                save()
            ),
        };
        if pick & 16 != 0 {
            if let Err(why) = cached_compiles_match(b, &wasm, &fresh) {
                panic!(
                    "wasm_compile: {arch} ({cpu}, {regalloc}), through a cache store: {why}\nmodule saved: {}",
                    save()
                );
            }
        }
    }
}

/// Compile `wasm` with `builder`'s settings through an empty in-memory store (every function
/// a miss), then again (every function from the module's translation memo): both must give
/// `fresh`'s text and trap sites, and the second must be all memo hits.
fn cached_compiles_match(
    mut builder: kiln::CompilerBuilder,
    wasm: &[u8],
    fresh: &kiln::module::CompiledModule,
) -> Result<(), String> {
    let store = std::sync::Arc::new(kiln::cache::MemoryStore::new());
    builder.cache_store(Some(store as std::sync::Arc<dyn kiln::cache::CacheStore>));
    let compiler = builder.build().map_err(|e| e.to_string())?;
    let opts = kiln::module::ModuleOptions::default();
    for round in ["cold", "warm"] {
        let m = kiln::module::compile_module(&*compiler, wasm, &opts)
            .map_err(|e| format!("{round} compile failed: {e}"))?;
        if m.text != fresh.text || m.traps != fresh.traps {
            return Err(format!("the {round} compile differs from a fresh one"));
        }
        let expected_memo_hits = if round == "warm" {
            m.stats.functions
        } else {
            0
        };
        if m.stats.memo_hits != expected_memo_hits {
            return Err(format!(
                "{round} compile: {} of {} functions from the memo, expected {expected_memo_hits}",
                m.stats.memo_hits, m.stats.functions
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod wasm_compile_tests {
    /// Fixed pseudo-random inputs (set `KILN_SEED` for others): generated modules compile.
    #[test]
    fn wasm_compile_accepts_generated_modules() {
        let seed: u64 = std::env::var("KILN_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        let mut x = seed;
        for case in 0..60 {
            let len = [16usize, 200, 1000, 4000][case % 4];
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            super::wasm_compile(&data);
        }
    }
}
