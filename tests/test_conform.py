"""``conform-fps``: a constant frame rate when probed, and audio whose timing is untouched."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media_factory import write_clip
from remux import display_rotation, rotated_clip, with_audio
from test_correct import top_level_boxes

from core.cli import main
from core.compare import gcc_phat
from core.conform import conform_fps, grid_picks
from core.decode import decode_audio, decode_audio_channels
from core.fileio import temp_files_of
from core.probe import probe

REPO = Path(__file__).resolve().parent.parent


def test_grid_picks_nearest_frame_in_time():
    # Frames at 0, 40, 130, 140 ms (two missing): a 25 fps grid repeats and drops by presentation time.
    assert grid_picks(np.array([0.0, 0.04, 0.13, 0.14]), 25.0, 0.16).tolist() == [0, 1, 1, 2]
    # Slot 80 ms: frames at 40 and 120 ms are equally far; the earlier one is still on screen.
    assert grid_picks(np.array([0.0, 0.04, 0.12, 0.13]), 25.0, 0.16).tolist() == [0, 1, 1, 2]
    assert grid_picks(np.array([0.05, 0.1]), 10.0, 0.2).tolist() == [0, 1]  # before the first frame: the first


def test_vfr_clip_with_late_video_start(corpus, tmp_path):
    # Declared 30 fps, really ~22 fps with dropped frames, video starting 33 ms after the audio.
    source = corpus / "real" / "videoretalking__1.mp4"
    result = conform_fps(source, tmp_path / "cfr.mp4")
    assert result.fps_text == "24000/1001"
    info = probe(tmp_path / "cfr.mp4")
    assert not info.vfr and info.dropped_frames == 0 and info.duplicated_frames == 0
    assert info.fps_declared == pytest.approx(24000 / 1001) and info.fps_measured == pytest.approx(24000 / 1001)
    assert info.video_start_s == 0.0
    before, after = decode_audio(source, None), decode_audio(tmp_path / "cfr.mp4", None)
    assert after.start_s == before.start_s
    np.testing.assert_array_equal(after.samples, before.samples)  # the very same audio, at the same time
    assert result.output_frames == pytest.approx(6.17 * 24000 / 1001, abs=1.5)


def test_cli_with_fps_and_json(corpus, tmp_path, capsys):
    source = corpus / "real" / "lipnet__bbaf2n.mpg"
    out = tmp_path / "cfr.mkv"
    assert main(["conform-fps", str(source), "-o", str(out), "--fps", "30", "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verified"]["constant_rate"] and report["fps"] == 30.0
    assert report["repeated_frames"] == report["output_frames"] - 75
    info = probe(out)
    assert info.fps_measured == pytest.approx(30.0, rel=1e-3) and not info.vfr  # Matroska: millisecond times
    lag, _ = gcc_phat(decode_audio(source, None).samples, decode_audio(out, None).samples, 2000)
    assert abs(lag) < 0.01  # MP2 packets copied: same timing (decoders may differ in the last bit)


def test_generated_vfr_clip(tmp_path):
    # Frames with irregular gaps (a phone under load) become an even 25 fps grid.
    rng = np.random.default_rng(3)
    times = np.cumsum(rng.uniform(0.02, 0.07, 60))
    frames = [np.full((64, 64, 3), i * 4, np.uint8) for i in range(60)]
    clip = write_clip(tmp_path / "vfr.mp4", frames, list(times - times[0]), fps=30,
                      audio=np.zeros(48000 * 3, np.float32))
    assert probe(clip).vfr
    out = tmp_path / "cfr.mp4"
    assert main(["conform-fps", str(clip), "-o", str(out), "--fps", "25"]) == 0
    info = probe(out)
    assert not info.vfr and info.fps_measured == pytest.approx(25.0)


def numbered_clip(path, times_s, declared_fps, rate=48000):
    """Flat grey pictures whose level is 4 x the frame number, shown at ``times_s``, over a chirp (AAC)."""
    frames = [np.full((64, 64, 3), 4 * i, np.uint8) for i in range(len(times_s))]
    t = np.arange(round((times_s[-1] + 0.5) * rate)) / rate
    chirp = (0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t)).astype(np.float32)
    return write_clip(path, frames, list(times_s), fps=declared_fps, declared_fps=declared_fps, audio=chirp,
                      rate=rate)


def shown_numbers(path) -> tuple[np.ndarray, np.ndarray]:
    """(presentation times s, frame number each picture shows) of a :func:`numbered_clip` or its conformed copy."""
    times, numbers = [], []
    with av.open(str(path)) as c:
        for frame in c.decode(c.streams.video[0]):
            times.append(float(frame.pts * frame.time_base))
            numbers.append(round(float(frame.to_ndarray(format="gray").mean()) / 4))
    return np.array(times), np.array(numbers)


@pytest.mark.parametrize("kind", ["mislabelled", "vfr"])
def test_pictures_and_sound_keep_their_times(tmp_path, kind):
    # Mislabelled: 25 pictures a second stamped on a 30 fps grid (declared 30, as in videoretalking__1).
    # VFR: irregular gaps, as from a phone under load.
    if kind == "mislabelled":
        times = np.round(np.arange(50) / 25.0 * 30.0) / 30.0
    else:
        gaps = np.random.default_rng(4).uniform(0.02, 0.07, 49)
        times = np.concatenate([[0.0], np.cumsum(gaps)])
    clip = numbered_clip(tmp_path / f"{kind}.mp4", times, 30)
    info = probe(clip)
    assert info.vfr
    if kind == "mislabelled":
        assert info.fps_declared == 30.0 and info.fps_measured == pytest.approx(25.0, abs=0.2)
    out = tmp_path / "cfr.mp4"
    result = conform_fps(clip, out, None if kind == "mislabelled" else Fraction(25))
    after = probe(out)
    assert result.fps == 25.0 and after.fps_declared == after.fps_measured == pytest.approx(25.0) and not after.vfr
    # Every output picture is the source picture on screen nearest its time: none moved by a frame or more.
    source_times, source_numbers = shown_numbers(clip)
    out_times, out_numbers = shown_numbers(out)
    assert np.array_equal(source_numbers, np.arange(times.size))
    np.testing.assert_allclose(out_times, np.arange(out_times.size) / 25.0, atol=1e-6)
    assert out_times[-1] <= source_times[-1] + 0.04 < out_times[-1] + 2 / 25.0  # as long as the source, no longer
    distance = np.abs(source_times[None, :] - out_times[:, None])
    assert np.allclose(distance[np.arange(out_numbers.size), out_numbers], distance.min(axis=1), atol=1e-6)
    # And the sound is the very same samples at the very same times.
    before, later = decode_audio(clip, None), decode_audio(out, None)
    assert later.start_s == before.start_s
    np.testing.assert_array_equal(later.samples, before.samples)


def test_tags_faststart_and_killed_write(corpus, tmp_path):
    source = corpus / "real" / "dfrf__cnn2_25fps.mp4"  # 72 s: re-encoding it takes long enough to be killed
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    out = tmp_path / "cfr.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "conform-fps", str(source), "-o", str(out),
                             "--fps", "30"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not temp_files_of(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "conform-fps finished before it could be interrupted"
    time.sleep(0.5)  # midway into encoding
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == [p.name for p in temp_files_of(out)]
    # A complete run replaces the killed run's leftovers with a whole file, index first, that keeps the tags.
    short = corpus / "real" / "aniportrait__pose_ref_video.mp4"
    audio = decode_audio_channels(short)
    tagged = with_audio(short, tmp_path / "tagged.mkv", audio.samples, audio.rate, audio_codec="aac",
                        tags={"title": "take 3"})
    conform_fps(tagged, out, Fraction(30))
    assert temp_files_of(out) == [] and top_level_boxes(out).index("moov") < top_level_boxes(out).index("mdat")
    with av.open(str(out)) as c:
        assert c.metadata.get("title") == "take 3" and c.streams.audio[0].metadata.get("language") == "eng"


def test_pcm_audio_into_mp4_is_a_one_line_error(corpus, tmp_path, capsys):
    # PCM cannot be copied into MP4; the muxer says so only when it finishes the file. Nothing may be left.
    source = corpus / "real" / "aniportrait__pose_ref_video.mp4"
    audio = decode_audio_channels(source)
    pcm = with_audio(source, tmp_path / "pcm.mkv", audio.samples, audio.rate)
    out = tmp_path / "out" / "cfr.mp4"
    out.parent.mkdir()
    assert main(["conform-fps", str(pcm), "-o", str(out)]) == 2
    # On a slow machine the progress of the conform shows first (a line a quarter, stderr not a terminal).
    stderr = capsys.readouterr().err
    err = [line for line in stderr.splitlines() if line.startswith("lipalign: ")]
    assert len(err) == 1 and "cannot hold these streams" in err[0] and "choose .mkv or .mov" in err[0]
    assert "Traceback" not in stderr
    assert list(out.parent.iterdir()) == []
    assert main(["conform-fps", str(pcm), "-o", str(out.with_suffix(".mov"))]) == 0


@pytest.mark.parametrize("args", [["--fps", "fast"], ["-o", "same"], ["-o", "out.avi"]])
def test_bad_input_exit_2(corpus, tmp_path, args, capsys):
    source = corpus / "real" / "lipnet__bbaf2n.mpg"
    if args == ["-o", "same"]:
        args = ["-o", str(source)]
    elif "-o" not in args:
        args = ["-o", str(tmp_path / "o.mp4"), *args]
    else:
        args = ["-o", str(tmp_path / args[1])]
    assert main(["conform-fps", str(source), *args]) == 2
    assert capsys.readouterr().err.startswith("lipalign: ")
    assert not list(tmp_path.iterdir())


def test_rotation_is_kept(tmp_path):
    clip = rotated_clip(tmp_path / "phone.mp4", 90)
    conform_fps(clip, tmp_path / "cfr.mp4", Fraction(30))
    assert display_rotation(tmp_path / "cfr.mp4") == 90
