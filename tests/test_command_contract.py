"""What every writing command promises: --json on stdout with progress on stderr, its input never overwritten
(under any spelling), and one line with exit code 2 for bad input, leaving nothing behind."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from test_cli_bad_input import make_bad_input

from core.cli import main
from core.progress import ProgressBar

CLIP = "aniportrait__pose_ref_video.mp4"  # 5 s, H.264 + AAC: quick to fix, clean, conform and compare


def command(name: str, source: Path, output: Path, *extra: str) -> list[str]:
    """Arguments running ``name`` on ``source``; ``output`` is the written file (compare writes only its JSON)."""
    if name == "fix":
        return ["fix", str(source), "-o", str(output), "--offset-ms", "40", "--no-verify", *extra]
    if name == "prep-audio":
        return ["prep-audio", str(source), "-o", str(output), *extra]
    if name == "conform-fps":
        return ["conform-fps", str(source), "-o", str(output), *extra]
    return ["compare", str(source), str(source), "--json", str(output), *extra]


COMMANDS = ["fix", "prep-audio", "conform-fps", "compare"]
OUTPUT_NAME = {"fix": "fixed.mp4", "prep-audio": "clean.wav", "conform-fps": "cfr.mp4", "compare": "cmp.json"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def source(corpus, tmp_path):
    """A private copy of a corpus clip in its own folder, so tests can link to it and list what was written."""
    folder = tmp_path / "in"
    folder.mkdir()
    return Path(shutil.copyfile(corpus / "real" / CLIP, folder / "clip.mp4"))


@pytest.mark.parametrize("name", COMMANDS)
def test_json_on_stdout_progress_on_stderr(name, source, tmp_path, capsys, monkeypatch):
    # The bar normally waits a second before showing; at once here, so that every command's stages show.
    monkeypatch.setattr(ProgressBar.__init__, "__defaults__", (None, 0.0))
    out = tmp_path / OUTPUT_NAME[name]
    args = command(name, source, out)
    if name == "compare":
        args[args.index("--json") + 1] = "-"
    else:
        args += ["--json", "-"]
    assert main(args) == 0
    captured = capsys.readouterr()
    payload = json.loads(captured.out)  # stdout is the JSON document and nothing else
    assert payload["schema"] == f"lipalign.{name}/1"
    # Not a terminal: one line per quarter reached, "LABEL: N% STAGE", ending at 100 %.
    progress = captured.err.splitlines()
    percents = [int(re.fullmatch(r".+ \S+: (\d+)% .+", line).group(1)) for line in progress]
    assert percents == sorted(percents) and percents[-1] == 100, progress


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("spelling", ["hard_link", "symbolic_link", "dotted_path", "json_over_input"])
def test_input_is_never_overwritten(name, spelling, source, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sha256(source)
    if spelling == "hard_link":
        target = source.parent / "hard.mp4"
        os.link(source, target)
    elif spelling == "symbolic_link":
        target = source.parent / "sym.mp4"
        target.symlink_to(source)
    else:
        target = Path("in") / ".." / "in" / "." / "clip.mp4"
    existing = sorted(source.parent.iterdir())
    if spelling == "json_over_input" and name != "compare":
        args = command(name, source, tmp_path / OUTPUT_NAME[name], "--json", str(target))
    else:
        args = command(name, source, target)
    assert main(args) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "refusing to overwrite the input file" in err[0], err
    assert sha256(source) == before and sorted(source.parent.iterdir()) == existing
    assert not (tmp_path / OUTPUT_NAME[name]).exists()


@pytest.mark.parametrize("name", ["fix", "prep-audio", "conform-fps"])
def test_json_and_output_naming_one_file_is_refused(name, source, tmp_path, capsys):
    out = tmp_path / OUTPUT_NAME[name]
    assert main(command(name, source, out, "--json", str(tmp_path / "x" / ".." / OUTPUT_NAME[name]))) == 2
    assert "given as two different outputs" in capsys.readouterr().err
    assert not out.exists()


BAD_KINDS = ["missing", "folder", "empty", "text", "truncated_index_at_end", "truncated_index_first"]


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("kind", [*BAD_KINDS, "no_needed_stream"])
def test_bad_input_gives_one_line_exit_2_and_no_output(name, kind, corpus, tmp_path, capsys):
    made = tmp_path / "made"
    made.mkdir()
    if kind == "no_needed_stream":  # conform-fps needs pictures; the others need sound
        kind = "audio_only" if name == "conform-fps" else "video_only"
    bad, _ = make_bad_input(kind, made, corpus)
    made_files = {p: sha256(p) for p in made.iterdir() if p.is_file()}
    outputs = tmp_path / "out"
    outputs.mkdir()
    code = main(command(name, bad, outputs / OUTPUT_NAME[name]))
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("lipalign: ") and "Traceback" not in err[0], err
    assert list(outputs.iterdir()) == []  # no output, no temporary file
    assert {p: sha256(p) for p in made.iterdir() if p.is_file()} == made_files
