"""Safe writing: one file under any spelling is recognised; outputs appear whole or not at all, not private; devices,
pipes and links are written through, never replaced; a destination that cannot be written is one error."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import subprocess
import threading

import pytest

from core.errors import MediaError
from core.fileio import (
    output_file,
    refuse_overwriting_input,
    refuse_writing_twice,
    same_file,
    temp_files_of,
    write_text_output,
)


@pytest.fixture
def media(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"precious source")
    return path


def test_one_file_under_every_spelling(media, tmp_path, monkeypatch):
    hard = tmp_path / "hard.mp4"
    os.link(media, hard)
    sym = tmp_path / "sym.mp4"
    sym.symlink_to(media)
    monkeypatch.chdir(tmp_path)
    for spelling in (hard, sym, "clip.mp4", "./missing/../clip.mp4", tmp_path / "." / "clip.mp4"):
        assert same_file(spelling, media), spelling
        with pytest.raises(MediaError, match="refusing to overwrite the input"):
            refuse_overwriting_input(spelling, media)
    other = tmp_path / "other.mp4"
    other.write_bytes(b"precious source")  # same bytes, different file
    assert not same_file(other, media) and not same_file(tmp_path / "new.mp4", media)
    refuse_overwriting_input(other, media)
    assert media.read_bytes() == b"precious source"


def test_two_outputs_naming_one_file_are_refused(tmp_path):
    out = tmp_path / "fixed.mp4"
    with pytest.raises(MediaError, match="two different outputs"):
        refuse_writing_twice(out, tmp_path / "sub" / ".." / "fixed.mp4")
    refuse_writing_twice(out, tmp_path / "fixed.json", "-", None)
    refuse_writing_twice(out, "-", "-")  # stdout twice is not a file written twice


def test_output_is_renamed_into_place_whole_with_umask_permissions(tmp_path):
    dest = tmp_path / "out.wav"
    old = os.umask(0o027)
    try:
        with output_file(dest) as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".wav" and temp_files_of(dest) == [tmp]
            tmp.write_bytes(b"complete")
            assert not dest.exists()  # nothing under the final name until the block succeeds
    finally:
        os.umask(old)
    assert dest.read_bytes() == b"complete" and temp_files_of(dest) == []
    assert stat.S_IMODE(dest.stat().st_mode) == 0o640  # 0666 less the umask, not mkstemp's private 0600


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    dest = tmp_path / "out.wav"
    dest.write_bytes(b"previous result")
    with pytest.raises(RuntimeError), output_file(dest) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("writer failed midway")
    assert dest.read_bytes() == b"previous result" and temp_files_of(dest) == []


def test_missing_output_folder_is_a_media_error(tmp_path):
    with pytest.raises(MediaError, match="output folder does not exist"), output_file(tmp_path / "no" / "x.wav"):
        pass


def null_device(path):
    """A character device node behaving as /dev/null, made in the test's own folder (the real one stays untouched)."""
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return path


def test_a_device_is_written_into_and_stays_a_device(tmp_path):
    device = null_device(tmp_path / "null")
    write_text_output(device, "report\n")
    assert stat.S_ISCHR(device.stat().st_mode) and sorted(tmp_path.iterdir()) == [device]


def test_a_pipe_gets_the_bytes_and_stays_a_pipe(tmp_path):
    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    with output_file(fifo) as tmp:
        assert tmp.parent != tmp_path  # the muxer's seekable file is private, not beside the pipe
        tmp.write_bytes(b"whole output")
    reader.join(timeout=10)
    assert received == [b"whole output"] and stat.S_ISFIFO(fifo.stat().st_mode) and not tmp.exists()


def test_a_link_stays_and_its_target_is_replaced_whole(tmp_path):
    real = tmp_path / "data" / "report.json"
    real.parent.mkdir()
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    with output_file(link) as tmp:
        assert tmp.parent == real.parent  # beside the target, so the rename is atomic there
        tmp.write_text("new")
        assert real.read_text() == "old"
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new" and stat.S_IMODE(real.stat().st_mode) == 0o640  # kept its permissions
    assert temp_files_of(real) == []


def test_a_dangling_link_creates_its_target(tmp_path):
    link = tmp_path / "latest.json"
    link.symlink_to(tmp_path / "new.json")
    write_text_output(link, "x")
    assert link.is_symlink() and (tmp_path / "new.json").read_text() == "x"


@pytest.mark.parametrize("kind", ["folder", "socket", "file_as_folder"])
def test_what_cannot_take_an_output_is_refused_untouched(tmp_path, kind):
    if kind == "folder":
        dest, expected = tmp_path, "is a folder"
    elif kind == "socket":
        dest, expected = tmp_path / "s.sock", "is not a file, a device or a pipe"
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(dest))
    else:
        (tmp_path / "plain").write_text("keep")
        dest, expected = tmp_path / "plain" / "out.json", "the output folder is a file"
    before = sorted(tmp_path.iterdir())
    with pytest.raises(MediaError, match=expected):
        write_text_output(dest, "x")
    assert sorted(tmp_path.iterdir()) == before
    if kind == "socket":
        assert stat.S_ISSOCK(dest.stat().st_mode)
        server.close()


def test_a_full_device_is_one_error(tmp_path):
    full = tmp_path / "full"
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # /dev/full: every write fails with ENOSPC
    with pytest.raises(MediaError, match="No space left on device"):
        write_text_output(full, "x")
    assert sorted(tmp_path.iterdir()) == [full]


@contextlib.contextmanager
def mounted_tmpfs(where, options):
    """A small in-memory file system (root only; CI runs as root)."""
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True).returncode:
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_a_full_disk_is_one_error_and_leaves_nothing(tmp_path):
    with mounted_tmpfs(tmp_path / "small", "size=64k") as small:
        dest = small / "report.json"
        with pytest.raises(MediaError, match=r"report.json: cannot write there \(No space left on device\)"):
            write_text_output(dest, "x" * 1_000_000)
        assert list(small.iterdir()) == []


def test_a_read_only_folder_is_one_error_and_leaves_nothing(tmp_path):
    with mounted_tmpfs(tmp_path / "ro", "ro,size=64k") as ro:
        with pytest.raises(MediaError, match=r"cannot write there \(Read-only file system\)"):
            write_text_output(ro / "report.json", "x")
        assert list(ro.iterdir()) == []


def test_dash_is_standard_output(capsys):
    write_text_output("-", "to stdout\n")
    assert capsys.readouterr().out == "to stdout\n"
