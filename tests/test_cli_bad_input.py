"""Bad input through the real command line: exit code 2 and exactly one clear line on stderr, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from media_factory import write_clip

from core.cli import main

REPO = Path(__file__).resolve().parent.parent


def half_of(source: Path, dest: Path) -> Path:
    data = source.read_bytes()
    dest.write_bytes(data[: len(data) // 2])
    return dest


def make_bad_input(kind: str, tmp_path: Path, corpus: Path) -> tuple[Path, str]:
    """A bad file of the given kind and the words its error message must contain."""
    frames = [np.full((64, 64, 3), 60 + 4 * i, np.uint8) for i in range(25)]
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(48000) / 48000)).astype(np.float32)
    if kind == "missing":
        return tmp_path / "nothing-here.mp4", "no such file"
    if kind == "folder":
        return tmp_path, "is a folder"
    if kind == "empty":
        path = tmp_path / "empty.mp4"
        path.write_bytes(b"")
        return path, "file is empty"
    if kind == "text":
        path = tmp_path / "notes.mp4"
        path.write_text("These are my notes, not a video.\n" * 20)
        return path, "not a readable media file"
    if kind == "audio_only":
        return write_clip(tmp_path / "voice.m4a", None, audio=tone), "has no video stream"
    if kind == "video_only":
        return write_clip(tmp_path / "silent.mp4", frames, fps=25), "has no audio stream"
    if kind == "truncated_index_at_end":
        # The MP4 index (moov) is at the end of this file, so its first half is unreadable.
        return half_of(corpus / "real" / "videoretalking__1.mp4", tmp_path / "cut.mp4"), "not a readable media file"
    if kind == "truncated_index_first":
        # The index is at the start here ("faststart"): the first half demuxes cleanly but holds half the frames.
        return half_of(corpus / "real" / "liveportrait__d20.mp4", tmp_path / "cut.mp4"), "file is truncated"
    raise AssertionError(kind)


KINDS = ["missing", "folder", "empty", "text", "audio_only", "video_only", "truncated_index_at_end",
         "truncated_index_first"]


@pytest.mark.parametrize("kind", KINDS)
def test_bad_input_exits_2_with_one_line(kind, tmp_path, corpus, capsys):
    path, expected = make_bad_input(kind, tmp_path, corpus)
    code = main(["analyze", str(path)])
    out, err = capsys.readouterr()
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"lipalign: {path}: ")
    assert expected in lines[0]
    assert "Traceback" not in err and "Errno" not in err
    assert out == ""


def test_several_bad_files_give_one_line_each(tmp_path, corpus, capsys):
    missing, _ = make_bad_input("missing", tmp_path, corpus)
    text, _ = make_bad_input("text", tmp_path, corpus)
    assert main(["analyze", str(missing), str(text)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(": ")[1] for line in lines] == [str(missing), str(text)]


def test_installed_command_reports_truncated_file(tmp_path, corpus):
    """The same through the installed entry point, in its own process."""
    path, expected = make_bad_input("truncated_index_first", tmp_path, corpus)
    command = Path(sys.executable).with_name("lipalign")
    result = subprocess.run([str(command), "analyze", str(path), "--json", "-"], capture_output=True, text=True,
                            timeout=120, cwd=REPO)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"lipalign: {path}: {expected} (")
    assert result.stdout == ""
