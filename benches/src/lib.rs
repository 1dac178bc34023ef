//! Shared helpers for Kiln's criterion suites (see `benches/benches/`).
