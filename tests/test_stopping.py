"""Stopped runs: SIGINT, SIGTERM and SIGHUP end every command and the Resolve worker cleanly, with one line,
the conventional exit code, no temporary or partial file, and no face-tracking process left running."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest
from kit.fake_resolve import FakeResolve, place_clip

from core.correct import write_corrected_media
from core.decode import decode_audio
from core.fileio import output_file, temp_files_of
from core.mux import audio_frame, encoded
from core.stopping import Stopped, check_stopped, stop_signals_handled, stops_held
from plugin.bridge import TOKEN_ENV, BridgeServer

REPO = Path(__file__).resolve().parent.parent
LONG_CLIP = "dfrf__cnn2_25fps.mp4"  # 71 s: its write takes a while, and it is face-tracked in several processes


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wait_for(condition, proc: subprocess.Popen, what: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert proc.poll() is None, f"the run ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout_s:.0f} s"
        time.sleep(0.005)


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` still runs (an ended process may linger as a zombie until someone reaps it)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def one_line(stderr: str, prefix: str = "lipalign: ") -> str:
    """The single message line among the progress lines of a run's stderr."""
    assert "Traceback" not in stderr, stderr
    messages = [line for line in stderr.splitlines() if line.startswith(prefix)]
    assert len(messages) == 1, stderr
    return messages[0]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_a_fix_stopped_while_writing_leaves_nothing(corpus, tmp_path, signum, code):
    source = corpus / "real" / LONG_CLIP
    before = sha256(source)
    out = tmp_path / "fixed.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "fix", str(source), "-o", str(out), "--offset-ms", "80",
                             "--no-verify"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: temp_files_of(out), proc, "temporary output")
    time.sleep(0.2)  # midway into writing
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert one_line(err) == f"lipalign: stopped by {signal.Signals(signum).name}; nothing was left half-written"
    assert not out.exists() and temp_files_of(out) == [] and list(tmp_path.iterdir()) == []
    assert sha256(source) == before


def test_a_stopped_analysis_ends_its_face_tracking_processes(corpus, tmp_path):
    # --full: every frame, tracked in several processes (progressive reading tracks its windows in this one).
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "analyze", str(corpus / "real" / LONG_CLIP),
                             "--full", "--json", str(tmp_path / "report.json")], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(children_of(proc.pid)) >= 2, proc, "face-tracking processes")
    time.sleep(3.0)  # the workers have imported MediaPipe and are tracking
    workers = children_of(proc.pid)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143
    one_line(err)
    deadline = time.monotonic() + 5.0
    while any(running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if running(pid)], "face-tracking processes outlived the stopped run"
    assert list(tmp_path.iterdir()) == []


