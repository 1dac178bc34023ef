#!/usr/bin/env bash
# Source-based line coverage of compiler/src/ by a fixed differential campaign of the
# random IR generator (`kiln diff --generator kir`): how much of lowering, emission and
# the MachBuffer the generator reaches.
#
#   scripts/coverage.sh [--seconds N | --cases N] [--seed S] [-- EXTRA KILN DIFF ARGS...]
#
#   --seconds N   campaign length (default: $SECONDS_BUDGET, else 120)
#   --cases N     run exactly N cases instead (deterministic for a seed; --seconds is a
#                 time budget, so the case count depends on the machine)
#   --seed S      campaign seed (default: $SEED, else 1)
#   -- ARGS       passed on to `kiln diff` (e.g. -- --jobs 1 --max-insts 200)
#
# Steps (all output in target/coverage/; the default target dir is left alone):
#   1. scripts/setup.sh, and llvm-22 (llvm-profdata-22, llvm-cov-22: the LLVM of rustc
#      1.95) when missing;
#   2. an instrumented release build of `kiln` (-C instrument-coverage) in target/coverage;
#   3. the campaign, with --no-reduce and the findings saved in target/coverage/corpora,
#      writing target/coverage/prof/*.profraw (old ones are deleted first); a campaign that
#      finds disagreements exits non-zero: its exit code is printed and the report is
#      still made;
#   4. llvm-profdata-22 merge -sparse -> target/coverage/kiln.profdata;
#   5. llvm-cov-22 report (files under compiler/src/ only) -> target/coverage/report.txt,
#      llvm-cov-22 export -format=text -> target/coverage/export.json, and
#      scripts/coverage_summary.py on it: line coverage per directory (isa/, isa/x64,
#      isa/aarch64, machinst/, module/), the isa/ + machinst/ aggregate, and per file the
#      percentage and the uncovered line ranges -> stdout and target/coverage/summary.txt.
# `#[cfg(test)]` code is not in the binary, so it is not counted.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seconds=${SECONDS_BUDGET:-120}
cases=""
seed=${SEED:-1}
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "coverage.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

# 1. Tools.
bash scripts/setup.sh llvm-22

out=target/coverage
bin=$out/release/kiln

# 2. Build. Build scripts are instrumented too: their profiles go to build-prof/, not
# into the source tree.
echo "== building instrumented kiln ($bin)" >&2
CARGO_TARGET_DIR=$out RUSTFLAGS="-C instrument-coverage" \
  LLVM_PROFILE_FILE="$root/$out/build-prof/%p-%m.profraw" \
  cargo build --release -p kiln-harness --bin kiln

# 3. Campaign.
rm -rf "$out/prof" "$out/kiln.profdata"
mkdir -p "$out/prof" "$out/corpora"
if [ -n "$cases" ]; then limit=(--cases "$cases"); else limit=(--seconds "$seconds"); fi
cmd=("$bin" diff --generator kir "${limit[@]}" --seed "$seed" --no-reduce --corpus "$out/corpora" "${extra[@]}")
echo "== ${cmd[*]}" >&2
set +e
LLVM_PROFILE_FILE="$root/$out/prof/kiln-%p-%m.profraw" "${cmd[@]}" | tee "$out/campaign.txt"
status=${PIPESTATUS[0]}
set -e

# 4. Merge.
shopt -s nullglob
profraw=("$out"/prof/*.profraw)
[ ${#profraw[@]} -gt 0 ] || { echo "coverage.sh: the campaign wrote no profile (exit code $status)" >&2; exit 1; }
llvm-profdata-22 merge -sparse "${profraw[@]}" -o "$out/kiln.profdata"

# 5. Report: only compiler/src/ (llvm-cov's regexes are POSIX, without negation: drop
# everything else by name; the summary script keeps compiler/src/ only in any case).
ignore='(/\.cargo/|/\.rustup/|^/rustc/|/library/|/harness/|/benches/|/compiler/build\.rs$|/target/)'
cov=(-instr-profile="$out/kiln.profdata" "$bin" -ignore-filename-regex="$ignore")
llvm-cov-22 report "${cov[@]}" > "$out/report.txt"
llvm-cov-22 export -format=text -skip-functions "${cov[@]}" > "$out/export.json"
{
  echo "Coverage of compiler/src/ by: ${cmd[*]}"
  echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "kiln diff exit code: $status$([ "$status" -ne 0 ] && echo ' (disagreements found, or an error: see above)')"
  grep -E 'cases in .* s on' "$out/campaign.txt" || true
  echo "llvm-cov report, all of compiler/src/ (full table: $out/report.txt; its Lines count a"
  echo "line once per function mapping it, so they run slightly above the figures below):"
  head -1 "$out/report.txt"
  grep '^TOTAL' "$out/report.txt"
  echo
  python3 scripts/coverage_summary.py "$out/export.json" "$root"
} | tee "$out/summary.txt"
echo "== kiln diff exit code: $status; summary: $out/summary.txt" >&2
