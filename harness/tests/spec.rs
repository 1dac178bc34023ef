//! The WebAssembly spec test suite (`../shared/testdata/spec/wasm-2.0`, Wasm 2.0): one test
//! per script, each run by `kiln wast`'s runner on the interpreter, x86_64 and AArch64
//! (each engine in a fresh store) and required to have no failure and no skip. Also: every
//! script of the directory has a test, and
//! the hand-written scripts under `harness/tests/wast/` pass on all three engines with
//! each register allocator.
//!
//! `cargo test -p kiln-harness --test spec i32` runs one script; `kiln wast FILE` prints the
//! same report from the command line.

use kiln_harness::wast::{collect_wast_files, run_script, ScriptReport, WastOptions};
use std::path::PathBuf;

fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata/spec/wasm-2.0")
}

/// At most this many failures are listed in a panic message.
const MAX_LISTED: usize = 200;

fn failure_list(r: &ScriptReport) -> String {
    let mut s = String::new();
    for f in r.failures().take(MAX_LISTED) {
        s.push_str(&format!("\n  {f}"));
    }
    if r.failed() as usize > MAX_LISTED {
        s.push_str(&format!(
            "\n  ... and {} more",
            r.failed() as usize - MAX_LISTED
        ));
    }
    s
}

/// Run one spec script on all three engines.
fn check_spec(stem: &str) {
    let path = spec_dir().join(format!("{stem}.wast"));
    let report = run_script(&path, &WastOptions::default());
    println!("{}: {}", path.display(), report.counts_line());
    assert_eq!(report.engines.len(), 3, "{}", failure_list(&report));
    assert!(
        report.failed() == 0,
        "{}: {}{}",
        path.display(),
        report.counts_line(),
        failure_list(&report)
    );
    assert!(report.passed() > 0, "{}: nothing passed", path.display());
    assert!(
        report.skipped() == 0,
        "{}: every directive must be checked on every engine: {}\n  first skip: {:?}",
        path.display(),
        report.counts_line(),
        report.skips().next()
    );
}

macro_rules! spec_tests {
    ($($name:ident => $stem:literal,)*) => {
        $(
            #[test]
            fn $name() {
                check_spec($stem);
            }
        )*

        /// The stems of the scripts that have a test.
        const STEMS: &[&str] = &[$($stem),*];
    };
}

