"""Benchmark of the lip-sync estimator on the real corpus clips (issue 3). Prints tables.

    .venv/bin/python benchmarks/estimator.py [--corpus ../shared/corpus] [--skip-speed]

Labelled cases are made from every clip in corpus/real by changing only its decoded audio:
- shifts of the audio by known amounts (integer and fractional frames across ±15 frames);
  scored as the change of the measurement against the applied shift (the clips themselves are
  not all in sync, so absolute truth is unknown except for GRID);
- resampling by an exact ratio (±60 ms/min and the 1000/1001 case) on clips of 45 s or more,
  built by looping a clip of one speaker where it is shorter;
- each clip's picture paired with every other clip's audio, which must be called inconclusive.
Face tracking runs once per clip; each case re-runs feature extraction and estimation.
Speed: the full analysis against decoding the same file with ``ffmpeg -i FILE -f null -``, side
by side in this run; memory: peak RSS of a 10-minute clip (made by looping) against a 71 s one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from tracks import looped, replace_audio  # noqa: E402

from core.decode import AudioTrack, decode_audio, iter_video_frames  # noqa: E402
from core.estimate import EstimatorSettings, drift_line, estimate_sync  # noqa: E402
from core.face import FaceTrack, track_face  # noqa: E402
from core.probe import probe  # noqa: E402
from core.synth import offset_audio  # noqa: E402

SHIFTS_MS = (-600, -333, -120, -40, -17, 0, 23, 80, 200, 440)
# ±60 ms/min, and the NTSC pair: audio made for 30 fps under 29.97 fps picture plays 1001/1000 long
# (+60.0 ms/min), the reverse 1000/1001 short (-59.94 ms/min).
DRIFTS_MS_PER_MIN = (60.0, -60.0, 60000.0 * (1001 / 1000 - 1), 60000.0 * (1000 / 1001 - 1))
LONG_S = 45.0
MIN_LOOPED_S = 4.5


def load(path: Path) -> tuple[float, AudioTrack, FaceTrack]:
    info = probe(path)
    return (info.fps_measured or info.fps_declared or 25.0, decode_audio(path),
            track_face(iter_video_frames(path), (info.width, info.height)))


def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except ImportError:
        return "ffmpeg"


def _tree_rss_mb(root: int) -> float:
    """Resident memory (MB) of a process and all its descendants now, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid and child not in tree]
        tree.update(children)
        frontier.extend(children)
    total_kb = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/status") as status:
                total_kb += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
        except OSError:
            continue
    return total_kb / 1024


def child_peak_rss_mb(code: str) -> tuple[float, float]:
    """Wall time and peak resident memory (MB) of a fresh Python running ``code``, with its workers.

    Memory is sampled from /proc every 50 ms as the sum over the process and its descendants.
    ``getrusage`` cannot be used: Linux carries a parent's peak across fork and exec, so a child
    of this (large) benchmark process would report the benchmark's memory as its own.
    """
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, cwd=REPO)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_mb(proc.pid))
        time.sleep(0.05)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(proc.stderr.read()[-2000:])
    return wall, peak


ANALYZE_CODE = """
from core.analyze import analyze_file
if __name__ == "__main__":
    analyze_file({path!r})
"""


def speed_table(clips: list[Path]) -> list[dict]:
    rows = []
    for path in clips:
        start = time.perf_counter()
        subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "null", "-"], check=True)
        decode = time.perf_counter() - start
        wall, rss = child_peak_rss_mb(ANALYZE_CODE.format(path=str(path)))
        rows.append({"clip": path.name, "decode_s": decode, "analyze_s": wall, "ratio": wall / decode,
                     "peak_rss_mb": rss})
    return rows


def landmark_floor(path: Path, frames: int = 500) -> dict:
    """Per-frame cost of Face Mesh alone (frames decoded beforehand) against ffmpeg's decoding.

    No analysis that finds landmarks on every frame can be faster than this, whatever else it does.
    """
    from core.face import FaceMeshTracker, quiet_native_stderr

    images = [f.image for _, f in zip(range(frames), iter_video_frames(path), strict=False)]
    with quiet_native_stderr(), FaceMeshTracker() as tracker:
        tracker.main_face(images[0])  # the first call builds the graph
        start = time.perf_counter()
        for image in images:
            tracker.main_face(image)
        mesh_ms = (time.perf_counter() - start) / len(images) * 1000.0
    start = time.perf_counter()
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "null", "-"], check=True)
    decode_ms = (time.perf_counter() - start) / max(probe(path).frame_count, 1) * 1000.0
    return {"clip": path.name, "face_mesh_ms_per_frame": mesh_ms, "ffmpeg_decode_ms_per_frame": decode_ms}


