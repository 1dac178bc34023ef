//! Criterion's own results: the latest estimate of every benchmark under a criterion
//! directory (criterion 0.5's layout: `<bench dir>/new/benchmark.json` names the benchmark,
//! `<bench dir>/new/estimates.json` holds its mean and median in nanoseconds).
//!
//! Invariants: only `new/` results are read (`base/` and `change/` are older runs and
//! comparisons); the `kiln/` records directory ([`super::data`]) and criterion's `report/`
//! HTML directories are not searched; a benchmark file that does not parse is an error
//! naming the file, never skipped; the result is sorted by `full_id`.

use anyhow::{anyhow, Context, Result};
use serde::Deserialize;
use std::path::Path;

/// How much work one iteration of a benchmark does.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub enum Throughput {
    /// Bytes processed (criterion's `Bytes` and `BytesDecimal`).
    #[serde(alias = "BytesDecimal")]
    Bytes(u64),
    /// Elements processed.
    Elements(u64),
}

/// One benchmark's latest estimates; times in nanoseconds per iteration.
#[derive(Clone, Debug, PartialEq)]
pub struct CriterionBench {
    /// `group/function[/value]`.
    pub full_id: String,
    /// The benchmark group.
    pub group: String,
    /// The function id and parameter value within the group, joined by `/`.
    pub function: String,
    /// Mean time.
    pub mean_ns: f64,
    /// Lower bound of the mean's confidence interval (95 % unless configured otherwise).
    pub ci_low_ns: f64,
    /// Upper bound of the mean's confidence interval.
    pub ci_high_ns: f64,
    /// Median time.
    pub median_ns: f64,
    /// Work per iteration, when the benchmark declared it.
    pub throughput: Option<Throughput>,
}

#[derive(Deserialize)]
struct BenchmarkFile {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
    throughput: Option<Throughput>,
    full_id: String,
}

#[derive(Deserialize)]
struct Interval {
    lower_bound: f64,
    upper_bound: f64,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
    confidence_interval: Interval,
}

#[derive(Deserialize)]
struct EstimatesFile {
    mean: Estimate,
    median: Estimate,
}

/// Every benchmark under `dir`, sorted by `full_id`.
pub fn read_benchmarks(dir: &Path) -> Result<Vec<CriterionBench>> {
    let mut out = Vec::new();
    walk(dir, true, &mut out)?;
    out.sort_by(|a, b| a.full_id.cmp(&b.full_id));
    Ok(out)
}

fn walk(dir: &Path, top: bool, out: &mut Vec<CriterionBench>) -> Result<()> {
    let new = dir.join("new");
    if new.join("benchmark.json").is_file() {
        out.push(read_bench(&new)?);
    }
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let name = entry.file_name();
        let skip = name == "report" || (top && name == "kiln");
        // `file_type` does not follow symlinks, so a link cycle cannot recurse forever.
        if !skip && entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&entry.path(), false, out)?;
        }
    }
    Ok(())
}

fn parse<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| anyhow!("{} is not a criterion file: {e}", path.display()))
}

fn read_bench(new: &Path) -> Result<CriterionBench> {
    let b: BenchmarkFile = parse(&new.join("benchmark.json"))?;
    let e: EstimatesFile = parse(&new.join("estimates.json"))?;
    let function = [b.function_id, b.value_str]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("/");
    Ok(CriterionBench {
        full_id: b.full_id,
        group: b.group_id,
        function,
        mean_ns: e.mean.point_estimate,
        ci_low_ns: e.mean.confidence_interval.lower_bound,
        ci_high_ns: e.mean.confidence_interval.upper_bound,
        median_ns: e.median.point_estimate,
        throughput: b.throughput,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_bench(root: &Path, dir: &str, benchmark: &str, mean: f64) {
        let new = root.join(dir).join("new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(new.join("benchmark.json"), benchmark).unwrap();
        let est = format!(
            r#"{{"mean":{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":{},"upper_bound":{}}},"point_estimate":{mean},"standard_error":1.0}},
               "median":{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0}},"point_estimate":{},"standard_error":1.0}}}}"#,
            mean - 10.0,
            mean + 10.0,
            mean - 1.0
        );
        std::fs::write(new.join("estimates.json"), est).unwrap();
    }

    #[test]
    fn reads_new_estimates_sorted_and_names_bad_files() {
        let root =
            std::env::temp_dir().join(format!("kiln-report-criterion-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        write_bench(
            &root,
            "g_b/f/7",
            r#"{"group_id":"g/b","function_id":"f","value_str":"7","throughput":{"Bytes":1000},"full_id":"g/b/f/7","directory_name":"g_b/f/7"}"#,
            500.0,
        );
        write_bench(
            &root,
            "g_a/k",
            r#"{"group_id":"g/a","function_id":"k","value_str":null,"throughput":{"Elements":3},"full_id":"g/a/k","directory_name":"g_a/k"}"#,
            100.0,
        );
        // Not benchmarks: the records directory and criterion's HTML reports.
        write_bench(&root, "kiln", r#"{"bad"#, 1.0);
        write_bench(&root, "g_a/report", r#"{"bad"#, 1.0);
        let got = read_benchmarks(&root).unwrap();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(
            got[0],
            CriterionBench {
                full_id: "g/a/k".into(),
                group: "g/a".into(),
                function: "k".into(),
                mean_ns: 100.0,
                ci_low_ns: 90.0,
                ci_high_ns: 110.0,
                median_ns: 99.0,
                throughput: Some(Throughput::Elements(3)),
            }
        );
        assert_eq!(got[1].function, "f/7");
        assert_eq!(got[1].throughput, Some(Throughput::Bytes(1000)));

        std::fs::write(root.join("g_a/k/new/estimates.json"), "{}").unwrap();
        let err = read_benchmarks(&root).unwrap_err().to_string();
        assert!(err.contains("g_a/k/new/estimates.json"), "{err}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
