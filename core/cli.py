"""The ``lipalign`` command: one sub-command per module in :mod:`core.commands`.

Each command module offers ``register(subparsers)``, which adds its parser and sets ``run`` (a
function of the parsed arguments returning the exit code). Bad input surfaces as
:class:`core.errors.MediaError` and becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from core.errors import MediaError
from core.version import VERSION

COMMANDS = ("analyze", "synth", "demo", "fix", "compare", "prep_audio", "conform_fps")


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
        return int(args.run(args))
    except MediaError as exc:
        print(f"lipalign: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lipalign: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: still one line, with a way to get the details
        if os.environ.get("LIPALIGN_DEBUG"):
            raise
        print(f"lipalign: internal error: {type(exc).__name__}: {exc} (set LIPALIGN_DEBUG=1 for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
