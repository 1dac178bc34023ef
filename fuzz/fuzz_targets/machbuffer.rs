//! Random label/branch layouts with random padding, on the buffer's test ISA, x86_64 and
//! AArch64: every branch lands on its label (through veneers where needed), and no buffer
//! operation fails. Logic: `kiln_harness::fuzz::machbuffer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kiln_harness::fuzz::machbuffer(data));
