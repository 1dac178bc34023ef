#!/usr/bin/env python3
"""Line-coverage summary of compiler/src/ from `llvm-cov export -format=text` JSON.

Usage: coverage_summary.py EXPORT.json REPO_ROOT

Prints, for the back end (compiler/src/isa/, split into isa/x64 and isa/aarch64;
compiler/src/machinst/; compiler/src/module/): covered/total lines and the percentage
per directory, the "lowering, emission and MachBuffer" aggregate (isa/ + machinst/) and
all of compiler/src/; then every file of those directories with its percentage and its
uncovered line ranges (e.g. `lower.rs: 88.1 % (1234/1400)  uncovered: 120-124, 300`).

A line's count is derived from the file's segments exactly as llvm-cov does it
(llvm::coverage::LineCoverageIterator / LineCoverageStats): a line is code when a
region with a count starts on it or a counted region wraps into it (and it does not
start a skipped region); its count is the largest count among the regions starting on
it, else the wrapped region's count. These are the lines `llvm-cov show` marks with a
count, each counted once. `llvm-cov report`'s Lines column (and the export's per-file
"summary") instead sums per-function line counts, so a line mapped by two functions (a
closure and its enclosing fn) counts twice there: its totals are slightly higher.
"""

import json
import os
import sys

# (label, repo-relative directory prefix)
DIRECTORIES = [
    ("compiler/src/isa/", "compiler/src/isa/"),
    ("  isa/x64", "compiler/src/isa/x64/"),
    ("  isa/aarch64", "compiler/src/isa/aarch64/"),
    ("compiler/src/machinst/", "compiler/src/machinst/"),
    ("compiler/src/module/", "compiler/src/module/"),
]
AGGREGATES = [
    ("lowering, emission and MachBuffer (isa/ + machinst/)",
     ("compiler/src/isa/", "compiler/src/machinst/")),
    ("all of compiler/src/", ("compiler/src/",)),
]
PER_FILE = ("compiler/src/isa/", "compiler/src/machinst/", "compiler/src/module/")
# Test and fuzz support compiled into the library (called only by tests and fuzz targets,
# never by compilation): whole files, and `pub mod <name> {` blocks inside a file.
SUPPORT_FILES = ("layout_check.rs", "isa/fuzzing.rs")
SUPPORT_MODULES = ("testing",)


def support_lines(path):
    """Line numbers of the file at `path` that are test/fuzz support (see above)."""
    if path.endswith(SUPPORT_FILES):
        return None  # the whole file
    out = set()
    try:
        with open(path) as f:
            src = f.read().splitlines()
    except OSError:
        return out
    inside = False
    for n, text in enumerate(src, 1):
        if any(text.startswith(f"pub mod {m} {{") for m in SUPPORT_MODULES):
            inside = True
        if inside:
            out.add(n)
            if text == "}":
                inside = False
    return out


def line_counts(segments):
    """{line: execution count} for every code line of a file, from its segments.

    A segment is [line, col, count, has_count, is_region_entry, is_gap_region], sorted.
    Lines after the last segment (the closing one) are not code, as in llvm-cov.
    """
    counts = {}
    i, n = 0, len(segments)
    if n == 0:
        return counts
    line = segments[0][0]
    wrapped = None  # the last segment of the preceding lines
    on_line = []
    while i < n:
        if on_line:
            wrapped = on_line[-1]
        on_line = []
        while i < n and segments[i][0] == line:
            on_line.append(segments[i])
            i += 1
        starts = [s for s in on_line if s[3] and s[4] and not s[5]]
        skipped = bool(on_line) and not on_line[0][3] and on_line[0][4]
        mapped = not skipped and ((wrapped is not None and wrapped[3]) or starts)
        if mapped:
            count = wrapped[2] if wrapped is not None else 0
            if starts:
                count = max([count] + [s[2] for s in starts])
            counts[line] = count
        line += 1
    return counts


def ranges(lines):
    """'120-124, 300, 455-460' for a sorted list of line numbers."""
    out = []
    start = prev = None
    for l in lines:
        if start is None:
            start = prev = l
        elif l == prev + 1:
            prev = l
        else:
            out.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = l
    if start is not None:
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ", ".join(out)


def pct(covered, total):
    return 100.0 * covered / total if total else 100.0


def main():
    export_path, root = sys.argv[1], os.path.realpath(sys.argv[2])
    with open(export_path) as f:
        data = json.load(f)

    files = {}  # repo-relative path -> (covered, total, [uncovered lines])
    support_files = {}  # repo-relative path -> (covered, total) of its support lines
    for unit in data["data"]:
        for entry in unit["files"]:
            path = os.path.realpath(entry["filename"])
            rel = os.path.relpath(path, root)
            if not rel.startswith("compiler/src/"):
                continue
            counts = line_counts(entry["segments"])
            support = support_lines(path)
            supp = set(counts) if support is None else support & set(counts)
            support_files[rel] = (
                sum(1 for l in supp if counts[l] > 0),
                len(supp),
            )
            total = len(counts)
            covered = sum(1 for c in counts.values() if c > 0)
            uncovered = sorted(l for l, c in counts.items() if c == 0)
            files[rel] = (covered, total, uncovered)

    def total_of(prefixes):
        c = t = 0
        for rel, (fc, ft, _) in files.items():
            if rel.startswith(prefixes):
                c += fc
                t += ft
        return c, t

    width = max(len(l) for l, _ in DIRECTORIES + AGGREGATES)
    print("Line coverage (covered/total distinct source lines, as llvm-cov show marks them)")
    for label, prefix in DIRECTORIES:
        c, t = total_of((prefix,))
        print(f"{label:<{width}}  {c:>6}/{t:<6} {pct(c, t):5.1f} %")
    print()
    for label, prefixes in AGGREGATES:
        c, t = total_of(prefixes)
        print(f"{label:<{width}}  {c:>6}/{t:<6} {pct(c, t):5.1f} %")
    prefixes = AGGREGATES[0][1]
    c, t = total_of(prefixes)
    sc = sum(v[0] for k, v in support_files.items() if k.startswith(prefixes))
    st = sum(v[1] for k, v in support_files.items() if k.startswith(prefixes))
    label = "  the same without test/fuzz support code"
    print(f"{label:<{width}}  {c - sc:>6}/{t - st:<6} {pct(c - sc, t - st):5.1f} %"
          f"   ({st} lines of {', '.join(SUPPORT_FILES)} and `pub mod"
          f" {'/'.join(SUPPORT_MODULES)}` blocks)")

    for prefix in PER_FILE:
        print(f"\n{prefix}")
        for rel in sorted(f for f in files if f.startswith(prefix)):
            c, t, unc = files[rel]
            name = rel[len(prefix):]
            line = f"  {name}: {pct(c, t):.1f} % ({c}/{t})"
            if unc:
                line += f"  uncovered: {ranges(unc)}"
            print(line)


if __name__ == "__main__":
    main()