def memory_rows(source: Path, workdir: Path) -> list[dict]:
    """Peak memory of a clip and of the same clip looped to about ten minutes."""
    duration = probe(source).duration_s
    loops = int(np.ceil(600.0 / duration))
    long_path = workdir / f"looped_{loops}x.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", str(loops - 1), "-i", str(source),
                    "-c", "copy", str(long_path)], check=True)
    rows = []
    for path in (source, long_path):
        wall, rss = child_peak_rss_mb(ANALYZE_CODE.format(path=str(path)))
        rows.append({"clip": path.name, "duration_s": probe(path).duration_s, "analyze_s": wall, "peak_rss_mb": rss})
    return rows


def speed_and_memory(corpus: Path, summary: dict) -> None:
    speed_clips = [corpus / "real" / n for n in ("dfrf__cnn2_25fps.mp4", "latentsync__demo2_video.mp4",
                                                 "videoretalking__2.mp4")]
    print("\n## Speed: analysis against `ffmpeg -i FILE -f null -` decoding, same run")
    speed = speed_table(speed_clips)
    for row in speed:
        print(f"{row['clip']:34s} decode {row['decode_s']:6.2f} s  analyze {row['analyze_s']:6.2f} s  "
              f"ratio {row['ratio']:5.1f}x  peak RSS {row['peak_rss_mb']:6.0f} MB")
    floor = landmark_floor(speed_clips[0])
    print(f"Floor: Face Mesh alone takes {floor['face_mesh_ms_per_frame']:.2f} ms a frame, ffmpeg decoding "
          f"{floor['ffmpeg_decode_ms_per_frame']:.2f} ms a frame ({floor['clip']}): landmarks on every frame cost "
          f"at least {floor['face_mesh_ms_per_frame'] / floor['ffmpeg_decode_ms_per_frame'] / 2:.1f}x decoding "
          "on two cores before anything else is done")
    with tempfile.TemporaryDirectory() as tmp:
        print("\n## Memory: a clip and the same clip looped to about ten minutes")
        memory = memory_rows(corpus / "real" / "dfrf__cnn2_25fps.mp4", Path(tmp))
    for row in memory:
        print(f"{row['clip']:34s} {row['duration_s']:7.1f} s  analyze {row['analyze_s']:7.1f} s  "
              f"peak RSS {row['peak_rss_mb']:6.0f} MB")
    summary.update(speed=speed, memory=memory, landmark_floor=floor)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--skip-speed", action="store_true", help="skip the speed and memory tables")
    parser.add_argument("--speed-only", action="store_true", help="only the speed and memory tables")
    parser.add_argument("--json", type=Path, help="also write all figures here")
    args = parser.parse_args()
    if args.speed_only:
        speed_and_memory(args.corpus, {})
        return 0
    settings = EstimatorSettings()
    paths = sorted((args.corpus / "real").iterdir())
    print(f"loading {len(paths)} real clips (face tracking once per clip)...", file=sys.stderr)
    clips = {p.name: load(p) for p in paths}

    shift_rows, true_inconclusive, true_cases, false_drift = [], 0, 0, 0
    print("\n## Relative accuracy: error of the measured change against the applied audio shift, ms")
    print("   ('?': the best guess of an inconclusive measurement, of the shifted or the unshifted clip)")
    print(f"{'clip':44s} {'base':>7s} {'conf':>5s} " + " ".join(f"{s:>6d}" for s in SHIFTS_MS))
    for name, (fps, audio, face) in clips.items():
        base = estimate_sync(face, audio, fps=fps, settings=settings)
        cells = []
        for shift in SHIFTS_MS:
            samples = offset_audio(audio.samples, audio.rate, shift, 0.0, audio.samples.size)
            result = estimate_sync(face, replace_audio(audio, samples), fps=fps, settings=settings)
            true_cases += 1
            false_drift += result.verdict == "drift"
            true_inconclusive += result.verdict == "inconclusive"
            error = None if result.offset_ms is None or base.offset_ms is None else \
                result.offset_ms - base.offset_ms - shift
            confident = result.verdict != "inconclusive" and base.verdict != "inconclusive"
            shift_rows.append({"clip": name, "shift_ms": shift, "error_ms": error, "frame_ms": 1000.0 / fps,
                               "confident": confident})
            cells.append("     -" if error is None else f"{error:6.1f}" + ("" if confident else "?"))
        base_text = "-" if base.offset_ms is None else f"{base.offset_ms:.1f}"
        print(f"{name[:44]:44s} {base_text:>7s} {base.confidence:5.2f} " + " ".join(cells))
    errors = np.array([np.inf if r["error_ms"] is None else abs(r["error_ms"]) for r in shift_rows])
    frames = np.array([r["frame_ms"] for r in shift_rows])
    within = float(np.mean(errors <= frames))
    median = float(np.median(errors))
    confident = np.array([r["confident"] for r in shift_rows])
    confident_within = float(np.mean(confident & (errors <= frames)))

    print("\n## Absolute accuracy on GRID (studio recordings, in sync)")
    grid = []
    for name, (fps, audio, face) in clips.items():
        if name.startswith("lipnet__"):
            r = estimate_sync(face, audio, fps=fps, settings=settings)
            ok = r.offset_ms is not None and abs(r.offset_ms) <= 1000.0 / fps
            grid.append(ok)
            print(f"{name:30s} offset {r.offset_ms!s:>7} ms  confidence {r.confidence:.2f}  verdict {r.verdict:12s}"
                  f" within ±1 frame: {ok}")

    print("\n## Drift (audio resampled by an exact ratio; clips under 45 s looped)")
    print("   (scored against the unresampled clip's own line through its window offsets: looping and")
    print("   the clip's content leave a small trend of their own, as shifts are scored against the base)")
    drift_rows = []
    for name, (fps, audio, face) in clips.items():
        duration = audio.samples.size / audio.rate
        if duration < MIN_LOOPED_S:
            continue  # a 3 s sentence looped fifteen times is one sentence, not a long clip
        times = int(np.ceil(LONG_S / duration))
        long_face, long_audio = looped(face, audio, times) if times > 1 else (face, audio)
        base = estimate_sync(long_face, long_audio, fps=fps, settings=settings)
        false_drift += base.verdict == "drift"
        base_line = drift_line(base.windows, fps)
        base_trend = base_line.drift_ms_per_min if base_line else 0.0
        for drift in DRIFTS_MS_PER_MIN:
            samples = offset_audio(long_audio.samples, long_audio.rate, 0.0, drift, long_audio.samples.size)
            r = estimate_sync(long_face, replace_audio(long_audio, samples), fps=fps, settings=settings)
            measured = (r.drift_ms_per_min or 0.0) - base_trend
            err = measured - drift
            drift_rows.append({"clip": name, "loops": times, "applied": drift, "measured": measured,
                               "verdict": r.verdict, "error": err, "base_trend": base_trend})
            print(f"{name[:34]:34s} x{times} {long_audio.samples.size / long_audio.rate:5.1f} s  base trend "
                  f"{base_trend:+6.1f}  applied {drift:+7.2f}  measured {measured:+7.2f}  verdict {r.verdict:12s} "
                  f"error {err:+7.2f}")
    drift_errors = np.array([abs(d["error"]) for d in drift_rows])
    drift_confident = np.array([d["verdict"] != "inconclusive" for d in drift_rows])

    print("\n## Mismatched pairs (the picture of each clip with the audio of every other)")
    mismatched = []
    for name, (fps, audio, face) in clips.items():
        for other_name, (_, other, _) in clips.items():
            if other_name == name:
                continue
            samples = np.zeros_like(audio.samples)
            n = min(samples.size, other.samples.size)
            samples[:n] = other.samples[:n]
            r = estimate_sync(face, replace_audio(audio, samples), fps=fps, settings=settings)
            mismatched.append(r.verdict == "inconclusive")
    print(f"{sum(mismatched)} of {len(mismatched)} mismatched pairs called inconclusive")

    summary = {
        "shift_cases": len(shift_rows), "within_1_frame": within, "median_abs_error_ms": median,
        "confident_and_within_1_frame": confident_within,
        "grid_within_1_frame": f"{sum(grid)}/{len(grid)}",
        "drift_cases": len(drift_rows),
        "drift_median_abs_error_ms_per_min": float(np.median(drift_errors)) if drift_rows else None,
        "drift_within_10_ms_per_min": float(np.mean(drift_errors <= 10.0)) if drift_rows else None,
        "drift_confident_within_10_ms_per_min": float(np.mean(drift_errors[drift_confident] <= 10.0))
        if drift_confident.any() else None,
        "false_drift_calls": false_drift,
        "mismatched_inconclusive": float(np.mean(mismatched)),
        "true_cases_inconclusive": true_inconclusive / true_cases,
    }
    if not args.skip_speed:
        speed_and_memory(args.corpus, summary)
    print("\n## Summary")
    for key, value in summary.items():
        if key not in ("speed", "memory", "landmark_floor"):
            print(f"{key:36s} {value}")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "shifts": shift_rows, "drift": drift_rows}, indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    sys.exit(main())
