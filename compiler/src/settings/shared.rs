//! The shared (ISA-independent) flags.
//!
//! Owns [`Flags`], [`OptLevel`] and [`SHARED_SETTINGS`], the table that names and documents
//! each flag. Invariant: the table and the fields of [`Flags`] correspond one to one
//! (`get` knows every name in the table, and `set` accepts exactly the table's values).

use super::{SettingError, SettingInfo, SettingKind, SettingScope};
use crate::machinst::{CompileOptions, RegallocAlgorithm};

/// The `opt_level` setting.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, Default)]
pub enum OptLevel {
    /// `none`: no optimization passes.
    #[default]
    None,
    /// `speed`: optimize for speed.
    Speed,
    /// `speed_and_size`: optimize for speed and code size.
    SpeedAndSize,
}

impl OptLevel {
    /// The setting value (`none`, `speed`, `speed_and_size`).
    pub const fn name(self) -> &'static str {
        match self {
            OptLevel::None => "none",
            OptLevel::Speed => "speed",
            OptLevel::SpeedAndSize => "speed_and_size",
        }
    }
}

const OPT_LEVELS: &[&str] = &["none", "speed", "speed_and_size"];
const REGALLOCS: &[&str] = &["backtracking", "single_pass"];

/// The value text of a regalloc algorithm (`backtracking`, `single_pass`).
pub const fn regalloc_name(r: RegallocAlgorithm) -> &'static str {
    match r {
        RegallocAlgorithm::Backtracking => "backtracking",
        RegallocAlgorithm::SinglePass => "single_pass",
    }
}

/// The shared settings, in canonical order.
pub const SHARED_SETTINGS: &[SettingInfo] = &[
    SettingInfo {
        name: "opt_level",
        scope: SettingScope::Shared,
        kind: SettingKind::Enum(OPT_LEVELS),
        default: "none",
        docs: "Optimization level: none, speed or speed_and_size. Kiln has no optimization \
               passes yet, so today every level produces the same code: lowering always does \
               its local instruction selection (immediate operands, addressing modes, fused \
               compare-and-branch) regardless of this setting. It is recorded and part of \
               the settings fingerprint so that cached code stays correct once levels differ.",
    },
    SettingInfo {
        name: "regalloc",
        scope: SettingScope::Shared,
        kind: SettingKind::Enum(REGALLOCS),
        default: "backtracking",
        docs: "Register allocator: backtracking (regalloc2's Ion allocator, better code) or \
               single_pass (regalloc2's Fastalloc, faster compiles).",
    },
    SettingInfo {
        name: "enable_simd",
        scope: SettingScope::Shared,
        kind: SettingKind::Bool,
        default: "false",
        docs: "Allow 128-bit vector types (i8x16 ... f64x2). Compiling a function that uses a \
               vector type with this off is an error. Config::build additionally requires \
               has_ssse3 and has_sse41 on x86_64 (the x86_64-v2 preset has them); AArch64 \
               always has NEON.",
    },
    SettingInfo {
        name: "enable_nan_canonicalization",
        scope: SettingScope::Shared,
        kind: SettingKind::Bool,
        default: "false",
        docs: "Replace every NaN produced by a float operation with the canonical quiet NaN. \
               Not implemented by any backend yet: building a compiler with it enabled is an \
               error (it is never silently ignored).",
    },
    SettingInfo {
        name: "enable_verifier",
        scope: SettingScope::Shared,
        kind: SettingKind::Bool,
        default: "true",
        docs: "Run the IR verifier on every function before compiling it; an invalid \
               function is an error. With it off the input must already be verified.",
    },
    SettingInfo {
        name: "regalloc_checker",
        scope: SettingScope::Shared,
        kind: SettingKind::Bool,
        default: "false",
        docs: "Validate the register allocator's input (SSA) and check its output with \
               regalloc2's symbolic checker; a failure is an error (always a compiler bug). \
               Slower; the test harness and fuzz targets turn it on.",
    },
];

