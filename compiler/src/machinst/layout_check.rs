//! Randomized layout checking of [`MachBuffer`] with a real ISA's branch instructions: the
//! logic behind the `machbuffer` fuzz target.
//!
//! [`check_layout`] turns arbitrary bytes into a sequence of operations — bind a label,
//! branch (every branch form of the ISA) backward to a bound label or forward to a label
//! bound later, pad with up to megabytes of no-ops — following the island protocol
//! (`island_needed` before every emission), finishes the buffer, and then checks, by
//! decoding the *final bytes* with decoders written from the ISA manual independently of
//! the ISA's `LabelUse::patch`, that every branch reaches its label, directly or through a
//! chain of veneers. Branches are not registered for simplification, so their offsets are
//! stable and each one can be checked.
//!
//! Invariant: for any input, `check_layout` returns `Ok` exactly when every branch lands on
//! its label; it never panics (buffer errors are returned as `Err`).

use super::buffer::MachBuffer;
use super::{CodeSink, LabelUse, MachLabel};

/// A real ISA's branch forms, as needed by [`check_layout`].
pub trait BranchKit {
    /// The ISA's label-use kind.
    type Use: LabelUse;
    /// Number of branch forms (`form` arguments are `0..FORMS`).
    const FORMS: usize;
    /// Size in bytes of the largest branch form.
    const MAX_BRANCH: u64;
    /// Padding granule (the ISA's no-op size).
    const PAD_UNIT: u64;
    /// Largest total code size worth generating (enough to exceed the shortest ranges).
    const MAX_SIZE: u64;
    /// Emit branch `form` to `label` at the current offset; returns the instruction start.
    fn emit_branch(buf: &mut MachBuffer<Self::Use>, form: usize, label: MachLabel) -> u64;
    /// Emit `units` no-ops.
    fn pad(buf: &mut MachBuffer<Self::Use>, units: u64);
    /// Decode the branch of `form` at `offset` in the final code: its target offset.
    fn decode(code: &[u8], offset: u64, form: usize) -> Result<u64, String>;
    /// If a veneer starts at `offset`, the offset it transfers control to.
    fn follow_veneer(code: &[u8], offset: u64) -> Option<u64>;
}

/// What one checked layout contained.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct LayoutStats {
    /// Branches checked.
    pub branches: usize,
    /// Branches that reached their label through at least one veneer.
    pub through_veneers: usize,
    /// Final code size.
    pub size: u64,
}

/// Sequential reader of fuzz bytes (zero once exhausted).
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from(self.u8()) | u16::from(self.u8()) << 8
    }
}

/// Emit `units` of padding in chunks small enough that the island protocol can keep every
/// pending branch in range.
fn pad_checked<K: BranchKit>(buf: &mut MachBuffer<K::Use>, mut units: u64) -> Result<(), String> {
    const CHUNK_UNITS: u64 = 256;
    while units > 0 {
        let n = units.min(CHUNK_UNITS);
        island_if_needed(buf, n * K::PAD_UNIT)?;
        K::pad(buf, n);
        units -= n;
    }
    Ok(())
}

fn island_if_needed<U: LabelUse>(buf: &mut MachBuffer<U>, distance: u64) -> Result<(), String> {
    if buf.island_needed(distance) {
        buf.emit_island(distance)
            .map_err(|e| format!("emit_island: {e}"))?;
    }
    Ok(())
}

/// Build a random layout from `data` with ISA `K` and check every branch (see the module
/// docs).
pub fn check_layout<K: BranchKit>(data: &[u8]) -> Result<LayoutStats, String> {
    let mut input = Bytes(data);
    let mut buf: MachBuffer<K::Use> = MachBuffer::new();
    let mut bound: Vec<MachLabel> = Vec::new();
    let mut pending: Vec<MachLabel> = Vec::new();
    let mut branches: Vec<(u64, usize, MachLabel)> = Vec::new();
    let bind = |buf: &mut MachBuffer<K::Use>, l: MachLabel| -> Result<(), String> {
        buf.bind_label(l).map_err(|e| format!("bind_label: {e}"))
    };
    for _ in 0..512 {
        if input.0.is_empty() || buf.cur_offset() >= K::MAX_SIZE {
            break;
        }
        match input.u8() % 8 {
            0 | 1 => {
                let l = buf.get_label();
                bind(&mut buf, l)?;
                bound.push(l);
            }
            2..=4 => {
                let form = usize::from(input.u8()) % K::FORMS;
                let pick = usize::from(input.u8());
                let label = if pick % 2 == 0 && !bound.is_empty() {
                    bound[(pick / 2) % bound.len()]
                } else if pick % 4 == 1 && !pending.is_empty() {
                    pending[(pick / 4) % pending.len()]
                } else {
                    let l = buf.get_label();
                    pending.push(l);
                    l
                };
                island_if_needed(&mut buf, K::MAX_BRANCH)?;
                let at = K::emit_branch(&mut buf, form, label);
                branches.push((at, form, label));
            }
            5 => {
                if !pending.is_empty() {
                    let i = usize::from(input.u8()) % pending.len();
                    let l = pending.swap_remove(i);
                    bind(&mut buf, l)?;
                    bound.push(l);
                }
            }
            6 => pad_checked::<K>(&mut buf, u64::from(input.u8()) * 4)?,
            _ => pad_checked::<K>(&mut buf, u64::from(input.u16()) * 16)?,
        }
    }
    for l in pending.drain(..) {
        bind(&mut buf, l)?;
    }
    let done = buf.finish().map_err(|e| format!("finish: {e}"))?;
    let code = &done.data;
    let mut stats = LayoutStats {
        branches: branches.len(),
        size: code.len() as u64,
        ..LayoutStats::default()
    };
    for &(at, form, label) in &branches {
        let want = done
            .label_offset(label)
            .ok_or_else(|| format!("{label:?} has no final offset"))?;
        let mut target =
            K::decode(code, at, form).map_err(|e| format!("branch form {form} at {at:#x}: {e}"))?;
        let mut hops = 0;
        while target != want {
            hops += 1;
            if hops > 4 {
                return Err(format!(
                    "branch form {form} at {at:#x} to {label:?} (at {want:#x}) does not reach it after 4 veneers"
                ));
            }
            target = K::follow_veneer(code, target).ok_or_else(|| {
                format!(
                    "branch form {form} at {at:#x} to {label:?} (at {want:#x}) lands on {target:#x}, which is neither the label nor a veneer"
                )
            })?;
        }
        if hops > 0 {
            stats.through_veneers += 1;
        }
    }
    Ok(stats)
}
