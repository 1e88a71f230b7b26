"""Measurement inputs made from a tracked corpus clip without touching a file: its audio replaced, or
the clip looped into a longer one whose drift is exactly zero by construction."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from core.decode import AudioTrack
from core.face import FaceTrack


def replace_audio(audio: AudioTrack, samples: np.ndarray) -> AudioTrack:
    """The same audio track with other samples (same rate and start)."""
    return replace(audio, samples=samples.astype(np.float32))


def looped(face: FaceTrack, audio: AudioTrack, times: int) -> tuple[FaceTrack, AudioTrack]:
    """The clip played ``times`` times back to back: one speaker, one offset, no drift."""
    period = audio.samples.size / audio.rate
    t = np.concatenate([face.time_s + i * period for i in range(times)])
    keep = t < period * times

    def tile(values: np.ndarray) -> np.ndarray:
        return np.concatenate([values] * times)[keep]

    face_long = replace(face, time_s=t[keep], face_count=tile(face.face_count), mouth=tile(face.mouth),
                        box=tile(face.box), eye_distance_px=tile(face.eye_distance_px), yaw=tile(face.yaw))
    return face_long, replace_audio(audio, np.tile(audio.samples, times))
