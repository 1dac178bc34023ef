#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets: fuzz/corpus/<target>/seed-*.

libFuzzer starts from these instead of from an empty input, so a user's first minutes
test real cases (without seeds, length control keeps inputs at a few bytes for minutes).
The files are committed (`git add -f`: fuzz/corpus is otherwise ignored, so inputs that
libFuzzer adds later stay out of git). Deterministic: rerunning rewrites the same files.

- kir_parse: the filetests and the saved IR cases under corpora/ (text, up to 8 KiB each).
- fuzzgen: 40 short inputs (each is the seed of a full-size case, see
  `kiln_harness::fuzz::FUZZGEN_SEED_LEN`) and 8 full-length byte streams.
- wasm_compile, wasm_diff: 16 byte streams of 2 to 8 KiB each (wasm-smith reads bytes,
  not modules; short inputs would make near-empty modules).
- icache, machbuffer, config: byte streams of the lengths their inputs take (machbuffer:
  the first byte selects the ISA, so each of the three gets its own seeds).
- wasm_flow_diff: 16 byte streams of 1 to 4 KiB each (written last, so that adding it left
  the other targets' seeds unchanged).

Usage: python3 scripts/fuzz-seeds.py   (from anywhere; writes under the repo's fuzz/)
"""

import pathlib
import random

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
MAX_KIR = 8 * 1024


def write(target: str, name: str, data: bytes) -> None:
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data)


def streams(target: str, rng: random.Random, count: int, lo: int, hi: int, prefix=b"") -> None:
    for i in range(count):
        n = rng.randint(lo, hi)
        write(target, f"{i:03}", prefix + rng.randbytes(n))


def main() -> None:
    for old in CORPUS.glob("*/seed-*"):
        old.unlink()
    rng = random.Random(0x6B696C6E)  # "kiln"
    kirs = sorted(
        p
        for base in (ROOT / "harness" / "tests" / "filetests", ROOT / "corpora")
        for p in base.rglob("*.kir")
        if p.stat().st_size <= MAX_KIR
    )
    for p in kirs:
        rel = p.relative_to(ROOT).as_posix().replace("/", "_")
        write("kir_parse", rel, p.read_bytes())
    for i in range(40):
        write("fuzzgen", f"short-{i:02}", f"kiln-seed-{i}".encode())
    streams("fuzzgen", rng, 8, 1024, 4095)
    streams("wasm_compile", rng, 16, 2048, 8192)
    streams("wasm_diff", rng, 16, 2048, 8192)
    streams("icache", rng, 24, 64, 2048)
    for isa in range(3):
        for i in range(8):
            n = rng.randint(64, 1024)
            write("machbuffer", f"isa{isa}-{i}", bytes([isa]) + rng.randbytes(n))
    streams("config", rng, 24, 8, 160)
    streams("wasm_flow_diff", rng, 16, 1024, 4096)
    total = sum(p.stat().st_size for p in CORPUS.glob("*/seed-*"))
    count = len(list(CORPUS.glob("*/seed-*")))
    print(f"wrote {count} seed files, {total // 1024} KiB, under {CORPUS.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
