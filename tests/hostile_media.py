"""The hostile-media suite: small files that break what a tool assumes, made here from nothing, and the runner that
puts each through ``lipalign analyze`` in a separate process with a time limit.

Every file is a re-encoding of a few seconds of the synthetic talking head (:mod:`core.synth`) with one thing
made hostile: broken bytes, missing or late streams, many channels, extreme rates and bit depths, broadcast
codecs, 8K pictures, display rotation, phone timing, timecode tracks, an awkward file name. Each must end in a
report (exit 0) or in one clear line and exit 2; a traceback, a crash or a hang is a failure.

    python tests/hostile_media.py FOLDER    # writes the files, to look at them with other tools
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import av
import numpy as np
import soxr
from media_factory import Source, load_source, shrink, write_clip

from core.mux import audio_frame
from core.synth import synthesize

__all__ = ["CASES", "Case", "Outcome", "generate", "run_cases"]

SOURCE_SECONDS = 3.0
# Per case, from the request to the answer; the slowest (8K) takes a few seconds on two cores.
TIME_LIMIT_S = 60.0
HUGE_SIZE = (7680, 4320)  # 8K UHD
SOURCE_SIDE = 320  # the talking head at 320 x 240: quick to encode and to track, face still well found


@dataclass(frozen=True)
class Case:
    """One hostile file: how to make it from the talking head, and how ``lipalign analyze`` must end on it.

    ``says`` is a phrase the refusal line must contain, or the codes of diagnostics the report must hold.
    """

    name: str
    make: Callable[[Source, Path], Path]
    expect: Literal["report", "refused"]
    says: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """How one run ended: ``kind`` is "report", "refused", "failed" (traceback or internal error), "crashed" or
    "hung"; ``seconds`` is the analysis alone (imports excluded), ``peak_mib`` the peak resident size of the
    runner or of its largest face-tracking worker, whichever is larger (MiB, since the runner started)."""

    case: str
    kind: str
    exit_code: int | None
    seconds: float
    peak_mib: float
    message: str = ""
    report: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------- the files


def _clip(path: Path, src: Source, **options: object) -> Path:
    return write_clip(path, src.frames, fps=src.fps, audio=src.audio, rate=src.rate, **options)


def _channels(src: Source, count: int) -> np.ndarray:
    """The voice on every channel at a different level, as a mix engineer's stems would carry it."""
    gains = np.linspace(1.0, 0.3, count, dtype=np.float32)[:, None]
    return gains * src.audio[None, :]


def _at_rate(src: Source, rate: int) -> np.ndarray:
    return soxr.resample(src.audio, src.rate, rate, quality="HQ").astype(np.float32)


def _rate(src: Source, rate: int) -> Source:
    return Source(src.frames, src.fps, _at_rate(src, rate), rate)


def _with_audio(path: Path, src: Source, audio: np.ndarray, rate: int, **options: object) -> Path:
    return write_clip(path, src.frames, fps=src.fps, audio=audio, rate=rate, **options)


