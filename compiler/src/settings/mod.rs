//! Compiler settings: the shared flags, the per-ISA flags, named CPU presets, and the
//! stable fingerprint of a complete configuration.
//!
//! Owns:
//! - [`SettingInfo`]: the static description of one setting (name, scope, kind, default,
//!   documentation). [`all_settings`] lists every setting Kiln has; `kiln settings` prints
//!   this table.
//! - [`Flags`] ([`shared`]): the ISA-independent flags, typed (`opt_level`, `regalloc`,
//!   `enable_simd`, `enable_nan_canonicalization`, `enable_verifier`, `regalloc_checker`).
//! - [`IsaFlags`] ([`isa`]): the flags of one architecture (x86_64's `has_*`, AArch64's
//!   `has_lse`), and the [`Preset`]s (`x86_64`, `x86_64-v2`, `x86_64-v3`, `native`;
//!   AArch64 `generic`, `native`).
//! - [`Settings`]: an architecture plus its shared and ISA flags, settable by name from a
//!   string, with [`Settings::canonical_bytes`] and [`Settings::fingerprint`].
//! - [`SettingError`]: every way configuring or building a compiler can be refused.
//!
//! Invariants:
//! - every setting is typed: a value that does not parse is rejected at `set` time and
//!   never stored, so a [`Settings`] always holds valid values;
//! - an unknown name, a bad value, a setting or preset of another ISA is a
//!   [`SettingError`] that names the offending input and lists the valid choices;
//! - ISA flags are independent of each other and of the shared flags: setting one never
//!   changes another, so applying a set of `(name, value)` pairs with distinct names gives
//!   the same result in any order;
//! - the canonical encoding is versioned ([`FINGERPRINT_VERSION`]) and lists *every*
//!   setting of the architecture, by name, in the fixed order of the tables, with its value
//!   as text. It never uses `std::hash::Hash` or anything platform- or build-dependent, so
//!   equal settings give equal fingerprints on every host.

pub mod isa;
pub mod shared;

pub use isa::{presets, IsaFlags, Preset};
pub use shared::{Flags, OptLevel};

use crate::arch::Arch;
use core::fmt;
use sha2::{Digest, Sha256};

/// Where a setting belongs.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum SettingScope {
    /// A shared, ISA-independent flag.
    Shared,
    /// A flag of one architecture.
    Isa(Arch),
}

/// The type of a setting's value.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum SettingKind {
    /// `true` or `false`.
    Bool,
    /// One of a fixed set of names.
    Enum(&'static [&'static str]),
}

impl SettingKind {
    /// The accepted values (`true, false` for a bool).
    pub const fn values(self) -> &'static [&'static str] {
        match self {
            SettingKind::Bool => &["true", "false"],
            SettingKind::Enum(v) => v,
        }
    }
}

/// The static description of one setting.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct SettingInfo {
    /// The name used by `set(name, value)`.
    pub name: &'static str,
    /// Shared or ISA-specific.
    pub scope: SettingScope,
    /// Its type.
    pub kind: SettingKind,
    /// The default value, as text.
    pub default: &'static str,
    /// One paragraph of documentation: what it does today.
    pub docs: &'static str,
}

/// Every setting that applies to `arch`: the shared ones, then the ISA ones, each in table
/// order (the order of the canonical encoding).
pub fn all_settings(arch: Arch) -> impl Iterator<Item = &'static SettingInfo> {
    shared::SHARED_SETTINGS
        .iter()
        .chain(isa::isa_settings(arch).iter())
}

/// Look up a setting by name in any scope (shared or any ISA).
pub fn find_setting(name: &str) -> Option<&'static SettingInfo> {
    shared::SHARED_SETTINGS
        .iter()
        .chain(Arch::ALL.iter().flat_map(|a| isa::isa_settings(*a).iter()))
        .find(|s| s.name == name)
}