/// Look up a shared setting by name.
pub(crate) fn find(name: &str) -> Option<&'static SettingInfo> {
    SHARED_SETTINGS.iter().find(|s| s.name == name)
}

/// The shared flags, typed. Defaults are the `default` column of [`SHARED_SETTINGS`].
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct Flags {
    opt_level: OptLevel,
    regalloc: RegallocAlgorithm,
    enable_simd: bool,
    enable_nan_canonicalization: bool,
    enable_verifier: bool,
    regalloc_checker: bool,
}

impl Default for Flags {
    fn default() -> Self {
        Flags {
            opt_level: OptLevel::None,
            regalloc: RegallocAlgorithm::Backtracking,
            enable_simd: false,
            enable_nan_canonicalization: false,
            enable_verifier: true,
            regalloc_checker: false,
        }
    }
}

fn bad_value(info: &SettingInfo, value: &str) -> SettingError {
    SettingError::BadValue {
        name: info.name.to_string(),
        value: value.to_string(),
        expected: info.kind.values().join(", "),
    }
}

/// Parse `value` as a bool setting.
pub(crate) fn parse_bool(info: &SettingInfo, value: &str) -> Result<bool, SettingError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad_value(info, value)),
    }
}

const fn bool_str(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

impl Flags {
    /// `opt_level`.
    pub fn opt_level(&self) -> OptLevel {
        self.opt_level
    }
    /// `regalloc`.
    pub fn regalloc(&self) -> RegallocAlgorithm {
        self.regalloc
    }
    /// `enable_simd`.
    pub fn enable_simd(&self) -> bool {
        self.enable_simd
    }
    /// `enable_nan_canonicalization`.
    pub fn enable_nan_canonicalization(&self) -> bool {
        self.enable_nan_canonicalization
    }
    /// `enable_verifier`.
    pub fn enable_verifier(&self) -> bool {
        self.enable_verifier
    }
    /// `regalloc_checker`.
    pub fn regalloc_checker(&self) -> bool {
        self.regalloc_checker
    }

    /// The per-function compile options these flags select.
    pub fn compile_options(&self) -> CompileOptions {
        CompileOptions {
            regalloc: self.regalloc,
            regalloc_checker: self.regalloc_checker,
            verify: self.enable_verifier,
            force_stack_check: false,
        }
    }

    /// Set the shared flag `info` (found in [`SHARED_SETTINGS`]) from text. On error
    /// nothing changes.
    pub(crate) fn set(&mut self, info: &SettingInfo, value: &str) -> Result<(), SettingError> {
        match info.name {
            "opt_level" => {
                self.opt_level = match value {
                    "none" => OptLevel::None,
                    "speed" => OptLevel::Speed,
                    "speed_and_size" => OptLevel::SpeedAndSize,
                    _ => return Err(bad_value(info, value)),
                }
            }
            "regalloc" => {
                self.regalloc = match value {
                    "backtracking" => RegallocAlgorithm::Backtracking,
                    "single_pass" => RegallocAlgorithm::SinglePass,
                    _ => return Err(bad_value(info, value)),
                }
            }
            "enable_simd" => self.enable_simd = parse_bool(info, value)?,
            "enable_nan_canonicalization" => {
                self.enable_nan_canonicalization = parse_bool(info, value)?
            }
            "enable_verifier" => self.enable_verifier = parse_bool(info, value)?,
            "regalloc_checker" => self.regalloc_checker = parse_bool(info, value)?,
            // Not a shared setting: the caller looked it up elsewhere.
            _ => return Err(bad_value(info, value)),
        }
        Ok(())
    }

    /// The current value of a shared flag, as text.
    pub fn get(&self, name: &str) -> Option<&'static str> {
        Some(match name {
            "opt_level" => self.opt_level.name(),
            "regalloc" => regalloc_name(self.regalloc),
            "enable_simd" => bool_str(self.enable_simd),
            "enable_nan_canonicalization" => bool_str(self.enable_nan_canonicalization),
            "enable_verifier" => bool_str(self.enable_verifier),
            "regalloc_checker" => bool_str(self.regalloc_checker),
            _ => return None,
        })
    }
}
