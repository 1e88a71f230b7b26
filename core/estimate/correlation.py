"""Correlations read from summed moments (:mod:`core.estimate.moments`), for every lag at once.

Two kinds are read:

- :func:`projected_correlation`: the correlation of two fixed combinations of the features. The
  cross-speaker model (:mod:`core.estimate.speaker`) reduces the mouth and the sound to one signal
  each, so its moments are one by one and this is a plain, signed correlation.
- :func:`canonical_correlation`: the strongest correlation any combination of the clip's own mouth
  features reaches with any combination of its audio bands (ridge CCA). It fits the clip, so it
  needs no model, but a few seconds let it fit chance structure too; :func:`excess_correlation`
  takes off what chance reaches with the same amount of overlapping speech.

All functions accept any leading batch shape (blocks, lags) and return NaN where the total weight is
too small to say anything (under half a second of weighted steps).
"""

from __future__ import annotations

import numpy as np

from core.features import GRID_RATE

__all__ = ["CCA_RIDGE", "CHANCE_RHO", "canonical_correlation", "covariances", "excess_correlation", "inverse_sqrt",
           "projected_correlation", "with_ridge"]

# Each covariance of the clip's own CCA gets this share of its mean variance added to its diagonal.
# Chosen on the generated corpus clips (shifted copies found within a frame: 0.1 and 0.3 gave 96 %,
# 1 gave 95 %, 3 gave 94 %); the real clips are never used to choose it.
CCA_RIDGE = 0.3
# Unrelated audio reaches a canonical correlation of about 0.08 + CHANCE_RHO / sqrt(seconds of weighted
# overlap): fitted on reversed-audio surrogates of the generated corpus clips.
CHANCE_RHO = 0.55
# Steps of weight below which a correlation is not read (half a second).
MIN_WEIGHT = GRID_RATE / 2


def covariances(first: np.ndarray, video: np.ndarray, audio: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Total weight and the weighted covariances (video, audio, cross) from summed moments."""
    first, video, audio = (np.asarray(m, np.float64) for m in (first, video, audio))
    weight = first[..., 0, 0]
    safe = np.where(weight > 1e-9, weight, 1.0)
    mx = first[..., 1:, 0] / safe[..., None]
    my = first[..., 0, 1:] / safe[..., None]
    cxy = first[..., 1:, 1:] / safe[..., None, None] - mx[..., :, None] * my[..., None, :]
    cxx = video / safe[..., None, None] - mx[..., :, None] * mx[..., None, :]
    cyy = audio / safe[..., None, None] - my[..., :, None] * my[..., None, :]
    return weight, cxx, cyy, cxy


def projected_correlation(first: np.ndarray, video: np.ndarray, audio: np.ndarray) -> np.ndarray:
    """Signed correlation of a one-column video signal with a one-column audio signal, from their moments."""
    weight, cxx, cyy, cxy = covariances(first, video, audio)
    spread = cxx[..., 0, 0] * cyy[..., 0, 0]
    rho = cxy[..., 0, 0] / np.sqrt(np.maximum(spread, 1e-12))
    return np.where(weight > MIN_WEIGHT, rho, np.nan)


def canonical_correlation(first: np.ndarray, video: np.ndarray, audio: np.ndarray,
                          ridge: float = CCA_RIDGE) -> np.ndarray:
    """Largest canonical correlation from summed moments.

    Each covariance gets ``ridge`` times its mean variance added to its diagonal (ridge CCA), so that
    short blocks with few independent samples do not produce spurious perfect correlations. Adding to
    the diagonal can only lower the correlation, so it stays in [0, 1].
    """
    weight, cxx, cyy, cxy = covariances(first, video, audio)
    m = inverse_sqrt(with_ridge(cxx, ridge)) @ cxy @ inverse_sqrt(with_ridge(cyy, ridge))
    rho = np.linalg.svd(m, compute_uv=False)[..., 0]
    return np.where(weight > MIN_WEIGHT, rho, np.nan)


def excess_correlation(first: np.ndarray, video: np.ndarray, audio: np.ndarray) -> np.ndarray:
    """Canonical correlation above the level chance reaches with the same weighted overlap.

    With ``W`` seconds of weight, unrelated audio reaches about ``CHANCE_RHO / sqrt(W)`` more than
    it does with unlimited data. Comparing lags on the excess keeps a lag with less overlap (near
    the edge of the search range, or where the shift moves speech off the face) from winning on
    small-sample luck.
    """
    rho = canonical_correlation(first, video, audio)
    seconds = np.asarray(first, np.float64)[..., 0, 0] / GRID_RATE
    return rho - CHANCE_RHO / np.sqrt(np.maximum(seconds, 1e-3))


def inverse_sqrt(c: np.ndarray) -> np.ndarray:
    """Symmetric inverse square root, flooring eigenvalues at 1e-9.

    Where only a few steps carry weight, the round-off of summed moments can leave a covariance very
    slightly indefinite; a Cholesky factorisation would fail there, this cannot (and such lags are
    reported as NaN anyway).
    """
    values, vectors = np.linalg.eigh(0.5 * (c + np.swapaxes(c, -1, -2)))
    scale = 1.0 / np.sqrt(np.maximum(values, 1e-9))
    return (vectors * scale[..., None, :]) @ np.swapaxes(vectors, -1, -2)


def with_ridge(c: np.ndarray, amount: float) -> np.ndarray:
    """``c`` with ``amount`` times its mean variance added to its diagonal (and a floor of 1e-6)."""
    # Features are standardised to unit variance, so 1e-6 is far below any real variance yet above
    # the round-off of FFT-summed moments, which can leave a (near) zero covariance slightly indefinite.
    p = c.shape[-1]
    scale = np.trace(c, axis1=-2, axis2=-1) / p
    scale = np.where(scale > 1e-6, scale, 1.0)
    eye = np.eye(p)
    return c + amount * scale[..., None, None] * eye + 1e-6 * eye