/// Why a setting, a preset, a target or a whole configuration was refused. Every variant
/// names the input that caused it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// No setting has this name.
    #[error("unknown setting `{name}` for {arch}; valid settings: {valid}")]
    UnknownSetting {
        /// The name given.
        name: String,
        /// The target's architecture.
        arch: Arch,
        /// Every valid name for the target, comma separated.
        valid: String,
    },
    /// The setting exists but belongs to another architecture.
    #[error("setting `{name}` belongs to {owner}, not to the target {arch}; valid {arch} settings: {valid}")]
    WrongIsa {
        /// The name given.
        name: String,
        /// The architecture the setting belongs to.
        owner: Arch,
        /// The target's architecture.
        arch: Arch,
        /// Every valid name for the target, comma separated.
        valid: String,
    },
    /// The value does not parse for this setting.
    #[error("bad value `{value}` for setting `{name}` (expected one of: {expected})")]
    BadValue {
        /// The setting.
        name: String,
        /// The value given.
        value: String,
        /// The accepted values, comma separated.
        expected: String,
    },
    /// `enable(name)` on a setting that is not a bool.
    #[error("setting `{name}` is not a bool and cannot be enabled; set it to one of: {expected}")]
    NotABool {
        /// The setting.
        name: String,
        /// Its accepted values.
        expected: String,
    },
    /// No preset has this name.
    #[error("unknown CPU preset `{name}` for {arch}; valid presets: {valid}")]
    UnknownPreset {
        /// The name given.
        name: String,
        /// The target's architecture.
        arch: Arch,
        /// The valid presets for the target, comma separated.
        valid: String,
    },
    /// `native` for an architecture other than the host's.
    #[error("CPU preset `native` for {arch} needs a {arch} host to detect features on, but the host is {host}")]
    NativeUnavailable {
        /// The target's architecture.
        arch: Arch,
        /// The host's architecture.
        host: &'static str,
    },
    /// The text is not a target triple.
    #[error("bad target triple `{input}`: {reason}")]
    BadTriple {
        /// The text given.
        input: String,
        /// What target-lexicon said.
        reason: String,
    },
    /// The triple parses but Kiln cannot generate code for it.
    #[error("unsupported target `{triple}`: {reason}")]
    UnsupportedTarget {
        /// The triple.
        triple: String,
        /// Why.
        reason: String,
    },
    /// A setting is valid but no backend implements it yet.
    #[error("setting `{name}` is not implemented yet: {reason}")]
    Unimplemented {
        /// The setting.
        name: &'static str,
        /// What is missing.
        reason: &'static str,
    },
    /// `enable_simd` on an x86_64 target whose flags lack what SIMD needs.
    #[error("enable_simd on {arch} requires {} in the target's ISA flags (missing: {}); enable them or use the `{preset}` CPU preset", required.join(", "), missing.join(", "))]
    SimdNeedsIsaFeatures {
        /// The target's architecture.
        arch: Arch,
        /// Every flag SIMD requires.
        required: Vec<&'static str>,
        /// The required flags that are off.
        missing: Vec<&'static str>,
        /// The smallest preset that has them all.
        preset: &'static str,
    },
}

/// The version of [`Settings::canonical_bytes`]. Bump it whenever the encoding, a
/// setting's name, its meaning or its set of values changes.
pub const FINGERPRINT_VERSION: u32 = 1;

/// An architecture with its shared and ISA flags: everything a backend is configured by.
/// See the module docs for the invariants.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct Settings {
    shared: Flags,
    isa: IsaFlags,
}

impl Settings {
    /// The defaults for `arch`: [`Flags::default`] and the baseline ISA flags.
    pub fn new(arch: Arch) -> Self {
        Settings {
            shared: Flags::default(),
            isa: IsaFlags::baseline(arch),
        }
    }

    /// The architecture.
    pub fn arch(&self) -> Arch {
        self.isa.arch()
    }

    /// The shared flags.
    pub fn shared(&self) -> &Flags {
        &self.shared
    }

    /// The ISA flags.
    pub fn isa(&self) -> &IsaFlags {
        &self.isa
    }

    /// Set a shared or ISA setting of this architecture by name.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), SettingError> {
        if let Some(info) = shared::find(name) {
            return self.shared.set(info, value);
        }
        if let Some(info) = isa::find(self.arch(), name) {
            return self.isa.set(info, value);
        }
        Err(self.unknown(name))
    }

    /// Set a bool setting to `true`.
    pub fn enable(&mut self, name: &str) -> Result<(), SettingError> {
        match shared::find(name).or_else(|| isa::find(self.arch(), name)) {
            Some(info) if info.kind != SettingKind::Bool => Err(SettingError::NotABool {
                name: name.to_string(),
                expected: info.kind.values().join(", "),
            }),
            Some(_) => self.set(name, "true"),
            None => Err(self.unknown(name)),
        }
    }

    /// Replace the ISA flags with those of a named preset of this architecture (other
    /// settings are untouched; set individual ISA flags afterwards to adjust it).
    pub fn apply_preset(&mut self, name: &str) -> Result<(), SettingError> {
        self.isa = IsaFlags::from_preset(self.arch(), name)?;
        Ok(())
    }

    /// The current value of a setting of this architecture, as text.
    pub fn get(&self, name: &str) -> Option<&'static str> {
        self.shared.get(name).or_else(|| self.isa.get(name))
    }

    /// Every setting of this architecture with its current value, in canonical order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static SettingInfo, &'static str)> + '_ {
        all_settings(self.arch()).map(move |s| (s, self.get(s.name).unwrap_or("")))
    }

    /// The canonical, platform-independent encoding of these settings:
    /// `"kiln-settings\0"`, [`FINGERPRINT_VERSION`] (u32 LE), the architecture name, the
    /// number of settings (u32 LE), then for every setting in canonical order its name and
    /// its value; each string is its length (u32 LE) followed by its UTF-8 bytes.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        fn put(out: &mut Vec<u8>, s: &str) {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"kiln-settings\0");
        out.extend_from_slice(&FINGERPRINT_VERSION.to_le_bytes());
        put(&mut out, self.arch().name());
        let n = all_settings(self.arch()).count() as u32;
        out.extend_from_slice(&n.to_le_bytes());
        for (info, value) in self.iter() {
            put(&mut out, info.name);
            put(&mut out, value);
        }
        out
    }

    /// SHA-256 of [`Settings::canonical_bytes`].
    pub fn fingerprint(&self) -> [u8; 32] {
        Sha256::digest(self.canonical_bytes()).into()
    }

    fn unknown(&self, name: &str) -> SettingError {
        let arch = self.arch();
        let valid = all_settings(arch)
            .map(|s| s.name)
            .collect::<Vec<_>>()
            .join(", ");
        match find_setting(name).map(|s| s.scope) {
            Some(SettingScope::Isa(owner)) if owner != arch => SettingError::WrongIsa {
                name: name.to_string(),
                owner,
                arch,
                valid,
            },
            _ => SettingError::UnknownSetting {
                name: name.to_string(),
                arch,
                valid,
            },
        }
    }
}

