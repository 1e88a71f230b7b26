"""Audio level measures over mono samples: frame levels, noise floor, speech and silence runs, peak.

Shared by the pre-flight diagnostics and by ``prep-audio`` (which trims silence and reports the
noise floor before and after), so both judge "silence" and "noise" the same way.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LEVEL_FRAME_S", "LevelMeter", "frame_levels_dbfs", "leading_silence_s", "noise_floor_dbfs", "peak_dbfs",
           "silence_runs", "silence_threshold_dbfs", "speech_frames", "speech_level_dbfs", "to_dbfs"]

# Length of one level frame: long enough to average over a pitch period, short enough to see word gaps.
LEVEL_FRAME_S = 0.05
# Share of frames quieter than the noise floor (a low percentile ignores the odd digital-silence gap).
NOISE_FLOOR_PERCENTILE = 10.0
# Share of frames quieter than the speech level: loud but not the single loudest syllable.
SPEECH_LEVEL_PERCENTILE = 95.0
# Silence is anything this far below the speech level ...
SILENCE_BELOW_SPEECH_DB = 30.0
# ... or within this margin of the noise floor, whichever is higher ...
SILENCE_ABOVE_FLOOR_DB = 6.0
# ... but never closer than this to the speech level, so a noisy recording still has pauses.
SILENCE_MIN_GAP_DB = 10.0
# Without level contrast (steady noise, tone, or nothing) a frame is silence only when it is below this (dBFS).
ABSOLUTE_SILENCE_DBFS = -60.0
# Level reported for an all-zero frame (log of zero); well below any real recording's floor.
DIGITAL_SILENCE_DBFS = -120.0


def _check_rate(rate: int) -> None:
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, got {rate}")


def to_dbfs(amplitude: float | np.ndarray) -> float | np.ndarray:
    """Amplitude relative to full scale (1.0) in dB, floored at :data:`DIGITAL_SILENCE_DBFS`."""
    value = 20.0 * np.log10(np.maximum(np.abs(amplitude), 10 ** (DIGITAL_SILENCE_DBFS / 20.0)))
    return float(value) if np.ndim(value) == 0 else value


def frame_levels_dbfs(samples: np.ndarray, rate: int, frame_s: float = LEVEL_FRAME_S) -> np.ndarray:
    """RMS level of consecutive non-overlapping frames.

    Parameters
    ----------
    samples : (n,) float array
        Mono audio, full scale 1.0.
    rate : int
        Sample rate in Hz.
    frame_s : float
        Frame length in seconds; a trailing partial frame is dropped unless it is the only one.

    Returns
    -------
    (m,) float64 array
        Level of frame ``i`` (covering ``[i * frame_s, (i + 1) * frame_s)`` s) in dBFS.
    """
    return LevelMeter(rate, frame_s).add(samples).levels_dbfs()


class LevelMeter:
    """Frame levels of audio that arrives block by block (as it is decoded), without holding the audio.

    ``LevelMeter(rate).add(a).add(b).levels_dbfs()`` equals ``frame_levels_dbfs(concatenate([a, b]), rate)``
    value for value, however the audio is cut into blocks.
    """

    def __init__(self, rate: int, frame_s: float = LEVEL_FRAME_S) -> None:
        _check_rate(rate)
        if frame_s <= 0:
            raise ValueError(f"frame length must be positive, got {frame_s}")
        self.frame_size = max(1, round(frame_s * rate))
        self._rest = np.zeros(0, np.float32)
        self._power: list[np.ndarray] = []

    def add(self, samples: np.ndarray) -> LevelMeter:
        """Take the next ``(n,)`` samples; returns the meter."""
        x = np.concatenate([self._rest, samples]) if self._rest.size else np.asarray(samples)
        size = self.frame_size
        count = x.size // size
        # A few thousand frames at a time: squares of a whole long clip in double precision would take
        # more memory than everything else the analysis holds.
        for first in range(0, count, 4096):
            block = x[first * size:min(first + 4096, count) * size].reshape(-1, size).astype(np.float64)
            self._power.append(np.mean(block * block, axis=1))
        self._rest = x[count * size:].copy()
        return self

    def levels_dbfs(self) -> np.ndarray:
        """``(m,)`` float64 levels in dBFS of the frames so far (see :func:`frame_levels_dbfs`)."""
        if self._power:
            return np.asarray(to_dbfs(np.sqrt(np.concatenate(self._power))))
        if self._rest.size:
            return np.array([to_dbfs(np.sqrt(np.mean(self._rest.astype(np.float64) ** 2)))])
        return np.zeros(0)


def noise_floor_dbfs(levels_dbfs: np.ndarray) -> float:
    """Noise floor of a recording: a low percentile of its frame levels (dBFS), robust to a few silent gaps."""
    if levels_dbfs.size == 0:
        return DIGITAL_SILENCE_DBFS
    return float(np.percentile(levels_dbfs, NOISE_FLOOR_PERCENTILE))


def speech_level_dbfs(levels_dbfs: np.ndarray) -> float:
    """Typical loud-speech level (dBFS): a high percentile of the frame levels."""
    if levels_dbfs.size == 0:
        return DIGITAL_SILENCE_DBFS
    return float(np.percentile(levels_dbfs, SPEECH_LEVEL_PERCENTILE))


def silence_threshold_dbfs(levels_dbfs: np.ndarray) -> float:
    """Level below which a frame counts as silence, adapted to the recording's floor and speech level."""
    floor, speech = noise_floor_dbfs(levels_dbfs), speech_level_dbfs(levels_dbfs)
    threshold = max(speech - SILENCE_BELOW_SPEECH_DB, floor + SILENCE_ABOVE_FLOOR_DB)
    return min(threshold, speech - SILENCE_MIN_GAP_DB)


