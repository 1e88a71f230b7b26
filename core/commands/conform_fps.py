"""``lipalign conform-fps INPUT -o OUTPUT [--fps RATE]``: re-time video to a constant frame rate, audio untouched.

For files whose declared rate does not match their real frame timing, and for variable-frame-rate
phone footage. Without --fps the standard rate nearest the measured one is used.
"""

from __future__ import annotations

import argparse

from core.commands.common import check_paths, write_json
from core.conform import MAX_FPS, ConformResult, conform_fps
from core.errors import MediaError
from core.fileio import output_target
from core.framerate import parse_fps
from core.model import MediaInfo
from core.probe import probe
from core.progress import ProgressBar

RATE_SLACK = 1e-3  # share of the rate the probed output may differ by


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("conform-fps", help="re-time video to a constant frame rate, keeping the audio in sync",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", metavar="INPUT")
    parser.add_argument("-o", "--output", required=True, metavar="OUTPUT", help=".mp4, .m4v, .mov or .mkv")
    parser.add_argument("--fps", help="target rate: 23.976, 24, 25, 29.97, 30, 50, 59.94, 60 or N/D "
                                      "(default: the standard rate nearest the measured one)")
    parser.add_argument("--json", metavar="PATH", help="also write the result as JSON to PATH, or - for stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_paths([args.input], args.output, args.json)
    try:
        fps = parse_fps(args.fps, highest=MAX_FPS) if args.fps else None
    except ValueError as exc:
        raise MediaError(str(exc)) from None
    with ProgressBar(f"conforming {args.input}") as bar:
        result = conform_fps(args.input, args.output, fps, bar)
    if output_target(args.output).direct:  # a device or pipe cannot be read back
        payload, constant = result.to_dict() | {"verified": None}, None
    else:
        payload, constant = _verified(result, probe(args.output))
    if args.json != "-":
        print(format_conform(result, constant))
    write_json(args.json, payload)
    return 0 if constant is not False else 1


def _verified(result: ConformResult, after: MediaInfo) -> tuple[dict, bool]:
    """The result with what a probe of the written file says, and whether that is the constant rate asked for."""
    payload = result.to_dict() | {"verified": {"fps_declared": after.fps_declared, "fps_measured": after.fps_measured,
                                               "vfr": after.vfr, "video_start_s": after.video_start_s,
                                               "audio_start_s": after.audio_start_s}}
    # Matroska keeps times to the millisecond, so its measured rate can be off by a few parts in 10 000.
    slack = RATE_SLACK * result.fps
    constant = (not after.vfr and after.fps_measured is not None
                and abs(after.fps_measured - result.fps) <= slack
                and abs((after.fps_declared or 0.0) - result.fps) <= slack)
    payload["verified"]["constant_rate"] = constant
    return payload, constant

def format_conform(r: ConformResult, constant: bool | None) -> str:
    """What conform-fps did, in a few lines."""
    vfr = " (variable)" if r.source_vfr else ""
    return "\n".join([
        f"wrote {r.output}: {r.fps_text} fps ({r.fps:.3f}), {r.output_frames} frames",
        f"source: {r.source_fps_declared:.3f} declared, {r.source_fps_measured:.3f} measured{vfr}, "
        f"{r.source_frames} frames; {r.repeated_frames} repeated, {r.dropped_frames} dropped",
        f"audio {'copied unchanged' if r.audio_copied else 'none'}; "
        "output written into a device or pipe: not probed" if constant is None else
        f"output {'is' if constant else 'is NOT'} constant-rate when probed",
    ])