spec_tests! {
    address => "address",
    align => "align",
    binary_leb128 => "binary-leb128",
    binary => "binary",
    block => "block",
    br => "br",
    br_if => "br_if",
    br_table => "br_table",
    bulk => "bulk",
    call => "call",
    call_indirect => "call_indirect",
    comments => "comments",
    r#const => "const",
    conversions => "conversions",
    custom => "custom",
    data => "data",
    elem => "elem",
    endianness => "endianness",
    exports => "exports",
    f32 => "f32",
    f32_bitwise => "f32_bitwise",
    f32_cmp => "f32_cmp",
    f64 => "f64",
    f64_bitwise => "f64_bitwise",
    f64_cmp => "f64_cmp",
    fac => "fac",
    float_exprs => "float_exprs",
    float_literals => "float_literals",
    float_memory => "float_memory",
    float_misc => "float_misc",
    forward => "forward",
    func => "func",
    func_ptrs => "func_ptrs",
    global => "global",
    i32 => "i32",
    i64 => "i64",
    r#if => "if",
    imports => "imports",
    inline_module => "inline-module",
    int_exprs => "int_exprs",
    int_literals => "int_literals",
    labels => "labels",
    left_to_right => "left-to-right",
    linking => "linking",
    load => "load",
    local_get => "local_get",
    local_set => "local_set",
    local_tee => "local_tee",
    r#loop => "loop",
    memory => "memory",
    memory_copy => "memory_copy",
    memory_fill => "memory_fill",
    memory_grow => "memory_grow",
    memory_init => "memory_init",
    memory_redundancy => "memory_redundancy",
    memory_size => "memory_size",
    memory_trap => "memory_trap",
    names => "names",
    nop => "nop",
    obsolete_keywords => "obsolete-keywords",
    ref_func => "ref_func",
    ref_is_null => "ref_is_null",
    ref_null => "ref_null",
    r#return => "return",
    select => "select",
    simd_address => "simd_address",
    simd_align => "simd_align",
    simd_bit_shift => "simd_bit_shift",
    simd_bitwise => "simd_bitwise",
    simd_boolean => "simd_boolean",
    simd_const => "simd_const",
    simd_conversions => "simd_conversions",
    simd_f32x4 => "simd_f32x4",
    simd_f32x4_arith => "simd_f32x4_arith",
    simd_f32x4_cmp => "simd_f32x4_cmp",
    simd_f32x4_pmin_pmax => "simd_f32x4_pmin_pmax",
    simd_f32x4_rounding => "simd_f32x4_rounding",
    simd_f64x2 => "simd_f64x2",
    simd_f64x2_arith => "simd_f64x2_arith",
    simd_f64x2_cmp => "simd_f64x2_cmp",
    simd_f64x2_pmin_pmax => "simd_f64x2_pmin_pmax",
    simd_f64x2_rounding => "simd_f64x2_rounding",
    simd_i16x8_arith => "simd_i16x8_arith",
    simd_i16x8_arith2 => "simd_i16x8_arith2",
    simd_i16x8_cmp => "simd_i16x8_cmp",
    simd_i16x8_extadd_pairwise_i8x16 => "simd_i16x8_extadd_pairwise_i8x16",
    simd_i16x8_extmul_i8x16 => "simd_i16x8_extmul_i8x16",
    simd_i16x8_q15mulr_sat_s => "simd_i16x8_q15mulr_sat_s",
    simd_i16x8_sat_arith => "simd_i16x8_sat_arith",
    simd_i32x4_arith => "simd_i32x4_arith",
    simd_i32x4_arith2 => "simd_i32x4_arith2",
    simd_i32x4_cmp => "simd_i32x4_cmp",
    simd_i32x4_dot_i16x8 => "simd_i32x4_dot_i16x8",
    simd_i32x4_extadd_pairwise_i16x8 => "simd_i32x4_extadd_pairwise_i16x8",
    simd_i32x4_extmul_i16x8 => "simd_i32x4_extmul_i16x8",
    simd_i32x4_trunc_sat_f32x4 => "simd_i32x4_trunc_sat_f32x4",
    simd_i32x4_trunc_sat_f64x2 => "simd_i32x4_trunc_sat_f64x2",
    simd_i64x2_arith => "simd_i64x2_arith",
    simd_i64x2_arith2 => "simd_i64x2_arith2",
    simd_i64x2_cmp => "simd_i64x2_cmp",
    simd_i64x2_extmul_i32x4 => "simd_i64x2_extmul_i32x4",
    simd_i8x16_arith => "simd_i8x16_arith",
    simd_i8x16_arith2 => "simd_i8x16_arith2",
    simd_i8x16_cmp => "simd_i8x16_cmp",
    simd_i8x16_sat_arith => "simd_i8x16_sat_arith",
    simd_int_to_int_extend => "simd_int_to_int_extend",
    simd_lane => "simd_lane",
    simd_linking => "simd_linking",
    simd_load => "simd_load",
    simd_load16_lane => "simd_load16_lane",
    simd_load32_lane => "simd_load32_lane",
    simd_load64_lane => "simd_load64_lane",
    simd_load8_lane => "simd_load8_lane",
    simd_load_extend => "simd_load_extend",
    simd_load_splat => "simd_load_splat",
    simd_load_zero => "simd_load_zero",
    simd_select => "simd_select",
    simd_splat => "simd_splat",
    simd_store => "simd_store",
    simd_store16_lane => "simd_store16_lane",
    simd_store32_lane => "simd_store32_lane",
    simd_store64_lane => "simd_store64_lane",
    simd_store8_lane => "simd_store8_lane",
    skip_stack_guard_page => "skip-stack-guard-page",
    stack => "stack",
    start => "start",
    store => "store",
    switch => "switch",
    table_sub => "table-sub",
    table => "table",
    table_copy => "table_copy",
    table_fill => "table_fill",
    table_get => "table_get",
    table_grow => "table_grow",
    table_init => "table_init",
    table_set => "table_set",
    table_size => "table_size",
    token => "token",
    traps => "traps",
    r#type => "type",
    unreachable => "unreachable",
    unreached_invalid => "unreached-invalid",
    unreached_valid => "unreached-valid",
    unwind => "unwind",
    utf8_custom_section_id => "utf8-custom-section-id",
    utf8_import_field => "utf8-import-field",
    utf8_import_module => "utf8-import-module",
    utf8_invalid_encoding => "utf8-invalid-encoding",
}

#[test]
fn every_spec_script_has_a_test() {
    let files = collect_wast_files(&[spec_dir()]).expect("the spec suite directory");
    let mut stems: Vec<String> = files
        .iter()
        .filter_map(|p| p.file_stem()?.to_str().map(str::to_string))
        .collect();
    stems.sort();
    let mut listed: Vec<String> = STEMS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(stems, listed, "the spec_tests! list is out of date");
}

/// Every hand-written script under `harness/tests/wast/` passes on all three engines,
/// with each register allocator (the Wasm translator's options follow it, see
/// `kiln::wasm::TranslateOptions`).
#[test]
fn harness_wast_scripts() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/wast");
    let files = collect_wast_files(&[dir]).expect("harness/tests/wast");
    assert!(!files.is_empty());
    let mut problems = String::new();
    for regalloc in ["backtracking", "single_pass"] {
        let mut options = WastOptions::default();
        options
            .settings
            .settings
            .push(("regalloc".into(), regalloc.into()));
        for path in &files {
            let report = run_script(path, &options);
            println!("{} ({regalloc}): {}", path.display(), report.counts_line());
            if report.failed() > 0 || report.passed() == 0 {
                problems.push_str(&format!(
                    "\n{} ({regalloc}): {}{}",
                    path.display(),
                    report.counts_line(),
                    failure_list(&report)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{problems}");
}
