"""Helpers the command modules share: JSON output and path checks."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from core.errors import MediaError
from core.fileio import refuse_overwriting_input, refuse_writing_twice, write_text_atomic


def write_json(target: str | None, payload: Any) -> None:
    """Write ``payload`` as JSON to the path ``target``, to stdout for ``-``, nowhere for None."""
    if not target:
        return
    text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
    if target == "-":
        sys.stdout.write(text)
    else:
        write_text_atomic(target, text)


def check_paths(inputs: list[str], *outputs: str | None) -> None:
    """Raise :class:`MediaError` for a missing input, an output that would overwrite an input, or two
    outputs naming one file. ``None`` (not asked for) and ``-`` (stdout) outputs are skipped."""
    for path in inputs:
        if not os.path.isfile(path):
            raise MediaError(f"{path}: no such file")
    files = [path for path in outputs if path and path != "-"]
    for path in files:
        refuse_overwriting_input(path, *inputs)
    refuse_writing_twice(*files)