def speech_frames(levels_dbfs: np.ndarray) -> np.ndarray:
    """Which level frames (:func:`frame_levels_dbfs`) hold sound above the silence threshold: ``(m,)`` bool.

    A recording with too little level contrast to tell speech from pauses (steady noise or tone, digital
    silence, or speech buried in noise) is judged by absolute level instead: sound above
    :data:`ABSOLUTE_SILENCE_DBFS`, silence below.
    """
    levels = np.asarray(levels_dbfs)
    if levels.size and speech_level_dbfs(levels) - noise_floor_dbfs(levels) < SILENCE_MIN_GAP_DB:
        return levels > ABSOLUTE_SILENCE_DBFS
    return levels > silence_threshold_dbfs(levels)


def silence_runs(levels_dbfs: np.ndarray, min_s: float = 0.0,
                 frame_s: float = LEVEL_FRAME_S) -> list[tuple[float, float]]:
    """Stretches of silence as ``(start_s, end_s)``, seconds from the first sample.

    Parameters
    ----------
    levels_dbfs : (m,) float array
        Frame levels (:func:`frame_levels_dbfs`).
    min_s : float
        Only runs at least this long, in seconds.
    frame_s : float
        The frames' length in seconds.

    Returns
    -------
    list of (float, float)
        Runs in time order; times have the resolution of ``frame_s``.
    """
    silent = ~speech_frames(levels_dbfs)
    edges = np.diff(np.concatenate(([0], silent.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    runs = [(s * frame_s, e * frame_s) for s, e in zip(starts, ends, strict=True)]
    return [(a, b) for a, b in runs if b - a >= min_s]


def leading_silence_s(levels_dbfs: np.ndarray, frame_s: float = LEVEL_FRAME_S) -> float:
    """Seconds from the first frame (:func:`frame_levels_dbfs`) to the first sound (all of them if there is none)."""
    hits = np.flatnonzero(speech_frames(levels_dbfs))
    return float((hits[0] if hits.size else np.size(levels_dbfs)) * frame_s)


def peak_dbfs(samples: np.ndarray) -> float:
    """Highest absolute sample in dBFS (:data:`DIGITAL_SILENCE_DBFS` for silence)."""
    return to_dbfs(float(np.max(np.abs(samples)))) if np.size(samples) else DIGITAL_SILENCE_DBFS
