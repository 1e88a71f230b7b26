"""Find the media a QC run checks: the files named, and the files inside the folders named.

A file is media when its content opens as a container with a picture and a sound (whatever its name), so a
render saved as ``.bin`` is checked and a ``.txt`` is not. A file whose name says media but whose content
does not open is kept too, as a file the batch could not read: a corrupt delivery is a finding, not noise.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.errors import MediaError
from core.probe import open_container

__all__ = ["MEDIA_EXTENSIONS", "Found", "find_media"]

# Names that promise media: such a file that cannot be read is reported as failed, not skipped.
MEDIA_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".mxf", ".avi", ".webm", ".mpg", ".mpeg", ".mts",
                              ".m2ts", ".ts", ".wmv", ".flv", ".3gp", ".dv", ".y4m"})


@dataclass(frozen=True)
class Found:
    """One file of the batch: ``kind`` is ``media``, ``unreadable`` (named like media, content will not open:
    ``reason`` says why) or ``other`` (not media: ``reason`` says why it is skipped)."""

    path: str
    kind: str
    reason: str = ""


def find_media(paths: list[str], recursive: bool = False) -> list[Found]:
    """Every file named in ``paths`` and in the folders among them (their subfolders too when ``recursive``),
    in a stable order, each judged by :func:`judge`.

    Raises
    ------
    MediaError
        A path does not exist.
    """
    found: dict[str, Found] = {}
    for path in paths:
        if not os.path.exists(path):
            raise MediaError(f"{path}: no such file or folder")
        for file in _files(Path(path), recursive):
            key = os.path.abspath(file)
            if key not in found:
                found[key] = judge(str(file))
    return list(found.values())


def _files(path: Path, recursive: bool) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    pattern = "**/*" if recursive else "*"
    for entry in sorted(path.glob(pattern)):
        if entry.is_file() and not entry.name.startswith("."):
            yield entry


def judge(path: str) -> Found:
    """Whether ``path`` is media LipAlign can check, by opening it (the streams only, no decoding)."""
    promised = Path(path).suffix.lower() in MEDIA_EXTENSIONS
    try:
        with open_container(path) as container:
            has_video, has_audio = bool(container.streams.video), bool(container.streams.audio)
    except MediaError as exc:
        why = str(exc).removeprefix(f"{path}: ")
        return Found(path, "unreadable", why) if promised else Found(path, "other", f"not media ({why})")
    if has_video and has_audio:
        return Found(path, "media")
    missing = "no picture" if not has_video else "no sound"
    return Found(path, "other", f"{missing}: nothing to check lip sync against")
