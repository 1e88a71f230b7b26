"""``lipalign demo [--out DIR]``: synthesise a clip with a known offset, measure it, and compare.

Needs no media of your own: the clip is drawn and voiced by :mod:`core.synth`. Exit code 0 when the
measured offset is within one frame of the truth, 1 when it is not or the measurement is inconclusive.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from core.analyze import AnalysisOptions, analyze_file
from core.commands.analyze import add_estimator_arguments, estimator_settings
from core.commands.synth import add_clip_arguments, synthesize_from_args
from core.errors import MediaError
from core.model import SyncResult
from core.progress import ProgressBar
from core.report import format_summary
from core.synth import SynthTruth

DEMO_NAME = "lipalign-demo.mp4"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="measure a synthetic clip with a known offset and compare with the truth",
                            description=__doc__)
    parser.add_argument("--out", metavar="DIR",
                        help=f"keep the clip as DIR/{DEMO_NAME} (default: a temporary folder, deleted afterwards)")
    add_clip_arguments(parser, offset_ms=120.0, duration_s=10.0)
    add_estimator_arguments(parser)
    parser.set_defaults(run=run)


def verdict_line(truth: SynthTruth, sync: SyncResult) -> tuple[str, bool]:
    """The comparison printed at the end of the demo, and whether the measurement is within one frame."""
    true_text = f"true offset {truth.offset_ms:+.1f} ms"
    if truth.drift_ms_per_min:
        true_text += f" drifting {truth.drift_ms_per_min:+.1f} ms/min"
    if sync.verdict == "inconclusive" or sync.offset_ms is None:
        return f"{true_text}, measured nothing: the estimator was inconclusive ({sync.reason or 'no reason given'})", \
            False
    error_ms = sync.offset_ms - truth.offset_ms
    error_frames = error_ms * truth.fps_float / 1000.0
    return (f"{true_text}, measured {sync.offset_ms:+.1f} ms (error {error_ms:+.1f} ms, {error_frames:+.2f} frames)",
            abs(error_frames) <= 1.0)


def run(args: argparse.Namespace) -> int:
    options = AnalysisOptions(estimator=estimator_settings(args))
    with tempfile.TemporaryDirectory(prefix="lipalign-demo-") as scratch:
        folder = Path(args.out) if args.out else Path(scratch)
        if not folder.is_dir():
            raise MediaError(f"{folder}: the output folder does not exist")
        clip = folder / DEMO_NAME
        truth = synthesize_from_args(clip, args)
        with ProgressBar(f"analyzing {clip}") as bar:
            report = analyze_file(clip, options, bar).report
    print(format_summary(report))
    print()
    line, within = verdict_line(truth, report.sync)
    print(line)
    print("PASS: within one frame of the truth" if within else "FAIL: not within one frame of the truth")
    return 0 if within else 1
