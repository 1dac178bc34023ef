//! The cache checks over every filetest on both ISAs.

use super::*;

#[test]
fn every_filetest_passes_the_cache_checks_on_both_isas() {
    let files = load_filetests().expect("filetests load");
    let compilers = check_compilers().expect("compilers build");
    let mut total = CheckStats::default();
    for (arch, c) in &compilers {
        let mut stats = CheckStats::default();
        for (i, file) in files.iter().enumerate() {
            // The expensive parts on a rotating sample of files; the rest on every file.
            let opts = CheckOptions {
                compile_mutations: i % 8 == 0,
                corruptions: i % 4 == 1,
                pick: vec![i as u8, 0x5a, (i * 7) as u8],
            };
            if let Err(e) = check_test_file(&**c, file, &opts, &mut stats) {
                panic!("{e}");
            }
        }
        println!("cache checks on {arch}: {stats}");
        assert!(stats.functions >= 700, "{stats}");
        assert!(
            stats.hits + stats.compile_errors == stats.functions,
            "{stats}"
        );
        assert!(stats.stencil_misses >= 6 * stats.hits, "{stats}");
        assert!(stats.corruptions >= 1000, "{stats}");
        assert!(stats.runs >= 1000, "{stats}");
        total.merge(&stats);
    }
    println!("cache checks, both ISAs: {total}");
}

#[test]
fn each_mutation_kind_applies_somewhere_and_misses() {
    let files = load_filetests().expect("filetests load");
    let mut kinds = std::collections::BTreeSet::new();
    for f in files.iter().flat_map(|f| &f.functions) {
        for (what, _) in mutate::stencil_mutations(f) {
            kinds.insert(what);
        }
    }
    for k in [
        "opcode",
        "immediate",
        "condition or trap code",
        "operand",
        "value type",
        "block order",
        "signature",
        "callee signature",
        "external function",
        "constant",
        "jump table",
        "stack slot size",
        "relative source location",
    ] {
        assert!(
            kinds.contains(k),
            "no filetest exercises the `{k}` mutation"
        );
    }
}

#[test]
fn a_broken_key_would_be_caught() {
    // A compiler whose key ignores the stencil: every mutation must be reported.
    struct Blind(Box<dyn Compiler>);
    impl Compiler for Blind {
        fn triple(&self) -> &kiln::Triple {
            self.0.triple()
        }
        fn settings(&self) -> &kiln::Settings {
            self.0.settings()
        }
        fn link_options(&self) -> kiln::module::LinkOptions {
            self.0.link_options()
        }
        fn compile_function_stencil(
            &self,
            func: &Function,
        ) -> Result<kiln::machinst::CompiledCodeStencil, kiln::CodegenError> {
            self.0.compile_function_stencil(func)
        }
        fn cache_key(&self, _: &kiln::ir::FunctionStencil) -> kiln::cache::CacheKey {
            kiln::cache::CacheKey([0; 32])
        }
    }
    let (_, c) = check_compilers().unwrap().remove(0);
    let blind = Blind(c);
    let f = &text::parse_functions(FOREIGN_SRC).unwrap()[0];
    let e = check_function(
        &blind,
        f,
        None,
        &CheckOptions::default(),
        &mut CheckStats::default(),
    )
    .unwrap_err();
    assert!(e.contains("kept the key"), "{e}");
}

#[test]
fn generated_cases_pass_the_cache_checks_on_both_isas() {
    let compilers = check_compilers().expect("compilers build");
    let cfg = crate::gen::GenConfig::default();
    let mut stats = CheckStats::default();
    for seed in 0..24u32 {
        let bytes: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed * 7919) >> 13) as u8)
            .collect();
        let mut u = arbitrary::Unstructured::new(&bytes);
        let case = crate::gen::generate(&mut u, &cfg).expect("generates");
        let (_, c) = &compilers[seed as usize % compilers.len()];
        let opts = CheckOptions {
            compile_mutations: seed % 3 == 0,
            corruptions: true,
            pick: bytes[..8].to_vec(),
        };
        if let Err(e) = check_generated(&**c, &case, &opts, &mut stats) {
            panic!("seed {seed}: {e}");
        }
    }
    println!("cache checks on generated cases: {stats}");
    assert!(stats.functions >= 24 && stats.runs >= 1, "{stats}");
}
