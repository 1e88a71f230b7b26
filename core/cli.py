"""The ``lipalign`` command: one sub-command per module in :mod:`core.commands`.

Each command module offers ``register(subparsers)``, which adds its parser and sets ``run`` (a
function of the parsed arguments returning the exit code). Bad input surfaces as
:class:`core.errors.MediaError` and becomes one line on stderr and exit code 2; SIGINT, SIGTERM and SIGHUP
stop the run cleanly (:mod:`core.stopping`) with one line and exit code 130, 143 or 129.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from core.errors import MediaError
from core.stopping import Stopped, check_stopped, stop_signals_handled
from core.version import VERSION

COMMANDS = ("analyze", "qc", "synth", "demo", "fix", "compare", "prep_audio", "conform_fps", "config", "doctor")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lipalign", description="Measure and fix lip-sync offset and drift in talking-head clips.")
    parser.add_argument("--version", action="version", version=f"lipalign {VERSION}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"core.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with stop_signals_handled():
            status = int(args.run(args))
            check_stopped()  # a stop whose exception native code swallowed still ends the run as stopped
            return status
    except MediaError as exc:
        print(f"lipalign: {exc}", file=sys.stderr)
        return 2
    except Stopped as stop:  # SIGINT, SIGTERM or SIGHUP: the run unwound, its temporary files are gone
        print(f"lipalign: {stop}; nothing was left half-written", file=sys.stderr)
        return stop.exit_code
    except Exception as exc:  # a bug, not bad input: still one line, with a way to get the details
        if os.environ.get("LIPALIGN_DEBUG"):
            raise
        print(f"lipalign: internal error: {type(exc).__name__}: {exc} (set LIPALIGN_DEBUG=1 for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