def _damaged(src: Source, path: Path) -> Path:
    """Random bytes over 2 % of the file, in its middle (where the media data is; the index is at the end)."""
    _clip(path, src)
    data = bytearray(path.read_bytes())
    middle, span = len(data) // 2, len(data) // 50
    data[middle:middle + span] = np.random.default_rng(1).integers(0, 256, span, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def _cut(path: Path, src: Source, share: float, **options: object) -> Path:
    _clip(path, src, **options)
    data = path.read_bytes()
    path.write_bytes(data[:round(len(data) * share)])
    return path


def _empty_stream(path: Path, src: Source, kind: Literal["audio", "video"]) -> Path:
    """A file declaring both streams, one of which (``kind``) holds no packet at all (Matroska: an MP4 muxer
    leaves an empty track out)."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = src.size[0], src.size[1], "yuv420p"
        audio = out.add_stream("aac", rate=src.rate, layout="mono")
        if kind == "video":
            for start in range(0, src.audio.size, 1024):
                out.mux(audio.encode(audio_frame(src.audio[None, start:start + 1024], "mono", src.rate, start)))
            out.mux(audio.encode())
        else:
            for i, image in enumerate(src.frames):
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = i
                out.mux(video.encode(frame))
            out.mux(video.encode())
    return path


def _audio_ends_early(src: Source, path: Path) -> Path:
    return _with_audio(path, src, src.audio[: src.rate], src.rate)


def _audio_starts_late(src: Source, path: Path) -> Path:
    """The picture runs 0-3 s, the sound 2-5 s: a camera whose audio began recording two seconds late."""
    return _with_audio(path, src, src.audio, src.rate, audio_start_s=2.0)


def _rotated(turns: int) -> Callable[[Source, Path], Path]:
    """Stored as a phone stores it: turned back by ``turns`` quarter turns, with a display matrix to undo that."""
    def make(src: Source, path: Path) -> Path:
        stored = [np.ascontiguousarray(np.rot90(image, -turns)) for image in src.frames]
        return write_clip(path, stored, fps=src.fps, audio=src.audio, rate=src.rate, rotation=90 * turns)
    return make


def _phone_timing(src: Source, path: Path) -> Path:
    """Frame intervals wandering between 25 and 45 ms around a nominal 30 fps, as phones record in low light."""
    steps = np.random.default_rng(2).uniform(0.025, 0.045, len(src.frames))
    times = np.concatenate([[0.0], np.cumsum(steps)[:-1]]) * (SOURCE_SECONDS / steps.sum())
    return write_clip(path, src.frames, times.tolist(), fps=30.0, audio=src.audio, rate=src.rate)


class _Canvas(Sequence):
    """The talking head small in the middle of a huge grey picture, made frame by frame (an 8K frame is 100 MB)."""

    def __init__(self, frames: list[np.ndarray], size: tuple[int, int], scale: float) -> None:
        self.frames, self.size, self.scale = frames, size, scale

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> np.ndarray:
        return shrink(self.frames[index], self.scale, self.size)


def _huge(src: Source, path: Path) -> Path:
    """8K at 5 fps for one second; the face about 100 pixels wide, 1/75 of the width."""
    frames = src.frames[: round(src.fps): 5]
    audio = src.audio[: src.rate]
    return write_clip(path, _Canvas(frames, HUGE_SIZE, 0.5), fps=5.0, audio=audio, rate=src.rate,
                      video_options={"preset": "ultrafast", "tune": "zerolatency"})


CASES: tuple[Case, ...] = (
    Case("plain", lambda s, p: _clip(p, s), "report"),
    Case("corrupted middle", _damaged, "report"),
    Case("truncated (index at end)", lambda s, p: _cut(p, s, 0.6), "refused", ("not a readable media file",)),
    Case("truncated (index first)", lambda s, p: _cut(p, s, 0.6, container_options={"movflags": "+faststart"}),
         "refused", ("file is truncated",)),
    Case("truncated mkv", lambda s, p: _cut(p, s, 0.6), "refused", ("file is truncated",)),
    Case("zero-length audio", lambda s, p: _empty_stream(p, s, "audio"), "refused", ("no samples",)),
    Case("zero-length video", lambda s, p: _empty_stream(p, s, "video"), "refused", ("has no frames",)),
    Case("audio ends early", _audio_ends_early, "report"),
    Case("audio starts 2 s late", _audio_starts_late, "report", ("STREAM_START_MISMATCH",)),
    Case("8 ch 96 kHz 24-bit", lambda s, p: _with_audio(p, s, _channels(_rate(s, 96000), 8), 96000,
                                                         audio_codec="pcm_s24le", layout="7.1"), "report"),
    Case("6 ch (5.1) AAC", lambda s, p: _with_audio(p, s, _channels(s, 6), s.rate, layout="5.1"), "report"),
    Case("8 kHz 16-bit", lambda s, p: _with_audio(p, s, _at_rate(s, 8000), 8000, audio_codec="pcm_s16le"),
         "report"),
    Case("44.1 kHz AAC", lambda s, p: _with_audio(p, s, _at_rate(s, 44100), 44100), "report",
         ("AUDIO_SAMPLE_RATE",)),
    Case("192 kHz 24-bit", lambda s, p: _with_audio(p, s, _at_rate(s, 192000), 192000, audio_codec="pcm_s24le"),
         "report"),
    Case("32-bit integer", lambda s, p: _clip(p, s, audio_codec="pcm_s32le"), "report"),
    Case("32-bit float", lambda s, p: _clip(p, s, audio_codec="pcm_f32le"), "report"),
    Case("ProRes 422 HQ", lambda s, p: _clip(p, s, codec="prores_ks", pix_fmt="yuv422p10le",
                                            audio_codec="pcm_s24le"), "report"),
    Case("DNxHR SQ in MXF + timecode", lambda s, p: _clip(p, s, codec="dnxhd", pix_fmt="yuv422p",
                                                         video_options={"profile": "dnxhr_sq"},
                                                         audio_codec="pcm_s24le", tags={"timecode": "10:00:00:00"}),
         "report"),
    Case("H.264 10-bit 4:2:2", lambda s, p: _clip(p, s, pix_fmt="yuv422p10le"), "report"),
    Case("MOV + timecode", lambda s, p: _clip(p, s, tags={"timecode": "01:02:03:04"}), "report"),
    Case("8K, tiny face", _huge, "report"),
    Case("rotated 90", _rotated(1), "report"),
    Case("rotated 180", _rotated(2), "report"),
    Case("rotated 270", _rotated(3), "report"),
    Case("VFR phone timing", _phone_timing, "report", ("VIDEO_VFR",)),
    Case("""name with spaces, 'quotes' and "Ünïcødé" 名前""", lambda s, p: _clip(p, s), "report"),
)

# The file each case is written to (the extension picks the container).
_FILE_NAMES = {
    "truncated mkv": "truncated.mkv", "8 ch 96 kHz 24-bit": "8ch.mov", "8 kHz 16-bit": "8khz.mov",
    "192 kHz 24-bit": "192khz.mov", "32-bit integer": "s32.mov", "32-bit float": "f32.mov",
    "ProRes 422 HQ": "prores.mov", "DNxHR SQ in MXF + timecode": "dnxhr.mxf", "H.264 10-bit 4:2:2": "x264_10bit.mkv",
    "MOV + timecode": "timecode.mov", "zero-length audio": "zero_length_audio.mkv",
    "zero-length video": "zero_length_video.mkv",
}


def file_name(case: Case) -> str:
    """Where ``case`` is written: its own name for the awkward-name case, a plain one otherwise."""
    if case.name.startswith("name with"):
        return f"{case.name}.mp4"
    return _FILE_NAMES.get(case.name, re.sub(r"[^A-Za-z0-9.]+", "_", case.name).strip("_") + ".mp4")


def face_source(folder: Path) -> Source:
    """A few seconds of the synthetic talking head, decoded once for every case to re-encode."""
    clip = folder / "talking_head.mp4"
    synthesize(clip, duration_s=SOURCE_SECONDS, seed=3)
    return load_source(clip, SOURCE_SECONDS, rate=48000, max_side=SOURCE_SIDE)


def generate(folder: Path, cases: Sequence[Case] = CASES) -> dict[str, Path]:
    """Write every case's file into ``folder``; return them by case name."""
    folder.mkdir(parents=True, exist_ok=True)
    source = face_source(folder)
    with ThreadPoolExecutor(os.cpu_count()) as pool:  # encoders release the interpreter while they work
        written = pool.map(lambda case: case.make(source, folder / file_name(case)), cases)
        return dict(zip([case.name for case in cases], written, strict=True))


# ---------------------------------------------------------------------------------------------------- the runner

# Runs in the child: answers one JSON line per file path read from stdin. fd 1 is kept for the answers only
# (native libraries print there), and Python's stderr is captured per case so its lines can be counted.
_CHILD = r"""
import contextlib, io, json, os, resource, sys, tempfile, time
answers = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr
from core.cli import main
import core.analyze, mediapipe  # imported here, not inside the first case's time
folder = tempfile.mkdtemp(prefix="lipalign-hostile-")
for line in sys.stdin:
    path = json.loads(line)
    report = os.path.join(folder, "report.json")
    err = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stderr(err):
        code = main(["analyze", path, "--json", report])
    seconds = time.perf_counter() - start
    text = open(report, encoding="utf-8").read() if os.path.exists(report) else ""
    if os.path.exists(report):
        os.unlink(report)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the process that forked this one. Face-tracking
    # workers (long clips) are children: the largest of them counts too.
    own = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
    peak = max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    answers.write(json.dumps({"code": code, "stderr": err.getvalue(), "report": text, "seconds": seconds,
                              "peak_mib": peak}) + "\n")
"""


class _Runner:
    """One child process analysing files one after another (imports are paid once)."""

    def __init__(self, repo: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _CHILD], cwd=repo, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1,
                                     env=dict(os.environ, PYTHONPATH=str(repo)))
        self.answers: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.answers.put(line)
        self.answers.put("")  # the child ended

    def ask(self, path: Path, timeout_s: float) -> dict | None:
        """The child's answer for ``path``; None when it died or did not answer in time (then it is ended)."""
        self.proc.stdin.write(json.dumps(str(path)) + "\n")
        self.proc.stdin.flush()
        try:
            line = self.answers.get(timeout=timeout_s)
        except queue.Empty:
            line = ""
        if not line:
            self.close()
            return None
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def classify(case: Case, path: Path, answer: dict) -> Outcome:
    """Turn a child's answer into an outcome: a report, one clear refusal line, or a failure."""
    code, stderr = answer["code"], answer["stderr"]
    lines = [line for line in stderr.splitlines() if line.startswith("lipalign: ")]
    report = json.loads(answer["report"]) if answer["report"] else {}
    if "Traceback" in stderr or "internal error" in stderr:
        kind, message = "failed", stderr.strip().splitlines()[-1]
    elif code == 0 and report.get("schema") == "lipalign.report/1" and not lines:
        kind, message = "report", report["sync"]["verdict"]
    elif code == 2 and len(lines) == 1 and lines[0].startswith(f"lipalign: {path}: ") and not report:
        kind, message = "refused", lines[0][len(f"lipalign: {path}: "):]
    else:
        kind, message = "failed", f"exit {code}: {stderr.strip()[-300:]}"
    return Outcome(case.name, kind, code, answer["seconds"], answer["peak_mib"], message, report)


