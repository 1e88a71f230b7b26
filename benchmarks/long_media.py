"""Analysis of long media: time, share of the file used, memory and accuracy on looped files (issue 17).

    .venv/bin/python benchmarks/long_media.py [--only 20s,10min,60min,4k-10min] [--full] [--media-only]
        [--check-media] [--corpus ../shared/corpus] [--workdir /tmp/lipalign-long-media] [--json OUT]

The files are made from one corpus clip (real/latentsync__demo2_video.mp4, 1080 x 1920 at 25 fps, 20.08 s) in
the work folder, nothing in the repository; a file is made once and reused while its sidecar JSON matches:

- video: the clip's video stream looped with ``-stream_loop`` and stream copy (no re-encoding): once (20 s), 30
  times (10 min) and 180 times (60 min); the 4K file loops, 30 times, one re-encoding of the clip scaled to
  2160 x 3840 (libx264 ultrafast, a key frame every 2 s);
- audio: the clip's audio, each pass padded to the length of the video pass so the loops line up, looped as
  often, then a known error applied: stretched by exactly 1 + DRIFT_MS_PER_MIN / 60000 (soxr) and delayed by
  SHIFT_MS, so the sound of media time t plays at t * (1 + 1e-4) + 0.120 s; AAC at 48 kHz, muxed with the video.

The truth of a file is an offset at media time 0 of BASELINE + SHIFT_MS and a drift of DRIFT_MS_PER_MIN.
BASELINE is the clip's own offset, which nothing knows independently (benchmarks/reference_offsets.json has
null for it): it is measured in the same run by the full analysis (every frame) of the unmodified clip, and
printed with its confidence. An offset is right within one frame (40 ms) of the truth, a drift within
DRIFT_TOLERANCE_MS_PER_MIN of it.

For each file: ``ffmpeg -i FILE -f null -`` wall time; the analysis in a fresh process, so its peak memory is its
own (the process and its workers, sampled from /proc): "analysis s" is ``analyze_file`` alone, imports excluded
(what a warm worker sees), "CLI s" the whole process, imports included (what the command line costs); the ratio
of analysis to decoding; the share of the file's media seconds whose frames were analysed. Targets: 60 min
answered in at most 60 s and 10 min (1080p and 4K) in at most 20 s, on two cores; the 20 s clip in at most
1.5 x its decoding; peak memory under 1024 MB for every file. The time targets are judged on "analysis s".
After each progressive analysis, ``lipalign fix``'s work (``write_corrected_media`` with the offset and drift
measured) runs on the file in a fresh process as well: its time and peak memory, the copy deleted after.

By default the analysis is the progressive one (``AnalysisOptions(full=False)``); ``--full`` adds the same files
analysed on every frame for comparison. ``--media-only`` makes the files and times their decoding, no analysis;
``--check-media`` also checks each made file: its duration and frame count, that the video is the source's
stream (same codec, frames per pass), and the audio delay measured by cross-correlation against the clip's
audio at the start and in the last pass (expected SHIFT_MS plus the drift so far).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr
from analysis_speed import ffmpeg_exe, run_child

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from core.decode import AudioTrack, decode_audio, decode_audio_channels  # noqa: E402
from core.probe import probe  # noqa: E402

SOURCE = Path("real") / "latentsync__demo2_video.mp4"
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "lipalign-long-media"
SHIFT_MS = 120.0  # audio late: delayed by this much from media time 0
DRIFT_MS_PER_MIN = 6.0  # audio falls further behind as it plays
STRETCH = 1.0 + DRIFT_MS_PER_MIN / 60000.0
AUDIO_RATE = 48000
DRIFT_TOLERANCE_MS_PER_MIN = 10.0
MEMORY_LIMIT_MB = 1024.0
FOURK_SIZE = (2160, 3840)
RECIPE_VERSION = 1  # raise when the way files are made changes, so old ones are made again


@dataclass(frozen=True)
class LongFile:
    """One file of the benchmark: the clip looped ``loops`` times, at ``size`` (None: the clip's own).

    The time target is ``limit_s`` seconds of analysis, or else ``decode_ratio`` times the file's decoding.
    """

    name: str
    loops: int
    size: tuple[int, int] | None = None
    limit_s: float | None = None
    decode_ratio: float | None = None


FILES = (
    LongFile("20s", 1, decode_ratio=1.5),
    LongFile("10min", 30, limit_s=20.0),
    LongFile("60min", 180, limit_s=60.0),
    LongFile("4k-10min", 30, size=FOURK_SIZE, limit_s=20.0),
)


# --- making the files -------------------------------------------------------------------------------------------


def run_ffmpeg(args: list[str], stdin_blocks: Iterator[np.ndarray] | None = None) -> None:
    """Run ffmpeg quietly with ``args``, feeding it ``stdin_blocks`` (raw samples) if given; raise on failure."""
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen([ffmpeg_exe(), "-v", "error", "-y", *args], stderr=errors,
                                stdin=subprocess.PIPE if stdin_blocks is not None else subprocess.DEVNULL)
        try:
            for block in stdin_blocks or ():
                proc.stdin.write(np.ascontiguousarray(block, np.float32).tobytes())
        except BrokenPipeError:
            pass
        finally:
            if proc.stdin:
                proc.stdin.close()
        if proc.wait():
            errors.seek(0)
            raise RuntimeError(f"ffmpeg {' '.join(args)} failed: {errors.read().decode(errors='replace')[-2000:]}")


def recipe(source: Path, spec: LongFile) -> dict:
    """Everything a made file depends on; a file whose sidecar holds the same is reused."""
    stat = source.stat()
    return {"version": RECIPE_VERSION, "source": str(source.resolve()), "source_bytes": stat.st_size,
            "source_mtime_ns": stat.st_mtime_ns, "loops": spec.loops, "size": spec.size, "shift_ms": SHIFT_MS,
            "drift_ms_per_min": DRIFT_MS_PER_MIN, "audio_rate": AUDIO_RATE}


def sidecar_of(path: Path) -> Path:
    return path.with_suffix(".json")


def reusable(path: Path, wanted: dict) -> bool:
    """Whether ``path`` exists with a sidecar whose recipe is ``wanted``."""
    try:
        return path.exists() and json.loads(sidecar_of(path).read_text()).get("recipe") == json.loads(
            json.dumps(wanted))
    except (OSError, ValueError):
        return False


def scaled_video(source: Path, size: tuple[int, int], workdir: Path) -> Path:
    """The clip's video re-encoded once at ``size`` (libx264 ultrafast, 25 fps kept, a key frame every 2 s)."""
    wanted = {"version": RECIPE_VERSION, "source": str(source.resolve()), "source_bytes": source.stat().st_size,
              "size": size, "encoder": "libx264 ultrafast g50"}
    path = workdir / f"{source.stem}_{size[0]}x{size[1]}.mp4"
    if not reusable(path, wanted):
        partial = path.with_suffix(".partial.mp4")
        run_ffmpeg(["-i", str(source), "-map", "0:v", "-vf", f"scale={size[0]}:{size[1]}", "-c:v", "libx264",
                    "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p", "-fps_mode", "passthrough",
                    str(partial)])
        partial.replace(path)
        sidecar_of(path).write_text(json.dumps({"recipe": wanted}, indent=1))
    return path


def loop_audio(source: Path) -> tuple[np.ndarray, int, float]:
    """One pass of the clip's audio, (n, channels) float32 at its own rate, and the length of a video pass (s).

    The audio is placed on the video's timeline (its start honoured) and padded or cut to the video pass, so
    that the passes of audio and video stay lined up however many times they are looped.
    """
    media = probe(source)
    pass_s = media.frame_count / (media.fps_declared or media.fps_measured or 25.0)
    audio = decode_audio_channels(source)
    lead = max(round(audio.start_s * audio.rate), 0)
    length = round(pass_s * audio.rate)
    samples = np.zeros((length, audio.channels), np.float32)
    body = audio.samples.T[: max(length - lead, 0)]
    samples[lead:lead + body.shape[0]] = body
    return samples, audio.rate, pass_s


def drifted_audio(one_pass: np.ndarray, rate: int, loops: int, total: int) -> Iterator[np.ndarray]:
    """``one_pass`` looped ``loops`` times, stretched by STRETCH and delayed by SHIFT_MS, at AUDIO_RATE.

    Yields (n, channels) float32 blocks, ``total`` samples in all (cut or padded with silence at the end).
    The stretch resamples to AUDIO_RATE * STRETCH and calls it AUDIO_RATE, so the sound of media time t
    plays at t * STRETCH + SHIFT_MS / 1000.
    """
    channels = one_pass.shape[1]
    resampler = soxr.ResampleStream(rate, AUDIO_RATE * STRETCH, channels, dtype="float32", quality="VHQ")
    delay = np.zeros((round(SHIFT_MS / 1000.0 * AUDIO_RATE), channels), np.float32)
    blocks = (resampler.resample_chunk(one_pass, last=k == loops - 1) for k in range(loops))
    left = total
    for block in itertools.chain([delay], blocks):
        block = block[:left]
        left -= block.shape[0]
        yield block
        if left <= 0:
            return
    yield np.zeros((left, channels), np.float32)


def make_file(source: Path, spec: LongFile, workdir: Path) -> tuple[Path, dict]:
    """Make (or reuse) the file of ``spec`` in ``workdir``; returns it and its sidecar."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"{source.stem}_{spec.name}.mp4"
    wanted = recipe(source, spec)
    if reusable(path, wanted):
        return path, {**json.loads(sidecar_of(path).read_text()), "reused": True}
    start = time.perf_counter()
    video = scaled_video(source, spec.size, workdir) if spec.size else source
    one_pass, rate, pass_s = loop_audio(source)
    total = round(spec.loops * pass_s * AUDIO_RATE)
    channels = one_pass.shape[1]
    partial = path.with_suffix(".partial.mp4")
    run_ffmpeg(["-stream_loop", str(spec.loops - 1), "-i", str(video),
                "-f", "f32le", "-ar", str(AUDIO_RATE), "-ac", str(channels), "-i", "pipe:0",
                "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-b:a", "128k", str(partial)],
               drifted_audio(one_pass, rate, spec.loops, total))
    partial.replace(path)
    sidecar = {"recipe": wanted, "shift_ms": SHIFT_MS, "drift_ms_per_min": DRIFT_MS_PER_MIN, "loops": spec.loops,
               "pass_s": pass_s, "duration_s": spec.loops * pass_s, "video_from": str(video),
               "making_s": round(time.perf_counter() - start, 2), "bytes": path.stat().st_size}
    sidecar_of(path).write_text(json.dumps(sidecar, indent=1))
    return path, {**sidecar, "reused": False}


# --- checking the made files --------------------------------------------------------------------------------------


def lag_s(made: AudioTrack, clip: AudioTrack, media_s: float, clip_s: float, length_s: float = 8.0,
          reach_s: float = 1.0) -> float:
    """How late (s) the clip's sound from ``clip_s`` plays in ``made`` against media time ``media_s``.

    Cross-correlates ``length_s`` of the clip's audio with the made audio from ``media_s`` up to ``reach_s``
    later; the peak is refined to a fraction of a sample by a parabola through its neighbours.
    """
    from scipy.signal import correlate

    rate = made.rate
    ref = clip.samples[round((clip_s - clip.start_s) * rate):][: round(length_s * rate)]
    first = round((media_s - made.start_s) * rate)
    seg = made.samples[first:first + ref.size + round(reach_s * rate)]
    corr = correlate(seg, ref, mode="valid", method="fft")
    k = int(np.argmax(corr))
    if 0 < k < corr.size - 1:
        a, b, c = corr[k - 1:k + 2]
        k += 0.5 * (a - c) / (a - 2 * b + c)
    return k / rate


def check_media(source: Path, path: Path, sidecar: dict) -> dict:
    """Duration, frames and codec of a made file against its source, and its audio delay at start and end."""
    src, made = probe(sidecar.get("video_from") or source), probe(path)
    loops, pass_s = sidecar["loops"], sidecar["pass_s"]
    clip_audio, made_audio = decode_audio(source, 16000), decode_audio(path, 16000)
    last_pass_s = (loops - 1) * pass_s
    # The middle of the 8 s windows: 1 s into the first pass and into the last one.
    start_lag = lag_s(made_audio, clip_audio, 1.0, 1.0)
    end_lag = lag_s(made_audio, clip_audio, last_pass_s + 1.0, 1.0)
    expected = [SHIFT_MS / 1000.0 + (STRETCH - 1) * (t + 1.0 + 4.0) for t in (0.0, last_pass_s)]
    return {"duration_s": made.duration_s, "expected_duration_s": loops * pass_s,
            "frames": made.frame_count, "expected_frames": loops * src.frame_count,
            "video_codec": made.video_codec, "source_video_codec": src.video_codec,
            "size": [made.width, made.height], "dropped_frames": made.dropped_frames,
            "audio": f"{made.audio_codec} {made.sample_rate} Hz x{made.channels}",
            "audio_start_s": made.audio_start_s, "video_start_s": made.video_start_s,
            "lag_start_ms": 1000 * start_lag, "expected_lag_start_ms": 1000 * expected[0],
            "lag_last_pass_ms": 1000 * end_lag, "expected_lag_last_pass_ms": 1000 * expected[1]}


def print_check(name: str, check: dict) -> None:
    print(f"- {name}: {check['duration_s']:.2f} s (expected {check['expected_duration_s']:.2f}), "
          f"{check['frames']} frames (expected {check['expected_frames']}, dropped {check['dropped_frames']}), "
          f"{check['video_codec']} {check['size'][0]}x{check['size'][1]} (from {check['source_video_codec']}), "
          f"{check['audio']}; audio delay at the start {check['lag_start_ms']:.1f} ms "
          f"(expected {check['expected_lag_start_ms']:.1f}), in the last pass {check['lag_last_pass_ms']:.1f} ms "
          f"(expected {check['expected_lag_last_pass_ms']:.1f})")


# --- timing -------------------------------------------------------------------------------------------------------


def decode_s(path: Path) -> float:
    """Wall time of ``ffmpeg -i FILE -f null -``."""
    start = time.perf_counter()
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "null", "-"], check=True)
    return time.perf_counter() - start


ANALYZE_CODE = """
import json, time
from core.analyze import AnalysisOptions, analyze_file
if __name__ == "__main__":
    start = time.perf_counter()
    analysis = analyze_file({path!r}, AnalysisOptions(full={full!r}))
    seconds = time.perf_counter() - start
    sync, coverage = analysis.report.sync, analysis.report.coverage
    print(json.dumps({{"analysis_s": seconds, "offset_ms": sync.offset_ms, "drift_ms_per_min": sync.drift_ms_per_min,
                      "confidence": sync.confidence, "verdict": sync.verdict, "coverage": coverage.to_dict()}}))
"""


FIX_CODE = """
import json, time
from core.correct import write_corrected_media
if __name__ == "__main__":
    start = time.perf_counter()
    write_corrected_media({path!r}, {out!r}, {offset_ms!r}, {drift_ms_per_min!r})
    print(json.dumps({{"fix_s": time.perf_counter() - start}}))
"""


def child_json(code: str) -> tuple[float, float, dict]:
    """Wall time, peak resident memory (MB) and the last JSON line printed of a fresh Python running ``code``."""
    wall, peak, out = run_child(code)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"the analysis printed no result: {out[-2000:]}")
    return wall, peak, json.loads(lines[-1])


def analyse(path: Path, full: bool) -> dict:
    """The analysis of ``path`` in a fresh process: its result, times and peak memory."""
    wall, peak, result = child_json(ANALYZE_CODE.format(path=str(path), full=full))
    return {**result, "cli_s": wall, "peak_mb": peak}


def corrected_copy(path: Path, offset_ms: float, drift_ms_per_min: float) -> dict:
    """``lipalign fix``'s work on ``path`` (the correction measured), in a fresh process: its time and peak
    memory. The copy is deleted."""
    out = path.with_name(f"{path.stem}.fixed{path.suffix}")
    try:
        _, peak, result = child_json(FIX_CODE.format(path=str(path), out=str(out), offset_ms=offset_ms,
                                                     drift_ms_per_min=drift_ms_per_min))
    finally:
        out.unlink(missing_ok=True)
    return {**result, "fix_peak_mb": peak, "fix_memory_ok": peak < MEMORY_LIMIT_MB}


# --- the table ----------------------------------------------------------------------------------------------------


def judged(spec: LongFile, duration_s: float, decode: float, result: dict, baseline_ms: float | None) -> dict:
    """The row of one analysis, with the truth and whether each target is met (None: cannot be judged).

    Besides the targets, the offset at the end of the file that the reading implies (offset plus drift over
    the duration) is set against the truth's: the drift applied is within DRIFT_TOLERANCE_MS_PER_MIN of none,
    so on its own the drift target cannot tell a drift found from a drift missed, and the end offset can.
    """
    truth_ms = None if baseline_ms is None else baseline_ms + SHIFT_MS
    offset, drift = result["offset_ms"], result["drift_ms_per_min"] or 0.0
    minutes = duration_s / 60.0
    limit = spec.limit_s if spec.limit_s is not None else spec.decode_ratio * decode
    return {**result, "decode_s": decode, "ratio": result["analysis_s"] / decode,
            "share": result["coverage"].get("share"), "offset_truth_ms": truth_ms,
            "end_offset_ms": None if offset is None else offset + drift * minutes,
            "end_offset_truth_ms": None if truth_ms is None else truth_ms + DRIFT_MS_PER_MIN * minutes,
            "drift_truth_ms_per_min": DRIFT_MS_PER_MIN, "time_limit_s": limit,
            "time_ok": result["analysis_s"] <= limit, "memory_ok": result["peak_mb"] < MEMORY_LIMIT_MB,
            "offset_ok": None if truth_ms is None or offset is None else abs(offset - truth_ms) <= 1000 / 25,
            "drift_ok": abs(drift - DRIFT_MS_PER_MIN) <= DRIFT_TOLERANCE_MS_PER_MIN}


def fmt(value: float | None, spec: str = "+.1f") -> str:
    return "-" if value is None else format(value, spec)


def mark(ok: bool | None) -> str:
    return "n/a" if ok is None else "yes" if ok else "**NO**"


def print_table(rows: list[dict]) -> None:
    print("\n| file | full= / read | duration | analysis s | CLI s | decode s | analysis / decode "
          "| share used | peak MB | offset ms / truth | drift ms/min / truth | end offset ms / truth "
          "| confidence, verdict | time | memory | offset | drift |")
    print("|" + "---|" * 17)
    for r in rows:
        print(f"| {r['file']} | {r['full']} / {r['coverage'].get('mode', '?')} | {r['duration_s'] / 60:.1f} min "
              f"| {r['analysis_s']:.1f} | {r['cli_s']:.1f} | {r['decode_s']:.1f} | {r['ratio']:.2f} "
              f"| {fmt(r['share'], '.1%')} | {r['peak_mb']:.0f} "
              f"| {fmt(r['offset_ms'])} / {fmt(r['offset_truth_ms'])} "
              f"| {fmt(r['drift_ms_per_min'])} / {r['drift_truth_ms_per_min']:+.1f} "
              f"| {fmt(r['end_offset_ms'])} / {fmt(r['end_offset_truth_ms'])} "
              f"| {r['confidence']:.2f} {r['verdict']} "
              f"| {mark(r['time_ok'])} (<= {r['time_limit_s']:.1f} s) | {mark(r['memory_ok'])} "
              f"| {mark(r['offset_ok'])} | {mark(r['drift_ok'])} |")


def print_fix_table(rows: list[dict]) -> None:
    print("\n| file | fix s | decode s | fix / decode | fix peak MB | memory |")
    print("|" + "---|" * 6)
    for r in rows:
        if "fix_s" in r:
            print(f"| {r['file']} | {r['fix_s']:.1f} | {r['decode_s']:.1f} | {r['fix_s'] / r['decode_s']:.2f} "
                  f"| {r['fix_peak_mb']:.0f} | {mark(r['fix_memory_ok'])} |")


def print_memory_against_length(rows: list[dict]) -> None:
    """Peak memory of the 1080p files by length, for each way they were read: flat in length is what the
    issue asks for. Files read differently (the 20 s clip is read whole, by more processes) are not compared."""
    ways = sorted({(r["full"], r["coverage"].get("mode", "?")) for r in rows})
    for full, mode in ways:
        same = sorted((r for r in rows if (r["full"], r["coverage"].get("mode", "?")) == (full, mode)
                       and not r["file"].startswith("4k")), key=lambda r: r["duration_s"])
        if len(same) < 2:
            continue
        first, last = same[0], same[-1]
        grows = (last["peak_mb"] - first["peak_mb"]) / (last["duration_s"] - first["duration_s"]) * 3600.0
        print(f"Peak memory against length (full={full}, read {mode}): "
              + ", ".join(f"{r['file']} {r['peak_mb']:.0f} MB" for r in same)
              + f"; {last['file']} against {first['file']}: {last['peak_mb'] - first['peak_mb']:+.0f} MB "
              f"({grows:+.0f} MB per hour of file)")


def selected(only: str | None) -> list[LongFile]:
    if not only:
        return list(FILES)
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = sorted(set(names) - {f.name for f in FILES})
    if unknown:
        raise SystemExit(f"--only: unknown {', '.join(unknown)} (choose from {', '.join(f.name for f in FILES)})")
    return [f for f in FILES if f.name in names]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="where the long files are made")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(f.name for f in FILES)}")
    parser.add_argument("--full", action="store_true",
                        help="also analyse every frame (full=True) for comparison; slow on 60min")
    parser.add_argument("--media-only", action="store_true", help="make the files and time decoding, no analysis")
    parser.add_argument("--check-media", action="store_true", help="check each made file (duration, codec, delay)")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    source = args.corpus / SOURCE
    specs = selected(args.only)
    figures: dict = {"source": str(source), "shift_ms": SHIFT_MS, "drift_ms_per_min": DRIFT_MS_PER_MIN,
                     "files": {}, "rows": []}
    baseline_ms = None
    if not args.media_only:
        base = analyse(source, full=True)
        baseline_ms = base["offset_ms"]
        figures["baseline"] = base
        print(f"Baseline, the clip's own offset (full analysis of {SOURCE.name}): {fmt(baseline_ms)} ms, "
              f"drift {fmt(base['drift_ms_per_min'])} ms/min, confidence {base['confidence']:.2f}, "
              f"{base['verdict']}; truth of every file: offset {fmt(baseline_ms)} + {SHIFT_MS:.0f} ms, "
              f"drift {DRIFT_MS_PER_MIN:+.1f} ms/min")
    print(f"\n## Files ({args.workdir})")
    made: dict[str, tuple[LongFile, Path, dict, float]] = {}
    for spec in specs:
        path, sidecar = make_file(source, spec, args.workdir)
        decode = decode_s(path)
        made[spec.name] = (spec, path, sidecar, decode)
        info = {"path": str(path), "bytes": path.stat().st_size, "duration_s": sidecar["duration_s"],
                "making_s": sidecar["making_s"], "reused": sidecar["reused"], "decode_s": decode}
        print(f"- {spec.name}: {path.name}, {sidecar['duration_s'] / 60:.2f} min, {info['bytes'] / 2**20:.0f} MB, "
              f"{'reused (made' if sidecar['reused'] else 'made'} in {sidecar['making_s']:.1f} s"
              f"{')' if sidecar['reused'] else ''}; ffmpeg decode {decode:.1f} s")
        if args.check_media:
            info["check"] = check_media(source, path, sidecar)
            print_check(spec.name, info["check"])
        figures["files"][spec.name] = info
    if not args.media_only:
        for full in (False, True) if args.full else (False,):
            for spec, path, sidecar, decode in made.values():
                row = judged(spec, sidecar["duration_s"], decode, analyse(path, full), baseline_ms)
                if not full:
                    row |= corrected_copy(path, row["offset_ms"] or 0.0, row["drift_ms_per_min"] or 0.0)
                figures["rows"].append({"file": spec.name, "duration_s": sidecar["duration_s"], "full": full, **row})
                print(f"{spec.name} full={full}: {row['analysis_s']:.1f} s", file=sys.stderr, flush=True)
        print_table(figures["rows"])
        print_memory_against_length(figures["rows"])
        print("\n## fix: a corrected copy of each file (its measured offset and drift), in a fresh process")
        print_fix_table(figures["rows"])
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    sys.exit(main())
