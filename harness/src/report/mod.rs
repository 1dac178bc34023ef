//! Benchmark reports: `kiln report` turns criterion's data and the measurements the
//! suites record beside it ([`data`]) into `reports/compile.md` and `reports/cache.md`
//! with SVG charts.
//!
//! Dependencies point one way: [`data`] (the record schema, shared with the suites in
//! `benches/`) and [`criterion`] (criterion's own files) ← [`render`] (tables and charts).

pub mod criterion;
pub mod data;
pub mod render;
