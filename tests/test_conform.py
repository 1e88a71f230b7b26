"""``conform-fps``: a constant frame rate when probed, and audio whose timing is untouched."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from media_factory import write_clip
from remux import display_rotation, rotated_clip

from core.cli import main
from core.compare import gcc_phat
from core.conform import conform_fps, grid_picks, nearest_standard_rate, parse_fps
from core.decode import decode_audio
from core.probe import probe


def test_parse_fps():
    assert parse_fps("29.97") == Fraction(30000, 1001)
    assert parse_fps("23.976") == Fraction(24000, 1001)
    assert parse_fps("30000/1001") == Fraction(30000, 1001)
    assert parse_fps("25") == 25
    for bad in ("abc", "0", "-5", "1/0", "1000"):
        with pytest.raises(ValueError):
            parse_fps(bad)


def test_nearest_standard_rate():
    assert nearest_standard_rate(22.09) == Fraction(24000, 1001)
    assert nearest_standard_rate(29.95) == Fraction(30000, 1001)
    assert nearest_standard_rate(49.6) == 50


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
