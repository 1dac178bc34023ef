//! The `.kir` text format: printer and parser. (Being written: see the foundation issue.)

pub mod literals;
