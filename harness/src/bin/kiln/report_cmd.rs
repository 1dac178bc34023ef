//! `kiln report`: writes the benchmark reports (markdown and SVG charts) from criterion's
//! data and the suites' records, and prints each file written. All the work, including the
//! errors naming a missing or empty directory, is in `kiln_harness::report`.

use anyhow::Result;
use std::path::Path;

/// Writes the reports from `criterion` into `out`, printing each file's path.
pub fn run(criterion: &Path, out: &Path) -> Result<()> {
    for path in kiln_harness::report::render::write_reports(criterion, out)? {
        println!("{}", path.display());
    }
    Ok(())
}
