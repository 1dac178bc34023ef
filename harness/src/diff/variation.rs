//! The compiler variation of one differential case: register allocator, optimisation level,
//! x86_64 CPU (a preset, or the baseline plus individual ISA flags), and in one case in
//! [`PADDED_ONE_IN`] 129 to 192 MiB of link padding between the functions, so that calls
//! between them go through AArch64's far-call veneers (beyond `bl`'s ±128 MiB; x86_64's
//! ±2 GiB is not reached, so `lea` of a function address still links).
//!
//! Invariants: a variation is a pure function of its seed ([`Variation::from_seed`]) or of
//! the bytes it was drawn from ([`Variation::arbitrary`]); [`Variation::directive`] writes
//! every choice explicitly (nothing is left to a default), so the recorded
//! `; engine-settings:` line reproduces exactly the compilers the case ran with (whether
//! SIMD is on is not a choice of the variation: the engines turn it on exactly where the
//! recorded x86_64 CPU has SSSE3 and SSE4.1, see `engine_settings`); and every variation
//! builds a compiler on both architectures (only existing presets, settings and values are
//! chosen).

use crate::engine::EngineSettings;
use crate::hashing::splitmix64;
use arbitrary::Unstructured;
use kiln::isa::Arch;
use kiln::settings::isa::X86_64_SETTINGS;
use kiln::settings::IsaFlags;
use std::fmt;

/// Register allocators to choose from.
const REGALLOCS: &[&str] = &["backtracking", "single_pass"];
/// Optimisation levels to choose from.
const OPT_LEVELS: &[&str] = &["none", "speed", "speed_and_size"];
/// x86_64 CPU presets to choose from (`native` is excluded: it depends on the host).
const X86_PRESETS: &[&str] = &["x86_64", "x86_64-v2", "x86_64-v3"];
/// One variation in this many links with padding between the functions.
pub const PADDED_ONE_IN: usize = 16;

/// One per-case compiler configuration. See the module docs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Variation {
    /// `regalloc` value.
    pub regalloc: &'static str,
    /// `opt_level` value.
    pub opt_level: &'static str,
    /// The x86_64 CPU preset.
    pub x86_cpu: &'static str,
    /// Individual x86_64 ISA flags set on top of the preset (names from
    /// [`X86_64_SETTINGS`], in table order).
    pub x86_flags: Vec<&'static str>,
    /// Virtual bytes linked between consecutive functions (0: none).
    pub link_padding: u64,
}

impl Default for Variation {
    /// The engines' defaults: backtracking, `opt_level=none`, the SSE2 baseline.
    fn default() -> Self {
        Variation {
            regalloc: REGALLOCS[0],
            opt_level: OPT_LEVELS[0],
            x86_cpu: X86_PRESETS[0],
            x86_flags: Vec::new(),
            link_padding: 0,
        }
    }
}

impl Variation {
    /// The variation of a case seed (`kiln diff`): a fixed function of `seed`.
    pub fn from_seed(seed: u64) -> Variation {
        let mut state = seed ^ 0x005e_ed0f_c0de_u64;
        let bytes: Vec<u8> = (0..16)
            .flat_map(|_| splitmix64(&mut state).to_le_bytes())
            .collect();
        Variation::arbitrary(&mut Unstructured::new(&bytes))
    }

