"""``lipalign analyze`` as a user runs it: a summary on stdout, the progress bar on stderr, the report schema."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.cli import main
from core.progress import ProgressBar
from core.synth import synthesize

REPO = Path(__file__).resolve().parent.parent
LIPALIGN = Path(sys.executable).with_name("lipalign")

# The names issue 2 fixes for lipalign.report/1 (the report may carry more, never fewer).
MEDIA_KEYS = {"duration_s", "width", "height", "video_codec", "fps_declared", "fps_measured", "vfr", "video_start_s",
              "audio_start_s", "audio_codec", "sample_rate", "channels"}
SYNC_KEYS = {"verdict", "offset_ms", "offset_frames", "drift_ms_per_min", "confidence", "windows"}
WINDOW_KEYS = {"start_s", "end_s", "offset_ms", "confidence"}
DIAGNOSTIC_KEYS = {"code", "severity", "message", "value", "threshold", "fix"}
FIX_KEYS = {"slip_ms", "slip_frames", "speed_ratio"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """4 s of synthetic talking head at 29.97 fps and 44.1 kHz, so one diagnostic (sample rate) fires."""
    path = tmp_path_factory.mktemp("analyze") / "talk.mp4"
    synthesize(path, offset_ms=80.0, fps="29.97", sample_rate=44100, duration_s=4.0, seed=5)
    return path


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(LIPALIGN), *args], capture_output=True, text=True, timeout=300, cwd=REPO)


def test_summary_on_stdout_progress_on_stderr(clip, tmp_path):
    report_path = tmp_path / "report.json"
    result = run("analyze", str(clip), "--json", str(report_path))
    assert result.returncode == 0, result.stderr
    # The analysis takes more than a second, so the bar shows; not a terminal: a line per quarter reached.
    progress = result.stderr.splitlines()
    assert progress and all(re.fullmatch(rf"analyzing {re.escape(str(clip))}: \d+% .+", line) for line in progress)
    assert progress[-1].startswith(f"analyzing {clip}: 100% ")
    assert "%" not in result.stdout
    assert re.search(rf"^file\s+{re.escape(str(clip))}$", result.stdout, re.M)
    for row in ("video", "audio", "duration", "verdict", "offset", "drift", "confidence", "fix"):
        assert re.search(rf"^{row}\s+\S", result.stdout, re.M), row
    assert "AUDIO_SAMPLE_RATE" in result.stdout
    report = json.loads(report_path.read_text())
    assert report["schema"] == "lipalign.report/1" and report["file"] == str(clip)
    assert report["media"].keys() >= MEDIA_KEYS
    assert report["sync"].keys() >= SYNC_KEYS
    assert report["sync"]["windows"] and all(w.keys() >= WINDOW_KEYS for w in report["sync"]["windows"])
    assert [d["code"] for d in report["diagnostics"]] == ["AUDIO_SAMPLE_RATE"]
    assert report["diagnostics"][0].keys() >= DIAGNOSTIC_KEYS
    assert report["fix"].keys() == FIX_KEYS
    media = report["media"]
    assert (media["width"], media["height"], media["sample_rate"], media["channels"]) == (640, 480, 44100, 1)
    assert media["fps_declared"] == pytest.approx(30000 / 1001)


def test_json_to_stdout_is_the_report_alone(clip):
    result = run("analyze", str(clip), "--json", "-")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["schema"] == "lipalign.report/1"


def test_exit_0_when_out_of_sync(tmp_path, capsys):
    """Exit 0 means "analysed", not "in sync": a clip 300 ms out gets an offset verdict and still exits 0."""
    path = tmp_path / "late.mp4"
    synthesize(path, offset_ms=300.0, duration_s=4.0, seed=6)
    assert main(["analyze", str(path), str(path), "--json", "-"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert len(reports) == 2 and reports[0] == reports[1]  # several files: a list of reports, in order
    assert reports[0]["sync"]["verdict"] == "offset" and reports[0]["fix"]["slip_ms"] < -200


def test_progress_bar_waits_a_second_and_writes_quarters():
    stream = io.StringIO()
    bar = ProgressBar("job", stream, delay_s=0.2)
    bar(0.5, "early")
    assert stream.getvalue() == ""  # a task shorter than the delay shows nothing
    time.sleep(0.25)
    for share in (0.1, 0.3, 0.35, 0.6, 1.0):
        bar(share, "working")
    bar.close()
    assert stream.getvalue().splitlines() == ["job: 10% working", "job: 30% working", "job: 60% working",
                                              "job: 100% working"]
