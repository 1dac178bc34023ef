//! ISA-neutral entry points for fuzz targets that exercise ISA-specific internals (the only
//! way for code outside the compiler to reach them, since the ISA modules are private).

use super::{aarch64, x64, Arch};
use crate::machinst::layout_check::{check_layout, LayoutStats};

/// Build a random label/branch layout from `data` with `arch`'s real branch forms and
/// check that every branch reaches its label (see [`crate::machinst::layout_check`]).
pub fn check_random_branch_layout(arch: Arch, data: &[u8]) -> Result<LayoutStats, String> {
    match arch {
        Arch::X86_64 => check_layout::<x64::layout_check::X64Branches>(data),
        Arch::Aarch64 => check_layout::<aarch64::layout_check::Aarch64Branches>(data),
    }
}
