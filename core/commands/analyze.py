"""``lipalign analyze FILE... [--json PATH|-] [--full]``: measure lip sync and run the pre-flight checks.

``--tolerance`` and ``--search-ms`` default to the effective settings (``lipalign config``; :mod:`core.settings`).
"""

from __future__ import annotations

import argparse
import sys

from core.analyze import AnalysisOptions, analyze_file
from core.commands.common import check_outputs, configured, write_json
from core.errors import MediaError
from core.estimate import EstimatorSettings
from core.progress import ProgressBar
from core.report import format_summary
from core.settings import values
from core.tolerance import PRESET_NAMES, parse_tolerance


def add_estimator_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that measures sync; unset, they are the configuration's (lipalign config)."""
    # default=None: an option counts as given only when typed, so that it is the top layer over the settings files.
    parser.add_argument("--search-ms", type=float, default=None,
                        help="largest offset to look for, either way, in ms, at most 5000 (default: the "
                             "configuration's, built in 1000)")
    parser.add_argument("--tolerance", default=None,
                        help=f"what counts as in sync: {', '.join(PRESET_NAMES)} (default: the configuration's, "
                             "built in broadcast: ±1 frame)")


def add_reading_argument(parser: argparse.ArgumentParser) -> None:
    """``--full``: read every frame rather than windows spread over a long file (see core.progressive)."""
    parser.add_argument("--full", action="store_true",
                        help="read every frame of every file; by default files of 40 s or more are read in "
                             "windows spread over them until the answer is sure enough, and the report says "
                             "how much was read")


def estimator_settings(args: argparse.Namespace) -> EstimatorSettings:
    """The effective search range and tolerance: the options given over the settings files (:mod:`core.settings`).

    Raises :class:`MediaError` (one line, exit code 2) for a bad value or file, or an option the studio locks.
    """
    chosen = values(configured({"search_ms": args.search_ms, "tolerance": args.tolerance}))
    return EstimatorSettings(search_ms=chosen["search_ms"], tolerance=parse_tolerance(chosen["tolerance"]))


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("analyze", help="measure lip-sync offset and drift, and check the media",
                            description=__doc__)
    parser.add_argument("files", nargs="+", metavar="FILE")
    parser.add_argument("--json", metavar="PATH", help="also write the reports as JSON to PATH, or - for stdout")
    parser.add_argument("--project-rate", type=int, default=48000, help="the project's audio sample rate (Hz)")
    add_estimator_arguments(parser)
    add_reading_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    options = AnalysisOptions(estimator=estimator_settings(args), project_rate=args.project_rate, full=args.full)
    check_outputs(args.files, args.json)
    reports = []
    failed = 0
    for path in args.files:
        with ProgressBar(f"analyzing {path}") as bar:
            try:
                reports.append(analyze_file(path, options, bar).report)
            except MediaError as exc:
                if len(args.files) == 1:
                    raise
                print(f"lipalign: {exc}", file=sys.stderr)
                failed += 1
                continue
        if args.json != "-":
            print(format_summary(reports[-1]))
            print()
    if reports:
        write_json(args.json, reports[0].to_dict() if len(reports) == 1 else [r.to_dict() for r in reports])
    return 2 if failed else 0
