"""``lipalign compare REFERENCE DELIVERED``: audio offset to the sample, drift and video frame offset of two renders."""

from __future__ import annotations

import argparse

from core.commands.common import check_paths, write_json
from core.compare import Comparison, compare_files
from core.progress import ProgressBar


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("compare", help="measure the shift between two renders of the same programme",
                            description=__doc__)
    parser.add_argument("reference", metavar="REFERENCE")
    parser.add_argument("delivered", metavar="DELIVERED")
    parser.add_argument("--search-s", type=float, default=2.0, help="largest shift to look for, either way (s)")
    parser.add_argument("--json", metavar="PATH", help="also write the result as JSON to PATH, or - for stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_paths([args.reference, args.delivered], args.json)
    with ProgressBar(f"comparing {args.delivered}") as bar:
        result = compare_files(args.reference, args.delivered, search_s=args.search_s, progress=bar)
    if args.json != "-":
        print(format_comparison(result))
    write_json(args.json, result.to_dict())
    return 0


def format_comparison(c: Comparison) -> str:
    """The comparison as a few readable lines; positive = the delivered render is later."""
    lines = [f"reference  {c.reference}", f"delivered  {c.delivered}",
             f"audio      {c.audio_offset_ms:+.3f} ms ({c.audio_offset_samples:+.2f} samples at {c.rate} Hz), "
             f"match {c.audio_strength:.2f}; positive = delivered audio later"]
    if c.drift_ms_per_min is not None:
        lines.append(f"drift      {c.drift_ms_per_min:+.2f} ms/min (offset at start {c.offset_at_start_ms:+.2f} ms)")
    if c.video_offset_frames is not None:
        lines.append(f"video      {c.video_offset_frames:+d} frames ({c.video_offset_ms:+.1f} ms), "
                     f"mean difference {c.video_match:.1f}/255")
    return "\n".join(lines)
