"""Helpers the command modules share: JSON output and path checks."""

from __future__ import annotations

import json
import os
from typing import Any

from core.errors import MediaError
from core.fileio import output_target, refuse_overwriting_input, refuse_writing_twice, write_text_output


def write_json(target: str | None, payload: Any) -> None:
    """Write ``payload`` as JSON to the path ``target`` (see :func:`core.fileio.write_text_output`), to stdout
    for ``-``, nowhere for None."""
    if target:
        write_text_output(target, json.dumps(payload, indent=2, allow_nan=False) + "\n")


def check_paths(inputs: list[str], *outputs: str | None) -> None:
    """Raise :class:`MediaError` for a missing input, or any of :func:`check_outputs`' reasons; before any work."""
    for path in inputs:
        if not os.path.isfile(path):
            raise MediaError(f"{path}: no such file")
    check_outputs(inputs, *outputs)


def check_outputs(inputs: list[str], *outputs: str | None) -> None:
    """Raise :class:`MediaError` for an output that would overwrite an input or cannot be written at all (see
    :func:`core.fileio.output_target`), or two outputs naming one file. ``None`` (not asked for) and ``-``
    (stdout) outputs are skipped."""
    files = [path for path in outputs if path and path != "-"]
    for path in files:
        refuse_overwriting_input(path, *inputs)
        output_target(path)
    refuse_writing_twice(*files)
