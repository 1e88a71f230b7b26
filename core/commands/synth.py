"""``lipalign synth OUTPUT``: write a synthetic talking-head clip with a known audio offset and drift."""

from __future__ import annotations

import argparse
import os

from core.errors import MediaError
from core.progress import ProgressBar
from core.synth import SAMPLE_RATES, TRUTH_SUFFIX, SynthTruth, synthesize


def add_clip_arguments(parser: argparse.ArgumentParser, *, offset_ms: float = 0.0, duration_s: float = 6.0) -> None:
    """The clip settings shared by ``synth`` and ``demo``."""
    parser.add_argument("--offset-ms", type=float, default=offset_ms,
                        help=f"audio offset at the start in ms, positive = audio late (default {offset_ms:g})")
    parser.add_argument("--drift-ms-per-min", type=float, default=0.0,
                        help="growth of the offset in ms per minute, positive = audio falls further behind (default 0)")
    parser.add_argument("--fps", default="25", help="frame rate: 24, 25, 29.97 (= 30000/1001), 30, 50... (default 25)")
    parser.add_argument("--sample-rate", type=int, default=48000,
                        help=f"audio sample rate in Hz, one of {', '.join(map(str, SAMPLE_RATES))} (default 48000)")
    parser.add_argument("--duration", type=float, default=duration_s, help=f"seconds (default {duration_s:g})")
    parser.add_argument("--seed", type=int, default=0, help="chooses the speech, voice and head motion (default 0)")


def synthesize_from_args(output: str | os.PathLike[str], args: argparse.Namespace,
                         audio_codec: str | None = None) -> SynthTruth:
    """Run :func:`core.synth.synthesize` with the shared options, bad values becoming one-line errors."""
    with ProgressBar(f"synthesising {output}") as bar:
        try:
            return synthesize(output, offset_ms=args.offset_ms, drift_ms_per_min=args.drift_ms_per_min,
                              fps=args.fps, sample_rate=args.sample_rate, duration_s=args.duration, seed=args.seed,
                              audio_codec=audio_codec, progress=bar)
        except ValueError as exc:
            raise MediaError(f"{output}: {exc}") from None


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("synth", help="write a synthetic talking-head clip with a known offset and drift",
                            description=__doc__ + f" The truth is written to OUTPUT{TRUTH_SUFFIX} and into the "
                            "container's comment tag.")
    parser.add_argument("output", metavar="OUTPUT", help="the clip to write (.mp4 or .mov)")
    add_clip_arguments(parser)
    parser.add_argument("--audio-codec", choices=("aac", "pcm"), help="default: aac in .mp4, pcm in .mov")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    truth = synthesize_from_args(args.output, args, args.audio_codec)
    print(f"{args.output}: {truth.duration_s:g} s at {truth.fps} fps ({truth.video_codec}), "
          f"{truth.sample_rate} Hz {truth.audio_codec}; audio offset {truth.offset_ms:+.1f} ms, "
          f"drift {truth.drift_ms_per_min:+.1f} ms/min; truth in {args.output}{TRUTH_SUFFIX}")
    return 0