    /// A variation drawn from fuzzer bytes (total: exhausted bytes give the defaults).
    pub fn arbitrary(u: &mut Unstructured<'_>) -> Variation {
        let mut pick = |n: usize| -> usize {
            if n <= 1 {
                0
            } else {
                u.int_in_range(0..=n - 1).unwrap_or(0)
            }
        };
        let regalloc = REGALLOCS[pick(REGALLOCS.len())];
        let opt_level = OPT_LEVELS[pick(OPT_LEVELS.len())];
        // 0..=2: baseline, 3..=4: v2, 5..=6: v3, 7..=9: baseline plus individual flags.
        let (x86_cpu, x86_flags) = match pick(10) {
            0..=2 => (X86_PRESETS[0], Vec::new()),
            3 | 4 => (X86_PRESETS[1], Vec::new()),
            5 | 6 => (X86_PRESETS[2], Vec::new()),
            _ => {
                let mask = pick(1 << X86_64_SETTINGS.len());
                let flags = X86_64_SETTINGS
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, s)| s.name)
                    .collect();
                (X86_PRESETS[0], flags)
            }
        };
        // Drawn last, so the choices above do not depend on it.
        let link_padding = if pick(PADDED_ONE_IN) == PADDED_ONE_IN - 1 {
            (129 + pick(64) as u64) << 20
        } else {
            0
        };
        Variation {
            regalloc,
            opt_level,
            x86_cpu,
            x86_flags,
            link_padding,
        }
    }

    /// This variation fitted to a case made of `functions`: no link padding when one of
    /// them calls a libcall. (AArch64 calls libcalls with `bl`, an `Arm64Call` relocation
    /// the loader resolves to the runtime's stubs below the code; from more than 126 MiB
    /// into an image they are out of reach, and the harness's loader has no veneers for
    /// them, so such a case could not be loaded.)
    ///
    /// And when one of them uses a vector type, the x86_64 CPU gets what vector code needs
    /// (SSSE3 and SSE4.1, added to the flags of a variation that lacks them), so that the
    /// engines compile it with SIMD on; scalar cases keep the plain baseline.
    pub fn fitted_to(mut self, functions: &[kiln::ir::Function]) -> Variation {
        if functions.iter().any(|f| f.first_vector_type().is_some()) {
            if let Ok(isa) = IsaFlags::from_preset(Arch::X86_64, self.x86_cpu) {
                let missing: Vec<&'static str> = isa
                    .missing_for_simd()
                    .filter(|f| !self.x86_flags.contains(f))
                    .collect();
                self.x86_flags.extend(missing);
            }
            // Keep the flags in table order.
            self.x86_flags
                .sort_by_key(|f| X86_64_SETTINGS.iter().position(|s| s.name == *f));
        }
        let libcalls = functions.iter().any(|f| {
            f.dfg
                .ext_funcs
                .values()
                .any(|e| matches!(e.name, kiln::ir::ExternalName::LibCall(_)))
        });
        if libcalls {
            self.link_padding = 0;
        }
        self
    }

    /// This variation fitted to the Wasm module `wasm` (see [`Self::fitted_to`]): the x86_64
    /// CPU gets what vector code needs when a function uses `v128`. A module that does not
    /// translate is left to the engines to refuse.
    pub fn fitted_to_module(self, wasm: &[u8]) -> Variation {
        match kiln::module::translate_module(wasm, Some(1)) {
            Ok((_, functions)) => self.fitted_to(&functions),
            Err(_) => self,
        }
    }

    /// This variation without link padding (Wasm modules call the runtime's libcalls and
    /// builtins; see [`Variation::fitted_to`]).
    pub fn unpadded(mut self) -> Variation {
        self.link_padding = 0;
        self
    }

    /// The engine settings of this variation (a preset plus named settings; the preset
    /// only applies to x86_64, the shared settings to both compiled engines).
    pub fn engine_settings(&self) -> EngineSettings {
        let mut settings = vec![
            ("regalloc".to_string(), self.regalloc.to_string()),
            ("opt_level".to_string(), self.opt_level.to_string()),
        ];
        settings.extend(
            self.x86_flags
                .iter()
                .map(|f| (f.to_string(), "true".to_string())),
        );
        EngineSettings {
            cpu: Some(self.x86_cpu.to_string()),
            settings,
            link_padding: self.link_padding,
        }
    }

    /// The body of the `; engine-settings:` directive that records this variation, e.g.
    /// `cpu=x86_64-v3 regalloc=single_pass opt_level=speed`.
    pub fn directive(&self) -> String {
        settings_directive(&self.engine_settings())
    }
}

pub use crate::filetest::settings_directive;

impl fmt::Display for Variation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.directive())
    }
}

