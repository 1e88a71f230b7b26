"""Hostile media: how ``lipalign analyze`` ends on each file of the suite, how long it takes and its peak memory.

    .venv/bin/python benchmarks/hostile_media.py [--long-minutes 10] [--keep FOLDER]

The files are the test suite's (tests/hostile_media.py), plus a long clip (10 minutes of the talking head at
320 x 240 by default) for memory over length. Every case runs in a fresh process, so its peak is its own: the
largest resident size of the analysing process or of any face-tracking worker it started. "time" is the
analysis alone, without the one-off imports.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from hostile_media import CASES, Case, generate, run_cases  # noqa: E402
from media_factory import Source, write_clip  # noqa: E402


def long_case(minutes: float) -> Case:
    """The talking head looped for ``minutes``: memory must not grow with the length of the file."""
    def make(src: Source, path: Path) -> Path:
        repeats = int(np.ceil(minutes * 60 / (len(src.frames) / src.fps)))
        return write_clip(path, src.frames * repeats, fps=src.fps, audio=np.tile(src.audio, repeats), rate=src.rate,
                          video_options={"preset": "ultrafast"})
    return Case(f"long: {minutes:g} min 320x240", make, "report")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long-minutes", type=float, default=10.0, help="length of the long clip (0: none)")
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    args = parser.parse_args()
    cases = [*CASES, *([long_case(args.long_minutes)] if args.long_minutes > 0 else [])]
    with tempfile.TemporaryDirectory(prefix="lipalign-hostile-") as scratch:
        folder = args.keep or Path(scratch)
        started = time.perf_counter()
        files = generate(folder, cases)
        print(f"{len(cases)} files generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        width = max(len(case.name) for case in cases)
        print(f"| {'case':<{width}} | outcome  | {'what it said':<58} | time s | peak MiB |")
        print(f"|{'-' * (width + 2)}|----------|{'-' * 60}|-------:|---------:|")
        bad = 0
        for case, outcome in zip(cases, run_cases(files, cases, fresh_process=True, timeout_s=900.0), strict=True):
            ok = outcome.kind == case.expect
            bad += not ok
            said = outcome.message if outcome.kind != "report" else "; ".join(
                [outcome.message, *(d["code"] for d in outcome.report["diagnostics"])])
            print(f"| {case.name:<{width}} | {outcome.kind:<8} | {said[:58]:<58} | {outcome.seconds:6.2f} | "
                  f"{outcome.peak_mib:8.0f} |" + ("" if ok else f"  << expected {case.expect}"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
