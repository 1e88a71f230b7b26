"""Safe writing: one file under any spelling is recognised; outputs appear whole or not at all, not private."""

from __future__ import annotations

import os
import stat

import pytest

from core.errors import MediaError
from core.fileio import atomic_output, refuse_overwriting_input, refuse_writing_twice, same_file, temp_files_of


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
        with atomic_output(dest) as tmp:
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
    with pytest.raises(RuntimeError), atomic_output(dest) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("writer failed midway")
    assert dest.read_bytes() == b"previous result" and temp_files_of(dest) == []


def test_missing_output_folder_is_a_media_error(tmp_path):
    with pytest.raises(MediaError, match="output folder does not exist"), atomic_output(tmp_path / "no" / "x.wav"):
        pass