def test_the_resolve_worker_stops_cleanly(corpus, tmp_path):
    resolve = FakeResolve("19.0.2")
    resolve.GetProjectManager().GetCurrentProject().GetMediaPool().CreateEmptyTimeline("Interview")
    place_clip(resolve, str(corpus / "real" / LONG_CLIP), 10)
    summary = tmp_path / "summary.json"
    token = "7a" * 32
    log = tmp_path / "worker.log"  # a file, not a pipe: a process the worker leaves behind cannot hold it open
    proc = subprocess.Popen([sys.executable, "-m", "plugin.worker", "--summary", str(summary)], cwd=REPO,
                            env=dict(os.environ, **{TOKEN_ENV: token}), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=log.open("w"), text=True, bufsize=1)
    events: list[dict] = []
    server = threading.Thread(target=BridgeServer(resolve, token).serve, args=(proc.stdout, proc.stdin, events.append),
                              daemon=True)
    server.start()
    wait_for(lambda: any(e.get("stage", "").startswith("measuring") for e in events), proc, "measuring")
    time.sleep(2.0)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    said = one_line(log.read_text(), "lipalign worker: ")
    assert said == "lipalign worker: stopped by SIGTERM; nothing was left half-written"
    server.join(timeout=10)
    assert [e["message"] for e in events if e.get("op") == "error"] == [
        "LipAlign stopped by SIGTERM; clips done before it keep their changes (revert undoes them)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["worker.log"]


def test_a_signal_inside_a_held_block_waits_for_its_end():
    reached_end = False
    with pytest.raises(Stopped) as stop, stop_signals_handled(), stops_held():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # Python runs the handler between instructions: it had every chance here
        reached_end = True
    assert reached_end and stop.value.exit_code == 143 and str(stop.value) == "stopped by SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handed back as it was found


def test_a_second_signal_cannot_cut_the_clean_up_short():
    cleaned = False
    with pytest.raises(Stopped) as stop, stop_signals_handled():
        try:
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(1.0)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            cleaned = True
    assert cleaned and stop.value.exit_code == 129


def swallow_a_stop(signum: int) -> None:
    """A stop signal whose exception native code swallows, as PyAV's resampler and encoder now and then do."""
    try:
        os.kill(os.getpid(), signum)
        time.sleep(0.05)
    except Stopped:
        pass


def test_a_swallowed_stop_is_raised_again_at_the_next_check():
    with pytest.raises(Stopped) as stop, stop_signals_handled():
        swallow_a_stop(signal.SIGTERM)
        check_stopped()
    assert stop.value.exit_code == 143
    check_stopped()  # outside a run there is nothing to raise


def test_a_swallowed_stop_commits_no_output(tmp_path):
    out = tmp_path / "report.json"
    with pytest.raises(Stopped), stop_signals_handled(), output_file(out) as tmp:
        tmp.write_text("{}")
        swallow_a_stop(signal.SIGHUP)
    assert list(tmp_path.iterdir()) == []


def test_a_swallowed_stop_ends_decoding_and_writing(corpus, tmp_path):
    clip = corpus / "real" / "videoretalking__3.mp4"
    with pytest.raises(Stopped), stop_signals_handled():
        swallow_a_stop(signal.SIGINT)
        decode_audio(clip)
    blocks = 0

    def progress(fraction: float, stage: str) -> None:
        nonlocal blocks
        blocks += 1
        if blocks == 2:
            swallow_a_stop(signal.SIGTERM)

    with pytest.raises(Stopped), stop_signals_handled():
        write_corrected_media(clip, tmp_path / "fixed.mp4", 80.0, progress=progress)
    assert 2 <= blocks < 6 and list(tmp_path.iterdir()) == []  # stopped within a block, not at the end


def test_a_swallowed_stop_ends_an_encode():
    with av.open(io.BytesIO(), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=16000, layout="mono")
        frame = audio_frame(np.zeros((1, 1024), np.float32), "mono", 16000, 0)
        assert encoded(stream, frame) is not None  # no stop: the packets, as stream.encode gives them
        with pytest.raises(Stopped), stop_signals_handled():
            swallow_a_stop(signal.SIGTERM)
            encoded(stream, frame)


def test_the_resolve_worker_reports_a_swallowed_stop_not_done(monkeypatch, capsys):
    import plugin.external
    import plugin.worker

    def measuring_while_the_stop_is_swallowed(resolve, args, emit):
        swallow_a_stop(signal.SIGTERM)
        return {"clips": []}

    monkeypatch.setattr(plugin.external, "connect", lambda: FakeResolve("19.0.2"))
    monkeypatch.setattr(plugin.worker, "run", measuring_while_the_stop_is_swallowed)
    assert plugin.worker.main(["--external", "--measure-only"]) == 143
    ops = [json.loads(line)["op"] for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert ops == ["error"]


def test_outside_a_run_the_signals_are_left_alone():
    with stops_held():
        pass
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL



def test_the_panel_stops_cleanly_while_measuring(corpus, tmp_path):
    resolve = FakeResolve("21.1")
    resolve.GetProjectManager().GetCurrentProject().GetMediaPool().CreateEmptyTimeline("Interview")
    place_clip(resolve, str(corpus / "real" / LONG_CLIP), 10)
    before = resolve.snapshot(ids=False)
    token = "7b" * 32
    log = tmp_path / "panel.log"
    env = dict(os.environ, **{TOKEN_ENV: token}, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "plugin.panel", "--run", "measure,apply"], cwd=REPO, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log.open("w"), text=True, bufsize=1)
    server = threading.Thread(target=BridgeServer(resolve, token).serve, args=(proc.stdout, proc.stdin), daemon=True)
    server.start()
    wait_for(lambda: children_of(proc.pid), proc, "face tracking")  # the long clip is tracked in several processes
    time.sleep(2.0)
    workers = children_of(proc.pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    said = one_line(log.read_text(), "lipalign panel: ")
    assert said == "lipalign panel: stopped by SIGTERM; the timeline was left whole"
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if running(pid)], "face-tracking processes outlived the stopped panel"
    server.join(timeout=10)
    assert resolve.snapshot(ids=False) == before
