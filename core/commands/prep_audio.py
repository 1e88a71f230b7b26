"""``lipalign prep-audio INPUT -o OUTPUT.wav``: clean a source's audio for a lip-sync generator.

Noise reduction from the quietest stretches, leading and trailing silence cut to at most 200 ms,
peak normalisation, 16-bit PCM mono WAV at 22050 Hz unless told otherwise.
"""

from __future__ import annotations

import argparse

from core.commands.common import check_paths, write_json
from core.prep import DEFAULT_PEAK_DBFS, DEFAULT_RATE, MAX_EDGE_SILENCE_S, PrepResult, prep_audio_file
from core.progress import ProgressBar


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("prep-audio", help="denoise, trim and normalise audio into a 16-bit mono WAV",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", metavar="INPUT")
    parser.add_argument("-o", "--output", required=True, metavar="OUTPUT.wav")
    parser.add_argument("--rate", type=int, default=DEFAULT_RATE,
                        help=f"output sample rate, Hz (default {DEFAULT_RATE})")
    parser.add_argument("--peak-dbfs", type=float, default=DEFAULT_PEAK_DBFS,
                        help=f"normalise the highest sample to this level (default {DEFAULT_PEAK_DBFS:g} dBFS)")
    parser.add_argument("--max-silence-ms", type=float, default=MAX_EDGE_SILENCE_S * 1000.0,
                        help="keep at most this much silence at the start and the end (default 200 ms)")
    parser.add_argument("--no-denoise", action="store_true", help="skip the noise reduction")
    parser.add_argument("--json", metavar="PATH", help="also write what changed as JSON to PATH, or - for stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_paths([args.input], args.output, args.json)
    with ProgressBar(f"preparing {args.input}") as bar:
        result = prep_audio_file(args.input, args.output, rate=args.rate, peak_dbfs=args.peak_dbfs,
                                 max_silence_s=args.max_silence_ms / 1000.0, denoise=not args.no_denoise,
                                 progress=bar)
    if args.json != "-":
        print(format_prep(result))
    write_json(args.json, result.to_dict())
    return 0


def format_prep(r: PrepResult) -> str:
    """What changed, one fact a line."""
    return "\n".join([
        f"wrote {r.output}: {r.rate} Hz mono 16-bit PCM, {r.duration_out_s:.2f} s (was {r.duration_in_s:.2f} s, "
        f"{r.source_rate} Hz, {r.source_channels} ch)",
        f"noise floor {r.noise_floor_before_dbfs:.1f} dBFS -> {r.noise_floor_after_dbfs:.1f} dBFS "
        f"({r.noise_reduction_db:.1f} dB lower relative to the speech; profile {r.noise_profile_ms:.0f} ms)",
        f"trimmed {r.trimmed_start_ms:.0f} ms at the start, {r.trimmed_end_ms:.0f} ms at the end",
        f"gain {r.gain_db:+.2f} dB, peak {r.peak_dbfs:.2f} dBFS",
    ])
