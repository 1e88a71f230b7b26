"""Features on the shared 10 ms grid."""

from __future__ import annotations

import librosa
import numpy as np

from core.features import GRID_RATE, LOG_FLOOR, N_MELS, log_mel_energies, mel_filters, speech_activity


def test_log_mel_in_chunks_equals_one_pass():
    samples = np.random.default_rng(0).standard_normal(16000 * 7).astype(np.float32) * 0.1
    chunked = log_mel_energies(samples, 16000, chunk_frames=250)
    mel = librosa.feature.melspectrogram(y=samples, sr=16000, n_fft=512, hop_length=160, win_length=512,
                                         n_mels=N_MELS, fmin=80.0, fmax=7600.0, center=True, pad_mode="constant")
    assert np.allclose(chunked, np.log10(mel.T + LOG_FLOOR * mel.mean() + 1e-12), rtol=0, atol=1e-5)


def test_mel_energies_are_librosas_to_the_bit():
    # The estimator's fitted model and its benchmark were made with librosa's melspectrogram; LipAlign computes
    # the same operations without importing librosa.feature (two seconds of every analysis), and must not move
    # a single value.
    rng = np.random.default_rng(4)
    for rate in (16000, 48000):
        samples = (rng.standard_normal(rate * 3) * 0.1).astype(np.float32)
        hop, fmax = rate // GRID_RATE, min(7600.0, rate / 2)
        assert np.array_equal(mel_filters(rate, 512, N_MELS, 80.0, fmax),
                              librosa.filters.mel(sr=rate, n_fft=512, n_mels=N_MELS, fmin=80.0, fmax=fmax))
        mel = librosa.feature.melspectrogram(y=np.pad(samples, 256), sr=rate, n_fft=512, hop_length=hop,
                                             win_length=min(512, 4 * hop), n_mels=N_MELS, fmin=80.0, fmax=fmax,
                                             center=False)
        assert np.array_equal(log_mel_energies(samples, rate), np.log10(mel.T + LOG_FLOOR * mel.mean() + 1e-12))


def test_digital_silence_reads_as_quiet_not_as_an_extreme():
    # Audio padded with exact zeros, as shifted or exported files are: the padding must sit near
    # the floor below the clip's level, not 100 dB under it, or it outweighs the speech.
    rng = np.random.default_rng(2)
    speech = (rng.standard_normal(16000 * 3) * 0.1).astype(np.float32)
    log_mel = log_mel_energies(np.concatenate([np.zeros(8000, np.float32), speech]), 16000)
    level = np.median(log_mel[60:])
    assert log_mel[:40].min() >= level + np.log10(LOG_FLOOR) - 0.5
    assert log_mel[:40].max() < level - 2.0  # and still far quieter than the speech


def test_speech_weight_spans_pauses_but_not_long_silence():
    rate = 16000
    t = np.arange(rate) / rate
    voiced = (0.3 * np.sin(2 * np.pi * 150 * t) * (1 + np.sin(2 * np.pi * 4 * t))).astype(np.float32)
    quiet = np.zeros(rate // 2, np.float32)
    long_quiet = np.zeros(4 * rate, np.float32)
    noise = np.random.default_rng(1).standard_normal(rate).astype(np.float32) * 1e-4
    audio = np.concatenate([voiced, quiet, voiced, long_quiet, voiced]) + np.resize(noise, 1)
    weight = speech_activity(audio, rate, audio.size // (rate // GRID_RATE))
    step = GRID_RATE  # steps per second
    assert weight[int(1.25 * step)] == 1.0  # a half-second pause inside speech keeps its weight
    assert weight[int(4.5 * step)] == 0.0  # the middle of four silent seconds carries none
