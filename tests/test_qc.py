"""``lipalign qc`` over a folder as delivery QC runs it: what it finds, what it reports, its exit status, its
cache (a second run and a resumed run), and a Dask cluster of separate processes on loopback."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from media_factory import load_source, write_clip

from core.analyze import analyze_file
from core.cli import main
from core.synth import synthesize

REPO = Path(__file__).resolve().parent.parent
LIPS = "real/videoretalking__3.mp4"  # 25 fps, 5 s close-up
VOICE = "real/lipnet__lbax4n.mpg"  # another speaker, 3 s


@pytest.fixture(scope="module")
def folder(corpus, tmp_path_factory) -> Path:
    """Clips with known offsets, a corpus clip, a picture with another speaker's sound, a corrupt file, a text
    file, and a clip whose name does not say it is media."""
    root = tmp_path_factory.mktemp("delivery")
    synthesize(root / "avatar-late-120.mp4", offset_ms=120.0, duration_s=6.0, seed=21)
    synthesize(root / "avatar-in-sync.mp4", offset_ms=0.0, duration_s=6.0, seed=22)
    synthesize(root / "render-0042.mp4", offset_ms=-80.0, duration_s=6.0, seed=23)
    (root / "render-0042.mp4").rename(root / "render-0042.bin")  # media by its content, not its name
    shutil.copy(corpus / LIPS, root / "interview.mp4")
    picture, sound = load_source(corpus / LIPS, 3.0), load_source(corpus / VOICE, 3.0)
    write_clip(root / "wrong-voice.mp4", picture.frames, fps=picture.fps, audio=sound.audio, rate=sound.rate)
    (root / "broken.mp4").write_bytes((corpus / LIPS).read_bytes()[:20000])
    (root / "notes.txt").write_text("delivery notes: nothing to see here\n")
    return root


def qc(*args: str) -> int:
    return main(["qc", *args])


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_a_folder_is_checked_reported_and_cached(folder, tmp_path):
    cache = tmp_path / "cache"
    out = {k: tmp_path / f"report.{k}" for k in ("json", "csv", "html")}
    code = qc(str(folder), "--cache", str(cache), "--workers", "2", "--fail-on", "offset",
              *(x for k, p in out.items() for x in (f"--{k}", str(p))))
    report = read_json(out["json"])
    files = {Path(f["file"]).name: f for f in report["files"]}
    # Found by content: the .bin render is media, the text file is skipped, the truncated MP4 failed.
    assert files["notes.txt"]["status"] == "skipped" and "not media" in files["notes.txt"]["reason"]
    assert files["broken.mp4"]["status"] == "failed" and files["broken.mp4"]["grade"] == "red"
    assert files["render-0042.bin"]["status"] == "analysed"
    verdicts = {Path(r["file"]).name: r["sync"] for r in report["reports"]}
    assert verdicts["avatar-late-120.mp4"]["verdict"] == "offset"
    assert abs(verdicts["avatar-late-120.mp4"]["offset_ms"] - 120.0) < 40.0
    assert abs(verdicts["render-0042.bin"]["offset_ms"] + 80.0) < 40.0
    assert verdicts["wrong-voice.mp4"]["verdict"] == "inconclusive"
    # The gate on offsets fails, on exactly the files read out of sync (the corpus interview may be too: several
    # corpus clips really carry 100-140 ms).
    out_of_sync = {str(folder / name) for name, sync in verdicts.items() if sync["verdict"] == "offset"}
    assert {str(folder / "avatar-late-120.mp4"), str(folder / "render-0042.bin")} <= out_of_sync
    assert code == 1 and set(report["batch"]["failing"]) == out_of_sync
    # The truncated file failed before analysis; synth's .truth.json sidecars are skipped like the notes.
    others = [p for p in folder.iterdir() if p.suffix in (".txt", ".json")]
    assert report["batch"]["counts"]["analysed"] == 5 and report["batch"]["counts"]["skipped"] == len(others)

    # The CSV carries the same numbers, worst first, and both match what `lipalign analyze` says of each file.
    with open(out["csv"], newline="") as handle:
        rows = {Path(r["file"]).name: r for r in csv.DictReader(handle)}
    grades = [r["grade"] for r in rows.values()]
    assert grades == sorted(grades, key=["red", "amber", "green", "grey"].index)
    for name in ("avatar-late-120.mp4", "interview.mp4", "wrong-voice.mp4"):
        alone = analyze_file(str(folder / name)).report.to_dict()["sync"]
        for key in ("verdict", "offset_ms", "drift_ms_per_min", "confidence"):
            assert verdicts[name][key] == alone[key], (name, key)
            if alone[key] is not None:
                assert rows[name][key] == str(alone[key]), (name, key)
    html = out["html"].read_text()
    assert all(name in html for name in files) and "<svg" in html

    # A second run analyses nothing, and the gate follows --fail-on.
    assert qc(str(folder), "--cache", str(cache), "--fail-on", "drift", "--json", str(tmp_path / "again.json")) == 0
    again = read_json(tmp_path / "again.json")["batch"]["counts"]
    assert again["analysed"] == 0 and again["cached"] == 5
    assert qc(str(folder), "--cache", str(cache), "--fail-on", "inconclusive") == 1
    assert qc(str(folder), "--cache", str(cache), "--fail-on", "unreadable") == 1
    assert qc(str(folder / "avatar-in-sync.mp4"), "--cache", str(cache), "--fail-on", "offset,drift") == 0


def test_bad_arguments_give_one_line_and_exit_2(folder, tmp_path, capsys):
    assert qc(str(folder), "--fail-on", "lateness") == 2
    assert qc(str(tmp_path / "nowhere")) == 2
    (tmp_path / "empty").mkdir()
    assert qc(str(tmp_path / "empty")) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("lipalign: ")]
    assert lines == ["lipalign: --fail-on: unknown rule 'lateness'; choose from offset, drift, inconclusive, "
                     "diagnostic, unreadable",
                     f"lipalign: {tmp_path / 'nowhere'}: no such file or folder",
                     f"lipalign: no media found in {tmp_path / 'empty'} (--recursive looks in subfolders)"]


def test_a_run_stopped_half_way_resumes_with_only_the_rest(folder, tmp_path):
    cache = tmp_path / "cache"
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "qc", str(folder), "--cache", str(cache),
                             "--workers", "1"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while len(list(cache.glob("*.json"))) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    done = len(list(cache.glob("*.json")))
    assert 2 <= done < 5 and not list(cache.glob("*.lipalign-tmp*"))
    assert qc(str(folder), "--cache", str(cache), "--json", str(tmp_path / "rest.json")) == 1
    counts = read_json(tmp_path / "rest.json")["batch"]["counts"]
    assert counts["cached"] == done and counts["analysed"] == 5 - done


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_dask_cluster_of_separate_processes_gives_the_local_answers(folder, tmp_path):
    dask = Path(sys.executable).with_name("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = (tmp_path / "dask.log").open("w")
    processes = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-dashboard"], stdout=logs, stderr=logs, cwd=REPO)]
    try:
        time.sleep(2.0)
        processes += [subprocess.Popen([str(dask), "worker", address, "--nthreads", "1", "--nworkers", "1",
                                        "--no-dashboard", "--name", f"farm-{n}"], stdout=logs, stderr=logs, cwd=REPO,
                                       env=dict(os.environ, PYTHONPATH=str(REPO)))
                      for n in (1, 2)]
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
        farm, local = tmp_path / "farm.json", tmp_path / "local.json"
        qc(str(folder), "--scheduler", address, "--cache", str(tmp_path / "farm-cache"), "--json", str(farm))
        qc(str(folder), "--workers", "2", "--cache", str(tmp_path / "local-cache"), "--json", str(local))
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    farmed, local_run = read_json(farm), read_json(local)
    assert farmed["batch"]["workers"] == address and farmed["batch"]["counts"]["analysed"] == 5
    assert [r["sync"] for r in farmed["reports"]] == [r["sync"] for r in local_run["reports"]]

    def timeless(files: list[dict]) -> list[dict]:
        return [{k: v for k, v in f.items() if k != "analysis_s"} for f in files]

    assert timeless(farmed["files"]) == timeless(local_run["files"])
