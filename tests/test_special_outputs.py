"""Outputs that are not plain files, through the real commands: a device or a pipe is written into and stays what it
is, a link stays and its target gets the output, and a destination that cannot be written is one line and exit 2."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
from pathlib import Path

import pytest
from test_fileio import mounted_tmpfs, null_device
from test_stopping import one_line

from core.cli import main
from core.probe import probe

CLIP = "aniportrait__pose_ref_video.mp4"  # 5 s, H.264 + AAC: quick to analyse and to fix


@pytest.fixture
def clip(corpus):
    return corpus / "real" / CLIP


def drain(fifo: Path) -> tuple[threading.Thread, list[bytes]]:
    """A reader that takes everything written into ``fifo``, as the other end of a shell pipeline would."""
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    return reader, received


def test_analyze_writes_its_report_into_a_device_and_leaves_it_a_device(clip, tmp_path):
    device = null_device(tmp_path / "null")
    assert main(["analyze", str(clip), "--json", str(device)]) == 0
    assert stat.S_ISCHR(device.stat().st_mode) and sorted(tmp_path.iterdir()) == [device]


def test_analyze_sends_its_report_through_a_named_pipe(clip, tmp_path):
    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    reader, received = drain(fifo)
    assert main(["analyze", str(clip), "--json", str(fifo)]) == 0
    reader.join(timeout=30)
    assert received and json.loads(received[0])["schema"] == "lipalign.report/1"
    assert stat.S_ISFIFO(fifo.stat().st_mode) and sorted(tmp_path.iterdir()) == [fifo]


def test_analyze_writes_through_a_link_and_keeps_the_link(clip, tmp_path):
    target = tmp_path / "reports" / "clip.json"
    target.parent.mkdir()
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    assert main(["analyze", str(clip), "--json", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["schema"] == "lipalign.report/1"


def test_fix_muxes_privately_then_streams_the_copy_into_a_pipe(clip, tmp_path, capsys):
    fifo = tmp_path / "fixed.mkv"
    os.mkfifo(fifo)
    reader, received = drain(fifo)
    assert main(["fix", str(clip), "-o", str(fifo), "--offset-ms", "40", "--json", "-"]) == 0
    reader.join(timeout=30)
    result = json.loads(capsys.readouterr().out)
    assert result["unverified_reason"] == "the output is a device or pipe, which cannot be read back"
    copy = tmp_path / "received.mkv"
    copy.write_bytes(received[0])
    info = probe(copy)
    assert info.has_video and info.has_audio
    assert stat.S_ISFIFO(fifo.stat().st_mode) and sorted(tmp_path.iterdir()) == [fifo, copy]


def test_fix_writes_through_a_link_and_keeps_the_link(clip, tmp_path):
    target = tmp_path / "deliveries" / "fixed.mp4"
    target.parent.mkdir()
    target.write_bytes(b"previous delivery")
    link = tmp_path / "fixed.mp4"
    link.symlink_to(target)
    assert main(["fix", str(clip), "-o", str(link), "--offset-ms", "40", "--no-verify"]) == 0
    assert link.is_symlink() and probe(target).has_video
    assert sorted(p.name for p in target.parent.iterdir()) == ["fixed.mp4"]


FOLDER_CASES = ["missing", "is_a_file", "read_only", "full"]
EXPECTED = {"missing": "the output folder does not exist", "is_a_file": "the output folder is a file",
            "read_only": "cannot write there (Read-only file system)",
            "full": "cannot write there (No space left on device)"}


@pytest.mark.parametrize("case", FOLDER_CASES)
@pytest.mark.parametrize("command", ["fix", "compare"])
def test_an_output_folder_that_cannot_take_it_is_one_line_and_exit_2(clip, tmp_path, capsys, case, command):
    mounted = case in ("read_only", "full")
    with mounted_tmpfs(tmp_path / "mnt", "ro,size=64k" if case == "read_only" else "size=64k") if mounted \
            else contextlib.nullcontext(tmp_path) as where:
        folder = {"missing": where / "no" / "such", "is_a_file": where / "plain"}.get(case, where)
        if case == "is_a_file":
            folder.write_text("keep me")
        out = folder / ("fixed.mp4" if command == "fix" else "cmp.json")
        if command == "fix":
            args = ["fix", str(clip), "-o", str(out), "--offset-ms", "40", "--no-verify"]
        else:  # a comparison's report is small: only a disk that is full already refuses it
            if case == "full":
                (where / "filler").write_bytes(b"\0" * (64 * 1024))
            args = ["compare", str(clip), str(clip), "--json", str(out)]
        before = sorted(tmp_path.rglob("*"))
        assert main(args) == 2
        err = capsys.readouterr().err
        assert one_line(err) == f"lipalign: {out}: {EXPECTED[case]}"
        assert sorted(tmp_path.rglob("*")) == before  # nothing left behind
        if case == "is_a_file":
            assert folder.read_text() == "keep me"
