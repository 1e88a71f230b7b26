"""``compare``: known shifts between two encodes are recovered to within one audio sample, and frame lags exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soxr
from media_factory import load_source, write_clip
from remux import delayed, with_audio

from core.cli import main
from core.compare import compare_files, gcc_phat, video_frame_offset
from core.decode import decode_audio_channels


def test_gcc_phat_finds_a_fractional_lag():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(20000)
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(x.size)
    shifted = np.fft.irfft(spectrum * np.exp(-2j * np.pi * freqs * 37.3), x.size)  # 37.3 samples later
    lag, strength = gcc_phat(x[1000:-1000], shifted[1000:-1000], 200)
    assert lag == pytest.approx(37.3, abs=0.1) and strength > 0.3


@pytest.mark.parametrize("shift", [1234, -777])
def test_known_shift_between_two_aac_encodes(corpus, tmp_path, shift):
    source = corpus / "real" / "aniportrait__pose_ref_video.mp4"
    audio = decode_audio_channels(source)
    reference = with_audio(source, tmp_path / "reference.mp4", audio.samples, audio.rate, audio_codec="aac")
    delivered = with_audio(source, tmp_path / "delivered.mp4", delayed(audio.samples, shift), audio.rate,
                           audio_codec="aac")
    result = compare_files(reference, delivered)
    assert abs(result.audio_offset_samples - shift) < 1.0, result.audio_offset_samples
    assert result.audio_offset_ms == pytest.approx(shift / 48.0, abs=1 / 48.0)
    assert abs(result.drift_ms_per_min) < 1.0
    assert result.video_offset_frames == 0 and result.video_match == 0.0


def test_video_frame_offset_of_a_re_encode(corpus, tmp_path):
    clip = load_source(corpus / "real" / "lipnet__bbaf2n.mpg", 3.0, max_side=360)
    reference = write_clip(tmp_path / "reference.mp4", clip.frames, fps=25, audio=clip.audio, rate=clip.rate)
    # The delivery holds the first picture for 3 extra frames: its pictures run 3 frames (120 ms) late.
    late_frames = [clip.frames[0]] * 3 + clip.frames[:-3]
    delivered = write_clip(tmp_path / "delivered.mp4", late_frames, fps=25, audio=clip.audio, rate=clip.rate)
    result = compare_files(reference, delivered)
    assert result.video_offset_frames == 3
    assert result.video_offset_ms == pytest.approx(120.0, abs=1.0)
    assert abs(result.audio_offset_samples) < 1.0


def test_video_frame_offset_picks_the_matching_lag():
    rng = np.random.default_rng(2)
    thumbs = rng.uniform(0, 255, (50, 8, 8)).astype(np.float32)
    assert video_frame_offset(thumbs[5:], thumbs, 10) == (5, 0.0)
    assert video_frame_offset(thumbs, thumbs[2:], 10) == (-2, 0.0)


def test_drift_between_two_renders(corpus, tmp_path):
    source = corpus / "real" / "latentsync__demo2_video.mp4"  # 20 s
    audio = decode_audio_channels(source)
    # Delivered plays 60 ms/min slower: it starts 10 ms late and falls further behind.
    slower = soxr.resample(np.ascontiguousarray(audio.samples.T), audio.rate, audio.rate * 1.001, quality="VHQ").T
    late = delayed(np.ascontiguousarray(slower, dtype=np.float32), round(0.010 * audio.rate))
    reference = with_audio(source, tmp_path / "reference.mkv", audio.samples, audio.rate)
    delivered = with_audio(source, tmp_path / "delivered.mkv", late, audio.rate)
    result = compare_files(reference, delivered)
    assert result.drift_ms_per_min == pytest.approx(60.0, abs=2.0)
    assert result.offset_at_start_ms == pytest.approx(10.0, abs=1.0)


def test_cli_json_and_bad_input(corpus, tmp_path, capsys):
    source = corpus / "real" / "lipnet__bbaf2n.mpg"
    assert main(["compare", str(source), str(source), "--json", "-"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["schema"] == "lipalign.compare/1" and result["audio_offset_samples"] == pytest.approx(0, abs=0.01)
    assert main(["compare", str(source), str(tmp_path / "missing.mp4")]) == 2
    assert capsys.readouterr().err.startswith("lipalign: ")
    assert main(["compare", str(source), str(source), "--json", str(source)]) == 2
