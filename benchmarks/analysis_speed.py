"""Speed and memory of the whole analysis. Prints tables.

    .venv/bin/python benchmarks/analysis_speed.py [--corpus ../shared/corpus]

Speed: the full analysis of three corpus clips against decoding the same file with
``ffmpeg -i FILE -f null -``, side by side in this run, and the per-frame floor Face Mesh puts under it
(on the whole frame and on a crop around the face);
memory: peak resident memory of a 10-minute clip (made by looping) against a 71 s one.
(Accuracy is benchmarks/estimator.py.)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from core.decode import iter_video_frames  # noqa: E402
from core.probe import probe  # noqa: E402


def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except ImportError:
        return "ffmpeg"


def tree_rss_mb(root: int) -> float:
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


def run_child(code: str) -> tuple[float, float, str]:
    """Wall time, peak resident memory (MB) and standard output of a fresh Python running ``code``, with its
    workers.

    Memory is sampled from /proc every 50 ms as the sum over the process and its descendants.
    ``getrusage`` cannot be used: Linux carries a parent's peak across fork and exec, so a child
    of this (large) benchmark process would report the benchmark's memory as its own. The child writes to
    files, not pipes, so a talkative child cannot fill a pipe and stall while it is sampled.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=err, text=True, cwd=REPO)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, tree_rss_mb(proc.pid))
            time.sleep(0.05)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise RuntimeError(err.read()[-2000:])
        return wall, peak, out.read()


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
        wall, rss, _ = run_child(ANALYZE_CODE.format(path=str(path)))
        rows.append({"clip": path.name, "decode_s": decode, "analyze_s": wall, "ratio": wall / decode,
                     "peak_rss_mb": rss})
    return rows


def landmark_floor(path: Path, frames: int = 500) -> dict:
    """Per-frame cost of Face Mesh alone (frames decoded beforehand) against ffmpeg's decoding, on the frame
    as the analysis gives it and on a crop around the face, side by side.

    No analysis that finds landmarks on every frame can be faster than this, whatever else it does. The crop
    (the face's box on the first frame grown into a region, as for one of several faces: ``FaceRegion.around``)
    shows whether landmarks on a tracked face crop would be cheaper than on the whole frame.
    """
    from core.face import FaceMeshTracker, FaceRegion, face_box, quiet_native_stderr

    images = [f.image for _, f in zip(range(frames), iter_video_frames(path), strict=False)]
    with quiet_native_stderr(), FaceMeshTracker() as tracker:
        region = FaceRegion.around(face_box(tracker.main_face(images[0])))
    height, width = images[0].shape[:2]
    crops = [region.picture(image)[0] for image in images]

    def mesh_ms(pictures: list[np.ndarray]) -> float:
        with quiet_native_stderr(), FaceMeshTracker() as tracker:
            tracker.main_face(pictures[0])  # the first call builds the graph
            start = time.perf_counter()
            for picture in pictures:
                tracker.main_face(picture)
            return (time.perf_counter() - start) / len(pictures) * 1000.0

    # Alternated and the best of three each, so that neither gains from running second (a warm cache) or loses
    # to whatever else the machine did meanwhile.
    timings = [(mesh_ms(images), mesh_ms(crops)) for _ in range(3)]
    frame_ms, crop_ms = (min(t[k] for t in timings) for k in (0, 1))
    start = time.perf_counter()
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "null", "-"], check=True)
    decode_ms = (time.perf_counter() - start) / max(probe(path).frame_count, 1) * 1000.0
    return {"clip": path.name, "face_mesh_ms_per_frame": frame_ms, "ffmpeg_decode_ms_per_frame": decode_ms,
            "frame_size": [width, height], "crop_size": [crops[0].shape[1], crops[0].shape[0]],
            "face_mesh_crop_ms_per_frame": crop_ms}


def memory_rows(source: Path, workdir: Path) -> list[dict]:
    """Peak memory of a clip and of the same clip looped to about ten minutes."""
    duration = probe(source).duration_s
    loops = int(np.ceil(600.0 / duration))
    long_path = workdir / f"looped_{loops}x.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", str(loops - 1), "-i", str(source),
                    "-c", "copy", str(long_path)], check=True)
    rows = []
    for path in (source, long_path):
        wall, rss, _ = run_child(ANALYZE_CODE.format(path=str(path)))
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
    floor = landmark_floor(speed_clips[1])  # a portrait 1080x1920 frame: the face is a small part of it
    print(f"Floor: Face Mesh alone takes {floor['face_mesh_ms_per_frame']:.2f} ms a frame, ffmpeg decoding "
          f"{floor['ffmpeg_decode_ms_per_frame']:.2f} ms a frame ({floor['clip']}): landmarks on every frame cost "
          f"at least {floor['face_mesh_ms_per_frame'] / floor['ffmpeg_decode_ms_per_frame'] / 2:.1f}x decoding "
          "on two cores before anything else is done")
    print(f"Face Mesh on a crop around the face ({floor['crop_size'][0]}x{floor['crop_size'][1]} of "
          f"{floor['frame_size'][0]}x{floor['frame_size'][1]}): {floor['face_mesh_crop_ms_per_frame']:.2f} ms a frame, "
          f"{floor['face_mesh_crop_ms_per_frame'] / floor['face_mesh_ms_per_frame']:.2f}x the whole frame")
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
    args = parser.parse_args()
    speed_and_memory(args.corpus, {})
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    sys.exit(main())
