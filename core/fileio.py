"""Writing outputs safely: never over an input, never half-written, never over something that is not a file.

Every output LipAlign writes (media, reports, the plugin's summary) goes through :func:`output_file`,
which treats the destination by what it is:

- a regular file, or nothing yet: written to a temporary name beside it and renamed into place only
  once complete, so an interrupted run leaves either the old file or nothing;
- a symbolic link: the link stays; the file it points to is written, the same way;
- a character device or a named pipe (``/dev/null``, a FIFO), or one of the process's own descriptors
  (``/dev/stdout``): the complete output is written straight into it; it is never renamed over or deleted;
- ``-`` (text outputs): standard output.

A folder, a socket or a disk (block device) is refused, and so is a destination whose folder does not
exist, is a file, is read-only or is full: one :class:`MediaError` naming the output, nothing left behind.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.errors import MediaError
from core.stopping import check_stopped, stops_held

__all__ = ["OutputTarget", "output_file", "output_target", "refuse_overwriting_input", "refuse_writing_twice",
           "remove_stale_temp_files", "same_file", "temp_files_of", "write_text_output"]


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
    A device or pipe (``/dev/null``) takes both, one after the other, so it may be named twice.
    """
    paths = [p for p in outputs if p is not None and os.fspath(p) != "-" and not _written_into(p)]
    for i, first in enumerate(paths):
        for second in paths[i + 1:]:
            if same_file(first, second):
                raise MediaError(f"{second}: given as two different outputs; choose another path for one of them")


@dataclass(frozen=True)
class OutputTarget:
    """Where an output goes and how it gets there.

    ``final`` is the file that receives the bytes: the path itself, or for a symbolic link the file it
    points to. ``direct`` is True for a destination written into rather than replaced: a character
    device, a named pipe, or one of the process's own descriptors (``/dev/stdout``, ``/dev/fd/N``).
    """

    path: str
    final: Path
    direct: bool


def output_target(path: str | os.PathLike[str]) -> OutputTarget:
    """Decide how ``path`` is written, refusing what must not be written at all.

    Raises
    ------
    MediaError
        ``path`` is a folder, a socket or a block device (a disk), or its folder does not exist or is a file.
    """
    given = os.fspath(path)
    try:
        mode = os.stat(given).st_mode  # follows links: what the link names is what gets written
    except (FileNotFoundError, NotADirectoryError):  # nothing there yet (the folder is checked below)
        mode = None
    except OSError as exc:
        raise MediaError(f"{given}: cannot write there ({exc.strerror})") from None
    final = Path(os.path.realpath(given))
    if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        return OutputTarget(given, Path(given), True)
    if mode is not None and stat.S_ISREG(mode) and _is_descriptor_link(final):
        return OutputTarget(given, Path(given), True)
    if mode is not None and stat.S_ISDIR(mode):
        raise MediaError(f"{given}: is a folder; name a file to write")
    if mode is not None and stat.S_ISBLK(mode):
        raise MediaError(f"{given}: is a disk (block device); LipAlign does not write onto disks")
    if mode is not None and not stat.S_ISREG(mode):
        raise MediaError(f"{given}: is not a file, a device or a pipe; name a file to write")
    if final.parent.exists() and not final.parent.is_dir():
        raise MediaError(f"{given}: the output folder is a file")
    if not final.parent.is_dir():
        raise MediaError(f"{given}: the output folder does not exist")
    return OutputTarget(given, final, False)


