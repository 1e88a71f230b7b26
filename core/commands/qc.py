"""``lipalign qc PATH...``: check every clip of folders in parallel, resumably, and report the batch.

    lipalign qc PATH... [--recursive] [--html R.html] [--csv R.csv] [--json R.json] [--workers N]
                [--scheduler tcp://HOST:PORT] [--cache DIR] [--tolerance PRESET] [--search-ms N]
                [--fail-on offset,drift,inconclusive,diagnostic,unreadable]

--tolerance and --search-ms default to the effective settings (lipalign config).

Exit status for QC gates: 0 when no file breaks a --fail-on rule (default offset,drift,unreadable), 1 when
one does, 2 for bad arguments. A file that cannot be read is a row of the report, not the end of the batch.
"""

from __future__ import annotations

import argparse
import datetime
import os
import time
from pathlib import Path

from core.commands.analyze import add_estimator_arguments, add_reading_argument, estimator_settings
from core.commands.common import check_outputs
from core.errors import MediaError
from core.fileio import write_text_output
from core.progress import ProgressBar
from core.qc.cache import default_cache_folder
from core.qc.discover import find_media
from core.qc.model import FAIL_RULES, QcBatch, QcItem
from core.qc.run import QcSettings, check_files
from core.qc.table import batch_csv, batch_json
from core.version import VERSION

DEFAULT_FAIL_ON = "offset,drift,unreadable"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("qc", help="check folders of clips in parallel and write an HTML, CSV or JSON report",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="media files or folders")
    parser.add_argument("--recursive", action="store_true", help="look in subfolders too")
    parser.add_argument("--html", metavar="PATH", help="write the report a producer reads")
    parser.add_argument("--csv", metavar="PATH", help="write one row per file, for spreadsheets")
    parser.add_argument("--json", metavar="PATH", help="write the reports with a batch header (- for stdout)")
    parser.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 4),
                        help="local worker processes, one file each at a time (default: one per core, up to 4)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler (tcp://HOST:PORT) whose workers "
                        "have LipAlign installed and see the media and the cache at the same paths")
    parser.add_argument("--cache", type=Path, help=f"where results are kept (default {default_cache_folder()})")
    parser.add_argument("--fail-on", default=DEFAULT_FAIL_ON,
                        help=f"what fails the gate, comma separated: {', '.join(FAIL_RULES)} "
                             f"(default {DEFAULT_FAIL_ON})")
    parser.add_argument("--project-rate", type=int, default=48000, help="the project's audio sample rate (Hz)")
    add_estimator_arguments(parser)
    add_reading_argument(parser)
    parser.set_defaults(run=run)


def fail_rules(text: str) -> tuple[str, ...]:
    rules = tuple(r.strip() for r in text.split(",") if r.strip())
    unknown = [r for r in rules if r not in FAIL_RULES]
    if unknown:
        raise MediaError(f"--fail-on: unknown rule {unknown[0]!r}; choose from {', '.join(FAIL_RULES)}")
    return rules


def run(args: argparse.Namespace) -> int:
    rules = fail_rules(args.fail_on)
    estimator = estimator_settings(args)  # one line and exit 2 for a bad or locked setting, before any work
    settings = QcSettings(estimator.tolerance.name, estimator.search_ms, args.project_rate, args.full)
    check_outputs(args.paths, args.html, args.csv, args.json)
    started, clock = datetime.datetime.now().astimezone().isoformat(timespec="seconds"), time.monotonic()
    found = find_media(args.paths, args.recursive)
    media = [f.path for f in found if f.kind == "media"]
    if not media and not any(f.kind == "unreadable" for f in found):
        raise MediaError(f"no media found in {', '.join(args.paths)}" + ("" if args.recursive else
                                                                          " (--recursive looks in subfolders)"))
    checked = _check(media, settings, args)
    items = [checked[f.path] if f.kind == "media" else QcItem(f.path, "failed" if f.kind == "unreadable"
                                                              else "skipped", f.reason) for f in found]
    from core.qc.html import render_html  # deferred: matplotlib costs every other command its import time

    batch = QcBatch(items, {"tolerance": settings.tolerance, "search_ms": settings.search_ms,
                            "project_rate": settings.project_rate}, rules, VERSION, started,
                    time.monotonic() - clock, args.scheduler or f"local:{args.workers}")
    for path, text in ((args.html, render_html), (args.csv, batch_csv), (args.json, batch_json)):
        if path:
            write_text_output(path, text(batch))
    if args.json != "-":
        print(summary_text(batch))
    return 1 if batch.failing() else 0


def _check(media: list[str], settings: QcSettings, args: argparse.Namespace) -> dict[str, QcItem]:
    """Each media file's result, with one progress bar over them all."""
    if not media:
        return {}
    done: list[QcItem] = []
    began = time.monotonic()
    with ProgressBar("qc") as bar:
        def seen(item: QcItem) -> None:
            done.append(item)
            failed = sum(i.status == "failed" for i in done)
            per_file = (time.monotonic() - began) / len(done)
            left = per_file * (len(media) - len(done))
            bar(len(done) / len(media), f"{len(done)}/{len(media)} files, {failed} failed, {left:.0f} s left")

        items = check_files(media, settings, args.cache or default_cache_folder(), workers=args.workers,
                            scheduler=args.scheduler, on_result=seen)
    return {i.path: i for i in items}


def summary_text(batch: QcBatch) -> str:
    """What the terminal shows: the counts, then each file that needs a look, worst first."""
    c = batch.counts()
    lines = [f"checked {c['checked']} files ({c['analysed']} analysed, {c['cached']} from the cache) in "
             f"{batch.elapsed_s:.0f} s on {batch.workers}: {c['in_sync']} in sync, {c['offset']} out of sync, "
             f"{c['drift']} drifting, {c['inconclusive']} inconclusive, {c['failed']} failed"
             + (f"; {c['skipped']} skipped (not media)" if c["skipped"] else "")]
    for item in batch.ordered():
        if item.grade == "green":
            continue
        sync = (item.report or {}).get("sync", {})
        detail = item.reason or sync.get("reason", "")
        if sync.get("offset_ms") is not None and item.verdict != "inconclusive":
            detail = f"{sync['offset_ms']:+.0f} ms ({sync['offset_frames']:+.1f} frames)" + (
                f", drift {sync['drift_ms_per_min']:+.1f} ms/min" if item.verdict == "drift" else "")
        flag = " FAILS " + ",".join(item.fails(batch.fail_on)) if item.fails(batch.fail_on) else ""
        lines.append(f"  {item.grade.upper():5} {item.verdict:12} {item.path}: {detail}{flag}")
    return "\n".join(lines)
