//! `kiln compile --timings`: where the compile time went, one line per phase with its share.
//!
//! Phases of several threads are summed (CPU time), so with `--jobs 2` their sum can
//! exceed the wall time, which is printed separately.

use anyhow::Result;
use kiln::cache::CacheStatsSnapshot;
use kiln::machinst::PhaseTimes;
use std::io::Write;
use std::time::Duration;

/// The rows of the report: the front end's phases first (`front`), then the backend's
/// phases, the cache's work (`cache`, when a store was used), `rest` (set-up and whatever
/// the backend's `total` does not account for), and the back end's `after` phases (link).
pub fn write_timings(
    out: &mut impl Write,
    front: &[(&str, Duration)],
    phases: &PhaseTimes,
    cache: Option<&CacheStatsSnapshot>,
    backend_total: Duration,
    after: &[(&str, Duration)],
    wall: Duration,
) -> Result<()> {
    let mut rows: Vec<(&str, Duration)> = front.to_vec();
    rows.extend([
        ("verify", phases.verify),
        ("lower", phases.lower),
        ("regalloc", phases.regalloc),
        ("emit", phases.emit),
    ]);
    let mut accounted = phases.total();
    if let Some(c) = cache {
        rows.extend([
            ("cache key", c.key_time),
            ("cache load", c.load_time),
            ("cache store", c.store_time),
        ]);
        accounted += c.key_time + c.load_time + c.store_time;
    }
    rows.push(("other backend", backend_total.saturating_sub(accounted)));
    rows.extend_from_slice(after);
    let sum: Duration = rows.iter().map(|r| r.1).sum();
    let pct = |d: Duration| 100.0 * d.as_secs_f64() / sum.as_secs_f64().max(1e-12);
    writeln!(
        out,
        "timings ({:.3} ms wall; phases summed over threads: {:.3} ms)",
        wall.as_secs_f64() * 1e3,
        sum.as_secs_f64() * 1e3
    )?;
    for (name, d) in rows {
        writeln!(
            out,
            "  {name:<14} {:>10.3} ms  {:>5.1} %",
            d.as_secs_f64() * 1e3,
            pct(d)
        )?;
    }
    Ok(())
}
