"""Media for timeline tests, made from corpus clips: excerpts, a recorder's WAV of the same take, a file with
a splice (two stretches whose sound is off by different amounts), and a camera file with two distinct channels.

The pictures and sound are real (decoded from the corpus), so the lip analysis sees real faces and speech;
only the timing under test is made here, by whole samples, so each test knows the truth exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from media_factory import Source, load_source, write_clip

__all__ = ["excerpt", "late", "recorder_wav", "spliced", "two_channels"]

RATE = 48000


def late(samples: np.ndarray, rate: int, ms: float) -> np.ndarray:
    """``samples`` played ``ms`` later (silence in front, same length); earlier when negative."""
    shift = round(ms * rate / 1000.0)
    out = np.zeros_like(samples)
    if shift >= 0:
        out[shift:] = samples[:samples.size - shift]
    else:
        out[:shift] = samples[-shift:]
    return out


def _source(source: Path, start_s: float, seconds: float) -> Source:
    return load_source(source, seconds, start_s, rate=RATE)


def excerpt(source: Path, dest: Path, start_s: float, seconds: float, *, late_ms: float = 0.0) -> Path:
    """``seconds`` of ``source`` from ``start_s`` as a camera file, its sound ``late_ms`` after the lips."""
    clip = _source(source, start_s, seconds)
    return write_clip(dest, clip.frames, fps=clip.fps, audio=late(clip.audio, RATE, late_ms), rate=RATE)


def recorder_wav(source: Path, dest: Path, start_s: float, seconds: float) -> Path:
    """The take's sound alone from ``start_s``, as a sound recorder's 48 kHz WAV (the same clock as the lips)."""
    audio = _source(source, start_s, seconds).audio
    return write_clip(dest, None, audio=audio, rate=RATE, audio_codec="pcm_s16le")


def spliced(source: Path, dest: Path, seconds: float, splice_s: float, late_ms: float) -> Path:
    """``seconds`` of ``source`` whose sound is in sync before ``splice_s`` and ``late_ms`` late after it."""
    clip = _source(source, 0.0, seconds)
    at = round(splice_s * RATE)
    audio = clip.audio.copy()
    audio[at:] = late(clip.audio, RATE, late_ms)[at:]
    return write_clip(dest, clip.frames, fps=clip.fps, audio=audio, rate=RATE)


def two_channels(source: Path, dest: Path, seconds: float, *, late_ms: float, second_gain: float) -> Path:
    """A camera file with two distinct channels (a lavalier and a quieter boom): the second is the first times
    ``second_gain``, both ``late_ms`` late."""
    clip = _source(source, 0.0, seconds)
    first = late(clip.audio, RATE, late_ms)
    return write_clip(dest, clip.frames, fps=clip.fps, audio=np.stack([first, first * second_gain]), rate=RATE)
