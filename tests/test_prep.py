"""``prep-audio`` meets its own targets, measured on its output, for every real corpus clip."""

from __future__ import annotations

import json
import tracemalloc

import av
import noisereduce
import numpy as np
import pytest
from conftest import corpus_manifest
from media_factory import with_noise, write_clip
from remux import with_audio

from core import levels
from core.cli import main
from core.decode import AudioTrack, decode_audio, decode_audio_channels, spool_audio
from core.errors import MediaError
from core.prep import (
    GATE_BLOCK,
    GATE_FFT,
    GATE_PADDING,
    edge_silence_cuts,
    edge_silence_s,
    noise_profile,
    peak_gain_db,
    prep_audio_file,
    reduce_noise,
)
from core.probe import probe

REAL_CLIPS = [entry["file"] for entry in corpus_manifest() if entry["category"] == "real"]


@pytest.mark.parametrize("clip", REAL_CLIPS)
def test_output_meets_targets(corpus, tmp_path, clip):
    out = tmp_path / "clean.wav"
    result = prep_audio_file(corpus / clip, out)
    info = probe(out)
    assert (info.audio_codec, info.sample_rate, info.channels, info.bit_depth) == ("pcm_s16le", 22050, 1, 16)
    assert not info.has_video
    audio = decode_audio(out, None)
    assert audio.peak_dbfs == pytest.approx(-3.0, abs=0.1)
    lead, tail = edge_silence_s(audio)
    assert lead <= 0.2 + 1e-9 and tail <= 0.2 + 1e-9
    assert result.peak_dbfs == pytest.approx(audio.peak_dbfs, abs=1e-3)
    assert result.duration_out_s == pytest.approx(audio.duration_s, abs=1e-6)
    # Denoising lowers the floor relative to the speech (or leaves an already clean one where it was).
    assert result.noise_reduction_db > -1.0


