//! Per-ISA flags and named CPU presets.
//!
//! Owns [`IsaFlags`] (the flags of one architecture, as bits indexed by the position of
//! the flag in that architecture's table), the tables [`X86_64_SETTINGS`] and
//! [`AARCH64_SETTINGS`], and the [`Preset`]s with host detection for `native`.
//!
//! Invariants: every ISA flag is a bool whose default is `false`, so the all-clear value
//! is the baseline (SSE2 on x86_64, ARMv8.0-A with NEON on AArch64) and code built with it
//! runs on every CPU of the architecture; flags never imply each other (a preset sets a
//! list of them, nothing more); a flag only *permits* lowering to use an instruction.
//! The backends map these flags onto their own flag structs inside `crate::isa`.

use super::shared::parse_bool;
use super::{SettingError, SettingInfo, SettingKind, SettingScope};
use crate::arch::Arch;

macro_rules! isa_flag {
    ($arch:ident, $name:literal, $docs:literal) => {
        SettingInfo {
            name: $name,
            scope: SettingScope::Isa(Arch::$arch),
            kind: SettingKind::Bool,
            default: "false",
            docs: $docs,
        }
    };
}

/// The x86_64 flags, in canonical order. All off is the SSE2 baseline.
pub const X86_64_SETTINGS: &[SettingInfo] = &[
    isa_flag!(X86_64, "has_sse3", "SSE3. Not used by lowering yet."),
    isa_flag!(
        X86_64,
        "has_ssse3",
        "Supplemental SSE3: pshufb (i8x16 splat). Required, with has_sse41, by enable_simd."
    ),
    isa_flag!(
        X86_64,
        "has_sse41",
        "SSE4.1: roundss/roundsd (ceil, floor, trunc, nearest without a libcall), pmulld, pinsrb/d/q, pextrb/d/q, pcmpeqq. Required by enable_simd."
    ),
    isa_flag!(X86_64, "has_sse42", "SSE4.2: pcmpgtq (i64x2 signed compares)."),
    isa_flag!(X86_64, "has_popcnt", "POPCNT: the popcnt instruction."),
    isa_flag!(X86_64, "has_lzcnt", "LZCNT (ABM): lzcnt for clz."),
    isa_flag!(X86_64, "has_bmi1", "BMI1: tzcnt for ctz."),
    isa_flag!(X86_64, "has_bmi2", "BMI2. Not used by lowering yet."),
    isa_flag!(X86_64, "has_avx", "AVX: three-operand VEX forms of the vector and float SSE operations."),
    isa_flag!(X86_64, "has_avx2", "AVX2. Not used by lowering yet."),
];

/// The AArch64 flags, in canonical order. All off is ARMv8.0-A with NEON.
pub const AARCH64_SETTINGS: &[SettingInfo] = &[isa_flag!(
    Aarch64,
    "has_lse",
    "ARMv8.1 Large System Extensions (atomics). Not used by lowering yet."
)];

/// The ISA settings of `arch`, in canonical order.
pub fn isa_settings(arch: Arch) -> &'static [SettingInfo] {
    match arch {
        Arch::X86_64 => X86_64_SETTINGS,
        Arch::Aarch64 => AARCH64_SETTINGS,
    }
}

/// The position of `name` in the ISA table of `arch`.
fn index(arch: Arch, name: &str) -> Option<usize> {
    isa_settings(arch).iter().position(|s| s.name == name)
}

/// Look up an ISA setting of `arch` by name.
pub(crate) fn find(arch: Arch, name: &str) -> Option<&'static SettingInfo> {
    index(arch, name).map(|i| &isa_settings(arch)[i])
}

/// How a preset chooses its flags.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum PresetFlags {
    /// Exactly these flags.
    Fixed(&'static [&'static str]),
    /// The flags the host CPU has (only when the host is of the preset's architecture).
    Native,
}

/// A named CPU: a set of ISA flags.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct Preset {
    /// The name (`x86_64-v3`, `native`, ...).
    pub name: &'static str,
    /// The architecture it belongs to.
    pub arch: Arch,
    /// The flags it sets.
    pub flags: PresetFlags,
    /// What CPUs it describes.
    pub docs: &'static str,
}

const X86_64_V2: &[&str] = &[
    "has_sse3",
    "has_ssse3",
    "has_sse41",
    "has_sse42",
    "has_popcnt",
];
const X86_64_V3: &[&str] = &[
    "has_sse3",
    "has_ssse3",
    "has_sse41",
    "has_sse42",
    "has_popcnt",
    "has_avx",
    "has_avx2",
    "has_bmi1",
    "has_bmi2",
    "has_lzcnt",
];