/// Would a compiler built with `settings` canonicalize NaNs (so results must match
/// bit-for-bit)? True when `enable_nan_canonicalization=true` is among them. No backend
/// implements the setting yet (building with it fails), so variations never enable it;
/// the comparison honours it so that turning it on later needs no change here.
pub fn canonical_nans(settings: &EngineSettings) -> bool {
    settings
        .settings
        .iter()
        .rev()
        .find(|(n, _)| n == "enable_nan_canonicalization")
        .is_some_and(|(_, v)| v == "true")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineKind;

    #[test]
    fn variations_are_deterministic_varied_and_always_build() {
        let mut seen_flags = false;
        let mut seen = std::collections::HashSet::new();
        for seed in 0..200u64 {
            let v = Variation::from_seed(seed);
            assert_eq!(v, Variation::from_seed(seed));
            seen_flags |= !v.x86_flags.is_empty();
            seen.insert((v.regalloc, v.opt_level, v.x86_cpu));
            if seed < 24 {
                v.engine_settings().validate(EngineKind::ALL).unwrap();
            }
        }
        assert!(seen_flags);
        let padded = (0..200u64)
            .filter(|&s| Variation::from_seed(s).link_padding != 0)
            .count();
        assert!((4..=30).contains(&padded), "{padded} padded of 200");
        assert!(seen.len() >= 12, "{}", seen.len());
        assert_eq!(
            Variation::arbitrary(&mut Unstructured::new(&[])),
            Variation::default()
        );
    }

    #[test]
    fn cases_with_vectors_get_what_simd_needs_and_scalar_cases_keep_the_baseline() {
        use kiln::ir::text::parse_functions;
        let vector = parse_functions(
            "function %v(i32x4) -> i32x4 {\nblock0(v0: i32x4):\n    return v0\n}\n",
        )
        .unwrap();
        let scalar =
            parse_functions("function %s(i32) -> i32 {\nblock0(v0: i32):\n    return v0\n}\n")
                .unwrap();
        let base = Variation {
            x86_flags: vec!["has_popcnt", "has_sse42"],
            ..Variation::default()
        };
        assert_eq!(base.clone().fitted_to(&scalar), base);
        let fitted = base.clone().fitted_to(&vector);
        let mut flags = fitted.x86_flags.clone();
        flags.sort_unstable();
        assert_eq!(
            flags,
            ["has_popcnt", "has_sse41", "has_sse42", "has_ssse3"],
            "{fitted}"
        );
        let positions: Vec<usize> = fitted
            .x86_flags
            .iter()
            .map(|f| X86_64_SETTINGS.iter().position(|s| s.name == *f).unwrap())
            .collect();
        assert!(positions.is_sorted(), "not in table order: {fitted}");
        let settings = fitted.engine_settings();
        let b = settings.builder(Arch::X86_64).unwrap();
        assert!(b.settings().shared().enable_simd());
        settings.validate(EngineKind::ALL).unwrap();
        // A preset that has both is left alone.
        let v2 = Variation {
            x86_cpu: "x86_64-v2",
            ..Variation::default()
        };
        assert_eq!(v2.clone().fitted_to(&vector), v2);
    }

    #[test]
    fn directive_is_explicit_and_nan_flag_is_read() {
        let v = Variation {
            regalloc: "single_pass",
            opt_level: "speed",
            x86_cpu: "x86_64",
            x86_flags: vec!["has_popcnt", "has_bmi1"],
            link_padding: 0,
        };
        assert_eq!(
            v.directive(),
            "cpu=x86_64 regalloc=single_pass opt_level=speed has_popcnt=true has_bmi1=true"
        );
        // Link padding is recorded, and read back.
        let padded = Variation {
            link_padding: 130 << 20,
            ..v.clone()
        };
        let d = padded.directive();
        assert!(d.ends_with(" link_padding=136314880"), "{d}");
        assert_eq!(
            crate::filetest::parse_engine_settings(&d).unwrap(),
            padded.engine_settings()
        );
        assert!(crate::filetest::parse_engine_settings("link_padding=lots").is_err());
        assert!(!canonical_nans(&v.engine_settings()));
        let mut s = v.engine_settings();
        s.settings
            .push(("enable_nan_canonicalization".into(), "true".into()));
        assert!(canonical_nans(&s));
    }
}
