//! Kiln's test harness.