const X86_64_PRESETS: &[Preset] = &[
    Preset {
        name: "x86_64",
        arch: Arch::X86_64,
        flags: PresetFlags::Fixed(&[]),
        docs: "The SSE2 baseline every x86_64 CPU has (the default).",
    },
    Preset {
        name: "x86_64-v2",
        arch: Arch::X86_64,
        flags: PresetFlags::Fixed(X86_64_V2),
        docs: "x86-64-v2: SSE3, SSSE3, SSE4.1, SSE4.2, POPCNT (Nehalem and later).",
    },
    Preset {
        name: "x86_64-v3",
        arch: Arch::X86_64,
        flags: PresetFlags::Fixed(X86_64_V3),
        docs: "x86-64-v3: x86-64-v2 plus AVX, AVX2, BMI1, BMI2, LZCNT (Haswell and later).",
    },
    Preset {
        name: "native",
        arch: Arch::X86_64,
        flags: PresetFlags::Native,
        docs: "The features of the host CPU (an x86_64 host is required).",
    },
];

const AARCH64_PRESETS: &[Preset] = &[
    Preset {
        name: "generic",
        arch: Arch::Aarch64,
        flags: PresetFlags::Fixed(&[]),
        docs: "ARMv8.0-A with NEON, which every AArch64 CPU has (the default).",
    },
    Preset {
        name: "native",
        arch: Arch::Aarch64,
        flags: PresetFlags::Native,
        docs: "The features of the host CPU (an AArch64 host is required).",
    },
];

/// The presets of `arch`.
pub fn presets(arch: Arch) -> &'static [Preset] {
    match arch {
        Arch::X86_64 => X86_64_PRESETS,
        Arch::Aarch64 => AARCH64_PRESETS,
    }
}

/// The architectures that have a preset called `name`.
pub fn preset_archs(name: &str) -> impl Iterator<Item = Arch> + '_ {
    Arch::ALL
        .into_iter()
        .filter(move |a| presets(*a).iter().any(|p| p.name == name))
}

/// The flags of one architecture. See the module docs.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct IsaFlags {
    arch: Arch,
    bits: u32,
}

impl IsaFlags {
    /// Every flag off: the architecture's baseline.
    pub const fn baseline(arch: Arch) -> Self {
        IsaFlags { arch, bits: 0 }
    }

