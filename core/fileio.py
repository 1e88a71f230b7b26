"""Writing outputs safely: never over an input, never half-written.

Every file LipAlign writes goes to a temporary name beside its destination and is renamed into
place only once complete, so an interrupted run leaves either the old file or nothing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from core.errors import MediaError


def refuse_overwriting_input(output: str | os.PathLike[str], *inputs: str | os.PathLike[str]) -> None:
    """Raise :class:`MediaError` when ``output`` is one of ``inputs`` (same file, any spelling)."""
    out = Path(output)
    for src in inputs:
        src_path = Path(src)
        same = out.exists() and src_path.exists() and os.path.samefile(out, src_path)
        if same or out.resolve() == src_path.resolve():
            raise MediaError(f"{output}: refusing to overwrite the input file; choose another output path")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary name keeps the destination's extension so that muxers pick the right format.
    """
    dest = Path(path)
    folder = dest.parent if str(dest.parent) else Path(".")
    if not folder.is_dir():
        raise MediaError(f"{path}: the output folder does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=f".lipalign-tmp{dest.suffix}", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