def test_rate_and_peak_options_and_json(corpus, tmp_path, capsys):
    out = tmp_path / "clean.wav"
    code = main(["prep-audio", str(corpus / "real" / "lipnet__lwbsza.mpg"), "-o", str(out), "--rate", "16000",
                 "--peak-dbfs", "-1", "--json", "-"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["schema"] == "lipalign.prep-audio/1" and report["rate"] == 16000
    assert report["trimmed_start_ms"] > 0 and report["trimmed_end_ms"] > 0  # GRID clips have long silent edges
    audio = decode_audio(out, None)
    assert audio.rate == 16000 and audio.peak_dbfs == pytest.approx(-1.0, abs=0.1)


def speech_above_floor_db(path) -> float:
    """How far loud speech stands above the noise floor in ``path``, dB, by the diagnostics' own measures."""
    audio = decode_audio(path, None)
    frame_levels = levels.frame_levels_dbfs(audio.samples, audio.rate)
    return levels.speech_level_dbfs(frame_levels) - levels.noise_floor_dbfs(frame_levels)


def test_noise_reduction_lowers_added_noise(corpus, tmp_path):
    # A clean lab recording with white noise at -40 dBFS: the noise profile comes from its pauses.
    clean = decode_audio(corpus / "real" / "lipnet__lwbsza.mpg", 22050)
    noisy = write_clip(tmp_path / "noisy.m4a", None, audio=with_noise(clean.samples, -40.0), rate=22050)
    result = prep_audio_file(noisy, tmp_path / "denoised.wav")
    assert result.noise_floor_before_dbfs == pytest.approx(-40.0, abs=1.5)
    assert result.noise_reduction_db > 10.0
    assert speech_above_floor_db(tmp_path / "denoised.wav") > speech_above_floor_db(noisy) + 10.0
    untouched = prep_audio_file(noisy, tmp_path / "plain.wav", denoise=False)
    assert abs(untouched.noise_reduction_db) < 3.0
    assert abs(speech_above_floor_db(tmp_path / "plain.wav") - speech_above_floor_db(noisy)) < 3.0


def test_tags_are_kept(corpus, tmp_path):
    source = corpus / "real" / "lipnet__lwbsza.mpg"
    audio = decode_audio_channels(source)
    tagged = with_audio(source, tmp_path / "tagged.mkv", audio.samples, audio.rate,
                        tags={"title": "take 3", "artist": "presenter"})
    prep_audio_file(tagged, tmp_path / "clean.wav")
    with av.open(str(tmp_path / "clean.wav")) as c:
        assert (c.metadata.get("title"), c.metadata.get("artist")) == ("take 3", "presenter")


def held(samples: np.ndarray, rate: int) -> AudioTrack:
    """Mono samples as a held track from time 0."""
    return AudioTrack(samples, rate, 0.0, rate, 1, levels.peak_dbfs(samples))


def test_trim_keeps_at_most_the_limit():
    rate = 16000
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate).astype(np.float32)
    quiet = np.random.default_rng(0).standard_normal(rate).astype(np.float32) * 1e-4
    x = np.concatenate([quiet, tone, quiet[: rate // 2]])
    cut_start, cut_end = edge_silence_cuts(held(x, rate), 0.2)
    assert cut_start == pytest.approx(0.8 * rate, abs=0.05 * rate)
    assert cut_end == pytest.approx(0.3 * rate, abs=0.05 * rate)
    assert max(edge_silence_s(held(x[cut_start:x.size - cut_end], rate))) <= 0.2
    assert edge_silence_s(held(x, rate), cut_start, x.size - cut_end) == edge_silence_s(
        held(x[cut_start:x.size - cut_end], rate))


def test_edge_silence_read_a_block_at_a_time_is_measured_on_the_whole(tmp_path):
    rate = 22050
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(rate * 40) * 1e-3).astype(np.float32)  # 40 s: blocks of 2**16 samples either way
    x[rate * 7 + 123:rate * 31 + 4567] *= 300.0
    clip = write_clip(tmp_path / "edges.wav", None, audio=x, rate=rate, audio_codec="pcm_s16le")
    whole = decode_audio(clip, rate).samples
    expected = (levels.leading_silence_s(levels.frame_levels_dbfs(whole, rate)),
                levels.leading_silence_s(levels.frame_levels_dbfs(whole[::-1], rate)))
    assert expected == pytest.approx((7.0, 8.8), abs=0.06)
    with spool_audio(clip, rate) as spooled:
        assert edge_silence_s(spooled) == expected


def test_noise_profile_is_the_quietest_part():
    rate = 16000
    loud = np.random.default_rng(1).standard_normal(4 * rate).astype(np.float32) * 0.3
    loud[rate:rate + rate // 2] *= 0.001
    profile = noise_profile(held(loud, rate))
    assert levels.peak_dbfs(profile) < levels.peak_dbfs(loud) - 40
    # Of a long recording's quietest frames, the first in time up to the limit (a tenth of 4 s is 0.4 s here).
    np.testing.assert_array_equal(noise_profile(held(loud, rate), max_samples=3000), profile[:3000])


def test_peak_gain():
    assert peak_gain_db(0.5, -6.0) == pytest.approx(-6.0 - 20 * np.log10(0.5))
    assert peak_gain_db(0.0, -6.0) == 0.0  # silence stays silence


def noisy_speech(rate: int, seconds: float, seed: int = 0) -> np.ndarray:
    """Noise bursts like syllables with pauses, over a steady hiss at -50 dBFS."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(rate * seconds)) / rate
    level = 0.2 * (0.6 + 0.4 * np.cos(2 * np.pi * t / 5.1)) * ((t * 3.0) % 1.0 < 0.6)
    return (rng.standard_normal(t.size) * (level + 10 ** (-50 / 20))).astype(np.float32)


def test_a_recording_of_one_block_is_cleaned_as_a_whole():
    rate = 22050
    audio = held(noisy_speech(rate, 20.0), rate)  # 441000 samples: one block
    profile = noise_profile(audio)
    blocks = list(reduce_noise(audio, profile))
    whole = noisereduce.reduce_noise(y=audio.samples, sr=rate, y_noise=profile, stationary=True, n_jobs=1)
    assert len(blocks) == 1
    np.testing.assert_array_equal(blocks[0], whole)


def test_block_seams_are_where_one_gate_over_the_whole_would_be():
    rate = 22050
    audio = held(noisy_speech(rate, 70.0, seed=2), rate)  # three blocks, two seams
    profile = noise_profile(audio)
    cleaned = np.concatenate(list(reduce_noise(audio, profile)))
    # One gate over the whole recording, with the same silence before it: its STFT frames on the blocks' grid.
    whole = noisereduce.reduce_noise(y=np.pad(audio.samples, GATE_PADDING), sr=rate, y_noise=profile,
                                     stationary=True, n_fft=GATE_FFT, chunk_size=None, padding=0,
                                     n_jobs=1)[GATE_PADDING:-GATE_PADDING]
    assert cleaned.shape == whole.shape and audio.size > 2 * GATE_BLOCK
    error = np.abs(cleaned - whole)
    # Everywhere, the seams included: no step, no click. Blocks not whole hops (600000 samples) were 0.04 off, blocks
    # gated without the recording either side 0.08 off.
    assert error.max() < 1e-6, error.max()


def test_memory_does_not_grow_with_the_recording(tmp_path):
    rate = 22050
    sound = noisy_speech(rate, 360.0, seed=3)
    peaks, results = {}, {}
    for seconds in (120, 360):  # 4 and 13 blocks
        clip = write_clip(tmp_path / f"in{seconds}.wav", None, audio=sound[:seconds * rate], rate=rate,
                          audio_codec="pcm_s16le")
        tracemalloc.start()
        try:
            results[seconds] = prep_audio_file(clip, tmp_path / f"out{seconds}.wav")
            _, peaks[seconds] = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert results[360].duration_out_s > 359.0 and results[360].noise_reduction_db > 10.0
    # Held whole, the 4 minutes more (21 MB of samples) took 47 MB more at the peak (166 against 213 MB); a block at
    # a time, 3 MB (the noise profile, which grows to its limit).
    assert peaks[360] - peaks[120] < 10e6, peaks


@pytest.mark.parametrize("args", [["--rate", "100"], ["--peak-dbfs", "3"], ["-o", "x.mp3"]])
def test_bad_options_exit_2(corpus, tmp_path, args, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = ["-o", "clean.wav"] if "-o" not in args else []
    assert main(["prep-audio", str(corpus / "real" / "lipnet__lwbsza.mpg"), *out, *args]) == 2
    assert capsys.readouterr().err.startswith("lipalign: ")
    assert not list(tmp_path.iterdir())


def test_no_audio_is_a_media_error(tmp_path):
    silent_video = write_clip(tmp_path / "v.mp4", [np.zeros((64, 64, 3), np.uint8)] * 5)
    with pytest.raises(MediaError):
        prep_audio_file(silent_video, tmp_path / "out.wav")