    /// The flags of the preset `name` of `arch`.
    pub fn from_preset(arch: Arch, name: &str) -> Result<Self, SettingError> {
        let Some(preset) = presets(arch).iter().find(|p| p.name == name) else {
            return Err(SettingError::UnknownPreset {
                name: name.to_string(),
                arch,
                valid: presets(arch)
                    .iter()
                    .map(|p| p.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let mut flags = IsaFlags::baseline(arch);
        match preset.flags {
            PresetFlags::Fixed(names) => {
                for n in names {
                    if let Some(i) = index(arch, n) {
                        flags.bits |= 1 << i;
                    }
                }
            }
            PresetFlags::Native => flags.bits = detect_native(arch)?,
        }
        Ok(flags)
    }

    /// The architecture.
    pub const fn arch(&self) -> Arch {
        self.arch
    }

    /// Whether the flag `name` is on (`false` for a name this architecture lacks).
    pub fn has(&self, name: &str) -> bool {
        index(self.arch, name).is_some_and(|i| self.bits & (1 << i) != 0)
    }

    /// The value of the flag `name` as text, if this architecture has it.
    pub fn get(&self, name: &str) -> Option<&'static str> {
        index(self.arch, name).map(|i| {
            if self.bits & (1 << i) != 0 {
                "true"
            } else {
                "false"
            }
        })
    }

    /// The names of the flags that are on, in canonical order.
    pub fn enabled(&self) -> impl Iterator<Item = &'static str> + '_ {
        isa_settings(self.arch)
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.bits & (1 << i) != 0)
            .map(|(_, s)| s.name)
    }

    /// Set the flag `info` (of this architecture) from text. On error nothing changes.
    pub(crate) fn set(&mut self, info: &SettingInfo, value: &str) -> Result<(), SettingError> {
        let on = parse_bool(info, value)?;
        let Some(i) = index(self.arch, info.name) else {
            return Err(SettingError::WrongIsa {
                name: info.name.to_string(),
                owner: match info.scope {
                    SettingScope::Isa(a) => a,
                    SettingScope::Shared => self.arch,
                },
                arch: self.arch,
                valid: isa_settings(self.arch)
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        if on {
            self.bits |= 1 << i;
        } else {
            self.bits &= !(1 << i);
        }
        Ok(())
    }

    /// The ISA requirement of `enable_simd`: on x86_64, SSSE3 and SSE4.1 (the `x86_64-v2`
    /// preset has them); AArch64 always has NEON.
    pub fn check_simd(&self) -> Result<(), SettingError> {
        let missing: Vec<&'static str> = self.missing_for_simd().collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(SettingError::SimdNeedsIsaFeatures {
                arch: self.arch,
                required: simd_requirements(self.arch).to_vec(),
                missing,
                preset: "x86_64-v2",
            })
        }
    }

    /// The flags of [`simd_requirements`] these flags lack, in order.
    pub fn missing_for_simd(&self) -> impl Iterator<Item = &'static str> + '_ {
        simd_requirements(self.arch)
            .iter()
            .copied()
            .filter(|n| !self.has(n))
    }
}

/// The ISA flags `enable_simd` needs on `arch` (vector lowerings assume them): on x86_64
/// SSSE3 and SSE4.1; none on AArch64, which always has NEON.
pub fn simd_requirements(arch: Arch) -> &'static [&'static str] {
    match arch {
        Arch::X86_64 => &["has_ssse3", "has_sse41"],
        Arch::Aarch64 => &[],
    }
}

/// The flags of the host CPU for `arch`, as bits of `arch`'s table.
fn detect_native(arch: Arch) -> Result<u32, SettingError> {
    let unavailable = SettingError::NativeUnavailable {
        arch,
        host: std::env::consts::ARCH,
    };
    match arch {
        Arch::X86_64 => detect_x86_64().ok_or(unavailable),
        Arch::Aarch64 => detect_aarch64().ok_or(unavailable),
    }
}

fn bits_of(arch: Arch, present: &[(&str, bool)]) -> u32 {
    let mut bits = 0;
    for (name, on) in present {
        if let (true, Some(i)) = (*on, index(arch, name)) {
            bits |= 1 << i;
        }
    }
    bits
}

#[cfg(target_arch = "x86_64")]
fn detect_x86_64() -> Option<u32> {
    use std::is_x86_feature_detected as has;
    Some(bits_of(
        Arch::X86_64,
        &[
            ("has_sse3", has!("sse3")),
            ("has_ssse3", has!("ssse3")),
            ("has_sse41", has!("sse4.1")),
            ("has_sse42", has!("sse4.2")),
            ("has_popcnt", has!("popcnt")),
            ("has_lzcnt", has!("lzcnt")),
            ("has_bmi1", has!("bmi1")),
            ("has_bmi2", has!("bmi2")),
            ("has_avx", has!("avx")),
            ("has_avx2", has!("avx2")),
        ],
    ))
}

#[cfg(not(target_arch = "x86_64"))]
fn detect_x86_64() -> Option<u32> {
    None
}

#[cfg(target_arch = "aarch64")]
fn detect_aarch64() -> Option<u32> {
    use std::arch::is_aarch64_feature_detected as has;
    Some(bits_of(Arch::Aarch64, &[("has_lse", has!("lse"))]))
}

#[cfg(not(target_arch = "aarch64"))]
fn detect_aarch64() -> Option<u32> {
    // Keep `bits_of` used on every host.
    let _ = bits_of;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_name_real_flags_and_nest() {
        for arch in Arch::ALL {
            for p in presets(arch) {
                if let PresetFlags::Fixed(names) = p.flags {
                    for n in names {
                        assert!(index(arch, n).is_some(), "{} names {n}", p.name);
                    }
                    let f = IsaFlags::from_preset(arch, p.name).unwrap();
                    assert_eq!(f.enabled().count(), names.len());
                }
            }
        }
        let v2 = IsaFlags::from_preset(Arch::X86_64, "x86_64-v2").unwrap();
        let v3 = IsaFlags::from_preset(Arch::X86_64, "x86_64-v3").unwrap();
        assert!(v2.enabled().all(|n| v3.has(n)));
        assert!(v3.has("has_avx2") && !v2.has("has_avx2"));
        assert_eq!(
            IsaFlags::from_preset(Arch::X86_64, "x86_64").unwrap(),
            IsaFlags::baseline(Arch::X86_64)
        );
        assert_eq!(preset_archs("native").count(), 2);
        assert_eq!(preset_archs("generic").collect::<Vec<_>>(), [Arch::Aarch64]);
    }

    #[test]
    fn simd_check_names_missing_features_and_preset() {
        let base = IsaFlags::baseline(Arch::X86_64);
        let e = base.check_simd().unwrap_err().to_string();
        assert!(
            e.contains("has_ssse3") && e.contains("has_sse41") && e.contains("x86_64-v2"),
            "{e}"
        );
        let mut f = base;
        f.set(find(Arch::X86_64, "has_ssse3").unwrap(), "true")
            .unwrap();
        let e = f.check_simd().unwrap_err().to_string();
        assert!(e.contains("missing: has_sse41"), "{e}");
        IsaFlags::from_preset(Arch::X86_64, "x86_64-v2")
            .unwrap()
            .check_simd()
            .unwrap();
        IsaFlags::baseline(Arch::Aarch64).check_simd().unwrap();
    }

    #[test]
    fn native_detects_on_the_host_or_names_it() {
        for arch in Arch::ALL {
            match IsaFlags::from_preset(arch, "native") {
                Ok(f) => assert_eq!(f.arch(), arch),
                Err(e) => {
                    let e = e.to_string();
                    assert!(e.contains(std::env::consts::ARCH) && e.contains(arch.name()));
                    assert_ne!(arch.name(), std::env::consts::ARCH);
                }
            }
        }
    }
}
