//! The AArch64 backend (being written). So far: the label-use kinds used by `MachBuffer`.

pub mod label_use;
