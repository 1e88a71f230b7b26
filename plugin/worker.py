"""The background worker: LipAlign's own Python, started by the menu script, doing the slow analysis.

It reaches Resolve through the bridge on its stdin/stdout (the default), or directly through
external scripting (``--external``, Studio only). It runs :func:`plugin.timeline.align_timeline` or
:func:`plugin.timeline.revert_timeline`, streams progress events to the menu script, and writes the
summary JSON through :mod:`core.fileio`. SIGINT, SIGTERM and SIGHUP stop it as they stop the command line
(:mod:`core.stopping`): between timeline edits, never inside one.

    python -m plugin.worker [--revert] [--scope timeline|selection|in-out] [--strategy auto|slip|conform|speed]
                            [--tolerance PRESET] [--search-ms N] [--min-confidence C]
                            [--measure-only] [--summary PATH] [--render-folder DIR] [--external]

The settings options are the top layer over the studio's and the user's settings files (:mod:`core.settings`,
``lipalign config`` shows them): an option left out takes the files' value; one the studio locks is refused
(exit 2). It shows no window: the menu entry opens the panel (:mod:`plugin.panel`); this is for scripted runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import traceback
from pathlib import Path
from typing import Any

from core.errors import MediaError
from core.fileio import write_text_output
from core.stopping import Stopped, check_stopped, stop_signals_handled
from plugin import timeline
from plugin.bridge import BridgeError, RemoteResolve, worker_channel
from plugin.resolve_api import ResolveUnsupported, check_support
from plugin.run_settings import add_setting_arguments, settings_from_args

__all__ = ["main", "parse_args", "run"]

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m plugin.worker", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--revert", action="store_true", help="undo LipAlign's changes on the current timeline")
    add_setting_arguments(parser)
    parser.add_argument("--measure-only", action="store_true", help="measure and decide; change nothing")
    parser.add_argument("--summary", type=Path, help="write the summary JSON here")
    parser.add_argument("--external", action="store_true",
                        help="drive Resolve Studio through DaVinciResolveScript instead of the menu script's bridge")
    return parser.parse_args(argv)


def run(resolve: Any, args: argparse.Namespace, emit: Any) -> dict[str, Any]:
    """Check the Resolve, then align or revert; ``emit(op, **fields)`` reports events."""
    caps = check_support(resolve, external=args.external)
    for note in caps.notes:
        emit("log", text=note)
    if args.revert:
        return timeline.revert_timeline(resolve)

    def progress(fraction: float, stage: str) -> None:
        emit("progress", fraction=fraction, stage=stage)

    settings = settings_from_args(args)
    return timeline.align_timeline(resolve, scope=settings.scope, strategy=settings.strategy,
                                   apply=not args.measure_only, progress=progress, tolerance=settings.tolerance,
                                   render_to=settings.render_folder, search_ms=settings.search_ms,
                                   min_confidence=settings.min_confidence)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with stop_signals_handled():
            return _work(args)
    except Stopped as stop:  # SIGINT, SIGTERM or SIGHUP: the run unwound, its temporary files are gone
        print(f"lipalign worker: {stop}; nothing was left half-written", file=sys.stderr)
        return stop.exit_code


def _work(args: argparse.Namespace) -> int:
    client: RemoteResolve | None = None
    if args.external:
        from plugin.external import connect

        resolve = connect()

        def emit(op: str, **fields: Any) -> None:
            print(json.dumps({"op": op, **fields}), file=sys.stderr, flush=True)
    else:
        replies, requests = worker_channel()
        try:
            client = resolve = RemoteResolve.from_environment(replies, requests)
        except BridgeError as exc:
            print(f"lipalign worker: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        emit = client.notify
    try:
        summary = run(resolve, args, emit)
        check_stopped()  # a stop native code swallowed is reported as a stop, not as "done"
    except (ResolveUnsupported, MediaError, ValueError) as exc:
        emit("error", message=str(exc))
        print(f"lipalign worker: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except Exception as exc:  # the menu script shows one line; the log keeps the traceback
        traceback.print_exc(file=sys.stderr)
        emit("error", message=f"LipAlign failed: {type(exc).__name__}: {exc} (details in the log)")
        return EXIT_FAILED
    except Stopped as stop:
        with contextlib.suppress(Exception):  # the menu script may be gone already (it is what closed the pipe)
            emit("error", message=f"LipAlign {stop}; clips done before it keep their changes (revert undoes them)")
        raise
    if args.summary:
        write_text_output(args.summary, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    emit("done", summary=summary)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
