"""``compare``: known shifts between two encodes are recovered to within one audio sample, and frame lags exactly."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
import soxr
from media_factory import load_source, write_clip
from remux import delayed, with_audio

from core.cli import main
from core.compare import (
    audio_drift,
    audio_offset,
    compare_files,
    gcc_phat,
    sounding_start_s,
    video_frame_offset,
)
from core.decode import decode_audio, decode_audio_channels


def test_gcc_phat_finds_a_fractional_lag():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(20000)
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(x.size)
    shifted = np.fft.irfft(spectrum * np.exp(-2j * np.pi * freqs * 37.3), x.size)  # 37.3 samples later
    lag, strength = gcc_phat(x[1000:-1000], shifted[1000:-1000], 200)
    assert lag == pytest.approx(37.3, abs=0.1) and strength > 0.3


def test_gcc_phat_drops_each_transform_once_used():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(48000 * 12).astype(np.float32)
    # Delivered 300 samples late, cut out 4000 samples wider either way: expected 4000 samples late.
    reference, delivered = x[48000:48000 * 11], x[48000 - 4300:48000 * 11 + 3700]
    tracemalloc.start()
    try:
        lag, strength = gcc_phat(reference, delivered, 2000, centre=4000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lag == pytest.approx(4300, abs=0.01) and strength > 0.9
    # Bytes a sample of the two signals: 56 when the correlation and the weighted spectrum were copies.
    assert peak / (reference.size + delivered.size) < 40


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
    # A clip shorter than the offset's excerpt is measured whole, figure for figure as the whole tracks give it.
    ref_audio, dlv_audio = decode_audio(reference, 48000), decode_audio(delivered, 48000)
    offset, strength = audio_offset(ref_audio, dlv_audio)
    assert (result.audio_offset_samples, result.audio_strength) == (offset, strength)
    assert result.windows == audio_drift(ref_audio, dlv_audio, offset)[2]


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


PICTURES = np.random.default_rng(5).uniform(0, 255, (500, 32, 32)).astype(np.float32)


def thumbnail(index: int) -> np.ndarray:
    """A random 32 x 32 picture for each index, repeating every 500 (far beyond the lags searched); blank before 0."""
    return PICTURES[index % len(PICTURES)] if index >= 0 else np.zeros((32, 32), np.float32)


def test_video_frame_offset_holds_only_the_frames_a_lag_can_pair():
    count, late = 20000, 4  # 13 minutes at 25 fps: 80 MB of thumbnails for each clip, were they held
    reference = (thumbnail(i) for i in range(count))
    delivered = (thumbnail(i - late) for i in range(count))
    tracemalloc.start()
    try:
        found = video_frame_offset(reference, delivered, 10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found == (late, 0.0)
    assert peak < 1e6  # the 21 delivered frames a reference frame can pair with, and the sums


def test_video_frame_offset_of_clips_of_different_lengths_as_arrays_or_streams():
    thumbs = np.stack([thumbnail(i) for i in range(300)])
    for reference, delivered in [(thumbs[:250], thumbs[7:]), (thumbs[3:], thumbs[:120])]:
        expected = video_frame_offset(reference, delivered, 12)
        assert expected[1] == 0.0
        assert video_frame_offset(iter(reference), iter(delivered), 12) == expected
    assert video_frame_offset(thumbs[:250], thumbs[7:], 12)[0] == -7
    assert video_frame_offset(thumbs[3:], thumbs[:120], 12)[0] == 3
    assert video_frame_offset(iter(()), iter(thumbs), 5) == (0, np.inf)  # nothing to pair


def syllables(rate: int, seconds: float, seed: int = 0) -> np.ndarray:
    """Noise bursts of a fifth of a second, four a second, at varying levels: broadband, so a phase correlation
    peaks sharply, with pauses, so the levels see sound and silence."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(rate * seconds)) / rate
    level = 0.2 * (0.5 + 0.5 * np.cos(2 * np.pi * t / 7.3)) * ((t * 4.0) % 1.0 < 0.8)
    return (rng.standard_normal(t.size) * level).astype(np.float32)


def test_long_renders_are_compared_in_memory_that_does_not_grow_with_their_length(tmp_path):
    rate, shift = 48000, 1234
    sound = syllables(rate, 300.0)
    peaks = {}
    for seconds in (90, 300):  # both longer than the offset's excerpt (60 s at 48 kHz)
        part = sound[:seconds * rate]
        reference = write_clip(tmp_path / f"ref{seconds}.wav", None, audio=part, rate=rate, audio_codec="pcm_s16le")
        delivered = write_clip(tmp_path / f"dlv{seconds}.wav", None, audio=delayed(part[None], shift)[0], rate=rate,
                               audio_codec="pcm_s16le")
        tracemalloc.start()
        try:
            result = compare_files(reference, delivered)
            _, peaks[seconds] = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert abs(result.audio_offset_samples - shift) < 1.0, result.audio_offset_samples
        assert abs(result.drift_ms_per_min) < 0.1 and len(result.windows) == 9
    # Held whole and correlated whole, 5 minutes took 3.3 times the memory of 90 s (1.7 GB against 520 MB); through
    # an excerpt both take the same (217 MB).
    assert peaks[300] < 1.1 * peaks[90], peaks


def test_drift_over_minutes_is_found_around_the_offset_of_the_middle(tmp_path):
    # 60 ms/min over 5 minutes: the audio ends 300 ms later than it starts, beyond the drift windows' reach
    # (250 ms) of an offset measured at either end; measured in the middle, every window finds its part.
    rate = 48000
    sound = syllables(rate, 300.0, seed=1)
    slower = soxr.resample(sound, rate, rate * 1.001, quality="VHQ")[:sound.size]
    reference = write_clip(tmp_path / "ref.wav", None, audio=sound, rate=rate, audio_codec="pcm_s16le")
    delivered = write_clip(tmp_path / "dlv.wav", None, audio=delayed(slower[None], round(0.010 * rate))[0],
                           rate=rate, audio_codec="pcm_s16le")
    result = compare_files(reference, delivered)
    assert all(window["used"] for window in result.windows) and len(result.windows) == 9
    assert result.drift_ms_per_min == pytest.approx(60.0, abs=0.5)
    assert result.offset_at_start_ms == pytest.approx(10.0, abs=0.5)
    # Measured on the excerpt from 2:00 to 3:00, where the offset goes from 130 to 190 ms.
    assert 130.0 < result.audio_offset_ms < 190.0


def test_the_offset_excerpt_is_where_the_sound_is_nearest_the_middle():
    frames = 20 * 60 * 20  # 20 minutes of 50 ms level frames
    quiet = np.full(frames, -80.0)
    talk = quiet.copy()
    talk[300 * 20:420 * 20] = -20.0  # sound from 5:00 to 7:00 only
    # Excerpts at least half sound start from 4:30 to 6:30; the one nearest the middle (9:30) is at 6:30.
    assert sounding_start_s(talk, 60.0) == pytest.approx(390.0)
    assert sounding_start_s(np.full(frames, -20.0), 60.0) == pytest.approx(570.0)  # sound throughout: the middle
    assert sounding_start_s(quiet, 60.0) == pytest.approx(570.0)  # none anywhere: the middle too
    assert sounding_start_s(talk[:1000], 60.0) == 0.0  # shorter than the excerpt: all of it


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
