"""Synthetic talking heads across frame rates, sample rates, offsets and drifts: how fast they are made,
whether Face Mesh finds the face in every frame and follows the drawn mouth, and what the estimator measures.

Usage: .venv/bin/python benchmarks/synth.py [--duration 10] [--seeds 3]

Prints one row per clip: the settings, seconds to synthesise, share of frames with a face, the correlation
of the measured inner-lip aperture with the drawn opening, and the estimator's verdict, offset, drift and
error against the truth (ms and frames).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.analyze import analyze_file  # noqa: E402
from core.synth import mouth_opening, plan_for, synthesize  # noqa: E402

CASES = (  # fps, sample rate, offset ms, drift ms/min
    ("25", 48000, 120.0, 0.0),
    ("29.97", 44100, -80.0, 0.0),
    ("24", 48000, 0.0, 0.0),
    ("30", 16000, 250.0, 0.0),
    ("50", 48000, -160.0, 0.0),
    ("23.976", 48000, 40.0, 0.0),
    ("25", 48000, 0.0, 60.0),
    ("29.97", 48000, 100.0, -60.0),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per clip (default 10)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per case (default 1)")
    args = parser.parse_args()
    header = (f"{'fps':>7} {'rate':>6} {'offset':>7} {'drift':>6} {'seed':>4} {'synth s':>7} {'face %':>6} "
              f"{'r':>6} {'verdict':>12} {'measured':>9} {'drift':>6} {'err ms':>7} {'err fr':>6}")
    print(header)
    print("-" * len(header))
    errors = []
    with tempfile.TemporaryDirectory() as folder:
        for fps, rate, offset_ms, drift in CASES:
            for seed in range(args.seeds):
                path = Path(folder) / "clip.mp4"
                started = time.perf_counter()
                truth = synthesize(path, offset_ms=offset_ms, drift_ms_per_min=drift, fps=fps, sample_rate=rate,
                                   duration_s=args.duration, seed=seed)
                made_s = time.perf_counter() - started
                analysis = analyze_file(path)
                face, sync = analysis.face, analysis.report.sync
                drawn = mouth_opening(plan_for(truth), face.time_s[face.found])
                r = np.corrcoef(drawn, face.mouth[face.found, 0])[0, 1]
                if sync.offset_ms is None:
                    measured = drift_text = err_text = frames_text = "-"
                else:
                    error = sync.offset_ms - truth.offset_ms
                    errors.append(error * truth.fps_float / 1000.0)
                    measured, drift_text = f"{sync.offset_ms:+.1f}", f"{sync.drift_ms_per_min or 0.0:+.0f}"
                    err_text, frames_text = f"{error:+.1f}", f"{errors[-1]:+.2f}"
                print(f"{fps:>7} {rate:>6} {offset_ms:>+7.0f} {drift:>+6.0f} {seed:>4} {made_s:>7.2f} "
                      f"{100 * face.found.mean():>6.1f} {r:>6.3f} {sync.verdict:>12} {measured:>9} {drift_text:>6} "
                      f"{err_text:>7} {frames_text:>6}", flush=True)
    if errors:
        worst = float(np.max(np.abs(errors)))
        print(f"\n{len(errors)} measured, worst error {worst:.2f} frames; "
              f"{sum(abs(e) <= 1 for e in errors)} within ±1 frame")


if __name__ == "__main__":
    main()
