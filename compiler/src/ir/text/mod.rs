//! The `.kir` text format: printer and parser. (Being written: see the foundation issue.)