impl fmt::Display for Settings {
    /// One `name = value` line per setting, in canonical order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "[{}]", self.arch())?;
        for (info, value) in self.iter() {
            writeln!(f, "{} = {}", info.name, value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_defaults_parse() {
        let mut names: Vec<_> = Arch::ALL
            .iter()
            .flat_map(|a| all_settings(*a))
            .map(|s| s.name)
            .collect();
        names.sort();
        let before = names.len();
        names.dedup();
        // Shared settings appear once per architecture.
        assert_eq!(
            before - names.len(),
            shared::SHARED_SETTINGS.len() * (Arch::ALL.len() - 1)
        );
        for arch in Arch::ALL {
            let mut s = Settings::new(arch);
            for info in all_settings(arch) {
                assert!(info.kind.values().contains(&info.default), "{}", info.name);
                assert_eq!(s.get(info.name), Some(info.default), "{}", info.name);
                s.set(info.name, info.default).unwrap();
                assert!(!info.docs.is_empty());
            }
            assert_eq!(s, Settings::new(arch));
        }
    }

    #[test]
    fn errors_name_the_input_and_list_choices() {
        let mut s = Settings::new(Arch::X86_64);
        let e = s.set("has_frobnicate", "true").unwrap_err().to_string();
        assert!(
            e.contains("`has_frobnicate`") && e.contains("has_sse41"),
            "{e}"
        );
        let e = s.set("has_lse", "true").unwrap_err().to_string();
        assert!(
            e.contains("`has_lse`") && e.contains("aarch64") && e.contains("has_avx2"),
            "{e}"
        );
        let e = s.set("opt_level", "fast").unwrap_err().to_string();
        assert!(e.contains("`fast`") && e.contains("speed_and_size"), "{e}");
        let e = s.set("has_avx", "yes").unwrap_err().to_string();
        assert!(e.contains("`yes`") && e.contains("true, false"), "{e}");
        let e = s.enable("regalloc").unwrap_err().to_string();
        assert!(e.contains("single_pass"), "{e}");
        let e = s.apply_preset("generic").unwrap_err().to_string();
        assert!(e.contains("`generic`") && e.contains("x86_64-v3"), "{e}");
        let mut a = Settings::new(Arch::Aarch64);
        let e = a.set("has_avx", "true").unwrap_err().to_string();
        assert!(e.contains("x86_64") && e.contains("has_lse"), "{e}");
        assert_eq!(s, Settings::new(Arch::X86_64), "failed sets change nothing");
    }

    #[test]
    fn fingerprint_is_stable_and_sensitive() {
        let base = Settings::new(Arch::X86_64);
        // The encoding is part of the cache format: this pins it.
        let bytes = base.canonical_bytes();
        assert!(bytes.starts_with(b"kiln-settings\0\x01\0\0\0\x06\0\0\0x86_64"));
        let mut seen = vec![base.fingerprint()];
        let mut other = base;
        for (info, _) in base.iter() {
            let mut s = base;
            let v = info
                .kind
                .values()
                .iter()
                .find(|v| **v != info.default)
                .unwrap();
            s.set(info.name, v).unwrap();
            assert!(!seen.contains(&s.fingerprint()), "{} changes it", info.name);
            seen.push(s.fingerprint());
            other.set(info.name, v).unwrap();
        }
        assert_ne!(other.fingerprint(), base.fingerprint());
        assert_ne!(
            Settings::new(Arch::Aarch64).fingerprint(),
            base.fingerprint()
        );
        assert_eq!(
            base.fingerprint(),
            Settings::new(Arch::X86_64).fingerprint()
        );
    }
}