def run_cases(files: dict[str, Path], cases: Sequence[Case] = CASES, *, processes: int | None = None,
              fresh_process: bool = False, timeout_s: float = TIME_LIMIT_S) -> Iterator[Outcome]:
    """Analyse each case's file in child processes; yield the outcomes in the order of ``cases``.

    ``fresh_process`` gives every case its own child, so its peak memory is its own (the benchmark); otherwise
    a child analyses several files in turn and is replaced only after a crash or a hang (the test, faster).
    """
    repo = Path(__file__).resolve().parent.parent
    todo: queue.Queue[int] = queue.Queue()
    for index in range(len(cases)):
        todo.put(index)
    results: dict[int, Outcome] = {}

    def serve() -> None:
        runner: _Runner | None = None
        while True:
            try:
                index = todo.get_nowait()
            except queue.Empty:
                break
            case, path = cases[index], files[cases[index].name]
            runner = runner or _Runner(repo)
            start = time.perf_counter()
            answer = runner.ask(path, timeout_s)
            if answer is None:
                code = runner.proc.returncode
                kind = "hung" if time.perf_counter() - start >= timeout_s else "crashed"
                results[index] = Outcome(case.name, kind, code, time.perf_counter() - start, 0.0,
                                         f"{kind} (exit {code})")
                runner = None
                continue
            results[index] = classify(case, path, answer)
            if fresh_process:
                runner.close()
                runner = None
        if runner is not None:
            runner.close()

    workers = [threading.Thread(target=serve) for _ in range(processes or min(os.cpu_count() or 1, 4))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for index in range(len(cases)):
        yield results[index]


if __name__ == "__main__":
    for name, written in generate(Path(sys.argv[1])).items():
        print(f"{name}: {written}")
