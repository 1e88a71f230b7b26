"""Helpers the command modules share: JSON output, path checks and the effective settings."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from core.errors import MediaError
from core.fileio import output_target, refuse_overwriting_input, refuse_writing_twice, write_text_output
from core.settings import Setting, SettingsError, load_settings


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


def configured(given: Mapping[str, object] | None = None) -> dict[str, Setting]:
    """The effective settings (:func:`core.settings.load_settings`) with ``given`` as the command line's values.

    Raises :class:`MediaError` (one line, exit code 2) for a bad settings file, a bad value, or an option given
    for a key the studio locks.
    """
    try:
        return load_settings(given)
    except SettingsError as exc:
        raise MediaError(str(exc)) from None
