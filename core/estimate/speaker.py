"""How mouths move with speech, as one fixed linear model shared by all speakers.

A clip's own canonical correlation (:mod:`core.estimate.correlation`) fits its mouth and sound to each
other, and on a few seconds of speech it fits chance as well: other speakers' audio often scores as
high as the clip's own. A model fitted once across many speakers has nothing to fit per clip, so chance
stays at chance level and the true lag stands out. It is small (a few hundred numbers):

- the mouth: one weighting of the mouth measures (shape and appearance, :data:`core.face.MOUTH_FEATURES`);
- the sound: one weighting of the log-mel bands at each of a few moments around the instant
  (:data:`AUDIO_TAPS`, ±200 ms), since the lips lead and trail the sound they make;
- both signals band-passed (:func:`band_pass`: a derivative smoothed over 50 ms), which keeps the
  syllable-rate motion that times speech and drops the slow swell that lets unrelated speech
  correlate by chance. On the corpus this raised the true lags found where 3 % of other clips' audio
  is let through from 45 % to 72 % (grouped cross-validation).

The weights are the first pair of a ridge canonical correlation of the two, pooled over training clips
at their known offsets (:func:`fit_speaker_model`). The shipped weights, and how they were fitted, are
in :mod:`core.estimate.fitted`; the script that fits them is ``benchmarks/fit_estimator.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from core.estimate.correlation import inverse_sqrt, with_ridge

__all__ = ["AUDIO_TAPS", "SMOOTH_STEPS", "SPEAKER_RIDGE", "SpeakerModel", "SpeakerMoments", "audio_context",
           "band_pass", "fit_speaker_model", "speaker_moments", "usable_steps"]

# Grid steps (10 ms) of the 5-step moving average in the band-pass and before the audio taps.
SMOOTH_STEPS = 5
# Audio moments read around each instant, in grid steps (positive: later audio).
AUDIO_TAPS = tuple(range(-20, 21, 4))
# Ridge of the pooled canonical correlation, as a share of each covariance's mean variance. 0.1 and
# 0.3 gave the same held-out accuracy; 0.1 let through less mismatched audio.
SPEAKER_RIDGE = 0.1


def band_pass(x: np.ndarray) -> np.ndarray:
    """The derivative along time (axis 0) smoothed over ``SMOOTH_STEPS``: keeps roughly 1 to 10 Hz."""
    return ndimage.uniform_filter1d(np.gradient(x, axis=0), SMOOTH_STEPS, axis=0, mode="constant")


def usable_steps(weight: np.ndarray) -> np.ndarray:
    """``weight`` with steps whose band-pass window reaches an unweighted step set to 0.

    Features are 0 where they are missing; the derivative across that edge is not motion.
    """
    return ndimage.minimum_filter1d(weight, 2 * SMOOTH_STEPS + 1, mode="constant")


def audio_context(audio: np.ndarray, taps: tuple[int, ...] = AUDIO_TAPS) -> np.ndarray:
    """The smoothed audio bands at each tap around every step, side by side.

    Parameters
    ----------
    audio : (n, q) float, audio features on the grid.
    taps : lags in grid steps.

    Returns
    -------
    (n, q * len(taps)) float
        Columns ``k * q .. (k + 1) * q`` hold the bands ``taps[k]`` steps later (zero past the ends).
    """
    smooth = ndimage.uniform_filter1d(audio, SMOOTH_STEPS, axis=0, mode="constant")
    n, q = smooth.shape
    out = np.zeros((n, q * len(taps)))
    for k, tap in enumerate(taps):
        lo, hi = max(0, -tap), min(n, n - tap)
        out[lo:hi, k * q:(k + 1) * q] = smooth[lo + tap:hi + tap]
    return out


@dataclass(frozen=True)
class SpeakerModel:
    """Fixed weightings that reduce a clip's mouth and its sound to one signal each.

    Attributes
    ----------
    mouth_weights : (p,) float, one weight per mouth measure.
    sound_weights : (len(taps), q) float, one weight per audio band at each tap.
    taps : grid steps at which the sound is read around each instant.
    """

    mouth_weights: np.ndarray
    sound_weights: np.ndarray
    taps: tuple[int, ...] = AUDIO_TAPS

    def mouth_signal(self, mouth: np.ndarray) -> np.ndarray:
        """(n,) band-passed mouth signal from (n, p) standardised mouth measures."""
        return band_pass(mouth @ self.mouth_weights)

    def sound_signal(self, audio: np.ndarray) -> np.ndarray:
        """(n,) band-passed sound signal from (n, q) standardised audio bands."""
        smooth = ndimage.uniform_filter1d(audio, SMOOTH_STEPS, axis=0, mode="constant")
        n = smooth.shape[0]
        signal = np.zeros(n)
        for tap, weights in zip(self.taps, self.sound_weights, strict=True):
            lo, hi = max(0, -tap), min(n, n - tap)
            signal[lo:hi] += smooth[lo + tap:hi + tap] @ weights
        return band_pass(signal)

    def to_dict(self) -> dict[str, Any]:
        return {"mouth_weights": [round(float(v), 6) for v in self.mouth_weights],
                "sound_weights": [[round(float(v), 6) for v in row] for row in self.sound_weights],
                "taps": list(self.taps)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpeakerModel:
        return cls(np.asarray(data["mouth_weights"], float), np.asarray(data["sound_weights"], float),
                   tuple(int(t) for t in data["taps"]))


@dataclass(frozen=True)
class SpeakerMoments:
    """Weighted sums of band-passed mouth measures and audio context at a clip's known offset.

    They add up across clips (``+``), so a model is fitted on any set of clips from their sums.
    """

    weight: float
    mouth: np.ndarray
    sound: np.ndarray
    mouth_mouth: np.ndarray
    sound_sound: np.ndarray
    mouth_sound: np.ndarray

    def __add__(self, other: SpeakerMoments) -> SpeakerMoments:
        return SpeakerMoments(*(getattr(self, f) + getattr(other, f) for f in
                                ("weight", "mouth", "sound", "mouth_mouth", "sound_sound", "mouth_sound")))


def speaker_moments(mouth: np.ndarray, mouth_weight: np.ndarray, audio: np.ndarray, audio_weight: np.ndarray,
                    lag_steps: int, taps: tuple[int, ...] = AUDIO_TAPS) -> SpeakerMoments:
    """The sums :func:`fit_speaker_model` needs, from one clip whose audio is ``lag_steps`` late.

    Parameters
    ----------
    mouth : (n, p) standardised mouth measures on the grid; mouth_weight : (n,) their weights.
    audio : (m, q) standardised audio bands on the same grid (row ``t`` is the same instant as mouth
        row ``t``); audio_weight : (m,) speech weights.
    lag_steps : int, the clip's offset in grid steps (audio late positive).
    """
    x = band_pass(mouth)
    z = band_pass(audio_context(audio, taps))
    t = np.arange(x.shape[0])
    ta = t + lag_steps
    keep = (ta >= 0) & (ta < z.shape[0])
    w = (usable_steps(mouth_weight)[t[keep]] * audio_weight[ta[keep]])[:, None]
    xs, zs = x[t[keep]], z[ta[keep]]
    return SpeakerMoments(float(w.sum()), (w * xs).sum(0), (w * zs).sum(0), (w * xs).T @ xs, (w * zs).T @ zs,
                          (w * xs).T @ zs)


def fit_speaker_model(moments: SpeakerMoments, ridge: float = SPEAKER_RIDGE,
                      taps: tuple[int, ...] = AUDIO_TAPS) -> SpeakerModel:
    """The first pair of the ridge canonical correlation of the pooled sums.

    The pair's joint sign is free; it is fixed so the mouth signal correlates positively with the
    sound signal, which the pair does by construction.
    """
    w = moments.weight
    mx, mz = moments.mouth / w, moments.sound / w
    cxx = moments.mouth_mouth / w - np.outer(mx, mx)
    czz = moments.sound_sound / w - np.outer(mz, mz)
    cxz = moments.mouth_sound / w - np.outer(mx, mz)
    white_x, white_z = inverse_sqrt(with_ridge(cxx, ridge)), inverse_sqrt(with_ridge(czz, ridge))
    u, _, vt = np.linalg.svd(white_x @ cxz @ white_z)
    mouth_weights = white_x @ u[:, 0]
    sound_weights = (white_z @ vt[0]).reshape(len(taps), -1)
    return SpeakerModel(mouth_weights, sound_weights, taps)
