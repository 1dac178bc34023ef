//! The compilation cache per input: a filetest on an ISA compiled fresh and through the
//! cache (equal code; parameter-only changes hit; stencil changes miss; corrupt entries are
//! refused, recompiled and overwritten), both images executed on the file's run directives
//! with equal outcomes. Logic: `kiln_harness::fuzz::icache`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kiln_harness::fuzz::icache(data));
