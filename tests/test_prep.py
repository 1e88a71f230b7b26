"""``prep-audio`` meets its own targets, measured on its output, for every real corpus clip."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
from conftest import corpus_manifest
from media_factory import with_noise, write_clip
from remux import with_audio

from core import levels
from core.cli import main
from core.decode import decode_audio, decode_audio_channels
from core.errors import MediaError
from core.prep import edge_silence_s, noise_profile, normalize_peak, prep_audio_file, trim_edge_silence
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
    lead, tail = edge_silence_s(audio.samples, audio.rate)
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


def test_trim_keeps_at_most_the_limit():
    rate = 16000
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate).astype(np.float32)
    quiet = np.random.default_rng(0).standard_normal(rate).astype(np.float32) * 1e-4
    x = np.concatenate([quiet, tone, quiet[: rate // 2]])
    trimmed, cut_start, cut_end = trim_edge_silence(x, rate, 0.2)
    assert cut_start == pytest.approx(0.8 * rate, abs=0.05 * rate)
    assert cut_end == pytest.approx(0.3 * rate, abs=0.05 * rate)
    assert max(edge_silence_s(trimmed, rate)) <= 0.2


def test_noise_profile_is_the_quietest_part():
    rate = 16000
    loud = np.random.default_rng(1).standard_normal(4 * rate).astype(np.float32) * 0.3
    loud[rate:rate + rate // 2] *= 0.001
    profile = noise_profile(loud, rate)
    assert levels.peak_dbfs(profile) < levels.peak_dbfs(loud) - 40


def test_normalize_peak_gain():
    y, gain = normalize_peak(np.array([0.1, -0.5], np.float32), -6.0)
    assert gain == pytest.approx(-6.0 - 20 * np.log10(0.5))
    assert np.max(np.abs(y)) == pytest.approx(10 ** (-6 / 20), rel=1e-6)


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
