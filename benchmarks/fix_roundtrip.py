"""Round trips of ``lipalign fix`` on every real corpus clip: inject a known offset (and drift on long clips),
let fix measure and correct it, re-measure the result. Then ``compare`` on two AAC encodes of each clip whose
audio differs by a known number of samples.

Usage: .venv/bin/python benchmarks/fix_roundtrip.py [--offset-ms 120] [--clips NAME ...] [--part fix|compare|both]

The fix table has one row per case: the defect applied, what the estimator measured on the defective input,
the residual it measures on the fixed output (ms and frames), and whether that is within ±1 frame. The
compare table has one row per clip and shift: the audio offset found, its error in samples, the drift and
the video frame offset (both encodes carry the same pictures, so 0).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soxr

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from conftest import CORPUS  # noqa: E402
from remux import delayed, with_audio  # noqa: E402

from core.cli import main  # noqa: E402
from core.compare import compare_files  # noqa: E402
from core.decode import decode_audio_channels  # noqa: E402
from core.probe import probe  # noqa: E402

DRIFT_MS_PER_MIN = 60.0
DRIFT_MIN_DURATION_S = 15.0  # shorter clips cannot show a drift above the estimator's resolution


def defective_input(clip: Path, folder: Path, offset_ms: float, drift_ms_per_min: float) -> Path:
    """The clip with its audio made late by ``offset_ms`` and falling behind by ``drift_ms_per_min``."""
    audio = decode_audio_channels(clip)
    samples = audio.samples
    if drift_ms_per_min:
        # Played slower by the exact ratio: the audio falls behind the pictures as the clip goes on.
        stretched = soxr.resample(np.ascontiguousarray(samples.T), audio.rate,
                                  audio.rate * (1 + drift_ms_per_min / 60000.0), quality="VHQ").T
        samples = np.ascontiguousarray(stretched[:, : samples.shape[1]], dtype=np.float32)
    samples = delayed(samples, round(offset_ms * audio.rate / 1000.0))
    return with_audio(clip, folder / f"{clip.stem}.defect.mkv", samples, audio.rate, layout=audio.layout)


def run_fix(src: Path, out: Path) -> dict:
    report = out.with_suffix(".json")
    errors = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(errors):
        code = main(["fix", str(src), "-o", str(out), "--json", str(report)])
    result = json.loads(report.read_text()) if report.exists() else {}
    result["exit_code"] = code
    # The message says whose the failure is (the input, the writer, the estimator); the bar lines do not.
    result["error"] = next((line for line in reversed(errors.getvalue().splitlines())
                            if line.startswith("lipalign: ")), None)
    return result


def fmt(value: float | None, spec: str = "+7.1f") -> str:
    return "n/a" if value is None else format(value, spec)


def main_table(offset_ms: float, names: list[str]) -> None:
    clips = sorted((CORPUS / "real").iterdir())
    if names:
        clips = [c for c in clips if c.name in names or c.stem in names]
    header = (f"{'clip':<44} {'fps':>6} {'applied':>16} {'measured before':>28} {'residual after':>37} "
              f"{'±1 frame':>8} {'s':>5}")
    print(header)
    print("-" * len(header))
    inside = confident = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for clip in clips:
            info = probe(clip)
            fps = info.fps_measured or info.fps_declared or 25.0
            cases = [(offset_ms, 0.0)]
            if info.duration_s >= DRIFT_MIN_DURATION_S:
                cases.append((offset_ms, DRIFT_MS_PER_MIN))
            for offset, drift in cases:
                started = time.monotonic()
                src = defective_input(clip, folder, offset, drift)
                result = run_fix(src, folder / f"{clip.stem}.fixed.mp4")
                elapsed = time.monotonic() - started
                before = result.get("measured") or {}
                residual = result.get("residual") or {}
                if result["exit_code"] == 2:
                    measured = "error (exit 2)"
                elif before.get("verdict") in (None, "inconclusive"):
                    measured = "inconclusive"
                else:
                    measured = f"{fmt(before.get('offset_ms'))} ms {fmt(before.get('drift_ms_per_min'), '+6.1f')}/min"
                res_ms = residual.get("offset_ms")
                if res_ms is not None and residual.get("verdict") != "inconclusive":
                    confident += 1
                    within = abs(res_ms) <= 1000.0 / fps
                    inside += within
                    res_text = (f"{res_ms:+7.1f} ms {res_ms * fps / 1000.0:+5.2f} fr "
                                f"{fmt(residual.get('drift_ms_per_min'), '+6.1f')}/min")
                    verdict = "yes" if within else "NO"
                else:
                    res_text, verdict = "inconclusive", "-"
                print(f"{clip.name:<44} {fps:6.2f} {offset:+6.0f} ms {drift:+4.0f}/min {measured:>28} "
                      f"{res_text:>37} {verdict:>8} {elapsed:5.0f}", flush=True)
                if result["exit_code"] == 2:
                    print(f"    {result['error']}", flush=True)
    print(f"\n{inside} of {confident} measurable round trips within ±1 frame")


COMPARE_SHIFTS = (1234, -777)  # samples: neither a whole frame nor a whole millisecond at 44.1 or 48 kHz


def compare_table(names: list[str]) -> None:
    """How well ``compare`` recovers a known audio shift between two AAC encodes of each real clip."""
    clips = [c for c in sorted((CORPUS / "real").iterdir()) if not names or c.name in names or c.stem in names]
    header = (f"{'clip':<44} {'rate':>6} {'shift':>7} {'found':>10} {'error':>8} {'drift ms/min':>12} "
              f"{'video fr':>8} {'s':>4}")
    print(header)
    print("-" * len(header))
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for clip in clips:
            audio = decode_audio_channels(clip)
            reference = with_audio(clip, folder / "reference.mp4", audio.samples, audio.rate, layout=audio.layout,
                                   audio_codec="aac")
            for shift in COMPARE_SHIFTS:
                started = time.monotonic()
                delivered = with_audio(clip, folder / "delivered.mp4", delayed(audio.samples, shift), audio.rate,
                                       layout=audio.layout, audio_codec="aac")
                result = compare_files(reference, delivered)
                error = result.audio_offset_samples * audio.rate / result.rate - shift  # in source samples
                errors.append(abs(error))
                print(f"{clip.name:<44} {audio.rate:6d} {shift:+7d} {result.audio_offset_samples:+10.2f} "
                      f"{error:+8.3f} {fmt(result.drift_ms_per_min, '+12.3f')} "
                      f"{fmt(result.video_offset_frames, '+8d')} {time.monotonic() - started:4.0f}", flush=True)
    within = sum(e < 1.0 for e in errors)
    print(f"\n{within} of {len(errors)} known shifts recovered within one sample; largest error "
          f"{max(errors):.3f} samples")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offset-ms", type=float, default=120.0)
    parser.add_argument("--clips", nargs="*", default=[])
    parser.add_argument("--part", choices=("fix", "compare", "both"), default="both")
    args = parser.parse_args()
    if args.part in ("fix", "both"):
        main_table(args.offset_ms, args.clips)
    if args.part == "both":
        print()
    if args.part in ("compare", "both"):
        compare_table(args.clips)
