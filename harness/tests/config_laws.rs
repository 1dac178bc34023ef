//! Property tests of `kiln::Config` (the laws in its module docs): for random sequences of
//! Config calls, any permutation that keeps the relative order of calls to the same setter,
//! with any calls duplicated in place, builds the same compiler — the same error, or an
//! equal settings fingerprint and byte-identical machine code for the fixed filetests
//! `kiln_harness::fuzz::CONFIG_FILETESTS` — on each ISA.
//!
//! The comparison itself is `kiln_harness::fuzz::check_equivalent_configs`, shared with the
//! `config` fuzz target. Each ISA's test pins the target pool to that ISA and requires that
//! a fair share of the cases actually build (so the code comparison is not vacuous).

use kiln::{Arch, OptLevel, RegallocAlgorithm};
use kiln_harness::fuzz::{
    check_equivalent_configs, config_setting_names, config_value, equivalent_config_ops,
    ConfigCheck, ConfigOp, CONFIG_CPUS,
};
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestRunner};
use std::cell::Cell;

fn op(targets: &'static [&'static str]) -> impl Strategy<Value = ConfigOp> {
    let names = config_setting_names();
    prop_oneof![
        1 => prop::sample::select(targets).prop_map(ConfigOp::Target),
        1 => prop::sample::select(CONFIG_CPUS).prop_map(ConfigOp::Cpu),
        1 => prop::sample::select(vec![OptLevel::None, OptLevel::Speed, OptLevel::SpeedAndSize])
            .prop_map(ConfigOp::OptLevel),
        1 => any::<bool>().prop_map(|b| ConfigOp::Regalloc(if b {
            RegallocAlgorithm::Backtracking
        } else {
            RegallocAlgorithm::SinglePass
        })),
        4 => any::<bool>().prop_map(ConfigOp::Simd),
        1 => prop::bool::weighted(0.1).prop_map(ConfigOp::NanCanonicalization),
        1 => prop::sample::select(names).prop_map(ConfigOp::Enable),
        6 => (prop::sample::select(names), any::<usize>(), prop::bool::weighted(0.05))
            .prop_map(|(n, pick, bad)| ConfigOp::Set(n, config_value(n, pick, bad))),
    ]
}

/// Run the law on `cases` random sequences for one ISA's targets; returns how many built.
fn laws_for(arch: Arch, targets: &'static [&'static str], cases: u32) -> u32 {
    let built = Cell::new(0u32);
    let mut runner = TestRunner::new(PtConfig {
        cases,
        failure_persistence: None,
        ..PtConfig::default()
    });
    // A target call somewhere in every sequence (the shuffle moves it), so that the ISA is
    // the one under test rather than the host's.
    let strategy = prop::collection::vec(op(targets), 0..12).prop_flat_map(move |mut ops| {
        ops.insert(0, ConfigOp::Target(targets[0]));
        let n = ops.len();
        (
            Just(ops),
            Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
            prop::collection::vec(prop::bool::weighted(0.3), n),
        )
    });
    runner
        .run(&strategy, |(ops, order, dup)| {
            let other = equivalent_config_ops(&ops, &order, &dup);
            match check_equivalent_configs(&ops, &other) {
                ConfigCheck::Built(a) => {
                    prop_assert_eq!(a, arch);
                    built.set(built.get() + 1);
                }
                ConfigCheck::Refused => {}
            }
            Ok(())
        })
        .unwrap();
    built.get()
}

#[test]
fn config_laws_x86_64() {
    let built = laws_for(Arch::X86_64, &["x86_64-unknown-linux-gnu", "x86_64"], 96);
    println!("x86_64: {built} of 96 cases built and compiled identically");
    assert!(built >= 10, "only {built} of 96 cases built");
}

#[test]
fn config_laws_aarch64() {
    let built = laws_for(Arch::Aarch64, &["aarch64-unknown-linux-gnu", "aarch64"], 96);
    println!("aarch64: {built} of 96 cases built and compiled identically");
    assert!(built >= 10, "only {built} of 96 cases built");
}

/// Duplicating every call and reversing independent ones, on a fixed sequence per ISA.
#[test]
fn config_laws_fixed_sequences() {
    use ConfigOp::*;
    for (target, cpu) in [("x86_64", "x86_64-v3"), ("aarch64", "generic")] {
        let ops = vec![
            Set("regalloc", "single_pass"),
            Cpu(cpu),
            Simd(true),
            OptLevel(kiln::OptLevel::Speed),
            Target(target),
        ];
        let n = ops.len();
        let other = equivalent_config_ops(&ops, &(0..n).rev().collect::<Vec<_>>(), &vec![true; n]);
        assert!(matches!(
            check_equivalent_configs(&ops, &other),
            ConfigCheck::Built(_)
        ));
    }
}
