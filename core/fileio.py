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


def same_file(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> bool:
    """Whether two paths name one file: the same spelling resolved, a symbolic link to it, or a hard link."""
    a, b = Path(first), Path(second)
    if a.exists() and b.exists() and os.path.samefile(a, b):
        return True
    return a.resolve() == b.resolve()


def refuse_overwriting_input(output: str | os.PathLike[str], *inputs: str | os.PathLike[str]) -> None:
    """Raise :class:`MediaError` when ``output`` is one of ``inputs`` (same file, any spelling)."""
    if any(same_file(output, src) for src in inputs):
        raise MediaError(f"{output}: refusing to overwrite the input file; choose another output path")


def refuse_writing_twice(*outputs: str | os.PathLike[str] | None) -> None:
    """Raise :class:`MediaError` when two of a command's outputs are one file (``None`` and ``-``, stdout, skipped).

    The second write would replace the first: a JSON report given the media output's name destroys the media.
    """
    paths = [p for p in outputs if p is not None and os.fspath(p) != "-"]
    for i, first in enumerate(paths):
        for second in paths[i + 1:]:
            if same_file(first, second):
                raise MediaError(f"{second}: given as two different outputs; choose another path for one of them")


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
    # mkstemp makes the file private (0600); the output is an ordinary file, readable as the umask allows.
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        _flush_to_disk(tmp)
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _umask() -> int:
    # The only way to read the umask is to set it; put it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _flush_to_disk(path: Path) -> None:
    """Make the written bytes durable before the rename, so a crash cannot leave an empty file under the final name."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
