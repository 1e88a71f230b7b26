"""``lipalign fix INPUT -o OUTPUT``: write a copy with the audio slipped and de-drifted, then verify it."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

from core.analyze import AnalysisOptions, analyze_file
from core.commands.analyze import add_estimator_arguments, estimator_settings
from core.commands.common import check_paths, write_json
from core.correct import correction_from_sync, write_corrected_media
from core.errors import MediaError
from core.fileio import output_target
from core.model import REPORT_SCHEMA, SyncResult
from core.progress import ProgressBar, progress_part
from core.tolerance import Tolerance


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("fix", help="write a copy with the audio moved onto the lips, and verify it",
                            description=__doc__)
    parser.add_argument("input", metavar="INPUT")
    parser.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                        help="corrected copy (.mp4, .mov, .m4v, .mkv; .wav for the audio alone)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--offset-ms", type=float,
                        help="correct this offset instead of measuring it (ms, > 0 = audio late)")
    source.add_argument("--from-report", metavar="REPORT.json", help="correct what a lipalign analyze report measured")
    parser.add_argument("--drift-ms-per-min", type=float,
                        help="correct this drift instead of measuring it (ms per minute, > 0 = audio falls behind)")
    parser.add_argument("--no-verify", action="store_true", help="do not re-measure the corrected copy")
    parser.add_argument("--json", metavar="PATH", help="also write the result as JSON to PATH, or - for stdout")
    add_estimator_arguments(parser)
    parser.set_defaults(run=run)


def _correction_from_report(path: str) -> tuple[float, float]:
    try:
        with open(path, encoding="utf-8") as handle:
            report = json.load(handle)
    except FileNotFoundError:
        raise MediaError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MediaError(f"{path}: not a readable JSON report ({exc})") from None
    if isinstance(report, list) and len(report) == 1:
        report = report[0]
    valid = isinstance(report, dict) and report.get("schema") == REPORT_SCHEMA and isinstance(report.get("sync"), dict)
    if not valid:
        raise MediaError(f"{path}: not a single-file {REPORT_SCHEMA} report")
    try:
        return correction_from_sync(report["sync"])
    except MediaError as exc:
        raise MediaError(f"{path}: {exc}") from None


def residual_within(sync: SyncResult, tolerance: Tolerance, fps: float, duration_s: float) -> bool:
    """Whether the re-measured offset is within tolerance at both the start and the end of the clip."""
    if sync.verdict == "inconclusive" or sync.offset_ms is None:  # a best guess is not a measurement
        return False
    end = sync.offset_ms + (sync.drift_ms_per_min or 0.0) * duration_s / 60.0
    return tolerance.accepts(sync.offset_ms, fps) and tolerance.accepts(end, fps)


def _stage_bounds(measuring: bool, verifying: bool) -> list[tuple[float, float]]:
    """(start, end) on the bar of the measure, write and verify stages; a stage that does not run takes none of it.

    A measurement (face tracking) takes about twice as long as writing the copy.
    """
    weights = (2.0 if measuring else 0.0, 1.0, 2.0 if verifying else 0.0)
    edges = [edge / sum(weights) for edge in itertools.accumulate(weights, initial=0.0)]
    return list(itertools.pairwise(edges))


def _sync_fields(sync: SyncResult) -> dict:
    return {"verdict": sync.verdict, "offset_ms": sync.offset_ms, "offset_frames": sync.offset_frames,
            "drift_ms_per_min": sync.drift_ms_per_min, "confidence": sync.confidence, "reason": sync.reason}


def run(args: argparse.Namespace) -> int:
    inputs = [args.input, *([args.from_report] if args.from_report else [])]
    check_paths(inputs, args.output, args.json)
    settings = estimator_settings(args)
    options = AnalysisOptions(estimator=settings)
    if args.from_report and args.drift_ms_per_min is not None:
        raise MediaError("give either --from-report or --drift-ms-per-min, not both")
    measuring = not args.from_report and args.offset_ms is None and args.drift_ms_per_min is None
    readable = not output_target(args.output).direct  # a device or pipe cannot be read back
    verifying = not args.no_verify and readable and Path(args.output).suffix.lower() != ".wav"
    with ProgressBar(f"fixing {args.input}") as bar:
        measure, write, verify = (progress_part(bar, *bounds) for bounds in _stage_bounds(measuring, verifying))
        before = None
        if args.from_report:
            offset, drift = _correction_from_report(args.from_report)
            source = "report"
        elif args.offset_ms is not None or args.drift_ms_per_min is not None:
            offset, drift = args.offset_ms or 0.0, args.drift_ms_per_min or 0.0
            source = "given"
        else:
            measured = analyze_file(args.input, options, measure).report.sync
            before = _sync_fields(measured)
            try:
                offset, drift = correction_from_sync(measured)
            except MediaError as exc:
                print(f"lipalign: {args.input}: {exc}", file=sys.stderr)
                write_json(args.json, {"schema": "lipalign.fix/1", "input": args.input, "output": None,
                                       "correction": None, "measured": before, "residual": None})
                return 1
            source = "measured"
        written = write_corrected_media(args.input, args.output, offset, drift, write)
        result = {"schema": "lipalign.fix/1", "input": args.input, "output": args.output,
                  "correction": {"source": source, "offset_ms": offset, "drift_ms_per_min": drift,
                                 "slip_samples": written.applied_slip_samples, "sample_rate": written.sample_rate},
                  "measured": before, "audio_codec": written.audio_codec, "video_copied": written.video_copied,
                  "residual": None, "unverified_reason": None}
        status = 0
        if args.no_verify:
            result["unverified_reason"] = "--no-verify"
        elif not readable:
            result["unverified_reason"] = "the output is a device or pipe, which cannot be read back"
        elif not written.video_codec:  # the lips are the measure: an audio-only copy cannot be re-measured
            result["unverified_reason"] = "the output has no video to measure the audio against"
        else:
            after = analyze_file(args.output, options, verify).report
            fps = after.media.fps_measured or after.media.fps_declared or 25.0
            ok = residual_within(after.sync, settings.tolerance, fps, after.media.duration_s)
            result["residual"] = {**_sync_fields(after.sync), "within_tolerance": ok,
                                  "tolerance": settings.tolerance.name}
            status = 0 if ok else 1
        bar(1.0, "done")
    if args.json != "-":
        print(_summary(result))
    write_json(args.json, result)
    return status


def _summary(result: dict) -> str:
    c = result["correction"]
    lines = [f"wrote {result['output']}: audio slipped {-c['offset_ms']:+.2f} ms ({c['slip_samples']:+d} samples at "
             f"{c['sample_rate']} Hz), drift corrected {c['drift_ms_per_min']:+.2f} ms/min ({c['source']}); "
             f"audio {result['audio_codec']}, video {'copied' if result['video_copied'] else 'none'}"]
    r = result["residual"]
    if r is None:
        lines.append(f"not verified ({result['unverified_reason']})")
    elif r["verdict"] == "inconclusive" or r["offset_ms"] is None:
        lines.append(f"residual: could not be measured ({r['reason'] or r['verdict']}); not verified")
    else:
        drift = "n/a" if r["drift_ms_per_min"] is None else f"{r['drift_ms_per_min']:+.1f} ms/min"
        verdict = "within" if r["within_tolerance"] else "OUTSIDE"
        lines.append(f"residual: {r['offset_ms']:+.1f} ms ({r['offset_frames']:+.2f} frames), drift {drift}: "
                     f"{verdict} tolerance {r['tolerance']}")
    return "\n".join(lines)