def _written_into(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a destination written into rather than replaced (see :class:`OutputTarget`)."""
    try:
        return output_target(path).direct
    except MediaError:
        return False


def _is_descriptor_link(final: Path) -> bool:
    """Whether a path resolved into /proc: ``/dev/stdout`` and ``/dev/fd/N`` name the open descriptor itself,
    which a rename would not reach (the shell's ``>>`` log would be replaced instead of appended to)."""
    return final.parts[:2] == ("/", "proc")


@contextlib.contextmanager
def output_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write the output to; it reaches ``path`` only if the block succeeds.

    A regular destination (or a link to one, or nothing yet) is written beside its final name and renamed
    into place, keeping an existing file's permissions and owner. A device, pipe or descriptor gets the
    complete bytes copied straight into it from a private temporary file (muxers need a file they can seek
    in); it is never renamed over or deleted. Either way the temporary file is gone when the block ends.

    The temporary name keeps the destination's extension so that muxers pick the right format. Beside a
    regular destination it carries the writer's process id: a run that was killed (SIGKILL leaves its
    temporary file behind) is cleaned up by the next run writing the same destination.

    Raises
    ------
    MediaError
        The destination is refused by :func:`output_target`, or cannot be written (read-only, full).
    """
    target = output_target(path)
    tmp = _temporary_for(target)
    try:
        try:
            yield tmp
        except OSError as exc:  # the writer's own errors are its business, unless the disk refused the bytes
            if exc.errno not in _NO_ROOM:
                raise
            raise MediaError(f"{target.path}: cannot write there ({os.strerror(exc.errno)})") from None
        check_stopped()  # a stopped run commits nothing, even where native code swallowed the stop
        try:
            if target.direct:
                _copy_into(tmp, target.path)
            else:
                _flush_to_disk(tmp)
                os.replace(tmp, target.final)
        except OSError as exc:
            raise MediaError(f"{target.path}: cannot write there ({exc.strerror or exc})") from None
    finally:
        with stops_held(), contextlib.suppress(FileNotFoundError):
            tmp.unlink()


# Errors with which a disk refuses bytes whatever they are: full, over quota, read-only, over the file size limit.
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})


def _temporary_for(target: OutputTarget) -> Path:
    """An empty temporary file for ``target``: beside it for a regular file, private otherwise."""
    suffix = target.final.suffix
    try:
        if target.direct:
            fd, name = tempfile.mkstemp(prefix="lipalign-", suffix=f".lipalign-tmp{suffix}")
            os.close(fd)
            return Path(name)
        remove_stale_temp_files(target.final)
        fd, name = tempfile.mkstemp(prefix=f".{target.final.stem}.{os.getpid()}.", suffix=f".lipalign-tmp{suffix}",
                                    dir=target.final.parent)
    except OSError as exc:
        raise MediaError(f"{target.path}: cannot write there ({exc.strerror})") from None
    try:
        _take_over_attributes(fd, target.final)
    finally:
        os.close(fd)
    return Path(name)


def _take_over_attributes(fd: int, final: Path) -> None:
    """Give the temporary file the mode and owner of the file it replaces, or the umask's mode for a new one.

    mkstemp makes the file private (0600); a new output is an ordinary file, readable as the umask allows, and a
    replaced one stays as readable and writable, for the same people, as it was.
    """
    try:
        existing = os.stat(final)
    except FileNotFoundError:
        os.fchmod(fd, 0o666 & ~_umask())
        return
    os.fchmod(fd, stat.S_IMODE(existing.st_mode))
    with contextlib.suppress(PermissionError):  # only root can give a file away; others keep their own files
        os.fchown(fd, existing.st_uid, existing.st_gid)


def _copy_into(tmp: Path, destination: str) -> None:
    """Copy the finished output into a device, pipe or descriptor: opened for writing only, never created or
    truncated (a regular file behind ``/dev/stdout`` is appended to, as the shell's redirection left it)."""
    fd = os.open(destination, os.O_WRONLY | os.O_APPEND)
    with open(fd, "wb") as sink, open(tmp, "rb") as source:
        shutil.copyfileobj(source, sink)


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
    """The temporary files :func:`output_file` creates (or left behind) for the destination ``path``."""
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


def write_text_output(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through :func:`output_file`, or to standard output for ``-``."""
    if os.fspath(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with output_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
