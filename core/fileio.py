"""Writing outputs safely: never over an input, never half-written.

Every file LipAlign writes goes to a temporary name beside its destination and is renamed into
place only once complete, so an interrupted run leaves either the old file or nothing.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
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

    The temporary name keeps the destination's extension so that muxers pick the right format, and
    carries the writer's process id: a run that was killed (SIGKILL leaves its temporary file
    behind) is cleaned up by the next run writing the same destination.
    """
    dest = Path(path)
    folder = dest.parent if str(dest.parent) else Path(".")
    if not folder.is_dir():
        raise MediaError(f"{path}: the output folder does not exist")
    remove_stale_temp_files(dest)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.stem}.{os.getpid()}.", suffix=f".lipalign-tmp{dest.suffix}",
                                    dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def temp_files_of(path: str | os.PathLike[str]) -> list[Path]:
    """The temporary files :func:`atomic_output` creates (or left behind) for the destination ``path``."""
    dest = Path(path)
    folder = dest.parent if str(dest.parent) else Path(".")
    own = re.compile(rf"\.{re.escape(dest.stem)}\.(\d+\.)?[^.]+\.lipalign-tmp{re.escape(dest.suffix)}")
    return sorted(p for p in folder.glob(f".{glob.escape(dest.stem)}.*.lipalign-tmp{glob.escape(dest.suffix)}")
                  if own.fullmatch(p.name))


def remove_stale_temp_files(path: str | os.PathLike[str]) -> list[Path]:
    """Delete temporary files of ``path`` whose writing process no longer runs; return what was deleted."""
    removed = []
    for tmp in temp_files_of(path):
        owner = tmp.name[len(Path(path).stem) + 2:].split(".", 1)[0]
        if owner.isdigit() and _process_alive(int(owner)):
            continue
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            removed.append(tmp)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
